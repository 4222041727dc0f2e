"""Incidents, every version of each, and the customers each concerns: the SQL behind them."""

from __future__ import annotations

import json
import secrets
import sqlite3

COLUMNS = (
    "seq",
    "id",
    "subprocessor_id",
    "status",
    "version",
    "detected_on",
    "facts",
    "all_customers",
    "created_at",
    "updated_at",
    "communicated_at",
    "closed_at",
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM incidents"
# A customer sees an incident once it is communicated, if it concerns that customer.
_CONCERNS = (
    "status != 'open' AND (all_customers = 1 OR EXISTS (SELECT 1 FROM incident_customers c"
    " WHERE c.incident_id = incidents.id AND c.customer_id = ?))"
)


def new_id() -> str:
    return "inc_" + secrets.token_hex(8)


def _customers(conn: sqlite3.Connection, incident_id: str) -> list[dict]:
    rows = conn.execute(
        "SELECT customer_id, told_at FROM incident_customers WHERE incident_id = ?"
        " ORDER BY customer_id",
        [incident_id],
    )
    return [{"customer_id": customer_id, "told_at": told_at} for customer_id, told_at in rows]


def _record(conn: sqlite3.Connection, row) -> dict:
    record = dict(zip(COLUMNS, row, strict=True))
    record.update(json.loads(record.pop("facts")))
    record["all_customers"] = bool(record["all_customers"])
    record["customers"] = _customers(conn, record["id"])
    return record


def create(
    db,
    *,
    subprocessor_id: str,
    detected_on: str,
    facts: dict,
    customer_ids: list[str] | None,
    at: str,
) -> dict:
    """A new open incident, version 1; `customer_ids` None: it concerns every customer."""
    incident_id = new_id()
    db.execute(
        "INSERT INTO incidents (id, subprocessor_id, status, version, detected_on, facts,"
        " all_customers, created_at, updated_at) VALUES (?, ?, 'open', 1, ?, ?, ?, ?, ?)",
        [
            incident_id,
            subprocessor_id,
            detected_on,
            json.dumps(facts, sort_keys=True),
            int(customer_ids is None),
            at,
            at,
        ],
    )
    set_customers(db, incident_id, customer_ids or [])
    return get(db.conn, incident_id)


def get(conn: sqlite3.Connection, incident_id: str, customer_id: str | None = None) -> dict | None:
    """An incident; with `customer_id`, only if communicated and concerning that customer."""
    sql, params = f"{_SELECT} WHERE id = ?", [incident_id]
    if customer_id is not None:
        sql += f" AND {_CONCERNS}"
        params.append(customer_id)
    row = conn.execute(sql, params).fetchone()
    return None if row is None else _record(conn, row)


def page(
    conn: sqlite3.Connection,
    *,
    after_seq: int,
    limit: int,
    customer_id: str | None = None,
    status: str | None = None,
    subprocessor_id: str | None = None,
) -> list[dict]:
    """Incidents after a cursor in the order they were recorded; a customer's view with
    `customer_id`."""
    where, params = ["seq > ?"], [after_seq]
    if customer_id is not None:
        where.append(_CONCERNS)
        params.append(customer_id)
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if subprocessor_id is not None:
        where.append("subprocessor_id = ?")
        params.append(subprocessor_id)
    rows = conn.execute(
        f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?", [*params, limit]
    ).fetchall()
    return [_record(conn, row) for row in rows]


def update(db, incident_id: str, values: dict, *, at: str) -> dict:
    """Write a new version: `values` (facts as a dict, other columns as they are)."""
    values = dict(values)
    if "facts" in values:
        values["facts"] = json.dumps(values["facts"], sort_keys=True)
    if "all_customers" in values:
        values["all_customers"] = int(values["all_customers"])
    assignments = [f"{column} = ?" for column in values]
    assignments += ["version = version + 1", "updated_at = ?"]
    db.execute(
        f"UPDATE incidents SET {', '.join(assignments)} WHERE id = ?",
        [*values.values(), at, incident_id],
    )
    return get(db.conn, incident_id)


def set_customers(db, incident_id: str, customer_ids: list[str]) -> None:
    """Name these customers as concerned; customers already told stay."""
    db.execute(
        "DELETE FROM incident_customers WHERE incident_id = ? AND told_at IS NULL",
        [incident_id],
    )
    for customer_id in customer_ids:
        db.execute(
            "INSERT OR IGNORE INTO incident_customers (incident_id, customer_id) VALUES (?, ?)",
            [incident_id, customer_id],
        )


def mark_told(db, incident_id: str, customer_id: str, at: str) -> None:
    db.execute(
        "INSERT INTO incident_customers (incident_id, customer_id, told_at) VALUES (?, ?, ?)"
        " ON CONFLICT (incident_id, customer_id) DO UPDATE SET told_at = excluded.told_at"
        " WHERE told_at IS NULL",
        [incident_id, customer_id, at],
    )


def save_version(db, incident_id: str, version: int, at: str, record: dict) -> None:
    db.execute(
        "INSERT INTO incident_versions (incident_id, version, at, record) VALUES (?, ?, ?, ?)",
        [incident_id, version, at, json.dumps(record, sort_keys=True)],
    )


def versions(
    conn: sqlite3.Connection, incident_id: str, *, after_version: int, limit: int
) -> list[dict]:
    rows = conn.execute(
        "SELECT version, at, record FROM incident_versions"
        " WHERE incident_id = ? AND version > ? ORDER BY version LIMIT ?",
        [incident_id, after_version, limit],
    )
    return [{**json.loads(record), "version": version, "at": at} for version, at, record in rows]


def open_detected_before(conn: sqlite3.Connection, before: str) -> list[dict]:
    """Incidents not communicated yet, detected at or before `before`, oldest detection first."""
    rows = conn.execute(
        f"{_SELECT} WHERE status = 'open' AND detected_on <= ? ORDER BY detected_on, seq",
        [before],
    ).fetchall()
    return [_record(conn, row) for row in rows]


def overdue_unannounced(conn: sqlite3.Connection, before: str) -> list[dict]:
    """Open incidents detected at or before `before` whose overdue notice staff were not
    told of yet (`incident.overdue`), oldest detection first."""
    rows = conn.execute(
        f"{_SELECT} WHERE status = 'open' AND detected_on <= ?"
        " AND id NOT IN (SELECT incident_id FROM incident_overdue_told)"
        " ORDER BY detected_on, seq",
        [before],
    ).fetchall()
    return [_record(conn, row) for row in rows]


def mark_overdue_announced(db, incident_id: str, at: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO incident_overdue_told (incident_id, told_at) VALUES (?, ?)",
        [incident_id, at],
    )


def count_open(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM incidents WHERE status = 'open'").fetchone()[0]


# Erasure and retention


def customer_incident_ids(conn: sqlite3.Connection, customer_id: str) -> list[str]:
    """The incidents that name a customer among those concerned (or told)."""
    rows = conn.execute(
        "SELECT incident_id FROM incident_customers WHERE customer_id = ? ORDER BY incident_id",
        [customer_id],
    )
    return [row[0] for row in rows]


def incident_customer_ids(conn: sqlite3.Connection, incident_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT customer_id FROM incident_customers WHERE incident_id = ?", [incident_id]
    )
    return [row[0] for row in rows]


def remove_customers(db, incident_id: str, customer_ids: list[str] | None = None) -> int:
    """Delete the named customers (None: all) from an incident's list and from every one of
    its versions; the rows deleted from the list."""
    sql, params = "DELETE FROM incident_customers WHERE incident_id = ?", [incident_id]
    if customer_ids is not None:
        sql += f" AND customer_id IN ({', '.join('?' * len(customer_ids))})"
        params += customer_ids
    removed = db.execute(sql, params).rowcount
    rows = db.execute(
        "SELECT version, record FROM incident_versions WHERE incident_id = ?", [incident_id]
    ).fetchall()
    for version, text in rows:
        record = json.loads(text)
        named = record.get("customer_ids")
        if not named:
            continue
        kept = [] if customer_ids is None else [c for c in named if c not in customer_ids]
        if kept != named:
            record["customer_ids"] = kept
            db.execute(
                "UPDATE incident_versions SET record = ? WHERE incident_id = ? AND version = ?",
                [json.dumps(record, sort_keys=True), incident_id, version],
            )
    return removed


def closed_before(conn: sqlite3.Connection, before: str) -> list[str]:
    """Closed incidents, closed before `before`, that still list customers."""
    rows = conn.execute(
        "SELECT id FROM incidents WHERE status = 'closed' AND closed_at < ? AND EXISTS"
        " (SELECT 1 FROM incident_customers c WHERE c.incident_id = incidents.id) ORDER BY seq",
        [before],
    )
    return [row[0] for row in rows]
