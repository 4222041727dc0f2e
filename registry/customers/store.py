"""Erasures: a salted digest of each customer id erased and when, never the id itself."""

from __future__ import annotations

import sqlite3


def add_erasure(db, digest: str, salt: str, at: str) -> None:
    db.execute(
        "INSERT INTO erasures (digest, salt, erased_at) VALUES (?, ?, ?)", [digest, salt, at]
    )


def erasures(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Every erasure, newest first: (digest, salt, erased_at)."""
    return conn.execute("SELECT digest, salt, erased_at FROM erasures ORDER BY seq DESC").fetchall()
