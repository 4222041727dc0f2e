"""428 and 412 say in plain words what to send: for every write with If-Match."""

from __future__ import annotations

import helpers
import pytest
from helpers import URL, vendor

WEBHOOKS = "/v1/webhooks"


def required(path: str) -> str:
    return (
        "This write needs If-Match with the record's current ETag: "
        f"GET {path} and send its ETag header as If-Match."
    )


def failed(path: str, sent: str) -> str:
    return (
        f"The record changed since you read it (its ETag is no longer {sent}): "
        f"GET {path} again, check the change, and send the new ETag as If-Match."
    )


def problem(response, status: int) -> dict:
    """A 428 or 412 problem, with its own type and title and no field errors."""
    body = helpers.problem(response, status)
    slug = {428: "precondition-required", 412: "precondition-failed"}[status]
    title = {428: "Precondition Required", 412: "Precondition Failed"}[status]
    assert body["type"].endswith("/" + slug)
    assert (body["title"], body["status"]) == (title, status)
    assert "errors" not in body
    return body


@pytest.fixture
def subprocessor(client, as_role) -> dict:
    """A sub-processor's URL, headers for its writes, a change for PATCH and its first ETag."""
    staff = as_role("procurement")
    created = client.post(URL, json=vendor("Acme Mail"), headers=staff)
    assert created.status_code == 201, created.get_data(as_text=True)
    return {
        "url": f"{URL}/{created.get_json()['id']}",
        "headers": staff,
        "change": {"purpose": "Transactional email"},
        "etag": created.headers["ETag"],
    }


@pytest.fixture
def webhook(client, as_role, registry) -> dict:
    registry.settings = registry.settings.replace(webhook_allow_private=True)
    customer = as_role("customer_a")
    created = client.post(WEBHOOKS, json={"url": "http://127.0.0.1:9/hook"}, headers=customer)
    assert created.status_code == 201, created.get_data(as_text=True)
    return {
        "url": f"{WEBHOOKS}/{created.get_json()['id']}",
        "headers": customer,
        "change": {"description": "Compliance inbox"},
        "etag": created.headers["ETag"],
    }


@pytest.fixture(params=["subprocessor", "webhook"])
def target(request) -> dict:
    return request.getfixturevalue(request.param)


def send(client, target: dict, method: str, **headers):
    kwargs = {"json": target["change"]} if method == "patch" else {}
    headers = {**target["headers"], **headers}
    return getattr(client, method)(target["url"], headers=headers, **kwargs)


def unchanged(client, target: dict) -> None:
    read = client.get(target["url"], headers=target["headers"])
    assert read.status_code == 200
    assert read.headers["ETag"] == target["etag"]


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_without_if_match_428_says_where_to_get_the_etag(client, target, method):
    body = problem(send(client, target, method), 428)
    assert body["detail"] == required(target["url"])
    unchanged(client, target)


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_made_up_etag_is_412_saying_to_read_it_again(client, target, method):
    body = problem(send(client, target, method, **{"If-Match": '"0123"'}), 412)
    assert body["detail"] == failed(target["url"], '"0123"')
    unchanged(client, target)


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_lost_update_is_412_naming_the_etag_read(client, target, method):
    first = target["etag"]
    changed = send(client, target, "patch", **{"If-Match": first})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    body = problem(send(client, target, method, **{"If-Match": first}), 412)
    assert body["detail"] == failed(target["url"], first)
    assert client.get(target["url"], headers=target["headers"]).headers["ETag"] != first


def test_a_long_if_match_is_shortened_in_the_detail(client, subprocessor):
    sent = '"' + "a" * 200 + '"'
    body = problem(send(client, subprocessor, "delete", **{"If-Match": sent}), 412)
    assert sent[:80] + "..." in body["detail"]
    assert sent not in body["detail"]


def test_the_right_etag_still_writes(client, target):
    done = send(client, target, "patch", **{"If-Match": target["etag"]})
    assert done.status_code == 200, done.get_data(as_text=True)
