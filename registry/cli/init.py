"""`registry init [--demo]`: create or migrate the database and load the reference law."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from .context import initialised, registry


@click.command("init")
@click.option(
    "--demo", is_flag=True, help="Also load the demo catalogue from data/ into an empty register."
)
@with_appcontext
def init_command(demo: bool) -> None:
    """Create or migrate the database and load the reference law. Safe to run twice."""
    outcome = initialised(demo=demo)
    click.echo(f"database: {registry().settings.database}")
    for migration in outcome["migrations"]:
        click.echo(f"applied migration {migration}")
    state = "loaded" if outcome["law_loaded"] else "unchanged"
    click.echo(f"reference law {outcome['law_version'][:12]} {state}")
    if outcome["changes_applied"]:
        click.echo(f"announced changes now in force: {len(outcome['changes_applied'])}")
    if outcome["verdicts_changed"]:
        click.echo(f"verdicts changed without a write: {len(outcome['verdicts_changed'])}")
    for name in outcome.get("names_clashing", []):
        click.echo(f"warning: {name!r} clashes with another current name once normalised")
    if outcome["temporaries_swept"]:
        click.echo(f"removed {outcome['temporaries_swept']} unfinished upload(s)")
    if demo:
        added = outcome["demo_added"]
        if added:
            click.echo(f"demo catalogue: {len(added)} sub-processors added")
        else:
            click.echo("demo catalogue: not added, the register is not empty")
