"""Letter files: their names and folder, written without replacing any file, and PDF
copies made by LibreOffice.

A request ID can hold anything (../../x): safe_stem keeps a letter in its
folder. Letters hold patient data, so the folder is made private to its user
and a file already there is never overwritten (stem-2, stem-3, ...).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LetterError, PAToolkitError
from ..files import create_new_file
from ..schema import is_blank

if TYPE_CHECKING:
    from ..tracker.read import Tracker

LETTERS_SETTING = "letters_folder"
DEFAULT_LETTERS_FOLDER = "letters_out"


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
