"""The sub-processor routes: create, list, read, update (If-Match), retire, evaluate.

Each record is shown with what the other features know of it: its verdict, its copies on
file, the objections upheld, its pending change; the list is also the CSV and XLSX export.
"""

from __future__ import annotations

from flask import Response, current_app, request, url_for
from flask.views import MethodView

from ..bulk import exporting as bulk
from ..errors import Forbidden
from ..http.api import Blueprint, location_header
from ..http.auth import current_principal
from ..http.context import actor, as_of, cursor, end_of, own_customer, page, registry
from ..http.fields import NoArgsSchema
from ..law.service import check_assume_ended
from ..subprocessors import service as subprocessors
from ..subprocessors.schemas import (
    ComplianceArgsSchema,
    ComplianceSchema,
    RetireSchema,
    SubprocessorCreateSchema,
    SubprocessorPageSchema,
    SubprocessorQueryArgsSchema,
    SubprocessorSchema,
    SubprocessorUpdateSchema,
)
from ..verdicts import service as compliance
from . import service
from .customer_schemas import CustomerSubprocessorPageSchema, CustomerSubprocessorSchema

blp = Blueprint(
    "subprocessors",
    __name__,
    url_prefix="/v1/subprocessors",
    description="Sub-processors, their locations and safeguards, and each one's verdict",
)

READERS = ("admin", "procurement", "customer", "service")
EDITORS = ("admin", "procurement")


def _represent(record: dict) -> dict:
    return service.represent(registry(), record, own_customer())


def _customer() -> bool:
    return current_principal().role == "customer"


def _answer(body: dict, *, many: bool):
    """Staff and services get the body as documented by SubprocessorSchema; a customer its
    customer view, serialised by the customer schemas (the 200 documents both)."""
    if not _customer():
        return body
    schema = CustomerSubprocessorPageSchema() if many else CustomerSubprocessorSchema()
    return current_app.json.response(schema.dump(body))


def _one_of(staff_schema, customer_schema) -> dict:
    """The 200's body: the staff representation, or what a customer sees."""
    return {"content": {"application/json": {"schema": {"anyOf": [staff_schema, customer_schema]}}}}


def _set_etag(record: dict) -> None:
    blp.set_etag(service.etag_data(registry(), record, own_customer()))


def _precondition(record: dict) -> None:
    blp.check_etag(service.etag_data(registry(), record, own_customer()))


_ITEM = "#/paths/~1v1~1subprocessors~1{subprocessor_id}"


def _links(*, writable: bool = True) -> dict:
    """OpenAPI links from a response with the record to its other operations.

    Clients (and stateful test tools) learn from them that the body's `id` addresses the
    record and that the response's ETag is the If-Match a write needs.
    """
    by_id = {"path.subprocessor_id": "$response.body#/id"}
    links = {
        "GetSubprocessor": {"operationRef": f"{_ITEM}/get", "parameters": by_id},
        "GetSubprocessorCompliance": {
            "operationRef": f"{_ITEM}~1compliance/get",
            "parameters": by_id,
        },
    }
    if writable:
        write = {**by_id, "header.If-Match": "$response.header.ETag"}
        links["UpdateSubprocessor"] = {"operationRef": f"{_ITEM}/patch", "parameters": write}
        links["RetireSubprocessor"] = {"operationRef": f"{_ITEM}/delete", "parameters": write}
    return links


def _spreadsheet(kind: str, args: dict) -> Response:
    """The current register as a CSV (streamed) or XLSX file: bulk.export."""
    export = bulk.export(registry(), kind, args, role=current_principal().role)
    disposition = f'attachment; filename="{export.filename}"'
    headers = {"Content-Disposition": disposition, "Vary": "Accept"}
    return Response(export.chunks, content_type=export.content_type, headers=headers)


