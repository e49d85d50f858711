"""Writing changes back to the analyst's workbook without ever losing their work.

Only what changes is written: the writer edits the workbook package at the XML
level (tracker/package.py), so a save rewrites the Requests and History worksheet parts
(and what must follow them: the sheet's dimension, its Table's range, dropdown and
conditional-format ranges that ended at the old last row, recalculation on open)
and copies every other part byte for byte: charts, pictures, pivot tables, slicers,
Excel's own dropdowns (x14), comments, styles, defined names, an .xlsm's macros.
Every change is appended to the History sheet. A write:

1. takes a lock of our own so two patoolkit writers never interleave;
2. refuses if Excel or LibreOffice has the file open (their lock files), or a
   read-only file or folder; nothing is overwritten;
3. reads the file as it is now and applies the change to it. A change to a request
   carries what the person saw (`seen`, or the file they loaded, by its fingerprint,
   found among the backups): when those fields still hold it, the change goes in
   even if other requests or other fields changed meanwhile; when one of them
   changed, nothing is written and the message names the field, its value now and
   who changed it (History). Adding requests and History rows never conflicts;
4. checks that the changed parts are well-formed XML, then atomic.replace_file
   writes a temporary file, keeps a backup, checks the file did not change in
   between and replaces it (see atomic.py).

A process killed at any point leaves the old workbook or the new one, both whole.

Text is always written as text (an inline string), never as a formula, whatever it
starts with (spreadsheet formula injection). Formulas already in the workbook keep
their text and their last results; Excel and LibreOffice recalculate them on open.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock
from lxml import etree

from patoolkit.atomic import BACKUP_FOLDER, describe, real_path, refuse_read_only, replace_file
from patoolkit.errors import (
    InvalidValueError,
    RequestNotFoundError,
    TrackerConflictError,
    TrackerLockedError,
    TrackerWriteError,
    UnusableTrackerError,
)
from patoolkit.schema import (
    HISTORY,
    LISTS_SHEET,
    REQUESTS,
    Column,
    Sheet,
    is_blank,
    is_missing,
    match_headers,
    normalize_header,
    sheet_for,
)
from patoolkit.tracker import package as pkg
from patoolkit.tracker.cells import Collector, convert_column
from patoolkit.tracker.extents import ROW_GAP, last_before_gap
from patoolkit.tracker.read import HEADER_SEARCH_ROWS, read_lists, read_workbook_bytes

DEFAULT_BACKUPS_KEPT = 20


@dataclass
class WriteResult:
    path: Path
    fingerprint: str  # hash of the workbook as written; pass it to the next write
    request_id: str
    changes: list[tuple[str, object, object]] = field(default_factory=list)  # field, old, new
    backup: Path | None = None
    recorded_at: dt.datetime | None = None  # the 'At' of the History rows it wrote
    based_on: str = ""  # fingerprint of the file as the write found it, before its change


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
    # filelock: flock on POSIX, msvcrt's byte lock on Windows; waits as long as it takes
    lock_path = real.with_name(f".~patoolkit.{real.name}.lock")
    lock = FileLock(lock_path)
    try:
        # filelock takes a failure to make its file (a full disk) for a lock held by someone
        # else and waits, where the person must be told: a file of our own is made (and let
        # go) first to find out. Not the lock file itself: where filelock falls back to its
        # soft lock (no flock), an existing lock file means "held" and it would wait forever.
        probe = lock_path.with_name(lock_path.name + ".probe")
        with probe.open("a"):
            pass
        probe.unlink(missing_ok=True)
        lock.acquire()
    except OSError as error:
        raise TrackerWriteError(f"{path}: {describe(error, real.parent)} Nothing was "
                                "changed.") from None
    try:
        yield
    finally:
        lock.release()


def _check_writable(path: Path) -> None:
    refuse_read_only(path)
    locks = office_lock_files(path)
    if locks:
        raise TrackerLockedError(
            f"{path}: is open in Excel or LibreOffice (lock file {locks[0].name}); close it there "
            "and try again. Nothing was changed.")


def check_writable(path: Path | str, expected_fingerprint: str | None = None,
                   request_ids: Sequence[str] = ()) -> None:
    """Raise what a write would raise now (open in Excel, read-only, not a workbook), and
    TrackerConflictError when one of request_ids changed since the load whose fingerprint
    is given (a letter made from it would carry what is no longer so).

    For work that writes files before it writes the tracker (letters): ask first, so
    nothing is made that cannot be recorded. The write itself checks again.
    """
    checked, data = read_workbook_bytes(path)
    _check_writable(checked)
    package = _package(checked, data)
    if not expected_fingerprint or not request_ids or \
            hashlib.sha256(data).hexdigest() == expected_fingerprint:
        return
    earlier = _state_at(checked, expected_fingerprint)
    names = list(REQUESTS.column_names)
    then = _requests_sheet(pkg.Package(earlier)) if earlier is not None else None
    now = _requests_sheet(package)
    for request_id in request_ids:  # each state opened once, each request looked up in it
        was = _values_in(then, request_id, names) if then is not None else None
        is_ = _values_in(now, request_id, names) if now is not None else None
        if was is None or is_ is None or any(not _same(was[name], is_[name])
                                             for name in names):
            raise TrackerConflictError(
                f"{checked}: {request_id} changed since you opened the tracker (someone saved "
                "it meanwhile); reload it and try again. Nothing was written.",
                f"{request_id} changed since this page loaded it.")


def _package(path: Path, data: bytes) -> pkg.Package:
    try:
        package = pkg.Package(data)
        pkg.sheet_parts(package)
    except (pkg.PackageError, KeyError) as error:
        raise UnusableTrackerError(
            f"{path}: the workbook cannot be opened for writing ({error}); run "
            "`patoolkit check` on it.") from None
    return package


# --- one sheet of the tracker, read from its XML -------------------------------------------

@dataclass
class _Sheet:
    """A contract sheet of the workbook being written: its part and where its columns are."""

    sheet: pkg.Worksheet
    header_row: int
    positions: dict[str, int]  # canonical name -> 1-based column
    extras: dict[str, int]  # normalized heading -> 1-based column (the analyst's columns)
    last_column: int
    first_data_row: int = 0  # the last data row when the write began (ranges grow from it)
    titles: dict[str, int] = field(default_factory=dict)  # extra heading as given -> column

    def last_data_row(self) -> int:
        """The last row below the header with a value in the table's columns; stray far
        rows (past a wide gap, tracker/extents.py) left out. From the bottom up: a row is parsed
        only when it might be the one."""
        sheet = self.sheet
        if sheet.last_data is not None:  # an append-only sheet patoolkit wrote (Segments)
            return max(sheet.last_data, sheet.last_new_row())
        rows = sorted(row for row in {*sheet.rows, *sheet.edits} if row > self.header_row)
        if not rows:
            return self.header_row
        # stray far rows are cut off by the row numbers alone (a row of formatting only that
        # bridges a gap keeps a far value in the table: rare, and then Excel agrees)
        cut = last_before_gap([self.header_row, *rows], ROW_GAP)
        for row in reversed(rows):
            if row <= cut and sheet.has_values(row, self.last_column):
                return row
        return self.header_row

    def value_rows(self) -> list[int]:
        """Every row below the header with a value in the table's columns (History's
        conflict lookup; not on the path of a plain save)."""
        last = self.last_data_row()
        return [row for row in sorted({*self.sheet.rows, *self.sheet.edits})
                if self.header_row < row <= last and self.sheet.has_values(row,
                                                                           self.last_column)]

    def column_values(self, column: int) -> dict[int, object]:
        """Every value of one column below the header, by row (one pass over the XML)."""
        sheet = self.sheet
        letter = re.escape(pkg.get_column_letter(column).encode())
        pattern = re.compile(rb'<c\b[^>]*?\br="' + letter + rb'(\d+)"[^>]*?(?:/>|>(.*?)</c>)',
                             re.S)
        values: dict[int, object] = {}
        for match in pattern.finditer(sheet.xml):
            row = int(match.group(1))
            if row <= self.header_row or row in sheet.edits or row in sheet.removed:
                continue
            body = match.group(2)
            if body is None:
                values[row] = None
            elif body.startswith(b"<v>") and b' t="s"' in match.group(0)[:match.start(2)
                                                                       - match.start()]:
                values[row] = sheet.strings[int(body[3:body.index(b"</v>")])]
            else:
                cell = pkg.parse_cells(b"<row>" + match.group(0) + b"</row>")
                values[row] = pkg.cell_value(cell[0], sheet.strings, sheet.styles) \
                    if cell else None
        for row in sheet.edits:
            if row > self.header_row:
                values[row] = sheet.values(row).get(column)
        return values

    def add_column(self, title: str) -> int:
        self.last_column += 1
        header_style = {cell.column: cell.style() for cell in self.sheet.cells(self.header_row)}
        self.sheet.set(self.header_row, {self.last_column: title},
                       {self.last_column: header_style.get(self.last_column - 1)})
        return self.last_column


def _open_sheet(package: pkg.Package, part: str, spec: Sheet, styles: pkg.Styles,
                strings: pkg.SharedStrings, sheet: pkg.Worksheet | None = None) -> _Sheet:
    sheet = sheet or pkg.Worksheet.open(package, part, styles, strings)
    best_row, best = 1, match_headers(spec, [], 1)
    for number in range(1, HEADER_SEARCH_ROWS + 1):
        values = sheet.values(number)
        if not values:
            continue
        row = [values.get(column) for column in range(1, max(values) + 1)]
        candidate = match_headers(spec, row, number)
        if len(candidate.positions) > len(best.positions):
            best_row, best = number, candidate
    positions = {name: position + 1 for name, position in best.positions.items()}
    extras = {normalize_header(text): position + 1 for position, text in best.extras.items()}
    last = max([*positions.values(), *extras.values()], default=0)
    return _Sheet(sheet, best_row, positions, extras, last)


def _rows_of(package: pkg.Package, part: str, styles: pkg.Styles, strings: pkg.SharedStrings
             ) -> list[list[object]]:
    """A small sheet (Lists, Settings) as rows of values, as the tracker reader sees them."""
    sheet = pkg.Worksheet.open(package, part, styles, strings)
    rows: list[list[object]] = []
    for number in sorted(sheet.rows)[:100_000]:
        values = sheet.values(number)
        while len(rows) < number - 1:
            rows.append([])
        rows.append([values.get(column, "") for column in range(1, max(values, default=0) + 1)])
    return rows


@dataclass
class _Open:
    path: Path
    data: bytes
    package: pkg.Package
    styles: pkg.Styles
    strings: pkg.SharedStrings
    parts: dict[str, str]  # sheet name -> part
    requests: _Sheet
    lists: dict[str, tuple[str, ...]]
    backups_keep: int
    recorded_at: dt.datetime | None = None  # the time History rows of this write carry


def _contract_part(parts: Mapping[str, str], spec: Sheet) -> tuple[str, str] | None:
    return next(((name, part) for name, part in parts.items() if sheet_for(name) is spec), None)


def _load_for_write(path: Path | str) -> _Open:
    path, data = read_workbook_bytes(path)
    _check_writable(path)
    package = _package(path, data)
    try:
        parts = pkg.sheet_parts(package)
        styles = pkg.Styles.read(package)
        strings = pkg.shared_strings(package)
        found = _contract_part(parts, REQUESTS)
        if found is None:
            raise UnusableTrackerError(f"{path}: has no Requests sheet.")
        requests = _open_sheet(package, found[1], REQUESTS, styles, strings)
        lists_part = next((part for name, part in parts.items()
                           if normalize_header(name) == normalize_header(LISTS_SHEET)), None)
        lists = read_lists(_rows_of(package, lists_part, styles, strings) if lists_part else [])
        settings = next((part for name, part in parts.items() if sheet_for(name) is not None
                         and sheet_for(name).name == "Settings"), None)  # type: ignore[union-attr]
        keep = _backups_keep(_rows_of(package, settings, styles, strings) if settings else [])
    except (pkg.PackageError, KeyError, ValueError) as error:
        if isinstance(error, UnusableTrackerError):
            raise
        raise UnusableTrackerError(
            f"{path}: the workbook cannot be opened for writing ({error}); run "
            "`patoolkit check` on it.") from None
    return _Open(path, data, package, styles, strings, parts, requests, lists, keep)


def _backups_keep(rows: list[list[object]]) -> int:
    keep = DEFAULT_BACKUPS_KEPT
    for row in rows:  # the last row wins, as in load_tracker
        if len(row) > 1 and normalize_header(row[0]) == "backupskeep":
            with contextlib.suppress(TypeError, ValueError):
                keep = max(1, int(float(str(row[1]))))
    return keep


# --- values ----------------------------------------------------------------------------------

def _coerce_all(column: Column, values: Sequence[object],
                lists: Mapping[str, tuple[str, ...]], strict: bool = True) -> list[object]:
    """Values given by a caller, checked and typed as the column's kind, in one pass.
    Not strict: a value the tracker reader cannot use reads as None, as it does there."""
    raw = pd.Series([None if is_blank(value) else value for value in values],
                    index=range(len(values)), dtype=object)
    found = Collector(REQUESTS.name, {})
    typed = convert_column(column, raw, dict(lists), found)
    errors = [problem for problem in found.problems if problem.severity == "error"]
    if errors and strict:
        first = min(errors, key=lambda problem: problem.row or 0)  # the first bad row
        position = first.row or 0
        where = f" (row {position + 1} of {len(values)})" if len(values) > 1 else ""
        raise InvalidValueError(f"{column.title}: '{values[position]}' {first.message}{where}")
    return [_python_value(column, result) for result in typed.to_numpy(dtype=object)]


def _given_id(values: Mapping[str, Any]) -> str:
    value = values.get("request_id")
    return "" if is_blank(value) else str(value).strip()


def _python_value(column: Column, result: Any) -> object:
    """A value convert_column typed (a Timestamp, a number, text: any cell of an object
    array) as openpyxl writes it."""
    if is_missing(result):
        return None
    if column.kind == "date":
        return pd.Timestamp(result).to_pydatetime().date()
    if column.kind == "datetime":
        stamp = pd.Timestamp(result).to_pydatetime()
        return stamp.date() if stamp == dt.datetime.combine(stamp.date(), dt.time()) else stamp
    if column.kind == "int":
        return int(result)
    return str(result)


def _plain(value: object) -> object:
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return value


def _same(old: object, new: object) -> bool:
    if old in (None, "") and new in (None, ""):
        return True
    if isinstance(old, float) and isinstance(new, int | float) and old == new:
        return True
    return _plain(old) == _plain(new)


# --- saving ----------------------------------------------------------------------------------

def _finish(opened: _Open, sheets: Sequence[_Sheet]) -> tuple[str, Path | None]:
    """Write the edited sheets into the package, check it and put it in place."""
    package = opened.package
    try:
        for item in sheets:
            last = item.sheet.last_new_row()  # rows added: the ranges that follow them grow
            headings = {column: str(value) for column, value
                        in item.sheet.values(item.header_row).items() if value is not None}
            item.sheet.finish(last, item.last_column,
                              item.first_data_row if last and item.first_data_row else None)
            for table in pkg.tables_of(package, item.sheet.part):
                pkg.grow_table(package, table, last, headings)
        pkg.recalculate_on_load(package, opened.parts.values())
        for name in [*package.replaced, *package.deflated]:
            if not name.endswith((".xml", ".rels")):
                continue
            edited = next((item.sheet for item in sheets if item.sheet.part == name), None)
            _well_formed(opened.path, name, package.head(name) if name in package.deflated
                         else package.replaced[name], edited)
        replaced = replace_file(opened.path, package.save, original=opened.data,
                                backups=opened.backups_keep)
    finally:
        package.close()  # the spools of deflated parts, whatever happened
    return replaced.fingerprint, replaced.backup


WELL_FORMED_CHUNK = 2_000  # rows parsed at a time: memory stays small for an import
WELL_FORMED_SAMPLE = 500  # new rows checked at each end of a large batch


def _well_formed(path: Path, name: str, content: bytes, edited: pkg.Worksheet | None) -> None:
    """The parts a save rewrites must parse. For an edited sheet only what was written is
    parsed (the rows, inside the sheet's own namespace declarations): the rest of the part
    is as it was, byte for byte."""
    parser = etree.XMLParser(resolve_entities=False, huge_tree=True)
    try:
        if edited is not None and (edited.edits or edited.blocks):
            root = re.match(rb'(?:<\?xml[^>]*\?>\s*)?<[\w:]*worksheet\b[^>]*>', content)
            opening = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", root.group(0)) if root else b"<w>"
            closing = b"</" + re.match(rb"<([\w:]+)", opening).group(1) + b">"  # type: ignore[union-attr]
            # rows that held cells before are checked whole; new rows are made by one
            # function (package.cell_xml), so their first and last ones stand for them all
            kept = [edited.edits[row] for row in edited.edits if row in edited.rows]
            rows = kept + edited.new_rows_sample(WELL_FORMED_SAMPLE)
            for start in range(0, len(rows), WELL_FORMED_CHUNK):  # a tree of a few rows at once
                etree.fromstring(opening + b"".join(rows[start:start + WELL_FORMED_CHUNK])
                                 + closing, parser)
        elif edited is None:
            etree.fromstring(content, parser)
    except etree.XMLSyntaxError as error:
        raise TrackerWriteError(
            f"{path}: the change would damage the workbook ({name}: {error}); nothing was "
            "changed. Please report this.") from None


def _history_sheet(opened: _Open) -> _Sheet:
    found = _contract_part(opened.parts, HISTORY)
    if found is None:
        part = _add_sheet(opened.package, HISTORY.name)
        opened.parts[HISTORY.name] = part
    else:
        part = found[1]
    # History only grows: patoolkit writes it in segments (package.Segments) and the next
    # save appends rows without inflating the ones there (a 100,000-row History costs a
    # save what a 100-row one does). A History some other program saved is read whole.
    appending = pkg.Worksheet.open_appending(opened.package, part, opened.styles,
                                             opened.strings) if found is not None else None
    history = _open_sheet(opened.package, part, HISTORY, opened.styles, opened.strings,
                          appending)
    if appending is not None and any(column.name not in history.positions
                                     for column in HISTORY.columns):
        history = _open_sheet(opened.package, part, HISTORY, opened.styles, opened.strings)
    if not history.positions and not history.extras and found is None:
        history.header_row = 1
    for column in HISTORY.columns:
        if column.name not in history.positions:
            history.positions[column.name] = history.add_column(column.title)
    history.first_data_row = history.last_data_row()
    history.sheet.segment_after = history.header_row
    return history


def history_values(request_id: str, field_name: str, old: object, new: object, by: str,
                   at: dt.datetime) -> dict[str, object]:
    """One History row as the writer writes it (the dashboards mirror it in memory)."""
    return {"at": at, "request_id": request_id, "field": field_name,
            "old_value": "" if old is None else str(_plain(old)),
            "new_value": "" if new is None else str(_plain(new)), "by": by}


def _append_history(opened: _Open,
                    entries: Sequence[tuple[str, Sequence[tuple[str, object, object]]]],
                    by: str) -> _Sheet:
    """History rows for (request_id, [(field, old, new), ...]) pairs, under the last one."""
    rows = [history_values(request_id, field_name, old, new, by, dt.datetime.min)
            for request_id, changes in entries for field_name, old, new in changes]
    return _append_history_columns(opened, {name: [row[name] for row in rows] for name in
                                            ("request_id", "field", "old_value", "new_value")},
                                   len(rows), by)


def _append_history_columns(opened: _Open, columns: Mapping[str, list[object]], count: int,
                            by: str) -> _Sheet:
    """`count` History rows given column by column (request_id, field, old_value,
    new_value), all at this write's time and by `by`, under the last one."""
    history = _history_sheet(opened)
    last = history.last_data_row()
    now = opened.recorded_at = dt.datetime.now().replace(microsecond=0)
    positions = {name: history.positions[name] for name in (*columns, "at", "by")}

    def values(start: int, stop: int) -> dict[int, list[object]]:
        cells: dict[int, list[object]] = {positions[name]: given[start:stop]
                                          for name, given in columns.items()}
        cells[positions["at"]] = [now] * (stop - start)
        cells[positions["by"]] = [by] * (stop - start)
        return cells

    _put_rows(history.sheet, last + 1, count, values, _row_styles(history, last))
    return history


RELATIONSHIPS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPE_SHEET = ("application/vnd.openxmlformats-officedocument.spreadsheetml."
                      "worksheet+xml")
RELATION_SHEET = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                  "worksheet")


