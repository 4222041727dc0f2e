"""Transfer documentation: storing copies, answering customers' requests, recording disclosures."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import BinaryIO

from .. import clock
from ..audit import service as audit
from ..compliance import engine
from ..db import store as db
from ..http.problems import NotFound, ValidationFailed, field_error
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from . import store
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
    countries = {location["country"] for location in record["locations"]}
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


def upload(
    registry: Registry, stream: BinaryIO, meta: dict, actor: dict, *, max_size: int
) -> tuple[dict, list[str]]:
    """Store a copy and its metadata; returns it and the requests it fulfilled."""
    check_target(registry, meta.get("subprocessor_id"), meta.get("country"))
    # The file is written before the transaction so no write lock is held during the upload;
    # a crash in between leaves only an unreferenced, complete file.
    stored = blob_store(registry).put(stream, max_size=max_size)
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
        "uploaded_by": actor.get("key_id") or actor["name"],
    }
    with registry.db.write() as tx:
        document = store.add_document(tx, values)
        fulfilled = store.fulfil_pending(tx, document)
        audit.append(
            tx,
            actor,
            "document.upload",
            "document",
            document["id"],
            {**{k: v for k, v in document.items() if k != "seq"}, "fulfilled": fulfilled},
        )
        # Copies on file change SCC_COPY_MISSING in every verdict.
        db.bump_revision(tx)
    return document, fulfilled


def document_path(registry: Registry, document: dict) -> Path:
    return blob_store(registry).path(document["sha256"])


def readable_document(registry: Registry, principal, document_id: str) -> dict:
    """The document if this caller may see it; customers only copies delivered to them."""
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
    """Log that a customer received a copy (which request delivered it, when, what range)."""
    with registry.db.write() as tx:
        request_id = store.delivering_request(
            tx.conn, principal.customer_id, document["id"], request_id
        )
        if request_id is None:  # not delivered by the named request
            raise NotFound(f"No document has the id {document['id']!r}.")
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
    """One item per transfer outside the EEA: its mechanism and the copy, decision, or pending."""
    law, on = registry.law(), registry.today()
    conn = registry.db.connection()
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
    return request


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
