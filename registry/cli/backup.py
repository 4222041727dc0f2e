"""`registry backup FILE`: a consistent online copy of the database, checked."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..audit import service as audit
from ..db import store as db
from .context import migrated


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@with_appcontext
def backup_command(file: str, force: bool) -> None:
    """Copy the database to FILE while it serves, then check the copy's audit trail.

    Stored copies of documents live in REGISTRY_DOCUMENTS, one immutable file per SHA-256:
    copy that folder too (any file copy works, as files are never changed in place).
    """
    state = migrated()
    try:
        done = db.backup(state.db, file, replace=force)
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from exc
    copy = db.open_read_only(file)  # the copy as written: no journal mode changed
    try:
        count, broken = audit.verify(audit.entries(copy))
    finally:
        copy.close()
    if broken is not None:
        raise click.ClickException(f"the copy's audit trail is BROKEN at entry {broken.seq}")
    click.echo(
        f"backed up to {file}: {done['bytes']} bytes in {done['seconds']:.2f} s, "
        f"integrity ok, audit trail ok ({count} entries)"
    )
