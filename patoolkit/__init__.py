"""patoolkit: run prior authorization in a medical practice from its Excel tracker.

The tracker workbook is the system of record. Read it with `load_tracker`,
change it with `update_request` / `add_request` (only the cells asked for,
with a History row, a backup and a conflict check), and make new ones with
`new_tracker` or `write_sample`.
"""

from .errors import (
    BrokenTemplateError,
    FileWriteError,
    ImportProblemError,
    InvalidValueError,
    LetterError,
    LetterNotApplicableError,
    PAToolkitError,
    Problem,
    RequestNotFoundError,
    TemplateProblemError,
    TrackerConflictError,
    TrackerLockedError,
    TrackerWriteError,
    UnusableClaimsError,
    UnusableFileError,
    UnusableSourceError,
    UnusableTrackerError,
)
from .tracker.read import Tracker, load_tracker

# Writing pulls in openpyxl and XlsxWriter; read-only users (check, deadlines,
# the dashboards' first paint) should not pay for them, so they load on first use.
_LAZY = {
    "new_tracker": "tracker.create",
    "WriteResult": "tracker.edit",
    "add_request": "tracker.edit",
    "add_requests": "tracker.edit",
    "update_request": "tracker.edit",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'patoolkit' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
    "BrokenTemplateError",
    "FileWriteError",
    "ImportProblemError",
    "InvalidValueError",
    "LetterError",
    "LetterNotApplicableError",
    "PAToolkitError",
    "Problem",
    "RequestNotFoundError",
    "TemplateProblemError",
    "Tracker",
    "TrackerConflictError",
    "TrackerLockedError",
    "TrackerWriteError",
    "UnusableClaimsError",
    "UnusableFileError",
    "UnusableSourceError",
    "UnusableTrackerError",
    "WriteResult",
    "__version__",
    "add_request",
    "add_requests",
    "load_tracker",
    "new_tracker",
    "update_request",
]
