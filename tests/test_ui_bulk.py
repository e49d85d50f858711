"""Acting on many rows at once (Today and Denials): choose rows, reassign them, record a
status check on each, export the rows shown; only the chosen requests change."""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from conftest import SAMPLE_TRACKER
from patoolkit import load_tracker
from patoolkit.tracker.edit import update_request
from patoolkit.ui import DenialsDashboard, TodayDashboard, TrackerSession
from patoolkit.ui.table import RowTable

AS_OF = "2026-12-01 09:00"


def sample_in(folder: Path) -> Path:
    shutil.copy2(SAMPLE_TRACKER, folder / "pa_tracker.xlsx")
    return folder / "pa_tracker.xlsx"


@pytest.fixture
def today(tmp_path: Path) -> TodayDashboard:
    """Today on a copy of the sample (today.session.path), as Dana Reyes."""
    return TodayDashboard(TrackerSession(sample_in(tmp_path), user="Dana Reyes"), as_of=AS_OF)


def tick(table: RowTable, *positions: int) -> list[str]:
    """Tick rows of the page shown, as a person would; the request IDs ticked."""
    chosen = []
    for position in positions:
        row = table.shown_rows[position]
        row.children[0].value = True  # the row's checkbox
        chosen.append(str(table.frame["request_id"].iloc[table.page * table.page_size
                                                         + position]))
    return chosen


def without(frame: pd.DataFrame, request_ids: list[str]) -> pd.DataFrame:
    return frame[~frame["request_id"].isin(request_ids)]


def test_reassign_changes_the_chosen_requests_only_with_history_under_the_name(
        today: TodayDashboard) -> None:
    sample_copy = today.session.path
    before = load_tracker(sample_copy)
    chosen = list(dict.fromkeys(tick(today.table, 0, 3, 5)))
    assert today.table.selected_shown == chosen
    assert f"{len(chosen)} chosen" in today.table.selection.value
    today.bulk.owner.value = "Pat Lee"
    today.bulk.reassign_button.click()
    assert "Reassigned to Pat Lee" in today.feedback.value
    after = load_tracker(sample_copy)
    requests = after.requests.set_index("request_id")
    assert set(requests.loc[chosen, "owner"]) == {"Pat Lee"}
    # nobody else's request changed, not a cell
    pd.testing.assert_frame_equal(without(before.requests, chosen),
                                  without(after.requests, chosen))
    history = after.frames["History"].iloc[len(before.frames["History"]):]
    assert set(history["request_id"]) <= set(chosen)
    assert set(history["field"]) == {"owner"}
    assert set(history["by"]) == {"Dana Reyes"}
    # the page shows what a fresh page on the saved file shows
    fresh = TodayDashboard(TrackerSession(sample_copy, user="x"), as_of=AS_OF)
    pd.testing.assert_frame_equal(today.actions, fresh.actions)
    assert set(today.actions.loc[today.actions["request_id"].isin(chosen), "owner"]) == \
        {"Pat Lee"}


def test_a_status_check_on_the_chosen_requests_with_a_note(today: TodayDashboard) -> None:
    sample_copy = today.session.path
    today.action.value = "Check status"
    before = load_tracker(sample_copy)
    chosen = list(dict.fromkeys(tick(today.table, 1, 2)))
    today.bulk.note.value = "portal says in review"
    today.bulk.check_button.click()
    assert "Status check recorded on" in today.feedback.value
    after = load_tracker(sample_copy)
    requests = after.requests.set_index("request_id")
    for request_id in chosen:
        assert requests.loc[request_id, "last_status_check"].date() == \
            pd.Timestamp.now().date()
        assert str(requests.loc[request_id, "notes"]).endswith(": portal says in review")
    pd.testing.assert_frame_equal(without(before.requests, chosen),
                                  without(after.requests, chosen))
    history = after.frames["History"].iloc[len(before.frames["History"]):]
    assert set(history["request_id"]) == set(chosen)
    assert set(history["field"]) == {"last_status_check", "notes"}
    assert set(history["by"]) == {"Dana Reyes"}
    assert today.bulk.note.value == ""


