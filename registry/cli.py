"""The `registry` command: init, serve, keys, check (and flask-smorest's `openapi`)."""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import date

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from . import audit
from .law import LawDataError
from .store import audit as audit_store


def _state():
    return current_app.extensions["registry"]


def _migrated_state():
    """The registry with its schema in place (keys can be managed before the first init)."""
    from .db import migrate

    state = _state()
    migrate(state.db)
    return state


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main():
    """Registry of GDPR sub-processors and cross-border transfers."""


def register_commands(app: Flask) -> None:
    for command in (
        init_command,
        serve_command,
        keys_group,
        check_command,
        documents_group,
        audit_group,
        worker_command,
    ):
        app.cli.add_command(command)


@click.command("init")
@click.option("--demo", is_flag=True, help="Also load the demo catalogue from data/.")
@with_appcontext
def init_command(demo: bool) -> None:
    """Create or migrate the database and load the reference law. Safe to run twice."""
    try:
        outcome = _state().initialise(demo=demo)
    except (LawDataError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"database: {current_app.config['DATABASE']}")
    for migration in outcome["migrations"]:
        click.echo(f"applied migration {migration}")
    state = "loaded" if outcome["law_loaded"] else "unchanged"
    click.echo(f"reference law {outcome['law_version'][:12]} {state}")
    if outcome["temporaries_swept"]:
        click.echo(f"removed {outcome['temporaries_swept']} unfinished upload(s)")
    if demo:
        added = outcome["demo_added"]
        click.echo(f"demo catalogue: {len(added)} sub-processors added")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@with_appcontext
def serve_command(host: str, port: int, workers: int) -> None:
    """Serve the API with gunicorn, initialising the database if needed."""
    from .server import serve

    try:
        _state().initialise()
    except (LawDataError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    # The master holds no connection across the fork: workers open their own.
    _state().db.close()
    serve(host=host, port=port, workers=workers)


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--poll-interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.01, 60),
    help="Seconds between looks for due deliveries when idle.",
)
@with_appcontext
def worker_command(once: bool, poll_interval: float) -> None:
    """Deliver webhooks until SIGTERM or SIGINT (several workers may run at once)."""
    import logging
    import signal
    import threading

    from .delivery import Settings, Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    state = _migrated_state()
    stop = threading.Event()

    def request_stop(signum, frame):
        # The delivery under way finishes and is recorded; then the loop ends.
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    worker = Worker(state.db, Settings.from_config(current_app.config))
    attempts = worker.run(stop, poll_interval=poll_interval, once=once)
    click.echo(f"worker stopped after {attempts} attempt(s)")


@click.group("keys")
def keys_group() -> None:
    """Manage API tokens (stored only as SHA-256 hashes)."""


@keys_group.command("create")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "procurement", "customer", "service"]),
)
@click.option("--name", required=True, help="Who or what uses the token.")
@click.option("--customer", "customer_id", help="Customer id (required for the customer role).")
@with_appcontext
def keys_create(role: str, name: str, customer_id: str | None) -> None:
    """Create a token; it is printed once, alone on the last line."""
    from .store.keys import create_key

    state = _migrated_state()
    try:
        with state.db.write() as tx:
            key_id, token = create_key(tx, role=role, name=name, customer_id=customer_id)
            audit_store.append(
                tx,
                audit.actor(name="registry keys create"),
                "key.create",
                "api_key",
                key_id,
                {"role": role, "name": name, "customer_id": customer_id},
            )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"created key {key_id} ({role}{', customer ' + customer_id if customer_id else ''})")
    click.echo(token)


@keys_group.command("revoke")
@click.argument("key_id")
@with_appcontext
def keys_revoke(key_id: str) -> None:
    """Revoke a token by its key id; it stops working at once."""
    from .store.keys import revoke_key

    with _migrated_state().db.write() as tx:
        if not revoke_key(tx, key_id):
            raise click.ClickException(f"no active key {key_id}")
        audit_store.append(
            tx, audit.actor(name="registry keys revoke"), "key.revoke", "api_key", key_id, {}
        )
    click.echo(f"revoked {key_id}")


@keys_group.command("list")
@with_appcontext
def keys_list() -> None:
    """List keys (never their tokens)."""
    from .store.keys import list_keys

    for key in list_keys(_migrated_state().db.connection()):
        click.echo(json.dumps(key))


def _parse_date(ctx, param, value):
    if value is None:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise click.BadParameter("expected YYYY-MM-DD")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD") from None


class CheckNotRun(click.ClickException):
    """The report could not be made; exit 2, as exit 1 means an active sub-processor is flagged."""

    exit_code = 2


