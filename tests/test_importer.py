"""Import: six differently shaped trackers practices already keep, each with the mapping
and the values expected; re-import finds them present; nothing is dropped."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from patoolkit import load_tracker
from patoolkit.cli import main
from patoolkit.importer import (
    COMPUTED,
    EXTRA,
    SOURCE_ROW_COLUMN,
    ImportProblemError,
    apply_choices,
    import_into,
    load_mapping,
    plan_import,
    propose_mapping,
    read_source,
)

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "pa_tracker.xlsx"


def xlsx(path: Path, rows: list[list[object]], title: str = "Sheet1") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def practice_management(folder: Path) -> Path:
    """NextGen-style Authorizations Report: a title, abbreviated headers, from-to codes."""
    return xlsx(folder / "authorizations_report.xlsx", [
        ["Authorizations Report", None, None, "Run 11/27/2026"], [],
        ["Auth Cd", "Pat Name", "Payer Name", "St Dt", "End Dt", "Fr CPT4", "To CPT4", "Un",
         "Un Left", "Crt Dt", "Days Pending", "Location"],
        ["AX1001", "DOE, JANE", "Summit Health Plan", dt.datetime(2026, 9, 1),
         dt.datetime(2026, 11, 30), "97110", "97112", 12, 4, dt.datetime(2026, 8, 25), 7, "Main"],
        ["AX1002", "ROE, RICHARD", "Lakeshore Medicare Advantage", "10/01/2026", "12/31/2026",
         "72148", None, 1, 1, "09/20/2026", 11, "North"],
    ], "Authorizations Report")


def therapy_log(folder: Path) -> Path:
    """A therapy clinic's authorization log with yes/no approval and response number."""
    return xlsx(folder / "therapy_log.xlsx", [
        ["Patient", "Insurance", "Date Submitted", "Visits Requested",
         "If Approved (Yes or No)", "Approval or Response Number", "Start", "Thru",
         "Therapist", "CPT"],
        ["Smith, Alex", "Summit Health Plan", "2026-10-01", 12, "Yes", "TH-88", "2026-10-05",
         "2026-12-05", "Pat Example, PT", "97110"],
        ["Jones, Kim", "Summit Health Plan", "2026-10-03", 8, "No", "REF-12", None, None,
         "Pat Example, PT", "97530"],
    ])


def shared_tracker(folder: Path) -> Path:
    """A shared (Google Sheets) tracker exported as CSV, with its own request numbers."""
    path = folder / "shared_tracker.csv"
    path.write_text(
        "Request #,Patient Name,DOB,Member ID,Insurance,CPT,ICD-10,Status,Submitted,"
        "Decision Date,Auth #,Notes\n"
        "SH-1,\"Lee, Dana\",1970-02-03,SHP555,Summit Health Plan,70551,M54.16,Pending,"
        "2026-11-02,,,waiting on records\n"
        "SH-2,\"Park, Sam\",1981-07-09,LMA777,Lakeshore Medicare Advantage,27447,M17.11,"
        "Approved,2026-10-20,2026-10-24,LK-9,\n"
        "SH-3,\"Diaz, Ana\",1990-12-30,SHP556,Summit Health Plan,72148,ZZZ.9,Waiting on MD,"
        "2026-11-05,,,\n", encoding="utf-8")
    return path


def payer_side(folder: Path) -> Path:
    """A payer portal's CSV of determinations (tab separated)."""
    path = folder / "payer_portal.csv"
    rows = [["Reference Number", "Member ID", "Member Name", "Plan", "Service Code",
             "Request Date", "Determination", "Determination Date", "Effective", "Expiration",
             "Units Approved"],
            ["R-501", "LMA900", "GREEN, TOM", "Lakeshore Medicare Advantage", "E0260",
             "11/01/2026", "A1", "11/03/2026", "11/03/2026", "05/03/2027", "1"],
            ["R-502", "LMA901", "WHITE, EVE", "Lakeshore Medicare Advantage", "70553",
             "11/02/2026", "A3", "11/05/2026", "", "", ""]]
    path.write_text("\n".join("\t".join(row) for row in rows) + "\n", encoding="utf-8")
    return path


