"""GET /v1/subprocessors/{id}/history: every version of a sub-processor."""

from __future__ import annotations

from flask.views import MethodView

from ..history.schemas import HistorySchema
from ..http.api import Blueprint
from ..http.context import own_customer, registry
from ..http.fields import NoArgsSchema
from . import service

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
        return service.history(registry(), subprocessor_id, own_customer())
