"""--out: every command that prints a result writes the same text to a new file instead,
says where and how much, and refuses a place it cannot write whole."""

from __future__ import annotations

import csv
import errno
import io
import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from patoolkit.cli import build_parser, main

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
AS_OF = "2026-11-28"

# (case name, arguments after the command name; TRACKER and CLAIMS are filled in per test)
PRINTED = [
    ("check table", ["check", "TRACKER"]),
    ("check json", ["check", "TRACKER", "--json"]),
    ("deadlines table", ["deadlines", "TRACKER", "--as-of", AS_OF]),
    ("deadlines json", ["deadlines", "TRACKER", "--as-of", AS_OF, "--json"]),
    *[(f"worklist {fmt}", ["worklist", "TRACKER", "--as-of", AS_OF, "--format", fmt])
      for fmt in ("table", "csv", "json")],
    *[(f"metrics {fmt}", ["metrics", "TRACKER", "--format", fmt]) for fmt in ("table", "json")],
    *[(f"audit-claims {fmt}", ["audit-claims", "TRACKER", "CLAIMS", "--as-of", AS_OF,
                               "--format", fmt]) for fmt in ("table", "csv", "json")],
]
COMMANDS_WITH_OUT = ["check", "deadlines", "worklist", "metrics", "audit-claims"]


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, str]:
    """Copies of the sample tracker and its claims export (audit-claims needs both to match)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("pa_tracker.xlsx", "claims.xlsx"):
        shutil.copy2(SAMPLE / name, folder / name)
    return {"TRACKER": str(folder / "pa_tracker.xlsx"), "CLAIMS": str(folder / "claims.xlsx")}


def filled(arguments: list[str], inputs: dict[str, str]) -> list[str]:
    return [inputs.get(argument, argument) for argument in arguments]


def wrote_line(printed: str, path: Path) -> int:
    """The one line a command prints after writing --out; returns the count it names."""
    assert printed.count("\n") == 1, printed
    match = re.fullmatch(rf"Wrote (?:the \w+ of )?(\d+) .* to {re.escape(str(path))}\.\n",
                         printed)
    assert match, printed
    return int(match[1])


@pytest.mark.parametrize(("case", "arguments"), PRINTED, ids=[case for case, _ in PRINTED])
def test_out_holds_what_stdout_would(case: str, arguments: list[str], inputs: dict[str, str],
                                     tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    command = filled(arguments, inputs)
    code = main(command)
    on_terminal = capsys.readouterr().out
    assert on_terminal.strip(), "nothing to compare"
    out = tmp_path / "out" / "result.txt"
    out.parent.mkdir()
    assert main([*command, "--out", str(out)]) == code  # same exit code either way
    printed = capsys.readouterr().out
    assert out.read_text(encoding="utf-8") == on_terminal
    wrote_line(printed, out)
    assert [path.name for path in out.parent.iterdir()] == ["result.txt"]  # no temporary left


def test_the_count_is_the_rows_written(inputs: dict[str, str], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    worklist = tmp_path / "worklist.csv"
    main(["worklist", inputs["TRACKER"], "--as-of", AS_OF, "--format", "csv", "--out",
          str(worklist)])
    rows = list(csv.DictReader(io.StringIO(worklist.read_text(encoding="utf-8"))))
    assert len(rows) > 10
    assert wrote_line(capsys.readouterr().out, worklist) == len(rows)
    findings = tmp_path / "findings.csv"
    main(["audit-claims", inputs["TRACKER"], inputs["CLAIMS"], "--as-of", AS_OF, "--format",
          "csv", "--out", str(findings)])
    rows = list(csv.DictReader(io.StringIO(findings.read_text(encoding="utf-8"))))
    assert len(rows) > 0
    assert wrote_line(capsys.readouterr().out, findings) == len(rows)
    deadlines = tmp_path / "deadlines.txt"
    main(["deadlines", inputs["TRACKER"], "--as-of", AS_OF, "--out", str(deadlines)])
    assert wrote_line(capsys.readouterr().out, deadlines) == 300  # the sample's requests


def test_xlsx_goes_to_out_and_says_where(inputs: dict[str, str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "worklist.xlsx"
    assert main(["worklist", inputs["TRACKER"], "--as-of", AS_OF, "--format", "xlsx", "--out",
                 str(out)]) == 0
    count = wrote_line(capsys.readouterr().out, out)
    sheet = openpyxl.load_workbook(out)["Worklist"]
    assert sheet.max_row - 3 == count > 10  # title, blank row, headings, then one row each
    assert main(["worklist", inputs["TRACKER"], "--format", "xlsx"]) == 2
    assert "--format xlsx needs --out" in capsys.readouterr().err


EVERY_FORMAT = [*PRINTED,
                *[(f"{command} xlsx", [command, "TRACKER", *extra, "--format", "xlsx"])
                  for command, extra in (("worklist", []), ("metrics", []),
                                         ("audit-claims", ["CLAIMS"]))]]


@pytest.mark.parametrize(("case", "arguments"), EVERY_FORMAT,
                         ids=[case for case, _ in EVERY_FORMAT])
def test_out_in_a_missing_folder_is_refused_before_any_work(
        case: str, arguments: list[str], inputs: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no such folder" / ("result.xlsx" if "xlsx" in arguments else "result.txt")
    # a tracker that does not exist: the refusal must come first, before reading anything
    command = filled(arguments, {**inputs, "TRACKER": str(tmp_path / "missing.xlsx")})
    assert main([*command, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "no such folder" in captured.err
    assert "missing.xlsx" not in captured.err
    assert captured.out == ""
    assert not out.parent.exists()


@pytest.mark.parametrize("command", COMMANDS_WITH_OUT)
def test_out_that_is_a_folder_or_an_existing_file_is_refused(
        command: str, inputs: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    arguments = [command, inputs["TRACKER"], *([inputs["CLAIMS"]] if command == "audit-claims"
                                               else [])]
    folder = tmp_path / "reports"
    folder.mkdir()
    assert main([*arguments, "--out", str(folder)]) == 2
    captured = capsys.readouterr()
    assert "is a folder" in captured.err
    assert captured.out == ""
    assert not any(folder.iterdir())
    existing = folder / "kept.txt"
    existing.write_text("someone's notes\n", encoding="utf-8")
    assert main([*arguments, "--out", str(existing)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert existing.read_text(encoding="utf-8") == "someone's notes\n"


def test_a_failed_write_leaves_no_file(inputs: dict[str, str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    real_write_text = Path.write_text

    def disk_fills_halfway(self: Path, data: str, *args: object, **kwargs: object) -> int:
        real_write_text(self, data[:len(data) // 2], *args, **kwargs)  # type: ignore[arg-type]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_fills_halfway)
    out = tmp_path / "out" / "worklist.csv"
    out.parent.mkdir()
    assert main(["worklist", inputs["TRACKER"], "--as-of", AS_OF, "--format", "csv", "--out",
                 str(out)]) == 1
    assert capsys.readouterr().err == (
        f"patoolkit worklist: {out}: the disk holding {out.parent} is full; free some space "
        "and try again. Nothing was written.\n")
    assert not any(out.parent.iterdir()), "neither the file nor its temporary is left"


@pytest.mark.parametrize("command", COMMANDS_WITH_OUT)
def test_help_names_out(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    assert "--out FILE" in capsys.readouterr().out
