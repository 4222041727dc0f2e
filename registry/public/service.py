"""The public page, feed and map: built once per registry revision and day from the customer
projection, kept in memory with their compressed copies, and answered from there."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import date

from .. import __version__
from ..customer_projection import projection, wording, words
from ..db import store as db
from ..documents import service as documents
from ..events import service as change_feed
from ..law.model import Law
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from ..verdicts import service as compliance

# Part of every ETag: change it with a template, the stylesheet or a builder's output, so
# that no client keeps an answer of the same revision made by the earlier code.
TEMPLATE_VERSION = "2"
FEED_ENTRIES = 50
# Changes customers are told of: a new sub-processor, a material change, a retirement.
# Verdict changes are internal; customers' own changes (objection answers) are not public.
FEED_TYPES = ("subprocessor.announced", "subprocessor.changed", "subprocessor.retired")
# How far back the feed looks for its entries among the public events.
FEED_SCAN_LIMIT = 5000
# zlib's default: the map (800 KB) compresses to 275 KB in a third of a second; level 9
# saves 7 KB more for three times the time.
GZIP_LEVEL = 6
COMPRESSED_KEPT = 8


@dataclass(frozen=True)
class Register:
    """What customers see of the register on one day, at one revision."""

    revision: int
    today: str
    law: Law
    subprocessors: tuple[dict, ...]  # customer projections, creation order, none retired

    def current(self) -> list[dict]:
        """In use today (active, or retiring on a later day)."""
        return [s for s in self.subprocessors if s["status"] in ("active", "retiring")]

    def by_service(self) -> list[tuple[str, list[dict]]]:
        """The sub-processors in use, grouped by service in the order services are listed."""
        groups: dict[str, list[dict]] = {}
        for subprocessor in self.current():
            groups.setdefault(subprocessor["service"], []).append(subprocessor)
        order = list(words.SERVICE_NAMES)
        return sorted(
            groups.items(),
            key=lambda item: order.index(item[0]) if item[0] in order else len(order),
        )

    def upcoming(self) -> list[dict]:
        """New sub-processors announced and not yet in use, by date."""
        found = [s for s in self.subprocessors if s["status"] == "upcoming"]
        return sorted(found, key=lambda s: (s["effective_on"], s["name"]))

    def pending_changes(self) -> list[dict]:
        """Material changes announced and not yet in force, by date."""
        found = [s for s in self.subprocessors if s["pending_change"]]
        return sorted(found, key=lambda s: (s["pending_change"]["effective_on"], s["name"]))

    def retiring(self) -> list[dict]:
        found = [s for s in self.subprocessors if s["status"] == "retiring"]
        return sorted(found, key=lambda s: (s["retired_on"], s["name"]))

    def outside_eea(self, country: str | None = None) -> list[dict]:
        """Every transfer outside the EEA of the sub-processors in use (to `country` only, when
        given), by country name then sub-processor: {subprocessor, fact, through (the onward
        sub-processor's name or None)}."""
        found = []
        for subprocessor in self.current():
            for fact in subprocessor["locations"]:
                if not fact["eea"]:
                    found.append({"subprocessor": subprocessor, "fact": fact, "through": None})
            for fact in subprocessor["onward_transfers"]:
                if not fact["eea"]:
                    found.append(
                        {"subprocessor": subprocessor, "fact": fact, "through": fact["name"]}
                    )
        if country is not None:
            found = [t for t in found if t["fact"]["country"] == country]
        return sorted(found, key=lambda t: (t["fact"]["country_name"], t["subprocessor"]["name"]))

    def countries(self) -> list[tuple[str, str]]:
        """(code, name) of every country data goes to or will go to, by name."""
        found = {
            fact["country"]: fact["country_name"]
            for subprocessor in self.subprocessors
            for fact in _facts(subprocessor)
            if fact["country"]  # an international organisation is no country to filter by
        }
        return sorted(found.items(), key=lambda item: item[1])

    def services(self) -> list[str]:
        """The services of the sub-processors listed, in the order services are listed."""
        present = {subprocessor["service"] for subprocessor in self.subprocessors}
        order = list(words.SERVICE_NAMES)
        return sorted(present, key=lambda s: (order.index(s) if s in order else len(order), s))

    def filtered(self, country: str | None = None, service: str | None = None) -> Register:
        """The same register with only the sub-processors whose data goes (or will go) to
        `country` and that serve `service` (either may be None: no filter)."""
        kept = tuple(
            subprocessor
            for subprocessor in self.subprocessors
            if (service is None or subprocessor["service"] == service)
            and (
                country is None or any(fact["country"] == country for fact in _facts(subprocessor))
            )
        )
        return replace(self, subprocessors=kept)


def _facts(subprocessor: dict) -> list[dict]:
    """Every transfer a sub-processor makes or is announced to make: its locations and onward
    transfers, today's and those of a pending change."""
    pending = subprocessor.get("pending_change") or {}
    return [
        *subprocessor["locations"],
        *subprocessor["onward_transfers"],
        *(pending.get("locations") or []),
        *(pending.get("onward_transfers") or []),
    ]


@dataclass(frozen=True)
class Resource:
    """One answer, built once: its bytes, their gzip, its strong ETag (unquoted)."""

    body: bytes
    gzipped: bytes
    etag: str
    media_type: str

    def etag_for(self, compressed: bool) -> str:
        return gzip_etag(self.etag) if compressed else self.etag


@dataclass
class _Edition:
    key: tuple[int, str]
    register: Register
    resources: dict[str, Resource] = field(default_factory=dict)
    # One builder per resource: the page need not wait while the map is drawn.
    locks: dict[str, threading.Lock] = field(default_factory=dict)


class _Editions:
    """The latest edition this process built, and the latest compressed bodies (a new
    revision often leaves an answer as it was: it is not compressed again)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.edition: _Edition | None = None
        self.compressed: OrderedDict[bytes, bytes] = OrderedDict()

    def current(self, registry: Registry, key: tuple[int, str], name: str) -> _Edition:
        with self.lock:
            edition = self.edition
            if edition is None or edition.key != key:
                register = read_register(registry)
                # A write between the two reads: the edition is of the newer revision.
                edition = _Edition((register.revision, register.today), register)
                self.edition = edition
            edition.locks.setdefault(name, threading.Lock())
            return edition

    def gzipped(self, body: bytes) -> bytes:
        digest = hashlib.sha256(body).digest()
        with self.lock:
            found = self.compressed.get(digest)
        if found is None:
            found = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
            with self.lock:
                self.compressed[digest] = found
                while len(self.compressed) > COMPRESSED_KEPT:
                    self.compressed.popitem(last=False)
        return found


def current_key(registry: Registry) -> tuple[int, str]:
    """(revision, today): what every public answer is a function of. One indexed read: a
    write acknowledged by any worker is seen by every other at once."""
    return db.current_revision(registry.db.connection()), registry.today().isoformat()


def etag(registry: Registry, name: str, key: tuple[int, str]) -> str:
    """The strong ETag of resource `name` at (revision, day), known without building it."""
    parts = (name, *map(str, key), TEMPLATE_VERSION, __version__, registry.settings.public_url)
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def gzip_etag(tag: str) -> str:
    """The gzip-coded representation has an ETag of its own (RFC 9110, 8.8.3)."""
    return f"{tag}-gzip"


Builder = Callable[[Register], tuple[bytes, str]]


def built(registry: Registry, name: str, key: tuple[int, str]) -> Resource | None:
    """Resource `name` of the edition at `key` (see current_key) if already built, else None."""
    edition = registry.cache("public.editions", _Editions).edition
    if edition is not None and edition.key == key:
        return edition.resources.get(name)
    return None


def resource(registry: Registry, name: str, build: Builder) -> Resource:
    """Resource `name` of the current edition: from memory, else built once (and gzipped)."""
    editions = registry.cache("public.editions", _Editions)
    key = current_key(registry)
    edition = editions.edition
    if edition is not None and edition.key == key and name in edition.resources:
        return edition.resources[name]
    edition = editions.current(registry, key, name)
    with edition.locks[name]:
        found = edition.resources.get(name)
        if found is None:
            body, media_type = build(edition.register)
            found = Resource(
                body, editions.gzipped(body), etag(registry, name, edition.key), media_type
            )
            edition.resources[name] = found
    return found


def current_register(registry: Registry) -> Register:
    """The register of the current edition (read once per revision and day)."""
    editions = registry.cache("public.editions", _Editions)
    return editions.current(registry, current_key(registry), "page").register


def read_register(registry: Registry) -> Register:
    """Every sub-processor not retired today, as customers see it, at one revision."""
    snapshot = compliance.snapshot(registry)  # today's verdicts, shared with the API
    today = registry.today()
    with registry.db.snapshot():
        conn = registry.db.connection()
        revision = db.current_revision(conn)
        records = list(subprocessors.iter_current(conn, today.isoformat()))
        same = snapshot.revision == revision and snapshot.today == today.isoformat()
        law = snapshot.law if same else registry.law()
        copies = snapshot.copies if same else frozenset(documents.disclosable_copies(conn))
    projected = tuple(
        projection.subprocessor(
            record, law, today, copies, verdict=snapshot.verdict(record) if same else None
        )
        for record in records
    )
    return Register(revision, today.isoformat(), law, projected)


# --- the feed's entries ------------------------------------------------------------------------


def is_public_change(change: dict) -> bool:
    """A change customers are told of: material, for every customer, of a kind in FEED_TYPES
    (a `subprocessor.changed` only when it announces a change to come)."""
    if not change["material"] or change.get("customer_id") is not None:
        return False
    if change["type"] == "subprocessor.changed":
        return bool(change["data"].get("pending"))
    return change["type"] in FEED_TYPES


def public_changes(registry: Registry, limit: int = FEED_ENTRIES) -> list[dict]:
    """The newest `limit` public changes, newest first, looking back at most FEED_SCAN_LIMIT
    events (housekeeping and verdict changes are skipped)."""
    rows = change_feed.iter_latest(registry.db.connection(), change_feed.PUBLIC_ONLY)
    with closing(rows):
        scanned = itertools.islice(rows, FEED_SCAN_LIMIT)
        return list(itertools.islice(filter(is_public_change, scanned), limit))


def feed_entry(change: dict, law: Law) -> dict:
    """One change in customer-facing words (customer_projection/wording.py); ids, dates and
    the facts of the transfers only."""
    data = change["data"]
    version = {k: v for k, v in data["subprocessor"].items() if k != "pending_change"}
    event = {**data, "subprocessor": version, "type": change["type"], "at": change["at"]}
    where = ""
    if change["type"] == "subprocessor.announced":
        on = date.fromisoformat(data["effective_on"])
        facts = projection.subprocessor({**version, "retired_on": None}, law, on)
        where = wording.transfers(facts)
    elif change["type"] == "subprocessor.changed":
        changed = {field: value["to"] for field, value in (data.get("changes") or {}).items()}
        if "locations" in changed or "onward_transfers" in changed:
            on = date.fromisoformat(data["effective_on"])
            facts = projection.subprocessor({**version, **changed, "retired_on": None}, law, on)
            where = wording.transfers(facts, "From that day")
    return {
        "id": change["id"],
        "subprocessor_id": version["id"],
        "title": wording.title(event),
        "updated": change["at"],
        "category": change["type"],
        "category_label": wording.LABELS[change["type"]],
        "summary": wording.summary(event, where),
    }
