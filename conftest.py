"""Root pytest hooks: nbval runs the notebooks against a scratch copy of the sample tracker.

The environment variable is set at configure time, before nbval starts any
kernel, so the notebooks (which read PATOOLKIT_TRACKER) never touch the file
in sample_data/.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parent / "sample_data" / "pa_tracker.xlsx"


def pytest_configure(config: pytest.Config) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="patoolkit-nbval-")) / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE, scratch)
    os.environ["PATOOLKIT_TRACKER"] = str(scratch)
    config.add_cleanup(lambda: shutil.rmtree(scratch.parent, ignore_errors=True))