def home_care(folder: Path) -> Path:
    """A home-care agency's authorization export: units used, a status column."""
    return xlsx(folder / "home_care_auths.xlsx", [
        ["Client", "Payor", "Auth Number", "HCPCS", "Auth Start", "Auth End",
         "Units Authorized", "Units Used", "Status", "Discipline"],
        ["Hall, Rita", "Summit Health Plan", "HC-1", "G0299", dt.datetime(2026, 9, 1),
         dt.datetime(2026, 11, 30), 20, 14, "Active", "RN"],
        ["Ford, Ned", "Summit Health Plan", "HC-2", "G0299", dt.datetime(2026, 10, 1),
         dt.datetime(2026, 12, 31), 10, 2, "Active", "RN"],
    ])


def bom_multiline(folder: Path) -> Path:
    """A CSV with a byte-order mark, semicolons and a note over two lines."""
    path = folder / "bom_export.csv"
    path.write_bytes(
        ("\ufeffPatient;Payer;Codes;Submitted;Status;Notes\r\n"
         "\"Stone, Liv\";Summit Health Plan;70553;03/11/2026;Submitted;\"called twice\r\n"
         "fax sent 3/12\"\r\n"
         "\"Quinn, Al\";Summit Health Plan;97110;2026-03-12;Approved;\r\n").encode("utf-8"))
    return path


# source builder, the mapping expected (source -> target), values expected in the tracker
SHAPES: list[tuple[Callable[[Path], Path], dict[str, str], list[dict[str, object]]]] = [
    (practice_management,
     {"Auth Cd": "auth_number", "Pat Name": "patient_name", "Payer Name": "payer",
      "St Dt": "auth_effective_date", "End Dt": "auth_expiration_date", "Fr CPT4": "codes_from",
      "To CPT4": "codes_to", "Un": "units_authorized", "Un Left": "units_left",
      "Crt Dt": "submitted_at", "Days Pending": COMPUTED, "Location": EXTRA},
     [{"auth_number": "AX1001", "patient_name": "Doe, Jane", "codes": "97110, 97111, 97112",
       "units_authorized": 12, "units_used": 8, "status": "Approved",
       "auth_effective_date": pd.Timestamp("2026-09-01"),
       "submitted_at": pd.Timestamp("2026-08-25"), "Location": "Main"},
      {"auth_number": "AX1002", "patient_name": "Roe, Richard", "codes": "72148",
       "units_used": 0, "auth_expiration_date": pd.Timestamp("2026-12-31")}]),
    (therapy_log,
     {"Patient": "patient_name", "Insurance": "payer", "Date Submitted": "submitted_at",
      "Visits Requested": "units_authorized", "If Approved (Yes or No)": "decision",
      "Approval or Response Number": "auth_number", "Start": "auth_effective_date",
      "Thru": "auth_expiration_date", "Therapist": "ordering_provider", "CPT": "codes"},
     [{"patient_name": "Smith, Alex", "decision": "Approved", "status": "Approved",
       "auth_number": "TH-88", "codes": "97110"},
      {"patient_name": "Jones, Kim", "decision": "Denied", "status": "Denied"}]),
    (shared_tracker,
     {"Request #": "request_id", "Patient Name": "patient_name", "DOB": "patient_dob",
      "Member ID": "member_id", "Insurance": "payer", "CPT": "codes", "ICD-10": "icd10",
      "Status": "status", "Submitted": "submitted_at", "Decision Date": "decision_date",
      "Auth #": "auth_number", "Notes": "notes"},
     [{"request_id": "SH-1", "status": "Submitted", "notes": "waiting on records",
       "patient_dob": pd.Timestamp("1970-02-03")},
      {"request_id": "SH-2", "status": "Approved", "auth_number": "LK-9"},
      {"request_id": "SH-3", "icd10": None, "status": None}]),
    (payer_side,
     {"Reference Number": "payer_reference", "Member ID": "member_id",
      "Member Name": "patient_name", "Plan": "payer", "Service Code": "codes",
      "Request Date": "submitted_at", "Determination": "decision",
      "Determination Date": "decision_date", "Effective": "auth_effective_date",
      "Expiration": "auth_expiration_date", "Units Approved": "units_authorized"},
     [{"payer_reference": "R-501", "patient_name": "Green, Tom", "decision": "Approved",
       "codes": "E0260", "submitted_at": pd.Timestamp("2026-11-01")},
      {"payer_reference": "R-502", "decision": "Denied", "status": "Denied"}]),
    (home_care,
     {"Client": "patient_name", "Payor": "payer", "Auth Number": "auth_number",
      "HCPCS": "codes", "Auth Start": "auth_effective_date", "Auth End": "auth_expiration_date",
      "Units Authorized": "units_authorized", "Units Used": "units_used", "Status": "status",
      "Discipline": EXTRA},
     [{"auth_number": "HC-1", "units_used": 14, "status": "Approved", "Discipline": "RN"},
      {"auth_number": "HC-2", "units_authorized": 10}]),
    (bom_multiline,
     {"Patient": "patient_name", "Payer": "payer", "Codes": "codes", "Submitted": "submitted_at",
      "Status": "status", "Notes": "notes"},
     [{"patient_name": "Stone, Liv", "notes": "called twice\nfax sent 3/12",
       "submitted_at": pd.Timestamp("2026-03-11")},
      {"patient_name": "Quinn, Al", "status": "Approved"}]),
]
IDS = [shape[0].__name__ for shape in SHAPES]


