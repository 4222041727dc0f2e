"""/v1/customers/{customer_id}: what the registry holds of a customer, and its erasure (admins)."""

from __future__ import annotations

from flask.views import MethodView

from ..http.api import Blueprint
from ..http.context import actor, registry
from ..http.fields import NoArgsSchema
from . import service
from .schemas import CustomerSchema, ErasureSchema

blp = Blueprint(
    "customers",
    __name__,
    url_prefix="/v1/customers",
    description=(
        "A customer's personal data: what the registry holds of it, and its erasure on "
        "request (GDPR Art. 17), everywhere at once."
    ),
)


def _etag_data(customer_id: str) -> dict:
    # The ETag names the customer, not its holdings: a retried erasure (its answer lost)
    # succeeds again with the same If-Match, and an If-Match for another id never matches.
    return {"customer_id": customer_id}


@blp.route("/<string:customer_id>")
class CustomerById(MethodView):
    @blp.roles("admin")
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, CustomerSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, customer_id):
        """Count what the registry holds of a customer, before erasing it

        Keys, documentation requests, disclosures, objections, webhooks, changes meant for it
        alone, incidents naming it and personal values in the audit trail; `erased_at` when
        the id was erased before. 404 when it holds nothing of that id and never erased it.
        """
        described = service.describe(registry().db.connection(), customer_id)
        blp.set_etag(_etag_data(customer_id))
        return described

    @blp.roles("admin")
    @blp.etag
    @blp.arguments(NoArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ErasureSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, customer_id):
        """Erase a customer's personal data; needs If-Match with the customer's ETag

        Deletes its API keys (they stop working at once), documentation requests,
        disclosures, webhooks with their secrets and delivery logs, the changes meant for it
        alone, its request counts, and its name from incidents; its objections stay without
        it (a random pseudonym, no reason, no answer); the personal values of the audit trail
        that concern it are erased, and the chain still verifies. Audited as
        `customer.erase`, naming the customer only by a salted digest. The answer counts
        what was erased. Erasing again is no error: 200 with `already_erased` and nothing
        erased. An id the registry holds nothing of and never erased is 404.
        """
        return service.erase(
            registry(),
            customer_id,
            actor(),
            check=lambda: blp.check_etag(_etag_data(customer_id)),
        )
