"""A stray far cell never decides how much memory a read takes (tracker/extents.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from workbooks import make_tracker

from patoolkit.errors import UnusableTrackerError
from patoolkit.tracker import extents as extents
from patoolkit.tracker.read import load_tracker

ROWS = [{"Request ID": f"PA-{n}", "Patient ID": f"P{n}", "Notes": "x"} for n in range(1, 6)]


def _with_cells(path: Path, cells: dict[str, object]) -> Path:
    book = openpyxl.load_workbook(path)
    for address, value in cells.items():
        book["Requests"][address] = value
    book.save(path)
    return path


@pytest.mark.parametrize(("address", "reason"), [
    ("XFD1048576", "the last cell Excel has: 17 billion cells as a grid, the reader aborted"),
    ("AP1048576", "a far row in a near column: 44 million cells, 2 GB per command"),
    ("ZZ3", "a far column in a near row"),
])
def test_a_stray_far_cell_is_set_aside_and_named_by_check(tmp_path: Path, address: str,
                                                          reason: str) -> None:
    path = _with_cells(make_tracker(tmp_path / "t.xlsx", ROWS), {address: "oops"})
    tracker = load_tracker(path)
    assert tracker.requests["request_id"].tolist() == [f"PA-{n}" for n in range(1, 6)], reason
    stray = [p for p in tracker.warnings if address in p.message]
    assert len(stray) == 1, reason
    assert stray[0].sheet == "Requests"
    assert "far outside the table" in stray[0].message
    assert not [p for p in tracker.errors if "oops" in (p.value or "")]


def test_cells_near_the_table_are_the_table(tmp_path: Path) -> None:
    """An analyst's column a few columns to the right, a row of totals below: kept."""
    path = _with_cells(make_tracker(tmp_path / "t.xlsx", ROWS), {"AB1": "Analyst column",
                                                                 "AB4": "kept", "A40": None,
                                                                 "C30": "a total"})
    tracker = load_tracker(path)
    assert "Analyst column" in tracker.requests.columns
    assert "kept" in tracker.requests["Analyst column"].tolist()
    assert not [p for p in tracker.warnings if "far outside" in p.message]


def test_the_file_itself_is_never_changed(tmp_path: Path) -> None:
    path = _with_cells(make_tracker(tmp_path / "t.xlsx", ROWS), {"XFD1048576": "oops"})
    before = path.read_bytes()
    tracker = load_tracker(path)
    assert path.read_bytes() == before
    import hashlib

    assert tracker.fingerprint == hashlib.sha256(before).hexdigest()  # of the file as it is


