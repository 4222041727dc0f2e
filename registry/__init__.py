"""The transfer registry: sub-processors, dated transfer law and computed compliance."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from . import auth, bodies, config
from .api import Api
from .db import Database
from .state import Registry


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; opens no database (each worker connects on first use, after forking)."""
    app = Flask(__name__)
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False

    database = Database(app.config["DATABASE"], app.config["BUSY_TIMEOUT_MS"])
    app.extensions["registry"] = Registry(
        database,
        today=app.config["TODAY"],
        notice_days=app.config["NOTICE_DAYS"],
        data_dir=app.config["DATA_DIR"],
        documents_dir=app.config["DOCUMENTS"],
    )

    api = Api(app, spec_kwargs=_spec_kwargs())
    from .resources import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.extensions["registry_api"] = api

    from .hotpath import AllowedProcessorsFastPath
    from .resources import allowed

    app.wsgi_app = AllowedProcessorsFastPath(
        app,
        app.wsgi_app,
        path=allowed.PATH,
        view=allowed.AllowedProcessors.get,
        schema=allowed.AllowedArgsSchema(),
    )
    auth.init_app(app)
    app.before_request(bodies.check_body)
    app.before_request(_refuse_truncated_body)
    app.after_request(_security_headers)

    from .cli import register_commands

    register_commands(app)
    return app


def _spec_kwargs() -> dict:
    return {
        "info": {
            "description": (
                "Registry of GDPR sub-processors and cross-border transfers. Compliance is "
                "computed from dated reference law (EEA membership, adequacy decisions, SCC "
                "versions); errors are RFC 9457 problem+json."
            )
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "API token"}
            }
        },
    }


def _refuse_truncated_body():
    """A body sent without Content-Length (chunked) over the limit is 413, like any other."""
    # werkzeug reads such a body up to max_content_length and silently stops there; one
    # more byte on the stream the server terminates shows that the client sent more.
    limit = request.max_content_length
    if (
        request.method in bodies.BODY_METHODS
        and request.content_length is None
        and limit is not None
        and request.environ.get("wsgi.input_terminated")
        and len(request.data) >= limit
        and request.input_stream.read(1)
    ):
        raise RequestEntityTooLarge()


def _security_headers(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A view may choose how its answer is cached (the public reference law, the allowed
    # processors); with credentials only a `private` choice stands. Everything else,
    # errors and downloads included, is never stored.
    chosen = response.headers.get("Cache-Control")
    if chosen is None or ("Authorization" in request.headers and "private" not in chosen):
        response.headers["Cache-Control"] = "no-store"
    return response
