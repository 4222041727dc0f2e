"""Fixtures only: an app on a temporary SQLite file, the clock, tokens per role, a real server.

Everything else the tests share lives in helpers.py.
"""

from __future__ import annotations

import pytest
from helpers import TODAY, URL, Clock, Server, bearer, current_etag, make_app, make_token

from registry import clock as registry_clock


@pytest.fixture(autouse=True)
def clock():
    """Every test starts at noon (UTC) on TODAY, the clock running on from there."""
    registry_clock.set(TODAY)
    yield Clock()
    registry_clock.set(None)


@pytest.fixture
def app(tmp_path, clock):
    app = make_app(tmp_path / "registry.db")
    yield app
    app.extensions["registry"].db.close()


@pytest.fixture
def registry(app):
    return app.extensions["registry"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def staff(as_role):
    return as_role("procurement")


@pytest.fixture
def patch(client, staff):
    def send(subprocessor_id: str, changes: dict) -> dict:
        headers = {**staff, "If-Match": current_etag(client, staff, subprocessor_id)}
        response = client.patch(f"{URL}/{subprocessor_id}", json=changes, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    return send


@pytest.fixture
def retire(client, staff):
    def send(subprocessor_id: str) -> dict:
        headers = {**staff, "If-Match": current_etag(client, staff, subprocessor_id)}
        response = client.delete(f"{URL}/{subprocessor_id}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    return send


@pytest.fixture
def tokens(registry):
    return {
        "admin": make_token(registry, "admin"),
        "procurement": make_token(registry, "procurement"),
        "service": make_token(registry, "service"),
        "customer_a": make_token(registry, "customer", "cust-a", "customer A"),
        "customer_b": make_token(registry, "customer", "cust-b", "customer B"),
    }


@pytest.fixture
def as_role(tokens):
    """Headers for a role: as_role("procurement")."""

    def headers(role: str, **extra) -> dict:
        return {**bearer(tokens[role]), **extra}

    return headers


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    srv.cli("init")
    srv.start()
    yield srv
    srv.stop()
