"""The rows of a spreadsheet or text export someone hands patoolkit: a claims export, an
import source. One reader, so both are read alike.

- CSV or workbook: a .csv name is text; an .xlsx, .xlsm or .xls name, or bytes that
  start as a zip (.xlsx) or an OLE2 file (.xls), is a workbook; anything else is text
  (a tab-separated export saved as .txt, a CSV with no suffix).
- Text goes through textsource (encodings, delimiters, quotes), whose warnings come back
  with the rows: a line read as Windows-1252 is said, never silent.
- A workbook's stray far cell (a key pressed at XFD1048576) does not decide memory:
  extents.guard_extents sets it aside before the sheet is read, and a warning names it.
- The sheet: the one asked for (refused, naming the sheets there, when absent), else the
  preferred one (a claims export's "Claims" sheet, its name matched as headers are),
  else the first.

Errors are the caller's own subclass of UnusableFileError (UnusableClaimsError for the
claims audit, UnusableSourceError for the import), with the words of whichever reader
found the problem.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from patoolkit.errors import UnusableFileError, reading
from patoolkit.schema import normalize_header
from patoolkit.tracker.extents import StrayCell, guard_extents
from patoolkit.tracker.textsource import read_text_rows

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")
WORKBOOK_MAGIC = (b"PK", b"\xd0\xcf")  # a zip (.xlsx, .xlsm) or an OLE2 file (.xls)
STRAYS_NAMED = 3  # in a warning, then "and N more"


@dataclass
class Rows:
    """What read_rows found: every row as a list of cells (text: every cell a str; a
    workbook: its cells' values), the sheet read (a text file's own name), and warnings
    about the whole file, each a sentence naming it."""

    rows: list[list[object]]
    sheet: str
    warnings: list[str] = field(default_factory=list)
    from_text: bool = False


def read_file(path: Path, error: type[UnusableFileError] = UnusableFileError) -> bytes:
    """The file's bytes; `error` naming the file when it is missing or cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such file.") from None
    except OSError as problem:  # a folder, no permission, a file being synced
        raise error(f"{path}: cannot be read ({problem.strerror}).") from None


def is_text(data: bytes, name: str) -> bool:
    """Whether the file is read as text (CSV, tab-separated) rather than as a workbook."""
    suffix = Path(name).suffix.lower()
    return suffix == ".csv" or (suffix not in WORKBOOK_SUFFIXES
                                and not data.startswith(WORKBOOK_MAGIC))


def read_rows(data: bytes, name: str, path: Path | None = None, sheet: str | None = None,
              prefer_sheet: str | None = None, error: type[UnusableFileError] =
              UnusableFileError, nothing_to: str = "read") -> Rows:
    """The rows of a CSV or workbook export; `error` (a subclass of UnusableFileError) when
    it cannot be read, is empty, or has no sheet `sheet`.

    name is the file's name (its suffix says the kind); messages name `path`, else name.
    nothing_to ends the message of an empty file ("is empty; nothing to import").
    """
    where = path or Path(name)
    with reading(error):  # the text and workbook readers' words, as the caller's error
        if is_text(data, name):
            text = read_text_rows(data, str(where))
            found = Rows(text.rows, where.name, text.warnings, from_text=True)
        else:
            found = _workbook_rows(data, where, sheet, prefer_sheet)
    if not found.rows:
        raise error(f"{where}: is empty; nothing to {nothing_to}." if found.from_text else
                    f"{where}: the sheet '{found.sheet}' is empty; nothing to {nothing_to}.")
    return found


def _workbook_rows(data: bytes, where: Path, sheet: str | None, prefer_sheet: str | None
                   ) -> Rows:
    from python_calamine import CalamineWorkbook

    strays: list[StrayCell] = []
    try:
        if data.startswith(b"PK"):  # a stray far cell must not decide memory (tracker/extents.py)
            data, strays = guard_extents(where, data, lambda name: True)
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except UnusableFileError:  # a table too large to read: its own words
        raise
    except Exception as problem:  # a damaged zip, calamine's own errors for many kinds
        raise UnusableFileError(f"{where}: cannot be read as a spreadsheet "
                                f"({type(problem).__name__}); save it as .xlsx or .csv."
                                ) from None
    del data  # the file's bytes, once calamine holds the workbook
    names = list(book.sheet_names)
    if not names:
        raise UnusableFileError(f"{where}: the workbook has no sheets; save the export "
                                "again as .xlsx or .csv.")
    if sheet is not None and sheet not in names:
        raise UnusableFileError(f"{where}: no sheet '{sheet}' (sheets: {', '.join(names)}).")
    wanted = normalize_header(prefer_sheet) if prefer_sheet else None
    chosen = sheet or next((name for name in names if normalize_header(name) == wanted),
                           names[0])
    try:
        rows: list[list[object]] = [
            list(row) for row in book.get_sheet_by_name(chosen).to_python(skip_empty_area=False)]
    except Exception as problem:  # calamine's XmlError, WorksheetNotFound, ...
        raise UnusableFileError(
            f"{where}: the sheet '{chosen}' is damaged and cannot be read "
            f"({type(problem).__name__}); save the export again and use that.") from None
    addresses = [stray.address for stray in strays if stray.sheet == chosen]
    warnings = [_strays_warning(where, chosen, addresses)] if addresses else []
    return Rows(rows, chosen, warnings)


def _strays_warning(where: Path, sheet: str, addresses: list[str]) -> str:
    shown = ", ".join(addresses[:STRAYS_NAMED]) + (
        f" and {len(addresses) - STRAYS_NAMED} more" if len(addresses) > STRAYS_NAMED else "")
    if len(addresses) == 1:
        cells, were, hold, them = "cell", "was", "it holds", "it"
    else:
        cells, were, hold, them = "cells", "were", "they hold", "them"
    return (f"{where}: {cells} {shown} of sheet '{sheet}', far beyond the table, {were} left "
            f"out; if {hold} data, move {them} into the table and read the file again.")
