"""Boolean settings are strict: the listed words in any case, anything else stops the command."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
from helpers import ROOT

from registry.settings import Settings, SettingsError

BOOLEANS = sorted(
    "REGISTRY_" + spec.metadata["env"]
    for spec in dataclasses.fields(Settings)
    if spec.type in ("bool", bool)
)
FIELD_OF = {"REGISTRY_" + spec.metadata["env"]: spec.name for spec in dataclasses.fields(Settings)}
TRUE = ["1", "true", "TRUE", "True", "yes", "YES", "on", "On"]
FALSE = ["0", "false", "FALSE", "no", "No", "off", "OFF"]
UNUSABLE = ["2", "y", "enabled", "-1", "truee", "nope"]


def run(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=timeout,
    )


def test_the_registry_has_boolean_settings():
    # The walk below covers every boolean the Settings class declares; it must find them.
    assert {"REGISTRY_READ_ONLY", "REGISTRY_WEBHOOK_ALLOW_PRIVATE"} <= set(BOOLEANS)


@pytest.mark.parametrize("variable", BOOLEANS)
def test_every_boolean_takes_the_listed_words_in_any_case(variable):
    field = FIELD_OF[variable]
    for word in TRUE:
        assert getattr(Settings.from_environment({variable: word}), field) is True, word
    for word in FALSE:
        assert getattr(Settings.from_environment({variable: word}), field) is False, word


@pytest.mark.parametrize("variable", BOOLEANS)
@pytest.mark.parametrize("value", UNUSABLE)
def test_every_boolean_refuses_anything_else_naming_it(variable, value):
    with pytest.raises(SettingsError) as refused:
        Settings.from_environment({variable: value})
    assert variable in str(refused.value)
    assert repr(value) in str(refused.value)


@pytest.mark.parametrize("variable", BOOLEANS)
def test_an_unusable_boolean_stops_the_command_with_exit_2(tmp_path, variable):
    database = tmp_path / "r.db"
    done = run("keys", "list", env={"REGISTRY_DATABASE": str(database), variable: "enabled"})
    assert done.returncode == 2, done.stderr
    assert variable in done.stderr
    assert "'enabled'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not database.exists()


@pytest.mark.parametrize("word", ["true", "Yes", "ON", "1"])
def test_read_only_true_never_starts_a_writable_primary(tmp_path, word):
    """`REGISTRY_READ_ONLY=true registry serve` is a read-only node: with no replica there it
    refuses to start, and creates no database (it used to initialise one and serve writes)."""
    database = tmp_path / "r.db"
    try:
        done = run(
            "serve",
            "--port",
            "1",  # never reached: the node stops before it binds
            env={"REGISTRY_DATABASE": str(database), "REGISTRY_READ_ONLY": word},
            timeout=15,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"REGISTRY_READ_ONLY={word} started a server (stopped after 15 s)")
    assert done.returncode == 1, done.stderr
    assert f"no database at {database}" in done.stderr
    assert not database.exists()
