"""A customer's webhook is the customer's: staff read, pause, resume and delete it, and
change nothing else (403 naming each field)."""

from __future__ import annotations

import pytest
from helpers import PROBLEM

URL = "/v1/webhooks"
PUBLIC_URL = "https://93.184.215.14/hooks/registry"  # a public address: no lookup
ELSEWHERE = "https://93.184.215.15/collect"


@pytest.fixture
def hook(client, as_role) -> dict:
    response = client.post(
        URL,
        json={"url": PUBLIC_URL, "events": ["subprocessor.announced"], "description": "Inbox"},
        headers=as_role("customer_a"),
    )
    assert response.status_code == 201, response.get_json()
    return {**response.get_json(), "etag": response.headers["ETag"]}


def read(client, as_role, hook) -> dict:
    response = client.get(f"{URL}/{hook['id']}", headers=as_role("customer_a"))
    return {**response.get_json(), "etag": response.headers["ETag"]}


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"url": ELSEWHERE}, ["/url"]),
        ({"events": ["*"]}, ["/events"]),
        ({"description": "Redirected"}, ["/description"]),
        ({"url": ELSEWHERE, "events": ["*"], "enabled": False}, ["/url", "/events"]),
        # The same value is refused too: the field is not the admin's to send.
        ({"url": PUBLIC_URL}, ["/url"]),
        # Refused before the URL is judged: an admin learns nothing of the URL rules here.
        ({"url": "http://localhost/x"}, ["/url"]),
    ],
)
def test_an_admin_cannot_change_a_customers_endpoint(client, as_role, hook, changes, refused):
    response = client.patch(
        f"{URL}/{hook['id']}", json=changes, headers=as_role("admin", **{"If-Match": hook["etag"]})
    )
    assert response.status_code == 403, response.get_json()
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert [e["pointer"] for e in problem["errors"]] == refused
    assert "owns" in problem["detail"]
    after = read(client, as_role, hook)
    assert after["url"] == PUBLIC_URL
    assert after["events"] == ["subprocessor.announced"]
    assert after["description"] == "Inbox"
    assert after["enabled"] is True
    assert after["etag"] == hook["etag"]  # no new version either


def test_an_admin_pauses_resumes_and_deletes_it(client, as_role, hook):
    item = f"{URL}/{hook['id']}"
    paused = client.patch(
        item, json={"enabled": False}, headers=as_role("admin", **{"If-Match": hook["etag"]})
    )
    assert paused.status_code == 200, paused.get_json()
    assert paused.get_json()["enabled"] is False
    resumed = client.patch(
        item,
        json={"enabled": True},
        headers=as_role("admin", **{"If-Match": paused.headers["ETag"]}),
    )
    assert resumed.status_code == 200, resumed.get_json()
    assert resumed.get_json()["enabled"] is True
    assert resumed.get_json()["url"] == PUBLIC_URL
    assert client.get(item, headers=as_role("admin")).status_code == 200
    deleted = client.delete(item, headers=as_role("admin", **{"If-Match": resumed.headers["ETag"]}))
    assert deleted.status_code == 204
    assert client.get(item, headers=as_role("customer_a")).status_code == 404


def test_an_admin_cannot_rotate_its_secret(client, as_role, hook):
    response = client.post(f"{URL}/{hook['id']}/rotate-secret", headers=as_role("admin"))
    assert response.status_code == 403
    assert response.mimetype == PROBLEM


def test_the_owner_still_changes_everything(client, as_role, hook):
    changed = client.patch(
        f"{URL}/{hook['id']}",
        json={"url": ELSEWHERE, "events": ["*"], "description": "New inbox", "enabled": False},
        headers=as_role("customer_a", **{"If-Match": hook["etag"]}),
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["url"], body["events"], body["description"], body["enabled"]) == (
        ELSEWHERE,
        ["*"],
        "New inbox",
        False,
    )


def test_the_rule_lives_in_the_service(registry, client, as_role, hook):
    """Any door that reaches webhooks.service.update gets the same answer."""
    from registry.audit import service as audit
    from registry.errors import Forbidden
    from registry.webhooks import service

    admin = {"key_id": "key_x", "role": "admin", "customer_id": None, "name": "ops"}
    other = {"key_id": "key_y", "role": "customer", "customer_id": "cust-b", "name": "b"}
    for actor in (admin, other, audit.actor(name="registry")):
        with pytest.raises(Forbidden) as refused:
            service.update(
                registry, hook["id"], None, {"events": ["*"]}, lambda r: None, actor,
                allow_private=False,
            )  # fmt: skip
        assert refused.value.errors[0]["pointer"] == "/events"
