"""Documents, documentation requests with their items, and the disclosure log."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable

from .. import clock
from ..http.problems import NotFound

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
)
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
    document = {"id": "doc_" + secrets.token_hex(8), **values, "uploaded_at": clock.timestamp()}
    _insert(db, "documents", document)
    return get_document(db.conn, document["id"])


def get_document(conn: sqlite3.Connection, document_id: str) -> dict:
    row = conn.execute(
        f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM documents WHERE id = ?", [document_id]
    ).fetchone()
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
        f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM documents WHERE {' AND '.join(where)}"
        " ORDER BY seq LIMIT ?",
        [*params, limit],
    )
    return [_row(DOCUMENT_COLUMNS, row) for row in rows]


def disclosable_copy(db_or_conn, subprocessor_id: str, country: str, mechanism: str) -> dict | None:
    """The newest disclosable copy for a transfer: for its country, or for all its countries."""
    kind = KIND_FOR_MECHANISM.get(mechanism or "")
    if kind is None:
        return None
    row = db_or_conn.execute(
        f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM documents"
        " WHERE subprocessor_id = ? AND kind = ? AND audience = 'disclosable'"
        " AND (country = ? OR country IS NULL) ORDER BY seq DESC LIMIT 1",
        [subprocessor_id, kind, country],
    ).fetchone()
    return _row(DOCUMENT_COLUMNS, row) if row else None


def disclosable_copies(
    conn: sqlite3.Connection, before: str | None = None
) -> set[tuple[str, str | None, str]]:
    """Every (sub-processor, country or None for all, kind) with a disclosable copy on file.

    With `before` (a UTC timestamp), only copies uploaded before then.
    """
    rows = conn.execute(
        "SELECT DISTINCT subprocessor_id, country, kind FROM documents"
        " WHERE audience = 'disclosable' AND subprocessor_id IS NOT NULL"
        " AND uploaded_at < ?",
        [before or "9999"],
    )
    return {(sid, country, kind) for sid, country, kind in rows}


def copies_of(conn: sqlite3.Connection, subprocessor_id: str) -> list[list[str | None]]:
    """The (country or None, kind) of each disclosable copy on file for one sub-processor."""
    rows = conn.execute(
        "SELECT DISTINCT country, kind FROM documents"
        " WHERE subprocessor_id = ? AND audience = 'disclosable' ORDER BY country, kind",
        [subprocessor_id],
    )
    return [list(row) for row in rows]


def referenced_blobs(conn: sqlite3.Connection) -> set[str]:
    """The SHA-256 of every stored file some document refers to."""
    return {row[0] for row in conn.execute("SELECT DISTINCT sha256 FROM documents")}


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


def delivering_request(
    conn: sqlite3.Connection, customer_id: str, document_id: str, request_id: str | None = None
) -> str | None:
    """The customer's (newest, or the named) request that delivered this document, if any."""
    sql = (
        "SELECT r.id FROM documentation_request_items i"
        " JOIN documentation_requests r ON r.seq = i.request_seq"
        " WHERE r.customer_id = ? AND i.document_id = ? AND i.status = 'fulfilled'"
    )
    params = [customer_id, document_id]
    if request_id is not None:
        sql += " AND r.id = ?"
        params.append(request_id)
    row = conn.execute(sql + " ORDER BY r.seq DESC LIMIT 1", params).fetchone()
    return row[0] if row else None


# Disclosures


def add_disclosure(db, values: dict) -> dict:
    disclosure = {"id": "dis_" + secrets.token_hex(8), **values, "disclosed_at": clock.timestamp()}
    _insert(db, "disclosures", disclosure)
    return disclosure


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
