"""The public sub-processor page, its Atom feed, its world map and stylesheet: no token, HTML,
Atom and SVG (not part of the /v1 JSON API or its spec)."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

from flask import Blueprint, Response, redirect, render_template, request, url_for

from ..customer_projection import words
from ..errors import ValidationFailed, field_error
from ..http import atom, auth
from ..http.context import registry
from ..http.pages import html_security_headers
from ..law import countries, taxonomy
from ..subprocessors.schemas import SERVICES
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
    """The public list of sub-processors, with upcoming changes and how to ask for copies;
    `?country=` and `?service=` narrow it (plain links on the page, no script). The page with
    no filter comes from the fast path; a filter naming a country or service of the register
    is built once per edition too; any other valid filter is rendered for the request."""
    country, offered = _filters()
    if country is None and offered is None:
        return _answer("page", _render_page)
    current = service.current_register(registry())
    if (country is None or country in dict(current.countries())) and (
        offered is None or offered in current.services()
    ):
        chosen = (("country", country), ("service", offered))
        query = "&".join(f"{key}={value}" for key, value in chosen if value)
        return _answer(f"page?{query}", lambda register: _render_page(register, country, offered))
    body, media_type = _render_page(current, country, offered)
    return Response(body, mimetype=media_type, headers={"Cache-Control": CACHE_CONTROL})


def _filters() -> tuple[str | None, str | None]:
    """The page's filters from the query: a country code (any case) and a service, each at
    most once; an empty value is no filter; other parameters are ignored (links carry
    tracking parameters a page should not refuse). 422 for a value that names nothing."""
    errors = []
    found: dict[str, str | None] = {}
    for name in ("country", "service"):
        values = request.args.getlist(name)
        if len(values) > 1:
            errors.append(field_error(f"/{name}", "Give this filter once.", location="query"))
        found[name] = (values[0].strip() or None) if values else None
    country, offered = found["country"], found["service"]
    if country is not None:
        country = country.upper()
        if not countries.is_country(country):
            errors.append(
                field_error(
                    "/country",
                    f"{found['country'][:20]!r} is not an ISO 3166-1 alpha-2 country code.",
                    location="query",
                )
            )
    if offered is not None and offered not in SERVICES:
        errors.append(
            field_error(
                "/service", f"Not a service; one of: {', '.join(SERVICES)}.", location="query"
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return country, offered


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


def _render_page(
    register: Register, country: str | None = None, offered: str | None = None
) -> tuple[bytes, str]:
    html = render_template(
        "subprocessors.html",
        register=register.filtered(country, offered) if country or offered else register,
        full=register,
        country=country,
        country_label=(countries.country_name(country) if country else None),
        service=offered,
        words=words,
        category_name=taxonomy.category_name,
        legend=worldmap.legend(register.subprocessors),
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
