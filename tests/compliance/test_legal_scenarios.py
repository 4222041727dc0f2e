"""Dated legal scenarios under the real reference law (data/): each boundary day of the acts
that carry adoption dates and continuations, the EU-UK bridge, certification frameworks,
scope conditions, SCC modules per role, Art. 3(2) importers, derogations, transfer impact
assessments, the old 2002/16/EC clauses, what-if endings and onward transfers; then the same
rules through the API and the CLI.

Expectations that rest on a fact data/ still marks unverified follow `verified` there, so
the tests keep pinning the law while the data is being checked.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from helpers import (
    TODAY,
    URL,
    US_CHECKED_ON,
    current_etag,
    days_from_today,
    pointers,
    unverified,
    vendor,
)

from registry.compliance.engine import SEVERITY, evaluate
from registry.law.loader import load_law

BRIDGE = "transitional_arrangement"
DPF_START = date(2023, 7, 10)
SHIELD_START = date(2016, 7, 12)


@pytest.fixture(scope="module")
def law():
    return load_law()


def day(text: str) -> date:
    return date.fromisoformat(text)


def record(*locations, onward=(), **fields):
    return {
        "id": fields.pop("id", "sp-legal"),
        "name": fields.pop("name", "Acme Cloud"),
        "effective_on": fields.pop("effective_on", "2000-01-01"),
        "retired_on": None,
        "locations": list(locations),
        "onward_transfers": list(onward),
        **fields,
    }


def location(country, activity="processing", *, importer=None, **safeguard):
    loc = {"country": country, "activity": activity}
    if safeguard:
        loc["safeguard"] = safeguard
    if importer is not None:
        loc["importer_subject_to_gdpr"] = importer
    return loc


def onward(name, country, activity="processing", *, importer=None, **safeguard):
    return {"name": name, **location(country, activity, importer=importer, **safeguard)}


def scc_safeguard(version="2021/914", signed="2024-03-01", module=3, tia="2024-02-20"):
    safeguard = {"mechanism": "scc", "scc_version": version, "signed_on": signed}
    if module is not None:
        safeguard["scc_module"] = module
    if tia is not None:
        safeguard["tia_completed_on"] = tia
    return safeguard


def codes(result) -> list[str]:
    """The notes' codes (LAW_UNVERIFIED), then the flags'."""
    return [note["code"] for note in result["notes"]] + [flag["code"] for flag in result["flags"]]


def only_location(result) -> dict:
    (loc,) = result["locations"]
    return loc


def scc_unverified(law, version_id) -> list[str]:
    version = law.scc_version(version_id)
    return ["LAW_UNVERIFIED"] if version is not None and not version.verified else []


def scope_codes(law, decision_id) -> list[str]:
    return [c.code for c in law.decision(decision_id).scope_conditions]


def attest_all(law, decision_id, value=True) -> dict:
    return {code: value for code in scope_codes(law, decision_id)}


def needs_tia(law, decision_id) -> bool:
    """A TIA is expected unless the act covers every recipient (no condition, no scope)."""
    act = law.decision(decision_id)
    return act.condition is not None or bool(act.scope_conditions)


def assert_severities(result) -> None:
    for flag in result["flags"]:
        assert flag["severity"] == SEVERITY[flag["code"]], flag
    errors = any(flag["severity"] == "error" for flag in result["flags"])
    assert result["status"] == ("flagged" if errors else "compliant")


# --- the United Kingdom, act by act: inside, the bridge, 2021/1772, its extension, renewal ---


GB_TIMELINE = {
    # id: (date, eea, mechanism, act relied on, flags besides LAW_UNVERIFIED)
    "day-before-bridge-inside-eea": ("2020-12-31", True, None, None, []),
    "bridge-first-day": ("2021-01-01", False, BRIDGE, "gb-tca-bridge-2021", []),
    "bridge-last-day": ("2021-06-27", False, BRIDGE, "gb-tca-bridge-2021", []),
    "day-after-bridge-is-gb-2021-first-day": ("2021-06-28", False, "adequacy", "gb-2021", []),
    "sunset-warning-2025-03-01": ("2025-03-01", False, "adequacy", "gb-2021", ["ADEQUACY_ENDING"]),
    "eve-of-extension-adoption": ("2025-06-23", False, "adequacy", "gb-2021", ["ADEQUACY_ENDING"]),
    "extension-adoption-day": ("2025-06-24", False, "adequacy", "gb-2021", []),
    "gb-2021-last-day": ("2025-06-27", False, "adequacy", "gb-2021", []),
    "extension-first-day": ("2025-06-28", False, "adequacy", "gb-2025-extension", []),
    "eve-of-renewal-adoption": (
        "2025-12-18",
        False,
        "adequacy",
        "gb-2025-extension",
        ["ADEQUACY_ENDING"],
    ),
    "renewal-adoption-day": ("2025-12-19", False, "adequacy", "gb-2025-extension", []),
    "extension-last-day": ("2025-12-27", False, "adequacy", "gb-2025-extension", []),
    "renewal-first-day": ("2025-12-28", False, "adequacy", "gb-2025", []),
    "today": (TODAY.isoformat(), False, "adequacy", "gb-2025", []),
}


@pytest.mark.parametrize(
    ("on", "eea", "mechanism", "act", "flags"), GB_TIMELINE.values(), ids=GB_TIMELINE.keys()
)
def test_gb_without_safeguard_act_by_act(law, on, eea, mechanism, act, flags):
    result = evaluate(record(location("GB")), law, day(on))

    loc = only_location(result)
    assert (loc["eea"], loc["mechanism"], loc["adequacy_decision"]) == (eea, mechanism, act)
    assert loc["instrument"] == (law.decision(act).instrument if act else None)
    assert sorted(codes(result)) == sorted(unverified(law, act, day(on)) + flags)
    assert result["status"] == "compliant"
    assert_severities(result)


def test_the_bridge_is_named_as_an_arrangement_not_an_adequacy_decision(law):
    result = evaluate(record(location("GB")), law, day("2021-03-01"))

    loc = only_location(result)
    bridge = law.decision("gb-tca-bridge-2021")
    assert bridge.kind == "arrangement"
    assert (bridge.in_force_from, bridge.expires_on) == (day("2021-01-01"), day("2021-06-27"))
    assert loc["note"].startswith(bridge.instrument)
    assert "not considered a transfer to a third country" in loc["note"]


def test_sunset_warning_on_2025_03_01_names_the_expiry_and_no_later_act(law):
    result = evaluate(record(location("GB")), law, day("2025-03-01"))

    (flag,) = [f for f in result["flags"] if f["code"] == "ADEQUACY_ENDING"]
    assert flag["severity"] == "warning"
    assert "gb-2021" in flag["message"]
    assert "2025-06-27" in flag["message"]
    assert "gb-2025" not in flag["message"]


BRIDGE_SAFEGUARDS = {
    "scc-wrong-module-signed-later": scc_safeguard(signed="2024-01-01", module=1, tia=None),
    "old-scc-set": scc_safeguard(version="2010/87/EU", signed="2015-01-01", module=None, tia=None),
    "occasional-only-derogation": {"mechanism": "derogation", "derogation": "contract_performance"},
    "bcr-not-approved-yet": {"mechanism": "bcr", "approved_on": "2030-01-01"},
    "named-gb-2021-not-yet-adopted": {"mechanism": "adequacy", "adequacy_decision": "gb-2021"},
}


@pytest.mark.parametrize("safeguard", BRIDGE_SAFEGUARDS.values(), ids=BRIDGE_SAFEGUARDS.keys())
@pytest.mark.parametrize("on", ["2021-01-01", "2021-06-27"], ids=["bridge-first", "bridge-last"])
def test_in_the_bridge_no_safeguard_is_looked_at(law, on, safeguard):
    rec = record({**location("GB"), "safeguard": safeguard})
    result = evaluate(rec, law, day(on), copies=set())

    loc = only_location(result)
    assert (loc["mechanism"], loc["adequacy_decision"]) == (BRIDGE, "gb-tca-bridge-2021")
    assert result["flags"] == []  # no SCC_COPY_MISSING either: there is no transfer
    assert result["status"] == "compliant"


def test_the_day_after_the_bridge_the_safeguard_counts_again(law):
    rec = record(location("GB", **BRIDGE_SAFEGUARDS["occasional-only-derogation"]))
    result = evaluate(rec, law, day("2021-06-28"))

    assert codes(result) == ["DEROGATION_NOT_AVAILABLE"]
    assert result["status"] == "flagged"


# --- a named act follows its continuations to the act in force on the date ---


NAMED_GB = {
    # id: (named act, date, act relied on or None, flag, needle in the flag message)
    "gb-2021-on-its-first-day": ("gb-2021", "2021-06-28", "gb-2021", None, None),
    "gb-2021-at-sunset-warning": ("gb-2021", "2025-03-01", "gb-2021", "ADEQUACY_ENDING", None),
    "gb-2021-leads-to-extension": ("gb-2021", "2025-06-28", "gb-2025-extension", None, None),
    "gb-2021-leads-to-renewal": ("gb-2021", "2025-12-28", "gb-2025", None, None),
    "gb-2021-today-is-gb-2025": ("gb-2021", TODAY.isoformat(), "gb-2025", None, None),
    "extension-today-is-gb-2025": ("gb-2025-extension", TODAY.isoformat(), "gb-2025", None, None),
    "gb-2021-after-2031-expiry": (
        "gb-2021",
        "2031-12-28",
        None,
        "ADEQUACY_NOT_IN_FORCE",
        "2025-06-27",
    ),
    "extension-before-its-adoption": (
        "gb-2025-extension",
        "2025-06-23",
        None,
        "ADEQUACY_NOT_IN_FORCE",
        "adopted on 2025-06-24",
    ),
    "extension-adopted-not-yet-applying": (
        "gb-2025-extension",
        "2025-06-25",
        None,
        "ADEQUACY_NOT_IN_FORCE",
        "applies only from 2025-06-28",
    ),
    "renewal-adopted-not-yet-applying": (
        "gb-2025",
        "2025-12-20",
        None,
        "ADEQUACY_NOT_IN_FORCE",
        "applies only from 2025-12-28",
    ),
}


@pytest.mark.parametrize(
    ("named", "on", "act", "flag", "needle"), NAMED_GB.values(), ids=NAMED_GB.keys()
)
def test_named_gb_decision_follows_its_line(law, named, on, act, flag, needle):
    rec = record(location("GB", mechanism="adequacy", adequacy_decision=named))
    result = evaluate(rec, law, day(on))

    loc = only_location(result)
    assert loc["mechanism"] == "adequacy"
    assert loc["adequacy_decision"] == (act or named)
    assert loc["instrument"] == (law.decision(act).instrument if act else None)
    assert sorted(codes(result)) == sorted(unverified(law, act) + ([flag] if flag else []))
    if needle:
        (message,) = [f["message"] for f in result["flags"] if f["code"] == flag]
        assert needle in message
        assert named in message
    assert_severities(result)


# --- what if an act had ended: the act in force, or a predecessor that already expired ---


ASSUMED = {
    # id: (date, named act or None, assumed ended, act relied on, flags besides LAW_UNVERIFIED)
    "act-in-force-gb-2025-assumed-ended": (TODAY, None, "gb-2025", None, ["NO_SAFEGUARD"]),
    "named-gb-2021-its-successor-assumed-ended": (
        TODAY,
        "gb-2021",
        "gb-2025",
        None,
        ["ADEQUACY_NOT_IN_FORCE"],
    ),
    "expired-gb-2021-assumed-ended": (TODAY, None, "gb-2021", "gb-2025", []),
    "expired-extension-assumed-ended": (TODAY, None, "gb-2025-extension", "gb-2025", []),
    "named-gb-2021-expired-extension-assumed-ended": (
        TODAY,
        "gb-2021",
        "gb-2025-extension",
        "gb-2025",
        [],
    ),
    "renewal-adopted-but-assumed-ended": (
        day("2025-12-20"),
        None,
        "gb-2025",
        "gb-2025-extension",
        ["ADEQUACY_ENDING"],
    ),
    "extension-in-force-assumed-ended": (
        day("2025-06-28"),
        None,
        "gb-2025-extension",
        None,
        ["NO_SAFEGUARD"],
    ),
    "bridge-assumed-ended": (day("2021-03-01"), None, "gb-tca-bridge-2021", None, ["NO_SAFEGUARD"]),
}


@pytest.mark.parametrize(
    ("on", "named", "ended", "act", "flags"), ASSUMED.values(), ids=ASSUMED.keys()
)
def test_assume_ended_of_the_act_in_force_and_of_an_expired_one(law, on, named, ended, act, flags):
    safeguard = {"mechanism": "adequacy", "adequacy_decision": named} if named else {}
    rec = record(location("GB", **safeguard))
    result = evaluate(rec, law, on, assume_ended=frozenset({ended}))

    assert result["assumed_ended"] == [ended]
    assert only_location(result)["adequacy_decision"] == (act or named)
    assert sorted(codes(result)) == sorted(unverified(law, act) + flags)
    assert_severities(result)
    if "NO_SAFEGUARD" in flags and ended != "gb-tca-bridge-2021":
        assert f"{ended} is assumed ended" in result["flags"][0]["message"]


def test_named_gb_2021_today_with_gb_2021_assumed_ended_still_relies_on_gb_2025(law):
    ended = frozenset({"gb-2021"})
    named = evaluate(
        record(location("GB", mechanism="adequacy", adequacy_decision="gb-2021")),
        law,
        TODAY,
        assume_ended=ended,
    )
    unnamed = evaluate(record(location("GB", mechanism="adequacy")), law, TODAY, assume_ended=ended)

    assert only_location(unnamed)["adequacy_decision"] == "gb-2025"
    assert only_location(named)["adequacy_decision"] == "gb-2025"
    assert codes(named) == codes(unnamed) == unverified(law, "gb-2025")


def test_named_decision_uncovered_by_an_assumed_end_says_so(law):
    rec = record(location("GB", mechanism="adequacy", adequacy_decision="gb-2021"))
    result = evaluate(rec, law, day("2025-06-28"), assume_ended=frozenset({"gb-2025-extension"}))

    assert codes(result) == ["ADEQUACY_NOT_IN_FORCE"]
    assert "gb-2025-extension is assumed ended" in result["flags"][0]["message"]


# --- an international organisation, and Brazil's first day ---


def test_epo_2025_has_no_territory_and_is_in_force_from_its_notification(law):
    epo = law.decision("epo-2025")
    assert epo.territory is None
    assert epo.kind == "adequacy"
    assert epo.adopted == day("2025-07-15")
    before = {d.id for d in law.decisions_in_force(epo.in_force_from - timedelta(days=1))}
    on = {d.id for d in law.decisions_in_force(epo.in_force_from)}
    assert "epo-2025" not in before
    assert "epo-2025" in on
    # No country resolves to it: a transfer to the Organisation cannot be recorded by country.
    assert all(epo not in law.decisions_for(code) for code in ("DE", "NL", "AT", "CH", ""))


@pytest.mark.parametrize(
    ("country", "eea", "flags"),
    [
        pytest.param("CH", False, ["ADEQUACY_NOT_IN_FORCE"], id="epo-named-for-CH"),
        pytest.param("US", False, ["ADEQUACY_NOT_IN_FORCE"], id="epo-named-for-US"),
        # The Organisation sits in Munich: recorded as DE, the engine sees no transfer at all.
        pytest.param("DE", True, [], id="epo-named-for-DE-seat-is-eea"),
    ],
)
def test_epo_2025_cannot_be_relied_on_for_a_country(law, country, eea, flags):
    rec = record(location(country, mechanism="adequacy", adequacy_decision="epo-2025"))
    result = evaluate(rec, law, TODAY)

    loc = only_location(result)
    assert loc["eea"] is eea
    assert codes(result) == flags
    if flags:
        assert "European Patent Organisation" in result["flags"][0]["message"]
        assert f"not {country}" in result["flags"][0]["message"]
        assert loc["instrument"] is None


BRAZIL = {
    # id: (date, named in the safeguard, act relied on, flags besides LAW_UNVERIFIED and scope)
    "day-before-no-decision": ("2026-01-25", False, None, ["NO_SAFEGUARD"]),
    "first-day-by-law": ("2026-01-26", False, "br-2026", []),
    "named-day-before-adoption": ("2026-01-25", True, None, ["ADEQUACY_NOT_IN_FORCE"]),
    "named-first-day": ("2026-01-26", True, "br-2026", []),
}


@pytest.mark.parametrize(("on", "named", "act", "flags"), BRAZIL.values(), ids=BRAZIL.keys())
def test_brazil_first_day_and_the_day_before(law, on, named, act, flags):
    fields = {"mechanism": "adequacy", "adequacy_decision": "br-2026"} if named else {}
    result = evaluate(record(location("BR", **fields)), law, day(on))

    loc = only_location(result)
    assert loc["adequacy_decision"] == ("br-2026" if named else act)
    assert loc["mechanism"] == ("adequacy" if named or act else None)
    # Nothing attested: each scope condition of br-2026 is unconfirmed on the days it applies.
    scope = ["ADEQUACY_SCOPE_UNCONFIRMED"] * len(scope_codes(law, "br-2026")) if act else []
    assert sorted(codes(result)) == sorted(unverified(law, act) + flags + scope)
    assert_severities(result)


def test_brazil_fully_attested_leaves_only_the_unverified_warning(law):
    safeguard = {"mechanism": "adequacy", "scope_attestations": attest_all(law, "br-2026")}
    result = evaluate(record(location("BR", **safeguard)), law, day("2026-01-26"))

    assert codes(result) == unverified(law, "br-2026")
    assert result["status"] == "compliant"


# --- certification is evidence only from the framework's own start ---


UNMET = "ADEQUACY_CONDITION_UNMET"
CERTIFICATION = {
    # id: (checked on, evaluated on, flags, act relied on)
    "dpf-checked-day-before-start": ("2023-07-09", "2023-07-10", [UNMET]),
    "dpf-checked-on-start": ("2023-07-10", "2023-07-10", []),
    "dpf-evaluated-with-shield-era-check": ("2019-06-01", "2024-01-01", [UNMET]),
    "shield-checked-day-before-start": ("2016-07-11", "2016-07-12", [UNMET]),
    "shield-checked-on-start": ("2016-07-12", "2016-07-12", []),
    "shield-with-safe-harbour-era-check": ("2015-01-01", "2016-08-01", [UNMET]),
    "safe-harbour-checked-in-its-time": ("2010-01-01", "2010-06-01", []),
}
CERTIFIED_ACT = {"2023": "us-dpf-2023", "2024": "us-dpf-2023", "2016": "us-privacy-shield-2016"}


@pytest.mark.parametrize(
    ("checked", "on", "flags"), CERTIFICATION.values(), ids=CERTIFICATION.keys()
)
def test_certification_checked_before_the_framework_started(law, checked, on, flags):
    safeguard = {"mechanism": "adequacy", "certified": True, "certification_checked_on": checked}
    result = evaluate(record(location("US", **safeguard)), law, day(on))

    act = CERTIFIED_ACT.get(on[:4], "us-safe-harbour-2000")
    assert only_location(result)["adequacy_decision"] == act
    assert codes(result) == flags
    assert_severities(result)
    if flags:
        start = law.decision(act).in_force_from.isoformat()
        assert start in result["flags"][0]["message"]
        assert start in (DPF_START.isoformat(), SHIELD_START.isoformat())


# --- scope conditions: attested true, attested false, not attested, adequacy by law ---


def scope_expectation(law, decision_id, attested: dict, by_law: bool) -> list[str]:
    expected = []
    for code in scope_codes(law, decision_id):
        value = attested.get(code)
        if value is False:
            expected.append("ADEQUACY_SCOPE_UNMET")
        elif value is not True:
            expected.append("ADEQUACY_SCOPE_UNCONFIRMED")
    return expected + unverified(law, decision_id)


SCOPE = {
    # id: (country, decision, the stated code and its value or None, attest the rest as,
    #      by law: no safeguard at all)
    "ca-pipeda-attested-true": ("CA", "ca-2002", ("pipeda_applies", True), True, False),
    "ca-pipeda-attested-false": ("CA", "ca-2002", ("pipeda_applies", False), True, False),
    "ca-not-attested": ("CA", "ca-2002", None, None, False),
    "ca-no-safeguard-by-law": ("CA", "ca-2002", None, None, True),
    "kr-fsc-attested-true": ("KR", "kr-2021", ("not_fsc_credit_information", True), True, False),
    "kr-fsc-attested-false": ("KR", "kr-2021", ("not_fsc_credit_information", False), True, False),
    "kr-fsc-only-rest-unconfirmed": (
        "KR",
        "kr-2021",
        ("not_fsc_credit_information", True),
        None,
        False,
    ),
    "kr-no-safeguard-by-law": ("KR", "kr-2021", None, None, True),
    "jp-operator-attested-true": ("JP", "jp-2019", ("appi_business_operator", True), True, False),
    "jp-operator-attested-false": ("JP", "jp-2019", ("appi_business_operator", False), True, False),
    "jp-no-safeguard-by-law": ("JP", "jp-2019", None, None, True),
}


@pytest.mark.parametrize(
    ("country", "decision", "stated", "rest", "by_law"), SCOPE.values(), ids=SCOPE.keys()
)
def test_scope_conditions_per_decision(law, country, decision, stated, rest, by_law):
    attested = {}
    if rest is not None:
        attested = attest_all(law, decision, rest)
    if stated is not None:
        code, value = stated
        assert code in scope_codes(law, decision)  # the codes section 6 fixes
        attested[code] = value
    if by_law:
        rec = record(location(country))
    else:
        safeguard = {"mechanism": "adequacy"}
        if attested:
            safeguard["scope_attestations"] = attested
        rec = record(location(country, **safeguard))
    result = evaluate(rec, law, TODAY)

    loc = only_location(result)
    assert (loc["mechanism"], loc["adequacy_decision"]) == ("adequacy", decision)
    assert sorted(codes(result)) == sorted(scope_expectation(law, decision, attested, by_law))
    assert_severities(result)
    if stated and stated[1] is False:
        (unmet,) = [f for f in result["flags"] if f["code"] == "ADEQUACY_SCOPE_UNMET"]
        assert stated[0] in unmet["message"]
        assert unmet["severity"] == "error"
        assert result["status"] == "flagged"


def test_scope_conditions_with_every_code_attested_are_compliant(law):
    coded = [d for d in law.decisions if d.scope_conditions]
    assert {"ca-2002", "kr-2021", "jp-2019"} <= {d.id for d in coded}
    for decision in coded:
        if decision.territory is None or not decision.in_force_on(TODAY):
            continue
        safeguard = {"mechanism": "adequacy", "scope_attestations": attest_all(law, decision.id)}
        if decision.condition == "certification":
            safeguard.update(certified=True, certification_checked_on=TODAY.isoformat())
        result = evaluate(record(location(decision.territory, **safeguard)), law, TODAY)
        assert codes(result) == unverified(law, decision.id), decision.id


def test_by_law_scope_warning_says_the_condition_is_not_attested(law):
    result = evaluate(record(location("CA")), law, TODAY)

    (flag,) = result["flags"]
    assert flag["code"] == "ADEQUACY_SCOPE_UNCONFIRMED"
    assert "but the recipient meets" not in flag["message"]
    assert "attest" in flag["message"]


# --- SCC modules follow the roles ---


MODULES = {
    # id: (organisation role, module, flagged)
    "processor-module-3": ("processor", 3, False),
    "processor-module-2": ("processor", 2, True),
    "processor-module-1": ("processor", 1, True),
    "processor-module-4": ("processor", 4, True),
    "controller-module-2": ("controller", 2, False),
    "controller-module-3": ("controller", 3, True),
    "controller-module-1": ("controller", 1, True),
}


@pytest.mark.parametrize(("role", "module", "flagged"), MODULES.values(), ids=MODULES.keys())
def test_scc_module_per_organisation_role(law, role, module, flagged):
    rec = record(location("IN", **scc_safeguard(module=module)))
    result = evaluate(rec, law, TODAY, role=role)

    assert codes(result) == (["SCC_MODULE_MISMATCH"] if flagged else [])
    assert result["status"] == ("flagged" if flagged else "compliant")
    if flagged:
        message = result["flags"][0]["message"]
        required = 3 if role == "processor" else 2
        assert f"Module {module}" in message
        assert f"Module {required}" in message
        assert f"as a {role}" in message


def test_an_unknown_role_is_refused(law):
    with pytest.raises(ValueError, match="organisation role"):
        evaluate(record(location("NL")), law, TODAY, role="joint_controller")


# --- importers subject to the GDPR (Art. 3(2)) ---


IMPORTERS = {
    # id: (safeguard, importer_subject_to_gdpr, date, warned)
    "2021-914-importer-subject": (scc_safeguard(), True, TODAY, True),
    "2021-914-importer-not-subject": (scc_safeguard(), False, TODAY, False),
    "2021-914-importer-unstated": (scc_safeguard(), None, TODAY, False),
    "old-set-importer-subject": (
        # Signed by the customer as exporter: 2010/87/EU fits (recital 23; rules 4).
        {
            **scc_safeguard(
                version="2010/87/EU", signed="2019-01-01", module=None, tia="2019-01-01"
            ),
            "exporter": "controller",
        },
        True,
        day("2022-06-01"),
        False,
    ),
    "bcr-importer-subject": (
        {"mechanism": "bcr", "approved_on": "2020-01-01", "tia_completed_on": "2020-01-01"},
        True,
        TODAY,
        False,
    ),
}


@pytest.mark.parametrize(
    ("safeguard", "importer", "on", "warned"), IMPORTERS.values(), ids=IMPORTERS.keys()
)
def test_importer_subject_to_gdpr(law, safeguard, importer, on, warned):
    result = evaluate(record(location("IN", importer=importer, **safeguard)), law, on)

    assert codes(result) == (["SCC_IMPORTER_SUBJECT_TO_GDPR"] if warned else [])
    assert result["status"] == "compliant"
    if warned:
        assert result["flags"][0]["severity"] == "warning"
        assert "Art. 3(2)" in result["flags"][0]["message"]


# --- Art. 49 derogations for a standing sub-processor ---


DEROGATIONS = {
    # An onward transfer's exporter is a processor: explicit consent is no basis (rules 4).
    "explicit_consent": "DEROGATION_NOT_AVAILABLE",
    "contract_performance": "DEROGATION_NOT_AVAILABLE",
    "contract_in_interest": "DEROGATION_NOT_AVAILABLE",
    "public_interest": "DEROGATION_RELIED_ON",
    "legal_claims": "DEROGATION_NOT_AVAILABLE",
    "vital_interests": "DEROGATION_RELIED_ON",
    "public_register": "DEROGATION_RELIED_ON",
    "compelling_legitimate_interests": "DEROGATION_NOT_AVAILABLE",
}


@pytest.mark.parametrize(("ground", "code"), DEROGATIONS.items(), ids=DEROGATIONS.keys())
def test_derogation_grounds_on_an_onward_transfer(law, ground, code):
    """The same grounds rule for a sub-processor's own sub-processor."""
    rec = record(
        location("NL"),
        onward=[onward("Relay Ltd", "IN", mechanism="derogation", derogation=ground)],
    )
    result = evaluate(rec, law, TODAY)

    (flag,) = result["flags"]
    assert (flag["code"], flag["onward"], flag["country"]) == (code, "Relay Ltd", "IN")
    assert result["status"] == ("flagged" if code == "DEROGATION_NOT_AVAILABLE" else "compliant")
    assert flag["message"].startswith("Onward transfer to Relay Ltd: ")


