"""Strict input handling: stray parameters, control characters, no-op updates, CLI dates."""

from __future__ import annotations

import pytest
from helpers import cli_runner, nimbus

from registry.bootstrap import initialise


@pytest.mark.parametrize(
    "path",
    ["/v1/health", "/v1/countries", "/v1/countries/NL"],
)
def test_public_operations_without_parameters_reject_stray_ones(client, path):
    response = client.get(path, query_string={"as_of": "2019-01-01"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"pointer": "/as_of", "detail": "Unknown field.", "location": "query"}
    ]


def test_reading_a_subprocessor_rejects_stray_parameters(client, as_role):
    created = client.post("/v1/subprocessors", json=nimbus(), headers=as_role("procurement"))
    response = client.get(
        created.headers["Location"], query_string={"as_of": "2020-01-01"}, headers=as_role("admin")
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Nimbus\x00Hosting"),
        ("name", "Nimbus\nHosting"),
        ("legal_entity", "Nimbus\tInc."),
        ("purpose", "Hosting\x07"),
    ],
)
def test_control_characters_are_rejected_with_a_pointer(client, as_role, field, value):
    response = client.post(
        "/v1/subprocessors", json=nimbus(**{field: value}), headers=as_role("procurement")
    )
    assert response.status_code == 422
    assert [e["pointer"] for e in response.get_json()["errors"]] == [f"/{field}"]


def test_a_purpose_may_span_lines(client, as_role):
    response = client.post(
        "/v1/subprocessors",
        json=nimbus(purpose="Hosting.\nBackups in the EEA."),
        headers=as_role("procurement"),
    )
    assert response.status_code == 201


def test_an_empty_patch_changes_nothing(client, as_role):
    created = client.post("/v1/subprocessors", json=nimbus(), headers=as_role("procurement"))
    revision = client.get("/v1/health").get_json()["revision"]
    response = client.patch(
        created.headers["Location"],
        json={},
        headers=as_role("procurement", **{"If-Match": created.headers["ETag"]}),
    )
    assert response.status_code == 200
    assert response.get_json()["version"] == created.get_json()["version"]
    assert response.headers["ETag"] == created.headers["ETag"]
    assert client.get("/v1/health").get_json()["revision"] == revision


def test_an_empty_patch_still_needs_the_current_etag(client, as_role):
    created = client.post("/v1/subprocessors", json=nimbus(), headers=as_role("procurement"))
    response = client.patch(
        created.headers["Location"], json={}, headers=as_role("procurement", **{"If-Match": '"x"'})
    )
    assert response.status_code == 412


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_write_without_a_body_is_422_not_a_no_op(client, as_role, method):
    created = client.post("/v1/subprocessors", json=nimbus(), headers=as_role("procurement"))
    url = created.headers["Location"] if method == "patch" else "/v1/subprocessors"
    headers = as_role("procurement", **{"If-Match": created.headers["ETag"]})
    response = getattr(client, method)(url, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"pointer": "", "detail": "A JSON body is required."}]
    assert client.get(created.headers["Location"], headers=headers).get_json()["version"] == 1


def test_415_names_the_missing_content_type(client, as_role):
    response = client.post(
        "/v1/subprocessors", data=b"name=x", headers=as_role("procurement", **{"Content-Type": ""})
    )
    assert response.status_code == 415
    assert "nothing" not in response.get_json()["detail"]


@pytest.mark.parametrize("value", ["20220101", "2022-W01-1", "2022-13-01"])
def test_check_accepts_only_calendar_dates(runner, value):
    result = runner.invoke(args=["check", "--as-of", value])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


@pytest.mark.parametrize("command", [["keys", "list"], ["keys", "revoke", "key_0000000000000000"]])
def test_key_commands_work_before_the_first_init(uninitialised_app, command):
    # On a file that exists (init has not run): migrated, never created (test_cli_database).
    open(uninitialised_app.extensions["registry"].settings.database, "wb").close()
    result = cli_runner(uninitialised_app).invoke(args=command)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    if command[1] == "revoke":
        assert result.exit_code == 1
        assert "no active key" in result.output
    else:
        assert result.exit_code == 0


def test_a_multipart_field_given_twice_is_422(client, as_role):
    import io

    response = client.post(
        "/v1/documents",
        data={
            "file": (io.BytesIO(b"%PDF-1.4 x"), "a.pdf"),
            "kind": ["scc", "dpa"],
            "title": "Twice",
            "audience": "internal",
        },
        headers=as_role("procurement"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"pointer": "/kind", "detail": "Give this field once."}
    ]


def test_unreferenced_and_unfinished_files_are_swept_after_an_hour(registry, tmp_path):
    import os
    import time

    from registry.documents.blobs import BlobStore

    blobs = BlobStore(registry.documents_dir)
    orphan = blobs.path("ab" * 32)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"orphan")
    fresh = blobs.path("cd" * 32)
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(b"fresh")
    temp = blobs.root / ".upload-old"
    temp.write_bytes(b"half")
    hour_ago = time.time() - 3700
    for path in (orphan, temp):
        os.utime(path, (hour_ago, hour_ago))
    outcome = initialise(registry)
    assert outcome["temporaries_swept"] == 2
    assert not orphan.exists() and not temp.exists()
    assert fresh.exists()
