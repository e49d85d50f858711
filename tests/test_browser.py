"""The dashboards in a real browser: `patoolkit serve` (Voila) driven by Playwright and Chromium.

Each test opens a page the way a practice manager would and checks what the
page shows, and, for the two forms that write, what lands in the tracker on
disk. The server runs on a copy of the synthetic sample in a temporary folder.
Screenshots (1366 wide) go to tests/artifacts/, which git ignores.

Needs Debian's `chromium` on PATH (Playwright's own browser download is not
used); skipped without it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from patoolkit import load_tracker

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not on PATH; the browser tests drive Debian's "
    "chromium (apt-get install chromium), Playwright's browser download is not used")

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = sync_api.expect
# On a loaded 2-core machine a widget answers in seconds, past Playwright's 5 s: waiting
# longer costs nothing when it answers sooner, and an answer that never comes still fails.
expect.set_options(timeout=30_000)
psutil = pytest.importorskip("psutil", reason="psutil (an ipykernel dependency) is missing")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_TRACKER = ROOT / "sample_data" / "pa_tracker.xlsx"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VIEWPORT = {"width": 1366, "height": 768}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_START_SECONDS = 60
KERNEL_SECONDS = 90  # Voila shows the widgets only after the notebook's kernel has run it
ERROR_WORDS = ("Traceback", "Error", "Exception")

TODAY = "1_Today.ipynb"
NEW_REQUEST = "2_New_request.ipynb"
CLIENT_SETUP = "3_Client_setup.ipynb"
DENIALS = "4_Denials.ipynb"
SCORECARD = "5_Scorecard.ipynb"
CLAIMS_AUDIT = "6_Claims_audit.ipynb"
STATUS = re.compile(r"Showing (\d+)–(\d+) of (\d+)")
PAGE_ROWS = 15  # rows a page of the Today table shows


# --- the server -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Server:
    url: str  # http://127.0.0.1:PORT/
    token: str  # from the start URL `patoolkit serve` printed
    tracker: Path
    log: Path

    def link(self, path: str = "") -> str:
        """`path` on the server, carrying the token the way the printed start URL does."""
        return f"{self.url}{path}?token={self.token}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> str:
    """Until the start URL `patoolkit serve` printed (url with its token) answers; that URL."""
    printed = re.compile(re.escape(f"{url}?token=") + r"\S+")
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"patoolkit serve exited with {process.returncode} before answering:\n"
                        f"{log_tail(log)}")
        start = printed.search(log.read_text(errors="replace"))
        try:
            if start:
                with urllib.request.urlopen(start.group(), timeout=2) as response:
                    if response.status == 200:
                        return start.group()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"patoolkit serve did not answer {url} within {SERVER_START_SECONDS} s:\n"
                f"{log_tail(log)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop `patoolkit serve`, its Voila and every kernel Voila started; nothing is left running.

    The server runs in its own process group (patoolkit + voila); SIGTERM to the group lets
    Voila shut its kernels down (they run in sessions of their own, so they are tracked by
    pid). Whatever is still alive after the grace period is killed, by pid.
    """
    try:
        family = [psutil.Process(process.pid),
                  *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    _, alive = psutil.wait_procs(family, timeout=15)
    for survivor in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            survivor.kill()
    psutil.wait_procs(alive, timeout=5)
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


@contextlib.contextmanager
def serving(tracker: Path, log: Path, *options: str) -> Iterator[Server]:
    """`patoolkit serve TRACKER --port N [options]` until the block ends (also on failure)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "patoolkit.cli", "serve", str(tracker), "--port", str(port),
             *options],
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=log.parent, start_new_session=True)
        try:
            start = wait_until_up(url, process, log)
            yield Server(url, start.partition("?token=")[2], tracker, log)
        finally:
            stop(process)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module, on a scratch copy of the sample tracker."""
    folder = tmp_path_factory.mktemp("browser")
    tracker = folder / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, tracker)
    with serving(tracker, folder / "server.log") as running:
        yield running


# --- the browser ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def open_dashboard(page: Any, server: Server, notebook: str, ready: str) -> None:
    page.goto(server.link(f"voila/render/{notebook}"), timeout=KERNEL_SECONDS * 1000)
    page.wait_for_selector(ready, timeout=KERNEL_SECONDS * 1000)


