"""The registry's domain errors: what stores and services raise when a request cannot be met.

Nothing here knows HTTP beyond the status each error stands for; http/api.py's error handler
turns every one of them into an RFC 9457 problem+json answer (http/problems.py builds it), in
one place. A stale If-Match (412) and a missing one (428) are flask-smorest's, handled there
too.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Base of the errors the API turns into problem responses."""

    status = 500
    title: str | None = None

    def __init__(self, detail: str, *, errors: list[dict] | None = None, headers=None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})


class Malformed(RegistryError):
    """The request cannot be read at all (a file that is not UTF-8, not a workbook): 400."""

    status = 400


class Unauthenticated(RegistryError):
    """No valid API token: 401, with the bearer scheme's challenge."""

    status = 401

    def __init__(self, detail: str, *, errors: list[dict] | None = None):
        super().__init__(
            detail, errors=errors, headers={"WWW-Authenticate": 'Bearer realm="registry"'}
        )


class Forbidden(RegistryError):
    """The caller's role may not do this: 403."""

    status = 403


class NotFound(RegistryError):
    status = 404


class Conflict(RegistryError):
    """The register's state refuses the change (a duplicate, a wrong state): 409."""

    status = 409


class TooLarge(RegistryError):
    """Over a size limit: 413."""

    status = 413


class UnsupportedMediaType(RegistryError):
    status = 415


class ValidationFailed(RegistryError):
    """422 with a list of `{pointer, detail}` entries (RFC 6901 JSON pointers)."""

    status = 422

    def __init__(self, errors: list[dict], detail: str | None = None):
        super().__init__(detail or summarise(errors), errors=errors)


class Invalid(ValidationFailed):
    """422 for one value: its JSON pointer and what is wrong with it."""

    def __init__(self, pointer: str, detail: str, **extra):
        super().__init__([field_error(pointer, detail, **extra)])
        self.pointer = pointer
        self.message = detail


class TooManyRequests(RegistryError):
    status = 429


def field_error(pointer: str, detail: str, **extra) -> dict:
    return {"pointer": pointer, "detail": detail, **extra}


def summarise(errors: list[dict]) -> str:
    if len(errors) == 1:
        return f"{errors[0]['pointer'] or '/'}: {errors[0]['detail']}"
    return f"{len(errors)} values failed validation."
