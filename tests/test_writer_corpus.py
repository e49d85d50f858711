"""The writer keeps everything in the analyst's workbook and touches only what changes (issue 14).

Over a corpus of trackers each carrying one thing analysts add (tests/writer_corpus.py),
a sequence of writes must leave every zip member it has no business with byte for
byte, keep the feature, and write values that openpyxl, python-calamine,
patoolkit.load_tracker and LibreOffice all read the same. A hypothesis test runs
random updates and adds against a plain model of the Requests sheet, and two
processes save at the same moment without losing each other's change.

Written for the XML-level writer of issue 14: against today's openpyxl writer many
of these fail (parts rewritten or dropped, workbooks with charts refused, a stale
fingerprint refusing a change to another request).
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import writer_corpus
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook
from writer_corpus import (
    CORPUS_NAMES,
    LIBREOFFICE_NAMES,
    SOFFICE,
    CorpusWorkbook,
    related,
    relationships,
    resolve,
    sheet_parts,
    workbook_part,
)

from patoolkit import InvalidValueError, TrackerConflictError, load_tracker
from patoolkit.schema import REQUESTS
from patoolkit.tracker.edit import add_request, add_requests, record_history, update_request

needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not "
                                   "installed; .ci/run installs libreoffice-calc-nogui")
TITLES = [column.title for column in REQUESTS.columns]
KIND_OF_TITLE = {column.title: column.kind for column in REQUESTS.columns}

# -- what a write may rewrite ----------------------------------------------------------------

# Issue 14: a save rewrites only what changes; every other zip member comes out byte for
# byte. A write (update, add, add many, History rows) may rewrite:
# - the worksheet parts of the sheets it edits (changed cells and added rows) ...
SHEETS_A_WRITE_EDITS = ("Requests", "History")
# - ... and the Table parts related from those sheets (their ref grows with added rows);
TABLE_RELATIONSHIP = "/table"
# - the shared strings part, when the writer stores text there, and the document
#   properties (modified time, application): found through the package relationships;
PACKAGE_RELATIONSHIPS_A_WRITE_MAY_REWRITE = ("/sharedStrings", "/extended-properties",
                                             "/core-properties")
# - the workbook part, but only its <calcPr> (fullCalcOnLoad when formulas may depend on
#   changed cells): compared with calcPr taken out.
CALC_PR = re.compile(r"<calcPr\b[^>]*?(/>|>.*?</calcPr>)", re.S)


def parts_a_write_may_rewrite(archive: zipfile.ZipFile) -> set[str]:
    """The zip members a write may change, derived from the sheet names and relationships."""
    sheets = sheet_parts(archive)
    parts = {sheets[name] for name in SHEETS_A_WRITE_EDITS}
    for name in SHEETS_A_WRITE_EDITS:
        parts.update(related(archive, sheets[name], TABLE_RELATIONSHIP))
    book = workbook_part(archive)
    for source in ("", book):  # package relationships, then the workbook's
        parts.update(target for kind, target in relationships(archive, source).values()
                     if kind.endswith(PACKAGE_RELATIONSHIPS_A_WRITE_MAY_REWRITE))
    return parts


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def assert_only_touched_parts_changed(before_path: Path, before: Mapping[str, bytes],
                                      after: Mapping[str, bytes]) -> None:
    with zipfile.ZipFile(before_path) as archive:
        allowed = parts_a_write_may_rewrite(archive)
        book = workbook_part(archive)
    assert sorted(after) == sorted(before), (
        f"zip members dropped: {sorted(set(before) - set(after))}, "
        f"added: {sorted(set(after) - set(before))}")
    changed = sorted(name for name in before if name not in allowed and name != book
                     and before[name] != after[name])
    assert changed == [], f"parts a write has no business with were rewritten: {changed}"
    assert CALC_PR.sub("", after[book].decode()) == CALC_PR.sub("", before[book].decode()), \
        f"{book} changed outside <calcPr>"


def assert_feature_kept(workbook: CorpusWorkbook, path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        for kept in workbook.kept:
            part = resolve(archive, kept.where)
            assert part in names, f"{workbook.name}: {part} is gone"
            if kept.text is not None:
                assert kept.text in archive.read(part).decode("utf-8"), \
                    f"{workbook.name}: {part} no longer holds {kept.text[:120]!r}"


# -- reading the Requests sheet three ways ---------------------------------------------------

Rows = list[tuple[str, dict[str, object]]]  # (request ID, {contract title: value}) in order


def normalised(value: object) -> object:
    """One spelling per value whoever read it: text stripped, blanks None, dates ISO."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        value = (value + dt.timedelta(seconds=30)).replace(second=0, microsecond=0)
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = float(value)
        return int(number) if number.is_integer() else number
    if hasattr(value, "item"):  # numpy scalars
        return normalised(value.item())
    if isinstance(value, str):
        return value.strip() or None
    return value


