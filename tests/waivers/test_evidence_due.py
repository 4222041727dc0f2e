"""Evidence due: `registry check` notes what falls due within 30 days, and the daily sweep
records one `evidence.due` event per item and due date, never twice."""

from __future__ import annotations

import json

import pytest
from helpers import (
    NL,
    URL,
    assert_documented,
    certified_us,
    current_etag,
    days_from_today,
    vendor,
)

from registry.events import service as events
from registry.verdicts import service as verdicts

# Checked 346 days before today: the check goes stale in 20 days (more than 365 days old).
SOON_STALE = certified_us(checked_on=days_from_today(-346))


@pytest.fixture
def soon(post) -> dict:
    return post(vendor("Soon Stale", NL, SOON_STALE, effective_on="2025-01-01"))


def due_events(registry) -> list[dict]:
    changes = events.since(registry.db.connection(), 0, 1000)
    return [change for change in changes if change["type"] == "evidence.due"]


def test_the_sweep_records_each_item_and_due_date_once(client, staff, soon, registry, clock):
    recorded = verdicts.sweep_evidence(registry)
    assert [(i["kind"], i["due_on"]) for i in recorded] == [
        ("certification_check", days_from_today(20))
    ]
    (event,) = due_events(registry)
    assert event["subprocessor_id"] == soon["id"]
    assert event["data"]["evidence"]["due_on"] == days_from_today(20)
    # Twice the same day, then a later day, for the same due date: nothing more.
    assert verdicts.sweep_evidence(registry) == []
    clock.advance(days=1)
    assert verdicts.sweep_evidence(registry) == []
    assert len(due_events(registry)) == 1
    # The check made again 5 days later: a new due date, a new event.
    location = {**SOON_STALE, "safeguard": {**SOON_STALE["safeguard"]}}
    location["safeguard"]["certification_checked_on"] = days_from_today(-341)
    headers = {**staff, "If-Match": current_etag(client, staff, soon["id"])}
    changed = client.patch(
        f"{URL}/{soon['id']}", json={"locations": [NL, location]}, headers=headers
    )
    assert changed.status_code == 200, changed.get_json()
    assert [i["due_on"] for i in verdicts.sweep_evidence(registry)] == [days_from_today(25)]
    assert len(due_events(registry)) == 2


def test_the_daily_sweep_records_it(soon, registry):
    sweep = verdicts.DailySweep(registry)
    sweep()
    sweep()
    assert len(due_events(registry)) == 1


def test_check_notes_evidence_due_and_never_fails_on_it(soon, runner):
    result = runner.invoke(args=["check", "--fail-on", "warning"])
    assert result.exit_code == 0, result.output
    assert f"NOTE    EVIDENCE_DUE {days_from_today(20)} certification_check Soon Stale" in (
        result.output
    )
    report = json.loads(runner.invoke(args=["check", "--json"]).stdout)
    (item,) = report["evidence_due"]
    assert item["kind"] == "certification_check" and item["subprocessor_id"] == soon["id"]
    assert report["summary"]["warnings"] == 0


def stale_waiver(post) -> dict:
    """A waiver, to be made, of a stale US certification check's warning: expiring in 30 days."""
    stale = post(
        vendor(
            "Stale", NL, certified_us(checked_on=days_from_today(-400)), effective_on="2025-01-01"
        )
    )
    return {
        "subprocessor_id": stale["id"],
        "code": "CERTIFICATION_CHECK_STALE",
        "country": "US",
        "reason": "Renewal confirmed",
        "expires_on": days_from_today(30),
    }


def test_a_waiver_expiring_is_due(client, as_role, post, registry, runner):
    body = stale_waiver(post)
    made = client.post("/v1/waivers", json=body, headers=as_role("admin")).get_json()
    (item,) = verdicts.sweep_evidence(registry)
    assert (item["kind"], item["item"], item["due_on"]) == (
        "waiver_expiry",
        made["id"],
        days_from_today(30),
    )
    assert made["id"] in runner.invoke(args=["check"]).output


def test_customers_are_never_told_of_evidence_due(client, as_role, soon, registry):
    assert verdicts.sweep_evidence(registry)
    for role in ("customer_a", "customer_b"):
        feed = client.get("/v1/changes", headers=as_role(role))
        assert feed.status_code == 200, feed.get_json()
        assert "evidence" not in feed.get_data(as_text=True)


def report(client, as_role, query: str = "") -> dict:
    response = client.get(f"/v1/compliance{query}", headers=as_role("admin"))
    assert response.status_code == 200, response.get_json()
    # What falls due moves with the date and the waivers, not with the register's revision:
    # the report is never cached on a revision's ETag.
    assert "ETag" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert_documented(body, "/v1/compliance")
    return body


def test_the_api_report_lists_evidence_due_as_the_check_does(client, as_role, soon, runner):
    (item,) = report(client, as_role)["evidence_due"]
    assert (item["kind"], item["due_on"], item["subprocessor_id"]) == (
        "certification_check",
        days_from_today(20),
        soon["id"],
    )
    assert item["subprocessor_name"] == "Soon Stale" and item["country"] == "US"
    assert "goes stale" in item["message"]
    cli = json.loads(runner.invoke(args=["check", "--json"]).stdout)
    assert cli["evidence_due"] == [item]


@pytest.mark.parametrize(
    ("as_of", "listed"),
    [
        (-11, False),  # due 31 days after the date
        (-10, True),  # due 30 days after it: inclusive
        (20, True),  # due on the date itself: inclusive
        (21, False),  # already past
    ],
)
def test_the_api_report_counts_due_from_as_of(client, as_role, soon, runner, as_of, listed):
    on = days_from_today(as_of)
    due = report(client, as_role, f"?as_of={on}")["evidence_due"]
    assert [item["due_on"] for item in due] == ([days_from_today(20)] if listed else [])
    cli = json.loads(runner.invoke(args=["check", "--json", "--as-of", on]).stdout)
    assert cli["evidence_due"] == due


def test_the_api_report_follows_the_waivers(client, as_role, post, clock):
    body = stale_waiver(post)
    assert report(client, as_role)["evidence_due"] == []
    clock.advance(days=1)
    made = client.post("/v1/waivers", json=body, headers=as_role("admin")).get_json()
    (item,) = report(client, as_role)["evidence_due"]
    assert (item["kind"], item["item"]) == ("waiver_expiry", made["id"])
    # The register as it stood the day before: no waiver yet.
    assert report(client, as_role, f"?at={days_from_today(0)}")["evidence_due"] == []
    clock.advance(days=1)
    url = f"/v1/waivers/{made['id']}"
    etag = client.get(url, headers=as_role("admin")).headers["ETag"]
    revoked = client.delete(url, headers={**as_role("admin"), "If-Match": etag})
    assert revoked.status_code == 204
    assert report(client, as_role)["evidence_due"] == []
    # As the register stood the day before the revocation, the waiver still falls due.
    (before,) = report(client, as_role, f"?at={days_from_today(1)}")["evidence_due"]
    assert before == item
