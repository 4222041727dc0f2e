"""SQLite connections (WAL, foreign keys, busy timeout, BEGIN IMMEDIATE writes) and migrations."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

# Each migration is a list of single statements: sqlite3's executescript() would
# commit the surrounding BEGIN IMMEDIATE, and a migration must apply whole or not at all.
MIGRATIONS: list[tuple[str, list[str]]] = [
    (
        "initial schema",
        [
            """CREATE TABLE meta (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            ) WITHOUT ROWID""",
            "INSERT INTO meta (key, value) VALUES ('revision', '0')",
            """CREATE TABLE law (
                version TEXT PRIMARY KEY,
                records TEXT NOT NULL,
                loaded_at TEXT NOT NULL
            )""",
            """CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                role TEXT NOT NULL
                    CHECK (role IN ('admin', 'procurement', 'customer', 'service')),
                customer_id TEXT,
                token_hash TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL,
                revoked_at TEXT,
                CHECK ((role = 'customer') = (customer_id IS NOT NULL))
            )""",
            """CREATE TABLE subprocessors (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                legal_entity TEXT,
                service TEXT NOT NULL,
                purpose TEXT,
                data_categories TEXT NOT NULL,
                locations TEXT NOT NULL,
                effective_on TEXT NOT NULL,
                announced_on TEXT NOT NULL,
                retired_on TEXT,
                version INTEGER NOT NULL DEFAULT 1,
                changed_revision INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            # Lets a worker re-evaluate only what changed since the revision it has.
            "CREATE INDEX subprocessors_changed ON subprocessors (changed_revision)",
            """CREATE UNIQUE INDEX subprocessors_current_name
                ON subprocessors (name COLLATE NOCASE) WHERE retired_on IS NULL""",
            "CREATE INDEX subprocessors_service ON subprocessors (service, seq)",
            """CREATE TABLE subprocessor_countries (
                country TEXT NOT NULL,
                subprocessor_seq INTEGER NOT NULL
                    REFERENCES subprocessors (seq) ON DELETE CASCADE,
                PRIMARY KEY (country, subprocessor_seq)
            ) WITHOUT ROWID""",
            # Rewriting a sub-processor's countries looks them up by sub-processor.
            "CREATE INDEX subprocessor_countries_seq ON subprocessor_countries (subprocessor_seq)",
        ],
    ),
    (
        "audit trail and transfer documentation",
        [
            # Append-only and hash-chained: registry/audit.py is the only writer.
            """CREATE TABLE audit (
                seq INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                object_type TEXT NOT NULL,
                object_id TEXT,
                change TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL UNIQUE
            )""",
            "CREATE INDEX audit_object ON audit (object_type, object_id, seq)",
            """CREATE TABLE documents (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                sha256 TEXT NOT NULL,
                size INTEGER NOT NULL,
                media_type TEXT NOT NULL,
                filename TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('scc', 'dpa', 'bcr', 'tia', 'other')),
                title TEXT NOT NULL,
                subprocessor_id TEXT REFERENCES subprocessors (id),
                country TEXT,
                audience TEXT NOT NULL CHECK (audience IN ('internal', 'disclosable')),
                summary TEXT,
                uploaded_by TEXT NOT NULL,
                uploaded_at TEXT NOT NULL
            )""",
            "CREATE INDEX documents_transfer ON documents (subprocessor_id, country, kind)",
            """CREATE TABLE documentation_requests (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                customer_id TEXT NOT NULL,
                requested_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                scope TEXT NOT NULL
            )""",
            "CREATE INDEX documentation_requests_customer"
            " ON documentation_requests (customer_id, seq)",
            """CREATE TABLE documentation_request_items (
                request_seq INTEGER NOT NULL
                    REFERENCES documentation_requests (seq) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                subprocessor_id TEXT NOT NULL REFERENCES subprocessors (id),
                subprocessor_name TEXT NOT NULL,
                country TEXT NOT NULL,
                activity TEXT,
                mechanism TEXT,
                adequacy_decision TEXT,
                status TEXT NOT NULL CHECK (status IN ('pending', 'fulfilled', 'not_applicable')),
                document_id TEXT REFERENCES documents (id),
                fulfilled_at TEXT,
                note TEXT,
                PRIMARY KEY (request_seq, position)
            ) WITHOUT ROWID""",
            "CREATE INDEX documentation_items_pending"
            " ON documentation_request_items (subprocessor_id, country) WHERE status = 'pending'",
            "CREATE INDEX documentation_items_document"
            " ON documentation_request_items (document_id)",
            """CREATE TABLE disclosures (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                customer_id TEXT NOT NULL,
                key_id TEXT NOT NULL,
                document_id TEXT NOT NULL REFERENCES documents (id),
                request_id TEXT NOT NULL REFERENCES documentation_requests (id),
                disclosed_at TEXT NOT NULL,
                range TEXT
            )""",
            "CREATE INDEX disclosures_customer ON disclosures (customer_id, seq)",
        ],
    ),
    (
        "register history, change feed, objections, webhooks",
        [
            """CREATE TABLE subprocessor_versions (
                subprocessor_id TEXT NOT NULL REFERENCES subprocessors (id),
                version INTEGER NOT NULL,
                recorded_at TEXT NOT NULL,
                record TEXT NOT NULL,
                PRIMARY KEY (subprocessor_id, version)
            ) WITHOUT ROWID""",
            "CREATE INDEX subprocessor_versions_recorded ON subprocessor_versions (recorded_at)",
            """CREATE TABLE changes (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                at TEXT NOT NULL,
                type TEXT NOT NULL,
                subprocessor_id TEXT NOT NULL REFERENCES subprocessors (id),
                version INTEGER NOT NULL,
                data TEXT NOT NULL
            )""",
            """CREATE TABLE objections (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                subprocessor_id TEXT NOT NULL REFERENCES subprocessors (id),
                customer_id TEXT NOT NULL,
                key_id TEXT NOT NULL,
                reason TEXT,
                created_at TEXT NOT NULL,
                UNIQUE (subprocessor_id, customer_id)
            )""",
            "CREATE INDEX objections_customer ON objections (customer_id, seq)",
            """CREATE TABLE webhooks (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                customer_id TEXT NOT NULL,
                url TEXT NOT NULL,
                events TEXT NOT NULL,
                secret TEXT NOT NULL,
                description TEXT,
                status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                disabled_reason TEXT,
                version INTEGER NOT NULL DEFAULT 1,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            "CREATE INDEX webhooks_customer ON webhooks (customer_id, seq)",
            """CREATE TABLE webhook_deliveries (
                seq INTEGER PRIMARY KEY,
                webhook_id TEXT NOT NULL REFERENCES webhooks (id),
                change_seq INTEGER NOT NULL REFERENCES changes (seq),
                message_id TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TEXT NOT NULL,
                last_attempt_at TEXT,
                last_status_code INTEGER,
                last_error TEXT,
                delivered_at TEXT,
                UNIQUE (webhook_id, change_seq)
            )""",
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
            "CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, seq)",
            """CREATE TABLE webhook_attempts (
                seq INTEGER PRIMARY KEY,
                delivery_seq INTEGER NOT NULL REFERENCES webhook_deliveries (seq),
                attempt INTEGER NOT NULL,
                at TEXT NOT NULL,
                status_code INTEGER,
                error TEXT,
                duration_ms INTEGER NOT NULL
            )""",
            "CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_seq, attempt)",
            "CREATE INDEX audit_action ON audit (action, seq)",
        ],
    ),
    (
        "webhook endpoints back off as a whole",
        [
            # When an endpoint may next be tried: a claim's lease, or its back-off after a
            # failure; NULL when healthy and idle.
            "ALTER TABLE webhooks ADD COLUMN retry_at TEXT",
            "CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, status, seq)",
        ],
    ),
]

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

    def utils(self) -> sqlite_utils.Database:
        return sqlite_utils.Database(self.connection())

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
    """Advance the registry revision inside the caller's write transaction."""
    row = db.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision' RETURNING value"
    ).fetchone()
    return int(row[0])


def current_revision(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])
