"""The contractual and exceptional safeguards of the compliance engine: SCCs (version,
signature, module), binding corporate rules, transfer impact assessments, Art. 49 derogations."""

from __future__ import annotations

from .adequacy import covered_by_adequacy
from .rules import (
    DEROGATION_GROUNDS,
    MODULE_FOR_EXPORTER,
    MODULES,
    OCCASIONAL_ONLY,
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


def tia(loc: Location, safeguard: dict, ctx: Context, tool: str) -> None:
    if covered_by_adequacy(loc.country, ctx) is not None:
        return  # the decision covers the destination: no assessment of its law is needed
    done = ctx.day(safeguard.get("tia_completed_on"))
    if done is None:
        loc.flag(
            "TIA_MISSING",
            f"No transfer impact assessment is recorded for {tool} to {loc.country}.",
        )
    elif done > ctx.on:
        loc.flag(
            "TIA_MISSING",
            f"The transfer impact assessment for {tool} to {loc.country} was completed on "
            f"{done.isoformat()}, after {ctx.on.isoformat()}.",
        )


def derogation(loc: Location, safeguard: dict, ctx: Context) -> None:
    ground = safeguard.get("derogation")
    described = DEROGATION_GROUNDS.get(ground, f"an Art. 49 GDPR derogation ({ground or 'none'})")
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
