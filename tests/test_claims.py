"""Claims audit: every finding code, clean claims staying clean, forgiving files, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from patoolkit import load_tracker
from patoolkit.claims import FINDINGS, audit, audit_json, read_claims
from patoolkit.cli import main
from patoolkit.errors import PAToolkitError, UnusableClaimsError
from patoolkit.sample import CLAIM_SCENARIOS, claims_scenarios
from patoolkit.schema import CLAIMS
from patoolkit.tracker.read import typed_frame

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
SUMMIT = {"payer": "Summit Health Plan", "plan_type": "Commercial", "patient_id": "P1"}
REQUESTS = typed_frame("Requests", [
    {**SUMMIT, "request_id": "R1", "codes": "97110, 97140", "decision": "Approved",
     "decision_date": "2026-09-01", "auth_number": "A-100", "auth_effective_date": "2026-09-01",
     "auth_expiration_date": "2026-11-30", "units_authorized": 10},
    {**SUMMIT, "request_id": "R2", "codes": "72148", "decision": "Denied",
     "decision_date": "2026-10-01", "auth_number": "D-200"},
    {**SUMMIT, "request_id": "R3", "patient_id": "P2", "codes": "72148",
     "decision": "Approved", "decision_date": "2026-10-01", "auth_number": "A-300",
     "auth_effective_date": "2026-10-01", "auth_expiration_date": "2026-12-31"},
    {**SUMMIT, "request_id": "R4", "patient_id": "P3", "codes": "27447", "decision": "Denied",
     "decision_date": "2026-10-01", "appeal_outcome": "Overturned", "auth_number": "A-400",
     "auth_effective_date": "2026-10-15", "auth_expiration_date": "2027-01-15"},
    {**SUMMIT, "request_id": "R5", "patient_id": "P4", "codes": "70553", "decision": "Denied",
     "decision_date": "2026-10-02"},
])
RULES = typed_frame("PA Rules", [
    {"payer": "*", "plan_type": "*", "code": "72148", "pa_required": "Yes"},
    {"payer": "*", "plan_type": "*", "code": "70553", "pa_required": "Yes"},
    {"payer": "*", "plan_type": "*", "code": "99213", "pa_required": "No"},
])
PAYERS = typed_frame("Payers", [{"payer": "Summit Health Plan", "plan_type": "Commercial"}])

# claim, its fields, the findings it must get (empty: it must stay clean), why
CASES = [
    ("C-CLEAN", {"codes": "97110", "units": 4, "auth_number": "A-100",
                 "date_of_service": "2026-10-01"}, set(), "number on, inside dates, codes, units"),
    ("C-CLEAN2", {"codes": "99213", "units": 1, "date_of_service": "2026-10-02"}, set(),
     "an office visit needs no PA"),
    ("C-CLEAN3", {"codes": "27447", "units": 1, "auth_number": "a-400 ", "patient_id": "P3",
                  "date_of_service": "2026-11-01"}, set(),
     "a denial overturned on appeal is a usable authorization (number case and spaces forgiven)"),
    ("C-MODIFIER", {"codes": "97140-GP", "units": 2, "auth_number": "A-100",
                    "date_of_service": "2026-10-03"}, set(), "a modifier is not another code"),
    ("C-MODIFIER2", {"codes": "97140 GP", "units": 1, "auth_number": "A-100",
                     "date_of_service": "2026-10-04"}, set(), "a modifier after a space"),
    ("C-MODIFIER3", {"codes": "97110-GP-59, 97140 : GP", "units": 1, "auth_number": "A-100",
                     "date_of_service": "2026-10-04"}, set(), "chained modifiers"),
    ("C-MISSING", {"codes": "72148", "units": 1, "patient_id": "P9",
                   "date_of_service": "2026-10-05"}, {"MISSING_AUTH"},
     "72148 needs PA (PA Rules) and P9 has no authorization"),
    ("C-AVAILABLE", {"codes": "72148", "units": 1, "patient_id": "P2",
                     "date_of_service": "2026-10-05"}, {"AUTH_AVAILABLE_NOT_ON_CLAIM"},
     "A-300 covers it but is not on the claim"),
    ("C-NOTFOUND", {"codes": "97110", "units": 1, "auth_number": "A-999",
                    "date_of_service": "2026-10-05"}, {"AUTH_NOT_FOUND"}, "unknown number"),
    ("C-MISMATCH", {"codes": "72148", "units": 1, "auth_number": "A-300",
                    "date_of_service": "2026-10-05"}, {"AUTH_MISMATCH"},
     "A-300 is P2's, this claim is P1's"),
    ("C-DATES", {"codes": "97110", "units": 1, "auth_number": "A-100",
                 "date_of_service": "2026-12-05"}, {"OUTSIDE_DATES"}, "after Nov 30"),
    ("C-CODE", {"codes": "97110, 97530", "units": 1, "auth_number": "A-100",
                "date_of_service": "2026-10-06"}, {"CODE_NOT_AUTHORIZED"},
     "97530 was not authorized"),
    ("C-UNITS", {"codes": "97110", "units": 5, "auth_number": "A-100",
                 "date_of_service": "2026-10-20"}, {"UNITS_EXCEEDED"},
     "4 + 2 + 1 + 1 + 1 + 5 = 14 units by Oct 20 against 10 (the lines before it stay "
     "under; the December line is outside the dates, so it uses none of these units)"),
    ("C-DENIED", {"codes": "72148", "units": 1, "auth_number": "D-200",
                  "date_of_service": "2026-10-05"}, {"AUTH_DENIED"},
     "the number is the denied request's"),
    ("C-DENIED2", {"codes": "70553", "units": 1, "patient_id": "P4",
                   "date_of_service": "2026-10-05"}, {"AUTH_DENIED"},
     "no number, and the request for this service was denied"),
]


def claims_frame(cases: list[tuple[str, dict[str, object], set[str], str]] = CASES
                 ) -> pd.DataFrame:
    return typed_frame("Claims", [{"claim_id": claim, "patient_id": "P1",
                                   "payer": "Summit Health Plan", **fields}
                                  for claim, fields, _, _ in cases], lists={})


def test_every_finding_code_is_exercised() -> None:
    assert set().union(*(expected for _, _, expected, _ in CASES)) == set(FINDINGS)


def findings_by_claim() -> dict[str, set[str]]:
    claims = claims_frame()
    document = audit_json(audit(claims, REQUESTS, RULES, PAYERS), claims)
    return {entry["claim_id"]: {f["code"] for f in entry["findings"]}
            for entry in document["claims"]}


@pytest.mark.parametrize(("claim", "fields", "expected", "why"), CASES,
                         ids=[case[0] for case in CASES])
def test_finding(claim: str, fields: dict[str, object], expected: set[str], why: str) -> None:
    assert findings_by_claim()[claim] == expected, why


def test_messages_name_facts_and_fixes_name_the_number() -> None:
    claims = claims_frame()
    findings = audit(claims, REQUESTS, RULES, PAYERS)
    by_claim = findings.set_index("claim_id")
    assert "A-300 (request R3) covers code 72148 on 2026-10-05" in \
        by_claim.loc["C-AVAILABLE", "message"]
    assert by_claim.loc["C-AVAILABLE", "fix"].startswith("Put A-300 on the claim")
    assert "add up to 14 units by 2026-10-20; 10 authorized" in by_claim.loc["C-UNITS", "message"]
    assert "outside authorization A-100's dates 2026-09-01 to 2026-11-30" in \
        by_claim.loc["C-DATES", "message"]
    assert "PA Rules row" in by_claim.loc["C-MISSING", "message"]
    assert "Sample" not in " ".join(findings["message"])  # patient IDs, never names


def test_json_lists_every_claim_and_a_summary() -> None:
    claims = claims_frame()
    document = audit_json(audit(claims, REQUESTS, RULES, PAYERS), claims)
    assert [entry["claim_id"] for entry in document["claims"]] == [c[0] for c in CASES]
    summary = document["summary"]
    assert summary["clean_claims"] == 6
    assert summary["findings"]["AUTH_DENIED"] == 2
    assert set(summary["findings"]) == set(FINDINGS)


def test_sample_claims_get_the_finding_their_scenario_was_built_for() -> None:
    tracker = load_tracker(SAMPLE / "pa_tracker.xlsx")
    claims = read_claims(SAMPLE / "claims.xlsx").claims
    findings = audit(claims, tracker.requests, tracker.frames["PA Rules"],
                     tracker.frames["Payers"])
    got = findings.groupby("claim_id")["code"].agg(set).to_dict()
    expected = {"clean": set(), "missing_auth_number": {"AUTH_AVAILABLE_NOT_ON_CLAIM"},
                "wrong_auth_number": {"AUTH_NOT_FOUND"}, "expired_auth": {"OUTSIDE_DATES"},
                "units_over": {"UNITS_EXCEEDED"}, "no_request": {"MISSING_AUTH"}}
    assert set(expected) == set(CLAIM_SCENARIOS)
    for claim, scenario in claims_scenarios(tracker.frames).items():
        assert got.get(claim, set()) == expected[scenario], (claim, scenario)


def test_a_csv_with_a_bom_semicolons_and_billing_headers_reads(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("\ufeffClaim #;Acct;Insurance;DOS;CPT;Qty;Prior Auth\r\n"
                     "C-1;P1;Summit Health Plan;10/01/2026;97110;4;A-100\r\n"
                     "C-2;P2;Summit Health Plan;2026-10-05;72148;;\r\n".encode())
    found = read_claims(path)
    assert found.problems == []
    claims = found.claims
    assert list(claims["claim_id"]) == ["C-1", "C-2"]
    assert claims.index.tolist() == [2, 3]  # the file's own line numbers
    assert claims.loc[2, "date_of_service"] == pd.Timestamp("2026-10-01")
    assert claims.loc[3, "units"] == 1  # no units: one
    codes = {entry["claim_id"]: [f["code"] for f in entry["findings"]] for entry in audit_json(
        audit(claims, REQUESTS, RULES, PAYERS), claims)["claims"]}
    assert codes == {"C-1": [], "C-2": ["AUTH_AVAILABLE_NOT_ON_CLAIM"]}


def test_a_file_without_a_needed_column_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "claims.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Claim ID", "Patient", "Payer", "Codes", "Units"])
    book.active.append(["C-1", "P1", "Summit", "97110", 1])
    book.save(path)
    with pytest.raises(UnusableClaimsError, match=r"no column for 'Date Of Service', "
                                                   r"'Auth Number'"):
        read_claims(path)
    assert {c.name for c in CLAIMS.columns if c.required} == {
        "claim_id", "patient_id", "payer", "date_of_service", "codes", "units", "auth_number"}


def test_bad_cells_are_reported_with_their_row(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("claim_id,patient_id,payer,date_of_service,codes,units,auth_number\n"
                    "C-1,P1,Summit Health Plan,31/02/2026,97110,1,A-100\n")
    problems = read_claims(path).problems
    assert [(p.row, p.column) for p in problems] == [(2, "date_of_service")]


def test_lines_without_a_claim_id_are_named_by_their_row(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("claim_id,patient_id,payer,date_of_service,codes,units,auth_number\n"
                    ",P1,Summit Health Plan,2026-10-01,97110,1,A-100\n"
                    "C-2,P9,Summit Health Plan,2026-10-05,72148,1,\n"
                    ",P9,Summit Health Plan,2026-10-06,72148,1,\n")
    found = read_claims(path)
    assert [(p.row, p.column, p.severity) for p in found.problems] == [
        (2, "claim_id", "warning"), (4, "claim_id", "warning")]
    claims = found.claims
    document = audit_json(audit(claims, REQUESTS, RULES, PAYERS), claims)
    assert {entry["claim_id"]: [f["code"] for f in entry["findings"]]
            for entry in document["claims"]} == {
        "(row 2)": [], "C-2": ["MISSING_AUTH"], "(row 4)": ["MISSING_AUTH"]}
    assert document["summary"]["claims"] == 3
    clean = tmp_path / "clean.csv"
    clean.write_text("claim_id,patient_id,payer,date_of_service,codes,units,auth_number\n"
                     ",P000001,Summit Health Plan,2026-10-01,99213,1,\n")
    assert main(["audit-claims", str(SAMPLE / "pa_tracker.xlsx"), str(clean)]) == 0  # a warning


def test_a_claims_file_with_only_a_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("claim_id,patient_id,payer,date_of_service,codes,units,auth_number\n")
    with pytest.raises(PAToolkitError, match="no claim lines below the header"):
        read_claims(path)
    assert main(["audit-claims", str(SAMPLE / "pa_tracker.xlsx"), str(path)]) == 2


def test_cli_formats_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tracker, claims = str(SAMPLE / "pa_tracker.xlsx"), str(SAMPLE / "claims.xlsx")
    assert main(["audit-claims", tracker, claims, "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert len(document["claims"]) == document["summary"]["claims"] == 45
    assert main(["audit-claims", tracker, claims, "--format", "csv"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("row,claim_id,code,title,message,fix")
    assert len(lines) == 1 + 15
    out = tmp_path / "audit.xlsx"
    assert main(["audit-claims", tracker, claims, "--format", "xlsx", "--out", str(out)]) == 1
    assert openpyxl.load_workbook(out).sheetnames == ["Findings", "Summary"]
    clean = tmp_path / "clean.csv"
    clean.write_text("claim_id,patient_id,payer,date_of_service,codes,units,auth_number\n"
                     "C-1,P000001,Summit Health Plan,2026-10-01,99213,1,\n")
    assert main(["audit-claims", tracker, str(clean)]) == 0
    assert "1 claims: 1 clean" in capsys.readouterr().out
    assert main(["audit-claims", tracker, str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_mixed_encoding_export_warns_in_the_audits_problems(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A line a billing system wrote as Windows-1252 in a UTF-8 file is read right, and the
    audit says so (it was dropped before): in the problems, on the command line and on the
    dashboard, naming the line and never the value."""
    header = "Claim ID,Patient ID,Payer,DOS,CPT,Units,Auth Number\r\n"
    path = tmp_path / "claims.csv"
    path.write_bytes(header.encode() + "C1,P1,Salud Peña,2026-10-01,99213,1,\r\n".encode()
                     + "C2,P2,Salud Peña,2026-10-02,99213,1,\r\n".encode("cp1252"))
    found = read_claims(path)
    assert found.claims["payer"].tolist() == ["Salud Peña"] * 2
    [warning] = found.problems
    assert (warning.sheet, warning.row, warning.severity) == ("claims.csv", None, "warning")
    assert str(warning).startswith("claims.csv: line 3 is not UTF-8 like the rest of the file")
    assert "Peña" not in warning.message
    assert main(["audit-claims", str(SAMPLE / "pa_tracker.xlsx"), str(path)]) in (0, 1)
    assert "line 3 is not UTF-8" in capsys.readouterr().err

    from patoolkit.ui import ClaimsAuditDashboard, TrackerSession

    tracker = tmp_path / "tracker.xlsx"
    tracker.write_bytes((SAMPLE / "pa_tracker.xlsx").read_bytes())
    dashboard = ClaimsAuditDashboard(TrackerSession(tracker))
    dashboard.audit_bytes(path.read_bytes(), "claims.csv")
    assert "line 3 is not UTF-8 like the rest of the file" in dashboard.feedback.value
    assert "pa-warn" in dashboard.feedback.value


