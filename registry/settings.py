"""Every REGISTRY_* variable, parsed once into one frozen Settings object."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIB = 1024 * 1024
# This organisation's roles for the data it passes on (compliance/ checks the same pair).
ORGANISATION_ROLES = ("processor", "controller")


class SettingsError(ValueError):
    """A REGISTRY_* variable has a value the registry cannot use."""


def _env(name: str) -> dict:
    """The field's variable is REGISTRY_<name>."""
    return {"env": name}


@dataclass(frozen=True)
class Settings:
    """The registry's configuration; the defaults here are the only ones."""

    database: str = field(default=str(Path("var") / "registry.db"), metadata=_env("DATABASE"))
    # Reference law and demo catalogue; None: the data/ shipped with the package.
    data_dir: str | None = field(default=None, metadata=_env("DATA"))
    # Copies of transfer mechanisms; None: `documents/` beside the database.
    documents: str | None = field(default=None, metadata=_env("DOCUMENTS"))
    max_json: int = field(default=1 * MIB, metadata=_env("MAX_JSON"))  # larger is 413
    max_upload: int = field(default=50 * MIB, metadata=_env("MAX_UPLOAD"))  # larger is 413
    notice_days: int = field(default=30, metadata=_env("NOTICE_DAYS"))
    busy_timeout_ms: int = field(default=30_000, metadata=_env("BUSY_TIMEOUT_MS"))
    # Private and loopback webhook targets (and plain http): development and tests only.
    webhook_allow_private: bool = field(default=False, metadata=_env("WEBHOOK_ALLOW_PRIVATE"))
    webhook_backoff: float = field(default=5.0, metadata=_env("WEBHOOK_BACKOFF"))
    webhook_max_failures: int = field(default=10, metadata=_env("WEBHOOK_MAX_FAILURES"))
    webhook_max_attempts: int = field(default=20, metadata=_env("WEBHOOK_MAX_ATTEMPTS"))
    webhook_lease: float = field(default=60.0, metadata=_env("WEBHOOK_LEASE"))
    # Requests per window for each customer and service key ("COUNT/SECONDS"; empty: none).
    rate_limit: str = field(default="600/60", metadata=_env("RATE_LIMIT"))
    # Ports webhook URLs may name besides 443, comma-separated (e.g. "8443,9443").
    webhook_ports: str = field(default="", metadata=_env("WEBHOOK_PORTS"))
    # Seconds a request's head and body may take to arrive, in total from its first byte,
    # and each write of its answer: a request still incomplete then is answered 408 and its
    # connection closed. A head is gathered without holding a thread.
    read_timeout: float = field(default=10.0, metadata=_env("READ_TIMEOUT"))
    # Connections one client address may hold open in each server worker; the next is 429.
    # Below REGISTRY_THREADS, so that one address's stalled bodies cannot hold every thread.
    client_connections: int = field(default=128, metadata=_env("CLIENT_CONNECTIONS"))
    # Threads per server worker, enough that stalled connections cannot starve the rest.
    threads: int = field(default=256, metadata=_env("THREADS"))
    # This organisation's role for the data it passes to sub-processors: the SCC module
    # its contracts must use (processor: Module 3, controller: Module 2).
    organisation_role: str = field(default="processor", metadata=_env("ORGANISATION_ROLE"))
    # The registry's day: `effective_on`, objection deadlines and "today" turn at midnight
    # in this IANA zone. Stored timestamps stay UTC.
    timezone: str = field(default="Europe/Brussels", metadata=_env("TIMEZONE"))
    # Where clients reach the registry (https://registry.example.com): the base of every
    # absolute link it writes. None: links are relative, never built from the Host header.
    public_url: str | None = field(default=None, metadata=_env("PUBLIC_URL"))
    # Where Litestream ships the database (`registry replicate`): file:///path or s3://bucket/path.
    # Set on the primary, its processes leave WAL checkpoints to Litestream.
    replica_url: str | None = field(default=None, metadata=_env("REPLICA_URL"))
    # Seconds between Litestream's shipments of new changes, and a follower's polls for them.
    replica_sync_interval: float = field(default=1.0, metadata=_env("REPLICA_SYNC_INTERVAL"))
    # A read-only node (`registry serve --read-only`) on a replica: it writes nothing and answers
    # every write with 503, naming the primary (an http(s) origin) where writes go.
    read_only: bool = field(default=False, metadata=_env("READ_ONLY"))
    primary_url: str | None = field(default=None, metadata=_env("PRIMARY_URL"))
    # Largest file `POST /v1/subprocessors/import` takes (CSV, XLSX or JSON); larger is 413.
    max_import: int = field(default=20 * MIB, metadata=_env("MAX_IMPORT"))
    # Seconds from a disclosure in which more downloads of the same copy by the same key are
    # that one disclosure (a resumed or ranged download is not a second hand-over).
    disclosure_window: int = field(default=3600, metadata=_env("DISCLOSURE_WINDOW"))
    # Hours from a breach's detection within which customers concerned must be told of it;
    # an incident still open after that is INCIDENT_NOTICE_OVERDUE (an error).
    incident_notice_hours: int = field(default=24, metadata=_env("INCIDENT_NOTICE_HOURS"))
    # Days documentation requests, disclosures, webhook delivery logs and closed incidents'
    # customer lists are kept, purged daily by the worker (`registry purge`); 0 keeps them.
    retention_days: int = field(default=730, metadata=_env("RETENTION_DAYS"))
    # What one customer's keys can make the registry store (registry/http/quotas.py); 0 is no
    # quota. Standing quotas (409 over them): webhooks registered, objections open,
    # documentation requests with an item pending. Per 24 hours (429 with Retry-After):
    # documentation requests made, webhook writes (create, update, delete, rotate-secret).
    quota_webhooks: int = field(default=20, metadata=_env("QUOTA_WEBHOOKS"))
    quota_webhook_changes: int = field(default=100, metadata=_env("QUOTA_WEBHOOK_CHANGES"))
    quota_open_objections: int = field(default=50, metadata=_env("QUOTA_OPEN_OBJECTIONS"))
    quota_documentation_requests: int = field(
        default=5, metadata=_env("QUOTA_DOCUMENTATION_REQUESTS")
    )
    quota_open_documentation_requests: int = field(
        default=10, metadata=_env("QUOTA_OPEN_DOCUMENTATION_REQUESTS")
    )
    # Finished deliveries (delivered or given up) kept in each webhook endpoint's log, with
    # their attempts; the worker deletes older ones beyond it. 0 keeps them (until retention).
    webhook_log_limit: int = field(default=1000, metadata=_env("WEBHOOK_LOG_LIMIT"))
    # ClamAV's daemon, which scans every upload before it is stored: an absolute unix socket
    # path or host:port. None: copies are stored unscanned, marked `not_scanned`.
    clamd: str | None = field(default=None, metadata=_env("CLAMD"))
    # Seconds each exchange with clamd (connect, each send, the answer) may take; past it the
    # upload is 503 and nothing is stored.
    clamd_timeout: float = field(default=60.0, metadata=_env("CLAMD_TIMEOUT"))

    def __post_init__(self) -> None:
        # At least one attempt, and one failure before an endpoint is disabled.
        for name in ("webhook_max_failures", "webhook_max_attempts"):
            object.__setattr__(self, name, max(1, getattr(self, name)))
        _ports(self.webhook_ports)  # refused here, at start, rather than at the first webhook
        _budget(self.rate_limit)
        if not 0 < self.read_timeout <= 300:
            raise SettingsError(
                f"REGISTRY_READ_TIMEOUT must be seconds above 0 and at most 300, "
                f"got {self.read_timeout!r}"
            )
        if not 1 <= self.threads <= 1024:
            raise SettingsError(f"REGISTRY_THREADS must be 1 to 1024, got {self.threads!r}")
        if not 1 <= self.client_connections <= 10_000:
            raise SettingsError(
                f"REGISTRY_CLIENT_CONNECTIONS must be 1 to 10000, got {self.client_connections!r}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(
                f"REGISTRY_TIMEZONE must be an IANA time zone such as Europe/Brussels, "
                f"got {self.timezone!r}"
            ) from exc
        if self.organisation_role not in ORGANISATION_ROLES:
            raise SettingsError(
                f"REGISTRY_ORGANISATION_ROLE must be one of {', '.join(ORGANISATION_ROLES)}, "
                f"got {self.organisation_role!r}"
            )

        if self.public_url is not None:
            _check_public_url(self.public_url)
        _check_replication(self)
        if not self.disclosure_window > 0:
            raise SettingsError(
                f"REGISTRY_DISCLOSURE_WINDOW must be positive, got {self.disclosure_window!r}"
            )
        if not self.incident_notice_hours >= 1:
            raise SettingsError(
                "REGISTRY_INCIDENT_NOTICE_HOURS must be at least 1, "
                f"got {self.incident_notice_hours!r}"
            )
        if self.clamd is not None:
            parse_clamd(self.clamd)
        if not 0 < self.clamd_timeout <= 3600:
            raise SettingsError(
                "REGISTRY_CLAMD_TIMEOUT must be seconds above 0 and at most 3600, "
                f"got {self.clamd_timeout!r}"
            )

    @property
    def clamd_address(self) -> str | tuple[str, int] | None:
        """The unix socket path, or (host, port), of REGISTRY_CLAMD; None when unset."""
        return None if self.clamd is None else parse_clamd(self.clamd)

    @property
    def rate_budget(self) -> tuple[int, int] | None:
        """(requests, seconds) per window, or None when unlimited."""
        return _budget(self.rate_limit)

    @property
    def webhook_port_set(self) -> frozenset[int]:
        return _ports(self.webhook_ports)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def documents_dir(self) -> str:
        if self.documents:
            return self.documents
        return os.path.join(os.path.dirname(os.path.abspath(self.database)), "documents")

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read each field's REGISTRY_* variable; unset or empty keeps the default."""
        environ = os.environ if environ is None else environ
        values = {}
        for spec in dataclasses.fields(cls):
            name = "REGISTRY_" + spec.metadata["env"]
            raw = environ.get(name)
            if raw is not None and raw != "":
                values[spec.name] = _parse(name, raw, spec.type)
        return cls(**values)


