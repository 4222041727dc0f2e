"""Documents, documentation requests with their items, and the disclosure log."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable

from .. import clock
from ..errors import NotFound

DOCUMENT_COLUMNS = (
    "seq",
    "id",
    "sha256",
    "size",
    "media_type",
    "filename",
    "kind",
    "title",
    "subprocessor_id",
    "country",
    "audience",
    "summary",
    "uploaded_by",
    "uploaded_at",
    "withdrawn_at",
    "withdrawn_by",
    "withdrawn_reason",
    "supersedes",
    "superseded_by",
    "scan",
    "scan_engine",
    "scan_signatures",
    "scanned_at",
)
# Kept in document_scans; a copy without a row there was stored unscanned.
SCAN_COLUMNS = ("scan", "scan_engine", "scan_signatures", "scanned_at")
_SELECT_DOCUMENTS = (
    "SELECT "
    + ", ".join(
        "coalesce(s.scan, 'not_scanned')"
        if column == "scan"
        else f"s.{column}"
        if column in SCAN_COLUMNS
        else f"documents.{column}"
        for column in DOCUMENT_COLUMNS
    )
    + " FROM documents LEFT JOIN document_scans s ON s.document_id = documents.id"
)
# A copy on file: neither withdrawn nor superseded.
ON_FILE = "withdrawn_at IS NULL"
REQUEST_COLUMNS = ("seq", "id", "customer_id", "requested_by", "created_at", "scope")
ITEM_COLUMNS = (
    "position",
    "subprocessor_id",
    "subprocessor_name",
    "country",
    "activity",
    "mechanism",
    "adequacy_decision",
    "status",
    "document_id",
    "fulfilled_at",
    "note",
)
DISCLOSURE_COLUMNS = (
    "seq",
    "id",
    "customer_id",
    "key_id",
    "document_id",
    "request_id",
    "disclosed_at",
    "range",
    "downloads",
    "last_downloaded_at",
)
# Which kind of copy fulfils a transfer relying on which mechanism.
KIND_FOR_MECHANISM = {"scc": "scc", "bcr": "bcr"}


def _row(columns, row) -> dict:
    return dict(zip(columns, row, strict=True))


def _insert(db, table: str, values: dict):
    return db.execute(
        f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
        list(values.values()),
    )


# Documents


def add_document(db, values: dict) -> dict:
    """Insert a copy, and its scan when it had one (`scan` not `not_scanned`)."""
    scan = {column: values.get(column) for column in SCAN_COLUMNS}
    document = {
        "id": "doc_" + secrets.token_hex(8),
        **{k: v for k, v in values.items() if k not in SCAN_COLUMNS},
        "uploaded_at": clock.timestamp(),
    }
    _insert(db, "documents", document)
    if scan["scan"] not in (None, "not_scanned"):
        _insert(db, "document_scans", {"document_id": document["id"], **scan})
    return get_document(db.conn, document["id"])


def get_document(conn: sqlite3.Connection, document_id: str) -> dict:
    row = conn.execute(f"{_SELECT_DOCUMENTS} WHERE documents.id = ?", [document_id]).fetchone()
    if row is None:
        raise NotFound(f"No document has the id {document_id!r}.")
    return _row(DOCUMENT_COLUMNS, row)


def list_documents(
    conn: sqlite3.Connection, *, after_seq: int, limit: int, **filters
) -> list[dict]:
    where, params = ["seq > ?"], [after_seq]
    for column in ("subprocessor_id", "country", "kind", "audience"):
        if filters.get(column) is not None:
            where.append(f"{column} = ?")
            params.append(filters[column])
    rows = conn.execute(
        f"{_SELECT_DOCUMENTS} WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?",
        [*params, limit],
    )
    return [_row(DOCUMENT_COLUMNS, row) for row in rows]


def disclosable_copy(db_or_conn, subprocessor_id: str, country: str, mechanism: str) -> dict | None:
    """The newest disclosable copy for a transfer: for its country, or for all its countries."""
    kind = KIND_FOR_MECHANISM.get(mechanism or "")
    if kind is None:
        return None
    row = db_or_conn.execute(
        f"{_SELECT_DOCUMENTS}"
        f" WHERE subprocessor_id = ? AND kind = ? AND audience = 'disclosable' AND {ON_FILE}"
        " AND (country = ? OR country IS NULL) ORDER BY seq DESC LIMIT 1",
        [subprocessor_id, kind, country],
    ).fetchone()
    return _row(DOCUMENT_COLUMNS, row) if row else None


def disclosable_copies(
    conn: sqlite3.Connection, before: str | None = None
) -> set[tuple[str, str | None, str]]:
    """Every (sub-processor, country or None for all, kind) with a disclosable copy on file.

    With `before` (a UTC timestamp), only copies uploaded before then and not withdrawn by then.
    """
    rows = conn.execute(
        "SELECT DISTINCT subprocessor_id, country, kind FROM documents"
        " WHERE audience = 'disclosable' AND subprocessor_id IS NOT NULL"
        " AND uploaded_at < ? AND (withdrawn_at IS NULL OR withdrawn_at >= ?)",
        [before or "9999", before or "9999"],
    )
    return {(sid, country, kind) for sid, country, kind in rows}


def copies_of(conn: sqlite3.Connection, subprocessor_id: str) -> list[list[str | None]]:
    """The (country or None, kind) of each disclosable copy on file for one sub-processor."""
    rows = conn.execute(
        "SELECT DISTINCT country, kind FROM documents"
        f" WHERE subprocessor_id = ? AND audience = 'disclosable' AND {ON_FILE}"
        " ORDER BY country, kind",
        [subprocessor_id],
    )
    return [list(row) for row in rows]


def referenced_blobs(conn: sqlite3.Connection) -> set[str]:
    """The SHA-256 of every stored file some document refers to, withdrawn ones included."""
    return {row[0] for row in conn.execute("SELECT DISTINCT sha256 FROM documents")}


def withdraw(
    db,
    document_id: str,
    *,
    by: str,
    reason: str,
    superseded_by: str | None = None,
    at: str | None = None,
) -> dict | None:
    """Mark a copy on file withdrawn (now, or `at`); None if it already was (left as it is)."""
    changed = db.execute(
        "UPDATE documents SET withdrawn_at = ?, withdrawn_by = ?, withdrawn_reason = ?,"
        f" superseded_by = ? WHERE id = ? AND {ON_FILE}",
        [at or clock.timestamp(), by, reason, superseded_by, document_id],
    ).rowcount
    return get_document(db.conn, document_id) if changed else None


def stored_files(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """(SHA-256, size) of every stored file, once each, oldest upload first."""
    rows = conn.execute("SELECT sha256, size, min(seq) FROM documents GROUP BY sha256, size")
    return [(sha256, size) for sha256, size, _ in sorted(rows, key=lambda row: row[2])]


def record_scan(db, sha256: str, scan: dict) -> int:
    """Set the scan of every copy of this content, on file or withdrawn."""
    return db.execute(
        "INSERT INTO document_scans (document_id, scan, scan_engine, scan_signatures,"
        " scanned_at) SELECT id, ?, ?, ?, ? FROM documents WHERE sha256 = ?"
        " ON CONFLICT (document_id) DO UPDATE SET scan = excluded.scan,"
        " scan_engine = excluded.scan_engine, scan_signatures = excluded.scan_signatures,"
        " scanned_at = excluded.scanned_at",
        [scan["scan"], scan["scan_engine"], scan["scan_signatures"], scan["scanned_at"], sha256],
    ).rowcount


def copies_with(conn: sqlite3.Connection, sha256: str, *, on_file: bool) -> list[dict]:
    """The copies of this content, on file or withdrawn."""
    rows = conn.execute(
        f"{_SELECT_DOCUMENTS} WHERE sha256 = ? AND"
        f" {'' if on_file else 'NOT '}({ON_FILE}) ORDER BY seq",
        [sha256],
    )
    return [_row(DOCUMENT_COLUMNS, row) for row in rows]


def unscanned(conn: sqlite3.Connection) -> list[dict]:
    """The copies on file stored without a malware scan."""
    rows = conn.execute(
        f"{_SELECT_DOCUMENTS} WHERE s.document_id IS NULL AND {ON_FILE} ORDER BY seq"
    )
    return [_row(DOCUMENT_COLUMNS, row) for row in rows]


def recipients(conn: sqlite3.Connection, document_id: str) -> list[dict]:
    """The customers a copy was disclosed to, first disclosed first, with their downloads."""
    rows = conn.execute(
        "SELECT customer_id, request_id, downloads, disclosed_at, last_downloaded_at"
        " FROM disclosures WHERE document_id = ? ORDER BY seq",
        [document_id],
    )
    found: dict[str, dict] = {}
    for customer_id, request_id, downloads, disclosed_at, last_downloaded_at in rows:
        entry = found.setdefault(
            customer_id,
            {
                "customer_id": customer_id,
                "request_ids": [],
                "downloads": 0,
                "first_disclosed_at": disclosed_at,
                "last_downloaded_at": last_downloaded_at,
            },
        )
        if request_id not in entry["request_ids"]:
            entry["request_ids"].append(request_id)
        entry["downloads"] += downloads
        entry["last_downloaded_at"] = max(entry["last_downloaded_at"], last_downloaded_at)
    return list(found.values())


# Documentation requests


def add_request(db, customer_id: str, requested_by: str, scope: str, items: Iterable[dict]):
    request_id = "dr_" + secrets.token_hex(8)
    cursor = _insert(
        db,
        "documentation_requests",
        {
            "id": request_id,
            "customer_id": customer_id,
            "requested_by": requested_by,
            "created_at": clock.timestamp(),
            "scope": scope,
        },
    )
    for position, item in enumerate(items):
        _insert(
            db,
            "documentation_request_items",
            {"request_seq": cursor.lastrowid, "position": position, **item},
        )
    return get_request(db.conn, request_id)


def get_request(conn: sqlite3.Connection, request_id: str, customer_id: str | None = None):
    """A request with its items; with `customer_id`, only if it is that customer's."""
    sql = f"SELECT {', '.join(REQUEST_COLUMNS)} FROM documentation_requests WHERE id = ?"
    params = [request_id]
    if customer_id is not None:
        sql += " AND customer_id = ?"
        params.append(customer_id)
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise NotFound(f"No documentation request has the id {request_id!r}.")
    request = _row(REQUEST_COLUMNS, row)
    request["items"] = _items(conn, [request["seq"]])[request["seq"]]
    return request