@pytest.fixture
def tracker(tmp_path: Path) -> Path:
    path = tmp_path / "tracker.xlsx"
    shutil.copy2(SAMPLE, path)
    return path


@pytest.mark.parametrize(("build", "expected", "values"), SHAPES, ids=IDS)
def test_the_mapping_proposed(tmp_path: Path, build: Callable[[Path], Path],
                              expected: dict[str, str], values: list[dict[str, object]]) -> None:
    mapping = propose_mapping(read_source(build(tmp_path)))
    proposed = {choice.source: choice.target for choice in mapping.columns}
    assert proposed == expected
    assert all(choice.reason for choice in mapping.columns)


@pytest.mark.parametrize(("build", "expected", "values"), SHAPES, ids=IDS)
def test_import_lands_the_values_and_reimport_finds_them(
        tmp_path: Path, tracker: Path, build: Callable[[Path], Path],
        expected: dict[str, str], values: list[dict[str, object]]) -> None:
    source_path = build(tmp_path)
    before = load_tracker(tracker)
    source = read_source(source_path)
    plan = plan_import(source, propose_mapping(source), before)
    # nothing dropped: every source row is new, present or skipped with a reason
    assert sorted([*plan.new_rows, *plan.present, *plan.skipped]) == list(source.rows.index)
    ids = import_into(plan, before, by="consultant")
    after = load_tracker(tracker)
    assert len(after.requests) == len(before.requests) + len(ids)
    assert not after.errors, [str(problem) for problem in after.errors[:3]]
    requests = after.requests
    landed = requests[requests["request_id"].isin(ids)]
    extras = after.frames["Requests"]
    for wanted, (row, got) in zip(values, landed.iterrows(), strict=False):
        for name, value in wanted.items():
            actual = got[name] if name in got else extras.loc[row, name]
            if value is None:
                assert pd.isna(actual), (name, actual)
            else:
                assert actual == value, (name, actual, value)
    assert (extras.loc[landed.index, SOURCE_ROW_COLUMN].astype(float).astype(int).tolist()
            == plan.new_rows)
    history = after.frames["History"]
    imported = history[history["request_id"].isin(ids)]
    assert sorted(imported["request_id"]) == sorted(ids)  # one History row per request
    assert set(imported["field"]) == {"imported from"}
    assert set(imported["new_value"]) == {f"{source_path.name} row {row}"
                                         for row in plan.new_rows}
    again = plan_import(read_source(source_path), propose_mapping(source), after)
    assert again.new_rows == []
    assert sorted(again.present) == sorted(plan.new_rows)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_header_is_the_row_of_headings_not_a_title_or_a_full_data_row(
        tmp_path: Path, suffix: str) -> None:
    rows = [["PA log, front desk", "", "", "", ""],
            ["exported 11/27/2026", "", "", "", ""],
            ["Patient", "Payer", "", "Status", "Date Submitted"],  # one heading left blank
            ["Lee, Dana", "Summit Health Plan", "room 2", "Pending", "11/02/2026"],
            ["Park, Sam", "Summit Health Plan", "room 4", "Approved", "10/20/2026"]]
    path = tmp_path / f"log{suffix}"
    if suffix == ".csv":
        path.write_text("\n".join(",".join(f'"{cell}"' for cell in row) for row in rows) + "\n",
                        encoding="utf-8")
    else:
        xlsx(path, rows)
    source = read_source(path)
    assert source.header_row == 3
    assert source.headers[:2] == ["Patient", "Payer"]
    assert source.headers[3:] == ["Status", "Date Submitted"]
    assert source.rows.index.tolist() == [4, 5]  # the file's row numbers
    assert propose_mapping(source).target_of("Date Submitted") == "submitted_at"


