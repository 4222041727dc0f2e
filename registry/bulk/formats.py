"""The files bulk work reads and writes: CSV, XLSX and JSON, cell by cell.

Nothing here knows what a sub-processor is: a table is a header and rows of text cells,
numbered as a spreadsheet shows them (the header is row 1).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from xml.parsers import expat

from .. import clock
from ..errors import Malformed, RegistryError, TooLarge

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON = "application/json"

# What a header line may be separated by; the most frequent wins, a comma on a tie.
DELIMITERS = (",", ";", "\t")
# Cells a spreadsheet would run as a formula (OWASP, "CSV injection"): one whose text, or any
# part of it after a character some locale's spreadsheet splits cells at (comma, semicolon,
# tab, vertical bar; a line break, for a reader that ignores quotes), begins with one of these
# triggers (their fullwidth forms too, which some spreadsheets read as the ASCII ones), after
# any spaces (an import may trim them) and apostrophes. Each such place gets one apostrophe
# more, after the spaces, so that the apostrophe export adds can be told from one typed:
# neutralise() and restore() undo each other exactly.
SEPARATORS = ",;\t|\r\n"
TRIGGERS = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"
_START = f"(?:^|(?<=[{re.escape(SEPARATORS)}]))( *)"
_NEUTRALISE = re.compile(f"{_START}(?='*[{re.escape(TRIGGERS)}])")
_RESTORE = re.compile(f"{_START}'(?='*[{re.escape(TRIGGERS)}])")
_CSV_CHUNK = 64 * 1024


@dataclass
class Table:
    """A sheet: its header row (number and cells), then its other non-blank rows."""

    header_row: int
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


def neutralise(value: str) -> str:
    """A cell a spreadsheet shows as text in any locale: at its start and after each
    separator (SEPARATORS), a formula trigger (TRIGGERS), after any spaces and apostrophes,
    gets an apostrophe in front: `=1` is `'=1`, `x; =1` is `x; '=1`, `'=1` is `''=1`."""
    return _NEUTRALISE.sub(r"\1'", value)


def restore(value: str) -> str:
    """The value neutralise() was given: one apostrophe goes from each place it put one (at
    the start or after a separator, apostrophes then a trigger); any other is kept."""
    return _RESTORE.sub(r"\1", value)


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


# Byte order marks, and the codec that reads what follows each (the mark wins over a charset).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Charsets a CSV may be sent in without a byte order mark (RFC 2781: UTF-16 unmarked is
# big-endian).
CSV_CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "us-ascii": "utf-8",
    "utf-16": "utf-16-be",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
}


def decode_text(data: bytes, charset: str = "utf-8") -> str:
    """The text of a CSV: by its byte order mark (UTF-8, UTF-16LE or UTF-16BE), dropped;
    without one, in `charset` (UTF-8 unless the request names UTF-16)."""
    codec = CSV_CHARSETS.get(charset.lower(), "utf-8")
    for mark, marked in _BOMS:
        if data.startswith(mark):
            data, codec = data[len(mark) :], marked
            break
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if codec == "utf-8" else "UTF-16"
        raise Malformed(
            f"The CSV file is not {name} (byte {exc.start} cannot be read): save it as "
            "'CSV UTF-8' (or 'Unicode Text') and send it again."
        ) from None


def read_csv(data: bytes, charset: str = "utf-8") -> Table:
    """UTF-8 or UTF-16 (decode_text: a byte order mark decides, and is dropped), any line
    endings, Excel's quoting ("" inside a quoted cell); the separator sniffed from the header
    line."""
    text = decode_text(data, charset)
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


@dataclass(frozen=True)
class CsvStyle:
    """How a CSV export is written: its separator, its encoding and whether a byte order mark
    leads it. Both styles quote where needed (RFC 4180: `"` doubled inside quotes) and end
    lines with CRLF; read_csv reads both back."""

    delimiter: str
    encoding: str  # the codec of the bytes after the mark
    bom: bytes
    charset: str  # as the Content-Type names it

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


# RFC 4180 for programs: comma, UTF-8 without a byte order mark (so that the first header
# reads `id` in any client), what the export has always written.
RFC4180 = CsvStyle(",", "utf-8", b"", "utf-8")
# For Excel in any locale, by double-click: UTF-16LE with its byte order mark and tabs. Excel
# takes the encoding from the mark and, for UTF-16 text, splits at tabs whatever the locale's
# list separator; a comma file lands in one column where that separator is `;` (de, fr, nl,
# ...), and a `sep=,` first line, which fixes that, makes Excel ignore a UTF-8 mark.
EXCEL = CsvStyle("\t", "utf-16-le", codecs.BOM_UTF16_LE, "utf-16")


def csv_chunks(
    header: list[str], rows: Iterable[list], style: CsvStyle = RFC4180
) -> Iterator[bytes]:
    """The rows as CSV in `style` (CRLF, quoted where needed), in chunks of about 64 KiB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=style.delimiter, lineterminator="\r\n")
    writer.writerow(header)
    first = style.bom
    for row in rows:
        writer.writerow([neutralise(_csv_text(value)) for value in row])
        if buffer.tell() >= _CSV_CHUNK:
            yield first + style.encode(buffer.getvalue())
            first = b""
            buffer.seek(0)
            buffer.truncate()
    yield first + style.encode(buffer.getvalue())


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# XLSX


