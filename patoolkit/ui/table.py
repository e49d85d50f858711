"""A sortable, paged table of rows with an Open button each; plain widgets, works offline in Voila.

Cells are HTML (escaped), rows are HBoxes carrying CSS classes (pa-row,
pa-overdue, pa-today) so a browser test and a stylesheet can find them.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import pandas as pd

from .common import fmt, observe, on_click


class RowTable:
    """Rows of a DataFrame, page by page, sorted by any shown column."""

    def __init__(self, columns: Sequence[tuple[str, str, int]], page_size: int = 20,
                 on_open: Callable[[pd.Series], None] | None = None,
                 row_classes: Callable[[pd.Series], list[str]] | None = None,
                 sort_by: str | None = None, sort_keys: dict[str, str] | None = None,
                 feedback: widgets.HTML | None = None):
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
        observe(self.sort, lambda _: self._resort(), self.feedback)
        observe(self.descending, lambda _: self._resort(), self.feedback)
        on_click(self.previous, lambda _: self.show_page(self.page - 1), self.feedback)
        on_click(self.next, lambda _: self.show_page(self.page + 1), self.feedback)
        self.widget = widgets.VBox([
            *([] if feedback is not None else [self.feedback]),
            widgets.HBox([self.sort, self.descending, self.previous, self.next, self.status]),
            self.body,
        ])

    def set_rows(self, frame: pd.DataFrame) -> None:
        self.frame = frame.reset_index(drop=True)
        self._resort()

    def _resort(self) -> None:
        key = self.sort_keys.get(self.sort.value, self.sort.value)
        if not self.frame.empty and key in self.frame.columns:
            self.frame = self.frame.sort_values(key, ascending=not
                                                self.descending.value, kind="stable",
                                                na_position="last").reset_index(drop=True)
        self.show_page(0)

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.frame) // self.page_size))

    def _cells(self, values: Sequence[str], head: bool = False) -> widgets.HTML:
        spans = "".join(
            f'<span style="width:{width}px" title="{html.escape(text)}">{html.escape(text)}</span>'
            for text, (_, _, width) in zip(values, self.columns, strict=True))
        cell = widgets.HTML(f'<div class="pa-cells">{spans}</div>')
        cell.add_class("pa-cells-box")
        return cell

    def show_page(self, page: int) -> None:
        self.page = min(max(page, 0), self.pages - 1)
        start = self.page * self.page_size
        shown = self.frame.iloc[start:start + self.page_size]
        header = widgets.HBox([widgets.HTML(layout=widgets.Layout(width="72px")),
                               self._cells([heading for _, heading, _ in self.columns], True)])
        header.add_class("pa-head")
        rows: list[widgets.Widget] = [header]
        for _, row in shown.iterrows():
            button = widgets.Button(description="Open", layout=widgets.Layout(width="64px"),
                                    tooltip=f"Open {row.get('request_id', '')}")
            button.add_class("pa-open")
            on_click(button, lambda _, row=row: self.on_open(row) if self.on_open else None,
                     self.feedback)
            line = widgets.HBox([button, self._cells([fmt(row.get(column))
                                                      for column, _, _ in self.columns])])
            line.add_class("pa-row")
            for name in self.row_classes(row):
                line.add_class(name)
            rows.append(line)
        if shown.empty:
            rows.append(widgets.HTML('<div class="pa-message pa-ok">Nothing to show for these '
                                     "filters.</div>"))
        self.body.children = rows
        total = len(self.frame)
        self.status.value = (f"Showing {start + 1 if total else 0}–{start + len(shown)} of "
                             f"{total} &nbsp; page {self.page + 1} of {self.pages}")
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1

    @property
    def visible_request_ids(self) -> list[str]:
        start = self.page * self.page_size
        return [str(value) for value in
                self.frame.iloc[start:start + self.page_size].get("request_id", [])]
