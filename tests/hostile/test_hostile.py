"""Every command over the hostile-file corpus (tests/hostile/corpus.py): nothing crashes,
nothing is silently misread, nothing the analyst has is lost.

For each tracker: check, deadlines, worklist (csv), metrics, the claims audit, a
letter and an import dry run complete (exit 0 or 1) or refuse the file plainly
(exit 2 naming it), never with 'unexpected' or a traceback; a read leaves the file
as it was; the case's finding is said. For each import source: a dry run and a
real import into a copy of the tracker complete or refuse plainly, and nothing is
imported as mojibake or as a formula. For each claims file: the audit completes and
its CSV carries no live formula.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from pathlib import Path

import pytest
from generated import Ran, run_cli

from hostile import corpus
from patoolkit.formulas import looks_like_formula
from patoolkit.tracker.read import load_tracker

AS_OF = "2026-11-16"


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[corpus.Case]:
    return corpus.build(tmp_path_factory.mktemp("hostile"))


def _by_kind(cases: list[corpus.Case], kind: str) -> list[corpus.Case]:
    found = [case for case in cases if case.kind == kind]
    assert found, f"the corpus has no {kind} cases"
    return found


def _plain(ran: Ran) -> None:
    said = ran.out + ran.err
    assert "Traceback" not in said, (ran.argv, said[-800:])
    assert "unexpected" not in said, (ran.argv, said[-800:])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"


def _tracker_commands(path: Path, claims: Path) -> list[list[str]]:
    return [
        ["check", str(path)],
        ["deadlines", str(path), "--json", "--as-of", AS_OF],
        ["worklist", str(path), "--format", "csv", "--as-of", AS_OF],
        ["metrics", str(path)],
        ["audit-claims", str(path), str(claims), "--format", "csv", "--as-of", AS_OF],
    ]


def test_every_command_completes_or_refuses_plainly_on_every_tracker(
        cases: list[corpus.Case]) -> None:
    claims = cases[0].path.parent / "base_claims.xlsx"
    for case in _by_kind(cases, "tracker"):
        before = _digest(case.path)
        said = ""
        for argv in _tracker_commands(case.path, claims):
            ran = run_cli(*argv)
            _plain(ran)
            said += ran.out + ran.err
            if case.unusable:
                assert ran.code == 2, (case.name, argv, ran.code, ran.err)
                assert case.path.name in ran.err, (case.name, argv, ran.err)
            else:
                assert ran.code in (0, 1), (case.name, argv, ran.code, ran.err)
        assert case.expect in said, (case.name, case.expect)
        assert _digest(case.path) == before, f"{case.name}: a read changed the file"


def test_a_letter_and_an_import_write_into_every_usable_tracker(
        cases: list[corpus.Case], tmp_path: Path) -> None:
    """The writer on hostile trackers: it writes or refuses plainly, and the analyst's
    sheets survive a write."""
    source = next(case for case in cases if case.name == "sep_semicolon").path
    for case in _by_kind(cases, "tracker"):
        if case.unusable:
            continue
        copy = tmp_path / case.name / "tracker.xlsx"
        copy.parent.mkdir()
        shutil.copy2(case.path, copy)
        sheets_before = load_tracker(copy)
        ran = run_cli("import", str(source), "--into", str(copy), "--by", "corpus")
        _plain(ran)
        assert ran.code in (0, 1), (case.name, ran.err[-800:])
        after = load_tracker(copy)
        assert after.extra_sheets == sheets_before.extra_sheets, case.name
        assert set(after.sheet_names) == set(sheets_before.sheet_names), case.name
        first = sheets_before.requests["request_id"].dropna().astype(str)
        if len(first):
            ran = run_cli("letter", str(copy), str(first.iloc[0]), "--kind", "appeal", "--out",
                          str(copy.parent / "letters"), "--as-of", AS_OF)
            _plain(ran)


def _patient_names(path: Path) -> list[str]:
    return load_tracker(path).requests["patient_name"].dropna().astype(str).tolist()


def test_every_import_source_is_read_or_refused_plainly(cases: list[corpus.Case],
                                                        tmp_path: Path) -> None:
    base = cases[0].path.parent / "base.xlsx"
    for case in _by_kind(cases, "import"):
        tracker = tmp_path / case.name / "tracker.xlsx"
        tracker.parent.mkdir()
        shutil.copy2(base, tracker)
        before = _digest(tracker)
        dry = run_cli("import", str(case.path), "--into", str(tracker), "--dry-run")
        _plain(dry)
        assert _digest(tracker) == before, f"{case.name}: a dry run changed the tracker"
        ran = run_cli("import", str(case.path), "--into", str(tracker), "--by", "corpus")
        _plain(ran)
        said = dry.out + dry.err + ran.out + ran.err
        assert case.expect in said, (case.name, case.expect, said[-1500:])
        if case.unusable:
            assert ran.code != 0, (case.name, ran.code)
            assert dry.code != 0, (case.name, dry.code)
            assert case.path.name in ran.err, (case.name, ran.err)
            assert _digest(tracker) == before, f"{case.name}: a refused import wrote"
            continue
        assert ran.code in (0, 1), (case.name, ran.code, ran.err[-800:])
        names = _patient_names(tracker)
        assert not [name for name in names if "Ã" in name or "\ufffd" in name], case.name
        assert not [name for name in names if name.startswith("=")], case.name
        assert {"García, Zoë", "Smith, Ann"} & set(names) or case.name != "mixed_utf8_cp1252"


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_every_claims_file_is_audited_with_no_live_formula_in_its_csv(
        cases: list[corpus.Case]) -> None:
    base = cases[0].path.parent / "base.xlsx"
    for case in _by_kind(cases, "claims"):
        ran = run_cli("audit-claims", str(base), str(case.path), "--format", "csv",
                      "--as-of", AS_OF)
        _plain(ran)
        assert ran.code in (0, 1), (case.name, ran.err[-800:])
        cells = [cell for row in csv.reader(io.StringIO(ran.out)) for cell in row]
        assert cells, case.name
        assert not [cell for cell in cells if looks_like_formula(cell) and not _number(cell)], \
            case.name
