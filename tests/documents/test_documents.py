"""Transfer documentation over HTTP: copies on file, customers' requests, isolation, disclosures."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from helpers import (
    NL,
    PROBLEM,
    UNSAFE_IN,
    bcr,
    bearer,
    cli_runner,
    days_from_today,
    make_token,
    nimbus,
    problem,
    scc,
    vendor,
)
from werkzeug.datastructures import FileStorage
from werkzeug.http import parse_options_header
from werkzeug.test import encode_multipart

from registry import clock as registry_clock
from registry.app import create_app
from registry.audit import service as audit_service
from registry.audit import store as audit_store
from registry.audit.chain import verify
from registry.documents import service as documents_service
from registry.documents.blobs import TEMP_PREFIX, BlobStore
from registry.keys.service import verify as verify_token
from registry.keys.store import list_keys
from registry.runtime import Registry
from registry.settings import Settings

URL = "/v1/documents"
REQUESTS = "/v1/documentation-requests"
DISCLOSURES = "/v1/disclosures"
ACTIVE = {"effective_on": "2025-01-01"}  # a sub-processor in effect since 2025

PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT_TYPE = "application/vnd.oasis.opendocument.text"
TEXT_TYPE = "text/plain; charset=utf-8"
PNG_TYPE = "image/png"
JPEG_TYPE = "image/jpeg"
TIFF_TYPE = "image/tiff"


# Real minimal files of each kind


def pdf(note: str = "SCCs 2021/914") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        b"% " + note.encode() + b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"><Override PartName="/word/document.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main'
            '+xml"/></Types>',
        )
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Clause 8.3</w:t></w:r></w:p>'
            "</w:body></w:document>",
        )
    return buffer.getvalue()


def odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # The ODF package rule: `mimetype` first and stored uncompressed.
        archive.writestr("mimetype", ODT_TYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "content.xml",
            '<?xml version="1.0"?><office:document-content xmlns:office='
            '"urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>',
            compress_type=zipfile.ZIP_DEFLATED,
        )
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0"?><manifest:manifest xmlns:manifest='
            '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
        )
    return buffer.getvalue()


def text() -> bytes:
    return "Standard contractual clauses, Klausel 8.3 \u2013 Übermittlung\n".encode()


def png() -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
        b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def jpeg() -> bytes:
    """A scan's start: SOI, a JFIF APP0 segment, ... EOI."""
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        b"\xff\xfe\x00\x0fSigned SCCs\x00\x00\xff\xd9"
    )


def tiff(order: str = "II") -> bytes:
    """A header and one image file directory with no entries, in either byte order."""
    endian = "little" if order == "II" else "big"
    magic = b"II*\x00" if order == "II" else b"MM\x00*"
    return magic + (8).to_bytes(4, endian) + (0).to_bytes(2, endian) + (0).to_bytes(4, endian)


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a document")
    return buffer.getvalue()


def exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


# HTTP helpers


def form(content: bytes, filename: str = "upload.bin", **fields) -> dict:
    data = {"kind": "scc", "title": "SCCs 2021/914", "audience": "disclosable", **fields}
    data = {key: value for key, value in data.items() if value is not None}
    data["file"] = (io.BytesIO(content), filename)
    return data


def post_upload(client, headers, data: dict):
    """POST a multipart form; files are given as (stream, filename[, content type])."""
    values = {
        key: FileStorage(value[0], value[1], content_type=value[2] if len(value) > 2 else None)
        if isinstance(value, tuple)
        else value
        for key, value in data.items()
    }
    # Encoded in memory: the test client's own encoder spills large bodies to a temporary
    # file that it never closes.
    boundary, body = encode_multipart(values)
    return client.post(
        URL, data=body, headers=headers, content_type=f"multipart/form-data; boundary={boundary}"
    )


def upload(client, headers, content: bytes | None = None, **fields):
    return post_upload(client, headers, form(pdf() if content is None else content, **fields))


def pointers(response) -> set[str]:
    return {error["pointer"] for error in problem(response, 422)["errors"]}


def download(client, url: str, headers: dict, **extra):
    """GET a document's content; the streamed response is read and closed."""
    with client.get(url, headers={**headers, **extra}) as response:
        body = response.get_data()
    return response, body


def blob_files(root: Path) -> list[Path]:
    """Complete stored files: documents/<ab>/<sha256>."""
    if not root.exists():
        return []
    return sorted(p for p in root.glob("*/*") if p.is_file())


def temporaries(root: Path) -> list[Path]:
    return sorted(root.glob(f"{TEMP_PREFIX}*")) if root.exists() else []


def rows(registry, table: str) -> int:
    sql = f"SELECT count(*) FROM {table}"  # noqa: S608 - the table names are the tests' own
    return registry.db.connection().execute(sql).fetchone()[0]


def audit_entries(registry, action: str) -> list[dict]:
    conn = registry.db.connection()
    return [e for e in audit_store.iter_all(conn) if e["action"] == action]


def key_id(registry, name: str) -> str:
    (found,) = [k["id"] for k in list_keys(registry.db.connection()) if k["name"] == name]
    return found


# Fixtures


@pytest.fixture
def root(registry) -> Path:
    return Path(registry.documents_dir)


@pytest.fixture
def create(client, as_role):
    def post(body: dict) -> str:
        response = client.post("/v1/subprocessors", json=body, headers=as_role("admin"))
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()["id"]

    return post


@pytest.fixture
def nimbus_id(create) -> str:
    """Active: NL (EEA), US (adequacy, certified), IN (SCCs)."""
    return create(nimbus())


@pytest.fixture
def catalogue(client, as_role, create, nimbus_id) -> dict[str, str]:
    """Active ones with each kind of transfer, and ones a default request leaves out."""
    ids = {
        "nimbus": nimbus_id,
        # Canada has an adequacy decision: no safeguard needs recording.
        "bcrcorp": create(
            vendor("BCR Corp", bcr("BR"), {"country": "CA", "activity": "backup"}, **ACTIVE)
        ),
        "derogate": create(
            vendor(
                "Consent Mail",
                {
                    "country": "SG",
                    "activity": "processing",
                    "safeguard": {"mechanism": "derogation", "derogation": "explicit_consent"},
                },
                UNSAFE_IN,
                **ACTIVE,
            )
        ),
        "eea": create(vendor("Euro Only", {"country": "DE", "activity": "storage"}, **ACTIVE)),
        "proposed": create(vendor("Soon Corp", scc("IN"), effective_on=days_from_today(38))),
        "retired": create(vendor("Gone Corp", scc("IN"), **ACTIVE)),
    }
    admin = as_role("admin")
    url = f"/v1/subprocessors/{ids['retired']}"
    etag = client.get(url, headers=admin).headers["ETag"]
    assert client.delete(url, headers={**admin, "If-Match": etag}).status_code == 200
    return ids


@pytest.fixture
def stored(client, staff):
    """Upload and return the document (asserting 201)."""

    def store(content: bytes | None = None, **fields) -> dict:
        response = upload(client, staff, content, **fields)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return store