@dataclass(frozen=True)
class SheetLimits:
    """What a workbook may hold, checked before any of it is read into cells."""

    rows: int  # highest row number (as a spreadsheet shows it) of any worksheet
    columns: int  # highest column number (A is 1)
    cells: int  # cells written in one worksheet
    strings: int  # shared strings
    characters: int  # characters of all shared strings together

    @property
    def elements(self) -> int:
        # XML elements one part may hold: a cell or a string is a few elements (a value, a
        # rich-text run and its font); anything far beyond is padding meant to be slow.
        return 8 * max(self.cells, self.strings) + 1_000


MAX_PARTS = 1_000  # files in a workbook's archive
_CELL_REF = re.compile(r"\$?([A-Za-z]*)\$?([0-9]*)")
_DIGITS = re.compile(r"[0-9]+")


class _Done(Exception):
    """Stops the scan of a part that needs no more reading."""


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters[:4].upper():  # XFD (16384) is Excel's last column; four letters are over
        number = number * 26 + ord(letter) - 64
    return number


def _row_number(digits: str) -> int:
    # Twelve digits are over any limit, and int() of thousands of digits is itself slow.
    return int(digits[:12]) if digits else 0


class _PartScan:
    """One pass of expat over one part of the archive, keeping nothing but counters: a
    worksheet's dimension, row numbers, cell references and cell count, or the shared
    strings' count and characters, each refused (413) at the first element over its limit."""

    def __init__(self, name: str, limits: SheetLimits):
        self.name, self.limits = name, limits
        self.kind = None
        self.elements = self.row = self.column = self.cells = 0
        self.strings = self.characters = 0
        self.parser = expat.ParserCreate(namespace_separator="}")
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self.start
        self.parser.StartDoctypeDeclHandler = self.doctype

    def run(self, stream) -> None:
        try:
            while chunk := stream.read(_CSV_CHUNK):
                self.parser.Parse(chunk, False)
            self.parser.Parse(b"", True)
        except _Done:
            return
        except expat.ExpatError:
            if self.kind is None:
                return  # not XML at all (an image, a printer setting): nothing to count
            raise Malformed(f"The XLSX workbook cannot be read: {self.name} is not XML.") from None

    def doctype(self, *_args) -> None:
        # Spreadsheets never declare one; a declaration is how entity expansion starts.
        raise Malformed(f"The XLSX workbook cannot be read: {self.name} declares a DOCTYPE.")

    def over(self, what: str, value: int, limit: int) -> TooLarge:
        return TooLarge(
            f"The workbook's {what} is {value:,}, over the limit of {limit:,} ({self.name}): "
            "split it into several imports."
        )

    def start(self, tag: str, attributes: dict) -> None:
        local = tag.rpartition("}")[2]
        if self.kind is None:
            if local not in ("worksheet", "sst"):
                raise _Done
            self.kind = local
            if local == "sst":
                self.parser.CharacterDataHandler = self.text
        self.elements += 1
        if self.elements > self.limits.elements:
            raise TooLarge(
                f"The workbook's part {self.name} has more than {self.limits.elements:,} "
                "XML elements, far more than its cells need."
            )
        if self.kind == "sst":
            self.start_string(local, attributes)
        elif local in ("c", "row", "dimension"):
            self.start_cell(local, attributes)

    def start_string(self, local: str, attributes: dict) -> None:
        limits = self.limits
        if local == "sst":  # the counts it declares, refused at once when they are over
            unique = attributes.get("uniqueCount", "").strip()
            if _DIGITS.fullmatch(unique) and _row_number(unique) > limits.strings:
                raise self.over("number of shared strings", _row_number(unique), limits.strings)
        elif local == "si":
            self.strings += 1
            if self.strings > limits.strings:
                raise self.over("number of shared strings", self.strings, limits.strings)

    def text(self, data: str) -> None:
        if self.kind == "sst":
            self.characters += len(data)
            if self.characters > self.limits.characters:
                raise TooLarge(
                    f"The workbook's shared strings hold more than {self.limits.characters:,} "
                    "characters, over the limit."
                )

    def check_ref(self, ref: str, what: str) -> tuple[int, int]:
        found = _CELL_REF.fullmatch(ref.strip())
        if found is None:
            raise Malformed(f"The XLSX workbook cannot be read: {what} {ref[:40]!r} is not a cell.")
        column, row = _column_number(found[1]), _row_number(found[2])
        if row > self.limits.rows:
            raise self.over(f"{what} row", row, self.limits.rows)
        if column > self.limits.columns:
            raise self.over(f"{what} column", column, self.limits.columns)
        return column, row

    def start_cell(self, local: str, attributes: dict) -> None:
        limits = self.limits
        if local == "dimension":
            for corner in attributes.get("ref", "").split(":")[:2]:
                self.check_ref(corner, "dimension")
        elif local == "row":
            number = attributes.get("r", "").strip()
            self.row = _row_number(number) if _DIGITS.fullmatch(number) else self.row + 1
            if self.row > limits.rows:
                raise self.over("row number", self.row, limits.rows)
            self.column = 0
        elif local == "c":
            self.cells += 1
            if self.cells > limits.cells:
                raise self.over("number of cells", self.cells, limits.cells)
            ref = attributes.get("r")
            if ref:
                self.column, _ = self.check_ref(ref, "cell")
            else:
                self.column += 1
                if self.column > limits.columns:
                    raise self.over("cell column", self.column, limits.columns)


