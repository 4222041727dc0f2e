"""Every error source answers through the one RFC 9457 problem+json builder."""

from __future__ import annotations

import copy
import json
from http import HTTPStatus

import pytest
from helpers import IN_WITHOUT_TIA, NL, nimbus, problem

from registry.http import auth

SUBPROCESSORS = "/v1/subprocessors"


def problem_of(response, status: int) -> dict:
    """The problem body of `response`, after checking what every problem must carry (problem)
    and what these errors' problems carry: the status's own title, no other member, no trace."""
    text = response.get_data(as_text=True)
    body = problem(response, status)
    assert body["title"] == HTTPStatus(status).phrase
    assert set(body) <= {"type", "title", "status", "detail", "errors"}
    assert "Traceback" not in text
    assert 'File "' not in text
    return body


def pointers(body: dict) -> list[str]:
    return [error["pointer"] for error in body["errors"]]


def set_at(body, pointer: str, value):
    """`body` with the value at the JSON pointer replaced by `value`."""
    *parents, last = pointer.lstrip("/").split("/")
    node = body
    for token in parents:
        node = node[int(token)] if isinstance(node, list) else node[token]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


@pytest.fixture
def created(client, as_role):
    response = client.post(SUBPROCESSORS, json=nimbus(), headers=as_role("procurement"))
    assert response.status_code == 201
    return response.get_json()["id"], response.headers["ETag"]


@pytest.fixture
def small_app(app_with):
    return app_with(max_json=1024)


@pytest.mark.parametrize(
    "path", ["/nope", "/v1/nope", "/v1/subprocessors/sp_1/nope", "/docs/", "/v1/health/"]
)
def test_unknown_route_is_404(client, path):
    body = problem_of(client.get(path), 404)
    assert body["type"].endswith("/not-found")


