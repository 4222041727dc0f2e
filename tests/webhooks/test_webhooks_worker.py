"""`registry worker` as a real process: signed deliveries to a loopback receiver, crash, restart."""

from __future__ import annotations

import http.server
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import ROOT, nimbus, registry_env

from registry import clock as registry_clock
from registry.audit import store as audit_store
from registry.webhooks import outbound as webhooks

pytestmark = pytest.mark.server

HOOKS = "/v1/webhooks"
# Each attempt's deadline is a third of the lease: time enough to SIGKILL the worker mid-POST.
LEASE = 5.0


class Receiver(http.server.ThreadingHTTPServer):
    """A customer's endpoint: verifies every signature and dedupes on webhook-id.

    `/ok` fails its first two requests with 500, then accepts; the first acceptance is
    held open until the test lets go (so the worker can be killed after the receiver
    took the event but before the worker learnt it). `/down` always answers 500.
    """

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.lock = threading.Lock()
        self.secrets: dict[str, str] = {}
        self.requests: list[dict] = []
        self.accepted: dict[str, dict] = {}  # webhook-id -> event, the first time only
        self.holding = threading.Event()
        self.release = threading.Event()
        self.held = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        receiver = self.server
        try:
            # The customer's wall clock reads the tests' day, as the worker's does.
            message_id = webhooks.verify(
                receiver.secrets[self.path],
                self.headers,
                body,
                now=registry_clock.now().timestamp(),
            )
            valid = True
        except (webhooks.VerificationError, KeyError):
            message_id, valid = self.headers.get("webhook-id"), False
        with receiver.lock:
            earlier = [r for r in receiver.requests if r["path"] == self.path]
            seen = {"path": self.path, "id": message_id, "valid": valid}
            receiver.requests.append(seen)
            if not valid:
                return self._answer(401)
            if self.path == "/down" or len(earlier) < 2:
                seen["answer"] = 500
                return self._answer(500)
            duplicate = message_id in receiver.accepted
            if not duplicate:
                receiver.accepted[message_id] = json.loads(body)
            seen["answer"] = 200
            hold = not duplicate and not receiver.held
            receiver.held = receiver.held or hold
        if hold:
            receiver.holding.set()
            receiver.release.wait(30)
        self._answer(200)

    def _answer(self, status: int) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the worker is gone (killed mid-request)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def registry_settings():
    return {"webhook_allow_private": True}


