"""The "New request" form: answers, as it is filled, what this request needs and whether it can go.

It asks the tracker's own rules (PA Rules, Criteria, Providers, Payers):
is PA required and which rule says so, which documents the payer's criteria
need (a checklist to tick), whether the ordering provider is enrolled, whether
the codes are valid, when the payer's decision would be due and whether the
service date is at risk. A payer with one plan type on the Payers sheet fills
Plan type. Save adds the request through the safe writer; a request with
blockers is saved as a draft (notes beginning "Draft:", with its blockers).
Save asks first when the payer is not on the Payers sheet, when a request like
this one is already there (shown by request ID, never by name), and when no
plan type is chosen (it can then be saved only as a draft). The rules are
patoolkit.intake's; this form only asks.
"""

from __future__ import annotations

import datetime as dt
import html

import ipywidgets as widgets
import pandas as pd

from ..deadlines import compute_deadlines
from ..intake import (
    DRAFT_MARK,
    known_payer,
    payer_on_sheet,
    plan_type_problem,
    plan_types_for,
    similar_requests,
)
from ..rules import code_findings, documentation_checklist, enrollment_for, requirement
from ..schema import LISTS
from ..tracker import typed_frame
from .common import (
    STYLE,
    TrackerSession,
    UserBar,
    fmt,
    observe,
    on_click,
    safely,
    set_message,
)

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
        self.checks = widgets.HTML()
        self.checks.add_class("pa-intake-checks")
        self.filled_plan_type = ""  # what the form put in Plan type; a user's choice is kept
        # observed before the checks are, so they see the plan type the payer gives
        observe(self.inputs["payer"], lambda _: self._fill_plan_type(), self.checks)
        for name, field in self.inputs.items():
            field.style = style
            field.layout = wide
            field.add_class(f"pa-in-{name}")
            observe(field, lambda _: self.update_checks(), self.checks)
        self.checklist = widgets.VBox()
        self.checklist.add_class("pa-checklist")
        self.feedback = widgets.HTML()
        self.feedback.add_class("pa-intake-feedback")
        self.save_button = widgets.Button(description="Save request", button_style="primary")
        self.save_button.add_class("pa-intake-save")
        on_click(self.save_button, lambda _: self.save(), self.feedback, busy="Saving…")
        self.question = widgets.HTML()
        self.question.add_class("pa-intake-question")
        self.confirm_button = widgets.Button(description="Confirm", button_style="warning")
        self.confirm_button.add_class("pa-intake-confirm")
        on_click(self.confirm_button, lambda _: self.confirm(), self.feedback, busy="Saving…")
        self.cancel_button = widgets.Button(description="Cancel")
        self.cancel_button.add_class("pa-intake-cancel")
        on_click(self.cancel_button, lambda _: self.cancel(), self.feedback)
        self.question_box = widgets.VBox(
            [self.question, widgets.HBox([self.confirm_button, self.cancel_button])],
            layout=widgets.Layout(display="none"))
        self.question_box.add_class("pa-intake-ask")
        self.asked: dict[str, object] | None = None  # the values a shown question is about
        self.boxes: dict[str, widgets.Checkbox] = {}
        self.required_items: dict[str, bool] = {}
        self.blockers: list[str] = []
        self.answer = "Unknown"
        self.widget = widgets.VBox([
            widgets.HTML(STYLE + '<div class="pa-title">New request</div><div class="pa-sub">'
                         "Fill in the order; the checks on the right update as you type.</div>"),
            UserBar(session, self.feedback).widget,
            widgets.HBox([widgets.VBox(list(self.inputs.values())),
                          widgets.VBox([self.checks,
                                        widgets.HTML("<b>Documents the payer's criteria ask "
                                                     "for</b> (tick what you have)"),
                                        self.checklist],
                                       layout=widgets.Layout(width="560px"))]),
            self.feedback, self.question_box, self.save_button,
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
        self.filled_plan_type = ""

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

    def _fill_plan_type(self) -> None:
        """A payer with one plan type on the Payers sheet gives it; a user's choice is kept."""
        @safely(self.checks)
        def run() -> None:
            field = self.inputs["plan_type"]
            assert isinstance(field, widgets.Dropdown)
            if field.value not in ("", self.filled_plan_type):
                return
            plans = plan_types_for(self.session.tracker.frames["Payers"],
                                   self.inputs["payer"].value)  # type: ignore[attr-defined]
            given = plans[0] if len(plans) == 1 and plans[0] in field.options else ""
            self.filled_plan_type = given
            field.value = given
        run()

    def update_checks(self) -> None:
        @safely(self.checks)
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
                                        tracker.calendar(when), as_of=when).iloc[0]
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
            lines += self._payer_lines(values)
            if not values["plan_type"]:
                blockers.append("choose the plan type")
            self.blockers = blockers
            self._hide_question()  # the form changed: a question shown is about other values
            self.checks.value = "".join(
                f'<div class="pa-message pa-{kind}">{html.escape(text)}</div>'
                for kind, text in lines)
        run()

    def _payer_lines(self, values: dict[str, object]) -> list[tuple[str, str]]:
        """What the Payers sheet and the Requests sheet say about this payer and patient."""
        tracker = self.session.tracker
        payers = tracker.frames["Payers"]
        lines: list[tuple[str, str]] = []
        payer, plan_type = values["payer"], values["plan_type"]
        plans = plan_types_for(payers, payer)
        if payer and not known_payer(payers, payer):
            lines.append(("warn", f"Payer '{payer}' is not on the Payers sheet: check the "
                                  "spelling, or add the payer there with its plan type."))
        elif payer and not plan_type:
            lines.append(("warn", "Choose the plan type" + (
                f" (the Payers sheet lists {', '.join(plans)} for this payer)." if plans
                else "; the Payers sheet gives none for this payer.")))
        elif plans and plan_type not in plans:
            lines.append(("warn", f"The Payers sheet lists this payer as {', '.join(plans)}, "
                                  f"not {plan_type}; check the plan type."))
        lines += [("warn", f"A request like this one is already on the tracker: {line}.")
                  for line in self._describe(similar_requests(tracker.requests, values))]
        return lines

    @staticmethod
    def _describe(similar: pd.DataFrame) -> list[str]:
        """Similar requests by ID, status and service date: never by patient name."""
        return [f"{request_id} ({fmt(status) or 'no status'}, service date "
                f"{fmt(service) or 'none'})"
                for request_id, status, service in zip(
                    similar["request_id"], similar["status"], similar["scheduled_service_date"],
                    strict=True)]

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
            observe(box, lambda _: self.update_checks(), self.checks)
            self.boxes[str(item)] = box
            self.required_items[str(item)] = bool(required)
        self.checklist.children = list(self.boxes.values()) or [
            widgets.HTML("<i>Choose the service category (and payer) to see the list.</i>")]

    def save(self) -> None:
        """Save, or first ask about what the user may not have meant (see questions)."""
        @safely(lambda: self.feedback)
        def run() -> None:
            values = self.values()
            if not values["payer"] or not values["patient_id"]:
                set_message(self.feedback, "Fill in at least the patient ID and the payer.",
                            "error")
                return
            questions = self.questions(values)
            if not questions:
                self._write(values)
                return
            self.asked = values
            self.question.value = "".join(
                f'<div class="pa-message pa-warn">{html.escape(text)}</div>'
                for text in questions)
            no_plan_type = plan_type_problem(values) is not None
            self.confirm_button.description = "Save as draft" if no_plan_type else "Confirm"
            self.question_box.layout.display = ""
            set_message(self.feedback, "")
        run()

    def questions(self, values: dict[str, object]) -> list[str]:
        """What to ask before saving: no plan type, an unknown payer, a similar request."""
        tracker = self.session.tracker
        asked = []
        if plan_type_problem(values):
            asked.append("No plan type is chosen. Choose it above, or save this request as a "
                         f"draft: its notes will begin with '{DRAFT_MARK}' and the worklist "
                         "will list it to complete.")
        if not known_payer(tracker.frames["Payers"], values["payer"]):
            asked.append(f"Save with an unknown payer? '{values['payer']}' is not on the Payers "
                         "sheet.")
        similar = self._describe(similar_requests(tracker.requests, values))
        if similar:
            asked.append("A request like this one is already on the tracker: "
                         + "; ".join(similar) + ". Save another?")
        return asked

    def confirm(self) -> None:
        """Save after the question was answered yes (asked again if the form changed since)."""
        @safely(lambda: self.feedback)
        def run() -> None:
            values = self.values()
            if self.asked is None or values != self.asked:
                self.save()
                return
            self._hide_question()
            self._write(values)
        run()

    def cancel(self) -> None:
        self._hide_question()
        set_message(self.feedback, "Not saved. Change the request, or press Save again.", "warn")

    def _hide_question(self) -> None:
        self.asked = None
        self.question_box.layout.display = "none"

    def _write(self, values: dict[str, object]) -> None:
        tracker = self.session.tracker
        today = self._today()
        values["payer"] = payer_on_sheet(tracker.frames["Payers"], values["payer"]) \
            or values["payer"]
        values["requirement_checked_date"] = today
        values["pa_required"] = self.answer if self.answer != "Conditional" else "Yes"
        values["docs_complete"] = "No" if any(
            "documents missing" in blocker for blocker in self.blockers) else "Yes"
        if values["ordering_npi"]:
            values["ordering_provider"] = self.provider_names.get(str(values["ordering_npi"]))
        # a draft stays open (a closed request is nobody's work), whatever the PA answer
        values["status"] = "Closed" if self.answer == "No" and not self.blockers \
            else "Documentation"
        no_pa = f"{today}: no PA required per the PA Rules" if self.answer == "No" else ""
        if self.blockers:
            values["notes"] = f"{DRAFT_MARK} saved {today}; blockers: " + " | ".join(
                self.blockers) + (f"; {no_pa}" if no_pa else "")
        elif no_pa:
            values["notes"] = no_pa
        request_id = self.session.add(values)
        kind = "warn" if self.blockers else "ok"
        set_message(self.feedback, f"Saved {request_id} to {self.session.path.name}"
                    + (" as a draft. Still to do: " + "; ".join(self.blockers)
                       if self.blockers else ". The form is clear for the next request."),
                    kind)
        self.clear()  # a second click must not save the same order twice
