"""Transfer compliance of sub-processor records, evaluated under the reference law of a date."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date
from typing import Any

from ..law.model import AdequacyDecision, Law
from .flags import TRANSFER_FLAGS

# The codes the engine raises, with their severity (flags.py holds every code).
SEVERITY: dict[str, str] = TRANSFER_FLAGS

# This organisation's role for the data it passes on (REGISTRY_ORGANISATION_ROLE); every
# sub-processor is a processor, so the 2021/914 module follows from the exporter's role.
MODULE_FOR_EXPORTER = {"processor": 3, "controller": 2}
ROLES = tuple(MODULE_FOR_EXPORTER)
MODULES = {
    1: "controller to controller",
    2: "controller to processor",
    3: "processor to processor",
    4: "processor to controller",
}
BRIDGE_MECHANISM = "transitional_arrangement"

# The rules' version: a verdict recorded under other rules may differ for that reason alone.
# 2: acts with adoption dates and continuations, the EU-UK bridge, scope conditions, SCC
# modules per role, Art. 3(2) importers, derogations not available, onward transfers.
RULES = 2
# The codes rules 2 added; DEROGATION_NOT_AVAILABLE was DEROGATION_RELIED_ON before.
ADDED_IN_RULES_2 = frozenset(
    {
        "ADEQUACY_SCOPE_UNMET",
        "ADEQUACY_SCOPE_UNCONFIRMED",
        "SCC_MODULE_MISMATCH",
        "SCC_IMPORTER_SUBJECT_TO_GDPR",
        "DEROGATION_NOT_AVAILABLE",
        "LAW_UNVERIFIED",
    }
)

ADEQUACY_ENDING_DAYS = 180
CERTIFICATION_STALE_DAYS = 365

# EDPB Guidelines 2/2018: grounds (b), (c), (e) and the second subparagraph are for
# occasional, non-repetitive transfers only, never a standing sub-processor relationship.
OCCASIONAL_ONLY = frozenset(
    {
        "contract_performance",
        "contract_in_interest",
        "legal_claims",
        "compelling_legitimate_interests",
    }
)

DEROGATION_GROUNDS: dict[str, str] = {
    "explicit_consent": "Art. 49(1)(a) GDPR (explicit consent of the data subject)",
    "contract_performance": "Art. 49(1)(b) GDPR (performance of a contract with the data subject)",
    "contract_in_interest": (
        "Art. 49(1)(c) GDPR (a contract concluded in the interest of the data subject)"
    ),
    "public_interest": "Art. 49(1)(d) GDPR (important reasons of public interest)",
    "legal_claims": "Art. 49(1)(e) GDPR (establishment, exercise or defence of legal claims)",
    "vital_interests": "Art. 49(1)(f) GDPR (vital interests of the data subject or others)",
    "public_register": "Art. 49(1)(g) GDPR (transfer from a public register)",
    "compelling_legitimate_interests": (
        "Art. 49(1) second subparagraph GDPR (compelling legitimate interests)"
    ),
}

Flag = dict[str, str]
Copy = tuple[str, str | None, str]  # (subprocessor_id, country or None for all, mechanism)
CopiesOnFile = Callable[[str, str], bool]


def _parse_date(value: Any) -> date | None:
    """A date from an ISO string (or a date); None when missing or unreadable."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _describe(decision: AdequacyDecision) -> str:
    return f"{decision.id} ({decision.instrument})"