def rows_from_grid(grid: list[list[object]], skip_label: str | None) -> Rows:
    header = [str(value).strip() if value is not None else "" for value in grid[0]]
    positions = {title: header.index(title) for title in TITLES if title in header}
    rows: Rows = []
    for row in grid[1:]:
        values = {title: normalised(row[position]) if position < len(row) else None
                  for title, position in positions.items()}
        request_id = values.get("Request ID")
        if request_id is None or request_id == skip_label:
            continue
        rows.append((str(request_id), values))
    return rows


def read_with_openpyxl(path: Path, skip_label: str | None = None) -> Rows:
    with warnings.catch_warnings():
        # openpyxl says it drops x14 extensions on load; reading is all it does here
        warnings.filterwarnings("ignore", message=".*extension is not supported",
                                category=UserWarning)
        book = openpyxl.load_workbook(path, data_only=True, read_only=True)
        try:
            grid = [list(row) for row in book["Requests"].iter_rows(values_only=True)]
        finally:
            book.close()
    return rows_from_grid(grid, skip_label)


def read_with_calamine(path: Path, skip_label: str | None = None) -> Rows:
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Requests").to_python()
    return rows_from_grid([list(row) for row in grid], skip_label)


def read_with_patoolkit(path: Path, skip_label: str | None = None) -> Rows:
    frame = load_tracker(path).requests
    rows: Rows = []
    for record in frame.to_dict("records"):
        values = {REQUESTS.column(name).title: normalised(value)
                  for name, value in record.items() if name in REQUESTS.column_names}
        request_id = values.get("Request ID")
        if request_id is None or request_id == skip_label:
            continue
        rows.append((str(request_id), values))
    return rows


def assert_readers_agree(path: Path, expected: Rows, skip_label: str | None = None,
                         readers: tuple[str, ...] = ("openpyxl", "calamine", "patoolkit")) -> None:
    read = {"openpyxl": read_with_openpyxl, "calamine": read_with_calamine,
            "patoolkit": read_with_patoolkit}
    for reader in readers:
        got = read[reader](path, skip_label)
        assert [request_id for request_id, _ in got] == [rid for rid, _ in expected], reader
        for (request_id, values), (_, wanted) in zip(got, expected, strict=True):
            differing = {title: (values.get(title), wanted.get(title)) for title in TITLES
                         if values.get(title) != wanted.get(title)}
            assert differing == {}, f"{reader} reads {request_id} as (got, wanted): {differing}"


def with_values(rows: Rows, request_id: str, changes: Mapping[str, object]) -> Rows:
    titled = {REQUESTS.column(name).title: normalised(value) for name, value in changes.items()}
    return [(rid, {**values, **titled} if rid == request_id else values) for rid, values in rows]


def new_row(request_id: str, values: Mapping[str, object]) -> tuple[str, dict[str, object]]:
    row: dict[str, object] = dict.fromkeys(TITLES)
    row.update({REQUESTS.column(name).title: normalised(value) for name, value in values.items()})
    row["Request ID"] = request_id
    return request_id, row


# -- the corpus, built once a module ----------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CorpusWorkbook]:
    return writer_corpus.build_corpus(tmp_path_factory.mktemp("writer-corpus"))


@pytest.fixture(scope="module")
def libreoffice_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CorpusWorkbook]:
    return writer_corpus.build_libreoffice_corpus(tmp_path_factory.mktemp("lo-corpus"))


def copy_of(workbook: CorpusWorkbook, folder: Path) -> Path:
    path = folder / workbook.path.name
    shutil.copy2(workbook.path, path)
    return path


# -- a sequence of writes, and what must hold after it ---------------------------------------

FIRST_UPDATE = {"notes": "Smith & Sons <urgent> call back 🩺",
                "owner": '=HYPERLINK("http://example.org","click")',
                "scheduled_service_date": dt.date(2026, 12, 1), "units_authorized": 7}
