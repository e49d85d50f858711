"""Every deadline of every request, with its basis (CONTRACT section 2).

Column-wise over the whole Requests frame: the rules are looped over (a
handful of rows in timeframes.py), the requests never are.

Time conventions (the contract's, made precise):
- A date with no time (a value at exactly 00:00) counts as the END of that
  day for a payer's clock: a standard request sent "2026-11-02" is due from
  the payer at 2026-11-09 23:59:59, so the payer is never called late by
  mistake. A date-time keeps its clock time.
- For the practice's own hour-counted targets (answering an information
  request in 24 hours) a date with no time counts as the START of that day:
  requested "2026-11-05" is answered by 2026-11-06 00:00.
- The practice's day-counted targets (status checks, the appeal within one
  business day, windows and renewals) are due by the end of their day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .calendars import BusinessCalendar
from .completeness import GAPS
from .schema import CLOSED_STATUSES
from .timeframes import (
    APPEAL_FILING,
    DECISION_TIMEFRAMES,
    DEFAULT_P2P_WINDOW_DAYS,
    EXTERNAL_REVIEW,
    TOLLING_PLAN_TYPES,
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
    "external_review_deadline",
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
OVERRIDES = ("standard_decision_days", "expedited_decision_hours", "p2p_window_days",
             "appeal_filing_days", "external_review_days")


def _setting(settings: Mapping[str, object], key: str, default: int) -> int:
    value = settings.get(key)
    return int(value) if isinstance(value, int | float) and not pd.isna(value) else default


def _key(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.casefold()


def payer_overrides(requests: pd.DataFrame, payers: pd.DataFrame) -> pd.DataFrame:
    """Per request, the Payers-sheet override values (a plan-specific row wins).

    Worked out once per distinct (payer, plan type) pair, then spread to the rows.
    """
    out = pd.DataFrame(index=requests.index, columns=list(OVERRIDES), dtype="Float64")
    if payers.empty or payers[list(OVERRIDES)].isna().all().all():
        return out
    table = payers.assign(_payer=_key(payers["payer"]), _plan=payers["plan_type"].astype("string"))
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
    found = pd.DataFrame(index=keys.index, columns=list(OVERRIDES), dtype="Float64")
    # Most specific first: same payer and plan type; then the payer's row with no plan type.
    # A row for another plan type never applies (a Commercial window is not a Medicare one).
    candidates = [
        (table.dropna(subset=["_plan"]), ["_payer", "_plan"]),
        (table[table["_plan"].isna()], ["_payer"]),
    ]
    for rows, on in candidates:
        for column in OVERRIDES:
            given = rows.dropna(subset=[column]).drop_duplicates(on)[[*on, column]]
            if given.empty:
                continue
            matched = keys[on].merge(given, on=on, how="left")[column]
            found[column] = found[column].fillna(matched.astype("Float64"))
    return found.iloc[codes].set_axis(requests.index)


def _end_of_day_if_date_only(stamps: pd.Series) -> pd.Series:
    date_only = stamps.notna() & (stamps == stamps.dt.normalize())
    return stamps.where(~date_only, stamps + END_OF_DAY)


def _end_of_day(stamps: pd.Series) -> pd.Series:
    return stamps.dt.normalize() + END_OF_DAY


def _text(values: pd.Series) -> pd.Series:
    """Whole numbers without '.0' and dates without times, for basis sentences."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype("string")
    return values.astype("Int64").astype("string")


