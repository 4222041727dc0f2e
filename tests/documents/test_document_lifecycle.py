"""A copy's lifecycle: withdrawn, superseded, and scans (PNG, JPEG, TIFF) accepted as copies."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import re

import pytest
from helpers import call, nimbus, problem
from werkzeug.datastructures import FileStorage
from werkzeug.http import parse_options_header
from werkzeug.test import encode_multipart

from registry import clock as registry_clock
from registry.audit import store as audit_store
from registry.audit.chain import verify
from registry.documents import service as documents_service
from registry.errors import NotFound
from registry.keys.store import list_keys

URL = "/v1/documents"
REQUESTS = "/v1/documentation-requests"
REASON = "Uploaded as disclosable by mistake: the unredacted copy."


def pdf(note: str = "SCCs 2021/914") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"% " + note.encode() + b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def png() -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
        b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def jpeg() -> bytes:
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        b"\xff\xfe\x00\x0fSigned SCCs\x00\x00\xff\xd9"
    )


def tiff() -> bytes:
    return b"MM\x00*\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"


def multipart(content: bytes, filename: str, content_type: str | None, **fields) -> tuple:
    data = {"kind": "scc", "title": "SCCs 2021/914", "audience": "disclosable", **fields}
    values = {k: v for k, v in data.items() if v is not None}
    values["file"] = FileStorage(io.BytesIO(content), filename, content_type=content_type)
    boundary, body = encode_multipart(values)
    return f"multipart/form-data; boundary={boundary}", body


def post_upload(client, headers, content: bytes | None = None, **fields):
    filename = fields.pop("filename", "copy.pdf")
    declared = fields.pop("declared", None)
    content_type, body = multipart(
        pdf() if content is None else content, filename, declared, **fields
    )
    return client.post(URL, data=body, headers=headers, content_type=content_type)


def pointers(response) -> set[str]:
    return {error["pointer"] for error in problem(response, 422)["errors"]}


def download(client, url: str, headers: dict):
    with client.get(url, headers=headers) as response:
        body = response.get_data()
    return response, body


def revision(client) -> int:
    return client.get("/v1/health").get_json()["revision"]


def audit_entries(registry, action: str) -> list[dict]:
    return [e for e in audit_store.iter_all(registry.db.connection()) if e["action"] == action]


def key_id(registry, name: str) -> str:
    (found,) = [k["id"] for k in list_keys(registry.db.connection()) if k["name"] == name]
    return found


def document_rows(registry) -> int:
    return registry.db.connection().execute("SELECT count(*) FROM documents").fetchone()[0]


def copy_missing(client, headers, subprocessor_id: str) -> list[str]:
    verdict = client.get(f"/v1/subprocessors/{subprocessor_id}/compliance", headers=headers)
    assert verdict.status_code == 200, verdict.get_data(as_text=True)
    return sorted(
        f["country"] for f in verdict.get_json()["flags"] if f["code"] == "SCC_COPY_MISSING"
    )


@pytest.fixture
def nimbus_id(client, as_role) -> str:
    """Active: NL (EEA), US (adequacy), IN (SCCs)."""
    created = client.post("/v1/subprocessors", json=nimbus(), headers=as_role("admin"))
    assert created.status_code == 201, created.get_data(as_text=True)
    return created.get_json()["id"]


@pytest.fixture
def stored(client, staff, nimbus_id):
    """Upload a copy (by default Nimbus's disclosable SCCs for India); returns the answer."""

    def store(content: bytes | None = None, **fields) -> dict:
        fields = {"subprocessor_id": nimbus_id, "country": "IN", **fields}
        response = post_upload(client, staff, content, **fields)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return store


@pytest.fixture
def ask(client, nimbus_id):
    """A customer's documentation request for Nimbus's transfers."""

    def post(headers: dict) -> dict:
        response = client.post(REQUESTS, json={"subprocessor_ids": [nimbus_id]}, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return post


@pytest.fixture
def withdraw(client, staff):
    """DELETE a copy with its current ETag and a reason; returns the response."""

    def send(document_id: str, reason: str = REASON, headers: dict | None = None):
        headers = staff if headers is None else headers
        read = client.get(f"{URL}/{document_id}", headers=staff)
        assert read.status_code == 200, read.get_data(as_text=True)
        return client.delete(
            f"{URL}/{document_id}",
            json={"reason": reason},
            headers={**headers, "If-Match": read.headers["ETag"]},
        )

    return send


def india(request: dict) -> dict:
    (item,) = [i for i in request["items"] if i["country"] == "IN"]
    return item


def read_request(client, headers, request_id: str) -> dict:
    response = client.get(f"{REQUESTS}/{request_id}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# Withdrawing


def test_a_withdrawn_copy_is_404_to_customers_at_once_and_the_request_pending_again(
    client, registry, staff, cust_a, ask, stored, withdraw
):
    request = ask(cust_a)
    document = stored()
    assert document["fulfilled_requests"] == [request["id"]]
    assert client.get(f"{URL}/{document['id']}", headers=cust_a).status_code == 200
    before = revision(client)

    response = withdraw(document["id"])

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["id"] == document["id"]
    assert body["sha256"] == document["sha256"] == hashlib.sha256(pdf()).hexdigest()
    assert body["withdrawn_reason"] == REASON
    assert body["withdrawn_by"] == key_id(registry, "procurement")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["withdrawn_at"])
    assert body["withdrawn_at"] >= document["uploaded_at"]
    assert body["superseded_by"] is None
    assert body["reopened_requests"] == [request["id"]]
    assert body["redelivered_requests"] == []
    assert body["disclosed_to"] == []
    assert revision(client) == before + 1

    # Customers: gone, exactly as an id that never existed.
    for path in (f"{URL}/{document['id']}", f"{URL}/{document['id']}/content"):
        gone, _ = download(client, path, cust_a)
        assert problem(gone, 404)["detail"] == f"No document has the id {document['id']!r}."
    now = read_request(client, cust_a, request["id"])
    assert now["status"] == "pending"
    item = india(now)
    assert (item["status"], item["document"], item["fulfilled_at"]) == ("pending", None, None)
    pending = client.get(f"{REQUESTS}?status=pending", headers=staff).get_json()["items"]
    assert [r["id"] for r in pending] == [request["id"]]

    # Staff: the record and its hash stay, and the file can still be checked against it.
    kept = client.get(f"{URL}/{document['id']}", headers=staff).get_json()
    assert kept["sha256"] == document["sha256"]
    assert kept["withdrawn_at"] == body["withdrawn_at"]
    assert kept["withdrawn_reason"] == REASON
    listed = client.get(URL, headers=staff).get_json()["items"]
    assert [(d["id"], d["withdrawn_at"]) for d in listed] == [
        (document["id"], body["withdrawn_at"])
    ]
    served, content = download(client, document["content_url"], staff)
    assert served.status_code == 200 and hashlib.sha256(content).hexdigest() == kept["sha256"]

    (entry,) = audit_entries(registry, "document.withdraw")
    assert entry["object_type"] == "document" and entry["object_id"] == document["id"]
    assert entry["actor"]["role"] == "procurement"
    assert entry["change"]["sha256"] == document["sha256"]
    assert entry["change"]["reason"] == REASON
    assert entry["change"]["withdrawn_at"] == body["withdrawn_at"]
    assert entry["change"]["reopened"] == [request["id"]]
    assert verify(audit_store.iter_all(registry.db.connection()))[1] is None


def test_a_new_request_after_a_withdrawal_stays_pending_until_a_new_copy(
    client, cust_a, ask, stored, withdraw
):
    document = stored()
    assert withdraw(document["id"]).status_code == 200
    request = ask(cust_a)
    assert india(request)["status"] == "pending"
    replacement = stored(pdf("signed again"))
    assert replacement["fulfilled_requests"] == [request["id"]]
    assert (
        india(read_request(client, cust_a, request["id"]))["document"]["id"] == (replacement["id"])
    )


def test_the_verdicts_count_a_withdrawn_copy_no_more(
    client, app, as_role, nimbus_id, stored, withdraw
):
    admin = as_role("admin")
    assert copy_missing(client, admin, nimbus_id) == ["IN"]
    document = stored()
    assert copy_missing(client, admin, nimbus_id) == []
    report = client.get("/v1/compliance", headers=admin).get_json()["summary"]["by_flag"]
    assert "SCC_COPY_MISSING" not in report
    etag = client.get(f"/v1/subprocessors/{nimbus_id}", headers=admin).headers["ETag"]

    assert withdraw(document["id"]).status_code == 200

    assert copy_missing(client, admin, nimbus_id) == ["IN"]
    report = client.get("/v1/compliance", headers=admin).get_json()["summary"]["by_flag"]
    assert report["SCC_COPY_MISSING"] == 1
    record = client.get(f"/v1/subprocessors/{nimbus_id}", headers={**admin, "If-None-Match": etag})
    assert record.status_code == 200
    flags = record.get_json()["compliance"]["flags"]
    assert [f["country"] for f in flags if f["code"] == "SCC_COPY_MISSING"] == ["IN"]


def test_the_register_as_it_stood_counts_the_copy_while_it_was_on_file(
    client, registry, stored, withdraw, clock
):
    document = stored()
    clock.advance(seconds=60)
    between = registry_clock.timestamp()
    clock.advance(seconds=60)
    assert withdraw(document["id"]).status_code == 200
    conn = registry.db.connection()
    on_file = (document["subprocessor_id"], "IN", "scc")
    assert on_file in documents_service.disclosable_copies(conn, between)
    assert on_file not in documents_service.disclosable_copies(conn)
    assert documents_service.copies_of(conn, document["subprocessor_id"]) == []


def test_a_downloaded_copy_stays_delivered_and_its_customers_are_listed(
    client, registry, staff, cust_a, cust_b, ask, stored, withdraw
):
    downloaded = ask(cust_a)
    not_downloaded = ask(cust_b)
    document = stored()
    for _ in range(2):
        response, body = download(client, document["content_url"], cust_a)
        assert response.status_code == 200 and body == pdf()

    response = withdraw(document["id"])

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["reopened_requests"] == [not_downloaded["id"]]
    [recipient] = body["disclosed_to"]
    assert recipient["customer_id"] == "cust-a"
    assert recipient["request_ids"] == [downloaded["id"]]
    assert recipient["downloads"] == 2
    assert recipient["first_disclosed_at"] <= recipient["last_downloaded_at"]
    # The staff view says the same; the customers' never names other customers.
    staff_view = client.get(f"{URL}/{document['id']}", headers=staff).get_json()
    assert staff_view["disclosed_to"] == body["disclosed_to"]
    (entry,) = audit_entries(registry, "document.withdraw")
    assert entry["change"]["disclosed_to"] == ["cust-a"]

    # A already has the copy: its request stays fulfilled, the copy marked withdrawn and no
    # longer downloadable.
    kept = read_request(client, cust_a, downloaded["id"])
    assert kept["status"] == "fulfilled"
    item = india(kept)
    assert item["status"] == "fulfilled"
    assert item["document"]["id"] == document["id"]
    assert item["document"]["sha256"] == document["sha256"]
    assert item["document"]["withdrawn_at"] == body["withdrawn_at"]
    assert item["document"]["download_url"] is None
    response, _ = download(client, document["content_url"], cust_a)
    problem(response, 404)
    # B never downloaded it: pending again.
    assert read_request(client, cust_b, not_downloaded["id"])["status"] == "pending"
    # The disclosure log is kept.
    [disclosure] = client.get("/v1/disclosures", headers=cust_a).get_json()["items"]
    assert disclosure["document_id"] == document["id"]


def test_a_customer_sees_no_other_customers_who_downloaded_a_copy(
    client, cust_a, cust_b, ask, stored
):
    ask(cust_a)
    ask(cust_b)
    document = stored()
    assert download(client, document["content_url"], cust_b)[0].status_code == 200
    view = client.get(f"{URL}/{document['id']}", headers=cust_a).get_json()
    assert "disclosed_to" not in view
    assert "cust-b" not in json.dumps(view)


def test_a_download_racing_a_withdrawal_is_no_disclosure(registry, cust_a, ask, stored, withdraw):
    """A download that read the copy just before the withdrawal committed is not served:
    recording its disclosure checks again, under the write lock."""
    ask(cust_a)
    document = stored()
    assert withdraw(document["id"]).status_code == 200

    class Customer:
        role, customer_id, key_id = "customer", "cust-a", key_id(registry, "customer A")

    with pytest.raises(NotFound):
        documents_service.record_disclosure(registry, Customer(), document, {"name": "test"}, None)
    assert registry.db.connection().execute("SELECT count(*) FROM disclosures").fetchone()[0] == 0


def test_the_document_etag_answers_304_and_changes_with_a_withdrawal(
    client, staff, stored, withdraw
):
    document = stored()
    read = client.get(f"{URL}/{document['id']}", headers=staff)
    etag = read.headers["ETag"]
    again = client.get(f"{URL}/{document['id']}", headers={**staff, "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag
    assert withdraw(document["id"]).status_code == 200
    after = client.get(f"{URL}/{document['id']}", headers={**staff, "If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag


def test_a_withdrawal_needs_if_match_and_a_reason(client, registry, staff, stored):
    document = stored()
    url = f"{URL}/{document['id']}"
    etag = client.get(url, headers=staff).headers["ETag"]

    problem(client.delete(url, json={"reason": REASON}, headers=staff), 428)
    stale = {**staff, "If-Match": '"0000"'}
    problem(client.delete(url, json={"reason": REASON}, headers=stale), 412)
    current = {**staff, "If-Match": etag}
    assert pointers(client.delete(url, headers=current)) == {""}
    assert pointers(client.delete(url, json={}, headers=current)) == {"/reason"}
    assert pointers(client.delete(url, json={"reason": "   "}, headers=current)) == {"/reason"}
    assert pointers(client.delete(url, json={"reason": "x" * 1001}, headers=current)) == {"/reason"}
    assert pointers(client.delete(url, json={"reason": REASON, "x": 1}, headers=current)) == {"/x"}

    assert client.get(url, headers=staff).get_json()["withdrawn_at"] is None
    assert audit_entries(registry, "document.withdraw") == []


def test_withdrawing_twice_is_409_and_changes_nothing(client, registry, staff, stored, withdraw):
    document = stored()
    first = withdraw(document["id"]).get_json()
    before = revision(client)

    body = problem(withdraw(document["id"], reason="Again"), 409)

    assert document["id"] in body["detail"] and first["withdrawn_at"] in body["detail"]
    assert REASON in body["detail"]
    kept = client.get(f"{URL}/{document['id']}", headers=staff).get_json()
    assert (kept["withdrawn_at"], kept["withdrawn_reason"]) == (first["withdrawn_at"], REASON)
    assert len(audit_entries(registry, "document.withdraw")) == 1
    assert revision(client) == before


def test_an_unknown_document_is_404(client, staff):
    response = client.delete(
        f"{URL}/doc_0000000000000000", json={"reason": REASON}, headers={**staff, "If-Match": '"x"'}
    )
    assert problem(response, 404)["detail"] == "No document has the id 'doc_0000000000000000'."


@pytest.mark.parametrize(
    ("role", "status"),
    [("customer_a", 403), ("customer_b", 403), ("service", 403), (None, 401)],
)
def test_only_staff_withdraw(
    client, registry, as_role, cust_a, ask, stored, withdraw, role, status
):
    ask(cust_a)
    document = stored()
    before = revision(client)
    headers = as_role(role) if role else {}
    problem(withdraw(document["id"], headers=headers), status)
    assert revision(client) == before
    assert download(client, document["content_url"], cust_a)[0].status_code == 200


def test_an_admin_may_withdraw(client, as_role, stored, withdraw):
    document = stored()
    assert withdraw(document["id"], headers=as_role("admin")).status_code == 200


# Superseding


def test_a_new_copy_supersedes_the_old_in_one_write(
    client, registry, staff, cust_a, cust_b, ask, stored
):
    waiting = ask(cust_a)
    has_it = ask(cust_b)
    old = stored(title="SCCs (unsigned)")
    assert download(client, old["content_url"], cust_b)[0].status_code == 200
    before = revision(client)

    new = stored(pdf("signed"), title="SCCs (signed)", supersedes=old["id"])

    assert revision(client) == before + 1
    assert new["supersedes"] == old["id"]
    assert new["withdrawn_at"] is None
    # A's request never downloaded the old copy: it is delivered the new one.
    assert new["fulfilled_requests"] == [waiting["id"]]
    assert india(read_request(client, cust_a, waiting["id"]))["document"]["id"] == new["id"]
    response, body = download(client, new["content_url"], cust_a)
    assert response.status_code == 200 and body == pdf("signed")
    # B downloaded the old one: its request keeps it, and B is listed on the old copy.
    assert india(read_request(client, cust_b, has_it["id"]))["document"]["id"] == old["id"]
    replaced = client.get(f"{URL}/{old['id']}", headers=staff).get_json()
    assert replaced["superseded_by"] == new["id"]
    assert replaced["withdrawn_reason"] == f"superseded by {new['id']}"
    assert replaced["withdrawn_at"] == new["uploaded_at"]
    assert replaced["sha256"] == old["sha256"]
    assert [r["customer_id"] for r in replaced["disclosed_to"]] == ["cust-b"]
    for customer in (cust_a, cust_b):
        problem(download(client, old["content_url"], customer)[0], 404)

    (upload,) = [
        e for e in audit_entries(registry, "document.upload") if e["object_id"] == new["id"]
    ]
    assert upload["change"]["supersedes"] == old["id"]
    (withdrawal,) = audit_entries(registry, "document.withdraw")
    assert withdrawal["object_id"] == old["id"]
    assert withdrawal["change"]["superseded_by"] == new["id"]
    assert withdrawal["change"]["redelivered"] == [
        {"request_id": waiting["id"], "document_id": new["id"]}
    ]
    assert verify(audit_store.iter_all(registry.db.connection()))[1] is None


def test_an_internal_copy_superseding_a_disclosable_one_leaves_requests_pending(
    client, cust_a, ask, stored, nimbus_id, as_role
):
    request = ask(cust_a)
    old = stored()
    stored(pdf("internal"), supersedes=old["id"], audience="internal")
    assert india(read_request(client, cust_a, request["id"]))["status"] == "pending"
    assert copy_missing(client, as_role("admin"), nimbus_id) == ["IN"]


def test_a_supersession_is_all_or_nothing(client, registry, staff, cust_a, ask, stored):
    request = ask(cust_a)
    old = stored()
    before = revision(client)
    # The database refuses the withdrawal's audit entry: the new copy must not stay either.
    registry.db.connection().execute(
        "CREATE TRIGGER refuse_withdraw_audit BEFORE INSERT ON audit"
        " WHEN NEW.action = 'document.withdraw'"
        " BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
    )

    problem(
        post_upload(
            client,
            staff,
            pdf("new"),
            subprocessor_id=old["subprocessor_id"],
            country="IN",
            supersedes=old["id"],
        ),
        500,
    )

    assert document_rows(registry) == 1
    kept = client.get(f"{URL}/{old['id']}", headers=staff).get_json()
    assert (kept["withdrawn_at"], kept["superseded_by"]) == (None, None)
    assert india(read_request(client, cust_a, request["id"]))["document"]["id"] == old["id"]
    assert revision(client) == before


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"country": None}, "country IN"),
        ({"kind": "bcr"}, "kind scc"),
        ({"subprocessor_id": None, "country": None}, "subprocessor_id"),
    ],
    ids=["other-country", "other-kind", "other-subprocessor"],
)
def test_a_copy_supersedes_only_one_for_the_same_transfer(
    client, registry, staff, stored, fields, detail
):
    old = stored()
    response = post_upload(
        client,
        staff,
        pdf("new"),
        **{"subprocessor_id": old["subprocessor_id"], "country": "IN", **fields},
        supersedes=old["id"],
    )
    assert pointers(response) == {"/supersedes"}
    assert detail in response.get_json()["errors"][0]["detail"]
    assert document_rows(registry) == 1
    assert client.get(f"{URL}/{old['id']}", headers=staff).get_json()["withdrawn_at"] is None


def test_superseding_an_unknown_or_withdrawn_copy_is_refused(
    client, registry, staff, stored, withdraw, nimbus_id
):
    response = post_upload(
        client, staff, subprocessor_id=nimbus_id, country="IN", supersedes="doc_0000000000000000"
    )
    assert pointers(response) == {"/supersedes"}
    old = stored()
    assert withdraw(old["id"]).status_code == 200
    response = post_upload(
        client, staff, pdf("new"), subprocessor_id=nimbus_id, country="IN", supersedes=old["id"]
    )
    assert "already withdrawn" in problem(response, 409)["detail"]
    assert document_rows(registry) == 1


# Scans


@pytest.mark.parametrize(
    ("make", "media_type", "extension"),
    [(png, "image/png", ".png"), (jpeg, "image/jpeg", ".jpg"), (tiff, "image/tiff", ".tif")],
    ids=["png", "jpeg", "tiff"],
)
def test_a_scan_is_a_copy_served_with_its_type(
    client, cust_a, ask, stored, make, media_type, extension
):
    request = ask(cust_a)
    # The client's name and type are not what counts: the bytes are.
    document = stored(make(), title="Signed SCCs scan", filename="scan.bin", declared="text/html")
    assert document["media_type"] == media_type
    assert document["filename"] == "Signed-SCCs-scan" + extension
    assert document["fulfilled_requests"] == [request["id"]]

    response, body = download(client, document["content_url"], cust_a)
    assert response.status_code == 200 and body == make()
    assert response.headers["Content-Type"] == media_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert (disposition, options) == ("attachment", {"filename": "Signed-SCCs-scan" + extension})


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56,
        b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x00\x00\x00\x00\x01",
        b"\xff\xd8\xff\xff",
        b"\xff\xd8\xff",
        b"II*\x00\x00\x10\x00\x00\x00\x00",
        b"MM\x00*\x00\x00\x00\x04",
    ],
    ids=[
        "exe",
        "png-then-html",
        "png-no-width",
        "jpeg-no-marker",
        "jpeg-cut",
        "tiff-far",
        "tiff-in-header",
    ],
)
def test_a_file_claiming_to_be_an_image_that_is_not_is_415(
    client, registry, staff, nimbus_id, content
):
    response = post_upload(
        client, staff, content, subprocessor_id=nimbus_id, filename="scan.png", declared="image/png"
    )
    assert "PNG, JPEG or TIFF" in problem(response, 415)["detail"]
    assert document_rows(registry) == 0


