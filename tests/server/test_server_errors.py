"""Errors gunicorn finds before the app answer as problem+json, with the usual headers."""

from __future__ import annotations

import json
import socket

import pytest
from helpers import assert_clean_log, call

pytestmark = pytest.mark.server


def raw(server, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /v1/compliance?as_of=" + b"9" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n", 400),
        (
            b"POST /v1/subprocessors HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xyzzy"
            b"\r\nContent-Type: application/json\r\n\r\n0\r\n\r\n",
            501,
        ),
        (b"NOT A REQUEST\r\n\r\n", 400),
        (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", 417),
    ],
    ids=[
        "request-line-too-long",
        "header-too-large",
        "nul-in-header",
        "transfer-coding",
        "junk",
        "expectation",
    ],
)
def test_server_level_errors_are_problem_json(server, request_bytes, status):
    answered, headers, body = raw(server, request_bytes)
    assert answered == status
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    problem = json.loads(body)
    assert problem["status"] == status
    assert problem["type"].startswith("https://registry.invalid/problems/")
    assert problem["title"] and problem["detail"]
    assert b"<html" not in body.lower()
    assert_clean_log(server)


def test_every_operation_documents_the_server_errors():
    """What the HTTP server answers before the app is in the spec for every operation."""
    from helpers import ROOT

    from registry.http.api import SERVER_ERRORS

    spec = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete", "head"):
                continue
            documented = set(operation["responses"])
            expected = {str(status) for status in SERVER_ERRORS}
            if "requestBody" in operation:
                expected.add("408")
            assert expected <= documented, (method, path, expected - documented)


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",
        b"2\r\n{}XX0\r\n\r\n",
        b"-2\r\n{}\r\n0\r\n\r\n",
    ],
    ids=["chunk-size-not-hex", "chunk-without-crlf", "negative-size"],
)
def test_a_malformed_chunked_body_is_400_problem_json(server, body):
    head = (
        "POST /v1/subprocessors HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {server.tokens['procurement']}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    answered, headers, answer = raw(server, head + body)
    assert answered == 400, answer
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(answer)
    assert problem["status"] == 400
    assert "malformed" in problem["detail"]
    assert call(server, "GET", "/v1/health").status == 200
    assert_clean_log(server)


@pytest.mark.parametrize("coding", ["xyzzy", "chunked, xyzzy", "xyzzy, chunked"])
def test_an_unknown_transfer_coding_is_501_problem_json(server, coding):
    request = (
        "POST /v1/subprocessors HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {server.tokens['procurement']}\r\n"
        f"Content-Type: application/json\r\nTransfer-Encoding: {coding}\r\n\r\n"
        "2\r\n{}\r\n0\r\n\r\n"
    ).encode()
    answered, headers, answer = raw(server, request)
    assert answered == 501, answer
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(answer)["status"] == 501
    assert_clean_log(server)
