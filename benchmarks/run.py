"""Benchmarks: patoolkit against a bare baseline measured in the same run.

These machines are noisy, so every number is a ratio to a baseline doing the
plainest version of the same job on the same file in the same command, each
measurement in a fresh subprocess (so its peak memory is its own), baseline
and ours alternating, the median of --repeat runs kept.

    python benchmarks/run.py                    # all benchmarks, default sizes
    python benchmarks/run.py load --rows 10000  # one benchmark

Write the numbers into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"  # generated trackers; git-ignored

# Each job is a small program run in its own process; it prints {"seconds": s}.
JOBS = {
    "bare_read": """
import pandas as pd
pd.read_excel(PATH, sheet_name=None, engine="calamine")
""",
    "load_tracker": """
from patoolkit import load_tracker
tracker = load_tracker(PATH)
assert len(tracker.requests) > 0
""",
    "bare_openpyxl_save": """
import openpyxl
book = openpyxl.load_workbook(PATH)
book.save(PATH)
""",
    "update_request": """
from patoolkit import update_request
update_request(PATH, "PA-2026-00017", {"owner": "Bench " + str(time.time())}, by="bench")
""",
    # the same, with the imports outside the timer (the baseline's openpyxl import too)
    "update_call": """
update_request(PATH, "PA-2026-00017", {"owner": "Bench " + str(time.time())}, by="bench")
""",
    "bare_openpyxl_save_call": """
book = openpyxl.load_workbook(PATH)
book.save(PATH)
""",
    "add_1000_call": """
add_requests(PATH, [{"patient_id": f"B{n:06d}", "payer": "Summit Health Plan",
                     "plan_type": "Commercial", "codes": "70551", "status": "Submitted",
                     "submitted_at": "2026-11-02 09:30"} for n in range(1000)], by="bench")
""",
}
SETUP = """
import openpyxl
import pandas
from patoolkit import add_requests, update_request
"""

RUNNER = """
import json, resource, sys, time
PATH = sys.argv[1]
{setup}
started = time.perf_counter()
{body}
seconds = time.perf_counter() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "peak_mb": peak_mb}}))
"""


def tracker_of(rows: int) -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"tracker_{rows}.xlsx"
    if not path.exists():
        # In a child process: Linux keeps a process's peak RSS across fork and exec, so a
        # parent that built a big tracker would lift every later measurement to its own peak.
        subprocess.run([sys.executable, "-m", "patoolkit.cli", "sample", str(path),
                        "--rows", str(rows), "--seed", "7"], check=True, stdout=subprocess.DEVNULL)
    return path


def run_job(job: str, path: Path) -> dict[str, float]:
    program = RUNNER.format(body=JOBS[job], setup=SETUP if job.endswith("_call") else "")
    result = subprocess.run([sys.executable, "-c", program, str(path)], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def compare(ours: str, baseline: str, path: Path, repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {ours: [], baseline: []}
    peaks: dict[str, list[float]] = {ours: [], baseline: []}
    for attempt in range(repeat):
        order = (baseline, ours) if attempt % 2 == 0 else (ours, baseline)
        for job in order:
            measured = run_job(job, path)
            times[job].append(measured["seconds"])
            peaks[job].append(measured["peak_mb"])
    ours_s, base_s = statistics.median(times[ours]), statistics.median(times[baseline])
    return {
        f"{ours}_s": round(ours_s, 3),
        f"{baseline}_s": round(base_s, 3),
        "ratio": round(ours_s / base_s, 2),
        f"{ours}_peak_mb": round(max(peaks[ours]), 1),
        f"{baseline}_peak_mb": round(max(peaks[baseline]), 1),
    }


def bench_load(rows: int, repeat: int) -> dict[str, float]:
    return compare("load_tracker", "bare_read", tracker_of(rows), repeat)


def _on_a_copy(rows: int, ours: str, baseline: str, repeat: int) -> dict[str, float]:
    """compare() on a copy of the tracker (the jobs write to it), backups removed after."""
    import shutil

    work = DATA / f"update_{rows}.xlsx"
    shutil.copy2(tracker_of(rows), work)
    try:
        return compare(ours, baseline, work, repeat)
    finally:
        shutil.rmtree(DATA / "backups", ignore_errors=True)


def bench_update(rows: int, repeat: int) -> dict[str, float]:
    return _on_a_copy(rows, "update_request", "bare_openpyxl_save", repeat)


def bench_update_call(rows: int, repeat: int) -> dict[str, float]:
    """The XML writer's targets (issue 14): the call alone, imports outside the timer."""
    return _on_a_copy(rows, "update_call", "bare_openpyxl_save_call", repeat)


