# Hand-written: RFC 9457 is a small JSON shape; the contract's errors[] of JSON pointers is ours.
"""The one RFC 9457 problem+json builder every error goes through (registry/errors.py holds the
domain errors it renders)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from http import HTTPStatus

from flask import Response

from ..errors import field_error

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://registry.invalid/problems/"

# Stable problem type slugs per status; clients may switch on `type`.
_TYPE_SLUGS = {
    400: "malformed-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    408: "request-timeout",
    409: "conflict",
    412: "precondition-failed",
    413: "content-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    416: "range-not-satisfiable",
    417: "expectation-failed",
    422: "validation-failed",
    428: "precondition-required",
    429: "too-many-requests",
    431: "header-fields-too-large",
    500: "internal-error",
    501: "not-implemented",
}


def problem_body(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    errors: list[dict] | None = None,
    **extensions,
) -> bytes:
    """The application/problem+json document (RFC 9457) for `status`."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = {
        "type": PROBLEM_TYPE_BASE + _TYPE_SLUGS.get(status, str(status)),
        "title": title or phrase,
        "status": status,
        "detail": detail or phrase,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extensions)
    # ASCII escapes: a pointer may echo a client's field name, lone surrogates included,
    # which cannot be encoded as UTF-8.
    return (json.dumps(body) + "\n").encode("ascii")


def problem(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    errors: list[dict] | None = None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    **extensions,
) -> Response:
    """Build an application/problem+json response (RFC 9457)."""
    body = problem_body(status, detail, title=title, errors=errors, **extensions)
    response = Response(body, status=status, mimetype=PROBLEM_MEDIA_TYPE)
    if headers:
        items = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in items:
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
    return response


def _escape(token) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def marshmallow_errors(messages, prefix: str = "", **extra) -> list[dict]:
    """Flatten marshmallow's nested error messages into `{pointer, detail}` entries."""
    found: list[dict] = []

    def walk(node, path: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, path if key == "_schema" else f"{path}/{_escape(key)}")
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item, path)
        else:
            found.append(field_error(path, str(node), **extra))

    walk(messages, prefix)
    return found
