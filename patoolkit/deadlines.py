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
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .calendars import BusinessCalendar, add_hours, month_day, practice_zone
from .completeness import GAPS
from .schema import CLOSED_STATUSES, LISTS
from .timeframes import (
    BUSINESS_DAYS,
    DAYS,
    DEFAULT_P2P_WINDOW_DAYS,
    DRUGS,
    EXPEDITED,
    HOURS,
    ITEMS,
    MONTHS,
    STANDARD,
    TOLLING_CITATION,
    TOLLING_PLAN_TYPES,
    Timeframe,
    rows_for,
)

if TYPE_CHECKING:
    from .tracker import Tracker

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

DENIALS = ("Denied", "Partially Approved")
APPROVALS = ("Approved", "Partially Approved")
# Statuses in which nobody is waiting for a first decision any more.
FINISHED = ("Approved", "Partially Approved", "Denied", "P2P Requested", "Appeal Submitted",
            "External Review", "Overturned", "Upheld", "Withdrawn", "Expired", "Closed")
INACTIVE = CLOSED_STATUSES
END_OF_DAY = pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
NEAR_SERVICE_BUSINESS_DAYS = 5
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
DEFAULT_RATING_PERIOD_START = 101  # January 1, as month * 100 + day
J_CODES = r"\s*J\d{4}\s*(?:[,;]\s*J\d{4}\s*)*[,;]?\s*"


def _setting(settings: Mapping[str, object], key: str, default: int) -> int:
    value = settings.get(key)
    return int(value) if isinstance(value, int | float) and not pd.isna(value) else default


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
    out = pd.DataFrame(index=requests.index, columns=columns, dtype=object)
    table = _payers_table(payers)
    if table.empty or table[list(OVERRIDES)].isna().all().all():
        return _typed_overrides(out)
    table = table.assign(_payer=_key(table["payer"]), _plan=table["plan_type"].astype("string"))
    payer_codes, payer_names = pd.factorize(requests["payer"], use_na_sentinel=False)
    plan_codes, plan_names = pd.factorize(requests["plan_type"], use_na_sentinel=False)
    pair_codes = payer_codes.astype("int64") * (len(plan_names) + 1) + plan_codes
    _, first, codes = np.unique(pair_codes, return_index=True, return_inverse=True)
    keys = pd.DataFrame({
        "payer": pd.array(np.asarray(payer_names, dtype=object)[payer_codes[first]],
                          dtype="string"),
        "_plan": pd.array(np.asarray(plan_names, dtype=object)[plan_codes[first]],
                          dtype="string"),
    })
    keys["_payer"] = _key(keys["payer"])
    found = pd.DataFrame(index=keys.index, columns=columns, dtype=object)
    # Most specific first: same payer and plan type; then the payer's row with no plan type.
    # A row for another plan type never applies (a Commercial window is not a Medicare one).
    candidates = [
        (table.dropna(subset=["_plan"]), ["_payer", "_plan"]),
        (table[table["_plan"].isna()], ["_payer"]),
    ]
    for rows, on in candidates:
        for lead, companions in OVERRIDE_GROUPS.items():
            given = rows.dropna(subset=[lead]).drop_duplicates(on)[[*on, lead, *companions]]
            if given.empty:
                continue
            matched = keys[on].merge(given, on=on, how="left").set_axis(keys.index)
            fill = found[lead].isna() & matched[lead].notna()
            for column in (lead, *companions):
                target = lead if column == lead else f"{lead}:{column}"
                found.loc[fill, target] = matched.loc[fill, column].astype(object)
    # typed on the few (payer, plan type) pairs, then spread to the requests
    return _typed_overrides(found).iloc[codes].set_axis(requests.index)


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
    category = _key(requests["service_category"]).isin(wanted).fillna(False)
    codes = requests["codes"].astype("string")
    j_codes = codes.str.fullmatch(J_CODES, case=False).fillna(False)
    return (category | j_codes).astype(bool)


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


