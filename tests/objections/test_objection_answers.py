"""Objections scoped to the change objected to, their answers, and who sees and hears of them.

An objection is to one change: the sub-processor's announcement while it is proposed, or
the material change pending on it until the day before that takes effect. Staff uphold or
dismiss an open objection with a response, the customer may withdraw its own; the answer is
audited and told to the objecting customer alone (`objection.resolved`, feed and webhooks).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from helpers import DE, IN, NL, TODAY, URL, US, bearer, current_etag, make_token, nimbus, problem

from registry.db import store as db_store
from registry.objections import service as objections_service
from registry.objections import store as objections_store

CHANGES = "/v1/changes"
ALL = "/v1/objections"
HOOK_URL = "https://93.184.215.14/hooks/registry"  # public, and never called here
CUSTOMER_VIEW = {
    "id",
    "subprocessor_id",
    "change_id",
    "customer_id",
    "reason",
    "created_at",
    "status",
    "response",
    "resolved_at",
}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def objections_url(subprocessor_id: str, objection_id: str | None = None) -> str:
    url = f"{URL}/{subprocessor_id}/objections"
    return f"{url}/{objection_id}" if objection_id else url


def key_id(token: str) -> str:
    return re.search(r"key_[0-9a-f]{16}", token).group(0)


@pytest.fixture
def create(client, staff):
    def post(**fields) -> dict:
        return ok(client.post(URL, json=nimbus(**fields), headers=staff), 201)

    return post


@pytest.fixture
def proposed(create):
    """Announced today with the default notice: proposed, its announcement open."""
    return create(effective_on=None, name="Proposed Hosting")


@pytest.fixture
def active(create):
    """A vendor recorded as already in use: in force, never announced as new."""
    return create(name="Active Hosting", effective_on="2025-01-01")


@pytest.fixture
def object_to(client, as_role):
    def post(subprocessor_id: str, role: str = "customer_a", **body):
        return client.post(objections_url(subprocessor_id), json=body, headers=as_role(role))

    return post


@pytest.fixture
def objection(object_to):
    """Customer A's objection to a sub-processor."""

    def make(subprocessor_id: str, role: str = "customer_a", **body) -> dict:
        return ok(object_to(subprocessor_id, role, **body), 201)

    return make


@pytest.fixture
def answer(client, as_role):
    """PATCH an objection as `role`, with its current ETag unless `etag` is given."""

    def patch(made: dict, role: str, body: dict, etag: str | None = None, **headers):
        url = objections_url(made["subprocessor_id"], made["id"])
        if etag is None:
            etag = client.get(url, headers=as_role("admin")).headers["ETag"]
        if etag:
            headers["If-Match"] = etag
        return client.patch(url, json=body, headers=as_role(role, **headers))

    return patch


@pytest.fixture
def pending(client, staff, active):
    """`active` with a material change (a new country) announced and pending."""
    headers = {**staff, "If-Match": current_etag(client, staff, active["id"])}
    changed = ok(
        client.patch(f"{URL}/{active['id']}", json={"locations": [NL, US, IN, DE]}, headers=headers)
    )
    assert changed.get("pending_change"), changed
    return changed


def announcement_id(client, staff, subprocessor_id: str) -> str:
    items = ok(client.get(CHANGES, headers=staff))["items"]
    [found] = [
        item["id"]
        for item in items
        if item["subprocessor_id"] == subprocessor_id and item["type"] == "subprocessor.announced"
    ]
    return found


def audit(client, as_role, action: str) -> list[dict]:
    response = client.get("/v1/audit", query_string={"action": action}, headers=as_role("admin"))
    return ok(response)["items"]


DISMISSAL = {"status": "dismissed", "response": "The vendor stays: see our assessment."}
UPHOLDING = {"status": "upheld", "response": "We will not use this vendor for your data."}
WITHDRAWAL = {"status": "withdrawn"}


# Scoped to a change