class _Context:
    """Per-call caches: a register repeats the same countries and date strings many times."""

    __slots__ = (
        "_arrangements",
        "_dates",
        "_eea",
        "_in_force",
        "assume_ended",
        "law",
        "notice_days",
        "on",
        "role",
    )

    def __init__(
        self,
        law: Law,
        on: date,
        assume_ended: frozenset[str],
        notice_days: int | None = None,
        role: str = "processor",
    ) -> None:
        if role not in MODULE_FOR_EXPORTER:
            raise ValueError(f"unknown organisation role {role!r}; expected one of {ROLES}")
        self.law = law
        self.on = on
        self.assume_ended = frozenset(assume_ended)
        self.notice_days = notice_days
        self.role = role
        self._dates: dict[Any, date | None] = {}
        self._eea: dict[str, bool] = {}
        self._in_force: dict[str, tuple[AdequacyDecision, ...]] = {}
        self._arrangements: dict[str, AdequacyDecision | None] = {}

    def day(self, value: Any) -> date | None:
        try:
            return self._dates[value]
        except KeyError:
            pass
        except TypeError:  # unhashable garbage
            return None
        parsed = self._dates[value] = _parse_date(value)
        return parsed

    def is_eea(self, country: str) -> bool:
        cached = self._eea.get(country)
        if cached is None:
            cached = self._eea[country] = bool(country) and self.law.is_eea(country, self.on)
        return cached

    def applies(self, act: AdequacyDecision) -> bool:
        """Adopted by the date, in force on it, and not assumed ended."""
        return (
            act.adopted <= self.on and act.in_force_on(self.on) and act.id not in self.assume_ended
        )

    def in_force(self, country: str) -> tuple[AdequacyDecision, ...]:
        """Adequacy decisions that apply to `country` on the date, oldest first."""
        cached = self._in_force.get(country)
        if cached is None:
            # No country means no decisions: Law.decisions_in_force reads a missing territory
            # as "every territory".
            pool = self.law.decisions_for(country) if country else ()
            cached = self._in_force[country] = tuple(
                d for d in pool if d.kind == "adequacy" and self.applies(d)
            )
        return cached

    def arrangement(self, country: str) -> AdequacyDecision | None:
        """An arrangement under which sending data to `country` is no transfer at all."""
        if country not in self._arrangements:
            pool = self.law.decisions_for(country) if country else ()
            found = [d for d in pool if d.kind == "arrangement" and self.applies(d)]
            self._arrangements[country] = found[-1] if found else None
        return self._arrangements[country]

    def coverage_end(self, act: AdequacyDecision) -> tuple[date | None, list[AdequacyDecision]]:
        """The last day `act` and the acts continuing it, adopted by the date, cover; and
        those continuing acts."""
        last, used = act.last_day(), []
        while last is not None:
            following = [
                d
                for d in self.law.continuations(act.id)
                if d.adopted <= self.on and d.id not in self.assume_ended
            ]
            if not following:
                break
            act = following[-1]
            used.append(act)
            last = act.last_day()
        return last, used

    def assumed_in_line(self, act: AdequacyDecision) -> AdequacyDecision | None:
        """The act of `act`'s line that would apply on the date, were it not assumed ended."""
        line, queue = [], [act]
        while queue:
            current = queue.pop(0)
            if current not in line and current.adopted <= self.on:
                line.append(current)
                queue.extend(self.law.continuations(current.id))
        found = [d for d in line if d.in_force_on(self.on) and d.id in self.assume_ended]
        return found[-1] if found else None

    def current_act(self, act: AdequacyDecision) -> AdequacyDecision | None:
        """The act of `act`'s line (itself, or one continuing it) that applies on the date."""
        seen = set()
        while act.id not in seen:
            seen.add(act.id)
            if self.applies(act):
                return act
            following = [d for d in self.law.continuations(act.id) if self.applies(d)]
            later = [d for d in self.law.continuations(act.id) if d.adopted <= self.on]
            if following:
                return following[-1]
            if not later:
                return None
            act = later[-1]
        return None


