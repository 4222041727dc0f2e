"""Notice of new sub-processors and customers' objections until the day before they take effect."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta

import pytest
from helpers import URL, bearer, make_token, nimbus, problem, vendor

NOTICE_DAYS = 10


@pytest.fixture
def registry_settings():
    return {"notice_days": NOTICE_DAYS}


@pytest.fixture
def create(client, staff):
    def post(**fields) -> dict:
        body = nimbus(**fields)  # effective_on=None: announced with the default notice
        response = client.post(URL, json=body, headers=staff)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return post


@pytest.fixture
def proposed(create):
    """Announced today with the default notice: effective in NOTICE_DAYS days."""
    return create(effective_on=None)


def objections_url(subprocessor_id: str) -> str:
    return f"{URL}/{subprocessor_id}/objections"


def objections(client, headers: dict, subprocessor_id: str) -> dict:
    response = client.get(objections_url(subprocessor_id), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def object_to(client, headers: dict, subprocessor_id: str, body: dict | None = None):
    return client.post(objections_url(subprocessor_id), json=body or {}, headers=headers)


def audit_actions(registry) -> list[tuple[str, str]]:
    rows = registry.db.connection().execute("SELECT action, object_id FROM audit ORDER BY seq")
    return [tuple(row) for row in rows]


def stored_objections(registry) -> int:
    return registry.db.connection().execute("SELECT count(*) FROM objections").fetchone()[0]


# Objecting


def test_a_customer_objects_while_the_subprocessor_is_proposed(client, as_role, proposed):
    assert proposed["status"] == "proposed"
    response = object_to(client, as_role("customer_a"), proposed["id"], {"reason": "Not in US"})

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"] == f"{objections_url(proposed['id'])}/{body['id']}"
    assert set(body) == {
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
    assert body["id"].startswith("obj_")
    assert body["change_id"].startswith("chg_")
    assert (body["status"], body["response"], body["resolved_at"]) == ("open", None, None)
    assert body["subprocessor_id"] == proposed["id"]
    assert body["customer_id"] == "cust-a"
    assert body["reason"] == "Not in US"
    (listed,) = objections(client, as_role("customer_a"), proposed["id"])["items"]
    assert listed == body


def test_one_objection_per_customer_and_others_may_object_too(client, as_role, registry, proposed):
    assert object_to(client, as_role("customer_a"), proposed["id"]).status_code == 201
    problem(object_to(client, as_role("customer_a"), proposed["id"], {"reason": "Again"}), 409)
    # Another key of the same customer is the same customer.
    other_key = bearer(make_token(registry, "customer", "cust-a", "customer A, second key"))
    problem(object_to(client, other_key, proposed["id"]), 409)
    assert object_to(client, as_role("customer_b"), proposed["id"]).status_code == 201

    assert stored_objections(registry) == 2


@pytest.mark.parametrize(
    ("days_after_deadline", "status"),
    [
        pytest.param(-NOTICE_DAYS + 1, 201, id="the-day-after-announcement"),
        pytest.param(0, 201, id="on-the-deadline"),
        pytest.param(1, 409, id="on-effective-on"),
        pytest.param(30, 409, id="long-after"),
    ],
)
def test_objections_are_open_until_the_day_before_effective_on(
    client, as_role, registry, clock, proposed, days_after_deadline, status
):
    deadline = date.fromisoformat(proposed["effective_on"]) - timedelta(days=1)
    assert objections(client, as_role("procurement"), proposed["id"])["objection_deadline"] == (
        deadline.isoformat()
    )
    clock.today = deadline + timedelta(days=days_after_deadline)

    response = object_to(client, as_role("customer_a"), proposed["id"])

    assert response.status_code == status, response.get_data(as_text=True)
    if status == 409:
        assert deadline.isoformat() in problem(response, 409)["detail"]
        assert stored_objections(registry) == 0


def test_a_subprocessor_already_in_use_or_retired_takes_no_objections(
    client, as_role, staff, registry, create, proposed
):
    in_use = create(name="In Use", effective_on="2025-01-01")
    problem(object_to(client, as_role("customer_a"), in_use["id"]), 409)

    url = f"{URL}/{proposed['id']}"
    etag = client.get(url, headers=staff).headers["ETag"]
    assert client.delete(url, headers={**staff, "If-Match": etag}).status_code == 200
    detail = problem(object_to(client, as_role("customer_a"), proposed["id"]), 409)["detail"]
    assert "retired" in detail
    assert stored_objections(registry) == 0


def test_an_unknown_subprocessor_is_404(client, as_role):
    unknown = "sp_0000000000000000"
    problem(object_to(client, as_role("customer_a"), unknown), 404)
    problem(client.get(objections_url(unknown), headers=as_role("procurement")), 404)


@pytest.mark.parametrize("role", ["admin", "procurement", "service"])
def test_only_customers_object(client, as_role, registry, proposed, role):
    problem(object_to(client, as_role(role), proposed["id"]), 403)
    problem(object_to(client, {}, proposed["id"]), 401)
    assert stored_objections(registry) == 0


# Who sees them


def test_staff_see_every_objection_and_a_customer_only_its_own(client, as_role, registry, proposed):
    a = object_to(client, as_role("customer_a"), proposed["id"], {"reason": "A's"}).get_json()
    b = object_to(client, as_role("customer_b"), proposed["id"], {"reason": "B's"}).get_json()
    deadline = (date.fromisoformat(proposed["effective_on"]) - timedelta(days=1)).isoformat()

    window = [
        {
            "change_id": a["change_id"],
            "kind": "announcement",
            "effective_on": proposed["effective_on"],
            "objection_deadline": deadline,
        }
    ]
    for role in ("admin", "procurement"):
        seen = objections(client, as_role(role), proposed["id"])
        # Staff also see which key answered (none yet).
        staff_view = [{**a, "resolved_by": None}, {**b, "resolved_by": None}]
        assert seen == {
            "objection_deadline": deadline,
            "open_changes": window,
            "upheld": False,
            "items": staff_view,
        }
    assert objections(client, as_role("customer_a"), proposed["id"])["items"] == [a]
    assert objections(client, as_role("customer_b"), proposed["id"])["items"] == [b]
    silent = bearer(make_token(registry, "customer", "cust-c", "customer C"))
    assert objections(client, silent, proposed["id"]) == {
        "objection_deadline": deadline,
        "open_changes": window,
        "upheld": False,
        "items": [],
    }
    problem(client.get(objections_url(proposed["id"]), headers=as_role("service")), 403)
    problem(client.get(objections_url(proposed["id"])), 401)


# Audit


def test_each_objection_is_audited_and_a_refused_one_is_not(client, as_role, registry, proposed):
    before = audit_actions(registry)
    a = object_to(client, as_role("customer_a"), proposed["id"]).get_json()
    problem(object_to(client, as_role("customer_a"), proposed["id"]), 409)
    b = object_to(client, as_role("customer_b"), proposed["id"]).get_json()
    problem(object_to(client, as_role("service"), proposed["id"]), 403)

    assert audit_actions(registry) == [
        *before,
        ("objection.create", a["id"]),
        ("objection.create", b["id"]),
    ]


# The body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param({}, None, id="no-reason"),
        pytest.param({"reason": None}, None, id="null"),
        pytest.param({"reason": "x" * 2000}, "x" * 2000, id="2000-chars"),
        pytest.param({"reason": "Two\nlines"}, "Two\nlines", id="multiline"),
    ],
)
def test_the_reason_is_optional(client, as_role, proposed, body, reason):
    response = object_to(client, as_role("customer_a"), proposed["id"], body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["reason"] == reason


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        pytest.param({"reason": "x" * 2001}, "/reason", id="too-long"),
        pytest.param({"reason": "   "}, "/reason", id="blank"),
        pytest.param({"reason": 7}, "/reason", id="not-text"),
        pytest.param({"reason": "ok", "colour": "red"}, "/colour", id="unknown-field"),
    ],
)
def test_bad_bodies_are_422(client, as_role, registry, proposed, body, pointer):
    response = object_to(client, as_role("customer_a"), proposed["id"], body)
    assert [e["pointer"] for e in problem(response, 422)["errors"]] == [pointer]
    assert stored_objections(registry) == 0


# Notice


def test_the_default_effective_on_is_today_plus_the_notice_period(client, as_role, clock, create):
    clock.today = date(2027, 3, 5)
    created = create(effective_on=None)

    assert created["effective_on"] == "2027-03-15"
    assert created["status"] == "proposed"
    assert objections(client, as_role("customer_a"), created["id"])["objection_deadline"] == (
        "2027-03-14"
    )


def eea_vendor(name: str, effective_on: date | None, today: date | None = None) -> dict:
    """Only an EEA location: no flag but the notice's can arise. A date before `today` is
    a vendor already in use; one with less than the notice is urgent (both are required)."""
    body = vendor(
        name,
        {"country": "DE", "activity": "processing"},
        service="analytics",
        data_categories=["user.device.ip_address"],
    )
    if effective_on is not None:
        body["effective_on"] = effective_on.isoformat()
        if today is not None and effective_on < today:
            body["already_in_use"] = True
        elif today is not None and effective_on < today + timedelta(days=NOTICE_DAYS):
            body.update(urgent=True, urgent_reason="The old vendor stops at once.")
    return body


@pytest.fixture
def announce(client, staff, clock):
    """Create today, with effective_on `days` later (None: the default)."""

    def post(name: str, days: int | None) -> dict:
        effective = None if days is None else clock.today + timedelta(days=days)
        body = eea_vendor(name, effective, clock.today)
        response = client.post(URL, json=body, headers=staff)
        assert response.status_code == 201, response.get_data(as_text=True)
        created = response.get_json()
        assert created["created_at"][:10] == clock.today.isoformat(), "crossed midnight UTC"
        return created

    return post


@pytest.mark.parametrize(
    ("days", "short"),
    [
        pytest.param(None, False, id="default-notice"),
        pytest.param(NOTICE_DAYS, False, id="exactly-the-notice"),
        pytest.param(NOTICE_DAYS + 20, False, id="more-notice"),
        pytest.param(NOTICE_DAYS - 1, True, id="a-day-short"),
        pytest.param(0, True, id="effective-at-once"),
        pytest.param(-1, False, id="already-in-use"),
        pytest.param(-400, False, id="long-in-use"),
    ],
)
def test_notice_shorter_than_configured_is_a_warning(announce, days, short):
    created = announce("Insight Analytics", days)

    verdict = created["compliance"]
    assert verdict["status"] == "compliant"
    notices = [flag for flag in verdict["flags"] if flag["code"] == "NOTICE_PERIOD_SHORT"]
    assert [flag["code"] for flag in verdict["flags"]] == (["NOTICE_PERIOD_SHORT"] if short else [])
    if short:
        (flag,) = notices
        assert flag["severity"] == "warning"
        assert flag["country"] is None
        assert f"{days} days of notice" in flag["message"]
        assert f"{NOTICE_DAYS} days" in flag["message"]


def test_short_notice_is_counted_in_the_register_report(client, staff, announce):
    announce("Short Notice", NOTICE_DAYS - 3)
    announce("Full Notice", NOTICE_DAYS)
    announce("In Use", -10)

    report = client.get("/v1/compliance", headers=staff).get_json()
    assert report["summary"]["by_flag"] == {"NOTICE_PERIOD_SHORT": 1}
    assert report["summary"]["compliant"] == 3
    assert report["summary"]["proposed"] == 2
    assert report["flagged"] == []


def test_postponing_to_the_full_notice_clears_the_warning(client, staff, announce, clock):
    created = announce("Late Notice", 2)
    assert [f["code"] for f in created["compliance"]["flags"]] == ["NOTICE_PERIOD_SHORT"]
    url = f"{URL}/{created['id']}"
    later = (clock.today + timedelta(days=NOTICE_DAYS)).isoformat()
    etag = client.get(url, headers=staff).headers["ETag"]

    response = client.patch(url, json={"effective_on": later}, headers={**staff, "If-Match": etag})

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["compliance"]["flags"] == []


@pytest.fixture
def timezone():
    """Set the process's local time zone (POSIX TZ), restored afterwards."""
    saved = os.environ.get("TZ")

    def set_zone(zone: str) -> None:
        os.environ["TZ"] = zone
        time.tzset()

    yield set_zone
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_the_default_notice_is_whole_whatever_the_servers_time_zone(client, staff, timezone):
    """Timestamps are UTC, so the registry's own today is the UTC date.

    Twelve hours west and fourteen hours east of UTC, at least one of the two local dates
    differs from the UTC date at any moment.
    """
    for number, zone in enumerate(("WEST+12", "EAST-14")):
        timezone(zone)
        created = client.post(
            URL, json=eea_vendor(f"Zone {number}", None), headers=staff
        ).get_json()
        announced = date.fromisoformat(created["created_at"][:10])
        assert created["effective_on"] == (announced + timedelta(NOTICE_DAYS)).isoformat()
        assert created["compliance"]["flags"] == []
