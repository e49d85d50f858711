"""The next steps of a request (patoolkit.transitions): the status each leaves, the steps
offered in each status, deadlines met, values typed as the workbook reads them.

Tables of cases, each with a reason a reader can check against the module docstring.
"""

from __future__ import annotations

import pandas as pd
import pytest

from patoolkit.schema import CLOSED_STATUSES, LISTS, REQUESTS
from patoolkit.transitions import (
    MET_BY,
    STEP_KEYS,
    STEPS,
    checked_value,
    met,
    offered_steps,
    status_after,
    step,
)

# step, the values it records, the status it leaves, why
STATUS_CASES = [
    ("submission", {"submitted_at": "2026-12-01 10:00", "channel": "Portal"}, "Submitted",
     "a submission date sends the request"),
    ("submission", {"channel": "Portal", "submitted_at": ""}, None,
     "no submission date: nothing was sent yet"),
    ("status_check", {"last_status_check": "2026-12-01", "notes": "called"}, None,
     "a status check records a call, not a new status"),
    ("info_request", {"info_requested_at": "2026-11-30"}, "Info Requested",
     "the payer asked for more"),
    ("info_request", {"info_requested_at": "2026-11-30", "info_responded_at": "2026-12-01"},
     "Submitted", "answered: back with the payer"),
    ("info_request", {"info_requested_at": "2026-11-30", "info_responded_at": "  "},
     "Info Requested", "a response date of spaces is no response"),
    ("decision", {"decision": "Denied"}, "Denied", "the decision is the status"),
    ("decision", {"decision": "Partially Approved", "decision_date": "2026-12-01"},
     "Partially Approved", "a partial approval is its own status"),
    ("decision", {"decision": "", "decision_date": "2026-12-01"}, None,
     "a date without a decision leaves the status"),
    ("appeal", {"p2p_requested_date": "2026-12-01"}, "P2P Requested", "a P2P asked for"),
    ("appeal", {"p2p_requested_date": "2026-12-01", "appeal_submitted_date": "2026-12-02"},
     "Appeal Submitted", "an appeal sent is further on than a P2P asked for"),
    ("appeal", {"appeal_submitted_date": "2026-12-02", "appeal_level": "External Review"},
     "External Review", "the external review level is its own status"),
    ("appeal", {"p2p_outcome": "Overturned"}, "Overturned", "a P2P that overturned the denial"),
    ("appeal", {"p2p_outcome": "Upheld", "appeal_outcome": "Overturned"}, "Overturned",
     "the appeal's outcome comes before the P2P's"),
    ("appeal", {"appeal_outcome": "Upheld", "appeal_level": "External Review"}, "Upheld",
     "an outcome is later than the level it was reached at"),
    ("appeal", {"p2p_outcome": "Pending", "p2p_requested_date": "2026-12-01"}, "P2P Requested",
     "a pending outcome is no outcome yet"),
    ("appeal", {"appeal_outcome": "Partially Overturned", "appeal_submitted_date": "2026-12-02"},
     "Appeal Submitted", "a partial overturn is no status of its own: the appeal stays"),
    ("appeal", {}, None, "nothing recorded"),
    ("edit", {"status": "Withdrawn", "decision": "Denied"}, None,
     "an edit sets the status itself, if at all"),
]


@pytest.mark.parametrize(("key", "values", "status", "why"), STATUS_CASES,
                         ids=[case[3] for case in STATUS_CASES])
def test_each_step_leaves_its_status(key: str, values: dict[str, str], status: str | None,
                                     why: str) -> None:
    assert status_after(key, values) == status, why


def test_every_status_a_step_gives_is_on_the_status_list() -> None:
    given = {status_after(key, values) for key, values, _, _ in STATUS_CASES} - {None}
    assert given <= set(LISTS["status"])


def test_the_steps_ask_for_requests_fields_and_edit_for_all_but_the_key_and_notes() -> None:
    names = set(REQUESTS.column_names)
    for key, title, fields in STEPS:
        assert set(fields) <= names, key
        assert title
        assert step(key).title == title
    assert set(step("edit").fields) == names - {"request_id", "notes"}
    assert len(set(STEP_KEYS)) == len(STEPS)
    with pytest.raises(KeyError, match="the steps are status_check"):
        step("escalate")