# --- transfer impact assessments: not where an adequacy decision covers every recipient ---


TIA = {
    # id: (country, date, mechanism, act whose coverage matters or None, assume ended)
    "scc-to-CH": ("CH", TODAY, "scc", "ch-2000", None),
    "scc-to-NZ": ("NZ", TODAY, "scc", "nz-2012", None),
    "scc-to-UY": ("UY", TODAY, "scc", "uy-2012", None),
    "bcr-to-AR": ("AR", TODAY, "bcr", "ar-2003", None),
    "scc-to-IL": ("IL", TODAY, "scc", "il-2011", None),
    "scc-to-GB-today": ("GB", TODAY, "scc", "gb-2025", None),
    "scc-to-GB-first-adequacy-day": ("GB", day("2021-06-28"), "scc", "gb-2021", None),
    "scc-to-GB-after-2031-expiry": ("GB", day("2031-12-28"), "scc", None, None),
    "scc-to-US-certification-condition": ("US", TODAY, "scc", "us-dpf-2023", None),
    "scc-to-JP-scope-conditions": ("JP", TODAY, "scc", "jp-2019", None),
    "bcr-to-KR-scope-conditions": ("KR", TODAY, "bcr", "kr-2021", None),
    "scc-to-CA-scope-conditions": ("CA", TODAY, "scc", "ca-2002", None),
    "scc-to-BR-first-day": ("BR", day("2026-01-26"), "scc", "br-2026", None),
    "scc-to-IN-no-decision": ("IN", TODAY, "scc", None, None),
    "scc-to-CH-decision-assumed-ended": ("CH", TODAY, "scc", None, "ch-2000"),
}


