"""The wheel is the whole program: built, installed into a fresh virtual environment, it serves
the dashboards (bundled and adapted) and makes a letter, away from this source tree (issue 17).

Offline: the wheel is built with the setuptools installed here (the test extra requires it,
no build isolation), and the fresh environment borrows the installed dependencies through a
.pth file instead of downloading them; only patoolkit itself comes from the wheel.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser import SAMPLE_TRACKER, free_port, stop, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = "Scripts" if os.name == "nt" else "bin"
pytestmark = pytest.mark.slow  # about 20 s: a build, an install and two servers


def run(*command: str | Path, cwd: Path) -> str:
    done = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n" \
                                 f"{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fresh environment's bin folder, with patoolkit installed from its wheel."""
    work = tmp_path_factory.mktemp("wheel")
    # built from a copy, so the build's scratch folders never land in the working tree
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "patoolkit", source / "patoolkit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--no-index", "--quiet", "--wheel-dir", work / "dist", source, cwd=work)
    [wheel] = (work / "dist").glob("patoolkit-*.whl")

    environment = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", environment, cwd=work)
    python = environment / SCRIPTS / ("python.exe" if os.name == "nt" else "python")
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                       cwd=work).strip())
    # the dependencies already installed here, after the environment's own site-packages
    (purelib / "dependencies.pth").write_text(
        "\n".join([*site.getsitepackages(), site.getusersitepackages()]) + "\n",
        encoding="utf-8")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "--quiet", wheel, cwd=work)
    where = run(python, "-c", "import patoolkit; print(patoolkit.__file__)", cwd=work)
    assert Path(where.strip()).is_relative_to(purelib), "patoolkit must come from the wheel"
    return environment / SCRIPTS


@pytest.fixture
def tracker(tmp_path: Path) -> Path:
    shutil.copy2(SAMPLE_TRACKER, tmp_path / "pa_tracker.xlsx")
    return tmp_path / "pa_tracker.xlsx"


@pytest.fixture
def start_page(installed: Path, tracker: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The start page's HTML from `patoolkit serve TRACKER [options]` run from the wheel."""
    options: list[str] = getattr(request, "param", [])
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tracker.parent / "server.log"
    # Voila's own page templates, which pip puts under the prefix it installs Voila into
    # (share/jupyter): here the borrowing environment's, as a full install would have its own
    borrowed = os.pathsep.join([str(Path(sys.prefix) / "share" / "jupyter"),
                                *filter(None, [os.environ.get("JUPYTER_PATH")])])
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(installed / "patoolkit"), "serve", str(tracker), "--port", str(port),
             *options], stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=tracker.parent, start_new_session=True,
            env=dict(os.environ, JUPYTER_PATH=borrowed))
        try:
            with urllib.request.urlopen(wait_until_up(url, process, log), timeout=30) as page:
                yield page.read().decode()
        finally:
            stop(process)


def titles(page: str) -> list[str]:
    return re.findall(r'<div class="pa-card-title">([^<]+)</div>', page)


def test_the_installed_wheel_serves_the_bundled_dashboards(start_page: str) -> None:
    assert titles(start_page) == ["Today", "New request", "Client set-up",
                                  "Denials and appeals", "Payer scorecard", "Claims audit"]
    assert 'class="pa-served-name">pa_tracker.xlsx<' in start_page


@pytest.fixture
def adapted(installed: Path, tracker: Path) -> Path:
    """The bundled dashboards copied out with the wheel's `patoolkit notebooks`, one added."""
    folder = tracker.parent / "clinic_dashboards"
    run(installed / "patoolkit", "notebooks", folder, cwd=tracker.parent)
    shutil.copy2(folder / "1_Today.ipynb", folder / "7_Renewals.ipynb")
    (folder / "3_Client_setup.ipynb").unlink()
    return folder


@pytest.mark.parametrize("start_page", [["--notebooks", "clinic_dashboards"]], indirect=True)
def test_the_installed_wheel_serves_adapted_dashboards(adapted: Path, start_page: str) -> None:
    assert titles(start_page) == ["Today", "New request", "Denials and appeals",
                                  "Payer scorecard", "Claims audit", "Renewals"]


def test_the_installed_wheel_makes_a_letter(installed: Path, tracker: Path) -> None:
    printed = run(installed / "patoolkit", "letter", tracker, "PA-2026-00173", "--kind", "p2p",
                  "--set", "availability=weekdays 12-1 pm", "--set",
                  "discussion_points=PT 8 weeks failed", "--as-of", "2026-12-01",
                  cwd=tracker.parent)
    letter = tracker.parent / "letters_out" / "PA-2026-00173_p2p_2026-12-01.docx"
    assert f"Made {letter}" in printed
    from docx import Document

    text = "\n".join(paragraph.text for paragraph in Document(str(letter)).paragraphs)
    assert "PA-2026-00173" in text
    assert "PT 8 weeks failed" in text
    assert "Recorded 1 letter(s) in the History sheet" in printed


def test_the_wheel_requires_only_what_runtime_needs() -> None:
    """Test tools and JupyterLab are extras: a practice's install gets neither."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower()
             for requirement in project["dependencies"]}
    assert names & {"pytest", "nbval", "hypothesis", "playwright", "ruff", "mypy",
                    "jupyterlab", "setuptools"} == set()
    assert {"voila", "ipykernel", "filelock"} <= names, "what the dashboards and writes need"
    assert "jupyterlab>=4" in project["optional-dependencies"]["notebooks"]
