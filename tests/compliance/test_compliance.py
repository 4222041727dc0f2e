"""The compliance engine, walked through the history of the real reference law."""

from __future__ import annotations

import ast
import sys
from datetime import date
from pathlib import Path

import pytest
from helpers import TODAY, days_from_today, unverified

from registry.compliance import engine as compliance
from registry.compliance.engine import SEVERITY, evaluate, evaluate_register, status_on
from registry.law.loader import load_law


@pytest.fixture(scope="module")
def law():
    return load_law()


def record(*locations, **fields):
    return {
        "id": fields.pop("id", "sp-1"),
        "name": fields.pop("name", "Nimbus Hosting"),
        "effective_on": fields.pop("effective_on", "2000-01-01"),
        "retired_on": fields.pop("retired_on", None),
        "locations": list(locations),
        **fields,
    }


def location(country, activity="processing", **safeguard):
    loc = {"country": country, "activity": activity}
    if safeguard:
        loc["safeguard"] = safeguard
    return loc


def certified_us(on, **extra):
    """A US adequacy safeguard whose certification was checked on `on` itself."""
    return location(
        "US",
        mechanism="adequacy",
        certified=True,
        certification_checked_on=on.isoformat(),
        **extra,
    )


def codes(result):
    """The notes' codes (LAW_UNVERIFIED), then the flags'."""
    return [note["code"] for note in result["notes"]] + [flag["code"] for flag in result["flags"]]


def only_location(result):
    (loc,) = result["locations"]
    return loc


# --- the United States: Safe Harbour, Schrems I, Privacy Shield, Schrems II, the DPF ---


@pytest.mark.parametrize(
    ("on", "status", "decision", "flags"),
    [
        pytest.param(date(2010, 1, 1), "compliant", "us-safe-harbour-2000", [], id="safe-harbour"),
        pytest.param(
            date(2015, 10, 5), "compliant", "us-safe-harbour-2000", [], id="eve-of-schrems-1"
        ),
        pytest.param(date(2015, 10, 6), "flagged", None, ["ADEQUACY_NOT_IN_FORCE"], id="schrems-1"),
        pytest.param(
            date(2016, 7, 11), "flagged", None, ["ADEQUACY_NOT_IN_FORCE"], id="before-shield"
        ),
        pytest.param(
            date(2016, 7, 12), "compliant", "us-privacy-shield-2016", [], id="privacy-shield"
        ),
        pytest.param(
            date(2020, 7, 15), "compliant", "us-privacy-shield-2016", [], id="eve-of-schrems-2"
        ),
        pytest.param(date(2020, 7, 16), "flagged", None, ["ADEQUACY_NOT_IN_FORCE"], id="schrems-2"),
        pytest.param(date(2022, 1, 1), "flagged", None, ["ADEQUACY_NOT_IN_FORCE"], id="the-gap"),
        pytest.param(date(2023, 7, 9), "flagged", None, ["ADEQUACY_NOT_IN_FORCE"], id="eve-of-dpf"),
        pytest.param(date(2023, 7, 10), "compliant", "us-dpf-2023", [], id="dpf"),
        pytest.param(TODAY, "compliant", "us-dpf-2023", [], id="today"),
    ],
)
def test_us_adequacy_history(law, on, status, decision, flags):
    result = evaluate(record(certified_us(on)), law, on)

    assert result["status"] == status
    assert codes(result) == flags
    loc = only_location(result)
    assert loc["eea"] is False
    assert loc["mechanism"] == "adequacy"
    assert loc["adequacy_decision"] == decision


def test_schrems_ii_message_names_the_fallen_decision_and_the_date(law):
    result = evaluate(record(certified_us(date(2021, 1, 1))), law, date(2021, 1, 1))

    (flag,) = result["flags"]
    assert flag["severity"] == "error"
    assert flag["country"] == "US"
    assert "us-privacy-shield-2016" in flag["message"]
    assert "2020-07-16" in flag["message"]


def test_named_privacy_shield_after_schrems_ii_is_not_in_force(law):
    on = date(2024, 1, 1)
    result = evaluate(record(certified_us(on, adequacy_decision="us-privacy-shield-2016")), law, on)

    assert result["status"] == "flagged"
    assert codes(result) == ["ADEQUACY_NOT_IN_FORCE"]
    assert only_location(result)["adequacy_decision"] == "us-privacy-shield-2016"
    assert "2020-07-16" in result["flags"][0]["message"]


