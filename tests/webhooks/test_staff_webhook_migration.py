"""Migration 0020 rebuilds `webhooks` (a customer id no longer required) and `api_keys` (the
feed role): what a register held before is kept, deliveries still point at their endpoints."""

from __future__ import annotations

from registry.db import store


def _migration_number() -> int:
    names = [name for name, _ in store.MIGRATIONS]
    return names.index("staff webhooks and feed keys") + 1


def test_endpoints_deliveries_and_keys_survive_the_rebuild(tmp_path, monkeypatch):
    database = store.Database(str(tmp_path / "registry.db"))
    number = _migration_number()
    monkeypatch.setattr(store, "SCHEMA_VERSION", number - 1)
    store.migrate(database)
    conn = database.connection()
    # A change needs its sub-processor; what is checked here is the endpoints' rebuild.
    conn.execute("PRAGMA foreign_keys = OFF")
    with database.write() as tx:
        tx.execute(
            "INSERT INTO changes (id, at, type, subprocessor_id, version, data)"
            " VALUES ('chg_1', '2025-01-01T00:00:00.000Z', 'subprocessor.announced', 'sp_1', 1,"
            " '{}')"
        )
        tx.execute(
            "INSERT INTO webhooks (id, customer_id, url, events, secret, status, created_at,"
            " updated_at, secret_created_at) VALUES ('whk_1', 'acme', 'https://h.example/',"
            " '[\"*\"]', 'whsec_x', 'enabled', 'a', 'a', 'a')"
        )
        tx.execute(
            "INSERT INTO webhook_deliveries (webhook_id, change_seq, message_id, status,"
            " next_attempt_at) VALUES ('whk_1', 1, 'msg_1', 'pending', 'a')"
        )
        tx.execute(
            "INSERT INTO api_keys (id, name, role, customer_id, token_hash, created_at)"
            " VALUES ('key_1', 'n', 'customer', 'acme', 'hash', 'a')"
        )
    conn.execute("PRAGMA foreign_keys = ON")
    monkeypatch.setattr(store, "SCHEMA_VERSION", number)
    assert store.migrate(database) == [f"{number:04d} staff webhooks and feed keys"]
    assert conn.execute("SELECT id, customer_id, owner_role, secret FROM webhooks").fetchall() == [
        ("whk_1", "acme", None, "whsec_x")
    ]
    assert conn.execute("SELECT webhook_id FROM webhook_deliveries").fetchall() == [("whk_1",)]
    assert conn.execute("SELECT id, role, customer_id FROM api_keys").fetchall() == [
        ("key_1", "customer", "acme")
    ]
    assert conn.execute("PRAGMA foreign_key_check(webhook_deliveries)").fetchall() == []
    # What the rebuilt tables now allow, and still refuse.
    with database.write() as tx:
        tx.execute(
            "INSERT INTO api_keys (id, name, role, customer_id, token_hash, created_at)"
            " VALUES ('key_2', 'n', 'feed', 'acme', 'hash2', 'a')"
        )
        tx.execute(
            "INSERT INTO webhooks (id, customer_id, owner_role, url, events, secret, status,"
            " created_at, updated_at) VALUES ('whk_2', NULL, 'procurement', 'https://h/', '[]',"
            " 's', 'enabled', 'a', 'a')"
        )
    for statement in (
        "INSERT INTO api_keys (id, name, role, token_hash, created_at)"
        " VALUES ('key_3', 'n', 'feed', 'hash3', 'a')",
        "INSERT INTO webhooks (id, customer_id, owner_role, url, events, secret, status,"
        " created_at, updated_at) VALUES ('whk_3', NULL, NULL, 'https://h/', '[]', 's',"
        " 'enabled', 'a', 'a')",
    ):
        try:
            with database.write() as tx:
                tx.execute(statement)
        except Exception as error:  # sqlite3.IntegrityError, whichever way
            assert "CHECK" in str(error), error
        else:
            raise AssertionError(f"accepted: {statement}")
    database.close()
