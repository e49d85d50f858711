"""A real spreadsheet application opens what we write, and reads the same values.

LibreOffice Calc (headless) converts every sheet to CSV; the CSV must match
what load_tracker read from the same file.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from patoolkit import load_tracker, new_tracker, update_request
from patoolkit.schema import SHEETS

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed; "
                       ".ci/run installs libreoffice-calc-nogui"),
]
# Filter options: comma, double quote, UTF-8, from row 1, cells as shown, every sheet (-1).
ALL_SHEETS_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def convert_all_sheets(workbook: Path, out: Path) -> dict[str, pd.DataFrame]:
    profile = out / "profile"
    result = subprocess.run(
        [str(SOFFICE), f"-env:UserInstallation=file://{profile}", "--headless",
         "--convert-to", ALL_SHEETS_CSV, "--outdir", str(out), str(workbook)],
        capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    sheets = {}
    for csv in out.glob(f"{workbook.stem}-*.csv"):
        sheets[csv.stem[len(workbook.stem) + 1:]] = pd.read_csv(
            csv, dtype=str, keep_default_na=False)
    assert sheets, result.stdout + result.stderr
    return sheets


def assert_same_values(workbook: Path, out: Path) -> int:
    """Every cell of every contract sheet as LibreOffice shows it equals what we loaded."""
    tracker = load_tracker(workbook)
    csvs = convert_all_sheets(workbook, out)
    compared = 0
    for spec in SHEETS:
        frame = tracker.frames[spec.name]
        csv = csvs[spec.name]
        csv = csv[(csv != "").any(axis=1)]  # the blank table row of an empty sheet
        assert len(csv) == len(frame), spec.name
        for column in spec.columns:
            ours = frame[column.name]
            theirs = csv[column.title].reset_index(drop=True)
            if column.kind in ("date", "datetime"):
                theirs_dates = pd.to_datetime(theirs.replace("", None), format="ISO8601")
                pd.testing.assert_series_equal(
                    theirs_dates.reset_index(drop=True).astype("datetime64[ns]"),
                    ours.reset_index(drop=True).astype("datetime64[ns]"),
                    check_names=False, check_dtype=False, obj=f"{spec.name}.{column.name}")
            else:
                expected = ours.astype(object).where(ours.notna(), "").astype(str)
                assert list(theirs) == list(expected), f"{spec.name}.{column.name}"
            compared += len(frame)
    return compared


def test_blank_tracker_opens_in_libreoffice(tmp_path: Path) -> None:
    path = new_tracker(tmp_path / "blank.xlsx")
    assert_same_values(path, tmp_path)
    csvs = convert_all_sheets(path, tmp_path / "again")
    assert {"Instructions", "Lists"} <= set(csvs)
    assert "Medicare Advantage" in set(csvs["Lists"]["Plan Type"])


def test_sample_tracker_opens_in_libreoffice(tmp_path: Path) -> None:
    from patoolkit.sample import write_sample

    path = write_sample(tmp_path / "sample.xlsx", rows=300, seed=7)
    assert assert_same_values(path, tmp_path) > 300


def test_updated_tracker_opens_in_libreoffice(small_tracker: Path, tmp_path: Path) -> None:
    update_request(small_tracker, "PA-2026-00001",
                   {"status": "Info Requested", "info_requested_at": "2026-11-05 16:20",
                    "notes": "=1+1 stays text"}, by="t")
    assert_same_values(small_tracker, tmp_path / "lo")
    csv = convert_all_sheets(small_tracker, tmp_path / "lo2")
    assert csv["Requests"]["Notes"].iloc[0] == "=1+1 stays text"
    assert csv["History"]["Field"].iloc[-1] in {"status", "info_requested_at", "notes"}
