"""Every REGISTRY_* variable, parsed once into one frozen Settings object."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .compliance.engine import ROLES

MIB = 1024 * 1024


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
    # This organisation's role for the data it passes to sub-processors: the SCC module
    # its contracts must use (processor: Module 3, controller: Module 2).
    organisation_role: str = field(default="processor", metadata=_env("ORGANISATION_ROLE"))
    # The registry's day: `effective_on`, objection deadlines and "today" turn at midnight
    # in this IANA zone. Stored timestamps stay UTC.
    timezone: str = field(default="Europe/Brussels", metadata=_env("TIMEZONE"))
    # Where clients reach the registry (https://registry.example.com): the base of every
    # absolute link it writes. None: links are relative, never built from the Host header.
    public_url: str | None = field(default=None, metadata=_env("PUBLIC_URL"))

    def __post_init__(self) -> None:
        # At least one attempt, and one failure before an endpoint is disabled.
        for name in ("webhook_max_failures", "webhook_max_attempts"):
            object.__setattr__(self, name, max(1, getattr(self, name)))
        _ports(self.webhook_ports)  # refused here, at start, rather than at the first webhook
        _budget(self.rate_limit)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(
                f"REGISTRY_TIMEZONE must be an IANA time zone such as Europe/Brussels, "
                f"got {self.timezone!r}"
            ) from exc
        if self.organisation_role not in ROLES:
            raise SettingsError(
                f"REGISTRY_ORGANISATION_ROLE must be one of {', '.join(ROLES)}, "
                f"got {self.organisation_role!r}"
            )

        if self.public_url is not None:
            _check_public_url(self.public_url)

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


def _parse(name: str, raw: str, kind: str) -> object:
    if kind == "bool":
        return raw == "1"  # anything else leaves the safe default
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
