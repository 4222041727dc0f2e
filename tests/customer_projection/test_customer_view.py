"""Customers see the facts of each transfer and never a verdict nor a staff key.

Every route a customer may call with GET is walked, on a register raising every flag the
engine knows, with a documentation request answered, an objection answered by staff and a
webhook of its own: no flag code, verdict field or staff key id may appear in any answer.
"""

from __future__ import annotations

import pytest
from helpers import nimbus
from test_incidents import breach, communicate
from test_public import every_flag, upload_copy

from registry.compliance import engine
from registry.http.auth import roles_of

FLAG_CODES = sorted(engine.SEVERITY)
VERDICT_WORDS = ('"flags"', '"compliance"', '"severity"', '"flagged"', '"compliant"')
# The one kind of parameter each route's path takes, filled from the register built below.
PARAMETERS = (
    "subprocessor_id",
    "document_id",
    "request_id",
    "webhook_id",
    "objection_id",
    "incident_id",
    "code",
    "decision_id",
    "version_id",
)


@pytest.fixture
def world(client, as_role, clock, registry):
    """A register with every flag, and a customer with a request, an objection and a hook."""
    admin, customer = as_role("admin"), as_role("customer_a")

    def create(body):
        response = client.post("/v1/subprocessors", json=body, headers=admin)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    # Its hook first: every event from here on is owed to it.
    registry.settings = registry.settings.replace(webhook_allow_private=True)
    hook = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=customer)
    assert hook.status_code == 201, hook.get_json()
    raised = every_flag(client, create, clock, admin)
    assert raised == set(FLAG_CODES)
    items = client.get("/v1/subprocessors?limit=100", headers=admin).get_json()["items"]
    # An upcoming one customers may object to, with a copy on file for its US transfer.
    upcoming = create(nimbus(name="Objected To", effective_on=None))
    upload_copy(client, admin, upcoming["id"], "US")
    documents = client.get("/v1/documents", headers=admin).get_json()["items"]

    asked = client.post("/v1/documentation-requests", json={}, headers=customer)
    assert asked.status_code == 201, asked.get_json()
    objection = client.post(
        f"/v1/subprocessors/{upcoming['id']}/objections",
        json={"reason": "Not in the US"},
        headers=customer,
    )
    assert objection.status_code == 201, objection.get_json()
    objection_url = f"/v1/subprocessors/{upcoming['id']}/objections/{objection.get_json()['id']}"
    answered = client.patch(
        objection_url,
        json={"status": "upheld", "response": "We will keep the data in the EU."},
        headers={**admin, "If-Match": client.get(objection_url, headers=admin).headers["ETag"]},
    )
    assert answered.status_code == 200, answered.get_json()
    # A breach communicated to this customer (and to the other one).
    incident = client.post("/v1/incidents", json=breach(upcoming["id"]), headers=admin)
    assert incident.status_code == 201, incident.get_json()
    communicate(client, admin, incident.get_json()["id"])
    law = client.get("/v1/law", headers=admin).get_json()
    return {
        "subprocessor_id": [item["id"] for item in items] + [upcoming["id"]],
        "document_id": [documents[0]["id"]],
        "request_id": [asked.get_json()["id"]],
        "webhook_id": [hook.get_json()["id"]],
        "objection_id": [objection.get_json()["id"]],
        "incident_id": [incident.get_json()["id"]],
        "code": ["US", "GB", "SG"],
        "decision_id": [d["id"] for d in law.get("adequacy_decisions", [])][:3] or ["us-dpf-2023"],
        "version_id": ["2021/914"],
    }


def staff_key_ids(tokens) -> set[str]:
    return {"key_" + tokens[role].split("_")[2] for role in ("admin", "procurement", "service")}


def customer_routes(app) -> list[tuple[str, list[str]]]:
    """(rule, its path parameters) for every GET a customer may call."""
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        roles = roles_of(getattr(view_class, "get", None) if view_class else view)
        if not isinstance(roles, tuple) or "customer" not in roles:
            continue
        found.append((rule.rule, sorted(rule.arguments)))
    return found


