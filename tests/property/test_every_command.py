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
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from patoolkit.completeness import GAP_ACTION, request_gaps
from patoolkit.tracker.read import load_tracker

pytestmark = pytest.mark.generated

KINDS = ["p2p", "appeal", "expedited-appeal", "external-review", "info-response",
         "medical-necessity"]  # the letter command's --kind values


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


def _extra_commands(path: str, base: generated.Base, request_id: str | None,
                    kind: str) -> dict[str, list[str]]:
    """The commands an example may run besides the three every example runs."""
    commands = {
        "check": ["check", path],
        "deadlines": ["deadlines", path, "--as-of", AS_OF],
        "worklist": ["worklist", path, "--as-of", AS_OF],
        "worklist csv": ["worklist", path, "--as-of", AS_OF, "--format", "csv"],
        "metrics": ["metrics", path],
        "metrics json": ["metrics", path, "--format", "json"],
        "audit-claims": ["audit-claims", path, str(base.claims_path)],
        "audit-claims json": ["audit-claims", path, str(base.claims_path), "--format", "json"],
        "import": ["import", str(base.import_path), "--into", path, "--dry-run"],
    }
    # a batch shares only fields about the sender: the call window of a P2P request
    commands["letters batch"] = ["letter", path, "--kind", kind, "--decision", "Denied",
                                 "--no-history", "--out", str(base.folder / "letters"),
                                 *(["--set", "availability=weekdays 9-5"] if kind == "p2p"
                                   else [])]
    if request_id is not None:
        commands["letter"] = ["letter", path, request_id, "--kind", kind, "--no-history",
                              "--out", str(base.folder / "letters"),
                              "--set", "availability=weekdays 9-5"]
    return commands


EXTRA = ["check", "deadlines", "worklist", "worklist csv", "metrics", "metrics json",
         "audit-claims", "audit-claims json", "import", "letter", "letters batch"]


@_settings(400)
@given(changes=_edits(), pick=st.integers(0, 10**6), kind=st.sampled_from(KINDS),
       extra=st.sets(st.sampled_from(EXTRA), min_size=1, max_size=2))
# a PA Required word added on the Lists sheet ('n/a'), used by a PA Rules row: the worklist
# failed with a TypeError (found at seed 305545905076727779820142259772118037559)
@example(changes=[Edit("PA Rules", 10, 4, "n/a"), Edit("Lists", 1, 4, "n/a")], pick=0,
         kind="p2p", extra={"check"})
def test_every_command_completes_and_lists_every_request(
        base: generated.Base, changes: list[Edit], pick: int, kind: str,
        extra: set[str]) -> None:
    """check, deadlines and worklist on every example; one or two other commands each (all
    of them, hundreds of times, over a run)."""
    tracker = build(base, changes)
    path = str(tracker.path)
    with serving(tracker):
        checked = run_cli("check", path, "--json")
        completed(checked)
        report = json.loads(checked.out)
        assert checked.code == (0 if report["ok"] else 1)

        deadlines = run_cli("deadlines", path, "--as-of", AS_OF, "--json")
        completed(deadlines)
        listed = json.loads(deadlines.out)
        requests = tracker.requests
        assert len(listed) == len(requests)  # every request, in the tracker's order
        assert [item["row"] for item in listed] == list(requests.index)
        assert [item["request_id"] for item in listed] == [
            None if pd.isna(value) else value for value in requests["request_id"]]
        for position, row in enumerate(requests.index):
            # sent, and no due date: the reason is given (a blank plan type named as such)
            if listed[position]["decision_due"] is None and \
                    not pd.isna(requests.at[row, "submitted_at"]):
                why = listed[position]["basis"]["decision_due"]
                assert why, row
                if pd.isna(requests.at[row, "plan_type"]):
                    assert "Plan Type is blank" in why, row

        actions = run_cli("worklist", path, "--as-of", AS_OF, "--format", "json")
        completed(actions)
        worklist = pd.DataFrame(json.loads(actions.out), columns=["row", "action", "reason"])
        gaps = request_gaps(requests)
        for row, words in gaps.dropna().items():  # said in words, in the worklist
            mine = worklist[(worklist["row"] == row) & (worklist["action"] == GAP_ACTION)]
            assert mine["reason"].tolist() == [words], (row, words)
        # and independently of how the words are made: an open request without a plan type,
        # a payer or an ID is listed, naming the blank column
        open_ = ~requests["status"].isin(["Withdrawn", "Expired", "Closed"]).fillna(False)
        for column, title in (("plan_type", "Plan Type"), ("payer", "Payer"),
                              ("request_id", "Request ID")):
            for row in requests.index[open_ & requests[column].isna()]:
                reasons = worklist.loc[worklist["row"] == row, "reason"].tolist()
                assert any(f"{title} is blank" in reason for reason in reasons), (row, title)

        ids = requests["request_id"].dropna().astype(str).tolist()
        chosen = ids[pick % len(ids)] if ids else None
        commands = _extra_commands(path, base, chosen, kind)
        for name in sorted(extra):
            if name in commands:
                ran = run_cli(*commands[name])
                completed(ran)
                if name == "metrics json":  # every request counted, by payer as overall
                    card = json.loads(ran.out)
                    assert card["overall"]["requests"] == len(requests)
                    assert sum(row["requests"] for row in card["by_payer"]) == len(requests)
                if name == "audit-claims json":  # every claim listed, clean ones included
                    audited = json.loads(ran.out)
                    assert {claim["claim_id"] for claim in audited["claims"]} >= set(
                        base.claim_ids)


