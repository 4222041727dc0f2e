"""The public page, its Atom feed and world map, and the customer projection they show."""

from __future__ import annotations

import gzip
import io
import json
from datetime import date, timedelta
from html.parser import HTMLParser
from xml.etree import ElementTree as ET

import pytest
from helpers import (
    CA,
    IN,
    IN_WITHOUT_TIA,
    NL,
    URL,
    US,
    bcr,
    certified_us,
    current_etag,
    nimbus,
    problem,
    registry_today,
    scc,
    singapore,
    us_adequacy,
    vendor,
)
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from registry.compliance import engine
from registry.customer_projection.view import project
from registry.law import taxonomy
from registry.public import api as public_api
from registry.public import service as public_service
from registry.public import worldmap
from registry.register.customer_schemas import CustomerSubprocessorSchema
from registry.subprocessors import service as subprocessors
from registry.verdicts import service as compliance

PAGE = "/subprocessors"
MAP = "/subprocessors/map.svg"
FEED = "/feeds/subprocessors.atom"
ATOM = "{http://www.w3.org/2005/Atom}"
PUBLIC_CACHE = "public, max-age=300"
FLAG_CODES = sorted(engine.SEVERITY)


# --- helpers -----------------------------------------------------------------------------------


class Tables(HTMLParser):
    """Every table of a page: its caption, and its body rows as lists of cell texts (a cell
    spanning rows is repeated in each)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._caption: str | None = None
        self._in_caption = False
        self._in_body = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._spans: dict[int, tuple[str, int]] = {}  # column -> (text, rows left)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "caption":
            self._in_caption, self._caption = True, ""
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
            self._fill_spans()
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._rowspan = int(attrs.get("rowspan") or 1)

    def _fill_spans(self):
        while len(self._row) in self._spans:
            text, left = self._spans.pop(len(self._row))
            self._row.append(text)
            if left > 1:
                self._spans[len(self._row) - 1] = (text, left - 1)

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
            self.tables[self._caption] = []
        elif tag == "tbody":
            self._in_body = False
        elif tag in ("td", "th") and self._cell is not None:
            text = " ".join(" ".join(self._cell).split())
            if self._rowspan > 1:
                self._spans[len(self._row)] = (text, self._rowspan - 1)
            self._row.append(text)
            self._cell = None
            self._fill_spans()
        elif tag == "tr" and self._row is not None:
            self.tables[self._caption].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_caption:
            self._caption += data.strip()
        elif self._cell is not None:
            self._cell.append(data)


def tables(client) -> dict[str, list[list[str]]]:
    response = client.get(PAGE)
    assert response.status_code == 200
    return Tables(response.get_data(as_text=True)).tables


def names(rows: list[list[str]]) -> set[str]:
    return {row[0] for row in rows}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def create(client, staff):
    def post(body: dict) -> dict:
        return ok(client.post(URL, json=body, headers=staff), 201)

    return post


@pytest.fixture
def catalogue(create) -> dict[str, dict]:
    """Like the demo: hosting, database management, support and e-mail delivery in use."""
    return {
        "nimbus": create(nimbus()),
        "quillon": create(
            vendor(
                "Quillon Data",
                {"country": "IE", "activity": "storage"},
                certified_us(),
                service="database_management",
                effective_on="2024-06-01",
            )
        ),
        "tallybird": create(
            vendor(
                "Tallybird Support",
                NL,
                IN,
                service="customer_support",
                effective_on="2024-04-15",
            )
        ),
        "relaywise": create(
            vendor("Relaywise", singapore(), service="email_delivery", effective_on="2025-03-01")
        ),
    }


def upload_copy(client, staff, subprocessor_id: str, country: str, kind: str = "scc"):
    values = {
        "kind": kind,
        "title": "SCCs 2021/914",
        "audience": "disclosable",
        "subprocessor_id": subprocessor_id,
        "country": country,
        "file": FileStorage(io.BytesIO(b"Standard contractual clauses\n"), "scc.txt"),
    }
    boundary, body = encode_multipart(values)
    response = client.post(
        "/v1/documents",
        data=body,
        headers=staff,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 201, response.get_data(as_text=True)


def retire_on(client, staff, subprocessor_id: str, **body):
    headers = {**staff, "If-Match": current_etag(client, staff, subprocessor_id)}
    response = client.delete(f"{URL}/{subprocessor_id}", json=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)


def patch(client, staff, subprocessor_id: str, changes: dict) -> dict:
    headers = {**staff, "If-Match": current_etag(client, staff, subprocessor_id)}
    return ok(client.patch(f"{URL}/{subprocessor_id}", json=changes, headers=headers))


# --- the page ----------------------------------------------------------------------------------


def test_the_page_lists_the_subprocessors_in_use_by_service_with_countries_and_mechanisms(
    client, catalogue
):
    found = tables(client)

    assert list(found) == [
        "Transfers outside the EEA",
        "Hosting",
        "Database management",
        "E-mail delivery",
        "Customer support",
    ]
    hosting = found["Hosting"]
    assert names(hosting) == {"Nimbus Hosting Nimbus Hosting Inc."}
    by_country = {row[2]: row for row in hosting}
    assert set(by_country) == {"Netherlands (NL)", "United States (US)", "India (IN)"}
    assert by_country["Netherlands (NL)"][3:] == [
        "storage",
        "Inside the EEA (no transfer)",
        "Not needed",
        "Not needed",
    ]
    us = by_country["United States (US)"]
    assert us[3:5] == ["remote access", "Adequacy decision"]
    assert us[5].startswith("us-dpf-2023 (Commission Implementing Decision (EU) 2023/1795")
    assert us[6] == "Yes"  # the decision is public: a request is answered at once
    india = by_country["India (IN)"]
    assert india[3:] == [
        "processing",
        "Standard Contractual Clauses",
        "SCC 2021/914, Module 3 (processor to processor)",
        "No",
    ]
    assert "Hosting of the login service" in hosting[0][1]
    singapore_row = found["E-mail delivery"][0]
    assert singapore_row[2:] == [
        "Singapore (SG)",
        "processing",
        "No safeguard recorded",
        "None",
        "No",
    ]


def test_the_page_opens_with_every_transfer_outside_the_eea_and_its_safeguard(client, catalogue):
    response = client.get(PAGE)
    html = response.get_data(as_text=True)
    summary = Tables(html).tables["Transfers outside the EEA"]

    assert summary == [
        [
            "Nimbus Hosting",
            "India",
            "Standard Contractual Clauses (SCC 2021/914, Module 3 (processor to processor))",
        ],
        [
            "Tallybird Support",
            "India",
            "Standard Contractual Clauses (SCC 2021/914, Module 3 (processor to processor))",
        ],
        ["Relaywise", "Singapore", "None: no safeguard is recorded for this transfer"],
        ["Nimbus Hosting", "United States", summary[3][2]],
        ["Quillon Data", "United States", summary[4][2]],
    ]
    assert summary[3][2].startswith("Adequacy decision (us-dpf-2023 (Commission")
    assert summary[3][2].endswith("; a copy is available on request")
    # Before the tables of the sub-processors, with a count a reader takes in at once.
    assert html.index('id="outside"') < html.index('id="current"') < html.index('id="map"')
    assert "5 transfers of personal data leave the European Economic Area; 1 of them has" in html


def test_data_categories_are_named_as_the_taxonomy_names_them(client, catalogue):
    html = client.get(PAGE).get_data(as_text=True)
    hosting = Tables(html).tables["Hosting"]

    assert "Data: Account Username, User Contact Email, IP Address" in hosting[0][1]
    assert "user.contact.email" not in html
    assert taxonomy.category_name("user.contact.email") == "User Contact Email"
    assert taxonomy.category_name("not.a.key") == "not.a.key"


def test_filters_are_plain_links_narrowing_the_page_by_country_and_service(client, catalogue):
    html = client.get(PAGE).get_data(as_text=True)
    assert 'href="/subprocessors?country=IN#current"' in html
    assert 'href="/subprocessors?service=customer_support#current"' in html
    assert "<script" not in html and "<form" not in html

    india = client.get(PAGE, query_string={"country": "in"})
    found = Tables(india.get_data(as_text=True)).tables
    assert india.status_code == 200
    assert [row[1] for row in found["Transfers outside the EEA"]] == ["India", "India"]
    assert names(found["Hosting"]) == {"Nimbus Hosting Nimbus Hosting Inc."}
    assert names(found["Customer support"]) == {"Tallybird Support"}
    assert "Database management" not in found and "E-mail delivery" not in found
    assert "Showing only sub-processors whose data goes to India." in india.get_data(as_text=True)
    # Links keep the other filter; the country chosen is marked, not linked.
    both = client.get(PAGE, query_string={"country": "IN", "service": "customer_support"})
    text = both.get_data(as_text=True)
    assert list(Tables(text).tables) == ["Transfers outside the EEA", "Customer support"]
    assert 'href="/subprocessors?country=IN&amp;service=hosting#current"' in text
    assert '<strong aria-current="true">India</strong>' in text
    # Other query parameters change nothing.
    tracked = client.get(PAGE, query_string={"utm_source": "newsletter"})
    assert tracked.data == client.get(PAGE).data


def test_a_filter_page_is_built_once_per_edition_and_answers_304(client, catalogue, registry):
    first = client.get(PAGE, query_string={"service": "hosting"})
    again = client.get(PAGE, query_string={"service": "hosting"})

    assert first.status_code == again.status_code == 200
    assert first.headers["Cache-Control"] == PUBLIC_CACHE
    assert first.headers["ETag"] == again.headers["ETag"] != client.get(PAGE).headers["ETag"]
    assert "script-src" not in first.headers["Content-Security-Policy"]
    key = public_service.current_key(registry)
    built = public_service.built(registry, "page?service=hosting", key)
    assert built is not None and built.body == first.data
    unchanged = client.get(
        PAGE, query_string={"service": "hosting"}, headers={"If-None-Match": first.headers["ETag"]}
    )
    assert unchanged.status_code == 304
    # A country no sub-processor uses is a valid filter, rendered for the request only.
    japan = client.get(PAGE, query_string={"country": "JP"})
    assert japan.status_code == 200
    assert "No sub-processor is in use among those shown." in japan.get_data(as_text=True)
    assert public_service.built(registry, "page?country=JP", key) is None


@pytest.mark.parametrize(
    ("query", "pointers"),
    [
        ({"country": "XX1"}, ["/country"]),
        ({"country": "ZZ"}, ["/country"]),
        ({"service": "laundry"}, ["/service"]),
        ([("country", "IN"), ("country", "US")], ["/country"]),
        ({"country": "ZZ", "service": "laundry"}, ["/country", "/service"]),
    ],
)
def test_a_filter_naming_nothing_is_a_problem(client, catalogue, query, pointers):
    body = problem(client.get(PAGE, query_string=query), 422)

    assert [error["pointer"] for error in body["errors"]] == pointers
    assert all(error["location"] == "query" for error in body["errors"])


def test_the_legend_lists_each_mechanism_with_its_countries_and_never_hides_a_gap():
    register = [
        {
            "status": "active",
            "locations": [
                {
                    "country": "US",
                    "country_name": "United States",
                    "eea": False,
                    "mechanism": "adequacy",
                },
                {"country": "CH", "country_name": "Switzerland", "eea": False, "mechanism": "bcr"},
            ],
            "onward_transfers": [
                {"country": "US", "country_name": "United States", "eea": False, "mechanism": None}
            ],
        },
        {
            "status": "upcoming",
            "locations": [
                {"country": "JP", "country_name": "Japan", "eea": False, "mechanism": None}
            ],
            "onward_transfers": [],
        },
    ]

    legend = {entry["key"]: entry["countries"] for entry in worldmap.legend(register)}

    assert legend == {
        "adequacy": ["United States"],
        "bcr": ["Switzerland"],
        "none": ["United States"],
        "several": ["United States (Adequacy decision, No safeguard recorded)"],
    }


def test_a_copy_on_file_shows_as_available_on_request(client, staff, catalogue):
    upload_copy(client, staff, catalogue["nimbus"]["id"], "IN")

    india = [row for row in tables(client)["Hosting"] if row[2] == "India (IN)"]

    assert india[0][6] == "Yes"


def test_onward_transfers_are_shown_as_facts_of_their_own(client, create):
    create(
        nimbus(
            onward_transfers=[
                {
                    "name": "Deepsea Backup",
                    "country": "IN",
                    "activity": "backup",
                    "safeguard": IN["safeguard"],
                }
            ]
        )
    )

    rows = tables(client)["Hosting"]

    [onward] = [row for row in rows if "Deepsea Backup" in row[2]]
    assert onward[2] == "India (IN) through Deepsea Backup, its own sub-processor"
    assert onward[3:] == [
        "backup",
        "Standard Contractual Clauses",
        "SCC 2021/914, Module 3 (processor to processor)",
        "No",
    ]


def every_flag(client, create, clock, admin: dict) -> set[str]:
    """A register that raises every flag the engine knows; the codes it raised."""
    clock.today = date(2031, 8, 1)  # gb-2025 ends within 180 days; the US check is stale
    past = {"effective_on": "2030-01-01"}
    derogation = {"country": "AE", "activity": "processing"}
    bodies = [
        vendor("No Safeguard", singapore(), **past),
        vendor(
            "Old Shield",
            {
                "country": "US",
                "activity": "storage",
                "safeguard": {
                    "mechanism": "adequacy",
                    "adequacy_decision": "us-privacy-shield-2016",
                },
            },
            **past,
        ),
        vendor("Uncertified", us_adequacy(certified=False), **past),
        vendor("Stale Check", certified_us(checked_on="2026-10-01"), **past),
        vendor(
            "Out Of Scope",
            {
                "country": "CA",
                "activity": "storage",
                "safeguard": {
                    "mechanism": "adequacy",
                    "scope_attestations": {"pipeda_applies": False},
                },
            },
            **past,
        ),
        vendor("Unconfirmed", CA, **past),
        vendor("Ending", {"country": "GB", "activity": "storage"}, **past),
        vendor(
            "Superseded",
            {
                "country": "IN",
                "activity": "processing",
                "safeguard": {
                    "mechanism": "scc",
                    "scc_version": "2010/87/EU",
                    "signed_on": "2019-01-01",
                    "tia_completed_on": "2019-01-01",
                },
            },
            **past,
        ),
        vendor("Wrong Module", scc(country="BR", scc_module=2), **past),
        vendor(
            "Importer Under GDPR",
            {**scc(country="JP"), "importer_subject_to_gdpr": True},
            **past,
        ),
        vendor("No Assessment", IN_WITHOUT_TIA, **past),
        vendor(
            "Assessed Problematic",
            scc(
                tia_completed_on="2030-01-01",
                tia={
                    "completed_on": "2030-01-01",
                    "outcome": "problematic",
                    "review_by": "2031-01-01",
                },
            ),
            **past,
        ),
        # Its TIA relied on the DPF's safeguards: TIA_RESTS_ON_ENDED_DECISION if the DPF falls.
        vendor(
            "Assessed Under The DPF",
            scc(
                country="US",
                tia_completed_on="2030-01-01",
                tia={"completed_on": "2030-01-01", "outcome": "no_reason_to_believe"},
            ),
            **past,
        ),
        vendor("Rules Without Copy", bcr("SG"), **past),
        vendor(
            "Consent",
            {
                **derogation,
                "safeguard": {"mechanism": "derogation", "derogation": "explicit_consent"},
            },
            **past,
        ),
        vendor(
            "Contract",
            {
                **derogation,
                "safeguard": {"mechanism": "derogation", "derogation": "contract_performance"},
            },
            **past,
        ),
        vendor(
            "Vital",
            {
                **derogation,
                "safeguard": {"mechanism": "derogation", "derogation": "vital_interests"},
            },
            **past,
        ),
        vendor(
            "Rushed",
            NL,
            effective_on=(registry_today() + timedelta(days=3)).isoformat(),
            urgent=True,
            urgent_reason="The old vendor stops next week.",
        ),
    ]
    for body in bodies:
        create(body)
    items = ok(client.get(f"{URL}?limit=100", headers=admin))["items"]
    what_if = client.get(
        "/v1/compliance", query_string={"assume_ended": "us-dpf-2023"}, headers=admin
    )
    return {flag["code"] for item in items for flag in item["compliance"]["flags"]} | {
        finding["code"] for finding in ok(what_if)["findings"]
    }


def test_no_flag_reaches_the_page_feed_or_projection_even_when_every_flag_is_raised(
    client, as_role, create, clock, registry
):
    raised = every_flag(client, create, clock, as_role("admin"))
    assert raised == set(FLAG_CODES)  # the register holds every flag the engine knows

    page = client.get(PAGE).get_data(as_text=True)
    feed = client.get(FEED).get_data(as_text=True)
    register = public_service.read_register(registry)
    projected = json.dumps(register.subprocessors)
    filtered = [
        client.get(PAGE, query_string={"country": code}).get_data(as_text=True)
        for code, _ in register.countries()
    ]
    for text in (page, feed, projected, *filtered):
        for code in FLAG_CODES:
            assert code not in text
        for word in ("flagged", "compliant", "warning", '"flags"', '"compliance"', "severity"):
            assert word not in text.lower()
    assert "Rushed" in page and "No Safeguard" in page


def test_a_retired_subprocessor_is_not_listed_and_a_retiring_one_shows_its_date(
    client, staff, catalogue
):
    retire_on(client, staff, catalogue["quillon"]["id"])
    later = (registry_today() + timedelta(days=20)).isoformat()
    retire_on(client, staff, catalogue["tallybird"]["id"], retired_on=later, reason="Moved in")

    found = tables(client)

    assert "Database management" not in found
    assert all("Quillon" not in " ".join(row) for rows in found.values() for row in rows)
    support = found["Customer support"]
    assert f"no longer used from {later}" in support[0][1]
    assert found["Sub-processors leaving"] == [
        ["Tallybird Support", "Customer support", f"{later} (Moved in)"]
    ]


def test_an_upcoming_subprocessor_shows_its_date_and_objection_deadline(client, create):
    create(nimbus())
    made = create(vendor("Newco Mail", US, service="email_delivery"))

    found = tables(client)

    effective = made["effective_on"]
    deadline = (date.fromisoformat(effective) - timedelta(days=1)).isoformat()
    assert "E-mail delivery" not in found  # not in use yet
    [row] = found["New sub-processors"]
    assert row[0] == "Newco Mail"
    assert f"From {effective}; objections until {deadline}" in row[1]
    assert row[2:5] == ["United States (US)", "remote access", "Adequacy decision"]


def test_a_pending_material_change_shows_what_changes_and_when(client, staff, create):
    made = create(nimbus())
    changed = patch(client, staff, made["id"], {"locations": [NL, US, IN, bcr("BR")]})

    found = tables(client)

    [row] = found["Changes to sub-processors"]
    pending = changed["pending_change"]
    assert row[0] == "Nimbus Hosting"
    assert "adds the country BR" in row[1]
    assert "Brazil (BR): processing; Binding corporate rules, approved on 2023-05-01" in row[1]
    assert row[2:] == [pending["effective_on"], pending["objection_deadline"]]
    # In force until then: Brazil is not among the current transfers.
    assert "Brazil (BR)" not in {r[2] for r in found["Hosting"]}


def test_the_page_is_cacheable_and_answers_304_to_its_etag(client, staff, create):
    made = create(nimbus())
    first = client.get(PAGE)
    etag = first.headers["ETag"]

    again = client.get(PAGE, headers={"If-None-Match": etag})
    assert first.headers["Cache-Control"] == PUBLIC_CACHE
    assert etag.startswith('"') and not etag.startswith("W/")
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == PUBLIC_CACHE
    assert not again.data

    patch(client, staff, made["id"], {"purpose": "Hosting of everything"})
    changed = client.get(PAGE, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert "Hosting of everything" in changed.get_data(as_text=True)


def test_a_new_day_is_a_new_page(client, create, clock):
    create(vendor("Newco Mail", US, service="email_delivery"))
    before = client.get(PAGE)
    clock.today = registry_today() + timedelta(days=40)

    after = client.get(PAGE, headers={"If-None-Match": before.headers["ETag"]})

    assert after.status_code == 200
    assert "E-mail delivery" in Tables(after.get_data(as_text=True)).tables


def test_the_page_is_answered_from_memory(client, catalogue, monkeypatch):
    reads = []
    original = public_service.read_register
    monkeypatch.setattr(
        public_service, "read_register", lambda registry: reads.append(1) or original(registry)
    )

    bodies = {client.get(PAGE).data for _ in range(5)}
    client.get(MAP)
    client.get(FEED)

    assert len(bodies) == 1
    assert len(reads) == 1  # one read of the register for the page, the map and the feed


def test_html_pages_carry_the_security_headers(client, catalogue):
    response = client.get(PAGE)

    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "script-src" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    html = response.get_data(as_text=True)
    assert "<script" not in html and "style=" not in html  # nothing the policy would refuse
    assert '<html lang="en">' in html
    for landmark in ("<header", "<nav", "<main", "<footer", 'class="skip-link" href="#main"'):
        assert landmark in html
    assert '<th scope="col">' in html and "<caption>" in html


def test_the_page_links_its_stylesheet_map_and_feed(client, catalogue):
    html = client.get(PAGE).get_data(as_text=True)

    assert 'href="/static/public.css"' in html
    assert f'src="{MAP}"' in html and 'alt="World map' in html
    assert f'href="{FEED}"' in html
    assert "POST /v1/documentation-requests" in html
    stylesheet = client.get("/static/public.css")
    assert stylesheet.status_code == 200 and stylesheet.mimetype == "text/css"
    assert "@media print" in stylesheet.get_data(as_text=True)
    assert stylesheet.headers["Cache-Control"].startswith("public")
    cached = client.get("/static/public.css", headers={"If-None-Match": stylesheet.headers["ETag"]})
    assert cached.status_code == 304


def test_the_page_legend_has_the_map_colours():
    css = public_api.STYLESHEET.decode()
    for key, _, colour in worldmap.SERIES:
        assert f".swatch-{key} {{ background: {colour}; }}" in css


def test_public_routes_need_no_token_but_refuse_a_bad_one(client, as_role, catalogue):
    for path in (PAGE, MAP, FEED, "/static/public.css"):
        assert client.get(path).status_code == 200, path
        bad = client.get(path, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401, path
        with_token = client.get(path, headers=as_role("customer_a"))
        assert with_token.status_code == 200
        # Shared caches never keep an answer to a request with credentials.
        assert with_token.headers["Cache-Control"] == "no-store"


def test_the_root_redirects_to_the_public_page(client, as_role):
    for headers in ({}, as_role("customer_a")):
        answer = client.get("/", headers=headers)
        assert answer.status_code == 302
        assert answer.headers["Location"] == PAGE
    assert client.get("/", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/", follow_redirects=True).request.path == PAGE
    refused = client.post("/")
    assert refused.status_code == 405 and refused.mimetype == "application/problem+json"


def test_errors_under_the_public_paths_are_problem_json(client):
    missing = client.get("/subprocessors/nope")
    refused = client.post(PAGE)

    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert refused.status_code == 405 and refused.mimetype == "application/problem+json"
    assert "GET" in refused.headers["Allow"]


def test_the_host_header_never_reaches_a_link(client, catalogue):
    headers = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    for path in (PAGE, FEED):
        body = client.get(path, headers=headers).get_data(as_text=True)
        assert "evil.example" not in body, path
        assert "localhost" not in body, path


# --- the feed ----------------------------------------------------------------------------------


def feed_entries(client, **headers) -> tuple[ET.Element, list[ET.Element]]:
    response = client.get(FEED, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)  # noqa: S314 -- the registry's own answer
    assert root.tag == f"{ATOM}feed"
    return root, root.findall(f"{ATOM}entry")


def test_the_feed_holds_only_material_public_changes(client, staff, as_role, create):
    announced = create(vendor("Newco Mail", US, service="email_delivery"))
    in_use = create(nimbus())  # recorded as already in use: never announced
    patch(client, staff, in_use["id"], {"purpose": "Hosting of everything"})  # housekeeping
    patch(client, staff, in_use["id"], {"locations": [NL, US, IN, bcr("BR")]})  # material
    retiring = create(vendor("Oldco", effective_on="2024-01-01"))
    retire_on(client, staff, retiring["id"])
    # Customer A's objection, upheld: an event for customer A alone.
    objection = ok(
        client.post(
            f"{URL}/{announced['id']}/objections",
            json={"reason": "Not in the US, please"},
            headers=as_role("customer_a"),
        ),
        201,
    )
    url = f"{URL}/{announced['id']}/objections/{objection['id']}"
    answer = {**staff, "If-Match": client.get(url, headers=staff).headers["ETag"]}
    ok(client.patch(url, json={"status": "upheld", "response": "Agreed"}, headers=answer))
    everything = ok(client.get("/v1/changes?limit=100", headers=as_role("admin")))["items"]
    assert {"objection.resolved", "subprocessor.recorded"} <= {c["type"] for c in everything}

    root, entries = feed_entries(client)

    terms = [entry.find(f"{ATOM}category").get("term") for entry in entries]
    assert terms == ["subprocessor.retired", "subprocessor.changed", "subprocessor.announced"]
    material = [
        c
        for c in everything
        if c["material"]
        and c["type"] not in ("objection.resolved", "objection.created")
        and not c.get("customer_id")
    ]
    assert [entry.findtext(f"{ATOM}id") for entry in entries] == [
        f"tag:transfer-registry,2026:change:{c['id']}" for c in reversed(material)
    ]
    text = ET.tostring(root, encoding="unicode")
    assert "Not in the US" not in text and "Agreed" not in text  # customer A's own
    assert "Hosting of everything" not in text  # housekeeping
    retired, changed, new = entries
    assert new.findtext(f"{ATOM}title") == (
        f"New sub-processor: Newco Mail, from {announced['effective_on']}"
    )
    summary = new.findtext(f"{ATOM}summary")
    assert "United States (US): remote access; Adequacy decision, us-dpf-2023" in summary
    assert "adds the country BR" in changed.findtext(f"{ATOM}summary")
    assert retired.findtext(f"{ATOM}title").startswith("Oldco retired on ")
    for entry in entries:
        for child in ("id", "title", "updated", "summary"):
            assert entry.findtext(f"{ATOM}{child}")
        assert entry.find(f"{ATOM}link").get("href").startswith(f"{PAGE}#sp_")
    assert root.findtext(f"{ATOM}updated") == entries[0].findtext(f"{ATOM}updated")
    assert root.findtext(f"{ATOM}id") and root.findtext(f"{ATOM}title")
    assert root.find(f"{ATOM}author").findtext(f"{ATOM}name")


def test_the_feed_is_cacheable_and_answers_304(client, create):
    create(vendor("Newco Mail", US, service="email_delivery"))
    first = client.get(FEED)

    again = client.get(FEED, headers={"If-None-Match": first.headers["ETag"]})

    assert first.headers["Cache-Control"] == PUBLIC_CACHE
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]


def test_an_empty_feed_is_still_valid_atom(client):
    root, entries = feed_entries(client)

    assert entries == []
    assert root.findtext(f"{ATOM}updated")


@pytest.fixture
def public_url_app(app_with):
    return app_with(public_url="https://registry.example.com/")


def test_feed_links_are_absolute_under_the_public_url_whatever_the_host(public_url_app, as_role):
    client = public_url_app.test_client()
    ok(client.post(URL, json=vendor("Newco Mail", US), headers=as_role("procurement")), 201)

    root, [_entry] = feed_entries(client, Host="evil.example")

    links = [link.get("href") for link in root.iter(f"{ATOM}link")]
    assert links and all(href.startswith("https://registry.example.com/") for href in links)
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == (
        "https://registry.example.com/feeds/subprocessors.atom"
    )
    assert "evil.example" not in ET.tostring(root, encoding="unicode")


# --- the map -----------------------------------------------------------------------------------


def test_the_map_is_svg_without_script_coloured_by_mechanism(client, catalogue):
    response = client.get(MAP)

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == PUBLIC_CACHE
    assert "script-src" not in response.headers["Content-Security-Policy"]
    svg = response.data
    assert b"<script" not in svg.lower()
    root = ET.fromstring(svg)  # noqa: S314 -- the registry's own answer
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    coloured = {
        element.get("class").split()[0]: element.get("class")
        for element in root.iter()
        if "map-element" in (element.get("class") or "") and "series" in element.get("class")
    }
    # NL and IE in the EEA, US by adequacy, IN by SCCs, SG with no safeguard.
    assert set(coloured) == {"nl", "ie", "us", "in", "sg"}
    assert len({coloured[c].split()[3] for c in coloured}) == 4  # four colours


def test_the_map_is_gzipped_when_the_client_accepts_it(client, catalogue):
    plain = client.get(MAP)
    compressed = client.get(MAP, headers={"Accept-Encoding": "gzip, deflate"})

    assert compressed.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Vary"] == compressed.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(compressed.data) == plain.data
    assert len(compressed.data) < len(plain.data) / 2
    assert compressed.headers["ETag"] != plain.headers["ETag"]
    again = client.get(
        MAP, headers={"Accept-Encoding": "gzip", "If-None-Match": compressed.headers["ETag"]}
    )
    assert again.status_code == 304


def test_the_map_counts_a_country_with_several_mechanisms_once():
    register = [
        {
            "status": "active",
            "locations": [
                {"country": "US", "eea": False, "mechanism": "adequacy"},
                {"country": "NL", "eea": True, "mechanism": None},
            ],
            "onward_transfers": [{"country": "US", "eea": False, "mechanism": "scc"}],
        },
        {
            "status": "upcoming",
            "locations": [{"country": "JP", "eea": False, "mechanism": "adequacy"}],
            "onward_transfers": [],
        },
    ]

    assert worldmap.countries_by_series(register) == {"NL": "eea", "US": "several"}


# --- the customer projection -------------------------------------------------------------------


def test_the_projection_holds_facts_and_no_verdict(client, staff, create, registry):
    made = create(nimbus())
    upload_copy(client, staff, made["id"], "IN")
    record = subprocessors.get(registry.db.connection(), made["id"])
    represented = compliance.represent(registry, record)
    snapshot = compliance.snapshot(registry)

    view = project(represented, snapshot.law, registry.today(), snapshot.copies)

    assert CustomerSubprocessorSchema().dump(view) == view  # the schema describes every field
    assert set(view) == {
        "id",
        "name",
        "legal_entity",
        "service",
        "purpose",
        "data_categories",
        "status",
        "effective_on",
        "objection_deadline",
        "retired_on",
        "retired_reason",
        "locations",
        "onward_transfers",
        "pending_change",
    }
    assert view["status"] == "active"
    nl, us, india = view["locations"]
    assert nl == {
        "country": "NL",
        "country_name": "Netherlands",
        "activity": "storage",
        "eea": True,
        "mechanism": None,
        "relied_on": None,
        "copy_available": False,
    }
    assert us["relied_on"]["kind"] == "adequacy_decision"
    assert us["relied_on"]["id"] == "us-dpf-2023"
    assert us["relied_on"]["instrument"].startswith(
        "Commission Implementing Decision (EU) 2023/1795"
    )
    assert india["relied_on"] == {
        "kind": "scc",
        "id": "2021/914",
        "instrument": snapshot.law.scc_version("2021/914").instrument,
        "source_url": "https://eur-lex.europa.eu/eli/dec_impl/2021/914/oj",
        "module": 3,
        "module_name": "processor to processor",
    }
    assert india["copy_available"] is True
    # The same view from the stored record alone (no API status, no compliance block).
    assert project(record, snapshot.law, registry.today(), snapshot.copies) == view


def test_the_projection_speaks_in_customer_statuses(client, staff, create, registry):
    upcoming = create(vendor("Newco Mail", US))
    retiring = create(vendor("Oldco", effective_on="2024-01-01"))
    later = (registry_today() + timedelta(days=5)).isoformat()
    retire_on(client, staff, retiring["id"], retired_on=later)

    by_name = {s["name"]: s for s in public_service.read_register(registry).subprocessors}

    assert by_name["Newco Mail"]["status"] == "upcoming"
    assert by_name["Newco Mail"]["effective_on"] == upcoming["effective_on"]
    assert by_name["Newco Mail"]["objection_deadline"] == subprocessors.objection_deadline(
        upcoming["effective_on"]
    )
    assert by_name["Oldco"]["status"] == "retiring"
    assert by_name["Oldco"]["retired_on"] == later


def test_a_write_that_moves_no_country_leaves_the_map_as_it_was(client, staff, catalogue):
    before = client.get(MAP)
    patch(client, staff, catalogue["nimbus"]["id"], {"purpose": "Hosting of everything"})

    after = client.get(MAP)

    assert after.headers["ETag"] != before.headers["ETag"]  # a new revision
    assert after.data == before.data  # the same bytes, from any worker


def test_drawing_the_map_leaves_no_pygal_finder_behind():
    """pygal's legacy import finder would make every failed import warn (ImportWarning)."""
    import importlib
    import sys
    import warnings

    from pygal import PluginImportFixer

    worldmap.render({"US": "scc"}, "finder check")
    assert not [f for f in sys.meta_path if isinstance(f, PluginImportFixer)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("registry_no_such_module")
