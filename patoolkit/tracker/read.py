"""Reading the tracker workbook: one typed DataFrame per sheet, every problem found once.

The file is read once into memory; its SHA-256 (the fingerprint) is taken from
the very bytes parsed, so a later write can tell whether someone else saved
the file in between. python-calamine does the reading (fast, formula cells by
their cached value); openpyxl is used only to write (see tracker/edit.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from patoolkit.calendars import BusinessCalendar
from patoolkit.errors import Problem, UnusableTrackerError
from patoolkit.schema import (
    LIST_TITLES,
    LISTS,
    LISTS_SHEET,
    REQUESTS,
    SETTINGS_DEFAULTS,
    SHEETS,
    HeaderMap,
    Sheet,
    column_letter,
    copy_of,
    match_headers,
    normalize_header,
    sheet_for,
)
from patoolkit.tracker.cells import Collector, check_requests, convert_sheet
from patoolkit.tracker.extents import SheetFindings, guard_extents

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
HEADER_SEARCH_ROWS = 20
# the request dates whose years Tracker.calendar covers
CALENDAR_DATES = ("submitted_at", "scheduled_service_date", "decision_date", "p2p_date",
                  "appeal_submitted_date", "appeal_decision_date")


@dataclass
class Tracker:
    """A tracker as read: typed frames (index = Excel row number), settings, problems."""

    path: Path
    fingerprint: str
    frames: dict[str, pd.DataFrame]
    settings: dict[str, object]
    lists: dict[str, tuple[str, ...]]
    headers: dict[str, HeaderMap]
    sheet_names: dict[str, str]  # contract sheet -> name in the workbook
    extra_sheets: list[str]
    problems: list[Problem] = field(default_factory=list)

    @property
    def requests(self) -> pd.DataFrame:
        return self.frames[REQUESTS.name]

    def frame(self, sheet: str) -> pd.DataFrame:
        return self.frames[sheet]

    def calendar(self, as_of: dt.date | str | None = None) -> BusinessCalendar:
        """The practice's business days: weekdays less federal holidays and the Closures sheet.

        Every deadline, worklist count and page uses this one calendar. Its holiday years
        cover every date a request carries and as_of (today when None), so a count never
        runs off the calendar's end.
        """
        requests = self.requests
        now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now()
        dated = [requests[name] for name in CALENDAR_DATES if name in requests.columns]
        closures = self.frames.get("Closures")
        return BusinessCalendar.for_dates(
            [*dated, now], closures["date"] if closures is not None and "date" in closures
            else ())

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def extras(self, sheet: str) -> list[str]:
        """Columns of a sheet that are not in the contract, as the file names them."""
        header = self.headers.get(sheet)
        return list(header.extras.values()) if header else []

    def report(self) -> dict[str, object]:
        """The `check --json` document (CONTRACT section 4)."""
        return {
            "ok": self.ok,
            "file": str(self.path),
            "rows": len(self.requests),
            "errors": [problem.as_dict() for problem in self.errors],
            "warnings": [problem.as_dict() for problem in self.warnings],
        }


def fingerprint_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_workbook_bytes(path: Path | str) -> tuple[Path, bytes]:
    """The file's bytes, or one clear UnusableTrackerError line saying what to do."""
    path = Path(path)
    if not path.exists():
        raise UnusableTrackerError(f"{path}: no such file; check the path.")
    if path.is_dir():
        raise UnusableTrackerError(f"{path}: is a folder, not a workbook; give the .xlsx file.")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnusableTrackerError(f"{path}: cannot be read ({error.strerror}).") from None
    if not data:
        raise UnusableTrackerError(f"{path}: the file is empty; it is not a workbook.")
    if data.startswith(OLE2_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data[:1_000_000]:
            raise UnusableTrackerError(
                f"{path}: the workbook is password-protected; save a copy without a password "
                "(File > Info > Protect Workbook > Encrypt with Password, clear it).")
        raise UnusableTrackerError(
            f"{path}: is a legacy Excel 97-2003 (.xls) file; open it and Save As "
            "Excel Workbook (.xlsx).")
    if not data.startswith(ZIP_MAGIC):
        looks_text = all(byte >= 32 or byte in (9, 10, 13) for byte in data[:512])
        what = "a text or CSV file" if looks_text else "not an Excel workbook"
        raise UnusableTrackerError(
            f"{path}: is {what}, not an .xlsx workbook; open it in Excel or LibreOffice and "
            "save it as Excel Workbook (.xlsx).")
    return path, data


def open_workbook(path: Path, data: bytes, guarded: bool = False) -> CalamineWorkbook:
    """The workbook for reading; unless guarded (extents already set aside), stray far cells
    of every sheet are left out first, so no claimed size decides memory (tracker/extents.py)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise UnusableTrackerError(
            f"{path}: the file is damaged (not a valid .xlsx archive); restore it from the "
            "backups folder or re-save it from Excel.") from None
    if "xl/workbook.xml" not in names:
        raise UnusableTrackerError(
            f"{path}: is a zip archive but not an Excel workbook (no xl/workbook.xml); "
            "save it as Excel Workbook (.xlsx).")
    if not guarded:
        data, _ = guard_extents(path, data, lambda name: True)
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as error:  # calamine raises its own types for many kinds of damage
        raise UnusableTrackerError(
            f"{path}: the workbook cannot be read ({type(error).__name__}); re-save it from "
            "Excel or restore it from the backups folder.") from None


def sheet_rows(book: CalamineWorkbook, name: str, path: Path | None = None) -> list[list[object]]:
    try:
        sheet = book.get_sheet_by_name(name)
        rows: list[list[object]] = [list(row) for row in sheet.to_python(skip_empty_area=False)]
    except Exception as error:  # calamine's XmlError, WorksheetNotFound, ...
        raise UnusableTrackerError(
            f"{path or 'the workbook'}: the sheet '{name}' is damaged and cannot be read "
            f"({type(error).__name__}); re-save the file from Excel or restore it from the "
            "backups folder.") from None
    return rows


def find_header(sheet: Sheet, rows: list[list[object]]) -> HeaderMap:
    """The header is the row, among the first few, that names the most contract columns."""
    best: HeaderMap | None = None
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if not any(str(cell).strip() for cell in row if cell is not None):
            continue
        candidate = match_headers(sheet, row, index + 1)
        if best is None:
            best = candidate  # the first non-blank row, unless a later one matches better
        if len(candidate.positions) > len(best.positions):
            best = candidate
    return best or HeaderMap(header_row=1)


def raw_frame(rows: list[list[object]], header: HeaderMap) -> pd.DataFrame:
    """Data rows below the header, as objects, indexed by Excel row; blank rows dropped."""
    body = rows[header.header_row:]
    width = max((len(row) for row in rows), default=0)
    frame = pd.DataFrame(body, dtype=object, columns=range(width) if body else None)
    if frame.empty:
        frame = pd.DataFrame(columns=range(width), dtype=object)
    frame.index = pd.RangeIndex(header.header_row + 1, header.header_row + 1 + len(frame))
    used = sorted([*header.positions.values(), *header.extras])
    if used and len(frame):
        # list.count is C-level: most rows are decided without looking at each cell in Python
        cells = [[row[position] if position < len(row) else "" for position in used]
                 for row in body] if len(used) < width else body
        keep = [row.count("") + row.count(None) < len(row) and not all(
            value is None or (type(value) is str and not value.strip()) for value in row)
            for row in cells]
        frame = frame[keep]
    names = {position: canonical for canonical, position in header.positions.items()}
    taken = set(names.values())
    for position, text in header.extras.items():
        # an extra heading spelled like a contract column, or like another extra, stays
        # apart: two columns of one name would read neither
        name = text if text not in taken else f"{text} (column {column_letter(position)})"
        names[position] = name
        taken.add(name)
    return frame[sorted(names)].rename(columns=names)


def read_lists(rows: list[list[object]]) -> dict[str, tuple[str, ...]]:
    """The contract's lists, extended by any values a consultant added on the Lists sheet."""
    lists = {name: tuple(values) for name, values in LISTS.items()}
    if not rows:
        return lists
    by_title = {normalize_header(title): name for name, title in LIST_TITLES.items()}
    by_title.update({normalize_header(name): name for name in LIST_TITLES})
    for position, title in enumerate(rows[0]):
        name = by_title.get(normalize_header(title))
        if name is None:
            continue
        added = [str(row[position]).strip() for row in rows[1:]
                 if position < len(row) and row[position] is not None
                 and str(row[position]).strip()]
        known = {value.casefold() for value in lists[name]}
        new_values = [value for value in dict.fromkeys(added) if value.casefold() not in known]
        lists[name] = lists[name] + tuple(new_values)
    return lists


def _read_settings(frame: pd.DataFrame, found: Collector) -> dict[str, object]:
    settings: dict[str, object] = {setting.key: setting.default for setting in SETTINGS_DEFAULTS}
    kinds = {setting.key: setting.kind for setting in SETTINGS_DEFAULTS}
    maximum = {setting.key: setting.maximum for setting in SETTINGS_DEFAULTS}
    for row, key, value in zip(frame.index, frame["key"], frame["value"], strict=True):
        if pd.isna(key):
            continue
        name = normalize_header(key)
        canonical = next((k for k in kinds if normalize_header(k) == name), str(key).strip())
        if pd.isna(value):
            continue
        if kinds.get(canonical) == "int":
            try:
                number = float(str(value).replace(",", ""))
                if not number.is_integer() or number < 0:
                    raise ValueError
            except ValueError:
                found.labels.setdefault("value", "value")
                found.add([row], "value", f"setting '{canonical}' must be a whole number; "
                          f"leave it blank for the default ({settings[canonical]})", [value])
                continue
            limit = maximum.get(canonical)
            if limit is not None and number > limit:
                found.labels.setdefault("value", "value")
                found.add([row], "value", f"setting '{canonical}' is more than {limit:,}, which "
                          f"cannot be right; the default ({settings[canonical]}) is used until "
                          "it is corrected", [value])
                continue
            settings[canonical] = int(number)
        else:
            settings[canonical] = str(value)
    return settings


SHEET_USES = {
    "Payers": "the payers' own timeframes, windows and addresses are not used",
    "PA Rules": "no PA requirement can be looked up (every answer is Unknown)",
    "Criteria": "no documentation checklist can be made",
    "Providers": "no provider enrollment can be checked",
    "Settings": "the practice's settings take their defaults and letters have no letterhead",
    "Closures": "business days count no practice closures",
}


def _has_value(cell: object) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def _check_header(rows: list[list[object]], header: HeaderMap, found: Collector) -> None:
    """A contract heading typed twice, and values under no heading (a merge or a cleared
    cell hid it): both leave values unread, so `check` says where."""
    for position, canonical in header.repeated.items():
        found.add([header.header_row], None, (
            f"column {column_letter(position)} repeats the heading "
            f"'{header.labels[canonical]}' of column "
            f"{column_letter(header.positions[canonical])}; only the first is read. Rename "
            "or remove one"), severity="warning")
    named = {*header.positions.values(), *header.extras}
    body = rows[header.header_row:]
    width = max((len(row) for row in body), default=0)
    for position in range(width):
        if position in named:
            continue
        filled = [number for number, row in enumerate(body, start=header.header_row + 1)
                  if position < len(row) and _has_value(row[position])]
        if filled:
            found.add([header.header_row], None, (
                f"column {column_letter(position)} has values (first in row {filled[0]}) "
                "under no heading, so they are not read; a merged or cleared header cell? "
                "Give the column a heading"), severity="warning")


FOLDER_SETTINGS = {"letter_templates_folder": "no letter can be made until it is fixed or "
                   "cleared (cleared, the bundled templates are used)"}


def _check_folders(settings: dict[str, object], frame: pd.DataFrame, path: Path,
                   found: Collector) -> None:
    """A Settings folder that does not exist: said by `check`, before a letter is refused."""
    for key, consequence in FOLDER_SETTINGS.items():
        value = settings.get(key)
        if value is None or not str(value).strip():
            continue
        folder = Path(str(value).strip()).expanduser()
        folder = folder if folder.is_absolute() else path.parent / folder
        if folder.is_dir():
            continue
        rows = [row for row, name in zip(frame.index, frame["key"], strict=True)
                if not pd.isna(name) and normalize_header(name) == normalize_header(key)]
        found.labels.setdefault("value", "value")
        found.add(rows[-1:], "value", f"setting '{key}' names a folder that does not exist "
                  f"({folder}); {consequence}", [value], severity="warning")


def load_tracker(path: Path | str) -> Tracker:
    """Read and validate a tracker workbook.

    Raises UnusableTrackerError when the file cannot be a tracker at all. Every
    other problem is collected in Tracker.problems (see `patoolkit check`).
    """
    path, data = read_workbook_bytes(path)
    open_workbook(path, data, guarded=True)  # a damaged or foreign file: said so first

    def wanted(name: str) -> bool:
        return sheet_for(name) is not None or \
            normalize_header(name) == normalize_header(LISTS_SHEET)

    findings = SheetFindings()
    readable, _ = guard_extents(path, data, wanted, findings)
    book = open_workbook(path, readable, guarded=True)
    names = list(book.sheet_names)
    grids = {name: (sheet_rows(book, name, path) if wanted(name) else None) for name in names}
    tracker = tracker_from_rows(path, hashlib.sha256(data).hexdigest(), grids)
    tracker.problems.extend(_findings_problems(tracker, findings))
    return tracker


# At most this many findings of one kind are listed (the first ones say what to fix).
MAX_FINDINGS = 100


def _findings_problems(tracker: Tracker, findings: SheetFindings) -> list[Problem]:
    """What the XML scan saw and the values cannot show: far stray cells, error values
    (#N/A and the like read as blank) and merged cells (all but the first read as blank)."""
    headers = {tracker.sheet_names.get(name, name): header
               for name, header in tracker.headers.items()}

    def label(sheet: str, column: int) -> str | None:
        header = headers.get(sheet)
        if header is None:
            return None
        return next((header.labels.get(name, name) for name, position
                     in header.positions.items() if position == column - 1),
                    header.extras.get(column - 1))

    problems = [Problem(
        stray.sheet, int(re.sub(r"[A-Z]", "", stray.address)), None,
        f"a value at {stray.address}, far outside the table, is ignored; clear the cell (it "
        "makes the sheet look millions of cells large to every program that reads it)",
        severity="warning") for stray in findings.strays[:MAX_FINDINGS]]
    for cell in findings.errors[:MAX_FINDINGS]:
        if cell.formula:
            what = (f"the formula in {cell.address} gives {cell.error}, which reads as blank; "
                    "fix the formula, or replace it with the value it should give")
        else:
            what = (f"{cell.address} holds the error value {cell.error} (typed or pasted, not "
                    "a formula), which reads as blank; type the real value or clear the cell")
        problems.append(Problem(cell.sheet, cell.row, label(cell.sheet, cell.column), what,
                                severity="warning"))
    listed = 0
    for merge in findings.merges:
        header = headers.get(merge.sheet)
        header_row = header.header_row if header is not None else 1
        if merge.last_row < header_row or listed >= MAX_FINDINGS:
            continue  # a title above the table hides nothing patoolkit reads
        listed += 1
        first = f"{column_letter(merge.first_column - 1)}{merge.first_row}"
        if merge.first_row <= header_row:
            what = (f"the heading cells {merge.address} are merged, so only the heading in "
                    f"{first} is read and the columns under the rest of the merge have none "
                    "(their values are not read); unmerge them and give each column its own "
                    "heading")
        elif merge.last_row > merge.first_row:
            what = (f"the cells {merge.address} are merged: their value belongs to row "
                    f"{merge.first_row} only, and rows {merge.first_row + 1} to "
                    f"{merge.last_row} read as blank there; unmerge them and fill in each row")
        else:
            what = (f"the cells {merge.address} are merged: only {first} is read, the other "
                    "columns of the merge read as blank; unmerge them")
        problems.append(Problem(merge.sheet, max(merge.first_row, header_row), None, what,
                                severity="warning"))
    return problems


def tracker_from_rows(path: Path, fingerprint: str,
                      grids: Mapping[str, list[list[object]] | None]) -> Tracker:
    """A Tracker from each sheet's cell values (workbook order; None for a sheet not read).

    load_tracker's second half: the generated-workbook tests build trackers this way
    without writing a file for each one.
    """
    names = list(grids)
    sheet_names: dict[str, str] = {}
    extra_sheets: list[str] = []
    lists_sheet: str | None = None
    problems: list[Problem] = []
    for name in names:
        sheet = sheet_for(name)
        if sheet is not None and sheet.name not in sheet_names:
            sheet_names[sheet.name] = name
        elif normalize_header(name) == normalize_header(LISTS_SHEET):
            lists_sheet = name
        else:
            extra_sheets.append(name)
            copied = sheet or copy_of(name)
            if copied is not None:
                problems.append(Problem(name, None, None, (
                    f"a second {copied.name} sheet: only "
                    f"'{sheet_names.get(copied.name, copied.name)}' is read; move what this "
                    "sheet holds there and delete this sheet, or give it a name of its own"),
                    severity="warning"))
    for sheet in SHEETS:
        if sheet.name not in sheet_names and sheet.name != "History":
            found_names = ", ".join(f"'{name}'" for name in names)
            problems.append(Problem(sheet.name, None, None, (
                f"the workbook has no {sheet.name} sheet (sheets found: {found_names}); "
                f"{SHEET_USES.get(sheet.name, 'its rules are not used')}. Rename the sheet "
                f"that holds them to '{sheet.name}', or copy it from `patoolkit new-tracker`"),
                severity="warning"))
    if REQUESTS.name not in sheet_names:
        found_names = ", ".join(f"'{name}'" for name in names) or "none"
        raise UnusableTrackerError(
            f"{path}: has no Requests sheet (sheets found: {found_names}); rename the sheet that "
            "lists the PA requests to 'Requests', or start from `patoolkit new-tracker`.")

    lists = read_lists(grids[lists_sheet] or [] if lists_sheet else [])
    frames: dict[str, pd.DataFrame] = {}
    headers: dict[str, HeaderMap] = {}
    settings: dict[str, object] = {}
    for sheet in SHEETS:
        rows = (grids[sheet_names[sheet.name]] or []) if sheet.name in sheet_names else []
        header = find_header(sheet, rows)
        headers[sheet.name] = header
        labels = {column.name: column.title for column in sheet.columns}  # for absent columns
        labels.update(header.labels)
        found = Collector(sheet_names.get(sheet.name, sheet.name), labels)
        if sheet.name in sheet_names:
            for column in sheet.columns:
                if column.required and column.name not in header.positions:
                    problems.append(Problem(
                        found.sheet, header.header_row, None,
                        f"the required column '{column.title}' is missing; add it to the header "
                        f"row (row {header.header_row})"))
        _check_header(rows, header, found)
        raw = raw_frame(rows, header)
        frame = convert_sheet(sheet, raw, lists, found)
        extras = [name for name in raw.columns if name not in header.positions]
        for name in extras:
            frame[name if name not in frame.columns else f"{name} (extra)"] = raw[name]
        if sheet is REQUESTS:
            check_requests(frame, found)
        if sheet.name == "Settings":
            settings = _read_settings(frame, found)
            _check_folders(settings, frame, path, found)
        frames[sheet.name] = frame
        problems.extend(sorted(found.problems, key=lambda p: p.row or 0))
    problems.sort(key=lambda p: p.severity != "error")  # stable: sheet order, then row
    return Tracker(
        path=path,
        fingerprint=fingerprint,
        frames=frames,
        settings=settings,
        lists=lists,
        headers=headers,
        sheet_names=sheet_names,
        extra_sheets=extra_sheets,
        problems=problems,
    )


def typed_frame(sheet: str, records: list[dict[str, object]],
                lists: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """A sheet's typed frame built from plain values, as load_tracker would type them.

    For tests, the intake form and a future database store: the domain works on
    frames, not files. Values that do not convert raise ValueError naming them.
    """
    from patoolkit.schema import CLAIMS

    spec = next(candidate for candidate in (*SHEETS, CLAIMS) if candidate.name == sheet)
    raw = pd.DataFrame.from_records(records, columns=[c.name for c in spec.columns]) \
        if records else pd.DataFrame(columns=[c.name for c in spec.columns])
    raw = raw.astype(object).where(raw.notna(), None)
    raw.index = pd.RangeIndex(2, 2 + len(raw))
    found = Collector(sheet, {})
    frame = convert_sheet(spec, raw, lists or {k: tuple(v) for k, v in LISTS.items()}, found)
    errors = [problem for problem in found.problems if problem.severity == "error"]
    if errors:
        raise ValueError("; ".join(str(problem) for problem in errors))
    return frame


def convert_sheet_records(sheet: str, records: list[dict[str, object]],
                          lists: dict[str, tuple[str, ...]]) -> list[Problem]:
    """Every problem typed_frame would find in these records, warnings included (tests)."""
    from patoolkit.schema import CLAIMS

    spec = next(candidate for candidate in (*SHEETS, CLAIMS) if candidate.name == sheet)
    raw = pd.DataFrame.from_records(records, columns=[c.name for c in spec.columns])
    raw = raw.astype(object).where(raw.notna(), None)
    raw.index = pd.RangeIndex(2, 2 + len(raw))
    found = Collector(sheet, {})
    frame = convert_sheet(spec, raw, lists, found)
    if spec is REQUESTS:
        check_requests(frame, found)
    return found.problems

