"""The database: SQLite connections, migrations and the registry revision.

Connections use WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE for every write.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def statements(script: str) -> list[str]:
    """The statements of an SQL script, each whole, in order.

    A `;` ends a statement only where SQLite itself says the text so far is one complete
    statement (sqlite3.complete_statement, SQLite's own tokenizer), so a `;` in a string
    literal, a quoted name, a comment or a trigger's BEGIN ... END stays in its statement.
    Each statement is run on its own: executescript() would commit the migration's
    transaction first. Text after the last `;` is a last statement, as in executescript(),
    unless it is only comments.
    """
    found, start = [], 0
    end = script.find(";")
    while end != -1:
        if sqlite3.complete_statement(script[start : end + 1]):
            found.append(script[start : end + 1].strip())
            start = end + 1
        end = script.find(";", end + 1)
    rest = [line for line in script[start:].splitlines() if not line.lstrip().startswith("--")]
    if "".join(rest).strip():
        found.append(script[start:].strip())
    return found


def _migrations() -> list[tuple[str, list[str]]]:
    """The numbered migrations (NNNN_name.sql), each as its statements; the first line of a
    file (a comment) names it. Migration N leaves the database at `PRAGMA user_version` N."""
    found = []
    for number, path in enumerate(sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")), 1):
        if int(path.name[:4]) != number:
            raise RuntimeError(f"migration {path.name} is out of sequence")
        text = path.read_text()
        name = text.splitlines()[0].removeprefix("--").strip()
        found.append((name, statements(text)))
    return found


MIGRATIONS = _migrations()
SCHEMA_VERSION = len(MIGRATIONS)


class ReadOnlyDatabase(sqlite3.OperationalError):
    """A write was attempted on a read-only node's database."""


class Database:
    """Connections to one SQLite file: one per thread and per process, opened lazily.

    Opening lazily (never at import or app creation) means gunicorn workers each
    open their own connection after the fork.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        busy_timeout_ms: int = 30_000,
        *,
        durable: bool = True,
        read_only: bool = False,
        autocheckpoint: bool = True,
    ):
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.durable = durable
        # A replica's file, kept up to date underneath by another process: opened read-only,
        # and each connection released after use (see release()).
        self.read_only = read_only
        # False when Litestream replicates the file: it alone checkpoints the WAL.
        self.autocheckpoint = autocheckpoint
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            if self.read_only:
                conn = connect_read_only(self.path, self.busy_timeout_ms)
            else:
                conn = connect(self.path, self.busy_timeout_ms, durable=self.durable)
                if not self.autocheckpoint:
                    conn.execute("PRAGMA wal_autocheckpoint = 0")
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._lock:
                self._all.append(conn)
        return conn

    def release(self) -> None:
        """Close this thread's connection, if any; the next use opens a new one.

        A read-only node calls it after every request: an open connection to a WAL database
        holds a shared lock on the file, which Litestream's follower needs to be free to
        apply new changes, and a new connection also sees the file as it is now, even after
        a restore replaced it.
        """
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._lock:
            self._all = [kept for kept in self._all if kept is not conn]
        if self._local.pid == os.getpid():
            conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction: BEGIN IMMEDIATE takes the write lock up front.

        A deferred BEGIN that reads and then writes fails at once with "database is
        locked" when another writer got there first, whatever the busy timeout.
        """
        if self.read_only:
            raise ReadOnlyDatabase(f"{self.path} is a read-only replica")
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield sqlite_utils.Database(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    @contextmanager
    def erasing(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction that leaves no trace of what it deletes or overwrites.

        `secure_delete` makes SQLite overwrite deleted content with zeros, in table and index
        pages and on the free list, for this transaction only; after the commit the WAL is
        checkpointed and truncated, so neither the old pages in the WAL nor free pages in the
        file keep the bytes. With Litestream replicating (`autocheckpoint` off), checkpoints
        are Litestream's: the WAL is left to it.
        """
        conn = self.connection()
        conn.execute("PRAGMA secure_delete = ON")
        try:
            with self.write() as tx:
                yield tx
        finally:
            conn.execute("PRAGMA secure_delete = OFF")
        if self.autocheckpoint:
            checkpoint(conn)

    @contextmanager
    def snapshot(self) -> Iterator[sqlite_utils.Database]:
        """A read transaction: several queries see one consistent state."""
        conn = self.connection()
        conn.execute("BEGIN")
        try:
            yield sqlite_utils.Database(conn)
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


def _create_private(path: str) -> None:
    """Create the database file readable and writable by its owner alone (0600), unless it
    exists: SQLite gives the -wal and -shm files it creates beside it the same mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)  # an empty file is an empty SQLite database


def connect(
    path: str, busy_timeout_ms: int = 30_000, *, durable: bool = True
) -> sqlite3.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _create_private(path)
    # isolation_level=None: we issue BEGIN/COMMIT ourselves; check_same_thread stays on.
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    _use_wal(conn, busy_timeout_ms / 1000)
    # FULL: an acknowledged commit survives a power cut, not only a process crash. OFF for
    # state that may be lost (request counts), which then costs no fsync.
    conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'OFF'}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _use_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """Switch a new database file to WAL, waiting as a busy timeout would.

    The switch needs the file to itself, and SQLite answers "database is locked" at once,
    without calling the busy handler, while another connection is opening the same new file
    (two processes starting on a fresh database): retry until the timeout.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(database: Database) -> list[str]:
    """Apply pending migrations; safe to run concurrently and repeatedly.

    Each migration runs in a write transaction of its own together with the version it
    reaches (`PRAGMA user_version`, which SQLite rolls back with the rest): one that fails
    leaves nothing of itself behind and the database at the version before it. Each step
    reads the version under the write lock, so concurrent runs apply each migration once.
    """
    applied: list[str] = []
    while True:
        with database.write() as tx:
            conn = tx.conn
            current = schema_version(conn)
            if current > SCHEMA_VERSION:
                raise RuntimeError(
                    f"database schema {current} is newer than this code ({SCHEMA_VERSION})"
                )
            if current == SCHEMA_VERSION:
                return applied
            number = current + 1
            name, steps = MIGRATIONS[current]
            try:
                for statement in steps:
                    conn.execute(statement)
            except sqlite3.Error as error:
                error.add_note(f"migration {number:04d} ({name}) failed; none of it is applied")
                raise
            conn.execute(f"PRAGMA user_version = {number}")
        applied.append(f"{number:04d} {name}")


def checkpoint(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """Copy the WAL into the database file and truncate it to nothing (when no reader holds
    an older snapshot; else as much as it can, and the next checkpoint does the rest):
    (busy, frames in the WAL, frames checkpointed)."""
    return tuple(conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())


def bump_revision(db: sqlite_utils.Database) -> int:
    """Advance the registry revision inside the caller's write transaction, once: a
    transaction that writes twice (a due change applied, then the PATCH) is one revision."""
    bumped = getattr(db, "registry_revision", None)
    if bumped is not None:
        return bumped
    row = db.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision' RETURNING value"
    ).fetchone()
    db.registry_revision = int(row[0])
    return db.registry_revision


def current_revision(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])


def cursor_secret(conn: sqlite3.Connection) -> bytes:
    """The secret list cursors are made with, stored once by a migration; never served."""
    return bytes.fromhex(
        conn.execute("SELECT value FROM meta WHERE key = 'cursor_secret'").fetchone()[0]
    )


def connect_read_only(path: str, busy_timeout_ms: int = 30_000) -> sqlite3.Connection:
    """A connection that cannot change the file, waiting out a follower applying changes.

    FileNotFoundError when there is no file (SQLite would say only "unable to open")."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no database at {path}")
    conn = open_read_only(path, timeout=busy_timeout_ms / 1000)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    return conn


