"""Tables out of patoolkit: plain text for the terminal, CSV, JSON and a printable .xlsx.

No cell of any of them is a formula a spreadsheet would evaluate, whatever the
tracker or the claims file holds (formulas.py says how, per kind of file).

The .xlsx is for printing and sharing: a title, bold header repeated on every
printed page, widths that fit, landscape, fit to one page wide, autofilter,
overdue rows highlighted. Like every file patoolkit makes, it appears whole
or not at all and never replaces an existing file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .files import create_new_file
from .formulas import escape_formula
from .schema import is_missing

if TYPE_CHECKING:
    import xlsxwriter  # loaded on first write: the CLI imports FORMATS for every command

FORMATS = ("table", "csv", "json", "xlsx")


def _cell(value: object) -> object:
    if is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()  # numpy scalar -> Python
    return value


def records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{str(column): _cell(value) for column, value in row.items()}
            for row in frame.to_dict(orient="records")]


def to_json(frame: pd.DataFrame) -> str:
    return json.dumps(records(frame), indent=2, default=str)


def _escape_text(value: object) -> object:
    return escape_formula(value) if isinstance(value, str) else value


def csv_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as a CSV should carry it: text a spreadsheet would evaluate is escaped.

    Only text is escaped (formulas.escape_formula: "=SUM(A1)" -> "'=SUM(A1)").
    A column of numbers (int, float, nullable Int64, bool) is left alone, so -5
    or -0.5 stays a number a spreadsheet can sum; it is a number, not a formula.
    Date and time columns are left alone: to_csv writes them as 2026-11-02 09:30.
    In a text column (or a column of mixed values) every text is checked, so a
    '-5' typed as text (a code, an ID, a note) becomes "'-5": the column is text
    and stays text, instead of a number the spreadsheet made up or a formula it
    ran. A number or a date inside a mixed column is left as it is.
    """
    escaped = frame.copy()
    for position in range(escaped.shape[1]):
        values = escaped.iloc[:, position]
        if (pd.api.types.is_numeric_dtype(values)  # bool included
                or pd.api.types.is_datetime64_any_dtype(values)
                or pd.api.types.is_timedelta64_dtype(values)):
            continue
        escaped.isetitem(position, values.map(_escape_text, na_action="ignore").array)
    return escaped


