"""Long actions show a progress bar that moves to its end and finish with a short result line
(issue 16): the import in Client set-up and the client report on the Scorecard. Driven as
a person would: set .value, .click(), read the widgets."""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
from pathlib import Path

import ipywidgets as widgets
import pytest

from conftest import SAMPLE_TRACKER
from patoolkit import load_tracker
from patoolkit.ui import ClientSetup, ScorecardDashboard, TrackerSession
from patoolkit.ui.common import ProgressBar


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    path = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, path)
    return path


def values_of(bar: widgets.IntProgress) -> list[int]:
    """Every value the bar takes from now on (what the browser is sent, in order)."""
    seen: list[int] = []
    bar.observe(lambda change: seen.append(int(change["new"])), "value")
    return seen


def clients_export(folder: Path, rows: int) -> Path:
    """A client's CSV export: `rows` authorizations, then the first of them again."""
    lines = ["Client,Payor,Auth Number,HCPCS,Auth Start,Auth End,Units Authorized"]
    lines += [f'"Hall{n}, Rita",Summit Health Plan,PROG-{n},G0299,2026-09-01,2026-11-30,20'
              for n in range(rows)]
    lines.append(",,,,,,")  # a blank row: not a request, not counted
    lines.append(lines[1])  # the same request twice: skipped, with the row it repeats
    path = folder / "client_export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_import_shows_a_bar_that_reaches_its_end_and_a_result_line(
        sample_copy: Path, tmp_path: Path) -> None:
    setup = ClientSetup(str(sample_copy))
    wizard = setup.importer
    assert wizard.progress.widget.layout.display == "none"  # nothing running: no bar
    source = clients_export(tmp_path, 2500)
    wizard.upload.value = ({"name": source.name, "type": "text/csv", "size": 1,
                            "content": memoryview(source.read_bytes()),
                            "last_modified": dt.datetime(2026, 11, 28)},)
    assert wizard.progress.widget.layout.display == ""
    assert wizard.progress.result.startswith("Read 2,50")  # rows read from the file
    assert "client_export.csv" in wizard.progress.result
    told = values_of(wizard.progress.bar)
    wizard.import_button.click()
    bar = wizard.progress.bar
    assert bar.value == bar.max > 1
    assert told == sorted(told)  # never back
    assert any(0 < value < bar.max for value in told)  # it moved on the way, not in one jump
    imported = load_tracker(sample_copy).requests
    added = int(imported["auth_number"].astype("string").str.startswith("PROG-").sum())
    assert added == 2500
    assert wizard.progress.result.startswith("Imported 2,500 requests; 1 row skipped")
    assert "(see the list)" in wizard.progress.result
    assert "Imported 2500 request(s)" in wizard.report.value  # the report with its list
    assert "skipped: the same request as" in wizard.report.value


def test_a_failed_import_says_so_in_the_result_line(sample_copy: Path, tmp_path: Path) -> None:
    setup = ClientSetup(str(sample_copy))
    wizard = setup.importer
    source = clients_export(tmp_path, 3)
    wizard.load(source.read_bytes(), source.name)
    sample_copy.unlink()  # the tracker gone before Import
    wizard.import_button.click()
    assert wizard.progress.result == "Nothing was imported: see the message above."
    assert wizard.progress.bar.bar_style == "danger"
    assert "pa-error" in wizard.feedback.value


def test_the_client_report_runs_cell_by_cell_to_its_end_and_names_the_file(
        sample_copy: Path) -> None:
    dashboard = ScorecardDashboard(TrackerSession(sample_copy))
    dashboard.date_from.value = dt.date(2026, 9, 1)
    dashboard.date_to.value = dt.date(2026, 11, 30)
    told = values_of(dashboard.report_progress.bar)
    dashboard.report_button.click()
    bar = dashboard.report_progress.bar
    name = "scorecard-2026-09-01-to-2026-11-30.html"
    assert dashboard.report_progress.result == f"Report written: {name}", \
        dashboard.feedback.value
    # one step for the kernel, one per code cell of the notebook (and its injected cell)
    assert bar.max >= 3
    assert bar.value == bar.max
    assert told == sorted(told)
    assert len(set(told)) >= 3  # moved cell by cell
    link = dashboard.report_download.value
    assert f'download="{name}"' in link
    encoded = re.search(r'base64,([^"]+)"', link)
    assert encoded
    page = base64.b64decode(encoded.group(1)).decode("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "requests submitted 2026-09-01 to 2026-11-30" in page
    assert not dashboard.report_button.disabled  # ready for another


def test_a_progress_bar_never_goes_back_and_a_failure_keeps_where_it_stopped() -> None:
    progress = ProgressBar("pa-test")
    progress.start(10, "Working…")
    progress.tell(6)
    progress.tell(4)  # a later stage that counts again from fewer
    assert progress.bar.value == 6
    progress.tell(50)
    assert progress.bar.value == 10  # never past its end
    progress.start(10, "Again…")
    progress.tell(3)
    progress.finish("It failed.", "error")
    assert progress.bar.value == 3
    assert progress.result == "It failed."
