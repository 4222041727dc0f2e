"""`registry backup FILE`: a consistent online copy, checked, never half written."""

from __future__ import annotations

import stat
import threading

from helpers import nimbus

from registry.audit import service as audit
from registry.db import store as db
from registry.runtime import Registry
from registry.subprocessors import service as subprocessors
from registry.subprocessors.schemas import SubprocessorCreateSchema


def count(path, table: str) -> int:
    conn = db.open_read_only(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
    finally:
        conn.close()


def test_the_copy_is_complete_checked_and_private(client, staff, runner, tmp_path):
    for n in range(3):
        assert (
            client.post(
                "/v1/subprocessors", json=nimbus(name=f"Kept {n}"), headers=staff
            ).status_code
            == 201
        )
    target = tmp_path / "backups" / "registry.db"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "integrity ok, audit trail ok" in result.output
    assert count(target, "subprocessors") == 3
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not list(target.parent.glob(".*partial"))
    conn = db.open_read_only(target)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        checked, broken = audit.verify(audit.entries(conn))
    finally:
        conn.close()
    assert broken is None and checked == count(target, "audit") >= 3


def test_an_existing_file_is_kept_unless_forced(client, staff, runner, tmp_path):
    target = tmp_path / "elsewhere" / "copy.db"
    target.parent.mkdir()
    target.write_bytes(b"not a backup")
    refused = runner.invoke(args=["backup", str(target)])
    assert refused.exit_code == 2 and "--force" in refused.output
    assert target.read_bytes() == b"not a backup"
    forced = runner.invoke(args=["backup", "--force", str(target)])
    assert forced.exit_code == 0, forced.output
    assert count(target, "subprocessors") == 0


def test_a_copy_taken_during_writes_is_consistent(registry, tmp_path):
    """Writers go on while the copy is taken; the copy is one consistent state."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        # Its own connections, opened and closed in its own thread.
        own = Registry(registry.settings)
        schema = SubprocessorCreateSchema()
        n = 0
        try:
            while not stop.is_set():
                data = schema.load(nimbus(name=f"W{number}-{n}"))
                subprocessors.create(own, data, audit.actor(name="writer"))
                n += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.db.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    try:
        copies = [db.backup(registry.db, tmp_path / f"copy-{n}.db") for n in range(3)]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    for n, done in enumerate(copies):
        path = tmp_path / f"copy-{n}.db"
        assert done["bytes"] == path.stat().st_size
        conn = db.open_read_only(path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            # Every sub-processor in the copy has its audit entry and its first version.
            created = conn.execute("SELECT count(*) FROM subprocessors").fetchone()[0]
            audited = conn.execute(
                "SELECT count(*) FROM audit WHERE action = 'subprocessor.create'"
            ).fetchone()[0]
            versions = conn.execute(
                "SELECT count(*) FROM subprocessor_versions WHERE version = 1"
            ).fetchone()[0]
            assert created == audited == versions
            assert audit.verify(audit.entries(conn))[1] is None
        finally:
            conn.close()
