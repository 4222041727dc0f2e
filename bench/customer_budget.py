"""What one customer key can make the registry store with its whole request budget.

A real `registry serve --workers 2` on 127.0.0.1 with 2,000 generated sub-processors (the
import benchmark's register: 2.5 locations each, about 5,000 transfers, a few proposed).
One customer key sends requests at its full budget (REGISTRY_RATE_LIMIT, default 600 a
minute) for `--seconds` (60), round robin over the customer-reachable writes and reads:
documentation requests, webhook create / update / rotate-secret / delete, objections to the
proposed sub-processors, and reads of the register, its requests and its webhooks. Beside
it, a prober reads /v1/health every 50 ms.

Reported: the database's growth (file + WAL; goal under 5 MiB) and /v1/health latency
p50 / p99 / max during the run, against the same prober on the idle server just before
(the baseline, in the same process). Every status is counted; a 5xx fails the run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import register
from allowed import CLI, Served, free_port, listen
from bulk import bodies

from registry import clock
from registry.keys.store import create_key

MIB = 1024 * 1024
GOAL_MIB = 5.0
HOOK_URL = "https://hooks.example.com/registry"


def size(database: Path) -> int:
    """The database's bytes on disk: the file and its WAL."""
    return sum(path.stat().st_size for path in (database, Path(f"{database}-wal")) if path.exists())


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class Client:
    """One keep-alive connection to 127.0.0.1, every answer read whole."""

    def __init__(self, port: int, token: str):
        self.port, self.headers = port, {"Authorization": f"Bearer {token}"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, method: str, path: str, body=None, headers=None):
        sent = {**self.headers, **(headers or {})}
        data = None
        if body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        for _attempt in (1, 2):  # a keep-alive connection the server closed when idle: once more
            try:
                self.conn.request(method, path, body=data, headers=sent)
                response = self.conn.getresponse()
                payload = response.read()
                return response.status, dict(response.getheaders()), payload
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        return None, {}, b""


def probe(port: int, stop: threading.Event, latencies: list[float], errors: Counter) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        started = time.perf_counter()
        try:
            conn.request("GET", "/v1/health")
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                errors[response.status] += 1
        except (OSError, http.client.HTTPException):
            errors["socket"] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        stop.wait(0.05)


def health_during(port: int, seconds: float, work=None) -> tuple[list[float], Counter]:
    latencies: list[float] = []
    errors: Counter = Counter()
    stop = threading.Event()
    thread = threading.Thread(target=probe, args=(port, stop, latencies, errors), daemon=True)
    thread.start()
    if work is None:
        time.sleep(seconds)
    else:
        work()
    stop.set()
    thread.join(15)
    return latencies, errors