def decision_due(requests: pd.DataFrame, overrides: pd.DataFrame,
                 now: pd.Timestamp | None = None) -> tuple[pd.Series, pd.Series, pd.Series,
                                                           pd.Series]:
    """(due, basis, timeframe, clock_stopped) of the payer's decision.

    timeframe is the raw Timedelta (also for unsent requests, to plan a submission);
    clock_stopped marks Commercial / QHP requests waiting on information.
    """
    index = requests.index
    plan = requests["plan_type"].astype("string")
    # categories: comparing small integer codes, not 100,000 strings, once per rule
    plan_code = requests["plan_type"].astype("category")
    urgency = requests["urgency"].astype("category")
    urgency = urgency.cat.add_categories([u for u in ("Standard",) if u not in
                                          urgency.cat.categories]).fillna("Standard")
    submitted = requests["submitted_at"]
    # Which rule applies is decided by the submission date, or by as-of for unsent requests.
    on = submitted.dt.normalize().fillna((now or pd.Timestamp.now()).normalize())
    timeframe = pd.Series(pd.NaT, index=index, dtype="timedelta64[ns]")
    # Sentences by number: the few distinct ones are made once, rows only carry their number.
    sentences: list[str] = []
    sentence_of = np.full(len(index), -1, dtype=np.int64)
    plan_values = plan.fillna("").to_numpy(dtype=object)
    for rule in DECISION_TIMEFRAMES:
        applies = (plan_code.isin(rule.plan_types) & (urgency == rule.urgency)
                   & timeframe.isna())
        if rule.effective_from is not None:
            applies &= on >= pd.Timestamp(rule.effective_from)
        if rule.effective_to is not None:
            applies &= on <= pd.Timestamp(rule.effective_to)
        if not applies.any():
            continue
        timeframe[applies] = pd.Timedelta(**{rule.unit: rule.amount})
        applies_now = applies.to_numpy(dtype=bool)
        for plan_type in rule.plan_types:
            rows = applies_now & (plan_values == plan_type)
            if rows.any():
                sentence_of[rows] = len(sentences)
                sentences.append(plan_type + rule.wording)
    basis = pd.Series(pd.Categorical.from_codes(sentence_of, categories=sentences or ["-"]),
                      index=index).astype("string")
    payer = requests["payer"].astype("string").fillna("the payer")
    for level, column, unit, words in (
            ("Standard", "standard_decision_days", "D", "calendar days for a standard decision"),
            ("Expedited", "expedited_decision_hours", "h", "hours for an expedited decision")):
        given = overrides[column]
        use = (urgency == level) & given.notna()
        if use.any():
            timeframe[use] = pd.to_timedelta(given[use].astype(float), unit=unit)
            basis[use] = ("Payers sheet: " + payer[use] + " allows " + _text(given[use])
                          + " " + words)

    due = _end_of_day_if_date_only(submitted) + timeframe
    extension = requests["extension_days"]
    extended = extension.notna() & (extension > 0) & due.notna()
    if extended.any():
        due[extended] = due[extended] + pd.to_timedelta(extension[extended].astype(float),
                                                        unit="D")
        basis[extended] = basis[extended] + "; plus " + _text(extension[extended]) + \
            " days' extension"

    requested, responded = requests["info_requested_at"], requests["info_responded_at"]
    tolls = plan_code.isin(TOLLING_PLAN_TYPES) & requested.notna() & due.notna()
    answered = tolls & responded.notna()
    if answered.any():
        stopped = (responded[answered] - requested[answered]).clip(lower=pd.Timedelta(0))
        due[answered] = due[answered] + stopped
        basis[answered] = (basis[answered] + "; clock stopped "
                           + (stopped / pd.Timedelta(hours=1)).round(1).astype("string")
                           + " hours while the payer waited for information")
    waiting = tolls & responded.isna()
    if waiting.any():
        due[waiting] = pd.NaT
        basis[waiting] = ("clock stopped: " + payer[waiting] + " is waiting for the information "
                          "it asked for on " + _text(requested[waiting])
                          + "; no payer due date until it is sent (" + plan[waiting]
                          + " plans may pause the clock)")
    no_rule = timeframe.isna()
    basis[no_rule] = (plan[no_rule] + ": no decision timeframe in law; add one on the Payers "
                      "sheet").fillna(PLAN_TYPE_BLANK)
    basis[submitted.isna() & ~no_rule] = "not submitted yet; " + basis[submitted.isna() & ~no_rule]
    return due.where(submitted.notna()), basis, timeframe, waiting


