"""Customers' objections and their answers, on the feature's own "objections" blueprint.

GET and POST /v1/subprocessors/{id}/objections, GET and PATCH (If-Match)
/v1/subprocessors/{id}/objections/{objection_id}, and GET /v1/objections.
"""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from ..errors import ValidationFailed, field_error
from ..http.api import Blueprint, location_header
from ..http.auth import current_principal
from ..http.context import actor, own_customer, page, registry
from ..http.fields import NoArgsSchema
from . import service, store
from .schemas import (
    ObjectionAnswerSchema,
    ObjectionCreateSchema,
    ObjectionListSchema,
    ObjectionPageSchema,
    ObjectionQueryArgsSchema,
    ObjectionSchema,
)

blp = Blueprint(
    "objections",
    __name__,
    url_prefix="/v1",
    description="Customers' objections to what is announced, with their answers",
)

READERS = ("admin", "procurement", "customer")


def _represent(objection: dict) -> dict:
    return service.shown_to(objection, own_customer())


def _precondition(objection: dict) -> None:
    blp.check_etag(service.etag_data(objection))


@blp.route("/subprocessors/<string:subprocessor_id>/objections")
class Objections(MethodView):
    @blp.roles(*READERS)
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ObjectionListSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, subprocessor_id):
        """List objections to a sub-processor; a customer sees only its own

        `open_changes` are the changes open for objections today, newest first, and
        `objection_deadline` the last day to object to the first; `upheld` tells whether
        any objection listed was upheld.
        """
        return service.listing(registry(), subprocessor_id, own_customer())

    @blp.roles("customer")
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(ObjectionCreateSchema)
    @blp.response(
        201,
        ObjectionSchema,
        headers=location_header("objection"),
    )
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body, subprocessor_id):
        """Object to what is announced, once per change, until the day before it takes effect

        An objection is to one change: the sub-processor's announcement, open while it is
        proposed, or the material change pending on it (`pending_change`), open until the
        day before that takes effect. `change_id` picks one of `open_changes` (default the
        newest). Nothing open, another change, or a second objection to the same change:
        409 says why; so is one more while the customer holds
        `REGISTRY_QUOTA_OPEN_OBJECTIONS` (default 50) open objections.
        """
        objection = service.object_to(
            registry(), subprocessor_id, current_principal(), body, actor()
        )
        blp.set_etag(service.etag_data(objection))
        location = url_for(
            ".ObjectionById", subprocessor_id=subprocessor_id, objection_id=objection["id"]
        )
        return _represent(objection), 201, {"Location": location}


@blp.route("/subprocessors/<string:subprocessor_id>/objections/<string:objection_id>")
class ObjectionById(MethodView):
    @blp.roles(*READERS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ObjectionSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, subprocessor_id, objection_id):
        """Read an objection and its answer; a customer only its own"""
        objection = service.get(
            registry().db.connection(), subprocessor_id, objection_id, own_customer()
        )
        blp.set_etag(service.etag_data(objection))
        return _represent(objection)

    @blp.roles(*READERS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(ObjectionAnswerSchema)
    @blp.response(200, ObjectionSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, answer, subprocessor_id, objection_id):
        """Answer an open objection, or withdraw one's own; needs If-Match with its ETag

        Staff set `upheld` or `dismissed` with a `response` to the customer; the customer
        that objected may set `withdrawn` (without a response). Any other answer is 403;
        another customer's objection is 404; an objection no longer open is 409. The
        objecting customer is told (change `objection.resolved`, its alone).
        """
        objection = service.resolve(
            registry(),
            subprocessor_id,
            objection_id,
            current_principal(),
            answer,
            _precondition,
            actor(),
        )
        blp.set_etag(service.etag_data(objection))
        return _represent(objection)


@blp.route("/objections")
class AllObjections(MethodView):
    @blp.roles(*READERS)
    @blp.arguments(ObjectionQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ObjectionPageSchema)
    def get(self, limit, cursor=None, **filters):
        """List objections in the order they were made: staff all, a customer its own

        Filter by `status`, `subprocessor_id` and (staff only) `customer_id`; follow
        `next_cursor` for the next page.
        """
        own = own_customer()
        if own is not None:
            if "customer_id" in filters:
                raise ValidationFailed(
                    [
                        field_error(
                            "/customer_id",
                            "Customers see their own objections only; this filter is staff's.",
                            location="query",
                        )
                    ]
                )
            filters["customer_id"] = own
        rows = store.page(
            registry().db.connection(), after_seq=int(cursor or 0), limit=limit + 1, **filters
        )
        return page(rows, limit, _represent)
