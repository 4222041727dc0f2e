"""Resource limits: body size, page size, list lengths, string lengths and bounded query cost."""

from __future__ import annotations

import http.client
import io
import itertools
import json
import re

import pytest
from flask import Request
from helpers import TODAY, URL, bearer, category_keys, nimbus, server_on_template
from werkzeug.test import EnvironBuilder

from registry.db import store as db
from registry.errors import NotFound
from registry.http import cursors as cursor_codec
from registry.register import service as register
from registry.subprocessors import store

BODY_LIMIT = 4096
EEA = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE")
ACTIVITIES = ("storage", "processing", "remote_access", "backup")


def padded(body: dict, size: int) -> bytes:
    """`body` as JSON of exactly `size` bytes (trailing whitespace is valid JSON)."""
    raw = json.dumps(body).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def status_detail(response) -> str:
    return f"{response.status_code}: {response.get_data(as_text=True)[:500]}"


@pytest.fixture
def small(app_with, as_role):
    """A client of an app whose JSON bodies are limited to BODY_LIMIT, and an admin's headers."""
    return app_with(max_json=BODY_LIMIT).test_client(), as_role("admin")


def count(client, headers) -> int:
    return len(client.get(f"{URL}?limit=100", headers=headers).get_json()["items"])


def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_413(small):
    client, admin = small
    headers = {**admin, "Content-Type": "application/json"}
    over = client.post(URL, data=padded(nimbus(name="Over"), BODY_LIMIT + 1), headers=headers)
    assert over.status_code == 413, status_detail(over)
    assert str(BODY_LIMIT) in over.get_json()["detail"]
    invalid = client.post(URL, data=padded({"name": 1}, BODY_LIMIT), headers=headers)
    assert invalid.status_code == 422, status_detail(invalid)
    valid = client.post(URL, data=padded(nimbus(name="At"), BODY_LIMIT), headers=headers)
    assert valid.status_code == 201, status_detail(valid)
    assert count(client, admin) == 1

    item = f"{URL}/{valid.get_json()['id']}"
    patch_headers = {**headers, "If-Match": valid.headers["ETag"]}
    change = {"purpose": "Changed"}
    over = client.patch(item, data=padded(change, BODY_LIMIT + 1), headers=patch_headers)
    assert over.status_code == 413, status_detail(over)
    at = client.patch(item, data=padded(change, BODY_LIMIT), headers=patch_headers)
    assert at.status_code == 200, status_detail(at)


def streamed(body: bytes, headers: dict, *, terminated: bool) -> Request:
    """A POST whose body comes without Content-Length, as a chunked one reaches the app."""
    environ = EnvironBuilder(
        method="POST", path=URL, headers=headers, input_stream=io.BytesIO(body)
    ).get_environ()
    del environ["CONTENT_LENGTH"]
    if terminated:
        # What gunicorn sets: it de-chunks the body and ends the stream itself.
        environ["wsgi.input_terminated"] = True
    return Request(environ)


@pytest.mark.parametrize(
    ("size", "status"),
    [(BODY_LIMIT, 201), (BODY_LIMIT + 1, 413), (10 * BODY_LIMIT, 413)],
)
def test_a_chunked_body_without_content_length_is_limited_too(small, size, status):
    client, admin = small
    headers = {**admin, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    response = client.open(streamed(padded(nimbus(), size), headers, terminated=True))
    assert response.status_code == status, status_detail(response)
    assert count(client, admin) == (status == 201)


def test_an_unterminated_stream_without_length_is_not_read(small):
    # A server that neither gives a length nor ends the stream: reading could block forever.
    client, admin = small
    headers = {**admin, "Content-Type": "application/json"}
    response = client.open(streamed(json.dumps(nimbus()).encode(), headers, terminated=False))
    assert response.status_code == 422, status_detail(response)
    assert count(client, admin) == 0


@pytest.mark.server
def test_gunicorn_refuses_a_chunked_body_over_the_limit(apps, tmp_path):
    srv = server_on_template(apps, tmp_path, workers=1)
    srv.env["REGISTRY_MAX_JSON"] = str(BODY_LIMIT)
    headers = {**bearer(srv.tokens["admin"]), "Content-Type": "application/json"}
    srv.start()
    try:
        for size, status in ((BODY_LIMIT + 1, 413), (10 * BODY_LIMIT, 413), (BODY_LIMIT, 201)):
            raw = padded(nimbus(), size)
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            try:
                chunks = (raw[i : i + 1000] for i in range(0, len(raw), 1000))
                conn.request("POST", URL, body=chunks, headers=headers, encode_chunked=True)
                response = conn.getresponse()
                text = response.read().decode()
            finally:
                conn.close()
            assert response.status == status, f"{size} bytes: {text}"
    finally:
        srv.stop()


def eea_locations(n: int) -> list[dict]:
    pairs = itertools.islice(itertools.product(EEA, ACTIVITIES), n)
    return [{"country": country, "activity": activity} for country, activity in pairs]


def categories(n: int) -> list[str]:
    """`n` data-category keys, repeating once every key of the taxonomy is used."""
    keys = category_keys()
    return list(itertools.islice(itertools.cycle(keys), n))


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"locations": eea_locations(50)}, None),
        ({"locations": eea_locations(51)}, "/locations"),
        ({"data_categories": categories(101)}, "/data_categories"),
        ({"name": "n" * 200}, None),
        ({"name": "n" * 201}, "/name"),
        ({"legal_entity": "l" * 200}, None),
        ({"legal_entity": "l" * 201}, "/legal_entity"),
        ({"purpose": "p" * 1000}, None),
        ({"purpose": "p" * 1001}, "/purpose"),
    ],
    ids=[
        "50 locations",
        "51 locations",
        "101 categories",
        "name of 200",
        "name of 201",
        "legal entity of 200",
        "legal entity of 201",
        "purpose of 1000",
        "purpose of 1001",
    ],
)
def test_body_lists_and_strings_are_bounded(client, as_role, fields, pointer):
    response = client.post(URL, json=nimbus(**fields), headers=as_role("procurement"))
    if pointer is None:
        assert response.status_code == 201, status_detail(response)
        return
    assert response.status_code == 422, status_detail(response)
    assert [error["pointer"] for error in response.get_json()["errors"]] == [pointer]