@pytest.fixture
def ask(client):
    """POST a documentation request as a customer (asserting 201)."""

    def post(headers: dict, body: dict | None = None) -> dict:
        response = client.post(REQUESTS, json=body or {}, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.headers["Location"] == f"{REQUESTS}/{response.get_json()['id']}"
        return response.get_json()

    return post


def read_request(client, headers, request_id: str) -> dict:
    response = client.get(f"{REQUESTS}/{request_id}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def item_for(request: dict, subprocessor_id: str, country: str) -> dict:
    (item,) = [
        i
        for i in request["items"]
        if i["subprocessor_id"] == subprocessor_id and i["country"] == country
    ]
    return item


# Uploads


@pytest.mark.parametrize(
    ("make", "media_type"),
    [
        (pdf, PDF_TYPE),
        (docx, DOCX_TYPE),
        (odt, ODT_TYPE),
        (text, TEXT_TYPE),
        (png, PNG_TYPE),
        (jpeg, JPEG_TYPE),
        (tiff, TIFF_TYPE),
        (lambda: tiff("MM"), TIFF_TYPE),
    ],
    ids=["pdf", "docx", "odt", "text", "png", "jpeg", "tiff-ii", "tiff-mm"],
)
def test_each_accepted_type_is_stored_with_the_media_type_of_its_content(
    client, staff, nimbus_id, root, make, media_type
):
    content = make()
    # The part's name and declared type lie: only the bytes count.
    data = form(content, kind="dpa", subprocessor_id=nimbus_id, country="IN")
    data["file"] = (io.BytesIO(content), "invoice.exe", "image/png")
    response = post_upload(client, staff, data)

    assert response.status_code == 201, response.get_data(as_text=True)
    document = response.get_json()
    sha256 = hashlib.sha256(content).hexdigest()
    assert document["media_type"] == media_type
    assert document["size"] == len(content)
    assert document["sha256"] == sha256
    assert re.fullmatch(r"doc_[0-9a-f]{16}", document["id"])
    assert response.headers["Location"] == f"{URL}/{document['id']}"
    assert document["content_url"] == f"{URL}/{document['id']}/content"
    assert document["fulfilled_requests"] == []
    assert (document["kind"], document["subprocessor_id"], document["country"]) == (
        "dpa",
        nimbus_id,
        "IN",
    )
    assert document["filename"].endswith((".pdf", ".docx", ".odt", ".txt", ".png", ".jpg", ".tif"))

    path = root / sha256[:2] / sha256
    assert blob_files(root) == [path]
    assert path.read_bytes() == content
    assert temporaries(root) == []

    read = client.get(response.headers["Location"], headers=staff)
    assert read.status_code == 200
    assert read.get_json() == {
        **{k: v for k, v in document.items() if k != "fulfilled_requests"},
        "disclosed_to": [],
    }
    assert document["withdrawn_at"] is None and document["supersedes"] is None


def test_uploaded_by_and_summary_are_kept(client, staff, registry, stored):
    document = stored(summary="Prices in Annex II redacted:\ncommercially sensitive.")
    assert document["summary"] == "Prices in Annex II redacted:\ncommercially sensitive."
    assert document["uploaded_by"] == key_id(registry, "procurement")
    assert document["subprocessor_id"] is None and document["country"] is None


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
        b"\xff\xd8\xff<svg onload=alert(1)>",
        b"II*\x00\xff\xff\xff\x7f",
        b"MM\x00*",
        plain_zip(),
        exe(),
        bytes(range(256)) * 4,
        "Übermittlung in Drittländer, Café".encode("latin-1"),
        b"",
        b"PK\x03\x04 a truncated archive",
        b"text with a NUL \x00 inside",
    ],
    ids=[
        "fake-png",
        "fake-jpeg",
        "tiff-offset-outside",
        "tiff-truncated",
        "zip",
        "exe",
        "binary",
        "latin-1",
        "empty",
        "broken-zip",
        "nul",
    ],
)
def test_content_of_no_accepted_type_is_415_and_leaves_nothing(
    client, staff, registry, root, content
):
    # Named and declared as a PDF: the name and the part's type are not believed.
    data = form(content, filename="copy.pdf")
    data["file"] = (io.BytesIO(content), "copy.pdf", "application/pdf")
    response = post_upload(client, staff, data)

    body = problem(response, 415)
    assert body["type"].endswith("/unsupported-media-type")
    assert "PDF, DOCX, ODT" in body["detail"]
    assert rows(registry, "documents") == 0
    assert blob_files(root) == [] and temporaries(root) == []
    assert audit_entries(registry, "document.upload") == []


@pytest.fixture
def small(app_with, staff):
    """An app whose upload limit is 1 KiB, with a procurement token."""
    return app_with(max_upload=1024), staff


def test_a_file_over_the_upload_limit_is_413_and_leaves_no_file(small):
    app, headers = small
    client, registry = app.test_client(), app.extensions["registry"]
    root = Path(registry.documents_dir)

    # Over the file limit, within the multipart allowance: refused while copying.
    body = problem(upload(client, headers, b"a" * 1025), 413)
    assert body["type"].endswith("/content-too-large")
    assert "1024" in body["detail"]
    # Far over: refused before the form is read.
    problem(upload(client, headers, b"a" * (2 * 1024 * 1024)), 413)
    assert blob_files(root) == [] and temporaries(root) == []
    assert rows(registry, "documents") == 0

    # The limit itself is allowed.
    fits = upload(client, headers, b"a" * 1024)
    assert fits.status_code == 201, fits.get_data(as_text=True)
    assert fits.get_json()["size"] == 1024
    assert len(blob_files(root)) == 1 and temporaries(root) == []


def test_the_default_upload_limit_is_50_mib(app):
    assert app.extensions["registry"].settings.max_upload == 50 * 1024 * 1024


@pytest.mark.parametrize(
    "send",
    [
        {"json": {"kind": "scc", "title": "x", "audience": "internal"}},
        {"data": {"kind": "scc", "title": "x", "audience": "internal"}},
        {"data": pdf(), "content_type": "application/pdf"},
        {"data": b"kind=scc", "content_type": "text/plain"},
    ],
    ids=["json", "urlencoded", "raw-pdf", "text"],
)
def test_a_body_that_is_not_multipart_is_415(client, staff, registry, send):
    body = problem(client.post(URL, headers=staff, **send), 415)
    assert "multipart/form-data" in body["detail"]
    assert rows(registry, "documents") == 0


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"kind": None, "title": None, "audience": None}, {"/kind", "/title", "/audience"}),
        ({"kind": "contract"}, {"/kind"}),
        ({"audience": "public"}, {"/audience"}),
        ({"title": "   "}, {"/title"}),
        ({"title": "x" * 201}, {"/title"}),
        ({"title": "SCCs\r\nSet-Cookie: session=stolen"}, {"/title"}),
        ({"title": "SCCs\nsecond line"}, {"/title"}),
        ({"bogus": "1"}, {"/bogus"}),
        ({"country": "XX"}, {"/country"}),
        ({"country": "in"}, {"/country"}),
        ({"subprocessor_id": ""}, {"/subprocessor_id"}),
    ],
    ids=[
        "missing",
        "kind",
        "audience",
        "blank-title",
        "long-title",
        "crlf-title",
        "lf-title",
        "unknown-field",
        "bad-country",
        "lowercase-country",
        "empty-subprocessor",
    ],
)
def test_invalid_forms_are_422_with_pointers(
    client, staff, registry, root, nimbus_id, fields, expected
):
    assert pointers(upload(client, staff, **fields)) == expected
    assert rows(registry, "documents") == 0
    assert blob_files(root) == [] and temporaries(root) == []


