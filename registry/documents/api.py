"""Transfer documentation: copies on file, customers' requests for them, and disclosures."""

from __future__ import annotations

from flask import request, send_file, url_for
from flask.views import MethodView
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from ..customer_projection import projection
from ..http.api import Blueprint, StrictParser, header_parameter
from ..http.auth import current_principal
from ..http.bodies import MULTIPART, accepts
from ..http.context import actor, own_customer, page, registry
from ..http.fields import NoArgsSchema
from . import service, store
from .schemas import (
    ContentArgsSchema,
    DisclosurePageSchema,
    DisclosureQueryArgsSchema,
    DocumentationRequestCreateSchema,
    DocumentationRequestPageSchema,
    DocumentationRequestQueryArgsSchema,
    DocumentationRequestSchema,
    DocumentDetailSchema,
    DocumentPageSchema,
    DocumentQueryArgsSchema,
    DocumentUploadSchema,
    DocumentWithdrawSchema,
    UploadedDocumentSchema,
    WithdrawnDocumentSchema,
)

blp = Blueprint(
    "documents",
    __name__,
    url_prefix="/v1",
    description=(
        "Copies of transfer mechanisms (SCCs, BCRs, ...), customers' requests for them, "
        "and the log of every copy disclosed"
    ),
)

STAFF = ("admin", "procurement")


class MultipartParser(StrictParser):
    """The `files` location reads the whole multipart form: its file parts and its fields.

    One schema then describes the upload, and the spec shows one multipart request body.
    """

    def load_files(self, req, schema):
        form = CombinedMultiDict([req.files, req.form])
        self.reject_repeated(form, "files", req, schema)
        return MultiDictProxy(form, schema)


blp.ARGUMENTS_PARSER = MultipartParser()


def _document(document: dict) -> dict:
    return {
        **document,
        "content_url": url_for("documents.DocumentContent", document_id=document["id"]),
    }


def _detail(document: dict) -> dict:
    """A copy as its reader sees it: staff also see who uploaded it and the customers who
    downloaded it; a customer its customer projection."""
    view = _document(document)
    if current_principal().role == "customer":
        return projection.document(view)
    view["disclosed_to"] = store.recipients(registry().db.connection(), document["id"])
    return view


def _disclosure(row: dict) -> dict:
    """A disclosure as its reader sees it: a customer its customer projection."""
    if current_principal().role == "customer":
        return projection.disclosure(row)
    return {k: v for k, v in row.items() if k != "seq"}


def _linked_document(document_id: str | None, conn) -> dict | None:
    if document_id is None:
        return None
    document = store.get_document(conn, document_id)
    withdrawn = document["withdrawn_at"] is not None
    return {
        "id": document["id"],
        "title": document["title"],
        "media_type": document["media_type"],
        "size": document["size"],
        "sha256": document["sha256"],
        "summary": document["summary"],
        "withdrawn_at": document["withdrawn_at"],
        "download_url": None
        if withdrawn
        else url_for("documents.DocumentContent", document_id=document["id"]),
    }


def _linked_decision(decision_id: str | None, law) -> dict | None:
    decision = law.decision(decision_id) if decision_id else None
    if decision is None:
        return None
    return {
        "id": decision.id,
        "instrument": decision.instrument,
        "source_url": decision.source_url,
        "verified": decision.verified,
    }


def _request(request_row: dict) -> dict:
    conn, law = registry().db.connection(), registry().law()
    items = [
        {
            "subprocessor_id": item["subprocessor_id"],
            "subprocessor_name": item["subprocessor_name"],
            "country": item["country"],
            "mechanism": item["mechanism"],
            "status": item["status"],
            "document": _linked_document(item["document_id"], conn),
            "adequacy_decision": _linked_decision(item["adequacy_decision"], law),
            "fulfilled_at": item["fulfilled_at"],
            "note": item["note"],
        }
        for item in request_row["items"]
    ]
    pending = any(item["status"] == "pending" for item in items)
    return {
        "id": request_row["id"],
        "customer_id": request_row["customer_id"],
        "created_at": request_row["created_at"],
        "scope": request_row["scope"],
        "status": "pending" if pending else "fulfilled",
        "items": items,
    }


