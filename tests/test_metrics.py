"""Metrics: every number of a small fixture worked out by hand, numerator over denominator."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from patoolkit.calendars import BusinessCalendar
from patoolkit.cli import main
from patoolkit.deadlines import compute_deadlines
from patoolkit.metrics import METRIC_NAMES, METRICS, definitions, scorecard
from patoolkit.tracker.read import typed_frame

NOW = pd.Timestamp("2026-11-28 09:00")
CALENDAR = BusinessCalendar(first_year=2025, last_year=2027)
PAYERS = typed_frame("Payers", [
    {"payer": "Summit Health Plan", "plan_type": "Commercial"},
    {"payer": "Lakeshore Medicare Advantage", "plan_type": "Medicare Advantage"},
])
SUMMIT = {"payer": "Summit Health Plan", "plan_type": "Commercial", "urgency": "Standard",
          "service_category": "Advanced Imaging"}
LAKESHORE = {"payer": "Lakeshore Medicare Advantage", "plan_type": "Medicare Advantage",
             "urgency": "Standard", "service_category": "Surgery/Procedure"}
REQUESTS = [
    # R1: approved in 4 days after a 15-day extension, first pass, checked before the
    # service, auth recorded
    {**SUMMIT, "request_id": "R1", "submitted_at": "2026-10-01", "extension_days": 15,
     "decision": "Approved",
     "decision_date": "2026-10-05", "auth_number": "A1", "requirement_checked_date":
     "2026-09-28", "scheduled_service_date": "2026-10-20", "docs_complete": "Yes",
     "channel": "Portal"},
    # R2: information requested and answered in 12 hours; denied in 8 days; P2P the same day,
    # overturned; checked after the service date
    {**SUMMIT, "request_id": "R2", "submitted_at": "2026-10-02",
     "info_requested_at": "2026-10-05 09:00", "info_responded_at": "2026-10-05 21:00",
     "decision": "Denied", "decision_date": "2026-10-10",
     "denial_reason": "Not medically necessary", "p2p_requested_date": "2026-10-10",
     "p2p_date": "2026-10-14", "p2p_outcome": "Overturned", "scheduled_service_date":
     "2026-10-30", "requirement_checked_date": "2026-11-01", "docs_complete": "Yes",
     "channel": "Fax"},
    # R3: Medicare Advantage, due Oct 8 (7 days), denied Oct 12: late; appeal upheld
    {**LAKESHORE, "request_id": "R3", "submitted_at": "2026-10-01", "decision": "Denied",
     "decision_date": "2026-10-12", "denial_reason": "Not medically necessary",
     "appeal_submitted_date": "2026-10-20", "appeal_outcome": "Upheld",
     "docs_complete": "No", "channel": "Portal"},
    # R4: expedited, due Oct 6 08:00, approved Oct 4 (in time); no auth number recorded
    {**LAKESHORE, "request_id": "R4", "urgency": "Expedited",
     "submitted_at": "2026-10-03 08:00", "decision": "Approved", "decision_date": "2026-10-04",
     "docs_complete": "Yes", "channel": "FHIR API"},
    # R5: expedited, due Oct 6 08:00, partially approved Oct 7: late
    {**LAKESHORE, "request_id": "R5", "urgency": "Expedited",
     "submitted_at": "2026-10-03 08:00", "decision": "Partially Approved",
     "decision_date": "2026-10-07", "auth_number": "A5", "docs_complete": "Yes",
     "channel": "Portal"},
    # R6: pending, information requested, no answer yet
    {**SUMMIT, "request_id": "R6", "submitted_at": "2026-10-15",
     "info_requested_at": "2026-10-20 10:00", "docs_complete": "Yes",
     "channel": "Clearinghouse"},
    # R7: not submitted; requirement checked before the service
    {**SUMMIT, "request_id": "R7", "status": "Documentation",
     "scheduled_service_date": "2026-11-10", "requirement_checked_date": "2026-11-01"},
    # R8: submitted in November, denied next day, not contested
    {**LAKESHORE, "request_id": "R8", "submitted_at": "2026-11-05", "decision": "Denied",
     "decision_date": "2026-11-06", "denial_reason": "Out-of-network provider",
     "docs_complete": "Yes", "channel": "Portal"},
]


def card(date_from: dt.date | None = None, date_to: dt.date | None = None):  # type: ignore[no-untyped-def]
    requests = typed_frame("Requests", REQUESTS)
    deadlines = compute_deadlines(requests, PAYERS, {}, CALENDAR, NOW)
    return scorecard(requests, deadlines, date_from, date_to)


# (metric, numerator / denominator written out, expected)
OVERALL = [
    ("requests", "all 8 (no dates given)", 8),
    ("submitted", "R1-R6, R8", 7),
    ("decided", "R1, R2, R3, R4, R5, R8", 6),
    ("denials", "R2, R3, R8", 3),
    ("approved_pct", "R1, R4, R5 / 6 decided", 50.0),
    ("denied_pct", "R2, R3, R8 / 6", 50.0),
    ("approved_pct_standard", "R1 / R1, R2, R3, R8", 25.0),
    ("denied_pct_standard", "R2, R3, R8 / 4", 75.0),
    ("approved_pct_expedited", "R4, R5 / R4, R5", 100.0),
    ("denied_pct_expedited", "0 / 2", 0.0),
    ("approved_after_appeal_pct", "R2 (P2P overturned) / 6 decided", 16.7),
    ("first_pass_approval_pct", "R1, R4, R5 / 6", 50.0),
    ("median_days_to_decision", "median of 4, 8, 11, 1, 4, 1", 4.0),
    ("mean_days_to_decision", "29 / 6", 4.8),
    ("median_days_to_decision_standard", "median of 4, 8, 11, 1", 6.0),
    ("mean_days_to_decision_standard", "24 / 4", 6.0),
    ("median_days_to_decision_expedited", "median of 1, 4", 2.5),
    ("mean_days_to_decision_expedited", "5 / 2", 2.5),
    ("late_decisions", "R3 (due Oct 8, decided Oct 12), R5 (due Oct 6 08:00, decided Oct 7)", 2),
    ("late_pct", "2 / 6 decided with a due date", 33.3),
    ("info_request_pct", "R2, R6 / 7 submitted", 28.6),
    ("appeal_rate_pct", "R2 (P2P), R3 (appeal) / 3 denials", 66.7),
    ("overturn_rate_pct", "R2 / R2, R3", 50.0),
    ("p2p_overturn_rate_pct", "R2 / R2", 100.0),
    ("appeal_overturn_rate_pct", "0 / R3", 0.0),
    ("requirement_checked_pct", "R1, R7 / R1, R2, R7 (with a service date)", 66.7),
    ("submitted_complete_pct", "R1, R2, R4, R5, R6, R8 / 7 submitted", 85.7),
    ("submitted_electronically_pct", "6 (all but R2's fax) / 7 with a channel", 85.7),
    ("median_hours_to_answer_info", "R2: 09:00 to 21:00", 12.0),
    ("p2p_in_window_pct", "R2 (Oct 10, window to Oct 24) / R2", 100.0),
    ("p2p_same_day_pct", "R2 / R2", 100.0),
    ("auth_number_recorded_pct", "R1, R5 / R1, R4, R5", 66.7),
    ("standard_timeframe_days", "median of 15, 15, 7, 15, 7", 15.0),
    # CMS-0057-F public-reporting measures (a date-only decision counts at the end of its day,
    # 23:59:59, rounded to one decimal)
    ("approved_after_extension_pct", "R1 (extension_days 15) / 6 decided", 16.7),
    ("mean_hours_to_decision_standard",
     "R1 10-01 00:00 to 10-05 end 120, R2 216, R3 288, R8 48: 672 / 4", 168.0),
    ("median_hours_to_decision_standard", "median of 48, 120, 216, 288", 168.0),
    ("mean_hours_to_decision_expedited",
     "R4 10-03 08:00 to 10-04 end 40, R5 to 10-07 end 112: 152 / 2", 76.0),
    ("median_hours_to_decision_expedited", "median of 40, 112", 76.0),
]


def test_the_fixture_covers_every_metric() -> None:
    assert {name for name, _, _ in OVERALL} == set(METRIC_NAMES)


@pytest.mark.parametrize(("metric", "worked", "expected"), OVERALL)
def test_overall_metric(metric: str, worked: str, expected: float) -> None:
    assert card().as_json()["overall"][metric] == expected, worked


def test_population_is_the_submission_dates_inclusive() -> None:
    october = card(dt.date(2026, 10, 1), dt.date(2026, 10, 31)).as_json()["overall"]
    assert october["requests"] == 6  # R1-R6: R7 unsent, R8 in November
    assert october["decided"] == 5
    assert october["approved_pct"] == 60.0  # R1, R4, R5 / 5
    one_day = card(dt.date(2026, 10, 3), dt.date(2026, 10, 3)).as_json()["overall"]
    assert one_day["requests"] == 2  # R4 and R5, sent at 08:00 that day


def test_by_payer_and_by_category() -> None:
    document = card().as_json()
    summit = next(p for p in document["by_payer"] if p["payer"] == "Summit Health Plan")
    lakeshore = next(p for p in document["by_payer"]
                     if p["payer"] == "Lakeshore Medicare Advantage")
    assert (summit["requests"], summit["decided"], summit["approved_pct"]) == (4, 2, 50.0)
    assert summit["standard_timeframe_days"] == 15.0  # 29 CFR 2560.503-1(f)(2)
    assert lakeshore["standard_timeframe_days"] == 7.0  # CMS-0057-F
    assert (lakeshore["late_decisions"], lakeshore["late_pct"]) == (2, 50.0)  # R3, R5 / 4
    assert lakeshore["appeal_rate_pct"] == 50.0  # R3 / R3, R8
    assert summit["late_pct"] == 0.0
    categories = {c["service_category"]: c for c in document["by_service_category"]}
    assert categories["Advanced Imaging"]["requests"] == 4


def test_zero_denominators_are_null_not_zero() -> None:
    document = card(dt.date(2026, 11, 1), dt.date(2026, 11, 30)).as_json()  # only R8
    overall = document["overall"]
    assert overall["approved_pct_expedited"] is None  # no expedited request decided
    assert overall["overturn_rate_pct"] is None  # no denial contested
    assert overall["median_hours_to_answer_info"] is None
    assert overall["denied_pct"] == 100.0


def test_denial_reasons_ranked_with_payer_and_category() -> None:
    reasons = card().as_json()["denial_reasons"]
    assert [(r["denial_reason"], r["count"], r["pct_of_denials"]) for r in reasons] == [
        ("Not medically necessary", 2, 66.7), ("Out-of-network provider", 1, 33.3)]
    assert reasons[0]["by_payer"] == {"Lakeshore Medicare Advantage": 1, "Summit Health Plan": 1}
    assert reasons[1]["by_service_category"] == {"Surgery/Procedure": 1}


def test_every_metric_is_defined() -> None:
    table = definitions()
    assert list(table["metric"]) == [m.name for m in METRICS]
    assert table["definition"].str.len().min() > 20


def test_cli_json_table_and_xlsx(small_tracker: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", str(small_tracker), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) >= {"overall", "by_payer", "by_service_category", "denial_reasons"}
    assert document["overall"]["requests"] == 3
    assert main(["metrics", str(small_tracker)]) == 0
    assert "approved_pct" in capsys.readouterr().out
    out = tmp_path / "scorecard.xlsx"
    assert main(["metrics", str(small_tracker), "--format", "xlsx", "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:3] == ["Charts", "Overall", "By payer"]
    assert "Definitions" in book.sheetnames
    with zipfile.ZipFile(out) as archive:  # native Excel charts, one per picture
        charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
    assert len(charts) == 6
    assert main(["metrics", str(small_tracker), "--format", "xlsx", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["metrics", str(small_tracker), "--from", "2026-12-01", "--to",
                 "2026-11-01"]) == 2
    assert "swap them" in capsys.readouterr().err


def test_docs_define_every_metric_as_the_code_does() -> None:
    from patoolkit.metrics import definitions_markdown

    docs = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
    assert docs.read_text(encoding="utf-8") == definitions_markdown(), \
        "docs/metrics.md is stale: python -m patoolkit.metrics > docs/metrics.md"


def test_a_decision_on_the_last_day_of_a_day_count_is_on_time() -> None:
    """CONTRACT section 2 (issue 15): 7 calendar days from 2026-03-02 10:00 end 2026-03-09
    23:59:59, so an answer at 15:00 on day 7 is on time (it was counted late before)."""
    requests = typed_frame("Requests", [
        {**LAKESHORE, "request_id": "ON", "submitted_at": "2026-03-02 10:00",
         "decision": "Approved", "decision_date": "2026-03-09 15:00"},
        {**LAKESHORE, "request_id": "LATE", "submitted_at": "2026-03-02 10:00",
         "decision": "Approved", "decision_date": "2026-03-10 00:30"},
    ])
    deadlines = compute_deadlines(requests, PAYERS, {}, CALENDAR, NOW)
    overall = scorecard(requests, deadlines).as_json()["overall"]
    assert overall["late_decisions"] == 1
