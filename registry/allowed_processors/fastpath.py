"""A direct WSGI path for the allowed-processors answer: the same checks, none of the framework.

Services ask "which processors are allowed?" at high rate. The answer is already computed
once per registry revision and kept in memory, so the framework's per-request machinery
(routing, argument parsing, hooks) is most of the cost. This path answers only requests
that would succeed (a valid token of an allowed role, valid arguments) and hands every
other request, unchanged, to the Flask app, which produces the errors. A test pins that
both paths give the same status, headers and body.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import marshmallow as ma
from werkzeug.http import parse_etags

from ..http.auth import bearer_token, roles_of
from ..keys.service import authenticate
from ..verdicts import service

ARGS_CACHE_SIZE = 1024


class AllowedProcessorsFastPath:
    def __init__(self, flask_app, wsgi_app, *, path: str, view, schema: ma.Schema):
        self.next = wsgi_app
        self.extensions = flask_app.extensions  # the registry is read per request, like Flask's
        self.path = path
        self.roles = roles_of(view)
        self.schema = schema
        self.fields = frozenset(schema.fields)
        self._args: dict[str, tuple] = {}

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == self.path:
            answer = self._answer(environ)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.next(environ, start_response)

    def _answer(self, environ):
        token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        if token is None:
            return None
        args = self._parse(environ.get("QUERY_STRING", ""))
        if args is None:
            return None
        registry = self.extensions["registry"]
        principal = authenticate(
            registry.db.connection(), token, registry.today(), record_use=not registry.db.read_only
        )
        if principal is None or principal.role not in self.roles:
            return None
        body, etag = service.snapshot(registry).allowed_answer(*args)
        headers = [("ETag", f'"{etag}"'), ("Cache-Control", "private, no-cache")]
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match and parse_etags(if_none_match).contains_weak(etag):
            return "304 NOT MODIFIED", [*headers, ("X-Content-Type-Options", "nosniff")], b""
        headers += [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
        ]
        return "200 OK", headers, body

    def _parse(self, query: str) -> tuple | None:
        """Valid arguments as (data_category, service, country); None to let Flask answer."""
        cached = self._args.get(query)
        if cached is not None:
            return cached
        try:
            pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            return None
        values: dict[str, object] = {}
        for name, value in pairs:
            if name == "data_category":
                values.setdefault(name, []).append(value)  # type: ignore[union-attr]
            elif name in values:
                return None  # a scalar given twice: Flask answers 422
            else:
                values[name] = value
        if not values.keys() <= self.fields:
            return None
        try:
            loaded = self.schema.load(values)
        except ma.ValidationError:
            return None
        categories = loaded.get("data_category")
        args = (
            tuple(sorted(set(categories))) if categories else None,
            loaded.get("service"),
            loaded.get("country"),
        )
        if len(self._args) >= ARGS_CACHE_SIZE:
            self._args.clear()  # distinct valid queries are few; bound memory simply
        self._args[query] = args
        return args