class _Location:
    """Accumulates the verdict for one location (or one onward transfer)."""

    __slots__ = (
        "adequacy_decision",
        "country",
        "exporter",
        "flags",
        "importer_subject_to_gdpr",
        "instrument",
        "mechanism",
        "note",
        "onward",
    )

    def __init__(
        self,
        country: str,
        mechanism: str | None,
        *,
        exporter: str,
        onward: str | None = None,
        importer_subject_to_gdpr: bool = False,
    ) -> None:
        self.country = country
        self.mechanism = mechanism
        self.exporter = exporter  # the role of whoever sends the data: module and messages
        self.onward = onward  # the onward recipient's name, for an onward transfer
        self.importer_subject_to_gdpr = importer_subject_to_gdpr
        self.adequacy_decision: str | None = None
        self.instrument: str | None = None  # the act relied on, as in force on the date
        self.note: str | None = None
        self.flags: list[Flag] = []

    def flag(self, code: str, message: str) -> None:
        flag = {"code": code, "severity": SEVERITY[code], "country": self.country}
        if self.onward is not None:
            flag["onward"] = self.onward
            message = f"Onward transfer to {self.onward}: {message}"
        flag["message"] = message
        self.flags.append(flag)

    def relies_on(self, act: AdequacyDecision, ctx: _Context) -> None:
        self.adequacy_decision = act.id
        self.instrument = act.instrument
        self.rests_on(act.id, act.verified, act.notes)

    def rests_on(self, what: str, verified: bool, notes: str | None) -> None:
        """LAW_UNVERIFIED when a fact the verdict rests on is marked unverified in data/."""
        if not verified:
            self.flag(
                "LAW_UNVERIFIED",
                f"This verdict rests on {what}, and a fact of it is not verified against the "
                f"Official Journal: {notes or 'see the reference law'}",
            )


def _no_safeguard(loc: _Location, ctx: _Context) -> None:
    in_force = ctx.in_force(loc.country)
    unconditional = [d for d in in_force if d.condition is None]
    if unconditional:
        # Adequacy applies by law to the territory's recipients within the decision's scope.
        loc.mechanism = "adequacy"
        decision = unconditional[-1]
        _adequacy_applies(loc, ctx, decision)
        _scope(loc, {}, decision, by_law=True)
        return
    on = ctx.on.isoformat()
    if in_force:
        decision = in_force[-1]
        loc.flag(
            "NO_SAFEGUARD",
            f"No safeguard is recorded for {loc.country} on {on}; {_describe(decision)} "
            f"covers only recipients meeting its {decision.condition} condition, so the "
            f"{decision.condition} must be attested through an adequacy safeguard.",
        )
        return
    loc.flag(
        "NO_SAFEGUARD",
        f"No safeguard is recorded for {loc.country} and no adequacy decision covers it "
        f"on {on}{_why_no_decision(loc.country, ctx)}.",
    )


def _why_no_decision(country: str, ctx: _Context) -> str:
    """A clause explaining the absence of adequacy: what ended, what is assumed, what is to come."""
    on = ctx.on
    history = [d for d in ctx.law.decisions_for(country) if d.kind == "adequacy"]
    assumed = [
        d.id for d in history if d.adopted <= on and d.in_force_on(on) and d.id in ctx.assume_ended
    ]
    if assumed:
        return f"; {', '.join(assumed)} is assumed ended in this evaluation"
    past = [d for d in history if d.in_force_from <= on and d.adopted <= on]
    if past:
        return f"; {_ended_clause(past[-1])}"
    upcoming = [d for d in history if d.in_force_from > on and d.adopted <= on]
    if upcoming:
        return (
            f"; {_describe(upcoming[0])} applies only from {upcoming[0].in_force_from.isoformat()}"
        )
    return ""


def _ended_clause(decision: AdequacyDecision) -> str:
    if decision.ended_on is not None and (
        decision.expires_on is None or decision.ended_on <= decision.expires_on
    ):
        by = f", ended by {decision.ended_by}" if decision.ended_by else ""
        return f"{_describe(decision)} ceased to apply on {decision.ended_on.isoformat()}{by}"
    if decision.expires_on is not None:
        return f"{_describe(decision)} expired after {decision.expires_on.isoformat()}"
    return f"{_describe(decision)} is not in force"


