"""Opaque list cursors: a position in a list, encrypted for one caller and one list.

The position (a 64-bit sequence number) goes through a keyed pseudo-random permutation: a
four-round Feistel network with HMAC-SHA256 as its round function (Luby-Rackoff), so a
cursor says nothing about the position, nor about the distance between two cursors. The
key is derived from the server's secret, the caller and the list, and a truncated
HMAC-SHA256 tag over the result makes a forged, altered or foreign cursor fail to decode.

A cursor is base64url without padding of: a version byte, the 8 permuted bytes and an
8-byte tag (23 characters). Pure: no Flask, no database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

VERSION = 1
LENGTH = 23
PATTERN = f"^[A-Za-z0-9_-]{{{LENGTH}}}$"
PUBLIC = "public"
_SHAPE = re.compile(PATTERN)
_TAG_BYTES = 8
_ROUNDS = 4
_HALF = 0xFFFFFFFF
MAX_POSITION = 2**64 - 1


class Invalid(ValueError):
    """Not a cursor this server gave to this caller for this list."""


def caller(role: str | None, customer_id: str | None = None) -> str:
    """Who a cursor is bound to: a customer (all its keys see the same lists), else a staff
    role (every key of a role sees the same lists), else the public."""
    if role is None:
        return PUBLIC
    if role == "customer":
        return f"customer:{customer_id}"
    return f"role:{role}"


def _key(secret: bytes, purpose: bytes, bound_to: str, list_name: str) -> bytes:
    label = b"\x00".join((b"registry-cursor", purpose, bound_to.encode(), list_name.encode()))
    return hmac.new(secret, label, hashlib.sha256).digest()


def _round(key: bytes, number: int, half: int) -> int:
    digest = hmac.new(key, bytes((number,)) + half.to_bytes(4, "big"), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big")


def _permute(key: bytes, value: int) -> int:
    left, right = value >> 32, value & _HALF
    for number in range(_ROUNDS):
        left, right = right, left ^ _round(key, number, right)
    return left << 32 | right


def _unpermute(key: bytes, value: int) -> int:
    left, right = value >> 32, value & _HALF
    for number in reversed(range(_ROUNDS)):
        left, right = right ^ _round(key, number, left), left
    return left << 32 | right


def _tag(secret: bytes, bound_to: str, list_name: str, body: bytes) -> bytes:
    key = _key(secret, b"tag", bound_to, list_name)
    return hmac.new(key, body, hashlib.sha256).digest()[:_TAG_BYTES]


def encode(secret: bytes, bound_to: str, list_name: str, position: int) -> str:
    """The cursor of `position` in `list_name`, for the caller `bound_to`."""
    if not 0 <= position <= MAX_POSITION:
        raise ValueError(f"a cursor's position is 0 to 2**64 - 1, not {position}")
    permuted = _permute(_key(secret, b"permutation", bound_to, list_name), position)
    body = bytes((VERSION,)) + permuted.to_bytes(8, "big")
    token = body + _tag(secret, bound_to, list_name, body)
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")


def decode(secret: bytes, bound_to: str, list_name: str, cursor: str) -> int:
    """The position a cursor stands for; Invalid unless `encode` made it with these values."""
    if not _SHAPE.fullmatch(cursor):
        raise Invalid("not a cursor")
    token = base64.urlsafe_b64decode(cursor + "=")
    # Unused low bits of the last character would let several spellings decode alike.
    if base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii") != cursor:
        raise Invalid("not a cursor")
    body, tag = token[:-_TAG_BYTES], token[-_TAG_BYTES:]
    if body[0] != VERSION or not hmac.compare_digest(tag, _tag(secret, bound_to, list_name, body)):
        raise Invalid("not a cursor")
    key = _key(secret, b"permutation", bound_to, list_name)
    return _unpermute(key, int.from_bytes(body[1:], "big"))