@pytest.mark.parametrize(
    ("method", "suffix", "headers"),
    [
        ("get", "", {}),
        ("get", "/compliance", {}),
        ("patch", "", {"If-Match": '"0"'}),
        ("delete", "", {"If-Match": '"0"'}),
    ],
)
def test_unknown_id_is_404_naming_the_id(client, as_role, method, suffix, headers):
    kwargs = {"json": {"purpose": "x"}} if method == "patch" else {}
    response = getattr(client, method)(
        f"{SUBPROCESSORS}/sp_missing{suffix}", headers=as_role("admin", **headers), **kwargs
    )
    assert "sp_missing" in problem_of(response, 404)["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", "/v1/health", {"GET", "HEAD", "OPTIONS"}),
        ("post", "/v1/countries", {"GET", "HEAD", "OPTIONS"}),
        ("delete", SUBPROCESSORS, {"GET", "POST", "HEAD", "OPTIONS"}),
        ("put", f"{SUBPROCESSORS}/sp_1", {"GET", "PATCH", "DELETE", "HEAD", "OPTIONS"}),
        ("post", f"{SUBPROCESSORS}/sp_1", {"GET", "PATCH", "DELETE", "HEAD", "OPTIONS"}),
        ("patch", "/v1/compliance", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_wrong_method_is_405_with_allow(client, method, path, allowed):
    response = getattr(client, method)(path)
    body = problem_of(response, 405)
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
    assert method.upper() in body["detail"]


MALFORMED = ["{bad", '{"name": }', '{"name": "x",}', "[1, 2", "nul", "{'name': 'x'}", "[" * 100_000]


@pytest.mark.parametrize("raw", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_json_is_400(client, as_role, created, raw):
    sid, etag = created
    post = client.post(
        SUBPROCESSORS, data=raw, content_type="application/json", headers=as_role("admin")
    )
    assert problem_of(post, 400)["type"].endswith("/malformed-request")
    patch = client.patch(
        f"{SUBPROCESSORS}/{sid}",
        data=raw,
        content_type="application/json",
        headers=as_role("admin", **{"If-Match": etag}),
    )
    problem_of(patch, 400)


def test_body_over_the_configured_limit_is_413(small_app, staff):
    client, headers = small_app.test_client(), staff
    small = nimbus()
    assert len(json.dumps(small)) < 1024
    assert client.post(SUBPROCESSORS, json=small, headers=headers).status_code == 201
    large = nimbus(name="Large", purpose="x" * 1000)
    body = problem_of(client.post(SUBPROCESSORS, json=large, headers=headers), 413)
    assert "1024" in body["detail"]
    listed = client.get(SUBPROCESSORS, headers=headers).get_json()["items"]
    assert [item["name"] for item in listed] == ["Nimbus Hosting"]


def test_default_limit_is_one_mebibyte(client, as_role, created):
    sid, etag = created
    huge = nimbus(name="Huge", purpose="x" * (1024 * 1024))
    body = problem_of(client.post(SUBPROCESSORS, json=huge, headers=as_role("admin")), 413)
    assert str(1024 * 1024) in body["detail"]
    patch = client.patch(
        f"{SUBPROCESSORS}/{sid}",
        json={"purpose": "x" * (1024 * 1024)},
        headers=as_role("admin", **{"If-Match": etag}),
    )
    problem_of(patch, 413)
    # Just under the limit the body is read and validated (purpose is at most 1000 characters).
    near = nimbus(name="Near", purpose="x" * (1024 * 1024 - 1000))
    body = problem_of(client.post(SUBPROCESSORS, json=near, headers=as_role("admin")), 422)
    assert pointers(body) == ["/purpose"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (json.dumps(nimbus()), "text/plain"),
        ("name=Nimbus", "application/x-www-form-urlencoded"),
        (json.dumps(nimbus()), None),
        ("<subprocessor/>", "application/xml"),
    ],
)
def test_non_json_body_is_415(client, as_role, created, data, content_type):
    sid, etag = created
    kwargs = {"data": data}
    if content_type:
        kwargs["content_type"] = content_type
    post = client.post(SUBPROCESSORS, headers=as_role("admin"), **kwargs)
    assert "application/json" in problem_of(post, 415)["detail"]
    patch = client.patch(
        f"{SUBPROCESSORS}/{sid}", headers=as_role("admin", **{"If-Match": etag}), **kwargs
    )
    problem_of(patch, 415)
    assert (
        client.get(SUBPROCESSORS, headers=as_role("admin")).get_json()["items"][0]["version"] == 1
    )


def test_several_invalid_values_each_get_a_pointer(client, as_role):
    body = nimbus()
    body["locations"][0]["country"] = "EL"
    body["locations"][2]["safeguard"]["signed_on"] = "2024-02-30"
    body["data_categories"].append("user.not_a_category")
    problem = problem_of(client.post(SUBPROCESSORS, json=body, headers=as_role("admin")), 422)
    assert problem["type"].endswith("/validation-failed")
    assert sorted(pointers(problem)) == [
        "/data_categories/3",
        "/locations/0/country",
        "/locations/2/safeguard/signed_on",
    ]
    assert all(set(error) == {"pointer", "detail"} for error in problem["errors"])


def test_eu_code_el_gets_the_iso_hint_gr(client, as_role):
    body = set_at(nimbus(), "/locations/0/country", "EL")
    problem = problem_of(client.post(SUBPROCESSORS, json=body, headers=as_role("admin")), 422)
    [error] = problem["errors"]
    assert error["pointer"] == "/locations/0/country"
    assert "'GR'" in error["detail"]


WRONG_VALUES = [
    ("/name", 3),
    ("/name", None),
    ("/name", "   "),
    ("/name", "x" * 201),
    ("/name", ["Nimbus"]),
    ("/legal_entity", 4),
    ("/service", 1),
    ("/service", "storage"),
    ("/purpose", []),
    ("/purpose", {"text": "x"}),
    ("/data_categories", "user.contact.email"),
    ("/data_categories", []),
    ("/data_categories/0", 1),
    ("/data_categories/2", "user.device.ip"),
    ("/locations", {}),
    ("/locations", []),
    ("/locations/0", 3),
    ("/locations/0", "NL"),
    ("/locations/0/country", 1),
    ("/locations/0/country", "nl"),
    ("/locations/0/country", "NLD"),
    ("/locations/0/country", "XX"),
    ("/locations/0/activity", True),
    ("/locations/0/activity", "sleeping"),
    ("/locations/1/safeguard", "adequacy"),
    ("/locations/1/safeguard", None),
    ("/locations/1/safeguard/mechanism", 1),
    ("/locations/1/safeguard/mechanism", "trust"),
    ("/locations/1/safeguard/certified", "true"),
    ("/locations/1/safeguard/certified", 1),
    ("/locations/1/safeguard/certification_checked_on", False),
    ("/locations/1/safeguard/certification_checked_on", "2026-13-01"),
    ("/locations/2/safeguard/scc_module", "1"),
    ("/locations/2/safeguard/scc_module", 1.5),
    ("/locations/2/safeguard/scc_module", True),
    ("/locations/2/safeguard/scc_module", 5),
    ("/locations/2/safeguard/scc_version", 2021),
    ("/locations/2/safeguard/signed_on", 20240301),
    ("/locations/2/safeguard/signed_on", "20240301"),
    ("/locations/2/safeguard/signed_on", "2024-02-30"),
    ("/locations/2/safeguard/signed_on", True),
    ("/locations/2/safeguard/signed_on", "2024-3-1"),
    ("/locations/2/safeguard/tia_completed_on", "2024-02-20T00:00:00"),
    ("/effective_on", True),
    ("/effective_on", "20240301"),
    ("/effective_on", "2024-02-30"),
    ("/effective_on", "2026-11-24T00:00:00Z"),
    ("/effective_on", None),
]


@pytest.mark.parametrize(("pointer", "value"), WRONG_VALUES, ids=repr)
def test_wrong_value_is_422_at_its_pointer(client, as_role, pointer, value):
    body = set_at(nimbus(), pointer, value)
    problem = problem_of(client.post(SUBPROCESSORS, json=body, headers=as_role("admin")), 422)
    assert pointers(problem) == [pointer]
    assert problem["detail"].startswith(pointer)
    assert client.get(SUBPROCESSORS, headers=as_role("admin")).get_json()["items"] == []


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        ("/locations/0/country", 7),
        ("/locations/1/safeguard/scc_module", "2"),
        ("/locations/0/activity", None),
    ],
)
def test_wrong_value_in_a_patch_is_422_at_its_pointer(client, as_role, created, pointer, value):
    sid, etag = created
    body = set_at({"locations": copy.deepcopy([NL, IN_WITHOUT_TIA])}, pointer, value)
    response = client.patch(
        f"{SUBPROCESSORS}/{sid}", json=body, headers=as_role("admin", **{"If-Match": etag})
    )
    assert pointers(problem_of(response, 422)) == [pointer]
    assert client.get(f"{SUBPROCESSORS}/{sid}", headers=as_role("admin")).headers["ETag"] == etag


