"""Dashboards as widgets. Notebooks call these; all logic lives here, where pytest reaches it.

    today_app(tracker_path)    the morning worklist with the request detail
    intake_app(tracker_path)   the "New request" form
    setup_app(tracker_path)    client set-up for consultants
    denials_app(tracker_path)  denials and appeals: windows, letters, P2P and appeal steps
    scorecard_app(tracker_path, date_from, date_to, report)  payer scorecard (report=True:
                               static HTML for `patoolkit report`)
    claims_app(tracker_path)   the claim-to-authorization audit

Each returns a widget to display. When the tracker cannot be used they return
a friendly page saying what is wrong and what to do, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import ipywidgets as widgets

from .claims_audit import ClaimsAuditDashboard
from .common import (
    PageShown,
    TrackerSession,
    broken_page,
    query_value,
    resolve_tracker_path,
    show_picture,
    unusable_page,
)
from .denials import DenialsDashboard, LetterForm
from .detail import RequestDetail
from .intake import IntakeForm
from .scorecard import ScorecardDashboard, scorecard_html, scorecard_report
from .setup import ClientSetup, payer_rules_table
from .today import TodayDashboard

__all__ = [
    "ClaimsAuditDashboard",
    "ClientSetup",
    "DenialsDashboard",
    "IntakeForm",
    "LetterForm",
    "RequestDetail",
    "ScorecardDashboard",
    "TodayDashboard",
    "TrackerSession",
    "claims_app",
    "denials_app",
    "intake_app",
    "payer_rules_table",
    "scorecard_app",
    "scorecard_html",
    "scorecard_report",
    "setup_app",
    "today_app",
]


# set by Voila in the environment of a kernel it pre-heats
PREHEAT_ENV = "VOILA_PREHEAT"


def _session(tracker_path: str | os.PathLike[str] | None) -> TrackerSession | widgets.Widget:
    path = resolve_tracker_path(tracker_path)
    try:
        return TrackerSession(path)
    except Exception as error:
        return unusable_page(path, error)


def _page(tracker_path: str | os.PathLike[str] | None,
          build: Callable[[TrackerSession], widgets.Widget]) -> widgets.Widget:
    """A dashboard, or a page saying what went wrong and where to fix it: never a cell error.

    In a pre-heated kernel (Voila's pool) the page is built before anyone asks for it: a
    tracker unusable then may be fixed by the time the page is opened, so such a page tries
    again when shown instead of showing the old problem.
    """
    page = _built(tracker_path, build)
    if os.environ.get(PREHEAT_ENV) != "True" or "pa-unusable" not in page._dom_classes:
        return page
    where = widgets.HTML()
    box = widgets.VBox()

    def shown(_: str) -> None:
        again = _built(tracker_path, build)
        if "pa-unusable" not in again._dom_classes:
            box.children = [again]  # the dashboard's own PageShown takes the address's query

    box.children = [page, PageShown(shown, where).widget, where]
    return box


def _built(tracker_path: str | os.PathLike[str] | None,
           build: Callable[[TrackerSession], widgets.Widget]) -> widgets.Widget:
    session = _session(tracker_path)
    if not isinstance(session, TrackerSession):
        return session
    try:
        return build(session)
    except Exception as error:
        return broken_page(session.tracker, error)


def page_query(name: str) -> str | None:
    """A parameter of the page's address (Voila gives the kernel QUERY_STRING): the start
    page's Find opens Today with ?q=..."""
    return query_value(os.environ.get("QUERY_STRING", ""), name)


def today_app(tracker_path: str | None = None, as_of: str | None = None,
              find: str | None = None) -> widgets.Widget:
    """Today; `find` (else the address's ?q=) is typed into its search box."""
    def build(session: TrackerSession) -> widgets.Widget:
        dashboard = TodayDashboard(session, as_of=as_of)
        query = find or page_query("q")
        if query:
            dashboard.search.search(query)
        else:  # a search's page opens on its results, not on the worklist's picture
            show_picture(dashboard.picture())
        return dashboard.widget

    return _page(tracker_path, build)


def intake_app(tracker_path: str | None = None) -> widgets.Widget:
    return _page(tracker_path, lambda session: IntakeForm(session).widget)


def setup_app(tracker_path: str | None = None) -> widgets.Widget:
    try:
        return ClientSetup(tracker_path).widget
    except Exception as error:
        return unusable_page(resolve_tracker_path(tracker_path), error)


def denials_app(tracker_path: str | None = None, as_of: str | None = None) -> widgets.Widget:
    def build(session: TrackerSession) -> widgets.Widget:
        dashboard = DenialsDashboard(session, as_of=as_of)
        show_picture(dashboard.picture())
        return dashboard.widget
    return _page(tracker_path, build)


def scorecard_app(tracker_path: str | None = None, date_from: str | None = None,
                  date_to: str | None = None, report: bool = False) -> object:
    """The scorecard dashboard; with report=True the static page `patoolkit report` saves."""
    if report:
        from IPython.display import HTML

        return HTML(scorecard_report(tracker_path, date_from, date_to))
    return _page(tracker_path,
                 lambda session: ScorecardDashboard(session, date_from, date_to).widget)


def claims_app(tracker_path: str | None = None, claims_path: str | None = None
               ) -> widgets.Widget:
    return _page(tracker_path, lambda session: ClaimsAuditDashboard(session, claims_path).widget)