SECOND_UPDATE = {"denial_reason": "Needs <b>more</b> notes & a letter ✅",
                 "payer_reference": "+1 555 0100",
                 "submitted_at": dt.datetime(2026, 11, 3, 10, 15), "units_used": 2}
NEW_REQUEST = {"patient_id": "P900001", "patient_name": "Newrow, Pat",
               "payer": "Summit Health Plan", "plan_type": "Commercial",
               "submitted_at": dt.datetime(2026, 11, 4, 9, 30),
               "scheduled_service_date": dt.date(2026, 12, 7), "units_authorized": 5,
               "notes": "-starts with a minus & has <tags>"}
NEW_BATCH = [{"patient_id": f"P90001{number}", "plan_type": "Medicare Advantage",
              "notes": f"batch {number} & <more> 📎",
              "auth_effective_date": dt.date(2027, 1, number), "extension_days": number}
             for number in (1, 2, 3)]
LETTER = ("letter:approval", None, "approval-letter.docx")


@dataclass
class Written:
    expected: Rows
    new_ids: list[str]
    updated: tuple[str, str]


def run_the_writes(path: Path, skip_label: str | None) -> Written:
    """Two updates, one add, a batch of three, a History row; the Requests sheet expected."""
    expected = read_with_openpyxl(path, skip_label)
    first, second = expected[0][0], expected[1][0]
    update_request(path, first, FIRST_UPDATE, by="dana")
    expected = with_values(expected, first, FIRST_UPDATE)
    update_request(path, second, SECOND_UPDATE, by="luis")
    expected = with_values(expected, second, SECOND_UPDATE)
    added = add_request(path, NEW_REQUEST, by="intake")
    expected.append(new_row(added.request_id, NEW_REQUEST))
    batch = add_requests(path, NEW_BATCH, by="import")
    expected.extend(new_row(result.request_id, values)
                    for result, values in zip(batch, NEW_BATCH, strict=True))
    record_history(path, [(first, *LETTER)], by="letters")
    return Written(expected, [added.request_id, *(result.request_id for result in batch)],
                   (first, second))


def looks(cell: Any) -> tuple[object, ...]:
    """What a reader of the sheet sees of a cell's dress, its number format aside."""
    color = cell.font.color
    return (cell.font.name, cell.font.sz, cell.font.b, cell.font.i,
            color.rgb if color is not None and color.type == "rgb" else None,
            cell.fill.fill_type, cell.fill.fgColor.rgb if cell.fill.fill_type else None,
            cell.border.left.style, cell.border.right.style, cell.border.top.style,
            cell.border.bottom.style, cell.alignment.horizontal, cell.alignment.wrap_text)


