"""API keys: create, revoke and list them (audited), and authenticate a bearer token."""

from __future__ import annotations

import sqlite3

from ..audit import service as audit
from ..db.store import Database
from . import store
from .store import ROLES, Principal

__all__ = ["ROLES", "Principal", "authenticate", "create", "list_all", "revoke"]


def create(
    db: Database, *, role: str, name: str, customer_id: str | None = None, actor: dict
) -> tuple[str, str]:
    """Store a new key, audited; returns `(key_id, token)`, the token shown this once.

    ValueError for an unknown role, a blank name, or a customer id given or missing wrongly.
    """
    with db.write() as tx:
        key_id, token = store.create_key(tx, role=role, name=name, customer_id=customer_id)
        audit.append(
            tx,
            actor,
            "key.create",
            "api_key",
            key_id,
            {"role": role, "name": name, "customer_id": customer_id},
        )
    return key_id, token


def revoke(db: Database, key_id: str, *, actor: dict) -> bool:
    """Revoke an active key at once, audited; False when there is no such active key."""
    with db.write() as tx:
        if not store.revoke_key(tx, key_id):
            return False
        audit.append(tx, actor, "key.revoke", "api_key", key_id, {})
    return True


def list_all(conn: sqlite3.Connection) -> list[dict]:
    """Every key, never its token."""
    return store.list_keys(conn)


def authenticate(conn: sqlite3.Connection, token: str) -> Principal | None:
    """The principal a bearer token belongs to, or None for an unknown or revoked token."""
    return store.authenticate(conn, token)