@blp.route("/documents")
class Documents(MethodView):
    @blp.roles(*STAFF)
    @blp.arguments(DocumentQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, DocumentPageSchema)
    def get(self, limit, cursor=None, **filters):
        """List the copies on file, filtered by sub-processor, country, kind and audience"""
        rows = store.list_documents(
            registry().db.connection(), after_seq=int(cursor or 0), limit=limit + 1, **filters
        )
        return page(rows, limit, _document)

    @blp.roles(*STAFF)
    @accepts(MULTIPART, limit_setting="max_upload")
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(DocumentUploadSchema, location="files", content_type=MULTIPART)
    @blp.response(201, UploadedDocumentSchema)
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self, form):
        """Upload a copy (multipart); pending requests for its transfer become fulfilled

        The media type is read from the content: PDF, DOCX, ODT, UTF-8 text, or a scan as
        PNG, JPEG or TIFF (signature and first structure checked), else 415; the file's name
        and declared type are not believed. Files are stored once by SHA-256, written
        atomically. With `supersedes`, the named copy (same sub-processor, country and kind,
        else 422) is withdrawn in the same transaction, as "superseded by" this one: the
        requests it delivered and that never downloaded it are delivered with this one. A
        copy already withdrawn is 409.

        With a malware scanner configured (REGISTRY_CLAMD), the complete file is scanned by
        ClamAV before it is stored: a signature found is 422 at `/file` naming it (audited as
        `document.refuse`, nothing stored); the scanner unreachable, timing out or failing is
        503, nothing stored. Without one the copy is stored with `scan: not_scanned`.
        """
        upload = form.pop("file")
        try:
            document, fulfilled = service.upload(
                registry(),
                upload.stream,
                form,
                actor(),
                max_size=registry().settings.max_upload,
            )
        finally:
            upload.close()
        headers = {"Location": url_for(".DocumentById", document_id=document["id"])}
        return {**_document(document), "fulfilled_requests": fulfilled}, 201, headers


@blp.route("/documents/<string:document_id>")
class DocumentById(MethodView):
    @blp.roles(*STAFF, "customer")
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, DocumentDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, document_id):
        """Read a copy's metadata; customers only copies their requests delivered

        A withdrawn copy is 404 to customers; staff see it with `withdrawn_at`, `withdrawn_by`,
        `withdrawn_reason` and its SHA-256, and `disclosed_to` lists the customers who
        downloaded it.
        """
        view = _detail(service.readable_document(registry(), current_principal(), document_id))
        blp.set_etag(view, DocumentDetailSchema)
        return view

    @blp.roles(*STAFF)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(DocumentWithdrawSchema)
    @blp.response(200, WithdrawnDocumentSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, body, document_id):
        """Withdraw a copy: no longer served to customers nor counted as on file

        Needs If-Match with its current ETag and a `reason`. The record stays, with its SHA-256,
        `withdrawn_at`, `withdrawn_by` and `withdrawn_reason`; staff may still read and download it.
        Customers get 404 for it at once, in every worker, and verdicts count it no more
        (SCC_COPY_MISSING, or BCR_COPY_MISSING, when it was the only copy). Requests it delivered
        and that never downloaded it are delivered with another disclosable copy of the same
        transfer (`redelivered_requests`), else go back to pending (`reopened_requests`); those that
        downloaded it stay fulfilled, their customers in `disclosed_to`. A copy already withdrawn is
        409. Audited as `document.withdraw`.
        """

        def check(document: dict) -> None:
            blp.check_etag(_detail(document), DocumentDetailSchema)

        withdrawn = service.withdraw(registry(), document_id, body["reason"], actor(), check)
        return {
            **_detail(withdrawn),
            "reopened_requests": withdrawn["reopened"],
            "redelivered_requests": withdrawn["redelivered"],
        }


