"""`registry audit verify|head`: check the hash-chained audit trail, print its head."""

from __future__ import annotations

import re
import sys

import click
from flask.cli import with_appcontext

from ..audit import service as audit
from .context import migrated


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
    """Check the whole chain; exit 1 naming the first entry altered, removed or reordered.

    Each personal payload still held must match the digest its entry holds; erased payloads
    are skipped by design and counted.
    """
    state = migrated()
    hashes: dict[int, str] = {}
    payloads = audit.PayloadCount()

    def remembered(entries):
        for entry in entries:
            if anchor is not None and entry["seq"] == anchor[0]:
                hashes[entry["seq"]] = entry["hash"]
            yield entry

    with state.db.snapshot():
        count, broken = audit.verify(remembered(audit.entries(state.db.connection())), payloads)
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
        click.echo(
            f"audit trail ok: {count} entries{_payloads(payloads)}, anchored entry {seq} intact"
        )
        return
    click.echo(f"audit trail ok: {count} entries{_payloads(payloads)}")


def _payloads(payloads: audit.PayloadCount) -> str:
    if not payloads.checked and not payloads.erased:
        return ""
    return f" ({payloads.checked} payloads checked, {payloads.erased} payloads erased)"


@audit_group.command("head")
@with_appcontext
def audit_head() -> None:
    """Print the head entry's sequence number and hash, to anchor elsewhere."""
    head = audit.head(migrated().db.connection())
    if head is None:
        click.echo("0 " + "0" * 64)
    else:
        click.echo(f"{head['seq']} {head['hash']}")
