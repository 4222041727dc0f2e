"""Slow and idle clients never block others, and are cut off after the read deadline."""

from __future__ import annotations

import socket
import time

import pytest
from helpers import ALLOWED, call, server_on_template

pytestmark = pytest.mark.server
HELD = 200
DEADLINE = 2.0


@pytest.fixture
def quick_server(apps, tmp_path):
    server = server_on_template(apps, tmp_path)
    server.env["REGISTRY_READ_TIMEOUT"] = str(DEADLINE)
    server.start()
    yield server
    server.stop()


def _hold(server, count: int, opening: bytes) -> list[socket.socket]:
    held = []
    for number in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(opening + str(number).encode())
        held.append(sock)
    return held


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """True once the server closes the connection (EOF or reset), reading what it sends."""
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_half_sent_requests_block_nobody_and_are_closed(quick_server):
    server = quick_server
    held = _hold(server, HELD, b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    try:
        for path, token in (("/v1/health", None), (ALLOWED, server.tokens["service"])):
            for _ in range(3):
                started = time.monotonic()
                reply = call(server, "GET", path, token)
                took = time.monotonic() - started
                assert reply.status == 200, reply.text
                assert took < 1.0, f"{path} took {took:.2f} s with {HELD} connections held"
        # Each held connection is closed once it has stalled for the deadline (plus the
        # first-bytes wait and a grace for a loaded machine), never left open.
        started = time.monotonic()
        open_after = [s for s in held if not _closed_by_server(s, DEADLINE + 10)]
        assert not open_after, f"{len(open_after)} stalled connections still open"
        assert time.monotonic() - started < DEADLINE + 15
        assert call(server, "GET", "/v1/health").status == 200
    finally:
        for sock in held:
            sock.close()


def test_a_stalled_body_is_cut_after_the_deadline(quick_server):
    server = quick_server
    head = (
        "POST /v1/subprocessors HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {server.tokens['procurement']}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    ).encode()
    held = _hold(server, 20, head)
    try:
        started = time.monotonic()
        assert call(server, "GET", "/v1/health").status == 200
        assert time.monotonic() - started < 1.0
        for sock in held:
            sock.settimeout(DEADLINE + 10)
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
            assert b"application/problem+json" in answer
            assert _closed_by_server(sock, DEADLINE + 10)
    finally:
        for sock in held:
            sock.close()
