"""Deadline invariants over generated workbooks (issue 15).

For trackers generated from the sample by blanking, garbling and retyping random cells
(tests/generated.py), with a random extension on some requests: every request gets its
row, no deadline is before the event it counts from, every date has its basis, and an
extension never moves a decision by more than the law allows.
"""

from __future__ import annotations

import datetime as dt

import generated
import pandas as pd
import pytest
from generated import AS_OF, Edit, build
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patoolkit.deadlines import (
    DATE_DEADLINES,
    compute_deadlines,
    deadlines_for,
    extension_limits_for,
)

pytestmark = pytest.mark.generated

# deadline -> the column it counts from (a payer's deadline is never before its start)
STARTS = {"decision_due": "submitted_at", "info_response_due": "info_requested_at",
          "p2p_window_closes": "decision_date", "appeal_target": "decision_date",
          "appeal_filing_deadline": "decision_date",
          "appeal_decision_due": "appeal_submitted_date",
          "external_review_deadline": "appeal_decision_date",
          "state_fair_hearing_deadline": "appeal_decision_date"}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> generated.Base:
    return generated.base(str(tmp_path_factory.mktemp("generated")))


_BASE_GRIDS: list[dict[str, list[list[object]] | None]] = []


@pytest.fixture(scope="module", autouse=True)
def _grids(base: generated.Base) -> None:
    _BASE_GRIDS[:] = [base.grids]


@settings(max_examples=generated.examples(30), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(changes=st.deferred(lambda: generated.edits(_BASE_GRIDS[0])),
       extensions=st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=40))
def test_every_request_gets_deadlines_that_follow_their_rules(
        base: generated.Base, changes: list[Edit], extensions: list[int]) -> None:
    tracker = build(base, changes)
    requests = tracker.requests
    # some extensions far beyond any legal limit, on whatever plans the rows have
    extension = pd.Series(extensions * (len(requests) // len(extensions) + 1),
                          dtype="Int64").iloc[:len(requests)].set_axis(requests.index)
    tracker.frames["Requests"] = requests = requests.assign(extension_days=extension)
    table = deadlines_for(tracker, AS_OF)

    assert list(table.index) == list(requests.index)  # every request, its own row
    for name, start in STARTS.items():
        both = table[name].notna() & requests[start].notna()
        assert (table.loc[both, name] >= requests.loc[both, start]).all(), name
    for name in DATE_DEADLINES:
        assert table["basis_" + name][table[name].notna()].notna().all(), name

    # an extension moves the decision by at most the legal limit (a day-counted end rounds
    # up to 23:59:59 of its day: under one day more)
    without = compute_deadlines(requests.assign(extension_days=pd.NA), tracker.frames["Payers"],
                                tracker.settings, None, AS_OF)
    limit, _ = extension_limits_for(requests)
    moved = (table["decision_due"] - without["decision_due"]).dropna()
    capped = limit.reindex(moved.index).notna()
    most = pd.to_timedelta(limit.reindex(moved.index)[capped].astype(float), unit="D") \
        + dt.timedelta(days=1)
    assert (moved[capped] < most).all()
    assert (moved >= pd.Timedelta(0)).all()
