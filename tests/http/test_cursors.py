"""Opaque list cursors: bound to the caller and the list, revealing no position, tamper-proof."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re

import pytest
from helpers import vendor

from registry.db import store as db
from registry.events import service as change_feed
from registry.http import cursors

URL = "/v1/subprocessors"
CHANGES = "/v1/changes"
AUDIT = "/v1/audit"
CURSOR = re.compile(r"[A-Za-z0-9_-]{32}")
SECRET = bytes(range(32))


@pytest.fixture
def many(client, as_role) -> list[str]:
    """Twelve sub-processors, each announced in the change feed and audited."""
    admin = as_role("admin")
    made = []
    for n in range(12):
        response = client.post(URL, json=vendor(f"Vendor {n:02d}"), headers=admin)
        assert response.status_code == 201, response.get_data(as_text=True)
        made.append(response.get_json()["id"])
    return made


def refused(response, pointer: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert [(e["pointer"], e["location"]) for e in body["errors"]] == [(pointer, "query")]
    assert body["errors"][0]["detail"] == "Not a cursor from this API."


def walk(client, headers, url: str, parameter: str = "cursor", **query) -> list[list[str]]:
    """Every page of a list, following its cursors; each page's ids."""
    pages, cursor = [], None
    while True:
        params = {**query, **({parameter: cursor} if cursor else {})}
        response = client.get(url, query_string=params, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        if not body["items"]:
            break
        pages.append([item.get("id") or item.get("seq") for item in body["items"]])
        if body["next_cursor"] in (None, cursor):
            break
        assert CURSOR.fullmatch(body["next_cursor"])
        cursor = body["next_cursor"]
    return pages


# The codec


@pytest.mark.parametrize("position", [0, 1, 2, 255, 256, 2**32 - 1, 2**32, 2**63, 2**64 - 1])
def test_a_cursor_decodes_to_its_position(position):
    cursor = cursors.encode(SECRET, "role:admin", "audit", position)
    assert CURSOR.fullmatch(cursor) and "=" not in cursor
    assert cursors.decode(SECRET, "role:admin", "audit", cursor) == position


def test_a_position_outside_64_bits_has_no_cursor():
    for position in (-1, 2**64):
        with pytest.raises(ValueError):
            cursors.encode(SECRET, "role:admin", "audit", position)


def test_a_cursor_is_valid_only_for_its_caller_list_and_secret():
    cursor = cursors.encode(SECRET, "customer:cust-a", "changes", 7)
    for bound_to, list_name, secret in [
        ("customer:cust-b", "changes", SECRET),
        ("role:admin", "changes", SECRET),
        ("public", "changes", SECRET),
        ("customer:cust-a", "audit", SECRET),
        ("customer:cust-a", "changes", bytes(32)),
    ]:
        with pytest.raises(cursors.Invalid):
            cursors.decode(secret, bound_to, list_name, cursor)


def test_customers_are_bound_by_customer_staff_by_role_and_the_rest_as_public():
    assert cursors.caller("customer", "cust-a") != cursors.caller("customer", "cust-b")
    assert cursors.caller("admin") != cursors.caller("service") != cursors.caller(None)
    assert cursors.caller(None) == cursors.PUBLIC


def test_every_altered_character_is_refused():
    cursor = cursors.encode(SECRET, "role:admin", "audit", 1234)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index, replacement in itertools.product(range(len(cursor)), alphabet):
        if cursor[index] == replacement:
            continue
        altered = cursor[:index] + replacement + cursor[index + 1 :]
        with pytest.raises(cursors.Invalid):
            cursors.decode(SECRET, "role:admin", "audit", altered)
    for other in ("", cursor[:-1], cursor + "A", cursor + "=", "1234", " " + cursor[1:]):
        with pytest.raises(cursors.Invalid):
            cursors.decode(SECRET, "role:admin", "audit", other)


def _permuted(cursor: str) -> int:
    """The 8 encrypted bytes after the synthetic IV, as a number: what a curious caller would
    look at."""
    return int.from_bytes(base64.urlsafe_b64decode(cursor)[16:], "big")


def test_consecutive_cursors_reveal_neither_order_nor_difference():
    encoded = [cursors.encode(SECRET, "customer:cust-a", "changes", n) for n in range(1, 202)]
    assert len(set(encoded)) == len(encoded)
    assert not any(cursor.isdigit() for cursor in encoded)
    values = [_permuted(cursor) for cursor in encoded]
    differences = [b - a for a, b in itertools.pairwise(values)]
    xors = [a ^ b for a, b in itertools.pairwise(values)]
    # Neither an offset, a fixed pad (XOR) nor an order survives the permutation.
    assert len(set(differences)) == len(differences)
    assert len(set(xors)) == len(xors)
    assert values != sorted(values) and values != sorted(values, reverse=True)
    ups = sum(d > 0 for d in differences)
    assert 50 < ups < 150, "cursors of increasing positions should rise and fall at random"
    # The bits of consecutive cursors differ in about half their places, as random ones do.
    flipped = sum(bin(x).count("1") for x in xors) / len(xors)
    assert 24 < flipped < 40
    # The same positions for another caller have unrelated cursors.
    other = [cursors.encode(SECRET, "customer:cust-b", "changes", n) for n in range(1, 202)]
    assert not set(other) & set(encoded)


def feistel_cursor(secret: bytes, bound_to: str, list_name: str, position: int) -> str:
    """A cursor of the earlier format: a version byte, the position through a four-round
    Feistel network with HMAC-SHA256 rounds, and an 8-byte HMAC-SHA256 tag (23 characters)."""

    def key(purpose: bytes) -> bytes:
        label = b"\x00".join((b"registry-cursor", purpose, bound_to.encode(), list_name.encode()))
        return hmac.new(secret, label, hashlib.sha256).digest()

    permutation = key(b"permutation")
    left, right = position >> 32, position & 0xFFFFFFFF
    for number in range(4):
        digest = hmac.new(
            permutation, bytes((number,)) + right.to_bytes(4, "big"), hashlib.sha256
        ).digest()
        left, right = right, left ^ int.from_bytes(digest[:4], "big")
    body = bytes((1,)) + (left << 32 | right).to_bytes(8, "big")
    tag = hmac.new(key(b"tag"), body, hashlib.sha256).digest()[:8]
    return base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode("ascii")


def test_a_cursor_of_the_earlier_format_is_refused():
    # What the earlier code gave for these values, so the function above is that format.
    assert feistel_cursor(SECRET, "role:admin", "audit", 1234) == "AfXF8NjC1iHJUwl8WALNhew"
    assert feistel_cursor(SECRET, "customer:cust-a", "changes", 7) == "ATBTx8GlS8FsxWeA0DmXwwI"
    for bound_to, list_name, position in [("role:admin", "audit", 1234), ("public", "x", 0)]:
        with pytest.raises(cursors.Invalid):
            cursors.decode(
                SECRET, bound_to, list_name, feistel_cursor(SECRET, bound_to, list_name, position)
            )


# Over HTTP


def test_pages_hold_every_item_once_and_hand_out_opaque_cursors(client, as_role, many):
    admin = as_role("admin")
    pages = walk(client, admin, URL, limit=5)
    assert [len(page) for page in pages] == [5, 5, 2]
    assert [sid for page in pages for sid in page] == many
    customer = as_role("customer_a")
    changes = walk(client, customer, CHANGES, parameter="since", limit=5)
    assert len([change for page in changes for change in page]) == 12
    assert len({change for page in changes for change in page}) == 12


def test_another_callers_cursor_is_refused(client, as_role, many):
    first = client.get(URL, query_string={"limit": 2}, headers=as_role("customer_a")).get_json()
    cursor = first["next_cursor"]
    assert (
        client.get(URL, query_string={"cursor": cursor}, headers=as_role("customer_a")).status_code
        == 200
    )
    for other in ("customer_b", "service", "admin"):
        response = client.get(URL, query_string={"cursor": cursor}, headers=as_role(other))
        refused(response, "/cursor")

    feed = client.get(CHANGES, query_string={"limit": 2}, headers=as_role("customer_a"))
    since = feed.get_json()["next_cursor"]
    refused(
        client.get(CHANGES, query_string={"since": since}, headers=as_role("customer_b")), "/since"
    )
    refused(
        client.get(f"{CHANGES}.atom", query_string={"since": since}, headers=as_role("service")),
        "/since",
    )


def test_the_cursors_of_one_caller_differ_from_anothers_at_the_same_place(client, as_role, many):
    def next_cursor(role: str) -> str:
        response = client.get(URL, query_string={"limit": 3}, headers=as_role(role))
        return response.get_json()["next_cursor"]

    found = {role: next_cursor(role) for role in ("admin", "service", "customer_a", "customer_b")}
    assert len(set(found.values())) == 4


def test_a_cursor_of_one_list_is_refused_on_another(client, as_role, many):
    admin = as_role("admin")
    audit_cursor = client.get(AUDIT, query_string={"limit": 2}, headers=admin).get_json()
    list_cursor = client.get(URL, query_string={"limit": 2}, headers=admin).get_json()
    feed_cursor = client.get(CHANGES, query_string={"limit": 2}, headers=admin).get_json()
    refused(
        client.get(URL, query_string={"cursor": audit_cursor["next_cursor"]}, headers=admin),
        "/cursor",
    )
    refused(
        client.get(AUDIT, query_string={"cursor": list_cursor["next_cursor"]}, headers=admin),
        "/cursor",
    )
    refused(
        client.get(CHANGES, query_string={"since": list_cursor["next_cursor"]}, headers=admin),
        "/since",
    )
    refused(
        client.get(URL, query_string={"cursor": feed_cursor["next_cursor"]}, headers=admin),
        "/cursor",
    )
    refused(
        client.get("/v1/keys", query_string={"cursor": audit_cursor["next_cursor"]}, headers=admin),
        "/cursor",
    )


def test_a_tampered_cursor_is_refused(client, as_role, many):
    admin = as_role("admin")
    cursor = client.get(URL, query_string={"limit": 2}, headers=admin).get_json()["next_cursor"]
    for index in range(len(cursor)):
        replacement = "B" if cursor[index] != "B" else "C"
        altered = cursor[:index] + replacement + cursor[index + 1 :]
        refused(client.get(URL, query_string={"cursor": altered}, headers=admin), "/cursor")


def test_a_cursor_of_the_earlier_format_is_refused_over_http(app, client, registry, as_role, many):
    secret = db.cursor_secret(registry.db.connection())
    admin, customer = as_role("admin"), as_role("customer_a")
    endpoint, _ = app.url_map.bind("localhost").match(URL, method="GET")
    (seq,) = registry.db.connection().execute("SELECT min(seq) FROM subprocessors").fetchone()
    old = feistel_cursor(secret, cursors.caller("admin"), f"{endpoint}?", seq)
    refused(client.get(URL, query_string={"cursor": old}, headers=admin), "/cursor")
    (seq,) = registry.db.connection().execute("SELECT min(seq) FROM changes").fetchone()
    old = feistel_cursor(secret, cursors.caller("customer", "cust-a"), change_feed.FEED, seq)
    refused(client.get(CHANGES, query_string={"since": old}, headers=customer), "/since")
    refused(client.get(f"{CHANGES}.atom", query_string={"since": old}, headers=customer), "/since")


def test_sequence_numbers_are_no_cursors(client, registry, as_role, many):
    admin = as_role("admin")
    (seq,) = registry.db.connection().execute("SELECT max(seq) FROM subprocessors").fetchone()
    for value in ("0", "1", str(seq), str(seq - 5)):
        refused(client.get(URL, query_string={"cursor": value}, headers=admin), "/cursor")
        refused(client.get(CHANGES, query_string={"since": value}, headers=admin), "/since")


def test_the_json_feeds_cursor_serves_the_atom_feed_too(client, as_role, many):
    customer = as_role("customer_a")
    since = client.get(CHANGES, query_string={"limit": 10}, headers=customer).get_json()
    response = client.get(
        f"{CHANGES}.atom", query_string={"since": since["next_cursor"]}, headers=customer
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("<entry>") == 2


def test_the_feeds_cursor_survives_a_restart_and_is_what_webhooks_carry(
    app, own_app, registry, as_role, many
):
    customer = as_role("customer_a")
    first = app.test_client().get(CHANGES, query_string={"limit": 4}, headers=customer)
    since = first.get_json()["next_cursor"]
    # Another process on the same database (another worker, or the server restarted).
    after = own_app.test_client().get(CHANGES, query_string={"since": since}, headers=customer)
    assert after.status_code == 200, after.get_data(as_text=True)
    assert len(after.get_json()["items"]) == 8
    for item in first.get_json()["items"]:
        (seq,) = (
            registry.db.connection()
            .execute("SELECT seq FROM changes WHERE id = ?", [item["id"]])
            .fetchone()
        )
        assert item["cursor"] == change_feed.customer_cursor(
            registry.db.connection(), "cust-a", seq
        )


def test_each_database_has_its_own_secret_made_once(tmp_path, registry):
    made = []
    for name in ("one.db", "two.db"):
        database = db.Database(tmp_path / name)
        db.migrate(database)
        db.migrate(database)  # again: kept
        made.append(db.cursor_secret(database.connection()))
        database.close()
    assert len(made[0]) == 32 and made[0] != made[1]
    # A backup keeps it, so cursors stay valid on a restored copy.
    db.backup(registry.db, tmp_path / "copy.db")
    copy = db.open_read_only(tmp_path / "copy.db")
    try:
        assert db.cursor_secret(copy) == db.cursor_secret(registry.db.connection())
    finally:
        copy.close()


def test_the_secret_is_never_served(client, registry, as_role, many):
    secret = (
        registry.db.connection()
        .execute("SELECT value FROM meta WHERE key = 'cursor_secret'")
        .fetchone()[0]
    )
    admin = as_role("admin")
    for path in (URL, AUDIT, CHANGES, f"{CHANGES}.atom", "/v1/keys", "/openapi.json"):
        body = client.get(path, headers=admin).get_data(as_text=True)
        assert secret not in body and secret.upper() not in body
