"""Loads the demo catalogue of data/ through the same validation as the API."""

from __future__ import annotations

import marshmallow as ma

from . import audit, catalogue
from .errors import ValidationFailed
from .law import load_demo_catalogue
from .schemas.subprocessors import SubprocessorCreateSchema
from .state import Registry
from .store import subprocessors as store


def load(registry: Registry) -> list[str]:
    """Add the demo sub-processors not already present by name; returns the names added."""
    schema = SubprocessorCreateSchema()
    existing = {
        record["name"].casefold()
        for record in store.iter_current(registry.db.connection(), "9999-12-31")
    }
    added = []
    for index, entry in enumerate(load_demo_catalogue(registry.data_dir)):
        try:
            data = schema.load(entry)
        except ma.ValidationError as exc:
            raise ValueError(f"demo catalogue entry {index} is invalid: {exc.messages}") from exc
        if data["name"].casefold() in existing:
            continue
        try:
            catalogue.create(registry, data, audit.actor(name="registry init --demo"))
        except ValidationFailed as exc:
            raise ValueError(f"demo catalogue entry {index} is invalid: {exc.errors}") from exc
        added.append(data["name"])
    return added
