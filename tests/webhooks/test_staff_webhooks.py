"""Staff webhooks: admin and procurement keys register them for what asks staff to act;
who may see and manage which endpoint; which events each kind of endpoint may receive."""

from __future__ import annotations

import pytest
from helpers import problem

URL = "/v1/webhooks"
HOOK_URL = "https://93.184.215.14/hooks/registry"  # public, and never called here
STAFF_TYPES = [
    "documentation_request.created",
    "objection.created",
    "evidence.due",
    "incident.overdue",
]


def create(client, headers, **body):
    return client.post(URL, json={"url": HOOK_URL, **body}, headers=headers)


@pytest.fixture
def staff_hook(client, as_role):
    response = create(client, as_role("procurement"), events=STAFF_TYPES)
    assert response.status_code == 201, response.get_json()
    return {**response.get_json(), "etag": response.headers["ETag"]}


@pytest.fixture
def admin_hook(client, as_role):
    response = create(client, as_role("admin"), events=["*"])
    assert response.status_code == 201, response.get_json()
    return {**response.get_json(), "etag": response.headers["ETag"]}


def test_staff_register_endpoints_of_their_own(staff_hook, admin_hook):
    assert staff_hook["customer_id"] is None and staff_hook["owner_role"] == "procurement"
    assert admin_hook["customer_id"] is None and admin_hook["owner_role"] == "admin"
    assert staff_hook["secret"].startswith("whsec_")
    assert staff_hook["events"] == STAFF_TYPES


def test_a_staff_endpoint_subscribes_to_staff_and_public_changes(client, as_role):
    made = create(client, as_role("admin"), events=[*STAFF_TYPES, "subprocessor.announced"])
    assert made.status_code == 201, made.get_json()


@pytest.mark.parametrize("event", STAFF_TYPES)
def test_a_customer_endpoint_may_not_subscribe_to_staff_events(client, as_role, event):
    response = create(client, as_role("customer_a"), events=["subprocessor.announced", event])
    body = problem(response, 422)
    assert [e["pointer"] for e in body["errors"]] == ["/events/1"]


def test_a_customer_may_not_widen_its_endpoint_to_staff_events(client, as_role):
    made = create(client, as_role("customer_a"), events=["documentation_request.fulfilled"])
    assert made.status_code == 201, made.get_json()
    response = client.patch(
        f"{URL}/{made.get_json()['id']}",
        json={"events": ["objection.created"]},
        headers={**as_role("customer_a"), "If-Match": made.headers["ETag"]},
    )
    assert [e["pointer"] for e in problem(response, 422)["errors"]] == ["/events/0"]


@pytest.mark.parametrize("event", ["objection.resolved", "documentation_request.fulfilled"])
def test_a_staff_endpoint_may_not_subscribe_to_one_customers_events(client, as_role, event):
    response = create(client, as_role("procurement"), events=[event])
    assert [e["pointer"] for e in problem(response, 422)["errors"]] == ["/events/0"]


def test_a_staff_endpoints_url_is_checked_as_a_customers(client, as_role):
    response = create(client, as_role("admin"), url="https://127.0.0.1/hook")
    assert [e["pointer"] for e in problem(response, 422)["errors"]] == ["/url"]


def test_customers_never_see_nor_touch_staff_endpoints(client, as_role, staff_hook):
    customer = as_role("customer_a")
    assert client.get(URL, headers=customer).get_json()["items"] == []
    item = f"{URL}/{staff_hook['id']}"
    assert client.get(item, headers=customer).status_code == 404
    assert client.get(f"{item}/deliveries", headers=customer).status_code == 404
    changed = client.patch(
        item, json={"enabled": False}, headers={**customer, "If-Match": staff_hook["etag"]}
    )
    assert changed.status_code == 404
    gone = client.delete(item, headers={**customer, "If-Match": staff_hook["etag"]})
    assert gone.status_code == 404
    assert client.post(f"{item}/rotate-secret", json={}, headers=customer).status_code == 404


def test_procurement_manages_its_own_and_never_admins(client, as_role, staff_hook, admin_hook):
    procurement = as_role("procurement")
    listed = client.get(URL, headers=procurement).get_json()["items"]
    assert [hook["id"] for hook in listed] == [staff_hook["id"]]
    assert client.get(f"{URL}/{admin_hook['id']}", headers=procurement).status_code == 404
    changed = client.patch(
        f"{URL}/{staff_hook['id']}",
        json={"description": "Privacy desk", "events": ["incident.overdue"]},
        headers={**procurement, "If-Match": staff_hook["etag"]},
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["events"] == ["incident.overdue"]
    rotated = client.post(f"{URL}/{staff_hook['id']}/rotate-secret", json={}, headers=procurement)
    assert rotated.status_code == 200, rotated.get_json()


def test_admins_manage_every_staff_endpoint_and_only_pause_a_customers(client, as_role, staff_hook):
    admin = as_role("admin")
    changed = client.patch(
        f"{URL}/{staff_hook['id']}",
        json={"url": "https://93.184.215.15/other"},
        headers={**admin, "If-Match": staff_hook["etag"]},
    )
    assert changed.status_code == 200, changed.get_json()
    rotated = client.post(f"{URL}/{staff_hook['id']}/rotate-secret", json={}, headers=admin)
    assert rotated.status_code == 200
    customers = create(client, as_role("customer_a"))
    refused = client.patch(
        f"{URL}/{customers.get_json()['id']}",
        json={"url": "https://93.184.215.15/other"},
        headers={**admin, "If-Match": customers.headers["ETag"]},
    )
    assert [e["pointer"] for e in problem(refused, 403)["errors"]] == ["/url"]
    listed = {hook["id"] for hook in client.get(URL, headers=admin).get_json()["items"]}
    assert {staff_hook["id"], customers.get_json()["id"]} <= listed


def test_staff_endpoints_share_one_quota(client, as_role, registry):
    registry.settings = registry.settings.replace(quota_webhooks=2)
    assert create(client, as_role("admin")).status_code == 201
    assert create(client, as_role("procurement")).status_code == 201
    problem(create(client, as_role("admin")), 409)
    # A customer's quota is its own.
    assert create(client, as_role("customer_a")).status_code == 201
