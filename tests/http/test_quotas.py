"""What one customer's keys can make the registry store is bounded: quotas on documentation
requests, webhooks and objections (409 standing, 429 per 24 hours, problem+json with a
pointer), audit entries holding a count and a digest in place of a long list, and webhook
delivery logs kept to a cap."""

from __future__ import annotations

import hashlib
import json

import pytest
from helpers import CA, IN, NL, URL, nimbus, problem, vendor

from registry.audit import chain
from registry.audit import store as audit_store
from registry.webhooks import store as webhook_store
from registry.webhooks.outbound import Outcome
from registry.webhooks.worker import Worker

REQUESTS = "/v1/documentation-requests"
HOOKS = "/v1/webhooks"
HOOK_URL = "https://hooks.example.com/registry"


def refused(response, status: int) -> dict:
    """The problem of a write refused over a quota: its status, type and root pointer."""
    body = problem(response, status)
    slug = {409: "conflict", 429: "too-many-requests"}[status]
    assert body["type"].endswith("/" + slug) and body["status"] == status
    assert [e["pointer"] for e in body["errors"]] == [""]
    assert "REGISTRY_QUOTA_" in body["detail"]
    assert ("Retry-After" in response.headers) == (status == 429)
    return body


def entries(registry, action: str | None = None) -> list[dict]:
    found = list(audit_store.iter_all(registry.db.connection()))
    return [e for e in found if action is None or e["action"] == action]


def created(response) -> dict:
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


# --- documentation requests -------------------------------------------------------------------


def test_documentation_requests_over_the_daily_quota_are_429_until_one_leaves_the_window(
    app_with, as_role, clock
):
    app = app_with(quota_documentation_requests=2, quota_open_documentation_requests=0)
    client, cust_a = app.test_client(), as_role("customer_a")
    clock.stop()
    created(client.post(URL, json=nimbus(), headers=as_role("procurement")))
    created(client.post(REQUESTS, json={}, headers=cust_a))
    clock.advance(hours=1)
    created(client.post(REQUESTS, json={}, headers=cust_a))

    over = client.post(REQUESTS, json={}, headers=cust_a)
    body = refused(over, 429)
    # The first request leaves the 24 hours 23 hours from now.
    assert over.headers["Retry-After"] == str(23 * 3600)
    assert "QUOTA_DOCUMENTATION_REQUESTS" in body["detail"]
    # Another customer has a quota of its own; the refusal stored nothing.
    created(client.post(REQUESTS, json={}, headers=as_role("customer_b")))
    assert len(entries(app.extensions["registry"], "documentation_request.create")) == 3

    clock.advance(hours=23)
    created(client.post(REQUESTS, json={}, headers=cust_a))


def test_open_documentation_requests_are_bounded_and_fulfilled_ones_do_not_count(app_with, as_role):
    app = app_with(quota_documentation_requests=0, quota_open_documentation_requests=1)
    client, cust_a, staff = app.test_client(), as_role("customer_a"), as_role("procurement")
    pending = created(client.post(URL, json=nimbus(), headers=staff))  # SCCs to India
    adequate = created(client.post(URL, json=vendor("Maple", NL, CA), headers=staff))

    for _ in range(2):  # fulfilled at once (adequacy): never open
        done = created(
            client.post(REQUESTS, json={"subprocessor_ids": [adequate["id"]]}, headers=cust_a)
        )
        assert {item["status"] for item in done["items"]} == {"fulfilled"}
    created(client.post(REQUESTS, json={"subprocessor_ids": [pending["id"]]}, headers=cust_a))

    body = refused(
        client.post(REQUESTS, json={"subprocessor_ids": [adequate["id"]]}, headers=cust_a), 409
    )
    assert "QUOTA_OPEN_DOCUMENTATION_REQUESTS" in body["detail"]
    created(client.post(REQUESTS, json={}, headers=as_role("customer_b")))


def test_a_documentation_request_on_a_large_register_leaves_an_audit_entry_of_bounded_size(
    client, registry, as_role, runner
):
    staff = as_role("procurement")
    count = 3 * chain.LIST_LIMIT
    for number in range(count):
        created(
            client.post(
                URL,
                json=vendor(f"Vendor {number:03d}", NL, IN, effective_on="2025-01-01"),
                headers=staff,
            )
        )
    request = created(client.post(REQUESTS, json={}, headers=as_role("customer_a")))
    assert len(request["items"]) == count

    (entry,) = entries(registry, "documentation_request.create")
    change = entry["change"]
    assert change["scope"] == "all_active"
    assert change["items"]["count"] == count
    assert change["subprocessor_ids"] == {
        "count": count,
        "sha256": hashlib.sha256(
            chain.canonical([item["subprocessor_id"] for item in request["items"]])
        ).hexdigest(),
    }
    stored = (
        registry.db.connection()
        .execute("SELECT length(change) FROM audit WHERE seq = ?", [entry["seq"]])
        .fetchone()[0]
    )
    assert stored < 400, stored
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_short_lists_stay_readable_and_long_ones_become_a_count_and_digest():
    long = list(range(chain.LIST_LIMIT + 1))
    short = list(range(chain.LIST_LIMIT))
    value = {"short": short, "nested": [{"long": long}], "kept": long}
    bounded = chain.bounded({"change": value}, frozenset({("change", "kept")}))["change"]
    digest = hashlib.sha256(json.dumps(long, separators=(",", ":")).encode()).hexdigest()
    assert bounded == {
        "short": short,
        "nested": [{"long": {"count": len(long), "sha256": digest}}],
        "kept": long,
    }


# --- objections -------------------------------------------------------------------------------