def parse_clamd(value: str) -> str | tuple[str, int]:
    """REGISTRY_CLAMD: an absolute unix socket path, or (host, port) from `host:port`
    (`[::1]:3310` for IPv6)."""
    text = value.strip()
    if text.startswith("/") and "\0" not in text:
        return text
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if (
        not sep
        or not host
        or not port.isdigit()
        or not 1 <= int(port) <= 65535
        or any(ch.isspace() or ch in "/[]@" or ord(ch) < 0x20 for ch in host)
    ):
        raise SettingsError(
            "REGISTRY_CLAMD must be clamd's unix socket (an absolute path such as "
            "/run/clamav/clamd.ctl) or host:port (such as 127.0.0.1:3310), "
            f"got {value!r}"
        )
    return host, int(port)


def _check_public_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- a port that is not a number raises ValueError
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "?" in url
        or "#" in url
        or any(ch.isspace() or ord(ch) < 0x20 for ch in url)
    ):
        raise SettingsError(
            "REGISTRY_PUBLIC_URL must be an https (or http) URL with a host and no path, "
            f"query or fragment, such as https://registry.example.com, got {url!r}"
        )


# What a boolean variable takes, in any case.
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _parse(name: str, raw: str, kind: str) -> object:
    if kind == "bool":
        # Strict both ways: a value meant as "on" must never start the opposite (a writable
        # primary for REGISTRY_READ_ONLY=true), so anything unlisted stops the command.
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise SettingsError(
            f"{name} must be one of {', '.join(_TRUE)} or {', '.join(_FALSE)} (any case), "
            f"got {raw!r}"
        )
    if kind == "int":
        try:
            value = int(raw)
        except ValueError as exc:
            raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
        if value < 0:
            raise SettingsError(f"{name} must not be negative, got {value}")
        return value
    if kind == "float":
        try:
            value = float(raw)
        except ValueError as exc:
            raise SettingsError(f"{name} must be a number, got {raw!r}") from exc
        if not value > 0:
            raise SettingsError(f"{name} must be positive, got {raw!r}")
        return value
    return raw