# status, the steps offered, why
OFFERED_CASES = [
    (None, STEP_KEYS, "a blank status: not sent yet, every step"),
    ("Documentation", STEP_KEYS, "not sent yet: submission among them"),
    ("Not Started", STEP_KEYS, "not sent yet"),
    ("Requirement Check", STEP_KEYS, "not sent yet"),
    ("Submitted", tuple(key for key in STEP_KEYS if key != "submission"),
     "sent: a submission is an edit now"),
    ("Denied", tuple(key for key in STEP_KEYS if key != "submission"),
     "a denial: P2P and appeal, and the rest"),
    ("Info Requested", tuple(key for key in STEP_KEYS if key != "submission"), "sent"),
    *[(status, ("edit",), "closed: only an edit, which can reopen it")
      for status in CLOSED_STATUSES],
    ("  Closed ", ("edit",), "spaces around a status are no other status"),
    ("Custom Status", tuple(key for key in STEP_KEYS if key != "submission"),
     "a status from a client's Lists sheet is an open, sent request"),
]


@pytest.mark.parametrize(("status", "offered", "why"), OFFERED_CASES,
                         ids=[f"{case[0]}: {case[2]}" for case in OFFERED_CASES])
def test_the_steps_offered_in_each_status(status: str | None, offered: tuple[str, ...],
                                          why: str) -> None:
    assert offered_steps(status) == offered, why


def test_a_step_never_closes_a_request() -> None:
    """Withdrawn, Expired and Closed are edits: no step's status is one of them."""
    for key, values, _, _ in STATUS_CASES:
        assert status_after(key, values) not in CLOSED_STATUSES


ROW = pd.Series(dict.fromkeys(REQUESTS.column_names), dtype=object)


@pytest.mark.parametrize(("deadline", "filled", "is_met", "why"), [
    ("decision_due", {"decision_date": pd.Timestamp("2026-12-01")}, True, "decided"),
    ("decision_due", {"decision_date": pd.NaT}, False, "an empty date cell is no decision"),
    ("info_response_due", {"info_responded_at": pd.Timestamp("2026-12-01")}, True, "answered"),
    ("p2p_window_closes", {"p2p_requested_date": pd.Timestamp("2026-12-01")}, True,
     "a P2P asked for within the window"),
    ("appeal_filing_deadline", {"appeal_submitted_date": pd.Timestamp("2026-12-01")}, True,
     "the appeal was filed"),
    ("appeal_target", {"appeal_submitted_date": pd.Timestamp("2026-12-01")}, True,
     "the same date answers the practice's target"),
    ("appeal_decision_due", {"appeal_decision_date": pd.Timestamp("2026-12-01")}, True,
     "the appeal was decided"),
    ("external_review_deadline", {"appeal_level": "External Review"}, True,
     "the case went to external review"),
    ("external_review_deadline", {"appeal_level": "Level 1"}, False, "still at level 1"),
    ("next_status_check", {"last_status_check": pd.Timestamp("2026-12-01")}, False,
     "a status check is due again: nothing answers it for good"),
    ("renewal_due", {}, False, "not answered by any one field"),
])
def test_a_deadline_is_met_by_the_field_that_answers_it(deadline: str, filled: dict[str, object],
                                                        is_met: bool, why: str) -> None:
    row = ROW.copy()
    for name, value in filled.items():
        row[name] = value
    assert met(deadline, row) is is_met, why
    assert met(deadline, {**ROW.to_dict(), **filled}) is is_met, "a mapping reads the same"
    assert not met(deadline, ROW), "nothing filled meets nothing"


def test_met_by_names_requests_columns() -> None:
    assert set(MET_BY.values()) <= set(REQUESTS.column_names)


@pytest.mark.parametrize(("name", "value", "typed", "problem", "why"), [
    ("decision", "Denied", "Denied", None, "a value on the list"),
    ("decision_date", "2026-12-01", pd.Timestamp("2026-12-01"), None, "an ISO date"),
    ("decision_date", "12/1/2026", pd.Timestamp("2026-12-01"), None, "M/D/YYYY, as Excel"),
    ("decision_date", "2026-02-30", None, "not a real calendar date", "no such day"),
    ("units_authorized", "12", 12, None, "a whole number"),
    ("units_authorized", "ten", None, "whole number", "words are no number"),
    ("decision", "Maybe", None, "not one of the allowed values", "not on the list"),
    ("ordering_npi", "123", None, "'123': an NPI is exactly 10 digits",
     "the value said once, not twice"),
    ("payer_reference", "  ", None, None, "spaces are a blank, not a problem"),
    ("units_authorized", None, None, None, "nothing given"),
    ("decision_date", pd.Timestamp("2026-12-01"), pd.Timestamp("2026-12-01"), None,
     "a typed value (a notebook's) is taken as it is"),
])
def test_checked_value_types_as_the_workbook_reads(name: str, value: object, typed: object,
                                                   problem: str | None, why: str) -> None:
    got, said = checked_value(name, value, LISTS)
    assert got == typed, why
    if problem is None:
        assert said is None, why
    else:
        assert said is not None, why
        assert problem in said, why
        assert said.count(f"'{value}'") == 1, "the value is quoted once"