def compute_deadlines(requests: pd.DataFrame, payers: pd.DataFrame | None = None,
                      settings: Mapping[str, object] | None = None,
                      calendar: BusinessCalendar | None = None,
                      as_of: dt.datetime | dt.date | str | None = None) -> pd.DataFrame:
    """One row per request: every deadline (NaT / False where it does not apply) and its basis.

    Columns: request_id, each name in DEADLINES, and basis_<name> for each.
    """
    settings = dict(settings or {})
    payers = payers if payers is not None else pd.DataFrame(columns=["payer", "plan_type",
                                                                     *OVERRIDES])
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    if calendar is None:
        calendar = BusinessCalendar.for_dates([requests["submitted_at"],
                                               requests["scheduled_service_date"], now])
    index = requests.index
    overrides = payer_overrides(requests, payers)
    payer = requests["payer"].astype("string").fillna("the payer")
    plan = requests["plan_type"].astype("string")
    status = requests["status"].astype("category")  # masks only: fast integer comparisons
    decision = requests["decision"].astype("category")
    plan_code = requests["plan_type"].astype("category")
    out = pd.DataFrame({"request_id": requests["request_id"]}, index=index)
    bases: dict[str, pd.Series] = {}

    def basis_of(mask: pd.Series, text: Callable[[pd.Series], pd.Series] | str) -> pd.Series:
        """Sentences for the rows in mask only (building them for every row is the slow part)."""
        basis = pd.Series(pd.NA, index=index, dtype="string")
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            basis[mask] = text if isinstance(text, str) else text(mask)
        return basis

    due, due_basis, timeframe, clock_stopped = decision_due(requests, overrides, now)
    out["decision_due"] = due
    bases["decision_due"] = due_basis.where(due.notna() | requests["submitted_at"].isna()
                                            | clock_stopped | timeframe.isna())

    hours = _setting(settings, "info_response_hours", 24)
    requested = requests["info_requested_at"]
    out["info_response_due"] = requested + pd.Timedelta(hours=hours)
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
    expected = due.copy()
    projected = expected.isna() & timeframe.notna()
    expected[projected] = _end_of_day(pd.Series(now, index=index))[projected] + \
        timeframe[projected]
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
    out["p2p_window_closes"] = (_end_of_day(decided_on) + pd.to_timedelta(
        window_days.astype(float), unit="D")).where(denied)
    default_window = (f"payer policy: {DEFAULT_P2P_WINDOW_DAYS} days for peer-to-peer after the "
                      "decision (the Payers sheet gives none)")
    bases["p2p_window_closes"] = basis_of(denied, lambda m: (
        "Payers sheet: " + payer[m] + " allows " + _text(window[m].fillna(0))
        + " days for peer-to-peer").where(window[m].notna(), default_window))

    out["appeal_target"] = _end_of_day(calendar.add_business_days(decided_on, 1)).where(denied)
    bases["appeal_target"] = basis_of(
        denied, "practice protocol: file the written appeal within 1 business day of the denial")

    filing_days = overrides["appeal_filing_days"].copy()
    from_payers = filing_days.notna()
    filing_basis = pd.Series(pd.NA, index=index, dtype="string")
    for rule in APPEAL_FILING:
        applies = denied & filing_days.isna() & plan_code.isin(rule.plan_types)
        filing_days[applies] = rule.days
        filing_basis[applies] = (plan[applies] + f": {rule.days} days from the decision to file "
                                 f"an appeal ({rule.citation})")
    has_filing = denied & filing_days.notna()
    use = has_filing & from_payers
    filing_basis[use] = ("Payers sheet: " + payer[use] + " allows " + _text(filing_days[use])
                         + " days to file an appeal")
    out["appeal_filing_deadline"] = (_end_of_day(decided_on) + pd.to_timedelta(
        filing_days.fillna(0).astype(float), unit="D")).where(has_filing)
    bases["appeal_filing_deadline"] = filing_basis.where(has_filing)

    upheld = (requests["appeal_outcome"].astype("string") == "Upheld").fillna(False) & \
        requests["appeal_decision_date"].notna()
    appeal_decided = requests["appeal_decision_date"].dt.normalize()
    external = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    external_basis = pd.Series(pd.NA, index=index, dtype="string")
    override_days = overrides["external_review_days"]
    use = upheld & override_days.notna()
    external[use] = _end_of_day(appeal_decided[use]) + pd.to_timedelta(
        override_days[use].astype(float), unit="D")
    external_basis[use] = ("Payers sheet: " + payer[use] + " allows "
                           + _text(override_days[use]) + " days to request external review")
    for rule in EXTERNAL_REVIEW:
        applies = upheld & external.isna() & plan_code.isin(rule.plan_types)
        if applies.any() and rule.months:
            external[applies] = _end_of_day(appeal_decided[applies]
                                            + pd.DateOffset(months=rule.months))
            external_basis[applies] = (f"{rule.months} months after the upheld appeal "
                                       f"({rule.citation})")
    out["external_review_deadline"] = external
    bases["external_review_deadline"] = external_basis

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
    return out


def deadlines_for(tracker: Tracker, as_of: dt.datetime | dt.date | str | None = None
                  ) -> pd.DataFrame:
    """compute_deadlines for a loaded Tracker, with its Payers, Settings and Closures."""
    frames = tracker.frames
    requests = frames["Requests"]
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    calendar = BusinessCalendar.for_dates(
        [requests["submitted_at"], requests["scheduled_service_date"],
         requests["decision_date"], now], frames["Closures"]["date"])
    return compute_deadlines(requests, frames["Payers"], tracker.settings,
                             calendar, now)


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
