"""What tests share besides fixtures: sample records, tokens, apps and a real gunicorn server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from registry import clock as registry_clock
from registry.app import create_app
from registry.bootstrap import initialise
from registry.keys.store import create_key
from registry.settings import Settings

TODAY = date(2026, 11, 24)
ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """registry.clock, as a test moves it: `clock.today = date(...)` sets noon of that day."""

    @property
    def today(self) -> date:
        return registry_clock.today()

    @today.setter
    def today(self, day: date) -> None:
        registry_clock.set(day)

    def advance(self, **delta) -> None:
        registry_clock.advance(timedelta(**delta))


def make_app(database, **settings):
    """An app on the SQLite file `database`, initialised, with these settings changed."""
    app = create_app(Settings(database=str(database), **settings))
    initialise(app.extensions["registry"])
    return app


URL = "/v1/subprocessors"
# What a version of a sub-processor holds: in the history, the audit trail and the feed.
VERSION_FIELDS = (
    "id",
    "name",
    "legal_entity",
    "service",
    "purpose",
    "data_categories",
    "locations",
    "effective_on",
    "announced_on",
    "retired_on",
    "version",
    "created_at",
)


def current_etag(client, staff, subprocessor_id: str) -> str:
    return client.get(f"{URL}/{subprocessor_id}", headers=staff).headers["ETag"]


def make_token(registry, role: str, customer_id: str | None = None, name: str | None = None):
    with registry.db.write() as tx:
        _, token = create_key(tx, role=role, name=name or role, customer_id=customer_id)
    return token


def category_keys() -> list[str]:
    """Every data-category key of the fideslang default taxonomy, sorted."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return sorted(item.fides_key for item in DEFAULT_TAXONOMY.data_category)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def nimbus(**overrides) -> dict:
    """The API contract's example sub-processor."""
    body = {
        "name": "Nimbus Hosting",
        "legal_entity": "Nimbus Hosting Inc.",
        "service": "hosting",
        "purpose": "Hosting of the login service",
        "data_categories": [
            "user.account.username",
            "user.contact.email",
            "user.device.ip_address",
        ],
        "locations": [
            {"country": "NL", "activity": "storage"},
            {
                "country": "US",
                "activity": "remote_access",
                "safeguard": {
                    "mechanism": "adequacy",
                    "certified": True,
                    "certification_checked_on": "2026-10-01",
                },
            },
            {
                "country": "IN",
                "activity": "processing",
                "safeguard": {
                    "mechanism": "scc",
                    "scc_version": "2021/914",
                    "scc_module": 3,
                    "signed_on": "2024-03-01",
                    "tia_completed_on": "2024-02-20",
                },
            },
        ],
        "effective_on": "2025-01-01",
    }
    body.update(overrides)
    return body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`registry serve` (gunicorn) on 127.0.0.1 with its own database file."""

    def __init__(self, tmp_path: Path, workers: int = 2):
        self.database = tmp_path / "server.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {**os.environ, "REGISTRY_DATABASE": str(self.database)}
        self.log = tmp_path / "server.log"
        self.process: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "registry.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        return done.stdout

    def token(self, role: str, customer: str | None = None) -> str:
        args = ["keys", "create", "--role", role, "--name", f"test {role}"]
        if customer:
            args += ["--customer", customer]
        return self.cli(*args).strip().splitlines()[-1]

    def start(self) -> Server:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "registry.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        raise RuntimeError("server did not start within 30 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None
