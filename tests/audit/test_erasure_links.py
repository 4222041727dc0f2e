"""After an erasure the customer's audit entries link to nothing and to each other by nothing
(no key id, no customer id), the people who acted on it keep their names, and the chain
still verifies."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from itertools import combinations

import pytest
from helpers import TODAY, bearer, nimbus

from registry.audit import service as audit

CUSTOMER = "zebra-logistics"
ADMIN_NAME = "Alice Admin"
KEY_ID = re.compile(r"key_[0-9a-f]{16}")


@pytest.fixture
def alice(client, as_role) -> dict:
    """An admin key named after the person who holds it."""
    made = client.post(
        "/v1/keys", json={"role": "admin", "name": ADMIN_NAME}, headers=as_role("admin")
    )
    assert made.status_code == 201, made.get_json()
    return {**bearer(made.get_json()["token"]), "key_id": made.get_json()["id"]}


@pytest.fixture
def zebra(client, alice) -> dict:
    """Alice issues the customer's key; the customer then leaves entries in several features."""
    made = client.post(
        "/v1/keys",
        json={"role": "customer", "name": "Zebra's portal", "customer_id": CUSTOMER},
        headers={k: v for k, v in alice.items() if k != "key_id"},
    )
    assert made.status_code == 201, made.get_json()
    return {**bearer(made.get_json()["token"]), "key_id": made.get_json()["id"]}


def headers(caller: dict, **extra) -> dict:
    return {**{k: v for k, v in caller.items() if k != "key_id"}, **extra}


def leave_traces(client, alice, zebra) -> None:
    staff = headers(alice)
    vendor = client.post("/v1/subprocessors", json=nimbus(), headers=staff).get_json()
    proposed = client.post(
        "/v1/subprocessors",
        json=nimbus(name="Proposed", effective_on=(TODAY + timedelta(days=60)).isoformat()),
        headers=staff,
    ).get_json()
    hook = client.post(
        "/v1/webhooks", json={"url": "https://93.184.215.14/zebra"}, headers=headers(zebra)
    )
    assert hook.status_code == 201, hook.get_json()
    changed = client.patch(
        f"/v1/webhooks/{hook.get_json()['id']}",
        json={"events": ["subprocessor.announced"]},
        headers=headers(zebra, **{"If-Match": hook.headers["ETag"]}),
    )
    assert changed.status_code == 200, changed.get_json()
    asked = client.post(
        "/v1/documentation-requests",
        json={"subprocessor_ids": [vendor["id"]]},
        headers=headers(zebra),
    )
    assert asked.status_code == 201, asked.get_json()
    objected = client.post(
        f"/v1/subprocessors/{proposed['id']}/objections",
        json={"reason": "We object."},
        headers=headers(zebra),
    )
    assert objected.status_code == 201, objected.get_json()


def erase(client, alice) -> None:
    path = f"/v1/customers/{CUSTOMER}"
    etag = client.get(path, headers=headers(alice)).headers["ETag"]
    erased = client.delete(path, headers=headers(alice, **{"If-Match": etag}))
    assert erased.status_code == 200, erased.get_json()


def stored_rows(registry) -> dict[int, dict]:
    """Each audit entry as stored (the hashed JSON, before any payload is put back)."""
    conn = registry.db.connection()
    rows = conn.execute("SELECT seq, actor, action, object_id, change FROM audit").fetchall()
    return {
        seq: {"actor": actor, "action": action, "object_id": object_id, "change": change}
        for seq, actor, action, object_id, change in rows
    }


def test_the_erased_customers_entries_hold_no_key_id_or_customer_id(client, registry, alice, zebra):
    leave_traces(client, alice, zebra)
    conn = registry.db.connection()
    mine = [
        e["seq"]
        for e in audit.entries(conn)
        if e["actor"].get("role") == "customer" and e["actor"].get("customer_id") == CUSTOMER
    ]
    assert len(mine) >= 4  # webhook create and update, a request, an objection
    # Before the erasure, the trail shows who acted, key id included.
    shown = {e["seq"]: e for e in audit.entries(conn)}
    assert all(shown[seq]["actor"]["key_id"] == zebra["key_id"] for seq in mine)

    erase(client, alice)

    rows = stored_rows(registry)
    for seq in mine:
        text = json.dumps(rows[seq])
        assert zebra["key_id"] not in text, rows[seq]
        assert CUSTOMER not in text, rows[seq]
    # Nothing anywhere in the trail names the key but the admin's own entries about the key
    # (key.create): it no longer leads to the customer's entries.
    naming_key = [r["action"] for r in rows.values() if zebra["key_id"] in json.dumps(r)]
    assert set(naming_key) <= {"key.create", "key.revoke"}
    # No two of the customer's entries share an actor as stored: each holds its own digest.
    actors = [rows[seq]["actor"] for seq in mine]
    assert all(a != b for a, b in combinations(actors, 2))
    # Nor any identifier: the only id-like strings left are sub-processor and object ids.
    for a, b in combinations(mine, 2):
        shared = set(KEY_ID.findall(json.dumps(rows[a]))) & set(KEY_ID.findall(json.dumps(rows[b])))
        assert not shared, (rows[a], rows[b])

    # As the API shows it: erased, with per-entry digests.
    trail = client.get("/v1/audit?limit=100", headers=headers(alice)).get_json()["items"]
    theirs = [e for e in trail if e["seq"] in mine]
    assert all(e["actor"]["key_id"] == {"erased": True} for e in theirs)
    assert all(e["actor"]["customer_id"] == {"erased": True} for e in theirs)
    digests = [
        p["digest"] for e in theirs for p in e["personal_data"] if p["pointer"] == "/actor/key_id"
    ]
    assert len(digests) == len(mine) == len(set(digests))


def test_the_admin_who_issued_the_key_keeps_its_name(client, registry, alice, zebra):
    leave_traces(client, alice, zebra)
    erase(client, alice)
    conn = registry.db.connection()
    (issued,) = [
        e
        for e in audit.entries(conn)
        if e["action"] == "key.create" and e["object_id"] == zebra["key_id"]
    ]
    # Alice is who issued it, and stays so; what the key was (the customer's) is erased.
    assert issued["actor"]["name"] == ADMIN_NAME
    assert issued["actor"]["key_id"] == alice["key_id"]
    assert issued["change"]["name"] == {"erased": True}
    assert issued["change"]["customer_id"] == {"erased": True}
    # So are her other entries: the vendors she recorded.
    made_by_alice = [e for e in audit.entries(conn) if e["actor"]["key_id"] == alice["key_id"]]
    assert len(made_by_alice) >= 3
    assert all(e["actor"]["name"] == ADMIN_NAME for e in made_by_alice)


def test_the_chain_verifies_after_the_erasure(client, registry, runner, alice, zebra):
    leave_traces(client, alice, zebra)
    erase(client, alice)
    checked = audit.PayloadCount()
    _, broken = audit.verify(audit.entries(registry.db.connection()), checked)
    assert broken is None
    assert checked.erased >= 8
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "audit trail ok" in verified.output
