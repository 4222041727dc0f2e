"""A record's status on a date, and the register's summary from evaluated records (pure: no
Flask, no SQLite)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

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
    """The report of `evaluate_register` from `evaluate_each`'s triples, consumed once."""
    counts = {"total": 0, "active": 0, "proposed": 0, "compliant": 0, "flagged": 0}
    active_flagged = 0
    by_flag: dict[str, int] = {}
    flagged: list[dict] = []
    for record, status, compliance in evaluated:
        counts["total"] += 1
        counts[status] += 1
        counts[compliance["status"]] += 1
        for code in {flag["code"] for flag in compliance["flags"]}:
            by_flag[code] = by_flag.get(code, 0) + 1
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
    return {
        "as_of": on.isoformat(),
        "assumed_ended": sorted(frozenset(assume_ended)),
        "summary": {
            **counts,
            "active_flagged": active_flagged,
            "by_flag": dict(sorted(by_flag.items())),
        },
        "flagged": flagged,
    }
