"""Load and crash tests on a real gunicorn, small by default; `make stress` sets the full scale."""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from helpers import (
    ALLOWED,
    CONTENT_FIELDS,
    LOCATION_SETS,
    NL,
    UNSAFE_IN,
    Server,
    assert_clean_log,
    call,
    nimbus,
    revision,
    server_on_template,
    wait_dead,
    workers,
)

pytestmark = pytest.mark.server


@pytest.fixture(autouse=True)
def changes_take_effect_at_once(monkeypatch):
    """These servers see writes in bursts, checking each acknowledged write is in force at
    once: with no notice period, a material change is in force the day it is announced."""
    monkeypatch.setenv("REGISTRY_NOTICE_DAYS", "0")


def _scale(name: str, default: int) -> int:
    raw = os.environ.get(f"REGISTRY_STRESS_{name}")
    return int(raw) if raw else default


WRITERS = _scale("WRITERS", 4)
WRITES = _scale("WRITES", 25)  # per writer, in the load test
READERS = _scale("READERS", 2)
KILLS = _scale("KILLS", 3)
WORKERS = _scale("WORKERS", 2)
SEED = _scale("SEED", 20261124)

FLAGGED_SET = [NL, UNSAFE_IN]
# What a request cut off by SIGKILL raises on the client side.
CUT_OFF = (OSError, http.client.HTTPException)


def _compliant(locations: list[dict]) -> bool:
    return UNSAFE_IN not in locations


def _countries(locations: list[dict]) -> list[str]:
    return sorted({location["country"] for location in locations})


def _list_ids(server: Server, token: str) -> list[str]:
    ids, cursor = [], None
    while True:
        path = "/v1/subprocessors?limit=100" + (f"&cursor={cursor}" if cursor else "")
        reply = call(server, "GET", path, token)
        assert reply.status == 200, reply.text
        page = reply.json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


@pytest.fixture
def stress_server(apps, tmp_path):
    srv = server_on_template(apps, tmp_path, workers=WORKERS)
    yield srv
    srv.stop(signal.SIGKILL)


# -- (a) concurrent writers and readers ----------------------------------------------------


class Floor:
    """The highest revision seen in any completed allowed-processors answer, by any thread."""

    def __init__(self):
        self.value = 0
        self._lock = threading.Lock()

    def raise_to(self, seen: int) -> None:
        with self._lock:
            self.value = max(self.value, seen)


@dataclass
class Tally:
    """One thread's counts; merged once the threads are done."""

    statuses: Counter = field(default_factory=Counter)
    acknowledged: int = 0
    reads: int = 0
    not_modified: int = 0
    lags: list[int] = field(default_factory=list)  # revision answered minus floor at request
    gains: list[int] = field(default_factory=list)  # revision after own write minus before
    locked: int = 0
    violations: list[str] = field(default_factory=list)

    def saw(self, what: str, reply) -> None:
        self.statuses[(what, reply.status)] += 1
        if b"database is locked" in reply.body.lower():
            self.locked += 1


def _read_allowed(server, token, floor: Floor, tally: Tally, etag=None, etag_revision=None):
    """GET allowed-processors through any worker; the revision answered and the reply."""
    before = floor.value
    reply = call(server, "GET", ALLOWED, token, headers={"If-None-Match": etag} if etag else None)
    tally.saw("read", reply)
    tally.reads += 1
    if reply.status == 304 and etag is not None:
        tally.not_modified += 1
        if reply.headers.get("ETag") != etag:
            tally.violations.append(f"304 with ETag {reply.headers.get('ETag')}, sent {etag}")
        seen = etag_revision
    elif reply.status == 200:
        seen = reply.json()["revision"]
    else:
        tally.violations.append(f"allowed-processors answered {reply.status}: {reply.text[:300]}")
        return None, reply
    tally.lags.append(seen - before)
    if seen < before:
        tally.violations.append(f"answer at revision {seen} after revision {before} was seen")
    floor.raise_to(seen)
    return seen, reply


