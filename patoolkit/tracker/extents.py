"""The used range of each sheet, found from the cells that exist, before anything is read.

A spreadsheet reader sizes a sheet by its farthest cell: one stray value at
XFD1048576 (a key pressed in the wrong place, a paste gone wrong) asks for a
grid of 17 billion cells, and the reader aborts ("memory allocation of
549755813888 bytes failed"). So before a sheet is read, its cell addresses are
scanned in the sheet's XML; cells cut off from the table by a wide gap of
empty rows or columns are set aside (and reported by `check` with their
address), and the reader sees only the table. A sheet whose real table is
larger than the limits below is refused with a clear message.

Limitations: a stray cell close to the table (within the gaps below) is read as
part of it, as Excel itself would; formatting-only cells (no value) count as
cells here, as they do for Excel's used range.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from openpyxl.utils.cell import get_column_letter

from patoolkit.errors import UnusableTrackerError

# A table ends where this many empty rows or columns follow its last cell.
ROW_GAP = 10_000
COLUMN_GAP = 250
# The largest table read at all (rows x columns that hold cells): far above any tracker.
MAX_ROWS = 2_000_000
MAX_COLUMNS = 16_384
MAX_CELLS = 60_000_000

CELL_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')
SHEET = re.compile(rb'<sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]*)"')
RELATION = re.compile(rb'<Relationship\b[^>]*?Id="([^"]*)"[^>]*?Target="([^"]*)"')
RELATION_REVERSED = re.compile(rb'<Relationship\b[^>]*?Target="([^"]*)"[^>]*?Id="([^"]*)"')


@dataclass(frozen=True)
class StrayCell:
    sheet: str
    address: str  # as Excel names it, e.g. XFD1048576


@dataclass(frozen=True)
class ErrorCell:
    """A cell holding an error value (#N/A, #REF!, ...): every reader sees it as blank."""

    sheet: str
    column: int  # 1-based
    row: int
    error: str  # as Excel shows it
    formula: bool  # the result of a formula, or a value typed or pasted as an error

    @property
    def address(self) -> str:
        return f"{get_column_letter(self.column)}{self.row}"


@dataclass(frozen=True)
class MergedCells:
    """A merged range: only its first cell holds a value, the others read as blank."""

    sheet: str
    first_column: int  # 1-based
    first_row: int
    last_column: int
    last_row: int

    @property
    def address(self) -> str:
        return (f"{get_column_letter(self.first_column)}{self.first_row}:"
                f"{get_column_letter(self.last_column)}{self.last_row}")


@dataclass
class SheetFindings:
    """What the scan of the sheets' XML saw that the cell values alone cannot show."""

    strays: list[StrayCell] = field(default_factory=list)
    errors: list[ErrorCell] = field(default_factory=list)
    merges: list[MergedCells] = field(default_factory=list)


# Reported at most this many error cells per sheet (a column of #N/A says it all).
MAX_ERROR_CELLS = 200
ERROR_TYPE = re.compile(rb'<c\b[^>]*?\bt="e"')
CELL_START = re.compile(rb'<c\b([^>]*?)(/?)>')
ADDRESS = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')
VALUE = re.compile(rb'<v>([^<]*)</v>')
MERGE = re.compile(rb'<mergeCell\b[^>]*?\bref="([A-Z]{1,3})([0-9]{1,7}):([A-Z]{1,3})([0-9]{1,7})"')


def _error_cells(sheet: str, xml: bytes) -> list[ErrorCell]:
    """The error cells (t="e") of one sheet's XML, found without walking every cell."""
    import html

    found: list[ErrorCell] = []
    for match in ERROR_TYPE.finditer(xml):
        if len(found) >= MAX_ERROR_CELLS:
            break
        cell = CELL_START.match(xml, match.start())
        address = ADDRESS.search(cell.group(1)) if cell else None
        if cell is None or address is None or cell.group(2):
            continue
        end = xml.find(b"</c>", cell.end())
        body = xml[cell.end():end if end >= 0 else len(xml)]
        value = VALUE.search(body)
        error = html.unescape(value.group(1).decode("utf-8", "replace")) if value else "#N/A"
        found.append(ErrorCell(sheet, _column_number(address.group(1)),
                               int(address.group(2)), error or "#N/A", b"<f" in body))
    return found


def _merges(sheet: str, xml: bytes) -> list[MergedCells]:
    return [MergedCells(sheet, _column_number(first_column), int(first_row),
                        _column_number(last_column), int(last_row))
            for first_column, first_row, last_column, last_row in MERGE.findall(xml)]


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part's path in the archive (xl/worksheets/sheetN.xml)."""
    import html

    try:
        workbook = archive.read("xl/workbook.xml")
        relations = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = dict(RELATION.findall(relations))
    targets.update({rid: target for target, rid in RELATION_REVERSED.findall(relations)})
    parts: dict[str, str] = {}
    for name, rid in SHEET.findall(workbook):
        target = targets.get(rid)
        if target is None:
            continue
        text = target.decode("utf-8")
        path = text.lstrip("/") if text.startswith("/") else "xl/" + text
        parts[html.unescape(name.decode("utf-8"))] = path
    return parts


ROW_REF = re.compile(rb'<row\b[^>]*?\br="([0-9]{1,7})"')
CELL_COLUMN = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})')


