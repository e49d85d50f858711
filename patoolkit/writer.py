"""Writing changes back to the analyst's workbook without ever losing their work.

Only the cells asked for change, through openpyxl, so formatting, data
validations, Tables, formulas, extra columns and extra sheets survive. Every
change is appended to the History sheet. A write:

1. takes a lock of our own so two patoolkit writers never interleave;
2. refuses if Excel or LibreOffice has the file open (their lock files), or if
   the file's content hash differs from the one the caller read (someone else
   saved it in between): nothing is overwritten;
3. writes the new workbook to a temporary file in the same folder, checks that
   it reopens, fsyncs it, keeps a timestamped backup of the original (backups/
   next to the tracker, the newest `backups_keep` kept), checks the hash once
   more, then os.replace()s it into place with the original permissions.

A process killed at any point leaves the old workbook or the new one, both whole.

Text that starts with =, +, -, @, tab or carriage return is stored as text,
never as a formula (spreadsheet formula injection).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import io
import re
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

from .atomic import describe, real_path, refuse_read_only, replace_file, run_or_refuse
from .errors import (
    InvalidValueError,
    RequestNotFoundError,
    TrackerConflictError,
    TrackerLockedError,
    TrackerWriteError,
    UnusableTrackerError,
)
from .schema import (
    HISTORY,
    LISTS_SHEET,
    REQUESTS,
    Column,
    Sheet,
    is_blank,
    match_headers,
    normalize_header,
    sheet_for,
)
from .tracker import HEADER_SEARCH_ROWS, read_lists, read_workbook_bytes, sheet_rows
from .validation import Collector, convert_column
from .workbook import DATE_FORMAT, DATETIME_FORMAT

DEFAULT_BACKUPS_KEPT = 20
# Parts openpyxl cannot carry through a load and save; writing would drop them. (Cell notes
# live in xl/drawings/vmlDrawing*.vml too, and openpyxl keeps those, so they are allowed.)
UNSUPPORTED_PARTS = ("xl/drawings/drawing", "xl/charts/", "xl/media/", "xl/pivotTables/",
                     "xl/slicers/")


@dataclass
class WriteResult:
    path: Path
    fingerprint: str  # hash of the workbook as written; pass it to the next write
    request_id: str
    changes: list[tuple[str, object, object]] = field(default_factory=list)  # field, old, new
    backup: Path | None = None


def office_lock_files(path: Path) -> list[Path]:
    """Lock files Excel (~$name) and LibreOffice (.~lock.name#) leave while a file is open.

    Looked for next to the name given and, for a symbolic link, next to the real file
    too: an office suite leaves its lock beside whichever name it opened.
    """
    candidates = [
        place.with_name(name)
        for place in (Path(path), real_path(path))
        for name in ("~$" + place.name,
                     "~$" + place.name[2:],  # Excel drops two characters of long names
                     f".~lock.{place.name}#")
    ]
    return [candidate for candidate in dict.fromkeys(candidates) if candidate.exists()]


@contextlib.contextmanager
def _writer_lock(path: Path) -> Iterator[None]:
    """Held around every read-change-save; beside the real file, whatever link names it."""
    refuse_read_only(path)  # before the lock file is made
    real = real_path(path)
    lock_path = real.with_name(f".~patoolkit.{real.name}.lock")
    try:
        handle = lock_path.open("a")
    except OSError as error:
        raise TrackerWriteError(f"{path}: {describe(error, real.parent)} Nothing was "
                                "changed.") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_writable(path: Path, data: bytes, expected_fingerprint: str | None) -> None:
    refuse_read_only(path)
    locks = office_lock_files(path)
    if locks:
        raise TrackerLockedError(
            f"{path}: is open in Excel or LibreOffice (lock file {locks[0].name}); close it there "
            "and try again. Nothing was changed.")
    if expected_fingerprint and hashlib.sha256(data).hexdigest() != expected_fingerprint:
        raise TrackerConflictError(
            f"{path}: the tracker changed since you opened it (someone saved it meanwhile); "
            "reload it and make your change again. Nothing was overwritten.")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unsupported = sorted({part for name in archive.namelist() for part in UNSUPPORTED_PARTS
                              if name.startswith(part)})
    if unsupported:
        raise TrackerWriteError(
            f"{path}: has charts, pictures or pivot tables ({', '.join(unsupported)}) that "
            "patoolkit cannot keep when it saves; move them to a separate workbook, then try "
            "again. Nothing was changed.")


def check_writable(path: Path | str, expected_fingerprint: str | None = None) -> None:
    """Raise what a write would raise now (open in Excel, saved by someone, unsupported parts).

    For work that writes files before it writes the tracker (letters): ask first, so
    nothing is made that cannot be recorded. The write itself checks again.
    """
    checked, data = read_workbook_bytes(path)
    _check_writable(checked, data, expected_fingerprint)


def _header(ws: Worksheet, spec: Sheet) -> tuple[int, dict[str, int], int]:
    """(header row, canonical column -> 1-based column, last used column) of a sheet."""
    best_row, best = 1, match_headers(spec, [], 1)
    rows = ws.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS, values_only=True)
    for number, row in enumerate(rows, start=1):
        candidate = match_headers(spec, list(row), number)
        if len(candidate.positions) > len(best.positions):
            best_row, best = number, candidate
    positions = {name: position + 1 for name, position in best.positions.items()}
    last = max([*positions.values(), *(p + 1 for p in best.extras)], default=0)
    return best_row, positions, last


def _last_data_row(ws: Worksheet, header_row: int, last_column: int) -> int:
    last = header_row
    for number, row in enumerate(ws.iter_rows(min_row=header_row + 1, max_col=max(last_column, 1),
                                              values_only=True), start=header_row + 1):
        if any(value not in (None, "") for value in row):
            last = number
    return last


def _grow_tables(ws: Worksheet, last_row: int, last_column: int) -> None:
    """Stretch any Table on the sheet so new rows and columns stay inside it."""
    from openpyxl.utils.cell import get_column_letter, range_boundaries

    for table in ws.tables.values():
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        new_ref = (f"{get_column_letter(min_col)}{min_row}:"
                   f"{get_column_letter(max(max_col, last_column))}{max(max_row, last_row)}")
        if new_ref != table.ref:
            if max(max_col, last_column) > max_col:
                from openpyxl.worksheet.table import TableColumn

                for position in range(max_col + 1, last_column + 1):
                    name = ws.cell(row=min_row, column=position).value or f"Column{position}"
                    table.tableColumns.append(TableColumn(id=position - min_col + 1,
                                                          name=str(name)))
            table.ref = new_ref
            if table.autoFilter is not None:
                table.autoFilter.ref = new_ref


def _coerce_all(column: Column, values: Sequence[object],
                lists: Mapping[str, tuple[str, ...]]) -> list[object]:
    """Values given by a caller, checked and typed as the column's kind, in one pass."""
    raw = pd.Series([None if is_blank(value) else value for value in values],
                    index=range(len(values)), dtype=object)
    found = Collector(REQUESTS.name, {})
    typed = convert_column(column, raw, dict(lists), found)
    errors = [problem for problem in found.problems if problem.severity == "error"]
    if errors:
        first = min(errors, key=lambda problem: problem.row or 0)  # the first bad row
        position = first.row or 0
        where = f" (row {position + 1} of {len(values)})" if len(values) > 1 else ""
        raise InvalidValueError(f"{column.title}: '{values[position]}' {first.message}{where}")
    return [_python_value(column, result) for result in typed.to_numpy(dtype=object)]


def _given_id(values: Mapping[str, Any]) -> str:
    value = values.get("request_id")
    return "" if is_blank(value) else str(value).strip()


def _python_value(column: Column, result: object) -> object:
    if result is None or pd.isna(result):  # type: ignore[arg-type]
        return None
    if column.kind == "date":
        return pd.Timestamp(result).to_pydatetime().date()
    if column.kind == "datetime":
        stamp = pd.Timestamp(result).to_pydatetime()
        return stamp.date() if stamp == dt.datetime.combine(stamp.date(), dt.time()) else stamp
    if column.kind == "int":
        return int(result)  # type: ignore[call-overload]
    return str(result)


def _set_cell(cell: Cell, value: object) -> None:
    if isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # text stays text, even '=HYPERLINK(...)' or '+1 555'
        return
    cell.value = value
    if isinstance(value, dt.datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, dt.date) and not cell.is_date:
        cell.number_format = DATE_FORMAT


def _plain(value: object) -> object:
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return value


def _find_sheet(book: openpyxl.Workbook, spec: Sheet) -> Worksheet | None:
    for ws in book.worksheets:
        if sheet_for(ws.title) is spec:
            return ws
    return None


def _append_history(book: openpyxl.Workbook,
                    entries: Sequence[tuple[str, Sequence[tuple[str, object, object]]]],
                    by: str) -> None:
    """History rows for (request_id, [(field, old, new), ...]) pairs, under the last one."""
    ws = _find_sheet(book, HISTORY)
    if ws is None:
        ws = book.create_sheet(HISTORY.name)
        for position, column in enumerate(HISTORY.columns, start=1):
            ws.cell(row=1, column=position, value=column.title)
    header_row, positions, last_column = _header(ws, HISTORY)
    for name in HISTORY.column_names:
        if name not in positions:
            last_column += 1
            positions[name] = last_column
            ws.cell(row=header_row, column=last_column, value=HISTORY.column(name).title)
    row = _last_data_row(ws, header_row, last_column)
    now = dt.datetime.now().replace(microsecond=0)
    for request_id, changes in entries:
        for field_name, old, new in changes:
            row += 1
            values = {"at": now, "request_id": request_id, "field": field_name,
                      "old_value": "" if old is None else str(_plain(old)),
                      "new_value": "" if new is None else str(_plain(new)), "by": by}
            for name, value in values.items():
                _set_cell(ws.cell(row=row, column=positions[name]), value)
    _grow_tables(ws, row, last_column)


def _save_atomically(path: Path, book: openpyxl.Workbook, original: bytes,
                     backups_keep: int) -> tuple[str, Path | None]:
    """Save the book in place of path through atomic.replace_file (symlinks, backups,
    read-only and full-disk refusals are handled there); (new fingerprint, backup)."""
    # Saved in memory, not into the temporary file: a disk that fills mid-save must not
    # leave openpyxl's half-written zip archive to complain when it is garbage-collected.
    buffer = io.BytesIO()
    spool = Path(tempfile.gettempdir())  # openpyxl writes each sheet through a file there
    run_or_refuse(lambda: book.save(buffer), lambda error: TrackerWriteError(
        f"{path}: {describe(error, spool)} Nothing was changed."))
    written = buffer.getvalue()
    try:  # reopen what we wrote before it replaces anything
        reopened = CalamineWorkbook.from_filelike(io.BytesIO(written))
        if reopened.sheet_names != book.sheetnames:
            raise ValueError("sheets differ")
        for title in book.sheetnames:  # the sheets patoolkit wrote to must parse
            if sheet_for(title) in (REQUESTS, HISTORY):
                reopened.get_sheet_by_name(title).to_python()
    except Exception as error:
        raise TrackerWriteError(
            f"{path}: the saved workbook did not reopen ({type(error).__name__}); "
            "nothing was changed.") from None
    replaced = replace_file(path, written, original=original, backups=backups_keep)
    return replaced.fingerprint, replaced.backup


def _backups_keep(book: openpyxl.Workbook) -> int:
    ws = next((w for w in book.worksheets if sheet_for(w.title) is not None
               and sheet_for(w.title).name == "Settings"), None)  # type: ignore[union-attr]
    if ws is None:
        return DEFAULT_BACKUPS_KEPT
    keep = DEFAULT_BACKUPS_KEPT
    for row in ws.iter_rows(values_only=True):  # the last row wins, as in load_tracker
        if len(row) > 1 and normalize_header(row[0]) == "backupskeep":
            with contextlib.suppress(TypeError, ValueError):
                keep = max(1, int(float(str(row[1]))))
    return keep


@dataclass
class _Open:
    path: Path
    data: bytes
    book: openpyxl.Workbook
    requests: Worksheet
    lists: dict[str, tuple[str, ...]]


def _load_for_write(path: Path | str, expected_fingerprint: str | None) -> _Open:
    path, data = read_workbook_bytes(path)
    _check_writable(path, data, expected_fingerprint)
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(data))
    lists_sheet = next((name for name in calamine.sheet_names
                        if normalize_header(name) == normalize_header(LISTS_SHEET)), None)
    lists = read_lists(sheet_rows(calamine, lists_sheet, path) if lists_sheet else [])
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), rich_text=True)
    except Exception as error:
        raise UnusableTrackerError(
            f"{path}: the workbook cannot be opened for writing ({type(error).__name__}); "
            "run `patoolkit check` on it.") from None
    requests = _find_sheet(book, REQUESTS)
    if requests is None:
        raise UnusableTrackerError(f"{path}: has no Requests sheet.")
    _refuse_formulas_in_contract_columns(path, book)
    # Formulas in the analyst's own columns keep their text, but openpyxl cannot keep their
    # last results: ask Excel and LibreOffice to recalculate when the file is next opened.
    book.calculation.fullCalcOnLoad = True
    return _Open(path, data, book, requests, lists)


