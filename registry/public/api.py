"""The public sub-processor page, its Atom feed, its world map and stylesheet: no token, HTML,
Atom and SVG (not part of the /v1 JSON API or its spec)."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

from flask import Blueprint, Response, redirect, render_template, request, url_for

from ..customer_projection import words
from ..http import atom, auth
from ..http.context import registry
from ..http.pages import html_security_headers
from . import service, worldmap
from .service import Register

blp = Blueprint("public", __name__, template_folder="templates")

CACHE_CONTROL = "public, max-age=300"
STYLESHEET_CACHE_CONTROL = "public, max-age=3600"
# The map is an image: no script runs in it, and its own styles are inline.
MAP_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
MAP_TITLE = "Where sub-processors process data, by transfer mechanism"
FEED_ID = "tag:transfer-registry,2026:public-subprocessors"
STYLESHEET = resources.files(__package__).joinpath("static", "public.css").read_bytes()
STYLESHEET_ETAG = hashlib.sha256(STYLESHEET).hexdigest()[:32]
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def public(view):
    """Anyone may call it without a token (a token sent must be valid: else 401)."""
    auth.mark(view, auth.PUBLIC)
    return view


# Every HTML page the app serves, not only this blueprint's (a page with a policy of its own
# keeps it).
blp.after_app_request(html_security_headers)


def _link(endpoint: str, **values) -> str:
    """An absolute link under REGISTRY_PUBLIC_URL, else one relative to the host: never built
    from the request's Host header, which the client chooses."""
    path = url_for(endpoint, **values)
    base = registry().settings.public_url
    return base.rstrip("/") + path if base else path


def _accepts_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


def _answer(name: str, build: service.Builder, *, headers: dict | None = None) -> Response:
    """The resource from memory, gzip-coded when the client takes it; 304 when the client
    already holds it, answered from the revision alone (nothing is built for it)."""
    current = registry()
    compressed = _accepts_gzip()
    common = {"Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding", **(headers or {})}
    known = service.etag(current, name, service.current_key(current))
    if compressed:
        known = service.gzip_etag(known)
    if request.if_none_match.contains_weak(known):
        return Response(status=304, headers={**common, "ETag": f'"{known}"'})
    found = service.resource(current, name, build)
    response = Response(
        found.gzipped if compressed else found.body,
        mimetype=found.media_type,
        headers={**common, "ETag": f'"{found.etag_for(compressed)}"'},
    )
    if compressed:
        response.headers["Content-Encoding"] = "gzip"
    return response


@blp.get("/")
@public
def home():
    """The site's root is the public page: a temporary redirect (302), so that the root may
    one day serve a page of its own without browsers having kept a permanent one."""
    answer = redirect(url_for("public.subprocessors_page"), code=302)
    answer.headers["Cache-Control"] = CACHE_CONTROL
    return answer


@blp.get("/subprocessors")
@public
def subprocessors_page():
    """The public list of sub-processors, with upcoming changes and how to ask for copies."""
    return _answer("page", _render_page)


@blp.get("/subprocessors/map.svg")
@public
def subprocessors_map():
    """Where data goes, as an SVG world map coloured by mechanism (the page's table is the
    accessible version)."""
    return _answer("map", _render_map, headers={"Content-Security-Policy": MAP_POLICY})


@blp.get("/feeds/subprocessors.atom")
@public
def subprocessors_feed():
    """Material changes customers are told of, as an Atom feed (RFC 4287)."""
    return _answer("feed", _render_feed)


@blp.get("/static/public.css")
@public
def stylesheet():
    """The public pages' stylesheet (screen and print)."""
    headers = {"ETag": f'"{STYLESHEET_ETAG}"', "Cache-Control": STYLESHEET_CACHE_CONTROL}
    if request.if_none_match.contains_weak(STYLESHEET_ETAG):
        return Response(status=304, headers=headers)
    return Response(STYLESHEET, mimetype="text/css", headers=headers)


def _render_page(register: Register) -> tuple[bytes, str]:
    html = render_template(
        "subprocessors.html",
        register=register,
        words=words,
        series=worldmap.SERIES,
        mapped=set(worldmap.countries_by_series(register.subprocessors).values()),
        map_title=MAP_TITLE,
    )
    # The template's block tags leave blank lines; the page has no <pre> they could matter in.
    return _BLANK_LINES.sub("\n", html).encode("utf-8"), "text/html"


def _render_map(register: Register) -> tuple[bytes, str]:
    countries = worldmap.countries_by_series(register.subprocessors)
    return worldmap.render(countries, MAP_TITLE), "image/svg+xml"


def _render_feed(register: Register) -> tuple[bytes, str]:
    page = _link("public.subprocessors_page")
    entries = []
    for change in service.public_changes(registry()):
        entry = service.feed_entry(change, register.law)
        entries.append(
            atom.Entry(
                change_id=entry["id"],
                title=entry["title"],
                updated=entry["updated"],
                category=entry["category"],
                category_label=entry["category_label"],
                link=atom.Link(f"{page}#{entry['subprocessor_id']}", type="text/html"),
                summary=entry["summary"],
            )
        )
    body = atom.document(
        entries,
        feed_id=FEED_ID,
        title="Sub-processors: changes",
        subtitle="New sub-processors, material changes and retirements, with their dates",
        self_link=_link("public.subprocessors_feed"),
        page_link=page,
    )
    return body, "application/atom+xml"