def test_an_objection_while_proposed_is_to_the_announcement(
    client, staff, as_role, proposed, objection
):
    made = objection(proposed["id"], reason="Not in the US")

    assert set(made) == CUSTOMER_VIEW
    assert made["change_id"] == announcement_id(client, staff, proposed["id"])
    assert made["status"] == "open"
    listed = ok(client.get(objections_url(proposed["id"]), headers=as_role("customer_a")))
    assert listed["open_changes"] == [
        {
            "change_id": made["change_id"],
            "kind": "announcement",
            "effective_on": proposed["effective_on"],
            "objection_deadline": (
                date.fromisoformat(proposed["effective_on"]) - timedelta(days=1)
            ).isoformat(),
        }
    ]


def test_a_vendor_already_in_use_takes_no_objection_until_a_material_change(
    client, as_role, active, object_to
):
    detail = problem(object_to(active["id"]), 409)["detail"]
    assert "already in use" in detail
    listed = ok(client.get(objections_url(active["id"]), headers=as_role("admin")))
    assert listed["open_changes"] == []
    assert listed["objection_deadline"] is None


def test_a_pending_material_change_opens_objections_to_it(
    client, as_role, clock, pending, object_to, objection
):
    change = pending["pending_change"]
    made = objection(pending["id"], reason="Not Germany")
    assert made["change_id"] == change["change_id"]
    listed = ok(client.get(objections_url(pending["id"]), headers=as_role("customer_b")))
    assert [w["change_id"] for w in listed["open_changes"]] == [change["change_id"]]
    assert listed["open_changes"][0]["kind"] == "change"
    assert listed["objection_deadline"] == change["objection_deadline"]

    # Once per customer and change.
    assert "already objected" in problem(object_to(pending["id"]), 409)["detail"]
    # Open until the day before the change takes effect, then closed.
    clock.today = date.fromisoformat(change["objection_deadline"])
    objection(pending["id"], "customer_b")
    clock.today = date.fromisoformat(change["effective_on"])
    silent = bearer(make_token(_registry(client), "customer", "cust-c", "customer C"))
    refused = client.post(objections_url(pending["id"]), json={}, headers=silent)
    detail = problem(refused, 409)["detail"]
    assert change["change_id"] in detail and change["objection_deadline"] in detail


def _registry(client):
    return client.application.extensions["registry"]


def test_one_objection_per_customer_and_change_not_per_subprocessor(
    client, staff, clock, create, object_to, objection
):
    """Objecting to the announcement does not use up the right to object to a later change."""
    created = create(name="Later Changed", effective_on=None)
    first = objection(created["id"])
    problem(object_to(created["id"]), 409)

    # In force now: the announcement is closed.
    clock.today = date.fromisoformat(created["effective_on"]) + timedelta(days=1)
    problem(object_to(created["id"]), 409)
    headers = {**staff, "If-Match": current_etag(client, staff, created["id"])}
    changed = ok(
        client.patch(
            f"{URL}/{created['id']}", json={"locations": [NL, US, IN, DE]}, headers=headers
        )
    )
    assert changed.get("pending_change"), changed
    second = objection(created["id"])

    assert second["change_id"] == changed["pending_change"]["change_id"] != first["change_id"]


def test_while_both_are_open_the_customer_names_the_change(
    client, staff, as_role, proposed, object_to, objection
):
    headers = {**staff, "If-Match": current_etag(client, staff, proposed["id"])}
    changed = ok(
        client.patch(
            f"{URL}/{proposed['id']}", json={"locations": [NL, US, IN, DE]}, headers=headers
        )
    )
    assert changed.get("pending_change"), changed
    announced = announcement_id(client, staff, proposed["id"])
    change_id = changed["pending_change"]["change_id"]
    listed = ok(client.get(objections_url(proposed["id"]), headers=as_role("customer_a")))
    assert [w["change_id"] for w in listed["open_changes"]] == [change_id, announced]

    assert objection(proposed["id"])["change_id"] == change_id  # the newest by default
    assert objection(proposed["id"], change_id=announced)["change_id"] == announced
    problem(object_to(proposed["id"], change_id=announced), 409)
    detail = problem(object_to(proposed["id"], "customer_b", change_id="chg_0000"), 409)["detail"]
    assert change_id in detail and announced in detail


