"""The public page and feed's fast path answers exactly as the Flask path would, or defers.

The two give the same answers, so each test also checks which of them answered (`to_flask`): a
fast path that stopped answering would otherwise go unnoticed."""

from __future__ import annotations

import pytest
from helpers import nimbus, passed_on
from werkzeug.test import Client

from registry.public.fastpath import PublicFastPath

PATHS = ("/subprocessors", "/feeds/subprocessors.atom")


@pytest.fixture
def both(app, client, as_role):
    client.post("/v1/subprocessors", json=nimbus(), headers=as_role("procurement"))
    fast = app.wsgi_app
    while not isinstance(fast, PublicFastPath):
        fast = fast.next
    return Client(app), Client(fast.next), fast


@pytest.fixture
def to_flask(both, app, monkeypatch) -> list[str]:
    """The requests the fast path passes on to Flask from here on ("GET /subprocessors")."""
    return passed_on(app, PublicFastPath, monkeypatch)


def comparable(response):
    headers = sorted((k, v) for k, v in response.headers.items() if k != "Date")
    return response.status, headers, response.get_data()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("encoding", [None, "gzip", "gzip;q=0, identity", "br, gzip;q=0.5"])
def test_the_fast_path_answers_as_flask_would(both, to_flask, path, encoding):
    through_app, flask, _ = both
    headers = {"Accept-Encoding": encoding} if encoding else {}
    first = flask.get(path, headers=headers)  # builds the edition
    assert first.status_code == 200
    served = through_app.get(path, headers=headers)
    assert comparable(served) == comparable(flask.get(path, headers=headers))
    conditional = {**headers, "If-None-Match": served.headers["ETag"]}
    not_modified = through_app.get(path, headers=conditional)
    assert not_modified.status_code == 304
    assert comparable(not_modified) == comparable(flask.get(path, headers=conditional))
    assert to_flask == [], "the fast path answered neither itself"


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/subprocessors?x=1", {}),
        ("/subprocessors", {"Authorization": "Bearer reg_key_0_nope"}),
        ("/feeds/subprocessors.atom?since=1", {}),
    ],
)
def test_anything_else_is_left_to_flask(both, to_flask, target, headers):
    through_app, flask, _ = both
    assert comparable(through_app.get(target, headers=headers)) == comparable(
        flask.get(target, headers=headers)
    )
    assert to_flask == [f"GET {target.partition('?')[0]}"]


def test_a_write_is_seen_at_once(both, to_flask, client, as_role):
    through_app, flask, _ = both
    flask.get("/subprocessors")
    before = through_app.get("/subprocessors")
    client.post("/v1/subprocessors", json=nimbus(name="Brand New"), headers=as_role("procurement"))
    after = through_app.get("/subprocessors")
    assert after.headers["ETag"] != before.headers["ETag"]
    assert b"Brand New" in after.get_data()
    # The new edition was built by Flask (above); from now on the fast path serves it.
    assert to_flask == ["POST /v1/subprocessors", "GET /subprocessors"]
    again = through_app.get("/subprocessors")
    assert (again.headers["ETag"], again.get_data()) == (after.headers["ETag"], after.get_data())
    assert (
        through_app.get(
            "/subprocessors", headers={"If-None-Match": again.headers["ETag"]}
        ).status_code
        == 304
    )
    assert to_flask == ["POST /v1/subprocessors", "GET /subprocessors"]
