"""Import a register from a spreadsheet or JSON, all or nothing.

An import is the catalogue's own writes, many in one transaction: each sub-processor is loaded
by the schema a POST uses and written by subprocessors.service.create or .update, so versions,
history, the audit trail, the change feed, webhooks and change control apply exactly as for a
single write. Any error rolls the whole transaction back; a dry run always does. The columns
are in columns.py; exporting.py writes the register out in the same ones.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import marshmallow as ma

from ..errors import RegistryError, TooLarge, ValidationFailed, field_error
from ..http.problems import marshmallow_errors
from ..law import countries
from ..law.destinations import destination
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from ..subprocessors.schemas import SubprocessorCreateSchema, SubprocessorUpdateSchema
from . import columns, formats
from .columns import (
    BOOLEAN_COLUMNS,
    COLUMNS,
    DEFAULT_SCC_VERSION,
    DPF_DECISION,
    HEADERS,
    LIST_COLUMNS,
    LOCATION_COLUMNS,
    NO_SAFEGUARD,
    REQUIRED_COLUMNS,
    SAFEGUARD_COLUMNS,
    SUBPROCESSOR_COLUMNS,
    TEXT_COLUMNS,
    TIA_COLUMNS,
)
from .formats import CSV, JSON, XLSX

_TRUE, _FALSE = frozenset({"true", "yes", "1"}), frozenset({"false", "no", "0"})

MAX_ERRORS = 1_000  # listed in a 422; the detail counts them all
UNPACK_FACTOR = 10  # an XLSX may unpack to this many times REGISTRY_MAX_IMPORT
# A worksheet's rows may be numbered up to MAX_ROWS and this many more: the header, title
# rows above it and blank rows; a higher row number, in a cell, a row or the sheet's dimension, is
# 413 before any row is read. Columns: the import's, and room for columns it ignores.
SHEET_ROWS_ROOM = 100
MAX_COLUMNS = 200
MAX_CELLS = 500_000  # cells written in one worksheet (an export of MAX_ROWS rows has 190,000)
_OUTCOMES = ("created", "updated", "unchanged")
HEADER_SEARCH = 20  # non-blank rows searched for the header (title rows above it are skipped)
_DPF = frozenset(
    {"dpf", "eu-us dpf", "eu us dpf", "eu-us data privacy framework", "data privacy framework"}
)
_SCC = re.compile(r"^(?:eu )?(?:sccs?|standard contractual clauses)\b\W*(?P<rest>.*)$")
_MODULE = re.compile(r"^(?:module\s*)?(?P<module>\d{1,3})$")
_LABELS = {
    "adequacy": "adequacy",
    "adequacy decision": "adequacy",
    "bcr": "bcr",
    "bcrs": "bcr",
    "binding corporate rules": "bcr",
    "derogation": "derogation",
    "derogations": "derogation",
    "code of conduct": "code_of_conduct",
    "codes of conduct": "code_of_conduct",
    "approved code of conduct": "code_of_conduct",
    "certification": "certification",
    "certification mechanism": "certification",
    "approved certification mechanism": "certification",
    "ad hoc clauses": "ad_hoc_clauses",
    "ad hoc contractual clauses": "ad_hoc_clauses",
    "administrative arrangement": "administrative_arrangement",
    "administrative arrangements": "administrative_arrangement",
    "public authority instrument": "public_authority_instrument",
    "public authority instruments": "public_authority_instrument",
    "instrument between public authorities": "public_authority_instrument",
    "instrument between public bodies": "public_authority_instrument",
}
_LIST = re.compile(r"[\s;,]+")
_SEPARATORS = re.compile(r"[-_\s]+")


class ImportInvalid(ValidationFailed):
    """422: the rows (or elements) at fault, each `{row, pointer, detail}`; nothing written."""

    def __init__(self, errors: list[dict]):
        errors = sorted(_unique(errors), key=lambda e: e.get("row") or 0)
        rows = {e.get("row") for e in errors}
        if len(errors) == 1:
            only = errors[0]
            where = f"Row {only['row']}, " if only.get("row") else ""
            detail = f"{where}{only['pointer'] or '/'}: {only['detail']} Nothing was imported."
        else:
            detail = f"{len(errors)} errors in {len(rows)} rows; nothing was imported" + (
                f" (the first {MAX_ERRORS} are listed)." if len(errors) > MAX_ERRORS else "."
            )
        super().__init__(errors[:MAX_ERRORS], detail)


def _unique(errors: list[dict]) -> list[dict]:
    seen, kept = set(), []
    for error in errors:
        key = (error.get("row"), error["pointer"], error["detail"])
        if key not in seen:
            seen.add(key)
            kept.append(error)
    return kept


def row_error(row: int | None, pointer: str, detail: str) -> dict:
    error = {"row": row} if row is not None else {}
    return {**error, "pointer": pointer, "detail": detail}


@dataclass
class Item:
    """One sub-processor of the file: the body a POST would take, and where it came from."""

    body: dict
    row: int  # its first row (the header is row 1), or its 1-based place in a JSON array
    location_rows: list[int] = field(default_factory=list)  # the row of each location
    tabular: bool = False  # from CSV or XLSX: pointers name columns
    # Locations from a cell naming several countries: the row's safeguard is for those of
    # them outside the EEA.
    shared: set[int] = field(default_factory=set)
    # Locations whose country cell was already reported as no country.
    reported: set[int] = field(default_factory=set)
    # The register's id it names (the `id` column, or `id` of a JSON element): matched first.
    id: str | None = None
    # Locations whose destination is text that is no country: an international organisation's
    # id or name, which the register's law resolves (`_resolve`). Per location's index: its
    # row, the text and the column it is in.
    places: dict[int, tuple[int, str, str]] = field(default_factory=dict)


@dataclass
class Upload:
    items: list[Item]
    rows: int
    errors: list[dict]
    warnings: list[dict] = field(default_factory=list)


# Reading


def read(data: bytes, media_type: str, *, max_bytes: int, charset: str = "utf-8") -> Upload:
    """The sub-processors of a file. Raises Malformed (400), TooLarge (413) or, for an empty
    file or a wrong header, ImportInvalid (422); errors of single rows are in `errors`."""
    if len(data) > max_bytes:
        raise TooLarge(
            f"The file is {len(data)} bytes, over the import limit of {max_bytes} bytes "
            "(REGISTRY_MAX_IMPORT): split it into several imports."
        )
    if not data.strip():
        raise ImportInvalid([row_error(None, "", "The file is empty.")])
    if media_type == JSON:
        return _from_json(formats.read_json(data))
    try:
        if media_type == CSV:
            table = formats.read_csv(data, charset)
        elif media_type == XLSX:
            table = formats.read_xlsx(
                data, max_unpacked=UNPACK_FACTOR * max_bytes, limits=sheet_limits(max_bytes)
            )
        else:
            raise ValueError(media_type)
    except formats.BadRow as exc:  # in the header
        raise ImportInvalid([row_error(exc.row, "", exc.detail)]) from None
    return _from_table(table)


def sheet_limits(max_bytes: int) -> formats.SheetLimits:
    """What a workbook may hold: shared strings no more than its cells, and no more characters
    than the import limit has bytes."""
    return formats.SheetLimits(
        rows=columns.MAX_ROWS + SHEET_ROWS_ROOM,
        columns=MAX_COLUMNS,
        cells=MAX_CELLS,
        strings=MAX_CELLS,
        characters=max_bytes,
    )


def _too_many(count: int, what: str) -> TooLarge:
    return TooLarge(
        f"The file has more than {columns.MAX_ROWS:,} {what}; an import takes at most "
        f"{columns.MAX_ROWS:,}: "
        "split it into several imports (rows of one sub-processor stay together)."
    )


def _from_json(document) -> Upload:
    if not isinstance(document, list):
        raise ImportInvalid(
            [row_error(None, "", "Send a JSON array of sub-processors, each as a POST takes it.")]
        )
    if not document:
        raise ImportInvalid([row_error(None, "", "The array is empty.")])
    if len(document) > columns.MAX_ROWS:
        raise _too_many(len(document), "elements")
    items, errors = [], []
    for index, element in enumerate(document, start=1):
        given = None
        if isinstance(element, dict) and "id" in element:
            element = dict(element)
            given = element.pop("id")
            if given is not None and not isinstance(given, str):
                errors.append(row_error(index, "/id", "Not a valid string."))
                given = None
        items.append(Item(body=element, row=index, id=given or None))
    return Upload(items, len(document), errors)


def _is_header(cells: list[str]) -> bool:
    """A row naming the sub-processor's column and at least one other the import reads."""
    known = {HEADERS.get(columns.header_key(cell)) for cell in cells} - {None}
    return "name" in known and len(known) > 1


