"""Quotas on what a customer's keys can make the registry store, and the problem over one.

Two kinds, two statuses, chosen so that a client's reaction is the right one:

- a standing quota (webhooks registered, objections open, documentation requests open) is
  409 Conflict: waiting does not help, the customer must first remove one (delete a webhook,
  withdraw an objection) or wait for staff to fulfil its open requests; no Retry-After.
- a quota per 24 hours (documentation requests made, webhook changes) is 429 Too Many
  Requests with `Retry-After`: the seconds until the oldest write counted leaves the window.

Either way the body is problem+json whose `errors` hold one entry at the pointer "" (the
request as a whole: no field of it is at fault), naming the setting that sets the quota.
A quota of 0 is no quota.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from ..errors import RegistryError, field_error

WINDOW = timedelta(hours=24)


class QuotaExceeded(RegistryError):
    """409 over a standing quota, 429 with Retry-After over a quota per 24 hours."""

    def __init__(self, detail: str, *, retry_after: int | None = None):
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        super().__init__(detail, errors=[field_error("", detail)], headers=headers)
        self.status = 409 if retry_after is None else 429


def check_held(held: int, limit: int, *, what: str, setting: str, remedy: str) -> None:
    """Refuse (409) one more of `what` when a customer already holds `limit` of them."""
    if limit and held >= limit:
        raise QuotaExceeded(
            f"A customer may hold at most {limit} {what} (REGISTRY_{setting}); it holds "
            f"{held}. {remedy}"
        )


def since(now: datetime) -> datetime:
    """The start of the 24 hours a quota per day counts."""
    return now - WINDOW


def check_recent(
    times: Sequence[str], limit: int, now: datetime, *, what: str, setting: str
) -> None:
    """Refuse (429) one more of `what` when `times`, the stored timestamps of the customer's
    writes of them in the last 24 hours, already number `limit`; Retry-After says when the
    one that must leave the window first does."""
    if not limit or len(times) < limit:
        return
    # The write that must leave the window before one more fits: the limit-th newest.
    leaving = datetime.fromisoformat(sorted(times, reverse=True)[limit - 1])
    retry_after = max(1, math.ceil((leaving + WINDOW - now).total_seconds()))
    raise QuotaExceeded(
        f"A customer may make at most {limit} {what} in 24 hours (REGISTRY_{setting}); "
        f"try again in {retry_after} s.",
        retry_after=retry_after,
    )
