"""Writing a whole new tracker workbook (blank or synthetic) with XlsxWriter.

A new tracker is something an analyst can start typing into: every contract
sheet with its headers as an Excel Table (filters, sorting, banding), dropdowns
fed from the Lists sheet (so a consultant extends a dropdown by typing under
its heading) and, on Requests, Payer and Ordering Provider fed from the Payers
and Providers sheets and Owner from the Lists sheet's Owner column; dates
formatted as dates (a date alone without 00:00), the header row frozen and on
Requests the request and patient columns too, sensible widths, printing set up
(landscape, one page wide, the header row on every page), History protected
against accidental typing (no password: Review > Unprotect Sheet lifts it), and
an Instructions sheet explaining every column in plain words.

Existing workbooks are never rewritten here; changes to them go through
tracker/edit.py, which edits only the cells asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from patoolkit.files import create_new_file
from patoolkit.schema import (
    INSTRUCTIONS_SHEET,
    LIST_TITLES,
    LISTS,
    LISTS_SHEET,
    SETTINGS_DEFAULTS,
    SHEETS,
    Sheet,
    column_letter,
)

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
LAST_EXCEL_ROW = 1_048_576
SPARE_LIST_ROWS = 200  # room for a consultant to add values under each Lists heading
REQUESTS_SHEET = "Requests"
HISTORY_SHEET = "History"
FIXED_CREATED = dt.datetime(2026, 1, 1)  # reproducible files: same input, same bytes
SYNTHETIC_NOTICE = (
    "SYNTHETIC SAMPLE DATA: every patient, member, provider and payer in this workbook is "
    "invented by `patoolkit sample`. It contains no real patient information."
)


def list_range_name(list_name: str) -> str:
    return f"list_{list_name}"


# Dropdowns on Requests fed from other sheets: column -> (sheet, its column, named range,
# what Excel says when the value typed is not on it). A value not on the list is allowed
# after the warning (a payer not yet on the Payers sheet, a locum provider), never refused.
OWNER_TITLE = "Owner"  # the Lists sheet's column of owners (not a contract list)
SHEET_DROPDOWNS = {
    "payer": ("Payers", "payer", "list_payer_names",
              "This payer is not on the Payers sheet. Add it there so its rules and "
              "deadlines apply, or keep it as typed."),
    "ordering_provider": ("Providers", "provider_name", "list_provider_names",
                          "This provider is not on the Providers sheet. Add them there "
                          "(with their NPI and enrollment), or keep it as typed."),
    "owner": (LISTS_SHEET, OWNER_TITLE, list_range_name("owner"),
              "This name is not under Owner on the Lists sheet. Add it there to offer it "
              "in the dropdown, or keep it as typed."),
}
# Requests' columns kept in view while scrolling right: up to the patient's name
FROZEN_THROUGH = "patient_name"


def dynamic_range(sheet: str, position: int, last_row: int = LAST_EXCEL_ROW) -> str:
    """A column's values from row 2 down to its last filled row (counted up to last_row): what
    a dropdown offers grows as values are typed under the heading."""
    letter = column_letter(position)
    quoted = f"'{sheet}'" if " " in sheet else sheet
    return (f"=OFFSET({quoted}!${letter}$2,0,0,"
            f"MAX(1,COUNTA({quoted}!${letter}$2:${letter}${last_row})),1)")


def _excel_serial(values: pd.Series) -> np.ndarray:
    """Datetimes as Excel serial numbers (NaN where blank)."""
    stamps = pd.to_datetime(values)
    days = (stamps - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)
    return days.to_numpy(dtype=float, na_value=np.nan)


def _column_values(frame: pd.DataFrame, name: str, kind: str) -> list[object]:
    """One column as Python values XlsxWriter writes directly; None for blanks."""
    if name not in frame.columns:
        return [None] * len(frame)
    series = frame[name]
    if kind in ("date", "datetime") or pd.api.types.is_datetime64_any_dtype(series):
        serial = _excel_serial(series)
        if kind == "date":
            serial = np.floor(serial)
        return [None if np.isnan(v) else float(v) for v in serial]
    if kind == "int" or pd.api.types.is_integer_dtype(series):
        return [None if pd.isna(v) else int(v) for v in series.astype(object)]
    if pd.api.types.is_float_dtype(series):
        return [None if pd.isna(v) else float(v) for v in series]
    return [None if pd.isna(v) else str(v) for v in series.astype(object)]


class _Writer:
    def __init__(self, path: Path, synthetic: bool):
        self.book = xlsxwriter.Workbook(str(path), {
            "strings_to_formulas": False,  # a typed '=...' stays text (formula injection)
            "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        self.book.set_properties({
            "title": "Prior authorization tracker",
            "subject": "Synthetic sample data" if synthetic else "Prior authorization tracker",
            "author": "patoolkit",
            "created": FIXED_CREATED,
        })
        self.header = self.book.add_format({
            "bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF",
            "text_wrap": True, "valign": "top", "border": 1,
        })
        self.date = self.book.add_format({"num_format": DATE_FORMAT})
        self.datetime = self.book.add_format({"num_format": DATETIME_FORMAT})
        self.text = self.book.add_format({"num_format": "@"})
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.title = self.book.add_format({"bold": True, "font_size": 14})
        self.notice = self.book.add_format({
            "bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE", "text_wrap": True})
        self.bold = self.book.add_format({"bold": True, "valign": "top"})

    def instructions(self, synthetic: bool) -> None:
        sheet = self.book.add_worksheet(INSTRUCTIONS_SHEET)
        sheet.set_column(0, 0, 18)
        sheet.set_column(1, 1, 26)
        sheet.set_column(2, 2, 80)
        sheet.set_column(3, 3, 40)
        row = 0
        sheet.write_string(row, 0, "Prior authorization tracker: how to use this workbook",
                           self.title)
        row += 1
        if synthetic:
            sheet.merge_range(row, 0, row, 3, SYNTHETIC_NOTICE, self.notice)
            sheet.set_row(row, 32)
            row += 1
        lines = [
            "Each sheet below is an Excel Table: type in the first empty row under it and the "
            "table grows. Use the dropdowns; to add a choice to a dropdown, type it under its "
            "heading on the Lists sheet.",
            "Dates: type them as dates (2026-03-14 or 3/14/2026). Times matter for Submitted At "
            "and the information request columns: a date alone counts as the end of that day "
            "for the payer's clock.",
            "Extra columns and extra sheets of your own are kept untouched by patoolkit. "
            "Check the workbook any time with: patoolkit check <this file>.",
            "History is written by patoolkit each time it changes a request; do not edit it. "
            "It is protected against accidental typing, with no password (Review > Unprotect "
            "Sheet).",
            "Payer, Ordering Provider and Owner on Requests offer the names on the Payers and "
            "Providers sheets and under Owner on the Lists sheet; a name not there is kept "
            "after a warning.",
        ]
        for line in lines:
            sheet.merge_range(row, 0, row, 3, line, self.wrap)
            sheet.set_row(row, 30)
            row += 1
        row += 1
        for position, heading in enumerate(("Sheet", "Column", "What to type",
                                            "Allowed values")):
            sheet.write_string(row, position, heading, self.header)
        sheet.freeze_panes(row + 1, 0)
        row += 1
        for spec in SHEETS:
            sheet.write_string(row, 0, spec.name, self.bold)
            sheet.write_string(row, 1, "(the sheet)", self.bold)
            sheet.write_string(row, 2, spec.description, self.wrap)
            row += 1
            for column in spec.columns:
                allowed = ""
                if column.enum:
                    allowed = ", ".join(LISTS[column.enum])
                    if column.kind == "enum_or_star":
                        allowed = "* (any), " + allowed
                elif column.kind == "yesno":
                    allowed = "Yes, No"
                elif column.kind in ("date", "datetime"):
                    allowed = "a date" + (" (and time)" if column.kind == "datetime" else "")
                elif column.kind == "int":
                    allowed = "a whole number"
                sheet.write_string(row, 0, spec.name)
                sheet.write_string(row, 1, column.title)
                text = column.description + (" Required column." if column.required else "")
                sheet.write_string(row, 2, text, self.wrap)
                sheet.write_string(row, 3, allowed, self.wrap)
                row += 1
        sheet.write_string(row + 1, 0, "Settings keys", self.bold)
        row += 2
        for setting in SETTINGS_DEFAULTS:
            sheet.write_string(row, 1, setting.key)
            default = f" Default: {setting.default}." if setting.default != "" else ""
            sheet.write_string(row, 2, setting.description + default, self.wrap)
            row += 1

    def lists(self, lists: Mapping[str, tuple[str, ...]], owners: tuple[str, ...]) -> None:
        sheet = self.book.add_worksheet(LISTS_SHEET)
        titles = [*LIST_TITLES.values(), OWNER_TITLE]
        columns = [*(lists[name] for name in LIST_TITLES), owners]
        for position, title in enumerate(titles):
            sheet.set_column(position, position, max(14, len(title) + 4))
            sheet.write_string(0, position, title, self.header)
        for position, values in enumerate(columns):
            for row, value in enumerate(values, start=1):
                sheet.write_string(row, position, value)
        sheet.freeze_panes(1, 0)
        for position, name in enumerate([*LIST_TITLES, "owner"]):
            # values a consultant types under the heading join the dropdown
            self.book.define_name(list_range_name(name), dynamic_range(
                LISTS_SHEET, position, SPARE_LIST_ROWS + 100))
        for source, column, name, _ in SHEET_DROPDOWNS.values():
            if source != LISTS_SHEET:
                spec = next(spec for spec in SHEETS if spec.name == source)
                self.book.define_name(name, dynamic_range(source,
                                                          spec.column_names.index(column)))

    def data_sheet(self, spec: Sheet, frame: pd.DataFrame) -> None:
        sheet = self.book.add_worksheet(spec.name)
        extras = [name for name in frame.columns if name not in spec.column_names]
        headers = [column.title for column in spec.columns] + [str(name) for name in extras]
        kinds = [column.kind for column in spec.columns] + ["text"] * len(extras)
        names = spec.column_names + extras
        for position, column in enumerate(spec.columns):
            fmt = {"date": self.date, "datetime": self.datetime}.get(column.kind)
            if column.kind in ("text", "npi", "codes", "icd10", "code_rule"):
                fmt = self.text  # typed 0001U or 1234567893 stays text
            sheet.set_column(position, position, max(column.width, len(column.title) + 2), fmt)
        for position in range(len(spec.columns), len(headers)):
            sheet.set_column(position, position, 16)
        sheet.set_row(0, 30)
        sheet.write_row(0, 0, headers, self.header)
        columns = [_column_values(frame, name, kind) for name, kind in zip(names, kinds,
                                                                            strict=True)]
        for row_number, row in enumerate(zip(*columns, strict=True), start=1):
            for position, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(row_number, position, value)
                else:
                    sheet.write_number(row_number, position, value)
        last_row = max(len(frame), 1)
        sheet.add_table(0, 0, last_row, len(headers) - 1, {
            "name": "tbl" + spec.name.replace(" ", ""),
            "style": "Table Style Medium 2",
            "columns": [{"header": header} for header in headers],
            "autofilter": True,
        })
        frozen = (spec.column_names.index(FROZEN_THROUGH) + 1
                  if FROZEN_THROUGH in spec.column_names else 0)
        sheet.freeze_panes(1, frozen)
        # printed: landscape, one page wide, the header row on every page
        sheet.set_landscape()
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(0)
        if spec.name == HISTORY_SHEET:
            # History is patoolkit's record: protected against accidental typing, with no
            # password (Review > Unprotect Sheet); its filters still work
            sheet.protect("", {"autofilter": True, "sort": True})
        for position, column in enumerate(spec.columns):
            if spec.name == REQUESTS_SHEET and column.name in SHEET_DROPDOWNS:
                source, _, name, message = SHEET_DROPDOWNS[column.name]
                letter = column_letter(position)
                sheet.data_validation(f"{letter}2:{letter}{LAST_EXCEL_ROW}", {
                    "validate": "list", "source": f"={name}", "ignore_blank": True,
                    "error_type": "information" if source == LISTS_SHEET else "warning",
                    "error_title": f"Not on the {source} sheet", "error_message": message,
                })
            elif column.enum or column.kind == "yesno":
                list_name = column.enum if column.kind != "yesno" else "yes_no"
                letter = column_letter(position)
                sheet.data_validation(f"{letter}2:{letter}{LAST_EXCEL_ROW}", {
                    "validate": "list",
                    "source": "=" + list_range_name(str(list_name)),
                    "ignore_blank": True,
                    "error_type": "warning" if column.kind == "enum_or_star" else "stop",
                    "error_title": "Not on the list",
                    "error_message": f"Choose a value from the list. To add a choice, type it "
                                     f"on the Lists sheet under '{LIST_TITLES[str(list_name)]}'.",
                })
            elif column.kind in ("date", "datetime"):
                letter = column_letter(position)
                sheet.data_validation(f"{letter}2:{letter}{LAST_EXCEL_ROW}", {
                    "validate": "date", "criteria": "between",
                    "minimum": dt.date(1900, 1, 2), "maximum": dt.date(2199, 12, 31),
                    "ignore_blank": True, "error_type": "warning",
                    "error_title": "Not a date",
                    "error_message": "Type a date such as 2026-03-14 or 3/14/2026.",
                })

    def close(self) -> None:
        self.book.close()


def default_settings_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "key": [setting.key for setting in SETTINGS_DEFAULTS],
        "value": [str(setting.default) for setting in SETTINGS_DEFAULTS],
    })


def write_tracker_workbook(path: Path | str, frames: Mapping[str, pd.DataFrame],
                           synthetic: bool = False, overwrite: bool = False) -> Path:
    """Write a complete tracker; never replaces an existing file unless overwrite is set.

    The file appears whole or not at all: it is written to a temporary file in
    the same folder and then linked into place.
    """
    def write(temporary: Path) -> None:
        writer = _Writer(temporary, synthetic)
        writer.instructions(synthetic)
        for spec in SHEETS:
            frame = frames.get(spec.name)
            if frame is None:
                frame = default_settings_frame() if spec.name == "Settings" else pd.DataFrame()
            writer.data_sheet(spec, frame)
        requests = frames.get(REQUESTS_SHEET)
        owners = () if requests is None or "owner" not in requests else tuple(sorted(
            {str(owner).strip() for owner in requests["owner"].dropna() if str(owner).strip()}))
        writer.lists(LISTS, owners)
        writer.close()

    return create_new_file(path, write, what="tracker", overwrite=overwrite)


def new_tracker(path: Path | str) -> Path:
    """A blank tracker with every sheet, dropdown and instruction (`patoolkit new-tracker`)."""
    return write_tracker_workbook(path, {})
