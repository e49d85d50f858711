"""Benchmark: deadlines + worklist, column-wise, against a row-by-row baseline in the same run.

    python benchmarks/bench_deadlines.py [--rows 100000] [--repeat 5]

The baseline is the code someone would write first: `for row in requests.itertuples()`,
plain datetime arithmetic, business days by stepping one day at a time over a set of
holiday dates, every deadline rule of CONTRACT section 2 (with a basis sentence, as the
package gives one) and a worklist for a representative subset of actions, then a sort.
Both run on the same loaded frame (loading is not timed). Before the numbers count, the
baseline's decision_due, appeal_target and p2p_window_closes must agree with the package's
on the rows where both are defined, so the comparison is like for like.

Prints one JSON line on stdout; notes (agreement per column, scaling) go to stderr.
Targets (issue): at least 20x faster than the baseline, under one second at 100,000 rows.
"""

from __future__ import annotations

import argparse
import calendar as month_calendar
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

from patoolkit import Tracker, load_tracker
from patoolkit.calendars import BusinessCalendar
from patoolkit.deadlines import deadlines_for
from patoolkit.timeframes import (
    APPEAL_FILING,
    DECISION_TIMEFRAMES,
    DEFAULT_P2P_WINDOW_DAYS,
    EXTERNAL_REVIEW,
    TOLLING_PLAN_TYPES,
)
from patoolkit.worklist import worklist_for

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"  # generated trackers; git-ignored
AS_OF = "2026-12-01 09:00"
SLICE_ROWS = 10_000
ROWWISE_LIMIT_S = 60.0

# The contract's words, spelled out again here on purpose: the baseline does not import
# the package's rule code, only its tables (timeframes.py) and its holiday dates.
DENIALS = ("Denied", "Partially Approved")
APPROVALS = ("Approved", "Partially Approved")
FINISHED = ("Approved", "Partially Approved", "Denied", "P2P Requested", "Appeal Submitted",
            "External Review", "Overturned", "Upheld", "Withdrawn", "Expired", "Closed")
INACTIVE = ("Withdrawn", "Expired", "Closed")
OVERRIDES = ("standard_decision_days", "expedited_decision_hours", "p2p_window_days",
             "appeal_filing_days", "external_review_days")
ACTION_ORDER = {"answer_info_request": 4, "check_status": 5, "escalate_decision": 6,
                "request_p2p": 8, "file_appeal": 9, "renew_authorization": 11}
ACTION_LABELS = {"answer_info_request": "Answer information request",
                 "check_status": "Check status", "escalate_decision": "Escalate overdue decision",
                 "request_p2p": "Request peer-to-peer", "file_appeal": "File written appeal",
                 "renew_authorization": "Renew authorization"}
ONE_DAY = dt.timedelta(days=1)
LATEST = pd.Timestamp.max


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
    return value is not None and value is not pd.NaT and value is not pd.NA


def text(value: object) -> str | None:
    """A cell's text, or None when empty (pd.NA cannot be compared in an `if`)."""
    return None if value is None or value is pd.NA else value  # type: ignore[return-value]


