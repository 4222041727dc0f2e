"""The audit trail's hash chain: canonical encoding, entry hashes and verification (pure).

Personal data in an entry is held apart, as a payload: the hashed entry holds its digest,
`sha256:` and the hex SHA-256 of the payload's random salt followed by the canonical JSON
of its value. An entry as read carries its `payloads` (pointer, digest, salt, value, erased)
and the values in place; it is sealed again (each digest put back) before it is hashed, so
erasing a payload leaves the chain intact.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64
HASHED_FIELDS = ("seq", "at", "actor", "action", "object_type", "object_id", "change", "prev_hash")


def canonical(value) -> bytes:
    """One byte string per JSON value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# A list longer than this is held in an entry as its count and digest, never item by item:
# what a caller can make the trail store stays bounded (a documentation request on a large
# register, an import), and a shorter list stays readable.
LIST_LIMIT = 10


def list_summary(items: list) -> dict:
    """What an entry holds in place of a long list: how many items, and the hex SHA-256 of
    the list's canonical JSON (recomputable from the list, if one still has it)."""
    return {"count": len(items), "sha256": hashlib.sha256(canonical(items)).hexdigest()}


def bounded(value, keep: frozenset[tuple] = frozenset(), path: tuple = ()):
    """A copy of `value` with every list longer than LIST_LIMIT replaced by its summary, at
    any depth; lists at the paths in `keep` (from the root) stay, their items bounded."""
    if isinstance(value, dict):
        return {key: bounded(item, keep, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        if len(value) > LIST_LIMIT and path not in keep:
            return list_summary(value)
        return [bounded(item, keep, (*path, index)) for index, item in enumerate(value)]
    return value


DIGEST_PREFIX = "sha256:"
# What an erased payload reads as, in place of its value.
ERASED = {"erased": True}


def payload_digest(salt: bytes, value) -> str:
    """What the hashed entry holds in place of a personal value: sha256(salt || canonical)."""
    return DIGEST_PREFIX + hashlib.sha256(salt + canonical(value)).hexdigest()


def _token(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def pointer(parts: Iterable) -> str:
    """The JSON pointer (RFC 6901) of a path into an entry: ("change", "url") -> /change/url."""
    return "".join("/" + _token(str(part)) for part in parts)


def parts_of(json_pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in json_pointer.split("/")[1:]]


def _locate(document, parts: list[str]):
    """The container holding the last part, and that part as its key; None when absent."""
    node = document
    for part in parts[:-1]:
        node = _child(node, part)
        if node is _MISSING:
            return None
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        return node, last
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        return node, int(last)
    return None


_MISSING = object()


def _child(node, part: str):
    if isinstance(node, dict):
        return node.get(part, _MISSING)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return _MISSING


def replace_at(entry: dict, json_pointer: str, value) -> bool:
    """Put `value` at the pointer inside the entry (in place); False when it is not there."""
    found = _locate(entry, parts_of(json_pointer))
    if found is None:
        return False
    container, key = found
    container[key] = value
    return True


def value_at(entry: dict, json_pointer: str):
    found = _locate(entry, parts_of(json_pointer))
    return _MISSING if found is None else found[0][found[1]]


def sealed(entry: dict) -> dict:
    """The hashed fields as stored: each payload's digest in place of its value."""
    fields = {k: entry[k] for k in HASHED_FIELDS}
    payloads = entry.get("payloads")
    if not payloads:
        return fields
    fields = json.loads(json.dumps(fields))  # a deep copy: the entry as read stays revealed
    for payload in payloads:
        replace_at(fields, payload["pointer"], payload["digest"])
    return fields


def entry_hash(entry: dict) -> str:
    """SHA-256 over the canonical encoding of the entry's fields, prev_hash included, with
    each personal payload's digest in place of its value."""
    return hashlib.sha256(canonical(sealed(entry))).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first entry where the chain does not hold, and why."""

    seq: int
    reason: str


def _payload_break(entry: dict) -> str | None:
    """Why a remaining payload does not match the digest the hashed entry holds, if it does not."""
    for payload in entry.get("payloads") or ():
        if payload["erased"]:
            continue
        try:
            salt = bytes.fromhex(payload["salt"] or "")
            digest = payload_digest(salt, payload["value"])
        except (TypeError, ValueError):
            digest = None
        if digest != payload["digest"]:
            return f"the payload at {payload['pointer']} does not match its digest (altered)"
    return None


@dataclass
class PayloadCount:
    """Personal payloads met on the way: checked against their digests, or erased."""

    checked: int = 0
    erased: int = 0


def verify(
    entries: Iterable[dict], payloads: PayloadCount | None = None
) -> tuple[int, Break | None]:
    """Walk entries in seq order; returns (entries checked, first break or None).

    Each remaining personal payload must match the digest in its entry; erased payloads are
    skipped by design, and counted in `payloads` when given.
    """
    expected_prev, expected_seq, count = GENESIS, 1, 0
    for entry in entries:
        count += 1
        seq = entry["seq"]
        if seq != expected_seq:
            reason = "entries are missing before it" if seq > expected_seq else "out of order"
            return count, Break(seq, f"sequence jumps from {expected_seq - 1} to {seq}: {reason}")
        if entry["prev_hash"] != expected_prev:
            return count, Break(seq, "prev_hash does not match the previous entry's hash")
        if entry_hash(entry) != entry["hash"]:
            return count, Break(seq, "hash does not match the entry's content (altered)")
        altered = _payload_break(entry)
        if altered is not None:
            return count, Break(seq, altered)
        if payloads is not None:
            for payload in entry.get("payloads") or ():
                if payload["erased"]:
                    payloads.erased += 1
                else:
                    payloads.checked += 1
        expected_prev, expected_seq = entry["hash"], seq + 1
    return count, None
