"""Uploads to a real gunicorn killed mid-upload: no half document is ever stored or visible."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from helpers import wait_dead, workers

from registry.audit import store as audit_store
from registry.audit.chain import verify
from registry.documents.blobs import TEMP_PREFIX

pytestmark = pytest.mark.server

MIB = 1024 * 1024
BOUNDARY = "registry-test-boundary-7d3f"
TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


def form_head(title: str) -> bytes:
    """The multipart form up to the file's bytes."""
    fields = {"kind": "scc", "title": title, "audience": "disclosable"}
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="copy.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )
    return "".join(parts).encode()


def request_head(server, token: str, length: int) -> bytes:
    return (
        f"POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


def raw_upload(server, token: str, content: bytes, title: str) -> bytes:
    """The whole request, headers included, as sent on a socket."""
    head = form_head(title)
    return request_head(server, token, len(head) + len(content) + len(TAIL)) + head + content + TAIL


def pdf(size: int) -> bytes:
    # Random bytes: every attempt is a new file with its own name in the store.
    return b"%PDF-1.4\n" + os.urandom(size - 9)


def api(server, method: str, path: str, token: str, body: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(
            method, path, body=body, headers={"Authorization": f"Bearer {token}", **(headers or {})}
        )
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def upload(server, token: str, content: bytes, title: str) -> dict:
    head = form_head(title)
    status, headers, body = api(
        server,
        "POST",
        "/v1/documents",
        token,
        head + content + TAIL,
        {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert status == 201, body[:2000]
    document = json.loads(body)
    assert headers["Location"] == f"/v1/documents/{document['id']}"
    return document


def documents_dir(server) -> Path:
    return server.database.parent / "documents"


def kill(server) -> None:
    pids = workers(server)
    server.stop(signal.SIGKILL)
    wait_dead(pids)


def assert_consistent(server, expected_ids: set[str]) -> list[Path]:
    """After a crash: only complete files, only committed rows; returns the temporaries."""
    root = documents_dir(server)
    temporaries = []
    for entry in root.iterdir() if root.exists() else ():
        if entry.name.startswith(TEMP_PREFIX):
            temporaries.append(entry)
            continue
        assert entry.is_dir() and len(entry.name) == 2, entry
        for blob in entry.iterdir():
            # A stored name is the SHA-256 of the complete content, never of a prefix.
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name, blob
            assert blob.name.startswith(entry.name)
    conn = sqlite3.connect(server.database)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        ids = {row[0] for row in conn.execute("SELECT id FROM documents")}
        assert ids == expected_ids
        for sha256, size in conn.execute("SELECT sha256, size FROM documents"):
            assert (root / sha256[:2] / sha256).stat().st_size == size
        entries = list(audit_store.iter_all(conn))
        assert verify(entries)[1] is None
        uploads = {e["object_id"] for e in entries if e["action"] == "document.upload"}
        assert uploads == expected_ids
    finally:
        conn.close()
    return temporaries


def assert_invisible(server, token: str, temporaries: list[Path], expected_ids: set[str]) -> None:
    status, _, body = api(server, "GET", "/v1/documents?limit=100", token)
    assert status == 200
    assert {d["id"] for d in json.loads(body)["items"]} == expected_ids
    for temp in temporaries:
        for path in (f"/v1/documents/{temp.name}", f"/v1/documents/{temp.name}/content"):
            assert api(server, "GET", path, token)[0] == 404


def assert_uploads_work(server, token: str) -> dict:
    content = pdf(64 * 1024)
    document = upload(server, token, content, "After the restart")
    status, headers, body = api(server, "GET", document["content_url"], token)
    assert status == 200 and body == content
    assert headers["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    return document


def test_a_kill_in_the_middle_of_the_body_leaves_no_document(server):
    token = server.tokens["procurement"]
    before = upload(server, token, pdf(1024), "Before the crash")
    content = pdf(20 * MIB)
    request = raw_upload(server, token, content, "Cut short")
    sent = len(request) - len(content) // 2 - len(TAIL)

    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        # Loopback buffers hold a few MiB at most: once 10 MiB are accepted, a worker is
        # reading the body.
        sock.sendall(request[:sent])
        time.sleep(0.3)
        kill(server)

    temporaries = assert_consistent(server, {before["id"]})
    server.start()
    assert_invisible(server, token, temporaries, {before["id"]})
    after = assert_uploads_work(server, token)
    assert_consistent(server, {before["id"], after["id"]})


def _send(request: bytes, port: int, done: threading.Event) -> None:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        while sock.recv(65536):
            pass
    done.set()


def _wait_for_temporary(root: Path, done: threading.Event, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done.is_set():
        with contextlib.suppress(FileNotFoundError):
            if any(name.startswith(TEMP_PREFIX) for name in os.listdir(root)):
                return True
    return False


def test_a_kill_while_the_file_is_written_leaves_no_document(server):
    token = server.tokens["procurement"]
    root = documents_dir(server)
    committed: set[str] = set()
    caught = False
    # The file is copied in only once the whole body has arrived; the kill has to land
    # while the temporary file exists, so a finished attempt is repeated.
    for attempt in range(5):
        request = raw_upload(server, token, pdf(45 * MIB), f"Attempt {attempt}")
        done = threading.Event()
        sender = threading.Thread(target=_send, args=(request, server.port, done), daemon=True)
        sender.start()
        caught = _wait_for_temporary(root, done, timeout=60)
        if caught:
            kill(server)
        sender.join(timeout=30)
        assert not sender.is_alive()
        if caught:
            break
        conn = sqlite3.connect(server.database)
        try:
            committed = {row[0] for row in conn.execute("SELECT id FROM documents")}
        finally:
            conn.close()
    assert caught, "the upload never got as far as writing the file"

    temporaries = assert_consistent(server, committed)
    assert len(temporaries) <= 1
    for temp in temporaries:
        assert temp.stat().st_size <= 45 * MIB
        # Old enough for the sweep at start-up: a crash's leftovers do not pile up.
        stale = time.time() - 2 * 3600
        os.utime(temp, (stale, stale))

    server.start()
    assert_invisible(server, token, temporaries, committed)
    assert [p for p in root.iterdir() if p.name.startswith(TEMP_PREFIX)] == []
    after = assert_uploads_work(server, token)
    assert_consistent(server, committed | {after["id"]})
