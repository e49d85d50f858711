"""What every dashboard shares: the tracker session, safe callbacks, styles, small widgets.

A dashboard never shows a traceback (it can carry patient data): a failing
callback shows a plain message with a reference, and the server log gets the
reference and the exception type, never the values.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import logging
import os
import re
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

import ipywidgets as widgets
import pandas as pd

from ..errors import (
    PAToolkitError,
    Problem,
    TrackerConflictError,
    TrackerLockedError,
)
from ..schema import is_blank, is_missing
from ..tracker.read import Tracker, load_tracker

if TYPE_CHECKING:
    from ..calendars import BusinessCalendar
    from ..tracker.edit import WriteResult

log = logging.getLogger("patoolkit.ui")
TRACKER_ENV = "PATOOLKIT_TRACKER"
BUNDLED_SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "pa_tracker.xlsx"

STYLE = """
<style>
.pa-title { font-size: 20px; font-weight: 600; margin: 4px 0; }
.pa-sub { color: #555; }
.pa-count button, .pa-count { min-width: 150px; height: 56px; white-space: normal;
  line-height: 1.2; font-size: 13px; }
.pa-row { border-bottom: 1px solid #e4e4e4; align-items: center; }
.pa-row.pa-overdue { background: #fde8ea; }
.pa-row.pa-today { background: #fff6dd; }
.pa-cells { display: flex; gap: 6px; font-size: 13px; }
.pa-open { flex: 0 0 64px; min-width: 64px; }
.pa-cells span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.pa-head { font-weight: 600; background: #f1f4f8; border-bottom: 2px solid #c9d3df; }
.pa-head .pa-heading { background: transparent; font-weight: 600; text-align: left;
  padding: 0 6px 0 0; margin: 0; font-size: 13px; overflow: hidden; text-overflow: ellipsis; }
.pa-head .pa-heading:hover { text-decoration: underline; }
.pa-message { padding: 6px 10px; border-radius: 4px; margin: 4px 0; }
.pa-message.pa-ok { background: #e7f5ea; color: #14532d; }
.pa-message.pa-error { background: #fde8ea; color: #7f1d1d; }
.pa-message.pa-warn { background: #fff6dd; color: #713f12; }
table.pa-grid { border-collapse: collapse; font-size: 13px; }
table.pa-grid th, table.pa-grid td { border: 1px solid #dde3ea; padding: 3px 6px;
  text-align: left; vertical-align: top; }
table.pa-grid th { background: #f1f4f8; }
.pa-overdue-text { color: #9c0006; font-weight: 600; }
.pa-row.pa-at-risk { background: #fde8ea; box-shadow: inset 4px 0 0 #b91c1c; }
.pa-row.pa-overdue:not(.pa-at-risk) { background: #fff1e6; }
.pa-search-row { border-bottom: 1px solid #e4e4e4; align-items: center; }
.pa-user-hint { color: #555; font-size: 13px; }
.pa-user-missing input { border: 2px solid #d97706; background: #fff6dd; }
.pa-busy { cursor: progress; opacity: 0.85; }
.pa-busy .widget-label-basic::before, button.pa-busy::before { content: ""; display: inline-block;
  width: 10px; height: 10px; margin-right: 6px; border: 2px solid currentColor;
  border-right-color: transparent; border-radius: 50%; animation: pa-spin .8s linear infinite;
  vertical-align: -1px; }
.pa-progress { align-items: center; gap: 8px; }
.pa-progress-result { font-weight: 600; }
.pa-result-error { color: #9c0006; }
.pa-selection-count { margin-left: 12px; font-weight: 600; }
.pa-select { align-self: center; }
@keyframes pa-spin { to { transform: rotate(360deg); } }
</style>
"""

F = TypeVar("F", bound=Callable[..., Any])
W = TypeVar("W", bound=widgets.Widget)


def resolve_tracker_path(tracker_path: str | os.PathLike[str] | None = None) -> Path:
    """The notebook parameter, else $PATOOLKIT_TRACKER (set by `patoolkit serve`), else sample."""
    if tracker_path:
        return Path(tracker_path)
    if os.environ.get(TRACKER_ENV):
        return Path(os.environ[TRACKER_ENV])
    return BUNDLED_SAMPLE


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_link(data: bytes, file_name: str, text: str, mime: str = DOCX_TYPE) -> str:
    """An <a download> carrying the file itself: Voila serves no files, the browser saves it."""
    import base64

    encoded = base64.b64encode(data).decode("ascii")
    return (f'<a class="pa-download" download="{html.escape(file_name)}" '
            f'href="data:{mime};base64,{encoded}">{html.escape(text)}</a>')


def message(text: str, kind: str = "ok") -> widgets.HTML:
    box = widgets.HTML(f'<div class="pa-message pa-{kind}">{html.escape(text)}</div>')
    box.add_class("pa-msg")
    box.add_class(f"pa-msg-{kind}")
    return box


def set_message(target: widgets.HTML, text: str, kind: str = "ok") -> None:
    target.value = f'<div class="pa-message pa-{kind}">{html.escape(text)}</div>' if text else ""


UNEXPECTED = "Something went wrong"  # how a fault of ours begins, with its reference


def explain(error: Exception) -> str:
    """Words a practice manager can act on, for any error a dashboard action meets.

    patoolkit's own errors say what they are. Anything else is a fault of ours: the page
    gets a reference, and the server log gets the reference with where the code failed
    (file, line, function) but never the exception's text, which can carry patient data.
    """
    if isinstance(error, TrackerConflictError):
        detail = f" {error.detail}" if error.detail else ""
        return ("Someone else saved the tracker after this page loaded it. Nothing was "
                f"overwritten.{detail} Press Reload to see their changes, then make yours "
                "again.")
    if isinstance(error, TrackerLockedError):
        return ("The tracker is open in Excel or LibreOffice. Close it there, then try "
                "again. Nothing was changed.")
    if isinstance(error, PAToolkitError):
        return str(error)
    reference = uuid.uuid4().hex[:8]
    log.error("dashboard action failed (reference %s): %s\n%s", reference,
              type(error).__name__, _where(error))
    return (f"{UNEXPECTED} (reference {reference}). Reload the page to see the "
            "tracker as it is now, then try again; if it happens again, give the reference "
            "to whoever runs the dashboards.")


def _where(error: BaseException) -> str:
    """The traceback's frames (code, not values) and the exception types it chains through."""
    lines = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        lines.append(f"{type(current).__name__} at:")
        lines += traceback.format_list(traceback.extract_tb(current.__traceback__))
        current = current.__cause__ or current.__context__
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines).rstrip()


Message: TypeAlias = widgets.HTML | Callable[[], widgets.HTML]
GUARDED = "_patoolkit_guarded"  # set on every guarded callback, for the tests to find


def show_error(where: Message, error: Exception) -> None:
    """Say in the page what went wrong (a conflict is a warning: nothing was lost).

    A reference already shown stays: two callbacks can fail on one change (a field with
    two observers), and each reference in the log should be findable from the page.
    """
    target = where if isinstance(where, widgets.HTML) else where()
    text = explain(error)
    kind = "warn" if isinstance(error, TrackerConflictError) else "error"
    if text.startswith(UNEXPECTED) and UNEXPECTED in target.value:
        target.value += f'<div class="pa-message pa-{kind}">{html.escape(text)}</div>'
    else:
        set_message(target, text, kind)


def guarded(handler: F, where: Message) -> F:
    """handler, with any error it raises said on the page (show_error) instead of escaping.

    Every widget callback of the dashboards goes through this (by on_click and observe
    below; a test reads the source for any other): ipywidgets would print an escaping
    error's traceback into the page, or nowhere.
    """
    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as error:
            show_error(where, error)
            return None
    run.__dict__[GUARDED] = True
    return run  # type: ignore[return-value]



def on_click(button: widgets.Button, handler: Callable[..., object],
             where: Message, busy: str | None = None,
             enabled: Callable[[], bool] | None = None) -> None:
    """button.on_click(handler), with its errors said in `where`.

    busy: words the button shows, disabled with a spinner, while the handler runs (the
    browser sees it at once: widget changes are sent as they happen, not at the end), so
    a slow action is never clicked twice. Afterwards the button is enabled as before, or
    as `enabled()` says when given (a Confirm that has nothing left to confirm).
    """
    button.on_click(guarded(while_busy(button, handler, busy, enabled) if busy else handler,
                            where))


def while_busy(button: widgets.Button, handler: F, words: str,
               enabled: Callable[[], bool] | None = None) -> F:
    """handler, with button disabled and saying `words` (class pa-busy) while it runs."""
    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        description, disabled = button.description, button.disabled
        button.disabled = True
        button.description = words
        button.add_class("pa-busy")
        try:
            return handler(*args, **kwargs)
        finally:
            button.remove_class("pa-busy")
            button.description = description
            button.disabled = (not enabled()) if enabled is not None else disabled
    return run  # type: ignore[return-value]


def observe(widget: widgets.Widget, handler: Callable[..., object],
            where: Message, names: str = "value") -> None:
    """widget.observe(handler, names), with its errors said in `where`."""
    widget.observe(guarded(handler, where), names)


def safely(target: Callable[[], widgets.HTML]) -> Callable[[F], F]:
    """A method that is also called directly (not only as a callback), guarded the same way."""
    def decorate(function: F) -> F:
        return guarded(function, target)
    return decorate


# Widgets whose layout a dashboard changes after building (shown, hidden): share_layouts
# leaves them their own.
OWN_LAYOUT = "_patoolkit_own_layout"


def own_layout(widget: W) -> W:
    """widget, marked as one whose layout or style the page changes later (a panel shown or
    hidden): share_layouts keeps its own."""
    widget.__dict__[OWN_LAYOUT] = True
    return widget


def share_layouts(*roots: widgets.Widget) -> int:
    """Give the widgets under the roots one Layout (and one style) model per distinct
    value, instead of one each; returns how many models were closed.

    Every ipywidgets widget makes its own Layout and style model, mostly at their
    defaults: two thirds of Today's 350 models. A page opened in the browser fetches and
    builds every model before it draws anything, so fewer models draw the page sooner
    (issue 16: first paint). A shared model must not be changed: that would change every
    widget using it, so a widget whose layout or style the page changes later (shown,
    hidden, resized) is marked with own_layout and keeps its own.
    """
    shared: dict[tuple[type, str], widgets.Widget] = {}
    replaced: list[widgets.Widget] = []
    seen: dict[str, widgets.Widget] = {}
    pending = list(roots)
    while pending:
        widget = pending.pop()
        if widget.model_id in seen:
            continue
        seen[widget.model_id] = widget
        children = getattr(widget, "children", ())
        pending.extend(child for child in children if isinstance(child, widgets.Widget))
        if widget.__dict__.get(OWN_LAYOUT):
            continue
        for name in ("layout", "style"):
            model = getattr(widget, name, None) if name in widget.keys else None
            if not isinstance(model, widgets.Widget) or model.__dict__.get(OWN_LAYOUT):
                continue
            key = (type(model), json.dumps(model.get_state(), sort_keys=True, default=str))
            one = shared.get(key)
            if one is None:
                one = shared[key] = type(model)(**{
                    trait: getattr(model, trait) for trait in model.keys
                    if not trait.startswith("_")})
                one.__dict__[OWN_LAYOUT] = True  # already shared: never replaced again
            if one is not model:
                setattr(widget, name, one)
                replaced.append(model)
    # close the replaced models no widget of the page uses any more (the browser would
    # fetch them too); a Layout made once and given to several widgets is replaced in each
    used = {id(getattr(widget, name)) for widget in seen.values()
            for name in ("layout", "style") if name in widget.keys}
    closed = 0
    for model in {id(model): model for model in replaced}.values():
        if id(model) not in used:
            model.close()
            closed += 1
    return closed


HUB_USER_ENV = "JUPYTERHUB_USER"  # set by JupyterHub in a user's server and its kernels
ANONYMOUS = "dashboard"  # History's "by" when nobody gave a name
USER_STORE_KEY = "patoolkit.user"  # the browser's localStorage key for the name


def login_name() -> str | None:
    """The name the page's login gives (JupyterHub), else None: the person types it."""
    name = os.environ.get(HUB_USER_ENV, "").strip()
    return name or None


@dataclass(frozen=True)
class SavedChange:
    """A save this page made and patched into its tracker: the versions (fingerprints)
    before and after, and the Excel rows of the requests it changed."""

    before: str
    after: str
    rows: tuple[int, ...]


class TrackerSession:
    """The tracker a dashboard works on: loaded once, reloaded after each write."""

    def __init__(self, path: str | os.PathLike[str] | None = None, user: str | None = None):
        self.path = resolve_tracker_path(path)
        self.user = user or login_name() or ANONYMOUS
        self.tracker: Tracker = load_tracker(self.path)
        self.listeners: list[Callable[[], None]] = []
        # what the last change was, for listeners that refresh only what changed: set while
        # they run after a save this page made and patched in memory; None after a reload
        self.last_change: SavedChange | None = None
        self._deadlines: tuple[tuple[str, pd.Timestamp], pd.DataFrame] | None = None

    def deadlines(self, now: pd.Timestamp) -> pd.DataFrame:
        """Every request's deadlines, computed once per tracker version and minute."""
        from ..deadlines import deadlines_for

        key = (self.fingerprint, pd.Timestamp(now).floor("min"))
        if self._deadlines is None or self._deadlines[0] != key:
            self._deadlines = (key, deadlines_for(self.tracker, key[1]))
        return self._deadlines[1]

    @property
    def fingerprint(self) -> str:
        return self.tracker.fingerprint

    def changed_on_disk(self) -> bool:
        """Whether the file is no longer the one this page loaded (someone saved since, or it
        is gone): a page shown long after it was built reloads first."""
        from ..tracker.read import fingerprint_file

        try:
            return fingerprint_file(self.path) != self.fingerprint
        except OSError:
            return True

    def reload(self) -> None:
        self.tracker = load_tracker(self.path)
        self.last_change = None
        for listener in list(self.listeners):
            listener()

    def update(self, request_id: str, changes: Mapping[str, object]) -> list[tuple[str, object,
                                                                               object]]:
        from ..tracker.edit import update_request

        before = self.fingerprint
        result = update_request(self.path, request_id, changes, by=self.user,
                                expected_fingerprint=before,
                                seen=self.seen(request_id, list(changes)))
        if not result.changes:
            return result.changes
        if not self._patch(request_id, result.changes, before, result):
            self.reload()
        else:
            self.last_change = SavedChange(before, self.fingerprint,
                                           tuple(self.rows_of([request_id])))
            for listener in list(self.listeners):
                listener()
        return result.changes

    def update_many(self, changes: Mapping[str, Mapping[str, object]]
                    ) -> tuple[list[str], dict[str, Exception]]:
        """Save changes to several requests, one update_request each (what this page shows
        as `seen`, History under self.user), then refresh the listeners once.

        A request that cannot be saved (someone changed the field meanwhile, a value the
        tracker refuses) is said with its reason and the others still go in. Returns the
        requests saved and, for each one not saved, why.
        """
        from ..tracker.edit import update_request

        saved: list[str] = []
        refused: dict[str, Exception] = {}
        first = self.fingerprint
        patched = True
        for request_id, wanted in changes.items():
            before = self.fingerprint
            try:
                result = update_request(self.path, request_id, wanted, by=self.user,
                                        expected_fingerprint=before,
                                        seen=self.seen(request_id, list(wanted)))
            except PAToolkitError as error:
                refused[request_id] = error
                continue
            if result.changes:
                saved.append(request_id)
                patched = patched and self._patch(request_id, result.changes, before, result)
                if not patched:  # someone else saved meanwhile: read theirs before the next
                    self.tracker = load_tracker(self.path)
                    self._deadlines = None
        if not saved:
            return saved, refused
        if patched:
            self.last_change = SavedChange(first, self.fingerprint, tuple(self.rows_of(saved)))
            for listener in list(self.listeners):
                listener()
        else:
            self.reload()
        return saved, refused

    def rows_of(self, request_ids: Sequence[str]) -> list[int]:
        """The Excel rows of those requests (IDs as typed, any case), in tracker order."""
        wanted = {str(request_id).strip().upper() for request_id in request_ids}
        frame = self.tracker.requests
        found = frame["request_id"].astype("string").str.strip().str.upper().isin(wanted)
        return [int(row) for row in frame.index[found.fillna(False).to_numpy()]]

    def _patch(self, request_id: str, changes: Sequence[tuple[str, object, object]],
               before: str, result: WriteResult) -> bool:
        """Refresh only the changed request in memory (the file is not read again): when
        the write found the file as this page had it, the saved row is what the page shows
        plus the changes. Otherwise (someone else saved meanwhile) False: reload."""
        from ..tracker.read import typed_frame

        if result.based_on != before:  # someone saved in between: their change is not here
            return False
        now = getattr(result, "recorded_at", None) or dt.datetime.now().replace(microsecond=0)
        frame = self.tracker.requests
        mask = frame["request_id"].astype("string").str.strip().str.upper() == \
            str(request_id).strip().upper()
        if int(mask.sum()) != 1:
            return False
        calendar = self.tracker.calendar(self._deadlines[0][1]) if self._deadlines else None
        # typed as load_tracker types them, the changed columns only (typing a whole row
        # of the sheet costs about 0.1 s); the writer has checked them already
        from ..schema import REQUESTS
        from ..tracker.cells import Collector, convert_column

        found = Collector("Requests", {})
        lists = dict(self.tracker.lists)
        try:
            typed = {}
            for name, _, new in changes:
                raw = pd.Series([new], index=[2], dtype=object)
                typed[name] = convert_column(REQUESTS.column(name), raw.where(raw.notna(), None),
                                             lists, found).iloc[0]
        except (ValueError, TypeError, KeyError):
            return False
        if any(problem.severity == "error" for problem in found.problems):
            return False
        for name, value in typed.items():
            frame.loc[mask, name] = value
        history = self.tracker.frames.get("History")
        if history is not None:
            from ..tracker.edit import history_values

            added = typed_frame("History", [history_values(request_id, name, old, new,
                                                           self.user, now)
                                            for name, old, new in changes])
            start = int(history.index.max()) + 1 if len(history) else 2
            added.index = pd.RangeIndex(start, start + len(added), name=history.index.name)
            self.tracker.frames["History"] = pd.concat([history, added]) if len(history) \
                else added
        self.tracker.fingerprint = result.fingerprint
        self._patch_deadlines(frame.index[mask.to_numpy()], calendar)
        return True

    def _patch_deadlines(self, rows: pd.Index, calendar: BusinessCalendar | None) -> None:
        """After a save patched in memory: the saved request's deadlines worked out alone and
        put in the cached ones (a request's deadlines depend on no other request), so every
        page that asks next gets them at once. Recomputed whole on the next ask instead when
        the save moved the calendar's years (every request's count may change)."""
        from ..deadlines import deadlines_for_requests

        cached, self._deadlines = self._deadlines, None
        if cached is None or calendar is None:
            return
        minute = cached[0][1]
        if self.tracker.calendar(minute) != calendar:
            return
        fresh = deadlines_for_requests(self.tracker, list(rows), minute, calendar)
        kept = cached[1].drop(index=fresh.index)
        deadlines = pd.concat([kept, fresh]).reindex(cached[1].index)
        for name in deadlines.columns:  # a few fresh rows can type a column otherwise
            if deadlines[name].dtype != cached[1][name].dtype:
                deadlines[name] = deadlines[name].astype(cached[1][name].dtype)
        self._deadlines = ((self.fingerprint, minute), deadlines)

    def seen(self, request_id: str, names: Sequence[str]) -> dict[str, object] | None:
        """What this page shows for those fields of a request: a save goes in when the file
        still holds it, whatever else changed meanwhile (writer.update_request)."""
        frame = self.tracker.requests
        match = frame[frame["request_id"].astype("string").str.strip().str.upper()
                      == str(request_id).strip().upper()]
        if match.empty:
            return None
        row = match.iloc[0]
        return {name: (None if name not in row.index or is_blank(row[name]) else row[name])
                for name in names}

    def add(self, values: Mapping[str, object]) -> str:
        from ..tracker.edit import add_request

        result = add_request(self.path, values, by=self.user,
                             expected_fingerprint=self.fingerprint)
        self.reload()
        return result.request_id


class ProgressBar:
    """A long action's progress (batch letters, an import, the report): a bar with what it
    is doing in words, then its result in one short line.

    Hidden until the action starts. Each change reaches the browser as it is made, so the
    bar moves while the action runs.
    """

    def __init__(self, css: str, width: str = "420px"):
        self.bar = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width=width))
        self.bar.add_class(css)
        self.words = widgets.HTML()
        self.words.add_class(f"{css}-words")
        self.widget = own_layout(widgets.HBox([self.bar, self.words],
                                              layout=widgets.Layout(display="none")))
        self.widget.add_class("pa-progress")

    def start(self, total: int, words: str) -> None:
        self.widget.layout.display = ""
        self.bar.bar_style = ""
        self.bar.value = 0
        self.bar.max = max(int(total), 1)
        self.words.value = f'<span class="pa-progress-words">{html.escape(words)}</span>'

    def tell(self, done: int, words: str | None = None) -> None:
        """done of the total given at start (never shown going back)."""
        self.bar.value = max(self.bar.value, min(int(done), self.bar.max))
        if words is not None:
            self.words.value = f'<span class="pa-progress-words">{html.escape(words)}</span>'

    def finish(self, result: str, kind: str = "ok") -> None:
        """The result line; a failed action leaves the bar where it stopped, in red."""
        if kind == "error":
            self.bar.bar_style = "danger"
        else:
            self.bar.value = self.bar.max
            self.bar.bar_style = "success"
        self.words.value = (f'<span class="pa-progress-result pa-result-{kind}">'
                            f"{html.escape(result)}</span>")

    @property
    def result(self) -> str:
        """The result line shown (empty before the action ends)."""
        match = re.search(r'class="pa-progress-result[^"]*">(.*)</span>', self.words.value)
        return html.unescape(match.group(1)) if match else ""


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 request', '1,204 requests'."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"


# Fills the name box from the browser's localStorage and stores what is typed there, so the
# name is asked once per browser. An <img> that fails to load runs it: ipywidgets puts an
# HTML widget's value in the page as innerHTML, where a <script> would not run.
_REMEMBER_JS = """(function () {
  var key = %s, tries = 0;
  function bind() {
    var box = document.querySelector('.pa-user input');
    if (!box) { if (tries++ < 200) { setTimeout(bind, 100); } return; }
    if (box.dataset.paBound) { return; }
    box.dataset.paBound = '1';
    var saved = null;
    try { saved = window.localStorage.getItem(key); } catch (e) { saved = null; }
    if (saved && !box.value.trim()) {
      box.value = saved;
      box.dispatchEvent(new Event('input', {bubbles: true}));
      box.dispatchEvent(new Event('change', {bubbles: true}));
    }
    function keep() {
      var name = box.value.trim();
      try { if (name) { window.localStorage.setItem(key, name); } } catch (e) { }
    }
    box.addEventListener('change', keep);
    box.addEventListener('input', keep);
  }
  bind();
})();"""


class HasUser(Protocol):
    user: str


class UserBar:
    """Who is working: asked once, remembered by the browser, written to History.

    Behind JupyterHub the login name is used and the box is read-only. Otherwise the
    box starts with the name this browser remembers (localStorage), and every action of
    the page records session.user, which follows the box.
    """

    def __init__(self, session: HasUser, where: widgets.HTML):
        self.session = session  # a TrackerSession, or whatever else records `user`
        hub = login_name()
        shown = hub or ("" if session.user == ANONYMOUS else session.user)
        self.box = widgets.Text(value=shown, description="Your name",
                                placeholder="type it once; this browser remembers it",
                                disabled=hub is not None, layout=widgets.Layout(width="340px"))
        self.box.add_class("pa-user")
        self.note = widgets.HTML()
        self.note.add_class("pa-user-note")
        script = "" if hub else (
            '<img src="data:," alt="" style="display:none" onerror="'
            + html.escape(_REMEMBER_JS % f"'{USER_STORE_KEY}'") + '">')
        self.remember = widgets.HTML(script)
        observe(self.box, self._changed, where)
        self.widget = widgets.HBox([self.box, self.note, self.remember])
        self.widget.add_class("pa-user-bar")
        self._show()

    def _changed(self, change: Mapping[str, object]) -> None:
        self.session.user = str(change["new"]).strip() or login_name() or ANONYMOUS
        self._show()

    def _show(self) -> None:
        missing = self.session.user == ANONYMOUS
        if missing:
            self.box.add_class("pa-user-missing")
            self.note.value = ('<span class="pa-user-hint">Changes you save are recorded in '
                               "History under your name: type it once.</span>")
        else:
            self.box.remove_class("pa-user-missing")
            self.note.value = (f'<span class="pa-user-hint">Recorded in History as '
                               f"<b>{html.escape(self.session.user)}</b>.</span>")


# Tells the kernel the page is on a screen now, with the address's query: sets a hidden
# box's value once the page is drawn (run by an <img> that fails to load, as above).
_SHOWN_JS = """(function () {
  var tries = 0;
  function send() {
    var box = document.querySelector('.pa-shown input');
    if (!box) { if (tries++ < 200) { setTimeout(send, 100); } return; }
    if (box.dataset.paSent) { return; }
    box.dataset.paSent = '1';
    box.value = window.location.search || '?';
    box.dispatchEvent(new Event('input', {bubbles: true}));
    box.dispatchEvent(new Event('change', {bubbles: true}));
  }
  send();
})();"""


# A worklist or board computed longer ago than this is computed again when the page is shown
# (a pre-heated page) or at the next save (Today splices a saved request's rows as of then).
FRESH_FOR = pd.Timedelta(minutes=15)


def still_fresh(computed_at: pd.Timestamp, fixed: bool) -> bool:
    """Whether figures computed at computed_at may stand for now: fixed in time (a page
    looking back), or computed today less than FRESH_FOR ago."""
    if fixed:
        return True
    now = pd.Timestamp.now()
    return now.normalize() == computed_at.normalize() and now - computed_at < FRESH_FOR


class PageShown:
    """Says when the page is shown in a browser, with its address's query (?q=...).

    Under Voila's pre-heated kernels a dashboard is built before anyone asks for it (at
    server start, or after the previous page took the kernel), possibly on an earlier
    day, and without the address: what it shows must be checked when a person opens it.
    """

    def __init__(self, on_shown: Callable[[str], None], where: widgets.HTML):
        self.box = widgets.Text(value="", layout=widgets.Layout(display="none"))
        self.box.add_class("pa-shown")
        observe(self.box, lambda change: on_shown(str(change["new"])) if change["new"]
                else None, where)
        self.script = widgets.HTML(
            '<img src="data:," alt="" style="display:none" onerror="'
            + html.escape(_SHOWN_JS) + '">')
        self.widget = widgets.HBox([self.box, self.script],
                                   layout=widgets.Layout(height="0px", overflow="hidden"))


# A dashboard's picture, drawn by the browser before its widgets are ready: Voila draws a
# page's outputs only once every widget model has come from the kernel, while the page's
# HTML arrives at once. The patoolkit Voila template (data/jupyter/voila/templates/patoolkit/
# index.html.j2) writes an output of this type into the page as HTML, over the spinner, and
# takes it away once the live page has drawn its rows, or at once when it is stale (built on
# another day or more than FRESH_FOR ago, as a pre-heated page may be) or the address asks
# for a search. JupyterLab has no renderer for it and shows nothing.
PICTURE_MIME = "application/vnd.patoolkit.picture+html"
PICTURE_STYLE = """<style>
.pa-picture { font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px;
  color: var(--jp-ui-font-color1, #000); }
.pa-picture-on { position: fixed; inset: 0; z-index: 1000; overflow: hidden;
  padding: 26px 17px; background: var(--jp-layout-color0, #fff); }
.pa-picture-title { font-size: 20px; font-weight: 600; margin: 4px 0; }
.pa-picture-sub { color: #555; margin: 4px 0; }
.pa-picture-overdue-text { color: #9c0006; font-weight: 600; }
.pa-picture-skeleton { margin: 4px 0; max-width: 100%; background: #f1f1f1; color: #555;
  padding-left: 8px; display: flex; align-items: center; }
.pa-picture-panel { padding: 12px 16px; }
.pa-picture-counts { display: flex; flex-wrap: wrap; gap: 4px; margin: 4px 0; }
.pa-picture-count { width: 178px; height: 52px; display: flex; align-items: center;
  justify-content: center; text-align: center; background: #eeeeee; }
.pa-picture-row { display: flex; align-items: center; height: 32px;
  border-bottom: 1px solid #e4e4e4; }
.pa-picture-head { font-weight: 600; background: #f1f4f8; border-bottom: 2px solid #c9d3df; }
.pa-picture-lead { display: flex; justify-content: flex-end; padding-right: 4px; }
.pa-picture-open { width: 64px; text-align: center; color: #999; background: #eeeeee; }
.pa-picture-cells { display: flex; gap: 6px; }
.pa-picture-cells span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.pa-picture-today { background: #fff6dd; }
.pa-picture-at-risk { background: #fde8ea; box-shadow: inset 4px 0 0 #b91c1c; }
.pa-picture-overdue:not(.pa-picture-at-risk) { background: #fff1e6; }
</style>"""


def page_picture(body: str, built: pd.Timestamp, fixed: bool, live: str) -> str:
    """A dashboard's HTML (escaped by its makers) as its picture: every pa-* class renamed
    pa-picture-*, so nothing that finds the live page (its stylesheet, a browser test) finds
    the picture; `built` (the page's "now") and `fixed` (a page looking back, never stale)
    tell the template's script whether the picture may still be shown, and `live` (CSS
    selectors) what, once drawn and shown, means the live page has replaced it."""
    def renamed(match: re.Match[str]) -> str:
        names = (f"pa-picture-{name[3:]}" if name.startswith("pa-") else name
                 for name in match.group(1).split())
        return f'class="{" ".join(names)}"'

    built_ms = int(built.to_pydatetime().timestamp() * 1000)  # local time, as the browser's
    body = re.sub(r'class="([^"]*)"', renamed, body)
    return (f'<div class="pa-picture" data-built="{built_ms}" data-fixed="{int(fixed)}" '
            f'data-fresh-ms="{int(FRESH_FOR.total_seconds() * 1000)}" '
            f'data-live="{html.escape(live)}">{PICTURE_STYLE}'
            f"{body}</div>")


def picture_bar(height: int, width: int | None = None, text: str = "") -> str:
    """A grey bar standing in a picture for controls the live page draws there."""
    size = f"height:{height}px" + (f";width:{width}px" if width else "")
    return f'<div class="pa-skeleton" style="{size}">{html.escape(text)}</div>'


def show_picture(picture: str) -> None:
    """Put a dashboard's picture (page_picture) out beside it, in a notebook's kernel only."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is not None:
        display({PICTURE_MIME: picture}, raw=True)


def query_value(query: str, name: str) -> str | None:
    """A parameter of an address's query ('?q=...'), stripped; None when absent or blank."""
    from urllib.parse import parse_qs

    values = parse_qs(query.lstrip("?")).get(name)
    return values[0].strip() if values and values[0].strip() else None


def unusable_page(path: Path, error: Exception) -> widgets.HTML:
    """The friendly page shown instead of a dashboard when the tracker cannot be used."""
    text = str(error) if isinstance(error, PAToolkitError) else explain(error)
    page = widgets.HTML(
        STYLE + '<div class="pa-title">The tracker could not be opened</div>'
        f'<div class="pa-message pa-error">{html.escape(text)}</div>'
        f"<p>File: <code>{html.escape(str(path))}</code></p>"
        "<p>Fix the file (or choose another one) and reload this page. "
        "<code>patoolkit check FILE</code> lists every problem with its sheet, row and "
        "column.</p>")
    page.add_class("pa-unusable")
    return page


def broken_page(tracker: Tracker, error: Exception) -> widgets.HTML:
    """Shown instead of a dashboard that failed to build: what went wrong, where to fix it.

    The cause is almost always a cell of the tracker; the check's problems name each one
    by sheet, row and column. The log gets the reference, never the values.
    """
    text = explain(error)
    problems = [p for p in tracker.problems if p.severity == "error"] or tracker.problems
    page = widgets.HTML(
        STYLE + '<div class="pa-title">This page could not be shown</div>'
        f'<div class="pa-message pa-error">{html.escape(text)}</div>'
        "<p>The cells below are the likely cause: fix them in the tracker (sheet, row, "
        "column), save, and reload this page. <code>patoolkit check FILE</code> lists the "
        "same.</p>" + problems_table_of(problems))
    page.add_class("pa-unusable")
    return page


def problems_table(tracker: Tracker, limit: int = 200) -> str:
    """The check report as an HTML table (errors first)."""
    return problems_table_of(tracker.problems, limit)


def problems_table_of(all_problems: list[Problem], limit: int = 200) -> str:
    problems = all_problems[:limit]
    if not problems:
        return '<div class="pa-message pa-ok">No problems found.</div>'
    rows = "".join(
        f"<tr><td>{html.escape(p.severity)}</td><td>{html.escape(p.sheet)}</td>"
        f"<td>{p.row or ''}</td><td>{html.escape(p.column or '')}</td>"
        f"<td>{html.escape(p.value or '')}</td><td>{html.escape(p.message)}</td></tr>"
        for p in problems)
    more = (f"<p>{len(all_problems) - limit} more not shown; run patoolkit check.</p>"
            if len(all_problems) > limit else "")
    return ('<table class="pa-grid pa-problems"><tr><th>Severity</th><th>Sheet</th><th>Row</th>'
            f"<th>Column</th><th>Found</th><th>What to do</th></tr>{rows}</table>{more}")


def fmt(value: object) -> str:
    """A cell for display: dates without midnight times, blanks empty."""
    if is_missing(value):
        return ""
    if isinstance(value, pd.Timestamp | dt.datetime):
        from ..intake import when_text  # the one way a page writes a date

        return when_text(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    # a date written as text with a midnight time (History's old and new values)
    midnight = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[ T]00:00(?::00)?", text)
    return midnight.group(1) if midnight else text


def label(name: str) -> str:
    """A column's heading as the tracker spells it: 'ordering_npi' -> 'Ordering NPI'."""
    from ..schema import REQUESTS

    try:
        return REQUESTS.column(name).title
    except KeyError:
        return name.replace("_", " ").capitalize().replace("P2p", "P2P")
