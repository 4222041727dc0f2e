"""Reference law as immutable values: dated EEA membership, adequacy decisions, SCC versions,
international organisations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class Membership:
    """One period during which a country was inside the EEA (EU law applied)."""

    country: str  # ISO 3166-1 alpha-2
    member_from: date
    member_until: date | None  # last day inside, inclusive; None while still a member
    source: str
    note: str | None = None

    def covers(self, on: date) -> bool:
        return self.member_from <= on and (self.member_until is None or on <= self.member_until)


@dataclass(frozen=True)
class ScopeCondition:
    """A condition on the recipient for a decision to cover it, attested per transfer."""

    code: str  # stable, e.g. "pipeda_applies"
    text: str  # what the recipient must be or do
    source_url: str
    # When set, the condition applies only to a sub-processor receiving one of these data
    # categories (or a category above or below one of them); empty: to every transfer.
    data_categories: tuple[str, ...] = ()


def destination(location: Mapping[str, Any]) -> str:
    """Where a location sends data: its ISO country code, or the id of the international
    organisation it names instead (lowercase, so never a country code); "" for neither."""
    return location.get("country") or location.get("international_organisation") or ""


def is_organisation(key: str) -> bool:
    """Whether a destination key names an international organisation (ids are lowercase)."""
    return bool(key) and key != key.upper()


@dataclass(frozen=True)
class InternationalOrganisation:
    """An organisation governed by public international law (GDPR Art. 4(26)): a destination of
    transfers as a third country is, named by `id` in a location instead of a country."""

    id: str  # lowercase, never an ISO country code
    name: str
    sources: tuple[str, ...]
    verified: bool = True
    notes: str | None = None


@dataclass(frozen=True)
class AdequacyDecision:
    """One legal act finding adequacy (GDPR Art. 45, or Directive 95/46 Art. 25(6) before 2018).

    An extension or a renewal is an act of its own that `continues` the one before. An
    `arrangement` is not an adequacy decision but, for its dates, has the same effect (the
    EU-UK Trade and Cooperation Agreement's bridge: no transfer to a third country at all).
    """

    id: str
    territory: str | None  # ISO alpha-2, or None for an international organisation
    territory_name: str
    instrument: str
    in_force_from: date
    ended_on: date | None  # first day it no longer applies (judgment or repeal date)
    ended_by: str | None
    expires_on: date | None  # last day it applies unless renewed, inclusive
    condition: str | None  # "certification" or None
    scope: str | None
    source_url: str
    verified: bool = True
    notes: str | None = None
    # None only in law versions stored before acts carried it: read as in_force_from.
    adopted_on: date | None = None
    kind: str = "adequacy"  # or "arrangement"; "law_enforcement" in Law.law_enforcement only
    continues: str | None = None  # the act this one extends or renews, with no gap between
    scope_conditions: tuple[ScopeCondition, ...] = ()
    scope_conditions_note: str | None = None  # why a scope note is not coded as conditions
    # The international organisation it covers (territory None), by its id.
    international_organisation: str | None = None

    @property
    def destination(self) -> str | None:
        """What it covers: an ISO country code, or an international organisation's id."""
        return self.territory or self.international_organisation

    @property
    def adopted(self) -> date:
        return self.adopted_on or self.in_force_from

    def last_day(self) -> date | None:
        """The last day it applies (ended or expired), None while open-ended."""
        ends = [d for d in (self.expires_on,) if d is not None]
        if self.ended_on is not None:
            ends.append(self.ended_on - timedelta(days=1))
        return min(ends) if ends else None

    def in_force_on(self, on: date) -> bool:
        if on < self.in_force_from:
            return False
        if self.ended_on is not None and on >= self.ended_on:
            return False
        return self.expires_on is None or on <= self.expires_on


@dataclass(frozen=True)
class SCCVersion:
    """A set of Standard Contractual Clauses adopted by the Commission (Art. 46(2)(c))."""

    id: str  # e.g. "2021/914", "2010/87/EU"
    instrument: str
    applies_from: date  # contracts concluded before this date are not on this set
    concluded_before: date | None  # contracts concluded on or after this date are no safeguard
    valid_until: date | None  # last day existing contracts provide safeguards, inclusive
    modules: tuple[int, ...]  # allowed module numbers; empty when the set has no modules
    source_url: str
    verified: bool = True
    notes: str | None = None
    # A set without modules is made for one pair of roles: "controller_to_controller" or
    # "controller_to_processor" (the exporter's role, then the importer's); None with modules.
    parties: str | None = None


@dataclass(frozen=True)
class Law:
    """The whole reference law, queried by date. Pure: no I/O."""

    memberships: tuple[Membership, ...]
    decisions: tuple[AdequacyDecision, ...]
    scc_versions: tuple[SCCVersion, ...]
    version: str = ""  # content hash of the data it was loaded from
    organisations: tuple[InternationalOrganisation, ...] = ()
    # Adequacy findings under Directive (EU) 2016/680 (kind law_enforcement): no GDPR safeguard,
    # kept apart from `decisions` and looked up only to refuse them with that reason.
    law_enforcement: tuple[AdequacyDecision, ...] = ()
    _by_country: dict[str, tuple[Membership, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _decisions_by_id: dict[str, AdequacyDecision] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _decisions_by_territory: dict[str, tuple[AdequacyDecision, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _scc_by_id: dict[str, SCCVersion] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _continued_by: dict[str, tuple[AdequacyDecision, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _organisations_by_id: dict[str, InternationalOrganisation] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_country: dict[str, list[Membership]] = {}
        for m in self.memberships:
            by_country.setdefault(m.country, []).append(m)
        self._by_country.update({k: tuple(v) for k, v in by_country.items()})
        self._decisions_by_id.update({d.id: d for d in self.decisions})
        by_territory: dict[str, list[AdequacyDecision]] = {}
        for d in self.decisions:
            if d.destination:
                by_territory.setdefault(d.destination, []).append(d)
        self._decisions_by_territory.update(
            {k: tuple(sorted(v, key=lambda d: d.in_force_from)) for k, v in by_territory.items()}
        )
        self._scc_by_id.update({s.id: s for s in self.scc_versions})
        continued: dict[str, list[AdequacyDecision]] = {}
        for d in self.decisions:
            if d.continues:
                continued.setdefault(d.continues, []).append(d)
        self._continued_by.update({k: tuple(v) for k, v in continued.items()})
        self._organisations_by_id.update({o.id: o for o in self.organisations})

    def is_eea(self, country: str, on: date) -> bool:
        """Whether `country` was inside the EEA on `on`."""
        return any(m.covers(on) for m in self._by_country.get(country, ()))

    def eea_countries(self, on: date) -> list[str]:
        return sorted(c for c in self._by_country if self.is_eea(c, on))

    def decision(self, decision_id: str) -> AdequacyDecision | None:
        return self._decisions_by_id.get(decision_id)

    def law_enforcement_decision(self, decision_id: str) -> AdequacyDecision | None:
        """An adequacy finding under Directive (EU) 2016/680 with this id, or this instrument
        number (`2021/1773`), if any."""
        return next(
            (d for d in self.law_enforcement if decision_id in (d.id, *d.instrument.split())),
            None,
        )

    def organisation(self, organisation_id: str) -> InternationalOrganisation | None:
        return self._organisations_by_id.get(organisation_id)

    def decisions_for(self, territory: str) -> tuple[AdequacyDecision, ...]:
        """Every decision ever adopted for `territory` (an ISO code, or an international
        organisation's id), oldest first."""
        return self._decisions_by_territory.get(territory, ())

    def decisions_in_force(
        self,
        on: date,
        territory: str | None = None,
        assume_ended: frozenset[str] | set[str] = frozenset(),
    ) -> list[AdequacyDecision]:
        """Acts adopted by `on` and in force on it (optionally for one territory), minus the
        assumed-ended; arrangements included (see `kind`)."""
        pool = self.decisions_for(territory) if territory else self.decisions
        return [
            d for d in pool if d.adopted <= on and d.in_force_on(on) and d.id not in assume_ended
        ]

    def continuations(self, decision_id: str) -> tuple[AdequacyDecision, ...]:
        """The acts that extend or renew `decision_id`, whenever adopted."""
        return self._continued_by.get(decision_id, ())

    def scc_version(self, version_id: str) -> SCCVersion | None:
        return self._scc_by_id.get(version_id)
