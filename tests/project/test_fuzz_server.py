"""Schemathesis against a real `registry serve` (gunicorn), not only the in-process app.

The HTTP server answers some requests itself before the app (a request line too long, a
header too large): those answers must be problem+json and documented as well.
"""

from __future__ import annotations

import pytest
from helpers import call, nimbus, server_on_template
from test_fuzz import CHECKS, ROLES, TALLY, Target, anonymous_schema, schema

pytestmark = [pytest.mark.fuzz, pytest.mark.server]


class ServerTarget(Target):
    """The cases go over HTTP to a real server; its records are made and read over HTTP."""

    def __init__(self, server):
        self.server = server
        super().__init__(None, server.tokens)

    def _create(self, body: dict) -> str:
        reply = call(self.server, "POST", "/v1/subprocessors", self.tokens["admin"], body)
        assert reply.status == 201, reply.text
        return reply.json()["id"]

    def etag(self, subprocessor_id: str) -> str:
        reply = call(
            self.server, "GET", f"/v1/subprocessors/{subprocessor_id}", self.tokens["admin"]
        )
        return reply.headers["ETag"]


@pytest.fixture(scope="module")
def live(apps, tmp_path_factory):
    server = server_on_template(apps, tmp_path_factory.mktemp("fuzz-server"))
    server.start()
    target = ServerTarget(server)
    yield target
    server.stop()


def _run(case, target: ServerTarget, role: str | None):
    target.aim(case)
    TALLY[case.meta.generation.mode.value, case.meta.phase.name.value] += 1
    case.call_and_validate(
        base_url=target.server.url, headers=target.headers(role), checks=CHECKS, timeout=30
    )


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
def test_every_operation_conforms_over_http_for_every_role(case, role, live):
    _run(case, live, role)


@anonymous_schema.parametrize()
def test_every_operation_conforms_over_http_without_a_valid_token(case, live):
    _run(case, live, None)


def test_the_server_itself_was_reached(live):
    """A request line over the server's limit is answered by gunicorn, as documented."""
    reply = call(live.server, "GET", "/v1/compliance?as_of=" + "9" * 5000, live.tokens["admin"])
    assert reply.status == 414
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert nimbus()  # the sample body the targets seed with still builds
