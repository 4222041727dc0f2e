"""Legal scenarios of rules 4, each dated and on both sides of every date boundary it turns on,
each with its source: transfer impact assessments as records (Clause 14 of (EU) 2021/914; CJEU
C-311/18 Schrems II; EDPB Recommendations 01/2020; EDPB information note of 18 July 2023), the
roles the pre-2021 SCC sets were made for (2001/497/EC, 2004/915/EC, 2010/87/EU recital 23),
the exporter's role per sub-processor, explicit consent under the processor role (Art.
49(1)(a), Art. 7(3); EDPB Guidelines 2/2018, 2.1), HR data under the Data Privacy Framework
(Supplemental Principle 9, Annex I to (EU) 2023/1795) and the UK law-enforcement decision
(EU) 2021/1773 (Directive (EU) 2016/680)."""

from __future__ import annotations

from datetime import date

import pytest
from helpers import NL, TODAY, days_from_today, problem, vendor

from registry.compliance.engine import RULES, SEVERITY, evaluate
from registry.compliance.flags import ALSO_WARNING
from registry.law.loader import load_law

URL = "/v1/subprocessors"


@pytest.fixture(scope="module")
def law():
    return load_law()


def day(text: str) -> date:
    return date.fromisoformat(text)


def record(*locations, categories=("user.contact.email",), onward=(), **fields) -> dict:
    return {
        "id": "sp_legal_v3",
        "name": "Legal Co",
        "data_categories": list(categories),
        "locations": list(locations),
        "onward_transfers": list(onward),
        **fields,
    }


def location(country: str, **safeguard) -> dict:
    body = {"country": country, "activity": "processing"}
    if safeguard:
        body["safeguard"] = safeguard
    return body


def scc(version="2021/914", signed="2022-01-10", module=3, **extra) -> dict:
    safeguard = {"mechanism": "scc", "scc_version": version, "signed_on": signed, **extra}
    if module is not None:
        safeguard["scc_module"] = module
    return safeguard


def tia(completed_on="2022-01-05", outcome="no_reason_to_believe", **extra) -> dict:
    return {"completed_on": completed_on, "outcome": outcome, **extra}


def flags(result) -> list[tuple[str, str]]:
    return [(f["code"], f["severity"]) for f in result["flags"]]


def verdict(rec, law, on, **kwargs):
    return evaluate(rec, law, day(on) if isinstance(on, str) else on, **kwargs)


def test_rules_version_is_4():
    """Rules 4: the TIA record and its flags, the roles of the old SCC sets, consent under the
    processor role, the DPF's HR scope: a verdict recorded under rules 3 may differ."""
    assert RULES == 4
    assert SEVERITY["TIA_MISSING"] == "error"
    assert frozenset({"TIA_MISSING"}) == ALSO_WARNING


# --- TIA_MISSING: an error where no adequacy decision covers the destination ---

TIA_MISSING = {
    # id: (country, date, expected flags); SCCs 2021/914 Module 3, no TIA.
    # C-311/18 (16 July 2020), paras 134-135: from the judgment the exporter must assess.
    "india-day-before-schrems-ii": ("IN", "2020-07-15", [("TIA_MISSING", "warning")]),
    "india-day-of-schrems-ii": ("IN", "2020-07-16", [("TIA_MISSING", "error")]),
    # Clause 14 of 2021/914: India has no adequacy decision; the wrong verdict.
    "india-today": ("IN", TODAY, [("TIA_MISSING", "error")]),
    # No adequacy decision covered the US from 2020-07-16 to 2023-07-09 (Schrems II to DPF).
    "us-day-before-dpf": ("US", "2023-07-09", [("TIA_MISSING", "error")]),
    # EDPB information note of 18 July 2023: the EO 14086 safeguards cover every US transfer.
    "us-dpf-first-day": ("US", "2023-07-10", [("TIA_MISSING", "warning")]),
    # Decision 2000/518/EC covers every recipient in Switzerland: no TIA needed (section 7).
    "switzerland-covered": ("CH", TODAY, []),
}


