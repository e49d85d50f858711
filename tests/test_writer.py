"""Writing back: only the cells asked for change, History records them, nothing is lost."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workbooks import make_formula_tracker

from patoolkit import (
    InvalidValueError,
    RequestNotFoundError,
    TrackerConflictError,
    TrackerLockedError,
    TrackerWriteError,
    add_request,
    add_requests,
    load_tracker,
    update_request,
)
from patoolkit.schema import LISTS, REQUESTS
from patoolkit.tracker.edit import next_request_id


def sheet_values(path: Path) -> dict[str, dict[tuple[int, int], object]]:
    """Every non-empty cell of every sheet, as (row, column) -> value."""
    book = openpyxl.load_workbook(path)
    return {
        ws.title: {(cell.row, cell.column): cell.value for row in ws.iter_rows() for cell in row
                   if cell.value is not None}
        for ws in book.worksheets
    }


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def column_position(path: Path, name: str) -> int:
    header = next(openpyxl.load_workbook(path)["Requests"].iter_rows(max_row=1, values_only=True))
    return [str(value) for value in header].index(REQUESTS.column(name).title) + 1


# -- one cell changes, nothing else ---------------------------------------------------------

TEXT_FIELDS = ["payer_reference", "auth_number", "owner", "notes", "denial_reason", "member_id"]
values_by_kind = {
    "text": st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                    min_size=1, max_size=30).filter(lambda s: s.strip() == s and s.strip()),
    "date": st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)),
    "int": st.integers(min_value=0, max_value=10_000),
    "status": st.sampled_from(LISTS["status"]),
}
field_and_value = st.one_of(
    st.tuples(st.sampled_from(TEXT_FIELDS), values_by_kind["text"]),
    st.tuples(st.sampled_from(["scheduled_service_date", "auth_effective_date", "p2p_date"]),
              values_by_kind["date"]),
    st.tuples(st.just("units_authorized"), values_by_kind["int"]),
    st.tuples(st.just("extension_days"), st.integers(min_value=0, max_value=365)),
    st.tuples(st.just("status"), values_by_kind["status"]),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(min_value=0, max_value=2), change=field_and_value)
def test_update_changes_that_cell_and_nothing_else(few_requests_template: Path, which: int,
                                                    change: tuple[str, object]) -> None:
    name, value = change
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.xlsx"
        shutil.copy2(few_requests_template, path)
        before = sheet_values(path)
        request_id = load_tracker(path).requests["request_id"].iloc[which]
        result = update_request(path, request_id, {name: value}, by="prop")
        after = sheet_values(path)

    row, column = which + 2, column_position(few_requests_template, name)
    changed = {key for key in before["Requests"].keys() | after["Requests"].keys()
               if before["Requests"].get(key) != after["Requests"].get(key)}
    if result.changes:
        assert changed == {(row, column)}
        stored = after["Requests"][(row, column)]
        if isinstance(value, dt.date):
            stored = stored.date()
        assert stored == value
        history = after["History"]
        old_rows = {r for r, _ in before["History"]}
        new_rows = sorted({r for r, _ in history} - old_rows)
        assert len(new_rows) == 1
        assert history[(new_rows[0], 2)] == request_id
        assert history[(new_rows[0], 3)] == name
        assert all(before["History"][key] == history[key] for key in before["History"])
    else:  # the value was already there
        assert changed == set()
    for title in before.keys() - {"Requests", "History"}:
        assert before[title] == after[title], title


# -- formula injection, typing, errors ------------------------------------------------------

@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"y\")", "+1 555 0100", "-2+3",
                                  "@SUM(A1)", "\tcmd", "\rcmd"])
def test_text_that_looks_like_a_formula_is_stored_as_text(small_tracker: Path, text: str) -> None:
    update_request(small_tracker, "PA-2026-00001", {"notes": text}, by="t")
    cell = openpyxl.load_workbook(small_tracker)["Requests"].cell(
        row=2, column=column_position(small_tracker, "notes"))
    assert cell.data_type == "s"
    assert cell.value == text.strip() if text[0] in "\t\r" else cell.value == text
    assert load_tracker(small_tracker).requests["notes"].iloc[0] == text.strip()


def test_dates_are_written_as_dates(small_tracker: Path) -> None:
    update_request(small_tracker, "PA-2026-00001",
                   {"decision_date": "11/9/2026", "submitted_at": "2026-11-02 10:15"}, by="t")
    ws = openpyxl.load_workbook(small_tracker)["Requests"]
    decision = ws.cell(row=2, column=column_position(small_tracker, "decision_date"))
    assert decision.is_date
    assert decision.value == dt.datetime(2026, 11, 9)
    requests = load_tracker(small_tracker).requests
    assert requests["submitted_at"].iloc[0] == dt.datetime(2026, 11, 2, 10, 15)


def test_invalid_value_is_refused_and_file_untouched(small_tracker: Path) -> None:
    before = sha(small_tracker)
    with pytest.raises(InvalidValueError, match="did you mean 'Approved'"):
        update_request(small_tracker, "PA-2026-00001", {"status": "Aproved"}, by="t")
    with pytest.raises(InvalidValueError, match="not a real calendar date"):
        update_request(small_tracker, "PA-2026-00001", {"decision_date": "2026-02-31"}, by="t")
    with pytest.raises(InvalidValueError, match="not a Requests column"):
        update_request(small_tracker, "PA-2026-00001", {"colour": "red"}, by="t")
    with pytest.raises(RequestNotFoundError, match="PA-1999-00001"):
        update_request(small_tracker, "PA-1999-00001", {"notes": "x"}, by="t")
    assert sha(small_tracker) == before
    assert not (small_tracker.parent / "backups").exists()


def test_request_id_is_matched_forgivingly(small_tracker: Path) -> None:
    result = update_request(small_tracker, " pa-2026-00003 ", {"owner": "Dana"}, by="t")
    assert result.changes == [("owner", None, "Dana")]
    assert load_tracker(small_tracker).requests["owner"].iloc[2] == "Dana"


def test_an_unchanged_value_writes_nothing(small_tracker: Path) -> None:
    before = sha(small_tracker)
    result = update_request(small_tracker, "PA-2026-00002", {"status": "approved"}, by="t")
    assert result.changes == []
    assert sha(small_tracker) == before


# -- add_request ----------------------------------------------------------------------------

def test_add_request_appends_a_row_with_a_new_id(small_tracker: Path) -> None:
    result = add_request(small_tracker, {"patient_id": "P9", "payer": "Summit Health Plan",
                                         "plan_type": "commercial"}, by="intake")
    tracker = load_tracker(small_tracker)
    assert result.request_id == tracker.requests["request_id"].iloc[-1]
    assert tracker.requests.index[-1] == 5  # Excel row 5: header plus three requests before it
    assert tracker.requests["plan_type"].iloc[-1] == "Commercial"
    assert tracker.ok
    table = openpyxl.load_workbook(small_tracker)["Requests"].tables["tblRequests"]
    assert table.ref.endswith("5")
    with pytest.raises(InvalidValueError, match="already used"):
        add_request(small_tracker, {"request_id": result.request_id, "plan_type": "Commercial"},
                    by="intake")


def test_a_batch_makes_ids_around_the_ones_it_brings(small_tracker: Path) -> None:
    before = set(load_tracker(small_tracker).requests["request_id"])
    coming = next_request_id(sorted(before))  # the number a blank row would get first
    rows = [{"patient_id": "P1"}, {"patient_id": "P2", "request_id": coming},
            {"patient_id": "P3"}]
    made = [result.request_id for result in add_requests(small_tracker, rows, by="import")]
    assert made[1] == coming
    assert len(set(made)) == 3
    assert not set(made) & before
    after = load_tracker(small_tracker).requests
    assert list(after["request_id"].iloc[-3:]) == made
    assert list(after["patient_id"].iloc[-3:]) == ["P1", "P2", "P3"]


def test_a_bad_value_in_a_batch_names_its_row_and_writes_nothing(small_tracker: Path) -> None:
    before = sha(small_tracker)
    rows = [{"patient_id": "P1", "submitted_at": "2026-11-02"},
            {"patient_id": "P2", "submitted_at": "2026-02-30"},
            {"patient_id": "P3"}]
    with pytest.raises(InvalidValueError, match=r"'2026-02-30' .* \(row 2 of 3\)"):
        add_requests(small_tracker, rows, by="import")
    assert sha(small_tracker) == before


def test_a_batch_takes_missing_values_of_any_flavour_as_blank(small_tracker: Path) -> None:
    import pandas as pd

    rows = [{"request_id": float("nan"), "patient_id": "P1", "submitted_at": pd.NaT},
            {"request_id": pd.NA, "patient_id": "P2", "submitted_at": float("nan"),
             "units_authorized": pd.NA}]
    made = [result.request_id for result in add_requests(small_tracker, rows, by="import")]
    assert all(re.fullmatch(r"PA-\d{4}-\d{5}", request_id) for request_id in made)
    after = load_tracker(small_tracker).requests.iloc[-2:]
    assert list(after["request_id"]) == made
    assert after["submitted_at"].isna().all()


def test_an_empty_batch_does_not_touch_the_tracker(small_tracker: Path) -> None:
    before = sha(small_tracker)
    assert add_requests(small_tracker, [], by="import") == []
    assert sha(small_tracker) == before
    assert not (small_tracker.parent / "backups").exists()


def test_a_batch_error_names_the_first_bad_row(small_tracker: Path) -> None:
    rows = [{"submitted_at": "2026-02-30"}, {"submitted_at": 5}]
    with pytest.raises(InvalidValueError, match=r"'2026-02-30' .* \(row 1 of 2\)"):
        add_requests(small_tracker, rows, by="import")


def test_next_request_id_follows_the_highest_number_of_the_year() -> None:
    today = dt.date(2026, 5, 1)
    assert next_request_id([], today) == "PA-2026-00001"
    assert next_request_id(["PA-2026-00009", "PA-2025-00500", None, "X"], today) == "PA-2026-00010"


# -- the analyst's own work survives -------------------------------------------------------

def test_extra_columns_sheets_formatting_and_formulas_survive(small_tracker: Path) -> None:
    book = openpyxl.load_workbook(small_tracker)
    ws = book["Requests"]
    extra = ws.max_column + 1
    ws.cell(row=1, column=extra, value="My Flag")
    ws.cell(row=2, column=extra, value="call Tuesday")
    ws.cell(row=3, column=extra, value="=LEN(A3)")
    ws.cell(row=2, column=1).font = openpyxl.styles.Font(bold=True, color="FF0000")
    notes = book.create_sheet("My Notes")
    notes["A1"] = "keep me"
    book.save(small_tracker)

    update_request(small_tracker, "PA-2026-00001", {"status": "Info Requested"}, by="t")
    book = openpyxl.load_workbook(small_tracker)
    ws = book["Requests"]
    assert ws.cell(row=2, column=extra).value == "call Tuesday"
    assert ws.cell(row=3, column=extra).value == "=LEN(A3)"
    assert ws.cell(row=2, column=1).font.bold
    assert book["My Notes"]["A1"].value == "keep me"
    assert "tblRequests" in ws.tables
    assert len(ws.data_validations.dataValidation) > 10
    assert "list_status" in book.defined_names


# -- conflicts, locks, backups --------------------------------------------------------------

def test_an_edit_made_by_someone_else_is_never_overwritten(small_tracker: Path) -> None:
    read = load_tracker(small_tracker)
    book = openpyxl.load_workbook(small_tracker)  # a colleague saves in between
    book["Requests"].cell(row=2, column=column_position(small_tracker, "owner"), value="Colleague")
    book.save(small_tracker)
    colleague = sha(small_tracker)
    with pytest.raises(TrackerConflictError, match="changed since you opened it"):
        update_request(small_tracker, "PA-2026-00001", {"owner": "Me"}, by="t",
                       expected_fingerprint=read.fingerprint)
    assert sha(small_tracker) == colleague
    assert load_tracker(small_tracker).requests["owner"].iloc[0] == "Colleague"


def test_fingerprint_chains_from_one_write_to_the_next(small_tracker: Path) -> None:
    first = update_request(small_tracker, "PA-2026-00001", {"owner": "A"}, by="t",
                           expected_fingerprint=load_tracker(small_tracker).fingerprint)
    update_request(small_tracker, "PA-2026-00001", {"owner": "B"}, by="t",
                   expected_fingerprint=first.fingerprint)
    assert load_tracker(small_tracker).requests["owner"].iloc[0] == "B"


@pytest.mark.parametrize("lock_name", ["~$tracker.xlsx", "~$acker.xlsx", ".~lock.tracker.xlsx#"])
def test_refuses_while_open_in_an_office_suite(small_tracker: Path, lock_name: str) -> None:
    (small_tracker.parent / lock_name).write_text("someone")
    before = sha(small_tracker)
    with pytest.raises(TrackerLockedError, match="open in Excel or LibreOffice"):
        update_request(small_tracker, "PA-2026-00001", {"owner": "Me"}, by="t")
    assert sha(small_tracker) == before


def test_keeps_a_chart_byte_for_byte(small_tracker: Path) -> None:
    """The chart and its drawing are carried over as they were (the old writer refused)."""
    import zipfile

    from openpyxl.chart import BarChart, Reference

    book = openpyxl.load_workbook(small_tracker)
    chart = BarChart()
    chart.add_data(Reference(book["Requests"], min_col=24, min_row=1, max_row=4))
    book["Requests"].add_chart(chart, "AZ2")
    book.save(small_tracker)
    with zipfile.ZipFile(small_tracker) as archive:
        before = {name: archive.read(name) for name in archive.namelist()
                  if name.startswith(("xl/charts/", "xl/drawings/"))}
    assert before
    update_request(small_tracker, "PA-2026-00001", {"owner": "Me"}, by="t")
    with zipfile.ZipFile(small_tracker) as archive:
        after = {name: archive.read(name) for name in before}
    assert after == before
    assert openpyxl.load_workbook(small_tracker)["Requests"]._charts


def test_backups_are_kept_and_pruned(small_tracker: Path) -> None:
    original = small_tracker.read_bytes()
    first = update_request(small_tracker, "PA-2026-00001", {"owner": "A"}, by="t")
    assert first.backup is not None
    assert first.backup.read_bytes() == original
    book = openpyxl.load_workbook(small_tracker)
    book["Settings"].append(["backups_keep", 3])
    book.save(small_tracker)
    for owner in "BCDEF":
        update_request(small_tracker, "PA-2026-00001", {"owner": owner}, by="t")
    assert len(list((small_tracker.parent / "backups").glob("tracker.*.xlsx"))) == 3


def test_permissions_are_kept(small_tracker: Path) -> None:
    small_tracker.chmod(0o640)
    update_request(small_tracker, "PA-2026-00001", {"owner": "A"}, by="t")
    assert small_tracker.stat().st_mode & 0o777 == 0o640


# -- a save killed at any point leaves a whole workbook, old or new -----------------------

KILLED_WRITER = """
import sys
from patoolkit import update_request
update_request(sys.argv[1], "PA-2026-00001", {"owner": "Killed"}, by="crash")
print("done", flush=True)
"""


def test_a_save_killed_at_random_points_leaves_old_or_new(small_tracker: Path) -> None:
    import random

    rng = random.Random(1234)
    # How long does a whole write take here? Kill points are spread over it.
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", KILLED_WRITER, str(small_tracker)], check=True)
    duration = time.perf_counter() - started
    update_request(small_tracker, "PA-2026-00001", {"owner": "Original"}, by="t")
    outcomes = set()
    for _ in range(12):
        original = small_tracker.read_bytes()
        process = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(small_tracker)],
                                   stdout=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.0) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait()
        tracker = load_tracker(small_tracker)  # never UnusableTrackerError
        owner = tracker.requests["owner"].iloc[0]
        assert owner in {"Original", "Killed"}
        if owner == "Original":
            assert small_tracker.read_bytes() == original
        outcomes.add(owner)
        if owner == "Killed":
            update_request(small_tracker, "PA-2026-00001", {"owner": "Original"}, by="t")
    # the next write cleans up what a killed writer left behind
    update_request(small_tracker, "PA-2026-00001", {"owner": "After"}, by="t")
    leftovers = [p.name for p in small_tracker.parent.iterdir()
                 if p.name.startswith(".~patoolkit-")]
    assert leftovers == []
    assert "Original" in outcomes  # some kills landed before the replace


def test_a_formula_keeps_its_text_and_last_result_through_a_write(tmp_path: Path) -> None:
    """Formulas (in a contract column or the analyst's own) and their cached results are
    carried as they were; the workbook asks to be recalculated when opened."""
    import zipfile

    from python_calamine import CalamineWorkbook

    path = make_formula_tracker(
        tmp_path / "t.xlsx", {"Units Used": ("=1+2", 3), "Mine": ("=LEN(\"abc\")", 3)},
        {"Request ID": "PA-2026-00001", "Owner": "Before", "Plan Type": "Commercial"})
    update_request(path, "PA-2026-00001", {"owner": "After"}, by="t")
    values = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Requests").to_python()
    assert values[1][:3] == ["PA-2026-00001", "After", "Commercial"]
    assert values[1][3:] == [3.0, 3.0]  # the cached results, still there
    formulas = openpyxl.load_workbook(path)["Requests"]
    assert formulas["D2"].value == "=1+2"
    assert formulas["E2"].value == '=LEN("abc")'
    with zipfile.ZipFile(path) as archive:
        assert b'fullCalcOnLoad="1"' in archive.read("xl/workbook.xml")


def test_cell_notes_do_not_block_a_write(small_tracker: Path) -> None:
    from openpyxl.comments import Comment

    book = openpyxl.load_workbook(small_tracker)
    book["Requests"]["A2"].comment = Comment("call the payer back", "analyst")
    book.save(small_tracker)
    update_request(small_tracker, "PA-2026-00001", {"owner": "Me"}, by="t")
    assert openpyxl.load_workbook(small_tracker)["Requests"]["A2"].comment is not None


def test_backups_are_private_and_pruning_spares_other_trackers(small_tracker: Path) -> None:
    book = openpyxl.load_workbook(small_tracker)
    book["Settings"].append(["backups_keep", 1])
    book.save(small_tracker)
    small_tracker.chmod(0o600)
    other = small_tracker.with_name("tracker.v2.xlsx")
    shutil.copy2(small_tracker, other)
    update_request(other, "PA-2026-00001", {"owner": "V2"}, by="t")
    result = update_request(small_tracker, "PA-2026-00001", {"owner": "A"}, by="t")
    assert result.backup is not None
    assert result.backup.exists()
    assert result.backup.stat().st_mode & 0o777 == 0o600
    assert (small_tracker.parent / "backups").stat().st_mode & 0o777 == 0o700
    assert len(list((small_tracker.parent / "backups").glob("tracker.v2.*.xlsx"))) == 1


# -- symbolic links and read-only trackers (issue 18) -------------------------------------


def test_a_write_through_a_symlink_changes_the_real_tracker(small_tracker: Path,
                                                            tmp_path: Path) -> None:
    desk = tmp_path / "desk"
    desk.mkdir()
    link = desk / "tracker-link.xlsx"
    link.symlink_to(small_tracker)
    result = update_request(link, "PA-2026-00001", {"owner": "Through"}, by="t")
    assert link.is_symlink()
    assert load_tracker(small_tracker).requests["owner"].iloc[0] == "Through"
    assert result.backup is not None
    assert result.backup.parent == small_tracker.parent / "backups"  # beside the real file
    assert [path.name for path in desk.iterdir()] == ["tracker-link.xlsx"]  # no lock, no temp
    assert (small_tracker.parent / ".~patoolkit.tracker.xlsx.lock").exists()
    # the next write, by either name, takes the same lock and sees the same fingerprint
    update_request(small_tracker, "PA-2026-00001", {"owner": "Direct"}, by="t",
                   expected_fingerprint=result.fingerprint)


@pytest.mark.parametrize("beside", ["link", "real"])
def test_an_office_lock_beside_either_name_refuses(small_tracker: Path, tmp_path: Path,
                                                    beside: str) -> None:
    desk = tmp_path / "desk"
    desk.mkdir()
    link = desk / "shared.xlsx"
    link.symlink_to(small_tracker)
    opened = link if beside == "link" else small_tracker
    opened.with_name(f".~lock.{opened.name}#").write_text("someone", encoding="utf-8")
    before = sha(small_tracker)
    with pytest.raises(TrackerLockedError, match="open in Excel or LibreOffice"):
        update_request(link, "PA-2026-00001", {"owner": "Me"}, by="t")
    assert sha(small_tracker) == before


@pytest.mark.parametrize(("read_only", "named"), [("tracker", "tracker.xlsx: is read-only"),
                                                  ("folder", "its folder")])
def test_a_read_only_tracker_or_folder_is_refused_in_words(small_tracker: Path, read_only: str,
                                                           named: str) -> None:
    """By the permission bits, so root (as CI runs) is refused too; not even a lock file."""
    locked = small_tracker if read_only == "tracker" else small_tracker.parent
    locked.chmod(0o444 if read_only == "tracker" else 0o555)
    before = sorted(small_tracker.parent.iterdir())
    try:
        with pytest.raises(TrackerWriteError, match=named) as refused:
            add_request(small_tracker, {"patient_name": "Doe, Jo", "plan_type": "Commercial"},
                        by="t")
        assert "(its permissions say no one may change it)" in str(refused.value)
        assert str(refused.value).endswith("Nothing was changed.")
        assert sorted(small_tracker.parent.iterdir()) == before
    finally:
        small_tracker.parent.chmod(0o755)


def test_what_the_page_showed_decides_a_conflict(small_tracker: Path) -> None:
    """seen= (the dashboards pass what their page shows): the change goes in when the file
    still holds it, and is refused naming the field and its value when it does not. (The
    same rule through a fingerprint: tests/test_writer_corpus.py.)"""
    update_request(small_tracker, "PA-2026-00002", {"owner": "Luis"}, by="luis")
    before = sha(small_tracker)
    with pytest.raises(TrackerConflictError, match="Owner of PA-2026-00002 changed since you "
                                                   "opened it: it is now 'Luis'") as refused:
        update_request(small_tracker, "PA-2026-00002", {"owner": "X"}, by="x",
                       seen={"owner": None})
    assert refused.value.detail.startswith("Owner of PA-2026-00002")
    assert sha(small_tracker) == before
    update_request(small_tracker, "PA-2026-00002", {"owner": "X"}, by="x",
                   seen={"owner": "Luis"})


def test_a_workbook_counting_days_from_1904_gets_its_dates_right(small_tracker: Path) -> None:
    """Workbooks from old Macs count date serials from 1904 (workbookPr date1904)."""
    import zipfile

    from patoolkit import load_tracker

    with zipfile.ZipFile(small_tracker) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    assert b"date1904" not in parts["xl/workbook.xml"]
    parts["xl/workbook.xml"] = re.sub(rb"<workbookPr\b", b'<workbookPr date1904="1"',
                                      parts["xl/workbook.xml"], count=1)
    with zipfile.ZipFile(small_tracker, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    update_request(small_tracker, "PA-2026-00001",
                   {"scheduled_service_date": "2026-12-10"}, by="t")
    book = openpyxl.load_workbook(small_tracker)
    assert book.epoch.year == 1904
    requests = load_tracker(small_tracker).requests.set_index("request_id")
    assert str(requests.loc["PA-2026-00001", "scheduled_service_date"])[:10] == "2026-12-10"


# -- many rows at once: made column by column, held only deflated ---------------------------

cell_values = st.one_of(
    st.none(), st.just(""), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(dt.date(1950, 1, 1), dt.date(2100, 1, 1)),
    st.datetimes(dt.datetime(1950, 1, 1), dt.datetime(2100, 1, 1)).map(
        lambda moment: moment.replace(microsecond=0)),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_rows_made_in_bulk_are_the_cells_made_one_by_one(data: st.DataObject) -> None:
    """package.render_rows (an import's path) writes exactly what cell_xml writes cell by
    cell (every other write's path): text escaped, blanks kept for their style, dates."""
    from patoolkit.tracker import package as pkg
    count = data.draw(st.integers(1, 6))
    columns = data.draw(st.lists(st.integers(1, 40), min_size=1, max_size=6, unique=True))
    styles = {column: data.draw(st.one_of(st.none(), st.integers(0, 3))) for column in columns}
    values = {column: data.draw(st.lists(cell_values, min_size=count, max_size=count))
              for column in columns}
    # each path with its own styles: a date style added by one must not help the other
    bulk_book, book = (pkg.Styles.read(pkg.Package(_tiny_workbook())) for _ in range(2))
    bulk = pkg.render_rows(7, count, values, styles, bulk_book)
    one_by_one = b"".join(
        f'<row r="{7 + offset}">'.encode() + b"".join(
            pkg.cell_xml(column, 7 + offset, styles[column], values[column][offset], book)
            for column in sorted(columns)) + b"</row>" for offset in range(count))
    if bulk_book.xfs == book.xfs and bulk_book.formats == book.formats:
        assert bulk == one_by_one  # the same date styles, added in the same order

    def cells(xml: bytes, styles: pkg.Styles) -> list[list[tuple[object, ...]]]:
        """Each cell as written, its style told by what it shows (indices of added date
        styles may differ with the order the two paths meet dates in)."""
        return [[(cell.column, cell.body, {key: value for key, value in cell.attributes.items()
                                           if key != "s"},
                  styles.is_date(cell.style()), styles.has_time(cell.style()),
                  cell.style() if not styles.is_date(cell.style()) else None)
                 for cell in pkg.parse_cells(row)] for row in re.findall(rb"<row .*?</row>", xml)]

    assert cells(bulk, bulk_book) == cells(one_by_one, book)


def _tiny_workbook() -> bytes:
    import io

    book = openpyxl.Workbook()
    book.active.title = "Requests"
    for row, color in enumerate(("FF0000", "00FF00", "0000FF"), start=1):  # styles 1 to 3
        book.active.cell(row, 1).fill = openpyxl.styles.PatternFill("solid", fgColor=color)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_large_batch_fills_formatted_rows_then_adds_rows_below_them(
        small_tracker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows the analyst formatted ahead below the last request are filled in place (their
    formats kept); the rest are added below in bulk; a part too large for memory waits for
    the save on disk. Every request lands once, in order, with its History row."""
    from patoolkit.tracker import package as pkg
    book = openpyxl.load_workbook(small_tracker)
    sheet = book["Requests"]
    last = sheet.max_row
    fill = openpyxl.styles.PatternFill("solid", fgColor="FFFF00")
    for row in range(last + 1, last + 4):  # three formatted empty rows
        sheet.cell(row, 2).fill = fill
    book.save(small_tracker)
    monkeypatch.setattr(pkg, "SPOOL_IN_MEMORY", 1_000)  # every rewritten part spills to disk
    rows = [{"patient_id": f"B{number:04d}", "payer": "Summit Health Plan",
             "notes": f"<note> & {number}"} for number in range(2_500)]
    made = [result.request_id for result in add_requests(small_tracker, rows, by="import")]
    after = load_tracker(small_tracker)
    new = after.requests.iloc[-2_500:]
    assert list(new["request_id"]) == made
    assert list(new["patient_id"]) == [row["patient_id"] for row in rows]
    assert list(new["notes"]) == [row["notes"] for row in rows]
    reopened = openpyxl.load_workbook(small_tracker)["Requests"]
    assert reopened.cell(last + 1, 2).fill.fgColor.rgb.endswith("FFFF00")  # kept in place
    assert reopened.max_row == last + 2_500
    recorded = _history_ids(small_tracker)
    # a History row per field set (patient, payer, notes), request by request, in order
    assert recorded[-7_500:] == [request_id for request_id in made for _ in range(3)]


# -- History grows without its rows being inflated again ------------------------------------

def _history_rows(path: Path) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(book["History"].iter_rows(min_row=2, values_only=True))
    finally:
        book.close()  # a read-only workbook keeps its file open until closed


def _history_ids(path: Path) -> list[object]:
    return [row[1] for row in _history_rows(path)]


def _history_extra(path: Path) -> bytes:
    import zipfile

    from patoolkit.tracker import package as pkg
    parts = pkg.sheet_parts(pkg.Package(path.read_bytes()))
    with zipfile.ZipFile(path) as archive:
        return archive.getinfo(parts["History"]).extra


def test_history_is_appended_in_segments_that_every_reader_reads_whole(
        small_tracker: Path) -> None:
    """After the first save History carries its Segments; later saves splice their rows
    after the ones kept deflated. The zip checks out (CRC-32 of every member), openpyxl
    and the tracker reader see every History row in order, and the kept rows are the
    same bytes in the stream."""
    import zipfile

    from patoolkit.tracker import package as pkg
    update_request(small_tracker, "PA-2026-00003", {"owner": "First"}, by="one")
    assert pkg.Segments.unpack(_history_extra(small_tracker)) is not None
    before = _history_ids(small_tracker)
    for number in range(5):
        update_request(small_tracker, "PA-2026-00003", {"owner": f"Owner {number}"},
                       by=f"user {number}")
    add_requests(small_tracker, [{"patient_id": f"S{n}"} for n in range(300)], by="import")
    with zipfile.ZipFile(small_tracker) as archive:
        assert archive.testzip() is None
    after = _history_ids(small_tracker)
    assert after[:len(before)] == before
    assert after[len(before):len(before) + 5] == ["PA-2026-00003"] * 5
    assert len(after) == len(before) + 5 + 300
    owners = [row[4] for row in _history_rows(small_tracker) if row[2] == "owner"]
    assert owners[-5:] == [f"Owner {n}" for n in range(5)]
    assert load_tracker(small_tracker).requests["patient_id"].iloc[-1] == "S299"


def test_a_history_another_program_saved_is_read_whole_and_segmented_again(
        small_tracker: Path) -> None:
    """An office suite's save drops patoolkit's extra field: the next save reads History
    whole (nothing lost) and writes it in segments again."""
    update_request(small_tracker, "PA-2026-00003", {"owner": "First"}, by="one")
    book = openpyxl.load_workbook(small_tracker)  # as Excel would: a whole new package
    book.save(small_tracker)
    assert _history_extra(small_tracker) == b""
    before = _history_ids(small_tracker)
    update_request(small_tracker, "PA-2026-00003", {"owner": "Second"}, by="two")
    assert _history_ids(small_tracker) == [*before, "PA-2026-00003"]
    assert _history_extra(small_tracker) != b""


def test_segments_that_do_not_match_their_member_are_not_trusted(small_tracker: Path) -> None:
    """Segments copied onto other content (a tool that keeps extra fields but rewrites the
    member) disagree with its CRC-32: History is read whole and no row is lost."""
    import zipfile

    from patoolkit.tracker import package as pkg
    update_request(small_tracker, "PA-2026-00003", {"owner": "First"}, by="one")
    extra = _history_extra(small_tracker)
    part = pkg.sheet_parts(pkg.Package(small_tracker.read_bytes()))["History"]
    with zipfile.ZipFile(small_tracker) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    rebuilt = small_tracker.with_name("rebuilt.xlsx")
    with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            if info.filename == part:  # one more row, typed in by hand; the old extra kept
                data = data.replace(b"</sheetData>", b'<row r="999"><c r="B999" '
                                    b't="inlineStr"><is><t>PA-HAND-1</t></is></c></row>'
                                    b"</sheetData>")
                info = zipfile.ZipInfo(info.filename, info.date_time)
                info.compress_type, info.extra = zipfile.ZIP_DEFLATED, extra
            archive.writestr(info, data)
    assert pkg.Package(rebuilt.read_bytes()).segments(part) is None
    update_request(rebuilt, "PA-2026-00003", {"owner": "Second"}, by="two")
    assert _history_ids(rebuilt)[-2:] == ["PA-HAND-1", "PA-2026-00003"]


def test_crc32_combine_is_zlibs() -> None:
    import zlib

    from patoolkit.tracker.package import crc32_combine

    for first, second in [(b"", b"x"), (b"abc", b""), (b"History" * 999, b"<row/>" * 77)]:
        assert crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == \
            zlib.crc32(first + second)
