"""The legal timeframes as data: one table, each row with its citation and effective dates.

The way vacanza/holidays keeps one declarative file per country: a new rule is
a new row of TIMEFRAMES, not a new `if` in deadlines.py. A row says which
deadline it times, for which plan types, urgency and kind of request (items
and services, drugs, or all), how long (in calendar days, business days,
hours or months) and from when to when it applies. deadlines.py reads the
table column-wise; check (tracker/cells.py) reads it to warn about Payers-sheet
overrides and extensions beyond the federal limit. tests/test_deadlines.py
keeps the table free of overlapping rows and checks that every plan type of
the Lists sheet has a decision row at every date.

Deadlines timed here (CONTRACT section 2):
- decision_due: the payer's first decision, from submitted_at.
- extension_limit: the most days `extension_days` may add to decision_due.
- decision_after_information: an urgent Commercial or QHP request whose
  information request was answered, from info_responded_at.
- appeal_filing_deadline: filing the first appeal, from decision_date.
- appeal_decision_due: the payer's appeal decision, from appeal_submitted_date.
- external_review_deadline: asking for external review, from an upheld
  appeal's appeal_decision_date.
- state_fair_hearing_deadline: asking for a Medicaid State fair hearing, from
  an upheld managed-care appeal's appeal_decision_date.

A row with amount None says that federal law sets no such timeframe for those
plans (the Payers sheet may give one).

References:
- CMS-0057-F, Interoperability and Prior Authorization Final Rule (89 FR 8758,
  2024-02-08): Medicare Advantage, Medicaid and CHIP decide standard requests
  for items and services in 7 calendar days (from 2026-01-01; for Medicaid
  managed care and CHIP, from the first rating period starting on or after it)
  and expedited ones in 72 hours. Drugs are outside it.
- Medicare Advantage: 42 CFR 422.568(b)(1) (standard), 422.568(b)(3) and
  422.572(a)(2) (Part B drugs: 72 and 24 hours), 422.572(a) (expedited),
  422.568(b)(1)(i) and 422.572(b) (extension of up to 14 days), 422.568(f)
  (a decision not made in time is an adverse decision), 422.582(b) (appeal
  within 65 days of the notice from 2025-01-01: 60 days from its receipt,
  presumed 5 days after its date; 60 days from the notice before),
  422.582(c) (good cause for late filing), 422.590 (reconsideration
  timeframes), 422.592 (an upheld reconsideration goes to the Independent
  Review Entity by itself).
- Medicare Part D: 42 CFR 423.568(b) and 423.572(a) (72 and 24 hours),
  423.582(b) (65 days), 423.590 (redetermination in 7 days, 72 hours).
- Medicaid: 42 CFR 440.230(e) (fee-for-service, from 2026-01-01), 438.210(d)
  (managed care, with 14 days' extension), 438.404(c)(5) (a decision not made
  in time is an adverse benefit determination), 438.402(c)(2)(ii) (appeal in
  60 days), 438.408(b) (appeal decided in 30 days, 72 hours expedited),
  438.408(f)(2) (State fair hearing within 120 days of an upheld appeal),
  431.221(d) (fee-for-service: fair hearing asked for within at most 90
  days), 431.244(f) (fair hearing decided in 90 days, 3 working days
  expedited); Social Security Act 1927(d)(5)(A) (covered outpatient drugs:
  24 hours).
- CHIP: 42 CFR 457.495(d) and 457.1230(d) (managed care follows 438.210(d)),
  457.1260 (review of an upheld appeal).
- Commercial and Marketplace QHP: 29 CFR 2560.503-1(f)(2)(i) (urgent: 72
  hours; 48 hours after information asked for arrives), (f)(2)(iii)(A)
  (pre-service: 15 days, one 15-day extension), (f)(4) (the clock stops while
  information is awaited), (h)(3)(i) (180 days to appeal), (i)(2) (appeal
  decided in 30 days pre-service, 72 hours urgent); 45 CFR 147.136(b) and (d)
  (QHPs and non-grandfathered plans; external review within 4 months). QHPs
  on the Federally-facilitated Exchanges are exempt from the CMS-0057-F
  timeframes.
- Medicare FFS prior authorization programs (hospital outpatient department
  services, repetitive scheduled non-emergent ambulance): 42 CFR 419.82 as
  amended by CMS-1809-FC (7 calendar days from 2025-01-01, 10 business days
  before; 2 business days expedited).

Limitations (what the table does not model):
- State laws for fully insured commercial plans and State Medicaid rules that
  are stricter than federal law: enter them on the Payers sheet
  (standard_decision_days, decision_days_are, expedited_decision_hours,
  override_from, override_to); nothing is built in per State.
- Gold-carding (exemption from prior authorization for providers with high
  approval rates) and retro-authorization (a request after the service) have
  no timeframes here.
- Concurrent and post-service (retrospective) review timeframes, Medicare
  Part D exceptions requests, the Part D and Medicare FFS later appeal levels
  (IRE, ALJ, Council) and appeal extensions (for example 14 days under 42 CFR
  422.590(f) or 438.408(c)) are not computed.
- CHIP drug requests follow the CHIP row: federal law gives CHIP no
  drug-specific timeframe (the 24-hour rule of SSA 1927(d)(5) is Medicaid's).
- Medicare FFS and Other have no federal extension limit: an extension is
  added as given.
- A late notice is presumed received 5 days after its date only where the
  rule says so (Medicare Advantage and Part D appeal filing); other filing
  windows count from the decision date.

The practice's own numbers (no law sets them: answer an information request in
24 hours, file the written appeal a business day after a denial, start a
renewal 14 days before expiry, ...) are the other table here,
PRACTICE_TARGETS: one row per number, with its Settings key when the practice
may change it (schema.SETTINGS_DEFAULTS takes those keys and defaults from it),
its unit, and the words of the basis it gives. deadlines.py and worklist.py
read every such number from it, through practice_targets(settings).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

CMS_0057_F_START = dt.date(2026, 1, 1)
MA_APPEAL_65_DAYS_START = dt.date(2025, 1, 1)  # CMS-4205-F, 42 CFR 422.582(b), 423.582(b)
OPD_7_DAYS_START = dt.date(2025, 1, 1)  # CMS-1809-FC, 42 CFR 419.82
MEDICAID_PLANS = ("Medicaid FFS", "Medicaid Managed Care", "CHIP")
MANAGED_MEDICAID = ("Medicaid Managed Care", "CHIP")
PRIVATE_PLANS = ("Commercial", "Marketplace QHP")
MEDICARE_PLANS = ("Medicare Advantage", "Medicare Part D")

DAYS, BUSINESS_DAYS, HOURS, MONTHS = "calendar days", "business days", "hours", "months"
STANDARD, EXPEDITED, ANY_URGENCY = "Standard", "Expedited", "Any"
ITEMS, DRUGS, ALL_REQUESTS = "items", "drugs", "all"

# What each timed deadline counts from, in words for its basis.
COUNTED_FROM = {
    "decision_due": "from submission",
    "extension_limit": "of extension",
    "decision_after_information": "after the information arrived",
    "appeal_filing_deadline": "from the decision to file an appeal",
    "appeal_decision_due": "from the appeal's filing",
    "external_review_deadline": "after the upheld appeal to request external review",
    "state_fair_hearing_deadline": "after the upheld appeal to request a State fair hearing",
}

@dataclass(frozen=True)
class Timeframe:
    """One legal timeframe: which deadline, for whom, how long, under which rule, when."""

    deadline: str  # a key of COUNTED_FROM
    plan_types: tuple[str, ...]
    urgency: str  # Standard, Expedited or Any
    requests: str  # items (items and services), drugs, or all
    amount: int | None  # None: federal law sets none
    unit: str  # calendar days, business days, hours, months
    citation: str
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    # What the effective dates are compared with: the date the clock starts, or (Medicaid
    # managed care and CHIP) the start of the plan's rating period that holds that date.
    dated_by: str = "start"
    label: str = ""  # the kind of request, when the row is for one: "Part B drug"
    # What a Payers-sheet number may do: "shorten" (the federal number is a maximum: a
    # longer one is warned about and not used) or "replace" (a plan's own window).
    payer_may: str = "shorten"

    def urgencies(self) -> tuple[str, ...]:
        return (STANDARD, EXPEDITED) if self.urgency == ANY_URGENCY else (self.urgency,)

    def kinds(self) -> tuple[str, ...]:
        return (ITEMS, DRUGS) if self.requests == ALL_REQUESTS else (self.requests,)

    def covers(self, on: dt.date) -> bool:
        return ((self.effective_from is None or on >= self.effective_from)
                and (self.effective_to is None or on <= self.effective_to))

    def words(self, plan_type: str) -> str:
        """The basis of a deadline under this row, for one plan type, in a manager's words."""
        who = plan_type + (f", {self.label}" if self.label else "")
        if self.urgency != ANY_URGENCY:
            who += f", {self.urgency.lower()}"
        if self.amount is None:
            return f"{who}: no such timeframe in federal law ({self.citation})"
        if self.amount == 0:
            return f"{who}: none allowed ({self.citation})"
        unit = self.unit[:-1] if self.amount == 1 else self.unit
        return f"{who}: {self.amount} {unit} {COUNTED_FROM[self.deadline]} ({self.citation})"