def test_every_data_category_at_once_is_under_the_list_limit(client, as_role):
    everything = category_keys()
    assert len(everything) <= 100
    response = client.post(URL, json=nimbus(data_categories=everything), headers=as_role("admin"))
    assert response.status_code == 201, status_detail(response)


@pytest.mark.parametrize(
    ("field", "value", "pointer"),
    [
        ("adequacy_decision", "d" * 65, "/locations/1/safeguard/adequacy_decision"),
        ("scc_version", "v" * 33, "/locations/2/safeguard/scc_version"),
    ],
)
def test_safeguard_strings_are_bounded(client, as_role, field, value, pointer):
    body = nimbus()
    location = 1 if field == "adequacy_decision" else 2
    body["locations"][location]["safeguard"][field] = value
    response = client.post(URL, json=body, headers=as_role("admin"))
    assert response.status_code == 422, status_detail(response)
    assert pointer in [error["pointer"] for error in response.get_json()["errors"]]


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("limit=1", None),
        ("limit=0", "/limit"),
        ("limit=100", None),
        ("limit=101", "/limit"),
        ("cursor=" + "9" * 18, "/cursor"),  # positions are no cursors
        ("cursor=" + "9" * 19, "/cursor"),
        ("cursor=" + "A" * 200, "/cursor"),
    ],
)
def test_page_size_and_cursor_are_bounded(client, as_role, query, pointer):
    response = client.get(f"{URL}?{query}", headers=as_role("service"))
    if pointer is None:
        assert response.status_code == 200, status_detail(response)
        return
    assert response.status_code == 422, status_detail(response)
    errors = response.get_json()["errors"]
    assert [(e["pointer"], e["location"]) for e in errors] == [(pointer, "query")]


@pytest.fixture
def sid(client, as_role) -> str:
    return client.post(URL, json=nimbus(), headers=as_role("admin")).get_json()["id"]


@pytest.mark.parametrize("path", ["/v1/compliance", "/v1/subprocessors/{sid}/compliance"])
@pytest.mark.parametrize(("ids", "status"), [(["us-dpf-2023"] * 20, 200), (["x" * 64] * 21, 422)])
def test_assume_ended_takes_at_most_20_ids(client, as_role, sid, path, ids, status):
    query = "&".join(f"assume_ended={value}" for value in ids)
    response = client.get(f"{path.format(sid=sid)}?{query}", headers=as_role("admin"))
    assert response.status_code == status, status_detail(response)
    if status == 422:
        assert [e["pointer"] for e in response.get_json()["errors"]] == ["/assume_ended"]


def test_an_over_long_assume_ended_id_is_422(client, as_role):
    response = client.get("/v1/compliance?assume_ended=" + "x" * 65, headers=as_role("admin"))
    assert response.status_code == 422, status_detail(response)
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/assume_ended/0"]


class Recorder:
    """Stands in for the connection and keeps every statement with its parameters."""

    def __init__(self, conn):
        self.conn = conn
        self.statements: list[tuple[str, list]] = []

    def execute(self, sql, params=()):
        self.statements.append((sql, list(params)))
        return self.conn.execute(sql, params)


# Keyset order: the outer loop seeks to the cursor in a seq-ordered key and walks on from it.
KEYSET = re.compile(r"SEARCH \w+ USING (INTEGER PRIMARY KEY|(COVERING )?INDEX \w+|PRIMARY KEY) \(")
RANGE = re.compile(r"\b(rowid|seq|subprocessor_seq)>\?")
UNBOUNDED = ("SCAN ", "TEMP B-TREE", "LIST SUBQUERY", "MATERIALIZE", "CO-ROUTINE")


def plan_of(conn, sql: str, params: list) -> list[str]:
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


