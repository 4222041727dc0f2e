"""The change feed, and the webhook deliveries each change owes, in the same transaction."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator

from .. import clock

COLUMNS = (
    "seq",
    "id",
    "at",
    "type",
    "subprocessor_id",
    "version",
    "data",
    "material",
    "customer_id",
)


def _row(row) -> dict:
    change = dict(zip(COLUMNS, row, strict=True))
    change["data"] = json.loads(change["data"])
    change["material"] = bool(change["material"])
    return change


def record_change(
    db,
    change_type: str,
    record: dict,
    data: dict,
    *,
    material: bool = True,
    customer_id: str | None = None,
) -> dict:
    """Append a change event; a material one is queued for every enabled webhook that
    subscribes to it and may receive it: a staff-only event to staff webhooks alone, a
    public one to every webhook, one meant for one customer to that customer's alone."""
    change = {
        "id": "chg_" + secrets.token_hex(8),
        "at": clock.timestamp(),
        "type": change_type,
        "subprocessor_id": record["id"],
        "version": record["version"],
        "data": json.dumps(data, sort_keys=True),
        "material": int(material),
        "customer_id": customer_id,
    }
    cursor = db.execute(
        f"INSERT INTO changes ({', '.join(change)}) VALUES ({', '.join('?' * len(change))})",
        list(change.values()),
    )
    seq = cursor.lastrowid
    if not material:
        # Housekeeping is internal: no one is notified.
        return get(db.conn, seq)
    sql, params = "SELECT id, events FROM webhooks WHERE status = 'enabled'", []
    if change_type in STAFF_ONLY_TYPES:
        # For staff alone: never a customer's endpoint, whichever customer it concerns.
        sql += " AND customer_id IS NULL"
    elif customer_id is not None:
        sql, params = sql + " AND customer_id = ?", [customer_id]
    webhooks = db.execute(sql, params).fetchall()
    for webhook_id, events in webhooks:
        subscribed = json.loads(events)
        if "*" in subscribed or change_type in subscribed:
            db.execute(
                "INSERT INTO webhook_deliveries"
                " (webhook_id, change_seq, message_id, status, next_attempt_at)"
                " VALUES (?, ?, ?, 'pending', ?)",
                [webhook_id, seq, f"msg_{change['id']}_{webhook_id}", change["at"]],
            )
    return get(db.conn, seq)


def get(conn: sqlite3.Connection, seq: int) -> dict:
    row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM changes WHERE seq = ?", [seq]).fetchone()
    return _row(row)


def announcement(conn: sqlite3.Connection, subprocessor_id: str) -> dict | None:
    row = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM changes"
        " WHERE subprocessor_id = ? AND type = 'subprocessor.announced' ORDER BY seq LIMIT 1",
        [subprocessor_id],
    ).fetchone()
    return None if row is None else _row(row)


def by_id(conn: sqlite3.Connection, change_id: str) -> dict | None:
    row = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM changes WHERE id = ?", [change_id]
    ).fetchone()
    return None if row is None else _row(row)


# The audience of a read that sees no customer's own changes (a service).
PUBLIC_ONLY = ""
# Verdicts are for staff and services, and so are the events that ask staff to act (a
# customer asked for documentation or objected, evidence falls due, an incident notice is
# overdue): a customer never reads one, in the feed or a webhook.
STAFF_ONLY_TYPES = (
    "subprocessor.verdict_changed",
    "documentation_request.created",
    "objection.created",
    "evidence.due",
    "incident.overdue",
)
# What asks staff to act (and may name a customer): not for services either.
STAFF_ACTION_TYPES = STAFF_ONLY_TYPES[1:]


def _not_in(types: tuple[str, ...]) -> str:
    return "type NOT IN ({})".format(", ".join(f"'{t}'" for t in types))


_NOT_STAFF_ONLY = _not_in(STAFF_ONLY_TYPES)


def _visible(customer_id: str | None) -> tuple[str, list]:
    """Everything for staff (None); the public changes only (PUBLIC_ONLY); for a customer,
    the public changes and its own."""
    if customer_id is None:
        return "1", []
    if customer_id == PUBLIC_ONLY:
        return f"customer_id IS NULL AND {_not_in(STAFF_ACTION_TYPES)}", []
    return f"(customer_id IS NULL OR customer_id = ?) AND {_NOT_STAFF_ONLY}", [customer_id]


def since(
    conn: sqlite3.Connection, after_seq: int, limit: int, customer_id: str | None = None
) -> list[dict]:
    visible, params = _visible(customer_id)
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM changes WHERE seq > ? AND {visible}"
        " ORDER BY seq LIMIT ?",
        [after_seq, *params, limit],
    )
    return [_row(row) for row in rows]


def iter_latest(conn: sqlite3.Connection, customer_id: str | None = None) -> Iterator[dict]:
    """The changes `customer_id` sees (as in `since`), newest first, read as they are taken."""
    visible, params = _visible(customer_id)
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM changes WHERE {visible} ORDER BY seq DESC", params
    )
    for row in rows:
        yield _row(row)


def latest(conn: sqlite3.Connection, limit: int, customer_id: str | None = None) -> list[dict]:
    visible, params = _visible(customer_id)
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM changes WHERE {visible} ORDER BY seq DESC LIMIT ?",
        [*params, limit],
    )
    return [_row(row) for row in rows]


def head(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]


def of_subprocessor_before(
    conn: sqlite3.Connection, subprocessor_id: str, before: str
) -> list[dict]:
    """A sub-processor's public change events recorded before `before`, oldest first."""
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM changes"
        " WHERE subprocessor_id = ? AND at < ? AND customer_id IS NULL ORDER BY seq",
        [subprocessor_id, before],
    )
    return [_row(row) for row in rows]


def count_customer(conn: sqlite3.Connection, customer_id: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM changes WHERE customer_id = ?", [customer_id]
    ).fetchone()[0]


def delete_customer(db, customer_id: str) -> int:
    """Delete the changes meant for one customer, with what their webhooks still owe."""
    where = "change_seq IN (SELECT seq FROM changes WHERE customer_id = ?)"
    db.execute(
        "DELETE FROM webhook_attempts WHERE delivery_seq IN"
        f" (SELECT seq FROM webhook_deliveries WHERE {where})",
        [customer_id],
    )
    db.execute(f"DELETE FROM webhook_deliveries WHERE {where}", [customer_id])
    return db.execute("DELETE FROM changes WHERE customer_id = ?", [customer_id]).rowcount
