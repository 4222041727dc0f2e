"""The roles an API key can have: what the HTTP layer checks and what keys/ issues."""

from __future__ import annotations

ROLES = ("admin", "procurement", "customer", "service")
