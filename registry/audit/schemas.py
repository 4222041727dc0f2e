"""Schemas of the audit trail's entries and its pages."""

from __future__ import annotations

import marshmallow as ma

from ..http.fields import PageArgsSchema, PageSchema

_ID = ma.validate.Length(min=1, max=64)


_PERSONAL = 'Personal data: the value, or `{"erased": true}` once erased (see `personal_data`)'


class ActorSchema(ma.Schema):
    key_id = ma.fields.Raw(
        allow_none=True,
        metadata={
            "description": f"A staff key's id; a customer key's is personal data. {_PERSONAL}"
        },
    )
    role = ma.fields.String(required=True)
    customer_id = ma.fields.Raw(allow_none=True, metadata={"description": _PERSONAL})
    name = ma.fields.Raw(allow_none=True, metadata={"description": _PERSONAL})


class PersonalDataSchema(ma.Schema):
    pointer = ma.fields.String(
        required=True,
        metadata={"description": "JSON pointer into the entry", "example": "/actor/name"},
    )
    digest = ma.fields.String(
        required=True,
        metadata={
            "description": "What the hashed entry holds in its place: `sha256:` and the hex "
            "SHA-256 of a random salt followed by the value's canonical JSON"
        },
    )
    erased = ma.fields.Boolean(required=True)


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
        metadata={
            "description": "SHA-256 over the canonical JSON of the entry with prev_hash, each "
            "`personal_data` digest in place of its value"
        },
    )
    personal_data = ma.fields.List(
        ma.fields.Nested(PersonalDataSchema),
        required=True,
        metadata={"description": "The personal values of the entry, held apart from it"},
    )


class AuditPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(AuditEntrySchema), required=True)


class AuditQueryArgsSchema(PageArgsSchema):
    action = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    object_type = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    object_id = ma.fields.String(validate=_ID)
