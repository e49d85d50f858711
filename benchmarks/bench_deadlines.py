"""Benchmark: deadlines + worklist, column-wise, against a row-by-row baseline in the same run.

    python benchmarks/bench_deadlines.py [--rows 100000] [--repeat 5]

The baseline is the code someone would write first: `for row in requests.itertuples()`,
plain datetime arithmetic, business days by stepping one day at a time over a set of
holiday dates, real hours through zoneinfo, and the same rules: every deadline of
CONTRACT section 2 as issue 15 corrected it, read row by row from the one cited table
(timeframes.TIMEFRAMES: decision timeframes by plan type, urgency, drug or not and
effective date or rating period; Payers-sheet overrides used only when stricter, in
calendar or business days, between their dates; extensions capped at the legal limit;
Commercial and QHP information requests; appeal filing, appeal decision, external review
and State fair hearing), with a basis sentence, and a worklist for a representative subset
of actions, then a sort. It implements the same rules, so before the numbers count its
decision_due, appeal_target, p2p_window_closes, appeal_filing_deadline,
appeal_decision_due, external_review_deadline and state_fair_hearing_deadline must agree
with the package's on the rows where both give one (at least 99% of them), so the
comparison is like for like. Its basis sentences are its own (not compared), and its
worklist agreement is printed, not required (the order of the worklist is the package's
business). Both run on the same loaded frame (loading is not timed).

Also times the deadlines of one request alone (deadlines_for_requests, what Today needs
after a save) against every request's, in the same process.

Prints one JSON line on stdout; notes (agreement per column, scaling) go to stderr.
Targets (issue 3): at least 20x faster than the baseline, under one second at 100,000
rows.
"""

from __future__ import annotations

import argparse
import calendar as month_calendar
import datetime as dt
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from patoolkit import Tracker, load_tracker
from patoolkit.calendars import BusinessCalendar, month_day
from patoolkit.deadlines import deadlines_for, deadlines_for_requests
from patoolkit.timeframes import (
    BUSINESS_DAYS,
    DAYS,
    DRUGS,
    HOURS,
    ITEMS,
    MONTHS,
    TARGETS,
    TIMEFRAMES,
    TOLLING_PLAN_TYPES,
    Timeframe,
)
from patoolkit.worklist import worklist_for

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"  # generated trackers; git-ignored
AS_OF = "2026-12-01 09:00"
SLICE_ROWS = 10_000
ROWWISE_LIMIT_S = 60.0

# The contract's words, spelled out again here on purpose: the baseline does not import
# the package's rule code, only its tables (timeframes.py: TIMEFRAMES, and PRACTICE_TARGETS
# for the practice's own numbers), its holiday dates and its month-and-day reader for
# rating_period_start.
DENIALS = ("Denied", "Partially Approved")
APPROVALS = ("Approved", "Partially Approved")
FINISHED = ("Approved", "Partially Approved", "Denied", "P2P Requested", "Appeal Submitted",
            "External Review", "Overturned", "Upheld", "Withdrawn", "Expired", "Closed")
INACTIVE = ("Withdrawn", "Expired", "Closed")
# Payers-sheet columns, each with the columns that qualify it on the same Payers row
OVERRIDES = {"standard_decision_days": ("decision_days_are", "override_from", "override_to"),
             "expedited_decision_hours": ("override_from", "override_to"),
             "rating_period_start": (), "p2p_window_days": (), "appeal_filing_days": (),
             "external_review_days": ()}
J_CODES = re.compile(r"\s*J\d{4}\s*(?:[,;]\s*J\d{4}\s*)*[,;]?\s*", re.IGNORECASE)
ACTION_ORDER = {"answer_info_request": 5, "check_status": 6, "escalate_decision": 7,
                "request_p2p": 10, "file_appeal": 11, "renew_authorization": 15}