def _add_sheet(package: pkg.Package, name: str) -> str:
    """A new empty worksheet at the end of the workbook (the History sheet, when missing)."""
    number = 1
    while package.has(f"xl/worksheets/sheet{number}.xml"):
        number += 1
    part = f"xl/worksheets/sheet{number}.xml"
    package.write(part, (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{pkg.NS_MAIN}" xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships"><dimension ref="A1"/><sheetData/></worksheet>'
    ).encode())
    rels_path = "xl/_rels/workbook.xml.rels"
    rels = package.read(rels_path)
    used = {int(found) for found in re.findall(rb'Id="rId(\d+)"', rels)}
    rid = f"rId{max(used, default=0) + 1}"
    rels = rels.replace(b"</Relationships>", (
        f'<Relationship Id="{rid}" Type="{RELATION_SHEET}" '
        f'Target="worksheets/sheet{number}.xml"/></Relationships>').encode())
    package.write(rels_path, rels)
    workbook = package.read("xl/workbook.xml")
    ids = [int(found) for found in re.findall(rb'<sheet\b[^>]*?\bsheetId="(\d+)"', workbook)]
    entry = (f'<sheet xmlns:r="{RELATIONSHIPS_NS}" name="{name}" '
             f'sheetId="{max(ids, default=0) + 1}" r:id="{rid}"/>').encode()
    package.write("xl/workbook.xml", workbook.replace(b"</sheets>", entry + b"</sheets>", 1))
    types = package.read("[Content_Types].xml")
    package.write("[Content_Types].xml", types.replace(b"</Types>", (
        f'<Override PartName="/{part}" ContentType="{CONTENT_TYPE_SHEET}"/></Types>').encode()))
    return part