def test_retired_takes_no_objection(client, as_role, retire, proposed, object_to):
    retire(proposed["id"])
    assert "retired" in problem(object_to(proposed["id"]), 409)["detail"]
    assert (
        ok(client.get(objections_url(proposed["id"]), headers=as_role("admin")))["open_changes"]
        == []
    )


def test_the_migration_scopes_existing_objections_to_the_announcement(tmp_path, monkeypatch):
    database = db_store.Database(tmp_path / "before.db")
    monkeypatch.setattr(db_store, "MIGRATIONS", db_store.MIGRATIONS[:7])
    monkeypatch.setattr(db_store, "SCHEMA_VERSION", 7)
    db_store.migrate(database)
    conn = database.connection()
    at = "2026-01-01T00:00:00.000Z"
    for sp in ("sp_announced", "sp_in_use"):
        conn.execute(
            "INSERT INTO subprocessors (id, name, service, data_categories, locations,"
            " effective_on, announced_on, created_at, updated_at)"
            " VALUES (?, ?, 'hosting', '[]', '[]', '2026-02-01', '2026-01-01', ?, ?)",
            [sp, sp, at, at],
        )
    for change_id, sp, change_type in (
        ("chg_other", "sp_in_use", "subprocessor.changed"),
        ("chg_first", "sp_announced", "subprocessor.announced"),
        ("chg_changed", "sp_announced", "subprocessor.changed"),
    ):
        conn.execute(
            "INSERT INTO changes (id, at, type, subprocessor_id, version, data)"
            " VALUES (?, ?, ?, ?, 1, '{}')",
            [change_id, at, change_type, sp],
        )
    for objection_id, sp in (("obj_a", "sp_announced"), ("obj_b", "sp_in_use")):
        conn.execute(
            "INSERT INTO objections (id, subprocessor_id, customer_id, key_id, reason,"
            " created_at) VALUES (?, ?, 'cust-a', 'key_a', 'No', ?)",
            [objection_id, sp, at],
        )
    monkeypatch.undo()

    assert "0008 objection answers" in db_store.migrate(database)

    rows = conn.execute(
        "SELECT id, change_id, status, response, resolved_at, reason FROM objections ORDER BY seq"
    ).fetchall()
    assert rows == [
        ("obj_a", "chg_first", "open", None, None, "No"),
        ("obj_b", None, "open", None, None, "No"),
    ]
    # Now one per customer and change: the same customer may object to another change.
    conn.execute(
        "INSERT INTO objections (id, subprocessor_id, change_id, customer_id, key_id,"
        " created_at) VALUES ('obj_c', 'sp_announced', 'chg_changed', 'cust-a', 'key_a', ?)",
        [at],
    )
    database.close()


# Answers


def test_staff_uphold_with_a_response(client, as_role, tokens, proposed, objection, answer):
    made = objection(proposed["id"], reason="Not in the US")

    response = answer(made, "procurement", UPHOLDING)

    body = ok(response)
    assert body["status"] == "upheld"
    assert body["response"] == UPHOLDING["response"]
    assert body["resolved_at"].startswith(f"{TODAY}T")
    assert body["resolved_by"] == key_id(tokens["procurement"])
    assert response.headers["ETag"] != ""
    mine = ok(client.get(objections_url(proposed["id"], made["id"]), headers=as_role("customer_a")))
    assert set(mine) == CUSTOMER_VIEW, "a customer is not shown which key answered"
    assert mine["status"] == "upheld" and mine["response"] == UPHOLDING["response"]
    # The same representation for its customer and staff: one ETag.
    staff_read = client.get(objections_url(proposed["id"], made["id"]), headers=as_role("admin"))
    assert staff_read.headers["ETag"] == response.headers["ETag"]


