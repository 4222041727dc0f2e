"""A customer's personal data across every feature: what is held, and erasure.

Erasure goes through each feature's service, in one write transaction with SQLite's secure
delete on and the WAL truncated after it, so the erased bytes linger neither in free pages
nor in the WAL. What stays, and why, is in the README ("Retention and erasure").
"""

from __future__ import annotations

import secrets
import sqlite3

from .. import clock
from ..audit import service as audit
from ..documents import service as documents
from ..errors import NotFound, ValidationFailed, field_error
from ..events import service as change_feed
from ..incidents import service as incidents
from ..keys import service as keys
from ..objections import service as objections
from ..ratelimits import service as ratelimits
from ..runtime import Registry
from ..webhooks import service as webhooks
from . import store

# What the registry holds of a customer, counted by `holdings` and by an erasure.
HELD = (
    "api_keys",
    "documentation_requests",
    "disclosures",
    "objections",
    "webhooks",
    "changes",
    "incidents",
    "audit_payloads",
)


def _unknown(customer_id: str) -> NotFound:
    return NotFound(f"The registry holds nothing of a customer {customer_id!r}, and erased none.")


def holdings(conn: sqlite3.Connection, customer_id: str) -> dict:
    """How many records of each kind the registry holds of a customer (all 0: none)."""
    return {
        "api_keys": len(keys.customer_key_ids(conn, customer_id)),
        **documents.customer_holdings(conn, customer_id),
        "objections": len(objections.customer_objection_ids(conn, customer_id)),
        "webhooks": len(webhooks.customer_webhook_ids(conn, customer_id)),
        "changes": change_feed.customer_changes(conn, customer_id),
        "incidents": len(incidents.customer_incident_ids(conn, customer_id)),
        "audit_payloads": audit.customer_payloads(conn, customer_id),
    }


def last_erasure(conn: sqlite3.Connection, customer_id: str) -> tuple[str, str] | None:
    """(digest, erased_at) of the newest erasure of this customer id, or None.

    Only salted digests are kept: each is tried with its own salt (erasures are few).
    """
    for digest, salt, erased_at in store.erasures(conn):
        if audit.digest(bytes.fromhex(salt), customer_id) == digest:
            return digest, erased_at
    return None


def check_customer_id(customer_id: str) -> None:
    """422 at /customer_id for an id no customer can have: erasure's pseudonyms (`erased-...`)
    stand for no one, and must not be read or erased as if they were a customer."""
    if customer_id.lower().startswith(keys.RESERVED_PREFIX):
        raise ValidationFailed(
            [
                field_error(
                    "/customer_id",
                    f"Ids starting with {keys.RESERVED_PREFIX!r} are reserved for what an "
                    "erasure leaves in place of a customer; no customer has one.",
                    location="path",
                )
            ]
        )


def describe(conn: sqlite3.Connection, customer_id: str) -> dict:
    """What the registry holds of a customer and when it was last erased; 404 when it holds
    nothing and never erased that id, 422 for a reserved id."""
    check_customer_id(customer_id)
    held = holdings(conn, customer_id)
    erased = last_erasure(conn, customer_id)
    if not any(held.values()) and erased is None:
        raise _unknown(customer_id)
    return {
        "customer_id": customer_id,
        "holds": held,
        "erased_at": erased[1] if erased else None,
    }


def erase(registry: Registry, customer_id: str, actor: dict, check=None) -> dict:
    """Erase a customer's personal data everywhere, in one transaction, audited by digest.

    `check()` runs once the customer is known (the caller's precondition). 404 for an id
    the registry holds nothing of and never erased; an id erased before and holding nothing
    since answers again with nothing erased (`already_erased`), and writes nothing. 422 for
    a reserved id (`erased-...`).
    """
    check_customer_id(customer_id)
    with registry.db.erasing() as tx:
        conn = tx.conn
        held = holdings(conn, customer_id)
        previous = last_erasure(conn, customer_id)
        if not any(held.values()):
            if previous is None:
                raise _unknown(customer_id)
            if check is not None:
                check()
            return {
                "customer_id": customer_id,
                "already_erased": True,
                "erased_at": previous[1],
                "erased": dict.fromkeys((*HELD, "webhook_deliveries", "rate_limits"), 0),
            }
        if check is not None:
            check()
        erased, key_ids = _erase_everywhere(tx, customer_id)
        at = clock.timestamp()
        salt = secrets.token_bytes(16)
        digest = audit.digest(salt, customer_id)
        store.add_erasure(tx, digest, salt.hex(), at)
        audit.append(
            tx, actor, "customer.erase", "customer", None, {"customer": digest, "erased": erased}
        )
    # The request counts live in a file of their own (`-limits`), outside this transaction.
    erased["rate_limits"] = ratelimits.forget(registry, key_ids)
    return {"customer_id": customer_id, "already_erased": False, "erased_at": at, "erased": erased}


def _erase_everywhere(tx, customer_id: str) -> tuple[dict, list[str]]:
    """Each feature erases what it holds of the customer; the audit trail's personal values
    of those objects go with them. The counts, and the ids of the keys erased."""
    conn = tx.conn
    objects = [
        *(("documentation_request", r) for r in documents.customer_request_ids(conn, customer_id)),
    ]
    key_ids = keys.erase_customer(tx, customer_id)
    objects += [("api_key", key_id) for key_id in key_ids]
    erased_documents = documents.erase_customer(tx, customer_id)
    objection_ids = objections.erase_customer(tx, customer_id)
    objects += [("objection", objection_id) for objection_id in objection_ids]
    hooks = webhooks.erase_customer(tx, customer_id)
    objects += [("webhook", webhook_id) for webhook_id in hooks["webhook_ids"]]
    changes = change_feed.erase_customer(tx, customer_id)
    concerned = incidents.erase_customer(tx, customer_id)
    payloads = audit.erase_customer(tx, customer_id, objects)
    erased = {
        "api_keys": len(key_ids),
        **erased_documents,
        "objections": len(objection_ids),
        "webhooks": hooks["webhooks"],
        "webhook_deliveries": hooks["webhook_deliveries"],
        "changes": changes,
        "incidents": concerned,
        "audit_payloads": payloads,
    }
    return erased, key_ids
