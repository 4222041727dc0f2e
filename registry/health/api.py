"""GET /v1/health: the service and its database answer."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from ..db.store import current_revision, schema_version
from ..http.api import Blueprint
from ..http.context import registry
from ..http.fields import NoArgsSchema

blp = Blueprint("health", __name__, url_prefix="/v1", description="Service health")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})
    schema_version = ma.fields.Integer(required=True)
    revision = ma.fields.Integer(required=True)
    law_version = ma.fields.String(required=True)


@blp.route("/health")
class Health(MethodView):
    @blp.public
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, HealthSchema)
    def get(self):
        """Report that the service and its database answer"""
        conn = registry().db.connection()
        return {
            "status": "ok",
            "schema_version": schema_version(conn),
            "revision": current_revision(conn),
            "law_version": registry().law().version,
        }