def test_a_missing_file_is_422(client, staff, registry):
    data = form(pdf())
    del data["file"]
    assert pointers(post_upload(client, staff, data)) == {"/file"}
    # A text field named `file` is no file either.
    assert pointers(post_upload(client, staff, {**data, "file": "%PDF-1.4"})) == {"/file"}
    assert rows(registry, "documents") == 0


def test_the_target_subprocessor_and_country_are_checked(client, staff, registry, root, nimbus_id):
    response = upload(client, staff, subprocessor_id="sp_0000000000000000", country="IN")
    assert pointers(response) == {"/subprocessor_id"}

    response = upload(client, staff, subprocessor_id=nimbus_id, country="BR")
    assert pointers(response) == {"/country"}
    assert "IN, NL, US" in response.get_json()["errors"][0]["detail"]

    response = upload(client, staff, country="IN")
    assert pointers(response) == {"/country"}

    assert rows(registry, "documents") == 0
    assert blob_files(root) == [] and temporaries(root) == []


def test_duplicate_content_is_stored_once(client, staff, registry, root, stored, nimbus_id):
    first = stored(title="SCCs signed copy")
    second = stored(title="SCCs again", subprocessor_id=nimbus_id, audience="internal")

    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"]
    assert rows(registry, "documents") == 2
    assert blob_files(root) == [root / first["sha256"][:2] / first["sha256"]]
    assert temporaries(root) == []
    for document in (first, second):
        response, body = download(client, document["content_url"], staff)
        assert response.status_code == 200 and body == pdf()


def test_the_upload_is_audited_with_the_document_id(client, staff, registry, stored, nimbus_id):
    document = stored(subprocessor_id=nimbus_id, country="IN")

    (entry,) = audit_entries(registry, "document.upload")
    assert entry["object_type"] == "document"
    assert entry["object_id"] == document["id"]
    assert entry["change"]["sha256"] == document["sha256"]
    assert entry["change"]["fulfilled"] == []
    assert entry["actor"]["role"] == "procurement"
    assert verify(audit_store.iter_all(registry.db.connection()))[1] is None


def test_the_document_and_its_audit_are_one_transaction(
    client, staff, cust_a, registry, ask, nimbus_id
):
    pending = ask(cust_a, {"subprocessor_ids": [nimbus_id]})
    revision = client.get("/v1/health").get_json()["revision"]
    # The database itself refuses the audit entry: the document must not stay behind.
    registry.db.connection().execute(
        "CREATE TRIGGER refuse_upload_audit BEFORE INSERT ON audit"
        " WHEN NEW.action = 'document.upload'"
        " BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
    )

    problem(upload(client, staff, subprocessor_id=nimbus_id, country="IN"), 500)

    assert rows(registry, "documents") == 0
    assert item_for(read_request(client, cust_a, pending["id"]), nimbus_id, "IN")["status"] == (
        "pending"
    )
    assert client.get("/v1/health").get_json()["revision"] == revision


@pytest.mark.parametrize("role", ["customer_a", "service"])
def test_only_staff_may_upload(client, as_role, registry, role):
    problem(upload(client, as_role(role)), 403)
    problem(upload(client, {}), 401)
    assert rows(registry, "documents") == 0


def test_admin_may_upload_and_staff_list_with_filters(client, as_role, stored, nimbus_id):
    admin = as_role("admin")
    response = upload(client, admin, text(), kind="tia", audience="internal")
    assert response.status_code == 201
    scc_copy = stored(subprocessor_id=nimbus_id, country="IN")

    def listed(query: str = "") -> list[str]:
        page = client.get(f"{URL}?{query}", headers=admin)
        assert page.status_code == 200, page.get_data(as_text=True)
        return [d["id"] for d in page.get_json()["items"]]

    assert listed() == [response.get_json()["id"], scc_copy["id"]]
    assert listed("kind=scc") == [scc_copy["id"]]
    assert listed(f"subprocessor_id={nimbus_id}&country=IN") == [scc_copy["id"]]
    assert listed("audience=internal") == [response.get_json()["id"]]
    page = client.get(f"{URL}?limit=1", headers=admin).get_json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    assert pointers(client.get(f"{URL}?kind=contract", headers=admin)) == {"/kind"}


# Serving


def test_metadata_of_a_document(client, staff, stored, nimbus_id):
    document = stored(subprocessor_id=nimbus_id, country="IN", summary="Annex II redacted")
    response = client.get(f"{URL}/{document['id']}", headers=staff)
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == document["id"]
    assert body["sha256"] == hashlib.sha256(pdf()).hexdigest()
    assert (body["size"], body["media_type"]) == (len(pdf()), PDF_TYPE)
    assert body["summary"] == "Annex II redacted"
    assert body["content_url"] == f"{URL}/{document['id']}/content"
    assert pointers(client.get(f"{URL}/{document['id']}?x=1", headers=staff)) == {"/x"}


@pytest.mark.parametrize(
    "title",
    [
        "../../etc/passwd",
        '..\\..\\boot.ini"; filename="evil.exe',
        "Übermittlungsvertrag \u2013 Anhang \u2161",
        "report\u2215pdf.exe",
        ".hidden",
        "SCCs 2021/914: module 3 (Nimbus)",
    ],
)
def test_content_is_an_attachment_with_a_safe_name_and_the_sha256_etag(
    client, staff, stored, title
):
    document = stored(title=title)
    response, body = download(client, document["content_url"], staff)

    assert response.status_code == 200
    assert body == pdf()
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert disposition == "attachment"
    assert set(options) == {"filename"}
    name = options["filename"]
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.pdf", name), name
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert response.headers["Content-Disposition"].isascii()
    assert response.headers["Content-Type"] == PDF_TYPE
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"] == f'"{document["sha256"]}"'
    assert response.headers["Content-Length"] == str(len(pdf()))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Cache-Control"] == "no-store"


def test_text_is_served_as_utf8_text(client, staff, stored):
    document = stored(text(), title="Clause 8.3")
    response, body = download(client, document["content_url"], staff)
    assert response.headers["Content-Type"] == TEXT_TYPE
    assert body == text()
    assert parse_options_header(response.headers["Content-Disposition"])[1] == {
        "filename": "Clause-8.3.txt"
    }


def test_if_none_match_is_304(client, staff, stored):
    document = stored()
    etag = f'"{document["sha256"]}"'
    response, body = download(client, document["content_url"], staff, **{"If-None-Match": etag})
    assert response.status_code == 304 and body == b""
    assert response.headers["ETag"] == etag
    response, body = download(client, document["content_url"], staff, **{"If-None-Match": '"x"'})
    assert response.status_code == 200 and body == pdf()


@pytest.mark.parametrize(
    ("header", "expected_range", "part"),
    [
        ("bytes=0-3", "0-3", slice(0, 4)),
        ("bytes=-6", None, slice(-6, None)),
        ("bytes=9-", None, slice(9, None)),
    ],
)
def test_a_range_is_206(client, staff, stored, header, expected_range, part):
    document = stored()
    size = len(pdf())
    response, body = download(client, document["content_url"], staff, Range=header)
    assert response.status_code == 206
    assert body == pdf()[part]
    start = part.start % size if part.start is not None else 0
    assert response.headers["Content-Range"] == f"bytes {start}-{start + len(body) - 1}/{size}"
    if expected_range:
        assert response.headers["Content-Range"].startswith(f"bytes {expected_range}/")
    assert response.headers["ETag"] == f'"{document["sha256"]}"'


