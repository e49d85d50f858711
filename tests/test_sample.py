"""The synthetic tracker and claims export (patoolkit.sample): valid, complete, reproducible."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from patoolkit.codes import code_in_range, icd10_problem, is_valid_npi, procedure_code_problem
from patoolkit.errors import PAToolkitError
from patoolkit.sample import (
    ALL_ICD10_CODES,
    CLAIM_COLUMNS,
    CLAIM_SCENARIOS,
    DEFAULT_AS_OF,
    SERVICES,
    claims_frame,
    claims_scenarios,
    sample_frames,
    write_claims,
    write_sample,
)
from patoolkit.schema import LISTS, SETTINGS_DEFAULTS, SHEETS
from patoolkit.tracker.read import Tracker, load_tracker

AS_OF = pd.Timestamp(DEFAULT_AS_OF)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return sample_frames(rows=300, seed=7)


@pytest.fixture(scope="module")
def requests(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return frames["Requests"]


@pytest.fixture(scope="module")
def sample_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample") / "sample.xlsx", rows=300, seed=7)


@pytest.fixture(scope="module")
def loaded(sample_path: Path) -> Tracker:
    return load_tracker(sample_path)


def test_sample_loads_with_zero_errors(loaded: Tracker) -> None:
    assert [p for p in loaded.problems if p.severity == "error"] == []
    assert len(loaded.requests) == 300


def test_every_contract_sheet_with_canonical_columns(frames: dict[str, pd.DataFrame]) -> None:
    for sheet in SHEETS:
        assert list(frames[sheet.name].columns) == sheet.column_names, sheet.name
        assert len(frames[sheet.name]) > 0, sheet.name


@pytest.mark.parametrize(("column", "values"), [
    ("status", LISTS["status"]),
    ("plan_type", LISTS["plan_type"]),
    ("service_category", LISTS["service_category"]),
])
def test_every_listed_value_appears(loaded: Tracker, column: str, values: tuple[str, ...]) -> None:
    assert set(values) <= set(loaded.requests[column].dropna())


def test_payers_cover_every_plan_type_with_overrides(frames: dict[str, pd.DataFrame]) -> None:
    payers = frames["Payers"]
    assert set(payers["plan_type"]) == set(LISTS["plan_type"])
    assert 8 <= len(payers) <= 12
    # a State law stricter than federal, from a date; a July rating period (issue 15)
    summit = payers[payers["payer"] == "Summit Health Plan"].iloc[0]
    assert (summit["standard_decision_days"], summit["decision_days_are"]) == (7, "Business")
    assert summit["override_from"] == pd.Timestamp("2026-07-01")
    assert (payers["rating_period_start"] == "07-01").sum() == 1
    assert (payers["p2p_window_days"] == 30).sum() == 1
    assert (payers["appeal_filing_days"] == 90).sum() == 1
    assert payers["phone"].str.fullmatch(r"\d{3}-555-01\d\d").all()
    assert set(frames["Requests"]["payer"]) <= set(payers["payer"])


def test_column_types(requests: pd.DataFrame) -> None:
    kinds = {column.name: column.kind for column in SHEETS[0].columns}
    for name, kind in kinds.items():
        if kind in ("date", "datetime"):
            assert pd.api.types.is_datetime64_any_dtype(requests[name]), name
        elif kind == "int":
            assert requests[name].dtype == "Int64", name
    for name, kind in kinds.items():
        if kind == "date":
            values = requests[name].dropna()
            assert (values == values.dt.normalize()).all(), name
    submitted = requests["submitted_at"].dropna()
    with_time = submitted != submitted.dt.normalize()
    assert with_time.any()
    assert (~with_time).any()
    hours = submitted[with_time].dt.hour
    assert hours.between(8, 16).all()


def test_npis_valid_and_enrollments_realistic(frames: dict[str, pd.DataFrame]) -> None:
    providers = frames["Providers"]
    assert providers["npi"].map(is_valid_npi).all()
    assert frames["Requests"]["ordering_npi"].map(is_valid_npi).all()
    assert providers["npi"].nunique() == providers["provider_name"].nunique() >= 10
    assert set(providers["enrollment_status"]) == set(LISTS["enrollment_status"])
    assert (providers["enrollment_status"] == "Not Enrolled").sum() == 1
    pending = providers[providers["enrollment_status"] == "Pending"]
    merged = frames["Requests"].merge(pending, left_on=["ordering_npi", "payer"],
                                      right_on=["npi", "payer"])
    assert 1 <= len(merged) <= 3


def test_icd10_codes_are_real_and_billable(requests: pd.DataFrame) -> None:
    assert {code: icd10_problem(code) for code in ALL_ICD10_CODES} == dict.fromkeys(
        ALL_ICD10_CODES)
    used = set(requests["icd10"].str.split(", ").explode())
    assert used <= set(ALL_ICD10_CODES)


def test_procedure_codes_are_well_formed_and_covered_by_rules(
        frames: dict[str, pd.DataFrame]) -> None:
    codes = {code.strip() for options in SERVICES.values() for option in options
             for code in option.codes.split(",")}
    assert {code: procedure_code_problem(code) for code in codes} == dict.fromkeys(codes)
    rules = frames["PA Rules"]["code"]
    assert all(any(code_in_range(code, rule) for rule in rules) for code in codes)
    used = set(frames["Requests"]["codes"].str.split(", ").explode())
    assert used <= codes


def test_pa_rules_have_every_kind_of_row(frames: dict[str, pd.DataFrame]) -> None:
    rules = frames["PA Rules"]
    assert (rules["payer"] == "*").any()
    assert (rules["payer"] != "*").any()
    assert ((rules["payer"] == "*") & (rules["plan_type"] == "Medicare FFS")
            & (rules["pa_required"] == "No")).any()
    assert set(rules["pa_required"]) == set(LISTS["rule_pa_required"])
    assert (rules["visit_threshold"] == 12).any()
    assert rules["benefit_manager"].notna().any()
    assert "70551-70553" in set(rules["code"])
    ended = rules[rules["effective_to"] < AS_OF]
    assert len(ended) == 1
    replacement = rules[(rules["code"] == ended["code"].iloc[0])
                        & (rules["payer"] == ended["payer"].iloc[0])
                        & (rules["effective_from"] == ended["effective_to"].iloc[0]
                           + pd.Timedelta(days=1))]
    assert len(replacement) == 1


def test_criteria_settings_closures_history(frames: dict[str, pd.DataFrame],
                                            loaded: Tracker) -> None:
    criteria = frames["Criteria"]
    assert set(criteria["service_category"]) == set(LISTS["service_category"])
    assert (criteria["payer"] != "*").any()
    settings = dict(zip(frames["Settings"]["key"], frames["Settings"]["value"], strict=True))
    assert set(settings) == {setting.key for setting in SETTINGS_DEFAULTS}
    assert settings["practice_name"] == "Maplewood Family Medicine (synthetic)"
    assert loaded.settings["state"] == "OH"
    assert loaded.settings["info_response_hours"] == 24
    closures = frames["Closures"]["date"]
    assert 2 <= len(closures) <= 3
    assert ((closures - AS_OF).abs() < pd.Timedelta(days=45)).all()
    history = frames["History"]
    assert len(history) > 0
    assert set(history["request_id"]) <= set(frames["Requests"]["request_id"])


def test_patients_and_ids_look_synthetic(requests: pd.DataFrame) -> None:
    assert requests["request_id"].is_unique
    assert requests["request_id"].str.fullmatch(r"PA-2026-\d{5}").all()
    assert requests["patient_id"].str.fullmatch(r"P\d{6}").all()
    assert requests["patient_name"].str.fullmatch(r"[A-Z][a-z]+, [A-Z][a-z]+( [A-Z]\.)?").all()
    # One patient: one name, one birth date, one member ID.
    per_patient = requests.groupby("patient_id")[["patient_name", "patient_dob",
                                                  "member_id"]].nunique()
    assert (per_patient == 1).all().all()


def test_status_fields_and_timeline_are_consistent(requests: pd.DataFrame) -> None:
    status = requests["status"]
    done = ["submitted_at", "info_requested_at", "info_responded_at", "decision_date",
            "p2p_requested_date", "p2p_date", "appeal_submitted_date", "appeal_decision_date",
            "last_status_check", "requirement_checked_date"]
    for column in done:
        assert not (requests[column] >= AS_OF).any(), column
    assert not (requests["decision_date"] < requests["submitted_at"].dt.normalize()).any()
    assert not (requests["info_responded_at"] < requests["info_requested_at"]).any()
    assert not (requests["p2p_date"] < requests["p2p_requested_date"]).any()
    assert not (requests["appeal_decision_date"] < requests["appeal_submitted_date"]).any()
    assert not (requests["units_used"] > requests["units_authorized"]).any()
    not_sent = status.isin(["Not Started", "Requirement Check", "Documentation"])
    assert requests.loc[not_sent, "submitted_at"].isna().all()
    assert (requests.loc[not_sent, "scheduled_service_date"] > AS_OF).all()
    pending = status.isin(["Submitted", "Info Requested"])
    assert requests.loc[pending, "submitted_at"].notna().all()
    assert requests.loc[pending, "decision"].isna().all()
    assert requests.loc[status == "Info Requested", "info_requested_at"].notna().all()
    approved = requests[status == "Approved"]
    assert (approved["auth_expiration_date"] >= AS_OF).all()
    lengths = (approved["auth_expiration_date"] - approved["auth_effective_date"]).dt.days
    assert lengths.between(30, 180).all()
    assert ((approved["auth_expiration_date"] - AS_OF).dt.days <= 30).any()
    assert approved["auth_number"].str.fullmatch(r"A\d+").sum() >= len(approved) - 2
    assert (requests.loc[status == "Expired", "auth_expiration_date"] < AS_OF).all()
    partial = requests[status == "Partially Approved"]
    assert partial["denial_reason"].notna().all()
    denied = requests[status == "Denied"]
    assert (denied["decision"] == "Denied").all()
    assert denied["denial_reason"].notna().all()
    assert (requests.loc[status == "Upheld", "appeal_outcome"] == "Upheld").all()
    overturned = requests[status == "Overturned"]
    assert ((overturned["p2p_outcome"] == "Overturned")
            | (overturned["appeal_outcome"] == "Overturned")).all()
    assert overturned["auth_number"].notna().all()
    assert (requests.loc[status == "Appeal Submitted", "appeal_level"] == "Level 1").all()
    expedited = (requests["urgency"] == "Expedited").mean()
    assert 0.03 < expedited < 0.2


def test_same_arguments_give_byte_identical_files(tmp_path: Path,
                                                  frames: dict[str, pd.DataFrame]) -> None:
    first = write_sample(tmp_path / "one.xlsx", rows=300, seed=7)
    second = write_sample(tmp_path / "two.xlsx", rows=300, seed=7)
    assert first.read_bytes() == second.read_bytes()
    again = sample_frames(rows=300, seed=7)
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(frame, again[name])


def test_another_seed_gives_other_data(requests: pd.DataFrame) -> None:
    other = sample_frames(rows=300, seed=8)["Requests"]
    assert not other.equals(requests)
    assert (other["patient_name"] != requests["patient_name"]).any()


def test_as_of_moves_the_dates(requests: pd.DataFrame) -> None:
    later = sample_frames(rows=300, seed=7, as_of=dt.date(2027, 3, 1))["Requests"]
    assert later["submitted_at"].max() > requests["submitted_at"].max()
    assert later["request_id"].str.startswith("PA-2027-").all()


def test_row_count_honoured_on_a_larger_sample(tmp_path: Path) -> None:
    assert len(sample_frames(rows=1)["Requests"]) == 1
    path = write_sample(tmp_path / "big.xlsx", rows=2000, seed=11)
    tracker = load_tracker(path)
    assert len(tracker.requests) == 2000
    assert tracker.requests["request_id"].is_unique
    assert tracker.errors == []


def test_refuses_to_overwrite(tmp_path: Path, frames: dict[str, pd.DataFrame]) -> None:
    existing = tmp_path / "taken.xlsx"
    existing.write_bytes(b"keep me")
    with pytest.raises(PAToolkitError, match="already exists"):
        write_sample(existing, rows=20)
    with pytest.raises(PAToolkitError, match="already exists"):
        write_claims(existing, frames)
    assert existing.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.xlsx"]


def test_claims_scenarios_all_present_and_true(frames: dict[str, pd.DataFrame]) -> None:
    claims = claims_frame(frames, seed=7)
    scenarios = claims_scenarios(frames, seed=7)
    assert list(claims.columns) == list(CLAIM_COLUMNS)
    assert claims["claim_id"].is_unique
    assert set(scenarios) == set(claims["claim_id"])
    assert set(scenarios.values()) == set(CLAIM_SCENARIOS)

    requests = frames["Requests"]
    by_auth = requests.dropna(subset=["auth_number"]).set_index("auth_number")
    known = set(by_auth.index)
    claims["scenario"] = claims["claim_id"].map(scenarios)
    for claim in claims.itertuples():
        if claim.scenario == "wrong_auth_number":
            assert claim.auth_number not in known
            continue
        if claim.scenario in ("missing_auth_number", "no_request"):
            assert claim.auth_number is None
        if claim.scenario == "no_request":
            theirs = requests[requests["patient_id"] == claim.patient_id]["codes"]
            assert not theirs.str.contains(claim.codes, regex=False).any()
            continue
        if claim.scenario == "missing_auth_number":
            continue
        auth = by_auth.loc[claim.auth_number]
        left = auth["units_authorized"] - auth["units_used"]
        assert auth["patient_id"] == claim.patient_id
        assert auth["codes"] == claim.codes
        assert claim.date_of_service < AS_OF
        if claim.scenario == "expired_auth":
            assert claim.date_of_service > auth["auth_expiration_date"]
        else:
            assert (auth["auth_effective_date"] <= claim.date_of_service
                    <= auth["auth_expiration_date"])
        if claim.scenario == "units_over":
            assert claim.units > auth["units_authorized"] >= left
        if claim.scenario == "clean":
            assert 1 <= claim.units <= left


def test_claims_file_reads_back_and_is_reproducible(tmp_path: Path, loaded: Tracker,
                                                    frames: dict[str, pd.DataFrame]) -> None:
    # The CLI builds claims from the loaded workbook; it must give the same claims.
    pd.testing.assert_frame_equal(claims_frame(loaded.frames, seed=7), claims_frame(frames))
    first = write_claims(tmp_path / "claims.xlsx", frames, seed=7)
    second = write_claims(tmp_path / "claims2.xlsx", frames, seed=7)
    assert first.read_bytes() == second.read_bytes()
    read = pd.read_excel(first, sheet_name="Claims", engine="calamine",
                         dtype={"auth_number": str, "codes": str})
    assert list(read.columns) == list(CLAIM_COLUMNS)
    assert "scenario" not in read.columns
    assert len(read) == len(claims_frame(frames))
    assert pd.api.types.is_datetime64_any_dtype(read["date_of_service"])
    assert read["auth_number"].isna().any()
    assert claims_frame(frames, seed=8)["claim_id"].size > 0
