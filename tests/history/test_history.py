"""Register history: every version of a sub-processor; the register and its verdicts at a date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from helpers import (
    NL,
    TIMESTAMP,
    TODAY,
    URL,
    VERSION_FIELDS,
    as_recorded,
    certified_us,
    current_etag,
    days_from_today,
    nimbus,
    problem,
    us_adequacy,
    vendor,
)

COMPLIANCE = "/v1/compliance"
RECORD_FIELDS = set(VERSION_FIELDS)


@pytest.fixture
def create(client, staff):
    def post(body: dict) -> dict:
        response = client.post(URL, json=body, headers=staff)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return post


def history(client, headers: dict, subprocessor_id: str) -> list[dict]:
    response = client.get(f"{URL}/{subprocessor_id}/history", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["subprocessor_id"] == subprocessor_id
    return body["versions"]


# Every version, oldest first


def test_every_write_keeps_a_version_equal_to_what_was_read_after_it(
    client, as_role, staff, create, patch, retire
):
    record = create(nimbus(effective_on=days_from_today(97)))
    read = [as_recorded(client.get(f"{URL}/{record['id']}", headers=staff).get_json())]
    writes = [
        lambda: patch(record["id"], {"purpose": "Hosting of everything"}),
        lambda: patch(
            record["id"],
            {
                "locations": [{"country": "NL", "activity": "storage"}],
                "data_categories": ["user.contact.email"],
            },
        ),
        lambda: patch(record["id"], {"service": "other", "effective_on": days_from_today(128)}),
        lambda: retire(record["id"]),
    ]
    for write in writes:
        write()
        read.append(as_recorded(client.get(f"{URL}/{record['id']}", headers=staff).get_json()))
    # Another sub-processor's writes are not part of this one's history.
    create(nimbus(name="Elsewhere"))

    versions = history(client, staff, record["id"])
    # A customer reads the same versions, each as the facts of its transfers.
    seen = history(client, as_role("customer_a"), record["id"])
    assert [(v["version"], v["record"]["name"]) for v in seen] == [
        (v["version"], v["record"]["name"]) for v in versions
    ]
    assert [[loc["country"] for loc in v["record"]["locations"]] for v in seen] == [
        [loc["country"] for loc in v["record"]["locations"]] for v in versions
    ]
    assert all("already_in_use" not in v["record"] for v in seen)
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5]
    assert [v["record"] for v in versions] == read
    assert all(set(v["record"]) == RECORD_FIELDS for v in versions)
    stamps = [v["recorded_at"] for v in versions]
    assert all(TIMESTAMP.match(stamp) for stamp in stamps)
    assert stamps == sorted(stamps)
    # Earlier states are exactly as they were, not today's record with an old number.
    assert versions[0]["record"]["name"] == "Nimbus Hosting"
    assert versions[0]["record"]["locations"] == record["locations"]
    assert versions[2]["record"]["data_categories"] == ["user.contact.email"]
    assert versions[3]["record"]["effective_on"] == days_from_today(128)
    assert versions[3]["record"]["retired_on"] is None
    assert versions[4]["record"]["retired_on"] == TODAY.isoformat()


def test_writes_that_change_nothing_or_fail_keep_no_version(client, staff, create):
    record = create(nimbus())
    url = f"{URL}/{record['id']}"
    etag = current_etag(client, staff, record["id"])

    assert client.patch(url, json={}, headers={**staff, "If-Match": etag}).status_code == 200
    same = {"purpose": record["purpose"], "locations": record["locations"]}
    assert client.patch(url, json=same, headers={**staff, "If-Match": etag}).status_code == 200
    stale = {**staff, "If-Match": '"stale"'}
    problem(client.patch(url, json={"purpose": "Lost"}, headers=stale), 412)
    problem(client.delete(url, headers=stale), 412)
    bad = {"locations": [{"country": "IN", "activity": "processing"}] * 2}
    problem(client.patch(url, json=bad, headers={**staff, "If-Match": etag}), 422)

    assert [v["version"] for v in history(client, staff, record["id"])] == [1]


@pytest.mark.parametrize("role", ["admin", "procurement", "service", "customer_a", "customer_b"])
def test_every_role_reads_the_history(client, as_role, create, role):
    record = create(nimbus())
    assert [v["version"] for v in history(client, as_role(role), record["id"])] == [1]


def test_history_of_an_unknown_id_is_404_and_needs_a_token(client, as_role, create):
    record = create(nimbus())
    problem(client.get(f"{URL}/sp_0000000000000000/history", headers=as_role("service")), 404)
    problem(client.get(f"{URL}/{record['id']}/history"), 401)
    body = problem(
        client.get(f"{URL}/{record['id']}/history?version=1", headers=as_role("service")), 422
    )
    assert [e["pointer"] for e in body["errors"]] == ["/version"]


# The register as it stood on a date
#
# Each version is recorded at the clock's time: a test moves the clock before each write,
# so the register's past is fixed by the test, that many days before TODAY.

# The days of `past`: Nimbus announced, fixed (and Relay Mail announced), Nimbus retired.
ANNOUNCED = days_from_today(-267)
FIXED = days_from_today(-204)
RETIRED = days_from_today(-113)


def at(day: str, hour: int) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), UTC)


@pytest.fixture
def past(client, clock, create, patch, retire):
    """Nimbus: announced 267 days ago (uncertified US), in use 30 days later, fixed 204 days
    ago, retired 113 days ago.

    Relay Mail (EEA only) is announced on the day of the fix with the default notice.
    """
    clock.now = at(ANNOUNCED, 9)
    created = create(
        nimbus(locations=[NL, us_adequacy(certified=False)], effective_on=days_from_today(-237))
    )
    sp = created["id"]

    clock.now = at(FIXED, 9)
    checked = days_from_today(-207)
    patch(sp, {"locations": [NL, us_adequacy(certified=True, checked_on=checked)]})
    clock.now = at(FIXED, 10)
    relay = create(
        vendor("Relay Mail", {"country": "DE", "activity": "processing"}, service="email_delivery")
    )
    assert relay["effective_on"] == days_from_today(-174)

    clock.now = at(RETIRED, 9)
    retire(sp)

    clock.today = TODAY
    return {"nimbus": sp, "relay": relay["id"]}


def listed_at(client, headers: dict, day: str, **params) -> list[dict]:
    response = client.get(URL, query_string={"at": day, **params}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def summary(items: list[dict]) -> list[tuple]:
    """(name, version, status, verdict, flag codes) per item."""
    return [
        (
            item["name"],
            item["version"],
            item["status"],
            item["compliance"]["status"],
            [flag["code"] for flag in item["compliance"]["flags"]],
        )
        for item in items
    ]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(days_from_today(-268), [], id="before-anything"),
        pytest.param(
            ANNOUNCED,
            [("Nimbus Hosting", 1, "proposed", "flagged", ["ADEQUACY_CONDITION_UNMET"])],
            id="announced",
        ),
        pytest.param(
            days_from_today(-223),
            [("Nimbus Hosting", 1, "active", "flagged", ["ADEQUACY_CONDITION_UNMET"])],
            id="active-uncertified",
        ),
        pytest.param(
            days_from_today(-205),
            [("Nimbus Hosting", 1, "active", "flagged", ["ADEQUACY_CONDITION_UNMET"])],
            id="eve-of-the-fix",
        ),
        pytest.param(
            FIXED,
            [
                ("Nimbus Hosting", 2, "active", "compliant", []),
                ("Relay Mail", 1, "proposed", "compliant", []),
            ],
            id="fixed-and-relay-announced",
        ),
        pytest.param(
            days_from_today(-114),
            [
                ("Nimbus Hosting", 2, "active", "compliant", []),
                ("Relay Mail", 1, "active", "compliant", []),
            ],
            id="eve-of-retirement",
        ),
        pytest.param(
            RETIRED,
            [
                ("Nimbus Hosting", 3, "retired", "compliant", []),
                ("Relay Mail", 1, "active", "compliant", []),
            ],
            id="retired",
        ),
        pytest.param(
            TODAY.isoformat(),
            [
                ("Nimbus Hosting", 3, "retired", "compliant", []),
                ("Relay Mail", 1, "active", "compliant", []),
            ],
            id="today",
        ),
    ],
)
def test_the_list_at_a_date_shows_that_days_versions_status_and_verdict(
    client, as_role, past, day, expected
):
    items = listed_at(client, as_role("procurement"), day)

    assert summary(items) == expected
    assert all(item["compliance"]["as_of"] == day for item in items)
    # A customer reads the same day's register as facts, never the verdict.
    seen = listed_at(client, as_role("customer_a"), day)
    assert [item["name"] for item in seen] == [item["name"] for item in items]
    assert all("compliance" not in item and "flags" not in str(item) for item in seen)
    assert [item["status"] for item in seen] == [
        {"proposed": "upcoming"}.get(item["status"], item["status"]) for item in items
    ]


def test_each_listed_version_is_the_one_in_the_history(client, staff, past):
    versions = {
        (v["record"]["id"], v["version"]): v["record"]
        for sp in past.values()
        for v in history(client, staff, sp)
    }
    for day in (ANNOUNCED, FIXED, RETIRED):
        for item in listed_at(client, staff, day):
            assert as_recorded(item) == versions[(item["id"], item["version"])]


def test_filters_and_pages_apply_to_the_register_at_a_date(client, staff, past):
    def names(day: str, **params) -> list[str]:
        return [item["name"] for item in listed_at(client, staff, day, **params)]

    assert names(RETIRED, status="retired") == ["Nimbus Hosting"]
    assert names(RETIRED, status="active") == ["Relay Mail"]
    assert names(days_from_today(-223), flagged="true") == ["Nimbus Hosting"]
    assert names(FIXED, flagged="true") == []
    assert names(FIXED, country="US") == ["Nimbus Hosting"]
    assert names(FIXED, service="email_delivery") == ["Relay Mail"]

    first = client.get(URL, query_string={"at": RETIRED, "limit": 1}, headers=staff)
    body = first.get_json()
    assert [item["name"] for item in body["items"]] == ["Nimbus Hosting"]
    second = client.get(
        URL,
        query_string={"at": RETIRED, "limit": 1, "cursor": body["next_cursor"]},
        headers=staff,
    ).get_json()
    assert [item["name"] for item in second["items"]] == ["Relay Mail"]
    assert second["next_cursor"] is None


def test_the_register_at_a_future_date_is_422(client, staff, clock, past):
    tomorrow = (clock.today + timedelta(days=1)).isoformat()
    for url in (URL, COMPLIANCE):
        body = problem(client.get(url, query_string={"at": tomorrow}, headers=staff), 422)
        assert [e["pointer"] for e in body["errors"]] == ["/at"]
    problem(client.get(URL, query_string={"at": "2026-02-30"}, headers=staff), 422)


# Compliance of the register at a date, under that day's law


@pytest.fixture
def yankee(client, clock, create, patch):
    """A US vendor in use since 2021 under adequacy, recorded in June 2021; since four days
    before TODAY it keeps data in the Netherlands only.

    The 2021 version is recorded with the clock in June 2021, so the register has a past
    inside the gap between Privacy Shield (ended 2020-07-16) and the Data Privacy Framework
    (2023-07-10).
    """
    clock.now = datetime(2021, 6, 15, 9, tzinfo=UTC)
    created = create(
        vendor(
            "Yankee Mail",
            NL,
            certified_us(checked_on="2021-06-01"),
            service="email_delivery",
            effective_on="2021-01-01",
        )
    )
    clock.now = at(days_from_today(-4), 9)
    patch(created["id"], {"locations": [NL]})
    clock.today = TODAY
    return created["id"]


def report(client, staff, **params) -> dict:
    response = client.get(COMPLIANCE, query_string=params, headers=staff)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_register_in_the_privacy_shield_gap_is_flagged_under_that_days_law(
    client, staff, yankee
):
    gap = report(client, staff, at="2022-01-01")

    assert gap["as_of"] == "2022-01-01"
    assert gap["summary"] == {
        "total": 1,
        "active": 1,
        "proposed": 0,
        "compliant": 0,
        "flagged": 1,
        "compliant_with_warnings": 0,
        "errors": 1,
        "warnings": 0,
        "notes": 0,
        "waived": 0,
        "non_compliant": 1,
        "active_flagged": 1,
        "by_flag": {"ADEQUACY_NOT_IN_FORCE": 1},
    }
    (flagged,) = gap["flagged"]
    assert flagged["id"] == yankee
    assert flagged["status"] == "active"
    (flag,) = flagged["compliance"]["flags"]
    assert (flag["code"], flag["country"]) == ("ADEQUACY_NOT_IN_FORCE", "US")
    assert "us-privacy-shield-2016" in flag["message"]


def test_the_register_before_it_was_recorded_is_empty(client, staff, yankee):
    before = report(client, staff, at="2021-06-14")
    assert before["summary"]["total"] == 0
    assert before["flagged"] == []


def test_as_of_applies_another_days_law_to_the_register_of_at(client, staff, yankee):
    # The 2021 register under the law of 2024: the Data Privacy Framework covers the US, but
    # a certification checked in June 2021, before the framework existed, is no evidence of
    # certification under it.
    under_dpf = report(client, staff, at="2022-01-01", as_of="2024-01-01")

    assert under_dpf["as_of"] == "2024-01-01"
    assert under_dpf["summary"]["total"] == 1
    assert under_dpf["summary"]["by_flag"] == {"ADEQUACY_CONDITION_UNMET": 1}
    assert [item["id"] for item in under_dpf["flagged"]] == [yankee]


def test_todays_register_is_the_current_version(client, staff, yankee):
    for params in ({}, {"at": TODAY.isoformat()}, {"at": days_from_today(-4)}):
        today = report(client, staff, **params)
        assert today["summary"]["total"] == 1
        assert today["summary"]["by_flag"] == {}
        assert today["flagged"] == []
    # The day before the change the US transfer was still on the register, under DPF, with
    # a certification checked before the framework began: no evidence.
    eve = report(client, staff, at=days_from_today(-5))
    assert eve["summary"]["by_flag"] == {"ADEQUACY_CONDITION_UNMET": 1}


def test_the_register_at_a_date_pages_by_key_without_gaps_or_repeats(client, staff, create):
    made = [create(nimbus(name=f"Paged {n}"))["id"] for n in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"at": TODAY.isoformat(), "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(URL, query_string=params, headers=staff).get_json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        assert all(item["pending_change"] is None for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    assert pages == 3
    # A cursor is a position in creation order, not an offset: it survives a new record.
    first = client.get(URL, query_string={"at": TODAY.isoformat(), "limit": 3}, headers=staff)
    after = first.get_json()["next_cursor"]
    create(nimbus(name="Later"))
    again = client.get(
        URL, query_string={"at": TODAY.isoformat(), "limit": 3, "cursor": after}, headers=staff
    ).get_json()
    assert [item["id"] for item in again["items"]] == made[3:6]


def test_the_history_holds_the_pending_change_and_the_answered_objections(
    client, as_role, staff, create, patch
):
    record = create(nimbus(name="Chained", effective_on=None))
    url = f"{URL}/{record['id']}"
    objected = client.post(
        f"{url}/objections", json={"reason": "Not in India"}, headers=as_role("customer_a")
    )
    assert objected.status_code == 201, objected.get_json()
    sweden = [*record["locations"], {"country": "SE", "activity": "backup"}]
    announced = patch(record["id"], {"locations": sweden})

    def history_of(headers: dict) -> dict:
        return client.get(f"{url}/history", headers=headers).get_json()

    staff_view = history_of(staff)
    assert [v["version"] for v in staff_view["versions"]] == [1]
    assert staff_view["pending_change"]["change_id"] == announced["pending_change"]["change_id"]
    assert staff_view["pending_change"]["changes"]["locations"] == sweden
    assert [o["id"] for o in staff_view["objections"]] == [objected.get_json()["id"]]
    assert staff_view["objections"][0]["status"] == "open"
    # Customers see their own objections only.
    assert len(history_of(as_role("customer_a"))["objections"]) == 1
    assert history_of(as_role("customer_b"))["objections"] == []
