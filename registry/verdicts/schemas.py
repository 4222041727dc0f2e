"""Schemas of the register's compliance report."""

from __future__ import annotations

import marshmallow as ma

from ..compliance.evidence import DUE_WITHIN_DAYS, KINDS
from ..incidents.schemas import IncidentNoticeReportSchema
from ..subprocessors.schemas import ComplianceSchema, FlagSchema, NoteSchema, WaivedFlagSchema


class SummarySchema(ma.Schema):
    total = ma.fields.Integer(required=True)
    active = ma.fields.Integer(required=True)
    proposed = ma.fields.Integer(required=True)
    compliant = ma.fields.Integer(required=True)
    flagged = ma.fields.Integer(
        required=True, metadata={"description": "With at least one error flag"}
    )
    compliant_with_warnings = ma.fields.Integer(
        required=True,
        metadata={"description": "Compliant (no error) and carrying at least one warning"},
    )
    non_compliant = ma.fields.Integer(
        required=True, metadata={"description": "With at least one error flag (as `flagged`)"}
    )
    errors = ma.fields.Integer(required=True, metadata={"description": "Error flags in all"})
    warnings = ma.fields.Integer(required=True, metadata={"description": "Warning flags in all"})
    notes = ma.fields.Integer(
        required=True, metadata={"description": "Notes in all (not findings)"}
    )
    waived = ma.fields.Integer(
        required=True, metadata={"description": "Warnings a waiver accepts (not in `warnings`)"}
    )
    active_flagged = ma.fields.Integer(required=True)
    by_flag = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)


class FlaggedSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    compliance = ma.fields.Nested(ComplianceSchema, required=True)


class FindingSchema(FlagSchema):
    """One flag of one sub-processor."""

    subprocessor_id = ma.fields.String(required=True)
    subprocessor_name = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True, metadata={"description": "The sub-processor's status on the date"}
    )


class NotedSchema(NoteSchema):
    """One note of one sub-processor's verdict."""

    subprocessor_id = ma.fields.String(required=True)
    subprocessor_name = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True, metadata={"description": "The sub-processor's status on the date"}
    )


class WaivedFindingSchema(WaivedFlagSchema):
    """One waived warning of one sub-processor."""

    subprocessor_id = ma.fields.String(required=True)
    subprocessor_name = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True, metadata={"description": "The sub-processor's status on the date"}
    )


class EvidenceDueSchema(ma.Schema):
    """One piece of evidence falling due: a note, never a finding."""

    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(KINDS),
        metadata={
            "description": "`certification_check` (the check goes stale: the first day "
            "CERTIFICATION_CHECK_STALE would be raised), `tia_review` (the TIA's `review_by`), "
            "`certificate_expiry` (the first day an Art. 46(2)(f) certificate no longer "
            "counts: NO_SAFEGUARD from then) or `waiver_expiry` (the waiver's `expires_on`: "
            "the warning is back)"
        },
    )
    item = ma.fields.String(
        required=True,
        metadata={
            "description": "What falls due: `<sub-processor id>/<place>/<activity>` for a "
            "certification check, a TIA review or a certificate, the waiver's id for a waiver"
        },
    )
    due_on = ma.fields.String(required=True, metadata={"format": "date"})
    subprocessor_id = ma.fields.String(required=True)
    subprocessor_name = ma.fields.String(required=True, allow_none=True)
    country = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "null: no country"}
    )
    message = ma.fields.String(required=True)


class UnscannedCopySchema(ma.Schema):
    """A copy on file stored without a malware scan."""

    id = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    media_type = ma.fields.String(required=True)
    sha256 = ma.fields.String(required=True)
    subprocessor_id = ma.fields.String(required=True, allow_none=True)
    uploaded_at = ma.fields.String(required=True, metadata={"format": "date-time"})


class RegisterReportSchema(ma.Schema):
    as_of = ma.fields.String(required=True, metadata={"format": "date"})
    assumed_ended = ma.fields.List(ma.fields.String(), required=True)
    summary = ma.fields.Nested(SummarySchema, required=True)
    flagged = ma.fields.List(
        ma.fields.Nested(FlaggedSchema),
        required=True,
        metadata={"description": "The sub-processors with an error flag, with their verdicts"},
    )
    findings = ma.fields.List(
        ma.fields.Nested(FindingSchema),
        required=True,
        metadata={"description": "Every flag, warnings included, with its sub-processor"},
    )
    notes = ma.fields.List(
        ma.fields.Nested(NotedSchema),
        required=True,
        metadata={
            "description": "Every note (LAW_UNVERIFIED: a caveat about the reference law, "
            "not a finding), with its sub-processor"
        },
    )
    waived = ma.fields.List(
        ma.fields.Nested(WaivedFindingSchema),
        required=True,
        metadata={
            "description": "Every warning a waiver in force on the date accepts, with its "
            "sub-processor and the waiver (not in `findings`)"
        },
    )
    evidence_due = ma.fields.List(
        ma.fields.Nested(EvidenceDueSchema),
        required=True,
        metadata={
            "description": f"What evidence falls due from `as_of` to {DUE_WITHIN_DAYS} days "
            "later (both inclusive), by due date: of the register and the waivers as they "
            "stood at `at`, if given. Notes, never findings"
        },
    )
    incidents = ma.fields.Nested(
        IncidentNoticeReportSchema,
        required=True,
        metadata={
            "description": "Personal-data breaches not yet communicated to customers, as of "
            "now (not `as_of`): INCIDENT_NOTICE_OVERDUE past REGISTRY_INCIDENT_NOTICE_HOURS"
        },
    )
    not_scanned = ma.fields.List(
        ma.fields.Nested(UnscannedCopySchema),
        required=True,
        metadata={
            "description": "The copies on file stored without a malware scan (no scanner "
            "configured), as of now (not `as_of` or `at`): notes, never findings"
        },
    )
