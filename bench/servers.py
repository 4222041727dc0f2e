"""Servers side by side: hello-world Flask and allowed-processors under gunicorn and granian.

Six servers run at once, each with 2 workers: hello-world Flask (bench/hello.py) under
gunicorn's sync worker, under `registry serve`'s threaded worker and under granian's WSGI
interface (its defaults); the registry's `GET /v1/allowed-processors` (1,000 sub-processors,
service token, 200 path) under `registry serve` and under granian
(`granian --interface wsgi registry.wsgi:app`), with its access log on, as a deployment needs
one, and off. Runs alternate between them; medians are compared, within this run only, since
the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

import allowed
import load

BENCH = Path(__file__).resolve().parent


def start(directory: Path, env: dict, workers: int) -> dict[str, allowed.Served]:
    """Every server of the comparison, started side by side (not yet ready)."""
    pair = allowed.serve_pair(directory, env, workers)
    port = allowed.free_port()
    sync = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    sync += ["--workers", str(workers), "--worker-class", "sync"]
    sync += ["--chdir", str(BENCH), "hello:create_app()"]
    return {
        "hello-sync": allowed.Served(
            "hello-sync", sync, env, directory / "hello-sync.log", port, "/hello"
        ),
        "hello-gthread": pair["hello"],
        "hello-granian": allowed.hello_on_granian(directory, env, workers),
        "registry-serve": pair["registry"],
        "registry-granian": allowed.registry_on_granian(directory, env, workers),
        "registry-granian-nolog": allowed.registry_on_granian(
            directory, env, workers, "--no-access-log"
        ),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1000)
    allowed.add_load_options(parser)
    args = parser.parse_args(argv)
    print(
        f"== servers: {date.today()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-servers-") as tmp:
        directory = Path(tmp)
        setup = allowed.prepare(directory, args.records, 0.1)
        servers = start(directory, setup["env"], args.workers)
        generator = load.generator(args.connections, args.threads, args.loadgen)
        try:
            for server in servers.values():
                server.wait_ready()
            auth = {"Authorization": f"Bearer {setup['token']}"}
            path = f"/v1/allowed-processors?{allowed.QUERY}"
            runs = {
                name: (
                    server,
                    f"http://127.0.0.1:{server.port}"
                    + (path if name.startswith("registry") else "/hello"),
                    auth if name.startswith("registry") else {},
                )
                for name, server in servers.items()
            }
            print(
                f"{args.records} sub-processors; {args.workers} workers each; load: "
                f"{generator.describe()}, {args.rounds} rounds of {args.seconds:g} s interleaved"
            )
            results = allowed.measure(generator, runs, args.rounds, args.seconds, args.warmup)
        finally:
            generator.close()
            for server in servers.values():
                server.stop()
    medians, errors = {}, 0
    for name, rounds in results.items():
        medians[name] = statistics.median(r.rps for r in rounds)
        costs = [r.cpu_per_request for r in rounds if r.cpu_per_request is not None]
        unexpected = sum(r.unexpected(200) for r in rounds)
        errors += unexpected
        cpu = f", worker CPU {statistics.median(costs) * 1e6:4.0f} us/req" if costs else ""
        per_round = " ".join(f"{r.rps:6.0f}" for r in rounds)
        print(
            f"  {name:<22} req/s {per_round}  median {medians[name]:6.0f}{cpu}"
            f"  [unexpected {unexpected}]"
        )
    base = medians["hello-granian"]
    for name in ("registry-serve", "registry-granian", "registry-granian-nolog"):
        print(
            f"  {name}: {medians[name] / base:.2f} x hello-world on granian, "
            f"{medians[name] / medians['registry-serve']:.2f} x registry serve"
        )
    return {"medians": medians, "errors": errors}


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