@pytest.mark.parametrize(("country", "on", "expected"), TIA_MISSING.values(), ids=TIA_MISSING)
def test_tia_missing_is_an_error_where_no_adequacy_decision_covers(law, country, on, expected):
    signed = "2020-01-10" if str(on) < "2021-06-27" else "2021-07-01"
    version = "2010/87/EU" if signed < "2021-06-27" else "2021/914"
    module = None if version == "2010/87/EU" else 3
    safeguard = scc(version, signed, module, exporter="controller") if module is None else None
    rec = record(location(country, **(safeguard or scc(signed=signed))))
    result = verdict(rec, law, on)

    assert flags(result) == expected
    assert result["status"] == ("flagged" if ("TIA_MISSING", "error") in expected else "compliant")


def test_tia_missing_for_the_us_is_an_error_when_the_dpf_is_assumed_ended(law):
    """The EO 14086 relief rests on the Commission's assessment in (EU) 2023/1795: what if it
    fell (assume_ended=us-dpf-2023)?"""
    rec = record(location("US", **scc()))

    assert flags(verdict(rec, law, TODAY)) == [("TIA_MISSING", "warning")]
    ended = verdict(rec, law, TODAY, assume_ended=frozenset({"us-dpf-2023"}))
    assert flags(ended) == [("TIA_MISSING", "error")]
    assert "Clause 14" in ended["flags"][0]["message"]


def test_bcr_without_tia_is_an_error_too(law):
    """Art. 47 BCRs need the same assessment (EDPB Recommendations 01/2020, para. 6 scope)."""
    rec = record(location("IN", mechanism="bcr", approved_on="2022-01-01"))

    assert flags(verdict(rec, law, "2023-01-01")) == [("TIA_MISSING", "error")]
    assessed = record(
        location("IN", mechanism="bcr", approved_on="2022-01-01", tia=tia("2022-12-31"))
    )
    assert flags(verdict(assessed, law, "2023-01-01")) == []


def test_a_tia_completed_after_the_date_is_no_tia_on_it(law):
    """Clause 14(b): the assessment precedes the transfer; one made later does not count."""
    rec = record(location("IN", **scc(tia=tia("2023-03-01"))))

    assert flags(verdict(rec, law, "2023-02-28")) == [("TIA_MISSING", "error")]
    assert flags(verdict(rec, law, "2023-03-01")) == []


def test_the_bare_date_shorthand_still_counts(law):
    rec = record(location("IN", **scc(signed="2021-07-01", tia_completed_on="2022-01-05")))

    assert flags(verdict(rec, law, "2022-01-04")) == [("TIA_MISSING", "error")]
    assert flags(verdict(rec, law, "2022-01-05")) == []


# --- TIA_OUTCOME_PROBLEMATIC and TIA_REVIEW_DUE (EDPB Recommendations 01/2020 steps 3-6) ---


OUTCOMES = {
    "no-reason-to-believe": (tia(), []),
    # Step 4: measures chosen and recorded.
    "measures-listed": (
        tia(outcome="supplementary_measures", supplementary_measures=["encryption at rest"]),
        [],
    ),
    # Step 4 with nothing recorded: nothing shows the safeguard is effective.
    "measures-none-listed": (
        tia(outcome="supplementary_measures"),
        [("TIA_OUTCOME_PROBLEMATIC", "error")],
    ),
    "measures-blank-list": (
        tia(outcome="supplementary_measures", supplementary_measures=[]),
        [("TIA_OUTCOME_PROBLEMATIC", "error")],
    ),
    # Clause 14(a) cannot be warranted: suspend (Clause 16(b); Schrems II para. 135).
    "problematic": (tia(outcome="problematic"), [("TIA_OUTCOME_PROBLEMATIC", "error")]),
}


