"""Bulk import and export: 5,000 rows (2,000 sub-processors) in, the register out, timed.

In process (Flask test client, real SQLite file, WAL, synchronous=FULL), through the HTTP
routes: `POST /v1/subprocessors/import` and `GET /v1/subprocessors` with `Accept: text/csv` or
XLSX. Absolute figures against the targets (import under 10 s, export under 2 s), and rows/s;
it prints whether the targets were met and exits 0 either way.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import register

from registry.bulk import columns, formats
from registry.bulk import exporting as bulk

CSV, XLSX = formats.CSV, formats.XLSX
IMPORT_TARGET, EXPORT_TARGET = 10.0, 2.0


def bodies(count: int, today: date) -> list[dict]:
    """`count` sub-processors, half with three locations and half with two (2.5 rows each);
    those in use recorded as such, the proposed ones given the full notice."""
    made = []
    for index, body in enumerate(register.generate(count, today=today)):
        body = {k: v for k, v in body.items() if not k.startswith("_") and k != "onward_transfers"}
        if index % 2:
            body["locations"] = body["locations"][:2]
        if body["effective_on"] <= today.isoformat():
            body["already_in_use"] = True
        else:
            body["effective_on"] = (today + timedelta(days=45)).isoformat()
            body["already_in_use"] = False
        made.append(body)
    return made


def as_csv(records: list[dict]) -> bytes:
    rows = [row for record in records for row in bulk.export_rows(record)]
    return b"".join(formats.csv_chunks(list(columns.COLUMNS), rows)), len(rows)


def timed(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subprocessors", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3, help="export timings (median)")
    args = parser.parse_args()

    today = date.today()
    with tempfile.TemporaryDirectory() as directory:
        app, registry = register.open_registry(str(Path(directory) / "bulk.db"))
        client = app.test_client()
        headers = {"Authorization": f"Bearer {register.token(registry, 'procurement')}"}
        records = [
            {"legal_entity": None, "purpose": None, **body}
            for body in bodies(args.subprocessors, today)
        ]
        data, rows = as_csv(records)
        count = len(records)
        print(f"file: {rows} rows, {count} sub-processors, {len(data) / 1024:.0f} KiB of CSV")

        def send(body: bytes, media_type: str = CSV, **query) -> dict:
            response = client.post(
                "/v1/subprocessors/import",
                data=body,
                query_string=query,
                headers={**headers, "Content-Type": media_type},
            )
            if response.status_code != 200:
                raise SystemExit(f"import: {response.status_code} {response.get_data()[:500]}")
            return response.get_json()

        def export(media_type: str) -> bytes:
            response = client.get("/v1/subprocessors", headers={**headers, "Accept": media_type})
            if response.status_code != 200:
                raise SystemExit(f"export: {response.status_code}")
            return response.get_data()

        results = {}
        seconds, result = timed(lambda: send(data, dry_run="true"))
        results["dry run (validate, write, roll back)"] = (seconds, result)
        seconds, result = timed(lambda: send(data))
        assert result["created"] == count, result
        results["import, all created"] = (seconds, result)
        seconds, result = timed(lambda: send(data))
        assert result["unchanged"] == count, result
        results["import again, all unchanged"] = (seconds, result)
        changed = data.replace(b"for the identity platform", b"for the identity platform (v2)")
        seconds, result = timed(lambda: send(changed))
        assert result["updated"] == count, result
        results["import, all updated (housekeeping)"] = (seconds, result)

        print()
        print(f"{'import':42} {'seconds':>8} {'rows/s':>8} {'sub-processors/s':>17}")
        for label, (seconds, _result) in results.items():
            print(f"{label:42} {seconds:8.2f} {rows / seconds:8.0f} {count / seconds:17.0f}")

        exports = {}
        for label, media_type in (("CSV", CSV), ("XLSX", XLSX)):
            times, content = [], b""
            for _ in range(args.repeats):
                seconds, content = timed(lambda media_type=media_type: export(media_type))
                times.append(seconds)
            exports[label] = (statistics.median(times), content)
        print()
        print(f"{'export (median of ' + str(args.repeats) + ')':42} {'seconds':>8} {'rows/s':>8}")
        for label, (seconds, content) in exports.items():
            print(
                f"{f'{label}, {len(content) / 1024:.0f} KiB':42} {seconds:8.2f} "
                f"{rows / seconds:8.0f}"
            )

        seconds, result = timed(lambda: send(exports["XLSX"][1], XLSX))
        assert result["unchanged"] == count, result
        print()
        print(
            f"{'XLSX export imported back, all unchanged':42} {seconds:8.2f} {rows / seconds:8.0f}"
        )

        imported = results["import, all created"][0]
        exported = exports["CSV"][0]
        failed = imported >= IMPORT_TARGET or exported >= EXPORT_TARGET
        print()
        print(
            f"targets: import of {rows} rows {imported:.2f} s (< {IMPORT_TARGET:.0f} s), "
            f"CSV export {exported:.2f} s (< {EXPORT_TARGET:.0f} s): "
            + ("MISSED" if failed else "met")
        )
        registry.db.close()
    return 0  # figures, not a verdict: the machines are shared and noisy


if __name__ == "__main__":
    sys.exit(main())
