"""One customer projection: no staff-only field and no key id reaches a customer, at any door.

The register below sets every field customers must never read (a certification and its
check, scope attestations, transfer impact assessments, an importer under the GDPR, an
urgent reason, vendors already in use, copies uploaded by staff keys, incidents, pending
changes, a scheduled retirement, objections answered by staff). Then every route in the
app's URL map that a customer key may call is walked with real ids, the customer's own
writes included, every payload its webhook is owed is built by the real worker, and the
public page and feed are read anonymously. Each answer fails on a staff-only field name at
any depth (JSON keys, and the JSON inside the Atom entries), on any key id from the key
table (the customer's own too) and on a staff-only value (the urgent reason, an attestation)
anywhere in its bytes.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from helpers import IN, assert_documented, current_etag, registry_today
from test_customer_view import PARAMETERS, customer_routes, world  # noqa: F401 (a fixture)
from test_public import upload_copy

from registry.compliance import flags
from registry.customer_projection import projection
from registry.http.auth import PUBLIC, roles_of
from registry.webhooks import outbound
from registry.webhooks.worker import Worker

URL = "/v1/subprocessors"
URGENT_REASON = "Our old sub-processor stops serving us on Friday."
RETIRED_REASON = "Replaced by another provider."
WAIVER_REASON = "Risk accepted by the DPO until the vendor's renewal."
# Values only staff may read: if one turns up under any name, a door leaks.
# A transfer impact assessment's findings: staff-only, like the record that holds them.
TIA_LAW = "Information Technology Act 2000, s. 69"
TIA_MEASURE = "encryption with keys held in the EEA"
STAFF_ONLY_VALUES = (URGENT_REASON, WAIVER_REASON, TIA_LAW, TIA_MEASURE)
ATOM = "{http://www.w3.org/2005/Atom}"
# The customer's own writes this test makes (method, rule): a new one fails until walked.
CUSTOMER_WRITES = {
    ("POST", "/v1/documentation-requests"),
    ("POST", "/v1/subprocessors/<string:subprocessor_id>/objections"),
    ("PATCH", "/v1/subprocessors/<string:subprocessor_id>/objections/<string:objection_id>"),
    ("POST", "/v1/webhooks"),
    ("PATCH", "/v1/webhooks/<string:webhook_id>"),
    ("POST", "/v1/webhooks/<string:webhook_id>/rotate-secret"),
    ("DELETE", "/v1/webhooks/<string:webhook_id>"),
}


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def register(client, as_role, registry, world):  # noqa: F811 (the fixture imported above)
    """`world` (every flag, a request, an objection answered, an incident, the customer's
    webhook), plus every other field customers must never read, and the customer's writes;
    the ids to fill routes with, and the answers to the customer's writes."""
    admin, customer = as_role("admin"), as_role("customer_a")
    answers: list[tuple[str, object]] = []

    def write(method: str, path: str, *, status: int, **kwargs) -> dict:
        response = client.open(path, method=method, **kwargs)
        answers.append((f"{method} {path}", response))
        return _ok(response, status)

    items = {
        item["name"]: item for item in _ok(client.get(f"{URL}?limit=100", headers=admin))["items"]
    }
    today = registry_today()
    # A warning waived (staff accept its risk), with the reason staff gave.
    warned, warning = next(
        (item, flag)
        for item in items.values()
        for flag in item["compliance"]["flags"]
        if flag["severity"] == "warning" and flag.get("country") and not flag.get("onward")
    )
    waiver = {
        "subprocessor_id": warned["id"],
        "code": warning["code"],
        "country": warning["country"],
        "reason": WAIVER_REASON,
        "expires_on": (today + timedelta(days=60)).isoformat(),
    }
    _ok(client.post("/v1/waivers", json=waiver, headers=admin), 201)
    # A material change announced with short notice, for a reason staff gave.
    urgent = items["No Safeguard"]
    patched = client.patch(
        f"{URL}/{urgent['id']}",
        json={
            "locations": [*urgent["locations"], IN],
            "urgent": True,
            "urgent_reason": URGENT_REASON,
            "effective_on": (today + timedelta(days=3)).isoformat(),
        },
        headers={**admin, "If-Match": current_etag(client, admin, urgent["id"])},
    )
    _ok(patched)
    assert patched.get_json()["pending_change"]["urgent_reason"] == URGENT_REASON
    # A remedy on staff-only fields: a transfer impact assessment completed, recorded both as
    # the bare date and as the record, and the exporter's role for the data stated.
    assessed = items["No Assessment"]
    location = {**assessed["locations"][0]}
    location["safeguard"] = {
        **location["safeguard"],
        "tia_completed_on": "2031-07-01",
        "tia": {
            "completed_on": "2031-07-01",
            "outcome": "supplementary_measures",
            "laws_assessed": [TIA_LAW],
            "supplementary_measures": [TIA_MEASURE],
            "review_by": "2032-07-01",
        },
    }
    _ok(
        client.patch(
            f"{URL}/{assessed['id']}",
            json={"locations": [location], "exporter_role": "processor"},
            headers={**admin, "If-Match": current_etag(client, admin, assessed["id"])},
        )
    )
    # A retirement scheduled, with its reason.
    retiring = items["Consent"]
    _ok(
        client.delete(
            f"{URL}/{retiring['id']}",
            json={
                "retired_on": (today + timedelta(days=10)).isoformat(),
                "reason": RETIRED_REASON,
            },
            headers={**admin, "If-Match": current_etag(client, admin, retiring["id"])},
        )
    )

    # A copy of the SCCs on file for an active transfer, uploaded by a staff key.
    upload_copy(client, admin, items["Wrong Module"]["id"], "BR")

    # The customer's writes: a request (delivering the copy staff uploaded, then downloaded:
    # a disclosure), an objection withdrawn, and a second webhook changed, rotated, deleted.
    asked = write("POST", "/v1/documentation-requests", json={}, headers=customer, status=201)
    delivered = [item["document"]["id"] for item in asked["items"] if item["document"]]
    assert delivered, "the request delivered the copy on file"
    content = client.get(f"/v1/documents/{delivered[0]}/content", headers=customer)
    assert content.status_code == 200
    content.close()
    # A copy it asked for and was not on file, uploaded since: documentation_request.fulfilled.
    waiting = [item for item in asked["items"] if item["status"] == "pending"]
    assert waiting, "the request left an SCC copy pending"
    upload_copy(client, admin, waiting[0]["subprocessor_id"], waiting[0]["country"])
    objected = write(
        "POST",
        f"{URL}/{urgent['id']}/objections",
        json={"reason": "Not outside the EU, please."},
        headers=customer,
        status=201,
    )
    objection_url = f"{URL}/{urgent['id']}/objections/{objected['id']}"
    write(
        "PATCH",
        objection_url,
        json={"status": "withdrawn"},
        headers={
            **customer,
            "If-Match": client.get(objection_url, headers=customer).headers["ETag"],
        },
        status=200,
    )
    hook = write(
        "POST",
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/second", "events": ["subprocessor.announced"]},
        headers=customer,
        status=201,
    )
    hook_url = f"/v1/webhooks/{hook['id']}"
    etag = client.get(hook_url, headers=customer).headers["ETag"]
    changed = client.patch(
        hook_url, json={"description": "second"}, headers={**customer, "If-Match": etag}
    )
    answers.append((f"PATCH {hook_url}", changed))
    _ok(changed)
    rotated = client.post(
        f"{hook_url}/rotate-secret",
        json={},
        headers={**customer, "If-Match": changed.headers["ETag"]},
    )
    answers.append((f"POST {hook_url}/rotate-secret", rotated))
    _ok(rotated)
    deleted = client.delete(
        hook_url,
        headers={**customer, "If-Match": client.get(hook_url, headers=customer).headers["ETag"]},
    )
    answers.append((f"DELETE {hook_url}", deleted))
    assert deleted.status_code in (200, 204), deleted.get_data(as_text=True)

    ids = {**world, "document_id": [*world["document_id"], *delivered]}
    ids["request_id"] = [*world["request_id"], asked["id"]]
    ids["objection_id"] = [*world["objection_id"], objected["id"]]
    key_ids = {row[0] for row in registry.db.connection().execute("SELECT id FROM api_keys")}
    assert len(key_ids) >= 5 and all(k.startswith(projection.KEY_ID_PREFIX) for k in key_ids)
    return {"ids": ids, "answers": answers, "key_ids": key_ids}