def test_values_that_do_not_fit_are_kept_in_the_notes(tmp_path: Path, tracker: Path) -> None:
    source = read_source(shared_tracker(tmp_path))
    plan = plan_import(source, propose_mapping(source), load_tracker(tracker))
    notes = plan.transformed.values.loc[4, "notes"]  # SH-3, the file's row 4
    assert notes == ("import: Status 'Waiting on MD' is not a status value patoolkit knows; "
                     "add it to [values.status] in the mapping; import: ICD-10 'ZZZ.9' did "
                     "not fit")  # and nothing else: the row had no notes of its own
    assert plan.transformed.values.loc[2, "notes"] == "waiting on records"
    assert pd.isna(plan.transformed.values.loc[3, "notes"])  # blank stays blank
    assert any(note.row == 4 and note.column == "ICD-10" for note in plan.transformed.notes)


def test_the_same_request_twice_in_a_file_is_imported_once(tmp_path: Path,
                                                          tracker: Path) -> None:
    path = xlsx(tmp_path / "twice.xlsx", [
        ["Patient", "Payer", "CPT", "Submitted"],
        ["Lee, Dana", "Summit Health Plan", "70551", "2026-11-02"],
        ["Lee, Dana", "Summit Health Plan", "70551", "2026-11-02"],
        [None, None, None, None],
        ["just a comment", None, None, None]])
    source = read_source(path)
    plan = plan_import(source, propose_mapping(source), load_tracker(tracker))
    assert plan.new_rows == [2, 5]
    assert plan.skipped == {3: "the same request as row 2 of this file"}


