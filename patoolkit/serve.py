"""`patoolkit serve`: Voila over notebooks/, bound to 127.0.0.1, no tracebacks, idle kernels culled.

The tracker path reaches the notebooks through the PATOOLKIT_TRACKER
environment variable, so the notebooks are never edited. Without a tracker,
a scratch copy of the bundled synthetic sample is served, so trying the
dashboards never changes the file in the repository.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from .errors import PAToolkitError
from .ui.common import BUNDLED_SAMPLE, TRACKER_ENV

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# Voila finds the start page's template ("patoolkit", built on Voila's "lab") here
JUPYTER_DATA = Path(__file__).resolve().parent / "data" / "jupyter"


def demo_copy() -> Path:
    """A scratch copy of the bundled sample (or a freshly generated one)."""
    folder = Path(tempfile.mkdtemp(prefix="patoolkit-demo-"))
    target = folder / "pa_tracker.xlsx"
    if BUNDLED_SAMPLE.exists():
        shutil.copy2(BUNDLED_SAMPLE, target)
    else:
        from .sample import write_sample

        write_sample(target)
    return target


def voila_command(port: int, host: str = "127.0.0.1", token: str | None = None,
                  idle_minutes: int = 30) -> list[str]:
    command = [
        sys.executable, "-m", "voila", str(NOTEBOOKS), "--no-browser",
        f"--port={port}", f"--Voila.ip={host}", "--Voila.port_retries=0",
        "--VoilaConfiguration.show_tracebacks=False",
        # the start page: dashboards by name with what each is for, not a file list
        "--VoilaConfiguration.template=patoolkit", "--VoilaConfiguration.classic_tree=True",
        # Voila keeps a kernel per open page and does not stop it when the tab closes.
        f"--MappingKernelManager.cull_idle_timeout={idle_minutes * 60}",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=True",
        # serve no files from notebooks/ but the notebooks themselves (^$ matches no name)
        "--VoilaConfiguration.file_allowlist=^$",
    ]
    command.append(f"--token={token}" if token else "--token=")
    return command


def serve(tracker: Path | None, port: int = 8866, token: str | None = None,
          host: str = "127.0.0.1", idle_minutes: int = 30) -> int:
    if not NOTEBOOKS.is_dir():
        raise PAToolkitError(f"{NOTEBOOKS}: the dashboards' notebooks are not here; run "
                             "`patoolkit serve` from a clone of the repository.")
    if tracker is None:
        tracker = demo_copy()
        print(f"No tracker given: serving a scratch copy of the synthetic sample, {tracker}")
    elif not tracker.exists():
        raise PAToolkitError(f"{tracker}: no such file; check the path.")
    environment = dict(os.environ, **{TRACKER_ENV: str(tracker.resolve())})
    environment["JUPYTER_PATH"] = os.pathsep.join(
        [str(JUPYTER_DATA), *filter(None, [os.environ.get("JUPYTER_PATH")])])
    shown_host = "127.0.0.1" if host in ("127.0.0.1", "localhost") else host
    suffix = f"?token={token}" if token else ""
    print(f"Dashboards for {tracker.name}: http://{shown_host}:{port}/{suffix}  (Ctrl+C stops)",
          flush=True)
    command = voila_command(port, host, token, idle_minutes)
    # Become Voila: Ctrl+C and a service manager's SIGTERM then reach it directly, and no
    # orphaned server is left behind when this process is stopped.
    os.execve(command[0], command, environment)
    return 0  # pragma: no cover (execve does not return)
