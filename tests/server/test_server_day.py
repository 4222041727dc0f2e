"""A real gunicorn (2 workers) whose clock crosses midnight: the day's switch needs no write.

The server's processes run under libfaketime (Debian's `faketime`, which .ci/run installs),
reading their clock's offset from a file the test rewrites: the night after TODAY.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import (
    ALLOWED,
    LIBFAKETIME,
    NL,
    TODAY,
    call,
    nimbus,
    server_on_template,
    vendor,
    workers,
)

pytestmark = pytest.mark.server

BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.fixture
def late_server(apps, tmp_path):
    """A server whose clock reads one minute before midnight in Brussels at the end of TODAY."""
    if LIBFAKETIME is None:
        pytest.fail("libfaketime is missing: install Debian's faketime (.ci/run does)")
    real = datetime.now(UTC)
    local_midnight = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), BRUSSELS)
    offset = (local_midnight - timedelta(minutes=1) - real).total_seconds()
    clock_file = tmp_path / "faketime"
    clock_file.write_text(f"{offset:+.0f}s\n")
    server = server_on_template(apps, tmp_path)
    server.env.update(
        {
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME_TIMESTAMP_FILE": str(clock_file),
            "FAKETIME_NO_CACHE": "1",
            "REGISTRY_NOTICE_DAYS": "0",
        }
    )
    server.start()
    server.midnight = local_midnight
    server.move = lambda seconds: clock_file.write_text(f"{offset + seconds:+.0f}s\n")
    yield server
    server.stop()


def answers(server, token: str, rounds: int = 12) -> list[dict]:
    """Enough allowed-processors answers that both workers serve some."""
    replies = [call(server, "GET", ALLOWED, token) for _ in range(rounds)]
    assert all(reply.status == 200 for reply in replies), [r.text for r in replies]
    return [reply.json() for reply in replies]


def test_the_day_switches_verdicts_and_allowed_processors_without_a_write(late_server):
    server = late_server
    staff, service = server.tokens["procurement"], server.tokens["service"]
    assert len(workers(server)) == 2
    today = (server.midnight - timedelta(days=1)).date()
    tomorrow = server.midnight.date()

    proposed = call(
        server,
        "POST",
        "/v1/subprocessors",
        staff,
        vendor("Midnight Hosting", NL, effective_on=tomorrow.isoformat()),
    )
    assert proposed.status == 201, proposed.text
    in_use = call(server, "POST", "/v1/subprocessors", staff, nimbus())  # already in use
    assert in_use.status == 201, in_use.text
    record = in_use.json()
    changed = call(
        server,
        "PATCH",
        f"/v1/subprocessors/{record['id']}",
        staff,
        {
            "data_categories": [*record["data_categories"], "user.name"],
            "effective_on": str(tomorrow),
        },
        {"If-Match": in_use.headers["ETag"]},
    )
    assert changed.status == 200, changed.text
    assert changed.json()["pending_change"]["effective_on"] == tomorrow.isoformat()

    before = answers(server, service)
    revision = before[0]["revision"]
    assert {a["as_of"] for a in before} == {today.isoformat()}
    for answer in before:
        ids = {p["id"]: p for p in answer["processors"]}
        assert proposed.json()["id"] not in ids
        assert "user.name" not in ids[record["id"]]["data_categories"]

    server.move(120)  # one minute after midnight in Brussels: no write in between

    after = answers(server, service)
    assert {a["as_of"] for a in after} == {tomorrow.isoformat()}, "no worker kept the old day"
    assert {a["revision"] for a in after} == {revision}, "no write was needed"
    for answer in after:
        ids = {p["id"]: p for p in answer["processors"]}
        assert proposed.json()["id"] in ids
        assert "user.name" in ids[record["id"]]["data_categories"]
    verdict = call(server, "GET", f"/v1/subprocessors/{proposed.json()['id']}", staff).json()
    assert verdict["status"] == "active"
