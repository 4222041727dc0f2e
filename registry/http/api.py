"""Local Api and Blueprint subclasses: problem+json for every error, roles, documented errors."""

from __future__ import annotations

import logging
from functools import wraps

import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from flask import Response, g, request
from flask_smorest.exceptions import NotModified, PreconditionFailed, PreconditionRequired
from webargs.flaskparser import FlaskParser, abort
from werkzeug.exceptions import (
    ClientDisconnected,
    HTTPException,
    MethodNotAllowed,
    RequestEntityTooLarge,
)

from ..errors import RegistryError, ValidationFailed, field_error, summarise
from . import auth
from .bodies import JSON, accepts
from .problems import PROBLEM_MEDIA_TYPE, marshmallow_errors, problem

log = logging.getLogger(__name__)


class ProblemErrorSchema(ma.Schema):
    pointer = ma.fields.String(
        required=True,
        metadata={"description": "JSON pointer (RFC 6901) to the offending value"},
    )
    detail = ma.fields.String(required=True)
    location = ma.fields.String(
        metadata={"description": "Where the value was sent when not in the JSON body"}
    )
    row = ma.fields.Integer(
        metadata={
            "description": "In an import: the row at fault as a spreadsheet shows it (the "
            "header is row 1), or the element's 1-based place in a JSON array"
        }
    )


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    errors = ma.fields.List(ma.fields.Nested(ProblemErrorSchema))


_LOCATIONS_IN_BODY = ("json", "form", "json_or_form", "files")


def _webargs_errors(messages) -> list[dict]:
    """webargs nests messages by location ({"json": {...}, "query": {...}})."""
    if not isinstance(messages, dict):
        return marshmallow_errors(messages)
    errors: list[dict] = []
    for location, nested in messages.items():
        if location in _LOCATIONS_IN_BODY:
            errors.extend(marshmallow_errors(nested))
        else:
            errors.extend(marshmallow_errors(nested, location=location))
    return errors


class Api(flask_smorest.Api):
    """The API: every error, whatever raised it, leaves as problem+json."""

    ERROR_SCHEMA = ProblemSchema
    # No catch-all `default` response: each operation lists the statuses it can answer,
    # so a status it does not list is a defect that contract tests can see.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def init_app(self, app, *, spec_kwargs=None):
        """flask-smorest's, with the registry's documentation plugin, problem+json error
        responses in the spec, and handlers for the registry's errors and any other."""
        spec_kwargs = dict(spec_kwargs or {})
        spec_kwargs["extra_plugins"] = [*spec_kwargs.get("extra_plugins", ()), OperationsPlugin()]
        super().init_app(app, spec_kwargs=spec_kwargs)
        _document_problem_responses(self.spec.components)
        # flask-smorest registers handle_http_exception (overridden below) for HTTPException.
        app.register_error_handler(RegistryError, self.handle_registry_error)
        app.register_error_handler(Exception, self.handle_unexpected)

    def handle_http_exception(self, error: HTTPException):
        if isinstance(error, NotModified):
            response = Response(status=304)
            etag = g.get("not_modified_etag")
            if etag:
                response.set_etag(etag)
            return response
        headers = list(error.get_headers())
        data = getattr(error, "data", None) or {}
        headers.extend((data.get("headers") or {}).items())
        detail = data.get("message") or error.description
        if error.code == 422 and "messages" in data:
            errors = _webargs_errors(data["messages"])
            return problem(422, summarise(errors), errors=errors, headers=headers)
        if isinstance(error, ClientDisconnected):
            # The body stopped arriving: the server's read deadline passed mid-body (or the
            # client went away, and no one reads this).
            return problem(408, "The request body did not arrive in full in time; send it again.")
        if error.code == 400 and "messages" in data:
            detail = "The request body is not valid JSON."
        if isinstance(error, MethodNotAllowed):
            detail = f"{request.method} is not allowed here; allowed: " + ", ".join(
                error.valid_methods or ()
            )
        if isinstance(error, RequestEntityTooLarge):
            detail = (
                f"The request body is larger than the limit of {request.max_content_length} bytes."
            )
        if isinstance(error, PreconditionRequired):
            detail = (
                "This write needs If-Match with the record's current ETag: "
                f"{_read_again()} and send its ETag header as If-Match."
            )
        if isinstance(error, PreconditionFailed):
            detail = (
                f"The record changed since you read it (its ETag is no longer {_sent_if_match()}):"
                f" {_read_again()} again, check the change, and send the new ETag as If-Match."
            )
        return problem(error.code or 500, detail, headers=headers)

    def handle_registry_error(self, error: RegistryError):
        return problem(error.status, error.detail, errors=error.errors, headers=error.headers)

    def handle_unexpected(self, error: Exception):
        if isinstance(error, HTTPException):
            return self.handle_http_exception(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "An unexpected error occurred; it has been logged.")


