"""The reference law as loaded into the database: every loaded version is kept."""

from __future__ import annotations

import json
import sqlite3

from .. import clock
from .loader import law_from_records, law_to_records
from .model import Law


def save(db, law: Law) -> bool:
    """Make `law` the current reference law; False when it already is."""
    row = db.execute("SELECT value FROM meta WHERE key = 'law_version'").fetchone()
    if row is not None and row[0] == law.version:
        return False
    db.execute(
        "INSERT OR IGNORE INTO law (version, records, loaded_at) VALUES (?, ?, ?)",
        [law.version, json.dumps(law_to_records(law), sort_keys=True), clock.timestamp()],
    )
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('law_version', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [law.version],
    )
    return True


def current_version(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'law_version'").fetchone()
    return row[0] if row else None


def load(conn: sqlite3.Connection, version: str) -> Law:
    row = conn.execute("SELECT records FROM law WHERE version = ?", [version]).fetchone()
    if row is None:
        raise LookupError(f"law version {version} is not in the database")
    return law_from_records(json.loads(row[0]), version)