class WorkerProcess:
    """`python -m registry.cli worker` on the test's database, on the test's clock."""

    def __init__(self, database: str, log: Path):
        self.env = {
            "REGISTRY_DATABASE": database,
            "REGISTRY_WEBHOOK_ALLOW_PRIVATE": "1",
            "REGISTRY_WEBHOOK_BACKOFF": "0.05",
            "REGISTRY_WEBHOOK_LEASE": str(LEASE),
            "REGISTRY_WEBHOOK_MAX_FAILURES": "3",
        }
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "registry.cli", "worker", "--poll-interval", "0.05"],
                env=registry_env(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        return self

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)

    def ensure_stopped(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_every_event_arrives_once_per_id_through_failures_and_a_crash(
    app, as_role, receiver, tmp_path
):
    registry = app.extensions["registry"]
    client = app.test_client()
    admin, customer_a, customer_b = as_role("admin"), as_role("customer_a"), as_role("customer_b")

    ok = client.post(HOOKS, json={"url": f"{receiver.url}/ok"}, headers=customer_a)
    assert ok.status_code == 201, ok.get_json()
    down = client.post(
        HOOKS,
        json={"url": f"{receiver.url}/down", "events": ["subprocessor.announced"]},
        headers=customer_b,
    )
    assert down.status_code == 201, down.get_json()
    ok, down = ok.get_json(), down.get_json()
    receiver.secrets = {"/ok": ok["secret"], "/down": down["secret"]}

    # Three announced, one changed, one retired: five events for /ok, three for /down.
    created = []
    for name in ("Nimbus Hosting", "Tallybird Support", "Postwise Mail"):
        body = nimbus(name=name, effective_on=None)  # announced: customers are told
        response = client.post("/v1/subprocessors", json=body, headers=admin)
        assert response.status_code == 201
        created.append(response)
    first = created[0].get_json()["id"]
    # A new data category is material: customers are told (housekeeping would be internal).
    categories = [*created[0].get_json()["data_categories"], "user.name"]
    changed = client.patch(
        f"/v1/subprocessors/{first}",
        json={"data_categories": categories},
        headers={**admin, "If-Match": created[0].headers["ETag"]},
    )
    assert changed.status_code == 200
    retired = client.delete(
        f"/v1/subprocessors/{first}", headers={**admin, "If-Match": changed.headers["ETag"]}
    )
    assert retired.status_code == 200
    changes = client.get("/v1/changes", headers=customer_a).get_json()["items"]
    assert len(changes) == 5

    worker = WorkerProcess(app.extensions["registry"].settings.database, tmp_path / "worker.log")
    try:
        worker.start()
        # The receiver has taken its first event and holds the answer: kill the worker now.
        assert receiver.holding.wait(30), worker.log.read_text()
        worker.kill()
        receiver.release.set()

        worker.start()

        def settled() -> bool:
            log = client.get(f"{HOOKS}/{ok['id']}/deliveries", headers=customer_a).get_json()
            hook = client.get(f"{HOOKS}/{down['id']}", headers=customer_b).get_json()
            return (
                all(d["status"] == "delivered" for d in log["items"])
                and len(log["items"]) == 5
                and hook["enabled"] is False
            )

        wait_until(settled, 60, "every event delivered and /down disabled")
        assert worker.terminate() == 0, "SIGTERM stops the worker cleanly"
    finally:
        worker.ensure_stopped()
    output = worker.log.read_text()
    assert "Traceback" not in output, output

    # Every signature verified; every event was accepted exactly once under its id.
    assert all(r["valid"] for r in receiver.requests), receiver.requests
    log = client.get(f"{HOOKS}/{ok['id']}/deliveries", headers=customer_a).get_json()["items"]
    assert set(receiver.accepted) == {d["id"] for d in log}
    assert len(receiver.accepted) == 5
    assert sorted(e["data"]["change_id"] for e in receiver.accepted.values()) == sorted(
        c["id"] for c in changes
    )
    for event in receiver.accepted.values():
        change = next(c for c in changes if c["id"] == event["data"]["change_id"])
        assert event["type"] == change["type"]
        assert event["timestamp"] == change["at"]
        assert event["data"]["cursor"] == change["cursor"]
        assert event["data"]["subprocessor"]["id"] == change["subprocessor_id"]
    # The event cut short by the crash was sent again under the same id: a duplicate the
    # receiver's dedupe absorbed.
    ok_requests = [r for r in receiver.requests if r["path"] == "/ok"]
    accepted_ids = [r["id"] for r in ok_requests if r.get("answer") == 200]
    assert len(accepted_ids) == len(set(accepted_ids)) + 1

    # The delivery log tells the story: two failures, the attempt the crash cut short, then
    # five successes, each delivery's last. The endpoint was probed one attempt at a time,
    # so which event carried the failures is up to the back-off's jitter.
    attempts = [a for d in log for a in d["attempt_log"]]
    assert sorted((a["status_code"] or 0) for a in attempts) == [
        0,
        200,
        200,
        200,
        200,
        200,
        500,
        500,
    ]
    assert all(d["attempt_log"][-1]["status_code"] == 200 for d in log)
    (cut_short,) = [
        d for d in log if d["attempt_log"][-2:-1] and d["attempt_log"][-2]["status_code"] is None
    ]
    assert "worker stopped" in cut_short["attempt_log"][-2]["error"]
    assert accepted_ids.count(cut_short["id"]) == 2
    assert [a["attempt"] for a in cut_short["attempt_log"]] == list(
        range(1, cut_short["attempts"] + 1)
    )

    # The endpoint that always fails was disabled after three attempts in a row, and
    # audited; its events stay pending for when it is enabled again.
    hook = client.get(f"{HOOKS}/{down['id']}", headers=customer_b).get_json()
    assert hook["consecutive_failures"] == 3
    assert "3 attempts in a row failed" in hook["disabled_reason"]
    down_log = client.get(f"{HOOKS}/{down['id']}/deliveries", headers=customer_b).get_json()
    assert [d["status"] for d in down_log["items"]] == ["pending"] * 3
    down_attempts = [a for d in down_log["items"] for a in d["attempt_log"]]
    assert [a["status_code"] for a in down_attempts].count(500) == 3
    # The first worker may have claimed, or even sent, one more before it was killed.
    lost = [a for a in down_attempts if a["status_code"] is None]
    assert all("worker stopped" in a["error"] for a in lost) and len(lost) <= 1
    sent = len([r for r in receiver.requests if r["path"] == "/down"])
    assert 3 <= sent <= 3 + len(lost)
    entries = [
        e
        for e in audit_store.iter_all(registry.db.connection())
        if e["action"] == "webhook.disable"
    ]
    assert [(e["object_id"], e["actor"]["name"]) for e in entries] == [
        (down["id"], "registry worker")
    ]


def test_once_delivers_what_is_due_and_exits(app, as_role, receiver, tmp_path):
    client = app.test_client()
    customer, admin = as_role("customer_a"), as_role("admin")
    down = client.post(HOOKS, json={"url": f"{receiver.url}/down"}, headers=customer).get_json()
    receiver.secrets = {"/down": down["secret"]}
    body = nimbus(effective_on=None)  # announced: an event for the webhook
    assert client.post("/v1/subprocessors", json=body, headers=admin).status_code == 201

    env = WorkerProcess(app.extensions["registry"].settings.database, tmp_path / "once.log").env
    outputs = []
    for _ in range(3):
        time.sleep(0.1)  # past the (tiny) back-off: the retry is due
        done = subprocess.run(
            [sys.executable, "-m", "registry.cli", "worker", "--once"],
            env=registry_env(env),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.strip())
    # Each run made the one attempt that was due and left; the third disabled the endpoint.
    assert outputs == ["worker stopped after 1 attempt(s)"] * 3
    assert all(r["valid"] for r in receiver.requests) and len(receiver.requests) == 3
    hook = client.get(f"{HOOKS}/{down['id']}", headers=customer).get_json()
    assert hook["enabled"] is False
