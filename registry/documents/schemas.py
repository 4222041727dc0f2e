"""Schemas of transfer documentation: uploads, documents, requests and disclosures."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from werkzeug.datastructures import FileStorage

from ..http.fields import PageArgsSchema, PageSchema, StrictSchema, text
from ..law.fields import CountryCode

KINDS = ("scc", "dpa", "bcr", "tia", "other")
AUDIENCES = ("internal", "disclosable")
ITEM_STATUSES = ("pending", "fulfilled", "not_applicable")
REQUEST_STATUSES = ("pending", "fulfilled")
SCANS = ("clean", "not_scanned", "infected")
_ID = ma.validate.Length(min=1, max=64)


class FilePart(Upload):
    """A file part of the form; a text field of the same name is no file."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("Send the document as a file part of the form.")
        return value


class DocumentUploadSchema(StrictSchema):
    """The multipart form of an upload: the file and what it is."""

    file = FilePart(
        required=True,
        metadata={
            "description": "PDF, DOCX, ODT, UTF-8 plain text, or a scan as PNG, JPEG or TIFF; "
            "the type is read from the content, never from the name or the declared type"
        },
    )
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    title = text(200, required=True, example="SCCs 2021/914 module 3 with Tallybird Support")
    subprocessor_id = ma.fields.String(
        validate=_ID, metadata={"description": "The sub-processor the copy is for"}
    )
    country = CountryCode(
        metadata={"description": "The transfer's country; omitted: all the sub-processor's"}
    )
    audience = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(AUDIENCES),
        metadata={"description": "`disclosable` copies may be handed to customers on request"},
    )
    summary = text(
        5000,
        multiline=True,
        description="For a redacted copy: a meaningful summary of what was redacted and why",
    )
    supersedes = ma.fields.String(
        validate=_ID,
        metadata={
            "description": "The id of a copy on file this one replaces, for the same "
            "sub-processor, country and kind: it is withdrawn in the same write"
        },
    )


class DocumentWithdrawSchema(StrictSchema):
    """Why a copy is withdrawn."""

    reason = text(
        1000,
        required=True,
        multiline=True,
        example="Uploaded as disclosable by mistake: the unredacted copy",
        description="Kept on the copy and in the audit trail; never shown to customers",
    )


class RecipientSchema(ma.Schema):
    customer_id = ma.fields.String(required=True)
    request_ids = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "The documentation requests its downloads answered"},
    )
    downloads = ma.fields.Integer(required=True)
    first_disclosed_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    last_downloaded_at = ma.fields.String(required=True, metadata={"format": "date-time"})


# What staff read and a customer's view leaves out (the one customer projection).
STAFF_ONLY = "Staff only: absent from a customer's view."


class DocumentSchema(ma.Schema):
    id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    subprocessor_id = ma.fields.String(allow_none=True)
    country = ma.fields.String(allow_none=True)
    audience = ma.fields.String(metadata={"description": STAFF_ONLY})
    summary = ma.fields.String(allow_none=True)
    filename = ma.fields.String(required=True)
    media_type = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True)
    sha256 = ma.fields.String(required=True)
    uploaded_by = ma.fields.String(metadata={"description": "The staff key's id. " + STAFF_ONLY})
    uploaded_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    withdrawn_at = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={
            "format": "date-time",
            "description": "When the copy was withdrawn (or superseded); null while on file",
        },
    )
    withdrawn_by = ma.fields.String(allow_none=True, metadata={"description": STAFF_ONLY})
    withdrawn_reason = ma.fields.String(allow_none=True, metadata={"description": STAFF_ONLY})
    supersedes = ma.fields.String(
        allow_none=True, required=True, metadata={"description": "The copy this one replaced"}
    )
    superseded_by = ma.fields.String(
        allow_none=True, required=True, metadata={"description": "The copy that replaced this one"}
    )
    scan = ma.fields.String(
        validate=ma.validate.OneOf(SCANS),
        metadata={
            "description": "The malware scan: `clean` (ClamAV found nothing), `not_scanned` "
            "(stored with no scanner configured) or `infected` (found by a rescan, and "
            "withdrawn). " + STAFF_ONLY
        },
    )
    scan_engine = ma.fields.String(
        allow_none=True,
        metadata={"description": "The scanner's engine, e.g. ClamAV 1.4.6. " + STAFF_ONLY},
    )
    scan_signatures = ma.fields.String(
        allow_none=True,
        metadata={"description": "The signature database's version and date. " + STAFF_ONLY},
    )
    scanned_at = ma.fields.String(
        allow_none=True,
        metadata={"format": "date-time", "description": "When it was last scanned. " + STAFF_ONLY},
    )
    content_url = ma.fields.String(required=True)


