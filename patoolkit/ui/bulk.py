"""Act on many rows at once: choose rows of a table, then reassign them, record a status
check on each, or export the rows shown.

Shared by Today and Denials. A row is chosen by its request (ticking one row of a request
on Today chooses its other actions too); only the chosen requests the filters still show
are acted on, so a row chosen and then filtered away is never changed unseen. Each save
goes through the safe writer one request at a time (TrackerSession.update_many: what the
page showed as `seen`, History under the person's name); a request someone else changed
meanwhile is said and left as it is, the others go in.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from ..exports import write_report_xlsx
from .common import (
    XLSX_TYPE,
    TrackerSession,
    download_link,
    explain,
    fmt,
    observe,
    on_click,
    set_message,
)
from .detail import note_added
from .table import RowTable


def export_frame(table: RowTable) -> pd.DataFrame:
    """The rows the table shows (every page, in its order) with its columns and headings,
    values as the table shows them."""
    frame = table.frame
    return pd.DataFrame({heading: [fmt(value) for value in frame.get(column, [])]
                         for column, heading, _ in table.columns})


class BulkActions:
    """A bar above a selectable RowTable: choose all shown or none, reassign, record a
    status check, export the rows shown (.xlsx)."""

    def __init__(self, session: TrackerSession, table: RowTable, feedback: widgets.HTML,
                 file_stem: str):
        self.session = session
        self.table = table
        self.feedback = feedback
        self.file_stem = file_stem
        def button(words: str, css: str, width: int, action: Callable[[], object],
                   busy: str | None = None) -> widgets.Button:
            made = widgets.Button(description=words, layout=widgets.Layout(width=f"{width}px"))
            made.add_class(css)
            on_click(made, lambda _: action(), feedback, busy=busy)
            return made

        self.choose_all = button("Choose all shown", "pa-choose-all", 150,
                                 lambda: self.table.select_shown(True))
        self.choose_none = button("Choose none", "pa-choose-none", 120,
                                  self.table.clear_selection)
        self.owner = widgets.Combobox(placeholder="new owner", ensure_option=False,
                                      description="Owner", layout=widgets.Layout(width="230px"),
                                      style={"description_width": "50px"})
        self.owner.add_class("pa-bulk-owner")
        self.reassign_button = button("Reassign chosen", "pa-bulk-reassign", 150,
                                      self.reassign, busy="Reassigning…")
        self.note = widgets.Text(placeholder="what the payer said (optional)",
                                 description="Note", layout=widgets.Layout(width="300px"),
                                 style={"description_width": "40px"})
        self.note.add_class("pa-bulk-note")
        self.check_button = button("Record status check", "pa-bulk-check", 170,
                                   self.record_status_check, busy="Recording…")
        self.export_button = button("Export shown (.xlsx)", "pa-bulk-export", 170,
                                    self.export, busy="Exporting…")
        self.download = widgets.HTML()
        self.download.add_class("pa-bulk-download")
        observe(self.owner, lambda _: self._enable(), feedback)
        table.on_selection = lambda _: self._enable()
        self.widget = widgets.VBox([
            widgets.HBox([self.choose_all, self.choose_none, self.owner, self.reassign_button],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.note, self.check_button, self.export_button, self.download],
                         layout=widgets.Layout(flex_flow="row wrap")),
        ])
        self.widget.add_class("pa-bulk")
        self._enable()

    def _enable(self) -> None:
        chosen = bool(self.table.selected_shown)
        self.reassign_button.disabled = not (chosen and self.owner.value.strip())
        self.check_button.disabled = not chosen

    def refresh_owners(self) -> None:
        owners = self.session.tracker.requests["owner"].astype("string").str.strip()
        options = sorted({str(owner) for owner in owners.dropna() if owner})
        if list(self.owner.options) != options:
            self.owner.options = options

    @property
    def chosen(self) -> list[str]:
        return self.table.selected_shown

    def _say(self, done: str, saved: list[str], refused: dict[str, Exception]) -> None:
        words = f"{done} {len(saved)} request(s)" + (f": {', '.join(saved)}." if saved else ".")
        if refused:
            words += " Not saved: " + "; ".join(f"{request_id}: {explain(error)}"
                                                for request_id, error in refused.items())
        set_message(self.feedback, words, "warn" if refused else "ok")

    def reassign(self) -> None:
        owner = self.owner.value.strip()
        chosen = self.chosen
        if not chosen or not owner:
            set_message(self.feedback, "Choose rows and type the new owner first.", "warn")
            return
        changes = {request_id: {"owner": owner} for request_id in chosen
                   if fmt((self.session.seen(request_id, ["owner"]) or {}).get("owner"))
                   != owner}
        saved, refused = self.session.update_many(changes)
        self._say(f"Reassigned to {owner}:", saved, refused)

    def record_status_check(self, now: dt.datetime | None = None) -> None:
        chosen = self.chosen
        if not chosen:
            set_message(self.feedback, "Choose rows first.", "warn")
            return
        stamp = (now or dt.datetime.now()).replace(second=0, microsecond=0)
        note = self.note.value.strip()
        changes: dict[str, dict[str, object]] = {}
        for request_id in chosen:
            wanted: dict[str, object] = {"last_status_check": stamp.strftime("%Y-%m-%d %H:%M")}
            if note:
                notes = (self.session.seen(request_id, ["notes"]) or {}).get("notes")
                wanted["notes"] = note_added(notes, note, stamp.date())
            changes[request_id] = wanted
        saved, refused = self.session.update_many(changes)
        if saved:
            self.note.value = ""
        self._say("Status check recorded on", saved, refused)

    def export(self) -> None:
        frame = export_frame(self.table)
        name = f"{self.file_stem}_{dt.date.today().isoformat()}.xlsx"
        with tempfile.TemporaryDirectory() as folder:
            path = write_report_xlsx(Path(folder) / name, self.file_stem.replace("_", " "),
                                     {"Rows": frame})
            data = path.read_bytes()
        self.download.value = download_link(
            data, name, f"Download {len(frame)} row(s) ({name})", XLSX_TYPE)
