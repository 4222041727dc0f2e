"""A real `registry serve` scanning with a real ClamAV daemon (its own test signatures).

EICAR is refused naming its signature; a clean PDF passes and downloads byte for byte; once
the PDF's MD5 is a signature (clamd reloaded), `registry documents rescan` withdraws it and
its customer gets 404; with clamd stopped an upload is 503 and nothing is stored.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from helpers import ROOT, nimbus, server_on_template
from scan_daemon import EICAR, ClamDaemon, command
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from registry.audit import store as audit_store

pytestmark = pytest.mark.server


def call(server, method, path, token, body=None, content_type=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def post_json(server, path, token, body):
    return call(server, "POST", path, token, json.dumps(body).encode(), "application/json")


def upload(server, token, content: bytes, **fields):
    values = {"kind": "scc", "title": "SCCs", "audience": "disclosable", **fields}
    values["file"] = FileStorage(stream=io.BytesIO(content), filename="copy.pdf")
    boundary, body = encode_multipart(values)
    return call(
        server, "POST", "/v1/documents", token, body, f"multipart/form-data; boundary={boundary}"
    )


def pdf_bytes(size: int) -> bytes:
    return b"%PDF-1.4\n% an SCC copy\n" + os.urandom(size)


@pytest.fixture
def clamd(tmp_path):
    daemon = ClamDaemon(tmp_path / "clamav").start()
    yield daemon
    daemon.stop()


@pytest.fixture
def scanning_server(apps, tmp_path, clamd):
    server = server_on_template(apps, tmp_path)
    server.env["REGISTRY_CLAMD"] = clamd.socket
    server.env["REGISTRY_CLAMD_TIMEOUT"] = "30"
    server.start()
    yield server
    server.stop()


def stored_rows(server) -> int:
    conn = sqlite3.connect(server.database)
    try:
        return conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    finally:
        conn.close()


def audit(server, action: str) -> list[dict]:
    conn = sqlite3.connect(server.database)
    try:
        return [e for e in audit_store.iter_all(conn) if e["action"] == action]
    finally:
        conn.close()


def documents_files(server) -> list:
    root = server.database.parent / "documents"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_uploads_are_scanned_by_clamd_end_to_end(scanning_server, clamd):
    server, tokens = scanning_server, scanning_server.tokens
    staff, customer = tokens["procurement"], tokens["customer_a"]

    # EICAR: 422 naming the signature, nothing stored, the refusal audited.
    status, headers, body = upload(server, staff, EICAR)
    assert status == 422, body
    assert headers["Content-Type"] == "application/problem+json"
    (error,) = json.loads(body)["errors"]
    assert error["pointer"] == "/file" and error["signature"] == clamd.eicar
    assert clamd.eicar in error["detail"]
    assert stored_rows(server) == 0 and documents_files(server) == []
    assert [e["change"]["signature"] for e in audit(server, "document.refuse")] == [clamd.eicar]

    # A clean PDF for a transfer to India: stored as clean, downloaded byte for byte.
    status, _, body = post_json(server, "/v1/subprocessors", tokens["admin"], nimbus())
    assert status == 201, body
    sid = json.loads(body)["id"]
    content = pdf_bytes(200_000)
    status, _, body = upload(server, staff, content, subprocessor_id=sid, country="IN")
    assert status == 201, body
    document = json.loads(body)
    assert document["scan"] == "clean" and document["scan_engine"] == clamd_version()
    status, _, body = call(server, "GET", document["content_url"], staff)
    assert status == 200 and body == content

    # A customer asks and downloads it.
    status, _, body = post_json(server, "/v1/documentation-requests", customer, {})
    assert status == 201, body
    status, _, body = call(server, "GET", document["content_url"], customer)
    assert status == 200 and body == content
    status, _, body = call(server, "GET", f"/v1/documents/{document['id']}", customer)
    assert status == 200 and "scan" not in json.loads(body)

    # Its MD5 becomes a signature: the rescan withdraws it, the customer gets 404 at once.
    signature = clamd.add(content, "scc-copy.pdf")
    rescan = subprocess.run(
        [sys.executable, "-m", "registry.cli", "documents", "rescan"],
        env=server.process_env(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert rescan.returncode == 1, rescan.stdout + rescan.stderr
    assert f"withdrawn {document['id']}" in rescan.stdout and signature in rescan.stdout
    assert "1 infected (1 copies withdrawn)" in rescan.stdout
    status, _, _ = call(server, "GET", document["content_url"], customer)
    assert status == 404
    status, _, body = call(server, "GET", f"/v1/documents/{document['id']}", staff)
    seen = json.loads(body)
    assert seen["scan"] == "infected" and signature in seen["withdrawn_reason"]
    assert seen["sha256"] == document["sha256"]

    # The scanner stopped: 503, nothing stored.
    clamd.stop()
    before = stored_rows(server), documents_files(server)
    status, headers, body = upload(server, staff, pdf_bytes(1000))
    assert status == 503, body
    assert headers["Content-Type"] == "application/problem+json"
    assert "Nothing was stored" in json.loads(body)["detail"]
    assert (stored_rows(server), documents_files(server)) == before


def clamd_version() -> str:
    """ "ClamAV 1.4.6", as `clamd --version` says it."""
    out = subprocess.run(
        [command("clamd"), "--version"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip().split("/")[0]
