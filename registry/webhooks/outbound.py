"""Standard Webhooks: secrets, signatures, event bodies, safe targets, back-off and one POST."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import json
import re
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's public prefix, not a secret)
SECRET_BYTES = 32  # the specification asks for 24 to 64
SIGNATURE_VERSION = "v1"
# How far a receiver lets webhook-timestamp drift from its clock (replay protection).
DEFAULT_TOLERANCE = 5 * 60

ALL_EVENTS = "*"

MAX_URL_LENGTH = 2048
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 10.0
RESPONSE_READ_LIMIT = 64 * 1024
RESOLVE_TIMEOUT = 5.0
USER_AGENT = "transfer-registry-webhooks/1"


# --- secrets and signatures ------------------------------------------------------------------


class VerificationError(Exception):
    """A webhook that must not be trusted: missing headers, stale timestamp, bad signature."""


def new_secret() -> str:
    """A signing secret in the specification's format: whsec_ and base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signing_key(secret: str) -> bytes:
    """The HMAC key: the base64 part of the secret, decoded (the prefix is optional)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64 HMAC-SHA256>` signature of `{id}.{timestamp}.{body}`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signed_headers(
    secrets: str | Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers, with one signature per secret, space-separated.

    Several secrets sign while one is rotated: the newest first, then the one it replaces
    (`v1,<new> v1,<old>`), so a receiver holding either accepts the webhook.
    """
    if isinstance(secrets, str):
        secrets = [secrets]
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            sign(secret, message_id, timestamp, body) for secret in secrets
        ),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> str:
    """Check a received webhook as a receiver should; returns its webhook-id.

    Headers are matched case-insensitively; any of the space-separated signatures may
    match (several are sent while a secret is rotated); comparison is constant-time.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        message_id = lowered["webhook-id"]
        raw_timestamp = lowered["webhook-timestamp"]
        signatures = lowered["webhook-signature"]
    except KeyError as exc:
        raise VerificationError(f"missing header {exc.args[0]}") from None
    if not raw_timestamp.isdigit():
        raise VerificationError("webhook-timestamp is not a whole number of seconds")
    timestamp = int(raw_timestamp)
    # The receiver's wall clock: this runs on their side, not the registry's.
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise VerificationError("webhook-timestamp is outside the tolerance")
    expected = sign(secret, message_id, timestamp, body).encode()
    for candidate in signatures.split(" "):
        version, _, _ = candidate.partition(",")
        if version == SIGNATURE_VERSION and hmac.compare_digest(candidate.encode(), expected):
            return message_id
    raise VerificationError("no signature matches")


def event_body(change: dict) -> bytes:
    """The JSON body of a change event, the same bytes on every attempt."""
    data = {**change["data"], "change_id": change["id"], "cursor": change["cursor"]}
    event = {"type": change["type"], "timestamp": change["at"], "data": data}
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- back-off --------------------------------------------------------------------------------


def backoff(failures: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait after `failures` failed attempts in a row (1 or more).

    Doubles from `base` up to `cap`; `jitter` (0 to 1, drawn by the caller) takes up to a
    fifth off, so retries of many deliveries spread out and never exceed the cap.
    """
    exponent = min(max(failures, 1) - 1, 62)
    delay = min(base * 2**exponent, cap)
    return delay * (1 - 0.2 * min(max(jitter, 0.0), 1.0))


# --- safe targets ------------------------------------------------------------------------------


class UnsafeTarget(ValueError):
    """A URL the registry will not send to; the message is written for the customer."""


@dataclass(frozen=True)
class Target:
    """Where one POST goes: the URL's parts and the checked addresses to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


_URL_CHARACTERS = re.compile(r"[\x21-\x7e]+")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in ipaddress.IPv6Network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(address: str, *, allow_private: bool) -> str | None:
    """Why an address may not be a webhook target, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.is_unspecified or ip.is_multicast:
        return f"{ip} is not a unicast address"
    if allow_private:
        return None
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        candidates.append(inner)
    for candidate in candidates:
        if (
            not candidate.is_global
            or candidate.is_private
            or candidate.is_loopback
            or candidate.is_link_local
            or candidate.is_reserved
            or candidate.is_multicast
            or candidate.is_unspecified
        ):
            return f"{ip} is a loopback, private, link-local or reserved address"
    return None


