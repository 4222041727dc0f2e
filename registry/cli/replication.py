"""`registry replicate`, `registry restore`: continuous replication with Litestream, and the
read-only node's start (`registry serve --read-only`)."""

from __future__ import annotations

import os
import sys

import click
from flask.cli import with_appcontext

from ..replication import service as replication
from .context import registry


@click.command("replicate")
@with_appcontext
def replicate_command() -> None:
    """Ship every change of REGISTRY_DATABASE to REGISTRY_REPLICA_URL with Litestream.

    Runs in the foreground beside the server until SIGTERM or SIGINT, which it passes on to
    Litestream (which ships what it holds, then stops). With REGISTRY_REPLICA_URL set, the
    registry's processes leave WAL checkpoints to Litestream: keep this running.
    """
    settings = registry().settings
    if settings.replica_url is None:
        raise click.UsageError("set REGISTRY_REPLICA_URL (file:///path or s3://bucket/path)")
    try:
        code = replication.replicate(
            settings.database, settings.replica_url, settings.replica_sync_interval
        )
    except replication.ReplicationError as exc:
        raise click.ClickException(str(exc)) from exc
    sys.exit(code)


@click.command("restore")
@click.option(
    "--replica",
    "replica_url",
    help="The replica URL (file:///path, s3://bucket/path); default REGISTRY_REPLICA_URL.",
)
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the database (a new file).",
)
@click.option("--force", is_flag=True, help="Replace the file at --to if it exists.")
@click.option(
    "--follow",
    is_flag=True,
    help="Then keep applying the replica's new changes, polling every "
    "REGISTRY_REPLICA_SYNC_INTERVAL seconds, until SIGTERM: the database of a read-only node.",
)
@with_appcontext
def restore_command(replica_url: str | None, target: str, force: bool, follow: bool) -> None:
    """Restore the database from its Litestream replica into a new file, checked.

    The copy must pass SQLite's integrity check and the audit chain's verification, as a
    backup does; it is written under a temporary name and renamed into place, 0600. With
    --follow the file is for reading only (a `registry serve --read-only` node): Litestream
    writes it as the replica changes, and a path it followed before resumes.
    """
    settings = registry().settings
    replica_url = replica_url or settings.replica_url
    if not replica_url:
        raise click.UsageError("name the replica: --replica URL or REGISTRY_REPLICA_URL")
    try:
        if follow:
            code = replication.follow(
                replica_url,
                target,
                interval=settings.replica_sync_interval,
                replace=force,
                ready=lambda done: _summary(target, done, following=True),
            )
            sys.exit(code)
        done = replication.restore(replica_url, target, replace=force)
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from exc
    except replication.ReplicationError as exc:
        raise click.ClickException(str(exc)) from exc
    _summary(target, done, following=False)


def _summary(target: str, done: dict, *, following: bool) -> None:
    verb = "resumed" if done.get("resumed") else "restored"
    click.echo(
        f"{verb} {target}: {done['bytes']} bytes in {done['seconds']:.2f} s, revision "
        f"{done['revision']}, integrity ok, audit trail ok ({done['audit_entries']} entries)"
        + ("; following the replica" if following else ""),
    )
    sys.stdout.flush()


def read_only_node() -> None:
    """Before `registry serve --read-only` forks its workers: the replica is there and of
    this code's schema, and every worker's app is built read-only."""
    os.environ["REGISTRY_READ_ONLY"] = "1"
    settings = registry().settings
    try:
        found = replication.check_replica(settings.database, settings.busy_timeout_ms)
    except replication.ReplicationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"read-only node on {settings.database} (revision {found['revision']}); writes go to "
        f"{settings.primary_url or 'the primary (set REGISTRY_PRIMARY_URL to name it)'}",
        err=True,
    )
