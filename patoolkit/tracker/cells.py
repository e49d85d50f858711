"""Turn a sheet's raw cell values into typed columns, collecting every problem.

Liberal in what it accepts (the way an analyst types), exact in what it
reports: each problem names the sheet, the Excel row, the column as the file
spells it, the value found and what to do. Work is column-wise; per-value
Python runs only over a column's distinct values.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from patoolkit.calendars import DEFAULT_TIMEZONE, is_time_zone, month_day
from patoolkit.codes import (
    STATE_CODE_WARNING,
    icd10_problem,
    looks_like_service_code,
    npi_problem,
    procedure_code_problem,
    split_codes,
)
from patoolkit.completeness import GAPS, gap_masks
from patoolkit.errors import Problem
from patoolkit.schema import LISTS, NO_WORDS, YES_WORDS, Column, Sheet, is_blank
from patoolkit.timeframes import BUSINESS_DAYS, DAYS, EXPEDITED, HOURS, STANDARD, federal

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# Text date formats accepted after ISO 8601, in order: US first (these are US practices).
TEXT_DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%d-%b-%Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)
EARLIEST = pd.Timestamp("1900-01-01")
LATEST = pd.Timestamp("2199-12-31")


class Collector:
    """Problems of one sheet, with the file's own column spellings."""

    def __init__(self, sheet: str, labels: dict[str, str]):
        self.sheet = sheet
        self.labels = labels
        self.problems: list[Problem] = []

    def add(self, rows: Iterable[int], column: str | None, message: str | Callable[[str], str],
            values: Iterable[object] | None = None, severity: str = "error") -> None:
        label = self.labels.get(column, column) if column else None
        value_list = list(values) if values is not None else None
        for position, row in enumerate(rows):
            value = None if value_list is None else value_list[position]
            text = None if value is None else _display(value)
            self.problems.append(Problem(
                self.sheet, int(row), label,
                message(text or "") if callable(message) else message,
                text, severity,
            ))


