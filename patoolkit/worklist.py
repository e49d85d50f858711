"""Today's actions, most urgent first: one row per thing a person should do.

Built column-wise from the deadlines and the checks, from one table: each row
of ACTIONS is a kind of action, with the words shown, a mask over the Requests
frame, its due date-time, its deadline, its reason and basis; its place in the
table is its order among actions due at once. A new kind of action is a new
row. The frames of the rows are stacked and sorted.

Two clocks, not one alarm: `due` is the practice's own target for the action
(a written appeal one business day after the denial, a status check every
1-2 business days), `deadline` the date after which something is lost (the
payer's appeal filing deadline, the peer-to-peer window, the service date, the
authorization's expiry; Action.deadline). Rows are ordered by the second clock
first: a deadline at risk (passed, or within the practice target deadline_risk,
timeframes.PRACTICE_TARGETS), then practice
targets missed, then due today, then by due date; ties by deadline, service
date, request and action, so the order is total and stable. `clock` says which.
Rows carry the patient ID, never the patient's name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
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
    deadlines_for_requests,
)
from .rules import enrollment_for, requirements_for
from .timeframes import AUTO_FORWARDED_TO_IRE, LATE_IS_ADVERSE, TARGETS, practice_targets

if TYPE_CHECKING:
    from .tracker.read import Tracker

PENDING = ("Pending",)
COLUMNS = ["due", "days_left", "action", "request_id", "patient_id", "payer", "owner",
           "reason", "basis", "scheduled_service_date", "row", "deadline", "deadline_of",
           "clock"]
CLOCKS = ("deadline at risk", "practice target missed", "due today", "upcoming")
# The service date: a service delivered without its authorization is denied on the claim.
SERVICE_DATE = ("scheduled_service_date", "service date")


def _fmt(stamps: pd.Series) -> pd.Series:
    return stamps.dt.strftime("%Y-%m-%d").astype("string")


def _days(count: int) -> pd.Timedelta:
    return pd.Timedelta(days=count)


class Facts:
    """What the rows of ACTIONS read: the frames, the time, the practice's targets, and the
    masks and dates several actions share. A shared one is worked out once, when an action
    first asks for it: the PA Rules and enrollment matches, the costliest, only for the
    unsent requests and only when there are some."""

    def __init__(self, requests: pd.DataFrame, rules: pd.DataFrame, criteria: pd.DataFrame,
                 providers: pd.DataFrame, settings: Mapping[str, object],
                 calendar: BusinessCalendar, now: pd.Timestamp, deadlines: pd.DataFrame):
        self.requests, self.deadlines = requests, deadlines
        self.rules, self.criteria, self.providers = rules, criteria, providers
        self.calendar, self.now = calendar, now
        self.targets = practice_targets(settings)
        self.index = requests.index
        self.today_end = now.normalize() + END_OF_DAY
        self.status = requests["status"].astype("category")  # masks: fast integer compares
        self.decision = requests["decision"].astype("category")
        self.active = ~self.status.isin(INACTIVE).fillna(False)
        self.payer = requests["payer"].astype("string").fillna("the payer")
        self.plan = requests["plan_type"].astype("string")
        self.service = requests["scheduled_service_date"]

    def words(self, target: str) -> str:
        """The basis of a practice target, with the numbers in force."""
        return TARGETS[target].basis(self.targets)

    def open_(self, *statuses_out: str) -> pd.Series:
        """Requests whose status is none of statuses_out."""
        return ~self.status.isin(list(statuses_out)).fillna(False)

    @cached_property
    def gaps(self) -> pd.Series:
        return request_gaps(self.requests)

    @cached_property
    def pending(self) -> pd.Series:
        """Not sent, not closed, not decided: the pre-submission actions."""
        return ~self.requests["submitted_at"].notna() & self.active & self.decision.isna()

    @cached_property
    def pa_by_rule(self) -> tuple[pd.Series, pd.Series]:
        """(answer, reason) of the PA Rules for the pending requests ('Unknown', '' others)."""
        answer = pd.Series("Unknown", index=self.index, dtype="string")
        reason = pd.Series("", index=self.index, dtype="string")
        if self.pending.any():
            found = requirements_for(self.requests[self.pending], self.rules, self.now.date())
            answer[self.pending] = found["pa_answer"]
            reason[self.pending] = found["pa_reason"]
        return answer, reason

    @cached_property
    def recorded(self) -> pd.Series:
        return self.requests["pa_required"].astype("category")

    @cached_property
    def needs_pa(self) -> pd.Series:
        recorded = self.recorded
        needs = self.pending & (recorded.isin(["Yes", "Unknown"]).fillna(True)
                                | self.pa_by_rule[0].isin(["Yes", "Conditional", "Unknown"]))
        return needs & (recorded != "No").fillna(True)

    @cached_property
    def submit_by(self) -> pd.Series:
        """The payer's timeframe before the service date (a planning one when none)."""
        plan_due = self.deadlines["decision_timeframe"].fillna(
            _days(self.targets["planning_timeframe"]))
        return (self.service.dt.normalize() - plan_due).where(self.service.notna(),
                                                             self.today_end)

    @cached_property
    def docs_missing(self) -> pd.Series:
        return self.needs_pa & (self.requests["docs_complete"].astype("string") != "Yes"
                                ).fillna(True)

    @cached_property
    def enrollment(self) -> pd.DataFrame:
        return enrollment_for(self.requests[self.needs_pa], self.providers, self.now.date())

    @cached_property
    def not_enrolled(self) -> pd.Series:
        if not self.needs_pa.any():
            return self.needs_pa
        return self.needs_pa & ~self.enrollment["enrolled"].reindex(self.index, fill_value=True)

    @cached_property
    def waiting_info(self) -> pd.Series:
        requests = self.requests
        return (requests["info_requested_at"].notna() & requests["info_responded_at"].isna()
                & self.decision.isna() & self.active)

    @cached_property
    def decided_end(self) -> pd.Series:
        return self.requests["decision_date"].dt.normalize() + END_OF_DAY

    @cached_property
    def denied(self) -> pd.Series:
        """An open denial; an upheld appeal's next steps are external review and the fair
        hearing."""
        requests = self.requests
        return (statuses.open_denial(requests) & self.active & self.open_(statuses.UPHELD)
                & ~requests["appeal_outcome"].isin([statuses.UPHELD]))

    def denial_reason(self, rows: pd.Series) -> pd.Series:
        return self.requests["denial_reason"][rows].astype("string").fillna("no reason recorded")

    @cached_property
    def appeal(self) -> tuple[pd.Series, pd.Series, pd.Series]:
        """(appealing, waiting_p2p, due) of the written appeal. A P2P still pending does not
        stop the appeal clock: the appeal is listed as its filing deadline nears."""
        requests, filing, now = self.requests, self.deadlines["appeal_filing_deadline"], self.now
        p2p_outcome = requests["p2p_outcome"].astype("category")
        p2p_failed = (p2p_outcome.isin(["Upheld", "Withdrawn"])
                      | requests["p2p_requested_date"].isna())
        filing_open = filing.isna() | (filing >= now)  # no window on record: still worth filing
        p2p_pending = (requests["p2p_requested_date"].notna()
                       & (p2p_outcome.isin(PENDING) | p2p_outcome.isna()).fillna(True))
        filing_near = (filing - now <= _days(self.targets["filing_near"])).fillna(False)
        unfiled = self.denied & requests["appeal_submitted_date"].isna() & filing_open
        appealing = unfiled & (p2p_failed.fillna(False) | (p2p_pending & filing_near))
        waiting_p2p = appealing & p2p_pending
        due = self.deadlines["appeal_target"].copy()
        after_p2p_rows = appealing & requests["p2p_date"].notna()
        if after_p2p_rows.any():
            after_p2p = self.calendar.add_business_days(
                requests["p2p_date"][after_p2p_rows], self.targets["appeal_target"]) + END_OF_DAY
            limit = filing[after_p2p_rows]
            due[after_p2p_rows] = after_p2p.where(limit.isna() | (after_p2p <= limit), limit)
        due[waiting_p2p] = filing[waiting_p2p]
        return appealing, waiting_p2p, due

    @cached_property
    def appeal_outcome(self) -> pd.Series:
        return self.requests["appeal_outcome"].astype("category")

    @cached_property
    def upheld(self) -> pd.Series:
        return ((self.appeal_outcome == "Upheld").fillna(False) & self.active
                & self.requests["appeal_decision_date"].notna())

    @cached_property
    def forwarded(self) -> pd.Series:
        """The citation by which the plan sends an upheld appeal to the IRE itself."""
        return self.plan.map(AUTO_FORWARDED_TO_IRE).astype("string")

    @cached_property
    def renewal(self) -> tuple[pd.Series, pd.Series]:
        """(renewing, due): an authorization expiring within the renewal horizon or with few
        units left, while still valid."""
        deadlines, expires, now = self.deadlines, self.requests["auth_expiration_date"], self.now
        horizon = now + _days(self.targets["renewal_horizon"])
        still_valid = expires.isna() | (expires.dt.normalize() + END_OF_DAY >= now)
        renewal_due = deadlines["renewal_due"]
        renewing = ((renewal_due.notna() & (renewal_due <= horizon) & expires.notna()
                     & still_valid) | (deadlines["low_units"] & still_valid))
        soon = renewal_due.mask(renewal_due > self.today_end, self.today_end)
        return renewing, renewal_due.where(~deadlines["low_units"], soon.fillna(self.today_end))


