"""Errors people can act on.

Every error class is drawn below. The letter errors that carry a letter's own
types are defined beside them in patoolkit.letters and exported from there.

Every message names the file, the sheet, the Excel row and the column, what
was found and what to do. Messages never carry patient names: they name rows
and request IDs.

    PAToolkitError
    ├── UnusableFileError (exit 2): a file patoolkit reads cannot be read at all (a text
    │   │   export's damaged line, a workbook that is not one)
    │   ├── UnusableTrackerError: the file cannot be read as a tracker at all
    │   ├── UnusableClaimsError: the claims export cannot be audited (no such file, a
    │   │   needed column missing)
    │   └── UnusableSourceError: the import's source cannot be read (empty, no such sheet)
    ├── ImportProblemError (exit 2): the import's source or mapping cannot be used as given
    ├── LetterError (exit 1): a letter could not be made; nothing was written
    │   ├── LetterNotApplicableError: the request does not fit the letter's kind
    │   │   └── DuplicateRequestIdError (letters/context.py): two rows share the ID
    │   ├── TemplateProblemError (exit 2): a template is missing or not a .docx
    │   │   └── BrokenTemplateError (exit 1): a template found cannot make a letter
    │   ├── MissingFieldsError (letters/context.py): fields the template needs are blank
    │   ├── PatientFieldsSharedError (letters/maker.py, exit 2): a batch was given text
    │   │   about one patient to put in every letter
    │   └── PatientFieldsNeededError (letters/maker.py): a batch's letter lacks a field
    │       about its patient
    ├── LettersNotRecordedError (letters/maker.py, exit 1): letters were made but the
    │   History write that records them failed
    ├── FileWriteError (exit 1): a file could not be written (read-only, disk full)
    │   └── TrackerWriteError: a write to the tracker was refused, nothing was changed
    │       ├── TrackerConflictError: the file changed on disk since it was read
    │       └── TrackerLockedError: the file is open in Excel or LibreOffice
    ├── RequestNotFoundError (also a KeyError): no request with that ID
    └── InvalidValueError (also a ValueError): a value given to a write is not valid
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path


class PAToolkitError(Exception):
    """Base of every error patoolkit raises on purpose."""

    exit_code = 2


class UnusableFileError(PAToolkitError):
    """A file patoolkit reads is missing, damaged, or not a table it can read."""


class UnusableTrackerError(UnusableFileError):
    """The file is missing, empty, not an .xlsx workbook, protected, or has no Requests sheet."""


class UnusableClaimsError(UnusableFileError):
    """The claims export is missing, unreadable, or lacks a column the audit needs."""


class UnusableSourceError(UnusableFileError):
    """The import's source is missing, empty, unreadable, or has no such sheet."""


@contextlib.contextmanager
def reading(error: type[UnusableFileError]) -> Iterator[None]:
    """Inside, a file that cannot be read is named as `error` (the claims export, the import
    source), with the same message, whichever reader (CSV, workbook) found the problem."""
    try:
        yield
    except UnusableFileError as found:
        if isinstance(found, error):
            raise
        raise error(str(found)) from None


class ImportProblemError(PAToolkitError):
    """The source or the mapping cannot be used as given; nothing was written."""


class LetterError(PAToolkitError):
    """A letter could not be made; nothing was written."""

    exit_code = 1


class LetterNotApplicableError(LetterError):
    """The request does not fit the letter kind (a P2P request for an approved request)."""


class TemplateProblemError(LetterError):
    """A template is missing, not a .docx, or has a Jinja syntax error."""

    exit_code = 2


class BrokenTemplateError(TemplateProblemError):
    """A template that was found cannot make a letter; nothing was written.

    .path is the template, .problem says what is wrong in words, .where the tag
    (or paragraph) it happened in, when known. Never a value of the letter.
    """

    exit_code = 1  # a finding in a file patoolkit reads, as a missing field is

    def __init__(self, path: Path | str | None, problem: str, where: str = ""):
        self.path, self.problem, self.where = path, problem, where
        super().__init__(f"{path or 'the letter template'}: {problem}"
                         + (f" ({where})" if where else "")
                         + ". Fix the template in Word; no letter was written.")


class FileWriteError(PAToolkitError):
    """A file could not be written (read-only, disk full); no partial file was left."""

    exit_code = 1


class TrackerWriteError(FileWriteError):
    """A write to the tracker was refused before anything changed."""


class TrackerConflictError(TrackerWriteError):
    """Someone else saved the tracker after it was read; writing now would overwrite them.

    detail, when known, says what changed in a sentence without the file's path ("Owner of
    PA-2026-00012 changed since you opened it: it is now 'Dana' (changed by dana at ...).")
    for pages that name the file elsewhere."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class TrackerLockedError(TrackerWriteError):
    """An Office lock file shows the tracker is open in Excel or LibreOffice."""


class RequestNotFoundError(PAToolkitError, KeyError):
    exit_code = 1

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidValueError(PAToolkitError, ValueError):
    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One finding of a check: where it is, what was found, what to do."""

    sheet: str
    row: int | None  # the row number Excel shows; None for a whole-sheet problem
    column: str | None  # the column heading as the file spells it
    message: str
    value: str | None = None
    severity: str = "error"  # error or warning

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("severity")
        return data

    def __str__(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"
