"""What evidence falls due soon (pure: no Flask, no SQLite).

Within DUE_WITHIN_DAYS of today (inclusive): a certification check that goes stale (the
first day CERTIFICATION_CHECK_STALE would be raised), a TIA's `review_by`, an importer's
certificate under an Art. 46(2)(f) certification that expires (the first day it no longer
counts: its `certificate_expires_on`, at the latest three years after `certified_on`, Art.
42(7) GDPR), and a waiver's `expires_on` (the day the warning it accepts is back).
`registry check` prints a note for each; the daily sweep records one `evidence.due` event per
item and due date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from .art46 import certificate_ends
from .engine import in_force, status_on
from .rules import certification_stale_on, parse_date

DUE_WITHIN_DAYS = 30
CERTIFICATION = "certification_check"
TIA_REVIEW = "tia_review"
WAIVER_EXPIRY = "waiver_expiry"
CERTIFICATE_EXPIRY = "certificate_expiry"
KINDS = (CERTIFICATION, TIA_REVIEW, WAIVER_EXPIRY, CERTIFICATE_EXPIRY)


def _transfers(record: dict) -> Iterable[tuple[dict, str | None]]:
    for location in record.get("locations") or ():
        yield location, None
    for transfer in record.get("onward_transfers") or ():
        yield transfer, str(transfer.get("name") or "")


def _place(location: dict, onward: str | None) -> str:
    country = location.get("country") or location.get("international_organisation") or ""
    return country + (f" onward {onward}" if onward else "")


def _item(record: dict, location: dict, onward: str | None) -> str:
    parts = [record.get("id") or "", _place(location, onward), location.get("activity") or ""]
    return "/".join(parts)


def due(
    records: Iterable[dict],
    waivers: Iterable[dict],
    today: date,
    within: int = DUE_WITHIN_DAYS,
) -> list[dict]:
    """Everything falling due from `today` to `within` days later (both inclusive), by due
    date: `{kind, item, due_on, subprocessor_id, subprocessor_name, country, message}`.
    `records` are the sub-processors (retired ones are skipped); `waivers` those not revoked.
    A TIA is read from `safeguard.tia.review_by` when the record has it."""
    last = today + timedelta(days=within)
    found: list[dict] = []
    names: dict[str, str] = {}

    def add(kind: str, item: str, due_on: date, who: dict, country, message: str) -> None:
        if today <= due_on <= last:
            found.append(
                {
                    "kind": kind,
                    "item": item,
                    "due_on": due_on.isoformat(),
                    "subprocessor_id": who.get("id"),
                    "subprocessor_name": who.get("name"),
                    "country": country,
                    "message": message,
                }
            )

    for record in records:
        if status_on(record, today) == "retired":
            continue
        names[record.get("id")] = record.get("name")
        record = in_force(record, today)
        for location, onward in _transfers(record):
            safeguard = location.get("safeguard")
            if not isinstance(safeguard, dict):
                continue
            place, item = _place(location, onward), _item(record, location, onward)
            checked = parse_date(safeguard.get("certification_checked_on"))
            if safeguard.get("certified") is True and checked is not None:
                stale_on = certification_stale_on(checked)
                add(
                    CERTIFICATION,
                    item,
                    stale_on,
                    record,
                    location.get("country"),
                    f"The certification check of {checked.isoformat()} for {place} goes stale "
                    f"on {stale_on.isoformat()}: check the certification again.",
                )
            certified = parse_date(safeguard.get("certified_on"))
            if safeguard.get("mechanism") == "certification" and certified is not None:
                ends = certificate_ends(
                    certified, parse_date(safeguard.get("certificate_expires_on"))
                )
                add(
                    CERTIFICATE_EXPIRY,
                    item,
                    ends,
                    record,
                    location.get("country"),
                    f"The importer's certificate of {certified.isoformat()} for {place} no "
                    f"longer counts from {ends.isoformat()}: record its renewal (Art. 42(7) "
                    f"GDPR) or another safeguard.",
                )
            tia = safeguard.get("tia")
            review_by = parse_date(tia.get("review_by")) if isinstance(tia, dict) else None
            if review_by is not None:
                add(
                    TIA_REVIEW,
                    item,
                    review_by,
                    record,
                    location.get("country"),
                    f"The transfer impact assessment for {place} is to be reviewed by "
                    f"{review_by.isoformat()}.",
                )
    for waiver in waivers:
        if waiver.get("revoked_at") or waiver.get("subprocessor_id") not in names:
            continue  # revoked, or its sub-processor retired
        expires = parse_date(waiver.get("expires_on"))
        if expires is None:
            continue
        where = f" in {waiver['country']}" if waiver.get("country") else ""
        add(
            WAIVER_EXPIRY,
            waiver["id"],
            expires,
            {"id": waiver["subprocessor_id"], "name": names.get(waiver["subprocessor_id"])},
            waiver.get("country"),
            f"The waiver {waiver['id']} of {waiver['code']}{where} expires on "
            f"{expires.isoformat()}: the warning is back then unless remedied.",
        )
    return sorted(found, key=lambda item: (item["due_on"], item["kind"], item["item"]))
