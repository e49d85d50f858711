"""One request: every field, its deadlines with their basis, its History, and what to do next.

Each next step is a small form; the steps, the ones offered in the request's
status and the status each leaves it in are patoolkit.transitions'. Save shows
what will change; Confirm writes through the safe writer (only those cells, a
History row each, a backup).
When someone else saved the tracker meanwhile, nothing is overwritten: the
page says so and offers Reload.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from typing import cast

import ipywidgets as widgets
import pandas as pd

from ..deadlines import DEADLINES, FLAGS
from ..schema import LISTS, REQUESTS
from ..transitions import STEPS, checked_value, met, offered_steps, status_after, step
from .common import TrackerSession, fmt, label, on_click, safely, set_message

SECTIONS = {
    "Patient and plan": ["request_id", "patient_id", "patient_name", "patient_dob", "member_id",
                         "payer", "plan_type", "owner"],
    "Service": ["service_category", "codes", "icd10", "urgency", "scheduled_service_date",
                "ordering_provider", "ordering_npi"],
    "Requirement and submission": ["requirement_checked_date", "pa_required", "docs_complete",
                                   "submitted_at", "channel", "payer_reference", "status",
                                   "last_status_check", "info_requested_at",
                                   "info_responded_at", "extension_days"],
    "Decision and authorization": ["decision_date", "decision", "denial_reason", "auth_number",
                                   "auth_effective_date", "auth_expiration_date",
                                   "units_authorized", "units_used"],
    "Peer-to-peer and appeal": ["p2p_requested_date", "p2p_date", "p2p_outcome",
                                "appeal_level", "appeal_submitted_date", "appeal_decision_date",
                                "appeal_outcome", "notes"],
}

def show_widget(widget: widgets.Widget, shown: bool) -> None:
    """Show or hide a widget. A changed display gets a Layout of its own: a page may share
    one Layout model between widgets alike (fewer models draw sooner), and a shared one
    must not change under the others."""
    display = "" if shown else "none"
    layout = widget.layout  # type: ignore[attr-defined]
    if (layout.display or "") != display:
        traits = {name: getattr(layout, name) for name in layout.keys
                  if not name.startswith("_")}
        widget.layout = widgets.Layout(**{**traits, "display": display})  # type: ignore[attr-defined]


def _now_text() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M")


def _input_for(name: str, current: object) -> widgets.Widget:
    column = REQUESTS.column(name)
    text = fmt(current)
    if column.enum:
        options = [("", "")] + [(value, value) for value in LISTS[column.enum]]
        value = text if text in LISTS[column.enum] else ""
        field: widgets.Widget = widgets.Dropdown(options=options, value=value,
                                                 description=column.title)
    elif name in ("notes", "denial_reason"):
        field = widgets.Textarea(value=text, description=column.title,
                                 layout=widgets.Layout(width="520px", height="60px"))
    else:
        placeholder = {"date": "YYYY-MM-DD", "datetime": "YYYY-MM-DD HH:MM"}.get(column.kind, "")
        field = widgets.Text(value=text, description=column.title, placeholder=placeholder)
    field.style = {"description_width": "170px"}
    field.add_class(f"pa-field-{name}")
    return field


def _choices(values: object, current: str) -> list[str]:
    """Dropdown options: blank, the values (each once, in order), and the current value
    even when no list has it (so opening the form never changes a field by itself)."""
    found = [str(value) for value in pd.Series(values, dtype=object).dropna()
             if str(value).strip()]
    return list(dict.fromkeys(["", *found, *([current] if current else [])]))


def edit_input_for(name: str, current: object, frames: dict[str, pd.DataFrame],
                   lists: dict[str, tuple[str, ...]]) -> widgets.Widget:
    """The widget that fits a field: a date picker for dates, a dropdown from the Lists
    sheet (and the Payers sheet for Payer), suggestions from the Providers sheet and the
    owners already in the tracker, a text box (checked at Save) for numbers and the rest."""
    column = REQUESTS.column(name)
    text = fmt(current)
    field: widgets.Widget
    if column.kind == "date":
        value = pd.Timestamp(current).date() if isinstance(current, dt.date) and \
            not pd.isna(current) else None
        field = widgets.DatePicker(value=value, description=column.title)
    elif column.enum or column.kind == "yesno" or name == "payer":
        values = (lists.get(column.enum or "", ()) if column.enum else ("Yes", "No")
                  if column.kind == "yesno" else frames["Payers"]["payer"])
        field = widgets.Dropdown(options=_choices(values, text), value=text,
                                 description=column.title)
    elif name in ("owner", "ordering_provider"):
        source = (frames["Requests"]["owner"] if name == "owner"
                  else frames["Providers"].get("provider_name", pd.Series(dtype=object)))
        field = widgets.Combobox(value=text, options=_choices(source, "")[1:],
                                 description=column.title, ensure_option=False)
    elif name == "denial_reason":
        field = widgets.Textarea(value=text, description=column.title,
                                 layout=widgets.Layout(width="520px", height="60px"))
    else:
        placeholder = {"datetime": "YYYY-MM-DD HH:MM", "int": "a whole number"}.get(
            column.kind, "")
        field = widgets.Text(value=text, description=column.title, placeholder=placeholder)
    field.style = {"description_width": "170px"}
    field.add_class(f"pa-field-{name}")
    return field


def value_text(widget: widgets.Widget) -> str:
    """What a form's widget holds, as text the tracker's reader takes."""
    value = widget.value  # type: ignore[attr-defined]
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value).strip()


def plain(value: object, today: dt.date | None = None) -> str:
    """A value in plain words: dates as 'Dec 3' ('Dec 3 2025' in another year, with the
    time when there is one), the rest as fmt shows it."""
    if isinstance(value, str) or not isinstance(value, dt.date) or pd.isna(value):
        return fmt(value)
    stamp = pd.Timestamp(value)
    year = (today or dt.date.today()).year
    day = f"{stamp:%b} {stamp.day}" + ("" if stamp.year == year else f" {stamp.year}")
    if stamp == stamp.normalize() or (stamp.hour, stamp.minute, stamp.second) == (23, 59, 59):
        return day
    return f"{day} {stamp:%H:%M}"


def change_words(name: str, old: object, new: object, today: dt.date | None = None) -> str:
    """One line of the preview: 'Notes: added ...', 'Scheduled Service Date: Dec 3 → Dec 10',
    'Payer Reference: set to ...', 'Denial Reason: cleared (was ...)'."""
    title = label(name)
    before, after = plain(old, today), plain(new, today)
    if name == "notes" and after.startswith(before):
        return f"{title}: added '{after[len(before):].strip()}'"
    quoted = not isinstance(new if new is not None else old, dt.date)
    if quoted:
        before, after = f"'{before}'", f"'{after}'"
    if not plain(old):
        return f"{title}: set to {after}"
    if not plain(new):
        return f"{title}: cleared (was {before})"
    return f"{title}: {before} → {after}"


def note_added(notes: object, text: str, today: dt.date | None = None) -> str:
    """The Notes cell with a dated line added below what it held."""
    old = fmt(notes)
    return (old + "\n" if old else "") + f"{(today or dt.date.today()).isoformat()}: {text}"


class RequestDetail:
    """The detail page of one request, with forms for the next steps."""

    def __init__(self, session: TrackerSession, request_id: str | None = None,
                 on_saved: Callable[[], None] | None = None):
        self.session = session
        self.on_saved = on_saved
        self.request_id: str | None = None
        self.feedback = widgets.HTML()
        self.feedback.add_class("pa-detail-feedback")
        self.reload_button = widgets.Button(description="Reload",
                                            layout=widgets.Layout(display="none"))
        self.reload_button.add_class("pa-reload")
        on_click(self.reload_button, self._reload, self.feedback, busy="Reloading…")
        self.fields = widgets.HTML()
        self.fields.add_class("pa-fields")
        self.deadlines = widgets.HTML()
        self.deadlines.add_class("pa-deadlines")
        self.history = widgets.HTML()
        self.history.add_class("pa-history")
        self.step_buttons: list[widgets.Button] = []
        for key, text, _ in STEPS:
            button = widgets.Button(description=text, layout=widgets.Layout(width="210px"))
            button.add_class(f"pa-step-{key}")
            on_click(button, lambda _, key=key: self.open_step(key), self.feedback)
            self.step_buttons.append(button)
        self.form = widgets.VBox()
        self.form.add_class("pa-form")
        self.title = widgets.HTML()
        self.widget = widgets.VBox([
            self.title, self.feedback, self.reload_button,
            widgets.HBox(self.step_buttons), self.form,
            widgets.HTML("<h4>Deadlines</h4>"), self.deadlines,
            widgets.HTML("<h4>Request</h4>"), self.fields,
            widgets.HTML("<h4>History</h4>"), self.history,
        ])
        self.widget.add_class("pa-detail")
        self.pending: tuple[str, dict[str, object]] | None = None
        if request_id:
            self.show(request_id)

    @property
    def row(self) -> pd.Series:
        requests = self.session.tracker.requests
        match = requests[requests["request_id"].astype("string").str.upper()
                         == str(self.request_id).upper()]
        if match.empty:
            raise KeyError(self.request_id)
        return match.iloc[0]

    def show(self, request_id: str) -> None:
        self.request_id = request_id
        self.form.children = []
        self.pending = None
        self.render()

    def render(self) -> None:
        row = self.row
        self.title.value = (f'<div class="pa-title">Request {html.escape(str(self.request_id))}'
                            f'</div><div class="pa-sub">Excel row {row.name} · '
                            f'{html.escape(fmt(row["payer"]))} · '
                            f'{html.escape(fmt(row["status"]) or "no status")}</div>')
        offered = offered_steps(row["status"])
        for (key, _, _), button in zip(STEPS, self.step_buttons, strict=True):
            show_widget(button, key in offered)
        sections = []
        for section, names in SECTIONS.items():
            cells = "".join(f"<tr><th>{html.escape(label(name))}</th>"
                            f"<td>{html.escape(fmt(row[name]))}</td></tr>" for name in names)
            sections.append(f'<div><h5>{section}</h5><table class="pa-grid">{cells}</table></div>')
        self.fields.value = ('<div style="display:flex;flex-wrap:wrap;gap:16px">'
                             + "".join(sections) + "</div>")
        now = pd.Timestamp.now()
        mine = self.session.deadlines(now).loc[cast(int, row.name)]  # its Excel row
        lines = []
        for name in DEADLINES:
            value = mine[name]
            basis = mine["basis_" + name]
            if name in FLAGS:
                if not value:
                    continue
                shown = "Yes"
            elif pd.isna(value) and pd.isna(basis):
                continue
            else:
                shown = fmt(value) or "none"
            overdue = (name not in FLAGS and not pd.isna(value) and value < now
                       and not met(name, row))
            css = ' class="pa-overdue-text"' if overdue else ""
            lines.append(f"<tr><th>{html.escape(label(name))}</th><td{css}>"
                         f"{html.escape(shown)}</td><td>{html.escape(fmt(basis))}</td></tr>")
        self.deadlines.value = ('<table class="pa-grid"><tr><th>Deadline</th><th>When</th>'
                                "<th>Basis</th></tr>" + "".join(lines) + "</table>"
                                if lines else "<p>No deadlines apply right now.</p>")
        history = self.session.tracker.frames["History"]
        mine_history = history[history["request_id"].astype("string").str.upper()
                               == str(self.request_id).upper()].sort_values("at",
                                                                            ascending=False)
        items = "".join(
            f"<li><b>{html.escape(fmt(entry['at']))}</b> {html.escape(fmt(entry['by']))}: "
            f"{html.escape(label(str(entry['field'])))} "
            f"'{html.escape(fmt(entry['old_value']))}' → '{html.escape(fmt(entry['new_value']))}'"
            "</li>" for _, entry in mine_history.iterrows())
        self.history.value = f"<ul>{items}</ul>" if items else "<p>No recorded changes yet.</p>"

    def open_step(self, key: str) -> None:
        set_message(self.feedback, "")
        _, text, names = step(key)
        row = self.row
        if key == "edit":  # in the order the page shows the request
            names = tuple(name for section in SECTIONS.values() for name in section
                          if name in names)
            tracker = self.session.tracker
            inputs = {name: edit_input_for(name, row[name], tracker.frames,
                                           dict(tracker.lists)) for name in names}
        else:
            inputs = {name: _input_for(name, row[name]) for name in names}
        if key == "status_check":
            inputs["last_status_check"].value = _now_text()  # type: ignore[attr-defined]
            inputs["notes"].value = ""  # type: ignore[attr-defined]
            inputs["notes"].description = "Add to notes"  # type: ignore[attr-defined]
        if key == "info_request" and not fmt(row["info_requested_at"]):
            inputs["info_requested_at"].value = _now_text()  # type: ignore[attr-defined]
        if key == "submission" and not fmt(row["submitted_at"]):
            inputs["submitted_at"].value = _now_text()  # type: ignore[attr-defined]
        save = widgets.Button(description="Save", button_style="primary")
        save.add_class("pa-save")
        cancel = widgets.Button(description="Cancel")
        on_click(cancel, lambda _: self.close_form(), self.feedback)
        on_click(save, lambda _: self.review(key, inputs), self.feedback, busy="Checking…")
        self.field_errors = {name: widgets.HTML() for name in inputs}
        for name, box in self.field_errors.items():
            box.add_class("pa-field-error")
            box.add_class(f"pa-field-error-{name}")
        fields: list[widgets.Widget] = []
        for name, widget in inputs.items():  # each message right below its field
            fields += [widget, self.field_errors[name]]
        self.form.children = [widgets.HTML(f"<h4>{html.escape(text)}</h4>"),
                              *fields, widgets.HBox([save, cancel])]

    def close_form(self) -> None:
        self.form.children = []
        self.pending = None

    def review(self, key: str, inputs: dict[str, widgets.Widget]) -> None:
        """Show what will change and ask for confirmation."""
        @safely(lambda: self.feedback)
        def run() -> None:
            row = self.row
            values = {name: value_text(widget) for name, widget in inputs.items()}
            lists = dict(self.session.tracker.lists)
            wrong = 0
            for name, value in values.items():  # every field checked at once, said beside it
                _, problem = checked_value(name, value, lists) if name != "notes" else (None,
                                                                                        None)
                box = self.field_errors.get(name)
                if box is not None:
                    set_message(box, f"{label(name)}: {problem}" if problem else "", "error")
                wrong += problem is not None
            if wrong:
                set_message(self.feedback, f"{wrong} field(s) need correcting: see the message "
                            "below each. Nothing was saved.", "error")
                return
            set_message(self.feedback, "")
            changes: dict[str, object] = {}
            for name, value in values.items():
                if name == "notes":
                    if value:
                        changes["notes"] = note_added(row["notes"], value)
                elif value != fmt(row[name]):
                    changes[name] = value or None
            status = status_after(key, values)
            if status and status != fmt(row["status"]):
                changes["status"] = status
            if not changes:
                set_message(self.feedback, "Nothing changed.", "warn")
                return
            self.pending = (key, changes)

            def shown(name: str, value: object) -> object:
                if name == "notes" or not isinstance(value, str):
                    return value
                return checked_value(name, value, lists)[0]

            lines = "".join(
                f"<li>{html.escape(change_words(name, row[name], shown(name, value)))}</li>"
                for name, value in changes.items())
            confirm = widgets.Button(description="Confirm and save", button_style="success")
            confirm.add_class("pa-confirm")
            back = widgets.Button(description="Back")
            on_click(back, lambda _: self.open_step(key), self.feedback)
            on_click(confirm, lambda _: self.commit(), self.feedback, busy="Saving…")
            self.form.children = [widgets.HTML(f"<h4>Save these changes to the tracker?</h4>"
                                               f"<ul>{lines}</ul>"),
                                  widgets.HBox([confirm, back])]
        run()

    def commit(self) -> None:
        @safely(lambda: self.feedback)
        def run() -> None:
            if self.pending is None or self.request_id is None:
                return
            _, changes = self.pending
            try:
                written = self.session.update(self.request_id, changes)
            except Exception as error:
                from ..errors import TrackerConflictError

                if isinstance(error, TrackerConflictError):
                    show_widget(self.reload_button, True)
                raise
            self.close_form()
            self.render()
            set_message(self.feedback, f"Saved {len(written)} change(s) to "
                        f"{self.session.path.name}; History updated.", "ok")
            if self.on_saved:
                self.on_saved()
        run()

    def _reload(self, _: object = None) -> None:
        self.session.reload()
        show_widget(self.reload_button, False)
        set_message(self.feedback, "Reloaded the tracker as it is on disk now.", "ok")
        self.close_form()
        self.render()
