"""The roles an API key can have: what the HTTP layer checks and what keys/ issues."""

from __future__ import annotations

ROLES = ("admin", "procurement", "customer", "service", "feed")
# Roles bound to one customer: a customer key, and a feed key that reads only that
# customer's Atom feed (GET /v1/changes.atom, its token also accepted as `?token=`).
CUSTOMER_ROLES = ("customer", "feed")
