"""The only source of time: now() and today() in UTC, and the one format of stored timestamps.

Tests move this clock (`set`, `advance`); nothing else in the package reads the wall clock
for a date or a stored time. Stored timestamps all have one precision (milliseconds) and
one shape, so they sort and compare as strings, in SQL as in Python.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

_offset = timedelta(0)  # how far the clock stands from the wall clock; zero outside tests
_stopped: datetime | None = None  # a test's clock that does not run


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    if _stopped is not None:
        return _stopped
    return datetime.now(UTC) + _offset


def today(zone: tzinfo = UTC) -> date:
    """Today in `zone` (the registry's configured day), whatever the server's time zone."""
    return now().astimezone(zone).date()


def timestamp(at: datetime | None = None) -> str:
    """A stored timestamp: ISO 8601, UTC, millisecond precision, `Z` (24 characters)."""
    at = now() if at is None else at.astimezone(UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def start_of(day: date, zone: tzinfo = UTC) -> str:
    """The timestamp of midnight in `zone` opening `day`, comparable with stored timestamps."""
    return timestamp(datetime.combine(day, time(), tzinfo=zone))


def set(at: datetime | date | None, *, running: bool = True) -> None:
    """Make the clock read `at` now; None: the wall clock again.

    A date means noon (UTC) of that day, so a test has hours before the date changes in
    any zone of Europe.
    A running clock goes on from `at`; a stopped one reads `at` until moved.
    """
    global _offset, _stopped
    _stopped = None
    if at is None:
        _offset = timedelta(0)
        return
    if not isinstance(at, datetime):
        at = datetime.combine(at, time(12), tzinfo=UTC)
    at = at.astimezone(UTC)
    if running:
        _offset = at - datetime.now(UTC)
    else:
        _stopped = at


def advance(delta: timedelta) -> None:
    """Move the clock forward (or back, with a negative delta), running or stopped."""
    global _offset, _stopped
    if _stopped is not None:
        _stopped += delta
    else:
        _offset += delta
