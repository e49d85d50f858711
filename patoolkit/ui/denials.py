"""The "Denials and appeals" dashboard: windows counting down, letters, P2P and appeal steps.

Every open denial with its peer-to-peer, appeal and external review windows,
closing soonest first (overdue in red). Open one to make a letter: choose the
kind, fill the named fields, preview the text, make the .docx (recorded in the
History sheet) and download it. A batch makes one kind for every request shown:
it first lists each letter with what it takes from the form (fields about the
sender, shared; fields about a patient, only in the letter of the request they
were typed for) or why it is skipped, and Confirm makes them.
The request's own page records the P2P and appeal steps through the safe writer.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import pandas as pd

from ..letters import (
    KINDS,
    SENDER,
    BatchPlan,
    LetterMaker,
    LettersNotRecordedError,
    MissingFieldsError,
    TemplateFields,
    clean_supplied,
    letter_text,
)
from ..timeframes import TARGETS
from ..worklist import denials_for
from .bulk import BulkActions
from .common import (
    STYLE,
    PageShown,
    ProgressBar,
    TrackerSession,
    UserBar,
    download_link,
    explain,
    fmt,
    observe,
    on_click,
    page_picture,
    picture_bar,
    plural,
    problems_table,
    set_message,
    share_layouts,
    still_fresh,
)
from .detail import RequestDetail
from .search import PatientView, SearchPanel
from .table import RowTable

ALL = "(all)"
TABLE_COLUMNS = [
    ("next_shown", "Closes", 100), ("days_shown", "Days", 60), ("next_window", "Window", 150),
    ("request_id", "Request", 110), ("payer", "Payer", 170), ("owner", "Owner", 64),
    ("stage", "Stage", 190), ("denial_reason", "Denial reason", 300),
]
class LetterForm:
    """Kind, named fields, preview, make and download, for one request or a batch."""

    def __init__(self, dashboard: DenialsDashboard):
        self.dashboard = dashboard
        self.request_id: str | None = None
        self.title = widgets.HTML()
        self.feedback = widgets.HTML()
        self.feedback.add_class("pa-letter-feedback")
        self.kind = widgets.Dropdown(description="Letter", layout=widgets.Layout(width="420px"),
                                     style={"description_width": "60px"})
        self.kind.add_class("pa-letter-kind")
        observe(self.kind, lambda _: self.build_fields(), self.feedback)
        self.unavailable = widgets.HTML()
        self.unavailable.add_class("pa-letter-unavailable")
        self.fields = widgets.VBox()
        self.fields.add_class("pa-letter-fields")
        self.inputs: dict[str, widgets.Widget] = {}
        self.evidence: dict[str, widgets.Text] = {}
        self.preview_button = widgets.Button(description="Preview", icon="")
        self.preview_button.add_class("pa-letter-preview")
        self.make_button = widgets.Button(description="Make letter", button_style="primary")
        self.make_button.add_class("pa-letter-make")
        self.download = widgets.HTML()
        self.download.add_class("pa-letter-download")
        self.preview = widgets.HTML()
        self.preview.add_class("pa-letter-preview-text")
        on_click(self.preview_button, self._preview, self.feedback, busy="Previewing…")
        on_click(self.make_button, self._make, self.feedback, busy="Making the letter…")
        self.widget = widgets.VBox([
            self.title, self.kind, self.unavailable, self.fields,
            widgets.HBox([self.preview_button, self.make_button]), self.feedback,
            self.download, self.preview])
        self.widget.add_class("pa-letter")

    @property
    def maker(self) -> LetterMaker:
        return self.dashboard.maker()

    def show(self, request_id: str) -> None:
        if request_id != self.request_id:  # one patient's rationale never reaches another's
            self.inputs, self.evidence = {}, {}
        self.request_id = request_id
        maker = self.maker
        row = maker.request_row(request_id)
        self.title.value = (f'<div class="pa-title">Letter for request '
                            f'{html.escape(request_id)}</div><div class="pa-sub">'
                            f'{html.escape(fmt(row.get("payer")))} · '
                            f'{html.escape(fmt(row.get("decision")) or "no decision")} · '
                            f'denial reason: {html.escape(fmt(row.get("denial_reason")) or "-")}'
                            "</div>")
        fitting, reasons = [], []
        for kind in KINDS.values():
            why = maker.why_not(request_id, kind)
            if why is None:
                fitting.append((kind.title, kind.key))
            else:
                reasons.append(f"<li><b>{html.escape(kind.title)}</b>: {html.escape(why)}</li>")
        self.unavailable.value = ("<details><summary>Letters that do not fit this request "
                                  f"({len(reasons)})</summary><ul>{''.join(reasons)}</ul>"
                                  "</details>") if reasons else ""
        keep = self.kind.value if self.kind.value in [key for _, key in fitting] else None
        self.kind.options = fitting
        self.kind.value = keep or (fitting[0][1] if fitting else None)
        self.make_button.disabled = self.preview_button.disabled = not fitting
        late = maker.late_filing_note(request_id)
        set_message(self.feedback, late or ("" if fitting else
                    "No letter kind fits this request as the tracker stands."), "warn")
        self.download.value = self.preview.value = ""
        self.build_fields()

    def build_fields(self) -> None:
        """One input per field a person supplies, labelled and explained (from fields.toml)."""
        self.preview.value = ""
        if not self.kind.value or self.request_id is None:
            self.fields.children = []
            return
        fields = self.template_fields()
        rows: list[widgets.Widget] = []
        old = {name: widget.value for name, widget in self.inputs.items()}  # type: ignore[attr-defined]
        self.inputs, self.evidence = {}, {}
        for field in fields.supplied:
            help_text = html.escape(field.help) + (
                " One per line." if field.is_list and "per line" not in field.help else "")
            if field.name == "evidence":
                items = self.maker.criteria_items(self.request_id)
                rows.append(widgets.HTML(f"<b>{html.escape(field.label)}</b><br><small>"
                                         f"{html.escape(field.help)}</small>"))
                for item in items:
                    box = widgets.Text(description=item, placeholder="where the record shows it",
                                       layout=widgets.Layout(width="760px"),
                                       style={"description_width": "240px"})
                    box.add_class("pa-evidence")
                    self.evidence[item] = box
                    rows.append(box)
                continue
            widget_type = widgets.Textarea if field.is_list else widgets.Text
            widget = widget_type(value=str(old.get(field.name, "")), placeholder=(
                "optional" if field.optional else ""),
                layout=widgets.Layout(width="760px", height="90px" if field.is_list else None))
            widget.add_class(f"pa-field-{field.name}")
            self.inputs[field.name] = widget
            rows.append(widgets.HTML(f"<b>{html.escape(field.label)}</b>"
                                     + ("" if not field.optional else " (optional)")
                                     + f"<br><small>{help_text}</small>"))
            rows.append(widget)
        self.fields.children = rows

    def template_fields(self) -> TemplateFields:
        return self.maker.fields(str(self.kind.value))

    def supplied(self) -> dict[str, object]:
        values: dict[str, object] = {name: widget.value for name, widget in self.inputs.items()}  # type: ignore[attr-defined]
        if self.evidence:
            values["evidence"] = {item: box.value for item, box in self.evidence.items()}
        return clean_supplied(values, self.template_fields())

    def batch_values(self, kind: str) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
        """What the form gives a batch of this kind: (fields about the sender, shared by
        every letter; {the open request: its fields about the patient}). Nothing when the
        form holds another kind."""
        if self.request_id is None or self.kind.value != kind:
            return {}, {}
        fields = self.template_fields()
        shared: dict[str, object] = {}
        own: dict[str, object] = {}
        for name, value in self.supplied().items():
            (shared if fields.about(name) == SENDER else own)[name] = value
        return shared, ({self.request_id: own} if own else {})

    def _explain_missing(self, error: MissingFieldsError) -> None:
        """Fields of the form by their label ('fill it in above'); tracker fields by place."""
        labels = {field.name: field.label for field in self.template_fields().supplied}
        items = ""
        for missing in error.missing:
            evidence = re.fullmatch(r"evidence\[(.+)\]", missing.name)
            if missing.name in labels:
                items += f"<li><b>{html.escape(labels[missing.name])}</b>: fill it in above</li>"
            elif evidence:
                items += (f"<li><b>Evidence for '{html.escape(evidence.group(1))}'</b>: fill "
                          "it in above</li>")
            else:
                items += (f"<li><b>{html.escape(missing.name)}</b>: "
                          f"{html.escape(missing.where)}</li>")
        self.feedback.value = (f'<div class="pa-message pa-warn">{len(error.missing)} field(s) '
                               f"are empty; fill them, then try again:<ul>{items}</ul></div>")

    def _preview(self, _: object = None) -> None:
        self.preview_letter()

    def preview_letter(self) -> str | None:
        """Show the letter's text as it would be made; None when it cannot be made yet."""
        set_message(self.feedback, "")
        try:
            data = self.maker.render(str(self.request_id), str(self.kind.value), self.supplied())
        except MissingFieldsError as error:
            self._explain_missing(error)
            self.preview.value = ""
            return None
        except Exception as error:
            set_message(self.feedback, explain(error), "error")
            return None
        text = letter_text(data)
        lines = "".join(f"<div>{html.escape(line)}</div>" if line.strip() else "<div>&nbsp;</div>"
                        for line in text.splitlines())
        self.preview.value = f'<div class="pa-preview">{lines}</div>'
        return text

    def _make(self, _: object = None) -> None:
        self.make_letter()

    def make_letter(self) -> bytes | None:
        """Make the .docx, record it in History, offer it for download."""
        set_message(self.feedback, "")
        self.download.value = ""
        dashboard = self.dashboard
        recorded, cause = True, ""
        try:
            result = self.maker.make([str(self.request_id)], str(self.kind.value),
                                     self.supplied(), by=dashboard.session.user)
        except LettersNotRecordedError as error:  # made, but History could not be saved
            result, recorded = error.result, False
            cause = error.reason
        except Exception as error:
            set_message(self.feedback, explain(error), "error")
            return None
        if result.errors:
            first = result.errors[0]
            if isinstance(first, MissingFieldsError):
                self._explain_missing(first)
            else:
                set_message(self.feedback, str(first), "error")
            return None
        made = result.made[0]
        data = made.path.read_bytes()
        if recorded:
            dashboard.session.reload()  # History changed on disk
            set_message(self.feedback, f"Made {made.path.name} in {made.path.parent} and "
                        "recorded it in the History sheet.")
        else:
            set_message(self.feedback, f"Made {made.path.name} in {made.path.parent}, but it is "
                        f"NOT recorded in the History sheet, because {cause}. Download it "
                        "below; add it to History by hand, or delete it and make it again.",
                        "error")
        self.download.value = download_link(data, made.path.name, f"Download {made.path.name}")
        return data


