"""Today's actions, most urgent first: one row per thing a person should do.

Built column-wise from the deadlines and the checks: each kind of action is a
mask over the Requests frame with its due date-time, reason and basis; the
frames are stacked and sorted (overdue, then due today, then by due date,
ties by service date, request and action, so the order is total and stable).
Rows carry the patient ID, never the patient's name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .calendars import BusinessCalendar
from .deadlines import (
    APPROVALS,
    DENIALS,
    END_OF_DAY,
    FINISHED,
    INACTIVE,
    compute_deadlines,
    decision_due,
    payer_overrides,
)
from .rules import enrollment_for, requirements_for

if TYPE_CHECKING:
    from .tracker import Tracker

RENEWAL_HORIZON_DAYS = 30
DEFAULT_TIMEFRAME = pd.Timedelta(days=15)  # to plan a submission when no rule gives one
COLUMNS = ["due", "days_left", "action", "request_id", "patient_id", "payer", "owner",
           "reason", "basis", "scheduled_service_date", "row"]


@dataclass(frozen=True)
class Action:
    key: str
    label: str


ACTIONS = {
    action.key: action for action in (
        Action("check_requirement", "Check PA requirement"),
        Action("complete_documentation", "Complete documentation"),
        Action("fix_enrollment", "Enroll or re-assign provider"),
        Action("submit", "Submit request"),
        Action("answer_info_request", "Answer information request"),
        Action("check_status", "Check status"),
        Action("escalate_decision", "Escalate overdue decision"),
        Action("record_auth_number", "Record auth number"),
        Action("request_p2p", "Request peer-to-peer"),
        Action("file_appeal", "File written appeal"),
        Action("request_external_review", "Request external review"),
        Action("renew_authorization", "Renew authorization"),
        Action("reschedule_or_expedite", "Reschedule or expedite"),
    )
}
ACTION_ORDER = {key: position for position, key in enumerate(ACTIONS)}


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
    status = requests["status"].astype("string")
    decision = requests["decision"].astype("string")
    submitted = requests["submitted_at"].notna()
    active = ~status.isin(INACTIVE).fillna(False)
    payer = requests["payer"].astype("string").fillna("the payer")
    service = requests["scheduled_service_date"]
    parts: list[pd.DataFrame] = []

    def add(key: str, mask: pd.Series, due: pd.Series | pd.Timestamp,
            reason: pd.Series | str, basis: pd.Series | str) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        chosen = index[mask]

        def pick(value: pd.Series | str | pd.Timestamp) -> object:
            return value[mask].to_numpy() if isinstance(value, pd.Series) else value

        parts.append(pd.DataFrame({
            "action_key": key, "due": pick(due), "reason": pick(reason), "basis": pick(basis),
        }, index=chosen))

    pending = ~submitted & active & decision.isna()
    pa_needed_by_rule = pd.Series("Unknown", index=index, dtype="string")
    reason_by_rule = pd.Series("", index=index, dtype="string")
    if pending.any():
        found = requirements_for(requests[pending], rules, now.date())
        pa_needed_by_rule[pending] = found["pa_answer"]
        reason_by_rule[pending] = found["pa_reason"]
    recorded = requests["pa_required"].astype("string")
    unchecked = pending & (requests["requirement_checked_date"].isna() | (recorded == "Unknown")
                           | recorded.isna())
    add("check_requirement", unchecked, today_end,
        "PA requirement not recorded; the PA Rules say " + pa_needed_by_rule + ": "
        + reason_by_rule,
        "readiness checklist: verify the requirement per service and plan before scheduling")

    needs_pa = pending & (recorded.isin(["Yes", "Unknown"]).fillna(True)
                          | pa_needed_by_rule.isin(["Yes", "Conditional", "Unknown"]))
    needs_pa &= (recorded != "No").fillna(True)
    plan_due = _plan_submission(requests, payers)
    submit_by = (service.dt.normalize() - plan_due).where(service.notna(), today_end)

    docs_missing = needs_pa & (requests["docs_complete"].astype("string") != "Yes").fillna(True)
    if docs_missing.any():
        missing = _missing_documents(requests[docs_missing], criteria)
        add("complete_documentation", docs_missing, submit_by.where(submit_by.notna(), today_end),
            "documents still needed: " + missing.reindex(index).fillna("see the Criteria sheet"),
            "payer criteria (Criteria sheet): submit complete, the leading cause of denial is "
            "incomplete documentation")

    enrollment = enrollment_for(requests, providers, now.date())
    not_enrolled = needs_pa & ~enrollment["enrolled"]
    add("fix_enrollment", not_enrolled, today_end, enrollment["enrollment_reason"],
        "a request under a provider not enrolled with the payer is rejected before review")

    add("submit", needs_pa & service.notna(), submit_by,
        "not submitted; service on " + _fmt(service) + ", submit by " + _fmt(submit_by)
        + " so the decision comes first",
        "payer timeframe before the service date (deadlines: decision_due rule)")

    waiting_info = (requests["info_requested_at"].notna() & requests["info_responded_at"].isna()
                    & decision.isna() & active)
    add("answer_info_request", waiting_info, deadlines["info_response_due"],
        payer + " asked for information on " + _fmt(requests["info_requested_at"]),
        deadlines["basis_info_response_due"])

    checking = deadlines["next_status_check"].notna() & ~waiting_info
    add("check_status", checking, deadlines["next_status_check"],
        "no decision yet from " + payer, deadlines["basis_next_status_check"])

    overdue = (submitted & decision.isna() & ~status.isin(FINISHED).fillna(False)
               & (deadlines["decision_due"] < now).fillna(False))
    add("escalate_decision", overdue, deadlines["decision_due"],
        payer + "'s decision was due " + deadlines["decision_due"].dt.strftime("%Y-%m-%d %H:%M")
        .astype("string") + "; call and escalate, ask for the decision in writing",
        deadlines["basis_decision_due"])

    approved = decision.isin(APPROVALS).fillna(False) | status.isin(["Approved", "Overturned",
                                                                     "Partially Approved"])
    no_number = approved & requests["auth_number"].isna() & active
    decided_end = requests["decision_date"].dt.normalize() + END_OF_DAY
    add("record_auth_number", no_number, decided_end.fillna(today_end),
        "approved without an authorization number; claims deny without it",
        "readiness checklist: record the auth number at approval")

    denied = (decision.isin(DENIALS).fillna(False) & active
              & ~status.isin(["Overturned", "Upheld", "Closed"]).fillna(False)
              & ~requests["p2p_outcome"].isin(["Overturned"]).fillna(False)
              & ~requests["appeal_outcome"].isin(["Overturned", "Upheld"]).fillna(False))
    p2p_open = (deadlines["p2p_window_closes"] >= now).fillna(False)
    no_p2p = requests["p2p_requested_date"].isna() & requests["appeal_submitted_date"].isna()
    reason_text = requests["denial_reason"].astype("string").fillna("no reason recorded")
    add("request_p2p", denied & no_p2p & p2p_open, decided_end,
        "denied (" + reason_text + "); peer-to-peer window closes "
        + _fmt(deadlines["p2p_window_closes"]),
        "request peer-to-peer the same day as the denial; "
        + deadlines["basis_p2p_window_closes"].fillna(""))

    p2p_failed = requests["p2p_outcome"].isin(["Upheld", "Withdrawn"]).fillna(False) | (
        requests["p2p_requested_date"].isna())
    filing_open = (deadlines["appeal_filing_deadline"] >= now).fillna(True)
    after_p2p = calendar.add_business_days(requests["p2p_date"], 1) + END_OF_DAY
    filing = deadlines["appeal_filing_deadline"]
    after_p2p = after_p2p.where(filing.isna() | (after_p2p <= filing), filing)
    appeal_due = deadlines["appeal_target"].where(requests["p2p_date"].isna(), after_p2p)
    add("file_appeal", denied & requests["appeal_submitted_date"].isna() & p2p_failed
        & filing_open, appeal_due.fillna(deadlines["appeal_target"]),
        "answer the denial reason point by point with new documents: " + reason_text
        + "; filing deadline " + _fmt(deadlines["appeal_filing_deadline"]).fillna("unknown"),
        deadlines["basis_appeal_target"].fillna("") + "; "
        + deadlines["basis_appeal_filing_deadline"].fillna("no filing window on record"))

    external = (deadlines["external_review_deadline"].notna()
                & (deadlines["external_review_deadline"] >= now)
                & (requests["appeal_level"].astype("string") != "External Review").fillna(True)
                & ~status.isin(["External Review", "Overturned", "Closed", "Withdrawn"])
                .fillna(False))
    add("request_external_review", external, deadlines["external_review_deadline"],
        "internal appeal upheld on " + _fmt(requests["appeal_decision_date"])
        + "; an independent reviewer can overturn it",
        deadlines["basis_external_review_deadline"])

    expires = requests["auth_expiration_date"]
    horizon = now + pd.Timedelta(days=RENEWAL_HORIZON_DAYS)
    renewing = (deadlines["renewal_due"].notna() & (deadlines["renewal_due"] <= horizon)
                & (expires.dt.normalize() + END_OF_DAY >= now)) | (
        deadlines["low_units"] & (expires.isna() | (expires.dt.normalize() + END_OF_DAY >= now)))
    renew_due = deadlines["renewal_due"].where(~deadlines["low_units"],
                                               deadlines["renewal_due"].clip(upper=today_end)
                                               .fillna(today_end))
    add("renew_authorization", renewing, renew_due,
        "authorization " + requests["auth_number"].astype("string").fillna("(no number)")
        + " expires " + _fmt(expires).fillna("(no date)") + ", "
        + (requests["units_authorized"] - requests["units_used"].fillna(0)).astype("string")
        .fillna("?") + " units left",
        deadlines["basis_renewal_due"].fillna(deadlines["basis_low_units"]).fillna(""))

    add("reschedule_or_expedite", deadlines["at_risk"], service.dt.normalize(),
        "the decision may come after the service: ask for expedited review if waiting could "
        "harm the patient, or reschedule",
        deadlines["basis_at_risk"])

    if not parts:
        return _empty_worklist()
    actions = pd.concat(parts)
    actions["row"] = actions.index
    for column in ("request_id", "patient_id", "payer", "owner", "scheduled_service_date"):
        actions[column] = requests[column].reindex(actions.index).to_numpy()
    actions["due"] = pd.to_datetime(actions["due"])
    actions["days_left"] = ((actions["due"] - now) / pd.Timedelta(days=1)).round(1)
    actions["action"] = actions["action_key"].map({k: a.label for k, a in ACTIONS.items()})
    return order_worklist(actions.reset_index(drop=True), now)[[*COLUMNS, "action_key"]]


def _empty_worklist() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="string") for column in
                          [*COLUMNS, "action_key"]})
    for column in ("due", "scheduled_service_date"):
        frame[column] = pd.Series(dtype="datetime64[ns]")
    frame["days_left"] = pd.Series(dtype="float64")
    frame["row"] = pd.Series(dtype="int64")
    return frame


def order_worklist(actions: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Overdue first, then due today, then by due; ties by service date, request, action."""
    today = now.normalize()
    bucket = np.select([actions["due"] < now, actions["due"].dt.normalize() == today],
                       [0, 1], default=2)
    keys = actions.assign(
        _bucket=bucket,
        _service=actions["scheduled_service_date"].fillna(pd.Timestamp.max),
        _due=actions["due"].fillna(pd.Timestamp.max),
        _action=actions["action_key"].map(ACTION_ORDER),
        _request=actions["request_id"].astype("string").fillna(""),
    )
    ordered = keys.sort_values(["_bucket", "_due", "_service", "_request", "_action"],
                               kind="stable")
    return ordered.drop(columns=[c for c in ordered.columns if c.startswith("_")]) \
        .reset_index(drop=True)


