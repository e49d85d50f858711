"""Synthetic trackers and claims exports for demos, training and tests (`patoolkit sample`).

Everything here is invented: payers, practice, providers and patients have
obviously fictional names, phone numbers are in the 555-01xx range reserved
for fiction, web addresses end in .example. What is real is the shape of the
work: CPT/HCPCS codes in their true form (without the AMA's descriptors),
ICD-10-CM codes from the real code set, NPIs with valid check digits, and
request timelines that follow a practice's PA workflow (DOMAIN.md), so the
deadlines, worklist and metrics computed from a sample look like a real
practice's.

The same (rows, seed, as_of) always gives the same frames, and the same file
byte for byte. Columns are built with numpy over all rows at once; the only
Python loops run over payers, service categories and a handful of rows, so
100,000 requests take seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from .codes import npi_check_digit
from .files import create_new_file
from .schema import LISTS, SETTINGS_DEFAULTS, SHEETS_BY_NAME
from .tracker.create import FIXED_CREATED, write_tracker_workbook

DEFAULT_AS_OF = dt.date(2026, 12, 1)

# --------------------------------------------------------------------------------------------
# Reference data: the practice's payers, providers, codes, rules and criteria.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SamplePayer:
    name: str
    plan_type: str
    prefix: str  # member ID and payer reference prefix
    weight: float  # share of the practice's requests
    age_range: tuple[int, int]  # patient ages this plan covers
    overrides: tuple[tuple[str, object], ...] = ()


PAYERS: tuple[SamplePayer, ...] = (
    # A State law for fully insured plans, stricter than ERISA's 15 days, from mid-2026.
    SamplePayer("Summit Health Plan", "Commercial", "SHP", 0.18, (19, 64),
                (("p2p_window_days", 30), ("standard_decision_days", 7),
                 ("decision_days_are", "Business"), ("override_from", dt.date(2026, 7, 1)))),
    SamplePayer("Lakeshore Medicare Advantage", "Medicare Advantage", "LMA", 0.16, (65, 92)),
    # Its rating period starts July 1: the 7-day rule came with the period of 2026-07-01.
    SamplePayer("Buckeye Medicaid Managed Care", "Medicaid Managed Care", "BMM", 0.13, (19, 64),
                (("rating_period_start", "07-01"),)),
    SamplePayer("State Medicaid FFS", "Medicaid FFS", "SMF", 0.05, (19, 64)),
    SamplePayer("Kids First CHIP", "CHIP", "KFC", 0.05, (1, 18)),
    SamplePayer("Horizon Marketplace QHP", "Marketplace QHP", "HMQ", 0.09, (19, 64)),
    # Traditional Medicare's PA programs (42 CFR 419.82): the law's 7 days, 2 business days.
    SamplePayer("Medicare Part B", "Medicare FFS", "MPB", 0.08, (65, 92)),
    SamplePayer("Evergreen Workers Comp", "Other", "EWC", 0.03, (19, 64),
                (("standard_decision_days", 14), ("expedited_decision_hours", 72),
                 ("appeal_filing_days", 90))),
    SamplePayer("Pinecrest Commercial PPO", "Commercial", "PCP", 0.13, (19, 64)),
    SamplePayer("Riverbend Medicare Advantage HMO", "Medicare Advantage", "RMA", 0.10, (65, 92)),
    SamplePayer("Lakeshore Part D Rx", "Medicare Part D", "LPD", 0.04, (65, 92)),
)
PLAN_CATEGORY_TILT = {
    # Traditional Medicare asks for PA on few services: power mobility, OPD procedures,
    # home health pre-claim review. A Medicare FFS practice's PA log leans that way.
    "Medicare FFS": {"Durable Medical Equipment": 6.0, "Home Health": 4.0,
                     "Surgery/Procedure": 2.0},
    "CHIP": {"Physical/Occupational/Speech Therapy": 3.0, "Genetic Testing": 2.0},
    "Other": {"Physical/Occupational/Speech Therapy": 4.0, "Surgery/Procedure": 3.0,
              "Advanced Imaging": 3.0},
    # A Part D plan authorizes drugs only.
    "Medicare Part D": {"Specialty Medication": 400.0},
}

PROVIDER_NAMES: tuple[str, ...] = (
    "Dr. Avery Testwell", "Dr. Jordan Placeholder", "Dr. Casey Mockridge", "Dr. Morgan Fictus",
    "Dr. Riley Samplesby", "Dr. Quinn Demoson", "Dr. Harper Exampleton", "Dr. Rowan Synthwick",
    "Dr. Emerson Notreal", "Dr. Sage Imaginary", "Dr. Blake Pretendra", "Dr. Nova Newhire",
)
NEW_PROVIDER = "Dr. Nova Newhire"  # joined recently: enrollment still pending with three payers
PENDING_ENROLLMENTS = {
    (NEW_PROVIDER, "Summit Health Plan"), (NEW_PROVIDER, "Lakeshore Medicare Advantage"),
    (NEW_PROVIDER, "Buckeye Medicaid Managed Care"),
    ("Dr. Emerson Notreal", "Horizon Marketplace QHP"),
}
NOT_ENROLLED = {("Dr. Rowan Synthwick", "Evergreen Workers Comp")}

FIRST_NAMES = ("Jordan", "Riley", "Casey", "Morgan", "Alex", "Taylor", "Jamie", "Quinn", "Avery",
               "Rowan", "Skyler", "Dakota", "Reese", "Emerson", "Finley", "Hayden", "Kendall",
               "Logan", "Parker", "Sawyer")
LAST_NAMES = ("Sample", "Testperson", "Example", "Placeholder", "Demo", "Mockup", "Fakename",
              "Synthetic", "Dummy", "Notreal", "Pretend", "Imaginary", "Specimen", "Fixture",
              "Madeup", "Invented", "Fictive", "Testcase", "Prototype", "Sandbox")
OWNERS = ("Dana", "Luis", "Priya", "Marcus", "Keisha")

IMAGING = "Advanced Imaging"
SURGERY = "Surgery/Procedure"
MEDICATION = "Specialty Medication"
INPATIENT = "Inpatient Admission"
THERAPY = "Physical/Occupational/Speech Therapy"
DME = "Durable Medical Equipment"
HOME_HEALTH = "Home Health"
MENTAL_HEALTH = "Mental Health Inpatient"
INFUSION = "Outpatient Infusion"
GENETIC = "Genetic Testing"


@dataclass(frozen=True)
class ServiceOption:
    """One kind of order: its codes, diagnoses that fit them, and units usually asked for."""

    codes: str
    icd10: tuple[str, ...]
    units: tuple[int, int] = (1, 1)  # low, high (visits, doses, days, months)


# Diagnoses are real, billable ICD-10-CM codes (checked against the code set in the tests),
# paired with the services they commonly justify. Codes are described by category only.
SERVICES: dict[str, tuple[ServiceOption, ...]] = {
    IMAGING: (
        ServiceOption("70553", ("G43.909", "R51.9", "G35.A")),
        ServiceOption("70551", ("R51.9", "G43.909", "R56.9")),
        ServiceOption("72148", ("M54.16", "M48.061", "M54.50")),
        ServiceOption("74177", ("R10.9", "K50.90", "K51.90")),
        ServiceOption("78815", ("C50.911", "C34.90", "C18.9")),
    ),
    SURGERY: (
        ServiceOption("29881", ("S83.241A", "M23.211")),
        ServiceOption("27447", ("M17.11", "M17.0")),
        ServiceOption("63030", ("M51.16", "M48.061")),
        ServiceOption("63650", ("G89.4", "M96.1")),
    ),
    MEDICATION: (
        ServiceOption("J0135", ("M05.79", "L40.50", "K50.90"), (6, 13)),
        ServiceOption("J1745", ("K50.90", "K51.90", "M06.09"), (4, 8)),
        ServiceOption("J9312", ("M05.79", "C83.30"), (2, 4)),
        ServiceOption("J2350", ("G35.A", "G35.D"), (2, 3)),
    ),
    INPATIENT: (
        ServiceOption("99222", ("M17.11", "M16.11"), (2, 4)),
        ServiceOption("99223", ("I25.10", "M48.061"), (3, 5)),
        ServiceOption("99221", ("M17.0", "M16.11"), (1, 3)),
    ),
    THERAPY: (
        ServiceOption("97110, 97140", ("M54.16", "M25.561", "Z96.651", "M75.121"), (8, 24)),
        ServiceOption("97530", ("I69.351", "R26.89", "M62.81"), (8, 24)),
        ServiceOption("92507", ("F80.0", "I69.320"), (8, 20)),
    ),
    DME: (
        ServiceOption("E0601", ("G47.33",), (3, 3)),  # CPAP: 3-month rental before compliance
        ServiceOption("K0823", ("G12.21", "I69.351", "G35.A")),
        ServiceOption("E0260", ("G12.21", "I50.22", "Z74.01")),
    ),
    HOME_HEALTH: (
        ServiceOption("G0299", ("I50.22", "J44.1", "L89.153", "E11.621"), (8, 20)),
        ServiceOption("G0151", ("I69.351", "Z96.651", "R26.81"), (6, 16)),
        ServiceOption("T1030", ("L89.153", "E11.621"), (8, 24)),
    ),
    MENTAL_HEALTH: (
        ServiceOption("90791, H2013", ("F32.2", "F33.2", "F31.2"), (5, 10)),
        ServiceOption("H2013", ("F33.3", "F31.4", "F20.9"), (5, 14)),
        ServiceOption("90791, H0017", ("F10.239", "F43.10"), (5, 10)),
    ),
    INFUSION: (
        ServiceOption("96365, J1745", ("K50.90", "K51.90"), (4, 8)),
        ServiceOption("96413, J9312", ("M05.79", "C83.30"), (2, 4)),
        ServiceOption("96365, J2350", ("G35.A", "G35.D"), (2, 3)),
    ),
    GENETIC: (
        # 81211 was deleted from CPT in 2019; 81162/81163 replaced the BRCA1/2 codes.
        ServiceOption("81162", ("Z80.3", "C50.911", "Z15.01")),
        ServiceOption("81163", ("Z80.3", "Z80.41")),
        ServiceOption("81435", ("Z80.0", "C18.9")),
        ServiceOption("0037U", ("C34.90", "C18.9", "C50.911")),
    ),
}
CATEGORY_WEIGHTS = {
    IMAGING: 0.22, SURGERY: 0.12, MEDICATION: 0.14, INPATIENT: 0.05, THERAPY: 0.15,
    DME: 0.08, HOME_HEALTH: 0.07, MENTAL_HEALTH: 0.04, INFUSION: 0.08, GENETIC: 0.05,
}

ALL_ICD10_CODES: tuple[str, ...] = tuple(sorted({
    code for options in SERVICES.values() for option in options for code in option.icd10}))

GENERAL_DENIAL_REASONS = (
    "Not medically necessary per InterQual criteria",
    "Not medically necessary per MCG care guidelines",
    "Out-of-network provider",
    "Insufficient clinical documentation submitted",
)
DENIAL_REASONS: dict[str, tuple[str, ...]] = {
    IMAGING: ("Documentation did not show 6 weeks of conservative therapy",
              "No prior plain film (X-ray) results submitted"),
    SURGERY: ("Documentation did not show 6 weeks of conservative therapy",
              "Failure of conservative treatment not documented"),
    MEDICATION: ("Step therapy not met: no trial of a preferred agent",
                 "No recent disease activity score submitted"),
    INPATIENT: ("Admission criteria not met; outpatient setting appropriate",),
    THERAPY: ("No measurable functional progress in the last progress note",
              "Plan of care not signed by the ordering provider"),
    DME: ("Face-to-face encounter note missing", "Functional need not documented"),
    HOME_HEALTH: ("Homebound status not documented",),
    MENTAL_HEALTH: ("Level-of-care criteria for inpatient not met",),
    INFUSION: ("Home infusion is the appropriate site of care",),
    GENETIC: ("Requested service is experimental/investigational",
              "Family history does not meet testing criteria"),
}

RADIOLOGY_MANAGER = "RadReview Benefit Management"
LAB_MANAGER = "GeneGate Lab Benefit Services"
THRESHOLD_CONDITION = "PA needed from visit 13 in a calendar year"


def _rules(as_of: dt.date) -> list[tuple[object, ...]]:
    """PA Rules rows: (payer, plan_type, code, category, pa_required, condition,
    visit_threshold, benefit_manager, effective_from, effective_to)."""
    # A payer changed one rule four months ago: the old row stays, closed, for old requests.
    changed = (pd.Timestamp(as_of) - pd.DateOffset(months=4)).replace(day=1)
    ended = changed - pd.Timedelta(days=1)
    rows: list[tuple[object, ...]] = []

    def rule(payer: str, plan: str, code: str, category: str, required: str,
             condition: str | None = None, threshold: int | None = None,
             manager: str | None = None, start: object = None, end: object = None) -> None:
        rows.append((payer, plan, code, category, required, condition, threshold, manager,
                     start, end))

    for code in ("70551-70553", "72148", "74177", "78815"):
        rule("*", "*", code, IMAGING, "Yes", manager=RADIOLOGY_MANAGER)
        rule("*", "Medicare FFS", code, IMAGING, "No",
             "Traditional Medicare does not require PA for advanced imaging")
    rule("State Medicaid FFS", "Medicaid FFS", "70551-70553", IMAGING, "Yes",
         "Reviewed by the state Medicaid agency, not a benefit manager")
    for code in ("29881", "27447", "63030"):
        rule("*", "*", code, SURGERY, "Yes")
        rule("*", "Medicare FFS", code, SURGERY, "No")
    rule("*", "*", "63650", SURGERY, "Yes")
    rule("*", "Medicare FFS", "63650", SURGERY, "Yes",
         "Hospital outpatient department PA list (42 CFR 419.83); when done in an HOPD")
    for code in ("J0135", "J1745", "J9312", "J2350"):
        rule("*", "*", code, MEDICATION, "Yes")
    for code in ("J1745", "J9312", "J2350"):
        rule("*", "Medicare FFS", code, MEDICATION, "No", "Part B drug; no PA")
    for code in ("96365", "96413"):
        rule("*", "*", code, INFUSION, "Conditional",
             "PA for the drug; site-of-care review when given in a hospital outpatient department")
    rule("*", "*", "99221-99223", INPATIENT, "Conditional",
         "Planned admissions need PA; emergency admissions need notice within 24 hours")
    for code in ("97110-97140", "97530", "92507"):
        rule("*", "*", code, THERAPY, "Conditional", THRESHOLD_CONDITION, 12)
    rule("*", "Medicare FFS", "97110-97530", THERAPY, "No",
         "No PA; KX modifier above the therapy threshold")
    rule("Summit Health Plan", "Commercial", "97110-97140", THERAPY, "Conditional",
         "PA needed from visit 21 in a plan year", 20)
    rule("Lakeshore Medicare Advantage", "Medicare Advantage", "97530", THERAPY, "Yes",
         "PA from the first visit", end=ended)
    rule("Lakeshore Medicare Advantage", "Medicare Advantage", "97530", THERAPY, "Conditional",
         THRESHOLD_CONDITION, 12, start=changed)
    rule("*", "*", "E0601", DME, "Conditional",
         "PA for rental beyond 3 months; send the compliance download")
    rule("*", "*", "K0823", DME, "Yes")
    rule("*", "Medicare FFS", "K0823", DME, "Yes",
         "Required prior authorization list for power mobility devices (42 CFR 414.234)")
    rule("*", "*", "E0260", DME, "Yes")
    rule("*", "Medicare FFS", "E0260", DME, "No")
    for code in ("G0299", "G0151", "T1030"):
        rule("*", "*", code, HOME_HEALTH, "Yes")
    for code in ("G0299", "G0151"):
        rule("*", "Medicare FFS", code, HOME_HEALTH, "Conditional",
             "Review Choice Demonstration states (incl. OH): pre-claim review")
    rule("*", "*", "H2013", MENTAL_HEALTH, "Yes")
    rule("*", "*", "H0017", MENTAL_HEALTH, "Yes")
    rule("*", "*", "90791", MENTAL_HEALTH, "No", "The diagnostic evaluation itself needs no PA")
    for code in ("81162-81163", "81435", "0037U"):
        rule("*", "*", code, GENETIC, "Yes", manager=LAB_MANAGER)
        rule("*", "Medicare FFS", code, GENETIC, "No", "Covered under local coverage policy")
    return rows


CRITERIA_ITEMS: dict[str, tuple[tuple[str, str], ...]] = {
    IMAGING: (("Diagnosis (ICD-10-CM)", "Yes"), ("Clinical indication for the study", "Yes"),
              ("Prior imaging results", "Yes"), ("Conservative treatment tried", "Yes"),
              ("Most recent office visit note", "No")),
    SURGERY: (("Diagnosis (ICD-10-CM)", "Yes"), ("Failure of conservative treatment", "Yes"),
              ("Surgical necessity statement", "Yes"), ("Imaging report", "No")),
    MEDICATION: (("Diagnosis (ICD-10-CM)", "Yes"),
                 ("Step therapy history (drug, dose, duration, outcome)", "Yes"),
                 ("Disease activity score", "Yes"), ("Recent labs", "Yes")),
    INPATIENT: (("Diagnosis (ICD-10-CM)", "Yes"), ("Medical necessity statement", "Yes"),
                ("Admission criteria met", "Yes")),
    THERAPY: (("Functional baseline", "Yes"), ("Plan of care", "Yes"),
              ("Progress notes", "Yes")),
    DME: (("Diagnosis (ICD-10-CM)", "Yes"), ("Functional need", "Yes"),
          ("Signed physician order", "Yes")),
    HOME_HEALTH: (("Homebound status", "Yes"), ("Plan of care", "Yes"),
                  ("Clinical need", "Yes")),
    MENTAL_HEALTH: (("Clinical assessment", "Yes"), ("Level-of-care criteria", "Yes"),
                    ("Safety assessment", "Yes")),
    INFUSION: (("Diagnosis (ICD-10-CM)", "Yes"), ("Drug authorization", "Yes"),
               ("Site-of-care appropriateness", "Yes")),
    GENETIC: (("Clinical indication", "Yes"), ("Family history", "Yes"),
              ("Specialist involvement (genetic counselor)", "Yes")),
}
# Payer rows replace the * rows for their category, so each lists the full set.
PAYER_CRITERIA: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("Summit Health Plan", IMAGING, CRITERIA_ITEMS[IMAGING] + (
        ("Six weeks of documented conservative treatment for spine imaging", "Yes"),)),
    ("Lakeshore Medicare Advantage", MEDICATION, CRITERIA_ITEMS[MEDICATION] + (
        ("Trial and failure of two preferred agents", "Yes"),)),
)

STATUS_WEIGHTS = {
    "Not Started": 3, "Requirement Check": 3, "Documentation": 5, "Submitted": 8,
    "Info Requested": 5, "Approved": 30, "Partially Approved": 4, "Denied": 6,
    "P2P Requested": 2, "Appeal Submitted": 3, "External Review": 1, "Overturned": 3,
    "Upheld": 2, "Withdrawn": 2, "Expired": 8, "Closed": 15,
}
# Days before as_of that the payer decided, by status: (low, high).
DECISION_AGO = {
    "Approved": (1, 100), "Partially Approved": (1, 100), "Denied": (1, 21),
    "P2P Requested": (1, 14), "Appeal Submitted": (5, 40), "External Review": (50, 110),
    "Overturned": (15, 100), "Upheld": (30, 110), "Expired": (45, 120), "Closed": (30, 120),
}
CHANNELS = {"Portal": 0.5, "Clearinghouse": 0.15, "FHIR API": 0.1, "Fax": 0.2, "Phone": 0.05}
WITHDRAWAL_NOTES = ("Withdrawn: patient cancelled the service",
                    "Withdrawn: order changed; a new request was filed",
                    "Withdrawn: patient changed insurance")

SETTINGS_VALUES = {
    "practice_name": "Maplewood Family Medicine (synthetic)",
    "practice_address": "100 Example Avenue, Suite 200, Sampleton, OH 43000",
    "practice_phone": "614-555-0100",
    "practice_fax": "614-555-0101",
    "timezone": "America/New_York",
    "state": "OH",
}

# --------------------------------------------------------------------------------------------
# Small vectorised helpers.
# --------------------------------------------------------------------------------------------

NAT = np.datetime64("NaT", "ns")


def _between(rng: np.random.Generator, low: np.ndarray | int, high: np.ndarray | int,
             size: int) -> np.ndarray:
    """Whole numbers drawn uniformly from low..high inclusive (arrays allowed)."""
    low_array = np.broadcast_to(np.asarray(low, dtype=np.int64), size)
    high_array = np.broadcast_to(np.asarray(high, dtype=np.int64), size)
    span = np.maximum(high_array - low_array + 1, 1)
    return low_array + np.floor(rng.random(size) * span).astype(np.int64)


def _day(today: np.datetime64, days_ago: np.ndarray) -> np.ndarray:
    """Midnight of the day days_ago before today, as datetime64[ns]."""
    return (today - days_ago.astype("timedelta64[D]")).astype("datetime64[ns]")


def _minutes(values: np.ndarray) -> np.ndarray:
    return values.astype(np.int64).astype("timedelta64[m]")


def _office_minutes(rng: np.random.Generator, size: int, start_hour: int = 8,
                    end_hour: int = 17) -> np.ndarray:
    return _minutes(_between(rng, start_hour * 60, end_hour * 60 - 1, size))


def _text(values: np.ndarray, keep: np.ndarray | None = None) -> pd.Series:
    """A text column: the values where keep (default: where there is one), blank elsewhere."""
    values = np.array(values, dtype=object)  # a copy: blanks are written into it
    if keep is not None:
        values[~np.asarray(keep, dtype=bool)] = None
    return pd.Series(values, dtype=object)


def _first_label(conditions: list[np.ndarray], labels: list[object]) -> np.ndarray:
    """Row by row, the label of the first condition that holds; None where none does."""
    result = np.full(len(conditions[0]), None, dtype=object)
    decided = np.zeros(len(conditions[0]), dtype=bool)
    for condition, label in zip(conditions, labels, strict=True):
        take = np.asarray(condition, dtype=bool) & ~decided
        result[take] = np.broadcast_to(np.asarray(label, dtype=object), result.shape)[take]
        decided |= take
    return result


def _dates(values: np.ndarray, keep: np.ndarray | None = None) -> pd.Series:
    if keep is None:
        keep = np.ones(len(values), dtype=bool)
    return pd.Series(np.where(keep, values, NAT), dtype="datetime64[ns]")


def _ints(values: np.ndarray, keep: np.ndarray) -> pd.Series:
    data = np.where(keep, values, 0).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(data, ~np.asarray(keep, dtype=bool)))


def _digits(rng: np.random.Generator, size: int, width: int) -> np.ndarray:
    numbers = rng.integers(0, 10**width, size=size)
    return np.char.zfill(numbers.astype(str), width).astype(object)


def _join(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise string concatenation of arrays and constants."""
    result = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        result = result + np.asarray(part, dtype=object)
    return result


