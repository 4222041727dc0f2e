"""Helpers for tests against a real gunicorn: raw HTTP calls, worker pids, log checks, locations."""

from __future__ import annotations

import http.client
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from helpers import Server

ALLOWED = "/v1/allowed-processors"

NL = {"country": "NL", "activity": "storage"}
DE = {"country": "DE", "activity": "backup"}
CA = {"country": "CA", "activity": "processing"}
US = {
    "country": "US",
    "activity": "remote_access",
    "safeguard": {
        "mechanism": "adequacy",
        "certified": True,
        "certification_checked_on": "2026-10-01",
    },
}
IN = {
    "country": "IN",
    "activity": "processing",
    "safeguard": {
        "mechanism": "scc",
        "scc_version": "2021/914",
        "scc_module": 3,
        "signed_on": "2024-03-01",
        "tia_completed_on": "2024-02-20",
    },
}
# Every set is compliant on any date from 2026-10-01 to 2027-09-30 (the US check's year).
LOCATION_SETS = [[NL], [NL, DE], [NL, US], [CA], [IN, NL], [DE, CA, US]]
# India has no adequacy decision: without a safeguard this transfer is NO_SAFEGUARD (an error).
UNSAFE_IN = {"country": "IN", "activity": "backup"}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def call(
    server: Server,
    method: str,
    path: str,
    token: str | None = None,
    body: dict | None = None,
    headers: dict | None = None,
) -> Reply:
    """One request on a new connection, so that any worker may take it."""
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body)
        sent["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        return Reply(response.status, dict(response.getheaders()), response.read())
    finally:
        conn.close()


def revision(server: Server) -> int:
    return call(server, "GET", "/v1/health").json()["revision"]


def workers(server: Server) -> list[int]:
    """The pids of the gunicorn workers (children of the `registry serve` process), once booted."""
    deadline = time.monotonic() + 10
    while True:
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == str(server.process.pid):
                pids.append(int(entry))
        if len(pids) >= server.workers or time.monotonic() > deadline:
            return sorted(pids)
        time.sleep(0.05)


def wait_dead(pids: list[int], timeout: float = 10) -> None:
    """Wait until each process has exited (gone or a zombie), so it holds no file lock."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                break
            if state in ("Z", "X"):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"process {pid} still alive ({state}) after SIGKILL")
            time.sleep(0.01)


def assert_clean_log(server: Server) -> None:
    log = server.log.read_text()
    for symptom in ("Traceback", "database is locked", "WORKER TIMEOUT", "Worker failed to boot"):
        assert symptom not in log, log[-4000:]
