"""Verdicts as the API and the CLI ask for them: one record, the whole register, the snapshot."""

from __future__ import annotations

from datetime import date

from ..audit import service as audit
from ..compliance import engine, evidence
from ..customer_projection import projection
from ..documents import service as documents
from ..events import service as change_feed
from ..history import service as history
from ..incidents import service as incidents
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from ..waivers import service as waivers
from . import store
from .snapshot import Snapshot, current

__all__ = [
    "DailySweep",
    "Snapshot",
    "evaluate",
    "register_report",
    "represent",
    "snapshot",
    "sweep_verdicts",
    "with_verdict",
]


def snapshot(registry: Registry) -> Snapshot:
    """Today's verdicts for the current revision (see snapshot.current)."""
    return current(registry)


def with_verdict(record: dict, verdict: dict, on: date) -> dict:
    """The API representation: the record as in force on `on` (its pending change once that
    takes effect, before any write records it), its status and its compliance."""
    record = engine.in_force(record, on)
    return {**record, "status": engine.status_on(record, on), "compliance": verdict}


def _judged(registry: Registry, record: dict) -> tuple[dict, Snapshot, date]:
    """The record with today's status and verdict (from the per-revision snapshot if
    current), the snapshot, and today."""
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
            role=registry.settings.organisation_role,
        )
    return with_verdict(record, verdict, on), current_snapshot, on


def represent(registry: Registry, record: dict) -> dict:
    """The record with today's status and verdict, from the per-revision snapshot if current,
    with the waivers in force today (staff's view: a customer's never carries them)."""
    represented = _judged(registry, record)[0]
    return _with_waivers(registry, represented, registry.today())


def _with_waivers(registry: Registry, represented: dict, on: date) -> dict:
    verdict = waived(registry, represented["id"], represented["compliance"], on)
    return {**represented, "compliance": verdict}


def waived(
    registry: Registry, record_id: str, verdict: dict, on: date, before: str | None = None
) -> dict:
    """The verdict with the warnings the waivers in force on `on` accept moved to `waived`
    (as the register stood at `before`, if given). Staff only."""
    return waivers.apply(registry.db.connection(), record_id, verdict, on, before)


def waiver_ids(registry: Registry, record: dict) -> list[str]:
    """The waivers of the record in force today: part of what staff's view depends on."""
    found = waivers.in_force(registry.db.connection(), registry.today(), [record["id"]])
    return [waiver["id"] for waiver in found.get(record["id"], ())]


def customer_view(
    registry: Registry, record: dict, upheld_objections: list[dict] | None = None
) -> dict:
    """What a customer sees of the record today: the customer projection (projection.py)
    of the record, judged with the snapshot's law and copies."""
    represented, current_snapshot, on = _judged(registry, record)
    return projection.subprocessor(
        represented,
        current_snapshot.law,
        on,
        current_snapshot.copies,
        verdict=represented["compliance"],
        upheld_objections=upheld_objections,
    )


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
        record,
        registry.law(),
        on,
        copies=copies,
        notice_days=registry.notice_days,
        role=registry.settings.organisation_role,
    )
    return _with_waivers(registry, with_verdict(record, verdict, on), on)


def evaluate(
    registry: Registry,
    record: dict,
    on: date,
    *,
    assume_ended: frozenset[str] = frozenset(),
    before: str | None = None,
) -> dict:
    """One record's verdict on `on`, with the copies on file and the waivers in force (as
    they stood at `before`, if given)."""
    verdict = engine.evaluate(
        record,
        registry.law(),
        on,
        assume_ended=assume_ended,
        copies=documents.disclosable_copies(registry.db.connection(), before),
        notice_days=registry.notice_days,
        role=registry.settings.organisation_role,
    )
    return waived(registry, record["id"], verdict, on, before)


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
        evaluated = _evaluate_each(registry, conn, records, on, assume_ended, before)
        return _report(registry, conn, evaluated, on, assume_ended, before)


