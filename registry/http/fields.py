"""Shared marshmallow pieces: strict base schema, ISO dates, country codes, data categories."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime

import marshmallow as ma

from .. import clock
from . import context, cursors

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Dates the registry accepts: far enough either way for any contract, and never near the
# ends of Python's calendar, where adding a notice period or a day overflows.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
MAX_PAGE_SIZE = 100


class StrictSchema(ma.Schema):
    """Unknown fields are errors, at every nesting level."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class IsoDate(ma.fields.String):
    """A calendar date written YYYY-MM-DD, kept as that string."""

    default_error_messages = {
        "invalid_date": "Not a valid date; expected YYYY-MM-DD.",
        "out_of_range": f"Must be a date from {EARLIEST_DATE} to {LATEST_DATE}.",
    }

    def __init__(self, **kwargs):
        metadata = {"format": "date", "example": "2026-01-31", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _DATE.fullmatch(text):
            raise self.make_error("invalid_date")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise self.make_error("invalid_date") from None
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise self.make_error("out_of_range")
        return text


class Instant(ma.fields.String):
    """A moment in ISO 8601 with its zone offset (`2026-11-24T09:30:00+01:00` or `...Z`),
    within the registry's dates (EARLIEST_DATE to LATEST_DATE, both as written and in UTC);
    kept as a UTC timestamp with milliseconds. `not_future`: not after the registry's now.

    The range is checked on the date as written before any arithmetic: converting
    `0001-01-01T00:00:00+14:00` to UTC would overflow Python's calendar."""

    default_error_messages = {
        "invalid": "Not a valid moment; expected ISO 8601 with a zone, e.g. 2026-11-24T09:30:00Z.",
        "no_zone": "Give the zone offset (Z or +01:00): a time without one is ambiguous.",
        "out_of_range": f"Must be a moment from {EARLIEST_DATE} to {LATEST_DATE}.",
        "future": "Must not be in the future.",
    }

    def __init__(self, *, not_future: bool = False, **kwargs):
        self.not_future = not_future
        metadata = {
            "format": "date-time",
            "example": "2026-11-24T09:30:00Z",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise self.make_error("invalid") from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise self.make_error("no_zone")
        if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
            raise self.make_error("out_of_range")
        utc = moment.astimezone(UTC)  # a day at most from a date in range: no overflow
        if not EARLIEST_DATE <= utc.date() <= LATEST_DATE:
            raise self.make_error("out_of_range")
        if self.not_future and utc > clock.now():
            raise self.make_error("future")
        return clock.timestamp(utc)


class StrictBoolean(ma.fields.Boolean):
    """JSON true or false only, not "yes" or 1."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _encodable(value: str) -> None:
    # JSON can escape lone surrogates ("\ud800"); they cannot be stored as UTF-8.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ma.ValidationError("Must be valid Unicode text (no lone surrogates).") from None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\t]")
# Unicode noncharacters: U+FDD0-U+FDEF and the last two code points of every plane. XML 1.0
# forbids U+FFFE and U+FFFF outright; none of them belongs in text meant for people.
_NONCHARACTER = re.compile(
    "[\ufdd0-\ufdef\ufffe\uffff"
    + "".join(
        f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17)
    )
    + "]"
)


# One line of text refuses more: C1 controls (U+0080-U+009F, NEL among them) and the marks,
# embeddings, overrides and isolates that reorder text for display (bidi: "Trojan Source"),
# which make a name read differently from what it holds.
_C1 = re.compile(r"[\x80-\x9f]")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The same, for the spec: what a client may check before sending one line of text.
SINGLE_LINE_PATTERN = (
    "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$"
)


def _printable(*, multiline: bool):
    def check(value: str) -> None:
        if _CONTROL.search(value) or (not multiline and _LINE_BREAK.search(value)):
            allowed = "line breaks and tabs" if multiline else "no control characters at all"
            raise ma.ValidationError(f"Must not contain control characters ({allowed} allowed).")
        if not multiline and (found := _C1.search(value) or _BIDI.search(value)):
            raise ma.ValidationError(
                f"Must be one line of plain text: U+{ord(found[0]):04X} is a "
                + ("C1 control character" if _C1.match(found[0]) else "bidirectional control")
                + " (U+0080 to U+009F, U+061C, U+200E, U+200F, U+202A to U+202E and U+2066 "
                "to U+2069 are refused)."
            )
        if _NONCHARACTER.search(value):
            raise ma.ValidationError(
                "Must not contain Unicode noncharacters (U+FDD0 to U+FDEF, U+FFFE, U+FFFF, ...)."
            )

    return check


# DerivedCoreProperties.txt, Default_Ignorable_Code_Point (stable since Unicode 6.0 but for
# additions within these reserved ranges).
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_DROP = dict.fromkeys(cp for low, high in DEFAULT_IGNORABLE for cp in range(low, high + 1))
_DROP = dict.fromkeys(cp for low, high in DEFAULT_IGNORABLE for cp in range(low, high + 1))


def visible(text: str) -> str:
    """`text` without what no reader sees: default-ignorable code points and every other
    format character (category Cf)."""
    return "".join(ch for ch in text.translate(_DROP) if unicodedata.category(ch) != "Cf")


def _not_blank(value: str) -> None:
    # Invisible characters (U+200B, U+FEFF, U+3164, ...) alone are as blank as spaces.
    if not visible(value).strip():
        raise ma.ValidationError("Must not be blank.")


def text(
    max_length: int,
    *,
    required: bool = False,
    allow_none: bool = False,
    multiline: bool = False,
    **metadata,
):
    """A non-blank, printable string of bounded length; one line unless `multiline`.

    Printable: no control characters (but line breaks and tabs when `multiline`), no lone
    surrogates and no noncharacters, so that every accepted text is also valid in XML 1.0.
    One line also refuses C1 controls and bidirectional controls (the spec gives it
    SINGLE_LINE_PATTERN).
    """
    if not multiline:
        metadata = {"pattern": SINGLE_LINE_PATTERN, **metadata}
    return ma.fields.String(
        required=required,
        allow_none=allow_none,
        validate=[
            ma.validate.Length(min=1, max=max_length),
            _not_blank,
            _encodable,
            _printable(multiline=multiline),
        ],
        metadata=metadata,
    )


class Cursor(ma.fields.String):
    """An opaque cursor this API gave the caller for this list, loaded as the list position
    it stands for (an int): any other string, another caller's cursor or another list's, is
    an error."""

    default_error_messages = {"invalid_cursor": "Not a cursor from this API."}

    def __init__(self, list_name: str | None = None, **kwargs):
        self.list_name = list_name
        # No example: any example would be another caller's cursor, refused, and the docs'
        # "Try it out" would send it.
        metadata = {"pattern": cursors.PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return context.cursor_position(text, self.list_name)
        except cursors.Invalid:
            raise self.make_error("invalid_cursor") from None


CURSOR_DESCRIPTION = (
    "opaque (base64url), valid only for the caller it was given to and on the same list"
)


class PageSchema(ma.Schema):
    """A page of a list; subclasses declare `items`."""

    next_cursor = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "Pass as `cursor` for the next page; null at the end; "
            + CURSOR_DESCRIPTION,
            "pattern": cursors.PATTERN,
        },
    )


class NoArgsSchema(StrictSchema):
    """For operations without query parameters: any parameter sent is an error."""


class PageArgsSchema(StrictSchema):
    limit = ma.fields.Integer(
        load_default=50,
        validate=ma.validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": f"Page size, at most {MAX_PAGE_SIZE}"},
    )
    cursor = Cursor(
        metadata={"description": "The `next_cursor` of the previous page; " + CURSOR_DESCRIPTION}
    )