def end_of_day(stamp: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(stamp.date(), dt.time(23, 59, 59))


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
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


def setting(settings: dict[str, object], key: str, default: int) -> int:
    value = settings.get(key)
    return int(value) if isinstance(value, int | float) and value == value else default


def override_lookup(payers: pd.DataFrame) -> dict[tuple[str, str | None], dict[str, float]]:
    """(payer key, plan type) and (payer key, None) -> the override values the sheet gives."""
    specific: dict[tuple[str, str | None], dict[str, float]] = {}
    no_plan: dict[str, dict[str, float]] = {}
    any_plan: dict[str, dict[str, float]] = {}
    for row in payers.itertuples():
        if not given(row.payer):
            continue
        key = str(row.payer).strip().casefold()
        plan = row.plan_type if given(row.plan_type) else None
        for column in OVERRIDES:
            value = getattr(row, column)
            if not given(value):
                continue
            if plan is not None:
                specific.setdefault((key, plan), {}).setdefault(column, float(value))
            else:
                no_plan.setdefault(key, {}).setdefault(column, float(value))
            any_plan.setdefault(key, {}).setdefault(column, float(value))
    lookup: dict[tuple[str, str | None], dict[str, float]] = {}
    for key in any_plan:
        lookup[(key, None)] = {**any_plan[key], **no_plan.get(key, {})}
    for (key, plan), values in specific.items():
        lookup[(key, plan)] = {**lookup[(key, None)], **values}
    return lookup


def rowwise_deadlines(requests: pd.DataFrame, payers: pd.DataFrame, settings: dict[str, object],
                      holidays: set[dt.date], now: dt.datetime) -> list[dict[str, object]]:
    overrides = override_lookup(payers)
    info_hours = setting(settings, "info_response_hours", 24)
    cadence = setting(settings, "status_check_business_days", 2)
    lead = setting(settings, "renewal_lead_days", 14)
    threshold = setting(settings, "low_units_threshold", 5)
    today = now.date()
    records = []
    for row in requests.itertuples():
        plan = text(row.plan_type)
        payer = text(row.payer) or "the payer"
        urgency = text(row.urgency) or "Standard"
        status, decision = text(row.status), text(row.decision)
        p2p_outcome, appeal_outcome = text(row.p2p_outcome), text(row.appeal_outcome)
        submitted = row.submitted_at if given(row.submitted_at) else None
        service = row.scheduled_service_date if given(row.scheduled_service_date) else None
        found = {}
        if given(row.payer):
            key = str(row.payer).strip().casefold()
            found = overrides.get((key, plan)) or overrides.get((key, None)) or {}
        out: dict[str, object] = {"request_id": row.request_id}

        # decision_due
        on = submitted.date() if submitted is not None else dt.date.today()
        timeframe = None
        basis = None
        for rule in DECISION_TIMEFRAMES:
            if plan not in rule.plan_types or urgency != rule.urgency:
                continue
            if rule.effective_from is not None and on < rule.effective_from:
                continue
            if rule.effective_to is not None and on > rule.effective_to:
                continue
            timeframe = dt.timedelta(**{rule.unit: rule.amount})
            basis = plan + rule.wording
            break
        if urgency == "Standard" and "standard_decision_days" in found:
            days = found["standard_decision_days"]
            timeframe = dt.timedelta(days=days)
            basis = f"Payers sheet: {payer} allows {days:g} calendar days for a standard decision"
        if urgency == "Expedited" and "expedited_decision_hours" in found:
            hours = found["expedited_decision_hours"]
            timeframe = dt.timedelta(hours=hours)
            basis = f"Payers sheet: {payer} allows {hours:g} hours for an expedited decision"
        due = None
        if submitted is not None and timeframe is not None:
            start = submitted
            if submitted.hour == submitted.minute == submitted.second == 0:
                start = end_of_day(submitted)
            due = start + timeframe
            if given(row.extension_days) and row.extension_days > 0:
                due += dt.timedelta(days=int(row.extension_days))
                basis += f"; plus {row.extension_days} days' extension"
            if plan in TOLLING_PLAN_TYPES and given(row.info_requested_at):
                if given(row.info_responded_at):
                    stopped = max(row.info_responded_at - row.info_requested_at, dt.timedelta())
                    due += stopped
                    basis += (f"; clock stopped {stopped.total_seconds() / 3600:.1f} hours "
                              "while the payer waited for information")
                else:
                    due = None
                    basis = (f"clock stopped: {payer} is waiting for the information it asked "
                             f"for on {row.info_requested_at:%Y-%m-%d}")
        if timeframe is None:
            basis = f"{plan or 'no plan type'}: no decision timeframe in law; add one on the " \
                    "Payers sheet"
        elif submitted is None:
            basis = "not submitted yet; " + basis
        out["decision_due"] = due
        out["basis_decision_due"] = basis

        # info_response_due
        if given(row.info_requested_at):
            out["info_response_due"] = row.info_requested_at + dt.timedelta(hours=info_hours)
            out["basis_info_response_due"] = (f"Settings: answer a payer's information request "
                                              f"within {info_hours} hours")

        # next_status_check
        if submitted is not None and decision is None and status not in FINISHED:
            near = (service is not None
                    and count_business_days(today, service.date(), holidays) <= 5)
            step = 1 if near else cadence
            last = row.last_status_check if given(row.last_status_check) else submitted
            out["next_status_check"] = end_of_day(
                dt.datetime.combine(add_business_days(last.date(), step, holidays), dt.time()))
            out["basis_next_status_check"] = f"Settings: check status every {step} business " \
                                             "day(s)"

        # at_risk
        undecided = decision is None and status not in FINISHED and text(row.pa_required) != "No"
        expected = due
        if expected is None and timeframe is not None:
            expected = end_of_day(now) + timeframe
        at_risk = bool(undecided and service is not None and expected is not None
                       and expected >= dt.datetime.combine(service.date(), dt.time()))
        out["at_risk"] = at_risk
        if at_risk:
            out["basis_at_risk"] = f"the payer's decision is due {expected:%Y-%m-%d %H:%M}, " \
                                   f"on or after the service date {service:%Y-%m-%d}"

        # p2p_window_closes, appeal_target, appeal_filing_deadline
        if decision in DENIALS and given(row.decision_date):
            decided = row.decision_date
            window = found.get("p2p_window_days", DEFAULT_P2P_WINDOW_DAYS)
            out["p2p_window_closes"] = end_of_day(decided) + dt.timedelta(days=window)
            out["basis_p2p_window_closes"] = f"{window:g} days for peer-to-peer"
            out["appeal_target"] = end_of_day(dt.datetime.combine(
                add_business_days(decided.date(), 1, holidays), dt.time()))
            out["basis_appeal_target"] = "practice protocol: file the written appeal within " \
                                         "1 business day of the denial"
            filing = found.get("appeal_filing_days")
            filing_basis = f"Payers sheet: {payer} allows {filing} days to file an appeal"
            if filing is None:
                for rule in APPEAL_FILING:
                    if plan in rule.plan_types:
                        filing = rule.days
                        filing_basis = f"{plan}: {filing} days ({rule.citation})"
                        break
            if filing is not None:
                out["appeal_filing_deadline"] = end_of_day(decided) + dt.timedelta(days=filing)
                out["basis_appeal_filing_deadline"] = filing_basis

        # external_review_deadline
        if appeal_outcome == "Upheld" and given(row.appeal_decision_date):
            decided = row.appeal_decision_date
            if "external_review_days" in found:
                days = found["external_review_days"]
                out["external_review_deadline"] = end_of_day(decided) + dt.timedelta(days=days)
                out["basis_external_review_deadline"] = f"Payers sheet: {days:g} days"
            else:
                for rule in EXTERNAL_REVIEW:
                    if plan in rule.plan_types and rule.months:
                        out["external_review_deadline"] = end_of_day(dt.datetime.combine(
                            add_months(decided.date(), rule.months), dt.time()))
                        out["basis_external_review_deadline"] = f"{rule.months} months after " \
                            f"the upheld appeal ({rule.citation})"
                        break

        # renewal_due, low_units
        approved = (decision in APPROVALS
                    or p2p_outcome in ("Overturned", "Partially Overturned")
                    or appeal_outcome in ("Overturned", "Partially Overturned")) \
            and status not in INACTIVE
        authorized = row.units_authorized if given(row.units_authorized) else None
        used = row.units_used if given(row.units_used) else 0
        left = authorized - used if authorized is not None else None
        expires = row.auth_expiration_date if given(row.auth_expiration_date) else None
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
                     holidays: set[dt.date], now: dt.datetime) -> pd.DataFrame:
    today_end = end_of_day(now)
    horizon = now + dt.timedelta(days=30)
    actions = []
    for row, line in zip(requests.itertuples(), deadlines, strict=True):
        status, decision = text(row.status), text(row.decision)
        p2p_outcome, appeal_outcome = text(row.p2p_outcome), text(row.appeal_outcome)
        payer = text(row.payer) or "the payer"
        active = status not in INACTIVE
        found = []
        waiting_info = (given(row.info_requested_at) and not given(row.info_responded_at)
                        and decision is None and active)
        if waiting_info:
            found.append(("answer_info_request", line["info_response_due"],
                          f"{payer} asked for information on {row.info_requested_at:%Y-%m-%d}",
                          line["basis_info_response_due"]))
        if "next_status_check" in line and not waiting_info:
            found.append(("check_status", line["next_status_check"],
                          f"no decision yet from {payer}", line["basis_next_status_check"]))
        decision_due = line["decision_due"]
        if (given(row.submitted_at) and decision is None and status not in FINISHED
                and decision_due is not None and decision_due < now):
            found.append(("escalate_decision", decision_due,
                          f"{payer}'s decision was due {decision_due:%Y-%m-%d %H:%M}; call and "
                          "escalate", line["basis_decision_due"]))
        denied = (decision in DENIALS and active
                  and status not in ("Overturned", "Upheld", "Closed")
                  and p2p_outcome != "Overturned"
                  and appeal_outcome not in ("Overturned", "Upheld"))
        if denied:
            reason = text(row.denial_reason) or "no reason recorded"
            decided_end = end_of_day(row.decision_date) if given(row.decision_date) else None
            window = line.get("p2p_window_closes")
            if (not given(row.p2p_requested_date) and not given(row.appeal_submitted_date)
                    and window is not None and window >= now):
                found.append(("request_p2p", decided_end,
                              f"denied ({reason}); peer-to-peer window closes {window:%Y-%m-%d}",
                              line["basis_p2p_window_closes"]))
            p2p_failed = (p2p_outcome in ("Upheld", "Withdrawn")
                          or not given(row.p2p_requested_date))
            filing = line.get("appeal_filing_deadline")
            # As worklist.py does today: with no filing deadline on record the appeal is not
            # listed ((NaT >= now) is False there, so its .fillna(True) never applies).
            if (not given(row.appeal_submitted_date) and p2p_failed
                    and filing is not None and filing >= now):
                due = line.get("appeal_target")
                if given(row.p2p_date):
                    due = end_of_day(dt.datetime.combine(
                        add_business_days(row.p2p_date.date(), 1, holidays), dt.time()))
                    if filing is not None and due > filing:
                        due = filing
                found.append(("file_appeal", due, f"answer the denial reason point by point: "
                              f"{reason}", line.get("basis_appeal_target")))
        expires = row.auth_expiration_date if given(row.auth_expiration_date) else None
        current = expires is None or end_of_day(expires) >= now
        renewal = line.get("renewal_due")
        if (renewal is not None and renewal <= horizon and expires is not None and current) or (
                line["low_units"] and current):
            due = renewal
            if line["low_units"]:
                due = min(renewal, today_end) if renewal is not None else today_end
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
        if due is not None and due < now:
            bucket = 0
        elif due is not None and due.date() == now.date():
            bucket = 1
        service = action["scheduled_service_date"]
        return (bucket, due if due is not None else LATEST,
                service if given(service) else LATEST,
                text(action["request_id"]) or "", ACTION_ORDER[action["action_key"]])

    actions.sort(key=urgency)
    return pd.DataFrame(actions)