def _header(
    table: formats.Table,
) -> tuple[list[str | None], list[dict], Iterator[tuple[int, list[str]]]]:
    """The header row (the first that names known columns, title rows above it skipped): the
    column each cell names (None: ignored), warnings, and the rows below it."""
    if not table.header:
        raise ImportInvalid([row_error(None, "", "The file is empty.")])
    candidates = itertools.chain([(table.header_row, table.header)], table.rows)
    searched = itertools.islice(candidates, HEADER_SEARCH)
    found = next((numbered for numbered in searched if _is_header(numbered[1])), None)
    if found is None:
        raise ImportInvalid(
            [
                row_error(
                    None,
                    "",
                    f"No header row in the first {HEADER_SEARCH} rows: the header names the "
                    "columns, among them `name` (or `Vendor`, `Sub-processor`) and `country` "
                    "(or `Location(s)`, `Countries`).",
                )
            ]
        )
    row, cells = found
    header: list[str | None] = []
    errors, warnings = [], []
    for index, text in enumerate(cells):
        column = HEADERS.get(columns.header_key(text))
        if not text.strip():
            column = None  # a column without a header: its cells are not read
        elif column is None:
            warnings.append(
                row_error(
                    row,
                    f"/{text.strip()}",
                    f"Column {index + 1}, {text.strip()!r}, is not one the import reads: "
                    "it was ignored.",
                )
            )
        elif column in header:
            errors.append(row_error(row, f"/{column}", f"Two columns are {column!r}."))
        header.append(column)
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        errors.append(row_error(row, "", f"Missing columns: {', '.join(missing)}."))
    if errors:
        raise ImportInvalid(errors)
    return header, warnings, candidates