def screenshot(page: Any, name: str) -> Path:
    """A full-page picture at 1366 px wide.

    Voila's page scrolls inside #rendered_cells, not the document, so full_page alone would
    stop at 768 px: the viewport grows (same width) to the content's height for the picture,
    then goes back to 1366x768.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    height = page.evaluate(
        "() => { const c = document.querySelector('#rendered_cells');"
        " return c ? c.scrollHeight : document.documentElement.scrollHeight; }")
    if height > VIEWPORT["height"]:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": min(height + 60, 12_000)})
        page.wait_for_function(
            "() => { const c = document.querySelector('#rendered_cells');"
            " return !c || c.clientHeight >= c.scrollHeight - 1; }", timeout=5_000)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)
    return path


def assert_no_error_text(page: Any) -> None:
    text = page.inner_text("body")
    found = [word for word in ERROR_WORDS if word in text]
    assert not found, f"error text {found} on {page.url}:\n{text[:3000]}"


def table_status(page: Any) -> tuple[str, int]:
    text = page.inner_text(".pa-table-status")
    match = STATUS.search(text)
    assert match, f"unexpected table status {text!r}"
    return text, int(match.group(3))


def column_index(page: Any, heading: str) -> int:
    texts = page.locator(".pa-head .pa-heading").all_inner_texts()
    headings = [text.strip(" ▲▼") for text in texts]
    assert heading in headings, headings
    return headings.index(heading)


def column_values(page: Any, heading: str) -> list[str]:
    index = column_index(page, heading)
    return page.locator(f".pa-row .pa-cells span:nth-child({index + 1})").all_inner_texts()


def wait_for_rows(page: Any, count: int, heading: str | None = None,
                  value: str | None = None) -> None:
    """Until the table shows `count` rows (and, if given, `heading` equals `value` in all)."""
    index = column_index(page, heading) if heading else -1
    page.wait_for_function(
        """([count, index, value]) => {
             const rows = [...document.querySelectorAll('.pa-row')];
             return rows.length === count && (index < 0 || rows.every(
               row => row.querySelectorAll('.pa-cells span')[index].innerText.trim() === value));
           }""", arg=[count, index, value])


# --- the tests --------------------------------------------------------------------------------

def test_start_page_lists_the_dashboards_by_name_and_purpose(page: Any, server: Server) -> None:
    page.goto(server.link())
    cards = page.locator(".pa-card")
    expect(cards).to_have_count(6)
    titles = [title.strip() for title in page.locator(".pa-card-title").all_inner_texts()]
    assert titles == ["Today", "New request", "Client set-up", "Denials and appeals",
                      "Payer scorecard", "Claims audit"]
    links = [cards.nth(n).locator("a").get_attribute("href") or "" for n in range(6)]
    for link, name in zip(links, (TODAY, NEW_REQUEST, CLIENT_SETUP, DENIALS, SCORECARD,
                                  CLAIMS_AUDIT), strict=True):
        assert link.split("?")[0].endswith(f"/voila/render/{name}")
    assert all(len(text) > 40 for text in page.locator(".pa-card-about").all_inner_texts())
    assert ".ipynb" not in page.locator("main").inner_text()  # names, not files
    expect(page.locator(".pa-served-name")).to_have_text(server.tracker.name)
    assert_no_error_text(page)
    screenshot(page, "start_page.png")
    with page.context.expect_page() as opened:  # a card opens its dashboard
        cards.nth(0).locator("a").click()
    today = opened.value
    today.wait_for_selector(".pa-today", timeout=KERNEL_SECONDS * 1000)
    today.close()


def test_today_shows_counts_and_the_worklist(page: Any, server: Server) -> None:
    open_dashboard(page, server, TODAY, ".pa-today")
    page.wait_for_selector(".pa-row", timeout=KERNEL_SECONDS * 1000)
    expect(page.locator(".pa-count")).to_have_count(8)
    for key in ("deadline_risk", "overdue", "today", "info", "late_decisions", "p2p",
                "expiring", "at_risk"):
        expect(page.locator(f".pa-count-{key}")).to_have_text(re.compile(r".+: \d+$"))
    expect(page.locator(".pa-table-status")).to_have_text(STATUS)
    assert_no_error_text(page)
    screenshot(page, "today.png")


def test_today_renders_with_no_internet(page: Any, server: Server) -> None:
    """Offline practices: every request leaving 127.0.0.1 is refused, the page still works."""
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    open_dashboard(page, server, TODAY, ".pa-today")
    page.wait_for_selector(".pa-row", timeout=KERNEL_SECONDS * 1000)
    expect(page.locator(".pa-count")).to_have_count(8)
    assert_no_error_text(page)
    # Voila's lab template links Font Awesome from a CDN; patoolkit's widgets use no icons,
    # so nothing on the page depends on it. Anything else from outside would be a bug.
    others = [url for url in outside if "fontawesome" not in url]
    assert others == [], f"the page asked for outside resources: {others[:5]}"


def test_filters_and_count_buttons_narrow_the_worklist(page: Any, server: Server) -> None:
    open_dashboard(page, server, TODAY, ".pa-row")
    everything, total = table_status(page)

    owner_select = page.locator(".pa-filter-owner select")
    owner_select.select_option(index=1)
    owner = owner_select.input_value()
    assert owner not in ("", "(all)")
    expect(page.locator(".pa-table-status")).not_to_have_text(everything)
    by_owner, owner_total = table_status(page)
    assert 0 < owner_total < total, (by_owner, everything)
    wait_for_rows(page, min(owner_total, PAGE_ROWS), "Owner", owner)
    assert set(column_values(page, "Owner")) == {owner}

    page.click(".pa-count-p2p")
    expect(page.locator(".pa-count-p2p")).to_have_class(re.compile(r"\bmod-info\b"))
    expect(page.locator(".pa-table-status")).not_to_have_text(by_owner)
    _, p2p_total = table_status(page)
    assert p2p_total < owner_total
    wait_for_rows(page, min(p2p_total, PAGE_ROWS), "Owner", owner)
    assert set(column_values(page, "Action")) <= {"Request peer-to-peer"}
    assert_no_error_text(page)
    screenshot(page, "today_filtered.png")


def test_record_a_status_check_writes_the_tracker(page: Any, server: Server) -> None:
    open_dashboard(page, server, TODAY, ".pa-row")
    request_id = column_values(page, "Request")[0]
    history = load_tracker(server.tracker).frames["History"]
    checks_before = int(((history["request_id"].astype("string") == request_id)
                         & (history["field"].astype("string") == "last_status_check")).sum())

    page.locator(".pa-open").first.click()
    detail = page.locator(".pa-detail")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text(f"Request {request_id}")
    started = dt.datetime.now().replace(second=0, microsecond=0)
    page.click(".pa-step-status_check")
    page.click(".pa-save")
    page.click(".pa-confirm")
    expect(page.locator(".pa-detail-feedback")).to_contain_text("Saved")
    expect(page.locator(".pa-history")).to_contain_text("Last Status Check")
    assert_no_error_text(page)
    screenshot(page, "detail_status_check_saved.png")

    tracker = load_tracker(server.tracker)
    requests = tracker.frames["Requests"]
    row = requests[requests["request_id"].astype("string") == request_id]
    assert len(row) == 1
    checked = pd.Timestamp(row["last_status_check"].iloc[0])
    assert pd.notna(checked), f"{request_id}: last_status_check is still blank"
    assert started <= checked <= dt.datetime.now(), checked  # set just now, i.e. today
    history = tracker.frames["History"]
    mine = history[(history["request_id"].astype("string") == request_id)
                   & (history["field"].astype("string") == "last_status_check")]
    assert len(mine) == checks_before + 1, mine
    assert str(mine.sort_values("at")["new_value"].iloc[-1]).startswith(
        f"{checked:%Y-%m-%d %H:%M}")


def test_new_request_intake_saves_to_the_tracker(page: Any, server: Server) -> None:
    open_dashboard(page, server, NEW_REQUEST, ".pa-intake")
    page.fill(".pa-in-patient_id input", "PBROWSER1")
    page.press(".pa-in-patient_id input", "Tab")
    page.fill(".pa-in-payer input", "Summit Health Plan")
    page.press(".pa-in-payer input", "Tab")
    page.select_option(".pa-in-plan_type select", label="Commercial")
    page.fill(".pa-in-codes input", "70551")
    page.press(".pa-in-codes input", "Tab")
    page.select_option(".pa-in-service_category select", label="Advanced Imaging")
    expect(page.locator(".pa-intake-checks")).to_contain_text("PA required: Yes")

    page.click(".pa-intake-save")
    feedback = page.locator(".pa-intake-feedback")
    expect(feedback).to_contain_text("Saved")
    match = re.search(r"Saved (\S+) to", feedback.inner_text())
    assert match, feedback.inner_text()
    assert_no_error_text(page)
    screenshot(page, "new_request_saved.png")

    requests = load_tracker(server.tracker).frames["Requests"]
    mine = requests[requests["patient_id"].astype("string") == "PBROWSER1"]
    assert len(mine) == 1, mine
    saved = mine.iloc[0]
    assert saved["request_id"] == match.group(1)
    assert saved["payer"] == "Summit Health Plan"
    assert saved["plan_type"] == "Commercial"
    assert "70551" in str(saved["codes"])
    assert saved["service_category"] == "Advanced Imaging"


def test_client_setup_shows_the_report_and_payer_rules(page: Any, server: Server) -> None:
    open_dashboard(page, server, CLIENT_SETUP, ".pa-setup")
    expect(page.locator(".pa-payer-rules")).to_contain_text("CMS-0057-F",
                                                            timeout=KERNEL_SECONDS * 1000)
    report = page.locator(".pa-report")
    expect(report).to_be_visible()
    expect(report).to_contain_text(re.compile(r"\d+ requests, \d+ errors, \d+ warnings"))
    assert_no_error_text(page)
    screenshot(page, "client_setup.png")


def test_denials_make_a_letter_and_download_it(page: Any, server: Server,
                                               tmp_path: Path) -> None:
    from docx import Document

    open_dashboard(page, server, DENIALS, ".pa-denials .pa-row")
    expect(page.locator(".pa-denials .pa-sub")).to_contain_text("open denials")
    closing = column_values(page, "Closes")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?", closing[0]), closing[0]
    assert closing == sorted(closing)  # closing soonest first
    days = column_values(page, "Days")
    # the first denial whose window is still open (an overdue one has no letter that fits)
    open_at = next(n for n, value in enumerate(days) if not value.startswith(("-", "overdue")))
    request_id = column_values(page, "Request")[open_at]
    screenshot(page, "denials.png")

    page.locator(".pa-open").nth(open_at).click()
    letter = page.locator(".pa-letter")
    expect(letter).to_contain_text(f"Letter for request {request_id}")
    page.click(".pa-letter-make")  # nothing filled yet: every empty field is named
    expect(page.locator(".pa-letter-feedback")).to_contain_text("field(s) are empty")
    for box in page.locator(".pa-letter-fields textarea").all():
        box.fill("First browser point\nSecond browser point")
    for box in page.locator(".pa-letter-fields input[type=text]").all():
        box.fill("Filled in the browser")
    page.click(".pa-letter-preview")
    expect(page.locator(".pa-preview")).to_contain_text("Second browser point")
    page.click(".pa-letter-make")
    expect(page.locator(".pa-letter-feedback")).to_contain_text("recorded it in the History")
    with page.expect_download() as download_info:
        page.click(".pa-download")
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.name.startswith(f"{request_id}_")
    assert saved.suffix == ".docx"
    text = "\n".join(p.text for p in Document(str(saved)).paragraphs)
    assert "Second browser point" in text
    assert request_id in text
    assert_no_error_text(page)
    screenshot(page, "denials_letter.png")

    history = load_tracker(server.tracker).frames["History"]
    mine = history[(history["request_id"].astype("string") == request_id)
                   & history["field"].astype("string").str.startswith("letter:")]
    assert saved.name in set(mine["new_value"].astype(str))


def test_scorecard_draws_its_charts_offline_and_follows_the_dates(page: Any,
                                                                  server: Server) -> None:
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    open_dashboard(page, server, SCORECARD, ".pa-scorecard .pa-tiles")
    body = page.locator(".pa-scorecard")
    expect(body.locator("svg")).to_have_count(6)
    requests_tile = body.locator(".pa-tile").first
    everything = requests_tile.inner_text()
    page.fill(".pa-sc-from input", "2026-10-01")
    page.press(".pa-sc-from input", "Tab")
    expect(requests_tile).not_to_have_text(everything)
    expect(page.locator(".pa-scorecard .pa-sub")).to_contain_text("2026-10-01")
    expect(page.locator(".pa-sc-download a")).to_have_attribute("download", "pa_scorecard.xlsx")
    assert_no_error_text(page)
    screenshot(page, "scorecard.png")
    others = [url for url in outside if "fontawesome" not in url]
    assert others == [], f"the page asked for outside resources: {others[:5]}"


def test_claims_audit_upload_shows_findings_and_downloads_them(page: Any, server: Server,
                                                               tmp_path: Path) -> None:
    import openpyxl

    open_dashboard(page, server, CLAIMS_AUDIT, ".pa-claims-app")
    with page.expect_file_chooser() as chooser:  # as a person does: click, pick the file
        page.click(".pa-claims-upload")
    chooser.value.set_files(str(ROOT / "sample_data" / "claims.xlsx"))
    groups = page.locator(".pa-claims-groups")
    expect(groups).to_contain_text("MISSING_AUTH", timeout=KERNEL_SECONDS * 1000)
    expect(groups).to_contain_text("AUTH_AVAILABLE_NOT_ON_CLAIM")
    expect(groups).to_contain_text("CMS-1500 box 23")
    expect(page.locator(".pa-claims-summary")).to_contain_text("clean")
    with page.expect_download() as download_info:
        page.click(".pa-claims-download a")
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    book = openpyxl.load_workbook(saved)
    codes = {row[2] for row in book["Findings"].iter_rows(min_row=4, values_only=True)}
    assert {"MISSING_AUTH", "AUTH_NOT_FOUND", "OUTSIDE_DATES"} <= codes
    assert_no_error_text(page)
    screenshot(page, "claims_audit.png")


def test_client_setup_imports_a_clients_tracker(page: Any, server: Server,
                                                tmp_path: Path) -> None:
    import openpyxl

    source = tmp_path / "clinic_log.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Client", "Payor", "Auth Number", "HCPCS", "Auth Start", "Auth End",
                        "Units Authorized", "Units Used", "Discipline"])
    book.active.append(["Hall, Rita", "Summit Health Plan", "BROWSER-HC-1", "G0299",
                        "2026-09-01", "2026-11-30", 20, 14, "RN"])
    book.save(source)
    open_dashboard(page, server, CLIENT_SETUP, ".pa-setup")
    with page.expect_file_chooser() as chooser:
        page.click(".pa-import-upload")
    chooser.value.set_files(str(source))
    expect(page.locator(".pa-import-target select")).to_have_count(9,
                                                                  timeout=KERNEL_SECONDS * 1000)
    auth = page.locator(".pa-import-target select").nth(2)
    expect(auth).to_have_value("auth_number")
    expect(page.locator(".pa-import-preview")).to_contain_text("BROWSER-HC-1")
    discipline = page.locator(".pa-import-target select").nth(8)
    discipline.select_option("owner")  # the consultant corrects one column
    expect(page.locator(".pa-import-preview")).to_contain_text("owner")
    # reading the upload already showed the bar, with its result line
    expect(page.locator(".pa-import-progress-words")).to_contain_text("Read 1 row from "
                                                                     "clinic_log.xlsx")
    page.click(".pa-import-go")
    expect(page.locator(".pa-import-report")).to_contain_text("Imported 1 request(s)")
    # the import's progress bar, at its end, and its one-line result
    expect(page.locator(".pa-import-progress")).to_be_visible()
    expect(page.locator(".pa-import-progress .progress-bar")).to_have_attribute(
        "style", re.compile(r"width: 100%"))
    expect(page.locator(".pa-import-progress-words")).to_have_text("Imported 1 request.")
    assert_no_error_text(page)
    screenshot(page, "import_wizard.png")
    requests = load_tracker(server.tracker).requests
    mine = requests[requests["auth_number"].astype("string") == "BROWSER-HC-1"]
    assert len(mine) == 1
    assert mine["owner"].iloc[0] == "RN"
    assert mine["units_used"].iloc[0] == 14


def test_an_unreadable_tracker_gives_a_friendly_page(page: Any, tmp_path: Path) -> None:
    tracker = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, tracker)  # `patoolkit serve` refuses a missing path
    with serving(tracker, tmp_path / "server.log") as broken:
        tracker.write_bytes(b"not a workbook")
        for notebook, picture in ((TODAY, "unusable_today.png"),
                                  (NEW_REQUEST, "unusable_new_request.png")):
            open_dashboard(page, broken, notebook, ".pa-unusable")
            unusable = page.locator(".pa-unusable")
            expect(unusable).to_contain_text("could not be opened")
            expect(unusable).to_contain_text(tracker.name)
            assert "Traceback" not in page.inner_text("body")
            screenshot(page, picture)
        # Client set-up has no unusable page: its check report says what is wrong instead.
        open_dashboard(page, broken, CLIENT_SETUP, ".pa-setup")
        expect(page.locator(".pa-report")).to_contain_text("not an .xlsx workbook")
        assert "Traceback" not in page.inner_text("body")
        screenshot(page, "unusable_client_setup.png")


# --- issue 16: find, the patient view, identity, busy -----------------------------------------

BUSY_WATCH = """() => { window.paBusySeen = false;
  new MutationObserver(() => { if (document.querySelector('.pa-busy')) {
    window.paBusySeen = true; } }).observe(document.body, {subtree: true, attributes: true,
    attributeFilter: ['class'], childList: true}); }"""


def test_find_on_the_start_page_opens_today_with_the_results(page: Any, server: Server) -> None:
    requests = load_tracker(server.tracker).frames["Requests"]
    auth = str(requests["auth_number"].dropna().iloc[0])
    request_id = str(requests.loc[requests["auth_number"] == auth, "request_id"].iloc[0])
    page.goto(server.link())
    page.fill(".pa-find input[name=q]", auth)
    with page.context.expect_page() as opened:
        page.click(".pa-find button")
    today = opened.value
    today.wait_for_selector(".pa-search-row", timeout=KERNEL_SECONDS * 1000)
    rows = today.locator(".pa-search-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(request_id)
    expect(today.locator(".pa-search input")).to_have_value(auth)
    assert_no_error_text(today)
    today.close()


def test_search_as_you_type_and_the_patient_view(page: Any, server: Server) -> None:
    requests = load_tracker(server.tracker).frames["Requests"]
    counts = requests["patient_id"].value_counts()
    patient, other = str(counts.index[0]), str(counts.index[1])
    mine = requests[requests["patient_id"] == patient]
    name = str(mine["patient_name"].iloc[0])
    open_dashboard(page, server, TODAY, ".pa-row")
    box = page.locator(".pa-search input")
    box.press_sequentially(name.split(",")[0][:5], delay=30)  # the surname, as it is typed
    expect(page.locator(".pa-search-status")).to_contain_text("found")
    box.fill(patient)
    expect(page.locator(".pa-search-row")).to_have_count(len(mine))
    page.locator(".pa-search-patient").first.click()
    body = page.locator(".pa-patient-body")
    expect(body).to_contain_text(str(mine["request_id"].iloc[0]))
    expect(page.locator(".pa-patient .pa-title")).to_contain_text(name)
    screenshot(page, "patient_view.png")
    box.fill(other)  # another patient: nothing of the first stays on the page
    expect(page.locator(".pa-search-row").first).to_contain_text(other)
    page.locator(".pa-search-patient").first.click()
    expect(page.locator(".pa-patient .pa-title")).to_contain_text(other)
    text = page.locator(".pa-patient").inner_text()
    words = set(re.findall(r"[\w-]+", text))
    assert name not in text
    assert patient not in words
    assert not words & set(map(str, mine["request_id"])), "the first patient's requests"
    assert_no_error_text(page)


def test_the_name_is_asked_once_and_carried_to_history_with_a_busy_confirm(
        page: Any, server: Server) -> None:
    open_dashboard(page, server, TODAY, ".pa-row")
    user = page.locator(".pa-user input")
    expect(user).to_have_value("")
    user.fill("Dana Browser")
    user.press("Tab")
    expect(page.locator(".pa-user-note")).to_contain_text("Dana Browser")
    request_id = column_values(page, "Request")[0]
    page.locator(".pa-open").first.click()
    page.click(".pa-step-status_check")
    page.click(".pa-save")
    page.evaluate(BUSY_WATCH)
    page.click(".pa-confirm")
    expect(page.locator(".pa-detail-feedback")).to_contain_text("Saved")
    assert page.evaluate("() => window.paBusySeen"), "Confirm showed no busy state"
    history = load_tracker(server.tracker).frames["History"]
    mine = history[history["request_id"].astype("string") == request_id]
    assert mine.sort_values("at")["by"].iloc[-1] == "Dana Browser"

    # the same browser, another dashboard: the name is already there
    open_dashboard(page, server, DENIALS, ".pa-denials .pa-row")
    expect(page.locator(".pa-user input")).to_have_value("Dana Browser")
    expect(page.locator(".pa-user-note")).to_contain_text("Recorded in History as")
    screenshot(page, "denials_with_name.png")
    open_dashboard(page, server, NEW_REQUEST, ".pa-intake")
    expect(page.locator(".pa-user input")).to_have_value("Dana Browser")
    page.fill(".pa-in-patient_id input", "PBROWSER2")
    page.press(".pa-in-patient_id input", "Tab")
    page.fill(".pa-in-payer input", "Summit Health Plan")
    page.press(".pa-in-payer input", "Tab")
    page.select_option(".pa-in-plan_type select", label="Commercial")
    page.click(".pa-intake-save")
    expect(page.locator(".pa-intake-feedback")).to_contain_text("Saved")
    saved = re.search(r"Saved (\S+) to", page.locator(".pa-intake-feedback").inner_text())
    assert saved
    history = load_tracker(server.tracker).frames["History"]
    added = history[history["request_id"].astype("string") == saved.group(1)]
    assert len(added) > 0
    assert set(added["by"]) == {"Dana Browser"}


def test_choose_rows_on_today_reassign_them_and_export_the_rows_shown(
        page: Any, server: Server) -> None:
    """Two rows ticked, a new owner typed, Reassign: those requests only change, History
    under the person's name, the rows show the owner; then the rows shown download as .xlsx."""
    open_dashboard(page, server, TODAY, ".pa-row")
    page.fill(".pa-user input", "Lee Bulk")
    page.press(".pa-user input", "Tab")
    before = load_tracker(server.tracker).frames["Requests"]
    rows = page.locator(".pa-row")
    chosen = list(dict.fromkeys(column_values(page, "Request")[:2]))
    rows.nth(0).locator(".pa-select input").check()
    rows.nth(1).locator(".pa-select input").check()
    expect(page.locator(".pa-selection")).to_contain_text(f"{len(chosen)} chosen")
    page.fill(".pa-bulk-owner input", "Bulk Owner")
    page.press(".pa-bulk-owner input", "Tab")
    page.click(".pa-bulk-reassign")
    expect(page.locator(".pa-feedback")).to_contain_text("Reassigned to Bulk Owner")
    expect(rows.nth(0)).to_contain_text("Bulk Owner")
    assert_no_error_text(page)
    screenshot(page, "today_bulk_reassigned.png")

    tracker = load_tracker(server.tracker)
    after = tracker.frames["Requests"]
    owners = after.set_index(after["request_id"].astype("string"))["owner"]
    assert set(owners[chosen]) == {"Bulk Owner"}
    others = ~after["request_id"].astype("string").isin(chosen)
    pd.testing.assert_frame_equal(before[others], after[others])  # nobody else's request
    history = tracker.frames["History"]
    mine = history[(history["field"].astype("string") == "owner")
                   & (history["new_value"].astype("string") == "Bulk Owner")]
    assert set(mine["request_id"].astype("string")) == set(chosen)
    assert set(mine["by"]) == {"Lee Bulk"}

    page.click(".pa-bulk-export")
    link = page.locator(".pa-bulk-download a")
    expect(link).to_contain_text(".xlsx")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.startswith("worklist_")


