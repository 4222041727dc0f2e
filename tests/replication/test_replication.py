"""Continuous replication with Litestream: `registry replicate`, `registry restore`, and a
`registry serve --read-only` node following the replica."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import sqlite3
import stat
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import (
    ALLOWED,
    ROOT,
    URL,
    Server,
    call,
    nimbus,
    registry_env,
    server_on_template,
)

from registry.audit import service as audit
from registry.db import store as db
from registry.replication import service as replication
from registry.settings import Settings, SettingsError

PRIMARY = "https://primary.example"
SYNC = "0.1"  # seconds: the primary ships, and a follower polls, this often


# -- without a server -------------------------------------------------------------------------


@pytest.fixture
def read_only_app(apps, database):
    app = apps.own(database, read_only=True, primary_url=PRIMARY + "/")
    yield app
    apps.detach(app)


def test_a_read_only_node_refuses_writes_naming_the_primary(read_only_app, as_role):
    client = read_only_app.test_client()
    staff = as_role("procurement")
    listed = client.get(URL, headers=staff)
    assert listed.status_code == 200
    for method, path in [
        ("POST", URL),
        ("PATCH", f"{URL}/sp_0000000000000000"),
        ("DELETE", f"{URL}/sp_0000000000000000"),
        ("POST", "/v1/keys"),
    ]:
        refused = client.open(path, method=method, json={}, headers=staff)
        assert refused.status_code == 503, (method, path, refused.get_data(as_text=True))
        assert refused.mimetype == "application/problem+json"
        body = refused.get_json()
        assert body["primary"] == PRIMARY
        assert PRIMARY in body["detail"] and "read-only replica" in body["detail"]
        assert "Retry-After" not in refused.headers and "Location" not in refused.headers
    # Nothing reached the file: the write was refused before any handler or check ran.
    assert client.get(URL, headers=staff).get_json() == listed.get_json()
    # Without a token, a write is still 503: there is nothing this node could do with it.
    assert client.post(URL, json={}).status_code == 503
    # A customer's download is a disclosure, recorded by the primary.
    assert client.get("/v1/documents/doc_x/content", headers=staff).status_code == 503
    assert client.get("/v1/no-such-thing", headers=staff).status_code == 404


def test_a_read_only_node_holds_no_connection_between_requests(read_only_app, as_role):
    registry = read_only_app.extensions["registry"]
    client = read_only_app.test_client()
    # buffered: the test client closes the answer, as a server does once it is sent.
    allowed = client.get(f"{ALLOWED}?data_category=user", headers=as_role("service"), buffered=True)
    assert allowed.status_code == 200  # the fast path
    assert registry.db._all == []  # released: a follower can take its lock
    assert client.get(URL, headers=as_role("procurement"), buffered=True).status_code == 200
    assert registry.db._all == []
    with pytest.raises(db.ReadOnlyDatabase), registry.db.write():
        pass


def test_replication_settings_are_checked():
    for name, value in [
        ("REGISTRY_REPLICA_URL", "not a url"),
        ("REGISTRY_REPLICA_URL", "file://relative/path"),
        ("REGISTRY_PRIMARY_URL", "ftp://primary.example"),
        ("REGISTRY_REPLICA_SYNC_INTERVAL", "0"),
    ]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_environment({name: value})
    settings = Settings.from_environment(
        {"REGISTRY_REPLICA_URL": "s3://bucket/registry", "REGISTRY_READ_ONLY": "1"}
    )
    assert settings.replica_url == "s3://bucket/registry" and settings.read_only


def test_the_litestream_executable_is_installed():
    done = subprocess.run(
        [replication.litestream(), "version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().startswith("0.5.")


def test_restore_refuses_an_existing_file_and_a_missing_replica(runner, tmp_path):
    target = tmp_path / "restored.db"
    target.write_bytes(b"kept")
    refused = runner.invoke(args=["restore", "--replica", f"file://{tmp_path}/r", "--to", target])
    assert refused.exit_code == 2 and "--force" in refused.output
    assert target.read_bytes() == b"kept"
    missing = runner.invoke(
        args=["restore", "--replica", f"file://{tmp_path}/none", "--to", target, "--force"]
    )
    assert missing.exit_code == 1 and "litestream restore failed" in missing.output
    assert target.read_bytes() == b"kept"  # a failed restore replaces nothing


# -- with servers -------------------------------------------------------------------------------


class Litestreamed:
    """A `registry` command beside a server (replicate, restore --follow), stopped at the end,
    on that server's clock."""

    def __init__(self, server: Server, env: dict, log: Path, *args: str):
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "registry.cli", *args],
                env=registry_env(env, at=server.clock()),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            assert time.monotonic() < deadline, self.log.read_text()[-2000:]
            time.sleep(0.05)

    def children(self) -> list[int]:
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in found.stdout.split()]

    def kill(self) -> None:
        """SIGKILL, Litestream (in a session of its own) first."""
        for pid in self.children():
            os.kill(pid, signal.SIGKILL)
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            children = self.children()
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
            for pid in children:  # stopped with it, or now
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        return self.process.returncode


