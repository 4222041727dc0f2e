"""The columns of a bulk import and export, fixed by the contract, and the rows both hold."""

from __future__ import annotations

# The columns, fixed by the contract: a sub-processor's (`id` first: the register's id, which an
# import matches before the name), then one location's and its safeguard's.
SUBPROCESSOR_COLUMNS = (
    "id",
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

# Headers procurement's own sheets use, besides the column names themselves. A header is
# compared by its letters and digits only, in lowercase: `Sub-processor`, `sub processor` and
# `SUBPROCESSOR` are one header, as are `Location(s)` and `locations`.
SYNONYMS = {
    "id": ("Sub-processor ID", "Subprocessor ID", "Vendor ID", "Registry ID"),
    "name": (
        "Vendor",
        "Vendor name",
        "Sub-processor",
        "Subprocessor name",
        "Processor",
        "Supplier",
        "Company",
    ),
    "legal_entity": ("Legal entity", "Entity", "Legal name", "Contracting entity"),
    "service": ("Service", "Service type", "Type of service"),
    "purpose": ("Purpose", "Purpose of processing", "Processing purpose", "Description"),
    "data_categories": (
        "Personal data",
        "Data categories",
        "Categories of personal data",
        "Categories of data",
        "Data",
    ),
    "effective_on": ("Effective date", "Effective from", "Start date"),
    "already_in_use": ("In use", "Already in use"),
    "country": (
        "Location",
        "Location(s)",
        "Locations",
        "Countries",
        "Country",
        "Countries of processing",
        "Processing location",
        "Processing locations",
    ),
    "activity": ("Activity", "Processing activity", "Activities"),
    "mechanism": (
        "Transfer mechanism",
        "Safeguard",
        "Transfer safeguard",
        "Transfer tool",
        "Mechanism",
    ),
    "adequacy_decision": ("Adequacy decision", "Adequacy"),
    "certified": ("Certified", "DPF certified"),
    "certification_checked_on": ("Certification checked", "Certification checked on"),
    "scc_version": ("SCC version",),
    "scc_module": ("Module", "SCC module"),
    "signed_on": ("Signed", "Signed on", "Date signed", "SCCs signed", "DPA signed"),
    "approved_on": ("Approved", "Approved on", "BCR approved"),
    "derogation": ("Derogation",),
    "tia_completed_on": ("TIA", "TIA completed", "TIA completed on", "TIA date"),
}
# Without these a sheet says nothing the import can write; any other column may be left out.
REQUIRED_COLUMNS = ("name", "country")
# Cells of `mechanism` that mean no safeguard (a location in the EEA, or none recorded).
NO_SAFEGUARD = frozenset({"", "n/a", "na", "none", "eea", "-", "not applicable"})
DEFAULT_SCC_VERSION = "2021/914"
DPF_DECISION = "us-dpf-2023"


def header_key(text: str) -> str:
    """A header as headers are compared: its letters and digits, in lowercase."""
    return "".join(character for character in text.casefold() if character.isalnum())


HEADERS = {
    header_key(header): column
    for column in COLUMNS
    for header in (column, *SYNONYMS.get(column, ()))
}