@pytest.mark.parametrize("role", ["admin", "procurement"])
def test_staff_dismiss_with_a_response(proposed, objection, answer, role):
    made = objection(proposed["id"])
    body = ok(answer(made, role, DISMISSAL))
    assert (body["status"], body["response"]) == ("dismissed", DISMISSAL["response"])


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        pytest.param({"status": "dismissed"}, "/response", id="dismissed-without-response"),
        pytest.param({"status": "upheld", "response": None}, "/response", id="upheld-null"),
        pytest.param({"status": "upheld", "response": "x" * 2001}, "/response", id="too-long"),
        pytest.param({"status": "upheld", "response": "  "}, "/response", id="blank"),
        pytest.param({"status": "open", "response": "Reopened"}, "/status", id="reopen"),
        pytest.param({"status": "granted", "response": "x"}, "/status", id="unknown-status"),
        pytest.param({"response": "x"}, "/status", id="no-status"),
        pytest.param({**DISMISSAL, "colour": "red"}, "/colour", id="unknown-field"),
    ],
)
def test_bad_answers_are_422(client, as_role, proposed, objection, answer, body, pointer):
    made = objection(proposed["id"])
    errors = problem(answer(made, "procurement", body), 422)["errors"]
    assert [e["pointer"] for e in errors] == [pointer]
    assert (
        ok(client.get(objections_url(proposed["id"], made["id"]), headers=as_role("admin")))[
            "status"
        ]
        == "open"
    )


def test_a_response_of_2000_characters_is_accepted(proposed, objection, answer):
    made = objection(proposed["id"])
    body = ok(answer(made, "admin", {"status": "dismissed", "response": "x" * 2000}))
    assert len(body["response"]) == 2000


def test_the_customer_withdraws_its_own_objection(tokens, proposed, objection, answer):
    made = objection(proposed["id"])
    body = ok(answer(made, "customer_a", WITHDRAWAL))
    assert (body["status"], body["response"]) == ("withdrawn", None)
    assert "resolved_by" not in body
    assert body["resolved_at"] is not None


def test_a_withdrawal_carries_no_response(proposed, objection, answer):
    made = objection(proposed["id"])
    sent = {"status": "withdrawn", "response": "Changed our mind"}
    errors = problem(answer(made, "customer_a", sent), 422)["errors"]
    assert [e["pointer"] for e in errors] == ["/response"]


@pytest.mark.parametrize(
    ("role", "body"),
    [
        pytest.param("customer_a", UPHOLDING, id="customer-upholds-its-own"),
        pytest.param("customer_a", DISMISSAL, id="customer-dismisses-its-own"),
        pytest.param("admin", WITHDRAWAL, id="admin-withdraws"),
        pytest.param("procurement", WITHDRAWAL, id="procurement-withdraws"),
        pytest.param("service", DISMISSAL, id="service"),
    ],
)
def test_an_answer_the_caller_may_not_give_is_403(
    client, as_role, proposed, objection, answer, role, body
):
    made = objection(proposed["id"])
    before = audit(client, as_role, "objection.resolve") + audit(
        client, as_role, "objection.withdraw"
    )
    problem(answer(made, role, body), 403)
    assert (
        ok(client.get(objections_url(proposed["id"], made["id"]), headers=as_role("admin")))[
            "status"
        ]
        == "open"
    )
    after = audit(client, as_role, "objection.resolve") + audit(
        client, as_role, "objection.withdraw"
    )
    assert after == before