def test_a_claims_workbook_is_read_from_its_claims_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "Read me"
    notes.append(["Exported from the billing system"])
    sheet = book.create_sheet("CLAIMS")
    sheet.append(["Claim ID", "Patient ID", "Payer", "DOS", "CPT", "Units", "Auth Number"])
    sheet.append(["C1", "P1", "Summit Health Plan", "2026-10-01", "99213", 1, None])
    path = tmp_path / "claims.xlsm"
    book.save(path)
    found = read_claims(path)
    assert found.claims["claim_id"].tolist() == ["C1"]
    assert found.problems == []

    # the page offers what the reader reads: the .xlsm beside the tracker, and in its upload
    from patoolkit.ui import ClaimsAuditDashboard, TrackerSession
    from patoolkit.ui.claims_audit import claims_files_near

    tracker = tmp_path / "tracker.xlsx"
    tracker.write_bytes((SAMPLE / "pa_tracker.xlsx").read_bytes())
    assert claims_files_near(tracker) == [path]
    dashboard = ClaimsAuditDashboard(TrackerSession(tracker))
    assert {".csv", ".xlsx", ".xlsm", ".xls"} <= set(dashboard.upload.accept.split(","))
    dashboard.choice.value = str(path)
    assert "Audited claims.xlsm: 1 claims." in dashboard.feedback.value


def test_an_empty_claims_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_bytes(b"")
    with pytest.raises(UnusableClaimsError, match=r"claims\.csv: is empty; nothing to audit"):
        read_claims(path)
