"""A workbook is bounded before it is read: rows, columns, cells and shared strings.

The files are built by hand (a ZIP of XML parts), as a hostile client would: a row numbered
2,000,000,000 in a 2 KB file once cost an hour of blank rows, and a 476 KB shared-strings
table 1.1 GB of memory. Each is 413 before openpyxl opens the workbook.
"""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from test_bulk import COLUMNS, IMPORT, XLSX, footprint, listed, problem, row, send

from registry.bulk import columns, importing

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_PACKAGE_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_DOC}">'
    '<sheets><sheet name="register" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def _letters(column: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cells(number: int, values: list[str]) -> str:
    """A row of inline-string cells, numbered as a spreadsheet shows it."""
    return (
        f'<row r="{number}">'
        + "".join(
            f'<c r="{_letters(i)}{number}" t="inlineStr"><is><t>{value}</t></is></c>'
            for i, value in enumerate(values, start=1)
            if value
        )
        + "</row>"
    )


HEADER = cells(1, COLUMNS)


def workbook(sheet_data: str, *, dimension: str | None = None, strings: str = "") -> bytes:
    """An XLSX archive of one worksheet holding `sheet_data`, and a shared-strings table."""
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}">'
        + (f'<dimension ref="{dimension}"/>' if dimension else "")
        + f"<sheetData>{sheet_data}</sheetData></worksheet>"
    )
    shared = strings or f'<sst xmlns="{_MAIN}" count="0" uniqueCount="0"/>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        archive.writestr("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-8"?>' + shared)
    return buffer.getvalue()


def shared_strings(count: int, text: str = "a", declared: str = "") -> str:
    return f'<sst xmlns="{_MAIN}"{declared}>' + f"<si><t>{text}</t></si>" * count + "</sst>"


