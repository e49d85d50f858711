"""The scorecard and claims audit dashboards, and the per-client HTML report."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from patoolkit.cli import main
from patoolkit.ui import ClaimsAuditDashboard, ScorecardDashboard, TrackerSession, scorecard_app

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    path = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE / "pa_tracker.xlsx", path)
    shutil.copy2(SAMPLE / "claims.xlsx", tmp_path / "claims.xlsx")
    return path


def downloaded(link_html: str) -> bytes:
    match = re.search(r'href="data:[^;]+;base64,([^"]+)"', link_html)
    assert match, link_html[:200]
    return base64.b64decode(match.group(1))


def tile(html: str, label: str) -> str:
    match = re.search(r"<b>([^<]*)</b><span>" + re.escape(label) + "</span>", html)
    assert match, label
    return match.group(1)


def test_scorecard_follows_the_dates_and_offers_the_xlsx(sample_copy: Path) -> None:
    dashboard = ScorecardDashboard(TrackerSession(sample_copy))
    everything = tile(dashboard.body.value, "Requests")
    assert everything == "300"
    assert dashboard.body.value.count("<svg") == 6  # every chart drawn, inline
    dashboard.date_from.value = dt.date(2026, 10, 1)
    dashboard.date_to.value = dt.date(2026, 10, 31)
    october = int(tile(dashboard.body.value, "Requests"))
    assert 0 < october < 300
    assert dashboard.card is not None
    assert dashboard.card.overall["requests"] == october
    book = openpyxl.load_workbook(io.BytesIO(downloaded(dashboard.download.value)))
    assert "Definitions" in book.sheetnames
    assert "approved_pct" in [cell.value for cell in book["Definitions"]["A"]]


def test_scorecard_explains_reversed_dates(sample_copy: Path) -> None:
    dashboard = ScorecardDashboard(TrackerSession(sample_copy))
    dashboard.date_from.value = dt.date(2026, 12, 1)
    dashboard.date_to.value = dt.date(2026, 11, 1)
    assert "swap them" in dashboard.feedback.value


def test_report_mode_is_static_html(sample_copy: Path) -> None:
    page = scorecard_app(str(sample_copy), "2026-09-01", None, report=True)
    text = page.data  # type: ignore[attr-defined]
    assert "Maplewood Family Medicine (synthetic)" in text
    assert "requests submitted 2026-09-01" in text
    assert "Definitions" in text


def test_claims_audit_groups_findings_with_their_fix(sample_copy: Path) -> None:
    dashboard = ClaimsAuditDashboard(TrackerSession(sample_copy))
    names = [label for label, _ in dashboard.choice.options]
    assert "claims.xlsx" in names  # found beside the tracker
    dashboard.choice.value = str(sample_copy.parent / "claims.xlsx")
    groups = dashboard.groups.value
    for code in ("MISSING_AUTH", "AUTH_AVAILABLE_NOT_ON_CLAIM", "AUTH_NOT_FOUND",
                 "OUTSIDE_DATES", "UNITS_EXCEEDED"):
        assert f"pa-finding-{code}" in groups
    assert "CMS-1500 box 23" in groups
    assert "30</b> clean" in dashboard.summary.value
    book = openpyxl.load_workbook(io.BytesIO(downloaded(dashboard.download.value)))
    assert book["Findings"].max_row == 3 + 15  # title, blank, heading, then 15 findings


def test_claims_audit_upload_and_a_bad_file(sample_copy: Path) -> None:
    dashboard = ClaimsAuditDashboard(TrackerSession(sample_copy))
    data = b"claim_id,patient_id,payer,date_of_service,codes,units,auth_number\n" \
           b"C-1,P000001,Summit Health Plan,2026-10-01,99213,1,\n"
    dashboard.upload.value = ({"name": "export.csv", "type": "text/csv", "size": len(data),
                               "content": memoryview(data),
                               "last_modified": dt.datetime(2026, 11, 28)},)
    assert "Every claim is clean" in dashboard.groups.value
    dashboard.audit_bytes(data.replace(b"C-1,", b","), "unnamed.csv")
    assert "1 warning(s)" in dashboard.feedback.value
    assert "could not be read" not in dashboard.feedback.value  # a blank claim ID is read
    dashboard.audit_bytes(b"just,some,columns\n1,2,3\n", "other.csv")
    assert "no column for" in dashboard.feedback.value
    assert "Traceback" not in dashboard.feedback.value


def test_report_command_writes_one_self_contained_page(sample_copy: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(sample_copy), "--from", "2026-09-01", "--to", "2026-11-30",
                 "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "requests submitted 2026-09-01 to 2026-11-30" in page
    assert page.count("<svg") == 6
    assert "from patoolkit" not in page  # no code cells
    assert "scorecard_app(" not in page
    assert not re.search(r"""(src|href)=["']https?://""", page)  # nothing fetched from outside
    for name in ("Specimen", "Placeholder, "):  # synthetic patient surnames stay out
        assert name not in page
    assert main(["report", str(sample_copy), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_report_refuses_a_bad_out_or_date_before_running_the_notebook(
        sample_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import patoolkit.report

    ran: list[object] = []
    monkeypatch.setattr(patoolkit.report, "run_scorecard", lambda *args: ran.append(args))
    assert main(["report", str(sample_copy), "--out", str(tmp_path / "no" / "r.html")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["report", str(sample_copy), "--out", str(tmp_path / "r.pdf")]) == 2
    assert "must be a .html file" in capsys.readouterr().err
    assert main(["report", str(sample_copy), "--from", "Nov 31", "--out",
                 str(tmp_path / "r.html")]) == 2
    assert "--from 'Nov 31' is not a local date" in capsys.readouterr().err
    assert ran == []  # none of these ran the notebook


def test_scorecard_shows_the_cms_0057_f_measures(sample_copy: Path) -> None:
    """Issue 15: approved after an extension, mean and median time to decision, standard and
    expedited apart, in their own section with their definitions."""
    from patoolkit.metrics import CMS_GROUP, METRICS

    dashboard = ScorecardDashboard(TrackerSession(sample_copy))
    page = dashboard.body.value
    section = page.split("CMS-0057-F public-reporting measures", 1)[1].split("<h3>", 1)[0]
    names = [metric.name for metric in METRICS if metric.group == CMS_GROUP]
    assert {"approved_after_extension_pct", "median_hours_to_decision_expedited"} <= set(names)
    for name in names:
        assert name in section, name
    assert dashboard.card is not None
    assert dashboard.card.overall["median_hours_to_decision_standard"] > 0
