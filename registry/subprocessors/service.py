"""The sub-processor catalogue: its writes, its checks against the law, its reads.

Each write is versioned, audited and announced in the change feed in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import date, timedelta

from ..audit import service as audit
from ..changecontrol import judgement
from ..changecontrol.judgement import objection_deadline
from ..db import store as db
from ..errors import Conflict, ValidationFailed, field_error
from ..events import service as change_feed
from ..history import service as history
from ..runtime import Registry
from . import store
from .locations import check_locations, check_onward

# What a version of a sub-processor is: every column but the row's position and its last
# write time (which every version would differ in).
_PUBLIC_FIELDS = tuple(c for c in store.COLUMNS if c not in ("seq", "updated_at"))


def version_of(record: dict) -> dict:
    """The record as its versions, the audit trail and the change feed hold it."""
    return {field: record[field] for field in _PUBLIC_FIELDS}


def _written(tx, change_type: str, record: dict, *, material: bool = True, **data) -> None:
    """What every write of a sub-processor leaves behind, in its own transaction."""
    public = version_of(record)
    history.record_version(tx, public)
    notice = {"effective_on": record["effective_on"]}
    if change_type == "subprocessor.announced":
        notice["objection_deadline"] = objection_deadline(record["effective_on"])
    change_feed.record(
        tx, change_type, public, {"subprocessor": public, **notice, **data}, material=material
    )
    store.mark_changed(tx, record["id"], db.bump_revision(tx))


def _notice_errors(data: dict, today: date, notice_days: int, what: str) -> list[dict]:
    """`effective_on` must give customers the notice they are promised, unless urgent."""
    earliest = today + timedelta(days=notice_days)
    effective = date.fromisoformat(data["effective_on"])
    errors = []
    if data.get("urgent_reason") and not data.get("urgent"):
        errors.append(field_error("/urgent_reason", "Only with `urgent: true`."))
    if effective < today:
        errors.append(
            field_error(
                "/effective_on",
                f"{what} cannot take effect in the past ({today.isoformat()} is today)"
                + (
                    "; record a vendor already in use with `already_in_use: true`."
                    if what == "A new sub-processor"
                    else "."
                ),
            )
        )
    elif effective < earliest and not data.get("urgent"):
        errors.append(
            field_error(
                "/effective_on",
                f"Customers are told {notice_days} days ahead: the earliest effective_on is "
                f"{earliest.isoformat()}, unless it is urgent (`urgent: true` with an "
                f"`urgent_reason`)"
                + (
                    " or the vendor is already in use (`already_in_use: true`)."
                    if what == "A new sub-processor"
                    else "."
                ),
            )
        )
    elif effective < earliest and not data.get("urgent_reason"):
        errors.append(
            field_error("/urgent_reason", "Required with `urgent`: why the notice is shortened.")
        )
    return errors


def _transaction(registry: Registry, tx):
    """The caller's write transaction (an import writes many records in one), else a new one."""
    return registry.db.write() if tx is None else nullcontext(tx)


def create(registry: Registry, data: dict, actor: dict, *, tx=None) -> dict:
    """Validate `data` (already schema-loaded) against the law and the notice, and store it.

    A vendor already in use (`already_in_use`) is recorded, not announced: no objection
    window, no customer notification, the claim kept in the audit trail and on the record;
    never under a name retired within the notice period (changecontrol.recorded_errors).
    With `tx`, in the caller's write transaction.
    """
    law = registry.law()
    today = registry.today()
    errors = check_locations(data["locations"], law)
    errors += check_onward(data.get("onward_transfers", []), law, data["name"])
    in_use = bool(data.get("already_in_use"))
    if in_use:
        data = {**data, "effective_on": data.get("effective_on", today.isoformat())}
        if data.get("urgent") or data.get("urgent_reason"):
            errors.append(
                field_error("/urgent", "A vendor already in use is recorded, not announced.")
            )
        if date.fromisoformat(data["effective_on"]) > today:
            errors.append(
                field_error(
                    "/effective_on",
                    "A vendor already in use took effect on or before today; announce a "
                    "future one without `already_in_use`.",
                )
            )
        # Retired and back at once under the same name would skip the notice of its changes.
        since = (today - timedelta(days=registry.notice_days)).isoformat()
        conn = registry.db.connection() if tx is None else tx.conn
        retired = store.last_retired(conn, data["name"], since)
        errors += judgement.recorded_errors(retired, today, registry.notice_days)
    else:
        if "effective_on" not in data:
            data = {**data, "effective_on": default_effective_on(registry)}
        errors += _notice_errors(data, today, registry.notice_days, "A new sub-processor")
    if errors:
        raise ValidationFailed(errors)
    # The notice customers got runs from the registry's today, the day it was announced.
    data = {**data, "announced_on": today.isoformat()}
    if not data.get("urgent"):
        data.pop("urgent_reason", None)
    with _transaction(registry, tx) as tx:
        record = store.create(tx, data)
        audit.append(
            tx, actor, "subprocessor.create", "subprocessor", record["id"], version_of(record)
        )
        if in_use:
            _written(tx, "subprocessor.recorded", record, material=False)
        else:
            _written(tx, "subprocessor.announced", record)
    return record