def _ports(raw: str) -> frozenset[int]:
    ports = set()
    for part in filter(None, (piece.strip() for piece in raw.split(","))):
        if not part.isdigit() or not 1 <= int(part) <= 65535:
            raise SettingsError(
                f"REGISTRY_WEBHOOK_PORTS must list port numbers 1-65535, got {part!r}"
            )
        ports.add(int(part))
    return frozenset(ports)


def _budget(raw: str) -> tuple[int, int] | None:
    text = raw.strip()
    if not text:
        return None
    count, _, seconds = text.partition("/")
    if not (count.isdigit() and seconds.isdigit() and int(count) > 0 and int(seconds) > 0):
        raise SettingsError(
            f"REGISTRY_RATE_LIMIT must be COUNT/SECONDS (e.g. 600/60) or empty, got {raw!r}"
        )
    return int(count), int(seconds)


def _check_replication(settings: Settings) -> None:
    url = settings.replica_url
    if url is not None:
        parts = urlsplit(url)
        if (
            not parts.scheme
            or not (parts.netloc or parts.path)
            or any(ch.isspace() for ch in url)
            or (
                parts.scheme == "file"
                and (parts.netloc not in ("", "localhost") or not parts.path.startswith("/"))
            )
        ):
            raise SettingsError(
                "REGISTRY_REPLICA_URL must be a Litestream replica URL such as "
                f"file:///var/backups/registry or s3://bucket/registry, got {url!r}"
            )
    if not 0 < settings.replica_sync_interval <= 3600:
        raise SettingsError(
            "REGISTRY_REPLICA_SYNC_INTERVAL must be seconds above 0 and at most 3600, "
            f"got {settings.replica_sync_interval!r}"
        )
    if settings.primary_url is not None:
        try:
            _check_public_url(settings.primary_url)
        except SettingsError:
            raise SettingsError(
                "REGISTRY_PRIMARY_URL must be an https (or http) URL with a host and no path, "
                f"query or fragment, such as https://registry.example.com, got "
                f"{settings.primary_url!r}"
            ) from None