def _choice_index(rng: np.random.Generator, weights: list[float], size: int) -> np.ndarray:
    probabilities = np.asarray(weights, dtype=float)
    return rng.choice(len(probabilities), size=size, p=probabilities / probabilities.sum())


def _as_date(value: dt.date | dt.datetime | str) -> dt.date:
    return pd.Timestamp(value).date()


# --------------------------------------------------------------------------------------------
# The sheets.
# --------------------------------------------------------------------------------------------


def _payers_frame() -> pd.DataFrame:
    records = []
    for number, payer in enumerate(PAYERS):
        slug = payer.prefix.lower()
        phone = f"800-555-01{10 + 2 * number:02d}"
        fax = f"800-555-01{11 + 2 * number:02d}"
        record: dict[str, object] = {
            "payer": payer.name, "plan_type": payer.plan_type,
            "portal": f"https://provider.{slug}.example",
            "phone": phone, "fax": fax,
            "appeals_address": f"{payer.name} Appeals Unit, PO Box {1000 + 17 * number}, "
                               f"Sampleton, OH 4300{number % 10}",
        }
        record.update(dict(payer.overrides))
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    for column in ("standard_decision_days", "expedited_decision_hours", "p2p_window_days",
                   "appeal_filing_days", "external_review_days"):
        values = frame[column] if column in frame.columns else pd.Series([np.nan] * len(frame))
        frame[column] = values.astype("Float64").round().astype("Int64")
    for column in ("override_from", "override_to"):
        frame[column] = pd.to_datetime(frame[column]) if column in frame.columns else pd.NaT
    for column in ("decision_days_are", "rating_period_start"):
        if column not in frame.columns:
            frame[column] = None
    return frame[SHEETS_BY_NAME["Payers"].column_names]


