"""`registry check`: the compliance report; exit 1 when an active sub-processor is flagged."""

from __future__ import annotations

import json
import re
import sys
from datetime import date

import click
from flask.cli import with_appcontext

from ..compliance import service as compliance
from .context import registry


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
    state = registry()
    try:
        law = state.law()
    except RuntimeError as exc:
        raise CheckNotRun(str(exc)) from exc
    unknown = [d for d in assume_ended if law.decision(d) is None]
    if unknown:
        raise click.BadParameter(f"unknown adequacy decision {', '.join(unknown)}")
    on = date.fromisoformat(as_of) if as_of else state.today()
    report = compliance.register_report(state, on, assume_ended=frozenset(assume_ended))
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
