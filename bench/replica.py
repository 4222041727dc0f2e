"""Replication lag (a write on the primary until a read-only node answers it) and restore time.

For each sync interval: a primary (`registry serve`) on a database of generated sub-processors,
`registry replicate` shipping it to a file:// replica, `registry restore --follow` and
`registry serve --read-only` beside it. Each of N writes is a POST on the primary, then GETs of
the new record on the replica until it answers 200; the time from sending the POST is the lag.
Half of the writes run while readers load the replica (allowed-processors, the list), to show
that readers do not hold the follower back. Then `registry restore` of the replica, timed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import register
from allowed import CLI, ROOT, Served, free_port, listen

QUERY = "/v1/allowed-processors?data_category=user.contact.email"


def cli(env: dict, *args: str) -> str:
    done = subprocess.run(
        [*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout


def request(port: int, method: str, path: str, token: str, body: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        payload = None
        if body is not None:
            payload, headers["Content-Type"] = json.dumps(body), "application/json"
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def body(name: str) -> dict:
    return {
        "name": name,
        "legal_entity": f"{name} B.V.",
        "service": "hosting",
        "purpose": "Replication benchmark",
        "data_categories": ["user.contact.email"],
        "locations": [{"country": "NL", "activity": "storage"}],
        "effective_on": "2025-01-01",
        "already_in_use": True,
    }


class Background:
    """A `registry` command beside the servers (replicate, restore --follow)."""

    def __init__(self, env: dict, log: Path, *args: str):
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*CLI, *args], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # passed on to Litestream, which stops with it
            self.process.wait(timeout=30)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered)) - 1)]


def run(directory: Path, interval: float, args) -> dict:
    directory.mkdir()
    database = directory / "primary.db"
    replica_url = f"file://{directory / 'replica'}"
    env = {
        **os.environ,
        "REGISTRY_DATABASE": str(database),
        "REGISTRY_REPLICA_URL": replica_url,
        "REGISTRY_REPLICA_SYNC_INTERVAL": str(interval),
        "REGISTRY_RATE_LIMIT": "1000000/60",  # empty keeps the default budget
    }
    _, registry = register.open_registry(str(database))
    register.insert(registry, register.validate(registry, register.generate(args.preload)))
    registry.db.close()
    writer = cli(env, "keys", "create", "--role", "procurement", "--name", "bench")
    writer = writer.strip().splitlines()[-1]
    service = cli(env, "keys", "create", "--role", "service", "--name", "bench reader")
    service = service.strip().splitlines()[-1]
    node_env = {**env, "REGISTRY_DATABASE": str(directory / "node" / "replica.db")}
    started = []
    try:
        port = free_port()
        primary = Served(
            "primary",
            [*CLI, "serve", *listen(port, 2)],
            env,
            directory / "primary.log",
            port,
            "/v1/health",
        )
        started.append(primary)
        primary.wait_ready()
        shipper = Background(env, directory / "replicate.log", "replicate")
        started.append(shipper)
        shipper.wait_for("snapshot complete")
        follower = Background(
            node_env,
            directory / "follow.log",
            "restore", "--to", node_env["REGISTRY_DATABASE"], "--follow",
        )  # fmt: skip
        started.append(follower)
        follower.wait_for("following the replica")
        node_port = free_port()
        node = Served(
            "read-only node",
            [*CLI, "serve", "--read-only", *listen(node_port, 2)],
            node_env,
            directory / "node.log",
            node_port,
            "/v1/health",
        )
        started.append(node)
        node.wait_ready()

        stop = threading.Event()
        reads = [0]

        def reader() -> None:
            while not stop.is_set():
                for path in (QUERY, "/v1/subprocessors?limit=50"):
                    status, _ = request(node_port, "GET", path, service)
                    assert status == 200, status
                    reads[0] += 1

        lags = {"idle": [], "loaded": []}
        for phase in ("idle", "loaded"):
            threads = []
            stop.clear()
            if phase == "loaded":
                threads = [threading.Thread(target=reader) for _ in range(args.readers)]
                for thread in threads:
                    thread.start()
            for n in range(args.writes // 2):
                sent = time.monotonic()
                status, answer = request(
                    port, "POST", "/v1/subprocessors", writer, body(f"{phase} {n}")
                )
                assert status == 201, answer
                record = json.loads(answer)["id"]
                while request(node_port, "GET", f"/v1/subprocessors/{record}", writer)[0] != 200:
                    if time.monotonic() - sent > 60:
                        raise RuntimeError("a write was not replicated within 60 s")
                    time.sleep(0.005)
                lags[phase].append(time.monotonic() - sent)
                time.sleep(args.pause)
            stop.set()
            for thread in threads:
                thread.join()
    finally:
        for process in reversed(started):
            process.stop()

    target = directory / "restored.db"
    began = time.monotonic()
    summary = cli(env, "restore", "--to", str(target)).strip()
    restore_seconds = time.monotonic() - began
    replica_bytes = sum(f.stat().st_size for f in (directory / "replica").rglob("*") if f.is_file())
    every = lags["idle"] + lags["loaded"]
    return {
        "interval": interval,
        "median": statistics.median(every),
        "p95": percentile(every, 0.95),
        "max": max(every),
        "idle_median": statistics.median(lags["idle"]),
        "loaded_median": statistics.median(lags["loaded"]),
        "loaded_p95": percentile(lags["loaded"], 0.95),
        "reads": reads[0],
        "restore_seconds": restore_seconds,
        "database_bytes": target.stat().st_size,
        "replica_bytes": replica_bytes,
        "summary": summary,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=float, nargs="+", default=[1.0, 0.1])
    parser.add_argument("--writes", type=int, default=40, help="per interval, half under load")
    parser.add_argument("--readers", type=int, default=4, help="threads reading the replica")
    parser.add_argument("--preload", type=int, default=10_000, help="generated sub-processors")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between writes")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-replica-") as tmp:
        for index, interval in enumerate(args.intervals):
            result = run(Path(tmp) / f"run-{index}", interval, args)
            results.append(result)
            print(
                f"sync interval {interval:g} s: lag median {result['median']:.3f} s, "
                f"p95 {result['p95']:.3f} s, max {result['max']:.3f} s over {args.writes} writes "
                f"(idle median {result['idle_median']:.3f} s; with {args.readers} readers "
                f"median {result['loaded_median']:.3f} s, p95 {result['loaded_p95']:.3f} s, "
                f"{result['reads']} reads)"
            )
            print(
                f"  restore: {result['restore_seconds']:.2f} s for "
                f"{result['database_bytes'] / 2**20:.1f} MiB ({args.preload} sub-processors; "
                f"replica {result['replica_bytes'] / 2**20:.1f} MiB on disk)"
            )
            print(f"  {result['summary']}")
            sys.stdout.flush()
    return results


if __name__ == "__main__":
    main()
