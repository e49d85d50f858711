"""Import the tracker a practice already has: any spreadsheet or CSV of its PA requests.

1. read_source: the rows of an .xlsx, .xls or .csv (BOM, ; or tab, multi-line
   cells), the header found among the first rows.
2. propose_mapping: every source column to a contract column, with a confidence
   and the reason, from header matching and the synonym table in
   data/import_synonyms.toml (or a client's saved mapping), then from what the
   values look like. Columns with no contract column stay as extra columns;
   computed ones (days pending) are recognised and left out.
3. transform: the values as a person would read them: US and ISO dates, "DOE,
   JANE" as "Doe, Jane", from-to code columns and code ranges (97110-97140)
   into codes, a state's own service codes kept with a warning, one cell of
   dates approved into the effective and expiration dates, statuses and yes/no
   flags through the value map, units left into units used. A value that does
   not fit its column is kept in the notes, never dropped.
4. plan_import: each row new, already present (same request ID, same auth
   number for the same patient, or same patient + payer + codes + dates, but
   never a request with another request ID) or
   skipped with the reason; a row with gaps (no patient, payer or codes) but a
   request ID, decision or auth number is imported and its gaps listed.
5. import_into: the new rows through the safe writer in one save.

read_source, plan_import and import_into take an optional `progress(done, total, stage)`
(Progress), for a page's progress bar: called a few times per stage, never per row.

Nothing is lost: every source row is imported, found present, or listed with
the reason, and the source file and row number go with each imported request.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .codes import CODE_PARTS, looks_like_service_code, procedure_code_problem
from .errors import ImportProblemError, UnusableSourceError
from .intake import patient_key
from .schema import LISTS, REQUESTS, is_missing, normalize_header
from .tracker.cells import Collector, check_requests, convert_column
from .tracker.sources import read_file, read_rows

if TYPE_CHECKING:
    from .tracker.read import Tracker

SYNONYMS_FILE = Path(__file__).resolve().parent / "data" / "import_synonyms.toml"
EXTRA = "(extra column)"
COMPUTED = "(computed: not imported)"
SPECIAL = ("codes_from", "codes_to", "units_left", "auth_date_range")
SOURCE_FILE_COLUMN = "Import Source"
SOURCE_ROW_COLUMN = "Import Source Row"
HEADER_SEARCH_ROWS = 15
# more source columns than this, and a mapping must name the ones to keep: each column no
# contract column matches would become a tracker column (a 10,000-column file, 10,000)
MAX_SOURCE_COLUMNS = 200
MAX_RANGE = 50  # a code range of more codes than this keeps its two ends (and a note)
DATE_COLUMNS = {column.name for column in REQUESTS.columns if column.kind in ("date", "datetime")}
_DATE = r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"
DATE_RANGE = re.compile(rf"^\s*({_DATE})\s*(?:-|\u2013|to|thru|through)\s*({_DATE})\s*$",
                        re.IGNORECASE)  # 01/05/2026-03/31/2026, 1/5/26 - 3/31/26


# --- reading the source -------------------------------------------------------------------

@dataclass
class Source:
    path: Path
    sheet: str
    header_row: int  # the row number the file shows
    headers: list[str]
    rows: pd.DataFrame  # one column per header (as text or the cell's value), index = file row
    warnings: list[str] = field(default_factory=list)  # about the whole file (its encoding)


Progress = Callable[[int, int, str], None]
"""progress(done, total, stage): `done` of `total` rows, `stage` in words. read_source
calls it once its rows are read ("read"); plan_import before and after checking them
("checking", "checked"); import_into before writing ("writing"), as each chunk of rows is
made into the workbook's XML ("writing", done growing), and once the file is saved
("saved", done == total). Within a call, done never goes down and ends at total."""


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
                          3 if _known_heading(known, text) else 1)
            elif isinstance(cell, int | float | dt.date) and not isinstance(cell, bool):
                score -= 2
        if score > best_score:
            best, best_score = index, score
    return best


def read_source(path: Path | str, sheet: str | None = None, data: bytes | None = None,
                progress: Progress | None = None) -> Source:
    """The source's header and rows; raises UnusableSourceError with what to do."""
    path = Path(path)
    if data is None:
        data = read_file(path, UnusableSourceError)
    found = read_rows(data, str(path), path, sheet=sheet, error=UnusableSourceError,
                      nothing_to="import")
    del data  # the file's bytes, once read into rows
    rows, sheet_name, warnings, from_text = (found.rows, found.sheet, found.warnings,
                                             found.from_text)
    del found
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
    body: list[list[object]] = []
    numbers: list[int] = []  # the row number the file shows
    for number, row in enumerate(rows[index + 1:], start=index + 2):
        if _blank(row):
            continue
        if len(row) < width:
            row = row + [None] * (width - len(row))
        body.append(row if from_text else [
            re.sub(r"\r\n?", "\n", cell) if isinstance(cell, str) and "\r" in cell else cell
            for cell in row])  # one kind of line break
        numbers.append(number)
    # one 2D array, not pandas' copy of it per column: 180 MB less at 350,000 rows
    cells = np.array(body, dtype=object).reshape(len(body), width)
    del body, rows
    _share_repeated(cells)
    frame = pd.DataFrame(cells, columns=headers, dtype=object, copy=False)
    frame.index = pd.Index(numbers, dtype="int64")
    if progress is not None:
        progress(len(frame), len(frame), "read")
    return Source(path, sheet_name, index + 1, headers, frame, warnings)


