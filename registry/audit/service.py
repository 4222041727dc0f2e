"""The audit trail as the other features use it: who acted, appending, reading, verifying."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from . import chain, store
from .chain import Break


def actor(principal=None, *, name: str | None = None) -> dict:
    """Who acted: an API key's principal, or a named operator command."""
    if principal is None:
        return {"key_id": None, "role": "operator", "customer_id": None, "name": name or "cli"}
    return {
        "key_id": principal.key_id,
        "role": principal.role,
        "customer_id": principal.customer_id,
        "name": principal.name,
    }


def changed_fields(before: dict, after: dict) -> dict:
    """What a write changed, as the trail records it: each differing field's from and to."""
    return {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}


def append(tx, actor: dict, action: str, object_type: str, object_id: str | None, change) -> dict:
    """Add one entry in the caller's write transaction (BEGIN IMMEDIATE holds the head)."""
    return store.append(tx, actor, action, object_type, object_id, change)


def page(conn: sqlite3.Connection, *, after_seq: int, limit: int, **filters) -> list[dict]:
    return store.page(conn, after_seq=after_seq, limit=limit, **filters)


def head(conn: sqlite3.Connection) -> dict | None:
    return store.head(conn)


def entries(conn: sqlite3.Connection) -> Iterator[dict]:
    return store.iter_all(conn)


def verify(entries: Iterator[dict]) -> tuple[int, Break | None]:
    """Walk entries in seq order; returns (entries checked, first break or None)."""
    return chain.verify(entries)