@pytest.mark.parametrize(
    "pointer",
    [
        "/extra",
        "/id",
        "/status",
        "/compliance",
        "/locations/0/extra",
        "/locations/1/safeguard/extra",
        "/locations/2/safeguard/scc_modules",
    ],
)
def test_unknown_field_at_any_level_is_422(client, as_role, created, pointer):
    body = set_at(nimbus(name="Other"), pointer, "x")
    problem = problem_of(client.post(SUBPROCESSORS, json=body, headers=as_role("admin")), 422)
    assert problem["errors"] == [{"pointer": pointer, "detail": "Unknown field."}]
    sid, etag = created
    patch = set_at({"locations": nimbus()["locations"]}, pointer, "x")
    if pointer.count("/") == 1:
        patch = {pointer[1:]: "x"}
    response = client.patch(
        f"{SUBPROCESSORS}/{sid}", json=patch, headers=as_role("admin", **{"If-Match": etag})
    )
    assert pointers(problem_of(response, 422)) == [pointer]


def test_a_field_of_another_mechanism_is_422(client, as_role):
    body = set_at(nimbus(), "/locations/1/safeguard/signed_on", "2024-01-01")
    problem = problem_of(client.post(SUBPROCESSORS, json=body, headers=as_role("admin")), 422)
    assert pointers(problem) == ["/locations/1/safeguard/signed_on"]
    assert "adequacy" in problem["errors"][0]["detail"]


