"""The one judgement of a change to a sub-processor: material, a remedy, or housekeeping.

Every door that changes a record (PATCH, the import, a create that claims `already_in_use`)
asks this module, and only this module, whether customers must be told first. Pure: the
records, the law and the date come in; no Flask, no SQLite.

- **Material** (announced, in force only after the notice period, open to objections): it
  changes who receives data (`name`, `legal_entity`, an onward recipient's legal entity),
  where (a transfer added: a (country, activity) pair of a location, or a (recipient,
  country, activity) triple of an onward transfer, new or changed), what (a data category
  added), or leaves any transfer that stays with a verdict worse than before.
- **Remedy** (in force at once, `material: false`): not material, and at least one transfer
  that stays gets a changed safeguard with a better verdict (a safeguard it lacked, or a
  better one).
- **Housekeeping** (in force at once, `material: false`): everything else; removing a
  transfer or a data category, a purpose, a service, a safeguard's details with the same
  verdict.

Verdicts are compared per transfer with the compliance engine, on the date given, without
copies on file (a copy is a document, not a safeguard). A verdict is its worst severity,
ordered ok < warning < error, and the codes it carries. After is *worse* than before when
its severity is higher, or equal (and not ok) with a code of that severity that before did
not have: one error in place of another is no improvement. After is *better* when it is not
worse and its severity is lower or its codes are a strict subset of before's. Flags that are
not about the transfer's safeguard are left out: LAW_UNVERIFIED (a note on the registry's own
reference data), NOTICE_PERIOD_SHORT (the record's notice), SCC_COPY_MISSING and
BCR_COPY_MISSING (a document).

Reasons are written for customers: facts of transfers (countries, activities, mechanisms),
never a verdict or a flag code; `details` holds the verdicts compared, for the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from ..compliance import engine
from ..law.model import Law, destination, is_organisation

MATERIAL, REMEDY, HOUSEKEEPING = "material", "remedy", "housekeeping"
KINDS = (MATERIAL, REMEDY, HOUSEKEEPING)
# The fields a judgement reads; any other field of a record is housekeeping.
JUDGED_FIELDS = ("name", "legal_entity", "data_categories", "locations", "onward_transfers")
SEVERITY_ORDER = {"ok": 0, "warning": 1, "error": 2}
# Not about a transfer's safeguard: never make a change material, never make it a remedy.
NOT_ABOUT_THE_SAFEGUARD = frozenset(
    {"LAW_UNVERIFIED", "NOTICE_PERIOD_SHORT", "SCC_COPY_MISSING", "BCR_COPY_MISSING"}
)


@dataclass(frozen=True)
class Verdict:
    """One transfer's verdict as change control compares it."""

    severity: str  # ok, warning or error
    codes: frozenset[str]  # every flag code, of any severity
    top: frozenset[str]  # the codes of the worst severity

    @classmethod
    def of(cls, flags: list[dict]) -> Verdict:
        flags = [f for f in flags if f["code"] not in NOT_ABOUT_THE_SAFEGUARD]
        severity = max((f["severity"] for f in flags), key=SEVERITY_ORDER.get, default="ok")
        top = frozenset(f["code"] for f in flags if f["severity"] == severity)
        return cls(severity, frozenset(f["code"] for f in flags), top)

    def worse_than(self, before: Verdict) -> bool:
        rank, was = SEVERITY_ORDER[self.severity], SEVERITY_ORDER[before.severity]
        return rank > was or (rank == was and rank > 0 and not self.top <= before.top)

    def better_than(self, before: Verdict) -> bool:
        if self.worse_than(before):
            return False
        return SEVERITY_ORDER[self.severity] < SEVERITY_ORDER[before.severity] or (
            self.codes < before.codes
        )

    def __str__(self) -> str:
        return self.severity + (f" ({', '.join(sorted(self.codes))})" if self.codes else "")


@dataclass(frozen=True)
class Judgement:
    """What a change is, and why."""

    kind: str  # material, remedy or housekeeping
    reasons: tuple[str, ...]  # why it is material (customer-safe facts); empty otherwise
    remedies: tuple[str, ...]  # the transfers it remedies (customer-safe facts)
    details: tuple[str, ...]  # the verdicts compared, for staff and the audit trail

    @property
    def material(self) -> bool:
        return self.kind == MATERIAL

    @property
    def why(self) -> list[str]:
        """What the change feed says: the reasons of a material change, else the remedies."""
        return list(self.reasons if self.material else self.remedies)


