"""The committed OpenAPI spec: identical to the code, valid, and complete about errors."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT
from openapi_spec_validator import validate

from registry.http.problems import PROBLEM_MEDIA_TYPE

SPEC_FILE = ROOT / "openapi" / "openapi.json"
STALE = "openapi/openapi.json is stale: run `registry openapi write openapi/openapi.json`"
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def generated(app) -> dict:
    # Through JSON, as `openapi write` does, so that tuples and lists compare equal.
    return json.loads(json.dumps(app.extensions["registry_api"].spec.to_dict()))


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(spec: dict, response: dict) -> dict:
    while "$ref" in response:
        *_, kind, name = response["$ref"].split("/")
        response = spec["components"][kind][name]
    return response


def test_committed_spec_is_what_the_code_generates(committed, generated):
    assert committed == generated, STALE


def test_openapi_print_matches_the_committed_spec(runner, committed):
    result = runner.invoke(args=["openapi", "print"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == committed, STALE


def test_spec_is_valid_openapi(committed):
    assert committed["openapi"].startswith("3.1")
    validate(committed)


def test_every_operation_has_a_summary_and_tags(committed):
    # Which operations exist is pinned by the role matrix (tests/http/test_matrix.py).
    found = list(operations(committed))
    assert found
    for path, method, operation in found:
        assert operation.get("summary", "").strip(), (method, path)
        assert operation.get("tags"), (method, path)


def test_every_error_response_is_documented_as_problem_json(committed):
    for path, method, operation in operations(committed):
        for status, response in operation["responses"].items():
            if status.startswith(("2", "3")):
                continue
            content = resolve(committed, response).get("content", {})
            assert list(content) == [PROBLEM_MEDIA_TYPE], (method, path, status)
            schema = resolve(committed, content[PROBLEM_MEDIA_TYPE]["schema"])
            assert schema is committed["components"]["schemas"]["Problem"]


def test_problem_schema_has_the_rfc_9457_members(committed):
    problem = committed["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    error = resolve(committed, problem["properties"]["errors"]["items"])
    assert {"pointer", "detail"} <= set(error["required"])


def test_error_components_are_problem_json(committed):
    for name, response in committed["components"]["responses"].items():
        if name == "NOT_MODIFIED":
            assert "content" not in response
            continue
        assert list(response["content"]) == [PROBLEM_MEDIA_TYPE], name


def test_the_statuses_each_operation_can_answer_are_documented(committed):
    for path, method, operation in operations(committed):
        statuses = set(operation["responses"])
        if operation["security"] == [{}, {"bearerAuth": []}]:
            # Public: no token needed, but a token sent must be valid.
            assert "401" in statuses, (method, path)
        else:
            assert {"401", "403"} <= statuses, (method, path)
            assert operation["security"] == [{"bearerAuth": []}]
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= statuses, (method, path)
            expected = BODY_MEDIA_TYPES.get((method, path), ["application/json"])
            assert list(operation["requestBody"]["content"]) == expected
        parameters = [resolve(committed, p) for p in operation.get("parameters", [])]
        if any(p["in"] == "query" for p in parameters):
            assert "422" in statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if method in ("patch", "delete"):
            assert {"412", "428"} <= statuses, (method, path)
            # A sub-processor's name or retirement can conflict; a webhook endpoint has
            # neither, and erasing a customer is idempotent (erasing again is no conflict).
            if not path.startswith(("/v1/webhooks/", "/v1/customers/")):
                assert "409" in statuses, (method, path)


BODY_MEDIA_TYPES = {
    ("post", "/v1/documents"): ["multipart/form-data"],
    ("post", "/v1/subprocessors/import"): [
        "text/csv",
        "application/json",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ],
}
PAGE = {"limit", "cursor"}
QUERY_PARAMETERS = {
    ("get", "/v1/adequacy-decisions"): {"as_of"},
    ("get", "/v1/subprocessors"): PAGE
    | {"service", "country", "status", "flagged", "at", "format"},
    ("post", "/v1/subprocessors/import"): {"dry_run"},
    ("get", "/v1/subprocessors/{subprocessor_id}/compliance"): {"as_of", "assume_ended"},
    ("get", "/v1/compliance"): {"as_of", "assume_ended", "at"},
    ("get", "/v1/waivers"): PAGE | {"subprocessor_id", "state"},
    ("get", "/v1/allowed-processors"): {"data_category", "service", "country"},
    ("get", "/v1/documents"): PAGE | {"subprocessor_id", "country", "kind", "audience"},
    ("get", "/v1/documents/{document_id}/content"): {"request_id"},
    ("get", "/v1/documentation-requests"): PAGE | {"status", "customer_id"},
    ("get", "/v1/disclosures"): PAGE | {"customer_id", "document_id"},
    ("get", "/v1/changes"): {"since", "limit"},
    ("get", "/v1/changes.atom"): {"since", "token"},
    ("get", "/v1/incidents"): PAGE | {"status", "subprocessor_id"},
    ("get", "/v1/incidents/{incident_id}/versions"): PAGE,
    ("get", "/v1/audit"): PAGE | {"action", "object_type", "object_id"},
    ("get", "/v1/webhooks"): PAGE | {"customer_id"},
    ("get", "/v1/webhooks/{webhook_id}/deliveries"): PAGE | {"status"},
    ("get", "/v1/objections"): PAGE | {"status", "subprocessor_id", "customer_id"},
    ("get", "/v1/keys"): PAGE,
}


def test_every_query_parameter_is_documented(committed):
    for path, method, operation in operations(committed):
        parameters = [resolve(committed, p) for p in operation.get("parameters", [])]
        query = {p["name"] for p in parameters if p["in"] == "query"}
        assert query == QUERY_PARAMETERS.get((method, path), set()), (method, path)


def test_conditional_requests_are_documented(committed):
    for path, method, operation in operations(committed):
        headers = {
            p["name"]
            for p in (resolve(committed, p) for p in operation.get("parameters", []))
            if p["in"] == "header"
        }
        if "304" in operation["responses"]:
            assert "If-None-Match" in headers, (method, path)
        if "412" in operation["responses"]:
            assert "If-Match" in headers, (method, path)


def test_public_operations_are_the_documented_ones(committed):
    public = {
        (method, path)
        for path, method, operation in operations(committed)
        if {} in operation.get("security", [])
    }
    assert public == {
        ("get", "/v1/health"),
        ("get", "/v1/countries"),
        ("get", "/v1/countries/{code}"),
        ("get", "/v1/adequacy-decisions"),
        ("get", "/v1/data-categories"),
        ("get", "/v1/international-organisations"),
    }
    assert committed["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_spec_and_docs_are_served_without_a_token(client, committed):
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    assert spec.get_json() == committed
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert docs.mimetype == "text/html"
    assert "/openapi.json" in docs.get_data(as_text=True)
