"""Fixed inputs for the letter tests and their golden texts (synthetic people only).

One request per letter kind, the payer rows, Settings and Criteria the letters
read, and what a person supplies for each kind. tests/regen_letter_goldens.py
renders these into tests/golden/letters/KIND.txt on purpose.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from workbooks import make_tracker

AS_OF = pd.Timestamp("2026-11-28 09:00")
GOLDEN = Path(__file__).resolve().parent / "golden" / "letters"

COMMON = {
    "Patient ID": "P900001", "Patient Name": "Example-Doe, Jane (synthetic)",
    "Patient DOB": dt.date(1961, 4, 12), "Member ID": "SHP000111",
    "Payer": "Summit Health Plan", "Plan Type": "Commercial", "Ordering NPI": "1234567893",
    "Ordering Provider": "Dr. Ada Example", "Service Category": "Advanced Imaging",
    "Codes": "72148", "ICD10": "M54.16", "Urgency": "Standard",
    "Scheduled Service Date": dt.date(2026, 12, 10), "Submitted At": dt.datetime(2026, 11, 2),
    "Channel": "Portal", "Payer Reference": "SHP-55501", "Owner": "Sam",
}
MEDICARE_ADVANTAGE = {"Payer": "Lakeshore Medicare Advantage", "Plan Type": "Medicare Advantage",
                      "Member ID": "LMA000222", "Payer Reference": "LMA-77702"}
DENIED = {"Status": "Denied", "Decision": "Denied", "Decision Date": dt.date(2026, 11, 25),
          "Denial Reason": "Six weeks of conservative treatment not documented"}

REQUESTS = {
    "p2p": {**COMMON, **DENIED, "Request ID": "LT-P2P"},
    "appeal": {**COMMON, **DENIED, "Request ID": "LT-APPEAL"},
    "expedited-appeal": {**COMMON, **DENIED, **MEDICARE_ADVANTAGE, "Request ID": "LT-URGENT",
                         "Urgency": "Expedited", "Codes": "J0135", "ICD10": "M05.79",
                         "Service Category": "Specialty Medication",
                         "Denial Reason": "Step therapy with two conventional DMARDs not shown"},
    "external-review": {**COMMON, **DENIED, "Request ID": "LT-EXTERNAL", "Status": "Upheld",
                        "Submitted At": dt.datetime(2026, 8, 20),
                        "Decision Date": dt.date(2026, 9, 1), "Appeal Level": "Level 1",
                        "Appeal Submitted Date": dt.date(2026, 9, 3),
                        "Appeal Decision Date": dt.date(2026, 10, 1),
                        "Appeal Outcome": "Upheld"},
    "info-response": {**COMMON, **MEDICARE_ADVANTAGE, "Request ID": "LT-INFO",
                      "Status": "Info Requested", "Submitted At": dt.datetime(2026, 11, 24, 10, 0),
                      "Info Requested At": dt.datetime(2026, 11, 25, 14, 30)},
    "medical-necessity": {**COMMON, "Request ID": "LT-LMN", "Status": "Documentation",
                          "Submitted At": None, "Payer Reference": None},
}

PAYERS = [
    ["Payer", "Plan Type", "P2P Window Days", "Phone", "Fax", "Appeals Address"],
    ["Summit Health Plan", "Commercial", 14, "800-555-0110", "800-555-0111",
     "Summit Health Plan Appeals Unit, PO Box 1000, Sampleton, OH 43000"],
    ["Lakeshore Medicare Advantage", "Medicare Advantage", None, "800-555-0112", "800-555-0113",
     "Appeals and Grievances\nPO Box 1017\nSampleton, OH 43001"],
]
SETTINGS = [
    ["Key", "Value"],
    ["practice_name", "Maplewood Family Medicine (synthetic)"],
    ["practice_address", "100 Example Avenue, Suite 200, Sampleton, OH 43000"],
    ["practice_phone", "614-555-0100"],
    ["practice_fax", "614-555-0101"],
]
CRITERIA = [
    ["Service Category", "Payer", "Item", "Required"],
    ["Advanced Imaging", "*", "Diagnosis", "Yes"],
    ["Advanced Imaging", "*", "Prior imaging results", "Yes"],
    ["Advanced Imaging", "*", "Conservative treatment tried", "Yes"],
]

SUPPLIED: dict[str, dict[str, object]] = {
    "p2p": {"availability": "weekdays 12:00-1:00 pm ET, 614-555-0100 ext 2",
            "discussion_points": ["Eight weeks of physical therapy, Sept 1 to Oct 27, without "
                                  "relief", "New foot drop on exam, Nov 20"]},
    "appeal": {
        "denial_response": ["The record shows eight weeks of supervised physical therapy "
                            "(Sept 1 to Oct 27, 2026) and six weeks of NSAIDs, more than the "
                            "six weeks your policy asks for."],
        "clinical_rationale": ["Lumbar radiculopathy (M54.16) with progressive weakness.",
                               "Exam on Nov 20 found new foot drop."],
        "enclosures": ["Physical therapy notes, Sept 1 to Oct 27, 2026",
                       "Medication history", "Clinic note, Nov 20, 2026"]},
    "expedited-appeal": {
        "urgency_reason": ["Active synovitis in eight joints despite methotrexate; delay "
                           "risks permanent joint damage."],
        "denial_response": ["Methotrexate (12 months) and sulfasalazine (4 months) were tried "
                            "and failed; pharmacy records are enclosed."],
        "clinical_rationale": ["Seropositive rheumatoid arthritis, DAS28 5.6 on Nov 18."],
        "enclosures": ["Pharmacy fill history", "DAS28 score sheet, Nov 18, 2026"]},
    "external-review": {
        "review_entity_address": ["Independent Review Organization program",
                                  "State Department of Insurance (example)",
                                  "PO Box 2000", "Sampleton, OH 43002"],
        "basis_for_review": ["The plan's criteria are met: eight weeks of therapy failed."],
        "enclosures": ["Appeal decision letter, Oct 1, 2026", "Physical therapy notes"]},
    "info-response": {"enclosures": ["Office note, Nov 20, 2026", "Lumbar X-ray report"],
                      "cover_note": "The X-ray report answers item 2 of your request."},
    "medical-necessity": {
        "clinical_indication": ["Lumbar radiculopathy (M54.16) with weakness, to plan care."],
        "conservative_treatment": ["Physical therapy, 8 weeks, no relief.",
                                   "NSAIDs, 6 weeks, stopped for gastritis."],
        "prior_results": ["Lumbar X-ray, Oct 2, 2026: degenerative changes L4-L5."],
        "evidence": {"Diagnosis": "Clinic note, Nov 20",
                     "Prior imaging results": "X-ray report, Oct 2",
                     "Conservative treatment tried": "PT notes, Sept 1 to Oct 27"}},
}

HEADERS = ["Request ID", *[key for key in COMMON if key != "Request ID"], "Status", "Decision",
           "Decision Date", "Denial Reason", "Info Requested At", "Appeal Level",
           "Appeal Submitted Date", "Appeal Decision Date", "Appeal Outcome",
           "P2P Date", "P2P Outcome", "Notes"]


def build_letter_tracker(path: Path, **changes: dict[str, object]) -> Path:
    """The letters tracker; changes[kind] overrides cells of that kind's request."""
    rows = [{**row, **changes.get(kind, {})} for kind, row in REQUESTS.items()]
    return make_tracker(path, rows, headers=HEADERS,
                        extra_sheets={"Payers": PAYERS, "Settings": SETTINGS,
                                      "Criteria": CRITERIA})