# --- what an answer must never hold -----------------------------------------------------------


def staff_fields(value, where: str = "") -> list[str]:
    """Every staff-only field name in a JSON value, at any depth, with where it is."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in projection.STAFF_ONLY_FIELDS or key.startswith(projection.KEY_ID_PREFIX):
                found.append(f"{where}/{key}")
            found += staff_fields(inner, f"{where}/{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += staff_fields(inner, f"{where}/{index}")
    return found


def leaks(body: bytes, media_type: str, key_ids: set[str]) -> list[str]:
    """What a customer answer shows that it must not: staff-only fields and values, key
    ids and flag codes, wherever they are in its bytes."""
    text = body.decode("utf-8", "replace")
    found = [f"key id {key}" for key in key_ids if key in text]
    found += [f"key-like id {m}" for m in re.findall(r"\bkey_[0-9a-f]{6,}", text)]
    found += [f"value {value!r}" for value in STAFF_ONLY_VALUES if value in text]
    found += [f"flag {code}" for code in flags.CODES if code in text]
    # Field names quoted as JSON keys, in any text (HTML, XML, JSON inside either).
    found += [
        f'"{name}":'
        for name in sorted(projection.STAFF_ONLY_FIELDS)
        if re.search(rf'"{name}"\s*:', text) or re.search(rf"&quot;{name}&quot;\s*:", text)
    ]
    if body.strip() and (media_type == "application/json" or media_type.endswith("+json")):
        found += staff_fields(json.loads(body))
    if media_type.endswith("atom+xml"):
        for entry in ET.fromstring(body).iter(f"{ATOM}entry"):  # noqa: S314 (our own answer)
            content = entry.find(f"{ATOM}content")
            if content is not None and content.text:
                found += staff_fields(json.loads(content.text), "/entry/content")
    return found


def spec_path(rule: str) -> str:
    """The spec's path for a URL rule: `<string:name>` and `<name>` become `{name}`."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def assert_clean(what: str, response, key_ids: set[str]) -> None:
    body = response.get_data()
    response.close()
    found = leaks(body, response.mimetype or "", key_ids)
    assert not found, f"{what} ({response.status_code}) shows {found}"


