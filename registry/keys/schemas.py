"""Schemas of API keys as admins manage them: never a token or its hash, but once at creation."""

from __future__ import annotations

import marshmallow as ma

from ..http.fields import IsoDate, PageSchema, StrictSchema, text
from .service import LATEST_EXPIRY, MAX_NAME, ROLES

_CUSTOMER_ID = {
    "description": (
        "For the customer and feed roles only, and required for them: a slug (lowercase "
        "letters, digits and hyphens, 1 to 64, starting with a letter or digit, never with "
        "`erased-`, which is reserved); upper case is folded to lower case "
        '("Acme" is "acme")'
    ),
    "example": "acme",
}


class KeyCreateSchema(StrictSchema):
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))
    name = text(MAX_NAME, required=True, description="Who or what uses the key")
    customer_id = ma.fields.String(
        allow_none=True, validate=ma.validate.Length(max=200), metadata=_CUSTOMER_ID
    )
    expires_on = IsoDate(
        allow_none=True,
        metadata={
            "description": (
                "The last day the key works (the registry's day), after today and at "
                f"the latest {LATEST_EXPIRY.isoformat()}; absent or null: until revoked"
            )
        },
    )


class KeySchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))
    customer_id = ma.fields.String(allow_none=True, required=True)
    created_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    expires_on = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"format": "date", "description": "The last day the key works; null: no end"},
    )
    revoked_at = ma.fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    last_used_on = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={
            "format": "date",
            "description": "The last day (the registry's) the key was used; null: never",
        },
    )


class KeyCreatedSchema(KeySchema):
    token = ma.fields.String(
        required=True,
        metadata={
            "description": (
                "The bearer token; shown only in this response (only its SHA-256 is stored)"
            )
        },
    )


class KeyPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(KeySchema), required=True)