def _extents(xml: bytes) -> tuple[set[int], set[int]]:
    """The row numbers and column numbers that hold cells, found at C speed: distinct
    column letters as bytes first (a handful), row numbers from the row elements."""
    columns = {_column_number(letters) for letters in set(CELL_COLUMN.findall(xml))}
    rows = {int(number) for number in set(ROW_REF.findall(xml))}
    if columns and not rows:  # rows without their r attribute: read each cell's address
        rows = {int(row) for _, row in CELL_REF.findall(xml)}
    return rows, columns


def last_before_gap(values: list[int], gap: int) -> int:
    """The last value before the first gap wider than `gap` (values sorted, distinct)."""
    last = values[0]
    for value in values[1:]:
        if value - last > gap:
            break
        last = value
    return last


def _strip_cells(xml: bytes, keep_row: int, keep_column: int) -> tuple[bytes, list[bytes]]:
    """The sheet XML without the cells beyond (keep_row, keep_column); their addresses."""
    removed: list[bytes] = []

    def cell(match: re.Match[bytes]) -> bytes:
        column, row = match.group(1), match.group(2)
        if int(row) > keep_row or _column_number(column) > keep_column:
            removed.append(column + row)
            return b""
        return match.group(0)

    stripped = re.sub(rb'<c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"(?:[^>]*?/>|.*?</c>)', cell,
                      xml, flags=re.S)
    # rows left empty, and the claimed size, no longer reach the stray cells
    stripped = re.sub(rb'<row\b[^>]*?\br="([0-9]+)"[^>]*?(?:/>|>\s*</row>)',
                      lambda m: b"" if int(m.group(1)) > keep_row else m.group(0), stripped)
    last = f"{get_column_letter(keep_column)}{keep_row}".encode()
    stripped = re.sub(rb'<dimension\b[^>]*?/>', b'<dimension ref="A1:' + last + b'"/>',
                      stripped, count=1)
    return stripped, removed


def guard_extents(path: object, data: bytes, wanted: Callable[[str], bool],
                  findings: SheetFindings | None = None) -> tuple[bytes, list[StrayCell]]:
    """The workbook bytes with stray far cells of these sheets set aside, and those cells.

    The bytes are returned unchanged (the same object) when no sheet needs it.
    Raises UnusableTrackerError for a table beyond MAX_ROWS, MAX_COLUMNS or MAX_CELLS.
    Given `findings`, the same pass fills it with the stray cells, error cells and merged
    ranges of these sheets (for `check`).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = _sheet_parts(archive)
        replaced: dict[str, bytes] = {}
        strays: list[StrayCell] = []
        present = set(archive.namelist())
        for name, part in parts.items():
            if not wanted(name) or part not in present:
                continue
            xml = archive.read(part)
            if findings is not None:
                findings.errors.extend(_error_cells(name, xml))
                findings.merges.extend(_merges(name, xml))
            rows, columns = _extents(xml)
            if not rows:
                continue
            keep_row = last_before_gap(sorted(rows), ROW_GAP)
            keep_column = last_before_gap(sorted(columns), COLUMN_GAP)
            if keep_row > MAX_ROWS or keep_column > MAX_COLUMNS or \
                    keep_row * keep_column > MAX_CELLS:
                raise UnusableTrackerError(
                    f"{path}: the sheet '{name}' holds a table of {keep_row:,} rows by "
                    f"{keep_column:,} columns, more than patoolkit reads ({MAX_CELLS:,} cells, "
                    f"{MAX_ROWS:,} rows or {MAX_COLUMNS:,} columns); split it or clear the "
                    "cells beyond the table.")
            if keep_row == max(rows) and keep_column == max(columns):
                continue
            stripped, removed = _strip_cells(xml, keep_row, keep_column)
            replaced[part] = stripped
            strays.extend(StrayCell(name, address.decode("ascii")) for address in removed)
        if findings is not None:
            findings.strays.extend(strays)
        if not replaced:
            return data, []
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
            for item in archive.infolist():
                copy.writestr(item, replaced.get(item.filename, archive.read(item.filename)))
    return out.getvalue(), strays
