"""Today's actions, most urgent first: one row per thing a person should do.

Built column-wise from the deadlines and the checks: each kind of action is a
mask over the Requests frame with its due date-time, reason and basis; the
frames are stacked and sorted.

Two clocks, not one alarm: `due` is the practice's own target for the action
(a written appeal one business day after the denial, a status check every
1-2 business days), `deadline` the date after which something is lost (the
payer's appeal filing deadline, the peer-to-peer window, the service date, the
authorization's expiry; HARD_DEADLINES). Rows are ordered by the second clock
first: a deadline at risk (passed, or within DEADLINE_RISK_DAYS), then practice
targets missed, then due today, then by due date; ties by deadline, service
date, request and action, so the order is total and stable. `clock` says which.
Rows carry the patient ID, never the patient's name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import statuses
from .calendars import BusinessCalendar
from .completeness import GAP_ACTION, request_gaps
from .deadlines import (
    END_OF_DAY,
    FINISHED,
    INACTIVE,
    compute_deadlines,
    deadlines_for,
)
from .rules import enrollment_for, requirements_for
from .timeframes import AUTO_FORWARDED_TO_IRE, IRE_WATCH_DAYS, LATE_IS_ADVERSE

if TYPE_CHECKING:
    from .tracker import Tracker

RENEWAL_HORIZON_DAYS = 30
DEFAULT_TIMEFRAME = pd.Timedelta(days=15)  # to plan a submission when no rule gives one
# A pending peer-to-peer does not stop the written appeal's clock: the appeal is listed
# again once its filing deadline is this close.
FILING_NEAR_DAYS = 14
PENDING = ("Pending",)
COLUMNS = ["due", "days_left", "action", "request_id", "patient_id", "payer", "owner",
           "reason", "basis", "scheduled_service_date", "row", "deadline", "deadline_of",
           "clock"]
# A deadline this close (or passed) puts the row above every practice target missed.
DEADLINE_RISK_DAYS = 7  # a week: time to write an appeal or get a decision expedited


@dataclass(frozen=True)
class Action:
    key: str
    label: str


ACTIONS = {
    action.key: action for action in (
        Action("complete_request", GAP_ACTION),
        Action("check_requirement", "Check PA requirement"),
        Action("complete_documentation", "Complete documentation"),
        Action("fix_enrollment", "Enroll or re-assign provider"),
        Action("submit", "Submit request"),
        Action("answer_info_request", "Answer information request"),
        Action("check_status", "Check status"),
        Action("escalate_decision", "Escalate overdue decision"),
        Action("escalate_appeal_decision", "Escalate overdue appeal decision"),
        Action("record_auth_number", "Record auth number"),
        Action("request_p2p", "Request peer-to-peer"),
        Action("file_appeal", "File written appeal"),
        Action("request_external_review", "Request external review"),
        Action("request_fair_hearing", "Request State fair hearing"),
        Action("watch_ire", "Watch for the IRE decision (nothing to file)"),
        Action("renew_authorization", "Renew authorization"),
        Action("reschedule_or_expedite", "Reschedule or expedite"),
    )
}
ACTION_ORDER = {key: position for position, key in enumerate(ACTIONS)}

SERVICE_DATE = ("scheduled_service_date", "service date")
# action -> (column of Requests or of the deadlines, what it is): the date after which doing
# the action late loses something. The service date: a service delivered without its
# authorization is denied on the claim. Actions not listed have no such date.
HARD_DEADLINES: dict[str, tuple[str, str]] = {
    "complete_request": SERVICE_DATE,
    "check_requirement": SERVICE_DATE,
    "complete_documentation": SERVICE_DATE,
    "fix_enrollment": SERVICE_DATE,
    "submit": SERVICE_DATE,
    "answer_info_request": ("decision_due", "payer decision due"),
    "check_status": SERVICE_DATE,
    "escalate_decision": SERVICE_DATE,
    "record_auth_number": SERVICE_DATE,
    "request_p2p": ("p2p_window_closes", "P2P window closes"),
    "file_appeal": ("appeal_filing_deadline", "appeal filing"),
    "request_external_review": ("external_review_deadline", "external review"),
    "request_fair_hearing": ("state_fair_hearing_deadline", "State fair hearing"),
    "renew_authorization": ("auth_expiration_date", "auth expires"),
    "reschedule_or_expedite": SERVICE_DATE,
}
CLOCKS = ("deadline at risk", "practice target missed", "due today", "upcoming")


def _fmt(stamps: pd.Series) -> pd.Series:
    return stamps.dt.strftime("%Y-%m-%d").astype("string")


def build_worklist(requests: pd.DataFrame, payers: pd.DataFrame, rules: pd.DataFrame,
                   criteria: pd.DataFrame, providers: pd.DataFrame,
                   settings: Mapping[str, object], calendar: BusinessCalendar,
                   as_of: dt.datetime | dt.date | str | None = None,
                   deadlines: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every action due, most urgent first (columns: COLUMNS plus action_key)."""
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    if deadlines is None:
        deadlines = compute_deadlines(requests, payers, settings, calendar, now)
    index = requests.index
    today_end = now.normalize() + END_OF_DAY
    status = requests["status"].astype("category")  # masks only: fast integer comparisons
    decision = requests["decision"].astype("category")
    submitted = requests["submitted_at"].notna()
    active = ~status.isin(INACTIVE).fillna(False)
    payer = requests["payer"].astype("string").fillna("the payer")
    service = requests["scheduled_service_date"]
    parts: list[pd.DataFrame] = []

    def add(key: str, mask: pd.Series, due: pd.Series | pd.Timestamp,
            reason: Callable[[pd.Series], pd.Series] | str,
            basis: Callable[[pd.Series], pd.Series] | pd.Series | str) -> None:
        """One kind of action for the rows in mask; sentences are built for those rows only."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return

        def pick(value: object) -> object:
            if callable(value):
                value = value(mask)
                return value.to_numpy() if isinstance(value, pd.Series) else value
            return value[mask].to_numpy() if isinstance(value, pd.Series) else value

        parts.append(pd.DataFrame({
            "action_key": key, "due": pick(due), "reason": pick(reason), "basis": pick(basis),
        }, index=index[mask]))

    gaps = request_gaps(requests)
    add("complete_request", gaps.notna(), today_end, lambda m: gaps[m],
        "a blank cell leaves a figure uncomputed for this request (patoolkit check lists them)")

    pending = ~submitted & active & decision.isna()
    pa_needed_by_rule = pd.Series("Unknown", index=index, dtype="string")
    reason_by_rule = pd.Series("", index=index, dtype="string")
    if pending.any():
        found = requirements_for(requests[pending], rules, now.date())
        pa_needed_by_rule[pending] = found["pa_answer"]
        reason_by_rule[pending] = found["pa_reason"]
    recorded = requests["pa_required"].astype("category")
    unchecked = pending & (requests["requirement_checked_date"].isna() | (recorded == "Unknown")
                           | recorded.isna())
    add("check_requirement", unchecked, today_end,
        lambda m: "PA requirement not recorded; the PA Rules say " + pa_needed_by_rule[m] + ": "
        + reason_by_rule[m],
        "readiness checklist: verify the requirement per service and plan before scheduling")

    needs_pa = pending & (recorded.isin(["Yes", "Unknown"]).fillna(True)
                          | pa_needed_by_rule.isin(["Yes", "Conditional", "Unknown"]))
    needs_pa &= (recorded != "No").fillna(True)
    plan_due = deadlines["decision_timeframe"].fillna(DEFAULT_TIMEFRAME)
    submit_by = (service.dt.normalize() - plan_due).where(service.notna(), today_end)

    docs_missing = needs_pa & (requests["docs_complete"].astype("string") != "Yes").fillna(True)
    if docs_missing.any():
        missing = _missing_documents(requests[docs_missing], criteria)
        add("complete_documentation", docs_missing, submit_by.where(submit_by.notna(), today_end),
            lambda m: "documents still needed: "
            + missing.reindex(index[m]).fillna("see the Criteria sheet"),
            "payer criteria (Criteria sheet): submit complete, the leading cause of denial is "
            "incomplete documentation")

    if needs_pa.any():
        enrollment = enrollment_for(requests[needs_pa], providers, now.date())
        not_enrolled = needs_pa & ~enrollment["enrolled"].reindex(index, fill_value=True)
        add("fix_enrollment", not_enrolled, today_end,
            lambda m: enrollment["enrollment_reason"].reindex(index[m]),
            "a request under a provider not enrolled with the payer is rejected before review")

    add("submit", needs_pa & service.notna(), submit_by,
        lambda m: "not submitted; service on " + _fmt(service[m]) + ", submit by "
        + _fmt(submit_by[m]) + " so the decision comes first",
        "payer timeframe before the service date (deadlines: decision_due rule)")

    waiting_info = (requests["info_requested_at"].notna() & requests["info_responded_at"].isna()
                    & decision.isna() & active)
    add("answer_info_request", waiting_info, deadlines["info_response_due"],
        lambda m: payer[m] + " asked for information on "
        + _fmt(requests["info_requested_at"][m]),
        deadlines["basis_info_response_due"])

    checking = deadlines["next_status_check"].notna() & ~waiting_info
    add("check_status", checking, deadlines["next_status_check"],
        lambda m: "no decision yet from " + payer[m], deadlines["basis_next_status_check"])

    overdue = (submitted & decision.isna() & ~status.isin(FINISHED).fillna(False)
               & (deadlines["decision_due"] < now).fillna(False))
    plan = requests["plan_type"].astype("string")
    # Medicare Advantage, Medicaid, CHIP: a missed deadline is an adverse decision to appeal.
    adverse = plan.map(LATE_IS_ADVERSE).astype("string")
    add("escalate_decision", overdue, deadlines["decision_due"],
        lambda m: (payer[m] + "'s decision was due "
                   + deadlines["decision_due"][m].dt.strftime("%Y-%m-%d %H:%M").astype("string")
                   + "; call and escalate, ask for the decision in writing"
                   + ("; the missed deadline is itself an adverse decision you can appeal now ("
                      + adverse[m] + "): record it as Denied on the due date and file the "
                      "written appeal").fillna("")),
        deadlines["basis_decision_due"])

    approved = statuses.authorized(requests)
    no_number = approved & requests["auth_number"].isna() & active
    decided_end = requests["decision_date"].dt.normalize() + END_OF_DAY
    add("record_auth_number", no_number, decided_end.fillna(today_end),
        "approved without an authorization number; claims deny without it",
        "readiness checklist: record the auth number at approval")

    # an upheld appeal's next steps are external review and the fair hearing, below
    denied = (statuses.open_denial(requests) & active
              & ~status.isin([statuses.UPHELD]).fillna(False)
              & ~requests["appeal_outcome"].isin([statuses.UPHELD]))
    p2p_open = (deadlines["p2p_window_closes"] >= now).fillna(False)
    no_p2p = requests["p2p_requested_date"].isna() & requests["appeal_submitted_date"].isna()

    def denial_reason(m: pd.Series) -> pd.Series:
        return requests["denial_reason"][m].astype("string").fillna("no reason recorded")

    add("request_p2p", denied & no_p2p & p2p_open, decided_end,
        lambda m: "denied (" + denial_reason(m) + "); peer-to-peer window closes "
        + _fmt(deadlines["p2p_window_closes"][m]),
        lambda m: "request peer-to-peer the same day as the denial; "
        + deadlines["basis_p2p_window_closes"][m].fillna(""))

    p2p_outcome = requests["p2p_outcome"].astype("category")
    p2p_failed = p2p_outcome.isin(["Upheld", "Withdrawn"]) | requests["p2p_requested_date"].isna()
    filing = deadlines["appeal_filing_deadline"]
    filing_open = filing.isna() | (filing >= now)  # no window on record: still worth filing
    # a P2P still pending does not stop the appeal clock: list the appeal as the deadline nears
    p2p_pending = (requests["p2p_requested_date"].notna()
                   & (p2p_outcome.isin(PENDING) | p2p_outcome.isna()).fillna(True))
    filing_near = (filing - now <= pd.Timedelta(days=FILING_NEAR_DAYS)).fillna(False)
    unfiled = denied & requests["appeal_submitted_date"].isna() & filing_open
    appealing = unfiled & (p2p_failed.fillna(False) | (p2p_pending & filing_near))
    waiting_p2p = appealing & p2p_pending
    appeal_due = deadlines["appeal_target"].copy()
    after_p2p_rows = appealing & requests["p2p_date"].notna()
    if after_p2p_rows.any():
        after_p2p = calendar.add_business_days(requests["p2p_date"][after_p2p_rows], 1) \
            + END_OF_DAY
        limit = filing[after_p2p_rows]
        appeal_due[after_p2p_rows] = after_p2p.where(limit.isna() | (after_p2p <= limit), limit)
    appeal_due[waiting_p2p] = filing[waiting_p2p]
    add("file_appeal", appealing, appeal_due,
        lambda m: "denied: " + denial_reason(m) + "; answer it point by point with new "
        "documents; filing deadline " + _fmt(filing[m]).fillna("unknown")
        + pd.Series(np.where(waiting_p2p[m], "; the peer-to-peer requested on "
                             + _fmt(requests["p2p_requested_date"][m]).fillna("")
                             + " is still pending and does not stop the appeal clock", ""),
                    index=index[m]).astype("string"),
        lambda m: deadlines["basis_appeal_target"][m].fillna("") + "; "
        + deadlines["basis_appeal_filing_deadline"][m].fillna("no filing window on record"))

    external = (deadlines["external_review_deadline"].notna()
                & (deadlines["external_review_deadline"] >= now)
                & (requests["appeal_level"].astype("string") != "External Review").fillna(True)
                & ~status.isin(["External Review", "Overturned", "Closed", "Withdrawn"])
                .fillna(False))
    add("request_external_review", external, deadlines["external_review_deadline"],
        lambda m: "internal appeal upheld on " + _fmt(requests["appeal_decision_date"][m])
        + "; an independent reviewer can overturn it",
        deadlines["basis_external_review_deadline"])

    appeal_outcome = requests["appeal_outcome"].astype("category")
    appeal_open = requests["appeal_submitted_date"].notna() & active & (
        appeal_outcome.isin(PENDING) | appeal_outcome.isna()).fillna(True)
    appeal_late = appeal_open & (deadlines["appeal_decision_due"] < now).fillna(False)
    add("escalate_appeal_decision", appeal_late, deadlines["appeal_decision_due"],
        lambda m: payer[m] + "'s appeal decision was due "
        + _fmt(deadlines["appeal_decision_due"][m]) + " (appeal filed "
        + _fmt(requests["appeal_submitted_date"][m]) + "); call and escalate, ask for the "
        "decision in writing",
        deadlines["basis_appeal_decision_due"])

    upheld = (appeal_outcome == "Upheld").fillna(False) & active & \
        requests["appeal_decision_date"].notna()
    hearing = deadlines["state_fair_hearing_deadline"]
    add("request_fair_hearing", upheld & (hearing >= now).fillna(False)
        & ~status.isin(["Overturned", "Closed"]).fillna(False), hearing,
        lambda m: "managed-care appeal upheld on " + _fmt(requests["appeal_decision_date"][m])
        + "; the State fair hearing can overturn it",
        deadlines["basis_state_fair_hearing_deadline"])

    forwarded = plan.map(AUTO_FORWARDED_TO_IRE).astype("string")
    watching = upheld & forwarded.notna() & ~status.isin(["Overturned", "Closed"]).fillna(False)
    add("watch_ire", watching,
        requests["appeal_decision_date"].dt.normalize() + END_OF_DAY
        + pd.Timedelta(days=IRE_WATCH_DAYS),
        lambda m: "reconsideration upheld on " + _fmt(requests["appeal_decision_date"][m])
        + ": " + payer[m] + " sends the case to the Independent Review Entity itself; nothing "
        "to file, watch for the IRE's decision",
        lambda m: "the plan forwards an upheld reconsideration to the IRE (" + forwarded[m]
        + f"); practice follow-up: ask for the IRE case if nothing came in {IRE_WATCH_DAYS} "
        "days")

    expires = requests["auth_expiration_date"]
    horizon = now + pd.Timedelta(days=RENEWAL_HORIZON_DAYS)
    still_valid = expires.isna() | (expires.dt.normalize() + END_OF_DAY >= now)
    renewing = ((deadlines["renewal_due"].notna() & (deadlines["renewal_due"] <= horizon)
                 & expires.notna() & still_valid) | (deadlines["low_units"] & still_valid))
    renew_due = deadlines["renewal_due"].where(~deadlines["low_units"],
                                               deadlines["renewal_due"].clip(upper=today_end)
                                               .fillna(today_end))
    add("renew_authorization", renewing, renew_due,
        lambda m: "authorization " + requests["auth_number"][m].astype("string")
        .fillna("(no number)") + " expires " + _fmt(expires[m]).fillna("(no date)") + ", "
        + (requests["units_authorized"][m] - requests["units_used"][m].fillna(0))
        .astype("string").fillna("?") + " units left",
        lambda m: deadlines["basis_renewal_due"][m].fillna(deadlines["basis_low_units"][m])
        .fillna(""))

    add("reschedule_or_expedite", deadlines["at_risk"], service.dt.normalize(),
        "the decision may come after the service: ask for expedited review if waiting could "
        "harm the patient, or reschedule",
        deadlines["basis_at_risk"])

    if not parts:
        return _empty_worklist()
    actions = pd.concat(parts)
    actions["row"] = actions.index
    positions = requests.index.get_indexer(actions.index)
    for column in ("request_id", "patient_id", "payer", "owner", "scheduled_service_date"):
        actions[column] = requests[column].to_numpy()[positions]
    actions["due"] = pd.to_datetime(actions["due"])
    actions["days_left"] = ((actions["due"] - now) / pd.Timedelta(days=1)).round(1)
    actions["action"] = actions["action_key"].map({k: a.label for k, a in ACTIONS.items()})
    # masks from the few distinct keys, and the words filled in numpy: one string column
    # made once instead of one masked write per kind of action
    key_codes, key_names = pd.factorize(actions["action_key"])
    deadline = np.full(len(actions), np.datetime64("NaT"), dtype="datetime64[ns]")
    deadline_of = np.full(len(actions), None, dtype=object)
    for key, (column, words) in HARD_DEADLINES.items():
        if key not in key_names:
            continue
        mine = key_codes == key_names.get_loc(key)
        source = requests[column] if column in requests.columns else deadlines[column]
        values = pd.to_datetime(source.to_numpy()[positions[mine]])
        if column in requests.columns:  # a date of the Requests sheet: the start of that day
            values = values.normalize()
        deadline[mine] = values.to_numpy(dtype="datetime64[ns]")
        deadline_of[mine] = words
    actions["deadline"] = deadline
    actions["deadline_of"] = pd.Series(deadline_of, index=actions.index, dtype="string").where(
        ~np.isnat(deadline))
    return order_worklist(actions.reset_index(drop=True), now)[[*COLUMNS, "action_key"]]


def _empty_worklist() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="string") for column in
                          [*COLUMNS, "action_key"]})
    for column in ("due", "scheduled_service_date", "deadline"):
        frame[column] = pd.Series(dtype="datetime64[ns]")
    frame["days_left"] = pd.Series(dtype="float64")
    frame["row"] = pd.Series(dtype="int64")
    return frame


def clock_of(actions: pd.DataFrame, now: pd.Timestamp) -> np.ndarray:
    """Which clock makes each row urgent, as a position in CLOCKS: its deadline passed or
    within DEADLINE_RISK_DAYS, else its practice target missed, due today, or upcoming."""
    due, deadline = actions["due"], actions["deadline"]
    at_risk = (deadline - now <= pd.Timedelta(days=DEADLINE_RISK_DAYS)).fillna(False)
    return np.select([at_risk.to_numpy(), (due < now).to_numpy(),
                      (due.dt.normalize() == now.normalize()).to_numpy()], [0, 1, 2], default=3)


def order_worklist(actions: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Deadlines at risk first (soonest deadline first), then practice targets missed, then
    due today, then by due; ties by deadline, service date, tracker row, action."""
    if "deadline" not in actions.columns:
        actions = actions.assign(deadline=pd.Series(pd.NaT, index=actions.index,
                                                    dtype="datetime64[ns]"))
    due = actions["due"]
    bucket = clock_of(actions, now)
    latest = np.iinfo("int64").max  # blank dates sort last

    def key_of(stamps: pd.Series) -> np.ndarray:
        return np.where(stamps.isna().to_numpy(), latest,
                        stamps.to_numpy(dtype="datetime64[ns]").astype("int64"))

    due_key, deadline_key = key_of(due), key_of(actions["deadline"])
    # at risk: by the deadline itself; the others by their target
    first_key = np.where(bucket == 0, deadline_key, due_key)
    service_key = key_of(actions["scheduled_service_date"])
    row_key = actions["row"].to_numpy(dtype="int64")  # one request per row: ties are total
    # the action's place in ACTIONS, looked up per distinct key (a map over every row is slow)
    key_codes, key_names = pd.factorize(actions["action_key"])
    action_key = np.array([ACTION_ORDER.get(name, np.nan) for name in key_names] + [np.nan]
                          )[key_codes]
    # np.lexsort sorts by the last key first and is stable: the order is total and repeatable
    order = np.lexsort((action_key, row_key, service_key, deadline_key, first_key, bucket))
    ordered = actions.iloc[order].reset_index(drop=True)
    ordered["clock"] = pd.Series(np.asarray(CLOCKS, dtype=object)[bucket[order]],
                                 dtype="string")
    return ordered


