"""/v1/keys and the key lifecycle: admins make and revoke keys, keys expire, customer ids are
slugs, and each key's last day of use is recorded without a write per request."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from helpers import TODAY, bearer, days_from_today, make_token

from registry.keys.store import create_key

URL = "/v1/keys"
FIELDS = {
    "id",
    "name",
    "role",
    "customer_id",
    "created_at",
    "expires_on",
    "revoked_at",
    "last_used_on",
}
TOMORROW = (TODAY + timedelta(days=1)).isoformat()


@pytest.fixture
def admin(as_role):
    return as_role("admin")


@pytest.fixture
def make(client, admin):
    def post(**body):
        response = client.post(URL, json={"role": "service", "name": "svc", **body}, headers=admin)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response

    return post


def count_keys(registry) -> int:
    return registry.db.connection().execute("SELECT count(*) FROM api_keys").fetchone()[0]


def audit_entries(client, admin, action: str) -> list[dict]:
    return client.get(f"/v1/audit?action={action}", headers=admin).get_json()["items"]


# --- creating ---------------------------------------------------------------------------------


def test_create_shows_the_token_once_and_it_works(client, admin, make, tokens):
    created = make(role="procurement", name="buyer")
    body = created.get_json()
    assert set(body) == FIELDS | {"token"}
    assert body["role"] == "procurement" and body["customer_id"] is None
    assert body["expires_on"] is None and body["revoked_at"] is None
    assert body["last_used_on"] is None
    assert created.headers["Location"].endswith(f"{URL}/{body['id']}")
    token = body["token"]
    assert client.get("/v1/compliance", headers=bearer(token)).status_code == 200

    secret = token.split("_", 3)[3]
    read = client.get(created.headers["Location"], headers=admin)
    listed = client.get(URL, headers=admin)
    trail = client.get("/v1/audit", headers=admin)
    for response in (read, listed, trail):
        assert response.status_code == 200
        assert secret not in response.get_data(as_text=True)
        assert "token_hash" not in response.get_data(as_text=True)
    assert set(read.get_json()) == FIELDS
    [entry] = audit_entries(client, admin, "key.create")
    assert entry["object_id"] == body["id"]
    assert entry["actor"]["key_id"] == "key_" + tokens["admin"].split("_")[2]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"role": "customer", "name": "acme"}, "/customer_id"),
        ({"role": "customer", "name": "acme", "customer_id": None}, "/customer_id"),
        ({"role": "admin", "name": "ops", "customer_id": "acme"}, "/customer_id"),
        ({"role": "customer", "name": "acme", "customer_id": "  "}, "/customer_id"),
        ({"role": "customer", "name": "acme", "customer_id": ""}, "/customer_id"),
        ({"role": "customer", "name": "acme", "customer_id": "ac me"}, "/customer_id"),
        ({"role": "customer", "name": "acme", "customer_id": "-acme"}, "/customer_id"),
        ({"role": "customer", "name": "acme", "customer_id": "a" * 65}, "/customer_id"),
        ({"role": "customer", "name": "acme", "customer_id": "acmé"}, "/customer_id"),
        ({"role": "root", "name": "ops"}, "/role"),
        ({"role": "admin", "name": "  "}, "/name"),
        ({"role": "admin"}, "/name"),
        ({"role": "admin", "name": "ops", "expires_on": TODAY.isoformat()}, "/expires_on"),
        ({"role": "admin", "name": "ops", "expires_on": days_from_today(-327)}, "/expires_on"),
        ({"role": "admin", "name": "ops", "expires_on": "2027-02-30"}, "/expires_on"),
        ({"role": "admin", "name": "ops", "token": "mine"}, "/token"),
    ],
)
def test_create_refuses_bad_values(client, admin, registry, body, pointer):
    before = count_keys(registry)
    response = client.post(URL, json=body, headers=admin)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert pointer in [error["pointer"] for error in response.get_json()["errors"]]
    assert count_keys(registry) == before


@pytest.mark.parametrize(
    ("given", "stored"), [("Acme", "acme"), ("acme", "acme"), ("ACME-2", "acme-2"), ("7x", "7x")]
)
def test_customer_ids_are_folded_to_one_slug(client, make, given, stored):
    body = make(role="customer", name="acme", customer_id=given).get_json()
    assert body["customer_id"] == stored
    # The customer sees what "acme" owns, whichever case its key was made with.
    listed = client.get("/v1/documentation-requests", headers=bearer(body["token"]))
    assert listed.status_code == 200


def test_customer_ids_differing_in_case_are_one_customer(client, make):
    first = make(role="customer", name="a", customer_id="Acme").get_json()
    second = make(role="customer", name="b", customer_id="acme").get_json()
    assert first["customer_id"] == second["customer_id"] == "acme"


def test_keys_made_before_the_slug_rule_keep_working(client, registry):
    with registry.db.write() as tx:
        _, token = create_key(tx, role="customer", name="legacy", customer_id="Legacy Co")
    assert client.get("/v1/subprocessors", headers=bearer(token)).status_code == 200


def test_expires_on_tomorrow_is_accepted(make):
    assert make(expires_on=TOMORROW).get_json()["expires_on"] == TOMORROW


# --- expiry -----------------------------------------------------------------------------------


def test_a_key_works_through_its_expiry_day_and_not_after(client, make, clock):
    last_day = TODAY + timedelta(days=3)
    token = make(role="admin", name="temp", expires_on=last_day.isoformat()).get_json()["token"]
    clock.today = last_day
    assert client.get("/v1/subprocessors", headers=bearer(token)).status_code == 200
    clock.today = last_day + timedelta(days=1)
    refused = client.get("/v1/subprocessors", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert "expired" in refused.get_json()["detail"]
    assert last_day.isoformat() in refused.get_json()["detail"]
    # Even where no token is needed, a token sent must be valid.
    assert client.get("/v1/health", headers=bearer(token)).status_code == 401


def test_the_fast_path_refuses_an_expired_service_key(client, make, clock):
    path = "/v1/allowed-processors?data_category=user.contact.email"
    last_day = TODAY + timedelta(days=1)
    token = make(role="service", name="svc", expires_on=last_day.isoformat()).get_json()["token"]
    clock.today = last_day
    answered = client.get(path, headers=bearer(token))
    assert answered.status_code == 200
    clock.today = last_day + timedelta(days=1)
    refused = client.get(path, headers=bearer(token))
    assert refused.status_code == 401
    assert "expired" in refused.get_json()["detail"]
    again = client.get(path, headers={**bearer(token), "If-None-Match": answered.headers["ETag"]})
    assert again.status_code == 401


def test_a_key_without_expiry_works_years_later(client, registry, clock):
    token = make_token(registry, "admin")
    clock.today = date(2040, 1, 1)
    assert client.get("/v1/subprocessors", headers=bearer(token)).status_code == 200


# --- last use ---------------------------------------------------------------------------------


def test_last_use_is_recorded_once_a_day(client, admin, make, registry, clock):
    body = make(role="service", name="svc").get_json()
    location = f"{URL}/{body['id']}"
    path = "/v1/allowed-processors?data_category=user.contact.email"
    assert client.get(location, headers=admin).get_json()["last_used_on"] is None

    assert client.get(path, headers=bearer(body["token"])).status_code == 200  # the fast path
    assert client.get(location, headers=admin).get_json()["last_used_on"] == TODAY.isoformat()

    conn = registry.db.connection()  # the test client's requests run on this thread
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        for _ in range(3):
            assert client.get(path, headers=bearer(body["token"])).status_code == 200
            assert client.get("/v1/compliance", headers=bearer(body["token"])).status_code == 403
    finally:
        conn.set_trace_callback(None)
    assert statements, "the requests ran on another connection"
    written = [s for s in statements if not s.lstrip().upper().startswith(("SELECT", "BEGIN"))]
    written = [s for s in written if not s.strip().upper().startswith(("COMMIT", "PRAGMA"))]
    assert not written, "a key used again the same day is not written again"

    clock.today = TODAY + timedelta(days=2)
    assert client.get(path, headers=bearer(body["token"])).status_code == 200
    read = client.get(location, headers=admin).get_json()
    assert read["last_used_on"] == (TODAY + timedelta(days=2)).isoformat()


def test_a_refused_token_records_no_use(client, admin, make, registry, clock):
    body = make(role="service", name="svc", expires_on=TOMORROW).get_json()
    clock.today = TODAY + timedelta(days=5)
    assert client.get("/v1/subprocessors", headers=bearer(body["token"])).status_code == 401
    used = registry.db.connection().execute(
        "SELECT last_used_on FROM api_keys WHERE id = ?", [body["id"]]
    )
    assert used.fetchone()[0] is None


# --- reading ----------------------------------------------------------------------------------


def test_list_is_paginated_oldest_first(client, admin, make):
    made = [make(name=f"svc {i}").get_json()["id"] for i in range(3)]
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(URL + query, headers=admin).get_json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        for item in page["items"]:
            assert set(item) == FIELDS
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[-3:] == made
    assert len(seen) == len(set(seen))


def test_an_unknown_key_is_404(client, admin):
    response = client.get(f"{URL}/key_0000000000000000", headers=admin)
    assert response.status_code == 404


# --- revoking ---------------------------------------------------------------------------------


def test_revoke_needs_if_match_then_stops_the_token(client, admin, make, tokens):
    body = make(role="procurement", name="buyer").get_json()
    location = f"{URL}/{body['id']}"
    assert client.delete(location, headers=admin).status_code == 428
    stale = client.delete(location, headers={**admin, "If-Match": '"stale"'})
    assert stale.status_code == 412
    assert client.get("/v1/compliance", headers=bearer(body["token"])).status_code == 200

    etag = client.get(location, headers=admin).headers["ETag"]
    revoked = client.delete(location, headers={**admin, "If-Match": etag})
    assert revoked.status_code == 200, revoked.get_data(as_text=True)
    assert revoked.get_json()["revoked_at"] is not None
    assert set(revoked.get_json()) == FIELDS
    refused = client.get("/v1/compliance", headers=bearer(body["token"]))
    assert refused.status_code == 401
    [entry] = audit_entries(client, admin, "key.revoke")
    assert entry["object_id"] == body["id"]
    assert entry["actor"]["key_id"] == "key_" + tokens["admin"].split("_")[2]

    # Revoked already: the old ETag no longer matches (412); the new one finds it done (409).
    assert client.delete(location, headers={**admin, "If-Match": etag}).status_code == 412
    etag = client.get(location, headers=admin).headers["ETag"]
    again = client.delete(location, headers={**admin, "If-Match": etag})
    assert again.status_code == 409
    assert len(audit_entries(client, admin, "key.revoke")) == 1


def test_revoking_an_unknown_key_is_404(client, admin):
    response = client.delete(f"{URL}/key_0000000000000000", headers={**admin, "If-Match": '"x"'})
    assert response.status_code == 404


def test_an_admin_cannot_revoke_the_key_it_is_using(client, make):
    body = make(role="admin", name="me").get_json()
    own = bearer(body["token"])
    location = f"{URL}/{body['id']}"
    etag = client.get(location, headers=own).headers["ETag"]
    refused = client.delete(location, headers={**own, "If-Match": etag})
    assert refused.status_code == 409
    assert "making the request" in refused.get_json()["detail"]
    assert client.get(location, headers=own).get_json()["revoked_at"] is None


def test_the_trail_never_holds_a_token(client, admin, make, registry):
    token = make(role="customer", name="acme", customer_id="acme").get_json()["token"]
    rows = registry.db.connection().execute("SELECT * FROM audit").fetchall()
    assert token.split("_", 3)[3] not in json.dumps(rows, default=str)
