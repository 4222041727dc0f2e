"""A record's status on a date, and the register's summary from evaluated records (pure: no
Flask, no SQLite)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from .flags import ERROR, WARNING
from .rules import parse_date


def status_with(record: dict, on: date, parse: Callable[[Any], date | None]) -> str:
    retired = parse(record.get("retired_on"))
    if retired is not None and retired <= on:
        return "retired"
    effective = parse(record.get("effective_on"))
    # A record without a start date has been in use all along.
    if effective is None or effective <= on:
        return "active"
    return "proposed"


def status_on(record: dict, on: date) -> str:
    """`retired` once retired_on has come, `active` from effective_on, else `proposed`."""
    return status_with(record, on, parse_date)


def summarise_register(
    evaluated: Iterable[tuple[dict, str, dict]],
    on: date,
    *,
    assume_ended: frozenset[str] = frozenset(),
) -> dict:
    """The report of `evaluate_register` from `evaluate_each`'s triples, consumed once.

    `flagged` lists the sub-processors with an error (and their whole verdict); `findings`
    lists every flag, warnings included, each with its sub-processor. In the summary,
    `compliant` counts every verdict without an error, `compliant_with_warnings` those of
    them that carry a warning, `non_compliant` (as `flagged`) those with an error. `notes`
    lists every note (LAW_UNVERIFIED: a caveat about the reference law, never a finding).
    `waived` lists every warning a waiver accepts (compliance/waivers.py), counted apart.
    """
    counts = {"total": 0, "active": 0, "proposed": 0, "compliant": 0, "flagged": 0}
    active_flagged = with_warnings = 0
    by_flag: dict[str, int] = {}
    by_severity = {ERROR: 0, WARNING: 0}
    flagged: list[dict] = []
    findings: list[dict] = []
    notes: list[dict] = []
    waived: list[dict] = []
    for record, status, compliance in evaluated:
        counts["total"] += 1
        counts[status] += 1
        counts[compliance["status"]] += 1
        for code in {flag["code"] for flag in compliance["flags"]}:
            by_flag[code] = by_flag.get(code, 0) + 1
        who = {
            "subprocessor_id": record.get("id"),
            "subprocessor_name": record.get("name"),
            "status": status,
        }
        for flag in compliance["flags"]:
            by_severity[flag["severity"]] = by_severity.get(flag["severity"], 0) + 1
            findings.append({**who, **flag})
        notes.extend({**who, **note} for note in compliance.get("notes", ()))
        waived.extend({**who, **flag} for flag in compliance.get("waived", ()))
        if compliance["status"] == "flagged":
            if status == "active":
                active_flagged += 1
            flagged.append(
                {
                    "id": record.get("id"),
                    "name": record.get("name"),
                    "status": status,
                    "compliance": compliance,
                }
            )
        elif any(flag["severity"] == WARNING for flag in compliance["flags"]):
            with_warnings += 1
    return {
        "as_of": on.isoformat(),
        "assumed_ended": sorted(frozenset(assume_ended)),
        "summary": {
            **counts,
            "compliant_with_warnings": with_warnings,
            "non_compliant": counts["flagged"],
            "active_flagged": active_flagged,
            "errors": by_severity[ERROR],
            "warnings": by_severity[WARNING],
            "notes": len(notes),
            "waived": len(waived),
            "by_flag": dict(sorted(by_flag.items())),
        },
        "flagged": flagged,
        "findings": findings,
        "notes": notes,
        "waived": waived,
    }
