"""The sub-processor catalogue over HTTP: create, read, list, update, retire, and verdicts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import (
    CONTENT_FIELDS,
    NL,
    TODAY,
    URL,
    bcr,
    certified_us,
    days_from_today,
    nimbus,
    scc,
    singapore,
    vendor,
)

from registry.db import store as db
from registry.http import cursors
from registry.law.loader import load_law


@pytest.fixture
def admin(as_role):
    return as_role("admin")


@pytest.fixture
def create(client, admin):
    def post(body: dict) -> dict:
        response = client.post(URL, json=body, headers=admin)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return post


@pytest.fixture
def retire(client, admin):
    def delete(sid: str) -> dict:
        etag = client.get(f"{URL}/{sid}", headers=admin).headers["ETag"]
        response = client.delete(f"{URL}/{sid}", headers={**admin, "If-Match": etag})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    return delete


@pytest.fixture
def register(create, retire):
    """Five sub-processors: active, flagged, proposed, retired, proposed and flagged."""
    made = {
        "nimbus": create(nimbus()),
        "relay": create(
            vendor("Relaywise", singapore(), service="email_delivery", effective_on="2025-03-01")
        ),
        "mailcraft": create(vendor("Mailcraft", service="email_delivery")),
        "oldbox": create(
            vendor("Oldbox", certified_us(), service="hosting", effective_on="2020-01-01")
        ),
        "future": create(
            vendor(
                "Future Risk", singapore(), service="analytics", effective_on=days_from_today(38)
            )
        ),
    }
    retire(made["oldbox"]["id"])
    return {key: record["id"] for key, record in made.items()}


def names(client, headers, query: str = "") -> list[str]:
    response = client.get(f"{URL}?limit=100&{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["next_cursor"] is None
    return [item["name"] for item in body["items"]]


def test_create_answers_201_with_location_etag_and_the_record(client, admin):
    response = client.post(URL, json=nimbus(), headers=admin)
    assert response.status_code == 201
    record = response.get_json()
    assert record["id"]
    assert response.headers["Location"].endswith(f"{URL}/{record['id']}")
    read = client.get(response.headers["Location"], headers=admin)
    assert read.status_code == 200
    assert read.get_json() == record
    assert read.headers["ETag"] == response.headers["ETag"]
    sent = nimbus()
    for field in CONTENT_FIELDS:
        assert record[field] == sent[field]
    assert record["effective_on"] == "2025-01-01"
    assert record["status"] == "active"
    assert record["version"] == 1
    assert record["retired_on"] is None


def test_compliance_object_has_the_contract_shape(create):
    record = create(nimbus())
    verdict = record["compliance"]
    assert verdict["status"] == "compliant"
    assert verdict["as_of"] == TODAY.isoformat()
    # No disclosable copy of the Indian SCCs is on file yet: a warning only.
    assert [(f["code"], f["country"]) for f in verdict["flags"]] == [("SCC_COPY_MISSING", "IN")]
    summary = [
        (
            loc["country"],
            loc["eea"],
            loc["mechanism"],
            loc["adequacy_decision"],
            [f["code"] for f in loc["flags"]],
        )
        for loc in verdict["locations"]
    ]
    assert summary == [
        ("NL", True, None, None, []),
        ("US", False, "adequacy", "us-dpf-2023", []),
        ("IN", False, "scc", None, ["SCC_COPY_MISSING"]),
    ]
    for location in verdict["locations"]:
        assert {"country", "eea", "mechanism", "adequacy_decision", "flags"} <= set(location)


def test_an_error_flag_makes_it_flagged(create):
    verdict = create(vendor("Relaywise", singapore(), effective_on="2025-03-01"))["compliance"]
    assert verdict["status"] == "flagged"
    [flag] = verdict["flags"]
    assert set(flag) == {"code", "severity", "country", "message"}
    assert (flag["code"], flag["severity"], flag["country"]) == ("NO_SAFEGUARD", "error", "SG")
    assert "SG" in flag["message"]
    assert verdict["locations"][0]["flags"] == [flag]


def test_warnings_alone_leave_it_compliant(create):
    # SCCs to the US without a TIA while the DPF applies: a warning (rules 4; elsewhere an error).
    body = vendor("No TIA", scc("US", tia_completed_on=None), effective_on="2025-01-01")
    del body["locations"][0]["safeguard"]["tia_completed_on"]
    verdict = create(body)["compliance"]
    assert [(f["code"], f["severity"]) for f in verdict["flags"]] == [
        ("TIA_MISSING", "warning"),
        ("SCC_COPY_MISSING", "warning"),
    ]
    assert verdict["status"] == "compliant"


def test_default_effective_on_is_today_plus_the_notice_period(create):
    body = nimbus(effective_on=None)
    record = create(body)
    assert record["effective_on"] == days_from_today(30)
    assert record["status"] == "proposed"


@pytest.mark.parametrize(
    ("days", "status"),
    [(0, "active"), (10, "proposed")],
)
def test_notice_period_is_configurable(app_with, staff, days, status):
    app = app_with(notice_days=days)
    body = nimbus(effective_on=None)
    response = app.test_client().post(URL, json=body, headers=staff)
    assert response.status_code == 201
    assert (response.get_json()["effective_on"], response.get_json()["status"]) == (
        days_from_today(days),
        status,
    )


@pytest.mark.parametrize(
    ("days", "status"),
    [(-1, "active"), (0, "active"), (30, "proposed")],
)
def test_status_follows_effective_on(create, days, status):
    assert create(nimbus(effective_on=days_from_today(days)))["status"] == status


def test_list_without_filters_is_in_creation_order_with_verdicts(client, admin, register):
    response = client.get(URL, headers=admin)
    body = response.get_json()
    assert [item["name"] for item in body["items"]] == [
        "Nimbus Hosting",
        "Relaywise",
        "Mailcraft",
        "Oldbox",
        "Future Risk",
    ]
    assert body["next_cursor"] is None
    statuses = {item["name"]: item["status"] for item in body["items"]}
    assert statuses == {
        "Nimbus Hosting": "active",
        "Relaywise": "active",
        "Mailcraft": "proposed",
        "Oldbox": "retired",
        "Future Risk": "proposed",
    }
    assert all(item["compliance"]["as_of"] == TODAY.isoformat() for item in body["items"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("service=hosting", ["Nimbus Hosting", "Oldbox"]),
        ("service=email_delivery", ["Relaywise", "Mailcraft"]),
        ("service=payments", []),
        ("country=US", ["Nimbus Hosting", "Oldbox"]),
        ("country=SG", ["Relaywise", "Future Risk"]),
        ("country=DE", ["Mailcraft"]),
        ("status=active", ["Nimbus Hosting", "Relaywise"]),
        ("status=proposed", ["Mailcraft", "Future Risk"]),
        ("status=retired", ["Oldbox"]),
        ("flagged=true", ["Relaywise", "Future Risk"]),
        ("flagged=false", ["Nimbus Hosting", "Mailcraft"]),
        ("flagged=false&status=retired", ["Oldbox"]),
        ("service=email_delivery&flagged=true", ["Relaywise"]),
        ("country=SG&status=proposed", ["Future Risk"]),
        ("country=US&status=active", ["Nimbus Hosting"]),
    ],
)
def test_list_filters(client, admin, register, query, expected):
    assert names(client, admin, query) == expected


def walk(client, headers, query: str, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        url = f"{URL}?limit={limit}&{query}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert len(body["items"]) <= limit
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50


@pytest.fixture
def many(create):
    """Twelve sub-processors, every third one flagged, services alternating."""
    ids = []
    for n in range(12):
        locations = [singapore()] if n % 3 == 0 else [{"country": "FR", "activity": "storage"}]
        service = "hosting" if n % 2 else "analytics"
        body = vendor(f"Vendor {n:02d}", *locations, service=service, effective_on="2025-01-01")
        ids.append(create(body)["id"])
    return ids


@pytest.mark.parametrize("limit", [1, 5, 100])
@pytest.mark.parametrize(
    "query", ["", "service=hosting", "flagged=true", "flagged=false", "country=SG"]
)
def test_cursor_pagination_has_no_duplicates_or_gaps(client, admin, many, query, limit):
    everything = [
        item["id"]
        for item in client.get(f"{URL}?limit=100&{query}", headers=admin).get_json()["items"]
    ]
    assert everything
    pages = walk(client, admin, query, limit)
    assert [sid for page in pages for sid in page] == everything
    assert all(len(page) == limit for page in pages[:-1])
    full_pages = max(1, -(-len(everything) // limit))
    if "flagged" in query:
        # A computed filter cannot tell that no match follows without scanning on, so the
        # walk may end with one empty page.
        assert pages[full_pages:] in ([], [[]])
    else:
        assert len(pages) == full_pages


def test_default_page_size_is_50(client, admin, create):
    for n in range(51):
        create(vendor(f"Bulk {n:02d}"))
    first = client.get(URL, headers=admin).get_json()
    assert len(first["items"]) == 50
    second = client.get(f"{URL}?cursor={first['next_cursor']}", headers=admin).get_json()
    assert [item["name"] for item in second["items"]] == ["Bulk 50"]
    assert second["next_cursor"] is None


def test_cursor_past_the_end_gives_an_empty_last_page(client, registry, admin, many):
    secret = db.cursor_secret(registry.db.connection())
    past = cursors.encode(secret, cursors.caller("admin"), "subprocessors.Subprocessors?", 999999)
    body = client.get(f"{URL}?cursor={past}", headers=admin).get_json()
    assert body == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("limit=101", "/limit"),
        ("limit=1000", "/limit"),
        ("limit=0", "/limit"),
        ("limit=-1", "/limit"),
        ("limit=ten", "/limit"),
        ("cursor=abc", "/cursor"),
        ("cursor=-1", "/cursor"),
        ("cursor=1.5", "/cursor"),
        ("cursor=" + "9" * 30, "/cursor"),
        ("cursor=12", "/cursor"),
        ("cursor=" + "A" * 23, "/cursor"),
        ("service=storage", "/service"),
        ("country=EL", "/country"),
        ("status=deleted", "/status"),
        ("flagged=maybe", "/flagged"),
    ],
)
def test_bad_list_arguments_are_422(client, admin, query, pointer):
    response = client.get(f"{URL}?{query}", headers=admin)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [(e["pointer"], e["location"]) for e in response.get_json()["errors"]] == [
        (pointer, "query")
    ]


def test_patch_needs_the_current_etag(client, admin, create):
    record = create(nimbus())
    url = f"{URL}/{record['id']}"
    first_etag = client.get(url, headers=admin).headers["ETag"]
    change = {"purpose": "Hosting of everything"}
    assert client.patch(url, json=change, headers=admin).status_code == 428
    stale = client.patch(url, json=change, headers={**admin, "If-Match": '"0123"'})
    assert stale.status_code == 412
    assert client.get(url, headers=admin).get_json()["version"] == 1

    done = client.patch(url, json=change, headers={**admin, "If-Match": first_etag})
    assert done.status_code == 200
    updated = done.get_json()
    assert updated["purpose"] == "Hosting of everything"
    assert updated["version"] == 2
    assert updated["name"] == record["name"]
    assert updated["locations"] == record["locations"]
    assert done.headers["ETag"] != first_etag
    assert client.get(url, headers=admin).headers["ETag"] == done.headers["ETag"]

    lost_update = client.patch(
        url, json={"purpose": "Overwritten"}, headers={**admin, "If-Match": first_etag}
    )
    assert lost_update.status_code == 412
    assert client.get(url, headers=admin).get_json()["purpose"] == "Hosting of everything"


def test_patch_replaces_locations_and_categories(client, admin, create, clock):
    record = create(nimbus())
    url = f"{URL}/{record['id']}"
    # Housekeeping (no new country, category or mechanism): in force at once.
    etag = client.get(url, headers=admin).headers["ETag"]
    fewer = {
        "locations": [{"country": "NL", "activity": "storage"}],
        "data_categories": ["user.contact.email"],
    }
    updated = client.patch(url, json=fewer, headers={**admin, "If-Match": etag}).get_json()
    assert updated["locations"] == fewer["locations"]
    assert updated["data_categories"] == fewer["data_categories"]
    assert updated["pending_change"] is None
    assert names(client, admin, "country=IN") == []
    # Material (a new country and category): announced, in force after the notice period.
    etag = client.get(url, headers=admin).headers["ETag"]
    changes = {
        "locations": [{"country": "SE", "activity": "backup"}],
        "data_categories": ["user.device.ip_address"],
    }
    response = client.patch(url, json=changes, headers={**admin, "If-Match": etag})
    assert response.status_code == 200
    announced = response.get_json()
    assert announced["locations"] == fewer["locations"]  # the current version stays
    assert announced["pending_change"]["changes"] == changes
    assert announced["pending_change"]["effective_on"] == days_from_today(30)
    assert announced["pending_change"]["objection_deadline"] == days_from_today(29)

    clock.today = TODAY + timedelta(days=30)  # no write: the change takes effect on its day
    read = client.get(url, headers=admin).get_json()
    assert read["locations"] == changes["locations"]
    assert read["data_categories"] == changes["data_categories"]
    assert [loc["country"] for loc in read["compliance"]["locations"]] == ["SE"]


def test_a_material_change_is_judged_from_its_own_day(client, admin, create):
    record = create(nimbus())
    url = f"{URL}/{record['id']}"
    etag = client.get(url, headers=admin).headers["ETag"]
    effective = days_from_today(38)
    changes = {"locations": [singapore()], "effective_on": effective}
    updated = client.patch(url, json=changes, headers={**admin, "If-Match": etag}).get_json()
    # The vendor stays active and compliant today: the change is pending until its day.
    assert updated["status"] == "active"
    assert updated["compliance"]["status"] == "compliant"
    assert updated["pending_change"]["effective_on"] == effective
    assert names(client, admin, "flagged=true") == []
    later = client.get(f"{url}/compliance?as_of={effective}", headers=admin).get_json()
    assert later["status"] == "flagged"
    assert [f["code"] for f in later["flags"]] == ["NO_SAFEGUARD"]
    day_before = days_from_today(37)
    before = client.get(f"{url}/compliance?as_of={day_before}", headers=admin).get_json()
    assert before["status"] == "compliant"


def test_delete_retires_and_keeps_the_record(client, admin, create, retire):
    record = create(nimbus())
    url = f"{URL}/{record['id']}"
    assert client.delete(url, headers=admin).status_code == 428
    assert client.delete(url, headers={**admin, "If-Match": '"old"'}).status_code == 412
    retired = retire(record["id"])
    assert retired["status"] == "retired"
    assert retired["retired_on"] == TODAY.isoformat()
    assert retired["version"] == 2
    read = client.get(url, headers=admin)
    assert read.status_code == 200
    assert read.get_json()["status"] == "retired"
    assert names(client, admin, "status=retired") == ["Nimbus Hosting"]

    again = client.delete(url, headers={**admin, "If-Match": read.headers["ETag"]})
    assert again.status_code == 409
    assert client.get(url, headers=admin).get_json()["version"] == 2


def test_a_retired_name_can_be_used_again(client, admin, create, retire, clock):
    old = create(nimbus())
    retire(old["id"])
    # Recorded as already in use only once the notice period has passed since (see
    # test_change_control_risk.py for the name coming back sooner).
    clock.today = TODAY + timedelta(days=31)
    new = create(nimbus())
    assert new["id"] != old["id"]
    assert new["status"] == "active"
    assert client.get(f"{URL}/{old['id']}", headers=admin).get_json()["status"] == "retired"
    assert names(client, admin, "status=active") == ["Nimbus Hosting"]


def test_a_retired_record_cannot_be_changed(client, admin, create, retire):
    record = create(nimbus())
    retire(record["id"])
    url = f"{URL}/{record['id']}"
    etag = client.get(url, headers=admin).headers["ETag"]
    response = client.patch(url, json={"purpose": "Back"}, headers={**admin, "If-Match": etag})
    assert response.status_code == 409
    assert client.get(url, headers=admin).get_json()["purpose"] == record["purpose"]


def test_conditional_get_answers_304_with_the_etag(client, admin, create):
    record = create(nimbus())
    url = f"{URL}/{record['id']}"
    etag = client.get(url, headers=admin).headers["ETag"]
    response = client.get(url, headers={**admin, "If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["ETag"] == etag
    assert response.get_data() == b""


def compliance_of(client, headers, sid: str, query: str = "") -> dict:
    response = client.get(f"{URL}/{sid}/compliance?{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def error_codes(verdict: dict) -> dict[str, list[str]]:
    codes: dict[str, list[str]] = {}
    for flag in verdict["flags"]:
        if flag["severity"] == "error":
            codes.setdefault(flag["country"], []).append(flag["code"])
    return codes


def test_compliance_today_matches_the_record(client, admin, create):
    record = create(nimbus())
    assert compliance_of(client, admin, record["id"]) == record["compliance"]


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("", {}),
        pytest.param(f"as_of={TODAY}", {}, id="as_of=today"),
        # No US decision in force in 2022, and the SCCs were signed in 2024.
        # The TIA (2024-02-20) is not made yet either: an error since rules 4.
        (
            "as_of=2022-01-01",
            {"US": ["ADEQUACY_NOT_IN_FORCE"], "IN": ["NO_SAFEGUARD", "TIA_MISSING"]},
        ),
        # Before the SCCs were signed and before the certification was checked.
        (
            "as_of=2024-02-01",
            {"US": ["ADEQUACY_CONDITION_UNMET"], "IN": ["NO_SAFEGUARD", "TIA_MISSING"]},
        ),
        ("as_of=2024-03-01", {"US": ["ADEQUACY_CONDITION_UNMET"]}),
        ("assume_ended=us-dpf-2023", {"US": ["ADEQUACY_NOT_IN_FORCE"]}),
        ("assume_ended=gb-2025", {"GB": ["NO_SAFEGUARD"]}),
        ("assume_ended=gb-2021", {}),  # today GB relies on its renewal, gb-2025
        (
            "assume_ended=us-dpf-2023&assume_ended=gb-2025",
            {"US": ["ADEQUACY_NOT_IN_FORCE"], "GB": ["NO_SAFEGUARD"]},
        ),
        ("assume_ended=jp-2019", {}),
    ],
)
def test_compliance_on_a_date_and_what_if(client, admin, create, query, codes):
    body = nimbus()
    body["locations"].append({"country": "GB", "activity": "backup"})
    record = create(body)
    verdict = compliance_of(client, admin, record["id"], query)
    assert error_codes(verdict) == codes
    assert verdict["status"] == ("flagged" if codes else "compliant")
    as_of = dict(part.split("=") for part in query.split("&") if part.startswith("as_of"))
    assert verdict["as_of"] == as_of.get("as_of", TODAY.isoformat())
    assumed = sorted(part.split("=")[1] for part in query.split("&") if part.startswith("assume"))
    assert verdict["assumed_ended"] == assumed
    # A what-if never changes the stored verdict.
    read = client.get(f"{URL}/{record['id']}", headers=admin).get_json()
    assert read["compliance"] == record["compliance"]


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("assume_ended=nope", "/assume_ended/0"),
        ("assume_ended=us-dpf-2023&assume_ended=nope", "/assume_ended/1"),
        ("as_of=yesterday", "/as_of"),
        ("as_of=2026-02-29", "/as_of"),
    ],
)
@pytest.mark.parametrize("path", ["{url}/{sid}/compliance", "/v1/compliance"])
def test_bad_compliance_arguments_are_422(client, admin, create, path, query, pointer):
    sid = create(nimbus())["id"]
    response = client.get(path.format(url=URL, sid=sid) + "?" + query, headers=admin)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert [(e["pointer"], e["location"]) for e in errors] == [(pointer, "query")]


def test_compliance_of_an_unknown_id_is_404(client, admin):
    assert client.get(f"{URL}/sp_nope/compliance", headers=admin).status_code == 404


def register_report(client, headers, query: str = "") -> dict:
    response = client.get(f"/v1/compliance?{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_register_report_today(client, admin, register):
    report = register_report(client, admin)
    assert report["as_of"] == TODAY.isoformat()
    assert report["assumed_ended"] == []
    assert report["summary"] == {
        "total": 4,
        "active": 2,
        "proposed": 2,
        "compliant": 2,
        "flagged": 2,
        "compliant_with_warnings": 1,
        "errors": 2,
        "warnings": 1,
        "notes": 0,
        "waived": 0,
        "non_compliant": 2,
        "active_flagged": 1,
        "by_flag": {"NO_SAFEGUARD": 2, "SCC_COPY_MISSING": 1},
    }
    flagged = [(item["id"], item["name"], item["status"]) for item in report["flagged"]]
    assert flagged == [
        (register["relay"], "Relaywise", "active"),
        (register["future"], "Future Risk", "proposed"),
    ]
    assert all(item["compliance"]["status"] == "flagged" for item in report["flagged"])


def test_register_report_what_if_a_decision_fell(client, admin, register):
    report = register_report(client, admin, "assume_ended=us-dpf-2023")
    assert report["assumed_ended"] == ["us-dpf-2023"]
    assert report["summary"]["active_flagged"] == 2
    assert report["summary"]["by_flag"]["ADEQUACY_NOT_IN_FORCE"] == 1
    assert register["nimbus"] in [item["id"] for item in report["flagged"]]


def test_register_report_in_the_past_includes_later_retired(client, admin, register):
    report = register_report(client, admin, "as_of=2022-01-01")
    assert report["as_of"] == "2022-01-01"
    assert report["summary"]["total"] == 5
    assert report["summary"]["active"] == 1
    flagged = {item["name"]: item["status"] for item in report["flagged"]}
    assert flagged["Oldbox"] == "active"
    assert report["summary"]["active_flagged"] == 1


def test_register_report_of_an_empty_register(client, admin):
    report = register_report(client, admin)
    assert report["summary"]["total"] == 0
    assert report["flagged"] == []


def with_location(location: dict) -> dict:
    return vendor("Checked", NL, location)


LAW_VIOLATIONS = [
    (
        {
            "country": "US",
            "activity": "storage",
            "safeguard": {"mechanism": "adequacy", "adequacy_decision": "jp-2019"},
        },
        "/locations/1/safeguard/adequacy_decision",
    ),
    (
        {
            "country": "GB",
            "activity": "storage",
            "safeguard": {"mechanism": "adequacy", "adequacy_decision": "us-dpf-2023"},
        },
        "/locations/1/safeguard/adequacy_decision",
    ),
    (
        {
            "country": "US",
            "activity": "storage",
            "safeguard": {"mechanism": "adequacy", "adequacy_decision": "us-2099"},
        },
        "/locations/1/safeguard/adequacy_decision",
    ),
    (scc("US", scc_version="2019/1"), "/locations/1/safeguard/scc_version"),
    (scc("US", scc_module=None), "/locations/1/safeguard/scc_module"),
    (
        scc("US", scc_version="2010/87/EU", signed_on="2020-01-01"),
        "/locations/1/safeguard/scc_module",
    ),
    (scc("US", approved_on="2024-01-01"), "/locations/1/safeguard/approved_on"),
    (scc("US", derogation="explicit_consent"), "/locations/1/safeguard/derogation"),
    (scc("US", signed_on=None), "/locations/1/safeguard/signed_on"),
    (
        {
            "country": "US",
            "activity": "storage",
            "safeguard": {"mechanism": "adequacy", "scc_version": "2021/914"},
        },
        "/locations/1/safeguard/scc_version",
    ),
    (
        {
            "country": "US",
            "activity": "storage",
            "safeguard": {
                "mechanism": "bcr",
                "approved_on": "2020-01-01",
                "signed_on": "2020-01-01",
            },
        },
        "/locations/1/safeguard/signed_on",
    ),
    (
        {"country": "US", "activity": "storage", "safeguard": {"mechanism": "bcr"}},
        "/locations/1/safeguard/approved_on",
    ),
    (
        {
            "country": "US",
            "activity": "storage",
            "safeguard": {
                "mechanism": "derogation",
                "derogation": "explicit_consent",
                "tia_completed_on": "2024-01-01",
            },
        },
        "/locations/1/safeguard/tia_completed_on",
    ),
    (
        {
            "country": "US",
            "activity": "storage",
            "safeguard": {"mechanism": "derogation", "derogation": "convenience"},
        },
        "/locations/1/safeguard/derogation",
    ),
    (NL, "/locations/1/activity"),
]


def _drop_nulls(location: dict) -> dict:
    safeguard = location.get("safeguard")
    if safeguard:
        location = {**location, "safeguard": {k: v for k, v in safeguard.items() if v is not None}}
    return location


@pytest.mark.parametrize(
    ("location", "pointer"), LAW_VIOLATIONS, ids=[p for _, p in LAW_VIOLATIONS]
)
def test_locations_are_checked_against_the_law(client, admin, create, location, pointer):
    body = with_location(_drop_nulls(location))
    response = client.post(URL, json=body, headers=admin)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert [e["pointer"] for e in response.get_json()["errors"]] == [pointer]

    existing = create(vendor("Existing"))
    url = f"{URL}/{existing['id']}"
    etag = client.get(url, headers=admin).headers["ETag"]
    patch = client.patch(
        url, json={"locations": body["locations"]}, headers={**admin, "If-Match": etag}
    )
    assert patch.status_code == 422
    assert [e["pointer"] for e in patch.get_json()["errors"]] == [pointer]
    assert client.get(url, headers=admin).get_json()["version"] == 1


@pytest.mark.parametrize(
    ("categories", "pointer"),
    [
        (["user.contact.email", "user.contact.fax"], "/data_categories/1"),
        (
            ["user.contact.email", "user", "system.operations", "customer.email"],
            "/data_categories/3",
        ),
        (["user.contact.email", "user.contact.email"], "/data_categories"),
    ],
)
def test_data_categories_must_be_known_and_distinct(client, admin, categories, pointer):
    body = vendor("Checked", data_categories=categories)
    response = client.post(URL, json=body, headers=admin)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.get_json()["errors"]] == [pointer]


def test_the_same_country_for_different_activities_is_fine(create):
    record = create(
        vendor(
            "Two activities",
            NL,
            {"country": "NL", "activity": "backup"},
        )
    )
    assert len(record["locations"]) == 2


def test_every_mechanism_can_be_recorded(create):
    record = create(
        vendor(
            "All mechanisms",
            certified_us(),
            scc("IN"),
            {
                "country": "BR",
                "activity": "processing",
                "safeguard": {
                    "mechanism": "adequacy",
                    "adequacy_decision": "br-2026",
                    "scope_attestations": {"lgpd_applies": True},
                },
            },
            bcr("SG"),
            {
                "country": "MX",
                "activity": "processing",
                # Not explicit consent: a processor cannot rely on it (rules 4).
                "safeguard": {"mechanism": "derogation", "derogation": "vital_interests"},
            },
            effective_on="2025-01-01",
        )
    )
    mechanisms = [loc["mechanism"] for loc in record["compliance"]["locations"]]
    assert mechanisms == ["adequacy", "scc", "adequacy", "bcr", "derogation"]
    assert record["compliance"]["status"] == "compliant"
    # br-2026's wording is not yet verified against the Official Journal: a note says so.
    brazil = [] if load_law().decision("br-2026").verified else ["LAW_UNVERIFIED"]
    assert [n["code"] for n in record["compliance"]["notes"]] == brazil
    assert [f["code"] for f in record["compliance"]["flags"]] == [
        "SCC_COPY_MISSING",
        "BCR_COPY_MISSING",
        "DEROGATION_RELIED_ON",
    ]