def _plan_submission(requests: pd.DataFrame, payers: pd.DataFrame) -> pd.Series:
    """How long before the service a request must go in: the payer's timeframe, else 15 days."""
    _, _, timeframe = decision_due(requests, payer_overrides(requests, payers))
    return timeframe.fillna(DEFAULT_TIMEFRAME)


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
    keys = pd.DataFrame({
        "service_category": requests["service_category"].astype("string"),
        "_payer": requests["payer"].astype("string").str.strip().str.casefold(),
    }, index=requests.index)
    specific = pd.Series(list(zip(keys["service_category"], keys["_payer"], strict=True)),
                         index=requests.index).map(own.to_dict()).astype("string")
    fallback = keys["service_category"].map(general.to_dict()).astype("string")
    return specific.fillna(fallback).astype("string")


def worklist_for(tracker: Tracker, as_of: dt.datetime | dt.date | str | None = None,
                 owner: str | None = None) -> pd.DataFrame:
    """build_worklist for a loaded Tracker, optionally for one owner."""
    from .deadlines import deadlines_for

    frames = tracker.frames
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
    requests = frames["Requests"]
    calendar = BusinessCalendar.for_dates(
        [requests["submitted_at"], requests["scheduled_service_date"],
         requests["decision_date"], requests["p2p_date"], now], frames["Closures"]["date"])
    deadlines = deadlines_for(tracker, now)
    actions = build_worklist(requests, frames["Payers"], frames["PA Rules"], frames["Criteria"],
                             frames["Providers"], tracker.settings,
                             calendar, now, deadlines)
    if owner:
        wanted = owner.strip().casefold()
        actions = actions[actions["owner"].astype("string").str.strip().str.casefold() == wanted]
    return actions.reset_index(drop=True)
