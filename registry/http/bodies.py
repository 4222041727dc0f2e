"""What request body each operation takes: JSON by default, multipart uploads where marked."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import UnsupportedMediaType
from .auth import resolve_view

JSON = "application/json"
MULTIPART = "multipart/form-data"
# DELETE only where the operation declares a body (marked by `accepts`): retiring does.
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_ATTR = "_registry_body"
# Form fields and part headers around an uploaded file.
MULTIPART_OVERHEAD = 1024 * 1024


def accepts(media_type: str | tuple[str, ...], *, limit_setting: str | None = None):
    """Mark an operation's body type (or types) and the setting that holds its size limit."""
    media_types = (media_type,) if isinstance(media_type, str) else tuple(media_type)

    def decorator(func):
        setattr(func, _ATTR, (media_types, limit_setting))
        return func

    return decorator


def check_body() -> None:
    """Before a view: refuse a body of the wrong media type (415), set the size limit."""
    if request.method not in BODY_METHODS or request.endpoint is None:
        return
    if request.blueprint == "api-docs":
        return
    view = resolve_view()
    if request.method == "DELETE" and not hasattr(view, _ATTR):
        return  # takes no body: one sent is ignored, as it always was
    media_types, limit_setting = getattr(view, _ATTR, ((JSON,), None))
    if limit_setting:
        settings = current_app.extensions["registry"].settings
        overhead = MULTIPART_OVERHEAD if MULTIPART in media_types else 0
        request.max_content_length = getattr(settings, limit_setting) + overhead
    if request.content_length == 0 or (request.content_length is None and not request.data):
        return  # an empty body fails validation with field pointers
    if request.mimetype not in media_types and not (JSON in media_types and request.is_json):
        sent = f", not {request.mimetype}." if request.mimetype else " with its Content-Type."
        raise UnsupportedMediaType(f"Send the body as {' or '.join(media_types)}{sent}")


def refuse_truncated_body():
    """A body sent without Content-Length (chunked) over the limit is 413, like any other."""
    # werkzeug reads such a body up to max_content_length and silently stops there; one
    # more byte on the stream the server terminates shows that the client sent more.
    limit = request.max_content_length
    if (
        request.method in BODY_METHODS
        and request.content_length is None
        and limit is not None
        and request.environ.get("wsgi.input_terminated")
        and len(request.data) >= limit
        and request.input_stream.read(1)
    ):
        raise RequestEntityTooLarge()
