"""`registry serve`: gunicorn, initialising the database if needed."""

from __future__ import annotations

import click
from flask.cli import ScriptInfo, with_appcontext

from ..server import serve
from .context import initialised, registry
from .replication import read_only_node


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--read-only",
    is_flag=True,
    help="Serve reads from a replica that `registry restore --follow` keeps up to date: "
    "no migration, no write; writes are 503 naming REGISTRY_PRIMARY_URL.",
)
@with_appcontext
def serve_command(host: str, port: int, workers: int, read_only: bool) -> None:
    """Serve the API with gunicorn, initialising the database if needed."""
    if read_only or registry().settings.read_only:
        read_only_node()  # the workers' apps read REGISTRY_READ_ONLY
    else:
        initialised()
    # The master holds no connection across the fork: workers open their own.
    registry().db.close()
    # Each worker builds its own app after the fork, with the factory that built this one.
    app_factory = click.get_current_context().find_object(ScriptInfo).create_app
    settings = registry().settings
    serve(
        host=host,
        port=port,
        workers=workers,
        app_factory=app_factory,
        threads=settings.threads,
        read_timeout=settings.read_timeout,
        client_connections=settings.client_connections,
    )
