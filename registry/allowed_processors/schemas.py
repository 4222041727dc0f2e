"""Schemas of the allowed-processors question and answer."""

from __future__ import annotations

import marshmallow as ma

from ..http.fields import StrictSchema
from ..law.fields import CountryCode, DataCategory
from ..subprocessors.schemas import SERVICES

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
    international_organisations = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "Present when it has a location at an international organisation: "
            "their ids (GET /v1/international-organisations)"
        },
    )
    data_categories = ma.fields.List(ma.fields.String(), required=True)


class AllowedSchema(ma.Schema):
    revision = ma.fields.Integer(required=True)
    as_of = ma.fields.String(required=True, metadata={"format": "date"})
    processors = ma.fields.List(ma.fields.Nested(AllowedProcessorSchema), required=True)