@pytest.mark.parametrize(("record_", "expected"), OUTCOMES.values(), ids=OUTCOMES)
def test_tia_outcome(law, record_, expected):
    rec = record(location("IN", **scc(tia=record_)))
    result = verdict(rec, law, "2023-01-01")

    assert flags(result) == expected
    assert result["status"] == ("flagged" if expected else "compliant")


def test_a_problematic_outcome_is_an_error_for_the_us_as_well(law):
    """The EO 14086 relief only softens a missing TIA; an assessment that says the importer
    cannot comply is the exporter's own finding (Clause 14(a))."""
    rec = record(location("US", **scc(tia=tia("2024-01-01", outcome="problematic"))))

    assert flags(verdict(rec, law, "2024-06-01")) == [("TIA_OUTCOME_PROBLEMATIC", "error")]


def test_review_due_the_day_after_review_by(law):
    """EDPB Recommendations 01/2020, step 6: re-evaluate at appropriate intervals; review_by
    is the last day the assessment stands unreviewed."""
    rec = record(location("IN", **scc(tia=tia(review_by="2024-01-31"))))

    assert flags(verdict(rec, law, "2024-01-31")) == []
    due = verdict(rec, law, "2024-02-01")
    assert flags(due) == [("TIA_REVIEW_DUE", "warning")]
    assert "2024-01-31" in due["flags"][0]["message"]
    assert due["status"] == "compliant"


# --- the what-if: a TIA that relied on the DPF era's safeguards ---

RESTS_ON = {
    # id: (completed on, outcome, flagged) — assume_ended=us-dpf-2023, evaluated today.
    # Completed on the DPF's first day (2023-07-10): relied on EO 14086 as assessed in 2023/1795.
    "completed-on-dpf-first-day": ("2023-07-10", "no_reason_to_believe", True),
    "completed-day-before-dpf": ("2023-07-09", "no_reason_to_believe", False),
    "completed-later": ("2024-05-01", "no_reason_to_believe", True),
    # Measures chosen: the assessment did not rest on the Commission's finding alone.
    "measures-chosen": ("2024-05-01", "supplementary_measures", False),
}


@pytest.mark.parametrize(("completed", "outcome", "named"), RESTS_ON.values(), ids=RESTS_ON)
def test_what_if_the_dpf_falls_names_tias_that_relied_on_it(law, completed, outcome, named):
    measures = {"supplementary_measures": ["pseudonymisation"]} if "measures" in outcome else {}
    rec = record(location("US", **scc(tia=tia(completed, outcome, **measures))))

    assert flags(verdict(rec, law, TODAY)) == []
    result = verdict(rec, law, TODAY, assume_ended=frozenset({"us-dpf-2023"}))
    assert flags(result) == ([("TIA_RESTS_ON_ENDED_DECISION", "warning")] if named else [])
    if named:
        assert "us-dpf-2023" in result["flags"][0]["message"]
        assert "assumed" in result["flags"][0]["message"]


# --- the pre-2021 SCC sets carry their roles ---

OLD_SETS = {
    # id: (set, exporter on the safeguard, organisation role, flagged); evaluated 2022-06-01,
    # inside the 2021/914 transition (Art. 4(4): valid until 2022-12-27).
    # 2001/497/EC (Set I), 2004/915/EC (Set II): controller to controller, never a processor.
    "set-i-processor-role": ("2001/497/EC", None, "processor", True),
    "set-i-controller-role": ("2001/497/EC", None, "controller", True),
    "set-ii-customer-signed": ("2004/915/EC", "controller", "processor", True),
    # 2010/87/EU: controller to processor; recital 23 excludes an EU processor's sub-processing.
    "2010-87-processor-role": ("2010/87/EU", None, "processor", True),
    "2010-87-customer-signed": ("2010/87/EU", "controller", "processor", False),
    "2010-87-controller-role": ("2010/87/EU", None, "controller", False),
    "2010-87-processor-signed-as-controller": ("2010/87/EU", "processor", "controller", True),
}