def _missing_documents(requests: pd.DataFrame, criteria: pd.DataFrame) -> pd.Series:
    """Required Criteria items per request (payer rows replace * rows), joined in words."""
    if criteria.empty:
        return pd.Series(dtype="string")
    table = criteria.dropna(subset=["service_category", "item"]).assign(
        _payer=criteria["payer"].astype("string").str.strip().str.casefold().fillna("*"))
    table = table[(table["required"].astype("string") != "No").fillna(True)]
    general = table[table["_payer"] == "*"].groupby("service_category")["item"].agg("; ".join)
    own = table[table["_payer"] != "*"].groupby(["service_category", "_payer"])["item"] \
        .agg("; ".join)
    # worked out once per distinct (service category, payer) pair, then spread to the rows
    own_items, general_items = own.to_dict(), general.to_dict()
    category_codes, categories = pd.factorize(requests["service_category"].astype("string"))
    payer_codes, payers = pd.factorize(requests["payer"].astype("string"))
    payer_keys = pd.Series(payers, dtype="string").str.strip().str.casefold().tolist()
    pairs = (category_codes + 1) * (len(payers) + 1) + payer_codes + 1
    _, first, inverse = np.unique(pairs, return_index=True, return_inverse=True)
    found = []
    for position in first:
        category = categories[category_codes[position]] if category_codes[position] >= 0 \
            else None
        payer = payer_keys[payer_codes[position]] if payer_codes[position] >= 0 else None
        items = own_items.get((category, payer)) if category is not None else None
        found.append(items if items is not None else general_items.get(category))
    return pd.Series(pd.array(np.array(found, dtype=object)[inverse], dtype="string"),
                     index=requests.index)