T = Timeframe
_MA_ITEMS = "42 CFR 422.568(b)(1)"
_MEDICAID_7 = "CMS-0057-F; 42 CFR 440.230(e)"
_MANAGED_7 = "CMS-0057-F; 42 CFR 438.210(d)(1), 457.1230(d)"
_ERISA_STANDARD = "29 CFR 2560.503-1(f)(2)(iii)(A); QHPs on the FFEs are exempt from CMS-0057-F"

TIMEFRAMES: tuple[Timeframe, ...] = (
    # --- the payer's first decision (from submitted_at) ---------------------------------
    T("decision_due", ("Medicare Advantage",), STANDARD, ITEMS, 7, DAYS,
      "CMS-0057-F; " + _MA_ITEMS, effective_from=CMS_0057_F_START),
    T("decision_due", ("Medicare Advantage",), STANDARD, ITEMS, 14, DAYS,
      _MA_ITEMS + " before CMS-0057-F", effective_to=dt.date(2025, 12, 31)),
    T("decision_due", ("Medicare Advantage",), EXPEDITED, ITEMS, 72, HOURS,
      "CMS-0057-F; 42 CFR 422.572(a)"),
    T("decision_due", ("Medicare Advantage",), STANDARD, DRUGS, 72, HOURS,
      "42 CFR 422.568(b)(3)", label="Part B drug"),
    T("decision_due", ("Medicare Advantage",), EXPEDITED, DRUGS, 24, HOURS,
      "42 CFR 422.572(a)(2)", label="Part B drug"),
    T("decision_due", ("Medicare Part D",), STANDARD, ALL_REQUESTS, 72, HOURS,
      "42 CFR 423.568(b)"),
    T("decision_due", ("Medicare Part D",), EXPEDITED, ALL_REQUESTS, 24, HOURS,
      "42 CFR 423.572(a)"),
    # Medicaid managed care drugs have their own row below; CHIP's rows time every request.
    *(row for plans, kinds in ((("Medicaid Managed Care",), ITEMS), (("CHIP",), ALL_REQUESTS))
      for row in (
          T("decision_due", plans, STANDARD, kinds, 7, DAYS,
            _MANAGED_7 + " (rating periods starting on or after 2026-01-01)",
            effective_from=CMS_0057_F_START, dated_by="rating period"),
          T("decision_due", plans, STANDARD, kinds, 14, DAYS,
            "42 CFR 438.210(d)(1), 457.1230(d) (rating periods starting before 2026-01-01)",
            effective_to=dt.date(2025, 12, 31), dated_by="rating period"),
          T("decision_due", plans, EXPEDITED, kinds, 72, HOURS,
            "42 CFR 438.210(d)(2), 457.1230(d)"))),
    T("decision_due", ("Medicaid FFS",), STANDARD, ITEMS, 7, DAYS, _MEDICAID_7,
      effective_from=CMS_0057_F_START),
    T("decision_due", ("Medicaid FFS",), EXPEDITED, ITEMS, 72, HOURS,
      "CMS-0057-F; 42 CFR 440.230(e)", effective_from=CMS_0057_F_START),
    T("decision_due", ("Medicaid FFS",), ANY_URGENCY, ITEMS, None, DAYS,
      "42 CFR 440.230(e) starts on 2026-01-01", effective_to=dt.date(2025, 12, 31)),
    T("decision_due", ("Medicaid FFS", "Medicaid Managed Care"), ANY_URGENCY, DRUGS, 24, HOURS,
      "Social Security Act 1927(d)(5)(A)", label="covered outpatient drug"),
    T("decision_due", PRIVATE_PLANS, STANDARD, ALL_REQUESTS, 15, DAYS, _ERISA_STANDARD),
    T("decision_due", PRIVATE_PLANS, EXPEDITED, ALL_REQUESTS, 72, HOURS,
      "29 CFR 2560.503-1(f)(2)(i)"),
    T("decision_due", ("Medicare FFS",), STANDARD, ALL_REQUESTS, 7, DAYS,
      "42 CFR 419.82; CMS-1809-FC", effective_from=OPD_7_DAYS_START),
    T("decision_due", ("Medicare FFS",), STANDARD, ALL_REQUESTS, 10, BUSINESS_DAYS,
      "42 CFR 419.82 before CMS-1809-FC", effective_to=dt.date(2024, 12, 31)),
    T("decision_due", ("Medicare FFS",), EXPEDITED, ALL_REQUESTS, 2, BUSINESS_DAYS,
      "42 CFR 419.82; CMS-1809-FC"),
    T("decision_due", ("Other",), ANY_URGENCY, ALL_REQUESTS, None, DAYS,
      "no federal rule for this plan type; add one on the Payers sheet"),
    # --- the most an extension may add (extension_days) ------------------------------
    T("extension_limit", ("Medicare Advantage",), ANY_URGENCY, ITEMS, 14, DAYS,
      "42 CFR 422.568(b)(1)(i), 422.572(b)"),
    T("extension_limit", ("Medicaid FFS", "Medicaid Managed Care"), ANY_URGENCY, ITEMS, 14, DAYS,
      "42 CFR 440.230(e), 438.210(d)"),
    T("extension_limit", ("CHIP",), ANY_URGENCY, ALL_REQUESTS, 14, DAYS,
      "42 CFR 457.1230(d), 438.210(d)"),
    T("extension_limit", ("Medicare Advantage", "Medicaid FFS", "Medicaid Managed Care"),
      ANY_URGENCY, DRUGS, 0, DAYS, "no extension of a drug timeframe",
      label="drug"),
    T("extension_limit", ("Medicare Part D",), ANY_URGENCY, ALL_REQUESTS, 0, DAYS,
      "no extension of a drug timeframe (42 CFR 423.568(b), 423.572(a))"),
    T("extension_limit", PRIVATE_PLANS, STANDARD, ALL_REQUESTS, 15, DAYS,
      "one extension, 29 CFR 2560.503-1(f)(2)(iii)(A)"),
    T("extension_limit", PRIVATE_PLANS, EXPEDITED, ALL_REQUESTS, 0, DAYS,
      "no extension of an urgent request, 29 CFR 2560.503-1(f)(2)(i)"),
    # --- urgent Commercial / QHP request after the information arrives ----------------
    T("decision_after_information", PRIVATE_PLANS, EXPEDITED, ALL_REQUESTS, 48, HOURS,
      "29 CFR 2560.503-1(f)(2)(i)"),
    # --- filing the appeal (from decision_date) --------------------------------------
    # A plan's own window on the Payers sheet replaces these (the notice governs), except a
    # State's fair hearing window, which may only be shorter than 90 days.
    T("appeal_filing_deadline", MEDICARE_PLANS, ANY_URGENCY, ALL_REQUESTS, 65, DAYS,
      "42 CFR 422.582(b), 423.582(b): 60 days from receipt of the notice, presumed 5 days "
      "after its date", effective_from=MA_APPEAL_65_DAYS_START, payer_may="replace"),
    T("appeal_filing_deadline", MEDICARE_PLANS, ANY_URGENCY, ALL_REQUESTS, 60, DAYS,
      "42 CFR 422.582(b), 423.582(b) before 2025", effective_to=dt.date(2024, 12, 31),
      payer_may="replace"),
    T("appeal_filing_deadline", MANAGED_MEDICAID, ANY_URGENCY, ALL_REQUESTS, 60, DAYS,
      "42 CFR 438.402(c)(2)(ii)", payer_may="replace"),
    T("appeal_filing_deadline", ("Medicaid FFS",), ANY_URGENCY, ALL_REQUESTS, 90, DAYS,
      "State fair hearing, at most 90 days: 42 CFR 431.221(d)"),
    T("appeal_filing_deadline", PRIVATE_PLANS, ANY_URGENCY, ALL_REQUESTS, 180, DAYS,
      "29 CFR 2560.503-1(h)(3)(i); 45 CFR 147.136(b)", payer_may="replace"),
    T("appeal_filing_deadline", ("Medicare FFS", "Other"), ANY_URGENCY, ALL_REQUESTS, None, DAYS,
      "no federal appeal window for this plan type; the Payers sheet may give one",
      payer_may="replace"),
    # --- the payer's appeal decision (from appeal_submitted_date) ----------------------
    T("appeal_decision_due", ("Medicare Advantage",), STANDARD, ITEMS, 30, DAYS,
      "42 CFR 422.590(a)"),
    T("appeal_decision_due", ("Medicare Advantage",), STANDARD, DRUGS, 7, DAYS,
      "42 CFR 422.590(c)", label="Part B drug"),
    T("appeal_decision_due", ("Medicare Advantage",), EXPEDITED, ALL_REQUESTS, 72, HOURS,
      "42 CFR 422.590(e)"),
    T("appeal_decision_due", ("Medicare Part D",), STANDARD, ALL_REQUESTS, 7, DAYS,
      "42 CFR 423.590(a)"),
    T("appeal_decision_due", ("Medicare Part D",), EXPEDITED, ALL_REQUESTS, 72, HOURS,
      "42 CFR 423.590(d)"),
    T("appeal_decision_due", MANAGED_MEDICAID, STANDARD, ALL_REQUESTS, 30, DAYS,
      "42 CFR 438.408(b)(2)"),
    T("appeal_decision_due", MANAGED_MEDICAID, EXPEDITED, ALL_REQUESTS, 72, HOURS,
      "42 CFR 438.408(b)(3)"),
    T("appeal_decision_due", ("Medicaid FFS",), STANDARD, ALL_REQUESTS, 90, DAYS,
      "State fair hearing: 42 CFR 431.244(f)(1)"),
    T("appeal_decision_due", ("Medicaid FFS",), EXPEDITED, ALL_REQUESTS, 3, BUSINESS_DAYS,
      "expedited State fair hearing: 42 CFR 431.244(f)(2)"),
    T("appeal_decision_due", PRIVATE_PLANS, STANDARD, ALL_REQUESTS, 30, DAYS,
      "pre-service appeal: 29 CFR 2560.503-1(i)(2)(ii)"),
    T("appeal_decision_due", PRIVATE_PLANS, EXPEDITED, ALL_REQUESTS, 72, HOURS,
      "urgent appeal: 29 CFR 2560.503-1(i)(2)(i)"),
    # --- after an upheld appeal (from appeal_decision_date) ---------------------------
    T("external_review_deadline", PRIVATE_PLANS, ANY_URGENCY, ALL_REQUESTS, 4, MONTHS,
      "45 CFR 147.136(d); no such day: the 1st of the next month; a weekend or federal "
      "holiday: the next business day", payer_may="replace"),
    T("state_fair_hearing_deadline", MANAGED_MEDICAID, ANY_URGENCY, ALL_REQUESTS, 120, DAYS,
      "42 CFR 438.408(f)(2)"),
)

