"""Business days: weekdays less federal holidays as observed and the practice's closures."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from patoolkit.calendars import BusinessCalendar

CAL = BusinessCalendar(first_year=2020, last_year=2030)


@pytest.mark.parametrize(("start", "n", "expected", "why"), [
    ("2026-11-25", 1, "2026-11-27", "Thanksgiving (Thu 2026-11-26) is skipped"),
    ("2026-07-02", 1, "2026-07-06", "Independence Day 2026 falls on Saturday: observed Fri 07-03"),
    ("2026-12-24", 1, "2026-12-28", "Christmas (Fri 2026-12-25) is skipped"),
    ("2022-12-23", 1, "2022-12-27", "Christmas 2022 is a Sunday: observed Mon 12-26"),
    ("2021-12-30", 1, "2022-01-03", "New Year 2022 is a Saturday: observed Fri 2021-12-31"),
    ("2026-11-28", 1, "2026-11-30", "a Saturday plus 1 business day is the Monday"),
    ("2026-11-27", 0, "2026-11-27", "zero business days from a business day is that day"),
    ("2026-06-18", 1, "2026-06-22", "Juneteenth 2026 falls on Friday 06-19"),
    ("2026-01-16", 1, "2026-01-20", "Martin Luther King Jr. Day, Monday 2026-01-19"),
    ("2026-11-20", 5, "2026-11-30", "five business days across Thanksgiving week"),
])
def test_add_business_days(start: str, n: int, expected: str, why: str) -> None:
    result = CAL.add_business_days(pd.Series([pd.Timestamp(start)]), n)
    assert result.iloc[0] == pd.Timestamp(expected), why


def test_closures_are_not_business_days() -> None:
    calendar = BusinessCalendar(closures=(dt.date(2026, 12, 1),), first_year=2025, last_year=2027)
    result = calendar.add_business_days(pd.Series([pd.Timestamp("2026-11-30")]), 1)
    assert result.iloc[0] == pd.Timestamp("2026-12-02")
    assert not calendar.is_business_day(pd.Series([pd.Timestamp("2026-12-01")])).iloc[0]


def test_blank_dates_stay_blank() -> None:
    dates = pd.Series([pd.Timestamp("2026-11-30"), pd.NaT])
    result = CAL.add_business_days(dates, 2)
    assert result.iloc[0] == pd.Timestamp("2026-12-02")
    assert pd.isna(result.iloc[1])
    assert pd.isna(CAL.count_business_days(dates, dates.iloc[::-1].reset_index(drop=True)).iloc[1])


def test_count_business_days_counts_the_end_not_the_start() -> None:
    start = pd.Series([pd.Timestamp("2026-11-25"), pd.Timestamp("2026-11-30")])
    end = pd.Series([pd.Timestamp("2026-11-30"), pd.Timestamp("2026-11-25")])
    # Fri 27 and Mon 30 (Thanksgiving 26th skipped); backwards is negative
    assert CAL.count_business_days(start, end).tolist() == [2, -2]


def test_for_dates_covers_the_years_it_is_given() -> None:
    calendar = BusinessCalendar.for_dates([pd.Series([pd.Timestamp("2031-07-03")])])
    # 2031-07-04 is a Friday
    result = calendar.add_business_days(pd.Series([pd.Timestamp("2031-07-03")]), 1)
    assert result.iloc[0] == pd.Timestamp("2031-07-07")


def test_pandas_holidays_agree_with_the_holidays_package() -> None:
    import holidays

    from patoolkit.calendars import federal_holidays

    years = range(1995, 2061)
    theirs = {day for day in holidays.US(years=years, observed=True) if day.weekday() < 5}
    ours = set(federal_holidays(years))
    assert {d for d in ours if d.year in years} == {d for d in theirs if d.year in years}


def test_the_tracker_calendar_has_its_closures_and_every_requests_years(tmp_path) -> None:
    from conftest import SAMPLE_TRACKER
    from patoolkit import load_tracker

    tracker = load_tracker(SAMPLE_TRACKER)
    closures = tracker.frames["Closures"]["date"].dropna()
    assert len(closures), "the sample has closures to count"
    calendar = tracker.calendar("2026-12-01")
    weekday_closures = closures[closures.dt.day_of_week < 5]
    assert not calendar.is_business_day(weekday_closures).any()
    assert calendar.federal_only().is_business_day(weekday_closures).all()
    requests = tracker.requests
    requests.loc[requests.index[0], "scheduled_service_date"] = pd.Timestamp("2033-03-01")
    assert tracker.calendar("2026-12-01").last_year >= 2033


def test_every_page_counts_with_the_tracker_calendar(tmp_path, monkeypatch) -> None:
    """Today, New request, Set-up and Denials all ask Tracker.calendar (so all see Closures)."""
    import shutil

    from conftest import SAMPLE_TRACKER
    from patoolkit import ui
    from patoolkit.tracker.read import Tracker

    path = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, path)
    asked: list[str] = []
    real = Tracker.calendar

    def spy(self: Tracker, as_of: object = None) -> BusinessCalendar:
        asked.append(page)
        return real(self, as_of)

    monkeypatch.setattr(Tracker, "calendar", spy)
    for page, build in [("today", lambda: ui.today_app(str(path), as_of="2026-12-01 09:00")),
                        ("denials", lambda: ui.denials_app(str(path), as_of="2026-12-01 09:00")),
                        ("setup", lambda: ui.setup_app(str(path)))]:
        build()
        assert page in asked, f"the {page} page counts business days without Tracker.calendar"
    page = "intake"
    form = ui.IntakeForm(ui.TrackerSession(path), today=dt.date(2026, 12, 1))
    form.inputs["payer"].value = "Summit Health Plan"
    form.inputs["plan_type"].value = "Commercial"
    assert "decision is due" in form.checks.value
    assert "intake" in asked, "New request projects the decision without Tracker.calendar"
