"""Dates and moments at the ends of the calendar are 422 with a pointer, never a 500, in every
date and date-time field a client can send (found by walking the spec)."""

from __future__ import annotations

import pytest
from spec_fields import fields, refused

from registry.http.fields import EARLIEST_DATE, LATEST_DATE

DAYS = ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"]
MOMENTS = [
    "0001-01-01T00:00:00+14:00",  # once a 500: UTC is in year 0
    "0001-01-01T00:00:00-14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:00",  # UTC would be in year 10000
    "9999-12-31T23:59:59.999999+14:00",
    "1900-01-01T00:00:00+14:00",  # in range as written, 1899 in UTC
    "2199-12-31T23:59:59-14:00",  # in range as written, 2200 in UTC
    "2200-01-01T00:00:00+00:00",
]


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").get_json()


def by_format(spec, form: str) -> list:
    return list(fields(spec, lambda schema: schema.get("format") == form))


def test_the_walk_finds_the_date_fields(spec):
    found = {str(field) for field in by_format(spec, "date")}
    assert "POST /v1/subprocessors body /effective_on" in found
    assert "POST /v1/subprocessors body /locations/0/safeguard/signed_on" in found
    assert "DELETE /v1/subprocessors/x-unknown body /retired_on" in found
    assert "GET /v1/compliance query /as_of" in found
    moments = {str(field) for field in by_format(spec, "date-time")}
    assert moments >= {
        "POST /v1/incidents body /detected_on",
        "PATCH /v1/incidents/x-unknown body /detected_on",
    }


def test_every_date_field_refuses_the_calendars_edges(client, as_role, spec):
    walked = by_format(spec, "date")
    assert len(walked) >= 10
    for field in walked:
        for day in DAYS:
            error = refused(client, as_role, field, day)
            assert error["detail"] in (
                f"Must be a date from {EARLIEST_DATE} to {LATEST_DATE}.",
                "Not a valid date; expected YYYY-MM-DD.",
            ), (str(field), day, error)


def test_every_date_time_field_refuses_the_calendars_edges(client, as_role, spec):
    walked = by_format(spec, "date-time")
    assert walked
    for field in walked:
        for moment in MOMENTS:
            error = refused(client, as_role, field, moment)
            assert error["detail"] == (
                f"Must be a moment from {EARLIEST_DATE} to {LATEST_DATE}."
            ), (str(field), moment, error)


def test_a_moment_just_inside_the_range_is_taken(client, as_role, staff):
    subprocessor = client.post(
        "/v1/subprocessors",
        json={
            "name": "Edge Hosting",
            "service": "hosting",
            "data_categories": ["user.contact.email"],
            "effective_on": "2025-01-01",
            "already_in_use": True,
            "locations": [{"country": "DE", "activity": "storage"}],
        },
        headers=staff,
    ).get_json()
    body = {
        "subprocessor_id": subprocessor["id"],
        "detected_on": "1900-01-01T00:00:00-14:00",
        "nature": "A lost laptop",
        "data_categories": ["user.contact.email"],
        "likely_consequences": "None known",
        "measures_taken": "Remote wipe",
        "contact": {"name": "DPO", "email": "dpo@example.com"},
    }
    response = client.post("/v1/incidents", json=body, headers=as_role("admin"))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["detected_on"] == "1900-01-01T14:00:00.000Z"