# --- the walks ---------------------------------------------------------------------------------


def _paths(rule: str, parameters: list[str], ids: dict) -> list[str]:
    paths = [rule]
    for name in parameters:
        paths = [
            path.replace(f"<string:{name}>", value).replace(f"<{name}>", value)
            for path in paths
            for value in ids.get(name, ["missing"])
        ]
    return paths


def test_every_customer_route_answers_with_the_customer_projection(client, app, as_role, register):
    customer, key_ids = as_role("customer_a"), register["key_ids"]
    routes = customer_routes(app)
    assert len(routes) > 10
    answered = []
    for rule, parameters in routes:
        unknown = set(parameters) - set(PARAMETERS)
        assert not unknown, f"{rule}: give this test ids for {unknown}"
        for path in _paths(rule, parameters, register["ids"]):
            at = registry_today().isoformat()
            for query in ("", "?limit=100", f"?at={at}", "?limit=100&status=retired"):
                response = client.get(path + query, headers=customer)
                if response.status_code in (400, 422) and query:
                    continue  # the route takes no such parameter
                assert response.status_code < 500, path + query
                if response.status_code == 200:
                    if response.mimetype == "application/json":
                        assert_documented(response.get_json(), spec_path(rule))
                    answered.append(path + query)
                assert_clean(f"GET {path}{query}", response, key_ids)
    # Every kind of door was really read, not only refused.
    for door in (
        f"{URL}?limit=100",
        f"{URL}?at=",
        "/history",
        "/v1/changes?",
        "/v1/changes.atom",
        "/v1/documents/",
        "/v1/disclosures",
        "/v1/incidents/",
        "/objections/",
        "/v1/webhooks/",
    ):
        assert any(door in path for path in answered), f"no answer read from {door}"


