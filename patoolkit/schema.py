"""The tracker workbook's shape, as data (CONTRACT section 1).

Every sheet, every column, its kind and a plain-words description live here,
so the loader, the validator, the blank-tracker writer and the Instructions
sheet all read one table. A new column is a new row here, not a new code path.
"""

from __future__ import annotations

import re
from collections.abc import Sized
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import pandas as pd

if TYPE_CHECKING:
    from pandas._typing import Scalar

from .timeframes import PRACTICE_TARGETS, TARGETS

# Enumerations: the contract's values. The Lists sheet of a workbook may add
# more (a consultant extends a dropdown there), never remove these.
LISTS: dict[str, tuple[str, ...]] = {
    "plan_type": (
        "Medicare Advantage",
        "Medicare Part D",
        "Medicaid FFS",
        "Medicaid Managed Care",
        "CHIP",
        "Marketplace QHP",
        "Commercial",
        "Medicare FFS",
        "Other",
    ),
    "status": (
        "Not Started",
        "Requirement Check",
        "Documentation",
        "Submitted",
        "Info Requested",
        "Approved",
        "Partially Approved",
        "Denied",
        "P2P Requested",
        "Appeal Submitted",
        "External Review",
        "Overturned",
        "Upheld",
        "Withdrawn",
        "Expired",
        "Closed",
    ),
    "urgency": ("Standard", "Expedited"),
    "pa_required": ("Yes", "No", "Unknown"),
    "rule_pa_required": ("Yes", "No", "Conditional"),
    "yes_no": ("Yes", "No"),
    "channel": ("Portal", "FHIR API", "Clearinghouse", "Fax", "Phone"),
    "decision": ("Approved", "Partially Approved", "Denied"),
    "outcome": ("Pending", "Overturned", "Partially Overturned", "Upheld", "Withdrawn"),
    "appeal_level": ("Level 1", "Level 2", "External Review"),
    "enrollment_status": ("Enrolled", "Pending", "Not Enrolled"),
    "service_category": (
        "Advanced Imaging",
        "Surgery/Procedure",
        "Specialty Medication",
        "Inpatient Admission",
        "Physical/Occupational/Speech Therapy",
        "Durable Medical Equipment",
        "Home Health",
        "Mental Health Inpatient",
        "Outpatient Infusion",
        "Genetic Testing",
    ),
    # Service categories whose requests are drug requests (CONTRACT section 2: their own
    # timeframes); a consultant adds one under the Lists sheet's "Drug Category" heading.
    "drug_category": ("Specialty Medication",),
    "day_count": ("Calendar", "Business"),
}

# Statuses of a request nobody works on any more (deadlines, worklist, completeness).
CLOSED_STATUSES = ("Withdrawn", "Expired", "Closed")

# Headings of the Lists sheet, one column per list.
LIST_TITLES: dict[str, str] = {
    "plan_type": "Plan Type",
    "status": "Status",
    "urgency": "Urgency",
    "pa_required": "PA Required",
    "rule_pa_required": "Rule PA Required",
    "yes_no": "Yes No",
    "channel": "Channel",
    "decision": "Decision",
    "outcome": "Outcome",
    "appeal_level": "Appeal Level",
    "enrollment_status": "Enrollment Status",
    "service_category": "Service Category",
    "drug_category": "Drug Category",
    "day_count": "Day Count",
}

# Spellings an analyst types for Yes and No.
YES_WORDS = frozenset({"yes", "y", "true", "t", "x", "1", "✓", "✔"})
NO_WORDS = frozenset({"no", "n", "false", "f", "0"})


def is_blank(value: object) -> bool:
    """Whether a value gives nothing: None, NaN, NaT, pd.NA, a string of only spaces, or an
    empty list, tuple, mapping or array (a multi-select left empty). Zero, False and a
    list holding something are values; so is any other object."""
    if isinstance(value, str):
        return not value.strip()
    if pd.api.types.is_scalar(value):
        return is_missing(value)
    return isinstance(value, Sized) and len(value) == 0


def text_or_none(value: object) -> str | None:
    """A value as text, None when it is blank (is_blank)."""
    return None if is_blank(value) else str(value)


