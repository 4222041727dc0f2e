"""/v1/keys: admins create, list, read and revoke API keys (a token is shown once, at creation)."""

from __future__ import annotations

from datetime import date

from flask import url_for
from flask.views import MethodView

from ..errors import Conflict, NotFound
from ..http.api import Blueprint, location_header
from ..http.auth import current_principal
from ..http.context import actor, page, registry
from ..http.fields import NoArgsSchema, PageArgsSchema
from . import service, store
from .schemas import KeyCreatedSchema, KeyCreateSchema, KeyPageSchema, KeySchema

blp = Blueprint(
    "keys",
    __name__,
    url_prefix="/v1/keys",
    description=(
        "API keys: made and revoked by admins, each token shown once; only its SHA-256 is "
        "stored. A key works until revoked or through its expiry date."
    ),
)


def _etag_data(record: dict) -> dict:
    # A key changes once: when revoked (its last use is no version of it).
    return {"id": record["id"], "revoked_at": record["revoked_at"]}


def _represent(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "seq"}


def _not_found(key_id: str) -> NotFound:
    return NotFound(f"There is no API key {key_id!r}.")


@blp.route("")
class Keys(MethodView):
    @blp.roles("admin")
    @blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, KeyPageSchema)
    def get(self, limit, cursor=None):
        """List API keys, oldest first, never their tokens"""
        rows = store.page(registry().db.connection(), after_seq=int(cursor or 0), limit=limit + 1)
        return page(rows, limit, _represent)

    @blp.roles("admin")
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.arguments(KeyCreateSchema)
    @blp.response(
        201,
        KeyCreatedSchema,
        headers=location_header("key"),
    )
    def post(self, data):
        """Create an API key; the response alone shows its token

        `customer_id` is required for the customer role and refused for any other. An
        `expires_on` must be after today; the key works through that day (the registry's
        day) and is refused (401) from the next. Audited as `key.create`, without the token.
        """
        expires_on = data.get("expires_on")
        record, token = service.create(
            registry().db,
            role=data["role"],
            name=data["name"],
            customer_id=data.get("customer_id"),
            expires_on=date.fromisoformat(expires_on) if expires_on else None,
            today=registry().today(),
            actor=actor(),
        )
        blp.set_etag(_etag_data(record))
        headers = {"Location": url_for(".KeyById", key_id=record["id"])}
        return {**_represent(record), "token": token}, 201, headers


@blp.route("/<string:key_id>")
class KeyById(MethodView):
    @blp.roles("admin")
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, KeySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, key_id):
        """Read an API key, never its token"""
        record = store.get(registry().db.connection(), key_id)
        if record is None:
            raise _not_found(key_id)
        blp.set_etag(_etag_data(record))
        return _represent(record)

    @blp.roles("admin")
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, KeySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, key_id):
        """Revoke an API key: it stops working at once; needs If-Match with its current ETag

        The record stays, with `revoked_at`. A key already revoked is 409, and so is the key
        making the request (revoke it with another admin key, or `registry keys revoke`), so
        that an admin cannot lock itself out by mistake. Audited as `key.revoke`.
        """

        def check(record: dict) -> None:
            blp.check_etag(_etag_data(record))
            if record["revoked_at"] is not None:
                raise Conflict(
                    f"The API key {key_id} was already revoked at {record['revoked_at']}."
                )
            if record["id"] == current_principal().key_id:
                raise Conflict(
                    "This is the key making the request: revoke it with another admin key "
                    "or `registry keys revoke`."
                )

        record = service.revoke_checked(registry().db, key_id, check, actor=actor())
        if record is None:
            raise _not_found(key_id)
        return _represent(record)
