"""What every command asks of the app: the registry, migrated where a command needs tables."""

from __future__ import annotations

import click
from flask import current_app

from ..bootstrap import initialise
from ..db import store as db
from ..law.loader import LawDataError
from ..runtime import Registry


def registry() -> Registry:
    return current_app.extensions["registry"]


def migrated() -> Registry:
    """The registry with its schema in place (keys can be managed before the first init)."""
    state = registry()
    db.migrate(state.db)
    return state


def initialised(*, demo: bool = False) -> dict:
    """Migrate, load the law (and the demo); bad data in data/ is a clean error, not a trace."""
    try:
        return initialise(registry(), demo=demo)
    except (LawDataError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
