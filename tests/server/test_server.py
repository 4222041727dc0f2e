"""The real server (gunicorn, 2 workers): concurrent writes, cross-worker freshness, startup."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import (
    ALLOWED,
    LOCATION_SETS,
    Reply,
    Server,
    assert_clean_log,
    call,
    nimbus,
    revision,
    workers,
)

from registry.db.store import SCHEMA_VERSION

pytestmark = pytest.mark.server

THREADS = 6
OPS_PER_THREAD = 25
ROUNDS = 30


class HeldRequest:
    """A GET sent but for its final blank line: the worker that accepted it waits for the rest.

    While it waits, that sync worker can take no other connection, so the next requests
    go to the other worker; finish() then has the first worker answer.
    """

    def __init__(self, server: Server, path: str, token: str, headers: dict | None = None):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{server.port}",
            f"Authorization: Bearer {token}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n").encode())

    def finish(self) -> Reply:
        try:
            self.sock.sendall(b"\r\n")
            response = http.client.HTTPResponse(self.sock)
            response.begin()
            reply = Reply(response.status, dict(response.getheaders()), response.read())
            response.close()
            return reply
        finally:
            self.sock.close()


@pytest.fixture(autouse=True)
def changes_take_effect_at_once(monkeypatch):
    """These servers see writes in bursts, checking each acknowledged write is in force at
    once: with no notice period, a material change is in force the day it is announced."""
    monkeypatch.setenv("REGISTRY_NOTICE_DAYS", "0")


def write_calls(pid: int) -> int | None:
    """Write syscalls of a process (each request served writes an access-log line and more)."""
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("syscw:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def create(server: Server, token: str, **overrides) -> Reply:
    reply = call(server, "POST", "/v1/subprocessors", token, nimbus(**overrides))
    assert reply.status == 201, reply.text
    return reply


def retire(server: Server, token: str, subprocessor_id: str) -> Reply:
    current = call(server, "GET", f"/v1/subprocessors/{subprocessor_id}", token)
    assert current.status == 200, current.text
    reply = call(
        server,
        "DELETE",
        f"/v1/subprocessors/{subprocessor_id}",
        token,
        headers={"If-Match": current.headers["ETag"]},
    )
    assert reply.status == 200, reply.text
    return reply


def test_concurrent_writes_are_all_acknowledged_and_kept(server):
    procurement = server.tokens["procurement"]
    service = server.tokens["service"]
    start_revision = revision(server)
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()
    replies: list[tuple[str, Reply]] = []

    def record(what: str, reply: Reply) -> Reply:
        with lock:
            replies.append((what, reply))
        return reply

    def writer(number: int) -> dict[str, dict]:
        acknowledged: dict[str, dict] = {}
        etags: dict[str, str] = {}
        barrier.wait()
        for op in range(OPS_PER_THREAD):
            locations = LOCATION_SETS[(number + op) % len(LOCATION_SETS)]
            if op % 3 == 0 or not acknowledged:
                name = f"Vendor {number}-{op}"
                reply = record(
                    "create",
                    call(
                        server,
                        "POST",
                        "/v1/subprocessors",
                        procurement,
                        nimbus(name=name, locations=locations),
                    ),
                )
                if reply.status == 201:
                    created = reply.json()
                    acknowledged[created["id"]] = {"name": name, "locations": locations}
                    etags[created["id"]] = reply.headers["ETag"]
            else:
                target = list(acknowledged)[op % len(acknowledged)]
                reply = record(
                    "patch",
                    call(
                        server,
                        "PATCH",
                        f"/v1/subprocessors/{target}",
                        procurement,
                        {"locations": locations, "purpose": f"op {op}"},
                        headers={"If-Match": etags[target]},
                    ),
                )
                if reply.status == 200:
                    acknowledged[target]["locations"] = locations
                    etags[target] = reply.headers["ETag"]
            if op % 5 == 4:
                record("read", call(server, "GET", ALLOWED, service))
        return acknowledged

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(writer, range(THREADS)))

    failures = [(what, r.status, r.text[:300]) for what, r in replies if r.status >= 500]
    assert failures == []
    assert [w for w, r in replies if "database is locked" in r.text.lower()] == []
    expected = {"create": 201, "patch": 200, "read": 200}
    assert [(w, r.status, r.text[:300]) for w, r in replies if r.status != expected[w]] == []
    writes = sum(1 for what, _ in replies if what != "read")
    assert writes == THREADS * OPS_PER_THREAD

    acknowledged = {k: v for result in results for k, v in result.items()}
    assert len(acknowledged) == THREADS * len(range(0, OPS_PER_THREAD, 3))
    for subprocessor_id, expected_state in acknowledged.items():
        reply = call(server, "GET", f"/v1/subprocessors/{subprocessor_id}", procurement)
        assert reply.status == 200, reply.text
        stored = reply.json()
        assert stored["name"] == expected_state["name"]
        assert stored["locations"] == expected_state["locations"]

    listed, cursor = [], None
    while True:
        path = "/v1/subprocessors?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = call(server, "GET", path, procurement).json()
        listed += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(listed) == sorted(acknowledged)

    final = call(server, "GET", ALLOWED, service).json()
    assert final["revision"] == start_revision + writes
    assert {p["id"] for p in final["processors"]} == set(acknowledged)
    assert_clean_log(server)


def test_every_worker_sees_each_write_at_once(server):
    procurement = server.tokens["procurement"]
    service = server.tokens["service"]
    pids = workers(server)
    assert len(pids) == 2
    before = {pid: write_calls(pid) for pid in pids}

    first = call(server, "GET", ALLOWED, service)
    assert first.status == 200
    seen_revision = first.json()["revision"]
    old_etag = first.headers["ETag"]
    live: list[str] = []
    for round_no in range(ROUNDS):
        # The held request keeps one worker busy, so the write is served by the other one.
        held = HeldRequest(server, ALLOWED, service, {"If-None-Match": old_etag})
        if round_no % 3 == 2:
            gone = live.pop(0)
            retire(server, procurement, gone)
            changed = f"round {round_no}, retired {gone}"
        else:
            locations = LOCATION_SETS[round_no % len(LOCATION_SETS)]
            created = create(server, procurement, name=f"Round {round_no}", locations=locations)
            live.append(created.json()["id"])
            changed = f"round {round_no}, created {live[-1]}"

        other_worker = held.finish()
        any_worker = call(server, "GET", ALLOWED, service, headers={"If-None-Match": old_etag})
        for reply in (other_worker, any_worker):
            assert reply.status == 200, f"{changed}: {reply.status}"
            body = reply.json()
            assert body["revision"] > seen_revision, changed
            assert [p["id"] for p in body["processors"]] == live, changed
            assert reply.headers["ETag"] != old_etag, changed
        assert other_worker.body == any_worker.body, changed
        assert other_worker.headers["ETag"] == any_worker.headers["ETag"], changed
        seen_revision, old_etag = body["revision"], any_worker.headers["ETag"]

    after = {pid: write_calls(pid) for pid in pids}
    if None not in before.values() and None not in after.values():
        served = {pid: after[pid] - before[pid] for pid in pids}
        assert all(count >= ROUNDS for count in served.values()), served
    assert workers(server) == pids
    assert_clean_log(server)


def test_an_old_etag_gets_the_new_answer_from_any_worker(server):
    procurement = server.tokens["procurement"]
    service = server.tokens["service"]
    kept = create(server, procurement, name="Kept").json()["id"]

    for round_no in range(5):
        held = HeldRequest(server, ALLOWED, service)
        other = call(server, "GET", ALLOWED, service)
        primed = [held.finish(), other]
        assert [reply.status for reply in primed] == [200, 200]
        assert primed[0].body == primed[1].body
        old_etag = primed[0].headers["ETag"]
        assert primed[1].headers["ETag"] == old_etag, "each worker must give one answer one ETag"

        held = HeldRequest(server, ALLOWED, service, {"If-None-Match": old_etag})
        other = call(server, "GET", ALLOWED, service, headers={"If-None-Match": old_etag})
        for reply in (held.finish(), other):
            assert reply.status == 304
            assert reply.headers.get("ETag") == old_etag
            assert reply.body == b""

        held = HeldRequest(server, ALLOWED, service, {"If-None-Match": old_etag})
        added = create(server, procurement, name=f"Added {round_no}").json()["id"]
        fresh = [
            held.finish(),
            *(
                call(server, "GET", ALLOWED, service, headers={"If-None-Match": old_etag})
                for _ in range(4)
            ),
        ]
        for reply in fresh:
            assert reply.status == 200, f"round {round_no}: {reply.status}"
            assert reply.headers["ETag"] != old_etag
            ids = [p["id"] for p in reply.json()["processors"]]
            assert ids[0] == kept and ids[-1] == added
        assert len({reply.body for reply in fresh}) == 1
    assert_clean_log(server)


def test_serve_initialises_a_missing_database(tmp_path):
    srv = Server(tmp_path)
    srv.database = tmp_path / "var" / "nested" / "registry.db"
    srv.env["REGISTRY_DATABASE"] = str(srv.database)
    assert not srv.database.parent.exists()
    srv.start()
    try:
        health = call(srv, "GET", "/v1/health")
        assert health.status == 200, health.text
        state = health.json()
        assert state["status"] == "ok"
        assert state["schema_version"] == SCHEMA_VERSION
        assert state["revision"] >= 1
        assert state["law_version"]
        assert srv.database.exists()

        countries = call(srv, "GET", "/v1/countries/NL")
        assert countries.status == 200, countries.text
        assert countries.json()["eea"] is True

        service = srv.token("service")
        allowed = call(srv, "GET", ALLOWED, service)
        assert allowed.status == 200, allowed.text
        assert allowed.json()["processors"] == []
    finally:
        srv.stop()
    assert_clean_log(srv)


def test_serves_health_and_the_openapi_spec(server):
    health = call(server, "GET", "/v1/health")
    assert health.status == 200
    assert health.headers["Content-Type"].startswith("application/json")
    assert health.json()["status"] == "ok"

    spec = call(server, "GET", "/openapi.json")
    assert spec.status == 200
    assert spec.headers["Content-Type"].startswith("application/json")
    document = spec.json()
    assert document["openapi"].startswith("3.")
    assert {"/v1/health", ALLOWED, "/v1/subprocessors"} <= set(document["paths"])

    unauthenticated = call(server, "GET", ALLOWED)
    assert unauthenticated.status == 401
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer")
    assert_clean_log(server)


def _children(server: Server) -> set[int]:
    """The master's live children now (workers, old and new, during a reload)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(server.process.pid) and fields[0] not in ("Z", "X"):
            found.add(int(entry))
    return found


