"""The `registry` command: init, serve, worker, keys, check, documents, audit, openapi."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from .. import __version__
from ..app import create_app
from ..settings import SettingsError
from . import register_commands


class BadSettings(click.ClickException):
    """A REGISTRY_* variable is unusable: exit 2, as `registry check` exits 1 for a finding."""

    exit_code = 2


def _create_app():
    """The app the commands run in: create_app()'s, with the commands added to it."""
    try:
        app = create_app()
    except SettingsError as exc:
        raise BadSettings(str(exc)) from exc
    register_commands(app)
    return app


@click.group(
    cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False
)
@click.version_option(
    __version__, "--version", prog_name="registry", message="%(prog)s %(version)s"
)
def main():
    """Registry of GDPR sub-processors and cross-border transfers."""


if __name__ == "__main__":
    main()