def _from_table(table: formats.Table) -> Upload:
    header, warnings, rows = _header(table)
    errors: list[dict] = []
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    count = 0
    try:
        for number, cells in rows:
            count += 1
            if count > columns.MAX_ROWS:
                raise _too_many(count, "rows")
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                errors.append(row_error(number, "", "The row has cells beyond the last column."))
                continue
            values = dict.fromkeys(COLUMNS, "")
            for column, value in zip(header, cells, strict=False):
                if column is not None:
                    values[column] = (
                        value if column in TEXT_COLUMNS and value.strip() else value.strip()
                    )
            if not values["name"]:
                errors.append(row_error(number, "/name", "Every row names its sub-processor."))
                continue
            groups.setdefault(subprocessors.name_key(values["name"]), []).append((number, values))
    except formats.BadRow as exc:
        errors.append(row_error(exc.row, "", exc.detail))
    if not count and not errors:
        raise ImportInvalid([row_error(None, "", "The file has a header but no rows.")])
    items = []
    for rows in groups.values():
        item, found = _group(rows)
        items.append(item)
        errors += found
    items.sort(key=lambda item: item.row)
    return Upload(items, count, errors, warnings)


def _group(rows: list[tuple[int, dict[str, str]]]) -> tuple[Item, list[dict]]:
    """The rows of one sub-processor as the body a POST takes; rows that disagree on a
    sub-processor's column are errors."""
    first_row, first = rows[0]
    errors = []
    # The id may be given on some rows only (a location added below an exported one).
    ids = [(number, values["id"]) for number, values in rows if values["id"]]
    for number, other in ids[1:]:
        if other != ids[0][1]:
            errors.append(
                row_error(
                    number,
                    "/id",
                    f"Differs from row {ids[0][0]}, the first row of {first['name']!r} with an "
                    "id: every row of a sub-processor gives the same id (or none).",
                )
            )
    for number, values in rows[1:]:
        for column in SUBPROCESSOR_COLUMNS[1:]:  # all but `id`
            if values[column] != first[column]:
                errors.append(
                    row_error(
                        number,
                        f"/{column}",
                        f"Differs from row {first_row}, the first row of {first['name']!r}: "
                        f"every row of a sub-processor gives the same {column}.",
                    )
                )
    body: dict = {
        "name": first["name"],
        "legal_entity": first["legal_entity"] or None,
        "purpose": first["purpose"] or None,
    }
    if first["service"]:
        body["service"] = first["service"]
    if first["data_categories"]:
        body["data_categories"] = [k for k in _LIST.split(first["data_categories"]) if k]
    if first["effective_on"]:
        body["effective_on"] = first["effective_on"]
    if first["already_in_use"]:
        body["already_in_use"] = _boolean(first["already_in_use"])
    if first["exporter_role"]:  # empty: the default for a new one, unchanged for a known one
        body["exporter_role"] = first["exporter_role"]
    locations, location_rows, shared, reported = [], [], set(), set()
    places: dict[int, tuple[int, str, str]] = {}
    for number, values in rows:
        safeguard = _safeguard(number, values, errors)
        before = len(errors)
        codes = _countries(number, values["country"], errors)
        if len(errors) > before:
            reported.add(len(locations))
        for code in codes:
            if code is not None and countries.is_country(code):
                location = {"country": code}
            else:
                location = {}
                if code is not None:  # no country: perhaps an organisation
                    places[len(locations)] = (number, code, "country")
            location["activity"] = values["activity"]
            if values["international_organisation"]:
                location["international_organisation"] = values["international_organisation"]
                places.setdefault(
                    len(locations),
                    (number, values["international_organisation"], "international_organisation"),
                )
            if not location["activity"]:
                del location["activity"]
            if safeguard is not None:
                location["safeguard"] = copy.deepcopy(safeguard)
            if len(codes) > 1:
                shared.add(len(locations))
            locations.append(location)
            location_rows.append(number)
    body["locations"] = locations
    item = Item(
        body,
        first_row,
        location_rows,
        tabular=True,
        shared=shared,
        reported=reported,
        id=ids[0][1] if ids else None,
        places=places,
    )
    return item, errors


