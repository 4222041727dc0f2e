"""Malware scanning of uploads: the clamd protocol against a fake daemon, and every door.

The fake speaks clamd's socket protocol on a unix socket in the test's folder; what it
answers is the test's. The real ClamAV daemon is tests/documents/test_scan_server.py's.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import threading
from pathlib import Path

import pytest
from helpers import cli_runner, nimbus, problem
from test_documents import (
    audit_entries,
    blob_files,
    download,
    form,
    pdf,
    post_upload,
    rows,
    temporaries,
    upload,
)

from registry.customer_projection import projection
from registry.documents import scanner, service
from registry.documents.scanner import CHUNK, Clamd, ScannerUnavailable
from registry.settings import Settings, SettingsError, parse_clamd

SIGNATURE = "Win.Test.EICAR_HDB-1"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
VERSION = "ClamAV 1.4.6/27500/Sat Dec  5 09:17:01 2026"


class FakeClamd:
    """A clamd on a unix socket: VERSION answers `version`; INSTREAM reassembles the chunks
    (kept in `streams`, their sizes in `chunks`) and answers `verdict(content)`. A verdict of
    None closes without answering; "hang" answers nothing and keeps the connection."""

    def __init__(self, directory: Path):
        self.path = str(directory / "clamd.sock")
        self.version = VERSION
        self.infected: dict[bytes, str] = {EICAR: SIGNATURE}
        self.verdict = self._by_content
        self.streams: list[bytes] = []
        self.chunks: list[list[int]] = []
        self.commands: list[bytes] = []
        self.max_stream: int | None = None
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(self.path)
        self.listener.listen(16)
        self.hung: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _by_content(self, content: bytes) -> str:
        found = self.infected.get(content)
        return f"stream: {found} FOUND" if found else "stream: OK"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                self._answer(conn)

    def _read(self, conn: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            part = conn.recv(size - len(data))
            if not part:
                raise EOFError
            data += part
        return data

    def _answer(self, conn: socket.socket) -> None:
        command = b""
        while not command.endswith(b"\0"):
            command += self._read(conn, 1)
        self.commands.append(command)
        if command == b"zVERSION\0":
            conn.sendall(self.version.encode() + b"\0")
            return
        assert command == b"zINSTREAM\0", command
        content, sizes = b"", []
        while size := int.from_bytes(self._read(conn, 4), "big"):
            sizes.append(size)
            content += self._read(conn, size)
            if self.max_stream is not None and len(content) > self.max_stream:
                conn.sendall(b"INSTREAM size limit exceeded. ERROR\0")
                return
        self.streams.append(content)
        self.chunks.append(sizes)
        reply = self.verdict(content)
        if reply == "hang":
            self.hung.append(conn.dup())
        elif reply is not None:
            conn.sendall(reply.encode() + b"\0")

    def close(self) -> None:
        self.listener.close()
        for conn in self.hung:
            conn.close()


@pytest.fixture
def fake(tmp_path):
    daemon = FakeClamd(tmp_path)
    yield daemon
    daemon.close()


@pytest.fixture
def scanned(app_with, fake):
    """An app scanning with the fake daemon (2 s timeout): its client and registry."""
    app = app_with(clamd=fake.path, clamd_timeout=2.0)
    return app, app.test_client(), app.extensions["registry"]


def root_of(registry) -> Path:
    return Path(registry.documents_dir)


# The protocol


def test_instream_sends_the_content_in_length_prefixed_chunks_then_a_zero_length_one(fake):
    content = bytes(range(256)) * (CHUNK // 256 * 2 + 7)  # two full chunks and a part
    assert Clamd(fake.path, 5).instream(io.BytesIO(content)) is None
    assert fake.streams == [content]
    assert fake.chunks == [[CHUNK, CHUNK, len(content) - 2 * CHUNK]]


def test_a_found_signature_is_named(fake):
    assert Clamd(fake.path, 5).instream(io.BytesIO(EICAR)) == SIGNATURE


@pytest.mark.parametrize(
    "reply",
    [
        "INSTREAM size limit exceeded. ERROR",
        "stream: Can't allocate memory ERROR",
        "stream: FOUND",
        "stream: OKAY",
        "UNKNOWN COMMAND",
        None,  # closed without an answer
        "hang",  # no answer within the timeout
    ],
)
def test_any_answer_but_ok_or_found_is_an_error_never_clean(fake, reply):
    fake.verdict = lambda content: reply
    with pytest.raises(ScannerUnavailable) as raised:
        Clamd(fake.path, 0.5).instream(io.BytesIO(pdf()))
    assert raised.value.status == 503
    if reply and reply != "hang":
        assert reply in raised.value.detail


def test_a_stream_over_clamds_limit_is_an_error(fake):
    fake.max_stream = CHUNK
    with pytest.raises(ScannerUnavailable, match="size limit exceeded"):
        Clamd(fake.path, 5).instream(io.BytesIO(bytes(3 * CHUNK)))


def test_version_gives_the_engine_and_the_signatures(fake):
    assert Clamd(fake.path, 5).version() == {
        "scan_engine": "ClamAV 1.4.6",
        "scan_signatures": "27500/Sat Dec  5 09:17:01 2026",
    }
    fake.version = "ClamAV 1.4.6"  # a database without a daily.cvd (the tests' own)
    assert Clamd(fake.path, 5).version()["scan_signatures"] is None
    fake.version = "PONG"
    with pytest.raises(ScannerUnavailable, match="VERSION"):
        Clamd(fake.path, 5).version()


def test_no_daemon_at_the_address_is_an_error(tmp_path):
    with pytest.raises(ScannerUnavailable, match="cannot connect"):
        Clamd(str(tmp_path / "none.sock"), 1).version()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ScannerUnavailable, match=f"127.0.0.1:{port}"):
        Clamd(("127.0.0.1", port), 1).version()


# The settings


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("/run/clamav/clamd.ctl", "/run/clamav/clamd.ctl"),
        ("127.0.0.1:3310", ("127.0.0.1", 3310)),
        ("clamav.internal:3310", ("clamav.internal", 3310)),
        ("[::1]:3310", ("::1", 3310)),
    ],
)
def test_clamd_is_a_socket_path_or_host_and_port(value, address):
    assert parse_clamd(value) == address
    assert Settings.from_environment({"REGISTRY_CLAMD": value}).clamd_address == address


@pytest.mark.parametrize(
    "value",
    ["clamd.ctl", "localhost", "localhost:", ":3310", "host:0", "host:65536", "a b:1", "h:x"],
)
def test_other_clamd_values_stop_the_command(value):
    with pytest.raises(SettingsError, match="REGISTRY_CLAMD"):
        Settings.from_environment({"REGISTRY_CLAMD": value})


@pytest.mark.parametrize("value", ["0", "-1", "3601", "x"])
def test_the_clamd_timeout_is_checked(value):
    with pytest.raises(SettingsError, match="REGISTRY_CLAMD_TIMEOUT"):
        Settings.from_environment({"REGISTRY_CLAMD_TIMEOUT": value})


def test_by_default_nothing_is_scanned():
    settings = Settings()
    assert settings.clamd is None and settings.clamd_address is None
    assert scanner.scanner(settings) is None


# Uploads through the API


def test_a_clean_upload_records_its_scan_and_downloads_byte_for_byte(scanned, staff, fake):
    _, client, _ = scanned
    content = pdf("clean")
    response = upload(client, staff, content)
    assert response.status_code == 201, response.get_data(as_text=True)
    document = response.get_json()
    assert fake.streams == [content]
    assert document["scan"] == "clean"
    assert document["scan_engine"] == "ClamAV 1.4.6"
    assert document["scan_signatures"] == "27500/Sat Dec  5 09:17:01 2026"
    assert document["scanned_at"].endswith("Z")
    read = client.get(f"/v1/documents/{document['id']}", headers=staff).get_json()
    assert read["scan"] == "clean" and read["scanned_at"] == document["scanned_at"]
    response, body = download(client, document["content_url"], staff)
    assert response.status_code == 200 and body == content


def test_an_infected_upload_is_422_naming_the_signature_and_leaves_nothing(scanned, staff, fake):
    _, client, registry = scanned
    body = problem(upload(client, staff, EICAR), 422)
    (error,) = body["errors"]
    assert error["pointer"] == "/file"
    assert error["signature"] == SIGNATURE and SIGNATURE in error["detail"]
    assert rows(registry, "documents") == 0
    assert blob_files(root_of(registry)) == [] and temporaries(root_of(registry)) == []
    assert audit_entries(registry, "document.upload") == []
    (refused,) = audit_entries(registry, "document.refuse")
    assert refused["change"]["signature"] == SIGNATURE
    assert refused["change"]["sha256"] == hashlib.sha256(EICAR).hexdigest()
    assert refused["change"]["scan_engine"] == "ClamAV 1.4.6"


def test_an_infected_copy_of_content_already_stored_is_refused_too(scanned, staff, fake):
    """Content-addressed storage does not skip the scan: the stored file stays as it was."""
    _, client, registry = scanned
    assert upload(client, staff, EICAR.replace(b"X5O", b"Y5O")).status_code == 201
    fake.infected[EICAR.replace(b"X5O", b"Y5O")] = "Later.Signature"
    problem(upload(client, staff, EICAR.replace(b"X5O", b"Y5O")), 422)
    assert rows(registry, "documents") == 1
    assert temporaries(root_of(registry)) == []


@pytest.mark.parametrize("reply", [None, "hang", "INSTREAM size limit exceeded. ERROR"])
def test_a_scanner_that_cannot_answer_is_503_and_leaves_nothing(scanned, staff, fake, reply):
    _, client, registry = scanned
    fake.verdict = lambda content: reply
    body = problem(upload(client, staff, pdf("unscanned")), 503)
    assert fake.path in body["detail"] and "Nothing was stored" in body["detail"]
    assert [e["pointer"] for e in body["errors"]] == ["/file"]
    assert rows(registry, "documents") == 0
    assert blob_files(root_of(registry)) == [] and temporaries(root_of(registry)) == []


def test_a_scanner_configured_but_not_running_is_503(app_with, staff, tmp_path):
    app = app_with(clamd=str(tmp_path / "gone.sock"), clamd_timeout=1.0)
    registry = app.extensions["registry"]
    problem(upload(app.test_client(), staff, pdf()), 503)
    assert rows(registry, "documents") == 0 and blob_files(root_of(registry)) == []


def test_without_a_scanner_copies_are_stored_marked_not_scanned(client, staff, registry):
    response = upload(client, staff, EICAR)
    assert response.status_code == 201
    document = response.get_json()
    assert document["scan"] == "not_scanned"
    assert document["scan_engine"] is None and document["scanned_at"] is None


def test_a_superseding_copy_is_scanned_and_an_infected_one_withdraws_nothing(
    scanned, staff, fake, as_role
):
    _, client, _ = scanned
    created = client.post("/v1/subprocessors", json=nimbus(), headers=as_role("admin"))
    sid = created.get_json()["id"]
    old = upload(client, staff, pdf("old"), subprocessor_id=sid, country="IN").get_json()
    problem(
        upload(client, staff, EICAR, subprocessor_id=sid, country="IN", supersedes=old["id"]), 422
    )
    assert (
        client.get(f"/v1/documents/{old['id']}", headers=staff).get_json()["withdrawn_at"] is None
    )
    new = upload(client, staff, pdf("new"), subprocessor_id=sid, country="IN", supersedes=old["id"])
    assert new.status_code == 201 and new.get_json()["scan"] == "clean"
    assert len(fake.streams) == 3


def test_customers_do_not_see_the_scan(scanned, staff, fake, as_role):
    """The customer projection's allow-list leaves the scan out (staff only)."""
    _, client, _ = scanned

    document = upload(client, staff, pdf()).get_json()
    view = projection.document({**document})
    assert not {"scan", "scan_engine", "scan_signatures", "scanned_at"} & set(view)


