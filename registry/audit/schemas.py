"""Schemas of the audit trail's entries and its pages."""

from __future__ import annotations

import marshmallow as ma

from ..http.fields import PageArgsSchema, PageSchema

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
