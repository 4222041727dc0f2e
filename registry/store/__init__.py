"""The only place that names tables or writes SQL: one module per resource."""

from datetime import UTC, datetime


def utc_now() -> str:
    """A timestamp for created/updated columns: UTC, second precision, ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