@pytest.mark.parametrize(
    ("country", "on", "mechanism", "act", "ended"), TIA.values(), ids=TIA.keys()
)
def test_tia_only_where_no_adequacy_decision_covers_every_recipient(
    law, country, on, mechanism, act, ended
):
    if mechanism == "scc":
        safeguard = scc_safeguard(signed="2021-06-28", tia=None)
    else:
        safeguard = {"mechanism": "bcr", "approved_on": "2020-01-01"}
    result = evaluate(
        record(location(country, **safeguard)),
        law,
        on,
        assume_ended=frozenset({ended} if ended else ()),
    )

    expected = act is None or needs_tia(law, act)
    assert codes(result) == (["TIA_MISSING"] if expected else [])
    # An error since rules 4 (Clause 14 of 2021/914, C-311/18), but a warning for the US while
    # the DPF applies (EDPB information note of 18 July 2023).
    error = expected and act != "us-dpf-2023"
    assert result["status"] == ("flagged" if error else "compliant")
    assert only_location(result)["mechanism"] == mechanism


def test_tia_expectations_pin_the_unconditional_acts(law):
    """CH, NZ, UY, AR and GB today are covered for every recipient; US, JP, KR and CA not."""
    for act in ("ch-2000", "nz-2012", "uy-2012", "ar-2003", "gb-2025"):
        assert not needs_tia(law, act), act
    for act in ("us-dpf-2023", "jp-2019", "kr-2021", "ca-2002"):
        assert needs_tia(law, act), act