def to_csv(frame: pd.DataFrame) -> str:
    """The frame as CSV text, safe to open in a spreadsheet (see csv_cells).

    Text cells are quoted (numbers are not), so a cell holding a carriage return
    stays one cell: the csv module quotes only the line ending it writes ("\n"),
    and an unquoted carriage return would start a new row whose first cell a
    spreadsheet could evaluate. The heading row (patoolkit's own column names,
    escaped all the same) is written plain, as before.
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(
        [escape_formula(str(name)) for name in frame.columns])
    csv_cells(frame).to_csv(buffer, index=False, header=False, lineterminator="\n",
                            date_format="%Y-%m-%d %H:%M", quoting=csv.QUOTE_NONNUMERIC)
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
            dates_only = bool((values.dropna() == values.dropna().dt.normalize()).all())
            shown[column] = values.dt.strftime("%Y-%m-%d" if dates_only
                                               else "%Y-%m-%d %H:%M").fillna("")
        else:
            limit = widths.get(str(column), 40)
            text = values.astype(object).where(values.notna(), "").astype(str)
            shown[column] = text.where(text.str.len() <= limit, text.str[:limit - 1] + "…")
    return shown.to_string(index=False)


def _formats(book: xlsxwriter.Workbook) -> dict[str, Any]:
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "header": book.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF",
                                   "text_wrap": True, "valign": "top", "border": 1}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "when": book.add_format({"num_format": "yyyy-mm-dd hh:mm", "valign": "top"}),
        "red": book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"}),
    }


def _write_table(book: xlsxwriter.Workbook, ws: Any, frame: pd.DataFrame, title: str,
                 formats: dict[str, Any], highlight: Sequence[bool] | None = None) -> None:
    """Title in A1, headings in row 3, data from row 4; filter, frozen heading, printable."""
    ws.write_string(0, 0, title, formats["title"])
    columns = [str(column) for column in frame.columns]
    for position, name in enumerate(columns):
        ws.write_string(2, position, name.replace("_", " ").capitalize(), formats["header"])
        values = frame[name]
        lengths = values.dropna().astype(str).str.len()
        longest = float(lengths.quantile(0.9)) if len(lengths) else 10.0
        width = max(10, min(60, int(max(longest, len(name)) + 2)))
        is_date = pd.api.types.is_datetime64_any_dtype(values)
        ws.set_column(position, position, 17 if is_date else width,
                      formats["when"] if is_date else formats["wrap"])
    for row_number, row in enumerate(frame.itertuples(index=False), start=3):
        for position, value in enumerate(row):
            value = _cell(value)
            if value is None:
                continue
            if isinstance(value, str):
                if pd.api.types.is_datetime64_any_dtype(frame.iloc[:, position]):
                    ws.write_datetime(row_number, position,
                                      pd.Timestamp(value).to_pydatetime(), formats["when"])
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
                                      {"type": "no_errors", "format": formats["red"]})
    ws.freeze_panes(3, 0)
    ws.set_landscape()
    ws.set_paper(1)  # US Letter
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(2)
    ws.set_header(f"&L{title}&RPage &P of &N")


def _book(temporary: Path) -> xlsxwriter.Workbook:
    import xlsxwriter

    return xlsxwriter.Workbook(str(temporary), {"strings_to_formulas": False,
                                                "strings_to_urls": False,
                                                "remove_timezone": True})


def write_xlsx(frame: pd.DataFrame, path: Path | str, title: str, sheet: str = "Worklist",
               highlight: Sequence[bool] | None = None, overwrite: bool = False) -> Path:
    """A formatted one-sheet workbook; rows where highlight is True are shaded red."""
    def write(temporary: Path) -> None:
        book = _book(temporary)
        _write_table(book, book.add_worksheet(sheet[:31]), frame, title, _formats(book),
                     highlight)
        book.close()

    return create_new_file(path, write, what="spreadsheet", overwrite=overwrite)


@dataclass(frozen=True)
class Chart:
    """A native Excel chart of some columns of one table sheet."""

    title: str
    sheet: str  # the table's sheet
    category: str  # column with the labels
    values: tuple[str, ...]  # columns plotted, one series each
    kind: str = "bar"  # xlsxwriter chart type: bar, column, line
    y_title: str = ""
    rows: int | None = None  # only the first rows (e.g. the top ten reasons)


def write_report_xlsx(path: Path | str, title: str, tables: Mapping[str, pd.DataFrame],
                      charts: Sequence[Chart] = (), overwrite: bool = False) -> Path:
    """A report a manager can email: a Charts sheet first, then one sheet per table."""
    def write(temporary: Path) -> None:
        book = _book(temporary)
        formats = _formats(book)
        chart_sheet = book.add_worksheet("Charts") if charts else None
        sheets = {}
        for name, frame in tables.items():
            ws = book.add_worksheet(name[:31])
            _write_table(book, ws, frame, f"{title}: {name}", formats)
            sheets[name] = (ws, frame)
        if chart_sheet is not None:
            chart_sheet.write_string(0, 0, title, formats["title"])
            chart_sheet.set_landscape()
            chart_sheet.set_paper(1)
            chart_sheet.fit_to_pages(1, 0)
            top = 2
            for spec in charts:
                _, frame = sheets[spec.sheet]
                count = min(len(frame), spec.rows or len(frame))
                if not count:
                    continue
                columns = [str(column) for column in frame.columns]
                chart = book.add_chart({"type": spec.kind})
                label = columns.index(spec.category)
                for value in spec.values:
                    position = columns.index(value)
                    chart.add_series({
                        "name": [spec.sheet[:31], 2, position],
                        "categories": [spec.sheet[:31], 3, label, 2 + count, label],
                        "values": [spec.sheet[:31], 3, position, 2 + count, position],
                    })
                chart.set_title({"name": spec.title})
                chart.set_y_axis({"name": spec.y_title} if spec.kind != "bar" else {})
                chart.set_x_axis({"name": spec.y_title} if spec.kind == "bar" else {})
                chart.set_legend({"position": "bottom"})
                height = 360 if spec.kind != "bar" else max(300, 22 * count * len(spec.values)
                                                            + 120)
                chart.set_size({"width": 760, "height": height})
                chart_sheet.insert_chart(top, 0, chart)
                top += height // 20 + 2  # rows are 20 px: the next chart below this one
        book.close()

    return create_new_file(path, write, what="spreadsheet", overwrite=overwrite)
