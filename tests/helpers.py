"""What tests share besides fixtures: the clock, sample records, apps on a copied database, and a
real gunicorn server with raw HTTP calls."""

from __future__ import annotations

import contextlib
import copy
import functools
import http.client
import http.server
import io
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import Flask
from openapi_schema_validator import OAS31Validator, validate

from registry import clock as registry_clock
from registry.app import create_app
from registry.bootstrap import initialise
from registry.cli import register_commands
from registry.keys.store import create_key
from registry.runtime import Registry
from registry.settings import Settings

# The day every test runs on: the registry's clock in the test process, and the faked clock of
# every registry process a test starts (registry_env). REGISTRY_TEST_TODAY moves it (ISO date).
TODAY = date.fromisoformat(os.environ.get("REGISTRY_TEST_TODAY") or "2026-11-24")
ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def days_from_today(days: int) -> str:
    """The ISO date `days` after TODAY (before it, if negative)."""
    return (TODAY + timedelta(days=days)).isoformat()


# The clock


class Clock:
    """registry.clock, as a test moves it: `clock.today = date(...)` sets noon of that day,
    `clock.now = datetime(...)` that instant; the clock runs on from there."""

    @property
    def today(self) -> date:
        return registry_clock.today()

    @today.setter
    def today(self, day: date) -> None:
        registry_clock.set(day)

    @property
    def now(self) -> datetime:
        return registry_clock.now()

    @now.setter
    def now(self, at: datetime) -> None:
        registry_clock.set(at)

    def advance(self, **delta) -> None:
        registry_clock.advance(timedelta(**delta))

    def stop(self) -> None:
        """Stop the clock at a whole millisecond (as timestamps are stored); it moves only
        when a test sets or advances it."""
        now = registry_clock.now()
        registry_clock.set(now.replace(microsecond=now.microsecond // 1000 * 1000), running=False)


# Sample records

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
    "onward_transfers",
    "exporter_role",
    "effective_on",
    "announced_on",
    "already_in_use",
    "urgent_reason",
    "retired_on",
    "retired_reason",
    "version",
    "created_at",
)
# The one shape of a stored timestamp: UTC, milliseconds.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# What a writer sets, and reads back as sent.
CONTENT_FIELDS = ("name", "legal_entity", "service", "purpose", "data_categories", "locations")

# Locations. Shared dicts: copy one (copy.deepcopy) before changing it in place.
NL = {"country": "NL", "activity": "storage"}
DE = {"country": "DE", "activity": "backup"}
CA = {"country": "CA", "activity": "processing"}
# Certified under the Data Privacy Framework, checked 54 days before TODAY; the check is stale
# a year later (from TODAY + 312 days).
US_CHECKED_ON = days_from_today(-54)
US = {
    "country": "US",
    "activity": "remote_access",
    "safeguard": {
        "mechanism": "adequacy",
        "certified": True,
        "certification_checked_on": US_CHECKED_ON,
    },
}
# SCCs 2021/914 module 3 with a transfer impact assessment.
IN = {
    "country": "IN",
    "activity": "processing",
    "safeguard": {
        "mechanism": "scc",
        "scc_version": "2021/914",
        "scc_module": 3,
        "signed_on": "2024-03-01",
        "tia_completed_on": "2024-02-20",
    },
}
# The same SCCs without an assessment: compliant, with a TIA_MISSING warning.
IN_WITHOUT_TIA = {
    "country": "IN",
    "activity": "processing",
    "safeguard": {
        "mechanism": "scc",
        "scc_version": "2021/914",
        "scc_module": 3,
        "signed_on": "2024-03-01",
    },
}
# India has no adequacy decision: without a safeguard this transfer is NO_SAFEGUARD (an error).
UNSAFE_IN = {"country": "IN", "activity": "backup"}
# Every set is compliant on any date from US_CHECKED_ON to a year after it (the US check's year).
LOCATION_SETS = [[NL], [NL, DE], [NL, US], [CA], [IN, NL], [DE, CA, US]]


# The adequacy decisions as published (sources in data/), one row per act: id -> (territory, in
# force from, ended on). The TCA bridge is an arrangement, not an adequacy decision.
DECISIONS = {
    "ch-2000": ("CH", "2000-07-26", None),
    "us-safe-harbour-2000": ("US", "2000-07-26", "2015-10-06"),
    "ca-2002": ("CA", "2001-12-20", None),
    "ar-2003": ("AR", "2003-06-30", None),
    "gg-2003": ("GG", "2003-11-21", None),
    "im-2004": ("IM", "2004-04-28", None),
    "je-2008": ("JE", "2008-05-08", None),
    "fo-2010": ("FO", "2010-03-05", None),
    "ad-2010": ("AD", "2010-10-19", None),
    "il-2011": ("IL", "2011-01-31", None),
    "uy-2012": ("UY", "2012-08-21", None),
    "nz-2012": ("NZ", "2012-12-19", None),
    "us-privacy-shield-2016": ("US", "2016-07-12", "2020-07-16"),
    "jp-2019": ("JP", "2019-01-23", None),
    "gb-tca-bridge-2021": ("GB", "2021-01-01", None),
    "gb-2021": ("GB", "2021-06-28", None),
    "gb-2025-extension": ("GB", "2025-06-28", None),
    "gb-2025": ("GB", "2025-12-28", None),
    "kr-2021": ("KR", "2021-12-17", None),
    "us-dpf-2023": ("US", "2023-07-10", None),
    "epo-2025": (None, "2025-07-18", None),
    "br-2026": ("BR", "2026-01-26", None),
}
# The last day (inclusive) of the acts that expire unless continued.
EXPIRES = {
    "gb-tca-bridge-2021": "2021-06-27",
    "gb-2021": "2025-06-27",
    "gb-2025-extension": "2025-12-27",
    "gb-2025": "2031-12-27",
}
# The decisions data/ marks as not verified (their notes say why).
UNVERIFIED = {"gb-2025-extension", "gb-2025", "epo-2025", "br-2026"}


def singapore(activity: str = "processing") -> dict:
    """A location with no adequacy decision and no safeguard: NO_SAFEGUARD."""
    return {"country": "SG", "activity": activity}


def certified_us(activity: str = "remote_access", checked_on: str = US_CHECKED_ON) -> dict:
    return us_adequacy(certified=True, checked_on=checked_on, activity=activity)


def us_adequacy(
    certified: bool, checked_on: str | None = None, activity: str = "remote_access"
) -> dict:
    safeguard = {"mechanism": "adequacy", "certified": certified}
    if checked_on:
        safeguard["certification_checked_on"] = checked_on
    return {"country": "US", "activity": activity, "safeguard": safeguard}


def scc(country: str = "IN", activity: str = "processing", **safeguard) -> dict:
    """IN's SCCs for `country`; `safeguard` changes or adds fields (None sends a null)."""
    return {"country": country, "activity": activity, "safeguard": {**IN["safeguard"], **safeguard}}


def bcr(country: str = "BR") -> dict:
    return {
        "country": country,
        "activity": "processing",
        "safeguard": {
            "mechanism": "bcr",
            "approved_on": "2023-05-01",
            "tia_completed_on": "2023-04-01",
        },
    }


def nimbus(**overrides) -> dict:
    """The API contract's example sub-processor: NL storage, a certified US, SCCs to India."""
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
        "locations": copy.deepcopy([NL, US, IN]),
        "effective_on": "2025-01-01",
    }
    body.update(overrides)
    if body["effective_on"] is None:  # nimbus(effective_on=None): announced with the default
        del body["effective_on"]
    return in_use_if_past(body)


