"""The change events: one per write customers care about, recorded in the writer's
transaction, and the webhooks each owes. changes/ serves them as the feed (JSON and Atom)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from ..db import store as db
from ..http import cursors
from . import store

# The audience of a read that sees no customer's own changes (a service).
PUBLIC_ONLY = store.PUBLIC_ONLY
# Change types customers never read (in the feed or by webhook): verdicts are staff's.
STAFF_ONLY_TYPES = store.STAFF_ONLY_TYPES
# The staff-only types that ask staff to act: what a staff webhook is for. Services never
# read them either.
STAFF_ACTION_TYPES = store.STAFF_ACTION_TYPES
# The list the JSON feed, the Atom feed and webhook events share: one cursor serves all three.
FEED = "changes"


def record(
    tx,
    change_type: str,
    record: dict,
    data: dict,
    *,
    material: bool = True,
    customer_id: str | None = None,
) -> dict:
    """Append an event in the caller's transaction. A material one is queued for every
    subscribed webhook; housekeeping (material=False) is internal; with `customer_id`, the
    event is that customer's alone (in the feed and in webhooks)."""
    return store.record_change(
        tx, change_type, record, data, material=material, customer_id=customer_id
    )


def announcement_of(conn: sqlite3.Connection, subprocessor_id: str) -> dict | None:
    """The change that announced a sub-processor to customers (its first
    `subprocessor.announced`), or None when it was never announced."""
    return store.announcement(conn, subprocessor_id)


def by_id(conn: sqlite3.Connection, change_id: str) -> dict | None:
    """One change event by its id (`chg_...`), or None."""
    return store.by_id(conn, change_id)


def since(
    conn: sqlite3.Connection, after_seq: int, limit: int, customer_id: str | None = None
) -> list[dict]:
    """Changes after a cursor; a customer's view holds the public ones and its own."""
    return store.since(conn, after_seq, limit, customer_id)


def iter_latest(conn: sqlite3.Connection, customer_id: str | None = None) -> Iterator[dict]:
    """The changes `customer_id` sees, newest first, read only as far as they are taken."""
    return store.iter_latest(conn, customer_id)


def latest(conn: sqlite3.Connection, limit: int, customer_id: str | None = None) -> list[dict]:
    return store.latest(conn, limit, customer_id)


def head(conn: sqlite3.Connection) -> int:
    """The newest event's cursor (0 for an empty feed)."""
    return store.head(conn)


def customer_cursor(conn, customer_id: str, seq: int) -> str:
    """The cursor of an event as the customer's keys read it in the feed (for its webhooks)."""
    return cursors.encode(
        db.cursor_secret(conn), cursors.caller("customer", customer_id), FEED, seq
    )


def role_cursor(conn, role: str, seq: int) -> str:
    """The cursor of an event as a staff role's keys read it in the feed (for the staff
    webhooks that role registered)."""
    return cursors.encode(db.cursor_secret(conn), cursors.caller(role), FEED, seq)


def pending_at(conn: sqlite3.Connection, subprocessor_id: str, before: str) -> dict | None:
    """The material change that stood announced, and not yet written into the record, at
    `before`: replaced by a later announcement, gone once applied or discarded. From its
    own effective_on it is in force (engine.in_force reads it so)."""
    pending = None
    for event in store.of_subprocessor_before(conn, subprocessor_id, before):
        data = event["data"]
        if event["type"] == "subprocessor.changed" and data.get("pending"):
            pending = event
        elif pending is not None and pending["id"] in (
            data.get("applies"),
            data.get("discarded_change"),
        ):
            pending = None
    if pending is None:
        return None
    data = pending["data"]
    return {
        "change_id": pending["id"],
        "changes": {field: change["to"] for field, change in data["changes"].items()},
        "announced_on": pending["at"][:10],
        "effective_on": data["effective_on"],
        "objection_deadline": data["objection_deadline"],
        "urgent_reason": None,
        "base_version": pending["version"],
        "replaces": data.get("replaces"),
    }


def customer_changes(conn: sqlite3.Connection, customer_id: str) -> int:
    """How many changes are meant for this customer alone."""
    return store.count_customer(conn, customer_id)


def erase_customer(tx, customer_id: str) -> int:
    """Delete the changes meant for one customer alone (objection answers, incident notices),
    with the deliveries they still owe, in the caller's write transaction; the count. The
    public changes stay: they name no customer."""
    return store.delete_customer(tx, customer_id)
