"""Reference law, read-only and public: countries, international organisations, adequacy
decisions and data categories."""

from __future__ import annotations

from dataclasses import asdict

from flask.views import MethodView

from ..errors import NotFound
from ..http.api import Blueprint
from ..http.auth import current_principal
from ..http.context import as_of, registry
from ..http.fields import NoArgsSchema
from . import countries, taxonomy
from .schemas import (
    AdequacyDecisionListSchema,
    AsOfArgsSchema,
    CountryListSchema,
    CountrySchema,
    DataCategoryListSchema,
    InternationalOrganisationListSchema,
)

blp = Blueprint("law", __name__, url_prefix="/v1", description="Reference law (read-only)")

# The reference law changes only at midnight (today's membership and decisions) or with a
# new law version, so shared caches may keep an anonymous answer for a few minutes.
PUBLIC_MAX_AGE = 300


def _cacheable() -> dict:
    """Cache headers for an anonymous answer; with a token the default (no-store) applies."""
    if current_principal() is not None:
        return {}
    return {"Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}"}


def _adequacy(law, today, place: str) -> list[str]:
    """The ids of the adequacy decisions in force today for a country or an organisation."""
    return [d.id for d in law.decisions_in_force(today, place) if d.kind == "adequacy"]


def _country(code: str, name: str, law, today) -> dict:
    return {
        "code": code,
        "name": name,
        "eea": law.is_eea(code, today),
        "adequacy": _adequacy(law, today, code),
    }


@blp.route("/countries")
class Countries(MethodView):
    @blp.public
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, CountryListSchema)
    def get(self):
        """List every ISO 3166-1 country with its EEA membership and adequacy today"""
        law, today = registry().law(), registry().today()
        items = [_country(code, name, law, today) for code, name in countries.all_countries()]
        return {"as_of": today.isoformat(), "items": items}, 200, _cacheable()


@blp.route("/countries/<string:code>")
class CountryByCode(MethodView):
    @blp.public
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, CountrySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, code):
        """Read one country by its ISO 3166-1 alpha-2 code"""
        if not countries.is_country(code):
            hint = countries.suggestion(code)
            raise NotFound(
                f"{code!r} is not an ISO 3166-1 alpha-2 code."
                + (f" Did you mean {hint!r}?" if hint else "")
            )
        law, today = registry().law(), registry().today()
        return _country(code, countries.country_name(code), law, today), 200, _cacheable()


@blp.route("/international-organisations")
class InternationalOrganisations(MethodView):
    @blp.etag
    @blp.public
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, InternationalOrganisationListSchema)
    def get(self):
        """List the international organisations a location may name instead of a country

        Transfers to an international organisation fall under Chapter V of the GDPR as
        transfers to a third country do (Art. 44, 45(1), 46(1)); each organisation is listed
        with the adequacy decisions in force for it today. The answer carries an ETag
        (`If-None-Match` gives 304) and may be cached.
        """
        law, today = registry().law(), registry().today()
        items = [
            {
                "id": organisation.id,
                "name": organisation.name,
                "sources": list(organisation.sources),
                "adequacy": _adequacy(law, today, organisation.id),
                "verified": organisation.verified,
                "notes": organisation.notes,
            }
            for organisation in law.organisations
        ]
        body = {"as_of": today.isoformat(), "items": items}
        blp.set_etag(body)
        return body, 200, _cacheable()


@blp.route("/adequacy-decisions")
class AdequacyDecisions(MethodView):
    @blp.public
    @blp.arguments(AsOfArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, AdequacyDecisionListSchema)
    def get(self, **args):
        """List the adequacy decisions, ended ones included; with as_of, those in force that day"""
        law = registry().law()
        if args.get("as_of"):
            decisions = law.decisions_in_force(as_of(args))
        else:
            decisions = list(law.decisions)
        items = [_decision(d) for d in decisions]
        return {"as_of": args.get("as_of"), "items": items}, 200, _cacheable()


@blp.route("/data-categories")
class DataCategories(MethodView):
    @blp.etag
    @blp.public
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, DataCategoryListSchema)
    def get(self):
        """List the data-category keys a sub-processor's `data_categories` take, with names

        The fideslang default taxonomy, sorted by key; a key covers the keys below it
        (`user.contact` covers `user.contact.email`). It changes only with a new release, so
        the answer carries an ETag (`If-None-Match` gives 304) and may be cached.
        """
        items = [asdict(category) for category in taxonomy.all_categories()]
        blp.set_etag(items)
        return {"items": items}, 200, _cacheable()


def _decision(decision) -> dict:
    out = asdict(decision)
    out["adopted_on"] = decision.adopted
    for key in ("adopted_on", "in_force_from", "ended_on", "expires_on"):
        out[key] = out[key].isoformat() if out[key] else None
    return out
