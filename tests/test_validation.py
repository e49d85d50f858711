"""Values that look like dates but are not: reported, never silently turned into a date."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from patoolkit.cli import main
from patoolkit.tracker import typed_frame


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
    from patoolkit.validation import to_text

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
