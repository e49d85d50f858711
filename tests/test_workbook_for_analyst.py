"""A new tracker as an analyst opens it in Excel (issue 16): dropdowns fed from the Payers,
Providers and Lists sheets, the request and patient columns frozen, printing set up, dates
without 00:00, History protected without a password; and patoolkit's own saves keep it so."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import column_index_from_string

from patoolkit.sample import write_sample
from patoolkit.schema import SHEETS
from patoolkit.tracker.create import new_tracker
from patoolkit.tracker.edit import update_request


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("analyst") / "sample.xlsx", rows=40, seed=3)


def headings(sheet: openpyxl.worksheet.worksheet.Worksheet) -> list[str]:
    return [str(cell.value) for cell in sheet[1]]


def dropdowns(sheet: openpyxl.worksheet.worksheet.Worksheet) -> dict[str, object]:
    """Each column's data validation, by the column's heading."""
    names = headings(sheet)
    return {names[min(r.min_col for r in rule.sqref.ranges) - 1]: rule
            for rule in sheet.data_validations.dataValidation}


def fed_from(book: openpyxl.Workbook, range_name: str) -> tuple[str, str]:
    """The sheet and heading a dynamic named range (OFFSET from row 2) reads."""
    text = book.defined_names[range_name].attr_text
    match = re.match(r"OFFSET\('?([^'!]+)'?!\$([A-Z]+)\$2,", text)
    assert match, text
    sheet = book[match.group(1)]
    return sheet.title, str(sheet.cell(1, column_index_from_string(match.group(2))).value)


def test_requests_dropdowns_are_fed_from_the_payers_providers_and_lists_sheets(
        sample: Path) -> None:
    book = openpyxl.load_workbook(sample)
    rules = dropdowns(book["Requests"])
    expected = {"Payer": ("Payers", "Payer", "warning"),
                "Ordering Provider": ("Providers", "Provider Name", "warning"),
                "Owner": ("Lists", "Owner", "information"),
                "Plan Type": ("Lists", "Plan Type", None)}
    for heading, (sheet, column, style) in expected.items():
        rule = rules[heading]
        assert rule.type == "list"
        assert fed_from(book, rule.formula1) == (sheet, column), heading
        assert rule.errorStyle == style, heading  # None: Excel's "stop", a contract list
    # the owners on the Lists sheet are the tracker's own, each once
    lists = book["Lists"]
    column = headings(lists).index("Owner") + 1
    owners = [lists.cell(row, column).value for row in range(2, lists.max_row + 1)]
    owners = [owner for owner in owners if owner]
    requests = book["Requests"]
    typed = {requests.cell(row, headings(requests).index("Owner") + 1).value
             for row in range(2, requests.max_row + 1)} - {None}
    assert owners == sorted(typed)


def test_frozen_columns_printing_dates_and_a_protected_history(sample: Path) -> None:
    book = openpyxl.load_workbook(sample)
    requests = book["Requests"]
    frozen = requests.freeze_panes
    assert frozen is not None
    first_free = column_index_from_string(re.match(r"[A-Z]+", frozen).group())
    assert headings(requests)[:first_free - 1] == ["Request ID", "Patient ID", "Patient Name"]
    assert frozen.endswith("2")  # and the header row
    for spec in SHEETS:
        if not spec.data:
            continue
        sheet = book[spec.name]
        assert sheet.page_setup.orientation == "landscape", spec.name
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, spec.name
        assert sheet.page_setup.fitToHeight == 0, spec.name  # one page wide, as long as needed
        assert sheet.print_title_rows == "$1:$1", spec.name
    # a date alone shows without 00:00; a date and time keeps its time
    formats = {heading: requests.cell(2, position + 1).number_format
               for position, heading in enumerate(headings(requests))}
    assert "h" not in formats["Scheduled Service Date"]
    assert "h" not in formats["Patient DOB"]
    assert "hh:mm" in formats["Submitted At"]
    history = book["History"]
    assert history.protection.sheet
    assert not history.protection.password  # no password: Review > Unprotect Sheet
    assert not history.protection.autoFilter  # its filters still work
    assert not requests.protection.sheet  # the analyst types on Requests


def test_patoolkits_saves_keep_the_analysts_workbook_parts(sample: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tracker.xlsx"
    copy.write_bytes(sample.read_bytes())
    before = openpyxl.load_workbook(copy)
    request_id = before["Requests"]["A2"].value
    history_rows = before["History"].max_row
    update_request(copy, request_id, {"owner": "Someone New", "notes": "called the payer"},
                   by="tester")
    after = openpyxl.load_workbook(copy)
    assert after["History"].max_row > history_rows  # the save was recorded
    assert after["History"].protection.sheet
    assert after["Requests"].freeze_panes == before["Requests"].freeze_panes
    assert after["Requests"].print_title_rows == "$1:$1"
    assert {heading: rule.formula1 for heading, rule in dropdowns(after["Requests"]).items()} \
        == {heading: rule.formula1 for heading, rule in dropdowns(before["Requests"]).items()}
    for name in ("list_payer_names", "list_provider_names", "list_owner"):
        assert after.defined_names[name].attr_text == before.defined_names[name].attr_text


def test_a_blank_tracker_has_the_dropdowns_and_an_empty_owner_list(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(new_tracker(tmp_path / "blank.xlsx"))
    assert {"Payer", "Ordering Provider", "Owner"} <= set(dropdowns(book["Requests"]))
    lists = book["Lists"]
    column = headings(lists).index("Owner") + 1
    assert lists.cell(2, column).value is None
    assert book["History"].protection.sheet