@pytest.mark.parametrize(
    ("named", "on", "needle"),
    [
        pytest.param("us-dpf-2023", date(2023, 1, 1), "2023-07-10", id="not-yet-in-force"),
        pytest.param("jp-2019", TODAY, "not US", id="another-territory"),
        pytest.param("us-safe-harbour-2000", TODAY, "2015-10-06", id="ended"),
    ],
)
def test_named_decision_not_in_force_says_why(law, named, on, needle):
    result = evaluate(record(certified_us(on, adequacy_decision=named)), law, on)

    assert codes(result) == ["ADEQUACY_NOT_IN_FORCE"]
    assert named in result["flags"][0]["message"]
    assert needle in result["flags"][0]["message"]


def test_named_dpf_in_force_is_compliant(law):
    result = evaluate(record(certified_us(TODAY, adequacy_decision="us-dpf-2023")), law, TODAY)

    assert result["status"] == "compliant"
    assert only_location(result)["adequacy_decision"] == "us-dpf-2023"


@pytest.mark.parametrize("named", [None, "us-dpf-2023"], ids=["resolved", "named"])
def test_assuming_the_dpf_falls_flags_us_adequacy(law, named):
    extra = {"adequacy_decision": named} if named else {}
    result = evaluate(
        record(certified_us(TODAY, **extra)), law, TODAY, assume_ended=frozenset({"us-dpf-2023"})
    )

    assert result["status"] == "flagged"
    assert codes(result) == ["ADEQUACY_NOT_IN_FORCE"]
    assert result["assumed_ended"] == ["us-dpf-2023"]
    assert "us-dpf-2023" in result["flags"][0]["message"]
    assert "assumed ended" in result["flags"][0]["message"]


def test_assuming_an_unrelated_decision_ended_changes_nothing_for_us(law):
    result = evaluate(
        record(certified_us(TODAY)), law, TODAY, assume_ended=frozenset({"gb-2021", "jp-2019"})
    )

    assert result["status"] == "compliant"
    assert result["assumed_ended"] == ["gb-2021", "jp-2019"]


# --- certification, the condition of the US decisions ---


@pytest.mark.parametrize(
    ("safeguard", "status", "flags"),
    [
        pytest.param(
            {"certified": False, "certification_checked_on": days_from_today(-23)},
            "flagged",
            ["ADEQUACY_CONDITION_UNMET"],
            id="not-certified",
        ),
        pytest.param({}, "flagged", ["ADEQUACY_CONDITION_UNMET"], id="certified-missing"),
        pytest.param(
            {"certified": True}, "flagged", ["ADEQUACY_CONDITION_UNMET"], id="check-date-missing"
        ),
        pytest.param(
            {"certified": True, "certification_checked_on": days_from_today(1)},
            "flagged",
            ["ADEQUACY_CONDITION_UNMET"],
            id="checked-after-the-date",
        ),
        pytest.param(
            {"certified": True, "certification_checked_on": TODAY.isoformat()},
            "compliant",
            [],
            id="checked-on-the-date",
        ),
        pytest.param(
            {"certified": True, "certification_checked_on": days_from_today(-365)},
            "compliant",
            [],
            id="checked-365-days-earlier",
        ),
        pytest.param(
            {"certified": True, "certification_checked_on": days_from_today(-366)},
            "compliant",
            ["CERTIFICATION_CHECK_STALE"],
            id="checked-366-days-earlier",
        ),
        pytest.param(
            {"certified": True, "certification_checked_on": days_from_today(-400)},
            "compliant",
            ["CERTIFICATION_CHECK_STALE"],
            id="checked-400-days-earlier",
        ),
    ],
)
def test_certification_condition(law, safeguard, status, flags):
    result = evaluate(record(location("US", mechanism="adequacy", **safeguard)), law, TODAY)

    assert result["status"] == status
    assert codes(result) == flags
    assert only_location(result)["adequacy_decision"] == "us-dpf-2023"
    for flag in result["flags"]:
        assert flag["severity"] == SEVERITY[flag["code"]]


def test_stale_check_message_gives_the_date_and_the_age(law):
    result = evaluate(
        record(
            location(
                "US",
                mechanism="adequacy",
                certified=True,
                certification_checked_on=days_from_today(-400),
            )
        ),
        law,
        TODAY,
    )

    message = result["flags"][0]["message"]
    assert days_from_today(-400) in message
    assert "400 days" in message


def test_certification_is_not_required_by_an_unconditional_decision(law):
    result = evaluate(record(location("JP", mechanism="adequacy")), law, TODAY)

    assert result["status"] == "compliant"
    assert only_location(result)["adequacy_decision"] == "jp-2019"


def test_adequacy_claimed_where_none_exists(law):
    result = evaluate(record(location("IN", mechanism="adequacy", certified=True)), law, TODAY)

    assert codes(result) == ["ADEQUACY_NOT_IN_FORCE"]
    assert only_location(result)["adequacy_decision"] is None


# --- Standard Contractual Clauses and their transition ---