@blp.route("/documents/<string:document_id>/content")
class DocumentContent(MethodView):
    @blp.roles(*STAFF, "customer")
    @blp.arguments(ContentArgsSchema, location="query", as_kwargs=True)
    @blp.alt_response(
        200,
        description="The file, as an attachment; ETag is its SHA-256",
        content_type="application/octet-stream",
        success=True,
    )
    @blp.alt_response(206, description="The requested byte range", success=True)
    @blp.alt_response(304, response="NOT_MODIFIED")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(416, response="REQUESTED_RANGE_NOT_SATISFIABLE")
    @blp.doc(
        parameters=[
            header_parameter("If-None-Match", "The ETag (the SHA-256) of a copy already held: 304"),
            header_parameter("Range", "A byte range, e.g. bytes=0-1023: 206"),
        ]
    )
    def get(self, document_id, request_id=None):
        """Download a copy; a customer's download is recorded as a disclosure

        Conditional (If-None-Match) and range requests are honoured. Repeated downloads of
        the same copy by the same key within the disclosure window (REGISTRY_DISCLOSURE_WINDOW,
        an hour by default, from the first) are that one disclosure, its `downloads` counted.
        """
        principal = current_principal()
        document = service.readable_document(registry(), principal, document_id)
        response = send_file(
            service.document_path(registry(), document),
            mimetype=document["media_type"],
            as_attachment=True,
            download_name=document["filename"],
            conditional=True,
            etag=document["sha256"],
            max_age=None,
        )
        # send_file appends a charset to text types, and the stored type already has one.
        response.headers["Content-Type"] = document["media_type"]
        response.headers["Cache-Control"] = "no-store"
        # A HEAD or a 304 hands over no content, so neither is a disclosure.
        if (
            principal.role == "customer"
            and request.method == "GET"
            and response.status_code in (200, 206)
        ):
            try:
                service.record_disclosure(
                    registry(),
                    principal,
                    document,
                    actor(),
                    request.headers.get("Range") if response.status_code == 206 else None,
                    request_id,
                )
            except BaseException:
                response.close()
                raise
        return response


@blp.route("/documentation-requests")
class DocumentationRequests(MethodView):
    @blp.roles("customer", *STAFF)
    @blp.arguments(DocumentationRequestQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, DocumentationRequestPageSchema)
    def get(self, limit, cursor=None, status=None, customer_id=None):
        """List documentation requests: a customer's own, or all (`?status=pending`) for staff"""
        own = own_customer()
        if own is not None:
            customer_id = own
        rows = store.list_requests(
            registry().db.connection(),
            after_seq=int(cursor or 0),
            limit=limit + 1,
            customer_id=customer_id,
            status=status,
        )
        return page(rows, limit, _request)

    @blp.roles("customer")
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(DocumentationRequestCreateSchema)
    @blp.response(201, DocumentationRequestSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body):
        """Ask for copies of the transfer mechanisms (SCC Clause 8.3), free of charge

        One item per transfer outside the EEA: its mechanism and the disclosable copy, or
        for adequacy the decision and its source, or `pending` until a copy is on file.
        A customer makes at most `REGISTRY_QUOTA_DOCUMENTATION_REQUESTS` (default 5) in 24
        hours (429 with `Retry-After`) and holds at most
        `REGISTRY_QUOTA_OPEN_DOCUMENTATION_REQUESTS` (default 10) with an item pending (409).
        """
        created = service.request_documentation(
            registry(), current_principal(), body.get("subprocessor_ids"), actor()
        )
        headers = {"Location": url_for(".DocumentationRequestById", request_id=created["id"])}
        return _request(created), 201, headers


@blp.route("/documentation-requests/<string:request_id>")
class DocumentationRequestById(MethodView):
    @blp.roles("customer", *STAFF)
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, DocumentationRequestSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, request_id):
        """Read a documentation request; customers only their own"""
        found = store.get_request(registry().db.connection(), request_id, own_customer())
        return _request(found)


@blp.route("/disclosures")
class Disclosures(MethodView):
    @blp.roles("customer", *STAFF)
    @blp.arguments(DisclosureQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, DisclosurePageSchema)
    def get(self, limit, cursor=None, customer_id=None, document_id=None):
        """List the disclosures of copies: a customer's own, or all for staff"""
        own = own_customer()
        if own is not None:
            customer_id = own
        rows = store.list_disclosures(
            registry().db.connection(),
            after_seq=int(cursor or 0),
            limit=limit + 1,
            customer_id=customer_id,
            document_id=document_id,
        )
        return page(rows, limit, _disclosure)
