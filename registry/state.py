"""The registry as one worker sees it: database, current law, and today's verdicts per revision."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from . import compliance, db
from .blobs import BlobStore
from .law import Law, load_law, taxonomy
from .store import documents as document_store
from .store import law as law_store
from .store import subprocessors as subprocessor_store

ALLOWED_CACHE_SIZE = 512


@dataclass
class Snapshot:
    """Everything derived from one registry revision on one day; immutable once built."""

    revision: int
    today: str
    law: Law
    copies: frozenset  # disclosable copies on file, as compliance.evaluate takes them
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
        self, data_category: str | None, service: str | None, country: str | None
    ) -> tuple[bytes, str]:
        """The allowed-processors body and its strong ETag (unquoted), built once per query."""
        key = (data_category, service, country)
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
                data_category is None
                or any(taxonomy.covers(c, data_category) for c in p["data_categories"])
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


class Registry:
    """Per-app state; built without touching the database (workers connect after the fork)."""

    def __init__(
        self,
        database: db.Database,
        *,
        today: Callable[[], date],
        notice_days: int,
        data_dir: str | None = None,
        documents_dir: str | None = None,
    ):
        self.db = database
        self.documents_dir = documents_dir or os.path.join(
            os.path.dirname(os.path.abspath(database.path)), "documents"
        )
        self._today = today
        self.notice_days = notice_days
        self.data_dir = data_dir
        self._laws: dict[str, Law] = {}
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def today(self) -> date:
        return self._today()

    def initialise(self, *, demo: bool = False) -> dict:
        """Create or migrate the database and load the reference law (and the demo)."""
        from . import demo as demo_loader

        applied = db.migrate(self.db)
        law = load_law(self.data_dir)
        with self.db.write() as tx:
            law_changed = law_store.save(tx, law)
            if law_changed:
                db.bump_revision(tx)
        added = demo_loader.load(self) if demo else []
        # Uploads a crash cut short leave temporary files that nothing else removes; an
        # hour's age keeps a live upload by another process safe.
        blobs = BlobStore(self.documents_dir)
        swept = blobs.sweep_temporaries()
        # A crash between a file's rename and its row's commit leaves a complete file that
        # nothing refers to; the same hour's grace protects a commit in progress.
        swept += blobs.sweep_unreferenced(document_store.referenced_blobs(self.db.connection()))
        return {
            "migrations": applied,
            "law_version": law.version,
            "law_loaded": law_changed,
            "demo_added": added,
            "temporaries_swept": swept,
        }

    def law(self) -> Law:
        conn = self.db.connection()
        try:
            version = law_store.current_version(conn)
        except sqlite3.OperationalError:
            if db.schema_version(conn):
                raise
            version = None  # a file never initialised has no tables at all
        if version is None:
            raise RuntimeError("the database has no reference law: run `registry init`")
        return self._law(conn, version)

    def _law(self, conn, version: str) -> Law:
        law = self._laws.get(version)
        if law is None:
            law = self._laws[version] = law_store.load(conn, version)
        return law

    def snapshot(self) -> Snapshot:
        """Today's verdicts for the current revision, rebuilt when either changed.

        Reading the revision on every call (one indexed row) is what makes a write
        acknowledged by any worker visible to every other worker at once.
        """
        today = self.today().isoformat()
        conn = self.db.connection()
        cached = self._snapshot
        if (
            cached is not None
            and cached.today == today
            and db.current_revision(conn) == cached.revision
        ):
            return cached
        with self._lock, self.db.snapshot():
            revision = db.current_revision(conn)
            cached = self._snapshot
            if cached is not None and cached.today == today and cached.revision == revision:
                return cached
            law = self._law(conn, law_store.current_version(conn))
            copies = frozenset(document_store.disclosable_copies(conn))
            if cached is not None and cached.today == today and cached.law is law:
                # Same day, same law: only what was written since, or whose copies on
                # file changed, can have another verdict.
                entries = dict(cached.entries)
                changed = subprocessor_store.changed_since(conn, cached.revision)
                recopied = {copy[0] for copy in copies ^ cached.copies}
                recopied -= {record["id"] for record in changed}
                changed += subprocessor_store.by_ids(conn, recopied)
                for record in changed:
                    entries.pop(record["id"], None)  # re-added below unless now retired
            else:
                entries = {}
                changed = subprocessor_store.iter_current(conn, today)
            fresh = Snapshot(
                revision, today, law, copies, self._evaluate(entries, changed, law, today, copies)
            )
            self._snapshot = fresh
            return fresh

    def _evaluate(self, entries: dict, records, law: Law, today: str, copies) -> dict:
        """Add today's verdicts of `records` to `entries`; retired records are left out."""
        on = date.fromisoformat(today)
        for record, status, verdict in compliance.evaluate_each(
            records, law, on, copies=copies, notice_days=self.notice_days
        ):
            allowed = None
            if status == "active" and verdict["status"] == "compliant":
                allowed = {
                    "id": record["id"],
                    "name": record["name"],
                    "service": record["service"],
                    "countries": sorted({loc["country"] for loc in record["locations"]}),
                    "data_categories": record["data_categories"],
                }
            entries[record["id"]] = (record["seq"], record["version"], verdict, allowed)
        return entries
