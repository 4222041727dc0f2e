"""Webhook secret rotation: two signatures during the overlap window, then the new one alone."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

import pytest
from helpers import nimbus

from registry import clock as registry_clock
from registry.audit import store as audit_store
from registry.audit.chain import verify as verify_chain
from registry.settings import Settings
from registry.webhooks import outbound, store
from registry.webhooks.worker import Worker

URL = "/v1/webhooks"
SETTINGS = Settings(webhook_allow_private=True, webhook_backoff=5.0, webhook_lease=60.0)
MESSAGE_ID, TIMESTAMP, BODY = "msg_rotation", 1_800_000_000, b'{"type":"x"}'
_VENDORS = itertools.count(1)


class Receiver:
    """Stands in for the POST: records each delivery's headers and body, answers 200."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []

    def __call__(self, target, body, headers, *, total_timeout):
        self.received.append((dict(headers), body))
        return outbound.Outcome(200, None, 1)

    def signatures(self) -> list[str]:
        headers, _ = self.received[-1]
        return headers["webhook-signature"].split(" ")

    def accepts(self, secret: str) -> bool:
        """Whether a receiver holding `secret` verifies the last delivery."""
        headers, body = self.received[-1]
        now = registry_clock.now().timestamp()
        try:
            outbound.verify(secret, headers, body, now=now)
        except outbound.VerificationError:
            return False
        return True


@pytest.fixture
def hook(app, client, as_role) -> dict:
    registry = app.extensions["registry"]
    registry.settings = registry.settings.replace(webhook_allow_private=True)
    response = client.post(URL, json={"url": "http://127.0.0.1:9/a"}, headers=as_role("customer_a"))
    assert response.status_code == 201, response.get_json()
    return {**response.get_json(), "etag": response.headers["ETag"]}


def rotate(client, as_role, webhook_id: str, role="customer_a", **body):
    return client.post(f"{URL}/{webhook_id}/rotate-secret", json=body, headers=as_role(role))


def announce(client, as_role, name: str = "Nimbus") -> None:
    """A change customers are told of: one delivery queued for the endpoint."""
    created = client.post(
        "/v1/subprocessors", json=nimbus(name=name, effective_on=None), headers=as_role("admin")
    )
    assert created.status_code == 201, created.get_json()


def deliver(registry, client, as_role) -> Receiver:
    announce(client, as_role, name=f"Vendor {next(_VENDORS)}")
    receiver = Receiver()
    assert Worker(registry.db, SETTINGS, jitter=lambda: 0.0, post=receiver).step() == 1
    return receiver


def stored_previous(registry, webhook_id: str) -> tuple:
    # The table itself: what a copy of the database would give away.
    return (
        registry.db.connection()
        .execute(
            "SELECT previous_secret, previous_secret_expires_at FROM webhooks WHERE id = ?",
            [webhook_id],
        )
        .fetchone()
    )


def rotations(registry) -> list[dict]:
    return [
        e
        for e in audit_store.iter_all(registry.db.connection())
        if e["action"] == "webhook.rotate_secret"
    ]


# --- the header ------------------------------------------------------------------------------


def test_one_signature_per_secret_newest_first_space_separated():
    new, old = outbound.new_secret(), outbound.new_secret()
    headers = outbound.signed_headers([new, old], MESSAGE_ID, TIMESTAMP, BODY)
    assert headers["webhook-signature"] == (
        f"{outbound.sign(new, MESSAGE_ID, TIMESTAMP, BODY)} "
        f"{outbound.sign(old, MESSAGE_ID, TIMESTAMP, BODY)}"
    )
    for secret in (new, old):
        assert outbound.verify(secret, headers, BODY, now=TIMESTAMP) == MESSAGE_ID
    with pytest.raises(outbound.VerificationError):
        outbound.verify(outbound.new_secret(), headers, BODY, now=TIMESTAMP)
    # One secret: one signature, as before.
    alone = outbound.signed_headers(new, MESSAGE_ID, TIMESTAMP, BODY)["webhook-signature"]
    assert alone == outbound.sign(new, MESSAGE_ID, TIMESTAMP, BODY)
    with pytest.raises(ValueError):
        outbound.signed_headers([], MESSAGE_ID, TIMESTAMP, BODY)


# --- the API ---------------------------------------------------------------------------------


