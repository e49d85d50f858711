"""A sortable, paged table of rows with an Open button each; plain widgets, works offline in Voila.

Cells are HTML (escaped), rows are HBoxes carrying CSS classes (pa-row,
pa-overdue, pa-today) so a browser test and a stylesheet can find them.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import pandas as pd

from .common import fmt, observe, on_click, own_layout


@dataclass
class RowLine:
    box: widgets.HBox
    button: widgets.Button
    cells: widgets.HTML
    choose: widgets.Checkbox | None


class RowTable:
    """Rows of a DataFrame, page by page, sorted by any shown column."""

    def __init__(self, columns: Sequence[tuple[str, str, int]], page_size: int = 20,
                 on_open: Callable[[pd.Series], None] | None = None,
                 row_classes: Callable[[pd.Series], list[str]] | None = None,
                 sort_by: str | None = None, sort_keys: dict[str, str] | None = None,
                 feedback: widgets.HTML | None = None, selectable: bool = False,
                 key: str = "request_id",
                 on_selection: Callable[[list[str]], None] | None = None):
        # where a failing sort, page or Open says so: the page's own message area, else one
        # above the table
        self.feedback = feedback if feedback is not None else widgets.HTML()
        self.columns = list(columns)  # (column, heading, width in px)
        self.page_size = page_size
        self.on_open = on_open
        self.row_classes = row_classes or (lambda row: [])
        self.sort_keys = sort_keys or {}  # shown column -> column to sort it by
        self.frame = pd.DataFrame()
        self.page = 0
        # rows chosen by a tick (selectable): their `key` values, kept across pages, sorts and
        # refreshes; only those still shown are acted on (selected_shown)
        self.selectable = selectable
        self.key = key
        self.selected: set[str] = set()
        self.on_selection = on_selection
        self.selection = widgets.HTML()
        self.selection.add_class("pa-selection")
        self.lines: list[RowLine] = []
        self._drawing = False
        self._drawing_sort = False
        # each heading is a button: a click sorts by its column, a second click reverses
        self.headings: dict[str, widgets.Button] = {}
        for column, heading, width in self.columns:
            button = widgets.Button(description=heading, tooltip=f"Sort by {heading}",
                                    layout=widgets.Layout(width=f"{width + 6}px"))
            button.add_class("pa-heading")
            on_click(button, lambda _, column=column: self.sort_by_heading(column),
                     self.feedback)
            self.headings[column] = button
        self.header = widgets.HBox([
            widgets.HTML(layout=widgets.Layout(width="100px" if selectable else "72px")),
            *self.headings.values()])
        self.header.add_class("pa-head")
        # shown and hidden as the filters leave rows or none: a layout of its own
        self.empty = own_layout(widgets.HTML(
            '<div class="pa-message pa-ok">Nothing to show for these filters.</div>',
            layout=widgets.Layout(display="none")))
        self.empty.add_class("pa-empty")
        self.sort = widgets.Dropdown(
            options=[(heading, column) for column, heading, _ in self.columns],
            value=next((c for c, _, _ in self.columns if self.sort_keys.get(c, c) == sort_by),
                       self.columns[0][0]), description="Sort by",
            layout=widgets.Layout(width="260px"))
        self.sort.add_class("pa-sort")
        self.descending = widgets.ToggleButton(value=False, description="Descending",
                                               layout=widgets.Layout(width="130px"))
        self.previous = widgets.Button(description="Previous",
                                       layout=widgets.Layout(width="110px"))
        self.next = widgets.Button(description="Next",
                                   layout=widgets.Layout(width="110px"))
        self.previous.add_class("pa-prev")
        self.next.add_class("pa-next")
        self.status = widgets.HTML()
        self.status.add_class("pa-table-status")
        self.body = widgets.VBox()
        self.body.add_class("pa-table")
        observe(self.sort, lambda _: self._sort_changed(), self.feedback)
        observe(self.descending, lambda _: self._sort_changed(), self.feedback)
        on_click(self.previous, lambda _: self.show_page(self.page - 1), self.feedback)
        on_click(self.next, lambda _: self.show_page(self.page + 1), self.feedback)
        self.widget = widgets.VBox([
            *([] if feedback is not None else [self.feedback]),
            widgets.HBox([self.sort, self.descending, self.previous, self.next, self.status,
                          self.selection]),
            self.body,
        ])

    def set_rows(self, frame: pd.DataFrame, keep_page: bool = False) -> None:
        """Show these rows, sorted as chosen, from the first page (keep_page: the page shown,
        for the same rows refreshed)."""
        self.frame = frame.reset_index(drop=True)
        self._resort(self.page if keep_page else 0)

    def sort_by_heading(self, column: str) -> None:
        """A heading clicked: sort by its column, from the top; its column again: the other
        way. The Sort by and Descending controls follow (one sort, not one per control)."""
        descending = not self.descending.value if self.sort.value == column else False
        self._drawing_sort = True
        try:
            self.sort.value = column
            self.descending.value = descending
        finally:
            self._drawing_sort = False
        self._resort()

    def _sort_changed(self) -> None:
        if not self._drawing_sort:
            self._resort()

    def _resort(self, page: int = 0) -> None:
        arrow = " ▼" if self.descending.value else " ▲"
        for column, heading, _ in self.columns:  # the sorted column shows its way
            self.headings[column].description = heading + (
                arrow if column == self.sort.value else "")
        key = self.sort_keys.get(self.sort.value, self.sort.value)
        if not self.frame.empty and key in self.frame.columns:
            self.frame = self.frame.sort_values(key, ascending=not
                                                self.descending.value, kind="stable",
                                                na_position="last").reset_index(drop=True)
        self.show_page(page)

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.frame) // self.page_size))

    def _cells(self, values: Sequence[str]) -> str:
        spans = "".join(
            f'<span style="width:{width}px" title="{html.escape(text)}">{html.escape(text)}</span>'
            for text, (_, _, width) in zip(values, self.columns, strict=True))
        return f'<div class="pa-cells">{spans}</div>'

    def _row_cells(self, row: pd.Series) -> str:
        return self._cells([fmt(row.get(column)) for column, _, _ in self.columns])

    def _page_rows(self) -> pd.DataFrame:
        """The rows of the page shown now."""
        start = self.page * self.page_size
        return self.frame.iloc[start:start + self.page_size]

    def _line(self, position: int) -> RowLine:
        """The widgets of the position-th row of a page, made once and reused: a new page, a
        sort or a refreshed worklist changes their text and classes in place, so the browser
        redraws text instead of building new widgets."""
        while len(self.lines) <= position:
            at = len(self.lines)
            button = widgets.Button(description="Open", layout=widgets.Layout(width="64px"))
            button.add_class("pa-open")
            on_click(button, lambda _, at=at: self._open(at), self.feedback)
            cells = widgets.HTML()
            cells.add_class("pa-cells-box")
            choose = None
            if self.selectable:
                choose = widgets.Checkbox(value=False, indent=False,
                                          layout=widgets.Layout(width="28px"))
                choose.add_class("pa-select")
                observe(choose, lambda change, at=at: self._chosen(at, change["new"]),
                        self.feedback)
            box = widgets.HBox([*([choose] if choose else []), button, cells])
            self.lines.append(RowLine(box, button, cells, choose))
        return self.lines[position]

    def _row_at(self, position: int) -> pd.Series | None:
        index = self.page * self.page_size + position
        return self.frame.iloc[index] if index < len(self.frame) else None

    def _open(self, position: int) -> None:
        row = self._row_at(position)
        if row is not None and self.on_open:
            self.on_open(row)

    def _chosen(self, position: int, value: bool) -> None:
        row = self._row_at(position)
        if self._drawing or row is None:
            return
        key = str(row.get(self.key, ""))
        if value:
            self.selected.add(key)
        else:
            self.selected.discard(key)
        self._draw_selection()

    def show_page(self, page: int) -> None:
        self.page = min(max(page, 0), self.pages - 1)
        start = self.page * self.page_size
        shown = self._page_rows()
        self._drawing = True
        try:
            for position, (_, row) in enumerate(shown.iterrows()):
                line = self._line(position)
                line.cells.value = self._row_cells(row)
                line.button.tooltip = f"Open {row.get('request_id', '')}"
                line.box._dom_classes = ("pa-row", *self.row_classes(row))
                if line.choose is not None:
                    line.choose.value = str(row.get(self.key, "")) in self.selected
        finally:
            self._drawing = False
        self.empty.layout.display = "" if shown.empty else "none"
        # lines beyond the rows shown wait outside the page for a longer one
        children = (self.header, *(line.box for line in self.lines[:len(shown)]), self.empty)
        if tuple(self.body.children) != children:
            self.body.children = children
        total = len(self.frame)
        self.status.value = (f"Showing {start + 1 if total else 0}–{start + len(shown)} of "
                             f"{total} &nbsp; page {self.page + 1} of {self.pages}")
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1
        self._draw_selection()

    def picture_html(self) -> str:
        """The page shown now as static HTML, the rows' Open a label: what a browser can draw
        before the widgets are ready (common.page_picture, which renames its classes)."""
        lead = f'<span class="pa-lead" style="width:{100 if self.selectable else 72}px">'
        lines = [f'<div class="pa-row pa-head">{lead}</span>'
                 f'{self._cells([heading for _, heading, _ in self.columns])}</div>']
        for _, row in self._page_rows().iterrows():
            classes = html.escape(" ".join(["pa-row", *self.row_classes(row)]))
            lines.append(f'<div class="{classes}">{lead}<span class="pa-open">Open</span></span>'
                         f"{self._row_cells(row)}</div>")
        return "".join(lines)

    @property
    def shown_rows(self) -> list[widgets.HBox]:
        """The row widgets on the page now."""
        return list(self.body.children[1:-1])

    @property
    def message(self) -> str:
        """The words shown when no row is (empty when there are rows)."""
        return self.empty.value if self.empty.layout.display != "none" else ""

    def select_shown(self, value: bool = True) -> None:
        """Choose (or let go of) every row the filters show, on every page."""
        keys = {str(key) for key in self.frame.get(self.key, [])}
        self.selected = self.selected | keys if value else self.selected - keys
        self.show_page(self.page)

    def clear_selection(self) -> None:
        self.selected = set()
        self.show_page(self.page)

    @property
    def selected_shown(self) -> list[str]:
        """The chosen keys among the rows the filters show, in the table's order, once each:
        a row chosen then filtered out is not acted on."""
        keys = [str(key) for key in self.frame.get(self.key, [])]
        return list(dict.fromkeys(key for key in keys if key in self.selected))

    def _draw_selection(self) -> None:
        if not self.selectable:
            return
        count = len(self.selected_shown)
        self.selection.value = (f'<span class="pa-selection-count">{count} chosen</span>'
                                if count else "")
        if self.on_selection:
            self.on_selection(self.selected_shown)

    @property
    def visible_request_ids(self) -> list[str]:
        return [str(value) for value in self._page_rows().get("request_id", [])]
