"""Schemas of the change feed: change events and their pages."""

from __future__ import annotations

import marshmallow as ma

from ..events.service import FEED
from ..history.schemas import VersionRecordSchema
from ..http import cursors
from ..http.fields import CURSOR_DESCRIPTION, Cursor, StrictSchema
from ..incidents.schemas import IncidentSchema

CHANGE_TYPES = (
    "subprocessor.announced",
    # A vendor already in use, recorded after the fact: internal, never announced as new.
    "subprocessor.recorded",
    "subprocessor.changed",
    "subprocessor.retired",
    # No write: a newly loaded act, a date passing an expiry, or new rules changed a verdict.
    "subprocessor.verdict_changed",
    # To the objecting customer alone: staff upheld or dismissed its objection, or it withdrew it.
    "objection.resolved",
    # To each customer concerned alone: a personal-data breach communicated, then each update.
    "incident.reported",
    "incident.updated",
    # For staff alone: a customer asked for transfer documentation, or objected; evidence on
    # file falls due; an incident's notice to customers is overdue.
    "documentation_request.created",
    "objection.created",
    "evidence.due",
    "incident.overdue",
    # To the requesting customer alone: the copy it asked for is ready.
    "documentation_request.fulfilled",
)


class ObjectionResolvedSchema(ma.Schema):
    id = ma.fields.String(required=True)
    subprocessor_id = ma.fields.String(required=True)
    change_id = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The change objected to (its announcement or a material one)"},
    )
    status = ma.fields.String(
        required=True,
        metadata={
            "enum": ["open", "upheld", "dismissed", "withdrawn"],
            "description": "open: objection.created (staff only); else its answer",
        },
    )
    response = ma.fields.String(allow_none=True, required=True)
    resolved_at = ma.fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    customer_id = ma.fields.String(
        metadata={"description": "For objection.created (staff only): who objected"}
    )
    reason = ma.fields.String(
        allow_none=True, metadata={"description": "For objection.created (staff only)"}
    )
    created_at = ma.fields.String(metadata={"format": "date-time"})


class ChangeSchema(ma.Schema):
    id = ma.fields.String(required=True)
    cursor = ma.fields.String(
        required=True,
        metadata={
            "description": "Pass as `since` for the changes after this one; " + CURSOR_DESCRIPTION,
            "pattern": cursors.PATTERN,
        },
    )
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(CHANGE_TYPES))
    at = ma.fields.String(required=True, metadata={"format": "date-time"})
    subprocessor_id = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    material = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "true: customers are told (webhooks) and may object where it "
            "applies; false: housekeeping, internal"
        },
    )
    effective_on = ma.fields.String(required=True, metadata={"format": "date"})
    objection_deadline = ma.fields.String(
        allow_none=True,
        metadata={"format": "date", "description": "Last day customers may object"},
    )
    subprocessor = ma.fields.Nested(VersionRecordSchema, required=True)
    changes = ma.fields.Dict(
        metadata={"description": "For subprocessor.changed: each field's from and to"}
    )
    pending = ma.fields.Boolean(
        metadata={
            "description": "For a material subprocessor.changed: announced, in force only "
            "from `effective_on` (objections until `objection_deadline`)"
        }
    )
    judgement = ma.fields.String(
        metadata={
            "enum": ["material", "remedy", "housekeeping"],
            "description": "For subprocessor.changed: change control's judgement. material: "
            "announced with notice; remedy (a transfer given a safeguard it lacked, or a "
            "better one, no verdict worse) and housekeeping: in force at once",
        }
    )
    reasons = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Why the change is material, or what a remedy remedies"},
    )
    replaces = ma.fields.String(
        allow_none=True,
        metadata={"description": "The pending change this one replaced (notice restarted)"},
    )
    applies = ma.fields.String(
        metadata={"description": "The announced change now in force (its change id)"}
    )
    discarded_change = ma.fields.String(
        metadata={"description": "For subprocessor.retired: the pending change it discarded"}
    )
    retired_on = ma.fields.String(
        metadata={
            "format": "date",
            "description": "For subprocessor.retired: the day it is retired from (today, or a "
            "later day when scheduled)",
        }
    )
    retired_reason = ma.fields.String(
        allow_none=True,
        metadata={"description": "For subprocessor.retired: why, as given when retiring"},
    )
    verdict = ma.fields.Dict(
        metadata={
            "description": "For subprocessor.verdict_changed: the verdict `from` and `to`, "
            "each its status and flags"
        }
    )
    reason = ma.fields.String(
        metadata={
            "enum": ["law", "date", "rules"],
            "description": "For subprocessor.verdict_changed: a new act of the reference law, "
            "the date passing (an expiry, an ending), or new rules of evaluation",
        }
    )
    as_of = ma.fields.String(metadata={"format": "date"})
    objection = ma.fields.Nested(
        ObjectionResolvedSchema,
        metadata={
            "description": "For objection.resolved (seen by the objecting customer and staff "
            "only): the objection and its answer; `effective_on` is then the date the change "
            "objected to takes effect"
        },
    )
    incident = ma.fields.Nested(
        IncidentSchema,
        metadata={
            "description": "For incident.reported and incident.updated (seen by each customer "
            "concerned and staff only): the incident's version as communicated, without the "
            "staff-only fields"
        },
    )
    documentation_request = ma.fields.Dict(
        metadata={
            "description": "For documentation_request.created (staff only): the request, its "
            "customer and items; for documentation_request.fulfilled (the requesting "
            "customer and staff only): the request and the copy now ready"
        }
    )
    code = ma.fields.String(
        metadata={"description": "For incident.overdue (staff only): the flag it raises"}
    )
    evidence = ma.fields.Dict(
        metadata={"description": "For evidence.due (staff only): the item falling due and when"}
    )
    notice_hours = ma.fields.Integer(
        metadata={"description": "For incident.overdue (staff only): the notice deadline, hours"}
    )


class ChangePageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ChangeSchema), required=True)
    next_cursor = ma.fields.String(
        required=True,
        metadata={
            "description": "Pass as `since` to get what comes next (also when empty); "
            + CURSOR_DESCRIPTION
            + "; it stays valid, keep it to poll with",
            "pattern": cursors.PATTERN,
        },
    )


class ChangeQueryArgsSchema(StrictSchema):
    since = Cursor(
        FEED,
        metadata={
            "description": "A `cursor` or `next_cursor` the caller was given before; default: "
            "the start"
        },
    )
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))


class ChangeAtomArgsSchema(StrictSchema):
    since = Cursor(
        FEED,
        metadata={
            "description": "A `cursor` or `next_cursor` the caller was given before; default: "
            "the latest changes"
        },
    )
    token = ma.fields.String(
        load_only=True,
        validate=ma.validate.Length(min=1, max=500),
        metadata={
            "description": "A feed key's token, for a feed reader that cannot send an "
            "Authorization header; only a feed key's, and only here"
        },
    )
