"""The error tree (issue 17): every class of errors.py is exported and drawn in its docstring,
and a claims export or an import source that cannot be read raises its own error, not the
tracker's, with the same message and exit code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import patoolkit
from patoolkit import errors
from patoolkit.claims import read_claims
from patoolkit.cli import main
from patoolkit.importer import read_source

ERROR_CLASSES = {name for name, value in vars(errors).items()
                 if inspect.isclass(value) and issubclass(value, Exception)
                 and value.__module__ == errors.__name__}


def test_every_error_class_is_exported_and_drawn() -> None:
    assert ERROR_CLASSES - set(patoolkit.__all__) == set()
    drawn = errors.__doc__ or ""
    assert {name for name in ERROR_CLASSES if not re.search(rf"\b{name}\b", drawn)} == set()
    assert {"FileWriteError", "BrokenTemplateError", "ImportProblemError"} <= ERROR_CLASSES


def test_every_error_patoolkit_defines_anywhere_is_drawn_in_the_tree() -> None:
    """The letter errors live in patoolkit.letters; the tree in errors.py draws them too."""
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(patoolkit.__path__, "patoolkit."):
        if not module.name.startswith("patoolkit.ui"):
            importlib.import_module(module.name)

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found))

    ours = {cls.__name__ for cls in subclasses(errors.PAToolkitError)
            if cls.__module__.startswith("patoolkit.")}
    assert {"MissingFieldsError", "LettersNotRecordedError"} <= ours
    drawn = errors.__doc__ or ""
    assert {name for name in ours if not re.search(rf"\b{name}\b", drawn)} == set()


@pytest.mark.parametrize(("content", "name", "message", "why"), [
    (None, "claims.csv", "claims.csv: no such file.", "missing"),
    (b"a,b\n1,\x002\n", "claims.csv", "holds a NUL byte", "the CSV reader's words"),
    (b"Claim ID,Patient ID\nC-1,P1\n", "claims.csv", "no column for 'Payer'",
     "a needed column missing"),
])
def test_a_claims_export_that_cannot_be_read_is_an_unusable_claims_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, name: str,
        message: str, why: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(errors.UnusableClaimsError, match=message) as raised:
        read_claims(path)
    assert isinstance(raised.value, errors.UnusableFileError), why
    assert not isinstance(raised.value, errors.UnusableTrackerError), why


@pytest.mark.parametrize(("content", "name", "message"), [
    (None, "log.csv", "log.csv: no such file."),
    (b"", "log.csv", "is empty; nothing to import"),
    (b"a,b\n1,\x002\n", "log.csv", "holds a NUL byte"),
    (b"PK\x03\x04 not really a workbook", "log.xlsx", "cannot be read as a spreadsheet"),
])
def test_an_import_source_that_cannot_be_read_is_an_unusable_source(
        tmp_path: Path, content: bytes | None, name: str, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(errors.UnusableSourceError, match=message) as raised:
        read_source(path)
    assert raised.value.exit_code == 2


def test_the_command_line_keeps_exit_2_and_the_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import SAMPLE_TRACKER

    tracker = tmp_path / "pa_tracker.xlsx"
    tracker.write_bytes(SAMPLE_TRACKER.read_bytes())
    assert main(["audit-claims", str(tracker), str(tmp_path / "none.csv")]) == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / 'none.csv'}: no such file." in error
    assert "Traceback" not in error


def test_all_is_exactly_what_the_package_exports() -> None:
    """An equality, as httpx tests it: nothing public left out of __all__, nothing listed that
    is not there (names loaded on first use count as exported)."""
    public = {name for name in dir(patoolkit) if not name.startswith("_")
              and not inspect.ismodule(getattr(patoolkit, name))} - {"annotations"}
    exported = public | set(patoolkit._LAZY) | {"__version__"}
    assert sorted(patoolkit.__all__) == sorted(exported)