REPEATED_SAMPLE = 2_000  # rows looked at to tell a column of a few repeated values


def _share_repeated(cells: np.ndarray) -> None:
    """One string object for each distinct value of a column that repeats a few values
    (payer, status, codes, Y/N flags): a CSV reader makes a new string per cell, and
    300,000 rows of 'Summit Health Plan' cost 25 MB where one would do."""
    for column in range(cells.shape[1]):
        values = cells[:, column]
        if len(set(values[:REPEATED_SAMPLE].tolist())) > REPEATED_SAMPLE // 10:
            continue  # names, notes, IDs: each row its own
        shared: dict[object, object] = {}
        cells[:, column] = [shared.setdefault(value, value) for value in values.tolist()]


def _blank(row: list[object]) -> bool:
    """No value in the row: every cell None or spaces (a CSV row's cells are all text)."""
    try:
        return not "".join(row).strip()  # type: ignore[arg-type]
    except TypeError:
        return all(cell is None or (isinstance(cell, str) and not cell.strip())
                   for cell in row)


# --- the mapping --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def synonyms() -> dict[str, Any]:
    return tomllib.loads(SYNONYMS_FILE.read_text(encoding="utf-8"))


@dataclass
class ColumnChoice:
    """One source column's fate: target (contract column, special, EXTRA or COMPUTED).

    contested is the target a column lost to another column (it is then EXTRA).
    """

    source: str
    target: str
    confidence: float
    reason: str
    contested: str = ""


@dataclass
class ImportMapping:
    columns: list[ColumnChoice]
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> source -> value
    left_out: int = 0  # source columns a saved mapping did not name (over MAX_SOURCE_COLUMNS)

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


def _number_sign_key(text: str) -> str:
    """'Member #' -> 'member#': the '#' says a number ('Member' alone is a name)."""
    return re.sub(r"[^0-9a-z#]", "", text.lower())


def _lookup() -> dict[str, tuple[str, float, str]]:
    """normalised heading (and, for headings with '#', the '#' kept) -> (target, confidence,
    reason). Words without '#' claim their key first, so 'Member' stays the name even
    though 'Member #' (the member ID) normalises to the same letters."""
    table: dict[str, tuple[str, float, str]] = {}
    data = synonyms()
    words = [(target, word, f"synonym '{word}'") for group in ("columns", "special")
             for target, group_words in data.get(group, {}).items() for word in group_words]
    words += [(COMPUTED, word, f"'{word}' is computed")
              for word in data.get("computed", {}).get("headings", [])]
    for target, word, reason in sorted(words, key=lambda item: "#" in item[1]):
        if "#" in word:
            table.setdefault(_number_sign_key(word), (target, 0.9, reason))
        table.setdefault(normalize_header(word), (target, 0.9, reason))
    for column in REQUESTS.columns:  # the contract's own names win
        for name in (column.name, column.title, *column.aliases):
            table[normalize_header(name)] = (column.name, 1.0, "the contract's own name")
    return table


