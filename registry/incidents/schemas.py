"""Schemas of incidents: what staff record and change, what staff and customers read."""

from __future__ import annotations

import marshmallow as ma

from ..compliance import flags
from ..http.fields import (
    Instant,
    PageArgsSchema,
    PageSchema,
    StrictSchema,
    text,
)
from ..law.fields import DataCategory

STATUSES = ("open", "communicated", "closed")
MAX_TEXT = 5000
MAX_LIST = 100
_COUNT = {
    "description": "Approximate number; null: not known (yet)",
    "minimum": 0,
}


class ContactSchema(StrictSchema):
    name = text(200, required=True, description="Who to ask: a person or a function (DPO)")
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))


def _unique(values: list) -> None:
    if len(set(values)) != len(values):
        raise ma.ValidationError("Each value may be listed once.")


def _facts(*, required: bool) -> dict:
    """The facts of GDPR Art. 33(3), required at creation, each optional in a PATCH."""
    return {
        "nature": text(
            MAX_TEXT,
            required=required,
            multiline=True,
            description="The nature of the breach: what happened, how, since when",
        ),
        "data_categories": ma.fields.List(
            DataCategory(),
            required=required,
            validate=[ma.validate.Length(min=1, max=MAX_LIST), _unique],
            metadata={"description": "The personal data concerned, as fideslang keys"},
        ),
        "data_subject_categories": ma.fields.List(
            text(200),
            validate=[ma.validate.Length(max=50), _unique],
            metadata={
                "description": "Categories of data subjects concerned (employees, end users)",
                "example": ["end users"],
            },
        ),
        "approx_data_subjects": ma.fields.Integer(
            strict=True,
            allow_none=True,
            validate=ma.validate.Range(min=0),
            metadata=_COUNT,
        ),
        "approx_records": ma.fields.Integer(
            strict=True,
            allow_none=True,
            validate=ma.validate.Range(min=0),
            metadata=_COUNT,
        ),
        "likely_consequences": text(
            MAX_TEXT, required=required, multiline=True, description="For the data subjects"
        ),
        "measures_taken": text(
            MAX_TEXT,
            required=required,
            multiline=True,
            description="Measures taken or proposed, to address it and mitigate its effects",
        ),
        "contact": ma.fields.Nested(
            ContactSchema,
            required=required,
            metadata={"description": "The contact point for more information"},
        ),
    }


_DETECTED_ON = {
    "description": (
        "When the breach was detected (became known): ISO 8601 with zone, not in the future. "
        "Notice is due REGISTRY_INCIDENT_NOTICE_HOURS after it"
    )
}
_CUSTOMER_IDS = {
    "description": (
        "The customers concerned (customer ids, slugs; each one a key was issued to); "
        "absent or null: every customer. Once communicated, a customer told stays concerned"
    ),
    "example": ["acme"],
}


def _customer_ids():
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=200)),
        allow_none=True,
        validate=ma.validate.Length(min=1, max=MAX_LIST),
        metadata=_CUSTOMER_IDS,
    )


IncidentCreateSchema = StrictSchema.from_dict(
    {
        "subprocessor_id": ma.fields.String(
            required=True,
            validate=ma.validate.Length(min=1, max=64),
            metadata={"description": "The sub-processor where the breach happened"},
        ),
        "detected_on": Instant(required=True, not_future=True, metadata=_DETECTED_ON),
        **_facts(required=True),
        "customer_ids": _customer_ids(),
    },
    name="IncidentCreateSchema",
)

IncidentUpdateSchema = StrictSchema.from_dict(
    {
        "status": ma.fields.String(
            validate=ma.validate.OneOf(("communicated", "closed")),
            metadata={
                "description": (
                    "`communicated` publishes it to the customers concerned; `closed` ends it "
                    "(after it was communicated)"
                )
            },
        ),
        "detected_on": Instant(not_future=True, metadata=_DETECTED_ON),
        **_facts(required=False),
        "customer_ids": _customer_ids(),
    },
    name="IncidentUpdateSchema",
)


