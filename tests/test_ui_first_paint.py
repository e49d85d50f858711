"""Today's first paint (issue 16): the page sends the browser one Layout and one style model
per distinct value, not one per widget, and a widget the page shows and hides keeps its own."""

from __future__ import annotations

import collections
import datetime as dt
import shutil
from pathlib import Path

import ipywidgets as widgets

from conftest import SAMPLE_TRACKER
from patoolkit.ui import TodayDashboard, TrackerSession
from patoolkit.ui.common import share_layouts


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