# --- LAW_UNVERIFIED only for the acts and SCC sets marked unverified ---


RELIED_ON = {
    # id: (location, date, act relied on)
    "ch-2000-by-law": (location("CH"), TODAY, "ch-2000"),
    "gb-2021-by-law": (location("GB"), day("2024-01-01"), "gb-2021"),
    "gb-2025-extension-by-law": (location("GB"), day("2025-09-01"), "gb-2025-extension"),
    "gb-2025-named-via-gb-2021": (
        location("GB", mechanism="adequacy", adequacy_decision="gb-2021"),
        TODAY,
        "gb-2025",
    ),
    "br-2026-attested": (
        location("BR", mechanism="adequacy", scope_attestations={"lgpd_applies": True}),
        TODAY,
        "br-2026",
    ),
    "us-dpf-2023-certified": (
        location(
            "US",
            mechanism="adequacy",
            certified=True,
            certification_checked_on=days_from_today(-23),
        ),
        TODAY,
        "us-dpf-2023",
    ),
    "bridge-arrangement": (location("GB"), day("2021-02-01"), "gb-tca-bridge-2021"),
}


@pytest.mark.parametrize(("loc", "on", "act"), RELIED_ON.values(), ids=RELIED_ON.keys())
def test_law_unverified_follows_the_act_relied_on(law, loc, on, act):
    result = evaluate(record(loc), law, on)

    assert only_location(result)["adequacy_decision"] == act
    assert [n["code"] for n in result["notes"]] == unverified(law, act)
    assert "LAW_UNVERIFIED" not in [f["code"] for f in result["flags"]]
    if unverified(law, act):
        (note,) = result["notes"]
        assert "severity" not in note  # a caveat about the reference law, not a finding
        assert act in note["message"]
        assert only_location(result)["notes"] == [note]
    assert result["status"] == "compliant"