ACTION_LABELS = {"answer_info_request": "Answer information request",
                 "check_status": "Check status", "escalate_decision": "Escalate overdue decision",
                 "request_p2p": "Request peer-to-peer", "file_appeal": "File written appeal",
                 "renew_authorization": "Renew authorization"}
ONE_DAY = dt.timedelta(days=1)
LATEST = pd.Timestamp.max
UTC = dt.UTC
CHECKED = ("decision_due", "appeal_target", "p2p_window_closes", "appeal_filing_deadline",
           "appeal_decision_due", "external_review_deadline", "state_fair_hearing_deadline")


def tracker_of(rows: int) -> Path:
    """The cached sample tracker (shared with benchmarks/run.py), made once if missing."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"tracker_{rows}.xlsx"
    if not path.exists():
        from patoolkit.sample import write_sample

        partial = DATA / f".tracker_{rows}.{os.getpid()}.xlsx"
        write_sample(partial, rows=rows, seed=7)
        os.replace(partial, path)  # whole file or none, should another benchmark look
    return path


# --------------------------------------------------------------------------------------------
# The row-by-row baseline
# --------------------------------------------------------------------------------------------


def given(value: object) -> bool:
    return (value is not None and value is not pd.NaT and value is not pd.NA
            and not (isinstance(value, float) and value != value))


def text(value: object) -> str | None:
    """A cell's text, or None when empty (pd.NA cannot be compared in an `if`)."""
    return str(value) if given(value) else None


def moment(value: object) -> dt.datetime | None:
    """A cell's date-time as a plain datetime, or None when empty."""
    return pd.Timestamp(value).to_pydatetime() if given(value) else None  # type: ignore[arg-type]


def end_of_day(stamp: dt.datetime | dt.date) -> dt.datetime:
    day = stamp.date() if isinstance(stamp, dt.datetime) else stamp
    return dt.datetime.combine(day, dt.time(23, 59, 59))


