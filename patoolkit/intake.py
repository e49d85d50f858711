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

Limitations: a similar request is not always a duplicate (a second course of
the same therapy is a real new request), so it is a question, never a
refusal. Patients are matched by what the tracker holds (IDs, names), not by
date of birth or member ID; "Mary-Ann" and "Mary Ann", or a middle initial
typed on one request only, are two names. A note that happens to begin with
the word "Draft" ("Draft letter sent") marks its request as a draft.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import pandas as pd

from .codes import split_codes
from .schema import is_blank

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
        apart = (dates - pd.Timestamp(service).normalize()).abs()
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
