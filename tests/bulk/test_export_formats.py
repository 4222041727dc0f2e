"""The export's formats: an XLSX a person can read, RFC 4180 CSV for programs, a CSV Excel
opens in any locale; each imports back unchanged, non-ASCII text byte for byte."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import datetime, time

import openpyxl
import pytest
from helpers import IN, NL, TODAY, URL, nimbus, problem, scc, vendor
from openpyxl.utils import get_column_letter

from registry.bulk import columns, formats

IMPORT = f"{URL}/import"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"csv": CSV, "excel": CSV, "xlsx": XLSX}
NAMES = [
    "Zürich Cloud GmbH",
    "Société Générale",
    "株式会社クラウドサービス東京本社",
    "Cafe\u0301 Decomposed",  # an e and a combining acute: kept as sent, not composed
    'Comma, Semicolon; and "Quotes"',
]
LONG_PURPOSE = "Hosting of the login service, with backups in a second region. " * 4


def create(client, headers, body: dict) -> dict:
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def exported(client, headers, kind: str):
    response = client.get(URL, query_string={"format": kind}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == CONTENT_TYPES[kind]
    return response


def listed(client, headers) -> list[dict]:
    response = client.get(URL, query_string={"limit": 100}, headers=headers)
    assert response.status_code == 200
    return response.get_json()["items"]


def send(client, headers, data: bytes, content_type: str, **query):
    headers = {**headers, "Content-Type": content_type}
    return client.post(IMPORT, data=data, query_string=query, headers=headers)


@pytest.fixture
def register(client, staff):
    """Non-ASCII names, a long purpose with a line break, SCCs with dates."""
    create(client, staff, nimbus(purpose=LONG_PURPOSE + "\nSecond line."))
    for name in NAMES:
        create(
            client,
            staff,
            vendor(name, NL, scc("IN"), legal_entity=f"{name} Ltd", effective_on="2025-01-01"),
        )
    return listed(client, staff)


# XLSX


def test_the_xlsx_reads_like_a_table(client, staff, register):
    data = exported(client, staff, "xlsx").data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]

    assert header == list(columns.COLUMNS)
    assert all(cell.font.b for cell in rows[0])
    assert not any(cell.font.b for cell in rows[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:AI{len(rows)}" and len(rows) == 1 + 3 + 2 * len(NAMES)

    width = {
        name: sheet.column_dimensions[get_column_letter(i + 1)].width
        for i, name in enumerate(header)
    }
    assert all(formats.MIN_WIDTH <= value <= formats.MAX_WIDTH for value in width.values())
    assert width["purpose"] == formats.MAX_WIDTH  # capped: its text is longer
    assert width["id"] == len(register[0]["id"]) + 1  # fitted to the ids
    assert width["country"] == formats.MIN_WIDTH  # two letters: the floor
    # The Japanese name counts two widths a character; the decomposed accent none.
    assert width["name"] == 2 * len("株式会社クラウドサービス東京本社") + 1
    assert width["legal_entity"] == 2 * len("株式会社クラウドサービス東京本社") + len(" Ltd") + 1

    purpose = [row[header.index("purpose")] for row in rows[1:]]
    assert purpose[0].value == LONG_PURPOSE + "\nSecond line."
    assert purpose[0].alignment.wrap_text  # wider than its column, and two lines
    names = [row[header.index("name")] for row in rows[1:]]
    assert not any(cell.alignment.wrap_text for cell in names)  # each fits

    # Dates are ISO text throughout, never a date a spreadsheet re-formats.
    signed = [row[header.index("signed_on")] for row in rows[1:] if row[16].value]
    assert signed and all(cell.data_type == "s" for cell in signed)
    assert {cell.value for cell in signed} == {IN["safeguard"]["signed_on"]}
    assert all(row[header.index("effective_on")].data_type == "s" for row in rows[1:])


def test_the_xlsx_is_the_same_bytes_all_day(client, staff, register, monkeypatch):
    """Nothing in the workbook says the second it was written: the archive's member times
    and the document properties are the start of the registry's day."""
    first = exported(client, staff, "xlsx").data
    # The wall clock a second later (zip members are dated by time.localtime otherwise).
    later = formats.zipfile.time.time() + 1.5
    monkeypatch.setattr(formats.zipfile.time, "time", lambda: later)
    again = exported(client, staff, "xlsx").data
    assert again == first
    with formats.zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {member.date_time for member in archive.infolist()} == {
            (TODAY.year, TODAY.month, TODAY.day, 0, 0, 0)
        }
    properties = openpyxl.load_workbook(io.BytesIO(first)).properties
    assert properties.created == properties.modified == datetime.combine(TODAY, time.min)


