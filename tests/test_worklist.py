"""The worklist: the right action for each situation, most urgent first."""

from __future__ import annotations

import shutil
from pathlib import Path

import generated
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from conftest import SAMPLE_TRACKER
from patoolkit import load_tracker
from patoolkit.calendars import BusinessCalendar
from patoolkit.tracker.edit import update_request
from patoolkit.tracker.read import Tracker, typed_frame
from patoolkit.worklist import (
    CLOCKS,
    build_worklist,
    splice_worklist,
    worklist_calendar,
    worklist_for,
    worklist_for_requests,
)

NOW = pd.Timestamp("2026-11-30 09:00")  # a Monday
CALENDAR = BusinessCalendar(first_year=2025, last_year=2027)
PAYERS = typed_frame("Payers", [{"payer": "Summit Health Plan", "plan_type": "Commercial"}])
RULES = typed_frame("PA Rules", [
    {"payer": "*", "plan_type": "*", "code": "70551-70553", "pa_required": "Yes"},
    {"payer": "*", "plan_type": "*", "code": "99213", "pa_required": "No"},
])
CRITERIA = typed_frame("Criteria", [
    {"service_category": "Advanced Imaging", "payer": "*", "item": "Clinical indication",
     "required": "Yes"},
    {"service_category": "Advanced Imaging", "payer": "*", "item": "Prior imaging results",
     "required": "Yes"},
])
PROVIDERS = typed_frame("Providers", [
    {"npi": "1234567893", "payer": "Summit Health Plan", "enrollment_status": "Enrolled"},
    {"npi": "1245319599", "payer": "Summit Health Plan", "enrollment_status": "Pending"},
])
BASE = {"payer": "Summit Health Plan", "plan_type": "Commercial", "ordering_npi": "1234567893",
        "service_category": "Advanced Imaging", "codes": "70551", "patient_id": "P1",
        "patient_name": "Sample, Private", "owner": "Dana"}


def worklist(*requests: dict[str, object], now: pd.Timestamp = NOW) -> pd.DataFrame:
    rows = [{"request_id": f"R{n}", **BASE, **values}
            for n, values in enumerate(requests, start=1)]
    return build_worklist(typed_frame("Requests", rows), PAYERS, RULES, CRITERIA, PROVIDERS,
                          {}, CALENDAR, now)


def actions_of(table: pd.DataFrame, request_id: str = "R1") -> set[str]:
    return set(table.loc[table["request_id"] == request_id, "action_key"])


