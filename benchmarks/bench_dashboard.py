"""Time from opening the Today dashboard to its table being visible, against an empty notebook.

Both pages are served by the same Voila process in the same run, opened
alternately in headless Debian chromium (Playwright), each in a fresh page:

    python benchmarks/bench_dashboard.py [--rows 10000] [--repeat 5]

Prints one JSON line per tracker size: median seconds for the empty notebook
and for Today (first `.pa-row` visible), and their ratio. Target: at most 2x
on the sample tracker.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tracker_of(rows: int | None) -> Path:
    if rows is None:
        return ROOT / "sample_data" / "pa_tracker.xlsx"
    DATA.mkdir(exist_ok=True)
    path = DATA / f"tracker_{rows}.xlsx"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "patoolkit.cli", "sample", str(path), "--rows",
                        str(rows)], check=True, stdout=subprocess.DEVNULL)
    return path


def measure(rows: int | None, repeat: int) -> dict[str, object]:
    import secrets

    from playwright.sync_api import sync_playwright

    from patoolkit.serve import NOTEBOOKS, TOKEN_ENV, voila_command, voila_config

    work = Path(tempfile.mkdtemp(prefix="patoolkit-bench-"))
    notebooks = work / "notebooks"
    notebooks.mkdir()
    shutil.copy2(NOTEBOOKS / "1_Today.ipynb", notebooks / "today.ipynb")
    empty = nbformat.v4.new_notebook()
    empty.cells = [nbformat.v4.new_code_cell("print('ready')")]
    nbformat.write(empty, notebooks / "empty.ipynb")
    tracker = work / "tracker.xlsx"
    shutil.copy2(tracker_of(rows), tracker)
    port, token = free_port(), secrets.token_urlsafe()
    command = voila_command(port, "127.0.0.1", voila_config())
    command[3] = str(notebooks)  # same settings as `patoolkit serve`, other folder
    server = subprocess.Popen(command, env={**os.environ, TOKEN_ENV: token,
                                            "PATOOLKIT_TRACKER": str(tracker),
                                            # the page template `patoolkit serve` uses
                                            "JUPYTER_PATH": str(ROOT / "patoolkit" / "data"
                                                                / "jupyter")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        times: dict[str, list[float]] = {"empty": [], "today": []}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                                 args=CHROMIUM_ARGS, headless=True)
            for attempt in range(repeat + 1):  # the first round warms up, not counted
                order = ("empty", "today") if attempt % 2 else ("today", "empty")
                for name in order:
                    page = browser.new_page(viewport={"width": 1366, "height": 768})
                    selector = ".pa-row" if name == "today" else "text=ready"
                    started = time.perf_counter()
                    page.goto(f"http://127.0.0.1:{port}/voila/render/{name}.ipynb"
                              f"?token={token}")
                    page.wait_for_selector(selector, timeout=180_000)
                    elapsed = time.perf_counter() - started
                    page.close()
                    if attempt:
                        times[name].append(elapsed)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    empty_s, today_s = statistics.median(times["empty"]), statistics.median(times["today"])
    return {"benchmark": "today-dashboard", "rows": rows or "sample (300)",
            "empty_notebook_s": round(empty_s, 2), "today_table_s": round(today_s, 2),
            "ratio": round(today_s / empty_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append",
                        help="synthetic tracker size (default: the sample, then 10000)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for rows in args.rows or [None, 10_000]:
        print(json.dumps(measure(rows, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
