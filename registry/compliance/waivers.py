"""Waivers applied to verdicts (pure: no Flask, no SQLite).

A waiver accepts the risk of one warning on one sub-processor: in one country (or for one
international organisation, by its id), or on the sub-processor as a whole for a warning
raised with neither (NOTICE_PERIOD_SHORT). While
it is in force, every flag it covers (a location's, or an onward transfer's in that country)
moves from the verdict's `flags` to its `waived` list, with the waiver's id, reason and
expiry. A waiver never touches an error nor a note, so it never changes a verdict's status.

A waiver is in force from its creation up to the day before `expires_on`: on `expires_on`
it has expired, and the warning is back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from .flags import WARNING

# The fields of a waiver that a waived flag carries.
SHOWN = ("id", "reason", "expires_on")


def state(waiver: dict, on: date) -> str:
    """`revoked`, `expired` (from `expires_on`) or `active`."""
    if waiver.get("revoked_at"):
        return "revoked"
    if date.fromisoformat(waiver["expires_on"]) <= on:
        return "expired"
    return "active"


def in_force(waivers: Iterable[dict], on: date, before: str | None = None) -> list[dict]:
    """The waivers in force on `on`. With `before` (a UTC timestamp), the register as it
    stood then: only waivers made before it, and not revoked before it."""
    kept = []
    for waiver in waivers:
        if date.fromisoformat(waiver["expires_on"]) <= on:
            continue
        revoked = waiver.get("revoked_at")
        if before is None:
            if revoked:
                continue
        elif waiver["created_at"] >= before or (revoked and revoked < before):
            continue
        kept.append(waiver)
    return kept


def place(flag: dict) -> str | None:
    """Where a flag is raised: its country, or its international organisation's id; None
    for a flag on the sub-processor as a whole."""
    return flag.get("country") or flag.get("international_organisation") or None


def covers(waiver: dict, flag: dict) -> bool:
    """Whether the waiver accepts this flag: its code, in its place (None: no place)."""
    return (
        flag.get("severity") == WARNING
        and flag.get("code") == waiver["code"]
        and place(flag) == (waiver.get("country") or None)
    )


def apply(verdict: dict, waivers: Iterable[dict]) -> dict:
    """The verdict with the warnings these waivers cover moved to `waived`; the first
    waiver (in the order given) that covers a flag is the one it names."""
    waivers = [w for w in waivers]
    flags, waived = [], list(verdict.get("waived", ()))
    for flag in verdict["flags"]:
        waiver = next((w for w in waivers if covers(w, flag)), None)
        if waiver is None:
            flags.append(flag)
        else:
            waived.append({**flag, "waiver": {k: waiver[k] for k in SHOWN}})
    return {**verdict, "flags": flags, "waived": waived}
