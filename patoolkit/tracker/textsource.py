"""Text exports (CSV, tab-separated) read safely: bytes and a display name in, rows out.

Used through sources.read_rows, the reader of the import's source and the claims
audit's file.

- Encoding, per file: a byte order mark decides (UTF-8, UTF-16 LE/BE, UTF-32);
  UTF-16 without one is recognised by its NUL bytes (Excel's "Unicode Text" is
  UTF-16 LE, tab-separated). Anything else is UTF-8, and a line that is not
  UTF-8 is read as Windows-1252 (cp1252, what Windows EHRs write) with a warning
  naming the lines: never "GarcÃ­a", never silently.
- A first line `sep=;` (Excel's hint) sets the delimiter and is dropped;
  otherwise the delimiter is sniffed among , ; tab and |.
- Refused, with the line named: a NUL byte (a damaged or binary file), a cell
  longer than MAX_CELL_CHARS, and a quote that opens and is never closed
  properly, which would swallow the rows below it into one cell. A quoted cell
  over several lines (an address) is read as one cell.

Lines are the file's lines as a text editor numbers them; rows (the record
number, what Excel shows) can differ when a cell holds a line break.

Limitations: a row over several lines must have the file's usual number of
cells (a row with another number is the mark of a swallowing quote). A quote
that swallows rows and happens to close just before a delimiter or a line
break (a `5"` in a later row), leaving the swallowing row exactly the file's
usual number of cells, is not noticed.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from patoolkit.errors import UnusableFileError

MAX_CELL_CHARS = 32_767  # Excel's limit for one cell; csv's own (131,072) is not an error message
SNIFF_CHARS = 4096
DELIMITERS = ",;\t|"
BYTE_ORDER_MARKS = (  # UTF-32 first: its LE mark starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
FALLBACK = "cp1252"
FALLBACK_NAME = "Windows-1252 (cp1252)"
SEP_LINE = re.compile(r'"?sep=([^\r\n"])"?\1*[ \t]*(?:\r\n|\r|\n|$)', re.IGNORECASE)
LINES_NAMED = 3  # in a message, then "and N more"
# a line as csv counts them (\n, \r\n or a lone \r); str.splitlines also breaks at \f, \x1c,
# \u2028..., and io.StringIO holds four bytes a character (200 MB for a 50 MB export)
LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")


@dataclass
class TextRows:
    rows: list[list[object]]  # every cell a str; a blank line is []
    warnings: list[str] = field(default_factory=list)
    encoding: str = "UTF-8"


def read_text_rows(data: bytes, name: str) -> TextRows:
    """The rows of a CSV or tab-separated export; UnusableFileError naming the line."""
    text, encoding, warnings = _decode(data, name)
    first_line = 1
    dialect: Any = csv.excel
    options: dict[str, Any] = {}
    if sep := SEP_LINE.match(text):
        options["delimiter"] = sep.group(1)
        text, first_line = text[sep.end():], 2
    else:
        with contextlib.suppress(csv.Error):  # one column, or no delimiter in sight
            dialect = csv.Sniffer().sniff(text[:SNIFF_CHARS], delimiters=DELIMITERS)
    if not dialect.escapechar:
        # a quote in a quoted cell is doubled (Excel, RFC 4180); the sniffer says otherwise
        # when its sample has none, and csv then takes the next quote for a closing one
        options["doublequote"] = True
    rows = _Parser(name, dialect, options).parse(text, first_line)
    return TextRows(cast("list[list[object]]", rows), warnings, encoding)


# --- encodings ---------------------------------------------------------------------------

def _decode(data: bytes, name: str) -> tuple[str, str, list[str]]:
    """The text, the encoding's name, and a warning when some lines are not UTF-8."""
    for mark, codec, label in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            if codec == "utf-8":
                return _decode_bytes(data[len(mark):], name)
            return _decode_wide(data[len(mark):], codec, label, name), label, []
    wide = _utf16_without_mark(data[:SNIFF_CHARS])
    if wide:
        return _decode_wide(data, *wide, name), wide[1], []
    return _decode_bytes(data, name)


def _utf16_without_mark(sample: bytes) -> tuple[str, str] | None:
    """UTF-16 with no byte order mark: text in Latin letters has a NUL in every other byte."""
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 2:
        return None
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le", "UTF-16 LE"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be", "UTF-16 BE"
    return None


