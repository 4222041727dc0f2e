"""A synthetic register of sub-processors with realistic variety, loaded through the store layer."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from registry import clock
from registry.app import create_app
from registry.bootstrap import initialise
from registry.db import store as db
from registry.keys.store import create_key
from registry.settings import Settings
from registry.subprocessors import store
from registry.subprocessors.locations import check_locations, check_onward
from registry.subprocessors.schemas import SubprocessorCreateSchema

EEA = ("DE", "NL", "IE", "FR", "SE", "FI", "DK", "BE", "AT", "ES", "IT", "PL", "LU", "PT", "CZ")
ADEQUATE = ("CH", "JP", "GB", "CA", "NZ", "KR", "IL", "UY")
CATEGORIES = {
    "hosting": (
        "user.account.username",
        "user.contact.email",
        "user.name",
        "user.device.ip_address",
        "user.authorization.credentials",
        "user.content.private",
        "system.operations",
    ),
    "database_management": (
        "user.account",
        "user.contact",
        "user.authorization.credentials",
        "user.device.ip_address",
        "user.unique_id",
    ),
    "email_delivery": ("user.contact.email", "user.name", "user.device.ip_address"),
    "customer_support": (
        "user.name",
        "user.contact.email",
        "user.contact.phone_number",
        "user.account.username",
        "user.content.private",
    ),
    "monitoring": (
        "user.device.ip_address",
        "user.telemetry",
        "system.operations",
        "user.unique_id",
    ),
    "analytics": (
        "user.behavior.browsing_history",
        "user.device.cookie_id",
        "user.telemetry",
        "user.location",
        "user.contact.email",
    ),
    "payments": (
        "user.financial.bank_account",
        "user.payment",
        "user.name",
        "user.contact.address",
    ),
    "identity": ("user", "user.authorization.credentials", "user.account.username"),
    "other": ("user.contact", "user.name", "user.content"),
}
SERVICES = tuple(CATEGORIES)
FIRST = (
    "Bright",
    "Quill",
    "Tally",
    "Nimbus",
    "Harbor",
    "Cobalt",
    "Juniper",
    "Larch",
    "Meridian",
    "Orca",
    "Pylon",
    "Saffron",
    "Tundra",
    "Vesper",
    "Willow",
    "Zephyr",
)
SECOND = ("water", "stone", "field", "bridge", "light", "forge", "gate", "wave", "peak", "line")
KIND = ("Cloud", "Data", "Systems", "Labs", "Networks", "Services", "Analytics", "Mail")
ENTITY = ("GmbH", "B.V.", "Inc.", "Ltd", "SAS", "AB", "Oy", "S.r.l.")

# (profile, weight): what share of a register transfers where, and on which safeguard.
PROFILES = (
    ("eea_only", 40),
    ("us_certified", 22),
    ("scc_india", 14),
    ("adequate_country", 8),
    ("bcr_us", 3),
    ("scc_no_tia", 2),
    ("certification_stale", 2),
    ("derogation", 1),
    ("no_safeguard_sg", 3),
    ("us_uncertified", 2),
    ("scc_superseded", 2),
    ("safe_harbour_named", 1),
)
FLAGGED_PROFILES = {"no_safeguard_sg", "us_uncertified", "scc_superseded", "safe_harbour_named"}


def _day(today: date, days_ago: int) -> str:
    return (today - timedelta(days=days_ago)).isoformat()


def _transfer(profile: str, rng: random.Random, today: date) -> dict:
    """The one non-EEA location of a profile (None for EEA-only)."""
    activity = rng.choice(("processing", "remote_access"))
    if profile == "us_certified":
        safeguard = {
            "mechanism": "adequacy",
            "certified": True,
            "certification_checked_on": _day(today, rng.randint(5, 300)),
        }
        return {"country": "US", "activity": "remote_access", "safeguard": safeguard}
    if profile == "certification_stale":
        safeguard = {
            "mechanism": "adequacy",
            "certified": True,
            "certification_checked_on": _day(today, rng.randint(400, 700)),
        }
        return {"country": "US", "activity": activity, "safeguard": safeguard}
    if profile == "us_uncertified":
        return {"country": "US", "activity": activity, "safeguard": {"mechanism": "adequacy"}}
    if profile == "safe_harbour_named":
        safeguard = {"mechanism": "adequacy", "adequacy_decision": "us-safe-harbour-2000"}
        return {"country": "US", "activity": activity, "safeguard": safeguard}
    if profile in ("scc_india", "scc_no_tia"):
        signed = rng.randint(200, 1200)
        safeguard = {
            "mechanism": "scc",
            "scc_version": "2021/914",
            "scc_module": 3,  # processor to processor: this organisation is a processor
            "signed_on": _day(today, signed),
        }
        if profile == "scc_india":
            safeguard["tia_completed_on"] = _day(today, signed + rng.randint(5, 60))
        return {"country": "IN", "activity": "processing", "safeguard": safeguard}
    if profile == "scc_superseded":
        safeguard = {
            "mechanism": "scc",
            "scc_version": "2010/87/EU",
            "signed_on": "2019-03-01",
            "tia_completed_on": "2019-02-15",
        }
        return {
            "country": rng.choice(("IN", "BR", "PH")),
            "activity": activity,
            "safeguard": safeguard,
        }
    if profile == "bcr_us":
        approved = rng.randint(300, 2000)
        safeguard = {
            "mechanism": "bcr",
            "approved_on": _day(today, approved),
            "tia_completed_on": _day(today, approved - 30),
        }
        return {"country": "US", "activity": activity, "safeguard": safeguard}
    if profile == "derogation":
        safeguard = {"mechanism": "derogation", "derogation": "contract_performance"}
        return {
            "country": rng.choice(("AU", "ZA", "MX")),
            "activity": activity,
            "safeguard": safeguard,
        }
    if profile == "no_safeguard_sg":
        return {"country": "SG", "activity": activity}
    if profile == "adequate_country":
        return {"country": rng.choice(ADEQUATE), "activity": activity}
    raise ValueError(profile)


def _onward(rng: random.Random, today: date, number: int) -> dict:
    """One of a sub-processor's own sub-processors: mostly EEA, adequate, DPF or SCCs."""
    kind = rng.choices(("eea", "adequate", "us", "scc"), (5, 2, 2, 1))[0]
    transfer = {"name": f"Onward {number}", "activity": rng.choice(("storage", "processing"))}
    if kind == "eea":
        return {**transfer, "country": rng.choice(EEA)}
    if kind == "adequate":
        return {**transfer, "country": rng.choice(("CH", "NZ", "UY", "AR"))}
    if kind == "us":
        safeguard = {
            "mechanism": "adequacy",
            "certified": True,
            "certification_checked_on": _day(today, rng.randint(5, 300)),
        }
        return {**transfer, "country": "US", "safeguard": safeguard}
    signed = rng.randint(200, 1200)
    safeguard = {
        "mechanism": "scc",
        "scc_version": "2021/914",
        "scc_module": 3,
        "signed_on": _day(today, signed),
        "tia_completed_on": _day(today, signed + 10),
    }
    return {**transfer, "country": "IN", "safeguard": safeguard}