@contextlib.contextmanager
def loopback_server(handler: type[http.server.BaseHTTPRequestHandler], **state):
    """A threaded HTTP server on 127.0.0.1 (a free port) answering with `handler`, `state` set
    on it as attributes; shut down on leaving."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    for name, value in state.items():
        setattr(server, name, value)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def incident_report(subprocessor_id: str, detected_on: str, **overrides) -> dict:
    """A personal data breach as staff report it (POST /v1/incidents)."""
    return {
        "subprocessor_id": subprocessor_id,
        "detected_on": detected_on,
        "nature": "A misconfigured bucket exposed login records.",
        "data_categories": ["user.contact.email"],
        "likely_consequences": "Phishing.",
        "measures_taken": "Bucket closed.",
        "contact": {"name": "DPO", "email": "dpo@example.com"},
        **overrides,
    }


def upload_text(client, headers: dict, content: bytes, **fields):
    """POST /v1/documents with `content` as the plain-text file scc.txt, a copy of the SCCs
    unless `fields` name another kind."""
    return client.post(
        "/v1/documents",
        data={"file": (io.BytesIO(content), "scc.txt"), "kind": "scc", **fields},
        headers=headers,
    )


def registry_today() -> date:
    """Today as the registry sees it (its default zone), on the test's clock."""
    return registry_clock.today(ZoneInfo("Europe/Brussels"))


