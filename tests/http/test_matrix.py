"""The role-by-operation matrix: one table, checked against every operation and docs/api.md.

MATRIX has one row per operation of the committed OpenAPI spec and, for each caller in
CALLERS, the status that caller gets. Path parameters name real objects made by the
`objects` fixture; bodies are valid and writes carry If-Match, so a permitted caller
gets a 2xx and a refused one changes nothing.

Customer objects stay private. A row with `owner="customer A"` shows objects that
customer A may see (its documentation requests, the copies they delivered, its
disclosures). Every other customer gets 404 where the path names such an object, never
403, and the very answer an id that never existed gets; a list answers 200 without
them. So customer B cannot even learn that customer A's objects exist. To add such a
row, create the owner's object in `objects` under the owner's name.

The Roles table of docs/api.md is generated from MATRIX: `python tests/http/test_matrix.py`.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import ROOT, TODAY, bearer, certified_us, days_from_today, nimbus

from registry.db.store import current_revision

CALLERS = (
    "no token",
    "bad token",
    "admin",
    "procurement",
    "service",
    "customer A",
    "customer B",
    "feed A",
)
CUSTOMERS = ("customer A", "customer B")
TOKEN_OF = {
    "admin": "admin",
    "procurement": "procurement",
    "service": "service",
    "customer A": "customer_a",
    "customer B": "customer_b",
    # A feed key of customer A: its Atom feed alone.
    "feed A": "feed_a",
}
SPEC = ROOT / "openapi" / "openapi.json"
README = ROOT / "docs" / "api.md"  # the page with the Roles table
REGENERATE = "regenerate it with `python tests/http/test_matrix.py` and paste it into docs/api.md"


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # as in the OpenAPI spec: /v1/subprocessors/{subprocessor_id}
    statuses: tuple[int, ...]  # one per caller, in the order of CALLERS
    # The JSON body or multipart form, made from the path values (the objects' ids).
    body: Callable[[dict], dict] | None = field(default=None, compare=False)
    form: Callable[[dict], dict] | None = field(default=None, compare=False)
    if_match: bool = False  # send the object's current ETag
    owner: str | None = None  # the customer whose objects the operation shows
    # Path parameters naming another object of the fixture than the one of that name.
    bind: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def operation(self) -> str:
        return f"{self.method} {self.path}"

    def expected(self, caller: str) -> int:
        return self.statuses[CALLERS.index(caller)]


def op(operation: str, *statuses: int, **options) -> Row:
    method, path = operation.split(" ")
    return Row(method, path, statuses, **options)


def new_subprocessor(values: dict) -> dict:
    return nimbus(name="Created")


def changed_purpose(values: dict) -> dict:
    return {"purpose": "Changed"}


def imported_register(values: dict) -> list[dict]:
    """An import as a JSON array: one new sub-processor."""
    return [nimbus(name="Imported")]


def scc_copy(values: dict) -> dict:
    """A disclosable copy of the SCCs for the sub-processor's transfer to India."""
    return {
        "file": (io.BytesIO(b"Standard contractual clauses 2021/914, module 3."), "scc.txt"),
        "kind": "scc",
        "title": "SCCs 2021/914 module 3",
        "subprocessor_id": values["subprocessor_id"],
        "country": "IN",
        "audience": "disclosable",
    }


def internal_copy(values: dict) -> dict:
    """An internal copy of the sub-processor's DPA: staff's alone, nothing customers own."""
    return {
        "file": (io.BytesIO(b"Data processing agreement, signed."), "dpa.txt"),
        "kind": "dpa",
        "title": "DPA",
        "subprocessor_id": values["subprocessor_id"],
        "audience": "internal",
    }


def withdrawal(values: dict) -> dict:
    return {"reason": "Uploaded by mistake: the draft, not the signed copy."}


def documentation_request(values: dict) -> dict:
    return {"subprocessor_ids": [values["subprocessor_id"]]}


