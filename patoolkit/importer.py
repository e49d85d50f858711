"""Import the tracker a practice already has: any spreadsheet or CSV of its PA requests.

1. read_source: the rows of an .xlsx, .xls or .csv (BOM, ; or tab, multi-line
   cells), the header found among the first rows.
2. propose_mapping: every source column to a contract column, with a confidence
   and the reason, from header matching and the synonym table in
   data/import_synonyms.toml (or a client's saved mapping), then from what the
   values look like. Columns with no contract column stay as extra columns;
   computed ones (days pending) are recognised and left out.
3. transform: the values as a person would read them: US and ISO dates, "DOE,
   JANE" as "Doe, Jane", from-to code columns into codes, statuses and yes/no
   flags through the value map, units left into units used. A value that does
   not fit its column is kept in the notes, never dropped.
4. plan_import: each row new, already present (same request ID, same auth
   number, or same patient + payer + codes + date) or skipped with the reason.
5. import_into: the new rows through the safe writer in one save.

Nothing is lost: every source row is imported, found present, or listed with
the reason, and the source file and row number go with each imported request.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import PAToolkitError, UnusableTrackerError
from .schema import LISTS, REQUESTS, normalize_header
from .validation import Collector, check_requests, convert_column

if TYPE_CHECKING:
    from .tracker import Tracker

SYNONYMS_FILE = Path(__file__).resolve().parent / "data" / "import_synonyms.toml"
EXTRA = "(extra column)"
COMPUTED = "(computed: not imported)"
SPECIAL = ("codes_from", "codes_to", "units_left")
SOURCE_FILE_COLUMN = "Import Source"
SOURCE_ROW_COLUMN = "Import Source Row"
HEADER_SEARCH_ROWS = 15
MAX_RANGE = 50  # a from-to code range longer than this is kept as its two ends
DATE_COLUMNS = {column.name for column in REQUESTS.columns if column.kind in ("date", "datetime")}


class ImportProblemError(PAToolkitError):
    """The source or the mapping cannot be used as given; nothing was written."""


# --- reading the source -------------------------------------------------------------------

@dataclass
class Source:
    path: Path
    sheet: str
    header_row: int  # the row number the file shows
    headers: list[str]
    rows: pd.DataFrame  # one column per header (as text or the cell's value), index = file row


def _csv_rows(path: Path, data: bytes) -> list[list[object]]:
    from .claims import _csv_rows as read

    return read(path, data)  # type: ignore[return-value]


VALUE_LIKE = re.compile(r"[-+$(]?\d[\d,./: ()-]*(?:am|pm|AM|PM)?")  # amounts, dates, numbers


def _header_index(rows: list[list[object]]) -> int:
    """The header: among the first rows, the one that reads most like headings.

    A cell scores 3 when it is a heading patoolkit knows (a contract name or a
    synonym), 1 for other text, and -2 when it looks like a value (a number, a
    date, an amount, typed or as text, as every cell of a CSV is). A title row
    ("Authorizations Report", "Run 11/27/2026") or a data row whose every cell is
    filled loses to a header with a blank heading or two. Ties go to the first.
    """
    known = _lookup()
    best, best_score = 0, -1
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = 0
        for cell in row:
            if isinstance(cell, str) and cell.strip():
                text = cell.strip()
                score += (-2 if VALUE_LIKE.fullmatch(text) else
                          3 if normalize_header(text) in known else 1)
            elif isinstance(cell, int | float | dt.date) and not isinstance(cell, bool):
                score -= 2
        if score > best_score:
            best, best_score = index, score
    return best


def read_source(path: Path | str, sheet: str | None = None, data: bytes | None = None
                ) -> Source:
    """The source's header and rows; raises UnusableTrackerError with what to do."""
    path = Path(path)
    if data is None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UnusableTrackerError(f"{path}: no such file.") from None
    suffix = path.suffix.lower()
    if suffix == ".csv" or (suffix not in (".xlsx", ".xlsm", ".xls") and not data.startswith(
            (b"PK", b"\xd0\xcf"))):
        rows, sheet_name = _csv_rows(path, data), path.name
    else:
        from python_calamine import CalamineWorkbook

        try:
            import io

            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception as error:
            raise UnusableTrackerError(f"{path}: cannot be read as a spreadsheet "
                                       f"({type(error).__name__}); save it as .xlsx or "
                                       ".csv.") from None
        names = list(book.sheet_names)
        if sheet is not None and sheet not in names:
            raise UnusableTrackerError(f"{path}: no sheet '{sheet}' (sheets: "
                                       + ", ".join(names) + ").")
        sheet_name = sheet or names[0]
        rows = [list(row) for row in
                book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)]
    if not rows:
        raise UnusableTrackerError(f"{path}: is empty; nothing to import.")
    index = _header_index(rows)
    width = max(len(row) for row in rows)
    headers = [str(cell).strip() if cell is not None and str(cell).strip() else
               f"Column {position + 1}" for position, cell in
               enumerate(rows[index] + [None] * (width - len(rows[index])))]
    seen: dict[str, int] = {}
    for position, name in enumerate(headers):  # two columns with one heading stay apart
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            headers[position] = f"{name} ({seen[name]})"
    body = [[re.sub(r"\r\n?", "\n", cell) if isinstance(cell, str) else cell  # one newline
             for cell in row] + [None] * (width - len(row)) for row in rows[index + 1:]]
    frame = pd.DataFrame(body, columns=headers, dtype=object)
    frame.index = pd.RangeIndex(index + 2, index + 2 + len(frame))
    blank = frame.apply(lambda column: column.map(
        lambda value: value is None or (isinstance(value, str) and not value.strip())))
    frame = frame[~blank.all(axis=1)]
    return Source(path, sheet_name, index + 1, headers, frame)


