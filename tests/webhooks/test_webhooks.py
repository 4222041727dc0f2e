"""Webhooks: signing, refused targets, one POST, the endpoints API, and the worker's rules."""

from __future__ import annotations

import base64
import http.server
import json
import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from helpers import PROBLEM, loopback_server, nimbus

from registry import clock as registry_clock
from registry.audit import store as audit_store
from registry.audit.chain import verify as verify_chain
from registry.db.store import Database
from registry.settings import Settings
from registry.webhooks import outbound as webhooks
from registry.webhooks.worker import Worker

URL = "/v1/webhooks"
PUBLIC_URL = "https://93.184.215.14/hooks/registry"  # a public address: no lookup, no connection

# The Standard Webhooks reference vector (spec and reference libraries).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def vector_headers(**overrides) -> dict:
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    headers.update(overrides)
    return headers


# --- signing and verification ----------------------------------------------------------------


def test_signature_reproduces_the_specification_vector():
    assert webhooks.sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == (
        VECTOR_SIGNATURE
    )
    # The whsec_ prefix is optional, as in the reference libraries.
    bare = VECTOR_SECRET.removeprefix("whsec_")
    assert webhooks.sign(bare, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_verification_accepts_the_vector_and_returns_its_id():
    found = webhooks.verify(VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP + 10)
    assert found == VECTOR_ID
    # Header names are case-insensitive; any one of several signatures may match.
    mixed = {
        "Webhook-Id": VECTOR_ID,
        "WEBHOOK-TIMESTAMP": str(VECTOR_TIMESTAMP),
        "webhook-signature": f"v1,bm9wZQ== {VECTOR_SIGNATURE}",
    }
    assert webhooks.verify(VECTOR_SECRET, mixed, VECTOR_BODY, now=VECTOR_TIMESTAMP) == VECTOR_ID


@pytest.mark.parametrize(
    ("headers", "body", "now", "reason"),
    [
        (vector_headers(), b'{"test": 2432232315}', VECTOR_TIMESTAMP, "no signature matches"),
        (vector_headers(**{"webhook-id": "msg_other"}), VECTOR_BODY, VECTOR_TIMESTAMP, "no sig"),
        (
            vector_headers(**{"webhook-timestamp": str(VECTOR_TIMESTAMP + 1)}),
            VECTOR_BODY,
            VECTOR_TIMESTAMP,
            "no signature matches",
        ),
        (vector_headers(), VECTOR_BODY, VECTOR_TIMESTAMP + 301, "outside the tolerance"),
        (vector_headers(), VECTOR_BODY, VECTOR_TIMESTAMP - 301, "outside the tolerance"),
        (
            vector_headers(**{"webhook-signature": "v1a," + VECTOR_SIGNATURE[3:]}),
            VECTOR_BODY,
            VECTOR_TIMESTAMP,
            "no signature matches",
        ),
        (
            vector_headers(**{"webhook-timestamp": "1614265330.5"}),
            VECTOR_BODY,
            VECTOR_TIMESTAMP,
            "whole number",
        ),
        (
            {"webhook-id": VECTOR_ID, "webhook-signature": VECTOR_SIGNATURE},
            VECTOR_BODY,
            VECTOR_TIMESTAMP,
            "missing header webhook-timestamp",
        ),
    ],
    ids=[
        "body changed",
        "id changed",
        "timestamp changed",
        "too late",
        "too early",
        "other scheme",
        "fractional timestamp",
        "missing timestamp",
    ],
)
def test_verification_refuses_what_was_not_signed(headers, body, now, reason):
    with pytest.raises(webhooks.VerificationError, match=reason.split()[0]):
        webhooks.verify(VECTOR_SECRET, headers, body, now=now)


def test_verification_refuses_another_secret():
    with pytest.raises(webhooks.VerificationError):
        webhooks.verify(webhooks.new_secret(), vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_new_secrets_follow_the_format_and_differ():
    first, second = webhooks.new_secret(), webhooks.new_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) >= 24


def test_event_body_is_the_change_with_its_id_and_cursor():
    change = {
        "seq": 42,
        "cursor": "AU0JbcTPXIA_hsZAiVFPLY8",
        "id": "chg_0123456789abcdef",
        "at": "2026-11-24T10:00:00Z",
        "type": "subprocessor.announced",
        "data": {"subprocessor": {"id": "sp_1", "name": "Nimbus"}, "effective_on": "2026-12-24"},
    }
    body = webhooks.event_body(change)
    assert body == webhooks.event_body(change), "every retry must carry the same bytes"
    assert json.loads(body) == {
        "type": "subprocessor.announced",
        "timestamp": "2026-11-24T10:00:00Z",
        "data": {
            "subprocessor": {"id": "sp_1", "name": "Nimbus"},
            "effective_on": "2026-12-24",
            "change_id": "chg_0123456789abcdef",
            "cursor": "AU0JbcTPXIA_hsZAiVFPLY8",
        },
    }


# --- back-off ----------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap():
    schedule = [webhooks.backoff(n, base=5, cap=3600, jitter=0) for n in range(1, 13)]
    assert schedule == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
    assert webhooks.backoff(10_000, base=5, cap=3600, jitter=0) == 3600


@pytest.mark.parametrize("failures", [1, 4, 30])
def test_backoff_jitter_takes_at_most_a_fifth_off(failures):
    plain = webhooks.backoff(failures, base=5, cap=3600, jitter=0)
    assert webhooks.backoff(failures, base=5, cap=3600, jitter=1) == pytest.approx(plain * 0.8)
    assert plain * 0.8 <= webhooks.backoff(failures, base=5, cap=3600, jitter=0.5) <= plain


# --- refused targets -------------------------------------------------------------------------

REFUSED = {
    "loopback": "https://127.0.0.1/hook",
    "loopback, short form": "https://127.1/hook",
    "loopback as a number": "https://2130706433/hook",
    "private 10/8": "https://10.1.2.3/hook",
    "private 192.168/16": "https://192.168.0.10/hook",
    "cloud metadata": "https://169.254.169.254/latest/meta-data",
    "carrier-grade NAT": "https://100.64.0.1/hook",
    "unspecified": "https://0.0.0.0/hook",
    "multicast": "https://224.0.0.1/hook",
    "reserved": "https://240.0.0.1/hook",
    "IPv6 loopback": "https://[::1]/hook",
    "IPv6 unique local": "https://[fd00::1]/hook",
    "IPv6 link-local": "https://[fe80::1]/hook",
    "IPv4-mapped loopback": "https://[::ffff:127.0.0.1]/hook",
    "6to4 of a private address": "https://[2002:a00:1::1]/hook",
    "NAT64 of loopback": "https://[64:ff9b::7f00:1]/hook",
    "localhost": "https://localhost/hook",
    "plain http": "http://93.184.215.14/hook",
    "credentials": "https://user:secret@93.184.215.14/hook",
    "user only": "https://user@93.184.215.14/hook",
    "another scheme": "ftp://93.184.215.14/hook",
    "fragment": "https://93.184.215.14/hook#part",
    "port zero": "https://93.184.215.14:0/hook",
    "port out of range": "https://93.184.215.14:70000/hook",
    "no host": "https:///hook",
    "space": "https://93.184.215.14/a hook",
    "not ASCII": "https://exämple.com/hook",
    "bad DNS name": "https://-bad-.example/hook",
    "does not resolve": "https://registry-webhook-test.invalid/hook",
}


@pytest.mark.parametrize("url", REFUSED.values(), ids=REFUSED.keys())
def test_unsafe_targets_are_refused(url):
    with pytest.raises(webhooks.UnsafeTarget):
        webhooks.resolve(url, allow_private=False)


def test_a_public_address_is_accepted_as_is():
    target = webhooks.resolve(
        "https://93.184.215.14:8443/hooks?x=1", allow_private=False, ports=frozenset({8443})
    )
    assert target == webhooks.Target(
        "https", "93.184.215.14", 8443, "/hooks?x=1", ("93.184.215.14",)
    )


@pytest.mark.parametrize(
    ("url", "ports", "refused"),
    [
        ("https://93.184.215.14/x", frozenset(), False),
        ("https://93.184.215.14:443/x", frozenset(), False),
        ("https://93.184.215.14:22/x", frozenset(), True),
        ("https://93.184.215.14:8443/x", frozenset(), True),
        ("https://93.184.215.14:8443/x", frozenset({8443}), False),
        ("https://93.184.215.14:80/x", frozenset(), True),
    ],
)
def test_only_the_standard_port_unless_allowed(url, ports, refused):
    if refused:
        with pytest.raises(webhooks.UnsafeTarget, match="port"):
            webhooks.resolve(url, allow_private=False, ports=ports)
    else:
        assert webhooks.resolve(url, allow_private=False, ports=ports).addresses


def test_a_port_is_refused_at_registration_with_its_pointer(client, as_role, app_with):
    response = create(client, as_role, url="https://93.184.215.14:22/hooks")
    assert response.status_code == 422
    (error,) = response.get_json()["errors"]
    assert error["pointer"] == "/url" and "port 22" in error["detail"]
    allowed = app_with(webhook_ports="2222").test_client()
    tokens_headers = as_role("customer_a")
    assert (
        allowed.post(
            "/v1/webhooks", json={"url": "https://93.184.215.14:2222/hooks"}, headers=tokens_headers
        ).status_code
        == 201
    )


def test_the_ports_setting_is_checked():
    from registry.settings import Settings, SettingsError

    assert Settings(webhook_ports=" 8443, 9443 ").webhook_port_set == frozenset({8443, 9443})
    for bad in ("22a", "0", "70000", "-1"):
        with pytest.raises(SettingsError, match="REGISTRY_WEBHOOK_PORTS"):
            Settings(webhook_ports=bad)


def fake_dns(*addresses: str):
    def getaddrinfo(host, port, type=0):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return getaddrinfo


def test_a_name_is_refused_when_any_of_its_addresses_is_private():
    public = fake_dns("93.184.215.14")
    assert webhooks.resolve(
        "https://hooks.example.com/x", allow_private=False, getaddrinfo=public
    ).addresses == ("93.184.215.14",)
    mixed = fake_dns("93.184.215.14", "10.0.0.7")
    with pytest.raises(webhooks.UnsafeTarget, match=r"10\.0\.0\.7"):
        webhooks.resolve("https://hooks.example.com/x", allow_private=False, getaddrinfo=mixed)


def test_a_lookup_that_hangs_is_refused_in_time():
    def slow(host, port, type=0):
        time.sleep(2)
        return []

    started = time.monotonic()
    with pytest.raises(webhooks.UnsafeTarget, match="did not resolve within"):
        webhooks.resolve(
            "https://hooks.example.com/x", allow_private=False, timeout=0.2, getaddrinfo=slow
        )
    assert time.monotonic() - started < 1.5


def test_allow_private_admits_loopback_and_http_but_never_unspecified_or_multicast():
    target = webhooks.resolve("http://localhost:8080/x", allow_private=True)
    assert target.scheme == "http" and "127.0.0.1" in target.addresses
    assert webhooks.resolve("https://10.0.0.1/x", allow_private=True).addresses == ("10.0.0.1",)
    for url in ("http://0.0.0.0/x", "http://224.0.0.1/x", "http://[::]/x"):
        with pytest.raises(webhooks.UnsafeTarget):
            webhooks.resolve(url, allow_private=True)


# --- one POST, against a real local server -----------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server.seen.append((self.path, dict(self.headers), body))
        action = server.actions.get(self.path, "ok")
        if action == "redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif action == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(30):
                time.sleep(0.1)
                try:
                    self.wfile.write(b".")
                    self.wfile.flush()
                except OSError:
                    return
        elif action == "stall":
            time.sleep(2)
        elif action == "big":
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1024 * 1024))
            self.end_headers()
            try:
                self.wfile.write(b"x" * 10 * 1024 * 1024)
            except OSError:
                return
        elif action == "busy":
            self.send_response(503)
            self.send_header("Retry-After", "120")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(204)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    with loopback_server(_Handler, seen=[], actions={}) as server:
        yield server


