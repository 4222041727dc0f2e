# Sniffed by hand: python-magic needs libmagic; filetype checks no structure (PNG IHDR, TIFF IFD).
"""Content-addressed document files: atomic writes (temp, fsync, rename) and media type sniffing."""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import TooLarge, UnsupportedMediaType

CHUNK = 1024 * 1024
TEMP_PREFIX = ".upload-"

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
TEXT = "text/plain; charset=utf-8"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
EXTENSIONS = {
    PDF: ".pdf",
    DOCX: ".docx",
    ODT: ".odt",
    TEXT: ".txt",
    PNG: ".png",
    JPEG: ".jpg",
    TIFF: ".tif",
}
ACCEPTED = "PDF, DOCX, ODT, UTF-8 plain text, and scans as PNG, JPEG or TIFF"
# Enough of the head to check each type's signature and first structure.
HEAD = 32


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"The file is larger than the limit of {limit} bytes.")


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    media_type: str
    path: Path
    created: bool  # False when identical content was already stored
    scan: dict = field(default_factory=dict)  # what `scan` returned for the content


class BlobStore:
    """Files named by their SHA-256 under `root/ab/abcdef...`; a name is only ever complete."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(
        self,
        stream: BinaryIO,
        *,
        max_size: int,
        scan: Callable[[Path, str], dict] | None = None,
    ) -> Stored:
        """Copy `stream` in, hashing and sniffing on the way; visible only once complete.

        `scan(temp_path, sha256)` sees the complete file before it gets its name (even when
        identical content is already stored): whatever it raises leaves nothing stored.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size, sniffer = hashlib.sha256(), 0, _Sniffer()
        fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.root)
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_size:
                        raise too_large(max_size)
                    digest.update(chunk)
                    sniffer.feed(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            media_type = sniffer.finish(temp)
            sha256 = digest.hexdigest()
            scanned = scan(temp, sha256) if scan is not None else {}
            final = self.path(sha256)
            if final.exists():
                temp.unlink()
                # A fresh mtime keeps sweep_unreferenced off it until its row is committed.
                os.utime(final)
                return Stored(sha256, size, media_type, final, created=False, scan=scanned)
            final.parent.mkdir(exist_ok=True)
            os.replace(temp, final)
            _fsync_dir(final.parent)
            return Stored(sha256, size, media_type, final, created=True, scan=scanned)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def sweep_temporaries(self, older_than_seconds: float = 3600) -> int:
        """Remove uploads a crash left half-written; they were never visible."""
        if not self.root.exists():
            return 0
        cutoff, removed = time.time() - older_than_seconds, 0
        for temp in self.root.glob(f"{TEMP_PREFIX}*"):
            try:
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def sweep_unreferenced(self, referenced: set[str], older_than_seconds: float = 3600) -> int:
        """Remove complete files no document refers to (a crash between rename and commit)."""
        if not self.root.exists():
            return 0
        cutoff, removed = time.time() - older_than_seconds, 0
        for path in self.root.glob("??/*"):
            try:
                if path.name not in referenced and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Sniffer:
    """Decides the media type from the bytes, never from the client's claim or the file name."""

    def __init__(self):
        self.head = b""
        self.text = True
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < HEAD:
            self.head += chunk[: HEAD - len(self.head)]
        if self.text:
            try:
                decoded = self.decoder.decode(chunk)
            except UnicodeDecodeError:
                self.text = False
                return
            if any(c in decoded for c in _BINARY_CONTROLS):
                self.text = False

    def finish(self, path: Path) -> str:
        if self.head.startswith(b"%PDF-"):
            return PDF
        if self.head.startswith(b"PK\x03\x04"):
            return _office_type(path)
        image = _image_type(self.head, path)
        if image is not None:
            return image
        if self.text and self.head:
            try:
                self.decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.text = False
            else:
                return TEXT
        raise UnsupportedMediaType(f"Only {ACCEPTED} are accepted; the content is none of these.")


_BINARY_CONTROLS = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r\f") | {"\x7f"}


def _office_type(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            # The size check keeps a crafted archive from inflating a huge entry in memory.
            if (
                "mimetype" in names
                and archive.getinfo("mimetype").file_size <= 128
                and archive.read("mimetype").strip() == ODT.encode()
            ):
                return ODT
            if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names):
                return DOCX
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError):
        pass
    raise UnsupportedMediaType(
        f"The archive is neither a DOCX nor an ODT document; only {ACCEPTED} are accepted."
    )


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Every PNG starts with its 13-byte IHDR chunk (PNG specification, 5.6).
_PNG_IHDR = b"\x00\x00\x00\x0dIHDR"
_JPEG_SOI = b"\xff\xd8\xff"
_TIFF_ORDERS = {b"II*\x00": "little", b"MM\x00*": "big"}


def _not_valid(kind: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"The file starts like a {kind} image but is not a valid one; only {ACCEPTED} are accepted."
    )


def _image_type(head: bytes, path: Path) -> str | None:
    """PNG, JPEG or TIFF by signature, their first structure checked; None for other content.

    A file that starts like an image but is not one is refused rather than read as another type.
    """
    if head.startswith(_PNG_SIGNATURE):
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        if head[8:16] != _PNG_IHDR or len(head) < 24 or not (width and height):
            raise _not_valid("PNG")
        return PNG
    if head.startswith(_JPEG_SOI):
        # The start-of-image marker is followed by another marker (APPn, DQT, SOF, COM, ...).
        if len(head) < 4 or not 0xC0 <= head[3] <= 0xFE:
            raise _not_valid("JPEG")
        return JPEG
    order = _TIFF_ORDERS.get(head[:4])
    if order is not None:
        # The header's offset of the first image file directory must point into the file.
        first_ifd = int.from_bytes(head[4:8], order) if len(head) >= 8 else 0
        if not 8 <= first_ifd < path.stat().st_size - 2:
            raise _not_valid("TIFF")
        return TIFF
    return None
