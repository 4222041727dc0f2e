"""Slow and idle clients never block others: 200 half-sent requests, and health still answers."""

from __future__ import annotations

import socket
import time

import pytest
from helpers import ALLOWED, call, server_on_template

pytestmark = pytest.mark.server
HELD = 200


@pytest.fixture
def quick_server(apps, tmp_path):
    server = server_on_template(apps, tmp_path)
    server.env["REGISTRY_READ_TIMEOUT"] = "2"
    server.start()
    yield server
    server.stop()


def test_half_sent_requests_block_nobody(quick_server):
    server = quick_server
    held = []
    for number in range(HELD):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + str(number).encode())
        held.append(sock)
    try:
        for path, token in (("/v1/health", None), (ALLOWED, server.tokens["service"])):
            started = time.monotonic()
            reply = call(server, "GET", path, token)
            took = time.monotonic() - started
            assert reply.status == 200, reply.text
            assert took < 1.0, f"{path} took {took:.2f} s with {HELD} connections held"
    finally:
        for sock in held:
            sock.close()