# The command line


def test_documents_add_goes_through_the_same_scan(scanned, fake, tmp_path):
    app, _, registry = scanned
    infected = tmp_path / "eicar.txt"
    infected.write_bytes(EICAR)
    args = ["documents", "add", str(infected), "--kind", "scc", "--audience", "internal"]
    result = cli_runner(app).invoke(args=args)
    assert result.exit_code == 1 and SIGNATURE in result.output and "/file" in result.output
    assert rows(registry, "documents") == 0
    assert audit_entries(registry, "document.refuse")[0]["actor"]["name"] == (
        "registry documents add"
    )
    fake.verdict = lambda content: None
    clean = tmp_path / "copy.pdf"
    clean.write_bytes(pdf())
    result = cli_runner(app).invoke(args=[*args[:2], str(clean), *args[3:]])
    assert result.exit_code == 1 and "unavailable" in result.output
    assert rows(registry, "documents") == 0


def test_check_notes_every_copy_on_file_not_scanned(app, client, staff):
    first = upload(client, staff, pdf("one")).get_json()
    second = upload(client, staff, pdf("two"), title="Second copy").get_json()
    withdrawn = upload(client, staff, pdf("three")).get_json()

    service.withdraw(
        app.extensions["registry"], withdrawn["id"], "test", {"name": "t"}, lambda d: None
    )
    result = cli_runner(app).invoke(args=["check"])
    notes = [line for line in result.output.splitlines() if "DOCUMENT_NOT_SCANNED" in line]
    assert len(notes) == 2
    assert first["id"] in notes[0] and second["id"] in notes[1] and "Second copy" in notes[1]
    report = json.loads(cli_runner(app).invoke(args=["check", "--json"]).output)
    assert [copy["id"] for copy in report["not_scanned"]] == [first["id"], second["id"]]
    assert report["not_scanned"][1]["title"] == "Second copy"