Due = str | Callable[[Facts], pd.Series | pd.Timestamp]
Words = str | Callable[[Facts, pd.Series], pd.Series | str]


@dataclass(frozen=True)
class Action:
    """One kind of action: adding one is adding a row to ACTIONS, in its place in the order.

    key: its action_key; label: the words shown. when: the requests it is for, a mask over
    the Requests frame (a function of Facts). due: the practice's clock, the column of the
    deadlines frame that times it, or a function of Facts. deadline: (column of Requests or
    of the deadlines, what it is), the date after which doing it late loses something; None
    when there is none. reason and basis: fixed words, or words made for the rows in the
    mask (a function of Facts and the mask).
    """

    key: str
    label: str
    when: Callable[[Facts], pd.Series]
    due: Due
    reason: Words
    basis: Words
    deadline: tuple[str, str] | None = None


def _today(facts: Facts) -> pd.Timestamp:
    return facts.today_end


def _column(name: str) -> Callable[[Facts, pd.Series], pd.Series]:
    """Words from a column of the deadlines frame (a basis_ column)."""
    return lambda facts, rows: facts.deadlines[name][rows]


def _overdue(facts: Facts) -> pd.Series:
    return (facts.requests["submitted_at"].notna() & facts.decision.isna()
            & ~facts.status.isin(FINISHED).fillna(False)
            & (facts.deadlines["decision_due"] < facts.now).fillna(False))


