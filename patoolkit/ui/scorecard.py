"""The payer scorecard: KPIs, charts and tables for a date range, and the per-client report.

scorecard_html(card) is the page itself, plain HTML with inline SVG charts: the
dashboard shows it under its date pickers, and `patoolkit report` saves the
same HTML (the scorecard notebook run headless with report=True).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from ..metrics import (
    CMS_GROUP,
    METRICS,
    Scorecard,
    definitions,
    scorecard,
    write_scorecard_xlsx,
)
from ..schema import is_missing
from .charts import bar_chart, line_chart
from .common import (
    STYLE,
    XLSX_TYPE,
    ProgressBar,
    TrackerSession,
    UserBar,
    download_link,
    explain,
    observe,
    on_click,
    problems_table,
    set_message,
)

TILES = (
    ("requests", "Requests", ""), ("decided", "Decided", ""),
    ("approved_pct", "Approved", "%"), ("denied_pct", "Denied", "%"),
    ("first_pass_approval_pct", "First-pass approval", "%"), ("late_pct", "Late decisions", "%"),
    ("median_days_to_decision_standard", "Median days, standard", " d"),
    ("median_days_to_decision_expedited", "Median days, expedited", " d"),
    ("appeal_rate_pct", "Denials contested", "%"), ("overturn_rate_pct", "Overturned", "%"),
)
PAYER_COLUMNS = ("payer", "requests", "decided", "approved_pct", "denied_pct",
                 "median_days_to_decision_standard", "standard_timeframe_days", "late_pct",
                 "info_request_pct", "first_pass_approval_pct", "appeal_rate_pct",
                 "overturn_rate_pct", "p2p_overturn_rate_pct", "appeal_overturn_rate_pct")
CATEGORY_COLUMNS = ("service_category", "requests", "decided", "approved_pct", "denied_pct",
                    "median_days_to_decision", "late_pct", "appeal_rate_pct",
                    "overturn_rate_pct")
PROCESS = ("requirement_checked_pct", "submitted_complete_pct", "submitted_electronically_pct",
           "info_request_pct", "median_hours_to_answer_info", "p2p_same_day_pct",
           "p2p_in_window_pct", "auth_number_recorded_pct")
CMS_MEASURES = tuple(metric.name for metric in METRICS if metric.group == CMS_GROUP)
REPORT_STYLE = """
<style>
.pa-sc { font-family: Arial, Helvetica, sans-serif; color: #222; }
.pa-tiles { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 14px; }
.pa-tile { border: 1px solid #c9d3df; border-radius: 6px; padding: 8px 12px; min-width: 118px;
  background: #f7f9fc; }
.pa-tile b { display: block; font-size: 22px; color: #1F4E78; }
.pa-tile span { font-size: 12px; color: #555; }
.pa-charts { display: flex; flex-wrap: wrap; gap: 12px; }
.pa-chart { flex: 0 0 auto; max-width: 580px; }
.pa-chart svg { max-width: 100%; height: auto; }
.pa-sc h3 { margin: 18px 0 6px; }
.pa-sc table.pa-grid { border-collapse: collapse; font-size: 12px; }
.pa-sc table.pa-grid th, .pa-sc table.pa-grid td { border: 1px solid #dde3ea;
  padding: 3px 6px; text-align: left; vertical-align: top; }
.pa-sc table.pa-grid th { background: #f1f4f8; }
.pa-sc td.pa-num { text-align: right; }
</style>
"""
HTML_TYPE = "text/html"
# what each stage of report.Progress is doing, in the page's words
REPORT_STAGES = {"starting": "Starting the report's notebook", "running": "Running its cells",
                 "written": "Written"}


def _value(value: object, unit: str = "") -> str:
    if is_missing(value):
        return "–"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value}{unit}"


def _table(frame: pd.DataFrame, columns: Sequence[str] | None = None, limit: int = 60) -> str:
    frame = frame[list(columns)] if columns else frame
    head = "".join(f"<th>{html.escape(str(c).replace('_', ' '))}</th>" for c in frame.columns)
    rows = []
    for record in frame.head(limit).itertuples(index=False):
        cells = "".join(
            f'<td class="pa-num">{html.escape(_value(v))}</td>' if isinstance(v, int | float)
            else f"<td>{html.escape(_value(v))}</td>" for v in record)
        rows.append(f"<tr>{cells}</tr>")
    more = (f"<p>{len(frame) - limit} more rows in the xlsx download.</p>"
            if len(frame) > limit else "")
    return f'<table class="pa-grid"><tr>{head}</tr>{"".join(rows)}</table>{more}'


def scorecard_html(card: Scorecard, title: str = "Payer scorecard") -> str:
    """The whole scorecard as HTML: tiles, charts, tables, process measures, definitions."""
    span = (f"requests submitted {card.date_from or 'from the first'} to "
            f"{card.date_to or 'the last'}" if card.date_from or card.date_to
            else "all requests in the tracker")
    overall = card.overall
    tiles = "".join(f'<div class="pa-tile"><b>{html.escape(_value(overall.get(key), unit))}</b>'
                    f"<span>{html.escape(text)}</span></div>" for key, text, unit in TILES)
    payers = card.by_payer
    charts = [
        bar_chart(payers, "payer", ["approved_pct", "denied_pct"],
                  "Approved and denied, % of decided", "%", ["approved", "denied"]),
        bar_chart(payers, "payer", ["median_days_to_decision_standard"],
                  "Median days to a standard decision, against the payer's timeframe", "days",
                  ["median days"], reference="standard_timeframe_days"),
        bar_chart(payers, "payer", ["late_pct"], "Late decisions, % of decided", "%"),
        bar_chart(card.denial_reasons.head(10), "denial_reason", ["count"],
                  "Denial reasons (top 10)", "denials"),
        bar_chart(payers, "payer", ["appeal_rate_pct", "overturn_rate_pct"],
                  "Denials contested (P2P or appeal) and overturned", "%",
                  ["contested, % of denials", "overturned, % of contested"]),
        line_chart(card.by_month.assign(month=card.by_month["month"].astype(str)), "month",
                   ["requests", "decided", "denied"], "Requests by month of submission"),
    ]
    chart_html = "".join(f'<div class="pa-chart">{svg}</div>' for svg in charts)
    process = _measures(overall, PROCESS)
    public = _measures(overall, CMS_MEASURES)
    reasons = card.denial_reasons.head(15)
    return (
        f'{REPORT_STYLE}<div class="pa-sc"><div class="pa-title">{html.escape(title)}</div>'
        f'<div class="pa-sub">{html.escape(span)} · definitions at the end</div>'
        f'<div class="pa-tiles">{tiles}</div><div class="pa-charts">{chart_html}</div>'
        f"<h3>By payer</h3>{_table(payers, PAYER_COLUMNS)}"
        f"<h3>By service category</h3>{_table(card.by_service_category, CATEGORY_COLUMNS)}"
        f"<h3>Denial reasons</h3>{_table(reasons)}"
        f"<h3>Readiness checklist: process measures</h3>{_table(process)}"
        "<h3>CMS-0057-F public-reporting measures, from this practice's requests</h3>"
        f"{_table(public)}"
        f"<h3>Definitions</h3>"
        f"{_table(definitions()[['metric', 'definition', 'numerator', 'denominator']], None, 200)}"
        "</div>")


def _measures(overall: dict[str, object], names: Sequence[str]) -> pd.DataFrame:
    """measure, value, definition for some metrics of the overall row."""
    lookup = {m.name: m for m in METRICS}
    return pd.DataFrame({
        "measure": list(names),
        "value": pd.Series([_value(overall.get(name)) for name in names], dtype=object),
        "definition": [lookup[name].definition.removeprefix("Process: ") for name in names]})


class ScorecardDashboard:
    """Date range in, scorecard out, with the xlsx report to download."""

    def __init__(self, session: TrackerSession, date_from: dt.date | str | None = None,
                 date_to: dt.date | str | None = None):
        self.session = session
        self.card: Scorecard | None = None
        self.date_from = widgets.DatePicker(
            description="From", value=pd.Timestamp(date_from).date() if date_from else None,
            layout=widgets.Layout(width="240px"))
        self.date_to = widgets.DatePicker(
            description="To", value=pd.Timestamp(date_to).date() if date_to else None,
            layout=widgets.Layout(width="240px"))
        self.date_from.add_class("pa-sc-from")
        self.date_to.add_class("pa-sc-to")
        self.feedback = widgets.HTML()
        self.download = widgets.HTML()
        self.download.add_class("pa-sc-download")
        self.body = widgets.HTML()
        self.body.add_class("pa-scorecard")
        self.problems = widgets.HTML()
        for picker in (self.date_from, self.date_to):
            observe(picker, lambda _: self.refresh(), self.feedback)
        # the per-client report (`patoolkit report`): the scorecard notebook run in a kernel
        # of its own, cell by cell, for these dates
        self.report_button = widgets.Button(description="Make the client report (.html)",
                                            layout=widgets.Layout(width="260px"))
        self.report_button.add_class("pa-sc-report")
        on_click(self.report_button, lambda _: self.make_report(), self.feedback,
                 busy="Making the report…")
        self.report_progress = ProgressBar("pa-sc-report-progress")
        self.report_download = widgets.HTML()
        self.report_download.add_class("pa-sc-report-download")
        self.widget = widgets.VBox([
            widgets.HTML(STYLE), widgets.HTML(
                '<div class="pa-sub">Choose the submission dates to measure (both blank: '
                "every request). Every measure is defined at the bottom.</div>"),
            UserBar(session, self.feedback).widget,
            widgets.HBox([self.date_from, self.date_to]), self.feedback, self.problems,
            widgets.HBox([self.download, self.report_button, self.report_progress.widget,
                          self.report_download], layout=widgets.Layout(flex_flow="row wrap",
                                                                      align_items="center")),
            self.body])
        self.widget.add_class("pa-scorecard-app")
        session.listeners.append(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        set_message(self.feedback, "")
        tracker = self.session.tracker
        self.problems.value = (f"<details><summary>Tracker check: {len(tracker.errors)} "
                               "error(s); rows with errors may be missing</summary>"
                               f"{problems_table(tracker)}</details>" if tracker.errors else "")
        try:
            now = pd.Timestamp.now().floor("min")
            self.card = scorecard(tracker.requests, self.session.deadlines(now),
                                  self.date_from.value, self.date_to.value)
        except Exception as error:
            set_message(self.feedback, explain(error), "error")
            return
        self.body.value = scorecard_html(self.card)
        self.download.value = self._download_link()

    def report_name(self) -> str:
        """scorecard-2026-10-01-to-2026-10-31.html; scorecard-<today>.html for every request."""
        start, end = self.date_from.value, self.date_to.value
        if start or end:
            return f"scorecard-{start or 'first'}-to-{end or 'last'}.html"
        return f"scorecard-{dt.date.today().isoformat()}.html"

    def make_report(self) -> str | None:
        """The report `patoolkit report` writes, for these dates, offered for download: a
        bar moves with each cell of the notebook run, and a line says what was written."""
        import tempfile

        from ..report import write_report

        name = self.report_name()
        self.report_download.value = ""
        self.report_progress.start(1, "Starting the report's notebook…")

        def told(done: int, total: int, stage: str) -> None:
            self.report_progress.bar.max = max(total, 1)
            self.report_progress.tell(done, f"{REPORT_STAGES.get(stage, stage)}: "
                                      f"{done} of {total}…")

        with tempfile.TemporaryDirectory() as folder:
            try:
                path = write_report(self.session.path, Path(folder) / name,
                                    self.date_from.value, self.date_to.value, progress=told)
            except Exception as error:
                set_message(self.feedback, explain(error), "error")
                self.report_progress.finish("No report was written: see the message above.",
                                            "error")
                return None
            data = path.read_bytes()
        self.report_download.value = download_link(data, name, f"Download {name}", HTML_TYPE)
        self.report_progress.finish(f"Report written: {name}")
        return name

    def _download_link(self) -> str:
        import tempfile

        assert self.card is not None
        with tempfile.TemporaryDirectory() as folder:
            path = write_scorecard_xlsx(self.card, Path(folder) / "scorecard.xlsx")
            data = path.read_bytes()
        return download_link(data, "pa_scorecard.xlsx", "Download the scorecard (.xlsx)",
                             XLSX_TYPE)


def scorecard_report(tracker_path: str | None, date_from: str | None,
                     date_to: str | None) -> str:
    """The report's HTML for a tracker and dates (what the notebook shows with report=True)."""
    from ..deadlines import deadlines_for
    from ..tracker.read import load_tracker
    from .common import resolve_tracker_path

    tracker = load_tracker(resolve_tracker_path(tracker_path))
    start = pd.Timestamp(date_from).date() if date_from else None
    end = pd.Timestamp(date_to).date() if date_to else None
    card = scorecard(tracker.requests, deadlines_for(tracker), start, end)
    practice = str(tracker.settings.get("practice_name") or tracker.path.stem)
    return scorecard_html(card, f"Prior authorization scorecard: {practice}")
