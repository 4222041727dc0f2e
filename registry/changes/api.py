"""The change feed for customers and services: JSON with a cursor, and Atom (RFC 4287)."""

from __future__ import annotations

import hashlib
import json

from flask import Response, url_for
from flask.views import MethodView

from ..customer_projection import projection, wording
from ..errors import ValidationFailed, field_error
from ..events import service
from ..events.service import FEED
from ..http import atom
from ..http.api import Blueprint, header_parameter, revalidated
from ..http.auth import current_principal, query_token
from ..http.context import cursor, registry
from ..roles import CUSTOMER_ROLES
from .schemas import ChangeAtomArgsSchema, ChangePageSchema, ChangeQueryArgsSchema

blp = Blueprint(
    "changes",
    __name__,
    url_prefix="/v1",
    description="What changed in the register: new sub-processors announced, changed, retired",
)

READERS = ("admin", "procurement", "customer", "service")
# A feed key reads its customer's Atom feed and nothing else (not even the JSON feed: a
# token that may travel in a URL opens as little as it can).
ATOM_READERS = (*READERS, "feed")
ATOM_ENTRIES = 50
_CONDITIONAL_GET = [
    header_parameter("If-None-Match", "The ETag of an earlier answer: 304 when nothing changed")
]


def _change(row: dict) -> dict:
    data = row["data"]
    return {
        "id": row["id"],
        "cursor": cursor(row["seq"], FEED),
        "type": row["type"],
        "at": row["at"],
        "subprocessor_id": row["subprocessor_id"],
        "version": row["version"],
        "material": row["material"],
        **data,
    }


def _customer() -> bool:
    return current_principal().role in CUSTOMER_ROLES


def _shown(rows: list[dict]) -> list[dict]:
    """The feed's items as the caller reads them: a customer's through the customer
    projection (customer_projection/projection.py), judged with today's law."""
    changes = [_change(row) for row in rows]
    if not _customer():
        return changes
    reg = registry()
    law, today = reg.law(), reg.today()
    projected = (projection.change(change, law, today) for change in changes)
    return [change for change in projected if change is not None]


def _audience() -> str | None:
    """Whose changes the caller sees: staff all, a customer its own too, a service none."""
    principal = current_principal()
    if principal.role in CUSTOMER_ROLES:
        return principal.customer_id
    return service.PUBLIC_ONLY if principal.role == "service" else None


def _check_cursor(conn, after: int) -> None:
    """A cursor past the feed's end was never handed out; following it would skip events."""
    if after > service.head(conn):
        raise ValidationFailed(
            [
                field_error(
                    "/since", "This cursor is ahead of the feed; not one it gave.", location="query"
                )
            ]
        )


def _conditional(body: bytes, media_type: str) -> Response:
    """A strong ETag over the body, 304 when the client already has it."""
    return revalidated(body, hashlib.sha256(body).hexdigest()[:40], media_type)


@blp.route("/changes")
class Changes(MethodView):
    @blp.roles(*READERS)
    @blp.arguments(ChangeQueryArgsSchema, location="query", as_kwargs=True)
    @blp.alt_response(
        200, schema=ChangePageSchema, success=True, description="Changes, oldest first"
    )
    @blp.alt_response(304, response="NOT_MODIFIED")
    @blp.doc(parameters=_CONDITIONAL_GET)
    def get(self, limit, since=None):
        """Read the changes after a cursor, oldest first; poll with `next_cursor`"""
        after = since or 0
        conn = registry().db.connection()
        _check_cursor(conn, after)
        rows = service.since(conn, after, limit, _audience())
        next_cursor = cursor(rows[-1]["seq"] if rows else after, FEED)
        body = {"items": _shown(rows), "next_cursor": next_cursor}
        return _conditional(
            json.dumps(ChangePageSchema().dump(body), separators=(",", ":")).encode(),
            "application/json",
        )


@blp.route("/changes.atom")
class ChangesAtom(MethodView):
    @blp.roles(*ATOM_READERS)
    @query_token
    @blp.arguments(ChangeAtomArgsSchema, location="query", as_kwargs=True)
    @blp.alt_response(
        200,
        description=f"An Atom feed (RFC 4287) of the latest {ATOM_ENTRIES} changes",
        content_type="application/atom+xml",
        success=True,
    )
    @blp.alt_response(304, response="NOT_MODIFIED")
    @blp.doc(parameters=_CONDITIONAL_GET)
    def get(self, since=None, token=None):
        """Follow the changes in a feed reader (Atom)

        A feed key (role `feed`, bound to one customer) reads this feed, that customer's, and
        no other operation. A feed reader that cannot send headers passes the feed key's
        token as `?token=`; no other role's token, and no other operation, is accepted so
        (401). The token is never logged (the access log shows `token=[redacted]`).
        """
        conn = registry().db.connection()
        if since is None:
            rows = service.latest(conn, ATOM_ENTRIES, _audience())
        else:
            _check_cursor(conn, since)
            rows = list(reversed(service.since(conn, since, ATOM_ENTRIES, _audience())))
        return _conditional(_atom(_shown(rows)), "application/atom+xml")


def _link(endpoint: str, **values) -> str:
    """An absolute link under REGISTRY_PUBLIC_URL, else one relative to the host: never
    built from the request's Host header, which the client chooses."""
    path = url_for(endpoint, **values)
    base = registry().settings.public_url
    return base.rstrip("/") + path if base else path


def _atom(changes: list[dict]) -> bytes:
    """Newest first; ids are stable tag URIs so readers never show an entry twice. Built
    from the items as the caller reads them (a customer's projected), nothing else, in the
    words of customer_projection/wording.py."""
    entries = [
        atom.Entry(
            change_id=change["id"],
            title=wording.title(change),
            updated=change["at"],
            category=change["type"],
            category_label=wording.LABELS.get(change["type"]),
            link=atom.Link(
                _link(
                    "subprocessors.SubprocessorById", subprocessor_id=change["subprocessor"]["id"]
                ),
                rel="related",
            ),
            summary=wording.summary(change, wording.countries(change["subprocessor"])),
            content=json.dumps(change, sort_keys=True),
        )
        for change in changes
    ]
    return atom.document(
        entries,
        feed_id="tag:transfer-registry,2026:changes",
        title="Sub-processor changes",
        self_link=_link("changes.ChangesAtom"),
    )
