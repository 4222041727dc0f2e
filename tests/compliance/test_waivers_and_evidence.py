"""The pure parts of waivers and evidence due: which flags a waiver moves, when it is in
force, and what falls due within 30 days (compliance/waivers.py, compliance/evidence.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import NL, TODAY, days_from_today

from registry.compliance import evidence
from registry.compliance import waivers as rules

WARNING_US = {"code": "CERTIFICATION_CHECK_STALE", "severity": "warning", "country": "US"}
ONWARD_US = {**WARNING_US, "onward": "Relay Inc"}
ERROR_US = {"code": "CERTIFICATION_CHECK_STALE", "severity": "error", "country": "US"}
NOTICE = {"code": "NOTICE_PERIOD_SHORT", "severity": "warning", "country": None}


def waiver(**fields) -> dict:
    return {
        "id": "wvr_1",
        "subprocessor_id": "sp_1",
        "code": "CERTIFICATION_CHECK_STALE",
        "country": "US",
        "reason": "Renewal confirmed",
        "expires_on": days_from_today(10),
        "created_at": f"{TODAY.isoformat()}T08:00:00.000Z",
        "revoked_at": None,
        **fields,
    }


def verdict(*flags: dict) -> dict:
    return {"status": "compliant", "flags": [{**f, "message": "m"} for f in flags], "notes": []}


def test_a_waiver_moves_its_warnings_in_its_country_only():
    other = {**WARNING_US, "country": "IN"}
    applied = rules.apply(verdict(WARNING_US, ONWARD_US, other, NOTICE), [waiver()])
    assert [f["country"] for f in applied["flags"]] == ["IN", None]
    assert [f.get("onward") for f in applied["waived"]] == [None, "Relay Inc"]
    assert applied["waived"][0]["waiver"] == {
        "id": "wvr_1",
        "reason": "Renewal confirmed",
        "expires_on": days_from_today(10),
    }


def test_an_international_organisation_is_named_by_its_id():
    organisation = {"code": "TIA_MISSING", "severity": "warning", "country": None}
    organisation["international_organisation"] = "epo"
    applied = rules.apply(
        verdict(organisation, NOTICE), [waiver(code="TIA_MISSING", country="epo")]
    )
    assert [f.get("international_organisation") for f in applied["waived"]] == ["epo"]
    assert [f["code"] for f in applied["flags"]] == ["NOTICE_PERIOD_SHORT"]
    assert (
        rules.apply(verdict(organisation), [waiver(code="TIA_MISSING", country=None)])["waived"]
        == []
    )


def test_a_waiver_never_moves_an_error_and_no_country_matches_none():
    assert rules.apply(verdict(ERROR_US), [waiver()])["waived"] == []
    notice = waiver(code="NOTICE_PERIOD_SHORT", country=None)
    applied = rules.apply(verdict(NOTICE, WARNING_US), [notice])
    assert [f["code"] for f in applied["waived"]] == ["NOTICE_PERIOD_SHORT"]
    assert rules.apply(verdict(NOTICE), [waiver(code="NOTICE_PERIOD_SHORT")])["waived"] == []


@pytest.mark.parametrize(
    ("days", "state"), [(0, "active"), (9, "active"), (10, "expired"), (11, "expired")]
)
def test_a_waiver_expires_on_expires_on(days, state):
    on = TODAY + timedelta(days=days)
    assert rules.state(waiver(), on) == state
    assert bool(rules.in_force([waiver()], on)) is (state == "active")


def test_in_force_as_the_register_stood():
    made = waiver(revoked_at=f"{days_from_today(2)}T09:00:00.000Z")
    assert rules.state(made, TODAY) == "revoked"
    assert rules.in_force([made], TODAY) == []
    # Before its creation, not yet; after, until its revocation.
    assert rules.in_force([made], TODAY, before=f"{TODAY.isoformat()}T07:00:00.000Z") == []
    assert rules.in_force([made], TODAY, before=f"{days_from_today(1)}T00:00:00.000Z") == [made]
    assert rules.in_force([made], TODAY, before=f"{days_from_today(3)}T00:00:00.000Z") == []


def record(checked_on: str | None = None, review_by: str | None = None, **fields) -> dict:
    safeguard = {"mechanism": "adequacy", "certified": True}
    if checked_on:
        safeguard["certification_checked_on"] = checked_on
    scc = {"mechanism": "scc", "scc_version": "2021/914", "scc_module": 3}
    if review_by:
        scc["tia"] = {"completed_on": "2025-01-01", "review_by": review_by}
    return {
        "id": "sp_1",
        "name": "Nimbus",
        "effective_on": "2025-01-01",
        "locations": [
            NL,
            {"country": "US", "activity": "support", "safeguard": safeguard},
            {"country": "IN", "activity": "processing", "safeguard": scc},
        ],
        **fields,
    }


def test_a_certification_check_is_due_the_day_it_goes_stale():
    # Stale from 366 days after the check (CERTIFICATION_CHECK_STALE: more than 365).
    checked = TODAY - timedelta(days=366 - 30)
    (item,) = evidence.due([record(checked.isoformat())], [], TODAY)
    assert item["kind"] == "certification_check" and item["country"] == "US"
    assert item["due_on"] == days_from_today(30) and item["subprocessor_name"] == "Nimbus"
    later = (checked + timedelta(days=1)).isoformat()
    assert evidence.due([record(later)], [], TODAY) == []  # 31 days ahead
    stale = (checked - timedelta(days=31)).isoformat()
    assert evidence.due([record(stale)], [], TODAY) == []  # stale already: a warning


def test_a_tia_review_is_due_on_review_by_and_its_absence_is_tolerated():
    (item,) = evidence.due([record(review_by=days_from_today(0))], [], TODAY)
    assert (item["kind"], item["due_on"], item["country"]) == (
        "tia_review",
        TODAY.isoformat(),
        "IN",
    )
    assert evidence.due([record(review_by=days_from_today(31))], [], TODAY) == []
    assert evidence.due([record()], [], TODAY) == []
    odd = record()
    odd["locations"][2]["safeguard"]["tia"] = "2025-01-01"
    assert evidence.due([odd], [], TODAY) == []


def test_a_waiver_is_due_on_expires_on_unless_revoked_or_retired():
    (item,) = evidence.due([record()], [waiver()], TODAY)
    assert (item["kind"], item["item"], item["due_on"]) == (
        "waiver_expiry",
        "wvr_1",
        days_from_today(10),
    )
    assert evidence.due([record()], [waiver(revoked_at="2026-01-01T00:00:00.000Z")], TODAY) == []
    retired = record(retired_on=days_from_today(-1))
    assert evidence.due([retired], [waiver()], TODAY) == []


def test_items_come_by_due_date():
    checked = (TODAY - timedelta(days=366 - 20)).isoformat()
    found = evidence.due([record(checked, days_from_today(5))], [waiver()], TODAY)
    assert [i["kind"] for i in found] == ["tia_review", "waiver_expiry", "certification_check"]