def test_open_objections_are_bounded_until_one_is_withdrawn(app_with, as_role):
    app = app_with(quota_open_objections=1)
    client, cust_a, staff = app.test_client(), as_role("customer_a"), as_role("procurement")
    first, second = (
        created(client.post(URL, json=nimbus(name=name, effective_on=None), headers=staff))
        for name in ("Proposed One", "Proposed Two")
    )
    objected = client.post(f"{URL}/{first['id']}/objections", json={}, headers=cust_a)
    assert objected.status_code == 201, objected.get_data(as_text=True)

    body = refused(client.post(f"{URL}/{second['id']}/objections", json={}, headers=cust_a), 409)
    assert "QUOTA_OPEN_OBJECTIONS" in body["detail"]
    other = client.post(f"{URL}/{second['id']}/objections", json={}, headers=as_role("customer_b"))
    assert other.status_code == 201

    withdrawn = client.patch(
        objected.headers["Location"],
        json={"status": "withdrawn"},
        headers={**cust_a, "If-Match": objected.headers["ETag"]},
    )
    assert withdrawn.status_code == 200, withdrawn.get_data(as_text=True)
    assert (
        client.post(f"{URL}/{second['id']}/objections", json={}, headers=cust_a).status_code == 201
    )


# --- webhooks ---------------------------------------------------------------------------------


@pytest.fixture
def hooks_app(app_with):
    return app_with(quota_webhook_changes=4, webhook_allow_private=True)


def test_webhooks_held_over_the_quota_are_409(app_with, as_role):
    app = app_with(quota_webhooks=2)
    client = app.test_client()
    for _ in range(2):
        created(client.post(HOOKS, json={"url": HOOK_URL}, headers=as_role("customer_a")))
    body = refused(client.post(HOOKS, json={"url": HOOK_URL}, headers=as_role("customer_a")), 409)
    assert "QUOTA_WEBHOOKS" in body["detail"]


def test_webhook_churn_is_refused_after_the_daily_quota_and_stores_nothing_more(
    hooks_app, as_role, clock
):
    client, cust_a, admin = hooks_app.test_client(), as_role("customer_a"), as_role("admin")
    registry = hooks_app.extensions["registry"]
    clock.stop()
    made = client.post(HOOKS, json={"url": HOOK_URL}, headers=cust_a)  # 1
    item, etag = made.headers["Location"], made.headers["ETag"]
    changed = client.patch(item, json={"description": "x"}, headers={**cust_a, "If-Match": etag})
    assert changed.status_code == 200  # 2
    rotated = client.post(f"{item}/rotate-secret", json={}, headers=cust_a)
    assert rotated.status_code == 200  # 3
    deleted = client.delete(item, headers={**cust_a, "If-Match": rotated.headers["ETag"]})
    assert deleted.status_code == 204  # 4

    trail = len(entries(registry))
    size = registry.db.connection().execute("SELECT sum(length(change)) FROM audit").fetchone()
    for _ in range(5):
        refused(client.post(HOOKS, json={"url": HOOK_URL}, headers=cust_a), 429)
    assert len(entries(registry)) == trail
    assert (
        registry.db.connection().execute("SELECT sum(length(change)) FROM audit").fetchone() == size
    )
    assert registry.db.connection().execute("SELECT count(*) FROM webhooks").fetchone()[0] == 0

    # Staff writes are not the customer's; another customer has its own quota.
    created(client.post(HOOKS, json={"url": HOOK_URL}, headers=as_role("customer_b")))
    clock.advance(hours=24)
    again = created(client.post(HOOKS, json={"url": HOOK_URL}, headers=cust_a))
    hook = client.get(f"{HOOKS}/{again['id']}", headers=admin)
    paused = client.patch(
        f"{HOOKS}/{again['id']}",
        json={"enabled": False},
        headers={**admin, "If-Match": hook.headers["ETag"]},
    )
    assert paused.status_code == 200, paused.get_data(as_text=True)


def test_the_delivery_log_keeps_a_bounded_number_of_finished_deliveries(app_with, as_role, clock):
    app = app_with(webhook_allow_private=True, webhook_log_limit=3)
    registry, client = app.extensions["registry"], app.test_client()
    hook = created(
        client.post(HOOKS, json={"url": "http://127.0.0.1:9/hook"}, headers=as_role("customer_a"))
    )
    for number in range(7):
        created(client.post(URL, json=vendor(f"Churn {number}", NL), headers=as_role("admin")))
    clock.stop()
    sent = []
    worker = Worker(
        registry.db,
        registry.settings,
        jitter=lambda: 0.0,
        post=lambda *a, **k: sent.append(a) or Outcome(200, None, 1),
    )
    while worker.step():
        pass
    assert len(sent) == 7
    conn = registry.db.connection()
    kept = webhook_store.deliveries(conn, hook["id"], after_seq=0, limit=100)
    assert [d["status"] for d in kept] == ["delivered"] * 3
    assert conn.execute("SELECT count(*) FROM webhook_attempts").fetchone()[0] == 3
    seen = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=as_role("customer_a"))
    assert len(seen.get_json()["items"]) == 3


def test_a_quota_of_zero_is_no_quota(app_with, as_role):
    app = app_with(quota_documentation_requests=0, quota_open_documentation_requests=0)
    client = app.test_client()
    created(client.post(URL, json=nimbus(), headers=as_role("procurement")))
    for _ in range(12):
        created(client.post(REQUESTS, json={}, headers=as_role("customer_a")))


def test_the_defaults_bound_every_customer_write(registry):
    settings = registry.settings
    assert settings.quota_documentation_requests == 5
    assert settings.quota_open_documentation_requests == 10
    assert settings.quota_webhooks == 20
    assert settings.quota_webhook_changes == 100
    assert settings.quota_open_objections == 50
    assert settings.webhook_log_limit == 1000
