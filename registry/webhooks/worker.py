# Not Celery or RQ: deliveries are rows leased in the registry's own SQLite file, so no broker.
"""The webhook worker: claims due deliveries, POSTs them signed, records each attempt's outcome."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import timedelta

from .. import clock
from ..audit import service as audit
from ..customer_projection import projection
from ..db.store import Database
from ..law import service as law_service
from ..settings import Settings
from . import outbound, store

log = logging.getLogger(__name__)

WORKER_ACTOR = audit.actor(name="registry worker")
BACKOFF_CAP = 3600.0


def attempt_deadline(settings: Settings) -> float:
    """Seconds one attempt may take, lookup and POST together.

    They stay well inside the lease, so no other worker retries a delivery still being sent.
    """
    return min(outbound.TOTAL_TIMEOUT, settings.webhook_lease / 3)


def resolve_deadline(settings: Settings) -> float:
    return min(outbound.RESOLVE_TIMEOUT, settings.webhook_lease / 3)


class Worker:
    """Delivers webhooks from one database; several may run side by side."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        batch: int = 20,
        jitter: Callable[[], float] = random.random,
        resolve: Callable[..., outbound.Target] = outbound.resolve,
        post: Callable[..., outbound.Outcome] = outbound.post,
    ):
        self.db = database
        self.settings = settings
        self.batch = batch  # endpoints served per claim
        self.jitter = jitter
        self.resolve = resolve
        self.post = post
        self._laws: dict = {}  # the reference law by version, read once each
        self._pool = ThreadPoolExecutor(batch, thread_name_prefix="webhook")

    def step(self) -> int:
        """Claim what is due, deliver it and record the outcomes; the number of attempts."""
        now = clock.now()
        with self.db.write() as tx:
            # Every round, due work or not: a replaced secret is gone once its window ends.
            store.drop_expired_secrets(tx, now)
            claimed = store.claim(
                tx,
                now=now,
                lease_until=now + timedelta(seconds=self.settings.webhook_lease),
                limit=self.batch,
            )
        if len(claimed) == 1:
            self.record(claimed[0], self.attempt(claimed[0]))
            return 1
        # Side by side, so a slow endpoint holds up no other within the lease; outcomes are
        # recorded here, on this thread's connection, as they come in.
        futures = {self._pool.submit(self.attempt, delivery): delivery for delivery in claimed}
        for future in as_completed(futures):
            self.record(futures[future], future.result())
        return len(claimed)

    def run(
        self,
        stop: threading.Event,
        *,
        poll_interval: float = 1.0,
        once: bool = False,
        tick: Callable[[], object] | None = None,
    ) -> int:
        """Deliver until `stop` is set (or, with `once`, until nothing is due); attempts made.

        `tick`, when given, runs before each round (the daily sweep of verdicts, which may
        queue events for this very round).
        """
        total = 0
        while not stop.is_set():
            try:
                if tick is not None:
                    tick()
                made = self.step()
            except Exception:
                # Nothing here may end the worker that `make run` leaves in the background;
                # an attempt cut short this way is retried when its lease ends.
                log.exception("webhook delivery round failed")
                made = 0
            total += made
            if made:
                continue
            if once:
                break
            stop.wait(poll_interval)
        self._pool.shutdown()
        return total

    def attempt(self, delivery: dict) -> outbound.Outcome:
        """One signed POST, to an address checked just now (the name may point elsewhere).

        This is where a name is looked up and its addresses checked: registration checks
        the URL's form only. A refused or unresolvable target is a failed attempt whose
        error says why, counted like any other towards disabling the endpoint.
        """
        try:
            target = self.resolve(
                delivery["url"],
                allow_private=self.settings.webhook_allow_private,
                ports=self.settings.webhook_port_set,
                timeout=resolve_deadline(self.settings),
            )
        except outbound.UnsafeTarget as exc:
            return outbound.Outcome(None, f"refused: {exc}", 0)
        body = outbound.event_body(self.payload(delivery))
        timestamp = int(clock.now().timestamp())
        headers = outbound.signed_headers(
            delivery["secrets"], delivery["message_id"], timestamp, body
        )
        return self.post(target, body, headers, total_timeout=attempt_deadline(self.settings))

    def payload(self, delivery: dict) -> dict:
        """The change a delivery sends: to a customer's endpoint, its data as the customer
        projection shows it (compliance/projection.py), judged with today's law."""
        change = delivery["change"]
        if delivery.get("customer_id") is None:
            return change
        law = law_service.current(self.db.connection(), self._laws)
        today = clock.today(self.settings.zone)
        return {
            **change,
            "data": projection.change_data(change["type"], change["data"], law, today),
        }

    def record(self, delivery: dict, outcome: outbound.Outcome) -> None:
        """Log the attempt and decide what follows: done, a retry later, or the endpoint off."""
        now = clock.now()
        seq, attempt, webhook_id = (
            delivery["delivery_seq"],
            delivery["attempt"],
            delivery["webhook_id"],
        )
        with self.db.write() as tx:
            state = store.delivery_state(tx, seq)
            if state is None:
                return  # the endpoint was deleted meanwhile, its log with it
            store.save_attempt(
                tx,
                seq,
                attempt,
                at=delivery["started_at"],
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
            status, attempts = state
            endpoint_status, failures = store.endpoint_state(tx, webhook_id)
            if outcome.delivered:
                if status == "pending":
                    store.mark_delivered(tx, seq, at=now, status_code=outcome.status_code)
                    self._trim(tx, webhook_id)
                store.endpoint_succeeded(tx, webhook_id)
                log.info("delivered %s to %s (%s)", delivery["message_id"], webhook_id, attempt)
                return
            log.info(
                "attempt %s of %s to %s failed: %s",
                attempt,
                delivery["message_id"],
                webhook_id,
                outcome.error or outcome.status_code,
            )
            # A newer claim of the same delivery (this one outlived its lease) owns its schedule.
            if status == "pending" and attempts == attempt:
                self._retry_or_fail(tx, delivery, outcome, now)
            if endpoint_status == "enabled":
                self._endpoint_failed(tx, webhook_id, failures + 1, outcome, now)

    def _retry_or_fail(self, tx, delivery: dict, outcome: outbound.Outcome, now) -> None:
        """A failed attempt: another one later, or the delivery failed after the last."""
        seq, attempt = delivery["delivery_seq"], delivery["attempt"]
        if attempt >= self.settings.webhook_max_attempts:
            store.mark_failed(tx, seq, status_code=outcome.status_code, error=outcome.error)
            self._trim(tx, delivery["webhook_id"])
            return
        delay = self._delay(attempt, outcome)
        store.reschedule(
            tx,
            seq,
            at=now + timedelta(seconds=delay),
            status_code=outcome.status_code,
            error=outcome.error,
        )

    def _endpoint_failed(
        self, tx, webhook_id: str, failures: int, outcome: outbound.Outcome, now
    ) -> None:
        """One more failure in a row: the endpoint waits before its next attempt, or is
        disabled (410 Gone, or REGISTRY_WEBHOOK_MAX_FAILURES in a row)."""
        settings = self.settings
        reason = None
        if outcome.status_code == 410:
            reason = "The endpoint answered 410 Gone."
        elif failures >= settings.webhook_max_failures:
            last = outcome.error or f"HTTP {outcome.status_code}"
            reason = f"{failures} attempts in a row failed; the last: {last}."
        if reason is None:
            delay = self._delay(failures, outcome)
            store.endpoint_failed(
                tx, webhook_id, failures=failures, retry_at=now + timedelta(seconds=delay)
            )
            return
        store.disable(tx, webhook_id, reason=reason, failures=failures)
        audit.append(
            tx,
            WORKER_ACTOR,
            "webhook.disable",
            "webhook",
            webhook_id,
            {"reason": reason, "consecutive_failures": failures},
        )
        log.warning("disabled webhook %s: %s", webhook_id, reason)

    def _trim(self, tx, webhook_id: str) -> None:
        """A delivery just finished: keep the endpoint's log to REGISTRY_WEBHOOK_LOG_LIMIT
        finished deliveries, so churn cannot pile up rows until the retention purge."""
        if self.settings.webhook_log_limit:
            store.trim_log(tx, webhook_id, self.settings.webhook_log_limit)

    def _delay(self, failures: int, outcome: outbound.Outcome) -> float:
        delay = outbound.backoff(
            failures, base=self.settings.webhook_backoff, cap=BACKOFF_CAP, jitter=self.jitter()
        )
        if outcome.retry_after is not None:
            # The receiver asked for a pause (429, 503): honour it, within the cap.
            delay = max(delay, min(outcome.retry_after, BACKOFF_CAP))
        return delay