def local_target(server, path: str, host: str = "127.0.0.1") -> webhooks.Target:
    return webhooks.Target("http", host, server.server_address[1], path, ("127.0.0.1",))


def test_post_connects_to_the_checked_address_and_names_the_host(local_server):
    # A name that resolves nowhere: the client must use the address it was given.
    target = local_target(local_server, "/ok", host="hooks.registry-test.invalid")
    outcome = webhooks.post(target, b"{}", {"webhook-id": "msg_1"})
    assert outcome.delivered and outcome.status_code == 204
    _path, headers, body = local_server.seen[0]
    assert headers["Host"] == f"hooks.registry-test.invalid:{local_server.server_address[1]}"
    assert headers["webhook-id"] == "msg_1" and headers["Content-Type"] == "application/json"
    assert body == b"{}"


def _certificate(directory, host: str) -> tuple[str, str]:
    """A self-signed certificate for `host` and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(tz=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{host}.pem", directory / f"{host}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_server(local_server, tmp_path):
    """local_server behind TLS with a certificate for HOOK_HOST (the names sent as SNI kept),
    and a client context trusting that certificate."""
    cert, key = _certificate(tmp_path, HOOK_HOST)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    local_server.sni = []
    server_context.sni_callback = lambda _sock, name, _ctx: local_server.sni.append(name)
    local_server.socket = server_context.wrap_socket(local_server.socket, server_side=True)
    local_server.client_context = ssl.create_default_context(cafile=cert)
    return local_server


HOOK_HOST = "hooks.registry-test.invalid"


def test_https_goes_to_the_checked_address_and_verifies_the_urls_host(tls_server, monkeypatch):
    monkeypatch.setattr(webhooks.ssl, "create_default_context", lambda: tls_server.client_context)
    port = tls_server.server_address[1]
    target = webhooks.Target("https", HOOK_HOST, port, "/ok", ("127.0.0.1",))
    outcome = webhooks.post(target, b"{}", {"webhook-id": "msg_1"})
    assert outcome.delivered and outcome.status_code == 204
    assert tls_server.sni == [HOOK_HOST]  # the certificate is asked for the URL's host
    assert tls_server.seen[0][1]["Host"] == f"{HOOK_HOST}:{port}"


def test_https_refuses_a_certificate_for_another_host(tls_server, monkeypatch):
    monkeypatch.setattr(webhooks.ssl, "create_default_context", lambda: tls_server.client_context)
    port = tls_server.server_address[1]
    target = webhooks.Target("https", "other.registry-test.invalid", port, "/ok", ("127.0.0.1",))
    outcome = webhooks.post(target, b"{}", {})
    assert not outcome.delivered and outcome.status_code is None
    assert "TLS certificate not accepted" in outcome.error and "mismatch" in outcome.error
    assert tls_server.seen == []


def test_https_refuses_a_certificate_no_authority_vouches_for(tls_server):
    target = webhooks.Target(
        "https", HOOK_HOST, tls_server.server_address[1], "/ok", ("127.0.0.1",)
    )
    outcome = webhooks.post(target, b"{}", {})
    assert outcome.status_code is None
    assert "TLS certificate not accepted" in outcome.error and "self-signed" in outcome.error
    assert tls_server.seen == []


def test_post_does_not_follow_redirects(local_server):
    local_server.actions["/moved"] = "redirect"
    outcome = webhooks.post(local_target(local_server, "/moved"), b"{}", {})
    assert outcome.status_code == 302 and not outcome.delivered
    assert [seen[0] for seen in local_server.seen] == ["/moved"]


def test_post_gives_up_at_the_overall_deadline(local_server):
    local_server.actions["/stall"] = "stall"
    started = time.monotonic()
    outcome = webhooks.post(local_target(local_server, "/stall"), b"{}", {}, total_timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert outcome.status_code is None and "within 0.5 s" in outcome.error


def test_a_trickling_answer_cannot_hold_the_worker(local_server):
    local_server.actions["/trickle"] = "trickle"
    started = time.monotonic()
    outcome = webhooks.post(local_target(local_server, "/trickle"), b"{}", {}, total_timeout=0.5)
    assert time.monotonic() - started < 1.5
    # The status arrived in time, the body did not: not a delivery.
    assert outcome.status_code == 200 and not outcome.delivered
    assert "timed out reading the answer" in outcome.error


def test_a_huge_answer_is_read_only_up_to_the_limit(local_server):
    local_server.actions["/big"] = "big"
    outcome = webhooks.post(local_target(local_server, "/big"), b"{}", {}, read_limit=1024)
    assert outcome.delivered


def test_retry_after_is_reported(local_server):
    local_server.actions["/busy"] = "busy"
    outcome = webhooks.post(local_target(local_server, "/busy"), b"{}", {})
    assert outcome.status_code == 503 and outcome.retry_after == 120


def test_a_closed_port_is_an_error_not_an_exception():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = webhooks.Target("http", "127.0.0.1", port, "/", ("127.0.0.1",))
    outcome = webhooks.post(target, b"{}", {})
    assert outcome.status_code is None and outcome.error == "connection refused"


# --- the endpoints API -------------------------------------------------------------------------


def create(client, as_role, role="customer_a", **body):
    body.setdefault("url", PUBLIC_URL)
    return client.post(URL, json=body, headers=as_role(role))


@pytest.fixture
def hook(client, as_role) -> dict:
    response = create(client, as_role, description="Compliance inbox")
    assert response.status_code == 201, response.get_json()
    return {**response.get_json(), "etag": response.headers["ETag"]}


def audit_entries(registry, action: str) -> list[dict]:
    return [e for e in audit_store.iter_all(registry.db.connection()) if e["action"] == action]


def test_create_shows_the_secret_once(client, as_role, hook, registry):
    assert hook["id"].startswith("whk_")
    assert hook["secret"].startswith("whsec_")
    assert hook["customer_id"] == "cust-a"
    assert hook["events"] == ["*"]
    assert hook["enabled"] is True and hook["disabled_reason"] is None
    assert hook["consecutive_failures"] == 0
    read = client.get(f"{URL}/{hook['id']}", headers=as_role("customer_a"))
    assert read.status_code == 200
    assert "secret" not in read.get_json()
    assert hook["secret"] not in read.get_data(as_text=True)
    listed = client.get(URL, headers=as_role("customer_a")).get_json()
    assert [item["id"] for item in listed["items"]] == [hook["id"]]
    assert hook["secret"] not in json.dumps(listed)
    (entry,) = audit_entries(registry, "webhook.create")
    assert entry["object_id"] == hook["id"]
    assert entry["actor"]["customer_id"] == "cust-a"
    assert hook["secret"] not in json.dumps(entry)


def test_create_answers_with_location_and_etag(client, as_role):
    response = create(client, as_role, events=["subprocessor.announced"])
    assert response.status_code == 201
    assert response.headers["Location"] == f"{URL}/{response.get_json()['id']}"
    read = client.get(response.headers["Location"], headers=as_role("customer_a"))
    assert read.headers["ETag"] == response.headers["ETag"]
    assert read.get_json()["events"] == ["subprocessor.announced"]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://93.184.215.14/hook",
        "https://user:pass@93.184.215.14/hook",
    ],
    ids=["loopback", "private", "metadata", "IPv6 loopback", "localhost", "http", "credentials"],
)
def test_unsafe_urls_are_422_at_url(client, as_role, registry, url):
    response = create(client, as_role, url=url)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/url"]
    assert audit_entries(registry, "webhook.create") == []


class HangingResolver:
    """socket.getaddrinfo as a resolver that never answers in time: 5 s per lookup."""

    def __init__(self):
        self.calls: list[str] = []
        self.release = threading.Event()

    def __call__(self, host, port, *args, **kwargs):
        self.calls.append(host)
        self.release.wait(5)  # let go at the end of the test: no thread outlives it for long
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")


@pytest.fixture
def hanging_dns(monkeypatch):
    resolver = HangingResolver()
    # The module attribute itself: whatever looks a name up through the socket module waits.
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", resolver)
    yield resolver
    resolver.release.set()


def test_registration_never_waits_on_dns(client, as_role, registry, hanging_dns, clock):
    a = as_role("customer_a")
    started = time.monotonic()
    created = client.post(URL, json={"url": "https://hooks.example.com/registry"}, headers=a)
    assert created.status_code == 201, created.get_json()
    changed = client.patch(
        f"{URL}/{created.get_json()['id']}",
        json={"url": "https://other.example.com/registry"},
        headers={**a, "If-Match": created.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.get_json()
    assert time.monotonic() - started < 1
    assert hanging_dns.calls == []

    # The name is looked up by the worker, before the attempt, within its own deadline.
    client.post("/v1/subprocessors", json=nimbus(effective_on=None), headers=as_role("admin"))
    clock.stop()
    sent = []
    settings = Settings(webhook_lease=0.9, webhook_max_failures=10)
    run = Worker(registry.db, settings, jitter=lambda: 0.0, post=lambda *a, **k: sent.append(a))
    started = time.monotonic()
    assert run.step() == 1
    assert time.monotonic() - started < 1
    assert hanging_dns.calls == ["other.example.com"] and sent == []
    (delivery,) = deliveries(client, as_role, created.get_json()["id"])
    assert delivery["status"] == "pending"
    assert delivery["attempt_log"][0]["error"] == (
        "refused: The URL's host other.example.com did not resolve within 0.3 s."
    )


def test_a_name_of_private_addresses_is_registered_but_never_sent_to(
    client, as_role, registry, monkeypatch, clock
):
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", fake_dns("93.184.215.14", "10.0.0.7"))
    created = create(client, as_role, url="https://hooks.example.com/registry")
    assert created.status_code == 201, created.get_json()
    client.post("/v1/subprocessors", json=nimbus(effective_on=None), headers=as_role("admin"))
    clock.stop()
    sent = []
    settings = Settings(webhook_max_failures=2)
    run = Worker(registry.db, settings, jitter=lambda: 0.0, post=lambda *a, **k: sent.append(a))
    for _ in range(2):
        assert run.step() == 1
        clock.advance(hours=1)
    assert sent == [], "no attempt reached the network"
    hook = client.get(f"{URL}/{created.get_json()['id']}", headers=as_role("customer_a"))
    body = hook.get_json()
    # Staff and the customer see why: in the delivery log and the reason it was disabled.
    assert body["enabled"] is False
    reason = "refused: The URL's host hooks.example.com is refused: 10.0.0.7"
    assert reason in body["disabled_reason"]
    (delivery,) = deliveries(client, as_role, created.get_json()["id"], role="admin")
    assert [a["error"] for a in delivery["attempt_log"]] == [
        "refused: The URL's host hooks.example.com is refused: 10.0.0.7 is a loopback, "
        "private, link-local or reserved address."
    ] * 2


@pytest.mark.parametrize(
    "url",
    [
        "https://intranet/hook",
        "https://localhost./hook",
        "https://api.localhost/hook",
        "https://printer.local/hook",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://router.home.arpa/hook",
    ],
)
def test_local_only_names_are_refused_without_a_lookup(client, as_role, hanging_dns, url):
    started = time.monotonic()
    response = create(client, as_role, url=url)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/url"]
    assert time.monotonic() - started < 1 and hanging_dns.calls == []


def test_loopback_is_accepted_only_when_private_targets_are_allowed(app, client, as_role):
    registry = app.extensions["registry"]
    registry.settings = registry.settings.replace(webhook_allow_private=True)
    response = create(client, as_role, url="http://127.0.0.1:9/hook")
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"events": ["subprocessor.created"]}, "/events/0"),
        ({"events": []}, "/events"),
        ({"events": ["*", "subprocessor.changed"]}, "/events"),
        ({"events": ["subprocessor.changed", "subprocessor.changed"]}, "/events"),
        ({"url": "not a url"}, "/url"),
        ({"url": None}, "/url"),
        ({"description": "  "}, "/description"),
        ({"secret": "whsec_mine"}, "/secret"),
    ],
    ids=[
        "unknown event",
        "no events",
        "star and more",
        "twice",
        "not a url",
        "null",
        "blank",
        "own secret",
    ],
)
def test_invalid_bodies_are_422_with_pointers(client, as_role, body, pointer):
    response = create(client, as_role, **body)
    assert response.status_code == 422, response.get_json()
    assert pointer in [e["pointer"] for e in response.get_json()["errors"]]


def test_a_url_is_required(client, as_role):
    response = client.post(URL, json={"events": ["*"]}, headers=as_role("customer_a"))
    assert response.status_code == 422
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/url"]


def test_services_register_no_endpoints(client, as_role):
    assert create(client, as_role, role="service").status_code == 403


def test_services_see_no_endpoints(client, as_role, hook):
    assert client.get(URL, headers=as_role("service")).status_code == 403
    assert client.get(f"{URL}/{hook['id']}", headers=as_role("service")).status_code == 403
    deliveries = client.get(f"{URL}/{hook['id']}/deliveries", headers=as_role("service"))
    assert deliveries.status_code == 403


def test_procurement_never_reaches_a_customers_endpoint(client, as_role, hook):
    staff = as_role("procurement")
    assert client.get(URL, headers=staff).get_json()["items"] == []
    assert client.get(f"{URL}/{hook['id']}", headers=staff).status_code == 404
    assert client.get(f"{URL}/{hook['id']}/deliveries", headers=staff).status_code == 404


def test_another_customer_gets_404_for_every_operation(client, as_role, hook):
    b = as_role("customer_b")
    item = f"{URL}/{hook['id']}"
    assert client.get(item, headers=b).status_code == 404
    assert client.get(f"{item}/deliveries", headers=b).status_code == 404
    assert (
        client.patch(
            item, json={"enabled": False}, headers={**b, "If-Match": hook["etag"]}
        ).status_code
        == 404
    )
    assert client.delete(item, headers={**b, "If-Match": hook["etag"]}).status_code == 404
    assert client.get(URL, headers=b).get_json()["items"] == []
    # Unchanged for its owner.
    assert client.get(item, headers=as_role("customer_a")).get_json()["enabled"] is True


def test_admins_see_every_customers_endpoints(client, as_role, hook):
    mine = create(client, as_role, role="customer_b").get_json()
    listed = client.get(URL, headers=as_role("admin")).get_json()["items"]
    assert [item["id"] for item in listed] == [hook["id"], mine["id"]]
    only_b = client.get(f"{URL}?customer_id=cust-b", headers=as_role("admin")).get_json()
    assert [item["id"] for item in only_b["items"]] == [mine["id"]]
    # A customer's customer_id parameter is overridden by its own.
    as_b = client.get(f"{URL}?customer_id=cust-a", headers=as_role("customer_b")).get_json()
    assert [item["id"] for item in as_b["items"]] == [mine["id"]]


def test_lists_are_paginated(client, as_role):
    made = [create(client, as_role).get_json()["id"] for _ in range(3)]
    first = client.get(f"{URL}?limit=2", headers=as_role("customer_a")).get_json()
    assert [item["id"] for item in first["items"]] == made[:2]
    rest = client.get(
        f"{URL}?limit=2&cursor={first['next_cursor']}", headers=as_role("customer_a")
    ).get_json()
    assert [item["id"] for item in rest["items"]] == made[2:] and rest["next_cursor"] is None


def test_endpoints_per_customer_are_bounded(client, as_role, registry):
    for _ in range(registry.settings.quota_webhooks):
        assert create(client, as_role).status_code == 201
    refused = create(client, as_role)
    assert refused.status_code == 409 and refused.mimetype == PROBLEM
    assert create(client, as_role, role="customer_b").status_code == 201


def test_patch_needs_the_current_etag(client, as_role, hook):
    item, a = f"{URL}/{hook['id']}", as_role("customer_a")
    assert client.patch(item, json={"description": "x"}, headers=a).status_code == 428
    changed = client.patch(item, json={"description": "x"}, headers={**a, "If-Match": hook["etag"]})
    assert changed.status_code == 200 and changed.get_json()["description"] == "x"
    stale = client.patch(item, json={"description": "y"}, headers={**a, "If-Match": hook["etag"]})
    assert stale.status_code == 412


def test_patch_changes_are_audited_without_the_secret(client, as_role, hook, registry):
    item, a = f"{URL}/{hook['id']}", as_role("customer_a")
    response = client.patch(
        item,
        json={"events": ["subprocessor.retired"], "url": "https://93.184.215.15/other"},
        headers={**a, "If-Match": hook["etag"]},
    )
    assert response.status_code == 200
    assert response.get_json()["events"] == ["subprocessor.retired"]
    (entry,) = audit_entries(registry, "webhook.update")
    assert entry["change"] == {
        "events": {"from": ["*"], "to": ["subprocessor.retired"]},
        "url": {"from": PUBLIC_URL, "to": "https://93.184.215.15/other"},
    }
    # The same values again: nothing changes, nothing is recorded.
    again = client.patch(
        item,
        json={"events": ["subprocessor.retired"]},
        headers={**a, "If-Match": response.headers["ETag"]},
    )
    assert again.status_code == 200 and again.headers["ETag"] == response.headers["ETag"]
    assert len(audit_entries(registry, "webhook.update")) == 1
    assert verify_chain(audit_store.iter_all(registry.db.connection()))[1] is None


def test_patch_refuses_an_unsafe_url(client, as_role, hook):
    response = client.patch(
        f"{URL}/{hook['id']}",
        json={"url": "https://192.168.1.1/hook"},
        headers={**as_role("customer_a"), "If-Match": hook["etag"]},
    )
    assert response.status_code == 422
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/url"]


def test_pause_and_resume(client, as_role, hook):
    item, a = f"{URL}/{hook['id']}", as_role("customer_a")
    paused = client.patch(item, json={"enabled": False}, headers={**a, "If-Match": hook["etag"]})
    assert paused.get_json()["enabled"] is False
    assert "customer" in paused.get_json()["disabled_reason"]
    resumed = client.patch(
        item, json={"enabled": True}, headers={**a, "If-Match": paused.headers["ETag"]}
    )
    assert resumed.get_json()["enabled"] is True
    assert resumed.get_json()["disabled_reason"] is None


def test_enabled_must_be_a_boolean(client, as_role, hook):
    response = client.patch(
        f"{URL}/{hook['id']}",
        json={"enabled": "yes"},
        headers={**as_role("customer_a"), "If-Match": hook["etag"]},
    )
    assert response.status_code == 422


def test_delete_removes_the_endpoint_and_its_log(client, as_role, hook, registry):
    client.post("/v1/subprocessors", json=nimbus(effective_on=None), headers=as_role("admin"))
    item, a = f"{URL}/{hook['id']}", as_role("customer_a")
    assert client.delete(item, headers=a).status_code == 428
    gone = client.delete(item, headers={**a, "If-Match": hook["etag"]})
    assert gone.status_code == 204 and gone.get_data() == b""
    assert client.get(item, headers=a).status_code == 404
    assert client.get(f"{item}/deliveries", headers=a).status_code == 404
    conn = registry.db.connection()
    assert conn.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0] == 0
    (entry,) = audit_entries(registry, "webhook.delete")
    assert entry["object_id"] == hook["id"] and entry["change"]["url"] == PUBLIC_URL


def test_admins_may_pause_and_delete_any_endpoint(client, as_role, hook, registry):
    admin, item = as_role("admin"), f"{URL}/{hook['id']}"
    paused = client.patch(
        item, json={"enabled": False}, headers={**admin, "If-Match": hook["etag"]}
    )
    assert paused.status_code == 200
    assert "admin" in paused.get_json()["disabled_reason"]
    assert (
        client.delete(item, headers={**admin, "If-Match": paused.headers["ETag"]}).status_code
        == 204
    )
    assert audit_entries(registry, "webhook.delete")[0]["actor"]["role"] == "admin"


# --- what each change queues -------------------------------------------------------------------


def deliveries(client, as_role, webhook_id: str, role="customer_a", query="") -> list[dict]:
    response = client.get(f"{URL}/{webhook_id}/deliveries{query}", headers=as_role(role))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def write_three_changes(client, as_role) -> str:
    admin = as_role("admin")
    created = client.post("/v1/subprocessors", json=nimbus(effective_on=None), headers=admin)
    sp = created.get_json()["id"]
    # A new data category is material: customers are told (housekeeping would be internal).
    categories = [*created.get_json()["data_categories"], "user.name"]
    changed = client.patch(
        f"/v1/subprocessors/{sp}",
        json={"data_categories": categories},
        headers={**admin, "If-Match": created.headers["ETag"]},
    )
    client.delete(f"/v1/subprocessors/{sp}", headers={**admin, "If-Match": changed.headers["ETag"]})
    return sp


def test_every_change_is_queued_for_each_subscribed_endpoint(client, as_role):
    everything = create(client, as_role).get_json()["id"]
    announced = create(client, as_role, events=["subprocessor.announced"]).get_json()["id"]
    write_three_changes(client, as_role)
    log = deliveries(client, as_role, everything)
    assert [d["type"] for d in log] == [
        "subprocessor.announced",
        "subprocessor.changed",
        "subprocessor.retired",
    ]
    for delivery in log:
        assert delivery["status"] == "pending" and delivery["attempts"] == 0
        assert delivery["id"].startswith("msg_") and "." not in delivery["id"]
        assert delivery["next_attempt_at"] and delivery["attempt_log"] == []
    assert [d["type"] for d in deliveries(client, as_role, announced)] == ["subprocessor.announced"]
    changes = client.get("/v1/changes", headers=as_role("customer_a")).get_json()["items"]
    assert [d["change_id"] for d in log] == [c["id"] for c in changes]


def test_a_paused_endpoint_is_not_queued_new_changes(client, as_role, hook):
    client.patch(
        f"{URL}/{hook['id']}",
        json={"enabled": False},
        headers={**as_role("customer_a"), "If-Match": hook["etag"]},
    )
    write_three_changes(client, as_role)
    assert deliveries(client, as_role, hook["id"]) == []


def test_the_delivery_log_filters_and_pages(client, as_role, hook):
    write_three_changes(client, as_role)
    first = client.get(
        f"{URL}/{hook['id']}/deliveries?limit=2", headers=as_role("customer_a")
    ).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(
        f"{URL}/{hook['id']}/deliveries?limit=2&cursor={first['next_cursor']}",
        headers=as_role("customer_a"),
    ).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert deliveries(client, as_role, hook["id"], query="?status=delivered") == []
    assert len(deliveries(client, as_role, hook["id"], role="admin", query="?status=pending")) == 3
    bad = client.get(f"{URL}/{hook['id']}/deliveries?status=lost", headers=as_role("admin"))
    assert bad.status_code == 422


# --- the worker's rules, with the network replaced by a scripted receiver ----------------------


class ScriptedReceiver:
    """Answers each POST with the next scripted status (then 200), checking every signature."""

    def __init__(self, secrets: dict[str, str], statuses=()):
        self.secrets = secrets
        self.statuses = list(statuses)
        self.calls: list[tuple[str, str, dict]] = []

    def __call__(self, target, body, headers, *, total_timeout):
        path = target.path
        message_id = webhooks.verify(
            self.secrets[path], headers, body, now=registry_clock.now().timestamp()
        )
        self.calls.append((path, message_id, json.loads(body)))
        status = self.statuses.pop(0) if self.statuses else 200
        if status is None:
            return webhooks.Outcome(None, "connection refused", 3)
        return webhooks.Outcome(status, None, 3)


SETTINGS = Settings(
    webhook_allow_private=True,
    webhook_backoff=5.0,
    webhook_max_failures=4,
    webhook_max_attempts=6,
    webhook_lease=60.0,
)


@pytest.fixture
def private(app):
    registry = app.extensions["registry"]
    registry.settings = registry.settings.replace(webhook_allow_private=True)


def local_hook(client, as_role, path="/a", role="customer_a", **body) -> dict:
    response = create(client, as_role, role=role, url=f"http://127.0.0.1:9{path}", **body)
    assert response.status_code == 201, response.get_json()
    return {**response.get_json(), "etag": response.headers["ETag"]}


def worker(registry, receiver, settings=SETTINGS) -> Worker:
    return Worker(registry.db, settings, jitter=lambda: 0.0, post=receiver)


def test_failed_attempts_back_off_then_the_delivery_succeeds(
    client, as_role, registry, private, clock
):
    hook = local_hook(client, as_role)
    client.post("/v1/subprocessors", json=nimbus(effective_on=None), headers=as_role("admin"))
    clock.stop()
    receiver = ScriptedReceiver({"/a": hook["secret"]}, [500, None])
    run = worker(registry, receiver)

    assert run.step() == 1  # 500
    (delivery,) = deliveries(client, as_role, hook["id"])
    assert delivery["status"] == "pending" and delivery["last_status_code"] == 500
    due = datetime.fromisoformat(delivery["next_attempt_at"])
    assert due - clock.now == timedelta(seconds=5)
    assert run.step() == 0, "nothing is due before the back-off ends"
    clock.advance(seconds=5)
    assert run.step() == 1  # connection refused
    (delivery,) = deliveries(client, as_role, hook["id"])
    assert datetime.fromisoformat(delivery["next_attempt_at"]) - clock.now == timedelta(seconds=10)
    clock.advance(seconds=10)
    assert run.step() == 1  # 200
    assert run.step() == 0
    (delivery,) = deliveries(client, as_role, hook["id"])
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"]
    assert [(a["attempt"], a["status_code"], a["error"]) for a in delivery["attempt_log"]] == [
        (1, 500, None),
        (2, None, "connection refused"),
        (3, 200, None),
    ]
    ids = {call[1] for call in receiver.calls}
    assert ids == {delivery["id"]}, "every retry carries the same webhook-id"
    read = client.get(f"{URL}/{hook['id']}", headers=as_role("customer_a")).get_json()
    assert read["consecutive_failures"] == 0


def test_an_endpoint_failing_repeatedly_is_disabled_and_resumes_when_enabled(
    client, as_role, registry, private, clock
):
    hook = local_hook(client, as_role)
    write_three_changes(client, as_role)
    clock.stop()
    run = worker(registry, ScriptedReceiver({"/a": hook["secret"]}, [503] * 4))
    for _ in range(4):
        assert run.step() == 1, "one attempt at a time while the endpoint fails"
        clock.advance(hours=1)
    assert run.step() == 0
    read = client.get(f"{URL}/{hook['id']}", headers=as_role("customer_a"))
    body = read.get_json()
    assert body["enabled"] is False and body["consecutive_failures"] == 4
    assert "4 attempts in a row failed" in body["disabled_reason"]
    (entry,) = audit_entries(registry, "webhook.disable")
    assert entry["object_id"] == hook["id"] and entry["actor"]["name"] == "registry worker"
    log = deliveries(client, as_role, hook["id"])
    assert [d["status"] for d in log] == ["pending"] * 3, "nothing is lost while disabled"
    # The failing endpoint was probed with its oldest delivery, not its whole backlog.
    assert [d["attempts"] for d in log] == [4, 0, 0]

    resumed = client.patch(
        f"{URL}/{hook['id']}",
        json={"enabled": True},
        headers={**as_role("customer_a"), "If-Match": read.headers["ETag"]},
    )
    assert resumed.get_json()["consecutive_failures"] == 0
    while run.step():
        pass
    assert [d["status"] for d in deliveries(client, as_role, hook["id"])] == ["delivered"] * 3


def test_410_gone_disables_at_once(client, as_role, registry, private, clock):
    hook = local_hook(client, as_role)
    client.post("/v1/subprocessors", json=nimbus(effective_on=None), headers=as_role("admin"))
    clock.stop()
    run = worker(registry, ScriptedReceiver({"/a": hook["secret"]}, [410]))
    run.step()
    body = client.get(f"{URL}/{hook['id']}", headers=as_role("customer_a")).get_json()
    assert body["enabled"] is False and "410" in body["disabled_reason"]


def test_a_delivery_is_given_up_after_its_attempts(client, as_role, registry, private, clock):
    hook = local_hook(client, as_role)
    client.post("/v1/subprocessors", json=nimbus(effective_on=None), headers=as_role("admin"))
    clock.stop()
    # The endpoint accepts other events but refuses this one: it is never disabled.
    settings = Settings(
        webhook_allow_private=True, webhook_max_failures=100, webhook_max_attempts=3
    )
    run = worker(registry, ScriptedReceiver({"/a": hook["secret"]}, [400] * 10), settings)
    for _ in range(5):
        run.step()
        clock.advance(hours=1)
    (delivery,) = deliveries(client, as_role, hook["id"])
    assert delivery["status"] == "failed" and delivery["attempts"] == 3
    assert delivery["next_attempt_at"] is None


def test_an_attempt_cut_short_is_logged_and_retried_with_the_same_id(
    client, as_role, registry, private, clock
):
    hook = local_hook(client, as_role)
    client.post("/v1/subprocessors", json=nimbus(effective_on=None), headers=as_role("admin"))
    clock.stop()
    receiver = ScriptedReceiver({"/a": hook["secret"]})
    crashed = worker(registry, receiver)
    with registry.db.write() as tx:  # a worker claims, sends, and dies before recording
        from registry.webhooks import store

        (claimed,) = store.claim(
            tx, now=clock.now, lease_until=clock.now + timedelta(seconds=60), limit=5
        )
    crashed.attempt(claimed)
    assert crashed.step() == 0, "the claim holds until its lease ends"
    clock.advance(seconds=61)
    assert crashed.step() == 1
    (delivery,) = deliveries(client, as_role, hook["id"])
    assert delivery["status"] == "delivered"
    assert [(a["attempt"], a["status_code"]) for a in delivery["attempt_log"]] == [
        (1, None),
        (2, 200),
    ]
    assert "worker stopped" in delivery["attempt_log"][0]["error"]
    assert [call[1] for call in receiver.calls] == [delivery["id"], delivery["id"]]


def test_claims_never_hand_out_a_delivery_twice(client, as_role, registry, private, clock):
    first = local_hook(client, as_role, path="/a")
    second = local_hook(client, as_role, path="/b", role="customer_b")
    write_three_changes(client, as_role)
    from registry.webhooks import store

    now = clock.now
    lease = now + timedelta(seconds=60)
    with registry.db.write() as tx:
        one = store.claim(tx, now=now, lease_until=lease, limit=10)
    with registry.db.write() as tx:
        two = store.claim(tx, now=now, lease_until=lease, limit=10)
    # One delivery per endpoint, and none while that endpoint has one under way.
    assert sorted(c["webhook_id"] for c in one) == sorted([first["id"], second["id"]])
    assert two == []
    with registry.db.write() as tx:
        later = store.claim(tx, now=lease + timedelta(seconds=1), lease_until=lease, limit=10)
    assert {c["delivery_seq"] for c in later} == {c["delivery_seq"] for c in one}


def test_each_delivery_resolves_the_name_again(client, as_role, registry, private, clock):
    hook = local_hook(client, as_role)
    client.post("/v1/subprocessors", json=nimbus(effective_on=None), headers=as_role("admin"))
    clock.stop()
    receiver = ScriptedReceiver({"/a": hook["secret"]})
    settings = Settings(webhook_allow_private=False, webhook_max_failures=10)

    def rebound(url, *, allow_private, ports, timeout):
        # The name now points inside the network (DNS rebinding).
        return webhooks.resolve(
            "https://hooks.example.com/a",
            allow_private=allow_private,
            getaddrinfo=fake_dns("169.254.169.254"),
        )

    run = Worker(registry.db, settings, jitter=lambda: 0.0, post=receiver, resolve=rebound)
    run.step()
    (delivery,) = deliveries(client, as_role, hook["id"])
    assert delivery["status"] == "pending" and receiver.calls == []
    assert (
        delivery["last_error"].startswith("refused:")
        and "169.254.169.254" in delivery["last_error"]
    )


def test_a_worker_stops_when_asked(registry):
    stop = threading.Event()

    def work():
        # A connection of its own, used and closed in its thread.
        database = Database(registry.db.path)
        try:
            Worker(database, SETTINGS).run(stop, poll_interval=30)
        finally:
            database.close()

    thread = threading.Thread(target=work)
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive() and time.monotonic() - started < 1


def test_the_etag_follows_the_failure_count(client, as_role, registry, private, clock):
    hook = local_hook(client, as_role)
    client.post("/v1/subprocessors", json=nimbus(effective_on=None), headers=as_role("admin"))
    clock.stop()
    worker(registry, ScriptedReceiver({"/a": hook["secret"]}, [500])).step()
    item, a = f"{URL}/{hook['id']}", as_role("customer_a")
    fresh = client.get(item, headers={**a, "If-None-Match": hook["etag"]})
    assert fresh.status_code == 200 and fresh.get_json()["consecutive_failures"] == 1
    assert fresh.headers["ETag"] != hook["etag"]
    assert (
        client.get(item, headers={**a, "If-None-Match": fresh.headers["ETag"]}).status_code == 304
    )


def test_the_protocol_module_needs_neither_flask_nor_sqlite():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(webhooks))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert not imported & {"flask", "sqlite3", "sqlite_utils", "registry", ""}


def test_the_claim_seeks_the_due_index_and_finds_only_what_is_due(
    client, as_role, registry, private, clock
):
    """Stored timestamps compare as strings, so the claim's search uses its index."""
    from registry.webhooks import store

    hook = local_hook(client, as_role)
    for n in range(3):
        client.post(
            "/v1/subprocessors",
            json=nimbus(name=f"Due {n}", effective_on=None),
            headers=as_role("admin"),
        )
    conn = registry.db.connection()
    with registry.db.write():
        # A long log of delivered events beside the three due ones, with statistics.
        subprocessor = conn.execute("SELECT id FROM subprocessors LIMIT 1").fetchone()[0]
        for n in range(2000):
            change = conn.execute(
                "INSERT INTO changes (id, at, type, subprocessor_id, version, data)"
                " VALUES (?, '2026-01-01T00:00:00.000Z', 'subprocessor.changed', ?, 1, '{}')",
                [f"chg_old_{n}", subprocessor],
            ).lastrowid
            conn.execute(
                "INSERT INTO webhook_deliveries (webhook_id, change_seq, message_id, status,"
                " next_attempt_at) VALUES (?, ?, ?, 'delivered', '2026-01-01T00:00:00.000Z')",
                [hook["id"], change, f"msg_old_{n}"],
            )
    conn.execute("ANALYZE")
    now = registry_clock.timestamp()
    plan = [
        row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {store.DUE_DELIVERIES}", [now, now, 5])
    ]
    assert any(
        "USING INDEX webhook_deliveries_due (status=? AND next_attempt_at<?)" in step
        for step in plan
    ), plan
    # The oldest due delivery of the endpoint, and nothing scheduled later.
    early = registry_clock.timestamp(registry_clock.now() - timedelta(seconds=1))
    assert conn.execute(store.DUE_DELIVERIES, [early, early, 5]).fetchall() == []
    (claimed,) = conn.execute(store.DUE_DELIVERIES, [now, now, 5]).fetchall()
    first_due = conn.execute(
        "SELECT min(seq) FROM webhook_deliveries WHERE status = 'pending'"
    ).fetchone()[0]
    assert claimed[0] == first_due