def in_use_if_past(body: dict) -> dict:
    """A body whose effective_on is not after today records a vendor already in use (only
    that may take effect at once), unless the test says otherwise."""
    effective = body.get("effective_on")
    if (
        isinstance(effective, str)
        and "already_in_use" not in body
        and "urgent" not in body
        and len(effective) == 10
        and effective <= registry_today().isoformat()
    ):
        body["already_in_use"] = True
    return body


def vendor(name: str, *locations: dict, service: str = "other", **fields) -> dict:
    """A minimal sub-processor: email addresses, stored in Germany unless `locations` say
    otherwise, announced today with the default notice unless `effective_on` is given."""
    return in_use_if_past(
        {
            "name": name,
            "service": service,
            "data_categories": ["user.contact.email"],
            "locations": list(locations) or [{"country": "DE", "activity": "storage"}],
            **fields,
        }
    )


def as_recorded(representation: dict) -> dict:
    """The record fields of a GET answer (without today's status and verdict)."""
    return {field: representation[field] for field in VERSION_FIELDS}


def unverified(law, decision_id: str | None, on: date | None = None) -> list[str]:
    """LAW_UNVERIFIED for the act relied on, and (with `on`) each act adopted by then that
    continues it, wherever data/ marks one unverified: the verdict rests on them."""
    act = law.decision(decision_id) if decision_id else None
    if act is None:
        return []
    acts = [act]
    while on is not None:
        following = [d for d in law.continuations(acts[-1].id) if d.adopted <= on]
        if not following:
            break
        acts.append(following[-1])
    return ["LAW_UNVERIFIED" for each in acts if not each.verified]


def category_keys() -> list[str]:
    """Every data-category key of the fideslang default taxonomy, sorted."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return sorted(item.fides_key for item in DEFAULT_TAXONOMY.data_category)


# Requests


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def cli_runner(app: Flask):
    """A runner of the registry's commands in `app`: the registry command adds them to the app
    it builds, and so does this (create_app alone has none)."""
    register_commands(app)
    return app.test_cli_runner()


PROBLEM = "application/problem+json"


def problem(response, status: int) -> dict:
    """The body of a problem+json answer (RFC 9457) with this status, after checking what every
    problem carries: type, title, status, detail, and a JSON pointer on each error."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == PROBLEM, text
    body = json.loads(text)
    assert body["status"] == status, body
    assert body["type"].startswith("https://"), body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"].strip(), body
    for error in body.get("errors", []):
        assert error["pointer"] == "" or error["pointer"].startswith("/"), error
    return body


