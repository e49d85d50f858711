"""Appeal and request letters filled from the tracker with Word templates (docxtpl).

A letter kind is a row of KINDS: its template file, its title, and the rule
that says whether a request fits it. The templates are .docx files a
consultant edits in Word; a client's own folder overrides the bundled one file
by file. Template fields come from the tracker in namespaces (practice,
payer, patient, provider, request, deadlines, letter, criteria); bare names are
what a person supplies (clinical_rationale, enclosures, ...), named in
fields.toml beside the templates.

Each supplied field is about the sender (the provider's call window: a batch
may share it) or about the patient (history, enclosures: never shared). A
batch takes patient fields only from what was supplied for each request by
its ID, and a letter that would lack one is not made; plan_batch says, before
anything is written, what each letter of a batch will contain or why it will
be skipped.

Rendering is sandboxed (a template cannot reach Python internals), escapes
every value (autoescape: "Smith & Sons <LLC>" prints as typed) and is strict:
a missing value never becomes a blank in a letter. Instead one rendering pass
collects every field that is missing and MissingFieldsError names each with
where to fill it.

A client template is input like any other file: broken or hostile. Whatever
stops it (not a .docx, a mistake in a tag, a field patoolkit does not
provide, an error while filling, a limit) is a BrokenTemplateError naming
the template, the problem in words and the tag where it happened, never a
value of the letter (it could be a patient's). The limits below hold per
letter. They are checked by the sandbox itself as the template runs (every
field lookup, call, operator, filter, loop step and printed value), not by
a signal or a second thread, so they hold in a dashboard's kernel thread and
on Windows as well; a text or list is refused before it is made where its
size can be told in advance ('x' * 10**9), and as soon as it is made
otherwise.
"""

from __future__ import annotations

import datetime as dt
import html
import inspect
import io
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from jinja2 import FunctionLoader, StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment
from jinja2.utils import missing as missing_value

from patoolkit import statuses
from patoolkit.deadlines import DEADLINES, deadlines_for
from patoolkit.errors import (
    BrokenTemplateError,
    LetterError,
    LetterNotApplicableError,
    PAToolkitError,
    RequestNotFoundError,
    TemplateProblemError,
)
from patoolkit.files import create_new_file
from patoolkit.rules import documentation_checklist
from patoolkit.schema import REQUESTS, SHEETS, is_blank
from patoolkit.timeframes import GOOD_CAUSE

if TYPE_CHECKING:
    from patoolkit.tracker import Tracker

# docxtpl opens a file by name; pip always installs a wheel unpacked, so this is a folder
BUNDLED_TEMPLATES = Path(str(resources.files("patoolkit") / "data" / "templates" / "letters"))
FIELDS_FILE = "fields.toml"
TEMPLATES_SETTING = "letter_templates_folder"
LETTERS_SETTING = "letters_folder"
DEFAULT_LETTERS_FOLDER = "letters_out"
NAMESPACES = ("practice", "payer", "patient", "provider", "request", "deadlines", "letter",
              "criteria")
SENDER, PATIENT = "sender", "patient"  # whose a supplied field is (fields.toml `about`)

# Limits on one letter made from a template (README, "For the consultant adapting
# it to a client"). A bundled letter takes about 20 ms and 10,000 characters of
# Word XML: each limit is hundreds of times what a real letter needs, and far under
# what would hang a dashboard or fill its memory.
MAX_RENDER_SECONDS = 10.0  # filling every part of one letter
MAX_LETTER_CHARS = 20_000_000  # the Word XML a letter's template prints, all parts
MAX_VALUE_CHARS = 1_000_000  # any one text or list a template builds or prints
MAX_NUMBER_DIGITS = 4_300  # any number a template computes (Python prints no longer)
MAX_CALL_DEPTH = 50  # macros calling macros; a deeper chain is one calling itself


class DuplicateRequestIdError(LetterNotApplicableError):
    """The request ID is on more than one row: no letter until each has its own."""


class MissingFieldsError(LetterError):
    """Fields the template needs are empty; .missing lists each with where to fill it."""

    def __init__(self, request_id: str, kind: str, missing: Sequence[MissingField]):
        self.request_id, self.kind, self.missing = request_id, kind, list(missing)
        lines = "\n".join(f"  - {item.name}: {item.where}" for item in self.missing)
        super().__init__(f"request {request_id}: the {kind} letter needs {len(self.missing)} "
                         f"field(s) that are empty; nothing was written.\n{lines}")


class PatientFieldsSharedError(LetterError):
    """A batch was given fields about a patient to put in every letter; nothing was written."""

    exit_code = 2

    def __init__(self, kind: LetterKind, count: int, fields: Sequence[SuppliedField],
                 sender: Sequence[SuppliedField]):
        self.kind, self.fields = kind, list(fields)
        may_share = ", ".join(f.name for f in sender) or "none"
        super().__init__(
            f"a batch of {count} {kind.key} letters cannot share {_quoted(self.fields)} "
            f"({', '.join(f.name for f in self.fields)}): they are about one patient, and the "
            "same text would go into every other patient's letter. Make those letters one at "
            "a time, each with its own text; nothing was written. Fields a batch may share "
            f"(about the sender in fields.toml): {may_share}.")


class PatientFieldsNeededError(LetterError):
    """A letter of a batch lacks a field about its patient: it is made on its own, or not."""

    def __init__(self, request_id: str, fields: Sequence[SuppliedField]):
        self.request_id, self.fields = request_id, list(fields)
        super().__init__(f"request {request_id}: needs {_quoted(self.fields)} for this "
                         "patient; make it on its own from the Letter tab (or `patoolkit "
                         "letter` with its REQUEST_ID)")


def _quoted(fields: Sequence[SuppliedField]) -> str:
    labels = [f"'{f.label}'" for f in fields]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


class LettersNotRecordedError(PAToolkitError):
    """Letters were made, but the History write that records them failed; .result has them."""

    exit_code = 1

    def __init__(self, result: BatchResult, cause: Exception):
        self.result, self.cause = result, cause
        names = "\n".join(f"  - {made.path}" for made in result.made)
        super().__init__(
            f"{len(result.made)} letter(s) made but NOT recorded in the History sheet, "
            f"because {self.reason}.\nThe letters are kept:\n{names}\n"
            "Add a History row for each by hand (field letter:KIND, new value the file name) "
            "once the tracker can be saved, or delete them and make them again.")

    @property
    def reason(self) -> str:
        """Why the History write failed, in words that fit after 'because'."""
        from patoolkit.errors import TrackerConflictError, TrackerLockedError

        cause = self.cause
        if isinstance(cause, TrackerLockedError):
            return "the tracker was opened in Excel or LibreOffice meanwhile"
        if isinstance(cause, TrackerConflictError):
            return "someone saved the tracker meanwhile"
        if isinstance(cause, PAToolkitError):
            return f"the tracker could not be saved ({cause})"
        if isinstance(cause, OSError) and cause.strerror:
            return f"the tracker could not be saved ({cause.strerror})"
        return f"the tracker could not be saved ({type(cause).__name__})"


@dataclass(frozen=True)
class MissingField:
    name: str  # as the template spells it: payer.appeals_address, enclosures
    where: str  # what to do: which sheet and column, or which --set


# --- letter kinds: which template, and when a request fits -----------------------------

Row = Mapping[str, Any]
Check = Callable[[Row, Row, pd.Timestamp], "str | None"]


def _day(value: object) -> str:
    return f"{pd.Timestamp(value):%Y-%m-%d}"  # type: ignore[arg-type]


def _not_denied(request: Row) -> str | None:
    decision = request.get("decision")
    if is_blank(decision):
        return "it has no decision yet; a letter of medical necessity goes with the request"
    if decision not in statuses.DENIALS:
        return f"it was {decision}, not denied; there is nothing to contest"
    if statuses.is_overturned(request):
        return "its denial was already overturned (in whole or in part)"
    return None


def _passed(deadline: object, now: pd.Timestamp) -> bool:
    return not is_blank(deadline) and pd.Timestamp(deadline) < now  # type: ignore[arg-type]


