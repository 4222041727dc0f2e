"""Art. 46(2)(a) GDPR (a legally binding and enforceable instrument between public authorities
or bodies) and the importer's certificate under an Art. 46(2)(f) certification (Art. 42(7)):
one dated case per rule, on both sides of each date that decides it, each with its source;
then the same through the API (validation with pointers, a record without the certificate's
date, what customers read) and the evidence falling due.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import NL, TODAY, URL, current_etag, days_from_today, pointers, vendor

from registry.compliance import evidence
from registry.compliance.engine import evaluate
from registry.law.loader import load_law


@pytest.fixture(scope="module")
def law():
    return load_law()


def day(text: str) -> date:
    return date.fromisoformat(text)


def record(*locations):
    return {
        "id": "sp-public",
        "name": "Acme Registry Office",
        "effective_on": "2000-01-01",
        "retired_on": None,
        "data_categories": ["user.contact.email"],
        "locations": list(locations),
        "onward_transfers": [],
    }


def at(country: str, **safeguard) -> dict:
    return {"country": country, "activity": "processing", "safeguard": safeguard}


def codes(result: dict) -> list[str]:
    return [f["code"] for f in result["flags"]]


def messages(result: dict) -> str:
    return " ".join(f["message"] for f in result["flags"])


# An assessment done long before every date below, so that only the rule under test decides.
TIA = {"tia_completed_on": "2016-01-04"}
INSTRUMENT = {
    "mechanism": "public_authority_instrument",
    "reference": "Agreement of 10 February 2026 between the two statistics offices",
    "concluded_on": "2026-02-10",
    "exporter_public_body": True,
    "importer_public_body": True,
    **TIA,
}
CERTIFICATION = {
    "mechanism": "certification",
    "reference": "Europrivacy transfer criteria, certificate 42",
    "approved_on": "2023-01-10",
    "binding_commitment_on": "2023-03-01",
    "certified_on": "2023-03-10",
    **TIA,
}


# --- Art. 46(2)(a): an instrument between public authorities or bodies ---


def test_an_instrument_between_public_bodies_counts_from_its_conclusion(law):
    # GDPR Art. 46(2): the safeguards "may be provided for, without requiring any specific
    # authorisation from a supervisory authority, by: (a) a legally binding and enforceable
    # instrument between public authorities or bodies"; EDPB Guidelines 2/2020 para. 60
    # ("without obtaining prior authorisation from a SA").
    before = evaluate(record(at("IN", **INSTRUMENT)), law, day("2026-02-09"))
    assert codes(before) == ["NO_SAFEGUARD"]
    assert "(concluded_on)" in messages(before) and "2026-02-10" in messages(before)
    on = evaluate(record(at("IN", **INSTRUMENT)), law, day("2026-02-10"))
    assert on["flags"] == [] and on["status"] == "compliant"
    assert on["locations"][0]["mechanism"] == "public_authority_instrument"


def test_an_instrument_without_its_conclusion_date_is_no_safeguard(law):
    safeguard = {k: v for k, v in INSTRUMENT.items() if k != "concluded_on"}
    result = evaluate(record(at("IN", **safeguard)), law, day("2026-11-24"))
    assert codes(result) == ["NO_SAFEGUARD"]
    assert "(concluded_on)" in messages(result)
    assert "no safeguard until that date is recorded" in messages(result)


@pytest.mark.parametrize(
    ("exporter", "importer", "named"),
    [(True, False, "the importer"), (False, True, "the exporter"), (False, False, "and the")],
)
def test_an_instrument_is_no_safeguard_for_a_private_party(law, exporter, importer, named):
    # Art. 46(2)(a): "between public authorities or bodies"; EDPB Guidelines 2/2020 (not for
    # transfers from a public body to a private party or the reverse).
    safeguard = {**INSTRUMENT, "exporter_public_body": exporter, "importer_public_body": importer}
    result = evaluate(record(at("IN", **safeguard)), law, day("2026-11-24"))
    assert codes(result) == ["NO_SAFEGUARD"]
    assert "only between public authorities or bodies" in messages(result)
    assert named in messages(result)


def test_an_instrument_counts_only_once_the_gdpr_applied(law):
    # GDPR Art. 99(2): applies from 25 May 2018. Art. 46(2)(a) is a GDPR tool; under
    # Directive 95/46/EC, Art. 26(2), such a transfer needed a Member State's authorisation.
    # An instrument concluded before that day counts from it.
    early = {**INSTRUMENT, "concluded_on": "2016-04-27"}
    before = evaluate(record(at("IN", **early)), law, day("2018-05-24"))
    assert codes(before) == ["NO_SAFEGUARD"]
    assert "2018-05-25" in messages(before) and "Directive 95/46/EC" in messages(before)
    assert evaluate(record(at("IN", **early)), law, day("2018-05-25"))["flags"] == []


def test_an_instrument_needs_a_transfer_impact_assessment(law):
    # transfer-law.md section 8: each Art. 46 tool needs a TIA (EDPB Recommendations 01/2020,
    # CJEU C-311/18 paras 134-135).
    without = {k: v for k, v in INSTRUMENT.items() if k != "tia_completed_on"}
    assert codes(evaluate(record(at("IN", **without)), law, day("2026-11-24"))) == ["TIA_MISSING"]
    late = {**INSTRUMENT, "tia_completed_on": "2026-11-25"}
    assert codes(evaluate(record(at("IN", **late)), law, day("2026-11-24"))) == ["TIA_MISSING"]
    done = {**INSTRUMENT, "tia_completed_on": "2026-11-24"}
    assert evaluate(record(at("IN", **done)), law, day("2026-11-24"))["flags"] == []


# --- Art. 42(7): the importer's certificate, three years at most ---


def test_a_certificate_counts_three_years_from_its_issue(law):
    # GDPR Art. 42(7): "Certification shall be issued to a controller or processor for a
    # maximum period of three years and may be renewed". Issued 2023-03-10: it counts up to,
    # not including, 2026-03-10.
    last = evaluate(record(at("IN", **CERTIFICATION)), law, day("2026-03-09"))
    assert last["flags"] == []
    out = evaluate(record(at("IN", **CERTIFICATION)), law, day("2026-03-10"))
    assert codes(out) == ["NO_SAFEGUARD"]
    assert "no longer counts from 2026-03-10" in messages(out)
    assert "three years" in messages(out) and "(certified_on" in messages(out)
    # Renewed (Art. 42(7)): the new certificate counts from its own issue.
    renewed = {**CERTIFICATION, "certified_on": "2026-03-10"}
    assert evaluate(record(at("IN", **renewed)), law, day("2026-03-10"))["flags"] == []


def test_a_certificate_issued_on_29_february_ends_on_28_february(law):
    # Art. 42(7) GDPR; no 29 February in 2027: the period ends with that month (as Regulation
    # (EEC, Euratom) No 1182/71, Art. 3(2)(c), ends a period in years whose day is missing).
    leap = {**CERTIFICATION, "certified_on": "2024-02-29"}
    assert evaluate(record(at("IN", **leap)), law, day("2027-02-27"))["flags"] == []
    out = evaluate(record(at("IN", **leap)), law, day("2027-02-28"))
    assert codes(out) == ["NO_SAFEGUARD"] and "2027-02-28" in messages(out)


def test_a_certificate_expires_earlier_if_it_says_so_and_never_later(law):
    # Art. 42(7): "a maximum period" - a certificate may be issued for less, or withdrawn;
    # an expiry recorded beyond three years does not lengthen it.
    short = {**CERTIFICATION, "certificate_expires_on": "2025-06-01"}
    assert evaluate(record(at("IN", **short)), law, day("2025-05-31"))["flags"] == []
    out = evaluate(record(at("IN", **short)), law, day("2025-06-01"))
    assert codes(out) == ["NO_SAFEGUARD"]
    assert "no longer counts from 2025-06-01" in messages(out)
    assert "(certificate_expires_on)" in messages(out)
    long = {**CERTIFICATION, "certificate_expires_on": "2027-03-10"}
    assert codes(evaluate(record(at("IN", **long)), law, day("2026-03-10"))) == ["NO_SAFEGUARD"]


def test_a_certificate_counts_from_its_issue_and_not_before_the_approval(law):
    # Art. 42(5): a certification is issued on the basis of approved criteria.
    future = {**CERTIFICATION, "certified_on": "2023-04-03"}
    before = evaluate(record(at("IN", **future)), law, day("2023-04-02"))
    assert codes(before) == ["NO_SAFEGUARD"] and "(certified_on)" in messages(before)
    assert evaluate(record(at("IN", **future)), law, day("2023-04-03"))["flags"] == []
    unapproved = {**CERTIFICATION, "certified_on": "2023-01-09"}
    result = evaluate(record(at("IN", **unapproved)), law, day("2024-01-09"))
    assert codes(result) == ["NO_SAFEGUARD"]
    assert "before the mechanism's approval on 2023-01-10" in messages(result)
    on_approval = {**CERTIFICATION, "certified_on": "2023-01-10"}
    assert evaluate(record(at("IN", **on_approval)), law, day("2024-01-09"))["flags"] == []


def test_a_certification_without_the_certificate_date_is_no_safeguard(law):
    # A record kept before certified_on existed is judged the same: Art. 42(7) cannot be
    # checked without the issue date, so the transfer has no safeguard until it is recorded.
    safeguard = {k: v for k, v in CERTIFICATION.items() if k != "certified_on"}
    result = evaluate(record(at("IN", **safeguard)), law, day("2024-01-09"))
    assert codes(result) == ["NO_SAFEGUARD"]
    assert "(certified_on)" in messages(result)
    assert "no safeguard until that date is recorded" in messages(result)


# --- Through the API ---

BAD = {
    "instrument-with-authorised-on": (
        {**INSTRUMENT, "authorised_on": "2026-01-01"},
        "authorised_on",
    ),
    "instrument-without-exporter": (
        {k: v for k, v in INSTRUMENT.items() if k != "exporter_public_body"},
        "exporter_public_body",
    ),
    "instrument-public-body-as-text": (
        {**INSTRUMENT, "importer_public_body": "yes"},
        "importer_public_body",
    ),
    "certification-with-concluded-on": (
        {**CERTIFICATION, "concluded_on": "2023-01-01"},
        "concluded_on",
    ),
    "expiry-on-issue": (
        {**CERTIFICATION, "certificate_expires_on": "2023-03-10"},
        "certificate_expires_on",
    ),
    "expiry-not-a-date": (
        {**CERTIFICATION, "certificate_expires_on": "2026-02-30"},
        "certificate_expires_on",
    ),
    "certificate-on-a-code": (
        {
            "mechanism": "code_of_conduct",
            "reference": "Cloud Code",
            "certified_on": "2023-03-10",
        },
        "certified_on",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_safeguard_is_refused_with_a_pointer(client, staff, case):
    safeguard, field = BAD[case]
    body = vendor(
        "Acme Registry Office",
        {"country": "IN", "activity": "processing", "safeguard": safeguard},
        effective_on="2025-01-01",
    )
    response = client.post(URL, json=body, headers=staff)
    assert pointers(response) == [f"/locations/0/safeguard/{field}"]


def test_the_new_safeguards_through_the_api(client, staff, as_role):
    body = vendor(
        "Acme Registry Office",
        NL,
        {"country": "IN", "activity": "processing", "safeguard": INSTRUMENT},
        {"country": "CN", "activity": "storage", "safeguard": CERTIFICATION},
        effective_on="2025-01-01",
    )
    response = client.post(URL, json=body, headers=staff)
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert created["locations"][1]["safeguard"] == INSTRUMENT
    # Issued 2023-03-10: no longer counts on the registry's today (2026-11-24, or later).
    (flag,) = created["compliance"]["flags"]
    assert (flag["code"], flag["country"]) == ("NO_SAFEGUARD", "CN")
    assert "no longer counts from 2026-03-10" in flag["message"]
    # Renewed a month ago, for two years: recorded, the transfer is covered again.
    renewed = {
        **CERTIFICATION,
        "certified_on": days_from_today(-30),
        "certificate_expires_on": days_from_today(700),
    }
    locations = [*created["locations"][:2], {**created["locations"][2], "safeguard": renewed}]
    headers = {**staff, "If-Match": current_etag(client, staff, created["id"])}
    response = client.patch(
        f"{URL}/{created['id']}", json={"locations": locations}, headers=headers
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    current = client.get(f"{URL}/{created['id']}", headers=staff).get_json()
    assert current["compliance"]["flags"] == [] and current["compliance"]["status"] == "compliant"
    # Customers read the instrument and its reference, never the staff's dates or attestations.
    seen = client.get(f"{URL}/{created['id']}", headers=as_role("customer_a")).get_json()
    fact = seen["locations"][1]
    assert fact["mechanism"] == "public_authority_instrument"
    assert fact["relied_on"]["kind"] == "public_authority_instrument"
    assert fact["relied_on"]["id"] == INSTRUMENT["reference"]
    text = str(seen)
    for staff_only in ("concluded_on", "public_body", "certified_on", "certificate_expires_on"):
        assert staff_only not in text


def test_a_certification_stored_without_the_certificate_date_is_judged_not_refused(client, staff):
    # certified_on is not required: a record written before it existed reads and updates as
    # before, and its verdict names the missing date.
    old = {k: v for k, v in CERTIFICATION.items() if k != "certified_on"}
    body = vendor(
        "Legacy Certified",
        {"country": "IN", "activity": "processing", "safeguard": old},
        effective_on="2025-01-01",
    )
    response = client.post(URL, json=body, headers=staff)
    assert response.status_code == 201, response.get_data(as_text=True)
    (flag,) = response.get_json()["compliance"]["flags"]
    assert flag["code"] == "NO_SAFEGUARD" and "(certified_on)" in flag["message"]
    listed = client.get(URL, headers=staff)
    assert listed.status_code == 200


# --- Evidence falling due ---


def certified(**safeguard) -> dict:
    return {
        "id": "sp_1",
        "name": "Nimbus",
        "effective_on": "2025-01-01",
        "retired_on": None,
        "locations": [NL, at("IN", **{**CERTIFICATION, **safeguard})],
        "onward_transfers": [],
    }


def three_years_before(text: str) -> str:
    due_on = date.fromisoformat(text)
    return due_on.replace(year=due_on.year - 3).isoformat()


def test_a_certificate_is_due_the_first_day_it_no_longer_counts():
    # Art. 42(7): due on the same calendar day three years after issue, or on its expiry.
    issued = three_years_before(days_from_today(30))
    (item,) = evidence.due([certified(certified_on=issued)], [], TODAY)
    assert (item["kind"], item["due_on"], item["country"]) == (
        "certificate_expiry",
        days_from_today(30),
        "IN",
    )
    assert item["item"] == "sp_1/IN/processing" and "Art. 42(7)" in item["message"]
    later = three_years_before(days_from_today(31))
    assert evidence.due([certified(certified_on=later)], [], TODAY) == []
    expiring = certified(certified_on=issued, certificate_expires_on=days_from_today(0))
    (item,) = evidence.due([expiring], [], TODAY)
    assert item["due_on"] == TODAY.isoformat()
    gone = certified(certified_on=issued, certificate_expires_on=days_from_today(-1))
    assert evidence.due([gone], [], TODAY) == []  # expired already: NO_SAFEGUARD
    assert evidence.due([certified(certified_on=None)], [], TODAY) == []
    code = certified(mechanism="code_of_conduct", certified_on=issued)
    assert evidence.due([code], [], TODAY) == []


def test_the_first_due_day_is_never_past_three_years():
    issued = (TODAY - timedelta(days=3 * 365)).isoformat()
    items = evidence.due(
        [certified(certified_on=issued, certificate_expires_on="2199-01-01")], [], TODAY
    )
    assert [i["kind"] for i in items] == ["certificate_expiry"]
