"""What asks staff to act is in the staff's feed alone: never a customer's, nor a service's."""

from __future__ import annotations

from helpers import assert_documented, days_from_today, incident_report, nimbus


def _types(client, headers) -> list[str]:
    response = client.get("/v1/changes?limit=100", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [item["type"] for item in response.get_json()["items"]]


def test_an_objection_and_a_request_are_told_to_staff_alone(client, as_role):
    created = client.post(
        "/v1/subprocessors",
        json=nimbus(effective_on=days_from_today(40)),
        headers=as_role("admin"),
    )
    sp = created.get_json()["id"]
    customer = as_role("customer_a")
    objected = client.post(
        f"/v1/subprocessors/{sp}/objections", json={"reason": "No."}, headers=customer
    )
    assert objected.status_code == 201
    asked = client.post(
        "/v1/documentation-requests", json={"subprocessor_ids": [sp]}, headers=customer
    )
    assert asked.status_code == 201
    staff = client.get("/v1/changes?limit=100", headers=as_role("procurement"))
    assert_documented(staff.get_json(), "/v1/changes")
    by_type = {item["type"]: item for item in staff.get_json()["items"]}
    assert by_type["objection.created"]["objection"]["id"] == objected.get_json()["id"]
    request = by_type["documentation_request.created"]["documentation_request"]
    assert request["id"] == asked.get_json()["id"] and request["customer_id"] == "cust-a"
    for role in ("customer_a", "customer_b", "service"):
        seen = set(_types(client, as_role(role)))
        assert not seen & {"objection.created", "documentation_request.created"}, role
        assert "subprocessor.announced" in seen


def test_an_overdue_notice_is_told_to_staff_once(client, as_role, registry):
    from registry.incidents import service as incidents

    admin = as_role("admin")
    sp = client.post("/v1/subprocessors", json=nimbus(), headers=admin).get_json()["id"]
    made = client.post(
        "/v1/incidents",
        json=incident_report(sp, f"{days_from_today(-3)}T08:00:00Z"),
        headers=admin,
    )
    assert made.status_code == 201, made.get_json()
    incident_id = made.get_json()["id"]
    assert incidents.announce_overdue(registry) == [incident_id]
    assert incidents.announce_overdue(registry) == []
    staff = client.get("/v1/changes?limit=100", headers=admin)
    assert_documented(staff.get_json(), "/v1/changes")
    overdue = [item for item in staff.get_json()["items"] if item["type"] == "incident.overdue"]
    assert [item["incident"]["id"] for item in overdue] == [incident_id]
    assert overdue[0]["code"] == "INCIDENT_NOTICE_OVERDUE"
    for role in ("customer_a", "service"):
        assert "incident.overdue" not in _types(client, as_role(role)), role
