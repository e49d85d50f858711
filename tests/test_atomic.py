"""atomic.replace_file and every other file patoolkit writes: through symbolic links to the
real file, never over a read-only file or folder, and on a full disk a plain message with
no partial file left anywhere."""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from patoolkit.atomic import BACKUP_FOLDER, real_path, replace_file
from patoolkit.errors import FileWriteError, TrackerConflictError, TrackerWriteError
from patoolkit.files import create_new_file

OLD, NEW = b"old workbook " * 100, b"new workbook " * 120
WHOLE_BACKUP = re.compile(r"tracker\.\d{8}-\d{6}-\d{6}\.xlsx")
IS_ROOT = os.geteuid() == 0


@pytest.fixture
def tracker(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "tracker.xlsx"
    path.parent.mkdir()
    path.write_bytes(OLD)
    path.chmod(0o640)
    return path


def left_behind(folder: Path) -> list[str]:
    """Files under folder other than trackers, writer locks and whole backups."""
    odd = []
    for path in folder.rglob("*"):
        if path.is_dir() or path.suffix == ".lock" or path.name.startswith("tracker"):
            continue
        odd.append(str(path.relative_to(folder)))
    return sorted(odd)


# -- the promises kept from the writer ---------------------------------------------------


def test_replace_writes_keeps_permissions_and_backs_up(tracker: Path) -> None:
    replaced = replace_file(tracker, NEW, original=OLD, backups=5)
    assert tracker.read_bytes() == NEW
    assert stat.S_IMODE(tracker.stat().st_mode) == 0o640
    assert replaced.backup is not None
    assert replaced.backup.read_bytes() == OLD
    assert stat.S_IMODE(replaced.backup.stat().st_mode) == 0o640  # no more readable
    assert stat.S_IMODE(replaced.backup.parent.stat().st_mode) == 0o700  # owner only
    assert left_behind(tracker.parent) == []


def test_only_the_newest_backups_are_kept(tracker: Path) -> None:
    for number in range(4):
        replace_file(tracker, NEW + bytes([number]), backups=2)
    kept = sorted((tracker.parent / BACKUP_FOLDER).iterdir())
    assert [path.read_bytes()[-1:] for path in kept] == [b"\x01", b"\x02"]


def test_a_file_saved_meanwhile_is_not_overwritten(tracker: Path) -> None:
    tracker.write_bytes(b"someone else's save")
    with pytest.raises(TrackerConflictError, match="changed while saving"):
        replace_file(tracker, NEW, original=OLD, backups=5)
    assert tracker.read_bytes() == b"someone else's save"
    assert left_behind(tracker.parent) == []


def test_leftovers_of_killed_writers_are_removed_and_others_spared(tracker: Path) -> None:
    folder = tracker.parent
    (folder / BACKUP_FOLDER).mkdir()
    stale = [folder / ".~patoolkit-tracker.tmp-k1ll3d.xlsx",
             folder / BACKUP_FOLDER / ".tracker.20260101-000000-000000.xlsx.partial"]
    spared = [folder / ".~patoolkit-tracker-west.tmp-wr1t1ng.xlsx",
              folder / BACKUP_FOLDER / ".tracker-west.20260101-000000-000000.xlsx.partial"]
    for path in stale + spared:
        path.write_bytes(b"half")
    replace_file(tracker, NEW, backups=5)
    assert [path.exists() for path in stale + spared] == [False, False, True, True]


# -- symbolic links ----------------------------------------------------------------------


def test_a_link_stays_a_link_and_the_real_file_changes(tracker: Path, tmp_path: Path) -> None:
    desk = tmp_path / "desk"
    desk.mkdir()
    first = desk / "link-to-link.xlsx"
    second = desk / "link.xlsx"
    second.symlink_to(os.path.relpath(tracker, desk))  # relative, as `ln -s ../data/...`
    first.symlink_to(second)
    replaced = replace_file(first, NEW, original=OLD, backups=5)
    assert first.is_symlink()
    assert second.is_symlink()
    assert tracker.read_bytes() == NEW
    assert replaced.path == tracker.resolve()
    assert replaced.backup is not None
    assert replaced.backup.parent == tracker.parent / BACKUP_FOLDER  # beside the real file
    assert sorted(path.name for path in desk.iterdir()) == ["link-to-link.xlsx", "link.xlsx"]
    assert stat.S_IMODE(tracker.stat().st_mode) == 0o640


def test_real_path_follows_every_level(tracker: Path, tmp_path: Path) -> None:
    link = tmp_path / "a.xlsx"
    link.symlink_to(tmp_path / "b.xlsx")
    (tmp_path / "b.xlsx").symlink_to(tracker)
    assert real_path(link) == tracker.resolve()


# -- read-only files and folders -----------------------------------------------------------


def read_only_tracker(tracker: Path) -> Path:
    tracker.chmod(0o444)
    return tracker


def read_only_folder(tracker: Path) -> Path:
    tracker.parent.chmod(0o555)
    return tracker


def read_only_backups(tracker: Path) -> Path:
    (tracker.parent / BACKUP_FOLDER).mkdir(mode=0o500)
    return tracker


READ_ONLY = [
    # (how, what the message says)
    (read_only_tracker, r"tracker\.xlsx: is read-only \(its permissions say no one may change"),
    (read_only_folder, r"its folder .*data is read-only \(its permissions say no one"),
    (read_only_backups, r"its backups folder .*backups is read-only"),
]


@pytest.mark.parametrize(("make", "message"), READ_ONLY,
                         ids=[make.__name__ for make, _ in READ_ONLY])
def test_read_only_is_refused_before_anything_is_written(
        tracker: Path, make: Callable[[Path], Path], message: str) -> None:
    """Decided from the permission bits: root (as the tests run in CI) is refused too."""
    make(tracker)
    before = sorted(tracker.parent.rglob("*"))
    try:
        with pytest.raises(TrackerWriteError, match=message) as refused:
            replace_file(tracker, NEW, original=OLD, backups=5)
        assert str(refused.value).endswith("or save a copy. Nothing was changed.")
        assert tracker.read_bytes() == OLD
        assert sorted(tracker.parent.rglob("*")) == before  # not even a lock file
    finally:
        tracker.parent.chmod(0o755)


def test_a_file_the_system_says_you_may_not_change_is_refused(
        tracker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Write bits set, but not for this user (what os.access tells a non-root user)."""
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(TrackerWriteError, match="is read-only for you"):
        replace_file(tracker, NEW, backups=5)
    assert tracker.read_bytes() == OLD


def test_a_folder_that_refuses_the_temporary_file_is_named(
        tracker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def refused(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(TrackerWriteError, match=r"you may not write in .*data \(its permissions"):
        replace_file(tracker, NEW, backups=5)
    assert tracker.read_bytes() == OLD
    assert left_behind(tracker.parent) == []


def as_nobody(run: Callable[[], str]) -> str:
    """run() in a forked child that has become user nobody; what it returned."""
    import pwd

    nobody = pwd.getpwnam("nobody")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            os.write(write, run().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as stream:
        said = stream.read()
    os.waitpid(child, 0)
    return said


@pytest.mark.skipif(not IS_ROOT, reason="needs root to become another user; as a normal "
                    "user the permission-bit tests above are this case")
@pytest.mark.parametrize(("file_mode", "refused"), [(0o644, "tracker.xlsx: is read-only for you"),
                                                    (0o666, "its folder")])
def test_a_normal_user_is_refused_what_the_system_would_refuse(file_mode: int,
                                                              refused: str) -> None:
    """As user nobody: root's 0644 file, then a 0666 file in root's 0755 folder."""
    import tempfile

    def attempt() -> str:
        try:
            replace_file(tracker, NEW, backups=5)
        except TrackerWriteError as error:
            return str(error)
        return "replaced"

    folder = Path(tempfile.mkdtemp(prefix="patoolkit-nobody-"))  # not under pytest's 0700 one
    try:
        folder.chmod(0o755)
        tracker = folder / "tracker.xlsx"
        tracker.write_bytes(OLD)
        tracker.chmod(file_mode)
        said = as_nobody(attempt)
        assert refused in said, said
        assert "is read-only for you" in said
        assert tracker.read_bytes() == OLD
        assert [path.name for path in folder.iterdir()] == ["tracker.xlsx"]
    finally:
        shutil.rmtree(folder)


# -- a full disk, or another refusal from the system, at any step ----------------------------


def _called_from(package: str) -> bool:
    """Whether code of that package is among the callers (through pathlib and the like)."""
    frame = sys._getframe(2)
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith(package):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


@dataclass
class FaultyDisk:
    """The system calls that write, counted; the one numbered fail_at fails with errno.

    A failing write writes half of what it was given first, as a disk that fills does.
    """

    fail_at: int | None = None
    errno: int = errno.ENOSPC
    calls: list[tuple[str, str]] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("open", "write", "fsync", "replace", "mkdir"):
            monkeypatch.setattr(os, name, self._wrap(name, getattr(os, name)))

    def _wrap(self, name: str, call: Callable[..., object]) -> Callable[..., object]:
        def faulty(*args: object, **kwargs: object) -> object:
            if name == "open" and not int(args[1]) & os.O_CREAT:  # type: ignore[call-overload]
                return call(*args, **kwargs)  # opening to read or fsync writes nothing
            if _called_from("filelock"):
                # filelock's own probes and retries (the writer makes the lock file itself
                # first, and that step is counted)
                return call(*args, **kwargs)
            target = str(args[-1] if name == "replace" else args[0])
            self.calls.append((name, target))
            if len(self.calls) - 1 == self.fail_at:
                if name == "write":
                    given = bytes(args[1])  # type: ignore[call-overload]
                    call(args[0], given[:len(given) // 2])
                raise OSError(self.errno, os.strerror(self.errno))
            return call(*args, **kwargs)
        return faulty

    def committed_at(self, real: Path) -> int:
        """The number of the call that put the new file in place."""
        return next(number for number, (name, target) in enumerate(self.calls)
                    if name == "replace" and target == str(real))


def each_step(run: Callable[[Path], object], make: Callable[[], Path],
              monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FaultyDisk, Path, bool]]:
    """(a disk failing at that step, a fresh file, whether the step comes after the new
    file is in place) for every step run(file) takes."""
    recorder = FaultyDisk()
    path = make()
    with monkeypatch.context() as patched:
        recorder.install(patched)
        run(path)
    commit = recorder.committed_at(real_path(path))
    for step in range(len(recorder.calls)):
        yield FaultyDisk(fail_at=step), make(), step > commit


def test_a_full_disk_at_each_step_changes_nothing_and_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = iter(range(1000))

    def make() -> Path:
        path = tmp_path / f"try{next(counter)}" / "tracker.xlsx"
        path.parent.mkdir()
        path.write_bytes(OLD)
        return path

    def save(path: Path) -> object:
        return replace_file(path, NEW, original=OLD, backups=5)

    seen = set()
    for disk, path, committed in each_step(save, make, monkeypatch):
        with monkeypatch.context() as patched:
            disk.install(patched)
            if committed:  # the new file is in place: a late fsync is not a failure
                save(path)
                assert path.read_bytes() == NEW
                continue
            with pytest.raises(TrackerWriteError) as refused:
                save(path)
        step = disk.calls[-1]
        seen.add(step[0])
        assert str(refused.value) == (
            f"{path}: the disk holding {path.parent} is full; free some space and try again. "
            "Nothing was changed."), step
        assert path.read_bytes() == OLD, step
        assert left_behind(path.parent) == [], step
        backups = path.parent / BACKUP_FOLDER
        for backup in backups.iterdir() if backups.exists() else []:
            assert WHOLE_BACKUP.fullmatch(backup.name)
            assert backup.read_bytes() == OLD  # a backup left is a whole one
    assert seen == {"open", "write", "fsync", "mkdir", "replace"}


ERRNO_WORDS = [
    (errno.EDQUOT, "disk quota"),
    (errno.EROFS, "is read-only (mounted read-only)"),
    (errno.EACCES, "you may not write in"),
    (errno.EIO, "reported an input/output error"),
    (errno.ENAMETOOLONG, "failed (File name too long)"),
]


@pytest.mark.parametrize(("number", "words"), ERRNO_WORDS,
                         ids=[errno.errorcode[number] for number, _ in ERRNO_WORDS])
def test_other_refusals_of_the_system_are_said_in_words(
        tracker: Path, monkeypatch: pytest.MonkeyPatch, number: int, words: str) -> None:
    disk = FaultyDisk(fail_at=1, errno=number)  # the temporary file's content
    disk.install(monkeypatch)
    with pytest.raises(TrackerWriteError, match=re.escape(words)) as refused:
        replace_file(tracker, NEW, backups=5)
    monkeypatch.undo()
    assert disk.calls[1][0] == "write"
    assert str(refused.value).endswith("Nothing was changed.")
    assert tracker.read_bytes() == OLD
    assert left_behind(tracker.parent) == []


# -- new files: letters, exports, new workbooks, --out ------------------------------------


def test_a_new_file_on_a_full_disk_is_not_left_half_written(tmp_path: Path) -> None:
    def fills(temporary: Path) -> None:
        temporary.write_bytes(b"half a letter")
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "letter.docx"
    with pytest.raises(FileWriteError) as refused:
        create_new_file(target, fills, what="letter", suffix=".docx")
    assert str(refused.value) == (f"{target}: the disk holding {tmp_path} is full; free some "
                                  "space and try again. Nothing was written.")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_workbook_on_a_full_disk_leaves_no_file_and_no_complaint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new file's temporary is /dev/full, where every write fails as on a full disk.

    xlsxwriter wraps the OSError, and its half-written zip archive must not complain when
    garbage-collected (filterwarnings = error fails the test on pytest's warning if it does).
    """
    import gc
    import tempfile

    from patoolkit import new_tracker

    real_mkstemp = tempfile.mkstemp

    def full(*args: object, **kwargs: object) -> tuple[int, str]:
        descriptor, name = real_mkstemp(*args, **kwargs)  # type: ignore[call-overload]
        Path(name).unlink()
        Path(name).symlink_to("/dev/full")
        return descriptor, name

    monkeypatch.setattr(tempfile, "mkstemp", full)
    target = tmp_path / "new.xlsx"
    with pytest.raises(FileWriteError) as refused:
        new_tracker(target)
    assert str(refused.value) == (f"{target}: the disk holding {tmp_path} is full; free some "
                                  "space and try again. Nothing was written.")
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_a_new_file_in_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "letters"
    folder.mkdir(mode=0o555)
    try:
        with pytest.raises(FileWriteError, match="is read-only"):
            create_new_file(folder / "letter.docx", lambda path: path.write_bytes(b"x"),
                            suffix=".docx")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


# -- the tracker's writers and the import command on a full disk ----------------------------


def test_an_update_on_a_full_disk_at_each_step_is_refused_in_words(
        few_requests_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from patoolkit import update_request

    counter = iter(range(1000))

    def make() -> Path:
        path = tmp_path / f"try{next(counter)}" / "tracker.xlsx"
        path.parent.mkdir()
        shutil.copy2(few_requests_template, path)
        return path

    def save(path: Path) -> object:
        return update_request(path, "PA-2026-00001", {"owner": "Full"}, by="t")

    for disk, path, committed in each_step(save, make, monkeypatch):
        before = path.read_bytes()
        with monkeypatch.context() as patched:
            disk.install(patched)
            if committed:
                save(path)
                continue
            with pytest.raises(TrackerWriteError, match="is full; free some space") as refused:
                save(path)
        assert str(refused.value).endswith("Nothing was changed."), disk.calls[-1]
        assert path.read_bytes() == before, disk.calls[-1]
        assert left_behind(path.parent) == [], disk.calls[-1]


def test_import_on_a_full_disk_says_so_and_exits_1(
        few_requests_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """It used to print "unexpected OSError" and, under it, a Python traceback from the
    half-written workbook's zip archive."""
    from patoolkit.cli import main

    tracker = tmp_path / "tracker.xlsx"
    shutil.copy2(few_requests_template, tracker)
    source = tmp_path / "shared.csv"
    source.write_text("Request #,Patient Name,Member ID,Insurance,CPT,Status,Submitted\n"
                      "SH-1,\"Lee, Dana\",SHP555,Summit Health Plan,70551,Pending,2026-11-02\n",
                      encoding="utf-8")
    before = tracker.read_bytes()
    arguments = ["import", str(source), "--into", str(tracker), "--by", "t"]
    recorder = FaultyDisk()
    with monkeypatch.context() as patched:
        recorder.install(patched)
        assert main(arguments) == 0
    tracker.write_bytes(before)
    shutil.rmtree(tmp_path / "backups")
    capsys.readouterr()
    temporary = next(number for number, (name, target) in enumerate(recorder.calls)
                     if name == "open" and target.startswith(str(tmp_path)))
    FaultyDisk(fail_at=temporary + 1).install(monkeypatch)  # its content: half, then full
    assert main(arguments) == 1
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert err == (f"patoolkit import: {tracker}: the disk holding {tmp_path} is full; free "
                   "some space and try again. Nothing was changed.\n")
    assert tracker.read_bytes() == before
    assert left_behind(tmp_path) == ["shared.csv"]
