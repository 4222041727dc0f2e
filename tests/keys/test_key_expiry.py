"""A key's expiry follows one rule at both doors that make keys, POST /v1/keys and
`registry keys create`: after today, and at the latest keys.service.LATEST_EXPIRY."""

from __future__ import annotations

import json

import pytest
from helpers import bearer, days_from_today, problem

from registry.keys import service as keys

URL = "/v1/keys"
LATEST = keys.LATEST_EXPIRY.isoformat()


def count_keys(registry) -> int:
    return registry.db.connection().execute("SELECT count(*) FROM api_keys").fetchone()[0]


def api_create(client, as_role, expires_on: str):
    body = {"role": "service", "name": "svc", "expires_on": expires_on}
    return client.post(URL, json=body, headers=as_role("admin"))


def cli_create(runner, expires_on: str):
    args = ["keys", "create", "--role", "service", "--name", "svc", "--expires-on", expires_on]
    return runner.invoke(args=args)


def assert_api_refuses(client, as_role, registry, expires_on: str) -> dict:
    before = count_keys(registry)
    body = problem(api_create(client, as_role, expires_on), 422)
    assert [error["pointer"] for error in body["errors"]] == ["/expires_on"]
    assert count_keys(registry) == before
    return body


def assert_cli_refuses(runner, registry, expires_on: str) -> str:
    before = count_keys(registry)
    result = cli_create(runner, expires_on)
    assert result.exit_code == 2, result.output
    assert "--expires-on" in result.output
    assert "Traceback" not in result.output and "reg_key_" not in result.output
    assert count_keys(registry) == before
    return result.output


def test_the_latest_expiry_is_the_registrys_last_date():
    assert LATEST == "2199-12-31"


@pytest.mark.parametrize("expires_on", ["2200-01-01", "9999-12-31"])
def test_both_doors_refuse_an_expiry_past_the_latest(client, as_role, registry, runner, expires_on):
    assert_api_refuses(client, as_role, registry, expires_on)
    assert LATEST in assert_cli_refuses(runner, registry, expires_on)


def test_both_doors_accept_the_latest_expiry(client, as_role, runner):
    made = api_create(client, as_role, LATEST)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["expires_on"] == LATEST
    result = cli_create(runner, LATEST)
    assert result.exit_code == 0, result.output
    assert f"works through {LATEST}" in result.output
    token = result.output.strip().splitlines()[-1]
    listed = [json.loads(line) for line in runner.invoke(args=["keys", "list"]).output.splitlines()]
    assert [key["expires_on"] for key in listed].count(LATEST) == 2
    assert client.get("/v1/subprocessors", headers=bearer(token)).status_code == 200


def test_both_doors_apply_the_one_rule(client, as_role, registry, runner, monkeypatch):
    # Were the bound earlier, both doors would follow it: they share keys.check_expiry.
    monkeypatch.setattr(keys, "LATEST_EXPIRY", keys.date.fromisoformat(days_from_today(10)))
    body = assert_api_refuses(client, as_role, registry, days_from_today(11))
    assert days_from_today(10) in json.dumps(body)
    assert days_from_today(10) in assert_cli_refuses(runner, registry, days_from_today(11))
    assert api_create(client, as_role, days_from_today(10)).status_code == 201
    assert cli_create(runner, days_from_today(10)).exit_code == 0


@pytest.mark.parametrize("expires_on", ["2027-1-5", "2027-02-30", "next week"])
def test_the_cli_takes_dates_as_the_api_does(client, as_role, registry, runner, expires_on):
    assert_api_refuses(client, as_role, registry, expires_on)
    assert "YYYY-MM-DD" in assert_cli_refuses(runner, registry, expires_on)
