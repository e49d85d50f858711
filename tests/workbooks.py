"""Small tracker workbooks built on the fly for tests.

Headers are written exactly as given (spelling, case, spacing), so a test can
check that the toolkit forgives them and that its messages repeat them. Row
numbers a test expects are Excel's: the header is on ``header_row`` and data
follows directly below it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import openpyxl
import xlsxwriter

# A first column every Requests sheet in these tests can rely on.
REQUEST_ID = "Request ID"

Row = Mapping[str, object] | None  # None (or {}) is a fully blank row


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _headers(rows: Sequence[Row], headers: Sequence[str] | None) -> list[str]:
    if headers is not None:
        return list(headers)
    seen: dict[str, None] = {}
    for row in rows:
        for key in row or {}:
            seen.setdefault(key, None)
    return list(seen) or [REQUEST_ID]


def make_tracker(
    path: Path,
    requests_rows: Sequence[Row] = (),
    headers: Sequence[str] | None = None,
    extra_sheets: Mapping[str, Sequence[Sequence[object]]] | None = None,
    sheet_name: str = "Requests",
    header_row: int = 1,
    title_rows: Sequence[str] = (),
) -> Path:
    """Write a tracker with openpyxl and return its path.

    requests_rows: one mapping per data row, keyed by header as the file spells
    it; None or {} writes a blank row. headers: the header row in order (default:
    every key used, in first-seen order). extra_sheets: other sheets, each a list
    of rows (its first row is its header), written after the Requests sheet.
    header_row: Excel row of the Requests header; title_rows are written in the
    rows above it (one text per row, the rest left blank).
    """
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_name
    for offset, title in enumerate(title_rows):
        assert offset + 1 < header_row, "title rows must sit above the header"
        sheet.cell(row=offset + 1, column=1, value=title)
    columns = _headers(requests_rows, headers)
    for position, name in enumerate(columns, start=1):
        sheet.cell(row=header_row, column=position, value=name)
    for offset, row in enumerate(requests_rows, start=1):
        for key, value in (row or {}).items():
            if key not in columns:
                raise KeyError(f"{key!r} is not among the headers {columns}")
            if value is not None:
                sheet.cell(row=header_row + offset, column=columns.index(key) + 1, value=value)
    for name, rows in (extra_sheets or {}).items():
        other = book.create_sheet(name)
        for values in rows:
            other.append(list(values))
    book.save(path)
    return Path(path)


def make_formula_tracker(path: Path, formula_cells: Mapping[str, tuple[str, object]],
                         plain: Mapping[str, object]) -> Path:
    """A one-request tracker whose formula cells carry a cached value (XlsxWriter).

    formula_cells maps a header to (formula, cached value); plain maps a header
    to a literal value. Everything lands in row 2 of the Requests sheet.
    """
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Requests")
    headers = list(plain) + list(formula_cells)
    for position, header in enumerate(headers):
        sheet.write_string(0, position, header)
    for position, header in enumerate(headers):
        if header in plain:
            sheet.write(1, position, plain[header])
        else:
            formula, cached = formula_cells[header]
            sheet.write_formula(1, position, formula, None, cached)
    book.close()
    return Path(path)
