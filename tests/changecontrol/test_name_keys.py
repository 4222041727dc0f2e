"""Names are unique as readers see them: invisible characters (every default-ignorable code
point) and look-alike letters (Unicode's confusables, UTS #39) do not make a new name."""

from __future__ import annotations

import pytest
from helpers import URL, nimbus
from test_bulk import as_csv, imported, row
from test_hygiene import created

from registry.changecontrol import names
from registry.db.store import migrate

NAME = "Acme Cloud"
# Each one reads as "Acme Cloud" (or a form of it a reader cannot tell from it).
VARIANTS = {
    "zero width space U+200B": "Ac\u200bme Cloud",
    "zero width non-joiner U+200C": "Ac\u200cme Cloud",
    "zero width joiner U+200D": "Ac\u200dme Cloud",
    "word joiner U+2060": "Acme\u2060 Cloud",
    "invisible times U+2062": "Acme Cl\u2062oud",
    "U+2065 (reserved, ignorable)": "Acme Clo\u2065ud",
    "byte order mark U+FEFF": "\ufeffAcme Cloud",
    "soft hyphen U+00AD": "Ac\u00adme Cloud",
    "combining grapheme joiner U+034F": "Acme\u034f Cloud",
    "variation selector U+FE0F": "Acme Cloud\ufe0f",
    "variation selector U+FE00": "A\ufe00cme Cloud",
    "variation selector U+E0100": "Acme\U000e0100 Cloud",
    "tag letters U+E0041": "Acme Cloud\U000e0041\U000e0042",
    "Mongolian free variation selector U+180B": "Ac\u180bme Cloud",
    "Mongolian vowel separator U+180E": "Acme\u180e Cloud",
    "Hangul filler U+3164": "Acme\u3164 Cloud",
    "Hangul choseong filler U+115F": "Ac\u115fme Cloud",
    "Hangul jungseong filler U+1160": "Acme C\u1160loud",
    "halfwidth Hangul filler U+FFA0": "Acme\uffa0 Cloud",
    "Khmer inherent vowel U+17B4": "Acme Cl\u17b4oud",
    "shorthand format control U+1BCA0": "Acme \U0001bca0Cloud",
    "Cyrillic a U+0430": "\u0410cme Cloud",
    "Cyrillic e U+0435": "Acm\u0435 Cloud",
    "Cyrillic o U+043E": "Acme Cl\u043eud",
    "Greek omicron U+03BF": "Acme Cl\u03bfud",
    "Greek capital alpha U+0391": "\u0391cme Cloud",
    "digit zero for o": "Acme Cl0ud",
    "digit one for l": "Acme C1oud",
    "rn for m": "Acrne Cloud",
    "fullwidth letters": "\uff21\uff43\uff4d\uff45 Cloud",
    "mathematical bold": "\U0001d400\U0001d41c\U0001d426\U0001d41e Cloud",
    "no-break space": "Acme\u00a0Cloud",
    "ideographic space": "Acme\u3000Cloud",
    "case and spaces": "  ACME   CLOUD ",
}
# Bidirectional marks are ignorable too, and refused in one line of text before they are
# compared (422): either way no second "Acme Cloud" is made.
REFUSED_FIRST = {
    "left-to-right mark U+200E": "Acme\u200e Cloud",
    "right-to-left override U+202E": "Acme Cloud\u202e",
    "first strong isolate U+2068": "\u2068Acme Cloud",
    "Arabic letter mark U+061C": "Acme\u061c Cloud",
}


def test_every_variant_has_the_names_key():
    key = names.name_key(NAME)
    for label, variant in {**VARIANTS, **REFUSED_FIRST}.items():
        assert names.name_key(variant) == key, label


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
def test_a_variant_is_409_on_create_and_on_rename(client, staff, patch, variant):
    first = created(client, staff, name=NAME)

    response = client.post(URL, json=nimbus(name=variant), headers=staff)

    assert response.status_code == 409, response.get_data(as_text=True)
    assert NAME in response.get_json()["detail"]
    other = created(client, staff, name="Other Cloud")
    etag = client.get(f"{URL}/{other['id']}", headers=staff).headers["ETag"]
    response = client.patch(
        f"{URL}/{other['id']}", json={"name": variant}, headers={**staff, "If-Match": etag}
    )
    assert response.status_code == 409, response.get_data(as_text=True)
    assert first["name"] in response.get_json()["detail"]


@pytest.mark.parametrize("variant", REFUSED_FIRST.values(), ids=REFUSED_FIRST.keys())
def test_a_variant_with_a_bidi_control_is_never_a_second_name(client, staff, variant):
    created(client, staff, name=NAME)
    response = client.post(URL, json=nimbus(name=variant), headers=staff)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/name"]


def test_an_import_matches_a_variant_to_the_current_name(client, staff):
    first = created(client, staff, name=NAME)
    result = imported(client, staff, as_csv([row("\u0410cme Cl\u043eud")]))
    assert result["created"] == 0
    assert [entry["id"] for entry in result["subprocessors"]] == [first["id"]]


def test_names_that_differ_visibly_do_not_clash(client, staff):
    for name in (NAME, "Acne Cloud", "Acme Clouds", "Acme Cloud EU", "Café", "Cafe", "Acme"):
        created(client, staff, name=name)


def test_the_check_seeks_the_stored_key(client, staff, registry):
    created(client, staff, name=NAME)
    conn = registry.db.connection()
    key = conn.execute("SELECT name_key FROM subprocessors").fetchone()[0]
    assert key == names.name_key("\u0410cme Cl0ud")
    plan = " ".join(
        row[-1]
        for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT name FROM subprocessors WHERE name_key = ?"
            " AND retired_on IS NULL AND id IS NOT ?",
            [key, None],
        )
    )
    assert "subprocessors_current_name_key" in plan


def test_the_migration_clears_old_keys_and_init_fills_the_new_ones(client, staff, registry):
    from registry.bootstrap import initialise

    first = created(client, staff, name=NAME)
    second = created(client, staff, name="Other Cloud")
    conn = registry.db.connection()
    # As before 0018: keys without the skeleton; a rename that now clashes (Cyrillic o).
    conn.execute("PRAGMA user_version = 17")
    # ... and before 0022: no exporter_role column yet (SQLite cannot add a column twice).
    conn.execute("ALTER TABLE subprocessors DROP COLUMN exporter_role")
    conn.execute("UPDATE subprocessors SET name_key = 'acme cloud' WHERE id = ?", [first["id"]])
    conn.execute(
        "UPDATE subprocessors SET name = 'Acme Cl\u043eud', name_key = 'acme cl\u043eud'"
        " WHERE id = ?",
        [second["id"]],
    )

    assert "0018 name keys ignore look-alike letters" in migrate(registry.db)
    assert (
        conn.execute("SELECT count(*) FROM subprocessors WHERE name_key IS NOT NULL").fetchone()[0]
        == 0
    )
    outcome = initialise(registry)

    assert outcome["names_clashing"] == [second["id"]]
    keys = dict(conn.execute("SELECT id, name_key FROM subprocessors").fetchall())
    assert keys == {first["id"]: names.name_key(NAME), second["id"]: None}
    response = client.post(URL, json=nimbus(name="\u0410cme Cloud"), headers=staff)
    assert response.status_code == 409, response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["\u3164", "\u115f\u1160", "\uffa0 \u034f", "\U000e0041\ufe0f"])
def test_a_name_of_ignorable_characters_alone_is_blank(client, staff, name):
    response = client.post(URL, json=nimbus(name=name), headers=staff)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"] == [{"pointer": "/name", "detail": "Must not be blank."}]