def is_missing(value: object) -> bool:
    """Whether a cell holds nothing at all: None, NaN, NaT or pd.NA. Text is never missing,
    not even "" (is_blank says whether a value gives nothing), nor is a list or an array."""
    if value is None:
        return True
    if isinstance(value, str | bytes) or not pd.api.types.is_scalar(value):
        return False
    # pd.isna takes any object; pandas-stubs types it for pandas' own scalar types only
    return bool(pd.isna(cast("Scalar", value)))


def normalize_header(text: object) -> str:
    """'Request ID', 'request_id' and 'REQUEST-ID' are one column: 'requestid'."""
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


@dataclass(frozen=True)
class Column:
    """One column of a sheet.

    kind is one of: text, date, datetime, int, number, enum, yesno, npi,
    codes (CPT/HCPCS, comma separated), icd10 (comma separated), code_rule
    (one code or a range, or *), enum_or_star.
    """

    name: str
    kind: str = "text"
    description: str = ""
    enum: str | None = None
    required: bool = False  # the column must exist in the sheet
    aliases: tuple[str, ...] = ()
    width: int = 0
    maximum: int | None = None  # int columns: a larger number is an error (a typo, not a rule)

    @property
    def title(self) -> str:
        """The heading a new tracker writes: 'request_id' -> 'Request ID'."""
        special = {"id": "ID", "npi": "NPI", "icd10": "ICD10", "p2p": "P2P", "pa": "PA", "dob": "DOB"}
        return " ".join(special.get(word, word.capitalize()) for word in self.name.split("_"))


@dataclass(frozen=True)
class Sheet:
    name: str
    description: str
    columns: tuple[Column, ...]
    aliases: tuple[str, ...] = ()
    key: str | None = None  # column whose values must be unique
    data: bool = True  # False for Instructions and Lists

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


C = Column

REQUESTS = Sheet(
    "Requests",
    "One row per prior authorization request, from the requirement check to the final outcome.",
    (
        C("request_id", "text", "Unique ID of the request, e.g. PA-2026-00042. Never reuse one.",
          required=True, width=16),
        C("patient_id", "text", "The practice's patient or account number.", width=12),
        C("patient_name", "text", "Patient name as on the insurance card (Last, First).", width=22),
        C("patient_dob", "date", "Patient date of birth.", width=12),
        C("member_id", "text", "Member ID from the insurance card.", width=14),
        C("payer", "text", "Payer name exactly as on the Payers sheet.", width=22),
        C("plan_type", "enum", "Kind of plan; it decides the payer's legal decision timeframe.",
          enum="plan_type", width=20),
        C("ordering_npi", "npi", "10-digit NPI of the ordering provider.", width=12),
        C("ordering_provider", "text", "Ordering provider's name.", width=20),
        C("service_category", "enum", "What kind of service (decides the documents needed).",
          enum="service_category", width=24),
        C("codes", "codes", "CPT or HCPCS codes, comma separated (70551, J0135).", width=14),
        C("icd10", "icd10", "ICD-10-CM diagnosis codes, comma separated (M54.16).", width=14),
        C("urgency", "enum", "Standard, or Expedited when waiting could seriously harm the patient.",
          enum="urgency", width=11),
        C("scheduled_service_date", "date", "Date the service is scheduled.", width=12),
        C("requirement_checked_date", "date",
          "Date someone checked whether PA is needed (record it even when the answer is No).",
          width=12),
        C("pa_required", "enum", "Answer of the requirement check: Yes, No or Unknown.",
          enum="pa_required", width=10),
        C("docs_complete", "yesno", "Yes when every document the payer's criteria ask for is in hand.",
          width=10),
        C("submitted_at", "datetime",
          "Date (and time, if known) the request reached the payer; starts the payer's clock.",
          width=16),
        C("channel", "enum", "How it was sent: Portal, FHIR API, Clearinghouse, Fax or Phone.",
          enum="channel", width=12),
        C("payer_reference", "text", "The payer's reference or tracking number for the request.",
          width=14),
        C("status", "enum", "Where the request stands now.", enum="status", width=16),
        C("info_requested_at", "datetime", "When the payer asked for more information.", width=16),
        C("info_responded_at", "datetime", "When the practice sent the information.", width=16),
        C("extension_days", "int", "Days the payer extended its decision deadline, if any.",
          width=9, maximum=365),
        C("decision_date", "datetime", "Date of the payer's decision.", width=12),
        C("decision", "enum", "Approved, Partially Approved or Denied.", enum="decision", width=16),
        C("denial_reason", "text", "The payer's specific denial reason, as the payer wrote it.",
          width=28),
        C("auth_number", "text", "Authorization number; it goes on every claim (box 23).",
          width=14),
        C("auth_effective_date", "date", "First day the authorization covers.", width=12),
        C("auth_expiration_date", "date", "Last day the authorization covers.", width=12),
        C("units_authorized", "int", "Units or visits the payer authorized.", width=9),
        C("units_used", "int", "Units or visits used so far.", width=9),
        C("p2p_requested_date", "date", "Date peer-to-peer review was requested.", width=12),
        C("p2p_date", "date", "Date the peer-to-peer conversation took place.", width=12),
        C("p2p_outcome", "enum", "Result of peer-to-peer review.", enum="outcome", width=14),
        C("appeal_level", "enum", "Level 1, Level 2 or External Review.", enum="appeal_level",
          width=12),
        C("appeal_submitted_date", "date", "Date the written appeal was filed.", width=12),
        C("appeal_decision_date", "date", "Date the payer decided the appeal.", width=12),
        C("appeal_outcome", "enum", "Result of the appeal.", enum="outcome", width=14),
        C("last_status_check", "datetime", "When someone last checked the status with the payer.",
          width=16),
        C("owner", "text", "Staff member responsible for the next step.", width=12),
        C("notes", "text", "Free notes. Avoid clinical detail that is not needed.", width=30),
    ),
    aliases=("request", "pa requests", "tracker", "authorizations"),
    key="request_id",
)