def _decode_wide(data: bytes, codec: str, label: str, name: str) -> str:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        before = data[:error.start].decode(codec, errors="replace")
        line = _line_at(before, len(before))
        raise UnusableFileError(
            f"{name} line {line}: the file is {label} text but is cut or damaged here; "
            "export it again, as CSV UTF-8 if you can.") from None
    _refuse_nul(text, "\0", name)
    return text


def _decode_bytes(data: bytes, name: str) -> tuple[str, str, list[str]]:
    """UTF-8, each line that is not read as Windows-1252; the warning names those lines."""
    _refuse_nul(data, b"\0", name)
    try:
        return data.decode("utf-8"), "UTF-8", []
    except UnicodeDecodeError:
        pass
    parts: list[str] = []
    fallback_lines: list[int] = []
    utf8_letters = False  # a line that is UTF-8 and not plain ASCII: the file mixes both
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        try:
            parts.append(line.decode("utf-8"))
            utf8_letters = utf8_letters or not line.isascii()
        except UnicodeDecodeError:
            fallback_lines.append(number)
            try:
                parts.append(line.decode(FALLBACK))
            except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
                parts.append(line.decode("latin-1"))
    if utf8_letters:
        warning = (f"{name}: {_lines_named(fallback_lines)} "
                   f"{'is' if len(fallback_lines) == 1 else 'are'} not UTF-8 like the rest "
                   f"of the file; read as {FALLBACK_NAME}. Check the accented letters in "
                   "names and notes from those lines.")
        encoding = f"UTF-8 and {FALLBACK_NAME}"
    else:
        warning = (f"{name}: not UTF-8; read as {FALLBACK_NAME}, the usual encoding of a "
                   "Windows export. If accented letters look wrong, export the file again "
                   "as CSV UTF-8.")
        encoding = FALLBACK_NAME
    return "".join(parts), encoding, [warning]


def _refuse_nul(text: str | bytes, nul: Any, name: str) -> None:
    if text.find(nul) < 0:
        return
    lines: Any = (text.splitlines(keepends=True) if isinstance(text, bytes)
                  else (line.group() for line in LINE.finditer(text)))
    nul_lines = [number for number, line in enumerate(lines, start=1) if nul in line]
    raise UnusableFileError(
        f"{name}: {_lines_named(nul_lines)} {'holds' if len(nul_lines) == 1 else 'hold'} a "
        "NUL byte (\\0), which a text export never has: the file is damaged or is not a "
        "CSV. Export it again (CSV UTF-8 or .xlsx) and import that.")


def _line_at(text: Any, position: int) -> int:
    """The line number (from 1) of a position, counting \\n, \\r\\n and a lone \\r once each."""
    newline, carriage, both = ("\n", "\r", "\r\n") if isinstance(text, str) else \
        (b"\n", b"\r", b"\r\n")
    return (int(text.count(newline, 0, position)) + int(text.count(carriage, 0, position))
            - int(text.count(both, 0, position)) + 1)


def _lines_named(numbers: list[int]) -> str:
    """'line 12', 'lines 12 and 40', 'lines 12, 40, 41 and 15 more'."""
    if len(numbers) == 1:
        return f"line {numbers[0]}"
    shown = [str(number) for number in numbers[:LINES_NAMED]]
    rest = len(numbers) - len(shown)
    if rest:
        return f"lines {', '.join(shown)} and {rest} more"
    return f"lines {', '.join(shown[:-1])} and {shown[-1]}"


# --- rows --------------------------------------------------------------------------------

