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
}

RUNNER = """
import json, resource, sys, time
PATH = sys.argv[1]
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
    program = RUNNER.format(body=JOBS[job])
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


def bench_update(rows: int, repeat: int) -> dict[str, float]:
    import shutil

    source = tracker_of(rows)
    work = DATA / f"update_{rows}.xlsx"
    shutil.copy2(source, work)
    try:
        return compare("update_request", "bare_openpyxl_save", work, repeat)
    finally:
        shutil.rmtree(DATA / "backups", ignore_errors=True)


BENCHMARKS = {
    "load": (bench_load, [10_000, 100_000]),
    "update": (bench_update, [10_000]),
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