# --- the mapping --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def synonyms() -> dict[str, Any]:
    return tomllib.loads(SYNONYMS_FILE.read_text(encoding="utf-8"))


@dataclass
class ColumnChoice:
    """One source column's fate: target (contract column, special, EXTRA or COMPUTED)."""

    source: str
    target: str
    confidence: float
    reason: str


@dataclass
class ImportMapping:
    columns: list[ColumnChoice]
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> source -> value

    def target_of(self, source: str) -> str:
        return next((m.target for m in self.columns if m.source == source), EXTRA)

    def sources_of(self, target: str) -> list[str]:
        return [m.source for m in self.columns if m.target == target]

    def to_toml(self) -> str:
        """The mapping a consultant corrected, saved for the client's next export."""
        quote = json.dumps  # TOML basic strings accept JSON's escapes
        lines = ["# patoolkit import mapping: source column = contract column, or",
                 f"# {quote(EXTRA)} to keep it as an extra column, {quote(COMPUTED)} to leave "
                 "it out.", "[columns]"]
        lines += [f"{quote(m.source)} = {quote(m.target)}" for m in self.columns]
        for column, table in sorted(self.values.items()):
            lines += ["", f"[values.{column}]"]
            lines += [f"{quote(source)} = {quote(value)}" for source, value in
                      sorted(table.items())]
        return "\n".join(lines) + "\n"


def _value_maps(saved: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    maps = {column: {str(k).strip().casefold(): str(v) for k, v in table.items()}
            for column, table in synonyms().get("values", {}).items()}
    for column, table in ((saved or {}).get("values") or {}).items():
        maps.setdefault(column, {}).update({str(k).strip().casefold(): str(v)
                                            for k, v in table.items()})
    return maps


def _lookup() -> dict[str, tuple[str, float, str]]:
    """normalised heading -> (target, confidence, reason)."""
    table: dict[str, tuple[str, float, str]] = {}
    data = synonyms()
    for target, words in data.get("columns", {}).items():
        for word in words:
            table.setdefault(normalize_header(word), (target, 0.9, f"synonym '{word}'"))
    for target, words in data.get("special", {}).items():
        for word in words:
            table.setdefault(normalize_header(word), (target, 0.9, f"synonym '{word}'"))
    for word in data.get("computed", {}).get("headings", []):
        table.setdefault(normalize_header(word), (COMPUTED, 0.9, f"'{word}' is computed"))
    for column in REQUESTS.columns:  # the contract's own names win
        for name in (column.name, column.title, *column.aliases):
            table[normalize_header(name)] = (column.name, 1.0, "the contract's own name")
    return table


def _looks_like(values: pd.Series) -> tuple[str, str] | None:
    """A guess from the values when the heading says nothing: (target, what they look like)."""
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""].head(50)
    if text.empty:
        return None
    share = lambda pattern: text.str.fullmatch(pattern).mean()  # noqa: E731
    if share(r"\d{10}") > 0.8:
        return "ordering_npi", "ten-digit numbers (NPIs)"
    if share(r"[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?(,\s*[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?)*")\
            > 0.8:
        return "icd10", "ICD-10-CM codes"
    if share(r"(\d{4}[0-9A-Z]|[A-V]\d{4})(,\s*(\d{4}[0-9A-Z]|[A-V]\d{4}))*") > 0.8:
        return "codes", "CPT or HCPCS codes"
    return None