def test_an_if_range_with_another_etag_gets_the_whole_file(client, staff, stored):
    document = stored()
    response, body = download(
        client, document["content_url"], staff, Range="bytes=0-3", **{"If-Range": '"other"'}
    )
    assert response.status_code == 200 and body == pdf()


def test_an_unsatisfiable_range_is_416_problem(client, staff, stored):
    document = stored()
    response, _ = download(client, document["content_url"], staff, Range="bytes=5000-6000")
    assert response.status_code == 416
    assert response.mimetype == PROBLEM
    assert response.headers["Content-Range"] == f"bytes */{len(pdf())}"


def test_content_is_streamed_in_constant_memory(client, staff, stored):
    size = 8 * 1024 * 1024
    content = (b"0123456789abcdef" * 4 + b"\n") * (size // 65)
    document = stored(content, kind="other", title="large")

    tracemalloc.start()
    try:
        with client.get(document["content_url"], headers=staff) as response:
            assert response.status_code == 200
            assert response.is_streamed
            digest, received = hashlib.sha256(), 0
            for chunk in response.response:
                digest.update(chunk)
                received += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert received == len(content)
    assert digest.hexdigest() == document["sha256"]
    # The whole file would be 8 MiB; a streamed copy holds a block at a time.
    assert peak < 1024 * 1024, peak


# Documentation requests


def test_a_default_request_covers_the_non_eea_transfers_of_active_subprocessors(
    client, cust_a, catalogue, ask
):
    request = ask(cust_a)
    ids = catalogue

    assert request["customer_id"] == "cust-a"
    assert request["scope"] == "all_active"
    assert request["status"] == "pending"
    found = {
        (i["subprocessor_id"], i["country"], i["mechanism"], i["status"]) for i in request["items"]
    }
    assert found == {
        (ids["nimbus"], "US", "adequacy", "fulfilled"),
        (ids["nimbus"], "IN", "scc", "pending"),
        (ids["bcrcorp"], "BR", "bcr", "pending"),
        (ids["bcrcorp"], "CA", "adequacy", "fulfilled"),
        (ids["derogate"], "SG", "derogation", "not_applicable"),
        (ids["derogate"], "IN", None, "not_applicable"),
    }
    assert len(request["items"]) == len(found)
    assert read_request(client, cust_a, request["id"]) == request


def test_adequacy_items_carry_the_decision_and_its_source(cust_a, catalogue, ask):
    request = ask(cust_a)
    us = item_for(request, catalogue["nimbus"], "US")
    assert us["document"] is None
    assert us["fulfilled_at"]
    decision = us["adequacy_decision"]
    assert decision["id"] == "us-dpf-2023"
    assert "2023/1795" in decision["instrument"]
    assert decision["source_url"].startswith("https://eur-lex.europa.eu/")
    ca = item_for(request, catalogue["bcrcorp"], "CA")
    assert ca["adequacy_decision"]["instrument"] and ca["adequacy_decision"]["source_url"]
    assert ca["adequacy_decision"]["id"] != decision["id"]


def test_derogation_and_unprotected_transfers_are_not_applicable_with_a_note(
    cust_a, catalogue, ask
):
    request = ask(cust_a, {"subprocessor_ids": [catalogue["derogate"]]})
    assert request["status"] == "fulfilled"
    sg = item_for(request, catalogue["derogate"], "SG")
    assert "Art. 49" in sg["note"]
    unprotected = item_for(request, catalogue["derogate"], "IN")
    assert "No transfer safeguard" in unprotected["note"]
    for item in (sg, unprotected):
        assert item["document"] is None and item["adequacy_decision"] is None


def test_scc_items_are_pending_without_a_copy_and_an_internal_copy_does_not_fulfil(
    client, staff, cust_a, catalogue, ask, stored
):
    request = ask(cust_a, {"subprocessor_ids": [catalogue["nimbus"]]})
    item = item_for(request, catalogue["nimbus"], "IN")
    assert (item["status"], item["document"], item["fulfilled_at"]) == ("pending", None, None)
    assert request["status"] == "pending"

    internal = stored(subprocessor_id=catalogue["nimbus"], country="IN", audience="internal")
    assert internal["fulfilled_requests"] == []
    again = read_request(client, cust_a, request["id"])
    assert item_for(again, catalogue["nimbus"], "IN")["status"] == "pending"
    assert again["status"] == "pending"


@pytest.mark.parametrize("country", ["IN", None], ids=["for-its-country", "for-all-countries"])
def test_a_disclosable_copy_fulfils_the_pending_items_of_every_customer(
    client, staff, cust_a, cust_b, catalogue, ask, stored, country
):
    nimbus_id = catalogue["nimbus"]
    a = ask(cust_a, {"subprocessor_ids": [nimbus_id]})
    b = ask(cust_b, {"subprocessor_ids": [nimbus_id, catalogue["bcrcorp"]]})
    other = ask(cust_b, {"subprocessor_ids": [catalogue["bcrcorp"]]})

    document = stored(subprocessor_id=nimbus_id, country=country, title="Nimbus SCCs")
    assert sorted(document["fulfilled_requests"]) == sorted([a["id"], b["id"]])

    a_now = read_request(client, cust_a, a["id"])
    assert a_now["status"] == "fulfilled"
    item = item_for(a_now, nimbus_id, "IN")
    assert item["status"] == "fulfilled" and item["fulfilled_at"]
    assert item["document"] == {
        "id": document["id"],
        "title": "Nimbus SCCs",
        "media_type": PDF_TYPE,
        "size": document["size"],
        "sha256": document["sha256"],
        "summary": None,
        "withdrawn_at": None,
        "download_url": f"{URL}/{document['id']}/content",
    }
    b_now = read_request(client, cust_b, b["id"])
    assert item_for(b_now, nimbus_id, "IN")["document"]["id"] == document["id"]
    # The BCR transfer still waits for its own copy.
    assert b_now["status"] == "pending"
    assert read_request(client, cust_b, other["id"]) == other


def test_a_copy_of_another_kind_or_country_does_not_fulfil(client, cust_a, catalogue, ask, stored):
    request = ask(cust_a, {"subprocessor_ids": [catalogue["nimbus"], catalogue["bcrcorp"]]})
    assert stored(subprocessor_id=catalogue["nimbus"], country="US")["fulfilled_requests"] == []
    assert stored(subprocessor_id=catalogue["nimbus"], kind="dpa")["fulfilled_requests"] == []
    assert stored(subprocessor_id=catalogue["bcrcorp"], kind="scc")["fulfilled_requests"] == []
    assert stored(kind="scc")["fulfilled_requests"] == []
    now = read_request(client, cust_a, request["id"])
    assert item_for(now, catalogue["nimbus"], "IN")["status"] == "pending"
    assert item_for(now, catalogue["bcrcorp"], "BR")["status"] == "pending"

    bcr_copy = stored(text(), subprocessor_id=catalogue["bcrcorp"], kind="bcr", country="BR")
    assert bcr_copy["fulfilled_requests"] == [request["id"]]
    now = read_request(client, cust_a, request["id"])
    assert item_for(now, catalogue["bcrcorp"], "BR")["document"]["id"] == bcr_copy["id"]
    assert item_for(now, catalogue["nimbus"], "IN")["status"] == "pending"


def test_a_copy_on_file_fulfils_the_item_when_the_request_is_made(cust_a, catalogue, ask, stored):
    stored(pdf("first"), subprocessor_id=catalogue["nimbus"], country="IN")
    newest = stored(pdf("second"), subprocessor_id=catalogue["nimbus"])
    request = ask(cust_a, {"subprocessor_ids": [catalogue["nimbus"]]})
    assert request["status"] == "fulfilled"
    item = item_for(request, catalogue["nimbus"], "IN")
    assert item["status"] == "fulfilled" and item["fulfilled_at"]
    assert item["document"]["id"] == newest["id"]


def test_selected_subprocessors_only(client, cust_a, catalogue, ask):
    request = ask(cust_a, {"subprocessor_ids": [catalogue["bcrcorp"]]})
    assert request["scope"] == "selected"
    assert {(i["subprocessor_id"], i["country"]) for i in request["items"]} == {
        (catalogue["bcrcorp"], "BR"),
        (catalogue["bcrcorp"], "CA"),
    }
    # An EEA-only sub-processor has nothing to document; a proposed one may be asked about.
    assert ask(cust_a, {"subprocessor_ids": [catalogue["eea"]]})["items"] == []
    proposed = ask(cust_a, {"subprocessor_ids": [catalogue["proposed"]]})
    assert [(i["country"], i["status"]) for i in proposed["items"]] == [("IN", "pending")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"subprocessor_ids": ["NIMBUS", "sp_0000000000000000"]}, {"/subprocessor_ids/1"}),
        ({"subprocessor_ids": ["NIMBUS", "NIMBUS"]}, {"/subprocessor_ids"}),
        ({"subprocessor_ids": ["RETIRED"]}, {"/subprocessor_ids/0"}),
        ({"subprocessor_ids": []}, {"/subprocessor_ids"}),
        ({"subprocessor_ids": "NIMBUS"}, {"/subprocessor_ids"}),
        ({"subprocessor_ids": [""]}, {"/subprocessor_ids/0"}),
        ({"customer_id": "cust-b"}, {"/customer_id"}),
    ],
    ids=["unknown", "duplicate", "retired", "empty", "not-a-list", "empty-id", "unknown-field"],
)
def test_invalid_requests_are_422(client, cust_a, registry, catalogue, body, expected):
    names = {"NIMBUS": catalogue["nimbus"], "RETIRED": catalogue["retired"]}
    ids = body.get("subprocessor_ids")
    if isinstance(ids, list):
        body = {"subprocessor_ids": [names.get(i, i) for i in ids]}
    elif isinstance(ids, str):
        body = {"subprocessor_ids": names[ids]}
    assert pointers(client.post(REQUESTS, json=body, headers=cust_a)) == expected
    assert rows(registry, "documentation_requests") == 0


