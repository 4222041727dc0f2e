"""Schemas of the change feed: change events and their pages."""

from __future__ import annotations

import marshmallow as ma

from ..history.schemas import VersionRecordSchema
from ..http.fields import StrictSchema

CHANGE_TYPES = (
    "subprocessor.announced",
    "subprocessor.changed",
    "subprocessor.retired",
    # No write: a newly loaded act, a date passing an expiry, or new rules changed a verdict.
    "subprocessor.verdict_changed",
)


class ChangeSchema(ma.Schema):
    id = ma.fields.String(required=True)
    cursor = ma.fields.String(required=True, metadata={"description": "Pass as `since`"})
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(CHANGE_TYPES))
    at = ma.fields.String(required=True, metadata={"format": "date-time"})
    subprocessor_id = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    material = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "true: customers are told (webhooks) and may object where it "
            "applies; false: housekeeping, internal"
        },
    )
    effective_on = ma.fields.String(required=True, metadata={"format": "date"})
    objection_deadline = ma.fields.String(
        allow_none=True,
        metadata={"format": "date", "description": "Last day customers may object"},
    )
    subprocessor = ma.fields.Nested(VersionRecordSchema, required=True)
    changes = ma.fields.Dict(
        metadata={"description": "For subprocessor.changed: each field's from and to"}
    )
    retired_on = ma.fields.String(metadata={"format": "date"})
    verdict = ma.fields.Dict(
        metadata={
            "description": "For subprocessor.verdict_changed: the verdict `from` and `to`, "
            "each its status and flags"
        }
    )
    reason = ma.fields.String(
        metadata={
            "enum": ["law", "date", "rules"],
            "description": "For subprocessor.verdict_changed: a new act of the reference law, "
            "the date passing (an expiry, an ending), or new rules of evaluation",
        }
    )
    as_of = ma.fields.String(metadata={"format": "date"})


class ChangePageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ChangeSchema), required=True)
    next_cursor = ma.fields.String(
        required=True,
        metadata={"description": "Pass as `since` to get what comes next (also when empty)"},
    )


class ChangeQueryArgsSchema(StrictSchema):
    since = ma.fields.String(
        validate=ma.validate.Regexp(r"^[0-9]{1,18}$", error="Not a cursor from this API."),
        metadata={"description": "A `cursor` or `next_cursor` seen before; default: the start"},
    )
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))
