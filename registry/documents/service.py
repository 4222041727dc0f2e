"""Transfer documentation: storing copies, answering customers' requests, recording disclosures."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from .. import clock
from ..audit import service as audit
from ..compliance import engine
from ..db import store as db
from ..errors import Conflict, NotFound, ValidationFailed, field_error
from ..events import service as change_feed
from ..http import quotas
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from . import scanner, store
from .blobs import EXTENSIONS, BlobStore

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def blob_store(registry: Registry) -> BlobStore:
    return BlobStore(registry.documents_dir)


def safe_filename(title: str, media_type: str) -> str:
    """An ASCII file name for Content-Disposition, never a path."""
    stem = _UNSAFE.sub("-", title).strip("-.")[:80] or "document"
    return stem + EXTENSIONS[media_type]


def check_target(registry: Registry, subprocessor_id: str | None, country: str | None) -> None:
    """The sub-processor a copy is for must exist, and the country must be one of its."""
    if subprocessor_id is None:
        if country is not None:
            raise ValidationFailed(
                [field_error("/country", "A country needs the subprocessor_id it applies to.")]
            )
        return
    try:
        record = subprocessors.get(registry.db.connection(), subprocessor_id)
    except NotFound:
        raise ValidationFailed(
            [field_error("/subprocessor_id", "No sub-processor has this id.")]
        ) from None
    countries = {location["country"] for location in record["locations"] if location.get("country")}
    if country is not None and country not in countries:
        raise ValidationFailed(
            [
                field_error(
                    "/country",
                    f"{record['name']} has no location in {country}; "
                    f"its countries: {', '.join(sorted(countries))}.",
                )
            ]
        )


def _by(actor: dict) -> str:
    return actor.get("key_id") or actor["name"]


def _unique(ids) -> list[str]:
    return list(dict.fromkeys(ids))


def _already_withdrawn(document: dict) -> Conflict:
    how = (
        f"superseded by {document['superseded_by']}"
        if document["superseded_by"]
        else f"withdrawn: {document['withdrawn_reason']}"
    )
    return Conflict(
        f"The document {document['id']} was already withdrawn at {document['withdrawn_at']} "
        f"({how})."
    )


def check_superseded(conn: sqlite3.Connection, meta: dict) -> None:
    """A copy replaces one on file for the same sub-processor, country and kind."""
    old_id = meta.get("supersedes")
    if old_id is None:
        return
    try:
        old = store.get_document(conn, old_id)
    except NotFound:
        raise ValidationFailed([field_error("/supersedes", "No document has this id.")]) from None
    new = (meta.get("subprocessor_id"), meta.get("country"), meta["kind"])
    was = (old["subprocessor_id"], old["country"], old["kind"])
    if new != was:
        names = ("subprocessor_id", "country", "kind")
        differ = [
            f"{name} {old_value or '(none)'}"
            for name, old_value, new_value in zip(names, was, new, strict=True)
            if old_value != new_value
        ]
        raise ValidationFailed(
            [
                field_error(
                    "/supersedes",
                    f"A copy supersedes one for the same sub-processor, country and kind; "
                    f"{old_id} has {', '.join(differ)}.",
                )
            ]
        )
    if old["withdrawn_at"] is not None:
        raise _already_withdrawn(old)


def upload(
    registry: Registry, stream: BinaryIO, meta: dict, actor: dict, *, max_size: int
) -> tuple[dict, list[str]]:
    """Store a copy and its metadata; returns it and the requests it fulfilled.

    With `supersedes`, the copy it replaces is withdrawn in the same transaction: requests
    it delivered but never downloaded are delivered with the new copy (if disclosable).
    """
    check_target(registry, meta.get("subprocessor_id"), meta.get("country"))
    check_superseded(registry.db.connection(), meta)
    # The file is written before the transaction so no write lock is held during the upload;
    # a crash in between leaves only an unreferenced, complete file. It is scanned before it
    # gets its name: a file refused or left unscanned by an unreachable scanner is never stored.
    stored = blob_store(registry).put(
        stream,
        max_size=max_size,
        scan=lambda path, sha256: scan_upload(registry, path, sha256, meta, actor),
    )
    values = {
        "sha256": stored.sha256,
        "size": stored.size,
        "media_type": stored.media_type,
        "filename": safe_filename(meta["title"], stored.media_type),
        "kind": meta["kind"],
        "title": meta["title"],
        "subprocessor_id": meta.get("subprocessor_id"),
        "country": meta.get("country"),
        "audience": meta["audience"],
        "summary": meta.get("summary"),
        "uploaded_by": _by(actor),
        "supersedes": meta.get("supersedes"),
        **stored.scan,
    }
    with registry.db.write() as tx:
        # Checked again under the write lock: another worker may have withdrawn it since.
        check_superseded(tx.conn, meta)
        document = store.add_document(tx, values)
        redelivered: list[str] = []
        if document["supersedes"]:
            outcome = _withdraw(
                tx,
                store.get_document(tx.conn, document["supersedes"]),
                actor,
                f"superseded by {document['id']}",
                superseded_by=document["id"],
                at=document["uploaded_at"],
            )
            redelivered = [r for r, copy in outcome["redelivered"] if copy == document["id"]]
        fulfilled = _unique([*redelivered, *store.fulfil_pending(tx, document)])
        _tell_requesters(tx, document, fulfilled)
        audit.append(
            tx,
            actor,
            "document.upload",
            "document",
            document["id"],
            {**{k: v for k, v in document.items() if k != "seq"}, "fulfilled": fulfilled},
        )
        # Copies on file change SCC_COPY_MISSING and BCR_COPY_MISSING in every verdict.
        db.bump_revision(tx)
    return document, fulfilled


def scan_upload(registry: Registry, path: Path, sha256: str, meta: dict, actor: dict) -> dict:
    """The one scan of every upload (API, CLI, superseding copy), before anything is stored.

    Clean or not scanned (no REGISTRY_CLAMD): its scan fields. Infected: audited as
    `document.refuse` with the signature and the SHA-256, then 422. A configured scanner that
    cannot answer: 503 (fail closed).
    """
    try:
        return scanner.scan_file(registry.settings, path)
    except scanner.Infected as exc:
        with registry.db.write() as tx:
            audit.append(
                tx,
                actor,
                "document.refuse",
                "document",
                None,
                {
                    "sha256": sha256,
                    "size": path.stat().st_size,
                    "title": meta["title"],
                    "kind": meta["kind"],
                    "subprocessor_id": meta.get("subprocessor_id"),
                    "signature": exc.signature,
                    **exc.version,
                },
            )
        raise


def rescan(registry: Registry, actor: dict, progress=None) -> dict:
    """Scan every stored file again; withdraw each copy on file of content now found infected.

    Each file is scanned once, however many copies share it. A copy found infected is withdrawn
    as `DELETE /v1/documents/{id}` withdraws it (customers get 404 at once, its SHA-256 kept,
    audited), the reason naming the signature, and marked `scan: infected`; the copies of clean
    content get the new versions. Needs REGISTRY_CLAMD; stops at the first scanner failure
    (ScannerUnavailable), keeping what was done. Returns the counts and the copies withdrawn.
    """
    clamd = scanner.scanner(registry.settings)
    if clamd is None:
        raise scanner.ScannerUnavailable(
            "REGISTRY_CLAMD is not set: there is no malware scanner to rescan with."
        )
    files = store.stored_files(registry.db.connection())
    summary = {"files": len(files), "clean": 0, "infected": 0, "missing": 0, "withdrawn": []}
    blobs = blob_store(registry)
    for sha256, _size in files:
        version = clamd.version()
        try:
            with open(blobs.path(sha256), "rb") as stream:
                signature = clamd.instream(stream)
        except FileNotFoundError:
            summary["missing"] += 1
            continue
        scanned_at = clock.timestamp()
        if signature is None:
            summary["clean"] += 1
            with registry.db.write() as tx:
                store.record_scan(
                    tx, sha256, {"scan": scanner.CLEAN, **version, "scanned_at": scanned_at}
                )
        else:
            summary["infected"] += 1
            summary["withdrawn"].extend(
                _withdraw_infected(registry, sha256, signature, version, scanned_at, actor)
            )
        if progress is not None:
            progress(sha256, signature)
    return summary


def _withdraw_infected(
    registry: Registry, sha256: str, signature: str, version: dict, scanned_at: str, actor: dict
) -> list[dict]:
    reason = (
        f"malware found by a rescan: {signature} "
        f"({version['scan_engine']}, signatures {version['scan_signatures'] or 'unknown'})"
    )
    scan = {"scan": scanner.INFECTED, **version, "scanned_at": scanned_at}
    withdrawn = []
    with registry.db.write() as tx:
        for document in store.copies_with(tx.conn, sha256, on_file=True):
            outcome = _withdraw(tx, document, actor, reason)
            withdrawn.append(
                {
                    "id": document["id"],
                    "title": document["title"],
                    "signature": signature,
                    "reopened": outcome["reopened"],
                    "redelivered": _unique(r for r, _ in outcome["redelivered"]),
                }
            )
        # Copies withdrawn before keep their reason; their scan says what was found since.
        store.record_scan(tx, sha256, scan)
        if withdrawn:
            db.bump_revision(tx)
    return withdrawn


def withdraw(registry: Registry, document_id: str, reason: str, actor: dict, check) -> dict:
    """Withdraw a copy after `check(document)` accepts it (raising otherwise), in one write.

    The row stays, with its SHA-256 and who withdrew it, when and why; the file stays on disk
    (identical content may back another copy). Requests it delivered that never downloaded
    it are delivered with another disclosable copy of the transfer, or go back to pending;
    those that downloaded it stay fulfilled, and their customers are listed on the copy.
    Returns the withdrawn document with `reopened` and `redelivered` request ids.
    """
    with registry.db.write() as tx:
        document = store.get_document(tx.conn, document_id)
        check(document)
        if document["withdrawn_at"] is not None:
            raise _already_withdrawn(document)
        outcome = _withdraw(tx, document, actor, reason)
        # Copies on file change SCC_COPY_MISSING and BCR_COPY_MISSING in every verdict, in
        # every worker.
        db.bump_revision(tx)
    return {
        **outcome["document"],
        "reopened": outcome["reopened"],
        "redelivered": _unique(r for r, _ in outcome["redelivered"]),
    }


def _withdraw(
    tx,
    document: dict,
    actor: dict,
    reason: str,
    *,
    superseded_by: str | None = None,
    at: str | None = None,
) -> dict:
    withdrawn = store.withdraw(
        tx, document["id"], by=_by(actor), reason=reason, superseded_by=superseded_by, at=at
    )
    if withdrawn is None:
        raise _already_withdrawn(store.get_document(tx.conn, document["id"]))
    reopened, redelivered = [], []
    for item in store.undownloaded_deliveries(tx, document["id"]):
        copy = store.disclosable_copy(
            tx, item["subprocessor_id"], item["country"], item["mechanism"]
        )
        store.redeliver_item(tx, item, copy["id"] if copy else None)
        if copy:
            redelivered.append((item["request_id"], copy["id"]))
        else:
            reopened.append(item["request_id"])
    reopened = _unique(reopened)
    audit.append(
        tx,
        actor,
        "document.withdraw",
        "document",
        document["id"],
        {
            "sha256": withdrawn["sha256"],
            "withdrawn_at": withdrawn["withdrawn_at"],
            "withdrawn_by": withdrawn["withdrawn_by"],
            "reason": reason,
            "superseded_by": superseded_by,
            "reopened": reopened,
            "redelivered": [{"request_id": r, "document_id": c} for r, c in redelivered],
            "disclosed_to": [r["customer_id"] for r in store.recipients(tx.conn, document["id"])],
        },
    )
    return {"document": withdrawn, "reopened": reopened, "redelivered": redelivered}


def unscanned_copies(registry: Registry) -> list[dict]:
    """The copies on file stored without a malware scan."""
    return store.unscanned(registry.db.connection())


def document_path(registry: Registry, document: dict) -> Path:
    return blob_store(registry).path(document["sha256"])


def readable_document(registry: Registry, principal, document_id: str) -> dict:
    """The document if this caller may see it; customers only copies delivered to them.

    A withdrawn copy is delivered to no one: customers get 404, staff still read it.
    """
    conn = registry.db.connection()
    document = store.get_document(conn, document_id)
    if principal.role != "customer":
        return document
    delivered = store.delivering_request(conn, principal.customer_id, document_id)
    if document["audience"] != "disclosable" or delivered is None:
        raise NotFound(f"No document has the id {document_id!r}.")
    return document


def record_disclosure(
    registry: Registry,
    principal,
    document: dict,
    actor: dict,
    byte_range: str | None,
    request_id: str | None = None,
) -> dict:
    """Log that a customer received a copy (which request delivered it, when, what range).

    Repeated downloads of the same copy by the same key within REGISTRY_DISCLOSURE_WINDOW
    seconds of its disclosure are that one disclosure: counted on it, never logged or audited
    again. The check and the insert share one write transaction, so concurrent downloads
    (several workers, or the ranges of one download) cannot make two.
    """
    window = timedelta(seconds=registry.settings.disclosure_window)
    with registry.db.write() as tx:
        request_id = store.delivering_request(
            tx.conn, principal.customer_id, document["id"], request_id
        )
        if request_id is None:  # not delivered by the named request
            raise NotFound(f"No document has the id {document['id']!r}.")
        earlier = store.disclosure_after(
            tx,
            key_id=principal.key_id,
            document_id=document["id"],
            sha256=document["sha256"],
            after=clock.timestamp(clock.now() - window),
        )
        if earlier is not None:
            return store.count_download(tx, earlier)
        disclosure = store.add_disclosure(
            tx,
            {
                "customer_id": principal.customer_id,
                "key_id": principal.key_id,
                "document_id": document["id"],
                "request_id": request_id,
                "range": byte_range,
            },
        )
        audit.append(tx, actor, "document.disclose", "document", document["id"], disclosure)
    return disclosure


def request_documentation(
    registry: Registry, principal, subprocessor_ids: list[str] | None, actor: dict
) -> dict:
    """One item per transfer outside the EEA: its mechanism and the copy, decision, or pending.

    Within the customer's quotas (REGISTRY_QUOTA_DOCUMENTATION_REQUESTS per 24 hours, 429;
    REGISTRY_QUOTA_OPEN_DOCUMENTATION_REQUESTS with an item pending, 409): checked before
    the register is read, so a refusal costs little, and again under the write lock.
    """
    law, on = registry.law(), registry.today()
    conn = registry.db.connection()
    check_request_quotas(registry, conn, principal.customer_id)
    if subprocessor_ids:
        records, errors = [], []
        for index, subprocessor_id in enumerate(subprocessor_ids):
            try:
                record = subprocessors.get(conn, subprocessor_id)
            except NotFound:
                errors.append(
                    field_error(f"/subprocessor_ids/{index}", "No sub-processor has this id.")
                )
                continue
            if engine.status_on(record, on) == "retired":
                errors.append(
                    field_error(f"/subprocessor_ids/{index}", "This sub-processor is retired.")
                )
            records.append(record)
        if errors:
            raise ValidationFailed(errors)
        scope = "selected"
    else:
        records = [
            r
            for r in subprocessors.iter_current(conn, on.isoformat())
            if engine.status_on(r, on) == "active"
        ]
        scope = "all_active"
    with registry.db.write() as tx:
        check_request_quotas(registry, tx.conn, principal.customer_id)
        items = list(_items(tx, records, law, on, registry.settings.organisation_role))
        request = store.add_request(tx, principal.customer_id, principal.key_id, scope, items)
        audit.append(
            tx,
            actor,
            "documentation_request.create",
            "documentation_request",
            request["id"],
            {"scope": scope, "subprocessor_ids": [r["id"] for r in records], "items": items},
        )
        _tell_staff(tx, request, records)
    return request


# What a documentation request's event shows of each item.
_EVENT_ITEM_FIELDS = ("subprocessor_id", "country", "mechanism", "status", "document_id")


def _tell_staff(tx, request: dict, records: list[dict]) -> None:
    """The change `documentation_request.created`, for staff alone (their feed and staff
    webhooks), about the first sub-processor with a copy pending (else the first asked
    about); it names the customer, so it is that customer's to erase. None for a request
    about no sub-processor."""
    if not records:
        return
    pending = {item["subprocessor_id"] for item in request["items"] if item["status"] == "pending"}
    record = next((r for r in records if r["id"] in pending), records[0])
    public = subprocessors.version_of(record)
    change_feed.record(
        tx,
        "documentation_request.created",
        public,
        {
            "subprocessor": public,
            "effective_on": record["effective_on"],
            "documentation_request": {
                "id": request["id"],
                "customer_id": request["customer_id"],
                "scope": request["scope"],
                "created_at": request["created_at"],
                "subprocessor_ids": [r["id"] for r in records],
                "items": [
                    {field: item.get(field) for field in _EVENT_ITEM_FIELDS}
                    for item in request["items"]
                ],
            },
        },
        material=True,
        customer_id=request["customer_id"],
    )


def _tell_requesters(tx, document: dict, request_ids: list[str]) -> None:
    """The change `documentation_request.fulfilled`, to each requesting customer alone
    (its feed and webhooks): the copy it asked for is ready to download."""
    if not request_ids or not document["subprocessor_id"]:
        return
    record = subprocessors.get(tx.conn, document["subprocessor_id"])
    public = subprocessors.version_of(record)
    for request_id in request_ids:
        request = store.get_request(tx.conn, request_id)
        change_feed.record(
            tx,
            "documentation_request.fulfilled",
            public,
            {
                "subprocessor": public,
                "effective_on": record["effective_on"],
                "documentation_request": {
                    "id": request_id,
                    "document_id": document["id"],
                    "subprocessor_id": document["subprocessor_id"],
                    "country": document["country"],
                    "kind": document["kind"],
                    "fulfilled_at": document["uploaded_at"],
                },
            },
            material=True,
            customer_id=request["customer_id"],
        )


def check_request_quotas(registry: Registry, conn: sqlite3.Connection, customer_id: str) -> None:
    """429 over the requests a customer may make in 24 hours, 409 over those it may hold open."""
    settings, now = registry.settings, clock.now()
    quotas.check_recent(
        store.recent_request_times(conn, customer_id, clock.timestamp(quotas.since(now))),
        settings.quota_documentation_requests,
        now,
        what="documentation requests",
        setting="QUOTA_DOCUMENTATION_REQUESTS",
    )
    quotas.check_held(
        store.open_request_count(conn, customer_id),
        settings.quota_open_documentation_requests,
        what="documentation requests with an item pending",
        setting="QUOTA_OPEN_DOCUMENTATION_REQUESTS",
        remedy="Their items are fulfilled as soon as procurement uploads the copies.",
    )


def _items(tx, records: list[dict], law, on, role: str):
    now = clock.timestamp()
    for record in records:
        verdict = engine.evaluate(record, law, on, role=role)
        seen: set[tuple[str, str | None]] = set()
        for location in verdict["locations"]:
            if location["eea"]:
                continue
            mechanism = location["mechanism"]
            key = (location["country"], mechanism)
            if key in seen:
                continue
            seen.add(key)
            item = {
                "subprocessor_id": record["id"],
                "subprocessor_name": record["name"],
                "country": location["country"],
                "activity": location["activity"],
                "mechanism": mechanism,
                "adequacy_decision": location["adequacy_decision"],
                "document_id": None,
                "fulfilled_at": None,
                "note": None,
            }
            if mechanism == "adequacy":
                item["status"], item["fulfilled_at"] = "fulfilled", now
            elif mechanism in store.KIND_FOR_MECHANISM:
                copy = store.disclosable_copy(tx, record["id"], location["country"], mechanism)
                if copy:
                    item["status"], item["document_id"], item["fulfilled_at"] = (
                        "fulfilled",
                        copy["id"],
                        now,
                    )
                else:
                    item["status"] = "pending"
            elif mechanism == "derogation":
                item["status"] = "not_applicable"
                item["note"] = (
                    "This transfer relies on an Art. 49 GDPR derogation; there is no transfer "
                    "mechanism document to copy."
                )
            elif mechanism in engine.ART46_MECHANISMS:
                # The rest of Art. 46 (a code, a certification, authorised clauses or an
                # administrative arrangement): no copy of it is kept here to disclose.
                item["status"] = "not_applicable"
                item["note"] = (
                    f"This transfer relies on another Art. 46 GDPR safeguard ({mechanism}); "
                    "no copy of it is kept for disclosure: ask the privacy team."
                )
            else:
                item["status"] = "not_applicable"
                item["note"] = "No transfer safeguard is recorded for this transfer."
            yield item


def disclosable_copies(conn: sqlite3.Connection, before: str | None = None) -> set[tuple]:
    """Every (sub-processor, country or None for all, kind) with a disclosable copy on file.

    With `before` (a stored timestamp), only copies uploaded before then.
    """
    return store.disclosable_copies(conn, before)


def copies_of(conn: sqlite3.Connection, subprocessor_id: str) -> list[list[str | None]]:
    """The (country or None, kind) of each disclosable copy on file for one sub-processor."""
    return store.copies_of(conn, subprocessor_id)


def referenced_blobs(conn: sqlite3.Connection) -> set[str]:
    """The SHA-256 of every stored file some document refers to."""
    return store.referenced_blobs(conn)


def customer_holdings(conn, customer_id: str) -> dict:
    """How many documentation requests and disclosures a customer has."""
    requests, disclosures = store.count_customer(conn, customer_id)
    return {"documentation_requests": requests, "disclosures": disclosures}


def customer_request_ids(conn, customer_id: str) -> list[str]:
    return store.customer_request_ids(conn, customer_id)


def erase_customer(tx, customer_id: str) -> dict:
    """Delete a customer's documentation requests (with their items) and disclosures, in the
    caller's write transaction; the counts. The copies themselves are the registry's, not the
    customer's: they stay, and their metadata names no customer."""
    requests, disclosures = store.delete_customer(tx, customer_id)
    return {"documentation_requests": requests, "disclosures": disclosures}


def purge_before(tx, before: str, *, dry_run: bool = False) -> dict:
    """Retention: delete disclosures last downloaded before `before` (a UTC timestamp), and
    documentation requests made before it that have no item pending and no disclosure kept."""
    return store.purge_before(tx, before, dry_run=dry_run)