PAYERS = Sheet(
    "Payers",
    "One row per payer plan. Blank override columns use the legal defaults.",
    (
        C("payer", "text", "Payer name, as used on the Requests sheet.", required=True, width=24),
        C("plan_type", "enum", "Kind of plan.", enum="plan_type", width=20),
        C("standard_decision_days", "int",
          "Override (State law or contract): days the payer has for a standard decision; used "
          "only when shorter than federal law.", width=10, maximum=365),
        C("decision_days_are", "enum",
          "Whether standard_decision_days are Calendar (blank) or Business days.",
          enum="day_count", width=10),
        C("expedited_decision_hours", "int",
          "Override: hours the payer has for an expedited decision; used only when shorter "
          "than federal law.", width=10, maximum=2160),
        C("override_from", "date",
          "First submission date the decision overrides apply to (blank: always).", width=12),
        C("override_to", "date",
          "Last submission date the decision overrides apply to (blank: no end).", width=12),
        C("rating_period_start", "text",
          "Medicaid managed care and CHIP: month and day the plan's rating period starts "
          "(e.g. 07-01; blank: January 1).", width=10),
        C("p2p_window_days", "int", "Days after a denial that peer-to-peer can be requested "
          f"({TARGETS['p2p_window'].default} if blank).",
          width=10, maximum=365),
        C("appeal_filing_days", "int", "Days after a denial to file an appeal (law's default if blank).",
          width=10, maximum=1825),
        C("external_review_days", "int", "Days after an upheld appeal to ask for external review.",
          width=10, maximum=1825),
        C("portal", "text", "Web portal used for requests.", width=22),
        C("phone", "text", "Provider services phone.", width=14),
        C("fax", "text", "Fax number for requests.", width=14),
        C("appeals_address", "text", "Postal address for written appeals.", width=34),
    ),
)

PA_RULES = Sheet(
    "PA Rules",
    "One row per requirement rule. The most specific matching row wins.",
    (
        C("payer", "text", "Payer name, or * for every payer.", required=True, width=22),
        C("plan_type", "enum_or_star", "Plan type, or * for every plan type.", enum="plan_type",
          width=20),
        C("code", "code_rule", "One CPT/HCPCS code or a range such as 70551-70553.",
          required=True, aliases=("code or code range", "code range", "codes", "cpt"), width=14),
        C("service_category", "enum", "Service category the codes belong to.",
          enum="service_category", width=24),
        C("pa_required", "enum", "Yes, No, or Conditional (see condition).",
          enum="rule_pa_required", required=True, width=11),
        C("condition", "text", "When Conditional: the condition in words.", width=30),
        C("visit_threshold", "int", "When PA starts after a number of visits (therapy).", width=9),
        C("benefit_manager", "text", "Company that reviews for the payer (e.g. a radiology benefit manager).",
          width=18),
        C("effective_from", "date", "First service date the rule applies to (blank: always).",
          width=12),
        C("effective_to", "date", "Last service date the rule applies to (blank: no end).",
          width=12),
    ),
    aliases=("rules", "parules", "pa rule"),
)

