"""Request counts per key and window, in a database of their own (losing them is harmless)."""

from __future__ import annotations

import sqlite3


def ensure(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS budgets ("
        " key_id TEXT PRIMARY KEY, window INTEGER NOT NULL, used INTEGER NOT NULL"
        ") WITHOUT ROWID"
    )


def spend(db, key_id: str, window: int) -> int:
    """Count one request of `key_id` in `window`; the requests counted in it so far."""
    row = db.execute(
        "INSERT INTO budgets (key_id, window, used) VALUES (?, ?, 1)"
        " ON CONFLICT (key_id) DO UPDATE SET"
        " used = CASE WHEN window = excluded.window THEN used + 1 ELSE 1 END,"
        " window = excluded.window"
        " RETURNING used",
        [key_id, window],
    ).fetchone()
    return row[0]


def forget(db, key_ids: list[str]) -> int:
    """Delete the counts of these keys; the rows deleted."""
    marks = ", ".join("?" * len(key_ids))
    return db.execute(f"DELETE FROM budgets WHERE key_id IN ({marks})", key_ids).rowcount
