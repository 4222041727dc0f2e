"""Waivers: an admin accepts the risk of one warning on one sub-processor until a date; the
warning moves to `waived`, fails no check, and is back once the waiver expires or is revoked."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from helpers import (
    NL,
    TODAY,
    URL,
    certified_us,
    days_from_today,
    pointers,
    problem,
    singapore,
    vendor,
)

from registry.audit import store as audit_store

WAIVERS = "/v1/waivers"
# Checked 400 days before today: CERTIFICATION_CHECK_STALE (a warning) for the US.
STALE_US = certified_us(checked_on=days_from_today(-400))
STALE = "CERTIFICATION_CHECK_STALE"


@pytest.fixture
def admin(as_role):
    return as_role("admin")


@pytest.fixture
def stale(post) -> dict:
    """A sub-processor with one warning (the US certification check is stale) and an error
    (Singapore without a safeguard) on another one."""
    return post(vendor("Stale Cloud", NL, STALE_US, effective_on="2025-01-01"))


def waiver_body(subprocessor_id: str, **overrides) -> dict:
    body = {
        "subprocessor_id": subprocessor_id,
        "code": STALE,
        "country": "US",
        "reason": "Renewal confirmed by e-mail; the DPF list is being updated.",
        "expires_on": days_from_today(30),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def make(client, admin, subprocessor_id: str, **overrides) -> dict:
    response = client.post(WAIVERS, json=waiver_body(subprocessor_id, **overrides), headers=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def revoke(client, admin, waiver_id: str):
    """DELETE with the waiver's current ETag."""
    url = f"{WAIVERS}/{waiver_id}"
    etag = client.get(url, headers=admin).headers.get("ETag", '"none"')
    return client.delete(url, headers={**admin, "If-Match": etag})


def codes(verdict: dict) -> list[str]:
    return [flag["code"] for flag in verdict["flags"]]