def test_today_opened_after_a_save_elsewhere_shows_it(page: Any, server: Server) -> None:
    """Today waits in a pre-heated kernel, worked out before anyone asked: a save made since
    (here by another program) shows once the page is opened."""
    from patoolkit.tracker.edit import update_request
    from patoolkit.worklist import worklist_for

    def fills() -> int:  # Voila logs each time it has a Today kernel waiting
        return server.log.read_text(errors="replace").count(f"Kernel pool of {TODAY} is filled")

    def wait_for_fills(count: int) -> None:
        deadline = time.monotonic() + KERNEL_SECONDS
        while fills() < count and time.monotonic() < deadline:
            time.sleep(0.2)
        assert fills() >= count, "Voila did not pre-heat a Today kernel"

    wait_for_fills(1)
    taken = fills()
    open_dashboard(page, server, TODAY, ".pa-row")  # takes the waiting kernel
    wait_for_fills(taken + 1)  # the next one is worked out, before the save below
    actions = worklist_for(load_tracker(server.tracker))
    request_id = str(actions["request_id"].iloc[0])
    update_request(server.tracker, request_id, {"owner": "Saved Elsewhere"}, by="another")
    open_dashboard(page, server, TODAY, ".pa-row")  # worked out before the save
    expect(page.locator(".pa-filter-owner select option", has_text="Saved Elsewhere")
           ).to_have_count(1)
    assert_no_error_text(page)