def _items(conn: sqlite3.Connection, request_seqs: list[int]) -> dict[int, list[dict]]:
    found: dict[int, list[dict]] = {seq: [] for seq in request_seqs}
    if not request_seqs:
        return found
    marks = ", ".join("?" * len(request_seqs))
    rows = conn.execute(
        f"SELECT request_seq, {', '.join(ITEM_COLUMNS)} FROM documentation_request_items"
        f" WHERE request_seq IN ({marks}) ORDER BY request_seq, position",
        request_seqs,
    )
    for row in rows:
        found[row[0]].append(_row(ITEM_COLUMNS, row[1:]))
    return found


def list_requests(
    conn: sqlite3.Connection,
    *,
    after_seq: int,
    limit: int,
    customer_id: str | None = None,
    status: str | None = None,
) -> list[dict]:
    where, params = ["r.seq > ?"], [after_seq]
    if customer_id is not None:
        where.append("r.customer_id = ?")
        params.append(customer_id)
    pending = (
        "EXISTS (SELECT 1 FROM documentation_request_items i"
        " WHERE i.request_seq = r.seq AND i.status = 'pending')"
    )
    if status == "pending":
        where.append(pending)
    elif status == "fulfilled":
        where.append(f"NOT {pending}")
    columns = ", ".join(f"r.{c}" for c in REQUEST_COLUMNS)
    rows = conn.execute(
        f"SELECT {columns} FROM documentation_requests r WHERE {' AND '.join(where)}"
        " ORDER BY r.seq LIMIT ?",
        [*params, limit],
    ).fetchall()
    requests = [_row(REQUEST_COLUMNS, row) for row in rows]
    items = _items(conn, [r["seq"] for r in requests])
    for request in requests:
        request["items"] = items[request["seq"]]
    return requests


