"""Generated trackers: the sample, with random cells blanked, garbled and retyped.

A tracker is built in memory from the sample's cell grids (tracker_from_rows, the
second half of load_tracker), so hundreds of workbooks cost no file writes. The
commands and dashboards are then run in-process exactly as a person runs them
(cli.main with arguments, the *_app builders), with load_tracker answering the
generated tracker for its path.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pandas as pd
from hypothesis import strategies as st

import patoolkit.tracker.read as tracker_module
from patoolkit import cli
from patoolkit.sample import DEFAULT_AS_OF, write_claims, write_sample
from patoolkit.schema import LISTS_SHEET, sheet_for
from patoolkit.tracker.read import (
    Tracker,
    load_tracker,
    open_workbook,
    read_workbook_bytes,
    sheet_rows,
    tracker_from_rows,
)

BASE_ROWS = 16
AS_OF = f"{DEFAULT_AS_OF:%Y-%m-%d} 09:00"
# How many examples a run tries: `make test` uses the default, a nightly run sets
# PATOOLKIT_EXAMPLES_SCALE=20 (see README, "Tests").
SCALE = float(os.environ.get("PATOOLKIT_EXAMPLES_SCALE", "1"))


def examples(count: int) -> int:
    return max(1, int(count * SCALE))


class Base:
    """The files and cell grids examples start from (a plain class: hypothesis prints it)."""

    def __init__(self, folder: Path, tracker_path: Path, claims_path: Path, import_path: Path,
                 grids: dict[str, list[list[object]] | None]):
        self.folder = folder
        self.tracker_path = tracker_path
        self.claims_path = claims_path
        self.import_path = import_path
        self.grids = grids
        from patoolkit.claims import read_claims

        claims = read_claims(claims_path).claims
        self.claim_ids = set(claims["claim_id"].dropna().astype(str))

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"Base({self.tracker_path})"


@functools.cache
def base(folder: str) -> Base:
    """The small synthetic tracker every example starts from (written once per session)."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    tracker_path = root / "generated.xlsx"
    claims_path = root / "claims.xlsx"
    if not tracker_path.exists():
        write_sample(tracker_path, rows=BASE_ROWS, seed=11)
        write_claims(claims_path, load_tracker(tracker_path).frames, seed=11)
    path, data = read_workbook_bytes(tracker_path)
    book = open_workbook(path, data)
    grids: dict[str, list[list[object]] | None] = {
        name: sheet_rows(book, name, path) for name in book.sheet_names}
    import_path = root / "import.csv"
    import_path.write_text(
        "Pt Name,MRN,Insurance,CPT,DOS,Auth #,Status\n"
        "\"Sample, Jordan\",P000001,Summit Health Plan,70551,11/20/2026,,Submitted\n"
        "\"Example, Casey\",P000777,Unknown Payer Co,97110-97112,12/02/2026,A99,Approved\n",
        encoding="utf-8")
    return Base(root, tracker_path, claims_path, import_path, grids)


# --- hostile values ---------------------------------------------------------------------------

GARBLE = ["", "   ", "n/a", "TBD", "?", "-", "0", "-5", "1e308", "=SUM(A1:A3)", "#N/A", "#REF!",
          "#VALUE!", "<script>alert(1)</script>", "Robert'); DROP TABLE--", "{{ 7*7 }}",
          "Physical, occupational, speech therapy", "medicare  advantage", "EXPEDITED",
          "yes please", "2026-02-30", "31/12/2026", "13/45/2026", "1/2/3", "9999-99-99",
          "2026-03-14T25:00", "2300-01-01", "12/31/9999", "1/1/1850", "97110-97100",
          "70553-70551", "ZZZZZ", "A1", "J0135,,", "1234567890",
          "Approved?", "Denied ", "denied", "Level 3", "Monday", "\t=cmd", "+1", "@SUM(1)",
          "Ünïcödé Ñame", "名前", "x" * 300]


def cell_values(pool: list[object]) -> st.SearchStrategy[object]:
    """Anything a person, a formula or another program can leave in a cell."""
    return st.one_of(
        st.none(),
        st.sampled_from(GARBLE),
        st.text(max_size=12),
        st.integers(min_value=-10**12, max_value=10**12),
        st.floats(min_value=-1e15, max_value=1e15, allow_nan=False),
        st.booleans(),
        st.datetimes(min_value=dt.datetime(1899, 12, 31), max_value=dt.datetime(2300, 1, 1)),
        st.dates(min_value=dt.date(1899, 12, 31), max_value=dt.date(2300, 1, 1)),
        st.sampled_from([dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1), dt.time(14, 30),
                         dt.timedelta(hours=36), dt.date(1900, 1, 1), dt.date(2200, 12, 31)]),
        st.sampled_from(pool) if pool else st.none(),  # a value from elsewhere: retyped
    )


@dataclass(frozen=True)
class Edit:
    sheet: str
    row: int  # position in the grid (0 is the header row)
    column: int  # may be one past the last column: a new extra column
    value: object
    kind: str = "cell"  # cell, duplicate_row, drop_row

    def __repr__(self) -> str:
        return f"Edit({self.kind} {self.sheet}!r{self.row}c{self.column}={self.value!r})"


