"""The change feed: one event per write customers care about, and the webhooks it owes."""

from __future__ import annotations

import sqlite3

from . import store


def record(tx, change_type: str, record: dict, data: dict) -> dict:
    """Append an event in the caller's transaction, queued for every subscribed webhook."""
    return store.record_change(tx, change_type, record, data)


def since(conn: sqlite3.Connection, after_seq: int, limit: int) -> list[dict]:
    return store.since(conn, after_seq, limit)


def latest(conn: sqlite3.Connection, limit: int) -> list[dict]:
    return store.latest(conn, limit)


def head(conn: sqlite3.Connection) -> int:
    """The newest event's cursor (0 for an empty feed)."""
    return store.head(conn)
