"""The verdict each sub-processor last had, to notice verdicts changed by the law or the date."""

from __future__ import annotations

import json
import sqlite3

from .. import clock

COLUMNS = ("subprocessor_id", "version", "law_version", "rules", "as_of", "status", "flags")


def recorded(conn: sqlite3.Connection) -> dict[str, dict]:
    """Every recorded verdict, by sub-processor id."""
    rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM verdicts")
    found = {}
    for row in rows:
        verdict = dict(zip(COLUMNS, row, strict=True))
        verdict["flags"] = json.loads(verdict["flags"])
        found[verdict["subprocessor_id"]] = verdict
    return found


def record(db, verdict: dict) -> None:
    """Keep `verdict` as the sub-processor's last, in the caller's write transaction."""
    values = {**verdict, "flags": json.dumps(verdict["flags"]), "recorded_at": clock.timestamp()}
    db.execute(
        f"INSERT INTO verdicts ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})"
        " ON CONFLICT (subprocessor_id) DO UPDATE SET"
        f" {', '.join(f'{c} = excluded.{c}' for c in values if c != 'subprocessor_id')}",
        list(values.values()),
    )


def judged_under_earlier_rules(conn: sqlite3.Connection) -> int | None:
    """The rules the register's unrecorded verdicts were last given under, if older ones."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'verdicts_before_rules'").fetchone()
    return int(row[0]) if row else None


def forget_earlier_rules(db) -> None:
    db.execute("DELETE FROM meta WHERE key = 'verdicts_before_rules'")


def remember_due(db, kind: str, item: str, due_on: str) -> bool:
    """Note that `item` falls due on `due_on`; False when already noted (nothing to tell)."""
    cursor = db.execute(
        "INSERT INTO evidence_reminders (kind, item, due_on, recorded_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (kind, item, due_on) DO NOTHING",
        [kind, item, due_on, clock.timestamp()],
    )
    return cursor.rowcount == 1
