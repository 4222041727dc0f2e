"""An SCC signed before its set applied is refused on every write, with a pointer to `signed_on`."""

from __future__ import annotations

import json

import pytest
from helpers import NL, URL, current_etag, problem, scc, vendor

from registry.law.loader import load_law
from registry.subprocessors import locations as location_checks

# data/scc-versions.json: 2021/914 applies from 2021-06-27 (adopted on 4 June 2021, in force
# on the twentieth day after its publication on 7 June 2021).
EARLY = "2020-05-01"
MESSAGE = (
    "Signed on 2020-05-01, before SCC 2021/914 applied: contracts can be concluded on these "
    "clauses from 2021-06-27. Check the date, or the SCC version signed."
)


def test_the_date_checked_is_the_one_in_data():
    version = load_law().scc_version("2021/914")
    assert version.applies_from.isoformat() == "2021-06-27"
    assert "of 4 June 2021" in version.instrument


def onward(signed_on: str) -> dict:
    return {"name": "Tiny Backup Ltd", **scc("IN", signed_on=signed_on)}


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (vendor("Early", NL, scc("IN", signed_on=EARLY)), "/locations/1/safeguard/signed_on"),
        (
            vendor("Early", NL, onward_transfers=[onward(EARLY)]),
            "/onward_transfers/0/safeguard/signed_on",
        ),
    ],
    ids=["location", "onward"],
)
def test_post_refuses_an_scc_signed_before_its_version(client, staff, body, pointer):
    response = client.post(URL, json=body, headers=staff)
    errors = problem(response, 422)["errors"]
    assert errors == [{"pointer": pointer, "detail": MESSAGE}]
    assert client.get(URL, headers=staff).get_json()["items"] == []


@pytest.mark.parametrize(
    ("signed_on", "version", "accepted"),
    [
        ("2021-06-26", "2021/914", False),  # the day before it applied
        ("2021-06-27", "2021/914", True),  # the day it applied
        ("2010-05-14", "2010/87/EU", False),
        ("2010-05-15", "2010/87/EU", True),
    ],
)
def test_the_first_day_counts(client, staff, signed_on, version, accepted):
    fields = {"scc_module": None} if version != "2021/914" else {}
    location = scc("IN", signed_on=signed_on, scc_version=version, **fields)
    location["safeguard"] = {k: v for k, v in location["safeguard"].items() if v is not None}
    response = client.post(URL, json=vendor("Edge", NL, location), headers=staff)
    if accepted:
        assert response.status_code == 201, response.get_data(as_text=True)
    else:
        assert [e["pointer"] for e in problem(response, 422)["errors"]] == [
            "/locations/1/safeguard/signed_on"
        ]


def test_patch_refuses_it_in_locations_and_onward_transfers(client, staff, post):
    record = post(vendor("Patched", NL, scc("IN")))
    url = f"{URL}/{record['id']}"
    for changes, pointer in (
        ({"locations": [NL, scc("IN", signed_on=EARLY)]}, "/locations/1/safeguard/signed_on"),
        ({"onward_transfers": [onward(EARLY)]}, "/onward_transfers/0/safeguard/signed_on"),
    ):
        headers = {**staff, "If-Match": current_etag(client, staff, record["id"])}
        response = client.patch(url, json=changes, headers=headers)
        assert problem(response, 422)["errors"] == [{"pointer": pointer, "detail": MESSAGE}]
    assert client.get(url, headers=staff).get_json()["version"] == record["version"]


def test_a_record_stored_before_the_check_is_flagged_and_stays_editable(
    client, staff, post, patch, monkeypatch
):
    """Written before writes were checked: the verdict says NO_SAFEGUARD, other edits pass,
    and sending the date again is refused."""
    with monkeypatch.context() as before:
        before.setattr(location_checks, "scc_date_errors", lambda *args: [])
        record = post(
            vendor("Stored", NL, scc("IN", signed_on=EARLY), onward_transfers=[onward(EARLY)])
        )
    verdict = client.get(f"{URL}/{record['id']}/compliance", headers=staff).get_json()
    codes = {(flag["code"], flag.get("onward")) for flag in verdict["flags"]}
    assert ("NO_SAFEGUARD", None) in codes
    assert ("NO_SAFEGUARD", "Tiny Backup Ltd") in codes
    messages = [flag["message"] for flag in verdict["flags"]]
    assert any("before the clauses applied (2021-06-27)" in message for message in messages)

    # A rename checks the chain for the name only (a material change: announced, pending).
    renamed = patch(record["id"], {"name": "Stored Renamed", "purpose": "Kept as it was"})
    assert renamed["pending_change"]["changes"]["name"] == "Stored Renamed"

    headers = {**staff, "If-Match": current_etag(client, staff, record["id"])}
    body = {"locations": json.loads(json.dumps(record["locations"]))}
    response = client.patch(f"{URL}/{record['id']}", json=body, headers=headers)
    assert [e["pointer"] for e in problem(response, 422)["errors"]] == [
        "/locations/1/safeguard/signed_on"
    ]