def pointers(response, status: int = 422) -> list[str]:
    """The JSON pointers of a problem's errors (a 422 unless told), in order."""
    return [error["pointer"] for error in problem(response, status)["errors"]]


def current_etag(client, staff, subprocessor_id: str) -> str:
    return client.get(f"{URL}/{subprocessor_id}", headers=staff).headers["ETag"]


# Apps and databases


def make_token(registry, role: str, customer_id: str | None = None, name: str | None = None):
    with registry.db.write() as tx:
        _, token = create_key(tx, role=role, name=name or role, customer_id=customer_id)
    return token


# The keys every test's database holds: fixture name -> (role, customer id, key name).
KEYS = {
    "admin": ("admin", None, "admin"),
    "procurement": ("procurement", None, "procurement"),
    "service": ("service", None, "service"),
    "customer_a": ("customer", "cust-a", "customer A"),
    "customer_b": ("customer", "cust-b", "customer B"),
    "feed_a": ("feed", "cust-a", "feed A"),
}


def checkpoint(conn: sqlite3.Connection) -> None:
    """Move the whole write-ahead log into the database file, and empty the log."""
    busy, logged, moved = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0 and logged == moved, (busy, logged, moved)


def assert_alone(database: Path) -> None:
    """Closed and checkpointed: the file alone is the whole database, safe to copy."""
    wal = Path(f"{database}-wal")
    assert not wal.exists() or wal.stat().st_size == 0, f"{wal} holds commits"


class Apps:
    """Flask apps made once per session, each test's on a copy of one template database.

    The template is migrated and holds the reference law and one key per KEYS entry
    (`tokens`). A test copies it and attaches a Registry of its own, on that copy, to a
    free app: settings, connections and caches (the compliance snapshot among them) are
    the test's, and go with it. Apps are pooled by `max_json`, the one setting create_app
    copies into the app (MAX_CONTENT_LENGTH); `own` apps are made for a test that changes
    the app itself (adds routes) and are never reused.
    """

    def __init__(self, directory: Path):
        self.template = directory / "template.db"
        # No request budget: tests send far more than a key's designed load (the limit's own
        # tests turn it on).
        app = create_app(Settings(database=str(self.template), rate_limit=""))
        registry = app.extensions["registry"]
        registry.db.durable = False
        self.settings = registry.settings
        self.laws = registry.laws  # by law version (a hash of its files): safe to share
        self.tokens = self._build_template(registry)
        self._free: dict[int, list[Flask]] = {self.settings.max_json: [app]}
        self._pooled: set[Flask] = {app}

    @staticmethod
    def _build_template(registry: Registry) -> dict[str, str]:
        # Keys made at noon on TODAY, a millisecond apart (listed by creation time).
        registry_clock.set(TODAY, running=False)
        try:
            initialise(registry)
            registry.law()  # read once into the shared cache
            tokens = {}
            for fixture_name, (role, customer_id, name) in KEYS.items():
                registry_clock.advance(timedelta(milliseconds=1))
                tokens[fixture_name] = make_token(registry, role, customer_id, name)
            checkpoint(registry.db.connection())
        finally:
            registry.db.close()
            registry_clock.set(None)
        assert_alone(Path(registry.settings.database))
        return tokens

    def copy_template(self, database: Path, template: Path | None = None) -> Path:
        """A fresh database at `database`: a copy of `template` (the session's by default)
        and of the documents beside it, if any."""
        template = self.template if template is None else template
        database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, database)
        documents = template.with_name("documents")
        if documents.is_dir():
            shutil.copytree(documents, database.with_name("documents"))
        return database

    def derive(self, directory: Path, build: Callable[[Flask], T]) -> tuple[Path, T]:
        """Another template, made once: the session's, changed by `build(app)` at TODAY's
        noon; returns its path and what `build` returned. Tests copy it (copy_template)."""
        template = self.copy_template(directory / "registry.db")
        app = self.attach(template)
        registry_clock.set(TODAY)
        try:
            built = build(app)
            checkpoint(app.extensions["registry"].db.connection())
        finally:
            self.detach(app)
            registry_clock.set(None)
        assert_alone(template)
        return template, built

    def attach(self, database: Path, **changes) -> Flask:
        """A pooled app, serving a new Registry on `database` with these settings changed."""
        settings = self.settings.replace(database=str(database), **changes)
        free = self._free.setdefault(settings.max_json, [])
        if free:
            app = free.pop()
        else:
            app = create_app(settings)
            self._pooled.add(app)
        return self._point(app, settings)

    def own(self, database: Path, **changes) -> Flask:
        """An app of the test's own, never reused: for a test that changes the app."""
        settings = self.settings.replace(database=str(database), **changes)
        return self._point(create_app(settings), settings)

    def detach(self, app: Flask) -> None:
        """Close the test's database; a pooled app is free for the next test."""
        app.extensions["registry"].db.close()
        if app in self._pooled:
            self._free[app.config["MAX_CONTENT_LENGTH"]].append(app)

    def _point(self, app: Flask, settings: Settings) -> Flask:
        registry = Registry(settings)
        # No fsync (synchronous=OFF): only a power cut tells it from FULL, which no in-process
        # test makes, and the fsyncs cost about 8 ms a test (1,160 fdatasync calls for 221
        # tests, 1.9 s of waiting). The server tests keep FULL.
        registry.db.durable = False
        registry.laws = self.laws
        app.extensions["registry"] = registry
        return app