class DenialsDashboard:
    """Open denials, closing soonest first, with letters and the request's steps."""

    def __init__(self, session: TrackerSession, as_of: dt.datetime | str | None = None):
        self.session = session
        self.fixed_now = pd.Timestamp(as_of) if as_of is not None else None
        self._maker: tuple[tuple[str, pd.Timestamp], LetterMaker] | None = None
        self.board = pd.DataFrame()
        self.header = widgets.HTML()
        self.feedback = widgets.HTML()
        self.problems = widgets.HTML()
        self.owner = self._dropdown("Owner", "pa-filter-owner")
        self.payer = self._dropdown("Payer", "pa-filter-payer")
        self.window = self._dropdown("Window", "pa-filter-window")
        self.table = RowTable(TABLE_COLUMNS, page_size=15, on_open=self.open_row,
                              row_classes=self._row_classes, sort_by="next_deadline",
                              sort_keys={"next_shown": "next_deadline",
                                         "days_shown": "days_left"}, feedback=self.feedback,
                              selectable=True)
        self.bulk = BulkActions(session, self.table, self.feedback, "denials")
        self.letter = LetterForm(self)
        self._detail: RequestDetail | None = None
        self.detail_box = widgets.VBox([widgets.HTML(
            "<p>Choose <b>Open</b> on a denial to see its request here, and record its "
            "peer-to-peer and appeal steps.</p>")])
        self.batch_kind = widgets.Dropdown(
            options=[(kind.title, kind.key) for kind in KINDS.values()], value="appeal",
            description="Kind", layout=widgets.Layout(width="360px"))
        self.batch_kind.add_class("pa-batch-kind")
        observe(self.batch_kind, lambda _: self.forget_batch(), self.feedback)
        self.batch_button = widgets.Button(description="Show the letters for every denial shown",
                                           layout=widgets.Layout(width="320px"))
        self.batch_button.add_class("pa-batch-plan")
        on_click(self.batch_button, lambda _: self.plan_batch(), self.feedback,
                 busy="Listing the letters…")
        self.batch_plan = widgets.HTML()
        self.batch_plan.add_class("pa-batch-plan-list")
        self.confirm_button = widgets.Button(description="Confirm: make these letters",
                                             button_style="primary", disabled=True,
                                             layout=widgets.Layout(width="320px"))
        self.confirm_button.add_class("pa-batch-confirm")
        on_click(self.confirm_button, lambda _: self.confirm_batch(), self.feedback,
                 busy="Making the letters…", enabled=lambda: self._pending is not None)
        # what the list shows, made as shown on Confirm: (request IDs, kind, shared, own)
        self._pending: tuple[list[str], str, dict[str, object],
                             dict[str, dict[str, object]]] | None = None
        self.progress = ProgressBar("pa-batch-progress")
        self.batch_report = widgets.HTML()
        self.batch_report.add_class("pa-batch-report")
        self.letter_box = widgets.VBox([widgets.HTML(
            "<p>Choose <b>Open</b> on a denial to make a letter for it.</p>")])
        self.user_bar = UserBar(session, self.feedback)
        self.search = SearchPanel(session, on_open=self.open_request,
                                  on_patient=self.open_patient, feedback=self.feedback)
        self.patient = PatientView(session, on_open=self.open_request)
        self.tabs = widgets.Tab(children=[
            widgets.VBox([widgets.HBox([self.owner, self.payer, self.window],
                                       layout=widgets.Layout(flex_flow="row wrap")),
                          self.bulk.widget,
                          self.table.widget,
                          widgets.HTML(
                              "<h4>Batch</h4><p>One letter kind for every denial the filters "
                              "show. Of the fields filled on the Letter tab, those about the "
                              "sender (the provider's call window) go into every letter; those "
                              "about a patient (history, points, enclosures) go only into the "
                              "letter of the request they were typed for, and a letter that "
                              "needs them for its own patient is skipped with the reason. "
                              "The list shows each letter first; <b>Confirm</b> makes them."
                              "</p>"),
                          widgets.HBox([self.batch_kind, self.batch_button]), self.batch_plan,
                          self.confirm_button, self.progress.widget, self.batch_report]),
            self.letter_box, self.detail_box, self.patient.widget])
        for index, title in enumerate(("Denials", "Letter", "Request detail", "Patient")):
            self.tabs.set_title(index, title)
        self.tabs.add_class("pa-tabs")
        self.page_shown = PageShown(self.shown, self.feedback)
        self.widget = widgets.VBox([widgets.HTML(STYLE + PREVIEW_STYLE), self.page_shown.widget,
                                    self.header,
                                    self.user_bar.widget, self.feedback, self.search.widget,
                                    self.problems, self.tabs])
        self.widget.add_class("pa-denials")
        session.listeners.append(self.rebuild)
        self.rebuild()
        share_layouts(self.widget)

    @property
    def now(self) -> pd.Timestamp:
        return self.fixed_now if self.fixed_now is not None else pd.Timestamp.now().floor("s")

    def maker(self) -> LetterMaker:
        """One LetterMaker per tracker version and day (a page left open overnight dates
        its letters, and counts its windows, from the new day)."""
        key = (self.session.fingerprint, self.now.normalize())
        if self._maker is None or self._maker[0] != key:
            self._maker = (key, LetterMaker(self.session.tracker, now=self.now,
                                            deadlines=self.session.deadlines(self.now)))
        return self._maker[1]

    @property
    def detail(self) -> RequestDetail:
        if self._detail is None:
            self._detail = RequestDetail(self.session)
            self.detail_box.children = [self._detail.widget]
        return self._detail

    def _dropdown(self, description: str, css: str) -> widgets.Dropdown:
        dropdown = widgets.Dropdown(options=[ALL], value=ALL, description=description,
                                    layout=widgets.Layout(width="300px"))
        dropdown.add_class(css)
        observe(dropdown, lambda _: self.refresh_table(), self.feedback)
        return dropdown

    def _row_classes(self, row: pd.Series) -> list[str]:
        days = row["days_left"]
        if pd.notna(days) and days < 0:
            return ["pa-overdue"]
        if pd.notna(days) and days < 2:
            return ["pa-today"]
        return []

    def picture(self) -> str:
        """Denials as a picture (common.page_picture) laid out as the live page: the
        heading, grey bars where the controls will be and the board's first page."""
        return page_picture(
            self.header.value + picture_bar(30, 980, "Opening the denials…")
            + picture_bar(26, 560) + (picture_bar(36) if self.problems.value else "")
            + picture_bar(26, 560) + '<div class="pa-panel">' + picture_bar(28, 940)
            + picture_bar(28, 660) + picture_bar(28, 660) + picture_bar(28, 860)
            + f"{self.table.picture_html()}</div>", self.built_at, self.fixed_now is not None,
            live=".pa-denials .pa-row, .pa-denials .pa-empty, .pa-unusable")

    def shown(self, query: str = "") -> None:
        """The page is on a screen (PageShown): a tracker saved since the page was built
        (pre-heated) is read again, a board of an earlier day or older than FRESH_FOR is
        computed again."""
        if self.session.changed_on_disk():
            self.session.reload()
        elif not still_fresh(self.built_at, self.fixed_now is not None):
            self.rebuild()

    def rebuild(self) -> None:
        tracker = self.session.tracker
        now = self.now
        self.built_at = now
        board = denials_for(tracker, now, deadlines=self.session.deadlines(now))
        end_of_day = board["next_deadline"].dt.strftime("%H:%M:%S") == "23:59:59"
        board["next_shown"] = board["next_deadline"].dt.strftime("%Y-%m-%d %H:%M").where(
            ~end_of_day, board["next_deadline"].dt.strftime("%Y-%m-%d")).fillna("")
        board["days_shown"] = board["days_left"].apply(
            lambda days: "" if pd.isna(days) else "overdue" if -1 < days < 0
            else f"{days:.0f}" if abs(days) >= 1 else "today")
        board["next_window"] = board["next_window"].fillna("awaiting the payer")
        self.board = board
        overdue = int((board["days_left"] < 0).sum())
        risk = TARGETS["deadline_risk"].default  # the worklist's "legal deadline at risk"
        soon = int(((board["days_left"] >= 0) & (board["days_left"] < risk)).sum())
        self.header.value = (
            '<div class="pa-title">Denials and appeals</div>'
            f'<div class="pa-sub">{html.escape(self.session.path.name)} · {len(board)} open '
            f"denials · {soon} window(s) closing within {risk} days · "
            f'<span class="pa-overdue-text">{overdue} overdue</span> · as of '
            f"{now:%Y-%m-%d %H:%M}</div>")
        if self.search.box.value.strip():
            self.search.search()  # the results follow the tracker as it is now
        self.problems.value = (f"<details><summary>Tracker check: {len(tracker.errors)} "
                               "error(s); rows with errors may be missing</summary>"
                               f"{problems_table(tracker)}</details>" if tracker.errors else "")
        for dropdown, column in ((self.owner, "owner"), (self.payer, "payer"),
                                 (self.window, "next_window")):
            values = sorted({str(v) for v in board[column] if pd.notna(v)})
            keep = dropdown.value if dropdown.value in values else ALL
            if list(dropdown.options) != [ALL, *values]:
                dropdown.options = [ALL, *values]
            dropdown.value = keep
        self.bulk.refresh_owners()
        self.refresh_table(keep_page=True)

    def filtered(self) -> pd.DataFrame:
        board = self.board
        keep = pd.Series(True, index=board.index)
        for dropdown, column in ((self.owner, "owner"), (self.payer, "payer"),
                                 (self.window, "next_window")):
            if dropdown.value != ALL:
                keep &= (board[column].astype("string") == dropdown.value).fillna(False)
        return board[keep]

    def refresh_table(self, keep_page: bool = False) -> None:
        self.table.set_rows(self.filtered(), keep_page=keep_page)
        self.forget_batch()  # another set of denials: the list shown no longer holds

    def open_row(self, row: pd.Series | Mapping[str, object]) -> None:
        self.open_request(str(row["request_id"]))

    def open_patient(self, request_id: str) -> None:
        set_message(self.feedback, "")
        self.patient.show(request_id)
        self.tabs.selected_index = 3

    def open_request(self, request_id: str) -> None:
        """The letter form and the request's steps; a request that is not an open denial
        still gets its detail (found by search), its letter tab says which letters fit."""
        set_message(self.feedback, "")
        self.letter_box.children = [self.letter.widget]
        self.letter.show(request_id)
        self.detail.show(request_id)
        self.tabs.selected_index = 1

    def forget_batch(self) -> None:
        self._pending = None
        self.batch_plan.value = ""
        self.confirm_button.disabled = True

    def plan_batch(self) -> BatchPlan | None:
        """List the letters the batch will make, with what each takes from the form, and
        the ones it will skip with the reason; nothing is written until Confirm."""
        self.forget_batch()
        self.batch_report.value = ""
        set_message(self.feedback, "")
        request_ids = [str(value) for value in self.filtered()["request_id"]]
        kind = str(self.batch_kind.value)
        if not request_ids:
            self.batch_plan.value = "<p>No denial is shown: nothing to make.</p>"
            return None
        shared, typed_for = self.letter.batch_values(kind)
        try:
            plan = self.maker().plan_batch(request_ids, kind, shared, typed_for, batch=True)
        except Exception as error:
            set_message(self.feedback, explain(error), "error")
            return None
        self._pending = (request_ids, kind, shared, typed_for)
        self.batch_plan.value = plan_html(plan, self.maker())
        self.confirm_button.disabled = not plan.to_make
        self.confirm_button.description = f"Confirm: make {len(plan.to_make)} letter(s)"
        return plan

    def confirm_batch(self) -> None:
        """Make the letters the list showed, from the values it showed."""
        if self._pending is None:
            self.batch_report.value = "<p>Show the letters first: nothing was made.</p>"
            return
        request_ids, kind, shared, typed_for = self._pending
        self.forget_batch()
        self.progress.start(len(request_ids), f"Making {plural(len(request_ids), 'letter')}…")
        try:
            result = self.maker().make(
                request_ids, kind, shared, by=self.session.user, supplied_for=typed_for,
                batch=True, progress=lambda done, total: self.progress.tell(
                    done, f"Letter {done:,} of {total:,}…"))
        except LettersNotRecordedError as error:
            set_message(self.feedback, explain(error), "error")
            result = error.result  # still offer what was made
        except Exception as error:
            set_message(self.feedback, explain(error), "error")
            self.progress.finish("No letter was made: see the message above.", "error")
            return
        self.progress.finish(
            f"{plural(len(result.made), 'letter')} made"
            + ("" if result.history_recorded or not result.made else
               ", not recorded in History")
            + (f"; {len(result.skipped):,} skipped (see the list)." if result.skipped else "."),
            "ok" if result.history_recorded or not result.made else "error")
        if result.history_recorded:
            self.session.reload()
        links = "".join(f"<li>{download_link(m.path.read_bytes(), m.path.name, m.path.name)}"
                        "</li>" for m in result.made)
        labels = {field.name: field.label
                  for field in self.maker().fields(kind).supplied}
        skipped = "".join(f"<li>{html.escape(request_id)}: "
                          + html.escape(plain_reason(why, labels)).replace("\n", "<br>")
                          + "</li>" for request_id, why in result.skipped)
        folder = html.escape(str(result.made[0].path.parent)) if result.made else ""
        self.batch_report.value = (
            f"<p><b>{len(result.made)} letter(s) made</b>"
            + (f" in {folder}" if result.made else "")
            + (", recorded in the History sheet" if result.history_recorded else
               (", <b>not</b> recorded in the History sheet" if result.made else ""))
            + f"; <b>{len(result.skipped)} skipped</b>.</p>"
            + (f"<ul>{links}</ul>" if links else "")
            + (f"<p>Skipped:</p><ul>{skipped}</ul>" if skipped else ""))


