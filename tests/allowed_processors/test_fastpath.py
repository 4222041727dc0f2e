"""The allowed-processors fast path answers exactly as the Flask path would, or defers to it.

The two give the same answers, so each test also checks which of them answered (`to_flask`): a
fast path that stopped answering would otherwise go unnoticed."""

from __future__ import annotations

import pytest
from helpers import nimbus, passed_on
from werkzeug.test import Client

from registry.allowed_processors import api as allowed
from registry.allowed_processors.fastpath import AllowedProcessorsFastPath

URL = "/v1/allowed-processors"


@pytest.fixture
def seeded(client, as_role):
    client.post("/v1/subprocessors", json=nimbus(), headers=as_role("procurement"))
    client.post(
        "/v1/subprocessors",
        json=nimbus(name="Other", service="email_delivery", data_categories=["user.contact"]),
        headers=as_role("procurement"),
    )


@pytest.fixture
def both(app):
    """(through the fast path, straight to Flask)"""
    fast = app.wsgi_app
    while not isinstance(fast, AllowedProcessorsFastPath):
        fast = fast.next  # the public pages' fast path wraps it
    return Client(app), Client(fast.next)


@pytest.fixture
def to_flask(both, app, monkeypatch) -> list[str]:
    """The requests the fast path passes on to Flask from here on ("GET /v1/...")."""
    return passed_on(app, AllowedProcessorsFastPath, monkeypatch)


def comparable(response):
    headers = sorted((k, v) for k, v in response.headers.items() if k != "Date")
    return response.status, headers, response.get_data()


@pytest.mark.parametrize(
    ("query", "role"),
    [
        ("", "service"),
        ("data_category=user.contact.email", "service"),
        ("data_category=user.contact.email&service=hosting", "procurement"),
        ("country=IN", "admin"),
        ("data_category=user.contact", "service"),
        ("service=email_delivery&country=NL", "service"),
        ("data_category=user.contact.email&data_category=user.name", "service"),
        ("data_category=user.contact&country=NL&data_category=user.contact.email", "admin"),
    ],
)
def test_the_fast_path_answers_as_flask_would(seeded, both, to_flask, tokens, query, role):
    fast, flask = both
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    first = fast.get(f"{URL}?{query}", headers=headers)
    assert first.status_code == 200
    assert comparable(first) == comparable(flask.get(f"{URL}?{query}", headers=headers))
    etag = first.headers["ETag"]
    conditional = {**headers, "If-None-Match": etag}
    not_modified = fast.get(f"{URL}?{query}", headers=conditional)
    assert not_modified.status_code == 304
    assert comparable(not_modified) == comparable(flask.get(f"{URL}?{query}", headers=conditional))
    assert f"GET {URL}" not in to_flask, "the fast path answered neither itself"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("", {}),
        ("", {"Authorization": "Bearer reg_key_0_nope"}),
        ("", {"Authorization": "Basic abc"}),
        ("", "customer_a"),
        ("data_category=user.shoe_size", "service"),
        ("service=hosting&service=other", "service"),
        ("unknown=1", "service"),
        ("country=nl", "service"),
        ("data_category=%FF", "service"),
        ("data_category=user.contact&data_category=user.shoe_size", "service"),
        ("country=NL&country=NL", "service"),
    ],
)
def test_every_failure_is_left_to_flask(seeded, both, to_flask, tokens, query, headers):
    if isinstance(headers, str):
        headers = {"Authorization": f"Bearer {tokens[headers]}"}
    fast, flask = both
    through_fast = fast.get(f"{URL}?{query}", headers=headers)
    assert through_fast.status_code in (401, 403, 422)
    assert to_flask.count(f"GET {URL}") == 1
    assert comparable(through_fast) == comparable(flask.get(f"{URL}?{query}", headers=headers))


def test_head_and_other_paths_go_to_flask(seeded, both, tokens):
    fast, flask = both
    headers = {"Authorization": f"Bearer {tokens['service']}"}
    assert comparable(fast.head(URL, headers=headers)) == comparable(
        flask.head(URL, headers=headers)
    )
    assert fast.get(URL + "/", headers=headers).status_code == 404


def test_the_fast_path_serves_the_route_flask_has(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert allowed.PATH in rules


def test_a_write_is_seen_by_the_fast_path_at_once(seeded, both, to_flask, tokens, client, as_role):
    fast, _ = both
    headers = {"Authorization": f"Bearer {tokens['service']}"}
    before = fast.get(URL, headers=headers)
    client.post("/v1/subprocessors", json=nimbus(name="Third"), headers=as_role("procurement"))
    after = fast.get(URL, headers={**headers, "If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert "Third" in [p["name"] for p in after.get_json()["processors"]]
    again = fast.get(URL, headers={**headers, "If-None-Match": after.headers["ETag"]})
    assert again.status_code == 304
    assert to_flask == ["POST /v1/subprocessors"], "the fast path answered every read itself"
