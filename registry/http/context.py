"""What every API module asks of a request: registry, caller, evaluation date, pages, cursors."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from flask import current_app, g, request

from .. import clock
from ..db import store
from ..errors import ValidationFailed, field_error
from ..roles import CUSTOMER_ROLES
from . import cursors
from .auth import current_principal, hooks

if TYPE_CHECKING:
    from ..runtime import Registry


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
    return principal.customer_id if principal.role in CUSTOMER_ROLES else None


def actor() -> dict:
    """The audit trail's record of who is calling."""
    return hooks().actor(current_principal())


def _list_name(list_name: str | None) -> str:
    """The list a cursor belongs to: named, or this operation with its path's values (the
    deliveries of one webhook are not those of another)."""
    if list_name is not None:
        return list_name
    values = "&".join(f"{k}={v}" for k, v in sorted((request.view_args or {}).items()))
    return f"{request.endpoint}?{values}"


def _bound_to() -> str:
    principal = g.get("principal")
    if principal is None:
        return cursors.caller(None)
    return cursors.caller(principal.role, principal.customer_id)


def _secret() -> bytes:
    """The stored secret, read once a request (all workers share it: it is in the database)."""
    if "cursor_secret" not in g:
        g.cursor_secret = store.cursor_secret(registry().db.connection())
    return g.cursor_secret


def cursor(position: int, list_name: str | None = None) -> str:
    """The opaque cursor of a list position, for this caller and this list."""
    return cursors.encode(_secret(), _bound_to(), _list_name(list_name), position)


def cursor_position(value: str, list_name: str | None = None) -> int:
    """The list position of a cursor given to this caller for this list; cursors.Invalid
    otherwise."""
    return cursors.decode(_secret(), _bound_to(), _list_name(list_name), value)


def page(rows: list[dict], limit: int, represent=None) -> dict:
    """A list page from `limit + 1` rows read after the cursor: the extra row means more."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [represent(row) for row in rows] if represent else rows,
        "next_cursor": cursor(rows[-1]["seq"]) if more else None,
    }
