"""Feed keys are made like customer keys: bound to one customer, by the API or the CLI."""

from __future__ import annotations

import pytest
from helpers import bearer, problem

URL = "/v1/keys"


def test_the_api_makes_a_feed_key_for_one_customer(client, as_role):
    made = client.post(
        URL,
        json={"role": "feed", "name": "Acme's reader", "customer_id": "Acme"},
        headers=as_role("admin"),
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["role"] == "feed" and body["customer_id"] == "acme"
    assert client.get("/v1/changes.atom", headers=bearer(body["token"])).status_code == 200
    assert client.get(f"/v1/changes.atom?token={body['token']}").status_code == 200
    assert client.get("/v1/changes", headers=bearer(body["token"])).status_code == 403


def test_a_feed_key_needs_a_customer(client, as_role):
    response = client.post(URL, json={"role": "feed", "name": "x"}, headers=as_role("admin"))
    assert [e["pointer"] for e in problem(response, 422)["errors"]] == ["/customer_id"]


@pytest.mark.parametrize("role", ["admin", "procurement", "service"])
def test_only_customer_and_feed_keys_have_a_customer(client, as_role, role):
    response = client.post(
        URL, json={"role": role, "name": "x", "customer_id": "acme"}, headers=as_role("admin")
    )
    assert [e["pointer"] for e in problem(response, 422)["errors"]] == ["/customer_id"]


def test_the_command_line_makes_a_feed_key(client, runner):
    created = runner.invoke(
        args=["keys", "create", "--role", "feed", "--name", "Acme reader", "--customer", "acme"]
    )
    assert created.exit_code == 0, created.output
    assert "(feed, customer acme)" in created.output
    token = created.output.strip().splitlines()[-1]
    assert client.get(f"/v1/changes.atom?token={token}").status_code == 200
    assert client.get("/v1/subprocessors", headers=bearer(token)).status_code == 403
    missing = runner.invoke(args=["keys", "create", "--role", "feed", "--name", "x"])
    assert missing.exit_code != 0 and "--customer" in missing.output
