"""Schemas of accountability: audit entries, versions, change events, objections."""

from __future__ import annotations

import marshmallow as ma

from .common import PageArgsSchema, PageSchema, StrictSchema, text

CHANGE_TYPES = ("subprocessor.announced", "subprocessor.changed", "subprocessor.retired")
_ID = ma.validate.Length(min=1, max=64)


class ActorSchema(ma.Schema):
    key_id = ma.fields.String(allow_none=True)
    role = ma.fields.String(required=True)
    customer_id = ma.fields.String(allow_none=True)
    name = ma.fields.String(allow_none=True)


class AuditEntrySchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    at = ma.fields.String(required=True, metadata={"format": "date-time"})
    actor = ma.fields.Nested(ActorSchema, required=True)
    action = ma.fields.String(required=True, metadata={"example": "subprocessor.update"})
    object_type = ma.fields.String(required=True)
    object_id = ma.fields.String(allow_none=True)
    change = ma.fields.Raw(required=True, metadata={"description": "What the write changed"})
    prev_hash = ma.fields.String(required=True)
    hash = ma.fields.String(
        required=True,
        metadata={"description": "SHA-256 over the canonical JSON of the entry with prev_hash"},
    )


class AuditPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(AuditEntrySchema), required=True)


class AuditQueryArgsSchema(PageArgsSchema):
    action = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    object_type = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    object_id = ma.fields.String(validate=_ID)


class VersionRecordSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    legal_entity = ma.fields.String(allow_none=True)
    service = ma.fields.String(required=True)
    purpose = ma.fields.String(allow_none=True)
    data_categories = ma.fields.List(ma.fields.String(), required=True)
    locations = ma.fields.List(ma.fields.Dict(), required=True)
    effective_on = ma.fields.String(required=True, metadata={"format": "date"})
    retired_on = ma.fields.String(allow_none=True, metadata={"format": "date"})
    version = ma.fields.Integer(required=True)
    announced_on = ma.fields.String(metadata={"format": "date"})
    created_at = ma.fields.String(metadata={"format": "date-time"})


class VersionSchema(ma.Schema):
    version = ma.fields.Integer(required=True)
    recorded_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    record = ma.fields.Nested(VersionRecordSchema, required=True)


class HistorySchema(ma.Schema):
    subprocessor_id = ma.fields.String(required=True)
    versions = ma.fields.List(ma.fields.Nested(VersionSchema), required=True)


class ChangeSchema(ma.Schema):
    id = ma.fields.String(required=True)
    cursor = ma.fields.String(required=True, metadata={"description": "Pass as `since`"})
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(CHANGE_TYPES))
    at = ma.fields.String(required=True, metadata={"format": "date-time"})
    subprocessor_id = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
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


class ObjectionCreateSchema(StrictSchema):
    reason = text(2000, multiline=True, allow_none=True)


class ObjectionSchema(ma.Schema):
    id = ma.fields.String(required=True)
    subprocessor_id = ma.fields.String(required=True)
    customer_id = ma.fields.String(required=True)
    reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.String(required=True, metadata={"format": "date-time"})


class ObjectionListSchema(ma.Schema):
    objection_deadline = ma.fields.String(required=True, metadata={"format": "date"})
    items = ma.fields.List(ma.fields.Nested(ObjectionSchema), required=True)
