"""create_app(): settings and the Api with every feature's blueprints; opens no database.

The `registry` command (cli/main.py) adds its commands to the app it builds."""

from __future__ import annotations

from flask import Flask, request

from . import __version__
from .allowed_processors import api as allowed_api
from .allowed_processors.fastpath import AllowedProcessorsFastPath
from .allowed_processors.schemas import AllowedArgsSchema
from .audit import api as audit_api
from .audit import service as audit
from .bulk import api as bulk_api
from .changes import api as changes_api
from .customers import api as customers_api
from .documents import api as documents_api
from .health import api as health_api
from .http import auth, bodies, docs
from .http.api import Api
from .incidents import api as incidents_api
from .keys import api as keys_api
from .keys import service as keys
from .law import api as law_api
from .objections import api as objections_api
from .public import api as public_api
from .public.fastpath import ROUTES as PUBLIC_ROUTES
from .public.fastpath import PublicFastPath
from .ratelimits import service as ratelimits
from .register import api as subprocessors_api
from .register import history as history_api
from .replication import readonly
from .runtime import Registry
from .settings import Settings
from .verdicts import api as verdicts_api
from .waivers import api as waivers_api
from .webhooks import api as webhooks_api

# In this order in the spec (its tags and paths).
BLUEPRINTS = (
    health_api.blp,
    law_api.blp,
    subprocessors_api.blp,
    bulk_api.blp,
    verdicts_api.blp,
    waivers_api.blp,
    allowed_api.blp,
    documents_api.blp,
    history_api.blp,
    objections_api.blp,
    changes_api.blp,
    incidents_api.blp,
    audit_api.blp,
    webhooks_api.blp,
    keys_api.blp,
    customers_api.blp,
)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app; opens no database (each worker connects on first use, after forking)."""
    settings = Settings.from_environment() if settings is None else settings
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_json,  # JSON bodies larger than this are 413
        API_TITLE="Transfer registry",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.json.sort_keys = False
    app.extensions["registry"] = Registry(settings)

    api = Api(app, spec_kwargs=_spec_kwargs())
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.blp)  # /docs: Swagger UI from the registry's own files
    app.extensions["registry_api"] = api
    app.register_blueprint(public_api.blp)  # HTML, Atom and SVG: not in the API's spec

    app.wsgi_app = AllowedProcessorsFastPath(
        app,
        app.wsgi_app,
        path=allowed_api.PATH,
        view=allowed_api.AllowedProcessors.get,
        schema=AllowedArgsSchema(),
    )
    app.wsgi_app = PublicFastPath(app, app.wsgi_app, PUBLIC_ROUTES)
    if settings.read_only:  # first: a write is 503 there whoever sends it
        readonly.init_app(app)
    # The HTTP layer authenticates, meters and names callers with what the features lend it.
    auth.init_app(
        app,
        auth.Hooks(authenticate=keys.principal_of, spend=ratelimits.spend, actor=audit.actor),
    )
    app.before_request(bodies.check_body)
    app.before_request(bodies.refuse_truncated_body)
    app.after_request(_security_headers)
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


def _security_headers(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A view may choose how its answer is cached (the public reference law, the allowed
    # processors); with credentials only a `private` choice stands. Everything else,
    # errors and downloads included, is never stored.
    chosen = response.headers.get("Cache-Control")
    if chosen is None or ("Authorization" in request.headers and "private" not in chosen):
        response.headers["Cache-Control"] = "no-store"
    return response