def scc(version, signed_on, tia="2000-01-01", country="IN", **extra):
    safeguard = {"mechanism": "scc", "scc_version": version, "signed_on": signed_on, **extra}
    if tia is not None:
        safeguard["tia_completed_on"] = tia
    return location(country, **safeguard)


SCC_TRANSITION = {
    # id: (version, signed_on, evaluated on, flags)
    "old-set-in-transition": ("2010/87/EU", "2019-05-01", "2022-06-01", []),
    "old-set-last-day": ("2010/87/EU", "2019-05-01", "2022-12-27", []),
    "old-set-transition-over": ("2010/87/EU", "2019-05-01", "2022-12-28", ["SCC_SUPERSEDED"]),
    # The controller-to-controller sets never covered a processor as importer (rules 4).
    "2001-set-transition-over": (
        "2001/497/EC",
        "2015-01-01",
        "2023-01-01",
        ["SCC_SUPERSEDED", "SCC_MODULE_MISMATCH"],
    ),
    "2004-set-before-repeal": ("2004/915/EC", "2015-01-01", "2020-01-01", ["SCC_MODULE_MISMATCH"]),
    "old-set-concluded-on-repeal": ("2010/87/EU", "2021-09-27", "2021-10-01", ["SCC_SUPERSEDED"]),
    "old-set-concluded-before-repeal": ("2010/87/EU", "2021-09-26", "2021-10-01", []),
    "signed-after-the-date": ("2021/914", "2024-03-01", "2024-02-29", ["NO_SAFEGUARD"]),
    "signed-on-the-date": ("2021/914", "2024-03-01", "2024-03-01", []),
    "signed-before-2021-914-applied": ("2021/914", "2021-06-26", "2021-07-01", ["NO_SAFEGUARD"]),
    "signed-when-2021-914-applied": ("2021/914", "2021-06-27", "2021-07-01", []),
    "2021-914-does-not-lapse": ("2021/914", "2021-07-01", "2040-01-01", []),
}


@pytest.mark.parametrize(
    ("version", "signed_on", "on", "flags"), SCC_TRANSITION.values(), ids=SCC_TRANSITION.keys()
)
def test_scc_transition(law, version, signed_on, on, flags):
    # As a controller: 2010/87/EU (controller to processor) fits that role.
    result = evaluate(
        record(scc(version, signed_on)), law, date.fromisoformat(on), role="controller"
    )

    assert result["status"] == ("flagged" if flags else "compliant")
    assert codes(result) == flags
    loc = only_location(result)
    assert loc["mechanism"] == "scc"
    assert loc["adequacy_decision"] is None


@pytest.mark.parametrize(
    ("signed_on", "on", "needles"),
    [
        pytest.param("2019-05-01", date(2023, 1, 1), ["2010/87/EU", "2022-12-27"], id="transition"),
        pytest.param("2022-01-01", date(2022, 2, 1), ["2010/87/EU", "2021-09-27"], id="repeal"),
    ],
)
def test_superseded_message_names_the_set_and_the_date(law, signed_on, on, needles):
    result = evaluate(record(scc("2010/87/EU", signed_on)), law, on)

    message = result["flags"][0]["message"]
    assert all(needle in message for needle in needles)


def test_scc_signed_after_the_date_says_so(law):
    result = evaluate(record(scc("2021/914", "2024-03-01")), law, date(2024, 2, 29))

    message = result["flags"][0]["message"]
    assert "2024-03-01" in message
    assert "after" in message


@pytest.mark.parametrize("tia", [None, "2024-03-02"], ids=["tia-missing", "tia-after-the-date"])
def test_scc_without_tia_is_an_error(law, tia):
    # Clause 14 of (EU) 2021/914 and C-311/18: to a destination no adequacy decision covers,
    # SCCs without an assessment do not show the transfer lawful (rules 4).
    result = evaluate(record(scc("2021/914", "2024-03-01", tia=tia)), law, date(2024, 3, 1))

    assert result["status"] == "flagged"
    assert codes(result) == ["TIA_MISSING"]
    assert result["flags"][0]["severity"] == "error"


def test_scc_to_the_us_during_the_gap_is_compliant(law):
    result = evaluate(record(scc("2021/914", "2021-08-01", country="US")), law, date(2022, 1, 1))

    assert result["status"] == "compliant"
    assert codes(result) == []
    loc = only_location(result)
    assert (loc["mechanism"], loc["adequacy_decision"]) == ("scc", None)


# --- Brexit and enlargement: EEA membership has dates ---


BRIDGE = "transitional_arrangement"