def test_a_row_chosen_then_filtered_away_is_not_acted_on(today: TodayDashboard) -> None:
    sample_copy = today.session.path
    first = tick(today.table, 0)[0]
    owner = str(today.table.frame["owner"].iloc[0])
    others = [value for value in today.owner.options[1:] if value != owner]
    today.owner.value = others[0]  # the chosen row is no longer shown
    assert first not in today.table.selected_shown
    second = tick(today.table, 0)[0]
    today.bulk.owner.value = "Pat Lee"
    today.bulk.reassign_button.click()
    requests = load_tracker(sample_copy).requests.set_index("request_id")
    assert requests.loc[second, "owner"] == "Pat Lee"
    assert requests.loc[first, "owner"] == owner


def test_nothing_chosen_changes_nothing(today: TodayDashboard) -> None:
    sample_copy = today.session.path
    data = sample_copy.read_bytes()
    assert today.bulk.reassign_button.disabled
    assert today.bulk.check_button.disabled
    today.bulk.owner.value = "Pat Lee"
    today.bulk.reassign()
    today.bulk.record_status_check()
    assert "Choose rows" in today.feedback.value
    assert sample_copy.read_bytes() == data


def test_choose_all_shown_and_none(today: TodayDashboard) -> None:
    today.action.value = "Check status"
    today.bulk.choose_all.click()
    assert today.table.selected_shown == list(dict.fromkeys(today.table.frame["request_id"]))
    assert all(row.children[0].value for row in today.table.shown_rows)
    today.bulk.choose_none.click()
    assert today.table.selected_shown == []
    assert not any(row.children[0].value for row in today.table.shown_rows)


def test_a_request_changed_meanwhile_is_said_and_the_others_go_in(
        today: TodayDashboard) -> None:
    sample_copy = today.session.path
    chosen = list(dict.fromkeys(tick(today.table, 0, 4)))
    update_request(sample_copy, chosen[0], {"owner": "Luis"}, by="Luis")  # another page
    today.bulk.owner.value = "Pat Lee"
    today.bulk.reassign_button.click()
    said = re.sub(r"<[^>]+>", "", today.feedback.value)
    assert f"Not saved: {chosen[0]}" in said
    requests = load_tracker(sample_copy).requests.set_index("request_id")
    assert requests.loc[chosen[0], "owner"] == "Luis"  # theirs stands
    assert requests.loc[chosen[1], "owner"] == "Pat Lee"


def test_export_the_rows_shown_as_the_table_shows_them(today: TodayDashboard) -> None:
    today.action.value = "Check status"
    today.bulk.export_button.click()
    link = today.bulk.download.value
    assert 'download="worklist_' in link
    assert ".xlsx" in link
    data = base64.b64decode(re.search(r'base64,([^"]+)"', link).group(1))  # type: ignore[union-attr]
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Rows"]
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = next(index for index, row in enumerate(cells) if row[0] == "Clock")
    headings = [heading for _, heading, _ in today.table.columns]
    assert cells[header][:len(headings)] == headings
    rows = [row for row in cells[header + 1:] if any(value is not None for value in row)]
    assert len(rows) == len(today.table.frame)
    request_column = headings.index("Request")
    assert [row[request_column] for row in rows] == list(today.table.frame["request_id"])
    assert {row[headings.index("Action")] for row in rows} == {"Check status"}


def test_denials_reassign_the_chosen_denials_only(tmp_path: Path) -> None:
    sample_copy = sample_in(tmp_path)
    denials = DenialsDashboard(TrackerSession(sample_copy, user="Ana"), as_of=AS_OF)
    before = load_tracker(sample_copy)
    chosen = tick(denials.table, 0, 1)
    denials.bulk.owner.value = "Sam"
    denials.bulk.reassign_button.click()
    after = load_tracker(sample_copy)
    assert set(after.requests.set_index("request_id").loc[chosen, "owner"]) == {"Sam"}
    pd.testing.assert_frame_equal(without(before.requests, chosen),
                                  without(after.requests, chosen))
    history = after.frames["History"].iloc[len(before.frames["History"]):]
    assert set(history["by"]) == {"Ana"}
    assert set(history["request_id"]) == set(chosen)
    assert set(denials.board.loc[denials.board["request_id"].isin(chosen), "owner"]) == {"Sam"}
