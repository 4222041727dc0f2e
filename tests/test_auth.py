"""Who may do what: the role table per operation, hashed tokens, and deny by default."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
from conftest import bearer, nimbus
from flask.views import MethodView

from registry.api import Blueprint
from registry.auth import PUBLIC, roles_of
from registry.store.keys import ROLES, create_key, revoke_key

ALL = ("admin", "procurement", "service", "customer")

# (name, method, path, roles that may call it, success status)
OPERATIONS = [
    ("health", "GET", "/v1/health", PUBLIC, 200),
    ("countries", "GET", "/v1/countries", PUBLIC, 200),
    ("country", "GET", "/v1/countries/NL", PUBLIC, 200),
    ("adequacy-decisions", "GET", "/v1/adequacy-decisions", PUBLIC, 200),
    ("list", "GET", "/v1/subprocessors", ALL, 200),
    ("create", "POST", "/v1/subprocessors", ("admin", "procurement"), 201),
    ("read", "GET", "/v1/subprocessors/{id}", ALL, 200),
    ("patch", "PATCH", "/v1/subprocessors/{id}", ("admin", "procurement"), 200),
    ("delete", "DELETE", "/v1/subprocessors/{id}", ("admin", "procurement"), 200),
    ("compliance", "GET", "/v1/subprocessors/{id}/compliance", ("admin", "procurement"), 200),
    ("register", "GET", "/v1/compliance", ("admin", "procurement"), 200),
    ("allowed", "GET", "/v1/allowed-processors", ("admin", "procurement", "service"), 200),
]

CALLERS = [
    "no token",
    "malformed",
    "bad token",
    "revoked",
    "admin",
    "procurement",
    "service",
    "customer",
]


@pytest.fixture
def credentials(registry, tokens):
    with registry.db.write() as tx:
        key_id, revoked = create_key(tx, role="admin", name="former admin")
        revoke_key(tx, key_id)
    return {
        "no token": {},
        "malformed": {"Authorization": f"Token {tokens['admin']}"},
        "bad token": bearer(tokens["admin"][:-4] + "AAAA"),
        "revoked": bearer(revoked),
        "admin": bearer(tokens["admin"]),
        "procurement": bearer(tokens["procurement"]),
        "service": bearer(tokens["service"]),
        "customer": bearer(tokens["customer_a"]),
    }


@pytest.fixture
def existing(client, tokens):
    response = client.post(
        "/v1/subprocessors", json=nimbus(name="Existing"), headers=bearer(tokens["admin"])
    )
    assert response.status_code == 201
    return response.get_json()["id"]


def expected_status(roles, success: int, caller: str) -> int:
    if caller in ("malformed", "bad token", "revoked"):
        return 401
    if roles == PUBLIC:
        return success
    if caller == "no token":
        return 401
    return success if caller in roles else 403


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    ("name", "method", "path", "roles", "success"), OPERATIONS, ids=[o[0] for o in OPERATIONS]
)
def test_role_table(
    client, tokens, credentials, existing, name, method, path, roles, success, caller
):
    headers = dict(credentials[caller])
    url = path.format(id=existing)
    kwargs = {}
    if method in ("PATCH", "DELETE"):
        etag = client.get(url, headers=bearer(tokens["admin"])).headers["ETag"]
        headers["If-Match"] = etag
    if method == "POST":
        kwargs["json"] = nimbus(name="Created")
    if method == "PATCH":
        kwargs["json"] = {"purpose": "Changed"}
    response = client.open(url, method=method, headers=headers, **kwargs)
    status = expected_status(roles, success, caller)
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.mimetype == "application/problem+json"
    if status == 403:
        assert "WWW-Authenticate" not in response.headers
        assert response.mimetype == "application/problem+json"
    after = client.get(f"/v1/subprocessors/{existing}", headers=bearer(tokens["admin"]))
    changed = after.get_json()["version"] != 1
    assert changed == (method in ("PATCH", "DELETE") and status == success)


def test_the_table_covers_every_operation(app):
    routed = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    tabled = {
        (method, path.replace("{id}", "<string:subprocessor_id>").replace("/NL", "/<string:code>"))
        for _, method, path, _, _ in OPERATIONS
    }
    assert routed == tabled


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
    assert checked == len(OPERATIONS)


def test_an_unmarked_view_is_refused(app, tokens):
    def plain():
        return {"secret": "plain"}

    class Unmarked(MethodView):
        def get(self):
            return {"secret": "method view"}

    blp = Blueprint("unmarked", __name__, url_prefix="/v1")
    blp.add_url_rule("/unmarked", view_func=Unmarked.as_view("unmarked"))
    app.extensions["registry_api"].register_blueprint(blp)
    app.add_url_rule("/v1/plain", view_func=plain)
    client = app.test_client()
    for path in ("/v1/unmarked", "/v1/plain"):
        anonymous = client.get(path)
        assert anonymous.status_code == 401
        for role in ("admin", "procurement", "service", "customer_a"):
            response = client.get(path, headers=bearer(tokens[role]))
            assert response.status_code == 403
            assert "secret" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/v1/health", "/v1/countries", "/v1/countries/GR", "/v1/adequacy-decisions"]
)
def test_public_endpoints_need_no_token(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/json"


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


def test_tokens_are_stored_only_as_sha256_hashes(app, registry, tokens):
    conn = sqlite3.connect(app.config["DATABASE"])
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


def test_authenticated_answers_are_not_stored_by_caches(client, tokens):
    private = client.get("/v1/subprocessors", headers=bearer(tokens["customer_a"]))
    assert private.headers["Cache-Control"] == "no-store"
    denied = client.get("/v1/compliance", headers=bearer(tokens["customer_a"]))
    assert denied.headers["Cache-Control"] == "no-store"
