"""The contractual and exceptional safeguards of the compliance engine: SCCs (version,
signature, module), binding corporate rules, transfer impact assessments, Art. 49 derogations."""

from __future__ import annotations

from datetime import date

from ..law.model import AdequacyDecision, SCCVersion
from .adequacy import covered_by_adequacy
from .rules import (
    DEROGATION_GROUNDS,
    MODULE_FOR_EXPORTER,
    MODULES,
    OCCASIONAL_ONLY,
    TIA_RELIEF,
    TIA_REQUIRED_FROM,
    Context,
    Location,
)


def scc(loc: Location, safeguard: dict, ctx: Context) -> None:
    on = ctx.on
    version_id = safeguard.get("scc_version")
    signed = ctx.day(safeguard.get("signed_on"))
    version = ctx.law.scc_version(version_id) if version_id else None
    if version is None:
        loc.flag(
            "NO_SAFEGUARD",
            f"The SCC version {version_id or '(none)'} is not a set adopted by the Commission, "
            f"so these clauses are no safeguard.",
        )
    else:
        loc.instrument = version.instrument
        loc.rests_on(f"the SCCs {version.id}", version.verified, version.notes)
    if version is None:
        pass
    elif signed is None:
        loc.flag(
            "NO_SAFEGUARD",
            f"No signature date is recorded for the SCCs ({version.id}), so they cannot "
            f"count on {on.isoformat()}.",
        )
    elif signed > on:
        loc.flag(
            "NO_SAFEGUARD",
            f"The SCCs ({version.id}) were signed on {signed.isoformat()}, after the "
            f"evaluation date {on.isoformat()}, and do not count on it.",
        )
    elif signed < version.applies_from:
        loc.flag(
            "NO_SAFEGUARD",
            f"The SCCs ({version.id}) are dated {signed.isoformat()}, before the clauses "
            f"applied ({version.applies_from.isoformat()}).",
        )
    elif version.concluded_before is not None and signed >= version.concluded_before:
        loc.flag(
            "SCC_SUPERSEDED",
            f"The SCCs ({version.id}) were concluded on {signed.isoformat()}, on or after "
            f"{version.concluded_before.isoformat()}, when that set was repealed for new "
            f"contracts.",
        )
    elif version.valid_until is not None and on > version.valid_until:
        loc.flag(
            "SCC_SUPERSEDED",
            f"The SCCs ({version.id}) signed on {signed.isoformat()} stopped providing "
            f"safeguards after {version.valid_until.isoformat()}, the end of the set's "
            f"transition period.",
        )
    if version is not None and not version.modules:
        _parties(loc, safeguard, version)
    if version is not None and version.modules:
        _module(loc, safeguard, version.id)
        if loc.importer_subject_to_gdpr:
            loc.flag(
                "SCC_IMPORTER_SUBJECT_TO_GDPR",
                f"The importer in {loc.country} is itself subject to the GDPR (Art. 3(2)); "
                f"the SCCs {version.id} are not meant for such an importer (recital 7), and "
                f"the clauses announced for that case have not been adopted.",
            )
    tia(loc, safeguard, ctx, f"the SCCs ({version_id or 'unknown version'})")


def _module(loc: Location, safeguard: dict, version_id: str) -> None:
    """A 2021/914 contract covers the transfer only in the module the roles call for."""
    required = MODULE_FOR_EXPORTER[loc.exporter]
    module = safeguard.get("scc_module")
    if module == required or module not in MODULES:
        return  # a missing or impossible module is refused when the record is written
    exporter = (
        "this organisation, as a controller"
        if loc.exporter == "controller"
        else ("a processor" if loc.onward is not None else "this organisation, as a processor")
    )
    loc.flag(
        "SCC_MODULE_MISMATCH",
        f"The SCCs {version_id} use Module {module} ({MODULES[module]}), but the exporter is "
        f"{exporter} and the importer a sub-processor: Module {required} "
        f"({MODULES[required]}) covers this transfer.",
    )


# What each pre-2021 set was made for, in words.
_PARTIES = {
    "controller_to_controller": "controller-to-controller clauses",
    "controller_to_processor": "controller-to-processor clauses",
}