def _countries(number: int, cell: str, errors: list[dict]) -> list[str | None]:
    """The destinations a `country` cell names: one code or English name, or several separated
    by `;` or `,` (a name with a comma in it, "Korea, Republic of", is one). A country is its
    code; any other text is returned as written, for `_resolve` to take as an international
    organisation's id or name (or to report). None: left to the schema (an empty cell)."""
    if not cell or countries.from_text(cell):
        return [countries.from_text(cell) if cell else None]
    parts = [part.strip() for part in re.split(";" if ";" in cell else ",", cell)]
    found: list[str | None] = []
    for part in filter(None, parts):
        code = countries.from_text(part) or part
        if code not in found:
            found.append(code)
    return found or [None]


def _not_a_destination(text: str, column: str, law) -> str:
    """Why `text` in `column` is neither a country nor an international organisation."""
    known = ", ".join(f"{o.id} ({o.name})" for o in sorted(law.organisations, key=lambda o: o.id))
    if column == "international_organisation":
        return (
            f"{text!r} is not an international organisation's id or English name; known: "
            f"{known} (GET /v1/international-organisations)."
        )
    near = countries.nearest(text)
    hint = f" Did you mean {near[0]!r} ({near[1]})?" if near else ""
    return (
        f"{text!r} is not an ISO 3166-1 alpha-2 country code (DE) or an English country name "
        f"(Germany), nor an international organisation's id or name ({known}); separate "
        f"several with `;`.{hint}"
    )


