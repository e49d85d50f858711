"""Search everywhere and the patient view, shared by Today and Denials.

One box matches request ID, patient ID, patient name, member ID, auth number
and payer reference as it is typed (patoolkit.search.find_requests). Each
result opens its request, or its patient: every request of that patient,
their authorizations with units left, letters and History
(patoolkit.search.patient_record). The patient view is drawn anew from one
patient's record each time: nothing of the patient shown before stays.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import pandas as pd

from ..search import MIN_QUERY, find_requests, patient_record
from .common import TrackerSession, fmt, label, observe, on_click, set_message

RESULTS_SHOWN = 20
RESULT_CELLS = [("request_id", 110), ("patient_id", 80), ("patient_name", 190), ("payer", 190),
                ("status", 120), ("scheduled_service_date", 100), ("matched", 200)]


def _table(frame: pd.DataFrame, columns: Sequence[str], css: str) -> str:
    if frame.empty:
        return "<p>None.</p>"
    head = "".join(f"<th>{html.escape(label(name))}</th>" for name in columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(row.get(name)))}</td>"
                                    for name in columns) + "</tr>"
                   for _, row in frame.iterrows())
    return f'<table class="pa-grid {css}"><tr>{head}</tr>{rows}</table>'


class SearchPanel:
    """The search box and its results: Open (the request) and Patient (all of theirs)."""

    def __init__(self, session: TrackerSession, on_open: Callable[[str], None],
                 on_patient: Callable[[str], None], feedback: widgets.HTML):
        self.session = session
        self.on_open = on_open
        self.on_patient = on_patient
        self.feedback = feedback
        self.box = widgets.Text(
            placeholder="Find: request ID, patient ID or name, member ID, auth number, "
            "payer reference", continuous_update=True, layout=widgets.Layout(width="560px"))
        self.box.add_class("pa-search")
        self.status = widgets.HTML()
        self.status.add_class("pa-search-status")
        self.results = widgets.VBox()
        self.results.add_class("pa-search-results")
        self.found = pd.DataFrame()
        observe(self.box, lambda _: self.search(), feedback)
        self.widget = widgets.VBox([widgets.HBox([self.box, self.status]), self.results])
        self.widget.add_class("pa-search-panel")

    def search(self, query: str | None = None) -> pd.DataFrame:
        if query is not None:
            self.box.value = query  # observe runs search again with it
            return self.found
        text = self.box.value.strip()
        self.found = find_requests(self.session.tracker.requests, text, limit=None) \
            if len(text) >= MIN_QUERY else pd.DataFrame()
        self.show()
        return self.found

    def show(self) -> None:
        text = self.box.value.strip()
        if len(text) < MIN_QUERY:
            self.status.value = ""
            self.results.children = []
            return
        total = len(self.found)
        shown = self.found.head(RESULTS_SHOWN)
        self.status.value = (f"{total} request(s) found" + (
            f", the first {RESULTS_SHOWN} shown: type more to narrow" if total > RESULTS_SHOWN
            else "") if total else "Nothing found: check the spelling, or type less")
        rows: list[widgets.Widget] = []
        for _, row in shown.iterrows():
            request_id = str(row["request_id"])
            open_button = widgets.Button(description="Open", layout=widgets.Layout(width="64px"),
                                         tooltip=f"Open {request_id}")
            open_button.add_class("pa-search-open")
            patient = widgets.Button(description="Patient", layout=widgets.Layout(width="76px"),
                                     tooltip="Every request of this patient")
            patient.add_class("pa-search-patient")
            on_click(open_button, lambda _, r=request_id: self.on_open(r), self.feedback)
            on_click(patient, lambda _, r=request_id: self.on_patient(r), self.feedback)
            spans = "".join(f'<span style="width:{width}px" title="{html.escape(fmt(row[name]))}"'
                            f">{html.escape(fmt(row[name]))}</span>"
                            for name, width in RESULT_CELLS)
            cells = widgets.HTML(f'<div class="pa-cells">{spans}</div>')
            line = widgets.HBox([open_button, patient, cells])
            line.add_class("pa-search-row")
            rows.append(line)
        self.results.children = rows


class PatientView:
    """One patient: requests, authorizations with units left, letters, History."""

    def __init__(self, session: TrackerSession, on_open: Callable[[str], None]):
        self.session = session
        self.on_open = on_open
        self.request_id: str | None = None
        self.widget = widgets.VBox([
            widgets.HTML("<p>Choose <b>Patient</b> on a search result to see everything the "
                         "tracker holds about that patient here.</p>"),
        ])
        self.widget.add_class("pa-patient")

    # The patient's widgets are made when a patient is first shown: a page sends every widget
    # it has made to the browser before it draws (issue 16: first paint).
    @functools.cached_property
    def title(self) -> widgets.HTML:
        return widgets.HTML()

    @functools.cached_property
    def feedback(self) -> widgets.HTML:
        return widgets.HTML()

    @functools.cached_property
    def body(self) -> widgets.HTML:
        body = widgets.HTML()
        body.add_class("pa-patient-body")
        return body

    @functools.cached_property
    def opens(self) -> widgets.HBox:
        return widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))

    def show(self, request_id: str) -> None:
        """Draw the patient of request_id from scratch (nothing of another patient stays)."""
        self.request_id = request_id
        record = patient_record(self.session.tracker.frames, request_id)
        name = record.patient_name or "(no name)"
        buttons = []
        for value in record.requests["request_id"]:
            button = widgets.Button(description=f"Open {value}",
                                    layout=widgets.Layout(width="170px"))
            button.add_class("pa-patient-open")
            on_click(button, lambda _, r=str(value): self.on_open(r), self.feedback)
            buttons.append(button)
        self.opens.children = buttons
        self.body.value = (
            "<h4>Requests</h4>" + _table(record.requests, [
                "request_id", "payer", "plan_type", "service_category", "codes",
                "scheduled_service_date", "status", "decision", "owner"], "pa-patient-requests")
            + "<h4>Authorizations</h4>" + _table(record.authorizations, [
                "auth_number", "request_id", "payer", "codes", "auth_effective_date",
                "auth_expiration_date", "units_authorized", "units_used", "units_left"],
                "pa-patient-auths")
            + "<h4>Letters</h4>" + _table(
                record.letters.assign(kind=record.letters["field"].astype("string")
                                      .str.removeprefix("letter:"),
                                      file=record.letters["new_value"]),
                ["at", "request_id", "kind", "file", "by"], "pa-patient-letters")
            + "<h4>History</h4>" + _table(record.history.assign(
                field=record.history["field"].astype("string").map(label, na_action="ignore")), [
                "at", "request_id", "field", "old_value", "new_value", "by"],
                "pa-patient-history"))
        # the title last: changes reach the browser in order, so once it names this
        # patient, everything below it is theirs
        self.title.value = (
            f'<div class="pa-title">Patient {html.escape(record.patient_id or "(no ID)")}: '
            f"{html.escape(name)}</div><div class=\"pa-sub\">Date of birth "
            f"{html.escape(fmt(record.patient_dob) or 'not recorded')} · "
            f"{len(record.requests)} request(s) · {len(record.authorizations)} "
            "authorization(s)</div>")
        set_message(self.feedback, "")
        self.widget.children = [self.title, self.feedback, self.opens, self.body]
