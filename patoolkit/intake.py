"""Rules for a new request: its payer's plan type, requests like it, and drafts.

The "New request" dashboard asks these before it saves, and the writer's
add_request enforces the draft rule, so the CLI, a notebook and the dashboard
agree. Pure functions over the tracker's frames.

- Matching: payers are compared with case, spaces and punctuation ignored, so
  "Summit Health Plan" and "SUMMIT health-plan" are one payer.
- Same patient (patient_key, same_patient; the import finds requests already
  in the tracker by the same rule): two requests that both have a patient ID
  are for the same patient when the IDs are the same, whatever the names; when
  either has no ID, when the names are the same. An ID is compared without
  case, spaces or punctuation, and an ID of digits without its leading zeros
  (Excel drops them from an ID typed as a number: "00123" is 123). A name is
  compared as its words in any order, without case or accents ("Dummy,
  Sawyer", "SAWYER DUMMY" and "Sawyer Dummy" are one name); an apostrophe or
  a hyphen does not split a word ("O'Brien" is "OBrien"). A request with
  neither an ID nor a name is no patient, the same as nobody.
- Plan type: each Payers row is one plan of a payer; a payer with a single
  plan type gives it to a new request (plan_types_for). A payer with no row is
  unknown (known_payer): the form asks before it saves one.
- Similar request: same patient, same payer, the same set of codes (order, spaces
  and case aside; two requests without codes have the same, empty, set) and
  service dates at most SIMILAR_DAYS (30) apart. A request without a service
  date, on either side, is similar whatever the other date: nothing rules out
  a duplicate, and asking costs the user one click.
- Drafts: a request is saved without a plan type only as a draft. A draft is
  a request whose notes begin with the word "Draft", in any case ("Draft: no
  plan type yet", "DRAFT saved 2026-12-01"); the form writes DRAFT_MARK
  ("Draft:") and what is left to do. Forms before this rule wrote "Draft saved
  <date>; blockers: ...", which is a draft by the same test. The worklist
  lists drafts as "complete the request".

- The whole check (check_new_request): everything the New request page shows
  and decides, from plain values (Requests column names to values, text or
  typed), so the page, `patoolkit check-request` and a notebook agree. The
  request is checked as it will be saved: its payer in the Payers sheet's
  spelling, submitted today. It says whether PA is required (the PA Rules row
  that decides), what is wrong with the NPI and the codes, the payer's Criteria
  checklist (which items are on hand is the caller's to say), the ordering
  provider's enrollment today, when the payer's decision would be due if it were
  submitted today (counted with Tracker.calendar, so the Closures sheet counts)
  and whether that falls on or after the service date, what the Payers sheet
  says of the payer and its plan types, and requests like it already on the
  tracker. Each finding is a line with a level (ok, warn, error) in plain
  words; the blockers are what makes it a draft; the questions are what to ask
  before saving it. A request without a patient ID or a payer cannot be saved.

Limitations: a similar request is not always a duplicate (a second course of
the same therapy is a real new request), so it is a question, never a
refusal. Patients are matched by what the tracker holds (IDs, names), not by
date of birth or member ID; "Mary-Ann" and "Mary Ann", or a middle initial
typed on one request only, are two names. A note that happens to begin with
the word "Draft" ("Draft letter sent") marks its request as a draft.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from .codes import split_codes
from .errors import InvalidValueError
from .rules import (
    Requirement,
    code_findings,
    documentation_checklist,
    enrollment_for,
    requirements_for,
)
from .schema import LISTS, REQUESTS, is_blank, text_or_none

if TYPE_CHECKING:
    from .tracker.read import Tracker

DRAFT_MARK = "Draft:"
DRAFT_START = r"^\s*draft\b"  # the notes' first word is Draft, in any case
SIMILAR_DAYS = 30


def match_key(values: pd.Series) -> pd.Series:
    """Names as compared: case, spaces and punctuation dropped; NA when nothing is left."""
    keys = values.astype("string").str.casefold().str.replace(r"[\W_]+", "", regex=True)
    return keys.mask(keys == "")


NAME_SEPARATORS = re.compile(r"[\s,;/]+")
NOT_A_LETTER = re.compile(r"[\W_]+")


def _name_words(name: str) -> str:
    """'Núñez,  JOSE' -> 'jose nunez': the words, accents and case aside, sorted."""
    if not name.isascii():  # ASCII has no accents to take apart (an import's many names)
        name = "".join(char for char in unicodedata.normalize("NFKD", name)
                       if not unicodedata.combining(char))
    words = (NOT_A_LETTER.sub("", word) for word in NAME_SEPARATORS.split(name.casefold()))
    return " ".join(sorted(word for word in words if word))


def patient_key(ids: pd.Series, names: pd.Series) -> pd.DataFrame:
    """Per request, its patient as compared (see the module docstring): 'id', the patient
    ID (lower case, letters and digits, a number without its leading zeros) and 'name',
    the name's words sorted; NA where blank. Compare two with same_patient."""
    id_keys = match_key(ids).str.replace(r"^0+(?=\d)(?=\d+$)", "", regex=True)
    name_keys = names.astype("string").map(_name_words, na_action="ignore")
    return pd.DataFrame({"id": id_keys, "name": name_keys.mask(name_keys == "")},
                        index=ids.index, dtype="string")


