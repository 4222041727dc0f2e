"""Schemas of customers' objections to new sub-processors."""

from __future__ import annotations

import marshmallow as ma

from ..http.fields import StrictSchema, text


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