def _document_problem_responses(components) -> None:
    """The responses flask-smorest registers, as this API answers them: error bodies are
    problem+json, a 401 names its scheme, a 304 carries the ETag it confirms."""
    for response in components.responses_lazy.values():
        content = response.get("content", {})
        if "application/json" in content:
            response["content"] = {PROBLEM_MEDIA_TYPE: content["application/json"]}
    components.responses_lazy["UNAUTHORIZED"]["headers"] = {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with (RFC 9110, 11.6.1)",
            "required": True,
            "schema": {"type": "string", "example": 'Bearer realm="registry"'},
        }
    }
    # RFC 9110, 15.4.5.
    components.responses_lazy["NOT_MODIFIED"]["headers"] = {
        "ETag": components.get_ref("header", "ETAG")
    }


def _read_again() -> str:
    """How to get the record's current ETag, for the detail of a 428 or 412."""
    rule = request.url_rule
    if rule is not None and "GET" in (rule.methods or ()):
        return f"GET {request.script_root}{request.path}"
    return "read the record"


def _sent_if_match(limit: int = 80) -> str:
    """The If-Match the client sent, as sent (shortened when long)."""
    sent = request.headers.get("If-Match", "").strip()
    return sent if len(sent) <= limit else sent[:limit] + "..."


class StrictParser(FlaskParser):
    """Unknown query parameters and body fields are errors, as the schemas say (RAISE)."""

    DEFAULT_UNKNOWN_BY_LOCATION = dict.fromkeys(FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION)

    def reject_repeated(self, values, location: str, req, schema) -> None:
        """422 for a scalar field given twice: webargs would silently keep the first."""
        repeated = [
            name
            for name in values
            if len(values.getlist(name)) > 1
            and not isinstance(schema.fields.get(name), ma.fields.List)
        ]
        if repeated:
            messages = {location: {name: ["Give this field once."] for name in repeated}}
            self.handle_error(
                ma.ValidationError(messages), req, schema, error_status_code=422, error_headers=None
            )

    def load_querystring(self, req, schema):
        self.reject_repeated(req.args, "query", req, schema)
        return super().load_querystring(req, schema)

    def load_json(self, req, schema):
        try:
            return super().load_json(req, schema)
        except RecursionError:
            # Nesting deeper than the decoder's stack is the client's malformed body, not a
            # 500: answered as webargs answers any JSON it cannot decode.
            abort(400, messages={"json": ["Invalid JSON body."]})


# What the HTTP server itself answers, for any operation, before the app sees the request:
# a malformed request (400), a request not in full within REGISTRY_READ_TIMEOUT (408), a
# request line over 4094 bytes (414), an Expect other than 100-continue (417), more than
# REGISTRY_CLIENT_CONNECTIONS connections from one address (429), header fields over their
# limits (431), an unknown transfer coding (501).
SERVER_ERRORS = {
    400: "BAD_REQUEST",
    408: "REQUEST_TIMEOUT",
    429: "TOO_MANY_REQUESTS",
    414: "REQUEST_URI_TOO_LONG",
    417: "EXPECTATION_FAILED",
    431: "REQUEST_HEADER_FIELDS_TOO_LARGE",
    501: "NOT_IMPLEMENTED",
}


# Where Blueprint.doc keeps the parameters to add, until OperationsPlugin appends them.
EXTRA_PARAMETERS = "x-registry-parameters"


