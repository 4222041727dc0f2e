"""Webhook endpoints as customers manage them: checked targets, writes and their audit entries."""

from __future__ import annotations

from datetime import timedelta

from .. import clock
from ..audit import service as audit
from ..changes.schemas import CHANGE_TYPES
from ..errors import Forbidden, ValidationFailed, field_error
from ..events.service import STAFF_ONLY_TYPES
from ..http import quotas
from ..runtime import Registry
from . import outbound, store

# Each change is queued once per subscribed endpoint, so endpoints per customer are bounded
# (REGISTRY_QUOTA_WEBHOOKS), and so are a customer's writes to them, each of which the audit
# trail keeps for ever (REGISTRY_QUOTA_WEBHOOK_CHANGES in 24 hours).
CUSTOMER_WRITES = ("webhook.create", "webhook.update", "webhook.delete", "webhook.rotate_secret")
_AUDITED = ("url", "events", "description", "enabled")
# How long a replaced secret keeps signing beside the new one, unless the rotation says.
DEFAULT_OVERLAP_HOURS = 24
MAX_OVERLAP_HOURS = 7 * 24

# The staff roles that register staff endpoints (no customer): each such endpoint belongs to
# the role that registered it; admin keys manage every staff endpoint.
STAFF_OWNERS = ("admin", "procurement")
# Changes recorded for one customer alone: never a staff endpoint's (staff read them in the
# feed).
_CUSTOMER_ALONE = (
    "objection.resolved",
    "incident.reported",
    "incident.updated",
    "documentation_request.fulfilled",
)
# A customer's endpoint: every change a customer may read.
CUSTOMER_EVENT_TYPES = tuple(t for t in CHANGE_TYPES if t not in STAFF_ONLY_TYPES)
# A staff endpoint: the public changes and the staff-only ones (what asks staff to act).
STAFF_EVENT_TYPES = tuple(t for t in CHANGE_TYPES if t not in _CUSTOMER_ALONE)


def check_events(events: list[str], *, staff: bool) -> None:
    """422 at /events/N for each type this kind of endpoint may not receive."""
    allowed = STAFF_EVENT_TYPES if staff else CUSTOMER_EVENT_TYPES
    whose = "a staff endpoint" if staff else "a customer's endpoint"
    refused = [
        field_error(f"/events/{index}", f"{event!r} is not sent to {whose}.")
        for index, event in enumerate(events)
        if event != outbound.ALL_EVENTS and event not in allowed
    ]
    if refused:
        raise ValidationFailed(refused)


def check_url(url: str, *, allow_private: bool, ports: frozenset[int] = frozenset()) -> None:
    """422 at /url unless the URL's form is one the worker may send to.

    No lookup: a request never waits on DNS. The host's addresses are checked by the
    worker before every attempt, where a refusal is a failed attempt saying why.
    """
    try:
        outbound.parse_url(url, allow_private=allow_private, ports=ports)
    except outbound.UnsafeTarget as exc:
        raise ValidationFailed([field_error("/url", str(exc))]) from None


def _previous_secret_expires_at(record: dict) -> str | None:
    """When the replaced secret stops signing; None when there is none, or no longer."""
    expires = record["previous_secret_expires_at"]
    return expires if expires is not None and expires > clock.timestamp() else None


def represent(record: dict) -> dict:
    return {
        **record,
        "enabled": record["status"] == "enabled",
        "secret_created_at": record["secret_created_at"] or record["created_at"],
        "previous_secret_expires_at": _previous_secret_expires_at(record),
    }


def forget_expired_secrets(registry: Registry, records: list[dict]) -> None:
    """Remove replaced secrets whose window has ended, if `records` show one.

    The worker removes them every round; this catches them when no worker runs. A read
    writes only when there is something to remove.
    """
    now = clock.timestamp()
    if any(
        r["previous_secret_expires_at"] and r["previous_secret_expires_at"] <= now for r in records
    ):
        with registry.db.write() as tx:
            store.drop_expired_secrets(tx, clock.now())


def check_write_quota(registry: Registry, conn, actor: dict) -> None:
    """429 when a customer's keys already made REGISTRY_QUOTA_WEBHOOK_CHANGES webhook writes
    in the last 24 hours (as the audit trail counts them); staff writes are not counted."""
    if actor.get("role") != "customer" or not actor.get("customer_id"):
        return
    now = clock.now()
    quotas.check_recent(
        audit.recent_by_customer(
            conn, actor["customer_id"], CUSTOMER_WRITES, clock.timestamp(quotas.since(now))
        ),
        registry.settings.quota_webhook_changes,
        now,
        what="webhook writes (create, update, delete, rotate-secret)",
        setting="QUOTA_WEBHOOK_CHANGES",
    )


def _audited(record: dict) -> dict:
    return {field: represent(record)[field] for field in _AUDITED}


def create(
    registry: Registry,
    customer_id: str | None,
    data: dict,
    actor: dict,
    *,
    allow_private: bool,
    owner_role: str | None = None,
) -> tuple[dict, str]:
    """Register an endpoint, a customer's (`customer_id`) or a staff one (`owner_role`);
    returns it and its secret, which is not shown again. Staff endpoints share one quota."""
    if (customer_id is None) == (owner_role is None) or owner_role not in (None, *STAFF_OWNERS):
        raise ValueError("an endpoint is a customer's or a staff role's")
    check_events(data["events"], staff=owner_role is not None)
    check_url(data["url"], allow_private=allow_private, ports=registry.settings.webhook_port_set)
    secret = outbound.new_secret()
    with registry.db.write() as tx:
        quotas.check_held(
            store.count(tx.conn, customer_id),
            registry.settings.quota_webhooks,
            what="webhooks",
            setting="QUOTA_WEBHOOKS",
            remedy="Delete one, or widen the events of another.",
        )
        check_write_quota(registry, tx.conn, actor)
        record = store.create(
            tx,
            customer_id=customer_id,
            url=data["url"],
            events=data["events"],
            description=data.get("description"),
            secret=secret,
            owner_role=owner_role,
        )
        # The secret stays out of the trail: the trail is read by auditors, not customers.
        audit.append(tx, actor, "webhook.create", "webhook", record["id"], _audited(record))
    return record, secret


