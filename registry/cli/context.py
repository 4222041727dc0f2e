"""What every command asks of the app: the registry, migrated where a command needs tables."""

from __future__ import annotations

import os

import click
from flask import current_app

from ..bootstrap import initialise
from ..db import store as db
from ..law.loader import LawDataError
from ..runtime import Registry


def registry() -> Registry:
    return current_app.extensions["registry"]


class NoDatabase(click.ClickException):
    """REGISTRY_DATABASE names no file: exit 2, as for any unusable setting."""

    exit_code = 2


def existing() -> Registry:
    """The registry, on a database file that exists. Only `init` and `serve` create one:
    any other command on a path with no file would work on a new, empty register (a key
    the server never sees, an audit trail that verifies because it is empty)."""
    state = registry()
    path = state.settings.database
    if path != ":memory:" and not os.path.exists(path):
        raise NoDatabase(
            f"no database at {path} (REGISTRY_DATABASE): run `registry init` there first, "
            "or set REGISTRY_DATABASE to the file the server uses"
        )
    return state


def migrated() -> Registry:
    """The registry on its existing database, with the schema in place (keys can be
    managed before the first init: a file that exists is migrated, none is created)."""
    state = existing()
    db.migrate(state.db)
    return state


def initialised(*, demo: bool = False) -> dict:
    """Migrate, load the law (and the demo); bad data in data/ is a clean error, not a trace."""
    try:
        return initialise(registry(), demo=demo)
    except (LawDataError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