def same_patient(keys: pd.DataFrame, patient: pd.Series) -> pd.Series:
    """Per row of keys (patient_key's), whether it is patient (one row of patient_key):
    the IDs decide where both have one, else the names; no ID and no name is nobody."""
    by_id = (keys["id"] == patient["id"]).fillna(False).astype(bool)
    by_name = (keys["name"] == patient["name"]).fillna(False).astype(bool)
    if pd.notna(patient["id"]):
        by_name &= keys["id"].isna()
    return by_id | by_name


def _timestamp(value: object) -> pd.Timestamp:
    """A date or date-time value (a date, a Timestamp, ISO text) as a Timestamp."""
    return pd.Timestamp(value)  # type: ignore[arg-type]  # the callers passed a date


def _key_of(value: object) -> str | None:
    key = match_key(pd.Series([value], dtype=object)).iloc[0]
    return None if pd.isna(key) else str(key)


def _payer_rows(payers: pd.DataFrame, payer: object) -> pd.DataFrame:
    key = _key_of(payer)
    if key is None:
        return payers.iloc[0:0]
    return payers[(match_key(payers["payer"]) == key).fillna(False).astype(bool)]


def plan_types_for(payers: pd.DataFrame, payer: object) -> list[str]:
    """The plan types the Payers sheet lists for a payer, in sheet order, each once."""
    plans = _payer_rows(payers, payer)["plan_type"].dropna().astype(str)
    return list(dict.fromkeys(plans))


def payer_on_sheet(payers: pd.DataFrame, payer: object) -> str | None:
    """The payer as the Payers sheet spells it (its first row), or None for an unknown payer.

    Other modules match payers by case only; saving this spelling keeps a
    request typed "summit  health plan" under its payer's rules and timeframes.
    """
    rows = _payer_rows(payers, payer)
    return None if rows.empty else str(rows["payer"].iloc[0])


def known_payer(payers: pd.DataFrame, payer: object) -> bool:
    """Whether the Payers sheet has a row for the payer."""
    return payer_on_sheet(payers, payer) is not None


def _code_sets(codes: pd.Series) -> pd.Series:
    """Per row, its distinct codes sorted and joined ('70551,J0135'); '' for none."""
    lines = split_codes(codes)
    table = pd.DataFrame({"row": lines.index, "code": lines.to_numpy()}).drop_duplicates()
    joined = table.sort_values(["row", "code"]).groupby("row")["code"].agg(",".join)
    return joined.reindex(codes.index, fill_value="")


def similar_requests(requests: pd.DataFrame, values: Mapping[str, object],
                     days: int = SIMILAR_DAYS) -> pd.DataFrame:
    """The Requests rows like a new request (values: its patient_id, patient_name, payer,
    codes, scheduled_service_date); none when it names no patient or no payer.

    The rows keep their index (Excel row) and every column; show their request
    IDs, not their names.
    """
    patient = patient_key(pd.Series([values.get("patient_id")], dtype=object),
                          pd.Series([values.get("patient_name")], dtype=object)).iloc[0]
    payer = _key_of(values.get("payer"))
    if payer is None or patient.isna().all():
        return requests.iloc[0:0]
    # the patient test first: the other tests then run over a few rows, not the whole sheet
    found = requests[same_patient(patient_key(requests["patient_id"],
                                              requests["patient_name"]), patient)]
    found = found[(match_key(found["payer"]) == payer).fillna(False).astype(bool)]
    service = values.get("scheduled_service_date")
    if not is_blank(service):
        dates = found["scheduled_service_date"].dt.normalize()
        apart = (dates - _timestamp(service).normalize()).abs()
        found = found[dates.isna() | (apart <= pd.Timedelta(days=days))]
    wanted = _code_sets(pd.Series([values.get("codes")], dtype=object)).iloc[0]
    return found[_code_sets(found["codes"]) == wanted]


