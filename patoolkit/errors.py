"""Errors people can act on.

Every message names the file, the sheet, the Excel row and the column, what
was found and what to do. Messages never carry patient names: they name rows
and request IDs.

    PAToolkitError
    ├── UnusableTrackerError (exit 2): the file cannot be read as a tracker at all
    ├── FileWriteError (exit 1): a file could not be written (read-only, disk full)
    │   └── TrackerWriteError: a write to the tracker was refused, nothing was changed
    │       ├── TrackerConflictError: the file changed on disk since it was read
    │       └── TrackerLockedError: the file is open in Excel or LibreOffice
    ├── RequestNotFoundError (also a KeyError): no request with that ID
    └── InvalidValueError (also a ValueError): a value given to a write is not valid
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


class PAToolkitError(Exception):
    """Base of every error patoolkit raises on purpose."""

    exit_code = 2


class UnusableTrackerError(PAToolkitError):
    """The file is missing, empty, not an .xlsx workbook, protected, or has no Requests sheet."""


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
