"""Findings a privacy officer can act on: the register report lists every flag, warnings
included, with its sub-processor, and the summary counts the warnings."""

from __future__ import annotations

import json

from helpers import IN_WITHOUT_TIA, NL, TODAY, UNSAFE_IN, days_from_today, vendor


def test_the_report_lists_warnings_of_compliant_vendors(client, runner, post, as_role):
    clean = post(vendor("Clean Co", NL, already_in_use=True, effective_on="2025-01-01"))
    warned = post(
        # SCCs to the US without a TIA while the DPF applies: a warning only (rules 4).
        vendor(
            "Warned Co",
            {**IN_WITHOUT_TIA, "country": "US"},
            already_in_use=True,
            effective_on="2025-01-01",
        )
    )
    broken = post(vendor("Broken Co", UNSAFE_IN, already_in_use=True, effective_on="2025-01-01"))

    response = client.get("/v1/compliance", headers=as_role("admin"))
    assert response.status_code == 200, response.get_data(as_text=True)
    report = response.get_json()

    summary = report["summary"]
    assert (summary["compliant"], summary["compliant_with_warnings"]) == (2, 1)
    assert (summary["flagged"], summary["non_compliant"]) == (1, 1)
    assert (summary["errors"], summary["warnings"]) == (1, 2)
    found = sorted(
        (f["subprocessor_name"], f["code"], f["severity"], f["country"]) for f in report["findings"]
    )
    assert found == [
        ("Broken Co", "NO_SAFEGUARD", "error", "IN"),
        ("Warned Co", "SCC_COPY_MISSING", "warning", "US"),
        ("Warned Co", "TIA_MISSING", "warning", "US"),
    ]
    ids = {f["subprocessor_name"]: f["subprocessor_id"] for f in report["findings"]}
    assert ids == {"Broken Co": broken["id"], "Warned Co": warned["id"]}
    assert clean["id"] not in {f["subprocessor_id"] for f in report["findings"]}
    assert all(f["status"] == "active" and f["message"] for f in report["findings"])
    # Only the vendor with an error is listed among the flagged, with its whole verdict.
    assert [item["name"] for item in report["flagged"]] == ["Broken Co"]

    # The CLI's JSON is the same report; its text has one line per finding.
    as_json = runner.invoke(args=["check", "--json"])
    assert as_json.exit_code == 1
    cli = json.loads(as_json.stdout)
    assert cli["summary"] == summary
    assert cli["findings"] == report["findings"]
    as_text = runner.invoke(args=["check"])
    lines = as_text.stdout.splitlines()
    assert "2 compliant (1 with warnings), 1 flagged (1 active); 1 errors, 2 warnings" in lines[1]
    flag_lines = [line for line in lines if line.startswith(("ERROR", "WARNING"))]
    assert len(flag_lines) == len(report["findings"])


def test_retired_vendors_are_no_finding(client, post, retire, as_role):
    gone = post(vendor("Gone Co", UNSAFE_IN, already_in_use=True, effective_on="2025-01-01"))
    retire(gone["id"])

    report = client.get("/v1/compliance", headers=as_role("procurement")).get_json()

    assert report["findings"] == []
    assert report["summary"]["errors"] == report["summary"]["warnings"] == 0


def test_law_unverified_is_a_note_never_a_warning(client, runner, post, as_role, registry):
    unverified = [d.id for d in registry.law().decisions if not d.verified]
    assert "gb-2025" in unverified, "the test needs an act data/ marks unverified"
    thames = post(
        vendor(
            "Thames Mail",
            {"country": "GB", "activity": "storage", "safeguard": {"mechanism": "adequacy"}},
            already_in_use=True,
            effective_on="2025-01-01",
        )
    )

    verdict = thames["compliance"]
    assert verdict["status"] == "compliant"
    assert verdict["flags"] == []
    (note,) = verdict["notes"]
    assert (note["code"], note["country"]) == ("LAW_UNVERIFIED", "GB")
    assert "gb-2025" in note["message"] and "severity" not in note
    assert verdict["locations"][0]["notes"] == [note]

    report = client.get("/v1/compliance", headers=as_role("admin")).get_json()
    assert report["findings"] == []
    assert report["summary"]["warnings"] == report["summary"]["compliant_with_warnings"] == 0
    assert report["summary"]["notes"] == 1
    assert report["summary"]["by_flag"] == {}
    (noted,) = report["notes"]
    assert noted == {
        "subprocessor_id": thames["id"],
        "subprocessor_name": "Thames Mail",
        "status": "active",
        **note,
    }

    # A check failing on warnings passes, and staff still read the note.
    strict = runner.invoke(args=["check", "--fail-on", "warning"])
    assert strict.exit_code == 0, strict.stdout
    (line,) = [line for line in strict.stdout.splitlines() if line.startswith("NOTE")]
    assert line.startswith(f"NOTE    LAW_UNVERIFIED GB Thames Mail ({thames['id']}, active): ")
    assert not [line for line in strict.stdout.splitlines() if line.startswith("WARNING")]
    as_json = json.loads(runner.invoke(args=["check", "--json"]).stdout)
    assert as_json["notes"] == report["notes"]

    # Customers read neither flags nor notes.
    seen = client.get(f"/v1/subprocessors/{thames['id']}", headers=as_role("customer_a"))
    assert seen.status_code == 200
    assert "LAW_UNVERIFIED" not in seen.get_data(as_text=True)
    assert '"notes"' not in seen.get_data(as_text=True)


def test_flagged_lists_leave_retired_vendors_out_unless_asked(client, post, retire, as_role):
    past = {"already_in_use": True, "effective_on": "2025-01-01"}
    post(vendor("Live Risk", UNSAFE_IN, **past))
    post(vendor("Coming Risk", UNSAFE_IN, effective_on=days_from_today(40)))
    gone = post(vendor("Gone Risk", UNSAFE_IN, **past))
    retire(gone["id"])
    admin = as_role("admin")

    def names(**query) -> list[str]:
        response = client.get("/v1/subprocessors", query_string=query, headers=admin)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["name"] for item in response.get_json()["items"]]

    assert names(flagged="true") == ["Live Risk", "Coming Risk"]
    assert names(flagged="true", status="retired") == ["Gone Risk"]
    assert names(flagged="true", status="active") == ["Live Risk"]
    assert "Gone Risk" in names()  # the plain list still shows the register's history
    # The register as it stands at the end of today reads the same.
    assert names(flagged="true", at=TODAY.isoformat()) == ["Live Risk", "Coming Risk"]
    assert names(flagged="true", at=TODAY.isoformat(), status="retired") == ["Gone Risk"]
    # The same sub-processors as the compliance report's flagged ones.
    report = client.get("/v1/compliance", headers=admin).get_json()
    assert [item["name"] for item in report["flagged"]] == ["Live Risk", "Coming Risk"]