def check_workbook(archive: zipfile.ZipFile, limits: SheetLimits) -> None:
    """Refuse (413) a workbook over `limits` before any of it is read into cells: every part
    that is a worksheet or a shared-strings table is scanned, counting as it goes, wherever
    the archive puts it (an XLSX may name its parts as it likes)."""
    members = archive.infolist()
    if len(members) > MAX_PARTS:
        raise TooLarge(
            f"The workbook has {len(members):,} parts, over the limit of {MAX_PARTS:,}: "
            "a spreadsheet has a few dozen."
        )
    for member in members:
        if not member.is_dir():
            with archive.open(member) as stream:
                _PartScan(member.filename, limits).run(stream)


def read_xlsx(data: bytes, *, max_unpacked: int, limits: SheetLimits) -> Table:
    """The first worksheet of a workbook, cell values as text (dates as YYYY-MM-DD).

    A workbook is checked first: what it unpacks to, then every worksheet's dimension, row
    numbers, columns and cells and the shared strings' count and characters (see
    check_workbook), so that a row numbered 2,000,000,000 or a million shared strings is
    413 at once instead of hours of blank rows or gigabytes of strings.
    """
    import openpyxl  # only bulk work needs it: the server's other requests never load it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
            if unpacked > max_unpacked:
                raise TooLarge(
                    f"The workbook unpacks to {unpacked} bytes, over the limit of {max_unpacked}."
                )
            check_workbook(archive, limits)
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, NotImplementedError):
        raise Malformed("The file is not an XLSX workbook (not a ZIP archive).") from None
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