def _organisation(text: str, law) -> str | None:
    """The id of the international organisation `text` names: its id or its English name, in
    any case and spacing."""
    wanted = " ".join(text.casefold().split())
    by_id = [o.id for o in law.organisations if o.id.casefold() == wanted]
    by_name = [o.id for o in law.organisations if " ".join(o.name.casefold().split()) == wanted]
    found = by_id or by_name
    return found[0] if len(found) == 1 else None  # a name two share names neither


def _resolve(registry: Registry, upload: Upload) -> None:
    """Each destination that is no country, as the international organisation it names (by id
    or name, in the register's law); one that names none is an error at its row and column."""
    law = registry.law()
    for item in upload.items:
        for index, (number, text, column) in item.places.items():
            location = item.body["locations"][index]
            found = _organisation(text, law)
            if found is not None:
                location["international_organisation"] = found
            else:
                location.pop("international_organisation", None)
                upload.errors.append(
                    row_error(number, f"/{column}", _not_a_destination(text, column, law))
                )
                item.reported.add(index)


def _safeguard(number: int, values: dict[str, str], errors: list[dict]) -> dict | None:
    """The safeguard a row's `mechanism` cell (a key or a label) and the columns after it say."""
    fields = {
        column: _typed(column, values[column]) for column in SAFEGUARD_COLUMNS[1:] if values[column]
    }
    tia = {
        name: _list(values[column]) if column in LIST_COLUMNS else values[column]
        for column, name in TIA_COLUMNS.items()
        if values[column].strip()
    }
    if tia:  # a TIA record, dated by `tia_completed_on`
        if "tia_completed_on" in fields:
            tia = {"completed_on": fields.pop("tia_completed_on"), **tia}
        fields["tia"] = tia
    label = " ".join(values["mechanism"].casefold().split())
    if label in NO_SAFEGUARD:
        errors += [
            row_error(number, f"/{column}", "Only with a `mechanism` (the safeguard it is of).")
            for column in fields
            if column != "tia"
        ]
        errors += [
            row_error(number, f"/{column}", "Only with a `mechanism` (the safeguard it is of).")
            for column in TIA_COLUMNS
            if values[column].strip()
        ]
        return None
    scc = _SCC.match(label) or _SCC.match(f"scc {label}" if _MODULE.match(label) else "")
    if label in _DPF:
        safeguard = {"mechanism": "adequacy", "adequacy_decision": DPF_DECISION, "certified": True}
    elif scc:
        safeguard = {"mechanism": "scc", "scc_version": DEFAULT_SCC_VERSION}
        module = _MODULE.match(scc["rest"].strip(" ()"))
        if module:
            safeguard["scc_module"] = int(module["module"])
        elif scc["rest"]:
            errors.append(
                row_error(number, "/mechanism", f"{values['mechanism']!r}: write `SCC Module 3`.")
            )
    else:
        mechanism = _LABELS.get(label) or _LABELS.get(_SEPARATORS.sub(" ", label), label)
        safeguard = {"mechanism": mechanism}
    return {**safeguard, **fields}


def _list(cell: str) -> list[str]:
    """A list cell's items: one a line, or, in a cell without a line break, separated by `;`;
    each without surrounding spaces, blank ones dropped."""
    lines = cell.splitlines() if "\n" in cell or "\r" in cell else cell.split(";")
    return [item.strip() for item in lines if item.strip()]


def _boolean(text: str):
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return text  # the schema says what is wrong with it


