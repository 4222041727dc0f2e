"""Customers' objections to new sub-processors: open until the day before one takes effect."""

from __future__ import annotations

import sqlite3

from ..audit import service as audit
from ..compliance import engine
from ..http.problems import Conflict
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from . import store


def object_to(registry: Registry, subprocessor_id: str, principal, reason, actor: dict) -> dict:
    """Record a customer's objection, once, while the sub-processor is still proposed."""
    today = registry.today()
    with registry.db.write() as tx:
        record = subprocessors.get(tx.conn, subprocessor_id)
        status = engine.status_on(record, today)
        if status != "proposed":
            deadline = subprocessors.objection_deadline(record["effective_on"])
            raise Conflict(
                f"Objections are closed: the sub-processor is {status}"
                f" (they were open until {deadline})."
            )
        objection = store.add(tx, subprocessor_id, principal.customer_id, principal.key_id, reason)
        audit.append(tx, actor, "objection.create", "objection", objection["id"], objection)
    return objection


def for_subprocessor(
    conn: sqlite3.Connection, subprocessor_id: str, customer_id: str | None = None
) -> list[dict]:
    """Objections to a sub-processor; only `customer_id`'s when given."""
    return store.for_subprocessor(conn, subprocessor_id, customer_id)
