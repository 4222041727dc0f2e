"""The sub-processor catalogue: its writes, its checks against the law, its reads.

Each write is versioned, audited and announced in the change feed in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta

from ..audit import service as audit
from ..changes import service as change_feed
from ..db import store as db
from ..history import service as history
from ..http.problems import ValidationFailed, field_error
from ..law.model import Law
from ..runtime import Registry
from . import store

# What a version of a sub-processor is: every column but the row's position and its last
# write time (which every version would differ in).
_PUBLIC_FIELDS = tuple(c for c in store.COLUMNS if c not in ("seq", "updated_at"))


def version_of(record: dict) -> dict:
    """The record as its versions, the audit trail and the change feed hold it."""
    return {field: record[field] for field in _PUBLIC_FIELDS}


def objection_deadline(effective_on: str) -> str:
    """The last day a customer may object: the day before the sub-processor takes effect."""
    return (date.fromisoformat(effective_on) - timedelta(days=1)).isoformat()


def _written(tx, change_type: str, record: dict, **data) -> None:
    """What every write of a sub-processor leaves behind, in its own transaction."""
    public = version_of(record)
    history.record_version(tx, public)
    notice = {"effective_on": record["effective_on"]}
    if change_type != "subprocessor.retired":
        notice["objection_deadline"] = objection_deadline(record["effective_on"])
    change_feed.record(tx, change_type, public, {"subprocessor": public, **notice, **data})
    store.mark_changed(tx, record["id"], db.bump_revision(tx))


def create(registry: Registry, data: dict, actor: dict) -> dict:
    """Validate `data` (already schema-loaded) against the law and store it."""
    law = registry.law()
    errors = check_locations(data["locations"], law)
    errors += check_onward(data.get("onward_transfers", []), law, data["name"])
    if errors:
        raise ValidationFailed(errors)
    if "effective_on" not in data:
        data = {**data, "effective_on": default_effective_on(registry)}
    # The notice customers got runs from the registry's today, the day it was announced.
    data = {**data, "announced_on": registry.today().isoformat()}
    with registry.db.write() as tx:
        record = store.create(tx, data)
        audit.append(
            tx, actor, "subprocessor.create", "subprocessor", record["id"], version_of(record)
        )
        _written(tx, "subprocessor.announced", record)
    return record


def default_effective_on(registry: Registry) -> str:
    return (registry.today() + timedelta(days=registry.notice_days)).isoformat()


def update(
    registry: Registry, subprocessor_id: str, changes: dict, check_version, actor: dict
) -> dict:
    """Apply `changes` after `check_version(record)` accepted the caller's precondition."""
    law = registry.law()
    if "locations" in changes:
        errors = check_locations(changes["locations"], law)
        if errors:
            raise ValidationFailed(errors)
    with registry.db.write() as tx:
        current = store.get(tx.conn, subprocessor_id)
        check_version(current)
        if "onward_transfers" in changes or "name" in changes:
            name = changes.get("name", current["name"])
            onward = changes.get("onward_transfers", current["onward_transfers"])
            errors = check_onward(onward, law, name)
            if errors and "onward_transfers" not in changes:
                # The new name is what makes the chain name the sub-processor itself.
                errors = [field_error("/name", "An onward recipient already has this name.")]
            if errors:
                raise ValidationFailed(errors)
        # A value equal to the current one is no change: it makes no version, no change
        # event for customers and no audit entry.
        changes = {field: value for field, value in changes.items() if current[field] != value}
        if not changes:
            return current  # nothing to change: no new version, no new revision
        record = store.update(tx, subprocessor_id, changes)
        before, after = version_of(current), version_of(record)
        diff = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
        audit.append(tx, actor, "subprocessor.update", "subprocessor", subprocessor_id, diff)
        # The event carries the new version itself; its changes are what customers care about.
        changed = {k: v for k, v in diff.items() if k != "version"}
        _written(tx, "subprocessor.changed", record, changes=changed)
    return record


def retire(registry: Registry, subprocessor_id: str, check_version, actor: dict) -> dict:
    with registry.db.write() as tx:
        check_version(store.get(tx.conn, subprocessor_id))
        record = store.retire(tx, subprocessor_id, registry.today().isoformat())
        audit.append(
            tx,
            actor,
            "subprocessor.retire",
            "subprocessor",
            subprocessor_id,
            {"retired_on": record["retired_on"], "version": record["version"]},
        )
        _written(tx, "subprocessor.retired", record, retired_on=record["retired_on"])
    return record


