"""Malware scanning: `registry documents rescan` of 1,000 stored copies, and a 50 MiB upload.

A real clamd (Debian's, as tests/documents/scan_daemon.py starts it: its own temp config and an
MD5 signature database made here, no freshclam) and an in-process registry on a real SQLite
file (WAL, synchronous=FULL). Figures:

- rescan: wall time of `documents.rescan` (what `registry documents rescan` runs) over 1,000
  copies of 1,000 distinct PDFs (sizes 20-400 KiB, seeded), one of them made a signature so
  one copy is withdrawn; baseline: the same files sent to clamd with INSTREAM alone (no
  VERSION, no database), after a warm-up pass, the mean of a run before and one after. The
  ratio is the registry's overhead.
- upload: the one upload call (`documents.upload`, which POST /v1/documents and `registry
  documents add` both run) of a 50 MiB PDF (REGISTRY_MAX_UPLOAD, the default limit, so the
  largest upload) with the scanner and without, and the scan of the same 50 MiB alone.

clamd runs with `DisableCache yes`: it would otherwise answer a file it found clean before
(until its next reload) from a cache of hashes, and every figure after the first pass would
measure that cache. A rescan after freshclam's update meets an empty cache, as here.

Note: a signature database of a few MD5s is far smaller than freshclam's (several million
signatures): clamd's own scan time per byte is what a production database changes.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "documents"))

from scan_daemon import ClamDaemon  # noqa: E402

from registry import bootstrap  # noqa: E402
from registry.app import create_app  # noqa: E402
from registry.documents import scanner  # noqa: E402
from registry.documents import service as documents  # noqa: E402
from registry.settings import MIB, Settings  # noqa: E402

ACTOR = {"name": "bench"}
META = {"kind": "scc", "title": "Bench copy", "audience": "internal"}


def pdf(rng: random.Random, size: int) -> bytes:
    return b"%PDF-1.7\n" + rng.randbytes(size - 9)


def registry_for(directory: Path, clamd: str | None):
    settings = Settings(database=str(directory / "registry.db"), clamd=clamd)
    app = create_app(settings)
    registry = app.extensions["registry"]
    with app.app_context():
        bootstrap.initialise(registry)
    return app, registry


def bench_rescan(directory: Path, daemon: ClamDaemon, count: int) -> dict:
    rng = random.Random(2026)
    files = [pdf(rng, rng.randint(20 * 1024, 400 * 1024)) for _ in range(count)]
    app, registry = registry_for(directory / "rescan", None)
    with app.app_context():
        for content in files:
            documents.upload(registry, io.BytesIO(content), META, ACTOR, max_size=50 * MIB)
    daemon.add(files[count // 2], "bench-infected.pdf")
    clamd = scanner.Clamd(daemon.socket, 60)

    def bare() -> float:
        started = time.perf_counter()
        for content in files:
            clamd.instream(io.BytesIO(content))
        return time.perf_counter() - started

    bare()  # warms clamd and the page cache for both runs
    before = bare()
    scanning = Settings(database=registry.settings.database, clamd=daemon.socket)
    app, registry = create_app(scanning), None
    registry = app.extensions["registry"]
    with app.app_context():
        started = time.perf_counter()
        summary = documents.rescan(registry, ACTOR)
        took = time.perf_counter() - started
    after = bare()
    assert summary["infected"] == 1 and len(summary["withdrawn"]) == 1, summary
    megabytes = sum(map(len, files)) / MIB
    return {"copies": count, "mib": megabytes, "rescan": took, "bare": (before + after) / 2}


def bench_upload(directory: Path, daemon: ClamDaemon, size: int, runs: int) -> dict:
    rng = random.Random(50)
    times = {"scanned": [], "unscanned": [], "scan alone": []}
    scanned_app, scanned = registry_for(directory / "up-scan", daemon.socket)
    plain_app, plain = registry_for(directory / "up-plain", None)
    clamd = scanner.Clamd(daemon.socket, 120)
    for _ in range(runs):
        content = pdf(rng, size)
        for key, app, registry in (
            ("scanned", scanned_app, scanned),
            ("unscanned", plain_app, plain),
        ):
            with app.app_context():
                started = time.perf_counter()
                document, _ = documents.upload(
                    registry, io.BytesIO(content), META, ACTOR, max_size=size
                )
                times[key].append(time.perf_counter() - started)
            expected = "clean" if key == "scanned" else "not_scanned"
            assert document["scan"] == expected, document
        started = time.perf_counter()
        assert clamd.instream(io.BytesIO(content)) is None
        times["scan alone"].append(time.perf_counter() - started)
    return {key: statistics.median(values) for key, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--upload-mib", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as temp:
        directory = Path(temp)
        daemon = ClamDaemon(
            directory / "clamav", stream_max_mib=args.upload_mib + 10, cache=False
        ).start()
        try:
            rescan = bench_rescan(directory, daemon, args.copies)
            upload = bench_upload(directory, daemon, args.upload_mib * MIB, args.runs)
        finally:
            daemon.stop()
    print(
        f"rescan of {rescan['copies']} copies ({rescan['mib']:.0f} MiB): "
        f"{rescan['rescan']:.2f} s ({rescan['copies'] / rescan['rescan']:.0f} copies/s); "
        f"INSTREAM alone {rescan['bare']:.2f} s; ratio {rescan['rescan'] / rescan['bare']:.2f}"
    )
    print(
        f"{args.upload_mib} MiB upload (median of {args.runs}): scanned {upload['scanned']:.2f} s, "
        f"unscanned {upload['unscanned']:.2f} s, the scan alone {upload['scan alone']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
