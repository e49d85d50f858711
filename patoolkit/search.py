"""Find a request from whatever the caller gives, and everything about one patient.

A practice manager on the phone has a request ID, a patient ID, a name, a
member ID, an authorization number or the payer's reference. find_requests
matches any of them as typed so far; patient_record gathers one patient's
requests, authorizations with the units left, letters and History.

- IDs (request, patient, member, auth number, payer reference) match when the
  query, without case, spaces or punctuation, is part of the ID so compared
  ("00173" and "pa-2026-00173" find PA-2026-00173, "a8781" finds A878181894).
- Names match when every word of the query begins a word of the name, in any
  order, without case or accents ("log synth" finds "Synthetic, Logan H.").
- One patient is the patient of intake.same_patient (IDs decide where both have
  one, else the names): the patient view and the import agree on who is who.

Every result row is one Requests row, every value in it taken from that row:
a search never puts one patient's data beside another's request.

Limitations: no fuzzy matching (a typo finds nothing); a query under
MIN_QUERY characters finds nothing, so a single keystroke does not list the
whole tracker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from .intake import match_key, patient_key, same_patient

MIN_QUERY = 2
ID_FIELDS = ("request_id", "patient_id", "member_id", "auth_number", "payer_reference")
SEARCHED = (*ID_FIELDS, "patient_name")
RESULT_COLUMNS = ["request_id", "patient_id", "patient_name", "payer", "status",
                  "scheduled_service_date", "matched"]
LETTER_FIELD = "letter:"  # History rows a letter leaves (field letter:KIND, new value its file)


def _query_words(query: str) -> list[str]:
    key = patient_key(pd.Series([None], dtype="string"), pd.Series([query], dtype="string"))
    words = key["name"].iloc[0]
    return [] if pd.isna(words) else str(words).split()


def find_requests(requests: pd.DataFrame, query: str, limit: int | None = 50) -> pd.DataFrame:
    """Requests matching query (module docstring), exact matches first, then the latest
    service date first; columns RESULT_COLUMNS ('matched': the fields that matched)."""
    compact = match_key(pd.Series([query], dtype="string")).iloc[0]
    if pd.isna(compact) or len(str(compact)) < MIN_QUERY:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in RESULT_COLUMNS})
    compact = str(compact)
    matched = pd.Series("", index=requests.index, dtype="string")
    exact = pd.Series(False, index=requests.index)
    for field in ID_FIELDS:
        if field not in requests.columns:
            continue
        keys = match_key(requests[field])
        hit = keys.str.contains(compact, regex=False).fillna(False).astype(bool)
        exact |= (keys == compact).fillna(False).astype(bool)
        matched = matched.mask(hit, matched + ", " + field)
    words = _query_words(query)
    if words and "patient_name" in requests.columns:
        names = patient_key(pd.Series(pd.NA, index=requests.index, dtype="string"),
                            requests["patient_name"])["name"].fillna("")
        hit = pd.Series(True, index=requests.index)
        for word in words:  # each query word starts some word of the name
            hit &= (" " + names).str.contains(" " + word, regex=False).astype(bool)
        matched = matched.mask(hit, matched + ", patient_name")
    found = matched != ""
    rows = requests[found.to_numpy()]
    result = pd.DataFrame({column: rows[column] if column in rows.columns else pd.NA
                           for column in RESULT_COLUMNS[:-1]}, index=rows.index)
    result["matched"] = matched[found].str.removeprefix(", ")
    result["_exact"] = exact[found]
    result = result.sort_values(["_exact", "scheduled_service_date"], ascending=[False, False],
                                na_position="last", kind="stable").drop(columns="_exact")
    return result if limit is None else result.head(limit)


@dataclass(frozen=True)
class PatientRecord:
    """Everything the tracker holds about one patient (each frame keeps its Excel rows)."""

    patient_id: str | None
    patient_name: str | None
    patient_dob: object
    requests: pd.DataFrame
    authorizations: pd.DataFrame
    letters: pd.DataFrame
    history: pd.DataFrame


def _ids(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.upper()


def patient_record(frames: Mapping[str, pd.DataFrame], request_id: str) -> PatientRecord:
    """The patient of request_id: their requests (latest service first), authorizations
    with units left, letters made and History (newest first). KeyError: no such request."""
    requests = frames["Requests"]
    mine = _ids(requests["request_id"]) == str(request_id).strip().upper()
    if not mine.fillna(False).any():
        raise KeyError(request_id)
    keys = patient_key(requests["patient_id"], requests["patient_name"])
    chosen = keys[mine.fillna(False).to_numpy()].iloc[0]
    own = requests[same_patient(keys, chosen).to_numpy() | mine.fillna(False).to_numpy()]
    own = own.sort_values("scheduled_service_date", ascending=False, na_position="last",
                          kind="stable")
    first = own[mine.reindex(own.index).fillna(False).to_numpy()].iloc[0]
    approved = own[own["auth_number"].notna()]
    authorizations = pd.DataFrame({
        "auth_number": approved["auth_number"], "request_id": approved["request_id"],
        "payer": approved["payer"], "codes": approved["codes"],
        "auth_effective_date": approved["auth_effective_date"],
        "auth_expiration_date": approved["auth_expiration_date"],
        "units_authorized": approved["units_authorized"],
        "units_used": approved["units_used"],
        "units_left": approved["units_authorized"] - approved["units_used"].fillna(0),
    }, index=approved.index)
    history = frames.get("History")
    if history is None or history.empty:
        history = pd.DataFrame(columns=["at", "request_id", "field", "old_value", "new_value",
                                        "by"])
    wanted = set(_ids(own["request_id"]).dropna())
    theirs = history[_ids(history["request_id"]).isin(wanted).fillna(False).to_numpy()]
    theirs = theirs.sort_values("at", ascending=False, na_position="last", kind="stable")
    is_letter = theirs["field"].astype("string").str.startswith(LETTER_FIELD).fillna(False)
    return PatientRecord(
        patient_id=None if pd.isna(first["patient_id"]) else str(first["patient_id"]),
        patient_name=None if pd.isna(first["patient_name"]) else str(first["patient_name"]),
        patient_dob=first.get("patient_dob"),
        requests=own, authorizations=authorizations,
        letters=theirs[is_letter.to_numpy()], history=theirs)
