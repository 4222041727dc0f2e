"""The sub-processor catalogue: one row per sub-processor, its locations kept in the same row."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta

from .. import clock
from ..changecontrol import names
from ..errors import Conflict, NotFound

COLUMNS = (
    "seq",
    "id",
    "name",
    "legal_entity",
    "service",
    "purpose",
    "data_categories",
    "locations",
    "onward_transfers",
    "exporter_role",
    "effective_on",
    "announced_on",
    "already_in_use",
    "urgent_reason",
    "retired_on",
    "retired_reason",
    "version",
    "created_at",
    "updated_at",
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM subprocessors"
EDITABLE = (
    "name",
    "legal_entity",
    "service",
    "purpose",
    "data_categories",
    "locations",
    "onward_transfers",
    "exporter_role",
)
_JSON = ("data_categories", "locations", "onward_transfers")


def _record(row, pending: dict | None = None) -> dict:
    record = dict(zip(COLUMNS, row, strict=True))
    for column in _JSON:
        record[column] = json.loads(record[column])
    record["already_in_use"] = bool(record["already_in_use"])
    record["pending_change"] = pending
    return record


PENDING_COLUMNS = (
    "subprocessor_id",
    "change_id",
    "base_version",
    "changes",
    "announced_on",
    "effective_on",
    "urgent_reason",
    "created_at",
)
_SELECT_PENDING = f"SELECT {', '.join(PENDING_COLUMNS)} FROM pending_changes"


def _pending(row) -> dict:
    pending = dict(zip(PENDING_COLUMNS, row, strict=True))
    pending["changes"] = json.loads(pending["changes"])
    del pending["subprocessor_id"]
    # Customers may object until the day before it takes effect.
    deadline = date.fromisoformat(pending["effective_on"]) - timedelta(days=1)
    pending["objection_deadline"] = deadline.isoformat()
    return pending


def pending_of(conn: sqlite3.Connection, subprocessor_id: str) -> dict | None:
    row = conn.execute(f"{_SELECT_PENDING} WHERE subprocessor_id = ?", [subprocessor_id]).fetchone()
    return _pending(row) if row else None


def _all_pending(conn: sqlite3.Connection) -> dict[str, dict]:
    return {row[0]: _pending(row) for row in conn.execute(_SELECT_PENDING)}


def _records(conn: sqlite3.Connection, rows) -> list[dict]:
    """Records with their pending changes, read by the records' ids (one keyed query)."""
    rows = list(rows)
    if not rows:
        return []
    index = COLUMNS.index("id")
    ids = [row[index] for row in rows]
    found = conn.execute(
        f"{_SELECT_PENDING} WHERE subprocessor_id IN ({', '.join('?' * len(ids))})", ids
    )
    pending = {row[0]: _pending(row) for row in found}
    return [_record(row, pending.get(row[index])) for row in rows]


def set_pending(db, subprocessor_id: str, pending: dict) -> dict | None:
    """Make `pending` the sub-processor's pending change; returns the one it replaced."""
    replaced = pending_of(db.conn, subprocessor_id)
    values = {
        "subprocessor_id": subprocessor_id,
        **pending,
        "changes": json.dumps(pending["changes"]),
        "created_at": clock.timestamp(),
    }
    db.execute("DELETE FROM pending_changes WHERE subprocessor_id = ?", [subprocessor_id])
    db.execute(
        f"INSERT INTO pending_changes ({', '.join(values)})"
        f" VALUES ({', '.join('?' * len(values))})",
        list(values.values()),
    )
    return replaced


def discard_pending(db, subprocessor_id: str) -> dict | None:
    """Remove the sub-processor's pending change; returns it (None when there was none)."""
    pending = pending_of(db.conn, subprocessor_id)
    db.execute("DELETE FROM pending_changes WHERE subprocessor_id = ?", [subprocessor_id])
    return pending


def due_pending(conn: sqlite3.Connection, on: str) -> list[str]:
    """The sub-processors whose pending change takes effect on or before `on`."""
    rows = conn.execute(
        "SELECT subprocessor_id FROM pending_changes WHERE effective_on <= ? ORDER BY 1", [on]
    )
    return [row[0] for row in rows]


def new_id() -> str:
    return "sp_" + secrets.token_hex(8)


def _countries(locations: list[dict]) -> set[str]:
    # Only countries: a location at an international organisation has none.
    return {location["country"] for location in locations if location.get("country")}


def _index_countries(db, seq: int, locations: list[dict]) -> None:
    db.execute("DELETE FROM subprocessor_countries WHERE subprocessor_seq = ?", [seq])
    db.conn.executemany(
        "INSERT INTO subprocessor_countries (country, subprocessor_seq) VALUES (?, ?)",
        [(country, seq) for country in sorted(_countries(locations))],
    )


def name_key(name: str) -> str:
    """What names are compared by: two names a reader cannot tell apart have one key
    (names.name_key: invisible characters, case, width and look-alike letters ignored)."""
    return names.name_key(name)


