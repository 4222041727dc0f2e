"""A real ClamAV daemon for tests: its own config and signature database in a temp folder.

No freshclam and no network: the database holds MD5 signatures made here (sigtool --md5),
the EICAR test file's first. `add` puts another file's MD5 in and reloads clamd.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

# The EICAR anti-virus test file (eicar.org): every scanner detects it, it does nothing.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
MIB = 1024 * 1024


def command(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    assert found, f"{name} is missing: apt-get install clamav clamav-daemon (make test does)"
    return found


class ClamDaemon:
    def __init__(self, directory: Path, stream_max_mib: int = 60, cache: bool = True):
        self.directory = directory
        self.database = directory / "db"
        self.socket = str(directory / "clamd.sock")
        self.config = directory / "clamd.conf"
        self.log = directory / "clamd.log"
        self.process: subprocess.Popen | None = None
        self.database.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f"LocalSocket {self.socket}\n"
            "Foreground yes\n"
            f"DatabaseDirectory {self.database}\n"
            f"StreamMaxLength {stream_max_mib}M\n"
            f"MaxFileSize {stream_max_mib}M\n"
            f"MaxScanSize {2 * stream_max_mib}M\n"
            "AlertExceedsMax yes\n" + ("" if cache else "DisableCache yes\n")
            # clamd remembers clean files by hash until the next reload; a benchmark turns it off.
        )
        self.signatures: list[str] = []
        self.eicar = self.add(EICAR, "eicar.com", reload=False)

    def add(self, content: bytes, name: str, *, reload: bool = True) -> str:
        """Put the content's MD5 in the database as signature `name`; reload a running clamd."""
        sample = self.directory / name
        sample.write_bytes(content)
        line = subprocess.run(
            [command("sigtool"), "--md5", str(sample)],
            check=True,
            capture_output=True,
            text=True,
            cwd=self.directory,
        ).stdout.strip()
        sample.unlink()
        self.signatures.append(line)
        (self.database / "test.hdb").write_text("\n".join(self.signatures) + "\n")
        name = line.rsplit(":", 1)[-1]
        if reload and self.process is not None:
            assert self.command(b"zRELOAD\0") == b"RELOADING\0"
            # The reload runs beside the old database: done once the content is found.
            deadline = time.monotonic() + 60
            while self.scan(content) != f"stream: {name}.UNOFFICIAL FOUND".encode():
                assert time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.1)
        return name + ".UNOFFICIAL"

    def scan(self, content: bytes) -> bytes:
        """clamd's own answer to INSTREAM, without its NUL."""
        size = len(content).to_bytes(4, "big")
        return self.command(b"zINSTREAM\0" + size + content + bytes(4)).rstrip(b"\0")

    def command(self, message: bytes) -> bytes:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(30)
            sock.connect(self.socket)
            sock.sendall(message)
            reply = b""
            while not reply.endswith(b"\0") and (part := sock.recv(4096)):
                reply += part
            return reply

    def _wait_ready(self, timeout: float = 60) -> None:
        # PING answers only once the (re)loaded database is in use.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            try:
                if self.command(b"zPING\0") == b"PONG\0":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"clamd did not answer: {self.log.read_text()}")

    def start(self) -> ClamDaemon:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [command("clamd"), "-c", str(self.config)], stdout=log, stderr=log
            )
        self._wait_ready()
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
