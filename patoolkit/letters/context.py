"""What a template is filled with: one request's tracker values in namespaces that know
where each comes from, and the fields a person supplies.

Template fields come from the tracker in namespaces (practice, payer, patient,
provider, request, deadlines, letter, criteria); bare names are what a person
supplies (clinical_rationale, enclosures, ...: parse_set reads them from
--set, clean_supplied from the dashboards' form). A blank value is left out
so it reads as missing, and each namespace can say where to fill what is
missing (which sheet, Excel row and column, or which --set): a letter is
never made with a blank where a value belongs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from ..deadlines import DEADLINES
from ..errors import LetterError, LetterNotApplicableError, RequestNotFoundError
from ..rules import documentation_checklist
from ..schema import REQUESTS, SHEETS, is_blank
from ..timeframes import GOOD_CAUSE
from .kinds import LetterKind, Row, filing_late
from .templates import NAMESPACES, TemplateFields

if TYPE_CHECKING:
    from ..tracker.read import Tracker

class DuplicateRequestIdError(LetterNotApplicableError):
    """The request ID is on more than one row: no letter until each has its own."""


@dataclass(frozen=True)
class MissingField:
    name: str  # as the template spells it: payer.appeals_address, enclosures
    where: str  # what to do: which sheet and column, or which --set


class MissingFieldsError(LetterError):
    """Fields the template needs are empty; .missing lists each with where to fill it."""

    def __init__(self, request_id: str, kind: str, missing: Sequence[MissingField]):
        self.request_id, self.kind, self.missing = request_id, kind, list(missing)
        lines = "\n".join(f"  - {item.name}: {item.where}" for item in self.missing)
        super().__init__(f"request {request_id}: the {kind} letter needs {len(self.missing)} "
                         f"field(s) that are empty; nothing was written.\n{lines}")


class Fields(dict[str, Any]):
    """A namespace of template values; blank values are left out so they read as missing.

    where(name) tells a person where to fill a missing value; a name that is neither
    among the values nor in known is a field patoolkit does not provide.
    """

    def __init__(self, values: Mapping[str, Any], where: Callable[[str], str],
                 known: Iterable[str] = ()):
        super().__init__({key: value for key, value in values.items() if not is_blank(value)})
        self.where = where
        self._known = frozenset(values) | frozenset(known)


def _format(value: object) -> object:
    """Dates as a letter writes them: 'November 28, 2026' (with the time when it has one)."""
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date) and not is_blank(value):
        stamp = pd.Timestamp(value)
        text = f"{stamp:%B} {stamp.day}, {stamp.year}"
        end_of_day = (stamp.hour, stamp.minute) == (23, 59)  # a payer's date-only deadline
        if (stamp.hour or stamp.minute) and not end_of_day:
            text += f", {stamp:%I:%M %p}".replace(" 0", " ")
        return text
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _lines(value: object) -> list[str]:
    """A multi-line cell or --set value as its non-empty lines (newlines or ';')."""
    if is_blank(value):
        return []
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    return [line.strip() for line in re.split(r"[\n;]+", str(value)) if line.strip()]


def _address_lines(value: object) -> list[str]:
    """An address cell as letter lines: newlines or ';' split it; else 'Street, City, ST ZIP'
    keeps 'City, ST ZIP' together on the last line."""
    lines = _lines(value)
    if len(lines) == 1:
        parts = [part.strip() for part in lines[0].split(",") if part.strip()]
        if len(parts) >= 3 and re.fullmatch(r"[A-Z]{2}\s+\d{5}(-\d{4})?", parts[-1]):
            return [*parts[:-2], f"{parts[-2]}, {parts[-1]}"]
    return lines


def row_values(row: pd.Series) -> dict[str, Any]:
    """One row of a tracker frame (or of deadlines) as {column name: value}.

    The frames' columns are the schema's names, all text; pandas-stubs types
    Series.to_dict's keys as any hashable, so the cast says what the schema knows.
    """
    return cast("dict[str, Any]", row.to_dict())


def _payer_row(payers: pd.DataFrame, payer: object, plan_type: object) -> tuple[int | None, Row]:
    if payers.empty or is_blank(payer):
        return None, {}
    same_payer = payers["payer"].astype("string").str.strip().str.casefold() == str(
        payer).strip().casefold()
    plans = payers["plan_type"].astype("string")
    for mask in (same_payer & (plans == str(plan_type)), same_payer & plans.isna()):
        rows = payers[mask.fillna(False)]
        if len(rows):
            return int(rows.index[0]), row_values(rows.iloc[0])
    return None, {}


def _column_title(tracker: Tracker, sheet: str, name: str) -> str:
    header = tracker.headers.get(sheet)
    if header is not None and name in header.labels:
        return header.labels[name]
    spec = next(s for s in SHEETS if s.name == sheet)
    return spec.column(name).title


def _evidence_where(item: object) -> Callable[[str], str]:
    return lambda name: (f"supply it: --set 'evidence[{item}]=...' (or the letter form in the "
                         "dashboard)")


class RequestIndex:
    """Requests by ID (case and spaces forgiven), each row read into a dict once."""

    def __init__(self, tracker: Tracker):
        self.tracker = tracker
        requests = tracker.requests
        keys = requests["request_id"].astype("string").str.strip().str.upper()
        self.rows: dict[str, int] = {}
        self.shared: dict[str, list[int]] = {}  # an ID on several rows: whose letter is it?
        for row, key in zip(requests.index, keys, strict=True):
            if not pd.isna(key):
                first = self.rows.setdefault(str(key), int(row))
                if first != int(row):
                    self.shared.setdefault(str(key), [first]).append(int(row))
        self._records: dict[int, dict[str, Any]] = {}
        self._payers: dict[tuple[str, str], tuple[int | None, Row]] = {}

    def payer(self, payer: object, plan_type: object) -> tuple[int | None, Row]:
        """The Payers row for a payer and plan type (cached): (Excel row or None, values)."""
        key = (str(payer), str(plan_type))
        if key not in self._payers:
            self._payers[key] = _payer_row(self.tracker.frames["Payers"], payer, plan_type)
        return self._payers[key]

    def find(self, request_id: str) -> tuple[int, dict[str, Any]]:
        """(Excel row, the request's values) or RequestNotFoundError."""
        key = str(request_id).strip().upper()
        if key in self.shared:
            rows = self.shared[key]
            raise DuplicateRequestIdError(
                f"request {request_id}: its ID is on Requests rows "
                f"{', '.join(map(str, rows[:-1]))} and {rows[-1]}, so which patient a letter "
                "is for cannot be told; give each request its own ID (patoolkit check lists "
                "them), then make the letter.")
        row = self.rows.get(key)
        if row is None:
            raise RequestNotFoundError(f"{self.tracker.path}: no request with ID "
                                       f"'{request_id}' on the Requests sheet.")
        if row not in self._records:
            values = self.tracker.requests.loc[row]
            assert isinstance(values, pd.Series)  # Excel row numbers label one row each
            self._records[row] = row_values(values)
        return row, self._records[row]


def build_context(tracker: Tracker, request_id: str, deadlines: Row, now: pd.Timestamp,
                  kind: LetterKind, supplied: Mapping[str, object] | None = None,
                  index: RequestIndex | None = None,
                  criteria: pd.DataFrame | None = None) -> dict[str, Any]:
    """Everything a template may use for one request, each namespace knowing its source.

    index and criteria (the request's documentation_checklist) save the lookups
    when many letters are made from one tracker.
    """
    index = index or RequestIndex(tracker)
    row_number, request = index.find(request_id)
    settings = tracker.settings
    supplied = dict(supplied or {})

    def in_requests(name: str) -> str:
        return (f"fill Requests row {row_number}, column "
                f"'{_column_title(tracker, 'Requests', name)}'")

    def in_settings(name: str) -> str:
        return f"fill the Settings sheet, key 'practice_{name}'"

    payer_row_number, payer = index.payer(request.get("payer"), request.get("plan_type"))

    def in_payers(name: str) -> str:
        title = _column_title(tracker, "Payers", name)
        if payer_row_number is None:
            return (f"add a row for payer '{request.get('payer')}' "
                    f"({request.get('plan_type') or 'any plan type'}) on the Payers sheet "
                    f"with column '{title}'")
        return f"fill Payers row {payer_row_number}, column '{title}'"

    def in_deadlines(name: str) -> str:
        return (f"this deadline does not apply to request {request_id} as the tracker stands "
                f"(see `patoolkit deadlines`); check its decision and dates on Requests row "
                f"{row_number}")

    def to_supply(name: str) -> str:
        return f"supply it: --set {name}=... (or the letter form in the dashboard)"

    context: dict[str, Any] = {
        "practice": Fields({key: settings.get(f"practice_{key}")
                            for key in ("name", "address", "phone", "fax")}, in_settings),
        "payer": Fields({"name": request.get("payer"), "plan_type": request.get("plan_type"),
                         "appeals_address": _address_lines(payer.get("appeals_address")),
                         "fax": payer.get("fax"), "phone": payer.get("phone"),
                         "portal": payer.get("portal")},
                        lambda name: in_requests("payer") if name == "name" else in_payers(name)),
        "patient": Fields({"name": request.get("patient_name"), "id": request.get("patient_id"),
                           "dob": _format(request.get("patient_dob")),
                           "member_id": request.get("member_id")},
                          lambda name: in_requests({"name": "patient_name", "id": "patient_id",
                                                    "dob": "patient_dob"}.get(name, name))),
        "provider": Fields({"name": request.get("ordering_provider"),
                            "npi": request.get("ordering_npi")},
                           lambda name: in_requests({"name": "ordering_provider",
                                                     "npi": "ordering_npi"}[name])),
        "request": Fields({name: _format(request.get(name)) for name in REQUESTS.column_names},
                          in_requests),
        "deadlines": Fields({**{name: _format(value) for name, value in deadlines.items()
                                if not name.startswith("basis_")},
                             "decision_basis": deadlines.get("basis_decision_due"),
                             **late_filing_fields(request, deadlines, now)},
                            in_deadlines, known=(*DEADLINES, *LATE_FILING_FIELDS,
                                                 "decision_timeframe")),
        "letter": Fields({"date": _format(now.normalize()), "title": kind.title,
                          "kind": kind.key}, lambda name: "set by patoolkit"),
    }
    given: Any = supplied.pop("evidence", None) or {}
    evidence = {str(key).strip().casefold(): value for key, value in given.items()}
    checklist = criteria if criteria is not None else documentation_checklist(
        tracker.frames["Criteria"], request.get("service_category"), request.get("payer"))
    context["criteria"] = [
        Fields({"item": item, "required": "Yes" if required else "No",
                "evidence": evidence.get(str(item).strip().casefold())},
               _evidence_where(item))
        for item, required in zip(checklist["item"], checklist["required"], strict=True)]
    context.update(supplied)
    context["_to_supply"] = to_supply
    context["_request_row"] = row_number
    return context


LATE_FILING_FIELDS = ("filing_deadline_passed", "good_cause_rule")


def late_filing_fields(request: Row, deadlines: Row, now: pd.Timestamp) -> dict[str, object]:
    """deadlines.filing_deadline_passed (the date, only when an appeal made now is late) and
    deadlines.good_cause_rule (the citation where the law gives one; else the plan decides)."""
    if not filing_late(deadlines, now):
        return dict.fromkeys(LATE_FILING_FIELDS)
    return {"filing_deadline_passed": _format(deadlines.get("appeal_filing_deadline")),
            "good_cause_rule": GOOD_CAUSE.get(str(request.get("plan_type")))}


def parse_set(values: Iterable[str], fields: TemplateFields | None = None) -> dict[str, object]:
    """--set name=value pairs; list fields split on newlines or ';'; evidence[Item]=..."""
    supplied: dict[str, object] = {}
    lists = {f.name for f in fields.supplied if f.is_list} if fields else set()
    evidence: dict[str, str] = {}
    for pair in values:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise LetterError(f"--set '{pair}': write it as name=value.")
        if match := re.fullmatch(r"evidence\[(.+)\]", name):
            evidence[match.group(1).strip()] = value.strip()
        elif not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in NAMESPACES:
            raise LetterError(f"--set '{name}': not a field you can supply; "
                              "`patoolkit templates` lists them.")
        else:
            supplied[name] = _lines(value) if name in lists else value.strip()
    if evidence:
        supplied["evidence"] = evidence
    return supplied


def clean_supplied(values: Mapping[str, object], fields: TemplateFields) -> dict[str, object]:
    """Form or --set values as the template wants them; blanks dropped (they read as missing)."""
    out: dict[str, object] = {}
    lists = {f.name for f in fields.supplied if f.is_list}
    for name, value in values.items():
        if name == "evidence" and isinstance(value, Mapping):
            out[name] = {k: v for k, v in value.items() if not is_blank(v)}
        elif name in lists:
            if items := _lines(value):
                out[name] = items
        elif not is_blank(value):
            out[name] = str(value).strip()
    return out
