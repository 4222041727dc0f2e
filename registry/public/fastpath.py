"""A direct WSGI path for the public page, feed and map: the answer is already in memory.

Anyone may fetch the public resources without a token, at the rate a popular privacy page
draws, and each is built once per (revision, day). The framework's per-request machinery
(routing, hooks, response objects) would be most of the cost, so a plain GET with no token
and no query is answered here from the edition in memory; anything else (a token, a query,
another method, an edition not built yet) goes to the Flask app unchanged. A test pins that
both paths give the same status, headers and body.
"""

from __future__ import annotations

from werkzeug.http import parse_accept_header, parse_etags
from werkzeug.utils import get_content_type

from ..http.pages import CONTENT_SECURITY_POLICY, HTML_HEADERS
from . import service

# Path -> (resource name, its own Content-Security-Policy or None for the pages' one).
ROUTES = {
    "/subprocessors": ("page", None),
    "/feeds/subprocessors.atom": ("feed", None),
}
CACHE_CONTROL = "public, max-age=300"


class PublicFastPath:
    def __init__(self, flask_app, wsgi_app, routes: dict[str, tuple[str, str | None]]):
        self.next = wsgi_app
        self.extensions = flask_app.extensions  # the registry is read per request, like Flask's
        self.routes = routes

    def __call__(self, environ, start_response):
        route = self.routes.get(environ.get("PATH_INFO", ""))
        if (
            route is not None
            and environ.get("REQUEST_METHOD") == "GET"
            and not environ.get("QUERY_STRING")
            and "HTTP_AUTHORIZATION" not in environ
        ):
            answer = self._answer(environ, *route)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.next(environ, start_response)

    def _answer(self, environ, name: str, policy: str | None):
        registry = self.extensions["registry"]
        compressed = parse_accept_header(environ.get("HTTP_ACCEPT_ENCODING"))["gzip"] > 0
        key = service.current_key(registry)
        common = [("Cache-Control", CACHE_CONTROL), ("Vary", "Accept-Encoding")]
        known = service.etag(registry, name, key)
        if compressed:
            known = service.gzip_etag(known)
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match and parse_etags(if_none_match).contains_weak(known):
            headers = [*common, ("ETag", f'"{known}"'), ("X-Content-Type-Options", "nosniff")]
            return "304 NOT MODIFIED", headers, b""
        found = service.built(registry, name, key)
        if found is None:
            return None  # built by the Flask path, which has the app context it needs
        body = found.gzipped if compressed else found.body
        media_type = found.media_type
        headers = [
            ("Content-Type", get_content_type(media_type, "utf-8")),
            ("Content-Length", str(len(body))),
            *common,
            ("ETag", f'"{found.etag_for(compressed)}"'),
        ]
        if compressed:
            headers.append(("Content-Encoding", "gzip"))
        if media_type == "text/html":
            headers.append(("Content-Security-Policy", policy or CONTENT_SECURITY_POLICY))
            headers += list(HTML_HEADERS.items())
        else:
            headers.append(("X-Content-Type-Options", "nosniff"))
        return "200 OK", headers, body