def assert_new_rows_dressed_like_the_row_above(path: Path, new_ids: list[str]) -> None:
    """A new row takes the styles of the row above it; a date gets a date format."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*extension is not supported",
                                category=UserWarning)
        ws = openpyxl.load_workbook(path)["Requests"]
    header = {str(cell.value).strip(): cell.column for cell in ws[1] if cell.value is not None}
    id_column = header["Request ID"]
    row_of = {str(ws.cell(row=row, column=id_column).value): row
              for row in range(2, ws.max_row + 1)}
    for request_id in new_ids:
        row = row_of[request_id]
        for title, column in header.items():
            if title not in KIND_OF_TITLE:
                continue
            above, cell = ws.cell(row=row - 1, column=column), ws.cell(row=row, column=column)
            if isinstance(cell.value, dt.date) and above.has_style:
                # a date under a date-and-time (or the reverse) keeps its own date format
                assert cell.is_date, f"{request_id} {title}: {cell.number_format!r}"
                assert looks(cell) == looks(above), \
                    f"{request_id} {title} (row {row}) is not dressed like row {row - 1}"
            elif above.has_style:
                assert (cell.style_id, cell.number_format) == (above.style_id,
                                                               above.number_format), \
                    f"{request_id} {title} (row {row}) is not dressed like row {row - 1}"


def assert_table_covers_the_requests(path: Path, workbook: CorpusWorkbook,
                                     expected: Rows) -> None:
    from openpyxl.utils.cell import range_boundaries

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*extension is not supported",
                                category=UserWarning)
        ws = openpyxl.load_workbook(path)["Requests"]
    if not ws.tables:
        return
    (table,) = ws.tables.values()
    _, first_row, _, last_row = range_boundaries(table.ref)
    ids = [str(ws.cell(row=row, column=1).value) for row in range(first_row + 1, last_row + 1)]
    if workbook.totals_label:
        assert table.totalsRowCount == 1
        assert ids[-1] == workbook.totals_label, f"the totals row is not last: {table.ref}"
        ids = ids[:-1]
    assert ids == [request_id for request_id, _ in expected], \
        f"{table.name} ({table.ref}) does not hold exactly the requests"


def assert_history_recorded(path: Path, written: Written) -> None:
    history = load_tracker(path).frames["History"]
    recorded = set(zip(history["request_id"], history["field"], strict=True))
    first, second = written.updated
    assert {(first, name) for name in FIRST_UPDATE} <= recorded
    assert {(second, name) for name in SECOND_UPDATE} <= recorded
    assert (first, LETTER[0]) in recorded
    assert set(written.new_ids) <= set(history["request_id"])


def check_a_sequence_of_writes(workbook: CorpusWorkbook, folder: Path) -> Path:
    path = copy_of(workbook, folder)
    before = members(path)
    written = run_the_writes(path, workbook.totals_label)
    assert_only_touched_parts_changed(workbook.path, before, members(path))
    assert_feature_kept(workbook, path)
    assert_readers_agree(path, written.expected, workbook.totals_label)
    assert_new_rows_dressed_like_the_row_above(path, written.new_ids)
    assert_table_covers_the_requests(path, workbook, written.expected)
    assert_history_recorded(path, written)
    return path


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_a_sequence_of_writes_keeps_the_workbook(corpus: dict[str, CorpusWorkbook], name: str,
                                                 tmp_path: Path) -> None:
    check_a_sequence_of_writes(corpus[name], tmp_path)


@pytest.mark.libreoffice
@needs_soffice
@pytest.mark.parametrize("name", LIBREOFFICE_NAMES)
def test_a_sequence_of_writes_keeps_a_libreoffice_workbook(
        libreoffice_corpus: dict[str, CorpusWorkbook], name: str, tmp_path: Path) -> None:
    check_a_sequence_of_writes(libreoffice_corpus[name], tmp_path)


# -- LibreOffice reads what was written --------------------------------------------------------

def requests_as_csv(path: Path, out: Path) -> list[list[str]]:
    """The Requests sheet as LibreOffice shows it (it converts the sheet numbered in the filter;
    Requests is not the first sheet of a patoolkit tracker, Instructions is)."""
    with zipfile.ZipFile(path) as archive:
        number = list(sheet_parts(archive)).index("Requests") + 1
    # comma, double quote, UTF-8, from row 1, standard cell format, values not as shown, sheet
    csv_filter = ("csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,"
                  f"{number}")
    made = writer_corpus.soffice_convert(path, csv_filter, out, out / "profile")
    import csv

    with made.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def from_csv(title: str, text: str) -> object:
    if not text.strip():
        return None
    kind = KIND_OF_TITLE.get(title)
    if kind in ("date", "datetime"):
        return normalised(pd.Timestamp(text))
    if kind == "int":
        return normalised(float(text))
    return normalised(text)


@pytest.mark.libreoffice
@needs_soffice
@pytest.mark.parametrize("name", ["x14_dropdown", "xlsm_vba"])
def test_libreoffice_reads_what_was_written(corpus: dict[str, CorpusWorkbook], name: str,
                                            tmp_path: Path) -> None:
    workbook = corpus[name]
    path = copy_of(workbook, tmp_path)
    written = run_the_writes(path, workbook.totals_label)
    grid = requests_as_csv(path, tmp_path / "csv")
    header = grid[0]
    rows: Rows = []
    for row in grid[1:]:
        values = {title: from_csv(title, row[header.index(title)]) for title in TITLES
                  if title in header and header.index(title) < len(row)}
        if values.get("Request ID") is not None:
            rows.append((str(values["Request ID"]), values))
    assert [rid for rid, _ in rows] == [rid for rid, _ in written.expected]
    for (request_id, values), (_, wanted) in zip(rows, written.expected, strict=True):
        differing = {title: (values.get(title), wanted.get(title)) for title in TITLES
                     if values.get(title) != wanted.get(title)}
        assert differing == {}, f"LibreOffice reads {request_id} as (got, wanted): {differing}"


# -- random updates and adds against a plain model --------------------------------------------

TEXT_FIELDS = ("owner", "notes", "denial_reason", "payer_reference", "auth_number")
DATE_FIELDS = ("scheduled_service_date", "auth_effective_date", "p2p_date")
DATETIME_FIELDS = ("submitted_at", "decision_date")
NUMBER_FIELDS = ("units_authorized", "units_used", "extension_days")
# Characters XML 1.0 (so Excel) cannot store; the writer refuses them (InvalidValueError,
# nothing written) or drops them, never writes a workbook Excel will not open.
EXCEL_CANNOT_STORE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
LONG_TEXT = "A long note & <more> with 🩺 and \"quotes\" > all. "


def long_text(size: int) -> str:
    return (LONG_TEXT * (size // len(LONG_TEXT) + 1))[:size]


texts = st.one_of(
    st.sampled_from(["Smith & Sons", "<b>bold</b>", 'say "hi"', "a > b", "🩺 👩‍⚕️ emoji",
                     "=SUM(A1:A3)", '=HYPERLINK("http://x","y")', "+1 555 0100", "-5",
                     "@mention", "  padded  ", "line one\nline two"]),
    st.text(alphabet=st.characters(codec="utf-8",
                                   exclude_categories=("Cs", "Cc", "Cn", "Co"))
            | st.sampled_from("&<>\"'=+-@\n"), max_size=40),
    st.integers(min_value=1000, max_value=5000).map(long_text),
    st.sampled_from(["a\x01b", "bell\x07 here", "\x1f"]),
)
blanks = st.sampled_from([None, "", "   "])
field_values = st.one_of(
    st.tuples(st.sampled_from(TEXT_FIELDS), texts | blanks),
    st.tuples(st.sampled_from(DATE_FIELDS),
              st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)) | blanks),
    st.tuples(st.sampled_from(DATETIME_FIELDS),
              st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1))
              .map(lambda moment: moment.replace(second=0, microsecond=0)) | blanks),
    st.tuples(st.sampled_from(NUMBER_FIELDS[:2]), st.integers(0, 10_000) | blanks),
    st.tuples(st.just("extension_days"), st.integers(0, 365) | blanks),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("update"), st.integers(min_value=0, max_value=1_000), field_values),
        st.tuples(st.just("add"), st.just(0), st.lists(field_values, max_size=3)),
    ), min_size=1, max_size=6)


def as_stored(value: object) -> object:
    """What a reader should find after value is written (control characters dropped)."""
    if isinstance(value, str):
        return normalised(EXCEL_CANNOT_STORE.sub("", value))
    return normalised(value)


@pytest.fixture(scope="module")
def small_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return writer_corpus.base_tracker(tmp_path_factory.mktemp("model") / "tracker.xlsx")


@settings(max_examples=40, deadline=None)
@given(steps=operations)
def test_random_updates_and_adds_match_a_plain_model(small_template: Path,
                                                     steps: list[tuple[str, int, Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.xlsx"
        shutil.copy2(small_template, path)
        model = read_with_openpyxl(path)
        for kind, which, payload in steps:
            changes = dict([payload] if kind == "update" else payload)
            unstorable = any(isinstance(value, str) and EXCEL_CANNOT_STORE.search(value)
                             for value in changes.values())
            before = path.read_bytes()
            try:
                if kind == "update":
                    request_id = model[which % len(model)][0]
                    update_request(path, request_id, changes, by="model")
                else:
                    changes.setdefault("plan_type", "Commercial")
                    request_id = add_request(path, changes, by="model").request_id
            except InvalidValueError:
                assert unstorable, f"{changes!r} was refused"
                assert path.read_bytes() == before, "a refused write changed the tracker"
                continue
            stored = {name: as_stored(value) for name, value in changes.items()}
            if kind == "update":
                model = with_values(model, request_id, stored)
            else:
                model.append(new_row(request_id, stored))
            assert_readers_agree(path, model, readers=("openpyxl", "calamine"))


# -- two people saving at the same moment ------------------------------------------------------

ROUNDS = 30
PEOPLE = ("dana", "luis")


@contextmanager
def two_people_saving(path: Path, request_ids: tuple[str, str], with_fingerprint: bool
                      ) -> Iterator[tuple[Any, Any]]:
    """Two processes (spawn) saving the owner field each round; yields (barrier, outcomes).

    The test waits on the barrier three times a round (start, both have read, both have
    saved) and then takes the two outcomes (round, who, 'saved'|'conflict'|'error', text).
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    outcomes = context.Queue()
    workers = [context.Process(target=writer_corpus.edit_in_rounds,
                               args=(str(path), request_id, "owner", who, ROUNDS,
                                     with_fingerprint, barrier, outcomes))
               for who, request_id in zip(PEOPLE, request_ids, strict=True)]
    for worker in workers:
        worker.start()
    try:
        yield barrier, outcomes
    finally:
        barrier.abort()
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.terminate()
                worker.join()