def draft_mask(notes: pd.Series) -> pd.Series:
    """Per request, whether its notes mark it as a draft (their first word is Draft)."""
    marked = notes.astype("string").str.contains(DRAFT_START, case=False, regex=True)
    return marked.fillna(False).astype(bool)


def is_draft(notes: object) -> bool:
    """Whether one request's notes mark it as a draft (their first word is Draft)."""
    return bool(draft_mask(pd.Series([notes], dtype=object)).iloc[0])


def plan_type_problem(values: Mapping[str, object]) -> str | None:
    """Why a new request may not be saved as it is, or None: a plan type, or a draft."""
    if not is_blank(values.get("plan_type")) or is_draft(values.get("notes")):
        return None
    return ("Plan type is blank: choose the request's plan type (the Payers sheet lists each "
            f"payer's), or save it as a draft by starting its notes with '{DRAFT_MARK}'.")


# --- the whole check of a new request ------------------------------------------------------

# The fields of the New request form, in its order (the check also reads notes, for drafts).
NEW_REQUEST_FIELDS = ("patient_id", "patient_name", "patient_dob", "member_id", "payer",
                      "plan_type", "codes", "icd10", "ordering_npi", "service_category",
                      "urgency", "scheduled_service_date", "owner")
OK, WARN, ERROR = "ok", "warn", "error"  # the levels of a line
# column kinds whose wrong values are the check's own findings (code problems), not refusals
FOUND_BY_THE_CHECK = ("npi", "codes", "icd10")
NEEDS_PATIENT_AND_PAYER = "Fill in at least the patient ID and the payer."
UNKNOWN_PA = "PA requirement unknown: ask the payer and add a PA Rules row"
CHOOSE_PLAN_TYPE = "choose the plan type"
DOCUMENTS_MISSING = "documents missing: "


@dataclass(frozen=True)
class CheckLine:
    """One thing the check found: its level (ok, warn, error), what it is about, in words."""

    level: str
    topic: str  # pa_required, codes, provider, documents, decision_due, payer, similar
    text: str


@dataclass(frozen=True)
class ChecklistItem:
    """One document the payer's criteria ask for, and whether the caller has it."""

    item: str
    required: bool
    source: str  # the Criteria row it came from
    have: bool

    @property
    def missing(self) -> bool:
        return self.required and not self.have


@dataclass(frozen=True)
class SimilarRequest:
    """A request like the new one, shown by ID, status and service date (never by name)."""

    row: int  # its Excel row on the Requests sheet
    request_id: str | None
    status: str | None
    service_date: pd.Timestamp | None

    def words(self) -> str:
        return (f"{self.request_id or '(no ID)'} ({self.status or 'no status'}, service date "
                f"{when_text(self.service_date) or 'none'})")