STANDARD_PORTS = {"https": 443, "http": 80}
# Names that are local by definition (RFC 6761, RFC 8375, mDNS, ICANN's private-use
# .internal): refused without a lookup.
LOCAL_NAME_SUFFIXES = ("localhost", "localdomain", "local", "internal", "home.arpa")


def parse_url(url: str, *, allow_private: bool, ports: frozenset[int] = frozenset()) -> Target:
    """Check a URL's form (no lookup); `addresses` is empty unless the host is an IP literal.

    The port is the scheme's standard one (443; 80 where http is allowed) or one of `ports`;
    with private targets allowed (development and tests), any port. A host that is an
    address is checked here; a name must be a fully qualified one outside the local-only
    domains, and what it resolves to is checked by `resolve`, before each delivery.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if not _URL_CHARACTERS.fullmatch(url):
        raise UnsafeTarget("The URL must be ASCII without spaces (percent-encode the rest).")
    try:
        parts = urlsplit(url)
        explicit_port = parts.port
    except ValueError:
        raise UnsafeTarget("The URL is malformed (its host or port cannot be read).") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow_private):
        raise UnsafeTarget("The URL must use https.")
    if "@" in parts.netloc:
        raise UnsafeTarget("The URL must not carry credentials; verify the signature instead.")
    if parts.fragment or url.endswith("#"):
        raise UnsafeTarget("The URL must not have a fragment.")
    if explicit_port == 0:
        raise UnsafeTarget("The URL's port is not a number from 1 to 65535.")
    port = explicit_port or STANDARD_PORTS[scheme]
    if not allow_private and port != STANDARD_PORTS[scheme] and port not in ports:
        raise UnsafeTarget(
            f"The URL's port {port} is refused: only {STANDARD_PORTS[scheme]}, unless "
            f"REGISTRY_WEBHOOK_PORTS allows it."
        )
    host = parts.hostname or ""
    if not host:
        raise UnsafeTarget("The URL has no host.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        reason = address_refusal(str(literal), allow_private=allow_private)
        if reason:
            raise UnsafeTarget(f"The URL's host is refused: {reason}.")
        return Target(scheme, host, port, path, (str(literal),))
    return Target(scheme, _checked_name(host, allow_private=allow_private), port, path, ())


def _checked_name(host: str, *, allow_private: bool) -> str:
    """A host name's form: valid DNS labels, not an address in disguise and, unless private
    targets are allowed, a fully qualified name outside the local-only domains."""
    name = host.rstrip(".")
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise UnsafeTarget("The URL's host is not a valid DNS name or IP address.")
    if labels[-1].isdigit():
        # 127.1 or 2130706433 are IPv4 addresses to some resolvers.
        raise UnsafeTarget("The URL's host is not a valid DNS name or IP address.")
    if not allow_private:
        if len(labels) < 2:
            # Looked up through the local search domains or hosts file: an internal name.
            raise UnsafeTarget(
                f"The URL's host {name} is not a fully qualified public name (it has no domain)."
            )
        if any(name == s or name.endswith("." + s) for s in LOCAL_NAME_SUFFIXES):
            raise UnsafeTarget(f"The URL's host {name} is a local-only name.")
    return name


def _lookup(host: str, port: int, timeout: float, getaddrinfo: Callable) -> list[str]:
    """getaddrinfo with a deadline (it has none of its own); runs in a daemon thread."""
    found: list = []
    failure: list = []

    def run():
        try:
            found.extend(getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            failure.append(exc)

    worker = threading.Thread(target=run, name="webhook-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise UnsafeTarget(f"The URL's host {host} did not resolve within {timeout:g} s.")
    if failure or not found:
        raise UnsafeTarget(f"The URL's host {host} does not resolve.")
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in found:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


def resolve(
    url: str,
    *,
    allow_private: bool,
    ports: frozenset[int] = frozenset(),
    timeout: float = RESOLVE_TIMEOUT,
    getaddrinfo: Callable | None = None,
) -> Target:
    """Check a URL and every address its host resolves to; the target to connect to.

    Every address must be acceptable, not only the first: the connection goes to one of
    them, and a host that also resolves inside the network would be a way in. Called
    before every delivery (registration checks the form alone, with `parse_url`, and never
    waits on DNS), so a name that resolves elsewhere by then (DNS rebinding) is caught
    when it matters.
    """
    target = parse_url(url, allow_private=allow_private, ports=ports)
    if target.addresses:
        return target
    # Looked up at call time, not bound at import, so a replaced resolver is the one used.
    lookup = socket.getaddrinfo if getaddrinfo is None else getaddrinfo
    addresses = _lookup(target.host, target.port, timeout, lookup)
    for address in addresses:
        reason = address_refusal(address, allow_private=allow_private)
        if reason:
            raise UnsafeTarget(f"The URL's host {target.host} is refused: {reason}.")
    return Target(target.scheme, target.host, target.port, target.path, tuple(addresses))


# --- one POST ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code, an error, or both.

    Both when the status arrived but the rest of the answer did not in time: that is no
    delivery, whatever the status said.
    """

    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def _describe(exc: BaseException, timed_out: bool, total: float) -> str:
    if timed_out or isinstance(exc, TimeoutError | socket.timeout):
        return f"no complete answer within {total:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {exc.verify_message}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def _read_answer(
    response: http.client.HTTPResponse, limit: int, expired: threading.Event, total: float
) -> str | None:
    """Read the body up to `limit` bytes; an error when it did not end before the deadline."""
    received = 0
    try:
        while received < limit:
            chunk = response.read(limit - received)
            if not chunk:
                break
            received += len(chunk)
    except TimeoutError:
        return f"timed out reading the answer within {total:g} s"
    except (OSError, http.client.HTTPException):
        pass  # cut short by the receiver: its status stands, as before
    # The deadline shuts the socket down, which can also look like the end of a body.
    if expired.is_set():
        return f"timed out reading the answer within {total:g} s"
    return None


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to an address checked beforehand: the host is never looked up again (the Host
    header still names it). `connect()` is http.client's public hook for how to connect."""

    def __init__(
        self, host: str, port: int, address: str, sockets: list, *, timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address
        self.sockets = sockets

    def connect(self) -> None:
        self.sock = _open(self.address, self.port, self.timeout, self.sockets)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address checked beforehand; TLS sends the URL's host (SNI) and verifies
    the certificate against it."""

    def __init__(
        self, host: str, port: int, address: str, sockets: list, *, timeout: float
    ) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address
        self.sockets = sockets

    def connect(self) -> None:
        sock = _open(self.address, self.port, self.timeout, self.sockets)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _open(address: str, port: int, timeout: float | None, sockets: list) -> socket.socket:
    sock = socket.create_connection((address, port), timeout)
    sockets.append(sock)
    with contextlib.suppress(OSError):  # as http.client does: small requests go out at once
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _connection(target: Target, timeout: float, sockets: list) -> http.client.HTTPConnection:
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    return kind(target.host, target.port, target.addresses[0], sockets, timeout=timeout)


def post(
    target: Target,
    body: bytes,
    headers: Mapping[str, str],
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
    read_limit: int = RESPONSE_READ_LIMIT,
) -> Outcome:
    """POST the body to the target's checked address, never following a redirect.

    The connection goes to the address that was checked (the HTTP client must not look
    the name up again); TLS still verifies the certificate against the URL's host. A
    timer closes the socket at the overall deadline, however slowly the peer trickles.
    The status, headers and body (up to `read_limit` bytes) must all arrive by then: an
    answer that stalls after its status line is a failure, not a delivery.
    """
    started = time.monotonic()
    timeout = min(connect_timeout, total_timeout)
    # The sockets to cut at the deadline: the TCP one, then its TLS wrapper. The
    # connection object is no help there: it lets go of its socket once the response
    # owns it.
    sockets: list[socket.socket] = []
    conn = _connection(target, timeout, sockets)
    expired = threading.Event()
    timer = _deadline(total_timeout, sockets, expired)
    status, error, retry_after = None, None, None
    try:
        conn.connect()
        sockets.append(conn.sock)
        if expired.is_set():
            raise TimeoutError
        conn.sock.settimeout(max(0.001, total_timeout - (time.monotonic() - started)))
        conn.request(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        response = conn.getresponse()
        status = response.status
        retry_after = _retry_after(response.getheader("Retry-After"))
        error = _read_answer(response, read_limit, expired, total_timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        error = _describe(exc, expired.is_set(), total_timeout)
    finally:
        timer.cancel()
        conn.close()
    elapsed = int((time.monotonic() - started) * 1000)
    return Outcome(status, error, elapsed, retry_after)


def _deadline(seconds: float, sockets: list, expired: threading.Event) -> threading.Timer:
    """A started timer that, after `seconds`, sets `expired` and shuts every socket down."""

    def abort():
        expired.set()
        for sock in list(sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, abort)
    timer.daemon = True
    timer.start()
    return timer
