"""Schemas of the change feed: change events and their pages."""

from __future__ import annotations

import marshmallow as ma

from ..history.schemas import VersionRecordSchema
from ..http.fields import StrictSchema

CHANGE_TYPES = (
    "subprocessor.announced",
    # A vendor already in use, recorded after the fact: internal, never announced as new.
    "subprocessor.recorded",
    "subprocessor.changed",
    "subprocessor.retired",
    # No write: a newly loaded act, a date passing an expiry, or new rules changed a verdict.
    "subprocessor.verdict_changed",
    # To the objecting customer alone: staff upheld or dismissed its objection, or it withdrew it.
    "objection.resolved",
)


class ObjectionResolvedSchema(ma.Schema):
    id = ma.fields.String(required=True)
    subprocessor_id = ma.fields.String(required=True)
    change_id = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The change objected to (its announcement or a material one)"},
    )
    status = ma.fields.String(
        required=True, metadata={"enum": ["upheld", "dismissed", "withdrawn"]}
    )
    response = ma.fields.String(allow_none=True, required=True)
    resolved_at = ma.fields.String(required=True, metadata={"format": "date-time"})


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
    pending = ma.fields.Boolean(
        metadata={
            "description": "For a material subprocessor.changed: announced, in force only "
            "from `effective_on` (objections until `objection_deadline`)"
        }
    )
    reasons = ma.fields.List(
        ma.fields.String(), metadata={"description": "Why the change is material"}
    )
    replaces = ma.fields.String(
        allow_none=True,
        metadata={"description": "The pending change this one replaced (notice restarted)"},
    )
    applies = ma.fields.String(
        metadata={"description": "The announced change now in force (its change id)"}
    )
    discarded_change = ma.fields.String(
        metadata={"description": "For subprocessor.retired: the pending change it discarded"}
    )
    retired_on = ma.fields.String(
        metadata={
            "format": "date",
            "description": "For subprocessor.retired: the day it is retired from (today, or a "
            "later day when scheduled)",
        }
    )
    retired_reason = ma.fields.String(
        allow_none=True,
        metadata={"description": "For subprocessor.retired: why, as given when retiring"},
    )
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
    objection = ma.fields.Nested(
        ObjectionResolvedSchema,
        metadata={
            "description": "For objection.resolved (seen by the objecting customer and staff "
            "only): the objection and its answer; `effective_on` is then the date the change "
            "objected to takes effect"
        },
    )


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