@pytest.mark.parametrize(
    "path",
    [
        f"{SUBPROCESSORS}?bogus=1",
        f"{SUBPROCESSORS}?limit=10&bogus=1",
        f"{SUBPROCESSORS}/{{sid}}/compliance?bogus=1",
        "/v1/compliance?bogus=1",
        "/v1/allowed-processors?bogus=1",
        "/v1/adequacy-decisions?bogus=1",
    ],
)
def test_unknown_query_parameter_is_422(client, as_role, created, path):
    response = client.get(path.format(sid=created[0]), headers=as_role("admin"))
    problem = problem_of(response, 422)
    assert problem["errors"] == [
        {"pointer": "/bogus", "detail": "Unknown field.", "location": "query"}
    ]


@pytest.mark.parametrize("document", [[], "x", 3, 3.5, True, None, [nimbus()]], ids=repr)
def test_non_object_body_is_422_not_500(client, as_role, created, document):
    raw = json.dumps(document)
    post = client.post(
        SUBPROCESSORS, data=raw, content_type="application/json", headers=as_role("admin")
    )
    # The empty pointer is the whole document (RFC 6901).
    assert pointers(problem_of(post, 422)) == [""]
    sid, etag = created
    patch = client.patch(
        f"{SUBPROCESSORS}/{sid}",
        data=raw,
        content_type="application/json",
        headers=as_role("admin", **{"If-Match": etag}),
    )
    assert pointers(problem_of(patch, 422)) == [""]


def test_empty_object_lists_every_missing_field(client, as_role):
    problem = problem_of(client.post(SUBPROCESSORS, json={}, headers=as_role("admin")), 422)
    assert sorted(pointers(problem)) == ["/data_categories", "/locations", "/name", "/service"]
    assert problem["detail"] == "4 values failed validation."


@pytest.mark.parametrize(
    "raw",
    [
        '{"\\ud800": 1}',
        '{"name": "Nimbus \\ud800", "service": "hosting",'
        ' "data_categories": ["user.contact.email"],'
        ' "locations": [{"country": "NL", "activity": "storage"}]}',
    ],
)
def test_lone_surrogates_are_422_not_500(client, as_role, raw):
    post = client.post(
        SUBPROCESSORS, data=raw, content_type="application/json", headers=as_role("admin")
    )
    problem = problem_of(post, 422)
    assert problem["errors"]
    assert client.get(SUBPROCESSORS, headers=as_role("admin")).get_json()["items"] == []


def test_duplicate_current_name_is_409_whatever_the_case(client, as_role, created):
    for name in ("Nimbus Hosting", "NIMBUS hosting"):
        response = client.post(SUBPROCESSORS, json=nimbus(name=name), headers=as_role("admin"))
        assert "nimbus hosting" in problem_of(response, 409)["detail"].lower()


def test_renaming_onto_a_current_name_is_409(client, as_role, created):
    other = client.post(SUBPROCESSORS, json=nimbus(name="Other"), headers=as_role("admin"))
    response = client.patch(
        f"{SUBPROCESSORS}/{other.get_json()['id']}",
        json={"name": "nimbus hosting"},
        headers=as_role("admin", **{"If-Match": other.headers["ETag"]}),
    )
    problem_of(response, 409)