def analysed(registry, rows: int = 3000) -> None:
    """Fill the catalogue with skewed data and ANALYZE it, so the planner has statistics."""
    conn = registry.db.connection()
    with registry.db.write():
        for n in range(rows):
            service = "hosting" if n % 50 else "payments"
            conn.execute(
                "INSERT INTO subprocessors (id, name, service, data_categories, locations,"
                " effective_on, announced_on, retired_on, created_at, updated_at)"
                " VALUES (?, ?, ?, '[]', '[]', '2025-01-01', '2025-01-01', ?, 'x', 'x')",
                [f"sp_{n}", f"Bulk {n}", service, "2026-01-01" if n % 7 == 0 else None],
            )
            conn.execute(
                "INSERT INTO subprocessor_countries (country, subprocessor_seq)"
                " VALUES (?, last_insert_rowid())",
                ["US" if n % 3 else "SG"],
            )
        conn.execute("ANALYZE")


FILTERS = list(
    itertools.product(
        (None, "hosting", "payments"),
        (None, "US", "SG"),
        (None, "proposed", "active", "retired"),
        (0, 1500),
    )
)


@pytest.mark.parametrize("statistics", [False, True], ids=["fresh", "analysed"])
def test_list_queries_walk_a_key_from_the_cursor(registry, statistics):
    if statistics:
        analysed(registry)
    conn = registry.db.connection()
    for service, country, status, after in FILTERS:
        recorder = Recorder(conn)
        store.page(
            recorder,
            today=TODAY.isoformat(),
            after_seq=after,
            limit=51,
            service=service,
            country=country,
            status=status,
        )
        page, *pending = recorder.statements
        plan = plan_of(conn, *page)
        where = f"service={service} country={country} status={status}: {plan}"
        assert KEYSET.match(plan[0]) and RANGE.search(plan[0]), where
        assert not any(marker in line for line in plan for marker in UNBOUNDED), where
        # The page's pending changes, if it has rows: looked up by their primary key.
        assert len(pending) <= 1
        for statement in pending:
            (line,) = plan_of(conn, *statement)
            assert "pending_changes USING PRIMARY KEY (subprocessor_id=?)" in line, line


def test_reading_one_record_uses_its_unique_key(registry):
    recorder = Recorder(registry.db.connection())
    with pytest.raises(NotFound):
        store.get(recorder, "sp_missing")
    [line] = plan_of(registry.db.connection(), *recorder.statements[0])
    assert line.startswith("SEARCH subprocessors USING INDEX") and line.endswith("(id=?)"), line


@pytest.fixture
def counted_reads(monkeypatch):
    """Rows read through store.page per request."""
    reads: list[int] = []
    page = store.page

    def counting(*args, **kwargs):
        rows = page(*args, **kwargs)
        reads[-1] += len(rows)
        return rows

    monkeypatch.setattr(store, "page", counting)
    return reads


def test_a_flagged_page_reads_at_most_the_scan_limit(
    client, as_role, registry, monkeypatch, counted_reads
):
    monkeypatch.setattr(register, "SCAN_LIMIT", 3)
    admin = as_role("admin")
    created = []
    for n in range(8):
        # The sixth is flagged: Singapore has no adequacy decision and no safeguard is given.
        country = "SG" if n == 5 else "DE"
        body = nimbus(name=f"Vendor {n}", locations=[{"country": country, "activity": "storage"}])
        created.append(client.post(URL, json=body, headers=admin).get_json()["id"])
    seq = {
        sid: number
        for sid, number in registry.db.connection().execute("SELECT id, seq FROM subprocessors")
    }

    found, cursors, cursor = [], [], None
    while True:
        counted_reads.append(0)
        url = f"{URL}?flagged=true&limit=5" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=admin).get_json()
        assert counted_reads[-1] <= 3, "a flagged page read past SCAN_LIMIT"
        found += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
        assert len(cursors) < 10
    assert found == [created[5]]
    secret = db.cursor_secret(registry.db.connection())
    assert cursors == [
        cursor_codec.encode(secret, "role:admin", "subprocessors.Subprocessors?", seq[created[n]])
        for n in (2, 5)
    ]


@pytest.mark.parametrize("statistics", [False, True], ids=["fresh", "analysed"])
def test_the_name_check_seeks_its_indexes(registry, statistics):
    """Every create and rename checks the name: by seeks, never a scan of current names."""
    if statistics:
        analysed(registry)
    conn = registry.db.connection()
    recorder = Recorder(conn)
    store._name_taken(recorder, "Bulk 12")
    store._name_taken(recorder, "Nobody By This Name", except_id="sp_1")
    checked = [(sql, params) for sql, params in recorder.statements if "name" in sql]
    assert checked
    for sql, params in checked:
        if "name_key IS NULL" in sql:
            continue  # rows from before name keys: none once `registry init` filled them
        plan = plan_of(conn, sql, params)
        assert all(not step.startswith("SCAN") for step in plan), (sql, plan)
