"""GET /v1/audit: the hash-chained audit trail, for admins."""

from __future__ import annotations

from flask.views import MethodView

from ..http.api import Blueprint
from ..http.context import page, registry
from . import service, store
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
        Personal data (key names, customer ids, webhook URLs, objection reasons, incident
        contacts) is held apart from the hashed entry, which holds a salted digest in its
        place: each entry shows the value where it remains and `{"erased": true}` where it
        was erased (a customer's erasure, or retention), and lists in `personal_data` the
        pointer and digest of each, so its hash can be recomputed with the digests in place.
        """
        rows = store.page(
            registry().db.connection(), after_seq=int(cursor or 0), limit=limit + 1, **filters
        )
        return page(rows, limit, service.shown)
