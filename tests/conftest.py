"""Fixtures only: apps made once per session, a fresh database per test, the clock, tokens per
role, a real server.

Everything else the tests share lives in helpers.py.
"""

from __future__ import annotations

import pytest
from helpers import TODAY, URL, Apps, Clock, bearer, current_etag, server_on_template

from registry import clock as registry_clock
from registry.cli import register_commands


@pytest.fixture(autouse=True)
def clock():
    """Every test starts at noon (UTC) on TODAY, the clock running on from there."""
    registry_clock.set(TODAY)
    yield Clock()
    registry_clock.set(None)


@pytest.fixture(scope="session")
def apps(tmp_path_factory) -> Apps:
    """The session's apps and the template database every test's database is a copy of."""
    return Apps(tmp_path_factory.mktemp("session"))


@pytest.fixture
def database(apps, tmp_path):
    """This test's database file: migrated, with the reference law and the `tokens` keys."""
    return apps.copy_template(tmp_path / "registry.db")


@pytest.fixture
def registry_settings() -> dict:
    """Settings this test's registry changes; a module overrides it (notice_days=10, ...)."""
    return {}


@pytest.fixture
def app(apps, database, registry_settings):
    """A session app serving this test's database through a Registry of the test's own."""
    app = apps.attach(database, **registry_settings)
    yield app
    apps.detach(app)


@pytest.fixture
def own_app(apps, database, registry_settings):
    """An app made for this test alone, on its database: for a test that adds routes."""
    app = apps.own(database, **registry_settings)
    yield app
    apps.detach(app)


@pytest.fixture
def app_with(apps, tmp_path):
    """app_with(max_upload=1024): another app, on a database of its own, with settings changed."""
    made = []

    def make(**changes):
        database = apps.copy_template(tmp_path / f"app-{len(made)}" / "registry.db")
        made.append(apps.attach(database, **changes))
        return made[-1]

    yield make
    for app in made:
        apps.detach(app)


@pytest.fixture
def uninitialised_app(apps, tmp_path):
    """An app on a database file that `registry init` has not touched yet."""
    app = apps.attach(tmp_path / "fresh.db")
    yield app
    apps.detach(app)


@pytest.fixture
def registry(app):
    return app.extensions["registry"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    register_commands(app)
    return app.test_cli_runner()


@pytest.fixture
def staff(as_role):
    return as_role("procurement")


@pytest.fixture
def cust_a(as_role):
    return as_role("customer_a")


@pytest.fixture
def cust_b(as_role):
    return as_role("customer_b")


@pytest.fixture
def post(client, staff):
    """post(body, status=201): a sub-processor created by procurement; the answer's body."""

    def send(body: dict, status: int = 201) -> dict:
        response = client.post(URL, json=body, headers=staff)
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    return send


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
def tokens(apps) -> dict[str, str]:
    """A token per role, valid on every database copied from the template: admin,
    procurement, service, customer_a ("cust-a", key "customer A"), customer_b ("cust-b")."""
    return dict(apps.tokens)


@pytest.fixture
def as_role(tokens):
    """Headers for a role: as_role("procurement")."""

    def headers(role: str, **extra) -> dict:
        return {**bearer(tokens[role]), **extra}

    return headers


@pytest.fixture
def server(apps, tmp_path):
    """A started server on a copy of the template database; its keys in `server.tokens`."""
    srv = server_on_template(apps, tmp_path)
    srv.start()
    yield srv
    srv.stop()
