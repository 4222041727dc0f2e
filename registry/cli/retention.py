"""`registry purge`: what is older than REGISTRY_RETENTION_DAYS (the worker does it daily)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..audit import service as audit
from ..retention import service as retention
from .context import migrated


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Delete what is older than REGISTRY_RETENTION_DAYS (the worker does it daily)."""
    outcome = retention.purge(migrated(), audit.actor(name="registry purge"), dry_run=dry_run)
    if outcome["before"] is None:
        click.echo("REGISTRY_RETENTION_DAYS is 0: everything is kept, nothing purged")
        return
    counts = ", ".join(f"{count} {kind}" for kind, count in outcome["purged"].items())
    verb = "would purge" if dry_run else "purged"
    click.echo(
        f"{verb} what is older than {outcome['retention_days']} days "
        f"(before {outcome['before']}): {counts}"
    )
