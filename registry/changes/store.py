"""The change feed, and the webhook deliveries each change owes, in the same transaction."""

from __future__ import annotations

import json
import secrets
import sqlite3

from .. import clock

COLUMNS = ("seq", "id", "at", "type", "subprocessor_id", "version", "data")


def _row(row) -> dict:
    change = dict(zip(COLUMNS, row, strict=True))
    change["data"] = json.loads(change["data"])
    return change


def record_change(db, change_type: str, record: dict, data: dict) -> dict:
    """Append a change event and queue it for every enabled webhook that subscribes to it."""
    change = {
        "id": "chg_" + secrets.token_hex(8),
        "at": clock.timestamp(),
        "type": change_type,
        "subprocessor_id": record["id"],
        "version": record["version"],
        "data": json.dumps(data, sort_keys=True),
    }
    cursor = db.execute(
        f"INSERT INTO changes ({', '.join(change)}) VALUES ({', '.join('?' * len(change))})",
        list(change.values()),
    )
    seq = cursor.lastrowid
    webhooks = db.execute("SELECT id, events FROM webhooks WHERE status = 'enabled'").fetchall()
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


def since(conn: sqlite3.Connection, after_seq: int, limit: int) -> list[dict]:
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
        [after_seq, limit],
    )
    return [_row(row) for row in rows]


def latest(conn: sqlite3.Connection, limit: int) -> list[dict]:
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM changes ORDER BY seq DESC LIMIT ?", [limit]
    )
    return [_row(row) for row in rows]


def head(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
