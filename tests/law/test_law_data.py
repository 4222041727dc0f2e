"""The reference law in data/: its facts, its sources, and how strictly it is loaded."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import DECISIONS, EXPIRES, UNVERIFIED

from registry.law.loader import (
    DECISIONS_FILE,
    DEFAULT_DATA_DIR,
    DEMO_CATALOGUE_FILE,
    LAW_FILES,
    MEMBERSHIP_FILE,
    ORGANISATIONS_FILE,
    SCC_FILE,
    Law,
    LawDataError,
    countries,
    law_from_records,
    law_to_records,
    load_demo_catalogue,
    load_law,
    taxonomy,
)

DAY = timedelta(days=1)

# First day inside the EEA (sources in data/); AT, FI and SE joined the EEA
# Agreement on 1994-01-01 as EFTA States, a year before their EU accession.
EEA_FROM = {
    **dict.fromkeys(["BE", "DE", "FR", "IT", "LU", "NL"], date(1958, 1, 1)),
    **dict.fromkeys(["DK", "IE", "GB"], date(1973, 1, 1)),
    "GR": date(1981, 1, 1),
    **dict.fromkeys(["ES", "PT"], date(1986, 1, 1)),
    **dict.fromkeys(["AT", "FI", "SE", "IS", "NO"], date(1994, 1, 1)),
    "LI": date(1995, 5, 1),
    **dict.fromkeys(["CY", "CZ", "EE", "HU", "LV", "LT", "MT", "PL", "SK", "SI"], date(2004, 5, 1)),
    **dict.fromkeys(["BG", "RO"], date(2007, 1, 1)),
    "HR": date(2013, 7, 1),
}

# Territories with an ISO code of their own where EU law applies or applied, per
# data/eea-membership.json: first and last day inside (None while still inside).
TERRITORIES = {
    "AX": (date(1994, 1, 1), None),
    **dict.fromkeys(["GF", "GP", "MQ", "RE", "MF"], (date(1958, 1, 1), None)),
    "YT": (date(2014, 1, 1), None),
    "BL": (date(1958, 1, 1), date(2011, 12, 31)),
    "GL": (date(1973, 1, 1), date(1985, 1, 31)),
    "GI": (date(1973, 1, 1), date(2020, 12, 31)),
}
TERRITORIES_TODAY = {code for code, (_, until) in TERRITORIES.items() if until is None}

US_DECISIONS = {"us-safe-harbour-2000", "us-privacy-shield-2016", "us-dpf-2023"}

# The date of each act (the decision's own date; for the TCA bridge, the day it was signed).
ADOPTED_ON = {
    "ch-2000": "2000-07-26",
    "us-safe-harbour-2000": "2000-07-26",
    "ca-2002": "2001-12-20",
    "ar-2003": "2003-06-30",
    "gg-2003": "2003-11-21",
    "im-2004": "2004-04-28",
    "je-2008": "2008-05-08",
    "fo-2010": "2010-03-05",
    "ad-2010": "2010-10-19",
    "il-2011": "2011-01-31",
    "uy-2012": "2012-08-21",
    "nz-2012": "2012-12-19",
    "us-privacy-shield-2016": "2016-07-12",
    "jp-2019": "2019-01-23",
    "gb-tca-bridge-2021": "2020-12-30",
    "gb-2021": "2021-06-28",
    "gb-2025-extension": "2025-06-24",
    "gb-2025": "2025-12-19",
    "kr-2021": "2021-12-17",
    "us-dpf-2023": "2023-07-10",
    "epo-2025": "2025-07-15",
    "br-2026": "2026-01-26",
}

# The scope conditions each act sets, by code; every other act with a scope note says why not.
SCOPE_CONDITIONS = {
    "ca-2002": ["pipeda_applies"],
    "fo-2010": ["faroese_act_applies"],
    "il-2011": ["automated_processing"],
    "jp-2019": ["appi_business_operator", "not_appi_article_76_purpose"],
    "kr-2021": ["not_fsc_credit_information", "not_religious_or_political_party_processing"],
    "br-2026": ["lgpd_applies"],
    "us-dpf-2023": ["dpf_hr_covered"],
}

# The United Kingdom after Brexit, one act after another: the TCA bridge, the 2021 decision,
# its extension and its renewal.
GB_ACTS = ["gb-tca-bridge-2021", "gb-2021", "gb-2025-extension", "gb-2025"]


@pytest.fixture(scope="module")
def law() -> Law:
    return load_law()


def us_decisions_on(law: Law, on: date) -> list[str]:
    return [d.id for d in law.decisions_in_force(on, "US")]


# EEA membership


@pytest.mark.parametrize("country", sorted(EEA_FROM))
def test_country_is_eea_from_its_accession_and_not_the_day_before(law: Law, country: str) -> None:
    joined = EEA_FROM[country]
    assert not law.is_eea(country, joined - DAY)
    assert law.is_eea(country, joined)
    assert law.is_eea(country, date(2020, 12, 31))


def test_eea_today_is_eu27_plus_iceland_liechtenstein_norway(law: Law) -> None:
    expected = sorted(set(EEA_FROM) - {"GB"})
    assert len(expected) == 30
    assert law.eea_countries(date(2026, 1, 1)) == sorted([*expected, *TERRITORIES_TODAY])


def test_gb_left_at_the_end_of_the_brexit_transition(law: Law) -> None:
    assert law.is_eea("GB", date(2020, 1, 31))
    assert law.is_eea("GB", date(2020, 2, 1))
    assert law.is_eea("GB", date(2020, 12, 31))
    assert not law.is_eea("GB", date(2021, 1, 1))
    (membership,) = [m for m in law.memberships if m.country == "GB"]
    assert membership.member_until == date(2020, 12, 31)


def test_croatia_joined_on_2013_07_01(law: Law) -> None:
    assert not law.is_eea("HR", date(2013, 6, 30))
    assert law.is_eea("HR", date(2013, 7, 1))


def test_greece_is_gr_and_el_is_not_a_country(law: Law) -> None:
    assert law.is_eea("GR", date(2026, 1, 1))
    assert not law.is_eea("EL", date(2026, 1, 1))
    assert "EL" not in {m.country for m in law.memberships}
    assert "UK" not in {m.country for m in law.memberships}


def test_austria_finland_sweden_note_the_eea_date_before_eu_accession(law: Law) -> None:
    for membership in law.memberships:
        if membership.country in {"AT", "FI", "SE"}:
            assert membership.member_from == date(1994, 1, 1)
            assert "1995" in membership.note
            assert "OJ L 1, 3.1.1994" in membership.source


def test_every_membership_has_a_source(law: Law) -> None:
    assert len(law.memberships) == 31 + len(TERRITORIES)
    for membership in law.memberships:
        assert "OJ " in membership.source or "CELEX" in membership.source
        assert "https://eur-lex.europa.eu/" in membership.source
        assert countries.is_country(membership.country)


# Adequacy decisions


def test_every_decision_of_transfer_law_is_present_with_its_dates(law: Law) -> None:
    assert {d.id for d in law.decisions} == set(DECISIONS)
    for decision_id, (territory, start, _) in DECISIONS.items():
        in_force_from = date.fromisoformat(start)
        decision = law.decision(decision_id)
        assert decision is not None
        assert decision.territory == territory, decision_id
        assert decision.in_force_from == in_force_from, decision_id
        assert not decision.in_force_on(in_force_from - DAY), decision_id
        assert decision.in_force_on(in_force_from), decision_id


def test_safe_harbour_ended_with_schrems_i(law: Law) -> None:
    decision = law.decision("us-safe-harbour-2000")
    assert decision.ended_on == date(2015, 10, 6)
    assert "C-362/14" in decision.ended_by
    assert us_decisions_on(law, date(2015, 10, 5)) == ["us-safe-harbour-2000"]
    assert us_decisions_on(law, date(2015, 10, 6)) == []


def test_privacy_shield_ended_with_schrems_ii(law: Law) -> None:
    decision = law.decision("us-privacy-shield-2016")
    assert decision.ended_on == date(2020, 7, 16)
    assert "C-311/18" in decision.ended_by
    assert us_decisions_on(law, date(2020, 7, 15)) == ["us-privacy-shield-2016"]
    assert us_decisions_on(law, date(2020, 7, 16)) == []


def test_no_us_decision_between_schrems_ii_and_the_dpf(law: Law) -> None:
    day = date(2020, 7, 16)
    while day <= date(2023, 7, 9):
        assert us_decisions_on(law, day) == [], day
        day += DAY
    assert us_decisions_on(law, date(2023, 7, 10)) == ["us-dpf-2023"]
    assert us_decisions_on(law, date(2026, 11, 24)) == ["us-dpf-2023"]


def test_us_decisions_require_certification_and_others_do_not(law: Law) -> None:
    for decision in law.decisions:
        expected = "certification" if decision.id in US_DECISIONS else None
        assert decision.condition == expected, decision.id


def test_gb_2021_expired_on_2025_06_27_and_was_continued_until_2031_12_27(law: Law) -> None:
    decision = law.decision("gb-2021")
    assert decision.expires_on == date(2025, 6, 27)
    assert decision.in_force_on(date(2025, 6, 27))
    assert not decision.in_force_on(date(2025, 6, 28))
    assert "2025-06-27" in decision.notes
    assert "2025-12-27" in decision.notes
    (extension,) = law.continuations("gb-2021")
    assert extension.id == "gb-2025-extension"
    assert extension.in_force_from == date(2025, 6, 28)
    assert extension.expires_on == date(2025, 12, 27)
    assert extension.adopted_on == date(2025, 6, 24)
    (renewal,) = law.continuations("gb-2025-extension")
    assert renewal.id == "gb-2025"
    assert renewal.in_force_from == date(2025, 12, 28)
    assert renewal.expires_on == date(2031, 12, 27)
    assert renewal.adopted_on == date(2025, 12, 19)
    assert law.continuations("gb-2025") == ()
    assert not renewal.in_force_on(date(2031, 12, 28))


def test_gb_acts_follow_each_other_without_gap_or_overlap(law: Law) -> None:
    for earlier, later in itertools.pairwise(GB_ACTS):
        assert law.decision(earlier).last_day() + DAY == law.decision(later).in_force_from
    assert [d.id for d in law.decisions_for("GB")] == GB_ACTS
    day = date(2021, 1, 1)
    while day <= date(2031, 12, 27):
        assert len(law.decisions_in_force(day, "GB")) == 1, day
        day += DAY
    assert law.decisions_in_force(date(2031, 12, 28), "GB") == []


def test_gb_was_covered_by_the_tca_bridge_between_brexit_and_the_2021_decision(law: Law) -> None:
    assert law.is_eea("GB", date(2020, 12, 31))
    assert law.decisions_in_force(date(2020, 12, 31), "GB") == []
    on = date(2021, 3, 1)
    assert not law.is_eea("GB", on)
    (bridge,) = law.decisions_in_force(on, "GB")
    assert bridge.id == "gb-tca-bridge-2021"
    assert bridge.kind == "arrangement"
    assert bridge.continues is None
    assert bridge.adopted_on == date(2020, 12, 30)
    assert "OJ L 444, 31.12.2020" in bridge.instrument
    assert "FINPROV.10A" in bridge.instrument and "782" in bridge.instrument
    assert [d.id for d in law.decisions_in_force(date(2021, 6, 27), "GB")] == [bridge.id]
    assert [d.id for d in law.decisions_in_force(date(2021, 6, 28), "GB")] == ["gb-2021"]
    assert {d.kind for d in law.decisions if d.id != bridge.id} == {"adequacy"}


def test_every_act_has_its_adoption_date_on_or_before_it_applies(law: Law) -> None:
    assert {d.id for d in law.decisions} == set(ADOPTED_ON)
    for decision in law.decisions:
        assert decision.adopted_on == date.fromisoformat(ADOPTED_ON[decision.id]), decision.id
        assert decision.adopted == decision.adopted_on
        assert decision.adopted_on <= decision.in_force_from, decision.id


def test_expiring_acts_are_pinned(law: Law) -> None:
    expiring = {d.id: d.expires_on.isoformat() for d in law.decisions if d.expires_on}
    assert expiring == EXPIRES


def test_scope_conditions_are_coded_where_the_act_sets_them(law: Law) -> None:
    for decision in law.decisions:
        codes = [c.code for c in decision.scope_conditions]
        assert codes == SCOPE_CONDITIONS.get(decision.id, []), decision.id
        for condition in decision.scope_conditions:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", condition.code)
            assert condition.text.strip()
            assert condition.source_url.startswith("https://eur-lex.europa.eu/"), decision.id
        if decision.scope and decision.id not in SCOPE_CONDITIONS:
            assert decision.scope_conditions_note, decision.id
        if decision.scope is None:
            assert decision.scope_conditions_note is None, decision.id


def test_us_frameworks_keep_certification_and_no_scope_code(law: Law) -> None:
    """Certification is the condition; only the DPF codes one scope condition, HR coverage,
    and only for the HR data categories (DPF Supplemental Principle 9, Annex I to 2023/1795)."""
    for decision_id in US_DECISIONS:
        decision = law.decision(decision_id)
        assert decision.condition == "certification"
        assert "certification" in decision.scope_conditions_note
        if decision_id != "us-dpf-2023":
            assert decision.scope_conditions == ()
    (hr,) = law.decision("us-dpf-2023").scope_conditions
    assert hr.code == "dpf_hr_covered"
    assert hr.data_categories == ("user.job_title", "user.workplace")


def test_korea_excludes_fsc_credit_information_and_religious_or_party_processing(law: Law) -> None:
    decision = law.decision("kr-2021")
    by_code = {c.code: c for c in decision.scope_conditions}
    assert "Financial Services Commission" in by_code["not_fsc_credit_information"].text
    religious = by_code["not_religious_or_political_party_processing"].text
    assert "missionary" in religious
    assert "nomination of candidates" in religious
    assert all(c.source_url.endswith("/2022/254/oj") for c in decision.scope_conditions)


def test_only_the_unverified_decisions_are_marked_so(law: Law) -> None:
    for decision in law.decisions:
        assert decision.verified == (decision.id not in UNVERIFIED), decision.id
    for decision_id in UNVERIFIED:
        assert "unverified" in law.decision(decision_id).notes


def test_the_european_patent_organisation_has_no_territory(law: Law) -> None:
    decision = law.decision("epo-2025")
    assert decision.territory is None
    assert "European Patent Organisation" in decision.territory_name
    assert "(EU) 2025/1382" in decision.instrument
    assert decision.source_url == "https://eur-lex.europa.eu/eli/dec_impl/2025/1382/oj"
    assert decision.adopted_on == date(2025, 7, 15)
    assert decision not in law.decisions_in_force(date(2025, 7, 17))
    assert decision in law.decisions_in_force(date(2025, 7, 18))


def test_every_decision_has_a_source_matching_its_instrument(law: Law) -> None:
    for decision in law.decisions:
        assert decision.source_url.startswith("https://"), decision.id
        if not decision.verified:
            continue
        if decision.kind == "arrangement":
            assert decision.source_url.startswith("https://eur-lex.europa.eu/"), decision.id
            assert "OJ:L:2020:444" in decision.source_url, decision.id
            continue
        year, number = re.search(r"(\d{4})/(\d+)", decision.instrument).groups()
        assert decision.source_url.startswith("https://eur-lex.europa.eu/eli/dec"), decision.id
        assert decision.source_url.endswith(f"/{year}/{number}/oj"), decision.id


def test_ended_decisions_cite_the_judgment(law: Law) -> None:
    ended = {d.id: d for d in law.decisions if d.ended_on is not None}
    assert set(ended) == {"us-safe-harbour-2000", "us-privacy-shield-2016"}
    for decision in ended.values():
        assert decision.ended_on.isoformat() in decision.ended_by
        assert "ECLI:EU:C:" in decision.notes


def test_brazil_decision_is_in_force_from_2026_01_26(law: Law) -> None:
    assert law.decisions_in_force(date(2026, 1, 25), "BR") == []
    assert [d.id for d in law.decisions_in_force(date(2026, 1, 26), "BR")] == ["br-2026"]
    decision = law.decision("br-2026")
    assert "(EU) 2026/179" in decision.instrument
    assert "28.1.2026" in decision.instrument
    assert decision.source_url == "https://eur-lex.europa.eu/eli/dec_impl/2026/179/oj"


# Standard Contractual Clauses


def test_scc_2021_914(law: Law) -> None:
    version = law.scc_version("2021/914")
    assert version.applies_from == date(2021, 6, 27)
    assert version.concluded_before is None
    assert version.valid_until is None
    assert version.modules == (1, 2, 3, 4)
    assert version.source_url == "https://eur-lex.europa.eu/eli/dec_impl/2021/914/oj"
    assert "Clause 8.3" in version.notes
    assert "Art. 4(4)" in version.notes


@pytest.mark.parametrize("version_id", ["2001/497/EC", "2004/915/EC", "2010/87/EU"])
def test_old_scc_sets_follow_the_transition(law: Law, version_id: str) -> None:
    version = law.scc_version(version_id)
    assert version.concluded_before == date(2021, 9, 27)
    assert version.valid_until == date(2022, 12, 27)
    assert version.modules == ()
    assert version.applies_from < date(2021, 6, 27)
    number = version_id.rsplit("/", 1)[0]
    assert version.source_url == f"https://eur-lex.europa.eu/eli/dec/{number}/oj"


def test_scc_2002_16_processor_clauses_grandfathered_until_2010_then_transition(
    law: Law,
) -> None:
    version = law.scc_version("2002/16/EC")
    assert version.applies_from == date(2002, 4, 3)
    assert version.concluded_before == date(2010, 5, 15)
    assert version.concluded_before == law.scc_version("2010/87/EU").applies_from
    assert version.valid_until == date(2022, 12, 27)
    assert version.modules == ()
    assert (
        version.source_url == "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:32002D0016"
    )
    assert "OJ L 6, 10.1.2002, p. 52" in version.instrument
    assert not version.verified
    assert "Art. 4(4)" in version.notes
    assert "Art. 7(2)" in version.notes


def test_exactly_five_scc_versions(law: Law) -> None:
    assert {s.id for s in law.scc_versions} == {
        "2021/914",
        "2001/497/EC",
        "2002/16/EC",
        "2004/915/EC",
        "2010/87/EU",
    }
    assert [s.id for s in law.scc_versions if not s.verified] == ["2002/16/EC"]


# Version and stored rows


def test_version_is_the_sha256_of_the_law_files_sorted_by_name(law: Law) -> None:
    assert list(LAW_FILES) == sorted(
        [MEMBERSHIP_FILE, DECISIONS_FILE, SCC_FILE, ORGANISATIONS_FILE]
    )
    digest = hashlib.sha256()
    for name in LAW_FILES:
        digest.update((DEFAULT_DATA_DIR / name).read_bytes())
    assert law.version == digest.hexdigest()


def test_version_changes_with_the_bytes(tmp_path: Path, law: Law) -> None:
    data = copy_data(tmp_path)
    path = data / SCC_FILE
    path.write_bytes(path.read_bytes() + b"\n")
    changed = load_law(data)
    assert changed.version != law.version
    assert changed == Law(
        law.memberships,
        law.decisions,
        law.scc_versions,
        changed.version,
        law.organisations,
        law_enforcement=law.law_enforcement,
    )


def test_records_round_trip_exactly(law: Law) -> None:
    records = law_to_records(law)
    assert set(records) == {
        "memberships",
        "decisions",
        "scc_versions",
        "organisations",
        "law_enforcement",
    }
    through_json = json.loads(json.dumps(records))
    assert through_json == records
    restored = law_from_records(through_json, law.version)
    assert restored == law
    assert restored.memberships == law.memberships
    assert restored.decisions == law.decisions
    assert restored.scc_versions == law.scc_versions
    assert restored.law_enforcement == law.law_enforcement
    assert restored.version == law.version
    assert law_to_records(restored) == records


def test_records_hold_iso_dates_and_lists(law: Law) -> None:
    records = law_to_records(law)
    (gb,) = [r for r in records["memberships"] if r["country"] == "GB"]
    assert gb["member_from"] == "1973-01-01"
    assert gb["member_until"] == "2020-12-31"
    (dpf,) = [r for r in records["decisions"] if r["id"] == "us-dpf-2023"]
    assert dpf["in_force_from"] == "2023-07-10"
    assert dpf["ended_on"] is None
    assert dpf["verified"] is True
    (scc,) = [r for r in records["scc_versions"] if r["id"] == "2021/914"]
    assert scc["modules"] == [1, 2, 3, 4]


def test_records_from_sqlite_style_values_restore_the_same_law(law: Law) -> None:
    records = law_to_records(law)
    for row in records["decisions"]:
        row["verified"] = int(row["verified"])
    for row in records["scc_versions"]:
        row["modules"] = json.dumps(row["modules"])
        row["verified"] = int(row["verified"])
    assert law_from_records(records, law.version) == law


# Strict loading of broken copies


def copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    target.mkdir()
    for name in (*LAW_FILES, DEMO_CATALOGUE_FILE):
        shutil.copyfile(DEFAULT_DATA_DIR / name, target / name)
    return target


def edit(path: Path, change: Callable[[Any], None]) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def index_of(rows: list[dict], key: str, value: str) -> int:
    return next(i for i, row in enumerate(rows) if row[key] == value)


def set_membership(country: str, field: str, value: Any) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        rows = document["memberships"]
        rows[index_of(rows, "country", country)][field] = value

    return change


def set_decision(decision_id: str, field: str, value: Any) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        rows = document["decisions"]
        rows[index_of(rows, "id", decision_id)][field] = value

    return change


def drop_membership_field(country: str, field: str) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        rows = document["memberships"]
        del rows[index_of(rows, "country", country)][field]

    return change


def drop_decision_field(decision_id: str, field: str) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        rows = document["decisions"]
        del rows[index_of(rows, "id", decision_id)][field]

    return change


def set_scope_condition(decision_id: str, index: int, **fields: Any) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        rows = document["decisions"]
        rows[index_of(rows, "id", decision_id)]["scope_conditions"][index].update(fields)

    return change


def drop_scope_condition_field(decision_id: str, index: int, field: str) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        rows = document["decisions"]
        del rows[index_of(rows, "id", decision_id)]["scope_conditions"][index][field]

    return change


def duplicate_decision(document: Any) -> None:
    document["decisions"].append(dict(document["decisions"][0]))


def duplicate_scc(document: Any) -> None:
    document["versions"].append(dict(document["versions"][0]))


def overlapping_gb(document: Any) -> None:
    document["memberships"].append(
        {"country": "GB", "member_from": "2020-06-01", "member_until": None, "source": "x"}
    )


def rows_index(document_rows: str, key: str, value: str) -> Callable[[], int]:
    def find() -> int:
        rows = json.loads((DEFAULT_DATA_DIR / document_rows).read_text(encoding="utf-8"))
        top = next(v for k, v in rows.items() if k != "description")
        return index_of(top, key, value)

    return find


GR = rows_index(MEMBERSHIP_FILE, "country", "GR")
HR = rows_index(MEMBERSHIP_FILE, "country", "HR")
DPF = rows_index(DECISIONS_FILE, "id", "us-dpf-2023")
SAFE_HARBOUR = rows_index(DECISIONS_FILE, "id", "us-safe-harbour-2000")
GB_2021 = rows_index(DECISIONS_FILE, "id", "gb-2021")
GB_EXTENSION = rows_index(DECISIONS_FILE, "id", "gb-2025-extension")
GB_2025 = rows_index(DECISIONS_FILE, "id", "gb-2025")
BRIDGE = rows_index(DECISIONS_FILE, "id", "gb-tca-bridge-2021")
CA = rows_index(DECISIONS_FILE, "id", "ca-2002")
KR = rows_index(DECISIONS_FILE, "id", "kr-2021")
BR = rows_index(DECISIONS_FILE, "id", "br-2026")
SCC_VERSIONS = 5  # rows in data/scc-versions.json

BROKEN = [
    pytest.param(
        MEMBERSHIP_FILE,
        set_membership("GR", "country", "EL"),
        lambda: f"/memberships/{GR()}/country",
        "did you mean GR?",
        id="EL-for-Greece",
    ),
    pytest.param(
        MEMBERSHIP_FILE,
        set_membership("HR", "member_from", "2013-02-30"),
        lambda: f"/memberships/{HR()}/member_from",
        "not a valid date",
        id="impossible-date",
    ),
    pytest.param(
        MEMBERSHIP_FILE,
        set_membership("HR", "member_from", "1.7.2013"),
        lambda: f"/memberships/{HR()}/member_from",
        "YYYY-MM-DD",
        id="not-iso-date",
    ),
    pytest.param(
        MEMBERSHIP_FILE,
        drop_membership_field("HR", "source"),
        lambda: f"/memberships/{HR()}/source",
        "missing",
        id="missing-source",
    ),
    pytest.param(
        MEMBERSHIP_FILE,
        set_membership("HR", "source", "  "),
        lambda: f"/memberships/{HR()}/source",
        "empty",
        id="blank-source",
    ),
    pytest.param(
        MEMBERSHIP_FILE,
        set_membership("HR", "member_until", "2013-06-30"),
        lambda: f"/memberships/{HR()}/member_until",
        "before member_from",
        id="until-before-from",
    ),
    pytest.param(
        MEMBERSHIP_FILE,
        set_membership("HR", "joined", "2013"),
        lambda: f"/memberships/{HR()}/joined",
        "unknown field",
        id="unknown-field",
    ),
    pytest.param(
        MEMBERSHIP_FILE,
        overlapping_gb,
        lambda: f"/memberships/{31 + len(TERRITORIES)}/member_from",
        "overlaps",
        id="overlapping-periods",
    ),
    pytest.param(
        DECISIONS_FILE,
        duplicate_decision,
        lambda: f"/decisions/{len(DECISIONS)}/id",
        "duplicate id 'ch-2000'",
        id="duplicate-id",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("gb-2021", "territory", "UK"),
        lambda: f"/decisions/{GB_2021()}/territory",
        "did you mean GB?",
        id="UK-for-United-Kingdom",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("us-dpf-2023", "condition", "certified"),
        lambda: f"/decisions/{DPF()}/condition",
        "unknown condition",
        id="unknown-condition",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("us-safe-harbour-2000", "in_force_from", "2016-01-01"),
        lambda: f"/decisions/{SAFE_HARBOUR()}/ended_on",
        "after in_force_from",
        id="in-force-after-ended",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("us-safe-harbour-2000", "ended_by", None),
        lambda: f"/decisions/{SAFE_HARBOUR()}/ended_by",
        "both or neither",
        id="ended-without-judgment",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("us-dpf-2023", "source_url", ""),
        lambda: f"/decisions/{DPF()}/source_url",
        "empty",
        id="missing-source-url",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("us-dpf-2023", "verified", "yes"),
        lambda: f"/decisions/{DPF()}/verified",
        "true or false",
        id="verified-not-boolean",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("br-2026", "notes", None),
        lambda: f"/decisions/{BR()}/notes",
        "unverified",
        id="unverified-without-reason",
    ),
    pytest.param(
        DECISIONS_FILE,
        drop_decision_field("ch-2000", "adopted_on"),
        lambda: "/decisions/0/adopted_on",
        "missing required field 'adopted_on'",
        id="missing-adopted-on",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("us-dpf-2023", "adopted_on", "10.7.2023"),
        lambda: f"/decisions/{DPF()}/adopted_on",
        "YYYY-MM-DD",
        id="adopted-on-not-iso",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("us-safe-harbour-2000", "adopted_on", "2015-10-06"),
        lambda: f"/decisions/{SAFE_HARBOUR()}/adopted_on",
        "before ended_on",
        id="adopted-on-after-ended",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("gb-tca-bridge-2021", "kind", "bridge"),
        lambda: f"/decisions/{BRIDGE()}/kind",
        "unknown kind 'bridge'",
        id="unknown-kind",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("gb-2025", "continues", "gb-2099"),
        lambda: f"/decisions/{GB_2025()}/continues",
        "is not another decision",
        id="continues-unknown-act",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("gb-2025", "continues", "gb-2025"),
        lambda: f"/decisions/{GB_2025()}/continues",
        "is not another decision",
        id="continues-itself",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("gb-2025-extension", "continues", "kr-2021"),
        lambda: f"/decisions/{GB_EXTENSION()}/continues",
        "covers another territory",
        id="continues-another-territory",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("gb-2025", "in_force_from", "2025-12-29"),
        lambda: f"/decisions/{GB_2025()}/continues",
        "must start the day after gb-2025-extension ends",
        id="continuation-with-a-gap",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("gb-2025-extension", "continues", "ca-2002"),
        lambda: f"/decisions/{GB_EXTENSION()}/continues",
        "covers another territory",
        id="continues-open-ended-act-elsewhere",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("gb-2025", "adopted_on", "2025-06-01"),
        lambda: f"/decisions/{GB_2025()}/continues",
        "adopted before the act it continues",
        id="continuation-adopted-first",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_scope_condition("ca-2002", 0, code="PIPEDA"),
        lambda: f"/decisions/{CA()}/scope_conditions/0/code",
        "snake_case",
        id="scope-condition-code-not-snake-case",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_scope_condition("kr-2021", 1, code="not_fsc_credit_information"),
        lambda: f"/decisions/{KR()}/scope_conditions/1/code",
        "duplicate condition code 'not_fsc_credit_information'",
        id="scope-condition-duplicate-code",
    ),
    pytest.param(
        DECISIONS_FILE,
        drop_scope_condition_field("ca-2002", 0, "source_url"),
        lambda: f"/decisions/{CA()}/scope_conditions/0/source_url",
        "missing required field 'source_url'",
        id="scope-condition-without-source",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_scope_condition("ca-2002", 0, source_url="http://eur-lex.europa.eu/"),
        lambda: f"/decisions/{CA()}/scope_conditions/0/source_url",
        "https://",
        id="scope-condition-source-not-https",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_scope_condition("ca-2002", 0, attested=True),
        lambda: f"/decisions/{CA()}/scope_conditions/0/attested",
        "unknown field",
        id="scope-condition-unknown-field",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("ca-2002", "scope_conditions", {"code": "pipeda_applies"}),
        lambda: f"/decisions/{CA()}/scope_conditions",
        "expected an array",
        id="scope-conditions-not-a-list",
    ),
    pytest.param(
        DECISIONS_FILE,
        set_decision("il-2011", "scope_conditions_note", " "),
        lambda: f"/decisions/{rows_index(DECISIONS_FILE, 'id', 'il-2011')()}/scope_conditions_note",
        "empty",
        id="blank-scope-conditions-note",
    ),
    pytest.param(
        SCC_FILE,
        lambda document: document["versions"][0].update(modules=[1, 2, 5]),
        lambda: "/versions/0/modules/2",
        "module number 1-4",
        id="unknown-scc-module",
    ),
    pytest.param(
        SCC_FILE,
        duplicate_scc,
        lambda: f"/versions/{SCC_VERSIONS}/id",
        "duplicate id",
        id="duplicate-scc-id",
    ),
]


@pytest.mark.parametrize(("file_name", "change", "pointer", "message"), BROKEN)
def test_load_law_rejects_a_broken_copy(
    tmp_path: Path,
    file_name: str,
    change: Callable[[Any], None],
    pointer: Callable[[], str],
    message: str,
) -> None:
    data = copy_data(tmp_path)
    edit(data / file_name, change)
    with pytest.raises(LawDataError) as caught:
        load_law(data)
    error = caught.value
    assert error.file == file_name
    assert error.path == data / file_name
    assert error.pointer == pointer()
    assert message in error.detail
    assert file_name in str(error)
    assert pointer() in str(error)


def test_load_law_rejects_invalid_json(tmp_path: Path) -> None:
    data = copy_data(tmp_path)
    path = data / DECISIONS_FILE
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(LawDataError, match="not valid JSON") as caught:
        load_law(data)
    assert caught.value.file == DECISIONS_FILE
    assert caught.value.pointer == ""


def test_load_law_rejects_duplicate_keys(tmp_path: Path) -> None:
    data = copy_data(tmp_path)
    path = data / SCC_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"id": "2021/914",', '"id": "2021/914", "id": "x",', 1))
    with pytest.raises(LawDataError, match="duplicate key 'id'") as caught:
        load_law(data)
    assert caught.value.file == SCC_FILE


def test_load_law_names_a_missing_file(tmp_path: Path) -> None:
    data = copy_data(tmp_path)
    (data / MEMBERSHIP_FILE).unlink()
    with pytest.raises(LawDataError, match="cannot read") as caught:
        load_law(data)
    assert caught.value.file == MEMBERSHIP_FILE


def test_law_data_error_is_a_value_error() -> None:
    assert issubclass(LawDataError, ValueError)


def test_load_law_accepts_a_string_directory(tmp_path: Path, law: Law) -> None:
    assert load_law(str(copy_data(tmp_path))) == law


# Demo catalogue

PRODUCT_FIELDS = {
    "name",
    "legal_entity",
    "service",
    "purpose",
    "data_categories",
    "locations",
    "effective_on",
    "already_in_use",
}
SERVICES = {
    "hosting",
    "database_management",
    "email_delivery",
    "customer_support",
    "monitoring",
    "analytics",
    "payments",
    "identity",
    "other",
}
ACTIVITIES = {"storage", "processing", "remote_access", "backup"}


@pytest.fixture(scope="module")
def catalogue() -> list[dict]:
    return load_demo_catalogue()


def test_demo_catalogue_bodies_use_only_contract_fields(catalogue: list[dict]) -> None:
    assert len(catalogue) == 4
    assert len({entry["name"] for entry in catalogue}) == 4
    for entry in catalogue:
        assert set(entry) == PRODUCT_FIELDS
        assert entry["service"] in SERVICES
        assert date.fromisoformat(entry["effective_on"]) < date(2026, 1, 1)
        for location in entry["locations"]:
            assert location["activity"] in ACTIVITIES


def test_demo_catalogue_countries_and_categories_are_valid(catalogue: list[dict]) -> None:
    for entry in catalogue:
        assert entry["data_categories"]
        for key in entry["data_categories"]:
            assert taxonomy.is_data_category(key), key
        for location in entry["locations"]:
            assert countries.is_country(location["country"]), location


def test_demo_catalogue_covers_eea_adequacy_scc_and_one_missing_safeguard(
    law: Law, catalogue: list[dict]
) -> None:
    on = date(2026, 11, 1)
    mechanisms: dict[str, set[str | None]] = {}
    unsafe = set()
    for entry in catalogue:
        for location in entry["locations"]:
            safeguard = location.get("safeguard")
            if law.is_eea(location["country"], on):
                assert safeguard is None, entry["name"]
                continue
            mechanisms.setdefault(entry["service"], set()).add(safeguard and safeguard["mechanism"])
            if safeguard is None:
                assert law.decisions_in_force(on, location["country"]) == []
                unsafe.add(entry["name"])
    assert unsafe == {"Relaywise"}
    assert "hosting" not in mechanisms
    assert mechanisms["database_management"] == {"adequacy"}
    assert mechanisms["customer_support"] == {"scc"}


def test_demo_catalogue_safeguards_refer_to_the_law(law: Law, catalogue: list[dict]) -> None:
    safeguards = [
        location["safeguard"]
        for entry in catalogue
        for location in entry["locations"]
        if "safeguard" in location
    ]
    (adequacy,) = [s for s in safeguards if s["mechanism"] == "adequacy"]
    assert adequacy["adequacy_decision"] == "us-dpf-2023"
    assert adequacy["certified"] is True
    assert date.fromisoformat(adequacy["certification_checked_on"]).year == 2026
    (scc,) = [s for s in safeguards if s["mechanism"] == "scc"]
    version = law.scc_version(scc["scc_version"])
    assert scc["scc_module"] in version.modules
    assert date.fromisoformat(scc["signed_on"]) >= version.applies_from
    assert date.fromisoformat(scc["tia_completed_on"]) <= date.fromisoformat(scc["signed_on"])


def test_load_demo_catalogue_rejects_a_bad_country(tmp_path: Path) -> None:
    data = copy_data(tmp_path)
    edit(
        data / DEMO_CATALOGUE_FILE,
        lambda document: document["subprocessors"][2]["locations"][1].update(country="uk"),
    )
    with pytest.raises(LawDataError, match="did you mean GB") as caught:
        load_demo_catalogue(data)
    assert caught.value.file == DEMO_CATALOGUE_FILE
    assert caught.value.pointer == "/subprocessors/2/locations/1/country"


def test_load_demo_catalogue_rejects_an_unknown_data_category(tmp_path: Path) -> None:
    data = copy_data(tmp_path)
    edit(
        data / DEMO_CATALOGUE_FILE,
        lambda document: document["subprocessors"][0]["data_categories"].append("user.email"),
    )
    with pytest.raises(LawDataError, match="fideslang") as caught:
        load_demo_catalogue(data)
    assert caught.value.pointer.startswith("/subprocessors/0/data_categories/")


# Territories with their own ISO code


@pytest.mark.parametrize(
    ("country", "on", "inside"),
    [
        pytest.param("RE", date(2026, 1, 1), True, id="RE-today"),
        pytest.param("AX", date(2026, 1, 1), True, id="AX-today"),
        pytest.param("GL", date(1980, 1, 1), True, id="GL-1980"),
        pytest.param("GL", date(1985, 2, 1), False, id="GL-after-leaving"),
        pytest.param("GL", date(2026, 1, 1), False, id="GL-today"),
        pytest.param("GI", date(2020, 12, 31), True, id="GI-last-transition-day"),
        pytest.param("GI", date(2021, 1, 1), False, id="GI-after-brexit"),
        pytest.param("YT", date(2013, 12, 31), False, id="YT-still-an-OCT"),
        pytest.param("YT", date(2014, 1, 1), True, id="YT-outermost-region"),
        pytest.param("BL", date(2011, 12, 31), True, id="BL-last-day-outermost"),
        pytest.param("BL", date(2012, 1, 1), False, id="BL-an-OCT"),
        pytest.param("MF", date(2008, 1, 1), True, id="MF-after-leaving-guadeloupe"),
        pytest.param("GF", date(2026, 1, 1), True, id="GF-today"),
        pytest.param("GP", date(2026, 1, 1), True, id="GP-today"),
        pytest.param("MQ", date(2026, 1, 1), True, id="MQ-today"),
        pytest.param("MF", date(2026, 1, 1), True, id="MF-today"),
        *(
            pytest.param(code, date(2026, 1, 1), False, id=f"{code}-outside")
            for code in ["PM", "NC", "PF", "WF", "TF", "AW", "CW", "SX", "BQ", "SJ", "FO"]
        ),
    ],
)
def test_territory_is_eea_on_a_date(law: Law, country: str, on: date, inside: bool) -> None:
    assert law.is_eea(country, on) is inside


@pytest.mark.parametrize("country", sorted(TERRITORIES))
def test_territory_row_has_its_dates_and_a_note(law: Law, country: str) -> None:
    (membership,) = [m for m in law.memberships if m.country == country]
    first, last = TERRITORIES[country]
    assert (membership.member_from, membership.member_until) == (first, last)
    assert not law.is_eea(country, first - DAY)
    assert law.is_eea(country, first)
    if last is not None:
        assert law.is_eea(country, last)
        assert not law.is_eea(country, last + DAY)
    assert membership.note
    assert "https://eur-lex.europa.eu/" in membership.source


def test_overseas_countries_and_territories_have_no_row(law: Law) -> None:
    listed = {m.country for m in law.memberships}
    assert listed.isdisjoint({"PM", "NC", "PF", "WF", "TF", "AW", "CW", "SX", "BQ", "SJ", "FO"})
    (bl,) = [m for m in law.memberships if m.country == "BL"]
    assert "2010/718/EU" in bl.source
    (yt,) = [m for m in law.memberships if m.country == "YT"]
    assert "2012/419/EU" in yt.source
    (gl,) = [m for m in law.memberships if m.country == "GL"]
    assert "OJ L 29, 1.2.1985" in gl.source
    (ax,) = [m for m in law.memberships if m.country == "AX"]
    assert "certainty" in ax.note