def test_rotation_shows_the_new_secret_once(client, as_role, registry, hook, clock):
    clock.stop()
    clock.advance(seconds=1)  # a rotation after the endpoint's creation, never in its millisecond
    rotated = rotate(client, as_role, hook["id"], overlap_hours=48)
    assert rotated.status_code == 200, rotated.get_json()
    body = rotated.get_json()
    assert body["secret"].startswith("whsec_") and body["secret"] != hook["secret"]
    assert body["id"] == hook["id"] and body["url"] == hook["url"]
    assert body["secret_created_at"] == registry_clock.timestamp()
    assert body["secret_created_at"] != hook["secret_created_at"]
    expires = datetime.fromisoformat(body["previous_secret_expires_at"])
    assert expires - clock.now == timedelta(hours=48)
    assert rotated.headers["ETag"] != hook["etag"]

    read = client.get(f"{URL}/{hook['id']}", headers=as_role("customer_a"))
    assert read.headers["ETag"] == rotated.headers["ETag"]
    shown = read.get_data(as_text=True) + json.dumps(client.get(URL, headers=as_role("admin")).json)
    assert body["secret"] not in shown and hook["secret"] not in shown
    assert "secret" not in read.get_json()
    assert read.get_json()["previous_secret_expires_at"] == body["previous_secret_expires_at"]
    # The old ETag is stale: a write based on the endpoint before rotation is refused.
    stale = client.patch(
        f"{URL}/{hook['id']}",
        json={"description": "x"},
        headers={**as_role("customer_a"), "If-Match": hook["etag"]},
    )
    assert stale.status_code == 412


def test_rotation_without_a_body_keeps_the_old_secret_a_day(client, as_role, hook, clock):
    clock.stop()
    response = client.post(f"{URL}/{hook['id']}/rotate-secret", headers=as_role("customer_a"))
    assert response.status_code == 200, response.get_json()
    expires = datetime.fromisoformat(response.get_json()["previous_secret_expires_at"])
    assert expires - clock.now == timedelta(hours=24)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"overlap_hours": -1}, "/overlap_hours"),
        ({"overlap_hours": 169}, "/overlap_hours"),
        ({"overlap_hours": "24"}, "/overlap_hours"),
        ({"overlap_hours": 1.5}, "/overlap_hours"),
        ({"overlap_hours": None}, "/overlap_hours"),
        ({"secret": "whsec_mine"}, "/secret"),
    ],
    ids=["negative", "over a week", "string", "fraction", "null", "own secret"],
)
def test_invalid_rotations_are_422_and_change_nothing(
    client, as_role, registry, hook, body, pointer
):
    response = rotate(client, as_role, hook["id"], **body)
    assert response.status_code == 422, response.get_json()
    assert [e["pointer"] for e in response.get_json()["errors"]] == [pointer]
    read = client.get(f"{URL}/{hook['id']}", headers=as_role("customer_a"))
    assert read.headers["ETag"] == hook["etag"]
    assert rotations(registry) == []


@pytest.mark.parametrize(
    ("role", "status"),
    [("customer_b", 404), ("admin", 403), ("procurement", 404), ("service", 403)],
)
def test_only_the_owner_rotates(client, as_role, registry, hook, role, status):
    response = rotate(client, as_role, hook["id"], role=role)
    assert response.status_code == status
    assert "whsec_" not in response.get_data(as_text=True)
    assert rotations(registry) == []
    assert rotate(client, as_role, "whk_missing").status_code == 404


def test_rotation_is_audited_without_any_secret(client, as_role, registry, hook, clock):
    clock.stop()
    clock.advance(seconds=1)  # a rotation after the endpoint's creation, never in its millisecond
    first = rotate(client, as_role, hook["id"], overlap_hours=2).get_json()
    clock.advance(minutes=30)
    second = rotate(client, as_role, hook["id"], overlap_hours=0).get_json()
    one, two = rotations(registry)
    assert one["object_id"] == hook["id"] and one["actor"]["customer_id"] == "cust-a"
    assert one["change"] == {
        "overlap_hours": 2,
        "previous_secret_dropped": False,
        "secret_created_at": {"from": hook["secret_created_at"], "to": first["secret_created_at"]},
        "previous_secret_expires_at": {"from": None, "to": first["previous_secret_expires_at"]},
    }
    # The second rotation ended the first one's window early: the trail says so.
    assert two["change"] == {
        "overlap_hours": 0,
        "previous_secret_dropped": True,
        "secret_created_at": {
            "from": first["secret_created_at"],
            "to": second["secret_created_at"],
        },
        "previous_secret_expires_at": {"from": first["previous_secret_expires_at"], "to": None},
    }
    trail = json.dumps([one, two])
    for secret in (hook["secret"], first["secret"], second["secret"]):
        assert secret not in trail
        assert secret.removeprefix("whsec_") not in trail
    assert verify_chain(audit_store.iter_all(registry.db.connection()))[1] is None


# --- what the worker signs with --------------------------------------------------------------


