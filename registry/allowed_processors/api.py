"""GET /v1/allowed-processors: the hot path services ask, served from the per-revision
snapshot of verdicts in memory (fastpath.py answers it without the framework)."""

from __future__ import annotations

from flask.views import MethodView

from ..http.api import Blueprint, header_parameter, revalidated
from ..http.auth import unmetered
from ..http.context import registry
from ..verdicts import service as compliance
from .schemas import AllowedArgsSchema, AllowedSchema

blp = Blueprint(
    "allowed",
    __name__,
    url_prefix="/v1",
    description=(
        "Allowed processors for services: active, no error flag today, approved for the category"
    ),
)

PATH = "/v1/allowed-processors"


@blp.route("/allowed-processors")
class AllowedProcessors(MethodView):
    @blp.roles("service", "procurement", "admin")
    @unmetered
    @blp.arguments(AllowedArgsSchema, location="query", as_kwargs=True)
    @blp.alt_response(
        200,
        schema=AllowedSchema,
        success=True,
        description="The allowed processors",
        headers={"ETag": "ETAG"},
    )
    @blp.alt_response(304, response="NOT_MODIFIED")
    @blp.doc(
        parameters=[
            header_parameter(
                "If-None-Match", "The ETag of an earlier answer: 304 when still current"
            )
        ]
    )
    def get(self, data_category=None, service=None, country=None):
        """Ask which processors may receive a data category, cacheably (ETag, 304)"""
        categories = tuple(sorted(set(data_category))) if data_category else None
        body, etag = compliance.snapshot(registry()).allowed_answer(categories, service, country)
        return revalidated(body, etag, "application/json")