def worklist_calendar(tracker: Tracker, now: pd.Timestamp) -> BusinessCalendar:
    """The business calendar worklist_for counts with: the tracker's one (Tracker.calendar)."""
    return tracker.calendar(now)


def worklist_for_requests(tracker: Tracker, rows: Sequence[int],
                          as_of: dt.datetime | dt.date | str | None = None,
                          deadlines: pd.DataFrame | None = None,
                          calendar: BusinessCalendar | None = None) -> pd.DataFrame:
    """The worklist rows of some requests only (by Excel row), as worklist_for gives them.

    Every action is worked out from its own request's row (its deadlines, PA Rules match,
    documents, enrollment), so after a save of one request its rows are recomputed alone
    and spliced into the rest with splice_worklist. The calendar must be the whole
    tracker's (worklist_calendar): a save that moves its years changes every request's
    count, and then the whole worklist is recomputed. deadlines: the whole tracker's (or
    at least those rows'), as deadlines_for gives them.
    """
    frames = tracker.frames
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    requests = frames["Requests"].loc[list(rows)]
    if deadlines is None:
        deadlines = deadlines_for(tracker, now)
    return build_worklist(requests, frames["Payers"], frames["PA Rules"], frames["Criteria"],
                          frames["Providers"], tracker.settings,
                          calendar or worklist_calendar(tracker, now), now,
                          deadlines.loc[requests.index])