@pytest.mark.parametrize(
    ("on", "eea", "mechanism", "decision", "flags"),
    [
        pytest.param(date(2020, 12, 31), True, None, None, [], id="last-day-inside"),
        # The EU-UK Trade and Cooperation Agreement: no transfer to a third country at all.
        pytest.param(date(2021, 1, 1), False, BRIDGE, "gb-tca-bridge-2021", [], id="bridge-starts"),
        pytest.param(date(2021, 3, 1), False, BRIDGE, "gb-tca-bridge-2021", [], id="bridge"),
        pytest.param(date(2021, 6, 27), False, BRIDGE, "gb-tca-bridge-2021", [], id="bridge-ends"),
        pytest.param(date(2021, 6, 28), False, "adequacy", "gb-2021", [], id="gb-adequacy"),
        # 2021/1772 as adopted: a sunset on 2025-06-27, nothing to extend it yet.
        pytest.param(date(2024, 12, 28), False, "adequacy", "gb-2021", [], id="181-days-left"),
        pytest.param(
            date(2024, 12, 29), False, "adequacy", "gb-2021", ["ADEQUACY_ENDING"], id="180-days"
        ),
        pytest.param(
            date(2025, 3, 1), False, "adequacy", "gb-2021", ["ADEQUACY_ENDING"], id="sunset-due"
        ),
        pytest.param(
            date(2025, 6, 23), False, "adequacy", "gb-2021", ["ADEQUACY_ENDING"], id="eve-of-ext"
        ),
        # The extension, adopted on 2025-06-24, runs to 2025-12-27: 186 days ahead.
        pytest.param(date(2025, 6, 24), False, "adequacy", "gb-2021", [], id="extension-adopted"),
        pytest.param(date(2025, 6, 27), False, "adequacy", "gb-2021", [], id="sunset-day"),
        pytest.param(
            date(2025, 6, 28), False, "adequacy", "gb-2025-extension", [], id="extension-applies"
        ),
        pytest.param(
            date(2025, 7, 1),
            False,
            "adequacy",
            "gb-2025-extension",
            ["ADEQUACY_ENDING"],
            id="extension-ending",
        ),
        pytest.param(
            date(2025, 12, 18),
            False,
            "adequacy",
            "gb-2025-extension",
            ["ADEQUACY_ENDING"],
            id="eve-of-renewal",
        ),
        # The renewal, adopted on 2025-12-19, runs to 2031-12-27.
        pytest.param(
            date(2025, 12, 19), False, "adequacy", "gb-2025-extension", [], id="renewal-adopted"
        ),
        pytest.param(date(2025, 12, 28), False, "adequacy", "gb-2025", [], id="renewal-applies"),
        pytest.param(TODAY, False, "adequacy", "gb-2025", [], id="today"),
        pytest.param(date(2031, 6, 29), False, "adequacy", "gb-2025", [], id="renewal-181-days"),
        pytest.param(
            date(2031, 6, 30), False, "adequacy", "gb-2025", ["ADEQUACY_ENDING"], id="180-left"
        ),
        pytest.param(
            date(2031, 12, 27), False, "adequacy", "gb-2025", ["ADEQUACY_ENDING"], id="last-day"
        ),
        pytest.param(date(2031, 12, 28), False, None, None, ["NO_SAFEGUARD"], id="expired"),
    ],
)
def test_brexit_without_safeguard(law, on, eea, mechanism, decision, flags):
    result = evaluate(record(location("GB")), law, on)

    loc = only_location(result)
    assert (loc["eea"], loc["mechanism"], loc["adequacy_decision"]) == (eea, mechanism, decision)
    expected = unverified(law, decision, on) + flags
    assert codes(result) == expected
    assert result["status"] == ("flagged" if "NO_SAFEGUARD" in flags else "compliant")
    if decision:
        assert loc["instrument"] == law.decision(decision).instrument


def test_adequacy_ending_message_names_the_expiry(law):
    result = evaluate(record(location("GB")), law, date(2025, 3, 1))

    (message,) = [f["message"] for f in result["flags"] if f["code"] == "ADEQUACY_ENDING"]
    assert "gb-2021" in message
    assert "2025-06-27" in message


def test_expired_gb_decision_is_named_in_the_message(law):
    result = evaluate(record(location("GB")), law, date(2032, 1, 1))

    assert "gb-2025" in result["flags"][0]["message"]


@pytest.mark.parametrize(
    ("on", "eea", "flags"),
    [
        pytest.param(date(2013, 6, 30), False, ["NO_SAFEGUARD"], id="before-accession"),
        pytest.param(date(2013, 7, 1), True, [], id="accession"),
    ],
)
def test_croatia_joins(law, on, eea, flags):
    result = evaluate(record(location("HR")), law, on)

    assert only_location(result)["eea"] is eea
    assert codes(result) == flags


def test_a_safeguard_inside_the_eea_is_ignored(law):
    result = evaluate(record(scc("2010/87/EU", "2030-01-01", tia=None, country="NL")), law, TODAY)

    assert result["status"] == "compliant"
    loc = only_location(result)
    assert (loc["eea"], loc["mechanism"], loc["flags"]) == (True, None, [])