def test_both_secrets_sign_during_the_window_then_the_old_one_is_gone(
    client, as_role, registry, hook, clock
):
    clock.stop()
    old = hook["secret"]
    before = deliver(registry, client, as_role)
    assert len(before.signatures()) == 1 and before.accepts(old)

    new = rotate(client, as_role, hook["id"], overlap_hours=24).get_json()["secret"]
    during = deliver(registry, client, as_role)
    headers, body = during.received[-1]
    timestamp = int(headers["webhook-timestamp"])
    assert during.signatures() == [
        outbound.sign(new, headers["webhook-id"], timestamp, body),
        outbound.sign(old, headers["webhook-id"], timestamp, body),
    ]
    assert during.accepts(new) and during.accepts(old)

    clock.advance(hours=23, minutes=59)
    assert deliver(registry, client, as_role).accepts(old), "the window lasts its 24 hours"
    assert stored_previous(registry, hook["id"])[0] == old

    clock.advance(minutes=1)
    after = deliver(registry, client, as_role)
    assert len(after.signatures()) == 1 and after.accepts(new) and not after.accepts(old)
    # Removed from the database, not merely left unused.
    assert stored_previous(registry, hook["id"]) == (None, None)
    read = client.get(f"{URL}/{hook['id']}", headers=as_role("customer_a")).get_json()
    assert read["previous_secret_expires_at"] is None


def test_an_idle_worker_removes_the_expired_secret(client, as_role, registry, hook, clock):
    clock.stop()
    rotate(client, as_role, hook["id"], overlap_hours=1)
    worker = Worker(registry.db, SETTINGS, post=Receiver())
    clock.advance(minutes=59)
    assert worker.step() == 0
    assert stored_previous(registry, hook["id"])[0] == hook["secret"]
    clock.advance(minutes=1)
    assert worker.step() == 0, "nothing to deliver, yet the round removes the secret"
    assert stored_previous(registry, hook["id"]) == (None, None)


def test_reading_the_endpoint_removes_the_expired_secret(client, as_role, registry, hook, clock):
    # No worker running: the next read of the endpoint removes it.
    clock.stop()
    rotated = rotate(client, as_role, hook["id"], overlap_hours=1)
    clock.advance(hours=1)
    read = client.get(f"{URL}/{hook['id']}", headers=as_role("customer_a"))
    assert read.get_json()["previous_secret_expires_at"] is None
    assert read.headers["ETag"] != rotated.headers["ETag"], "what the endpoint shows changed"
    assert stored_previous(registry, hook["id"]) == (None, None)
    # And the list does the same for every endpoint it shows.
    rotate(client, as_role, hook["id"], overlap_hours=1)
    clock.advance(hours=2)
    assert client.get(URL, headers=as_role("customer_a")).status_code == 200
    assert stored_previous(registry, hook["id"]) == (None, None)


def test_a_claim_never_hands_out_an_expired_secret(client, as_role, registry, hook, clock):
    clock.stop()
    new = rotate(client, as_role, hook["id"], overlap_hours=1).get_json()["secret"]
    announce(client, as_role)
    clock.advance(hours=1)
    with registry.db.write() as tx:  # a claim alone, before anything removed the secret
        (claimed,) = store.claim(
            tx, now=clock.now, lease_until=clock.now + timedelta(seconds=60), limit=5
        )
    assert claimed["secrets"] == [new]
    assert stored_previous(registry, hook["id"])[0] == hook["secret"]


def test_rotating_again_drops_the_oldest_secret(client, as_role, registry, hook, clock):
    clock.stop()
    first = rotate(client, as_role, hook["id"], overlap_hours=24).get_json()
    clock.advance(hours=1)
    second = rotate(client, as_role, hook["id"], overlap_hours=6).get_json()
    assert datetime.fromisoformat(second["previous_secret_expires_at"]) - clock.now == timedelta(
        hours=6
    ), "the window starts again, for the secret just replaced"
    received = deliver(registry, client, as_role)
    assert len(received.signatures()) == 2, "at most two secrets sign"
    assert received.accepts(second["secret"]) and received.accepts(first["secret"])
    assert not received.accepts(hook["secret"])


def test_no_overlap_stops_the_old_secret_at_once(client, as_role, registry, hook, clock):
    rotated = rotate(client, as_role, hook["id"], overlap_hours=0).get_json()
    assert rotated["previous_secret_expires_at"] is None
    assert stored_previous(registry, hook["id"]) == (None, None)
    received = deliver(registry, client, as_role)
    assert len(received.signatures()) == 1
    assert received.accepts(rotated["secret"]) and not received.accepts(hook["secret"])
