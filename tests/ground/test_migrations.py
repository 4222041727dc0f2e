"""The migration runner: whole statements, one transaction per migration, versions kept."""

from __future__ import annotations

import shutil
import sqlite3
import threading

import pytest

from registry.db import store

REGISTRY_MIGRATIONS = store.MIGRATIONS_DIR

TRICKY = """-- semicolons in every place but the end of a statement

-- A note; with a semicolon.
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL DEFAULT 'a; b',  -- a default; with one
    "odd;name" TEXT
);

INSERT INTO notes (body, "odd;name") VALUES ('first; second', 'x;y');

CREATE TABLE note_log (note_id INTEGER, said TEXT);

CREATE TRIGGER notes_logged AFTER INSERT ON notes
BEGIN
    INSERT INTO note_log (note_id, said) VALUES (new.id, 'added; logged');
    UPDATE notes SET body = body || ';' WHERE id = new.id;
END;

INSERT INTO notes (body) VALUES ('third');
/* a block comment; at the end */
"""

FAILING = """-- half a migration

INSERT INTO notes (body) VALUES ('from the failing migration');

INSERT INTO no_such_table (x) VALUES (1);
"""

FIXED = """-- half a migration

INSERT INTO notes (body) VALUES ('from the fixed migration');
"""


# The numbers the test migrations take: right after the registry's own.
NEXT = f"{len(store.MIGRATIONS) + 1:04d}"
AFTER = f"{len(store.MIGRATIONS) + 2:04d}"


def with_migrations(monkeypatch, tmp_path, **extra: str) -> int:
    """The registry's migrations plus `extra` (file name: text), loaded as the runner loads
    them; the number of the last."""
    folder = tmp_path / "migrations"
    shutil.copytree(REGISTRY_MIGRATIONS, folder, dirs_exist_ok=True)
    for name, text in extra.items():
        (folder / name).write_text(text)
    monkeypatch.setattr(store, "MIGRATIONS_DIR", folder)
    loaded = store._migrations()
    monkeypatch.setattr(store, "MIGRATIONS", loaded)
    monkeypatch.setattr(store, "SCHEMA_VERSION", len(loaded))
    return len(loaded)


def version(database: store.Database) -> int:
    return store.schema_version(database.connection())


def test_a_semicolon_ends_a_statement_only_where_sqlite_says_it_is_complete():
    found = store.statements(TRICKY)
    assert len(found) == 6
    assert found[0].startswith("-- semicolons in every place")
    assert "-- A note; with a semicolon.\nCREATE TABLE notes (" in found[0]
    assert found[0].endswith('"odd;name" TEXT\n);')
    assert found[1] == "INSERT INTO notes (body, \"odd;name\") VALUES ('first; second', 'x;y');"
    assert found[3].startswith("CREATE TRIGGER notes_logged") and found[3].endswith("END;")
    assert "'added; logged'" in found[3] and "body || ';'" in found[3]
    assert found[4] == "INSERT INTO notes (body) VALUES ('third');"
    assert found[5] == "/* a block comment; at the end */"
    assert all(sqlite3.complete_statement(statement) for statement in found[:5])


def test_text_after_the_last_semicolon_is_a_last_statement_unless_only_comments():
    assert store.statements("CREATE TABLE a (x);\nCREATE TABLE b (y)\n-- the end\n") == [
        "CREATE TABLE a (x);",
        "CREATE TABLE b (y)\n-- the end",
    ]
    assert store.statements("CREATE TABLE a (x);\n-- the end\n\n") == ["CREATE TABLE a (x);"]


def test_a_migration_with_semicolons_in_strings_names_and_a_trigger_applies(tmp_path, monkeypatch):
    last = with_migrations(monkeypatch, tmp_path, **{NEXT + "_tricky.sql": TRICKY})
    database = store.Database(tmp_path / "registry.db")
    applied = store.migrate(database)
    assert applied[-1] == f"{last:04d} semicolons in every place but the end of a statement"
    assert version(database) == last
    conn = database.connection()
    assert conn.execute('SELECT body, "odd;name" FROM notes ORDER BY id').fetchall() == [
        ("first; second", "x;y"),
        ("third;", None),  # the trigger's UPDATE ran, its ';' kept in the string
    ]
    assert conn.execute("SELECT note_id, said FROM note_log").fetchall() == [(2, "added; logged")]
    assert store.migrate(database) == []  # again: nothing to do
    database.close()


def test_a_failing_migration_leaves_the_database_at_the_version_before_it(tmp_path, monkeypatch):
    last = with_migrations(
        monkeypatch, tmp_path, **{NEXT + "_tricky.sql": TRICKY, AFTER + "_half.sql": FAILING}
    )
    database = store.Database(tmp_path / "registry.db")
    with pytest.raises(sqlite3.OperationalError, match="no_such_table") as raised:
        store.migrate(database)
    assert f"migration {last:04d} (half a migration) failed" in " ".join(raised.value.__notes__)
    assert version(database) == last - 1
    conn = database.connection()
    assert not conn.in_transaction
    # Nothing of the failed migration stayed: not its first statement's row either.
    assert [body for (body,) in conn.execute("SELECT body FROM notes ORDER BY id")] == [
        "first; second",
        "third;",
    ]
    # Fixed, it applies from where the database stands.
    (store.MIGRATIONS_DIR / (AFTER + "_half.sql")).write_text(FIXED)
    with_migrations(monkeypatch, tmp_path)
    assert store.migrate(database) == [f"{last:04d} half a migration"]
    assert version(database) == last
    assert conn.execute("SELECT count(*) FROM notes").fetchone() == (3,)
    database.close()


def test_a_database_at_a_recorded_version_gets_only_the_later_migrations(tmp_path, monkeypatch):
    database = store.Database(tmp_path / "registry.db")
    store.migrate(database)
    secret = store.cursor_secret(database.connection())
    assert version(database) == store.SCHEMA_VERSION
    last = with_migrations(monkeypatch, tmp_path, **{NEXT + "_tricky.sql": TRICKY})
    assert store.migrate(database) == [
        f"{last:04d} semicolons in every place but the end of a statement"
    ]
    # 0014 did not run again: the database keeps the cursor secret it was given.
    assert store.cursor_secret(database.connection()) == secret
    database.close()


def test_a_newer_database_is_refused(tmp_path):
    database = store.Database(tmp_path / "registry.db")
    store.migrate(database)
    database.connection().execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer than this code"):
        store.migrate(database)
    database.close()


def test_migrations_running_at_once_apply_each_migration_once(tmp_path, monkeypatch):
    with_migrations(monkeypatch, tmp_path, **{NEXT + "_tricky.sql": TRICKY})
    path = tmp_path / "registry.db"
    results, errors = [], []

    def run():
        database = store.Database(path)
        try:
            results.append(store.migrate(database))
        except Exception as error:
            errors.append(error)
        finally:
            database.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(applied) for applied in results)[-1] >= 1
    assert sum(len(applied) for applied in results) == store.SCHEMA_VERSION
    database = store.Database(path)
    assert database.connection().execute("SELECT count(*) FROM notes").fetchone() == (2,)
    database.close()


def test_a_migration_out_of_sequence_is_refused(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError, match="out of sequence"):
        # One number past the registry's next: a gap, however many migrations there are.
        skipped = f"{len(store.MIGRATIONS) + 2:04d}_skipped.sql"
        with_migrations(monkeypatch, tmp_path, **{skipped: FIXED})