def edits(grids: dict[str, list[list[object]] | None]) -> st.SearchStrategy[list[Edit]]:
    """Up to a dozen changes over every contract sheet (header cells rarely)."""
    sheets = [name for name, rows in grids.items() if rows and (
        sheet_for(name) is not None or name == LISTS_SHEET)]
    pool = sorted({value for rows in grids.values() if rows for row in rows for value in row
                   if value not in (None, "")}, key=repr)

    @st.composite
    def one(draw: st.DrawFn) -> Edit:
        sheet = draw(st.sampled_from(sheets))
        rows = grids[sheet] or [[]]
        width = max(len(row) for row in rows)
        kind = draw(st.sampled_from(["cell"] * 12 + ["duplicate_row", "drop_row", "header"]))
        if kind == "header":
            return Edit(sheet, 0, draw(st.integers(0, width - 1)),
                        draw(st.sampled_from([None, "", "Notes", "Status", "x"])), "cell")
        row = draw(st.integers(1, max(1, len(rows) - 1)))
        if kind != "cell":
            return Edit(sheet, row, 0, None, kind)
        return Edit(sheet, row, draw(st.integers(0, width)), draw(cell_values(pool)), kind)

    return st.lists(one(), min_size=1, max_size=12)


def apply(grids: dict[str, list[list[object]] | None],
          changes: list[Edit]) -> dict[str, list[list[object]] | None]:
    out = copy.deepcopy(grids)
    for change in changes:
        rows = out[change.sheet]
        if rows is None or not rows:
            continue
        if change.row >= len(rows):
            continue
        if change.kind == "duplicate_row":
            rows.insert(change.row + 1, list(rows[change.row]))
        elif change.kind == "drop_row" and change.row > 0:
            rows.pop(change.row)
        else:
            row = rows[change.row]
            while len(row) <= change.column:
                row.append("")
            row[change.column] = change.value
    return out


def build(base_: Base, changes: list[Edit]) -> Tracker:
    grids = apply(base_.grids, changes)
    # calamine pads rows to the used width and gives "" for blanks: do the same
    width = {name: max((len(row) for row in rows), default=0) for name, rows in grids.items()
             if rows is not None}
    for name, rows in grids.items():
        if rows is not None:
            for row in rows:
                row.extend([""] * (width[name] - len(row)))
                row[:] = ["" if value is None else value for value in row]
    return tracker_from_rows(base_.tracker_path, f"generated-{id(grids)}", grids)


# --- running everything -----------------------------------------------------------------------

@contextlib.contextmanager
def serving(tracker: Tracker) -> Iterator[None]:
    """load_tracker answers this tracker for its path (everywhere it was imported)."""
    real = tracker_module.load_tracker

    def fake(path: Any) -> Tracker:
        if Path(path) == tracker.path:
            return tracker
        return real(path)

    targets = ["patoolkit.tracker.read.load_tracker", "patoolkit.ui.common.load_tracker",
               "patoolkit.ui.setup.load_tracker", "patoolkit.ui.import_wizard.load_tracker"]
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(mock.patch(target, fake))
        yield


@dataclass
class Ran:
    argv: list[str]
    code: int
    out: str
    err: str


def run_cli(*argv: str) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return Ran(list(argv), code, out.getvalue(), err.getvalue())


def completed(ran: Ran) -> None:
    """A command completed: exit 0 or 1, and no 'unexpected' failure or traceback."""
    assert ran.code in (0, 1), f"{ran.argv}: exit {ran.code}: {ran.err[-800:]}"
    assert "unexpected" not in ran.err, (ran.argv, ran.err)
    assert "Traceback" not in ran.err, (ran.argv, ran.err)


def widget_text(widget: Any) -> str:
    """Every HTML, label and value text in a widget tree (what a person can read)."""
    parts: list[str] = []
    seen: set[int] = set()

    def walk(node: Any) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        for attribute in ("value", "description", "placeholder"):
            value = getattr(node, attribute, None)
            if isinstance(value, str):
                parts.append(value)
        for child in getattr(node, "children", ()) or ():
            walk(child)

    walk(widget)
    return "\n".join(parts)


def request_ids(tracker: Tracker) -> list[str]:
    return tracker.requests["request_id"].astype("string").fillna("").tolist()


def as_frame(records: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records)


def write_xlsx(base_: Base, changes: list[Edit]) -> Path:
    """The edited grids as a real workbook (openpyxl: '#N/A' is an error cell, '=' a formula
    with no cached value), in a new file."""
    import itertools

    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: object) -> object:  # what a file can hold (no control characters)
        if isinstance(value, str):
            return ILLEGAL_CHARACTERS_RE.sub("", value) or None
        return value

    grids = apply(base_.grids, changes)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in grids.items():
        sheet = book.create_sheet(name[:31])
        for row in rows or []:
            sheet.append([cell(value) for value in row])
    for number in itertools.count():
        path = base_.folder / f"file-{os.getpid()}-{number}.xlsx"
        if not path.exists():
            book.save(path)
            return path
    raise AssertionError("unreachable")
