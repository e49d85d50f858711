"""The rule tables the deadlines and the worklist are driven by: the practice's own targets
(timeframes.PRACTICE_TARGETS) and the kinds of action (worklist.ACTION_TABLE).

Each table must be whole (every action the worklist can list is a row, with a request
that calls for it), unambiguous (no two rows share a name or words), agree with the
Settings sheet, and be the one place its numbers live: changing a number in the table
changes what the code computes.
"""

from __future__ import annotations

import string
from dataclasses import replace

import generated
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SAMPLE_TRACKER
from patoolkit import load_tracker, timeframes
from patoolkit.calendars import BusinessCalendar
from patoolkit.deadlines import DEADLINES, compute_deadlines
from patoolkit.schema import REQUESTS, SETTINGS_DEFAULTS
from patoolkit.timeframes import PRACTICE_TARGETS, TARGETS, practice_targets
from patoolkit.tracker.read import typed_frame
from patoolkit.worklist import ACTION_TABLE, ACTIONS, build_worklist, worklist_for

NOW = pd.Timestamp("2026-11-30 09:00")  # a Monday
CALENDAR = BusinessCalendar(first_year=2025, last_year=2028)
PAYERS = typed_frame("Payers", [{"payer": "Summit Health Plan", "plan_type": "Commercial"}])
RULES = typed_frame("PA Rules", [
    {"payer": "*", "plan_type": "*", "code": "70551-70553", "pa_required": "Yes"}])
CRITERIA = typed_frame("Criteria", [
    {"service_category": "Advanced Imaging", "payer": "*", "item": "Clinical indication",
     "required": "Yes"}])
PROVIDERS = typed_frame("Providers", [
    {"npi": "1234567893", "payer": "Summit Health Plan", "enrollment_status": "Enrolled"},
    {"npi": "1245319599", "payer": "Summit Health Plan", "enrollment_status": "Pending"},
])
BASE = {"payer": "Summit Health Plan", "plan_type": "Commercial", "ordering_npi": "1234567893",
        "service_category": "Advanced Imaging", "codes": "70551", "patient_id": "P1",
        "owner": "Dana"}
DENIED = {"submitted_at": "2026-11-02", "status": "Denied", "decision": "Denied",
          "decision_date": "2026-11-27", "denial_reason": "Not medically necessary"}
UPHELD = {"submitted_at": "2026-08-01", "status": "Upheld", "decision": "Denied",
          "decision_date": "2026-08-20", "appeal_submitted_date": "2026-08-21",
          "appeal_outcome": "Upheld"}
APPROVED = {"submitted_at": "2026-10-01", "status": "Approved", "decision": "Approved",
            "decision_date": "2026-10-03", "auth_number": "A1",
            "auth_effective_date": "2026-10-03", "units_authorized": 10, "units_used": 2}

