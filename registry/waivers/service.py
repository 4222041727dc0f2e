"""Waivers: staff accept the risk of one warning on one sub-processor until a date.

A waiver covers a warning raised today on that sub-processor (in that country, or with no
country for a warning raised on the sub-processor as a whole); errors and notes cannot be
waived. While in force it moves the warning to the verdict's `waived` list
(compliance/waivers.py); it expires on `expires_on`, at most a year ahead, or when revoked.
Revoking keeps the row for the audit trail; creating and revoking are audited. Staff only:
customers never see a waiver nor what it waives.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date

from .. import clock
from ..audit import service as audit
from ..compliance import engine, flags
from ..compliance import waivers as rules
from ..documents import service as documents
from ..errors import Conflict, Invalid, NotFound, ValidationFailed, field_error
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from . import store

MAX_REASON = 2000
STATES = ("active", "expired", "revoked")


def not_found(waiver_id: str) -> NotFound:
    return NotFound(f"No waiver has the id {waiver_id!r}.")


def latest_expiry(today: date) -> date:
    """A year after today: the same day next year (28 February for 29 February)."""
    try:
        return today.replace(year=today.year + 1)
    except ValueError:
        return today.replace(year=today.year + 1, day=28)


def _by(actor: dict) -> str | None:
    return actor.get("key_id") or actor.get("name")


def represent(conn: sqlite3.Connection, waivers: list[dict], on: date) -> list[dict]:
    """Staff's view: the waiver, its state today and the sub-processor's name."""
    names = {
        record["id"]: record["name"]
        for record in subprocessors.by_ids(conn, {w["subprocessor_id"] for w in waivers})
    }
    return [
        {
            **{k: v for k, v in waiver.items() if k != "seq"},
            "subprocessor_name": names.get(waiver["subprocessor_id"]),
            "state": rules.state(waiver, on),
        }
        for waiver in waivers
    ]


# --- writes -------------------------------------------------------------------------------------


def _check_code(code: str) -> None:
    severity = flags.SEVERITY.get(code)
    if severity is None:
        if code in flags.TRANSFER_NOTES:
            raise Invalid(
                "/code",
                f"{code} is a note about the reference law, not a finding: "
                "there is nothing to waive.",
            )
        raise Invalid("/code", f"{code!r} is not a flag code the registry raises.")
    if severity != flags.WARNING:
        raise Invalid(
            "/code",
            f"{code} is an error and cannot be waived: only a warning's risk can be "
            "accepted. Remedy the transfer instead.",
        )


def _check_expiry(expires_on: str, today: date) -> None:
    day = date.fromisoformat(expires_on)
    latest = latest_expiry(today)
    if day <= today:
        raise Invalid("/expires_on", f"A waiver expires after today ({today.isoformat()}).")
    if day > latest:
        raise Invalid(
            "/expires_on",
            f"A waiver lasts at most a year: it expires on {latest.isoformat()} at the latest.",
        )


def _raised_today(registry: Registry, conn, record: dict, today: date) -> list[dict]:
    """Today's flags on the record, as its verdict raises them (before any waiver)."""
    verdict = engine.evaluate(
        record,
        registry.law(),
        today,
        copies=documents.disclosable_copies(conn),
        notice_days=registry.notice_days,
        role=registry.settings.organisation_role,
    )
    return verdict["flags"]


def _country(code: str, country: str | None, raised: list[dict]) -> str | None:
    """The country as the verdict raises the warning (None: raised with no country); 422
    when the warning is not raised today where the waiver would put it."""
    same = [flag for flag in raised if flag["code"] == code]
    if not same:
        raise Invalid(
            "/code",
            f"{code} is not raised on this sub-processor today: there is nothing to waive.",
        )
    countries = sorted({rules.place(flag) or "" for flag in same})
    if countries == [""]:
        if country is not None:
            raise Invalid(
                "/country",
                f"{code} is raised on the sub-processor as a whole, not per country: leave "
                "country out (or null).",
            )
        return None
    listed = ", ".join(c for c in countries if c)
    if country is None:
        raise Invalid("/country", f"{code} is raised per country: name one of {listed}.")
    for raised_country in countries:
        if raised_country and raised_country.upper() == country.upper():
            return raised_country
    raise Invalid("/country", f"{code} is not raised for {country} today; it is for {listed}.")