@pytest.mark.parametrize(("fields", "expected", "absent", "why"), [
    ({"scheduled_service_date": "2026-12-20"}, {"check_requirement", "complete_documentation",
                                                "submit"}, {"fix_enrollment"},
     "a new order: check the requirement, gather documents, submit"),
    ({"scheduled_service_date": "2026-12-20", "requirement_checked_date": "2026-11-20",
      "pa_required": "Yes", "docs_complete": "Yes", "ordering_npi": "1245319599"},
     {"fix_enrollment", "submit"}, {"check_requirement", "complete_documentation"},
     "provider enrollment pending blocks the submission"),
    ({"codes": "99213", "requirement_checked_date": "2026-11-20", "pa_required": "No",
      "scheduled_service_date": "2026-12-20"}, set(),
     {"submit", "complete_documentation", "check_requirement"}, "no PA needed: nothing to do"),
    ({"submitted_at": "2026-11-27 10:00", "info_requested_at": "2026-11-29 16:00",
      "status": "Info Requested"}, {"answer_info_request"}, {"check_status"},
     "answer the payer's information request"),
    ({"submitted_at": "2026-11-25 10:00", "status": "Submitted"}, {"check_status"},
     {"escalate_decision"}, "waiting: check status"),
    ({"submitted_at": "2026-11-02 10:00", "status": "Submitted"},
     {"check_status", "escalate_decision"}, set(), "15 days passed: escalate"),
    ({"submitted_at": "2026-11-02", "status": "Approved", "decision": "Approved",
      "decision_date": "2026-11-20"}, {"record_auth_number"}, set(),
     "approved without a number"),
    ({"submitted_at": "2026-11-02", "status": "Denied", "decision": "Denied",
      "decision_date": "2026-11-27", "denial_reason": "Not medically necessary"},
     {"request_p2p", "file_appeal"}, set(), "denied: P2P now, written appeal next"),
    ({"submitted_at": "2026-10-01", "status": "P2P Requested", "decision": "Denied",
      "decision_date": "2026-11-20", "p2p_requested_date": "2026-11-20",
      "p2p_date": "2026-11-24", "p2p_outcome": "Upheld"}, {"file_appeal"}, {"request_p2p"},
     "P2P upheld: file the written appeal"),
    ({"submitted_at": "2026-10-01", "status": "P2P Requested", "decision": "Denied",
      "decision_date": "2026-11-20", "p2p_requested_date": "2026-11-20"}, set(),
     {"request_p2p", "file_appeal"}, "P2P pending, filing deadline far (2027-05-19): wait"),
    ({"submitted_at": "2026-08-01", "status": "P2P Requested", "decision": "Denied",
      "plan_type": "Medicaid Managed Care", "decision_date": "2026-10-05",
      "p2p_requested_date": "2026-10-06", "p2p_outcome": "Pending"}, {"file_appeal"},
     {"request_p2p"}, "CONTRACT section 2: a pending P2P does not stop the written appeal; "
     "the 60-day filing deadline 12-04 is near, so the appeal is listed"),
    ({"submitted_at": "2026-10-01", "status": "Appeal Submitted", "decision": "Denied",
      "decision_date": "2026-10-10", "appeal_submitted_date": "2026-10-12"},
     {"escalate_appeal_decision"}, {"file_appeal"},
     "29 CFR 2560.503-1(i)(2)(ii): the appeal decision was due 11-11; escalate"),
    ({"submitted_at": "2026-10-01", "status": "Appeal Submitted", "decision": "Denied",
      "decision_date": "2026-11-10", "appeal_submitted_date": "2026-11-12"}, set(),
     {"escalate_appeal_decision"}, "appeal decision due 12-12: not late yet"),
    ({"submitted_at": "2026-08-01", "status": "Upheld", "decision": "Denied",
      "plan_type": "Medicare Advantage", "decision_date": "2026-08-20",
      "appeal_submitted_date": "2026-08-21", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-11-20"}, {"watch_ire"},
     {"request_external_review", "file_appeal", "request_fair_hearing"},
     "42 CFR 422.592: the MA plan forwards the upheld reconsideration to the IRE itself"),
    ({"submitted_at": "2026-08-01", "status": "Upheld", "decision": "Denied",
      "plan_type": "Medicaid Managed Care", "decision_date": "2026-08-20",
      "appeal_submitted_date": "2026-08-21", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-10-01"}, {"request_fair_hearing"},
     {"request_external_review", "watch_ire"},
     "42 CFR 438.408(f)(2): State fair hearing within 120 days of the upheld appeal"),
    ({"submitted_at": "2026-08-01", "status": "Upheld", "decision": "Denied",
      "decision_date": "2026-08-20", "appeal_submitted_date": "2026-08-21",
      "appeal_outcome": "Upheld", "appeal_decision_date": "2026-10-01"},
     {"request_external_review"}, {"file_appeal", "request_p2p"},
     "appeal upheld: external review within 4 months"),
    ({"submitted_at": "2026-10-01", "status": "Approved", "decision": "Approved",
      "decision_date": "2026-10-03", "auth_number": "A1", "auth_effective_date": "2026-10-03",
      "auth_expiration_date": "2026-12-20", "units_authorized": 10, "units_used": 2},
     {"renew_authorization"}, {"record_auth_number"}, "expiring within 30 days"),
    ({"submitted_at": "2026-10-01", "status": "Approved", "decision": "Approved",
      "decision_date": "2026-10-03", "auth_number": "A1", "auth_effective_date": "2026-10-03",
      "auth_expiration_date": "2027-06-20", "units_authorized": 10, "units_used": 8},
     {"renew_authorization"}, set(), "few units left"),
    ({"submitted_at": "2026-11-27 10:00", "status": "Submitted",
      "scheduled_service_date": "2026-12-04"}, {"reschedule_or_expedite", "check_status"},
     set(), "decision due 12-12 after the 12-04 service"),
    ({"status": "Withdrawn", "scheduled_service_date": "2026-12-20"}, set(),
     {"check_requirement", "submit"}, "withdrawn: nothing to do"),
])
def test_actions(fields: dict[str, object], expected: set[str], absent: set[str],
                 why: str) -> None:
    found = actions_of(worklist(fields))
    assert expected <= found, why
    assert not (absent & found), why


def test_rows_carry_what_a_person_needs_and_no_patient_name() -> None:
    table = worklist({"submitted_at": "2026-11-02 10:00", "status": "Submitted"})
    row = table[table["action_key"] == "escalate_decision"].iloc[0]
    assert row["request_id"] == "R1"
    assert row["patient_id"] == "P1"
    assert row["owner"] == "Dana"
    assert row["due"] == pd.Timestamp("2026-11-17 23:59:59")  # 15 days end at end of day
    assert row["days_left"] == pytest.approx(-12.4, abs=0.05)  # 11-17 23:59:59 to 11-30 09:00
    assert "Commercial, standard: 15 calendar days" in row["basis"]
    assert "Sample, Private" not in table.to_string()


def test_submit_by_leaves_the_payer_its_timeframe() -> None:
    table = worklist({"scheduled_service_date": "2026-12-20", "pa_required": "Yes",
                      "requirement_checked_date": "2026-11-20", "docs_complete": "Yes"})
    submit = table[table["action_key"] == "submit"].iloc[0]
    assert submit["due"] == pd.Timestamp("2026-12-05")  # 15 days before the service


def test_documentation_action_lists_the_missing_items() -> None:
    table = worklist({"scheduled_service_date": "2026-12-20"})
    reason = table.loc[table["action_key"] == "complete_documentation", "reason"].iloc[0]
    assert "Clinical indication" in reason
    assert "Prior imaging results" in reason


def test_order_overdue_then_today_then_by_due_then_service_date() -> None:
    table = worklist(
        {"submitted_at": "2026-11-26 10:00", "status": "Submitted",
         "scheduled_service_date": "2027-03-01"},  # status check due today (11-30)
        {"submitted_at": "2026-11-02 10:00", "status": "Submitted",
         "scheduled_service_date": "2027-03-01"},  # overdue
        {"submitted_at": "2026-11-30 08:00", "status": "Submitted",
         "scheduled_service_date": "2027-03-01"},  # status check due 12-02
        {"submitted_at": "2026-11-26 10:00", "status": "Submitted",
         "scheduled_service_date": "2027-02-01"},  # same due as R1, earlier service
    )
    order = list(zip(table["request_id"], table["action_key"], strict=True))
    overdue = [item for item, left in zip(order, table["days_left"], strict=True) if left < 0]
    assert set(overdue) == {("R2", "check_status"), ("R2", "escalate_decision")}
    assert order[len(overdue):] == [("R4", "check_status"), ("R1", "check_status"),
                                    ("R3", "check_status")]


def test_worklist_for_filters_by_owner(small_tracker) -> None:
    from patoolkit import load_tracker

    tracker = load_tracker(small_tracker)
    everyone = worklist_for(tracker, as_of="2026-11-28")
    assert len(everyone) > 0
    assert worklist_for(tracker, as_of="2026-11-28", owner="nobody").empty


def test_xlsx_export_is_formatted_and_never_overwrites(small_tracker, tmp_path) -> None:
    import openpyxl

    from patoolkit.cli import main

    out = tmp_path / "worklist.xlsx"
    assert main(["worklist", str(small_tracker), "--as-of", "2026-11-28", "--format", "xlsx",
                 "--out", str(out)]) == 0
    sheet = openpyxl.load_workbook(out)["Worklist"]
    assert sheet["A1"].value.startswith("PA worklist 2026-11-28")
    assert sheet["A3"].value == "Due"
    assert sheet.freeze_panes == "A4"
    assert sheet.print_title_rows == "$3:$3"
    assert sheet.conditional_formatting  # overdue rows shaded
    before = out.read_bytes()
    assert main(["worklist", str(small_tracker), "--format", "xlsx", "--out", str(out)]) == 2
    assert out.read_bytes() == before


# --- the denials board -----------------------------------------------------------------------

def board(*requests: dict[str, object], now: pd.Timestamp = NOW) -> pd.DataFrame:
    from patoolkit.deadlines import compute_deadlines
    from patoolkit.worklist import denials_board

    rows = typed_frame("Requests", [{"request_id": f"R{n}", **BASE, **values}
                                    for n, values in enumerate(requests, start=1)])
    return denials_board(rows, compute_deadlines(rows, PAYERS, {}, CALENDAR, now), now)


DENIED = {"decision": "Denied", "status": "Denied", "submitted_at": "2026-11-01"}


@pytest.mark.parametrize(("fields", "window", "deadline", "stage", "why"), [
    ({"decision_date": "2026-11-25"}, "Peer-to-peer window", "2026-12-09",
     "Denied: nothing filed yet", "P2P window (14 days) closes before the 180-day appeal"),
    ({"decision_date": "2026-11-02"}, "Appeal filing", "2027-05-01",
     "Denied: nothing filed yet", "P2P window passed: the appeal window is next"),
    ({"decision_date": "2026-11-25", "p2p_requested_date": "2026-11-26"}, "Appeal filing",
     "2027-05-24", "P2P requested", "P2P requested: the window is used, the appeal remains"),
    ({"decision_date": "2026-11-25", "appeal_submitted_date": "2026-11-26"},
     "Appeal decision (payer)", "2026-12-26", "Appeal submitted, awaiting decision",
     "waiting on the payer: its appeal decision is due in 30 days (29 CFR "
     "2560.503-1(i)(2)(ii))"),
    ({"decision_date": "2026-09-01", "appeal_submitted_date": "2026-09-02",
      "appeal_decision_date": "2026-10-01", "appeal_outcome": "Upheld"}, "External review",
     "2027-02-01", "Appeal upheld", "upheld: four months for external review"),
    ({"decision_date": "2026-04-01"}, "Appeal filing", "2026-09-28",
     "Appeal filing late: good cause needed",
     "every window passed: the latest is shown, overdue, and the filing is late"),
    ({"decision_date": "2026-09-01", "plan_type": "Medicaid Managed Care",
      "appeal_submitted_date": "2026-09-02", "appeal_decision_date": "2026-10-01",
      "appeal_outcome": "Upheld"}, "State fair hearing", "2027-01-29", "Appeal upheld",
     "42 CFR 438.408(f)(2): 120 days for the State fair hearing"),
    ({"decision_date": "2026-09-01", "plan_type": "Medicare Advantage",
      "appeal_submitted_date": "2026-09-02", "appeal_decision_date": "2026-11-01",
      "appeal_outcome": "Upheld"}, None, None,
     "Reconsideration upheld: the plan sends it to the IRE",
     "42 CFR 422.592: nothing for the practice to file"),
])
def test_denials_board_shows_the_window_closing_next(fields: dict[str, object],
                                                     window: str | None, deadline: str | None,
                                                     stage: str, why: str) -> None:
    table = board({**DENIED, **fields})
    assert len(table) == 1, why
    row = table.iloc[0]
    assert row["stage"] == stage, why
    if window is None:
        assert pd.isna(row["next_window"]), why
        assert pd.isna(row["next_deadline"]), why
    else:
        assert row["next_window"] == window, why
        assert f"{row['next_deadline']:%Y-%m-%d}" == deadline, why
        assert (row["days_left"] < 0) == (pd.Timestamp(deadline) < NOW), why


def test_denials_board_leaves_out_approvals_and_overturned_and_sorts_soonest_first() -> None:
    table = board({**DENIED, "decision_date": "2026-11-02"},
                  {**DENIED, "decision_date": "2026-11-25"},
                  {"decision": "Approved", "status": "Approved", "decision_date": "2026-11-25"},
                  {**DENIED, "decision_date": "2026-11-20", "p2p_date": "2026-11-21",
                   "p2p_outcome": "Overturned"},
                  {**DENIED, "decision_date": "2026-11-20", "status": "Withdrawn"},
                  {**DENIED, "decision": "Partially Approved", "decision_date": "2026-11-27"})
    assert table["request_id"].tolist() == ["R2", "R6", "R1"]


# (plan_type, says the late decision can be appealed, why)
LATE_CASES = [
    ("Medicare Advantage", "42 CFR 422.568(f)", "MA: a late decision is an adverse decision"),
    ("Medicaid Managed Care", "42 CFR 438.404(c)(5)", "Medicaid managed care: the same"),
    ("CHIP", "438.404(c)(5)", "CHIP managed care: the same"),
    ("Commercial", None, "Commercial: escalate only, no deemed denial"),
]


@pytest.mark.parametrize(("plan", "citation", "why"), LATE_CASES,
                         ids=[case[-1] for case in LATE_CASES])
def test_overdue_payer_decision_offers_the_appeal(plan: str, citation: str | None,
                                                   why: str) -> None:
    table = worklist({"plan_type": plan, "submitted_at": "2026-11-02 10:00",
                      "status": "Submitted"})
    row = table[table["action_key"] == "escalate_decision"].iloc[0]
    if citation is None:
        assert "appeal" not in row["reason"], why
    else:
        assert citation in row["reason"], why
        assert "file the written appeal" in row["reason"], why


def test_pending_p2p_appeal_row_is_due_at_the_filing_deadline() -> None:
    table = worklist({"submitted_at": "2026-08-01", "status": "P2P Requested",
                      "decision": "Denied", "plan_type": "Medicaid Managed Care",
                      "decision_date": "2026-10-05", "p2p_requested_date": "2026-10-06"})
    row = table[table["action_key"] == "file_appeal"].iloc[0]
    assert row["due"] == pd.Timestamp("2026-12-04 23:59:59")  # 10-05 + 60 days
    assert "still pending and does not stop the appeal clock" in row["reason"]


def test_ire_watch_asks_nothing_of_the_practice() -> None:
    table = worklist({"submitted_at": "2026-08-01", "status": "Upheld", "decision": "Denied",
                      "plan_type": "Medicare Advantage", "decision_date": "2026-08-20",
                      "appeal_submitted_date": "2026-08-21", "appeal_outcome": "Upheld",
                      "appeal_decision_date": "2026-11-20"})
    row = table[table["action_key"] == "watch_ire"].iloc[0]
    assert "nothing to file" in row["reason"]
    assert "422.592" in row["basis"]
    assert row["due"] == pd.Timestamp("2026-12-20 23:59:59")


def test_two_clocks_a_deadline_at_risk_comes_before_a_practice_target_missed() -> None:
    """A denial whose one-business-day appeal target passed weeks ago but whose filing
    deadline is months away waits below a peer-to-peer window closing this week and an
    authorization expiring in days; each row shows both dates and says which clock."""
    table = worklist(
        # R1: Commercial denial on 10-20, P2P held and upheld: appeal target long passed,
        # filing deadline 180 days after the denial
        {"submitted_at": "2026-10-01", "status": "Denied", "decision": "Denied",
         "decision_date": "2026-10-20", "p2p_requested_date": "2026-10-20",
         "p2p_date": "2026-10-22", "p2p_outcome": "Upheld"},
        # R2: denied on 11-20, no P2P yet: the practice's same-day target passed, the
        # payer's 14-day peer-to-peer window closes on 12-04, within the week
        {"submitted_at": "2026-11-10", "status": "Denied", "decision": "Denied",
         "decision_date": "2026-11-20"},
        # R3: an authorization expiring in three days
        {"submitted_at": "2026-09-01", "status": "Approved", "decision": "Approved",
         "decision_date": "2026-09-05", "auth_number": "A1",
         "auth_effective_date": "2026-09-05", "auth_expiration_date": "2026-12-03",
         "units_authorized": 10, "units_used": 2},
    )
    appeal = table[table["action_key"] == "file_appeal"].iloc[0]
    assert appeal["due"] < NOW  # the practice's target is missed...
    assert appeal["deadline"] - NOW > pd.Timedelta(days=60)  # ...the legal one months away
    assert appeal["deadline_of"] == "appeal filing"
    assert appeal["clock"] == "practice target missed"
    p2p = table[table["action_key"] == "request_p2p"].iloc[0]
    assert p2p["clock"] == "deadline at risk"
    assert p2p["deadline_of"] == "P2P window closes"
    renewal = table[table["action_key"] == "renew_authorization"].iloc[0]
    assert renewal["clock"] == "deadline at risk"
    assert renewal["deadline"] == pd.Timestamp("2026-12-03")
    order = list(table["action_key"])
    assert order.index("file_appeal") > order.index("request_p2p")
    assert order.index("file_appeal") > order.index("renew_authorization")
    at_risk = table[table["clock"] == "deadline at risk"]
    assert list(at_risk["deadline"]) == sorted(at_risk["deadline"])  # soonest deadline first
    assert list(table["clock"]) == sorted(table["clock"], key=CLOCKS.index)


def test_an_action_without_a_hard_deadline_is_never_at_risk() -> None:
    table = worklist({"submitted_at": "2026-08-01", "status": "Upheld", "decision": "Denied",
                      "plan_type": "Medicare Advantage", "decision_date": "2026-08-20",
                      "appeal_submitted_date": "2026-08-21", "appeal_outcome": "Upheld",
                      "appeal_decision_date": "2026-11-20"})
    row = table[table["action_key"] == "watch_ire"].iloc[0]
    assert pd.isna(row["deadline"])
    assert pd.isna(row["deadline_of"])
    assert row["clock"] == "upcoming"


# After a save of one request, only its worklist rows are recomputed and spliced into the
# rest (worklist_for_requests, splice_worklist): the result must be what a full recompute
# of the saved file gives, same rows in the same order, and no other request's row changes.
SPLICE_NOW = pd.Timestamp("2026-12-01 09:00")


def _request_with(tracker: Tracker, action_key: str) -> str:
    table = worklist_for(tracker, SPLICE_NOW)
    return str(table.loc[table["action_key"] == action_key, "request_id"].iloc[0])


@pytest.mark.parametrize(("action_key", "changes", "why"), [
    ("check_status", {"last_status_check": "2026-12-01 08:30", "status": "Info Requested"},
     "a status check moves the next check and the status"),
    ("check_status", {"status": "Denied", "decision": "Denied", "decision_date": "2026-11-30",
                      "denial_reason": "Not medically necessary"},
     "a decision recorded: the status check goes, P2P and appeal rows come"),
    ("submit", {"scheduled_service_date": "2026-12-03"}, "a service date moved closer"),
    ("submit", {"owner": "Someone New"}, "the owner changes on every row of the request"),
    ("submit", {"submitted_at": "2026-12-01 08:00", "status": "Submitted"},
     "submitted: the pre-submission rows go"),
    ("renew_authorization", {"auth_expiration_date": "2027-09-30"},
     "an authorization extended: the renewal leaves the worklist"),
    ("file_appeal", {"appeal_submitted_date": "2026-11-30", "status": "Appeal Submitted"},
     "an appeal filed"),
    ("check_status", {"status": "Withdrawn"}, "withdrawn: every row of the request goes"),
])
def test_a_saved_requests_rows_spliced_in_equal_a_full_recompute(
        tmp_path: Path, action_key: str, changes: dict[str, object], why: str) -> None:
    path = tmp_path / "tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, path)
    before = load_tracker(path)
    request_id = _request_with(before, action_key)
    cached = worklist_for(before, SPLICE_NOW)
    update_request(path, request_id, changes, by="tester")
    after = load_tracker(path)
    row = int(after.requests.index[after.requests["request_id"] == request_id][0])
    fresh = worklist_for_requests(after, [row], SPLICE_NOW)
    spliced = splice_worklist(cached, fresh, [row], SPLICE_NOW)
    expected = worklist_for(after, SPLICE_NOW)
    pd.testing.assert_frame_equal(spliced, expected)
    others = expected["request_id"] != request_id
    pd.testing.assert_frame_equal(  # nobody else's row changed, only moved
        cached[cached["request_id"] != request_id].sort_values(["row", "action_key"])
        .reset_index(drop=True),
        expected[others].sort_values(["row", "action_key"]).reset_index(drop=True))
    assert set(fresh["request_id"]) <= {request_id}


# The same over generated trackers (tests/generated.py: the sample with cells blanked,
# garbled and retyped): after any one cell of one request changes (the request ID aside: a
# page never edits it), splicing that request's rows equals a full recompute.
_SPLICE_GRIDS: list[dict[str, list[list[object]] | None]] = []


@pytest.fixture(scope="module")
def generated_base(tmp_path_factory: pytest.TempPathFactory) -> generated.Base:
    found = generated.base(str(tmp_path_factory.mktemp("generated")))
    _SPLICE_GRIDS[:] = [found.grids]
    return found


@st.composite
def one_request_cell(draw: st.DrawFn) -> tuple[int, int, object]:
    rows = _SPLICE_GRIDS[0]["Requests"] or [[]]
    header = [str(value).strip().casefold() for value in rows[0]]
    columns = [n for n, title in enumerate(header) if title != "request id"]
    pool = sorted({value for row in rows[1:] for value in row if value not in (None, "")},
                  key=repr)
    return (draw(st.integers(1, len(rows) - 1)), draw(st.sampled_from(columns)),
            draw(generated.cell_values(pool)))


@pytest.mark.generated
@settings(max_examples=generated.examples(25), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(changes=st.deferred(lambda: generated.edits(_SPLICE_GRIDS[0])),
       cell=st.deferred(one_request_cell))
# found by hypothesis: a request's patient ID blanked typed that column as object in its
# fresh rows, text in a full recompute
@example(changes=[generated.Edit("PA Rules", 3, 0, None, "drop_row")], cell=(2, 1, None))
def test_splicing_one_changed_request_equals_a_full_recompute_on_any_tracker(
        generated_base: generated.Base, changes: list[generated.Edit],
        cell: tuple[int, int, object]) -> None:
    before = generated.build(generated_base, changes)
    row, column, value = cell
    grid = generated.apply(generated_base.grids, changes)["Requests"] or []
    assume(row < len(grid))
    after = generated.build(generated_base, [*changes, generated.Edit("Requests", row, column,
                                                                      value)])
    now = pd.Timestamp(generated.AS_OF)
    assume(worklist_calendar(before, now) == worklist_calendar(after, now))
    excel_row = int(after.requests.index[row - 1])
    cached = worklist_for(before, now)
    fresh = worklist_for_requests(after, [excel_row], now)
    spliced = splice_worklist(cached, fresh, [excel_row], now)
    pd.testing.assert_frame_equal(spliced, worklist_for(after, now))
