"""Reference law: strict loading of data/, and conversion to and from stored rows."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, fields, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from . import countries, taxonomy
from .model import (
    AdequacyDecision,
    InternationalOrganisation,
    Law,
    Membership,
    SCCVersion,
    ScopeCondition,
)

__all__ = [
    "CONDITIONS",
    "DECISIONS_FILE",
    "DEFAULT_DATA_DIR",
    "DEMO_CATALOGUE_FILE",
    "LAW_FILES",
    "MEMBERSHIP_FILE",
    "ORGANISATIONS_FILE",
    "SCC_FILE",
    "AdequacyDecision",
    "InternationalOrganisation",
    "Law",
    "LawDataError",
    "Membership",
    "SCCVersion",
    "law_from_records",
    "law_to_records",
    "load_demo_catalogue",
    "load_law",
]


def _default_data_dir() -> Path:
    """data/ as installed from a wheel (registry/data/), else the checkout's top-level data/."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "data"
    return installed if installed.is_dir() else package.parent / "data"


# REGISTRY_DATA (Settings.data_dir) overrides it.
DEFAULT_DATA_DIR = _default_data_dir()

MEMBERSHIP_FILE = "eea-membership.json"
DECISIONS_FILE = "adequacy-decisions.json"
SCC_FILE = "scc-versions.json"
ORGANISATIONS_FILE = "international-organisations.json"
DEMO_CATALOGUE_FILE = "demo-catalogue.json"
# The files whose bytes, in this order, make up the law version hash.
LAW_FILES = tuple(sorted((MEMBERSHIP_FILE, DECISIONS_FILE, SCC_FILE, ORGANISATIONS_FILE)))

CONDITIONS = frozenset({"certification"})
# law_enforcement: an adequacy finding under Directive (EU) 2016/680, never a GDPR safeguard.
KINDS = frozenset({"adequacy", "arrangement", "law_enforcement"})
# The top-level key of adequacy-decisions.json holding the law_enforcement acts.
LED_KEY = "law_enforcement_decisions"
_CONDITION_CODE = re.compile(r"[a-z][a-z0-9_]*")
SCC_MODULES = frozenset({1, 2, 3, 4})
# The roles a set without modules is made for: the exporter's, then the importer's.
SCC_PARTIES = frozenset({"controller_to_controller", "controller_to_processor"})

_Row = TypeVar("_Row", Membership, AdequacyDecision, SCCVersion, InternationalOrganisation)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECISION_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Lowercase, so that it can never be read as an ISO country code (always upper case).
_ORGANISATION_ID = re.compile(r"[a-z][a-z0-9_]{1,31}")
_DATE_FIELDS = {
    Membership: frozenset({"member_from", "member_until"}),
    AdequacyDecision: frozenset({"in_force_from", "ended_on", "expires_on", "adopted_on"}),
    SCCVersion: frozenset({"applies_from", "concluded_before", "valid_until"}),
    InternationalOrganisation: frozenset(),
}


class LawDataError(ValueError):
    """A reference-law data file is unreadable or holds an invalid value."""

    def __init__(self, path: Path | str, pointer: str, detail: str) -> None:
        self.path = Path(path)
        self.file = self.path.name
        self.pointer = pointer  # RFC 6901 JSON pointer into the file; "" for the whole document
        self.detail = detail
        where = f"{self.path} at {pointer}" if pointer else str(self.path)
        super().__init__(f"{where}: {detail}")


def _child(pointer: str, token: str | int) -> str:
    return f"{pointer}/{str(token).replace('~', '~0').replace('/', '~1')}"


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in an object")
        result[key] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