def create(registry: Registry, data: dict, actor: dict) -> dict:
    """Accept a warning's risk until `expires_on` (schema-loaded `data`); 422 for an unknown
    or retired sub-processor, an error or unknown code, a warning not raised today where the
    waiver would put it, or an expiry not within the coming year; 409 when a waiver in force
    already covers it."""
    today = registry.today()
    code, country = data["code"], data.get("country")
    with registry.db.write() as tx:
        conn = tx.conn
        try:
            record = subprocessors.get(conn, data["subprocessor_id"])
        except NotFound:
            raise Invalid(
                "/subprocessor_id", f"No sub-processor has the id {data['subprocessor_id']!r}."
            ) from None
        errors = []
        if engine.status_on(record, today) == "retired":
            errors.append(
                field_error("/subprocessor_id", "The sub-processor is retired: nothing to waive.")
            )
        for check in (lambda: _check_code(code), lambda: _check_expiry(data["expires_on"], today)):
            try:
                check()
            except Invalid as exc:
                errors.append(field_error(exc.pointer, exc.message))
        if errors:
            raise ValidationFailed(errors)
        country = _country(code, country, _raised_today(registry, conn, record, today))
        for waiver in rules.in_force(store.for_subprocessors(conn, [record["id"]]), today):
            if waiver["code"] == code and waiver["country"] == country:
                raise Conflict(
                    f"The waiver {waiver['id']} already accepts {code}"
                    + (f" in {country}" if country else "")
                    + f" until {waiver['expires_on']}: revoke it first to change it."
                )
        waiver = store.create(
            tx,
            subprocessor_id=record["id"],
            code=code,
            country=country,
            reason=data["reason"],
            expires_on=data["expires_on"],
            at=clock.timestamp(),
            by=_by(actor),
        )
        audit.append(tx, actor, "waiver.create", "waiver", waiver["id"], _audited(waiver))
    return waiver


def _audited(waiver: dict) -> dict:
    return {k: waiver[k] for k in ("subprocessor_id", "code", "country", "reason", "expires_on")}


def revoke(registry: Registry, waiver_id: str, check_version, actor: dict) -> dict:
    """Revoke a waiver now, after `check_version(waiver)` accepted the caller's
    precondition: the warning is back. 404 for none; 409 for one already revoked or expired
    (nothing in force to revoke)."""
    today = registry.today()
    with registry.db.write() as tx:
        waiver = store.get(tx.conn, waiver_id)
        if waiver is None:
            raise not_found(waiver_id)
        state = rules.state(waiver, today)
        if state == "revoked":
            raise Conflict(f"The waiver was revoked at {waiver['revoked_at']}.")
        if state == "expired":
            raise Conflict(f"The waiver expired on {waiver['expires_on']}: nothing to revoke.")
        check_version(waiver)
        waiver = store.revoke(tx, waiver_id, at=clock.timestamp(), by=_by(actor))
        audit.append(
            tx,
            actor,
            "waiver.revoke",
            "waiver",
            waiver_id,
            {**_audited(waiver), "revoked_at": waiver["revoked_at"]},
        )
    return waiver


# --- reads --------------------------------------------------------------------------------------


def get(conn: sqlite3.Connection, waiver_id: str) -> dict:
    waiver = store.get(conn, waiver_id)
    if waiver is None:
        raise not_found(waiver_id)
    return waiver


def page(conn: sqlite3.Connection, *, today: date, **query) -> list[dict]:
    return store.page(conn, today=today.isoformat(), **query)


def in_force(
    conn: sqlite3.Connection,
    on: date,
    subprocessor_ids: Iterable[str] | None = None,
    before: str | None = None,
) -> dict[str, list[dict]]:
    """The waivers in force on `on` (as the register stood at `before`, if given), by
    sub-processor id; of these sub-processors only, when given."""
    ids = None if subprocessor_ids is None else sorted(set(subprocessor_ids))
    waivers = store.for_subprocessors(conn, ids) if before or ids else store.not_revoked(conn)
    by_id: dict[str, list[dict]] = {}
    for waiver in rules.in_force(waivers, on, before):
        by_id.setdefault(waiver["subprocessor_id"], []).append(waiver)
    return by_id


def apply(
    conn: sqlite3.Connection, record_id: str, verdict: dict, on: date, before: str | None = None
) -> dict:
    """One record's verdict on `on` with the waivers then in force applied."""
    return rules.apply(verdict, in_force(conn, on, [record_id], before).get(record_id, ()))


def apply_each(conn: sqlite3.Connection, evaluated, on: date, before: str | None = None):
    """`(record, status, verdict)` triples with the waivers in force on `on` applied."""
    waivers = in_force(conn, on, before=before)
    for record, status, verdict in evaluated:
        yield record, status, rules.apply(verdict, waivers.get(record["id"], ()))


def not_revoked(conn: sqlite3.Connection, before: str | None = None) -> list[dict]:
    """Every waiver not revoked (expired ones too): what may fall due. With `before` (a UTC
    timestamp), as the register stood then: made before it and not revoked before it."""
    if before is None:
        return store.not_revoked(conn)
    return [
        {**waiver, "revoked_at": None}
        for waiver in store.for_subprocessors(conn, None)
        if waiver["created_at"] < before
        and not (waiver.get("revoked_at") and waiver["revoked_at"] < before)
    ]
