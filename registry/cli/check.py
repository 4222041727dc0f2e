"""`registry check`: the compliance report; exit 1 when an active sub-processor is flagged."""

from __future__ import annotations

import json
import re
import sys
from datetime import date

import click
from flask.cli import with_appcontext

from ..law.destinations import destination
from ..verdicts import service as compliance
from ..verdicts.schemas import RegisterReportSchema
from .context import existing


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
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    help="Exit 1 when an active sub-processor has a flag of this severity (warning: or worse).",
)
@with_appcontext
def check_command(
    as_of: str | None, assume_ended: tuple[str, ...], as_json: bool, fail_on: str
) -> None:
    """Print every flag, one per line; exit 1 when an active sub-processor fails."""
    state = existing()
    try:
        law = state.law()
    except RuntimeError as exc:
        raise CheckNotRun(str(exc)) from exc
    unknown = [d for d in assume_ended if law.decision(d) is None]
    if unknown:
        raise click.BadParameter(f"unknown adequacy decision {', '.join(unknown)}")
    on = date.fromisoformat(as_of) if as_of else state.today()
    verdicts, report = compliance.register_verdicts(state, on, assume_ended=frozenset(assume_ended))
    if as_json:
        # The API's report (GET /v1/compliance), through the same schema.
        click.echo(json.dumps(RegisterReportSchema().dump(report), indent=2))
    else:
        _print_report(report)
        _print_flags(verdicts, report["incidents"]["flags"])
        _print_waived(report["waived"])
        _print_notes(report["notes"])
        # What falls due within 30 days of the date, and copies not scanned: notes, never
        # a failure.
        _print_unscanned(report["not_scanned"])
        _print_due(report["evidence_due"])
    failing = FAILING[fail_on]
    if report["incidents"]["overdue"] or any(
        status == "active" and any(flag["severity"] in failing for flag in verdict["flags"])
        for _, status, verdict in verdicts
    ):
        sys.exit(1)


# The severities that fail the check, by --fail-on.
FAILING = {"error": {"error"}, "warning": {"error", "warning"}}


def _print_flags(verdicts: list[tuple[dict, str, dict]], incident_flags: list[dict]) -> None:
    """One line per flag, errors first, for grep and for people."""
    lines = [
        (
            False,
            f"ERROR   {flag['code']} {flag['incident_id']} {flag['subprocessor_name']} "
            f"({flag['subprocessor_id']}): {flag['message']}",
        )
        for flag in incident_flags
    ]
    for record, status, verdict in verdicts:
        for flag in verdict["flags"]:
            place = (destination(flag) or "-") + (
                f" onward {flag['onward']}" if flag.get("onward") else ""
            )
            lines.append(
                (
                    flag["severity"] != "error",
                    f"{flag['severity'].upper():<7} {flag['code']} {place} "
                    f"{record['name']} ({record['id']}, {status}): {flag['message']}",
                )
            )
    for _, line in sorted(lines, key=lambda item: item[0]):
        click.echo(line)


def _print_notes(notes: list[dict]) -> None:
    """One line per note, after the flags: caveats about the reference law, never a failure."""
    for note in notes:
        place = (destination(note) or "-") + (
            f" onward {note['onward']}" if note.get("onward") else ""
        )
        click.echo(
            f"NOTE    {note['code']} {place} {note['subprocessor_name']} "
            f"({note['subprocessor_id']}, {note['status']}): {note['message']}"
        )


def _print_waived(waived: list[dict]) -> None:
    """One line per warning a waiver accepts: it fails no check while the waiver is in force."""
    for flag in waived:
        place = (flag.get("country") or flag.get("international_organisation") or "-") + (
            f" onward {flag['onward']}" if flag.get("onward") else ""
        )
        waiver = flag["waiver"]
        click.echo(
            f"WAIVED  {flag['code']} {place} {flag['subprocessor_name']} "
            f"({flag['subprocessor_id']}, {flag['status']}): waiver {waiver['id']} until "
            f"{waiver['expires_on']}: {waiver['reason']}"
        )


def _print_due(due: list[dict]) -> None:
    """One note per piece of evidence falling due within 30 days: never a failure."""
    for item in due:
        click.echo(
            f"NOTE    EVIDENCE_DUE {item['due_on']} {item['kind']} {item['subprocessor_name']} "
            f"({item['subprocessor_id']}): {item['message']}"
        )


def _print_unscanned(copies: list[dict]) -> None:
    """One note per copy on file stored without a malware scan (REGISTRY_CLAMD unset)."""
    for copy in copies:
        click.echo(
            f"NOTE    DOCUMENT_NOT_SCANNED {copy['id']} {copy['title']} ({copy['kind']}, "
            f"{copy['media_type']}): stored without a malware scan; "
            "`registry documents rescan` scans it"
        )


def _print_report(report: dict) -> None:
    summary = report["summary"]
    what_if = (
        f" assuming ended: {', '.join(report['assumed_ended'])}" if report["assumed_ended"] else ""
    )
    click.echo(f"compliance as of {report['as_of']}{what_if}")
    click.echo(
        f"{summary['total']} sub-processors: {summary['active']} active, "
        f"{summary['proposed']} proposed; {summary['compliant']} compliant "
        f"({summary['compliant_with_warnings']} with warnings), "
        f"{summary['flagged']} flagged ({summary['active_flagged']} active); "
        f"{summary['errors']} errors, {summary['warnings']} warnings, "
        f"{summary['waived']} waived, {summary['notes']} notes"
    )
