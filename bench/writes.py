"""Commits/s of POST /v1/subprocessors under gunicorn (2, 4 workers) against raw SQLite commits."""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import register
from allowed import CLI, ROOT, Served, free_port, listen

from registry.db import store as db

PATH = "/v1/subprocessors"
TEMPLATES = 64


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def raw_commits(path: Path, seconds: float) -> dict:
    """One process, registry.db.connect()'s pragmas, BEGIN IMMEDIATE + one small INSERT + COMMIT."""
    conn = db.connect(str(path))
    conn.execute("CREATE TABLE commits (id INTEGER PRIMARY KEY, name TEXT NOT NULL, at TEXT)")
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]
    commits = 0
    started = time.perf_counter()
    stop_at = started + seconds
    while time.perf_counter() < stop_at:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO commits (name, at) VALUES (?, ?)", (f"row {commits}", time.time())
        )
        conn.execute("COMMIT")
        commits += 1
    elapsed = time.perf_counter() - started
    rows = conn.execute("SELECT count(*) FROM commits").fetchone()[0]
    conn.close()
    if rows != commits:
        raise RuntimeError(f"raw SQLite: {commits} commits but {rows} rows")
    if journal != "wal" or synchronous != 2:
        raise RuntimeError(f"raw SQLite: journal_mode {journal}, synchronous {synchronous}")
    return {"commits": commits, "seconds": elapsed, "rate": commits / elapsed}


