"""Bulk work: POST /v1/subprocessors/import, the CSV and XLSX export, `registry import`."""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import datetime

import openpyxl
import pytest
from helpers import IN, NL, URL, days_from_today, nimbus, problem, vendor

from registry.audit import service as audit
from registry.bulk import columns
from registry.db.store import current_revision

IMPORT = f"{URL}/import"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = [
    "id",
    "name",
    "legal_entity",
    "service",
    "purpose",
    "data_categories",
    "effective_on",
    "already_in_use",
    "country",
    "activity",
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
    "international_organisation",
    "reference",
    "binding_commitment_on",
    "authorised_on",
    "exporter_public_body",
    "importer_public_body",
    "exporter",
    "tia_outcome",
    "tia_laws_assessed",
    "tia_supplementary_measures",
    "tia_review_by",
    "exporter_role",
    "certified_on",
    "certificate_expires_on",
    "concluded_on",
]


def row(name: str = "Acme", **cells) -> dict:
    """One row of the columns: a vendor in use since 2025, storing e-mail addresses in DE."""
    values = dict.fromkeys(COLUMNS, "")
    values.update(
        name=name,
        service="other",
        data_categories="user.contact.email",
        effective_on="2025-01-01",
        already_in_use="true",
        country="DE",
        activity="storage",
    )
    values.update(cells)
    return values