def fulfil_pending(db, document: dict) -> list[str]:
    """Point pending items of the document's transfer(s) at it; returns the requests touched."""
    kind_mechanisms = [m for m, k in KIND_FOR_MECHANISM.items() if k == document["kind"]]
    if document["audience"] != "disclosable" or not document["subprocessor_id"]:
        return []
    if not kind_mechanisms:
        return []
    where = "i.subprocessor_id = ? AND i.status = 'pending' AND i.mechanism = ?"
    params = [document["subprocessor_id"], kind_mechanisms[0]]
    if document["country"] is not None:
        where += " AND i.country = ?"
        params.append(document["country"])
    touched = db.execute(
        "SELECT DISTINCT r.id FROM documentation_request_items i"
        f" JOIN documentation_requests r ON r.seq = i.request_seq WHERE {where}",
        params,
    ).fetchall()
    db.execute(
        "UPDATE documentation_request_items AS i"
        " SET status = 'fulfilled', document_id = ?, fulfilled_at = ?"
        f" WHERE {where}",
        [document["id"], clock.timestamp(), *params],
    )
    return [row[0] for row in touched]


def undownloaded_deliveries(db, document_id: str) -> list[dict]:
    """Fulfilled items pointing at the copy whose request never downloaded it."""
    rows = db.execute(
        "SELECT i.request_seq, i.position, r.id, i.subprocessor_id, i.country, i.mechanism"
        " FROM documentation_request_items i"
        " JOIN documentation_requests r ON r.seq = i.request_seq"
        " WHERE i.document_id = ? AND i.status = 'fulfilled' AND NOT EXISTS ("
        "SELECT 1 FROM disclosures s WHERE s.request_id = r.id AND s.document_id = i.document_id)"
        " ORDER BY i.request_seq, i.position",
        [document_id],
    ).fetchall()
    columns = ("request_seq", "position", "request_id", "subprocessor_id", "country", "mechanism")
    return [_row(columns, row) for row in rows]