def default_effective_on(registry: Registry) -> str:
    return (registry.today() + timedelta(days=registry.notice_days)).isoformat()


def judge(registry: Registry, before: dict, after: dict) -> judgement.Judgement:
    """Change control's judgement of the record `before` becoming `after`, under today's law:
    material, a remedy or housekeeping (registry/changecontrol/judgement.py)."""
    return judgement.judge(
        before,
        after,
        law=registry.law(),
        on=registry.today(),
        role=registry.settings.organisation_role,
        name_key=store.name_key,
    )


def update(
    registry: Registry, subprocessor_id: str, changes: dict, check_version, actor: dict, *, tx=None
) -> dict:
    """Apply `changes` after `check_version(record)` accepted the caller's precondition.

    Change control judges the record in force against the record the changes make of it
    (changecontrol.judgement). Housekeeping and remedies apply at once (`material: false` in
    the feed). A material change becomes the sub-processor's pending change, announced with
    its own `effective_on` and objection window. While a change is pending, a change to what
    it sets amends it, and a material change joins it: the whole is judged again against the
    record in force and, when material, announced afresh (a new change, a fresh notice,
    `replaces` naming the old); when the amendment took back all that was material, the
    pending change is withdrawn and the rest applies at once. With `tx`, in the caller's
    write transaction.
    """
    law = registry.law()
    today = registry.today()
    if "locations" in changes:
        errors = check_locations(changes["locations"], law)
        if errors:
            raise ValidationFailed(errors)
    urgent = {k: changes.pop(k) for k in ("urgent", "urgent_reason") if k in changes}
    with _transaction(registry, tx) as tx:
        current = store.get(tx.conn, subprocessor_id)
        check_version(current)
        current = _apply_due(tx, current, today, actor)
        _check_chain(current, changes, law)
        pending = current["pending_change"]
        announced = pending["changes"] if pending else {}
        # A value equal to the one that stands (as announced, where a change is pending) is
        # no change: it makes no version, no change event and no audit entry.
        changes = {
            field: value
            for field, value in changes.items()
            if {**current, **announced}[field] != value
        }
        content = {field: value for field, value in changes.items() if field != "effective_on"}
        target = {**current, **content}
        verdict = judge(registry, current, target)
        withdrawn = None
        if pending and (verdict.material or set(content) & set(announced)):
            target = {**current, **announced, **content}
            verdict = judge(registry, current, target)
            if not verdict.material:
                withdrawn = pending  # what was material in it was taken back
        if verdict.material:
            effective = changes.get("effective_on") or default_effective_on(registry)
            return _announce_change(
                registry, tx, current, target, effective, urgent, verdict, actor, today
            )
        if urgent:
            raise ValidationFailed(
                [field_error("/urgent", "Only for a material change announced with less notice.")]
            )
        return _apply_at_once(registry, tx, current, target, changes, verdict, withdrawn, actor)


def _check_chain(current: dict, changes: dict, law) -> None:
    """The onward transfers as they will stand, checked when they or the name change."""
    if "onward_transfers" not in changes and "name" not in changes:
        return
    name = changes.get("name", current["name"])
    onward = changes.get("onward_transfers", current["onward_transfers"])
    errors = check_onward(onward, law, name)
    if errors and "onward_transfers" not in changes:
        # The new name is what makes the chain name the sub-processor itself; the chain as
        # stored (an SCC date refused since it was written, say) is the verdict's to judge.
        if any(error["pointer"].endswith("/name") for error in errors):
            errors = [field_error("/name", "An onward recipient already has this name.")]
        else:
            errors = []
    if errors:
        raise ValidationFailed(errors)


