"""Requests/s of the public sub-processor page (GET /subprocessors, no token) from its cache,
against hello-world Flask served the same way, in the same run."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

import load
from allowed import Served, add_load_options, get, measure, prepare, serve_pair

TARGET = 0.8
PAGE = "/subprocessors"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100)
    add_load_options(parser)
    args = parser.parse_args(argv)
    print(
        f"== public page: {date.today()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-public-") as tmp:
        directory = Path(tmp)
        setup = prepare(directory, args.records, 0.1)
        servers = serve_pair(directory, setup["env"], args.workers)
        generator = load.generator(args.connections, args.threads, args.loadgen)
        try:
            for server in servers.values():
                server.wait_ready()
            return run(args, generator, servers)
        finally:
            generator.close()
            for server in servers.values():
                server.stop()


def run(args, generator, servers: dict[str, Served]) -> dict:
    registry, hello = servers["registry"], servers["hello"]
    status, headers, body = get(registry.port, PAGE, {"Accept-Encoding": "gzip"})
    if status != 200:
        raise RuntimeError(f"GET {PAGE} answered {status}: {body[:300]!r}")
    print(
        f"page: {args.records} sub-processors, {len(body)} bytes as sent "
        f"({headers.get('Content-Encoding', 'identity')}), ETag {headers.get('ETag')}, "
        f"Cache-Control {headers.get('Cache-Control')}"
    )
    print(f"load: {generator.describe()}, {args.seconds:g} s per run, {args.rounds} rounds")
    report: dict = {"errors": 0}
    for key, extra in (("200", {"Accept-Encoding": "gzip"}), ("304", None)):
        sent = dict(extra or {})
        if key == "304":
            sent = {"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]}
        runs = {
            "hello": (hello, f"http://127.0.0.1:{hello.port}/hello", {}),
            "registry": (registry, f"http://127.0.0.1:{registry.port}{PAGE}", sent),
        }
        results = measure(generator, runs, args.rounds, args.seconds, args.warmup)
        expected = {"hello": 200, "registry": int(key)}
        medians = {
            name: statistics.median(r.rps for r in rounds) for name, rounds in results.items()
        }
        unexpected = sum(r.unexpected(expected[n]) for n, rounds in results.items() for r in rounds)
        report["errors"] += unexpected
        ratio = medians["registry"] / medians["hello"]
        verdict = "met" if ratio >= TARGET else "NOT met"
        print(
            f"({key}) hello {medians['hello']:.0f} req/s, page {medians['registry']:.0f} req/s: "
            f"ratio {ratio:.2f} (target >= {TARGET}: {verdict}); unexpected {unexpected}",
            flush=True,
        )
        report[key] = {**medians, "ratio": ratio}
    return report


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
