"""The whole register's compliance, on any date, with what-if decisions ended."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from .. import compliance
from ..api import Blueprint
from ..schemas.subprocessors import ComplianceSchema, RegisterComplianceArgsSchema
from ..store import documents as document_store
from ..store import history
from ..store import subprocessors as store
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
    law = reg.law()
    assumed = args.get("assume_ended", [])
    check_assume_ended(assumed, law)
    on = as_of(args)
    with reg.db.snapshot():
        conn = reg.db.connection()
        if args.get("at"):
            before = end_of(args["at"])
            records = list(history.register_at(conn, before))
            copies = document_store.disclosable_copies(conn, before)
        else:
            records = list(store.iter_current(conn, on.isoformat()))
            copies = document_store.disclosable_copies(conn)
    return compliance.evaluate_register(
        records,
        law,
        on,
        assume_ended=frozenset(assumed),
        copies=copies,
        notice_days=reg.notice_days,
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
