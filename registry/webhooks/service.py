"""Webhook endpoints as customers manage them: checked targets, writes and their audit entries."""

from __future__ import annotations

from .. import clock
from ..audit import service as audit
from ..http.problems import Conflict, ValidationFailed, field_error
from ..runtime import Registry
from . import outbound, store

# Each change is queued once per subscribed endpoint, so endpoints per customer are bounded.
MAX_PER_CUSTOMER = 20
_AUDITED = ("url", "events", "description", "enabled")


def check_url(url: str, *, allow_private: bool, ports: frozenset[int] = frozenset()) -> None:
    """422 at /url unless the URL is one the worker would send to right now."""
    try:
        outbound.resolve(url, allow_private=allow_private, ports=ports)
    except outbound.UnsafeTarget as exc:
        raise ValidationFailed([field_error("/url", str(exc))]) from None


def represent(record: dict) -> dict:
    return {**record, "enabled": record["status"] == "enabled"}


def _audited(record: dict) -> dict:
    return {field: represent(record)[field] for field in _AUDITED}


def create(
    registry: Registry, customer_id: str, data: dict, actor: dict, *, allow_private: bool
) -> tuple[dict, str]:
    """Register an endpoint; returns it and its secret, which is not shown again."""
    check_url(data["url"], allow_private=allow_private, ports=registry.settings.webhook_port_set)
    secret = outbound.new_secret()
    with registry.db.write() as tx:
        if store.count(tx.conn, customer_id) >= MAX_PER_CUSTOMER:
            raise Conflict(
                f"A customer may register at most {MAX_PER_CUSTOMER} webhooks; "
                "delete one or widen the events of another."
            )
        record = store.create(
            tx,
            customer_id=customer_id,
            url=data["url"],
            events=data["events"],
            description=data.get("description"),
            secret=secret,
        )
        # The secret stays out of the trail: the trail is read by auditors, not customers.
        audit.append(tx, actor, "webhook.create", "webhook", record["id"], _audited(record))
    return record, secret


def update(
    registry: Registry,
    webhook_id: str,
    customer_id: str | None,
    changes: dict,
    check_version,
    actor: dict,
    *,
    allow_private: bool,
) -> dict:
    """Apply `changes` after `check_version(record)` accepted the caller's precondition."""
    if "url" in changes:
        check_url(
            changes["url"], allow_private=allow_private, ports=registry.settings.webhook_port_set
        )
    with registry.db.write() as tx:
        current = store.get(tx.conn, webhook_id, customer_id)
        check_version(current)
        before = _audited(current)
        wanted = {**before, **changes}
        if wanted == before:
            return current  # nothing to change: no new version
        values = {k: changes[k] for k in ("url", "events", "description") if k in changes}
        resume = wanted["enabled"] and (not before["enabled"] or wanted["url"] != before["url"])
        if not wanted["enabled"] and before["enabled"]:
            values["status"] = "disabled"
            values["disabled_reason"] = f"Disabled through the API by the {actor['role']}."
        record = store.update(tx, webhook_id, values)
        if resume:
            # Re-enabled, or pointed elsewhere: earlier failures say nothing about it now.
            store.enable(tx, webhook_id, clock.now())
            record = store.get(tx.conn, webhook_id)
        diff = audit.changed_fields(before, _audited(record))
        audit.append(tx, actor, "webhook.update", "webhook", webhook_id, diff)
    return record


def delete(
    registry: Registry, webhook_id: str, customer_id: str | None, check_version, actor: dict
) -> None:
    """Remove an endpoint with its pending deliveries and its delivery log."""
    with registry.db.write() as tx:
        current = store.get(tx.conn, webhook_id, customer_id)
        check_version(current)
        store.delete(tx, webhook_id)
        audit.append(tx, actor, "webhook.delete", "webhook", webhook_id, _audited(current))