def _adequacy(loc: _Location, safeguard: dict, ctx: _Context) -> None:
    named = safeguard.get("adequacy_decision")
    on = ctx.on
    if named:
        loc.adequacy_decision = named
        decision, problem = _named_decision(named, loc.country, ctx)
        if problem:
            loc.flag("ADEQUACY_NOT_IN_FORCE", problem)
            return
    else:
        in_force = ctx.in_force(loc.country)
        if not in_force:
            loc.flag(
                "ADEQUACY_NOT_IN_FORCE",
                f"Adequacy is claimed for {loc.country}, but no adequacy decision covers it "
                f"on {on.isoformat()}{_why_no_decision(loc.country, ctx)}.",
            )
            return
        decision = in_force[-1]
    assert decision is not None  # _named_decision rules out unknown ids
    if decision.condition == "certification":
        _certification(loc, safeguard, ctx, decision)
    _adequacy_applies(loc, ctx, decision)
    _scope(loc, safeguard, decision, by_law=False)


def _named_decision(
    named: str, country: str, ctx: _Context
) -> tuple[AdequacyDecision | None, str | None]:
    """The act a named decision leads to on the date (itself, or its extension or renewal)."""
    decision = ctx.law.decision(named)
    on = ctx.on.isoformat()
    if decision is None or decision.kind != "adequacy":
        return None, f"Adequacy decision {named} is not in the reference law."
    if decision.territory != country:
        return None, (
            f"{_describe(decision)} covers {decision.territory_name}, not {country}, "
            f"so it is no safeguard for this transfer."
        )
    if decision.adopted > ctx.on:
        return None, (
            f"{_describe(decision)} was adopted on {decision.adopted.isoformat()}, "
            f"after {on}, so it is no safeguard on that date."
        )
    if ctx.on < decision.in_force_from:
        return None, (
            f"{_describe(decision)} applies only from {decision.in_force_from.isoformat()}, "
            f"not yet on {on}."
        )
    current = ctx.current_act(decision)
    if current is None:
        assumed = ctx.assumed_in_line(decision)
        if assumed is not None:
            return None, (
                f"{assumed.id} is assumed ended in this evaluation; it would cover "
                f"{decision.territory_name} on {on} in the line of {decision.id} "
                f"({assumed.instrument})."
            )
        return None, f"{_ended_clause(decision)}, so it is no safeguard on {on}."
    return current, None


def _framework_start(decision: AdequacyDecision, ctx: _Context) -> date:
    """The first day of the framework a decision belongs to (its first act's start)."""
    start, seen = decision, {decision.id}
    while start.continues and start.continues not in seen:
        earlier = ctx.law.decision(start.continues)
        if earlier is None:
            break
        seen.add(earlier.id)
        start = earlier
    return start.in_force_from


def _certification(
    loc: _Location, safeguard: dict, ctx: _Context, decision: AdequacyDecision
) -> None:
    on = ctx.on
    if safeguard.get("certified") is not True:
        loc.flag(
            "ADEQUACY_CONDITION_UNMET",
            f"{_describe(decision)} covers only certified recipients, and the recipient's "
            f"certification is not attested.",
        )
        return
    checked = ctx.day(safeguard.get("certification_checked_on"))
    if checked is None:
        loc.flag(
            "ADEQUACY_CONDITION_UNMET",
            f"{_describe(decision)} covers only certified recipients, and no date is recorded "
            f"for the certification check.",
        )
        return
    if checked > on:
        loc.flag(
            "ADEQUACY_CONDITION_UNMET",
            f"The certification under {decision.id} was checked on {checked.isoformat()}, "
            f"after {on.isoformat()}, so it is no evidence of certification on that date.",
        )
        return
    started = _framework_start(decision, ctx)
    if checked < started:
        loc.flag(
            "ADEQUACY_CONDITION_UNMET",
            f"The certification was checked on {checked.isoformat()}, before the framework "
            f"of {decision.id} started on {started.isoformat()}, so it is no evidence of "
            f"certification under it.",
        )
        return
    age = (on - checked).days
    if age > CERTIFICATION_STALE_DAYS:
        loc.flag(
            "CERTIFICATION_CHECK_STALE",
            f"The certification under {decision.id} was last checked on {checked.isoformat()}, "
            f"{age} days before {on.isoformat()} (more than {CERTIFICATION_STALE_DAYS}).",
        )


