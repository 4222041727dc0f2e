"""Export, then import the same file: nothing changes, for every field a sub-processor can hold
(every Art. 46 tool, international organisations, TIA records, both exporter roles), in every
export format; and the columns that carry them read what a person writes."""

from __future__ import annotations

import csv
import io

import pytest
from helpers import URL, days_from_today, problem
from test_bulk import as_csv, footprint, imported, row, send

from registry.bulk import columns

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"csv": "text/csv", "excel": "text/csv", "xlsx": XLSX}
FEED = "/v1/changes"
TIA_RECORD = {
    "completed_on": "2024-02-20",
    "outcome": "supplementary_measures",
    # An item with a `;` in it, one with a comma, and formula triggers after line breaks.
    "laws_assessed": ["Information Technology Act 2000, s. 69", "CERT-In directions; 2022"],
    "supplementary_measures": ["-Encryption at rest, keys held in the EEA", "=Pseudonymisation"],
    "review_by": "2027-02-20",
}


def sub_processors() -> list[dict]:
    """Every mechanism, locations at both international organisations, onward transfers (one
    to an organisation), TIA records (with and without the shorthand, an empty list, a lone
    item with a `;`) and both exporter roles, plus a record with neither."""
    in_use = {"effective_on": "2025-01-01", "already_in_use": True}
    return [
        {
            "name": 'Alpha Cloud; "Ops", =Team',
            "legal_entity": "Alpha Cloud GmbH",
            "service": "hosting",
            "purpose": "Hosting\nwith a second line",
            "data_categories": ["user.contact.email", "user.account.username"],
            "exporter_role": "controller",
            "locations": [
                {"country": "NL", "activity": "storage"},
                {
                    "country": "US",
                    "activity": "remote_access",
                    "safeguard": {
                        "mechanism": "adequacy",
                        "adequacy_decision": "us-dpf-2023",
                        "certified": True,
                        "certification_checked_on": "2026-10-01",
                    },
                },
                {
                    "country": "IN",
                    "activity": "processing",
                    "importer_subject_to_gdpr": False,
                    "safeguard": {
                        "mechanism": "scc",
                        "scc_version": "2021/914",
                        "scc_module": 2,
                        "signed_on": "2024-03-01",
                        "tia_completed_on": "2024-02-20",
                        "tia": TIA_RECORD,
                    },
                },
                {
                    "international_organisation": "epo",
                    "activity": "processing",
                    "safeguard": {"mechanism": "adequacy", "adequacy_decision": "epo-2025"},
                },
                {
                    "international_organisation": "wipo",
                    "activity": "storage",
                    "safeguard": {
                        "mechanism": "administrative_arrangement",
                        "authorised_on": "2025-05-01",
                        "reference": "Arrangement of 2025 between the authority and WIPO",
                        "exporter_public_body": True,
                        "importer_public_body": False,
                        "tia_completed_on": "2025-04-01",
                    },
                },
            ],
            "onward_transfers": [
                {
                    "name": "Alpha Backup KK",
                    "legal_entity": None,
                    "country": "JP",
                    "activity": "backup",
                },
                {"name": "Filing Desk", "international_organisation": "epo", "activity": "storage"},
            ],
            **in_use,
        },
        {
            "name": "Beta Services",
            "legal_entity": None,
            "service": "customer_support",
            "purpose": None,
            "data_categories": ["user.contact.email"],
            "exporter_role": "processor",
            "locations": [
                {
                    "country": "BR",
                    "activity": "processing",
                    "safeguard": {
                        "mechanism": "bcr",
                        "approved_on": "2023-05-01",
                        "tia": {"completed_on": "2023-04-01", "outcome": "no_reason_to_believe"},
                    },
                },
                {
                    "country": "SG",
                    "activity": "backup",
                    "safeguard": {"mechanism": "derogation", "derogation": "explicit_consent"},
                },
                {
                    "country": "SG",
                    "activity": "storage",
                    "safeguard": {
                        "mechanism": "code_of_conduct",
                        "reference": "Cloud Code of Conduct, third-country module",
                        "approved_on": "2026-03-01",
                        "binding_commitment_on": "2026-02-01",
                        "tia": {
                            "completed_on": "2026-01-15",
                            "outcome": "no_reason_to_believe",
                            "laws_assessed": ["PDPA 2012; s. 26"],
                            "supplementary_measures": [],
                        },
                    },
                },
                {
                    "country": "IN",
                    "activity": "storage",
                    "safeguard": {
                        "mechanism": "certification",
                        "reference": "Europrivacy transfer criteria, certificate 42",
                        "approved_on": "2025-01-10",
                        "binding_commitment_on": "2026-04-10",
                        "certified_on": "2026-03-20",
                        "certificate_expires_on": "2028-03-20",
                        "tia_completed_on": "2026-04-01",
                    },
                },
                {
                    "country": "CA",
                    "activity": "processing",
                    "safeguard": {
                        "mechanism": "public_authority_instrument",
                        "concluded_on": "2024-06-03",
                        "reference": "Agreement of 3 June 2024 between the two authorities",
                        "exporter_public_body": True,
                        "importer_public_body": True,
                        "tia_completed_on": "2024-05-20",
                    },
                },
                {
                    "country": "CN",
                    "activity": "processing",
                    "safeguard": {
                        "mechanism": "ad_hoc_clauses",
                        "authorised_on": "2025-09-15",
                        "reference": "Authorisation 2025/17 of the lead authority",
                        "tia_completed_on": "2025-09-01",
                    },
                },
                {
                    "country": "MX",
                    "activity": "processing",
                    "safeguard": {
                        "mechanism": "scc",
                        "scc_version": "2010/87/EU",
                        "signed_on": "2020-01-10",
                        "exporter": "controller",
                        "tia_completed_on": "2020-01-10",
                    },
                },
            ],
            **in_use,
        },
        {
            "name": "Gamma Mail",
            "legal_entity": "Gamma Mail Ltd",
            "service": "email_delivery",
            "purpose": "Transactional e-mail",
            "data_categories": ["user.contact.email"],
            "locations": [{"country": "DE", "activity": "processing"}],
            **in_use,
        },
    ]


