"""Configuration defaults and their REGISTRY_* environment overrides."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

MIB = 1024 * 1024


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc
    if value < 0:
        raise RuntimeError(f"{name} must not be negative, got {value}")
    return value


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a number, got {raw!r}") from exc
    if not value > 0:
        raise RuntimeError(f"{name} must be positive, got {raw!r}")
    return value


def utc_today() -> date:
    """Today in UTC: the calendar of every stored timestamp, whatever the server's time zone."""
    return datetime.now(UTC).date()


def from_environment() -> dict:
    """The application configuration, read from the environment at app creation."""
    return {
        "DATABASE": os.environ.get("REGISTRY_DATABASE", str(Path("var") / "registry.db")),
        "DATA_DIR": os.environ.get("REGISTRY_DATA") or None,
        # JSON request bodies larger than this are refused with 413.
        "MAX_CONTENT_LENGTH": _int_env("REGISTRY_MAX_JSON", 1 * MIB),
        "NOTICE_DAYS": _int_env("REGISTRY_NOTICE_DAYS", 30),
        # Document copies live beside the database unless placed elsewhere.
        "DOCUMENTS": os.environ.get("REGISTRY_DOCUMENTS") or None,
        "MAX_UPLOAD": _int_env("REGISTRY_MAX_UPLOAD", 50 * MIB),
        "BUSY_TIMEOUT_MS": _int_env("REGISTRY_BUSY_TIMEOUT_MS", 30_000),
        # Webhooks: private and loopback targets (and plain http) only for development and tests.
        "WEBHOOK_ALLOW_PRIVATE": os.environ.get("REGISTRY_WEBHOOK_ALLOW_PRIVATE") == "1",
        "WEBHOOK_BACKOFF": _float_env("REGISTRY_WEBHOOK_BACKOFF", 5.0),
        "WEBHOOK_MAX_FAILURES": max(1, _int_env("REGISTRY_WEBHOOK_MAX_FAILURES", 10)),
        "WEBHOOK_MAX_ATTEMPTS": max(1, _int_env("REGISTRY_WEBHOOK_MAX_ATTEMPTS", 20)),
        "WEBHOOK_LEASE": _float_env("REGISTRY_WEBHOOK_LEASE", 60.0),
        # The evaluation date for "today"; tests pin it, production uses the clock.
        "TODAY": utc_today,
        "API_TITLE": "Transfer registry",
        "API_VERSION": "1.0.0",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        "JSON_SORT_KEYS": False,
    }
