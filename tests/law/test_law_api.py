"""The read-only reference law over HTTP: countries and adequacy decisions, on any date."""

from __future__ import annotations

import pytest
from helpers import DECISIONS, EXPIRES, TODAY, UNVERIFIED

ENDED_BY = {"us-safe-harbour-2000": "C-362/14", "us-privacy-shield-2016": "C-311/18"}
DECISION_FIELDS = {
    "id",
    "territory",
    "instrument",
    "in_force_from",
    "ended_on",
    "ended_by",
    "expires_on",
    "condition",
    "scope",
    "source_url",
    "verified",
}


def in_force_on(day: str) -> set[str]:
    return {
        decision_id
        for decision_id, (_, start, ended) in DECISIONS.items()
        if start <= day
        and (ended is None or day < ended)
        and (decision_id not in EXPIRES or day <= EXPIRES[decision_id])
    }


@pytest.fixture
def countries(client):
    response = client.get("/v1/countries")
    assert response.status_code == 200
    return response.get_json()


def test_every_iso_country_is_listed_once(countries):
    codes = [item["code"] for item in countries["items"]]
    assert len(codes) == 249
    assert codes == sorted(set(codes))
    assert countries["as_of"] == TODAY.isoformat()
    for item in countries["items"]:
        assert set(item) == {"code", "name", "eea", "adequacy"}


@pytest.mark.parametrize(
    ("code", "eea", "adequacy"),
    [
        ("NL", True, []),
        ("GR", True, []),
        ("NO", True, []),
        ("IS", True, []),
        ("LI", True, []),
        ("HR", True, []),
        ("GB", False, ["gb-2025"]),
        ("CH", False, ["ch-2000"]),
        ("US", False, ["us-dpf-2023"]),
        ("BR", False, ["br-2026"]),
        ("JP", False, ["jp-2019"]),
        ("IN", False, []),
        ("SG", False, []),
    ],
)
def test_country_today(client, countries, code, eea, adequacy):
    listed = {item["code"]: item for item in countries["items"]}[code]
    assert (listed["eea"], listed["adequacy"]) == (eea, adequacy)
    response = client.get(f"/v1/countries/{code}")
    assert response.status_code == 200
    assert response.get_json() == listed


def test_greece_by_its_iso_code(client):
    assert client.get("/v1/countries/GR").get_json() == {
        "code": "GR",
        "name": "Greece",
        "eea": True,
        "adequacy": [],
    }


@pytest.mark.parametrize(
    ("code", "hint"),
    [("EL", "GR"), ("UK", "GB"), ("gr", "GR"), ("nl", "NL"), ("DEU", "DE"), ("XX", None)],
)
def test_a_code_that_is_not_iso_is_404_with_a_hint(client, code, hint):
    response = client.get(f"/v1/countries/{code}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    detail = response.get_json()["detail"]
    assert repr(code) in detail
    if hint:
        assert f"Did you mean {hint!r}?" in detail
    else:
        assert "Did you mean" not in detail


@pytest.fixture
def decisions(client):
    response = client.get("/v1/adequacy-decisions")
    assert response.status_code == 200
    return response.get_json()


def test_every_decision_is_listed_ended_ones_included(decisions):
    assert decisions["as_of"] is None
    ids = [item["id"] for item in decisions["items"]]
    assert sorted(ids) == sorted(DECISIONS)
    for item in decisions["items"]:
        assert set(item) >= DECISION_FIELDS
        territory, start, ended = DECISIONS[item["id"]]
        assert (item["territory"], item["in_force_from"], item["ended_on"]) == (
            territory,
            start,
            ended,
        )
        assert item["source_url"].startswith("https://")
        assert item["verified"] == (item["id"] not in UNVERIFIED)
        if ended:
            assert ENDED_BY[item["id"]] in item["ended_by"]
        else:
            assert item["ended_by"] is None


def test_decision_conditions_and_expiry(decisions):
    by_id = {item["id"]: item for item in decisions["items"]}
    certification = {i for i, item in by_id.items() if item["condition"] == "certification"}
    assert certification == {"us-safe-harbour-2000", "us-privacy-shield-2016", "us-dpf-2023"}
    for decision_id, last_day in EXPIRES.items():
        assert by_id[decision_id]["expires_on"] == last_day, decision_id
    assert by_id["gb-2025"]["expires_on"] == "2031-12-27"
    assert by_id["epo-2025"]["territory"] is None


@pytest.mark.parametrize(
    ("as_of", "us"),
    [
        ("2000-07-25", []),
        ("2000-07-26", ["us-safe-harbour-2000"]),
        ("2015-10-05", ["us-safe-harbour-2000"]),
        ("2015-10-06", []),
        ("2016-08-01", ["us-privacy-shield-2016"]),
        ("2020-07-15", ["us-privacy-shield-2016"]),
        ("2020-07-16", []),
        ("2021-03-01", []),
        ("2021-06-27", []),
        ("2021-06-28", []),
        ("2022-01-01", []),
        ("2023-07-10", ["us-dpf-2023"]),
        ("2025-06-27", ["us-dpf-2023"]),
        ("2025-06-28", ["us-dpf-2023"]),
        ("2025-12-27", ["us-dpf-2023"]),
        ("2025-12-28", ["us-dpf-2023"]),
        ("2031-12-28", ["us-dpf-2023"]),
        (TODAY.isoformat(), ["us-dpf-2023"]),
    ],
)
def test_decisions_in_force_on_a_date(client, as_of, us):
    response = client.get(f"/v1/adequacy-decisions?as_of={as_of}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["as_of"] == as_of
    ids = {item["id"] for item in body["items"]}
    assert ids == in_force_on(as_of)
    assert sorted(item["id"] for item in body["items"] if item["territory"] == "US") == us


def test_before_any_decision_the_list_is_empty(client):
    body = client.get("/v1/adequacy-decisions?as_of=1999-12-31").get_json()
    assert body["items"] == []


@pytest.mark.parametrize("as_of", ["bad", "2022-13-01", "2024-02-30", "20220101", "", "2022-1-1"])
def test_a_bad_date_is_422(client, as_of):
    response = client.get(f"/v1/adequacy-decisions?as_of={as_of}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [(e["pointer"], e["location"]) for e in response.get_json()["errors"]] == [
        ("/as_of", "query")
    ]
