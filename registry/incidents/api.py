"""Personal-data breaches at sub-processors: staff record and communicate them, customers
concerned read them."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from ..http.api import Blueprint, location_header
from ..http.context import actor, cursor, own_customer, registry
from ..http.fields import NoArgsSchema, PageArgsSchema
from . import service, store
from .schemas import (
    IncidentCreateSchema,
    IncidentPageSchema,
    IncidentQueryArgsSchema,
    IncidentSchema,
    IncidentUpdateSchema,
    IncidentVersionPageSchema,
)

blp = Blueprint(
    "incidents",
    __name__,
    url_prefix="/v1/incidents",
    description=(
        "Personal-data breaches at sub-processors (GDPR Art. 33): recorded by staff, "
        "communicated to the customers concerned, updated as facts come in"
    ),
)

READERS = ("admin", "procurement", "customer")
EDITORS = ("admin", "procurement")


def _hours() -> int:
    return registry().settings.incident_notice_hours


def _represent(incidents: list[dict]) -> list[dict]:
    """Staff's view, or the customer's for a customer's key."""
    conn = registry().db.connection()
    if own_customer() is not None:
        return service.customer_views(conn, incidents)
    return service.represent(conn, incidents, _hours())


def _etag_data(incident: dict) -> dict:
    # Staff's view turns overdue with time alone, without a new version.
    if own_customer() is not None:
        return {"id": incident["id"], "version": incident["version"], "view": "customer"}
    overdue = service.is_overdue(incident, _hours())
    return {"id": incident["id"], "version": incident["version"], "overdue": overdue}


def _precondition(incident: dict) -> None:
    blp.check_etag(_etag_data(incident))


def _cursor(seq: int) -> str:
    """A list cursor (the views' own `cursor` parameter hides the helper's name)."""
    return cursor(seq)


@blp.route("")
class Incidents(MethodView):
    @blp.roles(*READERS)
    @blp.arguments(IncidentQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, IncidentPageSchema)
    def get(self, limit, cursor=None, status=None, subprocessor_id=None):
        """List incidents in the order they were recorded: all for staff; for a customer,
        those communicated to it"""
        rows = store.page(
            registry().db.connection(),
            after_seq=int(cursor or 0),
            limit=limit + 1,
            customer_id=own_customer(),
            status=status,
            subprocessor_id=subprocessor_id,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": _represent(rows),
            "next_cursor": _cursor(rows[-1]["seq"]) if more else None,
        }

    @blp.roles(*EDITORS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(IncidentCreateSchema)
    @blp.response(
        201,
        IncidentSchema,
        headers=location_header("incident"),
    )
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, data):
        """Record a personal-data breach at a sub-processor; it is `open` until communicated

        Customers are told nothing yet: `PATCH` it with `{"status": "communicated"}` to
        publish it to the customers concerned (`customer_ids`, default every customer).
        Still open `REGISTRY_INCIDENT_NOTICE_HOURS` after `detected_on`, it is flagged
        `INCIDENT_NOTICE_OVERDUE` in the compliance report and by `registry check`. An
        unknown sub-processor is 404; a customer id no key was ever issued to is 422.
        """
        incident = service.create(registry(), data, actor())
        blp.set_etag(_etag_data(incident))
        headers = {"Location": url_for(".IncidentById", incident_id=incident["id"])}
        return _represent([incident])[0], 201, headers


@blp.route("/<string:incident_id>")
class IncidentById(MethodView):
    @blp.roles(*READERS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, IncidentSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, incident_id):
        """Read an incident; a customer reads only one communicated to it (else 404)"""
        incident = service.get(registry().db.connection(), incident_id, own_customer())
        blp.set_etag(_etag_data(incident))
        return _represent([incident])[0]

    @blp.roles(*EDITORS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(IncidentUpdateSchema)
    @blp.response(200, IncidentSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, changes, incident_id):
        """Communicate, update or close an incident; needs If-Match with its current ETag

        Every change is a new version. `{"status": "communicated"}` tells each customer
        concerned (`incident.reported` in its change feed and to its webhooks); once
        communicated, every later version is told too (`incident.updated`, or
        `incident.reported` to a customer added), closing included. `open` to `closed` is
        409 (communicate it first), as is any change to a closed incident, or leaving out
        of `customer_ids` a customer already told.
        """
        incident = service.update(registry(), incident_id, changes, _precondition, actor())
        blp.set_etag(_etag_data(incident))
        return _represent([incident])[0]


@blp.route("/<string:incident_id>/versions")
class IncidentVersions(MethodView):
    @blp.roles(*EDITORS)
    @blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, IncidentVersionPageSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, incident_id, limit, cursor=None):
        """Every version of an incident, oldest first: what was known, and when"""
        rows = service.versions(
            registry().db.connection(), incident_id, after_version=int(cursor or 0), limit=limit + 1
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": rows,
            "next_cursor": _cursor(rows[-1]["version"]) if more else None,
        }
