"""Accountability: the audit trail, each sub-processor's versions, and customers' objections."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from .. import catalogue, compliance
from ..api import Blueprint
from ..auth import current_principal
from ..errors import Conflict
from ..schemas.common import NoArgsSchema
from ..schemas.history import (
    AuditPageSchema,
    AuditQueryArgsSchema,
    HistorySchema,
    ObjectionCreateSchema,
    ObjectionListSchema,
    ObjectionSchema,
)
from ..store import audit as audit_store
from ..store import history
from ..store import objections as objection_store
from ..store import subprocessors as subprocessor_store
from .common import actor, own_customer, page, registry

audit_blp = Blueprint(
    "audit", __name__, url_prefix="/v1", description="The hash-chained audit trail of every write"
)
history_blp = Blueprint(
    "history",
    __name__,
    url_prefix="/v1/subprocessors",
    description="Every version of a sub-processor, and customers' objections to new ones",
)

READERS = ("admin", "procurement", "customer", "service")


@audit_blp.route("/audit")
class AuditTrail(MethodView):
    @audit_blp.roles("admin")
    @audit_blp.arguments(AuditQueryArgsSchema, location="query", as_kwargs=True)
    @audit_blp.response(200, AuditPageSchema)
    def get(self, limit, cursor=None, **filters):
        """Read the audit trail in order, filtered by action or object

        `registry audit verify` checks the hash chain; `registry audit head` prints its head.
        """
        rows = audit_store.page(
            registry().db.connection(), after_seq=int(cursor or 0), limit=limit + 1, **filters
        )
        return page(rows, limit)


@history_blp.route("/<string:subprocessor_id>/history")
class SubprocessorHistory(MethodView):
    @history_blp.roles(*READERS)
    @history_blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @history_blp.response(200, HistorySchema)
    @history_blp.alt_response(404, response="NOT_FOUND")
    def get(self, subprocessor_id):
        """List every version of a sub-processor, oldest first, with when it was recorded"""
        conn = registry().db.connection()
        subprocessor_store.get(conn, subprocessor_id)
        return {
            "subprocessor_id": subprocessor_id,
            "versions": history.versions(conn, subprocessor_id),
        }


@history_blp.route("/<string:subprocessor_id>/objections")
class Objections(MethodView):
    @history_blp.roles("admin", "procurement", "customer")
    @history_blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @history_blp.response(200, ObjectionListSchema)
    @history_blp.alt_response(404, response="NOT_FOUND")
    def get(self, subprocessor_id):
        """List objections to a sub-processor; a customer sees only its own"""
        conn = registry().db.connection()
        record = subprocessor_store.get(conn, subprocessor_id)
        own = own_customer()
        return {
            "objection_deadline": catalogue.objection_deadline(record["effective_on"]),
            "items": objection_store.for_subprocessor(conn, subprocessor_id, own),
        }

    @history_blp.roles("customer")
    @history_blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @history_blp.arguments(ObjectionCreateSchema)
    @history_blp.response(201, ObjectionSchema)
    @history_blp.alt_response(404, response="NOT_FOUND")
    @history_blp.alt_response(409, response="CONFLICT")
    def post(self, body, subprocessor_id):
        """Object to a new sub-processor, until the day before it takes effect (once)"""
        principal = current_principal()
        reg = registry()
        today = reg.today()
        with reg.db.write() as tx:
            record = subprocessor_store.get(tx.conn, subprocessor_id)
            status = compliance.status_on(record, today)
            if status != "proposed":
                deadline = catalogue.objection_deadline(record["effective_on"])
                raise Conflict(
                    f"Objections are closed: the sub-processor is {status}"
                    f" (they were open until {deadline})."
                )
            objection = objection_store.add(
                tx, subprocessor_id, principal.customer_id, principal.key_id, body.get("reason")
            )
            audit_store.append(
                tx, actor(), "objection.create", "objection", objection["id"], objection
            )
        location = url_for(".Objections", subprocessor_id=subprocessor_id)
        return objection, 201, {"Location": location}
