"""Staff and customer webhooks delivered for real: a receiver on 127.0.0.1, the worker run
once, every delivery's signature checked as a receiver would."""

from __future__ import annotations

import http.server
import json
import threading

import pytest
from helpers import days_from_today, incident_report, loopback_server, nimbus, upload_text

from registry import clock as registry_clock
from registry.events import service as change_feed
from registry.incidents import service as incidents
from registry.subprocessors import service as subprocessors
from registry.webhooks import outbound
from registry.webhooks.worker import Worker

STAFF_TYPES = {
    "documentation_request.created",
    "objection.created",
    "evidence.due",
    "incident.overdue",
}


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    with loopback_server(_Receiver, received=[]) as server:
        yield server


def _hook(client, headers, url: str, events: list[str]) -> dict:
    response = client.post("/v1/webhooks", json={"url": url, "events": events}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_staff_and_customers_each_receive_their_events(client, as_role, registry, receiver):
    registry.settings = registry.settings.replace(webhook_allow_private=True)
    base = f"http://127.0.0.1:{receiver.server_address[1]}"
    admin, customer = as_role("admin"), as_role("customer_a")
    staff_hook = _hook(client, as_role("procurement"), f"{base}/staff", sorted(STAFF_TYPES))
    customer_hook = _hook(client, customer, f"{base}/customer", ["*"])
    assert staff_hook["customer_id"] is None and staff_hook["owner_role"] == "procurement"

    # Announced with notice: open for objections, its SCCs to India not on file yet.
    created = client.post(
        "/v1/subprocessors", json=nimbus(effective_on=days_from_today(40)), headers=admin
    )
    assert created.status_code == 201, created.get_json()
    sp = created.get_json()["id"]
    asked = client.post(
        "/v1/documentation-requests", json={"subprocessor_ids": [sp]}, headers=customer
    )
    assert asked.status_code == 201, asked.get_json()
    request_id = asked.get_json()["id"]
    objected = client.post(
        f"/v1/subprocessors/{sp}/objections", json={"reason": "No."}, headers=customer
    )
    assert objected.status_code == 201, objected.get_json()
    uploaded = upload_text(
        client,
        as_role("procurement"),
        b"Standard contractual clauses 2021/914.",
        title="SCCs 2021/914 module 3",
        subprocessor_id=sp,
        country="IN",
        audience="disclosable",
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    incident = client.post(
        "/v1/incidents",
        json=incident_report(sp, f"{days_from_today(-5)}T08:00:00Z"),
        headers=admin,
    )
    assert incident.status_code == 201, incident.get_json()
    assert incidents.announce_overdue(registry) == [incident.get_json()["id"]]
    assert incidents.announce_overdue(registry) == []  # once, never again
    with registry.db.write() as tx:
        record = subprocessors.get(tx.conn, sp)
        change_feed.record(
            tx,
            "evidence.due",
            record,
            {"subprocessor": subprocessors.version_of(record), "evidence": {"kind": "tia"}},
        )

    # One endpoint per round keeps every attempt on this thread (and its connection).
    made = Worker(registry.db, registry.settings, batch=1, jitter=lambda: 0.0).run(
        threading.Event(), once=True
    )
    assert made == len(receiver.received)

    secrets = {"/staff": staff_hook["secret"], "/customer": customer_hook["secret"]}
    got: dict[str, list[dict]] = {"/staff": [], "/customer": []}
    for path, headers, body in receiver.received:
        # Raises on a bad signature; the registry clock is pinned, so is the timestamp.
        outbound.verify(secrets[path], headers, body, now=registry_clock.now().timestamp())
        got[path].append(json.loads(body))
    staff_types = [event["type"] for event in got["/staff"]]
    assert sorted(staff_types) == sorted(STAFF_TYPES)
    customer_types = {event["type"] for event in got["/customer"]}
    assert "documentation_request.fulfilled" in customer_types
    assert not customer_types & STAFF_TYPES
    # The staff payload names the customer; the customer's is the projection.
    by_type = {event["type"]: event for event in got["/staff"]}
    assert by_type["objection.created"]["data"]["objection"]["customer_id"] == "cust-a"
    assert by_type["documentation_request.created"]["data"]["documentation_request"]["id"] == (
        request_id
    )
    ready = next(e for e in got["/customer"] if e["type"] == "documentation_request.fulfilled")
    assert ready["data"]["documentation_request"]["id"] == request_id
    assert ready["data"]["documentation_request"]["document_id"] == uploaded.get_json()["id"]
    assert "uploaded_by" not in json.dumps(ready)
    # Customer B was told nothing of customer A's request; its own feed holds no staff event.
    feed = client.get("/v1/changes", headers=as_role("customer_b")).get_json()["items"]
    assert not {e["type"] for e in feed} & (STAFF_TYPES | {"documentation_request.fulfilled"})
    own = client.get("/v1/changes", headers=customer).get_json()["items"]
    assert not {e["type"] for e in own} & STAFF_TYPES