def _known_heading(table: Mapping[str, tuple[str, float, str]], header: str
                   ) -> tuple[str, float, str] | None:
    if "#" in header and _number_sign_key(header) in table:
        return table[_number_sign_key(header)]
    return table.get(normalize_header(header))


def _looks_like(values: pd.Series) -> tuple[str, str] | None:
    """A guess from the values when the heading says nothing: (target, what they look like)."""
    given = values.dropna()
    for sample in (given.head(1000), given):  # the first 50 filled cells, usually early
        text = sample.astype(str).str.strip()
        text = text[text != ""].head(50)
        if len(text) == 50:
            break
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
    headers = source.headers
    if len(headers) > MAX_SOURCE_COLUMNS:
        if not saved_columns:
            raise ImportProblemError(
                f"{source.path.name} has {len(headers):,} columns, more than the "
                f"{MAX_SOURCE_COLUMNS} an import proposes a mapping for (each column that "
                "matches no Requests column would become a column of the tracker). Name the "
                "columns to keep in a mapping file, one line each under [columns] ("
                '"Pat Name" = "patient_name" to map one, "Location" = "(extra column)" to '
                "keep one as it is), and import again with it: patoolkit import FILE --into "
                "TRACKER --map MAPPING.toml. The columns it does not name are left out.")
        headers = [header for header in headers if header in saved_columns]
    for header in headers:
        if header in saved_columns:
            chosen.append(ColumnChoice(header, str(saved_columns[header]), 1.0,
                                   "the client's saved mapping"))
            continue
        known = _known_heading(table, re.sub(r"\(\d+\)$", "", header))
        if known:
            chosen.append(ColumnChoice(header, *known))
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
    # one source per target: the most confident keeps it (the first on a tie), the others
    # become extra columns whose reason names the column that won
    best: dict[str, ColumnChoice] = {}
    for choice in chosen:
        holder = best.get(choice.target)
        if choice.target not in (EXTRA, COMPUTED) and (
                holder is None or choice.confidence > holder.confidence):
            best[choice.target] = choice
    for choice in chosen:
        winner = best.get(choice.target)
        if winner is not None and winner is not choice:
            choice.reason = (f"'{winner.source}' matches {choice.target} "
                             + ("better" if winner.confidence > choice.confidence else
                                "as well and comes first") + "; kept as extra")
            choice.target, choice.contested = EXTRA, choice.target
    return ImportMapping(chosen, _value_maps(saved), len(source.headers) - len(headers))


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
    from .tracker.cells import to_text

    return to_text(values)


def readable_name(values: pd.Series) -> pd.Series:
    """'DOE, JANE' -> 'Doe, Jane'; names typed in mixed case stay as typed."""
    text = _text(values)
    shouting = text.str.fullmatch(r"[^a-z]*[A-Z][^a-z]*").fillna(False)
    titled = text.str.title().str.replace(r"\b(Mc|O')(\w)", lambda m: m.group(1)
                                          + m.group(2).upper(), regex=True)
    return text.where(~shouting, titled)


TOO_LONG = (f"is a range of more than {MAX_RANGE} codes: only its two ends are in the codes; "
            "type the codes the request is for")
NOT_CODES = "is not a list of CPT or HCPCS codes (70551, 97110-97112); kept in the notes"


def _expand_range(low: str, high: str) -> tuple[list[str], bool]:
    """The codes from low to high, and whether the range was too long to expand (then only
    its two ends are given): 97110-97112, 3074F-3077F and G0151-G0153 all expand."""
    if not high or low == high:
        return [low], False
    first, last = CODE_PARTS.fullmatch(low), CODE_PARTS.fullmatch(high)
    if first and last and (first[1], first[3], len(first[2])) == (last[1], last[3], len(last[2])) \
            and int(first[2]) < int(last[2]):
        if int(last[2]) - int(first[2]) + 1 > MAX_RANGE:
            return [low, high], True
        return [f"{first[1]}{number:0{len(first[2])}d}{first[3]}"
                for number in range(int(first[2]), int(last[2]) + 1)], False
    return [low, high], False


