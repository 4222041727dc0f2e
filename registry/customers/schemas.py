"""Schemas of what the registry holds of a customer, and of an erasure's outcome."""

from __future__ import annotations

import marshmallow as ma


def _count(description: str) -> ma.fields.Integer:
    return ma.fields.Integer(required=True, metadata={"description": description})


class HoldingsSchema(ma.Schema):
    api_keys = _count("API keys issued to the customer, revoked and expired ones included")
    documentation_requests = _count("Its documentation requests")
    disclosures = _count("Copies disclosed to it (downloads recorded)")
    objections = _count("Its objections")
    webhooks = _count("Its webhook endpoints")
    changes = _count("Changes meant for it alone (objection answers, incident notices)")
    incidents = _count("Incidents naming it among the customers concerned")
    audit_payloads = _count("Personal values about it held apart from the audit trail")


class ErasedSchema(HoldingsSchema):
    webhook_deliveries = _count("Webhook deliveries deleted with its endpoints")
    rate_limits = _count("Request counts of its keys deleted from the `-limits` file")


class CustomerSchema(ma.Schema):
    customer_id = ma.fields.String(required=True)
    holds = ma.fields.Nested(HoldingsSchema, required=True)
    erased_at = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"format": "date-time", "description": "When this id was last erased, if ever"},
    )


class ErasureSchema(ma.Schema):
    customer_id = ma.fields.String(required=True)
    already_erased = ma.fields.Boolean(
        required=True,
        metadata={"description": "Erased before and holding nothing since: nothing was erased now"},
    )
    erased_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    erased = ma.fields.Nested(ErasedSchema, required=True, metadata={"description": "Counts"})
