"""ISO 3166-1 alpha-2 country codes and names, from pycountry."""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cache

# Codes people write for a country that are not its ISO 3166-1 alpha-2 code.
_NON_ISO_ALIASES = {
    "EL": "GR",  # the EU's code for Greece
    "UK": "GB",  # exceptionally reserved in ISO 3166-1, not assigned
}


@cache
def _names() -> dict[str, str]:
    import pycountry

    return {country.alpha_2: country.name for country in pycountry.countries}


@cache
def _alpha_3() -> dict[str, str]:
    import pycountry

    return {country.alpha_3: country.alpha_2 for country in pycountry.countries}


# English names people write that are none of pycountry's name, official name or common name.
_NAME_ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "us": "US",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "russia": "RU",
    "turkey": "TR",
    "vietnam": "VN",
    "south korea": "KR",
    "korea": "KR",
    "czech republic": "CZ",
    "hong kong": "HK",
    "macau": "MO",
    "ivory coast": "CI",
    "swaziland": "SZ",
    "burma": "MM",
    "cape verde": "CV",
    "east timor": "TL",
    "the uae": "AE",
    "uae": "AE",
}


def _name_key(text: str) -> str:
    """A country name as names are compared: lowercase, accents, dots and a leading "the"
    dropped, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).replace(".", "")
    plain = " ".join(re.sub(r"[^\w,()'-]+", " ", plain).split())
    return plain.removeprefix("the ")


@cache
def _by_name() -> dict[str, str]:
    import pycountry

    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                names[_name_key(value)] = country.alpha_2
    for alias, code in _NAME_ALIASES.items():
        names.setdefault(_name_key(alias), code)
    return names


def from_text(text: str) -> str | None:
    """The alpha-2 code a person means by `text`: a code in any case ("de", "UK", "DEU") or
    an English name ("Germany", "United States", "United Kingdom", "South Korea")."""
    stripped = text.strip()
    candidate = stripped.upper()
    if candidate in _names():
        return candidate
    if candidate in _NON_ISO_ALIASES:
        return _NON_ISO_ALIASES[candidate]
    if len(candidate) == 3 and candidate in _alpha_3():
        return _alpha_3()[candidate]
    return _by_name().get(_name_key(stripped))


def nearest(text: str) -> tuple[str, str] | None:
    """The country whose name or code is nearest to `text`, as (code, name); None if no
    name is close."""
    key = _name_key(text)
    found = difflib.get_close_matches(key, list(_by_name()), n=1, cutoff=0.6)
    if not found:
        return None
    code = _by_name()[found[0]]
    return code, _names()[code]


@cache
def _sorted_countries() -> tuple[tuple[str, str], ...]:
    return tuple(sorted(_names().items()))


def is_country(code: object) -> bool:
    """Whether `code` is an assigned ISO 3166-1 alpha-2 code, exactly (uppercase, no spaces)."""
    return isinstance(code, str) and code in _names()


def suggestion(code: object) -> str | None:
    """The valid code meant by an invalid `code`: "EL" -> "GR", "UK" -> "GB", "deu" -> "DE"."""
    if not isinstance(code, str) or is_country(code):
        return None
    candidate = code.strip().upper()
    if candidate in _NON_ISO_ALIASES:
        return _NON_ISO_ALIASES[candidate]
    if candidate in _names():
        return candidate
    return _alpha_3().get(candidate)


def country_name(code: str) -> str:
    """The ISO 3166-1 short name of `code`; KeyError when it is not a valid code."""
    if not is_country(code):
        raise KeyError(code)
    return _names()[code]


def all_countries() -> list[tuple[str, str]]:
    """Every ISO 3166-1 country as (alpha-2 code, name), sorted by code."""
    return list(_sorted_countries())
