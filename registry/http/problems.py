# Hand-written: RFC 9457 is a small JSON shape; the contract's errors[] of JSON pointers is ours.
"""Domain exceptions and the one RFC 9457 problem+json builder every error goes through."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from http import HTTPStatus

from flask import Response

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


class RegistryError(Exception):
    """Base of the errors the API turns into problem responses."""

    status = 500
    title: str | None = None

    def __init__(self, detail: str, *, errors: list[dict] | None = None, headers=None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})


class NotFound(RegistryError):
    status = 404


class Forbidden(RegistryError):
    status = 403


class Conflict(RegistryError):
    status = 409


class ValidationFailed(RegistryError):
    """422 with a list of `{pointer, detail}` entries."""

    status = 422

    def __init__(self, errors: list[dict], detail: str | None = None):
        super().__init__(detail or summarise(errors), errors=errors)


def field_error(pointer: str, detail: str, **extra) -> dict:
    return {"pointer": pointer, "detail": detail, **extra}


def summarise(errors: list[dict]) -> str:
    if len(errors) == 1:
        return f"{errors[0]['pointer'] or '/'}: {errors[0]['detail']}"
    return f"{len(errors)} values failed validation."


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
