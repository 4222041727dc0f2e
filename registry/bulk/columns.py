"""The columns of a bulk import and export, fixed by the contract, and the rows both hold."""

from __future__ import annotations

# The columns, fixed by the contract: a sub-processor's (`id` first: the register's id, which an
# import matches before the name), then one location's and its safeguard's. Columns added
# later come after these, in ADDED_COLUMNS, so that a program reading by position still finds
# the first twenty where they were.
SUBPROCESSOR_COLUMNS = (
    "id",
    "name",
    "legal_entity",
    "service",
    "purpose",
    "data_categories",
    "effective_on",
    "already_in_use",
    "exporter_role",
)
LOCATION_COLUMNS = ("country", "activity", "international_organisation")
# The safeguard's own fields, each in the column of its name (`mechanism` first).
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
    "reference",
    "binding_commitment_on",
    "authorised_on",
    "exporter_public_body",
    "importer_public_body",
    "exporter",
    "certified_on",
    "certificate_expires_on",
    "concluded_on",
)
# The transfer impact assessment's record (`safeguard.tia`), by column: its `completed_on` is
# the `tia_completed_on` column's date. With any of these filled, a row's TIA is a record;
# with none, `tia_completed_on` alone is the shorthand.
TIA_COLUMNS = {
    "tia_outcome": "outcome",
    "tia_laws_assessed": "laws_assessed",
    "tia_supplementary_measures": "supplementary_measures",
    "tia_review_by": "review_by",
}
# Cells holding a list: its items one a line (the export's form; an item is one line of text),
# or, in a cell without a line break, separated by `;`.
LIST_COLUMNS = frozenset({"tia_laws_assessed", "tia_supplementary_measures"})
ADDED_COLUMNS = (
    "international_organisation",
    *SAFEGUARD_COLUMNS[10:16],
    *TIA_COLUMNS,
    "exporter_role",
    *SAFEGUARD_COLUMNS[16:],
)
COLUMNS = (
    *SUBPROCESSOR_COLUMNS[:8],
    *LOCATION_COLUMNS[:2],
    *SAFEGUARD_COLUMNS[:10],
    *ADDED_COLUMNS,
)
# Free text is kept exactly as written; any other cell loses surrounding spaces (a list cell,
# each item's).
TEXT_COLUMNS = frozenset({"name", "legal_entity", "purpose", "reference", *LIST_COLUMNS})
BOOLEAN_COLUMNS = frozenset(
    {"already_in_use", "certified", "exporter_public_body", "importer_public_body"}
)
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
    "international_organisation": (
        "International organisation",
        "International organization",
    ),
    "reference": ("Reference", "Certification reference", "Authorisation", "Authorization"),
    "binding_commitment_on": ("Binding commitment", "Binding commitment on", "Commitment date"),
    "authorised_on": ("Authorised", "Authorised on", "Authorized", "Authorized on"),
    "exporter_public_body": ("Exporter public body", "Exporter is a public body"),
    "importer_public_body": ("Importer public body", "Importer is a public body"),
    "certified_on": ("Certified on", "Certificate issued", "Certificate issued on"),
    "certificate_expires_on": (
        "Certificate expires",
        "Certificate expires on",
        "Certificate expiry",
        "Certificate valid until",
    ),
    "concluded_on": ("Concluded", "Concluded on", "Instrument concluded"),
    "exporter": ("SCC exporter", "Exporter", "Signed as exporter by"),
    "tia_outcome": ("TIA outcome", "TIA result", "TIA conclusion"),
    "tia_laws_assessed": ("TIA laws assessed", "Laws assessed"),
    "tia_supplementary_measures": (
        "TIA supplementary measures",
        "Supplementary measures",
    ),
    "tia_review_by": ("TIA review by", "TIA review", "TIA review date", "Review by"),
    "exporter_role": ("Exporter role", "Our role"),
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