def codes_in(cell: str) -> tuple[list[str], bool] | None:
    """The codes a cell lists, each once, ranges ('97110-97140') expanded, and whether a
    range was too long to expand; None when something in it is not a code at all.

    Commas, semicolons, slashes, spaces and line breaks separate codes.
    """
    codes: list[str] = []
    too_long = False
    for token in re.split(r"[,;/\s]+", re.sub(r"\s*[-\u2013]\s*", "-", cell.upper())):
        if not token:
            continue
        low, dash, high = token.partition("-")
        if not looks_like_service_code(low) or (dash and not looks_like_service_code(high)):
            return None
        expanded, longer = _expand_range(low, high)
        codes += [code for code in expanded if code not in codes]
        too_long = too_long or longer
    return codes, too_long


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
    warnings: list[RowNote] = field(default_factory=list)  # imported, but worth a look


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
    warnings: list[RowNote] = []
    kept = pd.Series("", index=rows.index, dtype="string")  # text added to the notes

    def keep(mask: pd.Series, column: str, values: pd.Series, why: str) -> None:
        nonlocal kept
        mask = mask.fillna(False)
        chosen = values[mask]
        for row, value in zip(chosen.index, chosen, strict=True):  # row: the file's row
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
        ranges: dict[tuple[str | None, str | None], tuple[list[str], bool]] = {}
        expanded = [ranges[pair] if pair in ranges else ranges.setdefault(  # each distinct once
            pair, _expand_range(pair[0], pair[1] or "") if pair[0] is not None else ([], False))
            for pair in zip(_cells(low), _cells(high), strict=True)]
        ranged = pd.Series([", ".join(codes) or pd.NA for codes, _ in expanded],
                           index=rows.index, dtype="string")
        keep(pd.Series([longer for _, longer in expanded], index=rows.index), "codes_from",
             low + "-" + high, TOO_LONG)
        origin.setdefault("codes", origin["codes_from"])
        raw["codes"] = ranged if "codes" not in raw else _text(raw["codes"]).fillna(ranged)
    if "codes_to" in raw:  # a 'to' code with no 'from' column: kept, not dropped
        upper = _text(raw.pop("codes_to"))
        keep(upper.notna(), "codes_to", upper,
             "is a 'to' code with no 'from' code column; map the 'from' column too")
    if "codes" in raw:  # ranges expanded; a state's own codes kept, with a warning
        text = _text(raw["codes"])
        read = {cell: codes_in(cell) for cell in text.dropna().unique()}  # each distinct once
        keep(text.isin([cell for cell, result in read.items() if result is None]), "codes",
             text, NOT_CODES)
        keep(text.isin([cell for cell, result in read.items() if result and result[1]]),
             "codes", text, TOO_LONG)
        raw["codes"] = text.map({cell: ", ".join(result[0]) for cell, result in read.items()
                                 if result is not None}).astype("string")
        local = {cell: [code for code in result[0] if procedure_code_problem(code)]
                 for cell, result in read.items() if result is not None}
        local = {cell: codes for cell, codes in local.items() if codes}
        state_codes = text[text.isin(list(local))]
        for row, cell in zip(state_codes.index, state_codes, strict=True):
            one = len(local[cell]) == 1
            warnings.append(RowNote(int(row), origin.get("codes", "codes"), ", ".join(
                f"'{code}'" for code in local[cell]) + (
                " is not a CPT or HCPCS code: kept in the codes as a state's own service "
                "code; check it with the payer" if one else " are not CPT or HCPCS codes: "
                "kept in the codes as a state's own service codes; check them with the "
                "payer")))
    if "auth_date_range" in raw:  # '01/05/2026-03/31/2026' into the two dates
        text = _text(raw.pop("auth_date_range"))
        ends = text.str.extract(DATE_RANGE)
        keep(text.notna() & ends[0].isna(), "auth_date_range", text,
             "is not two dates from-to (01/05/2026-03/31/2026); type them in the "
             "effective and expiration dates")
        for column, end in (("auth_effective_date", ends[0]), ("auth_expiration_date", ends[1])):
            given = raw.get(column)  # a column of its own wins
            raw[column] = end if given is None else given.mask(_text(given).isna(), end)
            origin.setdefault(column, origin["auth_date_range"])
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
        if spec.name == "codes":  # the codes were read above, a state's own codes kept
            spec = replace(spec, kind="text")
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
    if extra_notes.notna().any():
        notes_now = _text(frame["notes"]).str.cat(extra_notes, sep="\n", na_rep="").str.strip()
        frame["notes"] = notes_now.mask(notes_now == "")  # an empty note is none
    # rows the tracker's own checks would refuse (a decision before the submission, ...)
    check = Collector(source.sheet, labels)
    placeholder = pd.Series("import-row-" + frame.index.astype(str), index=frame.index,
                            dtype="string")
    check_requests(frame.assign(request_id=frame["request_id"].fillna(placeholder)), check)
    skipped = {int(problem.row): f"{problem.column}: {problem.message}"
               for problem in check.problems if problem.severity == "error"
               and problem.row is not None}
    extras = rows[[m.source for m in mapping.columns if m.target == EXTRA]].copy()
    return Transformed(frame, extras, notes, skipped, warnings)