def _scope(loc: _Location, safeguard: dict, decision: AdequacyDecision, *, by_law: bool) -> None:
    """Each scope condition of the decision, as attested for this recipient."""
    attested = safeguard.get("scope_attestations")
    attested = attested if isinstance(attested, dict) else {}
    for condition in decision.scope_conditions:
        value = attested.get(condition.code)
        if value is False:
            loc.flag(
                "ADEQUACY_SCOPE_UNMET",
                f"{_describe(decision)} covers only recipients that meet "
                f"{condition.code!r} ({condition.text}), and this recipient does not.",
            )
        elif value is not True:
            how = (
                "No safeguard is recorded, so adequacy by law is relied on, and nothing "
                "attests that"
                if by_law
                else "The safeguard does not attest that"
            )
            loc.flag(
                "ADEQUACY_SCOPE_UNCONFIRMED",
                f"{how} the recipient meets {condition.code!r} ({condition.text}), which "
                f"{_describe(decision)} requires.",
            )


def _adequacy_applies(loc: _Location, ctx: _Context, decision: AdequacyDecision) -> None:
    loc.relies_on(decision, ctx)
    expires, continuing = ctx.coverage_end(decision)
    for act in continuing:  # the end of cover rests on them too
        loc.rests_on(f"{act.id} (continuing {decision.id})", act.verified, act.notes)
    if expires is not None and decision.ended_on is None:
        left = (expires - ctx.on).days
        if left <= ADEQUACY_ENDING_DAYS:
            loc.flag(
                "ADEQUACY_ENDING",
                f"{_describe(decision)} expires after {expires.isoformat()}, {left} days after "
                f"{ctx.on.isoformat()}; no act adopted by {ctx.on.isoformat()} extends or "
                f"renews it.",
            )


def _covered_by_adequacy(country: str, ctx: _Context) -> AdequacyDecision | None:
    """An adequacy decision covering every recipient in `country` on the date, if any."""
    full = [d for d in ctx.in_force(country) if d.condition is None and not d.scope_conditions]
    return full[-1] if full else None


def _scc(loc: _Location, safeguard: dict, ctx: _Context) -> None:
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
    _tia(loc, safeguard, ctx, f"the SCCs ({version_id or 'unknown version'})")


def _module(loc: _Location, safeguard: dict, version_id: str) -> None:
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


def _bcr(loc: _Location, safeguard: dict, ctx: _Context) -> None:
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
    _tia(loc, safeguard, ctx, "the binding corporate rules")


def _tia(loc: _Location, safeguard: dict, ctx: _Context, tool: str) -> None:
    if _covered_by_adequacy(loc.country, ctx) is not None:
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


def _derogation(loc: _Location, safeguard: dict, ctx: _Context) -> None:
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


_MECHANISMS: dict[str, Callable[[_Location, dict, _Context], None]] = {
    "adequacy": _adequacy,
    "scc": _scc,
    "bcr": _bcr,
    "derogation": _derogation,
}