def register_verdicts(
    registry: Registry, on: date, *, assume_ended: frozenset[str] = frozenset()
) -> tuple[list[tuple[dict, str, dict]], dict]:
    """`(record, status, compliance)` for every sub-processor not retired on `on`, and the
    register report made of them: one evaluation, in one read transaction."""
    with registry.db.snapshot():
        conn = registry.db.connection()
        records = subprocessors.iter_current(conn, on.isoformat())
        verdicts = list(_evaluate_each(registry, conn, records, on, assume_ended, None))
        return verdicts, _report(registry, conn, verdicts, on, assume_ended, None)


def _evaluate_each(registry: Registry, conn, records, on: date, assume_ended, before):
    """Each record's verdict, with the waivers in force on `on` (as they stood at `before`)."""
    evaluated = engine.evaluate_each(
        records,
        registry.law(),
        on,
        assume_ended=assume_ended,
        copies=documents.disclosable_copies(conn, before),
        notice_days=registry.notice_days,
        role=registry.settings.organisation_role,
    )
    return waivers.apply_each(conn, evaluated, on, before)


def _report(registry: Registry, conn, evaluated, on: date, assume_ended, before) -> dict:
    """The register report (staff only): the summary of `evaluated`, what evidence falls
    due within 30 days of `on`, the breach notices owed and the copies not scanned now."""
    report = engine.summarise_register(evaluated, on, assume_ended=assume_ended)
    report["evidence_due"] = _evidence_due(conn, on, before)
    # Breach notices are owed now, whatever date the transfers are judged on; so is a scan.
    report["incidents"] = incidents.notice_report(conn, registry.settings.incident_notice_hours)
    report["not_scanned"] = unscanned(registry)
    return report


def _summary(verdict: dict) -> dict:
    """What a change of verdict is judged on: the status and each flag's code and place."""
    flags = sorted(
        (
            {k: flag[k] for k in ("code", "severity", "country", "onward") if k in flag}
            for flag in verdict["flags"]
        ),
        key=lambda f: (f["code"], f.get("country") or "", f.get("onward") or ""),
    )
    return {"status": verdict["status"], "flags": flags}


def _under_rules_1(summary: dict) -> dict:
    """The same verdict as the rules before version 2 gave it, to announce what they changed.

    Databases older than recorded verdicts hold no verdict to compare with; the codes rules 2
    added are taken out, and a derogation not available was a derogation relied on.
    """
    flags = []
    for flag in summary["flags"]:
        if flag["code"] == "DEROGATION_NOT_AVAILABLE":
            flags.append({**flag, "code": "DEROGATION_RELIED_ON", "severity": "warning"})
        elif flag["code"] not in engine.ADDED_IN_RULES_2 and "onward" not in flag:
            flags.append(flag)
    flagged = any(flag["severity"] == "error" for flag in flags)
    return {"status": "flagged" if flagged else "compliant", "flags": flags}


def _earlier(
    kept: dict | None, record: dict, now: dict, law, earlier_rules: int | None
) -> tuple[dict | None, str | None]:
    """The verdict a record had before, and why it may differ now (law, rules or the date);
    None for a record new or written since (its own change event told)."""
    if kept is not None and kept["version"] == record["version"]:
        earlier = {"status": kept["status"], "flags": kept["flags"]}
        if kept["law_version"] != law.version:
            return earlier, "law"
        if kept["rules"] != engine.RULES:
            return earlier, "rules"
        return earlier, "date"
    if kept is None and earlier_rules == 1:
        return _under_rules_1(now), "rules"
    return None, None


