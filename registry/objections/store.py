"""Customers' objections: one per customer and change objected to, and their answers."""

from __future__ import annotations

import secrets
import sqlite3

from .. import clock
from ..errors import Conflict, NotFound

COLUMNS = (
    "seq",
    "id",
    "subprocessor_id",
    "change_id",
    "customer_id",
    "key_id",
    "reason",
    "created_at",
    "status",
    "response",
    "resolved_at",
    "resolved_by",
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM objections"


def _record(row) -> dict:
    return dict(zip(COLUMNS, row, strict=True))


def add(
    db,
    subprocessor_id: str,
    change_id: str,
    customer_id: str,
    key_id: str,
    reason: str | None,
) -> dict:
    taken = db.execute(
        "SELECT 1 FROM objections WHERE change_id = ? AND customer_id = ?",
        [change_id, customer_id],
    ).fetchone()
    if taken:
        raise Conflict(
            f"This customer has already objected to this change ({change_id}) of the "
            "sub-processor; an objection may be withdrawn, not made twice."
        )
    objection = {
        "id": "obj_" + secrets.token_hex(8),
        "subprocessor_id": subprocessor_id,
        "change_id": change_id,
        "customer_id": customer_id,
        "key_id": key_id,
        "reason": reason,
        "created_at": clock.timestamp(),
    }
    db.execute(
        f"INSERT INTO objections ({', '.join(objection)})"
        f" VALUES ({', '.join('?' * len(objection))})",
        list(objection.values()),
    )
    return get(db.conn, objection["id"])


def get(
    conn: sqlite3.Connection,
    objection_id: str,
    *,
    subprocessor_id: str | None = None,
    customer_id: str | None = None,
) -> dict:
    """One objection; 404 unless it is to `subprocessor_id` and `customer_id`'s (when given)."""
    sql, params = f"{_SELECT} WHERE id = ?", [objection_id]
    if subprocessor_id is not None:
        sql += " AND subprocessor_id = ?"
        params.append(subprocessor_id)
    if customer_id is not None:
        sql += " AND customer_id = ?"
        params.append(customer_id)
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise NotFound(f"No objection has the id {objection_id!r} here.")
    return _record(row)


def for_subprocessor(
    conn: sqlite3.Connection, subprocessor_id: str, customer_id: str | None = None
) -> list[dict]:
    sql, params = f"{_SELECT} WHERE subprocessor_id = ?", [subprocessor_id]
    if customer_id is not None:
        sql += " AND customer_id = ?"
        params.append(customer_id)
    rows = conn.execute(sql + " ORDER BY seq", params)
    return [_record(row) for row in rows]


def page(
    conn: sqlite3.Connection,
    *,
    after_seq: int,
    limit: int,
    status: str | None = None,
    subprocessor_id: str | None = None,
    customer_id: str | None = None,
) -> list[dict]:
    """Objections after a cursor, in the order they were made: a seek in the customer's or
    the sub-processor's (customer_id or subprocessor_id, seq) key, or in the primary key."""
    clauses, params = ["seq > ?"], [after_seq]
    for column, value in (
        ("customer_id", customer_id),
        ("subprocessor_id", subprocessor_id),
        ("status", status),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    rows = conn.execute(
        f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT ?", [*params, limit]
    )
    return [_record(row) for row in rows]


def resolve(db, objection_id: str, status: str, response: str | None, key_id: str) -> dict:
    """Close an open objection; the caller checked that it is open, in its transaction."""
    db.execute(
        "UPDATE objections SET status = ?, response = ?, resolved_at = ?, resolved_by = ?"
        " WHERE id = ? AND status = 'open'",
        [status, response, clock.timestamp(), key_id, objection_id],
    )
    return get(db.conn, objection_id)


def upheld(
    conn: sqlite3.Connection, subprocessor_id: str, customer_id: str | None = None
) -> list[dict]:
    sql = f"{_SELECT} WHERE subprocessor_id = ? AND status = 'upheld'"
    params = [subprocessor_id]
    if customer_id is not None:
        sql += " AND customer_id = ?"
        params.append(customer_id)
    rows = conn.execute(sql + " ORDER BY seq", params)
    return [_record(row) for row in rows]


def count_open(conn: sqlite3.Connection, customer_id: str) -> int:
    """How many of a customer's objections are still open."""
    return conn.execute(
        "SELECT count(*) FROM objections WHERE customer_id = ? AND status = 'open'", [customer_id]
    ).fetchone()[0]


def customer_objection_ids(conn: sqlite3.Connection, customer_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT id FROM objections WHERE customer_id = ? ORDER BY seq", [customer_id]
    )
    return [row[0] for row in rows]


def pseudonymise(db, objection_id: str, pseudonym: str) -> None:
    """Keep the objection (its sub-processor, change, status and dates) without its customer:
    the customer id becomes `pseudonym`, the reason and the answer to it are removed."""
    db.execute(
        "UPDATE objections SET customer_id = ?, key_id = ?, reason = NULL, response = NULL"
        " WHERE id = ?",
        [pseudonym, pseudonym, objection_id],
    )