# --- conflicts ------------------------------------------------------------------------------

def _state_at(path: Path, fingerprint: str) -> bytes | None:
    """The workbook as it was when its hash was `fingerprint`: among the backups (each save
    keeps the file as it was before it), or None."""
    folder = real_path(path).parent / BACKUP_FOLDER
    if not folder.is_dir():
        return None
    stem, suffix = real_path(path).stem, real_path(path).suffix
    for candidate in sorted(folder.glob(f"{glob_escape(stem)}.*{glob_escape(suffix)}"),
                            reverse=True):
        with contextlib.suppress(OSError):
            data = candidate.read_bytes()
            if hashlib.sha256(data).hexdigest() == fingerprint:
                return data
    return None


def glob_escape(text: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", text)


def _requests_sheet(package: pkg.Package) -> _Sheet | None:
    found = _contract_part(pkg.sheet_parts(package), REQUESTS)
    if found is None:
        return None
    return _open_sheet(package, found[1], REQUESTS, pkg.Styles.read(package),
                       pkg.shared_strings(package))


def _values_in(sheet: _Sheet, request_id: str, names: Sequence[str]
               ) -> dict[str, object] | None:
    """One request's fields in a state of the workbook (None: it was not there)."""
    row = _find_row(sheet, request_id)
    if row is None:
        return None
    values = sheet.sheet.values(row)
    return {name: values.get(sheet.positions[name]) if name in sheet.positions else None
            for name in names}


def _who_changed(opened: _Open, request_id: str, name: str) -> str:
    found = _contract_part(opened.parts, HISTORY)
    if found is None:
        return ""
    history = _open_sheet(opened.package, found[1], HISTORY, opened.styles, opened.strings)
    wanted_field = {name, REQUESTS.column(name).title}
    latest = ""
    for row in history.value_rows():
        values = history.sheet.values(row)
        get = {column: values.get(position) for column, position in history.positions.items()}
        if str(get.get("request_id") or "").strip().upper() == request_id.upper() and \
                str(get.get("field") or "") in wanted_field:
            when = get.get("at")
            stamp = when.strftime("%Y-%m-%d %H:%M") if isinstance(when, dt.date) else str(when)
            latest = f" (changed by {get.get('by') or 'someone'} at {stamp})"
    return latest


def _refuse_if_changed(opened: _Open, request_id: str, row: int,
                       seen: Mapping[str, object]) -> None:
    """Nothing is written when a field being changed no longer holds what the person saw."""
    requests = opened.requests
    current = requests.sheet.values(row)
    for name, was in seen.items():
        now = current.get(requests.positions[name]) if name in requests.positions else None
        if name in REQUESTS.column_names:  # both as the page's reader read them: a value it
            # could not use ('Aproved', 'next tuesday') showed as blank, and is one to fix
            was, read = _coerce_all(REQUESTS.column(name), [was, now], opened.lists,
                                    strict=False)
        else:
            read = now
        if not _same(read, was):
            title = REQUESTS.column(name).title if name in REQUESTS.column_names else name
            shown = "blank" if now in (None, "") else f"'{_plain(now)}'"
            detail = (f"{title} of {request_id} changed since you opened it: it is now "
                      f"{shown}{_who_changed(opened, request_id, name)}.")
            raise TrackerConflictError(
                f"{opened.path}: {detail} Reload it and make your change again if it still "
                "applies. Nothing was overwritten.", detail)


CELL_ADDRESS = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"')


def _find_row(sheet: _Sheet, request_id: str) -> int | None:
    """The row of a request: its ID looked up as text in the raw XML first (shared string
    or inline string), every ID cell read only when that finds nothing (a number, a
    formula's result)."""
    column = sheet.positions.get("request_id")
    if column is None:
        return None
    wanted = str(request_id).strip().upper()
    letter = pkg.get_column_letter(column).encode()
    xml = sheet.sheet.xml
    shared = sheet.sheet.strings.indexes_of(wanted)
    values = [rb"<v>" + str(index).encode() + rb"</v>" for index in shared]
    inline = rb'<is><t[^>]*>\s*' + re.escape(pkg.xml_text(wanted).encode()) + rb'\s*</t>'
    pattern = re.compile(b"|".join([*values, inline]), re.IGNORECASE)
    rows = []
    for match in pattern.finditer(xml):  # the value first (rare), then its cell's address
        address = CELL_ADDRESS.match(xml, xml.rfind(b"<c ", 0, match.start()))
        if address is not None and address.group(1) == letter:
            rows.append(int(address.group(2)))
    rows = [row for row in sorted(rows) if row > sheet.header_row and row not in sheet.sheet.edits]
    for row in rows:
        value = sheet.sheet.values(row).get(column)
        if value is not None and str(value).strip().upper() == wanted:
            return row
    return next((row for row, value in sorted(sheet.column_values(column).items())
                 if value is not None and str(value).strip().upper() == wanted), None)


# --- the writes ------------------------------------------------------------------------------

def _columns_for(requests: _Sheet, names: Sequence[str]) -> None:
    for name in names:
        if name not in REQUESTS.column_names:
            raise InvalidValueError(
                f"'{name}' is not a Requests column; use one of: "
                + ", ".join(REQUESTS.column_names))
        if name not in requests.positions:  # add a contract column the analyst's sheet lacks
            requests.positions[name] = requests.add_column(REQUESTS.column(name).title)


def _apply(requests: _Sheet, row: int, typed: Mapping[str, object],
           styles_from: Mapping[int, int | None] | None = None
           ) -> list[tuple[str, object, object]]:
    """Write typed values into one row; (field, old, new) for each cell that changed."""
    current = requests.sheet.values(row)
    applied, cells = [], {}
    for name, value in typed.items():
        column = requests.positions[name]
        old = current.get(column)
        if _same(old, value):
            continue
        cells[column] = value
        applied.append((name, old, value))
    if cells:
        requests.sheet.set(row, cells, styles_from)
    return applied


def update_request(path: Path | str, request_id: str, changes: Mapping[str, Any], by: str,
                   expected_fingerprint: str | None = None,
                   seen: Mapping[str, Any] | None = None) -> WriteResult:
    """Change some fields of one request; only those cells change, History records each.

    What the person saw decides a conflict, field by field: `seen` (field -> the value
    they saw), or else expected_fingerprint (Tracker.fingerprint of the load the change
    was based on; the fields are read from that state, kept among the backups). When a
    field being changed no longer holds what they saw, TrackerConflictError names it,
    its value now and who changed it; changes to other requests or other fields
    meanwhile do not matter.
    """
    with _writer_lock(Path(path)):
        opened = _load_for_write(path)
        path, requests = opened.path, opened.requests
        _columns_for(requests, list(changes))
        if "request_id" not in requests.positions:
            raise UnusableTrackerError(f"{path}: the Requests sheet has no Request ID column.")
        row = _find_row(requests, request_id)
        if row is None:
            raise RequestNotFoundError(f"{path}: no request with ID '{request_id}' on the "
                                       "Requests sheet.")
        if seen is None and expected_fingerprint and \
                hashlib.sha256(opened.data).hexdigest() != expected_fingerprint:
            earlier = _state_at(path, expected_fingerprint)
            if earlier is None:
                raise TrackerConflictError(
                    f"{path}: the tracker changed since you opened it (someone saved it "
                    "meanwhile); reload it and make your change again. Nothing was "
                    "overwritten.")
            then = _requests_sheet(pkg.Package(earlier))
            seen = _values_in(then, request_id, list(changes)) if then is not None else None
            if seen is None:
                raise TrackerConflictError(
                    f"{path}: {request_id} was added after you opened the tracker; reload it "
                    "and make your change again. Nothing was overwritten.")
        if seen:
            _refuse_if_changed(opened, str(request_id), row,
                               {name: value for name, value in seen.items() if name in changes})
        typed = {name: _coerce_all(REQUESTS.column(name), [value], opened.lists)[0]
                 for name, value in changes.items()}
        applied = _apply(requests, row, typed)
        found = hashlib.sha256(opened.data).hexdigest()
        result = WriteResult(path, found, str(request_id), applied, based_on=found)
        if not applied:
            return result
        history = _append_history(opened, [(str(request_id), applied)], by)
        result.fingerprint, result.backup = _finish(opened, [requests, history])
        result.recorded_at = opened.recorded_at
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
    from patoolkit.intake import plan_type_problem

    problem = plan_type_problem(values)
    if problem:
        raise InvalidValueError(f"{Path(path).name}: {problem} Nothing was saved.")
    results = add_requests(path, [values], by, expected_fingerprint)
    return results[0]


@functools.lru_cache(maxsize=1024)
def _is_contract_heading(title: str) -> bool:
    return bool(match_headers(REQUESTS, [title], 1).positions)


def _totals_row(package: pkg.Package, requests: _Sheet) -> int | None:
    """The first totals row of a Table on the Requests sheet, when it has one."""
    for part in pkg.tables_of(package, requests.sheet.part):
        xml = package.read(part)
        count = re.search(rb'<table\b[^>]*?\btotalsRowCount="(\d+)"', xml)
        ref = re.search(rb'<table\b[^>]*?\bref="[A-Z]+\d+:[A-Z]+(\d+)"', xml)
        if count and ref and int(count.group(1)) > 0:
            return int(ref.group(1)) - int(count.group(1)) + 1
    return None


def _extra_column(requests: _Sheet, title: str) -> int:
    """The column of an extra (non-contract) heading, added at the right when new.

    A heading the next load would read as a contract column ('Decision' kept as
    an extra) is written as 'Decision (imported)', so its values stay extra.
    A heading is text, never a formula: a CSV header '=cmd|...' must not run in Excel.
    """
    known = requests.titles.get(title)
    if known is not None:
        return known
    shown = f"{title} (imported)" if _is_contract_heading(title) else title
    wanted = normalize_header(shown)
    if wanted not in requests.extras:
        requests.extras[wanted] = requests.add_column(shown)
    requests.titles[title] = requests.extras[wanted]
    return requests.extras[wanted]


@dataclass
class NewRequests:
    """Requests to add, column by column: an import of 300,000 rows is a few lists (and
    its analyst's columns are asked for a chunk at a time), not 300,000 mappings."""

    count: int
    values: dict[str, list[object]]  # contract field -> one value per request (None: none)
    extra_titles: list[str] = field(default_factory=list)  # the analyst's columns they fill
    # values of those columns for requests start..stop-1, by heading
    extras: Callable[[int, int], Mapping[str, Sequence[object]]] | None = None
    notes: Sequence[str] | None = None  # one 'imported from' History note per request
    # the values are already what validation.convert_column makes of them (an import's plan,
    # typed by the tracker reader's own rules and Lists): not checked a second time
    typed: bool = False

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]],
                  extras: Sequence[Mapping[str, Any]] | None = None,
                  notes: Sequence[str] | None = None) -> NewRequests:
        names = list(dict.fromkeys(name for row in rows for name in row))
        titles = list(dict.fromkeys(str(title) for extra in extras or ()  # blank: no heading
                                    for title, value in extra.items() if not is_blank(value)))

        def extra_values(start: int, stop: int) -> dict[str, list[object]]:
            assert extras is not None
            return {title: [extras[number].get(title) for number in range(start, stop)]
                    for title in titles}

        return cls(len(rows), {name: [row.get(name) for row in rows] for name in names},
                   titles, extra_values if extras else None, notes)


