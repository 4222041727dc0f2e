"""API keys: stored as SHA-256 hashes of their secret, never the secret itself."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass

from .. import clock

ROLES = ("admin", "procurement", "customer", "service")
TOKEN_PREFIX = "reg"  # noqa: S105 (a public prefix, not a secret)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and name, its role and, for customers, the customer id."""

    key_id: str
    name: str
    role: str
    customer_id: str | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(db, *, role: str, name: str, customer_id: str | None = None) -> tuple[str, str]:
    """Store a new key and return `(key_id, token)`; the token is shown once."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if not name.strip():
        raise ValueError("a key needs a name")
    if (role == "customer") != bool(customer_id):
        raise ValueError("a customer id is required for the customer role, and only for it")
    key_id = "key_" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    db.execute(
        "INSERT INTO api_keys (id, name, role, customer_id, token_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [key_id, name.strip(), role, customer_id or None, hash_secret(secret), clock.timestamp()],
    )
    return key_id, f"{TOKEN_PREFIX}_{key_id}_{secret}"


def revoke_key(db, key_id: str) -> bool:
    cursor = db.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        [clock.timestamp(), key_id],
    )
    return cursor.rowcount == 1


def list_keys(conn: sqlite3.Connection) -> list[dict]:
    rows = conn.execute(
        "SELECT id, name, role, customer_id, created_at, revoked_at FROM api_keys"
        " ORDER BY created_at"
    ).fetchall()
    names = ("id", "name", "role", "customer_id", "created_at", "revoked_at")
    return [dict(zip(names, row, strict=True)) for row in rows]


def authenticate(conn: sqlite3.Connection, token: str) -> Principal | None:
    """The principal a bearer token belongs to, or None for an unknown or revoked token."""
    parts = token.split("_")
    # reg_key_<hex>_<secret>; the secret itself may contain underscores.
    if len(parts) < 4 or parts[0] != TOKEN_PREFIX or parts[1] != "key":
        return None
    key_id = f"key_{parts[2]}"
    secret = token[len(TOKEN_PREFIX) + 1 + len(key_id) + 1 :]
    row = conn.execute(
        "SELECT name, role, customer_id, token_hash FROM api_keys"
        " WHERE id = ? AND revoked_at IS NULL",
        [key_id],
    ).fetchone()
    if row is None:
        # Spend the same hashing work so a missing key id is not faster to learn.
        hmac.compare_digest(hash_secret(secret), "0" * 64)
        return None
    name, role, customer_id, stored = row
    if not hmac.compare_digest(hash_secret(secret), stored):
        return None
    return Principal(key_id=key_id, name=name, role=role, customer_id=customer_id)