@pytest.fixture
def admin(as_role):
    return as_role("admin")


@pytest.fixture
def stored(client, admin):
    ids = []
    for body in sub_processors():
        response = client.post(URL, json=body, headers=admin)
        assert response.status_code == 201, response.get_data(as_text=True)
        ids.append(response.get_json()["id"])
    return ids


def shown(client, headers, ids) -> dict[str, bytes]:
    """Each record as GET shows it, byte for byte, with its ETag."""
    answers = {}
    for id_ in ids:
        response = client.get(f"{URL}/{id_}", headers=headers)
        assert response.status_code == 200
        answers[id_] = (response.headers["ETag"], response.data)
    return answers


def exported(client, headers, kind: str) -> bytes:
    response = client.get(URL, query_string={"format": kind}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.data


def reimport(client, headers, kind: str, data: bytes, **query) -> dict:
    content_type = CONTENT_TYPES[kind] + ("; charset=utf-16" if kind == "excel" else "")
    return imported(client, headers, data, content_type, **query)


@pytest.mark.parametrize("kind", ["csv", "excel", "xlsx"])
def test_export_then_import_changes_nothing(client, admin, staff, registry, stored, kind):
    before = shown(client, admin, stored)
    feed = client.get(FEED, query_string={"limit": 100}, headers=admin).get_json()
    written = footprint(registry)
    data = exported(client, staff, kind)

    for dry_run in ("true", "false"):
        answer = reimport(client, staff, kind, data, dry_run=dry_run)
        assert answer["changes"] == [] and answer["warnings"] == []
        assert (answer["created"], answer["updated"], answer["unchanged"]) == (0, 0, 3)
        # The change control judges each as no change: nothing announced or pending.
        assert [(s["outcome"], s["pending_change"]) for s in answer["subprocessors"]] == [
            ("unchanged", None)
        ] * 3

    assert shown(client, admin, stored) == before
    assert footprint(registry) == written  # no version, no audit entry
    assert client.get(FEED, query_string={"limit": 100}, headers=admin).get_json() == feed
    assert exported(client, staff, kind) == data


def cells(client, headers) -> list[dict]:
    text = exported(client, headers, "csv").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_export_carries_every_field_in_its_column(client, staff, stored):
    table = cells(client, staff)
    assert list(table[0]) == list(columns.COLUMNS)
    by_place = {
        (r["name"], r["country"] or r["international_organisation"], r["activity"]): r
        for r in table
    }
    alpha = 'Alpha Cloud; "Ops", \'=Team'
    scc = by_place[(alpha, "IN", "processing")]
    assert (scc["tia_completed_on"], scc["tia_outcome"], scc["tia_review_by"]) == (
        "2024-02-20",
        "supplementary_measures",
        "2027-02-20",
    )
    assert (
        scc["tia_laws_assessed"]
        == "Information Technology Act 2000, s. 69\nCERT-In directions; 2022"
    )
    assert scc["tia_supplementary_measures"] == (
        "'-Encryption at rest, keys held in the EEA\n'=Pseudonymisation"
    )
    assert scc["exporter_role"] == "controller"
    epo = by_place[(alpha, "European Patent Organisation", "processing")]
    assert (epo["country"], epo["international_organisation"]) == (
        "",
        "European Patent Organisation",
    )
    wipo = by_place[(alpha, "World Intellectual Property Organization", "storage")]
    assert (wipo["mechanism"], wipo["exporter_public_body"], wipo["importer_public_body"]) == (
        "administrative_arrangement",
        "true",
        "false",
    )
    certificate = by_place[("Beta Services", "IN", "storage")]
    assert (certificate["certified_on"], certificate["certificate_expires_on"]) == (
        "2026-03-20",
        "2028-03-20",
    )
    instrument = by_place[("Beta Services", "CA", "processing")]
    assert (instrument["mechanism"], instrument["concluded_on"]) == (
        "public_authority_instrument",
        "2024-06-03",
    )
    assert (instrument["exporter_public_body"], instrument["importer_public_body"]) == (
        "true",
        "true",
    )
    code = by_place[("Beta Services", "SG", "storage")]
    assert code["tia_laws_assessed"] == "PDPA 2012; s. 26\n"  # one item: not split at `;`
    assert code["tia_supplementary_measures"] == ""
    old = by_place[("Beta Services", "MX", "processing")]
    assert (old["scc_version"], old["exporter"], old["exporter_role"]) == (
        "2010/87/EU",
        "controller",
        "processor",
    )
    assert by_place[("Gamma Mail", "DE", "processing")]["exporter_role"] == ""


REVIEW_LATER = days_from_today(400)


def test_an_edited_new_column_is_written_and_judged(client, admin, staff, stored):
    table = cells(client, staff)
    for values in table:
        if values["country"] == "IN" and values["activity"] == "processing":
            # Later than the stored review date on any day: the verdict is no worse.
            values["tia_review_by"] = REVIEW_LATER
            values["tia_supplementary_measures"] = "Encryption in transit; Split processing"
    answer = imported(client, staff, as_csv(table, header=list(columns.COLUMNS)))

    assert (answer["created"], answer["updated"], answer["unchanged"]) == (0, 1, 2)
    assert [(c["name"], c["field"]) for c in answer["changes"]] == [
        (table[0]["name"].replace("'=", "="), "locations")
    ]
    record = client.get(f"{URL}/{stored[0]}", headers=admin).get_json()
    tia = record["locations"][2]["safeguard"]["tia"]
    assert tia["review_by"] == REVIEW_LATER
    assert tia["supplementary_measures"] == ["Encryption in transit", "Split processing"]
    assert tia["laws_assessed"] == TIA_RECORD["laws_assessed"]


# What a person writes in the new columns


def test_labels_organisations_and_lists_as_people_write_them(client, admin, staff):
    header = [
        *columns.COLUMNS[:20],
        "International organisation",
        "Reference",
        "Binding commitment",
        "Authorised on",
        "Exporter public body",
        "Importer public body",
        "TIA outcome",
        "TIA laws assessed",
        "TIA review by",
        "Exporter role",
        "Certified on",
        "Certificate valid until",
        "Instrument concluded",
    ]
    named = {
        "International organisation": "international_organisation",
        "Binding commitment": "binding_commitment_on",
        "Authorised on": "authorised_on",
        "Exporter public body": "exporter_public_body",
        "Importer public body": "importer_public_body",
        "TIA outcome": "tia_outcome",
        "TIA laws assessed": "tia_laws_assessed",
        "TIA review by": "tia_review_by",
        "Exporter role": "exporter_role",
        "Reference": "reference",
        "Certified on": "certified_on",
        "Certificate valid until": "certificate_expires_on",
        "Instrument concluded": "concluded_on",
    }
    rows = [
        row(
            "Delta",
            country="European Patent Organisation",
            mechanism="Adequacy",
            exporter_role="processor",
        ),
        row(
            "Delta",
            country="",
            international_organisation="WIPO",
            activity="processing",
            mechanism="ADMINISTRATIVE ARRANGEMENT",
            authorised_on="2025-05-01",
            exporter_public_body="yes",
            importer_public_body="TRUE",
        ),
        row(
            "Delta",
            country="SG",
            mechanism="code of conduct",
            reference="Cloud CoC",
            approved_on="2026-03-01",
            binding_commitment_on="2026-02-01",
            tia_completed_on="2026-01-15",
            tia_outcome="no_reason_to_believe",
            tia_laws_assessed="PDPA 2012 ;  Cybersecurity Act",
            tia_review_by="2027-01-15",
        ),
        row(
            "Delta",
            country="IN",
            activity="processing",
            mechanism="Certification",
            reference="Europrivacy 42",
            approved_on="2025-01-10",
            certified_on="2025-06-02",
            certificate_expires_on="2027-06-02",
        ),
        row("Delta", country="CN", activity="backup", mechanism="Ad-hoc clauses"),
        row(
            "Delta",
            country="CA",
            activity="processing",
            mechanism="PUBLIC AUTHORITY INSTRUMENT",
            concluded_on="2024-06-03",
            exporter_public_body="yes",
            importer_public_body="yes",
        ),
    ]
    for values in rows:
        values["exporter_role"] = "processor"  # a sub-processor's column: on each of its rows
        for label, column in named.items():
            values[label] = values.pop(column, "")
    answer = imported(client, staff, as_csv(rows, header=header))

    assert answer["created"] == 1 and answer["warnings"] == []
    record = client.get(f"{URL}/{answer['subprocessors'][0]['id']}", headers=admin).get_json()
    assert record["exporter_role"] == "processor"
    places = [
        (
            where.get("country") or where["international_organisation"],
            where["safeguard"]["mechanism"],
        )
        for where in record["locations"]
    ]
    assert places == [
        ("epo", "adequacy"),
        ("wipo", "administrative_arrangement"),
        ("SG", "code_of_conduct"),
        ("IN", "certification"),
        ("CN", "ad_hoc_clauses"),
        ("CA", "public_authority_instrument"),
    ]
    certificate = record["locations"][3]["safeguard"]
    assert (certificate["certified_on"], certificate["certificate_expires_on"]) == (
        "2025-06-02",
        "2027-06-02",
    )
    assert record["locations"][5]["safeguard"]["concluded_on"] == "2024-06-03"
    assert record["locations"][1]["safeguard"]["exporter_public_body"] is True
    assert record["locations"][2]["safeguard"]["tia"] == {
        "completed_on": "2026-01-15",
        "outcome": "no_reason_to_believe",
        "laws_assessed": ["PDPA 2012", "Cybersecurity Act"],
        "review_by": "2027-01-15",
    }


def test_what_names_no_destination_or_no_tia_is_422_at_its_cell(client, staff, registry):
    written = footprint(registry)
    rows = [
        row("Epsilon", country="European Patent Office"),
        row("Epsilon", country="", international_organisation="unesco", activity="backup"),
        row(
            "Epsilon",
            country="IN",
            activity="processing",
            mechanism="scc",
            signed_on="2024-03-01",
            tia_outcome="no_reason_to_believe",
        ),
        row("Epsilon", country="SG", activity="backup", tia_review_by="2027-01-01"),
        row("Epsilon", country="DE", international_organisation="epo", activity="processing"),
    ]
    found = problem(send(client, staff, as_csv(rows, header=list(columns.COLUMNS))), 422)

    where = {(e["row"], e["pointer"]) for e in found["errors"]}
    assert where == {
        (2, "/country"),
        (3, "/international_organisation"),
        (4, "/tia_completed_on"),
        (5, "/tia_review_by"),
        (6, "/international_organisation"),  # a country and an organisation: one or the other
    }
    detail = {(e["row"], e["pointer"]): e["detail"] for e in found["errors"]}
    assert "epo (European Patent Organisation)" in detail[2, "/country"]
    assert "GET /v1/international-organisations" in detail[3, "/international_organisation"]
    assert footprint(registry) == written


def test_empty_new_columns_keep_what_they_would_say(client, admin, staff, stored):
    """A sheet from before the new columns imports: a record they do not concern is unchanged,
    and an empty `exporter_role` keeps the role."""
    before = shown(client, admin, stored)
    table = cells(client, staff)
    gamma = [r for r in table if r["name"] == "Gamma Mail"]
    older = imported(client, staff, as_csv(gamma, header=list(columns.COLUMNS[:20])))
    assert (older["unchanged"], older["changes"]) == (1, [])

    for values in table:
        values["exporter_role"] = ""
    answer = imported(client, staff, as_csv(table, header=list(columns.COLUMNS)))
    assert (answer["unchanged"], answer["changes"]) == (3, [])
    assert shown(client, admin, stored) == before