@pytest.mark.parametrize(
    ("version", "exporter", "role", "flagged"), OLD_SETS.values(), ids=OLD_SETS
)
def test_old_sets_cover_only_the_roles_they_were_made_for(law, version, exporter, role, flagged):
    extra = {"exporter": exporter} if exporter else {}
    rec = record(location("US", **scc(version, "2019-05-01", None, tia=tia("2020-08-01"), **extra)))
    result = verdict(rec, law, "2022-06-01", role=role)

    assert flags(result) == ([("SCC_MODULE_MISMATCH", "error")] if flagged else [])
    if flagged:
        assert version in result["flags"][0]["message"]


def test_set_i_for_a_us_sub_processor_is_not_compliant_on_either_side_of_the_transition(law):
    """The issue's wrong verdict: a US sub-processor on 2001/497/EC was called compliant. On
    2022-12-27 (last day of the transition) it is a role mismatch; from 2022-12-28 superseded
    as well (Art. 4(4) of 2021/914)."""
    rec = record(location("US", **scc("2001/497/EC", "2019-05-01", None, tia=tia("2020-08-01"))))

    assert flags(verdict(rec, law, "2022-12-27")) == [("SCC_MODULE_MISMATCH", "error")]
    assert [c for c, _ in flags(verdict(rec, law, "2022-12-28"))] == [
        "SCC_SUPERSEDED",
        "SCC_MODULE_MISMATCH",
    ]


def test_an_onward_transfer_on_2010_87_needs_the_customer_as_exporter(law):
    """Onward transfers are made by a processor (EDPB Opinion 22/2024): recital 23 applies."""
    onward_scc = scc("2010/87/EU", "2019-05-01", None, tia=tia("2020-08-01"))
    by_processor = {"name": "Relay Ltd", **location("US", **onward_scc)}
    by_customer = {
        "name": "Relay Ltd",
        **location("US", **{**onward_scc, "exporter": "controller"}),
    }

    result = verdict(record(location("NL"), onward=[by_processor]), law, "2022-06-01")
    assert [(f["code"], f["onward"]) for f in result["flags"]] == [
        ("SCC_MODULE_MISMATCH", "Relay Ltd")
    ]
    assert verdict(record(location("NL"), onward=[by_customer]), law, "2022-06-01")["flags"] == []


# --- the exporter's role per sub-processor decides the 2021/914 module ---


@pytest.mark.parametrize(
    ("exporter_role", "module", "flagged"),
    [
        pytest.param(None, 3, False, id="default-processor-module-3"),
        pytest.param(None, 2, True, id="default-processor-module-2"),
        pytest.param("controller", 2, False, id="controller-module-2"),
        pytest.param("controller", 3, True, id="controller-module-3"),
        pytest.param("processor", 3, False, id="processor-module-3"),
    ],
)
def test_exporter_role_per_subprocessor_picks_the_module(law, exporter_role, module, flagged):
    """Clause 1 and the module choice of 2021/914: Module 2 controller to processor, Module 3
    processor to processor; a company is a controller for its own staff data."""
    rec = record(location("IN", **scc(module=module, tia=tia())), exporter_role=exporter_role)
    result = verdict(rec, law, "2023-01-01")

    assert flags(result) == ([("SCC_MODULE_MISMATCH", "error")] if flagged else [])


def test_the_organisation_role_is_the_default_and_the_record_overrides_it(law):
    rec = record(location("IN", **scc(module=2, tia=tia())))

    assert flags(verdict(rec, law, "2023-01-01", role="controller")) == []
    processor = {**rec, "exporter_role": "processor"}
    assert flags(verdict(processor, law, "2023-01-01", role="controller")) == [
        ("SCC_MODULE_MISMATCH", "error")
    ]