def _apply_at_once(
    registry: Registry,
    tx,
    current: dict,
    target: dict,
    changes: dict,
    verdict: judgement.Judgement,
    withdrawn: dict | None,
    actor: dict,
) -> dict:
    """Housekeeping or a remedy (or what is left once a pending change is withdrawn): in
    force at once, audited and in the feed with `material: false`, no customer webhook."""
    updates = {field: value for field, value in target.items() if current[field] != value}
    if "effective_on" in changes:
        updates["effective_on"] = changes["effective_on"]
    if not updates and withdrawn is None:
        return current  # nothing to change: no new version, no new revision
    _check_moved_date(current, updates, registry.notice_days)
    if withdrawn is not None:
        store.discard_pending(tx, current["id"])
    if not updates:
        return _withdrawn(tx, current, withdrawn, verdict, actor)
    record = store.update(tx, current["id"], updates)
    diff = audit.changed_fields(version_of(current), version_of(record))
    # Housekeeping is the rule; a remedy, or a withdrawal, says why it applied at once.
    control = _control(verdict) if verdict.kind == judgement.REMEDY or withdrawn else {}
    if withdrawn:
        control["discarded_change"] = withdrawn["change_id"]
    audit.append(tx, actor, "subprocessor.update", "subprocessor", current["id"], diff | control)
    # Housekeeping or a remedy: in force at once, no customer webhook.
    changed = {k: v for k, v in diff.items() if k != "version"}
    extra = {"discarded_change": withdrawn["change_id"]} if withdrawn else {}
    _written(
        tx,
        "subprocessor.changed",
        record,
        material=False,
        changes=changed,
        judgement=verdict.kind,
        reasons=verdict.why,
        **extra,
    )
    return record


def _control(verdict: judgement.Judgement) -> dict:
    """What the audit trail keeps of a judgement: the kind, its reasons, the verdicts."""
    return {
        "change_control": {
            "judgement": verdict.kind,
            "reasons": verdict.why,
            "verdicts": list(verdict.details),
        }
    }


def _withdrawn(tx, current: dict, pending: dict, verdict, actor: dict) -> dict:
    """A pending change taken back by an amendment, with nothing left to apply."""
    audit.append(
        tx,
        actor,
        "subprocessor.change_withdraw",
        "subprocessor",
        current["id"],
        {"change_id": pending["change_id"]} | _control(verdict),
    )
    public = version_of(current)
    change_feed.record(
        tx,
        "subprocessor.changed",
        current,
        {
            "subprocessor": public,
            "effective_on": current["effective_on"],
            "changes": {},
            "judgement": verdict.kind,
            "reasons": verdict.why,
            "discarded_change": pending["change_id"],
        },
        material=False,
    )
    store.mark_changed(tx, current["id"], db.bump_revision(tx))
    return store.get(tx.conn, current["id"])


def _check_moved_date(current: dict, changes: dict, notice_days: int) -> None:
    """An announced date never moves earlier than its announcement plus the notice."""
    if "effective_on" not in changes or current["already_in_use"]:
        return
    earliest = date.fromisoformat(current["announced_on"]) + timedelta(days=notice_days)
    moved = date.fromisoformat(changes["effective_on"])
    if moved < earliest and moved < date.fromisoformat(current["effective_on"]):
        raise ValidationFailed(
            [
                field_error(
                    "/effective_on",
                    f"Announced on {current['announced_on']}, it cannot take effect before "
                    f"{earliest.isoformat()}: customers were promised {notice_days} days.",
                )
            ]
        )


def _announce_change(
    registry, tx, current, target, effective, urgent, verdict, actor, today
) -> dict:
    """Make the record `target` the sub-processor's pending change from `effective`,
    announced to customers with a fresh notice (replacing the one pending, if any)."""
    if current["retired_on"] is not None:
        raise Conflict(
            f"The sub-processor retires on {current['retired_on']}: it takes no new change."
        )
    pending = current["pending_change"]
    merged = {k: v for k, v in target.items() if current[k] != v}
    if "name" in merged:  # announced only if it could be applied
        store.check_name_free(tx, merged["name"], current["id"])
    errors = _notice_errors(
        {"effective_on": effective, **urgent}, today, registry.notice_days, "A change"
    )
    if errors:
        raise ValidationFailed(errors)
    public = version_of(current)
    diff = {k: {"from": public[k], "to": v} for k, v in merged.items()}
    data = {
        "subprocessor": public,
        "changes": diff,
        "judgement": verdict.kind,
        "reasons": verdict.why,
        "effective_on": effective,
        "objection_deadline": objection_deadline(effective),
        "pending": True,
        "replaces": pending["change_id"] if pending else None,
    }
    event = change_feed.record(tx, "subprocessor.changed", current, data)
    store.set_pending(
        tx,
        current["id"],
        {
            "change_id": event["id"],
            "base_version": current["version"],
            "changes": merged,
            "announced_on": today.isoformat(),
            "effective_on": effective,
            "urgent_reason": urgent.get("urgent_reason") if urgent.get("urgent") else None,
        },
    )
    audit.append(
        tx,
        actor,
        "subprocessor.change_announce",
        "subprocessor",
        current["id"],
        {key: value for key, value in data.items() if key != "subprocessor"}
        | {"change_id": event["id"], "urgent_reason": urgent.get("urgent_reason")}
        | _control(verdict),
    )
    store.mark_changed(tx, current["id"], db.bump_revision(tx))
    record = store.get(tx.conn, current["id"])
    record["pending_change"]["replaces"] = data["replaces"]
    return record


