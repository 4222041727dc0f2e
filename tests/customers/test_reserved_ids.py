"""`erased-` is reserved: erasure writes it in place of a customer id (an objection kept without
its customer), so no customer id may start with it, through the API or the CLI."""

from __future__ import annotations

import pytest
from helpers import nimbus

from registry import clock as registry_clock
from registry.keys import service as keys
from registry.objections import service as objections

RESERVED = ["erased-acme", "Erased-1234abcd", "ERASED-x", "erased-"]


def pointers(response) -> list[str]:
    return [e["pointer"] for e in response.get_json()["errors"]]


def test_the_prefix_is_what_erasure_writes():
    assert objections.ERASED_PREFIX == keys.RESERVED_PREFIX == "erased-"


@pytest.mark.parametrize("customer_id", RESERVED)
def test_no_customer_key_is_made_for_a_reserved_id(client, as_role, customer_id):
    response = client.post(
        "/v1/keys",
        json={"role": "customer", "name": "Acme's portal", "customer_id": customer_id},
        headers=as_role("admin"),
    )
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert pointers(response) == ["/customer_id"]
    assert "reserved" in response.get_json()["detail"]
    listed = client.get("/v1/keys?limit=100", headers=as_role("admin")).get_json()["items"]
    assert not any((k["customer_id"] or "").startswith("erased-") for k in listed)


@pytest.mark.parametrize("customer_id", ["erasedacme", "acme-erased-", "not-erased-yet"])
def test_ids_merely_containing_the_word_are_fine(client, as_role, customer_id):
    response = client.post(
        "/v1/keys",
        json={"role": "customer", "name": "Portal", "customer_id": customer_id},
        headers=as_role("admin"),
    )
    assert response.status_code == 201, response.get_json()


def test_the_cli_refuses_a_reserved_id_with_exit_2(runner, registry):
    before = len(keys.list_all(registry.db.connection()))
    result = runner.invoke(
        args=["keys", "create", "--role", "customer", "--name", "x", "--customer", "erased-x"]
    )
    assert result.exit_code == 2, result.output
    assert "--customer" in result.output and "reserved" in result.output
    assert "reg_key_" not in result.output
    assert len(keys.list_all(registry.db.connection())) == before


def test_an_incident_cannot_name_a_reserved_id(client, staff):
    sp = client.post("/v1/subprocessors", json=nimbus(), headers=staff).get_json()["id"]
    response = client.post(
        "/v1/incidents",
        json={
            "subprocessor_id": sp,
            "detected_on": registry_clock.now().isoformat(),
            "nature": "A misconfigured bucket exposed login records.",
            "data_categories": ["user.contact.email"],
            "likely_consequences": "Phishing.",
            "measures_taken": "Bucket closed.",
            "contact": {"name": "Data protection officer", "email": "dpo@example.com"},
            "customer_ids": ["cust-a", "erased-0123456789abcdef"],
        },
        headers=staff,
    )
    assert response.status_code == 422, response.get_json()
    assert pointers(response) == ["/customer_ids/1"]


@pytest.mark.parametrize("method", ["get", "delete"])
def test_the_customers_api_refuses_a_reserved_id(client, as_role, method):
    response = getattr(client, method)(
        "/v1/customers/erased-0123456789abcdef", headers=as_role("admin", **{"If-Match": "*"})
    )
    assert response.status_code == 422, response.get_json()
    assert pointers(response) == ["/customer_id"]


@pytest.mark.parametrize("verb", ["show", "erase"])
def test_the_customers_cli_refuses_a_reserved_id(runner, verb):
    result = runner.invoke(args=["customers", verb, "erased-0123456789abcdef"])
    assert result.exit_code == 2, result.output
    assert "reserved" in result.output
