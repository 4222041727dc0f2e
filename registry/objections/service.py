"""Customers' objections to what is announced, and their answers.

An objection is to one change: the sub-processor's announcement (`subprocessor.announced`),
open while it is proposed, or the material change pending on it (`pending_change`), open
until the day before that takes effect; when both are open, to the one the customer names
(`change_id`), by default the pending change. A customer objects once per change. Staff
uphold or dismiss an open objection with a response; its customer may withdraw it. Each
answer is audited and told to the objecting customer alone (change `objection.resolved`,
in its feed and webhooks).
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import date, timedelta

from ..audit import service as audit
from ..compliance import engine
from ..customer_projection import projection
from ..errors import Conflict, Forbidden
from ..events import service as change_feed
from ..http import quotas
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from . import store

STATUSES = ("open", "upheld", "dismissed", "withdrawn")
STAFF_ANSWERS = ("upheld", "dismissed")
CUSTOMER_ANSWERS = ("withdrawn",)
MAX_RESPONSE = 2000


def _day_before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def _pending_window(record: dict) -> dict | None:
    """The material change pending on the sub-processor, with its objection deadline."""
    pending = record.get("pending_change")
    if not pending:
        return None
    deadline = pending.get("objection_deadline") or _day_before(pending["effective_on"])
    return {
        "change_id": pending["change_id"],
        "kind": "change",
        "effective_on": pending["effective_on"],
        "objection_deadline": deadline,
    }


def _announcement_window(conn: sqlite3.Connection, record: dict) -> dict | None:
    """The sub-processor's announcement, when customers were told of it as new."""
    if record.get("already_in_use"):
        return None
    announced = change_feed.announcement_of(conn, record["id"])
    if announced is None or not announced.get("material", True):
        return None
    return {
        "change_id": announced["id"],
        "kind": "announcement",
        "effective_on": record["effective_on"],
        "objection_deadline": _day_before(record["effective_on"]),
    }


def windows(conn: sqlite3.Connection, record: dict, today: date) -> tuple[list[dict], dict | None]:
    """(the changes open for objections today, newest first; the latest window, open or not).

    The announcement is open while the sub-processor is proposed; a material change pending
    on it until the day before that change takes effect. Nothing is open once retired.
    """
    status = engine.status_on(record, today)
    announcement = _announcement_window(conn, record)
    pending = _pending_window(record)
    latest = pending or announcement
    if status == "retired":
        return [], latest
    found = []
    if pending is not None and today.isoformat() <= pending["objection_deadline"]:
        found.append(pending)
    if announcement is not None and status == "proposed":
        found.append(announcement)
    return found, latest


def _closed(record: dict, status: str, latest: dict | None) -> str:
    """Why objections are closed, for the 409."""
    if status == "retired":
        return "Objections are closed: the sub-processor is retired."
    if latest is None:
        return (
            "Objections are closed: the sub-processor was recorded as already in use, never "
            "announced as new, and no material change of it is pending."
        )
    until = latest["objection_deadline"]
    if latest["kind"] == "change":
        return (
            f"Objections are closed: the change {latest['change_id']} takes effect on "
            f"{latest['effective_on']} (objections to it were open until {until})."
        )
    return (
        f"Objections are closed: the sub-processor is {status}"
        f" (they were open until {until}) and no material change of it is pending."
    )


def object_to(
    registry: Registry,
    subprocessor_id: str,
    principal,
    body: dict,
    actor: dict,
) -> dict:
    """Record a customer's objection, once per change: to `body["change_id"]` when given,
    else to the newest change open for objections (409 when none is, or not that one, or
    when the customer already holds REGISTRY_QUOTA_OPEN_OBJECTIONS open objections)."""
    today = registry.today()
    with registry.db.write() as tx:
        record = subprocessors.get(tx.conn, subprocessor_id)
        quotas.check_held(
            store.count_open(tx.conn, principal.customer_id),
            registry.settings.quota_open_objections,
            what="open objections",
            setting="QUOTA_OPEN_OBJECTIONS",
            remedy="Withdraw one, or wait for staff to answer them.",
        )
        found, latest = windows(tx.conn, record, today)
        if not found:
            raise Conflict(_closed(record, engine.status_on(record, today), latest))
        target = found[0]
        if body.get("change_id") is not None:
            chosen = [w for w in found if w["change_id"] == body["change_id"]]
            if not chosen:
                open_now = ", ".join(w["change_id"] for w in found)
                raise Conflict(
                    f"The change {body['change_id']} of this sub-processor is not open for "
                    f"objections; open now: {open_now}."
                )
            target = chosen[0]
        objection = store.add(
            tx,
            subprocessor_id,
            target["change_id"],
            principal.customer_id,
            principal.key_id,
            body.get("reason"),
        )
        audit.append(tx, actor, "objection.create", "objection", objection["id"], objection)
        _tell_staff(tx, record, objection)
    return objection


def _tell_staff(tx, record: dict, objection: dict) -> None:
    """The change `objection.created`, for staff alone (their feed and staff webhooks); it
    names the customer, so it is that customer's to erase with the rest of its data."""
    public = subprocessors.version_of(record)
    change_feed.record(
        tx,
        "objection.created",
        public,
        {
            "subprocessor": public,
            "effective_on": record["effective_on"],
            "objection": {k: v for k, v in objection.items() if k not in ("seq", "key_id")},
        },
        material=True,
        customer_id=objection["customer_id"],
    )


def get(
    conn: sqlite3.Connection, subprocessor_id: str, objection_id: str, customer_id: str | None
) -> dict:
    """One objection to the sub-processor; for a customer only its own (else 404)."""
    subprocessors.get(conn, subprocessor_id)
    return store.get(conn, objection_id, subprocessor_id=subprocessor_id, customer_id=customer_id)


