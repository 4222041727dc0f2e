"""/docs: Swagger UI from files the registry serves itself (flask-swagger-ui's copy), no CDN."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from flask import Blueprint, Response, abort, current_app, render_template_string, request, url_for

from . import auth
from .pages import html_security_headers

# The page loads nothing from anywhere else and runs no inline script: Swagger UI starts from
# docs.js. Its inline styles are set from script (through the DOM, which a policy allows),
# so styles need no 'unsafe-inline' either. Calls made with "Try it out" go to the registry.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)

# Swagger UI's own files (from the flask-swagger-ui package) and the registry's, by URL name.
VENDOR_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")
OWN_FILES = ("docs.js", "docs.css")
MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
}
# The URL holds the assets' digest: a cached copy can never be stale, so keep it a year.
IMMUTABLE = "public, max-age=31536000, immutable"
COMPRESSED_TYPES = (".css", ".js")

blp = Blueprint("docs", __name__)


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def _read(name: str) -> bytes:
    if name in VENDOR_FILES:
        return (resources.files("flask_swagger_ui") / "dist" / name).read_bytes()
    return (resources.files(__package__) / name).read_bytes()


@cache
def swagger_ui_version() -> str:
    """The version of the Swagger UI files shipped, as their package records it."""
    version = (resources.files("flask_swagger_ui") / "dist" / "VERSION").read_text()
    return version.strip().removeprefix("v")


@cache
def assets() -> tuple[str, dict[str, Asset]]:
    """The key that names this set of files in URLs, and each file, read once per process."""
    found = {}
    whole = hashlib.sha256()
    for name in (*VENDOR_FILES, *OWN_FILES):
        body = _read(name)
        digest = hashlib.sha256(body).hexdigest()[:16]
        whole.update(f"{name}:{digest}\n".encode())
        suffix = name[name.rindex(".") :]
        gzipped = gzip.compress(body, mtime=0) if suffix in COMPRESSED_TYPES else None
        found[name] = Asset(body, gzipped, MEDIA_TYPES[suffix], digest)
    return f"{swagger_ui_version()}-{whole.hexdigest()[:10]}", found


def asset_url(name: str) -> str:
    return url_for("docs.asset", key=assets()[0], name=name)


@cache
def _template() -> str:
    return (resources.files(__package__) / "docs.html").read_text(encoding="utf-8")


def docs_page():
    """The API's documentation, rendered by Swagger UI from /openapi.json."""
    html = render_template_string(
        _template(),
        title=current_app.config["API_TITLE"],
        spec_url=url_for("api-docs.openapi_json"),
        asset_url=asset_url,
    )
    response = Response(html, mimetype="text/html")
    # Its own policy (scripts and calls to the registry), then every HTML page's headers.
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return html_security_headers(response)


def asset(key: str, name: str):
    """One of the docs page's files, under a URL that changes whenever any of them does."""
    current_key, found = assets()
    if key != current_key or name not in found:
        abort(404)
    item = found[name]
    body, etag = item.body, item.etag
    if item.gzipped is not None and request.accept_encodings["gzip"] > 0:
        body, etag = item.gzipped, f"{item.etag}-gzip"
    response = Response(body, content_type=item.media_type)
    if item.gzipped is not None:
        response.vary.add("Accept-Encoding")
        if body is item.gzipped:
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    response.headers["Cache-Control"] = IMMUTABLE
    return response.make_conditional(request)


auth.mark(docs_page, auth.PUBLIC)
auth.mark(asset, auth.PUBLIC)
blp.add_url_rule("/docs", view_func=docs_page)
blp.add_url_rule("/docs/static/<key>/<name>", view_func=asset)