class DocumentDetailSchema(DocumentSchema):
    disclosed_to = ma.fields.List(
        ma.fields.Nested(RecipientSchema),
        metadata={
            "description": "Staff only: the customers who downloaded this copy (every "
            "disclosure: GET /v1/disclosures?document_id=), to be told of a withdrawal"
        },
    )


class WithdrawnDocumentSchema(DocumentDetailSchema):
    reopened_requests = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={
            "description": "Requests this copy delivered, never downloaded, whose items went "
            "back to pending (no other disclosable copy of the transfer is on file)"
        },
    )
    redelivered_requests = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={
            "description": "Requests this copy delivered, never downloaded, now delivered "
            "with another disclosable copy of the transfer on file"
        },
    )


class UploadedDocumentSchema(DocumentSchema):
    fulfilled_requests = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Documentation requests this copy fulfilled (items pending)"},
    )


class DocumentPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(DocumentSchema), required=True)


class DocumentQueryArgsSchema(PageArgsSchema):
    subprocessor_id = ma.fields.String(validate=_ID)
    country = CountryCode()
    kind = ma.fields.String(validate=ma.validate.OneOf(KINDS))
    audience = ma.fields.String(validate=ma.validate.OneOf(AUDIENCES))


class ContentArgsSchema(StrictSchema):
    request_id = ma.fields.String(
        validate=_ID,
        metadata={"description": "The documentation request the download answers (customers)"},
    )


class DocumentationRequestCreateSchema(StrictSchema):
    subprocessor_ids = ma.fields.List(
        ma.fields.String(validate=_ID),
        validate=ma.validate.Length(min=1, max=100),
        metadata={"description": "Default: every active sub-processor's non-EEA transfers"},
    )

    @ma.validates("subprocessor_ids")
    def unique(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ma.ValidationError("Each sub-processor may be listed once.")


class LinkedDocumentSchema(ma.Schema):
    id = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    media_type = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True)
    sha256 = ma.fields.String(required=True)
    summary = ma.fields.String(allow_none=True)
    withdrawn_at = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={
            "format": "date-time",
            "description": "Set when the copy was withdrawn after it was downloaded: it is "
            "no longer served, and download_url is null",
        },
    )
    download_url = ma.fields.String(required=True, allow_none=True)


class LinkedDecisionSchema(ma.Schema):
    id = ma.fields.String(required=True)
    instrument = ma.fields.String(required=True)
    source_url = ma.fields.String(required=True)
    verified = ma.fields.Boolean(required=True)


class RequestItemSchema(ma.Schema):
    subprocessor_id = ma.fields.String(required=True)
    subprocessor_name = ma.fields.String(required=True)
    country = ma.fields.String(required=True)
    mechanism = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(ITEM_STATUSES))
    document = ma.fields.Nested(LinkedDocumentSchema, allow_none=True, required=True)
    adequacy_decision = ma.fields.Nested(LinkedDecisionSchema, allow_none=True, required=True)
    fulfilled_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    note = ma.fields.String(allow_none=True)


class DocumentationRequestSchema(ma.Schema):
    id = ma.fields.String(required=True)
    customer_id = ma.fields.String(required=True)
    created_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    scope = ma.fields.String(required=True, validate=ma.validate.OneOf(("all_active", "selected")))
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(REQUEST_STATUSES))
    items = ma.fields.List(ma.fields.Nested(RequestItemSchema), required=True)


class DocumentationRequestPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(DocumentationRequestSchema), required=True)


class DocumentationRequestQueryArgsSchema(PageArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(REQUEST_STATUSES))
    customer_id = ma.fields.String(
        validate=_ID, metadata={"description": "Staff only; customers always see their own"}
    )


class DisclosureSchema(ma.Schema):
    id = ma.fields.String(required=True)
    customer_id = ma.fields.String(required=True)
    key_id = ma.fields.String(metadata={"description": "The key that downloaded. " + STAFF_ONLY})
    document_id = ma.fields.String(required=True)
    request_id = ma.fields.String(required=True)
    disclosed_at = ma.fields.String(
        required=True, metadata={"format": "date-time", "description": "The first download"}
    )
    range = ma.fields.String(
        allow_none=True,
        metadata={"description": "The Range served by the first download, if any"},
    )
    downloads = ma.fields.Integer(
        required=True,
        metadata={
            "description": "Downloads of this copy by this key that this disclosure stands for: "
            "repeated ones within the disclosure window (REGISTRY_DISCLOSURE_WINDOW seconds "
            "from the first) are no new disclosure"
        },
    )
    last_downloaded_at = ma.fields.String(required=True, metadata={"format": "date-time"})


class DisclosurePageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(DisclosureSchema), required=True)


class DisclosureQueryArgsSchema(PageArgsSchema):
    customer_id = ma.fields.String(validate=_ID, metadata={"description": "Staff only"})
    document_id = ma.fields.String(validate=_ID)
