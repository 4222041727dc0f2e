"""Today's verdicts for one registry revision, built once per worker and kept in memory.

A new revision re-evaluates only the sub-processors written since (or whose copies on
file changed); a new day or a new law re-evaluates all.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

from ..compliance import engine
from ..db import store as db
from ..documents import service as documents
from ..law import service as law_service
from ..law import taxonomy
from ..law.model import Law
from ..runtime import Registry
from ..subprocessors import service as subprocessors

ALLOWED_CACHE_SIZE = 512


@dataclass
class Snapshot:
    """Everything derived from one registry revision on one day; immutable once built."""

    revision: int
    today: str
    law: Law
    copies: frozenset  # disclosable copies on file, as engine.evaluate takes them
    # id -> (seq, version, today's compliance, its allowed-processors entry or None),
    # for every sub-processor not retired.
    entries: dict[str, tuple[int, int, dict, dict | None]]
    allowed: list[dict] = field(init=False)  # allowed entries in creation order
    _answers: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        ordered = sorted(self.entries.values(), key=lambda entry: entry[0])
        self.allowed = [entry[3] for entry in ordered if entry[3] is not None]

    def verdict(self, record: dict) -> dict | None:
        """Today's compliance of this exact version of the record, if the snapshot has it."""
        cached = self.entries.get(record["id"])
        return cached[2] if cached is not None and cached[1] == record["version"] else None

    def allowed_answer(
        self, categories: tuple[str, ...] | None, service: str | None, country: str | None
    ) -> tuple[bytes, str]:
        """The allowed-processors body and its strong ETag (unquoted), built once per query.

        `categories` (sorted, distinct): processors approved for every one of them."""
        key = (categories, service, country)
        with self._lock:
            hit = self._answers.get(key)
            if hit is not None:
                self._answers.move_to_end(key)
                return hit
        processors = [
            p
            for p in self.allowed
            if (service is None or p["service"] == service)
            and (country is None or country in p["countries"])
            and (
                categories is None
                or all(
                    any(taxonomy.covers(c, wanted) for c in p["data_categories"])
                    for wanted in categories
                )
            )
        ]
        body = json.dumps(
            {"revision": self.revision, "as_of": self.today, "processors": processors},
            separators=(",", ":"),
        ).encode()
        answer = (body, hashlib.sha256(body).hexdigest()[:40])
        with self._lock:
            self._answers[key] = answer
            while len(self._answers) > ALLOWED_CACHE_SIZE:
                self._answers.popitem(last=False)
        return answer


class Builder:
    """The latest snapshot of one registry, rebuilt when the revision or the day changed."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.lock = threading.Lock()


def current(registry: Registry) -> Snapshot:
    """Today's verdicts for the current revision, rebuilt when either changed.

    Reading the revision on every call (one indexed row) is what makes a write
    acknowledged by any worker visible to every other worker at once.
    """
    builder = registry.cache("compliance.snapshot", Builder)
    today = registry.today().isoformat()
    conn = registry.db.connection()
    cached = builder.snapshot
    if (
        cached is not None
        and cached.today == today
        and db.current_revision(conn) == cached.revision
    ):
        return cached
    with builder.lock, registry.db.snapshot():
        revision = db.current_revision(conn)
        cached = builder.snapshot
        if cached is not None and cached.today == today and cached.revision == revision:
            return cached
        law = law_service.of_version(conn, law_service.current_version(conn), registry.laws)
        copies = frozenset(documents.disclosable_copies(conn))
        if cached is not None and cached.today == today and cached.law is law:
            # Same day, same law: only what was written since, or whose copies on
            # file changed, can have another verdict.
            entries = dict(cached.entries)
            changed = subprocessors.changed_since(conn, cached.revision)
            recopied = {copy[0] for copy in copies ^ cached.copies}
            recopied -= {record["id"] for record in changed}
            changed += subprocessors.by_ids(conn, recopied)
            for record in changed:
                entries.pop(record["id"], None)  # re-added below unless now retired
        else:
            entries = {}
            changed = subprocessors.iter_current(conn, today)
        evaluated = evaluate(
            entries,
            changed,
            law,
            today,
            copies,
            registry.notice_days,
            registry.settings.organisation_role,
        )
        fresh = Snapshot(revision, today, law, copies, evaluated)
        builder.snapshot = fresh
        return fresh


def evaluate(
    entries: dict, records, law: Law, today: str, copies, notice_days: int, role: str
) -> dict:
    """Add today's verdicts of `records` to `entries`; retired records are left out."""
    on = date.fromisoformat(today)
    for record, status, verdict in engine.evaluate_each(
        records, law, on, copies=copies, notice_days=notice_days, role=role
    ):
        allowed = None
        if status == "active" and verdict["status"] == "compliant":
            record = engine.in_force(record, on)  # a pending change, once it takes effect
            allowed = {
                "id": record["id"],
                "name": record["name"],
                "service": record["service"],
                "countries": sorted(
                    {loc["country"] for loc in record["locations"] if "country" in loc}
                ),
                "data_categories": record["data_categories"],
            }
            organisations = sorted(
                {
                    loc["international_organisation"]
                    for loc in record["locations"]
                    if loc.get("international_organisation")
                }
            )
            if organisations:
                allowed["international_organisations"] = organisations
        entries[record["id"]] = (record["seq"], record["version"], verdict, allowed)
    return entries
