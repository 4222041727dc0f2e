"""The customer projection: every byte a customer key or a customer's webhook receives.

Each door a customer reaches (the sub-processor list, an item, `?at=`, history, the change
feed in JSON and Atom, webhook payloads, document metadata, disclosures, objections,
incidents, the public page and feed) hands what it is about to send to a function here and
sends what comes back. Every shape is an allow-list: the fields a customer may see are named,
so a field staff add later stays hidden until it is named here. Never in them: verdicts and
flags, the inputs they are computed from (certification, scope attestations, transfer impact
assessments, an importer's own GDPR status), why a notice was shortened, whether a vendor was
already in use, waivers, and any key id.

Pure functions (no Flask, no SQL): the doors read, this module shapes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from ..compliance import engine
from ..law.model import Law
from . import view as customer_view

# Field names that never reach a customer, at any depth (the contract's list; the tests
# search every customer answer for them). The shapes below are allow-lists: this set
# documents, it does not filter.
STAFF_ONLY_FIELDS = frozenset(
    {
        "flags",
        "compliance",
        "certified",
        "certification_checked_on",
        "scope_attestations",
        "importer_subject_to_gdpr",
        "tia_completed_on",
        "tia",
        "exporter_role",
        "exporter",
        "urgent_reason",
        "already_in_use",
        "waivers",
        "waiver",
        "waived",
        "uploaded_by",
        "withdrawn_by",
        "resolved_by",
        "created_by",
        "key_id",
    }
)
# Every key id starts so (keys.store); none is ever shown to a customer, its own included.
KEY_ID_PREFIX = "key_"


def subprocessor(
    record: dict,
    law: Law,
    on: date,
    copies: Collection[tuple] = (),
    *,
    verdict: dict | None = None,
    upheld_objections: list[dict] | None = None,
) -> dict:
    """A sub-processor as a customer reads it today (or as it stood on `on`): identity,
    purpose, status and the facts of each transfer (see view.py)."""
    view = customer_view.project(record, law, on, copies, verdict=verdict)
    if upheld_objections is not None:
        view["upheld_objections"] = [objection(o) for o in upheld_objections]
    return view


# What a stored version of a sub-processor shows, besides its transfers.
_VERSION_FIELDS = (
    "id",
    "name",
    "legal_entity",
    "service",
    "purpose",
    "data_categories",
    "effective_on",
    "announced_on",
    "retired_on",
    "retired_reason",
    "version",
    "created_at",
)


def version(record: dict, law: Law, on: date) -> dict:
    """A stored version of a sub-processor (history, the change feed, webhooks): who, what,
    where, and under which mechanism and act each transfer runs, judged on `on`."""
    verdict = engine.evaluate(record, law, on)
    shown = {field: record[field] for field in _VERSION_FIELDS if field in record}
    shown["locations"] = [
        _fact(transfer) for transfer in customer_view.transfers(record, verdict, law)
    ]
    shown["onward_transfers"] = [
        _fact(transfer) for transfer in customer_view.onward_transfers(record, verdict, law)
    ]
    return shown


def _fact(transfer: dict) -> dict:
    # Whether a copy is on file is today's answer, not the version's: the item tells it.
    return {k: v for k, v in transfer.items() if k != "copy_available"}


def history(
    subprocessor_id: str,
    versions: list[dict],
    current: dict,
    objections: list[dict],
    law: Law,
    on: date,
    copies: Collection[tuple] = (),
) -> dict:
    """Every version of a sub-processor as a customer reads it, the change announced and not
    yet in force (as in the item), and the customer's own objections."""
    return {
        "subprocessor_id": subprocessor_id,
        "versions": [
            {
                "version": entry["version"],
                "recorded_at": entry["recorded_at"],
                "record": version(entry["record"], law, on),
            }
            for entry in versions
        ],
        "pending_change": customer_view.pending_change(current, law, copies),
        "objections": [objection(o) for o in objections],
    }


# A change event's own fields, and those of its data, that a customer reads.
_CHANGE_FIELDS = ("id", "cursor", "type", "at", "subprocessor_id", "version", "material")
_CHANGE_DATA_FIELDS = (
    "effective_on",
    "objection_deadline",
    "pending",
    "reasons",
    "replaces",
    "applies",
    "discarded_change",
    "retired_on",
    "retired_reason",
)
# Record fields whose change a customer reads (the transfers as facts).
_CHANGED_FIELDS = (
    "name",
    "legal_entity",
    "service",
    "purpose",
    "data_categories",
    "effective_on",
    "retired_on",
    "retired_reason",
    "locations",
    "onward_transfers",
)
# Change types customers never read: verdicts and what asks staff to act
# (events.service.STAFF_ONLY_TYPES).
_STAFF_ONLY_TYPES = (
    "subprocessor.verdict_changed",
    "documentation_request.created",
    "objection.created",
    "evidence.due",
    "incident.overdue",
)


