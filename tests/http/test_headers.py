"""Security and caching headers on every kind of response, errors included."""

from __future__ import annotations

import pytest
from flask import Response
from helpers import ALLOWED, URL, nimbus, upload_text

from registry.http import auth

NO_STORE = "no-store"
REVALIDATE = "private, no-cache"
PUBLIC = "public, max-age=300"


@pytest.fixture
def app(own_app):
    """Routes are added below, so the app is this test's own, not the session's."""
    return own_app


@pytest.fixture
def extra_routes(app):
    """Test-only operations: one that fails unexpectedly, one that picks a cache policy."""

    def explode():
        raise RuntimeError("boom")

    def cacheable():
        return Response("{}", mimetype="application/json", headers={"Cache-Control": "no-cache"})

    auth.mark(explode, auth.PUBLIC)
    auth.mark(cacheable, ("admin",))
    app.add_url_rule("/v1/explode", view_func=explode)
    app.add_url_rule("/v1/cacheable", view_func=cacheable)
    return app


@pytest.fixture
def created(extra_routes, client, as_role):
    response = client.post(URL, json=nimbus(), headers=as_role("procurement"))
    assert response.status_code == 201
    return response.get_json()["id"], response.headers["ETag"]


def exchanges(client, as_role, sid, etag):
    """(what, status, Cache-Control) and the response, for every kind of answer the API gives."""
    admin = as_role("admin")
    item = f"{URL}/{sid}"
    anonymous_get = [
        ("/v1/countries", 200, PUBLIC),
        ("/v1/countries/NL", 200, PUBLIC),
        ("/v1/adequacy-decisions", 200, PUBLIC),
        ("/v1/adequacy-decisions?as_of=2020-01-01", 200, PUBLIC),
        ("/v1/health", 200, NO_STORE),
        ("/openapi.json", 200, NO_STORE),
        ("/docs", 200, NO_STORE),
        ("/v1/countries/EL", 404, NO_STORE),
        ("/v1/countries?bogus=1", 422, NO_STORE),
        ("/nope", 404, NO_STORE),
        (URL, 401, NO_STORE),
        ("/v1/explode", 500, NO_STORE),
    ]
    for path, status, cache in anonymous_get:
        yield (f"anonymous GET {path}", status, cache), client.get(path)
    authenticated_get = [
        ("/v1/countries", 200),
        ("/v1/health", 200),
        (URL, 200),
        (item, 200),
        (f"{item}/compliance", 200),
        ("/v1/compliance", 200),
        ("/nope", 404),
        (f"{URL}/sp_missing", 404),
        (f"{URL}?limit=101", 422),
        ("/v1/explode", 500),
        ("/v1/cacheable", 200),
    ]
    for path, status in authenticated_get:
        yield (f"admin GET {path}", status, NO_STORE), client.get(path, headers=admin)
    yield ("bad token", 401, NO_STORE), client.get(URL, headers={"Authorization": "Bearer x"})
    yield (
        ("bad token, public", 401, NO_STORE),
        client.get("/v1/countries", headers={"Authorization": "Bearer x"}),
    )
    yield (
        ("customer, admin only", 403, NO_STORE),
        client.get("/v1/compliance", headers=as_role("customer_a")),
    )
    yield ("wrong method", 405, NO_STORE), client.put("/v1/health", headers=admin)
    yield ("wrong method, anonymous", 405, NO_STORE), client.put("/v1/health")
    yield (
        ("malformed JSON", 400, NO_STORE),
        client.post(URL, data="{", content_type="application/json", headers=admin),
    )
    yield (
        ("too large", 413, NO_STORE),
        client.post(URL, json=nimbus(purpose="x" * 2**21), headers=admin),
    )
    yield (
        ("not JSON", 415, NO_STORE),
        client.post(URL, data="x", content_type="text/csv", headers=admin),
    )
    yield ("invalid", 422, NO_STORE), client.post(URL, json={"name": 1}, headers=admin)
    yield ("duplicate", 409, NO_STORE), client.post(URL, json=nimbus(), headers=admin)
    yield ("no If-Match", 428, NO_STORE), client.patch(item, json={"purpose": "x"}, headers=admin)
    yield (
        ("stale If-Match", 412, NO_STORE),
        client.patch(
            item, json={"purpose": "x"}, headers=as_role("admin", **{"If-Match": '"stale"'})
        ),
    )
    yield (
        ("not modified", 304, NO_STORE),
        client.get(item, headers=as_role("admin", **{"If-None-Match": etag})),
    )
    yield ("created", 201, NO_STORE), client.post(URL, json=nimbus(name="Other"), headers=admin)
    yield (
        ("changed", 200, NO_STORE),
        client.patch(
            item, json={"purpose": "Changed"}, headers=as_role("admin", **{"If-Match": etag})
        ),
    )
    uploaded = upload_text(
        client, admin, b"Standard contractual clauses.", title="SCCs", audience="internal"
    )
    yield ("uploaded", 201, NO_STORE), uploaded
    content = f"/v1/documents/{uploaded.get_json()['id']}/content"
    download = client.get(content, headers=admin)
    yield ("download", 200, NO_STORE), download
    yield (
        ("download, unchanged", 304, NO_STORE),
        client.get(
            content, headers=as_role("admin", **{"If-None-Match": download.headers["ETag"]})
        ),
    )
    feed = client.get("/v1/changes", headers=as_role("customer_a"))
    yield ("change feed", 200, REVALIDATE), feed
    yield (
        ("change feed, unchanged", 304, REVALIDATE),
        client.get(
            "/v1/changes", headers=as_role("customer_a", **{"If-None-Match": feed.headers["ETag"]})
        ),
    )
    answer = client.get(ALLOWED, headers=as_role("service"))
    yield ("allowed processors", 200, REVALIDATE), answer
    yield (
        ("allowed processors, unchanged", 304, REVALIDATE),
        client.get(
            ALLOWED, headers=as_role("service", **{"If-None-Match": answer.headers["ETag"]})
        ),
    )
    yield (
        ("allowed processors, customer", 403, NO_STORE),
        client.get(ALLOWED, headers=as_role("customer_a")),
    )
    yield (
        ("allowed processors, invalid", 422, NO_STORE),
        client.get(f"{ALLOWED}?country=EL", headers=as_role("service")),
    )


def test_every_response_is_nosniff_with_its_cache_policy(client, as_role, created):
    wrong, statuses = [], set()
    for (what, status, cache), response in exchanges(client, as_role, *created):
        response.close()
        statuses.add(response.status_code)
        seen = (
            response.status_code,
            response.headers.get("Cache-Control"),
            response.headers.get("X-Content-Type-Options"),
        )
        if seen != (status, cache, "nosniff"):
            wrong.append(f"{what}: expected {(status, cache, 'nosniff')}, got {seen}")
    assert not wrong, "\n".join(wrong)
    assert {200, 201, 304, 400, 401, 403, 404, 405, 409, 412, 413, 415, 422, 428, 500} <= statuses
