"""The sub-processor routes: create, list, read, update (If-Match), retire, evaluate.

Each record is shown with what the other features know of it: its verdict, its copies on
file, the objections upheld, its pending change; the list is also the CSV and XLSX export.
"""

from __future__ import annotations

from flask import Response, current_app, request, url_for
from flask.views import MethodView

from ..bulk import exporting as bulk
from ..compliance import engine
from ..customer_projection import projection
from ..documents import service as documents
from ..errors import Forbidden
from ..events import service as change_feed
from ..history import service as history
from ..http.api import Blueprint
from ..http.auth import current_principal
from ..http.context import actor, as_of, cursor, end_of, own_customer, page, registry
from ..http.fields import NoArgsSchema
from ..law.service import check_assume_ended
from ..objections import service as objections
from ..subprocessors import service
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
from .customer_schemas import CustomerSubprocessorPageSchema, CustomerSubprocessorSchema

blp = Blueprint(
    "subprocessors",
    __name__,
    url_prefix="/v1/subprocessors",
    description="Sub-processors, their locations and safeguards, and each one's verdict",
)

READERS = ("admin", "procurement", "customer", "service")
EDITORS = ("admin", "procurement")
# A page filtered on `flagged` reads at most this many rows before answering with a cursor.
FLAGGED_SCAN_LIMIT = 5000


def _etag_data(record: dict, today, law_version: str) -> dict:
    # The representation carries today's verdict, so the day, the law and the copies on
    # file (SCC_COPY_MISSING) are part of it.
    return {
        "id": record["id"],
        "version": record["version"],
        "as_of": today.isoformat(),
        "law": law_version,
        "copies": documents.copies_of(registry().db.connection(), record["id"]),
        # A change announced or amended, and objections upheld, write no new version.
        "pending": record["pending_change"]
        and {k: record["pending_change"][k] for k in ("change_id", "effective_on", "changes")},
        "upheld": [o["id"] for o in _upheld(record)],
        # Customers read another representation of the same state: another ETag.
        "view": "customer" if _customer() else "staff",
    }


def _upheld(record: dict) -> list[dict]:
    """Upheld objections to it: all for staff, a customer's own for a customer."""
    return objections.upheld_for(registry().db.connection(), record["id"], own_customer())


def _represent(record: dict) -> dict:
    """Today's record as its reader sees it: with its verdict for staff and services, as the
    facts of its transfers for a customer (see customer_view)."""
    if _customer():
        return compliance.customer_view(registry(), record, _upheld(record))
    return {**compliance.represent(registry(), record), "upheld_objections": _upheld(record)}


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


def _represent_written(record: dict) -> dict:
    return {
        **compliance.represent_written(registry(), record),
        "upheld_objections": _upheld(record),
    }


def _set_etag(record: dict) -> None:
    blp.set_etag(_etag_data(record, registry().today(), registry().law().version))


def _precondition(record: dict) -> None:
    blp.check_etag(_etag_data(record, registry().today(), registry().law().version))


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


def _register_at(args: dict) -> dict:
    """The list as it stood at the end of `at`: that day's versions, status and verdicts.

    Bounded work per page, as for `flagged`: the creation-order key is walked from the
    cursor, at most FLAGGED_SCAN_LIMIT sub-processors a request.
    """
    reg, on = registry(), as_of(args)
    conn = reg.db.connection()
    limit, law = args["limit"], reg.law()
    items, scanned, last_seq, exhausted = [], 0, int(args.get("cursor", 0)), False
    with reg.db.snapshot():
        before = end_of(args["at"])
        copies = documents.disclosable_copies(conn, before)
        while len(items) < limit and scanned < FLAGGED_SCAN_LIMIT:
            batch = history.register_page(
                conn, before, last_seq, min(200, FLAGGED_SCAN_LIMIT - scanned)
            )
            if not batch:
                exhausted = True
                break
            for seq, record in batch:
                scanned, last_seq = scanned + 1, seq
                represented = _as_it_stood(record, args, on, law, copies, reg)
                if represented is not None:
                    items.append(represented)
                    if len(items) == limit:
                        break
        if not exhausted and len(items) == limit:
            exhausted = not history.register_page(conn, before, last_seq, 1)
    return {"items": items, "next_cursor": None if exhausted else cursor(last_seq)}


_BEFORE_FIELDS_EXISTED = {
    "onward_transfers": [],
    "already_in_use": False,
    "urgent_reason": None,
    "retired_reason": None,
}


