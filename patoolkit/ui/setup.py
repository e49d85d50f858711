"""Client set-up, for consultants: create a tracker, check one, see each payer's rules in
effect, and import the tracker the client already keeps."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from ..deadlines import compute_deadlines
from ..schema import is_missing
from ..tracker.read import Tracker, load_tracker, typed_frame
from .common import (
    STYLE,
    UserBar,
    fmt,
    on_click,
    problems_table,
    resolve_tracker_path,
    safely,
    set_message,
)

# What each column of the payer table shows, and the fake event that makes it apply.
DRUG = {"service_category": "Specialty Medication"}
PAYER_COLUMNS: list[tuple[str, str, dict[str, object]]] = [
    ("Standard decision", "decision_due", {"urgency": "Standard"}),
    ("Expedited decision", "decision_due", {"urgency": "Expedited"}),
    ("Standard drug decision", "decision_due", {"urgency": "Standard", **DRUG}),
    ("Expedited drug decision", "decision_due", {"urgency": "Expedited", **DRUG}),
    ("Extension", "decision_due", {"urgency": "Standard", "extension_days": 365}),
    ("Peer-to-peer window", "p2p_window_closes", {"decision": "Denied"}),
    ("Appeal filing", "appeal_filing_deadline", {"decision": "Denied"}),
    ("Appeal decision", "appeal_decision_due",
     {"decision": "Denied", "appeal_submitted_date": "day"}),
    ("External review", "external_review_deadline",
     {"decision": "Denied", "appeal_outcome": "Upheld"}),
    ("State fair hearing", "state_fair_hearing_deadline",
     {"decision": "Denied", "appeal_outcome": "Upheld"}),
]


def payer_rules_table(tracker: Tracker, on: dt.date | None = None) -> pd.DataFrame:
    """For every payer plan on the Payers sheet: each timeframe in effect and its basis."""
    payers = tracker.frames["Payers"].dropna(subset=["payer"])
    day = pd.Timestamp(on or dt.date.today())
    # One example request per payer and column, all computed in a single call.
    examples = [{"request_id": f"{n}-{k}", "payer": payer, "plan_type": plan,
                 "submitted_at": day, "decision_date": day, "appeal_decision_date": day,
                 **{key: day if value == "day" else value for key, value in event.items()}}
                for n, (payer, plan) in enumerate(zip(payers["payer"], payers["plan_type"],
                                                      strict=True))
                for k, (_, _, event) in enumerate(PAYER_COLUMNS)]
    if not examples:
        return pd.DataFrame(columns=["Payer", "Plan type", *(h for h, _, _ in PAYER_COLUMNS)])
    found = compute_deadlines(typed_frame("Requests", examples, tracker.lists),
                              tracker.frames["Payers"], tracker.settings,
                              tracker.calendar(day), as_of=day)
    width = len(PAYER_COLUMNS)
    rows = []
    for n, (payer, plan) in enumerate(zip(payers["payer"], payers["plan_type"], strict=True)):
        row = {"Payer": payer, "Plan type": fmt(plan)}
        for k, (heading, deadline, event) in enumerate(PAYER_COLUMNS):
            basis = found["basis_" + deadline].iloc[n * width + k]
            if "extension_days" in event:  # only the limit, as check and deadlines apply it
                basis = _extension_words(basis)
            row[heading] = "none on record" if pd.isna(basis) else str(basis)
        rows.append(row)
    return pd.DataFrame(rows)


def _extension_words(basis: object) -> str | None:
    """The extension part of a decision basis computed with an oversized extension."""
    text = "" if is_missing(basis) else str(basis)
    if "is more than the law allows: " in text:
        return "at most " + text.split("is more than the law allows: ", 1)[1]
    return "no federal limit: added as given" if "days' extension" in text else None


class ClientSetup:
    def __init__(self, tracker_path: str | None = None):
        current = resolve_tracker_path(tracker_path)
        self.new_path = widgets.Text(description="New tracker",
                                     placeholder="/path/to/client_tracker.xlsx",
                                     layout=widgets.Layout(width="560px"))
        self.new_path.add_class("pa-new-path")
        self.create = widgets.Button(description="Create blank tracker",
                                     layout=widgets.Layout(width="210px"))
        self.create.add_class("pa-create")
        self.create_feedback = widgets.HTML()
        self.check_path = widgets.Text(value=str(current), description="Tracker",
                                       layout=widgets.Layout(width="560px"))
        self.check_path.add_class("pa-check-path")
        self.check = widgets.Button(description="Check tracker")
        self.check.add_class("pa-check")
        self.report = widgets.HTML()
        self.report.add_class("pa-report")
        self.rules = widgets.HTML()
        self.rules.add_class("pa-payer-rules")
        for text in (self.new_path, self.check_path):
            text.style = {"description_width": "110px"}
        from .import_wizard import ImportWizard

        self.importer = ImportWizard(lambda: Path(self.check_path.value.strip()).expanduser())
        on_click(self.create, lambda _: self.create_tracker(), self.create_feedback,
                 busy="Creating…")
        on_click(self.check, lambda _: self.check_tracker(), self.report, busy="Checking…")
        self.user_bar = UserBar(self.importer, self.report)  # imports record the name
        self.widget = widgets.VBox([
            widgets.HTML(STYLE + '<div class="pa-title">Client set-up</div><div class="pa-sub">'
                         "Create a tracker for a new client, check a tracker, and see the "
                         "timeframes and windows in effect for each payer.</div>"),
            self.user_bar.widget, widgets.HTML("<h4>1. New client</h4>"),
            widgets.HBox([self.new_path, self.create]), self.create_feedback,
            widgets.HTML("<h4>2. Check a tracker</h4>"),
            widgets.HBox([self.check_path, self.check]), self.report,
            widgets.HTML("<h4>3. Timeframes and windows in effect, per payer</h4>"), self.rules,
            widgets.HTML("<h4>4. Import the tracker the client keeps today, into the tracker "
                         "above</h4>"), self.importer.widget,
        ])
        self.widget.add_class("pa-setup")
        self.check_tracker()

    def create_tracker(self) -> None:
        @safely(lambda: self.create_feedback)
        def run() -> None:
            from ..tracker.create import new_tracker

            text = self.new_path.value.strip()
            if not text:
                set_message(self.create_feedback, "Type where to save the new tracker.", "error")
                return
            path = new_tracker(Path(text).expanduser())
            set_message(self.create_feedback, f"Created {path}. Open it in Excel: the "
                        "Instructions sheet explains every column.", "ok")
            self.check_path.value = str(path)
        run()

    def check_tracker(self) -> None:
        @safely(lambda: self.report)
        def run() -> None:
            self.rules.value = ""  # never leave another tracker's rules on screen
            tracker = load_tracker(Path(self.check_path.value.strip()).expanduser())
            summary = (f"<p>{len(tracker.requests)} requests, {len(tracker.errors)} errors, "
                       f"{len(tracker.warnings)} warnings.</p>")
            self.report.value = summary + problems_table(tracker)
            table = payer_rules_table(tracker)
            if table.empty:
                self.rules.value = "<p>No payers on the Payers sheet yet.</p>"
                return
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row)
                           + "</tr>" for row in table.itertuples(index=False))
            self.rules.value = f'<table class="pa-grid"><tr>{head}</tr>{body}</table>'
        run()
