"""The retention purge: disclosures, documentation requests, webhook delivery logs and closed
incidents' customer lists older than REGISTRY_RETENTION_DAYS, each deleted by its feature's
service in one transaction, and the audit payloads about them.
"""

from __future__ import annotations

from datetime import timedelta

from .. import clock
from ..audit import service as audit
from ..documents import service as documents
from ..incidents import service as incidents
from ..runtime import Registry
from ..webhooks import service as webhooks

# Audit entries about records the retention purges: their personal payloads go with them.
RETAINED_ACTIONS = ("document.disclose", "documentation_request.create")


def cutoff(registry: Registry) -> str | None:
    """The UTC timestamp before which retained records are purged; None: kept forever."""
    days = registry.settings.retention_days
    if not days:
        return None
    return clock.timestamp(clock.now() - timedelta(days=days))


def purge(registry: Registry, actor: dict, *, dry_run: bool = False) -> dict:
    """Delete what is older than REGISTRY_RETENTION_DAYS: disclosures, documentation requests,
    webhook delivery logs, closed incidents' customer lists, and the audit payloads about
    them. One audit entry with the counts when anything was purged; `dry_run` counts and
    changes nothing."""
    before = cutoff(registry)
    outcome = {
        "retention_days": registry.settings.retention_days or None,
        "before": before,
        "dry_run": dry_run,
        "purged": {},
    }
    if before is None:
        return outcome
    with registry.db.snapshot() if dry_run else registry.db.erasing() as tx:
        purged = {
            **documents.purge_before(tx, before, dry_run=dry_run),
            **webhooks.purge_log_before(tx, before, dry_run=dry_run),
            **incidents.purge_closed_before(tx, before, dry_run=dry_run),
            "audit_payloads": audit.erase_actions_before(
                tx, RETAINED_ACTIONS, before, dry_run=dry_run
            ),
        }
        if any(purged.values()) and not dry_run:
            change = {"before": before, "retention_days": outcome["retention_days"]}
            audit.append(tx, actor, "retention.purge", "retention", None, {**change, **purged})
    outcome["purged"] = purged
    return outcome


class DailyPurge:
    """`purge` once a day, for a process that runs for long (the worker)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.done = None

    def __call__(self) -> dict | None:
        today = self.registry.today()
        if today == self.done:
            return None
        outcome = purge(self.registry, audit.actor(name="registry worker"))
        self.done = today
        return outcome