class _IncidentFactsSchema(ma.Schema):
    id = ma.fields.String(required=True)
    subprocessor_id = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"enum": list(STATUSES)})
    detected_on = ma.fields.String(required=True, metadata={"format": "date-time"})
    nature = ma.fields.String(required=True)
    data_categories = ma.fields.List(ma.fields.String(), required=True)
    data_subject_categories = ma.fields.List(ma.fields.String(), required=True)
    approx_data_subjects = ma.fields.Integer(allow_none=True, required=True)
    approx_records = ma.fields.Integer(allow_none=True, required=True)
    likely_consequences = ma.fields.String(required=True)
    measures_taken = ma.fields.String(required=True)
    contact = ma.fields.Nested(ContactSchema, required=True)


class NotifiedSchema(ma.Schema):
    customer_id = ma.fields.String(required=True)
    at = ma.fields.String(
        required=True,
        metadata={"format": "date-time", "description": "When it was first told"},
    )


_STAFF_ONLY = "Staff only. "


class IncidentSchema(_IncidentFactsSchema):
    """An incident: staff see every field; a customer concerned sees the facts, never whom
    else it concerns."""

    subprocessor_name = ma.fields.String(allow_none=True, required=True)
    version = ma.fields.Integer(
        required=True,
        metadata={"description": "Each write is a new version; once communicated, each is told"},
    )
    communicated_at = ma.fields.String(
        allow_none=True, required=True, metadata={"format": "date-time"}
    )
    updated_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    closed_at = ma.fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    customer_ids = ma.fields.List(
        ma.fields.String(),
        allow_none=True,
        metadata={"description": _STAFF_ONLY + "The customers concerned; null: every customer"},
    )
    notified = ma.fields.List(
        ma.fields.Nested(NotifiedSchema),
        metadata={"description": _STAFF_ONLY + "Each customer told, and when first"},
    )
    notice_due_at = ma.fields.String(
        metadata={
            "format": "date-time",
            "description": _STAFF_ONLY + "detected_on plus REGISTRY_INCIDENT_NOTICE_HOURS",
        },
    )
    overdue = ma.fields.Boolean(
        metadata={
            "description": _STAFF_ONLY + "Still open past notice_due_at: INCIDENT_NOTICE_OVERDUE"
        },
    )
    created_at = ma.fields.String(
        metadata={"format": "date-time", "description": _STAFF_ONLY + "When it was recorded"}
    )


class IncidentVersionSchema(_IncidentFactsSchema):
    version = ma.fields.Integer(required=True)
    at = ma.fields.String(
        required=True, metadata={"format": "date-time", "description": "When it was written"}
    )
    customer_ids = ma.fields.List(ma.fields.String(), allow_none=True, required=True)


class IncidentPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(IncidentSchema), required=True)


class IncidentVersionPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(IncidentVersionSchema), required=True)


class IncidentQueryArgsSchema(PageArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    subprocessor_id = ma.fields.String(validate=ma.validate.Length(min=1, max=64))


class OverdueFlagSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"enum": [flags.INCIDENT_NOTICE_OVERDUE]})
    severity = ma.fields.String(
        required=True, metadata={"enum": [flags.SEVERITY[flags.INCIDENT_NOTICE_OVERDUE]]}
    )
    incident_id = ma.fields.String(required=True)
    subprocessor_id = ma.fields.String(required=True)
    subprocessor_name = ma.fields.String(allow_none=True, required=True)
    detected_on = ma.fields.String(required=True, metadata={"format": "date-time"})
    notice_due_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    message = ma.fields.String(required=True)


class IncidentNoticeReportSchema(ma.Schema):
    """The register report's incidents: always as of now, whatever `as_of` or `at`."""

    notice_hours = ma.fields.Integer(
        required=True, metadata={"description": "REGISTRY_INCIDENT_NOTICE_HOURS"}
    )
    open = ma.fields.Integer(
        required=True, metadata={"description": "Incidents not communicated to customers yet"}
    )
    overdue = ma.fields.Integer(
        required=True, metadata={"description": "Of those, past their notice deadline now"}
    )
    flags = ma.fields.List(ma.fields.Nested(OverdueFlagSchema), required=True)
