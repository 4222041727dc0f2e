"""Findings a privacy officer can act on: the register report lists every flag, warnings
included, with its sub-processor, and the summary counts the warnings."""

from __future__ import annotations

import json

from helpers import IN_WITHOUT_TIA, NL, UNSAFE_IN, vendor


def test_the_report_lists_warnings_of_compliant_vendors(client, runner, post, as_role):
    clean = post(vendor("Clean Co", NL, already_in_use=True, effective_on="2025-01-01"))
    warned = post(
        vendor("Warned Co", IN_WITHOUT_TIA, already_in_use=True, effective_on="2025-01-01")
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
        ("Warned Co", "SCC_COPY_MISSING", "warning", "IN"),
        ("Warned Co", "TIA_MISSING", "warning", "IN"),
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
