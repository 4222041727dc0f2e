"""`registry worker`: deliver webhooks until SIGTERM or SIGINT; daily sweep and purge."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask.cli import with_appcontext

from ..incidents import service as incidents
from ..retention import service as retention
from ..verdicts import service as compliance
from ..webhooks.worker import Worker
from .context import migrated


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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    state = migrated()
    stop = threading.Event()

    def request_stop(signum, frame):
        # The delivery under way finishes and is recorded; then the loop ends.
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    worker = Worker(state.db, state.settings)
    # Verdicts the date or the law changed are announced (and their webhooks sent) daily,
    # and what is older than REGISTRY_RETENTION_DAYS is purged daily.
    sweep, purge = compliance.DailySweep(state), retention.DailyPurge(state)

    def daily() -> None:
        sweep()
        purge()
        # Every round, not daily: a notice falls overdue by the hour.
        incidents.announce_overdue(state)

    attempts = worker.run(stop, poll_interval=poll_interval, once=once, tick=daily)
    click.echo(f"worker stopped after {attempts} attempt(s)")
