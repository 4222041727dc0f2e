"""Change control by risk: one judgement for every door (PATCH, import, create).

Each way a change used to take effect at once, with no notice and no objection window, is
tried through PATCH and through the import; a remedy takes effect at once; a name retired
within the notice period cannot come back as already in use.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from helpers import IN, NL, TODAY, URL, certified_us, current_etag, scc, us_adequacy, vendor

from registry.changecontrol import judgement
from registry.subprocessors import store

NOTICE = 30
CHANGES = "/v1/changes"
IMPORT = f"{URL}/import"
ALLOWED = "/v1/allowed-processors"
SUB_CLOUD = {"name": "Sub Cloud", "country": "NL", "activity": "storage"}
UNSAFE_IN = {"country": "IN", "activity": "backup"}  # no adequacy, no safeguard: an error
# What an import body carries of a record: the columns a POST takes, minus the dates.
CONTENT = ("name", "legal_entity", "service", "purpose", "data_categories", "locations")


@pytest.fixture
def change(client, staff):
    """change(door, record, fields): the same change through PATCH or the import (a JSON
    array matched by name); the record as read afterwards."""

    def send(door: str, record: dict, fields: dict) -> dict:
        if door == "patch":
            headers = {**staff, "If-Match": current_etag(client, staff, record["id"])}
            response = client.patch(f"{URL}/{record['id']}", json=fields, headers=headers)
        else:
            current = client.get(f"{URL}/{record['id']}", headers=staff).get_json()
            body = {key: current[key] for key in CONTENT} | {
                "onward_transfers": current["onward_transfers"]
            }
            response = client.post(IMPORT, json=[body | fields], headers=staff)
        assert response.status_code == 200, response.get_json()
        return client.get(f"{URL}/{record['id']}", headers=staff).get_json()

    return send


def vendor_in_use(post, *locations, **fields) -> dict:
    """Mailer, in use since 2025: NL storage and SCCs to India unless told otherwise."""
    body = vendor(
        "Mailer",
        *(locations or (NL, IN)),
        legal_entity="Mailer B.V.",
        effective_on="2025-01-01",
        onward_transfers=[SUB_CLOUD],
        **fields,
    )
    return post(body)


def subprocessor_events(client, staff) -> list[dict]:
    items = client.get(CHANGES, query_string={"limit": 100}, headers=staff).get_json()["items"]
    return [e for e in items if e["type"] == "subprocessor.changed"]


def allowed_ids(client, as_role) -> list[str]:
    answer = client.get(ALLOWED, headers=as_role("service")).get_json()
    return [p["id"] for p in answer["processors"]]


def assert_announced(client, staff, as_role, before: dict, after: dict) -> dict:
    """The change waits for its notice: the record in force is unchanged, the change is
    pending from today plus the notice, announced as material, and customers may object."""
    for field in (*CONTENT, "onward_transfers"):
        assert after[field] == before[field], f"{field} changed at once"
    pending = after["pending_change"]
    assert pending is not None, "no notice: the change took effect at once"
    assert pending["effective_on"] == (TODAY + timedelta(days=NOTICE)).isoformat()
    event = subprocessor_events(client, staff)[-1]
    assert event["id"] == pending["change_id"]
    assert event["material"] is True and event["pending"] is True
    assert event["judgement"] == "material" and event["reasons"]
    objection = client.post(
        f"{URL}/{after['id']}/objections", json={}, headers=as_role("customer_a")
    )
    assert objection.status_code == 201, objection.get_json()
    assert objection.get_json()["change_id"] == pending["change_id"]
    return event


DOORS = pytest.mark.parametrize("door", ["patch", "import"])


# The bypasses, each through PATCH and through the import


@DOORS
def test_activity_and_mechanism_changed_together_wait_for_notice(
    client, staff, as_role, post, change, door
):
    record = vendor_in_use(post)
    bcr = {
        "country": "IN",
        "activity": "storage",
        "safeguard": {
            "mechanism": "bcr",
            "approved_on": "2023-01-10",
            "tia_completed_on": "2023-01-01",
        },
    }
    after = change(door, record, {"locations": [NL, bcr]})
    event = assert_announced(client, staff, as_role, record, after)
    assert any("storage in IN" in reason for reason in event["reasons"])


@DOORS
def test_a_dropped_safeguard_waits_for_notice(client, staff, as_role, post, change, door):
    record = vendor_in_use(post)
    assert record["compliance"]["status"] == "compliant"
    bare = {"country": "IN", "activity": "processing"}
    after = change(door, record, {"locations": [NL, bare]})
    event = assert_announced(client, staff, as_role, record, after)
    assert after["compliance"]["status"] == "compliant", "the version in force is unchanged"
    assert [r for r in event["reasons"] if "from scc to none" in r]
    # Customers are told facts, never a verdict.
    assert not any("NO_SAFEGUARD" in reason for reason in event["reasons"])


@DOORS
def test_a_new_activity_in_a_country_already_used_waits_for_notice(
    client, staff, as_role, post, change, door
):
    record = vendor_in_use(post)
    backup = scc("IN", activity="backup")  # well protected, but a new transfer
    after = change(door, record, {"locations": [NL, IN, backup]})
    event = assert_announced(client, staff, as_role, record, after)
    assert any("backup in IN" in reason for reason in event["reasons"])


@DOORS
def test_an_onward_transfers_new_activity_waits_for_notice(
    client, staff, as_role, post, change, door
):
    record = vendor_in_use(post)
    moved = {**SUB_CLOUD, "activity": "backup"}
    after = change(door, record, {"onward_transfers": [moved]})
    event = assert_announced(client, staff, as_role, record, after)
    assert any("Sub Cloud" in reason for reason in event["reasons"])


@DOORS
def test_another_vendor_under_the_same_record_waits_for_notice(
    client, staff, as_role, post, change, door
):
    record = vendor_in_use(post)
    swap = {"legal_entity": "Other Corp Ltd", "service": "analytics"}
    if door == "patch":  # the import matches by name: a new name is a new sub-processor
        swap["name"] = "Other Corp"
    after = change(door, record, swap)
    event = assert_announced(client, staff, as_role, record, after)
    assert any("legal entity" in reason for reason in event["reasons"])
    if door == "patch":
        assert any("renames" in reason for reason in event["reasons"])


def test_a_new_name_by_import_is_a_new_sub_processor_announced(client, staff, post):
    record = vendor_in_use(post)
    body = {**{k: record[k] for k in CONTENT}, "name": "Other Corp"}
    response = client.post(IMPORT, json=[body], headers=staff)
    assert response.status_code == 200, response.get_json()
    (done,) = response.get_json()["subprocessors"]
    assert done["outcome"] == "created" and done["id"] != record["id"]
    assert client.get(f"{URL}/{done['id']}", headers=staff).get_json()["status"] == "proposed"
    assert client.get(f"{URL}/{record['id']}", headers=staff).get_json()["name"] == "Mailer"


@DOORS
def test_amending_a_pending_change_restarts_its_notice(
    client, staff, as_role, registry, post, change, clock, door
):
    registry.settings = registry.settings.replace(webhook_allow_private=True)
    hook = client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=as_role("customer_a")
    ).get_json()
    record = vendor_in_use(post)
    told = change(door, record, {"locations": [NL, IN, scc("CN")]})  # "CN under SCC"
    first = told["pending_change"]
    assert first is not None

    clock.today = TODAY + timedelta(days=10)
    amended = change(
        door, record, {"locations": [NL, IN, {"country": "CN", "activity": "processing"}]}
    )
    second = amended["pending_change"]
    assert second["change_id"] != first["change_id"], "amended in place under its old id"
    assert second["effective_on"] == (TODAY + timedelta(days=10 + NOTICE)).isoformat()
    assert second["announced_on"] == (TODAY + timedelta(days=10)).isoformat()
    assert second["changes"]["locations"][2] == {"country": "CN", "activity": "processing"}
    assert amended["locations"] == record["locations"]
    event = subprocessor_events(client, staff)[-1]
    assert event["id"] == second["change_id"] and event["replaces"] == first["change_id"]
    assert event["material"] is True
    # Customers are told again: in their feed and by webhook.
    theirs = client.get(CHANGES, headers=as_role("customer_a")).get_json()["items"]
    assert [e["id"] for e in theirs if e["type"] == "subprocessor.changed"] == [
        first["change_id"],
        second["change_id"],
    ]
    log = client.get(
        f"/v1/webhooks/{hook['id']}/deliveries", headers=as_role("customer_a")
    ).get_json()["items"]
    assert [d["type"] for d in log].count("subprocessor.changed") == 2


def test_even_a_detail_of_a_pending_change_restarts_its_notice(client, staff, post, change, clock):
    record = vendor_in_use(post)
    first = change("patch", record, {"locations": [NL, IN, scc("CN")]})["pending_change"]
    clock.today = TODAY + timedelta(days=5)
    detail = change("patch", record, {"locations": [NL, IN, scc("CN", signed_on="2024-04-01")]})
    second = detail["pending_change"]
    assert second["change_id"] != first["change_id"]
    assert second["effective_on"] == (TODAY + timedelta(days=5 + NOTICE)).isoformat()


def test_an_amendment_that_takes_back_the_change_withdraws_it(client, staff, post, change):
    record = vendor_in_use(post)
    first = change("patch", record, {"locations": [NL, IN, scc("CN")]})["pending_change"]
    back = change("patch", record, {"locations": [NL, IN]})
    assert back["pending_change"] is None
    event = subprocessor_events(client, staff)[-1]
    assert event["discarded_change"] == first["change_id"] and event["material"] is False


# A name retired within the notice period


def test_a_name_retired_today_cannot_come_back_as_already_in_use(client, staff, post, retire):
    record = vendor_in_use(post)
    retire(record["id"])
    body = vendor("Mailer", NL, scc("CN"), effective_on=TODAY.isoformat(), already_in_use=True)
    problem = post(body, status=422)
    assert [e["pointer"] for e in problem["errors"]] == ["/already_in_use"]
    assert client.get(URL, headers=staff).get_json()["items"][0]["status"] == "retired"
    # Announced with its notice, it may come back.
    del body["already_in_use"], body["effective_on"]
    assert post(body)["status"] == "proposed"


def test_a_name_retired_today_cannot_come_back_as_already_in_use_by_import(
    client, staff, post, retire
):
    record = vendor_in_use(post)
    retire(record["id"])
    body = vendor("MAILER", NL, scc("CN"), effective_on=TODAY.isoformat(), already_in_use=True)
    response = client.post(IMPORT, json=[body], headers=staff)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    (error,) = response.get_json()["errors"]
    assert (error["row"], error["pointer"]) == (1, "/already_in_use")
    assert len(client.get(URL, headers=staff).get_json()["items"]) == 1, "nothing written"


def test_a_scheduled_retirement_counts_as_retired(client, staff, post):
    record = vendor_in_use(post)
    soon = (TODAY + timedelta(days=3)).isoformat()
    headers = {**staff, "If-Match": current_etag(client, staff, record["id"])}
    response = client.delete(f"{URL}/{record['id']}", json={"retired_on": soon}, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = vendor("Mailer", NL, effective_on=TODAY.isoformat(), already_in_use=True)
    problem = post(body, status=422)
    assert [e["pointer"] for e in problem["errors"]] == ["/already_in_use"]


def test_after_the_notice_period_the_name_may_be_recorded_again(post, retire, clock):
    record = vendor_in_use(post)
    retire(record["id"])
    clock.today = TODAY + timedelta(days=NOTICE)
    body = vendor("Mailer", NL, effective_on=TODAY.isoformat(), already_in_use=True)
    post(body, status=422)  # the 30th day is still within the notice period
    clock.today = TODAY + timedelta(days=NOTICE + 1)
    assert post(body)["status"] == "active"


# Remedies apply at once


@DOORS
def test_a_remedy_applies_at_once(client, staff, as_role, registry, post, change, door):
    registry.settings = registry.settings.replace(webhook_allow_private=True)
    hook = client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=as_role("customer_a")
    ).get_json()
    record = vendor_in_use(post, NL, UNSAFE_IN)
    assert record["compliance"]["status"] == "flagged"
    assert record["id"] not in allowed_ids(client, as_role)

    signed = scc("IN", activity="backup")
    after = change(door, record, {"locations": [NL, signed]})
    assert after["pending_change"] is None
    assert after["locations"] == [NL, signed]
    assert after["compliance"]["status"] == "compliant"
    assert record["id"] in allowed_ids(client, as_role)
    event = subprocessor_events(client, staff)[-1]
    assert event["material"] is False and event["judgement"] == "remedy"
    assert event["reasons"] == ["gives IN (backup) a safeguard: scc"]
    # Listed to customers as a change, with nothing to object to.
    theirs = client.get(CHANGES, headers=as_role("customer_a")).get_json()["items"]
    assert any(e["id"] == event["id"] and e["material"] is False for e in theirs)
    objection = client.post(
        f"{URL}/{record['id']}/objections", json={}, headers=as_role("customer_a")
    )
    assert objection.status_code == 409
    log = client.get(
        f"/v1/webhooks/{hook['id']}/deliveries", headers=as_role("customer_a")
    ).get_json()["items"]
    assert log == [], "a remedy is not announced by webhook"


def test_a_completed_safeguard_is_a_remedy(client, staff, post, change):
    no_tia = scc("IN")
    del no_tia["safeguard"]["tia_completed_on"]
    record = vendor_in_use(post, NL, no_tia)
    assert "TIA_MISSING" in {f["code"] for f in record["compliance"]["flags"]}
    after = change("patch", record, {"locations": [NL, IN]})
    assert after["pending_change"] is None and after["locations"] == [NL, IN]
    assert subprocessor_events(client, staff)[-1]["judgement"] == "remedy"


@DOORS
def test_a_remedy_that_worsens_another_transfer_is_material(
    client, staff, as_role, post, change, door
):
    us = certified_us()
    record = vendor_in_use(post, NL, UNSAFE_IN, us)
    uncertified = us_adequacy(certified=False)
    after = change(door, record, {"locations": [NL, scc("IN", activity="backup"), uncertified]})
    event = assert_announced(client, staff, as_role, record, after)
    assert any("US (remote_access)" in reason for reason in event["reasons"])
    assert after["compliance"]["status"] == "flagged", "nothing of it applied at once"
    assert record["id"] not in allowed_ids(client, as_role)


def test_housekeeping_applies_at_once(client, staff, post, change):
    record = vendor_in_use(post)
    after = change("patch", record, {"purpose": "Newsletters", "locations": [NL]})
    assert after["pending_change"] is None and after["locations"] == [NL]
    event = subprocessor_events(client, staff)[-1]
    assert (event["material"], event["judgement"], event["reasons"]) == (
        False,
        "housekeeping",
        [],
    )


# The judgement itself


def judge(registry, before: dict, after: dict) -> judgement.Judgement:
    return judgement.judge(
        before, after, law=registry.law(), on=TODAY, role="processor", name_key=store.name_key
    )


def record_with(*locations, **fields) -> dict:
    base = {
        "name": "Mailer",
        "legal_entity": "Mailer B.V.",
        "data_categories": ["user.contact.email"],
        "locations": copy.deepcopy(list(locations)),
        "onward_transfers": [],
    }
    return base | fields


def test_one_error_in_place_of_another_is_no_remedy(registry):
    superseded = scc("IN", scc_version="2010/87/EU", scc_module=None, signed_on="2019-01-01")
    before = record_with(NL, {"country": "IN", "activity": "processing"})
    assert judge(registry, before, record_with(NL, superseded)).kind == "material"
    assert judge(registry, before, record_with(NL, IN)).kind == "remedy"


def test_names_compare_as_names_do_everywhere(registry):
    before = record_with(NL)
    assert judge(registry, before, record_with(NL, name="  MAILER ")).kind == "housekeeping"
    assert judge(registry, before, record_with(NL, name="Mailer 2")).kind == "material"
    assert judge(registry, before, record_with(NL, legal_entity=None)).kind == "material"


def test_removing_a_transfer_or_a_category_is_housekeeping(registry):
    before = record_with(NL, IN, data_categories=["user.contact.email", "user.name"])
    after = record_with(NL, data_categories=["user.name"])
    verdict = judge(registry, before, after)
    assert (verdict.kind, verdict.reasons) == ("housekeeping", ())
    assert "IN (processing): removed" in verdict.details


def test_a_name_announced_for_a_rename_is_taken(client, staff, post, change, clock):
    record = vendor_in_use(post)
    renamed = change("patch", record, {"name": "Newco"})
    effective = renamed["pending_change"]["effective_on"]
    other = vendor("Newco ", NL, effective_on=TODAY.isoformat(), already_in_use=True)
    assert client.post(URL, json=other, headers=staff).status_code == 409
    second = post(vendor("Second", NL, effective_on=TODAY.isoformat(), already_in_use=True))
    headers = {**staff, "If-Match": current_etag(client, staff, second["id"])}
    response = client.patch(f"{URL}/{second['id']}", json={"name": "NEWCO"}, headers=headers)
    assert response.status_code == 409, response.get_json()
    # On its day the rename is in force, and written by the next write.
    clock.today = date.fromisoformat(effective)
    after = change("patch", record, {"purpose": "Newsletters"})
    assert (after["name"], after["version"]) == ("Newco", 3)


def test_the_judgement_needs_neither_flask_nor_sqlite():
    from test_structure import PACKAGE, impure_imports

    assert impure_imports(PACKAGE, "registry.changecontrol.judgement") == []


def test_a_remedy_while_a_change_to_the_same_list_is_pending(client, staff, as_role, post, change):
    """The pending change is taken back, the remedy applies at once; re-announcing what was
    pending costs nothing, since amending it would have restarted its notice anyway."""
    record = vendor_in_use(post, NL, UNSAFE_IN)
    first = change("patch", record, {"locations": [NL, UNSAFE_IN, scc("CN")]})["pending_change"]
    signed = scc("IN", activity="backup")
    after = change("patch", record, {"locations": [NL, signed]})
    assert after["pending_change"] is None and after["locations"] == [NL, signed]
    assert record["id"] in allowed_ids(client, as_role)
    event = subprocessor_events(client, staff)[-1]
    assert (event["judgement"], event["discarded_change"]) == ("remedy", first["change_id"])
    again = change("patch", record, {"locations": [NL, signed, scc("CN")]})
    assert again["pending_change"]["changes"]["locations"] == [NL, signed, scc("CN")]