def objection(values: dict) -> dict:
    return {"reason": "We do not agree to transfers to this vendor."}


def dismissal(values: dict) -> dict:
    """Staff's answer; customer A, whose objection it is, may only withdraw it (403)."""
    return {"status": "dismissed", "response": "The vendor stays; see our assessment."}


def new_webhook(values: dict) -> dict:
    return {"url": "https://93.184.215.14/hooks/registry"}  # public, and never called here


def changed_description(values: dict) -> dict:
    return {"description": "Changed"}


def rotation(values: dict) -> dict:
    return {"overlap_hours": 1}


def new_incident(values: dict) -> dict:
    """A breach at the sub-processor, concerning every customer."""
    return {
        "subprocessor_id": values["subprocessor_id"],
        "detected_on": f"{TODAY}T08:00:00Z",
        "nature": "A misconfigured bucket exposed login records.",
        "data_categories": ["user.contact.email"],
        "likely_consequences": "Phishing aimed at the users concerned.",
        "measures_taken": "Bucket closed.",
        "contact": {"name": "Data protection officer", "email": "dpo@example.com"},
    }


def changed_measures(values: dict) -> dict:
    return {"measures_taken": "Bucket closed; passwords reset."}


def new_waiver(values: dict) -> dict:
    """The stale certification check of a sub-processor no waiver covers yet, accepted."""
    return {
        "subprocessor_id": values["unwaived_subprocessor_id"],
        "code": "CERTIFICATION_CHECK_STALE",
        "country": "US",
        "reason": "Renewal confirmed by the vendor.",
        "expires_on": days_from_today(30),
    }


def new_key(values: dict) -> dict:
    return {"role": "service", "name": "Created", "expires_on": days_from_today(402)}


SP = "/v1/subprocessors/{subprocessor_id}"
DOC = "/v1/documents/{document_id}"
HOOK = "/v1/webhooks/{webhook_id}"
OBJ = "/v1/subprocessors/{subprocessor_id}/objections/{objection_id}"
KEY = "/v1/keys/{key_id}"
INC = "/v1/incidents/{incident_id}"
CUSTOMER = "/v1/customers/{customer_id}"
WAIVER = "/v1/waivers/{waiver_id}"
OBJECTED = {"subprocessor_id": "objected_subprocessor_id"}
INTERNAL_COPY = {"document_id": "internal_document_id"}
A = "customer A"