class OperationsPlugin(BasePlugin):
    """apispec's public hook over every operation of the spec (flask-smorest passes it in
    `extra_plugins`): parameters added by Blueprint.doc, and the errors the HTTP server
    answers before the app (as problem+json, see registry.server); an operation taking a
    body can also time out reading it."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for operation in (operations or {}).values():
            extra = operation.pop(EXTRA_PARAMETERS, [])
            if extra:
                operation.setdefault("parameters", []).extend(extra)
            responses = operation.setdefault("responses", {})
            statuses = dict(SERVER_ERRORS)
            if "requestBody" in operation:
                statuses[408] = "REQUEST_TIMEOUT"
            for status, name in statuses.items():
                if status not in responses and str(status) not in responses:
                    responses[status] = name


class Blueprint(flask_smorest.Blueprint):
    """A resource's blueprint: roles per operation, error responses documented."""

    ARGUMENTS_PARSER = StrictParser()

    def doc(self, **kwargs):
        """Like flask-smorest's, but `parameters` add to the generated ones.

        flask-smorest's manual doc replaces the whole list, which would drop the
        query parameters documented from the arguments schema: they travel under
        EXTRA_PARAMETERS instead, and OperationsPlugin appends them.
        """
        if "parameters" in kwargs:
            kwargs[EXTRA_PARAMETERS] = kwargs.pop("parameters")
        return super().doc(**kwargs)

    # The one private flask-smorest hook overridden, as no public one exists: a 304 must
    # carry the ETag it confirms (RFC 9110, 15.4.5), and flask-smorest drops it (its issue
    # #319, open). pyproject.toml bounds flask-smorest below the next minor version for this.
    def _check_not_modified(self, etag):
        if request.method in self.METHODS_CHECKING_NOT_MODIFIED and etag in request.if_none_match:
            g.not_modified_etag = etag
            raise NotModified

    def arguments(self, schema, *, location="json", **kwargs):
        """Parse arguments; a JSON body is required (unless told not) and documents 400/413/415."""
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse
        required = kwargs.get("required", True)

        def decorator(func):
            # Marked as taking JSON, so that a DELETE with a body is checked like any other.
            func = accepts(JSON)(parse(func))
            if required:
                func = _body_required(func)
            func = self.alt_response(400, response="BAD_REQUEST")(func)
            func = self.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")(func)
            return self.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")(func)

        return decorator

    def roles(self, *roles: str):
        """Only these roles may call the operation; documents 401/403 and the bearer scheme."""
        unknown = set(roles) - set(auth.ROLES)
        if unknown or not roles:
            raise ValueError(f"unknown roles {unknown}")

        def decorator(func):
            auth.mark(func, tuple(roles))
            func = self.alt_response(401, response="UNAUTHORIZED")(func)
            func = self.alt_response(403, response="FORBIDDEN")(func)
            if set(roles) & {"customer", "service", "feed"} and not auth.is_unmetered(func):
                # Customer, feed and service keys have a request budget (REGISTRY_RATE_LIMIT).
                func = self.alt_response(429, response="TOO_MANY_REQUESTS")(func)
            func = self.doc(
                security=[{"bearerAuth": []}],
                description=_append(func, "Roles: " + ", ".join(roles) + "."),
            )(func)
            return func

        return decorator

    def public(self, func):
        """Anyone may call the operation without a token (a token sent must be valid: else 401)."""
        auth.mark(func, auth.PUBLIC)
        func = self.alt_response(401, response="UNAUTHORIZED")(func)
        return self.doc(security=[{}, {"bearerAuth": []}])(func)


def _body_required(func):
    # webargs reads an absent body as {}, which would make a bodiless PATCH a silent no-op
    # although the spec marks the body required.
    @wraps(func)
    def wrapper(*args, **kwargs):
        if not request.get_data(cache=True):
            raise ValidationFailed([field_error("", "A JSON body is required.")])
        return func(*args, **kwargs)

    return wrapper


def _append(func, line: str) -> str:
    doc = (func.__doc__ or "").strip()
    parts = doc.split("\n\n", 1)
    body = parts[1].strip() if len(parts) > 1 else ""
    return f"{body}\n\n{line}".strip()


def location_header(noun: str) -> dict:
    """The `Location` header a 201 documents: the URL of the record it made."""
    return {
        "Location": {
            "description": f"The new {noun}'s URL",
            "required": True,
            "schema": {"type": "string", "format": "uri-reference"},
        }
    }


def header_parameter(name: str, description: str) -> dict:
    """An optional request header, documented in an operation's parameters."""
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }


def revalidated(body: bytes, etag: str, media_type: str) -> Response:
    """A cacheable answer with its strong ETag (unquoted here); 304 when the client has it.

    `private, no-cache`: the client keeps its copy and revalidates it on every use.
    """
    headers = {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache"}
    if request.if_none_match.contains_weak(etag):
        return Response(status=304, headers=headers)
    return Response(body, status=200, mimetype=media_type, headers=headers)
