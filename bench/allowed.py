"""Requests/s of GET /v1/allowed-processors (200, 304) against hello-world Flask, same gunicorn."""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import load
import register

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
QUERY = "data_category=user.contact.email"
TARGETS = {"200": 0.8, "304": 0.9}
# The server choice (bench/README.md): allowed-processors (200 path) on the chosen server,
# `registry serve`, against hello-world Flask on granian and against today's `registry serve`.
SERVER_GOALS = {"hello-granian": 0.8, "registry serve": 5.0}
CLI = (sys.executable, "-m", "registry.cli")


def listen(port: int, workers: int) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, target: str, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", target, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _stat(pid: str) -> list[str] | None:
    """/proc/<pid>/stat fields from the state on (ppid at 1, utime at 11, stime at 12)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


class Served:
    """A gunicorn started in its own session, stopped by its process group id."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path, port: int, probe: str):
        self.name, self.port, self.probe, self.log = name, port, probe, log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                get(self.port, self.probe)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s")

    def worker_cpu(self) -> float | None:
        """CPU seconds (user + system) its workers have used so far; None without /proc."""
        try:
            workers = [
                stat
                for stat in (
                    _stat(entry.name) for entry in os.scandir("/proc") if entry.name.isdigit()
                )
                if stat is not None and int(stat[1]) == self.process.pid
            ]
        except OSError:
            return None
        if not workers:
            return None
        return sum(int(stat[11]) + int(stat[12]) for stat in workers) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def prepare(directory: Path, count: int, pending: float = 0.0) -> dict:
    """A database of `count` generated sub-processors (a share `pending` with a change
    announced and not yet in force) and a service token (via the CLI)."""
    database = directory / "registry.db"
    records = register.generate(count)
    _, registry = register.open_registry(str(database))
    started = time.perf_counter()
    register.insert(registry, register.validate(registry, records), pending=pending)
    loaded_in = time.perf_counter() - started
    registry.db.close()
    env = {**os.environ, "REGISTRY_DATABASE": str(database)}
    created = subprocess.run(
        [*CLI, "keys", "create", "--role", "service", "--name", "bench service"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        "env": env,
        "token": created.stdout.strip().splitlines()[-1],
        "profiles": register.profile_counts(records),
        "loaded_in": loaded_in,
    }


def measure(generator, runs: dict, rounds: int, seconds: float, warmup: float) -> dict:
    """Interleaved runs (hello, registry, hello, registry, ...): Results and worker CPU per app."""
    for _, url, headers in runs.values():
        generator.run(url, headers, warmup)
    results = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (server, url, headers) in runs.items():
            before = server.worker_cpu()
            result = generator.run(url, headers, seconds)
            after = server.worker_cpu()
            if before is not None and after is not None and result.requests:
                result.cpu_per_request = (after - before) / result.requests
            results[name].append(result)
    return results


def granian_command(port: int, workers: int, target: str, *extra: str) -> list[str]:
    """granian's WSGI interface on 127.0.0.1 (granian is in the dev extra)."""
    granian = Path(sys.executable).with_name("granian")
    if not granian.exists():
        raise SystemExit("granian is not installed: pip install -e '.[dev]'")
    listen = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return [str(granian), "--interface", "wsgi", *listen, "--no-ws", *extra, target]


def hello_on_granian(directory: Path, env: dict, workers: int) -> Served:
    """The hello-world baseline under granian's WSGI interface, its defaults otherwise."""
    port = free_port()
    command = granian_command(port, workers, "hello:create_app", "--factory")
    command[-1:-1] = ["--working-dir", str(BENCH)]
    return Served("hello-granian", command, env, directory / "hello-granian.log", port, "/hello")


def registry_on_granian(directory: Path, env: dict, workers: int, *extra: str) -> Served:
    """`registry.wsgi:app` under granian, with its access log (a deployment needs one)."""
    port = free_port()
    options = extra or ("--access-log", "--log-level", "warning")
    command = granian_command(port, workers, "registry.wsgi:app", *options)
    name = "registry-granian" + ("-nolog" if "--no-access-log" in options else "")
    return Served(name, command, env, directory / f"{name}.log", port, "/openapi.json")


def registry_served(directory: Path, env: dict, workers: int) -> Served:
    """`registry serve` as an operator runs it."""
    port = free_port()
    command = [*CLI, "serve", *listen(port, workers)]
    return Served("registry", command, env, directory / "registry.log", port, "/openapi.json")


def serve_pair(directory: Path, env: dict, workers: int) -> dict[str, Served]:
    """`registry serve` and the hello-world baseline, started side by side (not yet ready)."""
    hello_port = free_port()
    return {
        "registry": registry_served(directory, env, workers),
        "hello": Served(
            "hello",
            [sys.executable, str(BENCH / "hello.py"), *listen(hello_port, workers)],
            env,
            directory / "hello.log",
            hello_port,
            "/hello",
        ),
    }


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """The servers' workers and the interleaved load runs, as `measure` takes them."""
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument(
        "--pending",
        type=float,
        default=0.1,
        help="share of sub-processors with a material change pending (default 0.1)",
    )
    add_load_options(parser)
    args = parser.parse_args(argv)

    print(
        f"== allowed-processors: {date.today()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-allowed-") as tmp:
        directory = Path(tmp)
        setup = prepare(directory, args.records, args.pending)
        profiles = ", ".join(f"{name} {n}" for name, n in setup["profiles"].most_common())
        print(
            f"register: {args.records} sub-processors ({profiles}); {args.pending:.0%} with a "
            "material change pending"
        )
        print(f"loaded through the store in {setup['loaded_in']:.2f} s")

        servers = serve_pair(directory, setup["env"], args.workers)
        servers["hello-granian"] = hello_on_granian(directory, setup["env"], args.workers)
        generator = load.generator(args.connections, args.threads, args.loadgen)
        try:
            for server in servers.values():
                server.wait_ready()
            return run(args, generator, setup["token"], servers)
        finally:
            generator.close()
            for server in servers.values():
                server.stop()


def server_goals(medians: dict[str, float]) -> dict[str, float]:
    """The server choice's two ratios: the chosen server is `registry serve` (gunicorn), so
    the second is 1 by construction; bench/servers.py measures the alternative."""
    ratios = {
        "hello-granian": medians["registry"] / medians["hello-granian"],
        "registry serve": medians["registry"] / medians["registry"],
    }
    for baseline, ratio in ratios.items():
        goal = SERVER_GOALS[baseline]
        verdict = "met" if ratio >= goal else "NOT met"
        print(
            f"  server goal: allowed-processors on registry serve / {baseline} {ratio:.2f}"
            f" (goal >= {goal:g}: {verdict})"
        )
    return ratios


def run(args, generator, token: str, servers: dict[str, Served]) -> dict:
    registry, hello = servers["registry"], servers["hello"]
    path = f"/v1/allowed-processors?{QUERY}"
    auth = {"Authorization": f"Bearer {token}"}
    status, headers, body = get(registry.port, path, auth)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {body[:500]!r}")
    etag = headers["ETag"]
    conditional = {**auth, "If-None-Match": etag}
    status_304, headers_304, _ = get(registry.port, path, conditional)
    if status_304 != 304 or headers_304.get("ETag") != etag:
        raise RuntimeError(
            f"If-None-Match answered {status_304} with ETag {headers_304.get('ETag')}"
        )
    processors = body.count(b'"id":')
    print(f"answer for {QUERY}: {processors} processors, {len(body)} bytes, ETag {etag}")
    print(
        f"servers: gunicorn, {args.workers} threaded workers each, the options of "
        "registry/server.py (hello-world: bench/hello.py, GET /hello, 18-byte JSON), and "
        "hello-world under granian (--interface wsgi, its defaults); 127.0.0.1"
    )
    print(
        f"load: {generator.describe()}, {args.seconds:g} s per run, {args.rounds} rounds "
        f"interleaved (hello, registry, ...), {args.warmup:g} s warm-up each"
    )

    urls = {
        "hello": f"http://127.0.0.1:{hello.port}/hello?{QUERY}",
        "registry": f"http://127.0.0.1:{registry.port}{path}",
        "hello-granian": f"http://127.0.0.1:{servers['hello-granian'].port}/hello?{QUERY}",
    }
    scenarios = {
        "200": ("(a) 200 path: service token", auth),
        "304": ("(b) 304 path: service token + If-None-Match", conditional),
    }
    report: dict = {"loadgen": generator.describe(), "processors": processors, "bytes": len(body)}
    errors = 0
    for key, (title, headers) in scenarios.items():
        names = ("hello", "registry", "hello-granian") if key == "200" else ("hello", "registry")
        runs = {name: (servers[name], urls[name], headers) for name in names}
        results = measure(generator, runs, args.rounds, args.seconds, args.warmup)
        expected = {"hello": 200, "registry": int(key), "hello-granian": 200}
        print(title)
        medians, cpu = {}, {}
        for name, rounds in results.items():
            medians[name] = statistics.median(r.rps for r in rounds)
            costs = [r.cpu_per_request for r in rounds if r.cpu_per_request is not None]
            cpu[name] = statistics.median(costs) if costs else None
            statuses: dict[int, int] = {}
            for r in rounds:
                for status, n in r.statuses.items():
                    statuses[status] = statuses.get(status, 0) + n
            unexpected = sum(r.unexpected(expected[name]) for r in rounds)
            errors += unexpected
            per_round = " ".join(f"{r.rps:5.0f}" for r in rounds)
            counted = " ".join(f"{s}={n}" for s, n in sorted(statuses.items()))
            sockets = sum(r.socket_errors for r in rounds)
            worker_cpu = f", worker CPU {cpu[name] * 1e6:4.0f} us/req" if cpu[name] else ""
            print(
                f"  {name:<13} req/s {per_round}  median {medians[name]:5.0f}{worker_cpu}  "
                f"[{counted}; socket errors {sockets}; unexpected {unexpected}]"
            )
        ratio = medians["registry"] / medians["hello"]
        paired = statistics.median(
            r.rps / h.rps for h, r in zip(results["hello"], results["registry"], strict=True)
        )
        verdict = "met" if ratio >= TARGETS[key] else "NOT met"
        line = f"  ratio registry/hello {ratio:.2f} (target >= {TARGETS[key]}: {verdict})"
        line += f"; median of per-round ratios {paired:.2f}"
        cpu_ratio = None
        if cpu["hello"] and cpu["registry"]:
            cpu_ratio = cpu["hello"] / cpu["registry"]
            line += f"; worker CPU per request hello/registry {cpu_ratio:.2f}"
        print(line, flush=True)
        if key == "200":
            report["server"] = server_goals(medians)
        report[key] = {
            **medians,
            "ratio": ratio,
            "paired": paired,
            "cpu_ratio": cpu_ratio,
            "cpu_us": {name: c * 1e6 if c else None for name, c in cpu.items()},
            "target": TARGETS[key],
        }
    status_after, headers_after, _ = get(registry.port, path, auth)
    if status_after != 200 or headers_after.get("ETag") != etag:
        raise RuntimeError("the answer changed during the benchmark")
    report["errors"] = errors
    if errors:
        print(f"ERRORS: {errors} responses with an unexpected status, or socket errors")
    return report


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
