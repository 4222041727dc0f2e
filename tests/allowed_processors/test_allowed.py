"""GET /v1/allowed-processors: who may receive what today, its filters, ETag/304 and freshness."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import (
    IN_WITHOUT_TIA,
    NL,
    TODAY,
    US,
    certified_us,
    days_from_today,
    nimbus,
    us_adequacy,
)

URL = "/v1/allowed-processors"
PROCESSOR_FIELDS = {"id", "name", "service", "countries", "data_categories"}


@pytest.fixture
def create(client, as_role):
    """POST a sub-processor as procurement; returns the created representation."""

    def post(**overrides) -> dict:
        response = client.post(
            "/v1/subprocessors", json=nimbus(**overrides), headers=as_role("procurement")
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return post


@pytest.fixture
def allowed(client, as_role):
    """GET the allowed processors as a service, asserting 200; returns the response."""

    def get(headers: dict | None = None, **params):
        response = client.get(
            URL, query_string=params, headers=as_role("service", **(headers or {}))
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    return get


def ids(response) -> list[str]:
    return [p["id"] for p in response.get_json()["processors"]]


def etag_of(response) -> str:
    return response.headers["ETag"]


def patch(client, as_role, subprocessor_id: str, changes: dict) -> dict:
    current = client.get(f"/v1/subprocessors/{subprocessor_id}", headers=as_role("procurement"))
    response = client.patch(
        f"/v1/subprocessors/{subprocessor_id}",
        json=changes,
        headers=as_role("procurement", **{"If-Match": current.headers["ETag"]}),
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def retire(client, as_role, subprocessor_id: str) -> dict:
    current = client.get(f"/v1/subprocessors/{subprocessor_id}", headers=as_role("procurement"))
    response = client.delete(
        f"/v1/subprocessors/{subprocessor_id}",
        headers=as_role("procurement", **{"If-Match": current.headers["ETag"]}),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "retired"
    return response.get_json()


def flag_codes(record: dict) -> set[str]:
    return {flag["code"] for flag in record["compliance"]["flags"]}


US_UNCERTIFIED = us_adequacy(certified=False, activity="storage")
IN_DEROGATION = {
    "country": "IN",
    "activity": "processing",
    "safeguard": {"mechanism": "derogation", "derogation": "vital_interests"},
}
# Under the processor role explicit consent is no basis (rules 4: DEROGATION_NOT_AVAILABLE).
IN_CONSENT = {
    **IN_DEROGATION,
    "safeguard": {**IN_DEROGATION["safeguard"], "derogation": "explicit_consent"},
}
# SCCs to the US without a TIA while the DPF applies: TIA_MISSING is a warning only.
US_WITHOUT_TIA = {**IN_WITHOUT_TIA, "country": "US"}


def test_lists_exactly_the_active_subprocessors_without_an_error_flag(
    create, allowed, client, as_role
):
    compliant = create(name="Compliant")
    proposed = create(name="Proposed", effective_on=(TODAY + timedelta(days=30)).isoformat())
    flagged = create(name="Flagged", locations=[NL, US_UNCERTIFIED])
    derogation = create(name="Derogation", locations=[NL, IN_DEROGATION])
    no_tia = create(name="No TIA", service="email_delivery", locations=[US_WITHOUT_TIA])
    # The errors rules 4 added keep a vendor out: SCCs to India with no TIA (Clause 14 of
    # 2021/914, C-311/18), explicit consent relied on by a processor (Art. 49(1)(a), 7(3)).
    india_no_tia = create(name="India No TIA", locations=[IN_WITHOUT_TIA])
    consent = create(name="Consent", locations=[NL, IN_CONSENT])
    retired = create(name="Retired")
    retire(client, as_role, retired["id"])

    assert proposed["status"] == "proposed" and proposed["compliance"]["status"] == "compliant"
    assert flagged["status"] == "active" and flagged["compliance"]["status"] == "flagged"
    assert derogation["compliance"]["status"] == "compliant"
    assert flag_codes(derogation) == {"DEROGATION_RELIED_ON"}
    assert no_tia["compliance"]["status"] == "compliant"
    assert flag_codes(no_tia) == {"TIA_MISSING", "SCC_COPY_MISSING"}
    assert india_no_tia["compliance"]["status"] == "flagged"
    assert "TIA_MISSING" in flag_codes(india_no_tia)
    assert consent["compliance"]["status"] == "flagged"
    assert flag_codes(consent) == {"DEROGATION_NOT_AVAILABLE"}

    response = allowed()
    body = response.get_json()
    assert response.mimetype == "application/json"
    assert set(body) == {"revision", "as_of", "processors"}
    assert body["as_of"] == TODAY.isoformat()
    health = client.get("/v1/health").get_json()
    assert body["revision"] == health["revision"]
    assert [p["id"] for p in body["processors"]] == [
        compliant["id"],
        derogation["id"],
        no_tia["id"],
    ]
    assert body["processors"][0] == {
        "id": compliant["id"],
        "name": "Compliant",
        "service": "hosting",
        "countries": ["IN", "NL", "US"],
        "data_categories": nimbus()["data_categories"],
    }
    assert body["processors"][2] == {
        "id": no_tia["id"],
        "name": "No TIA",
        "service": "email_delivery",
        "countries": ["US"],
        "data_categories": nimbus()["data_categories"],
    }
    assert all(set(p) == PROCESSOR_FIELDS for p in body["processors"])


def test_an_empty_register_allows_nothing(allowed):
    body = allowed().get_json()
    assert body["processors"] == []
    assert body["as_of"] == TODAY.isoformat()
    assert isinstance(body["revision"], int)


@pytest.mark.parametrize(
    ("declared", "requested", "expected"),
    [
        ("user.contact", "user.contact", True),
        ("user.contact", "user.contact.email", True),
        ("user.contact", "user.contact.address.city", True),
        ("user", "user.device.ip_address", True),
        ("user.contact.email", "user.contact.email", True),
        ("user.contact.email", "user.contact", False),
        ("user.contact.email", "user", False),
        ("user.contact", "user.device.ip_address", False),
        ("user.contact.email", "user.contact.phone_number", False),
    ],
)
def test_data_category_matches_the_declared_category_or_a_descendant(
    create, allowed, declared, requested, expected
):
    record = create(data_categories=[declared])
    assert (record["id"] in ids(allowed(data_category=requested))) is expected


def test_data_category_matches_any_of_several_declared_categories(create, allowed):
    record = create(data_categories=["user.account.username", "user.device"])
    assert ids(allowed(data_category="user.device.ip_address")) == [record["id"]]
    assert ids(allowed(data_category="user.account.username")) == [record["id"]]
    assert ids(allowed(data_category="user.account")) == []


def test_repeated_data_categories_must_all_be_allowed(create, allowed):
    contact = create(name="Contact", data_categories=["user.contact"])
    both = create(name="Both", data_categories=["user.contact.email", "user.device"])
    device = create(name="Device", data_categories=["user.device.ip_address"])
    payload = ["user.contact.email", "user.device.ip_address"]
    assert ids(allowed(data_category=payload)) == [both["id"]]
    assert ids(allowed(data_category=list(reversed(payload)))) == [both["id"]]
    assert ids(allowed(data_category=["user.contact.email", "user.contact.email"])) == [
        contact["id"],
        both["id"],
    ]
    assert ids(allowed(data_category=["user.device.ip_address"])) == [both["id"], device["id"]]
    # The same question asked in another order is the same answer, with the same ETag.
    assert etag_of(allowed(data_category=payload)) == etag_of(
        allowed(data_category=list(reversed(payload)))
    )


def test_service_and_country_filters(create, allowed):
    hosting = create(name="Hosting", service="hosting", locations=[NL, IN_DEROGATION])
    mail = create(name="Mail", service="email_delivery", locations=[NL])
    support = create(
        name="Support",
        service="customer_support",
        locations=[{"country": "CA", "activity": "remote_access"}],
    )

    assert ids(allowed(service="hosting")) == [hosting["id"]]
    assert ids(allowed(service="email_delivery")) == [mail["id"]]
    assert ids(allowed(service="payments")) == []
    assert ids(allowed(country="NL")) == [hosting["id"], mail["id"]]
    assert ids(allowed(country="IN")) == [hosting["id"]]
    assert ids(allowed(country="CA")) == [support["id"]]
    assert ids(allowed(country="DE")) == []
    assert ids(allowed(country="NL", service="email_delivery")) == [mail["id"]]
    assert ids(allowed(country="IN", service="email_delivery")) == []
    assert ids(allowed(country="NL", data_category="user.contact.email", service="hosting")) == [
        hosting["id"]
    ]


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"data_category": "user.shoe_size"}, "/data_category/0"),
        ({"data_category": ""}, "/data_category/0"),
        ({"service": "catering"}, "/service"),
        ({"country": "XX"}, "/country"),
        ({"country": "nl"}, "/country"),
        ({"category": "user.contact.email"}, "/category"),
        ({"as_of": "2026-01-01"}, "/as_of"),
        ({"service": ["hosting", "other"]}, "/service"),
        ({"data_category": ["user.contact.email", "user.shoe_size"]}, "/data_category/1"),
        ({"data_category": ["user.contact.email"] * 21}, "/data_category"),
    ],
)
def test_invalid_parameters_are_422_problems_with_a_pointer(client, as_role, params, pointer):
    response = client.get(URL, query_string=params, headers=as_role("service"))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 422
    assert {"type", "title", "detail"} <= set(problem)
    assert pointer in [error["pointer"] for error in problem["errors"]]
    assert "ETag" not in response.headers


def test_strong_etag_and_conditional_get(create, allowed, client, as_role):
    create()
    response = allowed()
    etag = etag_of(response)
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert etag_of(allowed()) == etag

    for validator in (etag, "*", f'"other", {etag}', f"W/{etag}"):
        again = client.get(URL, headers=as_role("service", **{"If-None-Match": validator}))
        assert again.status_code == 304, validator
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == "private, no-cache"
        assert again.get_data() == b""

    stale = client.get(URL, headers=as_role("service", **{"If-None-Match": '"not-it"'}))
    assert stale.status_code == 200
    assert stale.get_data() == response.get_data()
    assert etag_of(stale) == etag


def test_each_answer_has_its_own_etag(create, allowed, client, as_role):
    create(name="Hosting", service="hosting")
    create(name="Mail", service="email_delivery")
    hosting = allowed(service="hosting")
    mail = allowed(service="email_delivery")
    assert etag_of(hosting) != etag_of(mail)
    crossed = client.get(
        URL,
        query_string={"service": "email_delivery"},
        headers=as_role("service", **{"If-None-Match": etag_of(hosting)}),
    )
    assert crossed.status_code == 200
    assert ids(crossed) == ids(mail)


def _write_create(client, as_role, create, existing):
    added = create(name="Added", service="email_delivery", locations=[NL])
    return lambda body: added["id"] in [p["id"] for p in body["processors"]]


def _write_patch(client, as_role, create, existing):
    patch(client, as_role, existing["id"], {"service": "analytics"})  # housekeeping: at once
    return lambda body: [p["service"] for p in body["processors"]] == ["analytics"]


def _write_retire(client, as_role, create, existing):
    retire(client, as_role, existing["id"])
    return lambda body: body["processors"] == []


@pytest.mark.parametrize(
    "write", [_write_create, _write_patch, _write_retire], ids=["create", "patch", "retire"]
)
def test_every_write_changes_the_etag_and_the_answer(create, allowed, client, as_role, write):
    existing = create()
    before = allowed()
    old_etag = etag_of(before)

    reflected = write(client, as_role, create, existing)

    after = client.get(URL, headers=as_role("service", **{"If-None-Match": old_etag}))
    assert after.status_code == 200
    body = after.get_json()
    assert etag_of(after) != old_etag
    assert body["revision"] > before.get_json()["revision"]
    assert reflected(body)
    assert (
        client.get(URL, headers=as_role("service", **{"If-None-Match": etag_of(after)})).status_code
        == 304
    )


def test_a_write_that_leaves_the_answer_alone_still_answers_correctly(
    create, allowed, client, as_role
):
    kept = create(name="Kept")
    before = allowed().get_json()
    before_mail = allowed(service="email_delivery")

    proposed = create(name="Later", effective_on=(TODAY + timedelta(days=30)).isoformat())
    patch(client, as_role, kept["id"], {"purpose": "Hosting of everything"})
    flagged = create(name="Flagged", locations=[US_UNCERTIFIED])
    retire(client, as_role, flagged["id"])

    after = allowed()
    body = after.get_json()
    assert body["revision"] == before["revision"] + 4
    assert body["processors"] == before["processors"]
    assert proposed["id"] not in ids(after)

    mail = client.get(
        URL,
        query_string={"service": "email_delivery"},
        headers=as_role("service", **{"If-None-Match": etag_of(before_mail)}),
    )
    assert mail.status_code == 200
    assert mail.get_json()["processors"] == []
    assert mail.get_json()["revision"] == body["revision"]


def test_patches_that_change_the_verdict_or_categories_change_the_answer(
    create, allowed, client, as_role, clock
):
    record = create(data_categories=["user.contact.email"])
    assert ids(allowed(data_category="user.contact.email")) == [record["id"]]

    # A new data category is material: announced, in force after the notice period.
    changed = patch(client, as_role, record["id"], {"data_categories": ["user.device.ip_address"]})
    effective = changed["pending_change"]["effective_on"]
    assert effective == (TODAY + timedelta(days=30)).isoformat()
    assert ids(allowed(data_category="user.contact.email")) == [record["id"]]
    assert ids(allowed(data_category="user.device.ip_address")) == []
    clock.today = date.fromisoformat(effective)  # no write: the day comes
    assert ids(allowed(data_category="user.contact.email")) == []
    assert ids(allowed(data_category="user.device.ip_address")) == [record["id"]]

    # A new transfer (US storage) with an unmet condition: material, so in force (and the
    # processor out) only when its notice has run.
    changed = patch(client, as_role, record["id"], {"locations": [NL, US_UNCERTIFIED]})
    assert ids(allowed()) == [record["id"]]
    clock.today = date.fromisoformat(changed["pending_change"]["effective_on"])
    assert ids(allowed()) == []

    # Certifying it is a remedy: in force at once (NL dropped, housekeeping).
    certified = certified_us(activity="storage", checked_on=days_from_today(-176))
    patch(client, as_role, record["id"], {"locations": [certified]})
    body = allowed().get_json()
    assert [p["id"] for p in body["processors"]] == [record["id"]]
    assert body["processors"][0]["countries"] == ["US"]

    patch(
        client,
        as_role,
        record["id"],
        {"effective_on": (clock.today + timedelta(days=1)).isoformat()},
    )
    assert ids(allowed()) == []


def test_a_proposed_subprocessor_becomes_allowed_when_its_day_comes(create, allowed, clock):
    start = TODAY + timedelta(days=30)  # the notice period
    record = create(effective_on=start.isoformat())
    assert record["status"] == "proposed"
    assert ids(allowed()) == []

    clock.today = start - timedelta(days=1)
    day_before = allowed()
    assert ids(day_before) == []
    assert day_before.get_json()["as_of"] == clock.today.isoformat()

    clock.today = start
    on_the_day = allowed()
    assert ids(on_the_day) == [record["id"]]
    assert on_the_day.get_json()["as_of"] == start.isoformat()
    assert on_the_day.get_json()["revision"] == day_before.get_json()["revision"]
    assert etag_of(on_the_day) != etag_of(day_before)


def test_a_new_day_invalidates_an_etag_even_without_writes(create, allowed, client, as_role, clock):
    create()
    etag = etag_of(allowed())
    clock.today = TODAY + timedelta(days=1)
    response = client.get(URL, headers=as_role("service", **{"If-None-Match": etag}))
    assert response.status_code == 200
    assert response.get_json()["as_of"] == clock.today.isoformat()


def test_a_stale_certification_check_warns_but_stays_allowed(
    create, allowed, client, as_role, clock
):
    record = create(locations=[NL, US])
    assert ids(allowed()) == [record["id"]]

    checked = date.fromisoformat(US["safeguard"]["certification_checked_on"])
    for age, stale in ((365, False), (366, True)):
        clock.today = checked + timedelta(days=age)
        current = client.get(
            f"/v1/subprocessors/{record['id']}", headers=as_role("procurement")
        ).get_json()
        assert current["compliance"]["status"] == "compliant"
        assert ("CERTIFICATION_CHECK_STALE" in flag_codes(current)) is stale
        assert ids(allowed()) == [record["id"]]


@pytest.mark.parametrize(
    "gb",
    [
        {
            "country": "GB",
            "activity": "storage",
            "safeguard": {"mechanism": "adequacy", "adequacy_decision": "gb-2021"},
        },
        {"country": "GB", "activity": "storage", "safeguard": {"mechanism": "adequacy"}},
        {"country": "GB", "activity": "storage"},
    ],
    ids=["named-decision", "decision-in-force", "no-safeguard"],
)
def test_a_subprocessor_relying_on_an_expiring_decision_is_dropped_once_it_expired(
    create, allowed, client, as_role, clock, gb
):
    record = create(locations=[NL, gb])
    assert ids(allowed()) == [record["id"]]

    clock.today = date(2031, 12, 27)
    last_day = client.get(
        f"/v1/subprocessors/{record['id']}", headers=as_role("procurement")
    ).get_json()
    assert last_day["compliance"]["status"] == "compliant"
    assert "ADEQUACY_ENDING" in flag_codes(last_day)
    assert ids(allowed()) == [record["id"]]

    clock.today = date(2031, 12, 28)
    expired = client.get(
        f"/v1/subprocessors/{record['id']}", headers=as_role("procurement")
    ).get_json()
    assert expired["compliance"]["status"] == "flagged"
    assert ids(allowed()) == []
    assert ids(allowed(country="NL")) == []


@pytest.mark.parametrize("role", ["service", "procurement", "admin"])
def test_service_procurement_and_admin_may_ask(client, as_role, role):
    response = client.get(URL, headers=as_role(role))
    assert response.status_code == 200
    assert "processors" in response.get_json()


def test_a_customer_may_not_ask(client, as_role):
    response = client.get(URL, headers=as_role("customer_a"))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert "ETag" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer reg_unknown"}, {"Authorization": "Basic Zm9vOmJhcg=="}],
)
def test_asking_without_a_valid_token_is_401(client, headers):
    response = client.get(URL, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "ETag" not in response.headers