def _overdue_reason(facts: Facts, rows: pd.Series) -> pd.Series:
    # Medicare Advantage, Medicaid, CHIP: a missed deadline is an adverse decision to appeal.
    adverse = facts.plan[rows].map(LATE_IS_ADVERSE).astype("string")
    return (facts.payer[rows] + "'s decision was due "
            + facts.deadlines["decision_due"][rows].dt.strftime("%Y-%m-%d %H:%M").astype("string")
            + "; call and escalate, ask for the decision in writing"
            + ("; the missed deadline is itself an adverse decision you can appeal now ("
               + adverse + "): record it as Denied on the due date and file the written appeal"
               ).fillna(""))


def _appeal_late(facts: Facts) -> pd.Series:
    appeal_open = facts.requests["appeal_submitted_date"].notna() & facts.active & (
        facts.appeal_outcome.isin(PENDING) | facts.appeal_outcome.isna()).fillna(True)
    return appeal_open & (facts.deadlines["appeal_decision_due"] < facts.now).fillna(False)


def _p2p_open(facts: Facts) -> pd.Series:
    requests = facts.requests
    return (facts.denied & requests["p2p_requested_date"].isna()
            & requests["appeal_submitted_date"].isna()
            & (facts.deadlines["p2p_window_closes"] >= facts.now).fillna(False))


def _appeal_reason(facts: Facts, rows: pd.Series) -> pd.Series:
    waiting_p2p = facts.appeal[1]
    return ("denied: " + facts.denial_reason(rows) + "; answer it point by point with new "
            "documents; filing deadline "
            + _fmt(facts.deadlines["appeal_filing_deadline"][rows]).fillna("unknown")
            + pd.Series(np.where(waiting_p2p[rows], "; the peer-to-peer requested on "
                                 + _fmt(facts.requests["p2p_requested_date"][rows]).fillna("")
                                 + " is still pending and does not stop the appeal clock", ""),
                        index=facts.index[rows]).astype("string"))


def _external_review(facts: Facts) -> pd.Series:
    closes = facts.deadlines["external_review_deadline"]
    return (closes.notna() & (closes >= facts.now)
            & (facts.requests["appeal_level"].astype("string") != "External Review").fillna(True)
            & facts.open_("External Review", "Overturned", "Closed", "Withdrawn"))


def _renew_reason(facts: Facts, rows: pd.Series) -> pd.Series:
    requests = facts.requests
    return ("authorization " + requests["auth_number"][rows].astype("string").fillna("(no number)")
            + " expires " + _fmt(requests["auth_expiration_date"][rows]).fillna("(no date)") + ", "
            + (requests["units_authorized"][rows] - requests["units_used"][rows].fillna(0))
            .astype("string").fillna("?") + " units left")


def _upheld_on(facts: Facts, rows: pd.Series) -> pd.Series:
    return _fmt(facts.requests["appeal_decision_date"][rows])