def one_round(barrier: Any, outcomes: Any) -> dict[str, tuple[str, str]]:
    for _ in range(3):
        barrier.wait(timeout=120)
    got = [outcomes.get(timeout=60) for _ in PEOPLE]
    return {who: (outcome, text) for _, who, outcome, text in got}


@pytest.mark.parametrize("with_fingerprint", [False, True],
                         ids=["no-fingerprint", "fingerprint-from-the-same-earlier-load"])
def test_two_people_saving_different_requests_lose_nothing(small_tracker: Path,
                                                           with_fingerprint: bool) -> None:
    """Issue 14: a stale fingerprint no longer refuses a change to a request whose fields
    did not change since; both changes go in, every round."""
    request_ids = ("PA-2026-00001", "PA-2026-00002")
    with two_people_saving(small_tracker, request_ids, with_fingerprint) as (barrier, outcomes):
        for number in range(ROUNDS):
            outcome = one_round(barrier, outcomes)
            assert {who: result for who, (result, _) in outcome.items()} == \
                {"dana": "saved", "luis": "saved"}, f"round {number}: {outcome}"
            owners = load_tracker(small_tracker).requests.set_index("request_id")["owner"]
            assert [owners[request_id] for request_id in request_ids] == \
                [outcome[who][1] for who in PEOPLE], f"round {number}: an update was lost"
    history = load_tracker(small_tracker).frames["History"]
    assert (history["field"] == "owner").sum() == 2 * ROUNDS