def passed_on(app: Flask, fast_path: type, monkeypatch) -> list[str]:
    """The requests ("GET /path") the app's `fast_path` (a WSGI wrapper of that class, with the
    app behind it as `.next`) passes on to the app during this test: a test of a fast path
    checks the path answered alone, since the app would give the same answer."""
    wrapper = app.wsgi_app
    while not isinstance(wrapper, fast_path):
        wrapper = wrapper.next
    behind = wrapper.next
    seen: list[str] = []

    def noting(environ, start_response):
        seen.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return behind(environ, start_response)

    monkeypatch.setattr(wrapper, "next", noting)
    return seen


# Registry processes: a server or the CLI, on the tests' day

ALLOWED = "/v1/allowed-processors"
# Debian's libfaketime (package faketime), under the machine's multiarch directory: a test
# that moves a real server's wall clock (test_server_day.py) preloads it.
LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))), None)
# Holds the sitecustomize that sets a registry process's clock from REGISTRY_TEST_CLOCK.
CLOCK_HOOK = Path(__file__).resolve().parent / "clockhook"


def noon(day: date | None = None) -> datetime:
    """Noon (UTC) on `day` (TODAY by default): where the registry's clock starts a test."""
    return datetime.combine(TODAY if day is None else day, dt_time(12), UTC)


