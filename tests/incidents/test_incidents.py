"""Incidents: personal-data breaches recorded by staff, told to exactly the customers concerned
(API, change feed, webhooks), versioned, and flagged when notice is overdue."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest
from helpers import PROBLEM, nimbus

from registry import clock as registry_clock
from registry.audit import store as audit_store
from registry.settings import Settings, SettingsError

URL = "/v1/incidents"
HOOK_URL = "https://93.184.215.14/hooks/registry"  # public: accepted, never called here
# Fields a customer must never see: whom else it concerns, deadlines, who wrote it.
STAFF_ONLY = {"customer_ids", "notified", "notice_due_at", "overdue", "created_at"}


def ago(**delta) -> str:
    """A moment before the test's clock, as a client would write it (with a zone offset)."""
    return (registry_clock.now() - timedelta(**delta)).isoformat()


def breach(subprocessor_id: str, **overrides) -> dict:
    body = {
        "subprocessor_id": subprocessor_id,
        "detected_on": ago(hours=1),
        "nature": "A misconfigured bucket exposed login records.",
        "data_categories": ["user.contact.email", "user.device.ip_address"],
        "data_subject_categories": ["end users"],
        "approx_data_subjects": 1200,
        "approx_records": None,
        "likely_consequences": "Phishing aimed at the users concerned.",
        "measures_taken": "Bucket closed; access logs under review.",
        "contact": {"name": "Data protection officer", "email": "dpo@example.com"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def subprocessor_id(client, staff) -> str:
    created = client.post("/v1/subprocessors", json=nimbus(), headers=staff)
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


@pytest.fixture
def hooks(client, as_role) -> dict[str, str]:
    """A webhook endpoint of each customer, subscribed to every event."""
    made = {}
    for role in ("customer_a", "customer_b"):
        response = client.post("/v1/webhooks", json={"url": HOOK_URL}, headers=as_role(role))
        assert response.status_code == 201, response.get_json()
        made[role] = response.get_json()["id"]
    return made


def record(client, staff, subprocessor_id: str, **overrides):
    response = client.post(URL, json=breach(subprocessor_id, **overrides), headers=staff)
    assert response.status_code == 201, response.get_json()
    return response


def change(client, staff, incident_id: str, body: dict):
    etag = client.get(f"{URL}/{incident_id}", headers=staff).headers["ETag"]
    return client.patch(f"{URL}/{incident_id}", json=body, headers={**staff, "If-Match": etag})


def communicate(client, staff, incident_id: str) -> dict:
    response = change(client, staff, incident_id, {"status": "communicated"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def delivered_types(client, as_role, role: str, webhook_id: str) -> list[str]:
    response = client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=as_role(role))
    assert response.status_code == 200, response.get_json()
    return [d["type"] for d in response.get_json()["items"]]


def feed(client, as_role, role: str) -> list[dict]:
    response = client.get("/v1/changes", headers=as_role(role))
    assert response.status_code == 200, response.get_json()
    return [c for c in response.get_json()["items"] if c["type"].startswith("incident.")]


# --- recording -----------------------------------------------------------------------------------


def test_a_recorded_incident_is_open_and_told_to_no_one(
    client, staff, as_role, subprocessor_id, hooks
):
    created = record(client, staff, subprocessor_id)
    incident = created.get_json()
    assert created.headers["Location"].endswith(f"{URL}/{incident['id']}")
    assert created.headers["ETag"]
    assert incident["status"] == "open" and incident["version"] == 1
    assert incident["customer_ids"] is None and incident["notified"] == []
    assert incident["subprocessor_name"] == "Nimbus Hosting"
    assert incident["approx_data_subjects"] == 1200 and incident["approx_records"] is None
    assert incident["overdue"] is False
    assert incident["detected_on"].endswith("Z")
    assert incident["communicated_at"] is None
    for role in ("customer_a", "customer_b"):
        assert client.get(URL, headers=as_role(role)).get_json()["items"] == []
        assert client.get(f"{URL}/{incident['id']}", headers=as_role(role)).status_code == 404
        assert feed(client, as_role, role) == []
        assert delivered_types(client, as_role, role, hooks[role]) == []


def test_detected_on_keeps_the_moment_in_utc(client, staff, subprocessor_id):
    moment = (registry_clock.now() - timedelta(hours=3)).replace(microsecond=0)
    written = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    local = moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    incident = record(client, staff, subprocessor_id, detected_on=local).get_json()
    assert incident["detected_on"] == written
    due = (moment + timedelta(hours=24)).astimezone(UTC)
    assert incident["notice_due_at"] == due.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_an_unknown_subprocessor_is_404(client, staff):
    response = client.post(URL, json=breach("sp_doesnotexist"), headers=staff)
    assert response.status_code == 404
    assert response.mimetype == PROBLEM


@pytest.mark.parametrize(
    ("detected_on", "says"),
    [
        ("future", "future"),
        ("1899-12-31T23:00:00Z", "1900"),
        ("2026-11-24T09:00:00", "zone"),
        ("2026-11-24", "zone"),
        ("yesterday", "ISO 8601"),
    ],
)
def test_detected_on_must_be_a_past_moment_with_a_zone(
    client, staff, subprocessor_id, detected_on, says
):
    if detected_on == "future":
        detected_on = (registry_clock.now() + timedelta(minutes=5)).isoformat()
    response = client.post(
        URL, json=breach(subprocessor_id, detected_on=detected_on), headers=staff
    )
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == PROBLEM
    [error] = response.get_json()["errors"]
    assert error["pointer"] == "/detected_on"
    assert says in error["detail"]


@pytest.mark.parametrize(
    ("overrides", "pointer"),
    [
        ({"data_categories": ["user.not_a_category"]}, "/data_categories/0"),
        ({"approx_records": -1}, "/approx_records"),
        ({"approx_data_subjects": "many"}, "/approx_data_subjects"),
        ({"contact": {"name": "DPO"}}, "/contact/email"),
        ({"contact": {"name": "DPO", "email": "not an address"}}, "/contact/email"),
        ({"nature": ""}, "/nature"),
        ({"customer_ids": []}, "/customer_ids"),
        ({"customer_ids": ["cust-a", "nobody-here"]}, "/customer_ids/1"),
        ({"customer_ids": ["Not a slug!"]}, "/customer_ids/0"),
        ({"status": "communicated"}, "/status"),
    ],
)
def test_invalid_bodies_are_422_with_pointers(client, staff, subprocessor_id, overrides, pointer):
    response = client.post(URL, json=breach(subprocessor_id, **overrides), headers=staff)
    assert response.status_code == 422, response.get_json()
    assert pointer in [e["pointer"] for e in response.get_json()["errors"]]


def test_customer_ids_are_folded_like_keys(client, staff, subprocessor_id):
    incident = record(client, staff, subprocessor_id, customer_ids=["CUST-A"]).get_json()
    assert incident["customer_ids"] == ["cust-a"]


@pytest.mark.parametrize("role", ["customer_a", "service"])
def test_customers_and_services_cannot_record(client, as_role, subprocessor_id, role):
    response = client.post(URL, json=breach(subprocessor_id), headers=as_role(role))
    assert response.status_code == 403
    assert client.get(URL, headers=as_role("admin")).get_json()["items"] == []


# --- communication --------------------------------------------------------------------------------


def test_communication_reaches_exactly_the_customers_concerned(
    client, staff, as_role, subprocessor_id, hooks
):
    incident = record(client, staff, subprocessor_id, customer_ids=["cust-a"]).get_json()
    communicated = communicate(client, staff, incident["id"])
    assert communicated["status"] == "communicated" and communicated["version"] == 2
    assert [n["customer_id"] for n in communicated["notified"]] == ["cust-a"]

    assert delivered_types(client, as_role, "customer_a", hooks["customer_a"]) == [
        "incident.reported"
    ]
    assert delivered_types(client, as_role, "customer_b", hooks["customer_b"]) == []
    [entry] = feed(client, as_role, "customer_a")
    assert entry["type"] == "incident.reported" and entry["subprocessor_id"] == subprocessor_id
    assert entry["incident"]["id"] == incident["id"] and entry["incident"]["version"] == 2
    assert not STAFF_ONLY & set(entry["incident"])
    assert feed(client, as_role, "customer_b") == []
    assert feed(client, as_role, "service") == []

    seen = client.get(f"{URL}/{incident['id']}", headers=as_role("customer_a"))
    assert seen.status_code == 200
    assert not STAFF_ONLY & set(seen.get_json())
    assert "cust-a" not in seen.get_data(as_text=True)
    assert seen.get_json()["nature"] == incident["nature"]
    [listed] = client.get(URL, headers=as_role("customer_a")).get_json()["items"]
    assert listed["id"] == incident["id"]

    # Customer B: as if the incident did not exist.
    hidden = client.get(f"{URL}/{incident['id']}", headers=as_role("customer_b"))
    missing = client.get(f"{URL}/inc_0000000000000000", headers=as_role("customer_b"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["detail"].replace(incident["id"], "X") == missing.get_json()[
        "detail"
    ].replace("inc_0000000000000000", "X")
    assert client.get(URL, headers=as_role("customer_b")).get_json()["items"] == []


def test_by_default_every_customer_is_told(client, staff, as_role, subprocessor_id, hooks):
    incident = record(client, staff, subprocessor_id).get_json()
    communicated = communicate(client, staff, incident["id"])
    assert communicated["customer_ids"] is None
    assert sorted(n["customer_id"] for n in communicated["notified"]) == ["cust-a", "cust-b"]
    for role in ("customer_a", "customer_b"):
        assert delivered_types(client, as_role, role, hooks[role]) == ["incident.reported"]
        [entry] = feed(client, as_role, role)
        assert entry["incident"]["id"] == incident["id"]
        assert client.get(f"{URL}/{incident['id']}", headers=as_role(role)).status_code == 200
    # One entry per customer: staff see both.
    assert len(feed(client, as_role, "admin")) == 2


def test_a_webhook_subscribed_to_other_events_gets_no_incident(
    client, staff, as_role, subprocessor_id
):
    made = client.post(
        "/v1/webhooks",
        json={"url": HOOK_URL, "events": ["subprocessor.announced"]},
        headers=as_role("customer_a"),
    )
    incident = record(client, staff, subprocessor_id).get_json()
    communicate(client, staff, incident["id"])
    assert delivered_types(client, as_role, "customer_a", made.get_json()["id"]) == []
    chosen = client.post(
        "/v1/webhooks",
        json={"url": HOOK_URL, "events": ["incident.reported", "incident.updated"]},
        headers=as_role("customer_a"),
    )
    assert chosen.status_code == 201, chosen.get_json()


def test_updates_are_versioned_and_communicated_again(
    client, staff, as_role, subprocessor_id, hooks, registry
):
    incident_id = record(client, staff, subprocessor_id, customer_ids=["cust-a"]).get_json()["id"]
    # While open, new facts are versions of their own, told to no one.
    early = change(client, staff, incident_id, {"approx_records": 5000})
    assert early.status_code == 200 and early.get_json()["version"] == 2
    assert delivered_types(client, as_role, "customer_a", hooks["customer_a"]) == []
    communicate(client, staff, incident_id)
    later = change(client, staff, incident_id, {"measures_taken": "All passwords reset."})
    assert later.status_code == 200 and later.get_json()["version"] == 4
    closed = change(client, staff, incident_id, {"status": "closed"})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "closed" and closed.get_json()["closed_at"]

    assert delivered_types(client, as_role, "customer_a", hooks["customer_a"]) == [
        "incident.reported",
        "incident.updated",
        "incident.updated",
    ]
    entries = feed(client, as_role, "customer_a")
    assert [(e["incident"]["version"], e["incident"]["status"]) for e in entries] == [
        (3, "communicated"),
        (4, "communicated"),
        (5, "closed"),
    ]
    assert entries[1]["incident"]["measures_taken"] == "All passwords reset."
    assert entries[0]["incident"]["approx_records"] == 5000

    versions = client.get(f"{URL}/{incident_id}/versions", headers=staff).get_json()["items"]
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5]
    statuses = ["open", "open", "communicated", "communicated", "closed"]
    assert [v["status"] for v in versions] == statuses
    assert versions[0]["approx_records"] is None and versions[1]["approx_records"] == 5000
    assert (
        client.get(f"{URL}/{incident_id}/versions", headers=as_role("customer_a")).status_code
        == 403
    )

    actions = [
        e["action"]
        for e in audit_store.iter_all(registry.db.connection())
        if e["object_type"] == "incident"
    ]
    assert actions == [
        "incident.create",
        "incident.update",
        "incident.communicate",
        "incident.update",
        "incident.close",
    ]


def test_a_customer_added_later_is_told_from_the_start(
    client, staff, as_role, subprocessor_id, hooks
):
    incident_id = record(client, staff, subprocessor_id, customer_ids=["cust-a"]).get_json()["id"]
    communicate(client, staff, incident_id)
    widened = change(client, staff, incident_id, {"customer_ids": ["cust-a", "cust-b"]})
    assert widened.status_code == 200, widened.get_json()
    assert delivered_types(client, as_role, "customer_a", hooks["customer_a"]) == [
        "incident.reported",
        "incident.updated",
    ]
    assert delivered_types(client, as_role, "customer_b", hooks["customer_b"]) == [
        "incident.reported"
    ]
    # A customer told cannot be untold.
    narrowed = change(client, staff, incident_id, {"customer_ids": ["cust-b"]})
    assert narrowed.status_code == 409
    assert "cust-a" in narrowed.get_json()["detail"]


def test_an_open_incident_cannot_be_closed_and_a_closed_one_is_final(
    client, staff, subprocessor_id
):
    incident_id = record(client, staff, subprocessor_id).get_json()["id"]
    assert change(client, staff, incident_id, {"status": "closed"}).status_code == 409
    communicate(client, staff, incident_id)
    assert change(client, staff, incident_id, {"status": "closed"}).status_code == 200
    again = change(client, staff, incident_id, {"nature": "More was found."})
    assert again.status_code == 409
    assert again.mimetype == PROBLEM


def test_patch_needs_the_current_etag(client, staff, as_role, subprocessor_id):
    created = record(client, staff, subprocessor_id)
    incident_id = created.get_json()["id"]
    body = {"status": "communicated"}
    missing = client.patch(f"{URL}/{incident_id}", json=body, headers=staff)
    assert missing.status_code == 428 and missing.mimetype == PROBLEM
    assert change(client, staff, incident_id, {"approx_records": 10}).status_code == 200
    stale = client.patch(
        f"{URL}/{incident_id}", json=body, headers={**staff, "If-Match": created.headers["ETag"]}
    )
    assert stale.status_code == 412
    assert client.get(f"{URL}/{incident_id}", headers=staff).get_json()["status"] == "open"
    for role in ("customer_a", "service"):
        refused = client.patch(
            f"{URL}/{incident_id}",
            json=body,
            headers={**as_role(role), "If-Match": created.headers["ETag"]},
        )
        assert refused.status_code == 403


def test_the_atom_feed_carries_the_incident(client, staff, as_role, subprocessor_id):
    incident_id = record(client, staff, subprocessor_id, customer_ids=["cust-a"]).get_json()["id"]
    communicate(client, staff, incident_id)
    atom = client.get("/v1/changes.atom", headers=as_role("customer_a"))
    assert atom.status_code == 200
    assert "Personal-data breach at Nimbus Hosting" in atom.get_data(as_text=True)
    other = client.get("/v1/changes.atom", headers=as_role("customer_b"))
    assert incident_id not in other.get_data(as_text=True)


# --- overdue notice -------------------------------------------------------------------------------


def overdue_report(client, staff) -> dict:
    response = client.get("/v1/compliance", headers=staff)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["incidents"]


def test_overdue_notice_is_flagged_from_the_deadline_until_communicated(
    client, staff, runner, subprocessor_id, clock
):
    incident_id = record(client, staff, subprocessor_id, detected_on=ago(hours=1)).get_json()["id"]
    clock.advance(hours=22)  # 23 hours after detection
    report = overdue_report(client, staff)
    assert report == {"notice_hours": 24, "open": 1, "overdue": 0, "flags": []}
    before = runner.invoke(args=["check"])
    assert "INCIDENT_NOTICE_OVERDUE" not in before.output
    assert before.exit_code == 0, before.output

    clock.advance(hours=1, minutes=1)  # past 24 hours
    report = overdue_report(client, staff)
    [flag] = report["flags"]
    assert report["overdue"] == 1
    assert flag["code"] == "INCIDENT_NOTICE_OVERDUE" and flag["severity"] == "error"
    assert flag["incident_id"] == incident_id and flag["subprocessor_id"] == subprocessor_id
    assert client.get(f"{URL}/{incident_id}", headers=staff).get_json()["overdue"] is True
    after = runner.invoke(args=["check"])
    assert after.exit_code == 1, after.output
    [line] = [line for line in after.output.splitlines() if "INCIDENT_NOTICE_OVERDUE" in line]
    assert line.startswith("ERROR   INCIDENT_NOTICE_OVERDUE ")
    assert incident_id in line and "Nimbus Hosting" in line

    communicate(client, staff, incident_id)
    assert overdue_report(client, staff) == {
        "notice_hours": 24,
        "open": 0,
        "overdue": 0,
        "flags": [],
    }
    done = runner.invoke(args=["check"])
    assert done.exit_code == 0, done.output
    assert "INCIDENT_NOTICE_OVERDUE" not in done.output


@pytest.mark.parametrize("registry_settings", [{"incident_notice_hours": 2}])
def test_the_notice_period_is_a_setting(client, staff, subprocessor_id, registry_settings):
    record(client, staff, subprocessor_id, detected_on=ago(hours=2, minutes=1))
    assert overdue_report(client, staff)["overdue"] == 1


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_the_notice_hours_setting_is_checked(value):
    with pytest.raises(SettingsError, match="REGISTRY_INCIDENT_NOTICE_HOURS"):
        Settings.from_environment({"REGISTRY_INCIDENT_NOTICE_HOURS": value})
    assert Settings.from_environment({}).incident_notice_hours == 24
