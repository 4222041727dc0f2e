"""API keys: stored as SHA-256 hashes of their secret, never the secret itself."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date

from .. import clock
from ..roles import CUSTOMER_ROLES, ROLES

TOKEN_PREFIX = "reg"  # noqa: S105 (a public prefix, not a secret)
# What a key's record shows (never its token or hash).
FIELDS = (
    "id",
    "name",
    "role",
    "customer_id",
    "created_at",
    "expires_on",
    "revoked_at",
    "last_used_on",
)
_SELECT = f"SELECT rowid AS seq, {', '.join(FIELDS)} FROM api_keys"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and name, its role and, for customers, the customer id."""

    key_id: str
    name: str
    role: str
    customer_id: str | None


@dataclass(frozen=True)
class Found:
    """A token's active key: its principal, expiry and last day of use (None: never)."""

    principal: Principal
    expires_on: str | None
    last_used_on: str | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(
    db,
    *,
    role: str,
    name: str,
    customer_id: str | None = None,
    expires_on: date | None = None,
) -> tuple[str, str]:
    """Store a new key and return `(key_id, token)`; the token is shown once."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if not name.strip():
        raise ValueError("a key needs a name")
    if (role in CUSTOMER_ROLES) != bool(customer_id):
        raise ValueError(
            "a customer id is required for the customer and feed roles, and only for them"
        )
    key_id = "key_" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    db.execute(
        "INSERT INTO api_keys (id, name, role, customer_id, token_hash, created_at, expires_on)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            key_id,
            name.strip(),
            role,
            customer_id or None,
            hash_secret(secret),
            clock.timestamp(),
            expires_on.isoformat() if expires_on else None,
        ],
    )
    return key_id, f"{TOKEN_PREFIX}_{key_id}_{secret}"


def revoke_key(db, key_id: str) -> bool:
    cursor = db.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        [clock.timestamp(), key_id],
    )
    return cursor.rowcount == 1


def _record(cursor: sqlite3.Cursor, row) -> dict:
    return dict(zip([column[0] for column in cursor.description], row, strict=True))


def get(conn: sqlite3.Connection, key_id: str) -> dict | None:
    """A key's record with its `seq`, or None."""
    cursor = conn.execute(f"{_SELECT} WHERE id = ?", [key_id])
    row = cursor.fetchone()
    return None if row is None else _record(cursor, row)


def page(conn: sqlite3.Connection, *, after_seq: int, limit: int) -> list[dict]:
    """Records in the order they were made, after `after_seq`, with their `seq`."""
    cursor = conn.execute(f"{_SELECT} WHERE rowid > ? ORDER BY rowid LIMIT ?", [after_seq, limit])
    return [_record(cursor, row) for row in cursor.fetchall()]


def list_keys(conn: sqlite3.Connection) -> list[dict]:
    cursor = conn.execute(f"SELECT {', '.join(FIELDS)} FROM api_keys ORDER BY rowid")
    return [_record(cursor, row) for row in cursor.fetchall()]


def find(conn: sqlite3.Connection, token: str) -> Found | None:
    """The active (unrevoked) key a bearer token belongs to, or None; expiry is not checked."""
    parts = token.split("_")
    # reg_key_<hex>_<secret>; the secret itself may contain underscores.
    if len(parts) < 4 or parts[0] != TOKEN_PREFIX or parts[1] != "key":
        return None
    key_id = f"key_{parts[2]}"
    secret = token[len(TOKEN_PREFIX) + 1 + len(key_id) + 1 :]
    row = conn.execute(
        "SELECT name, role, customer_id, token_hash, expires_on, last_used_on FROM api_keys"
        " WHERE id = ? AND revoked_at IS NULL",
        [key_id],
    ).fetchone()
    if row is None:
        # Spend the same hashing work so a missing key id is not faster to learn.
        hmac.compare_digest(hash_secret(secret), "0" * 64)
        return None
    name, role, customer_id, stored, expires_on, last_used_on = row
    if not hmac.compare_digest(hash_secret(secret), stored):
        return None
    principal = Principal(key_id=key_id, name=name, role=role, customer_id=customer_id)
    return Found(principal, expires_on, last_used_on)


def authenticate(conn: sqlite3.Connection, token: str) -> Principal | None:
    """The principal of an unrevoked key a bearer token belongs to (expiry not checked)."""
    found = find(conn, token)
    return None if found is None else found.principal


def mark_used(conn: sqlite3.Connection, key_id: str, day: str) -> None:
    """Record `day` as the key's last use: one autocommitted write, only when it moves on."""
    conn.execute(
        "UPDATE api_keys SET last_used_on = ? WHERE id = ?"
        " AND (last_used_on IS NULL OR last_used_on < ?)",
        [day, key_id, day],
    )


def customer_key_ids(conn: sqlite3.Connection, customer_id: str) -> list[str]:
    """The ids of every key issued to a customer, revoked and expired ones included."""
    rows = conn.execute(
        "SELECT id FROM api_keys WHERE customer_id = ? ORDER BY rowid", [customer_id]
    )
    return [row[0] for row in rows]


def delete_customer_keys(db, customer_id: str) -> int:
    """Delete every key of a customer (its name, id and token hash with it); the count."""
    return db.execute("DELETE FROM api_keys WHERE customer_id = ?", [customer_id]).rowcount
