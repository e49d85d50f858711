"""Payer scorecard and practice KPIs from the practice's own tracker.

The practice-side mirror of what CMS-0057-F makes payers publish. Every metric
is a row of METRICS: its name, the indicator counted as numerator, the one
counted as denominator, and the sentence that defines it (the Definitions
sheet of the xlsx report, the scorecard page and docs/metrics.md come from the
same rows). A percentage is 100 x numerator / denominator, rounded to one
decimal, null (None) when the denominator is zero. Everything is computed
column-wise: indicator columns per request, then sums (or medians) per group.

Population: the requests whose submitted_at date falls in [date_from, date_to]
(both inclusive); with neither bound, every request on the sheet, so
"requests" also counts requests not yet submitted.

Words used in the definitions:
- decided: the request has a decision (Approved, Partially Approved, Denied).
- approved: Approved or Partially Approved. denied (a denial): Denied.
- overturned: p2p_outcome or appeal_outcome is Overturned or Partially Overturned
  (overturned in whole or in part, `statuses.OVERTURNS`).
- contested: a denial with a P2P requested or held, or an appeal submitted.
- late: decided after decision_due (deadlines); a decision_date without a time
  counts as that day (a payer is not called late by mistake). A period counted
  in days ends at 23:59:59 of its last day, so a decision at 15:00 on day 7 of
  7 is on time.
- hours to decision: elapsed hours from submitted_at to decision_date, as
  recorded; a decision_date without a time counts at the end of its day (the
  latest the decision can have come), and never less than 0.

The CMS-0057-F group is what payers must publish each year (42 CFR
422.122(c), 438.210(f), 440.230(e)(3), 457.732(c)) that a practice's own
tracker can show for its requests: approval after an extension and the mean
and median time to decision, standard and expedited apart (approved, denied
and approved after appeal are in the other groups).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from . import statuses
from .deadlines import END_OF_DAY, deadlines_for
from .schema import is_missing

if TYPE_CHECKING:
    from .tracker.read import Tracker

ELECTRONIC_CHANNELS = ("Portal", "FHIR API", "Clearinghouse")
CMS_GROUP = "CMS-0057-F"


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # count, pct, median, mean
    numerator: str  # an indicator column (for median and mean: the value column)
    denominator: str | None
    definition: str
    group: str = "Outcomes"


METRICS: tuple[Metric, ...] = (
    Metric("requests", "count", "in_population", None,
           "Requests in the population (submitted_at in the chosen dates).", "Volume"),
    Metric("submitted", "count", "submitted", None,
           "Requests with a submitted_at.", "Volume"),
    Metric("decided", "count", "decided", None, "Requests with a decision.", "Volume"),
    Metric("denials", "count", "denied", None, "Requests whose decision is Denied.", "Volume"),
    Metric("approved_pct", "pct", "approved", "decided",
           "100 x (Approved + Partially Approved) / decided."),
    Metric("denied_pct", "pct", "denied", "decided", "100 x Denied / decided."),
    Metric("approved_pct_standard", "pct", "approved_standard", "decided_standard",
           "approved_pct among standard requests."),
    Metric("approved_pct_expedited", "pct", "approved_expedited", "decided_expedited",
           "approved_pct among expedited requests."),
    Metric("denied_pct_standard", "pct", "denied_standard", "decided_standard",
           "denied_pct among standard requests."),
    Metric("denied_pct_expedited", "pct", "denied_expedited", "decided_expedited",
           "denied_pct among expedited requests."),
    Metric("approved_after_appeal_pct", "pct", "overturned", "decided",
           "100 x denials later overturned in whole or in part (P2P or appeal outcome "
           "Overturned or Partially Overturned) / decided."),
    Metric("first_pass_approval_pct", "pct", "first_pass", "decided",
           "100 x approved with no information request, no P2P and no appeal / decided."),
    Metric("median_days_to_decision", "median", "days_to_decision", None,
           "Median calendar days from the submitted_at date to decision_date."),
    Metric("mean_days_to_decision", "mean", "days_to_decision", None,
           "Mean calendar days from the submitted_at date to decision_date."),
    Metric("median_days_to_decision_standard", "median", "days_standard", None,
           "median_days_to_decision among standard requests.", "Timeliness"),
    Metric("mean_days_to_decision_standard", "mean", "days_standard", None,
           "mean_days_to_decision among standard requests.", "Timeliness"),
    Metric("median_days_to_decision_expedited", "median", "days_expedited", None,
           "median_days_to_decision among expedited requests.", "Timeliness"),
    Metric("mean_days_to_decision_expedited", "mean", "days_expedited", None,
           "mean_days_to_decision among expedited requests.", "Timeliness"),
    Metric("standard_timeframe_days", "median", "timeframe_standard", None,
           "The payer's standard decision timeframe in days (median over its standard "
           "requests; the law or the Payers sheet), to compare with the days taken.",
           "Timeliness"),
    Metric("late_decisions", "count", "late", None,
           "Decided requests whose decision_date falls after their decision_due.",
           "Timeliness"),
    Metric("late_pct", "pct", "late", "decided_with_due",
           "100 x late_decisions / decided requests that have a decision_due.", "Timeliness"),
    Metric("info_request_pct", "pct", "info_requested", "submitted",
           "100 x requests with info_requested_at / requests submitted.", "Timeliness"),
    Metric("appeal_rate_pct", "pct", "contested", "denied",
           "100 x denials with a P2P request or an appeal / denials.", "Appeals"),
    Metric("overturn_rate_pct", "pct", "overturned", "contested",
           "100 x denials overturned / denials with a P2P request or an appeal.", "Appeals"),
    Metric("p2p_overturn_rate_pct", "pct", "p2p_overturned", "p2p_used",
           "100 x denials whose P2P outcome is Overturned or Partially Overturned / denials "
           "with a P2P requested or held.", "Appeals"),
    Metric("appeal_overturn_rate_pct", "pct", "appeal_overturned", "appealed",
           "100 x denials whose appeal outcome is Overturned or Partially Overturned / "
           "denials with an appeal submitted.", "Appeals"),
    Metric("requirement_checked_pct", "pct", "checked_in_time", "with_service_date",
           "Process: 100 x requests whose requirement_checked_date is on or before the "
           "scheduled_service_date / requests with a scheduled_service_date (the tracker has "
           "no scheduling date, so the service date stands in for it).", "Process"),
    Metric("submitted_complete_pct", "pct", "submitted_complete", "submitted",
           "Process: 100 x submitted requests with docs_complete Yes / requests submitted.",
           "Process"),
    Metric("submitted_electronically_pct", "pct", "electronic", "with_channel",
           "Process: 100 x requests sent by Portal, FHIR API or Clearinghouse / requests with "
           "a channel.", "Process"),
    Metric("median_hours_to_answer_info", "median", "hours_to_answer", None,
           "Process: median hours from info_requested_at to info_responded_at.", "Process"),
    Metric("p2p_in_window_pct", "pct", "p2p_in_window", "p2p_requested",
           "Process: 100 x denials whose p2p_requested_date is on or before "
           "p2p_window_closes / denials with a p2p_requested_date.", "Process"),
    Metric("p2p_same_day_pct", "pct", "p2p_same_day", "p2p_requested",
           "Process: 100 x denials whose P2P was requested on the day of the decision / "
           "denials with a p2p_requested_date.", "Process"),
    Metric("auth_number_recorded_pct", "pct", "approved_with_auth", "approved",
           "Process: 100 x approvals with an auth_number / approvals.", "Process"),
    Metric("approved_after_extension_pct", "pct", "approved_extended", "decided",
           "100 x approved requests whose decision timeframe was extended (extension_days "
           "above 0) / decided.", CMS_GROUP),
    Metric("mean_hours_to_decision_standard", "mean", "hours_standard", None,
           "Mean hours from submitted_at to decision_date, standard requests.", CMS_GROUP),
    Metric("median_hours_to_decision_standard", "median", "hours_standard", None,
           "Median hours from submitted_at to decision_date, standard requests.", CMS_GROUP),
    Metric("mean_hours_to_decision_expedited", "mean", "hours_expedited", None,
           "Mean hours from submitted_at to decision_date, expedited requests.", CMS_GROUP),
    Metric("median_hours_to_decision_expedited", "median", "hours_expedited", None,
           "Median hours from submitted_at to decision_date, expedited requests.", CMS_GROUP),
)
METRIC_NAMES = tuple(metric.name for metric in METRICS)
GROUPS = {"payer": "by_payer", "service_category": "by_service_category"}


def _counted_in(spans: pd.Series[pd.Timedelta], unit: pd.Timedelta) -> pd.Series[float]:
    """Time spans (a timedelta column) as a number of units (days, hours); NaT gives NaN."""
    return spans / unit


def indicators(requests: pd.DataFrame, deadlines: pd.DataFrame) -> pd.DataFrame:
    """One row per request: the 0/1 indicators and values the metrics count."""
    deadlines = deadlines.set_axis(requests.index)
    decision = requests["decision"].astype("string")
    urgency = requests["urgency"].astype("string")
    submitted_at = requests["submitted_at"]
    decision_date = requests["decision_date"]
    decided = decision.notna()
    approved = statuses.approved_decision(requests)
    denied = (decision == statuses.DENIED).fillna(False)
    p2p_overturned = denied & statuses.outcome_overturned(requests, "p2p_outcome")
    appeal_overturned = denied & statuses.outcome_overturned(requests, "appeal_outcome")
    p2p_requested = denied & requests["p2p_requested_date"].notna()
    p2p_used = denied & (requests["p2p_requested_date"].notna() | requests["p2p_date"].notna())
    appealed = denied & requests["appeal_submitted_date"].notna()
    contested = p2p_used | appealed
    info_requested = requests["info_requested_at"].notna()
    days = _counted_in(decision_date.dt.normalize() - submitted_at.dt.normalize(),
                       pd.Timedelta(days=1))
    days = days.where(decided)
    decided_by = decision_date.where(~(decision_date == decision_date.dt.normalize()),
                                     decision_date + END_OF_DAY)
    hours = _counted_in(decided_by - submitted_at, pd.Timedelta(hours=1)).clip(lower=0).where(
        decided)
    extended = (requests["extension_days"].fillna(0) > 0).fillna(False)
    standard = (urgency == "Standard").fillna(False)
    expedited = (urgency == "Expedited").fillna(False)
    due = deadlines["decision_due"]
    date_only = decision_date == decision_date.dt.normalize()
    late = decided & due.notna() & (
        (date_only & (decision_date.dt.normalize() > due.dt.normalize()))
        | (~date_only & (decision_date > due))).fillna(False)
    timeframe = _counted_in(deadlines["decision_timeframe"], pd.Timedelta(days=1))
    service = requests["scheduled_service_date"]
    checked = requests["requirement_checked_date"]
    channel = requests["channel"].astype("string")
    answer_hours = _counted_in(requests["info_responded_at"] - requests["info_requested_at"],
                               pd.Timedelta(hours=1))
    window = deadlines["p2p_window_closes"]
    p2p_date = requests["p2p_requested_date"]
    table = pd.DataFrame({
        "in_population": 1,
        "submitted": submitted_at.notna(),
        "decided": decided,
        "approved": approved,
        "denied": denied,
        "decided_standard": decided & standard,
        "decided_expedited": decided & expedited,
        "approved_standard": approved & standard,
        "approved_expedited": approved & expedited,
        "denied_standard": denied & standard,
        "denied_expedited": denied & expedited,
        "overturned": p2p_overturned | appeal_overturned,
        "first_pass": approved & ~info_requested & requests["p2p_requested_date"].isna()
        & requests["p2p_date"].isna() & requests["appeal_submitted_date"].isna(),
        "days_to_decision": days,
        "days_standard": days.where(standard),
        "days_expedited": days.where(expedited),
        "timeframe_standard": timeframe.where(standard & submitted_at.notna()),
        "late": late,
        "decided_with_due": decided & due.notna(),
        "info_requested": info_requested & submitted_at.notna(),
        "contested": contested,
        "p2p_overturned": p2p_overturned,
        "p2p_used": p2p_used,
        "appeal_overturned": appeal_overturned,
        "appealed": appealed,
        "checked_in_time": checked.notna() & service.notna()
        & (checked.dt.normalize() <= service.dt.normalize()).fillna(False),
        "with_service_date": service.notna(),
        "submitted_complete": submitted_at.notna()
        & (requests["docs_complete"].astype("string") == "Yes").fillna(False),
        "electronic": channel.isin(list(ELECTRONIC_CHANNELS)).fillna(False),
        "with_channel": channel.notna(),
        "hours_to_answer": answer_hours.where(answer_hours >= 0),
        "p2p_in_window": p2p_requested & window.notna()
        & (p2p_date.dt.normalize() <= window).fillna(False),
        "p2p_requested": p2p_requested,
        "p2p_same_day": p2p_requested
        & (p2p_date.dt.normalize() == decision_date.dt.normalize()).fillna(False),
        "approved_with_auth": approved & requests["auth_number"].notna(),
        "approved_extended": approved & extended,
        "hours_standard": hours.where(standard),
        "hours_expedited": hours.where(expedited),
    }, index=requests.index)
    flags = [name for name in table.columns
             if name not in ("days_to_decision", "days_standard", "days_expedited",
                             "timeframe_standard", "hours_to_answer", "hours_standard",
                             "hours_expedited")]
    table[flags] = table[flags].astype("int64")
    return table


def _round(value: object) -> float | int | None:
    if is_missing(value):
        return None
    number = float(cast("float", value))  # a count or a measure (Python's or NumPy's number)
    return int(number) if number.is_integer() and abs(number) < 2**53 else round(number, 1)


def _measure(table: pd.DataFrame, keys: list[str] | None) -> pd.DataFrame:
    """Every metric for the whole table (keys None) or per group, as one frame."""
    counted = [m.numerator for m in METRICS if m.kind in ("count", "pct")] + [
        m.denominator for m in METRICS if m.denominator]
    counted = list(dict.fromkeys(counted))
    valued = list(dict.fromkeys(m.numerator for m in METRICS if m.kind in ("median", "mean")))
    if keys:
        grouped = table.groupby(keys, dropna=False, sort=True, observed=True)
        sums, medians, means = (grouped[counted].sum(), grouped[valued].median(),
                                grouped[valued].mean())
    else:
        sums = table[counted].sum().to_frame().T
        medians = table[valued].median().to_frame().T
        means = table[valued].mean().to_frame().T
    out = pd.DataFrame(index=sums.index)
    for metric in METRICS:
        if metric.kind == "count":
            out[metric.name] = sums[metric.numerator]
        elif metric.kind == "pct":
            denominator = sums[metric.denominator].astype(float)
            out[metric.name] = (100 * sums[metric.numerator] / denominator.where(denominator > 0)
                                ).round(1)
        elif metric.kind == "median":
            out[metric.name] = medians[metric.numerator].round(1)
        else:
            out[metric.name] = means[metric.numerator].round(1)
    return out


@dataclass
class Scorecard:
    date_from: dt.date | None
    date_to: dt.date | None
    overall: dict[str, Any]
    by_payer: pd.DataFrame
    by_service_category: pd.DataFrame
    denial_reasons: pd.DataFrame  # denial_reason, count, pct_of_denials, then per payer/category
    denial_reasons_detail: pd.DataFrame  # payer, service_category, denial_reason, count
    by_month: pd.DataFrame  # month, requests, decided, approved, denied

    def as_json(self) -> dict[str, Any]:
        """The `metrics --format json` document (CONTRACT section 4)."""
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{str(key): (_round(value) if isinstance(value, int | float | np.number)
                                else (None if is_missing(value) else value))
                     for key, value in row.items()} for row in frame.to_dict("records")]

        detail = self.denial_reasons_detail
        reasons = []
        for row in records(self.denial_reasons):
            mine = detail[detail["denial_reason"] == row["denial_reason"]]
            row["by_payer"] = {str(k): int(v) for k, v in
                               mine.groupby("payer")["count"].sum().sort_values(
                                   ascending=False).items()}
            row["by_service_category"] = {str(k): int(v) for k, v in mine.groupby(
                "service_category")["count"].sum().sort_values(ascending=False).items()}
            reasons.append(row)
        return {
            "population": {"from": self.date_from.isoformat() if self.date_from else None,
                           "to": self.date_to.isoformat() if self.date_to else None},
            "overall": {key: _round(value) for key, value in self.overall.items()},
            "by_payer": records(self.by_payer),
            "by_service_category": records(self.by_service_category),
            "denial_reasons": reasons,
            "by_month": records(self.by_month.assign(month=self.by_month["month"].astype(str))),
        }


def population(requests: pd.DataFrame, date_from: dt.date | None,
               date_to: dt.date | None) -> pd.Series:
    """The requests measured: submitted_at date in [date_from, date_to]; all when neither."""
    if date_from is None and date_to is None:
        return pd.Series(True, index=requests.index)
    day = requests["submitted_at"].dt.normalize()
    keep = day.notna()
    if date_from is not None:
        keep &= day >= pd.Timestamp(date_from)
    if date_to is not None:
        keep &= day <= pd.Timestamp(date_to)
    return keep.fillna(False)


def scorecard(requests: pd.DataFrame, deadlines: pd.DataFrame,
              date_from: dt.date | None = None, date_to: dt.date | None = None) -> Scorecard:
    """Every metric overall, per payer and per service category, for the population."""
    if date_from and date_to and date_from > date_to:
        from .errors import PAToolkitError

        raise PAToolkitError(f"--from {date_from} is after --to {date_to}; swap them.")
    keep = population(requests, date_from, date_to).to_numpy()
    chosen = requests[keep]
    table = indicators(chosen, deadlines[keep])
    table["payer"] = chosen["payer"].astype("string").fillna("(no payer)")
    table["service_category"] = chosen["service_category"].astype("string").fillna(
        "(no category)")
    overall = {str(name): value  # to_dict gives Python's numbers
               for name, value in _measure(table, None).iloc[0].to_dict().items()}
    by_payer = _measure(table, ["payer"]).reset_index()
    by_category = _measure(table, ["service_category"]).reset_index()
    denied = chosen[table["denied"].to_numpy(dtype=bool)]
    detail = (denied.assign(denial_reason=denied["denial_reason"].astype("string")
                            .fillna("(no reason recorded)"),
                            payer=denied["payer"].astype("string").fillna("(no payer)"),
                            service_category=denied["service_category"].astype("string")
                            .fillna("(no category)"))
              .groupby(["payer", "service_category", "denial_reason"], observed=True)
              .size().rename("count").reset_index()
              .sort_values(["count", "payer", "service_category", "denial_reason"],
                           ascending=[False, True, True, True], kind="stable")
              .reset_index(drop=True))
    ranked = (detail.groupby("denial_reason", observed=True)["count"].sum()
              .sort_values(ascending=False, kind="stable").rename("count").reset_index())
    total_denials = int(ranked["count"].sum())
    ranked["pct_of_denials"] = (100 * ranked["count"] / total_denials).round(1) \
        if total_denials else np.nan
    month = chosen["submitted_at"].dt.to_period("M")
    by_month = (table[["in_population", "decided", "approved", "denied"]]
                .groupby(month.to_numpy(), dropna=True).sum()
                .rename(columns={"in_population": "requests"}))
    by_month.index.name = "month"
    by_month = by_month.reset_index()
    return Scorecard(date_from, date_to, overall, by_payer, by_category, ranked, detail,
                     by_month)


def scorecard_for(tracker: Tracker, date_from: dt.date | None = None,
                  date_to: dt.date | None = None,
                  deadlines: pd.DataFrame | None = None) -> Scorecard:
    """scorecard for a loaded Tracker (deadlines computed when not given)."""
    if deadlines is None:
        deadlines = deadlines_for(tracker)
    return scorecard(tracker.requests, deadlines, date_from, date_to)


def definitions() -> pd.DataFrame:
    """Each metric with its group, numerator, denominator and definition (docs and reports)."""
    return pd.DataFrame([{"metric": m.name, "group": m.group, "kind": m.kind,
                          "numerator": m.numerator, "denominator": m.denominator or "",
                          "definition": m.definition} for m in METRICS])


def as_rows(values: Mapping[str, Any]) -> pd.DataFrame:
    """overall as a two-column table: metric, value (with the definition)."""
    lookup = {m.name: m for m in METRICS}
    return pd.DataFrame({
        "metric": list(values),
        "value": pd.Series([_round(value) for value in values.values()], dtype=object),
        "definition": [lookup[name].definition for name in values]})


# The report's native Excel charts: title, table sheet, label column, value columns, kind, unit.
SCORECARD_CHARTS = (
    ("Approved and denied, % of decided, by payer", "By payer", "payer",
     ("approved_pct", "denied_pct"), "bar", "%"),
    ("Days to decision (standard) against the payer's timeframe", "By payer", "payer",
     ("median_days_to_decision_standard", "standard_timeframe_days"), "bar", "days"),
    ("Late decisions, % of decided, by payer", "By payer", "payer", ("late_pct",), "bar", "%"),
    ("Denial reasons (top 10)", "Denial reasons", "denial_reason", ("count",), "bar",
     "denials"),
    ("Appeal and overturn rates by payer", "By payer", "payer",
     ("appeal_rate_pct", "overturn_rate_pct"), "bar", "%"),
    ("Requests by month of submission", "By month", "month",
     ("requests", "decided", "denied"), "line", "requests"),
)


def write_scorecard_xlsx(card: Scorecard, path: Any, title: str = "PA scorecard") -> Any:
    """The scorecard as an .xlsx a manager can email: charts, one sheet per table, definitions."""
    from .exports import Chart, write_report_xlsx

    charts = [Chart(name, sheet, category, values, kind, axis,
                    10 if sheet == "Denial reasons" else None)
              for name, sheet, category, values, kind, axis in SCORECARD_CHARTS]
    return write_report_xlsx(path, title, scorecard_tables(card), charts)


def scorecard_tables(card: Scorecard) -> dict[str, pd.DataFrame]:
    """The report's tables, sheet name -> frame (xlsx report, dashboard downloads)."""
    return {
        "Overall": as_rows(card.overall),
        "By payer": card.by_payer,
        "By service category": card.by_service_category,
        "Denial reasons": card.denial_reasons,
        "Denial reasons detail": card.denial_reasons_detail,
        "By month": card.by_month.assign(month=card.by_month["month"].astype(str)),
        "Definitions": definitions(),
    }


def definitions_markdown() -> str:
    """docs/metrics.md: every metric with its numerator and denominator (a test keeps it true)."""
    lines = ["# Scorecard metrics", "",
             "Generated from `patoolkit/metrics.py` (`METRICS`); "
             "`python -m patoolkit.metrics > docs/metrics.md` rewrites it.", "",
             (__doc__ or "").split("\n\n", 1)[1].strip(), "",
             "| metric | group | kind | numerator | denominator | definition |",
             "|---|---|---|---|---|---|"]
    for metric in METRICS:
        lines.append(f"| `{metric.name}` | {metric.group} | {metric.kind} | "
                     f"`{metric.numerator}` | "
                     f"{'`' + metric.denominator + '`' if metric.denominator else ''} | "
                     f"{metric.definition} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(definitions_markdown(), end="")