def check_locations(
    locations: list[dict], law: Law, prefix: str = "/locations", *, keyed_by_name: bool = False
) -> list[dict]:
    """Errors (with JSON pointers) for locations the law cannot make sense of."""
    errors: list[dict] = []
    seen: set[tuple[str, ...]] = set()
    for index, location in enumerate(locations):
        here = f"{prefix}/{index}"
        key = (location["country"], location["activity"])
        if keyed_by_name:
            key = (_comparable(location["name"]), *key)
        if key in seen:
            what = (
                "recipient, country and activity are"
                if keyed_by_name
                else ("country and activity are")
            )
            errors.append(field_error(f"{here}/activity", f"The same {what} listed twice."))
        seen.add(key)
        safeguard = location.get("safeguard")
        if not safeguard:
            continue
        mechanism = safeguard["mechanism"]
        decision = None
        if mechanism == "adequacy" and "adequacy_decision" in safeguard:
            decision = law.decision(safeguard["adequacy_decision"])
            pointer = f"{here}/safeguard/adequacy_decision"
            if decision is None or decision.kind != "adequacy":
                errors.append(field_error(pointer, "No adequacy decision has this id."))
                decision = None
            elif decision.territory != location["country"]:
                errors.append(
                    field_error(
                        pointer,
                        f"{decision.id} covers {decision.territory_name}, "
                        f"not {location['country']}.",
                    )
                )
                decision = None
        if mechanism == "adequacy" and "scope_attestations" in safeguard:
            errors.extend(
                _check_attestations(
                    safeguard["scope_attestations"],
                    location["country"],
                    decision,
                    law,
                    f"{here}/safeguard/scope_attestations",
                )
            )
        if mechanism == "scc":
            version = law.scc_version(safeguard["scc_version"])
            module = safeguard.get("scc_module")
            if version is None:
                known = ", ".join(sorted(s.id for s in law.scc_versions))
                errors.append(
                    field_error(
                        f"{here}/safeguard/scc_version", f"Unknown SCC version; known: {known}."
                    )
                )
            elif version.modules and module is None:
                errors.append(
                    field_error(
                        f"{here}/safeguard/scc_module",
                        f"Required for SCC {version.id} (modules {list(version.modules)}).",
                    )
                )
            elif module is not None and module not in version.modules:
                errors.append(
                    field_error(f"{here}/safeguard/scc_module", f"SCC {version.id} has no modules.")
                )
    return errors


def _check_attestations(attested: dict, country: str, named, law: Law, pointer: str) -> list[dict]:
    """Only the scope conditions of the decision relied on (any of the country's, unnamed)."""
    if named is not None:
        acts = [named, *_continuing(named, law)]
        whose = named.id
    else:
        acts = [d for d in law.decisions_for(country) if d.kind == "adequacy"]
        whose = f"any adequacy decision for {country}"
    codes = sorted({c.code for act in acts for c in act.scope_conditions})
    if not codes:
        return [field_error(pointer, f"{whose} has no scope conditions to attest.")]
    return [
        field_error(
            f"{pointer}/{code}",
            f"Not a scope condition of {whose}; its conditions: {', '.join(codes)}.",
        )
        for code in attested
        if code not in codes
    ]


def _continuing(decision, law: Law) -> list:
    """The acts extending or renewing `decision`, and theirs, in order."""
    found, queue = [], list(law.continuations(decision.id))
    while queue:
        act = queue.pop(0)
        if act not in found:
            found.append(act)
            queue.extend(law.continuations(act.id))
    return found


def check_onward(onward: list[dict], law: Law, own_name: str) -> list[dict]:
    """Errors for onward transfers: as for locations, and never the sub-processor itself."""
    errors = check_locations(onward, law, prefix="/onward_transfers", keyed_by_name=True)
    own = _comparable(own_name)
    for index, transfer in enumerate(onward):
        if _comparable(transfer["name"]) == own:
            errors.append(
                field_error(
                    f"/onward_transfers/{index}/name",
                    "A sub-processor cannot be its own onward recipient: the chain would name "
                    "itself.",
                )
            )
    return errors


def _comparable(name: str) -> str:
    return " ".join(name.split()).casefold()


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