def test_the_same_field_from_the_same_load_one_wins_and_the_other_is_told(
        small_tracker: Path) -> None:
    """Both read, both change the same field of the same request: exactly one goes in; the
    other is refused with the field, its current value and who changed it (from History)."""
    request_id = "PA-2026-00001"
    with two_people_saving(small_tracker, (request_id, request_id), True) as (barrier, outcomes):
        for number in range(ROUNDS):
            outcome = one_round(barrier, outcomes)
            saved = [who for who, (result, _) in outcome.items() if result == "saved"]
            refused = [who for who, (result, _) in outcome.items() if result == "conflict"]
            assert len(saved) == 1, f"round {number}: {outcome}"
            assert len(refused) == 1, f"round {number}: {outcome}"
            winner, value = saved[0], outcome[saved[0]][1]
            message = outcome[refused[0]][1]
            assert "owner" in message.lower(), f"the field is not named: {message}"
            assert value in message, f"the current value is not named: {message}"
            assert winner in message, f"who changed it is not named: {message}"
            owner = load_tracker(small_tracker).requests.set_index("request_id")["owner"]
            assert owner[request_id] == value
    history = load_tracker(small_tracker).frames["History"]
    assert (history["field"] == "owner").sum() == ROUNDS


def test_a_stale_fingerprint_refuses_nothing_when_the_request_did_not_change(
        small_tracker: Path) -> None:
    """Dana saves PA-2026-00001; Luis's page, loaded before, saves PA-2026-00002."""
    seen = load_tracker(small_tracker).fingerprint
    update_request(small_tracker, "PA-2026-00001", {"owner": "Dana K."}, by="front-desk-2",
                   expected_fingerprint=seen)
    update_request(small_tracker, "PA-2026-00002", {"owner": "Luis M."}, by="billing-1",
                   expected_fingerprint=seen)
    update_request(small_tracker, "PA-2026-00001", {"notes": "other field"}, by="billing-1",
                   expected_fingerprint=seen)
    owners = load_tracker(small_tracker).requests.set_index("request_id")
    assert list(owners.loc[["PA-2026-00001", "PA-2026-00002"], "owner"]) == ["Dana K.",
                                                                            "Luis M."]
    assert owners.loc["PA-2026-00001", "notes"] == "other field"
    before = small_tracker.read_bytes()
    with pytest.raises(TrackerConflictError, match=r"(?i)owner") as refused:
        update_request(small_tracker, "PA-2026-00001", {"owner": "Luis M."}, by="billing-1",
                       expected_fingerprint=seen)
    assert "Dana K." in str(refused.value)  # its current value
    assert "front-desk-2" in str(refused.value)  # who changed it, from History
    assert small_tracker.read_bytes() == before
