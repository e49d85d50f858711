"""What a request's decision, status and outcomes mean: the vocabulary, defined once.

Every module that asks "is it approved?", "is its denial still open?", "was it
overturned?" or "is it closed?" asks here (deadlines, worklist, letters, metrics,
claims), so a request never counts as authorized in one place and denied in another.

Choices where the words leave room:

- Overturned in whole or in part: a P2P or appeal outcome of Overturned or Partially
  Overturned, or the status Overturned. The payer then authorized the service, or part
  of it, after all: the authorization is usable for claims, renews and counts units
  like an approval, and the denial is no longer open (no P2P, appeal or appeal letter
  is suggested for it). What a partial overturn left denied is a new decision to
  record, not a remainder this vocabulary tracks.
- Authorized: the decision is Approved or Partially Approved, the status says so
  without a decision typed yet, or the denial was overturned in whole or in part.
- An open denial: the decision is Denied or Partially Approved (something was refused,
  so it can be contested), not overturned and not closed. An upheld appeal leaves the
  denial open: external review and the State fair hearing follow it.
- Closed: the status is Withdrawn, Expired or Closed; nobody works on it any more.

Not modelled: a status that contradicts the decision (status Approved, decision
Denied) is read at its most favourable: authorized.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .schema import CLOSED_STATUSES

# decisions (the Lists sheet's Decision list)
APPROVED = "Approved"
PARTIALLY_APPROVED = "Partially Approved"
DENIED = "Denied"
APPROVALS = (APPROVED, PARTIALLY_APPROVED)  # the payer authorized the service, all or part
DENIALS = (DENIED, PARTIALLY_APPROVED)  # the payer refused the service, all or part

# P2P and appeal outcomes (the Lists sheet's Outcome list)
PENDING = "Pending"
OVERTURNED = "Overturned"
PARTIALLY_OVERTURNED = "Partially Overturned"
UPHELD = "Upheld"
OVERTURNS = (OVERTURNED, PARTIALLY_OVERTURNED)  # overturned in whole or in part
OUTCOME_COLUMNS = ("p2p_outcome", "appeal_outcome")

# statuses that mean the same as a decision or an outcome
AUTHORIZED_STATUSES = (APPROVED, PARTIALLY_APPROVED, OVERTURNED)

__all__ = [
    "APPROVALS", "APPROVED", "AUTHORIZED_STATUSES", "CLOSED_STATUSES", "DENIALS", "DENIED",
    "OUTCOME_COLUMNS", "OVERTURNED", "OVERTURNS", "PARTIALLY_APPROVED",
    "PARTIALLY_OVERTURNED", "PENDING", "UPHELD", "approved_decision", "authorized",
    "closed", "is_overturned", "open_denial", "outcome_overturned", "overturned",
]


def _isin(column: pd.Series, values: tuple[str, ...]) -> pd.Series:
    """Plain booleans whatever the column's dtype (category, string, object); blank is False."""
    return column.isin(values)


def approved_decision(requests: pd.DataFrame) -> pd.Series:
    """The payer's decision was Approved or Partially Approved."""
    return _isin(requests["decision"], APPROVALS)


def outcome_overturned(requests: pd.DataFrame, column: str) -> pd.Series:
    """One outcome column (p2p_outcome or appeal_outcome) overturned the denial in whole or
    in part."""
    return _isin(requests[column], OVERTURNS)


def overturned(requests: pd.DataFrame) -> pd.Series:
    """A denial overturned in whole or in part: by the P2P, by the appeal, or so the status
    says."""
    result = _isin(requests["status"], (OVERTURNED,))
    for column in OUTCOME_COLUMNS:
        result |= outcome_overturned(requests, column)
    return result


def closed(requests: pd.DataFrame) -> pd.Series:
    """Withdrawn, Expired or Closed: nobody works on it any more."""
    return _isin(requests["status"], CLOSED_STATUSES)


def authorized(requests: pd.DataFrame) -> pd.Series:
    """Approved in whole or in part now: by the decision, the status, or an overturn."""
    return (approved_decision(requests) | _isin(requests["status"], AUTHORIZED_STATUSES)
            | overturned(requests))


def open_denial(requests: pd.DataFrame) -> pd.Series:
    """Something was refused (Denied, Partially Approved), not overturned, not closed."""
    return _isin(requests["decision"], DENIALS) & ~overturned(requests) & ~closed(requests)


def is_overturned(request: Mapping[str, object]) -> bool:
    """overturned() for one request given as a mapping of its fields (a letter's row)."""
    row = pd.DataFrame([{column: request.get(column)
                         for column in ("status", *OUTCOME_COLUMNS)}], dtype="object")
    return bool(overturned(row).iloc[0])
