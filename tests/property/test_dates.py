"""Properties of date arithmetic and ordering that must hold for every input."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from patoolkit.calendars import BusinessCalendar
from patoolkit.deadlines import DATE_DEADLINES, compute_deadlines
from patoolkit.schema import LISTS
from patoolkit.tracker.read import typed_frame
from patoolkit.worklist import build_worklist, order_worklist

CALENDAR = BusinessCalendar(closures=(dt.date(2026, 12, 1), dt.date(2027, 3, 15)),
                            first_year=2019, last_year=2032)
dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))
times = st.one_of(st.just(dt.time()), st.times())


@given(start=dates, n=st.integers(min_value=0, max_value=400))
def test_adding_n_business_days_lands_on_one_and_counts_back_to_n(start: dt.date, n: int) -> None:
    begin = pd.Series([pd.Timestamp(start)])
    end = CALENDAR.add_business_days(begin, n)
    if n > 0:
        assert CALENDAR.is_business_day(end).iloc[0]
        assert end.iloc[0] > begin.iloc[0]
    assert CALENDAR.count_business_days(begin, end).iloc[0] == n


@given(first=dates, second=dates)
def test_counting_is_antisymmetric(first: dt.date, second: dt.date) -> None:
    a, b = pd.Series([pd.Timestamp(first)]), pd.Series([pd.Timestamp(second)])
    assert CALENDAR.count_business_days(a, b).iloc[0] == -CALENDAR.count_business_days(b, a).iloc[0]


request_values = st.fixed_dictionaries({
    "plan_type": st.sampled_from(LISTS["plan_type"]),
    "urgency": st.sampled_from(LISTS["urgency"]),
    "submitted_at": st.builds(dt.datetime.combine, dates, times),
    "decision": st.sampled_from([None, *LISTS["decision"]]),
    "decision_offset": st.integers(min_value=0, max_value=60),
    "info_offset": st.one_of(st.none(), st.integers(min_value=0, max_value=20)),
    "extension_days": st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
    "appeal_outcome": st.sampled_from([None, "Upheld", "Overturned"]),
})


def _request(values: dict[str, object], number: int) -> dict[str, object]:
    submitted = values["submitted_at"]
    assert isinstance(submitted, dt.datetime)
    decided = submitted + dt.timedelta(days=int(values["decision_offset"]))  # type: ignore[arg-type]
    row: dict[str, object] = {
        "request_id": f"R{number}", "plan_type": values["plan_type"],
        "urgency": values["urgency"], "submitted_at": submitted,
        "extension_days": values["extension_days"], "payer": "P",
    }
    if values["info_offset"] is not None:
        asked = submitted + dt.timedelta(days=int(values["info_offset"]))  # type: ignore[arg-type]
        row.update(info_requested_at=asked, info_responded_at=asked + dt.timedelta(hours=30))
    if values["decision"]:
        row.update(decision=values["decision"], decision_date=decided.date())
        if values["appeal_outcome"]:
            row.update(appeal_outcome=values["appeal_outcome"],
                       appeal_decision_date=decided.date() + dt.timedelta(days=20))
    return row


STARTS = {"decision_due": "submitted_at", "info_response_due": "info_requested_at",
          "p2p_window_closes": "decision_date", "appeal_target": "decision_date",
          "appeal_filing_deadline": "decision_date",
          "external_review_deadline": "appeal_decision_date",
          "state_fair_hearing_deadline": "appeal_decision_date"}


@settings(max_examples=60, deadline=None)
@given(st.lists(request_values, min_size=1, max_size=8))
def test_no_deadline_before_its_start(values: list[dict[str, object]]) -> None:
    requests = typed_frame("Requests", [_request(v, n) for n, v in enumerate(values)])
    table = compute_deadlines(requests, None, {}, CALENDAR, "2026-06-01")
    for name, start in STARTS.items():
        both = table[name].notna() & requests[start].notna()
        assert (table.loc[both, name] >= requests.loc[both, start]).all(), name
    for name in DATE_DEADLINES:  # every date given has its basis
        assert table["basis_" + name][table[name].notna()].notna().all(), name


@settings(max_examples=40, deadline=None)
@given(st.lists(request_values, min_size=1, max_size=10), st.randoms(use_true_random=False))
def test_worklist_order_is_total_and_stable(values: list[dict[str, object]], rng) -> None:
    requests = typed_frame("Requests", [_request(v, n) for n, v in enumerate(values)])
    empty = {name: typed_frame(name, []) for name in ("Payers", "PA Rules", "Criteria",
                                                      "Providers")}
    now = pd.Timestamp("2026-06-01 10:00")
    table = build_worklist(requests, empty["Payers"], empty["PA Rules"], empty["Criteria"],
                           empty["Providers"], {}, CALENDAR, now)
    # the same rows in any order sort to the same list
    positions = list(range(len(table)))
    rng.shuffle(positions)
    again = order_worklist(table.iloc[positions].reset_index(drop=True), now)
    pd.testing.assert_frame_equal(table.reset_index(drop=True), again[table.columns])
    # overdue before due-today before later
    bucket = [0 if due < now else 1 if due.normalize() == now.normalize() else 2
              for due in table["due"]]
    assert bucket == sorted(bucket)