@dataclass(frozen=True)
class NewRequestCheck:
    """Everything the New request page shows and decides about one request (see the module
    docstring); check_new_request makes it."""

    as_of: dt.date
    requirement: Requirement
    code_problems: tuple[str, ...]
    enrolled: bool | None  # None: no ordering NPI or no payer to check
    enrollment_reason: str | None
    provider_name: str | None  # the Providers sheet's name for the ordering NPI
    checklist: tuple[ChecklistItem, ...]
    decision_due: pd.Timestamp | None  # if submitted today
    decision_basis: str | None  # None: no plan type, so no projection
    at_risk: bool  # the decision would be due on or after the service date
    payer: str | None  # as the request will be saved: the Payers sheet's spelling
    known_payer: bool
    plan_types: tuple[str, ...]  # the Payers sheet's plan types for the payer
    similar: tuple[SimilarRequest, ...]
    lines: tuple[CheckLine, ...]
    blockers: tuple[str, ...]  # what makes the request a draft
    questions: tuple[str, ...]  # what to ask before saving it
    cannot_save: str | None  # why it cannot be saved at all (no patient ID or payer)
    draft_only: bool  # no plan type: it can be saved only as a draft

    @property
    def documents_missing(self) -> tuple[str, ...]:
        return tuple(entry.item for entry in self.checklist if entry.missing)

    @property
    def blocked(self) -> bool:
        """Whether anything stops the request from being submitted as it is."""
        return bool(self.blockers) or self.cannot_save is not None

    def as_dict(self) -> dict[str, object]:
        """The `check-request --json` document (README, "Check a new request")."""
        found = self.requirement
        return {
            "ok": not self.blocked,
            "as_of": self.as_of.isoformat(),
            "pa_required": {"answer": found.answer, "reason": found.reason,
                            "rule_rows": list(found.rule_rows), "condition": found.condition,
                            "visit_threshold": found.visit_threshold,
                            "benefit_manager": found.benefit_manager},
            "code_problems": list(self.code_problems),
            "enrollment": None if self.enrolled is None else {
                "enrolled": self.enrolled, "reason": self.enrollment_reason},
            "checklist": [{"item": entry.item, "required": entry.required,
                           "source": entry.source, "have": entry.have}
                          for entry in self.checklist],
            "documents_missing": list(self.documents_missing),
            "decision_due": None if self.decision_due is None else self.decision_due.isoformat(),
            "decision_due_basis": self.decision_basis,
            "service_date_at_risk": self.at_risk,
            "payer": self.payer,
            "known_payer": self.known_payer,
            "plan_types": list(self.plan_types),
            "similar_requests": [{"row": entry.row, "request_id": entry.request_id,
                                  "status": entry.status,
                                  "scheduled_service_date": None if entry.service_date is None
                                  else entry.service_date.date().isoformat()}
                                 for entry in self.similar],
            "lines": [{"level": line.level, "topic": line.topic, "text": line.text}
                      for line in self.lines],
            "blockers": list(self.blockers),
            "questions": list(self.questions),
            "cannot_save": self.cannot_save,
        }

    def to_save(self, values: Mapping[str, object]) -> dict[str, object]:
        """The values the form saves for this request: the payer in the sheet's spelling, the
        PA answer, whether the documents are complete, the provider's name, the status, and
        (for a draft) notes beginning with DRAFT_MARK and its blockers. A draft stays open
        (a closed request is nobody's work), whatever the PA answer."""
        today = self.as_of
        saved = {name: value for name, value in values.items() if not is_blank(value)}
        answer = self.requirement.answer
        saved["payer"] = self.payer or saved.get("payer")
        saved["requirement_checked_date"] = today
        saved["pa_required"] = answer if answer != "Conditional" else "Yes"
        saved["docs_complete"] = "No" if self.documents_missing else "Yes"
        if not is_blank(saved.get("ordering_npi")):
            saved["ordering_provider"] = self.provider_name
        saved["status"] = "Closed" if answer == "No" and not self.blockers else "Documentation"
        no_pa = f"{today}: no PA required per the PA Rules" if answer == "No" else ""
        if self.blockers:
            saved["notes"] = f"{DRAFT_MARK} saved {today}; blockers: " + " | ".join(
                self.blockers) + (f"; {no_pa}" if no_pa else "")
        elif no_pa:
            saved["notes"] = no_pa
        return saved


def when_text(value: object) -> str:
    """A date as the pages show it: '2026-12-08', '2026-12-08 14:30', or '2026-12-08 (end of
    day)' for a period that ends with its day; '' for none."""
    if is_blank(value):
        return ""
    stamp = _timestamp(value)
    if stamp == stamp.normalize():
        return f"{stamp:%Y-%m-%d}"
    if (stamp.hour, stamp.minute, stamp.second) == (23, 59, 59):
        return f"{stamp:%Y-%m-%d} (end of day)"
    return f"{stamp:%Y-%m-%d %H:%M}"


def _plain_values(values: Mapping[str, object]) -> dict[str, object]:
    """The values of Requests columns, text stripped and every blank None. Other names are
    left out, as the tracker keeps its extra columns untouched (a row of the tracker given
    back as values has them); the command line refuses a name not on the form itself."""
    return {name: None if is_blank(value) else value.strip() if isinstance(value, str)
            else value for name, value in values.items() if name in REQUESTS.column_names}


def _typed_request(values: Mapping[str, object],
                   lists: Mapping[str, tuple[str, ...]]) -> pd.DataFrame:
    """One Requests row typed as the workbook's reader types it; InvalidValueError naming
    every field whose value cannot be (a wrong code is a finding of the check instead)."""
    from .tracker.cells import Collector, convert_sheet  # validation imports this module

    raw = pd.DataFrame([dict(values)], columns=REQUESTS.column_names, dtype=object,
                       index=pd.RangeIndex(2, 3))
    raw = raw.astype(object).where(raw.notna(), None)
    found = Collector(REQUESTS.name, {})
    typed = convert_sheet(REQUESTS, raw, {**LISTS, **lists}, found)
    wrong = [problem for problem in found.problems if problem.severity == "error"
             and problem.column in REQUESTS.column_names
             and REQUESTS.column(problem.column).kind not in FOUND_BY_THE_CHECK]
    if wrong:
        said = []
        for problem in wrong:
            quoted = f"'{problem.value}'"
            message = problem.message if problem.message.startswith(quoted) \
                else f"{quoted} {problem.message}"
            said.append(f"{REQUESTS.column(str(problem.column)).title}: "
                        f"{message.rstrip('.')}.")
        raise InvalidValueError(" ".join(said))
    return typed


