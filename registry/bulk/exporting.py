"""Export the current register in the import's columns: CSV (streamed) or XLSX."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from ..errors import Forbidden, ValidationFailed, field_error
from ..law.model import Law
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from . import columns, formats
from .columns import COLUMNS, LIST_COLUMNS, SAFEGUARD_COLUMNS, TIA_COLUMNS
from .formats import CSV, XLSX

EXPORT_TYPES = (CSV, XLSX)
# The export's formats, as `format` names them: RFC 4180 CSV for programs, the CSV Excel opens
# in any locale, and an XLSX workbook. Without `format`, `Accept` chooses CSV or XLSX.
FORMATS = ("csv", "excel", "xlsx")
FORMAT_OF = {CSV: "csv", XLSX: "xlsx"}
# The export's media types, as GET /v1/subprocessors documents them beside its JSON.
EXPORT_CONTENT = {
    CSV: {
        "schema": {
            "type": "string",
            "description": "The current register, one row per location, in the import's "
            "columns. `format=csv` (or `Accept: text/csv`): RFC 4180, comma, CRLF, UTF-8 "
            "without a byte order mark. `format=excel`: for Excel in any locale, tab-separated, "
            "CRLF, UTF-16LE with a byte order mark (`charset=utf-16`). A formula trigger "
            "starting a cell or following a separator (`,` `;` tab `|`) gets an apostrophe in "
            "front, which an import removes",
        }
    },
    XLSX: {
        "schema": {
            "type": "string",
            "format": "binary",
            "description": "`format=xlsx` (or the XLSX `Accept`): one sheet, the header bold, "
            "frozen and under an autofilter, columns fitted to their content, dates as "
            "YYYY-MM-DD text",
        }
    },
}


@dataclass
class Export:
    media_type: str
    content_type: str  # with its charset, for a CSV
    filename: str
    chunks: Iterator[bytes]


_STATUS_FILTERS = ("proposed", "active")


def export(registry: Registry, kind: str, filters: dict, *, role: str) -> Export:
    """The current register (not retired today) in the import's columns, one row per location,
    optionally only a service's, a country's or a status's, as `kind` (one of FORMATS). At most
    MAX_ROWS rows: read first (so that a larger register is refused before anything is sent),
    then written out."""
    if role not in ("admin", "procurement"):
        raise Forbidden(
            "The spreadsheet export is procurement's working copy: admin and procurement only. "
            "Ask for application/json."
        )
    refused = [name for name in ("at", "flagged", "cursor") if filters.get(name) is not None]
    if refused:
        raise ValidationFailed(
            [
                field_error(
                    f"/{name}",
                    "Not with a spreadsheet export: it is the whole current register "
                    "(service, country and status narrow it).",
                    location="query",
                )
                for name in refused
            ]
        )
    today = registry.today()
    law = registry.law()
    rows = []
    conn = registry.db.connection()
    for record in subprocessors.iter_current(conn, today.isoformat()):
        if not _matches(record, filters, today):
            continue
        rows.extend(export_rows(record, law))
        if len(rows) > columns.MAX_ROWS:
            raise ValidationFailed(
                [
                    field_error(
                        "/service",
                        f"The register has more than {columns.MAX_ROWS:,} rows (locations), "
                        "more than one import takes: export it in parts with `service` or "
                        "`country`.",
                        location="query",
                    )
                ]
            )
    name = f"subprocessors-{today.isoformat()}"
    if kind == "xlsx":
        content = formats.xlsx_bytes(list(COLUMNS), rows, title="subprocessors")
        return Export(XLSX, XLSX, f"{name}.xlsx", iter((content,)))
    style = formats.EXCEL if kind == "excel" else formats.RFC4180
    return Export(
        CSV,
        f"{CSV}; charset={style.charset}",
        f"{name}.csv",
        formats.csv_chunks(list(COLUMNS), rows, style),
    )


def _matches(record: dict, filters: dict, today: date) -> bool:
    if filters.get("service") and record["service"] != filters["service"]:
        return False
    country = filters.get("country")
    if country and country not in {loc.get("country") for loc in record["locations"]}:
        return False
    status = filters.get("status")
    if status:
        proposed = record["effective_on"] > today.isoformat()
        if status not in _STATUS_FILTERS or (status == "proposed") != proposed:
            return False
    return True


def export_rows(record: dict, law: Law | None = None) -> list[list]:
    """A sub-processor as rows of the columns: its own values repeated on each location's row.
    A location at an international organisation has no country and the organisation's English
    name in `international_organisation` (its id without `law`, or if `law` does not know it);
    the import takes either. A TIA record is spread over the `tia_` columns, its lists one item
    a line."""
    own = {
        "id": record["id"],
        "name": record["name"],
        "legal_entity": record["legal_entity"],
        "service": record["service"],
        "purpose": record["purpose"],
        "data_categories": " ".join(record["data_categories"]),
        "effective_on": record["effective_on"],
        "already_in_use": record["already_in_use"],
        "exporter_role": record.get("exporter_role"),
    }
    rows = []
    for location in record["locations"]:
        safeguard = location.get("safeguard") or {}
        values = {
            **own,
            "country": location.get("country"),
            "activity": location["activity"],
            "international_organisation": _organisation_name(location, law),
            **{column: safeguard.get(column) for column in SAFEGUARD_COLUMNS},
            **_tia_cells(safeguard),
        }
        rows.append([values.get(column) for column in COLUMNS])
    return rows


def _organisation_name(location: dict, law: Law | None) -> str | None:
    organisation = location.get("international_organisation")
    found = law.organisation(organisation) if law is not None and organisation else None
    return found.name if found is not None else organisation


def _tia_cells(safeguard: dict) -> dict:
    """A TIA record's cells: its date in `tia_completed_on` (the shorthand's column; the two
    are the same date when both are given), the rest in the `tia_` columns."""
    tia = safeguard.get("tia")
    if not tia:
        return {}
    cells = {"tia_completed_on": tia.get("completed_on")}
    for column, name in TIA_COLUMNS.items():
        value = tia.get(name)
        if column in LIST_COLUMNS and value is not None:
            value = _list_cell(value)
        cells[column] = value
    return cells


def _list_cell(items: list[str]) -> str | None:
    """A list as one cell: one item a line (an item is one line of text). A single item with a
    `;` in it gets a line break after it, so that the import does not split it at the `;`."""
    if not items:
        return None
    cell = "\n".join(items)
    return cell + "\n" if len(items) == 1 and ";" in cell else cell