def _refuse_formulas_in_contract_columns(path: Path, book: openpyxl.Workbook) -> None:
    """patoolkit reads formulas by their last result, which a save through openpyxl drops.

    In the analyst's extra columns that is harmless (Excel recalculates); in a column
    patoolkit reads it would blank the value until someone re-saved in Excel, so refuse.
    """
    for ws in book.worksheets:
        spec = sheet_for(ws.title)
        if spec is None:
            continue
        header_row, positions, _ = _header(ws, spec)
        watched = {column: name for name, column in positions.items()}
        for (row, column), cell in ws._cells.items():  # every stored cell, no empty ones
            if row > header_row and column in watched and cell.data_type == "f":
                raise TrackerWriteError(
                    f"{path}: {ws.title} row {row}, column "
                    f"'{ws.cell(row=header_row, column=column).value}' holds a formula; "
                    "patoolkit cannot keep a formula's result when it saves. Replace the "
                    "formulas in that column with values (Paste Special > Values) or move them "
                    "to a column of your own. Nothing was changed.")


def _columns_for(ws: Worksheet, changes: Mapping[str, Any]) -> tuple[int, dict[str, int], int]:
    header_row, positions, last_column = _header(ws, REQUESTS)
    for name in changes:
        if name not in REQUESTS.column_names:
            raise InvalidValueError(
                f"'{name}' is not a Requests column; use one of: "
                + ", ".join(REQUESTS.column_names))
        if name not in positions:  # add a contract column the analyst's sheet lacks
            last_column += 1
            positions[name] = last_column
            ws.cell(row=header_row, column=last_column, value=REQUESTS.column(name).title)
    return header_row, positions, last_column


