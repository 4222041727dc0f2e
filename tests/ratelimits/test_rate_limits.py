"""Customer and service keys have a request budget, shared by every worker; staff do not."""

from __future__ import annotations

import pytest
from helpers import ALLOWED, call, server_on_template

from registry.settings import Settings, SettingsError

LIST = "/v1/subprocessors"


@pytest.fixture
def limited(app_with):
    return app_with(rate_limit="3/60").test_client()


def test_a_customer_key_gets_429_with_retry_after_once_its_budget_is_spent(limited, as_role):
    customer = as_role("customer_a")
    for spent in range(1, 4):
        answer = limited.get(LIST, headers=customer)
        assert answer.status_code == 200
        assert answer.headers["RateLimit-Policy"] == "3;w=60"
        assert f"remaining={3 - spent}" in answer.headers["RateLimit"]
    refused = limited.get(LIST, headers=customer)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["status"] == 429 and "3 requests every 60 s" in problem["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "remaining=0" in refused.headers["RateLimit"]
    # Another customer's key has its own budget; staff have none.
    assert limited.get(LIST, headers=as_role("customer_b")).status_code == 200
    for _ in range(5):
        staff = limited.get(LIST, headers=as_role("procurement"))
        assert staff.status_code == 200 and "RateLimit" not in staff.headers


def test_the_budget_comes_back_with_the_next_window(limited, as_role, clock):
    customer = as_role("customer_a")
    for _ in range(3):
        limited.get(LIST, headers=customer)
    assert limited.get(LIST, headers=customer).status_code == 429
    clock.advance(seconds=61)
    assert limited.get(LIST, headers=customer).status_code == 200


def test_allowed_processors_is_never_throttled(limited, as_role):
    service = as_role("service")
    for _ in range(10):
        assert limited.get(ALLOWED, headers=service).status_code == 200
    for _ in range(3):
        assert limited.get(LIST, headers=service).status_code == 200
    assert limited.get(LIST, headers=service).status_code == 429


def test_public_reads_are_not_counted(limited, as_role):
    customer = as_role("customer_a")
    for _ in range(10):
        assert limited.get("/v1/health", headers=customer).status_code == 200
    assert limited.get(LIST, headers=customer).status_code == 200


@pytest.mark.parametrize("raw", ["600", "a/60", "0/60", "10/0", "-1/5"])
def test_a_budget_that_cannot_be_read_is_refused(raw):
    with pytest.raises(SettingsError, match="REGISTRY_RATE_LIMIT"):
        Settings(rate_limit=raw)
    assert Settings(rate_limit="").rate_budget is None


@pytest.mark.server
def test_the_budget_holds_across_two_workers(apps, tmp_path):
    server = server_on_template(apps, tmp_path)
    server.env["REGISTRY_RATE_LIMIT"] = "10/600"
    server.start()
    try:
        token = server.tokens["customer_a"]
        statuses = [call(server, "GET", LIST, token).status for _ in range(16)]
        assert statuses == [200] * 10 + [429] * 6, statuses
        # Each request is a new connection, taken by either worker: one budget for both.
        allowed = [call(server, "GET", ALLOWED, server.tokens["service"]).status for _ in range(20)]
        assert allowed == [200] * 20
    finally:
        server.stop()
