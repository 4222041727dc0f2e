"""The columns of a bulk import and export, fixed by the contract, and the rows both hold."""

from __future__ import annotations

# The columns, fixed by the contract: a sub-processor's, then one location's and its safeguard's.
SUBPROCESSOR_COLUMNS = (
    "name",
    "legal_entity",
    "service",
    "purpose",
    "data_categories",
    "effective_on",
    "already_in_use",
)
LOCATION_COLUMNS = ("country", "activity")
SAFEGUARD_COLUMNS = (
    "mechanism",
    "adequacy_decision",
    "certified",
    "certification_checked_on",
    "scc_version",
    "scc_module",
    "signed_on",
    "approved_on",
    "derogation",
    "tia_completed_on",
)
COLUMNS = SUBPROCESSOR_COLUMNS + LOCATION_COLUMNS + SAFEGUARD_COLUMNS
# Free text is kept exactly as written; any other cell loses surrounding spaces.
TEXT_COLUMNS = frozenset({"name", "legal_entity", "purpose"})
BOOLEAN_COLUMNS = frozenset({"already_in_use", "certified"})
MAX_ROWS = 10_000  # rows of a CSV or XLSX, elements of a JSON array; an export holds as many
