"""The bundled dashboards ship in the package; `patoolkit notebooks DIR` copies them out to
adapt and `patoolkit serve --notebooks DIR` serves the adapted copies (issue 17)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from test_browser import SAMPLE_TRACKER

from patoolkit import serve as serve_module
from patoolkit.cli import main

DASHBOARDS = ["1_Today.ipynb", "2_New_request.ipynb", "3_Client_setup.ipynb",
              "4_Denials.ipynb", "5_Scorecard.ipynb", "6_Claims_audit.ipynb"]


def test_the_dashboards_are_package_data() -> None:
    assert [path.name for path in serve_module.bundled_notebooks()] == DASHBOARDS
    assert serve_module.NOTEBOOKS.parent == Path(serve_module.__file__).parent / "data"


def test_notebooks_copies_every_dashboard_to_a_new_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "client" / "dashboards"
    assert main(["notebooks", str(folder)]) == 0
    assert sorted(path.name for path in folder.iterdir()) == DASHBOARDS
    for name in DASHBOARDS:
        assert (folder / name).read_bytes() == (serve_module.NOTEBOOKS / name).read_bytes()
    printed = capsys.readouterr().out
    assert f"Copied 6 dashboards to {folder}" in printed
    assert f"--notebooks {folder}" in printed, "says how to serve them"


def test_notebooks_never_overwrites_an_adapted_dashboard(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "4_Denials.ipynb").write_text("adapted for the clinic", encoding="utf-8")
    assert main(["notebooks", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"{tmp_path}: already has 4_Denials.ipynb; nothing was copied" in error
    assert "Traceback" not in error
    assert (tmp_path / "4_Denials.ipynb").read_text(encoding="utf-8") == "adapted for the clinic"
    assert [path.name for path in tmp_path.iterdir()] == ["4_Denials.ipynb"], \
        "all or nothing: the other dashboards are not copied either"


def test_notebooks_into_a_file_is_refused(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "dashboards"
    target.write_text("", encoding="utf-8")
    assert main(["notebooks", str(target)]) == 2
    assert f"{target}: is a file, not a folder" in capsys.readouterr().err


def started_command(monkeypatch: pytest.MonkeyPatch, tracker: Path,
                    notebooks: Path | None) -> list[str]:
    """The Voila command `serve` would become (os.execve caught)."""
    started: list[list[str]] = []
    monkeypatch.setattr(serve_module.tempfile, "tempdir", str(tracker.parent))
    monkeypatch.setattr(serve_module.os, "execve",
                        lambda path, command, environment: started.append(command))
    assert serve_module.serve(tracker, notebooks=notebooks) == 0
    [command] = started
    return command


def test_serve_serves_the_bundled_dashboards_or_the_adapted_copies(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tracker = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, tracker)
    assert started_command(monkeypatch, tracker, None)[3] == str(serve_module.NOTEBOOKS)
    adapted = tmp_path / "adapted"
    serve_module.copy_notebooks(adapted)
    assert started_command(monkeypatch, tracker, adapted)[3] == str(adapted.resolve())


@pytest.mark.parametrize(("make", "expected"), [
    (lambda folder: None, "no such folder; `patoolkit notebooks"),
    (lambda folder: (folder.mkdir(), (folder / "notes.txt").write_text("x")),
     "no .ipynb notebook in it"),
])
def test_serve_refuses_a_notebooks_folder_without_dashboards(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Callable[[Path], object],
        expected: str) -> None:
    folder = tmp_path / "adapted"
    make(folder)
    tracker = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, tracker)
    assert main(["serve", str(tracker), "--notebooks", str(folder)]) == 2
    error = capsys.readouterr().err
    assert f"--notebooks {folder}: {expected}" in error
    assert "Traceback" not in error
