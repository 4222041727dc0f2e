"""Appends to and reads the hash-chained audit trail, always inside the caller's transaction."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator

from .. import clock
from . import chain, personal

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
    """Add one entry after the current head; callers hold the write lock (BEGIN IMMEDIATE).

    A list of more than chain.LIST_LIMIT items in the change is held as its count and digest.
    """
    change = chain.bounded({"change": change}, personal.item_lists(action))["change"]
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
    payloads = _payloads(action, actor, change)
    entry["payloads"] = payloads
    stored = chain.sealed(entry)
    entry["hash"] = chain.entry_hash(entry)
    db.execute(
        f"INSERT INTO audit ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
        [
            entry["seq"],
            entry["at"],
            json.dumps(stored["actor"], sort_keys=True),
            action,
            object_type,
            object_id,
            json.dumps(stored["change"], sort_keys=True),
            prev_hash,
            entry["hash"],
        ],
    )
    for payload in payloads:
        db.execute(
            "INSERT INTO audit_payloads (seq, pointer, salt, value, customer_id)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                seq,
                payload["pointer"],
                payload["salt"],
                json.dumps(payload["value"], sort_keys=True),
                payload["customer"],
            ],
        )
    return entry


def _payloads(action: str, actor: dict, change) -> list[dict]:
    """The entry's personal data, held apart: each value with its salted digest."""
    payloads = []
    for found in personal.personal_values(action, actor, change):
        salt = secrets.token_bytes(16)
        payloads.append(
            {
                "pointer": found.pointer,
                "digest": chain.payload_digest(salt, found.value),
                "salt": salt.hex(),
                "value": found.value,
                "customer": found.customer,
                "erased": False,
            }
        )
    return payloads


def recent_by_customer(
    conn: sqlite3.Connection, customer_id: str, actions: Iterable[str], since: str
) -> list[str]:
    """When a customer's keys made each entry of these actions after `since` (a stored
    timestamp), newest first per action. Read backwards along the action's index, stopping at
    the first older entry: the cost is that of the window, not of the trail."""
    times = []
    for action in actions:
        rows = conn.execute(
            "SELECT a.at, p.customer_id FROM audit a LEFT JOIN audit_payloads p"
            " ON p.seq = a.seq AND p.pointer = '/actor/customer_id'"
            " WHERE a.action = ? ORDER BY a.seq DESC",
            [action],
        )
        for at, customer in rows:
            if at <= since:
                break
            if customer == customer_id:
                times.append(at)
    return times


