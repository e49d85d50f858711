"""The dashboards in a browser: first paint of Today, and Confirm to the refreshed row.

One Voila, set up as `patoolkit serve` sets it up (same options, token, start
page), serves a scratch folder holding a copy of notebooks/1_Today.ipynb, an
empty notebook and a notebook with one no-op button, on a scratch copy of a
tracker. Headless Debian chromium (Playwright) opens them in the same run:

    python benchmarks/bench_browser.py [--rows 3000] [--repeat 5]

- first paint: from the request (page.goto, not waiting for the load event) to Today's first
  worklist row drawn, against the empty notebook's output, the pages opened alternately,
  each in a fresh page once every pool has its kernel and every kernel is idle (issue 16: at
  most 1.2x). The first row drawn is the picture's (ui.common.page_picture, in the page's
  HTML) when the page has one, else the live table's; the live table's first row (the page
  usable) is reported too, as are each round's ratios and the page's main-thread busy time
  in the browser (Chrome's TaskDuration, up to the live row): a measure of the page's own
  drawing that the other processes of a shared machine move less than the clock.
- Confirm: on Today, filtered to "Check status", a request is opened and its
  status check Saved; the clock runs from the click on Confirm until the page
  says "Saved" and the worklist table shows the refreshed rows (its text
  changed: the saved request's next check moved) (issue 14: under 0.5 s),
  against the round trip of a button
  whose click changes a line of text (the least a click can cost: browser to
  kernel and back).

Prints one JSON line: medians in seconds and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
from bench_dashboard import free_port, tracker_of  # the same tracker sizes as that benchmark

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NOOP = """import ipywidgets as widgets
button = widgets.Button(description="No-op")
button.add_class("bench-noop")
shown = widgets.HTML("clicks: 0")
shown.add_class("bench-shown")
clicks = [0]
def clicked(_):
    clicks[0] += 1
    shown.value = f"clicks: {clicks[0]}"