# The configuration reference, docs/configuration.md (`registry docs write`): what each
# variable means, keyed by the field's `env` name. A field missing here stops the reference
# from being written, and a test fails while the committed page differs from the code.
MEANINGS: dict[str, str] = {
    "DATABASE": "the SQLite file",
    "DATA": "reference law and demo catalogue",
    "DOCUMENTS": "where copies of transfer mechanisms are stored, by SHA-256",
    "MAX_JSON": "largest JSON body; larger is 413",
    "MAX_UPLOAD": "largest uploaded document; larger is 413",
    "MAX_IMPORT": (
        "largest file an import takes (`POST /v1/subprocessors/import`, `registry import`); "
        "larger is 413"
    ),
    "NOTICE_DAYS": "default notice before a new sub-processor becomes active",
    "BUSY_TIMEOUT_MS": "how long a writer waits for the write lock",
    "WEBHOOK_ALLOW_PRIVATE": (
        "yes (`1`, `true`, ...) lets webhook URLs use `http` and resolve to loopback or "
        "private addresses (development and tests only)"
    ),
    "WEBHOOK_BACKOFF": (
        "seconds before a failed webhook attempt is retried; doubles per failure up to an hour"
    ),
    "WEBHOOK_MAX_FAILURES": (
        "webhook attempts in a row failing before the endpoint is disabled (at least 1)"
    ),
    "WEBHOOK_MAX_ATTEMPTS": "attempts at one event before it is given up as `failed` (at least 1)",
    "WEBHOOK_LEASE": (
        "seconds a worker's claim on a delivery holds; after a crash the event is sent again "
        "when it ends"
    ),
    "RATE_LIMIT": (
        "requests per window (`COUNT/SECONDS`) for each customer and service key, counted "
        "across workers in a file beside the database (`-limits`, no fsync); over it, 429 "
        "with `Retry-After` and the IETF draft `RateLimit` and `RateLimit-Policy` headers. "
        "Staff keys, public reads and allowed-processors are not counted. Empty: no limit"
    ),
    "READ_TIMEOUT": (
        "seconds a request's head and body may take to arrive, in total from its first byte "
        "(not per read), and each write of the answer may take; a request still incomplete "
        "then is answered 408 and its connection closed"
    ),
    "THREADS": (
        "threads per server worker: a head is gathered without one, a stalled body holds one "
        "for at most `REGISTRY_READ_TIMEOUT`"
    ),
    "CLIENT_CONNECTIONS": (
        "connections one client address may hold open in each server worker (1\u201310000); the "
        "next is answered 429 and closed. Keep it below `REGISTRY_THREADS`, so that one "
        "address's stalled bodies cannot hold every thread. Behind a proxy every client has "
        "the proxy's address: raise it to the proxy's connection pool"
    ),
    "WEBHOOK_PORTS": (
        "ports webhook URLs may name besides 443, comma-separated; any other port is refused "
        "(422 at `/url`, and again before each delivery)"
    ),
    "TIMEZONE": (
        'the registry\'s day: "today", `effective_on` and objection deadlines turn at midnight'
        " in this IANA zone (stored timestamps stay UTC)"
    ),
    "ORGANISATION_ROLE": (
        "this organisation's role for the data it passes to sub-processors: `processor` "
        "(2021/914 SCCs must use Module 3) or `controller` (Module 2)"
    ),
    "DISCLOSURE_WINDOW": (
        "seconds from a disclosure in which more downloads of the same copy by the same key "
        "are that disclosure (counted in its `downloads`), not new ones; must be positive"
    ),
    "PUBLIC_URL": (
        "where clients reach the registry, an `https` (or `http`) origin such as "
        "`https://registry.example.com` (no path, query or fragment; a trailing slash is "
        "fine): the base of every absolute link the API writes (the Atom feed's). Unset, "
        "links are relative. Never taken from the request's `Host` header. Anything else "
        "stops the command with a message"
    ),
    "REPLICA_URL": (
        "where `registry replicate` ships the database and `registry restore` reads it: "
        "`file:///absolute/path` or `s3://bucket/path` (Litestream's S3-compatible URLs; "
        "credentials in Litestream's `LITESTREAM_ACCESS_KEY_ID` and "
        "`LITESTREAM_SECRET_ACCESS_KEY`). Set on the primary, its processes stop "
        "checkpointing the WAL themselves and leave it to Litestream"
    ),
    "REPLICA_SYNC_INTERVAL": (
        "seconds between Litestream's shipments of new changes, and between a follower's "
        "polls for them (above 0, at most 3600): the replication lag is about one to two of "
        "them"
    ),
    "READ_ONLY": "yes (`1`, `true`, ...) does what `registry serve --read-only` does",
    "PRIMARY_URL": (
        "on a read-only node, the primary's origin (`https://registry.example.com`, checked "
        "as `REGISTRY_PUBLIC_URL` is), named in every 503 a write gets there"
    ),
    "INCIDENT_NOTICE_HOURS": (
        "hours after a breach's `detected_on` by which the customers concerned must have been"
        " told; an incident still `open` then is `INCIDENT_NOTICE_OVERDUE` (an error in "
        "`/v1/compliance` and `registry check`). At least 1"
    ),
    "RETENTION_DAYS": (
        "days documentation requests, disclosures, webhook delivery logs and closed "
        "incidents' lists of customers are kept before the daily purge deletes them (see "
        "[retention](operations.md#retention)); `0` keeps them for ever"
    ),
    "QUOTA_DOCUMENTATION_REQUESTS": (
        "documentation requests one customer may make in any 24 hours; one more is 429 with "
        "`Retry-After` (see [quotas](api.md#quotas)). `0`: no quota"
    ),
    "QUOTA_OPEN_DOCUMENTATION_REQUESTS": (
        "documentation requests with an item still pending one customer may hold; one more is"
        " 409. `0`: no quota"
    ),
    "QUOTA_WEBHOOKS": "webhook endpoints one customer may hold; one more is 409. `0`: no quota",
    "QUOTA_WEBHOOK_CHANGES": (
        "webhook writes (create, update, delete, rotate-secret) one customer's keys may make "
        "in any 24 hours; one more is 429 with `Retry-After`. Staff writes are not counted. "
        "`0`: no quota"
    ),
    "QUOTA_OPEN_OBJECTIONS": (
        "open objections one customer may hold; one more is 409. `0`: no quota"
    ),
    "CLAMD": (
        "ClamAV's daemon (`clamd`), which scans every uploaded copy before it is stored: its "
        "unix socket (an absolute path such as `/run/clamav/clamd.ctl`) or `host:port` (such "
        "as `127.0.0.1:3310`). A file it finds a signature in is refused (422 at `/file`, "
        "naming it); clamd unreachable, timing out or answering an error is 503 and nothing "
        "is stored. Unset: copies are stored unscanned, marked `scan: not_scanned`, and "
        "`registry check` notes each (see [malware scanning](operations.md#malware-scanning))"
    ),
    "CLAMD_TIMEOUT": (
        "seconds each exchange with clamd (connecting, each chunk sent, its answer) may take "
        "(above 0, at most 3600); past it the upload is 503 and nothing is stored"
    ),
    "WEBHOOK_LOG_LIMIT": (
        "finished deliveries (delivered or given up) kept in each endpoint's delivery log, "
        "with their attempts; the worker deletes older ones as new ones finish. `0`: kept "
        "until the retention purge"
    ),
}

# Defaults that their value alone does not say (None resolved elsewhere).
SHOWN_DEFAULTS: dict[str, str] = {
    "DATA": "`data/`: the checkout's, or the copy installed with the package (`registry/data/`)",
    "DOCUMENTS": "`documents/` beside the database (`var/documents`)",
}