def splice_worklist(actions: pd.DataFrame, fresh: pd.DataFrame, rows: Sequence[int],
                    now: pd.Timestamp) -> pd.DataFrame:
    """actions with the rows of those requests (Excel rows) replaced by fresh, in worklist
    order (order_worklist: the order is total, so the result is the order a full
    recompute gives). Columns besides the worklist's are kept; fresh must carry them."""
    kept = actions[~actions["row"].isin(list(rows))]
    if fresh.empty:
        return kept.reset_index(drop=True)
    joined = pd.concat([kept, fresh[actions.columns]], ignore_index=True) if len(kept) \
        else fresh[actions.columns].reset_index(drop=True)
    # a few fresh rows can type a column differently from the many (a text column all blank
    # in them is object, not text): as a full recompute would, the many decide
    for name in joined.columns:
        if joined[name].dtype != actions[name].dtype:
            joined[name] = joined[name].astype(actions[name].dtype)
    return order_worklist(joined, now)


def worklist_for(tracker: Tracker, as_of: dt.datetime | dt.date | str | None = None,
                 owner: str | None = None, deadlines: pd.DataFrame | None = None) -> pd.DataFrame:
    """build_worklist for a loaded Tracker, optionally for one owner."""
    from .deadlines import deadlines_for

    frames = tracker.frames
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    requests = frames["Requests"]
    if deadlines is None:
        deadlines = deadlines_for(tracker, now)
    actions = build_worklist(requests, frames["Payers"], frames["PA Rules"], frames["Criteria"],
                             frames["Providers"], tracker.settings,
                             worklist_calendar(tracker, now), now, deadlines)
    if owner:
        wanted = owner.strip().casefold()
        actions = actions[actions["owner"].astype("string").str.strip().str.casefold() == wanted]
    return actions.reset_index(drop=True)


