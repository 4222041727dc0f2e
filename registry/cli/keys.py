"""`registry keys create|revoke|list`: API tokens, stored only as SHA-256 hashes."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from ..audit import service as audit
from ..keys import service as keys
from .context import migrated


@click.group("keys")
def keys_group() -> None:
    """Manage API tokens (stored only as SHA-256 hashes)."""


@keys_group.command("create")
@click.option("--role", required=True, type=click.Choice(keys.ROLES))
@click.option("--name", required=True, help="Who or what uses the token.")
@click.option("--customer", "customer_id", help="Customer id (required for the customer role).")
@with_appcontext
def keys_create(role: str, name: str, customer_id: str | None) -> None:
    """Create a token; it is printed once, alone on the last line."""
    try:
        key_id, token = keys.create(
            migrated().db,
            role=role,
            name=name,
            customer_id=customer_id,
            actor=audit.actor(name="registry keys create"),
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
    if not keys.revoke(migrated().db, key_id, actor=audit.actor(name="registry keys revoke")):
        raise click.ClickException(f"no active key {key_id}")
    click.echo(f"revoked {key_id}")


@keys_group.command("list")
@with_appcontext
def keys_list() -> None:
    """List keys (never their tokens)."""
    for key in keys.list_all(migrated().db.connection()):
        click.echo(json.dumps(key))
