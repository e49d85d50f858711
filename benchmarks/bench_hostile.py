"""Benchmark: the large hostile files of issue 18 through the real CLI.

    python benchmarks/bench_hostile.py                       # every case (about 15 minutes)
    python benchmarks/bench_hostile.py --only large_50mb_csv --requests 300000

The large corpus (tests/hostile/corpus.py `large()`) is generated into a
temporary folder outside git: a tracker with a stray cell at XFD1048576, a
30-request tracker with a stray cell at AP1048576, a 50 MB CSV of about 336,000
requests in 35 columns, a 10,000-column CSV and a tracker of a million requests.
Each command is one `patoolkit` process, so its peak memory is its own: the
parent waits for it with os.wait4, which gives that child's wall time and peak
RSS (ru_maxrss). Linux starts a child's peak RSS at its parent's size (kept
across fork and exec), so the parent imports nothing but the standard library
and generates the corpus in a process of its own; its size, the floor under
every peak, is printed first. The same commands on the 30-request
sample tracker the cases are made from run first, as the baseline for scale.

Prints one JSON line per case and command: case, command, exit (negative: killed
by that signal; "timeout"), seconds, peak_mb, plain (no "Traceback" and no
"unexpected" in what it printed), the last line it printed, and for an import
whether the tracker changed. Write the numbers into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATOOLKIT = Path(sys.executable).parent / "patoolkit"
AS_OF = "2026-11-16"
READS = {
    "check": ["check", "{tracker}"],
    "deadlines --json": ["deadlines", "{tracker}", "--json", "--as-of", AS_OF],
    "worklist": ["worklist", "{tracker}", "--as-of", AS_OF],
}


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _mentions(path: Path, words: tuple[bytes, ...]) -> bool:
    """Whether a (possibly very large) output file contains any of the words."""
    overlap = max(len(word) for word in words)
    tail = b""
    with path.open("rb") as stream:
        while block := stream.read(1 << 22):
            window = tail + block
            if any(word in window for word in words):
                return True
            tail = window[-overlap:]
    return False


def _last_line(path: Path) -> str:
    with path.open("rb") as stream:
        stream.seek(max(0, path.stat().st_size - 4096))
        lines = [line for line in stream.read().decode("utf-8", "replace").splitlines()
                 if line.strip()]
    return lines[-1].strip()[:240] if lines else ""


def run(case: str, command: str, argv: list[str], work: Path, timeout: float,
        tracker: Path | None = None) -> dict[str, object]:
    """One patoolkit process: its exit, wall time and peak RSS, and what it said."""
    out, err = work / "stdout.txt", work / "stderr.txt"
    before = _digest(tracker) if tracker else None
    timed_out = threading.Event()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen([str(PATOOLKIT), *argv], stdin=subprocess.DEVNULL,
                                 stdout=stdout, stderr=stderr)

        def kill() -> None:
            timed_out.set()
            child.send_signal(signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    said_err = _last_line(err)
    result: dict[str, object] = {
        "case": case, "command": command,
        "exit": "timeout" if timed_out.is_set() else child.returncode,
        "seconds": round(seconds, 2), "peak_mb": round(usage.ru_maxrss / 1024),
        "plain": not (_mentions(out, (b"Traceback", b"unexpected"))
                      or _mentions(err, (b"Traceback", b"unexpected"))),
        "said": said_err or _last_line(out),
    }
    if tracker is not None:
        result["tracker_changed"] = _digest(tracker) != before
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


def _copy(tracker: Path, work: Path) -> Path:
    copy = work / "copy" / tracker.name
    if copy.parent.exists():
        shutil.rmtree(copy.parent)
    copy.parent.mkdir()
    shutil.copy2(tracker, copy)
    return copy


def tracker_runs(case: str, tracker: Path, source: Path, work: Path, timeout: float,
                 commands: tuple[str, ...] = (*READS, "import")) -> None:
    """The read commands on the tracker itself, and an import of a small CSV into a copy."""
    for command in commands:
        if command == "import":
            copy = _copy(tracker, work)
            run(case, f"import {source.name} (write)",
                ["import", str(source), "--into", str(copy), "--by", "bench"], work, timeout,
                tracker=copy)
        else:
            argv = [part.replace("{tracker}", str(tracker)) for part in READS[command]]
            run(case, command, argv, work, timeout)


def import_runs(case: str, source: Path, tracker: Path, work: Path, timeout: float) -> None:
    """`import --dry-run` and a real import of the source into copies of the tracker."""
    copy = _copy(tracker, work)
    run(case, "import --dry-run", ["import", str(source), "--into", str(copy), "--dry-run"],
        work, timeout, tracker=copy)
    copy = _copy(tracker, work)
    run(case, "import (write)", ["import", str(source), "--into", str(copy), "--by", "bench"],
        work, timeout, tracker=copy)


def generate(folder: Path, requests: int | None) -> None:
    """Write the corpus (in its own process) and print the large cases as JSON."""
    sys.path.insert(0, str(ROOT / "tests"))
    from hostile import corpus

    corpus.build(folder)  # the 30-request base tracker the large cases are made from
    cases = corpus.large(folder, folder / "base.xlsx",
                         corpus.LARGE_REQUESTS if requests is None else requests)
    print(json.dumps({case.name: str(case.path) for case in cases}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int,
                        help="rows of the large Requests sheet (1,000,000)")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds before a command is killed (%(default)s)")
    parser.add_argument("--only", action="append", default=[],
                        help="run only this case (repeatable); the baseline always runs")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--generate-into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_into:
        generate(args.generate_into, args.requests)
        return

    folder = args.keep or Path(tempfile.mkdtemp(prefix="patoolkit-hostile-"))
    try:
        started = time.perf_counter()
        argv = [sys.executable, __file__, "--generate-into", str(folder)]
        if args.requests is not None:
            argv += ["--requests", str(args.requests)]
        made = subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=True)
        cases = {name: Path(path) for name, path
                 in json.loads(made.stdout.strip().splitlines()[-1]).items()}
        base, source = folder / "base.xlsx", folder / "plain_source.csv"
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        edited = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                 "patoolkit"], capture_output=True, text=True).stdout.split()
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"generated_seconds": round(time.perf_counter() - started, 1),
                          "commit": commit,
                          "uncommitted": edited[1::2], "parent_peak_mb": round(floor),
                          "files": {name: path.stat().st_size
                                    for name, path in cases.items()}}), flush=True)
        work = folder / "work"
        work.mkdir(exist_ok=True)
        wanted = set(args.only) or set(cases)
        tracker_runs("baseline_30_requests", base, source, work, args.timeout)
        for name in ("large_stray_XFD1048576", "large_stray_AP1048576"):
            if name in wanted:
                tracker_runs(name, cases[name], source, work, args.timeout)
        for name in ("large_50mb_csv", "large_10000_columns"):
            if name in wanted:
                import_runs(name, cases[name], base, work, args.timeout)
        for name in cases:
            if name.endswith("_requests") and (name in wanted or "large_requests" in wanted):
                tracker_runs(name, cases[name], source, work, args.timeout,
                             commands=("check", "worklist"))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