def redeliver_item(db, item: dict, document_id: str | None) -> None:
    """Point a fulfilled item at another copy, or with None put it back to pending."""
    if document_id is None:
        db.execute(
            "UPDATE documentation_request_items SET status = 'pending', document_id = NULL,"
            " fulfilled_at = NULL WHERE request_seq = ? AND position = ?",
            [item["request_seq"], item["position"]],
        )
        return
    db.execute(
        "UPDATE documentation_request_items SET document_id = ?, fulfilled_at = ?"
        " WHERE request_seq = ? AND position = ?",
        [document_id, clock.timestamp(), item["request_seq"], item["position"]],
    )


def delivering_request(
    conn: sqlite3.Connection, customer_id: str, document_id: str, request_id: str | None = None
) -> str | None:
    """The customer's (newest, or the named) request that delivered this copy, if any.

    A withdrawn copy is delivered by no request any more.
    """
    sql = (
        "SELECT r.id FROM documentation_request_items i"
        " JOIN documentation_requests r ON r.seq = i.request_seq"
        " JOIN documents d ON d.id = i.document_id"
        " WHERE r.customer_id = ? AND i.document_id = ? AND i.status = 'fulfilled'"
        " AND d.withdrawn_at IS NULL"
    )
    params = [customer_id, document_id]
    if request_id is not None:
        sql += " AND r.id = ?"
        params.append(request_id)
    row = conn.execute(sql + " ORDER BY r.seq DESC LIMIT 1", params).fetchone()
    return row[0] if row else None


# Disclosures


def add_disclosure(db, values: dict) -> dict:
    at = clock.timestamp()
    disclosure = {
        "id": "dis_" + secrets.token_hex(8),
        **values,
        "disclosed_at": at,
        "downloads": 1,
        "last_downloaded_at": at,
    }
    _insert(db, "disclosures", disclosure)
    return disclosure


def disclosure_after(db, *, key_id: str, document_id: str, sha256: str, after: str) -> dict | None:
    """The newest disclosure of this copy (id and content) to this key made after `after`."""
    row = db.execute(
        f"SELECT {', '.join('s.' + c for c in DISCLOSURE_COLUMNS)} FROM disclosures s"
        " JOIN documents d ON d.id = s.document_id"
        " WHERE s.key_id = ? AND s.document_id = ? AND d.sha256 = ? AND s.disclosed_at > ?"
        " ORDER BY s.seq DESC LIMIT 1",
        [key_id, document_id, sha256, after],
    ).fetchone()
    return None if row is None else _row(DISCLOSURE_COLUMNS, row)


def count_download(db, disclosure: dict) -> dict:
    """One more download within a disclosure's window: counted, no new disclosure."""
    at = clock.timestamp()
    db.execute(
        "UPDATE disclosures SET downloads = downloads + 1, last_downloaded_at = ? WHERE seq = ?",
        [at, disclosure["seq"]],
    )
    return {**disclosure, "downloads": disclosure["downloads"] + 1, "last_downloaded_at": at}


