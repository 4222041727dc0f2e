"""The database: SQLite connections, migrations and the registry revision.

Connections use WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE for every write.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _migrations() -> list[tuple[str, list[str]]]:
    """The numbered migrations (NNNN_name.sql), each as its single statements.

    sqlite3's executescript() would commit the surrounding BEGIN IMMEDIATE, and a migration
    must apply whole or not at all, so each file is split into statements (no statement
    in them holds a semicolon inside a string or a trigger).
    """
    found = []
    for number, path in enumerate(sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")), 1):
        if int(path.name[:4]) != number:
            raise RuntimeError(f"migration {path.name} is out of sequence")
        text = path.read_text()
        name = text.splitlines()[0].removeprefix("--").strip()  # the first line names it
        lines = [line for line in text.splitlines() if not line.startswith("--")]
        statements = [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
        found.append((name, statements))
    return found


MIGRATIONS = _migrations()
SCHEMA_VERSION = len(MIGRATIONS)


class Database:
    """Connections to one SQLite file: one per thread and per process, opened lazily.

    Opening lazily (never at import or app creation) means gunicorn workers each
    open their own connection after the fork.
    """

    def __init__(self, path: str | os.PathLike, busy_timeout_ms: int = 30_000):
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = connect(self.path, self.busy_timeout_ms)
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction: BEGIN IMMEDIATE takes the write lock up front.

        A deferred BEGIN that reads and then writes fails at once with "database is
        locked" when another writer got there first, whatever the busy timeout.
        """
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


def connect(path: str, busy_timeout_ms: int = 30_000) -> sqlite3.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN/COMMIT ourselves; check_same_thread stays on.
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: an acknowledged commit survives a power cut, not only a process crash.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(database: Database) -> list[str]:
    """Apply pending migrations; safe to run concurrently and repeatedly."""
    applied: list[str] = []
    with database.write() as db:
        conn = db.conn
        current = schema_version(conn)
        if current > SCHEMA_VERSION:
            raise RuntimeError(
                f"database schema {current} is newer than this code ({SCHEMA_VERSION})"
            )
        for number, (name, statements) in enumerate(MIGRATIONS, start=1):
            if number <= current:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            applied.append(f"{number:04d} {name}")
    return applied


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
