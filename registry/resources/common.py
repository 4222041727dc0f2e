"""Helpers the resources share: the app's registry state and the evaluation date."""

from __future__ import annotations

from datetime import date

from flask import current_app

from .. import audit
from ..auth import current_principal
from ..state import Registry


def registry() -> Registry:
    return current_app.extensions["registry"]


def as_of(args: dict) -> date:
    raw = args.get("as_of")
    return date.fromisoformat(raw) if raw else registry().today()


def actor() -> dict:
    """The audit trail's record of who is calling."""
    return audit.actor(current_principal())