# --- matching with what the tracker already holds ---------------------------------------------

# the dates that tell two of a patient's requests for the same payer and codes apart
KEY_DATES = ("submitted_at", "auth_effective_date", "scheduled_service_date", "decision_date")


def _squashed(text: str) -> str:
    """Letters and digits in upper case: 'ax-1 ' and 'AX1' are one."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def _words(text: str) -> str:
    """'DOE,  Jane' and 'Jane Doe' -> 'doe jane'."""
    return " ".join(sorted(re.findall(r"[^\W_]+", text.casefold())))


def _code_set(cell: str) -> str:
    read = codes_in(cell)
    return ",".join(sorted(read[0] if read else re.findall(r"[0-9A-Z]+", cell.upper())))


def _cells(values: pd.Series) -> np.ndarray:
    """The values as Python objects, None for a missing one."""
    # pandas takes na_value=None; pandas-stubs types na_value as a scalar that is not None
    return values.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]


def _recognised_by(frame: pd.DataFrame) -> pd.DataFrame:
    """What a request is recognised by, normalised alike for a source row and for what the
    writer stored: its request ID, the patient's ID and name, the auth number, its content
    (payer and codes) and its KEY_DATES (days, in one tuple). Blank is ''."""
    def each(column: str, normal: Callable[[str], str]) -> list[str]:
        values = _cells(frame[column].astype("string"))
        table = {value: normal(value) for value in dict.fromkeys(values) if value is not None}
        return [table[value] if value is not None else "" for value in values]

    days = zip(*(_days(frame[column]) for column in KEY_DATES), strict=True)
    pairs = list(zip(each("payer", _words), each("codes", _code_set), strict=True))
    contents = {pair: "" if pair == ("", "") else f"{pair[0]}|{pair[1]}"
                for pair in dict.fromkeys(pairs)}
    patients = _patient_keys(frame)
    return pd.DataFrame({
        "request_id": each("request_id", lambda value: value.strip().upper()),
        "patient_id": patients["id"].tolist(), "name": patients["name"].tolist(),
        "auth": each("auth_number", _squashed),
        "content": [contents[pair] for pair in pairs],
        "days": list(days)}, index=frame.index)


def _days(values: pd.Series) -> list[str]:
    """'2026-11-02' per date, '' for a blank; each distinct day written once."""
    codes, days = pd.factorize(pd.to_datetime(values).dt.normalize())
    names = [*(day.strftime("%Y-%m-%d") for day in days), ""]  # code -1 (blank) is last
    return [names[code] for code in codes.tolist()]


def _patient_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """intake.patient_key ('' for a blank), once per distinct patient ID and name: a large
    export names each patient on several rows."""
    pairs = list(zip(*(_cells(frame[column].astype("string"))
                       for column in ("patient_id", "patient_name")), strict=True))
    distinct = list(dict.fromkeys(pairs))
    keys = patient_key(*(pd.Series([pair[side] for pair in distinct], dtype="string")
                         for side in (0, 1))).fillna("")
    table = dict(zip(distinct, zip(keys["id"], keys["name"], strict=True), strict=True))
    return pd.DataFrame([table[pair] for pair in pairs], columns=["id", "name"],
                        index=frame.index)


def _dates_agree(one: tuple[str, ...], other: tuple[str, ...]) -> bool | None:
    """Whether two requests' KEY_DATES say they are one: True when a date both have agrees
    and none disagrees, False when one disagrees, None when no date is on both sides."""
    both = [(day, other_day) for day, other_day in zip(one, other, strict=True)
            if day and other_day]
    return all(day == other_day for day, other_day in both) if both else None


Seen = tuple[str, Any]  # (label, the row as _recognised_by gives it)


def _remember(index: dict[Any, Any], key: object, seen: Seen) -> None:
    """Add to index[key]: one seen row as itself, two or more as a list (most keys name one
    request: a 300,000-row import keeps no 600,000 one-item lists)."""
    held = index.get(key)
    if held is None:
        index[key] = seen
    elif isinstance(held, list):
        held.append(seen)
    else:
        index[key] = [held, seen]


def _recalled(index: dict[Any, Any], key: object) -> list[Seen]:
    held = index.get(key)
    return [] if held is None else held if isinstance(held, list) else [held]


class _Known:
    """Requests seen (the tracker's, or this file's rows so far), found again by request ID,
    by auth number for the same patient, or by patient + payer + codes + dates.

    Two request IDs are two requests: a row with a request ID is found by auth number or
    content only as a request without one.

    The same patient: as patoolkit.intake.same_patient (the same patient ID when both rows
    have one, else the same name, as patient_key compares them). A row with neither is a
    patient left blank, found again only as a row with neither: not as a request that has
    an ID but no name.

    The dates (KEY_DATES) of the same patient, payer and codes: the same request when a
    date both rows have agrees and none disagrees (a pending request, exported again
    once submitted, has the same service date and a submitted date more). When no date is
    on both sides: the same request if one row has no date at all (a request typed before
    it had one), found by one row of the file only, and only when no request shares a
    date with that row; two rows each with dates but none in common are two requests
    (nothing says they are one: this January's MRI submitted, December's scheduled).
    """

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        # (patient ID or name, "auth" or "content", the auth number or content) -> seen;
        # a blank ID or name is never a key: a row with neither is under no_patient
        # each key holds one seen row, or a list of them (_remember)
        self.by_patient_id: dict[tuple[str, str, str], Seen | list[Seen]] = {}
        self.by_name: dict[tuple[str, str, str], Seen | list[Seen]] = {}
        self.no_patient: dict[tuple[str, str], Seen | list[Seen]] = {}
        self.found_without_dates: set[str] = set()  # labels an undated comparison found

    @staticmethod
    def _signs(row: Any) -> list[tuple[str, str]]:
        signs = [("auth", row.auth)] if row.auth else []
        if row.content or row.patient_id or row.name:
            signs.append(("content", row.content))
        return signs

    def add(self, label: str, row: Any) -> None:
        if row.request_id:
            self.ids.setdefault(row.request_id, label)
        seen = (label, row)
        for kind, sign in self._signs(row):
            if row.patient_id:
                _remember(self.by_patient_id, (row.patient_id, kind, sign), seen)
            elif not row.name:
                _remember(self.no_patient, (kind, sign), seen)
            if row.name:  # with an ID or without (_same_patient filters): one list a row
                _remember(self.by_name, (row.name, kind, sign), seen)

    def _same_patient(self, row: Any, kind: str, sign: str) -> list[tuple[str, Any]]:
        """The requests seen with this sign for the row's patient (the rule above)."""
        named = (row.name, kind, sign)
        if row.patient_id:
            return [*_recalled(self.by_patient_id, (row.patient_id, kind, sign)),
                    *(seen for seen in _recalled(self.by_name, named)
                      if not seen[1].patient_id)]
        if row.name:
            return _recalled(self.by_name, named)
        return _recalled(self.no_patient, (kind, sign))

    def find(self, row: Any) -> str | None:
        if row.request_id and row.request_id in self.ids:
            return self.ids[row.request_id]
        undated: str | None = None
        for kind, sign in self._signs(row):
            for label, other in self._same_patient(row, kind, sign):
                if row.request_id and other.request_id and other.request_id != row.request_id:
                    continue  # two request IDs are two requests
                if kind == "auth":  # the auth number finds it whatever else changed
                    return label
                if row.auth and other.auth and other.auth != row.auth:
                    continue  # two authorizations of the same service and date
                agree = _dates_agree(row.days, other.days)
                if agree:
                    return label
                if (agree is None and undated is None and label not in
                        self.found_without_dates and not (any(row.days) and any(other.days))):
                    undated = label
        if undated is not None:
            self.found_without_dates.add(undated)
        return undated