def _days(amount: pd.Series | int | float) -> pd.Series | pd.Timedelta:
    if isinstance(amount, pd.Series):
        return pd.to_timedelta(amount.astype("float64"), unit="D")
    return pd.Timedelta(days=float(amount))


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
    """Which TIMEFRAMES row times a deadline for each request, and its basis sentence."""

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
        self.plan_values = self.plan.fillna("").to_numpy(dtype=object)

    def matches(self, row: Timeframe) -> np.ndarray:
        """Requests of the row's plan types, urgency and kind of request (dates aside)."""
        plans = np.array([name in row.plan_types for name in self.plan_names] + [False])
        urgencies = np.array([name in row.urgencies() for name in self.urgency_names] + [False])
        kinds = row.kinds()
        kind = self.drug if kinds == (DRUGS,) else ~self.drug if kinds == (ITEMS,) \
            else np.ones(len(self.drug), dtype=bool)
        return plans[self.plan_codes] & urgencies[self.urgency_codes] & kind

    def choose(self, deadline: str, on: pd.Series, rating_on: pd.Series | None = None
               ) -> tuple[pd.Series, pd.Series]:
        """(row number into the deadline's rows or -1, basis) per request, by the date on."""
        rows = rows_for(deadline)
        chosen = np.full(len(self.index), -1, dtype=np.int64)
        sentences: list[str] = []
        sentence_of = np.full(len(self.index), -1, dtype=np.int64)
        for number, row in enumerate(rows):
            when = rating_on if row.dated_by == "rating period" and rating_on is not None else on
            applies = self.matches(row) & (chosen < 0)
            if row.effective_from is not None:
                applies &= (when >= pd.Timestamp(row.effective_from)).to_numpy(dtype=bool)
            if row.effective_to is not None:
                applies &= (when <= pd.Timestamp(row.effective_to)).to_numpy(dtype=bool)
            if not applies.any():
                continue
            chosen[applies] = number
            for plan_type in row.plan_types:
                mine = applies & (self.plan_values == plan_type)
                if mine.any():
                    sentence_of[mine] = len(sentences)
                    sentences.append(row.words(plan_type))
        basis = pd.Series(pd.Categorical.from_codes(sentence_of, categories=sentences or ["-"]),
                          index=self.index).astype("string")
        return pd.Series(chosen, index=self.index), basis

    @staticmethod
    def amounts(deadline: str, chosen: pd.Series) -> tuple[pd.Series, pd.Series]:
        """(amount, unit) per request of the chosen rows (NaN / '' where none)."""
        rows = rows_for(deadline)
        amount = np.array([np.nan if row.amount is None else row.amount for row in rows] + [np.nan])
        unit = np.array([row.unit for row in rows] + [""], dtype=object)
        positions = chosen.to_numpy()  # -1 picks the appended blank
        return (pd.Series(amount[positions], index=chosen.index),
                pd.Series(unit[positions], index=chosen.index))

    def apply(self, deadline: str, chosen: pd.Series, start: pd.Series, clock: Clock
              ) -> pd.Series:
        """The due date-time of each request under its chosen row (NaT where none)."""
        due = pd.Series(pd.NaT, index=self.index, dtype="datetime64[ns]")
        for number, row in enumerate(rows_for(deadline)):
            mask = (chosen == number) & start.notna()
            if row.amount is None or not mask.any():
                continue
            due[mask] = clock.add(start[mask], row.amount, row.unit)
        return due


def _row_flags(deadline: str, chosen: pd.Series, test: Callable[[Timeframe], bool]
               ) -> pd.Series:
    """test(row) of each request's chosen row (False where none), by array lookup."""
    flags = np.array([test(row) for row in rows_for(deadline)] + [False])
    return pd.Series(flags[chosen.to_numpy()], index=chosen.index)


def nominal(amount: pd.Series, unit: pd.Series) -> pd.Series:
    """A timeframe as a Timedelta, for planning and the scorecard (a business day counts as
    7/5 of a calendar day)."""
    days = amount.where(unit == DAYS, amount * 7 / 5).where(unit != HOURS, amount / 24)
    return pd.to_timedelta(days.astype("float64"), unit="D").where(amount.notna())


