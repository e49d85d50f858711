"""Claim-to-authorization audit: the claims that will deny for purely administrative reasons.

Read a claims export (CSV or XLSX, headers matched the forgiving way the
tracker's are) and check every claim line against the tracker. Each finding
has a code from FINDINGS, a message naming the claim line's facts (patient ID,
never a name) and the fix. Everything is column-wise: merges of claim lines
with the tracker's authorizations, no Python loop over rows.

Choices where the issue left room (also in the README):
- An authorization is usable when its request is authorized in whole or in part
  (`statuses.authorized`: Approved or Partially Approved, or its denial overturned in
  whole or in part by the P2P or the appeal).
- UNITS_EXCEEDED counts the units of the claims in the file against the
  authorization (ordered by date of service), leaving out lines outside its
  dates (they are not covered by it); units_used in the tracker is not added,
  since it usually records these same claims.
- A claim's plan type (for the PA Rules) is the Payers sheet's when the payer
  has one plan there, else the plan of the patient's latest request with that
  payer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import statuses
from .errors import Problem, UnusableClaimsError
from .rules import requirements_for
from .schema import CLAIMS
from .tracker.cells import Collector, convert_sheet
from .tracker.sources import read_file, read_rows

if TYPE_CHECKING:
    from .tracker.read import Tracker


@dataclass(frozen=True)
class Finding:
    code: str
    title: str
    fix: str


FINDINGS: dict[str, Finding] = {finding.code: finding for finding in (
    Finding("MISSING_AUTH", "needs PA and no approved authorization covers it",
            "Hold the claim: request the authorization (retro-authorization where the payer "
            "allows it) and record it in the tracker."),
    Finding("AUTH_AVAILABLE_NOT_ON_CLAIM", "an authorization covers it but is not on the claim",
            "Put the authorization number on the claim: CMS-1500 box 23, 837P loop 2300 "
            "REF*G1."),
    Finding("AUTH_NOT_FOUND", "the authorization number is not in the tracker",
            "Check the number against the payer's approval; correct the claim, or record the "
            "authorization in the tracker if it is missing there."),
    Finding("AUTH_MISMATCH", "the authorization belongs to another patient or payer",
            "Use the authorization issued for this patient and payer."),
    Finding("OUTSIDE_DATES", "the date of service is outside the authorization's dates",
            "Correct the date of service, or have the payer extend the authorization (or "
            "request a new one) before billing."),
    Finding("CODE_NOT_AUTHORIZED", "the code is not among the authorized codes",
            "Ask the payer to add the code to the authorization, or bill the code that was "
            "authorized."),
    Finding("UNITS_EXCEEDED", "claims add up to more units than authorized",
            "Request more units from the payer before billing the rest; hold the extra "
            "units."),
    Finding("AUTH_DENIED", "the authorization's request was denied and not overturned",
            "Contest the denial (P2P or appeal: see the Denials dashboard) before billing."),
)}
# a five-character code followed by two-character modifiers, each after '-', ':' or spaces
# (no lookahead and no \s: pyarrow runs it vectorised, 7x faster than cell by cell)
MODIFIERS = r"\b([A-Z0-9]{5})(?:(?:[ \t]*[-:][ \t]*|[ \t]+)[A-Z0-9]{2}\b)+"
FINDING_ORDER = {code: position for position, code in enumerate(FINDINGS)}


# --- reading a claims export ------------------------------------------------------------

@dataclass
class ClaimsFile:
    path: Path
    claims: pd.DataFrame  # typed, index = the row number the file shows (Excel or CSV line)
    problems: list[Problem]


def read_claims(path: Path | str, name: str | None = None) -> ClaimsFile:
    """A claims export as a typed frame; a missing required column is UnusableClaimsError."""
    path = Path(path)
    return claims_from_bytes(read_file(path, UnusableClaimsError), name or path.name, path)


def claims_from_bytes(data: bytes, name: str, path: Path | None = None) -> ClaimsFile:
    """read_claims for bytes (an upload in the dashboard); name gives the kind (.csv/.xlsx).

    A workbook's sheet named Claims is read, else its first sheet (sources.read_rows)."""
    from .tracker.read import find_header, raw_frame

    where = path or Path(name)
    found_rows = read_rows(data, name, where, prefer_sheet="Claims", error=UnusableClaimsError,
                           nothing_to="audit")
    rows, sheet = found_rows.rows, found_rows.sheet
    header = find_header(CLAIMS, rows)
    missing = [column for column in CLAIMS.columns
               if column.required and column.name not in header.positions]
    if missing:
        names = ", ".join(f"'{column.title}'" for column in missing)
        raise UnusableClaimsError(
            f"{where}: sheet '{sheet}', header row {header.header_row}: no column for {names}. "
            "Rename the export's columns (any spelling of the name works, e.g. 'DOS' for "
            "Date Of Service, 'Auth #' for Auth Number) or add them; an empty Auth Number "
            "column is fine.")
    labels = {column.name: column.title for column in CLAIMS.columns}
    labels.update(header.labels)
    found = Collector(sheet, labels)
    raw = raw_frame(rows, header)
    claims = convert_sheet(CLAIMS, raw, {}, found)
    claims["units"] = claims["units"].fillna(1)  # a line without units bills one unit
    unnamed = claims["claim_id"].isna()
    if unnamed.any():  # every line is audited and reported, so each needs a name
        row_names = pd.Series([f"(row {row})" for row in claims.index[unnamed]],
                              index=claims.index[unnamed], dtype="string")
        claims["claim_id"] = claims["claim_id"].astype("string").fillna(row_names)
        found.add(claims.index[unnamed], "claim_id",
                  "is empty; the audit names the line by its row, e.g. '(row 12)'; fill in the "
                  "claim number in the export", severity="warning")
    # the file's own warnings (lines read as Windows-1252, cells set aside) come first
    about_file = [Problem(sheet, None, None, warning.removeprefix(f"{where}: "),
                          severity="warning") for warning in found_rows.warnings]
    claims_file = ClaimsFile(where, claims, [*about_file, *found.problems])
    check_claims_file(claims_file)
    return claims_file


