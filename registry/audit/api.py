"""GET /v1/audit: the hash-chained audit trail, for admins."""

from __future__ import annotations

from flask.views import MethodView

from ..http.api import Blueprint
from ..http.context import page, registry
from . import service
from .schemas import AuditPageSchema, AuditQueryArgsSchema

blp = Blueprint(
    "audit", __name__, url_prefix="/v1", description="The hash-chained audit trail of every write"
)


@blp.route("/audit")
class AuditTrail(MethodView):
    @blp.roles("admin")
    @blp.arguments(AuditQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, AuditPageSchema)
    def get(self, limit, cursor=None, **filters):
        """Read the audit trail in order, filtered by action or object

        `registry audit verify` checks the hash chain; `registry audit head` prints its head.
        """
        rows = service.page(
            registry().db.connection(), after_seq=int(cursor or 0), limit=limit + 1, **filters
        )
        return page(rows, limit)