def _apply(ws: Worksheet, row: int, positions: dict[str, int],
           typed: Mapping[str, object]) -> list[tuple[str, object, object]]:
    """Write typed values into one row; (field, old, new) for each cell that changed."""
    applied = []
    for name, value in typed.items():
        cell = ws.cell(row=row, column=positions[name])
        old = cell.value
        if _plain(old) == _plain(value) or (old in (None, "") and value is None):
            continue
        _set_cell(cell, value)
        applied.append((name, old, value))
    return applied


def update_request(path: Path | str, request_id: str, changes: Mapping[str, Any], by: str,
                   expected_fingerprint: str | None = None) -> WriteResult:
    """Change some fields of one request; only those cells change, History records each.

    expected_fingerprint is Tracker.fingerprint from the load the change was based
    on; when the file no longer matches it, TrackerConflictError is raised.
    """
    with _writer_lock(Path(path)):
        opened = _load_for_write(path, expected_fingerprint)
        path, data, book, ws = opened.path, opened.data, opened.book, opened.requests
        header_row, positions, last_column = _columns_for(ws, changes)
        id_column = positions.get("request_id")
        if id_column is None:
            raise UnusableTrackerError(f"{path}: the Requests sheet has no Request ID column.")
        wanted = str(request_id).strip().upper()
        row = next((number for number, (value,) in enumerate(
            ws.iter_rows(min_row=header_row + 1, min_col=id_column, max_col=id_column,
                         values_only=True), start=header_row + 1)
            if value is not None and str(value).strip().upper() == wanted), None)
        if row is None:
            raise RequestNotFoundError(f"{path}: no request with ID '{request_id}' on the "
                                       "Requests sheet.")
        typed = {name: _coerce_all(REQUESTS.column(name), [value], opened.lists)[0]
                 for name, value in changes.items()}
        applied = _apply(ws, row, positions, typed)
        result = WriteResult(path, hashlib.sha256(data).hexdigest(), str(request_id), applied)
        if not applied:
            return result
        _grow_tables(ws, row, last_column)
        _append_history(book, [(str(request_id), applied)], by)
        result.fingerprint, result.backup = _save_atomically(path, book, data,
                                                             _backups_keep(book))
        return result