# Records whether the page showed Today's picture (ui.common.page_picture; the template's script
# moves it over the page, class pa-picture-on) and the rows it showed, before the live page
# takes it away.
PICTURE_WATCH = """
window.paPicture = {shown: false, rows: []};
new MutationObserver((changes) => {
  for (const change of changes) {
    for (const node of change.addedNodes) {
      if (node.classList && node.classList.contains('pa-picture-on')) {
        window.paPicture.shown = true;
        window.paPicture.rows = [...node.querySelectorAll(
          '.pa-picture-row:not(.pa-picture-head)')].map(row => row.innerText);
      }
    }
  }
}).observe(document, {childList: true, subtree: true});
"""
REQUEST_ID = re.compile(r"PA-\d{4}-\d{5}")


def kernel_waiting(page: Any, server: Server, notebook: str, ready: str) -> None:
    """Open a pre-heated dashboard once (taking the waiting kernel) and wait until Voila has
    worked out the next one: a page opened next gets a kernel built after every earlier
    test's saves."""
    def fills() -> int:
        return server.log.read_text(errors="replace").count(
            f"Kernel pool of {notebook} is filled")

    taken = fills()
    open_dashboard(page, server, notebook, ready)
    deadline = time.monotonic() + KERNEL_SECONDS
    while fills() <= taken and time.monotonic() < deadline:
        time.sleep(0.2)
    assert fills() > taken, f"Voila did not pre-heat a {notebook} kernel"


