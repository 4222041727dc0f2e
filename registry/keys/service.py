"""API keys: create, revoke and list them (audited), and authenticate a bearer token.

A key works from its creation until it is revoked or, with an expiry date, through that day
(the registry's day) inclusive. Customer ids are slugs, folded to lower case: "Acme" is
"acme". Keys made before these rules keep their customer id as written.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import date

from ..audit import service as audit
from ..db.store import Database
from ..errors import Invalid, Unauthenticated
from ..http.fields import LATEST_DATE
from ..roles import CUSTOMER_ROLES
from ..runtime import Registry
from . import store
from .store import ROLES, Principal

__all__ = [
    "ROLES",
    "Principal",
    "Refused",
    "authenticate",
    "create",
    "customer_slug",
    "list_all",
    "revoke",
    "verify",
]

log = logging.getLogger(__name__)
CUSTOMER_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# The pseudonyms erasure writes in place of a customer id (an objection kept without its
# customer): no customer may have one, or its records would pass for erased ones.
RESERVED_PREFIX = "erased-"
MAX_NAME = 100


@dataclass(frozen=True)
class Refused:
    """Why a token was refused: `expired` (with the day it last worked) or `unknown`."""

    reason: str
    expires_on: str | None = None


def customer_slug(value: str) -> str:
    """The customer id as stored: lower case; Invalid unless a slug (a-z, 0-9, -, 1 to 64,
    starting with a letter or digit)."""
    folded = value.lower() if value.isascii() else value
    if not CUSTOMER_ID.fullmatch(folded):
        raise Invalid(
            "/customer_id",
            f"{value!r} is not a customer id: 1 to 64 lowercase letters, digits and hyphens,"
            " starting with a letter or digit (upper case is folded to lower case).",
        )
    if folded.startswith(RESERVED_PREFIX):
        raise Invalid(
            "/customer_id",
            f"{value!r} is not a customer id: ids starting with {RESERVED_PREFIX!r} are"
            " reserved for what an erasure leaves in place of a customer.",
        )
    return folded


def _checked(
    role: str, name: str, customer_id: str | None, expires_on: date | None, today: date
) -> tuple[str, str | None]:
    if role not in ROLES:
        raise Invalid("/role", f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if not name.strip():
        raise Invalid("/name", "a key needs a name")
    if len(name.strip()) > MAX_NAME:
        raise Invalid("/name", f"a key's name has at most {MAX_NAME} characters")
    if role in CUSTOMER_ROLES:
        if customer_id is None:
            raise Invalid("/customer_id", f"a {role} key needs a customer id")
        customer_id = customer_slug(customer_id)
    elif customer_id is not None:
        raise Invalid("/customer_id", "only a customer or feed key has a customer id")
    if expires_on is not None:
        check_expiry(expires_on, today)
    return name.strip(), customer_id


# The last day a key may work through: the registry's last date, as every date it takes.
LATEST_EXPIRY = LATEST_DATE


def check_expiry(expires_on: date, today: date) -> None:
    """The one rule for a key's expiry, whichever door makes the key (API, CLI): after
    today and at the latest LATEST_EXPIRY; Invalid at /expires_on otherwise."""
    if expires_on <= today:
        raise Invalid("/expires_on", f"the expiry date must be after today ({today.isoformat()})")
    if expires_on > LATEST_EXPIRY:
        raise Invalid(
            "/expires_on",
            f"the expiry date must be {LATEST_EXPIRY.isoformat()} at the latest;"
            " for a key that works until revoked, give no expiry",
        )


def create(
    db: Database,
    *,
    role: str,
    name: str,
    customer_id: str | None = None,
    expires_on: date | None = None,
    today: date,
    actor: dict,
) -> tuple[dict, str]:
    """Store a new key, audited; returns its record and its token, the token shown this once.

    Invalid for an unknown role, a blank name, a customer id given or missing wrongly or not
    a slug, or an expiry date not after `today` (the registry's day).
    """
    name, customer_id = _checked(role, name, customer_id, expires_on, today)
    with db.write() as tx:
        key_id, token = store.create_key(
            tx, role=role, name=name, customer_id=customer_id, expires_on=expires_on
        )
        record = store.get(tx.conn, key_id)
        # The token stays out of the trail; an expiry is recorded when there is one.
        change = {"role": role, "name": name, "customer_id": customer_id}
        if record["expires_on"] is not None:
            change["expires_on"] = record["expires_on"]
        audit.append(tx, actor, "key.create", "api_key", key_id, change)
    return record, token


def revoke(db: Database, key_id: str, *, actor: dict) -> bool:
    """Revoke an active key at once, audited; False when there is no such active key."""
    with db.write() as tx:
        if not store.revoke_key(tx, key_id):
            return False
        audit.append(tx, actor, "key.revoke", "api_key", key_id, {})
    return True


def revoke_checked(db: Database, key_id: str, check, *, actor: dict) -> dict | None:
    """Revoke a key after `check(record)` accepts it (raising otherwise), in one transaction;
    returns the revoked record, or None when there is no such key."""
    with db.write() as tx:
        record = store.get(tx.conn, key_id)
        if record is None:
            return None
        check(record)
        store.revoke_key(tx, key_id)
        audit.append(tx, actor, "key.revoke", "api_key", key_id, {})
        return store.get(tx.conn, key_id)


def list_all(conn: sqlite3.Connection) -> list[dict]:
    """Every key, never its token."""
    return store.list_keys(conn)


def verify(
    conn: sqlite3.Connection, token: str, today: date, *, record_use: bool = True
) -> Principal | Refused:
    """The principal a bearer token belongs to on `today` (the registry's day), or why not.

    Unknown, revoked and expired keys are refused. The key's last use is recorded once a
    day: a write only on a key's first use of the day, best effort (never failing a request);
    not at all without `record_use` (a read-only replica: the primary records it).
    """
    found = store.find(conn, token)
    if found is None:
        return Refused("unknown")
    day = today.isoformat()
    if found.expires_on is not None and day > found.expires_on:
        return Refused("expired", found.expires_on)
    if record_use and (found.last_used_on is None or found.last_used_on < day):
        try:
            store.mark_used(conn, found.principal.key_id, day)
        except sqlite3.OperationalError:  # busy: the next use records it
            log.warning("could not record the use of key %s", found.principal.key_id)
    return found.principal


def principal_of(registry: Registry, token: str) -> Principal:
    """The principal of a request's bearer token; Unauthenticated (401) says why there is none.
    A read-only replica records no use (the primary does)."""
    found = verify(
        registry.db.connection(), token, registry.today(), record_use=not registry.db.read_only
    )
    if isinstance(found, Principal):
        return found
    if found.reason == "expired":
        raise Unauthenticated(f"The API token expired: it worked through {found.expires_on}.")
    raise Unauthenticated("The API token is unknown or revoked.")


def authenticate(
    conn: sqlite3.Connection, token: str, today: date, *, record_use: bool = True
) -> Principal | None:
    """The principal a bearer token belongs to, or None: unknown, revoked or expired."""
    result = verify(conn, token, today, record_use=record_use)
    return result if isinstance(result, Principal) else None


def customer_key_ids(conn: sqlite3.Connection, customer_id: str) -> list[str]:
    """The ids of every key ever issued to a customer (revoked and expired included)."""
    return store.customer_key_ids(conn, customer_id)


def erase_customer(tx, customer_id: str) -> list[str]:
    """Delete a customer's keys in the caller's write transaction: they stop working at once
    and their names go with them. Returns the ids deleted. Not audited here: the erasure is."""
    key_ids = store.customer_key_ids(tx.conn, customer_id)
    store.delete_customer_keys(tx, customer_id)
    return key_ids
