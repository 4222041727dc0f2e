"""What every API module asks of a request: the registry, caller, evaluation date, a page."""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app

from .. import clock
from ..audit import service as audit
from ..runtime import Registry
from .auth import current_principal
from .problems import ValidationFailed, field_error


def registry() -> Registry:
    return current_app.extensions["registry"]


def as_of(args: dict) -> date:
    """The evaluation date: `as_of`, else `at` (the register's date), else today."""
    raw = args.get("as_of") or args.get("at")
    return date.fromisoformat(raw) if raw else registry().today()


def end_of(day: str) -> str:
    """The first instant after `day` in the registry's zone, to compare with timestamps."""
    check_not_future(day)
    return clock.start_of(date.fromisoformat(day) + timedelta(days=1), registry().zone)


def check_not_future(day: str, pointer: str = "/at") -> None:
    if date.fromisoformat(day) > registry().today():
        raise ValidationFailed(
            [
                field_error(
                    pointer, "The register's past can be read, not its future.", location="query"
                )
            ]
        )


def own_customer() -> str | None:
    """The customer a caller is confined to; None for staff, who see every customer's."""
    principal = current_principal()
    return principal.customer_id if principal.role == "customer" else None


def actor() -> dict:
    """The audit trail's record of who is calling."""
    return audit.actor(current_principal())


def page(rows: list[dict], limit: int, represent=None) -> dict:
    """A list page from `limit + 1` rows read after the cursor: the extra row means more."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [represent(row) for row in rows] if represent else rows,
        "next_cursor": str(rows[-1]["seq"]) if more else None,
    }
