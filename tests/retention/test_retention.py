"""Erasure of a customer and the retention purge: no trace left, the audit chain still verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import (
    PROBLEM,
    TODAY,
    bearer,
    checkpoint,
    cli_runner,
    days_from_today,
    incident_report,
    nimbus,
    upload_text,
)

from registry.audit import service as audit
from registry.audit import store as audit_store
from registry.webhooks.outbound import Outcome
from registry.webhooks.worker import Worker

CUSTOMER = "zebra-logistics"
NAME = "Zebra Logistics Ltd"
TRACES = (CUSTOMER, NAME, "zebra-receiver", "Zebra objects")


@pytest.fixture
def registry_settings() -> dict:
    # Private webhook targets for the worker's attempts; request counts on, for the -limits file.
    return {"webhook_allow_private": True, "rate_limit": "600/60"}


@pytest.fixture
def admin(as_role) -> dict:
    return as_role("admin")


def customer_key(client, admin, customer_id: str = CUSTOMER, name: str = NAME) -> dict:
    made = client.post(
        "/v1/keys",
        json={"role": "customer", "name": name, "customer_id": customer_id},
        headers=admin,
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    return bearer(made.get_json()["token"])


def use(client, zebra, admin, staff) -> dict:
    """The customer leaves a trace in every feature: a request, a download, an objection
    answered, a webhook paused by an admin and failing, and a copy withdrawn after it saw it."""
    vendor = client.post("/v1/subprocessors", json=nimbus(), headers=admin).get_json()
    proposed = client.post(
        "/v1/subprocessors",
        json=nimbus(name="Proposed", effective_on=days_from_today(189)),
        headers=admin,
    ).get_json()
    hook = client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/zebra-receiver", "description": f"{NAME} receiver"},
        headers=zebra,
    )
    assert hook.status_code == 201, hook.get_data(as_text=True)
    copy = upload_text(
        client,
        admin,
        b"Standard contractual clauses 2021/914, module 3.",
        title="SCCs",
        subprocessor_id=vendor["id"],
        country="IN",
        audience="disclosable",
    ).get_json()
    asked = client.post(
        "/v1/documentation-requests", json={"subprocessor_ids": [vendor["id"]]}, headers=zebra
    )
    assert asked.status_code == 201, asked.get_data(as_text=True)
    with client.get(f"/v1/documents/{copy['id']}/content", headers=zebra) as downloaded:
        assert downloaded.status_code == 200
    objected = client.post(
        f"/v1/subprocessors/{proposed['id']}/objections",
        json={"reason": f"Zebra objects: {NAME} has clients in health care."},
        headers=zebra,
    ).get_json()
    path = f"/v1/subprocessors/{proposed['id']}/objections/{objected['id']}"
    etag = client.get(path, headers=staff).headers["ETag"]
    answered = client.patch(
        path,
        json={"status": "dismissed", "response": f"Dear {NAME}, the vendor stays."},
        headers={**staff, "If-Match": etag},
    )
    assert answered.status_code == 200, answered.get_data(as_text=True)
    hook_path = f"/v1/webhooks/{hook.get_json()['id']}"
    renamed = client.patch(
        hook_path,
        json={"description": f"Paused: {NAME} asked"},
        headers={**zebra, "If-Match": hook.headers["ETag"]},
    )
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    # An admin pauses it and resumes it: the only change staff make to a customer's endpoint.
    etag = renamed.headers["ETag"]
    for enabled in (False, True):
        paused = client.patch(
            hook_path, json={"enabled": enabled}, headers={**admin, "If-Match": etag}
        )
        assert paused.status_code == 200, paused.get_data(as_text=True)
        etag = paused.headers["ETag"]
    etag = client.get(f"/v1/documents/{copy['id']}", headers=admin).headers["ETag"]
    withdrawn = client.delete(
        f"/v1/documents/{copy['id']}",
        json={"reason": "Superseded"},
        headers={**admin, "If-Match": etag},
    )
    assert withdrawn.status_code == 200, withdrawn.get_data(as_text=True)
    incident = client.post(
        "/v1/incidents",
        json=incident_report(
            vendor["id"],
            f"{TODAY}T08:00:00Z",
            contact={"name": "Data protection officer", "email": "dpo@example.com"},
            customer_ids=[CUSTOMER, "cust-b"],
        ),
        headers=admin,
    )
    assert incident.status_code == 201, incident.get_data(as_text=True)
    incident_path = f"/v1/incidents/{incident.get_json()['id']}"
    told = client.patch(
        incident_path,
        json={"status": "communicated"},
        headers={**admin, "If-Match": incident.headers["ETag"]},
    )
    assert told.status_code == 200, told.get_data(as_text=True)
    closed = client.patch(
        incident_path,
        json={"status": "closed"},
        headers={**admin, "If-Match": told.headers["ETag"]},
    )
    assert closed.status_code == 200, closed.get_data(as_text=True)
    return {
        "vendor": vendor,
        "proposed": proposed,
        "objection": objected,
        "copy": copy,
        "incident": incident_path,
    }


def failing_attempts(registry) -> None:
    settings = registry.settings.replace(webhook_max_failures=1)
    worker = Worker(
        registry.db, settings, jitter=lambda: 0.0, post=lambda *a, **k: Outcome(500, None, 3)
    )
    while worker.step():
        pass


def cells(conn) -> list[tuple[str, str, object]]:
    """Every value of every column of every table, as (table, column, value)."""
    found = []
    tables = [
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not row[0].startswith("sqlite_")
    ]
    for table in tables:
        cursor = conn.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from sqlite_master)
        columns = [c[0] for c in cursor.description]
        for row in cursor:
            found += [(table, column, value) for column, value in zip(columns, row, strict=True)]
    return found


def traces_in_tables(conn) -> list[tuple[str, str]]:
    return [
        (table, column)
        for table, column, value in cells(conn)
        for trace in TRACES
        if isinstance(value, str | bytes)
        and trace.encode() in (value if isinstance(value, bytes) else value.encode())
    ]


def traces_in_files(*paths: Path) -> list[str]:
    hits = []
    for path in paths:
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path.name}: {trace}" for trace in TRACES if trace.encode() in data]
    return hits


def verified(runner) -> str:
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def erase(client, admin, customer_id: str = CUSTOMER):
    read = client.get(f"/v1/customers/{customer_id}", headers=admin)
    etag = read.headers.get("ETag", '"none"')
    return client.delete(f"/v1/customers/{customer_id}", headers={**admin, "If-Match": etag})


# Erasure


def test_erasure_leaves_no_trace_of_the_customer_and_the_trail_verifies(
    client, registry, runner, admin, staff, as_role, database
):
    zebra = customer_key(client, admin)
    made = use(client, zebra, admin, staff)
    failing_attempts(registry)
    other = as_role("customer_a")
    kept_request = client.post(
        "/v1/documentation-requests",
        json={"subprocessor_ids": [made["vendor"]["id"]]},
        headers=other,
    )
    assert kept_request.status_code == 201
    conn = registry.db.connection()
    assert traces_in_tables(conn)  # the scenario did leave traces
    audit_before = verified(runner)
    assert "0 payloads erased" in audit_before

    held = client.get(f"/v1/customers/{CUSTOMER}", headers=admin)
    assert held.status_code == 200, held.get_data(as_text=True)
    holds = held.get_json()["holds"]
    assert holds["api_keys"] == 1 and holds["webhooks"] == 1 and holds["objections"] == 1
    assert holds["documentation_requests"] == 1 and holds["disclosures"] == 1
    assert held.get_json()["erased_at"] is None

    erased = client.delete(
        f"/v1/customers/{CUSTOMER}", headers={**admin, "If-Match": held.headers["ETag"]}
    )
    assert erased.status_code == 200, erased.get_data(as_text=True)
    body = erased.get_json()
    assert body["already_erased"] is False
    assert body["erased"]["api_keys"] == 1 and body["erased"]["webhooks"] == 1
    assert body["erased"]["disclosures"] == 1 and body["erased"]["audit_payloads"] > 5
    assert body["erased"]["rate_limits"] == 1

    # No table, no column holds the id, the name, the URL or the reason.
    assert traces_in_tables(conn) == []
    # Nor the file's bytes: secure delete zeroed them, and the WAL was checkpointed away.
    checkpoint(conn)
    wal = Path(f"{database}-wal")
    assert traces_in_files(database, wal, Path(f"{database}-limits")) == []
    documents = database.with_name("documents")
    for path in documents.rglob("*"):
        assert CUSTOMER not in path.name
    assert traces_in_files(*documents.rglob("*")) == []

    # The key no longer works; the objection stays, without its customer or reason.
    assert client.get("/v1/subprocessors", headers=zebra).status_code == 401
    objection = client.get(
        f"/v1/subprocessors/{made['proposed']['id']}/objections/{made['objection']['id']}",
        headers=staff,
    ).get_json()
    assert objection["status"] == "dismissed" and objection["reason"] is None
    assert objection["customer_id"].startswith("erased-")

    # The chain verifies, with the erased payloads counted; the API shows them erased.
    after = verified(runner)
    assert "payloads erased" in after and " 0 payloads erased" not in after
    _, broken = audit.verify(audit.entries(conn))
    assert broken is None
    trail = client.get("/v1/audit", query_string={"limit": 100}, headers=admin).get_json()["items"]
    disclosure = next(e for e in trail if e["action"] == "document.disclose")
    assert disclosure["change"]["customer_id"] == {"erased": True}
    assert disclosure["actor"]["name"] == {"erased": True}
    shown = {p["pointer"]: p["erased"] for p in disclosure["personal_data"]}
    assert shown == {
        "/actor/customer_id": True,
        "/actor/key_id": True,
        "/actor/name": True,
        "/change/customer_id": True,
        "/change/key_id": True,
        "/change/request_id": True,
    }
    (entry,) = [e for e in trail if e["action"] == "customer.erase"]
    assert entry["change"]["customer"].startswith("sha256:") and entry["object_id"] is None

    # The incident stays, naming the other customer only, in every version too.
    incident = client.get(made["incident"], headers=admin).get_json()
    assert incident["customer_ids"] == ["cust-b"]
    versions = client.get(f"{made['incident']}/versions", headers=admin).get_json()["items"]
    assert all(v["customer_ids"] == ["cust-b"] for v in versions)
    assert client.get(made["incident"], headers=as_role("customer_b")).status_code == 200
    assert body["erased"]["incidents"] == 1 and body["erased"]["changes"] >= 2

    # Another customer is untouched.
    assert (
        client.get(
            f"/v1/documentation-requests/{kept_request.get_json()['id']}", headers=other
        ).status_code
        == 200
    )
    assert any(
        e["actor"].get("customer_id") == "cust-a" for e in trail if e["action"] != "customer.erase"
    )


def test_erasing_twice_is_idempotent_and_an_unknown_customer_is_404(client, registry, admin):
    customer_key(client, admin)
    first = erase(client, admin)
    assert first.status_code == 200 and first.get_json()["already_erased"] is False
    again = erase(client, admin)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json()["already_erased"] is True
    assert set(again.get_json()["erased"].values()) == {0}
    assert again.get_json()["erased_at"] == first.get_json()["erased_at"]
    read = client.get(f"/v1/customers/{CUSTOMER}", headers=admin).get_json()
    assert read["erased_at"] == first.get_json()["erased_at"] and set(read["holds"].values()) == {0}
    # The erasure record is a salted digest, never the id.
    digests = registry.db.connection().execute("SELECT digest, salt FROM erasures").fetchall()
    assert len(digests) == 1 and CUSTOMER not in json.dumps(digests)
    erasures = [
        e for e in audit_store.iter_all(registry.db.connection()) if e["action"] == "customer.erase"
    ]
    assert len(erasures) == 1

    unknown = erase(client, admin, "never-known")
    assert unknown.status_code == 404 and unknown.mimetype == PROBLEM
    assert client.get("/v1/customers/never-known", headers=admin).status_code == 404


def test_erasure_needs_if_match(client, admin):
    customer_key(client, admin)
    missing = client.delete(f"/v1/customers/{CUSTOMER}", headers=admin)
    assert missing.status_code == 428 and missing.mimetype == PROBLEM
    stale = client.delete(f"/v1/customers/{CUSTOMER}", headers={**admin, "If-Match": '"stale"'})
    assert stale.status_code == 412
    assert (
        client.get(f"/v1/customers/{CUSTOMER}", headers=admin).get_json()["holds"]["api_keys"] == 1
    )


@pytest.mark.parametrize("role", ["procurement", "service", "customer_a", "customer_b"])
def test_only_admins_read_and_erase_customers(client, as_role, admin, role):
    customer_key(client, admin)
    etag = client.get(f"/v1/customers/{CUSTOMER}", headers=admin).headers["ETag"]
    assert client.get(f"/v1/customers/{CUSTOMER}", headers=as_role(role)).status_code == 403
    refused = client.delete(
        f"/v1/customers/{CUSTOMER}", headers={**as_role(role), "If-Match": etag}
    )
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    assert (
        client.get(f"/v1/customers/{CUSTOMER}", headers=admin).get_json()["holds"]["api_keys"] == 1
    )


def test_the_command_erases_and_exits_1_for_an_unknown_customer(client, runner, admin):
    customer_key(client, admin)
    erased = runner.invoke(args=["customers", "erase", CUSTOMER])
    assert erased.exit_code == 0, erased.output
    assert erased.stdout.startswith(f"erased {CUSTOMER}: 1 api_keys")
    again = runner.invoke(args=["customers", "erase", CUSTOMER])
    assert again.exit_code == 0 and "already erased" in again.stdout
    unknown = runner.invoke(args=["customers", "erase", "never-known"])
    assert unknown.exit_code == 1 and "never-known" in unknown.output
    assert "payloads erased" in verified(runner)


def test_an_altered_payload_is_named_by_verify(client, registry, runner, admin):
    customer_key(client, admin)
    conn = registry.db.connection()
    (seq,) = conn.execute(
        "SELECT seq FROM audit_payloads WHERE pointer = '/change/name'"
    ).fetchone()
    conn.execute(
        "UPDATE audit_payloads SET value = ? WHERE seq = ? AND pointer = '/change/name'",
        [json.dumps("Someone Else"), seq],
    )
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"entry {seq}" in result.stderr and "/change/name" in result.stderr
    _, broken = audit.verify(audit.entries(conn))
    assert broken is not None and broken.seq == seq


def test_a_digest_cannot_be_confirmed_once_erased(client, registry, admin):
    """Each payload has a random salt: the same value digests differently, and once erased
    the salt is gone with it."""
    customer_key(client, admin, name="Same name")
    customer_key(client, admin, customer_id="other-customer", name="Same name")
    conn = registry.db.connection()
    trail = list(audit.entries(conn))
    digests = [p["digest"] for e in trail for p in e["payloads"] if p["pointer"] == "/change/name"]
    assert len(digests) == 2 and digests[0] != digests[1]
    erase(client, admin)
    rows = conn.execute(
        "SELECT salt, value, customer_id FROM audit_payloads WHERE erased_at IS NOT NULL"
    ).fetchall()
    assert rows and all(row == (None, None, None) for row in rows)


# Retention


def test_the_purge_removes_only_what_is_older_than_the_retention(
    client, registry, runner, admin, staff, clock
):
    zebra = customer_key(client, admin)
    old = use(client, zebra, admin, staff)
    failing_attempts(registry)
    conn = registry.db.connection()
    assert conn.execute("SELECT count(*) FROM webhook_attempts").fetchone()[0] > 0

    clock.advance(days=registry.settings.retention_days - 10)
    recent = client.post(
        "/v1/documentation-requests",
        json={"subprocessor_ids": [old["vendor"]["id"]]},
        headers=zebra,
    ).get_json()

    nothing_yet = runner.invoke(args=["purge"])
    assert nothing_yet.exit_code == 0, nothing_yet.output
    assert ": 0 disclosures, 0 documentation_requests" in nothing_yet.stdout

    clock.advance(days=11)
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0 and "would purge" in dry.stdout
    assert "1 disclosures, 1 documentation_requests" in dry.stdout
    assert len(client.get("/v1/documentation-requests", headers=zebra).get_json()["items"]) == 2

    purged = runner.invoke(args=["purge"])
    assert purged.exit_code == 0, purged.output
    assert "1 disclosures, 1 documentation_requests" in purged.stdout
    items = client.get("/v1/documentation-requests", headers=zebra).get_json()["items"]
    assert [r["id"] for r in items] == [recent["id"]]
    assert client.get("/v1/disclosures", headers=zebra).get_json()["items"] == []
    assert conn.execute("SELECT count(*) FROM webhook_attempts").fetchone()[0] == 0
    (entry,) = [e for e in audit.entries(conn) if e["action"] == "retention.purge"]
    assert entry["change"]["disclosures"] == 1 and entry["change"]["documentation_requests"] == 1
    # The closed incident stays, without its list of customers (nor in the trail).
    assert entry["change"]["incident_customer_lists"] == 1
    assert entry["change"]["incident_customers"] == 2
    assert client.get(old["incident"], headers=admin).get_json()["customer_ids"] == []
    incident_entries = [e for e in audit.entries(conn) if e["object_type"] == "incident"]
    listed = [p for e in incident_entries for p in e["payloads"] if "customer_ids" in p["pointer"]]
    assert listed and all(p["erased"] for p in listed)
    assert "payloads erased" in verified(runner)
    assert audit.verify(audit.entries(conn))[1] is None

    again = runner.invoke(args=["purge"])
    assert "0 disclosures, 0 documentation_requests" in again.stdout
    assert len([e for e in audit.entries(conn) if e["action"] == "retention.purge"]) == 1


def test_the_worker_purges_daily(client, registry, runner, admin, staff, clock):
    zebra = customer_key(client, admin)
    use(client, zebra, admin, staff)
    clock.advance(days=registry.settings.retention_days + 1)
    ran = runner.invoke(args=["worker", "--once"])
    assert ran.exit_code == 0, ran.output
    assert client.get("/v1/disclosures", headers=zebra).get_json()["items"] == []
    actions = [e["action"] for e in audit.entries(registry.db.connection())]
    assert actions.count("retention.purge") == 1


def test_retention_zero_keeps_everything(app_with, admin, clock):
    app = app_with(retention_days=0)
    client, runner = app.test_client(), cli_runner(app)
    zebra = customer_key(client, admin)
    vendor = client.post("/v1/subprocessors", json=nimbus(), headers=admin).get_json()
    client.post(
        "/v1/documentation-requests", json={"subprocessor_ids": [vendor["id"]]}, headers=zebra
    )
    clock.advance(days=5000)
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "nothing purged" in result.stdout
    clock.advance(days=-5000)
    assert len(client.get("/v1/documentation-requests", headers=zebra).get_json()["items"]) == 1


def test_the_retention_setting_is_checked():
    from registry.settings import Settings, SettingsError

    assert Settings.from_environment({}).retention_days == 730
    assert Settings.from_environment({"REGISTRY_RETENTION_DAYS": "0"}).retention_days == 0
    with pytest.raises(SettingsError):
        Settings.from_environment({"REGISTRY_RETENTION_DAYS": "-1"})
    with pytest.raises(SettingsError):
        Settings.from_environment({"REGISTRY_RETENTION_DAYS": "two years"})


def test_entries_written_before_payloads_stay_as_they_were(
    client, registry, runner, admin, monkeypatch
):
    """An entry written before this version holds its values inside the hashed JSON: it has
    no payloads, still verifies, and erasure cannot remove what it holds (documented)."""
    monkeypatch.setattr(audit_store.personal, "personal_values", lambda *args: iter(()))
    customer_key(client, admin)  # key.create, written as before payloads existed
    monkeypatch.undo()
    conn = registry.db.connection()
    assert conn.execute("SELECT count(*) FROM audit_payloads").fetchone()[0] == 0
    assert verified(runner) == "audit trail ok: 1 entries"

    assert erase(client, admin).status_code == 200
    (old,) = [e for e in audit.entries(conn) if e["action"] == "key.create"]
    assert old["change"]["customer_id"] == CUSTOMER and old["payloads"] == []
    assert "audit trail ok: 2 entries" in verified(runner)