@blp.route("")
class Subprocessors(MethodView):
    @blp.roles(*READERS)
    @blp.arguments(SubprocessorQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, SubprocessorPageSchema)
    @blp.doc(
        responses={
            200: {
                "content": {
                    **_one_of(SubprocessorPageSchema, CustomerSubprocessorPageSchema)["content"],
                    **bulk.EXPORT_CONTENT,
                }
            }
        }
    )
    def get(self, **args):
        """List sub-processors in the order they were added, filtered and paginated

        Follow `next_cursor` for the next page. Customers see the facts of each transfer
        (country, activity, mechanism, the act or clauses relied on, whether a copy is
        available on request), never verdicts. With `format` (`csv`, `excel`, `xlsx`), or
        `Accept: text/csv` or XLSX (admin and procurement): the whole current register in the
        import's columns, a file to edit and send back to `POST /v1/subprocessors/import`.
        """
        kind = args.pop("format", None)
        if kind is None:
            accepted = ("application/json", *bulk.EXPORT_TYPES)
            kind = bulk.FORMAT_OF.get(request.accept_mimetypes.best_match(accepted))
        if kind is not None:
            return _spreadsheet(kind, args)
        if args.get("flagged") is not None and _customer():
            raise Forbidden("Verdicts are for staff: customers cannot filter on `flagged`.")
        return _answer(self._list(args), many=True)

    @staticmethod
    def _list(args: dict) -> dict:
        reg, limit, after = registry(), args["limit"], int(args.get("cursor", 0))
        if args.get("at"):
            on, before = as_of(args), end_of(args["at"])
            items, last_seq, exhausted = service.register_at(
                reg, args, on=on, before=before, after=after, customer_id=own_customer()
            )
        elif args.get("flagged") is not None:
            filters = {k: args.get(k) for k in ("service", "country", "status")}
            items, last_seq, exhausted = service.flagged_page(
                reg, filters, args["flagged"], after=after, limit=limit
            )
        else:
            filters = {k: args.get(k) for k in ("service", "country", "status")}
            rows = service.current_page(reg, filters, after=after, limit=limit + 1)
            return page(rows, limit, _represent)
        return {"items": items, "next_cursor": None if exhausted else cursor(last_seq)}

    @blp.roles(*EDITORS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(SubprocessorCreateSchema)
    @blp.response(
        201,
        SubprocessorSchema,
        headers=location_header("sub-processor"),
    )
    @blp.alt_response(409, response="CONFLICT")
    @blp.doc(responses={201: {"links": _links()}})
    def post(self, data):
        """Add a sub-processor; it is announced as `proposed` until its `effective_on`"""
        record = subprocessors.create(registry(), data, actor())
        _set_etag(record)
        headers = {"Location": url_for(".SubprocessorById", subprocessor_id=record["id"])}
        return service.represent_written(registry(), record), 201, headers


@blp.route("/<string:subprocessor_id>")
class SubprocessorById(MethodView):
    @blp.roles(*READERS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, SubprocessorSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(
        responses={
            200: {"links": _links(), **_one_of(SubprocessorSchema, CustomerSubprocessorSchema)}
        }
    )
    def get(self, subprocessor_id):
        """Read one sub-processor with its status and today's compliance verdict

        Customers see the facts of each transfer, never the verdict.
        """
        record = subprocessors.get(registry().db.connection(), subprocessor_id)
        _set_etag(record)
        return _answer(_represent(record), many=False)

    @blp.roles(*EDITORS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(SubprocessorUpdateSchema)
    @blp.response(200, SubprocessorSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.doc(responses={200: {"links": _links()}})
    def patch(self, changes, subprocessor_id):
        """Change a sub-processor; needs If-Match with its current ETag

        `locations` and `data_categories` replace the whole list.
        """
        record = subprocessors.update(registry(), subprocessor_id, changes, _precondition, actor())
        _set_etag(record)
        return service.represent_written(registry(), record)

    @blp.roles(*EDITORS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(RetireSchema, required=False)
    @blp.response(200, SubprocessorSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.doc(responses={200: {"links": _links(writable=False)}})
    def delete(self, retirement, subprocessor_id):
        """Retire a sub-processor today or on a later day; the record is kept

        Needs If-Match with its current ETag. Without a body it is retired today. A later
        `retired_on` schedules it: the record stays in force (`active` or `proposed`) until
        that day, then reads as `retired`; customers are told at once. An earlier day is 422;
        a record already retired, or already scheduled to be, is 409.
        """
        record = subprocessors.retire(
            registry(), subprocessor_id, retirement, _precondition, actor()
        )
        return service.represent_written(registry(), record)


@blp.route("/<string:subprocessor_id>/compliance")
class SubprocessorCompliance(MethodView):
    @blp.roles("admin", "procurement")
    @blp.arguments(ComplianceArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ComplianceSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, subprocessor_id, **args):
        """Evaluate one sub-processor on a date, optionally assuming decisions ended"""
        assumed = args.get("assume_ended", [])
        check_assume_ended(assumed, registry().law())
        record = subprocessors.get(registry().db.connection(), subprocessor_id)
        return compliance.evaluate(registry(), record, as_of(args), assume_ended=frozenset(assumed))
