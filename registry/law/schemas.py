"""Schemas of the read-only reference law: countries, international organisations, adequacy
decisions and data categories."""

from __future__ import annotations

import marshmallow as ma

from ..http.fields import IsoDate, StrictSchema


class CountrySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "NL"})
    name = ma.fields.String(required=True)
    eea = ma.fields.Boolean(required=True, metadata={"description": "Inside the EEA today"})
    adequacy = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Ids of the adequacy decisions in force for it today"},
    )


class CountryListSchema(ma.Schema):
    as_of = ma.fields.String(required=True, metadata={"format": "date"})
    items = ma.fields.List(ma.fields.Nested(CountrySchema), required=True)


class ScopeConditionSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "pipeda_applies"})
    text = ma.fields.String(required=True)
    source_url = ma.fields.String(required=True)
    data_categories = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "When not empty, the condition applies only to a sub-processor "
            "receiving one of these data categories (or one above or below it)"
        },
    )


class AdequacyDecisionSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"example": "us-dpf-2023"})
    territory = ma.fields.String(
        allow_none=True,
        metadata={"description": "ISO code; null for an international organisation"},
    )
    international_organisation = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The international organisation it covers (an id of "
            "GET /v1/international-organisations); null for a country"
        },
    )
    territory_name = ma.fields.String(required=True)
    kind = ma.fields.String(
        required=True,
        metadata={
            "enum": ["adequacy", "arrangement", "law_enforcement"],
            "description": "arrangement: not an adequacy decision, but while it applies there "
            "is no transfer to a third country (the EU-UK Trade and Cooperation Agreement's "
            "bridge); law_enforcement: an adequacy finding under Directive (EU) 2016/680, "
            "which no sub-processor can rely on",
        },
    )
    instrument = ma.fields.String(required=True)
    adopted_on = ma.fields.String(
        required=True,
        metadata={
            "format": "date",
            "description": "An evaluation as of a date uses only acts adopted by then",
        },
    )
    in_force_from = ma.fields.String(required=True, metadata={"format": "date"})
    continues = ma.fields.String(
        allow_none=True,
        metadata={"description": "The act this one extends or renews, from the day after it ends"},
    )
    ended_on = ma.fields.String(
        allow_none=True,
        metadata={"format": "date", "description": "First day it no longer applied"},
    )
    ended_by = ma.fields.String(allow_none=True)
    expires_on = ma.fields.String(
        allow_none=True, metadata={"format": "date", "description": "Last day it applies"}
    )
    condition = ma.fields.String(allow_none=True, metadata={"enum": ["certification", None]})
    scope = ma.fields.String(allow_none=True)
    scope_conditions = ma.fields.List(
        ma.fields.Nested(ScopeConditionSchema),
        required=True,
        metadata={"description": "Attest each per transfer in `safeguard.scope_attestations`"},
    )
    scope_conditions_note = ma.fields.String(
        allow_none=True, metadata={"description": "Why a scope note is not coded as conditions"}
    )
    source_url = ma.fields.String(required=True)
    verified = ma.fields.Boolean(required=True)
    notes = ma.fields.String(allow_none=True)


class AdequacyDecisionListSchema(ma.Schema):
    as_of = ma.fields.String(allow_none=True, metadata={"format": "date"})
    items = ma.fields.List(ma.fields.Nested(AdequacyDecisionSchema), required=True)


class AsOfArgsSchema(StrictSchema):
    as_of = IsoDate(metadata={"description": "Only the decisions in force on this date"})


class DataCategorySchema(ma.Schema):
    key = ma.fields.String(required=True, metadata={"example": "user.contact.email"})
    name = ma.fields.String(required=True, metadata={"example": "Email"})
    parent_key = ma.fields.String(
        required=True, allow_none=True, metadata={"example": "user.contact"}
    )
    description = ma.fields.String(required=True)


class DataCategoryListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DataCategorySchema), required=True)


class InternationalOrganisationSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"example": "epo"})
    name = ma.fields.String(required=True, metadata={"example": "European Patent Organisation"})
    sources = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "The instruments that set it up and what was checked"},
    )
    adequacy = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Ids of the adequacy decisions in force for it today"},
    )
    verified = ma.fields.Boolean(required=True)
    notes = ma.fields.String(allow_none=True)


class InternationalOrganisationListSchema(ma.Schema):
    as_of = ma.fields.String(required=True, metadata={"format": "date"})
    items = ma.fields.List(ma.fields.Nested(InternationalOrganisationSchema), required=True)
