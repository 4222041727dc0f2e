"""Continuous replication with Litestream: shipping the database, restoring it, read-only nodes."""
