"""Waivers, kept with who made and who revoked each: the SQL behind them."""

from __future__ import annotations

import secrets
import sqlite3

COLUMNS = (
    "seq",
    "id",
    "subprocessor_id",
    "code",
    "country",
    "reason",
    "expires_on",
    "created_at",
    "created_by",
    "revoked_at",
    "revoked_by",
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM waivers"
# The states a waiver is listed by: revoked, else expired from `expires_on` (today, the
# parameter), else active.
STATES = {
    "active": "revoked_at IS NULL AND expires_on > ?",
    "expired": "revoked_at IS NULL AND expires_on <= ?",
}


def _record(row) -> dict:
    return dict(zip(COLUMNS, row, strict=True))


def create(
    db,
    *,
    subprocessor_id: str,
    code: str,
    country: str | None,
    reason: str,
    expires_on: str,
    at: str,
    by: str | None,
) -> dict:
    waiver_id = "wvr_" + secrets.token_hex(8)
    db.execute(
        "INSERT INTO waivers (id, subprocessor_id, code, country, reason, expires_on,"
        " created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [waiver_id, subprocessor_id, code, country, reason, expires_on, at, by],
    )
    return get(db.conn, waiver_id)


def revoke(db, waiver_id: str, *, at: str, by: str | None) -> dict:
    db.execute(
        "UPDATE waivers SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
        [at, by, waiver_id],
    )
    return get(db.conn, waiver_id)


def get(conn: sqlite3.Connection, waiver_id: str) -> dict | None:
    row = conn.execute(f"{_SELECT} WHERE id = ?", [waiver_id]).fetchone()
    return None if row is None else _record(row)


def page(
    conn: sqlite3.Connection,
    *,
    after_seq: int,
    limit: int,
    subprocessor_id: str | None = None,
    state: str | None = None,
    today: str | None = None,
) -> list[dict]:
    """Waivers after a cursor, in the order they were made."""
    where, params = ["seq > ?"], [after_seq]
    if subprocessor_id is not None:
        where.append("subprocessor_id = ?")
        params.append(subprocessor_id)
    if state == "revoked":
        where.append("revoked_at IS NOT NULL")
    elif state is not None:
        where.append(STATES[state])
        params.append(today)
    rows = conn.execute(
        f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?", [*params, limit]
    ).fetchall()
    return [_record(row) for row in rows]


def for_subprocessors(conn: sqlite3.Connection, subprocessor_ids: list[str] | None) -> list[dict]:
    """Every waiver of these sub-processors (None: of all), revoked ones included, in the
    order they were made."""
    if subprocessor_ids is None:
        rows = conn.execute(f"{_SELECT} ORDER BY seq").fetchall()
    else:
        marks = ", ".join("?" * len(subprocessor_ids))
        rows = conn.execute(
            f"{_SELECT} WHERE subprocessor_id IN ({marks}) ORDER BY seq", subprocessor_ids
        ).fetchall()
    return [_record(row) for row in rows]


def not_revoked(conn: sqlite3.Connection) -> list[dict]:
    """Every waiver not revoked, in the order they were made."""
    rows = conn.execute(f"{_SELECT} WHERE revoked_at IS NULL ORDER BY seq").fetchall()
    return [_record(row) for row in rows]