@pytest.mark.parametrize(
    ("version", "signed", "on"),
    [
        pytest.param("2021/914", "2024-03-01", TODAY, id="scc-2021-914"),
        pytest.param("2010/87/EU", "2019-01-01", day("2022-01-01"), id="scc-2010-87"),
        pytest.param("2002/16/EC", "2009-01-01", day("2015-01-01"), id="scc-2002-16"),
    ],
)
def test_law_unverified_follows_the_scc_set_relied_on(law, version, signed, on):
    assert law.scc_version(version) is not None, f"data/scc-versions.json has no {version}"
    module = 3 if law.scc_version(version).modules else None
    safeguard = scc_safeguard(version=version, signed=signed, module=module, tia=signed)
    if module is None:  # a controller-to-processor set: signed by the customer (rules 4)
        safeguard["exporter"] = "controller"
    result = evaluate(record(location("IN", **safeguard)), law, on)

    assert codes(result) == scc_unverified(law, version)
    assert only_location(result)["instrument"] == law.scc_version(version).instrument


# --- the 2002/16/EC controller-to-processor clauses ---


def _clauses_2002(law):
    version = law.scc_version("2002/16/EC")
    assert version is not None, "data/scc-versions.json does not encode 2002/16/EC"
    return version


def test_2002_16_is_encoded_as_the_law_has_it(law):
    version = _clauses_2002(law)
    assert version.concluded_before == day("2010-05-15")
    assert version.modules == ()
    # Either reading of the transition (2021-09-26 or 2022-12-27) ends by 2022-12-27.
    assert version.valid_until in (day("2021-09-26"), day("2022-12-27"))


OLD_2002 = {
    # id: (signed on, evaluated on (or "last"/"after-last"), flag)
    "signed-before-the-clauses-applied": ("2002-04-02", "2005-01-01", "NO_SAFEGUARD"),
    "signed-on-first-day": ("2002-04-03", "2005-01-01", None),
    "signed-day-before-2010-87": ("2010-05-14", "2015-01-01", None),
    "signed-on-2010-05-15": ("2010-05-15", "2015-01-01", "SCC_SUPERSEDED"),
    "transition-last-day": ("2009-01-01", "last", None),
    "transition-day-after": ("2009-01-01", "after-last", "SCC_SUPERSEDED"),
    "2022-12-28-under-either-reading": ("2009-01-01", "2022-12-28", "SCC_SUPERSEDED"),
}


@pytest.mark.parametrize(("signed", "on", "flag"), OLD_2002.values(), ids=OLD_2002.keys())
def test_2002_16_clauses_over_time(law, signed, on, flag):
    version = _clauses_2002(law)
    if on == "last":
        on_day = version.valid_until
    elif on == "after-last":
        on_day = version.valid_until + timedelta(days=1)
    else:
        on_day = day(on)
    safeguard = scc_safeguard(version="2002/16/EC", signed=signed, module=None, tia=signed)
    rec = record(location("IN", **safeguard))
    result = evaluate(rec, law, on_day, role="controller")

    expected = scc_unverified(law, "2002/16/EC") + ([flag] if flag else [])
    assert sorted(codes(result)) == sorted(expected)
    assert result["status"] == ("flagged" if flag else "compliant")


# --- onward transfers: each a transfer by a processor ---


def test_onward_inside_the_eea_needs_nothing(law):
    rec = record(location("IN", **scc_safeguard()), onward=[onward("Backup GmbH", "DE")])
    result = evaluate(rec, law, TODAY)

    (verdict,) = result["onward_transfers"]
    assert verdict["name"] == "Backup GmbH"
    assert (verdict["eea"], verdict["mechanism"], verdict["flags"]) == (True, None, [])
    assert result["status"] == "compliant"
    assert result["flags"] == []


def test_onward_without_safeguard_flags_the_sub_processor_with_the_onward_name(law):
    rec = record(location("NL"), onward=[onward("Backup GmbH", "DE"), onward("Tally Inc", "IN")])
    result = evaluate(rec, law, TODAY)

    assert result["status"] == "flagged"
    assert [v["name"] for v in result["onward_transfers"]] == ["Backup GmbH", "Tally Inc"]
    (flag,) = result["flags"]
    assert flag == result["onward_transfers"][1]["flags"][0]
    assert (flag["code"], flag["onward"], flag["country"]) == ("NO_SAFEGUARD", "Tally Inc", "IN")
    assert flag["message"].startswith("Onward transfer to Tally Inc: ")
    assert only_location(result)["flags"] == []