@pytest.mark.parametrize(
    ("first", "then"),
    [
        pytest.param(("procurement", UPHOLDING), ("admin", DISMISSAL), id="upheld-then-dismissed"),
        pytest.param(("admin", DISMISSAL), ("customer_a", WITHDRAWAL), id="dismissed-withdrawn"),
        pytest.param(("customer_a", WITHDRAWAL), ("admin", UPHOLDING), id="withdrawn-upheld"),
        pytest.param(("admin", DISMISSAL), ("admin", DISMISSAL), id="dismissed-twice"),
    ],
)
def test_only_an_open_objection_is_answered(proposed, objection, answer, first, then):
    made = objection(proposed["id"])
    ok(answer(made, *first))
    detail = problem(answer(made, *then), 409)["detail"]
    assert first[1]["status"] in detail


def test_if_match_is_required_and_must_be_current(client, as_role, proposed, objection, answer):
    made = objection(proposed["id"])
    url = objections_url(proposed["id"], made["id"])
    stale = client.get(url, headers=as_role("admin")).headers["ETag"]

    problem(answer(made, "admin", DISMISSAL, etag=""), 428)
    problem(answer(made, "customer_a", WITHDRAWAL, etag='"not-its-etag"'), 412)
    ok(answer(made, "admin", DISMISSAL, etag=stale))
    # The answer changed the objection: the ETag read before is stale now.
    problem(answer(made, "admin", UPHOLDING, etag=stale), 412)
    assert ok(client.get(url, headers=as_role("admin")))["status"] == "dismissed"


def test_another_customers_objection_is_404_as_if_it_did_not_exist(
    client, as_role, proposed, objection, answer
):
    made = objection(proposed["id"])
    made_up = {**made, "id": "obj_0000000000000000"}

    for body in (WITHDRAWAL, DISMISSAL):
        theirs = problem(answer(made, "customer_b", body), 404)
        absent = problem(answer(made_up, "customer_b", body, etag='"x"'), 404)
        assert theirs["detail"].replace(made["id"], made_up["id"]) == absent["detail"]
    read = client.get(objections_url(proposed["id"], made["id"]), headers=as_role("customer_b"))
    problem(read, 404)
    # Under another sub-processor, the objection is not there either.
    other = ok(
        client.post(URL, json=nimbus(name="Other", effective_on=None), headers=as_role("admin")),
        201,
    )
    problem(client.get(objections_url(other["id"], made["id"]), headers=as_role("admin")), 404)
    assert (
        ok(client.get(objections_url(proposed["id"], made["id"]), headers=as_role("admin")))[
            "status"
        ]
        == "open"
    )


def test_answers_are_audited(client, as_role, tokens, proposed, objection, answer):
    upheld = objection(proposed["id"])
    withdrawn = objection(proposed["id"], "customer_b")
    ok(answer(upheld, "procurement", UPHOLDING))
    ok(answer(withdrawn, "customer_b", WITHDRAWAL))
    problem(answer(upheld, "admin", DISMISSAL), 409)

    [resolve] = audit(client, as_role, "objection.resolve")
    assert resolve["object_type"] == "objection"
    assert resolve["object_id"] == upheld["id"]
    assert resolve["actor"]["key_id"] == key_id(tokens["procurement"])
    assert resolve["change"] == {
        "status": {"from": "open", "to": "upheld"},
        "response": UPHOLDING["response"],
    }
    [withdraw] = audit(client, as_role, "objection.withdraw")
    assert withdraw["object_id"] == withdrawn["id"]
    assert withdraw["actor"]["customer_id"] == "cust-b"
    assert withdraw["change"] == {"status": {"from": "open", "to": "withdrawn"}, "response": None}


# The upheld ones, shown on the sub-processor