def _provider_name(providers: pd.DataFrame, npi: str | None) -> str | None:
    """The Providers sheet's name for an NPI (its last row that names one)."""
    if npi is None:
        return None
    names = providers.loc[(providers["npi"].astype("string") == npi).fillna(False).astype(bool),
                          "provider_name"].dropna()
    return str(names.iloc[-1]) if len(names) else None


def _similar(requests: pd.DataFrame, values: Mapping[str, object]) -> tuple[SimilarRequest, ...]:
    found = similar_requests(requests, values)
    return tuple(SimilarRequest(int(row), text_or_none(request_id), text_or_none(status),
                                None if is_blank(service) else pd.Timestamp(service))
                 for row, request_id, status, service in zip(
                     found.index, found["request_id"], found["status"],
                     found["scheduled_service_date"], strict=True))


def _payer_lines(payer: object, plan_type: object, plans: list[str],
                 known: bool) -> list[CheckLine]:
    """What the Payers sheet says about the payer and the plan type chosen."""
    if payer and not known:
        return [CheckLine(WARN, "payer", f"Payer '{payer}' is not on the Payers sheet: check "
                                         "the spelling, or add the payer there with its plan "
                                         "type.")]
    if payer and not plan_type:
        return [CheckLine(WARN, "payer", "Choose the plan type" + (
            f" (the Payers sheet lists {', '.join(plans)} for this payer)." if plans
            else "; the Payers sheet gives none for this payer."))]
    if plans and plan_type not in plans:
        return [CheckLine(WARN, "payer", f"The Payers sheet lists this payer as "
                                         f"{', '.join(plans)}, not {plan_type}; check the "
                                         "plan type.")]
    return []


