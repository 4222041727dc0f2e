"""Catalogue operations shared by the API, the CLI and the demo loader."""

from __future__ import annotations

from datetime import date, timedelta

from . import compliance, db
from .errors import ValidationFailed
from .state import Registry
from .store import subprocessors as store
from .validation import check_locations


def create(registry: Registry, data: dict) -> dict:
    """Validate `data` (already schema-loaded) against the law and store it."""
    errors = check_locations(data["locations"], registry.law())
    if errors:
        raise ValidationFailed(errors)
    if "effective_on" not in data:
        data = {**data, "effective_on": default_effective_on(registry)}
    with registry.db.write() as tx:
        record = store.create(tx, data)
        db.bump_revision(tx)
    return record


def default_effective_on(registry: Registry) -> str:
    return (registry.today() + timedelta(days=registry.notice_days)).isoformat()


def update(registry: Registry, subprocessor_id: str, changes: dict, check_version) -> dict:
    """Apply `changes` after `check_version(record)` accepted the caller's precondition."""
    if "locations" in changes:
        errors = check_locations(changes["locations"], registry.law())
        if errors:
            raise ValidationFailed(errors)
    with registry.db.write() as tx:
        current = store.get(tx.conn, subprocessor_id)
        check_version(current)
        if not changes:
            return current  # nothing to change: no new version, no new revision
        record = store.update(tx, subprocessor_id, changes)
        db.bump_revision(tx)
    return record


def retire(registry: Registry, subprocessor_id: str, check_version) -> dict:
    with registry.db.write() as tx:
        check_version(store.get(tx.conn, subprocessor_id))
        record = store.retire(tx, subprocessor_id, registry.today().isoformat())
        db.bump_revision(tx)
    return record


def with_verdict(record: dict, verdict: dict, on: date) -> dict:
    """The API representation: the record, its status on `on` and its compliance."""
    return {**record, "status": compliance.status_on(record, on), "compliance": verdict}
