"""The audit trail as the other features use it: who acted, appending, reading, verifying."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

from . import chain, store
from .chain import Break, PayloadCount

__all__ = ["Break", "PayloadCount"]


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


def recent_by_customer(
    conn: sqlite3.Connection, customer_id: str, actions: Iterable[str], since: str
) -> list[str]:
    """The times of the entries of these actions a customer's keys made since `since`."""
    return store.recent_by_customer(conn, customer_id, actions, since)


def head(conn: sqlite3.Connection) -> dict | None:
    return store.head(conn)


def entries(conn: sqlite3.Connection) -> Iterator[dict]:
    return store.iter_all(conn)


def verify(
    entries: Iterator[dict], payloads: PayloadCount | None = None
) -> tuple[int, Break | None]:
    """Walk entries in seq order; returns (entries checked, first break or None). Remaining
    personal payloads are checked against their digests; erased ones counted in `payloads`."""
    return chain.verify(entries, payloads)


def erase_customer(tx, customer_id: str, objects: Iterable[tuple[str, str]] = ()) -> int:
    """Erase the personal payloads concerning a customer, and those of entries about its
    objects (`(object_type, object_id)`), in the caller's write transaction; the count."""
    return store.erase_customer(tx, customer_id, list(objects))


def customer_payloads(conn: sqlite3.Connection, customer_id: str) -> int:
    """How many payloads, not erased, concern the customer."""
    return store.count_customer(conn, customer_id)


def erase_actions_before(tx, actions: Iterable[str], before: str, *, dry_run: bool = False) -> int:
    """Erase the payloads of entries of these actions written before `before`; the count
    (with `dry_run`, the count that would be erased)."""
    return store.erase_actions_before(tx, actions, before, dry_run=dry_run)


def erase_object_payloads(tx, object_type: str, object_id: str, customer_id: str) -> int:
    """Erase one object's payloads that concern a customer; the count."""
    return store.erase_object_payloads(tx, object_type, object_id, customer_id)


def digest(salt: bytes, value) -> str:
    """`sha256:` and the hex SHA-256 of the salt followed by the value's canonical JSON."""
    return chain.payload_digest(salt, value)


def shown(entry: dict) -> dict:
    """An entry as the API shows it: values in place, `{"erased": true}` where erased, and
    its payloads' pointers and digests (enough to recompute its hash)."""
    return {
        **{k: v for k, v in entry.items() if k != "payloads"},
        "personal_data": [
            {"pointer": p["pointer"], "digest": p["digest"], "erased": p["erased"]}
            for p in entry.get("payloads") or ()
        ],
    }