def _typed(column: str, text: str):
    if column in BOOLEAN_COLUMNS:
        return _boolean(text)
    module = _MODULE.match(text.casefold()) if column == "scc_module" and text.isascii() else None
    if module:
        return int(module["module"])
    return text


# Where an error is, in the file


def _locate(item: Item, error: dict) -> dict:
    """An error of the body (a JSON pointer into it) at its row and, for a table, its column."""
    pointer, detail = error["pointer"], error["detail"]
    if not item.tabular:
        return row_error(item.row, pointer, detail)
    parts = pointer.split("/")[1:] if pointer else []
    row, column = item.row, parts[0] if parts else ""
    if column == "locations":
        column = "country"
        if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(item.location_rows):
            row = item.location_rows[int(parts[1])]
            rest = parts[2:]
            if rest and rest[0] == "safeguard":
                named = rest[1] if len(rest) > 1 else "mechanism"
                column = named if named in SAFEGUARD_COLUMNS else "mechanism"
                if named == "tia":  # the record's fields are in the `tia_` columns
                    column = f"tia_{rest[2]}" if len(rest) > 2 else "tia_completed_on"
                    column = column if column in TIA_COLUMNS else "tia_completed_on"
            elif rest and rest[0] in LOCATION_COLUMNS:
                column = rest[0]
    elif column == "onward_transfers":
        # Not in the columns: the ones on the register are kept, and checked again.
        place = f" {int(parts[1]) + 1}" if len(parts) > 1 and parts[1].isdigit() else "s"
        column, detail = "name", f"Onward transfer{place} (kept from the register): {detail}"
    elif column == "data_categories":
        pass  # one cell holds them all
    return row_error(row, f"/{column}" if column else "", detail)


def _located(item: Item, errors: list[dict]) -> list[dict]:
    return [_locate(item, error) for error in errors]


# Writing


def _validated(items: list[Item]) -> tuple[list[tuple[Item, dict]], list[dict]]:
    """Each body loaded by the schema a POST uses; a name given twice (JSON) is an error."""
    schema = SubprocessorCreateSchema()
    loaded, errors, seen = [], [], {}
    for item in items:
        name = item.body.get("name") if isinstance(item.body, dict) else None
        if isinstance(name, str) and not item.tabular:
            key = subprocessors.name_key(name)
            if key in seen:
                errors.append(
                    row_error(
                        item.row, "/name", f"Element {seen[key]} has this name: give each once."
                    )
                )
                continue
            seen[key] = item.row
        try:
            loaded.append((item, schema.load(item.body)))
        except ma.ValidationError as exc:
            reported = {f"/locations/{index}/country" for index in item.reported}
            found = [e for e in marshmallow_errors(exc.messages) if e["pointer"] not in reported]
            errors += _located(item, found)
    return loaded, errors


def _kept(current: list[dict], imported: list[dict]) -> list[dict]:
    """What the columns cannot say is kept from the location with the same destination (country
    or international organisation) and activity: `importer_subject_to_gdpr`,
    `scope_attestations` while the safeguard stays adequacy under the same decision, and how
    a TIA was given (see `_tia_kept`)."""
    by_place = {(destination(loc), loc["activity"]): loc for loc in current}
    kept = []
    for location in imported:
        before = by_place.get((destination(location), location.get("activity")))
        if before is not None:
            location = dict(location)
            if "importer_subject_to_gdpr" in before:
                location["importer_subject_to_gdpr"] = before["importer_subject_to_gdpr"]
            old, new = before.get("safeguard") or {}, location.get("safeguard") or {}
            if (
                "scope_attestations" in old
                and new.get("mechanism") == "adequacy"
                and new.get("adequacy_decision") == old.get("adequacy_decision")
            ):
                location["safeguard"] = {**new, "scope_attestations": old["scope_attestations"]}
            if new.get("tia") and old.get("tia"):
                location["safeguard"] = _tia_kept(old, location["safeguard"])
        kept.append(location)
    return kept


