"""Every version of every sub-processor, so the register can be read as it stood on any date."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from . import store


def record_version(tx, record: dict) -> None:
    """Keep this version of the record (called in the transaction that wrote it)."""
    store.record_version(tx, record)


def versions(conn: sqlite3.Connection, subprocessor_id: str) -> list[dict]:
    return store.versions(conn, subprocessor_id)


def register_at(conn: sqlite3.Connection, before: str) -> Iterator[dict]:
    """Each sub-processor's last version recorded before `before` (a stored timestamp)."""
    return store.register_at(conn, before)


def register_page(
    conn: sqlite3.Connection, before: str, after_seq: int, limit: int
) -> list[tuple[int, dict | None]]:
    """The next sub-processors after a cursor, each as it stood before `before` (or None)."""
    return store.register_page(conn, before, after_seq, limit)
