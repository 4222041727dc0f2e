"""Bringing a database up: migrations, the reference law, the demo catalogue, sweeps.

It sits above every feature (none imports it), so it may use any of their services.
"""

from __future__ import annotations

import marshmallow as ma

from .audit import service as audit
from .db import store as db
from .documents import service as documents
from .documents.blobs import BlobStore
from .errors import ValidationFailed
from .law import service as law_service
from .law.loader import load_demo_catalogue, load_law
from .runtime import Registry
from .subprocessors import service as subprocessors
from .subprocessors.schemas import SubprocessorCreateSchema
from .verdicts import service as compliance


def initialise(registry: Registry, *, demo: bool = False) -> dict:
    """Create or migrate the database and load the reference law (and the demo)."""
    applied = db.migrate(registry.db)
    # Rows written before names had keys (0011) get theirs; a pair that clashes keeps
    # working, compared by name, and is named here for someone to rename one of them.
    clashing = subprocessors.fill_name_keys(registry)
    law = load_law(registry.data_dir)
    with registry.db.write() as tx:
        law_changed = law_service.save(tx, law)
    added = load_demo(registry) if demo else []
    return {
        "migrations": applied,
        "names_clashing": clashing,
        "law_version": law.version,
        "law_loaded": law_changed,
        "demo_added": added,
        # After a new law or new rules, and on each start: changes now in force written,
        # verdicts changed without a write announced.
        **compliance.start_of_day(registry, audit.actor(name="registry init")),
        "temporaries_swept": sweep_documents(registry),
    }


def sweep_documents(registry: Registry) -> int:
    """Remove stored files no upload will finish and no document refers to."""
    # Uploads a crash cut short leave temporary files that nothing else removes; an
    # hour's age keeps a live upload by another process safe.
    blobs = BlobStore(registry.documents_dir)
    swept = blobs.sweep_temporaries()
    # A crash between a file's rename and its row's commit leaves a complete file that
    # nothing refers to; the same hour's grace protects a commit in progress.
    return swept + blobs.sweep_unreferenced(documents.referenced_blobs(registry.db.connection()))


def load_demo(registry: Registry) -> list[str]:
    """Fill an empty register with the demo sub-processors; returns the names added.

    A register that ever held a sub-processor is left alone: adding the demo again would
    bring back a vendor retired since, and announce it to customers as new.
    """
    if not subprocessors.register_is_empty(registry.db.connection()):
        return []
    schema = SubprocessorCreateSchema()
    existing: set[str] = set()
    added = []
    for index, entry in enumerate(load_demo_catalogue(registry.data_dir)):
        try:
            data = schema.load(entry)
        except ma.ValidationError as exc:
            raise ValueError(f"demo catalogue entry {index} is invalid: {exc.messages}") from exc
        if subprocessors.name_key(data["name"]) in existing:
            continue
        try:
            subprocessors.create(registry, data, audit.actor(name="registry init --demo"))
        except ValidationFailed as exc:
            raise ValueError(f"demo catalogue entry {index} is invalid: {exc.errors}") from exc
        added.append(data["name"])
    return added