def generate(
    count: int, *, seed: int = 2026, today: date | None = None, onward: int = 0
) -> list[dict]:
    """`count` POST /v1/subprocessors bodies, each with three locations and `onward`
    onward transfers."""
    today = today or date.today()
    rng = random.Random(seed)
    chain = random.Random(seed + 1)  # its own stream: the locations stay those of onward=0
    names, weights = zip(*PROFILES, strict=True)
    records = []
    for index in range(count):
        profile = rng.choices(names, weights)[0]
        service = rng.choice(SERVICES)
        pool = CATEGORIES[service]
        storage, backup = rng.sample(EEA, 2)
        middle = (
            {
                "country": rng.choice([c for c in EEA if c not in (storage, backup)]),
                "activity": "processing",
            }
            if profile == "eea_only"
            else _transfer(profile, rng, today)
        )
        brand = f"{rng.choice(FIRST)}{rng.choice(SECOND)} {rng.choice(KIND)}"
        # A few are proposed (effective in the future), the rest already in use.
        effective = rng.randint(-60, -1) if rng.random() < 0.03 else rng.randint(30, 1500)
        records.append(
            {
                "name": f"{brand} {index:06d}",
                "legal_entity": f"{brand} {rng.choice(ENTITY)}",
                "service": service,
                "purpose": f"{service.replace('_', ' ').capitalize()} for the identity platform",
                "data_categories": rng.sample(pool, rng.randint(min(2, len(pool)), len(pool))),
                "locations": [
                    {"country": storage, "activity": "storage"},
                    middle,
                    {"country": backup, "activity": "backup"},
                ],
                "onward_transfers": [_onward(chain, today, n) for n in range(onward)],
                "effective_on": _day(today, effective),
                "_profile": profile,
            }
        )
    return records


def profile_counts(records: list[dict]) -> Counter:
    return Counter(record["_profile"] for record in records)


def validate(registry, records: list[dict]) -> list[dict]:
    """Each body through the API's schema and law checks; raises on the first invalid one."""
    schema = SubprocessorCreateSchema()
    law = registry.law()
    loaded = []
    for record in records:
        data = schema.load({k: v for k, v in record.items() if not k.startswith("_")})
        errors = check_locations(data["locations"], law)
        errors += check_onward(data.get("onward_transfers", []), law, data["name"])
        if errors:
            raise ValueError(f"{record['name']}: {errors}")
        loaded.append(data)
    return loaded


def insert(registry, bodies: list[dict], *, pending: float = 0.0, seed: int = 2026) -> None:
    """Insert validated bodies in one write transaction and bump the revision once.

    A share `pending` of them get a material change announced and not yet in force (a new
    data category and a new EEA country, 30 days ahead), as procurement's PATCH would.
    """
    today = registry.today()
    rng = random.Random(seed)
    with registry.db.write() as tx:
        for number, body in enumerate(bodies):
            record = store.create(tx, {**body, "announced_on": today.isoformat()})
            if rng.random() < pending:
                store.set_pending(
                    tx,
                    record["id"],
                    {
                        "change_id": f"chg_bench{number:010d}",
                        "base_version": record["version"],
                        "changes": {
                            "data_categories": [*record["data_categories"], "user.name"],
                            "locations": [
                                *record["locations"],
                                {"country": "LU", "activity": "backup"},
                            ],
                        },
                        "announced_on": today.isoformat(),
                        "effective_on": (today + timedelta(days=30)).isoformat(),
                        "urgent_reason": None,
                    },
                )
        db.bump_revision(tx)


def open_registry(path: str, today: date | None = None):
    """An app on the SQLite file at `path`, initialised (migrations and reference law)."""
    if today is not None:
        clock.set(today)
    app = create_app(Settings(database=path))
    registry = app.extensions["registry"]
    initialise(registry)
    return app, registry


def token(registry, role: str) -> str:
    with registry.db.write() as tx:
        _, secret = create_key(tx, role=role, name=f"bench {role}")
    return secret