# fmt: off
MATRIX = [
    #                                                   no   bad                 cust cust feed
    #                                                   tok. tok. adm. proc serv A    B    A
    op("GET /v1/health",                                200, 401, 200, 200, 200, 200, 200, 200),
    op("GET /v1/countries",                             200, 401, 200, 200, 200, 200, 200, 200),
    op("GET /v1/countries/{code}",                      200, 401, 200, 200, 200, 200, 200, 200),
    op("GET /v1/adequacy-decisions",                    200, 401, 200, 200, 200, 200, 200, 200),
    op("GET /v1/data-categories",                       200, 401, 200, 200, 200, 200, 200, 200),
    op("GET /v1/international-organisations",           200, 401, 200, 200, 200, 200, 200, 200),
    op("GET /v1/subprocessors",                         401, 401, 200, 200, 200, 200, 200, 403),
    op("POST /v1/subprocessors",                        401, 401, 201, 201, 403, 403, 403, 403,
       body=new_subprocessor),
    op("POST /v1/subprocessors/import",                 401, 401, 200, 200, 403, 403, 403, 403,
       body=imported_register),
    op(f"GET {SP}",                                     401, 401, 200, 200, 200, 200, 200, 403),
    op(f"PATCH {SP}",                                   401, 401, 200, 200, 403, 403, 403, 403,
       body=changed_purpose, if_match=True),
    op(f"DELETE {SP}",                                  401, 401, 200, 200, 403, 403, 403, 403,
       if_match=True),
    op(f"GET {SP}/compliance",                          401, 401, 200, 200, 403, 403, 403, 403),
    op("GET /v1/compliance",                            401, 401, 200, 200, 403, 403, 403, 403),
    op("GET /v1/waivers",                               401, 401, 200, 200, 403, 403, 403, 403),
    op("POST /v1/waivers",                              401, 401, 201, 403, 403, 403, 403, 403,
       body=new_waiver),
    op(f"GET {WAIVER}",                                 401, 401, 200, 200, 403, 403, 403, 403),
    op(f"DELETE {WAIVER}",                              401, 401, 204, 403, 403, 403, 403, 403,
       if_match=True),
    op("GET /v1/allowed-processors",                    401, 401, 200, 200, 200, 403, 403, 403),
    op("GET /v1/documents",                             401, 401, 200, 200, 403, 403, 403, 403),
    op("POST /v1/documents",                            401, 401, 201, 201, 403, 403, 403, 403,
       form=scc_copy),
    op(f"GET {DOC}",                                    401, 401, 200, 200, 403, 200, 404, 403,
       owner=A),
    op(f"DELETE {DOC}",                                 401, 401, 200, 200, 403, 403, 403, 403,
       bind=INTERNAL_COPY, body=withdrawal, if_match=True),
    op(f"GET {DOC}/content",                            401, 401, 200, 200, 403, 200, 404, 403,
       owner=A),
    op("GET /v1/documentation-requests",                401, 401, 200, 200, 403, 200, 200, 403,
       owner=A),
    op("POST /v1/documentation-requests",               401, 401, 403, 403, 403, 201, 201, 403,
       body=documentation_request),
    op("GET /v1/documentation-requests/{request_id}",   401, 401, 200, 200, 403, 200, 404, 403,
       owner=A),
    op("GET /v1/disclosures",                           401, 401, 200, 200, 403, 200, 200, 403,
       owner=A),
    op("GET /v1/audit",                                 401, 401, 200, 403, 403, 403, 403, 403),
    op("GET /v1/changes",                               401, 401, 200, 200, 200, 200, 200, 403),
    op("GET /v1/changes.atom",                          401, 401, 200, 200, 200, 200, 200, 200),
    op("GET /v1/incidents",                             401, 401, 200, 200, 403, 200, 200, 403,
       owner=A),
    op("POST /v1/incidents",                            401, 401, 201, 201, 403, 403, 403, 403,
       body=new_incident),
    op(f"GET {INC}",                                    401, 401, 200, 200, 403, 200, 404, 403,
       owner=A),
    op(f"PATCH {INC}",                                  401, 401, 200, 200, 403, 403, 403, 403,
       body=changed_measures, if_match=True),
    op(f"GET {INC}/versions",                           401, 401, 200, 200, 403, 403, 403, 403),
    op(f"GET {SP}/history",                             401, 401, 200, 200, 200, 200, 200, 403),
    op(f"GET {SP}/objections",                          401, 401, 200, 200, 403, 200, 200, 403,
       owner=A, bind=OBJECTED),
    op(f"POST {SP}/objections",                         401, 401, 403, 403, 403, 201, 201, 403,
       body=objection),
    op(f"GET {OBJ}",                                    401, 401, 200, 200, 403, 200, 404, 403,
       owner=A, bind=OBJECTED),
    op(f"PATCH {OBJ}",                                  401, 401, 200, 200, 403, 403, 404, 403,
       owner=A, bind=OBJECTED, body=dismissal, if_match=True),
    op("GET /v1/objections",                            401, 401, 200, 200, 403, 200, 200, 403,
       owner=A),
    op("GET /v1/webhooks",                              401, 401, 200, 200, 403, 200, 200, 403,
       owner=A),
    op("POST /v1/webhooks",                             401, 401, 201, 201, 403, 201, 201, 403,
       body=new_webhook),
    op(f"GET {HOOK}",                                   401, 401, 200, 404, 403, 200, 404, 403,
       owner=A),
    op(f"PATCH {HOOK}",                                 401, 401, 403, 404, 403, 200, 404, 403,
       owner=A, body=changed_description, if_match=True),
    op(f"DELETE {HOOK}",                                401, 401, 204, 404, 403, 204, 404, 403,
       owner=A, if_match=True),
    op(f"GET {HOOK}/deliveries",                        401, 401, 200, 404, 403, 200, 404, 403,
       owner=A),
    op(f"POST {HOOK}/rotate-secret",                    401, 401, 403, 404, 403, 200, 404, 403,
       owner=A, body=rotation),
    op("GET /v1/keys",                                  401, 401, 200, 403, 403, 403, 403, 403),
    op("POST /v1/keys",                                 401, 401, 201, 403, 403, 403, 403, 403,
       body=new_key),
    op(f"GET {KEY}",                                    401, 401, 200, 403, 403, 403, 403, 403),
    op(f"DELETE {KEY}",                                 401, 401, 200, 403, 403, 403, 403, 403,
       if_match=True),
    op(f"GET {CUSTOMER}",                               401, 401, 200, 403, 403, 403, 403, 403),
    op(f"DELETE {CUSTOMER}",                            401, 401, 200, 403, 403, 403, 403, 403,
       if_match=True),
]
# fmt: on


