"""Verdicts changed by the law or the date, not by a write, reach the change feed and webhooks."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date

import pytest
from helpers import NL, ROOT, US_CHECKED_ON, vendor

from registry.bootstrap import initialise
from registry.verdicts.service import DailySweep, sweep_verdicts

GB_BY_LAW = {"country": "GB", "activity": "storage"}
CHANGES = "/v1/changes"


@pytest.fixture
def post(client, staff):
    def send(body: dict) -> dict:
        response = client.post("/v1/subprocessors", json=body, headers=staff)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return send


def verdict_changes(client, staff) -> list[dict]:
    items = client.get(CHANGES, query_string={"limit": 100}, headers=staff).get_json()["items"]
    return [item for item in items if item["type"] == "subprocessor.verdict_changed"]


def test_an_expiry_passing_is_announced_once_with_from_to_and_why(
    client, staff, registry, clock, post
):
    clock.today = date(2031, 12, 27)  # gb-2025's last day
    record = post(vendor("Island Backup", NL, GB_BY_LAW, effective_on="2030-01-01"))
    assert sweep_verdicts(registry) == []  # the first verdict of a new record is its baseline

    clock.today = date(2031, 12, 28)
    assert sweep_verdicts(registry) == [record["id"]]
    assert sweep_verdicts(registry) == []  # announced once

    (change,) = verdict_changes(client, staff)
    assert change["subprocessor_id"] == record["id"]
    assert change["reason"] == "date"
    assert change["as_of"] == "2031-12-28"
    assert change["verdict"]["from"]["status"] == "compliant"
    assert change["verdict"]["to"]["status"] == "flagged"
    assert {f["code"] for f in change["verdict"]["to"]["flags"]} == {"NO_SAFEGUARD"}
    assert change["subprocessor"]["name"] == "Island Backup"


def test_a_write_announces_itself_so_the_sweep_does_not(
    client, staff, registry, clock, post, patch
):
    clock.today = date(2031, 12, 27)
    record = post(vendor("Island Backup", NL, GB_BY_LAW, effective_on="2030-01-01"))
    sweep_verdicts(registry)
    clock.today = date(2031, 12, 28)
    patch(record["id"], {"purpose": "Backups"})  # written on the day the verdict changed
    assert sweep_verdicts(registry) == []
    assert verdict_changes(client, staff) == []


def test_a_newly_loaded_act_is_announced_with_reason_law(
    client, staff, registry, clock, post, tmp_path
):
    post(
        vendor(
            "Dpf Mail",
            NL,
            {
                "country": "US",
                "activity": "processing",
                "safeguard": {
                    "mechanism": "adequacy",
                    "certified": True,
                    "certification_checked_on": US_CHECKED_ON,
                },
            },
            effective_on="2025-01-01",
        )
    )
    sweep_verdicts(registry)
    # A new law version: the Data Privacy Framework annulled today.
    data = tmp_path / "law"
    shutil.copytree(ROOT / "data", data)
    path = data / "adequacy-decisions.json"
    document = json.loads(path.read_text())
    for decision in document["decisions"]:
        if decision["id"] == "us-dpf-2023":
            decision["ended_on"] = clock.today.isoformat()
            decision["ended_by"] = "a judgment of the Court of Justice (test)"
    path.write_text(json.dumps(document, indent=2))
    registry.settings = registry.settings.replace(data_dir=str(data))

    outcome = initialise(registry)
    assert outcome["law_loaded"] is True
    assert len(outcome["verdicts_changed"]) == 1
    (change,) = verdict_changes(client, staff)
    assert change["reason"] == "law"
    assert change["verdict"]["to"]["status"] == "flagged"
    assert [f["code"] for f in change["verdict"]["to"]["flags"]] == ["ADEQUACY_NOT_IN_FORCE"]


def test_verdict_changes_never_reach_customers(client, as_role, staff, registry, clock, post):
    """Verdicts are staff's: a customer cannot subscribe to them, nor read them in the feed."""
    registry.settings = registry.settings.replace(webhook_allow_private=True)
    refused = client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["subprocessor.verdict_changed"]},
        headers=as_role("customer_a"),
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["pointer"] == "/events/0"
    hook = client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=as_role("customer_a")
    )
    assert hook.status_code == 201, hook.get_json()
    clock.today = date(2031, 12, 27)
    post(vendor("Island Backup", NL, GB_BY_LAW, effective_on="2030-01-01"))
    sweep_verdicts(registry)
    clock.today = date(2031, 12, 28)
    sweep_verdicts(registry)
    assert len(verdict_changes(client, staff)) == 1

    deliveries = client.get(
        f"/v1/webhooks/{hook.get_json()['id']}/deliveries", headers=as_role("customer_a")
    ).get_json()["items"]
    # Subscribed to everything: the vendor recorded as in use is internal, its verdict staff's.
    assert deliveries == []
    assert verdict_changes(client, as_role("customer_a")) == []
    atom = client.get("/v1/changes.atom", headers=as_role("customer_a")).get_data(as_text=True)
    assert "verdict" not in atom


