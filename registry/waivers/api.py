"""Waivers: an admin accepts the risk of one warning on one sub-processor until a date;
staff read them."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from ..http.api import Blueprint, location_header
from ..http.context import actor, page, registry
from ..http.fields import NoArgsSchema
from . import service
from .schemas import WaiverCreateSchema, WaiverPageSchema, WaiverQueryArgsSchema, WaiverSchema

blp = Blueprint(
    "waivers",
    __name__,
    url_prefix="/v1/waivers",
    description=(
        "Accepted risks: a warning on a sub-processor waived until a date, then raised again"
    ),
)

READERS = ("admin", "procurement")
WRITERS = ("admin",)


def _represent(waivers: list[dict]) -> list[dict]:
    reg = registry()
    return service.represent(reg.db.connection(), waivers, reg.today())


def _etag_data(waiver: dict) -> dict:
    # A waiver expires with time alone: its state is part of what is read.
    return _represent([waiver])[0]


def _precondition(waiver: dict) -> None:
    blp.check_etag(_etag_data(waiver))


@blp.route("")
class Waivers(MethodView):
    @blp.roles(*READERS)
    @blp.arguments(WaiverQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, WaiverPageSchema)
    def get(self, limit, cursor=None, subprocessor_id=None, state=None):
        """List waivers in the order they were made, revoked and expired ones included

        `state` (active, expired, revoked) and `subprocessor_id` filter the list.
        """
        reg = registry()
        rows = service.page(
            reg.db.connection(),
            today=reg.today(),
            after_seq=int(cursor or 0),
            limit=limit + 1,
            subprocessor_id=subprocessor_id,
            state=state,
        )
        answer = page(rows, limit)
        answer["items"] = _represent(answer["items"])
        return answer

    @blp.roles(*WRITERS)
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(WaiverCreateSchema)
    @blp.response(201, WaiverSchema, headers=location_header("waiver"))
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Accept the risk of one warning on one sub-processor until `expires_on`

        The warning must be raised on the sub-processor today, in `country` (leave it out for
        a warning raised with no country, NOTICE_PERIOD_SHORT). Until `expires_on` (after
        today, at most a year ahead) the warning moves to the verdict's `waived` list and no
        longer fails `registry check --fail-on warning`; it is back on `expires_on` or once
        the waiver is revoked. An error or a note cannot be waived (422 at `/code`); an
        unknown sub-processor is 422 at `/subprocessor_id`; a waiver in force that already
        covers the warning is 409.
        """
        waiver = service.create(registry(), data, actor())
        headers = {"Location": url_for(".WaiverById", waiver_id=waiver["id"])}
        return _represent([waiver])[0], 201, headers


@blp.route("/<string:waiver_id>")
class WaiverById(MethodView):
    @blp.roles(*READERS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, WaiverSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, waiver_id):
        """Read a waiver"""
        waiver = service.get(registry().db.connection(), waiver_id)
        blp.set_etag(_etag_data(waiver))
        return _represent([waiver])[0]

    @blp.roles(*WRITERS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, waiver_id):
        """Revoke a waiver: the warning it accepted is raised again at once; needs If-Match
        with its current ETag

        The waiver stays, with `revoked_at` and `revoked_by`, for the audit trail. A waiver
        already revoked, or expired, is 409.
        """
        service.revoke(registry(), waiver_id, _precondition, actor())
        return None