def registry_env(
    env: dict | None = None, at: datetime | None = None, inherit: bool = True
) -> dict[str, str]:
    """The environment (os.environ unless not `inherit`, then `env`) for a process that runs
    the registry: its registry clock reads `at` when the process starts and runs on from
    there. By default `at` is the registry's clock in the test process, which a test starts
    at noon on TODAY (or moved): what the process writes and what the test writes in process
    are on one clock. (Outside a test that clock reads the calendar: a module's fixture
    passes `at`, or uses a Server, which keeps a clock of its own.)

    Every server and CLI a test starts goes through here, so what it records is dated on the
    tests' day, never the calendar's. tests/clockhook/sitecustomize.py sets the clock as the
    interpreter starts; only the registry's clock moves, not the process's (libfaketime's
    faked monotonic clock hangs Python's timed waits, and without it Python's sleeps fail).
    A test that moves a server's wall clock itself under libfaketime (a
    FAKETIME_TIMESTAMP_FILE) keeps the registry's clock on that wall clock.
    """
    made = {**(os.environ if inherit else {}), **(env or {})}
    paths = [str(CLOCK_HOOK), *filter(None, made.get("PYTHONPATH", "").split(os.pathsep))]
    made["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    made.pop("REGISTRY_TEST_CLOCK", None)
    if "FAKETIME_TIMESTAMP_FILE" not in made:
        start = registry_clock.now() if at is None else at
        made["REGISTRY_TEST_CLOCK"] = start.astimezone(UTC).isoformat()
    return made


# A real server: `registry serve` (gunicorn) in a process of its own


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
        # The server and its CLI calls share one faked clock: noon on TODAY when made.
        self.made = time.monotonic()
        self.log = tmp_path / "server.log"
        self.process: subprocess.Popen | None = None
        # The keys the database holds by KEYS name, when it is a copy of the template.
        self.tokens: dict[str, str] = {}

    def clock(self) -> datetime:
        """The server's (faked) time now: noon on TODAY when it was made, running on."""
        return noon() + timedelta(seconds=time.monotonic() - self.made)

    def process_env(self) -> dict[str, str]:
        """`env` for one of this server's processes, on the server's clock."""
        return registry_env(self.env, at=self.clock())

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "registry.cli", *args],
            env=self.process_env(),
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        return done.stdout

    def token(self, role: str, customer: str | None = None) -> str:
        """A new key, made by `registry keys create`."""
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
                env=self.process_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )
        # Ready once a worker answers, not merely once the master listens.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/v1/health")
                if conn.getresponse().status == 200:
                    return self
            except (OSError, http.client.HTTPException):
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}") from None
            finally:
                conn.close()
            time.sleep(0.1)
        raise RuntimeError(f"server did not start within 30 s: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None


def server_on_template(apps: Apps, tmp_path: Path, workers: int = 2) -> Server:
    """A server (not started) on a copy of the template database, its keys in `tokens`."""
    server = Server(tmp_path, workers=workers)
    apps.copy_template(server.database)
    server.tokens = dict(apps.tokens)
    return server


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def call(
    server: Server,
    method: str,
    path: str,
    token: str | None = None,
    body: dict | None = None,
    headers: dict | None = None,
) -> Reply:
    """One request on a new connection, so that any worker may take it."""
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body)
        sent["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        return Reply(response.status, dict(response.getheaders()), response.read())
    finally:
        conn.close()


def revision(server: Server) -> int:
    return call(server, "GET", "/v1/health").json()["revision"]


def workers(server: Server) -> list[int]:
    """The pids of the gunicorn workers (children of the `registry serve` process), once booted."""
    deadline = time.monotonic() + 10
    while True:
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == str(server.process.pid):
                pids.append(int(entry))
        if len(pids) >= server.workers or time.monotonic() > deadline:
            return sorted(pids)
        time.sleep(0.05)


def wait_dead(pids: list[int], timeout: float = 10) -> None:
    """Wait until each process has exited (gone or a zombie), so it holds no file lock."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                break
            if state in ("Z", "X"):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"process {pid} still alive ({state}) after SIGKILL")
            time.sleep(0.01)


def assert_clean_log(server: Server) -> None:
    log = server.log.read_text()
    for symptom in ("Traceback", "database is locked", "WORKER TIMEOUT", "Worker failed to boot"):
        assert symptom not in log, log[-4000:]


# The committed spec


@functools.cache
def committed_spec() -> dict:
    return json.loads((ROOT / "openapi" / "openapi.json").read_text())


def assert_documented(body, path: str, method: str = "get", status: int = 200) -> None:
    """`body` is what the committed spec says `method path` answers with `status` (JSON)."""
    spec = committed_spec()
    content = spec["paths"][path][method]["responses"][str(status)]["content"]
    schema = {**content["application/json"]["schema"], "components": spec["components"]}
    validate(body, schema, cls=OAS31Validator)
