"""GET /v1/compliance (the register's report) and GET /v1/allowed-processors (the hot path).

The report is for any date, what-if decisions ended; allowed processors are served from
the per-revision snapshot in memory.
"""

from __future__ import annotations

from flask.views import MethodView

from ..http.api import Blueprint, header_parameter, revalidated
from ..http.auth import unmetered
from ..http.context import as_of, end_of, registry
from ..law.service import check_assume_ended
from ..subprocessors.schemas import RegisterComplianceArgsSchema
from . import service as compliance
from .schemas import AllowedArgsSchema, AllowedSchema, RegisterReportSchema

blp = Blueprint("compliance", __name__, url_prefix="/v1", description="Compliance reports")
allowed_blp = Blueprint(
    "allowed",
    __name__,
    url_prefix="/v1",
    description=(
        "Allowed processors for services: active, no error flag today, approved for the category"
    ),
)


def register_report(args: dict) -> dict:
    """Evaluate every sub-processor not retired on the date under that date's law."""
    reg = registry()
    assumed = args.get("assume_ended", [])
    check_assume_ended(assumed, reg.law())
    return compliance.register_report(
        reg,
        as_of(args),
        assume_ended=frozenset(assumed),
        before=end_of(args["at"]) if args.get("at") else None,
    )


@blp.route("/compliance")
class RegisterCompliance(MethodView):
    @blp.roles("admin", "procurement")
    @blp.arguments(RegisterComplianceArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, RegisterReportSchema)
    def get(self, **args):
        """Report on the whole register: counts per verdict and flag, and every flagged one

        With `at`, the register as it stood that day, under that day's law unless `as_of`.
        """
        return register_report(args)


PATH = "/v1/allowed-processors"


@allowed_blp.route("/allowed-processors")
class AllowedProcessors(MethodView):
    @allowed_blp.roles("service", "procurement", "admin")
    @unmetered
    @allowed_blp.arguments(AllowedArgsSchema, location="query", as_kwargs=True)
    @allowed_blp.alt_response(
        200,
        schema=AllowedSchema,
        success=True,
        description="The allowed processors",
        headers={"ETag": "ETAG"},
    )
    @allowed_blp.alt_response(304, response="NOT_MODIFIED")
    @allowed_blp.doc(
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
