"""Import: six differently shaped trackers practices already keep, each with the mapping
and the values expected; re-import finds them present; nothing is dropped."""

from __future__ import annotations

import codecs
import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from patoolkit import add_request, load_tracker
from patoolkit.cli import main
from patoolkit.importer import (
    COMPUTED,
    EXTRA,
    MAX_SOURCE_COLUMNS,
    SOURCE_ROW_COLUMN,
    ImportPlan,
    ImportProblemError,
    Source,
    apply_choices,
    import_into,
    load_mapping,
    plan_import,
    propose_mapping,
    read_source,
    synonyms,
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


# --- re-import, gaps, headings, date ranges, code ranges, state codes, the why -------------------

def csv_file(path: Path, rows: list[list[object]]) -> Path:
    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        return f'"{text}"' if any(mark in text for mark in ',"\n') else text

    path.write_text("\n".join(",".join(cell(value) for value in row) for row in rows) + "\n",
                    encoding="utf-8")
    return path


def plan_for(path: Path, tracker: Path) -> ImportPlan:
    """The plan the CLI makes: the proposed mapping against a fresh load of the tracker."""
    source = read_source(path)
    return plan_import(source, propose_mapping(source), load_tracker(tracker))


def import_file(path: Path, tracker: Path) -> tuple[list[str], ImportPlan]:
    """Import path into tracker as the CLI does (a fresh load each time); the IDs and plan."""
    plan = plan_for(path, tracker)
    return import_into(plan, load_tracker(tracker)), plan


PENDING_AND_DECIDED = [
    ["Patient", "Payer", "CPT", "Submitted", "Status", "Auth #", "DOS"],
    ["Lee, Dana", "Summit Health Plan", "70551", "11/02/2026", "Pending", None, "12/01/2026"],
    ["Lee, Dana", "Summit Health Plan", "97110, 97140", "11/03/2026 10:30", "Pending", None,
     None],
    ["Nguyen, Bao", "Summit Health Plan", "72148", None, "Not Started", None, "12/05/2026"],
    ["Ortiz, Eva", "Summit Health Plan", "72148", None, "Not Started", None, None],
    ["Cho, Min", None, "70553", "11/04/2026", "Pending", None, None],
    ["Park, Sam", "Summit Health Plan", "97110", "11/04/2026", "Approved", "SAME-1", None],
    ["Diaz, Ana", "Summit Health Plan", "97110", "11/05/2026", "Approved", "SAME-1", None],
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_importing_the_same_file_again_adds_nothing(tmp_path: Path, tracker: Path,
                                                    suffix: str) -> None:
    path = tmp_path / f"log{suffix}"
    csv_file(path, PENDING_AND_DECIDED) if suffix == ".csv" else xlsx(path, PENDING_AND_DECIDED)
    before = len(load_tracker(tracker).requests)
    first, plan = import_file(path, tracker)
    assert len(first) == 7  # every row: pending ones, one without a date, two sharing an auth
    assert plan.skipped == {}
    for attempt in range(2):  # the file again, then again after the tracker was reloaded
        again, plan = import_file(path, tracker)
        assert again == [], attempt
        assert sorted(plan.present.values()) == sorted(first)
    assert len(load_tracker(tracker).requests) == before + 7


def test_two_patients_sharing_an_auth_number_are_two_requests(tmp_path: Path,
                                                             tracker: Path) -> None:
    path = csv_file(tmp_path / "auths.csv", [PENDING_AND_DECIDED[0], *PENDING_AND_DECIDED[6:]])
    ids, _ = import_file(path, tracker)
    requests = load_tracker(tracker).requests.set_index("request_id")
    assert requests.loc[ids, "patient_name"].tolist() == ["Park, Sam", "Diaz, Ana"]
    assert requests.loc[ids, "auth_number"].tolist() == ["SAME-1", "SAME-1"]


MATCH_HEADINGS = ["Patient ID", "Patient", "Payer", "CPT", "Submitted", "Auth #"]
# (in the tracker, in the file, found present?, why)
MATCH_CASES = [
    (["P7", "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026", None],
     ["P7", "LEE, DANA", "summit health plan", "70551", "2026-11-02", None], True,
     "capitals and the date's spelling do not make another request"),
    ([None, "Lee, Dana", "Summit Health Plan", "97140, 97110", "11/02/2026", None],
     [None, "Dana Lee", "Summit Health Plan", "97110;97140", "11/02/2026 15:20", None], True,
     "the name's order, the codes' order and a time on the same day are the same request"),
    ([None, "Lee, Dana", "Summit Health Plan", "97110, 97111, 97112", "11/02/2026", None],
     [None, "Lee, Dana", "Summit Health Plan", "97110-97112", "11/02/2026", None], True,
     "a code range is the codes it spans"),
    (["00123", "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026", None],
     ["123", "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026", None], True,
     "a patient ID that lost its leading zeros in Excel is the same patient"),
    (["P7", "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026", "AX-1"],
     ["P7", "Lee, D.", "Summit Health Plan", "72148", "12/01/2026", "ax1"], True,
     "the auth number for the same patient ID finds the request whatever else changed"),
    ([None, "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026", "AX-1"],
     [None, "Roe, Tim", "Summit Health Plan", "70551", "11/02/2026", "AX-1"], False,
     "the same auth number for another patient is another request"),
    (["P7", "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026", None],
     ["P8", "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026", None], False,
     "two patient IDs are two patients, even with one name"),
    ([None, "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026", "AX-1"],
     [None, "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026", "AX-2"], False,
     "two auth numbers for the same service and day are two authorizations"),
    ([None, "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026", None],
     [None, "Lee, Dana", "Summit Health Plan", "70551", "11/09/2026", None], False,
     "another date is another request"),
    ([None, "Lee, Dana", "Summit Health Plan", "70551", None, None],
     [None, "Lee, Dana", "Summit Health Plan", "70551", None, None], True,
     "a request not sent yet (no date at all) is found again"),
]


DATE_HEADINGS = ["Patient ID", "Patient", "Payer", "CPT", "Submitted", "DOS"]
P7 = ["P7", "Lee, Dana", "Summit Health Plan", "70551"]
# (the tracker's dates, the file's dates, found present?, why): Submitted, service date (DOS)
DATE_CASES = [
    ([None, "12/01/2026"], ["11/25/2026", "12/01/2026"], True,
     "a pending request once submitted: the service date agrees, the new date tells nothing"),
    (["11/25/2026", "12/01/2026"], [None, "12/01/2026"], True,
     "a date on one side only does not tell two requests apart"),
    ([None, "12/01/2026"], ["11/25/2026", "12/08/2026"], False,
     "a date both rows have that disagrees is another request"),
    (["11/25/2026", "12/01/2026"], ["11/25/2026", "12/08/2026"], False,
     "one date agreeing does not outweigh one that disagrees"),
    ([None, None], ["11/25/2026", None], True,
     "a request typed before it had a date is found once it has one"),
    (["11/25/2026", None], [None, None], True,
     "a row without a date cannot be told apart from the request"),
    (["01/10/2026", None], [None, "12/01/2026"], False,
     "two dated requests without a date in common: nothing says they are one"),
]
RECOGNISED = ([(MATCH_HEADINGS, *case) for case in MATCH_CASES]
              + [(DATE_HEADINGS, [*P7, *stored], [*P7, *incoming], present, why)
                 for stored, incoming, present, why in DATE_CASES])


@pytest.mark.parametrize(("headings", "stored", "incoming", "present", "why"), RECOGNISED,
                         ids=[case[4] for case in RECOGNISED])
def test_a_request_is_recognised_by_patient_payer_codes_and_dates(
        tmp_path: Path, small_tracker: Path, headings: list[object], stored: list[object],
        incoming: list[object], present: bool, why: str) -> None:
    ids, _ = import_file(csv_file(tmp_path / "first.csv", [headings, stored]), small_tracker)
    plan = plan_for(csv_file(tmp_path / "second.csv", [headings, incoming]), small_tracker)
    assert plan.present == ({2: ids[0]} if present else {}), why
    assert plan.new_rows == ([] if present else [2]), why


def test_rows_with_an_id_a_decision_or_an_auth_but_gaps_are_imported_and_listed(
        tmp_path: Path, tracker: Path) -> None:
    path = csv_file(tmp_path / "gaps.csv", [
        ["Request #", "Patient", "Payer", "CPT", "Decision", "Auth #", "Notes"],
        ["G-1", None, None, None, None, None, "ID only"],
        [None, None, "Summit Health Plan", None, "Denied", None, "no patient, no codes"],
        [None, None, None, None, None, "AX-77", "auth only"],
        [None, "Lee, Dana", "Summit Health Plan", "70551", None, None, "complete"],
        [None, "Roe, Tim", None, "70551", None, None, "no payer"],
        [None, None, None, None, None, None, "a remark, not a request"]])
    ids, plan = import_file(path, tracker)
    assert plan.new_rows == [2, 3, 4, 5, 6]
    assert plan.skipped == {7: "no patient, payer or codes, and no request ID, decision or "
                               "auth number: not a request"}
    report = plan.report()
    assert "row 2: imported without a patient, a payer and codes; fill them in on the " \
           "Requests sheet" in report
    assert "row 3: imported without a patient and codes; fill them in" in report
    assert "row 6: imported without a payer; fill it in on the Requests sheet" in report
    assert "row 5: imported" not in report  # nothing missing, nothing said
    requests = load_tracker(tracker).requests.set_index("request_id")
    assert requests.loc[ids, "notes"].tolist() == ["ID only", "no patient, no codes",
                                                   "auth only", "complete", "no payer"]
    again, plan = import_file(path, tracker)
    assert again == []
    assert sorted(plan.present.values()) == sorted(ids)


@pytest.mark.parametrize(("heading", "target"), [
    ("Pt Name", "patient_name"), ("Ins", "payer"), ("Insurance", "payer"),
    ("Medicaid ID", "member_id"), ("Member #", "member_id"), ("Member", "patient_name"),
    ("DOS", "scheduled_service_date"), ("Visits", "units_authorized"),
    ("Dates Approved", "auth_date_range"), ("PA #", "request_id"), ("PA Number", "auth_number"),
])
def test_common_headings_are_recognised(heading: str, target: str) -> None:
    source = Source(Path("log.csv"), "log.csv", 1, [heading, "Notes"],
                    pd.DataFrame({heading: ["x"], "Notes": ["y"]}, index=[2]))
    assert propose_mapping(source).target_of(heading) == target


def test_every_synonym_finds_its_own_column() -> None:
    """No two lines of import_synonyms.toml claim one heading (after normalising)."""
    tables = synonyms()
    words = [(word, target) for group in ("columns", "special")
             for target, group_words in tables[group].items() for word in group_words]
    for word, target in words:
        alone = Source(Path("log.csv"), "log.csv", 1, [word],
                       pd.DataFrame({word: ["x"]}, index=[2]))
        assert propose_mapping(alone).target_of(word) == target, word


def test_the_headings_land_their_values(tmp_path: Path, tracker: Path) -> None:
    path = csv_file(tmp_path / "medicaid.csv", [
        ["Pt Name", "Ins", "Medicaid ID", "Procedure Code", "DOS", "Visits", "Dates Approved"],
        ["LEE, DANA", "Summit Health Plan", "123456789", "97110", "12/01/2026", "12",
         "01/05/2027-03/31/2027"]])
    ids, _ = import_file(path, tracker)
    request = load_tracker(tracker).requests.set_index("request_id").loc[ids[0]]
    assert request["patient_name"] == "Lee, Dana"
    assert request["payer"] == "Summit Health Plan"
    assert request["member_id"] == "123456789"
    assert request["scheduled_service_date"] == pd.Timestamp("2026-12-01")
    assert request["units_authorized"] == 12
    assert request["auth_effective_date"] == pd.Timestamp("2027-01-05")
    assert request["auth_expiration_date"] == pd.Timestamp("2027-03-31")


@pytest.mark.parametrize(("cell", "effective", "expiration"), [
    ("01/05/2026-03/31/2026", "2026-01-05", "2026-03-31"),
    ("1/5/26 - 3/31/26", "2026-01-05", "2026-03-31"),
    ("2026-01-05 to 2026-03-31", "2026-01-05", "2026-03-31"),
    ("01-05-2026 thru 03-31-2026", "2026-01-05", "2026-03-31"),
    ("until March", None, None),
    ("01/05/2026", None, None),
])
def test_a_range_of_dates_is_split_into_effective_and_expiration(
        tmp_path: Path, tracker: Path, cell: str, effective: str | None,
        expiration: str | None) -> None:
    path = csv_file(tmp_path / "log.csv", [["Patient", "Payer", "CPT", "Dates Approved"],
                                           ["Lee, Dana", "Summit Health Plan", "97110", cell]])
    values = plan_for(path, tracker).transformed.values.loc[2]
    if effective is None:
        assert pd.isna(values["auth_effective_date"])
        assert pd.isna(values["auth_expiration_date"])
        assert values["notes"] == (f"import: Dates Approved '{cell}' is not two dates from-to "
                                   "(01/05/2026-03/31/2026); type them in the effective and "
                                   "expiration dates")
    else:
        assert values["auth_effective_date"] == pd.Timestamp(effective)
        assert values["auth_expiration_date"] == pd.Timestamp(expiration)
        assert pd.isna(values["notes"])


def test_an_effective_date_column_wins_over_the_range(tmp_path: Path, tracker: Path) -> None:
    path = csv_file(tmp_path / "log.csv", [
        ["Patient", "Payer", "CPT", "Dates Approved", "Effective"],
        ["Lee, Dana", "Summit Health Plan", "97110", "01/05/2026-03/31/2026", "01/07/2026"],
        ["Roe, Tim", "Summit Health Plan", "97110", "01/05/2026-03/31/2026", None]])
    values = plan_for(path, tracker).transformed.values
    assert values["auth_effective_date"].tolist() == [pd.Timestamp("2026-01-07"),
                                                      pd.Timestamp("2026-01-05")]
    assert values["auth_expiration_date"].tolist() == [pd.Timestamp("2026-03-31")] * 2


@pytest.mark.parametrize(("cell", "codes", "note"), [
    ("97110-97112", "97110, 97111, 97112", None),
    ("97110 - 97112, 97530", "97110, 97111, 97112, 97530", None),
    ("G0151-G0153", "G0151, G0152, G0153", None),
    ("3074F-3075F", "3074F, 3075F", None),
    ("97110/97140 97110", "97110, 97140", None),
    ("97001-97050", ", ".join(str(code) for code in range(97001, 97051)), None),
    ("97001-97051", "97001, 97051", "is a range of more than 50 codes: only its two ends are "
     "in the codes; type the codes the request is for"),
    ("97110 GP", None, "is not a list of CPT or HCPCS codes (70551, 97110-97112); kept in "
     "the notes"),
])
def test_a_code_range_in_a_cell_is_expanded(tmp_path: Path, tracker: Path, cell: str,
                                            codes: str | None, note: str | None) -> None:
    path = csv_file(tmp_path / "log.csv", [["Patient", "Payer", "CPT", "Submitted"],
                                           ["Lee, Dana", "Summit Health Plan", cell,
                                            "11/02/2026"]])
    values = plan_for(path, tracker).transformed.values.loc[2]
    assert (pd.isna(values["codes"]) if codes is None else values["codes"] == codes)
    assert (pd.isna(values["notes"]) if note is None
            else values["notes"] == f"import: CPT '{cell}' {note}")


def test_a_long_from_to_range_keeps_its_ends_and_says_so(tmp_path: Path,
                                                         tracker: Path) -> None:
    path = csv_file(tmp_path / "log.csv", [["Patient", "Payer", "Fr CPT4", "To CPT4"],
                                           ["Lee, Dana", "Summit Health Plan", "00100",
                                            "01999"]])
    plan = plan_for(path, tracker)
    values = plan.transformed.values.loc[2]
    assert values["codes"] == "00100, 01999"
    assert values["notes"] == ("import: Fr CPT4 '00100-01999' is a range of more than 50 "
                               "codes: only its two ends are in the codes; type the codes the "
                               "request is for")


def test_state_service_codes_stay_in_the_codes_with_a_warning(tmp_path: Path,
                                                              tracker: Path) -> None:
    path = csv_file(tmp_path / "medicaid.csv", [
        ["Patient", "Payer", "Service Code", "Submitted"],
        ["Lee, Dana", "Summit Health Plan", "Z1234", "11/02/2026"],
        ["Roe, Tim", "Summit Health Plan", "1234, 97110", "11/02/2026"],
        ["Cho, Min", "Summit Health Plan", "T1019, S9123", "11/02/2026"]])
    ids, plan = import_file(path, tracker)
    report = plan.report()
    assert ("row 2, column 'Service Code': 'Z1234' is not a CPT or HCPCS code: kept in the "
            "codes as a state's own service code; check it with the payer") in report
    assert "row 3, column 'Service Code': '1234' is not a CPT or HCPCS code" in report
    assert "row 4" not in report  # T1019 and S9123 are HCPCS Level II codes
    requests = load_tracker(tracker).requests.set_index("request_id")
    assert requests.loc[ids, "codes"].tolist() == ["Z1234", "1234, 97110", "T1019, S9123"]
    assert requests.loc[ids, "notes"].isna().all()  # not moved to the notes
    again, plan = import_file(path, tracker)
    assert again == []
    assert len(plan.present) == 3


def test_the_why_names_the_column_that_won(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "log.csv", [
        ["Insurance Company Name", "Insurance", "Payer", "Carrier", "Patient"],
        ["Summit", "Summit Health Plan", "Summit Health Plan", "Summit", "Lee, Dana"]])
    proposed = propose_mapping(read_source(path))
    why = {choice.source: choice.reason for choice in proposed.columns}
    assert proposed.target_of("Payer") == "payer"  # the contract's own name beats synonyms
    assert why["Insurance Company Name"] == "'Payer' matches payer better; kept as extra"
    assert why["Insurance"] == "'Payer' matches payer better; kept as extra"
    corrected = apply_choices(proposed, {"Payer": EXTRA, "Insurance": "payer"})
    why = {choice.source: choice.reason for choice in corrected.columns}
    assert why["Insurance Company Name"] == ("'Insurance' maps to payer (corrected by hand); "
                                             "kept as extra")
    assert why["Payer"] == "corrected by hand"
    nobody = apply_choices(proposed, {"Payer": EXTRA})
    assert {choice.source: choice.reason for choice in nobody.columns}["Carrier"] == (
        "kept as extra; no column maps to payer now: choose it here if this column holds it")


def test_the_why_of_a_tie_says_the_first_column_won(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "log.csv", [["Patient", "Ins", "Insurance"],
                                           ["Lee, Dana", "SHP", "Summit Health Plan"]])
    proposed = propose_mapping(read_source(path))
    assert proposed.target_of("Ins") == "payer"
    assert {choice.source: choice.reason for choice in proposed.columns}["Insurance"] == (
        "'Ins' matches payer as well and comes first; kept as extra")


def test_wizard_lists_gaps_and_state_codes_before_the_import(tmp_path: Path,
                                                             tracker: Path) -> None:
    from patoolkit.ui import ClientSetup

    source = csv_file(tmp_path / "log.csv", [
        ["Patient", "Payer", "CPT", "Decision"],
        ["Lee, Dana", None, "Z1234", "Approved"]])
    wizard = ClientSetup(str(tracker)).importer
    wizard.load(source.read_bytes(), source.name)
    assert "<li>row 2: imported without a payer; fill it in on the Requests sheet</li>" \
        in wizard.preview.value
    assert "<li>row 2, column &#x27;CPT&#x27;: &#x27;Z1234&#x27; is not a CPT or HCPCS code" \
        in wizard.preview.value
    assert wizard.run_import()
    assert "imported without a payer" in wizard.report.value


EXTERNAL_IDS = [["Request #", "Patient ID", "Patient", "Payer", "CPT", "Submitted"],
                ["EXT-1", "P7", "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026"],
                ["EXT-2", "P7", "Lee, Dana", "Summit Health Plan", "70551", "11/02/2026"]]


def test_two_request_ids_in_a_file_are_two_requests_whatever_else_they_share(
        tmp_path: Path, small_tracker: Path) -> None:
    plan = plan_for(csv_file(tmp_path / "ids.csv", EXTERNAL_IDS), small_tracker)
    assert plan.new_rows == [2, 3]
    assert plan.skipped == {}


def test_a_request_id_the_tracker_lacks_is_new_whatever_else_it_shares(
        tmp_path: Path, small_tracker: Path) -> None:
    import_file(csv_file(tmp_path / "first.csv", EXTERNAL_IDS[:2]), small_tracker)
    plan = plan_for(csv_file(tmp_path / "second.csv", [EXTERNAL_IDS[0], EXTERNAL_IDS[2]]),
                    small_tracker)
    assert plan.present == {}
    assert plan.new_rows == [2]


def blank_last_request_id(tracker: Path) -> None:
    """Clear the request ID of the tracker's last request, as a person might."""
    book = openpyxl.load_workbook(tracker)
    sheet = book["Requests"]
    column = [cell.value for cell in sheet[1]].index("Request ID") + 1
    sheet.cell(row=sheet.max_row, column=column).value = None
    book.save(tracker)


@pytest.mark.parametrize(("stored_id", "incoming_id", "why"), [
    ("EXT-1", None, "the file has no request ID: its content finds EXT-1"),
    (None, "EXT-1", "the tracker's request has no request ID: its content finds it"),
])
def test_content_finds_a_request_when_one_side_has_no_request_id(
        tmp_path: Path, small_tracker: Path, stored_id: str | None, incoming_id: str | None,
        why: str) -> None:
    import_file(csv_file(tmp_path / "first.csv", EXTERNAL_IDS[:2]), small_tracker)
    if stored_id is None:
        blank_last_request_id(small_tracker)
    incoming = [incoming_id, *EXTERNAL_IDS[1][1:]]
    plan = plan_for(csv_file(tmp_path / "second.csv", [EXTERNAL_IDS[0], incoming]),
                    small_tracker)
    assert len(plan.present) == 1, why
    assert plan.new_rows == [], why


def add_p7(tracker: Path, **dates: str) -> str:
    """A request for P7's 70551 typed in the tracker (not imported), with these dates."""
    return add_request(tracker, {"patient_id": "P7", "patient_name": "Lee, Dana",
                                 "payer": "Summit Health Plan", "plan_type": "Commercial",
                                 "codes": "70551", **dates}, by="front desk").request_id


def test_a_date_in_common_wins_over_a_request_without_dates(tmp_path: Path,
                                                            small_tracker: Path) -> None:
    add_p7(small_tracker)
    dated = add_p7(small_tracker, submitted_at="2026-11-25")
    plan = plan_for(csv_file(tmp_path / "week2.csv",
                             [DATE_HEADINGS, [*P7, "11/25/2026", None]]), small_tracker)
    assert plan.present == {2: dated}


def test_a_request_without_dates_is_found_by_one_row_only(tmp_path: Path,
                                                         small_tracker: Path) -> None:
    undated = add_p7(small_tracker)
    plan = plan_for(csv_file(tmp_path / "year.csv", [
        DATE_HEADINGS, [*P7, "01/10/2026", None], [*P7, "06/10/2026", None],
        [*P7, None, None]]), small_tracker)
    assert plan.present == {2: undated}  # January's; June's is another request
    assert plan.new_rows == [3]
    assert plan.skipped == {4: "the same request as row 3 of this file"}


# a file's row (MATCH_HEADINGS) against P9's request, which has no name; present?; why
NO_PATIENT_CASES = [
    ([None, None, None, None, None, "AX-9"], False,
     "an auth number with no patient is not the auth number of P9, who has no name"),
    ([None, None, "Summit Health Plan", "70551", "11/02/2026", None], False,
     "payer, codes and date with no patient are not P9's request"),
    (["P9", None, None, None, None, "ax9"], True, "P9's auth number for P9"),
]


@pytest.mark.parametrize(("incoming", "present", "why"), NO_PATIENT_CASES,
                         ids=[case[2] for case in NO_PATIENT_CASES])
def test_a_row_without_a_patient_is_not_a_patient_without_a_name(
        tmp_path: Path, small_tracker: Path, incoming: list[object], present: bool,
        why: str) -> None:
    stored = add_request(small_tracker, {
        "patient_id": "P9", "payer": "Summit Health Plan", "plan_type": "Commercial",
        "codes": "70551", "submitted_at": "2026-11-02", "auth_number": "AX-9"}, by="t")
    plan = plan_for(csv_file(tmp_path / "auth.csv", [MATCH_HEADINGS, incoming]), small_tracker)
    assert plan.present == ({2: stored.request_id} if present else {}), why
    assert plan.new_rows == ([] if present else [2]), why


def test_a_request_without_an_id_is_named_by_its_row(tmp_path: Path,
                                                     small_tracker: Path) -> None:
    path = csv_file(tmp_path / "log.csv", [MATCH_HEADINGS, [*P7, "11/02/2026", None]])
    import_file(path, small_tracker)
    blank_last_request_id(small_tracker)
    row = load_tracker(small_tracker).requests.index[-1]
    plan = plan_for(path, small_tracker)
    assert plan.present == {2: f"Requests row {row}"}
    assert f"row 2: already present as Requests row {row}" in plan.report()


# the tracker's patient (ID, name), the file's, the same patient?, why
PATIENT_CASES = [
    (("00123", "Dummy, Sawyer"), ("123", "Dummy, Sawyer"), True,
     "an ID that lost its leading zeros in Excel"),
    ((None, "Dummy, Sawyer"), (None, "Sawyer Dummy"), True, "a name's words in any order"),
    (("P1", "Dummy, Sawyer"), ("P2", "Dummy, Sawyer"), False, "two IDs are two patients"),
    (("P1", "Dummy, Sawyer"), (None, "SAWYER DUMMY"), True, "without an ID the names decide"),
    (("P1", None), (None, "Dummy, Sawyer"), False, "an ID against a name: nothing to compare"),
]


@pytest.mark.parametrize(("stored", "incoming", "same", "why"), PATIENT_CASES,
                         ids=[case[3] for case in PATIENT_CASES])
def test_import_and_new_request_agree_on_the_same_patient(
        tmp_path: Path, small_tracker: Path, stored: tuple[str | None, str | None],
        incoming: tuple[str | None, str | None], same: bool, why: str) -> None:
    from patoolkit.intake import similar_requests

    request = {"payer": "Summit Health Plan", "codes": "70551",
               "scheduled_service_date": "2026-12-01"}
    added = add_request(small_tracker, {"patient_id": stored[0], "patient_name": stored[1],
                                        "plan_type": "Commercial", **request}, by="t")
    plan = plan_for(csv_file(tmp_path / "log.csv", [
        ["Patient ID", "Patient", "Payer", "CPT", "DOS"],
        [*incoming, "Summit Health Plan", "70551", "12/01/2026"]]), small_tracker)
    assert plan.present == ({2: added.request_id} if same else {}), why
    similar = similar_requests(load_tracker(small_tracker).requests,
                               {"patient_id": incoming[0], "patient_name": incoming[1],
                                **request})
    assert similar["request_id"].tolist() == ([added.request_id] if same else []), why


def test_a_header_that_looks_like_a_formula_is_written_as_text(tmp_path: Path) -> None:
    """A CSV heading "=cmd|' /C calc'!A0" became a live formula on the Requests sheet (and its
    column vanished from patoolkit's view): it is text, and its values are kept."""
    import openpyxl

    from patoolkit import new_tracker
    from patoolkit.cli import main
    from patoolkit.tracker.read import load_tracker

    tracker = tmp_path / "t.xlsx"
    new_tracker(tracker)
    source = tmp_path / "hostile.csv"
    source.write_text("Patient ID,Payer,CPT,DOS,=cmd|' /C calc'!A0\n"
                      "P1,Summit Health Plan,70551,11/20/2026,kept value\n", encoding="utf-8")
    assert main(["import", str(source), "--into", str(tracker), "--by", "test"]) in (0, 1)
    sheet = openpyxl.load_workbook(tracker)["Requests"]
    headings = [cell for cell in sheet[1] if cell.value and str(cell.value).startswith("=cmd")]
    assert len(headings) == 1
    assert headings[0].data_type == "s"  # text, not 'f'
    assert "kept value" in load_tracker(tracker).requests[headings[0].value].tolist()


# --- hostile sources (issue 18): encodings, sep=, quotes, too many columns ---------------------

LOG_HEADINGS = "Patient,Payer,CPT,Submitted"


def test_an_export_mixing_utf8_and_windows_1252_imports_the_names_right_with_a_warning(
        tmp_path: Path, small_tracker: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "ehr.csv"
    source.write_bytes(f"{LOG_HEADINGS}\r\n".encode()
                       + "\"García, Ana\",Summit Health Plan,70551,11/02/2026\r\n".encode()
                       + "\"Núñez, José\",Summit Health Plan,72148,11/03/2026\r\n"
                       .encode("cp1252"))
    assert main(["import", str(source), "--into", str(small_tracker), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "line 3 is not UTF-8 like the rest of the file; read as Windows-1252" in out
    assert "Núñez, José" in out
    assert "García, Ana" in out
    assert "Ã" not in out
    plan = plan_for(source, small_tracker)
    assert plan.warning_lines()[0].startswith(f"{source}: line 3 is not UTF-8")


def test_a_quote_never_closed_stops_the_import_naming_its_line(
        tmp_path: Path, small_tracker: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It used to swallow the next row into the patient's name without a word."""
    source = tmp_path / "log.csv"
    source.write_text(f"{LOG_HEADINGS}\n\"Lee, Dana\",Summit Health Plan,70551,11/02/2026\n"
                      "\"Garcia, Ana,Summit Health Plan,72148,11/03/2026\n"
                      "\"Roe, Rich\",Summit Health Plan,97110,11/04/2026\n", encoding="utf-8")
    before = small_tracker.read_bytes()
    assert main(["import", str(source), "--into", str(small_tracker)]) == 2
    error = capsys.readouterr().err
    assert f"{source} line 3: a quote (\") opens here and is never closed" in error
    assert "Traceback" not in error
    assert "unexpected" not in error
    assert small_tracker.read_bytes() == before


@pytest.mark.parametrize(("data", "why"), [
    (codecs.BOM_UTF16_LE + ("Patient\tPayer\tCPT\tSubmitted\r\n"
                            "Núñez, José\tSummit Health Plan\t72148\t11/03/2026\r\n")
     .encode("utf-16-le"), "Excel's 'Unicode Text': UTF-16 LE, tab-separated"),
    ("sep=;\r\nPatient;Payer;CPT;Submitted\r\n"
     "Núñez, José;Summit Health Plan;72148;11/03/2026\r\n".encode(),
     "Excel's sep= hint: the data row must not become the header"),
])
def test_unicode_text_and_sep_exports_read_as_excel_shows_them(
        tmp_path: Path, data: bytes, why: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    source = read_source(path)
    assert source.headers == ["Patient", "Payer", "CPT", "Submitted"], why
    assert source.header_row == 1, why
    assert source.rows.loc[2].tolist() == ["Núñez, José", "Summit Health Plan", "72148",
                                           "11/03/2026"], why
    assert source.warnings == [], why


def test_more_than_200_columns_asks_for_a_mapping_naming_the_ones_to_keep(
        tmp_path: Path, small_tracker: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 10,000-column file left a 10,035-column tracker: now the import stops and asks which
    columns to keep; with a mapping, only those land."""
    assert MAX_SOURCE_COLUMNS == 200
    filler = [f"Field {number}" for number in range(198)]
    source = csv_file(tmp_path / "wide.csv", [
        ["Patient", "Payer", "CPT", *filler],
        ["Lee, Dana", "Summit Health Plan", "70551", *(["x"] * 198)]])
    before = small_tracker.read_bytes()
    assert main(["import", str(source), "--into", str(small_tracker)]) == 2
    error = capsys.readouterr().err
    assert "wide.csv has 201 columns, more than the 200" in error
    assert "--map MAPPING.toml" in error
    assert small_tracker.read_bytes() == before
    mapping = tmp_path / "keep.toml"
    mapping.write_text('[columns]\n"Patient" = "patient_name"\n"Payer" = "payer"\n'
                       '"CPT" = "codes"\n"Field 7" = "(extra column)"\n', encoding="utf-8")
    assert main(["import", str(source), "--into", str(small_tracker), "--map", str(mapping),
                 "--by", "test"]) == 0
    assert "197 columns of the file are not named in the mapping: left out" in \
        capsys.readouterr().out
    requests = load_tracker(small_tracker).requests
    assert "Field 7" in requests.columns
    assert not any(str(column).startswith("Field ") and column != "Field 7"
                   for column in requests.columns)


def test_the_wizard_asks_for_a_mapping_when_a_file_has_too_many_columns(
        tmp_path: Path, small_tracker: Path) -> None:
    from patoolkit.ui.import_wizard import ImportWizard

    wizard = ImportWizard(lambda: small_tracker)
    wide = ",".join(f"Field {number}" for number in range(MAX_SOURCE_COLUMNS + 1)) + "\n"
    wizard.load((wide + wide.replace("Field", "v")).encode(), "wide.csv")
    assert "more than the 200" in wizard.feedback.value
    assert wizard.mapping_box.children == ()
    assert wizard.import_button.disabled


def test_progress_is_told_each_stage_and_each_chunk_written(tmp_path: Path,
                                                            tracker: Path) -> None:
    """A page's progress bar hears of the read, the check and the write a chunk at a time
    (the writer makes 2,000 rows at once: 4,500 rows are three chunks), done never going
    down and ending at the total; not once per row."""
    rows = [["Patient", "Payer", "CPT", "Submitted"]] + [
        [f"Patient{number:05d}, Test", "Summit Health Plan", "97110", "11/02/2026"]
        for number in range(4_500)]
    path = csv_file(tmp_path / "big.csv", rows)
    calls: list[tuple[int, int, str]] = []

    def heard(done: int, total: int, stage: str) -> None:
        calls.append((done, total, stage))

    source = read_source(path, progress=heard)
    plan = plan_import(source, propose_mapping(source), load_tracker(tracker), progress=heard)
    assert calls == [(4_500, 4_500, "read"), (0, 4_500, "checking"), (4_500, 4_500, "checked")]
    calls.clear()
    ids = import_into(plan, load_tracker(tracker), progress=heard)
    assert len(ids) == 4_500
    assert calls[0] == (0, 4_500, "writing")
    assert calls[-1] == (4_500, 4_500, "saved")
    writing = [done for done, _, stage in calls if stage == "writing"]
    assert writing == sorted(writing)
    assert len(set(writing)) >= 4  # 0, then each of the three chunks
    assert {total for _, total, _ in calls} == {4_500}
    assert len(calls) < 20


def test_progress_of_an_import_with_nothing_new_still_ends(tmp_path: Path,
                                                          tracker: Path) -> None:
    path = csv_file(tmp_path / "log.csv", PENDING_AND_DECIDED)
    import_file(path, tracker)
    plan = plan_for(path, tracker)
    calls: list[tuple[int, int, str]] = []
    assert import_into(plan, load_tracker(tracker),
                       progress=lambda *call: calls.append(call)) == []
    assert calls == [(0, 0, "writing"), (0, 0, "saved")]