def change(event: dict, law: Law, on: date) -> dict | None:
    """A change event as the customer feed (JSON and Atom) shows it; None for an event no
    customer reads. `event` is the feed's item: its own fields and its data, flattened."""
    if event["type"] in _STAFF_ONLY_TYPES:
        return None
    shown = {field: event[field] for field in _CHANGE_FIELDS if field in event}
    return {**shown, **change_data(event["type"], event, law, on)}


def change_data(change_type: str, data: dict, law: Law, on: date) -> dict:
    """What a change event's data shows a customer (the feed's items, webhook payloads)."""
    if change_type in _STAFF_ONLY_TYPES:
        return {}
    shown = {field: data[field] for field in _CHANGE_DATA_FIELDS if field in data}
    record = data.get("subprocessor")
    if record is not None:
        shown["subprocessor"] = version(record, law, on)
    if "changes" in data:
        shown["changes"] = _changes(record or {}, data["changes"] or {}, law, on)
    if data.get("objection") is not None:
        shown["objection"] = objection_answer(data["objection"])
    if data.get("incident") is not None:
        shown["incident"] = incident(data["incident"])
    if data.get("documentation_request") is not None:
        shown["documentation_request"] = documentation_ready(data["documentation_request"])
    return shown


_READY_FIELDS = ("id", "document_id", "subprocessor_id", "country", "kind", "fulfilled_at")


def documentation_ready(ready: dict) -> dict:
    """A copy a customer asked for is ready (documentation_request.fulfilled): which request,
    which copy; never who uploaded it."""
    return {field: ready[field] for field in _READY_FIELDS if field in ready}


def _changes(record: dict, changes: dict, law: Law, on: date) -> dict:
    """Each changed field a customer reads, from and to; the transfers as facts. A change
    only to what customers never read (a TIA's date, say) leaves nothing here."""
    shown = {}
    for field in _CHANGED_FIELDS:
        if field not in changes:
            continue
        before, after = changes[field].get("from"), changes[field].get("to")
        if field in ("locations", "onward_transfers"):
            before = version({**record, field: before or []}, law, on)[field]
            after = version({**record, field: after or []}, law, on)[field]
        if before != after:
            shown[field] = {"from": before, "to": after}
    return shown


_OBJECTION_FIELDS = (
    "id",
    "subprocessor_id",
    "change_id",
    "customer_id",
    "reason",
    "created_at",
    "status",
    "response",
    "resolved_at",
)


def objection(record: dict) -> dict:
    """A customer's own objection: what it said and the answer, never who answered nor the
    key that objected."""
    return {field: record[field] for field in _OBJECTION_FIELDS if field in record}


_ANSWER_FIELDS = ("id", "subprocessor_id", "change_id", "status", "response", "resolved_at")


def objection_answer(answer: dict) -> dict:
    """The answer to an objection, as the objection.resolved event tells it."""
    return {field: answer[field] for field in _ANSWER_FIELDS if field in answer}


_INCIDENT_FIELDS = (
    "id",
    "subprocessor_id",
    "subprocessor_name",
    "status",
    "version",
    "detected_on",
    "nature",
    "data_categories",
    "data_subject_categories",
    "approx_data_subjects",
    "approx_records",
    "likely_consequences",
    "measures_taken",
    "contact",
    "communicated_at",
    "updated_at",
    "closed_at",
)


def incident(record: dict, subprocessor_name: str | None = None) -> dict:
    """A personal-data breach as a customer concerned is told it: the facts, never the other
    customers concerned, who at the registry wrote it, nor internal deadlines."""
    shown = {field: record[field] for field in _INCIDENT_FIELDS if field in record}
    if subprocessor_name is not None or "subprocessor_name" not in shown:
        shown["subprocessor_name"] = subprocessor_name
    return shown


_DOCUMENT_FIELDS = (
    "id",
    "kind",
    "title",
    "subprocessor_id",
    "country",
    "audience",
    "summary",
    "filename",
    "media_type",
    "size",
    "sha256",
    "uploaded_at",
    "withdrawn_at",
    "supersedes",
    "superseded_by",
    "content_url",
)


def document(record: dict) -> dict:
    """A copy's metadata as a customer its request delivered reads it: what it is, never
    who uploaded or withdrew it."""
    return {field: record[field] for field in _DOCUMENT_FIELDS if field in record}


_DISCLOSURE_FIELDS = (
    "id",
    "customer_id",
    "document_id",
    "request_id",
    "disclosed_at",
    "range",
    "downloads",
    "last_downloaded_at",
)


def disclosure(record: dict) -> dict:
    """A copy disclosed to the customer: which, when and how often, never the key used."""
    return {field: record[field] for field in _DISCLOSURE_FIELDS if field in record}