def _parties(loc: Location, safeguard: dict, version: SCCVersion) -> None:
    """A set without modules covers only the roles it was made for: 2001/497/EC and
    2004/915/EC never covered a processor as importer; 2010/87/EU (and 2002/16/EC) only a
    controller as exporter (recital 23 of 2010/87/EU), so under the processor role only where
    the controller itself signed them (`exporter: "controller"`)."""
    if version.parties is None:
        return
    what = _PARTIES[version.parties]
    if version.parties == "controller_to_controller":
        loc.flag(
            "SCC_MODULE_MISMATCH",
            f"The SCCs {version.id} are {what}: they never covered a transfer to a processor, "
            f"and the importer in {loc.country} is a sub-processor.",
        )
        return
    exporter = safeguard.get("exporter") or loc.exporter
    if exporter == "controller":
        return
    sender = "a processor" if loc.onward is not None else "this organisation, as a processor"
    loc.flag(
        "SCC_MODULE_MISMATCH",
        f"The SCCs {version.id} are {what}, but the exporter is {sender}: they do not cover "
        f"a processor passing data to its sub-processor in {loc.country} (recital 23 of "
        f"2010/87/EU) unless the controller itself signed them as exporter.",
    )


def bcr(loc: Location, safeguard: dict, ctx: Context) -> None:
    on = ctx.on
    approved = ctx.day(safeguard.get("approved_on"))
    if approved is None:
        loc.flag(
            "NO_SAFEGUARD",
            "No approval date is recorded for the binding corporate rules, so they are no "
            "safeguard until a supervisory authority's approval is recorded.",
        )
    elif approved > on:
        loc.flag(
            "NO_SAFEGUARD",
            f"The binding corporate rules were approved on {approved.isoformat()}, after the "
            f"evaluation date {on.isoformat()}, and do not count on it.",
        )
    tia(loc, safeguard, ctx, "the binding corporate rules")


def tia_record(safeguard: dict) -> dict:
    """The transfer impact assessment recorded on a safeguard: the `tia` record, or the bare
    date of `tia_completed_on` (its shorthand); empty when none is."""
    record = safeguard.get("tia")
    if isinstance(record, dict):
        return record
    if safeguard.get("tia_completed_on"):
        return {"completed_on": safeguard["tia_completed_on"]}
    return {}


def _relief(country: str, ctx: Context) -> AdequacyDecision | None:
    """A decision that applies on the date and whose assessment covers every transfer to
    `country`, whatever the tool (TIA_RELIEF)."""
    found = [d for d in ctx.in_force(country) if d.id in TIA_RELIEF]
    return found[-1] if found else None


def tia(loc: Location, safeguard: dict, ctx: Context, tool: str) -> None:
    """TIA_MISSING, TIA_OUTCOME_PROBLEMATIC, TIA_REVIEW_DUE, TIA_RESTS_ON_ENDED_DECISION."""
    if covered_by_adequacy(loc.country, ctx) is not None:
        return  # the decision covers the destination: no assessment of its law is needed
    record = tia_record(safeguard)
    done = ctx.day(record.get("completed_on"))
    if done is None or done > ctx.on:
        _missing(loc, ctx, tool, done)
        return
    _outcome(loc, record, tool)
    review_by = ctx.day(record.get("review_by"))
    if review_by is not None and review_by < ctx.on:
        loc.flag(
            "TIA_REVIEW_DUE",
            f"The transfer impact assessment for {tool} to {loc.country} was to be reviewed by "
            f"{review_by.isoformat()}; on {ctx.on.isoformat()} that review is overdue, so the "
            f"assessment may no longer reflect the law and practice there.",
        )
    _rests_on_ended(loc, record, done, ctx, tool)


