"""Today's first paint (issue 16): the page sends the browser one Layout and one style model
per distinct value, not one per widget, and a widget the page shows and hides keeps its own;
and the page's picture (ui.common.page_picture), drawn from the page's HTML before the widgets
are ready, shows the worklist's page as the live table shows it, its cells as text."""

from __future__ import annotations

import collections
import datetime as dt
import html
import re
import shutil
from pathlib import Path

import ipywidgets as widgets
import openpyxl
import pytest

from conftest import SAMPLE_TRACKER
from patoolkit.ui import TodayDashboard, TrackerSession
from patoolkit.ui.common import FRESH_FOR, PICTURE_MIME, share_layouts


def reachable(root: widgets.Widget) -> list[widgets.Widget]:
    """Every widget model the page holds: children, layouts and styles."""
    seen: dict[str, widgets.Widget] = {}
    pending = [root]
    while pending:
        widget = pending.pop()
        if widget.model_id in seen:
            continue
        seen[widget.model_id] = widget
        for name in widget.keys:
            value = getattr(widget, name)
            pending += [item for item in (value if isinstance(value, list | tuple) else [value])
                        if isinstance(item, widgets.Widget)]
    return list(seen.values())


def test_today_shares_layouts_and_keeps_its_own_for_what_it_shows_and_hides(
        tmp_path: Path) -> None:
    copy = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, copy)
    today = TodayDashboard(TrackerSession(copy, user="tester"), as_of="2026-12-01 09:00")
    models = reachable(today.widget)
    kinds = collections.Counter(type(model).__name__ for model in models)
    users = collections.Counter(id(widget.layout) for widget in models
                                if "layout" in widget.keys)
    own = {id(today.table.empty.layout), id(today.problems.layout)}
    layouts = [model for model in models
               if isinstance(model, widgets.Layout) and id(model) not in own]
    assert len({json(layout) for layout in layouts}) == len(layouts)  # one per value
    assert kinds["Layout"] < kinds["Button"] + kinds["HTML"]  # fewer than one per widget
    for own in (today.table.empty, today.problems):  # shown and hidden by the page
        assert users[id(own.layout)] == 1
    # hiding the empty-table message hides nothing else
    today.due_from.value = dt.date(2030, 1, 1)
    assert "Nothing to show" in today.table.message
    today.clear_filters()
    assert today.table.message == ""
    assert all(widget.layout.display != "none" for widget in today.table.shown_rows)
    assert len(today.table.shown_rows) == 15


def json(model: widgets.Widget) -> str:
    import json as json_module

    return json_module.dumps(model.get_state(), sort_keys=True, default=str)


def test_share_layouts_closes_only_models_no_widget_uses() -> None:
    kept = widgets.Layout(width="64px")
    first = widgets.Button(layout=kept)
    second = widgets.Button(layout=widgets.Layout(width="64px"))
    hidden = widgets.HTML(layout=widgets.Layout(display="none"))
    from patoolkit.ui.common import own_layout

    own_layout(hidden)
    share_layouts(widgets.VBox([first, second, hidden]))
    assert first.layout is second.layout
    assert first.layout.width == "64px"
    assert hidden.layout.display == "none"
    assert hidden.layout is not first.layout
    assert kept.comm is None  # replaced in both buttons, and closed


# --- the picture drawn before the widgets (ui.common.page_picture) ----------------------------

PICTURE_ROW = re.compile(r'<div class="pa-picture-row( [^"]*)?">(.*?)</div></div>', re.S)


def picture_rows(picture: str) -> list[list[str]]:
    """The picture's worklist rows (not its heading row), each as its cells' texts."""
    rows = []
    for classes, inner in PICTURE_ROW.findall(picture):
        if "pa-picture-head" in classes:
            continue
        rows.append([html.unescape(text) for text in re.findall(r"<span [^>]*>([^<]*)</span>",
                                                                inner.split('"pa-picture-cells"')[1])])
    return rows


def today_at(tmp_path: Path, **cells: str) -> TodayDashboard:
    copy = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, copy)
    if cells:  # typed into every request's row of the Requests sheet
        book = openpyxl.load_workbook(copy)
        sheet = book["Requests"]
        headings = [cell.value for cell in sheet[1]]
        for row in range(2, sheet.max_row + 1):
            for heading, value in cells.items():
                sheet.cell(row, headings.index(heading) + 1, value)
        book.save(copy)
    return TodayDashboard(TrackerSession(copy, user="tester"), as_of="2026-12-01 09:00")


