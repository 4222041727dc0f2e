"""The sheet procurement already keeps: synonyms, title rows, country names, labels, warnings."""

from __future__ import annotations

import csv
import io

import openpyxl
from helpers import problem

IMPORT = "/v1/subprocessors/import"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = [
    "Vendor",
    "Service",
    "Personal data",
    "Location(s)",
    "Processing Activity",
    "Transfer mechanism",
    "SCC module",
    "Date signed",
    "Effective date",
    "In use",
    "Owner",
    "",
]
SHEET = [
    ["Sub-processors 2026 (procurement)"],
    [],
    HEADER,
    [
        "Nimbus Hosting",
        "hosting",
        "user.contact.email; user.name",
        "Ireland; Germany; United States",
        "storage",
        "EU-US DPF",
        "",
        "",
        "2025-01-01",
        "yes",
        "Alice",
        "",
    ],
    [
        "Tally Analytics",
        "other",
        "user.contact.email, user.device",
        "India",
        "processing",
        "SCCs",
        "Module 3",
        "2024-03-01",
        "2025-01-01",
        "TRUE",
        "Bob",
        "",
    ],
    [
        "Mailer Ltd",
        "other",
        "user.contact.email",
        "UK",
        "processing",
        "n/a",
        "",
        "",
        "2025-01-01",
        "yes",
        "",
        "",
    ],
]


def as_csv(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def as_xlsx(rows) -> bytes:
    workbook = openpyxl.Workbook()
    for cells in rows:
        workbook.active.append(cells or [None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def send(client, headers, body: bytes, content_type: str = CSV, **query):
    return client.post(
        IMPORT, data=body, query_string=query, headers={**headers, "Content-Type": content_type}
    )


def test_procurements_sheet_imports_with_no_edits_in_csv_and_xlsx(client, staff):
    for body, media_type in ((as_csv(SHEET), CSV), (as_xlsx(SHEET), XLSX)):
        response = send(client, staff, body, media_type, dry_run="true")
        assert response.status_code == 200, response.get_data(as_text=True)
        answer = response.get_json()
        assert (answer["created"], answer["rows"]) == (3, 3)
        # The header is row 3, below a title and a blank row; the Owner column is ignored.
        assert [e["row"] for e in answer["subprocessors"]] == [4, 5, 6]
        assert answer["warnings"] == [
            {"row": 3, "pointer": "/Owner", "detail": answer["warnings"][0]["detail"]}
        ]
        assert "Owner" in answer["warnings"][0]["detail"]

    answer = send(client, staff, as_xlsx(SHEET), XLSX).get_json()
    assert answer["created"] == 3
    listed = {
        record["name"]: record
        for record in client.get("/v1/subprocessors", headers=staff).get_json()["items"]
    }
    nimbus = listed["Nimbus Hosting"]
    assert nimbus["data_categories"] == ["user.contact.email", "user.name"]
    assert [loc["country"] for loc in nimbus["locations"]] == ["IE", "DE", "US"]
    # One activity for all three; the safeguard only where a transfer needs one.
    assert {loc["activity"] for loc in nimbus["locations"]} == {"storage"}
    assert [loc.get("safeguard") for loc in nimbus["locations"][:2]] == [None, None]
    dpf = nimbus["locations"][2]["safeguard"]
    assert (dpf["mechanism"], dpf["adequacy_decision"], dpf["certified"]) == (
        "adequacy",
        "us-dpf-2023",
        True,
    )
    tally = listed["Tally Analytics"]
    assert tally["data_categories"] == ["user.contact.email", "user.device"]
    scc = tally["locations"][0]["safeguard"]
    assert (scc["mechanism"], scc["scc_version"], scc["scc_module"]) == ("scc", "2021/914", 3)
    mailer = listed["Mailer Ltd"]["locations"][0]
    assert (mailer["country"], mailer.get("safeguard")) == ("GB", None)


def test_labels_in_any_case_and_codes_or_names(client, staff):
    sheet = [
        [
            "sub processor",
            "SERVICE",
            "data categories",
            "Countries",
            "activity",
            "SAFEGUARD",
            "signed on",
        ],
        ["A", "other", "user.name", "united kingdom, de", "processing", "none", ""],
        ["B", "other", "user.name user.contact.email", "usa", "processing", "dpf", ""],
        [
            "C",
            "other",
            "user.name",
            "Korea, Republic of",
            "processing",
            "scc module 2",
            "2024-01-01",
        ],
        ["D", "other", "user.name", "IND", "processing", "Module 3", "2024-01-01"],
        ["E", "other", "user.name", "NL", "processing", "EEA", ""],
    ]
    answer = send(client, staff, as_csv(sheet), dry_run="true")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["warnings"] == []


def test_every_error_at_once_with_suggestions(client, staff):
    sheet = [
        ["Vendor", "Service", "Data categories", "Location(s)", "Activity", "Mechanism"],
        ["A", "other", "user.contact.emial", "Germny; France", "storage", ""],
        ["B", "other", "user.name", "Narnia", "storage", ""],
        ["C", "other", "user.name", "DE", "storage", "pinky promise"],
    ]
    found = problem(send(client, staff, as_csv(sheet)), 422)
    errors = {(e["row"], e["pointer"]): e["detail"] for e in found["errors"]}
    assert set(errors) == {
        (2, "/data_categories"),
        (2, "/country"),
        (3, "/country"),
        (4, "/mechanism"),
    }
    assert "'DE' (Germany)" in errors[(2, "/country")]
    assert "user.contact.email" in errors[(2, "/data_categories")]
    assert "/v1/data-categories" in errors[(2, "/data_categories")]
    assert "Narnia" in errors[(3, "/country")]


def test_a_sheet_without_a_header_or_a_country_column_is_422(client, staff):
    found = problem(send(client, staff, as_csv([["Owner", "Notes"], ["a", "b"]])), 422)
    assert "No header row" in found["detail"]
    found = problem(send(client, staff, as_csv([["Vendor", "Service"], ["a", "other"]])), 422)
    assert [(e["row"], e["pointer"]) for e in found["errors"]] == [(1, "")]
    assert "country" in found["detail"]
    found = problem(
        send(client, staff, as_csv([["Vendor", "name", "Country"], ["a", "a", "DE"]])), 422
    )
    assert [e["pointer"] for e in found["errors"]] == ["/name"]


def test_data_categories_are_public_and_cacheable(client):
    response = client.get("/v1/data-categories")
    assert response.status_code == 200
    items = {item["key"]: item for item in response.get_json()["items"]}
    assert items["user.contact.email"]["parent_key"] == "user.contact"
    assert items["user.contact.email"]["name"]
    assert "public" in response.headers["Cache-Control"]
    again = client.get("/v1/data-categories", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["ETag"] == response.headers["ETag"]


def test_registry_import_reads_the_sheet_and_prints_its_warnings(runner, tmp_path, registry):
    path = tmp_path / "vendors.xlsx"
    path.write_bytes(as_xlsx(SHEET))

    result = runner.invoke(args=["import", str(path)])

    assert result.exit_code == 0, result.output
    assert "3 created" in result.stdout
    assert "warning: row 3 /Owner: Column 11, 'Owner', is not one" in result.stderr