@pytest.mark.parametrize("role", ["processor", "controller"])
@pytest.mark.parametrize(("module", "mismatch"), [(2, True), (3, False)], ids=["mod-2", "mod-3"])
def test_onward_scc_needs_module_3_whatever_the_organisation_role(law, role, module, mismatch):
    organisation_module = 3 if role == "processor" else 2
    rec = record(
        location("IN", **scc_safeguard(module=organisation_module)),
        onward=[onward("Tally Inc", "US", **scc_safeguard(module=module))],
    )
    result = evaluate(rec, law, TODAY, role=role)

    assert only_location(result)["flags"] == []
    assert codes(result) == (["SCC_MODULE_MISMATCH"] if mismatch else [])
    if mismatch:
        flag = result["flags"][0]
        assert flag["onward"] == "Tally Inc"
        assert "Module 3" in flag["message"]
        assert "a processor" in flag["message"]
    assert result["status"] == ("flagged" if mismatch else "compliant")


ONWARD_ADEQUATE = {
    # id: (onward location, date, act relied on, flags besides LAW_UNVERIFIED)
    "onward-CH-no-safeguard": (onward("Alp AG", "CH"), TODAY, "ch-2000", []),
    "onward-CH-scc-without-tia": (
        onward("Alp AG", "CH", **scc_safeguard(tia=None)),
        TODAY,
        None,
        [],
    ),
    "onward-GB-today": (onward("Thames Ltd", "GB"), TODAY, "gb-2025", []),
    "onward-GB-in-the-bridge": (
        onward("Thames Ltd", "GB"),
        day("2021-03-01"),
        "gb-tca-bridge-2021",
        [],
    ),
    "onward-CA-not-attested": (
        onward("Maple Inc", "CA"),
        TODAY,
        "ca-2002",
        ["ADEQUACY_SCOPE_UNCONFIRMED"],
    ),
    "onward-US-uncertified": (
        onward("Tally Inc", "US", mechanism="adequacy", certified=False),
        TODAY,
        "us-dpf-2023",
        ["ADEQUACY_CONDITION_UNMET"],
    ),
    "onward-importer-subject-to-gdpr": (
        onward("Tally Inc", "IN", importer=True, **scc_safeguard()),
        TODAY,
        None,
        ["SCC_IMPORTER_SUBJECT_TO_GDPR"],
    ),
}


@pytest.mark.parametrize(
    ("transfer", "on", "act", "flags"), ONWARD_ADEQUATE.values(), ids=ONWARD_ADEQUATE.keys()
)
def test_onward_transfers_are_evaluated_like_locations(law, transfer, on, act, flags):
    rec = record(location("NL"), onward=[transfer])
    result = evaluate(rec, law, on, copies=set())

    (verdict,) = result["onward_transfers"]
    assert verdict["name"] == transfer["name"]
    if act:
        assert verdict["adequacy_decision"] == act
    assert sorted(codes(result)) == sorted(unverified(law, act) + flags)
    assert all(flag["onward"] == transfer["name"] for flag in result["flags"])
    assert_severities(result)
    if on == day("2021-03-01"):
        assert verdict["mechanism"] == BRIDGE


def test_a_break_anywhere_in_the_chain_flags_the_sub_processor(law):
    rec = record(
        location("CH"),
        location("IN", **scc_safeguard()),
        onward=[
            onward("Alp AG", "CH"),
            onward("Relay Ltd", "SG", mechanism="derogation", derogation="legal_claims"),
        ],
    )
    result = evaluate(rec, law, TODAY)

    assert result["status"] == "flagged"
    assert [(f["code"], f.get("onward")) for f in result["flags"]] == [
        ("DEROGATION_NOT_AVAILABLE", "Relay Ltd")
    ]
    assert [loc["flags"] for loc in result["locations"]] == [[], []]


# --- through the API ---


ADEQUACY = "/v1/adequacy-decisions"
ALLOWED = "/v1/allowed-processors"


@pytest.fixture
def create(client, staff):
    def post(body: dict) -> dict:
        response = client.post(URL, json=body, headers=staff)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return post


def test_create_with_onward_transfers_and_scope_attestations(client, staff, create, law):
    body = vendor(
        "Maple Analytics",
        location("CA", mechanism="adequacy", scope_attestations=attest_all(law, "ca-2002")),
        location(
            "KR", mechanism="adequacy", scope_attestations={"not_fsc_credit_information": False}
        ),
        effective_on="2025-01-01",
        onward_transfers=[
            {**onward("Backup GmbH", "DE", "backup"), "legal_entity": "Backup GmbH"},
            onward("Tally Inc", "IN", importer=True, **scc_safeguard()),
        ],
    )
    created = create(body)

    assert created["onward_transfers"][0]["legal_entity"] == "Backup GmbH"
    assert created["locations"][0]["safeguard"]["scope_attestations"] == attest_all(law, "ca-2002")
    verdict = created["compliance"]
    assert verdict["status"] == "flagged"
    ca, kr = verdict["locations"]
    assert (ca["adequacy_decision"], ca["flags"]) == ("ca-2002", [])
    assert kr["adequacy_decision"] == "kr-2021"
    kr_codes = [f["code"] for f in kr["flags"]]
    assert kr_codes[0] == "ADEQUACY_SCOPE_UNMET"
    assert sorted(kr_codes) == sorted(
        scope_expectation(law, "kr-2021", {"not_fsc_credit_information": False}, False)
    )
    assert [v["name"] for v in verdict["onward_transfers"]] == ["Backup GmbH", "Tally Inc"]
    onward_flags = [(f["code"], f.get("onward")) for f in verdict["flags"] if "onward" in f]
    assert onward_flags == [("SCC_IMPORTER_SUBJECT_TO_GDPR", "Tally Inc")]
    # What was stored reads back the same.
    again = client.get(f"{URL}/{created['id']}", headers=staff).get_json()
    assert again["onward_transfers"] == created["onward_transfers"]
    assert again["compliance"] == verdict