def _as_it_stood(record, args: dict, on, law, copies, reg) -> dict | None:
    """The record with its status and verdict on `on`, if it matches the list's filters."""
    if record is None:  # not on the register yet
        return None
    # Versions kept before a field existed lack it: it had its default then.
    pending = change_feed.pending_at(reg.db.connection(), record["id"], end_of(args["at"]))
    record = {
        **_BEFORE_FIELDS_EXISTED,
        **record,
        "pending_change": pending,
        "upheld_objections": [],
    }
    status = engine.status_on(record, on)
    if args.get("status") and status != args["status"]:
        return None
    if args.get("service") and record["service"] != args["service"]:
        return None
    if args.get("country") and args["country"] not in {
        loc["country"] for loc in record["locations"]
    }:
        return None
    verdict = engine.evaluate(
        record,
        law,
        on,
        copies=copies,
        notice_days=reg.notice_days,
        role=reg.settings.organisation_role,
    )
    flagged = args.get("flagged")
    if flagged is not None and (verdict["status"] == "flagged") != flagged:
        return None
    represented = compliance.with_verdict(record, verdict, on)
    if _customer():
        return projection.subprocessor(
            represented, law, on, copies, verdict=verdict, upheld_objections=[]
        )
    return represented


def _spreadsheet(media_type: str, args: dict) -> Response:
    """The current register as a CSV (streamed) or XLSX file: bulk.export."""
    export = bulk.export(registry(), media_type, args, role=current_principal().role)
    disposition = f'attachment; filename="{export.filename}"'
    headers = {"Content-Disposition": disposition, "Vary": "Accept"}
    return Response(export.chunks, mimetype=export.media_type, headers=headers)


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
        available on request), never verdicts. With `Accept: text/csv` or XLSX (admin and
        procurement): the whole current register in the import's columns, a file to edit and
        send back to `POST /v1/subprocessors/import`.
        """
        media_type = request.accept_mimetypes.best_match(("application/json", *bulk.EXPORT_TYPES))
        if media_type in bulk.EXPORT_TYPES:
            return _spreadsheet(media_type, args)
        if args.get("flagged") is not None and _customer():
            raise Forbidden("Verdicts are for staff: customers cannot filter on `flagged`.")
        return _answer(self._list(args), many=True)

    @staticmethod
    def _list(args: dict) -> dict:
        if args.get("at"):
            return _register_at(args)
        limit = args["limit"]
        after = int(args.get("cursor", 0))
        today = registry().today().isoformat()
        filters = {k: args.get(k) for k in ("service", "country", "status")}
        flagged = args.get("flagged")
        conn = registry().db.connection()
        if flagged is None:
            rows = service.page(conn, today=today, after_seq=after, limit=limit + 1, **filters)
            return page(rows, limit, _represent)
        # `flagged` depends on computed verdicts: scan in batches, bounded per request.
        items, scanned, last_seq, exhausted = [], 0, after, False
        while len(items) < limit and scanned < FLAGGED_SCAN_LIMIT:
            batch = min(200, FLAGGED_SCAN_LIMIT - scanned)
            rows = service.page(conn, today=today, after_seq=last_seq, limit=batch, **filters)
            if not rows:
                exhausted = True
                break
            for row in rows:
                scanned += 1
                last_seq = row["seq"]
                represented = _represent(row)
                if (represented["compliance"]["status"] == "flagged") == flagged:
                    items.append(represented)
                    if len(items) == limit:
                        break
        if not exhausted and len(items) == limit:
            exhausted = not service.page(conn, today=today, after_seq=last_seq, limit=1, **filters)
        return {"items": items, "next_cursor": None if exhausted else cursor(last_seq)}

    @blp.roles(*EDITORS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(SubprocessorCreateSchema)
    @blp.response(
        201,
        SubprocessorSchema,
        headers={
            "Location": {
                "description": "The new sub-processor's URL",
                "required": True,
                "schema": {"type": "string", "format": "uri-reference"},
            }
        },
    )
    @blp.alt_response(409, response="CONFLICT")
    @blp.doc(responses={201: {"links": _links()}})
    def post(self, data):
        """Add a sub-processor; it is announced as `proposed` until its `effective_on`"""
        record = service.create(registry(), data, actor())
        _set_etag(record)
        headers = {"Location": url_for(".SubprocessorById", subprocessor_id=record["id"])}
        return _represent_written(record), 201, headers


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
        record = service.get(registry().db.connection(), subprocessor_id)
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
        record = service.update(registry(), subprocessor_id, changes, _precondition, actor())
        _set_etag(record)
        return _represent_written(record)

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
        record = service.retire(registry(), subprocessor_id, retirement, _precondition, actor())
        return _represent_written(record)


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
        record = service.get(registry().db.connection(), subprocessor_id)
        return compliance.evaluate(registry(), record, as_of(args), assume_ended=frozenset(assumed))