def request_id(kind: str) -> str:
    return str(REQUESTS[kind]["Request ID"])


DENIAL_IDS = [f"LT-DENIAL-{number}" for number in range(1, 6)]
FIVE_DENIALS = [{**COMMON, **DENIED, "Request ID": request, "Patient ID": f"P90010{number}",
                 "Patient Name": f"Example-{name}, Pat (synthetic)",
                 "Member ID": f"SHP00020{number}", "Owner": owner}
                for number, (request, name, owner) in enumerate(
                    zip(DENIAL_IDS, ["Ames", "Brook", "Cole", "Dunn", "Eady"],
                        ["Sam", "Ana", "Lee", "Kim", "Raj"], strict=True), start=1)]


def build_denials_tracker(path: Path) -> Path:
    """Five appealable denials (one per patient), inside their P2P window at AS_OF."""
    return make_tracker(path, FIVE_DENIALS, headers=HEADERS,
                        extra_sheets={"Payers": PAYERS, "Settings": SETTINGS,
                                      "Criteria": CRITERIA})


MARKER = "Cole: new foot drop on Nov 20, MRI L5 compression"  # typed for LT-DENIAL-3 only
CALL = "weekdays 12:00-1:00 pm ET, 614-555-0100 ext 2"  # about the sender: shared


def letters_in(folder: Path) -> dict[str, str]:
    """Each letter's text by request ID, read back from the .docx files on disk."""
    from patoolkit.letters import letter_text

    return {path.name.split("_")[0]: letter_text(path) for path in folder.glob("*.docx")}


def optional_points_template(folder: Path) -> Path:
    """A client's P2P template whose discussion points are optional, so a batch makes every
    letter and a test can read what each holds (the bundled one needs them in each)."""
    from docx import Document

    folder.mkdir(parents=True, exist_ok=True)
    document = Document()
    for line in ("Peer-to-peer request {{ request.request_id }} for {{ patient.name }}",
                 "Call: {{ availability }}", "{%p if discussion_points is defined %}",
                 "Points: {{ discussion_points }}", "{%p endif %}"):
        document.add_paragraph(line)
    document.save(str(folder / "p2p_request.docx"))
    return folder
