"""For every workbook that loads, every command and every dashboard completes.

The invariant of issue 13, over trackers generated from the sample by blanking,
garbling and retyping random cells on every sheet (tests/generated.py): every
command exits 0 or 1 without an 'unexpected' error, every request appears in
the deadlines, and a request that a blank leaves without a figure is listed in
the worklist with what is missing said in words.
"""

from __future__ import annotations

import json
from pathlib import Path

import generated
import pandas as pd
import pytest
from generated import AS_OF, Edit, build, completed, run_cli, serving
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patoolkit.completeness import GAP_ACTION, request_gaps
from patoolkit.deadlines import INACTIVE

KINDS = ["p2p", "appeal", "expedited-appeal", "external-review", "info-response",
         "medical-necessity"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> generated.Base:
    return generated.base(str(tmp_path_factory.mktemp("generated")))


def _edits() -> st.SearchStrategy[list[Edit]]:
    return st.deferred(lambda: generated.edits(_BASE_GRIDS[0]))


_BASE_GRIDS: list[dict[str, list[list[object]] | None]] = []


@pytest.fixture(scope="module", autouse=True)
def _grids(base: generated.Base) -> None:
    _BASE_GRIDS[:] = [base.grids]


def _settings(count: int) -> settings:
    return settings(max_examples=generated.examples(count), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_settings(400)
@given(changes=_edits(), pick=st.integers(0, 10**6), kinds=st.sets(st.sampled_from(KINDS),
                                                                  min_size=1, max_size=2))
def test_every_command_completes_and_lists_every_request(
        base: generated.Base, changes: list[Edit], pick: int, kinds: set[str]) -> None:
    tracker = build(base, changes)
    path = str(tracker.path)
    out = base.folder / "out"
    with serving(tracker):
        checked = run_cli("check", path, "--json")
        completed(checked)
        report = json.loads(checked.out)
        assert checked.code == (0 if report["ok"] else 1)
        for argv in (["check", path], ["deadlines", path, "--as-of", AS_OF],
                     ["worklist", path, "--as-of", AS_OF],
                     ["worklist", path, "--as-of", AS_OF, "--format", "csv"],
                     ["metrics", path], ["metrics", path, "--format", "json"],
                     ["audit-claims", path, str(base.claims_path)],
                     ["audit-claims", path, str(base.claims_path), "--format", "json"],
                     ["import", str(base.import_path), "--into", path, "--dry-run"]):
            completed(run_cli(*argv))

        deadlines = run_cli("deadlines", path, "--as-of", AS_OF, "--json")
        completed(deadlines)
        listed = json.loads(deadlines.out)
        requests = tracker.requests
        assert len(listed) == len(requests)  # every request, in the tracker's order
        assert [item["request_id"] for item in listed] == [
            None if pd.isna(value) else value for value in requests["request_id"]]

        actions = run_cli("worklist", path, "--as-of", AS_OF, "--format", "json")
        completed(actions)
        worklist = pd.DataFrame(json.loads(actions.out))
        gaps = request_gaps(requests)
        active = ~requests["status"].isin(INACTIVE).fillna(False)
        for row, words in gaps[active & gaps.notna()].items():
            mine = worklist[(worklist["row"] == row) & (worklist["action"] == GAP_ACTION)] \
                if len(worklist) else worklist
            assert len(mine) == 1, (row, words)
            assert mine["reason"].iloc[0] == words
        for position, row in enumerate(requests.index):
            # sent, and no due date: the reason is given (a blank plan type named as such)
            if listed[position]["decision_due"] is None and \
                    not pd.isna(requests.at[row, "submitted_at"]):
                why = listed[position]["basis"]["decision_due"]
                assert why, row
                if pd.isna(requests.at[row, "plan_type"]):
                    assert "Plan Type is blank" in why, row

        ids = requests["request_id"].dropna().astype(str).tolist()
        if ids:
            chosen = ids[pick % len(ids)]
            for kind in sorted(kinds):
                completed(run_cli("letter", path, chosen, "--kind", kind, "--no-history",
                                  "--out", str(out), "--set", "availability=weekdays 9-5",
                                  "--set", "enclosures=notes"))
        from patoolkit.ui import scorecard_report

        page = scorecard_report(path, None, None)
        assert "Something went wrong" not in page
        assert "requests" in page


@_settings(100)
@given(changes=_edits())
def test_every_dashboard_builds_without_a_cell_error(base: generated.Base,
                                                      changes: list[Edit]) -> None:
    from patoolkit import ui

    tracker = build(base, changes)
    path = str(tracker.path)
    with serving(tracker):
        pages = {
            "today": ui.today_app(path, as_of=AS_OF),
            "intake": ui.intake_app(path),
            "setup": ui.setup_app(path),
            "denials": ui.denials_app(path, as_of=AS_OF),
            "scorecard": ui.scorecard_app(path),
            "claims": ui.claims_app(path, str(base.claims_path)),
        }
    for name, page in pages.items():
        text = generated.widget_text(page)
        assert "Something went wrong" not in text, (name, text[-500:])
        assert "could not be opened" not in text, name


def test_generated_trackers_really_differ(base: generated.Base) -> None:
    """The harness changes what it says it changes (a blanked plan type is read as blank)."""
    rows = base.grids["Requests"]
    assert rows is not None
    column = [str(cell).strip().casefold() for cell in rows[0]].index("plan type")
    tracker = build(base, [Edit("Requests", 1, column, None)])
    assert pd.isna(tracker.requests["plan_type"].iloc[0])
    assert not pd.isna(build(base, []).requests["plan_type"].iloc[0])
    assert Path(tracker.path) == base.tracker_path
