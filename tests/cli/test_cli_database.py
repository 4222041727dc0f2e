"""Only `registry init` and `registry serve` create the database; every other command that
opens it stops (exit 2) naming REGISTRY_DATABASE when there is no file."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import ROOT

from registry.cli import register_commands


def commands(tmp_path) -> list[list[str]]:
    sheet = tmp_path / "vendors.csv"
    sheet.write_text("name,country\nNimbus,IE\n")
    document = tmp_path / "scc.pdf"
    document.write_bytes(b"%PDF-1.4 x")
    return [
        ["keys", "create", "--role", "admin", "--name", "me"],
        ["keys", "list"],
        ["keys", "revoke", "key_0000000000000000"],
        ["check"],
        ["audit", "verify"],
        ["audit", "head"],
        ["customers", "show", "acme"],
        ["customers", "erase", "acme"],
        ["purge"],
        ["worker", "--once"],
        ["backup", str(tmp_path / "copy.db")],
        ["import", str(sheet)],
        ["documents", "add", str(document), "--kind", "scc", "--audience", "disclosable"],
    ]


def test_no_command_but_init_and_serve_creates_the_database(uninitialised_app, tmp_path):
    path = uninitialised_app.extensions["registry"].settings.database
    register_commands(uninitialised_app)
    runner = uninitialised_app.test_cli_runner()
    for command in commands(tmp_path):
        result = runner.invoke(args=command)
        assert result.exit_code == 2, (command, result.output)
        assert f"no database at {path} (REGISTRY_DATABASE)" in result.output, command
        assert "registry init" in result.output
        assert not os.path.exists(path), command
        assert not (tmp_path / "copy.db").exists()
    created = runner.invoke(args=["init"])
    assert created.exit_code == 0, created.output
    assert os.path.exists(path)
    listed = runner.invoke(args=["keys", "list"])
    assert listed.exit_code == 0, listed.output


@pytest.mark.parametrize(
    "command", [["keys", "create", "--role", "admin", "--name", "me"], ["keys", "list"]]
)
def test_keys_on_a_database_that_does_not_exist_exit_2(tmp_path, command):
    """The quick start's second shell with another REGISTRY_DATABASE: a clear stop, not a key
    in a new file that the server never reads (a 401 with no hint why)."""
    database = tmp_path / "elsewhere" / "registry.db"
    done = subprocess.run(
        [sys.executable, "-m", "registry.cli", *command],
        env={**os.environ, "REGISTRY_DATABASE": str(database)},
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "REGISTRY_DATABASE" in done.stderr
    assert str(database) in done.stderr
    assert "reg_key_" not in done.stdout
    assert not database.exists()
    assert not database.parent.exists()


def test_the_quick_starts_second_shell_uses_the_servers_database():
    """`make run` serves REGISTRY_DATABASE (default var/registry.db); a second shell in the
    same directory, with nothing exported, must reach the same file."""
    from registry.settings import Settings

    makefile = (ROOT / "Makefile").read_text()
    (served,) = [
        line.split("?=", 1)[1].strip()
        for line in makefile.splitlines()
        if line.startswith("export REGISTRY_DATABASE ?=")
    ]
    assert served == Settings.from_environment({}).database
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "in another shell in the same directory" in quick_start
    assert "export the same one" in quick_start
