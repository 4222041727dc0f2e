"""Slow and idle clients never block others, and are cut off after the read deadline."""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import threading
import time

import pytest
from helpers import ALLOWED, assert_clean_log, call, server_on_template

pytestmark = pytest.mark.server
HELD = 200
DEADLINE = 2.0
TRICKLERS = 600
TRICKLE_EVERY = 5.0
TRICKLE_DEADLINE = 8.0


@pytest.fixture
def quick_server(apps, tmp_path):
    server = server_on_template(apps, tmp_path)
    server.env["REGISTRY_READ_TIMEOUT"] = str(DEADLINE)
    server.start()
    yield server
    server.stop()


def _hold(server, count: int, opening: bytes) -> list[socket.socket]:
    """Connections from another client address (127.0.0.2) than the tests' requests, so
    that the limit per address is theirs, sending `opening` and no more."""
    held = []
    for number in range(count):
        sock = _from(server, "127.0.0.2")
        with contextlib.suppress(OSError):  # refused already, with a 429
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


def _enough_descriptors(needed: int) -> None:
    """Raise this process's soft limit on open files if it is below what the test opens."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"the hard limit on open files ({hard}) is below {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.fixture
def trickle_server(apps, tmp_path):
    server = server_on_template(apps, tmp_path)
    server.env["REGISTRY_READ_TIMEOUT"] = str(TRICKLE_DEADLINE)
    # Every trickling connection is let in, and the health checks beside them even when one
    # worker accepted them all (the limit per client address is another test).
    server.env["REGISTRY_CLIENT_CONNECTIONS"] = str(TRICKLERS + 64)
    server.start()
    yield server
    server.stop()


def test_a_head_trickled_byte_by_byte_blocks_nobody_and_is_cut_at_the_deadline(trickle_server):
    """600 connections each send one byte of their head every 5 s: the deadline is for the
    whole head (and body), not for each read, and waiting for a head holds no thread."""
    server = trickle_server
    _enough_descriptors(TRICKLERS * 2 + 256)
    head = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    socks = []
    for _ in range(TRICKLERS):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.setblocking(False)
        socks.append(sock)
    opened = time.monotonic()
    sent = [0] * TRICKLERS
    gone: dict[int, float] = {}
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            for number, sock in enumerate(socks):
                if number in gone:
                    continue
                try:
                    if sock.recv(4096) == b"":
                        gone[number] = time.monotonic() - opened
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    gone[number] = time.monotonic() - opened
                    continue
                try:
                    sock.send(head[sent[number] : sent[number] + 1])
                    sent[number] += 1
                except OSError:
                    gone[number] = time.monotonic() - opened
            stop.wait(TRICKLE_EVERY if sum(sent) >= TRICKLERS else 0.05)

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        latencies = []
        while time.monotonic() - opened < TRICKLE_DEADLINE - 1.5:
            started = time.monotonic()
            reply = call(server, "GET", "/v1/health")
            latencies.append(time.monotonic() - started)
            assert reply.status == 200, reply.text
            time.sleep(0.5)
        assert len(latencies) >= 4
        assert max(latencies) < 1.0, [f"{took:.2f}" for took in latencies]
        # Still trickling: each has sent a second byte, none has been cut yet.
        assert min(sent) >= 2 and not gone, (min(sent), len(gone))
        # Every trickling connection is closed by the server once the deadline passes.
        grace = TRICKLE_DEADLINE + TRICKLE_EVERY + 5
        while len(gone) < TRICKLERS and time.monotonic() - opened < grace:
            time.sleep(0.5)
        assert len(gone) == TRICKLERS, f"{TRICKLERS - len(gone)} trickling connections still open"
        assert min(gone.values()) >= TRICKLE_DEADLINE - 1.5
        assert call(server, "GET", "/v1/health").status == 200
    finally:
        stop.set()
        trickler.join(10)
        for sock in socks:
            sock.close()


def _from(server, address: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), 5, source_address=(address, 0))


def _health_from(server, address: str) -> bytes:
    """The raw answer to GET /v1/health on a new connection from `address`."""
    with _from(server, address) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_one_address_holds_at_most_its_connections_and_others_are_served(apps, tmp_path):
    server = server_on_template(apps, tmp_path, workers=1)
    server.env["REGISTRY_CLIENT_CONNECTIONS"] = "5"
    server.start()
    held = [_from(server, "127.0.0.2") for _ in range(5)]
    try:
        for sock in held:
            sock.sendall(b"GET /v1/health HTTP/1.1\r\n")
        answer = _health_from(server, "127.0.0.2")
        assert answer.startswith(b"HTTP/1.1 429 "), answer[:200]
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"application/problem+json" in head
        assert json.loads(body)["status"] == 429
        # Another address is served meanwhile, as is the same address once one is closed.
        assert _health_from(server, "127.0.0.1").startswith(b"HTTP/1.1 200 ")
        held.pop().close()
        deadline = time.monotonic() + 5
        while not _health_from(server, "127.0.0.2").startswith(b"HTTP/1.1 200 "):
            assert time.monotonic() < deadline, "the closed connection was never counted out"
            time.sleep(0.1)
    finally:
        for sock in held:
            sock.close()
        server.stop()
    assert_clean_log(server)


def test_one_address_stalling_600_bodies_cannot_hold_every_thread(quick_server):
    """With the default limit per address (below the threads per worker), 600 requests from
    one address whose bodies stall leave threads for everyone else."""
    server = quick_server
    _enough_descriptors(TRICKLERS * 2 + 256)
    head = (
        b"POST /v1/subprocessors HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    held = []
    try:
        for _ in range(TRICKLERS):
            sock = _from(server, "127.0.0.2")
            held.append(sock)
            with contextlib.suppress(OSError):  # refused already, with a 429
                sock.sendall(head)
        for _ in range(4):
            started = time.monotonic()
            assert call(server, "GET", "/v1/health").status == 200
            took = time.monotonic() - started
            assert took < 1.0, f"health took {took:.2f} s with {TRICKLERS} stalled bodies"
            time.sleep(0.25)
        open_after = [s for s in held if not _closed_by_server(s, DEADLINE + 10)]
        assert not open_after, f"{len(open_after)} stalled connections still open"
    finally:
        for sock in held:
            sock.close()
    assert_clean_log(server)


@pytest.mark.parametrize("value", ["0", "10001", "many"])
def test_the_client_connection_limit_is_checked(value):
    from registry.settings import Settings, SettingsError

    assert Settings.from_environment({}).client_connections == 128
    assert Settings.from_environment({"REGISTRY_CLIENT_CONNECTIONS": "40"}).client_connections == 40
    with pytest.raises(SettingsError, match="REGISTRY_CLIENT_CONNECTIONS"):
        Settings.from_environment({"REGISTRY_CLIENT_CONNECTIONS": value})