# The order of the rows is the order of actions due at the same time for the same request.
ACTION_TABLE: tuple[Action, ...] = (
    Action("complete_request", GAP_ACTION, lambda f: f.gaps.notna(), _today,
           lambda f, rows: f.gaps[rows],
           "a blank cell leaves a figure uncomputed for this request (patoolkit check lists them)",
           SERVICE_DATE),
    Action("check_requirement", "Check PA requirement",
           lambda f: f.pending & (f.requests["requirement_checked_date"].isna()
                                  | (f.recorded == "Unknown") | f.recorded.isna()),
           _today,
           lambda f, rows: "PA requirement not recorded; the PA Rules say "
           + f.pa_by_rule[0][rows] + ": " + f.pa_by_rule[1][rows],
           "readiness checklist: verify the requirement per service and plan before scheduling",
           SERVICE_DATE),
    Action("complete_documentation", "Complete documentation", lambda f: f.docs_missing,
           lambda f: f.submit_by.where(f.submit_by.notna(), f.today_end),
           lambda f, rows: "documents still needed: " + _missing_documents(
               f.requests[f.docs_missing], f.criteria).reindex(f.index[rows])
           .fillna("see the Criteria sheet"),
           "payer criteria (Criteria sheet): submit complete, the leading cause of denial is "
           "incomplete documentation", SERVICE_DATE),
    Action("fix_enrollment", "Enroll or re-assign provider", lambda f: f.not_enrolled, _today,
           lambda f, rows: f.enrollment["enrollment_reason"].reindex(f.index[rows]),
           "a request under a provider not enrolled with the payer is rejected before review",
           SERVICE_DATE),
    Action("submit", "Submit request", lambda f: f.needs_pa & f.service.notna(),
           lambda f: f.submit_by,
           lambda f, rows: "not submitted; service on " + _fmt(f.service[rows]) + ", submit by "
           + _fmt(f.submit_by[rows]) + " so the decision comes first",
           "payer timeframe before the service date (deadlines: decision_due rule)",
           SERVICE_DATE),
    Action("answer_info_request", "Answer information request", lambda f: f.waiting_info,
           "info_response_due",
           lambda f, rows: f.payer[rows] + " asked for information on "
           + _fmt(f.requests["info_requested_at"][rows]),
           _column("basis_info_response_due"), ("decision_due", "payer decision due")),
    Action("check_status", "Check status",
           lambda f: f.deadlines["next_status_check"].notna() & ~f.waiting_info,
           "next_status_check", lambda f, rows: "no decision yet from " + f.payer[rows],
           _column("basis_next_status_check"), SERVICE_DATE),
    Action("escalate_decision", "Escalate overdue decision", _overdue, "decision_due",
           _overdue_reason, _column("basis_decision_due"), SERVICE_DATE),
    Action("escalate_appeal_decision", "Escalate overdue appeal decision", _appeal_late,
           "appeal_decision_due",
           lambda f, rows: f.payer[rows] + "'s appeal decision was due "
           + _fmt(f.deadlines["appeal_decision_due"][rows]) + " (appeal filed "
           + _fmt(f.requests["appeal_submitted_date"][rows]) + "); call and escalate, ask for "
           "the decision in writing",
           _column("basis_appeal_decision_due")),
    Action("record_auth_number", "Record auth number",
           lambda f: statuses.authorized(f.requests) & f.requests["auth_number"].isna()
           & f.active,
           lambda f: (f.decided_end + _days(f.targets["auth_number"])).fillna(f.today_end),
           "approved without an authorization number; claims deny without it",
           lambda f, rows: f.words("auth_number"),
           SERVICE_DATE),
    Action("request_p2p", "Request peer-to-peer", _p2p_open,
           lambda f: f.decided_end + _days(f.targets["p2p_request"]),
           lambda f, rows: "denied (" + f.denial_reason(rows) + "); peer-to-peer window closes "
           + _fmt(f.deadlines["p2p_window_closes"][rows]),
           lambda f, rows: f.words("p2p_request") + "; "
           + f.deadlines["basis_p2p_window_closes"][rows].fillna(""),
           ("p2p_window_closes", "P2P window closes")),
    Action("file_appeal", "File written appeal", lambda f: f.appeal[0], lambda f: f.appeal[2],
           _appeal_reason,
           lambda f, rows: f.deadlines["basis_appeal_target"][rows].fillna("") + "; "
           + f.deadlines["basis_appeal_filing_deadline"][rows].fillna("no filing window on record"),
           ("appeal_filing_deadline", "appeal filing")),
    Action("request_external_review", "Request external review", _external_review,
           "external_review_deadline",
           lambda f, rows: "internal appeal upheld on " + _upheld_on(f, rows)
           + "; an independent reviewer can overturn it",
           _column("basis_external_review_deadline"),
           ("external_review_deadline", "external review")),
    Action("request_fair_hearing", "Request State fair hearing",
           lambda f: f.upheld & (f.deadlines["state_fair_hearing_deadline"] >= f.now)
           .fillna(False) & f.open_("Overturned", "Closed"),
           "state_fair_hearing_deadline",
           lambda f, rows: "managed-care appeal upheld on " + _upheld_on(f, rows)
           + "; the State fair hearing can overturn it",
           _column("basis_state_fair_hearing_deadline"),
           ("state_fair_hearing_deadline", "State fair hearing")),
    Action("watch_ire", "Watch for the IRE decision (nothing to file)",
           lambda f: f.upheld & f.forwarded.notna() & f.open_("Overturned", "Closed"),
           lambda f: f.requests["appeal_decision_date"].dt.normalize() + END_OF_DAY
           + _days(f.targets["ire_watch"]),
           lambda f, rows: "reconsideration upheld on " + _upheld_on(f, rows) + ": "
           + f.payer[rows] + " sends the case to the Independent Review Entity itself; nothing "
           "to file, watch for the IRE's decision",
           lambda f, rows: "the plan forwards an upheld reconsideration to the IRE ("
           + f.forwarded[rows] + "); " + f.words("ire_watch")),
    Action("renew_authorization", "Renew authorization", lambda f: f.renewal[0],
           lambda f: f.renewal[1], _renew_reason,
           lambda f, rows: f.deadlines["basis_renewal_due"][rows]
           .fillna(f.deadlines["basis_low_units"][rows]).fillna(""),
           ("auth_expiration_date", "auth expires")),
    Action("reschedule_or_expedite", "Reschedule or expedite", lambda f: f.deadlines["at_risk"],
           lambda f: f.service.dt.normalize(),
           "the decision may come after the service: ask for expedited review if waiting could "
           "harm the patient, or reschedule",
           _column("basis_at_risk"), SERVICE_DATE),
)
ACTIONS: dict[str, Action] = {action.key: action for action in ACTION_TABLE}
ACTION_ORDER = {key: position for position, key in enumerate(ACTIONS)}
# action -> (column of Requests or of the deadlines, what it is)
HARD_DEADLINES = {key: action.deadline for key, action in ACTIONS.items()
                  if action.deadline is not None}