def test_writers_and_readers_never_see_an_older_answer(stress_server):
    """N writers x M writes while readers poll allowed-processors, with 2+ workers.

    An answer is *older* than a write when it does not reflect that write: its revision
    is below the revision the write committed. Writes do not return the revision, so:

    - after each acknowledged write, the writer's next allowed-processors answer (from
      whichever worker takes the new connection) must show all its own records as
      acknowledged: a created or patched compliant record listed with its countries, a
      record patched to a flagged location or retired absent; and its revision must be
      above the one the writer saw before sending the write;
    - every thread records, once an answer arrives, the highest revision seen by anyone
      (the floor); any request sent later must be answered at that revision or above, so
      a write reflected in one answer is reflected in every later answer (readers also
      send If-None-Match, and a 304 counts as an answer at the ETag's revision).

    Every request must succeed (no 5xx, no "database is locked" in bodies or the log), and
    afterwards every acknowledged write must be readable, with the final revision counting
    exactly the acknowledged writes.
    """
    server = stress_server.start()
    procurement = server.tokens["procurement"]
    service = server.tokens["service"]
    start_revision = revision(server)
    floor = Floor()
    writers_done = threading.Event()
    barrier = threading.Barrier(WRITERS + READERS)

    def writer(number: int) -> tuple[Tally, dict[str, dict]]:
        tally = Tally()
        mine: dict[str, dict] = {}  # id -> the acknowledged state
        etags: dict[str, str] = {}
        last, _ = _read_allowed(server, service, floor, tally)
        barrier.wait(timeout=60)
        for op in range(WRITES):
            live = [i for i, state in mine.items() if not state["retired"]]
            if not live or op % 3 == 0:
                locations = LOCATION_SETS[(number + op) % len(LOCATION_SETS)]
                body = nimbus(name=f"Load {number}-{op}", locations=locations)
                what, expected = "create", 201
                reply = call(server, "POST", "/v1/subprocessors", procurement, body)
            else:
                target = live[op % len(live)]
                headers = {"If-Match": etags[target]}
                path = f"/v1/subprocessors/{target}"
                if op % 7 == 6:
                    what, expected = "retire", 200
                    reply = call(server, "DELETE", path, procurement, headers=headers)
                else:
                    # Every other patch moves the record out of (or back into) the answer.
                    locations = (
                        FLAGGED_SET if op % 2 else LOCATION_SETS[(number + op) % len(LOCATION_SETS)]
                    )
                    body = {"locations": locations, "purpose": f"op {op}"}
                    what, expected = "patch", 200
                    reply = call(server, "PATCH", path, procurement, body, headers=headers)
            tally.saw(what, reply)
            if reply.status != expected:
                tally.violations.append(f"{what} answered {reply.status}: {reply.text[:300]}")
                continue
            tally.acknowledged += 1
            record = reply.json()
            etags[record["id"]] = reply.headers.get("ETag", "")
            state = mine.setdefault(record["id"], {"name": record["name"], "purpose": None})
            state["version"] = record["version"]
            state["retired"] = what == "retire"
            if what == "create":
                state["purpose"] = record["purpose"]
                state["locations"] = locations
            elif what == "patch":
                state["purpose"] = body["purpose"]
                state["locations"] = locations

            seen, read = _read_allowed(server, service, floor, tally)
            if seen is None:
                continue
            tally.gains.append(seen - last)
            if seen <= last:
                tally.violations.append(f"{what}: revision {seen} after the write, {last} before")
            last = seen
            shown = {p["id"]: p["countries"] for p in read.json()["processors"] if p["id"] in mine}
            wanted = {
                i: _countries(s["locations"])
                for i, s in mine.items()
                if not s["retired"] and _compliant(s["locations"])
            }
            if shown != wanted:
                tally.violations.append(
                    f"{what} of {record['id']} acknowledged, next answer (revision {seen}) "
                    f"shows {shown}, expected {wanted}"
                )
        return tally, mine

    def reader(_: int) -> Tally:
        tally = Tally()
        etag, seen = None, None
        barrier.wait(timeout=60)
        while not writers_done.is_set():
            answered, reply = _read_allowed(server, service, floor, tally, etag, seen)
            if answered is None:
                continue
            if seen is not None and answered < seen:
                tally.violations.append(f"a reader saw revision {answered} after {seen}")
            if reply.status == 200:
                etag = reply.headers["ETag"]
            seen = answered
        return tally

    started = time.monotonic()
    with ThreadPoolExecutor(WRITERS + READERS) as pool:
        readers = [pool.submit(reader, n) for n in range(READERS)]
        writing = [pool.submit(writer, n) for n in range(WRITERS)]
        try:
            written = [future.result() for future in writing]
        finally:
            writers_done.set()
        read = [future.result() for future in readers]
    duration = time.monotonic() - started

    tallies = [t for t, _ in written] + read
    statuses = sum((t.statuses for t in tallies), Counter())
    server_errors = sum(n for (_, status), n in statuses.items() if status >= 500)
    violations = [v for t in tallies for v in t.violations]
    acknowledged = sum(t.acknowledged for t in tallies)
    lags = [lag for t in tallies for lag in t.lags]
    gains = [gain for t in tallies for gain in t.gains]
    reads = sum(t.reads for t in tallies)
    print(
        f"load: {WRITERS} writers x {WRITES} writes, {READERS} readers, {WORKERS} workers: "
        f"{acknowledged} writes acknowledged, {reads} reads "
        f"({sum(t.not_modified for t in tallies)} 304), {server_errors} 5xx, "
        f"{sum(t.locked for t in tallies)} 'database is locked', "
        f"revision answered minus floor min {min(lags)} max {max(lags)}, "
        f"revision gain after own write min {min(gains)} max {max(gains)}, "
        f"{duration:.1f} s, statuses {dict(sorted(statuses.items()))}"
    )
    assert server_errors == 0, statuses
    assert sum(t.locked for t in tallies) == 0
    assert violations == [], violations[:20]
    assert acknowledged == WRITERS * WRITES
    assert min(lags) >= 0 and min(gains) >= 1

    # Every acknowledged write is there, as acknowledged, through any worker.
    states = {i: s for _, mine in written for i, s in mine.items()}
    for subprocessor_id, state in states.items():
        reply = call(server, "GET", f"/v1/subprocessors/{subprocessor_id}", procurement)
        assert reply.status == 200, reply.text
        stored = reply.json()
        assert stored["version"] == state["version"], subprocessor_id
        assert stored["name"] == state["name"]
        assert stored["purpose"] == state["purpose"]
        assert stored["locations"] == state["locations"]
        assert stored["status"] == ("retired" if state["retired"] else "active")
    assert sorted(_list_ids(server, procurement)) == sorted(states)
    assert revision(server) == start_revision + acknowledged

    final = call(server, "GET", ALLOWED, service).json()
    assert final["revision"] == start_revision + acknowledged
    assert {p["id"]: p["countries"] for p in final["processors"]} == {
        i: _countries(s["locations"])
        for i, s in states.items()
        if not s["retired"] and _compliant(s["locations"])
    }
    server.stop()
    assert_clean_log(server)


