"""An import matches rows by the export's `id` first, then by name; a dry run lists its changes."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from helpers import NL, URL, nimbus, problem, vendor

from registry.audit import service as audit
from registry.db.store import current_revision

IMPORT = f"{URL}/import"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def create(client, headers, body: dict) -> dict:
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def exported(client, headers) -> list[list[str]]:
    response = client.get(URL, headers={**headers, "Accept": CSV})
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))


def as_csv(table: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(table)
    return buffer.getvalue().encode("utf-8")


def send(client, headers, body: bytes, content_type: str = CSV, **query):
    return client.post(
        IMPORT, data=body, query_string=query, headers={**headers, "Content-Type": content_type}
    )


def imported(client, headers, body: bytes, content_type: str = CSV, **query) -> dict:
    response = send(client, headers, body, content_type, **query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def listed(client, headers) -> list[dict]:
    response = client.get(URL, query_string={"limit": 100}, headers=headers)
    assert response.status_code == 200
    return response.get_json()["items"]


def footprint(registry) -> tuple[int, int]:
    conn = registry.db.connection()
    return current_revision(conn), len(list(audit.entries(conn)))


def renamed(table: list[list[str]], old: str, new: str) -> list[list[str]]:
    """The sheet with every row of `old` renamed (the `name` column, the second)."""
    header = table[0]
    assert header[:2] == ["id", "name"]
    return [header] + [[r[0], new if r[1] == old else r[1], *r[2:]] for r in table[1:]]


@pytest.fixture
def register(client, staff) -> dict[str, dict]:
    """Two sub-processors, one of them in three countries (three rows of the export)."""
    return {
        "Nimbus Hosting": create(client, staff, nimbus()),
        "Acme": create(client, staff, vendor("Acme", NL, effective_on="2025-01-01")),
    }


def test_the_export_gives_each_row_its_subprocessors_id(client, staff, register):
    table = exported(client, staff)

    assert table[0][0] == "id"
    assert {(r[1], r[0]) for r in table[1:]} == {(n, r["id"]) for n, r in register.items()}
    assert len(table) == 1 + 3 + 1


@pytest.mark.parametrize("media_type", [CSV, XLSX])
def test_a_name_changed_in_the_export_renames_the_same_subprocessor(
    client, staff, register, media_type
):
    table = renamed(exported(client, staff), "Nimbus Hosting", "Nimbus Cloud")
    if media_type == XLSX:
        workbook = openpyxl.Workbook()
        for line in table:
            workbook.active.append(line)
        buffer = io.BytesIO()
        workbook.save(buffer)
        body = buffer.getvalue()
    else:
        body = as_csv(table)

    result = imported(client, staff, body, media_type)

    nimbus_id = register["Nimbus Hosting"]["id"]
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 1)
    assert [e["id"] for e in result["subprocessors"] if e["outcome"] == "updated"] == [nimbus_id]
    assert {item["id"] for item in listed(client, staff)} == {nimbus_id, register["Acme"]["id"]}
    # Nimbus is in use: a new name is a material change, announced on the same record.
    record = client.get(f"{URL}/{nimbus_id}", headers=staff).get_json()
    assert record["pending_change"]["changes"]["name"] == "Nimbus Cloud"
    # Imported again, the sheet still matches the record by its id: nothing new.
    again = imported(client, staff, body, media_type)
    assert (again["created"], again["updated"]) == (0, 0)
    assert result["changes"] == [
        {
            "id": register["Nimbus Hosting"]["id"],
            "name": "Nimbus Cloud",
            "field": "name",
            "from": "Nimbus Hosting",
            "to": "Nimbus Cloud",
        }
    ]


def test_a_dry_run_lists_the_changes_and_writes_nothing(client, staff, register, registry):
    table = renamed(exported(client, staff), "Acme", "Acme Europe")
    acme = next(r for r in table if r[1] == "Acme Europe")
    acme[table[0].index("purpose")] = "Support mailbox"
    table.append(["", "Brand New", "", "other", "", "user.contact.email", "", "", "NL", "storage"])
    before, listed_before = footprint(registry), listed(client, staff)

    result = imported(client, staff, as_csv(table), dry_run="true")

    assert footprint(registry) == before
    assert listed(client, staff) == listed_before
    assert (result["created"], result["updated"], result["unchanged"]) == (1, 1, 1)
    acme_id = register["Acme"]["id"]
    changes = [(c["id"], c["name"], c["field"], c["from"], c["to"]) for c in result["changes"]]
    assert (acme_id, "Acme Europe", "name", "Acme", "Acme Europe") in changes
    assert (acme_id, "Acme Europe", "purpose", register["Acme"]["purpose"], "Support mailbox") in (
        changes
    )
    assert not [c for c in changes if c[1] == "Nimbus Hosting"]  # unchanged: not listed
    new = {c[2]: (c[0], c[3], c[4]) for c in changes if c[1] == "Brand New"}
    assert new["name"] == (None, None, "Brand New")
    assert new["service"] == (None, None, "other")
    assert new["locations"] == (None, None, [{"country": "NL", "activity": "storage"}])


def test_an_unknown_id_is_422_at_its_row_and_nothing_is_written(client, staff, register, registry):
    table = exported(client, staff)
    acme_row = next(i for i, r in enumerate(table) if r[1] == "Acme")
    table[acme_row][0] = "sp_0000000000000000"
    table[acme_row][1] = "Acme Renamed"
    before = footprint(registry)

    found = problem(send(client, staff, as_csv(table)), 422)

    assert [(e["row"], e["pointer"]) for e in found["errors"]] == [(acme_row + 1, "/id")]
    assert "sp_0000000000000000" in found["errors"][0]["detail"]
    assert footprint(registry) == before
    assert "Acme Renamed" not in {item["name"] for item in listed(client, staff)}
    # The same for a dry run.
    found = problem(send(client, staff, as_csv(table), dry_run="true"), 422)
    assert [e["pointer"] for e in found["errors"]] == ["/id"]


def test_an_empty_id_falls_back_to_the_name(client, staff, register):
    table = exported(client, staff)
    blank = [table[0]] + [["", *r[1:]] for r in table[1:]]

    assert imported(client, staff, as_csv(blank))["unchanged"] == 2
    # Without an id, a new name is a new sub-processor.
    result = imported(client, staff, as_csv(renamed(blank, "Acme", "Acme Europe")))
    assert (result["created"], result["unchanged"]) == (1, 1)
    assert sorted(item["name"] for item in listed(client, staff)) == [
        "Acme",
        "Acme Europe",
        "Nimbus Hosting",
    ]


def test_one_id_for_two_subprocessors_or_two_ids_for_one_is_422(client, staff, register):
    table = exported(client, staff)
    nimbus_rows = [i for i, r in enumerate(table) if r[1] == "Nimbus Hosting"]
    acme_row = next(i for i, r in enumerate(table) if r[1] == "Acme")

    twice = [list(r) for r in table]
    twice[acme_row][0] = register["Nimbus Hosting"]["id"]
    found = problem(send(client, staff, as_csv(twice)), 422)
    assert [e["pointer"] for e in found["errors"]] == ["/id"]

    split = [list(r) for r in table]
    split[nimbus_rows[1]][0] = register["Acme"]["id"]
    found = problem(send(client, staff, as_csv(split)), 422)
    assert [(e["row"], e["pointer"]) for e in found["errors"]] == [(nimbus_rows[1] + 1, "/id")]

    # A row added without an id joins the rows of its name that have one.
    added = [list(r) for r in table] + [["", *table[acme_row][1:]]]
    added[-1][table[0].index("country")] = "FR"
    result = imported(client, staff, as_csv(added))
    assert [e["id"] for e in result["subprocessors"] if e["outcome"] != "unchanged"] == [
        register["Acme"]["id"]
    ]


def test_a_json_element_may_name_its_id(client, staff, register):
    body = [{**nimbus(), "id": register["Nimbus Hosting"]["id"], "name": "Nimbus Cloud"}]

    result = imported(client, staff, json.dumps(body).encode(), "application/json")

    assert result["subprocessors"][0]["id"] == register["Nimbus Hosting"]["id"]
    assert len(listed(client, staff)) == 2
    unknown = [{**nimbus(), "id": "sp_0000000000000000"}]
    found = problem(send(client, staff, json.dumps(unknown).encode(), "application/json"), 422)
    assert [(e["row"], e["pointer"]) for e in found["errors"]] == [(1, "/id")]


def test_registry_import_dry_run_prints_the_changes(runner, client, staff, register, tmp_path):
    path = tmp_path / "register.csv"
    path.write_bytes(as_csv(renamed(exported(client, staff), "Acme", "Acme Europe")))

    result = runner.invoke(args=["import", str(path), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "change: Acme Europe name: Acme -> Acme Europe" in result.output
    assert {item["name"] for item in listed(client, staff)} == {"Acme", "Nimbus Hosting"}
