"""A request's next steps, the status each leaves it in, and when a deadline counts as met.

The Request detail page offers these steps as buttons; a notebook or a script
asks the same functions, so a decision recorded anywhere moves the status the
same way.

- Steps (STEPS): record a status check, an information request, a decision,
  the peer-to-peer and appeal steps, a submission, or edit any field. Each has
  the words on its button and the Requests fields its form asks for.
- Status after a step (status_after), from the values the step records:
  a submission date gives Submitted; an information request gives Info
  Requested, or Submitted again once the response date is in; a decision gives
  the decision (Approved, Partially Approved, Denied); the P2P and appeal step
  gives the outcome when there is one (Overturned, Upheld; an appeal's outcome
  before the P2P's), else External Review at that level, else Appeal Submitted
  once an appeal is sent, else P2P Requested once a P2P is asked for. A status
  check and an edit leave the status as it is (an edit may set it directly).
- Steps offered (offered_steps): a closed request (Withdrawn, Expired, Closed)
  offers only Edit fields, through which it is reopened; Record submission is
  offered until the request is submitted (a blank status, Not Started,
  Requirement Check or Documentation). Every other step is offered in every open
  status: a tracker's status often lags what happened (a decision arrives for a
  request still marked Documentation), so a step is never refused for it.
- A deadline is met (met) once the field that answers it is filled: the decision
  due by a decision date, the information response by its date, the P2P window
  by a P2P request, the appeal target and filing deadline by the appeal's date,
  the appeal decision by its date, the external review deadline by an appeal at
  the External Review level. A met deadline is history, not overdue.
- A value typed for a field (checked_value) is read as the workbook's reader
  reads its cell (validation.convert_column): the same dates, lists and numbers
  are accepted, with the same words for what is not.

Limitations: status_after reads only the values of the step; it does not check
the order of events (a decision before the submission is recorded as given).
A step never sets Withdrawn, Expired or Closed: those are edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import pandas as pd

from .schema import CLOSED_STATUSES, REQUESTS, is_blank
from .statuses import OVERTURNED, UPHELD
from .tracker.cells import Collector, convert_column

SUBMITTED = "Submitted"
INFO_REQUESTED = "Info Requested"
P2P_REQUESTED = "P2P Requested"
APPEAL_SUBMITTED = "Appeal Submitted"
EXTERNAL_REVIEW = "External Review"  # a status, and the appeal level that leads to it
# statuses of a request not yet sent to the payer (and a blank status)
BEFORE_SUBMISSION = ("Not Started", "Requirement Check", "Documentation")


class Step(NamedTuple):
    """One next step: its key, the words on its button, the fields its form asks for."""

    key: str
    title: str
    fields: tuple[str, ...]


STEPS: tuple[Step, ...] = (
    Step("status_check", "Record status check", ("last_status_check", "payer_reference", "notes")),
    Step("info_request", "Information request", ("info_requested_at", "info_responded_at")),
    Step("decision", "Record decision", ("decision", "decision_date", "denial_reason",
                                         "auth_number", "auth_effective_date",
                                         "auth_expiration_date", "units_authorized")),
    Step("appeal", "Peer-to-peer and appeal", ("p2p_requested_date", "p2p_date", "p2p_outcome",
                                               "appeal_level", "appeal_submitted_date",
                                               "appeal_decision_date", "appeal_outcome")),
    Step("submission", "Record submission", ("submitted_at", "channel", "payer_reference")),
    # every field but the ID (a request's key) and the notes (added to by the steps)
    Step("edit", "Edit fields", tuple(name for name in REQUESTS.column_names
                                      if name not in ("request_id", "notes"))),
)
STEP_KEYS = tuple(step.key for step in STEPS)


def step(key: str) -> Step:
    """The step with this key; KeyError naming the keys for another."""
    for candidate in STEPS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"no step '{key}'; the steps are {', '.join(STEP_KEYS)}")


def _text(value: object) -> str:
    return "" if is_blank(value) else str(value).strip()


def status_after(step_key: str, values: Mapping[str, object]) -> str | None:
    """The status a step leaves the request in, from the values it records (None: leave it
    as it is). Blank values count as not given."""
    given = {name: _text(value) for name, value in values.items()}
    if step_key == "submission":
        return SUBMITTED if given.get("submitted_at") else None
    if step_key == "info_request":
        return SUBMITTED if given.get("info_responded_at") else INFO_REQUESTED
    if step_key == "decision":
        return given.get("decision") or None
    if step_key == "appeal":
        for outcome in (given.get("appeal_outcome"), given.get("p2p_outcome")):
            if outcome in (OVERTURNED, UPHELD):
                return outcome
        if given.get("appeal_level") == EXTERNAL_REVIEW:
            return EXTERNAL_REVIEW
        if given.get("appeal_submitted_date"):
            return APPEAL_SUBMITTED
        if given.get("p2p_requested_date"):
            return P2P_REQUESTED
    return None


def offered_steps(status: object) -> tuple[str, ...]:
    """The keys of the steps offered for a request in this status, in STEPS order."""
    current = _text(status)
    if current in CLOSED_STATUSES:
        return ("edit",)
    if not current or current in BEFORE_SUBMISSION:
        return STEP_KEYS
    return tuple(key for key in STEP_KEYS if key != "submission")


# the field that, once filled, answers a deadline
MET_BY = {
    "decision_due": "decision_date",
    "info_response_due": "info_responded_at",
    "p2p_window_closes": "p2p_requested_date",
    "appeal_target": "appeal_submitted_date",
    "appeal_filing_deadline": "appeal_submitted_date",
    "appeal_decision_due": "appeal_decision_date",
}


def met(deadline: str, row: Mapping[str, object] | pd.Series) -> bool:
    """Whether a request (a Requests row) has done what a deadline asks: then the deadline
    is history, not overdue. Deadlines nothing answers (a status check) are never met."""
    done = MET_BY.get(deadline)
    if done is not None:
        return not is_blank(row[done])
    if deadline == "external_review_deadline":
        return _text(row["appeal_level"]) == EXTERNAL_REVIEW
    return False


def checked_value(name: str, value: object, lists: Mapping[str, tuple[str, ...]]
                  ) -> tuple[object, str | None]:
    """A value for a Requests field as the tracker will hold it, or why it cannot be:
    (value, None) or (None, message). Typed as the workbook's reader types a cell
    (validation.convert_column); a blank is (None, None)."""
    if is_blank(value):
        return None, None
    column = REQUESTS.column(name)
    found = Collector(REQUESTS.name, {})
    typed = convert_column(column, pd.Series([value], dtype=object), dict(lists), found)
    errors = [problem.message for problem in found.problems if problem.severity == "error"]
    if errors:
        quoted = f"'{value}'"
        # some readers' messages begin with the value already
        return None, errors[0] if errors[0].startswith(quoted) else f"{quoted} {errors[0]}"
    result = typed.iloc[0]
    return (None if is_blank(result) else result), None