@pytest.fixture
def primary(apps, tmp_path):
    """A server whose database Litestream ships to a file:// replica every 0.1 s."""
    server = server_on_template(apps, tmp_path)
    replica = tmp_path / "replica"
    server.env.update(REGISTRY_REPLICA_URL=f"file://{replica}", REGISTRY_REPLICA_SYNC_INTERVAL=SYNC)
    server.replica_url = f"file://{replica}"
    server.start()
    shipper = Litestreamed(server, server.env, tmp_path / "replicate.log", "replicate")
    shipper.wait_for("snapshot complete")
    yield server, shipper
    shipper.stop()
    server.stop()


def posted(server: Server, name: str) -> str:
    reply = call(server, "POST", URL, server.tokens["procurement"], nimbus(name=name))
    assert reply.status == 201, reply.text
    return reply.json()["id"]


@pytest.mark.server
def test_restore_after_sigkill_has_every_write_up_to_the_replicated_position(primary, tmp_path):
    server, shipper = primary
    acknowledged: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(1000):
            if stop.is_set():
                return
            try:
                record = posted(server, f"Under load {n}-{i}")
            except (OSError, http.client.HTTPException):
                return  # cut off by the kill: never acknowledged
            with lock:
                acknowledged.append(record)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    # The whole server and Litestream at once, mid-burst, as a machine lost.
    os.killpg(server.process.pid, signal.SIGKILL)
    shipper.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    server.process.wait(timeout=10)
    assert len(acknowledged) > 20

    # The primary's own file has every acknowledged write (synchronous=FULL), in commit order.
    conn = db.open_read_only(server.database)
    try:
        order = dict(
            conn.execute(
                "SELECT object_id, min(seq) FROM audit WHERE action = 'subprocessor.create'"
                " GROUP BY object_id"
            ).fetchall()
        )
    finally:
        conn.close()
    assert set(acknowledged) <= order.keys()

    target = tmp_path / "elsewhere" / "restored.db"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "registry.cli", "restore", "--replica", server.replica_url,
         "--to", str(target)],
        env=server.process_env(), capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr + result.stdout
    assert "integrity ok, audit trail ok" in result.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    conn = db.open_read_only(target)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        checked, broken = audit.verify(audit.entries(conn))
        assert broken is None
        last = conn.execute("SELECT max(seq) FROM audit").fetchone()[0]
        present = {row[0] for row in conn.execute("SELECT id FROM subprocessors")}
    finally:
        conn.close()
    # Every acknowledged write up to the last replicated position is there, none after it.
    expected = {record for record in acknowledged if order[record] <= last}
    assert expected <= present
    assert not {record for record in acknowledged if order[record] > last} & present
    shipped = len(expected) / len(acknowledged)
    print(
        f"\nrestore after SIGKILL: {len(acknowledged)} writes acknowledged, {len(expected)} "
        f"replicated ({shipped:.0%}), audit {checked} entries, restored in {took:.2f} s "
        f"({target.stat().st_size} bytes)"
    )
    # With 0.1 s shipments, all but the last moments' writes made it.
    assert shipped > 0.5

    # `registry audit verify` passes on the restored file as on any database.
    verified = subprocess.run(
        [sys.executable, "-m", "registry.cli", "audit", "verify"],
        env=registry_env({**server.env, "REGISTRY_DATABASE": str(target)}, at=server.clock()),
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert verified.returncode == 0 and "audit trail ok" in verified.stdout, verified.stderr


@pytest.mark.server
def test_a_read_only_replica_serves_reads_and_sees_writes_within_a_second(primary, tmp_path):
    server, _ = primary
    node = tmp_path / "node"
    node.mkdir()
    follower_env = {
        **server.env,
        "REGISTRY_DATABASE": str(node / "replica.db"),
        "REGISTRY_PRIMARY_URL": PRIMARY,
    }
    follower = Litestreamed(
        server,
        follower_env,
        node / "follow.log",
        "restore", "--replica", server.replica_url, "--to", str(node / "replica.db"), "--follow",
    )  # fmt: skip
    replica = ReadOnlyServer(node, node / "replica.db", follower_env, server)
    try:
        follower.wait_for("following the replica")
        assert stat.S_IMODE((node / "replica.db").stat().st_mode) == 0o600
        replica.start()
        admin, service = server.tokens["admin"], server.tokens["service"]

        # Reads, the fast path among them, answer as on the primary.
        for path, token in [
            (URL, admin),
            (f"{ALLOWED}?data_category=user.contact.email", service),
            ("/v1/compliance", admin),
            ("/v1/health", None),
        ]:
            on_primary, on_replica = (
                call(server, "GET", path, token),
                call(replica, "GET", path, token),
            )
            assert on_replica.status == 200, (path, on_replica.text)
            assert on_replica.json() == on_primary.json(), path

        # Writes are refused, naming the primary, and do not reach it either.
        refused = call(replica, "POST", URL, server.tokens["procurement"], nimbus(name="Nope"))
        assert refused.status == 503
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["primary"] == PRIMARY and PRIMARY in refused.json()["detail"]

        # A write on the primary is readable on the replica, measured write by write.
        lags = []
        for n in range(10):
            started = time.monotonic()
            record = posted(server, f"Replicated {n}")
            while call(replica, "GET", f"{URL}/{record}", admin).status != 200:
                assert time.monotonic() - started < 10, "not replicated within 10 s"
                time.sleep(0.01)
            lags.append(time.monotonic() - started)
        # The allowed-processors answer, cached per revision, moved on with it.
        assert (
            call(replica, "GET", "/v1/health").json()["revision"]
            == call(server, "GET", "/v1/health").json()["revision"]
        )
        lags.sort()
        p95 = lags[max(0, round(0.95 * len(lags)) - 1)]
        print(
            f"\nreplica lag over {len(lags)} writes: median {statistics.median(lags):.3f} s, "
            f"p95 {p95:.3f} s, max {lags[-1]:.3f} s"
        )
        assert statistics.median(lags) < 1.5 and lags[-1] < 5
    finally:
        replica.stop()
        assert follower.stop() in (0, 128 + signal.SIGTERM, -signal.SIGTERM)


class ReadOnlyServer(Server):
    """`registry serve --read-only` on a replica that a follower keeps up to date."""

    def __init__(self, directory: Path, database: Path, env: dict, primary: Server):
        super().__init__(directory)
        self.database = database
        self.env = env
        self.made = primary.made  # on the primary's clock

    def start(self) -> ReadOnlyServer:
        args = ["serve", "--read-only", "--port", str(self.port), "--workers", "2"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "registry.cli", *args],
                env=self.process_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while call_health(self) is None:
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the read-only node did not start within 30 s"
            time.sleep(0.1)
        return self


def call_health(server: Server):
    try:
        return call(server, "GET", "/v1/health")
    except OSError:
        return None


@pytest.mark.server
def test_serve_read_only_refuses_a_missing_replica(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "registry.cli", "serve", "--read-only", "--port", "1"],
        env=registry_env({"REGISTRY_DATABASE": str(tmp_path / "none.db")}),
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1 and "registry restore" in result.stderr
    assert not (tmp_path / "none.db").exists()  # nothing created, nothing migrated


def test_a_released_read_only_connection_is_reopened_on_the_file_as_it_is(tmp_path):
    path = tmp_path / "file.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("CREATE TABLE t (x)")
    database = db.Database(path, read_only=True)
    assert database.connection().execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    database.release()
    writer.execute("INSERT INTO t VALUES (1)")
    assert database.connection().execute("SELECT count(*) FROM t").fetchall() == [(1,)]
    database.close()
    writer.close()
