"""Runs the benchmarks (allowed-processors, compliance, writes, downloads) and sums them up."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date

import allowed
import compliance
import download
import writes

LINEAR_TOLERANCE = 1.2


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="short runs and sizes up to 10k (a smoke test)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    allowed_args = ["--seconds", "1", "--rounds", "3", "--warmup", "1"] if args.quick else []
    served = allowed.main(allowed_args)
    print()
    evaluated = compliance.main(["--sizes", "1000", "10000"] if args.quick else [])
    print()
    written = writes.main(
        ["--seconds", "3", "--raw-seconds", "1", "--workers", "2"] if args.quick else []
    )
    print()
    downloaded = download.main(
        ["--rounds", "2", "--sequential", "2", "--rss-downloads", "2"] if args.quick else []
    )

    print(f"\n== summary: {date.today()}, {os.cpu_count()} CPUs, load: {served['loadgen']}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for key, title in (("200", "200 path"), ("304", "304 path")):
        result = served[key]
        cpu = f", worker CPU/request ratio {result['cpu_ratio']:.2f}" if result["cpu_ratio"] else ""
        print(
            f"allowed-processors {title}: registry {result['registry']:.0f} req/s, "
            f"hello-world {result['hello']:.0f} req/s, ratio {result['ratio']:.2f} "
            f"(target >= {result['target']}: {verdict(result['ratio'] >= result['target'])}){cpu}"
        )
    sizes = evaluated["sizes"]
    if compliance.TARGET_SIZE in sizes:
        seconds = sizes[compliance.TARGET_SIZE]["request"]
        print(
            f"GET /v1/compliance at {compliance.TARGET_SIZE}: {seconds:.3f} s "
            f"(target < {compliance.TARGET_SECONDS:g} s: "
            f"{verdict(seconds < compliance.TARGET_SECONDS)})"
        )
    smallest, largest = min(sizes), max(sizes)
    wall, cpu = evaluated["linearity"]["request"], evaluated["linearity"]["request_cpu"]
    print(
        f"GET /v1/compliance per-record time {largest}/{smallest}: {wall:.2f} wall, {cpu:.2f} CPU "
        f"(linear, CPU <= {LINEAR_TOLERANCE}: {verdict(cpu <= LINEAR_TOLERANCE)})"
    )
    for workers, result in written["api"].items():
        print(
            f"POST /v1/subprocessors, {workers} workers: {result['rate']:.0f} commits/s "
            f"(p50 {result['p50'] * 1e3:.0f} ms, p99 {result['p99'] * 1e3:.0f} ms), "
            f"ratio API/raw SQLite {result['ratio']:.2f} (raw {written['raw_rate']:.0f}/s); "
            f"5xx {result['server_errors']} (target 0: {verdict(not result['server_errors'])}); "
            f"rows = acknowledged: {verdict(result['rows'] == result['acknowledged'])}"
        )
    rss = max(downloaded["rss"][name]["growth"] for name in ("staff", "customer"))
    print(
        f"download {downloaded['size_mib']:g} MiB: worker RSS growth {rss:+.1f} MiB "
        f"(target < {download.RSS_TARGET_MIB} MiB: {verdict(rss < download.RSS_TARGET_MIB)}; "
        f"bare send_file {downloaded['rss']['bare']['growth']:+.1f} MiB)"
    )
    for name in ("staff", "customer"):
        result = downloaded["throughput"][name]
        ok = min(result["sequential_ratio"], result["concurrent_ratio"]) >= download.RATIO_TARGET
        print(
            f"download by {name}: {result['sequential']:.0f} MiB/s sequential, "
            f"{result['concurrent']:.0f} MiB/s concurrent; ratio to bare send_file "
            f"{result['sequential_ratio']:.2f} / {result['concurrent_ratio']:.2f} "
            f"(target >= {download.RATIO_TARGET}: {verdict(ok)})"
        )
    errors = served["errors"] + written["errors"] + downloaded["errors"]
    if served["errors"]:
        print(f"ERRORS: {served['errors']} unexpected responses under load")
    if written["errors"] or downloaded["errors"]:
        print(f"ERRORS: writes {written['errors']}, downloads {downloaded['errors']}")
    print(f"total {time.perf_counter() - started:.0f} s")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
