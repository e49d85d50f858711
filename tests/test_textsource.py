"""Hostile text exports (issue 18): each file built here as the bytes an EHR or a careless
edit would leave, read into the rows a person would see, or refused naming the line."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from patoolkit.claims import claims_from_bytes
from patoolkit.errors import UnusableFileError
from patoolkit.tracker.textsource import MAX_CELL_CHARS, read_text_rows

HEADER = "Patient ID,Patient Name,Payer,CPT\r\n"


def lines(*rows: str, encoding: str = "utf-8") -> bytes:
    return "".join(row + "\r\n" for row in rows).encode(encoding)


def test_lines_not_in_utf8_are_read_as_windows_1252_and_named() -> None:
    """An export with a few lines in Windows-1252 among UTF-8 ones (two systems merged):
    every name reads right, and the warning names the lines (never the names)."""
    data = (HEADER.encode() + lines("P1,García Ana,Summit,97110")
            + lines("P2,Núñez José,Summit,97110", encoding="cp1252")
            + lines("P3,Zoë Brontë,Summit,97110")
            + lines(*(f"P{n},Peña Luis,Summit,97110" for n in range(4, 9)), encoding="cp1252"))
    read = read_text_rows(data, "log.csv")
    names = [row[1] for row in read.rows[1:]]
    assert names == ["García Ana", "Núñez José", "Zoë Brontë"] + ["Peña Luis"] * 5
    assert not any("Ã" in name for name in names)
    [warning] = read.warnings
    assert warning.startswith("log.csv: lines 3, 5, 6 and 3 more are not UTF-8")
    assert "Windows-1252" in warning
    assert "Peña" not in warning
    assert "Núñez" not in warning


def test_a_file_wholly_in_windows_1252_gets_one_line_naming_the_encoding() -> None:
    data = HEADER.encode() + lines("P1,García Ana,Summit,97110", "P2,Müller Jo,Summit,97110",
                                   encoding="cp1252")
    read = read_text_rows(data, "log.csv")
    assert [row[1] for row in read.rows[1:]] == ["García Ana", "Müller Jo"]
    assert read.encoding == "Windows-1252 (cp1252)"
    [warning] = read.warnings
    assert "not UTF-8; read as Windows-1252" in warning
    assert "line" not in warning.split(";")[0]  # one line for the file, not a list of lines


ROWS = [["Patient ID", "Patient Name", "Payer", "CPT"], ["P1", "García Ana", "Summit", "97110"]]


@pytest.mark.parametrize(("data", "encoding", "why"), [
    (codecs.BOM_UTF8 + "\r\n".join(",".join(r) for r in ROWS).encode(), "UTF-8",
     "Excel's 'CSV UTF-8' starts with a byte order mark"),
    (codecs.BOM_UTF16_LE + "\r\n".join("\t".join(r) for r in ROWS).encode("utf-16-le"),
     "UTF-16 LE", "Excel's 'Unicode Text': UTF-16 LE with a mark, tab-separated"),
    (codecs.BOM_UTF16_BE + "\n".join(";".join(r) for r in ROWS).encode("utf-16-be"),
     "UTF-16 BE", "UTF-16 BE with a mark"),
    ("\r\n".join("\t".join(r) for r in ROWS).encode("utf-16-le"), "UTF-16 LE",
     "UTF-16 LE without a mark, told by a NUL in every other byte"),
    ("\n".join(",".join(r) for r in ROWS).encode("utf-16-be"), "UTF-16 BE",
     "UTF-16 BE without a mark"),
])
def test_a_byte_order_mark_or_the_utf16_pattern_decides(data: bytes, encoding: str,
                                                         why: str) -> None:
    read = read_text_rows(data, "export.txt")
    assert read.rows == ROWS, why
    assert read.encoding == encoding, why
    assert read.warnings == [], why


@pytest.mark.parametrize(("first", "why"), [
    ("sep=;", "Excel's hint"),
    ('"sep=;"', "the hint quoted by a tool that quotes every line"),
    ("SEP=;;;", "padded with the delimiter to the row's width"),
])
def test_a_sep_line_sets_the_delimiter_and_is_dropped(first: str, why: str) -> None:
    data = lines(first, "Patient ID;Patient Name;Payer;CPT", "P1;Doe, Jane;Summit;97110")
    assert read_text_rows(data, "log.csv").rows == [
        ["Patient ID", "Patient Name", "Payer", "CPT"], ["P1", "Doe, Jane", "Summit", "97110"]
    ], why


def test_without_a_sep_line_the_delimiter_is_sniffed() -> None:
    data = lines("Patient ID|Payer|CPT", "P1|Summit|97110")
    assert read_text_rows(data, "log.csv").rows == [["Patient ID", "Payer", "CPT"],
                                                    ["P1", "Summit", "97110"]]


def test_a_quoted_address_over_two_lines_is_one_cell() -> None:
    data = lines("Patient ID,Address,Payer,CPT", 'P1,"12 Main St', 'Springfield, IL",Summit,97110',
                 "P2,3 Elm St,Summit,97112")
    assert read_text_rows(data, "log.csv").rows[1:] == [
        ["P1", "12 Main St\nSpringfield, IL", "Summit", "97110"],  # one kind of line break
        ["P2", "3 Elm St", "Summit", "97112"]]


def test_sloppy_quoting_within_one_line_is_read_as_before() -> None:
    data = lines(HEADER.strip(), 'P1,"Doe" Jr,Summit,97110', "P2,Roe,Summit,97112")
    assert read_text_rows(data, "log.csv").rows[1:] == [["P1", "Doe Jr", "Summit", "97110"],
                                                        ["P2", "Roe", "Summit", "97112"]]


QUOTE_NEVER_CLOSED = ('log.csv line 3: a quote (") opens here and is never closed; it would '
                      "swallow the rows below into one cell. Fix the quote in the file and "
                      "import again.")


@pytest.mark.parametrize(("rows", "why"), [
    (['P1,Doe,Summit,97110', 'P2,"Garcia Ana,Summit,97110', 'P3,"Roe, Rich",Summit,97112',
      "P4,Poe,Summit,97113"],
     "the quote closes on the next row's opening quote: the next row lands in the name"),
    (['P1,Doe,Summit,97110', 'P2,"Garcia Ana,Summit,97110', "P3,Roe,Summit,97112"],
     "the quote runs to the end of the file"),
    (['P1,Doe,Summit,97110', 'P2,"Garcia Ana,Summit,97110', "P3,Roe,Summit,97112",
      'P4,Poe,Summit,5"'],
     "the quote closes cleanly on an inch mark, leaving a row of two cells"),
    (['P1,"1 Main St', 'Springfield",Summit,97110', 'P2,"Garcia Ana,Summit,97110',
      'P3,"Roe",Summit,97112'],
     "a legit address above does not hide a later unclosed quote"),
])
def test_a_quote_never_closed_is_refused_naming_its_line(rows: list[str], why: str) -> None:
    data = lines(HEADER.strip(), *rows)
    with pytest.raises(UnusableFileError) as raised:
        read_text_rows(data, "log.csv")
    expected = QUOTE_NEVER_CLOSED
    if rows[0].count('"') == 1:  # the address takes lines 2 and 3
        expected = expected.replace("line 3", "line 4")
    assert str(raised.value) == expected, why


def test_a_nul_byte_is_refused_naming_the_lines() -> None:
    data = lines(HEADER.strip(), "P1,Doe,Summit,97110", "P2,Ro\0e,Summit,97110",
                 "P3,\0\0,Summit,97112")
    with pytest.raises(UnusableFileError, match=r"^log\.csv: lines 3 and 4 hold a NUL byte"):
        read_text_rows(data, "log.csv")
    wide = codecs.BOM_UTF16_LE + "A\tB\r\n1\t\0\r\n".encode("utf-16-le")
    with pytest.raises(UnusableFileError, match=r"^log\.txt: line 2 holds a NUL byte"):
        read_text_rows(wide, "log.txt")


@pytest.mark.parametrize(("length", "why"), [
    (MAX_CELL_CHARS + 1, "one character over Excel's limit for a cell"),
    (200_000, "over Python's csv limit too (131,072), which gave 'unexpected Error'"),
])
def test_a_cell_too_long_is_refused_naming_its_line(length: int, why: str) -> None:
    for cell in ("x" * length, f'"{"y" * length}"'):
        data = lines(HEADER.strip(), "P1,Doe,Summit,97110", f"P2,{cell},Summit,97110")
        with pytest.raises(UnusableFileError, match=r"^log\.csv line 3: a cell here holds "
                           r"more than 32,767 characters"):
            read_text_rows(data, "log.csv")
    assert read_text_rows(lines("A,B", f"1,{'z' * MAX_CELL_CHARS}"), "ok.csv").rows[1][1] \
        == "z" * MAX_CELL_CHARS, why


def test_the_claims_audit_reads_through_the_same_rules(tmp_path: Path) -> None:
    header = "Claim ID,Patient ID,Payer,DOS,CPT,Units,Auth Number\r\n"
    mixed = (header.encode() + "C1,P1,Salud Peña,11/02/2026,97110,1,AX1\r\n".encode()
             + "C2,P2,Salud Peña,11/03/2026,97110,1,AX2\r\n".encode("cp1252"))
    assert claims_from_bytes(mixed, "claims.csv").claims["payer"].tolist() == ["Salud Peña"] * 2
    broken = header.encode() + b'C1,P1,"Summit,11/02/2026,97110,1,AX1\r\nC2,"P2",x,y,z,1,A\r\n'
    with pytest.raises(UnusableFileError, match=r"claims\.csv line 2: a quote"):
        claims_from_bytes(broken, "claims.csv")


def test_utf16_cut_in_the_middle_of_a_character_is_refused_naming_the_line() -> None:
    data = codecs.BOM_UTF16_LE + "A\tB\r\n1\t2\r\n".encode("utf-16-le") + b"\x00\xd8"
    with pytest.raises(UnusableFileError, match=r"^log\.txt line 3: the file is UTF-16 LE "
                       "text but is cut or damaged here"):
        read_text_rows(data, "log.txt")