def list_disclosures(
    conn: sqlite3.Connection,
    *,
    after_seq: int,
    limit: int,
    customer_id: str | None = None,
    document_id: str | None = None,
) -> list[dict]:
    where, params = ["seq > ?"], [after_seq]
    if customer_id is not None:
        where.append("customer_id = ?")
        params.append(customer_id)
    if document_id is not None:
        where.append("document_id = ?")
        params.append(document_id)
    rows = conn.execute(
        f"SELECT {', '.join(DISCLOSURE_COLUMNS)} FROM disclosures WHERE {' AND '.join(where)}"
        " ORDER BY seq LIMIT ?",
        [*params, limit],
    )
    return [_row(DISCLOSURE_COLUMNS, row) for row in rows]


# Erasure and retention


def count_customer(conn: sqlite3.Connection, customer_id: str) -> tuple[int, int]:
    """(documentation requests, disclosures) of a customer."""
    return (
        conn.execute(
            "SELECT count(*) FROM documentation_requests WHERE customer_id = ?", [customer_id]
        ).fetchone()[0],
        conn.execute(
            "SELECT count(*) FROM disclosures WHERE customer_id = ?", [customer_id]
        ).fetchone()[0],
    )


def recent_request_times(conn: sqlite3.Connection, customer_id: str, since: str) -> list[str]:
    """When the customer made each of its requests after `since` (a stored timestamp)."""
    times = []
    for (created_at,) in conn.execute(
        "SELECT created_at FROM documentation_requests WHERE customer_id = ? ORDER BY seq DESC",
        [customer_id],
    ):
        if created_at <= since:
            break
        times.append(created_at)
    return times


def open_request_count(conn: sqlite3.Connection, customer_id: str) -> int:
    """How many of the customer's requests have an item pending."""
    return conn.execute(
        "SELECT count(*) FROM documentation_requests r WHERE r.customer_id = ? AND EXISTS"
        " (SELECT 1 FROM documentation_request_items i"
        " WHERE i.request_seq = r.seq AND i.status = 'pending')",
        [customer_id],
    ).fetchone()[0]


def customer_request_ids(conn: sqlite3.Connection, customer_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT id FROM documentation_requests WHERE customer_id = ? ORDER BY seq", [customer_id]
    )
    return [row[0] for row in rows]


def delete_customer(db, customer_id: str) -> tuple[int, int]:
    """Delete a customer's disclosures and documentation requests (their items cascade)."""
    disclosures = db.execute(
        "DELETE FROM disclosures WHERE customer_id = ? OR request_id IN"
        " (SELECT id FROM documentation_requests WHERE customer_id = ?)",
        [customer_id, customer_id],
    ).rowcount
    requests = db.execute(
        "DELETE FROM documentation_requests WHERE customer_id = ?", [customer_id]
    ).rowcount
    return requests, disclosures


# A disclosure's record ends with its last download; a request is kept while it has an item
# pending (the customer still waits for a copy) or a disclosure that is kept.
_OLD_DISCLOSURES = "coalesce(last_downloaded_at, disclosed_at) < ?"
_OLD_REQUESTS = (
    "created_at < ? AND NOT EXISTS (SELECT 1 FROM documentation_request_items i"
    " WHERE i.request_seq = documentation_requests.seq AND i.status = 'pending')"
    " AND NOT EXISTS (SELECT 1 FROM disclosures s WHERE s.request_id = documentation_requests.id"
    " AND coalesce(s.last_downloaded_at, s.disclosed_at) >= ?)"
)


def purge_before(db, before: str, *, dry_run: bool = False) -> dict:
    """Delete disclosures last downloaded before `before`, then documentation requests made
    before it with nothing pending and no disclosure kept; the counts."""
    counts = {
        "disclosures": db.execute(
            f"SELECT count(*) FROM disclosures WHERE {_OLD_DISCLOSURES}", [before]
        ).fetchone()[0],
        "documentation_requests": db.execute(
            f"SELECT count(*) FROM documentation_requests WHERE {_OLD_REQUESTS}", [before, before]
        ).fetchone()[0],
    }
    if not dry_run:
        db.execute(f"DELETE FROM disclosures WHERE {_OLD_DISCLOSURES}", [before])
        db.execute(f"DELETE FROM documentation_requests WHERE {_OLD_REQUESTS}", [before, before])
    return counts