# -- (b) SIGKILL in the middle of write bursts --------------------------------------------


@dataclass
class Tracked:
    """One sub-processor as its writer knows it: the content of each version it wrote."""

    id: str
    versions: dict[int, dict]
    acknowledged: int
    etag: str | None


@dataclass
class Ledger:
    """One writer's records across kills, and the write it had in flight when cut off."""

    number: int
    records: dict[str, Tracked] = field(default_factory=dict)
    pending: tuple | None = None
    acknowledged: int = 0
    violations: list[str] = field(default_factory=list)


def _content(record: dict) -> dict:
    return {name: record[name] for name in CONTENT_FIELDS}


def _burst(server, token, ledger: Ledger, round_no: int, killed, acks, rng) -> None:
    """Write without pause until the server is killed; leave the cut-off write in `pending`."""
    op = 0
    while True:
        op += 1
        targets = list(ledger.records)
        locations = rng.choice(LOCATION_SETS)
        try:
            if not targets or op % 3 == 1:
                body = nimbus(name=f"Crash {ledger.number}-{round_no}-{op}", locations=locations)
                ledger.pending = ("create", _content(body))
                reply = call(server, "POST", "/v1/subprocessors", token, body)
                if reply.status != 201:
                    ledger.violations.append(f"create answered {reply.status}: {reply.text[:300]}")
                    return
                created = reply.json()
                ledger.records[created["id"]] = Tracked(
                    created["id"], {1: _content(body)}, 1, reply.headers["ETag"]
                )
            else:
                tracked = ledger.records[targets[op % len(targets)]]
                path = f"/v1/subprocessors/{tracked.id}"
                if tracked.etag is None:  # after a restart: learn the ETag, check the version
                    current = call(server, "GET", path, token)
                    if current.status != 200 or current.json()["version"] != tracked.acknowledged:
                        ledger.violations.append(f"{tracked.id} after restart: {current.text}")
                        return
                    tracked.etag = current.headers["ETag"]
                # Housekeeping, so each acknowledged PATCH is a version of its own (a material
                # change is first announced, then applied: two writes of another shape).
                changes = {"purpose": f"round {round_no} op {op}"}
                version = tracked.acknowledged + 1
                tracked.versions[version] = {**tracked.versions[tracked.acknowledged], **changes}
                ledger.pending = ("patch", tracked.id)
                reply = call(server, "PATCH", path, token, changes, {"If-Match": tracked.etag})
                if reply.status != 200 or reply.json()["version"] != version:
                    ledger.violations.append(f"patch answered {reply.status}: {reply.text[:300]}")
                    return
                tracked.acknowledged, tracked.etag = version, reply.headers["ETag"]
        except CUT_OFF as exc:
            if not killed.is_set():
                ledger.violations.append(f"request failed before the kill: {exc!r}")
            return
        ledger.pending = None
        ledger.acknowledged += 1
        acks.release()