BAD_BODIES = {
    # id: (overrides of the vendor body, expected pointer)
    "unknown-scope-code": (
        {
            "locations": [
                location("CA", mechanism="adequacy", scope_attestations={"is_a_bank": True})
            ]
        },
        "/locations/0/safeguard/scope_attestations/is_a_bank",
    ),
    "unknown-scope-code-of-named-decision": (
        {
            "locations": [
                location(
                    "JP",
                    mechanism="adequacy",
                    adequacy_decision="jp-2019",
                    scope_attestations={"pipeda_applies": True},
                )
            ]
        },
        "/locations/0/safeguard/scope_attestations/pipeda_applies",
    ),
    "scope-attestations-on-scc": (
        {
            "locations": [
                location("CA", **scc_safeguard(), scope_attestations={"pipeda_applies": True})
            ]
        },
        "/locations/0/safeguard/scope_attestations",
    ),
    "scope-attestations-where-no-conditions-CH": (
        {
            "locations": [
                location("CH", mechanism="adequacy", scope_attestations={"pipeda_applies": True})
            ]
        },
        "/locations/0/safeguard/scope_attestations",
    ),
    "scope-attestations-on-named-gb-2021": (
        {
            "locations": [
                location(
                    "GB",
                    mechanism="adequacy",
                    adequacy_decision="gb-2021",
                    scope_attestations={"pipeda_applies": True},
                )
            ]
        },
        "/locations/0/safeguard/scope_attestations",
    ),
    "onward-unknown-scope-code": (
        {
            "onward_transfers": [
                onward("Maple Inc", "CA", mechanism="adequacy", scope_attestations={"x_y": True})
            ]
        },
        "/onward_transfers/0/safeguard/scope_attestations/x_y",
    ),
    "onward-nested-deeper": (
        {"onward_transfers": [{**onward("Tally Inc", "DE"), "onward_transfers": []}]},
        "/onward_transfers/0/onward_transfers",
    ),
    "onward-named-like-itself": (
        {"onward_transfers": [onward("Backup GmbH", "DE"), onward("  acme   CLOUD ", "DE")]},
        "/onward_transfers/1/name",
    ),
    "onward-listed-twice": (
        {"onward_transfers": [onward("Tally Inc", "DE"), onward("tally inc", "DE")]},
        "/onward_transfers/1/activity",
    ),
    "fifty-one-onward-transfers": (
        {"onward_transfers": [onward(f"Sub {n}", "DE") for n in range(51)]},
        "/onward_transfers",
    ),
    "epo-2025-named-for-DE": (
        {"locations": [location("DE", mechanism="adequacy", adequacy_decision="epo-2025")]},
        "/locations/0/safeguard/adequacy_decision",
    ),
    "epo-2025-named-for-CH": (
        {"locations": [location("CH", mechanism="adequacy", adequacy_decision="epo-2025")]},
        "/locations/0/safeguard/adequacy_decision",
    ),
    "bridge-named-as-adequacy": (
        {
            "locations": [
                location("GB", mechanism="adequacy", adequacy_decision="gb-tca-bridge-2021")
            ]
        },
        "/locations/0/safeguard/adequacy_decision",
    ),
}


