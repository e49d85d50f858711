"""Dashboards as widgets. Notebooks call these; all logic lives here, where pytest reaches it.

    today_app(tracker_path)    the morning worklist with the request detail
    intake_app(tracker_path)   the "New request" form
    setup_app(tracker_path)    client set-up for consultants
    denials_app(tracker_path)  denials and appeals: windows, letters, P2P and appeal steps

Each returns a widget to display. When the tracker cannot be used they return
a friendly page saying what is wrong and what to do, never a traceback.
"""

from __future__ import annotations

import os

import ipywidgets as widgets

from .common import TrackerSession, resolve_tracker_path, unusable_page
from .denials import DenialsDashboard, LetterForm
from .detail import RequestDetail
from .intake import IntakeForm
from .setup import ClientSetup, payer_rules_table
from .today import TodayDashboard

__all__ = [
    "ClientSetup",
    "DenialsDashboard",
    "IntakeForm",
    "LetterForm",
    "RequestDetail",
    "TodayDashboard",
    "TrackerSession",
    "denials_app",
    "intake_app",
    "payer_rules_table",
    "setup_app",
    "today_app",
]


def _session(tracker_path: str | os.PathLike[str] | None) -> TrackerSession | widgets.Widget:
    path = resolve_tracker_path(tracker_path)
    try:
        return TrackerSession(path)
    except Exception as error:
        return unusable_page(path, error)


def today_app(tracker_path: str | None = None, as_of: str | None = None) -> widgets.Widget:
    session = _session(tracker_path)
    if not isinstance(session, TrackerSession):
        return session
    return TodayDashboard(session, as_of=as_of).widget


def intake_app(tracker_path: str | None = None) -> widgets.Widget:
    session = _session(tracker_path)
    if not isinstance(session, TrackerSession):
        return session
    return IntakeForm(session).widget


def setup_app(tracker_path: str | None = None) -> widgets.Widget:
    return ClientSetup(tracker_path).widget


def denials_app(tracker_path: str | None = None, as_of: str | None = None) -> widgets.Widget:
    session = _session(tracker_path)
    if not isinstance(session, TrackerSession):
        return session
    return DenialsDashboard(session, as_of=as_of).widget