# How the letters module tells a command-line user to supply a field, and the same on a page
_SUPPLY = re.compile(r"supply it(?P<batch> for the whole batch)?: --set '?(?P<name>[^=']+)="
                     r"\.\.\.'? \(or the (?:letter form|Letter tab) in the dashboard\)")
_CLI_ONLY = re.compile(r" \(or `patoolkit letter` with its REQUEST_ID\)")


def plain_reason(text: str, labels: Mapping[str, str] | None = None) -> str:
    """Why a letter is skipped, in the page's words: no --set, fields by their label."""
    labels = labels or {}

    def page_words(match: re.Match[str]) -> str:
        return ("fill it in on the Letter tab (it goes into every letter)" if match["batch"]
                else "fill it in on the Letter tab")

    text = _CLI_ONLY.sub("", _SUPPLY.sub(page_words, text))
    lines = []
    for line in text.splitlines():
        item = re.fullmatch(r"\s*- (?P<name>[^:]+): (?P<rest>.*)", line)
        if item and item["name"] in labels:
            line = f"  - {labels[item['name']]}: {item['rest']}"
        elif item and item["name"].startswith("evidence["):
            line = f"  - Evidence for '{item['name'][9:-1]}': {item['rest']}"
        lines.append(line)
    return "\n".join(lines).replace("; nothing was written.", ":")


