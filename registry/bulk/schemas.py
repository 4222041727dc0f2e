"""Schemas of bulk work: the import's query arguments and its answer."""

from __future__ import annotations

import marshmallow as ma

from ..http.fields import StrictSchema

OUTCOMES = ("created", "updated", "unchanged")


class ImportArgsSchema(StrictSchema):
    dry_run = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "Check everything as the import would write it, change control "
            "included, and write nothing"
        },
    )


class ImportedSchema(ma.Schema):
    """What the import did to one sub-processor."""

    row = ma.fields.Integer(
        required=True,
        metadata={"description": "Its first row (CSV, XLSX: the header is row 1) or element"},
    )
    name = ma.fields.String(required=True)
    id = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Null for one a dry run would create"},
    )
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(OUTCOMES))
    version = ma.fields.Integer(allow_none=True, required=True)
    pending_change = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "A material change is announced, not applied: the change event's id "
            "(it takes effect on its own effective_on, as for a PATCH)"
        },
    )


class ImportChangeSchema(ma.Schema):
    """One field of a sub-processor the import changes (or, in a dry run, would change)."""

    id = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The sub-processor's id; null for one a dry run would create"},
    )
    name = ma.fields.String(required=True, metadata={"description": "Its name after the import"})
    field = ma.fields.String(
        required=True,
        metadata={
            "description": "A field of the sub-processor as the API shows it (`name`, "
            "`locations`, ...); a new one lists each field it has, from null",
            "example": "name",
        },
    )
    from_ = ma.fields.Raw(
        data_key="from",
        attribute="from",
        allow_none=True,
        required=True,
        metadata={"description": "The value on the register; null for a new sub-processor"},
    )
    to = ma.fields.Raw(
        allow_none=True,
        required=True,
        metadata={"description": "The value the file gives (a material change: announced)"},
    )


class ImportWarningSchema(ma.Schema):
    """Something the import read past: a column it ignored."""

    row = ma.fields.Integer(metadata={"description": "The row (the header's, for a column)"})
    pointer = ma.fields.String(required=True, metadata={"example": "/Owner"})
    detail = ma.fields.String(required=True)


class ImportResultSchema(ma.Schema):
    dry_run = ma.fields.Boolean(
        required=True, metadata={"description": "True: checked, nothing was written"}
    )
    rows = ma.fields.Integer(
        required=True, metadata={"description": "Rows read (CSV, XLSX) or elements (JSON)"}
    )
    created = ma.fields.Integer(required=True)
    updated = ma.fields.Integer(required=True)
    unchanged = ma.fields.Integer(required=True)
    subprocessors = ma.fields.List(ma.fields.Nested(ImportedSchema), required=True)
    changes = ma.fields.List(
        ma.fields.Nested(ImportChangeSchema),
        required=True,
        metadata={
            "description": "Per sub-processor created or updated, each field that changes "
            "(a dry run: would change), `{name, field, from, to}`"
        },
    )
    warnings = ma.fields.List(
        ma.fields.Nested(ImportWarningSchema),
        required=True,
        metadata={"description": "Columns ignored (not ones the import reads); empty for JSON"},
    )
