"""Business days: Monday to Friday, less US federal holidays as observed and practice closures.

Holidays come from pandas' maintained USFederalHolidayCalendar (5 U.S.C. 6103
as observed: a Saturday holiday on the Friday before, a Sunday holiday on the
Monday after, New Year's Day on December 31 when January 1 is a Saturday). It
is already loaded with pandas and builds decades of holidays in milliseconds;
tests/test_calendars.py checks that it agrees with the `holidays` package
year by year.
Practice closures come from the tracker's Closures sheet. Arithmetic is
numpy's vectorised busday_offset / busday_count over whole columns.

Counting convention: adding n business days to a date moves to the n-th
business day after it (a Saturday + 1 business day is Monday), and
count_business_days(start, end) counts the business days in (start, end], so
count_business_days(d, add_business_days(d, n)) == n for every date d.

Clocks: the tracker's date-times are the practice's wall-clock times, without a
zone. add_hours counts real elapsed hours in the practice's time zone (Settings
`timezone`, an IANA name), so 72 hours across the spring clock change ends an
hour later on the wall clock than it started. A wall-clock time that does not
exist (02:30 on the spring-forward night) is moved forward to the next one; one
that happens twice (01:30 in the autumn) is read as the first.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from .schema import is_missing

FIRST_YEAR, LAST_YEAR = 1990, 2100  # holidays outside these years are not needed by a tracker
DEFAULT_TIMEZONE = "America/New_York"


def practice_zone(name: object) -> ZoneInfo:
    """The practice's time zone from Settings `timezone`; the default when blank or unknown
    (check warns about an unknown name)."""
    if isinstance(name, str) and name.strip():
        try:
            return ZoneInfo(name.strip())
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(DEFAULT_TIMEZONE)


def is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_MONTHS = {name: number for number in range(1, 13)
           for name in (dt.date(2001, number, 1).strftime("%B").casefold(),
                        dt.date(2001, number, 1).strftime("%b").casefold())}


def month_day(value: object) -> int | None:
    """A month and day as month * 100 + day ('07-01', '7/1', 'July 1', '1 Jul', or a date,
    whose year is ignored): 701. None when it is not one; February 29 reads as the 28th,
    so a yearly start exists every year."""
    if is_missing(value):
        return None
    if isinstance(value, dt.date):
        month, day = value.month, value.day
    else:
        text = str(value).strip().casefold().replace(",", " ")
        iso = re.fullmatch(r"\d{4}-(\d{1,2})-(\d{1,2})(?:[ t][\d:.]*)?", text)
        numbers = re.fullmatch(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})", text)
        words = re.fullmatch(r"([a-z]+)\.?\s+(\d{1,2})|(\d{1,2})\s+([a-z]+)\.?", text)
        if iso or numbers:
            found = iso or numbers
            month, day = int(found.group(1)), int(found.group(2))  # type: ignore[union-attr]
        elif words:
            name = words.group(1) or words.group(4)
            month = _MONTHS.get(name, 0)
            day = int(words.group(2) or words.group(3))
        else:
            return None
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2024, month)[1]:
        return None
    return month * 100 + min(day, 28 if month == 2 else day)


def add_hours(stamps: pd.Series, hours: float | pd.Series, zone: ZoneInfo | str) -> pd.Series:
    """Wall-clock date-times plus real elapsed hours in the zone (NaT stays NaT)."""
    stamps = pd.to_datetime(stamps)
    # first of a repeated hour (ambiguous=True reads it as daylight time, the earlier one)
    first = np.ones(len(stamps), dtype=bool)
    local = stamps.dt.tz_localize(zone, ambiguous=first, nonexistent="shift_forward")
    delta = pd.to_timedelta(hours, unit="h") if not isinstance(hours, pd.Series) else \
        pd.to_timedelta(hours.astype("float64"), unit="h")
    moved = (local + delta).dt.tz_convert(zone).dt.tz_localize(None)
    return moved.astype("datetime64[ns]")


def federal_holidays(years: Iterable[int]) -> dict[dt.date, str]:
    """US federal holidays on the weekday they are observed, for the given years."""
    return dict(_federal_holidays(tuple(sorted(set(years)))))


@lru_cache(maxsize=32)
def _federal_holidays(chosen: tuple[int, ...]) -> tuple[tuple[dt.date, str], ...]:
    # Cached: every deadlines and worklist call builds a calendar for the same years, and
    # pandas' holiday rules take about 25 ms for them.
    from pandas.tseries.holiday import USFederalHolidayCalendar

    if not chosen:
        return ()
    days = USFederalHolidayCalendar().holidays(f"{chosen[0]}-01-01", f"{chosen[-1]}-12-31",
                                               return_name=True)
    return tuple((stamp.date(), str(name)) for stamp, name in zip(days.index, days, strict=True)
                 if stamp.year in chosen or (stamp.month == 12 and stamp.year + 1 in chosen))


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekdays less federal holidays (as observed) and the practice's closures."""

    closures: tuple[dt.date, ...] = ()
    first_year: int = 2015
    last_year: int = 2035
    holidays: np.ndarray = field(init=False, repr=False, compare=False)
    calendar: np.busdaycalendar = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        days = set(federal_holidays(range(self.first_year - 1, self.last_year + 2)))
        days.update(self.closures)
        weekday_days = sorted(day for day in days if day.weekday() < 5)
        dates = np.array(weekday_days, dtype="datetime64[D]")
        object.__setattr__(self, "holidays", dates)
        object.__setattr__(self, "calendar", np.busdaycalendar(weekmask="1111100",
                                                               holidays=dates))

    @classmethod
    def for_dates(cls, dates: Iterable[pd.Series | pd.Timestamp | dt.date | None],
                  closures: Iterable[dt.date | str | None] = ()) -> BusinessCalendar:
        """A calendar whose holiday years cover every date given (plus a margin)."""
        years: list[int] = []
        for value in dates:
            if isinstance(value, pd.Series):
                valid = value.dropna()
                if not valid.empty:
                    years += [valid.min().year, valid.max().year]
            elif value is not None and not is_missing(value):
                years.append(pd.Timestamp(value).year)
        first = max(FIRST_YEAR, min(years, default=2026) - 1)
        last = min(LAST_YEAR, max(years, default=2026) + 2)
        closure_days = tuple(sorted({pd.Timestamp(day).date() for day in closures
                                     if day is not None and not is_missing(day)}))
        return cls(closure_days, first, last)

    def federal_only(self) -> BusinessCalendar:
        """The same years without the practice's closures (for rules that name only weekends
        and federal holidays)."""
        return self if not self.closures else _federal_calendar(self.first_year, self.last_year)

    def roll_forward(self, dates: pd.Series) -> pd.Series:
        """Each date, or the next business day when it is none (NaT stays NaT)."""
        return self.add_business_days(dates, 0).where(self.is_business_day(dates),
                                                      self.add_business_days(dates, 1))

    def is_business_day(self, dates: pd.Series) -> pd.Series:
        days = _days(dates)
        valid = ~np.isnat(days)
        result = np.zeros(len(days), dtype=bool)
        result[valid] = np.is_busday(days[valid], busdaycal=self.calendar)
        return pd.Series(result, index=_index(dates))

    def add_business_days(self, dates: pd.Series, n: int | np.ndarray | pd.Series) -> pd.Series:
        """The n-th business day after each date (dates at midnight; NaT stays NaT)."""
        days = _days(dates)
        offsets = np.broadcast_to(np.asarray(n, dtype="int64"), days.shape)
        valid = ~np.isnat(days)
        result = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[D]")
        # 'backward' first rolls a weekend or holiday back to the business day before it,
        # so that Saturday + 1 is Monday (not Tuesday) and Saturday + 0 is Friday.
        result[valid] = np.busday_offset(days[valid], offsets[valid], roll="backward",
                                         busdaycal=self.calendar)
        return pd.Series(result.astype("datetime64[ns]"), index=_index(dates))

    def count_business_days(self, start: pd.Series, end: pd.Series) -> pd.Series:
        """Business days in (start, end]; when end is before start, minus those in (end, start]."""
        begin, finish = _days(start), _days(end)
        valid = ~(np.isnat(begin) | np.isnat(finish))
        counts = np.zeros(begin.shape, dtype="int64")
        one = np.timedelta64(1, "D")
        low = np.minimum(begin[valid], finish[valid]) + one
        high = np.maximum(begin[valid], finish[valid]) + one
        magnitude = np.busday_count(low, high, busdaycal=self.calendar)
        # antisymmetric: counting back from end to start gives minus the count forward
        counts[valid] = np.where(finish[valid] >= begin[valid], magnitude, -magnitude)
        return pd.Series(counts, index=_index(start)).where(valid)


@lru_cache(maxsize=8)
def _federal_calendar(first_year: int, last_year: int) -> BusinessCalendar:
    return BusinessCalendar((), first_year, last_year)


def _days(values: pd.Series | Iterable[object]) -> np.ndarray:
    series = values if isinstance(values, pd.Series) else pd.Series(list(values))
    return pd.to_datetime(series).to_numpy(dtype="datetime64[D]")


def _index(values: object) -> pd.Index | None:
    return values.index if isinstance(values, pd.Series) else None
