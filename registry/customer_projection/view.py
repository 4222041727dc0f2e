"""What customers see of a sub-processor: the facts of each transfer, never a verdict.

Pure functions (no Flask, no SQL): a record in, the customer-facing dict out. Flags,
warnings, the compliance status, staff keys and internal notes never reach the result; the
verdict is read only for the facts it resolves (the act relied on as in force on the date,
adequacy that applies by law where no safeguard is recorded).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from ..changecontrol import judgement, names
from ..changecontrol.judgement import objection_deadline
from ..compliance import engine
from ..law import countries
from ..law.destinations import destination, destination_name
from ..law.model import Law

# The customer's words for a sub-processor's status; "proposed" reads as "upcoming", and a
# retirement scheduled for a later day as "retiring".
CUSTOMER_STATUSES = ("active", "upcoming", "retiring", "retired")
# What a transfer may rely on; null inside the EEA (no transfer) and where none is recorded.
# The rest of Art. 46 GDPR, with what each is, for a customer.
ART46_INSTRUMENTS = {
    "public_authority_instrument": "A legally binding and enforceable instrument between "
    "public authorities or bodies (Art. 46(2)(a) GDPR)",
    "code_of_conduct": "An approved code of conduct, with the importer's binding and "
    "enforceable commitments (Art. 46(2)(e) GDPR)",
    "certification": "An approved certification mechanism, with the importer's binding and "
    "enforceable commitments (Art. 46(2)(f) GDPR)",
    "ad_hoc_clauses": "Contractual clauses authorised by a supervisory authority "
    "(Art. 46(3)(a) GDPR)",
    "administrative_arrangement": "An administrative arrangement between public authorities or "
    "bodies, authorised by a supervisory authority (Art. 46(3)(b) GDPR)",
}
CUSTOMER_MECHANISMS = (
    "adequacy",
    "scc",
    "bcr",
    "derogation",
    *ART46_INSTRUMENTS,
    engine.BRIDGE_MECHANISM,
)
RELIANCE_KINDS = (
    "adequacy_decision",
    "arrangement",
    "scc",
    "bcr",
    "derogation",
    *ART46_INSTRUMENTS,
)
# Record fields a pending change may set that customers see, besides the transfers.
_VISIBLE_CHANGES = ("name", "legal_entity", "service", "purpose", "data_categories")
_BCR_INSTRUMENT = "Binding corporate rules approved under Art. 47 GDPR"


def country_name(code: str) -> str:
    try:
        return countries.country_name(code)
    except KeyError:
        return code


def customer_status(record: dict, on: date) -> str:
    """active, upcoming (before effective_on), retiring (a retirement scheduled) or retired."""
    status = record.get("status") or engine.status_on(record, on)
    if status == "proposed":
        return "upcoming"
    if status == "active" and record.get("retired_on"):
        return "retiring"
    return status


def project(
    record: dict,
    law: Law,
    on: date,
    copies: Collection[tuple] = (),
    *,
    verdict: dict | None = None,
) -> dict:
    """The customer-facing view of `record` on `on`.

    `record` is a sub-processor as the service layer returns it, with or without the API's
    `status` and `compliance`; `verdict` (default: its `compliance`, else evaluated here) is
    read only for the act each transfer relies on. `copies` holds the disclosable copies on
    file as documents.service.disclosable_copies returns them.
    """
    record = engine.in_force(record, on)
    if verdict is None:
        verdict = record.get("compliance") or engine.evaluate(record, law, on)
    status = customer_status(record, on)
    view = {
        "id": record["id"],
        "name": record["name"],
        "legal_entity": record.get("legal_entity"),
        "service": record["service"],
        "purpose": record.get("purpose"),
        "data_categories": list(record["data_categories"]),
        "status": status,
        "effective_on": record["effective_on"],
        "objection_deadline": (
            objection_deadline(record["effective_on"]) if status == "upcoming" else None
        ),
        "retired_on": record.get("retired_on"),
        "retired_reason": record.get("retired_reason") if record.get("retired_on") else None,
        "locations": transfers(record, verdict, law, copies),
        "onward_transfers": onward_transfers(record, verdict, law),
        "pending_change": pending_change(record, law, copies),
    }
    return view


def transfers(record: dict, verdict: dict, law: Law, copies: Collection[tuple] = ()) -> list[dict]:
    """Each location as a fact: where, what, under which mechanism and act, copy or not."""
    resolved = verdict.get("locations") or []
    found = []
    for index, location in enumerate(record.get("locations") or ()):
        evaluated = _matching(resolved, index, location)
        fact = _transfer(location, evaluated, law)
        fact["copy_available"] = _copy_available(record["id"], fact, copies)
        found.append(fact)
    return found


def onward_transfers(record: dict, verdict: dict, law: Law) -> list[dict]:
    """The sub-processor's own sub-processors, in the same fact form. A documentation
    request covers the sub-processor's own transfers only, so no copy is available here."""
    resolved = verdict.get("onward_transfers") or []
    found = []
    for index, transfer in enumerate(record.get("onward_transfers") or ()):
        evaluated = _matching(resolved, index, transfer)
        found.append(
            {
                "name": transfer["name"],
                "legal_entity": transfer.get("legal_entity"),
                **_transfer(transfer, evaluated, law),
                "copy_available": False,
            }
        )
    return found