def rating_period_starts(on: pd.Series, month_days: pd.Series) -> pd.Series:
    """The start of the rating period holding each date (the period starts each year on
    month * 100 + day; January 1 when none is given)."""
    start = month_days.fillna(DEFAULT_RATING_PERIOD_START).astype("int64")
    valid = on.notna()
    result = pd.Series(pd.NaT, index=on.index, dtype="datetime64[ns]")
    if not valid.any():
        return result
    when = on[valid]
    month_day_now = when.dt.month * 100 + when.dt.day
    year = when.dt.year - (month_day_now < start[valid]).astype("int64")
    result[valid] = pd.to_datetime(pd.DataFrame({
        "year": year, "month": start[valid] // 100, "day": start[valid] % 100}))
    return result


def extension_limits(rules: Rules, on: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(most days extension_days may add, the rule in words) per request; NaN: no limit."""
    chosen, basis = rules.choose("extension_limit", on)
    limit, _ = rules.amounts("extension_limit", chosen)
    return limit, basis


def extension_limits_for(requests: pd.DataFrame,
                         drug_categories: Sequence[str] = LISTS["drug_category"]
                         ) -> tuple[pd.Series, pd.Series]:
    """extension_limits by each request's submission date (check warns above them)."""
    today = pd.Timestamp.now().normalize()
    rules = Rules(requests, drug_requests(requests, drug_categories))
    return extension_limits(rules, requests["submitted_at"].dt.normalize().fillna(today))


def decision_due(requests: pd.DataFrame, overrides: pd.DataFrame,
                 now: pd.Timestamp | None = None, clock: Clock | None = None,
                 drug: pd.Series | None = None
                 ) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series, pd.Series]:
    """(due, basis, timeframe, clock_stopped, projected) of the payer's first decision.

    timeframe is the nominal Timedelta (also for unsent requests, to plan a submission);
    clock_stopped marks Commercial / QHP requests waiting on information; projected is
    the due date of an unsent request were it sent now.
    """
    now = now if now is not None else pd.Timestamp.now().floor("s")
    clock = clock or Clock(BusinessCalendar.for_dates([requests["submitted_at"], now]),
                           practice_zone(None))
    drug = drug if drug is not None else drug_requests(requests)
    index = requests.index
    rules = Rules(requests, drug)
    plan, urgency = rules.plan, rules.urgency
    plan_code = requests["plan_type"].astype("category")
    submitted = requests["submitted_at"]
    # An unsent request is timed as if sent now, by the rules in force now.
    start = submitted.fillna(now)
    on = start.dt.normalize()
    rating_on = rating_period_starts(on, overrides["rating_period_start"])
    chosen, basis = rules.choose("decision_due", on, rating_on)
    due = rules.apply("decision_due", chosen, start, clock)
    amount, unit = rules.amounts("decision_due", chosen)
    rated = _row_flags("decision_due", chosen, lambda row: row.dated_by == "rating period") \
        & overrides["rating_period_start"].notna()
    if rated.any():
        basis[rated] = basis[rated] + "; rating period from " + _text(rating_on[rated]) + \
            " (Payers sheet)"
    payer = requests["payer"].astype("string").fillna("the payer")

    # Payers-sheet timeframes win when stricter than federal law, inside their dates.
    for level, lead, words in (
            (STANDARD, "standard_decision_days", "days for a standard decision"),
            (EXPEDITED, "expedited_decision_hours", "hours for an expedited decision")):
        given = overrides[lead]
        use = (urgency == level) & given.notna()
        since, until = overrides[f"{lead}:override_from"], overrides[f"{lead}:override_to"]
        use &= (since.isna() | (on >= since)) & (until.isna() | (on <= until))
        use = use.fillna(False).astype(bool)
        if not use.any():
            continue
        if level == STANDARD:
            business = (overrides["standard_decision_days:decision_days_are"] == "Business"
                        ).fillna(False) & use
            units = pd.Series(np.where(business, BUSINESS_DAYS, DAYS), index=index)
        else:
            units = pd.Series(HOURS, index=index)
        theirs = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
        for kind in (DAYS, BUSINESS_DAYS, HOURS):
            mask = use & (units == kind)
            if mask.any():
                theirs[mask] = clock.add(start[mask], given[mask], kind)
        stricter = use & (due.isna() | (theirs < due))
        longer = use & due.notna() & (theirs > due)
        # sentences for the rows with an override only (building them for all is slow)
        unit_words = units[use].map({DAYS: " calendar ", BUSINESS_DAYS: " business ",
                                     HOURS: " "}).astype("string")
        said = pd.Series(pd.NA, index=index, dtype="string")
        said[use] = ("Payers sheet: " + payer[use] + " allows " + _text(given[use])
                     + unit_words + words)
        if stricter.any():
            basis[stricter] = said[stricter].where(
                due[stricter].isna(), said[stricter] + " (stricter than federal law)")
            due[stricter] = theirs[stricter]
            amount[stricter] = given[stricter].astype("float64")
            unit[stricter] = units[stricter]
        if longer.any():
            basis[longer] = basis[longer] + "; " + said[longer] + \
                ", longer than federal law allows: the federal limit applies"

    timeframe = nominal(amount, unit)
    projected = due.where(submitted.isna())
    due = due.where(submitted.notna())

    # Extensions: up to the legal limit (none for urgent Commercial / QHP and drug requests).
    extension = requests["extension_days"]
    asked = extension.notna() & (extension > 0) & due.notna()
    clock_stopped = pd.Series(False, index=index)
    if asked.any():
        limit, limit_basis = extension_limits(rules, on)
        allowed = extension.astype("float64").where(limit.isna(), np.fmin(extension, limit))
        moved = asked & (allowed > 0)
        due[moved] = _end_of_day(due[moved]) + _days(allowed[moved])
        basis[moved] = basis[moved] + "; plus " + _text(allowed[moved]) + " days' extension"
        capped = asked & limit.notna() & (extension > limit)
        if capped.any():
            basis[capped] = (basis[capped] + "; extension_days " + _text(extension[capped])
                             + " is more than the law allows: " + limit_basis[capped])

    # Information requests: Commercial and Marketplace QHP clocks stop; CMS-0057-F ones do not.
    requested, responded = requests["info_requested_at"], requests["info_responded_at"]
    tolls = plan_code.isin(TOLLING_PLAN_TYPES) & requested.notna() & due.notna()
    too_late = tolls & (requested > due)
    if too_late.any():
        basis[too_late] = (basis[too_late] + "; the information request of "
                           + _text(requested[too_late]) + " came after the decision was due: "
                           "it stops no clock")
    tolls &= ~too_late
    urgent = tolls & (urgency == EXPEDITED)
    answered = tolls & responded.notna()
    standard_answered = answered & ~urgent
    if standard_answered.any():
        stopped = (responded[standard_answered].dt.normalize()
                   - requested[standard_answered].dt.normalize()).clip(lower=pd.Timedelta(0))
        due[standard_answered] = due[standard_answered] + stopped
        basis[standard_answered] = (basis[standard_answered] + "; clock stopped "
                                    + (stopped / pd.Timedelta(days=1)).astype("int64")
                                    .astype("string") + " days while the payer waited for "
                                    f"information ({TOLLING_CITATION})")
    urgent_answered = answered & urgent
    if urgent_answered.any():
        after_row, after_basis = rules.choose("decision_after_information", on)
        due[urgent_answered] = rules.apply("decision_after_information", after_row, responded,
                                           clock)[urgent_answered]
        basis[urgent_answered] = (after_basis[urgent_answered] + ", answered "
                                  + responded[urgent_answered].dt.strftime("%Y-%m-%d %H:%M")
                                  .astype("string"))
    waiting = tolls & responded.isna()
    if waiting.any():
        due[waiting] = pd.NaT
        basis[waiting] = ("clock stopped: " + payer[waiting] + " is waiting for the information "
                          "it asked for on " + _text(requested[waiting])
                          + "; no payer due date until it is sent (" + plan[waiting]
                          + f" plans may pause the clock, {TOLLING_CITATION})")
        clock_stopped = waiting
    no_rule = timeframe.isna()
    basis[no_rule] = basis[no_rule].where(
        basis[no_rule].notna() & (chosen[no_rule] >= 0),
        plan[no_rule] + ": no decision timeframe in law; add one on the Payers sheet"
    ).fillna(PLAN_TYPE_BLANK)
    basis[no_rule & plan.isna()] = PLAN_TYPE_BLANK
    unsent = submitted.isna() & ~no_rule
    basis[unsent] = "not submitted yet; " + basis[unsent]
    return due, basis, timeframe, clock_stopped, projected


def later_level(requests: pd.DataFrame, drug: pd.Series, deadline: str, start: pd.Series,
                applies: pd.Series, clock: Clock, override: pd.Series,
                override_words: pd.Series | str) -> tuple[pd.Series, pd.Series]:
    """(due, basis) of a deadline counted from start, for the rows in applies.

    A Payers-sheet number of days (override) replaces the federal one, or, where the
    row says the payer may only shorten it, is used only when shorter (a longer one
    gets the federal limit, and check warns). Worked out on the rows in applies only
    (the few denials and appeals), then spread back.
    """
    applies = applies.fillna(False).astype(bool)
    due_all = pd.Series(pd.NaT, index=requests.index, dtype="datetime64[ns]")
    basis_all = pd.Series(pd.NA, index=requests.index, dtype="string")
    if not applies.any():
        return due_all, basis_all
    mask = applies.to_numpy()
    words_all = pd.Series(override_words, index=requests.index, dtype="string") \
        if isinstance(override_words, str) else override_words
    due, basis = _later_level(Rules(requests[mask], drug[mask]), deadline,
                              start[mask], clock, override[mask], words_all[mask])
    due_all[mask] = due
    basis_all[mask] = basis
    return due_all, basis_all


def _later_level(rules: Rules, deadline: str, start: pd.Series, clock: Clock,
                 override: pd.Series, words: pd.Series) -> tuple[pd.Series, pd.Series]:
    on = start.dt.normalize()
    chosen, basis = rules.choose(deadline, on)
    due = rules.apply(deadline, chosen, start, clock)
    shorten_only = _row_flags(deadline, chosen, lambda row: row.payer_may == "shorten")
    given = override.notna()
    if given.any():
        theirs = _end_of_day(start) + _days(override.fillna(0))
        use = given & (due.isna() | ~shorten_only | (theirs < due))
        longer = given & shorten_only & due.notna() & (theirs > due)
        due[use] = theirs[use]
        basis[use] = words[use]
        basis[longer] = basis[longer] + "; " + words[longer] + \
            ", longer than federal law allows: the federal limit applies"
    return due, basis.where(due.notna() | (chosen >= 0))


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
    payers = payers if payers is not None else pd.DataFrame(columns=["payer", "plan_type",
                                                                     *OVERRIDES])
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    if calendar is None:
        calendar = BusinessCalendar.for_dates([requests["submitted_at"],
                                               requests["scheduled_service_date"], now])
    clock = Clock(calendar, practice_zone(settings.get("timezone")))
    index = requests.index
    overrides = payer_overrides(requests, payers)
    drug = drug_requests(requests, drug_categories)
    kinds = requests[["plan_type", "urgency"]]  # what Rules reads, for the later levels
    payer = requests["payer"].astype("string").fillna("the payer")
    status = requests["status"].astype("category")  # masks only: fast integer comparisons
    decision = requests["decision"].astype("category")
    out = pd.DataFrame({"request_id": requests["request_id"]}, index=index)
    bases: dict[str, pd.Series] = {}

    def basis_of(mask: pd.Series, text: Callable[[pd.Series], pd.Series] | str) -> pd.Series:
        """Sentences for the rows in mask only (building them for every row is the slow part)."""
        basis = pd.Series(pd.NA, index=index, dtype="string")
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            basis[mask] = text if isinstance(text, str) else text(mask)
        return basis

    due, due_basis, timeframe, clock_stopped, projected = decision_due(
        requests, overrides, now, clock, drug)
    out["decision_due"] = due
    bases["decision_due"] = due_basis.where(due.notna() | requests["submitted_at"].isna()
                                            | clock_stopped | timeframe.isna())

    hours = _setting(settings, "info_response_hours", 24)
    requested = requests["info_requested_at"]
    out["info_response_due"] = add_hours(requested, hours, clock.zone)
    bases["info_response_due"] = basis_of(
        requested.notna(), f"Settings: answer a payer's information request within {hours} "
        "hours (a date without a time counts from the start of that day)")

    cadence = _setting(settings, "status_check_business_days", 2)
    waiting = (requests["submitted_at"].notna() & decision.isna()
               & ~status.isin(FINISHED).fillna(False))
    service = requests["scheduled_service_date"]
    today = pd.Series(now.normalize(), index=index)
    to_service = calendar.count_business_days(today, service)
    near = service.notna() & (to_service <= NEAR_SERVICE_BUSINESS_DAYS).fillna(False)
    step = pd.Series(np.where(near, 1, cadence), index=index)
    last = requests["last_status_check"].fillna(requests["submitted_at"])
    out["next_status_check"] = _end_of_day(calendar.add_business_days(last, step)).where(waiting)
    cadence_words = np.array([
        f"Settings: check status every {cadence} business days, counted from submission",
        f"Settings: check status every {cadence} business days, counted from the last status "
        "check",
        f"Settings: check status every business day once the service date is within "
        f"{NEAR_SERVICE_BUSINESS_DAYS} business days, counted from submission",
        f"Settings: check status every business day once the service date is within "
        f"{NEAR_SERVICE_BUSINESS_DAYS} business days, counted from the last status check",
    ], dtype=object)
    which = near.to_numpy(dtype=int) * 2 + requests["last_status_check"].notna().to_numpy(dtype=int)
    bases["next_status_check"] = basis_of(
        waiting, lambda m: pd.Series(cadence_words[which[m.to_numpy()]], dtype="string"
                                     ).set_axis(index[m]))

    # At risk: the decision would come on or after the day of service.
    undecided = decision.isna() & ~status.isin(FINISHED).fillna(False) & \
        (requests["pa_required"].astype("string") != "No").fillna(True)
    expected = due.fillna(projected)
    risky = undecided & service.notna() & expected.notna() & (expected >= service.dt.normalize())
    out["at_risk"] = risky.fillna(False).astype(bool)
    bases["at_risk"] = basis_of(risky, lambda m: pd.Series(np.where(
        due[m].notna(), "the payer's decision is due ",
        "submitted today, the decision would be due "), index=index[m]).astype("string")
        + expected[m].dt.strftime("%Y-%m-%d %H:%M").astype("string")
        + ", on or after the service date " + _text(service[m]))

    denied = decision.isin(DENIALS).fillna(False) & requests["decision_date"].notna()
    decided_on = requests["decision_date"].dt.normalize()
    window = overrides["p2p_window_days"]
    window_days = window.fillna(DEFAULT_P2P_WINDOW_DAYS)
    out["p2p_window_closes"] = (_end_of_day(decided_on) + _days(window_days)).where(denied)
    default_window = (f"payer policy: {DEFAULT_P2P_WINDOW_DAYS} days for peer-to-peer after the "
                      "decision (the Payers sheet gives none)")
    bases["p2p_window_closes"] = basis_of(denied, lambda m: (
        "Payers sheet: " + payer[m] + " allows " + _text(window[m].fillna(0))
        + " days for peer-to-peer").where(window[m].notna(), default_window))

    out["appeal_target"] = _end_of_day(calendar.add_business_days(decided_on, 1)).where(denied)
    bases["appeal_target"] = basis_of(
        denied, "practice protocol: file the written appeal within 1 business day of the denial")

    filing_days = overrides["appeal_filing_days"]
    out["appeal_filing_deadline"], bases["appeal_filing_deadline"] = later_level(
        kinds, drug, "appeal_filing_deadline", decided_on, denied, clock, filing_days,
        "Payers sheet: " + payer + " allows " + _text(filing_days) + " days to file an appeal")

    appealed = requests["appeal_submitted_date"]
    out["appeal_decision_due"], bases["appeal_decision_due"] = later_level(
        kinds, drug, "appeal_decision_due", appealed, appealed.notna(), clock,
        pd.Series(np.nan, index=index, dtype="Float64"), "")

    upheld = (requests["appeal_outcome"].astype("string") == "Upheld").fillna(False) & \
        requests["appeal_decision_date"].notna()
    appeal_decided = requests["appeal_decision_date"].dt.normalize()
    review_days = overrides["external_review_days"]
    out["external_review_deadline"], bases["external_review_deadline"] = later_level(
        kinds, drug, "external_review_deadline", appeal_decided, upheld, clock, review_days,
        "Payers sheet: " + payer + " allows " + _text(review_days)
        + " days to request external review")
    out["state_fair_hearing_deadline"], bases["state_fair_hearing_deadline"] = later_level(
        kinds, drug, "state_fair_hearing_deadline", appeal_decided, upheld, clock,
        pd.Series(np.nan, index=index, dtype="Float64"), "")

    approved = (decision.isin(APPROVALS).fillna(False)
                | requests["p2p_outcome"].isin(["Overturned", "Partially Overturned"]).fillna(False)
                | requests["appeal_outcome"].isin(["Overturned", "Partially Overturned"])
                .fillna(False)) & ~status.isin(INACTIVE).fillna(False)
    authorized, used = requests["units_authorized"], requests["units_used"].fillna(0)
    units_left = authorized - used
    lead = _setting(settings, "renewal_lead_days", 14)
    expires = requests["auth_expiration_date"]
    renew = approved & expires.notna() & (authorized.isna() | (units_left > 0)).fillna(True)
    out["renewal_due"] = _end_of_day(expires - pd.Timedelta(days=lead)).where(renew)
    bases["renewal_due"] = basis_of(renew, lambda m: f"Settings: start the renewal {lead} days "
                                    "before the authorization expires on " + _text(expires[m]))

    threshold = _setting(settings, "low_units_threshold", 5)
    low = approved & authorized.notna() & (units_left <= threshold).fillna(False)
    out["low_units"] = low.fillna(False).astype(bool)
    bases["low_units"] = basis_of(low, lambda m: _text(units_left[m]) + " of "
                                  + _text(authorized[m])
                                  + f" units left; Settings: renew at {threshold} or fewer")

    for name in DEADLINES:
        shown = out[name] if name in FLAGS else out[name].notna()
        if name == "decision_due":  # also why there is none: a blank plan type, no rule
            shown = shown | clock_stopped | timeframe.isna()
        out["basis_" + name] = bases[name].where(shown)
    out["decision_timeframe"] = timeframe  # for planning submissions (worklist)
    out["projected_decision_due"] = projected
    out["drug"] = drug
    return out


def deadlines_for(tracker: Tracker, as_of: dt.datetime | dt.date | str | None = None
                  ) -> pd.DataFrame:
    """compute_deadlines for a loaded Tracker, with its Payers, Settings and Closures."""
    frames = tracker.frames
    requests = frames["Requests"]
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    calendar = BusinessCalendar.for_dates(
        [requests["submitted_at"], requests["scheduled_service_date"],
         requests["decision_date"], requests["appeal_decision_date"], now],
        frames["Closures"]["date"])
    return compute_deadlines(requests, frames["Payers"], tracker.settings,
                             calendar, now, tracker.lists.get("drug_category",
                                                              LISTS["drug_category"]))


def _iso(value: object) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).isoformat()  # type: ignore[arg-type]


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
