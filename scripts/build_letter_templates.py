"""Write the bundled Word letter templates in templates/letters/ (developers only).

The .docx files are the source consultants edit in Word or LibreOffice; this
script only makes the first version of each, so the six letters share one
layout. Run it after changing a letter here, then look at the PDFs
(tests/test_letters.py converts every template with LibreOffice) and
regenerate the golden texts (python tests/regen_letter_goldens.py).

Fields: practice.*, payer.*, patient.*, provider.*, request.*, deadlines.*,
letter.* come from the tracker; bare names (clinical_rationale, enclosures,
...) are what a person supplies (`--set name=value` or the dashboard form).
Names used in a {%p for %} loop are lists: one item per line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt, RGBColor

FOLDER = Path(__file__).resolve().parents[1] / "patoolkit" / "data" / "templates" / "letters"
FONT = "Arial"


def _document(title: str) -> Document:
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10.5)
    normal.paragraph_format.space_after = Pt(4)
    for section in document.sections:
        section.left_margin = section.right_margin = Pt(64)
        section.top_margin = section.bottom_margin = Pt(50)
        section.header_distance = section.footer_distance = Pt(28)
        header = section.header
        first = header.paragraphs[0]
        run = first.add_run("{{ practice.name }}")
        run.bold = True
        run.font.size = Pt(14)
        run.font.color.rgb = RGBColor(0x1F, 0x3A, 0x5F)
        line = header.add_paragraph("{{ practice.address }}")
        line.runs[0].font.size = Pt(9)
        contact = header.add_paragraph(
            "Phone {{ practice.phone }}{% if practice.fax is defined %}  ·  Fax "
            "{{ practice.fax }}{% endif %}")
        contact.runs[0].font.size = Pt(9)
        footer = section.footer.paragraphs[0]
        footer.text = ("{{ letter.title }}  ·  request {{ request.request_id }}  ·  "
                       "member {{ patient.member_id }}  ·  confidential health information")
        footer.runs[0].font.size = Pt(8)
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.core_properties.title = title
    document.core_properties.author = "patoolkit"
    return document


def _para(document: Document, text: str = "", bold: bool = False) -> None:
    paragraph = document.add_paragraph()
    if text:
        run = paragraph.add_run(text)
        run.bold = bold


def _labelled(document: Document, label: str, value: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.add_run(f"{label}: ").bold = True
    paragraph.add_run(value)


def _heading(document: Document, text: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.space_before = Pt(8)
    run = paragraph.add_run(text)
    run.bold = True
    run.font.size = Pt(11)


def _loop(document: Document, name: str, item: str, prefix: str = "",
          tight: bool = False) -> None:
    """One paragraph per item of a list field ({%p for %} makes the paragraphs)."""
    document.add_paragraph(f"{{%p for {item} in {name} %}}")
    paragraph = document.add_paragraph(f"{prefix}{{{{ {item} }}}}")
    if tight:
        paragraph.paragraph_format.space_after = Pt(0)
    document.add_paragraph("{%p endfor %}")


def _addressee(document: Document, department: str) -> None:
    _para(document, "{{ letter.date }}")
    _para(document)
    lines = [f"{department}", "{{ payer.name }}"]
    for text in lines:
        paragraph = document.add_paragraph(text)
        paragraph.paragraph_format.space_after = Pt(0)
    _loop(document, "payer.appeals_address", "line", tight=True)
    document.add_paragraph("{%p if payer.fax is defined %}")
    document.add_paragraph("By fax to {{ payer.fax }}")
    document.add_paragraph("{%p endif %}")


def _regarding(document: Document, subject: str, decided: bool = True) -> None:
    _para(document)
    _para(document, subject, bold=True)
    _labelled(document, "Patient", "{{ patient.name }}, born {{ patient.dob }}")
    _labelled(document, "Member ID", "{{ patient.member_id }}")
    _labelled(document, "Plan", "{{ payer.name }} ({{ request.plan_type }})")
    _labelled(document, "Service", "{{ request.service_category }}; codes {{ request.codes }}")
    _labelled(document, "Diagnosis (ICD-10-CM)", "{{ request.icd10 }}")
    _labelled(document, "Ordering provider",
              "{{ provider.name }}, NPI {{ provider.npi }}")
    document.add_paragraph("{%p if request.scheduled_service_date is defined %}")
    _labelled(document, "Planned date of service", "{{ request.scheduled_service_date }}")
    document.add_paragraph("{%p endif %}")
    document.add_paragraph("{%p if request.payer_reference is defined %}")
    _labelled(document, "Your reference", "{{ request.payer_reference }}")
    document.add_paragraph("{%p endif %}")
    if decided:
        _labelled(document, "Determination",
                  "{{ request.decision }} on {{ request.decision_date }}")
    _labelled(document, "Our request ID", "{{ request.request_id }}")
    _para(document)


def _signature(document: Document) -> None:
    """The closing, kept on one page with the paragraph before it."""
    closing = document.add_paragraph("Sincerely,")
    closing.paragraph_format.space_before = Pt(10)
    closing.paragraph_format.space_after = Pt(28)  # room to sign
    closing.paragraph_format.keep_with_next = True
    for text in ("{{ provider.name }}", "Ordering provider, NPI {{ provider.npi }}",
                 "{{ practice.name }}  ·  {{ practice.phone }}"):
        paragraph = document.add_paragraph(text)
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.paragraph_format.keep_with_next = True


def p2p() -> Document:
    document = _document("Peer-to-peer review request")
    _addressee(document, "Medical Director, Utilization Management")
    _regarding(document, "Request for peer-to-peer review of a prior authorization denial")
    _para(document, "Dear Medical Director:")
    _para(document, "On {{ request.decision_date }}, {{ payer.name }} issued its determination "
                    "on our prior authorization request for the service above: "
                    "{{ request.decision|lower }}. The reason given was: "
                    "\u201c{{ request.denial_reason }}\u201d.")
    _para(document, "{{ provider.name }}, the ordering provider, requests a peer-to-peer "
                    "review with the physician reviewer before a written appeal is filed. "
                    "Your window for this review closes on {{ deadlines.p2p_window_closes }}; "
                    "we ask that it be scheduled before then.")
    _para(document, "The ordering provider is available: {{ availability }}. Please call "
                    "{{ practice.phone }} to schedule, quoting our request ID "
                    "{{ request.request_id }}.")
    _heading(document, "Points the ordering provider will discuss")
    _loop(document, "discussion_points", "point", "\u2022 ")
    _para(document, "If the review cannot be held before the window closes, please tell us "
                    "at once so that a written appeal can be filed"
                    "{% if deadlines.appeal_filing_deadline is defined %} within your appeal "
                    "period, which ends on {{ deadlines.appeal_filing_deadline }}{% endif %}.")
    _signature(document)
    return document


def _good_cause(document: Document) -> None:
    """Only in a late appeal: the request to accept it for good cause (42 CFR 422.582(c) for
    Medicare Advantage), with the reasons the person gives (good_cause) or, when none was
    given, a marked line to complete before sending."""
    document.add_paragraph("{%p if deadlines.filing_deadline_passed is defined %}")
    _heading(document, "Good cause for filing after the appeal period")
    _para(document, "The period to file this appeal ended on "
                    "{{ deadlines.filing_deadline_passed }}. We ask that you accept it for "
                    "good cause{% if deadlines.good_cause_rule is defined %}, as "
                    "{{ deadlines.good_cause_rule }} provides{% else %}, which the plan may "
                    "allow{% endif %}, for this reason:")
    _para(document, "{% if good_cause is defined %}{{ good_cause }}{% else %}[To complete "
                    "before sending: what kept this appeal from being filed in time, with "
                    "dates.]{% endif %}")
    document.add_paragraph("{%p endif %}")


def _appeal_body(document: Document) -> None:
    _heading(document, "The reason for the denial")
    _para(document, "Your notice of {{ request.decision_date }} gives this reason: "
                    "\u201c{{ request.denial_reason }}\u201d.")
    _heading(document, "Our answer to that reason")
    _loop(document, "denial_response", "point")
    _heading(document, "Clinical summary")
    _loop(document, "clinical_rationale", "paragraph")
    _heading(document, "New documentation enclosed")
    _loop(document, "enclosures", "item", "\u2022 ")


def appeal() -> Document:
    document = _document("First-level appeal")
    _addressee(document, "Appeals Department")
    _regarding(document, "First-level appeal of a prior authorization denial")
    _para(document, "Dear Appeals Reviewer:")
    _para(document, "On behalf of our patient, {{ practice.name }} appeals the determination "
                    "of {{ request.decision_date }} on prior authorization for the service "
                    "above.{% if deadlines.filing_deadline_passed is not defined and "
                    "deadlines.appeal_filing_deadline is defined %} This appeal is "
                    "filed within your appeal period, which ends on "
                    "{{ deadlines.appeal_filing_deadline }}.{% endif %}")
    _good_cause(document)
    _appeal_body(document)
    _para(document)
    _para(document, "The enclosed records answer the specific reason you gave. We ask that "
                    "you overturn the denial and authorize the service as requested. If the "
                    "denial is upheld, please send the specific clinical criteria relied on, "
                    "the name and credentials of the reviewer, and how to request the next "
                    "level of review.")
    _signature(document)
    return document


def expedited_appeal() -> Document:
    document = _document("Expedited appeal")
    _addressee(document, "Expedited Appeals, Appeals Department")
    _regarding(document, "EXPEDITED APPEAL: decision requested within 72 hours")
    _para(document, "Dear Appeals Reviewer:")
    _para(document, "{{ practice.name }} requests an expedited (urgent) appeal of the "
                    "determination of {{ request.decision_date }} on prior authorization for "
                    "the service above, and a decision within 72 hours of receipt of this "
                    "letter.")
    _heading(document, "Why the standard timeframe would seriously jeopardize the patient")
    _para(document, "As the ordering provider, I certify that applying the standard appeal "
                    "timeframe could seriously jeopardize the life or health of this patient "
                    "or the patient\u2019s ability to regain maximum function, for these "
                    "reasons:")
    _loop(document, "urgency_reason", "paragraph")
    _good_cause(document)
    _appeal_body(document)
    _para(document)
    _para(document, "Please telephone the decision to {{ practice.phone }} as soon as it is "
                    "made and confirm it in writing.")
    _signature(document)
    return document


def external_review() -> Document:
    document = _document("External review request")
    _para(document, "{{ letter.date }}")
    _para(document)
    _loop(document, "review_entity_address", "line", tight=True)
    _regarding(document, "Request for external review of an adverse benefit determination")
    _labelled(document, "Internal appeal decided", "{{ request.appeal_decision_date }}, "
                                                   "{{ request.appeal_outcome }}")
    _para(document)
    _para(document, "To the Independent Review Organization:")
    _para(document, "{{ practice.name }}, with the patient\u2019s authorization, requests "
                    "external review of {{ payer.name }}\u2019s decision upholding its denial "
                    "of prior authorization for the service above. The final internal appeal "
                    "decision is dated {{ request.appeal_decision_date }}; this request is made "
                    "within the four-month period for external review, which ends on "
                    "{{ deadlines.external_review_deadline }} (45 CFR 147.136(d)).")
    _heading(document, "The plan\u2019s reason for denial")
    _para(document, "\u201c{{ request.denial_reason }}\u201d")
    _heading(document, "Why the decision should be reversed")
    _loop(document, "basis_for_review", "paragraph")
    _heading(document, "Enclosed")
    _loop(document, "enclosures", "item", "\u2022 ")
    _para(document)
    _para(document, "A copy of this request is sent to {{ payer.name }}.")
    _signature(document)
    return document


def info_response() -> Document:
    document = _document("Response to a request for additional information")
    _addressee(document, "Utilization Management")
    _regarding(document, "Additional information for a pending prior authorization request",
               decided=False)
    _para(document, "Dear Reviewer:")
    _para(document, "On {{ request.info_requested_at }} you asked for more information on our "
                    "prior authorization request of {{ request.submitted_at }} for the service "
                    "above. The information is enclosed:")
    _loop(document, "enclosures", "item", "\u2022 ")
    document.add_paragraph("{%p if cover_note is defined %}")
    _para(document, "{{ cover_note }}")
    document.add_paragraph("{%p endif %}")
    document.add_paragraph("{%p if deadlines.decision_due is defined %}")
    _para(document, "Please resume your review. Under {{ deadlines.decision_basis }}, a decision "
                    "is due by {{ deadlines.decision_due }}.")
    document.add_paragraph("{%p else %}")
    _para(document, "Please resume your review and let us know the decision as soon as it is "
                    "made.")
    document.add_paragraph("{%p endif %}")
    _signature(document)
    return document


def medical_necessity() -> Document:
    document = _document("Letter of medical necessity")
    _addressee(document, "Utilization Management")
    _regarding(document, "Letter of medical necessity", decided=False)
    _para(document, "Dear Reviewer:")
    _para(document, "I am writing to request prior authorization of the service above for my "
                    "patient, and to set out why it is medically necessary.")
    _heading(document, "Diagnosis and clinical indication")
    _loop(document, "clinical_indication", "paragraph")
    _heading(document, "Conservative treatment tried and its outcome")
    _loop(document, "conservative_treatment", "paragraph")
    _heading(document, "Prior results")
    _loop(document, "prior_results", "paragraph")
    _heading(document, "How this request meets your criteria")
    table = document.add_table(rows=4, cols=2)
    table.style = "Table Grid"
    table.cell(0, 0).text = "Criterion"
    table.cell(0, 1).text = "Where the enclosed record shows it"
    for cell in table.rows[0].cells:
        cell.paragraphs[0].runs[0].bold = True
    table.cell(1, 0).text = "{%tr for criterion in criteria %}"
    table.cell(2, 0).text = "{{ criterion.item }}"
    table.cell(2, 1).text = "{{ criterion.evidence }}"
    table.cell(3, 0).text = "{%tr endfor %}"
    _para(document)
    _para(document, "The records named above are enclosed. Please contact me at "
                    "{{ practice.phone }} with any question about this request.")
    _signature(document)
    return document


LETTERS = {
    "p2p_request.docx": p2p,
    "appeal_first_level.docx": appeal,
    "appeal_expedited.docx": expedited_appeal,
    "external_review.docx": external_review,
    "info_response.docx": info_response,
    "medical_necessity.docx": medical_necessity,
}


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
DROPPED_PARTS = ("stylesWithEffects", "customXml", "thumbnail")


def _slim(document: Document) -> Document:
    """Keep only the styles the letter uses; drop the parts Word rebuilds by itself.

    python-docx's default template carries 790 KB of XML (every table style, every
    latent style, a second copy of them with effects, a thumbnail). Parsing and
    writing that was most of the cost of each letter made; Word and LibreOffice
    open the slim file the same way.
    """
    parts = [document.element, *(s.header._element for s in document.sections),
             *(s.footer._element for s in document.sections)]
    used = {element.get(f"{W}val") for part in parts
            for tag in ("pStyle", "rStyle", "tblStyle") for element in part.iter(f"{W}{tag}")}
    styles = document.styles.element
    by_id = {style.get(f"{W}styleId"): style for style in styles.iter(f"{W}style")}
    used |= {style_id for style_id, style in by_id.items() if style.get(f"{W}default") == "1"}
    used |= {"Header", "Footer", "HeaderChar", "FooterChar", "TableGrid"}
    pending = list(used)
    while pending:  # the styles these are based on, linked to or followed by
        style = by_id.get(pending.pop())
        if style is None:
            continue
        for tag in ("basedOn", "link", "next"):
            for reference in style.iter(f"{W}{tag}"):
                value = reference.get(f"{W}val")
                if value not in used:
                    used.add(value)
                    pending.append(value)
    for style_id, style in by_id.items():
        if style_id not in used:
            styles.remove(style)
    for latent in styles.findall(f"{W}latentStyles"):
        styles.remove(latent)
    for owner in (document.part, document.part.package):
        for key, relationship in list(owner.rels.items()):
            if any(name in str(relationship.target_ref) for name in DROPPED_PARTS):
                del owner.rels[key]
    return document


def main() -> int:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name, build in LETTERS.items():
        _slim(build()).save(FOLDER / name)
        print(f"wrote {FOLDER / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