# --- implicit adequacy and its absence ---


@pytest.mark.parametrize(
    ("country", "on", "decision"),
    [
        pytest.param("CH", TODAY, "ch-2000", id="CH"),
        pytest.param("JP", date(2019, 1, 23), "jp-2019", id="JP-first-day"),
        pytest.param("KR", TODAY, "kr-2021", id="KR"),
        pytest.param("BR", date(2026, 1, 26), "br-2026", id="BR-first-day"),
    ],
)
def test_unconditional_adequacy_needs_no_safeguard(law, country, on, decision):
    result = evaluate(record(location(country)), law, on)

    assert result["status"] == "compliant"
    loc = only_location(result)
    assert (loc["mechanism"], loc["adequacy_decision"]) == ("adequacy", decision)


@pytest.mark.parametrize(
    ("country", "on"),
    [
        pytest.param("IN", TODAY, id="IN"),
        pytest.param("SG", TODAY, id="SG"),
        pytest.param("JP", date(2019, 1, 22), id="JP-before-decision"),
        pytest.param("BR", date(2026, 1, 25), id="BR-before-decision"),
    ],
)
def test_no_decision_and_no_safeguard(law, country, on):
    result = evaluate(record(location(country)), law, on)

    assert result["status"] == "flagged"
    assert codes(result) == ["NO_SAFEGUARD"]
    loc = only_location(result)
    assert (loc["mechanism"], loc["adequacy_decision"]) == (None, None)


def test_us_without_safeguard_needs_certification_attested(law):
    result = evaluate(record(location("US")), law, TODAY)

    assert codes(result) == ["NO_SAFEGUARD"]
    message = result["flags"][0]["message"]
    assert "us-dpf-2023" in message
    assert "certification" in message
    assert only_location(result)["adequacy_decision"] is None


def test_implicit_adequacy_respects_assume_ended(law):
    result = evaluate(record(location("CH")), law, TODAY, assume_ended=frozenset({"ch-2000"}))

    assert codes(result) == ["NO_SAFEGUARD"]
    assert "ch-2000" in result["flags"][0]["message"]


# --- binding corporate rules and derogations ---


@pytest.mark.parametrize(
    ("safeguard", "status", "flags"),
    [
        pytest.param(
            {"approved_on": "2020-01-01", "tia_completed_on": "2020-02-01"},
            "compliant",
            [],
            id="approved",
        ),
        pytest.param(
            {"approved_on": days_from_today(1), "tia_completed_on": "2020-02-01"},
            "flagged",
            ["NO_SAFEGUARD"],
            id="approved-after-the-date",
        ),
        pytest.param(
            {"tia_completed_on": "2020-02-01"}, "flagged", ["NO_SAFEGUARD"], id="never-approved"
        ),
        pytest.param({"approved_on": "2020-01-01"}, "flagged", ["TIA_MISSING"], id="no-tia"),
    ],
)
def test_binding_corporate_rules(law, safeguard, status, flags):
    result = evaluate(record(location("IN", mechanism="bcr", **safeguard)), law, TODAY)

    assert result["status"] == status
    assert codes(result) == flags
    assert only_location(result)["mechanism"] == "bcr"


@pytest.mark.parametrize(
    ("ground", "article"),
    [
        ("explicit_consent", "49(1)(a)"),
        ("public_interest", "49(1)(d)"),
        ("vital_interests", "49(1)(f)"),
        ("public_register", "49(1)(g)"),
    ],
    ids=lambda value: value if "_" in value else None,
)
def test_derogation_is_a_warning_naming_its_ground(law, ground, article):
    # As a controller: under the processor role explicit consent is not available (rules 4).
    rec = record(location("IN", mechanism="derogation", derogation=ground))
    result = evaluate(rec, law, TODAY, role="controller")

    assert result["status"] == "compliant"
    assert codes(result) == ["DEROGATION_RELIED_ON"]
    assert article in result["flags"][0]["message"]
    assert only_location(result)["mechanism"] == "derogation"


@pytest.mark.parametrize(
    ("ground", "article"),
    [
        ("contract_performance", "49(1)(b)"),
        ("contract_in_interest", "49(1)(c)"),
        ("legal_claims", "49(1)(e)"),
        ("compelling_legitimate_interests", "second subparagraph"),
    ],
    ids=lambda value: value if "_" in value else None,
)
def test_an_occasional_only_derogation_is_no_basis_for_a_sub_processor(law, ground, article):
    """EDPB Guidelines 2/2018: (b), (c), (e) and the second subparagraph are for occasional
    transfers; a sub-processor receives data systematically."""
    result = evaluate(record(location("IN", mechanism="derogation", derogation=ground)), law, TODAY)

    assert result["status"] == "flagged"
    assert codes(result) == ["DEROGATION_NOT_AVAILABLE"]
    assert result["flags"][0]["severity"] == "error"
    assert article in result["flags"][0]["message"]
    assert "occasional" in result["flags"][0]["message"]


