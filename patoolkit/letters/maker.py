"""Making letters for one loaded tracker: one, or a batch planned before anything is
written, each recorded in the History sheet.

Each supplied field is about the sender (the provider's call window: a batch
may share it) or about the patient (history, enclosures: never shared). A
batch takes patient fields only from what was supplied for each request by
its ID, and a letter that would lack one is not made; plan_batch says, before
anything is written, what each letter of a batch will contain or why it will
be skipped. A tracker that cannot take the History write (open in Excel,
saved by someone since it was read) is refused before any letter is made.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..deadlines import deadlines_for
from ..errors import (
    BrokenTemplateError,
    LetterError,
    LetterNotApplicableError,
    PAToolkitError,
    RequestNotFoundError,
)
from ..rules import documentation_checklist
from ..schema import is_blank
from .context import (
    DuplicateRequestIdError,
    MissingField,
    MissingFieldsError,
    RequestIndex,
    build_context,
    late_filing_fields,
    row_values,
)
from .kinds import LetterKind, Row, applicable, letter_kind
from .output import letters_folder, safe_stem, to_pdf, write_new
from .render import render_letter
from .templates import (
    PATIENT,
    SENDER,
    SuppliedField,
    TemplateFields,
    template_fields,
    template_folders,
    template_path,
)

if TYPE_CHECKING:
    from ..tracker.read import Tracker

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
        from ..errors import TrackerConflictError, TrackerLockedError

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
                                        else row_values(self.deadlines.iloc[position]))
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
        late = late_filing_fields(request, deadlines, self.now)
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
            from ..tracker.edit import check_writable

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
            from ..tracker.edit import record_history

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