def _wait_for_workers(server: Server, done, timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = _children(server)
        if done(pids):
            return pids
        time.sleep(0.1)
    raise AssertionError(f"workers now {_children(server)}: {server.log.read_text()[-3000:]}")


class _Prober(threading.Thread):
    """Asks for /v1/health on a new connection every 20 ms until stopped; counts answers."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server, self.statuses, self.failures = server, [], []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                self.statuses.append(call(self.server, "GET", "/v1/health").status)
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(repr(exc))
            time.sleep(0.02)

    def finish(self) -> None:
        self.stopping.set()
        self.join(timeout=70)


def test_sighup_replaces_every_worker_while_requests_are_answered(server):
    before = set(workers(server))
    assert len(before) == server.workers
    prober = _Prober(server)
    prober.start()
    time.sleep(0.3)
    os.kill(server.process.pid, signal.SIGHUP)
    after = _wait_for_workers(
        server, lambda pids: len(pids) == server.workers and not pids & before
    )
    time.sleep(0.3)
    prober.finish()
    assert prober.failures == [], prober.failures[:5]
    assert len(prober.statuses) > 10 and set(prober.statuses) == {200}
    assert call(server, "GET", "/v1/health").status == 200
    assert len(after) == server.workers
    assert_clean_log(server)


def test_a_killed_worker_is_replaced_and_the_others_keep_answering(server):
    """Each worker in turn is killed; the one left and the replacement answer meanwhile,
    so at the end only replacements serve."""
    before = set(workers(server))
    prober = _Prober(server)
    prober.start()
    time.sleep(0.3)
    current = set(before)
    for victim in sorted(before):
        os.kill(victim, signal.SIGKILL)
        current = _wait_for_workers(
            server, lambda pids, v=victim: len(pids) == server.workers and v not in pids
        )
        time.sleep(1)  # the replacement boots and takes requests
    prober.finish()
    assert not current & before and _children(server) == current
    assert server.process.poll() is None
    # At most the one request each killed worker may have been answering at that moment.
    assert len(prober.failures) <= len(before), prober.failures[:5]
    assert len(prober.statuses) > 20 and set(prober.statuses) == {200}
    assert call(server, "GET", "/v1/health").status == 200
    assert_clean_log(server)