def _evaluate_location(
    location: dict,
    ctx: _Context,
    copies_on_file: CopiesOnFile | None,
    *,
    exporter: str,
    onward: str | None = None,
) -> dict:
    country = location.get("country") or ""
    verdict: dict[str, Any] = {"country": country, "activity": location.get("activity")}
    if onward is not None:
        verdict = {"name": onward, **verdict}
    if ctx.is_eea(country):
        return {
            **verdict,
            "eea": True,
            "mechanism": None,
            "adequacy_decision": None,
            "instrument": None,
            "flags": [],
        }
    safeguard = location.get("safeguard") or {}
    mechanism = safeguard.get("mechanism")
    loc = _Location(
        country,
        mechanism,
        exporter=exporter,
        onward=onward,
        importer_subject_to_gdpr=location.get("importer_subject_to_gdpr") is True,
    )
    bridge = ctx.arrangement(country)
    if bridge is not None:
        # Not a transfer to a third country at all while the arrangement applies.
        loc.mechanism = BRIDGE_MECHANISM
        loc.relies_on(bridge, ctx)
        loc.note = f"{bridge.instrument}: {bridge.scope or 'no transfer to a third country'}"
    else:
        check = _MECHANISMS.get(mechanism) if mechanism else None
        if check is not None:
            check(loc, safeguard, ctx)
        elif mechanism:
            loc.flag(
                "NO_SAFEGUARD",
                f"The mechanism {mechanism!r} recorded for {country} is not a transfer safeguard.",
            )
        else:
            _no_safeguard(loc, ctx)
    if (
        copies_on_file is not None
        and bridge is None
        and mechanism in ("scc", "bcr")
        and not copies_on_file(country, mechanism)
    ):
        tool = "SCCs" if mechanism == "scc" else "binding corporate rules"
        loc.flag(
            "SCC_COPY_MISSING",
            f"No disclosable copy of the {tool} for the transfer to {country} is on file, "
            f"so a copy requested by a data subject cannot be provided.",
        )
    verdict.update(
        {
            "eea": False,
            "mechanism": loc.mechanism,
            "adequacy_decision": loc.adequacy_decision,
            "instrument": loc.instrument,
            "flags": loc.flags,
        }
    )
    if loc.note:
        verdict["note"] = loc.note
    return verdict


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
    effective = _parse_date(pending.get("effective_on"))
    if effective is None or on < effective:
        return record
    return {**record, **pending.get("changes", {}), "pending_change": None}


def _evaluate(record: dict, ctx: _Context, copies: Collection[Copy] | None = None) -> dict:
    pending = record.get("pending_change")
    record = in_force(record, ctx.on)
    copies_on_file = _copies_for(record, copies)
    locations = [
        _evaluate_location(location, ctx, copies_on_file, exporter=ctx.role)
        for location in record.get("locations") or ()
    ]
    # The sub-processor's own sub-processors: each a transfer by a processor (EDPB Opinion
    # 22/2024), so a break anywhere in the chain flags the sub-processor.
    onward = [
        _evaluate_location(
            transfer, ctx, None, exporter="processor", onward=str(transfer.get("name") or "")
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
    }


def _notice(record: dict, ctx: _Context, what: str = "Announced") -> list[Flag]:
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
    return _evaluate(record, _Context(law, on, assume_ended, notice_days, role), copies)


def _status(record: dict, on: date, parse: Callable[[Any], date | None]) -> str:
    retired = parse(record.get("retired_on"))
    if retired is not None and retired <= on:
        return "retired"
    effective = parse(record.get("effective_on"))
    # A record without a start date has been in use all along.
    if effective is None or effective <= on:
        return "active"
    return "proposed"


def status_on(record: dict, on: date) -> str:
    """`retired` once retired_on has come, `active` from effective_on, else `proposed`."""
    return _status(record, on, _parse_date)


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
    ctx = _Context(law, on, assume_ended, notice_days, role)
    for record in records:
        status = _status(record, on, ctx.day)
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


def summarise_register(
    evaluated: Iterable[tuple[dict, str, dict]],
    on: date,
    *,
    assume_ended: frozenset[str] = frozenset(),
) -> dict:
    """The report of `evaluate_register` from `evaluate_each`'s triples, consumed once."""
    counts = {"total": 0, "active": 0, "proposed": 0, "compliant": 0, "flagged": 0}
    active_flagged = 0
    by_flag: dict[str, int] = {}
    flagged: list[dict] = []
    for record, status, compliance in evaluated:
        counts["total"] += 1
        counts[status] += 1
        counts[compliance["status"]] += 1
        for code in {flag["code"] for flag in compliance["flags"]}:
            by_flag[code] = by_flag.get(code, 0) + 1
        if compliance["status"] == "flagged":
            if status == "active":
                active_flagged += 1
            flagged.append(
                {
                    "id": record.get("id"),
                    "name": record.get("name"),
                    "status": status,
                    "compliance": compliance,
                }
            )
    return {
        "as_of": on.isoformat(),
        "assumed_ended": sorted(frozenset(assume_ended)),
        "summary": {
            **counts,
            "active_flagged": active_flagged,
            "by_flag": dict(sorted(by_flag.items())),
        },
        "flagged": flagged,
    }