def test_a_saved_mapping_is_reused_and_corrections_win(tmp_path: Path, tracker: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    source_path = home_care(tmp_path)
    saved = tmp_path / "client.toml"
    assert main(["import", str(source_path), "--into", str(tracker), "--dry-run",
                 "--save-map", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "Dry run: nothing was written." in out
    assert len(load_tracker(tracker).requests) == 300
    text = saved.read_text().replace('"Discipline" = "(extra column)"',
                                     '"Discipline" = "service_category"')
    text = text.replace('"Status" = "status"', '"Status" = "(computed: not imported)"')
    saved.write_text(text)
    mapping = propose_mapping(read_source(source_path), load_mapping(saved))
    targets = {choice.source: choice.target for choice in mapping.columns}
    assert targets["Discipline"] == "service_category"
    assert targets["Status"] == COMPUTED
    saved.write_text('[columns]\n"Client" = "patient_nickname"\n')
    with pytest.raises(ImportProblemError, match="not a Requests column"):
        load_mapping(saved)


def test_units_left_that_cannot_give_units_used_are_kept_as_typed(tmp_path: Path,
                                                                   tracker: Path) -> None:
    path = xlsx(tmp_path / "log.xlsx", [
        ["Patient", "Payer", "CPT", "Units", "Units Left", "Submitted"],
        ["Lee, Dana", "Summit Health Plan", "97110", 10, 12, "2026-11-02"],
        ["Park, Sam", "Summit Health Plan", "97110", 10, 2.5, "2026-11-03"],
        ["Diaz, Ana", "Summit Health Plan", "97110", 10, 3, "2026-11-04"]])
    source = read_source(path)
    values = plan_import(source, propose_mapping(source),
                         load_tracker(tracker)).transformed.values
    assert values["units_used"].tolist()[2] == 7
    for row, left in ((2, "12"), (3, "2.5")):
        assert pd.isna(values.loc[row, "units_used"])
        assert f"Units Left '{left}' (units left) could not give units used" in \
            values.loc[row, "notes"]
        assert "units_used" not in values.loc[row, "notes"]  # no made-up number in the notes


def test_a_column_kept_as_extra_under_a_contract_heading_stays_extra(
        tmp_path: Path, tracker: Path) -> None:
    path = xlsx(tmp_path / "log.xlsx", [
        ["Patient", "Payer", "CPT", "Submitted", "Decision"],
        ["Lee, Dana", "Summit Health Plan", "70551", "2026-11-02", "maybe next week"]])
    source = read_source(path)
    mapping = apply_choices(propose_mapping(source), {"Decision": EXTRA})
    ids = import_into(plan_import(source, mapping, load_tracker(tracker)),
                      load_tracker(tracker))
    after = load_tracker(tracker)
    assert not after.errors
    row = after.requests.index[after.requests["request_id"] == ids[0]][0]
    assert pd.isna(after.requests.loc[row, "decision"])  # not read back as the decision
    sheet = openpyxl.load_workbook(tracker)["Requests"]
    headings = [cell.value for cell in sheet[1]]
    assert headings.count("Decision (imported)") == 1
    column = headings.index("Decision (imported)") + 1
    assert sheet.cell(row=sheet.max_row, column=column).value == "maybe next week"


def test_units_left_or_a_to_code_without_its_partner_go_to_the_notes(tmp_path: Path,
                                                                     tracker: Path) -> None:
    path = xlsx(tmp_path / "log.xlsx", [
        ["Patient", "Payer", "CPT", "To CPT4", "Units Left", "Submitted"],
        ["Lee, Dana", "Summit Health Plan", "97110", "97112", 4, "2026-11-02"]])
    source = read_source(path)
    mapping = propose_mapping(source)
    assert mapping.target_of("To CPT4") == "codes_to"
    assert mapping.target_of("Units Left") == "units_left"
    values = plan_import(source, mapping, load_tracker(tracker)).transformed.values
    assert values.loc[2, "codes"] == "97110"
    assert pd.isna(values.loc[2, "units_used"])
    assert "To CPT4 '97112' is a 'to' code with no 'from' code column" in values.loc[2, "notes"]
    assert "Units Left '4' (units left) could not give units used" in values.loc[2, "notes"]


def test_two_columns_for_one_field_must_be_chosen(tmp_path: Path) -> None:
    mapping = propose_mapping(read_source(home_care(tmp_path)))
    with pytest.raises(ImportProblemError, match="both map to auth_number"):
        apply_choices(mapping, {"Client": "auth_number"})


def test_cli_imports_and_reports(tmp_path: Path, tracker: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    source = shared_tracker(tmp_path)
    assert main(["import", str(source), "--into", str(tracker), "--by", "ana"]) == 0
    out = capsys.readouterr().out
    assert "Imported 3 request(s)" in out
    assert "'Waiting on MD' is not a status value" in out
    assert "1970-02-03 " in out  # a date of birth shown as a date, not '1970-02-03 00:00'
    assert "1970-02-03 00:00" not in out
    assert main(["import", str(source), "--into", str(tracker)]) == 0
    assert "3 already in the tracker" in capsys.readouterr().out
    assert main(["check", str(tracker)]) == 0
    assert main(["import", str(tmp_path / "nope.csv"), "--into", str(tracker)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_wizard_proposes_corrects_previews_and_imports(tmp_path: Path, tracker: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import patoolkit.ui.import_wizard as wizard_module
    from patoolkit.ui import ClientSetup

    reads: list[Path] = []

    def counted(path: Path) -> object:
        reads.append(Path(path))
        return load_tracker(path)

    monkeypatch.setattr(wizard_module, "load_tracker", counted)
    setup = ClientSetup(str(tracker))
    wizard = setup.importer
    source = home_care(tmp_path)
    wizard.upload.value = ({"name": source.name, "type": "", "size": 1,
                            "content": memoryview(source.read_bytes()),
                            "last_modified": dt.datetime(2026, 11, 28)},)
    assert wizard.dropdowns["Auth Number"].value == "auth_number"
    assert "2</b> rows to import" in wizard.preview.value
    assert "HC-1" in wizard.preview.value
    assert "kept as an extra column" in wizard.whys["Discipline"].value
    wizard.dropdowns["Discipline"].value = "owner"  # corrected by hand
    assert "<th>owner</th>" in wizard.preview.value
    assert "100%: corrected by hand" in wizard.whys["Discipline"].value
    wizard.dropdowns["Client"].value = "auth_number"  # two columns for one field
    assert "both map to auth_number" in wizard.feedback.value
    assert wizard.import_button.disabled
    wizard.dropdowns["Client"].value = "patient_name"
    assert not wizard.import_button.disabled
    ids = wizard.run_import()
    assert len(ids) == 2
    assert reads == [tracker] * 2  # once for the corrections, once more after the import
    assert "Imported 2 request(s)" in wizard.report.value
    requests = load_tracker(tracker).requests
    assert list(requests.loc[requests["request_id"].isin(ids), "owner"]) == ["RN", "RN"]
    assert "0</b> rows to import, <b>2</b> already" in wizard.preview.value
