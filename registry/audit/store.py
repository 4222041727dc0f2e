"""Appends to and reads the hash-chained audit trail, always inside the caller's transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

from .. import clock
from . import chain

_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "change",
    "prev_hash",
    "hash",
)


def append(db, actor: dict, action: str, object_type: str, object_id: str | None, change) -> dict:
    """Add one entry after the current head; callers hold the write lock (BEGIN IMMEDIATE)."""
    row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (row[0] + 1, row[1]) if row else (1, chain.GENESIS)
    entry = {
        "seq": seq,
        "at": clock.timestamp(),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "change": change,
        "prev_hash": prev_hash,
    }
    entry["hash"] = chain.entry_hash(entry)
    db.execute(
        f"INSERT INTO audit ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
        [
            entry["seq"],
            entry["at"],
            json.dumps(actor, sort_keys=True),
            action,
            object_type,
            object_id,
            json.dumps(change, sort_keys=True),
            prev_hash,
            entry["hash"],
        ],
    )
    return entry


def _decoded(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        # Altered into something that is not JSON: kept as stored, its hash no longer
        # matches, and `audit verify` names the entry instead of failing to read it.
        return text


def _entry(row) -> dict:
    entry = dict(zip(_COLUMNS, row, strict=True))
    entry["actor"] = _decoded(entry["actor"])
    entry["change"] = _decoded(entry["change"])
    return entry


def iter_all(conn: sqlite3.Connection) -> Iterator[dict]:
    for row in conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM audit ORDER BY rowid"):
        yield _entry(row)


def head(conn: sqlite3.Connection) -> dict | None:
    row = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM audit ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return _entry(row) if row else None


def page(
    conn: sqlite3.Connection,
    *,
    after_seq: int,
    limit: int,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
) -> list[dict]:
    where, params = ["seq > ?"], [after_seq]
    for column, value in (
        ("action", action),
        ("object_type", object_type),
        ("object_id", object_id),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    rows = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM audit WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?",
        [*params, limit],
    )
    return [_entry(row) for row in rows]
