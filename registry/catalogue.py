"""Catalogue operations shared by the API, the CLI and the demo loader."""

from __future__ import annotations

from datetime import date, timedelta

from . import compliance, db
from .errors import ValidationFailed
from .state import Registry
from .store import audit as audit_store
from .store import changes as change_store
from .store import documents as document_store
from .store import history
from .store import subprocessors as store
from .validation import check_locations

# What a version of a sub-processor is: every column but the row's position and its last
# write time (which every version would differ in).
_PUBLIC_FIELDS = tuple(c for c in store.COLUMNS if c not in ("seq", "updated_at"))


def _audited(record: dict) -> dict:
    return {field: record[field] for field in _PUBLIC_FIELDS}


def objection_deadline(effective_on: str) -> str:
    """The last day a customer may object: the day before the sub-processor takes effect."""
    return (date.fromisoformat(effective_on) - timedelta(days=1)).isoformat()


def _written(tx, change_type: str, record: dict, **data) -> None:
    """What every write of a sub-processor leaves behind, in its own transaction."""
    public = _audited(record)
    history.record_version(tx, public)
    notice = {"effective_on": record["effective_on"]}
    if change_type != "subprocessor.retired":
        notice["objection_deadline"] = objection_deadline(record["effective_on"])
    change_store.record_change(tx, change_type, public, {"subprocessor": public, **notice, **data})
    store.mark_changed(tx, record["id"], db.bump_revision(tx))


def create(registry: Registry, data: dict, actor: dict) -> dict:
    """Validate `data` (already schema-loaded) against the law and store it."""
    errors = check_locations(data["locations"], registry.law())
    if errors:
        raise ValidationFailed(errors)
    if "effective_on" not in data:
        data = {**data, "effective_on": default_effective_on(registry)}
    # The notice customers got runs from the registry's today, the day it was announced.
    data = {**data, "announced_on": registry.today().isoformat()}
    with registry.db.write() as tx:
        record = store.create(tx, data)
        audit_store.append(
            tx, actor, "subprocessor.create", "subprocessor", record["id"], _audited(record)
        )
        _written(tx, "subprocessor.announced", record)
    return record


def default_effective_on(registry: Registry) -> str:
    return (registry.today() + timedelta(days=registry.notice_days)).isoformat()


def update(
    registry: Registry, subprocessor_id: str, changes: dict, check_version, actor: dict
) -> dict:
    """Apply `changes` after `check_version(record)` accepted the caller's precondition."""
    if "locations" in changes:
        errors = check_locations(changes["locations"], registry.law())
        if errors:
            raise ValidationFailed(errors)
    with registry.db.write() as tx:
        current = store.get(tx.conn, subprocessor_id)
        check_version(current)
        # A value equal to the current one is no change: it makes no version, no change
        # event for customers and no audit entry.
        changes = {field: value for field, value in changes.items() if current[field] != value}
        if not changes:
            return current  # nothing to change: no new version, no new revision
        record = store.update(tx, subprocessor_id, changes)
        before, after = _audited(current), _audited(record)
        diff = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
        audit_store.append(tx, actor, "subprocessor.update", "subprocessor", subprocessor_id, diff)
        # The event carries the new version itself; its changes are what customers care about.
        changed = {k: v for k, v in diff.items() if k != "version"}
        _written(tx, "subprocessor.changed", record, changes=changed)
    return record


def retire(registry: Registry, subprocessor_id: str, check_version, actor: dict) -> dict:
    with registry.db.write() as tx:
        check_version(store.get(tx.conn, subprocessor_id))
        record = store.retire(tx, subprocessor_id, registry.today().isoformat())
        audit_store.append(
            tx,
            actor,
            "subprocessor.retire",
            "subprocessor",
            subprocessor_id,
            {"retired_on": record["retired_on"], "version": record["version"]},
        )
        _written(tx, "subprocessor.retired", record, retired_on=record["retired_on"])
    return record


def with_verdict(record: dict, verdict: dict, on: date) -> dict:
    """The API representation: the record, its status on `on` and its compliance."""
    return {**record, "status": compliance.status_on(record, on), "compliance": verdict}


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
            else store.iter_current(conn, on.isoformat())
        )
        return compliance.evaluate_register(
            records,
            registry.law(),
            on,
            assume_ended=assume_ended,
            copies=document_store.disclosable_copies(conn, before),
            notice_days=registry.notice_days,
        )
