"""`patoolkit report`: the scorecard notebook run headless, saved as one HTML file for a client.

The notebook runs with nbclient in a fresh kernel, its parameters cell followed
by an injected cell with this run's values (the papermill convention). The
report keeps only the cells' HTML output (never the code) inside a page of its
own: charts are inline SVG and the styles are in the page, so the file opens
anywhere, offline, and can be sent as it is.
"""

from __future__ import annotations

import datetime as dt
import html
import subprocess
from collections.abc import Callable
from pathlib import Path

from .errors import PAToolkitError
from .files import check_new_file, create_new_file
from .serve import NOTEBOOKS

SCORECARD = NOTEBOOKS / "5_Scorecard.ipynb"
TIMEOUT_SECONDS = 600
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: Arial, Helvetica, sans-serif; margin: 24px auto; max-width: 1180px;
  color: #222; }}
.pa-title {{ font-size: 22px; font-weight: 600; margin: 4px 0; }}
.pa-sub {{ color: #555; }}
footer {{ color: #777; font-size: 11px; margin-top: 28px; border-top: 1px solid #ddd;
  padding-top: 6px; }}
@media print {{ .pa-chart {{ page-break-inside: avoid; }} }}
</style></head>
<body>
{body}
<footer>Made by patoolkit from {tracker} on {made}. Contains figures about prior
authorization requests only; no patient names.</footer>
</body></html>
"""


def _injected(tracker: Path, date_from: dt.date | None, date_to: dt.date | None) -> str:
    values = {"tracker_path": str(tracker), "report": True,
              "date_from": date_from.isoformat() if date_from else None,
              "date_to": date_to.isoformat() if date_to else None}
    return "# Parameters injected by `patoolkit report`\n" + "".join(
        f"{name} = {value!r}\n" for name, value in values.items())


Progress = Callable[[int, int, str], None]
"""progress(done, total, stage), as importer.Progress: `total` is the notebook's code cells
plus one for starting its kernel; told when the kernel starts ("starting"), after each code
cell runs ("running", done growing) and once the page is written ("written", done ==
total)."""


def run_scorecard(tracker: Path, date_from: dt.date | None, date_to: dt.date | None,
                  notebook: Path = SCORECARD, progress: Progress | None = None) -> str:
    """Execute the scorecard notebook with these parameters; its HTML output."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    document = nbformat.read(str(notebook), as_version=4)
    position = next((number for number, cell in enumerate(document.cells)
                     if "parameters" in cell.get("metadata", {}).get("tags", [])), -1)
    injected = nbformat.v4.new_code_cell(_injected(tracker, date_from, date_to))
    injected.metadata["tags"] = ["injected-parameters"]
    document.cells.insert(position + 1, injected)
    # nbclient runs (and tells of) the code cells that have code
    total = 1 + sum(cell.cell_type == "code" and bool(cell.source.strip())
                    for cell in document.cells)
    report = progress or (lambda done, total, stage: None)
    ran = [1]

    def cell_ran(**_: object) -> None:
        ran[0] = min(ran[0] + 1, total)
        report(ran[0], total, "running")

    report(0, total, "starting")
    client = NotebookClient(document, timeout=TIMEOUT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}},
                            on_notebook_start=lambda **_: report(1, total, "running"),
                            on_cell_executed=cell_ran)
    try:
        # the kernel's own log (a warning about TCP on 127.0.0.1) is not the user's business;
        # errors in the notebook still come back through its outputs
        client.execute(stderr=subprocess.DEVNULL)
    except CellExecutionError as error:
        last = str(error).strip().splitlines()[-1:] or ["unknown error"]
        raise PAToolkitError(f"the scorecard notebook failed: {last[0]}") from None
    parts = []
    for cell in document.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data:
                parts.append("".join(data["text/html"]) if isinstance(data["text/html"], list)
                             else data["text/html"])
    if not parts:
        raise PAToolkitError(f"{notebook}: the scorecard notebook showed nothing to report.")
    return "\n".join(parts)


def write_report(tracker: Path | str, out: Path | str, date_from: dt.date | None = None,
                 date_to: dt.date | None = None, overwrite: bool = False,
                 progress: Progress | None = None) -> Path:
    """The per-client HTML report; never replaces a file unless overwrite is set.
    progress hears of each cell the notebook runs (see Progress)."""
    from .tracker.read import load_tracker

    tracker = Path(tracker)
    loaded = load_tracker(tracker)  # an unusable tracker stops here, with its clear message
    out = check_new_file(out, "report", ".html", overwrite)  # before the notebook runs
    cells: list[int] = []

    def ran(done: int, total: int, stage: str) -> None:
        cells[:] = [total]
        if progress is not None:
            progress(done, total, stage)

    body = run_scorecard(tracker.resolve(), date_from, date_to, progress=ran)
    practice = str(loaded.settings.get("practice_name") or tracker.stem)
    page = PAGE.format(title=html.escape(f"Prior authorization scorecard: {practice}"),
                       body=body, tracker=html.escape(tracker.name),
                       made=dt.date.today().isoformat())
    def write(path: Path) -> None:
        path.write_text(page, encoding="utf-8")

    written = create_new_file(out, write, what="report", suffix=".html", overwrite=overwrite)
    if progress is not None:
        progress(cells[0], cells[0], "written")
    return written
