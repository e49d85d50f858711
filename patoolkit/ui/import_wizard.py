"""Import wizard (in Client set-up): upload the client's tracker, correct the mapping, import.

Upload a file; each of its columns gets a dropdown with the proposed Requests
column (and why); a preview shows the first rows as they will land; Import
writes the new rows through the safe writer and shows the report. The
corrected mapping can be downloaded for the client's next export.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import ipywidgets as widgets

from ..importer import (
    ColumnChoice,
    ImportMapping,
    ImportPlan,
    Source,
    apply_choices,
    import_into,
    load_mapping,
    plan_import,
    preview,
    propose_mapping,
    read_source,
    targets,
)
from ..tracker.read import Tracker, load_tracker
from .common import (
    ANONYMOUS,
    ProgressBar,
    download_link,
    explain,
    fmt,
    login_name,
    observe,
    on_click,
    plural,
    set_message,
)

TOML_TYPE = "application/toml"
WARNINGS_SHOWN = 20  # gaps and state codes listed before the import
# what each stage of importer.Progress is doing, in the page's words
STAGES = {"read": "Read the file", "checking": "Checking the rows",
          "checked": "Checked the rows", "writing": "Writing the rows into the tracker",
          "saved": "Saved the tracker"}


class ImportWizard:
    def __init__(self, tracker_path: Callable[[], Path], user: str | None = None):
        self.tracker_path = tracker_path
        self.user = user or login_name() or ANONYMOUS  # Client set-up's UserBar sets it
        self.source: Source | None = None
        self.proposed: ImportMapping | None = None
        self.plan: ImportPlan | None = None
        self.feedback = widgets.HTML()
        self.feedback.add_class("pa-import-feedback")
        self.upload = widgets.FileUpload(accept=".xlsx,.xls,.csv", multiple=False,
                                         description="Upload the client's file")
        self.upload.add_class("pa-import-upload")
        self.upload.layout.width = "260px"
        observe(self.upload, lambda _: self.load_upload(), self.feedback)
        self.mapping_box = widgets.VBox()
        self.mapping_box.add_class("pa-import-mapping")
        self.dropdowns: dict[str, widgets.Dropdown] = {}
        self.whys: dict[str, widgets.HTML] = {}
        self._tracker: tuple[tuple[str, int, int], Tracker] | None = None
        self.preview = widgets.HTML()
        self.preview.add_class("pa-import-preview")
        self.import_button = widgets.Button(description="Import", button_style="primary",
                                            disabled=True)
        self.import_button.add_class("pa-import-go")
        on_click(self.import_button, lambda _: self.run_import(), self.feedback,
                 busy="Importing…", enabled=lambda: self.plan is not None)
        # reading and checking on upload; checking again, writing and saving on Import
        self.progress = ProgressBar("pa-import-progress")
        self.report = widgets.HTML()
        self.report.add_class("pa-import-report")
        self.widget = widgets.VBox([
            widgets.HTML("<p>Upload the tracker the client keeps today (an Excel or CSV "
                         "export). Check the column each of its columns goes to, look at the "
                         "preview, then Import. Rows already in the tracker are not "
                         "duplicated.</p>"),
            self.upload, self.feedback, self.mapping_box, self.preview,
            self.import_button, self.progress.widget, self.report])
        self.widget.add_class("pa-import")

    def load_upload(self) -> None:
        if not self.upload.value:
            return
        item = self.upload.value[0]
        self.load(bytes(item["content"]), str(item["name"]))

    def load(self, data: bytes, name: str, mapping_file: Path | None = None) -> None:
        set_message(self.feedback, "")
        self.report.value = ""
        self.progress.start(1, f"Reading {name}…")
        try:
            self.source = read_source(Path(name), data=data,
                                      progress=lambda done, total, stage: self.progress.tell(
                                          done, f"{STAGES.get(stage, stage)}: "
                                          f"{plural(total, 'row')}"))
            saved = load_mapping(mapping_file) if mapping_file else None
            self.proposed = propose_mapping(self.source, saved)
        except Exception as error:
            set_message(self.feedback, explain(error), "error")
            self.progress.finish(f"{name} could not be read: see the message above.", "error")
            self.mapping_box.children = []
            self.import_button.disabled = True
            return
        self.progress.finish(f"Read {plural(len(self.source.rows), 'row')} from {name}: check "
                             "the column each goes to, then Import.")
        rows = [widgets.HTML('<table class="pa-grid"><tr><th style="width:260px">Column in '
                             'the file</th><th style="width:320px">Goes to</th><th>Why'
                             "</th></tr></table>")]
        self.dropdowns, self.whys = {}, {}
        for choice in self.proposed.columns:
            examples = ", ".join(fmt(value) for value in
                                 self.source.rows[choice.source].dropna().head(2))
            dropdown = widgets.Dropdown(options=targets(), value=choice.target,
                                        layout=widgets.Layout(width="320px"))
            dropdown.add_class("pa-import-target")
            observe(dropdown, lambda _: self.refresh(), self.feedback)
            self.dropdowns[choice.source] = dropdown
            self.whys[choice.source] = widgets.HTML(_why(choice))
            self.whys[choice.source].add_class("pa-import-why")
            rows.append(widgets.HBox([
                widgets.HTML(f"<b>{html.escape(choice.source)}</b><br><small>"
                             f"{html.escape(examples[:60])}</small>",
                             layout=widgets.Layout(width="260px")),
                dropdown, self.whys[choice.source]]))
        self.mapping_box.children = rows
        self.refresh()

    def tracker(self) -> Tracker:
        """The target tracker, read again only when its file changed (every correction in
        the mapping re-plans against it)."""
        path = self.tracker_path()
        try:
            stat = path.stat()
        except OSError:
            return load_tracker(path)  # its clear message: no such file, ...
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if self._tracker is None or self._tracker[0] != key:
            self._tracker = (key, load_tracker(path))
        return self._tracker[1]

    def mapping(self) -> ImportMapping:
        assert self.proposed is not None
        return apply_choices(self.proposed, {source: str(dropdown.value)
                                             for source, dropdown in self.dropdowns.items()})

    def refresh(self) -> None:
        """Re-plan with the dropdowns as they stand: preview and counts."""
        if self.source is None:
            return
        set_message(self.feedback, "")
        try:
            mapping = self.mapping()
            for choice in mapping.columns:  # a corrected column says so
                if choice.source in self.whys:
                    self.whys[choice.source].value = _why(choice)
            self.plan = plan_import(self.source, mapping, self.tracker())
        except Exception as error:
            set_message(self.feedback, explain(error), "error")
            self.import_button.disabled = True
            return
        plan = self.plan
        shown = preview(plan)
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in ["file row", *shown.columns])
        body = "".join("<tr>" + f"<td>{row}</td>" + "".join(
            f"<td>{html.escape(fmt(value))}</td>" for value in values) + "</tr>"
            for row, values in zip(shown.index, shown.itertuples(index=False), strict=True))
        save = download_link(mapping.to_toml().encode(), f"{Path(self.source.path).stem}"
                             "_mapping.toml", "Download this mapping (for the client's next "
                             "export)", TOML_TYPE)
        warnings = plan.warning_lines()
        self.preview.value = (
            f"<p><b>{len(plan.new_rows)}</b> rows to import, <b>{len(plan.present)}</b> "
            f"already in the tracker, <b>{len(plan.skipped)}</b> skipped. {save}</p>"
            + (f'<p>The first rows as they will land:</p><table class="pa-grid"><tr>{head}'
               f"</tr>{body}</table>" if len(shown) else "")
            + ("<p>To look at in the rows to import:</p><ul>" + "".join(
                f"<li>{html.escape(line)}</li>" for line in warnings[:WARNINGS_SHOWN])
               + (f"<li>... and {len(warnings) - WARNINGS_SHOWN} more (in the report after "
                  "the import)</li>" if len(warnings) > WARNINGS_SHOWN else "") + "</ul>"
               if warnings else ""))
        self.import_button.disabled = not plan.new_rows

    def run_import(self) -> list[str]:
        if self.plan is None:
            return []
        rows = len(self.plan.source.rows)
        # one bar for the whole import: checking the rows again is its first part, writing
        # them the rest (importer.Progress counts rows within each stage)
        self.progress.start(2 * rows, f"Checking {plural(rows, 'row')}…")

        def told(done: int, total: int, stage: str) -> None:
            writing = rows if stage in ("writing", "saved") else 0
            self.progress.tell(writing + rows * done // max(total, 1),
                               f"{STAGES.get(stage, stage)}: {done:,} of {total:,}…")

        try:
            tracker = self.tracker()
            plan = plan_import(self.plan.source, self.plan.mapping, tracker, progress=told)
            ids = import_into(plan, tracker, by=self.user, progress=told)
        except Exception as error:
            set_message(self.feedback, explain(error), "error")
            self.progress.finish("Nothing was imported: see the message above.", "error")
            return []
        self.progress.finish(
            f"Imported {plural(len(ids), 'request')}"
            + (f"; {plural(len(plan.present), 'row')} already in the tracker"
               if plan.present else "")
            + (f"; {plural(len(plan.skipped), 'row')} skipped (see the list)."
               if plan.skipped else "."))
        lines = "".join(f"<li>{html.escape(line.strip())}</li>"
                        for line in plan.report().splitlines()[1:])
        first_last = f" ({ids[0]} to {ids[-1]})" if ids else ""
        self.report.value = (f'<div class="pa-message pa-ok">Imported {len(ids)} request(s)'
                             f"{first_last} into {html.escape(str(self.tracker_path()))}."
                             f"</div><p>{html.escape(plan.report().splitlines()[0])}</p>"
                             + (f"<ul>{lines}</ul>" if lines else ""))
        self.import_button.disabled = True
        self.refresh()
        return ids


def _why(choice: ColumnChoice) -> str:
    return f"<small>{int(choice.confidence * 100)}%: {html.escape(choice.reason)}</small>"