# One request that calls for each action, as of NOW: action_key -> (its fields, why).
CALLS_FOR: dict[str, tuple[dict[str, object], str]] = {
    "complete_request": ({"plan_type": None, "scheduled_service_date": "2027-02-01"},
                         "a blank plan type: no payer deadline can be computed"),
    "check_requirement": ({"scheduled_service_date": "2026-12-20"},
                          "a new order: nobody has checked whether it needs PA"),
    "complete_documentation": ({"scheduled_service_date": "2026-12-20", "pa_required": "Yes"},
                               "PA needed and the documents are not complete"),
    "fix_enrollment": ({"scheduled_service_date": "2026-12-20", "pa_required": "Yes",
                        "requirement_checked_date": "2026-11-20", "docs_complete": "Yes",
                        "ordering_npi": "1245319599"},
                       "the ordering provider's enrollment with the payer is pending"),
    "submit": ({"scheduled_service_date": "2026-12-20", "pa_required": "Yes"},
               "PA needed, not sent, the service is booked"),
    "answer_info_request": ({"submitted_at": "2026-11-27 10:00", "status": "Info Requested",
                             "info_requested_at": "2026-11-29 16:00"},
                            "the payer asked for information"),
    "check_status": ({"submitted_at": "2026-11-25 10:00", "status": "Submitted",
                      "scheduled_service_date": "2027-01-08"},
                     "sent, no decision yet, the service weeks away"),
    "escalate_decision": ({"submitted_at": "2026-11-02 10:00", "status": "Submitted"},
                          "the Commercial 15 days passed without a decision"),
    "escalate_appeal_decision": ({**DENIED, "decision_date": "2026-10-10",
                                  "status": "Appeal Submitted",
                                  "appeal_submitted_date": "2026-10-12"},
                                 "the 30-day appeal decision was due 11-11"),
    "record_auth_number": ({**APPROVED, "auth_number": None},
                           "approved without an authorization number"),
    "request_p2p": (DENIED, "denied three days ago: the peer-to-peer window is open"),
    "file_appeal": ({**DENIED, "p2p_requested_date": "2026-11-27", "p2p_date": "2026-11-28",
                     "p2p_outcome": "Upheld"}, "the peer-to-peer upheld the denial"),
    "request_external_review": ({**UPHELD, "appeal_decision_date": "2026-10-01"},
                                "a Commercial appeal upheld: external review within 4 months"),
    "request_fair_hearing": ({**UPHELD, "plan_type": "Medicaid Managed Care",
                              "appeal_decision_date": "2026-10-01"},
                             "a managed-care appeal upheld: the State fair hearing"),
    "watch_ire": ({**UPHELD, "plan_type": "Medicare Advantage",
                   "appeal_decision_date": "2026-11-20"},
                  "the MA plan sends an upheld reconsideration to the IRE itself"),
    "renew_authorization": ({**APPROVED, "auth_expiration_date": "2026-12-20"},
                            "the authorization expires within weeks"),
    "reschedule_or_expedite": ({"submitted_at": "2026-11-27 10:00", "status": "Submitted",
                                "scheduled_service_date": "2026-12-04"},
                               "the 15-day decision would come after the service"),
}
# Requests just beyond a target's reach, so that a larger number brings them in.
BEYOND: tuple[dict[str, object], ...] = (
    {**APPROVED, "auth_expiration_date": "2027-03-01"},  # renewal_horizon
    {**DENIED, "decision_date": "2026-11-20", "p2p_requested_date": "2026-11-20",
     "status": "P2P Requested"},  # filing_near: a P2P pending, the filing deadline far
)


def requests_of(*fields: dict[str, object]) -> pd.DataFrame:
    return typed_frame("Requests", [{"request_id": f"R{n}", **BASE, **values}
                                    for n, values in enumerate(fields, start=1)])


def worklist(requests: pd.DataFrame, now: pd.Timestamp = NOW) -> pd.DataFrame:
    return build_worklist(requests, PAYERS, RULES, CRITERIA, PROVIDERS, {}, CALENDAR, now)


# --- the actions ---------------------------------------------------------------------------


def test_each_action_is_one_row_with_its_own_words() -> None:
    keys = [action.key for action in ACTION_TABLE]
    labels = [action.label for action in ACTION_TABLE]
    assert len(set(keys)) == len(keys) == len(ACTIONS)
    assert len(set(labels)) == len(labels), "two actions would read the same on the worklist"
    assert all(label.strip() for label in labels)
    requests_columns = {column.name for column in REQUESTS.columns}
    for action in ACTION_TABLE:
        if isinstance(action.due, str):
            assert action.due in DEADLINES, action.key
        if action.deadline is not None:
            column, words = action.deadline
            assert column in DEADLINES or column in requests_columns, action.key
            assert words.strip(), action.key


def test_every_action_of_the_table_has_a_request_that_calls_for_it() -> None:
    assert set(CALLS_FOR) == set(ACTIONS), "a new action needs a case in CALLS_FOR"


@pytest.mark.parametrize("key", list(CALLS_FOR))
def test_the_request_that_calls_for_an_action_gets_it(key: str) -> None:
    fields, why = CALLS_FOR[key]
    table = worklist(requests_of(fields))
    assert key in set(table["action_key"]), why
    mine = table[table["action_key"] == key].iloc[0]
    assert mine["action"] == ACTIONS[key].label, why
    if ACTIONS[key].deadline is None:
        assert pd.isna(mine["deadline_of"]), why
    elif pd.notna(mine["deadline"]):
        assert mine["deadline_of"] == ACTIONS[key].deadline[1], why  # type: ignore[index]