def _display(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def blank_mask(raw: pd.Series) -> pd.Series:
    """True where a cell is empty (None, '' or only spaces)."""
    return pd.Series([value is None or (type(value) is str and not value.strip())
                      for value in raw.to_numpy(dtype=object)], index=raw.index, dtype=bool)


def _text_of(value: object) -> str | None:
    """One cell as text (the rare, non-string cases of to_text)."""
    if isinstance(value, str):
        return value.strip() or None
    if value is None or value is pd.NA or value is pd.NaT:  # missing, whatever its flavour
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_text(raw: pd.Series) -> pd.Series:
    """Cell values as text: 1234567893.0 -> '1234567893', blanks -> NA."""
    # A list comprehension with a fast path for tidy strings: this runs on every cell.
    values = [(value if value and not value[0].isspace() and not value[-1].isspace() else (
        value.strip() or None)) if type(value) is str else _text_of(value)
        for value in raw.to_numpy(dtype=object)]
    return pd.Series(pd.array(values, dtype="string"), index=raw.index)


TEXT, DATE, NUMBER, EMPTY, OTHER = range(5)
# bool is a subclass of int but never a date, so it is OTHER; pd.Timestamp is a datetime
KIND_OF_TYPE = {str: TEXT, dt.datetime: DATE, dt.date: DATE, pd.Timestamp: DATE, float: NUMBER,
                int: NUMBER, type(None): EMPTY}


def _kinds(raw: pd.Series) -> np.ndarray:
    """One small integer per cell saying what Python type calamine gave it."""
    return np.array([KIND_OF_TYPE.get(type(value), OTHER) for value in
                     raw.to_numpy(dtype=object)], dtype=np.int8)


ISO_FULL = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"


def _parse_text_dates(text: pd.Series) -> pd.Series:
    # ISO 8601 only when the day is given: '2026' or '2026-03' is not a date, it is a typo
    full = text.str.match(ISO_FULL).fillna(False).astype(bool)
    # microseconds: a year past 2262 (a typo for 2026) must parse to be reported, and
    # nanoseconds cannot hold it
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    if full.any():
        parsed[full] = pd.to_datetime(text[full], format="ISO8601", errors="coerce")
    for fmt in TEXT_DATE_FORMATS:
        missing = parsed.isna()
        if not missing.any():
            break
        parsed[missing] = pd.to_datetime(text[missing], format=fmt, errors="coerce")
    return parsed


def to_datetimes(raw: pd.Series, column: Column, found: Collector, keep_time: bool) -> pd.Series:
    """Excel dates, serial numbers, ISO and US text dates; problems for the rest."""
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    kinds = _kinds(raw)
    native = pd.Series(kinds == DATE, index=raw.index)
    if native.any():
        # a year outside 1900-2199 cannot even be held (past 2262 it overflows): say so here
        years = pd.Series([value.year for value in raw[native]], index=raw.index[native])
        wild_rows = years.index[(years < EARLIEST.year) | (years > LATEST.year)]
        if len(wild_rows):
            found.add(wild_rows, column.name, "is not a plausible date (before 1900 or after "
                      "2199); correct the year", raw[wild_rows])
            native[wild_rows] = False
        out[native] = pd.to_datetime(raw[native].to_numpy(dtype=object))
    numeric = pd.Series(kinds == NUMBER, index=raw.index)
    if numeric.any():
        days = raw[numeric].astype(float)
        # 1900-01-01 .. 2199-12-31; a number typed for a year (2026 is day 2026: 1905) is not
        # a date, so outside a date of birth nothing before 1950 is taken from a number
        sane = days.between(1 if column.name == "patient_dob" else 18264, 109574)
        out[numeric & sane.reindex(raw.index, fill_value=False)] = (
            EXCEL_EPOCH + pd.to_timedelta(days[sane], unit="D")
        ).dt.round("s")
        bad = days.index[~sane]
        found.add(bad, column.name, "is a number, not a date; type a date such as 2026-03-14",
                  raw[bad])
    text = pd.Series(kinds == TEXT, index=raw.index)
    if text.any():
        strings = raw[text].str.strip()
        strings = strings[strings != ""]
        parsed = _parse_text_dates(strings)
        if column.name == "patient_dob":
            # '3/2/45' is 2045 to strptime; nobody is born in the future, so it is 1945
            two_digit = strings.str.fullmatch(r"\d{1,2}/\d{1,2}/\d{2}").fillna(False).astype(bool)
            future = two_digit & (parsed > pd.Timestamp.now()).fillna(False)
            if future.any():
                parsed[future] = parsed[future] - pd.DateOffset(years=100)
        wild = parsed.notna() & ~parsed.between(EARLIEST, LATEST)
        if wild.any():
            found.add(parsed.index[wild], column.name, "is not a plausible date (before 1900 or "
                      "after 2199); correct the year", raw[parsed.index[wild]])
        parsed = parsed.where(~wild)
        out[parsed.index] = parsed.astype("datetime64[ns]")
        bad = parsed.index[parsed.isna() & ~wild]
        found.add(bad, column.name, _date_message, raw[bad])
    other = pd.Series(kinds == OTHER, index=raw.index)
    if other.any():
        bad = raw.index[other]
        found.add(bad, column.name, lambda value: (
            "is a time without a date; type the date too, e.g. 2026-03-14 14:30"
            if ":" in value else "is not a date; type a date such as 2026-03-14"), raw[bad])
    out_of_range = out.notna() & ~out.between(EARLIEST, LATEST)
    if out_of_range.any():
        bad = out.index[out_of_range]
        found.add(bad, column.name, "is not a plausible date (before 1900 or after 2199); "
                  "correct the year", raw[bad])
        out[out_of_range] = pd.NaT
    if not keep_time:
        out = out.dt.normalize()
    return out


def _date_message(value: str) -> str:
    looks_dated = sum(ch.isdigit() for ch in value) >= 4 and any(s in value for s in "/-.")
    if looks_dated:
        return "is not a real calendar date; use YYYY-MM-DD (e.g. 2026-03-14) or M/D/YYYY"
    return "is not a date; use YYYY-MM-DD (e.g. 2026-03-14) or M/D/YYYY"


def to_integers(raw: pd.Series, column: Column, found: Collector) -> pd.Series:
    text = to_text(raw)
    numbers = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    bad = text.notna() & (numbers.isna() | (numbers % 1 != 0) | (numbers < 0))
    if bad.any():
        rows = raw.index[bad]
        found.add(rows, column.name, "is not a whole number of zero or more; type digits only",
                  raw[rows])
    too_big = ~bad & (numbers > (column.maximum if column.maximum is not None else 2**53))
    if too_big.any():
        rows = raw.index[too_big]
        found.add(rows, column.name, f"is more than {column.maximum or 2**53:,}, which cannot be "
                  "right; correct the number (left blank, the default is used)", raw[rows])
    return numbers.where(~bad & ~too_big).astype("Int64")


def _enum_key(value: str) -> str:
    """Case and spacing do not matter: 'medicare  advantage' is 'Medicare Advantage'."""
    return " ".join(value.replace("_", " ").split()).casefold()


def loose_key(value: str) -> str:
    """Nor punctuation, nor '&' against 'and': 'Physical, occupational, speech therapy' is
    'Physical/Occupational/Speech Therapy'."""
    return "".join(ch for ch in value.casefold().replace("&", "and") if ch.isalnum())


def to_enum(raw: pd.Series, column: Column, allowed: tuple[str, ...], found: Collector,
            star: bool = False) -> pd.Series:
    """Enum values in any case, spacing and punctuation, mapped to the list's spelling.

    A value read only by ignoring its punctuation is a warning ('written as X, read as Y'),
    so the analyst can tidy it; case and spacing alone are not worth a word.
    """
    text = to_text(raw)
    canonical = {_enum_key(value): value for value in allowed}
    loose: dict[str, str] = {}
    for value in allowed:
        loose.setdefault(loose_key(value), value)  # the first of two that collide wins
    if star:
        canonical["*"] = "*"
    mapping: dict[str, object] = {}
    guessed: dict[str, str] = {}
    for value in text.dropna().unique():
        exact = canonical.get(_enum_key(value))
        if exact is None and loose_key(value) in loose:
            exact = guessed[value] = loose[loose_key(value)]
        mapping[value] = pd.NA if exact is None else exact
    converted = text.map(mapping, na_action="ignore").astype("string")
    if guessed:
        rows = raw.index[text.isin(list(guessed)).fillna(False)]
        found.add(rows, column.name, lambda value: f"written as '{value}', read as "
                  f"'{guessed[value]}'; choose it from the dropdown to tidy it",
                  text[rows], severity="warning")
    bad = text.notna() & converted.isna()
    if bad.any():
        rows = raw.index[bad]

        def message(value: str) -> str:
            close = difflib.get_close_matches(_enum_key(value), list(canonical), n=1, cutoff=0.5)
            hint = f"did you mean '{canonical[close[0]]}'? " if close else ""
            shown = ", ".join(allowed[:8]) + (", ..." if len(allowed) > 8 else "")
            return (f"is not one of the allowed values; {hint}choose from the dropdown "
                    f"({shown}) or add it to the Lists sheet")

        found.add(rows, column.name, message, text[rows])
    return converted


def to_yes_no(raw: pd.Series, column: Column, found: Collector) -> pd.Series:
    text = to_text(raw)
    def one(value: str) -> object:
        key = value.strip().casefold()
        if key in YES_WORDS:
            return "Yes"
        if key in NO_WORDS:
            return "No"
        return pd.NA
    mapping = {value: one(value) for value in text.dropna().unique()}
    converted = text.map(mapping, na_action="ignore").astype("string")
    bad = text.notna() & converted.isna()
    if bad.any():
        rows = raw.index[bad]
        found.add(rows, column.name, "is not Yes or No; type Yes or No", text[rows])
    return converted


def check_npis(text: pd.Series, column: Column, found: Collector) -> None:
    verdicts = {value: npi_problem(value) for value in text.dropna().unique()}
    problems = text.map(verdicts, na_action="ignore")
    bad = problems.notna()
    if bad.any():
        rows = text.index[bad]
        found.add(rows, column.name, lambda value: f"'{value}': " + str(verdicts[value]),
                  text[rows])


def check_code_lists(text: pd.Series, column: Column, found: Collector, icd10: bool) -> None:
    parts = split_codes(text)
    if parts.empty:
        return
    verdicts: dict[str, tuple[str, str] | None] = {}
    for code in parts.unique():
        if icd10:
            verdicts[code] = icd10_problem(code)
        else:
            why = procedure_code_problem(code)
            if why and looks_like_service_code(code):  # a state's own code: say, don't refuse
                verdicts[code] = ("warning", STATE_CODE_WARNING)
            else:
                verdicts[code] = ("error", why) if why else None
    problems = {code: verdict for code, verdict in verdicts.items() if verdict is not None}
    flagged = parts[parts.map(lambda code: code in problems)]
    for row, codes in flagged.groupby(level=0):
        for severity in ("error", "warning"):
            wrong = [code for code in codes if problems[code][0] == severity]
            if wrong:
                reasons = "; ".join(f"'{code}' {problems[code][1]}" for code in wrong)
                found.add(codes.index[:1], column.name, reasons, [text[row]],  # its row
                          severity=severity)


def check_code_rules(text: pd.Series, column: Column, found: Collector) -> None:
    def problem(rule: str) -> str | None:
        rule = rule.strip().upper()
        if rule == "*":
            return None
        ends = [part.strip() for part in rule.split("-", 1)] if "-" in rule else [rule]
        for end in ends:
            if procedure_code_problem(end):
                return f"'{end}' {procedure_code_problem(end)}"
        if len(ends) == 2 and (len(ends[0]) != len(ends[1]) or ends[0] > ends[1]):
            return "the range must run from the lower code to the higher, e.g. 70551-70553"
        return None

    verdicts = {value: problem(value) for value in text.dropna().unique()}
    bad = text.map(verdicts, na_action="ignore").notna()
    if bad.any():
        rows = text.index[bad]
        found.add(rows, column.name, lambda value: str(verdicts[value]), text[rows])


def convert_sheet(sheet: Sheet, raw: pd.DataFrame, lists: dict[str, tuple[str, ...]],
                  found: Collector) -> pd.DataFrame:
    """Typed frame of a sheet: one column per contract column (missing ones all blank)."""
    typed: dict[str, pd.Series] = {}
    empty = pd.Series([None] * len(raw), index=raw.index, dtype=object)
    for column in sheet.columns:
        values = raw[column.name] if column.name in raw.columns else empty
        typed[column.name] = convert_column(column, values, lists, found)
    frame = pd.DataFrame(typed, index=raw.index)
    frame.index.name = "row"
    if sheet.name == "Requests":
        check_extensions(frame, found, lists.get("drug_category", LISTS["drug_category"]))
    elif sheet.name == "Payers":
        check_payer_overrides(frame, found)
    elif sheet.name == "Settings":
        check_time_zone(frame, found)
    return frame


def check_extensions(frame: pd.DataFrame, found: Collector,
                     drug_categories: Sequence[str]) -> None:
    """extension_days beyond the legal limit (CONTRACT section 2): the limit is used."""
    from patoolkit.deadlines import extension_limits_for

    asked = frame["extension_days"]
    if not (asked.notna() & (asked > 0)).any():
        return
    limit, rule = extension_limits_for(frame, drug_categories)
    over = (asked.notna() & limit.notna() & (asked > limit)).fillna(False).astype(bool)
    for row, value, words in zip(frame.index[over], asked[over], rule[over], strict=True):
        found.add([row], "extension_days",
                  f"{value} days is more than the law allows an extension to add for this "
                  f"request ({words}); deadlines use the limit", [value], severity="warning")


def _nominal_days(amount: float, unit: str) -> float:
    return amount if unit == DAYS else amount * 7 / 5 if unit == BUSINESS_DAYS else amount / 24


def check_payer_overrides(frame: pd.DataFrame, found: Collector) -> None:
    """Payers-sheet timeframes longer than federal law (used only when stricter), a State
    fair hearing window over 90 days, reversed override dates, an unreadable rating period."""
    today = dt.date.today()
    for row, record in zip(frame.index, frame.to_dict("records"), strict=True):
        # a Payers sheet has a few dozen rows; blanks (NA, NaT) read as None
        values = {key: None if is_blank(value) else value for key, value in record.items()}
        plan = values.get("plan_type")
        since, until = values.get("override_from"), values.get("override_to")
        on = since.date() if isinstance(since, pd.Timestamp) else today
        if isinstance(plan, str):
            days_are = values.get("decision_days_are")
            unit = BUSINESS_DAYS if days_are == "Business" else DAYS
            for column, urgency, given_unit in (
                    ("standard_decision_days", STANDARD, unit),
                    ("expedited_decision_hours", EXPEDITED, HOURS)):
                given = values.get(column)
                rule = federal("decision_due", plan, urgency, False, on)
                if given is None or rule is None or rule.amount is None:
                    continue
                if _nominal_days(float(given), given_unit) > _nominal_days(rule.amount,
                                                                             rule.unit):
                    found.add([row], column,
                              f"longer than federal law allows ({rule.words(plan)}); an "
                              "override is used only when stricter, so deadlines use the "
                              "federal limit", [given], severity="warning")
            filing = values.get("appeal_filing_days")
            rule = federal("appeal_filing_deadline", plan, STANDARD, False, on)
            if (filing is not None and rule is not None and rule.amount is not None
                    and rule.payer_may == "shorten" and filing > rule.amount):
                found.add([row], "appeal_filing_days",
                          f"longer than federal law allows ({rule.words(plan)}); deadlines "
                          "use the federal limit", [filing], severity="warning")
        if isinstance(since, pd.Timestamp) and isinstance(until, pd.Timestamp) and until < since:
            found.add([row], "override_to", "the override ends before it starts; check "
                      "override_from and override_to", [until.date()], severity="warning")
        start = values.get("rating_period_start")
        if isinstance(start, str) and month_day(start) is None:
            found.add([row], "rating_period_start",
                      "is not a month and day; write it as MM-DD (07-01 for July 1); "
                      "January 1 is used", [start], severity="warning")


def check_time_zone(frame: pd.DataFrame, found: Collector) -> None:
    keys = frame["key"].astype("string").str.strip().str.casefold()
    for row in frame.index[(keys == "timezone").fillna(False)]:
        value = frame.at[row, "value"]
        if isinstance(value, str) and not is_time_zone(value):
            found.add([row], "value",
                      f"'{value}' is not a time zone name; use an IANA name such as "
                      f"America/Chicago ({DEFAULT_TIMEZONE} is used)", [value],
                      severity="warning")


def convert_column(column: Column, raw: pd.Series, lists: dict[str, tuple[str, ...]],
                   found: Collector) -> pd.Series:
    kind = column.kind
    if kind in ("date", "datetime"):
        return to_datetimes(raw, column, found, keep_time=kind == "datetime")
    if kind == "int":
        return to_integers(raw, column, found)
    if kind in ("enum", "enum_or_star"):
        return to_enum(raw, column, lists[column.enum or ""], found, star=kind == "enum_or_star")
    if kind == "yesno":
        return to_yes_no(raw, column, found)
    text = to_text(raw)
    if kind == "npi":
        check_npis(text, column, found)
    elif kind in ("codes", "icd10"):
        check_code_lists(text, column, found, icd10=kind == "icd10")
    elif kind == "code_rule":
        check_code_rules(text, column, found)
    return text


def check_requests(frame: pd.DataFrame, found: Collector) -> None:
    """Problems that span columns or rows of the Requests sheet."""
    ids = frame["request_id"]
    blank_id = ids.isna()
    if blank_id.any():
        found.add(frame.index[blank_id], "request_id",
                  "the request has no request_id; give every request a unique ID "
                  "(e.g. PA-2026-00042)")
    normalized = ids.str.strip().str.upper()
    duplicated = normalized.duplicated(keep="first") & ~blank_id
    if duplicated.any():
        first_row = normalized[~blank_id].reset_index().drop_duplicates("request_id").set_index(
            "request_id")["row"]
        rows = frame.index[duplicated]
        found.add(rows, "request_id",
                  lambda value: f"duplicate request_id; row {first_row[value.strip().upper()]} "
                  "already uses it. Give this request a new ID",
                  ids[rows])

    def order(earlier: str, later: str, what: str) -> None:
        before, after = frame[earlier], frame[later]
        # to the minute when both have a time; by the day when either is a date alone
        timed = (before != before.dt.normalize()) & (after != after.dt.normalize())
        by_day = after.dt.normalize() < before.dt.normalize()
        wrong = before.notna() & after.notna() & (by_day | (timed & (after < before)))
        if wrong.any():
            rows = frame.index[wrong]
            found.add(rows, later,
                      lambda value: f"{what}; check both dates",
                      frame.loc[rows, later].map(lambda t: t.date() if t == t.normalize() else t))

    order("submitted_at", "decision_date", "the decision date is before the submission date")
    order("auth_effective_date", "auth_expiration_date",
          "the authorization expires before it takes effect")
    order("info_requested_at", "info_responded_at",
          "the information was sent before the payer asked for it")
    order("decision_date", "p2p_requested_date", "peer-to-peer was requested before the decision")
    order("appeal_submitted_date", "appeal_decision_date",
          "the appeal was decided before it was filed")
    order("decision_date", "appeal_submitted_date", "the appeal was filed before the decision")

    used, authorized = frame["units_used"], frame["units_authorized"]
    over = used.notna() & authorized.notna() & (used > authorized)
    if over.any():
        rows = frame.index[over]
        found.add(rows, "units_used",
                  lambda value: "more units used than authorized; correct units_used or record "
                  "the added units the payer approved",
                  used[rows].astype(object))

    approved = frame["decision"].isin(["Approved", "Partially Approved"]) | (
        frame["decision"].isna() & frame["status"].isin(["Approved", "Partially Approved"])
    )
    no_auth = approved & frame["auth_number"].isna()
    if no_auth.any():
        found.add(frame.index[no_auth], "auth_number",
                  "approved without an authorization number; record it, claims deny without it",
                  severity="warning")
    denied = (frame["decision"] == "Denied") & frame["denial_reason"].isna()
    if denied.any():
        found.add(frame.index[denied], "denial_reason",
                  "denied without a denial reason; record the payer's specific reason, "
                  "the appeal must answer it", severity="warning")
    for gap, (column, mask) in zip(GAPS, gap_masks(frame).items(), strict=True):
        if column != "request_id" and mask.any():  # a blank ID is an error above
            found.add(frame.index[mask], column, gap.words(),
                      severity="warning")