def readme_table() -> str:
    """The Roles table of docs/api.md, as MATRIX says it must read."""
    lines = [
        "| operation | " + " | ".join(CALLERS) + " |",
        "|---|" + "---|" * len(CALLERS),
    ]
    for row in MATRIX:
        lines.append(f"| `{row.operation}` | " + " | ".join(map(str, row.statuses)) + " |")
    return "\n".join(lines)


def readme_section_table(text: str) -> str:
    """The first table under the page's `## Roles` heading."""
    section = text.split("\n## Roles\n", 1)[1].split("\n## ", 1)[0]
    table = re.search(r"^\|.*(?:\n\|.*)*", section, flags=re.MULTILINE)
    return table.group(0) if table else ""


@pytest.fixture
def as_role(tokens):
    """Headers for a caller of CALLERS that has a token."""

    def headers(caller: str, **extra) -> dict:
        return {**bearer(tokens[TOKEN_OF[caller]]), **extra}

    return headers


def make_objects(client, as_role) -> dict[str | None, dict[str, str]]:
    """Path values by owner: None for shared objects, else the customer who may see them.

    A proposed sub-processor with an SCC transfer to India, a disclosable copy of those
    SCCs and an internal copy of its DPA; customer A asked for documentation, which
    delivered the copy, downloaded it, and objected to another proposed sub-processor.
    """
    admin = as_role("admin")
    # Customer A's endpoint comes first, so the changes below queue deliveries to it.
    hooked = client.post("/v1/webhooks", json=new_webhook({}), headers=as_role(A))
    assert hooked.status_code == 201, hooked.get_data(as_text=True)
    shared = {"code": "NL"}
    made = client.post("/v1/keys", json={"role": "service", "name": "Existing"}, headers=admin)
    assert made.status_code == 201, made.get_data(as_text=True)
    shared["key_id"] = made.get_json()["id"]
    for key, name in (("subprocessor_id", "Existing"), ("objected_subprocessor_id", "Objected")):
        body = nimbus(name=name, effective_on=days_from_today(189))
        created = client.post("/v1/subprocessors", json=body, headers=admin)
        assert created.status_code == 201, created.get_data(as_text=True)
        shared[key] = created.get_json()["id"]
    # Two sub-processors whose US certification check is stale (a warning): one waived.
    for key, name in (("waived", "Waived"), ("unwaived_subprocessor_id", "Unwaived")):
        stale = nimbus(name=name, locations=[certified_us(checked_on=days_from_today(-400))])
        created = client.post("/v1/subprocessors", json=stale, headers=admin)
        assert created.status_code == 201, created.get_data(as_text=True)
        shared[key] = created.get_json()["id"]
    waived = client.post(
        "/v1/waivers",
        json={**new_waiver(shared), "subprocessor_id": shared.pop("waived")},
        headers=admin,
    )
    assert waived.status_code == 201, waived.get_data(as_text=True)
    shared["waiver_id"] = waived.get_json()["id"]
    uploaded = client.post("/v1/documents", data=scc_copy(shared), headers=admin)
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    document_id = uploaded.get_json()["id"]
    internal = client.post("/v1/documents", data=internal_copy(shared), headers=admin)
    assert internal.status_code == 201, internal.get_data(as_text=True)
    shared["internal_document_id"] = internal.get_json()["id"]
    asked = client.post(
        "/v1/documentation-requests", json=documentation_request(shared), headers=as_role(A)
    )
    assert asked.status_code == 201, asked.get_data(as_text=True)
    with client.get(f"/v1/documents/{document_id}/content", headers=as_role(A)) as downloaded:
        assert downloaded.status_code == 200, downloaded.get_data(as_text=True)
    [disclosure] = client.get("/v1/disclosures", headers=as_role(A)).get_json()["items"]
    objected = client.post(
        f"/v1/subprocessors/{shared['objected_subprocessor_id']}/objections",
        json=objection(shared),
        headers=as_role(A),
    )
    assert objected.status_code == 201, objected.get_data(as_text=True)
    # A breach communicated to customer A alone.
    incident = client.post(
        "/v1/incidents", json={**new_incident(shared), "customer_ids": ["cust-a"]}, headers=admin
    )
    assert incident.status_code == 201, incident.get_data(as_text=True)
    shared["incident_id"] = incident.get_json()["id"]
    told = client.patch(
        f"/v1/incidents/{shared['incident_id']}",
        json={"status": "communicated"},
        headers={**admin, "If-Match": incident.headers["ETag"]},
    )
    assert told.status_code == 200, told.get_data(as_text=True)
    # Customer A's data as a whole, which an admin may count and erase.
    shared["customer_id"] = asked.get_json()["customer_id"]
    owned = {
        "customer_id": asked.get_json()["customer_id"],
        "incident_id": shared["incident_id"],
        "document_id": document_id,
        "request_id": asked.get_json()["id"],
        "disclosure_id": disclosure["id"],
        "objection_id": objected.get_json()["id"],
        "webhook_id": hooked.get_json()["id"],
    }
    return {None: shared, A: owned}