def propose_mapping(source: Source, saved: Mapping[str, Any] | None = None) -> ImportMapping:
    """Every source column with its target, confidence and reason (saved mapping first)."""
    table = _lookup()
    chosen: list[ColumnChoice] = []
    saved_columns = (saved or {}).get("columns") or {}
    for header in source.headers:
        if header in saved_columns:
            chosen.append(ColumnChoice(header, str(saved_columns[header]), 1.0,
                                   "the client's saved mapping"))
            continue
        key = normalize_header(re.sub(r"\(\d+\)$", "", header))
        if key in table:
            target, confidence, reason = table[key]
            chosen.append(ColumnChoice(header, target, confidence, reason))
            continue
        words = [w for w in re.split(r"[^a-z0-9]+", header.lower()) if w]
        partial = next(((target, f"contains '{phrase}'") for phrase, (target, _, _) in
                        sorted(table.items(), key=lambda item: -len(item[0]))
                        if len(phrase) >= 5 and phrase in "".join(words)), None)
        if partial:
            chosen.append(ColumnChoice(header, partial[0], 0.6, partial[1]))
            continue
        guess = _looks_like(source.rows[header])
        if guess:
            chosen.append(ColumnChoice(header, guess[0], 0.5, f"the values look like {guess[1]}"))
        else:
            chosen.append(ColumnChoice(header, EXTRA, 0.0, "no contract column matches; kept as an "
                                   "extra column"))
    # one source per target: the most confident keeps it, the others become extra columns
    best: dict[str, ColumnChoice] = {}
    for mapping in chosen:
        if mapping.target in (EXTRA, COMPUTED):
            continue
        holder = best.get(mapping.target)
        if holder is None or mapping.confidence > holder.confidence:
            if holder is not None:
                holder.target, holder.reason = EXTRA, (
                    f"'{mapping.source}' matches {mapping.target} better; kept as extra")
            best[mapping.target] = mapping
        else:
            mapping.reason = f"'{holder.source}' matches {mapping.target} better; kept as extra"
            mapping.target = EXTRA
    return ImportMapping(chosen, _value_maps(saved))


