"""The "New request" form: answers, as it is filled, what this request needs and whether it can go.

It asks the tracker's own rules (PA Rules, Criteria, Providers, Payers):
is PA required and which rule says so, which documents the payer's criteria
need (a checklist to tick), whether the ordering provider is enrolled, whether
the codes are valid, when the payer's decision would be due and whether the
service date is at risk. Save adds the request through the safe writer; a
request with blockers is saved as a draft with its blockers in the notes.
"""

from __future__ import annotations

import datetime as dt
import html

import ipywidgets as widgets
import pandas as pd

from ..deadlines import compute_deadlines
from ..rules import code_findings, documentation_checklist, enrollment_for, requirement
from ..schema import LISTS
from ..tracker import typed_frame
from .common import STYLE, TrackerSession, fmt, safely, set_message

FIELDS = ["patient_id", "patient_name", "patient_dob", "member_id", "payer", "plan_type",
          "codes", "icd10", "ordering_npi", "service_category", "urgency",
          "scheduled_service_date", "owner"]


class IntakeForm:
    def __init__(self, session: TrackerSession, today: dt.date | None = None):
        self.session = session
        self.today = today
        tracker = session.tracker
        payers = sorted({str(p) for p in tracker.frames["Payers"]["payer"].dropna()})
        providers = tracker.frames["Providers"].dropna(subset=["npi"])
        npis = sorted({(f"{fmt(name)} ({npi})" if fmt(name) else str(npi), str(npi))
                       for name, npi in zip(providers["provider_name"], providers["npi"],
                                            strict=True)})
        self.provider_names = {str(npi): fmt(name) or None for name, npi in
                               zip(providers["provider_name"], providers["npi"], strict=True)}
        style = {"description_width": "170px"}
        wide = widgets.Layout(width="440px")
        self.inputs: dict[str, widgets.Widget] = {
            "patient_id": widgets.Text(description="Patient ID"),
            "patient_name": widgets.Text(description="Patient name", placeholder="Last, First"),
            "patient_dob": widgets.DatePicker(description="Date of birth"),
            "member_id": widgets.Text(description="Member ID"),
            "payer": widgets.Combobox(description="Payer", options=payers,
                                      placeholder="type or choose", ensure_option=False),
            "plan_type": widgets.Dropdown(description="Plan type",
                                          options=["", *tracker.lists["plan_type"]]),
            "codes": widgets.Text(description="CPT/HCPCS codes", placeholder="70551, J0135"),
            "icd10": widgets.Text(description="ICD-10-CM codes", placeholder="M54.16"),
            "ordering_npi": widgets.Dropdown(description="Ordering provider",
                                             options=[("", ""), *npis]),
            "service_category": widgets.Dropdown(description="Service category",
                                                 options=["", *tracker.lists["service_category"]]),
            "urgency": widgets.Dropdown(description="Urgency", options=list(LISTS["urgency"])),
            "scheduled_service_date": widgets.DatePicker(description="Service date"),
            "owner": widgets.Text(description="Owner"),
        }
        for name, field in self.inputs.items():
            field.style = style
            field.layout = wide
            field.add_class(f"pa-in-{name}")
            field.observe(lambda _: self.update_checks(), "value")
        self.checks = widgets.HTML()
        self.checks.add_class("pa-intake-checks")
        self.checklist = widgets.VBox()
        self.checklist.add_class("pa-checklist")
        self.feedback = widgets.HTML()
        self.feedback.add_class("pa-intake-feedback")
        self.save_button = widgets.Button(description="Save request", button_style="primary")
        self.save_button.add_class("pa-intake-save")
        self.save_button.on_click(lambda _: self.save())
        self.boxes: dict[str, widgets.Checkbox] = {}
        self.required_items: dict[str, bool] = {}
        self.blockers: list[str] = []
        self.answer = "Unknown"
        self.widget = widgets.VBox([
            widgets.HTML(STYLE + '<div class="pa-title">New request</div><div class="pa-sub">'
                         "Fill in the order; the checks on the right update as you type.</div>"),
            widgets.HBox([widgets.VBox(list(self.inputs.values())),
                          widgets.VBox([self.checks,
                                        widgets.HTML("<b>Documents the payer's criteria ask "
                                                     "for</b> (tick what you have)"),
                                        self.checklist],
                                       layout=widgets.Layout(width="560px"))]),
            self.feedback, self.save_button,
        ])
        self.widget.add_class("pa-intake")
        self.update_checks()

    def clear(self) -> None:
        """Empty the form for the next request (the feedback stays)."""
        for name, field in self.inputs.items():
            if isinstance(field, widgets.DatePicker):
                field.value = None
            elif isinstance(field, widgets.Dropdown):
                field.value = "Standard" if name == "urgency" else ""
            else:
                field.value = ""  # type: ignore[attr-defined]

    def values(self) -> dict[str, object]:
        values: dict[str, object] = {}
        for name, field in self.inputs.items():
            value = field.value  # type: ignore[attr-defined]
            if isinstance(value, str):
                value = value.strip()
            values[name] = value if value not in ("", None) else None
        return values

    def _today(self) -> dt.date:
        return self.today or dt.date.today()

    def update_checks(self) -> None:
        @safely(lambda: self.checks)
        def run() -> None:
            values = self.values()
            tracker = self.session.tracker
            lines: list[tuple[str, str]] = []
            blockers: list[str] = []
            service = values["scheduled_service_date"]
            found = requirement(tracker.frames["PA Rules"], str(values["payer"] or ""),
                                values["plan_type"], str(values["codes"] or ""),  # type: ignore[arg-type]
                                service)  # type: ignore[arg-type]
            self.answer = found.answer
            extra = "".join(f"; {text}" for text in (
                found.condition and f"condition: {found.condition}",
                found.visit_threshold and f"after {found.visit_threshold} visits",
                found.benefit_manager and f"reviewed by {found.benefit_manager}") if text)
            kind = {"Yes": "warn", "No": "ok"}.get(found.answer, "error")
            lines.append((kind, f"PA required: {found.answer}. {found.reason}{extra}"))
            if found.answer == "Unknown":
                blockers.append("PA requirement unknown: ask the payer and add a PA Rules row")

            for problem in code_findings(values["ordering_npi"], values["codes"],  # type: ignore[arg-type]
                                         values["icd10"]):  # type: ignore[arg-type]
                lines.append(("error", problem))
                blockers.append(problem)

            if values["ordering_npi"] and values["payer"]:
                request = typed_frame("Requests", [{"request_id": "new",
                                                     "ordering_npi": values["ordering_npi"],
                                                     "payer": values["payer"]}])
                enrolled = enrollment_for(request, tracker.frames["Providers"],
                                          self._today()).iloc[0]
                lines.append(("ok" if enrolled["enrolled"] else "error",
                              f"Provider: {enrolled['enrollment_reason']}"))
                if not enrolled["enrolled"]:
                    blockers.append(str(enrolled["enrollment_reason"]))

            self._rebuild_checklist(values)
            missing = [item for item, box in self.boxes.items()
                       if not box.value and self.required_items.get(item)]
            if missing:
                blockers.append("documents missing: " + "; ".join(missing))
                lines.append(("warn", "Documents still needed: " + "; ".join(missing)))

            if values["plan_type"]:
                when = pd.Timestamp.combine(self._today(), dt.time(23, 59, 59))
                request = typed_frame("Requests", [{
                    "request_id": "new", "payer": values["payer"], "plan_type": values["plan_type"],
                    "urgency": values["urgency"], "submitted_at": when,
                    "scheduled_service_date": service}], tracker.lists)
                due = compute_deadlines(request, tracker.frames["Payers"], tracker.settings,
                                        as_of=when).iloc[0]
                if pd.isna(due["decision_due"]):
                    lines.append(("warn", f"Decision due: {due['basis_decision_due']}"))
                else:
                    risk = ""
                    if service and due["decision_due"] >= pd.Timestamp(service):
                        risk = " The service date is at risk: ask for expedited review or " \
                               "reschedule."
                    lines.append(("error" if risk else "ok",
                                  f"If submitted today, the decision is due "
                                  f"{fmt(due['decision_due'])} ({due['basis_decision_due']})."
                                  + risk))
            self.blockers = blockers
            self.checks.value = "".join(
                f'<div class="pa-message pa-{kind}">{html.escape(text)}</div>'
                for kind, text in lines)
        run()

    def _rebuild_checklist(self, values: dict[str, object]) -> None:
        table = documentation_checklist(self.session.tracker.frames["Criteria"],
                                        values["service_category"],  # type: ignore[arg-type]
                                        values["payer"])  # type: ignore[arg-type]
        items = list(table["item"])
        if items == list(self.boxes):
            return
        previous = {item: box.value for item, box in self.boxes.items()}
        self.boxes = {}
        self.required_items = {}
        for item, required, source in zip(table["item"], table["required"], table["source"],
                                          strict=True):
            box = widgets.Checkbox(value=previous.get(item, False),
                                   description=str(item) + ("" if required else " (optional)"),
                                   tooltip=("required" if required else "optional")
                                   + f"; {source}", indent=False,
                                   layout=widgets.Layout(width="520px"))
            box.add_class("pa-doc")
            box.observe(lambda _: self.update_checks(), "value")
            self.boxes[str(item)] = box
            self.required_items[str(item)] = bool(required)
        self.checklist.children = list(self.boxes.values()) or [
            widgets.HTML("<i>Choose the service category (and payer) to see the list.</i>")]

    def save(self) -> None:
        @safely(lambda: self.feedback)
        def run() -> None:
            values = self.values()
            if not values["payer"] or not values["patient_id"]:
                set_message(self.feedback, "Fill in at least the patient ID and the payer.",
                            "error")
                return
            today = self._today()
            values["requirement_checked_date"] = today
            values["pa_required"] = self.answer if self.answer != "Conditional" else "Yes"
            values["docs_complete"] = "No" if any(
                "documents missing" in blocker for blocker in self.blockers) else "Yes"
            if values["ordering_npi"]:
                values["ordering_provider"] = self.provider_names.get(str(values["ordering_npi"]))
            values["status"] = "Closed" if self.answer == "No" else "Documentation"
            if self.blockers:
                values["notes"] = f"Draft saved {today}; blockers: " + " | ".join(self.blockers)
            elif self.answer == "No":
                values["notes"] = f"{today}: no PA required per the PA Rules"
            request_id = self.session.add(values)
            kind = "warn" if self.blockers else "ok"
            set_message(self.feedback, f"Saved {request_id} to {self.session.path.name}"
                        + (" as a draft. Still to do: " + "; ".join(self.blockers)
                           if self.blockers else ". The form is clear for the next request."),
                        kind)
            self.clear()  # a second click must not save the same order twice
        run()
