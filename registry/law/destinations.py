"""Where a location sends data: a country (ISO code) or an international organisation (its id).

Chapter V of the GDPR treats both as destinations of a transfer (Art. 44). A location names
exactly one of them; every reader of a location's destination goes through here, so a location
without a country is never read as one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import countries
from .model import Law, destination, is_organisation

__all__ = ["destination", "destination_name", "is_organisation"]


def destination_name(location: Mapping[str, Any], law: Law | None = None) -> str:
    """A reader's name for it: the country's name, or the organisation's."""
    country = location.get("country")
    if country:
        return countries.country_name(country) if countries.is_country(country) else country
    organisation = location.get("international_organisation") or ""
    found = law.organisation(organisation) if law is not None else None
    return found.name if found is not None else organisation
