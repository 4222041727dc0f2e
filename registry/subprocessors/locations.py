"""The checks of a record's locations and onward transfers against the reference law: each
error with the JSON pointer of what is at fault."""

from __future__ import annotations

from datetime import date

from ..changecontrol.names import name_key
from ..errors import field_error
from ..law.destinations import destination
from ..law.model import Law


def check_locations(
    locations: list[dict], law: Law, prefix: str = "/locations", *, keyed_by_name: bool = False
) -> list[dict]:
    """Errors (with JSON pointers) for locations the law cannot make sense of."""
    errors: list[dict] = []
    seen: set[tuple[str, ...]] = set()
    for index, location in enumerate(locations):
        here = f"{prefix}/{index}"
        organisation = location.get("international_organisation")
        if organisation is not None and law.organisation(organisation) is None:
            known = ", ".join(sorted(o.id for o in law.organisations))
            errors.append(
                field_error(
                    f"{here}/international_organisation",
                    f"No international organisation has the id {organisation!r}; known: "
                    f"{known} (GET /v1/international-organisations).",
                )
            )
        key = (destination(location), location["activity"])
        if keyed_by_name:
            key = (name_key(location["name"]), *key)
        if key in seen:
            what = (
                "recipient, destination and activity"
                if keyed_by_name
                else "destination and activity"
            )
            what += " are"
            errors.append(field_error(f"{here}/activity", f"The same {what} listed twice."))
        seen.add(key)
        safeguard = location.get("safeguard")
        if safeguard and safeguard["mechanism"] == "adequacy":
            errors += _check_adequacy(safeguard, destination(location), law, f"{here}/safeguard")
        elif safeguard and safeguard["mechanism"] == "scc":
            errors += _check_scc(safeguard, law, f"{here}/safeguard")
    return errors


def _check_adequacy(safeguard: dict, country: str, law: Law, here: str) -> list[dict]:
    """The decision named must be an adequacy decision for the country; the scope attested,
    that decision's (or, unnamed, any of the country's) conditions."""
    errors = []
    decision = None
    if "adequacy_decision" in safeguard:
        decision = law.decision(safeguard["adequacy_decision"])
        pointer = f"{here}/adequacy_decision"
        led = law.law_enforcement_decision(safeguard["adequacy_decision"])
        if decision is None and led is not None:
            errors.append(field_error(pointer, not_for_the_gdpr(led, law)))
        elif decision is None or decision.kind != "adequacy":
            errors.append(field_error(pointer, "No adequacy decision has this id."))
            decision = None
        elif decision.destination != country:
            covers = f"{decision.id} covers {decision.territory_name}, not {country}."
            errors.append(field_error(pointer, covers))
            decision = None
    if "scope_attestations" in safeguard:
        errors += _check_attestations(
            safeguard["scope_attestations"], country, decision, law, f"{here}/scope_attestations"
        )
    return errors


def not_for_the_gdpr(decision, law: Law) -> str:
    """Why an adequacy finding under the Law Enforcement Directive is no safeguard for a
    sub-processor, naming the GDPR acts for the same territory."""
    gdpr = [d.id for d in law.decisions_for(decision.territory or "") if d.kind == "adequacy"]
    instead = (
        f" The GDPR decisions for {decision.territory_name}: {', '.join(gdpr)}." if gdpr else ""
    )
    return (
        f"{decision.id} ({decision.instrument}) is an adequacy decision under Directive (EU) "
        f"2016/680, for transfers to law-enforcement authorities; it covers no transfer under "
        f"the GDPR, so no sub-processor can rely on it.{instead}"
    )


def _check_scc(safeguard: dict, law: Law, here: str) -> list[dict]:
    """A known SCC version, signed no earlier than the set applied, with a module exactly when
    the version has modules."""
    version = law.scc_version(safeguard["scc_version"])
    module = safeguard.get("scc_module")
    if version is None:
        known = ", ".join(sorted(s.id for s in law.scc_versions))
        return [field_error(f"{here}/scc_version", f"Unknown SCC version; known: {known}.")]
    errors = scc_date_errors(safeguard, version, here)
    if version.modules and module is None:
        errors.append(
            field_error(
                f"{here}/scc_module",
                f"Required for SCC {version.id} (modules {list(version.modules)}).",
            )
        )
    elif module is not None and module not in version.modules:
        errors.append(field_error(f"{here}/scc_module", f"SCC {version.id} has no modules."))
    if version.modules and "exporter" in safeguard:
        errors.append(
            field_error(
                f"{here}/exporter",
                f"SCC {version.id} name the parties' roles by their module; `exporter` is for "
                f"the pre-2021 sets only.",
            )
        )
    return errors


def scc_date_errors(safeguard: dict, version, here: str) -> list[dict]:
    """A contract cannot be concluded on clauses before the day they apply from (the set's
    `applies_from` in data/scc-versions.json, the date the compliance engine counts from): a
    `signed_on` earlier than that is a typing error or the wrong version, refused on every
    write (create, PATCH, import; locations and onward transfers alike)."""
    signed = safeguard.get("signed_on")
    if signed is None or date.fromisoformat(signed) >= version.applies_from:
        return []
    return [
        field_error(
            f"{here}/signed_on",
            f"Signed on {signed}, before SCC {version.id} applied: contracts can be concluded "
            f"on these clauses from {version.applies_from.isoformat()}. Check the date, or the "
            "SCC version signed.",
        )
    ]


def _check_attestations(attested: dict, country: str, named, law: Law, pointer: str) -> list[dict]:
    """Only the scope conditions of the decision relied on (any of the country's, unnamed)."""
    if named is not None:
        acts = [named, *_continuing(named, law)]
        whose = named.id
    else:
        acts = [d for d in law.decisions_for(country) if d.kind == "adequacy"]
        whose = f"any adequacy decision for {country}"
    codes = sorted({c.code for act in acts for c in act.scope_conditions})
    if not codes:
        return [field_error(pointer, f"{whose} has no scope conditions to attest.")]
    return [
        field_error(
            f"{pointer}/{code}",
            f"Not a scope condition of {whose}; its conditions: {', '.join(codes)}.",
        )
        for code in attested
        if code not in codes
    ]


def _continuing(decision, law: Law) -> list:
    """The acts extending or renewing `decision`, and theirs, in order."""
    found, queue = [], list(law.continuations(decision.id))
    while queue:
        act = queue.pop(0)
        if act not in found:
            found.append(act)
            queue.extend(law.continuations(act.id))
    return found


def check_onward(onward: list[dict], law: Law, own_name: str) -> list[dict]:
    """Errors for onward transfers: as for locations, and never the sub-processor itself."""
    errors = check_locations(onward, law, prefix="/onward_transfers", keyed_by_name=True)
    own = name_key(own_name)
    for index, transfer in enumerate(onward):
        if name_key(transfer["name"]) == own:
            errors.append(
                field_error(
                    f"/onward_transfers/{index}/name",
                    "A sub-processor cannot be its own onward recipient: the chain would name "
                    "itself.",
                )
            )
    return errors
