"""Feed keys: role `feed`, bound to one customer, read that customer's Atom feed and nothing
else; their token may come as `?token=` there, and only there, and is never echoed."""

from __future__ import annotations

from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from helpers import bearer, days_from_today, nimbus, problem

from registry.server import RedactingLogger, redact

ATOM = "/v1/changes.atom"
NS = {"atom": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def feed_token(tokens) -> str:
    return tokens["feed_a"]


def _entry_ids(response) -> list[str]:
    root = ElementTree.fromstring(response.get_data())  # noqa: S314 -- the registry's own answer
    return [entry.find("atom:id", NS).text for entry in root.findall("atom:entry", NS)]


def test_a_feed_key_reads_its_customers_atom_feed_by_header_or_query(client, as_role, feed_token):
    created = client.post("/v1/subprocessors", json=nimbus(), headers=as_role("admin"))
    assert created.status_code == 201
    by_header = client.get(ATOM, headers=bearer(feed_token))
    assert by_header.status_code == 200, by_header.get_data(as_text=True)
    assert by_header.mimetype == "application/atom+xml"
    by_query = client.get(f"{ATOM}?token={feed_token}")
    assert by_query.status_code == 200, by_query.get_data(as_text=True)
    # The same entries as customer A's own keys read: the customer's feed, projected.
    customer = client.get(ATOM, headers=as_role("customer_a"))
    assert _entry_ids(by_query) == _entry_ids(customer) == _entry_ids(by_header)
    assert _entry_ids(by_query)


def test_a_feed_key_reads_only_its_own_customers_events(client, as_role, feed_token):
    created = client.post(
        "/v1/subprocessors", json=nimbus(effective_on=days_from_today(40)), headers=as_role("admin")
    )
    sp = created.get_json()["id"]
    # Customer B objects and has it answered: an event for customer B alone.
    objected = client.post(
        f"/v1/subprocessors/{sp}/objections", json={"reason": "No."}, headers=as_role("customer_b")
    )
    assert objected.status_code == 201, objected.get_json()
    item = f"/v1/subprocessors/{sp}/objections/{objected.get_json()['id']}"
    answer = client.get(item, headers=as_role("admin"))
    resolved = client.patch(
        item,
        json={"status": "dismissed", "response": "It stays."},
        headers={**as_role("admin"), "If-Match": answer.headers["ETag"]},
    )
    assert resolved.status_code == 200, resolved.get_json()
    text = client.get(f"{ATOM}?token={feed_token}").get_data(as_text=True)
    assert "objection.resolved" not in text and "objection.created" not in text
    assert "subprocessor.announced" in text
    customer_b = client.get(ATOM, headers=as_role("customer_b")).get_data(as_text=True)
    assert "objection.resolved" in customer_b


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/changes"),
        ("GET", "/v1/subprocessors"),
        ("GET", "/v1/objections"),
        ("GET", "/v1/webhooks"),
        ("POST", "/v1/webhooks"),
        ("GET", "/v1/documentation-requests"),
        ("GET", "/v1/keys"),
    ],
)
def test_a_feed_key_is_refused_everywhere_else(client, feed_token, method, path):
    response = client.open(
        path, method=method, headers=bearer(feed_token), json={} if method == "POST" else None
    )
    body = problem(response, 403)
    assert feed_token not in response.get_data(as_text=True), body


@pytest.mark.parametrize("role", ["customer_a", "admin", "procurement", "service"])
def test_no_other_roles_token_is_accepted_in_the_query(client, tokens, role):
    response = client.get(f"{ATOM}?token={tokens[role]}")
    body = problem(response, 401)
    assert [e["pointer"] for e in body["errors"]] == ["/token"]
    assert tokens[role] not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/v1/changes", "/v1/subprocessors", "/v1/health"])
def test_a_token_in_the_query_is_refused_on_any_other_operation(client, feed_token, path):
    response = client.get(f"{path}?token={feed_token}")
    body = problem(response, 401)
    assert [e["pointer"] for e in body["errors"]] == ["/token"]
    assert feed_token not in response.get_data(as_text=True)


def test_a_token_sent_twice_or_empty_is_refused(client, feed_token):
    twice = client.get(f"{ATOM}?token={feed_token}", headers=bearer(feed_token))
    assert problem(twice, 401)["errors"][0]["pointer"] == "/token"
    assert problem(client.get(f"{ATOM}?token="), 401)["errors"][0]["pointer"] == "/token"
    wrong = client.get(f"{ATOM}?token=reg_key_0000000000000000_nope")
    assert "reg_key_0000000000000000_nope" not in problem(wrong, 401)["detail"]


def test_the_access_log_never_shows_a_token():
    assert redact("GET /v1/changes.atom?since=x&token=reg_key_1_s HTTP/1.1") == (
        "GET /v1/changes.atom?since=x&token=[redacted] HTTP/1.1"
    )
    assert redact("/v1/changes.atom?TOKEN=abc") == "/v1/changes.atom?TOKEN=[redacted]"
    assert redact("/v1/changes.atom?mytoken=abc") == "/v1/changes.atom?mytoken=abc"
    logger = RedactingLogger.__new__(RedactingLogger)
    request = SimpleNamespace(
        method="GET",
        uri="/v1/changes.atom?token=reg_key_1_secret",
        path="/v1/changes.atom",
        query="token=reg_key_1_secret",
        version=(1, 1),
        headers=[],
    )
    response = SimpleNamespace(status="200 OK", headers=[], sent=10, response_length=10)
    environ = {
        "REMOTE_ADDR": "127.0.0.1",
        "REQUEST_METHOD": "GET",
        "RAW_URI": request.uri,
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    from datetime import timedelta

    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=1))
    assert "reg_key_1_secret" not in repr(atoms)
    assert "token=[redacted]" in atoms["r"]


@pytest.mark.server
def test_the_servers_access_log_never_shows_a_token(server):
    import urllib.error
    import urllib.request

    token = server.tokens["feed_a"]
    with urllib.request.urlopen(f"{server.url}{ATOM}?token={token}", timeout=30) as answer:  # noqa: S310
        assert answer.status == 200
    refused_token = server.tokens["customer_a"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.url}/v1/changes?token={refused_token}", timeout=30)  # noqa: S310
    assert refused.value.code == 401
    assert refused_token not in refused.value.read().decode()
    server.stop()
    log = server.log.read_text()
    assert f"{ATOM}?token=[redacted]" in log, log[-2000:]
    assert token not in log and refused_token not in log