def _missing(loc: Location, ctx: Context, tool: str, done: date | None) -> None:
    on = ctx.on.isoformat()
    what = (
        f"No transfer impact assessment is recorded for {tool} to {loc.country}"
        if done is None
        else f"The transfer impact assessment for {tool} to {loc.country} was completed on "
        f"{done.isoformat()}, after {on}, so none had been made by then"
    )
    relief = _relief(loc.country, ctx)
    if ctx.on < TIA_REQUIRED_FROM:
        loc.flag(
            "TIA_MISSING",
            f"{what}. Before the Court of Justice's judgment in C-311/18 (16 July 2020) an "
            f"exporter was not yet expected to document one, so this is a warning on {on}.",
            warning=True,
        )
    elif relief is not None:
        loc.flag(
            "TIA_MISSING",
            f"{what}. While {relief.id} ({relief.instrument}) applies, {TIA_RELIEF[relief.id]}, "
            f"so an assessment may rely on the Commission's; it should still be documented.",
            warning=True,
        )
    else:
        loc.flag(
            "TIA_MISSING",
            f"{what}, and no adequacy decision covers {loc.country} on {on}: the exporter must "
            f"assess the law and practice there before relying on {tool} (Clause 14 of "
            f"(EU) 2021/914; CJEU C-311/18 Schrems II), so the transfer is not shown lawful.",
        )


def _outcome(loc: Location, record: dict, tool: str) -> None:
    outcome = record.get("outcome")
    measures = [m for m in record.get("supplementary_measures") or () if m]
    if outcome == "problematic":
        loc.flag(
            "TIA_OUTCOME_PROBLEMATIC",
            f"The transfer impact assessment for {tool} to {loc.country} concluded that the "
            f"law or practice there prevents the importer from honouring the safeguard; the "
            f"transfer must be suspended or ended unless measures change that conclusion.",
        )
    elif outcome == "supplementary_measures" and not measures:
        loc.flag(
            "TIA_OUTCOME_PROBLEMATIC",
            f"The transfer impact assessment for {tool} to {loc.country} concluded that "
            f"supplementary measures are needed, but none are recorded, so nothing shows the "
            f"safeguard is effective there.",
        )


def _rests_on_ended(loc: Location, record: dict, done: date, ctx: Context, tool: str) -> None:
    """A TIA that found no reason to believe the importer is prevented from complying, made
    while a TIA_RELIEF decision applied, rested on that decision's safeguards: once it has
    ended (or is assumed ended), the assessment must be made again."""
    if record.get("outcome") != "no_reason_to_believe":
        return
    for act in ctx.law.decisions_for(loc.country):
        if (
            act.id in TIA_RELIEF
            and act.adopted <= done
            and act.in_force_on(done)
            and act.adopted <= ctx.on
            and not ctx.applies(act)
            and ctx.current_act(act) is None
        ):
            loc.flag(
                "TIA_RESTS_ON_ENDED_DECISION",
                f"The transfer impact assessment for {tool} to {loc.country}, completed on "
                f"{done.isoformat()}, found no reason to believe the importer is prevented "
                f"from complying while {act.id} applied and relied on its safeguards; with "
                f"{act.id} ended on {ctx.on.isoformat()}"
                + (" (assumed in this evaluation)" if act.id in ctx.assume_ended else "")
                + ", the assessment must be made again.",
            )
            return


def derogation(loc: Location, safeguard: dict, ctx: Context) -> None:
    ground = safeguard.get("derogation")
    described = DEROGATION_GROUNDS.get(ground, f"an Art. 49 GDPR derogation ({ground or 'none'})")
    if ground == "explicit_consent" and loc.exporter == "processor":
        loc.flag(
            "DEROGATION_NOT_AVAILABLE",
            f"The transfer to {loc.country} relies on {described}, but the exporter is a "
            f"processor: it cannot obtain the data subjects' specific, informed consent for its "
            f"own standing vendor, nor honour its withdrawal (Art. 7(3); EDPB Guidelines "
            f"2/2018, 2.1), so it is no basis here.",
        )
        return
    if ground in OCCASIONAL_ONLY:
        loc.flag(
            "DEROGATION_NOT_AVAILABLE",
            f"The transfer to {loc.country} relies on {described}, which allows only "
            f"occasional, non-repetitive transfers (EDPB Guidelines 2/2018); a sub-processor "
            f"receives data systematically, so it is no basis here.",
        )
        return
    loc.flag(
        "DEROGATION_RELIED_ON",
        f"The transfer to {loc.country} relies on {described}, which is meant for occasional "
        f"transfers, not routine use of a vendor.",
    )
