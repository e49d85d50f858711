"""Tables out of patoolkit: plain text for the terminal, CSV, JSON and a printable .xlsx.

The .xlsx is for printing and sharing: a title, bold header repeated on every
printed page, widths that fit, landscape, fit to one page wide, autofilter,
overdue rows highlighted. Like every file patoolkit makes, it appears whole
or not at all and never replaces an existing file.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import xlsxwriter

from .files import create_new_file

FORMATS = ("table", "csv", "json", "xlsx")


def _cell(value: object) -> object:
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()  # numpy scalar -> Python
    return value


def records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{column: _cell(value) for column, value in row.items()}
            for row in frame.to_dict(orient="records")]


def to_json(frame: pd.DataFrame) -> str:
    return json.dumps(records(frame), indent=2, default=str)


def to_csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, date_format="%Y-%m-%d %H:%M")
    return buffer.getvalue()


def to_text(frame: pd.DataFrame, widths: dict[str, int] | None = None) -> str:
    """A fixed-width table for the terminal; long text cut with an ellipsis."""
    if frame.empty:
        return "(nothing)"
    widths = widths or {}
    shown = frame.copy()
    for column in shown.columns:
        values = shown[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            shown[column] = values.dt.strftime("%Y-%m-%d %H:%M").fillna("")
        else:
            limit = widths.get(str(column), 40)
            text = values.astype(object).where(values.notna(), "").astype(str)
            shown[column] = text.where(text.str.len() <= limit, text.str[:limit - 1] + "…")
    return shown.to_string(index=False)


def write_xlsx(frame: pd.DataFrame, path: Path | str, title: str, sheet: str = "Worklist",
               highlight: Sequence[bool] | None = None, overwrite: bool = False) -> Path:
    """A formatted one-sheet workbook; rows where highlight is True are shaded red."""
    def write(temporary: Path) -> None:
        book = xlsxwriter.Workbook(str(temporary), {"strings_to_formulas": False,
                                                    "strings_to_urls": False,
                                                    "remove_timezone": True})
        ws = book.add_worksheet(sheet[:31])
        bold = book.add_format({"bold": True, "font_size": 14})
        header = book.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF",
                                  "text_wrap": True, "valign": "top", "border": 1})
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        when = book.add_format({"num_format": "yyyy-mm-dd hh:mm", "valign": "top"})
        red = book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        ws.write_string(0, 0, title, bold)
        columns = [str(column) for column in frame.columns]
        for position, name in enumerate(columns):
            ws.write_string(2, position, name.replace("_", " ").capitalize(), header)
            values = frame[name]
            lengths = values.dropna().astype(str).str.len()
            longest = float(lengths.quantile(0.9)) if len(lengths) else 10.0
            width = max(10, min(60, int(max(longest, len(name)) + 2)))
            is_date = pd.api.types.is_datetime64_any_dtype(values)
            ws.set_column(position, position, 17 if is_date else width,
                          when if is_date else wrap)
        for row_number, row in enumerate(frame.itertuples(index=False), start=3):
            for position, value in enumerate(row):
                value = _cell(value)
                if value is None:
                    continue
                if isinstance(value, str):
                    if pd.api.types.is_datetime64_any_dtype(frame.iloc[:, position]):
                        ws.write_datetime(row_number, position,
                                          pd.Timestamp(value).to_pydatetime(), when)
                    else:
                        ws.write_string(row_number, position, value)
                elif isinstance(value, bool):
                    ws.write_boolean(row_number, position, value)
                else:
                    ws.write_number(row_number, position, value)
        last_row = 2 + len(frame)
        if columns:
            ws.autofilter(2, 0, max(last_row, 3), len(columns) - 1)
        if highlight is not None and len(frame):
            for offset, flag in enumerate(highlight):
                if flag:
                    ws.conditional_format(3 + offset, 0, 3 + offset, len(columns) - 1,
                                          {"type": "no_errors", "format": red})
        ws.freeze_panes(3, 0)
        ws.set_landscape()
        ws.set_paper(1)  # US Letter
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(2)
        ws.set_header(f"&L{title}&RPage &P of &N")
        book.close()

    return create_new_file(path, write, what="spreadsheet", overwrite=overwrite)
