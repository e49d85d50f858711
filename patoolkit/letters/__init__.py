"""Appeal and request letters filled from the tracker with Word templates (docxtpl).

A letter kind is a row of KINDS: its template file, its title, and the rule
that says whether a request fits it. The templates are .docx files a
consultant edits in Word; a client's own folder overrides the bundled one file
by file. Template fields come from the tracker in namespaces (practice,
payer, patient, provider, request, deadlines, letter, criteria); bare names are
what a person supplies (clinical_rationale, enclosures, ...), named in
fields.toml beside the templates. Rendering is sandboxed, strict (a missing
value is named, never left blank) and held to limits per letter; a batch never
puts one patient's text into another patient's letter.

One module per concern, each arrow pointing down the list:

    maker       LetterMaker: one letter or a planned batch, recorded in History
    output      file names, the letters folder, writes that replace nothing, PDF
    render      the hardened sandbox a template is filled in, and its limits
    context     one request's values in namespaces that know where each comes from
    templates   where templates are, the fields each needs, where in one a problem is
    kinds       KINDS, and whether a request fits a kind

This package exports what the command line, the dashboards and notebooks use.
The limits on one letter (MAX_RENDER_SECONDS, ...) are read, and so are
changed, in patoolkit.letters.render.
"""

from __future__ import annotations

from ..errors import (
    BrokenTemplateError,
    LetterError,
    LetterNotApplicableError,
    TemplateProblemError,
)
from .context import (
    LATE_FILING_FIELDS,
    DuplicateRequestIdError,
    Fields,
    MissingField,
    MissingFieldsError,
    RequestIndex,
    build_context,
    clean_supplied,
    parse_set,
)
from .kinds import (
    KINDS,
    Check,
    LetterKind,
    Row,
    applicable,
    check_appeal,
    check_external_review,
    check_info_response,
    check_medical_necessity,
    check_p2p,
    filing_late,
    letter_kind,
)
from .maker import (
    BatchPlan,
    BatchResult,
    LetterMaker,
    LettersNotRecordedError,
    Made,
    PatientFieldsNeededError,
    PatientFieldsSharedError,
    PlannedLetter,
    filter_requests,
)
from .output import (
    DEFAULT_LETTERS_FOLDER,
    LETTERS_SETTING,
    letters_folder,
    office_command,
    safe_stem,
    to_pdf,
    write_new,
)
from .render import letter_text, render_letter
from .templates import (
    BUNDLED_TEMPLATES,
    FIELDS_FILE,
    NAMESPACES,
    PATIENT,
    SENDER,
    TEMPLATES_SETTING,
    SuppliedField,
    TemplateFields,
    template_fields,
    template_folders,
    template_path,
)

__all__ = [
    "BUNDLED_TEMPLATES",
    "DEFAULT_LETTERS_FOLDER",
    "FIELDS_FILE",
    "KINDS",
    "LATE_FILING_FIELDS",
    "LETTERS_SETTING",
    "NAMESPACES",
    "PATIENT",
    "SENDER",
    "TEMPLATES_SETTING",
    "BatchPlan",
    "BatchResult",
    "BrokenTemplateError",
    "Check",
    "DuplicateRequestIdError",
    "Fields",
    "LetterError",
    "LetterKind",
    "LetterMaker",
    "LetterNotApplicableError",
    "LettersNotRecordedError",
    "Made",
    "MissingField",
    "MissingFieldsError",
    "PatientFieldsNeededError",
    "PatientFieldsSharedError",
    "PlannedLetter",
    "RequestIndex",
    "Row",
    "SuppliedField",
    "TemplateFields",
    "TemplateProblemError",
    "applicable",
    "build_context",
    "check_appeal",
    "check_external_review",
    "check_info_response",
    "check_medical_necessity",
    "check_p2p",
    "clean_supplied",
    "filing_late",
    "filter_requests",
    "letter_kind",
    "letter_text",
    "letters_folder",
    "office_command",
    "parse_set",
    "render_letter",
    "safe_stem",
    "template_fields",
    "template_folders",
    "template_path",
    "to_pdf",
    "write_new",
]