@pytest.mark.parametrize(("overrides", "pointer"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_legal_input_is_422_with_its_pointer(client, staff, overrides, pointer):
    body = {**vendor("Acme Cloud", effective_on="2025-01-01"), **overrides}
    response = client.post(URL, json=body, headers=staff)

    assert pointers(response) == [pointer]
    listed = client.get(URL, headers=staff).get_json()["items"]
    assert listed == []  # nothing written


def test_fifty_onward_transfers_are_accepted(create):
    body = vendor("Acme Cloud", onward_transfers=[onward(f"Sub {n}", "DE") for n in range(50)])
    assert len(create(body)["onward_transfers"]) == 50


def test_patch_checks_onward_transfers_and_the_name_against_them(client, staff, create):
    created = create(vendor("Acme Cloud", onward_transfers=[onward("Tally Inc", "DE")]))
    url = f"{URL}/{created['id']}"

    def send(changes):
        headers = {**staff, "If-Match": current_etag(client, staff, created["id"])}
        return client.patch(url, json=changes, headers=headers)

    selfish = {"onward_transfers": [onward("ACME cloud", "DE")]}
    assert pointers(send(selfish)) == ["/onward_transfers/0/name"]
    assert pointers(send({"name": "tally  inc"})) == ["/name"]
    nested = {"onward_transfers": [{**onward("Tally Inc", "DE"), "onward_transfers": []}]}
    assert pointers(send(nested)) == ["/onward_transfers/0/onward_transfers"]
    unknown = {
        "locations": [location("KR", mechanism="adequacy", scope_attestations={"nope": False})]
    }
    assert pointers(send(unknown)) == ["/locations/0/safeguard/scope_attestations/nope"]
    assert client.get(url, headers=staff).get_json()["version"] == 1


@pytest.mark.parametrize(
    ("as_of", "ended", "status", "mechanism", "act", "flags"),
    [
        pytest.param(
            "2021-03-01", None, "compliant", BRIDGE, "gb-tca-bridge-2021", [], id="bridge"
        ),
        pytest.param(
            "2025-03-01", None, "compliant", "adequacy", "gb-2021", ["ADEQUACY_ENDING"], id="sunset"
        ),
        pytest.param(
            "2025-06-28", None, "compliant", "adequacy", "gb-2025-extension", [], id="extension"
        ),
        pytest.param(TODAY.isoformat(), None, "compliant", "adequacy", "gb-2025", [], id="today"),
        pytest.param(
            TODAY.isoformat(),
            "gb-2025",
            "flagged",
            "adequacy",
            "gb-2021",
            ["ADEQUACY_NOT_IN_FORCE"],
            id="today-gb-2025-assumed-ended",
        ),
    ],
)
def test_named_gb_2021_through_the_compliance_endpoint(
    client, staff, create, law, as_of, ended, status, mechanism, act, flags
):
    safeguard = {"mechanism": "adequacy", "adequacy_decision": "gb-2021"}
    created = create(vendor("Thames Mail", location("GB", **safeguard), effective_on="2025-01-01"))
    query = {"as_of": as_of, **({"assume_ended": ended} if ended else {})}
    response = client.get(f"{URL}/{created['id']}/compliance", query_string=query, headers=staff)
    assert response.status_code == 200, response.get_data(as_text=True)
    verdict = response.get_json()

    assert (verdict["as_of"], verdict["status"]) == (as_of, status)
    assert verdict["assumed_ended"] == ([ended] if ended else [])
    (loc,) = verdict["locations"]
    assert (loc["mechanism"], loc["adequacy_decision"]) == (mechanism, act)
    relied_on = None if ended else act
    assert sorted(f["code"] for f in verdict["flags"]) == sorted(flags)
    assert [n["code"] for n in verdict["notes"]] == unverified(law, relied_on)


def allowed_ids(client, as_role) -> list[str]:
    response = client.get(ALLOWED, headers=as_role("service"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return [p["id"] for p in response.get_json()["processors"]]


def test_allowed_processors_follow_the_onward_chain(client, as_role, create, patch, clock):
    tally = onward("Tally Inc", "US", **scc_safeguard(module=2))
    broken = create(vendor("Acme Cloud", effective_on="2025-01-01", onward_transfers=[tally]))
    fine = create(vendor("Plain Mail", effective_on="2025-01-01"))

    assert broken["status"] == "active"
    assert broken["compliance"]["status"] == "flagged"
    assert [f["code"] for f in broken["compliance"]["flags"]] == ["SCC_MODULE_MISMATCH"]
    assert allowed_ids(client, as_role) == [fine["id"]]

    fixed = onward("Tally Inc", "US", **scc_safeguard(module=3))
    patched = patch(broken["id"], {"onward_transfers": [fixed]})

    assert patched["compliance"]["status"] == "compliant"
    assert allowed_ids(client, as_role) == [broken["id"], fine["id"]]

    # Breaking the chain once more is material: out again only when its notice has run.
    rebroken = patch(broken["id"], {"onward_transfers": [tally]})
    assert allowed_ids(client, as_role) == [broken["id"], fine["id"]]
    clock.today = date.fromisoformat(rebroken["pending_change"]["effective_on"])
    assert allowed_ids(client, as_role) == [fine["id"]]


def test_patching_onward_transfers_is_versioned_audited_and_announced(
    client, as_role, staff, create, patch
):
    chain = [onward("Backup GmbH", "DE"), onward("Spare BV", "NL")]
    created = create(vendor("Acme Cloud", onward_transfers=chain))
    new_chain = [onward("Backup GmbH", "DE")]  # one recipient fewer: housekeeping, at once
    patched = patch(created["id"], {"onward_transfers": new_chain})
    assert patched["version"] == 2

    history = client.get(f"{URL}/{created['id']}/history", headers=staff).get_json()
    versions = history["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    onward_names = [t["name"] for t in versions[0]["record"]["onward_transfers"]]
    assert onward_names == ["Backup GmbH", "Spare BV"]
    assert versions[1]["record"]["onward_transfers"] == patched["onward_transfers"]

    audit = client.get(
        "/v1/audit", query_string={"object_id": created["id"]}, headers=as_role("admin")
    ).get_json()["items"]
    assert [e["action"] for e in audit] == ["subprocessor.create", "subprocessor.update"]
    change = audit[1]["change"]["onward_transfers"]
    assert change == {
        "from": created["onward_transfers"],
        "to": patched["onward_transfers"],
    }

    feed = client.get("/v1/changes", headers=staff).get_json()["items"]
    assert [item["type"] for item in feed] == ["subprocessor.announced", "subprocessor.changed"]
    assert "onward_transfers" in feed[1]["changes"]
    assert feed[1]["changes"]["onward_transfers"]["to"] == patched["onward_transfers"]
    assert feed[1]["subprocessor"]["onward_transfers"] == patched["onward_transfers"]


def test_onward_module_2_is_a_mismatch_for_a_controller_organisation(app_with, tokens):
    app = app_with(organisation_role="controller")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens['procurement']}"}
    body = vendor(
        "Acme Cloud",
        location("IN", **scc_safeguard(module=2)),
        effective_on="2025-01-01",
        onward_transfers=[onward("Tally Inc", "US", **scc_safeguard(module=2))],
    )
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)

    verdict = response.get_json()["compliance"]
    # Module 2 is right for this controller's own transfer (no copy is on file yet).
    assert [f["code"] for f in verdict["locations"][0]["flags"]] == ["SCC_COPY_MISSING"]
    errors = [f for f in verdict["flags"] if f["severity"] == "error"]
    assert [(f["code"], f.get("onward")) for f in errors] == [("SCC_MODULE_MISMATCH", "Tally Inc")]
    assert verdict["status"] == "flagged"


def test_adequacy_decisions_list_acts_with_adoption_continuation_and_scope(client, law):
    response = client.get(ADEQUACY)
    assert response.status_code == 200
    items = {item["id"]: item for item in response.get_json()["items"]}

    assert {"adopted_on", "kind", "continues", "scope_conditions"} <= set(items["gb-2021"])
    assert (items["gb-2021"]["adopted_on"], items["gb-2021"]["continues"]) == ("2021-06-28", None)
    extension = items["gb-2025-extension"]
    assert (extension["adopted_on"], extension["in_force_from"]) == ("2025-06-24", "2025-06-28")
    assert (extension["continues"], extension["expires_on"]) == ("gb-2021", "2025-12-27")
    renewal = items["gb-2025"]
    assert (renewal["adopted_on"], renewal["in_force_from"]) == ("2025-12-19", "2025-12-28")
    assert (renewal["continues"], renewal["expires_on"]) == ("gb-2025-extension", "2031-12-27")
    assert renewal["verified"] is law.decision("gb-2025").verified
    bridge = items["gb-tca-bridge-2021"]
    assert (bridge["kind"], bridge["in_force_from"], bridge["expires_on"]) == (
        "arrangement",
        "2021-01-01",
        "2021-06-27",
    )
    assert {item["kind"] for i, item in items.items() if i != "gb-tca-bridge-2021"} == {"adequacy"}
    ca = items["ca-2002"]["scope_conditions"]
    assert "pipeda_applies" in [c["code"] for c in ca]
    assert all(set(c) == {"code", "text", "source_url", "data_categories"} for c in ca)
    assert all(c["data_categories"] == [] for c in ca)  # every recipient, whatever its data
    assert all(c["source_url"].startswith("https://") for c in ca)
    assert [c["code"] for c in items["kr-2021"]["scope_conditions"]] == scope_codes(law, "kr-2021")
    assert items["ch-2000"]["scope_conditions"] == []
    assert (items["epo-2025"]["territory"], items["epo-2025"]["adopted_on"]) == (None, "2025-07-15")


@pytest.mark.parametrize(
    ("as_of", "gb", "others"),
    [
        pytest.param("2021-03-01", ["gb-tca-bridge-2021"], {}, id="bridge"),
        pytest.param("2025-03-01", ["gb-2021"], {}, id="sunset-due"),
        pytest.param("2025-06-25", ["gb-2021"], {}, id="extension-adopted-not-applying"),
        pytest.param("2025-07-17", ["gb-2025-extension"], {"epo-2025": False}, id="eve-of-epo"),
        pytest.param("2025-07-18", ["gb-2025-extension"], {"epo-2025": True}, id="epo"),
        pytest.param("2026-01-25", ["gb-2025"], {"br-2026": False}, id="eve-of-br"),
        pytest.param("2026-01-26", ["gb-2025"], {"br-2026": True}, id="br"),
    ],
)
def test_adequacy_decisions_as_of_a_date(client, as_of, gb, others):
    response = client.get(ADEQUACY, query_string={"as_of": as_of})
    assert response.status_code == 200
    body = response.get_json()
    assert body["as_of"] == as_of
    items = body["items"]

    assert [item["id"] for item in items if item["territory"] == "GB"] == gb
    listed = {item["id"] for item in items}
    for decision_id, present in others.items():
        assert (decision_id in listed) is present
    if gb == ["gb-tca-bridge-2021"]:
        assert items[[i["id"] for i in items].index("gb-tca-bridge-2021")]["kind"] == "arrangement"


def test_cli_check_matches_the_compliance_report(client, runner, create, as_role):
    create(vendor("Thames Mail", location("GB"), effective_on="2020-06-01"))
    create(
        vendor(
            "Tally Cloud",
            location(
                "US", mechanism="adequacy", certified=True, certification_checked_on=US_CHECKED_ON
            ),
            effective_on="2021-01-01",
        )
    )
    create(
        vendor(
            "Chain Co",
            effective_on="2020-01-01",
            onward_transfers=[onward("Relay Ltd", "IN"), onward("Alp AG", "CH")],
        )
    )
    create(vendor("Maple Data", location("CA"), effective_on=days_from_today(189)))
    admin = as_role("admin")

    for as_of in ("2021-03-01", "2025-03-01", TODAY.isoformat()):
        response = client.get("/v1/compliance", query_string={"as_of": as_of}, headers=admin)
        assert response.status_code == 200, response.get_data(as_text=True)
        api = response.get_json()
        result = runner.invoke(args=["check", "--as-of", as_of, "--json"])
        cli = json.loads(result.stdout)

        assert cli["as_of"] == api["as_of"] == as_of
        assert cli["summary"] == api["summary"], as_of
        assert cli["flagged"] == api["flagged"], as_of
        assert result.exit_code == (1 if api["summary"]["active_flagged"] else 0)
        flagged = {item["name"] for item in api["flagged"]}
        assert "Chain Co" in flagged  # the onward transfer to India has no safeguard
        if as_of == "2021-03-01":
            # The bridge: GB is no transfer; the recent DPF check is no evidence yet.
            assert "Thames Mail" not in flagged
            assert "Tally Cloud" in flagged
        if as_of == "2025-03-01":
            assert api["summary"]["by_flag"].get("ADEQUACY_ENDING") == 1
