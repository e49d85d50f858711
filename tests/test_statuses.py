"""One vocabulary (patoolkit/statuses.py): approved, open denial, overturned in whole or in
part, closed mean the same in deadlines, worklist, metrics, claims and letters (issue 17).

The regression: a Denied request whose appeal came back "Partially Overturned" got a
renewal_due (deadlines: authorized) while the claims audit flagged its claim AUTH_DENIED
"... not overturned" (claims: only "Overturned" counted).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from letter_cases import AS_OF, COMMON, CRITERIA, DENIED, HEADERS, PAYERS, SETTINGS, SUPPLIED
from workbooks import make_tracker

from patoolkit import statuses
from patoolkit.claims import audit_for
from patoolkit.deadlines import deadlines_for
from patoolkit.letters import LetterMaker, LetterNotApplicableError
from patoolkit.metrics import indicators
from patoolkit.tracker.read import Tracker, load_tracker, typed_frame
from patoolkit.worklist import denials_for, worklist_for

REQUEST = "LT-OUTCOME"
AUTH = "AUTH-77"
DENIAL_ACTIONS = {"request_p2p", "file_appeal", "request_external_review",
                  "request_fair_hearing"}


def tracker_with(tmp_path: Path, **fields: object) -> Tracker:
    """One denied request, appealed, its appeal decided, with the authorization the payer
    gave if it changed its mind."""
    row = {**COMMON, **DENIED, "Request ID": REQUEST,
           "Appeal Level": "Level 1", "Appeal Submitted Date": dt.date(2026, 11, 26),
           "Appeal Decision Date": dt.date(2026, 11, 27),
           "Auth Number": AUTH, "Auth Effective Date": dt.date(2026, 11, 27),
           "Auth Expiration Date": dt.date(2027, 2, 27), "Units Authorized": 10, **fields}
    headers = [*HEADERS, "Auth Number", "Auth Effective Date", "Auth Expiration Date",
               "Units Authorized"]
    path = make_tracker(tmp_path / "tracker.xlsx", [row], headers=headers,
                        extra_sheets={"Payers": PAYERS, "Settings": SETTINGS,
                                      "Criteria": CRITERIA})
    return load_tracker(path)


def claim_findings(tracker: Tracker) -> set[str]:
    claims = typed_frame("Claims", [{
        "claim_id": "C-1", "patient_id": COMMON["Patient ID"], "payer": COMMON["Payer"],
        "codes": "72148", "units": 1, "auth_number": AUTH, "date_of_service": "2026-12-15"}],
        lists={})
    findings = audit_for(tracker, claims, as_of=AS_OF.date())
    return set(findings["code"])


def appeal_refusal(tracker: Tracker) -> str:
    with pytest.raises(LetterNotApplicableError) as refused:
        LetterMaker(tracker, now=AS_OF).render(REQUEST, "appeal", SUPPLIED["appeal"])
    return str(refused.value)


@pytest.mark.parametrize(("fields", "why"), [
    ({"Appeal Outcome": "Partially Overturned"},
     "the regression: the payer authorized part of the service on appeal"),
    ({"Appeal Outcome": "Overturned"}, "overturned in whole on appeal"),
    ({"P2P Date": dt.date(2026, 11, 26), "P2P Outcome": "Partially Overturned",
      "Appeal Submitted Date": None, "Appeal Decision Date": None, "Appeal Level": None},
     "overturned in part at the peer-to-peer, no appeal"),
    ({"Status": "Overturned", "Appeal Outcome": None},
     "the status says Overturned though the outcome was not typed"),
])
def test_a_denial_overturned_in_whole_or_in_part_is_authorized_everywhere(
        tmp_path: Path, fields: dict[str, object], why: str) -> None:
    tracker = tracker_with(tmp_path, **fields)
    deadlines = deadlines_for(tracker, AS_OF)
    assert pd.notna(deadlines["renewal_due"].iloc[0]), f"deadlines: renewal due ({why})"
    actions = set(worklist_for(tracker, AS_OF)["action_key"])
    assert not actions & DENIAL_ACTIONS, f"worklist: nothing left to contest ({why})"
    assert REQUEST not in set(denials_for(tracker, AS_OF)["request_id"]), \
        f"denials board: not an open denial ({why})"
    counted = indicators(tracker.requests, deadlines)
    if fields.get("Status") != "Overturned":  # the scorecard counts recorded outcomes
        assert counted["overturned"].iloc[0], f"metrics: counted as overturned ({why})"
    assert "AUTH_DENIED" not in claim_findings(tracker), f"claims: the auth is usable ({why})"
    assert "already overturned" in appeal_refusal(tracker), f"letters: no appeal ({why})"


@pytest.mark.parametrize(("fields", "why"), [
    ({"Appeal Outcome": "Upheld"}, "the appeal was upheld: the denial stands"),
    ({"Appeal Outcome": "Pending", "Appeal Decision Date": None}, "the appeal is pending"),
])
def test_a_denial_not_overturned_stays_denied_everywhere(
        tmp_path: Path, fields: dict[str, object], why: str) -> None:
    tracker = tracker_with(tmp_path, **fields)
    deadlines = deadlines_for(tracker, AS_OF)
    assert pd.isna(deadlines["renewal_due"].iloc[0]), f"deadlines: nothing to renew ({why})"
    assert REQUEST in set(denials_for(tracker, AS_OF)["request_id"]), \
        f"denials board: still open ({why})"
    counted = indicators(tracker.requests, deadlines)
    assert not counted["overturned"].iloc[0], f"metrics: not overturned ({why})"
    assert "AUTH_DENIED" in claim_findings(tracker), f"claims: denied, not overturned ({why})"


def test_the_predicates_read_any_column_type() -> None:
    """Category, string and object columns, blanks included, give plain booleans."""
    frame = pd.DataFrame({
        "status": ["Denied", "Denied", "Closed", "Overturned", None],
        "decision": ["Denied", "Partially Approved", "Denied", "Denied", None],
        "p2p_outcome": [None, "Partially Overturned", None, None, None],
        "appeal_outcome": ["Upheld", None, None, None, None]})
    for dtype in ("object", "string", "category"):
        typed = frame.astype(dtype)
        assert statuses.overturned(typed).tolist() == [False, True, False, True, False], dtype
        assert statuses.open_denial(typed).tolist() == [True, False, False, False, False], dtype
        assert statuses.closed(typed).tolist() == [False, False, True, False, False], dtype
        assert statuses.authorized(typed).tolist() == [False, True, False, True, False], dtype
    assert statuses.is_overturned({"appeal_outcome": "Partially Overturned"})
    assert not statuses.is_overturned({"appeal_outcome": "Upheld", "status": "Denied"})
