"""ISO 3166-1 alpha-2 country codes and names, from pycountry."""

from __future__ import annotations

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
