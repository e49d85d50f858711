"""Putting new content in place of a file: whole or not at all, with a backup, in words.

The file-system half of every tracker write; tracker/edit.py makes the bytes. replace_file:

1. follows the path through every symbolic link and writes the real file: a link stays
   a link and the file it points to gets the change. The temporary file, the lock and
   backups/ sit next to the real file, not next to the link;
2. refuses a read-only file or folder before anything is written (why_read_only);
3. writes the content to a temporary file in the real file's folder, fsyncs it and reads
   it back; keeps the old content in backups/ (an owner-only folder; each copy no more
   readable than the file, fsynced before the file is replaced); checks the file still
   holds what the caller read; os.replace()s it into place with the file's permissions
   (and owner, where allowed); fsyncs the folder; keeps the newest backups.

A process killed at any point leaves the old file or the new one, both whole; the
temporary and partial backup files it leaves are removed by the next write. A full disk,
a read-only disk or any other refusal from the system ends in a TrackerWriteError saying
what happened and what to do (describe), after every partial file was removed.

Writes of one file must not run at once: callers hold a lock around reading, checking
and replacing (tracker/edit.py's writer lock); stale temporaries are removed on that promise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import gc
import glob
import hashlib
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import PAToolkitError, TrackerConflictError, TrackerWriteError

BACKUP_FOLDER = "backups"
BACKUP_STAMP = r"\.\d{8}-\d{6}-\d{6}"  # stem + .YYYYmmdd-HHMMSS-ffffff + suffix
# Errors that come from the disk rather than from a caller's mistake: worth words of their own
# wherever a file is written.
DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG})
NOTHING_CHANGED = "Nothing was changed."


@dataclass(frozen=True)
class Replaced:
    path: Path  # the real file written, through any symbolic links
    fingerprint: str  # sha256 of the content now in the file
    backup: Path | None  # the copy of the old content, when one was asked for


def real_path(path: Path | str) -> Path:
    """The file a path names, through every level of symbolic link (absolute)."""
    return Path(os.path.realpath(path))


def describe(error: OSError, folder: Path) -> str:
    """What an OSError met while writing in folder means, and what to do about it."""
    number = error.errno
    if number == errno.ENOSPC:
        return f"the disk holding {folder} is full; free some space and try again."
    if number == errno.EDQUOT:
        return (f"your share of the disk holding {folder} is used up (disk quota); free some "
                "space and try again.")
    if number == errno.EROFS:
        return (f"the disk holding {folder} is read-only (mounted read-only); save to another "
                "place or have it made writable.")
    if number in (errno.EACCES, errno.EPERM):
        return (f"you may not write in {folder} (its permissions do not let you); make it "
                "writable or save a copy elsewhere.")
    if number == errno.EIO:
        return (f"the disk holding {folder} reported an input/output error; check the disk "
                "(or the network share) and try again.")
    if number == errno.EFBIG:
        return f"the file is too large for the disk holding {folder}; save it on another disk."
    reason = error.strerror or type(error).__name__
    return f"writing in {folder} failed ({reason}); try again or save a copy elsewhere."


def disk_error(error: BaseException) -> OSError | None:
    """The disk's OSError behind error (libraries wrap it: xlsxwriter's FileCreateError),
    or None when error did not come from the disk."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in DISK_ERRORS:
            return current
        wrapped = [argument for argument in current.args if isinstance(argument, OSError)]
        current = current.__cause__ or current.__context__ or next(iter(wrapped), None)
    return None


def run_or_refuse(action: Callable[[], None],
                  refusal: Callable[[OSError], PAToolkitError]) -> None:
    """action(); when it fails because of the disk (disk_error), raise refusal(that error).

    A writer that failed mid-file (openpyxl, xlsxwriter) leaves its zip archive half
    written; when garbage-collected it tries to finish and prints "Exception ignored ...
    No space left on device" under the message. It is collected here, its complaint set
    aside. Errors that are not the disk's propagate unchanged.
    """
    failure: PAToolkitError | None = None
    try:
        action()
    except Exception as error:
        found = disk_error(error)
        if found is None:
            raise
        failure = refusal(found)
        del found  # its traceback holds the writer's frames, and they the archive
        hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
    if failure is not None:
        try:
            gc.collect()
        finally:
            sys.unraisablehook = hook
        raise failure


def why_read_only(path: Path | str, backups: bool = False) -> str | None:
    """Why path (an existing file, or a folder to make a file in) may not be written, or None.

    Decided from the permission bits first, so that an administrator (root, whom the
    system lets write anything) is refused a file nobody may change too; then from
    os.access for everyone else. With backups, the backups/ folder next to the real file
    is looked at as well.
    """
    real = real_path(path)
    try:
        is_folder = real.is_dir()
        folder = real if is_folder else real.parent
        places = [(real, "file")] if not is_folder else []
        places.append((folder, "folder"))
        if backups and (folder / BACKUP_FOLDER).is_dir():
            places.append((folder / BACKUP_FOLDER, "backups folder"))
        for place, what in places:
            mode = place.stat().st_mode
            wanted = os.W_OK | (os.X_OK if what != "file" else 0)
            named = f"{path}: " if place == real else f"{path}: its {what} {place} "
            if not mode & 0o222:
                return (f"{named}is read-only (its permissions say no one may change it); make "
                        "it writable (Properties, or chmod u+w) or save a copy.")
            if os.statvfs(place).f_flag & os.ST_RDONLY:  # os.access says no for this too
                return f"{path}: {describe(OSError(errno.EROFS, 'read-only'), folder)}"
            if not os.access(place, wanted):
                return (f"{named}is read-only for you (its permissions do not let you change "
                        "it); make it writable or save a copy.")
    except FileNotFoundError:
        return None  # nothing there to refuse; the write itself says what is missing
    return None