def is_business_day(day: dt.date, holidays: set[dt.date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(day: dt.date, n: int, holidays: set[dt.date]) -> dt.date:
    """The n-th business day after `day` (a weekend or holiday first rolls back)."""
    while not is_business_day(day, holidays):
        day -= ONE_DAY
    for _ in range(n):
        day += ONE_DAY
        while not is_business_day(day, holidays):
            day += ONE_DAY
    return day


def count_business_days(start: dt.date, end: dt.date, holidays: set[dt.date]) -> int:
    """Business days in (start, end]; negative when end is before start."""
    if end < start:
        return -count_business_days(end, start, holidays)
    count, day = 0, start
    while day < end:
        day += ONE_DAY
        if is_business_day(day, holidays):
            count += 1
    return count


def add_months(day: dt.date, months: int) -> dt.date:
    """months later; when that month has no such day, the 1st of the next month."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    if day.day <= month_calendar.monthrange(year, month)[1]:
        return dt.date(year, month, day.day)
    return dt.date(year + month // 12, month % 12 + 1, 1)


def add_hours(stamp: dt.datetime, hours: float, zone: ZoneInfo) -> dt.datetime:
    """Real elapsed hours on the practice's wall clock (a time in the spring gap moves to
    the hour after it; a repeated autumn hour is its first)."""
    local = stamp.replace(tzinfo=zone)  # fold=0: the first of a repeated hour
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != stamp:
        local = (stamp.replace(minute=0, second=0, microsecond=0)
                 + dt.timedelta(hours=1)).replace(tzinfo=zone)
    return (local.astimezone(UTC) + dt.timedelta(hours=hours)).astimezone(zone).replace(
        tzinfo=None)


class Calendars:
    """What the row-by-row clock needs: holidays with closures, federal only, and the zone."""

    def __init__(self, holidays: set[dt.date], federal: set[dt.date], zone: ZoneInfo):
        self.holidays, self.federal, self.zone = holidays, federal, zone

    def add(self, start: dt.datetime, amount: float, unit: str) -> dt.datetime:
        if unit == DAYS:  # ends at the end of its last day
            return end_of_day(start) + dt.timedelta(days=amount)
        if unit == BUSINESS_DAYS:
            return end_of_day(add_business_days(start.date(), int(amount), self.holidays))
        if unit == HOURS:  # a payer's clock: a date without a time counts from its end
            return add_hours(end_of_day(start) if start.time() == dt.time() else start,
                             amount, self.zone)
        if unit == MONTHS:  # a weekend or federal holiday moves it to the next business day
            day = add_months(start.date(), int(amount))
            if not is_business_day(day, self.federal):
                day = add_business_days(day, 1, self.federal)
            return end_of_day(day)
        raise ValueError(unit)


def target(settings: dict[str, object], name: str) -> int:
    """A practice target's number: its Settings value when a number, else the table's."""
    row = TARGETS[name]
    value = settings.get(row.setting) if row.setting is not None else None
    return int(value) if isinstance(value, int | float) and value == value else row.default


def rule_for(deadline: str, plan: str | None, urgency: str, drug: bool, on: dt.date,
             rating_on: dt.date | None = None) -> Timeframe | None:
    """The first TIMEFRAMES row for the case (the table has no overlapping rows)."""
    kind = DRUGS if drug else ITEMS
    for row in TIMEFRAMES:
        if (row.deadline != deadline or plan not in row.plan_types
                or urgency not in row.urgencies() or kind not in row.kinds()):
            continue
        when = rating_on if row.dated_by == "rating period" and rating_on is not None else on
        if row.covers(when):
            return row
    return None


Overrides = dict[str, dict[str, object]]  # lead column -> it and its companions


def override_lookup(payers: pd.DataFrame) -> tuple[dict[tuple[str, str], Overrides],
                                                    dict[str, Overrides]]:
    """(payer key, plan type) -> overrides, and payer key -> its rows without a plan type;
    for each lead column the upper row giving it."""
    specific: dict[tuple[str, str], Overrides] = {}
    general: dict[str, Overrides] = {}
    for row in payers.to_dict("records"):
        if not given(row.get("payer")):
            continue
        key = str(row["payer"]).strip().casefold()
        plan = text(row.get("plan_type"))
        for lead, companions in OVERRIDES.items():
            value = row.get(lead)
            if lead == "rating_period_start":
                value = month_day(value) if given(value) else None
            if not given(value):
                continue
            found = {lead: value, **{column: row.get(column) for column in companions}}
            target = specific.setdefault((key, plan), {}) if plan else general.setdefault(key, {})
            target.setdefault(lead, found)
    return specific, general


def later_level(clock: Calendars, deadline: str, plan: str | None, urgency: str, drug: bool,
                start: dt.datetime, override: object = None) -> dt.datetime | None:
    """A deadline after the decision: the table's, or the Payers sheet's number of days where
    the table lets the payer replace it or it is shorter."""
    rule = rule_for(deadline, plan, urgency, drug, start.date())
    due = None
    if rule is not None and rule.amount is not None:
        due = clock.add(start, rule.amount, rule.unit)
    if given(override):
        theirs = end_of_day(start) + dt.timedelta(days=float(override))  # type: ignore[arg-type]
        shorten_only = rule is not None and rule.payer_may == "shorten"
        if due is None or not shorten_only or theirs < due:
            due = theirs
    return due


def rowwise_deadlines(requests: pd.DataFrame, payers: pd.DataFrame, settings: dict[str, object],
                      clock: Calendars, drug_categories: set[str], now: dt.datetime
                      ) -> list[dict[str, object]]:
    specific, general = override_lookup(payers)
    info_hours = target(settings, "info_response")
    cadence = target(settings, "status_check")
    lead = target(settings, "renewal_lead")
    threshold = target(settings, "low_units")
    near_service, near_cadence = target(settings, "near_service"), \
        target(settings, "status_check_near_service")
    appeal_days, default_window = target(settings, "appeal_target"), \
        target(settings, "p2p_window")
    holidays = clock.holidays
    today = now.date()
    records = []
    for row in requests.itertuples():
        plan = text(row.plan_type)
        payer = text(row.payer) or "the payer"
        urgency = text(row.urgency) or "Standard"
        status, decision = text(row.status), text(row.decision)
        p2p_outcome, appeal_outcome = text(row.p2p_outcome), text(row.appeal_outcome)
        submitted, service = moment(row.submitted_at), moment(row.scheduled_service_date)
        category, codes = text(row.service_category), text(row.codes)
        drug = ((category is not None and category.strip().casefold() in drug_categories)
                or (codes is not None and J_CODES.fullmatch(codes) is not None))
        found: Overrides = {}
        if given(row.payer):
            key = str(row.payer).strip().casefold()
            found = {**general.get(key, {}), **specific.get((key, plan or ""), {})}
        out: dict[str, object] = {"request_id": row.request_id}

        # decision_due: an unsent request is timed as if sent now
        start = submitted or now
        on = start.date()
        month_and_day = found.get("rating_period_start", {}).get("rating_period_start", 101)
        starts = dt.date(on.year, month_and_day // 100, month_and_day % 100)  # type: ignore[operator]
        rating_on = starts if on >= starts else starts.replace(year=on.year - 1)
        rule = rule_for("decision_due", plan, urgency, drug, on, rating_on)
        due = None
        basis = f"{plan or 'no plan type'}: no decision timeframe in law; add one on the " \
                "Payers sheet"
        if rule is not None:
            basis = rule.words(plan or "")
            if rule.amount is not None:
                due = clock.add(start, rule.amount, rule.unit)
        for level, lead_column, unit in (("Standard", "standard_decision_days", DAYS),
                                         ("Expedited", "expedited_decision_hours", HOURS)):
            override = found.get(lead_column)
            if urgency != level or override is None:
                continue
            since = moment(override.get("override_from"))
            until = moment(override.get("override_to"))
            midnight = dt.datetime.combine(on, dt.time())
            if (since is not None and midnight < since) or (until is not None and midnight > until):
                continue
            if text(override.get("decision_days_are")) == "Business":
                unit = BUSINESS_DAYS
            amount = float(override[lead_column])  # type: ignore[arg-type]
            theirs = clock.add(start, amount, unit)
            if due is None or theirs < due:  # a Payers timeframe wins only when stricter
                due = theirs
                basis = f"Payers sheet: {payer} allows {amount:g} {unit} ({level.lower()})"
        projected = due if submitted is None else None
        if submitted is None:
            due = None
        extension = row.extension_days
        if due is not None and given(extension) and extension > 0:
            limit = rule_for("extension_limit", plan, urgency, drug, on)
            allowed = extension if limit is None or limit.amount is None \
                else min(extension, limit.amount)
            if allowed > 0:
                due = end_of_day(due) + dt.timedelta(days=float(allowed))
                basis += f"; plus {allowed} days' extension"
        requested, responded = moment(row.info_requested_at), moment(row.info_responded_at)
        clock_stopped = False
        if plan in TOLLING_PLAN_TYPES and requested is not None and due is not None \
                and requested <= due:  # an information request after the due date stops nothing
            if responded is None:
                due, clock_stopped = None, True
                basis = f"clock stopped: {payer} is waiting for the information it asked for"
            elif urgency == "Expedited":
                after = rule_for("decision_after_information", plan, urgency, drug, on)
                if after is not None and after.amount is not None:
                    due = clock.add(responded, after.amount, after.unit)
                    basis = after.words(plan or "")
            else:
                due += max(responded.date() - requested.date(), dt.timedelta())
                basis += "; clock stopped while the payer waited for information"
        out["decision_due"] = due
        out["basis_decision_due"] = basis if due is not None or clock_stopped else None

        # info_response_due: the practice's own clock, real hours from the stamp
        if requested is not None:
            out["info_response_due"] = add_hours(requested, info_hours, clock.zone)
            out["basis_info_response_due"] = f"Settings: answer a payer's information request " \
                                             f"within {info_hours} hours"

        # next_status_check
        if submitted is not None and decision is None and status not in FINISHED:
            near = (service is not None
                    and count_business_days(today, service.date(), holidays) <= near_service)
            step = near_cadence if near else cadence
            last = moment(row.last_status_check) or submitted
            out["next_status_check"] = end_of_day(add_business_days(last.date(), step, holidays))
            out["basis_next_status_check"] = f"Settings: check status every {step} business " \
                                             "day(s)"

        # at_risk
        undecided = decision is None and status not in FINISHED and text(row.pa_required) != "No"
        expected = due if due is not None else projected
        at_risk = bool(undecided and service is not None and expected is not None
                       and expected >= dt.datetime.combine(service.date(), dt.time()))
        out["at_risk"] = at_risk
        if at_risk:
            out["basis_at_risk"] = f"the payer's decision is due {expected:%Y-%m-%d %H:%M}, " \
                                   f"on or after the service date {service:%Y-%m-%d}"

        # p2p_window_closes, appeal_target, appeal_filing_deadline
        decided = moment(row.decision_date)
        if decision in DENIALS and decided is not None:
            decided = dt.datetime.combine(decided.date(), dt.time())
            window = found.get("p2p_window_days", {}).get("p2p_window_days", default_window)
            out["p2p_window_closes"] = end_of_day(decided) + dt.timedelta(days=float(window))  # type: ignore[arg-type]
            out["basis_p2p_window_closes"] = f"{window} days for peer-to-peer"
            out["appeal_target"] = end_of_day(add_business_days(decided.date(), appeal_days,
                                                                holidays))
            out["basis_appeal_target"] = "practice protocol: file the written appeal within " \
                                         f"{appeal_days} business day of the denial"
            filing = later_level(clock, "appeal_filing_deadline", plan, urgency, drug, decided,
                                 found.get("appeal_filing_days", {}).get("appeal_filing_days"))
            if filing is not None:
                out["appeal_filing_deadline"] = filing
                out["basis_appeal_filing_deadline"] = "appeal filing window"

        # appeal_decision_due
        appealed = moment(row.appeal_submitted_date)
        if appealed is not None:
            decision_due = later_level(clock, "appeal_decision_due", plan, urgency, drug, appealed)
            if decision_due is not None:
                out["appeal_decision_due"] = decision_due
                out["basis_appeal_decision_due"] = "the payer's appeal decision"

        # external_review_deadline, state_fair_hearing_deadline
        appeal_decided = moment(row.appeal_decision_date)
        if appeal_outcome == "Upheld" and appeal_decided is not None:
            appeal_decided = dt.datetime.combine(appeal_decided.date(), dt.time())
            review = later_level(clock, "external_review_deadline", plan, urgency, drug,
                                 appeal_decided, found.get("external_review_days", {})
                                 .get("external_review_days"))
            if review is not None:
                out["external_review_deadline"] = review
                out["basis_external_review_deadline"] = "external review window"
            hearing = later_level(clock, "state_fair_hearing_deadline", plan, urgency, drug,
                                  appeal_decided)
            if hearing is not None:
                out["state_fair_hearing_deadline"] = hearing
                out["basis_state_fair_hearing_deadline"] = "State fair hearing window"

        # renewal_due, low_units
        approved = (decision in APPROVALS
                    or p2p_outcome in ("Overturned", "Partially Overturned")
                    or appeal_outcome in ("Overturned", "Partially Overturned")) \
            and status not in INACTIVE
        authorized = row.units_authorized if given(row.units_authorized) else None
        used = row.units_used if given(row.units_used) else 0
        left = authorized - used if authorized is not None else None
        expires = moment(row.auth_expiration_date)
        if approved and expires is not None and (left is None or left > 0):
            out["renewal_due"] = end_of_day(expires - dt.timedelta(days=lead))
            out["basis_renewal_due"] = f"Settings: start the renewal {lead} days before " \
                                       f"{expires:%Y-%m-%d}"
        low = bool(approved and left is not None and left <= threshold)
        out["low_units"] = low
        if low:
            out["basis_low_units"] = f"{left} of {authorized} units left"
        records.append(out)
    return records


def rowwise_worklist(requests: pd.DataFrame, deadlines: list[dict[str, object]],
                     holidays: set[dt.date], now: dt.datetime,
                     settings: dict[str, object]) -> pd.DataFrame:
    today_end = end_of_day(now)
    horizon = now + dt.timedelta(days=target(settings, "renewal_horizon"))
    filing_near = dt.timedelta(days=target(settings, "filing_near"))
    appeal_days = target(settings, "appeal_target")
    actions = []
    for row, line in zip(requests.itertuples(), deadlines, strict=True):
        status, decision = text(row.status), text(row.decision)
        p2p_outcome, appeal_outcome = text(row.p2p_outcome), text(row.appeal_outcome)
        payer = text(row.payer) or "the payer"
        active = status not in INACTIVE
        found = []
        requested = moment(row.info_requested_at)
        waiting_info = (requested is not None and not given(row.info_responded_at)
                        and decision is None and active)
        if waiting_info:
            found.append(("answer_info_request", line["info_response_due"],
                          f"{payer} asked for information on {requested:%Y-%m-%d}",
                          line["basis_info_response_due"]))
        if "next_status_check" in line and not waiting_info:
            found.append(("check_status", line["next_status_check"],
                          f"no decision yet from {payer}", line["basis_next_status_check"]))
        decision_due = line["decision_due"]
        if (given(row.submitted_at) and decision is None and status not in FINISHED
                and decision_due is not None and decision_due < now):  # type: ignore[operator]
            found.append(("escalate_decision", decision_due,
                          f"{payer}'s decision was due {decision_due:%Y-%m-%d %H:%M}; call and "
                          "escalate", line["basis_decision_due"]))
        denied = (decision in DENIALS and active
                  and status not in ("Overturned", "Upheld", "Closed")
                  and p2p_outcome != "Overturned"
                  and appeal_outcome not in ("Overturned", "Upheld"))
        if denied:
            reason = text(row.denial_reason) or "no reason recorded"
            decided = moment(row.decision_date)
            decided_end = end_of_day(decided) if decided is not None else None
            window = line.get("p2p_window_closes")
            p2p_requested = given(row.p2p_requested_date)
            if (not p2p_requested and not given(row.appeal_submitted_date)
                    and window is not None and window >= now):  # type: ignore[operator]
                found.append(("request_p2p", decided_end,
                              f"denied ({reason}); peer-to-peer window closes {window:%Y-%m-%d}",
                              line["basis_p2p_window_closes"]))
            filing = line.get("appeal_filing_deadline")
            # no filing window on record: still worth filing; a pending peer-to-peer does not
            # stop the appeal's clock, so the appeal is listed again as its deadline nears
            p2p_failed = p2p_outcome in ("Upheld", "Withdrawn") or not p2p_requested
            p2p_pending = p2p_requested and p2p_outcome in (None, "Pending")
            near = filing is not None and filing - now <= filing_near  # type: ignore[operator]
            if (not given(row.appeal_submitted_date)
                    and (filing is None or filing >= now)  # type: ignore[operator]
                    and (p2p_failed or (p2p_pending and near))):
                due = line.get("appeal_target")
                if given(row.p2p_date):
                    due = end_of_day(add_business_days(moment(row.p2p_date).date(),  # type: ignore[union-attr]
                                                       appeal_days, holidays))
                    if filing is not None and due > filing:  # type: ignore[operator]
                        due = filing
                if p2p_pending:
                    due = filing
                found.append(("file_appeal", due, f"answer the denial reason point by point: "
                              f"{reason}", line.get("basis_appeal_target")))
        expires = moment(row.auth_expiration_date)
        current = expires is None or end_of_day(expires) >= now
        renewal = line.get("renewal_due")
        if (renewal is not None and renewal <= horizon  # type: ignore[operator]
                and expires is not None and current) or (line["low_units"] and current):
            due = renewal
            if line["low_units"]:
                due = min(renewal, today_end) if isinstance(renewal, dt.datetime) else today_end
            found.append(("renew_authorization", due, f"authorization expires {expires}",
                          line.get("basis_renewal_due") or line.get("basis_low_units")))
        for key, due, reason, basis in found:
            actions.append({
                "due": due, "action": ACTION_LABELS[key], "request_id": row.request_id,
                "patient_id": row.patient_id, "payer": row.payer, "owner": row.owner,
                "reason": reason, "basis": basis,
                "scheduled_service_date": row.scheduled_service_date, "row": row.Index,
                "action_key": key,
            })

    def urgency(action: dict[str, object]) -> tuple[object, ...]:
        due = action["due"]
        bucket = 2
        if due is not None and due < now:  # type: ignore[operator]
            bucket = 0
        elif due is not None and due.date() == now.date():  # type: ignore[attr-defined]
            bucket = 1
        service = action["scheduled_service_date"]
        return (bucket, due if due is not None else LATEST,
                service if given(service) else LATEST, action["row"],
                ACTION_ORDER[action["action_key"]])  # type: ignore[index]

    actions.sort(key=urgency)
    return pd.DataFrame(actions)


def rowwise(tracker: Tracker, requests: pd.DataFrame, now: dt.datetime
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The baseline's deadlines table and worklist, as frames like the package's."""
    frames = tracker.frames
    dates = [requests["submitted_at"], requests["scheduled_service_date"],
             requests["decision_date"], requests["appeal_decision_date"], pd.Timestamp(now)]
    calendar = BusinessCalendar.for_dates(dates, frames["Closures"]["date"])
    federal = BusinessCalendar.for_dates(dates)
    zone = tracker.settings.get("timezone")
    clock = Calendars({day.item() for day in calendar.holidays},
                      {day.item() for day in federal.holidays},
                      ZoneInfo(zone if isinstance(zone, str) and zone else "America/New_York"))
    drug_categories = {str(name).strip().casefold()
                       for name in tracker.lists.get("drug_category", ())}
    records = rowwise_deadlines(requests, frames["Payers"], tracker.settings, clock,
                                drug_categories, now)
    worklist = rowwise_worklist(requests, records, clock.holidays, now, tracker.settings)
    return pd.DataFrame(records, index=requests.index), worklist


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def agreement(ours: pd.DataFrame, theirs: pd.DataFrame) -> tuple[float, dict[str, object]]:
    """Share of rows, where both give a value, on which the checked deadlines agree."""
    same = total = 0
    detail: dict[str, object] = {}
    for column in CHECKED:
        a = pd.to_datetime(ours[column])
        b = pd.to_datetime(theirs[column].reindex(ours.index))
        both = a.notna() & b.notna()
        agree = int((a[both] == b[both]).sum())
        same, total = same + agree, total + int(both.sum())
        detail[column] = {"compared": int(both.sum()), "agree": agree,
                          "only_vectorised": int((a.notna() & b.isna()).sum()),
                          "only_rowwise": int((a.isna() & b.notna()).sum())}
    return (100.0 * same / total if total else 0.0), detail


def worklist_agreement(ours: pd.DataFrame, theirs: pd.DataFrame, rows: pd.Index
                       ) -> dict[str, object]:
    """The package's worklist, cut to the baseline's actions and rows, against the baseline's:
    the same actions with the same due date-times, and (apart) in the same order."""
    cut = ours[ours["action_key"].isin(list(ACTION_ORDER)) & ours["row"].isin(rows)]
    if theirs.empty:
        return {"vectorised_actions": len(cut), "rowwise_actions": 0}
    key = ["row", "action_key"]
    mine = cut[[*key, "due"]].sort_values(key).reset_index(drop=True)
    other = theirs[[*key, "due"]].sort_values(key).reset_index(drop=True)
    same = len(mine) == len(other) and bool(
        (mine[key].to_numpy() == other[key].to_numpy()).all()
        and (mine["due"].to_numpy() == pd.to_datetime(other["due"]).to_numpy()).all())
    same_order = same and bool(
        (cut["row"].to_numpy() == theirs["row"].to_numpy()).all()
        and (cut["action_key"].to_numpy() == theirs["action_key"].to_numpy()).all())
    return {"vectorised_actions": len(cut), "rowwise_actions": len(theirs),
            "same_actions_and_due": same, "same_order": same_order}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tracker = load_tracker(tracker_of(args.rows))
    requests = tracker.requests
    now = pd.Timestamp(AS_OF).to_pydatetime()

    totals, deadline_times, worklist_times = [], [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        table = deadlines_for(tracker, AS_OF)
        middle = time.perf_counter()
        worklist = worklist_for(tracker, AS_OF, deadlines=table)
        ended = time.perf_counter()
        deadline_times.append(middle - started)
        worklist_times.append(ended - middle)
        totals.append(ended - started)
    assert len(worklist) > 0
    # After a save of one request (Today's dashboard): that request's deadlines alone, the
    # whole tracker's calendar included (deadlines_for_requests), against every request's
    one_row = [int(requests.index[len(requests) // 2])]
    one_times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        alone = deadlines_for_requests(tracker, one_row, AS_OF)
        one_times.append(time.perf_counter() - started)
    pd.testing.assert_frame_equal(alone, table.loc[one_row])

    # Row by row: probe on a slice first; a full run is only made when it fits the limit.
    probe_rows = min(SLICE_ROWS, len(requests))
    sample = requests.iloc[:probe_rows]
    started = time.perf_counter()
    probe_deadlines, probe_worklist = rowwise(tracker, sample, now)
    probe_s = time.perf_counter() - started
    scale = len(requests) / probe_rows
    scaled_from = None
    if probe_s * scale > ROWWISE_LIMIT_S:
        rowwise_s, checked, checked_worklist = probe_s * scale, probe_deadlines, probe_worklist
        scaled_from = probe_rows
        print(f"row-by-row: one run on a {probe_rows}-row slice took {probe_s:.1f} s; scaled "
              f"linearly x{scale:g} to {len(requests)} rows", file=sys.stderr)
    else:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            checked, checked_worklist = rowwise(tracker, requests, now)
            runs.append(time.perf_counter() - started)
        rowwise_s = statistics.median(runs)

    agreement_pct, detail = agreement(table, checked)
    print("agreement by column: " + json.dumps(detail), file=sys.stderr)
    print("worklist (baseline's actions): " + json.dumps(worklist_agreement(
        worklist, checked_worklist, checked.index)), file=sys.stderr)
    assert agreement_pct >= 99.0, f"row-by-row and vectorised disagree: {agreement_pct:.2f}%"

    vectorised_s = statistics.median(totals)
    result: dict[str, object] = {
        "benchmark": "deadlines+worklist",
        "rows": len(requests),
        "vectorised_s": round(vectorised_s, 3),
        "rowwise_s": round(rowwise_s, 3),
        "speedup": round(rowwise_s / vectorised_s, 1),
        "deadlines_s": round(statistics.median(deadline_times), 3),
        "worklist_s": round(statistics.median(worklist_times), 3),
        "one_request_deadlines_s": round(statistics.median(one_times), 4),
        "agreement_pct": round(agreement_pct, 2),
    }
    if scaled_from is not None:
        result["rowwise_scaled_from_rows"] = scaled_from
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
