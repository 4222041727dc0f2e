"""HTTP load generation: wrk when installed, else http.client connections in several processes."""

from __future__ import annotations

import http.client
import multiprocessing
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

# Counts responses per status in every wrk thread and prints the totals when done.
WRK_SCRIPT = """
local threads = {}
counts = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do
      total[status] = (total[status] or 0) + n
    end
  end
  io.write("STATUS")
  for status, n in pairs(total) do
    io.write(string.format(" %d=%d", status, n))
  end
  io.write("\\n")
  local e = summary.errors
  io.write(string.format("SOCKET connect=%d read=%d write=%d timeout=%d\\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("TOTAL requests=%d duration_us=%d\\n", summary.requests, summary.duration))
end
"""


@dataclass
class Result:
    requests: int
    seconds: float
    statuses: Counter = field(default_factory=Counter)
    socket_errors: int = 0
    cpu_per_request: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def unexpected(self, expected: int) -> int:
        """Responses with another status than `expected`, plus socket errors."""
        return sum(n for status, n in self.statuses.items() if status != expected) + (
            self.socket_errors
        )


class Wrk:
    name = "wrk"

    def __init__(self, connections: int, threads: int):
        self.connections = connections
        self.threads = threads
        self._dir = tempfile.TemporaryDirectory(prefix="bench-wrk-")
        self.script = Path(self._dir.name) / "count.lua"
        self.script.write_text(WRK_SCRIPT)
        version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        self.version = (version.stdout + version.stderr).split("[")[0].strip() or "wrk"

    def describe(self) -> str:
        return f"{self.version} (-t{self.threads} -c{self.connections})"

    def run(self, url: str, headers: dict[str, str], seconds: float) -> Result:
        command = [
            "wrk",
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(self.script),
        ]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
        out = done.stdout
        statuses = Counter(
            {int(s): int(n) for s, n in re.findall(r"(\d+)=(\d+)", _line(out, "STATUS"))}
        )
        socket = sum(int(n) for n in re.findall(r"=(\d+)", _line(out, "SOCKET")))
        total = dict(re.findall(r"(\w+)=(\d+)", _line(out, "TOTAL")))
        return Result(
            requests=int(total["requests"]),
            seconds=int(total["duration_us"]) / 1e6,
            statuses=statuses,
            socket_errors=socket,
        )

    def close(self) -> None:
        self._dir.cleanup()


def _line(output: str, prefix: str) -> str:
    for line in output.splitlines():
        if line.startswith(prefix):
            return line
    raise RuntimeError(f"wrk printed no {prefix} line:\n{output}")


def _client(url, headers, start_at, stop_at, queue) -> None:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    statuses: Counter = Counter()
    errors = 0
    # Kept alive when the server allows it; http.client reopens it after a Connection: close.
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    while time.monotonic() < start_at:
        time.sleep(0.001)
    while time.monotonic() < stop_at:
        try:
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
            response.read()
            statuses[response.status] += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
    conn.close()
    queue.put((dict(statuses), errors))


class PythonLoad:
    name = "python"

    def __init__(self, connections: int):
        self.connections = connections

    def describe(self) -> str:
        return (
            f"python http.client load generator ({self.connections} processes, 1 connection each)"
        )

    def run(self, url: str, headers: dict[str, str], seconds: float) -> Result:
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        start_at = time.monotonic() + 0.5
        stop_at = start_at + seconds
        workers = [
            context.Process(target=_client, args=(url, headers, start_at, stop_at, queue))
            for _ in range(self.connections)
        ]
        for worker in workers:
            worker.start()
        statuses: Counter = Counter()
        errors = 0
        for _ in workers:
            counted, failed = queue.get()
            statuses.update(counted)
            errors += failed
        for worker in workers:
            worker.join()
        return Result(sum(statuses.values()), seconds, statuses, errors)

    def close(self) -> None:
        pass


def generator(connections: int, threads: int, prefer: str = "auto"):
    """wrk when on PATH (unless `prefer` is "python"), else the Python generator."""
    if prefer != "python" and shutil.which("wrk"):
        return Wrk(connections, threads)
    if prefer == "wrk":
        raise RuntimeError("wrk is not on PATH (Debian: apt-get install -y wrk)")
    return PythonLoad(connections)