@dataclass
class AddedRequests:
    """What append_requests wrote: the new request IDs and the typed values, by field."""

    path: Path
    request_ids: list[str]
    typed: dict[str, list[object]]
    fingerprint: str
    backup: Path | None

    def changes(self, number: int) -> list[tuple[str, object, object]]:
        """(field, None, value) for each field the request `number` of the batch set."""
        return [(name, None, values[number]) for name, values in self.typed.items()
                if name != "request_id" and not is_blank(values[number])]


def _request_ids(batch: NewRequests, existing: list[object]) -> list[str]:
    """The request ID of each new request: the one it brings, else the year's next free
    number (IDs the batch brings itself are spoken for before any is made up)."""
    used = {str(value).strip().upper() for value in existing if value is not None}
    given = ["" if is_blank(value) else str(value).strip()
             for value in batch.values.get("request_id", [None] * batch.count)]
    reserved = {request_id.upper() for request_id in given} - {""}
    prefix, _, start = next_request_id(existing).rpartition("-")  # counted once
    counter, ids = int(start), []
    for request_id in given:
        if not request_id:
            while (candidate := f"{prefix}-{counter:05d}".upper()) in used \
                    or candidate in reserved:
                counter += 1
            request_id = f"{prefix}-{counter:05d}"
        if request_id.upper() in used:
            raise InvalidValueError(f"request_id '{request_id}' is already used; leave it "
                                    "blank to get a new one.")
        used.add(request_id.upper())
        ids.append(request_id)
    return ids