def customer_load(client: Client, proposed: list[str], rate: float, seconds: float) -> Counter:
    """Requests at `rate` a second for `seconds`, round robin over what a customer can do."""
    statuses: Counter = Counter()
    hooks: list[tuple[str, str]] = []  # (id, etag)
    objected = iter(proposed)

    def documentation():
        return client.send("POST", "/v1/documentation-requests", {})

    def create_hook():
        status, headers, body = client.send("POST", "/v1/webhooks", {"url": HOOK_URL})
        if status == 201:
            hooks.append((json.loads(body)["id"], headers["ETag"]))
        return status, headers, body

    def update_hook():
        if not hooks:
            return create_hook()
        hook_id, etag = hooks.pop()
        status, headers, body = client.send(
            "PATCH",
            f"/v1/webhooks/{hook_id}",
            {"description": f"churn {time.monotonic()}"},
            {"If-Match": etag},
        )
        if status == 200:
            status, headers, body = client.send("POST", f"/v1/webhooks/{hook_id}/rotate-secret", {})
        hooks.append((hook_id, headers.get("ETag", etag)))
        return status, headers, body

    def delete_hook():
        if not hooks:
            return create_hook()
        hook_id, etag = hooks.pop(0)
        return client.send("DELETE", f"/v1/webhooks/{hook_id}", headers={"If-Match": etag})

    def objection():
        target = next(objected, None)
        if target is None:
            return client.send("GET", "/v1/objections")
        return client.send("POST", f"/v1/subprocessors/{target}/objections", {"reason": "x" * 500})

    actions = [
        ("POST documentation-requests", documentation),
        ("POST webhooks", create_hook),
        ("PATCH+rotate webhooks", update_hook),
        ("DELETE webhooks", delete_hook),
        ("POST objections", objection),
        ("GET subprocessors", lambda: client.send("GET", "/v1/subprocessors?limit=100")),
        ("GET documentation-requests", lambda: client.send("GET", "/v1/documentation-requests")),
        ("GET webhooks", lambda: client.send("GET", "/v1/webhooks")),
    ]
    started = time.monotonic()
    sent = 0
    while (now := time.monotonic()) < started + seconds:
        due = started + sent / rate
        if due > now:
            time.sleep(due - now)
        name, action = actions[sent % len(actions)]
        status, _, _ = action()
        statuses[(name, status)] += 1
        sent += 1
    return statuses


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subprocessors", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline", type=float, default=10.0, help="idle health probing, s")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    today = date.today()
    print(f"== customer budget: {today}, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-customer-") as tmp:
        database = Path(tmp) / "registry.db"
        _, registry = register.open_registry(str(database))
        made = bodies(args.subprocessors, today)
        register.insert(registry, register.validate(registry, made))
        with registry.db.write() as tx:
            _, token = create_key(tx, role="customer", name="bench", customer_id="bench")
        proposed = [
            row[0]
            for row in registry.db.connection().execute(
                "SELECT id FROM subprocessors WHERE effective_on > ?",
                [(today + timedelta(days=1)).isoformat()],
            )
        ]
        registry.db.close()
        clock.set(None)
        env = {**os.environ, "REGISTRY_DATABASE": str(database)}
        port = free_port()
        server = Served(
            "registry",
            [*CLI, "serve", *listen(port, args.workers)],
            env,
            Path(tmp) / "serve.log",
            port,
            "/v1/health",
        )
        try:
            server.wait_ready()
            client = Client(port, token)
            client.send("GET", "/v1/subprocessors?limit=1")  # warm-up
            idle, idle_errors = health_during(port, args.baseline)
            before = size(database)
            budget = registry.settings.rate_budget or (600, 60)
            rate = budget[0] / budget[1]
            outcome: dict = {}

            def work():
                outcome["statuses"] = customer_load(client, proposed, rate, args.seconds)

            busy, busy_errors = health_during(port, args.seconds, work)
            after = size(database)
        finally:
            server.stop()
        log = (Path(tmp) / "serve.log").read_text()
    statuses: Counter = outcome["statuses"]
    growth = (after - before) / MIB
    print(f"register: {args.subprocessors} sub-processors, {len(proposed)} proposed")
    print(f"customer requests: {sum(statuses.values())} in {args.seconds:.0f} s ({rate:.0f}/s)")
    for (name, status), count in sorted(statuses.items(), key=lambda i: (i[0][0], str(i[0][1]))):
        print(f"  {name:28} {status}: {count}")
    print(
        f"database + WAL: {before / MIB:.2f} MiB before, {after / MIB:.2f} MiB after: "
        f"growth {growth:.2f} MiB (goal < {GOAL_MIB} MiB: "
        f"{'met' if growth < GOAL_MIB else 'NOT met'})"
    )
    rows = {}
    for name, values in (("idle (baseline)", idle), ("under the customer's load", busy)):
        rows[name] = {
            "p50": percentile(values, 0.5) * 1000,
            "p99": percentile(values, 0.99) * 1000,
            "max": max(values) * 1000,
            "n": len(values),
        }
        r = rows[name]
        print(
            f"/v1/health {name}: p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, "
            f"max {r['max']:.1f} ms ({r['n']} probes)"
        )
    ratio = rows["under the customer's load"]["p99"] / rows["idle (baseline)"]["p99"]
    print(f"health p99 ratio loaded/idle: {ratio:.2f}")
    failures = [k for k in statuses if k[1] is None or k[1] >= 500]
    failures += list(idle_errors) + list(busy_errors)
    if "Traceback" in log:
        failures.append("traceback in the server log")
    if failures:
        print(f"FAILURES: {failures}")
    return {"growth_mib": growth, "health": rows, "statuses": statuses, "failures": failures}


if __name__ == "__main__":
    sys.exit(1 if main()["failures"] else 0)