def test_the_request_is_audited(cust_a, registry, catalogue, ask):
    request = ask(cust_a, {"subprocessor_ids": [catalogue["nimbus"]]})
    (entry,) = audit_entries(registry, "documentation_request.create")
    assert entry["object_id"] == request["id"]
    assert entry["actor"]["customer_id"] == "cust-a"
    assert entry["change"]["subprocessor_ids"] == [catalogue["nimbus"]]


def test_staff_list_requests_by_status(client, as_role, cust_a, cust_b, catalogue, ask, stored):
    nimbus_id = catalogue["nimbus"]
    a_pending = ask(cust_a, {"subprocessor_ids": [nimbus_id]})
    b_done = ask(cust_b, {"subprocessor_ids": [catalogue["derogate"]]})
    b_pending = ask(cust_b, {"subprocessor_ids": [catalogue["bcrcorp"]]})
    staff = as_role("procurement")

    def listed(query: str, headers=staff) -> list[str]:
        response = client.get(f"{REQUESTS}?{query}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [r["id"] for r in response.get_json()["items"]]

    assert listed("status=pending") == [a_pending["id"], b_pending["id"]]
    assert listed("status=fulfilled") == [b_done["id"]]
    assert listed("status=pending&customer_id=cust-b") == [b_pending["id"]]
    assert listed("", as_role("admin")) == [a_pending["id"], b_done["id"], b_pending["id"]]

    stored(subprocessor_id=nimbus_id, country="IN")
    assert listed("status=pending") == [b_pending["id"]]
    assert listed("status=fulfilled") == [a_pending["id"], b_done["id"]]
    assert pointers(client.get(f"{REQUESTS}?status=open", headers=staff)) == {"/status"}


@pytest.mark.parametrize("role", ["admin", "procurement", "service"])
def test_only_customers_make_requests(client, as_role, registry, nimbus_id, role):
    problem(client.post(REQUESTS, json={}, headers=as_role(role)), 403)
    problem(client.post(REQUESTS, json={}), 401)
    assert rows(registry, "documentation_requests") == 0


# Isolation


def test_a_customer_sees_only_its_own_requests(client, cust_a, cust_b, as_role, catalogue, ask):
    a = ask(cust_a, {"subprocessor_ids": [catalogue["nimbus"]]})
    b = ask(cust_b, {"subprocessor_ids": [catalogue["bcrcorp"]]})

    problem(client.get(f"{REQUESTS}/{a['id']}", headers=cust_b), 404)
    assert read_request(client, cust_b, b["id"])["id"] == b["id"]
    for query in ("", "?customer_id=cust-a", "?status=pending&customer_id=cust-a"):
        response = client.get(REQUESTS + query, headers=cust_b)
        assert response.status_code == 200
        assert [r["id"] for r in response.get_json()["items"]] == [b["id"]]
    problem(client.get(f"{REQUESTS}/dr_0000000000000000", headers=cust_b), 404)
    # Staff read any.
    assert read_request(client, as_role("procurement"), a["id"])["customer_id"] == "cust-a"


def test_a_copy_delivered_only_to_a_is_404_for_b(
    client, cust_a, cust_b, registry, catalogue, ask, stored
):
    b_request = ask(cust_b, {"subprocessor_ids": [catalogue["bcrcorp"]]})
    a_request = ask(cust_a, {"subprocessor_ids": [catalogue["nimbus"]]})
    document = stored(subprocessor_id=catalogue["nimbus"], country="IN")

    assert client.get(f"{URL}/{document['id']}", headers=cust_a).status_code == 200
    response, body = download(client, document["content_url"], cust_a)
    assert response.status_code == 200 and body == pdf()

    not_found = problem(client.get(f"{URL}/{document['id']}", headers=cust_b), 404)
    response, body = download(client, document["content_url"], cust_b)
    assert problem(response, 404) == not_found
    response, _ = download(
        client, document["content_url"], cust_b, Range="bytes=0-3", **{"If-None-Match": "*"}
    )
    problem(response, 404)
    # B may not name A's request to get it either; nor A name B's.
    response, _ = download(
        client, f"{document['content_url']}?request_id={a_request['id']}", cust_b
    )
    problem(response, 404)
    response, _ = download(
        client, f"{document['content_url']}?request_id={b_request['id']}", cust_a
    )
    problem(response, 404)
    assert [
        d["customer_id"] for d in client.get(DISCLOSURES, headers=cust_a).get_json()["items"]
    ] == ["cust-a"]
    assert client.get(DISCLOSURES, headers=cust_b).get_json()["items"] == []


def test_internal_copies_are_404_for_customers_even_of_their_subprocessors(
    client, cust_a, registry, catalogue, ask, stored
):
    internal = stored(subprocessor_id=catalogue["nimbus"], country="IN", audience="internal")
    request = ask(cust_a, {"subprocessor_ids": [catalogue["nimbus"]]})
    assert item_for(request, catalogue["nimbus"], "IN")["status"] == "pending"

    problem(client.get(f"{URL}/{internal['id']}", headers=cust_a), 404)
    response, _ = download(client, internal["content_url"], cust_a)
    problem(response, 404)
    response, _ = download(client, f"{internal['content_url']}?request_id={request['id']}", cust_a)
    problem(response, 404)
    assert rows(registry, "disclosures") == 0


def test_a_disclosable_copy_not_yet_requested_is_404(client, cust_a, catalogue, stored):
    document = stored(subprocessor_id=catalogue["nimbus"], country="IN")
    problem(client.get(f"{URL}/{document['id']}", headers=cust_a), 404)
    response, _ = download(client, document["content_url"], cust_a)
    problem(response, 404)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/documents/..%2F..%2Fetc%2Fpasswd",
        "/v1/documents/..%2F..%2Fetc%2Fpasswd/content",
        "/v1/documents/doc_../../",
        "/v1/documents/doc_..%2F..%2F/content",
        "/v1/documents/%2e%2e%2f%2e%2e%2fregistry.db/content",
        "/v1/documents/doc_0000000000000000",
        "/v1/documents/doc_0000000000000000/content",
        "/v1/documents/SHA/content",
        "/v1/documents/SHA_PREFIX/content",
        "/v1/documents/.upload-abc/content",
        "/v1/documentation-requests/..%2F..%2Fetc%2Fpasswd",
        "/v1/documentation-requests/dr_0000000000000000",
    ],
)
@pytest.mark.parametrize("role", ["procurement", "customer_a"])
def test_traversal_and_guessed_ids_get_nowhere(client, as_role, stored, path, role):
    document = stored()
    path = path.replace("SHA_PREFIX", document["sha256"][:2] + "%2F" + document["sha256"])
    path = path.replace("SHA", document["sha256"])
    response = client.get(path, headers=as_role(role))
    try:
        assert response.status_code == 404, path
        assert response.mimetype == PROBLEM
        assert b"root:" not in response.get_data() and b"SQLite" not in response.get_data()
    finally:
        response.close()