@dataclass(frozen=True)
class _Transfer:
    label: str  # "IN (processing)", "the onward transfer to Sub Cloud in IN (processing)"
    location: dict


def judge(
    before: dict,
    after: dict,
    *,
    law: Law,
    on: date,
    role: str,
    name_key: Callable[[str], str],
) -> Judgement:
    """Judge the change from the record `before` to the record `after` (whole records, as in
    force: pending changes are the caller's to merge or leave out), under the law of `on`.

    `role` is this organisation's role as exporter (the SCC module); `name_key` is how names
    are compared (two names a reader cannot tell apart are the same recipient).
    """
    was, now = _transfers(before, name_key), _transfers(after, name_key)
    reasons = _who_what_where(before, after, was, now, name_key)
    remedies: list[str] = []
    details: list[str] = []
    verdicts_before = dict(zip(was, _verdicts(before, law, on, role), strict=True))
    verdicts_after = dict(zip(now, _verdicts(after, law, on, role), strict=True))
    for key, transfer in now.items():
        if key not in was:
            continue
        old, verdict, previous = was[key], verdicts_after[key], verdicts_before[key]
        if old.location == transfer.location and verdict == previous:
            continue
        details.append(f"{transfer.label}: {previous} to {verdict}")
        mechanism_before, mechanism_after = _mechanism(old.location), _mechanism(transfer.location)
        safeguard_changed = _safeguard(old.location) != _safeguard(transfer.location)
        if verdict.worse_than(previous):
            if safeguard_changed:
                reasons.append(
                    f"changes the safeguard for {transfer.label} from {mechanism_before} to "
                    f"{mechanism_after}, and the transfer is less well protected"
                )
            else:
                reasons.append(f"leaves the transfer to {transfer.label} less well protected")
        elif safeguard_changed and verdict.better_than(previous):
            if mechanism_before == "none":
                remedies.append(f"gives {transfer.label} a safeguard: {mechanism_after}")
            elif mechanism_before != mechanism_after:
                remedies.append(
                    f"gives {transfer.label} a better safeguard: {mechanism_before} to "
                    f"{mechanism_after}"
                )
            else:
                remedies.append(f"completes the safeguard for {transfer.label}: {mechanism_after}")
    details += [f"{was[key].label}: removed" for key in was if key not in now]

    if reasons:
        kind = MATERIAL
    elif remedies:
        kind = REMEDY
    else:
        kind = HOUSEKEEPING
    return Judgement(kind, tuple(reasons), tuple(remedies), tuple(details))


def objection_deadline(effective_on: str) -> str:
    """The last day a customer may object: the day before the sub-processor takes effect."""
    return (date.fromisoformat(effective_on) - timedelta(days=1)).isoformat()


def describe(before: dict, after: dict, *, name_key: Callable[[str], str]) -> list[str]:
    """The change from `before` to `after` in facts customers are told (no verdict): who,
    where and what it adds or changes, and each safeguard whose mechanism changes."""
    was, now = _transfers(before, name_key), _transfers(after, name_key)
    facts = _who_what_where(before, after, was, now, name_key)
    for key, transfer in now.items():
        if key in was and _mechanism(was[key].location) != _mechanism(transfer.location):
            facts.append(
                f"changes the safeguard for {transfer.label} from "
                f"{_mechanism(was[key].location)} to {_mechanism(transfer.location)}"
            )
    return facts


