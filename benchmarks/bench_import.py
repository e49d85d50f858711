"""Benchmark: importing a 10,000-row practice-management export, against the writer's floor.

    python benchmarks/bench_import.py [--rows 10000] [--repeat 3]

Ours: read_source + propose_mapping + plan_import + import_into (one safe save)
of an export shaped like NextGen's Authorizations Report into a 300-request
tracker. Baseline, same run: the floor of any import that keeps the analyst's
workbook, an openpyxl load of the tracker, appending the same number of rows
of plain values, and a save. Each round starts from a fresh copy.

Prints one JSON line. No target in the issue; the number says what onboarding a
large practice costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import openpyxl

from patoolkit import load_tracker
from patoolkit.importer import import_into, plan_import, propose_mapping, read_source

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "pa_tracker.xlsx"


def export(path: Path, rows: int) -> Path:
    rng = np.random.default_rng(7)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Authorizations Report")
    sheet.append(["Auth Cd", "Pat Name", "Payer Name", "St Dt", "End Dt", "Fr CPT4", "To CPT4",
                  "Un", "Un Left", "Crt Dt", "Days Pending", "Location"])
    payers = ["Summit Health Plan", "Lakeshore Medicare Advantage", "Kids First CHIP"]
    for number in range(rows):
        start = dt.datetime(2026, 1, 1) + dt.timedelta(days=int(rng.integers(0, 300)))
        units = int(rng.integers(1, 30))
        sheet.append([f"AX{number:06d}", f"PATIENT{number}, TEST", payers[number % 3], start,
                      start + dt.timedelta(days=90), "97110", "97112", units,
                      int(rng.integers(0, units + 1)), start - dt.timedelta(days=5),
                      int(rng.integers(1, 20)), "Main"])
    book.save(path)
    return path


def ours(source: Path, tracker: Path) -> tuple[float, int]:
    started = time.perf_counter()
    loaded = load_tracker(tracker)
    read = read_source(source)
    plan = plan_import(read, propose_mapping(read), loaded)
    ids = import_into(plan, loaded, by="bench")
    return time.perf_counter() - started, len(ids)


def baseline(rows: int, tracker: Path) -> float:
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
    args = parser.parse_args()
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
