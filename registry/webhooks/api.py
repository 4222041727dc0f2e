"""Webhook endpoints: customers register them, and so do staff (admin and procurement keys)
for what asks them to act; each one's delivery log."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from ..http.api import Blueprint, location_header
from ..http.auth import current_principal
from ..http.context import actor, own_customer, page, registry
from ..http.fields import NoArgsSchema
from . import service, store
from .schemas import (
    DeliveryPageSchema,
    DeliveryQueryArgsSchema,
    WebhookCreatedSchema,
    WebhookCreateSchema,
    WebhookPageSchema,
    WebhookQueryArgsSchema,
    WebhookRotateSecretSchema,
    WebhookSchema,
    WebhookUpdateSchema,
)

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/v1/webhooks",
    description=(
        "Endpoints that receive every change event, signed per Standard Webhooks, and "
        "the log of each delivery"
    ),
)

# Customers own theirs; staff endpoints belong to the staff role that registered them, and
# admins manage every one. Admins may also see, pause and remove a customer's (an abusive
# target, say), never change it. Procurement keys reach only procurement's staff endpoints.
READERS = ("customer", "admin", "procurement")


def _staff_scope() -> str | None:
    return service.staff_scope(actor())


def _allow_private() -> bool:
    return registry().settings.webhook_allow_private


def _etag_data(record: dict) -> dict:
    # The failure count changes with every attempt, and a rotation's overlap window ends,
    # without a new version of the endpoint.
    return {
        "id": record["id"],
        "version": record["version"],
        "consecutive_failures": record["consecutive_failures"],
        "previous_secret_expires_at": service.represent(record)["previous_secret_expires_at"],
    }


def _precondition(record: dict) -> None:
    blp.check_etag(_etag_data(record))


def _delivery(row: dict) -> dict:
    return {
        **{k: v for k, v in row.items() if k not in ("seq", "message_id")},
        "id": row["message_id"],
        "next_attempt_at": row["next_attempt_at"] if row["status"] == "pending" else None,
    }


@blp.route("")
class Webhooks(MethodView):
    @blp.roles(*READERS)
    @blp.arguments(WebhookQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, WebhookPageSchema)
    def get(self, limit, cursor=None, customer_id=None):
        """List webhook endpoints: a customer's own, or all for admins"""
        own = own_customer()
        if own is not None:
            customer_id = own
        owner_role = _staff_scope()
        if owner_role is not None:
            customer_id = None
        rows = store.page(
            registry().db.connection(),
            after_seq=int(cursor or 0),
            limit=limit + 1,
            customer_id=customer_id,
            owner_role=owner_role,
        )
        service.forget_expired_secrets(registry(), rows)
        return page(rows, limit, service.represent)

    @blp.roles(*READERS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(WebhookCreateSchema)
    @blp.response(
        201,
        WebhookCreatedSchema,
        headers=location_header("endpoint"),
    )
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Register an endpoint; the response alone shows its signing secret

        Every change event the endpoint subscribes to is POSTed to it, signed per Standard
        Webhooks (webhook-id, webhook-timestamp, webhook-signature), until a 2xx answer.
        The URL must be https; its form is checked here, without a DNS lookup, and the
        addresses its host resolves to before every delivery (public ones only: a refused
        target is a failed attempt in the delivery log). A customer holds at most
        `REGISTRY_QUOTA_WEBHOOKS` endpoints (default 20; 409 over it), and its keys make at
        most `REGISTRY_QUOTA_WEBHOOK_CHANGES` webhook writes (create, update, delete,
        rotate-secret) in 24 hours (default 100; 429 with `Retry-After` over it).

        An admin or procurement key registers a staff endpoint (no customer): it may
        subscribe to the public changes and to what asks staff to act
        (`documentation_request.created`, `objection.created`, `evidence.due`,
        `incident.overdue`) and receives the staff payload. A customer's endpoint may not
        subscribe to those (422 at `/events/N`). Staff endpoints share one
        `REGISTRY_QUOTA_WEBHOOKS`; staff writes are not counted.
        """
        principal = current_principal()
        staff = principal.role != "customer"
        record, secret = service.create(
            registry(),
            None if staff else principal.customer_id,
            data,
            actor(),
            allow_private=_allow_private(),
            owner_role=principal.role if staff else None,
        )
        blp.set_etag(_etag_data(record))
        headers = {"Location": url_for(".WebhookById", webhook_id=record["id"])}
        return {**service.represent(record), "secret": secret}, 201, headers


@blp.route("/<string:webhook_id>")
class WebhookById(MethodView):
    @blp.roles(*READERS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, webhook_id):
        """Read an endpoint (never its secret); customers only their own"""
        record = store.get(
            registry().db.connection(), webhook_id, own_customer(), owner_role=_staff_scope()
        )
        service.forget_expired_secrets(registry(), [record])
        blp.set_etag(_etag_data(record))
        return service.represent(record)

    @blp.roles(*READERS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(WebhookUpdateSchema)
    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, changes, webhook_id):
        """Change an endpoint, pause it or resume it; needs If-Match with its current ETag

        `enabled: true` after the endpoint was disabled (by its owner or after repeated
        failure) resets the failure count and makes every undelivered event due at once.
        Only the customer that owns the endpoint changes its `url`, `events` and
        `description`; an admin may send `enabled` alone (pause or resume): any other field
        from an admin is 403, its `errors` naming each one by pointer (`/url`). A staff
        endpoint is changed by any admin key, or by a key of the staff role that
        registered it.
        """
        record = service.update(
            registry(),
            webhook_id,
            own_customer(),
            changes,
            _precondition,
            actor(),
            allow_private=_allow_private(),
        )
        blp.set_etag(_etag_data(record))
        return service.represent(record)

    @blp.roles(*READERS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, webhook_id):
        """Remove an endpoint with its pending deliveries and delivery log

        Needs If-Match with its current ETag.
        """
        service.delete(registry(), webhook_id, own_customer(), _precondition, actor())


@blp.route("/<string:webhook_id>/rotate-secret")
class WebhookSecretRotation(MethodView):
    @blp.roles(*READERS)
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(WebhookRotateSecretSchema, required=False)
    @blp.response(200, WebhookCreatedSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, data, webhook_id):
        """Replace an endpoint's signing secret; the response alone shows the new one

        For `overlap_hours` (default 24, at most 168; 0 for none) every delivery carries
        two signatures, `v1,<new> v1,<replaced>`, so the receiver can switch secrets
        without rejecting a webhook; then the replaced secret is deleted. Rotating again
        within that window drops the secret it still honoured: at most two sign at once.
        Only the endpoint's owner rotates its secret: the customer, or for a staff endpoint
        an admin key or a key of the role that registered it (an admin on a customer's
        endpoint: 403).
        """
        record, secret = service.rotate_secret(
            registry(),
            webhook_id,
            own_customer(),
            data.get("overlap_hours", service.DEFAULT_OVERLAP_HOURS),
            actor(),
        )
        blp.set_etag(_etag_data(record))
        return {**service.represent(record), "secret": secret}


@blp.route("/<string:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @blp.roles(*READERS)
    @blp.arguments(DeliveryQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, DeliveryPageSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, webhook_id, limit, cursor=None, status=None):
        """Read an endpoint's delivery log, oldest first: each event's status and attempts"""
        conn = registry().db.connection()
        store.get(conn, webhook_id, own_customer(), owner_role=_staff_scope())
        rows = store.deliveries(
            conn, webhook_id, after_seq=int(cursor or 0), limit=limit + 1, status=status
        )
        return page(rows, limit, _delivery)