# Plans whose clock stops while the payer waits for information it asked for (standard
# requests; urgent ones get decision_after_information instead): 29 CFR 2560.503-1(f)(4).
TOLLING_PLAN_TYPES = PRIVATE_PLANS
TOLLING_CITATION = "29 CFR 2560.503-1(f)(4)"

# A payer that misses its decision deadline has made an adverse decision the practice can
# appeal now; plan type -> citation.
LATE_IS_ADVERSE: dict[str, str] = {
    "Medicare Advantage": "42 CFR 422.568(f)",
    "Medicaid FFS": "42 CFR 431.220(a)(1)",
    "Medicaid Managed Care": "42 CFR 438.404(c)(5)",
    "CHIP": "42 CFR 457.1260, 438.404(c)(5)",
}

# An upheld reconsideration the plan itself sends to the Independent Review Entity.
AUTO_FORWARDED_TO_IRE: dict[str, str] = {"Medicare Advantage": "42 CFR 422.592"}

# Good cause for an appeal filed after its deadline; plan type -> citation (others: the
# plan's discretion).
GOOD_CAUSE: dict[str, str] = {"Medicare Advantage": "42 CFR 422.582(c)",
                              "Medicare Part D": "42 CFR 423.582(c)"}

UNITS = "units"  # of an authorization (low_units)