# --- Art. 49(1)(a) explicit consent under the processor role ---


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        # Art. 7(3), EDPB Guidelines 2/2018 section 2.1: a processor cannot collect it.
        pytest.param("processor", [("DEROGATION_NOT_AVAILABLE", "error")], id="processor"),
        pytest.param("controller", [("DEROGATION_RELIED_ON", "warning")], id="controller"),
    ],
)
def test_explicit_consent_is_no_basis_for_a_processor(law, role, expected):
    """The issue's wrong verdict: explicit consent for a standing hosting vendor."""
    rec = record(location("IN", mechanism="derogation", derogation="explicit_consent"))
    result = verdict(rec, law, "2023-01-01", role=role)

    assert flags(result) == expected
    assert "49(1)(a)" in result["flags"][0]["message"]


# --- HR data under the Data Privacy Framework (Supplemental Principle 9) ---

DPF = {
    "mechanism": "adequacy",
    "adequacy_decision": "us-dpf-2023",
    "certified": True,
    "certification_checked_on": "2024-01-10",
}

HR = {
    # id: (categories, attestation, expected flags); evaluated 2024-06-01.
    "contact-data-needs-no-hr-coverage": (["user.contact.email"], None, []),
    "job-title-not-attested": (
        ["user.job_title"],
        None,
        [("ADEQUACY_SCOPE_UNCONFIRMED", "warning")],
    ),
    "workplace-attested": (["user.workplace"], True, []),
    "workplace-attested-not-covered": (
        ["user.workplace"],
        False,
        [("ADEQUACY_SCOPE_UNMET", "error")],
    ),
    # `user` includes job titles and workplaces.
    "all-user-data-not-attested": (["user"], None, [("ADEQUACY_SCOPE_UNCONFIRMED", "warning")]),
}


@pytest.mark.parametrize(("categories", "attested", "expected"), HR.values(), ids=HR)
def test_dpf_transfers_of_hr_data_need_hr_coverage(law, categories, attested, expected):
    safeguard = dict(DPF)
    if attested is not None:
        safeguard["scope_attestations"] = {"dpf_hr_covered": attested}
    rec = record(location("US", **safeguard), categories=categories)
    result = verdict(rec, law, "2024-06-01")

    assert flags(result) == expected
    if expected:
        assert "dpf_hr_covered" in result["flags"][0]["message"]


def test_hr_coverage_is_asked_only_from_the_dpf_start(law):
    """2023-07-10: the DPF (and its HR condition) applies; on 2023-07-09 no decision covers
    the US at all."""
    rec = record(
        location("US", **{**DPF, "certification_checked_on": "2023-07-10"}),
        categories=["user.job_title"],
    )

    before = verdict(rec, law, "2023-07-09")
    assert [c for c, _ in flags(before)] == ["ADEQUACY_NOT_IN_FORCE"]
    assert flags(verdict(rec, law, "2023-07-10")) == [("ADEQUACY_SCOPE_UNCONFIRMED", "warning")]


# --- through the API: the TIA record, exporter_role, 2021/1773 ---


def test_the_tia_record_is_validated_with_pointers(client, staff):
    body = vendor(
        "Bad TIA",
        location("IN", **scc(tia={"completed_on": "2024-01-01", "outcome": "fine"})),
    )
    errors = problem(client.post(URL, json=body, headers=staff), 422)["errors"]
    assert [e["pointer"] for e in errors] == ["/locations/0/safeguard/tia/outcome"]

    body = vendor(
        "Early Review",
        location("IN", **scc(tia=tia("2024-01-01", review_by="2023-12-31"))),
    )
    errors = problem(client.post(URL, json=body, headers=staff), 422)["errors"]
    assert [e["pointer"] for e in errors] == ["/locations/0/safeguard/tia/review_by"]


def test_the_shorthand_and_the_record_must_agree(client, staff, post):
    """tia_completed_on stays as shorthand: with tia the same date is accepted, another is 422."""
    differing = location("IN", **scc(tia=tia("2024-01-01"), tia_completed_on="2024-01-02"))
    errors = problem(client.post(URL, json=vendor("Two Dates", differing), headers=staff), 422)
    assert [e["pointer"] for e in errors["errors"]] == ["/locations/0/safeguard/tia_completed_on"]

    same = location("IN", **scc(tia=tia("2024-01-01"), tia_completed_on="2024-01-01"))
    created = post(vendor("Same Date", same, effective_on="2025-01-01"))
    assert "TIA_MISSING" not in [f["code"] for f in created["compliance"]["flags"]]