@pytest.mark.parametrize(("notebook", "live"), [(TODAY, ".pa-today .pa-row"),
                                                (DENIALS, ".pa-denials .pa-row")])
def test_a_dashboard_draws_its_picture_first_then_the_live_page(
        page: Any, server: Server, notebook: str, live: str) -> None:
    kernel_waiting(page, server, notebook, live)
    time.sleep(2)  # the kernel runs the notebook after Voila says the pool is filled
    page.add_init_script(PICTURE_WATCH)
    page.goto(server.link(f"voila/render/{notebook}"), wait_until="commit")
    page.wait_for_selector(live, timeout=KERNEL_SECONDS * 1000)
    picture = page.evaluate("() => window.paPicture")
    assert picture["shown"], f"{notebook}: the picture was not shown"
    pictured = [REQUEST_ID.findall(row) for row in picture["rows"]]
    assert len(pictured) == PAGE_ROWS, pictured
    assert all(len(ids) == 1 for ids in pictured), pictured
    # the picture is the live table's first page, in its order
    expect(page.locator(".pa-row")).to_have_count(PAGE_ROWS)
    assert [ids[0] for ids in pictured] == column_values(page, "Request")
    expect(page.locator(".pa-picture")).to_have_count(0)  # gone once the live rows are drawn
    assert_no_error_text(page)