def load_mapping(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportProblemError(f"{path}: no such mapping file.") from None
    except tomllib.TOMLDecodeError as error:
        raise ImportProblemError(f"{path}: not a valid mapping file ({error}).") from None
    allowed = set(REQUESTS.column_names) | set(SPECIAL) | {EXTRA, COMPUTED}
    for source, target in (data.get("columns") or {}).items():
        if target not in allowed:
            raise ImportProblemError(f"{path}: column '{source}' maps to '{target}', which is "
                                     "not a Requests column; use one of "
                                     + ", ".join(sorted(allowed)))
    return data


# --- transforming the values ----------------------------------------------------------------

def _text(values: pd.Series) -> pd.Series:
    from .validation import to_text

    return to_text(values)


def readable_name(values: pd.Series) -> pd.Series:
    """'DOE, JANE' -> 'Doe, Jane'; names typed in mixed case stay as typed."""
    text = _text(values)
    shouting = text.str.fullmatch(r"[^a-z]*[A-Z][^a-z]*").fillna(False)
    titled = text.str.title().str.replace(r"\b(Mc|O')(\w)", lambda m: m.group(1)
                                          + m.group(2).upper(), regex=True)
    return text.where(~shouting, titled)


def _expand_range(low: str, high: str) -> str:
    if not high or low == high:
        return low
    if low[:4].isdigit() and high[:4].isdigit() and low[4:] == high[4:] and \
            0 < int(high[:4]) - int(low[:4]) < MAX_RANGE and len(low) == len(high) == 5:
        return ", ".join(f"{number:04d}{low[4:]}" for number in
                         range(int(low[:4]), int(high[:4]) + 1))
    if low.isdigit() and high.isdigit() and 0 < int(high) - int(low) < MAX_RANGE:
        return ", ".join(str(number).zfill(len(low)) for number in range(int(low),
                                                                        int(high) + 1))
    return f"{low}, {high}"


@dataclass
class RowNote:
    row: int  # the source file's row number
    column: str | None  # the source heading
    message: str


@dataclass
class Transformed:
    values: pd.DataFrame  # typed contract columns, index = source row
    extras: pd.DataFrame  # extra columns by source heading, index = source row
    notes: list[RowNote]  # values kept in notes (they did not fit their column)
    skipped: dict[int, str]  # source row -> why it cannot be imported


def transform(source: Source, mapping: ImportMapping, lists: Mapping[str, tuple[str, ...]]
              | None = None) -> Transformed:
    """The source rows as typed contract values; what did not fit goes to the notes."""
    lists = lists or {name: tuple(values) for name, values in LISTS.items()}
    rows = source.rows
    raw: dict[str, pd.Series] = {}
    origin: dict[str, str] = {}
    for mapping_row in mapping.columns:
        if mapping_row.target not in (EXTRA, COMPUTED):
            raw[mapping_row.target] = rows[mapping_row.source]
            origin[mapping_row.target] = mapping_row.source
    notes: list[RowNote] = []
    kept = pd.Series("", index=rows.index, dtype="string")  # text added to the notes

    def keep(mask: pd.Series, column: str, values: pd.Series, why: str) -> None:
        nonlocal kept
        mask = mask.fillna(False)
        for row, value in values[mask].items():
            notes.append(RowNote(int(row), origin.get(column, column), f"'{value}' {why}"))
        label = origin.get(column, column)
        addition = ("import: " + label + " '" + values.astype("string") + "' " + why)
        kept = kept.mask(mask, (kept + "; ").where(kept != "", "") + addition)

    # values through the value maps (status, decision, urgency), before typing
    for column, table in mapping.values.items():
        if column in raw:
            text = _text(raw[column])
            mapped = text.str.strip().str.casefold().map(table)
            allowed = {value.casefold(): value for value in lists.get(
                REQUESTS.column(column).enum or "", ())}
            direct = text.str.strip().str.casefold().map(allowed)
            result = direct.fillna(mapped)
            keep(text.notna() & result.isna(), column, text,
                 f"is not a {column} value patoolkit knows; add it to [values.{column}] in "
                 "the mapping")
            raw[column] = result
    if "patient_name" in raw:
        raw["patient_name"] = readable_name(raw["patient_name"])
    if "codes_from" in raw:
        low = _text(raw.pop("codes_from")).str.upper().str.strip()
        high = _text(raw.pop("codes_to")).str.upper().str.strip() if "codes_to" in raw else \
            pd.Series(pd.NA, index=rows.index, dtype="string")
        ranged = pd.Series([_expand_range(str(a), "" if pd.isna(b) else str(b))
                            if not pd.isna(a) else pd.NA for a, b in zip(low, high, strict=True)],
                           index=rows.index, dtype="string")
        raw["codes"] = ranged if "codes" not in raw else _text(raw["codes"]).fillna(ranged)
    if "codes_to" in raw:  # a 'to' code with no 'from' column: kept, not dropped
        upper = _text(raw.pop("codes_to"))
        keep(upper.notna(), "codes_to", upper,
             "is a 'to' code with no 'from' code column; map the 'from' column too")
    if "units_left" in raw:
        left_text = _text(raw.pop("units_left"))
        left = pd.to_numeric(left_text, errors="coerce")
        counted = pd.Series(False, index=rows.index)
        if "units_authorized" in raw and "units_used" not in raw:
            authorized = pd.to_numeric(_text(raw["units_authorized"]), errors="coerce")
            used = authorized - left
            counted = (authorized.notna() & left.notna() & (left >= 0) & (used >= 0)
                       & (used % 1 == 0)).fillna(False).astype(bool)
            raw["units_used"] = used.where(counted)
        keep(left_text.notna() & ~counted, "units_left", left_text,
             "(units left) could not give units used: that needs the units authorized, a "
             "whole number of units left no larger than them, and no units used column")
    # a decision without a status: the status follows the decision
    if "decision" in raw and "status" not in raw:
        raw["status"] = raw["decision"]
    # an authorization number with no status: an authorizations report lists approvals
    if "auth_number" in raw:
        authorized = _text(raw["auth_number"]).notna()
        status = _text(raw["status"]) if "status" in raw else pd.Series(
            pd.NA, index=rows.index, dtype="string")
        raw["status"] = status.mask(status.isna() & authorized, "Approved")
    labels = {name: origin.get(name, name) for name in REQUESTS.column_names}
    typed: dict[str, pd.Series] = {}
    empty = pd.Series([None] * len(rows), index=rows.index, dtype=object)
    for spec in REQUESTS.columns:
        given = raw.get(spec.name)
        values = (empty if given is None else given.astype(object)
                  .where(pd.notna(given), None))
        cell_problems = Collector(source.sheet, labels)
        converted = convert_column(spec, values, dict(lists), cell_problems)
        reasons = {int(problem.row): problem.message for problem in cell_problems.problems
                   if problem.severity == "error" and problem.row is not None}
        if reasons:
            mask = pd.Series(rows.index.isin(sorted(reasons)), index=rows.index)
            for row in sorted(reasons):
                notes.append(RowNote(row, labels[spec.name],
                                     f"'{values.get(row)}' kept in the notes: {reasons[row]}"))
            addition = ("import: " + labels[spec.name] + " '"
                        + values.astype("string") + "' did not fit")
            kept = kept.mask(mask, (kept + "; ").where(kept != "", "") + addition)
            converted = converted.mask(mask)
        typed[spec.name] = converted
    frame = pd.DataFrame(typed, index=rows.index)
    frame.index.name = "row"
    extra_notes = kept.where(kept != "")
    frame["notes"] = _text(frame["notes"]).str.cat(extra_notes, sep="\n", na_rep="") \
        .str.strip().replace("", pd.NA) if extra_notes.notna().any() else frame["notes"]
    # rows the tracker's own checks would refuse (a decision before the submission, ...)
    check = Collector(source.sheet, labels)
    placeholder = pd.Series("import-row-" + frame.index.astype(str), index=frame.index,
                            dtype="string")
    check_requests(frame.assign(request_id=frame["request_id"].fillna(placeholder)), check)
    skipped = {int(problem.row): f"{problem.column}: {problem.message}"
               for problem in check.problems if problem.severity == "error"
               and problem.row is not None}
    extras = rows[[m.source for m in mapping.columns if m.target == EXTRA]].copy()
    return Transformed(frame, extras, notes, skipped)


# --- matching with what the tracker already holds ---------------------------------------------

def _match_keys(frame: pd.DataFrame) -> pd.Series:
    """patient + payer + codes + first date: how a request is recognised without an ID."""
    who = frame["patient_id"].astype("string").str.strip().str.upper().fillna(
        frame["patient_name"].astype("string").str.strip().str.casefold())
    payer = frame["payer"].astype("string").str.strip().str.casefold()
    codes = frame["codes"].astype("string").str.upper().str.replace(r"[^A-Z0-9,]", "",
                                                                    regex=True)
    codes = codes.str.split(",").map(lambda parts: ",".join(sorted(p for p in parts if p))
                                     if isinstance(parts, list) else pd.NA).astype("string")
    day = frame["submitted_at"].fillna(frame["auth_effective_date"]).fillna(
        frame["scheduled_service_date"]).dt.strftime("%Y-%m-%d")
    key = who + "|" + payer + "|" + codes.fillna("") + "|" + day.fillna("")
    return key.where(who.notna() & payer.notna() & day.notna())


@dataclass
class ImportPlan:
    source: Source
    mapping: ImportMapping
    transformed: Transformed
    new_rows: list[int]  # source rows to add
    present: dict[int, str]  # source row -> the request already in the tracker
    skipped: dict[int, str]  # source row -> why not

    def report(self) -> str:
        total = len(self.source.rows)
        lines = [f"{self.source.path.name}: {total} rows: {len(self.new_rows)} to import, "
                 f"{len(self.present)} already in the tracker, {len(self.skipped)} skipped."]
        for row, request_id in sorted(self.present.items()):
            lines.append(f"  row {row}: already present as {request_id}")
        for row, why in sorted(self.skipped.items()):
            lines.append(f"  row {row}: skipped: {why}")
        for note in self.transformed.notes[:50]:
            lines.append(f"  row {note.row}, column '{note.column}': {note.message}")
        if len(self.transformed.notes) > 50:
            lines.append(f"  ... and {len(self.transformed.notes) - 50} more values kept in "
                         "the notes")
        return "\n".join(lines)


def plan_import(source: Source, mapping: ImportMapping, tracker: Tracker) -> ImportPlan:
    transformed = transform(source, mapping, tracker.lists)
    values = transformed.values
    existing = tracker.requests
    present: dict[int, str] = {}
    ids = existing["request_id"].astype("string").str.strip().str.upper()
    by_id = dict(zip(ids, existing["request_id"].astype(str), strict=True))
    auths = existing.dropna(subset=["auth_number"])
    by_auth = dict(zip(auths["auth_number"].astype("string").str.strip().str.upper(),
                       auths["request_id"].astype(str), strict=True))
    keys = _match_keys(existing)
    by_key = dict(zip(keys.dropna(), existing.loc[keys.notna(), "request_id"].astype(str),
                      strict=True))
    incoming_ids = values["request_id"].astype("string").str.strip().str.upper()
    incoming_auth = values["auth_number"].astype("string").str.strip().str.upper()
    incoming_keys = _match_keys(values)
    not_a_request = values[["patient_id", "patient_name", "payer", "codes"]].isna().all(axis=1)
    seen: dict[str, int] = {}
    new_rows = []
    skipped = dict(transformed.skipped)
    for row in values.index:
        if row in skipped:
            continue
        match = (by_id.get(str(incoming_ids[row])) if not pd.isna(incoming_ids[row]) else None) \
            or (by_auth.get(str(incoming_auth[row])) if not pd.isna(incoming_auth[row])
                else None) \
            or (by_key.get(str(incoming_keys[row])) if not pd.isna(incoming_keys[row])
                else None)
        if match:
            present[int(row)] = match
            continue
        key = next((str(k) for k in (incoming_ids[row], incoming_auth[row], incoming_keys[row])
                    if not pd.isna(k)), None)
        if key is not None and key in seen:
            skipped[int(row)] = f"the same request as row {seen[key]} of this file"
            continue
        if key is not None:
            seen[key] = int(row)
        if not_a_request[row]:
            skipped[int(row)] = "no patient, payer or codes: not a request"
            continue
        new_rows.append(int(row))
    return ImportPlan(source, mapping, transformed, new_rows, present, skipped)


def _plain(value: object) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[arg-type]
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def import_into(plan: ImportPlan, tracker: Tracker, by: str = "import") -> list[str]:
    """Write the plan's new rows through the safe writer in one save; their request IDs."""
    from .writer import add_requests

    if not plan.new_rows:
        return []
    values = plan.transformed.values.loc[plan.new_rows]
    extras = plan.transformed.extras.loc[plan.new_rows]
    rows = [{name: _plain(value) for name, value in record.items() if _plain(value) is not None}
            for record in values.to_dict("records")]
    extra_rows = [{**{name: _plain(value) for name, value in record.items()},
                   SOURCE_FILE_COLUMN: plan.source.path.name, SOURCE_ROW_COLUMN: row}
                  for row, record in zip(plan.new_rows, extras.to_dict("records"),
                                         strict=True)]
    notes = [f"{plan.source.path.name} row {row}" for row in plan.new_rows]
    results = add_requests(tracker.path, rows, by, tracker.fingerprint, extra_rows, notes)
    return [result.request_id for result in results]


def preview(plan: ImportPlan, rows: int = 5) -> pd.DataFrame:
    """The first new rows as they will land: the contract columns that hold something."""
    values = plan.transformed.values.loc[plan.new_rows[:rows]]
    return values.loc[:, values.notna().any()]


def mapping_table(mapping: ImportMapping) -> pd.DataFrame:
    return pd.DataFrame([{"source column": m.source, "contract column": m.target,
                          "confidence": m.confidence, "why": m.reason}
                         for m in mapping.columns])


def targets() -> list[str]:
    """What a source column can be mapped to (the wizard's dropdowns)."""
    return [*REQUESTS.column_names, *SPECIAL, EXTRA, COMPUTED]


def apply_choices(mapping: ImportMapping, choices: Mapping[str, str]) -> ImportMapping:
    """The mapping with a person's corrections (source column -> target)."""
    columns = [ColumnChoice(m.source, choices.get(m.source, m.target),
                        1.0 if m.source in choices and choices[m.source] != m.target
                        else m.confidence,
                        "corrected by hand" if m.source in choices and
                        choices[m.source] != m.target else m.reason)
               for m in mapping.columns]
    taken: dict[str, str] = {}
    for m in columns:
        if m.target in (EXTRA, COMPUTED):
            continue
        if m.target in taken:
            raise ImportProblemError(f"'{m.source}' and '{taken[m.target]}' both map to "
                                     f"{m.target}; choose one.")
        taken[m.target] = m.source
    return ImportMapping(columns, mapping.values)
