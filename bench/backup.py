"""Wall time of `registry backup` (SQLite's online backup API) for a 10,000-vendor register."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

import register

from registry.db import store as db


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"== backup: {date.today()}, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        _, registry = register.open_registry(str(Path(tmp) / "registry.db"))
        bodies = register.validate(registry, register.generate(args.records, onward=3))
        register.insert(registry, bodies, pending=0.1)
        seconds = []
        for n in range(args.repeats):
            done = db.backup(registry.db, Path(tmp) / f"copy-{n}.db")
            seconds.append(done["seconds"])
        registry.db.close()
    median = statistics.median(seconds)
    print(
        f"{args.records} sub-processors (3 locations, 3 onward transfers each, 10% with a "
        f"pending change): {done['bytes'] / 1e6:.1f} MB copied in {median:.3f} s (median of "
        f"{args.repeats}, with the integrity check and fsync)"
    )
    return {"seconds": median, "bytes": done["bytes"]}


if __name__ == "__main__":
    main()
    sys.exit(0)
