"""sources.read_rows: the one reader of the exports people hand patoolkit (a claims export,
an import source), CSV or workbook, each case with what a reader of the rule expects."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from patoolkit.errors import (
    UnusableClaimsError,
    UnusableFileError,
    UnusableSourceError,
    UnusableTrackerError,
)
from patoolkit.tracker.sources import is_text, read_file, read_rows

HEADER = ["Claim ID", "Patient ID", "DOS"]


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_csv_is_read_as_text_every_cell_a_string() -> None:
    found = read_rows(b"Claim ID,Units\r\nC1,2\r\n", "claims.csv")
    assert found.rows == [["Claim ID", "Units"], ["C1", "2"]]
    assert (found.sheet, found.warnings, found.from_text) == ("claims.csv", [], True)


@pytest.mark.parametrize("name", ["claims.xlsx", "claims.xlsm", "claims", "claims.txt"])
def test_a_workbook_is_read_by_its_name_or_its_bytes(name: str) -> None:
    """.xlsx and .xlsm by name; a workbook saved without its suffix (or as .txt by a
    download) by its zip bytes."""
    data = workbook({"Claims": [HEADER, ["C1", "P1", dt.datetime(2026, 10, 1)]]})
    found = read_rows(data, name)
    assert found.rows == [HEADER, ["C1", "P1", dt.date(2026, 10, 1)]]  # as calamine gives it
    assert (found.sheet, found.from_text) == ("Claims", False)


@pytest.mark.parametrize(("data", "name", "text", "why"), [
    (b"a,b\n", "x.csv", True, "a .csv name"),
    (b"PK\x03\x04", "x.csv", True, "a .csv name wins over the bytes: its error names a CSV"),
    (b"a\tb\n", "x.txt", True, "a tab-separated export saved as .txt"),
    (b"a,b\n", "x", True, "no suffix, text bytes"),
    (b"PK\x03\x04", "x", False, "no suffix, a zip"),
    (b"\xd0\xcf\x11\xe0", "x.dat", False, "an OLE2 file (.xls)"),
    (b"a,b\n", "x.xls", False, "an .xls name"),
])
def test_text_or_workbook(data: bytes, name: str, text: bool, why: str) -> None:
    assert is_text(data, name) is text, why


def test_the_sheet_asked_for_or_the_preferred_one_or_the_first() -> None:
    data = workbook({"Read me": [["exported 2026-11-30"]], "CLAIMS": [HEADER],
                     "Other": [["x"]]})
    assert read_rows(data, "c.xlsx").sheet == "Read me"
    assert read_rows(data, "c.xlsx", prefer_sheet="Claims").sheet == "CLAIMS"  # any spelling
    assert read_rows(data, "c.xlsx", sheet="Other", prefer_sheet="Claims").rows == [["x"]]
    assert read_rows(data, "c.xlsx", prefer_sheet="Payments").sheet == "Read me"


def test_a_sheet_that_is_not_there_names_the_sheets_that_are() -> None:
    data = workbook({"Log": [HEADER], "Notes": [["x"]]})
    with pytest.raises(UnusableSourceError,
                       match=r"^log\.xlsx: no sheet 'Requests' \(sheets: Log, Notes\)\.$"):
        read_rows(data, "log.xlsx", sheet="Requests", error=UnusableSourceError)


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"", "log.csv", r"^log\.csv: is empty; nothing to import\.$"),
    (workbook({"Log": []}), "log.xlsx", r"^log\.xlsx: the sheet 'Log' is empty; nothing to "
     r"import\.$"),
    (b"PK\x03\x04 not really a workbook", "log.xlsx", r"^log\.xlsx: cannot be read as a "
     r"spreadsheet \(\w+\); save it as \.xlsx or \.csv\.$"),
    (bytes(range(256)) * 4, "log.xlsx", r"cannot be read as a spreadsheet"),
    (bytes(range(256)) * 4, "log.csv", r"^log\.csv: lines 1, 3, 5 and 1 more hold a NUL "
     r"byte"),
])
def test_a_file_that_cannot_be_read_is_the_callers_error(data: bytes, name: str,
                                                          message: str) -> None:
    """Empty, garbage or damaged: the caller's own subclass, with the reader's words."""
    for error in (UnusableSourceError, UnusableClaimsError):
        with pytest.raises(error, match=message) as raised:
            read_rows(data, name, error=error, nothing_to="import")
        assert not isinstance(raised.value, UnusableTrackerError)


def test_messages_name_the_path_when_given(tmp_path: Path) -> None:
    path = tmp_path / "upload" / "claims.csv"
    with pytest.raises(UnusableClaimsError, match=rf"^{path}: line 2 holds a NUL byte"):
        read_rows(b"a,b\n1,\x002\n", "claims.csv", path, error=UnusableClaimsError)


def test_a_missing_or_unreadable_file_is_the_callers_error(tmp_path: Path) -> None:
    with pytest.raises(UnusableClaimsError, match=r"claims\.csv: no such file\.$"):
        read_file(tmp_path / "claims.csv", UnusableClaimsError)
    with pytest.raises(UnusableSourceError, match=r": cannot be read \("):
        read_file(tmp_path, UnusableSourceError)  # a folder
    (tmp_path / "ok.csv").write_bytes(b"a\n")
    assert read_file(tmp_path / "ok.csv") == b"a\n"


def test_a_stray_far_cell_does_not_decide_memory_and_is_named() -> None:
    """A value at XFD1048576 would make the reader build a grid of 17 billion cells: it is
    set aside before the sheet is read, and the warning names it."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Claims"
    sheet.append(HEADER)
    sheet.append(["C1", "P1", "2026-10-01"])
    sheet["XFD1048576"] = "oops"
    out = io.BytesIO()
    book.save(out)
    found = read_rows(out.getvalue(), "claims.xlsx", error=UnusableClaimsError)
    assert found.rows == [HEADER, ["C1", "P1", "2026-10-01"]]
    [warning] = found.warnings
    assert warning.startswith("claims.xlsx: cell XFD1048576 of sheet 'Claims', far beyond "
                              "the table, was left out")
    assert "oops" not in warning


def test_a_latin1_csv_is_read_with_a_warning() -> None:
    data = "Patient,Payer\r\nNúñez,Salud Peña\r\n".encode("latin-1")
    found = read_rows(data, "log.csv")
    assert found.rows[1] == ["Núñez", "Salud Peña"]
    [warning] = found.warnings
    assert warning.startswith("log.csv: not UTF-8; read as Windows-1252")
    assert "Núñez" not in warning


def test_the_default_error_is_the_base() -> None:
    with pytest.raises(UnusableFileError, match="is empty; nothing to read"):
        read_rows(b"", "x.csv")
