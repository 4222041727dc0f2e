"""The hash-chained audit trail: an entry per write, tampering caught, the CLI and GET /v1/audit."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
from datetime import date

import pytest
from helpers import TIMESTAMP, TODAY, URL, VERSION_FIELDS, bearer, days_from_today, nimbus, problem
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

AUDIT = "/v1/audit"
GENESIS = "0" * 64
COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "change",
    "prev_hash",
    "hash",
)
# Built from the column names above only.
SELECT = f"SELECT {', '.join(COLUMNS)} FROM audit ORDER BY seq"  # noqa: S608
PLACEHOLDERS = ", ".join("?" * len(COLUMNS))
INSERT = f"INSERT INTO audit ({', '.join(COLUMNS)}) VALUES ({PLACEHOLDERS})"  # noqa: S608


# Reading the table as stored, independently of the registry's own reader


def raw_rows(registry) -> list[dict]:
    rows = registry.db.connection().execute(SELECT)
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def stored(registry) -> list[dict]:
    """The stored entries with actor and change decoded: digests in place of personal data."""
    return [
        {**row, "actor": json.loads(row["actor"]), "change": json.loads(row["change"])}
        for row in raw_rows(registry)
    ]


def entries(registry) -> list[dict]:
    """The entries as the API shows them: each personal payload's value (audit_payloads) in
    place of its digest, `{"erased": true}` once erased, and `personal_data`."""
    rows = registry.db.connection().execute(
        "SELECT seq, pointer, value, erased_at FROM audit_payloads ORDER BY seq, pointer"
    )
    payloads: dict[int, list] = {}
    for seq, pointer, value, erased_at in rows:
        payloads.setdefault(seq, []).append((pointer, value, erased_at))
    shown = []
    for entry in stored(registry):
        entry["personal_data"] = []
        for pointer, value, erased_at in payloads.get(entry["seq"], []):
            *path, last = pointer.split("/")[1:]
            node = entry
            for part in path:
                node = node[int(part)] if isinstance(node, list) else node[part]
            last = int(last) if isinstance(node, list) else last
            entry["personal_data"].append(
                {"pointer": pointer, "digest": node[last], "erased": erased_at is not None}
            )
            node[last] = {"erased": True} if erased_at else json.loads(value)
        shown.append(entry)
    return shown


def expected_hash(entry: dict) -> str:
    """SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of all but the hash."""
    fields = {k: entry[k] for k in COLUMNS if k != "hash"}
    encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def key_of(token: str) -> str:
    """The key id a token carries: reg_key_<hex>_<secret>."""
    return "key_" + token.split("_")[2]


def actor_of(tokens, role: str) -> dict:
    names = {"customer_a": "customer A", "customer_b": "customer B"}
    customers = {"customer_a": "cust-a", "customer_b": "cust-b"}
    return {
        "key_id": key_of(tokens[role]),
        "role": "customer" if role in customers else role,
        "customer_id": customers.get(role),
        "name": names.get(role, role),
    }


# Writes through the API


@pytest.fixture
def create(client, as_role):
    def post(role: str = "procurement", **overrides) -> dict:
        response = client.post(URL, json=nimbus(**overrides), headers=as_role(role))
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return post


def etag(client, as_role, subprocessor_id: str) -> str:
    return client.get(f"{URL}/{subprocessor_id}", headers=as_role("procurement")).headers["ETag"]


@pytest.fixture
def patch(client, as_role):
    def send(subprocessor_id: str, changes: dict, role: str = "procurement") -> dict:
        response = client.patch(
            f"{URL}/{subprocessor_id}",
            json=changes,
            headers=as_role(role, **{"If-Match": etag(client, as_role, subprocessor_id)}),
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    return send


@pytest.fixture
def retire(client, as_role):
    def send(subprocessor_id: str, role: str = "procurement") -> dict:
        response = client.delete(
            f"{URL}/{subprocessor_id}",
            headers=as_role(role, **{"If-Match": etag(client, as_role, subprocessor_id)}),
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    return send


def upload(client, headers: dict, **fields):
    """A disclosable plain-text copy of the SCCs, as a multipart form."""
    form = {"kind": "scc", "title": "SCCs 2021/914", "audience": "disclosable", **fields}
    form["file"] = FileStorage(io.BytesIO(b"Standard contractual clauses 2021/914."), "scc.txt")
    # Encoded in memory so no temporary file is left open.
    boundary, body = encode_multipart(form)
    return client.post(
        "/v1/documents",
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


@pytest.fixture
def trail(create, patch, retire):
    """Six entries from creates, updates and a retirement: enough for a middle and an end."""
    first = create()
    second = create(name="Relay Mail", service="email_delivery")
    patch(first["id"], {"purpose": "Hosting of everything"})
    patch(second["id"], {"data_categories": ["user.contact.email"]})
    create(name="Third Party")
    retire(second["id"])
    return {"first": first["id"], "second": second["id"]}


# One entry per write, with who did what


def test_creating_a_subprocessor_appends_one_entry_with_the_record(
    client, registry, tokens, create
):
    record = create()

    (entry,) = entries(registry)
    assert entry["seq"] == 1
    assert entry["action"] == "subprocessor.create"
    assert entry["object_type"] == "subprocessor"
    assert entry["object_id"] == record["id"]
    assert entry["actor"] == actor_of(tokens, "procurement")
    assert entry["change"] == {field: record[field] for field in VERSION_FIELDS}
    assert TIMESTAMP.match(entry["at"])


def test_updating_appends_one_entry_with_each_changed_field_from_and_to(
    registry, tokens, create, patch
):
    record = create()
    new_locations = [{"country": "NL", "activity": "storage"}]  # housekeeping: one fewer
    patch(record["id"], {"purpose": "Backups", "locations": new_locations}, role="admin")

    assert [e["action"] for e in entries(registry)] == [
        "subprocessor.create",
        "subprocessor.update",
    ]
    entry = entries(registry)[-1]
    assert entry["object_type"] == "subprocessor"
    assert entry["object_id"] == record["id"]
    assert entry["actor"] == actor_of(tokens, "admin")
    assert entry["change"] == {
        "purpose": {"from": record["purpose"], "to": "Backups"},
        "locations": {"from": record["locations"], "to": new_locations},
        "version": {"from": 1, "to": 2},
    }


def test_a_material_change_is_audited_as_announced_then_as_applied(
    registry, tokens, create, patch, client, clock
):
    record = create()
    sweden = [{"country": "SE", "activity": "backup"}]
    announced = patch(record["id"], {"locations": sweden}, role="admin")
    change_id = announced["pending_change"]["change_id"]

    entry = entries(registry)[-1]
    assert entry["action"] == "subprocessor.change_announce"
    assert entry["change"]["change_id"] == change_id
    assert entry["change"]["changes"]["locations"]["to"] == sweden
    assert entry["change"]["effective_on"] == announced["pending_change"]["effective_on"]

    clock.today = date.fromisoformat(announced["pending_change"]["effective_on"])
    patch(record["id"], {"purpose": "Backups in Sweden"}, role="admin")
    applied, updated = entries(registry)[-2:]
    assert applied["action"] == "subprocessor.change_apply"
    assert applied["change"]["change_id"] == change_id
    assert applied["change"]["changes"]["locations"]["to"] == sweden
    assert updated["action"] == "subprocessor.update"


def test_retiring_appends_one_entry_with_the_retirement_date(registry, tokens, create, retire):
    record = create()
    retire(record["id"])

    entry = entries(registry)[-1]
    assert len(entries(registry)) == 2
    assert entry["action"] == "subprocessor.retire"
    assert entry["object_id"] == record["id"]
    assert entry["actor"] == actor_of(tokens, "procurement")
    assert entry["change"] == {"retired_on": TODAY.isoformat(), "version": 2}


def test_an_empty_patch_changes_nothing_and_appends_nothing(client, registry, as_role, create):
    record = create()
    response = client.patch(
        f"{URL}/{record['id']}",
        json={},
        headers=as_role("procurement", **{"If-Match": etag(client, as_role, record["id"])}),
    )
    assert response.status_code == 200
    assert response.get_json()["version"] == 1
    assert len(entries(registry)) == 1


def test_repeating_the_current_values_is_no_change_and_appends_nothing(
    client, registry, as_role, create
):
    record = create()
    same = {field: record[field] for field in ("name", "purpose", "locations", "data_categories")}
    response = client.patch(
        f"{URL}/{record['id']}",
        json=same,
        headers=as_role("procurement", **{"If-Match": etag(client, as_role, record["id"])}),
    )

    assert response.status_code == 200
    assert response.get_json()["version"] == 1
    assert [e["action"] for e in entries(registry)] == ["subprocessor.create"]


def test_uploading_a_document_appends_one_entry(client, registry, tokens, as_role, create):
    record = create()
    response = upload(client, as_role("procurement"), subprocessor_id=record["id"], country="IN")
    assert response.status_code == 201, response.get_data(as_text=True)
    document = response.get_json()

    entry = entries(registry)[-1]
    assert len(entries(registry)) == 2
    assert entry["action"] == "document.upload"
    assert entry["object_type"] == "document"
    assert entry["object_id"] == document["id"]
    assert entry["actor"] == actor_of(tokens, "procurement")
    assert entry["change"]["sha256"] == document["sha256"]
    assert entry["change"]["subprocessor_id"] == record["id"]
    assert entry["change"]["audience"] == "disclosable"


def test_a_documentation_request_and_a_disclosure_each_append_one_entry(
    client, registry, tokens, as_role, create
):
    record = create()
    document = upload(
        client, as_role("procurement"), subprocessor_id=record["id"], country="IN"
    ).get_json()
    before = len(entries(registry))

    asked = client.post(
        "/v1/documentation-requests",
        json={"subprocessor_ids": [record["id"]]},
        headers=as_role("customer_a"),
    )
    assert asked.status_code == 201, asked.get_data(as_text=True)
    request_id = asked.get_json()["id"]
    request_entry = entries(registry)[-1]
    assert len(entries(registry)) == before + 1
    assert request_entry["action"] == "documentation_request.create"
    assert request_entry["object_type"] == "documentation_request"
    assert request_entry["object_id"] == request_id
    assert request_entry["actor"] == actor_of(tokens, "customer_a")
    assert request_entry["change"]["subprocessor_ids"] == [record["id"]]
    assert request_entry["change"]["scope"] == "selected"

    # Staff reading a copy discloses nothing to a customer: no entry.
    with client.get(document["content_url"], headers=as_role("procurement")) as staff_read:
        assert staff_read.status_code == 200
    assert len(entries(registry)) == before + 1

    with client.get(document["content_url"], headers=as_role("customer_a")) as download:
        assert download.status_code == 200
        assert download.get_data() == b"Standard contractual clauses 2021/914."
    disclosure_entry = entries(registry)[-1]
    assert len(entries(registry)) == before + 2
    assert disclosure_entry["action"] == "document.disclose"
    assert disclosure_entry["object_type"] == "document"
    assert disclosure_entry["object_id"] == document["id"]
    assert disclosure_entry["actor"] == actor_of(tokens, "customer_a")
    change = disclosure_entry["change"]
    assert change["customer_id"] == "cust-a"
    assert change["key_id"] == key_of(tokens["customer_a"])
    assert change["request_id"] == request_id
    assert change["document_id"] == document["id"]


def test_an_objection_appends_one_entry(client, registry, tokens, as_role, create):
    record = create(effective_on=days_from_today(189))
    response = client.post(
        f"{URL}/{record['id']}/objections", json={"reason": "No"}, headers=as_role("customer_b")
    )
    assert response.status_code == 201, response.get_data(as_text=True)

    entry = entries(registry)[-1]
    assert len(entries(registry)) == 2
    assert entry["action"] == "objection.create"
    assert entry["object_type"] == "objection"
    assert entry["object_id"] == response.get_json()["id"]
    assert entry["actor"] == actor_of(tokens, "customer_b")
    assert entry["change"]["subprocessor_id"] == record["id"]
    assert entry["change"]["customer_id"] == "cust-b"
    assert entry["change"]["reason"] == "No"


def test_creating_and_revoking_a_key_on_the_command_line_append_one_entry_each(registry, runner):
    created = runner.invoke(
        args=["keys", "create", "--role", "customer", "--name", "Acme portal", "--customer", "acme"]
    )
    assert created.exit_code == 0, created.output
    key_id = re.search(r"created key (key_[0-9a-f]+)", created.output).group(1)
    token = created.output.strip().splitlines()[-1]

    (entry,) = entries(registry)
    assert entry["action"] == "key.create"
    assert entry["object_type"] == "api_key"
    assert entry["object_id"] == key_id
    assert entry["actor"] == {
        "key_id": None,
        "role": "operator",
        "customer_id": None,
        "name": "registry keys create",
    }
    assert entry["change"] == {"role": "customer", "name": "Acme portal", "customer_id": "acme"}
    # The trail is readable by admins: it must never hold the secret.
    assert token.split("_", 3)[3] not in json.dumps(raw_rows(registry))

    revoked = runner.invoke(args=["keys", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    entry = entries(registry)[-1]
    assert len(entries(registry)) == 2
    assert entry["action"] == "key.revoke"
    assert entry["object_type"] == "api_key"
    assert entry["object_id"] == key_id
    assert entry["actor"]["role"] == "operator"
    assert entry["actor"]["name"] == "registry keys revoke"


def test_key_commands_that_fail_append_nothing(registry, runner):
    missing_customer = runner.invoke(args=["keys", "create", "--role", "customer", "--name", "x"])
    assert missing_customer.exit_code != 0
    unknown = runner.invoke(args=["keys", "revoke", "key_0000000000000000"])
    assert unknown.exit_code != 0
    assert entries(registry) == []


# Same transaction as the change


def test_refused_writes_append_nothing(client, registry, as_role, create):
    record = create()
    url = f"{URL}/{record['id']}"
    staff = as_role("procurement")

    # The schema refuses it.
    problem(client.post(URL, json=nimbus(name=""), headers=staff), 422)
    # The law refuses it: no such SCC version.
    bad_scc = nimbus(
        name="Bad SCC",
        locations=[
            {
                "country": "IN",
                "activity": "processing",
                "safeguard": {
                    "mechanism": "scc",
                    "scc_version": "1999/1",
                    "signed_on": "2024-01-01",
                },
            }
        ],
    )
    problem(client.post(URL, json=bad_scc, headers=staff), 422)
    # A current sub-processor already has the name.
    problem(client.post(URL, json=nimbus(), headers=staff), 409)
    # A stale or missing precondition.
    stale = {**staff, "If-Match": '"stale"'}
    problem(client.patch(url, json={"purpose": "Lost update"}, headers=stale), 412)
    problem(client.delete(url, headers=stale), 412)
    problem(client.patch(url, json={"purpose": "No precondition"}, headers=staff), 428)
    # Another role.
    problem(client.post(URL, json=nimbus(name="Other"), headers=as_role("service")), 403)

    assert [e["action"] for e in entries(registry)] == ["subprocessor.create"]


@pytest.mark.parametrize("table", ["subprocessor_versions", "changes"])
def test_a_write_rolled_back_after_its_entry_leaves_no_entry(client, registry, as_role, table):
    """The version row and the change event are written after the audit entry."""
    registry.db.connection().execute(
        f"CREATE TRIGGER refuse BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )

    problem(client.post(URL, json=nimbus(), headers=as_role("procurement")), 500)

    assert entries(registry) == []
    conn = registry.db.connection()
    assert conn.execute("SELECT count(*) FROM subprocessors").fetchone()[0] == 0


def test_an_update_rolled_back_leaves_the_record_and_the_trail_as_they_were(
    client, registry, as_role, create
):
    record = create()
    before = raw_rows(registry)
    registry.db.connection().execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON changes"
        " WHEN NEW.type = 'subprocessor.changed' BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    url = f"{URL}/{record['id']}"
    headers = as_role("procurement", **{"If-Match": etag(client, as_role, record["id"])})

    problem(client.patch(url, json={"purpose": "Never stored"}, headers=headers), 500)

    assert raw_rows(registry) == before
    current = client.get(url, headers=as_role("procurement")).get_json()
    assert current["purpose"] == record["purpose"]
    assert current["version"] == 1


# The chain


def test_each_entry_hashes_its_content_and_the_previous_hash(registry, trail):
    rows = stored(registry)
    assert [row["seq"] for row in rows] == list(range(1, 7))
    assert rows[0]["prev_hash"] == GENESIS
    for previous, row in itertools.pairwise(rows):
        assert row["prev_hash"] == previous["hash"]
        assert row["at"] >= previous["at"]
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", row["hash"])
        assert row["hash"] == expected_hash(row)


def test_verify_reports_the_count_when_the_chain_holds(runner, trail):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "audit trail ok: 6 entries (6 payloads checked, 0 payloads erased)"
    )


def test_an_empty_trail_verifies_and_its_head_is_genesis(runner):
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0
    assert verified.stdout.strip() == "audit trail ok: 0 entries"
    head = runner.invoke(args=["audit", "head"])
    assert head.exit_code == 0
    assert head.stdout.strip() == f"0 {GENESIS}"


def test_head_prints_the_last_sequence_number_and_hash(registry, runner, trail):
    result = runner.invoke(args=["audit", "head"])
    assert result.exit_code == 0
    last = raw_rows(registry)[-1]
    assert result.stdout.strip() == f"{last['seq']} {last['hash']}"
    assert last["seq"] == 6


def broken_at(runner) -> tuple[int, str]:
    """Run `audit verify` expecting failure; the entry it names and its message."""
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    found = re.search(r"BROKEN at entry (\d+): (.+)", result.stderr)
    assert found, result.output
    assert "ok" not in result.stdout
    return int(found.group(1)), found.group(2)


def execute(registry, sql: str, params=()) -> None:
    registry.db.connection().execute(sql, params)


ALTERED = {
    "at": "2020-01-01T00:00:00.000000Z",
    "actor": json.dumps({"key_id": None, "role": "admin", "customer_id": None, "name": "admin"}),
    "action": "subprocessor.retire",
    "object_type": "document",
    "object_id": "sp_forged",
    "change": json.dumps({"purpose": {"from": "x", "to": "y"}}),
    "prev_hash": "f" * 64,
    "hash": "e" * 64,
}


@pytest.mark.parametrize("column", list(ALTERED))
def test_altering_any_column_of_a_middle_entry_is_named(registry, runner, trail, column):
    execute(registry, f"UPDATE audit SET {column} = ? WHERE seq = 3", [ALTERED[column]])  # noqa: S608

    seq, reason = broken_at(runner)
    assert seq == 3
    assert ("prev_hash" in reason) == (column == "prev_hash")


@pytest.mark.parametrize("column", ["actor", "change"])
def test_a_column_altered_into_text_that_is_not_json_is_named(registry, runner, trail, column):
    execute(registry, f"UPDATE audit SET {column} = 'not json {{' WHERE seq = 4")  # noqa: S608

    assert broken_at(runner)[0] == 4


def test_altering_a_value_inside_the_change_is_named(registry, runner, trail):
    row = stored(registry)[0]
    change = {**row["change"], "name": "Someone Else"}
    execute(registry, "UPDATE audit SET change = ? WHERE seq = 1", [json.dumps(change)])

    seq, reason = broken_at(runner)
    assert seq == 1
    assert "altered" in reason


def test_deleting_a_middle_entry_is_named_at_the_gap(registry, runner, trail):
    execute(registry, "DELETE FROM audit WHERE seq = 3")

    seq, reason = broken_at(runner)
    assert seq == 4
    assert "missing" in reason


def test_renumbering_an_entry_is_named(registry, runner, trail):
    execute(registry, "UPDATE audit SET seq = 100 WHERE seq = 3")

    assert broken_at(runner)[0] == 4


def test_swapping_two_entries_is_named(registry, runner, trail):
    rows = raw_rows(registry)
    second, third = rows[1], rows[2]
    execute(registry, "DELETE FROM audit WHERE seq IN (2, 3)")
    for seq, content in ((2, third), (3, second)):
        execute(registry, INSERT, [seq, *(content[c] for c in COLUMNS[1:])])

    assert broken_at(runner)[0] == 2


def test_a_forged_entry_appended_with_a_made_up_hash_is_named(registry, runner, trail):
    last = raw_rows(registry)[-1]
    forged = {
        **last,
        "seq": 7,
        "action": "subprocessor.create",
        "prev_hash": last["hash"],
        "hash": "a" * 64,
    }
    execute(
        registry,
        INSERT,
        [forged[c] for c in COLUMNS],
    )

    seq, reason = broken_at(runner)
    assert seq == 7
    assert "altered" in reason


def forge_after(registry, position: int) -> None:
    """Insert a well-formed entry after `position`, moving the later ones up by one."""
    rows = entries(registry)
    before = rows[position - 1]
    forged = {
        "seq": position + 1,
        "at": before["at"],
        "actor": {"key_id": None, "role": "admin", "customer_id": None, "name": "forger"},
        "action": "key.create",
        "object_type": "api_key",
        "object_id": "key_forged",
        "change": {"role": "admin", "name": "backdoor", "customer_id": None},
        "prev_hash": before["hash"],
    }
    forged["hash"] = expected_hash(forged)
    # Two steps, so that no intermediate state collides on the primary key; the personal
    # payloads held apart move with their entries.
    for table in ("audit", "audit_payloads"):
        execute(registry, f"UPDATE {table} SET seq = -seq WHERE seq > ?", [position])  # noqa: S608
        execute(registry, f"UPDATE {table} SET seq = 1 - seq WHERE seq < 0")  # noqa: S608
    execute(
        registry,
        INSERT,
        [
            *(forged[c] for c in COLUMNS[:2]),
            json.dumps(forged["actor"]),
            *(forged[c] for c in COLUMNS[3:6]),
            json.dumps(forged["change"]),
            forged["prev_hash"],
            forged["hash"],
        ],
    )


def test_a_well_formed_entry_inserted_in_the_middle_breaks_the_next_one(registry, runner, trail):
    """The forged entry is consistent in itself; the entry after it no longer links to it."""
    forge_after(registry, 2)
    assert [row["seq"] for row in raw_rows(registry)] == list(range(1, 8))

    seq, reason = broken_at(runner)
    assert seq == 4
    assert "prev_hash" in reason


def rechain(registry) -> None:
    """Recompute every hash from the first entry on, as someone rewriting history would."""
    previous = GENESIS
    for row in stored(registry):
        row["prev_hash"] = previous
        row["hash"] = expected_hash(row)
        execute(
            registry,
            "UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?",
            [row["prev_hash"], row["hash"], row["seq"]],
        )
        previous = row["hash"]


def test_rewriting_the_whole_chain_is_caught_only_by_the_anchored_head(registry, runner, trail):
    """The hash has no secret: whoever can write the table can recompute every later hash.

    `audit verify` then finds a consistent chain; the head anchored elsewhere beforehand
    (`audit head`) is what no longer matches.
    """
    anchored = runner.invoke(args=["audit", "head"]).stdout.strip()
    forge_after(registry, 2)
    rechain(registry)

    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    assert runner.invoke(args=["audit", "head"]).stdout.strip() != anchored
    checked = runner.invoke(args=["audit", "verify", "--anchor", anchored])
    assert checked.exit_code == 1
    assert "has another hash (rewritten)" in checked.output


def test_deleting_the_last_entry_is_caught_only_by_the_anchored_head(registry, runner, trail):
    """A truncated chain is still a valid chain: nothing after the last entry links to it.

    Only a head anchored elsewhere beforehand (`audit head`) shows that entries went missing.
    """
    anchored = runner.invoke(args=["audit", "head"]).stdout.strip()
    execute(registry, "DELETE FROM audit WHERE seq = 6")

    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0
    assert verified.stdout.strip() == (
        "audit trail ok: 5 entries (5 payloads checked, 0 payloads erased)"
    )
    head = runner.invoke(args=["audit", "head"]).stdout.strip()
    assert head != anchored
    fifth = raw_rows(registry)[-1]
    assert head == f"5 {fifth['hash']}"
    assert anchored.startswith("6 ")
    checked = runner.invoke(args=["audit", "verify", "--anchor", anchored])
    assert checked.exit_code == 1
    assert "BROKEN at entry 6" in checked.output and "missing (truncated)" in checked.output


def test_an_intact_chain_verifies_against_an_earlier_anchor(
    registry, runner, trail, client, as_role
):
    anchored = runner.invoke(args=["audit", "head"]).stdout.strip()
    client.post("/v1/subprocessors", json=nimbus(name="Later"), headers=as_role("procurement"))
    checked = runner.invoke(args=["audit", "verify", "--anchor", anchored])
    assert checked.exit_code == 0, checked.output
    assert f"anchored entry {anchored.split()[0]} intact" in checked.output


@pytest.mark.parametrize("anchor", ["6", "x " + "0" * 64, "6 " + "0" * 63])
def test_a_malformed_anchor_is_a_usage_error(runner, trail, anchor):
    assert runner.invoke(args=["audit", "verify", "--anchor", anchor]).exit_code == 2


# GET /v1/audit


@pytest.mark.parametrize("role", ["procurement", "service", "customer_a"])
def test_only_admins_read_the_trail(client, as_role, role, trail):
    problem(client.get(AUDIT, headers=as_role(role)), 403)
    problem(client.get(AUDIT), 401)
    problem(client.get(AUDIT, headers=bearer("reg_key_00_nope")), 401)


def test_the_trail_reads_as_stored(client, registry, as_role, trail):
    response = client.get(AUDIT, headers=as_role("admin"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["next_cursor"] is None
    assert body["items"] == entries(registry)


def walk(client, headers: dict, **params) -> tuple[list[dict], int]:
    items, pages, cursor = [], 0, None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(AUDIT, query_string=query, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert len(body["items"]) <= params.get("limit", 50)
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_pages_follow_the_cursor_without_gaps_or_repeats(client, registry, as_role, trail):
    items, pages = walk(client, as_role("admin"), limit=4)
    assert pages == 2
    assert [e["seq"] for e in items] == list(range(1, 7))
    assert items == entries(registry)

    one_by_one, pages = walk(client, as_role("admin"), limit=1)
    assert pages == 6
    assert one_by_one == items


def test_filters_by_action_object_type_and_object_id(client, as_role, trail):
    admin = as_role("admin")
    updates, _ = walk(client, admin, action="subprocessor.update")
    assert [e["object_id"] for e in updates] == [trail["first"], trail["second"]]

    second, pages = walk(client, admin, object_id=trail["second"], limit=1)
    assert pages == 3
    assert [e["action"] for e in second] == [
        "subprocessor.create",
        "subprocessor.update",
        "subprocessor.retire",
    ]

    combined, _ = walk(client, admin, object_type="subprocessor", action="subprocessor.create")
    assert len(combined) == 3
    none, _ = walk(client, admin, object_type="document")
    assert none == []


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("cursor=abc", "/cursor"),
        ("cursor=-1", "/cursor"),
        ("limit=0", "/limit"),
        ("limit=101", "/limit"),
        ("action=", "/action"),
        ("colour=red", "/colour"),
    ],
)
def test_bad_arguments_are_422(client, as_role, query, pointer):
    body = problem(client.get(f"{AUDIT}?{query}", headers=as_role("admin")), 422)
    assert [e["pointer"] for e in body["errors"]] == [pointer]