def pending_change(record: dict, law: Law, copies: Collection[tuple] = ()) -> dict | None:
    """A material change announced and not yet in force: when, what it changes, and the
    sub-processor's transfers and categories as they will be from that day."""
    pending = record.get("pending_change")
    if not pending:
        return None
    effective = date.fromisoformat(pending["effective_on"])
    changes = pending.get("changes") or {}
    reasons = judgement.describe(record, {**record, **changes}, name_key=names.name_key) or [
        f"changes the {field.replace('_', ' ')}" for field in changes if field in _VISIBLE_CHANGES
    ]
    view = {
        "effective_on": pending["effective_on"],
        "objection_deadline": pending.get("objection_deadline")
        or objection_deadline(pending["effective_on"]),
        "changes": reasons,
    }
    future = engine.in_force(record, effective)
    for field in _VISIBLE_CHANGES:
        if field in changes:
            view[field] = future[field]
    if "locations" in changes or "onward_transfers" in changes:
        then = engine.evaluate(future, law, effective)
        if "locations" in changes:
            view["locations"] = transfers(future, then, law, copies)
        if "onward_transfers" in changes:
            view["onward_transfers"] = onward_transfers(future, then, law)
    return view


def _matching(resolved: list[dict], index: int, location: dict) -> dict:
    """The verdict's entry for this location (same position, checked by destination)."""
    where = destination(location)
    if index < len(resolved) and destination(resolved[index]) == where:
        return resolved[index]
    for entry in resolved:
        if destination(entry) == where and entry.get("activity") == location.get("activity"):
            return entry
    return {}


def _transfer(location: dict, evaluated: dict, law: Law) -> dict:
    country = location.get("country")
    safeguard = location.get("safeguard") or {}
    eea = bool(evaluated.get("eea"))
    mechanism = None if eea else (evaluated.get("mechanism") or safeguard.get("mechanism"))
    fact = {
        "country": country,
        # For an international organisation: its name (country null).
        "country_name": country_name(country) if country else destination_name(location, law),
        "activity": location["activity"],
        "eea": eea,
        "mechanism": mechanism,
        "relied_on": None if eea else _relied_on(mechanism, safeguard, evaluated, law),
    }
    if not country:
        fact["international_organisation"] = location.get("international_organisation")
    return fact


def _relied_on(mechanism: str | None, safeguard: dict, evaluated: dict, law: Law) -> dict | None:
    """The act or clauses a transfer relies on, as public facts (ids, instruments, sources)."""
    if mechanism in ("adequacy", engine.BRIDGE_MECHANISM):
        decision_id = evaluated.get("adequacy_decision") or safeguard.get("adequacy_decision")
        act = law.decision(decision_id) if decision_id else None
        if act is None:
            return None
        return {
            "kind": "arrangement" if act.kind == "arrangement" else "adequacy_decision",
            "id": act.id,
            "instrument": act.instrument,
            "source_url": act.source_url,
        }
    if mechanism == "scc":
        version_id = safeguard.get("scc_version")
        version = law.scc_version(version_id) if version_id else None
        reliance = {
            "kind": "scc",
            "id": version_id,
            "instrument": version.instrument if version else None,
            "source_url": version.source_url if version else None,
        }
        module = safeguard.get("scc_module")
        if module is not None:
            reliance["module"] = module
            reliance["module_name"] = engine.MODULES.get(module)
        return reliance
    if mechanism == "bcr":
        return {
            "kind": "bcr",
            "id": None,
            "instrument": _BCR_INSTRUMENT,
            "source_url": None,
            "approved_on": safeguard.get("approved_on"),
        }
    if mechanism in ART46_INSTRUMENTS:
        return {
            "kind": mechanism,
            "id": safeguard.get("reference"),
            "instrument": ART46_INSTRUMENTS[mechanism],
            "source_url": None,
        }
    if mechanism == "derogation":
        ground = safeguard.get("derogation")
        return {
            "kind": "derogation",
            "id": ground,
            "instrument": engine.DEROGATION_GROUNDS.get(ground or "", "Art. 49 GDPR"),
            "source_url": None,
        }
    return None


def _copy_available(subprocessor_id: str, fact: dict, copies: Collection[tuple]) -> bool:
    """Whether a documentation request is answered at once for this transfer: a disclosable
    copy of the SCCs or BCRs on file, or for adequacy the decision itself (public)."""
    mechanism = fact["mechanism"]
    if mechanism == "adequacy":
        return fact["relied_on"] is not None
    if mechanism in ("scc", "bcr"):
        return (subprocessor_id, fact["country"], mechanism) in copies or (
            subprocessor_id,
            None,
            mechanism,
        ) in copies
    return False
