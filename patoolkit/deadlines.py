"""Every deadline of every request, with its basis (CONTRACT section 2).

Column-wise over the whole Requests frame: the rules are looped over (the rows
of timeframes.TIMEFRAMES), the requests never are.

Time conventions (the contract's, made precise):
- A period counted in days ends at the end of its last day (23:59:59), whatever
  the time it started: 7 calendar days from 2026-03-02 10:00 end 2026-03-09
  23:59:59. Business days are counted on the practice's calendar (federal
  holidays as observed and the Closures sheet).
- A period counted in hours ends at that exact hour, counted in real elapsed
  hours in the practice's time zone (Settings `timezone`), so 72 hours across
  a clock change is 72 real hours (calendars.add_hours).
- For a payer's hour-counted clock, a date with no time (a value at exactly
  00:00) counts from the END of that day, so a payer is never called late by
  mistake. For the practice's own hour-counted targets (answering an
  information request in 24 hours) it counts from the START of that day.
- An extension counted in days moves the due date by whole days and ends at
  the end of that day. A Commercial or QHP information request stops a
  standard clock for the days from the date asked to the date answered
  (29 CFR 2560.503-1(f)(4) counts it in dates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa

from . import statuses
from .calendars import BusinessCalendar, add_hours, month_day, practice_zone
from .completeness import GAPS
from .schema import CLOSED_STATUSES, LISTS
from .statuses import DENIALS
from .timeframes import (
    BUSINESS_DAYS,
    DAYS,
    DRUGS,
    EXPEDITED,
    HOURS,
    ITEMS,
    MONTHS,
    STANDARD,
    TARGETS,
    TOLLING_CITATION,
    TOLLING_PLAN_TYPES,
    Timeframe,
    practice_targets,
    rows_for,
)

if TYPE_CHECKING:
    from .tracker.read import Tracker

DEADLINES = (
    "decision_due",
    "info_response_due",
    "next_status_check",
    "at_risk",
    "p2p_window_closes",
    "appeal_target",
    "appeal_filing_deadline",
    "appeal_decision_due",
    "external_review_deadline",
    "state_fair_hearing_deadline",
    "renewal_due",
    "low_units",
)
FLAGS = ("at_risk", "low_units")
DATE_DEADLINES = tuple(name for name in DEADLINES if name not in FLAGS)

# Statuses in which nobody is waiting for a first decision any more.
FINISHED = ("Approved", "Partially Approved", "Denied", "P2P Requested", "Appeal Submitted",
            "External Review", "Overturned", "Upheld", "Withdrawn", "Expired", "Closed")
INACTIVE = CLOSED_STATUSES
END_OF_DAY = pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
PLAN_TYPE_BLANK = next(gap.words() for gap in GAPS if gap.column == "plan_type")
# Payers-sheet columns read per request. A lead column brings the columns that qualify it
# from the same Payers row (a plan's business-day count is not another row's day count).
OVERRIDE_GROUPS: dict[str, tuple[str, ...]] = {
    "standard_decision_days": ("decision_days_are", "override_from", "override_to"),
    "expedited_decision_hours": ("override_from", "override_to"),
    "rating_period_start": (),
    "p2p_window_days": (),
    "appeal_filing_days": (),
    "external_review_days": (),
}
OVERRIDES = tuple(OVERRIDE_GROUPS)
_BLANK = "\x00blank"  # the key of a blank payer or plan type: no real name is this
DEFAULT_RATING_PERIOD_START = 101  # January 1, as month * 100 + day
J_CODES = r"\s*J\d{4}\s*(?:[,;]\s*J\d{4}\s*)*[,;]?\s*"


# What a Payers-sheet number of days allows, in the basis (its column -> the words after it)
PAYERS_DAYS_WORDS = {
    "p2p_window_days": "for peer-to-peer",
    "appeal_filing_days": "to file an appeal",
    "external_review_days": "to request external review",
}


def payers_sheet_allows(payer_name: str, days: object, column: str | None) -> str | None:
    """The basis of a Payers-sheet number of days (column: the sheet's column)."""
    if column is None:
        return None
    return _joined("Payers sheet: ", payer_name, " allows ", _number(days), " days ",
                   PAYERS_DAYS_WORDS[column])


def _key(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.casefold()


def override_columns() -> list[str]:
    """The columns payer_overrides returns: each lead, then '<lead>:<companion>'."""
    return [name for lead, companions in OVERRIDE_GROUPS.items()
            for name in (lead, *(f"{lead}:{companion}" for companion in companions))]


def _payers_table(payers: pd.DataFrame) -> pd.DataFrame:
    """The Payers sheet with every override column, rating_period_start as month * 100 + day."""
    table = payers.copy()
    for lead, companions in OVERRIDE_GROUPS.items():
        for column in (lead, *companions):
            if column not in table.columns:
                table[column] = pd.NA
    starts = table["rating_period_start"]
    distinct = {value: month_day(value) for value in starts.dropna().unique()}
    table["rating_period_start"] = pd.array(
        [distinct.get(value) if not pd.isna(value) else None for value in starts],
        dtype="Float64")
    return table


def payer_overrides(requests: pd.DataFrame, payers: pd.DataFrame) -> pd.DataFrame:
    """Per request, the Payers-sheet override values (a plan-specific row wins).

    Worked out once per distinct (payer, plan type) pair, then spread to the rows.
    Columns: override_columns() (companions named '<lead>:<companion>').
    """
    columns = override_columns()
    table = _payers_table(payers)
    if table.empty or table[list(OVERRIDES)].isna().all().all():
        return _typed_overrides(pd.DataFrame(index=requests.index, columns=columns,
                                             dtype=object))
    payer_codes, payer_names = pd.factorize(requests["payer"], use_na_sentinel=False)
    plan_codes, plan_names = pd.factorize(requests["plan_type"], use_na_sentinel=False)
    pair_codes = payer_codes.astype("int64") * (len(plan_names) + 1) + plan_codes
    _, first, codes = np.unique(pair_codes, return_index=True, return_inverse=True)
    # The Payers sheet has a few rows and the pairs are few: matched in plain Python.
    # A blank payer or plan type is a key of its own (as a merge would match it).
    key_payer = _key(pd.Series(np.asarray(payer_names, dtype=object)[payer_codes[first]],
                               dtype="string")).fillna(_BLANK).tolist()
    key_plan = pd.Series(np.asarray(plan_names, dtype=object)[plan_codes[first]],
                         dtype="string").fillna(_BLANK).tolist()
    row_payer = _key(table["payer"]).fillna(_BLANK).tolist()
    row_plan = table["plan_type"].astype("string").fillna(_BLANK).tolist()
    found: dict[str, list[object]] = {column: [np.nan] * len(first) for column in columns}
    for lead, companions in OVERRIDE_GROUPS.items():
        given = table[lead].notna().tolist()
        # Most specific first: same payer and plan type; then the payer's row with no plan
        # type (the upper row of each). A row for another plan type never applies (a
        # Commercial window is not a Medicare one).
        specific: dict[tuple[str, str], int] = {}
        general: dict[str, int] = {}
        for position, (payer, plan) in enumerate(zip(row_payer, row_plan, strict=True)):
            if not given[position]:
                continue
            if plan != _BLANK:
                specific.setdefault((payer, plan), position)
            else:
                general.setdefault(payer, position)
        if not specific and not general:
            continue
        values = {column: table[column].astype(object).tolist() for column in (lead, *companions)}
        for pair, (payer, plan) in enumerate(zip(key_payer, key_plan, strict=True)):
            source = specific.get((payer, plan), general.get(payer))
            if source is None:
                continue
            for column in (lead, *companions):
                target = lead if column == lead else f"{lead}:{column}"
                found[target][pair] = values[column][source]
    # typed on the few (payer, plan type) pairs, then spread to the requests
    typed = _typed_overrides(pd.DataFrame(found, columns=columns, dtype=object))
    return typed.iloc[codes].set_axis(requests.index)


def _typed_overrides(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if column.endswith(("_from", "_to")):
            frame[column] = pd.to_datetime(frame[column])
        elif column.endswith("decision_days_are"):
            frame[column] = frame[column].astype("string")
        else:
            frame[column] = pd.to_numeric(frame[column]).astype("Float64")
    return frame


def drug_requests(requests: pd.DataFrame,
                  drug_categories: Sequence[str] = LISTS["drug_category"]) -> pd.Series:
    """Drug requests: a drug service category (the Lists sheet's Drug Category), or codes
    that are all HCPCS J codes (CONTRACT section 2)."""
    wanted = {str(category).strip().casefold() for category in drug_categories}
    category = _per_distinct(requests["service_category"], lambda names: _key(names).isin(wanted))
    j_codes = _per_distinct(requests["codes"], lambda codes: codes.astype("string").str.fullmatch(
        J_CODES, case=False))
    return pd.Series(category | j_codes, index=requests.index)


def _per_distinct(values: pd.Series, test: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """test, a yes or no per value, worked out once per distinct value and spread to the
    rows (a few dozen code cells and categories, not one regex match per request); a blank
    is no."""
    codes, distinct = pd.factorize(values)
    answers = test(pd.Series(distinct)).fillna(False).to_numpy(dtype=bool)
    return np.append(answers, False)[codes]


def _end_of_day_if_date_only(stamps: pd.Series) -> pd.Series:
    date_only = stamps.notna() & (stamps == stamps.dt.normalize())
    return stamps.where(~date_only, stamps + END_OF_DAY)


def _end_of_day(stamps: pd.Series) -> pd.Series:
    return stamps.dt.normalize() + END_OF_DAY


def _text(values: pd.Series) -> pd.Series:
    """Whole numbers without '.0' and dates without times, for basis sentences."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype("string")
    return values.astype("Float64").round(0).astype("Int64").astype("string")


def _number(value: object) -> str | None:
    """One value as _text writes it (a whole number; half to even); None for a blank."""
    return None if value is None else str(round(float(value)))  # type: ignore[arg-type]


def _date(value: object) -> str | None:
    """One date as _text writes it; None for a blank."""
    return None if value is None else value.strftime("%Y-%m-%d")  # type: ignore[attr-defined]


def _joined(*parts: str | None) -> str | None:
    """The parts as one sentence; None when one is blank (as a blank in pandas text is)."""
    return None if any(part is None for part in parts) else "".join(parts)  # type: ignore[arg-type]


def _days(amount: pd.Series | int | float) -> pd.Series | pd.Timedelta:
    if isinstance(amount, pd.Series):
        return pd.to_timedelta(amount.astype("float64"), unit="D")
    return pd.Timedelta(days=float(amount))


def _no_dates(size: int) -> np.ndarray:
    return np.full(size, np.datetime64("NaT"), dtype="datetime64[ns]")


class Sentences:
    """A column of basis sentences, kept as codes into its distinct sentences.

    Most requests share their sentence with thousands of others (the same rule, payer,
    extension or date), so a sentence is written once per distinct case, in Python, and
    the column of text is made once, at the end (`series`): building pandas text column by
    column and row by row was most of the time of compute_deadlines.
    """

    def __init__(self, size: int, codes: np.ndarray | None = None,
                 words: list[str] | None = None):
        self.codes = np.full(size, -1, dtype=np.int64) if codes is None else codes
        self.words: list[str] = [] if words is None else words
        self._known = {word: code for code, word in enumerate(self.words)}

    def code(self, word: str | None) -> int:
        """The code of a sentence (-1: none), added when new."""
        if word is None:
            return -1
        code = self._known.get(word)
        if code is None:
            code = self._known[word] = len(self.words)
            self.words.append(word)
        return code

    def set(self, mask: np.ndarray, word: str | None) -> None:
        self.codes[mask] = self.code(word)

    def clear(self, mask: np.ndarray) -> None:
        self.codes[mask] = -1

    def update(self, mask: np.ndarray, make: Callable[..., str | None],
               *values: pd.Series | np.ndarray) -> None:
        """For the rows in mask: make(their sentence, *their values), None for a blank,
        called once per distinct combination of sentence and values."""
        rows = np.flatnonzero(mask)
        if not len(rows):
            return
        combined = self.codes[rows] + 1
        choices: list[Sequence[object]] = [[None, *self.words]]
        parts = [combined]
        for value in values:
            codes, distinct = pd.factorize(value.iloc[rows] if isinstance(value, pd.Series)
                                           else value[rows])
            choices.append([None, *distinct])
            parts.append(codes + 1)
            combined = pd.factorize(combined * (len(distinct) + 1) + codes + 1)[0]
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
        made = np.array([self.code(make(*(choice[part[position]]
                                          for choice, part in zip(choices, parts, strict=True))))
                         for position in first], dtype=np.int64)
        self.codes[rows] = made[inverse]

    def values(self) -> np.ndarray:
        """The sentence of each row as an object array (None: none)."""
        return np.array([*self.words, None], dtype=object)[self.codes]

    def series(self, index: pd.Index) -> pd.Series:
        """The column as pandas text (NA: none), taken from the distinct sentences."""
        words = pa.array(self.words, type=pa.large_string())
        taken = words.take(pa.array(self.codes, mask=self.codes < 0))
        return pd.Series(pd.arrays.ArrowStringArray(taken), index=index).astype("string")


class Clock:
    """Adds a period to start date-times on the practice's calendar and in its time zone."""

    def __init__(self, calendar: BusinessCalendar, zone: ZoneInfo):
        self.calendar = calendar
        self.zone = zone

    def add(self, start: pd.Series, amount: pd.Series | int | float, unit: str) -> pd.Series:
        """start + amount units: days end at 23:59:59 of the last day; hours at the hour,
        counted from the end of a date given without a time (a payer's clock)."""
        if unit == DAYS:
            return _end_of_day(start) + _days(amount)
        if unit == BUSINESS_DAYS:
            steps = amount.astype("float64").fillna(0).astype("int64").to_numpy() \
                if isinstance(amount, pd.Series) else int(amount)
            return self.calendar.add_business_days(start, steps) + END_OF_DAY
        if unit == HOURS:
            return add_hours(_end_of_day_if_date_only(start), amount, self.zone)
        if unit == MONTHS:
            return self.add_months(start, int(amount))  # type: ignore[arg-type]
        raise ValueError(f"unknown unit {unit!r}")

    def add_months(self, start: pd.Series, months: int) -> pd.Series:
        """months later; no such day in that month: the 1st of the next month; a weekend or
        federal holiday: the next business day (closures do not move it); end of that day."""
        day = start.dt.normalize()
        later = day + pd.DateOffset(months=months)
        clamped = (later.dt.day != day.dt.day).fillna(False)  # Oct 31 + 4 months = Feb 28
        later = later.where(~clamped, later + pd.Timedelta(days=1))
        return self.calendar.federal_only().roll_forward(later) + END_OF_DAY


class Rules:
    """Which TIMEFRAMES row times a deadline for each request, and its basis sentence.

    Row numbers, amounts and masks are numpy arrays over the requests, in their order.
    """

    def __init__(self, requests: pd.DataFrame, drug: pd.Series):
        index = requests.index
        self.index = index
        self.plan = requests["plan_type"].astype("string")
        urgency = requests["urgency"].astype("string").fillna(STANDARD)
        self.urgency = urgency
        # small integer codes, looked up in a per-rule table of booleans: no string compares
        self.plan_codes, plan_names = pd.factorize(self.plan.fillna(""))
        self.plan_names = list(plan_names)
        self.urgency_codes, urgency_names = pd.factorize(urgency)
        self.urgency_names = list(urgency_names)
        self.drug = drug.to_numpy(dtype=bool)

    def of_plans(self, plan_types: Sequence[str]) -> np.ndarray:
        """Requests whose plan type is one of plan_types."""
        return np.array([name in plan_types for name in self.plan_names] + [False]
                        )[self.plan_codes]

    def matches(self, row: Timeframe) -> np.ndarray:
        """Requests of the row's plan types, urgency and kind of request (dates aside)."""
        urgencies = np.array([name in row.urgencies() for name in self.urgency_names] + [False])
        kinds = row.kinds()
        kind = self.drug if kinds == (DRUGS,) else ~self.drug if kinds == (ITEMS,) \
            else np.ones(len(self.drug), dtype=bool)
        return self.of_plans(row.plan_types) & urgencies[self.urgency_codes] & kind

    def choose(self, deadline: str, on: pd.Series, rating_on: pd.Series | None = None
               ) -> tuple[np.ndarray, Sentences]:
        """(row number into the deadline's rows or -1, basis) per request, by the date on."""
        rows = rows_for(deadline)
        chosen = np.full(len(self.index), -1, dtype=np.int64)
        basis = Sentences(len(self.index))
        dates = on.to_numpy(dtype="datetime64[ns]")
        rating_dates = rating_on.to_numpy(dtype="datetime64[ns]") if rating_on is not None \
            else dates
        for number, row in enumerate(rows):
            when = rating_dates if row.dated_by == "rating period" else dates
            applies = self.matches(row) & (chosen < 0)
            if row.effective_from is not None:  # NaT compares False, as in pandas
                applies &= when >= np.datetime64(row.effective_from, "ns")
            if row.effective_to is not None:
                applies &= when <= np.datetime64(row.effective_to, "ns")
            if not applies.any():
                continue
            chosen[applies] = number
            for plan_type in row.plan_types:
                if plan_type in self.plan_names:
                    basis.set(applies & (self.plan_codes == self.plan_names.index(plan_type)),
                              row.words(plan_type))
        return chosen, basis

    @staticmethod
    def amounts(deadline: str, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(amount, unit) per request of the chosen rows (NaN / '' where none)."""
        rows = rows_for(deadline)
        amount = np.array([np.nan if row.amount is None else row.amount for row in rows] + [np.nan])
        unit = np.array([row.unit for row in rows] + [""], dtype=object)
        return amount[chosen], unit[chosen]  # -1 picks the appended blank

    def apply(self, deadline: str, chosen: np.ndarray, start: pd.Series, clock: Clock
              ) -> np.ndarray:
        """The due date-time of each request under its chosen row (NaT where none).

        One clock call per unit, not per row: the amounts are spread as a column."""
        rows = rows_for(deadline)
        due = _no_dates(len(self.index))
        amount, unit = self.amounts(deadline, chosen)
        timed = start.notna().to_numpy() & ~np.isnan(amount)
        for kind in dict.fromkeys(row.unit for row in rows if row.amount is not None):
            mask = timed & (unit == kind)
            if not mask.any():
                continue
            if kind == MONTHS:  # whole months: one count at a time
                for months in np.unique(amount[mask]):
                    some = mask & (amount == months)
                    due[some] = clock.add(start[some], months, kind).to_numpy()
                continue
            due[mask] = clock.add(start[mask], pd.Series(amount[mask], index=start.index[mask]),
                                  kind).to_numpy()
        return due


def _row_flags(deadline: str, chosen: np.ndarray, test: Callable[[Timeframe], bool]
               ) -> np.ndarray:
    """test(row) of each request's chosen row (False where none), by array lookup."""
    return np.array([test(row) for row in rows_for(deadline)] + [False])[chosen]


def nominal(amount: pd.Series, unit: pd.Series) -> pd.Series:
    """A timeframe as a Timedelta, for planning and the scorecard (a business day counts as
    7/5 of a calendar day)."""
    amounts = amount.to_numpy(dtype="float64")
    units = unit.to_numpy(dtype=object)  # compared in numpy: a pandas object compare is slow
    days = np.where(units == DAYS, amounts, amounts * 7 / 5)
    days = np.where(units != HOURS, days, amounts / 24)
    # in nanoseconds always: pandas picks a coarser unit when the values allow it, and some
    # requests' timeframes must be typed as every request's are (deadlines_for_requests)
    return pd.Series(pd.to_timedelta(days, unit="D").astype("timedelta64[ns]"),
                     index=amount.index).where(amount.notna())


def rating_period_starts(on: pd.Series, month_days: pd.Series) -> pd.Series:
    """The start of the rating period holding each date (the period starts each year on
    month * 100 + day; January 1 when none is given)."""
    start = month_days.fillna(DEFAULT_RATING_PERIOD_START).astype("int64").to_numpy()
    day = on.to_numpy(dtype="datetime64[ns]")
    valid = ~np.isnat(day)
    result = _no_dates(len(day))
    if valid.any():
        when = on[valid]
        month_day_now = (when.dt.month * 100 + when.dt.day).to_numpy()
        year = when.dt.year.to_numpy() - (month_day_now < start[valid])
        # month_day gives real days (February 29 reads as the 28th): no day rolls over
        months = (year - 1970) * 12 + start[valid] // 100 - 1
        result[valid] = (months.astype("datetime64[M]").astype("datetime64[D]")
                         + (start[valid] % 100 - 1).astype("timedelta64[D]"))
    return pd.Series(result, index=on.index)


def _extension_limits(rules: Rules, on: pd.Series) -> tuple[np.ndarray, Sentences]:
    chosen, basis = rules.choose("extension_limit", on)
    limit, _ = rules.amounts("extension_limit", chosen)
    return limit, basis


def extension_limits(rules: Rules, on: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(most days extension_days may add, the rule in words) per request; NaN: no limit."""
    limit, basis = _extension_limits(rules, on)
    return pd.Series(limit, index=rules.index), basis.series(rules.index)


def extension_limits_for(requests: pd.DataFrame,
                         drug_categories: Sequence[str] = LISTS["drug_category"]
                         ) -> tuple[pd.Series, pd.Series]:
    """extension_limits by each request's submission date (check warns above them)."""
    today = pd.Timestamp.now().normalize()
    rules = Rules(requests, drug_requests(requests, drug_categories))
    return extension_limits(rules, requests["submitted_at"].dt.normalize().fillna(today))


UNIT_WORDS = {DAYS: " calendar ", BUSINESS_DAYS: " business ", HOURS: " "}


def decision_due(requests: pd.DataFrame, overrides: pd.DataFrame,
                 now: pd.Timestamp | None = None, clock: Clock | None = None,
                 drug: pd.Series | None = None
                 ) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series, pd.Series]:
    """(due, basis, timeframe, clock_stopped, projected) of the payer's first decision.

    timeframe is the nominal Timedelta (also for unsent requests, to plan a submission);
    clock_stopped marks Commercial / QHP requests waiting on information; projected is
    the due date of an unsent request were it sent now.
    """
    due, basis, timeframe, clock_stopped, projected = _decision_due(requests, overrides, now,
                                                                     clock, drug)
    return due, basis.series(requests.index), timeframe, clock_stopped, projected


def _decision_due(requests: pd.DataFrame, overrides: pd.DataFrame,
                  now: pd.Timestamp | None = None, clock: Clock | None = None,
                  drug: pd.Series | None = None
                  ) -> tuple[pd.Series, Sentences, pd.Series, pd.Series, pd.Series]:
    now = now if now is not None else pd.Timestamp.now().floor("s")
    clock = clock or Clock(BusinessCalendar.for_dates([requests["submitted_at"], now]),
                           practice_zone(None))
    drug = drug if drug is not None else drug_requests(requests)
    index = requests.index
    size = len(index)
    rules = Rules(requests, drug)
    plan, urgency = rules.plan, rules.urgency
    submitted = requests["submitted_at"]
    sent = submitted.notna().to_numpy()
    # An unsent request is timed as if sent now, by the rules in force now.
    start = submitted.fillna(now)
    on = start.dt.normalize()
    rating_on = rating_period_starts(on, overrides["rating_period_start"])
    chosen, basis = rules.choose("decision_due", on, rating_on)
    due = rules.apply("decision_due", chosen, start, clock)
    amount, unit = rules.amounts("decision_due", chosen)
    rated = _row_flags("decision_due", chosen, lambda row: row.dated_by == "rating period") \
        & overrides["rating_period_start"].notna().to_numpy()
    basis.update(rated, lambda old, day: _joined(old, "; rating period from ", _date(day),
                                                 " (Payers sheet)"), rating_on)
    payer = requests["payer"].astype("string").fillna("the payer")

    # Payers-sheet timeframes win when stricter than federal law, inside their dates.
    for level, lead, words in (
            (STANDARD, "standard_decision_days", "days for a standard decision"),
            (EXPEDITED, "expedited_decision_hours", "hours for an expedited decision")):
        given = overrides[lead]
        use = (urgency == level).to_numpy(dtype=bool) & given.notna().to_numpy()
        if not use.any():
            continue
        since = overrides[f"{lead}:override_from"].to_numpy(dtype="datetime64[ns]")
        until = overrides[f"{lead}:override_to"].to_numpy(dtype="datetime64[ns]")
        day = on.to_numpy(dtype="datetime64[ns]")
        use &= (np.isnat(since) | (day >= since)) & (np.isnat(until) | (day <= until))
        if not use.any():
            continue
        units = np.full(size, DAYS if level == STANDARD else HOURS, dtype=object)
        if level == STANDARD:
            units[(overrides["standard_decision_days:decision_days_are"] == "Business"
                   ).fillna(False).to_numpy(dtype=bool) & use] = BUSINESS_DAYS
        theirs = _no_dates(size)
        for kind in (DAYS, BUSINESS_DAYS, HOURS):
            mask = use & (units == kind)
            if mask.any():
                theirs[mask] = clock.add(start[mask], given[mask], kind).to_numpy()
        timed = ~np.isnat(due)
        stricter = use & (~timed | (theirs < due))
        longer = use & timed & (theirs > due)

        def said(payer_name: str, days: object, kind: str, words: str = words) -> str | None:
            return _joined("Payers sheet: ", payer_name, " allows ", _number(days),
                           UNIT_WORDS[kind], words)

        basis.update(stricter, lambda old, payer_name, days, kind, federal: _joined(
            said(payer_name, days, kind), " (stricter than federal law)" if federal else ""),
            payer, given, units, timed)
        due[stricter] = theirs[stricter]
        amount[stricter] = given[stricter].astype("float64").to_numpy()
        unit[stricter] = units[stricter]
        basis.update(longer, lambda old, payer_name, days, kind: _joined(
            old, "; ", said(payer_name, days, kind),
            ", longer than federal law allows: the federal limit applies"), payer, given, units)

    timeframe = nominal(pd.Series(amount, index=index), pd.Series(unit, index=index))
    projected = np.where(sent, np.datetime64("NaT"), due)
    due = np.where(sent, due, np.datetime64("NaT"))

    # Extensions: up to the legal limit (none for urgent Commercial / QHP and drug requests).
    extension = requests["extension_days"]
    asked = (extension.notna() & (extension > 0)).to_numpy(dtype=bool) & ~np.isnat(due)
    clock_stopped = np.zeros(size, dtype=bool)
    if asked.any():
        limits, limit_basis = _extension_limits(rules, on)
        limit = pd.Series(limits, index=index)
        allowed = extension.astype("float64").where(limit.isna(), np.fmin(extension, limit))
        moved = asked & (allowed > 0).fillna(False).to_numpy(dtype=bool)
        due[moved] = (_end_of_day(pd.Series(due[moved])).to_numpy()
                      + _days(allowed[moved]).to_numpy())
        basis.update(moved, lambda old, days: _joined(old, "; plus ", _number(days),
                                                      " days' extension"), allowed)
        capped = asked & (limit.notna() & (extension > limit)).fillna(False).to_numpy(dtype=bool)
        basis.update(capped, lambda old, days, limit_words: _joined(
            old, "; extension_days ", _number(days), " is more than the law allows: ",
            limit_words), extension, limit_basis.values())

    # Information requests: Commercial and Marketplace QHP clocks stop; CMS-0057-F ones do not.
    requested, responded = requests["info_requested_at"], requests["info_responded_at"]
    asked_at = requested.to_numpy(dtype="datetime64[ns]")
    tolls = rules.of_plans(TOLLING_PLAN_TYPES) & ~np.isnat(asked_at) & ~np.isnat(due)
    too_late = tolls & (asked_at > due)
    basis.update(too_late, lambda old, day: _joined(
        old, "; the information request of ", _date(day),
        " came after the decision was due: it stops no clock"), requested)
    tolls &= ~too_late
    urgent = tolls & (urgency == EXPEDITED).to_numpy(dtype=bool)
    answered = tolls & responded.notna().to_numpy()
    standard_answered = answered & ~urgent
    if standard_answered.any():
        stopped = (responded[standard_answered].dt.normalize()
                   - requested[standard_answered].dt.normalize()).clip(lower=pd.Timedelta(0))
        due[standard_answered] = due[standard_answered] + stopped.to_numpy()
        stopped_days = np.zeros(size, dtype=np.int64)
        stopped_days[standard_answered] = (stopped / pd.Timedelta(days=1)).astype("int64")
        basis.update(standard_answered, lambda old, days: _joined(
            old, "; clock stopped ", str(days), " days while the payer waited for "
            f"information ({TOLLING_CITATION})"), stopped_days)
    urgent_answered = answered & urgent
    if urgent_answered.any():
        after_row, after_basis = rules.choose("decision_after_information", on)
        due[urgent_answered] = rules.apply("decision_after_information", after_row, responded,
                                           clock)[urgent_answered]
        basis.update(urgent_answered, lambda old, after, when: _joined(
            after, ", answered ", when.strftime("%Y-%m-%d %H:%M")),
            after_basis.values(), responded)
    waiting = tolls & responded.isna().to_numpy()
    if waiting.any():
        due[waiting] = np.datetime64("NaT")
        basis.update(waiting, lambda old, payer_name, day, plan_type: _joined(
            "clock stopped: ", payer_name, " is waiting for the information it asked for on ",
            _date(day), "; no payer due date until it is sent (", plan_type,
            f" plans may pause the clock, {TOLLING_CITATION})"), payer, requested, plan)
        clock_stopped = waiting
    no_rule = timeframe.isna().to_numpy()
    basis.update(no_rule, lambda old, ruled, plan_type: (
        old if old is not None and ruled
        else _joined(plan_type, ": no decision timeframe in law; add one on the Payers sheet")
    ) or PLAN_TYPE_BLANK, chosen >= 0, plan)
    basis.set(no_rule & plan.isna().to_numpy(), PLAN_TYPE_BLANK)
    basis.update(~sent & ~no_rule, lambda old: _joined("not submitted yet; ", old))
    return (pd.Series(due, index=index), basis, timeframe, pd.Series(clock_stopped, index=index),
            pd.Series(projected, index=index))


def later_level(requests: pd.DataFrame, drug: pd.Series, deadline: str, start: pd.Series,
                applies: pd.Series, clock: Clock, override: pd.Series | None = None,
                override_words: Callable[[str, object], str | None] | None = None,
                payer: pd.Series | None = None) -> tuple[pd.Series, Sentences]:
    """(due, basis) of a deadline counted from start, for the rows in applies.

    A Payers-sheet number of days (override) replaces the federal one, or, where the
    row says the payer may only shorten it, is used only when shorter (a longer one
    gets the federal limit, and check warns); override_words(payer, days) says so.
    Worked out on the rows in applies only (the few denials and appeals), then spread
    back.
    """
    mask = applies.fillna(False).to_numpy(dtype=bool)
    due_all = _no_dates(len(requests))
    codes = np.full(len(requests), -1, dtype=np.int64)
    words: list[str] = []
    if mask.any():
        due, basis = _later_level(
            Rules(requests[mask], drug[mask]), deadline, start[mask], clock,
            override[mask] if override is not None else None, override_words,
            payer[mask] if payer is not None else None)
        due_all[mask] = due
        codes[mask] = basis.codes
        words = basis.words
    return pd.Series(due_all, index=requests.index), Sentences(len(requests), codes, words)


def _later_level(rules: Rules, deadline: str, start: pd.Series, clock: Clock,
                 override: pd.Series | None,
                 words: Callable[[str, object], str | None] | None,
                 payer: pd.Series | None) -> tuple[np.ndarray, Sentences]:
    on = start.dt.normalize()
    chosen, basis = rules.choose(deadline, on)
    due = rules.apply(deadline, chosen, start, clock)
    shorten_only = _row_flags(deadline, chosen, lambda row: row.payer_may == "shorten")
    given = override.notna().to_numpy() if override is not None else np.zeros(len(due), bool)
    if given.any() and override is not None and words is not None and payer is not None:
        theirs = (_end_of_day(start) + _days(override.fillna(0))).to_numpy()
        timed = ~np.isnat(due)
        use = given & (~timed | ~shorten_only | (theirs < due))
        longer = given & shorten_only & timed & (theirs > due)
        due[use] = theirs[use]
        basis.update(use, lambda old, payer_name, days: words(payer_name, days), payer, override)
        basis.update(longer, lambda old, payer_name, days: _joined(
            old, "; ", words(payer_name, days),
            ", longer than federal law allows: the federal limit applies"), payer, override)
    basis.clear(np.isnat(due) & (chosen < 0))
    return due, basis


def compute_deadlines(requests: pd.DataFrame, payers: pd.DataFrame | None = None,
                      settings: Mapping[str, object] | None = None,
                      calendar: BusinessCalendar | None = None,
                      as_of: dt.datetime | dt.date | str | None = None,
                      drug_categories: Sequence[str] = LISTS["drug_category"]) -> pd.DataFrame:
    """One row per request: every deadline (NaT / False where it does not apply) and its basis.

    Columns: request_id, each name in DEADLINES, basis_<name> for each, and
    decision_timeframe (nominal, for planning), projected_decision_due (an unsent request's
    due date were it sent now) and drug (a drug request).
    """
    settings = dict(settings or {})
    targets = practice_targets(settings)

    def words(target: str) -> str:
        return TARGETS[target].basis(targets)

    payers = payers if payers is not None else pd.DataFrame(columns=["payer", "plan_type",
                                                                     *OVERRIDES])
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    if calendar is None:
        calendar = BusinessCalendar.for_dates([requests["submitted_at"],
                                               requests["scheduled_service_date"], now])
    clock = Clock(calendar, practice_zone(settings.get("timezone")))
    index = requests.index
    size = len(index)
    overrides = payer_overrides(requests, payers)
    drug = drug_requests(requests, drug_categories)
    kinds = requests[["plan_type", "urgency"]]  # what Rules reads, for the later levels
    payer = requests["payer"].astype("string").fillna("the payer")
    status = requests["status"].astype("category")  # masks only: fast integer comparisons
    decision = requests["decision"].astype("category")
    out = pd.DataFrame({"request_id": requests["request_id"]}, index=index)
    bases: dict[str, Sentences] = {}

    def basis_of(mask: pd.Series | np.ndarray, word: str) -> Sentences:
        basis = Sentences(size)
        basis.set(np.asarray(mask, dtype=bool), word)
        return basis

    due, due_basis, timeframe, clock_stopped, projected = _decision_due(
        requests, overrides, now, clock, drug)
    out["decision_due"] = due
    due_basis.clear(~(due.notna() | requests["submitted_at"].isna() | clock_stopped
                      | timeframe.isna()).to_numpy())
    bases["decision_due"] = due_basis

    requested = requests["info_requested_at"]
    out["info_response_due"] = add_hours(requested, targets["info_response"], clock.zone)
    bases["info_response_due"] = basis_of(requested.notna(), words("info_response"))

    waiting = (requests["submitted_at"].notna() & decision.isna()
               & ~status.isin(FINISHED).fillna(False))
    service = requests["scheduled_service_date"]
    today = pd.Series(now.normalize(), index=index)
    to_service = calendar.count_business_days(today, service)
    near = service.notna() & (to_service <= targets["near_service"]).fillna(False)
    step = pd.Series(np.where(near, targets["status_check_near_service"],
                              targets["status_check"]), index=index)
    last = requests["last_status_check"].fillna(requests["submitted_at"])
    out["next_status_check"] = _end_of_day(calendar.add_business_days(last, step)).where(waiting)
    cadence_words = [words(name) + since for name in ("status_check", "status_check_near_service")
                     for since in (", counted from submission",
                                   ", counted from the last status check")]
    which = near.to_numpy(dtype=int) * 2 + requests["last_status_check"].notna().to_numpy(dtype=int)
    bases["next_status_check"] = Sentences(
        size, np.where(waiting.fillna(False).to_numpy(dtype=bool), which, -1), cadence_words)

    # At risk: the decision would come on or after the day of service.
    undecided = decision.isna() & ~status.isin(FINISHED).fillna(False) & \
        (requests["pa_required"].astype("string") != "No").fillna(True)
    expected = due.fillna(projected)
    risky = undecided & service.notna() & expected.notna() & (expected >= service.dt.normalize())
    out["at_risk"] = risky.fillna(False).astype(bool)
    bases["at_risk"] = Sentences(size)
    bases["at_risk"].update(out["at_risk"].to_numpy(), lambda old, sent, when, day: _joined(
        "the payer's decision is due " if sent else "submitted today, the decision would be due ",
        when.strftime("%Y-%m-%d %H:%M"), ", on or after the service date ", _date(day)),
        due.notna().to_numpy(), expected, service)

    denied = decision.isin(DENIALS).fillna(False) & requests["decision_date"].notna()
    decided_on = requests["decision_date"].dt.normalize()
    window = overrides["p2p_window_days"]
    window_days = window.fillna(targets["p2p_window"])
    out["p2p_window_closes"] = (_end_of_day(decided_on) + _days(window_days)).where(denied)
    bases["p2p_window_closes"] = Sentences(size)
    bases["p2p_window_closes"].update(denied.to_numpy(dtype=bool), lambda old, payer_name, days: (
        words("p2p_window") if days is None
        else payers_sheet_allows(payer_name, days, "p2p_window_days")), payer, window)

    out["appeal_target"] = _end_of_day(
        calendar.add_business_days(decided_on, targets["appeal_target"])).where(denied)
    bases["appeal_target"] = basis_of(denied, words("appeal_target"))

    # The later levels, each timed by its TIMEFRAMES rows (or a Payers-sheet number of days):
    # (deadline, counted from, for the rows, the Payers-sheet column)
    appealed = requests["appeal_submitted_date"]
    upheld = (requests["appeal_outcome"].astype("string") == "Upheld").fillna(False) & \
        requests["appeal_decision_date"].notna()
    appeal_decided = requests["appeal_decision_date"].dt.normalize()
    for deadline, start, applies, days in (
            ("appeal_filing_deadline", decided_on, denied, "appeal_filing_days"),
            ("appeal_decision_due", appealed, appealed.notna(), None),
            ("external_review_deadline", appeal_decided, upheld, "external_review_days"),
            ("state_fair_hearing_deadline", appeal_decided, upheld, None)):
        out[deadline], bases[deadline] = later_level(
            kinds, drug, deadline, start, applies, clock,
            overrides[days] if days else None,
            partial(payers_sheet_allows, column=days), payer)

    approved = statuses.authorized(requests) & ~statuses.closed(requests)
    authorized, used = requests["units_authorized"], requests["units_used"].fillna(0)
    units_left = authorized - used
    expires = requests["auth_expiration_date"]
    renew = approved & expires.notna() & (authorized.isna() | (units_left > 0)).fillna(True)
    out["renewal_due"] = _end_of_day(
        expires - pd.Timedelta(days=targets["renewal_lead"])).where(renew)
    bases["renewal_due"] = Sentences(size)
    bases["renewal_due"].update(renew.fillna(False).to_numpy(dtype=bool), lambda old, day: _joined(
        words("renewal_lead"), _date(day)), expires)

    low = approved & authorized.notna() & (units_left <= targets["low_units"]).fillna(False)
    out["low_units"] = low.fillna(False).astype(bool)
    bases["low_units"] = Sentences(size)
    bases["low_units"].update(out["low_units"].to_numpy(), lambda old, left, of: _joined(
        _number(left), " of ", _number(of), " units left; ", words("low_units")),
        units_left, authorized)

    for name in DEADLINES:
        shown = out[name] if name in FLAGS else out[name].notna()
        if name == "decision_due":  # also why there is none: a blank plan type, no rule
            shown = shown | clock_stopped | timeframe.isna()
        bases[name].clear(~shown.to_numpy(dtype=bool))
        out["basis_" + name] = bases[name].series(index)
    out["decision_timeframe"] = timeframe  # for planning submissions (worklist)
    out["projected_decision_due"] = projected
    out["drug"] = drug
    return out


def deadlines_for(tracker: Tracker, as_of: dt.datetime | dt.date | str | None = None
                  ) -> pd.DataFrame:
    """compute_deadlines for a loaded Tracker, with its Payers, Settings and Closures."""
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    return _deadlines_of(tracker, tracker.requests, now, tracker.calendar(now))


def deadlines_for_requests(tracker: Tracker, rows: Sequence[int],
                           as_of: dt.datetime | dt.date | str | None = None,
                           calendar: BusinessCalendar | None = None) -> pd.DataFrame:
    """The deadlines of some requests only (by Excel row), as deadlines_for gives them.

    A request's deadlines depend on its own row, the Payers sheet, the Settings and the
    calendar, never on another request; so after a save of one request its deadlines are
    worked out alone (the whole tracker's take 0.15 s at 10,000 requests). The calendar
    must be the whole tracker's (Tracker.calendar, the default): its years come from every
    request's dates.
    """
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    return _deadlines_of(tracker, tracker.requests.loc[list(rows)], now,
                         calendar if calendar is not None else tracker.calendar(now))


def _deadlines_of(tracker: Tracker, requests: pd.DataFrame, now: pd.Timestamp,
                  calendar: BusinessCalendar) -> pd.DataFrame:
    return compute_deadlines(requests, tracker.frames["Payers"], tracker.settings, calendar, now,
                             tracker.lists.get("drug_category", LISTS["drug_category"]))


def _iso(value: object) -> str | None:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return None if pd.isna(stamp) else stamp.isoformat()


def deadlines_json(table: pd.DataFrame) -> list[dict[str, object]]:
    """The `deadlines --json` document: one object per request (CONTRACT section 4)."""
    records = []
    columns = {name: table[name].tolist() for name in table.columns}
    for position, (row, request_id) in enumerate(zip(table.index, columns["request_id"],
                                                     strict=True)):
        # the Excel row names a request that has no ID yet (a blank ID is listed too)
        record: dict[str, object] = {"request_id": None if pd.isna(request_id) else request_id,
                                     "row": int(row)}
        for name in DEADLINES:
            value = columns[name][position]
            record[name] = bool(value) if name in FLAGS else _iso(value)
        record["basis"] = {name: (None if pd.isna(columns["basis_" + name][position])
                                  else columns["basis_" + name][position]) for name in DEADLINES}
        records.append(record)
    return records
