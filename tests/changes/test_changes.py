"""The change feed: JSON with a cursor and Atom (RFC 4287), conditional GET, who may read it."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from xml.etree import ElementTree as ET

import pytest
from helpers import (
    IN,
    NL,
    TODAY,
    URL,
    as_recorded,
    bearer,
    current_etag,
    days_from_today,
    nimbus,
    problem,
)

from registry.db import store as db
from registry.http import cursors

CHANGES = "/v1/changes"
ATOM_URL = "/v1/changes.atom"
ATOM = "{http://www.w3.org/2005/Atom}"
READERS = ["admin", "procurement", "service", "customer_a", "customer_b"]
# RFC 3339 date-time.
CURSOR = re.compile(r"[A-Za-z0-9_-]{32}")
RFC3339 = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
# RFC 4151 tag URI: tag:authority,date:specific.
TAG_URI = re.compile(
    r"^tag:([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|[^@\s]+@[^@\s]+),"
    r"\d{4}(-\d{2}(-\d{2})?)?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$"
)
SPECIAL_NAME = "Q&A <Ops> \"Quoted\" 'Apos' ]]> Ltd"


def feed_cursor(registry, position: int, role: str, customer_id: str | None = None) -> str:
    """The feed's cursor of a position, as the API gives it to a caller of this role."""
    secret = db.cursor_secret(registry.db.connection())
    return cursors.encode(secret, cursors.caller(role, customer_id), "changes", position)