def next_request_id(existing: list[object], today: dt.date | None = None) -> str:
    """PA-YYYY-NNNNN, one past the highest number used this year."""
    year = (today or dt.date.today()).year
    prefix = f"PA-{year}-"
    numbers = [int(match.group(1)) for value in existing if value is not None
               and (match := re.fullmatch(re.escape(prefix) + r"(\d+)", str(value).strip()))]
    return f"{prefix}{max(numbers, default=0) + 1:05d}"


def add_request(path: Path | str, values: Mapping[str, Any], by: str,
                expected_fingerprint: str | None = None) -> WriteResult:
    """Append a request under the last one; a request_id is made when none is given.

    A request without a plan type is refused (InvalidValueError, before the file is
    opened) unless its notes mark it as a draft (patoolkit.intake.plan_type_problem).
    """
    from .intake import plan_type_problem

    problem = plan_type_problem(values)
    if problem:
        raise InvalidValueError(f"{Path(path).name}: {problem} Nothing was saved.")
    results = add_requests(path, [values], by, expected_fingerprint)
    return results[0]


@functools.lru_cache(maxsize=1024)
def _is_contract_heading(title: str) -> bool:
    return bool(match_headers(REQUESTS, [title], 1).positions)


def _extra_column(ws: Worksheet, header_row: int, positions: dict[str, int],
                  extras: dict[str, int], last_column: int, title: str) -> tuple[int, int]:
    """The column of an extra (non-contract) heading, added at the right when new.

    A heading the next load would read as a contract column ('Decision' kept as
    an extra) is written as 'Decision (imported)', so its values stay extra.
    """
    if _is_contract_heading(title):
        title = f"{title} (imported)"
    wanted = normalize_header(title)
    if wanted in extras:
        return extras[wanted], last_column
    last_column += 1
    # a heading is text, never a formula: a CSV header '=cmd|...' must not run in Excel
    _set_cell(ws.cell(row=header_row, column=last_column), title)
    extras[wanted] = last_column
    return last_column, last_column