def _tia_kept(old: dict, new: dict) -> dict:
    """One date column holds a TIA record's date and its shorthand's: a record given with the
    shorthand too keeps it while the date stays, and a list given empty stays empty while the
    file leaves its cell empty."""
    tia = dict(new["tia"])
    for name in ("laws_assessed", "supplementary_measures"):
        if name not in tia and old["tia"].get(name) == []:
            tia[name] = []
    kept = {**new, "tia": tia}
    shorthand = old.get("tia_completed_on")
    if shorthand and "tia_completed_on" not in new and tia.get("completed_on") == shorthand:
        kept["tia_completed_on"] = shorthand
    return kept


def _changes(current: dict, data: dict, item: Item) -> dict:
    """The PATCH that makes the record what the file says: only what differs."""
    wanted = {
        "name": data["name"],
        "legal_entity": data.get("legal_entity"),
        "service": data["service"],
        "purpose": data.get("purpose"),
        "data_categories": data["data_categories"],
        "locations": _kept(current["locations"], data["locations"])
        if item.tabular
        else data["locations"],
    }
    # Left out, these keep their values: onward transfers are not in the columns.
    for optional in ("onward_transfers", "effective_on", "exporter_role"):
        if optional in data:
            wanted[optional] = data[optional]
    changes = {key: value for key, value in wanted.items() if current[key] != value}
    if "already_in_use" in data and data["already_in_use"] != current["already_in_use"]:
        raise ValidationFailed(
            [
                field_error(
                    "/already_in_use",
                    f"Recorded when the sub-processor was created "
                    f"({str(current['already_in_use']).lower()}); it does not change.",
                )
            ]
        )
    if changes:
        changes.update({k: data[k] for k in ("urgent", "urgent_reason") if k in data})
        changes = SubprocessorUpdateSchema().load(changes)
    return changes


class _RolledBack(Exception):
    """Leaves the import's transaction so that it rolls back: errors, or a dry run."""


def _accept_any_version(record: dict) -> None:
    """An import matches by id or name and writes in one transaction: no ETag to compare."""


# The fields of a record, as the API shows them, that an import writes or keeps: the
# sub-processor's own columns (but the id it is matched by), then its places.
SHOWN_FIELDS = (
    *(name for name in columns.SUBPROCESSOR_COLUMNS if name != "id"),
    "locations",
    "onward_transfers",
)


def _listed_changes(name: str, before: dict | None, after: dict) -> list[dict]:
    """`{name, field, from, to}` for each field `after` gives that differs from `before` (a
    new sub-processor: every field it has, from null)."""
    listed = []
    for shown in SHOWN_FIELDS:
        if shown not in after:
            continue
        old = before.get(shown) if before is not None else None
        new = after[shown]
        if before is None and new in (None, [], {}):
            continue
        if old != new:
            listed.append({"name": name, "field": shown, "from": old, "to": new})
    return listed


