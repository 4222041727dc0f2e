"""The compliance engine's ground: the rules' constants, the per-call context over the
reference law, and the verdict being built for one location (pure: no Flask, no SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from ..law.model import AdequacyDecision, Law
from .flags import ALSO_WARNING, TRANSFER_FLAGS, WARNING

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
# 3: LAW_UNVERIFIED is a note, no longer a warning; BCRs with no copy on file are
# BCR_COPY_MISSING (SCC_COPY_MISSING before).
# 4: a TIA is a record with its outcome and review date, and TIA_MISSING is an error (a warning
# before 2020-07-16 and, while the Data Privacy Framework applies, for the US);
# TIA_OUTCOME_PROBLEMATIC, TIA_REVIEW_DUE, TIA_RESTS_ON_ENDED_DECISION; the pre-2021 SCC sets
# carry their roles (SCC_MODULE_MISMATCH); explicit consent under the processor role is
# DEROGATION_NOT_AVAILABLE; the exporter's role per sub-processor; DPF scope for HR data.
RULES = 4
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

# Transfer impact assessments (Clause 14 of (EU) 2021/914; CJEU C-311/18 Schrems II, paras
# 134-135; EDPB Recommendations 01/2020 v2.0): the outcomes a TIA record takes.
TIA_OUTCOMES = ("no_reason_to_believe", "supplementary_measures", "problematic")
# The day the Court of Justice gave judgment in C-311/18 (Schrems II): from then, an exporter
# relying on SCCs (or BCRs) must have assessed the destination's law; before it, a missing
# assessment is a warning only.
TIA_REQUIRED_FROM = date(2020, 7, 16)
# Adequacy decisions whose assessment of the destination's public-authority access covers
# every transfer there, whatever the tool, while they apply: a missing TIA is then a warning.
# us-dpf-2023: the EO 14086 safeguards and redress apply to all transfers to the US (EDPB
# information note of 18 July 2023 on transfers to the US after the adequacy decision).
TIA_RELIEF = {
    "us-dpf-2023": "the EO 14086 safeguards assessed in Implementing Decision (EU) 2023/1795 "
    "apply to every transfer to the US, whatever the tool (EDPB information note of "
    "18 July 2023)",
}
CERTIFICATION_STALE_DAYS = 365


def certification_stale_on(checked: date) -> date:
    """The first day a certification check made on `checked` is stale: more than
    CERTIFICATION_STALE_DAYS old (CERTIFICATION_CHECK_STALE from then)."""
    return checked + timedelta(days=CERTIFICATION_STALE_DAYS + 1)


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


def parse_date(value: Any) -> date | None:
    """A date from an ISO string (or a date); None when missing or unreadable."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def describe(decision: AdequacyDecision) -> str:
    return f"{decision.id} ({decision.instrument})"


class Context:
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
        parsed = self._dates[value] = parse_date(value)
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


class Location:
    """Accumulates the verdict for one location (or one onward transfer)."""

    __slots__ = (
        "adequacy_decision",
        "categories",
        "country",
        "exporter",
        "flags",
        "importer_subject_to_gdpr",
        "instrument",
        "mechanism",
        "note",
        "notes",
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
        categories: tuple[str, ...] = (),
    ) -> None:
        self.country = country
        self.categories = categories  # the data categories the sub-processor receives
        self.mechanism = mechanism
        self.exporter = exporter  # the role of whoever sends the data: module and messages
        self.onward = onward  # the onward recipient's name, for an onward transfer
        self.importer_subject_to_gdpr = importer_subject_to_gdpr
        self.adequacy_decision: str | None = None
        self.instrument: str | None = None  # the act relied on, as in force on the date
        self.note: str | None = None
        self.flags: list[Flag] = []
        self.notes: list[Flag] = []

    def flag(self, code: str, message: str, *, warning: bool = False) -> None:
        """Raise `code`; `warning` lowers an error to a warning, for the codes flags.py allows
        (ALSO_WARNING) in the cases the rules name."""
        if warning and code not in ALSO_WARNING:
            raise ValueError(f"{code} is never a warning")
        severity = WARNING if warning else SEVERITY[code]
        flag = {"code": code, "severity": severity, "country": self.country}
        if self.onward is not None:
            flag["onward"] = self.onward
            message = f"Onward transfer to {self.onward}: {message}"
        flag["message"] = message
        self.flags.append(flag)

    def relies_on(self, act: AdequacyDecision, ctx: Context) -> None:
        self.adequacy_decision = act.id
        self.instrument = act.instrument
        self.rests_on(act.id, act.verified, act.notes)

    def note_on(self, code: str, message: str) -> None:
        """A note, not a flag: about the reference law, never a finding on the transfer."""
        note = {"code": code, "country": self.country}
        if self.onward is not None:
            note["onward"] = self.onward
            message = f"Onward transfer to {self.onward}: {message}"
        note["message"] = message
        self.notes.append(note)

    def rests_on(self, what: str, verified: bool, notes: str | None) -> None:
        """LAW_UNVERIFIED (a note) when a fact the verdict rests on is marked unverified in
        data/: a caveat about the registry's reference law, not about the sub-processor."""
        if not verified:
            self.note_on(
                "LAW_UNVERIFIED",
                f"This verdict rests on {what}, and a fact of it is not verified against the "
                f"Official Journal: {notes or 'see the reference law'}",
            )