def _who_what_where(
    before: dict,
    after: dict,
    was: dict[tuple, _Transfer],
    now: dict[tuple, _Transfer],
    name_key: Callable[[str], str],
) -> list[str]:
    """Material whatever the verdicts: a new recipient or legal entity, a new data category,
    a new transfer (a country or an activity)."""
    reasons = []
    if name_key(after["name"]) != name_key(before["name"]):
        reasons.append(f"renames the sub-processor from {before['name']} to {after['name']}")
    if _entity(before.get("legal_entity"), name_key) != _entity(
        after.get("legal_entity"), name_key
    ):
        reasons.append(
            f"changes the legal entity from {before.get('legal_entity') or 'none'} to "
            f"{after.get('legal_entity') or 'none'}"
        )
    known = set(before["data_categories"])
    reasons += [f"adds the data category {c}" for c in after["data_categories"] if c not in known]
    for key, transfer in now.items():
        if key not in was:
            reasons.append(_added(key, transfer, was))
        elif key[0] is not None and _entity(
            was[key].location.get("legal_entity"), name_key
        ) != _entity(transfer.location.get("legal_entity"), name_key):
            reasons.append(
                f"changes the legal entity of the onward recipient {transfer.location['name']} "
                f"from {was[key].location.get('legal_entity') or 'none'} to "
                f"{transfer.location.get('legal_entity') or 'none'}"
            )
    return reasons


def _entity(value: str | None, name_key: Callable[[str], str]) -> str | None:
    return None if not value else name_key(value)


def _safeguard(location: dict) -> dict | None:
    return location.get("safeguard") or None


def _mechanism(location: dict) -> str:
    return (location.get("safeguard") or {}).get("mechanism") or "none"


def _transfers(record: dict, name_key: Callable[[str], str]) -> dict[tuple, _Transfer]:
    """Each transfer of the record by (onward recipient or None, country, activity): its
    locations, then its onward transfers, in order."""
    found: dict[tuple, _Transfer] = {}
    for location in record["locations"]:
        key = (None, destination(location), location["activity"])
        found[key] = _Transfer(f"{destination(location)} ({location['activity']})", location)
    for transfer in record.get("onward_transfers") or ():
        key = (name_key(transfer["name"]), destination(transfer), transfer["activity"])
        label = (
            f"the onward transfer to {transfer['name']} in {destination(transfer)} "
            f"({transfer['activity']})"
        )
        found[key] = _Transfer(label, transfer)
    return found


def _verdicts(record: dict, law: Law, on: date, role: str) -> list[Verdict]:
    """Each transfer's verdict on `on`, in the order of _transfers, of the record exactly as
    given (no pending change applied)."""
    verdict = engine.evaluate({**record, "pending_change": None}, law, on, role=role)
    return [
        Verdict.of(judged["flags"])
        for judged in (*verdict["locations"], *verdict["onward_transfers"])
    ]


def _added(key: tuple, transfer: _Transfer, was: dict[tuple, _Transfer]) -> str:
    recipient, country, activity = key
    mechanism = _mechanism(transfer.location)
    under = f" under {mechanism}" if mechanism != "none" else " with no safeguard"
    place = (
        f"the international organisation {country}"
        if is_organisation(country)
        else f"the country {country}"
    )
    if recipient is None:
        if not any(k[0] is None and k[1] == country for k in was):
            return f"adds {place} ({activity}){under}"
        return f"adds the activity {activity} in {country}{under}"
    name = transfer.location["name"]
    if not any(k[0] == recipient for k in was):
        return f"adds {transfer.label}{under}"
    if not any(k[0] == recipient and k[1] == country for k in was):
        return f"adds {place} ({activity}) for the onward recipient {name}{under}"
    return f"adds the activity {activity} in {country} for the onward recipient {name}{under}"


def recorded_errors(retired: dict | None, today: date, notice_days: int) -> list[dict]:
    """Why a new sub-processor cannot be recorded as `already_in_use` (no notice): a record
    of the same name retired, or retiring, within the notice period (`retired`, as the store
    found it) would come back with no notice. Each error is `{pointer, detail}`, as
    http.problems.field_error makes them (this module stays free of Flask)."""
    if retired is None:
        return []
    since = today - timedelta(days=notice_days)
    if date.fromisoformat(retired["retired_on"]) < since:
        return []
    return [
        {
            "pointer": "/already_in_use",
            "detail": (
                f"{retired['name']} ({retired['id']}) retires on {retired['retired_on']}, "
                f"within the {notice_days}-day notice period: a sub-processor of this name "
                "comes back announced, with notice, not recorded as already in use."
                if retired["retired_on"] > today.isoformat()
                else f"{retired['name']} ({retired['id']}) was retired on "
                f"{retired['retired_on']}, within the {notice_days}-day notice period: a "
                "sub-processor of this name comes back announced, with notice, not recorded "
                "as already in use."
            ),
        }
    ]
