"""The whole register's compliance, on any date, with what-if decisions ended."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from .. import catalogue
from ..api import Blueprint
from ..schemas.subprocessors import ComplianceSchema, RegisterComplianceArgsSchema
from ..validation import check_assume_ended
from .common import as_of, end_of, registry

blp = Blueprint("compliance", __name__, url_prefix="/v1", description="Compliance reports")


class SummarySchema(ma.Schema):
    total = ma.fields.Integer(required=True)
    active = ma.fields.Integer(required=True)
    proposed = ma.fields.Integer(required=True)
    compliant = ma.fields.Integer(required=True)
    flagged = ma.fields.Integer(required=True)
    active_flagged = ma.fields.Integer(required=True)
    by_flag = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)


class FlaggedSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    compliance = ma.fields.Nested(ComplianceSchema, required=True)


class RegisterReportSchema(ma.Schema):
    as_of = ma.fields.String(required=True, metadata={"format": "date"})
    assumed_ended = ma.fields.List(ma.fields.String(), required=True)
    summary = ma.fields.Nested(SummarySchema, required=True)
    flagged = ma.fields.List(ma.fields.Nested(FlaggedSchema), required=True)


def register_report(args: dict) -> dict:
    """Evaluate every sub-processor not retired on the date under that date's law."""
    reg = registry()
    assumed = args.get("assume_ended", [])
    check_assume_ended(assumed, reg.law())
    return catalogue.register_report(
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
