"""The wheel: complete (code, reference law, migrations) and working once installed elsewhere.

The `packaging` tests build the wheel from a copy of the source, install it into a fresh venv
(its dependencies from requirements.lock, with hashes; the wheel itself without dependencies)
and run `registry` from a folder outside the repository, so nothing is imported from the
checkout. The other tests here are fast and also run in `make check`.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from helpers import ROOT, registry_env

import registry
from registry.law.loader import DEFAULT_DATA_DIR, load_demo_catalogue

# What the wheel is built from: pyproject.toml names these and nothing else.
SOURCES = ("pyproject.toml", "README.md", "registry", "data")
TIMEOUT = 300


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def registry_command(bin_dir: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """The installed `registry`, on the tests' day (registry_env) unless given an env."""
    kwargs.setdefault("env", registry_env())
    return subprocess.run(
        [str(bin_dir / "registry"), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        **kwargs,
    )


def test_the_version_is_the_same_everywhere():
    """registry/__init__.py holds it; the CLI, the installed metadata and the spec agree."""
    assert pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "registry.__version__"
    }
    assert "version" in pyproject()["project"]["dynamic"]
    cli = registry_command(Path(sys.executable).parent, "--version")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip() == f"registry {registry.__version__}"
    spec = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    assert spec["info"]["version"] == registry.__version__
    # Stale after a version change until the next install (`make` reinstalls on pyproject.toml).
    assert importlib.metadata.version("registry") == registry.__version__


def test_every_package_folder_is_listed_in_pyproject():
    """The packages are listed by hand (data/ is mapped in); a new folder must be added there."""
    on_disk = {
        ".".join(folder.relative_to(ROOT).parts)
        for folder in [ROOT / "registry", *(ROOT / "registry").rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__"
    }
    setuptools = pyproject()["tool"]["setuptools"]
    assert set(setuptools["packages"]) == on_disk | {"registry.data"}
    assert setuptools["package-dir"] == {"registry.data": "data"}


def test_a_checkout_reads_the_top_level_data_folder():
    """From the source tree (or an editable install) the law is the repository's data/."""
    assert DEFAULT_DATA_DIR == ROOT / "data"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built (with build isolation) from a copy of the sources."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(base), str(source)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = base.glob("registry-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The bin/ of a fresh venv with the lock's dependencies and the wheel, nothing else."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=TIMEOUT)
    python = str(venv / "bin" / "python")
    for args in (
        ["--require-hashes", "-r", str(ROOT / "requirements.lock")],
        ["--no-deps", str(wheel)],
    ):
        done = subprocess.run(
            [python, "-m", "pip", "install", "--quiet", *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    # The lock satisfies every dependency the wheel declares.
    checked = subprocess.run(
        [python, "-m", "pip", "check"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return venv / "bin"


@pytest.fixture
def outside(tmp_path) -> dict:
    """Run from a folder outside the repository, with only the database configured."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("REGISTRY_") and key not in ("PYTHONPATH", "PYTHONHOME")
    }
    env["REGISTRY_DATABASE"] = str(tmp_path / "registry.db")
    return {"cwd": cwd, "env": registry_env(env, inherit=False)}


@pytest.mark.packaging
def test_the_wheel_holds_the_code_the_law_and_the_migrations(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        version = Parser().parsestr(archive.read(metadata).decode("utf-8"))["Version"]
    assert version == registry.__version__
    for path in sorted((ROOT / "data").glob("*.json")):
        assert f"registry/data/{path.name}" in names
    migrations = sorted((ROOT / "registry" / "db" / "migrations").glob("*.sql"))
    assert migrations
    for path in [*migrations, *(ROOT / "registry").rglob("*.py")]:
        assert path.relative_to(ROOT).as_posix() in names
    assert not [name for name in names if name.startswith(("data/", "tests/"))]


@pytest.mark.packaging
def test_the_installed_wheel_initialises_and_checks_the_demo(installed, outside):
    where = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import registry; from registry.law.loader import DEFAULT_DATA_DIR as d; "
            "print(registry.__file__); print(d)",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
        **outside,
    )
    package_file, data_dir = where.stdout.splitlines()
    site = (installed.parent / "lib").resolve()
    assert Path(package_file).resolve().is_relative_to(site), package_file
    assert Path(data_dir).resolve().is_relative_to(site), data_dir

    version = registry_command(installed, "--version", **outside)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"registry {registry.__version__}"

    init = registry_command(installed, "init", "--demo", **outside)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "Traceback" not in init.stderr
    assert "applied migration 0001" in init.stdout
    assert "reference law" in init.stdout and "loaded" in init.stdout
    demo = len(load_demo_catalogue())
    assert f"demo catalogue: {demo} sub-processors added" in init.stdout

    # 1: an active sub-processor is flagged, as one of the demo's is (no safeguard for SG).
    check = registry_command(installed, "check", **outside)
    assert check.returncode in (0, 1), check.stdout + check.stderr
    assert "Traceback" not in check.stderr
    assert f"{demo} sub-processors:" in check.stdout