# --- an answer that stalls after its status line ------------------------------------------------


@pytest.fixture
def raw_server():
    """A raw server that sends the given bytes, then stalls (or closes) until released."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    release = threading.Event()
    threads = []

    def serve(answer: bytes, stall: bool):
        try:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(answer)
                if stall:
                    release.wait(5)
        except OSError:
            return

    def start(answer: bytes, *, stall: bool = True) -> webhooks.Target:
        thread = threading.Thread(target=serve, args=(answer, stall), daemon=True)
        thread.start()
        threads.append(thread)
        port = listener.getsockname()[1]
        return webhooks.Target("http", "127.0.0.1", port, "/", ("127.0.0.1",))

    yield start
    release.set()
    listener.close()
    for thread in threads:
        thread.join(5)


def test_a_body_that_stalls_after_the_status_is_not_a_delivery(raw_server):
    target = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    started = time.monotonic()
    outcome = webhooks.post(target, b"{}", {}, total_timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert not outcome.delivered
    assert outcome.error == "timed out reading the answer within 0.5 s"


def test_headers_that_stall_after_the_status_line_are_not_a_delivery(raw_server):
    target = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n")
    started = time.monotonic()
    outcome = webhooks.post(target, b"{}", {}, total_timeout=0.5)
    assert time.monotonic() - started < 1.5
    # Cut at the deadline, the headers may look ended, but the answer still did not arrive.
    assert not outcome.delivered
    assert outcome.error is not None and "within 0.5 s" in outcome.error


def test_an_answer_ended_by_closing_the_connection_is_delivered(raw_server):
    target = raw_server(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthanks", stall=False)
    outcome = webhooks.post(target, b"{}", {}, total_timeout=5)
    assert outcome.delivered and outcome.status_code == 200 and outcome.error is None