def _name_taken(db, name: str, except_id: str | None = None) -> str | None:
    """The name of another current sub-processor whose name has `name`'s key, if any."""
    key = name_key(name)
    # Two lookups, each seeking its own index (one query with OR scans the whole of one).
    for sql, value in (
        (
            "SELECT name FROM subprocessors WHERE name_key = ? AND retired_on IS NULL"
            " AND id IS NOT ?",
            key,
        ),
        (
            "SELECT name FROM subprocessors WHERE name = ? COLLATE NOCASE AND retired_on IS NULL"
            " AND id IS NOT ?",
            name,
        ),
    ):
        row = db.execute(sql, [value, except_id]).fetchone()
        if row is not None:
            return row[0]
    unkeyed = db.execute(
        "SELECT name FROM subprocessors WHERE retired_on IS NULL AND name_key IS NULL"
        " AND id IS NOT ?",
        [except_id],
    )
    return next((other for (other,) in unkeyed if name_key(other) == key), None)


def _taken_error(name: str, other: str) -> Conflict:
    if other == name:
        return Conflict(f"A current sub-processor is already named {name!r}.")
    return Conflict(
        f"A current sub-processor is already named {other!r}, which {name!r} cannot be told "
        "apart from (names are compared ignoring case, width, invisible characters, "
        "look-alike letters from other scripts (Unicode's confusables) and repeated spaces)."
    )


def check_name_free(db, name: str, except_id: str | None = None) -> None:
    """Conflict (409) when another current sub-processor's name has `name`'s key, or
    another's pending change renames it to such a name."""
    other = _name_taken(db, name, except_id=except_id)
    if other is not None:
        raise _taken_error(name, other)
    key = name_key(name)
    rows = db.execute(
        "SELECT json_extract(changes, '$.name'), effective_on FROM pending_changes"
        " WHERE json_extract(changes, '$.name') IS NOT NULL AND subprocessor_id IS NOT ?",
        [except_id],
    )
    for pending, effective_on in rows.fetchall():
        if name_key(pending) == key:
            raise Conflict(
                f"A sub-processor is announced to be renamed {pending!r} from {effective_on}: "
                "the name is taken."
            )


def last_retired(conn: sqlite3.Connection, name: str, since: str) -> dict | None:
    """The record named like `name` (by its key) retired, or scheduled to retire, latest,
    on or after `since`: `{id, name, retired_on}`, or None."""
    row = conn.execute(
        "SELECT id, name, retired_on FROM subprocessors WHERE name_key = ?"
        " AND retired_on IS NOT NULL AND retired_on >= ? ORDER BY retired_on DESC LIMIT 1",
        [name_key(name), since],
    ).fetchone()
    return None if row is None else dict(zip(("id", "name", "retired_on"), row, strict=True))


def fill_name_keys(db) -> list[str]:
    """Give each row without a name key its key; returns the ids of current rows left
    without one because another current row has that key already (they still clash)."""
    rows = db.execute("SELECT id, name, retired_on FROM subprocessors WHERE name_key IS NULL")
    clashing = []
    for subprocessor_id, name, retired_on in rows.fetchall():
        key = name_key(name)
        if (
            retired_on is None
            and db.execute(
                "SELECT 1 FROM subprocessors WHERE name_key = ? AND retired_on IS NULL", [key]
            ).fetchone()
        ):
            clashing.append(subprocessor_id)
            continue
        db.execute("UPDATE subprocessors SET name_key = ? WHERE id = ?", [key, subprocessor_id])
    return clashing


def create(db, data: dict) -> dict:
    """Insert a sub-processor inside the caller's write transaction."""
    check_name_free(db, data["name"])
    now = clock.timestamp()
    values = {
        "id": new_id(),
        "name": data["name"],
        "name_key": name_key(data["name"]),
        "legal_entity": data.get("legal_entity"),
        "service": data["service"],
        "purpose": data.get("purpose"),
        "data_categories": json.dumps(data["data_categories"]),
        "locations": json.dumps(data["locations"]),
        "onward_transfers": json.dumps(data.get("onward_transfers", [])),
        "exporter_role": data.get("exporter_role"),
        "effective_on": data["effective_on"],
        "announced_on": data["announced_on"],
        "already_in_use": int(bool(data.get("already_in_use"))),
        "urgent_reason": data.get("urgent_reason"),
        "created_at": now,
        "updated_at": now,
    }
    cursor = db.execute(
        f"INSERT INTO subprocessors ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
        list(values.values()),
    )
    _index_countries(db, cursor.lastrowid, data["locations"])
    return get(db.conn, values["id"])


def get(conn: sqlite3.Connection, subprocessor_id: str) -> dict:
    row = conn.execute(f"{_SELECT} WHERE id = ?", [subprocessor_id]).fetchone()
    if row is None:
        raise NotFound(f"No sub-processor has the id {subprocessor_id!r}.")
    return _record(row, pending_of(conn, subprocessor_id))


