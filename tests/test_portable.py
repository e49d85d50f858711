"""patoolkit imports where the practice's PCs are: Windows has no fcntl (issue 17).

Each module is imported in a fresh interpreter in which `import fcntl` fails as it does
on Windows, so a POSIX-only import anywhere in the package (the writer's lock was one)
is found here rather than on a practice manager's PC.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import patoolkit

PACKAGE = Path(patoolkit.__file__).parent
# standard modules that exist on POSIX only (https://docs.python.org/3/library/unix.html)
POSIX_ONLY = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "syslog",
              "crypt", "spwd", "nis"}


def every_module() -> list[str]:
    return sorted(module.name for module in pkgutil.walk_packages([str(PACKAGE)], "patoolkit."))


def test_every_module_imports_without_fcntl() -> None:
    modules = every_module()
    assert {"patoolkit.tracker.edit", "patoolkit.cli", "patoolkit.ui.today"} <= set(modules)
    script = textwrap.dedent(f"""
        import importlib, sys
        sys.modules["fcntl"] = None  # `import fcntl` now raises ImportError, as on Windows
        failed = []
        for name in {modules!r}:
            try:
                importlib.import_module(name)
            except ImportError as error:
                failed.append(f"{{name}}: {{error}}")
        print("\\n".join(failed))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"modules that need fcntl:\n{done.stdout}"


def test_no_module_imports_a_posix_only_module() -> None:
    """Also those imported inside a function, which importing the module does not reach."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(PACKAGE)}:{node.lineno} imports {name}"
                      for name in names if name.split(".")[0] in POSIX_ONLY]
    assert found == []


def test_a_save_under_filelocks_soft_lock_does_not_wait_for_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where flock is missing (some network shares) filelock falls back to a soft lock: an
    existing lock file means 'held'. The writer must not leave one behind before taking
    the lock, or every save would wait for ever."""
    import shutil

    from filelock import SoftFileLock

    from patoolkit import load_tracker, update_request
    from patoolkit.tracker import edit as writer

    tracker = tmp_path / "tracker.xlsx"
    shutil.copy2(Path(__file__).resolve().parents[1] / "sample_data" / "pa_tracker.xlsx",
                 tracker)
    monkeypatch.setattr(writer, "FileLock", lambda path: SoftFileLock(path, timeout=20))
    request_id = str(load_tracker(tracker).requests["request_id"].iloc[0])
    update_request(tracker, request_id, {"owner": "Soft"}, by="t")
    update_request(tracker, request_id, {"owner": "Soft again"}, by="t")  # released, again
    assert load_tracker(tracker).requests["owner"].iloc[0] == "Soft again"
