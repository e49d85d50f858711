"""Letter kinds: which template each uses, and whether a request fits it.

A kind is a row of KINDS, not a code path: its --kind key, its title, its
template file and the check that says, in words a person can act on, why a
request does not fit (a P2P after the window closed, an appeal of a request
never denied). A new kind is a new row and, where it needs one, a new check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import statuses
from ..errors import LetterError
from ..schema import is_blank

Row = Mapping[str, Any]
Check = Callable[[Row, Row, pd.Timestamp], "str | None"]


def _day(value: object) -> str:
    return f"{pd.Timestamp(value):%Y-%m-%d}"  # type: ignore[arg-type]


def _not_denied(request: Row) -> str | None:
    decision = request.get("decision")
    if is_blank(decision):
        return "it has no decision yet; a letter of medical necessity goes with the request"
    if decision not in statuses.DENIALS:
        return f"it was {decision}, not denied; there is nothing to contest"
    if statuses.is_overturned(request):
        return "its denial was already overturned (in whole or in part)"
    return None


def _passed(deadline: object, now: pd.Timestamp) -> bool:
    return not is_blank(deadline) and pd.Timestamp(deadline) < now  # type: ignore[arg-type]


def check_p2p(request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    if reason := _not_denied(request):
        return reason
    if not is_blank(request.get("p2p_date")):
        outcome = request.get("p2p_outcome")
        return (f"a peer-to-peer review was already held on {_day(request['p2p_date'])}"
                + ("" if is_blank(outcome) else f" ({outcome})")
                + "; file a written appeal (--kind appeal)")
    if _passed(deadlines.get("p2p_window_closes"), now):
        return (f"the peer-to-peer window closed on {_day(deadlines['p2p_window_closes'])}; "
                "file a written appeal instead (--kind appeal)")
    return None


def check_appeal(request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    if reason := _not_denied(request):
        return reason
    if request.get("appeal_outcome") == statuses.UPHELD:
        return ("its first-level appeal was already upheld; request external review "
                "(--kind external-review)")
    if not is_blank(request.get("appeal_submitted_date")) and is_blank(
            request.get("appeal_outcome")):
        return (f"an appeal was already submitted on {_day(request['appeal_submitted_date'])} "
                "and awaits a decision")
    # A filing deadline that has passed does not stop the letter: it asks for good cause.
    return None


def filing_late(deadlines: Row, now: pd.Timestamp) -> bool:
    """Whether an appeal made now is late: its filing deadline has passed."""
    return _passed(deadlines.get("appeal_filing_deadline"), now)


def check_external_review(request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    if request.get("appeal_outcome") != statuses.UPHELD:
        return "external review follows an internal appeal that was upheld; this one was not"
    if is_blank(deadlines.get("external_review_deadline")):
        return ("external review under 45 CFR 147.136 is for Commercial and Marketplace QHP "
                f"plans, and this is {request.get('plan_type') or 'a plan of unknown type'}: "
                "Medicare Advantage plans forward upheld reconsiderations to the independent "
                "review entity themselves; for Medicaid, request a State fair hearing")
    if _passed(deadlines.get("external_review_deadline"), now):
        return (f"the four-month external review window closed on "
                f"{_day(deadlines['external_review_deadline'])}")
    return None


def check_info_response(request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    if is_blank(request.get("info_requested_at")):
        return "the payer has not asked for more information (Info Requested At is empty)"
    if not is_blank(request.get("decision")):
        return f"it was already decided ({request['decision']})"
    if not is_blank(request.get("info_responded_at")):
        return f"the information request was already answered on " \
               f"{_day(request['info_responded_at'])}"
    return None


def check_medical_necessity(request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    decision = request.get("decision")
    if is_blank(decision):
        return None
    if decision in statuses.DENIALS:
        return f"it was already decided ({decision}); contest it with --kind p2p or --kind appeal"
    return f"it was already decided ({decision}); no letter of medical necessity is needed"


@dataclass(frozen=True)
class LetterKind:
    key: str  # what --kind takes
    title: str
    template: str  # file name in the template folder
    purpose: str
    check: Check


KINDS: dict[str, LetterKind] = {kind.key: kind for kind in (
    LetterKind("p2p", "Peer-to-peer review request", "p2p_request.docx",
               "asks the payer's medical director for a peer-to-peer review, the day of the "
               "denial, inside the window", check_p2p),
    LetterKind("appeal", "First-level appeal", "appeal_first_level.docx",
               "answers the payer's stated denial reason point by point with new documents",
               check_appeal),
    LetterKind("expedited-appeal", "Expedited appeal", "appeal_expedited.docx",
               "an urgent appeal asking for the 72-hour decision", check_appeal),
    LetterKind("external-review", "External review request", "external_review.docx",
               "asks an independent review organization to review an upheld denial, within "
               "four months", check_external_review),
    LetterKind("info-response", "Response to a request for information", "info_response.docx",
               "cover letter listing what is enclosed in answer to a payer's request",
               check_info_response),
    LetterKind("medical-necessity", "Letter of medical necessity", "medical_necessity.docx",
               "goes with the initial request: diagnosis, indication, treatment tried, "
               "results, mapped to the payer's Criteria items", check_medical_necessity),
)}


def letter_kind(key: str) -> LetterKind:
    try:
        return KINDS[key]
    except KeyError:
        raise LetterError(f"'{key}' is not a letter kind; use one of: "
                          + ", ".join(KINDS)) from None


def applicable(kind: LetterKind, request: Row, deadlines: Row, now: pd.Timestamp) -> str | None:
    """None when the request fits the kind, else the reason it does not."""
    return kind.check(request, deadlines, now)