def check_new_request(tracker: Tracker, values: Mapping[str, object],
                      today: dt.date | None = None,
                      documents: Iterable[str] = ()) -> NewRequestCheck:
    """The New request page's check of one request, from plain values (see the module
    docstring). values maps Requests column names to text or typed values (other names,
    like a tracker's extra columns, are not read); documents names the checklist items on
    hand; today is the day it would be submitted (the system's date when None).
    InvalidValueError names every value that cannot be read (a wrong NPI or code is a
    finding, not an error)."""
    from .deadlines import compute_deadlines  # deadlines imports this module, indirectly

    today = today or dt.date.today()
    given = _plain_values(values)
    frames = tracker.frames
    payers = frames["Payers"]
    typed = _typed_request(given, tracker.lists)
    sheet_payer = payer_on_sheet(payers, given.get("payer"))
    payer = sheet_payer or text_or_none(given.get("payer"))
    plan_type = text_or_none(typed["plan_type"].iloc[0])
    service = typed["scheduled_service_date"].iloc[0]
    service = None if is_blank(service) else pd.Timestamp(service)
    npi = text_or_none(typed["ordering_npi"].iloc[0])
    when = pd.Timestamp.combine(today, dt.time(23, 59, 59))
    # checked as it will be saved: the sheet's spelling of the payer, submitted today, and
    # nothing after submission (a request's own row fed back keeps only what intake asks)
    request = typed.copy()
    nothing = pd.Series(False, index=request.index)
    for name in request.columns:
        if name not in NEW_REQUEST_FIELDS:
            request[name] = request[name].where(nothing)
    request["payer"] = pd.Series([payer], index=request.index, dtype=typed["payer"].dtype)
    request["submitted_at"] = pd.Series([when], index=request.index, dtype="datetime64[ns]")
    request["request_id"] = pd.Series(["new"], index=request.index,
                                      dtype=typed["request_id"].dtype)

    lines: list[CheckLine] = []
    blockers: list[str] = []
    found = Requirement.of(requirements_for(request, frames["PA Rules"], today).iloc[0])
    extra = "".join(f"; {text}" for text in (
        found.condition and f"condition: {found.condition}",
        found.visit_threshold and f"after {found.visit_threshold} visits",
        found.benefit_manager and f"reviewed by {found.benefit_manager}") if text)
    lines.append(CheckLine({"Yes": WARN, "No": OK}.get(found.answer, ERROR), "pa_required",
                           f"PA required: {found.answer}. {found.reason}{extra}"))
    if found.answer == "Unknown":
        blockers.append(UNKNOWN_PA)

    problems = tuple(code_findings(npi, text_or_none(typed["codes"].iloc[0]),
                                   text_or_none(typed["icd10"].iloc[0])))
    lines += [CheckLine(ERROR, "codes", problem) for problem in problems]
    blockers += problems

    enrolled: bool | None = None
    enrollment_reason: str | None = None
    if npi and payer:
        enrollment = enrollment_for(request, frames["Providers"], today).iloc[0]
        enrolled, enrollment_reason = bool(enrollment["enrolled"]), \
            str(enrollment["enrollment_reason"])
        lines.append(CheckLine(OK if enrolled else ERROR, "provider",
                               f"Provider: {enrollment_reason}"))
        if not enrolled:
            blockers.append(enrollment_reason)

    have = {str(item) for item in documents}
    table = documentation_checklist(frames["Criteria"],
                                    text_or_none(typed["service_category"].iloc[0]),
                                    payer, have)
    checklist = tuple(ChecklistItem(str(item), bool(required), str(source), bool(ticked))
                      for item, required, source, ticked in zip(
                          table["item"], table["required"], table["source"], table["have"],
                          strict=True)
                      if not is_blank(item))  # a Criteria row without an item asks nothing
    missing = list(dict.fromkeys(entry.item for entry in checklist if entry.missing))
    if missing:
        blockers.append(DOCUMENTS_MISSING + "; ".join(missing))
        lines.append(CheckLine(WARN, "documents", "Documents still needed: "
                               + "; ".join(missing)))

    decision_due: pd.Timestamp | None = None
    basis: str | None = None
    at_risk = False
    if plan_type:
        due = compute_deadlines(request, payers, tracker.settings, tracker.calendar(when),
                                as_of=when, drug_categories=tracker.lists.get(
                                    "drug_category", LISTS["drug_category"])).iloc[0]
        basis = text_or_none(due["basis_decision_due"]) or ""
        if is_blank(due["decision_due"]):
            lines.append(CheckLine(WARN, "decision_due", f"Decision due: {basis}"))
        else:
            decision_due = pd.Timestamp(due["decision_due"])
            at_risk = service is not None and decision_due >= service
            risk = " The service date is at risk: ask for expedited review or reschedule." \
                if at_risk else ""
            lines.append(CheckLine(ERROR if at_risk else OK, "decision_due",
                                   f"If submitted today, the decision is due "
                                   f"{when_text(decision_due)} ({basis})." + risk))

    plans = plan_types_for(payers, given.get("payer"))
    known = sheet_payer is not None
    lines += _payer_lines(given.get("payer"), plan_type, plans, known)
    similar = _similar(tracker.requests, {**given, "scheduled_service_date": service})
    described = [entry.words() for entry in similar]
    lines += [CheckLine(WARN, "similar", f"A request like this one is already on the tracker: "
                                         f"{words}.") for words in described]
    if not plan_type:
        blockers.append(CHOOSE_PLAN_TYPE)

    questions = []
    draft_only = plan_type_problem(given) is not None
    if draft_only:
        questions.append("No plan type is chosen. Choose it above, or save this request as a "
                         f"draft: its notes will begin with '{DRAFT_MARK}' and the worklist "
                         "will list it to complete.")
    if given.get("payer") is not None and not known:
        questions.append(f"Save with an unknown payer? '{given['payer']}' is not on the Payers "
                         "sheet.")
    if described:
        questions.append("A request like this one is already on the tracker: "
                         + "; ".join(described) + ". Save another?")
    cannot_save = NEEDS_PATIENT_AND_PAYER if given.get("patient_id") is None \
        or given.get("payer") is None else None
    return NewRequestCheck(
        as_of=today, requirement=found, code_problems=problems, enrolled=enrolled,
        enrollment_reason=enrollment_reason, provider_name=_provider_name(frames["Providers"],
                                                                          npi),
        checklist=checklist, decision_due=decision_due, decision_basis=basis, at_risk=at_risk,
        payer=payer, known_payer=known, plan_types=tuple(plans), similar=similar,
        lines=tuple(lines), blockers=tuple(blockers), questions=tuple(questions),
        cannot_save=cannot_save, draft_only=draft_only)