def _apply_due(tx, current: dict, today: date, actor: dict) -> dict:
    """Write the pending change into the record once it is in force (a new version)."""
    pending = current["pending_change"]
    if not pending or date.fromisoformat(pending["effective_on"]) > today:
        return current
    store.discard_pending(tx, current["id"])
    changes = {k: v for k, v in pending["changes"].items() if current[k] != v}
    if not changes:
        return store.get(tx.conn, current["id"])
    record = store.update(tx, current["id"], changes)
    diff = audit.changed_fields(version_of(current), version_of(record))
    audit.append(
        tx,
        actor,
        "subprocessor.change_apply",
        "subprocessor",
        current["id"],
        {"change_id": pending["change_id"], "changes": diff},
    )
    changed = {k: v for k, v in diff.items() if k != "version"}
    # Announced when it was made pending; now only recorded as in force.
    _written(
        tx,
        "subprocessor.changed",
        record,
        material=False,
        changes=changed,
        applies=pending["change_id"],
    )
    return record


def apply_due_changes(registry: Registry, actor: dict) -> list[str]:
    """Write every pending change in force today into its record; the ids written."""
    today = registry.today()
    applied = []
    for subprocessor_id in store.due_pending(registry.db.connection(), today.isoformat()):
        with registry.db.write() as tx:
            current = store.get(tx.conn, subprocessor_id)
            if current["pending_change"] is not None:
                _apply_due(tx, current, today, actor)
                applied.append(subprocessor_id)
    return applied


def retire(
    registry: Registry, subprocessor_id: str, retirement: dict, check_version, actor: dict
) -> dict:
    """Retire today, or schedule it for a later `retired_on`, after `check_version(record)`.

    A scheduled record stays in force (active or proposed) until that day and reads as
    retired from then on with no write (engine.status_on); customers are told at once.
    """
    today = registry.today().isoformat()
    on = retirement.get("retired_on") or today
    if on < today:
        raise ValidationFailed(
            [
                field_error(
                    "/retired_on",
                    f"The past cannot be rewritten: retire today ({today}) or schedule a "
                    "later day.",
                )
            ]
        )
    reason = retirement.get("reason")
    with registry.db.write() as tx:
        current = store.get(tx.conn, subprocessor_id)
        check_version(current)
        current = _apply_due(tx, current, registry.today(), actor)
        record = store.retire(tx, subprocessor_id, on, reason, today=today)
        # A change announced but not in force will never be: it goes with the retirement.
        discarded = store.discard_pending(tx, subprocessor_id)
        if discarded is not None:
            record = store.get(tx.conn, subprocessor_id)
        entry = {"retired_on": on, "version": record["version"]}
        if reason is not None:
            entry["retired_reason"] = reason
        if discarded is not None:
            entry["discarded_change"] = discarded["change_id"]
        audit.append(tx, actor, "subprocessor.retire", "subprocessor", subprocessor_id, entry)
        extra = {"discarded_change": discarded["change_id"]} if discarded else {}
        _written(tx, "subprocessor.retired", record, retired_on=on, retired_reason=reason, **extra)
    return record


def name_key(name: str) -> str:
    """What names are compared by: invisible characters removed, NFKC, case folded, the
    confusable skeleton of UTS #39, whitespace runs collapsed (see names.py)."""
    return store.name_key(name)


def fill_name_keys(registry: Registry) -> list[str]:
    """Give rows written before names had keys their keys (`registry init`); returns the
    ids of current sub-processors whose names clash with another's under the key."""
    with registry.db.write() as tx:
        return store.fill_name_keys(tx)


def get(conn: sqlite3.Connection, subprocessor_id: str) -> dict:
    """One sub-processor; NotFound (404) when no record has the id."""
    return store.get(conn, subprocessor_id)


def page(conn: sqlite3.Connection, **query) -> list[dict]:
    """Records after a cursor in creation order, filtered by service, country and status."""
    return store.page(conn, **query)


def iter_current(conn: sqlite3.Connection, on: str) -> Iterator[dict]:
    """Every sub-processor not retired on `on`, in creation order."""
    return store.iter_current(conn, on)


def changed_since(conn: sqlite3.Connection, revision: int) -> list[dict]:
    """Every sub-processor written after `revision`, retired ones included."""
    return store.changed_since(conn, revision)


def by_ids(conn: sqlite3.Connection, ids: set[str]) -> list[dict]:
    return store.by_ids(conn, ids)


def register_is_empty(conn: sqlite3.Connection) -> bool:
    """No sub-processor was ever recorded, retired ones included."""
    return store.is_empty(conn)