def test_the_customers_own_writes_answer_with_the_customer_projection(app, register):
    for what, response in register["answers"]:
        assert_clean(what, response, register["key_ids"])
    # Every write a customer key may make is among those made above.
    writes = set()
    for rule in app.url_map.iter_rules():
        view_class = getattr(app.view_functions[rule.endpoint], "view_class", None)
        for method in rule.methods - {"GET", "HEAD", "OPTIONS"}:
            roles = roles_of(getattr(view_class, method.lower(), None))
            if isinstance(roles, tuple) and "customer" in roles:
                writes.add((method, rule.rule))
    assert writes <= CUSTOMER_WRITES, f"walk these customer writes too: {writes - CUSTOMER_WRITES}"


def test_every_payload_a_customer_webhook_receives_is_projected(registry, register):
    bodies: list[bytes] = []

    def resolve(url, **_):
        return outbound.Target("http", "127.0.0.1", 9, "/hook", ("127.0.0.1",))

    def post(target, body, headers, **_):
        bodies.append(body)
        return outbound.Outcome(204, None, 1)

    worker = Worker(registry.db, registry.settings, resolve=resolve, post=post)
    for _ in range(500):
        if not worker.step():
            break
    types = {json.loads(body)["type"] for body in bodies}
    # The customer's hook was owed announcements, changes, a retirement, an answer to its
    # objection and a breach notice, and each arrived through the projection.
    assert {
        "subprocessor.announced",
        "subprocessor.changed",
        "subprocessor.retired",
        "objection.resolved",
        "incident.reported",
        "documentation_request.fulfilled",
    } <= types, types
    # What asks staff to act (the customer's own request and objection included) is staff's.
    assert not types & set(projection._STAFF_ONLY_TYPES), types
    for body in bodies:
        found = leaks(body, "application/json", register["key_ids"])
        assert not found, f"a {json.loads(body)['type']} webhook shows {found}"


def test_the_public_page_and_feed_answer_with_the_same_projection(client, app, register):
    public = [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.arguments
        and roles_of(
            getattr(
                getattr(app.view_functions[rule.endpoint], "view_class", None),
                "get",
                app.view_functions[rule.endpoint],
            )
        )
        == PUBLIC
    ]
    read = []
    for rule in public:
        response = client.get(rule.rule)
        assert response.status_code < 500, rule.rule
        assert_clean(f"GET {rule.rule} (anonymous)", response, register["key_ids"])
        read.append((rule.rule, response.status_code))
    assert ("/subprocessors", 200) in read and ("/feeds/subprocessors.atom", 200) in read


def test_staff_still_read_what_customers_never_do(client, as_role, register):
    """The same doors give staff the full record: the walks above would pass vacuously if
    the register held none of what they look for."""
    admin, key_ids = as_role("admin"), register["key_ids"]
    urgent = next(
        item
        for item in _ok(client.get(f"{URL}?limit=100", headers=admin))["items"]
        if item["name"] == "No Safeguard"
    )
    staff_history = client.get(f"{URL}/{urgent['id']}/history", headers=admin)
    assert leaks(staff_history.get_data(), "application/json", key_ids)
    staff_feed = client.get("/v1/changes.atom", headers=admin)
    assert any("certified" in found for found in leaks(staff_feed.get_data(), "x", key_ids))
    document = register["ids"]["document_id"][-1]
    staff_document = _ok(client.get(f"/v1/documents/{document}", headers=admin))
    assert staff_document["uploaded_by"] in key_ids
    customer_document = _ok(client.get(f"/v1/documents/{document}", headers=as_role("customer_a")))
    assert customer_document["id"] == document and "uploaded_by" not in customer_document
