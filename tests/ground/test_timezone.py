"""The registry's day turns at midnight in REGISTRY_TIMEZONE (default Europe/Brussels)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from helpers import NL, vendor

from registry.settings import Settings, SettingsError

ALLOWED = "/v1/allowed-processors"


@pytest.fixture
def proposed(client, staff, clock):
    """An EEA-only vendor announced on 2026-10-01 to take effect on 2026-11-25."""
    clock.today = date(2026, 10, 1)
    response = client.post(
        "/v1/subprocessors",
        json=vendor("Midnight Hosting", NL, effective_on="2026-11-25"),
        headers=staff,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def allowed_ids(client, as_role) -> list[str]:
    answer = client.get(ALLOWED, headers=as_role("service")).get_json()
    return [p["id"] for p in answer["processors"]]


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        # Brussels is UTC+1 in November: its midnight is 23:00 UTC.
        (datetime(2026, 11, 24, 22, 59, 59, tzinfo=UTC), date(2026, 11, 24)),
        (datetime(2026, 11, 24, 23, 0, 0, tzinfo=UTC), date(2026, 11, 25)),
        # And UTC+2 in summer: midnight is 22:00 UTC.
        (datetime(2026, 7, 1, 21, 59, 59, tzinfo=UTC), date(2026, 7, 1)),
        (datetime(2026, 7, 1, 22, 0, 0, tzinfo=UTC), date(2026, 7, 2)),
    ],
)
def test_today_is_the_date_in_brussels(registry, clock, instant, day):
    clock.now = instant
    assert registry.today() == day


def test_a_vendor_takes_effect_at_local_midnight_without_a_write(client, as_role, clock, proposed):
    clock.now = datetime(2026, 11, 24, 22, 59, 59, tzinfo=UTC)
    assert proposed not in allowed_ids(client, as_role)
    record = client.get(f"/v1/subprocessors/{proposed}", headers=as_role("procurement"))
    assert record.get_json()["status"] == "proposed"

    clock.now = datetime(2026, 11, 24, 23, 0, 0, tzinfo=UTC)  # midnight in Brussels
    assert proposed in allowed_ids(client, as_role)
    record = client.get(f"/v1/subprocessors/{proposed}", headers=as_role("procurement"))
    assert record.get_json()["status"] == "active"
    assert record.get_json()["compliance"]["as_of"] == "2026-11-25"


def test_another_zone_turns_at_its_own_midnight(app_with, clock):
    app = app_with(timezone="UTC")
    registry = app.extensions["registry"]
    clock.now = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    assert registry.today() == date(2026, 11, 24)
    clock.now = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    assert registry.today() == date(2026, 11, 25)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "UTC+1", "", "../etc/passwd"])
def test_an_unknown_zone_is_refused(zone):
    if zone == "":
        assert Settings.from_environment({"REGISTRY_TIMEZONE": zone}).timezone == "Europe/Brussels"
        return
    with pytest.raises(SettingsError, match="REGISTRY_TIMEZONE"):
        Settings.from_environment({"REGISTRY_TIMEZONE": zone})
