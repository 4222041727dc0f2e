"""Every version of every sub-processor, so the register can be read as it stood on any date."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

from .. import clock


def record_version(db, record: dict) -> None:
    """Keep this version of the record (called in the transaction that wrote it)."""
    db.execute(
        "INSERT INTO subprocessor_versions (subprocessor_id, version, recorded_at, record)"
        " VALUES (?, ?, ?, ?)",
        [record["id"], record["version"], clock.timestamp(), json.dumps(record, sort_keys=True)],
    )


def versions(conn: sqlite3.Connection, subprocessor_id: str) -> list[dict]:
    rows = conn.execute(
        "SELECT version, recorded_at, record FROM subprocessor_versions"
        " WHERE subprocessor_id = ? ORDER BY version",
        [subprocessor_id],
    )
    return [
        {"version": version, "recorded_at": recorded_at, "record": json.loads(record)}
        for version, recorded_at, record in rows
    ]


def register_at(conn: sqlite3.Connection, before: str) -> Iterator[dict]:
    """Each sub-processor's last version recorded before `before` (a UTC timestamp)."""
    rows = conn.execute(
        "SELECT v.record FROM subprocessor_versions v"
        " JOIN subprocessors s ON s.id = v.subprocessor_id"
        " WHERE v.version = (SELECT max(w.version) FROM subprocessor_versions w"
        "   WHERE w.subprocessor_id = v.subprocessor_id AND w.recorded_at < ?)"
        " ORDER BY s.seq",
        [before],
    )
    for (record,) in rows:
        yield json.loads(record)


def register_page(
    conn: sqlite3.Connection, before: str, after_seq: int, limit: int
) -> list[tuple[int, dict | None]]:
    """The next `limit` sub-processors after `after_seq`, in creation order, each with its
    last version recorded before `before` (None when it did not exist yet): keyed work.

    A version's record is kept without `updated_at`; it is when that version was recorded."""
    rows = conn.execute(
        "SELECT s.seq, (SELECT json_object('record', json(v.record), 'at', v.recorded_at)"
        "   FROM subprocessor_versions v"
        "   WHERE v.subprocessor_id = s.id AND v.recorded_at < ?"
        "   ORDER BY v.version DESC LIMIT 1)"
        " FROM subprocessors s WHERE s.seq > ? ORDER BY s.seq LIMIT ?",
        [before, after_seq, limit],
    )
    return [(seq, _as_recorded(json.loads(found)) if found else None) for seq, found in rows]


def _as_recorded(found: dict) -> dict:
    return {**found["record"], "updated_at": found["at"]}
