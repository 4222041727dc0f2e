"""Worker memory and MiB/s of 100 MiB document downloads (staff, customer) vs bare send_file."""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from allowed import BENCH, CLI, ROOT, Served, _stat, free_port, listen

MIB = 1024 * 1024
RSS_TARGET_MIB = 20
RATIO_TARGET = 0.8
CUSTOMER = "cust-bench"
BUFFER = MIB

SUBPROCESSOR = {
    "name": "Download Bench Hosting",
    "legal_entity": "Download Bench Hosting Inc.",
    "service": "hosting",
    "purpose": "Hosting of the login service",
    "data_categories": ["user.account.username", "user.contact.email"],
    "locations": [
        {"country": "NL", "activity": "storage"},
        {
            "country": "IN",
            "activity": "processing",
            "safeguard": {
                "mechanism": "scc",
                "scc_version": "2021/914",
                "scc_module": 3,
                "signed_on": "2024-03-01",
                "tia_completed_on": "2024-02-20",
            },
        },
    ],
    "effective_on": "2025-01-01",
}


def make_file(path: Path, size: int, seed: int = 2026) -> str:
    """A valid PDF header followed by seeded pseudo-random bytes; returns the SHA-256."""
    rng, digest = random.Random(seed), hashlib.sha256()
    with path.open("wb") as out:
        head = b"%PDF-1.7\n"
        out.write(head)
        digest.update(head)
        left = size - len(head)
        while left:
            chunk = rng.randbytes(min(left, 8 * MIB))
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(entry.name)
            if stat is not None and int(stat[1]) == master:
                pids.append(int(entry.name))
    return pids


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, RssAnon) of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon"):
            fields[name] = int(value.split()[0])
    return fields["VmRSS"], fields["RssAnon"]


