"""The transfer registry: sub-processors, dated transfer law and computed compliance."""

from __future__ import annotations

from flask import Flask, g, request

from . import auth, config
from .api import Api
from .db import Database
from .errors import RegistryError
from .state import Registry

JSON_METHODS = ("POST", "PUT", "PATCH")


class UnsupportedMediaType(RegistryError):
    status = 415


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
    )

    api = Api(app, spec_kwargs=_spec_kwargs())
    from .resources import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.extensions["registry_api"] = api

    auth.init_app(app)
    app.before_request(_require_json_body)
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


def _require_json_body():
    if request.method in JSON_METHODS and request.endpoint and request.blueprint != "api-docs":
        if request.content_length == 0 or (request.content_length is None and not request.data):
            return None  # an empty body fails schema validation with field pointers
        if not request.is_json:
            raise UnsupportedMediaType(
                "Send the body as application/json"
                + (f", not {request.mimetype}." if request.mimetype else " with its Content-Type.")
            )
    return None


def _security_headers(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    if g.get("principal") is not None and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
