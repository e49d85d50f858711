"""Checks that block a submission: requirement precedence, checklists, enrollment, codes."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from patoolkit.rules import (
    code_findings,
    documentation_checklist,
    enrollment_for,
    requirement,
    requirements_for,
)
from patoolkit.schema import LISTS
from patoolkit.tracker.read import typed_frame

# Excel rows 2.. in this order
RULES = typed_frame("PA Rules", [
    {"payer": "*", "plan_type": "*", "code": "70551-70553", "pa_required": "Yes"},  # row 2
    {"payer": "Summit Health Plan", "plan_type": "*", "code": "70551", "pa_required": "No"},  # 3
    {"payer": "Summit Health Plan", "plan_type": "Medicare Advantage", "code": "70551",
     "pa_required": "Yes", "benefit_manager": "RadReview"},  # row 4
    {"payer": "*", "plan_type": "Medicare FFS", "code": "70551-70553", "pa_required": "No"},  # 5
    {"payer": "*", "plan_type": "*", "code": "97110", "pa_required": "Conditional",
     "condition": "after 12 visits a year", "visit_threshold": 12},  # row 6
    {"payer": "*", "plan_type": "*", "code": "E0601", "pa_required": "Yes",
     "effective_to": "2026-06-30"},  # row 7
    {"payer": "*", "plan_type": "*", "code": "E0601", "pa_required": "No",
     "effective_from": "2026-07-01"},  # row 8
    {"payer": "*", "plan_type": "*", "code": "70000-79999", "pa_required": "No"},  # row 9
])


@pytest.mark.parametrize(("payer", "plan", "codes", "on", "answer", "rows", "why"), [
    ("Summit Health Plan", "Medicare Advantage", "70551", None, "Yes", [4],
     "payer + plan type + code beats everything"),
    ("summit health plan ", "Commercial", "70551", None, "No", [3],
     "payer + code beats * rules (payer name matched forgivingly)"),
    ("Other Payer", "Medicare FFS", "70552", None, "No", [5], "* + plan type beats * + *"),
    ("Other Payer", "Commercial", "70552", None, "Yes", [2],
     "a narrower range (70551-70553) beats a wider one (70000-79999)"),
    ("Other Payer", "Commercial", "72148", None, "No", [9], "only the wide range covers it"),
    ("Other Payer", "Commercial", "27447", None, "Unknown", [], "no rule: Unknown, never No"),
    ("Other Payer", "Commercial", "97110", None, "Conditional", [6], "conditional rule"),
    ("Other Payer", "Commercial", "E0601", dt.date(2026, 6, 30), "Yes", [7],
     "effective_to covers the service date"),
    ("Other Payer", "Commercial", "E0601", dt.date(2026, 7, 1), "No", [8],
     "the replacement rule starts on its effective_from"),
    ("Other Payer", "Commercial", "72148, 27447", None, "Unknown", [9],
     "one code unknown makes the request Unknown"),
    ("Other Payer", "Commercial", "72148, 70552", None, "Yes", [9, 2],
     "one code needing PA makes the request need PA"),
    ("Other Payer", "Commercial", "", None, "Unknown", [], "no codes: Unknown"),
])
def test_requirement_precedence(payer: str, plan: str, codes: str, on: dt.date | None,
                                answer: str, rows: list[int], why: str) -> None:
    found = requirement(RULES, payer, plan, codes, on or dt.date(2026, 12, 1))
    assert found.answer == answer, why
    assert sorted(found.rule_rows) == sorted(rows), why


def test_requirement_says_which_row_decided_and_carries_conditions() -> None:
    found = requirement(RULES, "Summit Health Plan", "Medicare Advantage", "70551")
    assert "PA Rules row 4" in found.reason
    assert found.benefit_manager == "RadReview"
    conditional = requirement(RULES, "X", "Commercial", "97110")
    assert conditional.condition == "after 12 visits a year"
    assert conditional.visit_threshold == 12
    unknown = requirement(RULES, "X", "Commercial", "27447")
    assert "no PA Rules row matches" in unknown.reason


def test_requirements_for_a_whole_frame_keeps_the_index() -> None:
    requests = typed_frame("Requests", [
        {"request_id": "A", "payer": "Summit Health Plan", "plan_type": "Commercial",
         "codes": "70551"},
        {"request_id": "B", "payer": "X", "plan_type": "Commercial", "codes": "27447"},
        {"request_id": "C", "payer": "X", "plan_type": "Commercial"},
    ])
    found = requirements_for(requests, RULES)
    assert list(found.index) == list(requests.index)
    assert found["pa_answer"].tolist() == ["No", "Unknown", "Unknown"]


CRITERIA = typed_frame("Criteria", [
    {"service_category": "Advanced Imaging", "payer": "*", "item": "Clinical indication",
     "required": "Yes"},
    {"service_category": "Advanced Imaging", "payer": "*", "item": "Prior imaging results",
     "required": "Yes"},
    {"service_category": "Advanced Imaging", "payer": "*", "item": "Referral letter",
     "required": "No"},
    {"service_category": "Advanced Imaging", "payer": "Summit Health Plan",
     "item": "6 weeks of conservative treatment", "required": "Yes"},
    {"service_category": "Genetic Testing", "payer": "*", "item": "Family history",
     "required": "Yes"},
])


def test_checklist_uses_general_rows_and_lists_what_is_missing() -> None:
    table = documentation_checklist(CRITERIA, "Advanced Imaging", "Other Payer",
                                    present=["clinical indication "])
    assert table["item"].tolist() == ["Clinical indication", "Prior imaging results",
                                      "Referral letter"]
    assert table.loc[table["missing"], "item"].tolist() == ["Prior imaging results"]
    assert table["source"].iloc[0] == "Criteria row 2 (*)"


def test_payer_rows_replace_the_general_ones() -> None:
    table = documentation_checklist(CRITERIA, "Advanced Imaging", "Summit Health Plan")
    assert table["item"].tolist() == ["6 weeks of conservative treatment"]
    assert documentation_checklist(CRITERIA, "Home Health", "X").empty


PROVIDERS = typed_frame("Providers", [
    {"npi": "1234567893", "payer": "Summit Health Plan", "enrollment_status": "Enrolled",
     "effective_date": "2025-01-01"},
    {"npi": "1234567893", "payer": "Lakeshore", "enrollment_status": "Pending"},
    {"npi": "1245319599", "payer": "Summit Health Plan", "enrollment_status": "Enrolled",
     "effective_date": "2026-12-15"},
    {"npi": "1245319599", "payer": "Lakeshore", "enrollment_status": "Not Enrolled"},
])


def test_enrollment_outcomes() -> None:
    requests = typed_frame("Requests", [
        {"request_id": "1", "ordering_npi": "1234567893", "payer": "summit health plan",
         "submitted_at": "2026-11-02"},
        {"request_id": "2", "ordering_npi": "1234567893", "payer": "Lakeshore"},
        {"request_id": "3", "ordering_npi": "1245319599", "payer": "Summit Health Plan",
         "submitted_at": "2026-11-02"},
        {"request_id": "4", "ordering_npi": "1245319599", "payer": "Lakeshore"},
        {"request_id": "5", "ordering_npi": "1234567893", "payer": "Nobody Health"},
        {"request_id": "6", "payer": "Summit Health Plan"},
    ])
    found = enrollment_for(requests, PROVIDERS, as_of=dt.date(2026, 11, 28))
    assert found["enrolled"].tolist() == [True, False, False, False, False, False]
    reasons = found["enrollment_reason"].tolist()
    assert "Pending" in reasons[1]
    assert "starts 2026-12-15" in reasons[2]
    assert "Not Enrolled" in reasons[3]
    assert "no enrollment with Nobody Health" in reasons[4]
    assert "no ordering NPI" in reasons[5]


def test_code_findings() -> None:
    assert code_findings("1234567893", "70551, J0135, 0001U", "M54.16") == []
    found = code_findings("1234567890", "7055, ZZ123", "M54.99, M54")
    assert any("check digit" in text for text in found)
    assert any("7055" in text for text in found)
    assert any("ZZ123" in text for text in found)
    assert any("M54.99" in text and "not in the ICD-10-CM code set" in text for text in found)
    assert any("M54 " in text and "not a billable" in text for text in found)


def test_requirements_ignore_blank_rules() -> None:
    rules = pd.concat([RULES, typed_frame("PA Rules", [{"payer": "*"}])])
    assert requirement(rules, "X", "Commercial", "27447").answer == "Unknown"


@pytest.mark.parametrize(("as_of", "answer", "rows"), [
    (dt.date(2026, 6, 30), "Yes", [7]), (dt.date(2026, 7, 1), "No", [8])])
def test_a_request_without_a_service_date_is_judged_by_the_rules_of_as_of(
        as_of: dt.date, answer: str, rows: list[int]) -> None:
    """The intake check's day, not the computer's: a form checked for another day (or a
    test) reads the PA Rules in effect then."""
    found = requirement(RULES, "Other Payer", "Commercial", "E0601", None, as_of=as_of)
    assert (found.answer, found.rule_rows) == (answer, rows)
    assert (found.condition, found.benefit_manager) == (None, None)


def test_a_pa_required_word_added_on_the_lists_sheet_counts_as_unknown() -> None:
    """A consultant may add a word to the PA Required list ('n/a'); a rule using it says
    nothing the code can act on, so the request is Unknown (a person checks), never No."""
    lists = {**LISTS, "rule_pa_required": (*LISTS["rule_pa_required"], "n/a")}
    rules = typed_frame("PA Rules", [{"payer": "*", "plan_type": "*", "code": "E0601",
                                      "pa_required": "n/a"}], lists)
    assert rules["pa_required"].iloc[0] == "n/a"  # the tracker keeps the analyst's word
    found = requirement(rules, "Other Payer", "Commercial", "E0601", dt.date(2026, 12, 1))
    assert (found.answer, found.rule_rows) == ("Unknown", [2])