class _Checker:
    """Reads one JSON file and checks its values, failing with the file and a JSON pointer."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, pointer: str, detail: str) -> NoReturn:
        raise LawDataError(self.path, pointer, detail)

    def read(self) -> tuple[bytes, Any]:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            self.fail("", f"cannot read the file: {exc.strerror or exc}")
        try:
            document = json.loads(
                raw.decode("utf-8"),
                object_pairs_hook=_reject_duplicate_keys,
                parse_constant=_reject_constant,
            )
        except UnicodeDecodeError as exc:
            self.fail("", f"not UTF-8: {exc}")
        except ValueError as exc:
            self.fail("", f"not valid JSON: {exc}")
        return raw, document

    def record(
        self,
        value: Any,
        pointer: str,
        required: Iterable[str],
        optional: Iterable[str] = (),
        *,
        closed: bool = True,
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(pointer, f"expected an object, got {_json_type(value)}")
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in value:
            if closed and key not in allowed:
                self.fail(_child(pointer, key), f"unknown field {key!r}")
        for key in required:
            if key not in value:
                self.fail(_child(pointer, key), f"missing required field {key!r}")
        return value

    def array(self, value: Any, pointer: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(pointer, f"expected an array, got {_json_type(value)}")
        return value

    def text(self, value: Any, pointer: str, *, nullable: bool = False) -> str | None:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.fail(pointer, f"expected a string, got {_json_type(value)}")
        if not value.strip():
            self.fail(pointer, "must not be empty")
        return value

    def day(self, value: Any, pointer: str, *, nullable: bool = False) -> date | None:
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            self.fail(pointer, f"expected a date YYYY-MM-DD, got {value!r}")
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(pointer, f"not a valid date: {value!r}")

    def flag(self, value: Any, pointer: str) -> bool:
        if not isinstance(value, bool):
            self.fail(pointer, f"expected true or false, got {_json_type(value)}")
        return value

    def country(self, value: Any, pointer: str, *, nullable: bool = False) -> str | None:
        if value is None and nullable:
            return None
        if not countries.is_country(value):
            hint = countries.suggestion(value)
            did_you_mean = f" (did you mean {hint}?)" if hint else ""
            self.fail(pointer, f"{value!r} is not an ISO 3166-1 alpha-2 country code{did_you_mean}")
        return value

    def url(self, value: Any, pointer: str) -> str:
        text = self.text(value, pointer)
        if not text.startswith("https://"):
            self.fail(pointer, f"expected an https:// URL, got {value!r}")
        return text


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _rows(checker: _Checker, document: Any, key: str, optional: tuple = ()) -> list[Any]:
    top = checker.record(document, "", required=("description", key), optional=optional)
    checker.text(top["description"], "/description")
    return checker.array(top[key], f"/{key}")


def _parse_memberships(checker: _Checker, document: Any) -> tuple[Membership, ...]:
    memberships: list[Membership] = []
    pointers: list[str] = []
    for index, row in enumerate(_rows(checker, document, "memberships")):
        at = _child("/memberships", index)
        checker.record(
            row,
            at,
            required=("country", "member_from", "member_until", "source"),
            optional=("note",),
        )
        member_from = checker.day(row["member_from"], _child(at, "member_from"))
        member_until = checker.day(row["member_until"], _child(at, "member_until"), nullable=True)
        if member_until is not None and member_until < member_from:
            checker.fail(_child(at, "member_until"), "member_until is before member_from")
        memberships.append(
            Membership(
                country=checker.country(row["country"], _child(at, "country")),
                member_from=member_from,
                member_until=member_until,
                source=checker.text(row["source"], _child(at, "source")),
                note=checker.text(row.get("note"), _child(at, "note"), nullable=True),
            )
        )
        pointers.append(at)
    by_country: dict[str, list[int]] = {}
    for index, membership in enumerate(memberships):
        by_country.setdefault(membership.country, []).append(index)
    for indexes in by_country.values():
        indexes.sort(key=lambda i: memberships[i].member_from)
        for earlier, later in itertools.pairwise(indexes):
            until = memberships[earlier].member_until
            if until is None or until >= memberships[later].member_from:
                checker.fail(
                    _child(pointers[later], "member_from"),
                    f"overlaps the membership period at {pointers[earlier]}",
                )
    return tuple(memberships)


_DECISION_REQUIRED = (
    "id",
    "territory",
    "territory_name",
    "instrument",
    "adopted_on",
    "in_force_from",
    "source_url",
    "verified",
)
_DECISION_OPTIONAL = (
    "ended_on",
    "ended_by",
    "expires_on",
    "condition",
    "scope",
    "scope_conditions",
    "scope_conditions_note",
    "kind",
    "continues",
    "notes",
    "international_organisation",
)


def _parse_organisations(checker: _Checker, document: Any) -> tuple[InternationalOrganisation, ...]:
    organisations: list[InternationalOrganisation] = []
    seen: dict[str, str] = {}
    for index, row in enumerate(_rows(checker, document, "organisations")):
        at = _child("/organisations", index)
        checker.record(row, at, required=("id", "name", "sources", "verified"), optional=("notes",))
        organisation_id = checker.text(row["id"], _child(at, "id"))
        if not _ORGANISATION_ID.fullmatch(organisation_id):
            checker.fail(
                _child(at, "id"),
                f"{organisation_id!r} is not a lowercase identifier (a-z, 0-9, _; 2-32 long)",
            )
        if organisation_id in seen:
            checker.fail(
                _child(at, "id"),
                f"duplicate id {organisation_id!r} (first at {seen[organisation_id]})",
            )
        seen[organisation_id] = _child(at, "id")
        sources = checker.array(row["sources"], _child(at, "sources"))
        if not sources:
            checker.fail(_child(at, "sources"), "an organisation needs at least one source")
        verified = checker.flag(row["verified"], _child(at, "verified"))
        notes = checker.text(row.get("notes"), _child(at, "notes"), nullable=True)
        if not verified and notes is None:
            checker.fail(_child(at, "notes"), "an unverified organisation must say why in notes")
        organisations.append(
            InternationalOrganisation(
                id=organisation_id,
                name=checker.text(row["name"], _child(at, "name")),
                sources=tuple(
                    checker.text(source, _child(_child(at, "sources"), number))
                    for number, source in enumerate(sources)
                ),
                verified=verified,
                notes=notes,
            )
        )
    return tuple(organisations)


def _parse_decisions(
    checker: _Checker, document: Any, organisations: Iterable[str] = ()
) -> tuple[AdequacyDecision, ...]:
    decisions: list[AdequacyDecision] = []
    seen: dict[str, str] = {}
    known = frozenset(organisations)
    for index, row in enumerate(_rows(checker, document, "decisions", (LED_KEY,))):
        at = _child("/decisions", index)
        decision = _parse_decision(checker, row, at, seen)
        if decision.kind == "law_enforcement":
            checker.fail(_child(at, "kind"), f"a law_enforcement act belongs in /{LED_KEY}")
        _check_destination(checker, decision, at, known)
        decisions.append(decision)
    _check_continuations(checker, decisions)
    return tuple(decisions)


def _check_destination(
    checker: _Checker, decision: AdequacyDecision, at: str, organisations: frozenset[str]
) -> None:
    """A decision covers a country or an international organisation of that file: one of them."""
    organisation = decision.international_organisation
    if decision.territory is None and organisation is None:
        checker.fail(
            _child(at, "territory"),
            "give a territory (ISO code) or an international_organisation id",
        )
    if decision.territory is not None and organisation is not None:
        checker.fail(
            _child(at, "international_organisation"),
            "a decision covers a territory or an international organisation, not both",
        )
    if organisation is not None and organisation not in organisations:
        checker.fail(
            _child(at, "international_organisation"),
            f"{organisation!r} is not an id in {ORGANISATIONS_FILE}",
        )


def _parse_law_enforcement(checker: _Checker, document: Any) -> tuple[AdequacyDecision, ...]:
    """Adequacy findings under Directive (EU) 2016/680: kept apart from the GDPR decisions, so
    that naming one for a sub-processor is refused with that reason."""
    acts: list[AdequacyDecision] = []
    seen = {
        row.get("id"): "/decisions"
        for row in document.get("decisions", ())
        if isinstance(row, dict)
    }
    for index, row in enumerate(checker.array(document.get(LED_KEY, []), f"/{LED_KEY}")):
        at = _child(f"/{LED_KEY}", index)
        act = _parse_decision(checker, row, at, seen)
        if act.kind != "law_enforcement":
            checker.fail(_child(at, "kind"), "expected 'law_enforcement'")
        acts.append(act)
    return tuple(acts)


def _parse_decision(checker: _Checker, row: Any, at: str, seen: dict[str, str]) -> AdequacyDecision:
    """One decision; `seen` maps the ids read so far to where they were."""
    checker.record(row, at, required=_DECISION_REQUIRED, optional=_DECISION_OPTIONAL)
    decision_id = checker.text(row["id"], _child(at, "id"))
    if not _DECISION_ID.fullmatch(decision_id):
        checker.fail(_child(at, "id"), f"{decision_id!r} is not a lowercase, hyphenated identifier")
    if decision_id in seen:
        checker.fail(
            _child(at, "id"), f"duplicate id {decision_id!r} (first at {seen[decision_id]})"
        )
    seen[decision_id] = _child(at, "id")
    in_force_from, ended_on, ended_by, expires_on = _decision_period(checker, row, at)
    condition = row.get("condition")
    if condition is not None and condition not in CONDITIONS:
        checker.fail(
            _child(at, "condition"),
            f"unknown condition {condition!r} (expected one of {sorted(CONDITIONS)} or null)",
        )
    verified = checker.flag(row["verified"], _child(at, "verified"))
    notes = checker.text(row.get("notes"), _child(at, "notes"), nullable=True)
    if not verified and notes is None:
        checker.fail(_child(at, "notes"), "an unverified decision must say why in notes")
    adopted_on = checker.day(row["adopted_on"], _child(at, "adopted_on"))
    if ended_on is not None and adopted_on >= ended_on:
        checker.fail(_child(at, "adopted_on"), "adopted_on must be before ended_on")
    kind = row.get("kind", "adequacy")
    if kind not in KINDS:
        checker.fail(_child(at, "kind"), f"unknown kind {kind!r} (expected {sorted(KINDS)})")

    def text(field: str) -> Any:
        return checker.text(row.get(field), _child(at, field), nullable=True)

    return AdequacyDecision(
        id=decision_id,
        territory=checker.country(row["territory"], _child(at, "territory"), nullable=True),
        territory_name=checker.text(row["territory_name"], _child(at, "territory_name")),
        instrument=checker.text(row["instrument"], _child(at, "instrument")),
        in_force_from=in_force_from,
        ended_on=ended_on,
        ended_by=ended_by,
        expires_on=expires_on,
        condition=condition,
        scope=text("scope"),
        source_url=checker.url(row["source_url"], _child(at, "source_url")),
        verified=verified,
        notes=notes,
        adopted_on=adopted_on,
        kind=kind,
        continues=text("continues"),
        scope_conditions=_parse_scope_conditions(
            checker, row.get("scope_conditions", []), _child(at, "scope_conditions")
        ),
        scope_conditions_note=text("scope_conditions_note"),
        international_organisation=text("international_organisation"),
    )


def _decision_period(checker: _Checker, row: Any, at: str) -> tuple:
    """in_force_from, ended_on, ended_by, expires_on, checked against each other."""
    in_force_from = checker.day(row["in_force_from"], _child(at, "in_force_from"))
    ended_on = checker.day(row.get("ended_on"), _child(at, "ended_on"), nullable=True)
    ended_by = checker.text(row.get("ended_by"), _child(at, "ended_by"), nullable=True)
    expires_on = checker.day(row.get("expires_on"), _child(at, "expires_on"), nullable=True)
    if ended_on is not None and ended_on <= in_force_from:
        checker.fail(_child(at, "ended_on"), "ended_on must be after in_force_from")
    if (ended_on is None) != (ended_by is None):
        checker.fail(
            _child(at, "ended_by" if ended_by is None else "ended_on"),
            "ended_on and ended_by go together: give both or neither",
        )
    if expires_on is not None and expires_on < in_force_from:
        checker.fail(_child(at, "expires_on"), "expires_on is before in_force_from")
    return in_force_from, ended_on, ended_by, expires_on


def _parse_scope_conditions(checker: _Checker, value: Any, pointer: str) -> tuple:
    conditions = []
    for index, row in enumerate(checker.array(value, pointer)):
        at = _child(pointer, index)
        checker.record(
            row, at, required=("code", "text", "source_url"), optional=("data_categories",)
        )
        code = checker.text(row["code"], _child(at, "code"))
        if not _CONDITION_CODE.fullmatch(code):
            checker.fail(_child(at, "code"), f"{code!r} is not a lowercase snake_case code")
        if code in (c.code for c in conditions):
            checker.fail(_child(at, "code"), f"duplicate condition code {code!r}")
        conditions.append(
            ScopeCondition(
                code=code,
                text=checker.text(row["text"], _child(at, "text")),
                source_url=checker.url(row["source_url"], _child(at, "source_url")),
                data_categories=_condition_categories(
                    checker, row.get("data_categories", []), _child(at, "data_categories")
                ),
            )
        )
    return tuple(conditions)


def _condition_categories(checker: _Checker, value: Any, pointer: str) -> tuple[str, ...]:
    """The data categories a scope condition is limited to: fideslang keys."""
    keys = checker.array(value, pointer)
    for index, key in enumerate(keys):
        if not isinstance(key, str) or not taxonomy.is_data_category(key):
            checker.fail(_child(pointer, index), f"{key!r} is not a fideslang data category")
    return tuple(keys)


def _check_continuations(checker: _Checker, decisions: list[AdequacyDecision]) -> None:
    """An act continues an earlier act of the same territory, from the day after its end."""
    by_id = {d.id: (index, d) for index, d in enumerate(decisions)}
    for index, decision in enumerate(decisions):
        if decision.continues is None:
            continue
        at = _child(_child("/decisions", index), "continues")
        found = by_id.get(decision.continues)
        if found is None or found[1] is decision:
            checker.fail(at, f"{decision.continues!r} is not another decision in this file")
        earlier = found[1]
        if earlier.destination != decision.destination:
            checker.fail(at, f"{earlier.id} covers another territory")
        if earlier.last_day() is None or (decision.in_force_from - earlier.last_day()).days != 1:
            checker.fail(at, f"{decision.id} must start the day after {earlier.id} ends")
        if decision.adopted < earlier.adopted:
            checker.fail(at, f"{decision.id} is adopted before the act it continues")


def _parse_modules(checker: _Checker, value: Any, pointer: str) -> tuple[int, ...]:
    modules = checker.array(value, pointer)
    for index, module in enumerate(modules):
        if isinstance(module, bool) or not isinstance(module, int) or module not in SCC_MODULES:
            checker.fail(_child(pointer, index), f"expected a module number 1-4, got {module!r}")
        if module in modules[:index]:
            checker.fail(_child(pointer, index), f"duplicate module {module}")
    return tuple(modules)


def _parse_scc_versions(checker: _Checker, document: Any) -> tuple[SCCVersion, ...]:
    versions: list[SCCVersion] = []
    seen: dict[str, str] = {}
    for index, row in enumerate(_rows(checker, document, "versions")):
        at = _child("/versions", index)
        checker.record(
            row,
            at,
            required=("id", "instrument", "applies_from", "modules", "source_url", "verified"),
            optional=("concluded_before", "valid_until", "notes", "parties"),
        )
        version_id = checker.text(row["id"], _child(at, "id"))
        if version_id in seen:
            checker.fail(
                _child(at, "id"), f"duplicate id {version_id!r} (first at {seen[version_id]})"
            )
        seen[version_id] = _child(at, "id")
        applies_from = checker.day(row["applies_from"], _child(at, "applies_from"))
        concluded_before = checker.day(
            row.get("concluded_before"), _child(at, "concluded_before"), nullable=True
        )
        valid_until = checker.day(row.get("valid_until"), _child(at, "valid_until"), nullable=True)
        if concluded_before is not None and concluded_before <= applies_from:
            checker.fail(
                _child(at, "concluded_before"), "concluded_before must be after applies_from"
            )
        if valid_until is not None and valid_until < applies_from:
            checker.fail(_child(at, "valid_until"), "valid_until is before applies_from")
        verified = checker.flag(row["verified"], _child(at, "verified"))
        notes = checker.text(row.get("notes"), _child(at, "notes"), nullable=True)
        if not verified and notes is None:
            checker.fail(_child(at, "notes"), "an unverified version must say why in notes")
        parties = checker.text(row.get("parties"), _child(at, "parties"), nullable=True)
        if parties is not None and parties not in SCC_PARTIES:
            checker.fail(
                _child(at, "parties"),
                f"unknown parties {parties!r} (expected {sorted(SCC_PARTIES)})",
            )
        versions.append(
            SCCVersion(
                id=version_id,
                instrument=checker.text(row["instrument"], _child(at, "instrument")),
                applies_from=applies_from,
                concluded_before=concluded_before,
                valid_until=valid_until,
                modules=_parse_modules(checker, row["modules"], _child(at, "modules")),
                source_url=checker.url(row["source_url"], _child(at, "source_url")),
                verified=verified,
                notes=notes,
                parties=parties,
            )
        )
    return tuple(versions)


def _data_dir(data_dir: Path | str | None) -> Path:
    return DEFAULT_DATA_DIR if data_dir is None else Path(data_dir)


def load_law(data_dir: Path | str | None = None) -> Law:
    """Read and strictly validate the law files; the version is their SHA-256."""
    directory = _data_dir(data_dir)
    raw: dict[str, bytes] = {}
    documents: dict[str, Any] = {}
    for name in LAW_FILES:
        raw[name], documents[name] = _Checker(directory / name).read()
    organisations = _parse_organisations(
        _Checker(directory / ORGANISATIONS_FILE), documents[ORGANISATIONS_FILE]
    )
    return Law(
        memberships=_parse_memberships(
            _Checker(directory / MEMBERSHIP_FILE), documents[MEMBERSHIP_FILE]
        ),
        decisions=_parse_decisions(
            _Checker(directory / DECISIONS_FILE),
            documents[DECISIONS_FILE],
            (o.id for o in organisations),
        ),
        scc_versions=_parse_scc_versions(_Checker(directory / SCC_FILE), documents[SCC_FILE]),
        version=hashlib.sha256(b"".join(raw[name] for name in LAW_FILES)).hexdigest(),
        organisations=organisations,
        law_enforcement=_parse_law_enforcement(
            _Checker(directory / DECISIONS_FILE), documents[DECISIONS_FILE]
        ),
    )


def load_demo_catalogue(data_dir: Path | str | None = None) -> list[dict[str, Any]]:
    """The demo sub-processors: POST /v1/subprocessors bodies, countries and categories checked."""
    checker = _Checker(_data_dir(data_dir) / DEMO_CATALOGUE_FILE)
    _, document = checker.read()
    entries = _rows(checker, document, "subprocessors")
    for index, entry in enumerate(entries):
        at = _child("/subprocessors", index)
        checker.record(entry, at, required=("name", "locations"), closed=False)
        for number, location in enumerate(
            checker.array(entry["locations"], _child(at, "locations"))
        ):
            where = _child(_child(at, "locations"), number)
            checker.record(location, where, required=("country",), closed=False)
            checker.country(location["country"], _child(where, "country"))
        categories = checker.array(entry.get("data_categories", []), _child(at, "data_categories"))
        for number, key in enumerate(categories):
            if not taxonomy.is_data_category(key):
                checker.fail(
                    _child(_child(at, "data_categories"), number),
                    f"{key!r} is not a fideslang data category",
                )
    return entries


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A nested record with its tuples as lists, as JSON gives them back."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in row.items()}


def _to_row(
    item: Membership | AdequacyDecision | SCCVersion | InternationalOrganisation,
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for spec in fields(item):
        value = getattr(item, spec.name)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = [_plain(asdict(v)) if is_dataclass(v) else v for v in value]
        row[spec.name] = value
    return row


def _from_row(cls: type[_Row], row: Mapping[str, Any]) -> _Row:
    dates = _DATE_FIELDS[cls]
    values: dict[str, Any] = {}
    for spec in fields(cls):
        if spec.name not in row:
            continue
        value = row[spec.name]
        if spec.name in dates and isinstance(value, str):
            value = date.fromisoformat(value)
        elif spec.name == "modules":
            value = tuple(int(m) for m in (json.loads(value) if isinstance(value, str) else value))
        elif spec.name == "verified":
            value = bool(value)
        elif spec.name == "scope_conditions":
            value = tuple(
                ScopeCondition(**{**c, "data_categories": tuple(c.get("data_categories", ()))})
                for c in value
            )
        elif spec.name == "sources":
            value = tuple(value)
        values[spec.name] = value
    return cls(**values)


def law_to_records(law: Law) -> dict[str, list[dict[str, Any]]]:
    """The law as plain JSON-able rows (ISO date strings, modules as lists), one list per kind."""
    return {
        "memberships": [_to_row(m) for m in law.memberships],
        "decisions": [_to_row(d) for d in law.decisions],
        "scc_versions": [_to_row(s) for s in law.scc_versions],
        "organisations": [_to_row(o) for o in law.organisations],
        "law_enforcement": [_to_row(d) for d in law.law_enforcement],
    }


def law_from_records(records: Mapping[str, Iterable[Mapping[str, Any]]], version: str) -> Law:
    """The inverse of law_to_records; also accepts SQLite's 0/1 booleans and JSON-text modules."""
    return Law(
        memberships=tuple(_from_row(Membership, row) for row in records["memberships"]),
        decisions=tuple(_from_row(AdequacyDecision, row) for row in records["decisions"]),
        scc_versions=tuple(_from_row(SCCVersion, row) for row in records["scc_versions"]),
        version=version,
        # Law versions stored before organisations were reference data have none.
        organisations=tuple(
            _from_row(InternationalOrganisation, row) for row in records.get("organisations", ())
        ),
        # Law versions stored before these acts were reference data have none.
        law_enforcement=tuple(
            _from_row(AdequacyDecision, row) for row in records.get("law_enforcement", ())
        ),
    )
