"""Form checks for the identifiers a PA request carries: NPI, CPT/HCPCS, ICD-10-CM.

The NPI check digit is the Luhn digit over "80840" + the first nine digits
(CMS NPI standard); python-stdnum computes it. ICD-10-CM codes are checked
against the real code set shipped by simple-icd-10-cm. CPT descriptors belong
to the AMA, so only the form of a CPT code is checked.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from functools import cache
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pandas as pd
from stdnum import luhn

CPT_FORM = re.compile(r"^\d{4}[0-9FTUM]$")  # 99213, 3074F (cat II), 0042T (cat III), 0001U (PLA)
HCPCS_FORM = re.compile(r"^[A-V]\d{4}$")  # J0135, E0601
ICD10_FORM = re.compile(r"^[A-Z]\d[0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
NPI_FORM = re.compile(r"^\d{10}$")


def npi_problem(npi: str) -> str | None:
    """Why this NPI is not valid, or None when it is."""
    if not NPI_FORM.match(npi):
        return "an NPI is exactly 10 digits"
    if not luhn.is_valid("80840" + npi):
        return "the NPI check digit is wrong (Luhn over 80840 + NPI); look it up in NPPES"
    return None


def is_valid_npi(npi: str) -> bool:
    return npi_problem(str(npi)) is None


def npi_check_digit(first_nine: str) -> str:
    """The tenth digit that makes first_nine a valid NPI."""
    return luhn.calc_check_digit("80840" + first_nine)


def procedure_code_problem(code: str) -> str | None:
    """Why a CPT/HCPCS code is malformed, or None."""
    if CPT_FORM.match(code) or HCPCS_FORM.match(code):
        return None
    return (
        "is not a CPT code (5 characters: 5 digits, or 4 digits and F, T, U or M) "
        "nor a HCPCS Level II code (a letter A-V and 4 digits)"
    )


# A code's letters, number and suffix: CPT 97110 and 3074F, HCPCS J0135, and the service
# codes states give their Medicaid programs (Z1234, 1234), which are neither.
CODE_PARTS = re.compile(r"([A-Z]{0,2})(\d{3,5})([A-Z0-9]{0,2})")
STATE_CODE_WARNING = ("is not a CPT or HCPCS code; if it is the state's own service code, check "
                      "it with the payer")


# A state's own service codes: the retired local (level III) HCPCS codes of W-Z and four
# digits many Medicaid programs still use (Z1234), and four-digit program or revenue codes.
STATE_CODE_FORM = re.compile(r"^(?:[W-Z]\d{4}|\d{4})$")


def looks_like_service_code(code: str) -> bool:
    """CPT, HCPCS or a state's own service code by its shape; not words, not a modifier, not
    a typo such as ZZ123."""
    return bool(CPT_FORM.match(code) or HCPCS_FORM.match(code) or STATE_CODE_FORM.match(code))


def format_icd10(code: str) -> str:
    """'m5416' -> 'M54.16': upper case with the dot after the third character."""
    code = code.strip().upper().replace(" ", "")
    if "." not in code and len(code) > 3:
        code = code[:3] + "." + code[3:]
    return code


def _icd_module() -> ModuleType:
    with warnings.catch_warnings():
        # simple-icd-10-cm reads its data with a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


@cache
def icd10_code_set() -> dict[str, bool]:
    """Every ICD-10-CM code (with its dot) -> whether it is billable (a leaf).

    simple-icd-10-cm parses its whole data file on import (seconds); the answer
    is cached per package version in the user's cache folder (billable codes,
    a blank line, then the other codes), so later runs read one small file.
    """
    try:
        version = metadata.version("simple-icd-10-cm")
    except metadata.PackageNotFoundError:
        version = "unknown"
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "patoolkit"
    cached = folder / f"icd10cm-{version}.txt"
    with contextlib.suppress(OSError, ValueError):
        billable, _, other = cached.read_text(encoding="ascii").partition("\n\n")
        codes = dict.fromkeys(other.split(), False)
        codes.update(dict.fromkeys(billable.split(), True))
        if len(codes) > 1000:
            return codes
    icd = _icd_module()
    codes = {code: bool(icd.is_leaf(code)) for code in icd.get_all_codes(True)}
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.partial")
        partial.write_text("\n".join(code for code, leaf in codes.items() if leaf) + "\n\n"
                           + "\n".join(code for code, leaf in codes.items() if not leaf),
                           encoding="ascii")
        os.replace(partial, cached)
    return codes


@cache
def icd10_problem(code: str) -> tuple[str, str] | None:
    """(severity, why) when an ICD-10-CM code is wrong or not billable, else None."""
    formatted = format_icd10(code)
    if not ICD10_FORM.match(formatted):
        return ("error", "is not shaped like an ICD-10-CM code (letter, digit, letter or digit, "
                "then up to four more after a dot, e.g. M54.16)")
    billable = icd10_code_set().get(formatted)
    if billable is None:
        return ("error", "is not in the ICD-10-CM code set; check the code")
    if not billable:
        return ("warning", "is a category, not a billable code; use a more specific code")
    return None


def split_codes(values: pd.Series) -> pd.Series:
    """Comma (or semicolon) separated codes, one per row, keeping the original index."""
    text = values.dropna().astype(str).str.upper().str.replace(";", ",", regex=False)
    parts = text.str.split(",").explode().str.strip()
    return parts[parts.notna() & (parts != "")]


def code_in_range(code: str, rule: str) -> bool:
    """Whether a procedure code falls under a rule: one code, a range 70551-70553, or *."""
    rule = rule.strip().upper()
    code = code.strip().upper()
    if rule == "*":
        return True
    if "-" in rule:
        low, high = (part.strip() for part in rule.split("-", 1))
        return len(code) == len(low) and low <= code <= high
    return code == rule
