"""Checks that block a submission (CONTRACT section 3): requirement, documents, enrollment, codes.

All of it is data from the tracker: the PA Rules, Criteria and Providers
sheets. A consultant changes a client's rules there, never here.

- Requirement: the most specific matching PA Rules row wins (payer + plan type
  + code, then payer + code, then * + plan type + code, then * + code; an exact
  code before a range, a narrower range before a wider one, then the upper row);
  its effective dates must cover the service date. No match is Unknown, never No.
- Documentation: every required Criteria item for the service category; the
  payer's own rows replace the * rows for that category.
- Enrollment: the ordering NPI is Enrolled with the payer, effective on the
  submission date (or today, before submission).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from .codes import icd10_problem, npi_problem, procedure_code_problem, split_codes
from .schema import is_blank, text_or_none

ANSWER_RANK = {"Yes": 3, "Unknown": 2, "Conditional": 1, "No": 0}  # the request takes the worst
RULE_COLUMNS = ["payer", "plan_type", "code", "service_category", "pa_required", "condition",
                "visit_threshold", "benefit_manager", "effective_from", "effective_to"]


def _key(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.casefold()


def _prepare_rules(rules: pd.DataFrame) -> pd.DataFrame:
    table = rules.dropna(subset=["code", "pa_required"]).copy()
    table["rule_row"] = table.index
    table["_payer"] = _key(table["payer"]).fillna("*")
    table["_plan"] = table["plan_type"].astype("string").fillna("*")
    code = table["code"].astype("string").str.upper().str.replace(" ", "", regex=False)
    # .astype: with no range among the rules, column 1 would be all-NaN floats
    parts = code.str.split("-", n=1, expand=True).reindex(columns=[0, 1]).astype("string")
    table["_low"] = parts[0]
    table["_high"] = parts[1].fillna(parts[0])
    table["_star"] = code == "*"
    table["_span"] = 0
    ranged = table["_low"] != table["_high"]
    numeric = ranged & table["_low"].str[:4].str.isdigit() & table["_high"].str[:4].str.isdigit()
    table.loc[numeric, "_span"] = (table.loc[numeric, "_high"].str[:4].astype(int)
                                   - table.loc[numeric, "_low"].str[:4].astype(int) + 1)
    table.loc[ranged & ~numeric, "_span"] = 10_000
    table.loc[table["_star"], "_span"] = 1_000_000
    return table


def _code_matches(codes: pd.Series, rules: pd.DataFrame) -> pd.DataFrame:
    """(code, rule_row) pairs for every rule whose code or range covers a code."""
    unique = pd.Series(codes.dropna().unique(), dtype="string")
    pairs = []
    for rule_row, low, high, star in zip(rules["rule_row"], rules["_low"], rules["_high"],
                                         rules["_star"], strict=True):
        if star:
            hit = unique
        else:
            hit = unique[(unique.str.len() == len(low)) & (unique >= low) & (unique <= high)]
        pairs.append(pd.DataFrame({"code": hit, "rule_row": rule_row}))
    if not pairs:
        return pd.DataFrame({"code": pd.Series(dtype="string"), "rule_row": pd.Series(dtype=int)})
    return pd.concat(pairs, ignore_index=True)


def requirements_for(requests: pd.DataFrame, rules: pd.DataFrame,
                     as_of: dt.date | None = None) -> pd.DataFrame:
    """Per request: pa_answer (Yes / No / Conditional / Unknown), and why.

    Columns: pa_answer, pa_reason (one sentence a manager can check), pa_rule_rows
    (PA Rules Excel rows that decided it), condition, visit_threshold, benefit_manager.
    """
    today = pd.Timestamp(as_of or dt.date.today())
    out = pd.DataFrame(index=requests.index)
    out["pa_answer"] = pd.Series("Unknown", index=requests.index, dtype="string")
    out["pa_reason"] = pd.Series("No codes on the request yet, so the PA requirement is unknown",
                                 index=requests.index, dtype="string")
    out["pa_rule_rows"] = pd.Series("", index=requests.index, dtype="string")
    for name in ("condition", "benefit_manager"):
        out[name] = pd.Series(pd.NA, index=requests.index, dtype="string")
    out["visit_threshold"] = pd.Series(pd.NA, index=requests.index, dtype="Int64")

    codes = split_codes(requests["codes"])
    if codes.empty:
        return out
    lines = pd.DataFrame({"code": codes.astype("string")})
    lines["request"] = lines.index
    lines = lines.reset_index(drop=True)
    lines["_payer"] = _key(requests["payer"]).reindex(lines["request"]).to_numpy()
    lines["_plan"] = requests["plan_type"].astype("string").reindex(lines["request"]).to_numpy()
    service = requests["scheduled_service_date"].fillna(today)
    lines["_on"] = service.reindex(lines["request"]).to_numpy()

    table = _prepare_rules(rules)
    matched = lines.merge(_code_matches(lines["code"], table), on="code", how="left")
    matched = matched.merge(table.drop(columns=["code"]), on="rule_row", how="left",
                            suffixes=("", "_rule"))
    keep = matched["rule_row"].notna()
    keep &= (matched["_payer_rule"] == "*") | (matched["_payer_rule"] == matched["_payer"])
    keep &= (matched["_plan_rule"] == "*") | (matched["_plan_rule"] == matched["_plan"])
    keep &= matched["effective_from"].isna() | (matched["effective_from"] <= matched["_on"])
    keep &= matched["effective_to"].isna() | (matched["effective_to"] >= matched["_on"])
    hits = matched[keep.fillna(False)].copy()
    hits["_specific"] = ((hits["_payer_rule"] != "*").astype(int) * 2
                         + (hits["_plan_rule"] != "*").astype(int))
    hits = hits.sort_values(["request", "code", "_specific", "_span", "rule_row"],
                            ascending=[True, True, False, True, True], kind="stable")
    winners = hits.drop_duplicates(["request", "code"])

    per_line = lines[["request", "code"]].merge(winners, on=["request", "code"], how="left")
    # a word the Lists sheet added to the PA Required list has no meaning here: Unknown
    # (never No), so the request is checked by a person
    answer = per_line["pa_required"].astype("string")
    per_line["answer"] = answer.where(answer.isin(list(ANSWER_RANK)).fillna(False), "Unknown")
    per_line["rank"] = per_line["answer"].map(ANSWER_RANK).astype(int)
    rule_codes = table.set_index("rule_row")["code"].astype("string")
    per_line["rule_code"] = per_line["rule_row"].map(rule_codes)
    per_line["sentence"] = (
        per_line["code"] + ": " + per_line["answer"] + " by PA Rules row "
        + per_line["rule_row"].astype("Int64").astype("string") + " ("
        + per_line["payer"].astype("string").fillna("*") + ", "
        + per_line["plan_type"].astype("string").fillna("*") + ", "
        + per_line["rule_code"].astype("string") + ")")
    unknown = per_line["rule_row"].isna()
    per_line.loc[unknown, "sentence"] = (per_line.loc[unknown, "code"]
                                         + ": Unknown, no PA Rules row matches; ask the payer "
                                         "and add a rule")
    worst = per_line.sort_values(["request", "rank"], ascending=[True, False],
                                 kind="stable").drop_duplicates("request").set_index("request")
    out.loc[worst.index, "pa_answer"] = worst["answer"]
    out.loc[worst.index, "condition"] = worst["condition"].astype("string")
    out.loc[worst.index, "visit_threshold"] = worst["visit_threshold"].astype("Int64")
    out.loc[worst.index, "benefit_manager"] = worst["benefit_manager"].astype("string")
    # Join per request in one pass over arrays (a groupby with Python callables per group is
    # the slow way for tens of thousands of requests).
    sentences: dict[object, list[str]] = {}
    rule_rows: dict[object, list[str]] = {}
    for request, sentence, rule_row in zip(per_line["request"].to_numpy(),
                                           per_line["sentence"].to_numpy(dtype=object),
                                           per_line["rule_row"].to_numpy(), strict=True):
        sentences.setdefault(request, []).append(sentence)
        rows = rule_rows.setdefault(request, [])
        if rule_row == rule_row and str(int(rule_row)) not in rows:  # not NaN, not repeated
            rows.append(str(int(rule_row)))
    out.loc[list(sentences), "pa_reason"] = ["; ".join(parts) for parts in sentences.values()]
    out.loc[list(rule_rows), "pa_rule_rows"] = [", ".join(parts) for parts in rule_rows.values()]
    return out


@dataclass
class Requirement:
    answer: str
    reason: str
    rule_rows: list[int] = field(default_factory=list)
    condition: str | None = None
    visit_threshold: int | None = None
    benefit_manager: str | None = None

    @classmethod
    def of(cls, row: pd.Series) -> Requirement:
        """One row of requirements_for as a Requirement (blank text is None)."""
        return cls(
            answer=str(row["pa_answer"]), reason=str(row["pa_reason"]),
            rule_rows=[int(part) for part in str(row["pa_rule_rows"]).split(", ") if part],
            condition=text_or_none(row["condition"]),
            visit_threshold=None if is_blank(row["visit_threshold"])
            else int(row["visit_threshold"]),
            benefit_manager=text_or_none(row["benefit_manager"]))


def requirement(rules: pd.DataFrame, payer: str, plan_type: str | None, codes: str,
                service_date: dt.date | None = None, as_of: dt.date | None = None
                ) -> Requirement:
    """Whether one service needs PA, with the PA Rules in effect on as_of (default today)."""
    request = pd.DataFrame({
        "payer": pd.Series([payer], dtype="string"),
        "plan_type": pd.Series([plan_type], dtype="string"),
        "codes": pd.Series([codes], dtype="string"),
        "scheduled_service_date": pd.Series([pd.Timestamp(service_date) if service_date
                                             else pd.NaT], dtype="datetime64[ns]"),
    })
    return Requirement.of(requirements_for(request, rules, as_of).iloc[0])


def documentation_checklist(criteria: pd.DataFrame, service_category: str | None,
                            payer: str | None, present: Iterable[str] = ()) -> pd.DataFrame:
    """The documents a request needs: item, required, source row, have (ticked), missing."""
    category = (criteria["service_category"].astype("string") == (service_category or "")) \
        .fillna(False)
    payer_key = _key(criteria["payer"]).fillna("*")
    own = category & (payer_key == (payer or "").strip().casefold())
    rows = criteria[own] if own.any() else criteria[category & (payer_key == "*")]
    have = {item.strip().casefold() for item in present}
    table = pd.DataFrame({
        "item": rows["item"].astype("string"),
        "required": (rows["required"].astype("string") != "No").fillna(True),
        "source": ("Criteria row " + rows.index.astype(str) + " ("
                   + rows["payer"].astype("string").fillna("*") + ")"),
    }).reset_index(drop=True)
    table["have"] = table["item"].str.strip().str.casefold().isin(have)
    table["missing"] = table["required"] & ~table["have"]
    return table


def enrollment_for(requests: pd.DataFrame, providers: pd.DataFrame,
                   as_of: dt.date | None = None) -> pd.DataFrame:
    """Per request: enrolled (bool) and enrollment_reason, on the submission date (else today)."""
    today = pd.Timestamp(as_of or dt.date.today())
    on = requests["submitted_at"].dt.normalize().fillna(today)
    lines = pd.DataFrame({"npi": requests["ordering_npi"].astype("string"),
                          "_payer": _key(requests["payer"]), "_on": on}, index=requests.index)
    table = providers.assign(npi=providers["npi"].astype("string"), _payer=_key(providers["payer"]))
    table = table.dropna(subset=["npi", "_payer"])
    order = table["enrollment_status"].map({"Enrolled": 0, "Pending": 1, "Not Enrolled": 2})
    table = table.assign(_order=order.fillna(3)).sort_values(["_order"], kind="stable")
    merged = lines.reset_index().merge(
        table[["npi", "_payer", "enrollment_status", "effective_date"]].drop_duplicates(
            ["npi", "_payer"]), on=["npi", "_payer"], how="left").set_index(lines.index.name
                                                                          or "index")
    merged.index = requests.index
    status = merged["enrollment_status"].astype("string")
    effective = merged["effective_date"]
    enrolled = (status == "Enrolled").fillna(False) & (effective.isna() | (effective <= on))
    payer = requests["payer"].astype("string").fillna("the payer")
    npi = lines["npi"].fillna("(none)")
    reason = pd.Series("enrolled with " + payer, index=requests.index, dtype="string")
    missing_npi = lines["npi"].isna()
    not_found = status.isna() & ~missing_npi
    reason[not_found] = ("NPI " + npi[not_found] + " has no enrollment with " + payer[not_found]
                         + " on the Providers sheet; enroll the provider or re-assign the order")
    pending = (status == "Pending").fillna(False)
    reason[pending] = ("NPI " + npi[pending] + " enrollment with " + payer[pending]
                       + " is Pending; the payer rejects requests before enrollment is active")
    refused = (status == "Not Enrolled").fillna(False)
    reason[refused] = ("NPI " + npi[refused] + " is Not Enrolled with " + payer[refused]
                       + "; re-assign the order to an enrolled provider")
    future = (status == "Enrolled").fillna(False) & ~enrolled
    reason[future] = ("NPI " + npi[future] + " enrollment with " + payer[future]
                      + " starts " + effective[future].dt.strftime("%Y-%m-%d").astype("string")
                      + ", after the submission date")
    reason[missing_npi] = "no ordering NPI on the request; add it"
    return pd.DataFrame({"enrolled": enrolled.astype(bool), "enrollment_reason": reason})


def code_findings(ordering_npi: str | None, codes: str | None, icd10: str | None) -> list[str]:
    """Plain-words problems with a request's identifiers (for the intake form)."""
    findings = []
    if ordering_npi:
        why = npi_problem(str(ordering_npi).strip())
        if why:
            findings.append(f"NPI {ordering_npi}: {why}")
    for code in split_codes(pd.Series([codes or ""])):
        why = procedure_code_problem(code)
        if why:
            findings.append(f"code {code} {why}")
    for code in split_codes(pd.Series([icd10 or ""])):
        verdict = icd10_problem(code)
        if verdict:
            findings.append(f"ICD-10-CM {code} {verdict[1]}")
    return findings