def staff_scope(actor: dict) -> str | None:
    """The staff role whose endpoints alone a caller reaches: procurement keys reach the
    staff endpoints procurement registered; admins (None) reach every endpoint."""
    return "procurement" if actor.get("role") == "procurement" else None


# What a caller who does not own an endpoint may change: pause it or resume it.
NOT_OWNER_MAY_CHANGE = ("enabled",)


def owns(actor: dict, record: dict) -> bool:
    """Whether the caller owns the endpoint: the customer it belongs to; for a staff
    endpoint, any admin key, or a key of the staff role that registered it."""
    role = actor.get("role")
    if record["customer_id"] is None:
        return role == "admin" or (role is not None and role == record["owner_role"])
    return role == "customer" and actor.get("customer_id") == record["customer_id"]


def check_owner_only(record: dict, changes, actor: dict) -> None:
    """403 naming each field of `changes` that only the endpoint's owner may change (its
    url, events, description, secret), when the caller is not that owner."""
    if owns(actor, record):
        return
    refused = [field for field in changes if field not in NOT_OWNER_MAY_CHANGE]
    if refused:
        raise Forbidden(
            "Only the customer that owns a webhook changes its "
            f"{', '.join(refused)}; staff may read, pause, resume or delete it.",
            errors=[
                field_error(
                    f"/{field}",
                    f"{field} is the owner's to change: only `enabled` may be sent here.",
                )
                for field in refused
            ],
        )


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
    """Apply `changes` after `check_version(record)` accepted the caller's precondition.

    Only the customer that owns the endpoint changes where it points, what it receives and
    how it is described; anyone else allowed to reach it (an admin) may only pause or
    resume it (`enabled`): 403 naming each other field.
    """
    with registry.db.write() as tx:
        current = store.get(tx.conn, webhook_id, customer_id, owner_role=staff_scope(actor))
        check_owner_only(current, changes, actor)
        if "events" in changes:
            check_events(changes["events"], staff=current["customer_id"] is None)
        if "url" in changes:
            check_url(
                changes["url"],
                allow_private=allow_private,
                ports=registry.settings.webhook_port_set,
            )
        check_version(current)
        before = _audited(current)
        wanted = {**before, **changes}
        if wanted == before:
            return current  # nothing to change: no new version
        check_write_quota(registry, tx.conn, actor)
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
        current = store.get(tx.conn, webhook_id, customer_id, owner_role=staff_scope(actor))
        check_version(current)
        check_write_quota(registry, tx.conn, actor)
        store.delete(tx, webhook_id)
        audit.append(tx, actor, "webhook.delete", "webhook", webhook_id, _audited(current))


def _secret_state(record: dict) -> dict:
    shown = represent(record)
    return {k: shown[k] for k in ("secret_created_at", "previous_secret_expires_at")}


def rotate_secret(
    registry: Registry,
    webhook_id: str,
    customer_id: str | None,
    overlap_hours: int,
    actor: dict,
) -> tuple[dict, str]:
    """Give an endpoint a new secret; returns it and the secret, which is not shown again.

    The replaced secret keeps signing beside the new one for `overlap_hours` (none: it
    stops at once). A secret that an earlier rotation left valid is dropped: at most two
    sign at any time, the newest and the one it replaced.
    """
    secret = outbound.new_secret()
    now = clock.now()
    expires = clock.timestamp(now + timedelta(hours=overlap_hours)) if overlap_hours else None
    with registry.db.write() as tx:
        store.drop_expired_secrets(tx, now)
        current = store.get(tx.conn, webhook_id, customer_id, owner_role=staff_scope(actor))
        check_owner_only(current, {"secret": None}, actor)
        check_write_quota(registry, tx.conn, actor)
        before = _secret_state(current)
        record = store.rotate_secret(tx, webhook_id, secret, previous_expires_at=expires)
        # The secrets stay out of the trail: what changed is when, and for how long.
        change = {
            "overlap_hours": overlap_hours,
            "previous_secret_dropped": before["previous_secret_expires_at"] is not None,
            **audit.changed_fields(before, _secret_state(record)),
        }
        audit.append(tx, actor, "webhook.rotate_secret", "webhook", webhook_id, change)
    return record, secret


def erase_customer(tx, customer_id: str) -> dict:
    """Delete a customer's endpoints with their secrets, deliveries and delivery logs, in the
    caller's write transaction. Returns `webhook_ids` and the counts deleted."""
    webhook_ids = store.customer_webhook_ids(tx.conn, customer_id)
    deliveries, attempts = store.count_log(tx.conn, webhook_ids) if webhook_ids else (0, 0)
    for webhook_id in webhook_ids:
        store.delete(tx, webhook_id)
    return {
        "webhook_ids": webhook_ids,
        "webhooks": len(webhook_ids),
        "webhook_deliveries": deliveries,
        "webhook_attempts": attempts,
    }


def customer_webhook_ids(conn, customer_id: str) -> list[str]:
    return store.customer_webhook_ids(conn, customer_id)


def purge_log_before(tx, before: str, *, dry_run: bool = False) -> dict:
    """Retention: delete the delivery log older than `before` (a UTC timestamp): attempts made
    before it, and deliveries delivered or given up before it. Pending ones stay."""
    return store.purge_log_before(tx, before, dry_run=dry_run)