def test_xlsx_widths_are_fitted_and_capped():
    header = ["a", "wide", "lines"]
    rows = [["x", "y" * 200, "short\n" + "z" * 30], [None, True, 3]]
    assert formats.column_widths(header, rows) == [10, 60, 31]
    assert formats.display_width("ｶﾀｶﾅ全角") == 4 + 4  # halfwidth one, fullwidth two


# CSV


def test_the_csv_is_rfc_4180_utf8_for_programs(client, staff, register):
    response = exported(client, staff, "csv")
    data = response.data

    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].endswith('.csv"')
    assert data.startswith(b"id,name,") and not data.startswith(codecs.BOM_UTF8)
    assert data.count(b"\r\n") >= 1 + 3 + 2 * len(NAMES)
    assert b"\n" not in data.replace(b"\r\n", b"").replace(b"\nSecond line.", b"")
    table = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert table[0] == list(columns.COLUMNS)
    assert {row[1] for row in table[1:]} == {"Nimbus Hosting", *NAMES}
    # The same file as Accept: text/csv gives.
    accepted = client.get(URL, headers={**staff, "Accept": CSV})
    assert accepted.data == data


def test_the_excel_csv_is_utf16_with_a_bom_and_tabs(client, staff, register):
    response = exported(client, staff, "excel")
    data = response.data

    assert response.headers["Content-Type"] == "text/csv; charset=utf-16"
    assert response.headers["Content-Disposition"].endswith('.csv"')
    assert data.startswith(codecs.BOM_UTF16_LE)
    text = data[2:].decode("utf-16-le")
    assert "\ufeff" not in text
    assert text.startswith("id\tname\tlegal_entity\t")
    assert text.split("\r\n", 1)[0] == "\t".join(columns.COLUMNS)
    table = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))
    assert all(len(row) == len(columns.COLUMNS) for row in table)
    assert {row[1] for row in table[1:]} == {"Nimbus Hosting", *NAMES}
    # A comma or semicolon is only text here: Excel splits a UTF-16 file at tabs.
    assert '\t"Comma, Semicolon; and ""Quotes"""\t' in text


def test_formula_cells_stay_neutralised_in_every_format(client, staff):
    create(client, staff, vendor('=HYPERLINK("x")', effective_on="2025-01-01", purpose="a\t@b"))
    for kind in ("csv", "excel"):
        text = formats.decode_text(exported(client, staff, kind).data)
        delimiter = "\t" if kind == "excel" else ","
        row = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))[1]
        assert row[1] == '\'=HYPERLINK("x")' and row[4] == "a\t'@b"
    sheet = openpyxl.load_workbook(io.BytesIO(exported(client, staff, "xlsx").data)).active
    assert sheet["B2"].value == '\'=HYPERLINK("x")' and sheet["B2"].data_type == "s"


# Round trips


@pytest.mark.parametrize("kind", ["csv", "excel", "xlsx"])
def test_every_format_imports_back_unchanged_byte_for_byte(client, staff, register, kind):
    response = exported(client, staff, kind)
    content_type = response.headers["Content-Type"]

    dry = send(client, staff, response.data, content_type, dry_run="true")
    assert dry.status_code == 200, dry.get_data(as_text=True)
    answer = dry.get_json()
    assert answer["changes"] == [] and answer["warnings"] == []
    assert (answer["created"], answer["updated"]) == (0, 0)
    assert answer["unchanged"] == len(register) == 1 + len(NAMES)

    done = send(client, staff, response.data, content_type)
    assert done.status_code == 200 and done.get_json()["unchanged"] == len(register)
    after = listed(client, staff)
    assert after == register
    assert [item["name"].encode() for item in after][1:] == [name.encode() for name in NAMES]
    # Exported again, the same bytes (XLSX aside: a workbook carries its creation time).
    if kind != "xlsx":
        assert exported(client, staff, kind).data == response.data