CRITERIA = Sheet(
    "Criteria",
    "One row per documentation item a payer's criteria ask for.",
    (
        C("service_category", "enum", "Service category.", enum="service_category",
          required=True, width=24),
        C("payer", "text", "Payer name, or * for every payer. Payer rows replace the * rows.",
          width=22),
        C("item", "text", "The document or fact needed.", required=True, width=40),
        C("required", "yesno", "Yes when the request must not go in without it.", width=10),
    ),
)

PROVIDERS = Sheet(
    "Providers",
    "One row per provider and payer enrollment.",
    (
        C("npi", "npi", "10-digit NPI.", required=True, width=12),
        C("provider_name", "text", "Provider's name.", width=22),
        C("payer", "text", "Payer the enrollment is with.", required=True, width=22),
        C("enrollment_status", "enum", "Enrolled, Pending or Not Enrolled.",
          enum="enrollment_status", required=True, width=14),
        C("effective_date", "date", "Date the enrollment takes effect.", width=12),
    ),
)

SETTINGS = Sheet(
    "Settings",
    "One row per setting: a key and its value.",
    (
        C("key", "text", "Setting name.", required=True, aliases=("setting", "name"), width=28),
        C("value", "text", "Its value.", required=True, width=40),
    ),
)

CLOSURES = Sheet(
    "Closures",
    "Dates the practice is closed; they are not business days.",
    (
        C("date", "date", "The closed date.", required=True, width=12),
        C("reason", "text", "Why (e.g. staff training day).", width=30),
    ),
)

HISTORY = Sheet(
    "History",
    "Every change the toolkit made, appended; do not edit.",
    (
        C("at", "datetime", "When the change was made.", width=18),
        C("request_id", "text", "Request changed.", width=16),
        C("field", "text", "Column changed.", width=20),
        C("old_value", "text", "Value before.", width=20),
        C("new_value", "text", "Value after.", width=20),
        C("by", "text", "Who made it.", width=14),
    ),
)

SHEETS: tuple[Sheet, ...] = (
    REQUESTS, PAYERS, PA_RULES, CRITERIA, PROVIDERS, SETTINGS, CLOSURES, HISTORY,
)
SHEETS_BY_NAME: dict[str, Sheet] = {sheet.name: sheet for sheet in SHEETS}

# A claims export (not a tracker sheet): what `patoolkit audit-claims` reads, headers
# matched the same forgiving way, with the spellings billing systems use.
CLAIMS = Sheet(
    "Claims",
    "One row per claim line from the billing system's export.",
    (
        C("claim_id", "text", "Claim number (or claim and line).", required=True,
          aliases=("claim", "claim number", "claim no", "claim #", "icn", "encounter",
                   "encounter id", "visit id")),
        C("patient_id", "text", "The practice's patient or account number.", required=True,
          aliases=("patient", "account", "account number", "acct", "mrn", "pat id",
                   "patient number")),
        C("payer", "text", "Payer name.", required=True,
          aliases=("insurance", "insurer", "plan", "payer name", "ins name", "carrier",
                   "primary insurance")),
        C("date_of_service", "date", "Date of service.", required=True,
          aliases=("dos", "service date", "date of svc", "from date", "dos from",
                   "svc date")),
        C("codes", "text", "CPT or HCPCS code(s) of the line.", required=True,
          aliases=("code", "cpt", "hcpcs", "cpt code", "procedure", "procedure code",
                   "cpt hcpcs", "proc code", "service code")),
        C("units", "int", "Units or visits billed.", required=True,
          aliases=("unit", "qty", "quantity", "visits", "days units", "un")),
        C("auth_number", "text", "Prior authorization number on the claim (box 23, REF*G1).",
          required=True,
          aliases=("auth", "authorization", "authorization number", "prior auth",
                   "prior authorization", "prior auth number", "auth no", "auth #",
                   "box 23", "ref g1", "pa number", "auth cd")),
    ),
)