def sweep_verdicts(registry: Registry) -> list[str]:
    """Announce each sub-processor whose verdict changed with no write of its own.

    A newly loaded act, a date passing an expiry or an ending, or new rules can change a
    verdict; each such change becomes a `subprocessor.verdict_changed` event (with its
    webhooks) saying from what, to what and why. A write announces itself, so a sub-processor
    written since its verdict was recorded only has its verdict recorded again. Safe to run
    at any time and from several processes; returns the ids announced.
    """
    on = registry.today()
    law = registry.law()
    role = registry.settings.organisation_role
    announced = []
    with registry.db.write() as tx:
        conn = tx.conn
        before = store.recorded(conn)
        # A register older than recorded verdicts: its verdicts were the earlier rules'.
        earlier_rules = store.judged_under_earlier_rules(conn)
        evaluated = engine.evaluate_each(
            subprocessors.iter_current(conn, on.isoformat()),
            law,
            on,
            copies=documents.disclosable_copies(conn),
            notice_days=registry.notice_days,
            role=role,
        )
        for record, _status, verdict in evaluated:
            now = _summary(verdict)
            earlier, reason = _earlier(before.get(record["id"]), record, now, law, earlier_rules)
            if earlier is not None and earlier != now:
                change_feed.record(
                    tx,
                    "subprocessor.verdict_changed",
                    record,
                    {
                        "subprocessor": subprocessors.version_of(record),
                        "effective_on": record["effective_on"],
                        "verdict": {"from": earlier, "to": now},
                        "reason": reason,
                        "as_of": on.isoformat(),
                    },
                )
                announced.append(record["id"])
            store.record(
                tx,
                {
                    "subprocessor_id": record["id"],
                    "version": record["version"],
                    "law_version": law.version,
                    "rules": engine.RULES,
                    "as_of": on.isoformat(),
                    **now,
                },
            )
        if earlier_rules is not None:
            store.forget_earlier_rules(tx)
    return announced


def evidence_due(registry: Registry, on: date | None = None) -> list[dict]:
    """What evidence falls due within 30 days of `on` (default today): certification
    checks going stale, TIA reviews, waivers expiring (compliance/evidence.py)."""
    on = registry.today() if on is None else on
    with registry.db.snapshot():
        return _evidence_due(registry.db.connection(), on, None)


def _evidence_due(conn, on: date, before: str | None) -> list[dict]:
    """What falls due from `on` to 30 days later (both inclusive); with `before`, of the
    register and the waivers as they stood then."""
    records = (
        history.register_at(conn, before)
        if before
        else subprocessors.iter_current(conn, on.isoformat())
    )
    return evidence.due(records, waivers.not_revoked(conn, before), on)


# What the report says of a copy stored without a malware scan.
UNSCANNED_FIELDS = ("id", "title", "kind", "media_type", "sha256", "subprocessor_id", "uploaded_at")


def unscanned(registry: Registry) -> list[dict]:
    """The copies on file now stored without a malware scan (REGISTRY_CLAMD unset)."""
    return [
        {field: copy.get(field) for field in UNSCANNED_FIELDS}
        for copy in documents.unscanned_copies(registry)
    ]


def sweep_evidence(registry: Registry) -> list[dict]:
    """Record one `evidence.due` event (staff only) per item and due date falling due
    within 30 days, never twice: a later sweep finds it noted. Returns those recorded."""
    on = registry.today()
    recorded = []
    with registry.db.write() as tx:
        conn = tx.conn
        items = evidence.due(
            subprocessors.iter_current(conn, on.isoformat()), waivers.not_revoked(conn), on
        )
        for item in items:
            if not store.remember_due(tx, item["kind"], item["item"], item["due_on"]):
                continue
            record = subprocessors.get(conn, item["subprocessor_id"])
            change_feed.record(
                tx,
                "evidence.due",
                record,
                {
                    "subprocessor": subprocessors.version_of(record),
                    "evidence": item,
                    "as_of": on.isoformat(),
                },
            )
            recorded.append(item)
    return recorded


def start_of_day(registry: Registry, actor: dict) -> dict:
    """What a new day (or a new law) asks: pending changes now in force written into their
    records, every verdict that changed without a write announced, then the evidence falling
    due within 30 days told to staff (`evidence.due`)."""
    return {
        "changes_applied": subprocessors.apply_due_changes(registry, actor),
        "verdicts_changed": sweep_verdicts(registry),
        "evidence_due": sweep_evidence(registry),
    }


class DailySweep:
    """start_of_day once per day and law version, for a process that runs for long."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.done: tuple | None = None

    def __call__(self) -> list[str]:
        try:
            key = (self.registry.today(), self.registry.law().version)
        except RuntimeError:
            return []  # no reference law yet: `registry init` has not run
        if key == self.done:
            return []
        outcome = start_of_day(self.registry, audit.actor(name="registry worker"))
        self.done = key
        return outcome["verdicts_changed"]