def test_upheld_objections_are_shown(client, as_role, proposed, objection, answer):
    a = objection(proposed["id"])
    b = objection(proposed["id"], "customer_b")
    url = objections_url(proposed["id"])
    assert ok(client.get(url, headers=as_role("admin")))["upheld"] is False
    record_url = f"/v1/subprocessors/{proposed['id']}"
    before = client.get(record_url, headers=as_role("admin"))
    assert before.get_json()["upheld_objections"] == []

    ok(answer(a, "admin", UPHOLDING))
    ok(answer(b, "admin", DISMISSAL))

    # Shown on the sub-processor itself: to staff, and to the customer whose it is.
    after = client.get(record_url, headers=as_role("admin"))
    assert [o["id"] for o in after.get_json()["upheld_objections"]] == [a["id"]]
    assert after.headers["ETag"] != before.headers["ETag"]
    own = client.get(record_url, headers=as_role("customer_a")).get_json()
    assert [o["id"] for o in own["upheld_objections"]] == [a["id"]]
    other = client.get(record_url, headers=as_role("customer_b")).get_json()
    assert other["upheld_objections"] == []

    staff_view = ok(client.get(url, headers=as_role("procurement")))
    assert staff_view["upheld"] is True
    assert [(i["id"], i["status"]) for i in staff_view["items"]] == [
        (a["id"], "upheld"),
        (b["id"], "dismissed"),
    ]
    assert ok(client.get(url, headers=as_role("customer_a")))["upheld"] is True
    b_view = ok(client.get(url, headers=as_role("customer_b")))
    assert b_view["upheld"] is False, "another customer's upheld objection does not show"
    assert [i["id"] for i in b_view["items"]] == [b["id"]]
    assert b_view["items"][0]["response"] == DISMISSAL["response"]


def test_upheld_for_lists_the_upheld_objections(registry, proposed, objection, answer):
    a = objection(proposed["id"])
    b = objection(proposed["id"], "customer_b")
    ok(answer(a, "admin", UPHOLDING))
    conn = registry.db.connection()
    assert objections_service.upheld_for(conn, proposed["id"]) == [
        {
            "id": a["id"],
            "customer_id": "cust-a",
            "change_id": a["change_id"],
            "resolved_at": objections_service.get(conn, proposed["id"], a["id"], None)[
                "resolved_at"
            ],
        }
    ]
    assert objections_service.upheld_for(conn, proposed["id"], "cust-b") == []
    ok(answer(b, "admin", UPHOLDING))
    assert [o["id"] for o in objections_service.upheld_for(conn, proposed["id"])] == [
        a["id"],
        b["id"],
    ]


# GET /v1/objections


@pytest.fixture
def several(create, objection, answer):
    """Customer A objects to two sub-processors, customer B to one; one is upheld."""
    first = create(name="First", effective_on=None)
    second = create(name="Second", effective_on=None)
    a1 = objection(first["id"])
    b1 = objection(first["id"], "customer_b")
    a2 = objection(second["id"])
    a1 = ok(answer(a1, "admin", UPHOLDING))
    return {"first": first, "second": second, "a1": a1, "b1": b1, "a2": a2}


def listed(client, headers, **query) -> list[str]:
    return [
        item["id"] for item in ok(client.get(ALL, query_string=query, headers=headers))["items"]
    ]


def test_staff_list_every_objection_with_filters(client, as_role, several):
    admin = as_role("admin")
    a1, b1, a2 = several["a1"]["id"], several["b1"]["id"], several["a2"]["id"]

    assert listed(client, admin) == [a1, b1, a2]
    assert listed(client, as_role("procurement"), status="open") == [b1, a2]
    assert listed(client, admin, status="upheld") == [a1]
    assert listed(client, admin, status="withdrawn") == []
    assert listed(client, admin, customer_id="cust-a") == [a1, a2]
    assert listed(client, admin, subprocessor_id=several["first"]["id"]) == [a1, b1]
    assert listed(client, admin, subprocessor_id=several["first"]["id"], status="open") == [b1]
    assert listed(client, admin, customer_id="cust-unknown") == []
    first = ok(client.get(ALL, headers=admin))["items"][0]
    assert first["status"] == "upheld" and first["response"] == UPHOLDING["response"]
    assert "resolved_by" in first