INSTRUCTIONS_SHEET = "Instructions"
LISTS_SHEET = "Lists"


@dataclass(frozen=True)
class Setting:
    key: str
    default: object
    kind: str  # text, int
    description: str
    maximum: int | None = None  # int settings: a larger number is refused (default used)


SETTINGS_DEFAULTS: tuple[Setting, ...] = (
    Setting("practice_name", "", "text", "Practice name for letters and reports."),
    Setting("practice_address", "", "text", "Practice postal address."),
    Setting("practice_phone", "", "text", "Practice phone."),
    Setting("practice_fax", "", "text", "Practice fax."),
    Setting("timezone", "America/New_York", "text", "Time zone of the practice (IANA name)."),
    Setting("state", "", "text", "US state (two letters), for state holidays and rules."),
    # the practice's targets: keys, defaults and limits from timeframes.PRACTICE_TARGETS
    *(Setting(target.setting, target.default, "int", target.description, maximum=target.maximum)
      for target in PRACTICE_TARGETS if target.setting is not None),
    Setting("backups_keep", 20, "int", "How many backup copies of the tracker to keep.", maximum=1000),
    Setting("letter_templates_folder", "", "text",
            "Folder of this client's own letter templates (.docx), relative to the tracker; "
            "a file there replaces the bundled template of the same name."),
    Setting("letters_folder", "", "text",
            "Folder for generated letters, relative to the tracker (letters_out). Keep it out "
            "of shared drives and git: letters hold patient data."),
)


def sheet_for(name: str) -> Sheet | None:
    """The contract sheet a workbook sheet name stands for, forgiving case and spacing."""
    wanted = normalize_header(name)
    for sheet in SHEETS:
        if wanted == normalize_header(sheet.name) or wanted in {
            normalize_header(alias) for alias in sheet.aliases
        }:
            return sheet
    return None


COPY_SUFFIX = re.compile(r"^(.*?)[\s_-]*(?:\(\d{1,2}\)|\d{1,2}|\(?copy\)?(?:\s*\d{1,2})?|old|backup)$",
                         re.IGNORECASE)


def copy_of(name: str) -> Sheet | None:
    """The contract sheet a sheet name looks like a copy of: 'Requests (2)' (what Excel
    names a copied sheet), 'Requests copy', 'Payers 2', 'Requests old'."""
    match = COPY_SUFFIX.match(name.strip())
    if match is None or not match.group(1).strip():
        return None
    return sheet_for(match.group(1))


@dataclass
class HeaderMap:
    """How one sheet's header row maps to contract columns."""

    header_row: int  # Excel row number of the header
    positions: dict[str, int] = field(default_factory=dict)  # canonical -> 0-based column
    labels: dict[str, str] = field(default_factory=dict)  # canonical -> header as typed
    extras: dict[int, str] = field(default_factory=dict)  # 0-based column -> header as typed
    repeated: dict[int, str] = field(default_factory=dict)  # 0-based column -> canonical name


def match_headers(sheet: Sheet, header: list[object], header_row: int) -> HeaderMap:
    lookup: dict[str, str] = {}
    for column in sheet.columns:
        lookup[normalize_header(column.name)] = column.name
        for alias in column.aliases:
            lookup.setdefault(normalize_header(alias), column.name)
    mapping = HeaderMap(header_row=header_row)
    for position, cell in enumerate(header):
        text = "" if cell is None else str(cell).strip()
        if not text:
            continue
        canonical = lookup.get(normalize_header(text))
        if canonical is not None and canonical not in mapping.positions:
            mapping.positions[canonical] = position
            mapping.labels[canonical] = text
        else:
            mapping.extras[position] = text
            if canonical is not None:  # a contract heading typed twice: said by check
                mapping.repeated[position] = canonical
    return mapping


def column_letter(position: int) -> str:
    """0-based column position to Excel letters: 0 -> A, 27 -> AB."""
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
