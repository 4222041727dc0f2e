"""The reference law in force in the database, and checks of ids against it."""

from __future__ import annotations

import sqlite3

from ..db import store as db
from ..errors import ValidationFailed, field_error
from . import store
from .model import Law


def current(conn: sqlite3.Connection, cache: dict[str, Law]) -> Law:
    """The current law version, from `cache` when already read."""
    try:
        version = store.current_version(conn)
    except sqlite3.OperationalError:
        if db.schema_version(conn):
            raise
        version = None  # a file never initialised has no tables at all
    if version is None:
        raise RuntimeError("the database has no reference law: run `registry init`")
    return of_version(conn, version, cache)


def of_version(conn: sqlite3.Connection, version: str, cache: dict[str, Law]) -> Law:
    law = cache.get(version)
    if law is None:
        law = cache[version] = store.load(conn, version)
    return law


def save(tx, law: Law) -> bool:
    """Make `law` current in the caller's transaction; True (and a new revision) if it changed."""
    changed = store.save(tx, law)
    if changed:
        db.bump_revision(tx)
    return changed


def current_version(conn: sqlite3.Connection) -> str | None:
    return store.current_version(conn)


def check_assume_ended(ids: list[str], law: Law) -> None:
    """422 naming each `assume_ended` id that is no adequacy decision."""
    errors = [
        field_error(
            f"/assume_ended/{i}", f"No adequacy decision has the id {d!r}.", location="query"
        )
        for i, d in enumerate(ids)
        if law.decision(d) is None
    ]
    if errors:
        raise ValidationFailed(errors)