def rowwise(tracker: Tracker, requests: pd.DataFrame, now: dt.datetime
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The baseline's deadlines table and worklist, as frames like the package's."""
    frames = tracker.frames
    calendar = BusinessCalendar.for_dates(
        [requests["submitted_at"], requests["scheduled_service_date"],
         requests["decision_date"], requests["p2p_date"], pd.Timestamp(now)],
        frames["Closures"]["date"])
    holidays = {day.item() for day in calendar.holidays}
    records = rowwise_deadlines(requests, frames["Payers"], tracker.settings, holidays, now)
    worklist = rowwise_worklist(requests, records, holidays, now)
    return pd.DataFrame(records, index=requests.index), worklist


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def agreement(ours: pd.DataFrame, theirs: pd.DataFrame) -> tuple[float, dict[str, object]]:
    """Share of rows, where both give a value, on which the three checked deadlines agree."""
    same = total = 0
    detail: dict[str, object] = {}
    for column in ("decision_due", "appeal_target", "p2p_window_closes"):
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
    """The package's worklist, cut to the baseline's actions and rows, against the baseline's."""
    cut = ours[ours["action_key"].isin(list(ACTION_ORDER)) & ours["row"].isin(rows)]
    same = len(cut) == len(theirs) and bool(
        (cut["row"].to_numpy() == theirs["row"].to_numpy()).all()
        and (cut["action_key"].to_numpy() == theirs["action_key"].to_numpy()).all()
        and (cut["due"].to_numpy() == pd.to_datetime(theirs["due"]).to_numpy()).all())
    return {"vectorised_actions": len(cut), "rowwise_actions": len(theirs),
            "same_actions_due_and_order": same}


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
        "agreement_pct": round(agreement_pct, 2),
    }
    if scaled_from is not None:
        result["rowwise_scaled_from_rows"] = scaled_from
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