def test_no_customer_answer_holds_a_verdict_or_a_staff_key(client, app, as_role, tokens, world):
    customer = as_role("customer_a")
    hidden = staff_key_ids(tokens)
    routes = customer_routes(app)
    assert len(routes) > 10
    walked = []
    for rule, parameters in routes:
        unknown = set(parameters) - set(PARAMETERS)
        assert not unknown, f"{rule}: fill {unknown} in this test"
        paths = [rule]
        for name in parameters:
            paths = [
                path.replace(f"<{name}>", value).replace(f"<string:{name}>", value)
                for path in paths
                for value in world.get(name, ["missing"])
            ]
        for path in paths:
            for query in ("", "?limit=100", "?at=2031-07-31"):
                response = client.get(path + query, headers=customer)
                if response.status_code == 422 and query:
                    continue  # the route takes no such parameter
                text = response.get_data(as_text=True)
                walked.append((path + query, response.status_code))
                for code in FLAG_CODES:
                    assert code not in text, f"{path}{query} shows {code}"
                for word in VERDICT_WORDS:
                    assert word not in text, f"{path}{query} shows {word}"
                for key_id in hidden:
                    assert key_id not in text, f"{path}{query} shows staff key {key_id}"
    answered = [path for path, status in walked if status == 200]
    # The register and the customer's own records were really read, not only refused.
    assert any(path.startswith("/v1/subprocessors?") for path in answered)
    assert any("/history" in path for path in answered)
    assert any(path.startswith("/v1/changes") for path in answered)
    assert any(path.startswith("/v1/documentation-requests/") for path in answered)
    assert any(path.startswith("/v1/incidents/") for path in answered)


def test_a_customer_reads_facts_where_staff_read_verdicts(client, as_role, world):
    sp = world["subprocessor_id"][0]
    staff = client.get(f"/v1/subprocessors/{sp}", headers=as_role("admin"))
    customer = client.get(f"/v1/subprocessors/{sp}", headers=as_role("customer_a"))
    assert staff.status_code == customer.status_code == 200
    assert "compliance" in staff.get_json()
    facts = customer.get_json()
    assert "compliance" not in facts
    assert facts["locations"] and {"country", "mechanism", "relied_on", "copy_available"} <= set(
        facts["locations"][0]
    )
    # Another representation of the same state: another ETag, so no cache mixes them up.
    assert staff.headers["ETag"] != customer.headers["ETag"]
    again = client.get(
        f"/v1/subprocessors/{sp}",
        headers=as_role("customer_a", **{"If-None-Match": customer.headers["ETag"]}),
    )
    assert again.status_code == 304


def test_verdict_only_questions_are_refused_to_customers(client, as_role, world):
    sp = world["subprocessor_id"][0]
    flagged = client.get("/v1/subprocessors?flagged=true", headers=as_role("customer_a"))
    assert flagged.status_code == 403
    assert flagged.mimetype == "application/problem+json"
    for path in ("/v1/compliance", f"/v1/subprocessors/{sp}/compliance"):
        assert client.get(path, headers=as_role("customer_a")).status_code == 403


def test_webhook_events_a_customer_receives_hold_no_verdict(registry, world):
    from datetime import timedelta

    from registry import clock
    from registry.webhooks import outbound
    from registry.webhooks import store as webhook_store  # the queue, as the worker claims it

    now = clock.now()
    with registry.db.write() as tx:
        due = webhook_store.claim(tx, now=now, lease_until=now + timedelta(minutes=1), limit=100)
    bodies = [outbound.event_body(item["change"]).decode() for item in due]
    assert bodies, "the customer's hook was owed events"
    for body in bodies:
        for code in FLAG_CODES:
            assert code not in body
        assert "verdict_changed" not in body
