"""Webhook endpoints, their deliveries and every attempt: the SQL behind webhooks and the worker."""

from __future__ import annotations

import json
import secrets
import sqlite3
from datetime import datetime

from .. import clock
from ..errors import NotFound
from ..events import service as change_feed

COLUMNS = (
    "seq",
    "id",
    "customer_id",
    "url",
    "events",
    "description",
    "status",
    "consecutive_failures",
    "disabled_reason",
    "version",
    "created_at",
    "updated_at",
    "secret_created_at",
    "previous_secret_expires_at",
    "owner_role",
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM webhooks"
DELIVERY_COLUMNS = (
    "seq",
    "message_id",
    "change_id",
    "type",
    "status",
    "attempts",
    "next_attempt_at",
    "last_attempt_at",
    "last_status_code",
    "last_error",
    "delivered_at",
)
ATTEMPT_COLUMNS = ("attempt", "at", "status_code", "error", "duration_ms")
LOST_ATTEMPT = "no outcome recorded: the worker stopped during the attempt (sent or not)"


def new_id() -> str:
    return "whk_" + secrets.token_hex(8)


def _record(row) -> dict:
    record = dict(zip(COLUMNS, row, strict=True))
    record["events"] = json.loads(record["events"])
    return record


def create(
    db,
    *,
    customer_id: str | None,
    url: str,
    events: list[str],
    description: str | None,
    secret: str,
    owner_role: str | None = None,
) -> dict:
    """A customer's endpoint (`customer_id`), or a staff one (`owner_role`, no customer)."""
    now = clock.timestamp()
    webhook_id = new_id()
    db.execute(
        "INSERT INTO webhooks (id, customer_id, owner_role, url, events, secret, description,"
        " status, created_at, updated_at, secret_created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'enabled', ?, ?, ?)",
        [
            webhook_id,
            customer_id,
            owner_role,
            url,
            json.dumps(events),
            secret,
            description,
            now,
            now,
            now,
        ],
    )
    return get(db.conn, webhook_id)


def rotate_secret(db, webhook_id: str, secret: str, *, previous_expires_at: str | None) -> dict:
    """Sign with `secret` from now on; the replaced one signs beside it until
    `previous_expires_at`, or stops at once when that is None.

    A secret an earlier rotation left valid is dropped: at most two sign at any time.
    (SQLite evaluates every assignment against the row as it was: `previous_secret`
    takes the replaced secret.)
    """
    now = clock.timestamp()
    db.execute(
        "UPDATE webhooks SET previous_secret = CASE WHEN ? IS NULL THEN NULL ELSE secret END,"
        " previous_secret_expires_at = ?, secret = ?, secret_created_at = ?,"
        " version = version + 1, updated_at = ? WHERE id = ?",
        [previous_expires_at, previous_expires_at, secret, now, now, webhook_id],
    )
    return get(db.conn, webhook_id)


def drop_expired_secrets(db, now: datetime) -> int:
    """Remove every replaced secret whose overlap window has ended; how many were removed."""
    return db.execute(
        "UPDATE webhooks SET previous_secret = NULL, previous_secret_expires_at = NULL"
        " WHERE previous_secret_expires_at IS NOT NULL AND previous_secret_expires_at <= ?",
        [clock.timestamp(now)],
    ).rowcount


def _scope(customer_id: str | None, owner_role: str | None) -> tuple[str, list]:
    """The endpoints a caller reaches: a customer's own; the staff ones a staff role
    registered; with neither, all of them (admins)."""
    if customer_id is not None:
        return " AND customer_id = ?", [customer_id]
    if owner_role is not None:
        return " AND owner_role = ?", [owner_role]
    return "", []


def get(
    conn: sqlite3.Connection,
    webhook_id: str,
    customer_id: str | None = None,
    *,
    owner_role: str | None = None,
) -> dict:
    """An endpoint; with `customer_id`, only if it is that customer's, with `owner_role`,
    only if that staff role registered it (else 404, as if absent)."""
    where, params = _scope(customer_id, owner_role)
    sql, params = f"{_SELECT} WHERE id = ?{where}", [webhook_id, *params]
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise NotFound(f"No webhook has the id {webhook_id!r}.")
    return _record(row)


def count(conn: sqlite3.Connection, customer_id: str | None) -> int:
    """A customer's endpoints; with None, the staff endpoints (one quota for all staff)."""
    if customer_id is None:
        return conn.execute("SELECT count(*) FROM webhooks WHERE customer_id IS NULL").fetchone()[0]
    return conn.execute(
        "SELECT count(*) FROM webhooks WHERE customer_id = ?", [customer_id]
    ).fetchone()[0]


def page(
    conn: sqlite3.Connection,
    *,
    after_seq: int,
    limit: int,
    customer_id: str | None = None,
    owner_role: str | None = None,
) -> list[dict]:
    where, params = _scope(customer_id, owner_role)
    rows = conn.execute(
        f"{_SELECT} WHERE seq > ?{where} ORDER BY seq LIMIT ?", [after_seq, *params, limit]
    ).fetchall()
    return [_record(row) for row in rows]


def update(db, webhook_id: str, values: dict) -> dict:
    """Set columns of an endpoint: a new version of its configuration."""
    if "events" in values:
        values = {**values, "events": json.dumps(values["events"])}
    assignments = [f"{column} = ?" for column in values]
    assignments += ["version = version + 1", "updated_at = ?"]
    db.execute(
        f"UPDATE webhooks SET {', '.join(assignments)} WHERE id = ?",
        [*values.values(), clock.timestamp(), webhook_id],
    )
    return get(db.conn, webhook_id)


def enable(db, webhook_id: str, now: datetime) -> None:
    """A fresh start: no failures counted, every undelivered event due at once."""
    db.execute(
        "UPDATE webhooks SET status = 'enabled', disabled_reason = NULL,"
        " consecutive_failures = 0, retry_at = NULL WHERE id = ?",
        [webhook_id],
    )
    db.execute(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?"
        " WHERE webhook_id = ? AND status IN ('pending', 'failed')",
        [clock.timestamp(now), webhook_id],
    )


def delete(db, webhook_id: str) -> None:
    db.execute(
        "DELETE FROM webhook_attempts WHERE delivery_seq IN"
        " (SELECT seq FROM webhook_deliveries WHERE webhook_id = ?)",
        [webhook_id],
    )
    db.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", [webhook_id])
    db.execute("DELETE FROM webhooks WHERE id = ?", [webhook_id])


def deliveries(
    conn: sqlite3.Connection,
    webhook_id: str,
    *,
    after_seq: int,
    limit: int,
    status: str | None = None,
) -> list[dict]:
    """A page of an endpoint's deliveries, oldest first, each with its attempts."""
    where, params = ["d.webhook_id = ?", "d.seq > ?"], [webhook_id, after_seq]
    if status is not None:
        where.append("d.status = ?")
        params.append(status)
    rows = conn.execute(
        "SELECT d.seq, d.message_id, c.id, c.type, d.status, d.attempts, d.next_attempt_at,"
        " d.last_attempt_at, d.last_status_code, d.last_error, d.delivered_at"
        " FROM webhook_deliveries d JOIN changes c ON c.seq = d.change_seq"
        f" WHERE {' AND '.join(where)} ORDER BY d.seq LIMIT ?",
        [*params, limit],
    ).fetchall()
    found = [dict(zip(DELIVERY_COLUMNS, row, strict=True)) for row in rows]
    by_seq = {delivery["seq"]: delivery for delivery in found}
    for delivery in found:
        delivery["attempt_log"] = []
    if by_seq:
        marks = ", ".join("?" * len(by_seq))
        attempts = conn.execute(
            f"SELECT delivery_seq, {', '.join(ATTEMPT_COLUMNS)} FROM webhook_attempts"
            f" WHERE delivery_seq IN ({marks}) ORDER BY delivery_seq, attempt, seq",
            list(by_seq),
        )
        for row in attempts:
            by_seq[row[0]]["attempt_log"].append(dict(zip(ATTEMPT_COLUMNS, row[1:], strict=True)))
    return found


# --- the worker's side --------------------------------------------------------------------------


# The oldest due delivery of each endpoint that may be tried now. Timestamps all have one
# shape (registry.clock), so they compare as strings and the search seeks the
# (status, next_attempt_at) index instead of reading every pending delivery.
DUE_DELIVERIES = (
    "SELECT min(d.seq) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
    " WHERE d.status = 'pending' AND d.next_attempt_at <= ?"
    " AND w.status = 'enabled'"
    " AND (w.retry_at IS NULL OR w.retry_at <= ?)"
    " GROUP BY d.webhook_id ORDER BY 1 LIMIT ?"
)


def claim(db, *, now: datetime, lease_until: datetime, limit: int) -> list[dict]:
    """Take the oldest due delivery of up to `limit` endpoints, each leased until `lease_until`.

    One delivery per endpoint, and the endpoint itself leased too: no worker sends to an
    endpoint while another attempt to it is under way, so a failing endpoint is probed
    by one attempt at a time rather than by its whole backlog. Callers hold the write
    lock (BEGIN IMMEDIATE), so two workers never take the same delivery.
    """
    at, until = clock.timestamp(now), clock.timestamp(lease_until)
    seqs = [row[0] for row in db.execute(DUE_DELIVERIES, [at, at, limit]).fetchall()]
    claimed = []
    for seq in seqs:
        # The replaced secret signs too while its overlap window lasts, never after.
        row = db.execute(
            "SELECT d.webhook_id, d.message_id, d.attempts, d.last_attempt_at, w.url, w.secret,"
            " CASE WHEN w.previous_secret_expires_at > ? THEN w.previous_secret END,"
            " w.customer_id, w.owner_role, c.seq, c.id, c.at, c.type, c.data"
            " FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
            " JOIN changes c ON c.seq = d.change_seq WHERE d.seq = ?",
            [at, seq],
        ).fetchone()
        webhook_id, message_id, attempts, last_attempt_at, url, secret, previous = row[:7]
        if attempts and last_attempt_at and not _attempt_recorded(db, seq, attempts):
            db.execute(
                "INSERT INTO webhook_attempts (delivery_seq, attempt, at, error, duration_ms)"
                " VALUES (?, ?, ?, ?, 0)",
                [seq, attempts, last_attempt_at, LOST_ATTEMPT],
            )
        db.execute(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = ?,"
            " next_attempt_at = ? WHERE seq = ?",
            [at, until, seq],
        )
        db.execute("UPDATE webhooks SET retry_at = ? WHERE id = ?", [until, webhook_id])
        customer_id, owner_role, change_seq, change_id, change_at, change_type, data = row[7:]
        if customer_id is None:
            # A staff endpoint: the cursor as its staff role's keys read the feed.
            feed_cursor = change_feed.role_cursor(db, owner_role, change_seq)
        else:
            feed_cursor = change_feed.customer_cursor(db, customer_id, change_seq)
        claimed.append(
            {
                "delivery_seq": seq,
                # The customer whose endpoint it is: its payload is the customer projection.
                "customer_id": customer_id,
                "attempt": attempts + 1,
                "started_at": at,
                "webhook_id": webhook_id,
                "message_id": message_id,
                "url": url,
                "secrets": [secret] if previous is None else [secret, previous],
                "change": {
                    "seq": change_seq,
                    # The feed's cursor of the event, as the endpoint's owner reads the feed.
                    "cursor": feed_cursor,
                    "id": change_id,
                    "at": change_at,
                    "type": change_type,
                    "data": json.loads(data),
                },
            }
        )
    return claimed


def _attempt_recorded(db, delivery_seq: int, attempt: int) -> bool:
    row = db.execute(
        "SELECT 1 FROM webhook_attempts WHERE delivery_seq = ? AND attempt = ?",
        [delivery_seq, attempt],
    ).fetchone()
    return row is not None


def save_attempt(
    db,
    delivery_seq: int,
    attempt: int,
    *,
    at: str,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    """Log an attempt's outcome, replacing the `lost` entry another worker may have written."""
    values = [at, status_code, error, duration_ms, delivery_seq, attempt]
    updated = db.execute(
        "UPDATE webhook_attempts SET at = ?, status_code = ?, error = ?, duration_ms = ?"
        " WHERE delivery_seq = ? AND attempt = ?",
        values,
    ).rowcount
    if not updated:
        db.execute(
            "INSERT INTO webhook_attempts (at, status_code, error, duration_ms, delivery_seq,"
            " attempt) VALUES (?, ?, ?, ?, ?, ?)",
            values,
        )


def delivery_state(db, delivery_seq: int) -> tuple[str, int] | None:
    """(status, attempts) of a delivery, or None once its endpoint was deleted."""
    row = db.execute(
        "SELECT status, attempts FROM webhook_deliveries WHERE seq = ?", [delivery_seq]
    ).fetchone()
    return (row[0], row[1]) if row else None


def endpoint_state(db, webhook_id: str) -> tuple[str, int] | None:
    """(status, consecutive_failures) of an endpoint, or None once deleted."""
    row = db.execute(
        "SELECT status, consecutive_failures FROM webhooks WHERE id = ?", [webhook_id]
    ).fetchone()
    return (row[0], row[1]) if row else None


def mark_delivered(db, delivery_seq: int, *, at: datetime, status_code: int) -> None:
    db.execute(
        "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = ?,"
        " last_status_code = ?, last_error = NULL WHERE seq = ?",
        [clock.timestamp(at), status_code, delivery_seq],
    )


def reschedule(
    db, delivery_seq: int, *, at: datetime, status_code: int | None, error: str | None
) -> None:
    db.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = ?, last_status_code = ?,"
        " last_error = ? WHERE seq = ?",
        [clock.timestamp(at), status_code, error, delivery_seq],
    )


def mark_failed(db, delivery_seq: int, *, status_code: int | None, error: str | None) -> None:
    db.execute(
        "UPDATE webhook_deliveries SET status = 'failed', last_status_code = ?, last_error = ?"
        " WHERE seq = ?",
        [status_code, error, delivery_seq],
    )


def endpoint_succeeded(db, webhook_id: str) -> None:
    db.execute(
        "UPDATE webhooks SET consecutive_failures = 0, retry_at = NULL WHERE id = ?", [webhook_id]
    )


def endpoint_failed(db, webhook_id: str, *, failures: int, retry_at: datetime) -> None:
    db.execute(
        "UPDATE webhooks SET consecutive_failures = ?, retry_at = ? WHERE id = ?",
        [failures, clock.timestamp(retry_at), webhook_id],
    )


def disable(db, webhook_id: str, *, reason: str, failures: int) -> None:
    """The worker gives up on an endpoint; its pending deliveries stay pending."""
    db.execute(
        "UPDATE webhooks SET status = 'disabled', disabled_reason = ?, consecutive_failures = ?,"
        " retry_at = NULL, version = version + 1, updated_at = ? WHERE id = ?",
        [reason, failures, clock.timestamp(), webhook_id],
    )


def trim_log(db, webhook_id: str, keep: int) -> int:
    """Delete an endpoint's finished deliveries (delivered or given up), with their attempts,
    beyond its `keep` newest; pending ones stay. How many deliveries were deleted."""
    row = db.execute(
        "SELECT seq FROM webhook_deliveries WHERE webhook_id = ? AND status != 'pending'"
        " ORDER BY seq DESC LIMIT 1 OFFSET ?",
        [webhook_id, keep],
    ).fetchone()
    if row is None:
        return 0
    old = "webhook_id = ? AND status != 'pending' AND seq <= ?"
    db.execute(
        f"DELETE FROM webhook_attempts WHERE delivery_seq IN"
        f" (SELECT seq FROM webhook_deliveries WHERE {old})",
        [webhook_id, row[0]],
    )
    return db.execute(f"DELETE FROM webhook_deliveries WHERE {old}", [webhook_id, row[0]]).rowcount


def customer_webhook_ids(conn: sqlite3.Connection, customer_id: str) -> list[str]:
    rows = conn.execute("SELECT id FROM webhooks WHERE customer_id = ? ORDER BY seq", [customer_id])
    return [row[0] for row in rows]


def count_log(conn: sqlite3.Connection, webhook_ids: list[str]) -> tuple[int, int]:
    """(deliveries, attempts) logged for these endpoints."""
    marks = ", ".join("?" * len(webhook_ids))
    deliveries = conn.execute(
        f"SELECT count(*) FROM webhook_deliveries WHERE webhook_id IN ({marks})", webhook_ids
    ).fetchone()[0]
    attempts = conn.execute(
        "SELECT count(*) FROM webhook_attempts WHERE delivery_seq IN (SELECT seq FROM"
        f" webhook_deliveries WHERE webhook_id IN ({marks}))",
        webhook_ids,
    ).fetchone()[0]
    return deliveries, attempts


# A delivery's log ends with its last attempt (or, never attempted, when it was due).
_FINISHED_BEFORE = (
    "status != 'pending' AND coalesce(delivered_at, last_attempt_at, next_attempt_at) < ?"
)


def purge_log_before(db, before: str, *, dry_run: bool = False) -> dict:
    """Delete attempts made before `before` and finished deliveries (delivered or given up)
    whose last attempt was before it; pending deliveries stay. The counts."""
    old_attempts = (
        f"at < ? OR delivery_seq IN (SELECT seq FROM webhook_deliveries WHERE {_FINISHED_BEFORE})"
    )
    counts = {
        "webhook_attempts": db.execute(
            f"SELECT count(*) FROM webhook_attempts WHERE {old_attempts}", [before, before]
        ).fetchone()[0],
        "webhook_deliveries": db.execute(
            f"SELECT count(*) FROM webhook_deliveries WHERE {_FINISHED_BEFORE}", [before]
        ).fetchone()[0],
    }
    if not dry_run:
        db.execute(f"DELETE FROM webhook_attempts WHERE {old_attempts}", [before, before])
        db.execute(f"DELETE FROM webhook_deliveries WHERE {_FINISHED_BEFORE}", [before])
    return counts