GAP_WORDS = {"patient": "a patient", "payer": "a payer", "codes": "codes"}


def _gaps(values: pd.DataFrame) -> pd.DataFrame:
    """Per row, whether it lacks a patient (ID and name), a payer, codes."""
    return pd.DataFrame({"patient": values[["patient_id", "patient_name"]].isna().all(axis=1),
                         "payer": values["payer"].isna(), "codes": values["codes"].isna()})


@dataclass
class ImportPlan:
    source: Source
    mapping: ImportMapping
    transformed: Transformed
    new_rows: list[int]  # source rows to add
    present: dict[int, str]  # source row -> the request ID found ("Requests row 14" if blank)
    skipped: dict[int, str]  # source row -> why not
    warnings: list[RowNote] = field(default_factory=list)  # new rows worth a look

    def warning_lines(self) -> list[str]:
        """What to look at in the rows to import: how the file was read (lines not in
        UTF-8), gaps to fill in, state codes."""
        left_out = ([f"{self.mapping.left_out:,} columns of the file are not named in the "
                     "mapping: left out"] if self.mapping.left_out else [])
        return [*self.source.warnings, *left_out] + [
            f"row {note.row}" + (f", column '{note.column}'" if note.column else "")
            + f": {note.message}" for note in self.warnings]

    def report(self) -> str:
        total = len(self.source.rows)
        lines = [f"{self.source.path.name}: {total} rows: {len(self.new_rows)} to import, "
                 f"{len(self.present)} already in the tracker, {len(self.skipped)} skipped."]
        for row, request_id in sorted(self.present.items()):
            lines.append(f"  row {row}: already present as {request_id}")
        for row, why in sorted(self.skipped.items()):
            lines.append(f"  row {row}: skipped: {why}")
        lines += [f"  {line}" for line in self.warning_lines()]
        for note in self.transformed.notes[:50]:
            lines.append(f"  row {note.row}, column '{note.column}': {note.message}")
        if len(self.transformed.notes) > 50:
            lines.append(f"  ... and {len(self.transformed.notes) - 50} more values kept in "
                         "the notes")
        return "\n".join(lines)