def bench_add(rows: int, repeat: int) -> dict[str, float]:
    import shutil

    source = tracker_of(rows)
    work = DATA / f"add_{rows}.xlsx"
    results: dict[str, list[float]] = {"add_1000_call": [], "bare_openpyxl_save_call": []}
    try:
        for _ in range(repeat):  # a fresh copy each time: the adds grow the file
            for job in results:
                shutil.copy2(source, work)
                results[job].append(run_job(job, work)["seconds"])
    finally:
        work.unlink(missing_ok=True)
        shutil.rmtree(DATA / "backups", ignore_errors=True)
    ours, base = (statistics.median(results[job]) for job in results)
    return {"add_1000_s": round(ours, 3), "bare_openpyxl_save_s": round(base, 3),
            "ratio": round(ours / base, 3)}


HISTORY_PROGRAM = """
import datetime as dt, shutil, statistics, sys, time, tracemalloc, zipfile
from pathlib import Path
from patoolkit import update_request
from patoolkit.tracker.edit import _append_history, _finish, _load_for_write

source, folder = Path(sys.argv[1]), Path(sys.argv[2])
small, big = folder / "small_history.xlsx", folder / "big_history.xlsx"
shutil.copy2(source, small)
shutil.copy2(source, big)
opened = _load_for_write(big)  # 100,000 History rows, written by the XML writer itself
now = dt.datetime(2026, 11, 30, 9, 0)
_finish(opened, [_append_history(opened, [("PA-2026-00001", [("notes", None, f"n{n}")])
                                          for n in range(100_000)], "bench")])
def timed(path):
    started = time.perf_counter()
    update_request(path, "PA-2026-00017", {"owner": "Bench " + str(time.time())}, by="bench")
    return time.perf_counter() - started
small_s, big_s = [], []
for _ in range(5):
    small_s.append(timed(small))
    big_s.append(timed(big))
with zipfile.ZipFile(big) as archive:
    from patoolkit.tracker import package as pkg
    parts = pkg.sheet_parts(pkg.Package(big.read_bytes()))
    rewritten = sum(archive.getinfo(parts[name]).file_size for name in ("Requests", "History"))
tracemalloc.start()
update_request(big, "PA-2026-00017", {"owner": "Traced"}, by="bench")
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print({"history_rows": 100_000, "update_small_history_s": round(statistics.median(small_s), 3),
       "update_100k_history_s": round(statistics.median(big_s), 3),
       "added_by_history_ms": round(1000 * (statistics.median(big_s)
                                            - statistics.median(small_s))),
       "rewritten_parts_mb": round(rewritten / 2**20, 1),
       "save_peak_python_mb": round(peak / 2**20, 1),
       "peak_over_rewritten": round(peak / rewritten, 2)})
"""


def bench_history(rows: int, repeat: int) -> dict[str, float]:
    """What a History sheet of 100,000 rows adds to a save, and a save's peak memory
    (Python allocations, tracemalloc) against the parts it rewrites."""
    import ast
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="patoolkit-bench-"))
    try:
        result = subprocess.run([sys.executable, "-c", HISTORY_PROGRAM, str(tracker_of(rows)),
                                 str(folder)], capture_output=True, text=True, check=True)
        return dict(ast.literal_eval(result.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


BENCHMARKS = {
    "load": (bench_load, [10_000, 100_000]),
    "update": (bench_update, [10_000]),
    "update_call": (bench_update_call, [10_000]),
    "add": (bench_add, [10_000]),
    "history": (bench_history, [10_000]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"which: {', '.join(BENCHMARKS)} (all)")
    parser.add_argument("--rows", type=int, action="append", help="tracker sizes to use")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    for name in args.names or list(BENCHMARKS):
        function, sizes = BENCHMARKS[name]
        for rows in args.rows or sizes:
            result = function(rows, args.repeat)
            print(json.dumps({"benchmark": name, "rows": rows, **result}), flush=True)


if __name__ == "__main__":
    main()