def refuse_read_only(path: Path | str) -> None:
    """Raise TrackerWriteError when the file, its folder or its backups/ may not be written."""
    reason = why_read_only(path, backups=True)
    if reason:
        raise TrackerWriteError(f"{reason} {NOTHING_CHANGED}")


class _Hashing:
    """A binary stream that hashes what is written through it (and says where it is)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.sha, self.size = stream, hashlib.sha256(), 0

    def write(self, data: bytes | memoryview) -> int:
        self.stream.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size


# what replace_file puts in place: the bytes, or a function writing them into a stream
# (a large workbook written straight to disk, never held whole in memory)
Content = bytes | memoryview | Callable[[BinaryIO], object]


def replace_file(path: Path | str, content: Content, *,
                 original: bytes | None = None,
                 backups: int = 0) -> Replaced:
    """Put content in place of the file at path (the real file, through any links).

    original: the bytes the caller read and changed; when the file no longer holds them,
    TrackerConflictError is raised and nothing is replaced. backups: keep a copy of the
    old content in backups/ next to the real file, and only the newest `backups` copies
    of this file (0: no copy). Raises TrackerWriteError, in words, for a read-only
    file or folder (before anything is written) and for every error of the disk (after
    removing every partial file).
    """
    shown = Path(path)
    refuse_read_only(shown)
    real = real_path(shown)
    temporary: Path | None = None
    try:
        info = real.stat()
        before = real.read_bytes() if original is None else original
        _remove_stale(real)
        temporary, digest = _write_temporary(real, content)
        if _file_sha(temporary) != digest:  # what the disk gives back is what we meant
            raise TrackerWriteError(
                f"{shown}: the new copy did not read back as written; the disk holding "
                f"{real.parent} may be failing. {NOTHING_CHANGED}")
        backup = _backup(real, before, stat.S_IMODE(info.st_mode)) if backups else None
        if original is not None and _sha(real.read_bytes()) != _sha(original):
            raise TrackerConflictError(
                f"{shown}: the tracker changed while saving (someone else saved it); reload "
                "it and make your change again. Nothing was overwritten.")
        with contextlib.suppress(PermissionError):  # only root may give a file away
            os.chown(temporary, info.st_uid, info.st_gid)
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        os.replace(temporary, real)
        temporary = None
    except OSError as error:
        raise TrackerWriteError(f"{shown}: {describe(error, real.parent)} {NOTHING_CHANGED}") \
            from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
    # The new content is in place: from here a failure must not say "nothing was changed"
    # (a caller would make the change again), so what is left is done as well as it can be.
    with contextlib.suppress(OSError):
        _fsync_folder(real.parent)
    if backups:
        with contextlib.suppress(OSError):
            _prune_backups(real, backups)
    return Replaced(real, digest, backup)


def _sha(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


READ_BACK_BLOCK = 1 << 20


def _file_sha(path: Path) -> str:
    """The SHA-256 of a file, read back a block at a time (a 100 MB tracker is not held)."""
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(READ_BACK_BLOCK):
            sha.update(block)
    return sha.hexdigest()


def _temporary_prefix(real: Path) -> str:
    return f".~patoolkit-{real.stem}.tmp-"  # the ".tmp-" keeps pa.xlsx off pa-west.xlsx's


def _backup_pattern(real: Path) -> re.Pattern[str]:
    return re.compile(re.escape(real.stem) + BACKUP_STAMP + re.escape(real.suffix))


def _remove_stale(real: Path) -> None:
    """Temporaries and partial backups of this file left by killed writers (we hold the lock)."""
    stale = list(real.parent.glob(glob.escape(_temporary_prefix(real)) + "*"
                                  + glob.escape(real.suffix)))
    folder = real.parent / BACKUP_FOLDER
    if folder.is_dir():
        partial = re.compile(r"\." + _backup_pattern(real).pattern + r"\.partial")
        stale += [candidate for candidate in folder.iterdir() if partial.fullmatch(candidate.name)]
    for candidate in stale:
        candidate.unlink(missing_ok=True)


def _write_all(descriptor: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def _write_temporary(real: Path, content: Content) -> tuple[Path, str]:
    """A new file next to real holding content, on disk, and the SHA-256 of what was
    written; the file is removed again if that fails."""
    descriptor, name = tempfile.mkstemp(prefix=_temporary_prefix(real), suffix=real.suffix,
                                        dir=real.parent)
    temporary = Path(name)
    try:
        try:
            if callable(content):
                with os.fdopen(descriptor, "wb", closefd=False) as stream:
                    hashing = _Hashing(stream)
                    content(hashing)  # type: ignore[arg-type]
                digest = hashing.sha.hexdigest()
            else:
                _write_all(descriptor, content)
                digest = _sha(content)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise
    return temporary, digest


def _backup(real: Path, data: bytes, mode: int) -> Path:
    """backups/STEM.YYYYmmdd-HHMMSS-ffffff.SUFFIX holding data, on disk, or no file at all."""
    folder = real.parent / BACKUP_FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)  # backups hold patient data: owner only
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    backup = folder / f"{real.stem}.{stamp}{real.suffix}"
    partial = folder / f".{backup.name}.partial"
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(descriptor, mode)  # no more readable than the file itself
            _write_all(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(partial, backup)
        _fsync_folder(folder)  # a file replaced on disk has its backup on disk
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)  # gone already when all went well
    return backup


def _prune_backups(real: Path, keep: int) -> None:
    folder = real.parent / BACKUP_FOLDER
    own = _backup_pattern(real)
    kept = sorted(candidate for candidate in folder.iterdir() if own.fullmatch(candidate.name))
    for stale in kept[:-keep]:
        stale.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
