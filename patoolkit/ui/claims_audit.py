"""The claims audit dashboard: upload (or pick) a claims export, see what will deny and why."""

from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..claims import FINDINGS, ClaimsFile, audit_for, claims_from_bytes, findings_table, summary
from ..exports import write_report_xlsx
from ..schema import is_missing
from ..tracker.sources import WORKBOOK_SUFFIXES
from .common import (
    STYLE,
    XLSX_TYPE,
    TrackerSession,
    UserBar,
    download_link,
    explain,
    observe,
    set_message,
)

NONE = "(choose a file)"
CLAIMS_SUFFIXES = (".csv", *WORKBOOK_SUFFIXES)  # what the claims audit reads
SHOWN = ("claim_id", "date_of_service", "codes", "units", "auth_number", "message")


def claims_files_near(tracker: Path) -> list[Path]:
    """CSV files and workbooks (what sources.read_rows reads) beside the tracker that look
    like claims exports."""
    folder = tracker.parent
    found = [path for path in folder.iterdir() if path.is_file()
             and path.suffix.lower() in CLAIMS_SUFFIXES and path != tracker
             and not path.name.startswith((".", "~$"))
             and (path.suffix.lower() == ".csv" or "claim" in path.name.lower())]
    return sorted(found)


class ClaimsAuditDashboard:
    """Findings grouped by code, each group with its fix, and the xlsx to download."""

    def __init__(self, session: TrackerSession, claims_path: str | None = None):
        self.session = session
        self.findings = pd.DataFrame()
        self.claims_file: ClaimsFile | None = None
        self.feedback = widgets.HTML()
        self.feedback.add_class("pa-claims-feedback")
        self.upload = widgets.FileUpload(accept=",".join(CLAIMS_SUFFIXES), multiple=False,
                                         description="Upload claims")
        self.upload.add_class("pa-claims-upload")
        observe(self.upload, lambda _: self.audit_upload(), self.feedback)
        nearby = [(path.name, str(path)) for path in claims_files_near(session.path)]
        self.choice = widgets.Dropdown(options=[(NONE, ""), *nearby], value="",
                                       description="or pick",
                                       layout=widgets.Layout(width="420px"))
        self.choice.add_class("pa-claims-choice")
        observe(self.choice, lambda _: self.audit_chosen(), self.feedback)
        self.summary = widgets.HTML()
        self.summary.add_class("pa-claims-summary")
        self.download = widgets.HTML()
        self.download.add_class("pa-claims-download")
        self.groups = widgets.HTML()
        self.groups.add_class("pa-claims-groups")
        self.widget = widgets.VBox([
            widgets.HTML(STYLE), widgets.HTML(
                '<div class="pa-title">Claims audit</div><div class="pa-sub">Check a claims '
                "export (CSV or a workbook from the billing system) against the tracker before the "
                "claims go out: what would deny for an authorization reason, and the fix."
                "</div>"),
            UserBar(session, self.feedback).widget,
            widgets.HBox([self.upload, self.choice]), self.feedback, self.summary,
            self.download, self.groups])
        self.widget.add_class("pa-claims-app")
        if claims_path:
            self.audit_bytes(Path(claims_path).read_bytes(), Path(claims_path).name)

    def audit_upload(self) -> None:
        if not self.upload.value:
            return
        item = self.upload.value[0]
        self.audit_bytes(bytes(item["content"]), str(item["name"]))

    def audit_chosen(self) -> None:
        if self.choice.value:
            path = Path(self.choice.value)
            self.audit_bytes(path.read_bytes(), path.name)

    def audit_bytes(self, data: bytes, name: str) -> None:
        set_message(self.feedback, "")
        self.summary.value = self.groups.value = self.download.value = ""
        try:
            self.claims_file = claims_from_bytes(data, name)
            claims = self.claims_file.claims
            self.findings = audit_for(self.session.tracker, claims)
        except Exception as error:
            set_message(self.feedback, explain(error), "error")
            return
        table = findings_table(self.findings, claims)
        counts = summary(self.findings, claims)
        problems = self.claims_file.problems
        # about the whole file (lines read as Windows-1252): said in full, each one
        about_file = [problem for problem in problems if problem.row is None]
        errors = [problem for problem in problems
                  if problem.row is not None and problem.severity == "error"]
        warnings = [problem for problem in problems
                    if problem.row is not None and problem.severity != "error"]
        note = "".join(f" {problem}" for problem in about_file) + (
            f" {len(errors)} cell(s) could not be read, e.g. {errors[0]}." if errors
            else "") + (f" {len(warnings)} warning(s), e.g. {warnings[0]}." if warnings
                        else "")
        set_message(self.feedback, f"Audited {name}: {counts['claims']} claims.{note}",
                    "warn" if problems else "ok")
        self.summary.value = (
            f'<div class="pa-sub"><b>{counts["clean_claims"]}</b> clean · '
            f'<b class="pa-overdue-text">{counts["claims_with_findings"]}</b> with findings: '
            + " · ".join(f"{code} {count}" for code, count in counts["findings"].items()
                         if count) + "</div>")
        sections = []
        for code, finding in FINDINGS.items():
            mine = table[table["code"] == code]
            if mine.empty:
                continue
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(_text(value))}</td>"
                                 for value in record) + "</tr>"
                for record in mine[list(SHOWN)].itertuples(index=False))
            head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in SHOWN)
            sections.append(
                f'<details open class="pa-finding pa-finding-{code}"><summary><b>{code}</b>: '
                f"{html.escape(finding.title)} ({len(mine)})</summary>"
                f"<p><b>Fix:</b> {html.escape(finding.fix)}</p>"
                f'<table class="pa-grid"><tr>{head}</tr>{rows}</table></details>')
        self.groups.value = "".join(sections) or "<p>Every claim is clean.</p>"
        self.download.value = self._download(table, counts)

    def _download(self, table: pd.DataFrame, counts: dict[str, Any]) -> str:
        by_code = pd.DataFrame([{"finding": code, "title": FINDINGS[code].title, "count": count,
                                 "fix": FINDINGS[code].fix}
                                for code, count in counts["findings"].items()])
        with tempfile.TemporaryDirectory() as folder:
            path = write_report_xlsx(Path(folder) / "claims_audit.xlsx", "Claims audit",
                                     {"Findings": table, "Summary": by_code})
            data = path.read_bytes()
        return download_link(data, "claims_audit.xlsx", "Download the findings (.xlsx)",
                             XLSX_TYPE)


def _text(value: object) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    return str(value)
