"""GET /v1/compliance: the register's report, for any date, what-if decisions ended."""

from __future__ import annotations

from flask.views import MethodView

from ..http.api import Blueprint
from ..http.context import as_of, end_of, registry
from ..law.service import check_assume_ended
from ..subprocessors.schemas import RegisterComplianceArgsSchema
from . import service as compliance
from .schemas import RegisterReportSchema

blp = Blueprint("compliance", __name__, url_prefix="/v1", description="Compliance reports")


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