# --- the audit ----------------------------------------------------------------------------

def _key(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.casefold()


def _split(values: pd.Series) -> pd.Series:
    """One row per code, index repeated: '97110, 97140-GP' -> 97110, 97140 (modifiers off).

    Most cells hold one code: only the others go through split and explode.
    """
    text = values.astype("string").str.upper().str.strip()
    longer = (text.str.len() > 5).fillna(False)
    if longer.any():  # modifiers off, however written: 97140-GP, 97140 GP, 97140-GP-59
        text = text.copy()
        text[longer] = text[longer].str.replace(MODIFIERS, r"\1", regex=True)
    several = text.str.contains(r"[,;\s/]", regex=True).fillna(False)
    codes = text[~several]
    if several.any():
        parts = (text[several].str.replace(r"[;\s/]+", ",", regex=True).str.split(",")
                 .explode().str.strip().astype("string"))
        codes = pd.concat([codes, parts]).sort_index(kind="stable")
    return codes[codes.notna() & (codes != "")].astype("string")


def authorizations(requests: pd.DataFrame) -> pd.DataFrame:
    """The tracker's authorization numbers with what a claim is checked against."""
    usable = statuses.authorized(requests)
    decision = requests["decision"].astype("string")
    return pd.DataFrame({
        "tracker_row": requests.index,
        "request_id": requests["request_id"].astype("string"),
        "auth_key": requests["auth_number"].astype("string").str.strip().str.upper(),
        "auth_number": requests["auth_number"].astype("string"),
        "auth_patient": requests["patient_id"].astype("string").str.strip(),
        "auth_payer": requests["payer"].astype("string"),
        "auth_payer_key": _key(requests["payer"]),
        "auth_codes": requests["codes"].astype("string"),
        "effective": requests["auth_effective_date"].dt.normalize(),
        "expiration": requests["auth_expiration_date"].dt.normalize(),
        "units_authorized": requests["units_authorized"].astype("Float64"),
        "usable": usable.to_numpy(),
        "denied": ((decision == statuses.DENIED).fillna(False) & ~usable).to_numpy(),
        "decision_date": requests["decision_date"],
    }).reset_index(drop=True)


def _plan_types(claims: pd.DataFrame, requests: pd.DataFrame, payers: pd.DataFrame
                ) -> pd.Series:
    """A claim's plan type: the payer's only plan on the Payers sheet, else the patient's."""
    plans = payers.assign(_payer=_key(payers["payer"])).dropna(subset=["_payer", "plan_type"])
    plan_types = plans.groupby("_payer")["plan_type"]
    single = plan_types.first().where(plan_types.nunique() == 1)  # else none: NaN
    payer_key = _key(claims["payer"])
    plan = payer_key.map(single).astype("string")
    latest = (requests.assign(_payer=_key(requests["payer"]),
                              _patient=requests["patient_id"].astype("string").str.strip())
              .sort_values("submitted_at", kind="stable", na_position="first")
              .drop_duplicates(["_patient", "_payer"], keep="last")
              .set_index(["_patient", "_payer"])["plan_type"].astype("string"))
    keys = pd.MultiIndex.from_arrays([claims["patient_id"].astype("string").str.strip(),
                                      payer_key])
    from_patient = pd.Series(latest.reindex(keys).to_numpy(), index=claims.index,
                             dtype="string")
    return plan.fillna(from_patient)


def _day(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%Y-%m-%d").fillna("(no date)")


def audit(claims: pd.DataFrame, requests: pd.DataFrame, rules: pd.DataFrame,
          payers: pd.DataFrame, as_of: dt.date | None = None) -> pd.DataFrame:
    """Every finding: row (the claim's row in its file), claim_id, code, message, fix.

    Clean claims have no row here; see audit_report for one entry per claim.
    """
    auths = authorizations(requests)
    lines = claims.assign(
        row=claims.index, auth_key=claims["auth_number"].astype("string").str.strip()
        .str.upper(), payer_key=_key(claims["payer"]),
        patient=claims["patient_id"].astype("string").str.strip(),
        dos=claims["date_of_service"].dt.normalize()).reset_index(drop=True)
    findings: list[pd.DataFrame] = []

    def add(code: str, frame: pd.DataFrame, message: pd.Series,
            fix: pd.Series | str | None = None) -> None:
        if frame.empty:
            return
        findings.append(pd.DataFrame({
            "row": frame["row"].to_numpy(), "claim_id": frame["claim_id"].to_numpy(),
            "code": code, "message": message.to_numpy(),
            "fix": fix.to_numpy() if isinstance(fix, pd.Series) else (fix or FINDINGS[code].fix),
        }))

    # A. claims that carry an authorization number
    numbered = lines[lines["auth_key"].notna() & (lines["auth_key"] != "")]
    first_auth = auths[auths["auth_key"].notna()].sort_values(
        ["auth_key", "usable"], ascending=[True, False], kind="stable").drop_duplicates(
        "auth_key")
    matched = numbered.merge(first_auth, on="auth_key", how="left")
    found = matched["request_id"].notna()
    shown = matched["auth_number_x"].astype("string")
    add("AUTH_NOT_FOUND", matched[~found],
        "authorization number " + shown[~found] + " is on the claim but not in the tracker")
    hit = matched[found]
    number = hit["auth_number_x"].astype("string")
    denied = hit["denied"].astype(bool)
    add("AUTH_DENIED", hit[denied],
        "authorization " + number[denied] + " is request " + hit["request_id"][denied]
        + ", denied on " + _day(hit["decision_date"][denied]) + " and not overturned")
    other = ((hit["patient"] != hit["auth_patient"]) | (hit["payer_key"] != hit["auth_payer_key"])
             ).fillna(True)
    add("AUTH_MISMATCH", hit[other],
        "authorization " + number[other] + " (request " + hit["request_id"][other]
        + ") is for patient " + hit["auth_patient"][other].fillna("?") + " with "
        + hit["auth_payer"][other].fillna("?") + "; this claim is patient "
        + hit["patient"][other].fillna("?") + " with " + hit["payer"][other].astype("string")
        .fillna("?"))
    good = hit[~denied & ~other]
    outside = (good["dos"].notna() & (
        (good["effective"].notna() & (good["dos"] < good["effective"]))
        | (good["expiration"].notna() & (good["dos"] > good["expiration"])))).fillna(False)
    add("OUTSIDE_DATES", good[outside],
        "date of service " + _day(good["dos"][outside]) + " is outside authorization "
        + good["auth_number_x"][outside].astype("string") + "'s dates "
        + _day(good["effective"][outside]) + " to " + _day(good["expiration"][outside]))
    # codes of the line against the authorized codes (each authorization's codes split once)
    claim_codes = _split(good["codes"]).rename("code").to_frame().join(
        good[["row", "claim_id", "auth_key", "auth_number_x", "auth_codes"]])
    authorized = (_split(first_auth.set_index("auth_key")["auth_codes"]).rename("code")
                  .reset_index().drop_duplicates())
    known = claim_codes.merge(authorized, on=["auth_key", "code"], how="left", indicator=True)
    stray = known[known["_merge"] == "left_only"]
    add("CODE_NOT_AUTHORIZED", stray,
        "code " + stray["code"] + " is not among the codes authorized by "
        + stray["auth_number_x"].astype("string") + " ("
        + stray["auth_codes"].astype("string").fillna("none recorded") + ")")
    # units, cumulative by date of service within each authorization
    # lines outside the authorization's dates are not covered by it: they do not use its units
    counted = good[good["units_authorized"].notna() & ~outside].sort_values(
        ["auth_key", "dos", "row"], kind="stable")
    total = counted.groupby("auth_key")["units"].cumsum()
    over = counted[(total > counted["units_authorized"]).to_numpy()]
    over_total = total[(total > counted["units_authorized"]).to_numpy()]
    add("UNITS_EXCEEDED", over,
        "claims against authorization " + over["auth_number_x"].astype("string")
        + " add up to " + over_total.astype("int64").astype("string") + " units by "
        + _day(over["dos"]) + "; " + over["units_authorized"].astype("int64").astype("string")
        + " authorized")

    # B. claims without a number: is one available? does the service need one?
    bare = lines[lines["auth_key"].isna() | (lines["auth_key"] == "")]
    if not bare.empty:
        bare_codes = _split(bare["codes"]).rename("code").to_frame().join(
            bare[["row", "claim_id", "patient", "payer_key", "payer", "dos"]])
        usable = auths[auths["usable"] & auths["auth_key"].notna()]
        usable_codes = _split(usable["auth_codes"]).rename("code").to_frame().join(
            usable[["auth_number", "request_id", "auth_patient", "auth_payer_key",
                    "effective", "expiration"]])
        covering = bare_codes.reset_index(drop=True).merge(
            usable_codes, left_on=["patient", "payer_key", "code"],
            right_on=["auth_patient", "auth_payer_key", "code"], how="inner")
        starts, ends = covering["effective"], covering["expiration"]
        within = covering[(covering["dos"].notna()
                           & (starts.isna() | (covering["dos"] >= starts))
                           & (ends.isna() | (covering["dos"] <= ends))).fillna(False)]
        within = within.drop_duplicates(["row", "code"])
        add("AUTH_AVAILABLE_NOT_ON_CLAIM", within,
            "authorization " + within["auth_number"] + " (request " + within["request_id"]
            + ") covers code " + within["code"] + " on " + _day(within["dos"])
            + " but the claim has no authorization number",
            "Put " + within["auth_number"] + " on the claim: CMS-1500 box 23, 837P loop "
            "2300 REF*G1.")
        covered = pd.MultiIndex.from_frame(within[["row", "code"]])
        uncovered = bare_codes[~pd.MultiIndex.from_frame(bare_codes[["row", "code"]])
                               .isin(covered)]
        if not uncovered.empty:
            rows_asked = claims.loc[uncovered["row"].unique()]
            plan = _plan_types(rows_asked, requests, payers)
            asked = pd.DataFrame({
                "codes": uncovered["code"].to_numpy(),
                "payer": uncovered["payer"].astype("string").to_numpy(),
                "plan_type": plan.reindex(uncovered["row"]).to_numpy(),
                "scheduled_service_date": uncovered["dos"].to_numpy(),
            })
            # the answer depends on code, payer, plan and date only: ask each question once
            keys = ["codes", "payer", "plan_type", "scheduled_service_date"]
            questions = asked.drop_duplicates(keys).reset_index(drop=True)
            answers = requirements_for(questions, rules, as_of)[["pa_answer", "pa_reason"]]
            answered = asked.merge(questions.join(answers), on=keys, how="left")
            yes = (answered["pa_answer"] == "Yes").fillna(False).to_numpy()
            needs = uncovered.reset_index(drop=True)[yes]
            needs = needs.assign(reason=answered.loc[yes, "pa_reason"].to_numpy())
            refused = auths[auths["denied"]]
            refused_codes = _split(refused["auth_codes"]).rename("code").to_frame().join(
                refused[["request_id", "auth_patient", "auth_payer_key", "decision_date"]])
            was_denied = needs.merge(
                refused_codes.drop_duplicates(["auth_patient", "auth_payer_key", "code"]),
                left_on=["patient", "payer_key", "code"],
                right_on=["auth_patient", "auth_payer_key", "code"], how="left")
            denied_mask = was_denied["request_id"].notna()
            gone = was_denied[denied_mask]
            add("AUTH_DENIED", gone,
                "code " + gone["code"] + " for patient " + gone["patient"] + " was requested ("
                + gone["request_id"] + ") and denied on " + _day(gone["decision_date"])
                + ", not overturned")
            missing = was_denied[~denied_mask]
            add("MISSING_AUTH", missing,
                "code " + missing["code"] + " needs prior authorization (" + missing["reason"]
                + ") and no approved authorization in the tracker covers patient "
                + missing["patient"].fillna("?") + " on " + _day(missing["dos"]))
    if not findings:
        return pd.DataFrame(columns=["row", "claim_id", "code", "message", "fix"])
    table = pd.concat(findings, ignore_index=True)
    table["_order"] = table["code"].map(FINDING_ORDER)
    return table.drop_duplicates(["row", "code", "message"]).sort_values(
        ["row", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def audit_for(tracker: Tracker, claims: pd.DataFrame, as_of: dt.date | None = None
              ) -> pd.DataFrame:
    frames = tracker.frames
    return audit(claims, frames["Requests"], frames["PA Rules"], frames["Payers"], as_of)


def summary(findings: pd.DataFrame, claims: pd.DataFrame) -> dict[str, Any]:
    """Counts by finding code (every code, zeros included) and of clean claims."""
    ids = claims["claim_id"].astype("string")
    flagged = set(findings["claim_id"].astype("string"))
    counts = findings["code"].value_counts()
    return {"claims": int(ids.nunique()),
            "clean_claims": int((~ids.drop_duplicates().isin(flagged)).sum()),
            "claims_with_findings": len(flagged),
            "findings": {code: int(counts.get(code, 0)) for code in FINDINGS}}


def audit_json(findings: pd.DataFrame, claims: pd.DataFrame) -> dict[str, Any]:
    """The `audit-claims --format json` document: every claim, clean ones with no findings."""
    grouped: dict[str, list[dict[str, str]]] = {
        str(claim): [] for claim in claims["claim_id"].astype("string").dropna().unique()}
    for claim, code, message, fix in zip(findings["claim_id"].astype("string"), findings["code"],
                                         findings["message"], findings["fix"], strict=True):
        grouped.setdefault(str(claim), []).append(
            {"code": str(code), "message": str(message), "fix": str(fix)})
    return {"claims": [{"claim_id": claim, "findings": items}
                       for claim, items in grouped.items()],
            "summary": summary(findings, claims)}


def findings_table(findings: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """Findings with the claim's facts beside them, for tables, CSV and xlsx."""
    facts = claims[["claim_id", "patient_id", "payer", "date_of_service", "codes", "units",
                    "auth_number"]]
    table = findings.merge(facts.drop(columns="claim_id"), left_on="row", right_index=True,
                           how="left")
    table["title"] = table["code"].map({code: f.title for code, f in FINDINGS.items()})
    return table[["row", "claim_id", "code", "title", "message", "fix", "patient_id", "payer",
                  "date_of_service", "codes", "units", "auth_number"]]


def check_claims_file(found: ClaimsFile) -> None:
    """A claims file whose rows could not be read at all is unusable; say which."""
    if found.claims.empty:
        raise UnusableClaimsError(f"{found.path}: no claim lines below the header; nothing to "
                                  "audit.")


