"""`patoolkit check`: a corpus of malformed trackers, the JSON report, exit codes, --help.

Each corpus case is one workbook a practice could really produce, with the
exact places (sheet, Excel row, column as the file spells it) the report must
name, and nothing else. The file must come out of `check` byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from workbooks import make_tracker, sha256

from patoolkit.cli import build_parser, main
from patoolkit.schema import SHEETS
from patoolkit.tracker.create import new_tracker

Where = tuple[str, int | None, str | None]


@dataclass(frozen=True)
class Case:
    """A malformed tracker and what `check` must say about it."""

    id: str
    rows: list[dict[str, object] | None]
    errors: set[Where] = field(default_factory=set)
    warnings: set[Where] = field(default_factory=set)
    says: str = ""  # found in the message at the first expected place
    headers: list[str] | None = None
    extra_sheets: dict[str, list[list[object]]] = field(default_factory=dict)
    sheet_name: str = "Requests"
    header_row: int = 1
    title_rows: tuple[str, ...] = ()


R = "Requests"
ONE = {"Request ID": "PA-1"}

CORPUS = [
    Case("missing request_id column",
         rows=[], headers=["Patient ID", "Status"],
         errors={(R, 1, None)}, says="'Request ID' is missing"),
    Case("duplicate request_id names the first row",
         rows=[{"Request ID": "PA-1"}, {"Request ID": "PA-2"}, {"Request ID": "PA-1"}],
         errors={(R, 4, "Request ID")}, says="row 2 already uses it"),
    Case("duplicate request_id differing only in case and spaces",
         rows=[{"Request ID": "PA-7"}, {"Request ID": "pa-7 "}],
         errors={(R, 3, "Request ID")}, says="row 2 already uses it"),
    Case("status outside the list suggests the close value",
         rows=[{"Request ID": "PA-1", "Status": "Aproved"}],
         errors={(R, 2, "Status")}, says="did you mean 'Approved'"),
    Case("plan_type misspelt",
         rows=[{"Request ID": "PA-1", "Plan Type": "Medicare Advantge"}],
         errors={(R, 2, "Plan Type")}, says="did you mean 'Medicare Advantage'"),
    Case("day-first impossible date 31/02/2026",
         rows=[{"Request ID": "PA-1", "Submitted At": "31/02/2026"}],
         errors={(R, 2, "Submitted At")}, says="not a real calendar date"),
    Case("ISO impossible date 2026-02-30",
         rows=[{"Request ID": "PA-1", "Submitted At": "2026-02-30"}],
         errors={(R, 2, "Submitted At")}, says="not a real calendar date"),
    Case("words in a date column",
         rows=[{"Request ID": "PA-1", "Submitted At": "next tuesday"}],
         errors={(R, 2, "Submitted At")}, says="is not a date"),
    Case("boolean cell in a date column is reported, not dropped",
         rows=[{"Request ID": "PA-1", "Submitted At": True}],
         errors={(R, 2, "Submitted At")}),
    Case("time-only cell in a date-time column is reported, not dropped",
         rows=[{"Request ID": "PA-1", "Submitted At": dt.time(14, 30)}],
         errors={(R, 2, "Submitted At")}),
    Case("decision dated before submission",
         rows=[{"Request ID": "PA-1", "Submitted At": "2026-03-10",
                "Decision Date": "2026-03-01"}],
         errors={(R, 2, "Decision Date")}, says="before the submission"),
    Case("authorization expires before it takes effect",
         rows=[{"Request ID": "PA-1", "Auth Effective Date": "2026-04-01",
                "Auth Expiration Date": "2026-03-01"}],
         errors={(R, 2, "Auth Expiration Date")}, says="expires before"),
    Case("information sent the day before the payer asked",
         rows=[{"Request ID": "PA-1", "Info Requested At": "2026-03-05 10:00",
                "Info Responded At": "2026-03-04 16:00"}],
         errors={(R, 2, "Info Responded At")}, says="before the payer asked"),
    Case("information sent hours before the payer asked, same day",
         rows=[{"Request ID": "PA-1", "Info Requested At": dt.datetime(2026, 3, 5, 14, 0),
                "Info Responded At": dt.datetime(2026, 3, 5, 9, 0)}],
         errors={(R, 2, "Info Responded At")}, says="before the payer asked"),
    Case("NPI with a wrong check digit",
         rows=[{"Request ID": "PA-1", "Ordering NPI": "1234567890"}],
         errors={(R, 2, "Ordering NPI")}, says="check digit"),
    Case("NPI with nine digits",
         rows=[{"Request ID": "PA-1", "Ordering NPI": 123456789}],
         errors={(R, 2, "Ordering NPI")}, says="10 digits"),
    Case("ICD-10 code not in the code set",
         rows=[{"Request ID": "PA-1", "ICD-10": "M54.16, M54.99"}],
         errors={(R, 2, "ICD-10")}, says="'M54.99' is not in the ICD-10-CM code set"),
    Case("ICD-10 category is not billable (warning)",
         rows=[{"Request ID": "PA-1", "ICD-10": "M54"}],
         warnings={(R, 2, "ICD-10")}, says="not a billable code"),
    Case("four digits: a state's own code or a typo, a warning either way",
         rows=[{"Request ID": "PA-1", "Codes": "7055"}],
         warnings={(R, 2, "Codes")}, says="is not a CPT or HCPCS code; if it is the state's"),
    Case("CPT code with letters",
         rows=[{"Request ID": "PA-1", "Codes": "70551, ZZ123"}],
         errors={(R, 2, "Codes")}, says="'ZZ123'"),
    Case("more units used than authorized",
         rows=[{"Request ID": "PA-1", "Units Authorized": 5, "Units Used": 7}],
         errors={(R, 2, "Units Used")}, says="more units used than authorized"),
    Case("negative extension_days",
         rows=[{"Request ID": "PA-1", "Extension Days": -3}],
         errors={(R, 2, "Extension Days")}, says="whole number"),
    Case("fractional extension_days",
         rows=[{"Request ID": "PA-1", "Extension Days": 2.5}],
         errors={(R, 2, "Extension Days")}, says="whole number"),
    Case("Yes/No column with maybe",
         rows=[{"Request ID": "PA-1", "Docs Complete": "maybe"}],
         errors={(R, 2, "Docs Complete")}, says="Yes or No"),
    Case("approved without an auth number (warning)",
         rows=[{"Request ID": "PA-1", "Status": "Approved", "Decision": "Approved",
                "Decision Date": "2026-03-02"}],
         headers=["Request ID", "Status", "Decision", "Decision Date", "Auth Number"],
         warnings={(R, 2, "Auth Number")}, says="authorization number"),
    Case("denied without a denial reason (warning)",
         rows=[{"Request ID": "PA-1", "Status": "Denied", "Decision": "Denied",
                "Decision Date": "2026-03-02"}],
         headers=["Request ID", "Status", "Decision", "Decision Date", "Denial Reason"],
         warnings={(R, 2, "Denial Reason")}, says="denial reason"),
    Case("Settings with a non-numeric info_response_hours",
         rows=[ONE],
         extra_sheets={"Settings": [["Key", "Value"], ["practice_name", "Clinic"],
                                    ["info_response_hours", "a day"]]},
         errors={("Settings", 3, "Value")}, says="info_response_hours"),
    Case("Providers sheet with a bad NPI",
         rows=[ONE],
         extra_sheets={"Providers": [["NPI", "Payer", "Enrollment Status"],
                                     ["1234567893", "Acme Health", "Enrolled"],
                                     ["1234567890", "Acme Health", "Enrolled"]]},
         errors={("Providers", 3, "NPI")}, says="check digit"),
    Case("PA Rules with a reversed code range",
         rows=[ONE],
         extra_sheets={"PA Rules": [["Payer", "Code or Code Range", "PA Required"],
                                    ["*", "70551-70553", "Yes"],
                                    ["*", "70553-70551", "Yes"]]},
         errors={("PA Rules", 3, "Code or Code Range")}, says="lower code to the higher"),
    Case("Closures with a date that is not a date",
         rows=[ONE],
         extra_sheets={"Closures": [["Date", "Reason"], ["2026-12-24", "Eve"],
                                    ["the friday after", "Training"]]},
         errors={("Closures", 3, "Date")}, says="is not a date"),
    Case("header below title rows keeps Excel's row numbers",
         rows=[{"Request ID": "PA-1", "Status": "Submitted"},
               {"Request ID": "PA-2", "Status": "Sent"}],
         header_row=4, title_rows=("Prior authorization tracker", "Dr. Example's practice"),
         errors={(R, 6, "Status")}, says="not one of the allowed values"),
    Case("blank rows between data rows keep Excel's row numbers",
         rows=[{"Request ID": "PA-1"}, None, None, {"Request ID": "PA-2", "Urgency": "ASAP"}],
         errors={(R, 5, "Urgency")}, says="not one of the allowed values"),
    Case("sheet named in another case is reported as the file names it",
         rows=[{"request_id": "PA-1", "CHANNEL": "Carrier pigeon"}], sheet_name="requests",
         errors={("requests", 2, "CHANNEL")}),
    Case("a row with only a note needs a request_id",
         rows=[{"Request ID": "PA-1", "Notes": ""}, {"Request ID": None, "Notes": "call back"}],
         errors={(R, 3, "Request ID")}, says="no request_id"),
    Case("many problems in many sheets, all in one pass",
         rows=[{"Request ID": "PA-1", "Status": "Aproved", "Submitted At": "2026-02-30",
                "Ordering NPI": "1234567890", "Codes": "ZZ123", "ICD-10": "M54"},
               None,
               {"Request ID": "PA-1", "Plan Type": "Medicare Advantge",
                "Units Authorized": 2, "Units Used": 3, "Docs Complete": "maybe"}],
         extra_sheets={"Settings": [["Key", "Value"], ["renewal_lead_days", "two weeks"]],
                       "PA Rules": [["Payer", "Code", "PA Required"], ["*", "70553-70551", "Yes"]]},
         errors={(R, 2, "Status"), (R, 2, "Submitted At"), (R, 2, "Ordering NPI"),
                 (R, 2, "Codes"), (R, 4, "Request ID"), (R, 4, "Plan Type"),
                 (R, 4, "Units Used"), (R, 4, "Docs Complete"),
                 ("Settings", 2, "Value"), ("PA Rules", 2, "Code")},
         warnings={(R, 2, "ICD-10")}),
]


def _where(problems: list[dict[str, object]]) -> set[Where]:
    """Where each problem is, but the blank-cell warnings: these cases type a few columns on
    purpose (test_blank_cells_that_leave_a_figure_uncomputed_are_warned tests those)."""
    return {(p["sheet"], p["row"], p["column"]) for p in problems  # type: ignore[misc]
            if " is blank: " not in str(p["message"])
            and "the workbook has no" not in str(p["message"])}


def _build(case: Case, folder: Path) -> Path:
    return make_tracker(folder / "tracker.xlsx", case.rows, headers=case.headers,
                        extra_sheets=case.extra_sheets, sheet_name=case.sheet_name,
                        header_row=case.header_row, title_rows=case.title_rows)


def _check_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["check", "--json", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, json.loads(captured.out)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 15
    assert len({case.id for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_check_names_each_problem_exactly(case: Case, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = _build(case, tmp_path)
    before = sha256(path)
    code, report = _check_json(capsys, str(path))

    assert _where(report["errors"]) == case.errors
    assert _where(report["warnings"]) == case.warnings
    assert report["ok"] is (not case.errors)
    assert code == (1 if case.errors else 0)
    if case.says:
        first = sorted(case.errors or case.warnings, key=str)[0]
        messages = [p["message"] for p in report["errors"] + report["warnings"]
                    if (p["sheet"], p["row"], p["column"]) == first]
        assert any(case.says in message for message in messages), messages
    assert sha256(path) == before, "check must not change the file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tracker.xlsx"], \
        "check must not leave files beside the tracker"


@pytest.mark.parametrize("case", [c for c in CORPUS if c.warnings and not c.errors],
                         ids=lambda c: c.id)
def test_strict_turns_warnings_into_exit_1(case: Case, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = _build(case, tmp_path)
    assert main(["check", str(path)]) == 0
    assert main(["check", "--strict", str(path)]) == 1
    capsys.readouterr()


def test_json_report_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_tracker(tmp_path / "t.xlsx", [
        {"Request ID": "PA-1", "Status": "Aproved", "ICD-10": "M54"},
        {"Request ID": "PA-2", "Status": "Submitted"},
    ])
    code, report = _check_json(capsys, str(path))
    assert code == 1
    assert {"ok", "rows", "errors", "warnings"} <= set(report)
    assert report["ok"] is False
    assert report["rows"] == 2
    for problem in report["errors"] + report["warnings"]:
        assert {"sheet", "row", "column", "message"} <= set(problem)
        assert isinstance(problem["message"], str)
        assert problem["message"]
    assert report["errors"][0]["row"] == 2
    assert report["errors"][0]["column"] == "Status"
    by_row = [p for p in report["warnings"] if p["row"] is not None]  # not a missing sheet
    assert by_row[0]["column"] == "ICD-10"


def test_text_report_names_sheet_row_and_column(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = make_tracker(tmp_path / "t.xlsx", [{"Request ID": "PA-1"}, None,
                                              {"Request ID": "PA-2", "Submitted At": "31/02/2026"}])
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "Requests row 4, column 'Submitted At'" in out
    assert "31/02/2026" in out


def test_clean_tracker_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_tracker(tmp_path / "t.xlsx", [
        {"Request ID": "PA-1", "Status": "Submitted", "Plan Type": "Commercial",
         "Submitted At": dt.datetime(2026, 3, 2, 9, 30), "Ordering NPI": "1234567893",
         "Codes": "70551", "ICD-10": "M54.16", "Patient ID": "P1",
         "Payer": "Summit Health Plan"},
    ], extra_sheets={sheet.name: [[column.title for column in sheet.columns]]
                     for sheet in SHEETS if sheet.name not in ("Requests", "History")})
    code, report = _check_json(capsys, str(path))
    assert (code, report["ok"], report["errors"], report["warnings"]) == (0, True, [], [])
    assert report["rows"] == 1
    assert main(["check", "--strict", str(path)]) == 0


def test_blank_new_tracker_checks_clean(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = new_tracker(tmp_path / "blank.xlsx")
    before = sha256(path)
    code, report = _check_json(capsys, str(path))
    assert code == 0
    assert report["ok"] is True
    assert report["rows"] == 0
    assert report["errors"] == []
    assert report["warnings"] == []
    assert main(["check", "--strict", str(path)]) == 0
    assert sha256(path) == before


def _ole2(extra: bytes = b"") -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048 + extra + b"\0" * 512


UNUSABLE = {
    "missing path": None,
    "empty file": b"",
    "CSV named .xlsx": b"request_id,status\nPA-1,Submitted\n",
    "legacy xls": _ole2(),
    "password-protected": _ole2("EncryptionInfo".encode("utf-16-le")),
}


@pytest.mark.parametrize("content", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_unusable_file_is_one_line_and_exit_2(content: bytes | None, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tracker.xlsx"
    if content is not None:
        path.write_bytes(content)
    for args in (["check", str(path)], ["check", "--json", str(path)]):
        assert main(args) == 2
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, captured.err
        assert str(path) in lines[0]
        assert "unexpected" not in lines[0]


def test_no_requests_sheet_lists_sheets_found(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = make_tracker(tmp_path / "t.xlsx", [{"Request ID": "PA-1"}], sheet_name="Sheet1",
                        extra_sheets={"Payers": [["Payer"]]})
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "'Sheet1'" in err
    assert "'Payers'" in err
    assert "Traceback" not in err


def test_directory_is_unusable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_truncated_workbook_is_unusable(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    good = make_tracker(tmp_path / "good.xlsx", [{"Request ID": "PA-1"}])
    data = good.read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "damaged" in err


def _subcommands() -> list[str]:
    parser = build_parser()
    for action in parser._actions:  # argparse offers no public way to list subcommands
        if action.choices and isinstance(action.choices, dict):
            return sorted(action.choices)
    return []


def test_every_contract_command_we_ship_has_help() -> None:
    assert "check" in _subcommands()


@pytest.mark.parametrize("command", [None, *_subcommands()])
def test_help_works(command: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"] if command else ["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage:" in out
    if command:
        assert command in out


def test_check_help_mentions_exit_codes_and_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = capsys.readouterr().out
    assert "--json" in out
    assert "--strict" in out


def test_damaged_worksheet_is_one_clear_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    good = make_tracker(tmp_path / "good.xlsx", [{"Request ID": "PA-1"}])
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = b"<worksheet><sheetData><row"
            target.writestr(name, data)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert str(path) in err
    assert "unexpected" not in err, "a damaged workbook is unusable input, not a crash"