@pytest.fixture(scope="module")
def seeded(apps, tmp_path_factory) -> tuple[Path, dict[str | None, dict[str, str]]]:
    """A database holding the objects, made once for the module: each test gets a copy."""

    def headers(caller: str, **extra) -> dict:
        return {**bearer(apps.tokens[TOKEN_OF[caller]]), **extra}

    return apps.derive(
        tmp_path_factory.mktemp("matrix"), lambda app: make_objects(app.test_client(), headers)
    )


@pytest.fixture
def database(apps, seeded, tmp_path) -> Path:
    return apps.copy_template(tmp_path / "registry.db", seeded[0])


@pytest.fixture
def objects(seeded) -> dict[str | None, dict[str, str]]:
    return copy.deepcopy(seeded[1])


@pytest.fixture
def credentials(tokens) -> dict[str, dict]:
    # Well-formed, but its secret is not the key's: authentication, not parsing, refuses it.
    forged = tokens["admin"][:-4] + ("AAAA" if not tokens["admin"].endswith("AAAA") else "BBBB")
    return {
        "no token": {},
        "bad token": bearer(forged),
        **{caller: bearer(tokens[key]) for caller, key in TOKEN_OF.items()},
    }


def footprint(registry) -> tuple[int, int]:
    """The registry's revision and the audit trail's length: every write moves one of them."""
    conn = registry.db.connection()
    head = conn.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0]
    return current_revision(conn), head