@pytest.fixture
def opened(monkeypatch) -> list:
    """The workbooks openpyxl was asked to open: a refused one never gets that far."""
    calls = []
    load = openpyxl.load_workbook

    def spy(*args, **kwargs):
        calls.append(args)
        return load(*args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    return calls


def refused(client, staff, body: bytes, registry) -> dict:
    before = footprint(registry)
    found = problem(send(client, staff, body, XLSX), 413)
    assert footprint(registry) == before
    return found


def test_the_workbook_builder_makes_a_workbook_that_imports(client, staff, opened):
    """The hand-made archive is a real workbook: the refusals below are of their bounds."""
    body = workbook(HEADER + cells(2, list(row("Handmade").values())))
    assert send(client, staff, body, XLSX).status_code == 200
    assert [item["name"] for item in listed(client, staff)] == ["Handmade"]
    assert len(opened) == 1


def test_a_row_numbered_two_billion_is_413_before_the_workbook_is_opened(
    client, staff, registry, opened
):
    body = workbook(HEADER + cells(2, list(row().values())) + cells(2_000_000_000, ["Far away"]))
    assert len(body) < 3000

    found = refused(client, staff, body, registry)

    assert "row number is 2,000,000,000, over the limit of 10,100" in found["detail"]
    assert opened == []


@pytest.mark.parametrize(
    ("dimension", "said"),
    [
        ("A1:S2000000000", "dimension row is 2,000,000,000"),
        ("A1:XFD2", "dimension column is 16,384"),
        ("A1:S" + "9" * 5000, "dimension row is 999,999,999,999"),
    ],
)
def test_a_dimension_over_the_limits_is_413_at_once(
    client, staff, registry, opened, dimension, said
):
    # openpyxl pads every row to the dimension's width and the sheet to its height.
    body = workbook(HEADER + cells(2, list(row().values())), dimension=dimension)

    found = refused(client, staff, body, registry)

    assert said in found["detail"]
    assert opened == []


def test_a_cell_beyond_the_last_column_is_413(client, staff, registry, opened):
    sheet = HEADER + '<row r="2"><c r="ZZZ2" t="inlineStr"><is><t>x</t></is></c></row>'
    assert "cell column is 18,278" in refused(client, staff, workbook(sheet), registry)["detail"]
    assert opened == []


def test_rows_and_cells_without_numbers_are_counted(client, staff, registry, opened, monkeypatch):
    monkeypatch.setattr(columns, "MAX_ROWS", 5)  # row numbers up to 105
    unnumbered = "<row>" + '<c t="inlineStr"><is><t>x</t></is></c>' * 3 + "</row>"
    found = refused(client, staff, workbook(HEADER + unnumbered * 105), registry)
    assert "row number is 106, over the limit of 105" in found["detail"]

    wide = "<row>" + '<c t="inlineStr"><is><t>x</t></is></c>' * 201 + "</row>"
    found = refused(client, staff, workbook(HEADER + wide), registry)
    assert "cell column is 201, over the limit of 200" in found["detail"]
    assert opened == []


def test_the_last_row_number_allowed_imports(client, staff, opened, monkeypatch):
    monkeypatch.setattr(columns, "MAX_ROWS", 5)
    values = list(row("Low down").values())

    assert send(client, staff, workbook(HEADER + cells(105, values)), XLSX).status_code == 200
    problem(send(client, staff, workbook(HEADER + cells(106, values)), XLSX), 413)
    assert [item["name"] for item in listed(client, staff)] == ["Low down"]


def test_too_many_cells_is_413(client, staff, registry, opened, monkeypatch):
    monkeypatch.setattr(importing, "MAX_CELLS", 100)
    sheet = HEADER + "".join(cells(n, list(row(f"V{n}").values())) for n in range(2, 14))
    assert "number of cells is 101" in refused(client, staff, workbook(sheet), registry)["detail"]
    assert opened == []


def test_half_a_million_shared_strings_is_413_before_the_workbook_is_opened(
    client, staff, registry, opened
):
    # 600,000 one-letter strings: a few kilobytes zipped, 600,000 objects once read.
    body = workbook(HEADER, strings=shared_strings(600_000))
    assert len(body) < 100_000

    found = refused(client, staff, body, registry)

    assert "number of shared strings is 500,001, over the limit of 500,000" in found["detail"]
    assert opened == []


def test_a_declared_count_of_shared_strings_over_the_limit_is_413_at_once(
    client, staff, registry, opened
):
    body = workbook(HEADER, strings=shared_strings(1, declared=' uniqueCount="900000000"'))
    assert "shared strings is 900,000,000" in refused(client, staff, body, registry)["detail"]
    assert opened == []


def test_shared_strings_longer_than_the_import_limit_are_413(app_with, tokens, opened):
    client = app_with(max_import=8192).test_client()
    headers = {"Authorization": f"Bearer {tokens['procurement']}"}
    body = workbook(HEADER, strings=shared_strings(1, text="a" * 9000))
    assert len(body) < 8192

    found = problem(send(client, headers, body, XLSX), 413)

    assert "more than 8,192 characters" in found["detail"]
    assert opened == []


def test_padding_a_part_with_elements_is_413(client, staff, registry, opened, monkeypatch):
    monkeypatch.setattr(importing, "MAX_CELLS", 100)  # a part may hold 8 times as many elements
    padded = HEADER + "<row><c><v>1</v></c></row>".replace("<v>1</v>", "<x/>" * 2000)
    found = refused(client, staff, workbook(padded), registry)
    assert "more than 1,800 XML elements" in found["detail"]
    assert opened == []


def test_a_part_declaring_a_doctype_is_400(client, staff, opened):
    bomb = (
        '<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f'<sst xmlns="{_MAIN}"><si><t>&b;</t></si></sst>'
    )
    found = problem(send(client, staff, workbook(HEADER, strings=bomb), XLSX), 400)
    assert "DOCTYPE" in found["detail"]
    assert opened == []


def test_registry_import_refuses_the_same_workbooks(runner, tmp_path, registry, opened):
    before = footprint(registry)
    for name, body in (
        ("far.xlsx", workbook(HEADER + cells(2_000_000_000, ["x"]))),
        ("strings.xlsx", workbook(HEADER, strings=shared_strings(500_001))),
    ):
        path = tmp_path / name
        path.write_bytes(body)

        result = runner.invoke(args=["import", str(path)])

        assert result.exit_code == 1, result.output
        assert "over the limit" in result.stderr
    assert opened == []
    assert footprint(registry) == before


def test_the_import_documents_the_bounds(client):
    spec = client.get("/openapi.json").get_json()
    described = spec["paths"][IMPORT]["post"]["description"]
    assert "shared strings" in described


def test_an_archive_of_a_thousand_parts_is_413(client, staff, registry, opened):
    buffer = io.BytesIO(workbook(HEADER + cells(2, list(row().values()))))
    with zipfile.ZipFile(buffer, "a") as archive:
        for n in range(1_000):
            archive.writestr(f"xl/media/empty{n}.bin", b"")

    found = refused(client, staff, buffer.getvalue(), registry)

    assert "1,006 parts, over the limit of 1,000" in found["detail"]
    assert opened == []
