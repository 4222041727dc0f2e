"""The checks a restored copy of the database must pass."""

from __future__ import annotations

import sqlite3


def integrity_check(conn: sqlite3.Connection) -> str:
    """SQLite's verdict on the whole file: "ok", or the first problems found."""
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(row[0] for row in rows)