def open_read_only(path: str | os.PathLike, *, timeout: float = 5.0) -> sqlite3.Connection:
    """A connection that cannot change the file (a backup being checked, say)."""
    return sqlite3.connect(
        f"file:{Path(path).resolve()}?mode=ro", uri=True, isolation_level=None, timeout=timeout
    )


def backup(database: Database, target: str | os.PathLike, *, replace: bool = False) -> dict:
    """A consistent online copy of the database at `target` (SQLite's backup API).

    Written beside `target` under a temporary name, checked (`PRAGMA integrity_check`),
    fsynced and renamed into place, so `target` is never a half copy; readers and writers
    go on meanwhile. FileExistsError when `target` exists and not `replace`.
    """
    target = Path(target)
    if target.exists() and not replace:
        raise FileExistsError(f"{target} exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    started = time.monotonic()
    copy = sqlite3.connect(partial, isolation_level=None)
    try:
        os.chmod(partial, 0o600)  # it holds what the database holds, webhook secrets included
        database.connection().backup(copy, pages=4096)
        checked = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if checked != "ok":
            raise RuntimeError(f"the copy failed its integrity check: {checked}")
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    finally:
        copy.close()
    with open(partial, "rb") as stream:
        os.fsync(stream.fileno())
    os.replace(partial, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return {"bytes": target.stat().st_size, "seconds": time.monotonic() - started}
