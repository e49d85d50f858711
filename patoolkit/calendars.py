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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FIRST_YEAR, LAST_YEAR = 1990, 2100  # holidays outside these years are not needed by a tracker


def federal_holidays(years: Iterable[int]) -> dict[dt.date, str]:
    """US federal holidays on the weekday they are observed, for the given years."""
    from pandas.tseries.holiday import USFederalHolidayCalendar

    chosen = sorted(set(years))
    if not chosen:
        return {}
    days = USFederalHolidayCalendar().holidays(f"{chosen[0]}-01-01", f"{chosen[-1]}-12-31",
                                               return_name=True)
    return {stamp.date(): str(name) for stamp, name in days.items()
            if stamp.year in chosen or (stamp.month == 12 and stamp.year + 1 in chosen)}


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
                  closures: Iterable[object] = ()) -> BusinessCalendar:
        """A calendar whose holiday years cover every date given (plus a margin)."""
        years: list[int] = []
        for value in dates:
            if isinstance(value, pd.Series):
                valid = value.dropna()
                if not valid.empty:
                    years += [valid.min().year, valid.max().year]
            elif value is not None and not pd.isna(value):
                years.append(pd.Timestamp(value).year)
        first = max(FIRST_YEAR, min(years, default=2026) - 1)
        last = min(LAST_YEAR, max(years, default=2026) + 2)
        closure_days = tuple(sorted({pd.Timestamp(day).date() for day in closures
                                     if day is not None and not pd.isna(day)}))
        return cls(closure_days, first, last)

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


def _days(values: pd.Series | Iterable[object]) -> np.ndarray:
    series = values if isinstance(values, pd.Series) else pd.Series(list(values))
    return pd.to_datetime(series).to_numpy(dtype="datetime64[D]")


def _index(values: object) -> pd.Index | None:
    return values.index if isinstance(values, pd.Series) else None