def test_a_stale_picture_or_a_search_shows_the_live_page_alone(
        page: Any, server: Server) -> None:
    tomorrow = dt.datetime.now() + dt.timedelta(days=1)
    page.add_init_script(PICTURE_WATCH)
    page.clock.set_fixed_time(tomorrow)  # the browser's day is past the picture's
    open_dashboard(page, server, TODAY, ".pa-today .pa-row")
    assert not page.evaluate("() => window.paPicture.shown")
    expect(page.locator(".pa-picture")).to_have_count(0)

    search = page.context.new_page()
    search.add_init_script(PICTURE_WATCH)
    patient = str(load_tracker(server.tracker).frames["Requests"]["patient_id"].iloc[0])
    search.goto(server.link(f"voila/render/{TODAY}") + f"&q={patient}",
                timeout=KERNEL_SECONDS * 1000)
    search.wait_for_selector(".pa-search-row", timeout=KERNEL_SECONDS * 1000)
    assert not search.evaluate("() => window.paPicture.shown")
    expect(search.locator(".pa-picture")).to_have_count(0)
    search.close()


def test_a_click_on_a_column_heading_sorts_the_worklist(page: Any, server: Server) -> None:
    open_dashboard(page, server, TODAY, ".pa-row")
    heading = page.locator(".pa-head .pa-heading", has_text="Payer")
    heading.click()
    expect(heading).to_have_text("Payer ▲")
    expect(page.locator(".pa-sort select")).to_have_value("Payer")  # Sort by follows
    page.wait_for_function(
        """(index) => { const payers = [...document.querySelectorAll('.pa-row')].map(
             row => row.querySelectorAll('.pa-cells span')[index].innerText);
           return payers.length > 1
             && payers.every((payer, at) => !at || payers[at - 1].localeCompare(payer) <= 0); }""",
        arg=column_index(page, "Payer"))
    first = column_values(page, "Payer")
    heading.click()
    expect(heading).to_have_text("Payer ▼")
    page.wait_for_function(
        "([index, before]) => [...document.querySelectorAll('.pa-row')][0]"
        ".querySelectorAll('.pa-cells span')[index].innerText !== before",
        arg=[column_index(page, "Payer"), first[0]])
    last = column_values(page, "Payer")
    assert last == sorted(last, reverse=True)
    assert last[0] >= first[-1]
    screenshot(page, "today_sorted_by_payer.png")