@click.command("check")
@click.option("--as-of", callback=_parse_date, help="Evaluate under the law of this date.")
@click.option(
    "--assume-ended",
    "assume_ended",
    multiple=True,
    help="What if this adequacy decision had ended (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_appcontext
def check_command(as_of: str | None, assume_ended: tuple[str, ...], as_json: bool) -> None:
    """Report compliance; exit 1 when an active sub-processor has an error flag."""
    from . import catalogue

    state = _state()
    try:
        law = state.law()
    except RuntimeError as exc:
        raise CheckNotRun(str(exc)) from exc
    unknown = [d for d in assume_ended if law.decision(d) is None]
    if unknown:
        raise click.BadParameter(f"unknown adequacy decision {', '.join(unknown)}")
    on = date.fromisoformat(as_of) if as_of else state.today()
    report = catalogue.register_report(state, on, assume_ended=frozenset(assume_ended))
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_report(report)
    if report["summary"]["active_flagged"]:
        sys.exit(1)


def _print_report(report: dict) -> None:
    summary = report["summary"]
    what_if = (
        f" assuming ended: {', '.join(report['assumed_ended'])}" if report["assumed_ended"] else ""
    )
    click.echo(f"compliance as of {report['as_of']}{what_if}")
    click.echo(
        f"{summary['total']} sub-processors: {summary['active']} active, "
        f"{summary['proposed']} proposed; {summary['compliant']} compliant, "
        f"{summary['flagged']} flagged ({summary['active_flagged']} active)"
    )
    for item in report["flagged"]:
        click.echo(f"FLAGGED {item['id']} {item['name']} [{item['status']}]")
        for flag in item["compliance"]["flags"]:
            if flag["severity"] == "error":
                click.echo(f"  {flag['code']} {flag['country']}: {flag['message']}")


@click.group("documents")
def documents_group() -> None:
    """Manage copies of transfer mechanisms (SCCs, BCRs, DPAs, TIAs)."""


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
    import marshmallow as ma

    from . import documentation
    from .blobs import TooLarge, UnsupportedType
    from .errors import RegistryError
    from .schemas.documents import DocumentUploadSchema

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
    state = _state()
    try:
        with open(file, "rb") as stream:
            document, fulfilled = documentation.upload(
                state,
                stream,
                meta,
                audit.actor(name="registry documents add"),
                max_size=current_app.config["MAX_UPLOAD"],
            )
    except (TooLarge, UnsupportedType) as exc:
        raise click.ClickException(str(exc)) from exc
    except RegistryError as exc:
        details = "; ".join(f"{e['pointer']}: {e['detail']}" for e in exc.errors or [])
        raise click.ClickException(details or exc.detail) from exc
    click.echo(
        f"stored {document['id']} ({document['media_type']}, {document['size']} bytes,"
        f" sha256 {document['sha256']})"
    )
    if fulfilled:
        click.echo(f"fulfilled requests: {', '.join(fulfilled)}")


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit trail."""


def _parse_anchor(ctx, param, value):
    if value is None:
        return None
    match = re.fullmatch(r"\s*([0-9]{1,18})\s+([0-9a-f]{64})\s*", value)
    if not match:
        raise click.BadParameter("expected 'SEQ HASH', as `registry audit head` prints it")
    return int(match.group(1)), match.group(2)


@audit_group.command("verify")
@click.option(
    "--anchor",
    callback=_parse_anchor,
    help="A head printed earlier by `registry audit head` ('SEQ HASH'): the chain must still "
    "contain that entry with that hash, which catches truncation and a rewritten chain.",
)
@with_appcontext
def audit_verify(anchor: tuple[int, str] | None) -> None:
    """Check the whole chain; exit 1 naming the first entry altered, removed or reordered."""
    from .audit import verify
    from .store import audit as store

    state = _migrated_state()
    hashes: dict[int, str] = {}

    def remembered(entries):
        for entry in entries:
            if anchor is not None and entry["seq"] == anchor[0]:
                hashes[entry["seq"]] = entry["hash"]
            yield entry

    with state.db.snapshot():
        count, broken = verify(remembered(store.iter_all(state.db.connection())))
    if broken is not None:
        click.echo(f"audit trail BROKEN at entry {broken.seq}: {broken.reason}", err=True)
        sys.exit(1)
    if anchor is not None:
        seq, expected = anchor
        found = hashes.get(seq)
        if found != expected:
            reason = "is missing (truncated)" if found is None else "has another hash (rewritten)"
            click.echo(f"audit trail BROKEN at entry {seq}: the anchored entry {reason}", err=True)
            sys.exit(1)
        click.echo(f"audit trail ok: {count} entries, anchored entry {seq} intact")
        return
    click.echo(f"audit trail ok: {count} entries")


@audit_group.command("head")
@with_appcontext
def audit_head() -> None:
    """Print the head entry's sequence number and hash, to anchor elsewhere."""
    from .store import audit as store

    head = store.head(_migrated_state().db.connection())
    if head is None:
        click.echo("0 " + "0" * 64)
    else:
        click.echo(f"{head['seq']} {head['hash']}")


if __name__ == "__main__":
    main()
