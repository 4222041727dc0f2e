"""Input hygiene: text XML can carry, names compared as readers see them, dates in a sane range,
a private database file, and links never built from the Host header."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from xml.etree import ElementTree as ET

import pytest
from helpers import URL, nimbus, problem, vendor
from test_documents import upload

from registry.db.store import Database, migrate
from registry.settings import Settings, SettingsError

ATOM_URL = "/v1/changes.atom"
ATOM = "{http://www.w3.org/2005/Atom}"

# Characters XML 1.0 refuses (and noncharacters, refused too), each inside a plausible name.
BAD = {
    "nul": "Nimbus\x00",
    "bell": "Nim\x07bus",
    "vertical tab": "Nim\x0bbus",
    "form feed": "Nim\x0cbus",
    "escape": "Nim\x1bbus",
    "U+FFFE": "Nimbus\ufffe",
    "U+FFFF": "Nimbus\uffff",
    "U+FDD0": "Nimbus\ufdd0",
    "U+FDEF": "Nimbus\ufdef",
    "U+1FFFF": "Nimbus\U0001ffff",
    "lone surrogate": "Nimbus\ud800",
}


def errors(response) -> list[dict]:
    return problem(response, 422)["errors"]


def pointers(response) -> list[str]:
    return [error["pointer"] for error in errors(response)]


def post_json(client, url: str, body: dict, headers: dict):
    # json.dumps escapes lone surrogates (\ud800), which the test client's encoder cannot.
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def created(client, staff, **fields) -> dict:
    response = client.post(URL, json=nimbus(**fields), headers=staff)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


# 1. Text XML cannot carry is refused, wherever free text is accepted


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_a_name_with_a_character_xml_refuses_is_422(client, staff, bad):
    assert pointers(post_json(client, URL, nimbus(name=bad), staff)) == ["/name"]


@pytest.mark.parametrize("bad", ["\ufffe", "\uffff", "\ufdd5", "\x01", "\ud800"])
@pytest.mark.parametrize(
    ("field", "pointer"),
    [
        ("legal_entity", "/legal_entity"),
        ("purpose", "/purpose"),
        ("urgent_reason", "/urgent_reason"),
        ("onward_name", "/onward_transfers/0/name"),
        ("onward_legal_entity", "/onward_transfers/0/legal_entity"),
    ],
)
def test_every_text_of_a_subprocessor_refuses_them(client, staff, field, pointer, bad):
    body = nimbus(effective_on=None)
    onward = {"name": "Tallybird", "country": "DE", "activity": "storage"}
    if field == "onward_name":
        body["onward_transfers"] = [{**onward, "name": f"Tally{bad}bird"}]
    elif field == "onward_legal_entity":
        body["onward_transfers"] = [{**onward, "legal_entity": f"Tally{bad}bird"}]
    elif field == "urgent_reason":
        body.update(urgent=True, urgent_reason=f"Outage{bad}")
    else:
        body[field] = f"Some{bad}text"
    assert pointers(post_json(client, URL, body, staff)) == [pointer]


@pytest.mark.parametrize("bad", ["\uffff", "\x0b", "\ud800"])
def test_patch_and_retire_texts_refuse_them(client, staff, bad):
    record = created(client, staff)
    etag = client.get(f"{URL}/{record['id']}", headers=staff).headers["ETag"]
    headers = {**staff, "If-Match": etag, "Content-Type": "application/json"}
    body = json.dumps({"name": f"Nimbus{bad}", "purpose": f"Hosting{bad}"})
    response = client.patch(f"{URL}/{record['id']}", data=body, headers=headers)
    assert sorted(pointers(response)) == ["/name", "/purpose"]
    response = client.delete(
        f"{URL}/{record['id']}", data=json.dumps({"reason": f"Gone{bad}"}), headers=headers
    )
    assert pointers(response) == ["/reason"]


def test_objection_texts_refuse_them(client, staff, as_role):
    record = created(client, staff, effective_on=None)
    objections = f"{URL}/{record['id']}/objections"
    response = post_json(client, objections, {"reason": "No\uffff"}, as_role("customer_a"))
    assert pointers(response) == ["/reason"]
    response = post_json(client, objections, {"reason": "Not in the US"}, as_role("customer_a"))
    assert response.status_code == 201, response.get_data(as_text=True)
    objection = response.get_json()
    headers = {
        **staff,
        "If-Match": client.get(f"{objections}/{objection['id']}", headers=staff).headers["ETag"],
        "Content-Type": "application/json",
    }
    body = json.dumps({"status": "dismissed", "response": "Covered\ufdd0"})
    response = client.patch(f"{objections}/{objection['id']}", data=body, headers=headers)
    assert pointers(response) == ["/response"]


def test_a_webhook_description_refuses_them(client, as_role):
    body = {"url": "https://93.184.215.14/hooks/registry", "description": "Inbox\uffff"}
    assert pointers(post_json(client, "/v1/webhooks", body, as_role("customer_a"))) == [
        "/description"
    ]


def test_document_title_and_summary_refuse_them(client, staff):
    response = upload(client, staff, title="SCCs\uffff", summary="Module 3\x0c")
    assert sorted(pointers(response)) == ["/summary", "/title"]


@pytest.mark.parametrize("name", ["\u200b", "\ufeff\u200d", " \u200b "])
def test_a_name_of_invisible_characters_alone_is_blank(client, staff, name):
    (error,) = errors(client.post(URL, json=nimbus(name=name), headers=staff))
    assert error == {"pointer": "/name", "detail": "Must not be blank."}


def test_text_xml_allows_is_kept_as_sent(client, staff):
    name = "Nimbus \u00e9\u4e91 \U0001f600 \u200d \u00a0Hosting"
    purpose = "Line one\r\nline\ttwo \u0085 \ufffd"
    record = created(client, staff, name=name, purpose=purpose)
    assert (record["name"], record["purpose"]) == (name, purpose)


# The Atom feed: well-formed whatever the database holds


def atom(client, headers: dict, **extra) -> tuple[bytes, ET.Element]:
    response = client.get(ATOM_URL, headers={**headers, **extra})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_data()
    return body, ET.fromstring(body)  # noqa: S314 -- the registry's own answer


def test_the_feed_stays_well_formed_with_text_xml_refuses_in_the_database(client, staff, registry):
    """A name with U+FFFF once broke the feed for everyone: input now refuses it, and rows
    stored before are written with each such character replaced by U+FFFD."""
    record = created(client, staff, effective_on=None)
    bad = "Nim\uffffbus\x01 \ud800\ufdd0 Hosting"
    conn = registry.db.connection()
    # SQLite holds no lone surrogate as text; the changes' JSON can, escaped (\\ud800).
    stored = bad.replace("\ud800", "\ufffe")
    conn.execute("UPDATE subprocessors SET name = ? WHERE id = ?", [stored, record["id"]])
    for seq, data in conn.execute("SELECT seq, data FROM changes").fetchall():
        data = json.loads(data)
        data["subprocessor"]["name"] = bad
        data["subprocessor"]["purpose"] = "Hosting\x0b\ufffe"
        conn.execute("UPDATE changes SET data = ? WHERE seq = ?", [json.dumps(data), seq])

    body, root = atom(client, staff)

    (entry,) = root.findall(f"{ATOM}entry")
    title = entry.find(f"{ATOM}title").text
    assert "Nim\ufffdbus\ufffd \ufffd\ufffd Hosting" in title
    assert bad not in body.decode("utf-8")
    # The JSON content keeps the stored text exactly (escaped), for a reader to recover.
    content = json.loads(entry.find(f"{ATOM}content").text)
    assert content["subprocessor"]["name"] == bad


# 2. Names are unique as readers see them


@pytest.mark.parametrize(
    "clash",
    [
        "Brightwater Cloud\u200b",
        "BRIGHTWATER  CLOUD",
        "\ufeffbrightwater   cloud",
        "Bright\u200dwater Cloud",
        "\uff22rightwater Cloud",  # a fullwidth B: NFKC makes it B
        "Brightwater\u00a0Cloud",
        "BRIGHTWATER CLOUD ",
    ],
)
def test_names_that_look_the_same_clash(client, staff, clash):
    first = created(client, staff, name="Brightwater Cloud")
    response = client.post(URL, json=nimbus(name=clash), headers=staff)
    assert response.status_code == 409, response.get_data(as_text=True)
    assert "Brightwater Cloud" in response.get_json()["detail"]

    other = created(client, staff, name="Other Cloud")
    etag = client.get(f"{URL}/{other['id']}", headers=staff).headers["ETag"]
    response = client.patch(
        f"{URL}/{other['id']}", json={"name": clash}, headers={**staff, "If-Match": etag}
    )
    assert response.status_code == 409, response.get_data(as_text=True)
    assert first["name"] in response.get_json()["detail"]


def test_a_record_may_keep_its_own_name_in_another_form(client, staff, patch):
    record = created(client, staff, name="Brightwater Cloud")
    assert patch(record["id"], {"name": "BRIGHTWATER  CLOUD"})["name"] == "BRIGHTWATER  CLOUD"


def test_a_retired_name_can_be_reused_in_any_form(client, staff, retire, clock):
    record = created(client, staff, name="Brightwater Cloud")
    retire(record["id"])
    clock.advance(days=31)  # recorded as already in use only after the notice period
    assert created(client, staff, name="brightwater cloud\u200b")["status"] == "active"


def test_names_that_differ_visibly_do_not_clash(client, staff):
    created(client, staff, name="Brightwater Cloud")
    created(client, staff, name="Brightwater Clouds")
    created(client, staff, name="Bright water Cloud")


def test_the_database_refuses_two_current_rows_with_one_key(client, staff, registry):
    created(client, staff, name="Brightwater Cloud")
    created(client, staff, name="Other Cloud")
    conn = registry.db.connection()
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "UPDATE subprocessors SET name_key = 'brightwater cloud' WHERE name = 'Other Cloud'"
        )


def test_init_gives_older_rows_their_keys_and_they_still_clash(client, staff, registry):
    from registry.bootstrap import initialise

    first = created(client, staff, name="Brightwater Cloud")
    second = created(client, staff, name="Brightwater Cloud\u200b two")
    conn = registry.db.connection()
    # As rows written before migration 0011 were; the second then renamed so the two clash.
    conn.execute("UPDATE subprocessors SET name_key = NULL")
    conn.execute(
        "UPDATE subprocessors SET name = 'BRIGHTWATER\u200b CLOUD' WHERE id = ?", [second["id"]]
    )
    # Before init fills the keys, a new name is still compared with the rows without one.
    response = client.post(URL, json=nimbus(name="brightwater cloud"), headers=staff)
    assert response.status_code == 409, response.get_data(as_text=True)

    outcome = initialise(registry)

    assert outcome["names_clashing"] == [second["id"]]
    keys = dict(conn.execute("SELECT id, name_key FROM subprocessors").fetchall())
    assert keys == {first["id"]: "brightwater cloud", second["id"]: None}
    response = client.post(URL, json=nimbus(name="Brightwater  Cloud"), headers=staff)
    assert response.status_code == 409, response.get_data(as_text=True)
    assert initialise(registry)["names_clashing"] == [second["id"]]


@pytest.mark.parametrize("onward", ["NIMBUS\u200b HOSTING", "\uff2eimbus Hosting"])
def test_an_onward_recipient_named_like_the_subprocessor_is_refused(client, staff, onward):
    body = nimbus(onward_transfers=[{"name": onward, "country": "DE", "activity": "storage"}])
    assert pointers(client.post(URL, json=body, headers=staff)) == ["/onward_transfers/0/name"]


def test_onward_recipients_named_alike_are_one_recipient(client, staff):
    onward = [
        {"name": "Tallybird", "country": "DE", "activity": "storage"},
        {"name": "TALLY\u200bBIRD", "country": "DE", "activity": "storage"},
    ]
    body = nimbus(onward_transfers=onward)
    assert "/onward_transfers/1" in pointers(client.post(URL, json=body, headers=staff))[0]


# 3. Dates are within 1900-01-01..2199-12-31 wherever one is accepted


def test_a_date_far_in_the_past_was_a_500_and_is_now_422(client, staff):
    # Once an OverflowError: the objection deadline is the day before 0001-01-01.
    body = nimbus(effective_on="0001-01-01", already_in_use=True)
    (error,) = errors(client.post(URL, json=body, headers=staff))
    assert error == {
        "pointer": "/effective_on",
        "detail": "Must be a date from 1900-01-01 to 2199-12-31.",
    }


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
def test_dates_out_of_range_are_422_in_bodies(client, staff, day):
    assert pointers(client.post(URL, json=nimbus(effective_on=day), headers=staff)) == [
        "/effective_on"
    ]
    location = {
        "country": "IN",
        "activity": "processing",
        "safeguard": {"mechanism": "scc", "scc_version": "2021/914", "signed_on": day},
    }
    body = vendor("Tallybird", location)
    assert pointers(client.post(URL, json=body, headers=staff)) == [
        "/locations/0/safeguard/signed_on"
    ]


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/compliance", "as_of"),
        ("/v1/compliance", "at"),
        (URL, "at"),
        ("/v1/adequacy-decisions", "as_of"),
    ],
)
def test_dates_out_of_range_are_422_in_queries(client, staff, path, parameter, day):
    response = client.get(path, query_string={parameter: day}, headers=staff)
    (error,) = errors(response)
    assert error["pointer"] == f"/{parameter}" and error.get("location") == "query"


@pytest.mark.parametrize("day", ["1900-01-01", "2199-12-31"])
def test_the_ends_of_the_range_are_accepted(client, staff, day):
    response = client.get("/v1/compliance", query_string={"as_of": day}, headers=staff)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_the_latest_date_is_accepted_for_effective_on(client, staff):
    record = created(client, staff, effective_on="2199-12-31")
    assert record["effective_on"] == "2199-12-31"


# 4. The database and its -wal and -shm files are private to their owner


def test_a_new_database_and_its_wal_and_shm_are_0600(tmp_path):
    previous = os.umask(0o022)  # the usual umask would leave them readable by everyone
    try:
        path = tmp_path / "fresh" / "registry.db"
        database = Database(path)
        migrate(database)
        files = [
            path,
            tmp_path / "fresh" / "registry.db-wal",
            tmp_path / "fresh" / "registry.db-shm",
        ]
        modes = {file.name: stat.S_IMODE(os.stat(file).st_mode) for file in files}
        database.close()
    finally:
        os.umask(previous)
    assert modes == {"registry.db": 0o600, "registry.db-wal": 0o600, "registry.db-shm": 0o600}


def test_an_existing_database_keeps_working_and_its_mode(tmp_path):
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    os.chmod(path, 0o640)
    database = Database(path)
    assert migrate(database)
    database.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


# 5. Links use REGISTRY_PUBLIC_URL, never the Host header


def links(root: ET.Element) -> list[str]:
    return [link.get("href") for link in root.iter(f"{ATOM}link")]


def test_the_host_header_never_reaches_the_feed(client, staff):
    record = created(client, staff, effective_on=None)
    body, root = atom(client, staff, Host="evil.example")
    assert b"evil.example" not in body
    assert links(root) == [ATOM_URL, f"{URL}/{record['id']}"]


def test_with_a_public_url_links_are_absolute_under_it(app_with, staff):
    app = app_with(public_url="https://registry.example.com/")
    client = app.test_client()
    record = created(client, staff, effective_on=None)
    body, root = atom(client, staff, Host="evil.example")
    assert b"evil.example" not in body
    assert links(root) == [
        "https://registry.example.com/v1/changes.atom",
        f"https://registry.example.com{URL}/{record['id']}",
    ]


@pytest.mark.parametrize(
    "url",
    ["https://registry.example.com", "http://localhost:8000/", "https://[::1]:8443"],
)
def test_public_url_accepts_an_origin(url):
    assert Settings.from_environment({"REGISTRY_PUBLIC_URL": url}).public_url == url


@pytest.mark.parametrize(
    "url",
    [
        "registry.example.com",
        "ftp://registry.example.com",
        "https://",
        "https://registry.example.com/v1",
        "https://registry.example.com/?a=1",
        "https://registry.example.com/#top",
        "https://registry.example.com?",
        "https://user:pw@registry.example.com",
        "https://registry.example.com:port",
        "https://registry.example.com /",
        "javascript:alert(1)",
    ],
)
def test_public_url_refuses_anything_else(url):
    with pytest.raises(SettingsError, match="REGISTRY_PUBLIC_URL"):
        Settings.from_environment({"REGISTRY_PUBLIC_URL": url})
