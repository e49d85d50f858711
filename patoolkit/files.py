"""Making a new file the safe way: whole or not at all, never over someone's file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .atomic import describe, run_or_refuse, why_read_only
from .errors import FileWriteError, PAToolkitError

NOTHING_WRITTEN = "Nothing was written."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_new_file(path: Path | str, what: str = "file", suffix: str = ".xlsx",
                   overwrite: bool = False) -> Path:
    """Refuse now a name create_new_file would refuse later (before any slow work)."""
    path = Path(path)
    if path.is_dir():
        raise PAToolkitError(f"{path}: is a folder; name a file in it (nothing was written).")
    if suffix and path.suffix.lower() != suffix:
        raise PAToolkitError(f"{path}: a {what} must be a {suffix} file; use a name ending "
                             f"{suffix}.")
    if path.exists() and not overwrite:
        raise PAToolkitError(f"{path}: already exists; choose another name (nothing was "
                             "written).")
    if not path.parent.is_dir():
        raise PAToolkitError(f"{path.parent}: no such folder; create it first.")
    reason = why_read_only(path if overwrite and path.exists() else path.parent)
    if reason:
        raise FileWriteError(f"{reason} {NOTHING_WRITTEN}")
    return path


def create_new_file(path: Path | str, write: Callable[[Path], None], what: str = "file",
                    suffix: str = ".xlsx", overwrite: bool = False) -> Path:
    """Call write(temporary) in the target's folder, then put the result at path.

    The file appears whole or not at all. Unless overwrite is set, an existing
    file is never replaced, even one created while we were writing (the final
    step is a hard link, which fails if the name is taken). A full or read-only
    disk is a FileWriteError in words, with no partial file left.
    """
    path = check_new_file(path, what, suffix, overwrite)

    def refused(error: OSError) -> FileWriteError:
        return FileWriteError(f"{path}: {describe(error, path.absolute().parent)} "
                              f"{NOTHING_WRITTEN}")

    try:
        handle, name = tempfile.mkstemp(prefix=".patoolkit-", suffix=path.suffix,
                                        dir=path.parent)
        os.close(handle)
    except OSError as error:
        raise refused(error) from None
    temporary = Path(name)
    try:
        run_or_refuse(lambda: write(temporary), refused)
        try:
            os.chmod(temporary, 0o666 & ~_umask())
            if overwrite:
                os.replace(temporary, path)
            else:
                os.link(temporary, path)
        except FileExistsError:
            raise PAToolkitError(f"{path}: already exists; choose another name (nothing was "
                                 "written).") from None
        except OSError as error:
            raise refused(error) from None
    finally:
        temporary.unlink(missing_ok=True)
    return path