@pytest.mark.parametrize(
    ("encode", "content_type"),
    [
        (lambda text: codecs.BOM_UTF8 + text.encode("utf-8"), CSV),
        (lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"), CSV),
        (lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"), f"{CSV}; charset=utf-8"),
        (lambda text: text.encode("utf-16-le"), f"{CSV}; charset=utf-16le"),
        (lambda text: text.encode("utf-16-be"), f"{CSV}; charset=UTF-16"),  # RFC 2781
    ],
    ids=["utf8-bom", "utf16be-bom", "bom-wins-over-charset", "utf16le", "utf16-unmarked"],
)
def test_the_import_reads_utf8_and_utf16(client, staff, encode, content_type):
    text = "".join(
        "\t".join(cells) + "\r\n"
        for cells in [
            ("name", "service", "data_categories", "effective_on", "country", "activity"),
            ("Zürich Cloud GmbH", "hosting", "user.contact.email", "", "CH", "storage"),
            ("株式会社クラウド", "hosting", "user.contact.email", "", "JP", "storage"),
        ]
    )
    response = send(client, staff, encode(text), content_type, dry_run="true")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [item["name"] for item in response.get_json()["subprocessors"]] == [
        "Zürich Cloud GmbH",
        "株式会社クラウド",
    ]


def test_other_charsets_and_broken_utf16_are_refused(client, staff):
    problem(send(client, staff, b"name,country\r\nA,DE\r\n", f"{CSV}; charset=latin-1"), 415)
    broken = codecs.BOM_UTF16_LE + "name\tcountry\r\n".encode("utf-16-le") + b"\x00"
    assert "not UTF-16" in problem(send(client, staff, broken, CSV), 400)["detail"]


# The parameter


def test_format_is_for_staff_and_checked(client, staff, as_role):
    for role in ("customer_a", "service"):
        response = client.get(URL, query_string={"format": "excel"}, headers=as_role(role))
        problem(response, 403)
    body = problem(client.get(URL, query_string={"format": "ods"}, headers=staff), 422)
    assert [(e["pointer"], e.get("location")) for e in body["errors"]] == [("/format", "query")]
    body = problem(
        client.get(URL, query_string={"format": "csv", "at": "2026-01-01"}, headers=staff), 422
    )
    assert [e["pointer"] for e in body["errors"]] == ["/at"]
    # format wins over Accept.
    response = client.get(URL, query_string={"format": "xlsx"}, headers={**staff, "Accept": CSV})
    assert response.mimetype == XLSX


# The SCC date, at the import's door


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_scc_signed_before_its_version_is_a_row_error(client, staff, kind):
    own = ["other", "user.contact.email", "2025-01-01", "true"]
    safeguard = ["activity", "mechanism", "scc_module", "signed_on", "tia_completed_on"]
    rows = [
        [
            "name",
            "service",
            "data_categories",
            "effective_on",
            "already_in_use",
            "country",
            *safeguard,
        ],
        ["Good", *own, "IN", "processing", "SCC", "3", "2024-03-01", "2024-02-01"],
        ["Early", *own, "NL", "storage", "", "", "", ""],
        ["Early", *own, "IN", "processing", "SCC", "3", "2020-05-01", "2024-02-01"],
    ]
    if kind == "xlsx":
        workbook = openpyxl.Workbook()
        for values in rows:
            workbook.active.append(values)
        buffer = io.BytesIO()
        workbook.save(buffer)
        data, content_type = buffer.getvalue(), XLSX
    else:
        data, content_type = "".join(",".join(r) + "\r\n" for r in rows).encode(), CSV

    body = problem(send(client, staff, data, content_type), 422)

    assert body["errors"] == [
        {
            "row": 4,
            "pointer": "/signed_on",
            "detail": "Signed on 2020-05-01, before SCC 2021/914 applied: contracts can be "
            "concluded on these clauses from 2021-06-27. Check the date, or the SCC version "
            "signed.",
        }
    ]
    assert listed(client, staff) == []


def test_registry_import_reads_each_export_back(runner, client, staff, register, tmp_path):
    for kind in ("csv", "excel", "xlsx"):
        path = tmp_path / f"register-{kind}.{'xlsx' if kind == 'xlsx' else 'csv'}"
        path.write_bytes(exported(client, staff, kind).data)
        result = runner.invoke(args=["import", str(path), "--dry-run"])
        assert result.exit_code == 0, result.output
        assert f"0 created, 0 updated, {len(register)} unchanged" in result.stdout
