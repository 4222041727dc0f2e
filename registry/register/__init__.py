"""The register's doors: the sub-processor routes and each one's history, showing every record
with what the other features know of it (verdict, copies on file, objections, pending change)."""
