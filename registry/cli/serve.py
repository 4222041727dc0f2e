"""`registry serve`: gunicorn, initialising the database if needed."""

from __future__ import annotations

import click
from flask.cli import ScriptInfo, with_appcontext

from ..server import serve
from .context import initialised, registry


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@with_appcontext
def serve_command(host: str, port: int, workers: int) -> None:
    """Serve the API with gunicorn, initialising the database if needed."""
    initialised()
    # The master holds no connection across the fork: workers open their own.
    registry().db.close()
    # Each worker builds its own app after the fork, with the factory that built this one.
    app_factory = click.get_current_context().find_object(ScriptInfo).create_app
    serve(host=host, port=port, workers=workers, app_factory=app_factory)
