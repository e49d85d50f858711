"""New request intake: plan type from the Payers sheet, unknown payers, similar requests, drafts.

The domain rules (patoolkit.intake) as tables of cases with a reason each; the
writer's refusal; and the "New request" form driven with .value and .click().
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import shutil
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import openpyxl
import pandas as pd
import pytest

from conftest import SAMPLE_TRACKER
from patoolkit import InvalidValueError, add_request, load_tracker
from patoolkit.intake import (
    CHOOSE_PLAN_TYPE,
    DOCUMENTS_MISSING,
    DRAFT_MARK,
    ERROR,
    NEEDS_PATIENT_AND_PAYER,
    NEW_REQUEST_FIELDS,
    OK,
    UNKNOWN_PA,
    WARN,
    check_new_request,
    draft_mask,
    is_draft,
    known_payer,
    patient_key,
    payer_on_sheet,
    plan_type_problem,
    plan_types_for,
    same_patient,
    similar_requests,
)
from patoolkit.schema import is_blank
from patoolkit.tracker.read import Tracker, typed_frame
from patoolkit.ui import IntakeForm, TrackerSession

PAYERS = typed_frame("Payers", [
    {"payer": "Summit Health Plan", "plan_type": "Commercial"},
    {"payer": "Acme Health", "plan_type": "Commercial"},
    {"payer": "Acme Health", "plan_type": "Marketplace QHP"},
    {"payer": "ACME HEALTH", "plan_type": "Commercial"},
    {"payer": "Blank Plan Mutual"},
])


@pytest.mark.parametrize(("payer", "expected", "reason"), [
    ("Summit Health Plan", ["Commercial"], "one row, one plan type"),
    ("  summit HEALTH   plan ", ["Commercial"], "case and spaces are ignored"),
    ("Summit-Health Plan.", ["Commercial"], "punctuation is ignored"),
    ("Acme Health", ["Commercial", "Marketplace QHP"],
     "two plans in sheet order, the repeated Commercial row (spelt in capitals) once"),
    ("Blank Plan Mutual", [], "a payer row without a plan type gives none"),
    ("Summit Health", [], "a shorter name is another payer"),
    ("", [], "no payer typed yet"),
    (None, [], "no payer at all"),
])
def test_plan_types_for(payer: str | None, expected: list[str], reason: str) -> None:
    assert plan_types_for(PAYERS, payer) == expected, reason


@pytest.mark.parametrize(("payer", "spelling", "reason"), [
    ("summit  health plan", "Summit Health Plan", "the sheet's spelling, whatever was typed"),
    ("acme health", "Acme Health", "the first row's spelling when rows differ"),
    ("Blank Plan Mutual", "Blank Plan Mutual", "known even without a plan type"),
    ("Summit Health", None, "a payer not on the sheet is unknown"),
    ("   ", None, "spaces are no payer"),
])
def test_payer_on_sheet_and_known_payer(payer: str, spelling: str | None, reason: str) -> None:
    assert payer_on_sheet(PAYERS, payer) == spelling, reason
    assert known_payer(PAYERS, payer) is (spelling is not None), reason


EXISTING = typed_frame("Requests", [
    {"request_id": "PA-1", "patient_id": "P1", "patient_name": "Doe, Jane",
     "payer": "Summit Health Plan", "codes": "70551, 70553", "status": "Submitted",
     "scheduled_service_date": "2026-12-10"},
    {"request_id": "PA-2", "patient_id": "P2", "patient_name": "Doe, Jane",
     "payer": "Summit Health Plan", "codes": "70551, 70553",
     "scheduled_service_date": "2026-12-10"},
    {"request_id": "PA-3", "patient_name": "Roe, Sam", "payer": "Summit Health Plan",
     "codes": "97110", "scheduled_service_date": "2026-12-10"},
    {"request_id": "PA-4", "patient_id": "P1", "patient_name": "Doe, Jane",
     "payer": "Summit Health Plan", "codes": "70553,70551"},
    {"request_id": "PA-5", "patient_id": "P1", "patient_name": "Doe, Jane",
     "payer": "Lakeshore Medicare Advantage", "codes": "70551, 70553",
     "scheduled_service_date": "2026-12-10"},
    {"request_id": "PA-6", "patient_id": "P7", "payer": "Summit Health Plan",
     "scheduled_service_date": "2026-12-10"},
    {"request_id": "PA-7", "patient_id": "00123", "patient_name": "Dummy, Sawyer",
     "payer": "Summit Health Plan", "codes": "97110"},
])
JANE = {"patient_id": "P1", "patient_name": "Doe, Jane", "payer": "Summit Health Plan",
        "codes": "70551, 70553", "scheduled_service_date": dt.date(2026, 12, 10)}


@pytest.mark.parametrize(("changes", "expected", "reason"), [
    ({}, {"PA-1", "PA-4"}, "the same request; PA-4 has no service date, so it cannot be ruled out"),
    ({"codes": "70553 ,70551"}, {"PA-1", "PA-4"}, "codes compare as a set: order and spaces aside"),
    ({"codes": "70551, 70553, 70551"}, {"PA-1", "PA-4"}, "a repeated code is one code"),
    ({"codes": "70551"}, set(), "one of the two codes is another request"),
    ({"patient_id": " p1 ", "payer": "SUMMIT health-plan"}, {"PA-1", "PA-4"},
     "ID and payer compare without case, spaces or punctuation"),
    ({"scheduled_service_date": dt.date(2027, 1, 9)}, {"PA-1", "PA-4"}, "30 days after is within"),
    ({"scheduled_service_date": dt.date(2027, 1, 10)}, {"PA-4"}, "31 days after is not"),
    ({"scheduled_service_date": dt.date(2026, 11, 10)}, {"PA-1", "PA-4"},
     "30 days before is within too"),
    ({"scheduled_service_date": None}, {"PA-1", "PA-4"},
     "a new request without a service date is like one on any date"),
    ({"patient_id": "P3"}, set(), "another ID is another patient, whatever the name (PA-2)"),
    ({"patient_id": None, "patient_name": "DOE JANE"}, {"PA-1", "PA-2", "PA-4"},
     "without an ID the names decide, case and comma aside"),
    ({"patient_id": "P9", "patient_name": "roe sam", "codes": "97110"}, {"PA-3"},
     "PA-3 has no patient ID, so its name decides"),
    ({"payer": "Lakeshore Medicare Advantage"}, {"PA-5"}, "the payer must be the same"),
    ({"payer": None}, set(), "no payer: nothing to compare"),
    ({"patient_id": None, "patient_name": None}, set(), "no patient: nothing to compare"),
    ({"patient_id": "P7", "codes": None}, {"PA-6"}, "no codes on either side are the same set"),
    ({"patient_id": "P7", "codes": ""}, {"PA-6"}, "blank codes are no codes"),
    ({"patient_id": "123", "codes": "97110"}, {"PA-7"},
     "an ID that lost its leading zeros in Excel is the same patient (as on import)"),
    ({"patient_id": None, "patient_name": "Sawyer Dummy", "codes": "97110"}, {"PA-7"},
     "a name's words in any order are one name (as on import)"),
])
def test_similar_requests(changes: dict[str, object], expected: set[str], reason: str) -> None:
    found = similar_requests(EXISTING, {**JANE, **changes})
    assert set(found["request_id"]) == expected, reason


# two requests' patient ID and name; the same patient?; why
SAME_PATIENT_CASES = [
    (("P1", "Doe, Jane"), ("P1", "Roe, Sam"), True,
     "the IDs decide when both requests have one, whatever the names"),
    (("P1", "Doe, Jane"), ("P2", "Doe, Jane"), False, "two IDs are two patients, one name or not"),
    (("00123", None), ("123", None), True, "Excel drops the leading zeros of an ID typed as a "
     "number"),
    ((" p-1 ", None), ("P1", None), True, "an ID's case, spaces and punctuation aside"),
    (("0A1", None), ("A1", None), False, "only a number loses its leading zeros"),
    (("0", None), ("000", None), True, "an ID of zeros keeps one"),
    ((None, "Sawyer Dummy"), (None, "Dummy, Sawyer"), True, "a name's words in any order"),
    ((None, "DOE,JANE"), (None, "  jane   doe "), True, "a name's case, commas and spaces aside"),
    ((None, "O'Brien, Pat"), (None, "Pat OBrien"), True,
     "an apostrophe or a hyphen inside a word does not split it"),
    ((None, "José Núñez"), (None, "NUNEZ, JOSE"), True, "accents aside"),
    ((None, "Doe, Jane"), (None, "Doe, Jan"), False, "a name is all of its words"),
    ((None, "Doe, Jane A."), (None, "Jane Doe"), False, "a middle initial is a word more"),
    (("P1", "Doe, Jane"), (None, "Jane Doe"), True, "one request without an ID: the names decide"),
    (("P1", None), (None, "Doe, Jane"), False,
     "an ID on one side and only a name on the other: nothing to compare"),
    ((None, None), (None, None), False, "no patient on either side is nobody"),
    (("  ", "--"), (None, None), False, "spaces and punctuation are no patient"),
]


@pytest.mark.parametrize(("one", "other", "same", "reason"), SAME_PATIENT_CASES,
                         ids=[case[3] for case in SAME_PATIENT_CASES])
def test_same_patient(one: tuple[str | None, str | None], other: tuple[str | None, str | None],
                      same: bool, reason: str) -> None:
    keys = patient_key(pd.Series([one[0], other[0]], dtype=object),
                       pd.Series([one[1], other[1]], dtype=object))
    assert list(keys.columns) == ["id", "name"]
    assert same_patient(keys.iloc[[1]], keys.iloc[0]).tolist() == [same], reason
    assert same_patient(keys.iloc[[0]], keys.iloc[1]).tolist() == [same], reason  # symmetric


def test_patient_key_keeps_the_index_and_leaves_blanks_missing() -> None:
    keys = patient_key(pd.Series(["00123", None, " "], index=[4, 7, 9], dtype="string"),
                       pd.Series(["Doe, Jane", "", None], index=[4, 7, 9], dtype="string"))
    assert list(keys.index) == [4, 7, 9]
    assert keys.loc[4].tolist() == ["123", "doe jane"]
    assert keys.loc[[7, 9]].isna().all(axis=None)


def test_similar_requests_keep_the_excel_rows_and_take_another_window() -> None:
    found = similar_requests(EXISTING, {**JANE, "scheduled_service_date": "2026-12-11"}, days=0)
    assert list(found["request_id"]) == ["PA-4"]  # one day apart is outside a 0-day window
    assert list(found.index) == [5]  # PA-4 is on Excel row 5
    assert list(similar_requests(EXISTING, JANE, days=0).index) == [2, 5]


@pytest.mark.parametrize(("notes", "draft", "reason"), [
    (f"{DRAFT_MARK} no plan type yet", True, "the mark the form writes"),
    ("DRAFT saved 2026-12-01", True, "the word Draft in any case"),
    ("  draft", True, "spaces before the word are ignored"),
    ("Draft saved 2026-12-01; blockers: documents missing", True,
     "what the form wrote before this rule is a draft too"),
    ("Drafted the appeal letter", False, "the first word must be Draft, not Drafted"),
    ("Not a draft", False, "the notes must begin with the word"),
    ("", False, "blank notes"),
    (None, False, "no notes"),
    (float("nan"), False, "an empty cell as pandas reads it"),
])
def test_is_draft(notes: object, draft: bool, reason: str) -> None:
    assert is_draft(notes) is draft, reason


def test_draft_mask_answers_is_draft_row_by_row() -> None:
    notes = pd.Series(["Draft: x", None, "Drafted", "draft saved"], index=[2, 3, 4, 5],
                      dtype="string")
    mask = draft_mask(notes)
    assert mask.dtype == bool
    assert list(mask.index) == [2, 3, 4, 5]
    assert list(mask) == [is_draft(value) for value in notes] == [True, False, False, True]


@pytest.mark.parametrize(("plan_type", "notes", "refused", "reason"), [
    ("Commercial", None, False, "a plan type is all it takes"),
    (None, None, True, "no plan type and not a draft"),
    ("   ", None, True, "spaces are no plan type"),
    (float("nan"), None, True, "an empty cell is no plan type"),
    (None, f"{DRAFT_MARK} ask the payer which plan", False, "a draft may wait for its plan type"),
    (None, "Drafted by Dana", True, "'Drafted' is not the draft mark"),
])
def test_plan_type_problem(plan_type: object, notes: str | None, refused: bool,
                           reason: str) -> None:
    problem = plan_type_problem({"plan_type": plan_type, "notes": notes})
    assert (problem is not None) is refused, reason
    if problem:
        assert "choose the request's plan type" in problem
        assert DRAFT_MARK in problem  # it says how to save a draft


@pytest.mark.parametrize(("plan_type", "refused", "reason"), [
    ([], True, "an empty list (a multi-select left empty) is no plan type"),
    (["Commercial", "Other"], False, "two plan types are not a blank: the writer says what "
     "is wrong with them"),
])
def test_plan_type_problem_takes_a_list_without_crashing(plan_type: object, refused: bool,
                                                         reason: str) -> None:
    assert (plan_type_problem({"plan_type": plan_type}) is not None) is refused, reason


# what the package counts as a blank value (patoolkit.schema.is_blank, used here and by the
# writer); the value, blank?, why
BLANK_CASES = [
    (None, True, "nothing"),
    (float("nan"), True, "an empty cell as pandas reads it"),
    (pd.NA, True, "an empty cell of a string or integer column"),
    (pd.NaT, True, "an empty cell of a date column"),
    (np.datetime64("NaT"), True, "numpy's empty date"),
    ("", True, "an empty string"),
    ("  \n\t", True, "only spaces and line breaks"),
    ("x", False, "text"),
    (" 0 ", False, "text with spaces around it"),
    (0, False, "zero is a value"),
    (0.0, False, "zero is a value as a float too"),
    (False, False, "No is a value"),
    (dt.date(2026, 12, 1), False, "a date"),
    (pd.Timestamp("2026-12-01"), False, "a timestamp"),
    ([], True, "an empty list: nothing chosen"),
    ((), True, "an empty tuple"),
    ({}, True, "an empty mapping"),
    (np.array([]), True, "an empty array"),
    (["70551"], False, "a list with something in it"),
    ([None], False, "a list holding a blank is still a list: the caller says what it means"),
    (np.array([1.0, np.nan]), False, "an array is not a missing scalar"),
    (Path("x.docx"), False, "any other object is a value"),
]


@pytest.mark.parametrize(("value", "blank", "reason"), BLANK_CASES,
                         ids=[case[2] for case in BLANK_CASES])
def test_is_blank(value: object, blank: bool, reason: str) -> None:
    assert is_blank(value) is blank, reason


# -- the writer ----------------------------------------------------------------------------

def test_add_request_refuses_a_request_without_a_plan_type(small_tracker: Path) -> None:
    before = small_tracker.read_bytes()
    with pytest.raises(InvalidValueError, match=r"tracker\.xlsx: Plan type is blank.*Draft:"):
        add_request(small_tracker, {"patient_id": "P9", "payer": "Summit Health Plan"}, by="t")
    assert small_tracker.read_bytes() == before


def test_add_request_keeps_a_draft_without_a_plan_type(small_tracker: Path) -> None:
    notes = f"{DRAFT_MARK} ask the front desk for the card"
    result = add_request(small_tracker, {"patient_id": "P9", "payer": "Summit Health Plan",
                                         "notes": notes}, by="t")
    saved = load_tracker(small_tracker).requests.iloc[-1]
    assert saved["request_id"] == result.request_id
    assert pd.isna(saved["plan_type"])
    assert saved["notes"] == notes


# -- the form ------------------------------------------------------------------------------

@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """The sample tracker, with one more payer that has two plan types (Acme Health)."""
    path = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, path)
    book = openpyxl.load_workbook(path)
    for plan_type in ("Commercial", "Marketplace QHP"):
        book["Payers"].append(["Acme Health", plan_type])
    book.save(path)
    return path


@pytest.fixture
def form(sample_copy: Path) -> IntakeForm:
    return IntakeForm(TrackerSession(sample_copy, user="front desk"), today=dt.date(2026, 12, 1))


def fill(form: IntakeForm, **values: object) -> None:
    for name, value in values.items():
        form.inputs[name].value = value  # type: ignore[attr-defined]


def shown(widget: widgets.HTML) -> str:
    """The text a widget shows (its HTML unescaped)."""
    return html.unescape(widget.value)


def asking(form: IntakeForm) -> bool:
    return form.question_box.layout.display != "none"


def test_a_payer_with_one_plan_type_fills_it_and_a_choice_is_kept(form: IntakeForm) -> None:
    plan_type = form.inputs["plan_type"]
    fill(form, payer="Summit Health Plan")
    assert plan_type.value == "Commercial"  # type: ignore[attr-defined]
    fill(form, payer="Summit Health Pla")  # typing on: no such payer, the filled value goes
    assert plan_type.value == ""  # type: ignore[attr-defined]
    assert "is not on the Payers sheet" in shown(form.checks)
    fill(form, payer="Acme Health")
    assert plan_type.value == ""  # type: ignore[attr-defined]
    assert "lists Commercial, Marketplace QHP for this payer" in shown(form.checks)
    fill(form, plan_type="Marketplace QHP", payer="Lakeshore Medicare Advantage")
    assert plan_type.value == "Marketplace QHP", "the user's choice stays"  # type: ignore[attr-defined]
    assert "lists this payer as Medicare Advantage, not Marketplace QHP" in shown(form.checks)


def test_an_unknown_payer_is_saved_only_when_confirmed(form: IntakeForm,
                                                       sample_copy: Path) -> None:
    before = sample_copy.read_bytes()
    fill(form, patient_id="PNEW1", payer="Northwind Health", plan_type="Commercial")
    assert "'Northwind Health' is not on the Payers sheet" in shown(form.checks)
    form.save_button.click()
    assert asking(form)
    assert "Save with an unknown payer?" in shown(form.question)
    assert form.confirm_button.description == "Confirm"
    form.cancel_button.click()
    assert not asking(form)
    assert "Not saved" in shown(form.feedback)
    assert sample_copy.read_bytes() == before
    form.save_button.click()
    form.confirm_button.click()
    assert not asking(form)
    assert "Saved PA-2026-" in shown(form.feedback)
    saved = load_tracker(sample_copy).requests.iloc[-1]
    assert (saved["patient_id"], saved["payer"]) == ("PNEW1", "Northwind Health")


def test_a_known_payer_saves_at_once_in_the_sheets_spelling(form: IntakeForm,
                                                            sample_copy: Path) -> None:
    fill(form, patient_id="PNEW2", payer="summit  health plan")
    assert form.inputs["plan_type"].value == "Commercial"  # type: ignore[attr-defined]
    form.save_button.click()
    assert not asking(form)
    saved = load_tracker(sample_copy).requests.iloc[-1]
    assert (saved["patient_id"], saved["payer"]) == ("PNEW2", "Summit Health Plan")


def test_a_similar_request_is_shown_by_id_and_asked_about(form: IntakeForm,
                                                          sample_copy: Path) -> None:
    requests = load_tracker(sample_copy).requests
    first = requests.iloc[0]
    fill(form, patient_id=first["patient_id"], payer=first["payer"],
         codes=first["codes"], scheduled_service_date=(first["scheduled_service_date"]
                                                       + pd.Timedelta(days=20)).date())
    assert f"{first['request_id']} ({first['status']}, service date " \
           f"{first['scheduled_service_date']:%Y-%m-%d})" in shown(form.checks)
    form.save_button.click()
    assert asking(form)
    assert first["request_id"] in shown(form.question)
    assert "Save another?" in shown(form.question)
    on_screen = shown(form.checks) + shown(form.question)
    assert not any(str(name) in on_screen for name in requests["patient_name"].dropna())
    fill(form, codes="E0601, E0260")  # a change: the question was about other values
    assert not asking(form)
    assert first["request_id"] not in shown(form.checks)
    form.save_button.click()
    assert not asking(form)
    assert len(load_tracker(sample_copy).requests) == len(requests) + 1


def test_a_confirm_after_a_change_asks_again(form: IntakeForm, sample_copy: Path) -> None:
    before = sample_copy.read_bytes()
    fill(form, patient_id="PNEW3", payer="Northwind Health", plan_type="Commercial")
    form.save_button.click()
    fill(form, patient_id="PNEW4")
    form.confirm_button.click()  # a stale button (a second browser tab): nothing is saved
    assert asking(form)
    assert sample_copy.read_bytes() == before


def test_no_plan_type_saves_only_as_a_draft(form: IntakeForm, sample_copy: Path) -> None:
    before = sample_copy.read_bytes()
    fill(form, patient_id="PNEW5", payer="Acme Health", codes="70551")
    assert "choose the plan type" in form.blockers
    form.save_button.click()
    assert asking(form)
    assert "No plan type is chosen" in shown(form.question)
    assert "Save with an unknown payer?" not in shown(form.question)
    assert form.confirm_button.description == "Save as draft"
    assert sample_copy.read_bytes() == before
    form.confirm_button.click()
    assert "as a draft" in shown(form.feedback)
    assert "choose the plan type" in shown(form.feedback)
    saved = load_tracker(sample_copy).requests.iloc[-1]
    assert saved["patient_id"] == "PNEW5"
    assert pd.isna(saved["plan_type"])
    assert str(saved["notes"]).startswith(f"{DRAFT_MARK} saved 2026-12-01; blockers: ")
    assert is_draft(saved["notes"])


def test_a_draft_stays_open_even_when_no_pa_is_needed(sample_copy: Path) -> None:
    """No PA needed but something still to do (the provider's enrollment is pending): the
    draft is not closed, so the worklist lists it to complete, and the PA answer is kept."""
    import openpyxl

    book = openpyxl.load_workbook(sample_copy)
    providers = book["Providers"]
    heading = [cell.value for cell in providers[1]]
    for row in providers.iter_rows(min_row=2):
        if row[heading.index("NPI")].value == "1055531572" and \
                row[heading.index("Payer")].value == "Medicare Part B":
            row[heading.index("Enrollment Status")].value = "Pending"
    book.save(sample_copy)
    form = IntakeForm(TrackerSession(sample_copy, user="front desk"), today=dt.date(2026, 12, 1))
    fill(form, patient_id="PNEW6", payer="Medicare Part B", plan_type="Medicare FFS",
         codes="70551", ordering_npi="1055531572")
    assert form.answer == "No"
    assert form.blockers
    form.save_button.click()
    if asking(form):
        form.confirm_button.click()
    tracker = load_tracker(sample_copy)
    saved = tracker.requests.iloc[-1]
    assert saved["patient_id"] == "PNEW6"
    assert saved["status"] == "Documentation"
    assert is_draft(saved["notes"])
    assert "no PA required per the PA Rules" in saved["notes"]
    from patoolkit.worklist import worklist_for

    mine = worklist_for(tracker, "2026-12-01 09:00")
    mine = mine[mine["request_id"] == saved["request_id"]]
    assert "Complete the request" in mine["action"].tolist()


# -- the whole check, from plain values (patoolkit.intake.check_new_request) --------------

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def sample() -> Tracker:
    return load_tracker(SAMPLE_TRACKER)


def with_frame(tracker: Tracker, sheet: str, frame: pd.DataFrame) -> Tracker:
    """The tracker with one sheet replaced (in memory: the file is not touched)."""
    return dataclasses.replace(tracker, frames={**tracker.frames, sheet: frame})


IMAGING = {"patient_id": "PNEW", "payer": "Summit Health Plan", "plan_type": "Commercial",
           "codes": "70551", "service_category": "Advanced Imaging", "urgency": "Standard"}


def test_pa_required_names_the_pa_rules_row_that_decides(sample: Tracker) -> None:
    check = check_new_request(sample, IMAGING, TODAY)
    rules = sample.frames["PA Rules"]
    [row] = check.requirement.rule_rows
    assert check.requirement.answer == rules.at[row, "pa_required"] == "Yes"
    low, _, high = str(rules.at[row, "code"]).partition("-")
    assert low <= "70551" <= (high or low), "the row's code or range covers the request's code"
    first = check.lines[0]
    assert (first.level, first.topic) == (WARN, "pa_required")
    assert f"PA Rules row {row}" in first.text
    assert UNKNOWN_PA not in check.blockers


@pytest.mark.parametrize(("changes", "answer", "level", "blocks", "why"), [
    ({"plan_type": "Medicare FFS", "payer": "Medicare Part B"}, "No", OK, False,
     "the Medicare FFS row of the same range says No, and it is more specific"),
    ({"codes": "99213"}, "Unknown", ERROR, True, "no PA Rules row covers the code"),
    ({"codes": None}, "Unknown", ERROR, True, "no codes yet: unknown, never No"),
])
def test_pa_required_answers(sample: Tracker, changes: dict[str, object], answer: str,
                             level: str, blocks: bool, why: str) -> None:
    check = check_new_request(sample, {**IMAGING, **changes}, TODAY)
    assert check.requirement.answer == answer, why
    assert check.lines[0].level == level, why
    assert (UNKNOWN_PA in check.blockers) is blocks, why


def test_wrong_codes_are_findings_that_block_not_errors(sample: Tracker) -> None:
    check = check_new_request(sample, {**IMAGING, "codes": "7055", "icd10": "Q",
                                       "ordering_npi": "1234567890"}, TODAY)
    said = " ".join(check.code_problems)
    assert "code 7055 is not a CPT code" in said
    assert "ICD-10-CM Q" in said
    assert "NPI 1234567890" in said  # the check digit is wrong
    assert [line.level for line in check.lines if line.topic == "codes"] == [ERROR] * 3
    assert set(check.code_problems) <= set(check.blockers)


def test_the_checklist_is_the_payers_criteria_and_ticks_count(sample: Tracker) -> None:
    criteria = sample.frames["Criteria"]
    own = criteria[(criteria["service_category"] == "Advanced Imaging")
                   & (criteria["payer"] == "Summit Health Plan")]
    check = check_new_request(sample, IMAGING, TODAY)
    assert [entry.item for entry in check.checklist] == list(own["item"]), \
        "the payer's own rows replace the * rows"
    assert [entry.required for entry in check.checklist] == list(own["required"] != "No")
    assert all(entry.source.startswith("Criteria row ") for entry in check.checklist)
    required = [entry.item for entry in check.checklist if entry.required]
    assert required
    assert check.documents_missing == tuple(required)
    assert DOCUMENTS_MISSING + "; ".join(required) in check.blockers
    # every required item on hand (spelt in other case): nothing missing, the optional aside
    ticked = check_new_request(sample, IMAGING, TODAY,
                               documents=[item.upper() for item in required])
    assert ticked.documents_missing == ()
    assert not any(blocker.startswith(DOCUMENTS_MISSING) for blocker in ticked.blockers)
    assert all(entry.have for entry in ticked.checklist if entry.required)
    other = check_new_request(sample, {**IMAGING, "payer": "Kids First CHIP",
                                       "plan_type": "CHIP"}, TODAY)
    stars = criteria[(criteria["service_category"] == "Advanced Imaging")
                     & (criteria["payer"] == "*")]
    assert [entry.item for entry in other.checklist] == list(stars["item"]), \
        "a payer without rows of its own gets the * rows"


def test_a_criteria_row_without_an_item_asks_for_nothing(sample: Tracker) -> None:
    criteria = sample.frames["Criteria"]
    blank = typed_frame("Criteria", [{"service_category": "Advanced Imaging",
                                      "payer": "Summit Health Plan", "required": "Yes"}])
    blank.index = pd.Index([criteria.index.max() + 1], name=criteria.index.name)
    tracker = with_frame(sample, "Criteria", pd.concat([criteria, blank]))
    check = check_new_request(tracker, IMAGING, TODAY)
    assert check.checklist == check_new_request(sample, IMAGING, TODAY).checklist
    assert "<NA>" not in " ".join(check.blockers)


def test_the_providers_enrollment_today(sample: Tracker) -> None:
    providers = sample.frames["Providers"]
    pending = providers[providers["enrollment_status"] == "Pending"].iloc[0]
    check = check_new_request(sample, {**IMAGING, "payer": pending["payer"],
                                       "plan_type": None, "ordering_npi": pending["npi"]}, TODAY)
    assert check.enrolled is False
    assert "Pending" in str(check.enrollment_reason)
    assert check.enrollment_reason in check.blockers
    assert [line.level for line in check.lines if line.topic == "provider"] == [ERROR]
    enrolled = providers[(providers["enrollment_status"] == "Enrolled")
                         & (providers["payer"] == "Summit Health Plan")].iloc[0]
    check = check_new_request(sample, {**IMAGING, "ordering_npi": enrolled["npi"]}, TODAY)
    assert check.enrolled is True
    assert check.provider_name == enrolled["provider_name"]
    assert [line.level for line in check.lines if line.topic == "provider"] == [OK]
    assert check_new_request(sample, IMAGING, TODAY).enrolled is None, "no NPI: not checked"


def test_a_request_already_on_the_tracker_is_found_by_id_and_asked_about(
        sample: Tracker) -> None:
    requests = sample.requests
    first = requests.iloc[0]
    values = {name: first[name] for name in NEW_REQUEST_FIELDS}
    check = check_new_request(sample, values, TODAY)
    assert first["request_id"] in [entry.request_id for entry in check.similar]
    assert requests.index[0] in [entry.row for entry in check.similar]
    assert any(first["request_id"] in line.text for line in check.lines
               if line.topic == "similar")
    assert any(question.endswith("Save another?") and first["request_id"] in question
               for question in check.questions)
    shown = " ".join([line.text for line in check.lines] + list(check.questions))
    assert str(first["patient_name"]) not in shown, "requests are named by ID, never by name"
    other = check_new_request(sample, {**values, "codes": "E0601"}, TODAY)
    assert first["request_id"] not in [entry.request_id for entry in other.similar]


def test_the_projected_decision_counts_the_closures_sheet(sample: Tracker) -> None:
    """Summit Health Plan decides in 7 business days (its Payers row): a practice closure on
    the day it would be due moves it to the next business day."""
    open_all_year = with_frame(sample, "Closures", sample.frames["Closures"].iloc[0:0])
    before = check_new_request(open_all_year, IMAGING, TODAY)
    assert before.decision_due is not None
    assert "business days" in str(before.decision_basis)
    closed_that_day = typed_frame("Closures", [{"date": before.decision_due.normalize(),
                                                "reason": "staff training"}])
    after = check_new_request(with_frame(sample, "Closures", closed_that_day), IMAGING, TODAY)
    assert after.decision_due is not None
    calendar = open_all_year.calendar(TODAY)
    next_day = calendar.add_business_days(pd.Series([before.decision_due]), 1).iloc[0]
    assert after.decision_due.normalize() == next_day.normalize()
    assert after.decision_due.time() == before.decision_due.time(), "the end of that day"
    assert f"decision is due {after.decision_due:%Y-%m-%d}" in " ".join(
        line.text for line in after.lines)


def test_the_service_date_at_risk(sample: Tracker) -> None:
    base = check_new_request(sample, IMAGING, TODAY)
    assert base.decision_due is not None
    assert not base.at_risk
    due = base.decision_due.normalize()
    risky = check_new_request(sample, {**IMAGING, "scheduled_service_date": due.date()}, TODAY)
    assert risky.at_risk
    assert [line.level for line in risky.lines if line.topic == "decision_due"] == [ERROR]
    later = check_new_request(sample, {**IMAGING, "scheduled_service_date":
                                       (due + pd.Timedelta(days=1)).date()}, TODAY)
    assert not later.at_risk


def test_a_drug_request_is_projected_with_the_drug_timeframe(sample: Tracker) -> None:
    """The projection sees the service category: a Medicare Advantage Part B drug is due in
    72 hours, items and services in 7 days (42 CFR 422.568(b))."""
    values = {**IMAGING, "payer": "Lakeshore Medicare Advantage",
              "plan_type": "Medicare Advantage"}
    service = check_new_request(sample, values, TODAY)
    drug = check_new_request(sample, {**values, "service_category": "Specialty Medication",
                                      "codes": "J0135"}, TODAY)
    assert service.decision_due is not None
    assert drug.decision_due is not None
    submitted = pd.Timestamp.combine(TODAY, dt.time(23, 59, 59))
    assert drug.decision_due - submitted == pd.Timedelta(hours=72)
    assert service.decision_due > drug.decision_due


def test_no_plan_type_is_a_draft_with_its_question(sample: Tracker) -> None:
    check = check_new_request(sample, {**IMAGING, "plan_type": None}, TODAY)
    assert CHOOSE_PLAN_TYPE in check.blockers
    assert check.draft_only
    assert check.decision_due is None
    assert check.decision_basis is None
    assert any("No plan type is chosen" in question for question in check.questions)
    assert any("the Payers sheet lists Commercial" in line.text for line in check.lines)
    drafted = check_new_request(sample, {**IMAGING, "plan_type": None,
                                         "notes": f"{DRAFT_MARK} ask"}, TODAY)
    assert not drafted.draft_only, "notes that begin with the mark make it a draft already"


def test_an_unknown_payer_is_a_question_and_a_line(sample: Tracker) -> None:
    check = check_new_request(sample, {**IMAGING, "payer": "Northwind Health"}, TODAY)
    assert not check.known_payer
    assert check.payer == "Northwind Health"
    assert any("Save with an unknown payer?" in question for question in check.questions)
    assert any("'Northwind Health' is not on the Payers sheet" in line.text
               for line in check.lines)
    spelt = check_new_request(sample, {**IMAGING, "payer": "  SUMMIT health-plan"}, TODAY)
    assert spelt.known_payer
    assert spelt.payer == "Summit Health Plan"
    assert spelt.decision_due == check_new_request(sample, IMAGING, TODAY).decision_due, \
        "checked in the sheet's spelling: the payer's own timeframe"


def test_no_patient_id_or_payer_cannot_be_saved(sample: Tracker) -> None:
    for missing in ("patient_id", "payer"):
        check = check_new_request(sample, {**IMAGING, missing: "  "}, TODAY)
        assert check.cannot_save == NEEDS_PATIENT_AND_PAYER
        assert check.blocked
    assert check_new_request(sample, IMAGING, TODAY).cannot_save is None


@pytest.mark.parametrize(("values", "said", "why"), [
    ({"plan_type": "Medicare"}, "Plan Type: 'Medicare' is not one of the allowed values",
     "a plan type not on the list"),
    ({"scheduled_service_date": "2026-02-30"}, "Scheduled Service Date: '2026-02-30' is not a "
     "real calendar date", "no such day"),
    ({"urgency": "soon", "plan_type": "x"}, "Urgency: 'soon'", "every wrong value is said"),
])
def test_values_that_cannot_be_read_are_refused_by_field(sample: Tracker,
                                                         values: dict[str, object], said: str,
                                                         why: str) -> None:
    with pytest.raises(InvalidValueError) as refused:
        check_new_request(sample, {**IMAGING, **values}, TODAY)
    assert said in str(refused.value), why


def test_names_that_are_no_requests_column_are_not_read(sample: Tracker) -> None:
    """A tracker's extra columns come with its rows: they are left out, as the tracker
    keeps them untouched (the command line refuses a name not on the form)."""
    check = check_new_request(sample, {**IMAGING, "Notes": "x", "Referral Source": "web",
                                       "plan_typ": "Medicare"}, TODAY)
    assert check.as_dict() == check_new_request(sample, IMAGING, TODAY).as_dict()


def test_what_the_form_saves(sample: Tracker) -> None:
    check = check_new_request(sample, {**IMAGING, "plan_type": None}, TODAY)
    saved = check.to_save({**IMAGING, "plan_type": None, "owner": ""})
    assert saved["status"] == "Documentation"
    assert saved["pa_required"] == "Yes"
    assert saved["docs_complete"] == "No"
    assert str(saved["notes"]).startswith(f"{DRAFT_MARK} saved 2026-12-01; blockers: ")
    assert not {"owner", "plan_type"} & set(saved), "blanks are not written"
    no_pa = {**IMAGING, "payer": "Medicare Part B", "plan_type": "Medicare FFS"}
    check = check_new_request(sample, no_pa, TODAY)
    assert check.requirement.answer == "No"
    required = [entry.item for entry in check.checklist if entry.required]
    done = check_new_request(sample, no_pa, TODAY, documents=required)
    if not done.blockers:
        saved = done.to_save(no_pa)
        assert saved["status"] == "Closed", "no PA needed and nothing to do: closed"
        assert saved["notes"] == "2026-12-01: no PA required per the PA Rules"


def test_the_form_shows_the_checks_lines(form: IntakeForm) -> None:
    """The page renders check_new_request's lines, nothing of its own."""
    fill(form, patient_id="PNEW9", payer="Summit Health Plan", codes="70551, 7055",
         service_category="Advanced Imaging", scheduled_service_date=dt.date(2026, 12, 3))
    check = check_new_request(form.session.tracker, form.values(), dt.date(2026, 12, 1))
    assert form.check is not None
    assert form.check.lines == check.lines
    assert form.blockers == list(check.blockers)
    for line in check.lines:
        assert f'<div class="pa-message pa-{line.level}">{html.escape(line.text)}</div>' \
            in form.checks.value


@pytest.mark.generated
def test_every_request_row_fed_back_is_checked_without_an_error(tmp_path: Path) -> None:
    """For generated trackers (blanked, garbled, retyped cells on every sheet), every request
    row given back to check_new_request as its values gives a check, never an exception."""
    import generated
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st

    base = generated.base(str(tmp_path / "generated"))

    @settings(max_examples=generated.examples(20), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(changes=generated.edits(base.grids), pick=st.integers(0, 10**6),
           documents=st.booleans())
    # a header retyped 'Notes': the rows carry an extra column, which is not read
    @example(changes=[generated.Edit("Requests", 0, 0, "Notes")], pick=0, documents=False)
    def check_every_row(changes: list[generated.Edit], pick: int, documents: bool) -> None:
        tracker = generated.build(base, changes)
        rows = tracker.requests.to_dict("records")
        if not rows:
            return
        values = rows[pick % len(rows)]  # one row an example: every row over a run
        check = check_new_request(tracker, values, TODAY)
        if documents:  # the checklist ticked, as a person would
            check = check_new_request(tracker, values, TODAY,
                                      documents=[entry.item for entry in check.checklist])
            assert not check.documents_missing
        assert check.blocked == (bool(check.blockers) or check.cannot_save is not None)
        assert all(line.level in (OK, WARN, ERROR) for line in check.lines)
        json.dumps(check.as_dict())  # the document --json prints
        check.to_save({name: values[name] for name in NEW_REQUEST_FIELDS})

    check_every_row()