@dataclass(frozen=True)
class PracticeTarget:
    """One number the practice works to where no law sets one, and the words of its basis.

    setting: the Settings key that changes it (None: the number is fixed here); default:
    the number when the Settings sheet gives none; words: the basis sentence, where
    {name} is the number of the target of that name (a sentence may name two).
    description: what it is for (for a Settings key, the Settings sheet's description).
    """

    name: str
    default: int
    unit: str  # calendar days, business days, hours, units
    words: str
    description: str
    setting: str | None = None
    maximum: int | None = None  # a Settings value above it is refused (the default is used)

    def value(self, settings: Mapping[str, object]) -> int:
        """The number in force: the Settings value when it is a number, else the default."""
        if self.setting is None:
            return self.default
        given = settings.get(self.setting)
        if isinstance(given, int | float) and not (isinstance(given, float) and math.isnan(given)):
            return int(given)
        return self.default

    def basis(self, values: Mapping[str, int]) -> str:
        """The basis sentence with the numbers in force (practice_targets)."""
        return self.words.format(**values)


P = PracticeTarget
PRACTICE_TARGETS: tuple[PracticeTarget, ...] = (
    # --- Settings: the practice may change these on its Settings sheet -------------------
    P("info_response", 24, HOURS,
      "Settings: answer a payer's information request within {info_response} hours (a date "
      "without a time counts from the start of that day)",
      "Hours to answer a payer's information request.", "info_response_hours", maximum=720),
    P("status_check", 2, BUSINESS_DAYS, "Settings: check status every {status_check} business days",
      "Business days between status checks.", "status_check_business_days", maximum=60),
    P("renewal_lead", 14, DAYS,
      "Settings: start the renewal {renewal_lead} days before the authorization expires on ",
      "Days before expiry to start a renewal.", "renewal_lead_days", maximum=365),
    P("low_units", 5, UNITS, "Settings: renew at {low_units} or fewer",
      "Units left at which to start a renewal.", "low_units_threshold", maximum=100000),
    # --- practice protocol, fixed here --------------------------------------------------
    P("near_service", 5, BUSINESS_DAYS, "",
      "A service this close: check status every business day (status_check_near_service)."),
    P("status_check_near_service", 1, BUSINESS_DAYS,
      "Settings: check status every business day once the service date is within "
      "{near_service} business days",
      "Business days between status checks once the service date is near."),
    P("appeal_target", 1, BUSINESS_DAYS,
      "practice protocol: file the written appeal within {appeal_target} business day of the "
      "denial",
      "Business days after a denial (or a peer-to-peer that failed) to file the written "
      "appeal."),
    P("p2p_request", 0, DAYS, "request peer-to-peer the same day as the denial",
      "Days after a denial to request peer-to-peer."),
    P("auth_number", 0, DAYS, "readiness checklist: record the auth number at approval",
      "Days after an approval to record its authorization number."),
    P("ire_watch", 30, DAYS,
      "practice follow-up: ask for the IRE case if nothing came in {ire_watch} days",
      "Days after an upheld Medicare Advantage reconsideration to ask for the IRE's case."),
    P("planning_timeframe", 15, DAYS, "",
      "Days a payer is assumed to take, to plan a submission, when no rule gives any."),
    P("renewal_horizon", 30, DAYS, "",
      "Days ahead a renewal is listed on the worklist."),
    P("filing_near", 14, DAYS, "",
      "Days before the appeal filing deadline at which the written appeal is listed even while "
      "a peer-to-peer is pending (it does not stop the appeal clock)."),
    P("deadline_risk", 7, DAYS, "",
      "Days before a deadline (appeal filing, peer-to-peer window, service date, expiry) from "
      "which it is at risk and the worklist puts it first: a week, time to write an appeal or "
      "get a decision expedited."),
    # --- a payer's policy, when the Payers sheet gives none (p2p_window_days) ------------
    P("p2p_window", 14, DAYS,
      "payer policy: {p2p_window} days for peer-to-peer after the decision (the Payers sheet "
      "gives none)",
      "Days after a denial that peer-to-peer can be requested, when the Payers sheet's "
      "p2p_window_days is blank."),
)
TARGETS: dict[str, PracticeTarget] = {target.name: target for target in PRACTICE_TARGETS}


def practice_targets(settings: Mapping[str, object] | None = None) -> dict[str, int]:
    """Every practice target's number in force, by name (Settings values where given)."""
    given = settings or {}
    return {name: target.value(given) for name, target in TARGETS.items()}


def rows_for(deadline: str) -> tuple[Timeframe, ...]:
    """The rows of one deadline, in table order."""
    return tuple(row for row in TIMEFRAMES if row.deadline == deadline)


def federal(deadline: str, plan_type: str, urgency: str, drug: bool,
            on: dt.date) -> Timeframe | None:
    """The row timing a deadline for one case, or None (for one Payers row or one message)."""
    kind = DRUGS if drug else ITEMS
    for row in rows_for(deadline):
        if (plan_type in row.plan_types and urgency in row.urgencies()
                and kind in row.kinds() and row.covers(on)):
            return row
    return None
