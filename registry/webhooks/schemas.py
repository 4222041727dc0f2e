"""Schemas of webhook endpoints and their delivery log."""

from __future__ import annotations

import marshmallow as ma

from ..changes.schemas import CHANGE_TYPES
from ..http.fields import PageArgsSchema, PageSchema, StrictBoolean, StrictSchema, text
from .outbound import ALL_EVENTS, MAX_URL_LENGTH
from .service import (
    CUSTOMER_EVENT_TYPES,
    DEFAULT_OVERLAP_HOURS,
    MAX_OVERLAP_HOURS,
    STAFF_EVENT_TYPES,
)

# What a customer's endpoint may subscribe to: every change it may read (verdicts and what
# asks staff to act are staff's).
EVENT_TYPES = CUSTOMER_EVENT_TYPES
# Every type some endpoint may subscribe to; which of them a caller's may is checked after.
_ANY_EVENT_TYPES = tuple(t for t in CHANGE_TYPES if t in EVENT_TYPES or t in STAFF_EVENT_TYPES)

DELIVERY_STATUSES = ("pending", "delivered", "failed")
_ID = ma.validate.Length(min=1, max=64)


def _url(**kwargs):
    return ma.fields.String(
        validate=[
            ma.validate.Length(min=1, max=MAX_URL_LENGTH),
            ma.validate.Regexp(r"^[hH][tT][tT][pP][sS]?://", error="Must be an https URL."),
        ],
        metadata={
            "description": (
                "Where to POST the events: https, no credentials. A name's addresses are "
                "checked before every delivery (public addresses only), not at registration"
            ),
            "example": "https://hooks.example.com/registry",
            "pattern": "^[hH][tT][tT][pP][sS]?://",
        },
        **kwargs,
    )


def _events(**kwargs):
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf((ALL_EVENTS, *_ANY_EVENT_TYPES))),
        validate=ma.validate.Length(min=1, max=len(_ANY_EVENT_TYPES)),
        metadata={
            "description": (
                'The change types to receive, or `["*"]` for all of them. A customer\'s '
                "endpoint: " + ", ".join(EVENT_TYPES) + ". A staff endpoint (admin or "
                "procurement): " + ", ".join(STAFF_EVENT_TYPES) + ". Another is 422 at "
                "/events/N"
            ),
            "example": ["subprocessor.announced"],
        },
        **kwargs,
    )


def _check_events(events: list[str]) -> None:
    if len(set(events)) != len(events):
        raise ma.ValidationError("Each event type may be listed once.", "events")
    if ALL_EVENTS in events and len(events) > 1:
        raise ma.ValidationError('"*" stands for every event type; list it alone.', "events")


class WebhookCreateSchema(StrictSchema):
    url = _url(required=True)
    events = _events(load_default=lambda: [ALL_EVENTS])
    description = text(500, allow_none=True, description="What the endpoint is for")

    @ma.validates_schema
    def distinct_events(self, data, **kwargs):
        _check_events(data["events"])


class WebhookUpdateSchema(StrictSchema):
    url = _url()
    events = _events()
    description = text(500, allow_none=True)
    enabled = StrictBoolean(
        metadata={
            "description": (
                "false stops deliveries; true resumes them, resets the failure count and "
                "makes every undelivered event due at once"
            )
        }
    )

    @ma.validates_schema
    def distinct_events(self, data, **kwargs):
        if "events" in data:
            _check_events(data["events"])


class WebhookSchema(ma.Schema):
    id = ma.fields.String(required=True)
    customer_id = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The customer it belongs to; null for a staff endpoint"},
    )
    owner_role = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={
            "enum": ["admin", "procurement", None],
            "description": "A staff endpoint: the staff role that registered it (admin keys "
            "manage every staff endpoint, procurement keys those procurement registered); "
            "null for a customer's",
        },
    )
    url = ma.fields.String(required=True)
    events = ma.fields.List(ma.fields.String(), required=True)
    description = ma.fields.String(allow_none=True, required=True)
    enabled = ma.fields.Boolean(required=True)
    disabled_reason = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Why deliveries stopped: the customer, or repeated failure"},
    )
    consecutive_failures = ma.fields.Integer(
        required=True, metadata={"description": "Attempts failed in a row since the last success"}
    )
    created_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    updated_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    secret_created_at = ma.fields.String(
        required=True,
        metadata={
            "format": "date-time",
            "description": "When the current signing secret was made: registration or rotation",
        },
    )
    previous_secret_expires_at = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={
            "format": "date-time",
            "description": (
                "After a rotation: until when every delivery is also signed with the replaced "
                "secret; null when only the current secret signs"
            ),
        },
    )


class WebhookCreatedSchema(WebhookSchema):
    secret = ma.fields.String(
        required=True,
        metadata={
            "description": (
                "The signing secret (Standard Webhooks, whsec_ and base64); shown only in "
                "this response"
            )
        },
    )


class WebhookRotateSecretSchema(StrictSchema):
    overlap_hours = ma.fields.Integer(
        strict=True,
        load_default=DEFAULT_OVERLAP_HOURS,
        validate=ma.validate.Range(min=0, max=MAX_OVERLAP_HOURS),
        metadata={
            "description": (
                "How long the replaced secret keeps signing beside the new one, in hours; "
                "0 stops it at once (a leaked secret)"
            ),
            "example": DEFAULT_OVERLAP_HOURS,
        },
    )


class WebhookPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(WebhookSchema), required=True)


class WebhookQueryArgsSchema(PageArgsSchema):
    customer_id = ma.fields.String(
        validate=_ID,
        metadata={
            "description": "Admins only; customers always see their own, procurement the "
            "staff endpoints procurement registered"
        },
    )


class AttemptSchema(ma.Schema):
    attempt = ma.fields.Integer(required=True)
    at = ma.fields.String(required=True, metadata={"format": "date-time"})
    status_code = ma.fields.Integer(
        allow_none=True, required=True, metadata={"description": "The receiver's HTTP status"}
    )
    error = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "Why the attempt failed: without a status (refused, timeout, "
            "connection), or after one (the answer not read in time)"
        },
    )
    duration_ms = ma.fields.Integer(required=True)


class DeliverySchema(ma.Schema):
    id = ma.fields.String(
        required=True, metadata={"description": "The webhook-id header, the same on every retry"}
    )
    change_id = ma.fields.String(required=True)
    type = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(DELIVERY_STATUSES))
    attempts = ma.fields.Integer(required=True)
    next_attempt_at = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"format": "date-time", "description": "While pending: the earliest retry"},
    )
    last_attempt_at = ma.fields.String(
        allow_none=True, required=True, metadata={"format": "date-time"}
    )
    last_status_code = ma.fields.Integer(allow_none=True, required=True)
    last_error = ma.fields.String(allow_none=True, required=True)
    delivered_at = ma.fields.String(
        allow_none=True, required=True, metadata={"format": "date-time"}
    )
    attempt_log = ma.fields.List(ma.fields.Nested(AttemptSchema), required=True)


class DeliveryPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(DeliverySchema), required=True)


class DeliveryQueryArgsSchema(PageArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(DELIVERY_STATUSES))