# --- copies of the transfer mechanism ---


def test_missing_disclosable_copy_is_a_warning_for_scc_and_bcr_only(law):
    rec = record(
        scc("2021/914", "2024-03-01", country="IN"),
        scc("2021/914", "2024-03-01", country="KR"),
        location("SG", mechanism="bcr", approved_on="2020-01-01", tia_completed_on="2020-01-01"),
        certified_us(TODAY),
        location("NL"),
    )
    copies = {(rec["id"], "KR", "scc"), (rec["id"], "SG", "scc"), ("sp_other", "IN", "scc")}
    result = evaluate(rec, law, TODAY, copies=copies)

    assert result["status"] == "compliant"
    assert [(f["code"], f["country"]) for f in result["flags"]] == [
        ("SCC_COPY_MISSING", "IN"),
        ("BCR_COPY_MISSING", "SG"),
    ]


def test_a_copy_for_all_countries_covers_each_transfer_of_its_mechanism(law):
    rec = record(
        scc("2021/914", "2024-03-01", country="IN"),
        location("SG", mechanism="bcr", approved_on="2020-01-01", tia_completed_on="2020-01-01"),
    )
    result = evaluate(rec, law, TODAY, copies={(rec["id"], None, "scc")})

    assert [(f["code"], f["country"]) for f in result["flags"]] == [("BCR_COPY_MISSING", "SG")]


def test_a_missing_copy_is_named_for_the_safeguard_and_promised_to_customers(law):
    rec = record(
        scc("2021/914", "2024-03-01", country="IN"),
        location("SG", mechanism="bcr", approved_on="2020-01-01", tia_completed_on="2020-01-01"),
    )
    result = evaluate(rec, law, TODAY, copies=set())

    clauses, rules = result["flags"]
    assert (clauses["code"], clauses["severity"]) == ("SCC_COPY_MISSING", "warning")
    assert (rules["code"], rules["severity"]) == ("BCR_COPY_MISSING", "warning")
    assert "standard contractual clauses" in clauses["message"]
    assert "binding corporate rules" in rules["message"]
    for flag in (clauses, rules):
        assert "a customer who asks for one" in flag["message"]
        assert "data subject" not in flag["message"]
    assert "SCC" not in rules["message"] and "clauses" not in rules["message"]
    assert result["status"] == "compliant"


def test_copies_are_not_checked_unless_asked(law):
    result = evaluate(record(scc("2021/914", "2024-03-01")), law, TODAY)

    assert codes(result) == []


# --- shape and robustness ---


def test_output_shape(law):
    result = evaluate(
        record(location("NL", "storage"), location("IN", "remote_access")), law, TODAY
    )

    assert set(result) == {
        "status",
        "as_of",
        "assumed_ended",
        "locations",
        "onward_transfers",
        "flags",
        "notes",
    }
    assert result["onward_transfers"] == []
    assert result["as_of"] == TODAY.isoformat()
    assert result["assumed_ended"] == []
    assert result["locations"] == [
        {
            "country": "NL",
            "activity": "storage",
            "eea": True,
            "mechanism": None,
            "adequacy_decision": None,
            "instrument": None,
            "flags": [],
            "notes": [],
        },
        {
            "country": "IN",
            "activity": "remote_access",
            "eea": False,
            "mechanism": None,
            "adequacy_decision": None,
            "instrument": None,
            "flags": result["flags"],
            "notes": [],
        },
    ]
    assert result["notes"] == []
    (flag,) = result["flags"]
    assert set(flag) == {"code", "severity", "country", "message"}
    assert (flag["code"], flag["severity"], flag["country"]) == ("NO_SAFEGUARD", "error", "IN")
    assert flag["message"].endswith(".")


def test_top_level_flags_are_the_location_flags_in_order(law):
    rec = record(
        location("IN"),
        scc("2021/914", "2024-03-01", tia=None, country="SG"),
        location("US", mechanism="adequacy"),
    )
    result = evaluate(rec, law, TODAY)

    assert result["flags"] == [f for loc in result["locations"] for f in loc["flags"]]
    assert codes(result) == ["NO_SAFEGUARD", "TIA_MISSING", "ADEQUACY_CONDITION_UNMET"]


