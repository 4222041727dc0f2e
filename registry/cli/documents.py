"""`registry documents add`: store a copy of a transfer mechanism, as an upload would."""

from __future__ import annotations

import json
import os
import sys
import time

import click
import marshmallow as ma
from flask.cli import with_appcontext

from ..audit import service as audit
from ..documents import service as documents
from ..documents.schemas import DocumentUploadSchema
from ..errors import RegistryError
from .context import existing


@click.group("documents")
def documents_group() -> None:
    """Manage copies of transfer mechanisms (SCCs, BCRs, DPAs, TIAs), and rescan them."""


@documents_group.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--subprocessor", "subprocessor_id", help="The sub-processor the copy is for.")
@click.option("--country", help="The transfer's country (ISO alpha-2); default all its countries.")
@click.option("--kind", required=True, type=click.Choice(["scc", "dpa", "bcr", "tia", "other"]))
@click.option(
    "--audience", required=True, type=click.Choice(["internal", "disclosable"]), show_default=True
)
@click.option("--title", help="Default: the file name.")
@click.option("--summary", help="For a redacted copy: what was redacted and why.")
@with_appcontext
def documents_add(file, subprocessor_id, country, kind, audience, title, summary) -> None:
    """Store FILE as a copy, exactly as an upload through the API would."""
    form = {"kind": kind, "audience": audience, "title": title or os.path.basename(file)}
    for key, value in (
        ("subprocessor_id", subprocessor_id),
        ("country", country),
        ("summary", summary),
    ):
        if value is not None:
            form[key] = value
    try:
        meta = DocumentUploadSchema(exclude=("file",)).load(form)
    except ma.ValidationError as exc:
        raise click.UsageError(json.dumps(exc.messages)) from exc
    state = existing()
    try:
        with open(file, "rb") as stream:
            document, fulfilled = documents.upload(
                state,
                stream,
                meta,
                audit.actor(name="registry documents add"),
                max_size=state.settings.max_upload,
            )
    except RegistryError as exc:
        details = "; ".join(f"{e['pointer']}: {e['detail']}" for e in exc.errors or [])
        raise click.ClickException(details or exc.detail) from exc
    click.echo(
        f"stored {document['id']} ({document['media_type']}, {document['size']} bytes,"
        f" sha256 {document['sha256']})"
    )
    if fulfilled:
        click.echo(f"fulfilled requests: {', '.join(fulfilled)}")


@documents_group.command("rescan")
@with_appcontext
def documents_rescan() -> None:
    """Scan every stored copy again with ClamAV (REGISTRY_CLAMD).

    A copy on file whose content is now found infected is withdrawn, as DELETE
    /v1/documents/{id} withdraws it, the reason naming the signature. Exit 1 when any was
    found; exit 2 when the scanner is not configured or fails (what was scanned before stays).
    """
    state = existing()
    started = time.monotonic()
    try:
        summary = documents.rescan(state, audit.actor(name="registry documents rescan"))
    except RegistryError as exc:
        raise RescanFailed(exc.detail) from exc
    for copy in summary["withdrawn"]:
        line = f"withdrawn {copy['id']} ({copy['title']}): {copy['signature']}"
        if copy["reopened"]:
            line += f"; requests back to pending: {', '.join(copy['reopened'])}"
        if copy["redelivered"]:
            line += f"; requests redelivered: {', '.join(copy['redelivered'])}"
        click.echo(line)
    click.echo(
        f"scanned {summary['files'] - summary['missing']} files in "
        f"{time.monotonic() - started:.1f} s: {summary['clean']} clean, "
        f"{summary['infected']} infected ({len(summary['withdrawn'])} copies withdrawn), "
        f"{summary['missing']} missing"
    )
    if summary["infected"]:
        sys.exit(1)


class RescanFailed(click.ClickException):
    """The rescan could not run or finish; exit 2, as exit 1 means malware was found."""

    exit_code = 2
