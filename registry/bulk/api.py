"""Bulk import of the register: POST /v1/subprocessors/import (CSV, XLSX or a JSON array)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import TooLarge, UnsupportedMediaType
from ..http.api import Blueprint
from ..http.bodies import accepts
from ..http.context import actor, registry
from . import columns, importing
from .formats import CSV, CSV_CHARSETS, JSON, XLSX
from .schemas import ImportArgsSchema, ImportResultSchema

blp = Blueprint(
    "bulk",
    __name__,
    url_prefix="/v1/subprocessors",
    description="Bulk work: the register imported from a spreadsheet or a JSON array "
    "(exported with `GET /v1/subprocessors` and `Accept: text/csv` or XLSX)",
)

_COLUMNS = ", ".join(f"`{column}`" for column in columns.COLUMNS)
_REQUEST_BODY = {
    "required": True,
    "description": (
        "CSV (UTF-8, or UTF-16 as `format=excel` exports it: a byte order mark decides, else "
        "the charset; comma, semicolon or tab, as the header line has it; any line endings), "
        "the first sheet of an XLSX workbook, or a JSON array of "
        f"sub-processors as `POST /v1/subprocessors` takes each (and an optional `id`, matched "
        f"first). CSV and XLSX: a header row "
        f"(title rows above it are skipped) naming some of these columns, in any order: "
        f"{_COLUMNS}, or their synonyms (`Vendor` for `name`, `Location(s)` for `country`, "
        "`Transfer mechanism` for `mechanism`, ...; see docs/features/bulk.md), `name` and "
        "`country` required, other columns ignored with a warning; one row per location (a "
        "`country` cell may list several, separated by `;`), rows with the same `name` "
        "forming one sub-processor (an `id`, as the export gives it, on any of them). At most "
        f"{columns.MAX_ROWS:,} rows (or elements) and `REGISTRY_MAX_IMPORT` bytes."
    ),
    "content": {
        CSV: {
            "schema": {"type": "string"},
            "example": ",".join(columns.COLUMNS)
            + "\r\n,Nimbus Hosting,Nimbus Hosting Inc.,hosting,Login hosting,user.contact.email,"
            "2025-01-01,true,NL,storage" + "," * (len(columns.COLUMNS) - 10) + "\r\n",
        },
        JSON: {
            "schema": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/components/schemas/SubprocessorCreate"},
            }
        },
        XLSX: {"schema": {"type": "string", "format": "binary"}},
    },
}


@blp.route("/import")
class Import(MethodView):
    @blp.roles("admin", "procurement")
    @accepts((CSV, JSON, XLSX), limit_setting="max_import")
    @blp.arguments(ImportArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ImportResultSchema)
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(408, response="REQUEST_TIMEOUT")
    @blp.doc(requestBody=_REQUEST_BODY)
    def post(self, dry_run):
        """Import sub-processors, all or nothing: create new names, update known ones

        Rows match current sub-processors by `id` (the export's first column; an unknown id is
        422 at `/id`), and without one by `name` (compared as everywhere: case, width,
        invisible characters, look-alike letters and repeated spaces ignored): a row with a
        known id and a new name renames that sub-processor. Each
        sub-processor is written as a POST or a PATCH would write it, change control
        included (notice period, `already_in_use`, material changes announced and pending),
        in one transaction:
        any error is 422 with `errors: [{row, pointer, detail}]` and nothing is written.
        `row` is the row as a spreadsheet shows it (the header is row 1, the first data row
        row 2) or the element's 1-based place in a JSON array; `pointer` names the column
        (`/country`) or, for JSON, the field (`/locations/0/country`). Onward transfers,
        which have no columns, are kept. Over 10,000 rows or `REGISTRY_MAX_IMPORT` bytes
        is 413. So is a workbook with a row numbered over 10,100 (in its dimension, a row or a
        cell), a column beyond the 200th, over 500,000 cells or shared strings, or shared
        strings of more characters than `REGISTRY_MAX_IMPORT`: refused before any row is
        read. `dry_run=true` checks everything and writes nothing. `changes` lists, per
        sub-processor created or updated, each field that changes (`{name, field, from, to}`,
        fields as the API shows them; a new one's from null); `warnings` the columns the
        import ignored.
        """
        media_type = JSON if request.is_json else request.mimetype
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if media_type == CSV and charset not in CSV_CHARSETS:
            raise UnsupportedMediaType(f"Send CSV as UTF-8 or UTF-16, not {charset}.")
        limit = registry().settings.max_import
        try:
            data = request.get_data(cache=False)
        except RequestEntityTooLarge:
            raise TooLarge(
                f"The file is over the import limit of {limit} bytes (REGISTRY_MAX_IMPORT): "
                "split it into several imports."
            ) from None
        upload = importing.read(data, media_type, max_bytes=limit, charset=charset)
        return importing.apply(registry(), upload, actor(), dry_run=dry_run)