def test_rescan_withdraws_copies_now_found_infected(scanned, staff, fake, as_role):
    app, client, registry = scanned
    created = client.post("/v1/subprocessors", json=nimbus(), headers=as_role("admin"))
    sid = created.get_json()["id"]
    bad = pdf("later found bad")
    kept = upload(client, staff, pdf("fine"), subprocessor_id=sid).get_json()
    first = upload(client, staff, bad, subprocessor_id=sid, country="IN").get_json()
    second = upload(client, staff, bad, title="Same content").get_json()
    fake.infected[bad] = "Pdf.Exploit.Test"
    fake.version = "ClamAV 1.4.6/27501/Sun Dec  6 09:17:01 2026"
    fake.streams.clear()

    result = cli_runner(app).invoke(args=["documents", "rescan"])
    assert result.exit_code == 1, result.output
    assert len(fake.streams) == 2  # each stored file once
    assert f"withdrawn {first['id']}" in result.output and "Pdf.Exploit.Test" in result.output
    assert (
        "2 files" in result.output and "1 clean, 1 infected (2 copies withdrawn)" in result.output
    )
    for document in (first, second):
        read = client.get(f"/v1/documents/{document['id']}", headers=staff).get_json()
        assert read["withdrawn_at"] is not None and read["scan"] == "infected"
        assert "Pdf.Exploit.Test" in read["withdrawn_reason"]
        assert read["scan_signatures"].startswith("27501/")
    read = client.get(f"/v1/documents/{kept['id']}", headers=staff).get_json()
    assert read["withdrawn_at"] is None and read["scan"] == "clean"
    assert read["scan_signatures"].startswith("27501/")
    withdrawals = audit_entries(registry, "document.withdraw")
    assert {e["object_id"] for e in withdrawals} == {first["id"], second["id"]}
    assert all(e["actor"]["name"] == "registry documents rescan" for e in withdrawals)

    # Nothing new: exit 0, nothing withdrawn again.
    del fake.infected[bad]
    result = cli_runner(app).invoke(args=["documents", "rescan"])
    assert result.exit_code == 0 and "0 copies withdrawn" in result.output


def test_rescan_needs_a_scanner_and_stops_when_it_fails(app, scanned, staff, fake):
    result = cli_runner(app).invoke(args=["documents", "rescan"])
    assert result.exit_code == 2 and "REGISTRY_CLAMD" in result.output
    scanned_app, client, _ = scanned
    upload(client, staff, pdf())
    fake.verdict = lambda content: None
    result = cli_runner(scanned_app).invoke(args=["documents", "rescan"])
    assert result.exit_code == 2 and "unavailable" in result.output


def test_an_upload_form_is_read_before_the_scan(scanned, staff, fake):
    """A form refused for its fields costs no scan."""
    _, client, _ = scanned
    data = form(pdf(), kind="nonsense")
    problem(post_upload(client, staff, data), 422)
    assert fake.streams == []
