"""The rest of Art. 46 GDPR and transfers to international organisations, under the real
reference law (data/): one dated case per rule, on both sides of each date that decides it,
each with its source; then the same through the API (validation with pointers, the verdicts,
allowed-processors, what customers, the public page and the export show).
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from helpers import URL, days_from_today, pointers, vendor

from registry.compliance.engine import evaluate
from registry.law.loader import load_law

ALLOWED = "/v1/allowed-processors"
# The EPO decision, (EU) 2025/1382 of 15 July 2025: adopted 2025-07-15, in force from its
# notification on 2025-07-18 (data/adequacy-decisions.json, epo-2025).
EPO_ADOPTED = date(2025, 7, 15)
EPO_IN_FORCE = date(2025, 7, 18)


@pytest.fixture(scope="module")
def law():
    return load_law()


def day(text: str) -> date:
    return date.fromisoformat(text)


def record(*locations):
    return {
        "id": "sp-art46",
        "name": "Acme Filing",
        "effective_on": "2000-01-01",
        "retired_on": None,
        "data_categories": ["user.contact.email"],
        "locations": list(locations),
        "onward_transfers": [],
    }


def at(where: str, **safeguard) -> dict:
    """A processing location in a country (upper case) or at an organisation (its id)."""
    key = "country" if where.isupper() else "international_organisation"
    location = {key: where, "activity": "processing"}
    if safeguard:
        location["safeguard"] = safeguard
    return location


def flags(result: dict) -> list[tuple[str, str]]:
    return [(f["code"], f["message"]) for f in result["flags"]]


def codes(result: dict) -> list[str]:
    return [f["code"] for f in result["flags"]]


# An assessment done long before every date below, so that only the rule under test decides.
TIA = {"tia_completed_on": "2018-01-01"}
CODE = {
    "mechanism": "code_of_conduct",
    "reference": "Cloud Code of Conduct, third-country module",
    "approved_on": "2026-03-01",
    "binding_commitment_on": "2026-02-01",
    **TIA,
}
CERTIFICATION = {
    "mechanism": "certification",
    "reference": "Europrivacy transfer criteria, certificate 42",
    "approved_on": "2025-01-10",
    "binding_commitment_on": "2026-04-10",
    "certified_on": "2025-03-01",
    **TIA,
}


# --- Art. 46(2)(e): an approved code of conduct with the importer's commitments ---


def test_a_code_of_conduct_counts_from_its_approval_for_transfers(law):
    # GDPR Art. 46(2)(e) and Art. 40(3): a code approved (Art. 40(5)) with general validity
    # (Art. 40(9)) provides safeguards for transfers; before the approval it provides none.
    before = evaluate(record(at("IN", **CODE)), law, day("2026-02-28"))
    assert codes(before) == ["NO_SAFEGUARD"]
    assert "approved_on" in before["flags"][0]["message"]
    assert "2026-03-01" in before["flags"][0]["message"]
    on = evaluate(record(at("IN", **CODE)), law, day("2026-03-01"))
    assert on["flags"] == [] and on["status"] == "compliant"
    assert on["locations"][0]["mechanism"] == "code_of_conduct"


def test_a_code_of_conduct_without_an_approval_date_is_no_safeguard(law):
    # Art. 46(2)(e): "an approved code of conduct" - without an approval there is none.
    safeguard = {k: v for k, v in CODE.items() if k != "approved_on"}
    result = evaluate(record(at("IN", **safeguard)), law, day("2026-11-24"))
    ((code, message),) = flags(result)
    assert code == "NO_SAFEGUARD"
    assert "(approved_on)" in message and "no safeguard until that date is recorded" in message


def test_no_code_or_certification_was_approved_before_the_gdpr_applied(law):
    # GDPR Art. 99(2): it applies from 25 May 2018; codes (Art. 40) and certification
    # (Art. 42) as transfer tools exist only under it.
    early = {**CODE, "approved_on": "2018-05-24", "binding_commitment_on": "2018-06-01"}
    result = evaluate(record(at("IN", **early)), law, day("2026-11-24"))
    assert codes(result) == ["NO_SAFEGUARD"]
    assert "before the GDPR applied on 2018-05-25" in result["flags"][0]["message"]
    first_day = {**early, "approved_on": "2018-05-25"}
    assert evaluate(record(at("IN", **first_day)), law, day("2026-11-24"))["flags"] == []


# --- Art. 46(2)(f): an approved certification mechanism with the importer's commitments ---


def test_a_certification_counts_from_the_importers_binding_commitment(law):
    # GDPR Art. 46(2)(f) and Art. 42(2): the certification counts only together with the
    # importer's binding and enforceable commitments; before they are made it is no safeguard.
    before = evaluate(record(at("US", **CERTIFICATION)), law, day("2026-04-09"))
    assert codes(before) == ["NO_SAFEGUARD"]
    assert "binding_commitment_on" in before["flags"][0]["message"]
    on = evaluate(record(at("US", **CERTIFICATION)), law, day("2026-04-10"))
    assert on["flags"] == []


def test_a_certification_without_the_commitment_date_is_no_safeguard(law):
    safeguard = {k: v for k, v in CERTIFICATION.items() if k != "binding_commitment_on"}
    result = evaluate(record(at("US", **safeguard)), law, day("2026-11-24"))
    ((code, message),) = flags(result)
    assert code == "NO_SAFEGUARD" and "(binding_commitment_on)" in message


def test_a_certification_counts_from_the_mechanisms_approval(law):
    # Art. 42(5): the mechanism is approved by the competent supervisory authority (or the
    # Board); a commitment alone is no safeguard before that approval.
    late = {
        **CERTIFICATION,
        "approved_on": "2026-06-01",
        "binding_commitment_on": "2026-01-01",
        "certified_on": "2026-06-01",
    }
    before = evaluate(record(at("US", **late)), law, day("2026-05-31"))
    assert set(codes(before)) == {"NO_SAFEGUARD"}
    assert "(approved_on)" in before["flags"][0]["message"]
    assert evaluate(record(at("US", **late)), law, day("2026-06-01"))["flags"] == []


# --- Art. 46(3)(a): contractual clauses authorised by the supervisory authority ---


def test_ad_hoc_clauses_count_from_their_authorisation(law):
    # GDPR Art. 46(3)(a), with the consistency mechanism (Art. 46(4), 63, 64(1)(e)).
    clauses = {"mechanism": "ad_hoc_clauses", "authorised_on": "2026-09-15", **TIA}
    before = evaluate(record(at("IN", **clauses)), law, day("2026-09-14"))
    assert codes(before) == ["NO_SAFEGUARD"]
    assert "authorised_on" in before["flags"][0]["message"]
    assert evaluate(record(at("IN", **clauses)), law, day("2026-09-15"))["flags"] == []
    missing = evaluate(record(at("IN", mechanism="ad_hoc_clauses", **TIA)), law, day("2026-11-24"))
    assert (
        codes(missing) == ["NO_SAFEGUARD"] and "(authorised_on)" in missing["flags"][0]["message"]
    )


def test_clauses_authorised_under_the_directive_stay_valid(law):
    # GDPR Art. 46(5): authorisations under Art. 26(2) of Directive 95/46/EC remain valid
    # until amended, replaced or repealed: no floor at 2018-05-25 for authorised clauses.
    old = {"mechanism": "ad_hoc_clauses", "authorised_on": "2015-03-02", **TIA}
    assert evaluate(record(at("IN", **old)), law, day("2026-11-24"))["flags"] == []


# --- Art. 46(3)(b): administrative arrangements between public authorities or bodies ---

ARRANGEMENT = {
    "mechanism": "administrative_arrangement",
    "reference": "Memorandum of understanding 2026/7",
    "authorised_on": "2026-05-05",
    "exporter_public_body": True,
    "importer_public_body": True,
    **TIA,
}


def test_an_administrative_arrangement_counts_between_public_bodies_once_authorised(law):
    # GDPR Art. 46(3)(b); EDPB Guidelines 2/2020 (public authorities and bodies only).
    before = evaluate(record(at("IN", **ARRANGEMENT)), law, day("2026-05-04"))
    assert codes(before) == ["NO_SAFEGUARD"]
    assert evaluate(record(at("IN", **ARRANGEMENT)), law, day("2026-05-05"))["flags"] == []


@pytest.mark.parametrize(
    ("exporter", "importer", "named"),
    [(True, False, "the importer"), (False, True, "the exporter"), (False, False, "and the")],
)
def test_an_administrative_arrangement_is_no_safeguard_for_a_private_party(
    law, exporter, importer, named
):
    # Art. 46(3)(b): "between public authorities or bodies" - a company on either side
    # cannot rely on one.
    safeguard = {**ARRANGEMENT, "exporter_public_body": exporter, "importer_public_body": importer}
    result = evaluate(record(at("IN", **safeguard)), law, day("2026-11-24"))
    ((code, message),) = flags(result)
    assert code == "NO_SAFEGUARD"
    assert "only between public authorities or bodies" in message and named in message


# --- Each needs a transfer impact assessment, as SCCs do ---


@pytest.mark.parametrize(
    "safeguard", [CODE, CERTIFICATION, ARRANGEMENT], ids=lambda s: s["mechanism"]
)
def test_every_art46_tool_needs_a_transfer_impact_assessment(law, safeguard):
    # transfer-law.md section 8: "Each needs a TIA like SCCs" (EDPB Recommendations 01/2020,
    # CJEU C-311/18 paras 134-135); assessed after the evaluation date is not assessed yet.
    without = {k: v for k, v in safeguard.items() if k != "tia_completed_on"}
    missing = evaluate(record(at("IN", **without)), law, day("2026-11-24"))
    assert codes(missing) == ["TIA_MISSING"]
    late = {**safeguard, "tia_completed_on": "2026-11-25"}
    assert codes(evaluate(record(at("IN", **late)), law, day("2026-11-24"))) == ["TIA_MISSING"]
    done = {**safeguard, "tia_completed_on": "2026-11-24"}
    assert evaluate(record(at("IN", **done)), law, day("2026-11-24"))["flags"] == []


# --- International organisations ---


def test_the_epo_decision_covers_transfers_from_its_first_day(law):
    # Commission Implementing Decision (EU) 2025/1382 (epo-2025): in force from 2025-07-18;
    # GDPR Art. 45(1) covers transfers to an international organisation found adequate.
    before = evaluate(record(at("epo")), law, EPO_IN_FORCE.replace(day=17))
    ((flag),) = before["flags"]
    assert flag["code"] == "NO_SAFEGUARD"
    assert flag["country"] is None and flag["international_organisation"] == "epo"
    assert "European Patent Organisation" in flag["message"]
    assert "applies only from 2025-07-18" in flag["message"]
    on = evaluate(record(at("epo")), law, EPO_IN_FORCE)
    (verdict,) = on["locations"]
    assert on["flags"] == [] and on["status"] == "compliant"
    assert (verdict["country"], verdict["international_organisation"]) == (None, "epo")
    assert (verdict["eea"], verdict["mechanism"], verdict["adequacy_decision"]) == (
        False,
        "adequacy",
        "epo-2025",
    )


def test_before_its_adoption_the_epo_decision_is_not_even_announced(law):
    # Section 5 of transfer-law.md: an evaluation as of a date uses only acts adopted by then.
    result = evaluate(record(at("epo")), law, EPO_ADOPTED.replace(day=14))
    assert codes(result) == ["NO_SAFEGUARD"]
    assert "epo-2025" not in result["flags"][0]["message"]


def test_the_epo_sits_in_munich_but_is_no_eea_recipient(law):
    # An international organisation is not subject to the GDPR (privileges and immunities,
    # recitals of (EU) 2025/1382): sending it data is a transfer even though its seat is in
    # Germany, and before its decision a safeguard was needed.
    clauses = at("epo", mechanism="ad_hoc_clauses", authorised_on="2024-01-01", **TIA)
    result = evaluate(record(clauses), law, day("2025-01-01"))
    assert result["locations"][0]["eea"] is False
    assert result["flags"] == []


def test_an_organisation_without_a_decision_needs_a_safeguard_as_a_third_country(law):
    # GDPR Art. 46(1): "to a third country or an international organisation ... only if ...
    # appropriate safeguards" - WIPO has no adequacy decision.
    bare = evaluate(record(at("wipo")), law, day("2026-11-24"))
    assert codes(bare) == ["NO_SAFEGUARD"]
    assert "World Intellectual Property Organization" in bare["flags"][0]["message"]
    clauses = at("wipo", mechanism="ad_hoc_clauses", authorised_on="2026-01-05", **TIA)
    assert evaluate(record(clauses), law, day("2026-11-24"))["flags"] == []


def test_adequacy_claimed_for_an_organisation_follows_its_decision(law):
    claimed = at("epo", mechanism="adequacy", adequacy_decision="epo-2025")
    before = evaluate(record(claimed), law, day("2025-07-17"))
    assert codes(before) == ["ADEQUACY_NOT_IN_FORCE"]
    assert "applies only from 2025-07-18" in before["flags"][0]["message"]
    assert evaluate(record(claimed), law, day("2025-07-18"))["flags"] == []


# --- Through the API ---


@pytest.fixture
def create(client, staff):
    def post(body: dict, status: int = 201) -> dict:
        response = client.post(URL, json=body, headers=staff)
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    return post


BAD_LOCATIONS = {
    "both": ({"country": "US", "international_organisation": "epo"}, "international_organisation"),
    "neither": ({}, "country"),
    "unknown-organisation": (
        {"international_organisation": "unesco"},
        "international_organisation",
    ),
    "code-with-authorised-on": (
        {"country": "IN", "safeguard": {**CODE, "authorised_on": "2026-01-01"}},
        "safeguard/authorised_on",
    ),
    "code-without-reference": (
        {"country": "IN", "safeguard": {k: v for k, v in CODE.items() if k != "reference"}},
        "safeguard/reference",
    ),
    "clauses-with-commitment": (
        {
            "country": "IN",
            "safeguard": {"mechanism": "ad_hoc_clauses", "binding_commitment_on": "2026-01-01"},
        },
        "safeguard/binding_commitment_on",
    ),
    "arrangement-without-importer": (
        {
            "country": "IN",
            "safeguard": {k: v for k, v in ARRANGEMENT.items() if k != "importer_public_body"},
        },
        "safeguard/importer_public_body",
    ),
    "arrangement-with-approved-on": (
        {"country": "IN", "safeguard": {**ARRANGEMENT, "approved_on": "2026-01-01"}},
        "safeguard/approved_on",
    ),
    "certification-public-body": (
        {"country": "IN", "safeguard": {**CERTIFICATION, "importer_public_body": True}},
        "safeguard/importer_public_body",
    ),
    "adequacy-of-another-destination": (
        {"country": "US", "safeguard": {"mechanism": "adequacy", "adequacy_decision": "epo-2025"}},
        "safeguard/adequacy_decision",
    ),
}


@pytest.mark.parametrize("case", BAD_LOCATIONS, ids=list(BAD_LOCATIONS))
def test_a_location_is_refused_with_a_pointer(client, staff, case):
    fields, pointer = BAD_LOCATIONS[case]
    body = vendor("Acme Filing", {"activity": "processing", **fields}, effective_on="2025-01-01")
    response = client.post(URL, json=body, headers=staff)
    assert pointers(response) == [f"/locations/0/{pointer}"]
    onward = vendor(
        "Acme Filing",
        effective_on="2025-01-01",
        onward_transfers=[{"name": "Relay", "activity": "processing", **fields}],
    )
    response = client.post(URL, json=onward, headers=staff)
    assert pointers(response) == [f"/onward_transfers/0/{pointer}"]


def test_a_location_at_the_epo_through_the_api(client, staff, as_role, create):
    created = create(
        vendor(
            "Patent Filer",
            {"international_organisation": "epo", "activity": "processing"},
            {"country": "DE", "activity": "storage"},
            effective_on="2025-08-01",
        )
    )
    assert created["locations"][0] == {
        "international_organisation": "epo",
        "activity": "processing",
    }
    verdict = created["compliance"]
    assert verdict["status"] == "compliant"
    assert verdict["locations"][0]["adequacy_decision"] == "epo-2025"
    # Customers read the organisation's id and name, never a verdict.
    seen = client.get(f"{URL}/{created['id']}", headers=as_role("customer_a")).get_json()
    fact = seen["locations"][0]
    assert (fact["country"], fact["international_organisation"]) == (None, "epo")
    assert fact["country_name"] == "European Patent Organisation"
    assert fact["mechanism"] == "adequacy" and fact["relied_on"]["id"] == "epo-2025"
    # The public page and procurement's export name it.
    page = client.get("/subprocessors").get_data(as_text=True)
    assert "European Patent Organisation" in page and "(None)" not in page
    sheet = client.get(URL, headers={**staff, "Accept": "text/csv"}).get_data(as_text=True)
    rows = [row for row in csv.reader(io.StringIO(sheet)) if "Patent Filer" in row]
    assert "European Patent Organisation" in rows[0]
    # The same organisation and activity twice is one transfer listed twice.
    twice = vendor(
        "Twice",
        {"international_organisation": "epo", "activity": "processing"},
        {"international_organisation": "epo", "activity": "processing"},
    )
    assert pointers(client.post(URL, json=twice, headers=staff)) == ["/locations/1/activity"]


def test_allowed_processors_follow_the_art46_verdicts(client, staff, create):
    # Allowed-processors answers for today: a certificate issued a month ago is in force on
    # any day the tests run (Art. 42(7): at most three years).
    committed = {
        **CERTIFICATION,
        "binding_commitment_on": "2026-01-05",
        "certified_on": days_from_today(-30),
    }
    create(
        vendor(
            "Certified Filer",
            {
                "international_organisation": "wipo",
                "activity": "processing",
                "safeguard": committed,
            },
            effective_on="2026-02-01",
        )
    )
    uncommitted = {k: v for k, v in CERTIFICATION.items() if k != "binding_commitment_on"}
    flagged = create(
        vendor(
            "Uncommitted Filer",
            {"country": "IN", "activity": "processing", "safeguard": uncommitted},
            effective_on="2026-02-01",
        )
    )
    assert flagged["compliance"]["flags"][0]["code"] == "NO_SAFEGUARD"
    allowed = client.get(ALLOWED, headers=staff).get_json()["processors"]
    by_name = {p["name"]: p for p in allowed}
    assert "Uncommitted Filer" not in by_name
    certified = by_name["Certified Filer"]
    assert (certified["countries"], certified["international_organisations"]) == ([], ["wipo"])
