"""`patoolkit check-request`: the New request page's check from the command line.

The same check as the page (patoolkit.intake.check_new_request), printed as lines or as
the JSON document; exit 0 when nothing blocks, 1 when something does, 2 when a field or
a value cannot be read. The tracker is never changed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from workbooks import sha256

from conftest import SAMPLE_TRACKER
from patoolkit.cli import main
from patoolkit.intake import check_new_request
from patoolkit.tracker.read import Tracker, load_tracker

AS_OF = "2026-12-01"
IMAGING = ["--set", "patient_id=PCLI1", "--set", "payer=Summit Health Plan",
           "--set", "plan_type=Commercial", "--set", "codes=70551",
           "--set", "service_category=Advanced Imaging"]


@pytest.fixture(scope="module")
def sample() -> Tracker:
    return load_tracker(SAMPLE_TRACKER)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check-request", str(SAMPLE_TRACKER), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def values_of(argv: list[str]) -> dict[str, str]:
    pairs = [argv[at + 1] for at, flag in enumerate(argv) if flag == "--set"]
    return dict(pair.split("=", 1) for pair in pairs)


def ready(sample: Tracker) -> list[str]:
    """A request nothing blocks: an enrolled provider, every required document on hand."""
    providers = sample.frames["Providers"]
    enrolled = providers[(providers["payer"] == "Summit Health Plan")
                         & (providers["enrollment_status"] == "Enrolled")].iloc[0]
    argv = [*IMAGING, "--set", f"ordering_npi={enrolled['npi']}", "--as-of", AS_OF]
    check = check_new_request(sample, values_of(argv), dt.date(2026, 12, 1))
    for entry in check.checklist:
        if entry.required:
            argv += ["--have", entry.item]
    return argv


def test_a_request_with_blockers_prints_the_pages_lines_and_exits_1(
        sample: Tracker, capsys: pytest.CaptureFixture[str]) -> None:
    before = sha256(SAMPLE_TRACKER)
    code, out, err = run(capsys, *IMAGING, "--set", "scheduled_service_date=2026-12-03",
                         "--as-of", AS_OF)
    assert code == 1, err
    check = check_new_request(sample, values_of(IMAGING) | {
        "scheduled_service_date": "2026-12-03"}, dt.date(2026, 12, 1))
    for line in check.lines:  # every line of the page, with its level
        assert f"  {line.level:<6} {line.text}" in out
    assert "The service date is at risk" in out
    assert "Blockers (it would be saved as a draft):" in out
    for blocker in check.blockers:
        assert f"  - {blocker}" in out
    assert "[ ] Prior imaging results (required; Criteria row" in out
    assert f"{len(check.blockers)} blocker(s)." in out
    assert sha256(SAMPLE_TRACKER) == before, "the tracker is never changed"


def test_nothing_blocks_exits_0(sample: Tracker, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *ready(sample))
    assert code == 0, out + err
    assert "Nothing blocks it." in out
    assert "Blockers" not in out
    assert "[x] Prior imaging results" in out


def test_json_is_the_checks_document(sample: Tracker,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    argv = ready(sample)
    code, out, _ = run(capsys, *argv, "--json")
    document = json.loads(out)
    assert code == 0
    assert document["ok"] is True
    assert document["as_of"] == AS_OF
    expected = check_new_request(sample, values_of(argv), dt.date(2026, 12, 1),
                                 documents=[argv[at + 1] for at, flag in enumerate(argv)
                                            if flag == "--have"]).as_dict()
    assert document == {**json.loads(json.dumps(expected)), "filled": {}}
    assert document["pa_required"]["answer"] == "Yes"
    assert document["pa_required"]["rule_rows"] == [2]
    assert document["enrollment"]["enrolled"] is True
    assert document["decision_due"].startswith("2026-12-11T23:59:59"), \
        "7 business days, one of them the Closures sheet's staff training day (Dec 10)"
    assert document["blockers"] == []
    blocked = json.loads(run(capsys, *IMAGING, "--json", "--as-of", AS_OF)[1])
    assert blocked["ok"] is False
    assert blocked["documents_missing"]
    assert {line["level"] for line in blocked["lines"]} <= {"ok", "warn", "error"}


def test_as_of_is_the_day_it_would_be_submitted(capsys: pytest.CaptureFixture[str]) -> None:
    first = json.loads(run(capsys, *IMAGING, "--json", "--as-of", "2026-12-01")[1])
    later = json.loads(run(capsys, *IMAGING, "--json", "--as-of", "2026-12-14")[1])
    assert later["as_of"] == "2026-12-14"
    assert later["decision_due"] > first["decision_due"]


def test_a_payers_only_plan_type_is_filled_as_the_page_does(
        capsys: pytest.CaptureFixture[str]) -> None:
    at = IMAGING.index("plan_type=Commercial")
    without = IMAGING[:at - 1] + IMAGING[at + 1:]  # no --set plan_type
    assert "plan_type=Commercial" not in without
    _, out, _ = run(capsys, *without, "--as-of", AS_OF)
    assert "filled plan_type: Commercial" in out
    assert "choose the plan type" not in out
    document = json.loads(run(capsys, *without, "--json", "--as-of", AS_OF)[1])
    assert document["filled"] == {"plan_type": "Commercial"}


def test_headings_are_field_names_too(capsys: pytest.CaptureFixture[str]) -> None:
    by_name = json.loads(run(capsys, *IMAGING, "--json", "--as-of", AS_OF)[1])
    by_heading = json.loads(run(capsys, "--set", "Patient ID=PCLI1",
                                "--set", "PAYER=Summit Health Plan", "--set",
                                "plan type=Commercial", "--set", "Codes = 70551",
                                "--set", "Service-Category=Advanced Imaging", "--json",
                                "--as-of", AS_OF)[1])
    assert by_heading == by_name


def test_a_similar_request_is_named_by_id_never_by_name(
        sample: Tracker, capsys: pytest.CaptureFixture[str]) -> None:
    first = sample.requests.iloc[0]
    _, out, _ = run(capsys, "--set", f"patient_id={first['patient_id']}",
                    "--set", f"payer={first['payer']}", "--set", f"codes={first['codes']}",
                    "--as-of", AS_OF)
    assert f"{first['request_id']} (" in out
    assert "Save another?" in out
    assert str(first["patient_name"]) not in out


@pytest.mark.parametrize(("argv", "said", "why"), [
    (["--set", "diagnosis=M54.16"], ["--set 'diagnosis': not a field of a new request",
                                     "icd10", "plan_type"],
     "a name not on the form: the fields are listed"),
    (["--set", "decision=Denied"], ["--set 'decision': not a field of a new request"],
     "a Requests column the New request form does not have"),
    (["--set", "plan_type"], ["--set 'plan_type': write it as field=value"], "no '='"),
    (["--set", "plan_type=Medicare"], ["Plan Type: 'Medicare' is not one of the allowed",
                                       "Medicare Advantage", "Nothing was checked."],
     "a value not on the list: the allowed ones are named"),
    (["--set", "urgency=soon", "--set", "scheduled_service_date=2026-02-30"],
     ["Urgency: 'soon'", "Scheduled Service Date: '2026-02-30' is not a real calendar date"],
     "every wrong value is said at once"),
    (["--set", "service_category=Advanced Imaging", "--set", "payer=Summit Health Plan",
      "--have", "X-ray film"], ["--have 'X-ray film': not on this request's checklist",
                                "Prior imaging results"],
     "a document not on the checklist: its items are named"),
    (["--have", "X-ray film"], ["it has none (set service_category"], "no checklist yet"),
    (["--as-of", "tomorrow"], ["--as-of 'tomorrow' is not a local date"], "not a date"),
])
def test_bad_input_exits_2_saying_what_and_what_is_allowed(
        capsys: pytest.CaptureFixture[str], argv: list[str], said: list[str],
        why: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2, (why, out, err)
    assert err.startswith("patoolkit check-request: "), why
    for words in said:
        assert words in err, (why, err)
    assert "Traceback" not in err
    assert "unexpected" not in err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["check-request", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "--set FIELD=VALUE" in text
    assert "--have ITEM" in text
    assert "Exit 0" in text


def test_out_writes_the_same_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, printed, _ = run(capsys, *IMAGING, "--as-of", AS_OF)
    out = tmp_path / "check.txt"
    assert run(capsys, *IMAGING, "--as-of", AS_OF, "--out", str(out))[0] == code
    assert out.read_text(encoding="utf-8") == printed
