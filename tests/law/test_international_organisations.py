"""International organisations as reference law: the data file, its loading, and
GET /v1/international-organisations (public or any key, cacheable, with an ETag)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import TODAY, assert_documented, bearer

from registry.law.loader import (
    DECISIONS_FILE,
    DEFAULT_DATA_DIR,
    LAW_FILES,
    ORGANISATIONS_FILE,
    LawDataError,
    load_law,
)

URL = "/v1/international-organisations"


def test_the_european_patent_organisation_is_listed_with_its_adequacy_decision(client):
    response = client.get(URL)
    assert response.status_code == 200
    body = response.get_json()
    assert body["as_of"] == TODAY.isoformat()
    by_id = {item["id"]: item for item in body["items"]}
    epo = by_id["epo"]
    assert epo["name"] == "European Patent Organisation"
    # (EU) 2025/1382, in force from 2025-07-18 (data/adequacy-decisions.json): in force today.
    assert epo["adequacy"] == ["epo-2025"]
    assert any("2025/1382" in source for source in epo["sources"])
    assert by_id["wipo"]["adequacy"] == []
    assert by_id["wipo"]["verified"] is False and by_id["wipo"]["notes"]
    assert_documented(body, URL)


def test_the_list_is_public_cacheable_and_answers_304_to_its_etag(client, as_role):
    anonymous = client.get(URL)
    assert anonymous.headers["Cache-Control"].startswith("public")
    again = client.get(URL, headers={"If-None-Match": anonymous.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["ETag"] == anonymous.headers["ETag"]
    # Any key reads it too; with a key the answer is not for shared caches.
    for role in ("admin", "procurement", "customer_a"):
        keyed = client.get(URL, headers=as_role(role))
        assert keyed.status_code == 200, role
        assert keyed.get_json() == anonymous.get_json()
        assert "public" not in keyed.headers.get("Cache-Control", "")
    assert client.get(URL, headers=bearer("nope")).status_code == 401


def test_the_list_takes_no_query_parameters(client):
    response = client.get(URL, query_string={"as_of": "2025-07-17"})
    assert response.status_code == 422


def test_the_decision_names_its_organisation(client):
    items = client.get("/v1/adequacy-decisions").get_json()["items"]
    (epo,) = [item for item in items if item["id"] == "epo-2025"]
    assert epo["territory"] is None
    assert epo["international_organisation"] == "epo"
    us = next(item for item in items if item["id"] == "us-dpf-2023")
    assert us["international_organisation"] is None


def test_the_organisations_file_is_part_of_the_law_version():
    assert ORGANISATIONS_FILE in LAW_FILES
    law = load_law()
    assert [o.id for o in law.organisations] == ["epo", "wipo"]
    assert [d.id for d in law.decisions_for("epo")] == ["epo-2025"]


# Strict loading


def copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    target.mkdir()
    for name in LAW_FILES:
        shutil.copyfile(DEFAULT_DATA_DIR / name, target / name)
    return target


def rewrite(path: Path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def _epo_row(document: dict) -> dict:
    return next(d for d in document["decisions"] if d["id"] == "epo-2025")


def _epo_pointer(data: Path, field: str) -> str:
    rows = json.loads((data / DECISIONS_FILE).read_text())["decisions"]
    index = next(i for i, d in enumerate(rows) if d["id"] == "epo-2025")
    return f"/decisions/{index}/{field}"


@pytest.mark.parametrize(
    ("change", "field", "detail"),
    [
        (
            lambda row: row.update(international_organisation="unesco"),
            "international_organisation",
            "not an id",
        ),
        (lambda row: row.update(territory="DE"), "international_organisation", "not both"),
        (
            lambda row: row.pop("international_organisation"),
            "territory",
            "international_organisation id",
        ),
    ],
)
def test_a_decision_covers_a_known_organisation_or_a_country(tmp_path, change, field, detail):
    data = copy_data(tmp_path)
    rewrite(data / DECISIONS_FILE, lambda document: change(_epo_row(document)))
    with pytest.raises(LawDataError) as caught:
        load_law(data)
    assert caught.value.file == DECISIONS_FILE
    assert caught.value.pointer == _epo_pointer(data, field)
    assert detail in caught.value.detail


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda rows: rows[1].update(id="epo"), "/organisations/1/id"),
        (lambda rows: rows[0].update(id="EP"), "/organisations/0/id"),
        (lambda rows: rows[0].update(sources=[]), "/organisations/0/sources"),
        (lambda rows: rows[1].pop("notes"), "/organisations/1/notes"),
        (lambda rows: rows[0].update(seat="DE"), "/organisations/0/seat"),
    ],
)
def test_the_organisations_file_is_loaded_strictly(tmp_path, change, pointer):
    data = copy_data(tmp_path)
    rewrite(data / ORGANISATIONS_FILE, lambda document: change(document["organisations"]))
    with pytest.raises(LawDataError) as caught:
        load_law(data)
    assert caught.value.file == ORGANISATIONS_FILE
    assert caught.value.pointer == pointer