def test_exporter_is_only_for_the_pre_2021_sets(client, staff):
    body = vendor("Modern", location("IN", **scc(tia=tia(), exporter="controller")))
    errors = problem(client.post(URL, json=body, headers=staff), 422)["errors"]
    assert [e["pointer"] for e in errors] == ["/locations/0/safeguard/exporter"]


@pytest.mark.parametrize("named", ["gb-led-2021", "2021/1773"])
def test_the_uk_law_enforcement_decision_is_refused_with_its_reason(client, staff, named):
    """(EU) 2021/1773 finds adequacy under Directive (EU) 2016/680 (law enforcement), not the
    GDPR: naming it for a sub-processor is a clear 422, not an unknown id."""
    body = vendor(
        "UK Police Data",
        {
            "country": "GB",
            "activity": "processing",
            "safeguard": {"mechanism": "adequacy", "adequacy_decision": named},
        },
    )
    (error,) = problem(client.post(URL, json=body, headers=staff), 422)["errors"]
    assert error["pointer"] == "/locations/0/safeguard/adequacy_decision"
    assert "2016/680" in error["detail"] and "2021/1773" in error["detail"]
    assert "gb-2021" in error["detail"]
    assert "No adequacy decision has this id" not in error["detail"]


def test_exporter_role_is_recorded_staff_only_and_decides_the_module(
    client, staff, cust_a, post, patch
):
    staff_data = location("IN", **scc(module=2, tia=tia()))
    created = post(
        vendor("Payroll Co", staff_data, effective_on="2025-01-01", exporter_role="controller")
    )
    assert created["exporter_role"] == "controller"
    assert created["compliance"]["status"] == "compliant"

    # Back to the organisation's role (processor): Module 2 no longer fits, and the verdict is
    # worse, so the change is material (announced, not in force yet).
    changed = patch(created["id"], {"exporter_role": None})
    assert changed["pending_change"]["changes"] == {"exporter_role": None}

    seen = client.get(f"{URL}/{created['id']}", headers=cust_a).get_json()
    assert "exporter_role" not in seen and "exporter_role" not in str(seen)

    bad = vendor("Wrong Role", exporter_role="owner")
    errors = problem(client.post(URL, json=bad, headers=staff), 422)["errors"]
    assert [e["pointer"] for e in errors] == ["/exporter_role"]


def test_customers_never_see_the_tia_record(client, cust_a, post):
    created = post(
        vendor(
            "Assessed Co",
            NL,
            location("IN", **scc(tia=tia(laws_assessed=["IT Act 2000 s. 69"]))),
            effective_on="2025-01-01",
        )
    )

    seen = client.get(f"{URL}/{created['id']}", headers=cust_a).get_data(as_text=True)
    assert "IT Act 2000" not in seen and '"tia"' not in seen and "no_reason_to_believe" not in seen


def test_adding_a_tia_to_an_existing_transfer_is_a_remedy(client, staff, post, patch):
    """A TIA added to SCCs to India turns an error into no flag: applied at once, not material."""
    created = post(vendor("Late Assessment", location("IN", **scc()), effective_on="2025-01-01"))
    assert "TIA_MISSING" in [f["code"] for f in created["compliance"]["flags"]]

    fixed = patch(
        created["id"], {"locations": [location("IN", **scc(tia=tia(days_from_today(-1))))]}
    )
    assert fixed["pending_change"] is None
    assert "TIA_MISSING" not in [f["code"] for f in fixed["compliance"]["flags"]]
    changes = client.get("/v1/changes?limit=100", headers=staff).get_json()["items"]
    last = [c for c in changes if c.get("subprocessor_id") == created["id"]][-1]
    assert last["material"] is False