def _providers_frame(rng: np.random.Generator, as_of: dt.date) -> pd.DataFrame:
    first_nine = [str(number) for number in
                  100_000_000 + rng.choice(100_000_000, size=len(PROVIDER_NAMES),
                                           replace=False)]
    npis = [digits + npi_check_digit(digits) for digits in first_nine]
    records = []
    for npi, name in zip(npis, PROVIDER_NAMES, strict=True):
        years_enrolled = int(rng.integers(1, 9))
        for payer in PAYERS:
            status = "Enrolled"
            effective: object = pd.Timestamp(as_of) - pd.DateOffset(years=years_enrolled)
            if name == NEW_PROVIDER:
                effective = pd.Timestamp(as_of) - pd.Timedelta(days=60)
            if (name, payer.name) in PENDING_ENROLLMENTS:
                status, effective = "Pending", None
            elif (name, payer.name) in NOT_ENROLLED:
                status, effective = "Not Enrolled", None
            records.append({"npi": npi, "provider_name": name, "payer": payer.name,
                            "enrollment_status": status, "effective_date": effective})
    frame = pd.DataFrame.from_records(records)
    frame["effective_date"] = pd.to_datetime(frame["effective_date"]).astype("datetime64[ns]")
    return frame


def _rules_frame(as_of: dt.date) -> pd.DataFrame:
    columns = SHEETS_BY_NAME["PA Rules"].column_names
    frame = pd.DataFrame.from_records(_rules(as_of), columns=columns)
    frame["visit_threshold"] = frame["visit_threshold"].astype("Float64").astype("Int64")
    for column in ("effective_from", "effective_to"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame


def _criteria_frame() -> pd.DataFrame:
    records = [{"service_category": category, "payer": "*", "item": item, "required": required}
               for category in LISTS["service_category"]
               for item, required in CRITERIA_ITEMS[category]]
    records += [{"service_category": category, "payer": payer, "item": item,
                 "required": required}
                for payer, category, items in PAYER_CRITERIA for item, required in items]
    return pd.DataFrame.from_records(records)


def _settings_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "key": [setting.key for setting in SETTINGS_DEFAULTS],
        "value": [str(SETTINGS_VALUES.get(setting.key, setting.default))
                  for setting in SETTINGS_DEFAULTS],
    })


