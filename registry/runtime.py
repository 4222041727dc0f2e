"""What one process holds of the registry: its settings, database connections and caches."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import TypeVar
from zoneinfo import ZoneInfo

from . import clock
from .db.store import Database
from .law import service as law_service
from .law.model import Law
from .settings import Settings

T = TypeVar("T")


class Registry:
    """Per-app state; built without touching the database (workers connect after the fork)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(
            settings.database,
            settings.busy_timeout_ms,
            # A read-only node reads a replica that Litestream's follower keeps up to date.
            read_only=settings.read_only,
            # Replicated, the primary leaves WAL checkpoints to Litestream (it copies the WAL
            # before checkpointing it), as Litestream advises for busy writers.
            autocheckpoint=settings.replica_url is None,
        )
        self.laws: dict[str, Law] = {}
        self._caches: dict[str, object] = {}
        self._lock = threading.Lock()

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    @property
    def notice_days(self) -> int:
        return self.settings.notice_days

    @property
    def documents_dir(self) -> str:
        return self.settings.documents_dir

    @property
    def data_dir(self) -> str | None:
        return self.settings.data_dir

    def today(self) -> date:
        """Today in the registry's zone (REGISTRY_TIMEZONE)."""
        return clock.today(self.zone)

    def law(self) -> Law:
        """The current reference law, read once per version."""
        return law_service.current(self.db.connection(), self.laws)

    def cache(self, name: str, factory: Callable[[], T]) -> T:
        """A per-process object a feature keeps across requests (made once, on first use)."""
        with self._lock:
            found = self._caches.get(name)
            if found is None:
                found = self._caches[name] = factory()
            return found  # type: ignore[return-value]