def test_the_daily_sweep_runs_once_per_day_and_law(client, staff, registry, clock, post):
    sweep = DailySweep(registry)
    clock.today = date(2031, 12, 27)
    post(vendor("Island Backup", NL, GB_BY_LAW, effective_on="2030-01-01"))
    assert sweep() == []
    clock.today = date(2031, 12, 28)
    assert len(sweep()) == 1
    assert sweep() == []
    assert len(verdict_changes(client, staff)) == 1


def test_an_older_register_learns_what_the_new_rules_changed(client, staff, registry, post):
    """A database from before recorded verdicts: its first sweep announces the new rules."""
    kept = post(
        vendor(
            "Vital Interests Only",
            NL,
            {
                "country": "IN",
                "activity": "processing",
                # Not explicit consent: under the processor role rules 4 made it an error too.
                "safeguard": {"mechanism": "derogation", "derogation": "vital_interests"},
            },
            effective_on="2025-01-01",
        )
    )
    changed = post(
        vendor(
            "Contract Vendor",
            NL,
            {
                "country": "IN",
                "activity": "processing",
                "safeguard": {"mechanism": "derogation", "derogation": "contract_performance"},
            },
            effective_on="2025-01-01",
        )
    )
    # As migration 0006 leaves a register that had sub-processors: no verdict recorded yet.
    conn = sqlite3.connect(registry.settings.database)
    with conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('verdicts_before_rules', '1')")
    conn.close()

    assert sweep_verdicts(registry) == [changed["id"]]
    (change,) = verdict_changes(client, staff)
    assert change["reason"] == "rules"
    assert change["verdict"]["from"]["status"] == "compliant"
    assert [f["code"] for f in change["verdict"]["from"]["flags"]] == ["DEROGATION_RELIED_ON"]
    assert [f["code"] for f in change["verdict"]["to"]["flags"]] == ["DEROGATION_NOT_AVAILABLE"]
    assert kept["id"] not in {c["subprocessor_id"] for c in verdict_changes(client, staff)}
    assert sweep_verdicts(registry) == []  # the earlier rules are compared with once


def test_verdict_changes_are_in_the_atom_feed(client, staff, registry, clock, post):
    clock.today = date(2031, 12, 27)
    post(vendor("Island Backup", NL, GB_BY_LAW, effective_on="2030-01-01"))
    sweep_verdicts(registry)
    clock.today = date(2031, 12, 28)
    sweep_verdicts(registry)
    atom = client.get("/v1/changes.atom", headers=staff).get_data(as_text=True)
    assert "Verdict for Island Backup: flagged" in atom
    assert "verdict compliant to flagged on 2031-12-28" in atom


def test_the_daily_sweep_writes_changes_now_in_force(client, staff, as_role, registry, clock, post):
    record = post(vendor("Island Backup", NL, effective_on="2025-01-01"))
    etag = client.get(f"/v1/subprocessors/{record['id']}", headers=staff).headers["ETag"]
    announced = client.patch(
        f"/v1/subprocessors/{record['id']}",
        json={"locations": [NL, GB_BY_LAW]},
        headers={**staff, "If-Match": etag},
    ).get_json()
    effective = date.fromisoformat(announced["pending_change"]["effective_on"])
    sweep = DailySweep(registry)
    sweep()
    assert client.get("/v1/subprocessors?country=GB", headers=staff).get_json()["items"] == []

    clock.today = effective
    sweep()
    written = client.get(f"/v1/subprocessors/{record['id']}", headers=staff).get_json()
    assert written["version"] == 2 and written["pending_change"] is None
    assert [loc["country"] for loc in written["locations"]] == ["NL", "GB"]
    # The list's country index follows the written record.
    listed = client.get("/v1/subprocessors?country=GB", headers=staff).get_json()["items"]
    assert [item["id"] for item in listed] == [record["id"]]
    audit = client.get("/v1/audit?action=subprocessor.change_apply", headers=as_role("admin"))
    (entry,) = audit.get_json()["items"]
    assert entry["actor"]["name"] == "registry worker"
    assert entry["change"]["change_id"] == announced["pending_change"]["change_id"]