def build_worklist(requests: pd.DataFrame, payers: pd.DataFrame, rules: pd.DataFrame,
                   criteria: pd.DataFrame, providers: pd.DataFrame,
                   settings: Mapping[str, object], calendar: BusinessCalendar,
                   as_of: dt.datetime | dt.date | str | None = None,
                   deadlines: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every action due, most urgent first (columns: COLUMNS plus action_key): each row of
    ACTIONS for the requests its mask picks, its words built for those rows only."""
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    if deadlines is None:
        deadlines = compute_deadlines(requests, payers, settings, calendar, now)
    facts = Facts(requests, rules, criteria, providers, settings, calendar, now, deadlines)
    index = requests.index
    parts: list[pd.DataFrame] = []
    for action in ACTIONS.values():
        mask = action.when(facts).fillna(False).astype(bool)
        if not mask.any():
            continue

        # a Series gives each row its value; a Timestamp or fixed words are the same on each
        due = deadlines[action.due] if isinstance(action.due, str) else action.due(facts)
        columns: dict[str, object] = {
            "action_key": action.key, "due": due[mask].to_numpy() if isinstance(due, pd.Series)
            else due}
        for name, words in (("reason", action.reason), ("basis", action.basis)):
            made = words if isinstance(words, str) else words(facts, mask)
            columns[name] = made.to_numpy() if isinstance(made, pd.Series) else made
        parts.append(pd.DataFrame(columns, index=index[mask]))

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
    within the practice target deadline_risk, else its practice target missed, due today,
    or upcoming."""
    due, deadline = actions["due"], actions["deadline"]
    at_risk = (deadline - now <= _days(TARGETS["deadline_risk"].default)).fillna(False)
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
    calendar = calendar or worklist_calendar(tracker, now)
    if deadlines is None:  # those rows' only: a request's deadlines are its own
        deadlines = deadlines_for_requests(tracker, rows, now, calendar)
    return build_worklist(requests, frames["Payers"], frames["PA Rules"], frames["Criteria"],
                          frames["Providers"], tracker.settings, calendar, now,
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
