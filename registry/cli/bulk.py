"""`registry import FILE [--dry-run]`: sub-processors from a CSV, XLSX or JSON file, at once."""

from __future__ import annotations

import contextlib
import json
import os
import sys

import click
from flask.cli import with_appcontext

from ..audit import service as audit
from ..bulk import importing as bulk
from ..errors import Malformed, TooLarge
from .context import existing


def _progress(total: int):
    """A progress bar on a terminal; nothing when stderr is a file or a pipe."""
    if not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    return click.progressbar(length=total, label="importing", file=sys.stderr)


def _shown(value) -> str:
    """A field's value on one line: null, or JSON (text unquoted)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check every row, change control included; write nothing; list each field that would "
    "change.",
)
@with_appcontext
def import_command(file: str, dry_run: bool) -> None:
    """Import sub-processors from FILE (.csv, .xlsx or .json), as POST /v1/subprocessors/import.

    Rows match current sub-processors by `id` (the export's first column), else by name: a
    renamed row renames its sub-processor, new ones are created, known ones updated, each
    audited and announced like a single write, all in one transaction. Any error exits 1
    with the rows at fault on stderr, and nothing is written.
    """
    media_type = bulk.media_type_of(file)
    if media_type is None:
        raise click.UsageError("FILE must end in .csv, .xlsx or .json.")
    state = existing()
    try:
        state.law()  # the rows are checked against it
    except RuntimeError as exc:  # no reference law: the database was never initialised
        raise click.ClickException(str(exc)) from None
    limit = state.settings.max_import
    size = os.path.getsize(file)
    if size > limit:
        raise click.ClickException(
            f"{file} is {size} bytes, over the import limit of {limit} (REGISTRY_MAX_IMPORT)."
        )
    with open(file, "rb") as stream:
        data = stream.read(limit + 1)
    try:
        upload = bulk.read(data, media_type, max_bytes=limit)
        with _progress(len(upload.items)) as bar:
            result = bulk.apply(
                state,
                upload,
                audit.actor(name="registry import"),
                dry_run=dry_run,
                progress=bar.update if bar is not None else None,
            )
    except bulk.ImportInvalid as exc:
        for error in exc.errors or []:
            where = f"row {error['row']}" if error.get("row") else file
            click.echo(f"{where} {error['pointer'] or '/'}: {error['detail']}", err=True)
        raise click.ClickException(exc.detail) from None
    except (Malformed, TooLarge) as exc:
        raise click.ClickException(exc.detail) from None
    verb = "would be" if dry_run else "were"
    click.echo(
        f"{result['rows']} rows, {len(result['subprocessors'])} sub-processors: "
        f"{result['created']} created, {result['updated']} updated, "
        f"{result['unchanged']} unchanged" + (" (dry run: nothing written)." if dry_run else ".")
    )
    pending = [e for e in result["subprocessors"] if e["pending_change"]]
    if pending:
        click.echo(
            f"{len(pending)} material changes {verb} announced, pending their notice: "
            + ", ".join(e["name"] for e in pending)
        )
    if dry_run:
        for change in result["changes"]:
            click.echo(
                f"change: {change['name']} {change['field']}: "
                f"{_shown(change['from'])} -> {_shown(change['to'])}"
            )
    for warning in result["warnings"]:
        where = f"row {warning['row']}" if warning.get("row") else file
        click.echo(f"warning: {where} {warning['pointer']}: {warning['detail']}", err=True)
