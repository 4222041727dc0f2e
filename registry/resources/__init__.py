"""One blueprint per resource."""

from . import (
    allowed,
    changes,
    compliance,
    documents,
    history,
    law,
    meta,
    subprocessors,
    webhooks,
)

BLUEPRINTS = (
    meta.blp,
    law.blp,
    subprocessors.blp,
    compliance.blp,
    allowed.blp,
    documents.blp,
    history.history_blp,
    changes.blp,
    history.audit_blp,
    webhooks.blp,
)
