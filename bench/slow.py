"""Slow clients against `registry serve` and granian: /v1/health latency while they hang on.

Two cases, each against both servers (2 workers each, the same database):
- trickle: 600 connections from 127.0.0.2 each send one byte of a request head every
  `--interval` seconds;
- stalled: `--stalled` connections from 127.0.0.2 each send a whole POST head announcing a
  100-byte body, one byte of it, and then nothing.
Meanwhile a fresh connection from 127.0.0.1 asks for /v1/health every second (timeout 5 s).
Printed: the health latencies (or timeouts), and what the slow connections were answered.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import allowed

HEAD = b"GET /v1/health HTTP/1.1\r\nHost: bench\r\nUser-Agent: trickle\r\n\r\n"
STALLED = (
    "POST /v1/subprocessors HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
    "Authorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n{{"
)


def connect(port: int) -> socket.socket | None:
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.2", 0))
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    return sock


def health(port: int) -> float | None:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/v1/health")
        response = conn.getresponse()
        response.read()
        return time.monotonic() - started if response.status == 200 else None
    except OSError:
        return None
    finally:
        conn.close()


def answers(socks: list[socket.socket]) -> dict[str, int]:
    """What each slow connection got: a status line, a close without one, or nothing yet."""
    counted: dict[str, int] = {}
    for sock in socks:
        sock.setblocking(False)
        try:
            data = sock.recv(64)
            key = data[:12].decode("latin-1").strip() if data else "closed, no answer"
        except BlockingIOError:
            key = "still open, no answer"
        except OSError:
            key = "reset"
        counted[key] = counted.get(key, 0) + 1
    return counted


def writer_token(env: dict) -> str:
    """A procurement key: its POST is authorised, so the server reads the body."""
    created = subprocess.run(
        [*allowed.CLI, "keys", "create", "--role", "procurement", "--name", "bench writer"],
        env=env,
        cwd=allowed.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return created.stdout.strip().splitlines()[-1]


def case(port: int, kind: str, count: int, seconds: float, interval: float, token: str) -> dict:
    socks = [sock for sock in (connect(port) for _ in range(count)) if sock is not None]
    sent = dict.fromkeys(socks, 0)
    if kind == "stalled":
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.sendall(STALLED.format(token=token).encode())
    latencies: list[float | None] = []
    started = time.monotonic()
    next_byte = started
    while time.monotonic() - started < seconds:
        if kind == "trickle" and time.monotonic() >= next_byte:
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.send(HEAD[sent[sock] : sent[sock] + 1])
                    sent[sock] = min(sent[sock] + 1, len(HEAD) - 3)  # never the last CRLF
            next_byte += interval
        latencies.append(health(port))
        time.sleep(max(0.0, 1 - (time.monotonic() - started) % 1))
    result = {"opened": len(socks), "latencies": latencies, "answers": answers(socks)}
    for sock in socks:
        sock.close()
    return result


def describe(result: dict) -> str:
    answered = [t for t in result["latencies"] if t is not None]
    failed = len(result["latencies"]) - len(answered)
    spread = (
        f"{min(answered):.3f}-{max(answered):.3f} s (median {statistics.median(answered):.3f})"
        if answered
        else "never answered"
    )
    got = ", ".join(f"{n} {key}" for key, n in sorted(result["answers"].items()))
    return (
        f"health {spread}, {failed} of {len(result['latencies'])} timed out (5 s); "
        f"{result['opened']} opened: {got}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trickle", type=int, default=600)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--stalled", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    print(f"== slow clients: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-slow-") as tmp:
        directory = Path(tmp)
        setup = allowed.prepare(directory, 100)
        token = writer_token(setup["env"])
        servers = {
            "registry serve": allowed.registry_served(directory, setup["env"], args.workers),
            "granian": allowed.registry_on_granian(directory, setup["env"], args.workers),
        }
        try:
            for server in servers.values():
                server.wait_ready()
            for kind, count in (("trickle", args.trickle), ("stalled", args.stalled)):
                for name, server in servers.items():
                    result = case(server.port, kind, count, args.seconds, args.interval, token)
                    print(f"{kind} x{count}, {name}: {describe(result)}", flush=True)
                    time.sleep(2)
        finally:
            for server in servers.values():
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
