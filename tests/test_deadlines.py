"""Deadlines: a table of regulatory cases, each a reason a reader can check against its rule."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import generated
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SAMPLE_TRACKER
from patoolkit import load_tracker, timeframes
from patoolkit.calendars import BusinessCalendar
from patoolkit.deadlines import (
    DEADLINES,
    compute_deadlines,
    deadlines_for,
    deadlines_for_requests,
    deadlines_json,
)
from patoolkit.schema import LISTS
from patoolkit.timeframes import COUNTED_FROM, TIMEFRAMES, Timeframe
from patoolkit.tracker.read import typed_frame

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
# Days end at 23:59:59 of their last day; hours keep their hour (CONTRACT section 2).
DECISION_CASES = [
    ("Medicare Advantage", "Standard", "2026-03-02 10:00", {}, "2026-03-09 23:59:59",
     "CMS-0057-F, 42 CFR 422.568(b)(1): 7 calendar days end at the end of day 7 (contract "
     "example)"),
    ("Medicare Advantage", "Standard", "2026-11-02", {}, "2026-11-09 23:59:59",
     "a date alone: 7 days end at the end of day 7 too"),
    ("Medicare Advantage", "Standard", "2025-12-20 09:00", {}, "2026-01-03 23:59:59",
     "submitted before 2026-01-01: the old 14-day rule of 422.568(b)(1)"),
    ("Medicare Advantage", "Standard", "2026-01-01 09:00", {}, "2026-01-08 23:59:59",
     "submitted on 2026-01-01: CMS-0057-F applies"),
    ("Medicare Advantage", "Expedited", "2026-11-02 10:00", {}, "2026-11-05 10:00",
     "42 CFR 422.572(a): 72 hours keep their hour"),
    ("Medicare Advantage", "Expedited", "2026-03-07 17:00", {}, "2026-03-10 18:00",
     "72 real hours from Sat 17:00 New York across the spring clock change end Tue 18:00 "
     "(issue 15)"),
    ("Medicare Advantage", "Expedited", "2026-10-31 12:00", {}, "2026-11-03 11:00",
     "72 real hours across the autumn clock change end an hour earlier on the wall clock"),
    ("Medicare Advantage", "Expedited", "2026-11-02", {}, "2026-11-05 23:59:59",
     "72 hours from the end of a date-only submission day (a payer is never called late by "
     "mistake)"),
    ("Medicaid FFS", "Standard", "2026-11-20 08:00", {}, "2026-11-27 23:59:59",
     "42 CFR 440.230(e): 7 calendar days, Thanksgiving is not skipped"),
    ("Medicaid FFS", "Standard", "2025-11-20 08:00", {}, None,
     "Medicaid FFS before 2026-01-01: no federal timeframe"),
    ("Medicaid Managed Care", "Expedited", "2026-11-25 16:30", {}, "2026-11-28 16:30",
     "42 CFR 438.210(d)(2): 72 clock hours across Thanksgiving"),
    ("CHIP", "Standard", "2026-12-26", {}, "2027-01-02 23:59:59", "7 days across the new year"),
    ("Medicaid Managed Care", "Standard", "2025-06-02 09:00", {}, "2025-06-16 23:59:59",
     "Medicaid managed care rating period 2025: 14 days (438.210(d)(1))"),
    ("Commercial", "Standard", "2026-11-02 09:00", {}, "2026-11-17 23:59:59",
     "29 CFR 2560.503-1(f)(2)(iii)(A): 15 days pre-service"),
    ("Marketplace QHP", "Expedited", "2026-11-02 09:00", {}, "2026-11-05 09:00",
     "QHP urgent: 72 hours (f)(2)(i)"),
    ("Commercial", "Standard", "2026-11-02 09:00", {"extension_days": 15}, "2026-12-02 23:59:59",
     "one 15-day extension (f)(2)(iii)(A) adds whole days"),
    ("Commercial", "Standard", "2026-11-02 09:00", {"extension_days": 30}, "2026-12-02 23:59:59",
     "an extension beyond the 15 days allowed is capped at 15"),
    ("Commercial", "Expedited", "2026-11-02 09:00", {"extension_days": 5}, "2026-11-05 09:00",
     "no extension of an urgent Commercial request (f)(2)(i)"),
    ("Medicare Advantage", "Standard", "2026-11-02 09:00", {"extension_days": 14},
     "2026-11-23 23:59:59", "42 CFR 422.568(b)(1)(i): up to 14 days' extension"),
    ("Medicare Advantage", "Standard", "2026-11-02 09:00", {"extension_days": 99},
     "2026-11-23 23:59:59", "extension_days 99 is capped at the 14 days the law allows "
     "(issue 15: it was added as given)"),
    ("Medicare Advantage", "Standard", "2026-11-02 09:00",
     {"extension_days": 5, "service_category": "Specialty Medication"}, "2026-11-05 09:00",
     "no extension of a Part B drug's 72 hours"),
    ("Commercial", "Standard", "2026-11-02 09:00",
     {"info_requested_at": "2026-11-04 09:00", "info_responded_at": "2026-11-06 15:00"},
     "2026-11-19 23:59:59", "29 CFR 2560.503-1(f)(4): stopped from the date asked (11-04) to "
     "the date answered (11-06): 2 days"),
    ("Marketplace QHP", "Standard", "2026-11-02 09:00",
     {"info_requested_at": "2026-11-04 09:00", "info_responded_at": "2026-11-05 09:00"},
     "2026-11-18 23:59:59", "QHP: stopped one day"),
    ("Commercial", "Standard", "2026-11-02 09:00", {"info_requested_at": "2026-11-04 09:00"},
     None, "Commercial still waiting for the information: no payer due date"),
    ("Commercial", "Standard", "2026-11-02 09:00",
     {"info_requested_at": "2026-11-20 09:00", "info_responded_at": "2026-11-24 09:00"},
     "2026-11-17 23:59:59", "an information request after the due date (11-17) stops no clock: "
     "the payer was already late (issue 15)"),
    ("Commercial", "Standard", "2026-11-02 09:00", {"info_requested_at": "2026-11-20 09:00"},
     "2026-11-17 23:59:59", "an unanswered late information request does not excuse the payer"),
    ("Commercial", "Expedited", "2026-11-02 09:00",
     {"info_requested_at": "2026-11-03 09:00", "info_responded_at": "2026-11-04 15:00"},
     "2026-11-06 15:00", "29 CFR 2560.503-1(f)(2)(i): urgent, due 48 hours after the answer "
     "arrives, not 72 hours plus the pause (issue 15)"),
    ("Marketplace QHP", "Expedited", "2026-11-02 09:00",
     {"info_requested_at": "2026-11-03 09:00"}, None,
     "urgent, information still missing: no payer due date"),
    ("Medicare Advantage", "Standard", "2026-11-02 09:00",
     {"info_requested_at": "2026-11-04 09:00", "info_responded_at": "2026-11-06 15:00"},
     "2026-11-09 23:59:59", "CMS-0057-F plan: the clock does not stop"),
    ("Medicaid FFS", "Standard", "2026-11-02 09:00", {"info_requested_at": "2026-11-04 09:00"},
     "2026-11-09 23:59:59", "Medicaid: no tolling even while the information is missing"),
    ("Medicare FFS", "Standard", "2026-11-02 09:00", {}, "2026-11-09 23:59:59",
     "42 CFR 419.82, CMS-1809-FC: 7 calendar days from 2025 (issue 15: none before)"),
    ("Medicare FFS", "Standard", "2024-11-01 09:00", {}, "2024-11-18 23:59:59",
     "before 2025: 10 business days from Fri 11-01: 11-04..08 are 1-5, Veterans Day Mon "
     "11-11 is skipped, 11-12..15 are 6-9, Mon 11-18 is 10"),
    ("Medicare FFS", "Expedited", "2026-11-25 09:00", {}, "2026-11-30 23:59:59",
     "2 business days from Wed 11-25: Fri 11-27, Mon 11-30 (Thanksgiving skipped)"),
    ("Medicare Advantage", "Standard", "2026-11-02 09:00",
     {"service_category": "Specialty Medication"}, "2026-11-05 09:00",
     "42 CFR 422.568(b)(3): a Part B drug, by its service category: 72 hours"),
    ("Medicare Advantage", "Expedited", "2026-11-02 09:00", {"codes": "J9312, J1745"},
     "2026-11-03 09:00", "42 CFR 422.572(a)(2): a Part B drug, by its J codes: 24 hours"),
    ("Medicare Advantage", "Standard", "2026-11-02 09:00", {"codes": "96365, J1745"},
     "2026-11-09 23:59:59", "an infusion code with a J code is not all J codes: items rule"),
    ("Medicare Part D", "Standard", "2026-11-02 09:00", {}, "2026-11-05 09:00",
     "42 CFR 423.568(b): Part D, 72 hours"),
    ("Medicare Part D", "Expedited", "2026-11-02 09:00", {}, "2026-11-03 09:00",
     "42 CFR 423.572(a): Part D expedited, 24 hours"),
    ("Medicaid FFS", "Standard", "2026-11-02 09:00", {"codes": "J0135"}, "2026-11-03 09:00",
     "SSA 1927(d)(5)(A): a covered outpatient drug, 24 hours"),
    ("Medicaid Managed Care", "Standard", "2026-11-02 09:00",
     {"service_category": "Specialty Medication"}, "2026-11-03 09:00",
     "SSA 1927(d)(5)(A) in managed care too"),
    ("Commercial", "Standard", "2026-11-02 09:00", {"codes": "J0135"}, "2026-11-17 23:59:59",
     "ERISA has no drug timeframe of its own: 15 days"),
    ("Other", "Standard", "2026-11-02 09:00", {"payer": "Evergreen Workers Comp"},
     "2026-11-12 23:59:59", "Payers sheet: 10 days (no federal rule for Other)"),
    ("Other", "Expedited", "2026-11-02 09:00", {"payer": "evergreen workers comp "},
     "2026-11-04 09:00", "Payers sheet override, payer name matched forgivingly: 48 hours"),
    ("Other", "Standard", "2026-11-02 09:00", {}, None,
     "Other without a Payers row: no due date"),
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
        "(CMS-0057-F; 42 CFR 422.568(b)(1))")
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
     "appeal_filing_deadline", "2027-01-14 23:59:59",
     "Medicare Advantage: 65 days from the notice (42 CFR 422.582(b), from 2025)"),
    ({"decision": "Denied", "decision_date": "2026-05-22", "plan_type": "Medicare Advantage"},
     "appeal_filing_deadline", "2026-07-26 23:59:59",
     "issue 15: a denial of 2026-05-22 may be appealed until 2026-07-26, not 07-21"),
    ({"decision": "Denied", "decision_date": "2024-11-10", "plan_type": "Medicare Advantage"},
     "appeal_filing_deadline", "2025-01-09 23:59:59",
     "a denial before 2025: 60 days (422.582(b) before CMS-4205-F)"),
    ({"decision": "Denied", "decision_date": "2026-05-22", "plan_type": "Medicare Part D"},
     "appeal_filing_deadline", "2026-07-26 23:59:59", "Part D: 65 days (42 CFR 423.582(b))"),
    ({"decision": "Denied", "decision_date": "2026-05-22", "plan_type": "Medicaid FFS"},
     "appeal_filing_deadline", "2026-08-20 23:59:59",
     "Medicaid FFS: State fair hearing within 90 days (42 CFR 431.221(d)), not the "
     "managed-care 60"),
    ({"decision": "Denied", "decision_date": "2026-11-10", "plan_type": "CHIP"},
     "appeal_filing_deadline", "2027-01-09 23:59:59", "CHIP: 60 days"),
    ({"decision": "Denied", "decision_date": "2026-11-10", "plan_type": "Other",
      "payer": "Evergreen Workers Comp"}, "appeal_filing_deadline", "2027-02-08 23:59:59",
     "Payers sheet: 90 days"),
    ({"decision": "Denied", "decision_date": "2026-11-10", "plan_type": "Medicare FFS"},
     "appeal_filing_deadline", None, "Medicare FFS: none without the Payers sheet"),
    ({"decision": "Denied", "decision_date": "2026-09-01", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-10-30"}, "external_review_deadline", "2027-03-01 23:59:59",
     "45 CFR 147.136(d), issue 15: 4 months from 2026-10-30 is 02-30, no such day: 03-01 "
     "(not 02-28, a Sunday)"),
    ({"decision": "Denied", "decision_date": "2027-09-01", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2027-10-29"}, "external_review_deadline", "2028-02-29 23:59:59",
     "four months from 2027-10-29 is leap day, a Tuesday: kept"),
    ({"decision": "Denied", "decision_date": "2026-01-01", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-03-04"}, "external_review_deadline", "2026-07-06 23:59:59",
     "4 months from 03-04 is Sat 07-04, Independence Day: the next business day, Mon 07-06"),
    ({"decision": "Denied", "decision_date": "2026-01-01", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-03-10"}, "external_review_deadline", "2026-07-10 23:59:59",
     "4 months from a Tuesday in March is a Friday: kept"),
    ({"decision": "Denied", "decision_date": "2026-09-01", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-10-31", "plan_type": "Medicare Advantage"},
     "external_review_deadline", None, "no 45 CFR 147.136 external review for MA"),
    ({"decision": "Denied", "decision_date": "2026-09-01", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-10-01", "plan_type": "Medicare Advantage",
      "payer": "Lakeshore Advantage"}, "external_review_deadline", "2027-01-29 23:59:59",
     "Payers sheet: 120 days"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "plan_type": "Medicaid Managed Care",
      "appeal_submitted_date": "2026-05-10", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-06-01"}, "state_fair_hearing_deadline",
     "2026-09-29 23:59:59", "42 CFR 438.408(f)(2): State fair hearing within 120 days of the "
     "upheld managed-care appeal"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "plan_type": "CHIP",
      "appeal_outcome": "Upheld", "appeal_decision_date": "2026-06-01"},
     "state_fair_hearing_deadline", "2026-09-29 23:59:59", "CHIP managed care: 120 days too"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "appeal_outcome": "Upheld",
      "appeal_decision_date": "2026-06-01"}, "state_fair_hearing_deadline", None,
     "no State fair hearing for a Commercial plan"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "plan_type": "Medicaid Managed Care",
      "appeal_submitted_date": "2026-05-10", "appeal_outcome": "Overturned",
      "appeal_decision_date": "2026-06-01"}, "state_fair_hearing_deadline", None,
     "nothing to contest after an overturned appeal"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "plan_type": "Medicare Advantage",
      "appeal_submitted_date": "2026-05-10"}, "appeal_decision_due", "2026-06-09 23:59:59",
     "42 CFR 422.590(a): reconsideration in 30 days"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "plan_type": "Medicare Advantage",
      "codes": "J1745", "appeal_submitted_date": "2026-05-10"}, "appeal_decision_due",
     "2026-05-17 23:59:59", "42 CFR 422.590(c): a Part B drug reconsideration in 7 days"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "plan_type": "Medicare Advantage",
      "urgency": "Expedited", "appeal_submitted_date": "2026-05-10"}, "appeal_decision_due",
     "2026-05-13 23:59:59", "42 CFR 422.590(e): 72 hours from the end of the filing day"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "plan_type": "Medicaid Managed Care",
      "appeal_submitted_date": "2026-05-10"}, "appeal_decision_due", "2026-06-09 23:59:59",
     "42 CFR 438.408(b)(2): 30 days"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "plan_type": "CHIP",
      "urgency": "Expedited", "appeal_submitted_date": "2026-05-10"}, "appeal_decision_due",
     "2026-05-13 23:59:59", "42 CFR 438.408(b)(3): 72 hours"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "appeal_submitted_date": "2026-05-10"},
     "appeal_decision_due", "2026-06-09 23:59:59",
     "29 CFR 2560.503-1(i)(2)(ii): pre-service appeal, 30 days"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "urgency": "Expedited",
      "appeal_submitted_date": "2026-05-10"}, "appeal_decision_due", "2026-05-13 23:59:59",
     "29 CFR 2560.503-1(i)(2)(i): urgent appeal, 72 hours"),
    ({"decision": "Denied", "decision_date": "2026-05-01", "plan_type": "Other",
      "appeal_submitted_date": "2026-05-10"}, "appeal_decision_due", None,
     "Other: no federal appeal timeframe"),
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
    assert first["decision_due"] == "2026-11-09T23:59:59"
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
    assert table["decision_due"].iloc[0] == pd.Timestamp("2026-11-09 23:59:59")
    assert table["appeal_filing_deadline"].iloc[0] == pd.Timestamp("2027-01-09 23:59:59")
    # 30 days is longer than the 15 federal law allows: the federal limit is used
    assert table["decision_due"].iloc[1] == pd.Timestamp("2026-11-17 23:59:59")
    assert "longer than federal law allows" in table["basis_decision_due"].iloc[1]


# --- Payers-sheet overrides: stricter than federal law only, in calendar or business days ---

OVERRIDE_PAYERS = typed_frame("Payers", [
    {"payer": "State Law Plan", "plan_type": "Commercial", "standard_decision_days": 5,
     "decision_days_are": "Business", "override_from": "2026-07-01"},
    {"payer": "Slow Plan", "plan_type": "Commercial", "standard_decision_days": 30,
     "expedited_decision_hours": 96},
    {"payer": "Quick Plan", "plan_type": "Medicare Advantage", "expedited_decision_hours": 48,
     "override_to": "2026-06-30"},
    {"payer": "July Medicaid", "plan_type": "Medicaid Managed Care",
     "rating_period_start": "07-01"},
    {"payer": "Short Hearing State", "plan_type": "Medicaid FFS", "appeal_filing_days": 30},
    {"payer": "Long Hearing State", "plan_type": "Medicaid FFS", "appeal_filing_days": 120},
])

# (payer, plan_type, urgency, submitted_at, extra, expected decision_due, why)
OVERRIDE_CASES = [
    ("State Law Plan", "Commercial", "Standard", "2026-07-02 10:00", {}, "2026-07-10 23:59:59",
     "5 business days from Thu 07-02: Mon 06 .. Fri 10 (Fri 07-03 is the observed "
     "Independence Day); shorter than the federal 15 days, so it wins"),
    ("State Law Plan", "Commercial", "Standard", "2026-06-30 10:00", {}, "2026-07-15 23:59:59",
     "before override_from: the State law is not in force yet, federal 15 days"),
    ("Slow Plan", "Commercial", "Standard", "2026-11-02 09:00", {}, "2026-11-17 23:59:59",
     "30 days is longer than the federal 15: the federal limit applies"),
    ("Slow Plan", "Commercial", "Expedited", "2026-11-02 09:00", {}, "2026-11-05 09:00",
     "96 hours is longer than the federal 72: the federal limit applies"),
    ("Quick Plan", "Medicare Advantage", "Expedited", "2026-06-01 09:00", {}, "2026-06-03 09:00",
     "48 hours, stricter than 72, until override_to"),
    ("Quick Plan", "Medicare Advantage", "Expedited", "2026-07-01 09:00", {}, "2026-07-04 09:00",
     "after override_to: the federal 72 hours"),
    ("July Medicaid", "Medicaid Managed Care", "Standard", "2026-03-02 09:00", {},
     "2026-03-16 23:59:59", "rating period from 2025-07-01 started before 2026: still 14 days "
     "(CMS-0057-F applies from the first rating period starting on or after 2026-01-01)"),
    ("July Medicaid", "Medicaid Managed Care", "Standard", "2026-07-01 09:00", {},
     "2026-07-08 23:59:59", "the rating period starting 2026-07-01: 7 days"),
    ("Any Medicaid", "Medicaid Managed Care", "Standard", "2026-03-02 09:00", {},
     "2026-03-09 23:59:59", "no rating_period_start: January 1, so 7 days in 2026"),
]


@pytest.mark.parametrize(("payer", "plan", "urgency", "submitted", "extra", "expected", "why"),
                         OVERRIDE_CASES, ids=[case[-1][:60] for case in OVERRIDE_CASES])
def test_payers_overrides_win_only_when_stricter(payer: str, plan: str, urgency: str,
                                                 submitted: str, extra: dict[str, object],
                                                 expected: str, why: str) -> None:
    requests = typed_frame("Requests", [{"request_id": "R1", "payer": payer, "plan_type": plan,
                                         "urgency": urgency, "submitted_at": submitted,
                                         **extra}])
    row = compute_deadlines(requests, OVERRIDE_PAYERS, {}, CALENDAR, AS_OF).iloc[0]
    assert row["decision_due"] == pd.Timestamp(expected), why


def test_override_bases_say_which_limit_applies() -> None:
    requests = typed_frame("Requests", [
        {"request_id": "A", "payer": "State Law Plan", "plan_type": "Commercial",
         "submitted_at": "2026-07-02 10:00"},
        {"request_id": "B", "payer": "Slow Plan", "plan_type": "Commercial",
         "submitted_at": "2026-07-02 10:00"},
        {"request_id": "C", "payer": "July Medicaid", "plan_type": "Medicaid Managed Care",
         "submitted_at": "2026-03-02 10:00"},
    ])
    basis = compute_deadlines(requests, OVERRIDE_PAYERS, {}, CALENDAR, AS_OF)["basis_decision_due"]
    assert basis.iloc[0] == ("Payers sheet: State Law Plan allows 5 business days for a standard "
                             "decision (stricter than federal law)")
    assert basis.iloc[1].startswith("Commercial, standard: 15 calendar days")
    assert basis.iloc[1].endswith("Slow Plan allows 30 calendar days for a standard decision, "
                                  "longer than federal law allows: the federal limit applies")
    assert "rating period from 2025-07-01 (Payers sheet)" in basis.iloc[2]


def test_state_fair_hearing_window_may_only_be_shorter() -> None:
    """42 CFR 431.221(d): a State may allow at most 90 days for a fair hearing request."""
    requests = typed_frame("Requests", [
        {"request_id": payer, "payer": payer, "plan_type": "Medicaid FFS",
         "submitted_at": "2026-05-01", "decision": "Denied", "decision_date": "2026-05-22"}
        for payer in ("Short Hearing State", "Long Hearing State")])
    table = compute_deadlines(requests, OVERRIDE_PAYERS, {}, CALENDAR, AS_OF)
    assert table["appeal_filing_deadline"].tolist() == [pd.Timestamp("2026-06-21 23:59:59"),
                                                        pd.Timestamp("2026-08-20 23:59:59")]
    assert "longer than federal law allows" in table["basis_appeal_filing_deadline"].iloc[1]


def test_hours_are_real_hours_in_the_practice_time_zone() -> None:
    """CONTRACT section 2: hours are elapsed hours in Settings `timezone`."""
    fields = {"plan_type": "Medicare Advantage", "urgency": "Expedited", "payer": "Any",
              "submitted_at": "2026-03-07 17:00", "info_requested_at": "2026-03-07 12:00"}
    new_york = deadlines(fields).iloc[0]
    phoenix = deadlines(fields, settings={"timezone": "America/Phoenix"}).iloc[0]
    assert new_york["decision_due"] == pd.Timestamp("2026-03-10 18:00")
    assert phoenix["decision_due"] == pd.Timestamp("2026-03-10 17:00"), "Arizona keeps its clock"
    # the practice's own 24 hours across the change: Sat 12:00 EST is Sun 13:00 EDT
    assert new_york["info_response_due"] == pd.Timestamp("2026-03-08 13:00")
    unknown = deadlines(fields, settings={"timezone": "Mars/Olympus"}).iloc[0]
    assert unknown["decision_due"] == new_york["decision_due"], "unknown zone: the default"


def test_drug_categories_come_from_the_lists_sheet() -> None:
    requests = typed_frame("Requests", [{"request_id": "R1", "payer": "Any",
                                         "plan_type": "Medicare Advantage",
                                         "service_category": "Outpatient Infusion",
                                         "submitted_at": "2026-11-02 09:00"}])
    default = compute_deadlines(requests, None, {}, CALENDAR, AS_OF).iloc[0]
    listed = compute_deadlines(requests, None, {}, CALENDAR, AS_OF,
                               drug_categories=("Specialty Medication", "Outpatient Infusion"))
    assert default["decision_due"] == pd.Timestamp("2026-11-09 23:59:59")
    assert listed["decision_due"].iloc[0] == pd.Timestamp("2026-11-05 09:00")
    assert bool(listed["drug"].iloc[0])


def test_json_has_the_later_levels() -> None:
    table = deadlines({"plan_type": "Medicaid Managed Care", "submitted_at": "2026-05-01",
                       "decision": "Denied", "decision_date": "2026-05-05",
                       "appeal_submitted_date": "2026-05-10", "appeal_outcome": "Upheld",
                       "appeal_decision_date": "2026-06-01"})
    record = deadlines_json(table)[0]
    assert record["appeal_decision_due"] == "2026-06-09T23:59:59"
    assert record["state_fair_hearing_deadline"] == "2026-09-29T23:59:59"
    assert "438.408(f)(2)" in str(record["basis"]["state_fair_hearing_deadline"])  # type: ignore[index]


# --- the table itself ------------------------------------------------------------------------

FAR_PAST, FAR_FUTURE = dt.date(1990, 1, 1), dt.date(2100, 12, 31)


def _cells(row: Timeframe) -> list[tuple[str, str, str, str]]:
    return [(row.deadline, plan, urgency, kind) for plan in row.plan_types
            for urgency in row.urgencies() for kind in row.kinds()]


def test_timeframes_table_has_no_overlapping_rows() -> None:
    """Two rows for the same deadline, plan type, urgency and kind never cover the same date."""
    spans: dict[tuple[str, str, str, str], list[tuple[dt.date, dt.date, Timeframe]]] = {}
    for row in TIMEFRAMES:
        span = (row.effective_from or FAR_PAST, row.effective_to or FAR_FUTURE)
        assert span[0] <= span[1], row
        for cell in _cells(row):
            for start, end, other in spans.get(cell, []):
                assert span[1] < start or end < span[0], f"{row} overlaps {other}"
            spans.setdefault(cell, []).append((*span, row))


def test_every_plan_type_has_a_decision_rule_at_every_date() -> None:
    """Every plan type of the Lists sheet, both urgencies, items and drugs: one row (possibly
    'none in federal law') on every date from 1990 to 2100, with no gap between rows."""
    for plan in LISTS["plan_type"]:
        for urgency in LISTS["urgency"]:
            for kind in ("items", "drugs"):
                spans = sorted((row.effective_from or FAR_PAST, row.effective_to or FAR_FUTURE)
                               for row in TIMEFRAMES if row.deadline == "decision_due"
                               and ("decision_due", plan, urgency, kind) in _cells(row))
                assert spans, (plan, urgency, kind)
                assert spans[0][0] == FAR_PAST, (plan, urgency, kind)
                assert spans[-1][1] == FAR_FUTURE, (plan, urgency, kind)
                for (_, end), (start, _) in itertools.pairwise(spans):
                    assert start == end + dt.timedelta(days=1), (plan, urgency, kind)


def test_every_row_is_cited_and_says_what_it_does_not_model() -> None:
    for row in TIMEFRAMES:
        assert row.citation.strip(), row
        assert row.deadline in COUNTED_FROM, row
        assert set(row.plan_types) <= set(LISTS["plan_type"]), row
    doc = timeframes.__doc__ or ""
    assert "Limitations" in doc
    for words in ("State laws", "Gold-carding", "retro-authorization"):
        assert words in doc, words


# deadlines_for_requests: a request's deadlines come from its own row, the Payers sheet, the
# Settings and the whole tracker's calendar, never from another request; so some requests
# worked out alone (after a save of one) are those rows of the whole tracker's, dtypes too.
SAMPLE_AS_OF = ("2026-12-01 09:00", "2026-03-02 10:00", "2027-01-04 08:00")


@pytest.fixture(scope="module")
def sample_tracker():  # type: ignore[no-untyped-def]
    return load_tracker(SAMPLE_TRACKER)


@pytest.mark.parametrize("as_of", SAMPLE_AS_OF)
@pytest.mark.parametrize("seed", range(3))
def test_some_requests_deadlines_alone_are_those_rows_of_the_whole_trackers(
        sample_tracker, as_of: str, seed: int) -> None:  # type: ignore[no-untyped-def]
    whole = deadlines_for(sample_tracker, as_of)
    draw = np.random.default_rng(seed)
    for size in (1, 2, 5, 30, len(whole)):
        rows = [int(row) for row in draw.choice(whole.index, size=size, replace=False)]
        pd.testing.assert_frame_equal(deadlines_for_requests(sample_tracker, rows, as_of),
                                      whole.loc[rows])


@pytest.fixture(scope="module")
def generated_base(tmp_path_factory: pytest.TempPathFactory) -> generated.Base:
    return generated.base(str(tmp_path_factory.mktemp("generated")))


@pytest.mark.generated
@settings(max_examples=generated.examples(25), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data(), as_of=st.sampled_from(SAMPLE_AS_OF))
def test_some_requests_deadlines_alone_are_those_rows_of_any_trackers(
        generated_base: generated.Base, data: st.DataObject, as_of: str) -> None:
    tracker = generated.build(generated_base, data.draw(generated.edits(generated_base.grids)))
    whole = deadlines_for(tracker, as_of)
    rows = data.draw(st.lists(st.sampled_from(list(whole.index)), max_size=12, unique=True)
                     if len(whole) else st.just([]))
    pd.testing.assert_frame_equal(deadlines_for_requests(tracker, rows, as_of), whole.loc[rows])
