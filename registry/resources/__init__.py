"""One blueprint per resource."""

from . import allowed, compliance, documents, law, meta, subprocessors

BLUEPRINTS = (
    meta.blp,
    law.blp,
    subprocessors.blp,
    compliance.blp,
    allowed.blp,
    documents.blp,
)