def plan_import(source: Source, mapping: ImportMapping, tracker: Tracker,
                progress: Progress | None = None) -> ImportPlan:
    """Each source row new, already in the tracker, or skipped with the reason.

    A row is already there when the tracker has its request ID, its auth number for the
    same patient, or the same patient, payer, codes and dates (see _Known), and never
    under another request ID; importing a file twice adds nothing. A row with a request
    ID, a decision or an auth number is imported even without a patient, payer or codes,
    and the report lists the gaps.
    """
    total = len(source.rows)
    if progress is not None:
        progress(0, total, "checking")
    transformed = transform(source, mapping, tracker.lists)
    values = transformed.values
    in_tracker, in_file = _Known(), _Known()
    existing = tracker.requests
    # a request is named by its request ID, or by its row when its ID was left blank
    request_ids = existing["request_id"].astype("string").str.strip().fillna("")
    for request_id, recognised in zip(request_ids, _recognised_by(existing).itertuples(),
                                      strict=True):
        in_tracker.add(request_id or f"{REQUESTS.name} row {recognised.Index}", recognised)
    gaps = _gaps(values)
    says_request = values[["request_id", "decision", "auth_number"]].notna().any(axis=1)
    not_a_request = set(values.index[gaps.all(axis=1) & ~says_request])
    present: dict[int, str] = {}
    new_rows: list[int] = []
    skipped = dict(transformed.skipped)
    for number, recognised in zip(values.index, _recognised_by(values).itertuples(),
                                  strict=True):
        row = int(number)
        if row in skipped:
            continue
        if match := in_tracker.find(recognised):
            present[row] = match
        elif earlier := in_file.find(recognised):
            skipped[row] = f"the same request as {earlier} of this file"
        elif row in not_a_request:
            skipped[row] = ("no patient, payer or codes, and no request ID, decision or auth "
                            "number: not a request")
        else:
            in_file.add(f"row {row}", recognised)
            new_rows.append(row)
    imported = set(new_rows)
    warnings = [note for note in transformed.warnings if note.row in imported]
    lacking = gaps.loc[new_rows]
    lacking = lacking[lacking.any(axis=1)]
    for row, blanks in zip(lacking.index, lacking.to_numpy(), strict=True):
        missing = [GAP_WORDS[name] for name, blank in
                   zip(lacking.columns, blanks, strict=True) if blank]
        what = (missing[0] if len(missing) == 1
                else ", ".join(missing[:-1]) + " and " + missing[-1])
        warnings.append(RowNote(int(row), None, f"imported without {what}; fill "
                                f"{'it' if len(missing) == 1 else 'them'} in on the "
                                "Requests sheet"))
    warnings.sort(key=lambda note: note.row)
    if progress is not None:
        progress(total, total, "checked")
    return ImportPlan(source, mapping, transformed, new_rows, present, skipped, warnings)


