"""Verdicts as the API and the CLI ask for them: one record, the whole register, the snapshot."""

from __future__ import annotations

from datetime import date

from ..documents import service as documents
from ..history import service as history
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from . import engine
from .snapshot import Snapshot, current

__all__ = ["Snapshot", "evaluate", "register_report", "represent", "snapshot", "with_verdict"]


def snapshot(registry: Registry) -> Snapshot:
    """Today's verdicts for the current revision (see snapshot.current)."""
    return current(registry)


def with_verdict(record: dict, verdict: dict, on: date) -> dict:
    """The API representation: the record, its status on `on` and its compliance."""
    return {**record, "status": engine.status_on(record, on), "compliance": verdict}


def represent(registry: Registry, record: dict) -> dict:
    """The record with today's status and verdict, from the per-revision snapshot if current."""
    current_snapshot = snapshot(registry)
    on = registry.today()
    verdict = current_snapshot.verdict(record)
    if verdict is None:  # retired, or another version than the snapshot's
        verdict = engine.evaluate(
            record,
            current_snapshot.law,
            on,
            copies=current_snapshot.copies,
            notice_days=registry.notice_days,
        )
    return with_verdict(record, verdict, on)


def represent_written(registry: Registry, record: dict) -> dict:
    """A record just written: evaluated alone, since the snapshot is of the revision before.

    Rebuilding the snapshot here would make every write cost the whole register.
    """
    on = registry.today()
    copies = {
        (record["id"], country, kind)
        for country, kind in documents.copies_of(registry.db.connection(), record["id"])
    }
    verdict = engine.evaluate(
        record, registry.law(), on, copies=copies, notice_days=registry.notice_days
    )
    return with_verdict(record, verdict, on)


def evaluate(
    registry: Registry,
    record: dict,
    on: date,
    *,
    assume_ended: frozenset[str] = frozenset(),
    before: str | None = None,
) -> dict:
    """One record's verdict on `on`, with the copies on file (before `before` if given)."""
    return engine.evaluate(
        record,
        registry.law(),
        on,
        assume_ended=assume_ended,
        copies=documents.disclosable_copies(registry.db.connection(), before),
        notice_days=registry.notice_days,
    )


def register_report(
    registry: Registry,
    on: date,
    *,
    assume_ended: frozenset[str] = frozenset(),
    before: str | None = None,
) -> dict:
    """The whole register's compliance on `on`; with `before`, the register as it stood then.

    Records stream from one read transaction into the engine, so memory and time stay
    linear in the register's size.
    """
    with registry.db.snapshot():
        conn = registry.db.connection()
        records = (
            history.register_at(conn, before)
            if before
            else subprocessors.iter_current(conn, on.isoformat())
        )
        return engine.evaluate_register(
            records,
            registry.law(),
            on,
            assume_ended=assume_ended,
            copies=documents.disclosable_copies(conn, before),
            notice_days=registry.notice_days,
        )