def apply(
    registry: Registry,
    upload: Upload,
    actor: dict,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write the upload's sub-processors in one transaction, all or nothing.

    Raises ImportInvalid (422) naming every row at fault, after trying every sub-processor
    (change control included) in a transaction it rolls back.
    """
    _resolve(registry, upload)
    _within_the_eea(registry, upload.items)
    loaded, errors = _validated(upload.items)
    errors = upload.errors + errors
    done: list[dict] = []
    changes: list[dict] = []
    if loaded:
        try:
            with registry.db.write() as tx:
                done, changes, found = _write(registry, tx, loaded, actor, progress)
                errors += found
                if errors or dry_run:
                    raise _RolledBack
        except _RolledBack:
            pass
    if errors:
        raise ImportInvalid(errors)
    if dry_run:
        created = {entry["id"] for entry in done if entry["outcome"] == "created"}
        for entry in done:
            if entry["outcome"] == "created":
                entry["id"] = entry["version"] = None
        for change in changes:
            if change["id"] in created:
                change["id"] = None
    counts = {outcome: sum(e["outcome"] == outcome for e in done) for outcome in _OUTCOMES}
    return {
        "dry_run": dry_run,
        "rows": upload.rows,
        **counts,
        "subprocessors": done,
        "changes": changes,
        "warnings": upload.warnings,
    }


def _within_the_eea(registry: Registry, items: list[Item]) -> None:
    """A row naming several countries gives its safeguard to those outside the EEA only."""
    law, today = registry.law(), registry.today()
    for item in items:
        for index in item.shared:
            location = item.body["locations"][index]
            if "safeguard" in location and law.is_eea(location.get("country", ""), today):
                del location["safeguard"]


def _matched(
    item: Item, data: dict, by_id: dict, by_name: dict, matched: dict
) -> tuple[dict | None, dict | None]:
    """The current record a sub-processor of the file is, by its id, else by its name; or the
    error (at `/id`, or `/name`) when the id is unknown or the record is already taken."""
    if item.id is not None:
        existing = by_id.get(item.id)
        if existing is None:
            return None, row_error(
                item.row,
                "/id",
                f"No current sub-processor has the id {item.id!r}: leave `id` empty to create "
                "a new one (or to match one by its name).",
            )
        pointer = "/id"
    else:
        existing = by_name.get(subprocessors.name_key(data["name"]))
        pointer = "/name"
    if existing is not None and existing["id"] in matched:
        return None, row_error(
            item.row,
            pointer,
            f"Row {matched[existing['id']]} is already {existing['name']!r} ({existing['id']}): "
            "give each sub-processor once.",
        )
    return existing, None


def _write(registry, tx, loaded, actor, progress) -> tuple[list[dict], list[dict], list[dict]]:
    today = registry.today().isoformat()
    current: dict[str, dict] = {}
    by_id: dict[str, dict] = {}
    for record in subprocessors.iter_current(tx.conn, today):
        by_id[record["id"]] = record
        key = subprocessors.name_key(record["name"])
        # A record scheduled to retire may share its name with a newer one: the newer wins.
        if key not in current or record["retired_on"] is None:
            current[key] = record
    done, listed, errors = [], [], []
    matched: dict[str, int] = {}  # the id of each record matched, and the row matching it
    for item, data in loaded:
        existing, error = _matched(item, data, by_id, current, matched)
        if error is not None:
            errors.append(error)
            if progress is not None:
                progress(1)
            continue
        try:
            if existing is None:
                record = subprocessors.create(registry, dict(data), actor, tx=tx)
                outcome = "created"
                listed += [
                    {"id": record["id"], **c} for c in _listed_changes(record["name"], None, record)
                ]
            else:
                matched[existing["id"]] = item.row
                changes = _changes(existing, data, item)
                record, outcome = existing, "unchanged"
                if changes:
                    record = subprocessors.update(
                        registry, existing["id"], changes, _accept_any_version, actor, tx=tx
                    )
                    if (record["version"], record["pending_change"]) != (
                        existing["version"],
                        existing["pending_change"],
                    ):
                        outcome = "updated"
                        listed += [
                            {"id": existing["id"], **c}
                            for c in _listed_changes(data["name"], existing, changes)
                        ]
        except RegistryError as exc:
            # Conflicts (a name taken, a record retiring) carry no pointer: they are the name's.
            errors += _located(item, exc.errors or [field_error("/name", exc.detail)])
        else:
            pending = record["pending_change"]
            done.append(
                {
                    "row": item.row,
                    "name": record["name"],
                    "id": record["id"],
                    "outcome": outcome,
                    "version": record["version"],
                    "pending_change": pending["change_id"] if pending else None,
                }
            )
        if progress is not None:
            progress(1)
    return done, listed, errors


def media_type_of(filename: str) -> str | None:
    """What a file holds, by its extension (the CLI)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {"csv": CSV, "tsv": CSV, "txt": CSV, "xlsx": XLSX, "json": JSON}.get(extension)