def _put_rows(sheet: pkg.Worksheet, first: int, count: int,
              values: Callable[[int, int], Mapping[int, Sequence[object]]],
              above: Mapping[int, int | None]) -> None:
    """New rows first..first+count-1, dressed like `above`: those the part already has
    (formatted and empty, or freed by a totals row) are set one by one, the rest appended
    in bulk, made into XML only as the part is written."""
    kept = max(0, min(count, sheet.last_row() - first + 1))
    if kept:
        given = values(0, kept)
        for offset in range(kept):
            sheet.set(first + offset, {column: column_values[offset] for column, column_values
                                       in given.items() if column_values[offset] is not None
                                       and column_values[offset] != ""}, above, dress=True)
    if count > kept:
        sheet.append_rows(first + kept, count - kept,
                          lambda start, stop: values(kept + start, kept + stop), above)


def _row_styles(sheet: _Sheet, row: int) -> dict[int, int | None]:
    """The styles a new row under `row` takes (none under the header)."""
    return {cell.column: cell.style() for cell in sheet.sheet.cells(row)} \
        if row > sheet.header_row else {}


def append_requests(path: Path | str, batch: NewRequests, by: str,
                    codes_as_typed: bool = False) -> AddedRequests:
    """Append requests under the last one, in one save (an import is one write).

    Each new request gets a request_id when it brings none, a History row per field it
    sets or, with batch.notes, one 'imported from' row with its note. codes_as_typed
    writes codes that are not CPT or HCPCS as given instead of refusing them (an import
    keeps a state's own service codes; its report warns about them). Adding never
    conflicts with other saves: the new rows go under the last row as the file is now.
    Memory: the typed values of the contract fields (batch.values is emptied as they are
    typed), and the new rows only deflated.
    """
    from dataclasses import replace
    with _writer_lock(Path(path)):
        opened = _load_for_write(path)
        path, requests = opened.path, opened.requests
        names = list(dict.fromkeys([*batch.values, "request_id"]))
        _columns_for(requests, names)
        existing = list(requests.column_values(requests.positions["request_id"]).values())
        ids = _request_ids(batch, existing)
        typed = {name: _coerce_all(  # each given column let go once typed
            replace(REQUESTS.column(name), kind="text") if name == "codes" and codes_as_typed
            else REQUESTS.column(name), ids if name == "request_id"
            else batch.values.pop(name), opened.lists)
            if name == "request_id" or not batch.typed else
            [_python_value(REQUESTS.column(name), value) for value in batch.values.pop(name)]
            for name in names}
        last = requests.first_data_row = requests.last_data_row()
        totals = _totals_row(opened.package, requests)
        if totals is not None and totals <= last:  # new requests go above a totals row
            requests.sheet.shift_rows(totals, batch.count)
            last = requests.first_data_row = totals - 1
        above = _row_styles(requests, last)
        extra_columns = {title: _extra_column(requests, title) for title in batch.extra_titles}
        positions = {name: requests.positions[name] for name in names}

        def values(start: int, stop: int) -> dict[int, list[object]]:
            cells: dict[int, list[object]] = {positions[name]: typed[name][start:stop]
                                              for name in names}
            if batch.extras is not None:
                for title, given in batch.extras(start, stop).items():
                    cells[extra_columns[title]] = [
                        (value if value.strip() else None) if type(value) is str
                        else None if is_blank(value) else _plain(value) for value in given]
            return cells

        _put_rows(requests.sheet, last + 1, batch.count, values, above)
        added = AddedRequests(path, ids, typed, "", None)
        if batch.notes is not None:
            # an imported row's values are in the row and its source: one History row says
            # where it came from (10,000 imported rows stay 10,000 History rows, not 100,000)
            history = _append_history_columns(opened, {
                "request_id": list(ids), "field": ["imported from"] * batch.count,
                "old_value": [""] * batch.count, "new_value": [str(note) for note in batch.notes]},
                batch.count, by)
        else:
            history = _append_history(opened, [(request_id, added.changes(number))
                                               for number, request_id in enumerate(ids)], by)
        added.fingerprint, added.backup = _finish(opened, [requests, history])
        return added


