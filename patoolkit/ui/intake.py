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
patoolkit.intake's (check_new_request, the same check as `patoolkit
check-request`); this form only asks and shows.
"""

from __future__ import annotations

import datetime as dt
import html

import ipywidgets as widgets

from ..intake import NEW_REQUEST_FIELDS, NewRequestCheck, check_new_request, plan_types_for
from ..schema import LISTS
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

FIELDS = list(NEW_REQUEST_FIELDS)


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
        self.check: NewRequestCheck | None = None  # the last check of the form's values
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

    @property
    def blockers(self) -> list[str]:
        """What makes the request a draft, as the last check found."""
        return list(self.check.blockers) if self.check else []

    @property
    def answer(self) -> str:
        """Whether PA is required (Yes, No, Conditional, Unknown), as the last check found."""
        return self.check.requirement.answer if self.check else "Unknown"

    def _check(self, values: dict[str, object]) -> NewRequestCheck:
        ticked = [item for item, box in self.boxes.items() if box.value]
        return check_new_request(self.session.tracker, values, self._today(), documents=ticked)

    def update_checks(self) -> None:
        @safely(self.checks)
        def run() -> None:
            self.check = self._check(self.values())
            self._rebuild_checklist(self.check)
            self._hide_question()  # the form changed: a question shown is about other values
            self.checks.value = "".join(
                f'<div class="pa-message pa-{line.level}">{html.escape(line.text)}</div>'
                for line in self.check.lines)
        run()

    def _rebuild_checklist(self, check: NewRequestCheck) -> None:
        """The Criteria checklist as boxes to tick; ticks are kept for the items that stay."""
        items = [entry.item for entry in check.checklist]
        if items == list(self.boxes):
            return
        previous = {item: box.value for item, box in self.boxes.items()}
        self.boxes = {}
        for entry in check.checklist:
            box = widgets.Checkbox(value=previous.get(entry.item, False),
                                   description=entry.item + ("" if entry.required
                                                             else " (optional)"),
                                   tooltip=("required" if entry.required else "optional")
                                   + f"; {entry.source}", indent=False,
                                   layout=widgets.Layout(width="520px"))
            box.add_class("pa-doc")
            observe(box, lambda _: self.update_checks(), self.checks)
            self.boxes[entry.item] = box
        self.checklist.children = list(self.boxes.values()) or [
            widgets.HTML("<i>Choose the service category (and payer) to see the list.</i>")]

    def save(self) -> None:
        """Save, or first ask about what the user may not have meant (check.questions)."""
        @safely(lambda: self.feedback)
        def run() -> None:
            values = self.values()
            check = self._check(values)
            if check.cannot_save:
                set_message(self.feedback, check.cannot_save, "error")
                return
            if not check.questions:
                self._write(values, check)
                return
            self.asked = values
            self.question.value = "".join(
                f'<div class="pa-message pa-warn">{html.escape(text)}</div>'
                for text in check.questions)
            self.confirm_button.description = "Save as draft" if check.draft_only \
                else "Confirm"
            self.question_box.layout.display = ""
            set_message(self.feedback, "")
        run()

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

    def _write(self, values: dict[str, object], check: NewRequestCheck | None = None) -> None:
        check = check or self._check(values)
        request_id = self.session.add(check.to_save(values))
        blockers = check.blockers
        set_message(self.feedback, f"Saved {request_id} to {self.session.path.name}"
                    + (" as a draft. Still to do: " + "; ".join(blockers)
                       if blockers else ". The form is clear for the next request."),
                    "warn" if blockers else "ok")
        self.clear()  # a second click must not save the same order twice
