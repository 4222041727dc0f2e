"""The change feed for customers and services: JSON with a cursor, and Atom (RFC 4287)."""

from __future__ import annotations

import hashlib
import json
import re
from xml.etree import ElementTree as ET

from flask import Response, url_for
from flask.views import MethodView

from ..customer_projection import projection
from ..errors import ValidationFailed, field_error
from ..http.api import Blueprint, header_parameter, revalidated
from ..http.auth import current_principal
from ..http.context import cursor, registry
from ..events import service
from .schemas import ChangePageSchema, ChangeQueryArgsSchema
from ..events.service import FEED

blp = Blueprint(
    "changes",
    __name__,
    url_prefix="/v1",
    description="What changed in the register: new sub-processors announced, changed, retired",
)

READERS = ("admin", "procurement", "customer", "service")
ATOM_ENTRIES = 50
ATOM = "http://www.w3.org/2005/Atom"
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
    return current_principal().role == "customer"


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
    if principal.role == "customer":
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
    @blp.roles(*READERS)
    @blp.arguments(ChangeQueryArgsSchema(only=("since",)), location="query", as_kwargs=True)
    @blp.alt_response(
        200,
        description=f"An Atom feed (RFC 4287) of the latest {ATOM_ENTRIES} changes",
        content_type="application/atom+xml",
        success=True,
    )
    @blp.alt_response(304, response="NOT_MODIFIED")
    @blp.doc(parameters=_CONDITIONAL_GET)
    def get(self, since=None):
        """Follow the changes in a feed reader (Atom)"""
        conn = registry().db.connection()
        if since is None:
            rows = service.latest(conn, ATOM_ENTRIES, _audience())
        else:
            _check_cursor(conn, since)
            rows = list(reversed(service.since(conn, since, ATOM_ENTRIES, _audience())))
        return _conditional(_atom(_shown(rows)), "application/atom+xml")


# What XML 1.0 does not allow (controls, surrogates, U+FFFE and U+FFFF), and noncharacters.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """`value` with each character XML 1.0 refuses replaced by U+FFFD: input is checked
    (registry/http/fields.py), but rows stored before that must not break the feed."""
    return _NOT_XML.sub("\ufffd", value)


def _link(endpoint: str, **values) -> str:
    """An absolute link under REGISTRY_PUBLIC_URL, else one relative to the host: never
    built from the request's Host header, which the client chooses."""
    path = url_for(endpoint, **values)
    base = registry().settings.public_url
    return base.rstrip("/") + path if base else path


def _atom(changes: list[dict]) -> bytes:
    """Newest first; ids are stable tag URIs so readers never show an entry twice. Built
    from the items as the caller reads them (a customer's projected), nothing else."""
    ET.register_namespace("", ATOM)

    def el(parent, tag, text=None, **attrs):
        attrs = {name: xml_text(value) for name, value in attrs.items()}
        node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            node.text = xml_text(text)
        return node

    feed = ET.Element(f"{{{ATOM}}}feed")
    el(feed, "id", "tag:transfer-registry,2026:changes")
    el(feed, "title", "Sub-processor changes")
    el(feed, "updated", changes[0]["at"] if changes else "1970-01-01T00:00:00Z")
    el(feed, "link", rel="self", href=_link("changes.ChangesAtom"))
    author = el(feed, "author")
    el(author, "name", "Transfer registry")
    for change in changes:
        record = change["subprocessor"]
        entry = el(feed, "entry")
        el(entry, "id", f"tag:transfer-registry,2026:change:{change['id']}")
        el(entry, "title", _title(change, record))
        el(entry, "updated", change["at"])
        el(entry, "category", term=change["type"])
        el(
            entry,
            "link",
            rel="related",
            href=_link("subprocessors.SubprocessorById", subprocessor_id=record["id"]),
        )
        el(entry, "summary", _summary(change, record))
        el(entry, "content", json.dumps(change, sort_keys=True), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


_REASONS = {
    "law": "a change in the reference law",
    "date": "the date (a decision ending or expiring)",
    "rules": "new rules of evaluation",
}


def _title(change: dict, record: dict) -> str:
    if change["type"].startswith("incident."):
        return f"Personal-data breach at {record['name']} ({change['incident']['status']})"
    verb = change["type"].split(".", 1)[1]
    return f"{record['name']} {verb}"


def _summary(change: dict, record: dict) -> str:
    countries = ", ".join(sorted({loc["country"] for loc in record["locations"]}))
    if change["type"] == "subprocessor.verdict_changed":
        verdict = change["verdict"]
        return (
            f"{record['name']} ({record['service']}, {countries}): verdict "
            f"{verdict['from']['status']} to {verdict['to']['status']} on {change['as_of']}, "
            f"because of {_REASONS[change['reason']]}."
        )
    if change["type"].startswith("incident."):
        incident = change["incident"]
        return (
            f"A personal-data breach at {record['name']}, detected {incident['detected_on']} "
            f"(version {incident['version']}, {incident['status']}): {incident['nature']}"
        )
    if change["type"] == "objection.resolved":
        objection = change["objection"]
        text = f"Your objection to {record['name']} ({objection['change_id']}) was "
        text += f"{objection['status']}."
        return text + (f" Response: {objection['response']}" if objection["response"] else "")
    if change["type"] == "subprocessor.retired":
        verb = "retires" if change["retired_on"] > change["at"][:10] else "retired"
        return f"{record['name']} ({record['service']}) {verb} on {change['retired_on']}."
    if change["type"] == "subprocessor.recorded":
        return (
            f"{record['name']} ({record['service']}, {countries}) recorded as in use since "
            f"{change['effective_on']}."
        )
    changed = ", ".join(sorted(change.get("changes", {})))
    if change["type"] == "subprocessor.changed" and not change.get("pending"):
        return f"{record['name']} ({record['service']}, {countries}) changed: {changed}."
    text = (
        f"{record['name']} ({record['service']}, {countries}) takes effect on "
        f"{change['effective_on']}; objections until {change['objection_deadline']}."
    )
    if change["type"] == "subprocessor.changed":
        text = (
            f"{record['name']} ({record['service']}, {countries}): a change to {changed} "
            f"takes effect on {change['effective_on']}; objections until "
            f"{change['objection_deadline']}."
        )
    return text
