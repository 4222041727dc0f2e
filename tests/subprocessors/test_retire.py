"""Retiring a sub-processor (DELETE): today or scheduled, with a reason; what it leaves behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import TODAY, URL, current_etag, problem, vendor

ALLOWED = "/v1/allowed-processors"
CHANGES = "/v1/changes"
AUDIT = "/v1/audit"
LATER = TODAY + timedelta(days=10)


@pytest.fixture
def admin(as_role):
    return as_role("admin")


@pytest.fixture
def active(client, staff) -> dict:
    """A sub-processor in use since 2025 (recorded after the fact): active today."""
    body = vendor("Acme Mail", already_in_use=True, effective_on="2025-01-01")
    response = client.post(URL, json=body, headers=staff)
    assert response.status_code == 201, response.get_data(as_text=True)
    record = response.get_json()
    assert record["status"] == "active"
    return record


@pytest.fixture
def proposed(client, staff) -> dict:
    """A sub-processor announced today, in effect after the notice period."""
    response = client.post(URL, json=vendor("Later Mail"), headers=staff)
    assert response.status_code == 201, response.get_data(as_text=True)
    record = response.get_json()
    assert record["status"] == "proposed"
    return record


@pytest.fixture
def delete(client, staff):
    """DELETE with the current ETag; `**kwargs` go to the client (json=, data=, ...)."""

    def send(subprocessor_id: str, **kwargs):
        headers = {**staff, "If-Match": current_etag(client, staff, subprocessor_id)}
        return client.delete(f"{URL}/{subprocessor_id}", headers=headers, **kwargs)

    return send


def ok(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def read(client, staff, subprocessor_id: str) -> dict:
    response = client.get(f"{URL}/{subprocessor_id}", headers=staff)
    assert response.status_code == 200
    return response.get_json()


def allowed_ids(client, as_role) -> list[str]:
    response = client.get(
        ALLOWED, query_string={"data_category": "user.contact.email"}, headers=as_role("service")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return [processor["id"] for processor in response.get_json()["processors"]]


def retirements(client, headers: dict) -> list[dict]:
    response = client.get(CHANGES, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [c for c in response.get_json()["items"] if c["type"] == "subprocessor.retired"]


def retire_entries(client, admin, subprocessor_id: str) -> list[dict]:
    query = {"action": "subprocessor.retire", "object_id": subprocessor_id}
    response = client.get(AUDIT, query_string=query, headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def revision(client) -> int:
    return client.get("/v1/health").get_json()["revision"]


# Today


def test_without_a_body_it_is_retired_today(client, staff, active, delete):
    retired = ok(delete(active["id"]))
    assert retired["status"] == "retired"
    assert retired["retired_on"] == TODAY.isoformat()
    assert retired["retired_reason"] is None
    assert retired["version"] == active["version"] + 1
    assert read(client, staff, active["id"]) == retired


@pytest.mark.parametrize(
    "send",
    [
        {"data": "", "content_type": "application/json"},
        {"json": {}},
        {"json": {"retired_on": TODAY.isoformat()}},
        {"json": {"reason": None}},
    ],
    ids=["empty body", "empty object", "today", "null reason"],
)
def test_an_empty_body_or_today_retires_today(active, delete, send):
    retired = ok(delete(active["id"], **send))
    assert (retired["status"], retired["retired_on"]) == ("retired", TODAY.isoformat())
    assert retired["retired_reason"] is None


def test_the_reason_is_shown_on_the_record(client, staff, active, delete):
    reason = "Contract ended.\nData deleted per the DPA, certificate on file."
    retired = ok(delete(active["id"], json={"reason": reason}))
    assert retired["retired_reason"] == reason
    assert read(client, staff, active["id"])["retired_reason"] == reason


def test_a_retired_name_can_be_used_again(client, staff, active, delete):
    ok(delete(active["id"], json={"reason": "Replaced by its successor"}))
    again = client.post(URL, json=vendor("Acme Mail"), headers=staff)
    assert again.status_code == 201, again.get_data(as_text=True)


# Scheduled


def test_a_later_day_keeps_it_in_force_until_then_and_retires_it_without_a_write(
    client, staff, as_role, clock, active, delete
):
    before = revision(client)
    scheduled = ok(delete(active["id"], json={"retired_on": LATER.isoformat()}))
    assert scheduled["status"] == "active"
    assert scheduled["retired_on"] == LATER.isoformat()
    assert scheduled["version"] == active["version"] + 1
    assert read(client, staff, active["id"]) == scheduled
    assert active["id"] in allowed_ids(client, as_role)
    listed = client.get(URL, query_string={"status": "active"}, headers=staff).get_json()
    assert [item["id"] for item in listed["items"]] == [active["id"]]
    written = revision(client)
    assert written > before

    clock.today = LATER - timedelta(days=1)
    assert read(client, staff, active["id"])["status"] == "active"
    assert active["id"] in allowed_ids(client, as_role)

    clock.today = LATER
    now = read(client, staff, active["id"])
    assert now["status"] == "retired"
    assert {k: v for k, v in now.items() if k not in ("status", "compliance")} == {
        k: v for k, v in scheduled.items() if k not in ("status", "compliance")
    }
    assert active["id"] not in allowed_ids(client, as_role)
    listed = client.get(URL, query_string={"status": "retired"}, headers=staff).get_json()
    assert [item["id"] for item in listed["items"]] == [active["id"]]
    compliance = client.get("/v1/compliance", headers=staff).get_json()
    assert active["id"] not in str(compliance)
    # No write made it so: the same version, revision, history, feed and audit trail.
    assert revision(client) == written
    history = client.get(f"{URL}/{active['id']}/history", headers=staff).get_json()
    assert [v["version"] for v in history["versions"]] == [1, 2]
    assert len(retirements(client, staff)) == 1
    assert len(retire_entries(client, as_role("admin"), active["id"])) == 1


def test_a_proposed_sub_processor_scheduled_to_retire_stays_proposed(
    client, staff, clock, proposed, delete
):
    scheduled = ok(delete(proposed["id"], json={"retired_on": LATER.isoformat()}))
    assert (scheduled["status"], scheduled["retired_on"]) == ("proposed", LATER.isoformat())
    clock.today = LATER
    assert read(client, staff, proposed["id"])["status"] == "retired"


def test_customers_are_told_of_a_scheduled_retirement_at_once(
    client, staff, as_role, registry, active, delete
):
    registry.settings = registry.settings.replace(webhook_allow_private=True)
    hook = client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["subprocessor.retired"]},
        headers=as_role("customer_a"),
    )
    assert hook.status_code == 201, hook.get_data(as_text=True)
    body = {"retired_on": LATER.isoformat(), "reason": "Moving email to Mailcraft"}
    scheduled = ok(delete(active["id"], json=body))

    [event] = retirements(client, as_role("customer_a"))
    assert event["material"] is True
    assert event["retired_on"] == LATER.isoformat()
    assert event["retired_reason"] == "Moving email to Mailcraft"
    assert event["version"] == scheduled["version"]
    assert event["subprocessor"]["retired_on"] == LATER.isoformat()
    assert event["subprocessor"]["retired_reason"] == "Moving email to Mailcraft"
    deliveries = client.get(
        f"/v1/webhooks/{hook.get_json()['id']}/deliveries", headers=as_role("customer_a")
    ).get_json()["items"]
    assert [(d["type"], d["change_id"]) for d in deliveries] == [
        ("subprocessor.retired", event["id"])
    ]


# Refused


def test_a_day_before_today_is_422_at_retired_on(client, staff, active, delete):
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    body = problem(delete(active["id"], json={"retired_on": yesterday}), 422)
    assert [e["pointer"] for e in body["errors"]] == ["/retired_on"]
    assert "past cannot be rewritten" in body["errors"][0]["detail"]
    assert read(client, staff, active["id"]) == active


@pytest.mark.parametrize(
    ("sent", "pointer"),
    [
        ({"retired_on": LATER.isoformat(), "when": "soon"}, "/when"),
        ({"retired_on": "24/11/2026"}, "/retired_on"),
        ({"retired_on": None}, "/retired_on"),
        ({"reason": "x" * 1001}, "/reason"),
        ({"reason": "   "}, "/reason"),
        ({"reason": 7}, "/reason"),
    ],
    ids=["unknown field", "not a date", "null date", "reason too long", "blank", "not text"],
)
def test_a_bad_body_is_422_with_a_pointer(client, staff, active, delete, sent, pointer):
    body = problem(delete(active["id"], json=sent), 422)
    assert [e["pointer"] for e in body["errors"]] == [pointer]
    assert read(client, staff, active["id"]) == active


def test_a_reason_of_1000_characters_is_kept(active, delete):
    assert ok(delete(active["id"], json={"reason": "x" * 1000}))["retired_reason"] == "x" * 1000


def test_a_body_that_is_not_json_is_415(client, staff, active, delete):
    response = delete(active["id"], data="reason=done", content_type="text/plain")
    problem(response, 415)
    assert read(client, staff, active["id"]) == active


def test_it_still_needs_if_match(client, staff, active):
    url = f"{URL}/{active['id']}"
    problem(client.delete(url, json={"reason": "x"}, headers=staff), 428)
    stale = {**staff, "If-Match": '"stale"'}
    problem(client.delete(url, json={"reason": "x"}, headers=stale), 412)
    assert read(client, staff, active["id"]) == active


def test_retiring_twice_is_409(active, delete):
    ok(delete(active["id"]))
    again = problem(delete(active["id"], json={"retired_on": LATER.isoformat()}), 409)
    assert again["detail"] == f"The sub-processor is already retired (since {TODAY})."


def test_retiring_a_scheduled_one_again_is_409_naming_the_day(client, staff, active, delete):
    scheduled = ok(delete(active["id"], json={"retired_on": LATER.isoformat()}))
    for body in (None, {"retired_on": (LATER + timedelta(days=1)).isoformat()}):
        again = problem(delete(active["id"], json=body), 409)
        assert again["detail"] == f"The sub-processor is already scheduled to retire on {LATER}."
    assert read(client, staff, active["id"]) == scheduled


# What it leaves behind


def test_the_audit_entry_has_the_day_and_the_reason(client, admin, active, delete):
    retired = ok(delete(active["id"], json={"reason": "Security incident, contract terminated"}))
    [entry] = retire_entries(client, admin, active["id"])
    assert entry["change"] == {
        "retired_on": TODAY.isoformat(),
        "retired_reason": "Security incident, contract terminated",
        "version": retired["version"],
    }
    assert entry["actor"]["role"] == "procurement"


def test_without_a_reason_the_audit_entry_has_none(client, admin, active, delete):
    ok(delete(active["id"], json={"retired_on": LATER.isoformat()}))
    [entry] = retire_entries(client, admin, active["id"])
    assert entry["change"] == {"retired_on": LATER.isoformat(), "version": 2}


def test_the_change_event_has_the_day_and_the_reason(client, as_role, active, delete):
    ok(delete(active["id"], json={"reason": "No longer needed"}))
    [event] = retirements(client, as_role("customer_b"))
    assert (event["retired_on"], event["retired_reason"]) == (TODAY.isoformat(), "No longer needed")
    assert event["material"] is True
    assert "objection_deadline" not in event or event["objection_deadline"] is None


def test_the_change_event_without_a_reason_says_so(client, as_role, active, delete):
    ok(delete(active["id"]))
    [event] = retirements(client, as_role("customer_a"))
    assert event["retired_reason"] is None


def test_the_history_keeps_the_retiring_version(client, staff, active, delete):
    body = {"retired_on": LATER.isoformat(), "reason": "Consolidating vendors"}
    scheduled = ok(delete(active["id"], json=body))
    versions = client.get(f"{URL}/{active['id']}/history", headers=staff).get_json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    before, after = versions[0]["record"], versions[1]["record"]
    assert (before["retired_on"], before["retired_reason"]) == (None, None)
    assert after["retired_on"] == LATER.isoformat()
    assert after["retired_reason"] == "Consolidating vendors"
    assert after["version"] == scheduled["version"]


def test_a_delete_that_takes_no_body_still_ignores_one(client, as_role, registry):
    # Only retiring declares a body: checking DELETE bodies leaves the others as they were.
    registry.settings = registry.settings.replace(webhook_allow_private=True)
    customer = as_role("customer_a")
    hook = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=customer)
    assert hook.status_code == 201, hook.get_data(as_text=True)
    response = client.delete(
        f"/v1/webhooks/{hook.get_json()['id']}",
        data="bye",
        content_type="text/plain",
        headers={**customer, "If-Match": hook.headers["ETag"]},
    )
    assert response.status_code == 204, response.get_data(as_text=True)