def for_subprocessor(
    conn: sqlite3.Connection, subprocessor_id: str, customer_id: str | None = None
) -> list[dict]:
    """Objections to a sub-processor; only `customer_id`'s when given."""
    return store.for_subprocessor(conn, subprocessor_id, customer_id)


def upheld_for(
    conn: sqlite3.Connection, subprocessor_id: str, customer_id: str | None = None
) -> list[dict]:
    """The upheld objections to a sub-processor (only `customer_id`'s when given), oldest
    first: `{id, customer_id, change_id, resolved_at}` each, for its representation."""
    return [
        {key: row[key] for key in ("id", "customer_id", "change_id", "resolved_at")}
        for row in store.upheld(conn, subprocessor_id, customer_id)
    ]


def represent(objection: dict, *, staff: bool) -> dict:
    """What the API shows: everything but the objecting key; who answered, to staff only."""
    shown = {k: v for k, v in objection.items() if k not in ("seq", "key_id", "resolved_by")}
    if staff:
        shown["resolved_by"] = objection["resolved_by"]
    return shown


def shown_to(objection: dict, customer_id: str | None) -> dict:
    """An objection as its reader sees it: the customer projection's shape for a customer,
    everything but the objecting key for staff."""
    if customer_id is not None:
        return projection.objection(objection)
    return represent(objection, staff=True)


def listing(registry: Registry, subprocessor_id: str, customer_id: str | None) -> dict:
    """The objections to a sub-processor (a customer's own, for a customer), with the changes
    open for objections today, newest first, and the last day to object to the first."""
    conn = registry.db.connection()
    with registry.db.snapshot():
        record = subprocessors.get(conn, subprocessor_id)
        found, latest = windows(conn, record, registry.today())
        items = for_subprocessor(conn, subprocessor_id, customer_id)
    return {
        "objection_deadline": (found[0] if found else latest or {}).get("objection_deadline"),
        "open_changes": found,
        "upheld": any(item["status"] == "upheld" for item in items),
        "items": [shown_to(item, customer_id) for item in items],
    }


def etag_data(objection: dict) -> dict:
    """What an objection's ETag covers: the same for staff and its customer."""
    return {"id": objection["id"], "status": objection["status"]}


def resolve(
    registry: Registry,
    subprocessor_id: str,
    objection_id: str,
    principal,
    answer: dict,
    check_version,
    actor: dict,
) -> dict:
    """Answer an open objection (staff: upheld or dismissed) or withdraw it (its customer).

    404 for a customer's objection to another customer, 403 for an answer the caller may not
    give, 412 (`check_version`) when stale, 409 unless the objection is open.
    """
    staff = principal.role != "customer"
    status, response = answer["status"], answer.get("response")
    with registry.db.write() as tx:
        record = subprocessors.get(tx.conn, subprocessor_id)
        objection = store.get(
            tx.conn,
            objection_id,
            subprocessor_id=subprocessor_id,
            customer_id=None if staff else principal.customer_id,
        )
        if status not in (STAFF_ANSWERS if staff else CUSTOMER_ANSWERS):
            raise Forbidden(
                "Staff (admin, procurement) uphold or dismiss an objection; only the customer "
                "that made it withdraws it."
            )
        check_version(objection)
        if objection["status"] != "open":
            raise Conflict(
                f"This objection is already {objection['status']} (since "
                f"{objection['resolved_at']}); only an open objection can be answered."
            )
        resolved = store.resolve(tx, objection_id, status, response, principal.key_id)
        action = "objection.withdraw" if status == "withdrawn" else "objection.resolve"
        audit.append(
            tx,
            actor,
            action,
            "objection",
            objection_id,
            {"status": {"from": "open", "to": status}, "response": response},
        )
        _tell_the_customer(tx, record, resolved)
    return resolved


def _tell_the_customer(tx, record: dict, objection: dict) -> None:
    """The change `objection.resolved`, the objecting customer's alone (feed and webhooks)."""
    pending = record.get("pending_change") or {}
    if objection["change_id"] and pending.get("change_id") == objection["change_id"]:
        effective_on = pending["effective_on"]
    else:
        # The announcement: the sub-processor's own date (a PATCH may have moved it); a
        # change no longer pending: the date it was announced with.
        objected = change_feed.by_id(tx.conn, objection["change_id"] or "")
        effective_on = record["effective_on"]
        if objected is not None and objected["type"] != "subprocessor.announced":
            effective_on = objected["data"].get("effective_on") or effective_on
    public = subprocessors.version_of(record)
    change_feed.record(
        tx,
        "objection.resolved",
        public,
        {
            "subprocessor": public,
            "effective_on": effective_on,
            "objection": {
                key: objection[key]
                for key in (
                    "id",
                    "subprocessor_id",
                    "change_id",
                    "status",
                    "response",
                    "resolved_at",
                )
            },
        },
        material=True,
        customer_id=objection["customer_id"],
    )


ERASED_PREFIX = "erased-"


def erase_customer(tx, customer_id: str) -> list[str]:
    """Remove a customer from its objections, in the caller's write transaction.

    That an objection was made to a change stays, with its status and dates (an objection
    upheld shaped the register): each gets a random pseudonym of its own in place of the
    customer id and key, so two are not even linkable to each other; its reason and the
    answer to it are removed. Returns the objection ids.
    """
    objection_ids = store.customer_objection_ids(tx.conn, customer_id)
    for objection_id in objection_ids:
        store.pseudonymise(tx, objection_id, ERASED_PREFIX + secrets.token_hex(8))
    return objection_ids


def customer_objection_ids(conn: sqlite3.Connection, customer_id: str) -> list[str]:
    return store.customer_objection_ids(conn, customer_id)
