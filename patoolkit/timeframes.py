"""Regulatory timeframes as data, each row with its citation and effective dates.

The way vacanza/holidays keeps one declarative file per country: a new rule
is a new row here, not a new `if` in deadlines.py. The Payers sheet of a
tracker overrides these per payer.

References:
- CMS-0057-F, Interoperability and Prior Authorization Final Rule (89 FR 8758,
  2024-02-08): Medicare Advantage, Medicaid and CHIP decide standard requests
  in 7 calendar days and expedited ones in 72 hours from 2026-01-01.
- 42 CFR 422.568(b)(1) (standard) and 422.572 (expedited), Medicare Advantage.
- 42 CFR 440.230(e) (Medicaid FFS), 438.210(d) (Medicaid managed care),
  457.495 and 457.1230(d) (CHIP).
- 29 CFR 2560.503-1(f)(2) (ERISA group health plans: 15 days pre-service,
  72 hours urgent); QHPs on the Federally-facilitated Exchanges are exempt
  from CMS-0057-F timeframes and follow these.
- Appeal filing: 29 CFR 2560.503-1(h)(3)(i) (180 days), 42 CFR 422.582
  (Medicare Advantage, 60 days), 42 CFR 438.402(c)(2) (Medicaid managed care,
  60 days).
- External review: 45 CFR 147.136(d) (4 months after a final internal denial).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

CMS_0057_F_START = dt.date(2026, 1, 1)
MEDICAID_PLANS = ("Medicaid FFS", "Medicaid Managed Care", "CHIP")
PRIVATE_PLANS = ("Commercial", "Marketplace QHP")


@dataclass(frozen=True)
class DecisionTimeframe:
    """How long a payer has to decide, for some plan types and one urgency."""

    plan_types: tuple[str, ...]
    urgency: str  # Standard or Expedited
    amount: int
    unit: str  # "days" (calendar) or "hours"
    citation: str
    effective_from: dt.date | None = None  # by submission date
    effective_to: dt.date | None = None
    tolls_for_information: bool = False  # the clock stops while the payer waits for information

    @property
    def wording(self) -> str:
        """', standard: 7 calendar days from submission (citation)', to follow a plan type."""
        unit = "calendar days" if self.unit == "days" else "hours"
        return f", {self.urgency.lower()}: {self.amount} {unit} from submission ({self.citation})"


DECISION_TIMEFRAMES: tuple[DecisionTimeframe, ...] = (
    DecisionTimeframe(("Medicare Advantage",), "Standard", 7, "days",
                      "CMS-0057-F, 42 CFR 422.568(b)(1)", effective_from=CMS_0057_F_START),
    DecisionTimeframe(("Medicare Advantage",), "Standard", 14, "days",
                      "42 CFR 422.568(b)(1) before CMS-0057-F", effective_to=dt.date(2025, 12, 31)),
    DecisionTimeframe(("Medicare Advantage",), "Expedited", 72, "hours",
                      "CMS-0057-F, 42 CFR 422.572"),
    DecisionTimeframe(MEDICAID_PLANS, "Standard", 7, "days",
                      "CMS-0057-F, 42 CFR 440.230(e), 438.210(d), 457.1230(d)",
                      effective_from=CMS_0057_F_START),
    DecisionTimeframe(("Medicaid Managed Care", "CHIP"), "Standard", 14, "days",
                      "42 CFR 438.210(d)(1), 457.1230(d) before CMS-0057-F",
                      effective_to=dt.date(2025, 12, 31)),
    DecisionTimeframe(MEDICAID_PLANS, "Expedited", 72, "hours",
                      "CMS-0057-F, 42 CFR 440.230(e), 438.210(d)(2), 457.1230(d)",
                      effective_from=CMS_0057_F_START),
    DecisionTimeframe(("Medicaid Managed Care", "CHIP"), "Expedited", 72, "hours",
                      "42 CFR 438.210(d)(2), 457.1230(d)", effective_to=dt.date(2025, 12, 31)),
    DecisionTimeframe(PRIVATE_PLANS, "Standard", 15, "days",
                      "29 CFR 2560.503-1(f)(2)(iii)(A); QHPs on the FFEs are exempt from "
                      "CMS-0057-F timeframes", tolls_for_information=True),
    DecisionTimeframe(PRIVATE_PLANS, "Expedited", 72, "hours", "29 CFR 2560.503-1(f)(2)(i)",
                      tolls_for_information=True),
)

# Plan types whose clock stops while the payer waits for information, whatever the row.
TOLLING_PLAN_TYPES = PRIVATE_PLANS


@dataclass(frozen=True)
class WindowRule:
    """Days a practice has after an event, for some plan types."""

    plan_types: tuple[str, ...]
    days: int | None
    months: int | None
    citation: str


APPEAL_FILING: tuple[WindowRule, ...] = (
    WindowRule(PRIVATE_PLANS, 180, None, "29 CFR 2560.503-1(h)(3)(i)"),
    WindowRule(("Medicare Advantage",), 60, None, "42 CFR 422.582"),
    WindowRule(MEDICAID_PLANS, 60, None, "42 CFR 438.402(c)(2)"),
)

EXTERNAL_REVIEW: tuple[WindowRule, ...] = (
    WindowRule(PRIVATE_PLANS, None, 4, "45 CFR 147.136(d)"),
)

DEFAULT_P2P_WINDOW_DAYS = 14