def test_a_customer_lists_only_its_own(client, as_role, several):
    a1, b1, a2 = several["a1"]["id"], several["b1"]["id"], several["a2"]["id"]
    a_view = ok(client.get(ALL, headers=as_role("customer_a")))["items"]
    assert [item["id"] for item in a_view] == [a1, a2]
    assert all(set(item) == CUSTOMER_VIEW for item in a_view)
    assert listed(client, as_role("customer_b")) == [b1]
    # Filters narrow a customer's own, never widen them.
    first = several["first"]["id"]
    assert listed(client, as_role("customer_b"), subprocessor_id=first) == [b1]
    assert listed(client, as_role("customer_b"), status="upheld") == []
    assert listed(client, as_role("customer_a"), status="upheld") == [a1]
    silent = bearer(make_token(_registry(client), "customer", "cust-c", "customer C"))
    assert listed(client, silent) == []


@pytest.mark.parametrize("value", ["cust-a", "cust-b"])
def test_a_customer_may_not_filter_by_customer(client, as_role, several, value):
    response = client.get(ALL, query_string={"customer_id": value}, headers=as_role("customer_a"))
    [error] = problem(response, 422)["errors"]
    assert error["pointer"] == "/customer_id"
    assert error["location"] == "query"


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        pytest.param({"status": "pending"}, "/status", id="unknown-status"),
        pytest.param({"limit": 0}, "/limit", id="limit-0"),
        pytest.param({"limit": 101}, "/limit", id="limit-101"),
        pytest.param({"cursor": "abc"}, "/cursor", id="bad-cursor"),
        pytest.param({"colour": "red"}, "/colour", id="unknown-parameter"),
    ],
)
def test_bad_list_queries_are_422(client, as_role, query, pointer):
    errors = problem(client.get(ALL, query_string=query, headers=as_role("admin")), 422)["errors"]
    assert [e["pointer"] for e in errors] == [pointer]


def test_the_list_is_paginated_with_a_cursor(client, as_role, several):
    admin = as_role("admin")
    expected = [several[k]["id"] for k in ("a1", "b1", "a2")]
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get(ALL, query_string=query, headers=admin))
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


def test_services_and_anonymous_callers_do_not_list_objections(client, as_role):
    problem(client.get(ALL, headers=as_role("service")), 403)
    problem(client.get(ALL), 401)


KEYSET = re.compile(r"SEARCH objections USING (INTEGER PRIMARY KEY|(COVERING )?INDEX \w+) \(")


class Recorder:
    def __init__(self, conn):
        self.conn = conn
        self.statements: list[tuple[str, list]] = []

    def execute(self, sql, params=()):
        self.statements.append((sql, list(params)))
        return self.conn.execute(sql, params)


@pytest.mark.parametrize("customer_id", [None, "cust-a"])
@pytest.mark.parametrize("subprocessor_id", [None, "sp_x"])
@pytest.mark.parametrize("status", [None, "open"])
def test_list_pages_seek_a_key_from_the_cursor(registry, customer_id, subprocessor_id, status):
    conn = registry.db.connection()
    recorder = Recorder(conn)
    objections_store.page(
        recorder,
        after_seq=10,
        limit=51,
        status=status,
        subprocessor_id=subprocessor_id,
        customer_id=customer_id,
    )
    [(sql, params)] = recorder.statements
    plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert KEYSET.match(plan[0]) and re.search(r"\b(rowid|seq)>\?", plan[0]), plan
    assert not any("SCAN" in line or "TEMP B-TREE" in line for line in plan), plan


# Telling the objecting customer


@pytest.fixture
def hooks(client, as_role):
    """An endpoint each for customers A (only objection.resolved) and B (everything)."""
    made = {}
    for role, events in (("customer_a", ["objection.resolved"]), ("customer_b", ["*"])):
        body = {"url": HOOK_URL, "events": events}
        made[role] = ok(client.post("/v1/webhooks", json=body, headers=as_role(role)), 201)["id"]
    return made


def deliveries(client, as_role, role: str, webhook_id: str) -> list[dict]:
    url = f"/v1/webhooks/{webhook_id}/deliveries"
    return ok(client.get(url, headers=as_role(role)))["items"]


