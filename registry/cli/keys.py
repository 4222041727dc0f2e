"""`registry keys create|revoke|list`: API tokens, stored only as SHA-256 hashes."""

from __future__ import annotations

import json
import re
from datetime import date

import click
from flask.cli import with_appcontext

from ..audit import service as audit
from ..errors import Invalid
from ..keys import service as keys
from .context import migrated

_OPTION_OF = {"customer_id": "--customer", "expires_on": "--expires-on", "name": "--name"}


def _parse_date(ctx, param, value: str | None) -> date | None:
    """YYYY-MM-DD, as the API takes it; whether the day may be an expiry is the keys' rule."""
    if value is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("expected a date, YYYY-MM-DD") from None


@click.group("keys")
def keys_group() -> None:
    """Manage API tokens (stored only as SHA-256 hashes)."""


@keys_group.command("create")
@click.option("--role", required=True, type=click.Choice(keys.ROLES))
@click.option("--name", required=True, help="Who or what uses the token.")
@click.option(
    "--customer",
    "customer_id",
    help="Customer id (required for the customer and feed roles): a slug, folded to lower case.",
)
@click.option(
    "--expires-on",
    callback=_parse_date,
    help=(
        "The last day the token works (YYYY-MM-DD, after today, at the latest "
        f"{keys.LATEST_EXPIRY.isoformat()}); default: until revoked."
    ),
)
@with_appcontext
def keys_create(role: str, name: str, customer_id: str | None, expires_on: date | None) -> None:
    """Create a token; it is printed once, alone on the last line."""
    registry = migrated()
    try:
        record, token = keys.create(
            registry.db,
            role=role,
            name=name,
            customer_id=customer_id,
            expires_on=expires_on,
            today=registry.today(),
            actor=audit.actor(name="registry keys create"),
        )
    except Invalid as exc:
        option = _OPTION_OF.get(exc.pointer.lstrip("/"))
        raise click.UsageError(f"{option}: {exc.message}" if option else exc.message) from exc
    customer = f", customer {record['customer_id']}" if record["customer_id"] else ""
    expiry = f", works through {record['expires_on']}" if record["expires_on"] else ""
    click.echo(f"created key {record['id']} ({role}{customer}{expiry})")
    click.echo(token)


@keys_group.command("revoke")
@click.argument("key_id")
@with_appcontext
def keys_revoke(key_id: str) -> None:
    """Revoke a token by its key id; it stops working at once."""
    if not keys.revoke(migrated().db, key_id, actor=audit.actor(name="registry keys revoke")):
        raise click.ClickException(f"no active key {key_id}")
    click.echo(f"revoked {key_id}")


@keys_group.command("list")
@with_appcontext
def keys_list() -> None:
    """List keys, one JSON object a line: expiry and last day of use, never their tokens."""
    for key in keys.list_all(migrated().db.connection()):
        click.echo(json.dumps(key))