def add_requests(path: Path | str, rows: Sequence[Mapping[str, Any]], by: str,
                 expected_fingerprint: str | None = None,
                 extras: Sequence[Mapping[str, Any]] | None = None,
                 history_notes: Sequence[str] | None = None,
                 codes_as_typed: bool = False) -> list[WriteResult]:
    """Append requests under the last one, in one save (an import is one write).

    rows hold contract values (a request_id is made for each row without one);
    extras, one mapping per row, hold values of the analyst's own columns by
    heading (added at the right of the sheet when missing). Each new request gets a
    History row per field it sets, or, when history_notes (one per row) is given,
    one 'imported from' row with its note (where an imported row came from).
    codes_as_typed writes codes that are not CPT or HCPCS as given instead of refusing
    them: an import keeps a state's own service codes (its report warns about them).
    """
    from dataclasses import replace
    if not rows:
        return []  # nothing to add: the tracker is not even opened
    with _writer_lock(Path(path)):
        opened = _load_for_write(path, expected_fingerprint)
        path, data, book, ws = opened.path, opened.data, opened.book, opened.requests
        names = {name for row in rows for name in row} | {"request_id"}
        header_row, positions, last_column = _columns_for(ws, dict.fromkeys(names))
        extra_columns = {normalize_header(cell.value): cell.column for cell in ws[header_row]
                         if cell.value is not None and cell.column not in positions.values()}
        id_column = positions["request_id"]
        existing = [value for (value,) in ws.iter_rows(
            min_row=header_row + 1, min_col=id_column, max_col=id_column, values_only=True)]
        used = {str(v).strip().upper() for v in existing if v is not None}
        row = _last_data_row(ws, header_row, last_column)
        first_new = row + 1
        results: list[WriteResult] = []
        history: list[tuple[str, list[tuple[str, object, object]]]] = []
        made = next_request_id(existing)  # the year's next number, counted once
        prefix, _, start = made.rpartition("-")
        counter = int(start)
        # IDs the batch brings itself are spoken for before any is made up
        reserved = {_given_id(given).upper() for given in rows} - {""}
        batch: list[dict[str, Any]] = []
        for given in rows:
            values = dict(given)
            request_id = _given_id(values)
            if not request_id:
                while (candidate := f"{prefix}-{counter:05d}".upper()) in used \
                        or candidate in reserved:
                    counter += 1
                request_id = f"{prefix}-{counter:05d}"
            if request_id.upper() in used:
                raise InvalidValueError(f"request_id '{request_id}' is already used; leave it "
                                        "blank to get a new one.")
            used.add(request_id.upper())
            values["request_id"] = request_id
            batch.append(values)
        typed_columns = {name: _coerce_all(
            replace(REQUESTS.column(name), kind="text") if name == "codes" and codes_as_typed
            else REQUESTS.column(name), [values.get(name) for values in batch], opened.lists)
            for name in names}
        for number, values in enumerate(batch):
            request_id = values["request_id"]
            row += 1
            if row > header_row + 1:  # dress the new row like the one above it
                for position in range(1, last_column + 1):
                    above = ws.cell(row=row - 1, column=position)
                    if above.has_style:
                        ws.cell(row=row, column=position)._style = above._style
            applied = _apply(ws, row, positions, {name: typed_columns[name][number]
                                                  for name in values})
            for title, value in (extras[number] if extras else {}).items():
                if is_blank(value):
                    continue
                column, last_column = _extra_column(ws, header_row, positions, extra_columns,
                                                    last_column, str(title))
                _set_cell(ws.cell(row=row, column=column), _plain(value))
            note = history_notes[number] if history_notes else None
            # an imported row's values are in the row and its source: one History row says
            # where it came from (10,000 imported rows stay 10,000 History rows, not 100,000)
            changes: list[tuple[str, object, object]] = (
                [("imported from", None, note)] if note
                else [(name, None, new) for name, _, new in applied])
            history.append((request_id, changes))
            results.append(WriteResult(path, "", request_id, applied))
        _grow_tables(ws, max(row, first_new), last_column)
        _append_history(book, history, by)
        fingerprint, backup = _save_atomically(path, book, data, _backups_keep(book))
        for result in results:
            result.fingerprint, result.backup = fingerprint, backup
        return results


def record_history(path: Path | str, entries: Sequence[tuple[str, str, object, object]], by: str,
                   expected_fingerprint: str | None = None) -> WriteResult:
    """Append History rows (request_id, field, old, new) that change no request cell.

    Letters are recorded this way: field 'letter:KIND', new value the file name.
    One save for any number of entries, with the same lock, backup and conflict
    check as every other write.
    """
    with _writer_lock(Path(path)):
        opened = _load_for_write(path, expected_fingerprint)
        _append_history(opened.book, [(str(request_id), [(field_name, old, new)])
                                      for request_id, field_name, old, new in entries], by)
        result = WriteResult(opened.path, hashlib.sha256(opened.data).hexdigest(), "",
                             [(field_name, old, new) for _, field_name, old, new in entries])
        if entries:
            result.fingerprint, result.backup = _save_atomically(
                opened.path, opened.book, opened.data, _backups_keep(opened.book))
        return result
