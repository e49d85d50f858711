"""Shared fixtures: small trackers built in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patoolkit import add_request, new_tracker

SAMPLE_TRACKER = Path(__file__).resolve().parents[1] / "sample_data" / "pa_tracker.xlsx"

FEW_REQUESTS = [
    {"patient_id": "P000001", "patient_name": "Sample, Jordan", "payer": "Summit Health Plan",
     "plan_type": "Commercial", "ordering_npi": "1234567893", "codes": "70551",
     "icd10": "M54.16", "urgency": "Standard", "status": "Submitted",
     "submitted_at": "2026-11-02 09:30", "scheduled_service_date": "2026-11-20"},
    {"patient_id": "P000002", "patient_name": "Testperson, Riley",
     "payer": "Lakeshore Medicare Advantage",
     "plan_type": "Medicare Advantage", "ordering_npi": "1234567893", "codes": "97110, 97140",
     "icd10": "M17.11", "urgency": "Expedited", "status": "Approved", "decision": "Approved",
     "decision_date": "2026-11-04", "submitted_at": "2026-11-02", "auth_number": "A123456",
     "units_authorized": 12, "units_used": 3},
    {"patient_id": "P000003", "patient_name": "Example, Casey", "payer": "Summit Health Plan",
     "plan_type": "Commercial", "status": "Denied", "decision": "Denied",
     "denial_reason": "No record of 6 weeks of conservative therapy",
     "submitted_at": "2026-10-01", "decision_date": "2026-10-09"},
]


@pytest.fixture(scope="session")
def few_requests_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A blank tracker with three requests added through the safe writer (built once)."""
    path = tmp_path_factory.mktemp("template") / "tracker.xlsx"
    new_tracker(path)
    for values in FEW_REQUESTS:
        add_request(path, values, by="fixture")
    shutil.rmtree(path.parent / "backups")
    return path


@pytest.fixture
def small_tracker(tmp_path: Path, few_requests_template: Path) -> Path:
    """A fresh copy of the three-request tracker in this test's own folder."""
    path = tmp_path / "tracker.xlsx"
    shutil.copy2(few_requests_template, path)
    return path
