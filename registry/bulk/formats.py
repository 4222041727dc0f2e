"""The files bulk work reads and writes: CSV, XLSX and JSON, cell by cell.

Nothing here knows what a sub-processor is: a table is a header and rows of text cells,
numbered as a spreadsheet shows them (the header is row 1).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from ..http.problems import RegistryError

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON = "application/json"

# What a header line may be separated by; the most frequent wins, a comma on a tie.
DELIMITERS = (",", ";", "\t")
# Cells a spreadsheet would run as a formula (OWASP, "CSV injection"): these first characters,
# also after apostrophes, so that the apostrophe export adds can be told from one typed.
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_CSV_CHUNK = 64 * 1024


class Malformed(RegistryError):
    """The file cannot be read at all (not UTF-8, not a workbook, not JSON): 400."""

    status = 400


class TooLarge(RegistryError):
    """Over a size limit: 413."""

    status = 413


@dataclass
class Table:
    """A sheet: its header row (number and cells), then its other non-blank rows."""

    header_row: int
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


def neutralise(value: str) -> str:
    """A cell a spreadsheet shows as text: one beginning with =, +, -, @, a tab or a carriage
    return (after any apostrophes) gets an apostrophe in front."""
    return "'" + value if _FORMULA.match(value) else value


def restore(value: str) -> str:
    """The value neutralise() was given: the first apostrophe goes where it put one."""
    return value[1:] if value.startswith("'") and _FORMULA.match(value) else value


def _blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _table(numbered: Iterator[tuple[int, list[str]]]) -> Table:
    """The first non-blank row is the header; blank rows after it are skipped."""
    for number, cells in numbered:
        if not _blank(cells):
            rows = ((n, [restore(c) for c in cells]) for n, cells in numbered if not _blank(cells))
            return Table(number, cells, rows)
    return Table(0, [], iter(()))


# CSV


def delimiter_of(text: str) -> str:
    """The separator of the header line: comma, semicolon (Excel in many locales) or tab."""
    line = text.split("\n", 1)[0]
    return max(DELIMITERS, key=lambda candidate: (line.count(candidate), candidate == ","))


class BadRow(RegistryError):
    """A row the CSV reader cannot split into cells (a stray quote, an endless cell)."""

    status = 422

    def __init__(self, row: int, detail: str):
        super().__init__(detail)
        self.row = row


def read_csv(data: bytes) -> Table:
    """UTF-8 (a byte order mark is dropped), any line endings, Excel's quoting ("" inside
    a quoted cell); the separator sniffed from the header line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Malformed(
            f"The CSV file is not UTF-8 (byte {exc.start} cannot be read): save it as "
            "'CSV UTF-8' and send it again."
        ) from None
    if "\x00" in text:
        raise Malformed("The CSV file holds NUL bytes: it is not a text file.")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text), strict=True)

    def numbered() -> Iterator[tuple[int, list[str]]]:
        number = 0
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # a stray quote, a cell over csv.field_size_limit()
                raise BadRow(number, f"The row cannot be read as CSV: {exc}.") from None
            yield number, cells

    return _table(numbered())


def csv_chunks(header: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    """The rows as CSV (comma, CRLF, quoted where needed), UTF-8, in chunks of about 64 KiB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(_csv_text(value)) for value in row])
        if buffer.tell() >= _CSV_CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# XLSX


def read_xlsx(data: bytes, *, max_unpacked: int) -> Table:
    """The first worksheet of a workbook, cell values as text (dates as YYYY-MM-DD)."""
    import openpyxl  # only bulk work needs it: the server's other requests never load it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Malformed("The file is not an XLSX workbook (not a ZIP archive).") from None
    if unpacked > max_unpacked:
        raise TooLarge(
            f"The workbook unpacks to {unpacked} bytes, over the limit of {max_unpacked}."
        )
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise Malformed(f"The XLSX workbook cannot be read: {type(exc).__name__}.") from None

    def numbered() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [cell_text(value) for value in values]
        except RegistryError:
            raise
        except Exception as exc:
            raise Malformed(f"The XLSX workbook cannot be read: {type(exc).__name__}.") from None
        finally:
            workbook.close()

    return _table(numbered())


def cell_text(value) -> str:
    """A spreadsheet cell as the text a CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xlsx_bytes(header: list[str], rows: Iterable[list], *, title: str) -> bytes:
    """A workbook of one sheet: text cells (neutralised), booleans and whole numbers as such."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(header)
    for row in rows:
        sheet.append(
            [
                ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(value))
                if isinstance(value, str)
                else value
                for value in row
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# JSON


def read_json(data: bytes):
    """The document; a byte order mark is allowed."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Malformed("The request body is not valid JSON.") from None