class Sampler(threading.Thread):
    """Sums the workers' VmRSS (and RssAnon) of each server every `interval` seconds."""

    def __init__(self, servers: dict[str, Served], workers: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self.servers, self.workers, self.interval = servers, workers, interval
        self.pids = {name: [] for name in servers}
        self.samples: dict[str, list[tuple[float, int, int]]] = {name: [] for name in servers}
        self.restarts = 0
        self.stopping = threading.Event()

    def read(self, name: str) -> tuple[int, int]:
        for _ in range(3):
            pids = self.pids[name]
            if len(pids) != self.workers:
                pids = self.pids[name] = worker_pids(self.servers[name].process.pid)
                if len(pids) != self.workers:
                    time.sleep(0.05)
                    continue
            try:
                values = [memory_kib(pid) for pid in pids]
            except (OSError, KeyError):
                self.pids[name] = []
                self.restarts += 1
                continue
            return sum(v[0] for v in values), sum(v[1] for v in values)
        raise RuntimeError(f"{name}: expected {self.workers} workers, found {self.pids[name]}")

    def sample(self) -> None:
        now = time.monotonic()
        for name in self.servers:
            rss, anon = self.read(name)
            self.samples[name].append((now, rss, anon))

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.sample()

    def peak(self, name: str, since: float, until: float) -> tuple[int, int]:
        window = [s for s in self.samples[name] if since <= s[0] <= until]
        return max(s[1] for s in window), max(s[2] for s in window), len(window)

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def request(port: int, method: str, target: str, headers: dict, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = None if body is None else json.dumps(body).encode()
        if payload is not None:
            headers = {**headers, "Content-Type": "application/json"}
        conn.request(method, target, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait_ready(server: Served, target: str, timeout: float = 60) -> None:
    """A HEAD answered (any status): the workers are up; HEAD sends no file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log.read_text()[-3000:]}")
        try:
            request(server.port, "HEAD", target, {})
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer within {timeout} s")


def download(port: int, target: str, headers: dict, size: int, sha256: str | None = None):
    """A full download read and discarded in 1 MiB pieces: (bytes, seconds, seconds to the
    headers); checks the size, and the SHA-256 when given."""
    buffer = memoryview(bytearray(BUFFER))
    digest = hashlib.sha256() if sha256 else None
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        started = time.perf_counter()
        conn.request("GET", target, headers=headers)
        response = conn.getresponse()
        headers_in = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"GET {target} answered {response.status}: {response.read(500)!r}")
        received = 0
        while n := response.readinto(buffer):
            received += n
            if digest is not None:
                digest.update(buffer[:n])
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    length = int(response.getheader("Content-Length", "-1"))
    if received != size or length != size:
        raise RuntimeError(f"GET {target}: {received} bytes, Content-Length {length}, not {size}")
    if digest is not None and digest.hexdigest() != sha256:
        raise RuntimeError(f"GET {target}: SHA-256 {digest.hexdigest()}, not {sha256}")
    return received, elapsed, headers_in


def sequential(port: int, target: str, headers: dict, size: int, count: int):
    """MiB/s of `count` back-to-back full downloads, and each one's seconds to the headers."""
    received, elapsed, waits = 0, 0.0, []
    for _ in range(count):
        got, seconds, headers_in = download(port, target, headers, size)
        received, elapsed = received + got, elapsed + seconds
        waits.append(headers_in)
    return received / MIB / elapsed, waits


def concurrent(port: int, target: str, headers: dict, size: int, clients: int) -> float:
    """Aggregate MiB/s of `clients` simultaneous full downloads (first start to last end)."""
    with ThreadPoolExecutor(clients) as pool:
        started = time.perf_counter()
        futures = [pool.submit(download, port, target, headers, size) for _ in range(clients)]
        total = sum(future.result()[0] for future in futures)
        elapsed = time.perf_counter() - started
    return total / MIB / elapsed


def cli(env: dict, *args: str) -> str:
    done = subprocess.run(
        [*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"registry {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare(directory: Path, size: int) -> dict:
    """The file, a database with a staff and a customer key, and the document's future path."""
    source = directory / "scc-2021-914.pdf"
    started = time.perf_counter()
    sha256 = make_file(source, size)
    generated_in = time.perf_counter() - started
    env = {
        **os.environ,
        "REGISTRY_DATABASE": str(directory / "registry.db"),
        "REGISTRY_DOCUMENTS": str(directory / "documents"),
        # The default upload limit is 50 MiB.
        "REGISTRY_MAX_UPLOAD": str(size + MIB),
    }
    cli(env, "init")
    staff = cli(env, "keys", "create", "--role", "admin", "--name", "bench staff")
    customer = cli(
        env, "keys", "create", "--role", "customer", "--name", "bench customer", "--customer",
        CUSTOMER,
    )  # fmt: skip
    return {
        "env": env,
        "source": source,
        "sha256": sha256,
        "generated_in": generated_in,
        "staff": {"Authorization": f"Bearer {staff.strip().splitlines()[-1]}"},
        "customer": {"Authorization": f"Bearer {customer.strip().splitlines()[-1]}"},
    }


def store_document(setup: dict, registry: Served) -> dict:
    """A sub-processor with an SCC transfer to India, the file as its disclosable SCC copy
    (`registry documents add`), and a customer's documentation request that delivers it."""
    status, _, body = request(
        registry.port, "POST", "/v1/subprocessors", setup["staff"], SUBPROCESSOR
    )
    if status != 201:
        raise RuntimeError(f"POST /v1/subprocessors answered {status}: {body[:500]!r}")
    subprocessor_id = json.loads(body)["id"]
    started = time.perf_counter()
    added = cli(
        setup["env"], "documents", "add", str(setup["source"]), "--subprocessor", subprocessor_id,
        "--country", "IN", "--kind", "scc", "--audience", "disclosable",
    )  # fmt: skip
    stored_in = time.perf_counter() - started
    found = re.search(r"stored (doc_\w+) \(([^,]+), (\d+) bytes, sha256 (\w+)\)", added)
    if found is None:
        raise RuntimeError(f"unexpected output of registry documents add: {added!r}")
    document_id, media_type, size, sha256 = found.groups()
    if sha256 != setup["sha256"] or media_type != "application/pdf":
        raise RuntimeError(f"stored as {media_type}, sha256 {sha256}; expected {setup['sha256']}")
    status, _, body = request(
        registry.port,
        "POST",
        "/v1/documentation-requests",
        setup["customer"],
        {"subprocessor_ids": [subprocessor_id]},
    )
    if status != 201:
        raise RuntimeError(f"POST /v1/documentation-requests answered {status}: {body[:500]!r}")
    delivered = json.loads(body)
    items = [i for i in delivered["items"] if (i["document"] or {}).get("id") == document_id]
    if not items or items[0]["status"] != "fulfilled":
        raise RuntimeError(f"the documentation request did not deliver {document_id}: {delivered}")
    path = Path(setup["env"]["REGISTRY_DOCUMENTS"]) / sha256[:2] / sha256
    if not path.is_file():
        raise RuntimeError(f"the stored copy is not at {path}")
    return {
        "document_id": document_id,
        "request_id": delivered["id"],
        "size": int(size),
        "path": path,
        "stored_in": stored_in,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sequential", type=int, default=3, help="back-to-back, per round")
    parser.add_argument("--concurrent", type=int, default=3, help="simultaneous, per round")
    parser.add_argument("--rss-downloads", type=int, default=3, help="sequential, per client")
    parser.add_argument("--dir", help="where to make the temporary files (default: $TMPDIR)")
    args = parser.parse_args(argv)
    size = args.size_mib * MIB

    print(
        f"== download: {date.today()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-download-", dir=args.dir) as tmp:
        directory = Path(tmp)
        setup = prepare(directory, size)
        print(
            f"file: {args.size_mib} MiB, '%PDF-1.7' + pseudo-random bytes, generated in "
            f"{setup['generated_in']:.1f} s, sha256 {setup['sha256'][:16]}..."
        )
        registry_port, bare_port = free_port(), free_port()
        servers = {
            "registry": Served(
                "registry",
                [*CLI, "serve", *listen(registry_port, args.workers)],
                setup["env"],
                directory / "registry.log",
                registry_port,
                "/openapi.json",
            )
        }
        try:
            servers["registry"].wait_ready()
            document = store_document(setup, servers["registry"])
            print(
                f"stored {document['document_id']} with `registry documents add` in "
                f"{document['stored_in']:.1f} s (REGISTRY_MAX_UPLOAD raised from its 50 MiB "
                f"default); documentation request {document['request_id']} delivered it"
            )
            servers["bare"] = Served(
                "bare",
                [
                    sys.executable,
                    str(BENCH / "sendfile_app.py"),
                    *listen(bare_port, args.workers),
                    "--file",
                    str(document["path"]),
                    "--etag",
                    setup["sha256"],
                ],
                setup["env"],
                directory / "bare.log",
                bare_port,
                "/file",
            )
            wait_ready(servers["bare"], "/file")
            report = run(args, setup, document, servers, size)
        finally:
            for server in servers.values():
                server.stop()
        with sqlite3.connect(directory / "registry.db") as conn:
            full, ranged = conn.execute(
                "SELECT count(*) - count(range), count(range) FROM disclosures"
            ).fetchone()
        conn.close()
    expected = report["customer_downloads"]
    print(
        f"disclosures recorded: {full} full (customer full downloads: {expected}), "
        f"{ranged} ranges (customer range requests: {report['customer_ranges']})"
    )
    if full != expected or ranged != report["customer_ranges"]:
        report["errors"] += 1
        print("ERRORS: the disclosures do not match the customer's downloads")
    return report


def run(args, setup: dict, document: dict, servers: dict[str, Served], size: int) -> dict:
    content = f"/v1/documents/{document['document_id']}/content"
    clients = {
        "bare": (servers["bare"], "/file", {}),
        "staff": (servers["registry"], content, setup["staff"]),
        "customer": (servers["registry"], content, setup["customer"]),
    }
    print(
        f"servers: gunicorn, {args.workers} threaded workers each, the options of "
        "registry/server.py "
        "(bare: bench/sendfile_app.py, one send_file route); 127.0.0.1; client: http.client, "
        f"bodies read into a {BUFFER // MIB} MiB buffer and discarded"
    )
    report: dict = {
        "errors": 0,
        "customer_downloads": 0,
        "customer_ranges": 0,
        "size_mib": size / MIB,
    }
    # Warm-up: each worker has served the route (a 1 KiB range) before the baseline.
    for name, (server, target, headers) in clients.items():
        for _ in range(3 * args.workers):
            status, _, body = request(
                server.port, "GET", target, {**headers, "Range": "bytes=0-1023"}
            )
            if status != 206 or len(body) != 1024:
                raise RuntimeError(f"{name}: a range request answered {status}, {len(body)} bytes")
            report["customer_ranges"] += name == "customer"
    sampler = Sampler({"registry": servers["registry"], "bare": servers["bare"]}, args.workers)
    sampler.sample()
    sampler.start()
    try:
        time.sleep(0.3)
        baseline = {name: sampler.read(name) for name in ("registry", "bare")}
        report["rss"] = rss_phase(args, sampler, clients, baseline, size, setup["sha256"], report)
        report["throughput"] = throughput_phase(args, sampler, clients, baseline, size, report)
    finally:
        sampler.stop()
    if sampler.restarts:
        print(f"note: a worker went away {sampler.restarts} time(s) while sampling")
    return report


def rss_phase(args, sampler, clients, baseline, size, sha256, report) -> dict:
    print(
        f"memory: VmRSS summed over the {args.workers} workers, sampled every 20 ms; "
        f"{args.rss_downloads} sequential full downloads per client, each SHA-256 verified"
    )
    print(
        f"  baseline after warm-up: registry {baseline['registry'][0] / 1024:.1f} MiB "
        f"(anon {baseline['registry'][1] / 1024:.1f}), bare {baseline['bare'][0] / 1024:.1f} MiB "
        f"(anon {baseline['bare'][1] / 1024:.1f})"
    )
    result = {}
    for name, (server, target, headers) in clients.items():
        kind = "bare" if name == "bare" else "registry"
        since = time.monotonic()
        before = sampler.read(kind)
        for _ in range(args.rss_downloads):
            download(server.port, target, headers, size, sha256)
            report["customer_downloads"] += name == "customer"
        time.sleep(0.1)
        peak = sampler.peak(kind, since, time.monotonic())
        growth = (peak[0] - baseline[kind][0]) / 1024
        anon = (peak[1] - baseline[kind][1]) / 1024
        phase = (peak[0] - before[0]) / 1024
        result[name] = {"growth": growth, "anon": anon, "phase": phase}
        line = (
            f"  {name:<8} peak VmRSS growth {growth:+6.1f} MiB over the baseline "
            f"(anon {anon:+6.1f}; {phase:+6.1f} over the start of this phase; {peak[2]} samples)"
        )
        if kind == "registry":
            met = growth < RSS_TARGET_MIB
            line += f"  target < {RSS_TARGET_MIB} MiB: {'met' if met else 'NOT met'}"
        print(line, flush=True)
    return result


def throughput_phase(args, sampler, clients, baseline, size, report) -> dict:
    print(
        f"throughput: {args.rounds} rounds interleaved (bare, staff, customer): "
        f"{args.sequential} full downloads one after the other, then {args.concurrent} at once; "
        "medians of MiB/s; headers = time to the response headers, median"
    )
    rates = {name: {"sequential": [], "concurrent": [], "cpu": [], "ttfb": []} for name in clients}
    since = time.monotonic()
    for _ in range(args.rounds):
        for name, (server, target, headers) in clients.items():
            cpu = server.worker_cpu()
            rate, waits = sequential(server.port, target, headers, size, args.sequential)
            if cpu is not None:
                rates[name]["cpu"].append((server.worker_cpu() - cpu) / args.sequential)
            rates[name]["sequential"].append(rate)
            rates[name]["ttfb"] += waits
            rates[name]["concurrent"].append(
                concurrent(server.port, target, headers, size, args.concurrent)
            )
            downloads = args.sequential + args.concurrent
            report["customer_downloads"] += downloads * (name == "customer")
    result: dict = {}
    for name, values in rates.items():
        medians = {key: statistics.median(v) if v else None for key, v in values.items()}
        result[name] = medians
        one_by_one = " ".join(f"{r:5.0f}" for r in values["sequential"])
        together = " ".join(f"{r:5.0f}" for r in values["concurrent"])
        cpu = f", worker CPU {medians['cpu'] * 1e3:.0f} ms/download" if medians["cpu"] else ""
        cpu += f", headers {medians['ttfb'] * 1e3:.1f} ms"
        print(
            f"  {name:<8} sequential {one_by_one} median {medians['sequential']:5.0f} MiB/s; "
            f"{args.concurrent} at once {together} median {medians['concurrent']:5.0f} MiB/s{cpu}"
        )
    for name in ("staff", "customer"):
        for key in ("sequential", "concurrent"):
            ratio = result[name][key] / result["bare"][key]
            result[name][f"{key}_ratio"] = ratio
            verdict = "met" if ratio >= RATIO_TARGET else "NOT met"
            print(f"  ratio {name}/bare, {key}: {ratio:.2f} (target >= {RATIO_TARGET}: {verdict})")
    until = time.monotonic()
    for kind in ("registry", "bare"):
        peak = sampler.peak(kind, since, until)
        result[f"{kind}_rss_growth"] = (peak[0] - baseline[kind][0]) / 1024
        anon = (peak[1] - baseline[kind][1]) / 1024
        print(
            f"  {kind:<8} peak VmRSS growth during these downloads (concurrent included): "
            f"{result[f'{kind}_rss_growth']:+.1f} MiB (anon {anon:+.1f})"
        )
    return result


if __name__ == "__main__":
    report = main()
    sys.exit(1 if report["errors"] else 0)