def test_severity_table():
    assert SEVERITY == {
        "NO_SAFEGUARD": "error",
        "ADEQUACY_NOT_IN_FORCE": "error",
        "ADEQUACY_CONDITION_UNMET": "error",
        "ADEQUACY_SCOPE_UNMET": "error",
        "SCC_SUPERSEDED": "error",
        "SCC_MODULE_MISMATCH": "error",
        "DEROGATION_NOT_AVAILABLE": "error",
        "TIA_MISSING": "error",
        "TIA_OUTCOME_PROBLEMATIC": "error",
        "TIA_REVIEW_DUE": "warning",
        "TIA_RESTS_ON_ENDED_DECISION": "warning",
        "DEROGATION_RELIED_ON": "warning",
        "ADEQUACY_ENDING": "warning",
        "ADEQUACY_SCOPE_UNCONFIRMED": "warning",
        "CERTIFICATION_CHECK_STALE": "warning",
        "SCC_COPY_MISSING": "warning",
        "BCR_COPY_MISSING": "warning",
        "SCC_IMPORTER_SUBJECT_TO_GDPR": "warning",
        "NOTICE_PERIOD_SHORT": "warning",
    }


@pytest.mark.parametrize(
    ("created", "effective", "short"),
    [
        (f"{TODAY}T09:00:00Z", days_from_today(30), False),
        (f"{TODAY}T09:00:00Z", days_from_today(29), True),
        (f"{TODAY}T09:00:00Z", TODAY.isoformat(), True),
        (f"{TODAY}T09:00:00Z", "2025-01-01", False),
    ],
    ids=["thirty-days", "twenty-nine-days", "same-day", "already-in-use"],
)
def test_notice_period_short_is_a_warning_below_the_promised_notice(law, created, effective, short):
    rec = record(location("NL"), created_at=created, effective_on=effective)
    result = evaluate(rec, law, TODAY, notice_days=30)

    assert result["status"] == "compliant"
    assert ("NOTICE_PERIOD_SHORT" in codes(result)) is short
    if short:
        flag = result["flags"][-1]
        assert flag["severity"] == "warning" and flag["country"] is None
        assert "30 days" in flag["message"]


def test_notice_is_not_checked_unless_asked(law):
    rec = record(location("NL"), created_at=f"{TODAY}T09:00:00Z", effective_on=days_from_today(1))
    assert "NOTICE_PERIOD_SHORT" not in codes(evaluate(rec, law, TODAY))


@pytest.mark.parametrize(
    ("rec", "flags"),
    [
        pytest.param({}, [], id="empty-record"),
        pytest.param({"locations": None}, [], id="locations-null"),
        pytest.param(
            {"locations": [{"country": "IN", "safeguard": None}]},
            ["NO_SAFEGUARD"],
            id="safeguard-null",
        ),
        pytest.param({"locations": [{}]}, ["NO_SAFEGUARD"], id="location-empty"),
        pytest.param(
            {"locations": [{"country": "IN", "safeguard": {"mechanism": "scc"}}]},
            ["NO_SAFEGUARD", "TIA_MISSING"],
            id="scc-bare",
        ),
        pytest.param(
            {"locations": [{"country": "IN", "safeguard": {"mechanism": "bcr"}}]},
            ["NO_SAFEGUARD", "TIA_MISSING"],
            id="bcr-bare",
        ),
        pytest.param(
            {"locations": [{"country": "IN", "safeguard": {"mechanism": "derogation"}}]},
            ["DEROGATION_RELIED_ON"],
            id="derogation-bare",
        ),
        pytest.param(
            {"locations": [{"country": "US", "safeguard": {"mechanism": "adequacy"}}]},
            ["ADEQUACY_CONDITION_UNMET"],
            id="adequacy-bare",
        ),
        pytest.param(
            {"locations": [{"country": "IN", "safeguard": {}}]},
            ["NO_SAFEGUARD"],
            id="safeguard-empty",
        ),
    ],
)
def test_missing_optional_fields_never_crash(law, rec, flags):
    result = evaluate(rec, law, TODAY)

    assert codes(result) == flags


# --- status and the register ---


@pytest.mark.parametrize(
    ("effective_on", "retired_on", "status"),
    [
        pytest.param(days_from_today(1), None, "proposed", id="before-effective"),
        pytest.param(TODAY.isoformat(), None, "active", id="effective-today"),
        pytest.param("2020-01-01", days_from_today(1), "active", id="retiring-tomorrow"),
        pytest.param("2020-01-01", TODAY.isoformat(), "retired", id="retired-today"),
        pytest.param(
            days_from_today(38), days_from_today(-327), "retired", id="retired-before-effective"
        ),
        pytest.param(None, None, "active", id="no-effective-date"),
    ],
)
def test_status_on(effective_on, retired_on, status):
    rec = {"effective_on": effective_on, "retired_on": retired_on}

    assert status_on(rec, TODAY) == status


