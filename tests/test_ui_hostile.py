"""Every dashboard callback says its errors on its page, whatever happens underneath.

Each page is built on a good tracker; then the tracker is broken on disk (or a fault of
ours is injected) and every button is clicked and every observed field changed, the way
a person would, including the buttons that appear only after a row is opened or a form
shown. Nothing may escape a callback (ipywidgets would print its traceback into the
page), every message must be plain words, and the tracker must be left as it was.
"""

from __future__ import annotations

import ast
import builtins
import datetime as dt
import json
import logging
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import ipywidgets as widgets
import openpyxl
import pytest
from letter_cases import AS_OF, SUPPLIED, build_letter_tracker, request_id
from traitlets.traitlets import EventHandler

import patoolkit.ui.common as common
from patoolkit.serve import NOTEBOOKS
from patoolkit.ui import (
    ClaimsAuditDashboard,
    ClientSetup,
    DenialsDashboard,
    IntakeForm,
    ScorecardDashboard,
    TodayDashboard,
    TrackerSession,
)

UI = Path(common.__file__).parent


def _export_saved_over(path: Path) -> None:
    path.write_bytes(b"Request ID,Status\nPA-1,Denied\n")


def _other_workbook(path: Path) -> None:
    book = openpyxl.Workbook()
    assert book.active is not None
    book.active.title = "Budget"
    book.save(path)