def _decoded(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        # Altered into something that is not JSON: kept as stored, its hash no longer
        # matches, and `audit verify` names the entry instead of failing to read it.
        return text


_PAYLOAD_COLUMNS = "seq, pointer, salt, value, customer_id, erased_at"


def _payload(row) -> dict:
    seq, pointer, salt, value, customer_id, erased_at = row
    return {
        "seq": seq,
        "pointer": pointer,
        "salt": salt,
        "value": None if erased_at is not None else _decoded(value),
        "customer": customer_id,
        "erased": erased_at is not None,
    }


def _entry(row, payloads: Iterable[dict] = ()) -> dict:
    """An entry as read: each personal payload's value in place of its digest (or ERASED), and
    its payloads with the digests the hashed entry holds, to seal it again for its hash."""
    entry = dict(zip(_COLUMNS, row, strict=True))
    entry["actor"] = _decoded(entry["actor"])
    entry["change"] = _decoded(entry["change"])
    entry["payloads"] = []
    for payload in payloads:
        digest = chain.value_at(entry, payload["pointer"])
        shown = chain.ERASED if payload["erased"] else payload["value"]
        if not (isinstance(digest, str) and digest.startswith(chain.DIGEST_PREFIX)):
            # The entry holds no digest there (altered, or renumbered): the payload stays out
            # and the entry hashes as stored, so `audit verify` names what changed.
            continue
        if not chain.replace_at(entry, payload["pointer"], shown):
            continue
        entry["payloads"].append({**payload, "digest": digest})
    return entry


def _payloads_of(conn: sqlite3.Connection, seqs: list[int]) -> dict[int, list[dict]]:
    found: dict[int, list[dict]] = {seq: [] for seq in seqs}
    if not seqs:
        return found
    rows = conn.execute(
        f"SELECT {_PAYLOAD_COLUMNS} FROM audit_payloads WHERE seq BETWEEN ? AND ?"
        " ORDER BY seq, pointer",
        [min(seqs), max(seqs)],
    )
    for row in rows:
        if row[0] in found:
            found[row[0]].append(_payload(row))
    return found


def iter_all(conn: sqlite3.Connection) -> Iterator[dict]:
    """Every entry in order, with its payloads (two cursors read side by side)."""
    payloads = conn.execute(f"SELECT {_PAYLOAD_COLUMNS} FROM audit_payloads ORDER BY seq, pointer")
    pending = payloads.fetchone()
    for row in conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM audit ORDER BY rowid"):
        mine = []
        while pending is not None and pending[0] <= row[0]:
            if pending[0] == row[0]:
                mine.append(_payload(pending))
            pending = payloads.fetchone()
        yield _entry(row, mine)


def head(conn: sqlite3.Connection) -> dict | None:
    row = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM audit ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return _entry(row, _payloads_of(conn, [row[0]])[row[0]]) if row else None


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
    ).fetchall()
    payloads = _payloads_of(conn, [row[0] for row in rows])
    return [_entry(row, payloads[row[0]]) for row in rows]


# Erasure and retention: payloads lose their value and salt; the row stays, marked erased.

_ERASE = "UPDATE audit_payloads SET value = NULL, salt = NULL, customer_id = NULL, erased_at = ?"


def erase_customer(db, customer_id: str, objects: Iterable[tuple[str, str]]) -> int:
    """Erase the payloads concerning a customer, and those written about its objects
    (`(object_type, object_id)` pairs: an admin changing its webhook); the count erased."""
    at = clock.timestamp()
    erased = db.execute(
        f"{_ERASE} WHERE customer_id = ? AND erased_at IS NULL", [at, customer_id]
    ).rowcount
    for object_type, object_id in objects:
        erased += db.execute(
            f"{_ERASE} WHERE erased_at IS NULL AND pointer LIKE '/change/%' AND seq IN"
            " (SELECT seq FROM audit WHERE object_type = ? AND object_id = ?)",
            [at, object_type, object_id],
        ).rowcount
    return erased


def count_customer(conn: sqlite3.Connection, customer_id: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM audit_payloads WHERE customer_id = ?", [customer_id]
    ).fetchone()[0]


def erase_actions_before(db, actions: Iterable[str], before: str, *, dry_run: bool = False) -> int:
    """Erase the payloads of entries of these actions written before `before` (a timestamp)."""
    actions = list(actions)
    where = (
        f"erased_at IS NULL AND seq IN (SELECT seq FROM audit WHERE at < ?"
        f" AND action IN ({', '.join('?' * len(actions))}))"
    )
    if dry_run:
        return db.execute(
            f"SELECT count(*) FROM audit_payloads WHERE {where}", [before, *actions]
        ).fetchone()[0]
    return db.execute(f"{_ERASE} WHERE {where}", [clock.timestamp(), before, *actions]).rowcount


def erase_object_payloads(db, object_type: str, object_id: str, customer_id: str) -> int:
    """Erase the payloads of one object's entries that concern a customer (a closed incident's
    customer list, say)."""
    return db.execute(
        f"{_ERASE} WHERE erased_at IS NULL AND customer_id = ? AND seq IN"
        " (SELECT seq FROM audit WHERE object_type = ? AND object_id = ?)",
        [clock.timestamp(), customer_id, object_type, object_id],
    ).rowcount
