"""Benchmark: scorecard metrics and the claims audit on 100,000 requests and 300,000 claim lines.

    python benchmarks/bench_metrics.py [--rows 100000] [--claims 300000] [--repeat 3]

Loading is not timed: the tracker is loaded and the claims frame built first.
Ours: deadlines_for + scorecard (every metric overall, per payer, per category,
denial reasons, by month) and audit (every finding code) on the loaded frames.
Baseline, same run: the floor of the same work in plain pandas, one groupby of
decisions per payer and one merge of the claims with the requests on the
authorization number.

The claims are synthetic lines drawn from the tracker's requests (numpy, seed
7): 70% carry the request's authorization number, dates inside and outside the
authorization, a few unknown numbers, codes from the request and some not.

Prints one JSON line. Target (issue 6): under 5 s together after load, no Python
loop over rows; peak memory is this process's maximum RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from patoolkit import load_tracker
from patoolkit.claims import audit
from patoolkit.deadlines import deadlines_for
from patoolkit.metrics import scorecard

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"  # generated trackers; git-ignored


def tracker_path(rows: int) -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"sample_{rows}.xlsx"
    if not path.exists():
        from patoolkit.sample import write_sample

        write_sample(path, rows=rows, seed=7)
    return path


def synthetic_claims(requests: pd.DataFrame, lines: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    picked = requests.iloc[rng.integers(0, len(requests), lines)].reset_index(drop=True)
    start = picked["auth_effective_date"].fillna(picked["submitted_at"]).fillna(
        pd.Timestamp("2026-10-01")).dt.normalize()
    offsets = pd.to_timedelta(rng.integers(-10, 120, lines), unit="D")
    numbers = picked["auth_number"].astype("string").where(rng.random(lines) < 0.7)
    unknown = rng.random(lines) < 0.01
    numbers = numbers.mask(unknown, "X" + pd.Series(rng.integers(10**8, 10**9, lines))
                           .astype("string"))
    codes = picked["codes"].astype("string").str.split(",").str[0].fillna("99213")
    codes = codes.mask(rng.random(lines) < 0.05, "97530")
    return pd.DataFrame({
        "claim_id": [f"CL{n:07d}" for n in range(lines)],
        "patient_id": picked["patient_id"].astype("string"),
        "payer": picked["payer"].astype("string"),
        "date_of_service": start + offsets,
        "codes": codes,
        "units": rng.integers(1, 4, lines),
        "auth_number": numbers,
    }, index=pd.RangeIndex(2, lines + 2, name="row"))


def ours(tracker, claims: pd.DataFrame) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    deadlines = deadlines_for(tracker, "2026-12-01")
    card = scorecard(tracker.requests, deadlines)
    middle = time.perf_counter()
    findings = audit(claims, tracker.requests, tracker.frames["PA Rules"],
                     tracker.frames["Payers"], pd.Timestamp("2026-12-01").date())
    ended = time.perf_counter()
    assert card.overall["requests"] == len(tracker.requests)
    return middle - started, ended - middle, len(findings)


def baseline(tracker, claims: pd.DataFrame) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    requests = tracker.requests
    requests.groupby("payer", observed=True)["decision"].value_counts()
    numbered = requests.dropna(subset=["auth_number"])  # blank numbers would all match
    claims.merge(numbered[["auth_number", "patient_id", "payer", "auth_effective_date",
                           "auth_expiration_date"]], on="auth_number", how="left")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tracker = load_tracker(tracker_path(args.rows))
    claims = synthetic_claims(tracker.requests, args.claims)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    metric_times, audit_times, base_times = [], [], []
    findings = 0
    for _ in range(args.repeat):
        metrics_s, audit_s, findings = ours(tracker, claims)
        metric_times.append(metrics_s)
        audit_times.append(audit_s)
        base_times.append(baseline(tracker, claims))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    metrics_s, audit_s = statistics.median(metric_times), statistics.median(audit_times)
    base = statistics.median(base_times)
    print(json.dumps({
        "rows": args.rows, "claim_lines": args.claims, "findings": findings,
        "metrics_seconds": round(metrics_s, 2), "audit_seconds": round(audit_s, 2),
        "together_seconds": round(metrics_s + audit_s, 2),
        "baseline_seconds": round(base, 2),
        "ratio_to_baseline": round((metrics_s + audit_s) / base, 1),
        "peak_rss_mb_after_load": round(before / 1024), "peak_rss_mb": round(peak / 1024),
    }))


if __name__ == "__main__":
    main()
