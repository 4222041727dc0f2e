"""The `registry` command: init, keys and check, on real database files."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import timedelta

import pytest
from helpers import ROOT, TODAY, bearer, nimbus, registry_env, singapore

from registry.app import create_app
from registry.cli import register_commands
from registry.db.store import SCHEMA_VERSION
from registry.law.loader import load_demo_catalogue
from registry.settings import Settings

TOKEN = re.compile(r"reg_key_[0-9a-f]{16}_\S+")


def query(path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def invoke(app, *args: str):
    register_commands(app)
    return app.test_cli_runner().invoke(args=list(args))


def demo_names() -> list[str]:
    return [entry["name"] for entry in load_demo_catalogue()]


def test_init_twice_is_safe(uninitialised_app):
    path = uninitialised_app.extensions["registry"].settings.database
    first = invoke(uninitialised_app, "init")
    assert first.exit_code == 0, first.output
    assert "applied migration 0001" in first.output
    assert "loaded" in first.output
    tables = query(path, "SELECT name FROM sqlite_master ORDER BY name")
    law = query(path, "SELECT version FROM law")
    meta = query(path, "SELECT key, value FROM meta ORDER BY key")

    second = invoke(uninitialised_app, "init")
    assert second.exit_code == 0, second.output
    assert "applied migration" not in second.output
    assert "unchanged" in second.output
    assert query(path, "SELECT name FROM sqlite_master ORDER BY name") == tables
    assert query(path, "SELECT version FROM law") == law
    assert len(law) == 1
    assert query(path, "SELECT key, value FROM meta ORDER BY key") == meta
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_init_demo_twice_adds_the_demo_once(uninitialised_app):
    path = uninitialised_app.extensions["registry"].settings.database
    first = invoke(uninitialised_app, "init", "--demo")
    assert first.exit_code == 0, first.output
    assert f"demo catalogue: {len(demo_names())} sub-processors added" in first.output
    second = invoke(uninitialised_app, "init", "--demo")
    assert second.exit_code == 0, second.output
    assert "demo catalogue: not added, the register is not empty" in second.output
    names = [row[0] for row in query(path, "SELECT name FROM subprocessors ORDER BY seq")]
    assert names == demo_names()


def test_demo_fills_only_an_empty_register(runner, client, as_role):
    taken = demo_names()[0]
    created = client.post("/v1/subprocessors", json=nimbus(name=taken), headers=as_role("admin"))
    assert created.status_code == 201
    result = runner.invoke(args=["init", "--demo"])
    assert result.exit_code == 0, result.output
    assert "not added, the register is not empty" in result.output
    listed = client.get("/v1/subprocessors", headers=as_role("admin")).get_json()["items"]
    assert [item["name"] for item in listed] == [taken]
    assert listed[0]["legal_entity"] == "Nimbus Hosting Inc."


def test_a_retired_demo_vendor_stays_retired(runner, client, as_role):
    """`make run` runs `init --demo` at every start: it must not bring a vendor back."""
    assert runner.invoke(args=["init", "--demo"]).exit_code == 0
    first = client.get("/v1/subprocessors", headers=as_role("admin")).get_json()["items"][0]
    url = f"/v1/subprocessors/{first['id']}"
    etag = client.get(url, headers=as_role("admin")).headers["ETag"]
    assert client.delete(url, headers=as_role("admin", **{"If-Match": etag})).status_code == 200
    changes_before = client.get("/v1/changes", headers=as_role("admin")).get_json()["items"]
    again = runner.invoke(args=["init", "--demo"])
    assert again.exit_code == 0, again.output
    current = client.get("/v1/subprocessors", headers=as_role("admin")).get_json()["items"]
    names = [item["name"] for item in current if item["status"] != "retired"]
    assert first["name"] not in names
    assert client.get("/v1/changes", headers=as_role("admin")).get_json()["items"] == (
        changes_before
    )


def created_token(result) -> str:
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert TOKEN.fullmatch(lines[-1])
    assert all(lines[-1] not in line for line in lines[:-1])
    return lines[-1]


def key_id_of(token: str) -> str:
    return "key_" + token.split("_")[2]


@pytest.mark.parametrize(
    ("role", "extra", "allowed", "denied"),
    [
        ("admin", [], "/v1/compliance", None),
        ("procurement", [], "/v1/compliance", None),
        ("service", [], "/v1/allowed-processors", "/v1/compliance"),
        ("customer", ["--customer", "cust-9"], "/v1/subprocessors", "/v1/compliance"),
    ],
)
def test_keys_create_prints_a_working_token_last(runner, client, role, extra, allowed, denied):
    token = created_token(
        runner.invoke(args=["keys", "create", "--role", role, "--name", "ci", *extra])
    )
    assert client.get(allowed, headers=bearer(token)).status_code == 200
    if denied:
        assert client.get(denied, headers=bearer(token)).status_code == 403


@pytest.mark.parametrize(
    "args",
    [
        ["--role", "customer", "--name", "acme"],
        ["--role", "admin", "--name", "acme", "--customer", "cust-1"],
        ["--role", "root", "--name", "acme"],
        ["--role", "admin", "--name", "   "],
        ["--role", "admin"],
        ["--role", "customer", "--name", "acme", "--customer", "  "],
        ["--role", "customer", "--name", "acme", "--customer", "ac me"],
        ["--role", "customer", "--name", "acme", "--customer", "-acme"],
        ["--role", "admin", "--name", "ops", "--expires-on", TODAY.isoformat()],
        ["--role", "admin", "--name", "ops", "--expires-on", "2020-01-01"],
        ["--role", "admin", "--name", "ops", "--expires-on", "2027-02-30"],
        ["--role", "admin", "--name", "ops", "--expires-on", "next week"],
    ],
)
def test_keys_create_refuses_bad_arguments(app, runner, args):
    before = query(app.extensions["registry"].settings.database, "SELECT count(*) FROM api_keys")
    result = runner.invoke(args=["keys", "create", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not TOKEN.search(result.output)
    assert (
        query(app.extensions["registry"].settings.database, "SELECT count(*) FROM api_keys")
        == before
    )


def test_keys_revoke_stops_the_token(runner, client):
    token = created_token(
        runner.invoke(args=["keys", "create", "--role", "admin", "--name", "ops"])
    )
    assert client.get("/v1/subprocessors", headers=bearer(token)).status_code == 200
    result = runner.invoke(args=["keys", "revoke", key_id_of(token)])
    assert result.exit_code == 0, result.output
    assert client.get("/v1/subprocessors", headers=bearer(token)).status_code == 401
    again = runner.invoke(args=["keys", "revoke", key_id_of(token)])
    assert again.exit_code == 1
    assert "no active key" in again.output


def test_keys_list_never_shows_tokens(runner):
    token = created_token(
        runner.invoke(args=["keys", "create", "--role", "service", "--name", "svc"])
    )
    result = runner.invoke(args=["keys", "list"])
    assert result.exit_code == 0
    keys = [json.loads(line) for line in result.stdout.splitlines()]
    assert key_id_of(token) in [key["id"] for key in keys]
    assert token.split("_", 3)[3] not in result.output


def listed_keys(runner) -> dict[str, dict]:
    result = runner.invoke(args=["keys", "list"])
    assert result.exit_code == 0, result.output
    return {key["id"]: key for key in map(json.loads, result.stdout.splitlines())}


def test_keys_create_folds_the_customer_id(runner, client):
    result = runner.invoke(
        args=["keys", "create", "--role", "customer", "--name", "acme", "--customer", "Acme"]
    )
    token = created_token(result)
    assert "customer acme" in result.stdout
    assert listed_keys(runner)[key_id_of(token)]["customer_id"] == "acme"
    assert client.get("/v1/subprocessors", headers=bearer(token)).status_code == 200


def test_keys_create_blank_customer_is_a_clean_usage_error(runner):
    result = runner.invoke(
        args=["keys", "create", "--role", "customer", "--name", "acme", "--customer", "  "]
    )
    assert result.exit_code == 2
    assert "--customer" in result.output and "customer id" in result.output
    assert "Traceback" not in result.output


def test_keys_expire_after_their_last_day_and_list_shows_it(runner, client, clock):
    last_day = TODAY + timedelta(days=37)
    result = runner.invoke(
        args=["keys", "create", "--role", "admin", "--name", "temp", "--expires-on", f"{last_day}"]
    )
    token = created_token(result)
    assert f"works through {last_day}" in result.stdout
    key = listed_keys(runner)[key_id_of(token)]
    assert key["expires_on"] == last_day.isoformat()
    assert key["last_used_on"] is None
    assert client.get("/v1/subprocessors", headers=bearer(token)).status_code == 200
    assert listed_keys(runner)[key_id_of(token)]["last_used_on"] == TODAY.isoformat()
    clock.today = last_day
    assert client.get("/v1/subprocessors", headers=bearer(token)).status_code == 200
    clock.today = last_day + timedelta(days=1)
    expired = client.get("/v1/subprocessors", headers=bearer(token))
    assert expired.status_code == 401
    assert "expired" in expired.get_json()["detail"]
    assert listed_keys(runner)[key_id_of(token)]["last_used_on"] == last_day.isoformat()


@pytest.fixture
def demo(runner):
    result = runner.invoke(args=["init", "--demo"])
    assert result.exit_code == 0, result.output


def check(runner, *args: str):
    return runner.invoke(args=["check", *args])


def check_json(runner, *args: str) -> tuple[int, dict]:
    result = check(runner, "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_check_exits_1_when_an_active_sub_processor_is_flagged(runner, demo):
    result = check(runner)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    [error] = [line for line in lines if line.startswith("ERROR")]
    assert error.startswith("ERROR   NO_SAFEGUARD SG Relaywise (sp_")
    assert ", active): No safeguard is recorded for SG" in error
    # Warnings are printed too, each on its own line, after the errors.
    warnings = [line for line in lines if line.startswith("WARNING")]
    assert warnings and lines.index(error) < lines.index(warnings[0])
    assert any(" SCC_COPY_MISSING IN Tallybird Support " in line for line in warnings)


def test_check_exits_0_once_the_flagged_one_is_retired(runner, demo, client, as_role):
    listed = client.get("/v1/subprocessors?flagged=true", headers=as_role("admin")).get_json()
    [relaywise] = listed["items"]
    url = f"/v1/subprocessors/{relaywise['id']}"
    etag = client.get(url, headers=as_role("admin")).headers["ETag"]
    assert client.delete(url, headers=as_role("admin", **{"If-Match": etag})).status_code == 200
    result = check(runner)
    assert result.exit_code == 0, result.output
    assert "ERROR" not in result.output
    assert "WARNING" in result.output
    # An active sub-processor still has a warning: failing on warnings, the check fails.
    strict = check(runner, "--fail-on", "warning")
    assert strict.exit_code == 1, strict.output
    assert check(runner, "--fail-on", "error").exit_code == 0


def test_check_fail_on_takes_error_or_warning_only(runner, demo):
    result = check(runner, "--fail-on", "info")
    assert result.exit_code == 2
    assert "'error', 'warning'" in result.output or "error, warning" in result.output


def test_check_of_an_empty_register_exits_0(runner):
    code, report = check_json(runner)
    assert code == 0
    assert report["summary"]["total"] == 0


def test_check_ignores_flagged_proposals(runner, client, as_role):
    body = nimbus(locations=[singapore()], effective_on=None)
    assert client.post("/v1/subprocessors", json=body, headers=as_role("admin")).status_code == 201
    code, report = check_json(runner)
    assert code == 0
    assert report["summary"]["flagged"] == 1
    assert report["summary"]["active_flagged"] == 0


def test_check_assume_ended_flags_more(runner, demo):
    code, today = check_json(runner)
    code_what_if, what_if = check_json(runner, "--assume-ended", "us-dpf-2023")
    assert code == code_what_if == 1
    assert what_if["assumed_ended"] == ["us-dpf-2023"]
    assert what_if["summary"]["active_flagged"] == today["summary"]["active_flagged"] + 1
    assert "Quillon Data" in [item["name"] for item in what_if["flagged"]]
    assert "Quillon Data" not in [item["name"] for item in today["flagged"]]


def test_check_assume_ended_is_repeatable(runner, demo):
    _, report = check_json(runner, "--assume-ended", "us-dpf-2023", "--assume-ended", "gb-2021")
    assert report["assumed_ended"] == ["gb-2021", "us-dpf-2023"]


def test_check_as_of_applies_that_dates_law(runner, client, as_role):
    body = nimbus(effective_on="2020-01-01")
    assert client.post("/v1/subprocessors", json=body, headers=as_role("admin")).status_code == 201
    code, today = check_json(runner)
    assert (code, today["as_of"]) == (0, TODAY.isoformat())
    code, past = check_json(runner, "--as-of", "2022-01-01")
    assert (code, past["as_of"]) == (1, "2022-01-01")
    codes = {flag["code"] for flag in past["flagged"][0]["compliance"]["flags"]}
    assert "ADEQUACY_NOT_IN_FORCE" in codes


def test_check_json_matches_the_api_report(runner, demo, client, as_role):
    _, report = check_json(runner, "--as-of", "2024-01-01", "--assume-ended", "gb-2021")
    api = client.get(
        "/v1/compliance?as_of=2024-01-01&assume_ended=gb-2021", headers=as_role("admin")
    ).get_json()
    # Both carry what evidence falls due within 30 days of the date and the copies on file
    # stored without a malware scan (notes, not findings).
    assert isinstance(report["evidence_due"], list) and report["not_scanned"] == []
    assert report == api


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--assume-ended", "us-dpf-2099"], "us-dpf-2099"),
        (["--as-of", "2022-02-30"], "YYYY-MM-DD"),
        (["--as-of", "soon"], "YYYY-MM-DD"),
    ],
)
def test_check_usage_errors_exit_2(runner, demo, args, message):
    result = check(runner, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert "NO_SAFEGUARD" not in result.output


def test_check_on_an_uninitialised_database_says_so(uninitialised_app):
    result = invoke(uninitialised_app, "check")
    assert result.exit_code == 2
    assert "registry init" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_installed_command_end_to_end(tmp_path):
    env = registry_env({"REGISTRY_DATABASE": str(tmp_path / "cli.db")})

    def registry(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "registry.cli", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert registry("init", "--demo").returncode == 0
    assert registry("init", "--demo").returncode == 0
    done = registry("keys", "create", "--role", "procurement", "--name", "ci")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert TOKEN.fullmatch(token)
    flagged = registry("check")
    assert flagged.returncode == 1
    report = json.loads(registry("check", "--json").stdout)
    assert report["summary"]["total"] == len(demo_names())

    app = create_app(Settings(database=env["REGISTRY_DATABASE"]))
    try:
        response = app.test_client().get("/v1/subprocessors", headers=bearer(token))
        assert response.status_code == 200
        assert [item["name"] for item in response.get_json()["items"]] == demo_names()
    finally:
        app.extensions["registry"].db.close()


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("REGISTRY_MAX_JSON", "abc", "REGISTRY_MAX_JSON must be an integer, got 'abc'"),
        ("REGISTRY_NOTICE_DAYS", "-1", "REGISTRY_NOTICE_DAYS must not be negative, got -1"),
        ("REGISTRY_WEBHOOK_LEASE", "0", "REGISTRY_WEBHOOK_LEASE must be positive, got '0'"),
    ],
)
def test_an_unusable_setting_stops_the_command_with_exit_2(tmp_path, variable, value, says):
    """Exit 2 and the variable named: never 1, which `check` uses for a finding."""
    env = registry_env({"REGISTRY_DATABASE": str(tmp_path / "r.db"), variable: value})
    done = subprocess.run(
        [sys.executable, "-m", "registry.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_settings_are_read_once_with_their_defaults():
    from registry.settings import Settings

    assert Settings.from_environment({}) == Settings()
    read = Settings.from_environment(
        {"REGISTRY_DATA": "/law", "REGISTRY_WEBHOOK_ALLOW_PRIVATE": "1", "REGISTRY_MAX_JSON": ""}
    )
    assert read == Settings(data_dir="/law", webhook_allow_private=True)
    # A boolean takes 1/true/yes/on and 0/false/no/off in any case (tests/ground/test_settings.py).
    private = Settings.from_environment({"REGISTRY_WEBHOOK_ALLOW_PRIVATE": "true"})
    assert private.webhook_allow_private