def _field_items(items: Sequence[tuple[str, object]]) -> str:
    return "".join(
        f"<li><b>{html.escape(label)}</b>: "
        + html.escape("; ".join(map(str, value)) if isinstance(value, list) else
                      "; ".join(f"{k}: {v}" for k, v in value.items())
                      if isinstance(value, Mapping) else str(value)) + "</li>"
        for label, value in items)


def plan_html(plan: BatchPlan, maker: LetterMaker) -> str:
    """The batch's letters before they are made: each with what it takes from the form."""
    shared = plan.labelled(plan.shared)
    text = (f"<p><b>{len(plan.to_make)} {html.escape(plan.kind.title.lower())} letter(s) "
            f"to make</b>, <b>{len(plan.to_skip)} to skip</b>. Nothing is written until "
            "you Confirm.</p>")
    text += ("<p>In every letter, about the sender:</p><ul>" + _field_items(shared) + "</ul>"
             if shared else "<p>No field of the form is shared by every letter.</p>")
    rows = ""
    for letter in plan.to_make:
        payer = html.escape(str(maker.request_row(letter.request_id).get("payer") or ""))
        own = plan.labelled(letter.own)
        rows += (f'<li class="pa-batch-letter"><b>{html.escape(letter.request_id)}</b> '
                 f"({payer}): " + (
                     ("the shared fields and " if shared else "")
                     + "this patient's own fields, typed for this request:<ul>"
                     + _field_items(own) + "</ul>" if own else
                     "the tracker's values" + (" and the shared fields" if shared else "")
                     + " only") + "</li>")
    if rows:
        text += f"<p>Letters to make:</p><ul>{rows}</ul>"
    labels = {field.name: field.label for field in plan.fields.supplied}
    skipped = "".join(f'<li class="pa-batch-skip"><b>{html.escape(letter.request_id)}</b>: '
                      + html.escape(plain_reason(str(letter.why), labels)).replace("\n", "<br>")
                      + "</li>" for letter in plan.to_skip)
    if skipped:
        text += f"<p>Letters to skip:</p><ul>{skipped}</ul>"
    return text


PREVIEW_STYLE = """
<style>
.pa-preview { font-family: Arial, sans-serif; font-size: 13px; line-height: 1.35;
  border: 1px solid #dde3ea; padding: 16px 20px; max-width: 760px; background: #fff;
  word-break: normal; overflow-wrap: anywhere; white-space: normal; }
.pa-preview div { margin: 0; }
.pa-download { font-weight: 600; }
</style>
"""
