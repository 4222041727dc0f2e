"""ISO country codes and fideslang data categories as the API validates them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import ROOT, category_keys

from registry.law import countries, taxonomy

# Countries


@pytest.mark.parametrize("code", ["GR", "GB", "DE", "US", "IN", "SG", "FO", "GG", "IM", "JE"])
def test_assigned_codes_are_countries(code: str) -> None:
    assert countries.is_country(code)


@pytest.mark.parametrize("code", ["EL", "UK", "gr", " GR", "GR ", "GRC", "G", "", "XX", None, 30])
def test_other_values_are_not_countries(code: object) -> None:
    assert not countries.is_country(code)


@pytest.mark.parametrize(
    ("code", "expected"),
    [("EL", "GR"), ("UK", "GB"), ("uk", "GB"), ("gr", "GR"), (" de ", "DE"), ("DEU", "DE")],
)
def test_suggestion_names_the_code_that_was_meant(code: str, expected: str) -> None:
    assert countries.suggestion(code) == expected
    assert countries.is_country(expected)


@pytest.mark.parametrize("code", ["GR", "ZZ", "", "Greece", None])
def test_no_suggestion_for_valid_or_hopeless_codes(code: object) -> None:
    assert countries.suggestion(code) is None


def test_country_names() -> None:
    assert countries.country_name("GR") == "Greece"
    assert countries.country_name("GB") == "United Kingdom"
    assert countries.country_name("DE") == "Germany"
    with pytest.raises(KeyError):
        countries.country_name("EL")


def test_all_countries_sorted_by_code() -> None:
    listed = countries.all_countries()
    codes = [code for code, _ in listed]
    assert codes == sorted(codes)
    assert len(codes) == len(set(codes)) >= 249
    assert ("GR", "Greece") in listed
    assert "EL" not in codes
    assert "UK" not in codes
    assert all(countries.is_country(code) and name for code, name in listed)


def test_all_countries_returns_a_fresh_list() -> None:
    countries.all_countries().clear()
    assert countries.all_countries()


# Data categories


@pytest.mark.parametrize(
    "key", ["user", "user.contact", "user.contact.email", "user.device.ip_address", "system"]
)
def test_taxonomy_keys_are_data_categories(key: str) -> None:
    assert taxonomy.is_data_category(key)


@pytest.mark.parametrize(
    "key", ["user.email", "user.contact.", "User.contact.email", "", "contact", None, 1]
)
def test_other_values_are_not_data_categories(key: object) -> None:
    assert not taxonomy.is_data_category(key)


def test_every_category_is_covered_by_its_root_and_itself() -> None:
    keys = category_keys()
    assert {"user", "system"} <= set(keys)
    for key in keys:
        assert taxonomy.is_data_category(key)
        assert taxonomy.covers(key, key)
        assert taxonomy.covers(key.split(".")[0], key)


@pytest.mark.parametrize(
    ("declared", "requested"),
    [
        ("user.contact.email", "user.contact.email"),
        ("user.contact", "user.contact.email"),
        ("user", "user.contact.email"),
        ("user", "user.contact.address.city"),
    ],
)
def test_a_declared_category_covers_itself_and_its_descendants(
    declared: str, requested: str
) -> None:
    assert taxonomy.covers(declared, requested)


@pytest.mark.parametrize(
    ("declared", "requested"),
    [
        ("user.contact.email", "user.contact"),
        ("user.contact.email", "user.contact.phone_number"),
        ("user.cont", "user.contact.email"),
        ("user.device", "user.contact.email"),
        ("system", "user.contact.email"),
        ("user", "user.email"),
    ],
)
def test_a_declared_category_covers_nothing_else(declared: str, requested: str) -> None:
    assert not taxonomy.covers(declared, requested)


def test_importing_the_law_package_does_not_load_fideslang() -> None:
    probe = (
        "import sys\n"
        "import registry.law, registry.law.taxonomy, registry.law.countries\n"
        "assert 'fideslang' not in sys.modules, 'fideslang imported eagerly'\n"
        "registry.law.taxonomy.is_data_category('user')\n"
        "assert 'fideslang' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