def test_the_answer_is_sent_to_the_objecting_customer_alone(
    client, as_role, hooks, proposed, objection, answer
):
    made = objection(proposed["id"])
    objection(proposed["id"], "customer_b")  # open, unanswered: nothing to tell B
    assert deliveries(client, as_role, "customer_a", hooks["customer_a"]) == []

    ok(answer(made, "procurement", DISMISSAL))

    [sent] = deliveries(client, as_role, "customer_a", hooks["customer_a"])
    assert sent["type"] == "objection.resolved"
    assert sent["status"] == "pending"
    b_types = [d["type"] for d in deliveries(client, as_role, "customer_b", hooks["customer_b"])]
    assert "objection.resolved" not in b_types
    assert "subprocessor.announced" in b_types, "B's endpoint does receive public changes"

    # The feed: the objecting customer and staff see the event; other customers do not.
    [event] = [
        item
        for item in ok(client.get(CHANGES, headers=as_role("customer_a")))["items"]
        if item["type"] == "objection.resolved"
    ]
    assert event["id"] == sent["change_id"]
    assert event["material"] is True
    assert event["subprocessor_id"] == proposed["id"]
    assert event["effective_on"] == proposed["effective_on"]
    assert event["objection"] == {
        "id": made["id"],
        "subprocessor_id": proposed["id"],
        "change_id": made["change_id"],
        "status": "dismissed",
        "response": DISMISSAL["response"],
        "resolved_at": event["objection"]["resolved_at"],
    }
    assert "reason" not in event["objection"] and "customer_id" not in event["objection"]
    b_types = [i["type"] for i in ok(client.get(CHANGES, headers=as_role("customer_b")))["items"]]
    assert "objection.resolved" not in b_types
    staff_types = [i["type"] for i in ok(client.get(CHANGES, headers=as_role("admin")))["items"]]
    assert "objection.resolved" in staff_types
    # A service reads the public changes only: a customer's answer is not its business.
    service = ok(client.get(CHANGES, headers=as_role("service")))["items"]
    assert "objection.resolved" not in [i["type"] for i in service]
    assert "subprocessor.announced" in [i["type"] for i in service]
    service_atom = client.get("/v1/changes.atom", headers=as_role("service")).get_data(as_text=True)
    assert "objection.resolved" not in service_atom

    atom = client.get("/v1/changes.atom", headers=as_role("customer_a")).get_data(as_text=True)
    assert "objection.resolved" in atom
    assert f"Your objection to {proposed['name']}" in atom and "was dismissed" in atom
    b_atom = client.get("/v1/changes.atom", headers=as_role("customer_b")).get_data(as_text=True)
    assert "objection.resolved" not in b_atom


def test_a_withdrawal_is_told_too_and_a_refused_answer_is_not(
    client, as_role, hooks, proposed, objection, answer
):
    made = objection(proposed["id"])
    problem(answer(made, "customer_a", UPHOLDING), 403)
    problem(answer(made, "admin", DISMISSAL, etag='"stale"'), 412)
    assert deliveries(client, as_role, "customer_a", hooks["customer_a"]) == []

    ok(answer(made, "customer_a", WITHDRAWAL))
    [sent] = deliveries(client, as_role, "customer_a", hooks["customer_a"])
    assert sent["type"] == "objection.resolved"


def test_an_answer_to_an_objection_to_a_pending_change_names_its_date(
    client, as_role, pending, objection, answer
):
    made = objection(pending["id"])
    ok(answer(made, "admin", UPHOLDING))
    [event] = [
        item
        for item in ok(client.get(CHANGES, headers=as_role("customer_a")))["items"]
        if item["type"] == "objection.resolved"
    ]
    assert event["objection"]["change_id"] == pending["pending_change"]["change_id"]
    assert event["effective_on"] == pending["pending_change"]["effective_on"]
