"""What a blank cell leaves uncomputed, said once for check, deadlines and the worklist.

A request with a blank that a figure needs is never dropped and never fails a
page: the figure is skipped for that request alone, `check` warns about the
cell, and the worklist lists the request as "Complete the request" with the
same words. Each row of GAPS is one such blank: the column, which requests
need it, what cannot be computed without it, and what to do.

Limitations: a value that is present but wrong (a payer that is not on the
Payers sheet, a code the PA Rules do not list) is not a gap; `check` and the
PA requirement check report those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .intake import draft_mask
from .schema import CLOSED_STATUSES, REQUESTS

GAP_ACTION = "Complete the request"
SENT_STATUSES = ("Submitted", "Info Requested")


@dataclass(frozen=True)
class Gap:
    column: str
    needed: Callable[[pd.DataFrame], pd.Series]  # which requests need a value here
    consequence: str
    todo: str

    def words(self) -> str:
        return f"{REQUESTS.column(self.column).title} is blank: {self.consequence}; {self.todo}"


def _every(requests: pd.DataFrame) -> pd.Series:
    return pd.Series(True, index=requests.index)


def _sent(requests: pd.DataFrame) -> pd.Series:
    return (requests["status"].isin(SENT_STATUSES).fillna(False)
            | requests["decision"].notna() | requests["info_requested_at"].notna())


def _decided(requests: pd.DataFrame) -> pd.Series:
    return requests["decision"].notna()


def _unsent(requests: pd.DataFrame) -> pd.Series:
    return requests["submitted_at"].isna() & ~_sent(requests)


GAPS = (
    Gap("request_id", _every, "the request cannot be opened, updated or named in a letter",
        "give it a unique ID such as PA-2026-00042"),
    Gap("patient_id", _every, "claims and letters cannot be matched to the patient",
        "type the practice's patient ID"),
    Gap("payer", _every, "no payer deadline, PA rule or enrollment can be looked up",
        "type the payer as the Payers sheet names it"),
    Gap("plan_type", _every, "no payer deadline can be computed", "choose one"),
    Gap("codes", _every, "the PA requirement cannot be checked and claims cannot be matched",
        "type the CPT or HCPCS codes"),
    Gap("service_category", _unsent, "the documents the payer's criteria need cannot be listed",
        "choose one"),
    Gap("submitted_at", _sent, "the payer's clock counts from it, so no decision due date",
        "type the date and time the request was sent"),
    Gap("decision_date", _decided, "the peer-to-peer and appeal windows count from it",
        "type the date of the decision"),
)


def gap_masks(requests: pd.DataFrame) -> dict[str, pd.Series]:
    """Per gap column, the requests (not closed) that need a value there and have none."""
    open_ = ~requests["status"].isin(CLOSED_STATUSES).fillna(False)
    return {gap.column: (open_ & gap.needed(requests).fillna(False).astype(bool)
                         & requests[gap.column].isna())
            for gap in GAPS}


def request_gaps(requests: pd.DataFrame) -> pd.Series:
    """Per request, every gap in words ('Plan Type is blank: ...; choose one. ...'); NA if none.

    A draft says so first, so the person finishing it knows why it is incomplete.
    """
    words = pd.Series("", index=requests.index, dtype="string")
    draft = draft_mask(requests["notes"]) & ~requests["status"].isin(CLOSED_STATUSES).fillna(False)
    words[draft] = "saved as a draft. "
    for gap, (_, mask) in zip(GAPS, gap_masks(requests).items(), strict=True):
        if mask.any():
            words[mask] = words[mask] + gap.words() + ". "
    words = words.str.strip()
    return words.where(words != "")
