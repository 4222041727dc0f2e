"""Transfer compliance of sub-processor records, evaluated under the reference law of a date.

The engine is pure (no Flask, no SQLite). This module is its entry point: a record's
locations and onward transfers, its notice, the whole register. The checks live beside it:
rules.py (constants, context, the verdict being built), adequacy.py, safeguards.py (SCCs,
BCRs, TIAs, derogations) and register.py (status on a date, the register's summary).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date
from typing import Any

from ..law.model import Law, destination
from .adequacy import adequacy, no_safeguard
from .art46 import CHECKS as ART46_CHECKS
from .register import status_on, status_with, summarise_register
from .rules import (
    ADDED_IN_RULES_2,
    ADEQUACY_ENDING_DAYS,
    BRIDGE_MECHANISM,
    CERTIFICATION_STALE_DAYS,
    DEROGATION_GROUNDS,
    MODULE_FOR_EXPORTER,
    MODULES,
    OCCASIONAL_ONLY,
    ROLES,
    RULES,
    SEVERITY,
    Context,
    CopiesOnFile,
    Copy,
    Flag,
    Location,
    parse_date,
)
from .safeguards import bcr, derogation, scc

# The engine's import surface: callers import these from here.
__all__ = [
    "ADDED_IN_RULES_2",
    "ADEQUACY_ENDING_DAYS",
    "ART46_MECHANISMS",
    "BRIDGE_MECHANISM",
    "CERTIFICATION_STALE_DAYS",
    "DEROGATION_GROUNDS",
    "MODULES",
    "MODULE_FOR_EXPORTER",
    "OCCASIONAL_ONLY",
    "ROLES",
    "RULES",
    "SEVERITY",
    "Copy",
    "Flag",
    "evaluate",
    "evaluate_each",
    "evaluate_register",
    "in_force",
    "status_on",
    "summarise_register",
]

MECHANISMS: dict[str, Callable[[Location, dict, Context], None]] = {
    "adequacy": adequacy,
    "scc": scc,
    "bcr": bcr,
    "derogation": derogation,
    **ART46_CHECKS,
}
# The rest of Art. 46 GDPR: codes of conduct, certification, authorised clauses, arrangements.
ART46_MECHANISMS = tuple(ART46_CHECKS)

# A location inside the EEA is no transfer: nothing is relied on, nothing is flagged.
_WITHIN_THE_EEA = {"eea": True, "mechanism": None, "adequacy_decision": None, "instrument": None}


def _evaluate_location(
    location: dict,
    ctx: Context,
    copies_on_file: CopiesOnFile | None,
    *,
    exporter: str,
    onward: str | None = None,
    categories: tuple[str, ...] = (),
) -> dict:
    # A country, or an international organisation (Chapter V covers both, Art. 44): the law is
    # looked up by its id, and the verdict names it instead of a country.
    country = destination(location)
    organisation = None if location.get("country") else location.get("international_organisation")
    verdict: dict[str, Any] = {
        "country": None if organisation else country,
        "activity": location.get("activity"),
    }
    if organisation:
        verdict["international_organisation"] = organisation
    if onward is not None:
        verdict = {"name": onward, **verdict}
    if ctx.is_eea(country):
        return {**verdict, **_WITHIN_THE_EEA, "flags": [], "notes": []}
    safeguard = location.get("safeguard") or {}
    mechanism = safeguard.get("mechanism")
    loc = Location(
        country,
        mechanism,
        exporter=exporter,
        onward=onward,
        importer_subject_to_gdpr=location.get("importer_subject_to_gdpr") is True,
        categories=categories,
    )
    bridge = ctx.arrangement(country)
    if bridge is not None:
        # Not a transfer to a third country at all while the arrangement applies.
        loc.mechanism = BRIDGE_MECHANISM
        loc.relies_on(bridge, ctx)
        loc.note = f"{bridge.instrument}: {bridge.scope or 'no transfer to a third country'}"
    else:
        check = MECHANISMS.get(mechanism) if mechanism else None
        if check is not None:
            check(loc, safeguard, ctx)
        elif mechanism:
            loc.flag(
                "NO_SAFEGUARD",
                f"The mechanism {mechanism!r} recorded for {country} is not a transfer safeguard.",
            )
        else:
            no_safeguard(loc, ctx)
    if copies_on_file is not None and bridge is None:
        _copy_on_file(loc, mechanism, copies_on_file)
    if organisation:
        _name_organisation(loc, organisation, ctx)
    verdict.update(
        {
            "eea": False,
            "mechanism": loc.mechanism,
            "adequacy_decision": loc.adequacy_decision,
            "instrument": loc.instrument,
            "flags": loc.flags,
            # Caveats about the reference law (LAW_UNVERIFIED): for staff, never a finding.
            "notes": loc.notes,
        }
    )
    if loc.note:
        verdict["note"] = loc.note
    return verdict


def _name_organisation(loc: Location, organisation: str, ctx: Context) -> None:
    """Findings on a transfer to an international organisation name it, not a country: by its
    id in `international_organisation`, by its name in the message."""
    found = ctx.law.organisation(organisation)
    own_id = re.compile(rf"(?<![\w-]){re.escape(organisation)}(?![\w-])")
    for finding in (*loc.flags, *loc.notes):
        finding["country"] = None
        finding["international_organisation"] = organisation
        if found is not None:
            finding["message"] = own_id.sub(f"the {found.name}", finding["message"])


# The flag for a safeguard with no disclosable copy on file, and what the safeguard is called.
_COPY_MISSING = {
    "scc": ("SCC_COPY_MISSING", "standard contractual clauses"),
    "bcr": ("BCR_COPY_MISSING", "binding corporate rules"),
}


def _copy_on_file(loc: Location, mechanism: str | None, copies_on_file: CopiesOnFile) -> None:
    """SCC_COPY_MISSING, BCR_COPY_MISSING: customers are promised a copy of the clauses or
    the rules relied on, on request (documentation requests)."""
    if mechanism in _COPY_MISSING and not copies_on_file(loc.country, mechanism):
        code, tool = _COPY_MISSING[mechanism]
        loc.flag(
            code,
            f"No disclosable copy of the {tool} relied on for the transfer to {loc.country} "
            f"is on file, so a customer who asks for one cannot be sent it.",
        )


def _copies_for(record: dict, copies: Collection[Copy] | None) -> CopiesOnFile | None:
    if copies is None:
        return None
    record_id = record.get("id")
    return lambda country, mechanism: (
        (record_id, country, mechanism) in copies or (record_id, None, mechanism) in copies
    )


def in_force(record: dict, on: date) -> dict:
    """The record as in force on `on`: with its pending change once that takes effect.

    A material change is announced ahead (`pending_change`); until its `effective_on` the
    current version stays in force, from then on the changed one, with no write needed.
    """
    pending = record.get("pending_change")
    if not pending:
        return record
    effective = parse_date(pending.get("effective_on"))
    if effective is None or on < effective:
        return record
    return {**record, **pending.get("changes", {}), "pending_change": None}


def _evaluate(record: dict, ctx: Context, copies: Collection[Copy] | None = None) -> dict:
    pending = record.get("pending_change")
    record = in_force(record, ctx.on)
    copies_on_file = _copies_for(record, copies)
    # The organisation's role for this sub-processor's data: its own exporter_role, else the
    # organisation's (REGISTRY_ORGANISATION_ROLE).
    role = record.get("exporter_role") if record.get("exporter_role") in ROLES else ctx.role
    categories = tuple(c for c in record.get("data_categories") or () if isinstance(c, str))
    locations = [
        _evaluate_location(location, ctx, copies_on_file, exporter=role, categories=categories)
        for location in record.get("locations") or ()
    ]
    # The sub-processor's own sub-processors: each a transfer by a processor (EDPB Opinion
    # 22/2024), so a break anywhere in the chain flags the sub-processor.
    onward = [
        _evaluate_location(
            transfer,
            ctx,
            None,
            exporter="processor",
            onward=str(transfer.get("name") or ""),
            categories=categories,
        )
        for transfer in record.get("onward_transfers") or ()
    ]
    flags = [flag for location in (*locations, *onward) for flag in location["flags"]]
    flags.extend(_notice(record, ctx))
    if pending and record.get("pending_change") is None:
        flags.extend(_notice(pending, ctx, what="The change was announced"))
    flagged = any(flag["severity"] == "error" for flag in flags)
    return {
        "status": "flagged" if flagged else "compliant",
        "as_of": ctx.on.isoformat(),
        "assumed_ended": sorted(ctx.assume_ended),
        "locations": locations,
        "onward_transfers": onward,
        "flags": flags,
        "notes": [note for location in (*locations, *onward) for note in location["notes"]],
    }


def _notice(record: dict, ctx: Context, what: str = "Announced") -> list[Flag]:
    """Customers must hear of a new sub-processor, or a material change, `notice_days` before
    it takes effect; a vendor recorded as already in use was never announced."""
    if ctx.notice_days is None or record.get("already_in_use"):
        return []
    announced = ctx.day(record.get("announced_on") or (record.get("created_at") or "")[:10])
    effective = ctx.day(record.get("effective_on"))
    if announced is None or effective is None:
        return []
    given = (effective - announced).days
    # A start date before the announcement records a vendor already in use: no notice to give.
    if given < 0 or given >= ctx.notice_days:
        return []
    return [
        {
            "code": "NOTICE_PERIOD_SHORT",
            "severity": SEVERITY["NOTICE_PERIOD_SHORT"],
            "country": None,
            "message": (
                f"{what} on {announced.isoformat()} to take effect on "
                f"{effective.isoformat()}: {given} days of notice, less than the "
                f"{ctx.notice_days} days customers are promised"
                + (f" (urgent: {record['urgent_reason']})." if record.get("urgent_reason") else ".")
            ),
        }
    ]


def evaluate(
    record: dict,
    law: Law,
    on: date,
    *,
    assume_ended: frozenset[str] = frozenset(),
    copies: Collection[Copy] | None = None,
    notice_days: int | None = None,
    role: str = "processor",
) -> dict:
    """The compliance of one sub-processor record on `on`, under the law of that date.

    `assume_ended` treats those decisions as no longer in force (what-if).
    `copies` holds `(subprocessor_id, country or None for all its countries, mechanism)` for
    every disclosable copy of SCCs/BCRs on file; when given, a missing copy is a warning.
    `notice_days`, when given, is the notice customers are promised (NOTICE_PERIOD_SHORT).
    `role` is this organisation's role for the data (the SCC module it must use).
    """
    return _evaluate(record, Context(law, on, assume_ended, notice_days, role), copies)


def evaluate_each(
    records: Iterable[dict],
    law: Law,
    on: date,
    *,
    assume_ended: frozenset[str] = frozenset(),
    copies: Collection[Copy] | None = None,
    notice_days: int | None = None,
    role: str = "processor",
) -> Iterator[tuple[dict, str, dict]]:
    """`(record, status, compliance)` for every record not retired on `on`, sharing caches."""
    ctx = Context(law, on, assume_ended, notice_days, role)
    for record in records:
        status = status_with(record, on, ctx.day)
        if status != "retired":
            yield record, status, _evaluate(record, ctx, copies)


def evaluate_register(
    records: Iterable[dict],
    law: Law,
    on: date,
    *,
    assume_ended: frozenset[str] = frozenset(),
    copies: Collection[Copy] | None = None,
    notice_days: int | None = None,
    role: str = "processor",
) -> dict:
    """The whole register on `on`: summary counts and the flagged sub-processors.

    Retired sub-processors are left out.
    """
    evaluated = evaluate_each(
        records,
        law,
        on,
        assume_ended=assume_ended,
        copies=copies,
        notice_days=notice_days,
        role=role,
    )
    return summarise_register(evaluated, on, assume_ended=assume_ended)
