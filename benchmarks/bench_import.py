"""Benchmark: importing a 10,000-row practice-management export, against the writer's floor.

    python benchmarks/bench_import.py [--rows 10000] [--repeat 3]
    python benchmarks/bench_import.py --csv-mb 50 [--repeat 3]    # a large CSV, read + plan

Ours: read_source + propose_mapping + plan_import + import_into (one safe save)
of an export shaped like NextGen's Authorizations Report into a 300-request
tracker. Baseline, same run: the floor of any import that keeps the analyst's
workbook, an openpyxl load of the tracker, appending the same number of rows
of plain values, and a save. Each round starts from a fresh copy.

Prints one JSON line. No target in the issue; the number says what onboarding a
large practice costs.

--csv-mb (issue 18; target: a 50 MB CSV in under 60 s and under 1 GB): a CSV
of that size (35 columns: the report's 12 and 23 short ones, about 317,000
rows) is generated, then each measurement runs in its own process, alternating
(Linux keeps a process's peak RSS across fork and exec, so the parent stays
small). Ours: read_source + propose_mapping + plan_import against the sample
tracker (loaded before the clock starts), what `patoolkit import --dry-run`
does. Baseline: a bare csv.reader pass over the same file, holding nothing.
The write of the rows (import_into) is not timed: it is the writer's cost.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "pa_tracker.xlsx"
PAYERS = ["Summit Health Plan", "Lakeshore Medicare Advantage", "Kids First CHIP"]
REPORT_HEADINGS = ["Auth Cd", "Pat Name", "Payer Name", "St Dt", "End Dt", "Fr CPT4", "To CPT4",
                   "Un", "Un Left", "Crt Dt", "Days Pending", "Location"]


def export(path: Path, rows: int) -> Path:
    import numpy as np
    import openpyxl

    rng = np.random.default_rng(7)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Authorizations Report")
    sheet.append(REPORT_HEADINGS)
    for number in range(rows):
        start = dt.datetime(2026, 1, 1) + dt.timedelta(days=int(rng.integers(0, 300)))
        units = int(rng.integers(1, 30))
        sheet.append([f"AX{number:06d}", f"PATIENT{number}, TEST", PAYERS[number % 3], start,
                      start + dt.timedelta(days=90), "97110", "97112", units,
                      int(rng.integers(0, units + 1)), start - dt.timedelta(days=5),
                      int(rng.integers(1, 20)), "Main"])
    book.save(path)
    return path


def csv_export(path: Path, megabytes: float) -> int:
    """The report as a CSV of about that size, with 23 short columns more; its row count."""
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(REPORT_HEADINGS + [f"Field {number}" for number in range(23)])
        number = 0
        while file.tell() < megabytes * 1_000_000:
            start = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(300))
            units = rng.randrange(1, 30)
            writer.writerow([f"AX{number:07d}", f"PATIENT{number}, TEST", PAYERS[number % 3],
                             f"{start:%m/%d/%Y}", f"{start + dt.timedelta(days=90):%m/%d/%Y}",
                             "97110", "97112", units, rng.randrange(units + 1),
                             f"{start - dt.timedelta(days=5):%m/%d/%Y}", rng.randrange(1, 20),
                             "Main"] + [rng.choice(["Y", "N", "", "1", "0", "ok"])
                                        for _ in range(23)])
            number += 1
    return number


def measure(kind: str, source: str) -> None:
    """In a child process: one measurement, printed as JSON (seconds, peak MB, rows)."""
    import resource

    if kind == "bare":
        started = time.perf_counter()
        with open(source, newline="", encoding="utf-8") as file:
            rows = sum(1 for _ in csv.reader(file)) - 1
    else:
        from patoolkit import load_tracker
        from patoolkit.importer import plan_import, propose_mapping, read_source

        tracker = load_tracker(SAMPLE)
        started = time.perf_counter()
        read = read_source(source)
        plan = plan_import(read, propose_mapping(read), tracker)
        rows = len(plan.new_rows) + len(plan.present) + len(plan.skipped)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "rows": rows}))


def large_csv(megabytes: float, repeat: int) -> dict[str, object]:
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "ours": []}
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "export.csv"
        csv_export(source, megabytes)
        for _ in range(repeat):
            for kind in runs:
                done = subprocess.run([sys.executable, __file__, "--measure", kind, str(source)],
                                      capture_output=True, text=True, check=True)
                runs[kind].append(json.loads(done.stdout.strip().splitlines()[-1]))
        size = source.stat().st_size
    median = {kind: {key: statistics.median(run[key] for run in measured)
                     for key in ("seconds", "peak_mb")} for kind, measured in runs.items()}
    return {"csv_mb": round(size / 1e6, 1), "rows": int(runs["ours"][0]["rows"]),
            "seconds": round(median["ours"]["seconds"], 2),
            "peak_mb": round(median["ours"]["peak_mb"]),
            "bare_seconds": round(median["bare"]["seconds"], 2),
            "bare_peak_mb": round(median["bare"]["peak_mb"]),
            "ratio": round(median["ours"]["seconds"] / median["bare"]["seconds"], 2)}


def ours(source: Path, tracker: Path) -> tuple[float, int]:
    from patoolkit import load_tracker
    from patoolkit.importer import import_into, plan_import, propose_mapping, read_source

    started = time.perf_counter()
    loaded = load_tracker(tracker)
    read = read_source(source)
    plan = plan_import(read, propose_mapping(read), loaded)
    ids = import_into(plan, loaded, by="bench")
    return time.perf_counter() - started, len(ids)


def baseline(rows: int, tracker: Path) -> float:
    import openpyxl

    started = time.perf_counter()
    book = openpyxl.load_workbook(tracker)
    sheet = book["Requests"]
    for number in range(rows):
        sheet.append([f"PA-2026-{number + 1000:05d}", None, f"Patient{number}, Test",
                      None, None, "Summit Health Plan"])
    book.save(tracker)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--csv-mb", type=float, help="read and plan a generated CSV this large")
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    if args.csv_mb:
        print(json.dumps(large_csv(args.csv_mb, args.repeat)))
        return
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = export(work / "export.xlsx", args.rows)
        times, floors, imported = [], [], 0
        for round_number in range(args.repeat):
            tracker = work / f"ours-{round_number}.xlsx"
            shutil.copy2(SAMPLE, tracker)
            seconds, imported = ours(source, tracker)
            times.append(seconds)
            floor_tracker = work / f"floor-{round_number}.xlsx"
            shutil.copy2(SAMPLE, floor_tracker)
            floors.append(baseline(args.rows, floor_tracker))
    ours_s, floor_s = statistics.median(times), statistics.median(floors)
    print(json.dumps({"rows": args.rows, "imported": imported, "seconds": round(ours_s, 2),
                      "rows_per_second": round(args.rows / ours_s),
                      "floor_seconds": round(floor_s, 2), "ratio": round(ours_s / floor_s, 2)}))


if __name__ == "__main__":
    main()