def test_a_pdf_named_and_declared_a_png_is_stored_and_served_as_a_pdf(
    client, staff, cust_a, ask, stored
):
    ask(cust_a)
    document = stored(filename="scan.png", declared="image/png")
    assert document["media_type"] == "application/pdf"
    assert document["filename"].endswith(".pdf")
    response, _ = download(client, document["content_url"], cust_a)
    assert response.headers["Content-Type"] == "application/pdf"


# Across workers


def _upload_on(server, token: str, **fields) -> dict:
    content_type, body = multipart(pdf(), "scc.pdf", None, **fields)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(
            "POST",
            URL,
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        )
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    assert response.status == 201, answer[:2000]
    return json.loads(answer)


@pytest.mark.server
def test_a_withdrawal_is_seen_by_every_worker_at_once(server):
    tokens = server.tokens
    created = call(server, "POST", "/v1/subprocessors", tokens["admin"], nimbus())
    assert created.status == 201, created.text
    subprocessor_id = created.json()["id"]
    asked = call(
        server, "POST", REQUESTS, tokens["customer_a"], {"subprocessor_ids": [subprocessor_id]}
    )
    assert asked.status == 201, asked.text
    document = _upload_on(
        server,
        tokens["procurement"],
        subprocessor_id=subprocessor_id,
        country="IN",
    )
    metadata = f"{URL}/{document['id']}"

    def flags() -> list[str]:
        """The record's flags: each worker serves them from its snapshot of the revision."""
        record = call(server, "GET", f"/v1/subprocessors/{subprocessor_id}", tokens["admin"])
        assert record.status == 200, record.text
        return [f["code"] for f in record.json()["compliance"]["flags"]]

    # Every worker has the copy on file in its cache (each request a new connection).
    for _ in range(12):
        assert call(server, "GET", metadata, tokens["customer_a"]).status == 200
        assert "SCC_COPY_MISSING" not in flags()

    etag = call(server, "GET", metadata, tokens["procurement"]).headers["ETag"]
    withdrawn = call(
        server,
        "DELETE",
        metadata,
        tokens["procurement"],
        {"reason": REASON},
        {"If-Match": etag},
    )
    assert withdrawn.status == 200, withdrawn.text

    for _ in range(12):
        assert call(server, "GET", metadata, tokens["customer_a"]).status == 404
        assert call(server, "GET", f"{metadata}/content", tokens["customer_a"]).status == 404
        assert "SCC_COPY_MISSING" in flags()
    request = call(server, "GET", f"{REQUESTS}/{asked.json()['id']}", tokens["customer_a"])
    assert request.json()["status"] == "pending"
