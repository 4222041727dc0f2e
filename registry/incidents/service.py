"""Personal-data breaches at sub-processors: recorded, versioned, audited, told to customers.

An incident is `open` until staff communicate it; from then on every version of it reaches
each customer it concerns, in the customer's change feed and on its webhooks
(`incident.reported` the first time a customer is told, `incident.updated` after), and
customers read it through the API. An incident still open REGISTRY_INCIDENT_NOTICE_HOURS
after its detection is flagged INCIDENT_NOTICE_OVERDUE.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from .. import clock
from ..audit import service as audit
from ..compliance.flags import INCIDENT_NOTICE_OVERDUE, SEVERITY
from ..customer_projection import projection
from ..errors import Conflict, Invalid, NotFound, ValidationFailed, field_error
from ..events import service as change_feed
from ..keys import service as keys
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from . import store

# The facts of GDPR Art. 33(3), as a version of an incident holds them.
FACTS = (
    "nature",
    "data_categories",
    "data_subject_categories",
    "approx_data_subjects",
    "approx_records",
    "likely_consequences",
    "measures_taken",
    "contact",
)
OVERDUE = INCIDENT_NOTICE_OVERDUE
REPORTED = "incident.reported"
UPDATED = "incident.updated"


def not_found(incident_id: str) -> NotFound:
    return NotFound(f"No incident has the id {incident_id!r}.")


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def notice_due_at(incident: dict, hours: int) -> str:
    """When customers must have been told at the latest: detection plus the notice hours."""
    return clock.timestamp(_parse(incident["detected_on"]) + timedelta(hours=hours))


def is_overdue(incident: dict, hours: int, now: datetime | None = None) -> bool:
    now = clock.now() if now is None else now
    return incident["status"] == "open" and clock.timestamp(now) >= notice_due_at(incident, hours)


def _names(conn: sqlite3.Connection, incidents: list[dict]) -> dict[str, str]:
    ids = {incident["subprocessor_id"] for incident in incidents}
    return {record["id"]: record["name"] for record in subprocessors.by_ids(conn, ids)}


def _version(incident: dict) -> dict:
    """What a version of an incident holds: its facts, status and audience."""
    return {
        "id": incident["id"],
        "subprocessor_id": incident["subprocessor_id"],
        "status": incident["status"],
        "detected_on": incident["detected_on"],
        **{fact: incident[fact] for fact in FACTS},
        "customer_ids": None
        if incident["all_customers"]
        else [c["customer_id"] for c in incident["customers"]],
    }


def represent(conn: sqlite3.Connection, incidents: list[dict], hours: int) -> list[dict]:
    """Staff's view: every fact, who it concerns and who was told when, and the deadline."""
    names = _names(conn, incidents)
    now = clock.now()
    return [
        {
            **_version(incident),
            "subprocessor_name": names.get(incident["subprocessor_id"]),
            "version": incident["version"],
            "notified": [
                {"customer_id": c["customer_id"], "at": c["told_at"]}
                for c in incident["customers"]
                if c["told_at"] is not None
            ],
            "notice_due_at": notice_due_at(incident, hours),
            "overdue": is_overdue(incident, hours, now),
            **{
                k: incident[k] for k in ("created_at", "updated_at", "communicated_at", "closed_at")
            },
        }
        for incident in incidents
    ]


def customer_view(incident: dict, subprocessor_name: str | None) -> dict:
    """What a customer is told: the customer projection of the incident (the facts, never
    the other customers concerned, nor who at the registry wrote it, nor internal deadlines)."""
    return projection.incident(incident, subprocessor_name)


def customer_views(conn: sqlite3.Connection, incidents: list[dict]) -> list[dict]:
    names = _names(conn, incidents)
    return [customer_view(i, names.get(i["subprocessor_id"])) for i in incidents]


# --- who is concerned ---------------------------------------------------------------------------


def known_customers(conn: sqlite3.Connection) -> set[str]:
    """Every customer id an API key was ever issued to: the registry's customers."""
    return {
        key["customer_id"]
        for key in keys.list_all(conn)
        if key["role"] == "customer" and key["customer_id"]
    }


def _checked_customers(conn: sqlite3.Connection, customer_ids: list[str] | None) -> list | None:
    """The customer ids as stored (slugs, lower case); 422 for one that is not a slug or
    that no key was ever issued to (a notice to it could never be read)."""
    if customer_ids is None:
        return None
    known = known_customers(conn)
    checked, errors = [], []
    for index, value in enumerate(customer_ids):
        pointer = f"/customer_ids/{index}"
        if value in known:  # as written, keys made before customer ids were slugs included
            checked.append(value)
            continue
        try:
            slug = keys.customer_slug(value)
        except Invalid as exc:
            errors.append(field_error(pointer, exc.message))
            continue
        if slug not in known:
            errors.append(
                field_error(
                    pointer,
                    f"No API key was ever issued to the customer {slug!r}: it could not read "
                    "the notice. Check the id, or create the customer's key first.",
                )
            )
        elif slug in checked:
            errors.append(field_error(pointer, "Each customer may be listed once."))
        else:
            checked.append(slug)
    if errors:
        raise ValidationFailed(errors)
    return checked


