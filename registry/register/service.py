"""The register as its readers see it: each record with today's verdict (or a customer's view
of it), the objections upheld to it, its copies on file, and the list on any past day.

The routes (api.py) hand in the reader: `customer_id` is the customer a reader is confined to,
None for staff and services, who see verdicts.
"""

from __future__ import annotations

from ..compliance import engine
from ..customer_projection import projection
from ..documents import service as documents
from ..events import service as change_feed
from ..history import service as versions
from ..objections import service as objections
from ..runtime import Registry
from ..subprocessors import service as subprocessors
from ..verdicts import service as compliance

# A page filtered on `flagged`, or read on a past day, reads at most this many rows before
# answering with a cursor.
SCAN_LIMIT = 5000
_BATCH = 200
# Versions kept before a field existed lack it: it had its default then.
_BEFORE_FIELDS_EXISTED = {
    "onward_transfers": [],
    "already_in_use": False,
    "urgent_reason": None,
    "retired_reason": None,
}


def upheld(registry: Registry, record: dict, customer_id: str | None) -> list[dict]:
    """Upheld objections to it: all for staff, a customer's own for a customer."""
    return objections.upheld_for(registry.db.connection(), record["id"], customer_id)


def represent(registry: Registry, record: dict, customer_id: str | None) -> dict:
    """Today's record as its reader sees it: with its verdict for staff and services, as the
    facts of its transfers for a customer (customer_projection/view.py)."""
    upheld_objections = upheld(registry, record, customer_id)
    if customer_id is not None:
        return compliance.customer_view(registry, record, upheld_objections)
    return {**compliance.represent(registry, record), "upheld_objections": upheld_objections}


def represent_written(registry: Registry, record: dict) -> dict:
    """A record just written, as staff (the only writers) see it."""
    return {
        **compliance.represent_written(registry, record),
        "upheld_objections": upheld(registry, record, None),
    }


def etag_data(registry: Registry, record: dict, customer_id: str | None) -> dict:
    """What the representation depends on: it carries today's verdict, so the day, the law and
    the copies on file (SCC_COPY_MISSING) are part of it."""
    return {
        "id": record["id"],
        "version": record["version"],
        "as_of": registry.today().isoformat(),
        "law": registry.law().version,
        "copies": documents.copies_of(registry.db.connection(), record["id"]),
        # A change announced or amended, and objections upheld, write no new version.
        "pending": record["pending_change"]
        and {k: record["pending_change"][k] for k in ("change_id", "effective_on", "changes")},
        "upheld": [o["id"] for o in upheld(registry, record, customer_id)],
        # Staff's verdict moves the warnings waived today (a waiver writes no new version).
        "waived": None if customer_id is not None else compliance.waiver_ids(registry, record),
        # Customers read another representation of the same state: another ETag.
        "view": "customer" if customer_id is not None else "staff",
    }


def history(registry: Registry, subprocessor_id: str, customer_id: str | None) -> dict:
    """Every version of a sub-processor, oldest first, with the change announced and not yet
    in force and the objections raised (a customer's own, for a customer, who reads each
    version as the facts of its transfers)."""
    conn = registry.db.connection()
    record = subprocessors.get(conn, subprocessor_id)
    kept = versions.versions(conn, subprocessor_id)
    raised = objections.for_subprocessor(conn, subprocessor_id, customer_id)
    if customer_id is not None:
        snapshot = compliance.snapshot(registry)
        return projection.history(
            subprocessor_id,
            kept,
            record,
            raised,
            snapshot.law,
            registry.today(),
            snapshot.copies,
        )
    return {
        "subprocessor_id": subprocessor_id,
        "versions": kept,
        # The version to come, announced and not yet in force.
        "pending_change": record["pending_change"],
        "objections": [objections.represent(objection, staff=True) for objection in raised],
    }


def current_page(registry: Registry, filters: dict, *, after: int, limit: int) -> list[dict]:
    """`limit` records of today's register after the cursor, as stored (not represented)."""
    today = registry.today().isoformat()
    conn = registry.db.connection()
    return subprocessors.page(conn, today=today, after_seq=after, limit=limit, **filters)


