"""Opaque list cursors: a position in a list, encrypted for one caller and one list.

The position (a 64-bit sequence number) is encrypted with AES-SIV (RFC 5297, from
`cryptography`): deterministic authenticated encryption, so one position in one list for one
caller always has the same cursor, a cursor says nothing about the position nor about the
distance between two cursors, and one that is forged, altered, another caller's or another
list's fails to decrypt. The caller and the list are its associated data; the 64-byte key is
derived (HKDF-SHA256) from the secret each database makes once.

A cursor is base64url of the 24 bytes AES-SIV gives (a 16-byte synthetic IV, then the 8
encrypted bytes): 32 characters, no padding. Pure: no Flask, no database.
"""

from __future__ import annotations

import base64
import functools
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..roles import CUSTOMER_ROLES

LENGTH = 32
PATTERN = f"^[A-Za-z0-9_-]{{{LENGTH}}}$"
PUBLIC = "public"
_SHAPE = re.compile(PATTERN)
# Part of every cursor's associated data: a later format gets another label, so a cursor of
# one format never decodes as one of another.
_FORMAT = b"registry list cursor, AES-SIV, 2"
MAX_POSITION = 2**64 - 1


class Invalid(ValueError):
    """Not a cursor this server gave to this caller for this list."""


def caller(role: str | None, customer_id: str | None = None) -> str:
    """Who a cursor is bound to: a customer (all its keys see the same lists), else a staff
    role (every key of a role sees the same lists), else the public."""
    if role is None:
        return PUBLIC
    if role in CUSTOMER_ROLES:
        # A feed key reads its customer's list: the customer's cursors.
        return f"customer:{customer_id}"
    return f"role:{role}"


@functools.lru_cache(maxsize=64)
def _cipher(secret: bytes) -> AESSIV:
    key = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_FORMAT).derive(secret)
    return AESSIV(key)


def _associated(bound_to: str, list_name: str) -> list[bytes]:
    return [_FORMAT, bound_to.encode(), list_name.encode()]


def encode(secret: bytes, bound_to: str, list_name: str, position: int) -> str:
    """The cursor of `position` in `list_name`, for the caller `bound_to`."""
    if not 0 <= position <= MAX_POSITION:
        raise ValueError(f"a cursor's position is 0 to 2**64 - 1, not {position}")
    token = _cipher(secret).encrypt(position.to_bytes(8, "big"), _associated(bound_to, list_name))
    return base64.urlsafe_b64encode(token).decode("ascii")  # 24 bytes: no padding


def decode(secret: bytes, bound_to: str, list_name: str, cursor: str) -> int:
    """The position a cursor stands for; Invalid unless `encode` made it with these values."""
    if not _SHAPE.fullmatch(cursor):
        raise Invalid("not a cursor")
    token = base64.urlsafe_b64decode(cursor)  # 32 characters are exactly 24 bytes
    try:
        plain = _cipher(secret).decrypt(token, _associated(bound_to, list_name))
    except InvalidTag:
        raise Invalid("not a cursor") from None
    return int.from_bytes(plain, "big")