def verdict_of(client, staff, subprocessor_id: str, **query) -> dict:
    response = client.get(f"{URL}/{subprocessor_id}", headers=staff, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["compliance"]


def check(runner, *args: str):
    return runner.invoke(args=["check", *args])


# --- roles --------------------------------------------------------------------------------------


def test_roles_on_every_waiver_route(client, as_role, stale):
    body = waiver_body(stale["id"])
    for role in ("procurement", "service", "customer_a"):
        assert client.post(WAIVERS, json=body, headers=as_role(role)).status_code == 403
    assert client.post(WAIVERS, json=body).status_code == 401
    made = make(client, as_role("admin"), stale["id"])
    item = f"{WAIVERS}/{made['id']}"
    for role in ("admin", "procurement"):
        assert client.get(WAIVERS, headers=as_role(role)).status_code == 200
        assert client.get(item, headers=as_role(role)).status_code == 200
    for role in ("service", "customer_a"):
        assert client.get(WAIVERS, headers=as_role(role)).status_code == 403
        assert client.get(item, headers=as_role(role)).status_code == 403
        assert client.delete(item, headers=as_role(role)).status_code == 403
    assert client.delete(item, headers=as_role("procurement")).status_code == 403
    for response in (client.get(WAIVERS), client.get(item), client.delete(item)):
        assert response.status_code == 401
    assert problem(client.delete(item, headers=as_role("admin")), 428)
    assert revoke(client, as_role("admin"), made["id"]).status_code == 204


# --- validation ---------------------------------------------------------------------------------


def test_create_answers_201_with_location_and_the_waiver(client, admin, stale):
    response = client.post(WAIVERS, json=waiver_body(stale["id"]), headers=admin)
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert response.headers["Location"].endswith(f"{WAIVERS}/{made['id']}")
    assert made["state"] == "active" and made["revoked_at"] is None
    assert made["subprocessor_name"] == "Stale Cloud" and made["country"] == "US"
    assert client.get(response.headers["Location"], headers=admin).get_json() == made


@pytest.mark.parametrize(
    ("overrides", "pointer", "words"),
    [
        ({"subprocessor_id": "sp_missing"}, "/subprocessor_id", "No sub-processor"),
        ({"code": "NO_SUCH_FLAG"}, "/code", "not a flag code"),
        ({"code": "NO_SAFEGUARD", "country": "SG"}, "/code", "is an error and cannot be waived"),
        ({"code": "LAW_UNVERIFIED"}, "/code", "note"),
        ({"code": "SCC_COPY_MISSING"}, "/code", "not raised"),
        ({"country": "DE"}, "/country", "not raised for DE"),
        ({"country": ...}, "/country", "per country"),
        ({"country": None}, "/country", "per country"),
        ({"expires_on": days_from_today(0)}, "/expires_on", "after today"),
        ({"expires_on": days_from_today(-3)}, "/expires_on", "after today"),
        ({"expires_on": days_from_today(367)}, "/expires_on", "at most a year"),
        ({"expires_on": "2026-02-30"}, "/expires_on", "valid date"),
        ({"reason": ...}, "/reason", ""),
        ({"reason": "   "}, "/reason", ""),
        ({"reason": "x" * 2001}, "/reason", ""),
    ],
)
def test_validation_points_at_the_field(client, admin, post, overrides, pointer, words):
    record = post(vendor("Stale Cloud", NL, STALE_US, singapore(), effective_on="2025-01-01"))
    body = {**waiver_body(record["id"]), **overrides}
    body = {k: v for k, v in body.items() if v is not ...}
    response = client.post(WAIVERS, json=body, headers=admin)
    assert pointers(response) == [pointer]
    assert words in json.dumps(problem(response, 422))


def test_a_year_ahead_is_the_latest_expiry(client, admin, stale):
    latest = TODAY.replace(year=TODAY.year + 1).isoformat()
    assert make(client, admin, stale["id"], expires_on=latest)["expires_on"] == latest


def test_a_warning_without_a_country_is_waived_without_one(client, admin, post):
    soon = (TODAY + timedelta(days=3)).isoformat()
    urgent = post(vendor("Urgent", NL, effective_on=soon, urgent=True, urgent_reason="Outage"))
    assert codes(urgent["compliance"]) == ["NOTICE_PERIOD_SHORT"]
    body = waiver_body(urgent["id"], code="NOTICE_PERIOD_SHORT", country="NL")
    assert pointers(client.post(WAIVERS, json=body, headers=admin)) == ["/country"]
    made = make(client, admin, urgent["id"], code="NOTICE_PERIOD_SHORT", country=None)
    assert made["country"] is None


def test_a_second_waiver_of_the_same_warning_is_a_conflict(client, admin, stale):
    make(client, admin, stale["id"])
    again = client.post(WAIVERS, json=waiver_body(stale["id"]), headers=admin)
    assert "already accepts" in problem(again, 409)["detail"]


# --- the verdict --------------------------------------------------------------------------------


def test_the_waived_warning_moves_to_waived_until_it_expires(client, admin, staff, stale, clock):
    assert codes(verdict_of(client, staff, stale["id"])) == [STALE]
    made = make(client, admin, stale["id"], expires_on=days_from_today(10))
    verdict = verdict_of(client, staff, stale["id"])
    assert verdict["flags"] == [] and verdict["status"] == "compliant"
    (waived,) = verdict["waived"]
    assert waived["code"] == STALE and waived["country"] == "US"
    assert waived["waiver"] == {
        "id": made["id"],
        "reason": made["reason"],
        "expires_on": made["expires_on"],
    }
    clock.advance(days=9)
    assert verdict_of(client, staff, stale["id"])["flags"] == []
    clock.advance(days=1)  # expires_on: the waiver no longer applies
    verdict = verdict_of(client, staff, stale["id"])
    assert codes(verdict) == [STALE] and verdict["waived"] == []
    listed = client.get(WAIVERS, headers=staff, query_string={"state": "expired"}).get_json()
    assert [w["id"] for w in listed["items"]] == [made["id"]]
    assert "expired" in problem(revoke(client, admin, made["id"]), 409)["detail"]


def test_revoking_brings_the_warning_back_and_keeps_the_row(client, admin, staff, stale):
    made = make(client, admin, stale["id"])
    assert verdict_of(client, staff, stale["id"])["flags"] == []
    url = f"{WAIVERS}/{made['id']}"
    problem(client.delete(url, headers={**admin, "If-Match": '"stale"'}), 412)
    assert revoke(client, admin, made["id"]).status_code == 204
    assert codes(verdict_of(client, staff, stale["id"])) == [STALE]
    kept = client.get(f"{WAIVERS}/{made['id']}", headers=staff).get_json()
    assert kept["state"] == "revoked" and kept["revoked_at"] and kept["revoked_by"]
    again = revoke(client, admin, made["id"])
    assert "revoked" in problem(again, 409)["detail"]
    problem(revoke(client, admin, "wvr_missing"), 404)
    # A new waiver may accept it again once the first is revoked.
    make(client, admin, stale["id"])


def test_the_register_report_counts_waived_apart(client, admin, staff, stale):
    before = client.get("/v1/compliance", headers=staff).get_json()
    assert before["summary"]["warnings"] == 1 and before["summary"]["waived"] == 0
    make(client, admin, stale["id"])
    report = client.get("/v1/compliance", headers=staff).get_json()
    assert report["summary"]["warnings"] == 0 and report["summary"]["waived"] == 1
    assert report["summary"]["compliant_with_warnings"] == 0
    assert report["findings"] == []
    (waived,) = report["waived"]
    assert waived["subprocessor_id"] == stale["id"] and waived["code"] == STALE


def test_at_applies_the_waivers_in_force_that_day(client, admin, staff, stale, clock):
    day_before = TODAY.isoformat()
    clock.advance(days=1)
    made = make(client, admin, stale["id"])
    # That day the waiver did not exist yet: the warning stands.
    then = client.get("/v1/compliance", headers=staff, query_string={"at": day_before})
    assert then.get_json()["summary"]["warnings"] == 1
    listed = client.get(URL, headers=staff, query_string={"at": day_before}).get_json()
    (item,) = [i for i in listed["items"] if i["id"] == stale["id"]]
    assert codes(item["compliance"]) == [STALE]
    clock.advance(days=1)
    made_on = (TODAY + timedelta(days=1)).isoformat()
    assert revoke(client, admin, made["id"]).status_code == 204
    # On the day it was made it was in force, though revoked since.
    then = client.get("/v1/compliance", headers=staff, query_string={"at": made_on}).get_json()
    assert then["summary"]["warnings"] == 0 and then["summary"]["waived"] == 1
    now = client.get("/v1/compliance", headers=staff).get_json()
    assert now["summary"]["warnings"] == 1 and now["summary"]["waived"] == 0


def test_an_error_is_never_waived_and_the_etag_follows(client, admin, staff, post):
    record = post(vendor("Mixed", NL, STALE_US, singapore(), effective_on="2025-01-01"))
    etag = client.get(f"{URL}/{record['id']}", headers=staff).headers["ETag"]
    make(client, admin, record["id"])
    answer = client.get(f"{URL}/{record['id']}", headers=staff)
    assert answer.headers["ETag"] != etag
    verdict = answer.get_json()["compliance"]
    assert codes(verdict) == ["NO_SAFEGUARD"] and verdict["status"] == "flagged"
    assert [w["code"] for w in verdict["waived"]] == [STALE]


def test_a_waiver_changes_no_recorded_verdict(client, admin, stale, registry, clock):
    from registry.verdicts import service as verdicts

    verdicts.sweep_verdicts(registry)
    made = make(client, admin, stale["id"], expires_on=days_from_today(2))
    assert verdicts.sweep_verdicts(registry) == []
    clock.advance(days=2)
    assert verdicts.sweep_verdicts(registry) == []
    assert made["id"]


# --- the check ----------------------------------------------------------------------------------


def test_fail_on_warning_passes_while_waived_and_fails_again(client, admin, stale, runner, clock):
    assert check(runner, "--fail-on", "warning").exit_code == 1
    made = make(client, admin, stale["id"], expires_on=days_from_today(5))
    result = check(runner, "--fail-on", "warning")
    assert result.exit_code == 0, result.output
    assert f"WAIVED  {STALE} US Stale Cloud" in result.output and made["id"] in result.output
    report = json.loads(check(runner, "--json", "--fail-on", "warning").stdout)
    assert report["summary"]["waived"] == 1 and report["waived"][0]["waiver"]["id"] == made["id"]
    clock.advance(days=5)
    assert check(runner, "--fail-on", "warning").exit_code == 1
    clock.advance(days=-5)
    assert check(runner, "--fail-on", "warning").exit_code == 0
    revoke(client, admin, made["id"])
    assert check(runner, "--fail-on", "warning").exit_code == 1


# --- audit and customers ------------------------------------------------------------------------


def test_create_and_revoke_are_audited(client, admin, stale, registry):
    made = make(client, admin, stale["id"])
    revoke(client, admin, made["id"])
    entries = [
        entry
        for entry in audit_store.iter_all(registry.db.connection())
        if entry["object_type"] == "waiver"
    ]
    assert [entry["action"] for entry in entries] == ["waiver.create", "waiver.revoke"]
    assert {entry["object_id"] for entry in entries} == {made["id"]}
    assert all(entry["actor"]["role"] == "admin" for entry in entries)


def test_customers_never_see_waivers(client, admin, as_role, stale):
    customer = as_role("customer_a")
    before = client.get(f"{URL}/{stale['id']}", headers=customer)
    made = make(client, admin, stale["id"])
    after = client.get(f"{URL}/{stale['id']}", headers=customer)
    assert after.status_code == 200 and after.get_json() == before.get_json()
    listed = client.get(URL, headers=customer).get_data(as_text=True)
    for text in (made["id"], "waive", made["reason"]):
        assert text not in after.get_data(as_text=True) and text not in listed
