"""Authentication: deny by default, token parsing, revocation and hashed storage."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
from flask.views import MethodView
from helpers import bearer

from registry.http.api import Blueprint
from registry.http.auth import PUBLIC, roles_of
from registry.keys.store import ROLES, create_key, revoke_key


def test_every_v1_view_is_marked_public_or_with_known_roles(app):
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/"):
            continue
        view_class = app.view_functions[rule.endpoint].view_class
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            roles = roles_of(getattr(view_class, method.lower()))
            assert roles == PUBLIC or (roles and set(roles) <= set(ROLES)), (rule.rule, method)
            checked += 1
    assert checked


def test_an_unmarked_view_is_refused(own_app, tokens):
    def plain():
        return {"secret": "plain"}

    class Unmarked(MethodView):
        def get(self):
            return {"secret": "method view"}

    blp = Blueprint("unmarked", __name__, url_prefix="/v1")
    blp.add_url_rule("/unmarked", view_func=Unmarked.as_view("unmarked"))
    own_app.extensions["registry_api"].register_blueprint(blp)
    own_app.add_url_rule("/v1/plain", view_func=plain)
    client = own_app.test_client()
    for path in ("/v1/unmarked", "/v1/plain"):
        anonymous = client.get(path)
        assert anonymous.status_code == 401
        for role in ("admin", "procurement", "service", "customer_a"):
            response = client.get(path, headers=bearer(tokens[role]))
            assert response.status_code == 403
            assert "secret" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token {token}",
        "{token}",
        "Bearer {token}x",
        "Bearer reg_key_{token}",
        "Bearer not-a-registry-token",
    ],
)
def test_malformed_or_altered_credentials_are_401(client, tokens, header):
    value = header.format(token=tokens["admin"])
    response = client.get("/v1/subprocessors", headers={"Authorization": value})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_bearer_scheme_is_case_insensitive(client, tokens):
    response = client.get(
        "/v1/subprocessors", headers={"Authorization": f"bearer {tokens['service']}"}
    )
    assert response.status_code == 200


def test_revoking_a_key_stops_it_at_once(client, registry):
    with registry.db.write() as tx:
        key_id, token = create_key(tx, role="procurement", name="leaving")
    assert client.get("/v1/subprocessors", headers=bearer(token)).status_code == 200
    with registry.db.write() as tx:
        assert revoke_key(tx, key_id)
    response = client.get("/v1/subprocessors", headers=bearer(token))
    assert response.status_code == 401
    assert "revoked" in response.get_json()["detail"]


def test_tokens_are_stored_only_as_sha256_hashes(registry, tokens):
    conn = sqlite3.connect(registry.settings.database)
    try:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM api_keys").fetchall()
    finally:
        conn.close()
    assert len(rows) == len(tokens)
    hashes = {row["token_hash"] for row in rows}
    for token in tokens.values():
        secret = token.split("_", 3)[3]
        assert hashlib.sha256(secret.encode()).hexdigest() in hashes
        for row in rows:
            for value in dict(row).values():
                assert token not in str(value)
                assert secret not in str(value)
