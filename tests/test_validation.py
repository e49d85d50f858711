"""Values that look like dates but are not: reported, never silently turned into a date."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from patoolkit.cli import main
from patoolkit.tracker.read import typed_frame


@pytest.mark.parametrize("value", ["2026", "2026-03", 2026, 2026.0, "13/45/2026"])
def test_a_partial_date_or_a_year_is_not_a_date(value: object) -> None:
    with pytest.raises(ValueError, match="submitted_at"):
        typed_frame("Requests", [{"request_id": "R1", "submitted_at": value}])


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-03-14", "2026-03-14"), ("2026-03-14 09:30", "2026-03-14 09:30"),
    ("2026-03-14T09:30:00", "2026-03-14 09:30"), ("3/14/2026", "2026-03-14"),
    (46095.0, "2026-03-14"), ("Mar 14, 2026", "2026-03-14"),
])
def test_dates_an_analyst_types_are_read(value: object, expected: str) -> None:
    frame = typed_frame("Requests", [{"request_id": "R1", "submitted_at": value}])
    assert frame["submitted_at"].iloc[0] == pd.Timestamp(expected)


def test_an_old_serial_number_is_still_a_date_of_birth() -> None:
    frame = typed_frame("Requests", [{"request_id": "R1", "patient_dob": 10000.0}])
    assert frame["patient_dob"].iloc[0] == pd.Timestamp("1927-05-18")


def test_deadlines_and_worklist_exit_1_on_a_tracker_with_errors(tmp_path: Path,
                                                               small_tracker: Path,
                                                               capsys: pytest.CaptureFixture[str]
                                                               ) -> None:
    import openpyxl

    book = openpyxl.load_workbook(small_tracker)
    book["Requests"]["A3"] = "PA-2026-00001"  # a duplicate request_id
    book.save(small_tracker)
    assert main(["deadlines", str(small_tracker), "--json"]) == 1
    assert main(["worklist", str(small_tracker)]) == 1
    assert "run `patoolkit check`" in capsys.readouterr().err


@pytest.mark.parametrize("as_of", ["", "next week", "2026-03-01T00:00+05:00"])
def test_a_bad_as_of_is_explained(small_tracker: Path, as_of: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worklist", str(small_tracker), "--as-of", as_of]) == 2
    err = capsys.readouterr().err
    assert "--as-of" in err
    assert "unexpected" not in err


@pytest.mark.parametrize("missing", [None, pd.NA, pd.NaT, float("nan"), "  "])
def test_a_missing_value_is_blank_text_whatever_its_flavour(missing: object) -> None:
    from patoolkit.tracker.cells import to_text

    text = to_text(pd.Series(["kept", missing], dtype=object))
    assert text.iloc[0] == "kept"
    assert pd.isna(text.iloc[1])  # never the text '<NA>' or 'NaT'


@pytest.mark.parametrize(("typed", "born"), [
    ("3/2/45", "1945-03-02"), ("12/31/69", "1969-12-31"), ("1/15/08", "2008-01-15"),
    ("3/2/1945", "1945-03-02")])
def test_a_two_digit_birth_year_is_never_in_the_future(typed: str, born: str) -> None:
    frame = typed_frame("Requests", [{"request_id": "R1", "patient_dob": typed,
                                      "submitted_at": "11/2/26"}])
    assert frame["patient_dob"].iloc[0] == pd.Timestamp(born)
    assert frame["submitted_at"].iloc[0] == pd.Timestamp("2026-11-02")  # other dates unchanged


# --- forgiving dropdown values ------------------------------------------------------------------

def _problems(sheet: str, records: list[dict[str, object]]) -> list[str]:
    from patoolkit.schema import LISTS
    from patoolkit.tracker.read import convert_sheet_records

    return [f"{p.severity}: {p.message}" for p in convert_sheet_records(
        sheet, records, {k: tuple(v) for k, v in LISTS.items()})]


@pytest.mark.parametrize(("column", "typed", "read", "warned"), [
    ("service_category", "Physical, occupational, speech therapy",
     "Physical/Occupational/Speech Therapy", True),  # the case: ',' against '/'
    ("service_category", "surgery - procedure", "Surgery/Procedure", True),  # punctuation
    ("plan_type", "Medicare-Advantage", "Medicare Advantage", True),  # a hyphen for a space
    ("plan_type", "medicare  advantage", "Medicare Advantage", False),  # case, spaces: silent
    ("channel", "fhir-api", "FHIR API", True),
    ("status", "P2P requested", "P2P Requested", False),
    ("status", "info. requested", "Info Requested", True),
])
def test_near_miss_dropdown_values_are_read_as_the_list_spells_them(
        column: str, typed: str, read: str, warned: bool) -> None:
    frame = typed_frame("Requests", [{"request_id": "R1", column: typed}])
    assert frame[column].iloc[0] == read
    warnings = [p for p in _problems("Requests", [{"request_id": "R1", column: typed}])
                if "read as" in p]
    assert warnings == ([f"warning: written as '{typed}', read as '{read}'; choose it from "
                         "the dropdown to tidy it"] if warned else [])


def test_and_against_ampersand_on_a_consultants_list(tmp_path: Path) -> None:
    from workbooks import make_tracker

    from patoolkit.tracker.read import load_tracker

    path = make_tracker(tmp_path / "t.xlsx", [
        {"Request ID": "R1", "Service Category": "sleep and respiratory"}],
        extra_sheets={"Lists": [["Service Category"], ["Sleep & Respiratory"]]})
    tracker = load_tracker(path)
    assert tracker.requests["service_category"].iloc[0] == "Sleep & Respiratory"
    assert not tracker.errors


def test_a_value_nothing_like_the_list_is_still_an_error() -> None:
    with pytest.raises(ValueError, match="is not one of the allowed values"):
        typed_frame("Requests", [{"request_id": "R1", "plan_type": "Medicare Supplement"}])


# --- blanks that leave a figure uncomputed ----------------------------------------------------

def test_blank_cells_that_leave_a_figure_uncomputed_are_warned() -> None:
    problems = _problems("Requests", [
        {"request_id": "R1", "patient_id": "P1", "payer": "Summit", "codes": "70551",
         "status": "Submitted"},  # sent without a plan type nor a submission date
        {"request_id": "R2", "patient_id": "P2", "payer": "Summit", "codes": "70551",
         "plan_type": "Commercial", "status": "Closed"},  # closed: its blanks are history
    ])
    assert "warning: Plan Type is blank: no payer deadline can be computed; choose one" \
        in problems
    assert any(p.startswith("warning: Submitted At is blank: the payer's clock") for p in problems)
    assert len(problems) == 2, problems


# --- numbers that cannot be right ---------------------------------------------------------------

@pytest.mark.parametrize(("sheet", "column", "value", "ok"), [
    ("Payers", "standard_decision_days", 365, True),
    ("Payers", "standard_decision_days", 1234567890, False),  # overflowed every command once
    ("Payers", "expedited_decision_hours", 10**9, False),
    ("Requests", "extension_days", 14, True),
    ("Requests", "extension_days", 10**6, False),
])
def test_an_override_no_payer_could_mean_is_an_error(sheet: str, column: str, value: int,
                                                     ok: bool) -> None:
    base = {"payer": "Summit"} if sheet == "Payers" else {"request_id": "R1"}
    problems = [p for p in _problems(sheet, [{**base, column: value}]) if p.startswith("error")]
    assert (problems == []) == ok, problems
    if not ok:
        assert "which cannot be right" in problems[0]


def test_a_setting_too_large_keeps_its_default(tmp_path: Path) -> None:
    from workbooks import make_tracker

    from patoolkit.tracker.read import load_tracker

    path = make_tracker(tmp_path / "t.xlsx", [{"Request ID": "R1"}], extra_sheets={
        "Settings": [["Key", "Value"], ["status_check_business_days", 10**9],
                     ["renewal_lead_days", 30]]})
    tracker = load_tracker(path)
    assert tracker.settings["status_check_business_days"] == 2  # the default
    assert tracker.settings["renewal_lead_days"] == 30
    assert any("is more than 60" in p.message for p in tracker.errors)


# --- state service codes --------------------------------------------------------------------------

@pytest.mark.parametrize(("codes", "severity"), [
    ("Z1234", "warning"),  # shaped like a code, not CPT nor HCPCS: a state's own code
    ("1234", "warning"),
    ("97110 GP", "error"),  # a modifier is not a code
    ("knee MRI", "error"),
    ("97110, J0135", None),
])
def test_a_state_service_code_is_a_warning_and_words_an_error(codes: str,
                                                             severity: str | None) -> None:
    found = [p for p in _problems("Requests", [{"request_id": "R1", "codes": codes}])
             if "CPT" in p]
    assert [p.split(":")[0] for p in found] == ([severity] if severity else [])


@pytest.mark.parametrize("typed", ["2300-01-01", "12/31/9999", "1/1/1850", "2262-04-12"])
def test_a_text_date_outside_1900_to_2199_is_reported_not_a_crash(typed: str) -> None:
    with pytest.raises(ValueError, match="is not a plausible date"):
        typed_frame("Requests", [{"request_id": "R1", "submitted_at": typed}])


def _warnings(sheet: str, records: list[dict[str, object]]) -> list[tuple[int, str, str]]:
    from patoolkit.schema import LISTS
    from patoolkit.tracker.read import convert_sheet_records

    return [(int(p.row or 0), str(p.column), p.message) for p in convert_sheet_records(
        sheet, records, {k: tuple(v) for k, v in LISTS.items()})
        if p.severity == "warning" and "is blank" not in p.message]


# (request fields, warned, why) -- CONTRACT section 2: "check warns about a larger value"
EXTENSION_CASES = [
    ({"plan_type": "Medicare Advantage", "extension_days": 99}, True,
     "42 CFR 422.568(b)(1)(i): at most 14 days"),
    ({"plan_type": "Medicare Advantage", "extension_days": 14}, False, "14 is allowed"),
    ({"plan_type": "Commercial", "extension_days": 15}, False, "one 15-day extension"),
    ({"plan_type": "Commercial", "extension_days": 16}, True, "more than 15"),
    ({"plan_type": "Commercial", "urgency": "Expedited", "extension_days": 1}, True,
     "no extension of an urgent Commercial request"),
    ({"plan_type": "Medicaid FFS", "codes": "J0135", "extension_days": 2}, True,
     "no extension of a covered outpatient drug's 24 hours"),
    ({"plan_type": "Other", "extension_days": 60}, False, "no federal limit for Other"),
]


@pytest.mark.parametrize(("fields", "warned", "why"), EXTENSION_CASES,
                         ids=[case[-1] for case in EXTENSION_CASES])
def test_an_extension_beyond_the_legal_limit_is_warned(fields: dict[str, object], warned: bool,
                                                       why: str) -> None:
    found = [w for w in _warnings("Requests", [{"request_id": "A", "submitted_at": "2026-03-02",
                                                **fields}]) if w[1] == "extension_days"]
    assert bool(found) is warned, why
    if warned:
        assert found[0][0] == 2, "names the Excel row"
        assert "deadlines use the limit" in found[0][2]


def test_payer_overrides_longer_than_federal_law_are_warned() -> None:
    found = _warnings("Payers", [
        {"payer": "Slow", "plan_type": "Commercial", "standard_decision_days": 30,
         "expedited_decision_hours": 96},
        {"payer": "State", "plan_type": "Commercial", "standard_decision_days": 5,
         "decision_days_are": "Business", "override_from": "2026-07-01"},
        {"payer": "Hearing", "plan_type": "Medicaid FFS", "appeal_filing_days": 120},
        {"payer": "Dates", "plan_type": "Medicaid Managed Care", "override_from": "2026-07-01",
         "override_to": "2026-01-01", "rating_period_start": "mid-year"},
        {"payer": "Any Plan", "standard_decision_days": 99},
    ])
    where = {(row, column) for row, column, _ in found}
    assert where == {(2, "standard_decision_days"), (2, "expedited_decision_hours"),
                     (4, "appeal_filing_days"), (5, "override_to"), (5, "rating_period_start")}
    message = next(m for row, column, m in found if column == "standard_decision_days")
    assert "15 calendar days" in message
    assert "deadlines use the federal limit" in message


def test_an_unknown_time_zone_is_warned() -> None:
    found = _warnings("Settings", [{"key": "timezone", "value": "Mars/Olympus"},
                                   {"key": "practice_name", "value": "Mars/Olympus"}])
    assert [(row, column) for row, column, _ in found] == [(2, "value")]
    assert "America/New_York is used" in found[0][2]