def test_register_summary_and_flagged_list(law):
    records = [
        record(location("NL"), certified_us(TODAY), id="ok-active"),
        record(location("IN"), location("SG"), id="bad-active", name="Bad Active"),
        record(location("IN"), effective_on=days_from_today(38), id="bad-proposed"),
        record(location("CH"), effective_on=days_from_today(38), id="ok-proposed"),
        # SCCs to the US without a TIA while the DPF applies: a warning only (rules 4).
        record(scc("2021/914", "2024-03-01", tia=None, country="US"), id="warned-active"),
        record(location("IN"), retired_on=days_from_today(-327), id="bad-retired"),
        record(location("US", mechanism="adequacy"), id="unmet-active"),
    ]

    report = evaluate_register(records, law, TODAY)

    assert report["as_of"] == TODAY.isoformat()
    assert report["assumed_ended"] == []
    assert report["summary"] == {
        "total": 6,
        "active": 4,
        "proposed": 2,
        "compliant": 3,
        "flagged": 3,
        "compliant_with_warnings": 1,
        "non_compliant": 3,
        "active_flagged": 2,
        "errors": 4,
        "warnings": 1,
        "notes": 0,
        "waived": 0,
        "by_flag": {"ADEQUACY_CONDITION_UNMET": 1, "NO_SAFEGUARD": 2, "TIA_MISSING": 1},
    }
    assert [(f["id"], f["status"]) for f in report["flagged"]] == [
        ("bad-active", "active"),
        ("bad-proposed", "proposed"),
        ("unmet-active", "active"),
    ]
    first = report["flagged"][0]
    assert set(first) == {"id", "name", "status", "compliance"}
    assert first["name"] == "Bad Active"
    assert first["compliance"] == evaluate(records[1], law, TODAY)
    # Every flag, warnings included, with its sub-processor; retired ones left out.
    assert [
        (f["subprocessor_id"], f["status"], f["code"], f["severity"], f["country"])
        for f in report["findings"]
    ] == [
        ("bad-active", "active", "NO_SAFEGUARD", "error", "IN"),
        ("bad-active", "active", "NO_SAFEGUARD", "error", "SG"),
        ("bad-proposed", "proposed", "NO_SAFEGUARD", "error", "IN"),
        ("warned-active", "active", "TIA_MISSING", "warning", "US"),
        ("unmet-active", "active", "ADEQUACY_CONDITION_UNMET", "error", "US"),
    ]
    warned = report["findings"][3]
    assert warned["subprocessor_name"] == records[4]["name"]
    assert warned["message"] == evaluate(records[4], law, TODAY)["flags"][0]["message"]


def test_register_what_if_the_dpf_falls(law):
    records = [record(certified_us(TODAY), id=f"us-{n}") for n in range(3)]
    ended = frozenset({"us-dpf-2023"})

    report = evaluate_register(records, law, TODAY, assume_ended=ended)

    assert report["assumed_ended"] == ["us-dpf-2023"]
    assert report["summary"]["active_flagged"] == 3
    assert report["summary"]["by_flag"] == {"ADEQUACY_NOT_IN_FORCE": 3}
    assert report["flagged"][0]["compliance"] == evaluate(
        records[0], law, TODAY, assume_ended=ended
    )


def test_register_of_nothing(law):
    report = evaluate_register(iter([]), law, TODAY)

    assert report["summary"] == {
        "total": 0,
        "active": 0,
        "proposed": 0,
        "compliant": 0,
        "flagged": 0,
        "compliant_with_warnings": 0,
        "non_compliant": 0,
        "active_flagged": 0,
        "errors": 0,
        "warnings": 0,
        "notes": 0,
        "waived": 0,
        "by_flag": {},
    }
    assert report["flagged"] == []
    assert report["findings"] == []


# --- dependencies ---


# The engine and the modules it is split into: together they import only each other, the law
# model, the flag registry and the standard library.
ENGINE_MODULES = ("engine", "rules", "adequacy", "safeguards", "art46", "register")


@pytest.mark.parametrize("name", ENGINE_MODULES)
def test_compliance_imports_only_the_standard_library_and_the_law_model(name):
    path = Path(compliance.__file__).with_name(f"{name}.py")
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # Relative imports resolved against the engine's package, registry.compliance.
            base = ["registry", "compliance"][: 2 - node.level + 1] if node.level else []
            imported.add(".".join([*base, node.module] if node.module else base))

    ours = {name for name in imported if name.split(".")[0] == "registry"}
    others = {name.split(".")[0] for name in imported - ours}
    engine_parts = {f"registry.compliance.{part}" for part in ENGINE_MODULES}
    assert ours <= {"registry.law.model", "registry.compliance.flags", *engine_parts}
    assert others <= set(sys.stdlib_module_names)
    assert not others & {"flask", "sqlite3", "sqlite_utils"}