def _plain(value: object) -> object:
    if is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def import_into(plan: ImportPlan, tracker: Tracker, by: str = "import",
                progress: Progress | None = None) -> list[str]:
    """Write the plan's new rows through the safe writer in one save; their request IDs.

    The rows go to the writer column by column, and the analyst's columns a chunk at a
    time (writer.NewRequests): a 300,000-row import is not held as 300,000 mappings.
    progress hears of each chunk as the writer asks for it (see Progress)."""
    from .tracker.edit import NewRequests, append_requests

    total = len(plan.new_rows)
    report = progress or (lambda done, total, stage: None)
    report(0, total, "writing")
    if not plan.new_rows:
        report(0, 0, "saved")
        return []
    values, extras = plan.transformed.values, plan.transformed.extras
    if not values.index.equals(pd.Index(plan.new_rows)):  # some rows are not new: a copy
        values, extras = values.loc[plan.new_rows], extras.loc[plan.new_rows]
    columns = {name: values[name].astype(object).where(values[name].notna(), None).tolist()
               for name in values.columns[values.notna().any()]}
    source_rows: list[object] = list(plan.new_rows)
    filled = [title for title in extras.columns  # a column left blank adds no heading
              if (extras[title].notna() & extras[title].astype(str).str.strip().ne("")).any()]
    extras = extras[filled]

    written = 0  # the rows made so far, counted from the first without a gap

    def extra_values(start: int, stop: int) -> dict[str, list[object]]:
        nonlocal written
        if start <= written < stop:  # the next chunk (the writer's samples of a few rows
            written = stop           # at the far end, to check them, do not count)
            report(written, total, "writing")
        chunk = {str(title): [value if type(value) is str else _plain(value)
                              for value in extras[title].iloc[start:stop].tolist()]
                 for title in extras.columns}
        chunk[SOURCE_FILE_COLUMN] = [plan.source.path.name] * (stop - start)
        chunk[SOURCE_ROW_COLUMN] = source_rows[start:stop]
        return chunk

    batch = NewRequests(len(source_rows), columns,
                        [*map(str, extras.columns), SOURCE_FILE_COLUMN, SOURCE_ROW_COLUMN],
                        extra_values,
                        [f"{plan.source.path.name} row {row}" for row in source_rows],
                        typed=True)  # transform typed them as the tracker reader does
    request_ids = append_requests(tracker.path, batch, by, codes_as_typed=True).request_ids
    report(total, total, "saved")
    return request_ids


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
    """The mapping with a person's corrections (source column -> target).

    A column that lost its target to another keeps naming the column that holds
    the target now, or says that none does once the winner was moved by hand.
    """
    columns = [ColumnChoice(m.source, choices[m.source], 1.0, "corrected by hand")
               if m.source in choices and choices[m.source] != m.target else
               ColumnChoice(m.source, m.target, m.confidence, m.reason, m.contested)
               for m in mapping.columns]
    taken: dict[str, str] = {}
    for m in columns:
        if m.target in (EXTRA, COMPUTED):
            continue
        if m.target in taken:
            raise ImportProblemError(f"'{m.source}' and '{taken[m.target]}' both map to "
                                     f"{m.target}; choose one.")
        taken[m.target] = m.source
    proposed = {m.target: m.source for m in mapping.columns}
    for m in columns:
        if m.contested and taken.get(m.contested) != proposed.get(m.contested):
            m.reason = (f"'{taken[m.contested]}' maps to {m.contested} (corrected by hand); "
                        "kept as extra" if m.contested in taken else
                        f"kept as extra; no column maps to {m.contested} now: choose it "
                        "here if this column holds it")
    return ImportMapping(columns, mapping.values, mapping.left_out)