def test_customers_may_not_list_documents(client, cust_a, catalogue, ask, stored):
    stored(subprocessor_id=catalogue["nimbus"])
    ask(cust_a)
    problem(client.get(URL, headers=cust_a), 403)


def test_the_service_role_is_refused_everywhere_here(client, as_role, catalogue, ask, stored):
    document = stored(subprocessor_id=catalogue["nimbus"])
    request = ask(as_role("customer_a"))
    service = as_role("service")
    for method, path in [
        ("GET", URL),
        ("GET", f"{URL}/{document['id']}"),
        ("GET", document["content_url"]),
        ("GET", REQUESTS),
        ("POST", REQUESTS),
        ("GET", f"{REQUESTS}/{request['id']}"),
        ("GET", DISCLOSURES),
    ]:
        response = client.open(
            path, method=method, headers=service, json={} if method == "POST" else None
        )
        try:
            problem(response, 403)
        finally:
            response.close()


# Disclosure log


@pytest.fixture
def delivered(cust_a, catalogue, ask, stored):
    """A's request and the disclosable copy it delivered."""
    request = ask(cust_a, {"subprocessor_ids": [catalogue["nimbus"]]})
    document = stored(subprocessor_id=catalogue["nimbus"], country="IN")
    return request, document


def test_a_download_by_a_customer_is_a_disclosure(client, cust_a, staff, registry, delivered):
    request, document = delivered
    started = registry_clock.timestamp()[:16]

    response, body = download(client, document["content_url"], cust_a, Range="bytes=0-3")
    assert response.status_code == 206 and body == b"%PDF"

    [disclosure] = client.get(DISCLOSURES, headers=cust_a).get_json()["items"]
    assert disclosure["customer_id"] == "cust-a"
    # Staff see which key downloaded it; the customer never reads a key id, its own neither.
    assert "key_id" not in disclosure
    [logged] = client.get(DISCLOSURES, headers=staff).get_json()["items"]
    assert logged["key_id"] == key_id(registry, "customer A")
    assert disclosure["document_id"] == document["id"]
    assert disclosure["request_id"] == request["id"]
    assert disclosure["range"] == "bytes=0-3"
    assert disclosure["downloads"] == 1
    assert disclosure["last_downloaded_at"] == disclosure["disclosed_at"]
    assert disclosure["disclosed_at"][:16] >= started
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", disclosure["disclosed_at"])
    assert re.fullmatch(r"dis_[0-9a-f]{16}", disclosure["id"])

    entries = audit_entries(registry, "document.disclose")
    assert [e["object_id"] for e in entries] == [document["id"]]
    assert [e["change"]["id"] for e in entries] == [disclosure["id"]]
    assert entries[0]["actor"]["customer_id"] == "cust-a"
    assert verify(audit_store.iter_all(registry.db.connection()))[1] is None


def test_repeated_downloads_within_the_window_are_one_disclosure(
    client, clock, cust_a, registry, delivered
):
    _, document = delivered
    clock.stop()
    size = len(pdf())
    # A download manager fetching the copy in ranges, then the whole of it again.
    for start in range(100):
        response, body = download(
            client, document["content_url"], cust_a, Range=f"bytes={start % size}-"
        )
        assert response.status_code == 206 and body == pdf()[start % size :]
    clock.advance(seconds=registry.settings.disclosure_window - 1)
    response, body = download(client, document["content_url"], cust_a)
    assert response.status_code == 200 and body == pdf()

    [disclosure] = client.get(DISCLOSURES, headers=cust_a).get_json()["items"]
    assert disclosure["downloads"] == 101
    assert disclosure["range"] == "bytes=0-"
    assert disclosure["last_downloaded_at"] == registry_clock.timestamp()
    assert len(audit_entries(registry, "document.disclose")) == 1

    # The window runs from the disclosure: a download after it is a new disclosure.
    clock.advance(seconds=1)
    download(client, document["content_url"], cust_a)
    disclosures = client.get(DISCLOSURES, headers=cust_a).get_json()["items"]
    assert [d["downloads"] for d in disclosures] == [101, 1]
    entries = audit_entries(registry, "document.disclose")
    assert [e["change"]["id"] for e in entries] == [d["id"] for d in disclosures]
    assert verify(audit_store.iter_all(registry.db.connection()))[1] is None