def _verify_after_kill(path, ledgers: list[Ledger], base_revision: int) -> tuple[int, int]:
    """Check the file as the kill left it; settle in-flight writes. (in flight, committed)."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        columns = ("seq", "id", "version", *CONTENT_FIELDS)
        rows = {
            row[1]: dict(zip(columns, row, strict=True))
            for row in conn.execute(f"SELECT {', '.join(columns)} FROM subprocessors")  # noqa: S608
        }
        indexed: dict[int, set[str]] = {}
        for country, seq in conn.execute(
            "SELECT country, subprocessor_seq FROM subprocessor_countries"
        ):
            indexed.setdefault(seq, set()).add(country)
        stored_revision = int(
            conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0]
        )
    finally:
        conn.close()

    partial = []
    for row in rows.values():
        countries = indexed.pop(row["seq"], set())
        try:
            row["locations"] = json.loads(row["locations"])
            row["data_categories"] = json.loads(row["data_categories"])
            complete = (
                row["locations"]
                and row["data_categories"]
                and countries == set(_countries(row["locations"]))
            )
        except (TypeError, ValueError, KeyError):
            complete = False
        if not complete:
            partial.append(row)
    assert partial == [], partial
    assert indexed == {}, f"country index rows without their sub-processor: {indexed}"
    # Each committed write bumped the revision in its own transaction: a create makes version 1,
    # each patch one more version, and nothing else writes.
    committed = sum(row["version"] for row in rows.values())
    assert stored_revision == base_revision + committed

    in_flight = settled = 0
    claimed: set[str] = set()
    by_name = {row["name"]: row for row in rows.values()}
    for ledger in ledgers:
        pending, ledger.pending = ledger.pending, None
        in_flight += pending is not None
        for tracked in ledger.records.values():
            row = rows.get(tracked.id)
            assert row is not None, f"acknowledged create of {tracked.id} lost"
            version = row["version"]
            assert version >= tracked.acknowledged, f"acknowledged patch of {tracked.id} lost"
            assert _content(row) == tracked.versions.get(version), (tracked, row)
            if version > tracked.acknowledged:
                assert pending == ("patch", tracked.id) and version == tracked.acknowledged + 1
                tracked.acknowledged, tracked.etag = version, None
                settled += 1
            claimed.add(tracked.id)
        if pending is not None and pending[0] == "create":
            row = by_name.get(pending[1]["name"])
            if row is not None:
                assert row["version"] == 1 and _content(row) == pending[1], row
                ledger.records[row["id"]] = Tracked(row["id"], {1: pending[1]}, 1, None)
                claimed.add(row["id"])
                settled += 1
    assert set(rows) == claimed, f"rows no writer sent: {set(rows) - claimed}"
    return in_flight, settled


def test_sigkill_during_write_bursts_loses_no_acknowledged_write(stress_server):
    """SIGKILL the whole server (master and workers) mid-burst, K times, restarting each time.

    After each kill, with every process gone, the file must pass `PRAGMA integrity_check`;
    every write answered 2xx must be there as acknowledged (a create with all its locations,
    a patch at least at its version); a write cut off in flight may be there or not, but no
    row may be partial (locations JSON empty or invalid, or its country index rows not
    matching its locations), and the revision must count exactly the committed writes.
    """
    server = stress_server
    token = server.tokens["procurement"]
    conn = sqlite3.connect(server.database)
    base_revision = int(conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])
    conn.close()
    ledgers = [Ledger(number) for number in range(WRITERS)]
    rng = random.Random(SEED)
    in_flight = settled = 0
    started = time.monotonic()

    for round_no in range(KILLS):
        server.start()
        pids = [server.process.pid, *workers(server)]
        killed = threading.Event()
        acks = threading.Semaphore(0)
        bursts = [
            threading.Thread(
                target=_burst,
                args=(server, token, ledger, round_no, killed, acks, random.Random(rng.random())),
            )
            for ledger in ledgers
        ]
        for thread in bursts:
            thread.start()
        # Kill after a varying number of acknowledged writes, with every writer mid-request.
        wanted, deadline = rng.randint(WRITERS, 4 * WRITERS), time.monotonic() + 60
        while wanted and time.monotonic() < deadline and any(t.is_alive() for t in bursts):
            wanted -= acks.acquire(timeout=0.1)
        assert wanted == 0, [v for ledger in ledgers for v in ledger.violations]
        # A little jitter so that kills land at every stage of a request, commits included.
        time.sleep(rng.random() * 0.02)
        killed.set()
        server.stop(signal.SIGKILL)
        wait_dead(pids)
        for thread in bursts:
            thread.join(timeout=60)
        assert [v for ledger in ledgers for v in ledger.violations] == []
        cut, kept = _verify_after_kill(server.database, ledgers, base_revision)
        in_flight, settled = in_flight + cut, settled + kept

    server.start()
    for ledger in ledgers:
        for tracked in ledger.records.values():
            reply = call(server, "GET", f"/v1/subprocessors/{tracked.id}", token)
            assert reply.status == 200, reply.text
            stored = reply.json()
            assert stored["version"] == tracked.acknowledged
            assert _content(stored) == tracked.versions[tracked.acknowledged]
    tracked_ids = [i for ledger in ledgers for i in ledger.records]
    assert sorted(_list_ids(server, token)) == sorted(tracked_ids)
    server.stop()
    print(
        f"kills: {KILLS} SIGKILLs of {WORKERS} workers and their master, {WRITERS} writers: "
        f"{sum(ledger.acknowledged for ledger in ledgers)} writes acknowledged, "
        f"{in_flight} in flight at a kill of which {settled} committed, "
        f"{len(tracked_ids)} records, {time.monotonic() - started:.1f} s"
    )
    assert_clean_log(server)