class _Parser:
    """csv.reader in strict mode, line by line, knowing each row's lines.

    Strict mode stops at a quote followed by anything but a delimiter or a line break,
    and at a file that ends inside a quote: the marks of a quote that was never closed.
    Within one line that is only sloppy quoting ('"Doe" Jr'), read as before; over
    several lines it is a swallowing quote, refused.
    """

    def __init__(self, name: str, dialect: Any, options: dict[str, Any]):
        self.name = name
        self.dialect = dialect
        self.options = options
        self.pending: list[str] = []  # the lines of the row being read

    def _lines(self, text: str) -> Iterator[str]:
        for found in LINE.finditer(text):
            line = found.group()
            self.pending.append(line)
            yield line

    def parse(self, text: str, first_line: int) -> list[list[str]]:
        rows: list[list[str]] = []
        spanning: list[tuple[int, int]] = []  # (index in rows, first line) of multi-line rows
        lines = self._lines(text)
        pending = self.pending
        held: dict[str, str] = {}
        distinct = held.setdefault  # a payer or a date repeated 300,000 times is held once
        line = first_line - 1  # lines read before the row being read
        while True:
            reader = csv.reader(lines, self.dialect, strict=True, **self.options)
            try:
                for row in reader:
                    if len(pending) > 1:
                        row = [cell.replace("\r\n", "\n").replace("\r", "\n") if "\r" in cell
                               else cell for cell in row]  # one kind of line break
                        spanning.append((len(rows), line + 1))
                        if sum(map(len, pending)) > MAX_CELL_CHARS:
                            self._check_lengths(row, line + 1)
                    elif len(pending[0]) > MAX_CELL_CHARS:
                        self._check_lengths(row, line + 1)
                    rows.append(list(map(distinct, row, row)))  # one str per distinct value
                    line += len(pending)
                    pending.clear()
                break
            except csv.Error as error:
                rows.append(self._recover(str(error), line + 1))
                line += len(pending)
                pending.clear()
        self._check_spanning(rows, spanning)
        return rows

    def _recover(self, error: str, first_line: int) -> list[str]:
        """The row csv refused: one line of sloppy quoting is read leniently; the rest is
        an error naming the line."""
        raw = "".join(self.pending)
        if "field larger than field limit" in error:
            opened = _unclosed_quote(raw, self._delimiter(), self._quotechar())
            if opened is not None and opened[1]:
                self._refuse_quote(first_line + opened[0])
            self._refuse_long(first_line)
        if len(self.pending) == 1:
            row = next(csv.reader([raw], self.dialect, strict=False, **self.options), [])
            if not any("\n" in cell or "\r" in cell for cell in row):
                if len(raw) > MAX_CELL_CHARS:
                    self._check_lengths(row, first_line)
                return row
        opened = _unclosed_quote(raw, self._delimiter(), self._quotechar())
        self._refuse_quote(first_line + (opened[0] if opened else 0))
        raise AssertionError  # pragma: no cover - _refuse_quote raises

    def _delimiter(self) -> str:
        return str(self.options.get("delimiter", self.dialect.delimiter))

    def _quotechar(self) -> str:
        return str(self.dialect.quotechar or '"')

    def _check_lengths(self, row: list[str], first_line: int) -> None:
        for position, cell in enumerate(row):
            if len(cell) > MAX_CELL_CHARS:
                self._refuse_long(first_line + sum(c.count("\n") for c in row[:position]))

    def _check_spanning(self, rows: list[list[str]], spanning: list[tuple[int, int]]) -> None:
        """A row over several lines with another number of cells than the file's rows
        usually have: a quote swallowed rows, and the cell with the most lines holds them."""
        if not spanning:
            return
        usual = Counter(len(row) for row in rows if row).most_common(1)[0][0]
        for index, first_line in spanning:
            row = rows[index]
            if len(row) != usual:
                breaks = [cell.count("\n") for cell in row]
                widest = breaks.index(max(breaks))
                self._refuse_quote(first_line + sum(breaks[:widest]))

    def _refuse_quote(self, line: int) -> None:
        quote = self._quotechar()
        raise UnusableFileError(
            f"{self.name} line {line}: a quote ({quote}) opens here and is never closed; it "
            "would swallow the rows below into one cell. Fix the quote in the file and "
            "import again.")

    def _refuse_long(self, line: int) -> None:
        raise UnusableFileError(
            f"{self.name} line {line}: a cell here holds more than {MAX_CELL_CHARS:,} "
            "characters, more than a spreadsheet cell can (Excel's limit); this is not a "
            "tracker export, or the cell was pasted by mistake. Shorten it in the file and "
            "import again.")


def _unclosed_quote(raw: str, delimiter: str, quote: str) -> tuple[int, bool] | None:
    """Where, in a row's raw text, a quoted cell opens that is not closed properly: (lines
    before it, whether it runs to the end); None when every quote closes properly."""
    position, end, at_start = 0, len(raw), True
    next_field = re.compile(f"[{re.escape(delimiter)}\r\n]")
    while position < end:
        if at_start and raw[position] == quote:
            opened = position
            position += 1
            while True:
                closing = raw.find(quote, position)
                if closing < 0:
                    return _line_at(raw, opened) - 1, True
                if raw.startswith(quote, closing + 1):  # a doubled quote is a quote
                    position = closing + 2
                    continue
                if raw[closing + 1:closing + 2] not in ("", delimiter, "\r", "\n"):
                    return _line_at(raw, opened) - 1, False
                position, at_start = closing + 1, False
                break
            continue
        found = next_field.search(raw, position)
        if found is None:
            break
        position, at_start = found.end(), True
    return None
