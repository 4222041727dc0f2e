"""Which processors a service may send a data category to: the hot path, served from memory."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView

from ..api import Blueprint
from ..schemas.common import CountryCode, DataCategory, StrictSchema
from ..schemas.subprocessors import SERVICES
from .common import registry

blp = Blueprint(
    "allowed",
    __name__,
    url_prefix="/v1",
    description=(
        "Allowed processors for services: active, no error flag today, approved for the category"
    ),
)


class AllowedArgsSchema(StrictSchema):
    data_category = DataCategory(
        metadata={"description": "Only processors approved for it (it or an ancestor declared)"}
    )
    service = ma.fields.String(validate=ma.validate.OneOf(SERVICES))
    country = CountryCode(metadata={"description": "Only processors with a location there"})


class AllowedProcessorSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    service = ma.fields.String(required=True)
    countries = ma.fields.List(ma.fields.String(), required=True)
    data_categories = ma.fields.List(ma.fields.String(), required=True)


class AllowedSchema(ma.Schema):
    revision = ma.fields.Integer(required=True)
    as_of = ma.fields.String(required=True, metadata={"format": "date"})
    processors = ma.fields.List(ma.fields.Nested(AllowedProcessorSchema), required=True)


PATH = "/v1/allowed-processors"


@blp.route("/allowed-processors")
class AllowedProcessors(MethodView):
    @blp.roles("service", "procurement", "admin")
    @blp.arguments(AllowedArgsSchema, location="query", as_kwargs=True)
    @blp.alt_response(
        200,
        schema=AllowedSchema,
        success=True,
        description="The allowed processors",
        headers={"ETag": "ETAG"},
    )
    @blp.alt_response(304, response="NOT_MODIFIED")
    @blp.doc(
        parameters=[
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "The ETag of an earlier answer: 304 when still current",
            }
        ]
    )
    def get(self, data_category=None, service=None, country=None):
        """Ask which processors may receive a data category, cacheably (ETag, 304)"""
        body, etag = registry().snapshot().allowed_answer(data_category, service, country)
        headers = {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache"}
        if request.if_none_match.contains_weak(etag):
            return Response(status=304, headers=headers)
        return Response(body, status=200, mimetype="application/json", headers=headers)