@pytest.fixture
def create(client, staff):
    def post(**overrides) -> dict:
        response = client.post(
            URL, json=nimbus(**{"effective_on": None, **overrides}), headers=staff
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return post


def feed(client, headers: dict, **params) -> dict:
    response = client.get(CHANGES, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def day_before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


# The lifecycle's announced day, and the last day to object to it.
EFFECTIVE = days_from_today(69)
DEADLINE = day_before(EFFECTIVE)


@pytest.fixture
def lifecycle(create, patch, retire):
    """Nimbus announced, its locations changed, then retired: three events."""
    created = create(effective_on=EFFECTIVE)
    changed = patch(created["id"], {"locations": [NL, IN]})  # US dropped
    retired = retire(created["id"])
    return {"created": created, "changed": changed, "retired": retired}


# The events


def test_create_change_and_retire_are_announced_changed_and_retired_in_order(
    client, as_role, lifecycle
):
    created, changed, retired = lifecycle["created"], lifecycle["changed"], lifecycle["retired"]
    items = feed(client, as_role("procurement"))["items"]
    # A customer reads the same events, each record as the facts of its transfers.
    seen = feed(client, as_role("customer_a"))["items"]
    assert [(i["id"], i["type"], i["version"]) for i in seen] == [
        (i["id"], i["type"], i["version"]) for i in items
    ]
    assert [[loc["country"] for loc in i["subprocessor"]["locations"]] for i in seen] == [
        [loc["country"] for loc in i["subprocessor"]["locations"]] for i in items
    ]
    assert not any("already_in_use" in i["subprocessor"] for i in seen)

    assert [item["type"] for item in items] == [
        "subprocessor.announced",
        "subprocessor.changed",
        "subprocessor.retired",
    ]
    assert [item["version"] for item in items] == [1, 2, 3]
    assert {item["subprocessor_id"] for item in items} == {created["id"]}
    assert len({item["id"] for item in items}) == 3
    cursors = [item["cursor"] for item in items]
    assert len(set(cursors)) == 3 and all(CURSOR.fullmatch(c) for c in cursors)
    assert all(RFC3339.match(item["at"]) for item in items)

    announced, change, retirement = items
    assert announced["effective_on"] == EFFECTIVE
    assert announced["objection_deadline"] == DEADLINE
    assert announced["subprocessor"] == as_recorded(created)

    assert announced["material"] is True
    # Dropping a location is housekeeping: applied at once, internal, nothing to object to.
    assert change["material"] is False
    assert change["effective_on"] == EFFECTIVE
    assert change.get("objection_deadline") is None
    assert change["changes"]["locations"] == {
        "from": created["locations"],
        "to": changed["locations"],
    }
    assert "name" not in change["changes"]
    assert "data_categories" not in change["changes"]
    assert change["subprocessor"] == as_recorded(changed)

    assert retirement["retired_on"] == TODAY.isoformat()
    assert retirement.get("objection_deadline") is None
    assert retirement["subprocessor"] == as_recorded(retired)


def test_the_default_effective_on_and_its_deadline_are_announced(client, staff):
    body = nimbus(effective_on=None)
    created = client.post(URL, json=body, headers=staff).get_json()
    (announced,) = feed(client, staff)["items"]

    assert announced["effective_on"] == created["effective_on"]
    assert announced["effective_on"] == (TODAY + timedelta(days=30)).isoformat()
    assert announced["objection_deadline"] == day_before(announced["effective_on"])


def test_changed_fields_of_safeguards_and_categories_are_listed(client, staff, create, patch):
    created = create()
    locations = [dict(loc) for loc in created["locations"]]
    locations[2] = {**locations[2], "safeguard": {**locations[2]["safeguard"], "scc_module": 2}}
    patch(created["id"], {"locations": locations, "data_categories": ["user.contact.email"]})

    change = feed(client, staff)["items"][-1]
    assert change["type"] == "subprocessor.changed"
    assert change["changes"]["locations"]["to"][2]["safeguard"]["scc_module"] == 2
    assert change["changes"]["data_categories"] == {
        "from": created["data_categories"],
        "to": ["user.contact.email"],
    }


def test_writes_that_fail_or_change_nothing_add_no_event(client, staff, create):
    created = create()
    url = f"{URL}/{created['id']}"
    etag = current_etag(client, staff, created["id"])
    problem(client.post(URL, json=nimbus(), headers=staff), 409)
    problem(client.patch(url, json={"purpose": "x"}, headers={**staff, "If-Match": '"old"'}), 412)
    same = {"name": created["name"]}
    assert client.patch(url, json=same, headers={**staff, "If-Match": etag}).status_code == 200

    assert [item["type"] for item in feed(client, staff)["items"]] == ["subprocessor.announced"]


# Cursor


def test_the_cursor_walks_every_event_once_and_waits_at_the_end(client, staff, create, patch):
    ids = [create(name=f"Vendor {n}")["id"] for n in range(4)]
    patch(ids[0], {"purpose": "Changed"})
    everything = feed(client, staff)["items"]
    assert len(everything) == 5

    walked, since, pages = [], None, 0
    while True:
        page = feed(client, staff, limit=2, **({"since": since} if since else {}))
        pages += 1
        if not page["items"]:
            assert page["next_cursor"] == since
            break
        assert len(page["items"]) <= 2
        assert page["next_cursor"] == page["items"][-1]["cursor"]
        walked += page["items"]
        since = page["next_cursor"]
    assert pages == 4
    assert walked == everything

    # Polling again at the end changes nothing; a new write comes next, alone.
    assert feed(client, staff, since=since) == {"items": [], "next_cursor": since}
    patch(ids[1], {"purpose": "Changed too"})
    fresh = feed(client, staff, since=since)
    assert [item["subprocessor_id"] for item in fresh["items"]] == [ids[1]]
    assert fresh["next_cursor"] == fresh["items"][0]["cursor"]


def test_an_empty_feed_has_a_cursor_to_start_from(client, staff, create):
    empty = feed(client, staff)
    assert empty["items"] == []
    created = create()
    (first,) = feed(client, staff, since=empty["next_cursor"])["items"]
    assert first["subprocessor_id"] == created["id"]


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("limit=0", "/limit"),
        ("limit=101", "/limit"),
        ("limit=ten", "/limit"),
        ("since=abc", "/since"),
        ("since=-1", "/since"),
        ("since=1.5", "/since"),
        ("since=1234567890123456789", "/since"),
        ("since=0", "/since"),
        ("since=" + "A" * 23, "/since"),
        ("cursor=1", "/cursor"),
    ],
)
def test_bad_arguments_are_422(client, staff, query, pointer):
    body = problem(client.get(f"{CHANGES}?{query}", headers=staff), 422)
    assert [e["pointer"] for e in body["errors"]] == [pointer]