def _folder_instead(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _cut_in_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


# Ways a tracker goes bad under an open page, each a thing that happens to real files.
BREAKAGES: dict[str, Callable[[Path], None]] = {
    "deleted": Path.unlink,  # moved or deleted by someone while the page was open
    "not a workbook": _export_saved_over,  # an export saved under the tracker's name
    "no Requests sheet": _other_workbook,  # the wrong workbook copied over it
    "a folder": _folder_instead,  # a folder now stands where the file was
    "cut in half": _cut_in_half,  # a copy cut off half way (a full disk, a stopped sync)
}

# What an action that reads or writes a broken tracker says: the loader's message, which
# names the file, or (a file that changed since the page read it) the writer's conflict.
BROKEN_SAID = ("tracker.xlsx: ", "Someone else saved the tracker after this page loaded it")

SECRET = "Example-Doe, Jane"  # a patient's name in an injected error: never shown, never logged

# What an upload gives the pages that take a file: a client's export to import, a
# billing system's claims export to audit.
UPLOADS = {
    "pa-import-upload": ("client_export.csv", b"Patient ID,Payer,CPT,Status,Submitted\n"
                         b"P1,Summit Health Plan,70551,Denied,2026-11-02\n"),
    "pa-claims-upload": ("claims.csv", b"Claim ID,Patient ID,Payer,Date Of Service,Codes,Units,"
                         b"Auth Number\nC1,P000002,Lakeshore Medicare Advantage,2026-11-05,"
                         b"97110,2,A123456\n"),
}

# Shown to a practice manager, these mean a developer's error escaped into the page.
BUILTIN_ERRORS = "|".join(name for name, value in vars(builtins).items()
                          if isinstance(value, type) and issubclass(value, BaseException))
NOT_PLAIN = re.compile(rf"Traceback|File \"|\b(?:{BUILTIN_ERRORS})\b|\b\w+Error\b")

# The callback registrations a test must see go through common.on_click / common.observe.
REGISTRATIONS = {"on_click", "observe", "on_submit", "on_msg", "on_displayed",
                 "on_trait_change", "register_callback", "interact", "interactive",
                 "interactive_output"}
HELPERS = {"on_click", "observe"}  # the functions of common.py that register


@dataclass
class Page:
    """A dashboard to drive: its root widget and the actions that must reach the disk."""

    name: str
    widget: widgets.Widget
    session: TrackerSession | None
    # keys (see key_of) of actions that read or write the tracker file: with the tracker
    # broken, each must say so on the page
    touches_disk: tuple[str, ...] = ()
    prepare: Callable[[], None] = lambda: None  # a selection made before the file breaks


def build_today(path: Path) -> Page:
    today = TodayDashboard(TrackerSession(path, user="tester"), as_of=str(AS_OF))
    return Page("today", today.widget, today.session,
                ("pa-reload-all", "pa-confirm", "pa-reload"))


def build_intake(path: Path) -> Page:
    form = IntakeForm(TrackerSession(path, user="front desk"), today=AS_OF.date())
    return Page("intake", form.widget, form.session, ("pa-intake-confirm",))


def build_denials(path: Path) -> Page:
    denials = DenialsDashboard(TrackerSession(path, user="ana"), as_of=str(AS_OF))
    # (a batch reaches the disk only with letters to make: see the batch test below)
    return Page("denials", denials.widget, denials.session,
                ("pa-letter-make", "pa-confirm", "pa-reload"))


def build_scorecard(path: Path) -> Page:
    card = ScorecardDashboard(TrackerSession(path))
    return Page("scorecard", card.widget, card.session)


def build_claims(path: Path) -> Page:
    claims = ClaimsAuditDashboard(TrackerSession(path))
    return Page("claims", claims.widget, claims.session)


def build_setup(path: Path) -> Page:
    setup = ClientSetup(str(path))
    # the client's file uploaded while the tracker was good: Import is ready to press
    return Page("setup", setup.widget, None, ("pa-check", "pa-import-go"),
                prepare=lambda: upload(setup.importer.upload))


def _same(path: Path) -> Path:
    """The three-request tracker as it is (tests/conftest.py)."""
    return path


BUILDERS: dict[str, tuple[Callable[[Path], Page], Callable[[Path], Path]]] = {
    "today": (build_today, _same),
    "intake": (build_intake, _same),
    "denials": (build_denials, build_letter_tracker),  # denials with every letter kind open
    "scorecard": (build_scorecard, _same),
    "claims": (build_claims, _same),
    "setup": (build_setup, _same),
}


def upload(widget: widgets.FileUpload) -> None:
    name, data = UPLOADS[key_of(widget)]
    widget.value = ({"name": name, "type": "text/csv", "size": len(data),
                     "content": memoryview(data), "last_modified": dt.datetime(2026, 11, 1)},)


def tree(widget: widgets.Widget) -> Iterator[widgets.Widget]:
    """The widget and everything inside it (Tab, Accordion and Box children alike)."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from tree(child)


def key_of(widget: widgets.Widget) -> str:
    """A widget by its CSS class (rows of a table share one), else its kind and label."""
    classes = sorted(name for name in widget._dom_classes if name.startswith("pa-"))
    if classes:
        return " ".join(classes)
    return f"{type(widget).__name__}:{getattr(widget, 'description', '')}"


def our_callbacks(widget: widgets.Widget) -> list[Callable[..., object]]:
    """Every callback registered on a widget from outside ipywidgets: its click handlers
    and its observers of any trait (the widgets' own are traitlets EventHandlers)."""
    found = list(widget._click_handlers.callbacks) if isinstance(widget, widgets.Button) else []
    for kinds in widget._trait_notifiers.values():
        found += [callback for callbacks in kinds.values() for callback in callbacks
                  if not isinstance(callback, EventHandler)]
    return found


def change(widget: widgets.Widget) -> None:
    """Give an observed field another value, as a person would."""
    if isinstance(widget, widgets.FileUpload):
        upload(widget)
    elif isinstance(widget, widgets.Dropdown):
        if len(widget.options) > 1:
            widget.index = ((widget.index or 0) + 1) % len(widget.options)
    elif isinstance(widget, widgets.Combobox):
        widget.value = widget.options[0] if widget.options else "Somewhere Health"
    elif isinstance(widget, widgets.Text | widgets.Textarea):
        widget.value = "P123 <b>tester</b>"
    elif isinstance(widget, widgets.DatePicker):
        widget.value = dt.date(2026, 11, 20)
    elif isinstance(widget, widgets.Checkbox | widgets.ToggleButton):
        widget.value = not widget.value
    else:
        raise AssertionError(f"no way to change a {type(widget).__name__}: teach change()")


def shown(widget: widgets.Widget, root: widgets.Widget) -> bool:
    """Whether a person can see and use it (not disabled, not inside a hidden box)."""
    if getattr(widget, "disabled", False):
        return False
    hidden = {id(w) for w in tree(root) if getattr(w.layout, "display", None) == "none"}
    return not any(id(w) in hidden for w in _ancestors(widget, root))


def _ancestors(target: widgets.Widget, root: widgets.Widget) -> list[widgets.Widget]:
    def path(node: widgets.Widget) -> list[widgets.Widget] | None:
        if node is target:
            return [node]
        for child in getattr(node, "children", ()):
            found = path(child)
            if found is not None:
                return [node, *found]
        return None
    return path(root) or []


def texts(root: widgets.Widget) -> list[str]:
    return [str(w.value) for w in tree(root) if isinstance(w, widgets.HTML)]


@dataclass
class Drive:
    """What driving a page did: each action's key and the messages it put on the page."""

    said: dict[str, list[str]] = field(default_factory=dict)
    logged: dict[str, list[str]] = field(default_factory=dict)  # the log's lines, likewise
    buttons: int = 0
    fields: int = 0


def looks(widget: widgets.Widget) -> tuple[object, ...]:
    """What a widget shows a person: its words and its tooltip ("Open PA-2026-00012")."""
    return (getattr(widget, "description", None), getattr(widget, "tooltip", None))


def drive(page: Page, caplog: pytest.LogCaptureFixture) -> Drive:
    """Click every button and change every observed field, once per key, as a person
    would: what an action just revealed first (a step's form, then its Save, then its
    Confirm), then the rest in page order, and last the hidden and disabled ones.
    Every callback must be guarded, none may let an error out, and every text on the
    page must stay plain after each action."""
    done: set[str] = set()
    result = Drive()
    before_last: dict[int, tuple[object, ...]] = {}
    while True:
        present = list(tree(page.widget))
        waiting = [w for w in present if our_callbacks(w) and key_of(w) not in done]
        if not waiting:
            return result
        usable = [w for w in waiting if shown(w, page.widget)] or waiting
        # revealed: a widget new to the page, or one now showing something else (a table
        # reuses its row widgets for the rows a filter leaves)
        widget = ([w for w in usable if before_last.get(id(w)) != looks(w)] or usable)[0]
        before_last = {id(w): looks(w) for w in present}
        key = key_of(widget)
        done.add(key)
        for callback in our_callbacks(widget):
            assert getattr(callback, common.GUARDED, False), (
                f"{page.name}: {key} has a callback outside common.on_click/observe")
        for box in tree(page.widget):  # what this action says, not what an earlier one did
            if isinstance(box, widgets.HTML) and "pa-message" in box.value:
                box.value = ""
        caplog.clear()
        if isinstance(widget, widgets.Button):
            widget.click()
            result.buttons += 1
        else:
            change(widget)  # an observer's error would raise here
            result.fields += 1
        escaped = [r.getMessage() for r in caplog.records
                   if "Exception in callback" in r.getMessage()]
        assert not escaped, f"{page.name}: {key} let an error out: {escaped}"
        after = texts(page.widget)
        for text in after:
            assert not NOT_PLAIN.search(_visible(text)), (
                f"{page.name}: after {key} the page shows {_visible(text)[:300]!r}")
        result.said[key] = [_visible(text) for text in after if "pa-message" in text]
        result.logged[key] = [record.getMessage() for record in caplog.records]


def _visible(html_text: str) -> str:
    """The words of an HTML value (styles and tags dropped)."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html_text, flags=re.S))


# The writer's own lock (patoolkit.tracker.edit._writer_lock): an empty hidden file it keeps
# beside every tracker it has been asked to write, good or broken. Not the page's doing.
WRITER_LOCK = ".~patoolkit.tracker.xlsx.lock"


def folder_state(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under folder, with a file's bytes (the writer's lock aside)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*")) if p.name != WRITER_LOCK}


@pytest.fixture
def tracker_folder(tmp_path: Path, few_requests_template: Path) -> Path:
    """A folder holding only the three-request tracker (and what a page puts beside it)."""
    folder = tmp_path / "clinic"
    folder.mkdir()
    shutil.copy2(few_requests_template, folder / "tracker.xlsx")
    return folder


def build(name: str, folder: Path) -> tuple[Page, Path]:
    builder, make = BUILDERS[name]
    path = folder / "tracker.xlsx"
    if make is not _same:
        path.unlink()
        make(path)
    page = builder(path)
    page.prepare()
    return page, path


@pytest.mark.parametrize("breakage", list(BREAKAGES))
@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_action_on_a_page_whose_tracker_broke_says_so_and_changes_nothing(
        name: str, breakage: str, tracker_folder: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    page, path = build(name, tracker_folder)
    BREAKAGES[breakage](path)
    before = folder_state(tracker_folder)
    driven = drive(page, caplog)
    assert driven.buttons + driven.fields >= 2
    assert folder_state(tracker_folder) == before  # not written, nothing made beside it
    for key in page.touches_disk:
        assert key in driven.said, f"{name}: {key} was never reached"
        said = " ".join(driven.said[key])
        assert any(words in said for words in BROKEN_SAID), (
            f"{name}: {key} said {said!r} on a {breakage} tracker")


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_a_batch_confirmed_after_the_tracker_broke_makes_no_letter(
        breakage: str, tmp_path: Path) -> None:
    """The batch reaches the disk only with letters to make: typed for one request first."""
    path = build_letter_tracker(tmp_path / "tracker.xlsx")
    denials = DenialsDashboard(TrackerSession(path, user="ana"), as_of=str(AS_OF))
    board = denials.board
    denials.open_row(board[board["request_id"] == request_id("appeal")].iloc[0])
    denials.letter.kind.value = "appeal"
    for name, value in SUPPLIED["appeal"].items():
        denials.letter.inputs[name].value = "\n".join(value)  # type: ignore[arg-type]
    denials.batch_kind.value = "appeal"
    denials.batch_button.click()
    assert not denials.confirm_button.disabled  # one letter to make, the others skipped
    BREAKAGES[breakage](path)
    before = folder_state(tmp_path)
    denials.confirm_button.click()
    said = _visible(denials.feedback.value)
    assert any(words in said for words in BROKEN_SAID), said
    assert not NOT_PLAIN.search(said)
    assert folder_state(tmp_path) == before  # no letters_out/, no letter


class Exploding:
    """A tracker that fails on every use, with a patient's name in the error (a fault of
    ours, not the user's: the page must give a reference and keep the name to itself)."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"{SECRET}: {name} failed")


@pytest.mark.parametrize("name", list(BUILDERS))
def test_an_unexpected_error_gives_a_reference_that_is_in_the_log_and_no_patient_data(
        name: str, tracker_folder: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    page, _ = build(name, tracker_folder)

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"{SECRET} could not be read")

    for module in ("common", "setup", "import_wizard"):
        monkeypatch.setattr(f"patoolkit.ui.{module}.load_tracker", explode)
    if page.session is not None:
        page.session.tracker = Exploding()  # type: ignore[assignment]
    caplog.set_level(logging.ERROR, logger="patoolkit.ui")
    driven = drive(page, caplog)
    said = [text for texts_ in driven.said.values() for text in texts_]
    logged = [line for lines in driven.logged.values() for line in lines]
    assert any("Something went wrong (reference" in text for text in said), (
        f"{name}: no action showed a reference: {said}")
    for key in driven.said:
        shown_references = {match for text in driven.said[key] for match in
                            re.findall(r"Something went wrong \(reference (\w+)\)", text)}
        logged_references = {match for line in driven.logged[key]
                             for match in re.findall(r"failed \(reference (\w+)\)", line)}
        # each reference shown can be found in the log, and no failure went unsaid
        assert shown_references == logged_references, (name, key, driven.said[key])
    assert not any(SECRET in text for text in said)
    assert not any(SECRET in line for line in logged)
    assert any("RuntimeError at:" in line and ".py" in line for line in logged)


def test_driving_reaches_every_kind_of_callback_on_each_page(
        tracker_folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The driver itself: it must find the buttons a selection reveals, not only the
    first screen (counts are at least what each page shows before any click)."""
    least = {"today": (20, 10), "intake": (3, 13), "denials": (15, 7), "scorecard": (0, 2),
             "claims": (0, 2), "setup": (3, 2)}
    for name in BUILDERS:
        folder = tracker_folder / name
        folder.mkdir()
        shutil.copy2(tracker_folder / "tracker.xlsx", folder / "tracker.xlsx")
        page, _ = build(name, folder)
        driven = drive(page, caplog)
        buttons, fields = least[name]
        assert driven.buttons >= buttons, (name, driven)
        assert driven.fields >= fields, (name, driven)


def _registrations(source: str, helpers: bool = False) -> list[tuple[int, str]]:
    """(line, method) of each callback registered directly, like button.on_click(...) (a
    bare on_click(...) is common's guarded helper). helpers: the source is common.py,
    whose on_click and observe are the one place allowed to register."""
    tree_ = ast.parse(source)
    allowed = {id(inner) for node in ast.walk(tree_)
               if helpers and isinstance(node, ast.FunctionDef) and node.name in HELPERS
               for inner in ast.walk(node)}
    found = []
    for node in ast.walk(tree_):
        if not isinstance(node, ast.Call) or id(node) in allowed:
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in REGISTRATIONS:
            if not (isinstance(func.value, ast.Name) and func.value.id == "common"):
                found.append((node.lineno, func.attr))
        elif isinstance(func, ast.Name) and func.id in {"interact", "interactive",
                                                         "interactive_output"}:
            found.append((node.lineno, func.id))
    return sorted(found)


def test_no_callback_is_registered_except_through_the_guarded_helpers() -> None:
    """Read the source: a callback registered any other way could let a traceback into
    a page (the Reload button of issue 18 did). Only common.py's on_click and observe
    call the widgets' own registration methods."""
    bypasses = []
    for module in sorted(UI.glob("*.py")):
        bypasses += [f"{module.name}:{line}: .{method}(" for line, method in
                     _registrations(module.read_text(), helpers=module.name == "common.py")]
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "\n".join(line for line in "".join(cell["source"]).splitlines()
                                   if not line.lstrip().startswith(("%", "!")))
                bypasses += [f"{notebook.name}: .{method}("
                             for _, method in _registrations(source)]
    assert not bypasses, ("register callbacks with common.on_click / common.observe: "
                          + ", ".join(bypasses))


def test_the_source_scan_finds_a_direct_registration() -> None:
    """The scan above, shown a bypass of each kind, finds it."""
    source = ("def build(button, text):\n    button.on_click(lambda _: None)\n"
              "    text.observe(print, 'value')\n    common.on_click(button, print, text)\n"
              "    interact(print, x=1)\n")
    assert [method for _, method in _registrations(source)] == [
        "on_click", "observe", "interact"]