# Column widths of an exported sheet, in characters (Excel's unit: the width of a digit).
MIN_WIDTH, MAX_WIDTH = 10, 60


def display_width(text: str) -> int:
    """How many character widths a cell's longest line takes: East Asian wide and fullwidth
    characters count two, combining marks none."""
    if text.isascii():  # the usual cell: one width a character
        return max(map(len, text.splitlines()), default=0) if "\n" in text else len(text)
    return max(
        (
            sum(
                0
                if unicodedata.combining(character)
                else 2
                if unicodedata.east_asian_width(character) in "WF"
                else 1
                for character in line
            )
            for line in text.splitlines() or [""]
        ),
        default=0,
    )


def column_widths(header: list[str], rows: list[list]) -> list[int]:
    """Each column as wide as its longest value (or header), plus room for the filter button,
    between MIN_WIDTH and MAX_WIDTH."""
    widths = [display_width(name) + 3 for name in header]  # the filter arrow beside a header
    for row in rows:
        for index, value in enumerate(row[: len(widths)]):
            if value is not None:
                widths[index] = max(widths[index], display_width(_csv_text(value)) + 1)
    return [min(MAX_WIDTH, max(MIN_WIDTH, width)) for width in widths]


def xlsx_bytes(header: list[str], rows: Iterable[list], *, title: str) -> bytes:
    """A workbook of one sheet a person can read: the header bold, frozen above the rows and
    under an autofilter; each column as wide as its content (MIN_WIDTH to MAX_WIDTH); text
    that is wider, or has line breaks, wrapped. Text cells neutralised, booleans and whole
    numbers as such."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    rows = [
        [
            ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(value))
            if isinstance(value, str)
            else value
            for value in row
        ]
        for row in rows
    ]
    widths = column_widths(header, rows)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    last = get_column_letter(max(len(header), 1))
    sheet.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    bold, wrapped = Font(bold=True), Alignment(wrap_text=True, vertical="top")

    def cell(value, *, font=None, alignment=None):
        written = WriteOnlyCell(sheet, value)
        if font is not None:
            written.font = font
        if alignment is not None:
            written.alignment = alignment
        return written

    sheet.append([cell(name, font=bold) for name in header])
    for row in rows:
        sheet.append(
            [
                cell(value, alignment=wrapped)
                if isinstance(value, str)
                and (
                    "\n" in value
                    # No character is wider than two: a short cell needs no counting.
                    or (2 * len(value) > widths[index] and display_width(value) > widths[index])
                )
                else value
                for index, value in enumerate(row)
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _dated(buffer.getvalue(), workbook.properties)


# The members of an exported workbook that say when it was written.
_CORE_PROPERTIES = "docProps/core.xml"


def _dated(data: bytes, properties) -> bytes:
    """The workbook with everything that says when it was written set to the start of the
    registry's day: the archive's member times and the document's created and modified
    properties (openpyxl stamps both with the second it saves). So the same register
    exported twice the same day is the same bytes, as the CSV and JSON exports are."""
    from openpyxl.xml.functions import tostring

    stamp = datetime.combine(clock.today(), time.min)
    properties.created = properties.modified = stamp
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            dated = zipfile.ZipInfo(member.filename, date_time=stamp.timetuple()[:6])
            dated.compress_type = zipfile.ZIP_DEFLATED
            dated.external_attr = member.external_attr
            content = source.read(member)
            if member.filename == _CORE_PROPERTIES:
                content = tostring(properties.to_tree())
            target.writestr(dated, content)
    return out.getvalue()


# JSON


def read_json(data: bytes):
    """The document; a byte order mark is allowed."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Malformed("The request body is not valid JSON.") from None
