"""The audit trail's hash chain: canonical encoding, entry hashes and verification (pure)."""

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


def entry_hash(entry: dict) -> str:
    """SHA-256 over the canonical encoding of the entry's fields, prev_hash included."""
    return hashlib.sha256(canonical({k: entry[k] for k in HASHED_FIELDS})).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first entry where the chain does not hold, and why."""

    seq: int
    reason: str


def verify(entries: Iterable[dict]) -> tuple[int, Break | None]:
    """Walk entries in seq order; returns (entries checked, first break or None)."""
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
        expected_prev, expected_seq = entry["hash"], seq + 1
    return count, None
