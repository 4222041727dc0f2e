"""Schemas of compliance reports and of the allowed-processors answer."""

from __future__ import annotations

import marshmallow as ma

from ..http.fields import StrictSchema
from ..incidents.schemas import IncidentNoticeReportSchema
from ..law.fields import CountryCode, DataCategory
from ..subprocessors.schemas import SERVICES, ComplianceSchema


class SummarySchema(ma.Schema):
    total = ma.fields.Integer(required=True)
    active = ma.fields.Integer(required=True)
    proposed = ma.fields.Integer(required=True)
    compliant = ma.fields.Integer(required=True)
    flagged = ma.fields.Integer(required=True)
    active_flagged = ma.fields.Integer(required=True)
    by_flag = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)


class FlaggedSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    compliance = ma.fields.Nested(ComplianceSchema, required=True)


class RegisterReportSchema(ma.Schema):
    as_of = ma.fields.String(required=True, metadata={"format": "date"})
    assumed_ended = ma.fields.List(ma.fields.String(), required=True)
    summary = ma.fields.Nested(SummarySchema, required=True)
    flagged = ma.fields.List(ma.fields.Nested(FlaggedSchema), required=True)
    incidents = ma.fields.Nested(
        IncidentNoticeReportSchema,
        required=True,
        metadata={
            "description": "Personal-data breaches not yet communicated to customers, as of "
            "now (not `as_of`): INCIDENT_NOTICE_OVERDUE past REGISTRY_INCIDENT_NOTICE_HOURS"
        },
    )


# A payload rarely holds more kinds of data than this; more is a query to refuse, not to run.
MAX_CATEGORIES = 20


class AllowedArgsSchema(StrictSchema):
    data_category = ma.fields.List(
        DataCategory(),
        validate=ma.validate.Length(max=MAX_CATEGORIES),
        metadata={
            "description": "Only processors approved for it (it or an ancestor declared); "
            f"repeat it (at most {MAX_CATEGORIES} times) for processors approved for every one"
        },
    )
    service = ma.fields.String(validate=ma.validate.OneOf(SERVICES))
    country = CountryCode(metadata={"description": "Only processors with a location there"})


class AllowedProcessorSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    service = ma.fields.String(required=True)
    countries = ma.fields.List(ma.fields.String(), required=True)
    data_categories = ma.fields.List(ma.fields.String(), required=True)


class AllowedSchema(ma.Schema):
    revision = ma.fields.Integer(required=True)
    as_of = ma.fields.String(required=True, metadata={"format": "date"})
    processors = ma.fields.List(ma.fields.Nested(AllowedProcessorSchema), required=True)
