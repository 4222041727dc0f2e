"""Cost of GET /v1/compliance over 1k/10k/50k sub-processors, against reading the rows alone."""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import register

from registry.compliance import engine
from registry.documents import store as document_store
from registry.subprocessors import store

SIZES = (1_000, 10_000, 50_000)
TARGET_SIZE, TARGET_SECONDS = 10_000, 1.0


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def timed_cpu(function) -> tuple[float, float, object]:
    """Wall and CPU seconds of this process (CPU is less disturbed by a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def grow(registry, bodies: list[dict]) -> float:
    seconds, _ = timed(lambda: register.insert(registry, bodies))
    return seconds


def measure(app, registry, client, headers: dict, size: int, repeats: int) -> dict:
    """Median seconds of: reading the rows, the engine alone, both streamed, the whole request."""
    today = registry.today()
    times: dict[str, list[float]] = {
        "read": [],
        "evaluate": [],
        "streamed": [],
        "request": [],
        "request_cpu": [],
    }
    with app.app_context():
        law = registry.law()
        conn = registry.db.connection()
        # As the resource does: disclosable SCC/BCR copies on file (none here: warnings).
        copies = document_store.disclosable_copies(conn)

        def read():
            with registry.db.snapshot():
                return list(store.iter_current(conn, today.isoformat()))

        def evaluate(records):
            return engine.evaluate_register(records, law, today, copies=copies)

        def streamed():
            with registry.db.snapshot():
                rows = store.iter_current(conn, today.isoformat())
                return engine.evaluate_register(rows, law, today, copies=copies)

        for _ in range(repeats):
            seconds, records = timed(read)
            times["read"].append(seconds)
            times["evaluate"].append(timed(lambda records=records: evaluate(records))[0])
            del records
            times["streamed"].append(timed(streamed)[0])
            seconds, cpu, response = timed_cpu(
                lambda: client.get("/v1/compliance", headers=headers)
            )
            times["request"].append(seconds)
            times["request_cpu"].append(cpu)
            if response.status_code != 200:
                raise RuntimeError(f"GET /v1/compliance answered {response.status_code}")
            summary = response.get_json()["summary"]
            if summary["total"] != size:
                raise RuntimeError(f"expected {size} sub-processors, the report has {summary}")
    result = {name: statistics.median(values) for name, values in times.items()}
    result["flagged"] = summary["flagged"]
    result["bytes"] = len(response.data)
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument(
        "--repeats", type=int, help="runs per size (default: 5 up to 10k records, then 3)"
    )
    parser.add_argument(
        "--onward", type=int, default=3, help="onward transfers per sub-processor (default 3)"
    )
    args = parser.parse_args(argv)
    sizes = sorted(args.sizes)

    print(
        f"== compliance: {date.today()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-compliance-") as tmp:
        app, registry = register.open_registry(str(Path(tmp) / "registry.db"))
        headers = {"Authorization": f"Bearer {register.token(registry, 'admin')}"}
        client = app.test_client()
        print(
            f"each size adds generated sub-processors (3 locations and {args.onward} onward "
            "transfers each), validated by the API "
            "schema and inserted through the store; measured in-process, Flask test client, "
            "SQLite file; "
            "median of 5 runs (3 above 10k) per size; read = list(store.iter_current) (SQL + "
            "JSON), evaluate = compliance.evaluate_register on that list, streamed = the cursor "
            "fed to evaluate_register, request = GET /v1/compliance (admin token)"
        )
        print(
            f"{'size':>7} {'read s':>7} {'evaluate s':>10} {'streamed s':>10} {'request s':>9} "
            f"{'(CPU s)':>7} {'us/record':>9} {'request/read':>12} {'flagged':>7} {'body':>6}"
        )
        loaded = 0
        results = {}
        for size in sizes:
            # The same seed makes each larger register extend the smaller one.
            added = register.generate(size, onward=args.onward)[loaded:]
            grow(registry, register.validate(registry, added))
            loaded = size
            del added
            gc.collect()
            repeats = args.repeats or (5 if size <= 10_000 else 3)
            result = measure(app, registry, client, headers, size, repeats)
            results[size] = result
            request = result["request"]
            print(
                f"{size:>7} {result['read']:>7.3f} {result['evaluate']:>10.3f} "
                f"{result['streamed']:>10.3f} {request:>9.3f} {result['request_cpu']:>7.3f} "
                f"{request / size * 1e6:>9.1f} "
                f"{request / result['read']:>12.1f} {result['flagged']:>7} "
                f"{result['bytes'] / 1e6:>4.1f}MB",
                flush=True,
            )
        registry.db.close()

    small, large = sizes[0], sizes[-1]
    linearity = {
        name: (results[large][name] / large) / (results[small][name] / small)
        for name in ("read", "evaluate", "streamed", "request", "request_cpu")
    }
    print(
        f"per-record time ratio {large}/{small} (linear: about 1.0): "
        + ", ".join(f"{name} {ratio:.2f}" for name, ratio in linearity.items())
    )
    report = {"sizes": results, "linearity": linearity}
    if TARGET_SIZE in results:
        seconds = results[TARGET_SIZE]["request"]
        verdict = "met" if seconds < TARGET_SECONDS else "NOT met"
        print(
            f"target: {TARGET_SIZE} under {TARGET_SECONDS:g} s: {seconds:.3f} s wall, "
            f"{results[TARGET_SIZE]['request_cpu']:.3f} s CPU ({verdict})"
        )
        report["target_seconds"] = seconds
    return report


if __name__ == "__main__":
    main()
    sys.exit(0)