def check_p2p(request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    if reason := _not_denied(request):
        return reason
    if not is_blank(request.get("p2p_date")):
        outcome = request.get("p2p_outcome")
        return (f"a peer-to-peer review was already held on {_day(request['p2p_date'])}"
                + ("" if is_blank(outcome) else f" ({outcome})")
                + "; file a written appeal (--kind appeal)")
    if _passed(deadlines.get("p2p_window_closes"), now):
        return (f"the peer-to-peer window closed on {_day(deadlines['p2p_window_closes'])}; "
                "file a written appeal instead (--kind appeal)")
    return None


def check_appeal(request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    if reason := _not_denied(request):
        return reason
    if request.get("appeal_outcome") == statuses.UPHELD:
        return ("its first-level appeal was already upheld; request external review "
                "(--kind external-review)")
    if not is_blank(request.get("appeal_submitted_date")) and is_blank(
            request.get("appeal_outcome")):
        return (f"an appeal was already submitted on {_day(request['appeal_submitted_date'])} "
                "and awaits a decision")
    # A filing deadline that has passed does not stop the letter: it asks for good cause.
    return None


def filing_late(deadlines: Row, now: pd.Timestamp) -> bool:
    """Whether an appeal made now is late: its filing deadline has passed."""
    return _passed(deadlines.get("appeal_filing_deadline"), now)


def check_external_review(request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    if request.get("appeal_outcome") != statuses.UPHELD:
        return "external review follows an internal appeal that was upheld; this one was not"
    if is_blank(deadlines.get("external_review_deadline")):
        return ("external review under 45 CFR 147.136 is for Commercial and Marketplace QHP "
                f"plans, and this is {request.get('plan_type') or 'a plan of unknown type'}: "
                "Medicare Advantage plans forward upheld reconsiderations to the independent "
                "review entity themselves; for Medicaid, request a State fair hearing")
    if _passed(deadlines.get("external_review_deadline"), now):
        return (f"the four-month external review window closed on "
                f"{_day(deadlines['external_review_deadline'])}")
    return None


def check_info_response(request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    if is_blank(request.get("info_requested_at")):
        return "the payer has not asked for more information (Info Requested At is empty)"
    if not is_blank(request.get("decision")):
        return f"it was already decided ({request['decision']})"
    if not is_blank(request.get("info_responded_at")):
        return f"the information request was already answered on " \
               f"{_day(request['info_responded_at'])}"
    return None


def check_medical_necessity(request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    decision = request.get("decision")
    if is_blank(decision):
        return None
    if decision in statuses.DENIALS:
        return f"it was already decided ({decision}); contest it with --kind p2p or --kind appeal"
    return f"it was already decided ({decision}); no letter of medical necessity is needed"


@dataclass(frozen=True)
class LetterKind:
    key: str  # what --kind takes
    title: str
    template: str  # file name in the template folder
    purpose: str
    check: Check


KINDS: dict[str, LetterKind] = {kind.key: kind for kind in (
    LetterKind("p2p", "Peer-to-peer review request", "p2p_request.docx",
               "asks the payer's medical director for a peer-to-peer review, the day of the "
               "denial, inside the window", check_p2p),
    LetterKind("appeal", "First-level appeal", "appeal_first_level.docx",
               "answers the payer's stated denial reason point by point with new documents",
               check_appeal),
    LetterKind("expedited-appeal", "Expedited appeal", "appeal_expedited.docx",
               "an urgent appeal asking for the 72-hour decision", check_appeal),
    LetterKind("external-review", "External review request", "external_review.docx",
               "asks an independent review organization to review an upheld denial, within "
               "four months", check_external_review),
    LetterKind("info-response", "Response to a request for information", "info_response.docx",
               "cover letter listing what is enclosed in answer to a payer's request",
               check_info_response),
    LetterKind("medical-necessity", "Letter of medical necessity", "medical_necessity.docx",
               "goes with the initial request: diagnosis, indication, treatment tried, "
               "results, mapped to the payer's Criteria items", check_medical_necessity),
)}


def letter_kind(key: str) -> LetterKind:
    try:
        return KINDS[key]
    except KeyError:
        raise LetterError(f"'{key}' is not a letter kind; use one of: "
                          + ", ".join(KINDS)) from None


def applicable(kind: LetterKind, request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    """None when the request fits the kind, else the reason it does not."""
    return kind.check(request, deadlines, now)


# --- templates: where they are, what fields they need -----------------------------------

def template_folders(tracker: Tracker | None = None, override: Path | str | None = None
                     ) -> list[Path]:
    """Folders searched for a template, first match wins: --templates, Settings, bundled."""
    folders: list[tuple[Path, bool]] = []  # (folder, named by the tracker's Settings)
    if override:
        folders.append((Path(override), False))
    setting = tracker.settings.get(TEMPLATES_SETTING) if tracker is not None else None
    if tracker is not None and not is_blank(setting):
        folder = Path(str(setting)).expanduser()
        folders.append((folder if folder.is_absolute() else tracker.path.parent / folder, True))
    for folder, from_settings in folders:
        if not folder.is_dir():
            error = TemplateProblemError(f"{folder}: the letter template folder does not "
                                         "exist; fix --templates or the Settings key "
                                         f"'{TEMPLATES_SETTING}'.")
            if from_settings:
                error.exit_code = 1  # a finding in the tracker, which `check` warns about
            raise error
    return [*(folder for folder, _ in folders), BUNDLED_TEMPLATES]


def template_path(kind: LetterKind, folders: Sequence[Path]) -> Path:
    for folder in folders:
        if (folder / kind.template).is_file():
            return folder / kind.template
    raise TemplateProblemError(f"no template {kind.template} in " + ", ".join(map(str, folders)))


def _field_help(folders: Sequence[Path]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for folder in reversed(folders):  # bundled first, client entries win (each whole)
        path = folder / FIELDS_FILE
        if path.is_file():
            try:
                entries = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
                raise TemplateProblemError(f"{path}: not valid TOML ({error}).") from None
            for name, entry in entries.items():
                about = entry.get("about", PATIENT) if isinstance(entry, dict) else None
                if about not in (SENDER, PATIENT):
                    raise TemplateProblemError(
                        f"{path}: [{name}] about = {about!r}; write about = \"{SENDER}\" "
                        f"(the same in every letter of a batch) or about = \"{PATIENT}\" "
                        "(one patient's own text).")
            merged.update(entries)
    return merged


def _environment(undefined: type[Undefined] = StrictUndefined) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(undefined=undefined, autoescape=True)


class _CachingEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, compiling each distinct template part once.

    docxtpl calls from_string for every part of every letter (body, header,
    footer, each document property); the parts of one template are the same
    text every time, and compiling them was most of a letter's cost.
    """

    CACHE_SIZE = 256

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._compiled: dict[str, Any] = {}

    def from_string(self, source: Any, globals: Any = None,
                    template_class: Any = None) -> Any:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        template = self._compiled.get(source)
        if template is None:
            if len(self._compiled) >= self.CACHE_SIZE:
                self._compiled.clear()
            template = self._compiled[source] = super().from_string(source)
        return template


@lru_cache(maxsize=64)
def _template_xml(path: Path, mtime: float) -> str:
    """The Jinja source of a template's body, headers and footers, one paragraph a line
    (as docxtpl renders it, so a line number names a paragraph)."""
    from docxtpl import DocxTemplate

    document = _opened(DocxTemplate(str(path)), path)
    parts = [document.patch_xml(document.get_xml())]
    for uri in (document.HEADER_URI, document.FOOTER_URI):
        for _key, part in document.get_headers_footers(uri):
            parts.append(document.patch_xml(document.get_part_xml(part)))
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", "\n".join(parts))


_WORD_BODY = "word/document.xml"


def _opened(document: Any, path: Path | None) -> Any:
    """The DocxTemplate with its .docx read, or BrokenTemplateError saying why it cannot be."""
    try:
        document.init_docx()
    except Exception:
        source = document.template_file
        try:
            archive = zipfile.ZipFile(source if isinstance(source, io.BytesIO) else str(source))
        except (zipfile.BadZipFile, OSError, ValueError):
            problem = "is not a Word .docx file (it is not even a zip archive)"
        else:
            with archive:
                lacks = _WORD_BODY not in archive.namelist()
            problem = ("is a zip archive but not a Word document (it has no "
                       f"{_WORD_BODY})" if lacks else "is a damaged Word document")
        raise BrokenTemplateError(path, problem + "; open it in Word and save it again as "
                                  "a Word Document (.docx)") from None
    return document


@dataclass
class SuppliedField:
    name: str
    label: str
    help: str
    is_list: bool  # one item per line
    optional: bool  # only used under `{% if name is defined %}`
    about: str = PATIENT  # SENDER: a batch may share it; PATIENT (the default): never


@dataclass
class TemplateFields:
    kind: LetterKind
    path: Path
    tracker_fields: list[str]  # namespace.attribute
    supplied: list[SuppliedField]

    def about(self, name: str) -> str:
        """SENDER or PATIENT; a name the template does not supply is about the patient."""
        return next((f.about for f in self.supplied if f.name == name), PATIENT)


def template_fields(kind: LetterKind, folders: Sequence[Path]) -> TemplateFields:
    """The fields a kind's template uses, read from the template itself."""
    path = template_path(kind, folders)
    try:
        xml = _template_xml(path, path.stat().st_mtime)
        tree = _environment().parse(xml)
    except PAToolkitError:
        raise
    except TemplateSyntaxError as error:
        raise BrokenTemplateError(path, _syntax_words(error),
                                  _syntax_where(error, xml)) from None
    except Exception as error:
        raise TemplateProblemError(f"{path}: cannot read this template "
                                   f"({type(error).__name__}: {error}).") from None
    for other in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        raise BrokenTemplateError(path, _other_file_words(getattr(other, "template", None)),
                                  _where(xml, other.lineno))
    tracker_fields: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        owner: Any = getattr(node, "node", None)
        if isinstance(owner, nodes.Name) and owner.name in NAMESPACES:
            attribute = node.attr if isinstance(node, nodes.Getattr) else getattr(
                getattr(node, "arg", None), "value", "?")
            tracker_fields.add(f"{owner.name}.{attribute}")
    loop_targets = {n.target.name for n in tree.find_all(nodes.For)
                    if isinstance(n.target, nodes.Name)}
    names = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    iterated = {n.iter.name for n in tree.find_all(nodes.For) if isinstance(n.iter, nodes.Name)}
    guarded = {n.node.name for n in tree.find_all(nodes.Test)
               if n.name == "defined" and isinstance(n.node, nodes.Name)}
    printed = {n.name for output in tree.find_all(nodes.Output)
               for n in output.find_all(nodes.Name)}
    helps = _field_help(folders)
    supplied = []
    for name in sorted(names - set(NAMESPACES) - loop_targets - {"loop"}):
        info = helps.get(name, {})
        supplied.append(SuppliedField(
            name, str(info.get("label", name.replace("_", " ").capitalize())),
            str(info.get("help", "")), name in iterated,
            name in guarded and name not in (printed - guarded) and name not in iterated,
            str(info.get("about", PATIENT))))
    if any(f.startswith("criteria.") for f in tracker_fields) or "criteria" in {
            n.iter.name for n in tree.find_all(nodes.For) if isinstance(n.iter, nodes.Name)}:
        info = helps.get("evidence", {})
        supplied.append(SuppliedField("evidence", str(info.get("label", "Evidence")),
                                      str(info.get("help", "")), False, False,
                                      str(info.get("about", PATIENT))))
    return TemplateFields(kind, path, sorted(tracker_fields), supplied)


# --- the context: tracker values in namespaces that know where each comes from ----------

class Fields(dict[str, Any]):
    """A namespace of template values; blank values are left out so they read as missing.

    where(name) tells a person where to fill a missing value; a name that is neither
    among the values nor in known is a field patoolkit does not provide.
    """

    def __init__(self, values: Mapping[str, Any], where: Callable[[str], str],
                 known: Iterable[str] = ()):
        super().__init__({key: value for key, value in values.items() if not is_blank(value)})
        self.where = where
        self._known = frozenset(values) | frozenset(known)


def _format(value: object) -> object:
    """Dates as a letter writes them: 'November 28, 2026' (with the time when it has one)."""
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date) and not is_blank(value):
        stamp = pd.Timestamp(value)
        text = f"{stamp:%B} {stamp.day}, {stamp.year}"
        end_of_day = (stamp.hour, stamp.minute) == (23, 59)  # a payer's date-only deadline
        if (stamp.hour or stamp.minute) and not end_of_day:
            text += f", {stamp:%I:%M %p}".replace(" 0", " ")
        return text
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _lines(value: object) -> list[str]:
    """A multi-line cell or --set value as its non-empty lines (newlines or ';')."""
    if is_blank(value):
        return []
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    return [line.strip() for line in re.split(r"[\n;]+", str(value)) if line.strip()]


def _address_lines(value: object) -> list[str]:
    """An address cell as letter lines: newlines or ';' split it; else 'Street, City, ST ZIP'
    keeps 'City, ST ZIP' together on the last line."""
    lines = _lines(value)
    if len(lines) == 1:
        parts = [part.strip() for part in lines[0].split(",") if part.strip()]
        if len(parts) >= 3 and re.fullmatch(r"[A-Z]{2}\s+\d{5}(-\d{4})?", parts[-1]):
            return [*parts[:-2], f"{parts[-2]}, {parts[-1]}"]
    return lines


def _payer_row(payers: pd.DataFrame, payer: object, plan_type: object) -> tuple[int | None, Row]:
    if payers.empty or is_blank(payer):
        return None, {}
    same_payer = payers["payer"].astype("string").str.strip().str.casefold() == str(
        payer).strip().casefold()
    plans = payers["plan_type"].astype("string")
    for mask in (same_payer & (plans == str(plan_type)), same_payer & plans.isna()):
        rows = payers[mask.fillna(False)]
        if len(rows):
            return int(rows.index[0]), rows.iloc[0].to_dict()
    return None, {}


def _column_title(tracker: Tracker, sheet: str, name: str) -> str:
    header = tracker.headers.get(sheet)
    if header is not None and name in header.labels:
        return header.labels[name]
    spec = next(s for s in SHEETS if s.name == sheet)
    return spec.column(name).title


def _evidence_where(item: object) -> Callable[[str], str]:
    return lambda name: (f"supply it: --set 'evidence[{item}]=...' (or the letter form in the "
                         "dashboard)")


class RequestIndex:
    """Requests by ID (case and spaces forgiven), each row read into a dict once."""

    def __init__(self, tracker: Tracker):
        self.tracker = tracker
        requests = tracker.requests
        keys = requests["request_id"].astype("string").str.strip().str.upper()
        self.rows: dict[str, int] = {}
        self.shared: dict[str, list[int]] = {}  # an ID on several rows: whose letter is it?
        for row, key in zip(requests.index, keys, strict=True):
            if not pd.isna(key):
                first = self.rows.setdefault(str(key), int(row))
                if first != int(row):
                    self.shared.setdefault(str(key), [first]).append(int(row))
        self._records: dict[int, dict[str, Any]] = {}
        self._payers: dict[tuple[str, str], tuple[int | None, Row]] = {}

    def payer(self, payer: object, plan_type: object) -> tuple[int | None, Row]:
        """The Payers row for a payer and plan type (cached): (Excel row or None, values)."""
        key = (str(payer), str(plan_type))
        if key not in self._payers:
            self._payers[key] = _payer_row(self.tracker.frames["Payers"], payer, plan_type)
        return self._payers[key]

    def find(self, request_id: str) -> tuple[int, dict[str, Any]]:
        """(Excel row, the request's values) or RequestNotFoundError."""
        key = str(request_id).strip().upper()
        if key in self.shared:
            rows = self.shared[key]
            raise DuplicateRequestIdError(
                f"request {request_id}: its ID is on Requests rows "
                f"{', '.join(map(str, rows[:-1]))} and {rows[-1]}, so which patient a letter "
                "is for cannot be told; give each request its own ID (patoolkit check lists "
                "them), then make the letter.")
        row = self.rows.get(key)
        if row is None:
            raise RequestNotFoundError(f"{self.tracker.path}: no request with ID "
                                       f"'{request_id}' on the Requests sheet.")
        if row not in self._records:
            self._records[row] = self.tracker.requests.loc[row].to_dict()
        return row, self._records[row]


def build_context(tracker: Tracker, request_id: str, deadlines: Row, now: pd.Timestamp,
                  kind: LetterKind, supplied: Mapping[str, object] | None = None,
                  index: RequestIndex | None = None,
                  criteria: pd.DataFrame | None = None) -> dict[str, Any]:
    """Everything a template may use for one request, each namespace knowing its source.

    index and criteria (the request's documentation_checklist) save the lookups
    when many letters are made from one tracker.
    """
    index = index or RequestIndex(tracker)
    row_number, request = index.find(request_id)
    settings = tracker.settings
    supplied = dict(supplied or {})

    def in_requests(name: str) -> str:
        return (f"fill Requests row {row_number}, column "
                f"'{_column_title(tracker, 'Requests', name)}'")

    def in_settings(name: str) -> str:
        return f"fill the Settings sheet, key 'practice_{name}'"

    payer_row_number, payer = index.payer(request.get("payer"), request.get("plan_type"))

    def in_payers(name: str) -> str:
        title = _column_title(tracker, "Payers", name)
        if payer_row_number is None:
            return (f"add a row for payer '{request.get('payer')}' "
                    f"({request.get('plan_type') or 'any plan type'}) on the Payers sheet "
                    f"with column '{title}'")
        return f"fill Payers row {payer_row_number}, column '{title}'"

    def in_deadlines(name: str) -> str:
        return (f"this deadline does not apply to request {request_id} as the tracker stands "
                f"(see `patoolkit deadlines`); check its decision and dates on Requests row "
                f"{row_number}")

    def to_supply(name: str) -> str:
        return f"supply it: --set {name}=... (or the letter form in the dashboard)"

    context: dict[str, Any] = {
        "practice": Fields({key: settings.get(f"practice_{key}")
                            for key in ("name", "address", "phone", "fax")}, in_settings),
        "payer": Fields({"name": request.get("payer"), "plan_type": request.get("plan_type"),
                         "appeals_address": _address_lines(payer.get("appeals_address")),
                         "fax": payer.get("fax"), "phone": payer.get("phone"),
                         "portal": payer.get("portal")},
                        lambda name: in_requests("payer") if name == "name" else in_payers(name)),
        "patient": Fields({"name": request.get("patient_name"), "id": request.get("patient_id"),
                           "dob": _format(request.get("patient_dob")),
                           "member_id": request.get("member_id")},
                          lambda name: in_requests({"name": "patient_name", "id": "patient_id",
                                                    "dob": "patient_dob"}.get(name, name))),
        "provider": Fields({"name": request.get("ordering_provider"),
                            "npi": request.get("ordering_npi")},
                           lambda name: in_requests({"name": "ordering_provider",
                                                     "npi": "ordering_npi"}[name])),
        "request": Fields({name: _format(request.get(name)) for name in REQUESTS.column_names},
                          in_requests),
        "deadlines": Fields({**{name: _format(value) for name, value in deadlines.items()
                                if not name.startswith("basis_")},
                             "decision_basis": deadlines.get("basis_decision_due"),
                             **_late_filing(request, deadlines, now)},
                            in_deadlines, known=(*DEADLINES, *LATE_FILING_FIELDS,
                                                 "decision_timeframe")),
        "letter": Fields({"date": _format(now.normalize()), "title": kind.title,
                          "kind": kind.key}, lambda name: "set by patoolkit"),
    }
    given: Any = supplied.pop("evidence", None) or {}
    evidence = {str(key).strip().casefold(): value for key, value in given.items()}
    checklist = criteria if criteria is not None else documentation_checklist(
        tracker.frames["Criteria"], request.get("service_category"), request.get("payer"))
    context["criteria"] = [
        Fields({"item": item, "required": "Yes" if required else "No",
                "evidence": evidence.get(str(item).strip().casefold())},
               _evidence_where(item))
        for item, required in zip(checklist["item"], checklist["required"], strict=True)]
    context.update(supplied)
    context["_to_supply"] = to_supply
    context["_request_row"] = row_number
    return context


LATE_FILING_FIELDS = ("filing_deadline_passed", "good_cause_rule")


def _late_filing(request: Row, deadlines: Row, now: pd.Timestamp) -> dict[str, object]:
    """deadlines.filing_deadline_passed (the date, only when an appeal made now is late) and
    deadlines.good_cause_rule (the citation where the law gives one; else the plan decides)."""
    if not filing_late(deadlines, now):
        return dict.fromkeys(LATE_FILING_FIELDS)
    return {"filing_deadline_passed": _format(deadlines.get("appeal_filing_deadline")),
            "good_cause_rule": GOOD_CAUSE.get(str(request.get("plan_type")))}


def parse_set(values: Iterable[str], fields: TemplateFields | None = None) -> dict[str, object]:
    """--set name=value pairs; list fields split on newlines or ';'; evidence[Item]=..."""
    supplied: dict[str, object] = {}
    lists = {f.name for f in fields.supplied if f.is_list} if fields else set()
    evidence: dict[str, str] = {}
    for pair in values:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise LetterError(f"--set '{pair}': write it as name=value.")
        if match := re.fullmatch(r"evidence\[(.+)\]", name):
            evidence[match.group(1).strip()] = value.strip()
        elif not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in NAMESPACES:
            raise LetterError(f"--set '{name}': not a field you can supply; "
                              "`patoolkit templates` lists them.")
        else:
            supplied[name] = _lines(value) if name in lists else value.strip()
    if evidence:
        supplied["evidence"] = evidence
    return supplied


def clean_supplied(values: Mapping[str, object], fields: TemplateFields) -> dict[str, object]:
    """Form or --set values as the template wants them; blanks dropped (they read as missing)."""
    out: dict[str, object] = {}
    lists = {f.name for f in fields.supplied if f.is_list}
    for name, value in values.items():
        if name == "evidence" and isinstance(value, Mapping):
            out[name] = {k: v for k, v in value.items() if not is_blank(v)}
        elif name in lists:
            if items := _lines(value):
                out[name] = items
        elif not is_blank(value):
            out[name] = str(value).strip()
    return out


# --- rendering --------------------------------------------------------------------------

@dataclass
class _Use:
    """A value the template used that is not there: whose it was, its name, which tag."""

    owner: object
    name: object
    where: str  # the tag, as _where says it
    written: bool  # the name is spelled in the template, so not a patient's value


@dataclass
class _Budget:
    """What one letter may still spend; the sandbox's hooks read it as the template runs."""

    deadline: float  # time.monotonic()
    chars: int = 0  # Word XML printed so far, every part
    depth: int = 0  # macros now running inside one another


class _Refused(Exception):
    """A template went over a limit or reached for another file; words say which."""

    def __init__(self, words: str, lineno: int | None = None):
        super().__init__(words)
        self.words, self.lineno = words, lineno


_FOUND: ContextVar[list[_Use] | None] = ContextVar("_FOUND", default=None)
_PART: ContextVar[str | None] = ContextVar("_PART", default=None)  # the part being filled
_BUDGET: ContextVar[_Budget | None] = ContextVar("_BUDGET", default=None)
_FROM_STRING = "<template>"  # the file name Jinja gives a template made from a string
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def _clip(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _where(source: str | None, lineno: int | None) -> str:
    """Where in the template: the tags of the paragraph (a line of the source) at lineno."""
    lines = (source or "").split("\n")
    if not lineno or not 0 < lineno <= len(lines):
        return ""
    text = html.unescape(re.sub(r"<[^>]+>", "", lines[lineno - 1])).strip()
    tags = list(dict.fromkeys(_TAG.findall(text)))
    if tags:
        return "at " + ", ".join(_clip(tag) for tag in tags[:3]) + (
            " ..." if len(tags) > 3 else "")
    return f'in the paragraph "{_clip(text)}"' if text else ""


def _running_line(frame: Any) -> int | None:
    """The template line that frame (or the nearest template frame under it) is running."""
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            return int(template.get_corresponding_lineno(frame.f_lineno))
        frame = frame.f_back
    return None


def _failed_line(error: BaseException) -> int | None:
    """The template line an error was raised on (Jinja rewrites tracebacks to say it)."""
    if isinstance(error, TemplateSyntaxError):
        return error.lineno
    if isinstance(error, _Refused) and error.lineno:
        return error.lineno
    lineno, trace = None, error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == _FROM_STRING:
            lineno = trace.tb_lineno  # the innermost wins
        trace = trace.tb_next
    return lineno


# --- limits: checked by the sandbox as the template runs

def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise _Refused(f"takes longer than {MAX_RENDER_SECONDS:g} seconds to fill, the limit "
                       "for one letter (MAX_RENDER_SECONDS): a loop that never ends?")


_CONTAINERS = (list, tuple, dict, set, frozenset)
_SIZED = (*_CONTAINERS, str, range)  # what join can count the items of


def _countable(items: Any) -> Any:
    """items as a list if it is a generator (map, select), so join can count them first."""
    if isinstance(items, (*_SIZED, Undefined)):
        return items
    try:
        return list(items)
    except TypeError:  # not iterable at all: join will say so
        return items


def _digits(number: int) -> int:
    return int(number.bit_length() * 0.30103) + 1


def _size(value: object) -> int:
    """About how many characters value prints as; counting stops soon after the limit."""
    total, stack = 0, [value]
    while stack and total <= MAX_VALUE_CHARS:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, int):
            total += _digits(item)
        elif isinstance(item, _CONTAINERS):
            total += 2 + 2 * len(item)  # brackets, commas: and no list is counted for free
            if total <= MAX_VALUE_CHARS:
                stack.extend(item)
                if isinstance(item, dict):
                    stack.extend(item.values())
        else:
            total += 8  # a date, a float, None, a macro: short when printed
    return total


def _too_big() -> _Refused:
    return _Refused(f"builds a text or list of more than {MAX_VALUE_CHARS:,} characters, the "
                    "limit for one value (MAX_VALUE_CHARS)")


def _too_long() -> _Refused:
    return _Refused(f"computes a number of more than {MAX_NUMBER_DIGITS:,} digits, the "
                    "limit (MAX_NUMBER_DIGITS)")


def _bounded(value: Any) -> Any:
    """value, if it is within the limits for one value."""
    if isinstance(value, int) and _digits(value) > MAX_NUMBER_DIGITS:
        raise _too_long()
    if _size(value) > MAX_VALUE_CHARS:
        raise _too_big()
    return value


def _check_sizes(args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        _bounded(value)


# methods of a text, and filters, whose result can be far longer than what they are given
_GROWING = frozenset({"replace", "indent", "center", "ljust", "rjust", "zfill", "expandtabs",
                      "wordwrap", "join", "format", "format_map", "batch", "slice"})
_FORMATTING = frozenset({"format", "format_map"})


def _check_growth(name: str, first: Any, rest: Sequence[Any]) -> None:
    """Refuse a growing method or filter whose result would be over the limit, unmade.

    first is the text (or list, for join and batch) it works on; rest its arguments.
    """
    if name not in _GROWING:
        return
    if name in _FORMATTING and isinstance(first, str):
        _check_widths(first, rest)
    if name == "join":  # items joined by a separator: count each separator
        separator = next((value for value in rest if isinstance(value, str)), "")
        count = len(first) if isinstance(first, _SIZED) else 0
        grown = _size(first) + count * len(separator)
    elif name == "replace" and isinstance(first, str) and len(rest) >= 2 and all(
            isinstance(value, str) for value in rest[:2]):
        old, new = rest[0], rest[1]
        count = first.count(old) if old else len(first) + 1
        grown = len(first) + count * max(len(new) - len(old), 0)
    else:  # a width, count or prefix applied to each line at most
        lines = first.count("\n") + 1 if isinstance(first, str) else 1
        widest = max([value for value in rest if isinstance(value, int)]
                     + [len(value) for value in rest if isinstance(value, str)] + [0])
        grown = _size(first) + lines * widest
    if grown > MAX_VALUE_CHARS:
        raise _too_big()


def _check_widths(form: str, args: object) -> None:
    """'%999999999s' and '{:>999999999}' would make a text that long: refuse them unmade."""
    numbers = [int(run) if len(run) < 19 else sys.maxsize for run in re.findall(r"\d{7,}", form)]
    if "*" in form or re.search(r":[^{}]*\{", form):  # a width given as an argument:
        # '%*s' % (10**9, 'x'), '{:>{w}}'.format('x', w=10**9)
        values = args if isinstance(args, list | tuple) else [args]
        numbers += [value for value in values if isinstance(value, int)]
        for value in values:
            if isinstance(value, Mapping):
                numbers += [item for item in value.values() if isinstance(item, int)]
    if any(number > MAX_VALUE_CHARS for number in numbers):
        raise _too_big()


def _check_operands(operator: str, left: Any, right: Any) -> None:
    """Refuse 'x' * 10**9, 10**10**10 and the like before they are computed."""
    if operator == "*":
        for sequence, times in ((left, right), (right, left)):
            if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                if times > 0 and _size(sequence) * times > MAX_VALUE_CHARS:
                    raise _too_big()
                return
        if isinstance(left, int) and isinstance(right, int) and (
                _digits(left) + _digits(right) > MAX_NUMBER_DIGITS + 1):
            raise _too_long()
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if abs(left) > 1 and right > 0 and right * math.log10(abs(left)) > MAX_NUMBER_DIGITS:
            raise _too_long()
    elif operator == "%" and isinstance(left, str):
        _check_widths(left, right)
    _check_sizes((left, right), {})


def _printed(value: Any) -> Any:
    """Every value a template prints passes here first (Jinja's finalize)."""
    _tick()
    return _bounded(value)


def _stepping(iterable: Any) -> Iterator[Any]:
    for item in iterable:
        _tick()
        yield item


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A Jinja filter held to the limits: checked before it runs and what it returns."""
    passes_first = hasattr(function, "jinja_pass_arg")  # the context, not a value

    @wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        skip = 1 if passes_first else 0
        if name == "join" and len(args) > skip:
            args = (*args[:skip], _countable(args[skip]), *args[skip + 1:])
        values = args[skip:]
        _check_sizes(values, kwargs)
        if values:
            _check_growth(name, values[0], [*values[1:], *kwargs.values()])
        return _bounded(function(*args, **kwargs))

    return bounded


def _no_other_file(name: str) -> None:
    raise _Refused(_other_file_words(name))


def _other_file_words(name: object) -> str:
    """name: as the tag gives it, a text or (parsed) a node holding one."""
    name = getattr(name, "value", name)
    shown = f" '{_clip(name, 40)}'" if isinstance(name, str) else ""
    return (f"reads another file{shown} (include, import or extends): a letter template "
            "must hold all its own text; copy that text in instead")


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's compiler, with each loop's steps and each ~ join passing the limits."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._wrap: dict[int, str] = {}  # id(node): what to call on its value

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        wrapper = self._wrap.pop(id(node), None)
        if wrapper is None:
            return super().visit(node, *args, **kwargs)
        self.write(f"{wrapper}(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self._wrap[id(node.iter)] = "environment.iterate"
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        for part in node.nodes:
            self._wrap[id(part)] = "environment.joining"
        self.write("environment.joined(")
        super().visit_Concat(node, frame)
        self.write(")")


class _LetterEnvironment(_CachingEnvironment):
    """The sandbox letters are filled in, holding each letter to the limits.

    Every hook checks the clock; values are measured where they could grow.
    Notes which part of the letter is being filled, so an error can name its tag.
    """

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any):
        super().__init__(finalize=_printed, loader=FunctionLoader(_no_other_file), **options)
        self.filters = {name: _bounded_filter(name, function)
                        for name, function in self.filters.items()}

    def from_string(self, source: Any, globals: Any = None,
                    template_class: Any = None) -> Any:
        if isinstance(source, str):
            _PART.set(source)
        return super().from_string(source, globals, template_class)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _tick()
        method = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
        text = getattr(method, "__self__", None)
        if isinstance(text, str):
            name = getattr(method, "__name__", "")
            if name == "join" and args:
                args = (_countable(args[0]), *args[1:])
                _check_growth(name, args[0], [text])
            else:
                _check_growth(name, text, [*args, *kwargs.values()])
        _check_sizes(args, kwargs)
        budget = _BUDGET.get()
        if budget is None:
            return _bounded(super().call(context, obj, *args, **kwargs))
        if budget.depth >= MAX_CALL_DEPTH:
            raise _Refused(f"calls macros more than {MAX_CALL_DEPTH} deep, the limit "
                           "(MAX_CALL_DEPTH): a macro that calls itself without end?")
        budget.depth += 1
        try:
            return _bounded(super().call(context, obj, *args, **kwargs))
        finally:
            budget.depth -= 1

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        _check_operands(operator, left, right)
        return _bounded(super().call_binop(context, operator, left, right))

    def iterate(self, iterable: Any) -> Any:
        """The steps of a {% for %} loop (the code generator wraps its iterable here)."""
        _tick()
        return iterable if isinstance(iterable, Undefined) else _stepping(iterable)

    @staticmethod
    def joining(value: Any) -> Any:
        """Each operand of ~, before it is made a text."""
        return _bounded(value)

    @staticmethod
    def joined(text: Any) -> Any:
        """What ~ made."""
        _tick()
        return _bounded(text)

    def concat(self, pieces: Iterable[str]) -> str:  # type: ignore[override]
        """A part of the letter as printed, counted against the letter's limit."""
        budget = _BUDGET.get()
        if budget is None:
            return "".join(pieces)
        kept = []
        for piece in pieces:
            budget.chars += len(piece)
            if budget.chars > MAX_LETTER_CHARS:
                raise _Refused(f"prints more than {MAX_LETTER_CHARS:,} characters of Word XML, "
                               "the limit for one letter (MAX_LETTER_CHARS)",
                               _running_line(getattr(pieces, "gi_frame", None)))
            _tick()
            kept.append(piece)
        return "".join(kept)


# --- errors in words

def _syntax_words(error: TemplateSyntaxError) -> str:
    return f"has a mistake in a tag: {(error.message or 'Jinja cannot read it').rstrip('.')}"


def _syntax_where(error: TemplateSyntaxError, source: str | None) -> str:
    if (error.message or "").lower().startswith("unexpected end of template"):
        return ""  # the last line says nothing; the message names the block left open
    return _where(source, error.lineno)


# what goes wrong while a template fills a letter, in words; never the error's own
# text, which can quote a value of the letter (a KeyError names the key it missed)
_FAILURES: tuple[tuple[type[BaseException], str], ...] = (
    (SecurityError, "reaches for something a letter template may not use: Python "
                    "internals, or a method that changes the letter's values (unsafe)"),
    (UndefinedError, "uses a value that is not there (a field spelled wrong, or left empty) "
                     "where one is needed: calls it, computes with it or looks inside it"),
    (RecursionError, "calls a macro from itself without end"),
    (ZeroDivisionError, "divides by zero"),
    (KeyError, "looks up a key that is not there"),
    (IndexError, "takes an item past the end of a list or text"),
    (AttributeError, "asks a value for something it does not have"),
    (TypeError, "combines values of kinds that do not go together (text with a number, or "
                "a call of something that is not a function)"),
    (OverflowError, "computes a number too large"),
    (ValueError, "converts a value that does not fit (text read as a number?)"),
    (MemoryError, "needs more memory than the computer has"),
)


def _failure_words(error: BaseException) -> str:
    if isinstance(error, _Refused):
        return error.words
    if isinstance(error, TemplateSyntaxError):
        return _syntax_words(error)
    if isinstance(error, OverflowError) and "MAX_RANGE" in str(error):
        return f"asks for a range of more than {MAX_RANGE:,} numbers, the sandbox's limit"
    words = next((words for kind, words in _FAILURES if isinstance(error, kind)), None)
    return words or f"fails while filling a letter ({type(error).__name__})"


def _broken(error: BaseException, path: Path | None) -> BrokenTemplateError:
    where = (_syntax_where(error, _PART.get()) if isinstance(error, TemplateSyntaxError)
             else _where(_PART.get(), _failed_line(error)))
    return BrokenTemplateError(path, _failure_words(error), where)


class _Collecting(StrictUndefined):
    """StrictUndefined that notes each use of a missing value instead of stopping at the first.

    The notes go to the list of the render in progress (a context variable, so one
    compiled template serves every letter); the letter made in that pass is thrown
    away when anything was noted. What the sandbox refused (__class__) is raised.
    """

    def _note(self) -> None:
        found = _FOUND.get()
        lineno = _running_line(inspect.currentframe())
        if found is None or lineno is None or self._undefined_exception is not UndefinedError:
            # outside render_letter; or Jinja folding constants as it compiles, which
            # must not make "" of {{ {}['a'] }} for every later letter; or unsafe
            self._fail_with_undefined_error()
        source, name = _PART.get(), self._undefined_name
        found.append(_Use(self._undefined_obj, name, _where(source, lineno),
                          isinstance(name, str | int) and str(name) in (source or "")))

    def __str__(self) -> str:  # type: ignore[override]
        self._note()
        return ""

    def __iter__(self):  # type: ignore[no-untyped-def, override]
        self._note()
        return iter(())

    def __bool__(self) -> bool:  # type: ignore[override]
        self._note()
        return False

    def __len__(self) -> int:  # type: ignore[override]
        self._note()
        return 0

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        self._note()
        return self

    __hash__ = Undefined.__hash__  # type: ignore[assignment]


@lru_cache(maxsize=1)
def _rendering_environment() -> _LetterEnvironment:
    return _LetterEnvironment(undefined=_Collecting, autoescape=True)


def _sorted_uses(found: Iterable[_Use], context: Mapping[str, Any]
                 ) -> tuple[list[MissingField], list[tuple[str, str]]]:
    """The fields a person can fill, and the template's own mistakes (words, where)."""
    missing: dict[str, MissingField] = {}
    mistakes: dict[tuple[str, str], None] = {}
    to_supply: Callable[[str], str] = context["_to_supply"]
    for use in found:
        owner, name = use.owner, use.name
        if isinstance(owner, Fields):
            namespace = next((key for key in NAMESPACES if context.get(key) is owner), None)
            if name not in owner._known:
                which = (f"a field '{_clip(str(name), 40)}' of {namespace or 'a Criteria item'}"
                         if use.written else "a field whose name is computed from a value")
                fields = ", ".join(sorted(owner._known))
                mistakes[(f"uses {which} that patoolkit does not provide (it provides "
                          f"{fields}; `patoolkit templates` shows what each letter uses)",
                          use.where)] = None
                continue
            if namespace is None and any(owner is item for item in context.get("criteria", [])):
                label = f"evidence[{owner.get('item')}]"
            else:
                label = f"{namespace or '?'}.{name}"
            missing.setdefault(label, MissingField(label, owner.where(str(name))))
        elif owner is missing_value and isinstance(name, str) and use.written:
            missing.setdefault(name, MissingField(name, to_supply(name)))  # a bare name
        elif name is None:  # Jinja's own: an empty list's first item, a parameter not given
            mistakes[("uses a value that is not there", use.where)] = None
        else:  # a key or attribute a text, list or number does not have
            which = f"'{_clip(str(name), 40)}'" if use.written else "a key computed from a value"
            mistakes[(f"looks up {which} on a value that does not have it", use.where)] = None
    return list(missing.values()), list(mistakes)


def render_letter(template: Path | bytes, context: Mapping[str, Any], request_id: str = "",
                  kind: str = "", path: Path | None = None) -> bytes:
    """The letter as .docx bytes, or MissingFieldsError naming every empty field.

    A template that cannot make a letter raises BrokenTemplateError naming path (or
    template, when it is a path); so does one over a limit (MAX_RENDER_SECONDS, ...).
    """
    from docxtpl import DocxTemplate

    if isinstance(template, bytes):
        source = template
    else:
        path, source = path or Path(template), Path(template).read_bytes()
    found: list[_Use] = []
    values = {key: value for key, value in context.items() if not key.startswith("_")}
    tokens = (_FOUND.set(found), _PART.set(None),
              _BUDGET.set(_Budget(time.monotonic() + MAX_RENDER_SECONDS)))
    try:
        document = _opened(DocxTemplate(io.BytesIO(source)), path)
        document.render(values, _rendering_environment(), autoescape=True)
    except PAToolkitError:
        raise
    except Exception as error:
        raise _broken(error, path) from None
    finally:
        _FOUND.reset(tokens[0])
        _PART.reset(tokens[1])
        _BUDGET.reset(tokens[2])
    fields, mistakes = _sorted_uses(found, context)
    if mistakes:
        problem = "; ".join(words + (f" ({where})" if where else "")
                            for words, where in mistakes[:-1])
        words, where = mistakes[-1]
        raise BrokenTemplateError(path, (problem + "; " if problem else "") + words, where)
    if fields:
        raise MissingFieldsError(request_id, kind, fields)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def letter_text(docx: bytes | Path) -> str:
    """The words of a .docx in reading order: header, body (tables row by row), footer."""
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = Document(io.BytesIO(docx) if isinstance(docx, bytes) else str(docx))
    lines: list[str] = []

    def walk(container: Any) -> None:
        for block in container.iter_inner_content():
            if isinstance(block, Paragraph):
                lines.append(block.text)
            elif isinstance(block, Table):
                for row in block.rows:
                    lines.append(" | ".join(cell.text for cell in row.cells))

    section = document.sections[0]
    walk(section.header)
    lines.append("")
    walk(document)
    lines.append("")
    walk(section.footer)
    return "\n".join(line.rstrip() for line in lines).strip() + "\n"


# --- output files -----------------------------------------------------------------------

def safe_stem(request_id: str, kind: str, on: dt.date) -> str:
    """A file name that stays in its folder whatever the request ID holds (../../x)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", str(request_id)).strip("_-")[:60] or "request"
    return f"{cleaned}_{kind}_{on:%Y-%m-%d}"


def letters_folder(tracker: Tracker, override: Path | str | None = None) -> Path:
    """--out, else the Settings key letters_folder, else letters_out/ beside the tracker."""
    if override:
        folder = Path(override)
    else:
        setting = tracker.settings.get(LETTERS_SETTING)
        folder = Path(str(setting)).expanduser() if not is_blank(setting) else Path(
            DEFAULT_LETTERS_FOLDER)
        if not folder.is_absolute():
            folder = tracker.path.parent / folder
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def write_new(folder: Path, stem: str, suffix: str, data: bytes) -> Path:
    """Write data under stem (stem-2, stem-3, ... when taken); never replaces a file."""
    for number in range(1, 1000):
        path = folder / (f"{stem}{suffix}" if number == 1 else f"{stem}-{number}{suffix}")
        if path.exists():
            continue
        try:
            return create_new_file(path, lambda target: _write_bytes(target, data),
                                   "letter", suffix)
        except PAToolkitError:
            if path.exists():  # taken between our look and our write: try the next
                continue
            raise
    raise LetterError(f"{folder}: 999 letters named {stem} already; clear the folder out.")


def office_command() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(paths: Sequence[Path], timeout: float = 300) -> list[Path]:
    """PDF copies made by LibreOffice headless, beside each .docx; [] if it is not installed."""
    command = office_command()
    if command is None or not paths:
        return []
    by_folder: dict[Path, list[Path]] = {}
    for path in paths:
        by_folder.setdefault(path.parent, []).append(path)
    made = []
    with tempfile.TemporaryDirectory(prefix="patoolkit-office-") as profile:
        for folder, group in by_folder.items():
            result = subprocess.run(
                [command, f"-env:UserInstallation=file://{profile}", "--headless",
                 "--convert-to", "pdf", "--outdir", str(folder), *map(str, group)],
                capture_output=True, timeout=timeout, check=False)
            for path in group:
                pdf = path.with_suffix(".pdf")
                if pdf.exists():
                    made.append(pdf)
            if result.returncode != 0 and not made:
                raise LetterError("LibreOffice could not make the PDF (exit "
                                  f"{result.returncode}); the .docx letters are made.")
    return made


# --- making letters ---------------------------------------------------------------------

@dataclass
class Made:
    request_id: str
    kind: str
    path: Path
    pdf: Path | None = None


@dataclass
class BatchResult:
    made: list[Made] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # request_id, why
    errors: list[PAToolkitError] = field(default_factory=list)  # the full reasons
    history_recorded: bool = False
    pdf_problem: str | None = None  # why no PDF was made, when LibreOffice failed

    def summary(self) -> str:
        text = f"{len(self.made)} letter(s) made, {len(self.skipped)} skipped."
        for request_id, why in self.skipped:
            text += f"\n  skipped {request_id}: {why}"
        return text


@dataclass(frozen=True)
class PlannedLetter:
    """One letter of a batch as it will be made: what it takes from the form, or why not."""

    request_id: str  # the tracker's spelling (as asked when no such request)
    shared: Mapping[str, object]  # fields about the sender, the same in every letter
    own: Mapping[str, object]  # fields supplied for this request only
    skip: PAToolkitError | None = None  # why it will not be made

    @property
    def values(self) -> dict[str, object]:
        return {**self.shared, **self.own}

    @property
    def why(self) -> str | None:
        """Why it will be skipped, in words that follow its request ID."""
        return None if self.skip is None else _short(self.skip)


@dataclass(frozen=True)
class BatchPlan:
    """What a batch will make, letter by letter, before anything is written."""

    kind: LetterKind
    fields: TemplateFields
    letters: list[PlannedLetter]
    shared: Mapping[str, object]  # fields about the sender, in every letter of a batch

    @property
    def to_make(self) -> list[PlannedLetter]:
        return [letter for letter in self.letters if letter.skip is None]

    @property
    def to_skip(self) -> list[PlannedLetter]:
        return [letter for letter in self.letters if letter.skip is not None]

    def labelled(self, values: Mapping[str, object]) -> list[tuple[str, object]]:
        """(label, value) for each field given, in the template's order."""
        return [(f.label, values[f.name]) for f in self.fields.supplied if f.name in values]


def _filled(value: object) -> bool:
    if isinstance(value, Mapping):
        return any(not is_blank(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(not is_blank(item) for item in value)
    return not is_blank(value)


def _request_key(request_id: object) -> str:
    return str(request_id).strip().upper()


@dataclass
class LetterMaker:
    """Makes letters of any kind for one loaded tracker (templates read once per kind)."""

    tracker: Tracker
    now: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now().floor("s"))
    templates: Path | str | None = None
    deadlines: pd.DataFrame | None = None
    _sources: dict[str, tuple[Path, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folders = template_folders(self.tracker, self.templates)
        if self.deadlines is None:
            self.deadlines = deadlines_for(self.tracker, self.now)
        self.index = RequestIndex(self.tracker)
        ids = self.deadlines["request_id"].astype("string").str.strip().str.upper()
        self._deadline_positions: dict[str, int] = {}
        for position, key in enumerate(ids):
            if not pd.isna(key):  # the first of a duplicated ID, as RequestIndex finds it
                self._deadline_positions.setdefault(str(key), position)
        self._deadline_rows: dict[str, Row] = {}
        self._checklists: dict[tuple[object, object], pd.DataFrame] = {}

    def fields(self, kind: LetterKind | str) -> TemplateFields:
        return template_fields(letter_kind(kind) if isinstance(kind, str) else kind,
                               self.folders)

    def _deadlines_row(self, request_id: str) -> Row:
        assert self.deadlines is not None
        key = str(request_id).strip().upper()
        if key not in self._deadline_rows:
            position = self._deadline_positions.get(key)
            self._deadline_rows[key] = ({} if position is None
                                        else self.deadlines.iloc[position].to_dict())
        return self._deadline_rows[key]

    def request_row(self, request_id: str) -> Row:
        return self.index.find(request_id)[1]

    def checklist(self, request_id: str) -> pd.DataFrame:
        """The payer's Criteria items for the request's service category (cached)."""
        row = self.request_row(request_id)
        key = (row.get("service_category"), row.get("payer"))
        if key not in self._checklists:
            self._checklists[key] = documentation_checklist(
                self.tracker.frames["Criteria"], row.get("service_category"), row.get("payer"))
        return self._checklists[key]

    def criteria_items(self, request_id: str) -> list[str]:
        """The payer's Criteria items for the request's service category, in sheet order."""
        return [str(item) for item in self.checklist(request_id)["item"]]

    def why_not(self, request_id: str, kind: LetterKind | str) -> str | None:
        kind = letter_kind(kind) if isinstance(kind, str) else kind
        return applicable(kind, self.request_row(request_id), self._deadlines_row(request_id),
                          self.now)

    def late_filing_note(self, request_id: str) -> str | None:
        """When an appeal made now would be late, what the letter does about it (in words)."""
        request, deadlines = self.request_row(request_id), self._deadlines_row(request_id)
        late = _late_filing(request, deadlines, self.now)
        if late["filing_deadline_passed"] is None or not is_blank(
                request.get("appeal_submitted_date")):
            return None
        rule = late["good_cause_rule"] or "the plan's discretion"
        return (f"The appeal filing deadline passed on {late['filing_deadline_passed']}: the "
                f"filing is late. An appeal letter asks the plan to accept it for good cause "
                f"({rule}); give the reason under 'Good cause for filing late', or complete "
                "the marked line before sending.")

    def _not_fitting(self, request_id: str, kind: LetterKind) -> LetterNotApplicableError | None:
        reason = self.why_not(request_id, kind)
        return None if reason is None else LetterNotApplicableError(
            f"request {request_id}: no {kind.title.lower()} ({kind.key}): {reason}.")

    def render(self, request_id: str, kind: LetterKind | str,
               supplied: Mapping[str, object] | None = None) -> bytes:
        """The filled .docx bytes; refuses a request that does not fit the kind.

        supplied is this one request's own: render never shares it (see plan_batch).
        """
        kind = letter_kind(kind) if isinstance(kind, str) else kind
        request_id = str(self.request_row(request_id)["request_id"])
        if error := self._not_fitting(request_id, kind):
            raise error
        if kind.key not in self._sources:
            path = template_path(kind, self.folders)
            self._sources[kind.key] = (path, path.read_bytes())
        path, source = self._sources[kind.key]
        context = build_context(self.tracker, request_id, self._deadlines_row(request_id),
                                self.now, kind, supplied, self.index, self.checklist(request_id))
        return render_letter(source, context, request_id, kind.key, path)

    def plan_batch(self, request_ids: Sequence[str], kind: LetterKind | str,
                   supplied: Mapping[str, object] | None = None,
                   supplied_for: Mapping[str, Mapping[str, object]] | None = None,
                   batch: bool | None = None) -> BatchPlan:
        """What each letter will take from the form, or why it will be skipped; writes nothing.

        supplied: for one request, its own values; for a batch (more than one request),
        values every letter shares, so only fields about the sender: one about the
        patient raises PatientFieldsSharedError. supplied_for: values for one request
        only, by request ID (case and spaces forgiven); a letter of a batch takes its
        patient fields from there alone, and without a required one it is skipped.
        batch: None counts more than one request as a batch; True holds a batch of one
        (a dashboard's batch whose filters show one request) to the same rules.
        """
        kind = letter_kind(kind) if isinstance(kind, str) else kind
        fields = self.fields(kind)
        given = {name: value for name, value in (supplied or {}).items() if _filled(value)}
        typed_for = {_request_key(key): dict(values) for key, values in
                     (supplied_for or {}).items()}
        batch = len(request_ids) > 1 if batch is None else batch
        if batch and (patient := [name for name in given if fields.about(name) == PATIENT]):
            known = {f.name: f for f in fields.supplied}
            raise PatientFieldsSharedError(
                kind, len(request_ids),
                [known.get(name) or SuppliedField(name, name, "", False, False)
                 for name in patient],
                [f for f in fields.supplied if f.about == SENDER])
        letters = []
        for asked in request_ids:
            try:
                request_id = str(self.request_row(asked)["request_id"])  # the tracker's spelling
            except (RequestNotFoundError, DuplicateRequestIdError) as error:
                letters.append(PlannedLetter(str(asked), {}, {}, error))
                continue
            own = {name: value for name, value in typed_for.get(_request_key(request_id),
                                                                {}).items() if _filled(value)}
            shared = given if batch else {}
            if not batch:
                own = {**given, **own}
            skip: PAToolkitError | None = self._not_fitting(request_id, kind)
            if skip is None and batch:
                skip = self._lacking(request_id, kind, fields, shared, own)
            letters.append(PlannedLetter(request_id, shared, own, skip))
        return BatchPlan(kind, fields, letters, given if batch else {})

    @staticmethod
    def _lacking(request_id: str, kind: LetterKind, fields: TemplateFields,
                 shared: Mapping[str, object], own: Mapping[str, object]
                 ) -> PAToolkitError | None:
        """Why a letter of a batch cannot be made from the form: a required field is empty."""
        required = [f for f in fields.supplied if not f.optional]
        patient = [f for f in required if f.about == PATIENT and f.name not in own]
        if patient:
            return PatientFieldsNeededError(request_id, patient)
        sender = [MissingField(f.name, f"supply it for the whole batch: --set {f.name}=... (or "
                                       "the Letter tab in the dashboard)")
                  for f in required if f.name not in shared and f.name not in own]
        return MissingFieldsError(request_id, kind.key, sender) if sender else None

    def make(self, request_ids: Sequence[str], kind: LetterKind | str,
             supplied: Mapping[str, object] | None = None,
             out: Path | str | None = None, pdf: bool = False, by: str = "patoolkit",
             record: bool = True, progress: Callable[[int, int], None] | None = None,
             supplied_for: Mapping[str, Mapping[str, object]] | None = None,
             batch: bool | None = None) -> BatchResult:
        """Letters for each request; the ones that cannot be made are skipped with the reason.

        supplied and supplied_for as in plan_batch: a batch never puts a field about
        one patient into another patient's letter. Every letter made is recorded in
        the History sheet in one safe write.
        """
        kind = letter_kind(kind) if isinstance(kind, str) else kind
        plan = self.plan_batch(request_ids, kind, supplied, supplied_for, batch)
        result = BatchResult()
        if record and request_ids:
            from patoolkit.writer import check_writable

            # a tracker open in Excel, or saved by someone since it was read, would refuse
            # the History write: say so before any letter is made, not after
            check_writable(self.tracker.path, self.tracker.fingerprint, list(request_ids))
        folder = letters_folder(self.tracker, out) if request_ids else Path()
        broken: str | None = None  # the request a broken template failed on
        for number, planned in enumerate(plan.letters, start=1):
            error, data = planned.skip, b""
            if error is None and broken is not None:  # it would fail again, as slowly
                error = LetterError(f"request {planned.request_id}: not made: the {kind.key} "
                                    f"template failed on request {broken}.")
            elif error is None:
                try:
                    data = self.render(planned.request_id, kind, planned.values)
                except (LetterNotApplicableError, MissingFieldsError) as caught:
                    error = caught
                except BrokenTemplateError as caught:  # the letters made so far are kept
                    error, broken = caught, planned.request_id
            if error is not None:
                result.skipped.append((planned.request_id, _short(error)))
                result.errors.append(error)
            else:
                stem = safe_stem(planned.request_id, kind.key, self.now.date())
                result.made.append(Made(planned.request_id, kind.key,
                                        write_new(folder, stem, ".docx", data)))
            if progress is not None:
                progress(number, len(request_ids))
        if record and result.made:  # first: a letter on disk is a letter in History
            from patoolkit.writer import record_history

            try:
                record_history(self.tracker.path,
                               [(m.request_id, f"letter:{m.kind}", None, m.path.name)
                                for m in result.made], by, self.tracker.fingerprint)
            except Exception as error:  # disk full as much as a lock: name what was made
                raise LettersNotRecordedError(result, error) from None
            result.history_recorded = True
        if pdf and result.made:
            try:
                pdfs = {p.with_suffix(""): p for p in to_pdf([m.path for m in result.made])}
            except (LetterError, OSError, subprocess.SubprocessError) as error:
                result.pdf_problem = (str(error) if isinstance(error, LetterError) else
                                      f"LibreOffice could not make the PDF "
                                      f"({type(error).__name__}); the .docx letters are made.")
            else:
                for made in result.made:
                    made.pdf = pdfs.get(made.path.with_suffix(""))
        return result


def _short(error: Exception) -> str:
    text = str(error)
    return text.split(": ", 1)[1] if text.startswith("request ") else text


def filter_requests(tracker: Tracker, *, statuses: Sequence[str] = (),
                    decisions: Sequence[str] = (), payer: str | None = None,
                    owner: str | None = None, decided_from: dt.date | None = None,
                    decided_to: dt.date | None = None) -> list[str]:
    """Request IDs matching every filter given (e.g. all denials decided this week)."""
    requests = tracker.requests
    keep = pd.Series(True, index=requests.index)
    if statuses:
        keep &= requests["status"].isin(list(statuses)).fillna(False)
    if decisions:
        keep &= requests["decision"].isin(list(decisions)).fillna(False)
    if payer:
        keep &= (requests["payer"].astype("string").str.casefold() == payer.casefold()) \
            .fillna(False)
    if owner:
        keep &= (requests["owner"].astype("string").str.casefold() == owner.casefold()) \
            .fillna(False)
    decided = requests["decision_date"].dt.normalize()
    if decided_from:
        keep &= (decided >= pd.Timestamp(decided_from)).fillna(False)
    if decided_to:
        keep &= (decided <= pd.Timestamp(decided_to)).fillna(False)
    return requests.loc[keep, "request_id"].dropna().astype(str).tolist()

