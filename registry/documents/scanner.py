"""Malware scanning of uploaded copies by ClamAV's daemon (clamd), over its socket protocol.

A small client of our own rather than a package: `clamd` (last release 2014) and `pyClamd`
(2017) are unmaintained, and the protocol we need is two commands. `zINSTREAM\\0` sends the
file as chunks, each prefixed by its length as 4 bytes big-endian, ended by a zero-length
chunk; clamd answers `stream: OK`, `stream: NAME FOUND` or `... ERROR`. `zVERSION\\0` answers
`ClamAV 1.4.6/27500/Sat Dec  5 09:17:01 2026`: the engine, then the signature database's
version and date. Written here, every answer that is not `OK` or `FOUND` is an error, never
clean: above all `INSTREAM size limit exceeded`, which clamd sends (and then closes the
socket) when a file is longer than its `StreamMaxLength`; a socket closed mid-stream is an
error too. Each connection has a timeout for every send and receive.

`REGISTRY_CLAMD` names the daemon: an absolute unix socket path, or `host:port`. Unset, no
scan is made and copies are stored marked `not_scanned`.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path
from typing import BinaryIO

from .. import clock
from ..errors import RegistryError, ValidationFailed, field_error

CHUNK = 256 * 1024
# The states a copy's `scan` takes: `infected` only on a copy a rescan withdrew.
CLEAN, NOT_SCANNED, INFECTED = "clean", "not_scanned", "infected"


class ScannerUnavailable(RegistryError):
    """The configured scanner cannot be reached, timed out or answered with an error: 503.

    Fail closed: nothing is stored without a scan once a scanner is configured.
    """

    status = 503
    title = "Malware scanner unavailable"


class Infected(ValidationFailed):
    """The scanner found a signature in the file: 422 at /file, naming the signature."""

    def __init__(self, signature: str, version: dict):
        super().__init__(
            [
                field_error(
                    "/file",
                    f"The malware scanner found {signature} in the file; it was not stored.",
                    signature=signature,
                )
            ]
        )
        self.signature = signature
        self.version = version


def not_scanned() -> dict:
    """The scan fields of a copy stored with no scanner configured."""
    return {"scan": NOT_SCANNED, "scan_engine": None, "scan_signatures": None, "scanned_at": None}


class Clamd:
    """One clamd daemon; every call opens its own connection (clamd serves one per command)."""

    def __init__(self, address: str | tuple[str, int], timeout: float):
        self.address = address  # a unix socket path, or (host, port)
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        try:
            if isinstance(self.address, str):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                try:
                    sock.connect(self.address)
                except BaseException:
                    sock.close()
                    raise
                return sock
            return socket.create_connection(self.address, timeout=self.timeout)
        except OSError as exc:
            raise self._unavailable(f"cannot connect ({exc})") from exc

    def _unavailable(self, why: str) -> ScannerUnavailable:
        where = self.address
        if not isinstance(where, str):
            where = f"{where[0]}:{where[1]}"
        detail = (
            f"The malware scanner at {where} is unavailable: {why}. Nothing was stored; "
            "try again once it runs."
        )
        return ScannerUnavailable(detail, errors=[field_error("/file", detail)])

    def _reply(self, sock: socket.socket) -> str:
        data = b""
        try:
            while not data.endswith(b"\0"):
                part = sock.recv(4096)
                if not part:
                    break
                data += part
                if len(data) > 64 * 1024:
                    raise self._unavailable("its answer is too long")
        except OSError as exc:  # socket.timeout included
            raise self._unavailable(f"no answer within {self.timeout:g} s ({exc})") from exc
        if not data.endswith(b"\0"):
            raise self._unavailable("it closed the connection without an answer")
        return data[:-1].decode("utf-8", "replace").strip()

    def version(self) -> dict:
        """{"scan_engine": "ClamAV 1.4.6", "scan_signatures": "27500/Sat Dec  5 ... 2026"}."""
        with self._connect() as sock:
            try:
                sock.sendall(b"zVERSION\0")
            except OSError as exc:
                raise self._unavailable(str(exc)) from exc
            reply = self._reply(sock)
        if not reply.startswith("ClamAV "):
            raise self._unavailable(f"unexpected answer to VERSION: {reply[:200]!r}")
        engine, _, signatures = reply.partition("/")
        return {"scan_engine": engine, "scan_signatures": signatures or None}

    def instream(self, stream: BinaryIO) -> str | None:
        """Scan the stream's bytes: None when clean, else the signature found.

        Any other answer (a size limit exceeded, an error, a closed socket) raises
        ScannerUnavailable: a file is clean only when clamd says `OK`.
        """
        with self._connect() as sock:
            try:
                sock.sendall(b"zINSTREAM\0")
                while chunk := stream.read(CHUNK):
                    sock.sendall(struct.pack(">I", len(chunk)) + chunk)
                sock.sendall(struct.pack(">I", 0))
            except OSError as exc:
                # clamd answers a stream over StreamMaxLength, then closes: read what it said.
                try:
                    reply = self._reply(sock)
                except ScannerUnavailable:
                    raise self._unavailable(f"the stream was cut ({exc})") from exc
                raise self._unavailable(f"it answered {reply[:200]!r}") from exc
            reply = self._reply(sock)
        return parse_reply(reply, self._unavailable)


def parse_reply(reply: str, unavailable) -> str | None:
    """`stream: OK` is clean (None); `stream: NAME FOUND` the signature; anything else raises."""
    _, _, verdict = reply.partition(": ")
    if reply.startswith("stream: ") and verdict == "OK":
        return None
    if reply.startswith("stream: ") and verdict.endswith(" FOUND"):
        signature = verdict[: -len(" FOUND")].strip()
        if signature:
            return signature
    raise unavailable(f"it answered {reply[:200]!r}")


def scanner(settings) -> Clamd | None:
    """The configured scanner, or None with REGISTRY_CLAMD unset."""
    address = settings.clamd_address
    return None if address is None else Clamd(address, settings.clamd_timeout)


def scan_file(settings, path: Path) -> dict:
    """The scan fields for a file: clean with its versions, or not_scanned with no scanner.

    Raises Infected (422) for a signature found, ScannerUnavailable (503) when a configured
    scanner cannot answer. The one scanning call every upload goes through.
    """
    clamd = scanner(settings)
    if clamd is None:
        return not_scanned()
    version = clamd.version()
    with open(path, "rb") as stream:
        signature = clamd.instream(stream)
    if signature is not None:
        raise Infected(signature, version)
    return {"scan": CLEAN, **version, "scanned_at": clock.timestamp()}