def _concerned(conn: sqlite3.Connection, incident: dict) -> list[str]:
    """The customers to tell now: those named, or every customer (and any told before)."""
    named = {c["customer_id"] for c in incident["customers"]}
    if incident["all_customers"]:
        named |= known_customers(conn)
    return sorted(named)


def _tell(tx, incident: dict) -> None:
    """Communicate the incident's current version to each customer it concerns: one change
    in the feed for each, that customer's alone, with its webhooks."""
    record = subprocessors.get(tx.conn, incident["subprocessor_id"])
    public = subprocessors.version_of(record)
    view = customer_view(incident, record["name"])
    told = {c["customer_id"] for c in incident["customers"] if c["told_at"] is not None}
    at = clock.timestamp()
    for customer_id in _concerned(tx.conn, incident):
        change_feed.record(
            tx,
            UPDATED if customer_id in told else REPORTED,
            public,
            {"subprocessor": public, "effective_on": record["effective_on"], "incident": view},
            material=True,
            customer_id=customer_id,
        )
        store.mark_told(tx, incident["id"], customer_id, at)


# --- writes -------------------------------------------------------------------------------------


def _audited(incident: dict) -> dict:
    return _version(incident)


def create(registry: Registry, data: dict, actor: dict) -> dict:
    """Record an open incident (schema-loaded `data`); 404 for an unknown sub-processor."""
    facts = {fact: data.get(fact) for fact in FACTS}
    facts["data_subject_categories"] = data.get("data_subject_categories") or []
    with registry.db.write() as tx:
        subprocessors.get(tx.conn, data["subprocessor_id"])  # 404 when there is none
        customer_ids = _checked_customers(tx.conn, data.get("customer_ids"))
        at = clock.timestamp()
        incident = store.create(
            tx,
            subprocessor_id=data["subprocessor_id"],
            detected_on=data["detected_on"],
            facts=facts,
            customer_ids=customer_ids,
            at=at,
        )
        store.save_version(tx, incident["id"], incident["version"], at, _version(incident))
        audit.append(tx, actor, "incident.create", "incident", incident["id"], _audited(incident))
    return incident


def update(registry: Registry, incident_id: str, changes: dict, check_version, actor: dict) -> dict:
    """New facts, a new audience or the next status, after `check_version(incident)`
    accepted the caller's precondition: a new version, told to the customers concerned
    once the incident is communicated."""
    with registry.db.write() as tx:
        current = store.get(tx.conn, incident_id)
        if current is None:
            raise not_found(incident_id)
        check_version(current)
        status = changes.get("status", current["status"])
        if current["status"] == "closed":
            raise Conflict("The incident is closed; record a new incident for what followed.")
        if current["status"] == "open" and status == "closed":
            raise Conflict(
                "An incident is communicated to the customers concerned before it is closed: "
                'PATCH {"status": "communicated"} first.'
            )
        values: dict = {}
        facts = {fact: current[fact] for fact in FACTS}
        facts.update({fact: changes[fact] for fact in FACTS if fact in changes})
        if facts != {fact: current[fact] for fact in FACTS}:
            values["facts"] = facts
        if "detected_on" in changes and changes["detected_on"] != current["detected_on"]:
            values["detected_on"] = changes["detected_on"]
        audience = None
        if "customer_ids" in changes:
            audience = _new_audience(tx.conn, current, changes["customer_ids"])
            if audience is not None:
                values["all_customers"] = audience == "all"
        if status != current["status"]:
            values["status"] = status
            values[f"{status}_at"] = clock.timestamp()
        if not values and audience is None:
            return current  # nothing changes: no new version
        at = clock.timestamp()
        store.update(tx, incident_id, values, at=at)
        if audience is not None and audience != "all":
            store.set_customers(tx, incident_id, audience)
        incident = store.get(tx.conn, incident_id)
        store.save_version(tx, incident_id, incident["version"], at, _version(incident))
        action = {"communicated": "incident.communicate", "closed": "incident.close"}.get(
            values.get("status", ""), "incident.update"
        )
        diff = audit.changed_fields(_audited(current), _audited(incident))
        audit.append(tx, actor, action, "incident", incident_id, diff)
        if incident["status"] != "open":
            _tell(tx, incident)
            incident = store.get(tx.conn, incident_id)
    return incident


