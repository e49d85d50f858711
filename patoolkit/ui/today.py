"""The "Today" dashboard: counts that filter, filters, the actions table, the request detail.

Two clocks per row: the practice's target for the action ("Target") and the date
after which something is lost ("Deadline": the appeal filing deadline, the
peer-to-peer window, the service date, the authorization's expiry). Rows whose
deadline is at risk come first and are marked red; a practice target missed is
amber (worklist.order_worklist).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable

import ipywidgets as widgets
import pandas as pd

from ..timeframes import TARGETS
from ..worklist import splice_worklist, worklist_for, worklist_for_requests
from .bulk import BulkActions
from .common import (
    STYLE,
    PageShown,
    TrackerSession,
    UserBar,
    observe,
    on_click,
    own_layout,
    page_picture,
    picture_bar,
    problems_table,
    query_value,
    set_message,
    share_layouts,
    still_fresh,
)
from .detail import RequestDetail
from .search import PatientView, SearchPanel
from .table import RowTable

ALL = "(all)"
# Widths fit 1366 px wide with the Open button (the Why column takes what is left).
TABLE_COLUMNS = [
    ("clock_shown", "Clock", 92), ("deadline_shown", "Deadline", 170),
    ("due_shown", "Target", 92), ("days_left_shown", "Days", 54), ("action", "Action", 160),
    ("request_id", "Request", 104), ("patient_id", "Patient", 68), ("payer", "Payer", 130),
    ("owner", "Owner", 56), ("reason", "Why", 170),
]
CLOCK_SHOWN = {"deadline at risk": "At risk", "practice target missed": "Target missed",
               "due today": "Due today", "upcoming": ""}


def _count_rules(now: pd.Timestamp) -> dict[str, tuple[str, Callable[[pd.DataFrame], pd.Series]]]:
    today = now.normalize()
    return {
        "deadline_risk": ("Deadlines at risk", lambda a: a["clock"] == "deadline at risk"),
        "overdue": ("Practice targets missed", lambda a: a["days_left"] < 0),
        "today": ("Due today", lambda a: (a["due"].dt.normalize() == today) & (a["due"] >= now)),
        "info": ("Information requests due", lambda a: a["action_key"] == "answer_info_request"),
        "late_decisions": ("Payer decisions overdue",
                           lambda a: a["action_key"].isin(["escalate_decision",
                                                           "escalate_appeal_decision"])),
        "p2p": ("Denials with P2P open", lambda a: a["action_key"] == "request_p2p"),
        "expiring": ("Renewals due",
                     lambda a: a["action_key"] == "renew_authorization"),
        "at_risk": ("Services at risk", lambda a: a["action_key"] == "reschedule_or_expedite"),
    }


class TodayDashboard:
    """The morning worklist. `as_of` fixes 'now' (for tests and for looking back)."""

    def __init__(self, session: TrackerSession, as_of: dt.datetime | str | None = None):
        self.session = session
        self.fixed_now = pd.Timestamp(as_of) if as_of is not None else None
        self.actions = pd.DataFrame()
        self.count_filter: str | None = None
        self.feedback = widgets.HTML()
        self.feedback.add_class("pa-feedback")
        self.header = widgets.HTML()
        self.problems = own_layout(widgets.Accordion(children=[widgets.HTML()]))
        self.problems.add_class("pa-problems-panel")
        self.user_bar = UserBar(session, self.feedback)
        self.user = self.user_bar.box
        self.reload_button = widgets.Button(description="Reload")
        self.reload_button.add_class("pa-reload-all")
        # a tracker gone or broken since the page loaded: said in the page, like any action
        on_click(self.reload_button, lambda _: self.reload(), self.feedback,
                 busy="Reloading…")
        self.search = SearchPanel(session, on_open=self.open_request,
                                  on_patient=self.open_patient, feedback=self.feedback)
        self.patient = PatientView(session, on_open=self.open_request)
        self.count_buttons: dict[str, widgets.Button] = {}
        self.counts = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.counts.add_class("pa-counts")
        self.owner = self._dropdown("Owner", "pa-filter-owner")
        self.payer = self._dropdown("Payer", "pa-filter-payer")
        self.plan = self._dropdown("Plan type", "pa-filter-plan")
        self.action = self._dropdown("Action", "pa-filter-action")
        self.category = self._dropdown("Service", "pa-filter-category")
        self.due_from = widgets.DatePicker(description="Due from",
                                           layout=widgets.Layout(width="240px"))
        self.due_to = widgets.DatePicker(description="Due to", layout=widgets.Layout(width="240px"))
        for picker in (self.due_from, self.due_to):
            observe(picker, lambda _: self.refresh_table(), self.feedback)
        self.clear = widgets.Button(description="Clear filters")
        self.clear.add_class("pa-clear")
        on_click(self.clear, lambda _: self.clear_filters(), self.feedback)
        self.table = RowTable(TABLE_COLUMNS, page_size=15, on_open=self.open_row,
                              row_classes=self._row_classes, sort_by="clock_order",
                              sort_keys={"due_shown": "due", "days_left_shown": "days_left",
                                         "clock_shown": "clock_order",
                                         "deadline_shown": "deadline"},
                              feedback=self.feedback, selectable=True)
        self.bulk = BulkActions(session, self.table, self.feedback, "worklist")
        # The detail page is built the first time a row is opened: fewer widgets to draw
        # before the worklist shows.
        self._detail: RequestDetail | None = None
        self.detail_box = widgets.VBox([widgets.HTML(
            "<p>Choose <b>Open</b> on a row of the worklist to see that request here.</p>")])
        self.tabs = widgets.Tab(children=[
            widgets.VBox([
                self.counts,
                widgets.HBox([self.owner, self.payer, self.plan],
                             layout=widgets.Layout(flex_flow="row wrap")),
                widgets.HBox([self.action, self.category, self.due_from, self.due_to,
                              self.clear], layout=widgets.Layout(flex_flow="row wrap")),
                self.bulk.widget,
                self.table.widget,
            ]),
            self.detail_box,
            self.patient.widget,
        ])
        self.tabs.set_title(0, "Worklist")
        self.tabs.set_title(1, "Request detail")
        self.tabs.set_title(2, "Patient")
        self.tabs.add_class("pa-tabs")
        self.page_shown = PageShown(self.shown, self.feedback)
        self.widget = widgets.VBox([
            widgets.HTML(STYLE), self.page_shown.widget, self.header,
            widgets.HBox([self.user_bar.widget, self.reload_button]), self.feedback,
            self.search.widget, self.problems, self.tabs,
        ])
        self.widget.add_class("pa-today")
        self.as_of = self.now
        self.built_for = ""
        session.listeners.append(self.changed)
        self.rebuild()
        share_layouts(self.widget)

    def picture(self) -> str:
        """Today as a picture (common.page_picture) laid out as the live page: the heading,
        grey bars where the controls will be, the counts and the worklist's first page."""
        counts = "".join(f'<span class="pa-count">{html.escape(button.description)}</span>'
                         for button in self.count_buttons.values())
        return page_picture(
            self.header.value + picture_bar(30, 980, "Opening the worklist…")
            + picture_bar(26, 560)
            + (picture_bar(36) if self.problems.layout.display != "none" else "")
            + picture_bar(26, 430) + f'<div class="pa-panel"><div class="pa-counts">{counts}</div>'
            + picture_bar(28, 1240) + picture_bar(28, 1240) + picture_bar(28, 660)
            + picture_bar(28, 660) + picture_bar(28, 860) + f"{self.table.picture_html()}</div>",
            self.as_of, self.fixed_now is not None,
            live=".pa-today .pa-row, .pa-today .pa-empty, .pa-unusable")

    @property
    def detail(self) -> RequestDetail:
        if self._detail is None:
            # a save refreshes the worklist through the session's listeners (once)
            self._detail = RequestDetail(self.session)
            self.detail_box.children = [self._detail.widget]
        return self._detail

    @property
    def now(self) -> pd.Timestamp:
        return self.fixed_now if self.fixed_now is not None else pd.Timestamp.now().floor("s")

    def _dropdown(self, description: str, css: str) -> widgets.Dropdown:
        dropdown = widgets.Dropdown(options=[ALL], value=ALL, description=description,
                                    layout=widgets.Layout(width="300px"))
        dropdown.add_class(css)
        observe(dropdown, lambda _: self.refresh_table(), self.feedback)
        return dropdown

    def _row_classes(self, row: pd.Series) -> list[str]:
        classes = ["pa-at-risk"] if row["clock"] == "deadline at risk" else []
        if row["days_left"] < 0:
            return [*classes, "pa-overdue"]
        if pd.Timestamp(row["due"]).normalize() == self.as_of.normalize():
            return [*classes, "pa-today"]
        return classes

    def rebuild(self) -> None:
        """Recompute the whole worklist from the tracker as loaded (after a reload, or a
        write this page could not patch in memory)."""
        tracker = self.session.tracker
        now = self.now
        self.as_of = now
        self.calendar = tracker.calendar(now)
        self.actions = self._decorated(
            worklist_for(tracker, now, deadlines=self.session.deadlines(now)), now)
        # the worklist's own order, for the table's default sort
        self.actions["clock_order"] = range(len(self.actions))
        self.built_for = self.session.fingerprint
        requests = tracker.requests
        errors = len(tracker.errors)
        # The check report, folded, when the tracker has problems: rows with errors may be
        # missing from the worklist, and the manager should know which and why.
        self.problems.layout.display = "" if tracker.problems else "none"
        self.problems.children[0].value = problems_table(tracker)
        self.problems.set_title(0, f"Tracker check: {errors} error(s), "
                                f"{len(tracker.warnings)} warning(s); open to see each")
        warning = (f' <span class="pa-overdue-text">{errors} problem(s) in the tracker: run '
                   "patoolkit check.</span>" if errors else "")
        self.header.value = (
            f'<div class="pa-title">Today: prior authorization worklist</div>'
            f'<div class="pa-sub">{html.escape(self.session.path.name)} · {len(requests)} '
            f"requests · as of {now:%Y-%m-%d %H:%M}{warning}</div>"
            '<div class="pa-sub">Red: a deadline (appeal filing, peer-to-peer window, service '
            f"date, authorization expiry) passed or within {TARGETS['deadline_risk'].default} "
            "days, soonest first. Amber: only "
            "the practice's own target missed.</div>")
        if self.search.box.value.strip():
            self.search.search()  # the results follow the tracker as it is now
        if not self.count_buttons:
            for key, (text, _) in _count_rules(now).items():
                button = widgets.Button(description=text, tooltip=f"Show only: {text}",
                                        layout=widgets.Layout(width="178px", height="52px"))
                button.add_class("pa-count")
                button.add_class(f"pa-count-{key}")
                on_click(button, lambda _, key=key: self.toggle_count(key), self.feedback)
                self.count_buttons[key] = button
            self.counts.children = list(self.count_buttons.values())
        self._style_counts()
        self._fill_dropdowns()
        self.refresh_table()

    def changed(self) -> None:
        """After a change: a save this page made recomputes only the saved requests' rows
        and splices them in (worklist.splice_worklist: the rows and order a full recompute
        gives), as of the same time as the rest; anything else recomputes everything."""
        change = self.session.last_change
        tracker = self.session.tracker
        if (change is None or change.before != self.built_for or not self.fresh()
                or self.actions.empty):
            self.rebuild()
            return
        now = self.as_of
        calendar = tracker.calendar(now)
        if calendar != self.calendar:  # the save moved the calendar's years: every count
            self.rebuild()
            return
        # the saved requests' deadlines alone (deadlines.deadlines_for_requests), not every
        # request's: a request's deadlines are its own
        fresh = self._decorated(worklist_for_requests(tracker, change.rows, now,
                                                      calendar=calendar), now)
        self.actions = splice_worklist(self.actions.drop(columns="clock_order"), fresh,
                                       change.rows, now)
        self.actions["clock_order"] = range(len(self.actions))
        self.built_for = change.after
        if self.search.box.value.strip():
            self.search.search()
        self._fill_dropdowns()
        self.refresh_table(keep_page=True)

    def fresh(self) -> bool:
        """Whether the worklist on the page may stand for now (common.still_fresh: fixed in
        time, or computed today less than FRESH_FOR ago)."""
        return still_fresh(self.as_of, self.fixed_now is not None)

    def shown(self, query: str = "") -> None:
        """The page is on a screen (PageShown): a tracker saved since the page was built is
        read again, a worklist of an earlier day (or older than FRESH_FOR) is computed
        again, and the address's search (?q=) is typed in. A pre-heated page was built
        before anyone asked for it."""
        if self.session.changed_on_disk():
            self.session.reload()
        elif not self.fresh():
            self.rebuild()
        find = query_value(query, "q")
        if find and self.search.box.value.strip() != find:
            self.search.search(find)

    def _decorated(self, actions: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
        """The worklist's rows with what the table shows and filters by."""
        extra = self.session.tracker.requests.reindex(actions["row"])
        actions = actions.copy()
        actions["plan_type"] = extra["plan_type"].to_numpy()
        actions["service_category"] = extra["service_category"].to_numpy()
        # shown: a due date alone when the deadline is the end of a day; whole days left
        actions["due_shown"] = shown_stamps(actions["due"], now)
        actions["days_left_shown"] = actions["days_left"].apply(
            lambda days: "overdue" if -1 < days < 0 else f"{days:.0f}" if abs(days) >= 1
            else "today").astype("string")
        actions["deadline_shown"] = (
            shown_stamps(actions["deadline"], now) + " "
            + actions["deadline_of"].astype("string")).fillna("")
        actions["clock_shown"] = actions["clock"].map(CLOCK_SHOWN).fillna("")
        return actions

    def _fill_dropdowns(self) -> None:
        self.bulk.refresh_owners()
        for dropdown, column in ((self.owner, "owner"), (self.payer, "payer"),
                                 (self.plan, "plan_type"), (self.action, "action"),
                                 (self.category, "service_category")):
            values = sorted({str(v) for v in self.actions.get(column, []) if pd.notna(v)})
            keep = dropdown.value if dropdown.value in values else ALL
            if list(dropdown.options) != [ALL, *values]:
                dropdown.options = [ALL, *values]
            dropdown.value = keep

    def _style_counts(self) -> None:
        for key, button in self.count_buttons.items():
            button.button_style = "info" if key == self.count_filter else ""

    def _update_counts(self, actions: pd.DataFrame) -> None:
        """Counts follow the dropdown and date filters (not the count chosen)."""
        for key, (text, rule) in _count_rules(self.as_of).items():
            count = int(rule(actions).fillna(False).sum()) if len(actions) else 0
            self.count_buttons[key].description = f"{text}: {count}"

    def toggle_count(self, key: str) -> None:
        self.count_filter = None if self.count_filter == key else key
        self._style_counts()
        self.refresh_table()

    def clear_filters(self) -> None:
        self.count_filter = None
        for dropdown in (self.owner, self.payer, self.plan, self.action, self.category):
            dropdown.value = ALL
        self.due_from.value = None
        self.due_to.value = None
        self._style_counts()
        self.refresh_table()

    def filtered(self, with_count: bool = True) -> pd.DataFrame:
        actions = self.actions
        if actions.empty:
            return actions
        keep = pd.Series(True, index=actions.index)
        for dropdown, column in ((self.owner, "owner"), (self.payer, "payer"),
                                 (self.plan, "plan_type"), (self.action, "action"),
                                 (self.category, "service_category")):
            if dropdown.value != ALL:
                keep &= actions[column].astype("string") == dropdown.value
        if self.due_from.value:
            keep &= actions["due"] >= pd.Timestamp(self.due_from.value)
        if self.due_to.value:
            keep &= actions["due"] < pd.Timestamp(self.due_to.value) + pd.Timedelta(days=1)
        if self.count_filter and with_count:
            keep &= _count_rules(self.as_of)[self.count_filter][1](actions).fillna(False)
        return actions[keep.fillna(False)]

    def refresh_table(self, keep_page: bool = False) -> None:
        if self.count_buttons:
            self._update_counts(self.filtered(with_count=False))
        self.table.set_rows(self.filtered(), keep_page=keep_page)

    def reload(self) -> None:
        """Read the tracker again; a problem said by an earlier Reload no longer stands."""
        self.session.reload()
        set_message(self.feedback, f"Reloaded {self.session.path.name} as it is on disk now.")

    def open_row(self, row: pd.Series) -> None:
        self.open_request(str(row["request_id"]))

    def open_request(self, request_id: str) -> None:
        set_message(self.feedback, "")
        self.detail.show(request_id)
        self.tabs.selected_index = 1

    def open_patient(self, request_id: str) -> None:
        set_message(self.feedback, "")
        self.patient.show(request_id)
        self.tabs.selected_index = 2


def shown_stamps(stamps: pd.Series, now: pd.Timestamp) -> pd.Series:
    """Date-times in plain words: 'Dec 4', 'Dec 4 14:30', 'Jan 29 2027' (the year only when
    it is not this one; no time at midnight or the end of a day); blank stays blank."""
    day = stamps.dt.strftime("%b ") + stamps.dt.day.astype("Int64").astype("string")
    day = day.where(stamps.dt.year == now.year, day + stamps.dt.strftime(" %Y"))
    whole_day = stamps.dt.strftime("%H:%M:%S").isin(["23:59:59", "00:00:00"])
    return day.where(whole_day, day + stamps.dt.strftime(" %H:%M")).astype("string")
