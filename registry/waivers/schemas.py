"""Schemas of waivers: what an admin writes, what staff read."""

from __future__ import annotations

import marshmallow as ma

from ..http.fields import IsoDate, PageArgsSchema, PageSchema, StrictSchema, text
from .service import MAX_REASON, STATES


def _name(description: str, example: str | None = None, **kwargs) -> ma.fields.String:
    """An id or a code, 1 to 64 characters."""
    metadata = {"description": description}
    if example is not None:
        metadata["example"] = example
    return ma.fields.String(validate=ma.validate.Length(min=1, max=64), metadata=metadata, **kwargs)


WaiverCreateSchema = StrictSchema.from_dict(
    {
        "subprocessor_id": _name("The sub-processor whose warning is accepted", required=True),
        "code": _name(
            "The warning's code, raised on the sub-processor today; an error or a note cannot "
            "be waived",
            "TIA_MISSING",
            required=True,
        ),
        "country": _name(
            "The country the warning is raised for (on a location or an onward transfer), or "
            "the international organisation's id; absent or null for a warning raised with "
            "neither (NOTICE_PERIOD_SHORT)",
            "IN",
            allow_none=True,
        ),
        "reason": text(
            MAX_REASON,
            required=True,
            multiline=True,
            description="Why the risk is accepted, and by whom: the audit trail keeps it",
        ),
        "expires_on": IsoDate(
            required=True,
            metadata={
                "description": (
                    "The first day the waiver no longer applies: after today, at most a year ahead"
                )
            },
        ),
    },
    name="WaiverCreateSchema",
)


class WaiverSchema(ma.Schema):
    """A waiver, as staff read it."""

    id = ma.fields.String(required=True, metadata={"example": "wvr_0123456789abcdef"})
    subprocessor_id = ma.fields.String(required=True)
    subprocessor_name = ma.fields.String(allow_none=True, required=True)
    code = ma.fields.String(required=True)
    country = ma.fields.String(allow_none=True, required=True)
    reason = ma.fields.String(required=True)
    expires_on = ma.fields.String(required=True, metadata={"format": "date"})
    state = ma.fields.String(
        required=True,
        metadata={
            "enum": list(STATES),
            "description": "revoked; else expired from expires_on (registry clock); else active",
        },
    )
    created_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    created_by = ma.fields.String(
        allow_none=True, required=True, metadata={"description": "The key id that made it"}
    )
    revoked_at = ma.fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    revoked_by = ma.fields.String(
        allow_none=True, required=True, metadata={"description": "The key id that revoked it"}
    )


class WaiverPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(WaiverSchema), required=True)


class WaiverQueryArgsSchema(PageArgsSchema):
    subprocessor_id = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    state = ma.fields.String(validate=ma.validate.OneOf(STATES))
