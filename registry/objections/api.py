"""GET and POST /v1/subprocessors/{id}/objections: customers object to new sub-processors."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from ..history.api import blp
from ..http.auth import current_principal
from ..http.context import actor, own_customer, registry
from ..http.fields import NoArgsSchema
from ..subprocessors import service as subprocessors
from . import service
from .schemas import ObjectionCreateSchema, ObjectionListSchema, ObjectionSchema


@blp.route("/<string:subprocessor_id>/objections")
class Objections(MethodView):
    @blp.roles("admin", "procurement", "customer")
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ObjectionListSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, subprocessor_id):
        """List objections to a sub-processor; a customer sees only its own"""
        conn = registry().db.connection()
        record = subprocessors.get(conn, subprocessor_id)
        return {
            "objection_deadline": subprocessors.objection_deadline(record["effective_on"]),
            "items": service.for_subprocessor(conn, subprocessor_id, own_customer()),
        }

    @blp.roles("customer")
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(ObjectionCreateSchema)
    @blp.response(201, ObjectionSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body, subprocessor_id):
        """Object to a new sub-processor, until the day before it takes effect (once)"""
        objection = service.object_to(
            registry(), subprocessor_id, current_principal(), body.get("reason"), actor()
        )
        location = url_for(".Objections", subprocessor_id=subprocessor_id)
        return objection, 201, {"Location": location}
