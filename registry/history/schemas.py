"""Schemas of a sub-processor's versions."""

from __future__ import annotations

import marshmallow as ma


class VersionRecordSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    legal_entity = ma.fields.String(allow_none=True)
    service = ma.fields.String(required=True)
    purpose = ma.fields.String(allow_none=True)
    data_categories = ma.fields.List(ma.fields.String(), required=True)
    locations = ma.fields.List(ma.fields.Dict(), required=True)
    onward_transfers = ma.fields.List(ma.fields.Dict())
    exporter_role = ma.fields.String(
        allow_none=True,
        metadata={"description": "This organisation's role for its data; null: the default"},
    )
    effective_on = ma.fields.String(required=True, metadata={"format": "date"})
    retired_on = ma.fields.String(allow_none=True, metadata={"format": "date"})
    retired_reason = ma.fields.String(allow_none=True)
    version = ma.fields.Integer(required=True)
    announced_on = ma.fields.String(metadata={"format": "date"})
    already_in_use = ma.fields.Boolean()
    urgent_reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.String(metadata={"format": "date-time"})


class VersionSchema(ma.Schema):
    version = ma.fields.Integer(required=True)
    recorded_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    record = ma.fields.Nested(VersionRecordSchema, required=True)


class HistorySchema(ma.Schema):
    subprocessor_id = ma.fields.String(required=True)
    versions = ma.fields.List(ma.fields.Nested(VersionSchema), required=True)
    pending_change = ma.fields.Dict(
        allow_none=True,
        metadata={"description": "A material change announced and not yet in force"},
    )
    objections = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "Objections and their answers (a customer sees its own)"},
    )