def test_changing_a_retired_record_is_409(client, as_role, created):
    sid, etag = created
    url = f"{SUBPROCESSORS}/{sid}"
    assert client.delete(url, headers=as_role("admin", **{"If-Match": etag})).status_code == 200
    current = client.get(url, headers=as_role("admin")).headers["ETag"]
    patch = client.patch(
        url, json={"purpose": "again"}, headers=as_role("admin", **{"If-Match": current})
    )
    assert "retired" in problem_of(patch, 409)["detail"]
    again = client.delete(url, headers=as_role("admin", **{"If-Match": current}))
    assert problem_of(again, 409)["type"].endswith("/conflict")


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_stale_if_match_is_412_and_missing_is_428(client, as_role, created, method):
    sid, etag = created
    url = f"{SUBPROCESSORS}/{sid}"
    kwargs = {"json": {"purpose": "x"}} if method == "patch" else {}
    missing = getattr(client, method)(url, headers=as_role("admin"), **kwargs)
    assert "If-Match" in problem_of(missing, 428)["detail"]
    stale = getattr(client, method)(
        url, headers=as_role("admin", **{"If-Match": '"stale"'}), **kwargs
    )
    assert problem_of(stale, 412)["type"].endswith("/precondition-failed")
    after = client.get(url, headers=as_role("admin"))
    assert after.headers["ETag"] == etag
    assert after.get_json()["status"] == "active"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer reg_key_0000000000000000_secret"},
    ],
    ids=["none", "basic", "empty", "unknown"],
)
def test_missing_or_bad_token_is_401_with_challenge(client, headers):
    response = client.get(SUBPROCESSORS, headers=headers)
    assert problem_of(response, 401)["type"].endswith("/unauthenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_wrong_role_is_403(client, as_role):
    response = client.post(SUBPROCESSORS, json=nimbus(), headers=as_role("service"))
    body = problem_of(response, 403)
    assert "service" in body["detail"]
    assert "WWW-Authenticate" not in response.headers


def test_unexpected_exception_is_500_without_details(own_app):
    def explode():
        raise RuntimeError("secret connection string")

    auth.mark(explode, auth.PUBLIC)
    own_app.add_url_rule("/v1/explode", view_func=explode)
    response = own_app.test_client().get("/v1/explode")
    body = problem_of(response, 500)
    assert "secret" not in response.get_data(as_text=True)
    assert body["type"].endswith("/internal-error")


def error_sources(client, as_role, sid, etag):
    """One request per error source the API has, with the status it must answer."""
    url = f"{SUBPROCESSORS}/{sid}"
    admin = as_role("admin")
    yield 400, client.post(SUBPROCESSORS, data="{", content_type="application/json", headers=admin)
    yield 401, client.get(SUBPROCESSORS)
    yield 403, client.get("/v1/compliance", headers=as_role("customer_a"))
    yield 404, client.get("/nope")
    yield 404, client.get("/v1/countries/EL")
    yield 405, client.put("/v1/health")
    yield 409, client.post(SUBPROCESSORS, json=nimbus(), headers=admin)
    yield 412, client.delete(url, headers=as_role("admin", **{"If-Match": '"x"'}))
    yield 413, client.post(SUBPROCESSORS, json=nimbus(purpose="x" * 2**21), headers=admin)
    yield 415, client.post(SUBPROCESSORS, data="x", content_type="text/csv", headers=admin)
    yield 422, client.post(SUBPROCESSORS, json={"name": 1}, headers=admin)
    yield 422, client.get("/v1/adequacy-decisions?as_of=soon")
    yield 428, client.delete(url, headers=admin)


def test_every_error_source_uses_the_same_shape(client, as_role, created):
    seen = set()
    for status, response in error_sources(client, as_role, *created):
        body = problem_of(response, status)
        assert ("errors" in body) == (status == 422)
        seen.add((status, body["type"]))
    # One problem type per status, and one status per problem type.
    assert len({t for _, t in seen}) == len({s for s, _ in seen}) == len(seen)