def _verdict_applies(status: str, filters: dict) -> bool:
    """A list filtered on `flagged` holds the sub-processors not retired, as the compliance
    report does (a retired vendor is no finding), unless it asks for a `status`."""
    return status != "retired" or filters.get("status") == "retired"


def flagged_page(
    registry: Registry, filters: dict, flagged: bool, *, after: int, limit: int
) -> tuple[list[dict], int, bool]:
    """Today's records, represented for staff, whose verdict is (or is not) flagged, retired
    ones only with `status=retired`: `flagged` depends on computed verdicts, so the register
    is scanned in batches, at most SCAN_LIMIT records a request. The items, the last position
    read, and whether the list ended."""
    items, scanned, last_seq, exhausted = [], 0, after, False
    while len(items) < limit and scanned < SCAN_LIMIT:
        rows = current_page(
            registry, filters, after=last_seq, limit=min(_BATCH, SCAN_LIMIT - scanned)
        )
        if not rows:
            exhausted = True
            break
        for row in rows:
            scanned += 1
            last_seq = row["seq"]
            represented = represent(registry, row, None)
            if not _verdict_applies(represented["status"], filters):
                continue
            if (represented["compliance"]["status"] == "flagged") == flagged:
                items.append(represented)
                if len(items) == limit:
                    break
    if not exhausted and len(items) == limit:
        exhausted = not current_page(registry, filters, after=last_seq, limit=1)
    return items, last_seq, exhausted


def register_at(
    registry: Registry,
    args: dict,
    *,
    on,
    before: str,
    after: int,
    customer_id: str | None,
) -> tuple[list[dict], int, bool]:
    """The list as it stood before `before` (the end of `at`): that day's versions, status and
    verdicts on `on`, filtered by `args`; bounded as `flagged_page` is. The items, the last
    position read, and whether the list ended."""
    conn = registry.db.connection()
    limit, law = args["limit"], registry.law()
    items, scanned, last_seq, exhausted = [], 0, after, False
    with registry.db.snapshot():
        copies = documents.disclosable_copies(conn, before)

        def stood(record: dict | None) -> dict | None:
            return _as_it_stood(registry, record, args, on, before, law, copies, customer_id)

        while len(items) < limit and scanned < SCAN_LIMIT:
            batch = versions.register_page(
                conn, before, last_seq, min(_BATCH, SCAN_LIMIT - scanned)
            )
            if not batch:
                exhausted = True
                break
            for seq, record in batch:
                scanned, last_seq = scanned + 1, seq
                represented = stood(record)
                if represented is not None:
                    items.append(represented)
                    if len(items) == limit:
                        break
        if not exhausted and len(items) == limit:
            exhausted = not versions.register_page(conn, before, last_seq, 1)
    return items, last_seq, exhausted


def _matches(record: dict, status: str, args: dict) -> bool:
    if args.get("status") and status != args["status"]:
        return False
    if args.get("service") and record["service"] != args["service"]:
        return False
    return not args.get("country") or args["country"] in {
        loc.get("country") for loc in record["locations"]
    }


def _as_it_stood(
    registry: Registry,
    record: dict | None,
    args: dict,
    on,
    before: str,
    law,
    copies,
    customer_id: str | None,
) -> dict | None:
    """The record with its status and verdict on `on`, if it matches the list's filters."""
    if record is None:  # not on the register yet
        return None
    pending = change_feed.pending_at(registry.db.connection(), record["id"], before)
    record = {
        **_BEFORE_FIELDS_EXISTED,
        **record,
        "pending_change": pending,
        "upheld_objections": [],
    }
    status = engine.status_on(record, on)
    if not _matches(record, status, args):
        return None
    verdict = engine.evaluate(
        record,
        law,
        on,
        copies=copies,
        notice_days=registry.notice_days,
        role=registry.settings.organisation_role,
    )
    flagged = args.get("flagged")
    if flagged is not None and (
        not _verdict_applies(status, args) or (verdict["status"] == "flagged") != flagged
    ):
        return None
    if customer_id is not None:
        return projection.subprocessor(
            compliance.with_verdict(record, verdict, on),
            law,
            on,
            copies,
            verdict=verdict,
            upheld_objections=[],
        )
    # Staff read the waivers in force that day, as they stood then.
    verdict = compliance.waived(registry, record["id"], verdict, on, before)
    return compliance.with_verdict(record, verdict, on)