button.on_click(clicked)
widgets.VBox([button, shown])"""


def notebooks_in(folder: Path) -> None:
    folder.mkdir()
    from patoolkit.serve import NOTEBOOKS

    shutil.copy2(NOTEBOOKS / "1_Today.ipynb", folder / "today.ipynb")
    empty = nbformat.v4.new_notebook()
    empty.cells = [nbformat.v4.new_code_cell("print('ready')")]
    nbformat.write(empty, folder / "empty.ipynb")
    noop = nbformat.v4.new_notebook()
    noop.cells = [nbformat.v4.new_code_cell(NOOP)]
    nbformat.write(noop, folder / "noop.ipynb")


def pools_ready(log: Path | None) -> Any:
    """With Voila's pre-heated kernels: a function that waits until a notebook's pool has
    been filled `times` times (Voila logs each fill), so each page is opened as a person
    opens it, with a kernel waiting, not while the pool refills after the previous open."""
    def wait(name: str, times: int) -> None:
        if log is None:
            return
        for _ in range(1200):
            text = log.read_text(encoding="utf-8", errors="replace")
            if text.count(f"Kernel pool of {name}.ipynb is filled") >= times:
                return
            time.sleep(0.1)
        raise TimeoutError(f"{name}: the pre-heated kernel pool did not fill in 120 s")
    return wait


def kernels_idle(link: Any, log: Path) -> Any:
    """A function that waits until every kernel the server started says it is idle (Voila
    logs each kernel started; the Jupyter server's /api/kernels/ID tells its state). Voila
    logs a pool "filled" once its kernel has started and begun running the notebook, not
    once the notebook has run: a page opened then waits for the rest of the run (pandas
    imported, tracker read, worklist computed), which a person opening the page a minute
    after the server started, or after the previous page, does not. Opening each page once
    every kernel is idle measures the page, not the pool's refill."""
    def states() -> list[str]:
        found = []
        ids = re.findall(r"Kernel started: ([0-9a-f-]{36})",
                         log.read_text(encoding="utf-8", errors="replace"))
        for kernel in dict.fromkeys(ids):
            try:
                with urllib.request.urlopen(link(f"api/kernels/{kernel}"), timeout=5) as answer:
                    found.append(json.loads(answer.read()).get("execution_state", ""))
            except urllib.error.HTTPError:  # shut down (culled, or its page closed)
                continue
        return found

    def wait() -> None:
        quiet = 0
        for _ in range(1200):
            quiet = quiet + 1 if all(state == "idle" for state in states()) else 0
            if quiet >= 3:
                return
            time.sleep(0.2)
        raise TimeoutError("the kernels were not idle within 240 s")
    return wait


def first_paints(browser: Any, link: Any, repeat: int, ready: Any = None,
                 idle: Any = None) -> dict[str, list[float]]:
    ready = ready or pools_ready(None)
    idle = idle or (lambda: None)
    times: dict[str, list[float]] = {"empty": [], "today_first_row": [], "today_live_row": [],
                                     "empty_cpu": [], "today_cpu": []}
    opened = {"empty": 0, "today": 0}
    for attempt in range(repeat + 1):  # the first round warms up, not counted
        for name in (("empty", "today") if attempt % 2 else ("today", "empty")):
            # every pool refilled after the pages opened so far, then every kernel idle
            for each, count in opened.items():
                ready(each, count + 1)
            idle()
            opened[name] += 1
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            # the page's main-thread busy time (Chrome's TaskDuration): the browser's own
            # work for the page, which other processes' load moves far less than the clock
            devtools = page.context.new_cdp_session(page)
            devtools.send("Performance.enable")
            started = time.perf_counter()
            # from the request, not from the page's load event: a page may draw before it
            page.goto(link(f"voila/render/{name}.ipynb"), wait_until="commit")
            if name == "empty":
                page.wait_for_selector("text=ready", timeout=180_000)
                elapsed = {"empty": time.perf_counter() - started}
            else:
                # the first worklist row drawn: the picture's (ui.common.page_picture) or,
                # when there is none (stale, or ?q=), the live table's
                page.wait_for_selector(".pa-picture-row:not(.pa-picture-head), "
                                       ".pa-today .pa-row", timeout=180_000)
                first = time.perf_counter() - started
                page.wait_for_selector(".pa-today .pa-row", timeout=180_000)
                elapsed = {"today_first_row": first,
                           "today_live_row": time.perf_counter() - started}
            metrics = {metric["name"]: metric["value"] for metric in
                       devtools.send("Performance.getMetrics")["metrics"]}
            elapsed[f"{name}_cpu"] = float(metrics.get("TaskDuration", 0.0))
            page.close()
            if attempt:
                for key, value in elapsed.items():
                    times[key].append(value)
    return times


def noop_round_trips(browser: Any, link: Any, repeat: int) -> list[float]:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(link("voila/render/noop.ipynb"))
    page.wait_for_selector(".bench-noop", timeout=180_000)
    times = []
    for click in range(1, repeat * 2 + 2):
        started = time.perf_counter()
        page.click(".bench-noop")
        page.wait_for_selector(f".bench-shown >> text=clicks: {click}", timeout=30_000)
        if click > 1:  # the first click warms up
            times.append(time.perf_counter() - started)
    page.close()
    return times


def confirms(browser: Any, link: Any, repeat: int) -> list[float]:
    """Confirm on Today to the page saying Saved with the worklist drawn again."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(link("voila/render/today.ipynb"))
    page.wait_for_selector(".pa-row", timeout=180_000)
    page.fill(".pa-user input", "Benchmark")
    page.press(".pa-user input", "Tab")
    # requests waiting for a decision: a status check moves their row's Target
    page.select_option(".pa-filter-action select", "Check status")
    page.wait_for_function("() => [...document.querySelectorAll('.pa-row')].every("
                           "row => row.innerText.includes('Check status'))")
    times = []
    for attempt in range(repeat + 1):
        page.click(".pa-tabs .lm-TabBar-tab >> nth=0")
        page.locator(".pa-open").nth(attempt).click()
        page.click(".pa-step-status_check")
        page.click(".pa-save")
        page.wait_for_selector(".pa-confirm")
        # the table's row widgets are updated in place: wait for their text to change
        before = page.inner_text(".pa-table")
        started = time.perf_counter()
        page.click(".pa-confirm")
        page.wait_for_function(
            "(before) => { const f = document.querySelector('.pa-detail-feedback');"
            " const table = document.querySelector('.pa-table');"
            " return f && f.innerText.includes('Saved') && table"
            " && table.innerText !== before; }", arg=before, timeout=60_000)
        if attempt:
            times.append(time.perf_counter() - started)
    page.close()
    return times


def measure(rows: int | None, repeat: int, idle_first: bool = True,
            with_confirm: bool = True) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    from patoolkit.serve import TOKEN_ENV, start_page_data, voila_command, voila_config
    from patoolkit.ui.common import TRACKER_ENV

    work = Path(tempfile.mkdtemp(prefix="patoolkit-bench-"))
    notebooks_in(work / "notebooks")
    tracker = work / "tracker.xlsx"
    shutil.copy2(tracker_of(rows), tracker)
    port, token = free_port(), secrets.token_urlsafe()
    # the same settings as `patoolkit serve`, over the scratch folder's notebooks
    command = voila_command(port, "127.0.0.1", voila_config(), notebooks=work / "notebooks")
    environment = {**os.environ, TRACKER_ENV: str(tracker), TOKEN_ENV: token,
                   "JUPYTER_PATH": os.pathsep.join([
                       str(start_page_data(tracker)),
                       str(ROOT / "patoolkit" / "data" / "jupyter")])}
    preheated = "--VoilaConfiguration.preheat_kernel=True" in command
    log = work / "voila.log"
    with log.open("wb") as written:
        server = subprocess.Popen(command, env=environment, stdout=written, stderr=written,
                                  start_new_session=True)

    def link(path: str) -> str:
        return f"http://127.0.0.1:{port}/{path}?token={token}"

    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(link(""), timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                                 args=CHROMIUM_ARGS, headless=True)
            paints = first_paints(browser, link, repeat,
                                  pools_ready(log if preheated else None),
                                  kernels_idle(link, log) if idle_first else None)
            noop = noop_round_trips(browser, link, repeat)
            confirm = confirms(browser, link, repeat) if with_confirm else [float("nan")]
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)
    median = {key: statistics.median(values) for key, values in paints.items()}
    noop_s, confirm_s = statistics.median(noop), statistics.median(confirm)
    return {
        "benchmark": "browser", "rows": rows or "sample (300)", "repeat": repeat,
        "preheated_kernels": preheated, "opened_when_kernels_idle": idle_first,
        "empty_notebook_s": round(median["empty"], 2),
        "today_first_row_s": round(median["today_first_row"], 2),
        "today_live_row_s": round(median["today_live_row"], 2),
        "first_paint_ratio": round(median["today_first_row"] / median["empty"], 2),
        "live_row_ratio": round(median["today_live_row"] / median["empty"], 2),
        "empty_browser_cpu_s": round(median["empty_cpu"], 2),
        "today_browser_cpu_s": round(median["today_cpu"], 2),
        "browser_cpu_ratio": round(median["today_cpu"] / median["empty_cpu"], 2),
        "first_paint_ratios_all": [round(today / empty, 2) for today, empty in
                                   zip(paints["today_first_row"], paints["empty"], strict=True)],
        "live_row_ratios_all": [round(today / empty, 2) for today, empty in
                                zip(paints["today_live_row"], paints["empty"], strict=True)],
        "noop_click_s": round(noop_s, 3), "confirm_refreshed_row_s": round(confirm_s, 3),
        "confirm_ratio_to_noop": round(confirm_s / noop_s, 1),
        "confirm_s_all": [round(value, 3) for value in confirm],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="a synthetic tracker of this many requests "
                        "(default: the sample tracker)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--busy-kernels", action="store_true",
                        help="open each page as soon as its pool says filled, while the "
                        "refilled kernel may still be running its notebook (the old way)")
    parser.add_argument("--paint-only", action="store_true", help="first paint alone, no Confirm")
    args = parser.parse_args()
    print(json.dumps(measure(args.rows, args.repeat, not args.busy_kernels,
                             not args.paint_only)), flush=True)


if __name__ == "__main__":
    main()