def update(db, subprocessor_id: str, changes: dict) -> dict:
    """Apply `changes` (a subset of EDITABLE) and bump the record's version."""
    current = get(db.conn, subprocessor_id)
    if current["retired_on"] is not None:
        raise Conflict("A retired sub-processor cannot be changed.")
    if "name" in changes:
        check_name_free(db, changes["name"], except_id=subprocessor_id)
    values = {}
    for field in EDITABLE:
        if field in changes:
            value = changes[field]
            values[field] = json.dumps(value) if field in _JSON else value
    if "name" in changes:
        values["name_key"] = name_key(changes["name"])
    if "effective_on" in changes:
        values["effective_on"] = changes["effective_on"]
    values["updated_at"] = clock.timestamp()
    assignments = ", ".join(f"{column} = ?" for column in values)
    db.execute(
        f"UPDATE subprocessors SET {assignments}, version = version + 1 WHERE id = ?",
        [*values.values(), subprocessor_id],
    )
    if "locations" in changes:
        _index_countries(db, current["seq"], changes["locations"])
    return get(db.conn, subprocessor_id)


def retire(db, subprocessor_id: str, on: str, reason: str | None, *, today: str) -> dict:
    """Set `retired_on` (today, or a later day: scheduled) and the reason, a new version.

    Once set it is never moved: a record retired, or scheduled to be, is 409.
    """
    current = get(db.conn, subprocessor_id)
    retired_on = current["retired_on"]
    if retired_on is not None and retired_on <= today:
        raise Conflict(f"The sub-processor is already retired (since {retired_on}).")
    if retired_on is not None:
        raise Conflict(f"The sub-processor is already scheduled to retire on {retired_on}.")
    db.execute(
        "UPDATE subprocessors SET retired_on = ?, retired_reason = ?, updated_at = ?,"
        " version = version + 1 WHERE id = ?",
        [on, reason, clock.timestamp(), subprocessor_id],
    )
    return get(db.conn, subprocessor_id)


def page(
    conn: sqlite3.Connection,
    *,
    today: str,
    after_seq: int = 0,
    limit: int = 50,
    service: str | None = None,
    country: str | None = None,
    status: str | None = None,
) -> list[dict]:
    """Up to `limit` records after `after_seq`, in creation order, filtered in SQL."""
    source, order = "subprocessors s", "s.seq"
    where, params = ["s.seq > ?"], [after_seq]
    if country:
        # Walk the (country, seq) key from the cursor: an IN (subquery) would list every
        # match of the country on each page, however far the cursor is.
        source = "subprocessor_countries c JOIN subprocessors s ON s.seq = c.subprocessor_seq"
        order = "c.subprocessor_seq"
        where, params = ["c.country = ?", "c.subprocessor_seq > ?"], [country, after_seq]
    if service:
        where.append("s.service = ?")
        params.append(service)
    if status == "retired":
        where.append("s.retired_on IS NOT NULL AND s.retired_on <= ?")
        params.append(today)
    elif status == "active":
        where.append("(s.retired_on IS NULL OR s.retired_on > ?) AND s.effective_on <= ?")
        params += [today, today]
    elif status == "proposed":
        where.append("(s.retired_on IS NULL OR s.retired_on > ?) AND s.effective_on > ?")
        params += [today, today]
    columns = ", ".join(f"s.{c}" for c in COLUMNS)
    sql = f"SELECT {columns} FROM {source} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
    return _records(conn, conn.execute(sql, [*params, limit]))


def mark_changed(db, subprocessor_id: str, revision: int) -> None:
    """Record the registry revision that last wrote this sub-processor."""
    db.execute(
        "UPDATE subprocessors SET changed_revision = ? WHERE id = ?", [revision, subprocessor_id]
    )


def changed_since(conn: sqlite3.Connection, revision: int) -> list[dict]:
    """Every sub-processor written after `revision`, retired ones included."""
    rows = conn.execute(f"{_SELECT} WHERE changed_revision > ? ORDER BY seq", [revision])
    return _records(conn, rows)


def by_ids(conn: sqlite3.Connection, ids: set[str]) -> list[dict]:
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = conn.execute(f"{_SELECT} WHERE id IN ({marks}) ORDER BY seq", sorted(ids))
    return _records(conn, rows)


def iter_current(conn: sqlite3.Connection, on: str) -> Iterator[dict]:
    """Every sub-processor not retired on `on`, in creation order."""
    pending = _all_pending(conn)  # few, read before the stream of records
    cursor = conn.execute(
        f"{_SELECT} WHERE retired_on IS NULL OR retired_on > ? ORDER BY seq", [on]
    )
    index = COLUMNS.index("id")
    for row in cursor:
        yield _record(row, pending.get(row[index]))


def is_empty(conn: sqlite3.Connection) -> bool:
    """No sub-processor was ever recorded (retired ones count: they stay on record)."""
    return conn.execute("SELECT 1 FROM subprocessors LIMIT 1").fetchone() is None
