"""One line of text refuses C1 controls and bidirectional controls, in every single-line field
a client can send (found by walking the spec: the field type gives each one its pattern), with
a 422 at the field's pointer; text of several lines keeps them."""

from __future__ import annotations

import pytest
from spec_fields import fields, refused
from test_documents import upload
from test_hygiene import created, pointers

from registry.http.fields import SINGLE_LINE_PATTERN

REFUSED = {
    "U+0080 (C1)": "\x80",
    "U+0085 next line (C1)": "\x85",
    "U+009B CSI (C1)": "\x9b",
    "U+009F (C1)": "\x9f",
    "U+061C arabic letter mark": "\u061c",
    "U+200E left-to-right mark": "\u200e",
    "U+200F right-to-left mark": "\u200f",
    "U+202A left-to-right embedding": "\u202a",
    "U+202B right-to-left embedding": "\u202b",
    "U+202C pop directional formatting": "\u202c",
    "U+202D left-to-right override": "\u202d",
    "U+202E right-to-left override": "\u202e",
    "U+2066 left-to-right isolate": "\u2066",
    "U+2067 right-to-left isolate": "\u2067",
    "U+2068 first strong isolate": "\u2068",
    "U+2069 pop directional isolate": "\u2069",
}


@pytest.fixture
def single_line(client) -> list:
    spec = client.get("/openapi.json").get_json()
    return list(fields(spec, lambda schema: schema.get("pattern") == SINGLE_LINE_PATTERN))


def test_the_walk_finds_every_single_line_field(single_line):
    found = {str(field) for field in single_line}
    assert {
        "POST /v1/subprocessors body /name",
        "POST /v1/subprocessors body /legal_entity",
        "POST /v1/subprocessors body /onward_transfers/0/name",
        "PATCH /v1/subprocessors/x-unknown body /name",
        "POST /v1/keys body /name",
        "POST /v1/webhooks body /description",
        "POST /v1/incidents body /contact/name",
        "POST /v1/incidents body /data_subject_categories/0",
    } <= found
    assert "POST /v1/subprocessors body /purpose" not in found  # several lines


@pytest.mark.parametrize("character", REFUSED.values(), ids=REFUSED.keys())
def test_every_single_line_field_refuses_it(client, as_role, single_line, character):
    for field in single_line:
        error = refused(client, as_role, field, f"Nimbus{character}Hosting")
        assert f"U+{ord(character):04X}" in error["detail"], (str(field), error)


def test_the_refusal_names_the_character_and_the_rule(client, staff):
    response = client.post(
        "/v1/subprocessors",
        json={"name": "Acme\u202egnp.exe", "service": "other"},
        headers=staff,
    )
    errors = {e["pointer"]: e["detail"] for e in response.get_json()["errors"]}
    assert response.status_code == 422
    assert errors["/name"] == (
        "Must be one line of plain text: U+202E is a bidirectional control (U+0080 to U+009F, "
        "U+061C, U+200E, U+200F, U+202A to U+202E and U+2066 to U+2069 are refused)."
    )


def test_a_document_title_refuses_it(client, staff):
    assert pointers(upload(client, staff, title="SCCs\u202e3 eludom")) == ["/title"]
    assert pointers(upload(client, staff, title="SCCs\x85")) == ["/title"]


def test_text_of_several_lines_keeps_them(client, staff):
    purpose = "\u05e9\u05dc\u05d5\u05dd\u200f (Hebrew)\x85next \u2067isolated\u2069"
    assert created(client, staff, purpose=purpose)["purpose"] == purpose


def test_one_line_keeps_what_is_not_a_control(client, staff):
    name = "\u05e9\u05dc\u05d5\u05dd Hosting \u00e9\u00a0\u4e91"
    assert created(client, staff, name=name)["name"] == name