@pytest.mark.parametrize(("query", "pointer"), [("since=abc", "/since"), ("limit=5", "/limit")])
def test_bad_atom_arguments_are_422(client, staff, query, pointer):
    body = problem(client.get(f"{ATOM_URL}?{query}", headers=staff), 422)
    assert [e["pointer"] for e in body["errors"]] == [pointer]


def test_limits_at_the_bounds_are_accepted(client, staff, create):
    create()
    assert len(feed(client, staff, limit=1)["items"]) == 1
    assert len(feed(client, staff, limit=100)["items"]) == 1


# Who may read


@pytest.mark.parametrize("role", READERS)
@pytest.mark.parametrize("url", [CHANGES, ATOM_URL])
def test_every_role_reads_the_feed(client, as_role, lifecycle, role, url):
    response = client.get(url, headers=as_role(role))
    assert response.status_code == 200
    assert "private" in response.headers["Cache-Control"]


@pytest.mark.parametrize("url", [CHANGES, ATOM_URL])
def test_the_feed_needs_a_valid_token(client, url):
    problem(client.get(url), 401)
    problem(client.get(url, headers=bearer("reg_key_0000_nope")), 401)


# Conditional GET


@pytest.mark.parametrize("url", [CHANGES, ATOM_URL])
def test_an_unchanged_feed_is_304_and_a_write_changes_the_etag(client, as_role, create, patch, url):
    created = create()
    reader = as_role("service")
    first = client.get(url, headers=reader)
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[^"]+"', etag)

    again = client.get(url, headers={**reader, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    weak = client.get(url, headers={**reader, "If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    other = client.get(url, headers={**reader, "If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.get_data() == first.get_data()

    patch(created["id"], {"purpose": "Changed"})
    after = client.get(url, headers={**reader, "If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    fresh = {**reader, "If-None-Match": after.headers["ETag"]}
    assert client.get(url, headers=fresh).status_code == 304


def test_each_cursor_has_its_own_etag(client, registry, staff, create):
    create()
    since_start = client.get(CHANGES, headers=staff)
    at_end = client.get(
        CHANGES, query_string={"since": since_start.get_json()["next_cursor"]}, headers=staff
    )
    assert at_end.headers["ETag"] != since_start.headers["ETag"]
    conditional = {**staff, "If-None-Match": since_start.headers["ETag"]}
    start = feed_cursor(registry, 0, "procurement")
    again = client.get(CHANGES, query_string={"since": start}, headers=conditional)
    assert again.status_code == 304


# Atom (RFC 4287)


def atom(client, headers: dict, **params):
    response = client.get(ATOM_URL, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/atom+xml"
    # The registry's own answer, parsed to check it: not untrusted input.
    return response, ET.fromstring(response.get_data())  # noqa: S314


def one(parent, tag: str):
    found = parent.findall(f"{ATOM}{tag}")
    assert len(found) == 1, f"{tag}: {len(found)}"
    return found[0]


def check_feed(root) -> list:
    """RFC 4287's requirements on a feed and its entries; returns the entries."""
    assert root.tag == f"{ATOM}feed"
    assert TAG_URI.match(one(root, "id").text)
    assert one(root, "title").text
    assert RFC3339.match(one(root, "updated").text)
    selves = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert len(selves) == 1
    assert selves[0].get("href").endswith(ATOM_URL)
    entries = root.findall(f"{ATOM}entry")
    feed_authors = root.findall(f"{ATOM}author")
    for author in feed_authors:
        assert one(author, "name").text
    for entry in entries:
        assert TAG_URI.match(one(entry, "id").text)
        assert one(entry, "title").text
        assert RFC3339.match(one(entry, "updated").text)
        if not feed_authors:
            assert entry.findall(f"{ATOM}author")
        content = entry.findall(f"{ATOM}content")
        alternates = [
            link
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        # An entry without content must link to an alternate representation.
        assert content or alternates
        for item in content:
            assert item.get("type") in ("text", "html", "xhtml") or "/" in item.get("type", "")
        assert len(entry.findall(f"{ATOM}summary")) <= 1
    ids = [one(entry, "id").text for entry in entries]
    assert len(set(ids)) == len(ids)
    if entries:
        newest = max(one(entry, "updated").text for entry in entries)
        assert one(root, "updated").text >= newest
    return entries


def test_the_atom_feed_is_valid_and_newest_first(client, as_role, lifecycle):
    _, root = atom(client, as_role("customer_b"))
    entries = check_feed(root)

    titles = [one(entry, "title").text for entry in entries]
    # The words of the public feed (customer_projection/wording.py).
    assert titles == [
        f"Nimbus Hosting retired on {TODAY.isoformat()}",
        "Change to Nimbus Hosting, in force at once",
        f"New sub-processor: Nimbus Hosting, from {EFFECTIVE}",
    ]
    assert [entry.find(f"{ATOM}category").get("term") for entry in entries] == [
        "subprocessor.retired",
        "subprocessor.changed",
        "subprocessor.announced",
    ]
    json_items = feed(client, as_role("customer_b"))["items"]
    contents = [json.loads(one(entry, "content").text) for entry in reversed(entries)]
    assert contents == json_items
    announced = one(entries[-1], "summary").text
    assert EFFECTIVE in announced
    assert DEADLINE in announced
    subprocessor_id = lifecycle["created"]["id"]
    related = [link for link in entries[0].findall(f"{ATOM}link") if link.get("rel") == "related"]
    assert related[0].get("href").endswith(f"{URL}/{subprocessor_id}")


def test_both_feeds_word_a_change_alike(client, as_role, lifecycle):
    """/v1/changes.atom and the public feed: the same entry id, title and first sentence."""
    _, root = atom(client, as_role("customer_b"))
    public = client.get("/feeds/subprocessors.atom")
    assert public.status_code == 200
    ours = {one(entry, "id").text: entry for entry in check_feed(root)}
    theirs = {
        one(entry, "id").text: entry
        for entry in ET.fromstring(public.get_data()).findall(f"{ATOM}entry")  # noqa: S314
    }
    shared = ours.keys() & theirs.keys()
    assert len(shared) >= 2  # the announcement and the retirement
    for entry_id in shared:
        assert one(ours[entry_id], "title").text == one(theirs[entry_id], "title").text
        first = one(theirs[entry_id], "summary").text.split(". ")[0]
        assert one(ours[entry_id], "summary").text.startswith(first)


def test_entry_ids_are_stable_across_requests_and_new_entries(client, staff, create, patch):
    created = create()
    _, before = atom(client, staff)
    ids_before = [one(entry, "id").text for entry in check_feed(before)]
    _, again = atom(client, staff)
    assert [one(entry, "id").text for entry in check_feed(again)] == ids_before

    patch(created["id"], {"purpose": "Changed"})
    _, after = atom(client, staff)
    ids_after = [one(entry, "id").text for entry in check_feed(after)]
    assert ids_after[1:] == ids_before
    assert ids_after[0] not in ids_before
    assert one(after, "id").text == one(before, "id").text


def test_an_empty_atom_feed_is_valid(client, staff):
    _, root = atom(client, staff)
    assert check_feed(root) == []
    assert root.findall(f"{ATOM}author")


def test_since_narrows_the_atom_feed(client, staff, create):
    create(name="First")
    (first,) = feed(client, staff)["items"]
    create(name="Second")
    _, root = atom(client, staff, since=first["cursor"])
    entries = check_feed(root)
    (title,) = [one(entry, "title").text for entry in entries]
    assert title.startswith("New sub-processor: Second, from ")


def test_special_characters_in_names_are_escaped(client, as_role, create):
    created = create(name=SPECIAL_NAME, purpose="Tags like <b>bold</b> & entities &amp;")
    response, root = atom(client, as_role("service"))
    (entry,) = check_feed(root)

    assert one(entry, "title").text.startswith(f"New sub-processor: {SPECIAL_NAME}, from ")
    assert SPECIAL_NAME in one(entry, "summary").text
    content = json.loads(one(entry, "content").text)
    assert content["subprocessor"]["name"] == SPECIAL_NAME
    assert content["subprocessor"]["purpose"] == created["purpose"]
    # The raw markup is nowhere in the document: it is escaped, not injected.
    assert b"<Ops>" not in response.get_data()
    assert b"<b>" not in response.get_data()
    assert feed(client, as_role("service"))["items"][0]["subprocessor"]["name"] == SPECIAL_NAME