def as_csv(rows: list[dict], *, delimiter: str = ",", header=COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    for values in rows:
        writer.writerow([values.get(column, "") for column in header])
    return buffer.getvalue().encode("utf-8")


def send(client, headers, body: bytes | str, content_type: str = CSV, **query):
    return client.post(
        IMPORT, data=body, query_string=query, headers={**headers, "Content-Type": content_type}
    )


def imported(client, headers, body, content_type: str = CSV, **query) -> dict:
    response = send(client, headers, body, content_type, **query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def export(client, headers, media_type: str = CSV, **query):
    response = client.get(URL, query_string=query, headers={**headers, "Accept": media_type})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == media_type
    return response


def listed(client, headers) -> list[dict]:
    response = client.get(URL, query_string={"limit": 100}, headers=headers)
    assert response.status_code == 200
    return response.get_json()["items"]


def footprint(registry) -> tuple[int, int]:
    """The revision and the audit trail's length: any write moves both."""
    conn = registry.db.connection()
    return current_revision(conn), len(list(audit.entries(conn)))


def create(client, headers, body: dict) -> dict:
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


# Import: counts, matching by name, all or nothing


def test_import_creates_updates_and_leaves_unchanged(client, staff):
    create(client, staff, vendor("Kept", effective_on="2025-01-01"))
    create(client, staff, vendor("Changed", effective_on="2025-01-01"))
    create(client, staff, vendor("Respelt", effective_on="2025-01-01"))
    body = as_csv(
        [
            row("Kept"),
            row("Changed", purpose="Support mailbox"),
            row("New"),
            row("New", country="NL", activity="backup"),
            row("RESPELT"),  # names match as everywhere: this one is renamed, not added
        ]
    )

    result = imported(client, staff, body)

    assert (result["created"], result["updated"], result["unchanged"]) == (1, 2, 1)
    assert result["rows"] == 5
    outcomes = {e["name"]: (e["row"], e["outcome"]) for e in result["subprocessors"]}
    assert outcomes == {
        "Kept": (2, "unchanged"),
        "Changed": (3, "updated"),
        "New": (4, "created"),
        "RESPELT": (6, "updated"),
    }
    by_name = {item["name"]: item for item in listed(client, staff)}
    assert sorted(by_name) == ["Changed", "Kept", "New", "RESPELT"]
    assert by_name["Changed"]["purpose"] == "Support mailbox"
    assert by_name["Changed"]["version"] == 2
    assert [loc["country"] for loc in by_name["New"]["locations"]] == ["DE", "NL"]
    assert by_name["New"]["already_in_use"] is True


def test_an_import_of_a_json_array_takes_post_bodies(client, staff):
    create(client, staff, nimbus())
    body = [nimbus(purpose="Changed"), vendor("Acme", effective_on="2025-01-01")]

    result = imported(client, staff, json.dumps(body), "application/json")

    assert (result["created"], result["updated"], result["unchanged"]) == (1, 1, 0)
    bad = [vendor("Acme", effective_on="2025-01-01"), nimbus(locations=[{"country": "XX"}])]
    found = problem(send(client, staff, json.dumps(bad), "application/json"), 422)
    assert {"row": 2, "pointer": "/locations/0/country"} in [
        {k: e[k] for k in ("row", "pointer")} for e in found["errors"]
    ]


def test_a_dry_run_checks_and_writes_nothing(client, staff, registry):
    create(client, staff, vendor("Changed", effective_on="2025-01-01"))
    before = footprint(registry)

    result = imported(
        client, staff, as_csv([row("Changed", purpose="New purpose"), row("New")]), dry_run="true"
    )

    assert result["dry_run"] is True
    assert (result["created"], result["updated"]) == (1, 1)
    assert [e["id"] for e in result["subprocessors"] if e["outcome"] == "created"] == [None]
    assert footprint(registry) == before
    assert [item["name"] for item in listed(client, staff)] == ["Changed"]
    # A dry run of a bad file is the same 422 as the import.
    bad = as_csv([row("New", country="XX")])
    assert problem(send(client, staff, bad, dry_run="true"), 422)["errors"][0]["row"] == 2


def test_a_bad_row_in_the_middle_is_422_at_its_row_and_column_and_nothing_is_written(
    client, staff, registry
):
    create(client, staff, vendor("Changed", effective_on="2025-01-01"))
    before = footprint(registry)
    rows = [row(f"Vendor {n}") for n in range(5)]
    rows.insert(
        3,
        row(
            "Vendor 1",
            country="NL",
            mechanism="scc",
            scc_version="2021/914",
            scc_module="7",
            signed_on="2024-03-01",
        ),
    )
    rows.append(row("Changed", purpose="Changed"))

    found = problem(send(client, staff, as_csv(rows)), 422)

    assert found["errors"] == [
        {
            "row": 5,  # the header is row 1
            "pointer": "/scc_module",
            "detail": "Must be greater than or equal to 1 and less than or equal to 4.",
        }
    ]
    assert "Row 5, /scc_module" in found["detail"]
    assert footprint(registry) == before
    assert [item["purpose"] for item in listed(client, staff)] == [None]


def test_each_error_names_its_row_and_column(client, staff):
    rows = [
        row("A", country="XX"),
        row("B", data_categories="user.nope"),
        row("C", mechanism="adequacy", certified="maybe", country="US", activity="processing"),
        row("D", signed_on="2024-01-01"),  # a safeguard's column without a mechanism
        row("E", effective_on="01/02/2025"),
        row("", country="NL"),
    ]

    errors = problem(send(client, staff, as_csv(rows)), 422)["errors"]

    assert [(e["row"], e["pointer"]) for e in errors] == [
        (2, "/country"),
        (3, "/data_categories"),
        (4, "/certified"),
        (5, "/signed_on"),
        (6, "/effective_on"),
        (7, "/name"),
    ]


def test_rows_of_one_subprocessor_must_agree_on_its_columns(client, staff, registry):
    before = footprint(registry)
    rows = [
        row("Acme", legal_entity="Acme BV"),
        row("Acme", legal_entity="Acme GmbH", country="NL"),
    ]

    errors = problem(send(client, staff, as_csv(rows)), 422)["errors"]

    assert [(e["row"], e["pointer"]) for e in errors] == [(3, "/legal_entity")]
    assert "row 2" in errors[0]["detail"]
    assert footprint(registry) == before


def test_unknown_columns_are_warnings_missing_ones_empty_and_repeated_ones_422(client, staff):
    header = [*COLUMNS, "notes"]
    answer = imported(client, staff, as_csv([row()], header=header), dry_run="true")
    assert [(w["row"], w["pointer"]) for w in answer["warnings"]] == [(1, "/notes")]

    answer = imported(client, staff, as_csv([row()], header=COLUMNS[:-1]), dry_run="true")
    assert (answer["created"], answer["warnings"]) == (1, [])

    without_name = [column for column in COLUMNS if column != "name"]
    found = problem(send(client, staff, as_csv([row()], header=without_name)), 422)
    assert "No header row" in found["detail"]

    found = problem(send(client, staff, as_csv([row()], header=[*COLUMNS, "name"])), 422)
    assert [e["pointer"] for e in found["errors"]] == ["/name"]


@pytest.mark.parametrize("body", [b"", b"  \r\n", ",".join(COLUMNS).encode() + b"\r\n"])
def test_an_empty_file_is_422(client, staff, body):
    found = problem(send(client, staff, body), 422)
    assert "empty" in found["detail"] or "no rows" in found["detail"]


def test_change_control_applies_as_to_a_post(client, staff, registry):
    before = footprint(registry)
    rows = [row("Fine"), row("Too soon", already_in_use="", effective_on=days_from_today(7))]

    errors = problem(send(client, staff, as_csv(rows)), 422)["errors"]

    assert [(e["row"], e["pointer"]) for e in errors] == [(3, "/effective_on")]
    assert "30 days" in errors[0]["detail"]
    assert footprint(registry) == before
    # With the notice it is announced, as a POST would be.
    result = imported(client, staff, as_csv([row("Later", already_in_use="", effective_on="")]))
    (later,) = listed(client, staff)
    assert result["created"] == 1 and later["status"] == "proposed"
    assert later["effective_on"] == days_from_today(30)


def test_a_material_change_is_announced_and_pending(client, staff):
    create(client, staff, vendor("Acme", effective_on="2025-01-01"))
    rows = [
        row("Acme"),
        row(
            "Acme",
            country="IN",
            activity="processing",
            mechanism="scc",
            scc_version="2021/914",
            scc_module="3",
            signed_on="2024-03-01",
        ),
    ]

    result = imported(client, staff, as_csv(rows))

    (entry,) = result["subprocessors"]
    assert entry["outcome"] == "updated" and entry["pending_change"]
    (acme,) = listed(client, staff)
    assert [loc["country"] for loc in acme["locations"]] == ["DE"]  # still in force
    assert acme["pending_change"]["change_id"] == entry["pending_change"]
    # The same file again: the change is already announced, nothing more happens.
    assert imported(client, staff, as_csv(rows))["subprocessors"][0]["outcome"] == "unchanged"


def test_imported_writes_are_audited_and_in_the_change_feed(client, staff, as_role):
    create(client, staff, vendor("Changed", effective_on="2025-01-01"))
    admin = as_role("admin")
    audit_before = client.get("/v1/audit", query_string={"limit": 100}, headers=admin).get_json()
    feed_before = client.get("/v1/changes", query_string={"limit": 100}, headers=admin).get_json()

    imported(
        client,
        staff,
        as_csv(
            [
                row("Changed", purpose="Changed"),
                row("Recorded"),
                row("Announced", already_in_use="", effective_on=""),
            ]
        ),
    )

    trail = client.get("/v1/audit", query_string={"limit": 100}, headers=admin).get_json()
    added = trail["items"][len(audit_before["items"]) :]
    assert sorted((e["action"], e["actor"]["role"]) for e in added) == [
        ("subprocessor.create", "procurement"),
        ("subprocessor.create", "procurement"),
        ("subprocessor.update", "procurement"),
    ]
    feed = client.get("/v1/changes", query_string={"limit": 100}, headers=admin).get_json()
    types = [e["type"] for e in feed["items"][len(feed_before["items"]) :]]
    assert sorted(types) == [
        "subprocessor.announced",
        "subprocessor.changed",
        "subprocessor.recorded",
    ]


def test_an_import_keeps_onward_transfers_and_what_the_columns_cannot_say(client, staff):
    onward = {"name": "Backups Ltd", "country": "CH", "activity": "backup"}
    attested = {
        "country": "CA",
        "activity": "processing",
        "importer_subject_to_gdpr": True,
        "safeguard": {
            "mechanism": "adequacy",
            "adequacy_decision": "ca-2002",
            "scope_attestations": {"pipeda_applies": True},
        },
    }
    body = nimbus(locations=[copy.deepcopy(NL), attested], onward_transfers=[onward])
    stored = create(client, staff, body)

    exported = export(client, staff).data
    result = imported(client, staff, exported.replace(b"Hosting of", b"Still hosting of"))

    assert result["updated"] == 1
    (after,) = listed(client, staff)
    assert after["purpose"] == "Still hosting of the login service"
    assert after["onward_transfers"] == stored["onward_transfers"]
    assert after["locations"] == stored["locations"]


# Reading what spreadsheets write


def test_bom_semicolons_crlf_and_excel_quoting_are_read(client, staff):
    purpose = 'Tickets; "urgent" ones,\r\nand the rest'
    body = b"\xef\xbb\xbf" + as_csv(
        [row("Acme; Co", purpose=purpose), row("Acme; Co", purpose=purpose, country="NL")],
        delimiter=";",
    )
    assert b'"Tickets; ""urgent"" ones,\r\nand the rest"' in body
    assert body.count(b"\r\n") == 5  # the header, two rows, a line break in each

    result = imported(client, staff, body)

    assert result["created"] == 1
    (acme,) = listed(client, staff)
    assert acme["name"] == "Acme; Co"
    assert acme["purpose"] == purpose
    assert [loc["country"] for loc in acme["locations"]] == ["DE", "NL"]


def test_tab_separated_and_excel_booleans_are_read(client, staff):
    body = as_csv([row(already_in_use="TRUE")], delimiter="\t")
    assert imported(client, staff, body)["created"] == 1


def test_a_csv_that_is_not_utf8_is_400(client, staff):
    body = as_csv([row("Café")]).decode().encode("latin-1")
    assert "UTF-8" in problem(send(client, staff, body), 400)["detail"]


def test_a_broken_workbook_is_400_and_another_media_type_415(client, staff):
    problem(send(client, staff, b"PK\x03\x04 not really", XLSX), 400)
    problem(send(client, staff, b"[", "application/json"), 400)
    problem(send(client, staff, as_csv([row()]), "text/plain"), 415)


# Export


def test_export_is_the_whole_register_in_the_columns(client, staff):
    for n in range(60):  # more than a page
        create(client, staff, vendor(f"Vendor {n:02d}", effective_on="2025-01-01"))
    create(client, staff, nimbus())

    response = export(client, staff)

    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert table[0] == COLUMNS
    assert len(table) == 1 + 60 + 3
    nimbus_rows = [r for r in table if r[1] == "Nimbus Hosting"]
    assert [r[8] for r in nimbus_rows] == ["NL", "US", "IN"]
    assert {r[0] for r in nimbus_rows} == {
        item["id"] for item in listed(client, staff) if item["name"] == "Nimbus Hosting"
    }
    assert nimbus_rows[2][10:] == [
        "scc",
        "",
        "",
        "",
        "2021/914",
        "3",
        "2024-03-01",
        "",
        "",
        "2024-02-20",
    ] + [""] * len(columns.ADDED_COLUMNS)
    assert nimbus_rows[0][5] == "user.account.username user.contact.email user.device.ip_address"
    only_hosting = export(client, staff, service="hosting").get_data(as_text=True)
    assert len(only_hosting.splitlines()) == 1 + 3


@pytest.mark.parametrize("media_type", [CSV, XLSX])
def test_export_then_import_is_unchanged_for_every_row(client, staff, patch, media_type):
    create(client, staff, nimbus(legal_entity=None, purpose="Line one\nline two"))
    create(client, staff, vendor("Later", copy.deepcopy(IN)))
    pending = create(client, staff, vendor("Pending", effective_on="2025-01-01"))
    patch(pending["id"], {"locations": [{"country": "DE", "activity": "storage"}, NL]})
    create(
        client,
        staff,
        vendor(
            "Onward",
            effective_on="2025-01-01",
            onward_transfers=[{"name": "Sub", "country": "FR", "activity": "storage"}],
        ),
    )
    before = listed(client, staff)

    result = imported(client, staff, export(client, staff, media_type).data, media_type)

    assert result["unchanged"] == len(before) == 4
    assert result["created"] == result["updated"] == 0
    assert listed(client, staff) == before


def test_formula_cells_are_neutralised_on_export_and_round_trip(client, staff):
    names = ['=HYPERLINK("x")', "+Plus", "-Minus", "@At", "'=Quoted", "Plain 'quote"]
    for name in names:
        create(client, staff, vendor(name, effective_on="2025-01-01", purpose="\tTabbed"))

    text = export(client, staff).get_data(as_text=True)
    cells = [r[1] for r in csv.reader(io.StringIO(text, newline=""))][1:]
    assert cells == ['\'=HYPERLINK("x")', "'+Plus", "'-Minus", "'@At", "''=Quoted", "Plain 'quote"]
    assert all(
        r[4] == "'\tTabbed" for r in csv.reader(io.StringIO(text, newline="")) if r[4] != "purpose"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(export(client, staff, XLSX).data)).active
    assert [cell.value for cell in sheet["B"]][1:] == cells
    assert all(cell.data_type == "s" for cell in sheet["B"])

    assert imported(client, staff, text)["unchanged"] == len(names)
    assert sorted(item["name"] for item in listed(client, staff)) == sorted(names)


def test_an_exported_xlsx_edited_in_a_spreadsheet_imports(client, staff):
    create(client, staff, vendor("Acme", effective_on="2025-01-01"))
    workbook = openpyxl.load_workbook(io.BytesIO(export(client, staff, XLSX).data))
    sheet = workbook.active
    # A date typed into a cell is a date, a ticked box a boolean.
    sheet.append(
        [
            None,  # no id: matched by name
            "Acme",
            None,
            "other",
            None,
            "user.contact.email",
            datetime(2025, 1, 1),
            True,
            "NL",
            "backup",
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = imported(client, staff, buffer.getvalue(), XLSX)

    assert result["updated"] == 1 and result["subprocessors"][0]["pending_change"]


# Limits and roles


def test_over_10000_rows_is_413(client, staff, registry):
    before = footprint(registry)
    body = as_csv([row(f"V{n}") for n in range(10_001)])
    found = problem(send(client, staff, body), 413)
    assert "10,000" in found["detail"]
    assert footprint(registry) == before


def test_over_the_body_limit_is_413(app_with, tokens):
    client = app_with(max_import=2048).test_client()
    headers = {"Authorization": f"Bearer {tokens['procurement']}"}
    body = as_csv([row(f"Vendor {n}") for n in range(40)])
    assert len(body) > 2048
    found = problem(send(client, headers, body), 413)
    assert "REGISTRY_MAX_IMPORT" in found["detail"]
    assert send(client, headers, as_csv([row()])).status_code == 200


def test_an_export_larger_than_an_import_is_refused_before_a_byte(client, staff, monkeypatch):
    monkeypatch.setattr(columns, "MAX_ROWS", 4)
    create(client, staff, nimbus())  # three rows
    export(client, staff)
    create(client, staff, vendor("Fourth", effective_on="2025-01-01"))
    create(client, staff, vendor("Fifth", effective_on="2025-01-01"))

    found = problem(client.get(URL, headers={**staff, "Accept": CSV}), 422)

    assert "more than 4 rows" in found["detail"]
    assert len(export(client, staff, service="hosting").data.splitlines()) == 1 + 3
    for query in ({"at": "2026-11-01"}, {"flagged": "true"}):
        found = problem(client.get(URL, query_string=query, headers={**staff, "Accept": CSV}), 422)
        assert found["errors"][0]["pointer"] == f"/{next(iter(query))}"


@pytest.mark.parametrize("role", ["service", "customer_a"])
def test_only_staff_import_and_export(client, as_role, role, registry):
    before = footprint(registry)
    problem(send(client, as_role(role), as_csv([row()])), 403)
    problem(client.get(URL, headers=as_role(role, Accept=CSV)), 403)
    assert client.get(URL, headers=as_role(role)).status_code == 200  # JSON as before
    assert footprint(registry) == before
    problem(send(client, {}, as_csv([row()])), 401)


# The command


def test_registry_import_writes_and_summarises(runner, client, staff, tmp_path, registry):
    kept = create(client, staff, vendor("Kept", effective_on="2025-01-01"))["id"]
    path = tmp_path / "register.csv"
    path.write_bytes(as_csv([row("Kept"), row("New")]))

    dry = runner.invoke(args=["import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 created, 0 updated, 1 unchanged (dry run: nothing written)" in dry.stdout
    assert len(listed(client, staff)) == 1

    done = runner.invoke(args=["import", str(path)])
    assert done.exit_code == 0, done.output
    assert "2 rows, 2 sub-processors: 1 created, 0 updated, 1 unchanged." in done.stdout
    assert [item["name"] for item in listed(client, staff)] == ["Kept", "New"]
    (entry,) = [e for e in audit.entries(registry.db.connection()) if e["object_id"] != kept]
    assert entry["actor"]["name"] == "registry import"


def test_registry_import_exits_1_with_the_rows_at_fault(runner, tmp_path, registry):
    before = footprint(registry)
    path = tmp_path / "register.csv"
    path.write_bytes(as_csv([row("Fine"), row("Bad", country="XX")]))

    result = runner.invoke(args=["import", str(path)])

    assert result.exit_code == 1
    assert "row 3 /country: 'XX' is not an ISO 3166-1 alpha-2 country code" in result.stderr
    assert footprint(registry) == before


def test_registry_import_reads_xlsx_and_json(runner, tmp_path, client, staff):
    workbook = openpyxl.Workbook()
    workbook.active.append(COLUMNS)
    workbook.active.append(list(row("From XLSX").values()))
    workbook.save(tmp_path / "register.xlsx")
    (tmp_path / "register.json").write_text(json.dumps([vendor("From JSON")]))

    for name in ("register.xlsx", "register.json"):
        result = runner.invoke(args=["import", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert sorted(i["name"] for i in listed(client, staff)) == ["From JSON", "From XLSX"]
    assert runner.invoke(args=["import", str(tmp_path / "register.odt")]).exit_code == 2