def test_todays_picture_is_the_first_page_of_its_worklist_in_order(tmp_path: Path) -> None:
    today = today_at(tmp_path)
    picture = today.picture()
    rows = picture_rows(picture)
    shown = today.table.frame.iloc[:today.table.page_size]
    assert len(rows) == len(shown) == 15
    request_column = [column for column, _, _ in today.table.columns].index("request_id")
    assert [row[request_column] for row in rows] == today.table.visible_request_ids
    counts = re.findall(r'<span class="pa-picture-count">([^<]*)</span>', picture)
    assert counts == [button.description for button in today.count_buttons.values()]
    assert html.escape(today.session.path.name) in picture
    # every class is the picture's own: a stylesheet or test finding the live page never
    # finds it (.pa-row, .pa-today, .pa-cells ...)
    classes = {name for attribute in re.findall(r'class="([^"]*)"', picture)
               for name in attribute.split()}
    assert classes
    assert all(name.startswith("pa-picture") for name in classes), classes
    # what the template's script reads: when it was worked out, and what replaces it
    built = int(re.search(r'data-built="(\d+)"', picture).group(1))
    assert built == int(dt.datetime(2026, 12, 1, 9, 0).timestamp() * 1000)
    assert 'data-fixed="1"' in picture  # as_of given: a page looking back is never stale
    assert 'data-live=".pa-today .pa-row' in picture
    # a later page of the table is what its picture shows
    today.table.show_page(1)
    assert [row[request_column] for row in picture_rows(today.picture())] == \
        today.table.visible_request_ids


def test_the_picture_of_a_now_page_may_go_stale(tmp_path: Path) -> None:
    copy = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, copy)
    today = TodayDashboard(TrackerSession(copy, user="tester"))
    picture = today.picture()
    assert 'data-fixed="0"' in picture
    built = int(re.search(r'data-built="(\d+)"', picture).group(1)) / 1000
    assert abs(built - dt.datetime.now().timestamp()) < 120
    assert f'data-fresh-ms="{int(FRESH_FOR.total_seconds() * 1000)}"' in picture


def test_the_picture_carries_hostile_cells_as_text(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)"> class="pa-row" </div><script>alert(2)</script>'
    today = today_at(tmp_path, Owner=hostile)
    picture = today.picture()
    assert "<img" not in picture  # the cell's tags are text
    assert "<script" not in picture
    assert 'class="pa-row"' not in picture
    owner_column = [column for column, _, _ in today.table.columns].index("owner")
    rows = picture_rows(picture)
    assert rows
    assert all(row[owner_column] == hostile for row in rows)


def test_today_app_puts_the_picture_out_beside_the_page_in_a_kernel_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from patoolkit.ui import today_app

    copy = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, copy)
    outside = today_app(str(copy), as_of="2026-12-01 09:00")  # no shell: nothing put out
    assert "pa-today" in outside._dom_classes
    InteractiveShell.instance()
    try:
        with capture_output() as captured:
            page = today_app(str(copy), as_of="2026-12-01 09:00")
        pictures = [output.data[PICTURE_MIME] for output in captured.outputs
                    if PICTURE_MIME in output.data]
        assert len(pictures) == 1
        assert "pa-today" in page._dom_classes
        assert picture_rows(pictures[0])
        # a page opened for a search shows its results, not the worklist's picture
        monkeypatch.setenv("QUERY_STRING", "q=P000001")
        with capture_output() as captured:
            today_app(str(copy), as_of="2026-12-01 09:00")
        assert not [output for output in captured.outputs if PICTURE_MIME in output.data]
    finally:
        InteractiveShell.clear_instance()


def test_the_denials_picture_is_the_first_page_of_its_board(tmp_path: Path) -> None:
    from patoolkit.ui import DenialsDashboard

    copy = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, copy)
    denials = DenialsDashboard(TrackerSession(copy, user="tester"), as_of="2026-12-01 09:00")
    picture = denials.picture()
    request_column = [column for column, _, _ in denials.table.columns].index("request_id")
    rows = picture_rows(picture)
    assert rows
    assert [row[request_column] for row in rows] == denials.table.visible_request_ids
    assert "Denials and appeals" in picture
    assert 'data-live=".pa-denials .pa-row' in picture
    classes = {name for attribute in re.findall(r'class="([^"]*)"', picture)
               for name in attribute.split()}
    assert all(name.startswith("pa-picture") for name in classes), classes
