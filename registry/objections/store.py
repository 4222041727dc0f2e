"""Customers' objections to new sub-processors: one per customer and sub-processor."""

from __future__ import annotations

import secrets
import sqlite3

from .. import clock
from ..http.problems import Conflict

COLUMNS = ("seq", "id", "subprocessor_id", "customer_id", "key_id", "reason", "created_at")


def add(db, subprocessor_id: str, customer_id: str, key_id: str, reason: str | None) -> dict:
    taken = db.execute(
        "SELECT 1 FROM objections WHERE subprocessor_id = ? AND customer_id = ?",
        [subprocessor_id, customer_id],
    ).fetchone()
    if taken:
        raise Conflict("This customer has already objected to this sub-processor.")
    objection = {
        "id": "obj_" + secrets.token_hex(8),
        "subprocessor_id": subprocessor_id,
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
    return objection


def for_subprocessor(
    conn: sqlite3.Connection, subprocessor_id: str, customer_id: str | None = None
) -> list[dict]:
    sql = f"SELECT {', '.join(COLUMNS)} FROM objections WHERE subprocessor_id = ?"
    params = [subprocessor_id]
    if customer_id is not None:
        sql += " AND customer_id = ?"
        params.append(customer_id)
    rows = conn.execute(sql + " ORDER BY seq", params)
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]
