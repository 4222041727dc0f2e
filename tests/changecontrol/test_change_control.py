"""Change control (Art. 28(2)): notice that cannot be skipped, material changes, housekeeping."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import NL, TODAY, US_CHECKED_ON, days_from_today, vendor

URL = "/v1/subprocessors"
CHANGES = "/v1/changes"
NOTICE = 30
EARLIEST = TODAY + timedelta(days=NOTICE)


@pytest.fixture
def send_patch(client, staff):
    def send(subprocessor_id: str, changes: dict, status: int = 200) -> dict:
        etag = client.get(f"{URL}/{subprocessor_id}", headers=staff).headers["ETag"]
        response = client.patch(
            f"{URL}/{subprocessor_id}", json=changes, headers={**staff, "If-Match": etag}
        )
        assert response.status_code == status, response.get_json()
        return response.get_json()

    return send


def pointers(problem: dict) -> list[str]:
    return [error["pointer"] for error in problem["errors"]]


def feed(client, staff) -> list[dict]:
    return client.get(CHANGES, query_string={"limit": 100}, headers=staff).get_json()["items"]


def announced_vendor(post, **fields) -> dict:
    return post(vendor("Announced Mail", NL, **fields))


# Notice cannot be skipped


@pytest.mark.parametrize(
    "effective_on",
    [TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=1), EARLIEST - timedelta(days=1)],
    ids=["yesterday", "today", "tomorrow", "a-day-short"],
)
def test_less_notice_than_promised_is_refused(post, effective_on):
    body = vendor("Hasty", NL, effective_on=effective_on.isoformat(), already_in_use=False)
    del body["already_in_use"]
    problem = post(body, status=422)
    assert pointers(problem) == ["/effective_on"]
    assert EARLIEST.isoformat() in problem["errors"][0]["detail"] or "past" in problem["detail"]


def test_the_full_notice_is_accepted_and_announced(client, staff, post):
    created = announced_vendor(post, effective_on=EARLIEST.isoformat())
    assert created["status"] == "proposed" and created["already_in_use"] is False
    (event,) = feed(client, staff)
    assert event["type"] == "subprocessor.announced" and event["material"] is True
    assert event["objection_deadline"] == (EARLIEST - timedelta(days=1)).isoformat()


def test_urgent_needs_a_reason_and_keeps_the_warning(post):
    soon = (TODAY + timedelta(days=3)).isoformat()
    problem = post(vendor("Urgent", NL, effective_on=soon, urgent=True), status=422)
    assert pointers(problem) == ["/urgent_reason"]
    problem = post(vendor("Urgent", NL, effective_on=soon, urgent_reason="Outage"), status=422)
    assert "/urgent_reason" in pointers(problem)

    created = post(
        vendor("Urgent", NL, effective_on=soon, urgent=True, urgent_reason="Provider outage")
    )
    assert created["urgent_reason"] == "Provider outage"
    (flag,) = created["compliance"]["flags"]
    assert flag["code"] == "NOTICE_PERIOD_SHORT" and "Provider outage" in flag["message"]
    past = (TODAY - timedelta(days=1)).isoformat()
    body = vendor("Back", NL, effective_on=past, urgent=True, urgent_reason="x")
    assert pointers(post(body, status=422)) == ["/effective_on"]


def test_a_vendor_already_in_use_is_recorded_not_announced(client, staff, as_role, post):
    created = post(vendor("Backfill", NL, effective_on="2024-01-01", already_in_use=True))
    assert created["already_in_use"] is True and created["status"] == "active"
    assert created["compliance"]["flags"] == []
    (event,) = feed(client, staff)
    assert event["type"] == "subprocessor.recorded" and event["material"] is False
    assert "objection_deadline" not in event
    objection = client.post(
        f"{URL}/{created['id']}/objections", json={}, headers=as_role("customer_a")
    )
    assert objection.status_code == 409
    # Recorded in the audit trail with the claim.
    audit = client.get("/v1/audit?action=subprocessor.create", headers=as_role("admin"))
    assert audit.get_json()["items"][0]["change"]["already_in_use"] is True
    future = (TODAY + timedelta(days=40)).isoformat()
    body = vendor("Not yet", NL, effective_on=future, already_in_use=True)
    assert pointers(post(body, status=422)) == ["/effective_on"]


def test_an_announced_date_never_moves_earlier(post, send_patch):
    created = announced_vendor(post, effective_on=(EARLIEST + timedelta(days=10)).isoformat())
    earlier = (EARLIEST - timedelta(days=1)).isoformat()
    problem = send_patch(created["id"], {"effective_on": earlier}, status=422)
    assert pointers(problem) == ["/effective_on"]
    moved = send_patch(created["id"], {"effective_on": EARLIEST.isoformat()})
    assert moved["effective_on"] == EARLIEST.isoformat()
    later = send_patch(created["id"], {"effective_on": days_from_today(189)})
    assert later["effective_on"] == days_from_today(189)


# Material changes and housekeeping


def test_a_material_change_waits_for_its_notice(client, staff, as_role, post, send_patch, clock):
    created = post(vendor("Mailer", NL, effective_on="2025-01-01"))
    us = {
        "country": "US",
        "activity": "remote_access",
        "safeguard": {
            "mechanism": "adequacy",
            "certified": True,
            "certification_checked_on": US_CHECKED_ON,
        },
    }
    answer = send_patch(created["id"], {"locations": [NL, us]})
    pending = answer["pending_change"]
    assert answer["locations"] == [NL], "the current version stays in force"
    assert pending["effective_on"] == EARLIEST.isoformat()
    assert pending["objection_deadline"] == (EARLIEST - timedelta(days=1)).isoformat()
    assert pending["changes"] == {"locations": [NL, us]}
    (event,) = [e for e in feed(client, staff) if e["type"] == "subprocessor.changed"]
    assert event["material"] is True and event["pending"] is True
    assert event["effective_on"] == EARLIEST.isoformat()
    assert any("US" in reason for reason in event["reasons"])
    # Customers may object to the change itself.
    objection = client.post(
        f"{URL}/{created['id']}/objections", json={}, headers=as_role("customer_a")
    )
    assert objection.status_code == 201
    assert objection.get_json()["change_id"] == pending["change_id"]

    compliance = f"{URL}/{created['id']}/compliance"
    before = client.get(
        compliance, query_string={"as_of": str(EARLIEST - timedelta(days=1))}, headers=staff
    ).get_json()
    on = client.get(compliance, query_string={"as_of": EARLIEST.isoformat()}, headers=staff)
    assert [loc["country"] for loc in before["locations"]] == ["NL"]
    assert [loc["country"] for loc in on.get_json()["locations"]] == ["NL", "US"]


@pytest.mark.parametrize(
    ("changes", "material"),
    [
        ({"purpose": "Newsletters"}, False),
        ({"data_categories": ["user.contact.email", "user.name"]}, True),
        ({"data_categories": []}, None),  # invalid: 422 from the schema
        ({"locations": [NL, {"country": "DE", "activity": "backup"}]}, True),
        # Another activity in the same country is another transfer.
        ({"locations": [{"country": "NL", "activity": "backup"}]}, True),
        (
            {"onward_transfers": [{"name": "Sub Cloud", "country": "NL", "activity": "storage"}]},
            True,
        ),
    ],
    ids=["purpose", "category", "no-category", "country", "same-country-activity", "onward"],
)
def test_material_or_housekeeping(client, staff, post, send_patch, changes, material):
    created = post(vendor("Mailer", NL, effective_on="2025-01-01"))
    if material is None:
        send_patch(created["id"], changes, status=422)
        return
    answer = send_patch(created["id"], changes)
    (event,) = [e for e in feed(client, staff) if e["type"] == "subprocessor.changed"]
    assert event["material"] is material
    assert (answer["pending_change"] is not None) is material
    if not material:
        for field, value in changes.items():
            assert answer[field] == value, "housekeeping is in force at once"


def test_housekeeping_reaches_no_customer_webhook(client, as_role, registry, post, send_patch):
    registry.settings = registry.settings.replace(webhook_allow_private=True)
    hook = client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=as_role("customer_a")
    ).get_json()
    created = post(vendor("Mailer", NL, effective_on=EARLIEST.isoformat()))
    send_patch(created["id"], {"purpose": "Newsletters"})
    send_patch(created["id"], {"data_categories": ["user.contact.email", "user.name"]})
    log = client.get(
        f"/v1/webhooks/{hook['id']}/deliveries", headers=as_role("customer_a")
    ).get_json()["items"]
    assert [d["type"] for d in log] == ["subprocessor.announced", "subprocessor.changed"]


def test_a_second_material_change_replaces_the_first_and_restarts_the_notice(
    post, send_patch, clock
):
    created = post(vendor("Mailer", NL, effective_on="2025-01-01"))
    first = send_patch(created["id"], {"data_categories": ["user.contact.email", "user.name"]})
    clock.today = TODAY + timedelta(days=10)
    second = send_patch(created["id"], {"locations": [NL, {"country": "DE", "activity": "backup"}]})
    pending = second["pending_change"]
    assert pending["replaces"] == first["pending_change"]["change_id"]
    assert pending["change_id"] != first["pending_change"]["change_id"]
    assert pending["effective_on"] == (TODAY + timedelta(days=10 + NOTICE)).isoformat()
    assert set(pending["changes"]) == {"data_categories", "locations"}


def test_retiring_discards_a_pending_change(client, staff, post, send_patch):
    created = post(vendor("Mailer", NL, effective_on="2025-01-01"))
    change = send_patch(created["id"], {"data_categories": ["user.contact.email", "user.name"]})
    etag = client.get(f"{URL}/{created['id']}", headers=staff).headers["ETag"]
    retired = client.delete(f"{URL}/{created['id']}", headers={**staff, "If-Match": etag})
    assert retired.status_code == 200
    assert retired.get_json()["pending_change"] is None
    (event,) = [e for e in feed(client, staff) if e["type"] == "subprocessor.retired"]
    assert event["discarded_change"] == change["pending_change"]["change_id"]


def test_nothing_changes_at_once_without_notice_even_for_staff(client, as_role, post, send_patch):
    """The bypass: PATCH effective_on to yesterday on an announced vendor."""
    created = announced_vendor(post, effective_on=EARLIEST.isoformat())
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    send_patch(created["id"], {"effective_on": yesterday}, status=422)
    allowed = client.get("/v1/allowed-processors", headers=as_role("service")).get_json()
    assert created["id"] not in [p["id"] for p in allowed["processors"]]
    objection = client.post(
        f"{URL}/{created['id']}/objections", json={}, headers=as_role("customer_a")
    )
    assert objection.status_code == 201, "objections stay open"


def test_the_register_of_a_day_shows_what_was_pending_then(client, staff, post, send_patch, clock):
    created = post(vendor("Mailer", NL, effective_on="2025-01-01"))
    announced = send_patch(created["id"], {"data_categories": ["user.contact.email", "user.name"]})
    change = announced["pending_change"]

    def listed(at: str, **params) -> dict:
        response = client.get(URL, query_string={"at": at, **params}, headers=staff)
        page = response.get_json()
        assert response.status_code == 200, page
        (item,) = page["items"]
        return item

    clock.today = TODAY + timedelta(days=1)
    yesterday = listed(TODAY.isoformat())
    assert yesterday["pending_change"]["change_id"] == change["change_id"]
    assert yesterday["pending_change"]["effective_on"] == change["effective_on"]
    assert yesterday["data_categories"] == ["user.contact.email"]  # in force that day
    # On its own day the change is in force, written into the record or not.
    effective = date.fromisoformat(change["effective_on"])
    clock.today = effective + timedelta(days=1)
    that_day = listed(effective.isoformat())
    assert that_day["data_categories"] == ["user.contact.email", "user.name"]
    assert that_day["pending_change"] is None


def test_a_discarded_change_is_not_pending_on_a_later_day(client, staff, post, send_patch, clock):
    created = post(vendor("Mailer", NL, effective_on="2025-01-01"))
    send_patch(created["id"], {"data_categories": ["user.contact.email", "user.name"]})
    etag = client.get(f"{URL}/{created['id']}", headers=staff).headers["ETag"]
    assert (
        client.delete(f"{URL}/{created['id']}", headers={**staff, "If-Match": etag}).status_code
        == 200
    )
    clock.today = TODAY + timedelta(days=1)
    page = client.get(URL, query_string={"at": TODAY.isoformat()}, headers=staff).get_json()
    (item,) = page["items"]
    assert item["status"] == "retired" and item["pending_change"] is None