def _lists_only_table_actions(table: pd.DataFrame) -> None:
    assert set(table["action_key"]) <= set(ACTIONS)
    labels = table["action_key"].map({key: action.label for key, action in ACTIONS.items()})
    assert (table["action"] == labels).all()


@pytest.mark.parametrize("as_of", ["2026-12-01 09:00", "2026-03-02 10:00", "2027-01-04 08:00"])
def test_the_sample_trackers_worklist_lists_only_actions_of_the_table(as_of: str) -> None:
    _lists_only_table_actions(worklist_for(load_tracker(SAMPLE_TRACKER), as_of))


@pytest.mark.generated
@settings(max_examples=generated.examples(15), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_any_trackers_worklist_lists_only_actions_of_the_table(
        tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    base = generated.base(str(tmp_path_factory.getbasetemp() / "generated"))
    tracker = generated.build(base, data.draw(generated.edits(base.grids)))
    _lists_only_table_actions(worklist_for(tracker, generated.AS_OF))


# --- the practice's targets ----------------------------------------------------------------


def test_each_practice_target_is_one_row_with_its_own_words() -> None:
    names = [target.name for target in PRACTICE_TARGETS]
    assert len(set(names)) == len(names) == len(TARGETS)
    words = [target.words for target in PRACTICE_TARGETS if target.words]
    assert len(set(words)) == len(words)
    for target in PRACTICE_TARGETS:
        assert target.description.strip(), target.name
        assert target.default >= 0, target.name
        fields = {field for _, field, _, _ in string.Formatter().parse(target.words) if field}
        assert fields <= set(TARGETS), target.name  # a sentence names only targets
        target.basis(practice_targets())  # and can be written


def test_the_settings_sheet_takes_its_targets_keys_and_defaults_from_the_table() -> None:
    settings_rows = {setting.key: setting for setting in SETTINGS_DEFAULTS}
    keyed = [target for target in PRACTICE_TARGETS if target.setting is not None]
    assert len({target.setting for target in keyed}) == len(keyed)
    for target in keyed:
        row = settings_rows[target.setting]  # type: ignore[index]
        assert (row.default, row.maximum, row.kind) == (target.default, target.maximum, "int")
        assert target.maximum is None or target.default <= target.maximum


# Where a target's Settings value shows in the deadlines (its basis column).
SHOWN_IN = {"info_response": "basis_info_response_due", "status_check":
            "basis_next_status_check", "renewal_lead": "basis_renewal_due",
            "low_units": "basis_low_units"}


@pytest.mark.parametrize("target", [t for t in PRACTICE_TARGETS if t.setting is not None],
                         ids=lambda target: target.name)
def test_a_settings_value_is_the_number_in_the_deadlines_and_their_basis(
        target: timeframes.PracticeTarget) -> None:
    assert set(SHOWN_IN) == {t.name for t in PRACTICE_TARGETS if t.setting is not None}
    requests = requests_of(*(fields for fields, _ in CALLS_FOR.values()), *BEYOND)
    number = target.default * 10 + 7
    assert practice_targets({target.setting: number})[target.name] == number
    default = compute_deadlines(requests, PAYERS, {}, CALENDAR, NOW)
    changed = compute_deadlines(requests, PAYERS, {target.setting: number}, CALENDAR, NOW)
    column = SHOWN_IN[target.name]
    assert changed[column].str.contains(f"{number} ").any()
    assert not default[column].str.contains(f"{number} ").any()
    assert not default.equals(changed)


@pytest.mark.parametrize("target", PRACTICE_TARGETS, ids=lambda target: target.name)
def test_every_practice_target_is_read_from_the_table(
        target: timeframes.PracticeTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    """A larger number in the table changes the deadlines or the worklist of the requests
    near its reach: the code has no copy of it."""
    requests = requests_of(*(fields for fields, _ in CALLS_FOR.values()), *BEYOND)
    before = (compute_deadlines(requests, PAYERS, {}, CALENDAR, NOW), worklist(requests))
    monkeypatch.setitem(TARGETS, target.name, replace(target, default=target.default * 10 + 200))
    after = (compute_deadlines(requests, PAYERS, {}, CALENDAR, NOW), worklist(requests))
    assert not (before[0].equals(after[0]) and before[1].equals(after[1])), target.name
