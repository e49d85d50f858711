"""patoolkit: run prior authorization in a medical practice from its Excel tracker.

The tracker workbook is the system of record. Read it with `load_tracker`,
change it with `update_request` / `add_request` (only the cells asked for,
with a History row, a backup and a conflict check), and make new ones with
`new_tracker` or `write_sample`.
"""

from .errors import (
    InvalidValueError,
    PAToolkitError,
    Problem,
    RequestNotFoundError,
    TrackerConflictError,
    TrackerLockedError,
    TrackerWriteError,
    UnusableTrackerError,
)
from .tracker import Tracker, load_tracker
from .workbook import new_tracker
from .writer import WriteResult, add_request, update_request

__version__ = "0.1.0"

__all__ = [
    "InvalidValueError",
    "PAToolkitError",
    "Problem",
    "RequestNotFoundError",
    "Tracker",
    "TrackerConflictError",
    "TrackerLockedError",
    "TrackerWriteError",
    "UnusableTrackerError",
    "WriteResult",
    "__version__",
    "add_request",
    "load_tracker",
    "new_tracker",
    "update_request",
]