def _new_audience(conn, current: dict, customer_ids: list[str] | None):
    """The customers now concerned: "all", their ids, or None when unchanged. Once told, a
    customer stays concerned: what it was told cannot be taken back (409)."""
    wanted = _checked_customers(conn, customer_ids)
    named = [c["customer_id"] for c in current["customers"]]
    if wanted is None:
        return None if current["all_customers"] else "all"
    if not current["all_customers"] and sorted(wanted) == sorted(named):
        return None
    told = {c["customer_id"] for c in current["customers"] if c["told_at"] is not None}
    dropped = sorted(told - set(wanted))
    if dropped:
        raise Conflict(
            f"The incident was communicated to {', '.join(dropped)}; a customer told stays "
            "concerned. List them too."
        )
    return wanted


# --- reads --------------------------------------------------------------------------------------


def get(conn: sqlite3.Connection, incident_id: str, customer_id: str | None = None) -> dict:
    """One incident (404 when none); with `customer_id`, only one communicated to it: any
    other is 404 too, as if it did not exist."""
    incident = store.get(conn, incident_id, customer_id)
    if incident is None:
        raise not_found(incident_id)
    return incident


def versions(conn: sqlite3.Connection, incident_id: str, *, after_version: int, limit: int):
    get(conn, incident_id)
    return store.versions(conn, incident_id, after_version=after_version, limit=limit)


def announce_overdue(registry: Registry) -> list[str]:
    """Tell staff (`incident.overdue`, their feed and staff webhooks) of each incident whose
    notice to customers became overdue: once per incident, never again, whatever follows.
    Safe to run at any time and from several processes; the ids announced."""
    hours = registry.settings.incident_notice_hours
    now = clock.now()
    cutoff = clock.timestamp(now - timedelta(hours=hours))
    if not store.overdue_unannounced(registry.db.connection(), cutoff):
        return []  # the usual answer, without taking the write lock
    announced = []
    with registry.db.write() as tx:
        for incident in store.overdue_unannounced(tx.conn, cutoff):
            record = subprocessors.get(tx.conn, incident["subprocessor_id"])
            public = subprocessors.version_of(record)
            # Staff's view of the incident, as GET /v1/incidents/{id} shows it.
            [staff_view] = represent(tx.conn, [incident], hours)
            change_feed.record(
                tx,
                "incident.overdue",
                public,
                {
                    "subprocessor": public,
                    "effective_on": record["effective_on"],
                    "incident": staff_view,
                    "code": OVERDUE,
                    "notice_hours": hours,
                },
            )
            store.mark_overdue_announced(tx, incident["id"], clock.timestamp(now))
            announced.append(incident["id"])
    return announced


def notice_report(conn: sqlite3.Connection, hours: int) -> dict:
    """The incidents not communicated yet, and those past the notice deadline now, each
    with its INCIDENT_NOTICE_OVERDUE flag (an error)."""
    now = clock.now()
    overdue = store.open_detected_before(conn, clock.timestamp(now - timedelta(hours=hours)))
    names = _names(conn, overdue)
    flags = []
    for incident in overdue:
        due = notice_due_at(incident, hours)
        flags.append(
            {
                "code": OVERDUE,
                "severity": SEVERITY[OVERDUE],
                "incident_id": incident["id"],
                "subprocessor_id": incident["subprocessor_id"],
                "subprocessor_name": names.get(incident["subprocessor_id"]),
                "detected_on": incident["detected_on"],
                "notice_due_at": due,
                "message": (
                    f"Detected {incident['detected_on']}, not communicated to the customers "
                    f"concerned within {hours} h (due {due})."
                ),
            }
        )
    return {
        "notice_hours": hours,
        "open": store.count_open(conn),
        "overdue": len(flags),
        "flags": flags,
    }


# Erasure and retention


def customer_incident_ids(conn: sqlite3.Connection, customer_id: str) -> list[str]:
    """The incidents whose list of customers concerned (or told) names this customer."""
    return store.customer_incident_ids(conn, customer_id)


def erase_customer(tx, customer_id: str) -> int:
    """Take a customer off every incident's list and versions, in the caller's write
    transaction; the incidents. The incidents stay: the breach, its facts and its dates are
    the registry's record (Art. 33(5)); the notices told to that customer are its changes."""
    incident_ids = store.customer_incident_ids(tx.conn, customer_id)
    for incident_id in incident_ids:
        store.remove_customers(tx, incident_id, [customer_id])
    return len(incident_ids)


def purge_closed_before(tx, before: str, *, dry_run: bool = False) -> dict:
    """Retention: empty the customer lists of incidents closed before `before` (a UTC
    timestamp), in their versions and in the audit trail's payloads too; the counts. The
    incidents themselves and their facts stay."""
    incident_ids = store.closed_before(tx.conn, before)
    listed = 0
    for incident_id in incident_ids:
        customer_ids = store.incident_customer_ids(tx.conn, incident_id)
        listed += len(customer_ids)
        if dry_run:
            continue
        for customer_id in customer_ids:
            audit.erase_object_payloads(tx, "incident", incident_id, customer_id)
        store.remove_customers(tx, incident_id)
    return {"incident_customer_lists": len(incident_ids), "incident_customers": listed}
