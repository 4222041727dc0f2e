"""Schemas of customers' objections and their answers."""

from __future__ import annotations

import marshmallow as ma

from ..http.fields import PageArgsSchema, PageSchema, StrictSchema, text

STATUSES = ("open", "upheld", "dismissed", "withdrawn")
ANSWERS = ("upheld", "dismissed", "withdrawn")
_ID = ma.validate.Length(min=1, max=64)


class ObjectionCreateSchema(StrictSchema):
    reason = text(2000, multiline=True, allow_none=True)
    change_id = ma.fields.String(
        allow_none=True,
        validate=_ID,
        metadata={
            "description": "The change objected to, one of `open_changes`; default the newest "
            "(the pending change when there is one); another is 409"
        },
    )


class ObjectionAnswerSchema(StrictSchema):
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(ANSWERS),
        metadata={
            "description": "Staff (admin, procurement): `upheld` or `dismissed`; the customer "
            "that objected: `withdrawn`. Any other is 403 for the caller."
        },
    )
    response = text(
        2000,
        multiline=True,
        allow_none=True,
        description="The answer to the customer: required with `upheld` and `dismissed`, "
        "not given with `withdrawn`",
    )

    @ma.validates_schema
    def response_fits_status(self, data, **kwargs):
        status, response = data.get("status"), data.get("response")
        if status in ("upheld", "dismissed") and response is None:
            raise ma.ValidationError(
                f"An objection {status} needs a response to the customer.", "response"
            )
        if status == "withdrawn" and response is not None:
            raise ma.ValidationError(
                "A withdrawal carries no response; the objection keeps its reason.", "response"
            )


class ObjectionSchema(ma.Schema):
    id = ma.fields.String(required=True)
    subprocessor_id = ma.fields.String(required=True)
    change_id = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "The change objected to: the sub-processor's announcement "
            "(`subprocessor.announced`) or the material change pending on it; null for an "
            "objection older than this field whose sub-processor has no announcement"
        },
    )
    customer_id = ma.fields.String(required=True)
    reason = ma.fields.String(allow_none=True, required=True)
    created_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    response = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Staff's answer (upheld, dismissed); null otherwise"},
    )
    resolved_at = ma.fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    resolved_by = ma.fields.String(
        allow_none=True,
        metadata={"description": "The key that answered or withdrew it; shown to staff only"},
    )


class OpenChangeSchema(ma.Schema):
    change_id = ma.fields.String(required=True)
    kind = ma.fields.String(
        required=True,
        metadata={
            "enum": ["announcement", "change"],
            "description": "`announcement`: the sub-processor as announced (while proposed); "
            "`change`: the material change pending on it",
        },
    )
    effective_on = ma.fields.String(required=True, metadata={"format": "date"})
    objection_deadline = ma.fields.String(required=True, metadata={"format": "date"})


class ObjectionListSchema(ma.Schema):
    objection_deadline = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={
            "format": "date",
            "description": "The last day to object to the newest change open for "
            "objections, else to the latest one announced; null when the sub-processor was "
            "never announced (recorded as already in use) and no material change of it is "
            "pending",
        },
    )
    open_changes = ma.fields.List(
        ma.fields.Nested(OpenChangeSchema),
        required=True,
        metadata={
            "description": "The changes open for objections today, newest first (the "
            "default for a new objection); empty: closed"
        },
    )
    upheld = ma.fields.Boolean(
        required=True,
        metadata={"description": "Whether any objection listed here was upheld"},
    )
    items = ma.fields.List(ma.fields.Nested(ObjectionSchema), required=True)


class ObjectionPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(ObjectionSchema), required=True)


class ObjectionQueryArgsSchema(PageArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    subprocessor_id = ma.fields.String(validate=_ID)
    customer_id = ma.fields.String(
        validate=_ID,
        metadata={"description": "Staff only: a customer sees its own and may not send it (422)"},
    )
