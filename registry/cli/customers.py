"""`registry customers show|erase`: a customer's data and its erasure."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from ..audit import service as audit
from ..customers import service as customers
from ..errors import NotFound, ValidationFailed
from .context import migrated


@click.group("customers")
def customers_group() -> None:
    """A customer's personal data: what is held, and erasure on request."""


@customers_group.command("show")
@click.argument("customer_id")
@with_appcontext
def customers_show(customer_id: str) -> None:
    """Print, as JSON, how many records of each kind the registry holds of a customer."""
    try:
        described = customers.describe(migrated().db.connection(), customer_id)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None
    except ValidationFailed as exc:
        raise click.BadParameter(exc.errors[0]["detail"], param_hint="CUSTOMER_ID") from None
    click.echo(json.dumps(described))


@customers_group.command("erase")
@click.argument("customer_id")
@with_appcontext
def customers_erase(customer_id: str) -> None:
    """Erase a customer's personal data everywhere (keys, requests, disclosures, webhooks,
    objections' reasons, changes, incident lists, audit payloads); exit 1 for an unknown id."""
    try:
        outcome = customers.erase(
            migrated(), customer_id, audit.actor(name="registry customers erase")
        )
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None
    except ValidationFailed as exc:
        raise click.BadParameter(exc.errors[0]["detail"], param_hint="CUSTOMER_ID") from None
    if outcome["already_erased"]:
        click.echo(
            f"{customer_id} was already erased at {outcome['erased_at']}; nothing held since"
        )
        return
    counts = ", ".join(f"{count} {kind}" for kind, count in outcome["erased"].items() if count)
    click.echo(f"erased {customer_id}: {counts or 'nothing'}")
