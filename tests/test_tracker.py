"""load_tracker: liberal in what it accepts, exact in what it reports, clear when it cannot read.

Every workbook here is built by the test itself (see workbooks.py), so each
case shows the cell an analyst typed and the typed value the toolkit must see.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from workbooks import make_formula_tracker, make_tracker, sha256

from patoolkit import UnusableTrackerError, load_tracker
from patoolkit.tracker.read import Tracker


def _load(tmp_path: Path, rows: list[dict[str, object] | None], **kwargs: object) -> Tracker:
    return load_tracker(make_tracker(tmp_path / "tracker.xlsx", rows, **kwargs))  # type: ignore[arg-type]


def _clean(tracker: Tracker) -> None:
    """No problem but the blank-cell warnings (these tests type a few columns on purpose;
    tests/test_validation.py tests those warnings)."""
    problems = [p for p in tracker.problems if " is blank: " not in p.message
                and "the workbook has no" not in p.message]
    assert problems == [], [str(p) for p in problems]


# --- headers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("request_header", ["Request ID", "request_id", "REQUEST-ID",
                                            " Request  Id ", "request id"])
@pytest.mark.parametrize("submitted_header", ["Submitted At", " Submitted  At ", "SUBMITTED_AT",
                                              "submitted-at"])
def test_header_spellings_are_one_column(request_header: str, submitted_header: str,
                                         tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{request_header: "PA-1", submitted_header: "2026-03-02"}])
    _clean(tracker)
    assert tracker.requests.loc[2, "request_id"] == "PA-1"
    assert tracker.requests.loc[2, "submitted_at"] == pd.Timestamp("2026-03-02")
    assert tracker.extras("Requests") == []


def test_frame_has_every_contract_column_even_when_the_file_lacks_them(tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{"Request ID": "PA-1"}])
    _clean(tracker)
    for name in ("patient_id", "plan_type", "submitted_at", "units_used", "notes"):
        assert name in tracker.requests.columns
        assert pd.isna(tracker.requests.loc[2, name])


# --- dates -----------------------------------------------------------------------------------

DATES = {
    "Excel datetime cell": (dt.datetime(2026, 3, 2, 14, 30), pd.Timestamp("2026-03-02 14:30")),
    "Excel date cell": (dt.date(2026, 3, 2), pd.Timestamp("2026-03-02")),
    "ISO text": ("2026-03-02", pd.Timestamp("2026-03-02")),
    "ISO text with spaces": ("  2026-03-02 ", pd.Timestamp("2026-03-02")),
    "ISO date-time text": ("2026-03-02T09:15", pd.Timestamp("2026-03-02 09:15")),
    "ISO date-time text with a space": ("2026-03-02 09:15", pd.Timestamp("2026-03-02 09:15")),
    "US text": ("3/2/2026", pd.Timestamp("2026-03-02")),
    "US text, padded": ("03/02/2026", pd.Timestamp("2026-03-02")),
    "US text with 24h time": ("03/02/2026 16:45", pd.Timestamp("2026-03-02 16:45")),
    "US text with AM/PM": ("3/2/2026 9:15 AM", pd.Timestamp("2026-03-02 09:15")),
    "US text with PM": ("3/2/2026 4:05 PM", pd.Timestamp("2026-03-02 16:05")),
}


@pytest.mark.parametrize(("cell", "expected"), DATES.values(), ids=DATES.keys())
def test_date_time_cells_in_submitted_at(cell: object, expected: pd.Timestamp,
                                         tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{"Request ID": "PA-1", "Submitted At": cell}])
    _clean(tracker)
    assert tracker.requests.loc[2, "submitted_at"] == expected


@pytest.mark.parametrize(("cell", "expected"), DATES.values(), ids=DATES.keys())
def test_date_columns_drop_the_time(cell: object, expected: pd.Timestamp, tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{"Request ID": "PA-1", "Scheduled Service Date": cell}])
    _clean(tracker)
    assert tracker.requests.loc[2, "scheduled_service_date"] == expected.normalize()


def test_date_typed_as_an_excel_serial_number(tmp_path: Path) -> None:
    # 46083 is 2026-03-02; an unformatted cell shows the serial, the toolkit sees the date
    tracker = _load(tmp_path, [{"Request ID": "PA-1", "Patient DOB": 25694,
                                "Submitted At": 46083.604166666664}])
    _clean(tracker)
    assert tracker.requests.loc[2, "patient_dob"] == pd.Timestamp("1970-05-06")
    assert tracker.requests.loc[2, "submitted_at"] == pd.Timestamp("2026-03-02 14:30")


# --- identifiers -----------------------------------------------------------------------------

@pytest.mark.parametrize("cell", [1234567893, 1234567893.0, "1234567893", " 1234567893 "],
                         ids=["int", "float", "text", "text with spaces"])
def test_npi_typed_any_way_is_text(cell: object, tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{"Request ID": "PA-1", "Ordering NPI": cell}],
                    extra_sheets={"Providers": [["NPI", "Payer", "Enrollment Status"],
                                                [cell, "Acme Health", "Enrolled"]]})
    _clean(tracker)
    assert tracker.requests.loc[2, "ordering_npi"] == "1234567893"
    assert tracker.frame("Providers").loc[2, "npi"] == "1234567893"


@pytest.mark.parametrize(("cell", "expected"), [
    (70551, "70551"),
    (70551.0, "70551"),
    ("0001U", "0001U"),
    ("0042T", "0042T"),
    ("3074F", "3074F"),
    ("J0135", "J0135"),
    ("70551, 70553", "70551, 70553"),
    ("70551;J0135", "70551;J0135"),
])
def test_procedure_codes_accepted(cell: object, expected: str, tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{"Request ID": "PA-1", "Codes": cell}])
    _clean(tracker)
    assert tracker.requests.loc[2, "codes"] == expected


@pytest.mark.parametrize("cell", ["M54.16", "M54.16, G43.909", "m54.16", "M5416"])
def test_billable_icd10_codes_accepted(cell: str, tmp_path: Path) -> None:
    _clean(_load(tmp_path, [{"Request ID": "PA-1", "ICD10": cell}]))


def test_pa_rules_code_ranges_and_star(tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{"Request ID": "PA-1"}], extra_sheets={
        "PA Rules": [["Payer", "Plan Type", "Code", "PA Required"],
                     ["*", "*", "70551-70553", "Yes"],
                     ["Acme Health", "commercial", 97110, "conditional"],
                     ["*", "*", "*", "no"]]})
    _clean(tracker)
    rules = tracker.frame("PA Rules")
    assert rules["code"].tolist() == ["70551-70553", "97110", "*"]
    assert rules["plan_type"].tolist() == ["*", "Commercial", "*"]
    assert rules["pa_required"].tolist() == ["Yes", "Conditional", "No"]


# --- Yes/No and enums ------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "expected"), [
    ("Yes", "Yes"), ("yes", "Yes"), ("Y", "Yes"), ("TRUE", "Yes"), ("x", "Yes"), (True, "Yes"),
    (1, "Yes"), (" YES ", "Yes"),
    ("No", "No"), ("n", "No"), ("false", "No"), (False, "No"), (0, "No"),
])
def test_yes_no_spellings(cell: object, expected: str, tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{"Request ID": "PA-1", "Docs Complete": cell}])
    _clean(tracker)
    assert tracker.requests.loc[2, "docs_complete"] == expected


@pytest.mark.parametrize(("header", "cell", "column", "expected"), [
    ("Status", "  approved ", "status", "Approved"),
    ("Status", "INFO REQUESTED", "status", "Info Requested"),
    ("Status", "partially_approved", "status", "Partially Approved"),
    ("Plan Type", "medicare advantage", "plan_type", "Medicare Advantage"),
    ("Plan Type", "Medicaid  managed   care", "plan_type", "Medicaid Managed Care"),
    ("Plan Type", "chip", "plan_type", "CHIP"),
    ("Channel", "fhir api", "channel", "FHIR API"),
    ("Urgency", "EXPEDITED", "urgency", "Expedited"),
    ("PA Required", "unknown", "pa_required", "Unknown"),
])
def test_enum_values_in_any_case_and_spacing(header: str, cell: str, column: str,
                                             expected: str, tmp_path: Path) -> None:
    # an auth number keeps an 'approved' status from drawing its warning
    tracker = _load(tmp_path, [{"Request ID": "PA-1", header: cell, "Auth Number": "A1"}])
    _clean(tracker)
    assert tracker.requests.loc[2, column] == expected


def test_lists_sheet_adds_a_status(tmp_path: Path) -> None:
    rows: list[dict[str, object] | None] = [{"Request ID": "PA-1", "Status": "on hold"}]
    (tmp_path / "a").mkdir()
    without = _load(tmp_path / "a", rows)
    assert [(p.row, p.column) for p in without.errors] == [(2, "Status")]

    (tmp_path / "b").mkdir()
    tracker = _load(tmp_path / "b", rows,
                    extra_sheets={"Lists": [["Status", "Plan Type"], ["On Hold", None]]})
    _clean(tracker)
    assert tracker.requests.loc[2, "status"] == "On Hold"
    assert "On Hold" in tracker.lists["status"]
    assert tracker.lists["status"][:3] == ("Not Started", "Requirement Check", "Documentation")
    assert "Lists" not in tracker.extra_sheets


# --- rows ------------------------------------------------------------------------------------

def test_blank_rows_skipped_and_index_is_excel_row(tmp_path: Path) -> None:
    tracker = _load(tmp_path, [
        {"Request ID": "PA-1"},
        None,
        {"Request ID": "   ", "Notes": ""},  # only spaces: still blank
        {"Request ID": "PA-2"},
    ], header_row=3, title_rows=("Prior authorization tracker",))
    _clean(tracker)
    assert tracker.requests.index.tolist() == [4, 7]
    assert tracker.requests["request_id"].tolist() == ["PA-1", "PA-2"]
    assert tracker.headers["Requests"].header_row == 3


def test_row_with_only_a_note_is_kept_and_reported(tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{"Request ID": "PA-1"}, {"Notes": "call the payer back"}],
                    headers=["Request ID", "Notes"])
    assert tracker.requests.index.tolist() == [2, 3]
    assert tracker.requests.loc[3, "notes"] == "call the payer back"
    assert [(p.sheet, p.row, p.column) for p in tracker.errors] == [("Requests", 3, "Request ID")]


def test_formula_cells_read_by_cached_value(tmp_path: Path) -> None:
    path = make_formula_tracker(tmp_path / "f.xlsx", {
        "Units Used": ("=2+3", 5),
        "Status": ('="Sub"&"mitted"', "Submitted"),
        "Request ID": ('="PA-"&"9"', "PA-9"),
    }, {"Units Authorized": 10})
    tracker = load_tracker(path)
    _clean(tracker)
    row = tracker.requests.loc[2]
    assert (row["request_id"], row["status"], row["units_used"]) == ("PA-9", "Submitted", 5)


def test_formula_date_cell_read_by_cached_value(tmp_path: Path) -> None:
    path = make_formula_tracker(tmp_path / "f.xlsx", {
        "Submitted At": ("=DATE(2026,3,2)", 46083),
    }, {"Request ID": "PA-1"})
    tracker = load_tracker(path)
    _clean(tracker)
    assert tracker.requests.loc[2, "submitted_at"] == pd.Timestamp("2026-03-02")


def test_extra_columns_and_sheets_are_kept(tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{"Request ID": "PA-1", "Coordinator Memo": "keep me",
                                "Status": "Submitted", "Priority Score": 7}],
                    extra_sheets={"Scratch": [["anything"], [1]], "Pivot 2026": [["x"]]})
    _clean(tracker)
    assert tracker.extras("Requests") == ["Coordinator Memo", "Priority Score"]
    assert tracker.requests.loc[2, "Coordinator Memo"] == "keep me"
    assert tracker.requests.loc[2, "Priority Score"] == 7
    assert tracker.extra_sheets == ["Scratch", "Pivot 2026"]


@pytest.mark.parametrize("name", ["requests", "REQUESTS", " Requests"])
def test_requests_sheet_name_in_other_case(name: str, tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{"Request ID": "PA-1"}], sheet_name=name)
    _clean(tracker)
    assert tracker.sheet_names["Requests"] == name
    assert tracker.requests["request_id"].tolist() == ["PA-1"]


def test_invalid_setting_keeps_the_default(tmp_path: Path) -> None:
    tracker = _load(tmp_path, [{"Request ID": "PA-1"}], extra_sheets={
        "Settings": [["Setting", "Value"], ["Info Response Hours", "a day"],
                     ["renewal_lead_days", 30], ["low_units_threshold", "3"]]})
    assert [(p.sheet, p.row, p.column) for p in tracker.errors] == [("Settings", 2, "Value")]
    assert tracker.settings["info_response_hours"] == 24
    assert tracker.settings["renewal_lead_days"] == 30
    assert tracker.settings["low_units_threshold"] == 3


def test_load_does_not_change_the_file(tmp_path: Path) -> None:
    path = make_tracker(tmp_path / "t.xlsx", [{"Request ID": "PA-1", "Status": "Aproved"}])
    before = sha256(path)
    tracker = load_tracker(path)
    assert tracker.fingerprint == before
    assert sha256(path) == before


# --- unusable files --------------------------------------------------------------------------

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _zip(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _good_bytes(tmp_path: Path) -> bytes:
    return make_tracker(tmp_path / "good.xlsx", [{"Request ID": "PA-1"}]).read_bytes()


def _damaged_sheet(tmp_path: Path) -> bytes:
    with zipfile.ZipFile(io.BytesIO(_good_bytes(tmp_path))) as archive:
        members: dict[str, bytes | str] = {name: archive.read(name)
                                           for name in archive.namelist()}
    members["xl/worksheets/sheet1.xml"] = "<worksheet><sheetData><row"
    return _zip(members)


UNUSABLE = {
    "empty file": (lambda tmp: b"", "empty"),
    "CSV named .xlsx": (lambda tmp: b"request_id,status\nPA-1,Submitted\n", "CSV"),
    "legacy xls": (lambda tmp: OLE2 + b"\0" * 4096, ".xls"),
    "password-protected": (
        lambda tmp: OLE2 + b"\0" * 1024 + "EncryptionInfo".encode("utf-16-le") + b"\0" * 1024,
        "password"),
    "zip that is not a workbook": (lambda tmp: _zip({"hello.txt": "hi"}), "not an Excel"),
    "truncated xlsx": (lambda tmp: _good_bytes(tmp)[: len(_good_bytes(tmp)) // 2], "damaged"),
    "truncated xlsx, last bytes lost": (lambda tmp: _good_bytes(tmp)[:-40], "damaged"),
    "workbook part is not XML": (
        lambda tmp: _zip({"xl/workbook.xml": "not xml", "[Content_Types].xml": "x"}),
        "cannot be read"),
    "worksheet part is damaged": (_damaged_sheet, "re-save"),
}


@pytest.mark.parametrize(("make", "says"), UNUSABLE.values(), ids=UNUSABLE.keys())
def test_unusable_files(make: Callable[[Path], bytes], says: str, tmp_path: Path) -> None:
    path = tmp_path / "tracker.xlsx"
    path.write_bytes(make(tmp_path))
    with pytest.raises(UnusableTrackerError) as error:
        load_tracker(path)
    message = str(error.value)
    assert str(path) in message
    assert says in message
    assert "\n" not in message


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(UnusableTrackerError, match="no such file"):
        load_tracker(tmp_path / "nope.xlsx")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(UnusableTrackerError, match="folder"):
        load_tracker(tmp_path)


def test_no_requests_sheet_lists_the_sheets_found(tmp_path: Path) -> None:
    path = make_tracker(tmp_path / "t.xlsx", [{"ID": 1}], sheet_name="Sheet1",
                        extra_sheets={"Payers": [["Payer"]], "Notes": [["x"]]})
    with pytest.raises(UnusableTrackerError) as error:
        load_tracker(path)
    assert "'Sheet1', 'Payers', 'Notes'" in str(error.value)


def test_unusable_error_is_a_patoolkit_error_with_exit_2() -> None:
    from patoolkit import PAToolkitError

    assert issubclass(UnusableTrackerError, PAToolkitError)
    assert UnusableTrackerError.exit_code == 2
