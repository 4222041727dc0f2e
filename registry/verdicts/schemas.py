"""Schemas of the register's compliance report."""

from __future__ import annotations

import marshmallow as ma

from ..incidents.schemas import IncidentNoticeReportSchema
from ..subprocessors.schemas import ComplianceSchema


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