def _client(index, port, token, tag, start_at, warm_until, stop_at, queue) -> None:
    """POSTs valid sub-processors with unique names until `stop_at`; reports what happened."""
    templates = [
        {k: v for k, v in record.items() if not k.startswith("_")}
        for record in register.generate(TEMPLATES, seed=index)
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    statuses: Counter = Counter()
    latencies: list[float] = []
    created_at: list[float] = []
    acknowledged = failures = 0
    samples: list[str] = []
    sent = 0
    while time.monotonic() < start_at:
        time.sleep(0.001)
    while time.monotonic() < stop_at:
        body = {**templates[sent % TEMPLATES], "name": f"writes {tag} c{index} {sent:07d}"}
        sent += 1
        started = time.monotonic()
        try:
            conn.request("POST", PATH, body=json.dumps(body).encode(), headers=headers)
            response = conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as exc:
            # The outcome is unknown: the server may have committed it.
            failures += 1
            conn.close()
            if len(samples) < 3:
                samples.append(f"{type(exc).__name__}: {exc}")
            continue
        finished = time.monotonic()
        if response.status == 201:
            acknowledged += 1
        elif len(samples) < 3:
            samples.append(f"{response.status}: {content[:300]!r}")
        if started >= warm_until and finished <= stop_at:
            statuses[response.status] += 1
            latencies.append(finished - started)
            if response.status == 201:
                created_at.append(finished - warm_until)
    conn.close()
    queue.put(
        {
            "statuses": dict(statuses),
            "latencies": latencies,
            "created_at": created_at,
            "acknowledged": acknowledged,
            "failures": failures,
            "samples": samples,
        }
    )


def load(port: int, token: str, tag: str, clients: int, seconds: float, warmup: float) -> dict:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.monotonic() + 0.5
    warm_until = start_at + warmup
    stop_at = warm_until + seconds
    processes = [
        context.Process(
            target=_client, args=(i, port, token, tag, start_at, warm_until, stop_at, queue)
        )
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    reports = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    statuses: Counter = Counter()
    latencies: list[float] = []
    created_at: list[float] = []
    for report in reports:
        statuses.update(report["statuses"])
        latencies += report["latencies"]
        created_at += report["created_at"]
    window = min(2.0, seconds / 2)
    return {
        "statuses": statuses,
        "latencies": latencies,
        "created": statuses.get(201, 0),
        "first": sum(t < window for t in created_at) / window,
        "last": sum(t >= seconds - window for t in created_at) / window,
        "window": window,
        "seconds": seconds,
        "acknowledged": sum(r["acknowledged"] for r in reports),
        "failures": sum(r["failures"] for r in reports),
        "samples": [s for r in reports for s in r["samples"]][:5],
    }


def cli(env: dict, *args: str) -> str:
    done = subprocess.run(
        [*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout


def api_run(directory: Path, workers: int, args) -> dict:
    """A fresh database, `registry serve --workers N`, `clients` concurrent writers."""
    directory.mkdir()
    database = directory / "registry.db"
    env = {**os.environ, "REGISTRY_DATABASE": str(database)}
    if args.preload:
        _, registry = register.open_registry(str(database))
        register.insert(registry, register.validate(registry, register.generate(args.preload)))
        registry.db.close()
    else:
        cli(env, "init")
    token = cli(env, "keys", "create", "--role", "procurement", "--name", "bench writer")
    token = token.strip().splitlines()[-1]
    port = free_port()
    server = Served(
        f"registry ({workers} workers)",
        [*CLI, "serve", *listen(port, workers)],
        env,
        directory / "server.log",
        port,
        "/openapi.json",
    )
    try:
        server.wait_ready()
        cpu_before = server.worker_cpu()
        result = load(port, token, f"w{workers}", args.clients, args.seconds, args.warmup)
        cpu_after = server.worker_cpu()
    finally:
        server.stop()
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT count(*) FROM subprocessors").fetchone()[0]
        result["rows"] = rows - args.preload
        result["check"] = conn.execute("PRAGMA quick_check").fetchone()[0]
    conn.close()
    log = (directory / "server.log").read_text(errors="replace")
    result["log_problems"] = log.count("Traceback") + log.count("WORKER TIMEOUT")
    result["rate"] = result["created"] / result["seconds"]
    total = sum(result["statuses"].values())
    if cpu_before is not None and cpu_after is not None and total:
        # Includes the warm-up requests: an approximation of the cost of one write request.
        result["cpu_ms"] = (cpu_after - cpu_before) / (result["acknowledged"] or 1) * 1e3
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--raw-seconds", type=float, default=3)
    parser.add_argument(
        "--preload", type=int, default=0, help="generated sub-processors in the database first"
    )
    parser.add_argument("--dir", help="where to make the temporary databases (default: $TMPDIR)")
    args = parser.parse_args(argv)

    print(
        f"== writes: {date.today()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    report: dict = {"api": {}, "raw": [], "errors": 0}
    with tempfile.TemporaryDirectory(prefix="bench-writes-", dir=args.dir) as tmp:
        directory = Path(tmp)
        print(
            f"databases under {directory} (WAL, synchronous=FULL, BEGIN IMMEDIATE); "
            f"{args.clients} client processes, http.client, POST {PATH} (procurement token), "
            f"a new connection per request (unless the load generator keeps it alive); "
            f"{args.warmup:g} s warm-up, then {args.seconds:g} s measured; "
            f"{args.preload} sub-processors in the database at the start"
        )
        print(
            "raw SQLite: one process, one connection, BEGIN IMMEDIATE + one small INSERT + "
            f"COMMIT, {args.raw_seconds:g} s, before and after each API run"
        )

        def raw() -> None:
            result = raw_commits(directory / f"raw-{len(report['raw'])}.db", args.raw_seconds)
            report["raw"].append(result["rate"])
            print(f"  raw SQLite: {result['rate']:7.0f} commits/s", flush=True)

        raw()
        for workers in args.workers:
            result = api_run(directory / f"api-{workers}", workers, args)
            raw()
            report["api"][workers] = result
            latencies = result["latencies"]
            statuses = " ".join(f"{s}={n}" for s, n in sorted(result["statuses"].items()))
            server_errors = sum(n for s, n in result["statuses"].items() if s >= 500)
            other = sum(n for s, n in result["statuses"].items() if s != 201)
            errors = other + result["failures"] + (result["rows"] != result["acknowledged"])
            errors += result["check"] != "ok"
            report["errors"] += errors
            result["server_errors"] = server_errors
            result["p50"], result["p99"] = percentile(latencies, 0.5), percentile(latencies, 0.99)
            cpu = f", worker CPU {result['cpu_ms']:.1f} ms/commit" if "cpu_ms" in result else ""
            print(
                f"  API, {workers} workers: {result['rate']:7.0f} commits/s, latency p50 "
                f"{result['p50'] * 1e3:.1f} ms, p99 {result['p99'] * 1e3:.1f} ms, max "
                f"{max(latencies, default=0) * 1e3:.1f} ms{cpu}  [{statuses}; 5xx {server_errors};"
                f" socket errors/timeouts {result['failures']}]",
                flush=True,
            )
            print(
                f"    commits/s in the first {result['window']:g} s {result['first']:.0f}, in the "
                f"last {result['window']:g} s {result['last']:.0f}; acknowledged 201s (warm-up "
                f"included) {result['acknowledged']}, rows added {result['rows']} "
                f"({'equal' if result['rows'] == result['acknowledged'] else 'DIFFERENT'}); "
                f"quick_check {result['check']}; tracebacks or worker timeouts in the log "
                f"{result['log_problems']}"
            )
            for sample in result["samples"]:
                print(f"    unexpected: {sample}")
    raw_rate = statistics.median(report["raw"])
    report["raw_rate"] = raw_rate
    print(
        f"raw SQLite median {raw_rate:.0f} commits/s ("
        + ", ".join(f"{r:.0f}" for r in report["raw"])
        + ")"
    )
    for workers, result in report["api"].items():
        result["ratio"] = result["rate"] / raw_rate
        print(
            f"ratio API/raw, {workers} workers: {result['ratio']:.2f} "
            f"({result['rate']:.0f} / {raw_rate:.0f} commits/s)"
        )
    if report["errors"]:
        print(f"ERRORS: {report['errors']} (non-201 answers, socket errors or a row mismatch)")
    return report


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