def send(client, row: Row, url: str, headers: dict, values: dict):
    kwargs = {}
    if row.body:
        kwargs["json"] = row.body(values)
    if row.form:
        kwargs["data"] = row.form(values)
    return client.open(url, method=row.method, headers=headers, **kwargs)


def assert_nothing_learnt(client, row: Row, headers, values, owned: dict, response, text) -> None:
    """Another customer's answer tells nothing of the owner's objects."""
    if response.status_code != 404:
        leaked = [name for name, value in owned.items() if value in text]
        assert not leaked, f"{row.operation} shows another customer's {leaked}"
        return
    # The answer an id that never existed gets, but for the id itself.
    made_up = {name: f"{value[:3]}{'0' * (len(value) - 3)}" for name, value in owned.items()}
    twin = send(client, row, row.path.format(**{**values, **made_up}), headers, values)
    assert twin.status_code == 404
    for name, value in owned.items():
        text = text.replace(value, made_up[name])
    assert text == twin.get_data(as_text=True)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", MATRIX, ids=[row.operation for row in MATRIX])
def test_matrix(client, registry, as_role, objects, credentials, row, caller):
    values = {**objects[None], **objects.get(row.owner, {})}
    values.update({name: values[key] for name, key in row.bind.items()})
    url = row.path.format(**values)
    headers = dict(credentials[caller])
    if row.if_match:
        current = client.get(url, headers=as_role("admin"))
        assert current.status_code == 200, current.get_data(as_text=True)
        headers["If-Match"] = current.headers["ETag"]
    before = footprint(registry)

    with send(client, row, url, headers, values) as response:
        text = response.get_data(as_text=True)

    expected = row.expected(caller)
    assert response.status_code == expected, f"{caller} {row.operation}: {text}"
    if row.owner and caller in CUSTOMERS and caller != row.owner:
        if any(value in url for value in objects[row.owner].values()):
            assert expected == 404, f"MATRIX: {row.owner}'s objects are 404 to {caller}"
        assert_nothing_learnt(client, row, headers, values, objects[row.owner], response, text)
    if expected < 300:
        assert response.mimetype != "application/problem+json"
        return
    assert response.mimetype == "application/problem+json"
    assert (response.headers.get("WWW-Authenticate", "").startswith("Bearer")) == (expected == 401)
    assert footprint(registry) == before, "a refused request changed the registry"


def test_matrix_covers_exactly_the_operations_of_the_spec():
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    specified = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete")
    }
    tabled = [row.operation for row in MATRIX]
    assert len(tabled) == len(set(tabled)), "an operation is in MATRIX twice"
    missing = sorted(specified - set(tabled))
    assert not missing, f"add these operations to MATRIX in tests/http/test_matrix.py: {missing}"
    extra = sorted(set(tabled) - specified)
    assert not extra, f"MATRIX lists operations the spec does not have: {extra}"


def test_matrix_rows_are_well_formed():
    for row in MATRIX:
        assert len(row.statuses) == len(CALLERS), row.operation
        assert row.expected("bad token") == 401, "a bad token is refused even where public"
        assert row.owner in (None, *CUSTOMERS), row.operation
        if row.method in ("PATCH", "DELETE"):
            assert row.if_match, f"{row.operation} needs If-Match"
        if row.owner is None:
            # Without an owner, every customer is treated alike.
            assert row.expected("customer A") == row.expected("customer B"), row.operation


def test_readme_roles_table_is_the_matrix():
    documented = readme_section_table(README.read_text(encoding="utf-8"))
    assert documented == readme_table(), (
        f"docs/api.md's Roles table differs from MATRIX; {REGENERATE}:\n\n{readme_table()}"
    )


if __name__ == "__main__":
    print(readme_table())