def test_a_table_beyond_the_limits_is_refused_with_its_size(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(extents, "MAX_CELLS", 10)
    path = make_tracker(tmp_path / "t.xlsx", ROWS)
    with pytest.raises(UnusableTrackerError, match="holds a table of 6 rows by 3 columns"):
        load_tracker(path)


def test_the_stripped_sheet_keeps_every_cell_of_the_table(tmp_path: Path) -> None:
    path = _with_cells(make_tracker(tmp_path / "t.xlsx", ROWS), {"XFD1048576": "oops"})
    data, strays = extents.guard_extents(path, path.read_bytes(), lambda name: True)
    assert [s.address for s in strays] == ["XFD1048576"]
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive, zipfile.ZipFile(path) as source:
        assert sorted(archive.namelist()) == sorted(source.namelist())  # nothing else lost

    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["Requests"]
    assert sheet.max_row == 6
    assert [sheet.cell(row=n, column=1).value for n in range(2, 7)] == \
        [f"PA-{n}" for n in range(1, 6)]


def test_a_claims_export_with_a_stray_far_cell_is_audited(tmp_path: Path) -> None:
    from patoolkit.claims import read_claims

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Claims"
    sheet.append(["Claim ID", "Patient ID", "Payer", "Date of Service", "CPT", "Units",
                  "Prior Auth"])
    sheet.append(["C1", "P1", "Summit Health Plan", "2026-11-02", "97110", 1, "A1"])
    sheet["XFD1048576"] = "oops"
    book.save(tmp_path / "claims.xlsx")
    claims = read_claims(tmp_path / "claims.xlsx").claims
    assert claims["claim_id"].tolist() == ["C1"]


# --- what check says about a workbook's shape (issue 18) -----------------------------------

def _warnings(path: Path) -> list[str]:
    return [str(p) for p in load_tracker(path).warnings]


def test_a_repeated_heading_is_named_with_both_columns(tmp_path: Path) -> None:
    path = make_tracker(tmp_path / "t.xlsx", [{"Request ID": "PA-1", "Status": "Submitted",
                                               "status ": "Denied"}])
    assert "Requests row 1: column C repeats the heading 'Status' of column B; only the " \
        "first is read. Rename or remove one" in _warnings(path)
    assert load_tracker(path).requests["status"].tolist() == ["Submitted"]


def test_values_under_no_heading_are_named(tmp_path: Path) -> None:
    path = make_tracker(tmp_path / "t.xlsx", ROWS)
    _with_cells(path, {"E3": "under a merged heading"})
    assert any("column E has values (first in row 3) under no heading" in w
               for w in _warnings(path))


def test_missing_and_second_contract_sheets_are_named(tmp_path: Path) -> None:
    path = make_tracker(tmp_path / "t.xlsx", ROWS, extra_sheets={
        "requests ": [["Request ID"], ["PA-9"]], "Payer list": [["Payer"], ["Summit"]]})
    warnings = _warnings(path)
    assert any(w.startswith("requests : a second Requests sheet: only 'Requests' is read")
               for w in warnings)
    assert any(w.startswith("Payers: the workbook has no Payers sheet (sheets found: "
                            "'Requests', 'requests ', 'Payer list')") for w in warnings)


def _error(book: openpyxl.Workbook, address: str, error: str) -> None:
    cell = book["Requests"][address]
    cell.value = error
    cell.data_type = "e"  # a typed or pasted error value, not a formula


def test_error_cells_are_named_by_check_with_their_address(tmp_path: Path) -> None:
    """#N/A and #REF! typed or pasted as values read as blank everywhere: check says where."""
    path = make_tracker(tmp_path / "t.xlsx", ROWS)
    book = openpyxl.load_workbook(path)
    _error(book, "B3", "#N/A")
    _error(book, "C5", "#REF!")
    book.save(path)
    tracker = load_tracker(path)
    found = {(p.row, p.column): p.message for p in tracker.warnings if "error value" in p.message}
    assert set(found) == {(3, "Patient ID"), (5, "Notes")}
    assert "B3 holds the error value #N/A" in found[(3, "Patient ID")]
    assert "#REF!" in found[(5, "Notes")]
    # the cells still read as blank: nothing invented
    assert tracker.requests.loc[3, "patient_id"] is None or \
        str(tracker.requests.loc[3, "patient_id"]) in ("", "<NA>", "None", "nan")


def test_a_formula_error_is_named_as_a_formula(tmp_path: Path) -> None:
    path = make_tracker(tmp_path / "t.xlsx", ROWS)
    xml_path = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts[xml_path] = parts[xml_path].replace(
        b'<c r="C4" t="inlineStr"><is><t>x</t></is></c>',
        b'<c r="C4" t="e"><f>1/0</f><v>#DIV/0!</v></c>')
    assert b"#DIV/0!" in parts[xml_path]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    tracker = load_tracker(path)
    [problem] = [p for p in tracker.warnings if "#DIV/0!" in p.message]
    assert (problem.row, problem.column) == (4, "Notes")
    assert problem.message.startswith("the formula in C4 gives #DIV/0!")


def test_merged_heading_cells_are_named_by_check(tmp_path: Path) -> None:
    """A merge across heading cells leaves the columns under it without a heading."""
    path = make_tracker(tmp_path / "t.xlsx", ROWS, header_row=3, title_rows=["Our tracker"])
    book = openpyxl.load_workbook(path)
    sheet = book["Requests"]
    sheet.merge_cells("A1:C1")  # a title above the table: hides nothing
    sheet.merge_cells("B3:C3")  # Patient ID and Notes headings merged: Notes is lost
    sheet.merge_cells("A6:A7")  # two data rows share one Request ID cell
    book.save(path)
    tracker = load_tracker(path)
    merged = [p for p in tracker.warnings if " are merged" in p.message]
    assert [(p.row, p.message.split(" are merged")[0]) for p in merged] == [
        (3, "the heading cells B3:C3"), (6, "the cells A6:A7")]
    assert "rows 7 to 7 read as blank" in merged[1].message