def add_requests(path: Path | str, rows: Sequence[Mapping[str, Any]], by: str,
                 expected_fingerprint: str | None = None,
                 extras: Sequence[Mapping[str, Any]] | None = None,
                 history_notes: Sequence[str] | None = None,
                 codes_as_typed: bool = False) -> list[WriteResult]:
    """Append requests under the last one, in one save (append_requests, row by row).

    rows hold contract values (a request_id is made for each row without one);
    extras, one mapping per row, hold values of the analyst's own columns by
    heading (added at the right of the sheet when missing). Each new request gets a
    History row per field it sets, or, when history_notes (one per row) is given,
    one 'imported from' row with its note (where an imported row came from).
    Adding never conflicts with other saves (expected_fingerprint is accepted and not
    needed): the new rows go under the last row as the file is now.
    """
    if not rows:
        return []  # nothing to add: the tracker is not even opened
    added = append_requests(path, NewRequests.from_rows(rows, extras, history_notes), by,
                            codes_as_typed)
    return [WriteResult(added.path, added.fingerprint, request_id, added.changes(number),
                        added.backup) for number, request_id in enumerate(added.request_ids)]


def record_history(path: Path | str, entries: Sequence[tuple[str, str, object, object]], by: str,
                   expected_fingerprint: str | None = None) -> WriteResult:
    """Append History rows (request_id, field, old, new) that change no request cell.

    Letters are recorded this way: field 'letter:KIND', new value the file name.
    One save for any number of entries, with the same lock, backup and checks as
    every other write; appending never conflicts (expected_fingerprint is accepted).
    """
    with _writer_lock(Path(path)):
        opened = _load_for_write(path)
        result = WriteResult(opened.path, hashlib.sha256(opened.data).hexdigest(), "",
                             [(field_name, old, new) for _, field_name, old, new in entries])
        if entries:
            history = _append_history(opened, [(str(request_id), [(field_name, old, new)])
                                               for request_id, field_name, old, new in entries],
                                      by)
            result.fingerprint, result.backup = _finish(opened, [history])
        return result
