"""What rate limiting costs a metered request: an empty GET /v1/subprocessors with a customer
key, in-process, with no budget and with the default one, in the same run."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import register

from registry.app import create_app
from registry.keys.store import create_key
from registry.settings import Settings


def _per_request(client, headers: dict, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        response = client.get("/v1/subprocessors", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
    return (time.perf_counter() - started) / count


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"== rate limiting: {date.today()}, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-ratelimit-") as tmp:
        path = str(Path(tmp) / "registry.db")
        _, registry = register.open_registry(path)
        with registry.db.write() as tx:
            _, token = create_key(tx, role="customer", name="bench", customer_id="bench")
        registry.db.close()
        headers = {"Authorization": f"Bearer {token}"}
        # A budget no run spends, so every request is counted and none refused.
        apps = {
            "none": create_app(Settings(database=path, rate_limit="")),
            "budget": create_app(Settings(database=path, rate_limit="1000000/60")),
        }
        clients = {name: app.test_client() for name, app in apps.items()}
        timings: dict[str, list[float]] = {name: [] for name in apps}
        for client in clients.values():
            _per_request(client, headers, 20)  # warm-up
        for _ in range(args.rounds):
            for name, client in clients.items():
                timings[name].append(_per_request(client, headers, args.requests))
        for app in apps.values():
            app.extensions["registry"].db.close()
    medians = {name: statistics.median(values) * 1e6 for name, values in timings.items()}
    print(
        f"empty GET /v1/subprocessors, customer key, in-process: {medians['none']:.0f} us "
        f"without a budget, {medians['budget']:.0f} us with one (median of {args.rounds} x "
        f"{args.requests}); cost {medians['budget'] - medians['none']:.0f} us a request"
    )
    return medians


if __name__ == "__main__":
    main()
