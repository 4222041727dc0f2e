"""GET /v1/subprocessors answers what the committed spec says, for every status on a past date
(schemathesis found ST108, a response violating the schema, on ?status=retired&at=DATE)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import TODAY, URL, assert_documented, current_etag, vendor


@pytest.fixture
def register(client, staff, as_role):
    """One sub-processor of each fate: active, proposed, retired today, retired on a past date."""
    made = {}
    for name, extra in (
        ("Acme Mail", {"already_in_use": True, "effective_on": "2025-01-01"}),
        ("Later Mail", {}),
        ("Gone Mail", {"already_in_use": True, "effective_on": "2025-01-01"}),
        ("Old Mail", {"already_in_use": True, "effective_on": "2024-01-01"}),
    ):
        response = client.post(URL, json=vendor(name, **extra), headers=staff)
        assert response.status_code == 201, response.get_data(as_text=True)
        made[name] = response.get_json()
    for name in ("Gone Mail", "Old Mail"):
        sp = made[name]["id"]
        headers = {**staff, "If-Match": current_etag(client, staff, sp)}
        retired = client.delete(f"{URL}/{sp}", headers=headers)
        assert retired.status_code == 200, retired.get_data(as_text=True)
    return made


@pytest.mark.parametrize("role", ["admin", "procurement", "customer_a"])
@pytest.mark.parametrize("status", [None, "active", "proposed", "retired"])
@pytest.mark.parametrize("days_back", [None, 0, 1, 400])
def test_every_status_on_every_date_conforms(client, as_role, register, role, status, days_back):
    query = {}
    if status:
        query["status"] = status
    if days_back is not None:
        query["at"] = (TODAY - timedelta(days=days_back)).isoformat()
    response = client.get(URL, query_string=query, headers=as_role(role))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_documented(response.get_json(), "/v1/subprocessors")


def test_retired_on_a_past_date_shows_when_that_version_was_recorded(
    client, as_role, staff, register, clock
):
    """The ST108 case: ?status=retired&at=DATE for staff lacked `updated_at`, which the spec
    requires; it is when the version that stood on that date was recorded."""
    gone = client.get(f"{URL}/{register['Gone Mail']['id']}", headers=staff).get_json()
    history = client.get(f"{URL}/{gone['id']}/history", headers=staff).get_json()
    retired_version = max(history["versions"], key=lambda v: v["version"])
    assert retired_version["record"]["retired_on"] == TODAY.isoformat()
    clock.advance(days=3)
    response = client.get(
        URL,
        query_string={"status": "retired", "at": TODAY.isoformat()},
        headers=as_role("admin"),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_documented(response.get_json(), "/v1/subprocessors")
    items = {item["name"]: item for item in response.get_json()["items"]}
    assert set(items) == {"Gone Mail", "Old Mail"}
    assert items["Gone Mail"]["updated_at"] == retired_version["recorded_at"]
    assert items["Gone Mail"]["updated_at"] >= gone["created_at"]
    assert items["Gone Mail"]["status"] == "retired"