def test_edit_fields_checks_at_save_then_confirms_in_plain_words(
        page: Any, server: Server) -> None:
    """Edit any field: a wrong value is said beside its field at Save (nothing saved), the
    preview is in plain words, Confirm writes the cells and History under the person's name."""
    open_dashboard(page, server, TODAY, ".pa-row")
    page.fill(".pa-user input", "Edit Tester")
    page.press(".pa-user input", "Tab")
    request_id = column_values(page, "Request")[0]
    page.locator(".pa-open").first.click()
    expect(page.locator(".pa-detail")).to_contain_text(f"Request {request_id}")
    page.click(".pa-step-edit")
    page.fill(".pa-field-units_authorized input", "twelve")
    page.click(".pa-save")
    expect(page.locator(".pa-field-error-units_authorized")).to_contain_text("Units Authorized")
    expect(page.locator(".pa-detail-feedback")).to_contain_text("Nothing was saved")
    expect(page.locator(".pa-confirm")).to_have_count(0)

    page.fill(".pa-field-units_authorized input", "12")
    page.fill(".pa-field-member_id input", "ZZ999888777")
    page.fill(".pa-field-scheduled_service_date input", "2027-01-15")
    page.click(".pa-save")
    preview = page.locator(".pa-form")
    expect(preview).to_contain_text("Save these changes")
    expect(preview).to_contain_text("ZZ999888777")
    expect(preview).to_contain_text("Jan 15 2027")  # a date in words, not 2027-01-15 00:00
    assert "00:00" not in preview.inner_text()
    expect(page.locator(".pa-field-error-units_authorized")).to_have_count(0)
    page.click(".pa-confirm")
    expect(page.locator(".pa-detail-feedback")).to_contain_text("Saved")

    tracker = load_tracker(server.tracker)
    requests = tracker.frames["Requests"]
    row = requests[requests["request_id"].astype("string") == request_id].iloc[0]
    assert str(row["member_id"]) == "ZZ999888777"
    assert pd.Timestamp(row["scheduled_service_date"]) == pd.Timestamp("2027-01-15")
    assert int(row["units_authorized"]) == 12
    history = tracker.frames["History"]
    mine = history[(history["request_id"].astype("string") == request_id)
                   & (history["by"].astype("string") == "Edit Tester")]
    assert {"member_id", "scheduled_service_date", "units_authorized"} <= set(mine["field"])
