"""Bearer-token authentication and role checks, denying every operation not explicitly opened."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request

from ..errors import Forbidden, Unauthenticated, field_error
from ..roles import ROLES

PUBLIC = "public"
_HOOKS = "registry_auth"
_ROLES_ATTR = "_registry_roles"
_UNMETERED_ATTR = "_registry_unmetered"
_IN_QUERY_ATTR = "_registry_credential_in_query"
# The query parameter a feed reader, which cannot send headers, passes its token in.
IN_QUERY = "token"
# The only role whose token is accepted there.
IN_QUERY_ROLE = "feed"


@dataclass(frozen=True)
class Hooks:
    """What the features lend the HTTP layer, set once by create_app.

    authenticate(registry, token): the token's principal (with .role, .customer_id), or raises
    Unauthenticated with the reason. spend(registry, principal): the rate limiter, answering
    the budget's headers or raising 429. actor(principal): the audit trail's record of a caller.
    """

    authenticate: Callable[[Any, str], Any]
    spend: Callable[[Any, Any], dict]
    actor: Callable[[Any], dict]


def hooks() -> Hooks:
    return current_app.extensions[_HOOKS]


def mark(view, roles) -> None:
    setattr(view, _ROLES_ATTR, roles)


def roles_of(view) -> tuple[str, ...] | str | None:
    return getattr(view, _ROLES_ATTR, None)


def resolve_view():
    """The function that will handle this request's method, under any MethodView."""
    view = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        method = request.method.lower()
        if method == "head":
            method = "get"
        return getattr(view_class, method, None)
    return view


def current_principal():
    return g.principal


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive)."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def query_token(view):
    """Mark an operation that accepts a feed key's token as the `token` query parameter
    (feed readers cannot send headers); every other operation refuses one there."""
    setattr(view, _IN_QUERY_ATTR, True)
    return view


def accepts_query_token(view) -> bool:
    return getattr(view, _IN_QUERY_ATTR, False)


def _refused_query_token(detail: str) -> Unauthenticated:
    # Never the token itself: an answer may be logged or shown.
    return Unauthenticated(detail, errors=[field_error("/" + IN_QUERY, detail, location="query")])


def check_request() -> None:
    """Before every request: find the operation's roles and enforce them (deny by default)."""
    g.principal = None
    if request.endpoint is None or request.method == "OPTIONS":
        return  # routing will answer 404/405 itself
    view = resolve_view()
    if view is None:
        return  # no handler for this method: 405
    roles = roles_of(view)
    if roles is None and request.blueprint == "api-docs":
        roles = PUBLIC
    header = request.headers.get("Authorization", "")
    in_query = IN_QUERY in request.args
    if in_query and not accepts_query_token(view):
        raise _refused_query_token(
            "A token is accepted in the query only by GET /v1/changes.atom, for a feed key; "
            "send it as Authorization: Bearer <token>."
        )
    if roles == PUBLIC and not header:
        return
    if in_query and header:
        raise _refused_query_token("Send the token once: in the header or in the query.")
    if in_query:
        token = request.args.get(IN_QUERY, "").strip() or None
        if token is None:
            raise _refused_query_token("The token query parameter is empty.")
    elif not header:
        raise Unauthenticated("This operation needs an API token: Authorization: Bearer <token>.")
    else:
        token = bearer_token(header)
        if token is None:
            raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    registry = current_app.extensions["registry"]
    principal = g.principal = hooks().authenticate(registry, token)
    if in_query and principal.role != IN_QUERY_ROLE:
        g.principal = None
        raise _refused_query_token(
            "Only a feed key's token is accepted in the query; send this one as "
            "Authorization: Bearer <token>."
        )
    if roles == PUBLIC:
        return
    if not roles or principal.role not in roles:
        raise Forbidden(f"The {principal.role} role may not perform this operation.")
    if not is_unmetered(view):
        g.rate_limit_headers = hooks().spend(registry, principal)


def unmetered(view):
    """Mark an operation that customer and service keys may call without counting against
    their budget (the allowed-processors answer, served from memory at any rate)."""
    setattr(view, _UNMETERED_ATTR, True)
    return view


def is_unmetered(view) -> bool:
    return getattr(view, _UNMETERED_ATTR, False)


def rate_limit_headers(response):
    """After every request: the caller's budget, where it has one."""
    for name, value in (g.get("rate_limit_headers") or {}).items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask, hooks: Hooks) -> None:
    app.extensions[_HOOKS] = hooks
    app.before_request(check_request)
    app.after_request(rate_limit_headers)


__all__ = ["PUBLIC", "ROLES", "Forbidden", "Unauthenticated", "current_principal", "init_app"]