# the report's page (what `patoolkit report` saves) is a page like the others here: its
# 1.2 s of charts would double the cost of a command example
PAGES = ["setup", "scorecard", "claims", "report"]


@_settings(100)
@given(changes=_edits(), also=st.sampled_from(PAGES))
def test_every_dashboard_builds_without_a_cell_error(base: generated.Base,
                                                      changes: list[Edit], also: str) -> None:
    """Today, Denials and New request on every example; one of the others each."""
    from patoolkit import ui

    tracker = build(base, changes)
    path = str(tracker.path)
    builders = {
        "today": lambda: ui.today_app(path, as_of=AS_OF),
        "intake": lambda: ui.intake_app(path),
        "denials": lambda: ui.denials_app(path, as_of=AS_OF),
        "setup": lambda: ui.setup_app(path),
        "scorecard": lambda: ui.scorecard_app(path),
        "claims": lambda: ui.claims_app(path, str(base.claims_path)),
        "report": lambda: ui.scorecard_report(path, None, None),
    }
    with serving(tracker):
        pages = {name: builders[name]() for name in ("today", "intake", "denials", also)}
    for name, page in pages.items():
        text = page if isinstance(page, str) else generated.widget_text(page)
        assert "Something went wrong" not in text, (name, text[-500:])
        assert "could not be" not in text, (name, text[-500:])
    today = pages["today"]
    assert "pa-unusable" not in getattr(today, "_dom_classes", ())


def test_generated_trackers_really_differ(base: generated.Base) -> None:
    """The harness changes what it says it changes (a blanked plan type is read as blank)."""
    rows = base.grids["Requests"]
    assert rows is not None
    column = [str(cell).strip().casefold() for cell in rows[0]].index("plan type")
    tracker = build(base, [Edit("Requests", 1, column, None)])
    assert pd.isna(tracker.requests["plan_type"].iloc[0])
    assert not pd.isna(build(base, []).requests["plan_type"].iloc[0])
    assert Path(tracker.path) == base.tracker_path


@_settings(25)
@given(changes=_edits())
def test_a_real_file_with_error_cells_and_formulas_loads_and_every_command_completes(
        base: generated.Base, changes: list[Edit]) -> None:
    """The same edits written to a real .xlsx by openpyxl: '#N/A' and '#REF!' become error
    cells and '=...' formulas without a cached value, which the reader sees as it would in a
    file saved by a program that does not calculate."""
    path = generated.write_xlsx(base, changes)
    for argv in (["check", str(path)], ["deadlines", str(path), "--as-of", AS_OF, "--json"],
                 ["worklist", str(path), "--as-of", AS_OF, "--format", "json"],
                 ["metrics", str(path), "--format", "json"]):
        completed(run_cli(*argv))
    # a real import into it: written (a tracker without errors), or refused saying why (1)
    before = load_tracker(path)
    imported = run_cli("import", str(base.import_path), "--into", str(path), "--by", "test")
    completed(imported)
    after = load_tracker(path)
    if before.errors:
        assert len(after.requests) == len(before.requests)
        assert "fix them first" in imported.err
    else:
        assert len(after.requests) >= len(before.requests)  # nothing lost, rows added


def test_the_report_command_runs_on_a_tracker_with_blanks(base: generated.Base) -> None:
    """`patoolkit report` (the scorecard notebook, run by nbclient) on a tracker whose plan
    types and payers are blank in places: the page is made, with every request counted."""
    rows = base.grids["Requests"]
    assert rows is not None
    heading = [str(cell).strip().casefold() for cell in rows[0]]
    blanks = [Edit("Requests", row, heading.index(name), None)
              for row in (1, 2, 3) for name in ("plan type", "payer")]
    path = generated.write_xlsx(base, blanks)
    out = path.with_name("report.html")
    completed(run_cli("report", str(path), "--out", str(out)))
    page = out.read_text(encoding="utf-8")
    assert "Something went wrong" not in page
    assert f">{len(rows) - 1}<" in page  # every request counted in the tiles