def _weekday_on_or_after(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _closures_frame(as_of: dt.date) -> pd.DataFrame:
    closures = [
        (_weekday_on_or_after(as_of - dt.timedelta(days=24)), "EHR upgrade (practice closed)"),
        (_weekday_on_or_after(as_of + dt.timedelta(days=9)), "Staff training day"),
        (_weekday_on_or_after(as_of + dt.timedelta(days=30)), "Office move"),
    ]
    return pd.DataFrame({
        "date": pd.to_datetime([day for day, _ in closures]).astype("datetime64[ns]"),
        "reason": [reason for _, reason in closures],
    })


def _requests_frame(rng: np.random.Generator, rows: int, as_of: dt.date,
                    providers: pd.DataFrame) -> pd.DataFrame:
    """The Requests sheet: every status, with the fields that status implies filled in."""
    n = rows
    today = np.datetime64(as_of, "D")
    statuses = np.array(LISTS["status"], dtype=object)
    categories = list(LISTS["service_category"])
    index = np.arange(n)

    # Status first: it decides the timeline. The first rows take each status once, so even a
    # small sample shows every one.
    status_code = _choice_index(rng, [STATUS_WEIGHTS[s] for s in statuses], n)
    cover = min(n, len(statuses))
    status_code[:cover] = np.arange(cover)
    status = statuses[status_code]

    def has(*names: str) -> np.ndarray:
        return np.isin(status, names)

    pre = has("Not Started", "Requirement Check", "Documentation")
    pending = has("Submitted", "Info Requested")
    withdrawn = has("Withdrawn")
    # A quarter of closed requests were closed at the requirement check: no PA needed.
    closed_no_pa = has("Closed") & (rng.random(n) < 0.25) & (index >= len(statuses))
    # Most denials are never appealed (DOMAIN.md): some closed requests end at the denial.
    closed_denied = has("Closed") & ~closed_no_pa & (rng.random(n) < 0.27)
    withdrawn_submitted = withdrawn & (rng.random(n) < 0.5)
    decided = ~(pre | pending | withdrawn | closed_no_pa)
    submitted = decided | pending | withdrawn_submitted

    # Patients, each with one payer; the first patients take each payer once.
    patient_count = max(40, n // 3, len(PAYERS))
    patient_payer = _choice_index(rng, [payer.weight for payer in PAYERS], patient_count)
    patient_payer[:len(PAYERS)] = np.arange(len(PAYERS))
    age = np.zeros(patient_count, dtype=np.int64)
    for number, payer in enumerate(PAYERS):
        mine = patient_payer == number
        age[mine] = _between(rng, *payer.age_range, int(mine.sum()))
    dob_days_ago = age * 365 + _between(rng, 0, 364, patient_count)
    first = rng.integers(0, len(FIRST_NAMES), patient_count)
    last = rng.integers(0, len(LAST_NAMES), patient_count)
    middle = rng.integers(0, 27, patient_count)  # 26: no middle initial
    initials = np.array([f" {chr(65 + m)}." if m < 26 else "" for m in range(27)], dtype=object)
    patient_names = _join(np.array(LAST_NAMES, dtype=object)[last], ", ",
                          np.array(FIRST_NAMES, dtype=object)[first], initials[middle])
    patient_prefix = np.array([payer.prefix for payer in PAYERS], dtype=object)[patient_payer]
    member_ids = _join(patient_prefix, _digits(rng, patient_count, 9))

    patient = rng.integers(0, patient_count, n)
    patient[:min(n, patient_count, len(PAYERS))] = np.arange(min(n, patient_count, len(PAYERS)))
    payer_code = patient_payer[patient]
    plan_types = np.array([payer.plan_type for payer in PAYERS], dtype=object)
    plan_type = plan_types[payer_code]

    # Service category, tilted by plan type; the first rows take each category once.
    category_code = np.zeros(n, dtype=np.int64)
    for number, payer in enumerate(PAYERS):
        mine = payer_code == number
        tilt = PLAN_CATEGORY_TILT.get(payer.plan_type, {})
        weights = [CATEGORY_WEIGHTS[c] * tilt.get(c, 1.0) for c in categories]
        category_code[mine] = _choice_index(rng, weights, int(mine.sum()))
    cover = min(n, len(categories))
    category_code[:cover] = np.arange(cover)
    category_code[closed_no_pa] = categories.index(THERAPY)  # under the visit threshold
    category = np.array(categories, dtype=object)[category_code]

    codes = np.empty(n, dtype=object)
    icd10 = np.empty(n, dtype=object)
    requested_units = np.ones(n, dtype=np.int64)
    denial_reason_pool = np.empty(n, dtype=object)
    for code_number, name in enumerate(categories):
        in_category = np.flatnonzero(category_code == code_number)
        options = SERVICES[name]
        picks = rng.integers(0, len(options), in_category.size)
        for option_number, option in enumerate(options):
            rows_here = in_category[picks == option_number]
            count = rows_here.size
            if not count:
                continue
            codes[rows_here] = option.codes
            requested_units[rows_here] = _between(rng, *option.units, count)
            diagnoses = np.array(option.icd10, dtype=object)
            first_dx = rng.integers(0, len(diagnoses), count)
            text = diagnoses[first_dx]
            if len(diagnoses) > 1:
                # About 30% carry a second, different diagnosis.
                second_dx = (first_dx + 1 + rng.integers(0, len(diagnoses) - 1, count)) % len(
                    diagnoses)
                two = rng.random(count) < 0.3
                text = np.where(two, _join(text, ", ", diagnoses[second_dx]), text)
            icd10[rows_here] = text
        reasons = np.array(DENIAL_REASONS[name] + GENERAL_DENIAL_REASONS, dtype=object)
        denial_reason_pool[in_category] = reasons[rng.integers(0, len(reasons), in_category.size)]

    # Ordering providers: someone enrolled with the patient's payer ...
    provider_names = providers.drop_duplicates("provider_name")[["provider_name", "npi"]]
    npi_of = dict(zip(provider_names["provider_name"], provider_names["npi"], strict=True))
    provider = np.empty(n, dtype=object)
    for number, payer in enumerate(PAYERS):
        mine = np.flatnonzero(payer_code == number)
        enrolled = providers[(providers["payer"] == payer.name)
                             & (providers["enrollment_status"] == "Enrolled")
                             & (providers["provider_name"] != NEW_PROVIDER)]
        names = enrolled["provider_name"].to_numpy(dtype=object)
        provider[mine] = names[rng.integers(0, len(names), mine.size)]
    # ... except a couple of early requests by the new provider whose enrollment is pending:
    # the trap DOMAIN.md warns about, for the enrollment check to catch.
    pending_payers = [name for who, name in PENDING_ENROLLMENTS if who == NEW_PROVIDER]
    trap = np.flatnonzero(pre & np.isin(np.array([p.name for p in PAYERS])[payer_code],
                                        pending_payers))[:2]
    provider[trap] = NEW_PROVIDER
    npi = pd.Series(provider).map(npi_of).to_numpy(dtype=object)

    urgency = np.where(rng.random(n) < 0.1, "Expedited", "Standard").astype(object)
    expedited = urgency == "Expedited"

    # ---- The timeline, in whole days before as_of (all events fall before as_of).
    low = np.array([DECISION_AGO.get(s, (1, 1))[0] for s in statuses])[status_code]
    high = np.array([DECISION_AGO.get(s, (1, 1))[1] for s in statuses])[status_code]
    decision_ago = _between(rng, low, high, n)
    lag = np.where(expedited, _between(rng, 0, 3, n), _between(rng, 2, 14, n))
    submit_ago = np.select(
        [decided, has("Submitted"), has("Info Requested"), withdrawn_submitted],
        [decision_ago + lag, _between(rng, 1, 12, n), _between(rng, 3, 14, n),
         _between(rng, 5, 60, n)],
        default=0,
    )
    created_ago = np.select(
        [submitted, has("Not Started"), pre | closed_no_pa | withdrawn],
        [submit_ago + _between(rng, 0, 5, n), _between(rng, 0, 3, n), _between(rng, 1, 30, n)],
        default=0,
    )
    created_ago = np.where(closed_no_pa, _between(rng, 30, 110, n), created_ago)

    submitted_day = _day(today, submit_ago)
    # About half are recorded as a date alone, the rest with the time of day sent.
    timed = rng.random(n) < 0.5
    submitted_at = submitted_day + np.where(timed, _office_minutes(rng, n), _minutes(
        np.zeros(n)))
    decision_day = _day(today, decision_ago)

    # Information requests: all Info Requested rows, and about a third of decided rows whose
    # decision took three days or more (the payer asked on the next day).
    info_offset = _between(rng, 1, np.maximum(submit_ago - 1, 1), n)
    info_pending = has("Info Requested")
    info_decided = decided & (lag >= 3) & (rng.random(n) < 0.35)
    info_offset = np.where(info_decided, 1, info_offset)
    info_requested = (submitted_day + info_offset.astype("timedelta64[D]")
                      + _office_minutes(rng, n, 9, 16))
    info_responded = info_requested + _minutes(_between(rng, 2 * 60, 28 * 60, n))
    has_info = info_pending | info_decided
    now = today.astype("datetime64[ns]")
    answered = has_info & (info_decided | (rng.random(n) < 0.6)) & (info_responded < now)

    # Status checks on open requests, on a day after submission.
    check_offset = _between(rng, 1, np.maximum(submit_ago - 1, 1), n)
    last_check = (submitted_day + check_offset.astype("timedelta64[D]")
                  + _office_minutes(rng, n))
    checked = pending & (submit_ago >= 2) & (rng.random(n) < 0.7)

    # Peer-to-peer and appeals after a denial.
    denied_chain = has("Denied", "P2P Requested", "Appeal Submitted", "External Review",
                       "Overturned", "Upheld") | closed_denied
    overturned = has("Overturned")
    overturn_by_p2p = overturned & (rng.random(n) < 0.6)
    p2p_before_appeal = has("Appeal Submitted") & (rng.random(n) < 0.3)
    p2p_requested_after = np.where(has("P2P Requested"),
                                   _between(rng, 0, np.minimum(2, decision_ago - 1), n),
                                   np.where(overturn_by_p2p, _between(rng, 0, 2, n), 0))
    # A peer-to-peer before a written appeal happened the day after the denial.
    p2p_held_after = np.where(p2p_before_appeal, 1, p2p_requested_after + _between(rng, 1, 5, n))
    p2p_requested = has("P2P Requested") | overturn_by_p2p | p2p_before_appeal
    p2p_held = (overturn_by_p2p | p2p_before_appeal
                | (has("P2P Requested") & (rng.random(n) < 0.4)
                   & (p2p_held_after < decision_ago)))
    p2p_outcome = _first_label([overturn_by_p2p, p2p_before_appeal, has("P2P Requested")],
                               ["Overturned", "Upheld", "Pending"])

    appeal_filed_after = np.where(p2p_before_appeal, _between(rng, 2, 4, n),
                                  _between(rng, 1, 4, n))
    appeal_filed_after = np.where(has("External Review"), _between(rng, 35, 45, n),
                                  appeal_filed_after)
    appeal_decided_after = appeal_filed_after + np.where(overturned, _between(rng, 5, 9, n),
                                                         _between(rng, 10, 25, n))
    overturn_by_appeal = overturned & ~overturn_by_p2p
    appealed = has("Appeal Submitted", "External Review", "Upheld") | overturn_by_appeal
    appeal_decided = has("Upheld") | overturn_by_appeal
    appeal_level = np.where(has("External Review"), "External Review", "Level 1").astype(object)
    appeal_outcome = _first_label([overturn_by_appeal, has("Upheld"),
                                   has("Appeal Submitted", "External Review")],
                                  ["Overturned", "Upheld", "Pending"])

    # Authorizations: approved outright, partly, or after an overturned denial.
    approved_now = has("Approved", "Partially Approved") | overturned
    closed_used = has("Closed") & ~closed_no_pa & ~closed_denied
    authorized = approved_now | has("Expired") | closed_used
    start_ago = np.select([overturn_by_p2p, overturn_by_appeal],
                          [decision_ago - p2p_held_after, decision_ago - appeal_decided_after],
                          default=decision_ago)
    start_ago = np.maximum(start_ago, 1)
    remaining_days = _between(rng, 1, 90, n)  # live auths end after as_of; a third within 30
    live_duration = np.clip(start_ago + remaining_days, np.maximum(30, start_ago + 1), 180)
    expired_duration = _between(rng, 30, np.maximum(start_ago - 1, 30), n)
    duration = np.select([approved_now, has("Expired")], [live_duration, expired_duration],
                         default=_between(rng, 30, 180, n))
    auth_start = _day(today, start_ago)
    auth_end = auth_start + duration.astype("timedelta64[D]")

    partial = has("Partially Approved")
    asked = np.where(partial, np.maximum(requested_units, 2), requested_units)
    units_authorized = np.where(partial, np.maximum(asked // 2, 1), asked)
    service_offset = _between(rng, 0, np.minimum(30, duration - 1), n)
    service_ago = np.select(
        [authorized, pre | pending],
        [start_ago - service_offset, -_between(rng, 3, 60, n)],
        default=np.where(denied_chain, decision_ago - _between(rng, 3, 30, n),
                         created_ago - _between(rng, 7, 40, n)),
    )
    elapsed = np.clip(start_ago / duration, 0, 1) * (0.6 + 0.45 * rng.random(n))
    units_used = np.minimum(np.floor(units_authorized * elapsed).astype(np.int64),
                            units_authorized)
    units_used = np.where(units_authorized == 1, (service_ago >= 0).astype(np.int64), units_used)
    units_used = np.where(service_ago < 0, 0, units_used)
    units_used = np.select([closed_used, has("Expired")],
                           [units_authorized,
                            np.floor(units_authorized * (0.2 + 0.7 * rng.random(n)))],
                           default=units_used).astype(np.int64)

    auth_number = _join("A", (rng.choice(900_000_000, size=n, replace=False)
                              + 100_000_000).astype(str).astype(object))
    auth_known = authorized.copy()
    # One approved request without its number, for `check` to warn about (large samples).
    missing_number = np.flatnonzero(has("Approved") & (index >= len(statuses)))
    if n >= 200 and missing_number.size:
        auth_known[missing_number[-1]] = False

    decision = _first_label([has("Approved", "Expired") | closed_used, partial, denied_chain],
                            ["Approved", "Partially Approved", "Denied"])
    denial_reason = np.where(
        partial,
        _join("Approved ", units_authorized.astype(str).astype(object), " of ",
              asked.astype(str).astype(object),
              " units requested; send updated clinical notes to ask for more"),
        denial_reason_pool)
    extension = denied_chain & (lag >= 10) & (rng.random(n) < 0.15)

    channel_names = np.array(list(CHANNELS), dtype=object)
    channel = channel_names[_choice_index(rng, list(CHANNELS.values()), n)]
    reference = _join(np.array([p.prefix for p in PAYERS], dtype=object)[payer_code], "-",
                      _digits(rng, n, 8))

    requirement_known = ~has("Not Started", "Requirement Check")
    pa_required = _first_label([closed_no_pa, has("Requirement Check"), ~has("Not Started")],
                               ["No", "Unknown", "Yes"])
    docs_complete = _first_label([submitted, has("Documentation") | withdrawn], ["Yes", "No"])

    owner = np.array(OWNERS, dtype=object)[rng.integers(0, len(OWNERS), n)]
    notes = _first_label(
        [withdrawn, has("External Review"), closed_no_pa, closed_denied, has("Expired"),
         np.isin(index, trap), p2p_before_appeal],
        [np.array(WITHDRAWAL_NOTES, dtype=object)[rng.integers(0, len(WITHDRAWAL_NOTES), n)],
         "Level 1 appeal upheld; external review requested",
         "Requirement checked: under the visit threshold, no PA needed",
         "Denial not appealed: the ordering provider chose another treatment",
         "Authorization expired; start a renewal if the service continues",
         "Ordering provider's enrollment with this payer is pending",
         "Peer-to-peer upheld the denial; written appeal filed"])

    frame = pd.DataFrame({
        "patient_id": _text(_join("P", np.char.zfill(
            (patient + 1).astype(str), 6).astype(object))),
        "patient_name": _text(patient_names[patient]),
        "patient_dob": _dates(_day(today, dob_days_ago[patient])),
        "member_id": _text(member_ids[patient]),
        "payer": _text(np.array([p.name for p in PAYERS], dtype=object)[payer_code]),
        "plan_type": _text(plan_type),
        "ordering_npi": _text(npi),
        "ordering_provider": _text(provider),
        "service_category": _text(category),
        "codes": _text(codes),
        "icd10": _text(icd10),
        "urgency": _text(urgency),
        "scheduled_service_date": _dates(_day(today, service_ago)),
        "requirement_checked_date": _dates(_day(today, created_ago), requirement_known),
        "pa_required": _text(pa_required),
        "docs_complete": _text(docs_complete),
        "submitted_at": _dates(submitted_at, submitted),
        "channel": _text(channel, submitted),
        "payer_reference": _text(reference, submitted & (rng.random(n) < 0.95)),
        "status": _text(status),
        "info_requested_at": _dates(info_requested, has_info),
        "info_responded_at": _dates(info_responded, answered),
        "extension_days": _ints(np.full(n, 14), extension),
        "decision_date": _dates(decision_day, decided),
        "decision": _text(decision, decided),
        "denial_reason": _text(denial_reason, denied_chain | partial),
        "auth_number": _text(auth_number, auth_known),
        "auth_effective_date": _dates(auth_start, authorized),
        "auth_expiration_date": _dates(auth_end, authorized),
        "units_authorized": _ints(units_authorized, authorized),
        "units_used": _ints(units_used, authorized),
        "p2p_requested_date": _dates(decision_day + p2p_requested_after.astype(
            "timedelta64[D]"), p2p_requested),
        "p2p_date": _dates(decision_day + p2p_held_after.astype("timedelta64[D]"), p2p_held),
        "p2p_outcome": _text(p2p_outcome, p2p_requested),
        "appeal_level": _text(appeal_level, appealed),
        "appeal_submitted_date": _dates(decision_day + appeal_filed_after.astype(
            "timedelta64[D]"), appealed),
        "appeal_decision_date": _dates(decision_day + appeal_decided_after.astype(
            "timedelta64[D]"), appeal_decided),
        "appeal_outcome": _text(appeal_outcome, appealed),
        "last_status_check": _dates(last_check, checked),
        "owner": _text(owner),
        "notes": _text(notes),
    })
    # A tracker grows in the order requests were opened; IDs follow that order.
    frame = frame.iloc[np.argsort(-created_ago, kind="stable")].reset_index(drop=True)
    width = max(5, len(str(n)))
    numbers = np.char.zfill(np.arange(1, n + 1).astype(str), width).astype(object)
    frame.insert(0, "request_id", _text(_join(f"PA-{as_of.year}-", numbers)))
    return frame[SHEETS_BY_NAME["Requests"].column_names]


def _history_frame(rng: np.random.Generator, requests: pd.DataFrame) -> pd.DataFrame:
    """A few recorded changes: submissions, decisions and auth numbers of some requests."""
    decided = np.flatnonzero(requests["decision"].notna().to_numpy())
    chosen = np.sort(rng.choice(decided, size=min(25, decided.size), replace=False))
    records: list[dict[str, object]] = []
    for position in chosen:
        request = requests.iloc[position]
        sent = request["submitted_at"]
        if sent == sent.normalize():
            sent += pd.Timedelta(hours=9)
        decided_at = request["decision_date"] + pd.Timedelta(hours=10, minutes=30)
        new_status = "Approved" if request["decision"] != "Denied" else "Denied"
        if request["decision"] == "Partially Approved":
            new_status = "Partially Approved"
        records += [
            {"at": sent, "request_id": request["request_id"], "field": "status",
             "old_value": "Documentation", "new_value": "Submitted", "by": request["owner"]},
            {"at": decided_at, "request_id": request["request_id"], "field": "status",
             "old_value": "Submitted", "new_value": new_status, "by": request["owner"]},
        ]
        if request["decision"] != "Denied" and pd.notna(request["auth_number"]):
            records.append({"at": decided_at + pd.Timedelta(minutes=1),
                            "request_id": request["request_id"], "field": "auth_number",
                            "old_value": None, "new_value": request["auth_number"],
                            "by": request["owner"]})
    columns = SHEETS_BY_NAME["History"].column_names
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["at"] = pd.to_datetime(frame["at"]).astype("datetime64[ns]")
    frame = frame.sort_values("at", kind="stable").reset_index(drop=True)
    return frame.astype({name: object for name in columns if name != "at"})


def sample_frames(rows: int = 300, seed: int = 7,
                  as_of: dt.date = DEFAULT_AS_OF) -> dict[str, pd.DataFrame]:
    """One DataFrame per contract sheet of a synthetic tracker, canonical column names.

    Dates fall within about 120 days before as_of and 60 days after it; every
    event that has happened is dated before as_of. Same arguments, same frames.
    """
    if rows < 1:
        raise ValueError("rows must be 1 or more")
    as_of = _as_date(as_of)
    rng = np.random.default_rng(seed)
    providers = _providers_frame(rng, as_of)
    requests = _requests_frame(rng, rows, as_of, providers)
    return {
        "Requests": requests,
        "Payers": _payers_frame(),
        "PA Rules": _rules_frame(as_of),
        "Criteria": _criteria_frame(),
        "Providers": providers,
        "Settings": _settings_frame(),
        "Closures": _closures_frame(as_of),
        "History": _history_frame(rng, requests),
    }


def write_sample(path: Path | str, rows: int = 300, seed: int = 7,
                 as_of: dt.date = DEFAULT_AS_OF) -> Path:
    """Write a synthetic tracker workbook (`patoolkit sample`); never replaces a file."""
    return write_tracker_workbook(path, sample_frames(rows, seed, as_of), synthetic=True)


# --------------------------------------------------------------------------------------------
# A claims export that matches a tracker, with the authorization mistakes claims deny for.
# --------------------------------------------------------------------------------------------

CLAIM_COLUMNS = ("claim_id", "patient_id", "payer", "date_of_service", "codes", "units",
                 "auth_number")
CLEAN = "clean"
MISSING_AUTH_NUMBER = "missing_auth_number"
WRONG_AUTH_NUMBER = "wrong_auth_number"
EXPIRED_AUTH = "expired_auth"
UNITS_OVER = "units_over"
NO_REQUEST = "no_request"
CLAIM_SCENARIOS = (CLEAN, MISSING_AUTH_NUMBER, WRONG_AUTH_NUMBER, EXPIRED_AUTH, UNITS_OVER,
                   NO_REQUEST)
# Codes every non-Medicare-FFS plan in the sample rules requires PA for ("*" rules, Yes).
NEEDS_PA_CODES = ("72148", "27447", "70553", "E0260")
PLAN_TYPES_NEEDING_PA = ("Commercial", "Medicare Advantage", "Marketplace QHP",
                         "Medicaid Managed Care", "Medicaid FFS", "CHIP")


def _claims_as_of(requests: pd.DataFrame) -> pd.Timestamp:
    """The day after the latest event in the tracker: claims are for services before it."""
    columns = ["submitted_at", "info_requested_at", "info_responded_at", "decision_date",
               "p2p_requested_date", "p2p_date", "appeal_submitted_date",
               "appeal_decision_date", "last_status_check"]
    latest = pd.concat([pd.to_datetime(requests[c]) for c in columns if c in requests]).max()
    if pd.isna(latest):
        return pd.Timestamp(DEFAULT_AS_OF)
    return latest.normalize() + pd.Timedelta(days=1)


def _build_claims(frames: dict[str, pd.DataFrame], seed: int,
                  as_of: dt.date | None) -> tuple[pd.DataFrame, dict[str, str]]:
    rng = np.random.default_rng([seed, 2026])  # its own stream: claims do not shift requests
    requests = frames["Requests"].reset_index(drop=True)
    today = pd.Timestamp(as_of) if as_of is not None else _claims_as_of(requests)
    n = len(requests)
    auth = requests["auth_number"].astype(object).where(requests["auth_number"].notna(), None)
    start = pd.to_datetime(requests["auth_effective_date"]).dt.normalize()
    end = pd.to_datetime(requests["auth_expiration_date"]).dt.normalize()
    authorized = pd.to_numeric(requests["units_authorized"]).astype("Float64")
    used = pd.to_numeric(requests["units_used"]).astype("Float64").fillna(0)
    remaining = (authorized - used).fillna(0).to_numpy(dtype=float)
    usable = (auth.notna() & start.notna() & end.notna() & authorized.notna()
              & (start < today)).to_numpy(dtype=bool)
    last_day = np.minimum(end.to_numpy(dtype="datetime64[ns]"),
                          np.datetime64(today - pd.Timedelta(days=1), "ns"))
    in_period = usable & (remaining >= 1) & (end >= start).to_numpy(dtype=bool)
    lapsed = usable & (end < today - pd.Timedelta(days=1)).to_numpy(dtype=bool)

    problem_count = max(2, n // 100)
    clean_count = max(10, n // 10)
    taken = np.zeros(n, dtype=bool)  # one claim per authorization, so units never add up

    def pick(candidates: np.ndarray, count: int) -> np.ndarray:
        pool = np.flatnonzero(candidates & ~taken)
        chosen = np.sort(rng.choice(pool, size=min(count, pool.size), replace=False))
        taken[chosen] = True
        return chosen

    parts: list[pd.DataFrame] = []

    def claims_for(rows: np.ndarray, scenario: str, service: np.ndarray,
                   units: np.ndarray, numbers: np.ndarray) -> None:
        chosen = requests.iloc[rows]
        parts.append(pd.DataFrame({
            "patient_id": chosen["patient_id"].astype(object).to_numpy(),
            "payer": chosen["payer"].astype(object).to_numpy(),
            "date_of_service": pd.to_datetime(service).astype("datetime64[ns]"),
            "codes": chosen["codes"].astype(object).to_numpy(),
            "units": units.astype(np.int64),
            "auth_number": numbers,
            "scenario": scenario,
        }))

    def day_between(first: np.ndarray, last: np.ndarray) -> np.ndarray:
        span = ((last - first) / np.timedelta64(1, "D")).astype(np.int64)
        offsets = np.floor(rng.random(first.size) * (span + 1)).astype(np.int64)
        return first + offsets.astype("timedelta64[D]")

    starts = start.to_numpy(dtype="datetime64[ns]")
    ends = end.to_numpy(dtype="datetime64[ns]")
    auth_values = auth.to_numpy(dtype=object)
    authorized_values = authorized.fillna(0).to_numpy(dtype=float).astype(np.int64)

    rows = pick(lapsed, problem_count)  # served after the authorization ended
    after = ends[rows] + np.timedelta64(1, "D")
    claims_for(rows, EXPIRED_AUTH, day_between(after, np.maximum(after, last_day[rows])),
               np.ones(rows.size), auth_values[rows])
    for scenario, count in ((UNITS_OVER, problem_count), (MISSING_AUTH_NUMBER, problem_count),
                            (WRONG_AUTH_NUMBER, problem_count), (CLEAN, clean_count)):
        rows = pick(in_period, count)
        service = day_between(starts[rows], last_day[rows])
        within = 1 + np.floor(rng.random(rows.size) * remaining[rows]).astype(np.int64)
        numbers = auth_values[rows]
        if scenario == UNITS_OVER:
            # More than the whole authorization: over, however the remainder is counted.
            within = authorized_values[rows] + rng.integers(1, 4, rows.size)
        elif scenario == MISSING_AUTH_NUMBER:
            numbers = np.full(rows.size, None, dtype=object)
        elif scenario == WRONG_AUTH_NUMBER:
            numbers = _unknown_auth_numbers(rng, rows.size, set(auth.dropna()))
        claims_for(rows, scenario, service, within, numbers)

    # Services that needed PA and never had a request: a new code for a known patient.
    eligible = np.flatnonzero(requests["plan_type"].isin(PLAN_TYPES_NEEDING_PA).to_numpy(bool))
    chosen_rows: list[int] = []
    chosen_codes: list[str] = []
    candidates = rng.permutation(eligible)[:problem_count * 5]
    their_requests = requests[requests["patient_id"].isin(requests["patient_id"].iloc[candidates])]
    codes_by_patient = their_requests.groupby("patient_id")["codes"].agg(
        lambda c: ",".join(c.dropna().astype(str)))
    for row in candidates:
        patient_codes = codes_by_patient.get(requests.at[row, "patient_id"], "")
        free = [code for code in NEEDS_PA_CODES if code not in patient_codes]
        if free and len(chosen_rows) < problem_count:
            chosen_rows.append(int(row))
            chosen_codes.append(free[int(rng.integers(0, len(free)))])
    rows = np.array(chosen_rows, dtype=np.int64)
    if rows.size:
        yesterday = np.datetime64(today - pd.Timedelta(days=1), "ns")
        recent = (np.full(rows.size, yesterday)
                  - rng.integers(0, 60, rows.size).astype("timedelta64[D]"))
        claims_for(rows, NO_REQUEST, recent, np.ones(rows.size),
                   np.full(rows.size, None, dtype=object))
        parts[-1]["codes"] = chosen_codes

    claims = pd.concat(parts, ignore_index=True)
    claims = claims.iloc[rng.permutation(len(claims))].reset_index(drop=True)
    claims.insert(0, "claim_id", [f"CLM-{number:06d}" for number in range(1, len(claims) + 1)])
    scenarios = dict(zip(claims["claim_id"], claims["scenario"], strict=True))
    claims = claims.drop(columns="scenario")
    claims["units"] = claims["units"].astype("Int64")
    claims = claims.astype({"claim_id": object, "patient_id": object, "payer": object,
                            "codes": object, "auth_number": object})
    return claims[list(CLAIM_COLUMNS)], scenarios


def _unknown_auth_numbers(rng: np.random.Generator, count: int, known: set[str]) -> np.ndarray:
    """Plausible authorization numbers that the tracker does not hold (typos, other patients)."""
    numbers: list[str] = []
    while len(numbers) < count:
        candidate = f"A{int(rng.integers(100_000_000, 1_000_000_000))}"
        if candidate not in known and candidate not in numbers:
            numbers.append(candidate)
    return np.array(numbers, dtype=object)


def claims_frame(frames: dict[str, pd.DataFrame], seed: int = 7,
                 as_of: dt.date | None = None) -> pd.DataFrame:
    """A claims export matching the tracker's Requests: clean claims and claims that will
    deny for authorization reasons. The expected answer is not in it (see claims_scenarios).

    as_of defaults to the day after the latest event in the tracker.
    """
    return _build_claims(frames, seed, as_of)[0]


def claims_scenarios(frames: dict[str, pd.DataFrame], seed: int = 7,
                     as_of: dt.date | None = None) -> dict[str, str]:
    """claim_id -> the scenario claims_frame built it for (one of CLAIM_SCENARIOS)."""
    return _build_claims(frames, seed, as_of)[1]


def write_claims(path: Path | str, frames: dict[str, pd.DataFrame], seed: int = 7,
                 as_of: dt.date | None = None) -> Path:
    """Write claims_frame(...) as an .xlsx with one sheet, Claims; never replaces a file."""
    claims = claims_frame(frames, seed, as_of)
    return create_new_file(path, lambda temporary: _write_claims_book(temporary, claims),
                           what="claims export")


def _write_claims_book(path: Path, claims: pd.DataFrame) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_urls": False,
                                           "strings_to_numbers": False})
    book.set_properties({"title": "Claims export (synthetic)", "author": "patoolkit",
                         "created": FIXED_CREATED})  # same input, same bytes
    header = book.add_format({"bold": True})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    text = book.add_format({"num_format": "@"})
    sheet = book.add_worksheet("Claims")
    widths = {"claim_id": 12, "patient_id": 10, "payer": 32, "date_of_service": 14,
              "codes": 14, "units": 6, "auth_number": 13}
    for position, name in enumerate(CLAIM_COLUMNS):
        kind = date if name == "date_of_service" else (None if name == "units" else text)
        sheet.set_column(position, position, widths[name], kind)
        sheet.write_string(0, position, name, header)
    for row, record in enumerate(claims.itertuples(index=False), start=1):
        for position, value in enumerate(record):
            if value is None or pd.isna(value):
                continue
            if isinstance(value, pd.Timestamp):
                sheet.write_datetime(row, position, value.to_pydatetime(), date)
            elif CLAIM_COLUMNS[position] == "units":
                sheet.write_number(row, position, int(value))
            else:
                sheet.write_string(row, position, str(value))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(claims), 1), len(CLAIM_COLUMNS) - 1)
    book.close()
