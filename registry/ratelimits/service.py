# Not Flask-Limiter: its counts live per process or in a server (Redis); these share a SQLite file.
"""Per-key request budgets for customer and service keys, shared by every worker process."""

from __future__ import annotations

import math
import os
import threading

from .. import clock
from ..db.store import Database
from ..errors import TooManyRequests
from ..runtime import Registry
from . import store

METERED_ROLES = ("customer", "service", "feed")


class _Counts:
    """The counts' own SQLite file beside the database: no fsync, shared across workers."""

    def __init__(self, path: str):
        self.db = Database(path, busy_timeout_ms=5_000, durable=False)
        self.ready = threading.Lock()
        self.created = False

    def spend(self, key_id: str, window: int) -> int:
        with self.ready:
            if not self.created:
                store.ensure(self.db.connection())
                self.created = True
        with self.db.write() as tx:
            return store.spend(tx, key_id, window)


def spend(registry: Registry, principal) -> dict | None:
    """Count this request against its key's budget; the RateLimit headers, or None when the
    key is not metered. TooManyRequests (429, with Retry-After) once the budget is spent."""
    budget = registry.settings.rate_budget
    if budget is None or principal.role not in METERED_ROLES:
        return None
    limit, seconds = budget
    now = clock.now().timestamp()
    window = math.floor(now / seconds)
    reset = max(1, math.ceil((window + 1) * seconds - now))
    counts = registry.cache(
        "ratelimits.counts", lambda: _Counts(registry.settings.database + "-limits")
    )
    used = counts.spend(principal.key_id, window)
    headers = {
        "RateLimit-Policy": f"{limit};w={seconds}",
        "RateLimit": f"limit={limit}, remaining={max(0, limit - used)}, reset={reset}",
    }
    if used > limit:
        raise TooManyRequests(
            f"This key may make {limit} requests every {seconds} s; try again in {reset} s.",
            headers={**headers, "Retry-After": str(reset)},
        )
    return headers


def forget(registry: Registry, key_ids: list[str]) -> int:
    """Delete the request counts of these keys from the `-limits` file, leaving no trace in it
    (secure delete, WAL truncated); the rows deleted. No file yet: nothing to forget."""
    path = registry.settings.database + "-limits"
    if not key_ids or not os.path.exists(path):
        return 0
    counts = registry.cache("ratelimits.counts", lambda: _Counts(path))
    store.ensure(counts.db.connection())
    with counts.db.erasing() as tx:
        return store.forget(tx, key_ids)
