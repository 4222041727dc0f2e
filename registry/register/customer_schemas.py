"""Marshmallow schemas of what customers see of a sub-processor (customer_view.project)."""

from __future__ import annotations

import marshmallow as ma

from ..customer_projection.view import CUSTOMER_MECHANISMS, CUSTOMER_STATUSES, RELIANCE_KINDS
from ..http.fields import PageSchema

_DATE = {"format": "date"}


class ReliedOnSchema(ma.Schema):
    """The act or clauses a transfer relies on."""

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(RELIANCE_KINDS))
    id = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The adequacy decision's id (as in /v1/adequacy-decisions), the "
            "SCC version (2021/914), the Art. 49 ground, or for another Art. 46 tool its "
            "reference (the code, certification or authorisation)"
        },
    )
    instrument = ma.fields.String(
        allow_none=True, metadata={"description": "The legal act, as published"}
    )
    source_url = ma.fields.String(allow_none=True, metadata={"format": "uri"})
    module = ma.fields.Integer(metadata={"description": "For SCC 2021/914: the module (1-4)"})
    module_name = ma.fields.String(allow_none=True, metadata={"example": "processor to processor"})
    approved_on = ma.fields.String(
        allow_none=True, metadata={**_DATE, "description": "For BCRs: when they were approved"}
    )


class CustomerTransferSchema(ma.Schema):
    """One transfer as a fact: where, what, under which mechanism and act."""

    country = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"example": "US", "description": "null for an international organisation"},
    )
    country_name = ma.fields.String(
        required=True,
        metadata={
            "example": "United States",
            "description": "The country's name, or the international organisation's",
        },
    )
    international_organisation = ma.fields.String(
        metadata={
            "example": "epo",
            "description": "Instead of a country: the organisation's id "
            "(GET /v1/international-organisations)",
        }
    )
    activity = ma.fields.String(required=True)
    eea = ma.fields.Boolean(
        required=True, metadata={"description": "Inside the EEA today: no transfer at all"}
    )
    mechanism = ma.fields.String(
        allow_none=True,
        required=True,
        validate=ma.validate.OneOf(CUSTOMER_MECHANISMS),
        metadata={"description": "null inside the EEA, and where no safeguard is recorded"},
    )
    relied_on = ma.fields.Nested(ReliedOnSchema, allow_none=True, required=True)
    copy_available = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "A documentation request (POST /v1/documentation-requests) is "
            "answered at once for this transfer: a copy of the SCCs or BCRs is on file, or "
            "the adequacy decision (public) applies"
        },
    )


class CustomerOnwardTransferSchema(CustomerTransferSchema):
    """A transfer by the sub-processor to its own sub-processor."""

    name = ma.fields.String(required=True)
    legal_entity = ma.fields.String(allow_none=True)


class CustomerPendingChangeSchema(ma.Schema):
    """A material change announced and not yet in force; the fields it sets, as they will be."""

    effective_on = ma.fields.String(required=True, metadata=_DATE)
    objection_deadline = ma.fields.String(required=True, metadata=_DATE)
    changes = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "What changes, in words", "example": ["adds the country IN"]},
    )
    name = ma.fields.String()
    legal_entity = ma.fields.String(allow_none=True)
    service = ma.fields.String()
    purpose = ma.fields.String(allow_none=True)
    data_categories = ma.fields.List(ma.fields.String())
    locations = ma.fields.List(ma.fields.Nested(CustomerTransferSchema))
    onward_transfers = ma.fields.List(ma.fields.Nested(CustomerOnwardTransferSchema))


class CustomerSubprocessorSchema(ma.Schema):
    """A sub-processor as customers see it: identity, purpose and the facts of its transfers."""

    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    legal_entity = ma.fields.String(allow_none=True)
    service = ma.fields.String(required=True)
    purpose = ma.fields.String(allow_none=True)
    data_categories = ma.fields.List(ma.fields.String(), required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(CUSTOMER_STATUSES))
    effective_on = ma.fields.String(
        required=True, metadata={**_DATE, "description": "From when it is (or may be) used"}
    )
    objection_deadline = ma.fields.String(
        allow_none=True,
        metadata={**_DATE, "description": "For an upcoming sub-processor: the last day to object"},
    )
    retired_on = ma.fields.String(allow_none=True, metadata=_DATE)
    retired_reason = ma.fields.String(allow_none=True)
    locations = ma.fields.List(ma.fields.Nested(CustomerTransferSchema), required=True)
    onward_transfers = ma.fields.List(ma.fields.Nested(CustomerOnwardTransferSchema), required=True)
    pending_change = ma.fields.Nested(CustomerPendingChangeSchema, allow_none=True, required=True)
    upheld_objections = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "This customer's objections staff upheld"},
    )


class CustomerSubprocessorPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(CustomerSubprocessorSchema), required=True)