WINDOWS = {  # deadline column -> what closes
    "p2p_window_closes": "Peer-to-peer window",
    "appeal_filing_deadline": "Appeal filing",
    "appeal_decision_due": "Appeal decision (payer)",
    "external_review_deadline": "External review",
    "state_fair_hearing_deadline": "State fair hearing",
}


def denials_board(requests: pd.DataFrame, deadlines: pd.DataFrame, now: pd.Timestamp
                  ) -> pd.DataFrame:
    """Every open denial with its P2P, appeal and external review windows, closing soonest first.

    A window is open while its step has not been taken: P2P until one is requested or
    held (or an appeal filed), the appeal until it is filed, the payer's appeal decision
    while it is awaited, external review and the State fair hearing once the appeal is
    upheld. next_deadline is the soonest open window still ahead, else the latest one
    already passed (days_left < 0: overdue). An appeal not filed by its deadline says the
    filing is late (an appeal letter asks for good cause).
    """
    deadlines = deadlines.set_axis(requests.index)
    denied = statuses.open_denial(requests)
    rows, windows = requests[denied], deadlines[denied]
    appeal_filed = rows["appeal_submitted_date"].notna()
    upheld = (rows["appeal_outcome"].astype("string") == "Upheld").fillna(False)
    p2p_taken = rows["p2p_requested_date"].notna() | rows["p2p_date"].notna()
    appeal_outcome = rows["appeal_outcome"].astype("string")
    awaiting = appeal_filed & (appeal_outcome.isna() | (appeal_outcome == "Pending")).fillna(True)
    open_windows = pd.DataFrame({
        "p2p_window_closes": windows["p2p_window_closes"].where(~p2p_taken & ~appeal_filed),
        "appeal_filing_deadline": windows["appeal_filing_deadline"].where(~appeal_filed),
        "appeal_decision_due": windows["appeal_decision_due"].where(awaiting),
        "external_review_deadline": windows["external_review_deadline"].where(upheld),
        "state_fair_hearing_deadline": windows["state_fair_hearing_deadline"].where(upheld),
    })
    ahead = open_windows.where(open_windows >= now)
    passed = open_windows.where(open_windows < now)
    far = pd.Timestamp.max
    soonest = ahead.fillna(far).idxmin(axis=1).where(ahead.notna().any(axis=1))
    latest_passed = passed.fillna(pd.Timestamp.min).idxmax(axis=1).where(
        passed.notna().any(axis=1))
    which = soonest.fillna(latest_passed)
    next_deadline = pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ns]")
    for column in WINDOWS:
        mask = (which == column).fillna(False)
        next_deadline = next_deadline.mask(mask, open_windows[column])
    stage = pd.Series("Denied: nothing filed yet", index=rows.index, dtype="object")
    stage = stage.mask(rows["p2p_requested_date"].notna(), "P2P requested")
    stage = stage.mask(rows["p2p_date"].notna(),
                       "P2P held: " + rows["p2p_outcome"].astype("string").fillna("no outcome"))
    filing_passed = ~appeal_filed & (windows["appeal_filing_deadline"] < now).fillna(False)
    stage = stage.mask(filing_passed, "Appeal filing late: good cause needed")
    stage = stage.mask(appeal_filed & ~upheld, "Appeal submitted, awaiting decision")
    stage = stage.mask(upheld, "Appeal upheld")
    to_ire = upheld & rows["plan_type"].astype("string").isin(list(AUTO_FORWARDED_TO_IRE))
    stage = stage.mask(to_ire, "Reconsideration upheld: the plan sends it to the IRE")
    board = pd.DataFrame({
        "row": rows.index, "request_id": rows["request_id"], "patient_id": rows["patient_id"],
        "payer": rows["payer"], "plan_type": rows["plan_type"], "owner": rows["owner"],
        "decision": rows["decision"], "decision_date": rows["decision_date"],
        "denial_reason": rows["denial_reason"], "stage": stage,
        "next_window": which.map(WINDOWS), "next_deadline": next_deadline,
        "days_left": (next_deadline - now) / pd.Timedelta(days=1),
        **{column: windows[column] for column in WINDOWS},
    }).reset_index(drop=True)
    return board.sort_values(["next_deadline", "row"], na_position="last",
                             kind="stable").reset_index(drop=True)


def denials_for(tracker: Tracker, as_of: dt.datetime | dt.date | str | None = None,
                deadlines: pd.DataFrame | None = None) -> pd.DataFrame:
    """denials_board for a loaded Tracker (deadlines computed when not given)."""
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    if deadlines is None:
        deadlines = deadlines_for(tracker, now)
    return denials_board(tracker.requests, deadlines, now)