def test_concurrent_downloads_are_one_disclosure(registry, cust_a, delivered):
    """Workers recording the same download at once (each its own connections) make one row."""
    _, document = delivered
    token = cust_a["Authorization"].removeprefix("Bearer ")
    threads, rounds = 6, 5
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker() -> None:
        own = Registry(registry.settings)
        try:
            principal = verify_token(own.db.connection(), token, own.today())
            start.wait()
            for _ in range(rounds):
                documents_service.record_disclosure(
                    own, principal, document, audit_service.actor(principal), "bytes=0-3"
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.db.close()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert errors == []
    assert rows(registry, "disclosures") == 1
    (downloads,) = registry.db.connection().execute("SELECT downloads FROM disclosures").fetchone()
    assert downloads == threads * rounds
    assert len(audit_entries(registry, "document.disclose")) == 1


def test_another_key_or_another_copy_is_another_disclosure(
    client, registry, cust_a, staff, catalogue, ask, stored, delivered
):
    _, document = delivered
    other_copy = stored(text(), subprocessor_id=catalogue["bcrcorp"], kind="bcr")
    ask(cust_a, {"subprocessor_ids": [catalogue["bcrcorp"]]})
    second_key = bearer(make_token(registry, "customer", "cust-a", name="customer A, laptop"))
    for headers in (cust_a, cust_a, second_key, second_key):
        download(client, document["content_url"], headers)
    download(client, other_copy["content_url"], cust_a)
    download(client, other_copy["content_url"], cust_a)

    disclosures = client.get(f"{DISCLOSURES}?customer_id=cust-a", headers=staff).get_json()["items"]
    assert [(d["key_id"], d["document_id"], d["downloads"]) for d in disclosures] == [
        (key_id(registry, "customer A"), document["id"], 2),
        (key_id(registry, "customer A, laptop"), document["id"], 2),
        (key_id(registry, "customer A"), other_copy["id"], 2),
    ]
    assert len(audit_entries(registry, "document.disclose")) == 3


def test_metadata_a_304_a_head_and_a_416_are_no_disclosures(client, cust_a, registry, delivered):
    _, document = delivered
    assert client.get(f"{URL}/{document['id']}", headers=cust_a).status_code == 200
    etag = f'"{document["sha256"]}"'
    response, _ = download(client, document["content_url"], cust_a, **{"If-None-Match": etag})
    assert response.status_code == 304
    response, _ = download(client, document["content_url"], cust_a, Range="bytes=900-999")
    assert response.status_code == 416
    with client.head(document["content_url"], headers=cust_a) as response:
        assert response.status_code == 200
    assert rows(registry, "disclosures") == 0
    assert audit_entries(registry, "document.disclose") == []


def test_a_download_naming_its_request_records_that_request(
    client, clock, registry, cust_a, catalogue, ask, delivered
):
    first, document = delivered
    second = ask(cust_a, {"subprocessor_ids": [catalogue["nimbus"]]})
    assert item_for(second, catalogue["nimbus"], "IN")["document"]["id"] == document["id"]

    download(client, f"{document['content_url']}?request_id={first['id']}", cust_a)
    clock.advance(seconds=registry.settings.disclosure_window)  # else the same disclosure
    download(client, document["content_url"], cust_a)
    disclosures = client.get(DISCLOSURES, headers=cust_a).get_json()["items"]
    # Unnamed, the newest request that delivered it.
    assert [d["request_id"] for d in disclosures] == [first["id"], second["id"]]
    response, _ = download(client, f"{document['content_url']}?request_id=dr_0000", cust_a)
    problem(response, 404)
    assert len(client.get(DISCLOSURES, headers=cust_a).get_json()["items"]) == 2


def test_a_disclosure_that_cannot_be_recorded_is_not_served(client, cust_a, registry, delivered):
    _, document = delivered
    registry.db.connection().execute(
        "CREATE TRIGGER refuse_disclosure_audit BEFORE INSERT ON audit"
        " WHEN NEW.action = 'document.disclose'"
        " BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
    )
    response, body = download(client, document["content_url"], cust_a)
    problem(response, 500)
    assert pdf() not in body
    assert rows(registry, "disclosures") == 0


def test_staff_downloads_are_no_disclosures(client, as_role, registry, delivered):
    _, document = delivered
    for role in ("procurement", "admin"):
        response, body = download(client, document["content_url"], as_role(role))
        assert response.status_code == 200 and body == pdf()
    assert rows(registry, "disclosures") == 0


def test_customers_list_their_own_disclosures_and_staff_filter_all(
    client, as_role, cust_a, cust_b, catalogue, ask, stored
):
    nimbus_copy = stored(subprocessor_id=catalogue["nimbus"], country="IN")
    bcr_copy = stored(text(), subprocessor_id=catalogue["bcrcorp"], kind="bcr")
    ask(cust_a, {"subprocessor_ids": [catalogue["nimbus"], catalogue["bcrcorp"]]})
    ask(cust_b, {"subprocessor_ids": [catalogue["nimbus"]]})
    download(client, nimbus_copy["content_url"], cust_a)
    download(client, bcr_copy["content_url"], cust_a)
    download(client, nimbus_copy["content_url"], cust_b)
    response, _ = download(client, bcr_copy["content_url"], cust_b)
    problem(response, 404)

    def listed(headers, query: str = "") -> list[tuple[str, str]]:
        response = client.get(f"{DISCLOSURES}?{query}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [(d["customer_id"], d["document_id"]) for d in response.get_json()["items"]]

    a_own = [("cust-a", nimbus_copy["id"]), ("cust-a", bcr_copy["id"])]
    assert listed(cust_a) == a_own
    assert listed(cust_a, "customer_id=cust-b") == a_own
    assert listed(cust_b) == [("cust-b", nimbus_copy["id"])]
    assert listed(cust_b, f"document_id={bcr_copy['id']}") == []

    staff = as_role("procurement")
    assert listed(staff) == [*a_own, ("cust-b", nimbus_copy["id"])]
    assert listed(staff, "customer_id=cust-b") == [("cust-b", nimbus_copy["id"])]
    assert listed(staff, f"document_id={nimbus_copy['id']}") == [
        ("cust-a", nimbus_copy["id"]),
        ("cust-b", nimbus_copy["id"]),
    ]
    page = client.get(f"{DISCLOSURES}?limit=2", headers=staff).get_json()
    rest = client.get(f"{DISCLOSURES}?cursor={page['next_cursor']}", headers=staff).get_json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None


# Compliance


def copy_missing(flags: list[dict], code: str = "SCC_COPY_MISSING") -> list[str]:
    return sorted(f["country"] for f in flags if f["code"] == code)


def by_flag(client, headers) -> int:
    response = client.get("/v1/compliance", headers=headers)
    assert response.status_code == 200
    return response.get_json()["summary"]["by_flag"].get("SCC_COPY_MISSING", 0)


def check_json(app) -> dict:
    result = cli_runner(app).invoke(args=["check", "--json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def test_scc_copy_missing_until_a_disclosable_copy_is_on_file(client, app, as_role, stored):
    admin = as_role("admin")
    created = client.post(
        "/v1/subprocessors",
        json=nimbus(locations=[scc("IN"), scc("BR"), NL]),
        headers=admin,
    )
    sid = created.get_json()["id"]
    record_url = f"/v1/subprocessors/{sid}"

    def flags() -> tuple[list[str], list[str], int, int]:
        record = client.get(record_url, headers=admin).get_json()["compliance"]["flags"]
        verdict = client.get(f"{record_url}/compliance", headers=admin).get_json()["flags"]
        report = check_json(app)["summary"]["by_flag"].get("SCC_COPY_MISSING", 0)
        return copy_missing(record), copy_missing(verdict), by_flag(client, admin), report

    assert flags() == (["BR", "IN"], ["BR", "IN"], 1, 1)
    (flag,) = [
        f
        for f in client.get(f"{record_url}/compliance", headers=admin).get_json()["flags"]
        if f["country"] == "IN"
    ]
    assert flag["severity"] == "warning"

    stored(subprocessor_id=sid, country="IN", audience="internal")
    stored(subprocessor_id=sid, country="IN", kind="bcr")
    stored(subprocessor_id=sid, country="IN", kind="dpa")
    assert flags() == (["BR", "IN"], ["BR", "IN"], 1, 1)

    etag = client.get(record_url, headers=admin).headers["ETag"]
    stored(subprocessor_id=sid, country="IN")
    assert flags() == (["BR"], ["BR"], 1, 1)
    # The record's representation changed, so a cached copy of it is no longer current.
    with client.get(record_url, headers={**admin, "If-None-Match": etag}) as response:
        assert response.status_code == 200
        assert copy_missing(response.get_json()["compliance"]["flags"]) == ["BR"]

    stored(subprocessor_id=sid)  # all its countries
    assert flags() == ([], [], 0, 0)


def test_bcr_copy_missing_until_a_bcr_copy(client, as_role, catalogue, stored):
    url = f"/v1/subprocessors/{catalogue['bcrcorp']}/compliance"
    admin = as_role("admin")

    def missing() -> tuple[list[str], list[str]]:
        flags = client.get(url, headers=admin).get_json()["flags"]
        return copy_missing(flags, "BCR_COPY_MISSING"), copy_missing(flags)

    assert missing() == (["BR"], [])  # the rules' own code, never SCC_COPY_MISSING
    stored(subprocessor_id=catalogue["bcrcorp"], country="BR", kind="scc")
    assert missing() == (["BR"], [])
    stored(subprocessor_id=catalogue["bcrcorp"], country="BR", kind="bcr")
    assert missing() == ([], [])


# CLI


def invoke(app, *args: str):
    return cli_runner(app).invoke(args=["documents", "add", *args])


def assert_clean_failure(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.output


def test_cli_documents_add_stores_and_fulfils(app, client, cust_a, registry, root, tmp_path, ask):
    nimbus_id = client.post(
        "/v1/subprocessors", json=nimbus(), headers=bearer(make_token(registry, "admin"))
    ).get_json()["id"]
    request = ask(cust_a, {"subprocessor_ids": [nimbus_id]})
    path = tmp_path / "nimbus-scc.pdf"
    path.write_bytes(pdf("signed"))

    result = invoke(
        app,
        str(path),
        "--subprocessor",
        nimbus_id,
        "--country",
        "IN",
        "--kind",
        "scc",
        "--audience",
        "disclosable",
    )
    assert result.exit_code == 0, result.output
    match = re.search(r"stored (doc_[0-9a-f]{16}) \(application/pdf, (\d+) bytes", result.output)
    assert match and int(match.group(2)) == len(pdf("signed"))
    assert f"fulfilled requests: {request['id']}" in result.output

    document = client.get(f"{URL}/{match.group(1)}", headers=cust_a).get_json()
    assert document["title"] == "nimbus-scc.pdf"
    assert "uploaded_by" not in document  # who uploaded it is for staff
    admin = bearer(make_token(registry, "admin"))
    uploaded = client.get(f"{URL}/{match.group(1)}", headers=admin).get_json()
    assert uploaded["uploaded_by"] == "registry documents add"
    assert read_request(client, cust_a, request["id"])["status"] == "fulfilled"
    sha256 = hashlib.sha256(pdf("signed")).hexdigest()
    assert (root / sha256[:2] / sha256).read_bytes() == pdf("signed")
    (entry,) = audit_entries(registry, "document.upload")
    assert entry["actor"]["role"] == "operator"


def test_cli_errors_are_clean(app, registry, root, tmp_path, nimbus_id):
    good = tmp_path / "scc.pdf"
    good.write_bytes(pdf())
    program = tmp_path / "scan.pdf"
    program.write_bytes(exe())
    base = ["--kind", "scc", "--audience", "disclosable"]

    output = assert_clean_failure(invoke(app, str(good), "--subprocessor", "sp_nope", *base))
    assert "/subprocessor_id" in output and "No sub-processor" in output
    output = assert_clean_failure(
        invoke(app, str(good), "--subprocessor", nimbus_id, "--country", "BR", *base)
    )
    assert "/country" in output
    output = assert_clean_failure(invoke(app, str(program), *base))
    assert "PDF, DOCX, ODT" in output
    output = assert_clean_failure(invoke(app, str(good), "--title", "a\r\nb", *base), code=2)
    assert "title" in output
    assert_clean_failure(invoke(app, str(tmp_path / "missing.pdf"), *base), code=2)
    assert_clean_failure(invoke(app, str(good), "--kind", "contract", "--audience", "internal"), 2)

    assert rows(registry, "documents") == 0
    assert blob_files(root) == [] and temporaries(root) == []


def test_cli_respects_the_upload_limit(app_with, tmp_path):
    app = app_with(max_upload=100)
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 101)
    result = invoke(app, str(big), "--kind", "other", "--audience", "internal")
    assert "larger than the limit of 100 bytes" in assert_clean_failure(result)
    assert temporaries(Path(app.extensions["registry"].documents_dir)) == []


# The file store


def test_the_documents_directory_defaults_beside_the_database_and_is_configurable(tmp_path):
    beside = create_app(Settings(database=str(tmp_path / "var" / "registry.db")))
    assert Path(beside.extensions["registry"].documents_dir) == tmp_path / "var" / "documents"
    elsewhere = create_app(
        Settings(database=str(tmp_path / "registry.db"), documents=str(tmp_path / "copies"))
    )
    assert Path(elsewhere.extensions["registry"].documents_dir) == tmp_path / "copies"


def test_sweep_removes_only_old_temporaries(tmp_path):
    store = BlobStore(tmp_path / "documents")
    assert store.sweep_temporaries() == 0  # no directory yet

    complete = store.put(io.BytesIO(text()), max_size=1024)
    old = store.root / f"{TEMP_PREFIX}crashed"
    fresh = store.root / f"{TEMP_PREFIX}in-progress"
    old.write_bytes(b"%PDF-half")
    fresh.write_bytes(b"%PDF-half")
    two_hours_ago = time.time() - 7200
    for path in (old, complete.path):
        os.utime(path, (two_hours_ago, two_hours_ago))

    assert store.sweep_temporaries() == 1
    assert not old.exists()
    assert fresh.exists() and complete.path.read_bytes() == text()
    assert store.sweep_temporaries(older_than_seconds=0) == 1
    assert not fresh.exists() and complete.path.exists()


def test_initialise_sweeps_what_a_crash_left(app, registry, root):
    root.mkdir(parents=True, exist_ok=True)
    old = root / f"{TEMP_PREFIX}crashed"
    old.write_bytes(b"%PDF-half")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    result = cli_runner(app).invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "removed 1 unfinished upload(s)" in result.output
    assert not old.exists()


def test_a_put_that_fails_leaves_no_temporary(tmp_path):
    store = BlobStore(tmp_path / "documents")

    class Broken(io.RawIOBase):
        def __init__(self):
            self.calls = 0

        def readable(self):
            return True

        def read(self, size=-1):
            self.calls += 1
            if self.calls > 2:
                raise OSError("connection reset")
            return b"%PDF-1.4 " + b"x" * 100

    with pytest.raises(OSError, match="connection reset"):
        store.put(Broken(), max_size=1024 * 1024)
    assert temporaries(store.root) == [] and blob_files(store.root) == []
