"""GET /v1/subprocessors/{id}/history: every version of a sub-processor."""

from __future__ import annotations

from flask.views import MethodView

from ..customer_projection import projection
from ..history import service
from ..history.schemas import HistorySchema
from ..http.api import Blueprint
from ..http.context import own_customer, registry
from ..http.fields import NoArgsSchema
from ..objections import service as objections
from ..subprocessors import service as subprocessors
from ..verdicts import service as compliance

blp = Blueprint(
    "history",
    __name__,
    url_prefix="/v1",
    description="Every version of a sub-processor, with the objections raised to it",
)

READERS = ("admin", "procurement", "customer", "service")


@blp.route("/subprocessors/<string:subprocessor_id>/history")
class SubprocessorHistory(MethodView):
    @blp.roles(*READERS)
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, HistorySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, subprocessor_id):
        """List every version of a sub-processor, oldest first, with when it was recorded

        With the change announced and not yet in force, if any, and the objections with their
        answers. A customer sees each version as the facts of its transfers, the change to
        come as the sub-processor's item shows it, and its own objections.
        """
        reg = registry()
        conn = reg.db.connection()
        record = subprocessors.get(conn, subprocessor_id)
        customer = own_customer()
        versions = service.versions(conn, subprocessor_id)
        raised = objections.for_subprocessor(conn, subprocessor_id, customer)
        if customer is not None:
            snapshot = compliance.snapshot(reg)
            return projection.history(
                subprocessor_id,
                versions,
                record,
                raised,
                snapshot.law,
                reg.today(),
                snapshot.copies,
            )
        return {
            "subprocessor_id": subprocessor_id,
            "versions": versions,
            # The version to come, announced and not yet in force.
            "pending_change": record["pending_change"],
            "objections": [objections.represent(objection, staff=True) for objection in raised],
        }
