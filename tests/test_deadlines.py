"""Deadlines: a table of regulatory cases, each a reason a reader can check against its rule."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from patoolkit.calendars import BusinessCalendar
from patoolkit.deadlines import DEADLINES, compute_deadlines, deadlines_json
from patoolkit.tracker import typed_frame

AS_OF = "2026-11-28 09:00"
CALENDAR = BusinessCalendar(first_year=2024, last_year=2028)
PAYERS = typed_frame("Payers", [
    {"payer": "Summit Health Plan", "plan_type": "Commercial", "p2p_window_days": 30},
    {"payer": "Evergreen Workers Comp", "plan_type": "Other", "standard_decision_days": 10,
     "expedited_decision_hours": 48, "appeal_filing_days": 90},
    {"payer": "Lakeshore Advantage", "plan_type": "Medicare Advantage",
     "external_review_days": 120},
])


def deadlines(*requests: dict[str, object], settings: dict[str, object] | None = None,
              closures: tuple[object, ...] = (), as_of: str = AS_OF) -> pd.DataFrame:
    rows = [{"request_id": f"R{n}", **values} for n, values in enumerate(requests, start=1)]
    calendar = CALENDAR if not closures else BusinessCalendar(
        tuple(pd.Timestamp(d).date() for d in closures), 2024, 2028)
    return compute_deadlines(typed_frame("Requests", rows), PAYERS, settings or {}, calendar,
                             as_of)


# (plan_type, urgency, submitted_at, extra fields, expected decision_due, why)
DECISION_CASES = [
    ("Medicare Advantage", "Standard", "2026-11-02 10:00", {}, "2026-11-09 10:00",
     "CMS-0057-F: 7 calendar days, clock time kept"),
    ("Medicare Advantage", "Standard", "2026-11-02", {}, "2026-11-09 23:59:59",
     "a date alone counts as the end of that day for the payer's clock"),
    ("Medicare Advantage", "Standard", "2025-12-20 09:00", {}, "2026-01-03 09:00",
     "submitted before 2026-01-01: the old 14-day rule"),
    ("Medicare Advantage", "Standard", "2026-01-01 09:00", {}, "2026-01-08 09:00",
     "submitted on 2026-01-01: CMS-0057-F applies"),
    ("Medicare Advantage", "Expedited", "2026-11-02 10:00", {}, "2026-11-05 10:00",
     "72 hours (42 CFR 422.572)"),
    ("Medicare Advantage", "Expedited", "2026-11-02", {}, "2026-11-05 23:59:59",
     "72 hours from the end of a date-only submission day"),
    ("Medicaid FFS", "Standard", "2026-11-20 08:00", {}, "2026-11-27 08:00",
     "7 calendar days: Thanksgiving is not skipped, calendar days count every day"),
    ("Medicaid Managed Care", "Expedited", "2026-11-25 16:30", {}, "2026-11-28 16:30",
     "72 clock hours across Thanksgiving"),
    ("CHIP", "Standard", "2026-12-26", {}, "2027-01-02 23:59:59", "7 days across the new year"),
    ("Medicaid Managed Care", "Standard", "2025-06-02 09:00", {}, "2025-06-16 09:00",
     "Medicaid managed care before CMS-0057-F: 14 days"),
    ("Commercial", "Standard", "2026-11-02 09:00", {}, "2026-11-17 09:00",
     "ERISA pre-service: 15 days"),
    ("Marketplace QHP", "Expedited", "2026-11-02 09:00", {}, "2026-11-05 09:00",
     "QHP urgent: 72 hours"),
    ("Commercial", "Standard", "2026-11-02 09:00", {"extension_days": 15}, "2026-12-02 09:00",
     "extension_days adds to the due date"),
    ("Medicare Advantage", "Standard", "2026-11-02 09:00", {"extension_days": 14},
     "2026-11-23 09:00", "an extension adds under CMS-0057-F too"),
    ("Commercial", "Standard", "2026-11-02 09:00",
     {"info_requested_at": "2026-11-04 09:00", "info_responded_at": "2026-11-06 15:00"},
     "2026-11-19 15:00", "Commercial: the clock stops 2 days 6 hours while waiting"),
    ("Marketplace QHP", "Standard", "2026-11-02 09:00",
     {"info_requested_at": "2026-11-04 09:00", "info_responded_at": "2026-11-05 09:00"},
     "2026-11-18 09:00", "QHP: tolled one day"),
    ("Commercial", "Standard", "2026-11-02 09:00", {"info_requested_at": "2026-11-04 09:00"},
     None, "Commercial still waiting for the information: no payer due date"),
    ("Medicare Advantage", "Standard", "2026-11-02 09:00",
     {"info_requested_at": "2026-11-04 09:00", "info_responded_at": "2026-11-06 15:00"},
     "2026-11-09 09:00", "CMS-0057-F plan: the clock does not stop"),
    ("Medicaid FFS", "Standard", "2026-11-02 09:00", {"info_requested_at": "2026-11-04 09:00"},
     "2026-11-09 09:00", "Medicaid: no tolling even while the information is missing"),
    ("Medicare FFS", "Standard", "2026-11-02 09:00", {}, None,
     "Medicare FFS: none unless the Payers sheet gives one"),
    ("Other", "Standard", "2026-11-02 09:00", {"payer": "Evergreen Workers Comp"},
     "2026-11-12 09:00", "Payers sheet override: 10 days"),
    ("Other", "Expedited", "2026-11-02 09:00", {"payer": "evergreen workers comp "},
     "2026-11-04 09:00", "Payers sheet override, payer name matched forgivingly: 48 hours"),
    ("Commercial", "Standard", None, {}, None, "not submitted: no due date"),
]


@pytest.mark.parametrize(("plan", "urgency", "submitted", "extra", "expected", "why"),
                         DECISION_CASES, ids=[case[-1] for case in DECISION_CASES])
def test_decision_due(plan: str, urgency: str, submitted: str | None, extra: dict[str, object],
                      expected: str | None, why: str) -> None:
    row = deadlines({"plan_type": plan, "urgency": urgency, "submitted_at": submitted,
                     "payer": "Any Payer", **extra}).iloc[0]
    if expected is None:
        assert pd.isna(row["decision_due"]), why
    else:
        assert row["decision_due"] == pd.Timestamp(expected), why
        assert row["basis_decision_due"], why


def test_decision_basis_names_the_rule() -> None:
    rows = deadlines(
        {"plan_type": "Medicare Advantage", "submitted_at": "2026-11-02"},
        {"plan_type": "Other", "payer": "Evergreen Workers Comp", "submitted_at": "2026-11-02"},
        {"plan_type": "Commercial", "submitted_at": "2026-11-02",
         "info_requested_at": "2026-11-03"},
    )
    assert rows["basis_decision_due"].iloc[0] == (
        "Medicare Advantage, standard: 7 calendar days from submission "
        "(CMS-0057-F, 42 CFR 422.568(b)(1))")
    assert rows["basis_decision_due"].iloc[1] == (
        "Payers sheet: Evergreen Workers Comp allows 10 calendar days for a standard decision")
    assert rows["basis_decision_due"].iloc[2].startswith("clock stopped")


# (fields, deadline, expected, why)
PRACTICE_CASES = [
    ({"info_requested_at": "2026-11-24 15:00"}, "info_response_due", "2026-11-25 15:00",
     "Settings default: answer within 24 hours"),
    ({"info_requested_at": "2026-11-24"}, "info_response_due", "2026-11-25 00:00",
     "a date alone starts the practice's clock at the start of the day"),
    ({"decision": "Denied", "decision_date": "2026-11-25"}, "appeal_target",
     "2026-11-27 23:59:59", "1 business day after a Wednesday denial skips Thanksgiving"),
    ({"decision": "Denied", "decision_date": "2026-07-02"}, "appeal_target",
     "2026-07-06 23:59:59", "Independence Day observed Friday 2026-07-03"),
    ({"decision": "Denied", "decision_date": "2026-12-24"}, "appeal_target",
     "2026-12-28 23:59:59", "Christmas Friday 2026-12-25"),
    ({"decision": "Denied", "decision_date": "2026-11-10"}, "p2p_window_closes",
     "2026-11-24 23:59:59", "P2P window: 14 days when the Payers sheet gives none"),
    ({"decision": "Denied", "decision_date": "2026-11-10", "payer": "Summit Health Plan"},
     "p2p_window_closes", "2026-12-10 23:59:59", "Payers sheet: Summit allows 30 days"),
    ({"decision": "Partially Approved", "decision_date": "2026-11-10"}, "p2p_window_closes",
     "2026-11-24 23:59:59", "a partial approval is a partial denial: P2P applies"),
    ({"decision": "Approved", "decision_date": "2026-11-10"}, "p2p_window_closes", None,
     "no P2P window for an approval"),
    ({"decision": "Denied", "decision_date": "2026-11-10"}, "appeal_filing_deadline",
     "2027-05-09 23:59:59", "Commercial: 180 days (29 CFR 2560.503-1(h)(3)(i))"),
    ({"decision": "Denied", "decision_date": "2026-11-10", "plan_type": "Medicare Advantage"},
     "appeal_filing_deadline", "2027-01-09 23:59:59", "Medicare Advantage: 60 days"),
    ({"decision": "Denied", "decision_date": "2026-11-10", "plan_type": "CHIP"},
     "appeal_filing_deadline", "2027-01-09 23:59:59", "CHIP: 60 days"),
    ({"decision": "Denied", "decision_date": "2026-11-10", "plan_type": "Other",
      "payer": "Evergreen Workers Comp"}, "appeal_filing_deadline", "2027-02-08 23:59:59",
     "Payers sheet: 90 days"),
    ({"decision": "Denied", "decision_date": "2026-11-10", "plan_type": "Medicare FFS"},
     "appeal_filing_deadline", None, "Medicare FFS: none without the Payers sheet"),
    ({"decision": "Denied", "decision_date": "2026-09-01", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-10-31"}, "external_review_deadline", "2027-02-28 23:59:59",
     "four months from October 31 is the last day of February"),
    ({"decision": "Denied", "decision_date": "2027-09-01", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2027-10-31"}, "external_review_deadline", "2028-02-29 23:59:59",
     "four months from 2027-10-31 lands on leap day"),
    ({"decision": "Denied", "decision_date": "2026-09-01", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-10-31", "plan_type": "Medicare Advantage"},
     "external_review_deadline", None, "no 45 CFR 147.136 external review for MA"),
    ({"decision": "Denied", "decision_date": "2026-09-01", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-10-01", "plan_type": "Medicare Advantage",
      "payer": "Lakeshore Advantage"}, "external_review_deadline", "2027-01-29 23:59:59",
     "Payers sheet: 120 days"),
    ({"decision": "Approved", "auth_expiration_date": "2026-12-31", "units_authorized": 12,
      "units_used": 4}, "renewal_due", "2026-12-17 23:59:59", "14 days before expiry"),
    ({"decision": "Approved", "auth_expiration_date": "2026-12-31", "units_authorized": 12,
      "units_used": 12}, "renewal_due", None, "no units left: nothing to renew"),
    ({"decision": "Denied", "auth_expiration_date": "2026-12-31"}, "renewal_due", None,
     "no renewal without an approval"),
    ({"decision": "Denied", "p2p_outcome": "Overturned", "auth_expiration_date": "2026-12-31"},
     "renewal_due", "2026-12-17 23:59:59", "overturned on P2P: it is an approval"),
]


@pytest.mark.parametrize(("fields", "name", "expected", "why"), PRACTICE_CASES,
                         ids=[case[-1] for case in PRACTICE_CASES])
def test_practice_deadlines(fields: dict[str, object], name: str, expected: str | None,
                            why: str) -> None:
    values = {"plan_type": "Commercial", "payer": "Any Payer", "submitted_at": "2026-09-01",
              **fields}
    row = deadlines(values).iloc[0]
    if expected is None:
        assert pd.isna(row[name]), why
        assert pd.isna(row["basis_" + name]), why
    else:
        assert row[name] == pd.Timestamp(expected), why
        assert isinstance(row["basis_" + name], str), why


def test_settings_change_practice_deadlines() -> None:
    row = deadlines({"info_requested_at": "2026-11-24 15:00", "decision": "Approved",
                     "auth_expiration_date": "2026-12-31", "units_authorized": 20,
                     "units_used": 12, "submitted_at": "2026-11-01"},
                    settings={"info_response_hours": 4, "renewal_lead_days": 30,
                              "low_units_threshold": 8}).iloc[0]
    assert row["info_response_due"] == pd.Timestamp("2026-11-24 19:00")
    assert row["renewal_due"] == pd.Timestamp("2026-12-01 23:59:59")
    assert bool(row["low_units"])
    assert "8 of 20 units left" in row["basis_low_units"]


def test_status_checks_follow_the_cadence_and_tighten_near_the_service() -> None:
    rows = deadlines(
        {"submitted_at": "2026-11-24 10:00", "status": "Submitted",
         "scheduled_service_date": "2027-01-15"},
        {"submitted_at": "2026-11-24 10:00", "status": "Submitted",
         "last_status_check": "2026-11-27 11:00", "scheduled_service_date": "2026-12-02"},
        {"submitted_at": "2026-11-24 10:00", "status": "Approved", "decision": "Approved"},
    )
    # 2 business days after Tue 11-24: Wed 25, (Thu 26 Thanksgiving), Fri 27
    assert rows["next_status_check"].iloc[0] == pd.Timestamp("2026-11-27 23:59:59")
    # service within 5 business days of 11-28: every business day, from the last check
    assert rows["next_status_check"].iloc[1] == pd.Timestamp("2026-11-30 23:59:59")
    assert "every business day" in rows["basis_next_status_check"].iloc[1]
    assert pd.isna(rows["next_status_check"].iloc[2])


def test_closures_move_business_day_deadlines() -> None:
    fields = {"plan_type": "Commercial", "decision": "Denied", "decision_date": "2026-11-30",
              "submitted_at": "2026-11-20"}
    assert deadlines(fields)["appeal_target"].iloc[0] == pd.Timestamp("2026-12-01 23:59:59")
    moved = deadlines(fields, closures=("2026-12-01",))["appeal_target"].iloc[0]
    assert moved == pd.Timestamp("2026-12-02 23:59:59")


def test_at_risk_when_the_decision_would_come_on_or_after_the_service() -> None:
    rows = deadlines(
        {"plan_type": "Commercial", "submitted_at": "2026-11-25 09:00",
         "scheduled_service_date": "2026-12-05"},  # due 12-10: after the service
        {"plan_type": "Medicare Advantage", "submitted_at": "2026-11-25 09:00",
         "scheduled_service_date": "2026-12-05"},  # due 12-02: in time
        {"plan_type": "Medicare Advantage", "scheduled_service_date": "2026-12-03"},
        # not submitted: today (11-28) + 7 days = 12-05 is after the service date
        {"plan_type": "Medicare Advantage", "scheduled_service_date": "2026-12-03",
         "decision": "Approved"},
        {"plan_type": "Medicare Advantage", "scheduled_service_date": "2026-12-03",
         "pa_required": "No"},
    )
    assert rows["at_risk"].tolist() == [True, False, True, False, False]
    assert "on or after the service date 2026-12-05" in rows["basis_at_risk"].iloc[0]


def test_low_units() -> None:
    rows = deadlines(
        {"decision": "Approved", "units_authorized": 12, "units_used": 7},
        {"decision": "Approved", "units_authorized": 12, "units_used": 6},
        {"decision": "Approved", "units_authorized": 3},
        {"decision": "Denied", "units_authorized": 3},
    )
    assert rows["low_units"].tolist() == [True, False, True, False]


def test_json_has_every_deadline_and_its_basis() -> None:
    table = deadlines({"plan_type": "Medicare Advantage", "submitted_at": "2026-11-02 10:00",
                       "decision": "Denied", "decision_date": "2026-11-06"},
                      {"plan_type": "Commercial"})
    document = json.loads(json.dumps(deadlines_json(table)))
    assert [record["request_id"] for record in document] == ["R1", "R2"]
    first = document[0]
    assert set(first) == {"request_id", "row", "basis", *DEADLINES}
    assert set(first["basis"]) == set(DEADLINES)
    assert first["decision_due"] == "2026-11-09T10:00:00"
    assert first["appeal_target"] == "2026-11-09T23:59:59"
    assert first["at_risk"] is False
    assert first["info_response_due"] is None
    assert first["basis"]["info_response_due"] is None
    assert document[1]["decision_due"] is None


def test_a_payers_row_for_one_plan_type_does_not_touch_another() -> None:
    payers = typed_frame("Payers", [
        {"payer": "Aetna Example", "plan_type": "Commercial", "standard_decision_days": 30,
         "appeal_filing_days": 180},
    ])
    requests = typed_frame("Requests", [
        {"request_id": "MA", "payer": "Aetna Example", "plan_type": "Medicare Advantage",
         "submitted_at": "2026-11-02 10:00", "decision": "Denied", "decision_date": "2026-11-05"},
        {"request_id": "C", "payer": "Aetna Example", "plan_type": "Commercial",
         "submitted_at": "2026-11-02 10:00"},
    ])
    table = compute_deadlines(requests, payers, {}, CALENDAR, AS_OF)
    assert table["decision_due"].iloc[0] == pd.Timestamp("2026-11-09 10:00")
    assert table["appeal_filing_deadline"].iloc[0] == pd.Timestamp("2027-01-04 23:59:59")
    assert table["decision_due"].iloc[1] == pd.Timestamp("2026-12-02 10:00")
