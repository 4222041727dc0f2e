"""The customer projection in plain words: services, activities, mechanisms, one transfer."""

from __future__ import annotations

SERVICE_NAMES = {
    "hosting": "Hosting",
    "database_management": "Database management",
    "email_delivery": "E-mail delivery",
    "customer_support": "Customer support",
    "monitoring": "Monitoring",
    "analytics": "Analytics",
    "payments": "Payments",
    "identity": "Identity",
    "other": "Other services",
}
ACTIVITY_NAMES = {
    "storage": "storage",
    "processing": "processing",
    "remote_access": "remote access",
    "backup": "backup",
}
MECHANISM_NAMES = {
    "adequacy": "Adequacy decision",
    "scc": "Standard Contractual Clauses",
    "bcr": "Binding corporate rules",
    "derogation": "Derogation (Art. 49 GDPR)",
    "public_authority_instrument": "Instrument between public authorities (Art. 46 GDPR)",
    "code_of_conduct": "Code of conduct (Art. 46 GDPR)",
    "certification": "Certification (Art. 46 GDPR)",
    "ad_hoc_clauses": "Authorised contractual clauses (Art. 46 GDPR)",
    "administrative_arrangement": "Administrative arrangement (Art. 46 GDPR)",
    "transitional_arrangement": "Transitional arrangement",
}
# The rest of Art. 46 GDPR: the reference of the code, certification or authorisation says it.
ART46_KINDS = (
    "public_authority_instrument",
    "code_of_conduct",
    "certification",
    "ad_hoc_clauses",
    "administrative_arrangement",
)
INSIDE_EEA = "Inside the EEA (no transfer)"
NO_SAFEGUARD = "No safeguard recorded"


def service_name(service: str) -> str:
    return SERVICE_NAMES.get(service, service.replace("_", " ").capitalize())


def activity_name(activity: str) -> str:
    return ACTIVITY_NAMES.get(activity, activity.replace("_", " "))


def mechanism_name(fact: dict) -> str:
    """What a transfer relies on, named: the mechanism, or the EEA, or nothing recorded."""
    if fact["eea"]:
        return INSIDE_EEA
    if fact["mechanism"] is None:
        return NO_SAFEGUARD
    return MECHANISM_NAMES.get(fact["mechanism"], fact["mechanism"])


def reliance(fact: dict) -> str | None:
    """The act or clauses relied on, in a few words: `us-dpf-2023 (Commission ...)`,
    `SCC 2021/914, Module 3 (processor to processor)`."""
    relied = fact.get("relied_on")
    if not relied:
        return None
    if relied["kind"] == "scc":
        text = f"SCC {relied['id']}"
        if relied.get("module") is not None:
            text += f", Module {relied['module']}"
            if relied.get("module_name"):
                text += f" ({relied['module_name']})"
        return text
    if relied["kind"] == "bcr":
        approved = relied.get("approved_on")
        return f"approved on {approved}" if approved else None
    if relied["kind"] == "derogation":
        return relied.get("instrument")
    if relied["kind"] in ART46_KINDS:
        return relied.get("id")
    return f"{relied['id']} ({relied['instrument']})" if relied.get("instrument") else relied["id"]


def transfer(fact: dict) -> str:
    """One transfer in a line: `United States (US): remote access; Adequacy decision,
    us-dpf-2023 (...)`."""
    where = (
        f"{fact['country_name']} ({fact['country']})" if fact["country"] else fact["country_name"]
    )
    text = f"{where}: {activity_name(fact['activity'])}; "
    text += mechanism_name(fact)
    relied = reliance(fact)
    if relied:
        text += f", {relied}"
    return text
