"""Surgical edits of an .xlsx package: only the parts that change are rewritten.

An .xlsx file is a zip of XML parts. A spreadsheet library that loads the whole
workbook and saves it again writes back only what it models: openpyxl drops
Excel's own dropdowns that point at another sheet (x14 data validations), data
bars, sparklines, slicers, charts it did not make, pivot tables and an .xlsm's
macros. This module never models the workbook. It

- copies every zip member it does not change byte for byte, compressed data
  included (no decompressing and recompressing: `Package.save`);
- edits the worksheet XML of the sheets that change as text, one row at a time:
  a changed cell is replaced, a new cell is put in column order, a new row in row
  order, and everything else in the part (formulas and their cached results,
  comments' anchors, extension lists, the analyst's own columns) is left as it was;
- follows what a change implies: the sheet's `<dimension>`, the range of a Table
  (and of its autofilter) that the new rows extend, data validations and
  conditional formats (x14 ones included) whose range ended at the old last row,
  and `fullCalcOnLoad` when the workbook holds formulas.

How cells are written (as Excel writes them):
- text as an inline string (`t="inlineStr"`): the shared-string table is never
  rewritten, so a save costs nothing for a large one; Excel turns inline strings
  into shared ones the next time it saves the file. Text is always a string cell,
  never a formula, whatever it starts with.
- numbers as numbers; dates and date-times as serial numbers (days since
  1899-12-30) with a date format: the cell's own style when it is one, else a style
  the workbook already has with the same look and a date format, else a new one
  added to styles.xml (the only time styles.xml changes).
- a new row takes the style of each cell of the row above (or the column's style).

Element order follows the SpreadsheetML schema (cells by column in a row, rows by
number in sheetData), so Excel does not offer to repair the file.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import html
import itertools
import math
import re
import struct
import tempfile
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from typing import BinaryIO

from openpyxl.utils.cell import column_index_from_string, get_column_letter

EPOCH = dt.datetime(1899, 12, 30)
EPOCH_1904 = dt.datetime(1904, 1, 1)  # workbooks made on old Macs count days from 1904
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?(?:/>|>.*?</row>)', re.S)
ROW_OPEN = re.compile(rb'<row\b[^>]*?(/?)>')
CELL = re.compile(rb'<c\b([^>]*?)(?:/>|>(.*?)</c>)', re.S)
ATTRIBUTE = re.compile(rb'\b([A-Za-z:]+)="([^"]*)"')
ADDRESS = re.compile(r"^([A-Z]{1,3})(\d+)$")
TEXT = re.compile(rb'<t\b[^>]*?(?:/>|>(.*?)</t>)', re.S)
PHONETIC = re.compile(rb'<rPh\b.*?</rPh>', re.S)
SHARED_ITEM = re.compile(rb'<si\b[^>]*?(?:/>|>(.*?)</si>)', re.S)
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
BUILTIN_DATE_FORMATS = {14, 15, 16, 17, 22, 27, 30, 36, 45, 46, 47, 50, 57}
DATETIME_BUILTIN = 22


# zlib level for the parts a save rewrites: 1 deflates a large sheet about three times faster
# than 6 for a file about a fifth larger (benchmarks/README.md).
COMPRESSION_LEVEL = 1


class PackageError(ValueError):
    """The package is not one this module can edit (said in words by the caller)."""


# --- the zip, member by member -------------------------------------------------------------

HEAD_SIZE = 4096  # bytes of a rewritten part kept plain (its root element)


# --- CRC-32 of joined pieces (zlib's crc32_combine, which Python's zlib does not offer) -----

_CRC_POLY = 0xEDB88320


def _multmodp(a: int, b: int) -> int:
    """a times b modulo the CRC-32 polynomial (reflected), as zlib's multmodp."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if a & (m - 1) == 0:
                break
        m >>= 1
        b = (b >> 1) ^ _CRC_POLY if b & 1 else b >> 1
    return p


_X2N = [1 << 30]  # x^(2^n) modulo the polynomial
for _ in range(31):
    _X2N.append(_multmodp(_X2N[-1], _X2N[-1]))


def _x2nmodp(n: int, k: int) -> int:
    p = 1 << 31  # x^0
    while n:
        if n & 1:
            p = _multmodp(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return p


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A+B from the CRC-32 of A, of B and B's length (zlib's own method)."""
    return _multmodp(_x2nmodp(length2, 3), crc1) ^ crc2


@dataclass
class RawPiece:
    """Plain bytes already deflated as a segment of their own (Deflated.mark): copied as
    they are into a new stream."""

    blocks: list[bytes | memoryview]
    crc: int
    size: int  # plain


@dataclass(frozen=True)
class Mark:
    """Where a segment of a part ends (Deflated.mark), among the pieces of write_pieces."""

    label: str


SEGMENTS_FIELD = 0x6B70  # a zip extra field of patoolkit's own ('pk'); readers skip it
SEGMENTS = struct.Struct("<HH4sB6QI")


@dataclass(frozen=True)
class Segments:
    """How patoolkit deflated an append-only sheet (History), kept in its zip member's
    extra field, so the next save appends rows without inflating or deflating the rows
    already there: the stream is the head (up to the end of the header row), the rows,
    and the tail (from </sheetData>), each segment ending on a full flush. Trusted only
    when the member's CRC-32 agrees (an office suite's save drops the field anyway)."""

    head_raw: int  # the rows start at this byte of the deflated stream...
    head_plain: int  # ...and at this byte of the plain part
    tail_raw: int
    tail_plain: int  # plain length of the tail
    rows_crc: int  # CRC-32 of the rows' plain bytes
    last_row: int  # the number of the last row (it holds values)
    last_styles: tuple[tuple[int, int], ...]  # (column, style) of its cells

    def pack(self) -> bytes:
        styles = b"".join(struct.pack("<HI", column, style)
                          for column, style in self.last_styles[:2_000])
        body = SEGMENTS.pack(SEGMENTS_FIELD, SEGMENTS.size - 4 + len(styles), b"PAtk", 1,
                             self.head_raw, self.head_plain, self.tail_raw, self.tail_plain,
                             self.rows_crc, self.last_row, len(styles) // 6)
        return body + styles

    @classmethod
    def unpack(cls, extra: bytes) -> Segments | None:
        position = 0
        while position + 4 <= len(extra):
            field_id, length = struct.unpack_from("<HH", extra, position)
            if field_id == SEGMENTS_FIELD and length >= SEGMENTS.size - 4 \
                    and position + 4 + length <= len(extra):
                (_, _, magic, version, head_raw, head_plain, tail_raw, tail_plain, rows_crc,
                 last_row, count) = SEGMENTS.unpack_from(extra, position)
                if magic != b"PAtk" or version != 1 or SEGMENTS.size - 4 + 6 * count != length:
                    return None
                styles = tuple(struct.unpack_from("<HI", extra, position + SEGMENTS.size
                                                  + 6 * index) for index in range(count))
                return cls(head_raw, head_plain, tail_raw, tail_plain, rows_crc, last_row,
                           styles)
            position += 4 + length
        return None


SPOOL_IN_MEMORY = 8 << 20  # a deflated part larger than this waits for the save on disk


@dataclass
class Deflated:
    """A part deflated piece by piece as it is written: the raw deflate stream (as a zip
    member stores it, in a spool: in memory when small, else in an anonymous temporary
    file, so an import's 300,000 new rows are not held even compressed), its CRC-32 and
    plain size."""

    crc: int = 0
    size: int = 0
    raw_size: int = 0
    head: bytes = b""
    found: dict[re.Pattern[bytes], bool] = field(default_factory=dict)
    spool: tempfile.SpooledTemporaryFile[bytes] = field(  # closed by Package.close
        default_factory=lambda: tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY))  # noqa: SIM115
    compressor: zlib._Compress | None = None

    marks: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # see mark()
    since_mark: tuple[int, int] = (0, 0)  # CRC and size of what was added since the last mark

    def add(self, piece: bytes | memoryview) -> None:
        if self.compressor is None:
            self.compressor = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, -15)
        self._put(self.compressor.compress(piece))
        self.crc, self.size = zlib.crc32(piece, self.crc), self.size + len(piece)
        self.since_mark = (zlib.crc32(piece, self.since_mark[0]), self.since_mark[1] + len(piece))

    def mark(self, label: str) -> None:
        """End a segment: a full flush, so what follows refers to nothing before it and
        starts on a byte. Records (raw offset, plain offset, CRC of the plain bytes since
        the last mark) under label."""
        if self.compressor is None:
            self.compressor = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, -15)
        self._put(self.compressor.flush(zlib.Z_FULL_FLUSH))
        self.marks[label] = (self.raw_size, self.size, self.since_mark[0])
        self.since_mark = (0, 0)

    def add_raw(self, piece: RawPiece) -> None:
        """Splice in a segment deflated earlier (after a mark: it starts on a byte and
        refers to nothing before it)."""
        for block in piece.blocks:
            self._put(bytes(block))
        self.crc = crc32_combine(self.crc, piece.crc, piece.size)
        self.since_mark = (crc32_combine(self.since_mark[0], piece.crc, piece.size),
                           self.since_mark[1] + piece.size)
        self.size += piece.size

    def _put(self, raw: bytes) -> None:
        if raw:
            self.spool.write(raw)
            self.raw_size += len(raw)

    def finish(self) -> None:
        if self.compressor is None:
            self.compressor = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, -15)
        self._put(self.compressor.flush())
        self.compressor = None

    def raw(self) -> Iterator[bytes]:
        """The deflate stream, a block at a time."""
        self.spool.seek(0)
        while block := self.spool.read(1 << 20):
            yield block


class Package:
    """An .xlsx (or .xlsm) file's parts: read lazily, replaced in memory, saved at once."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        try:
            self.zip = zipfile.ZipFile(BytesIO(data))
        except zipfile.BadZipFile as error:
            raise PackageError(f"not a workbook ({error})") from None
        self.names = [info.filename for info in self.zip.infolist()]
        self.replaced: dict[str, bytes] = {}
        self.deflated: dict[str, Deflated] = {}  # rewritten sheets, deflated as written
        self.added: list[str] = []
        self.cache: dict[str, bytes] = {}
        self.extra: dict[str, bytes] = {}  # zip extra field of a rewritten member (Segments)

    def read(self, name: str) -> bytes:
        if name in self.deflated:  # rare: a rewritten sheet read again
            return zlib.decompress(b"".join(self.deflated[name].raw()), -15)
        if name in self.replaced:
            return self.replaced[name]
        if name not in self.cache:
            self.cache[name] = self._inflate(name)
        return self.cache[name]

    def _inflate(self, name: str) -> bytes:
        """A member's content, inflated into one buffer of its exact size (zipfile's read
        joins chunks, holding a large sheet twice), its CRC checked."""
        info = self.zip.getinfo(name)
        if info.compress_type != zipfile.ZIP_DEFLATED:
            return self.zip.read(name)
        raw = memoryview(self.data)[self._data_start(info):][:info.compress_size]
        try:
            content = zlib.decompress(raw, -15, max(info.file_size, 1))
        except zlib.error as error:
            raise PackageError(f"damaged zip entry {name} ({error})") from None
        if zlib.crc32(content) != info.CRC or len(content) != info.file_size:
            raise PackageError(f"damaged zip entry {name} (its checksum does not match)")
        return content

    def close(self) -> None:
        """Let go of the spools of the deflated parts (after saving, or giving up)."""
        for deflated in self.deflated.values():
            deflated.spool.close()

    def segments(self, name: str) -> tuple[Segments, bytes, bytes] | None:
        """An append-only part's Segments with its head and tail inflated, when patoolkit
        wrote it last and the member agrees with them (sizes and CRC-32); else None."""
        if name not in self.names or name in self.deflated or name in self.replaced:
            return None
        info = self.zip.getinfo(name)
        found = Segments.unpack(info.extra)
        if found is None or info.compress_type != zipfile.ZIP_DEFLATED:
            return None
        raw = memoryview(self.data)[self._data_start(info):][:info.compress_size]
        rows_plain = info.file_size - found.head_plain - found.tail_plain
        if not (0 < found.head_raw <= found.tail_raw < len(raw) and rows_plain >= 0):
            return None
        try:
            head = zlib.decompressobj(-15).decompress(raw[:found.head_raw])
            tail_inflater = zlib.decompressobj(-15)
            tail = tail_inflater.decompress(raw[found.tail_raw:])
        except zlib.error:
            return None
        if len(head) != found.head_plain or len(tail) != found.tail_plain or \
                not tail_inflater.eof or not tail.startswith(b"</sheetData>"):
            return None
        whole = crc32_combine(crc32_combine(zlib.crc32(head), found.rows_crc, rows_plain),
                              zlib.crc32(tail), len(tail))
        return (found, head, tail) if whole == info.CRC else None

    def raw_rows(self, name: str, found: Segments) -> RawPiece:
        """The rows of a segmented part as they are stored, deflated (Segments)."""
        info = self.zip.getinfo(name)
        start = self._data_start(info)
        return RawPiece([memoryview(self.data)[start + found.head_raw:start + found.tail_raw]],
                        found.rows_crc, info.file_size - found.head_plain - found.tail_plain)

    def has(self, name: str) -> bool:
        return name in self.replaced or name in self.deflated or name in self.names

    def write(self, name: str, content: bytes) -> None:
        if name not in self.names and name not in self.added:
            self.added.append(name)
        self.deflated.pop(name, None)
        self.replaced[name] = content
        self.cache.pop(name, None)

    def write_pieces(self, name: str, pieces: Iterable[bytes | memoryview | Mark | RawPiece],
                     watch: Iterable[re.Pattern[bytes]] = ()) -> None:
        """A rewritten part as the pieces it is made of (slices of the old part, new rows
        made a chunk at a time), deflated as they come: never joined, and an import's
        300,000 new rows are held only compressed. `watch` patterns are looked for on the
        way (`search` answers them without inflating the part again); pieces are cut at
        row boundaries, which no element crosses."""
        if name not in self.names and name not in self.added:
            self.added.append(name)
        self.replaced.pop(name, None)
        self.cache.pop(name, None)
        watched = list(watch)
        deflated = Deflated(found=dict.fromkeys(watched, False))
        for piece in pieces:
            if isinstance(piece, Mark):
                deflated.mark(piece.label)
                continue
            if isinstance(piece, RawPiece):  # rows kept deflated: nothing watched in them
                deflated.add_raw(piece)  # (History's, which holds values only)
                continue
            if len(deflated.head) < HEAD_SIZE:
                deflated.head += bytes(piece[:HEAD_SIZE - len(deflated.head)])
            for pattern in watched:
                if not deflated.found[pattern] and pattern.search(piece):
                    deflated.found[pattern] = True
            deflated.add(piece)
        deflated.finish()
        self.deflated[name] = deflated
        self.extra.pop(name, None)

    def head(self, name: str, size: int = HEAD_SIZE) -> bytes:
        """The first bytes of a part (its root element), without inflating a rewritten one."""
        if name in self.deflated:
            return self.deflated[name].head[:size]
        return self.read(name)[:size]

    def search(self, name: str, pattern: re.Pattern[bytes]) -> bool:
        """Whether a part holds a match (for a rewritten sheet, as watched when written)."""
        if name in self.deflated and pattern in self.deflated[name].found:
            return self.deflated[name].found[pattern]
        return pattern.search(self.read(name)) is not None

    def _data_start(self, info: zipfile.ZipInfo) -> int:
        start = info.header_offset
        header = self.data[start:start + 30]
        if header[:4] != b"PK\x03\x04":
            raise PackageError(f"damaged zip entry {info.filename}")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        return start + 30 + name_length + extra_length

    def _raw(self, info: zipfile.ZipInfo) -> bytes:
        """A member's compressed bytes exactly as stored, found from its local header."""
        begin = self._data_start(info)
        return self.data[begin:begin + info.compress_size]

    def save(self, out: BinaryIO | None = None) -> memoryview:
        """The new package: unchanged members copied as stored, changed ones deflated,
        written into `out` (a stream with write and tell; then an empty view is returned)
        or into memory (a view of the one buffer: no copy of a large workbook)."""
        given = out is not None
        out = out if out is not None else BytesIO()
        central: list[bytes] = []
        for name in [*self.names, *self.added]:
            if name in self.replaced or name in self.deflated:
                if name in self.deflated:
                    deflated = self.deflated[name]
                else:
                    deflated = self.deflated[name] = Deflated()  # closed with the rest
                    deflated.add(self.replaced[name])
                    deflated.finish()
                raw: Iterable[bytes] = deflated.raw()
                crc, size, raw_size = deflated.crc, deflated.size, deflated.raw_size
                method = zipfile.ZIP_DEFLATED
                original = self.zip.getinfo(name) if name in self.names else None
                date_time = original.date_time if original else (1980, 1, 1, 0, 0, 0)
            else:
                info = self.zip.getinfo(name)
                stored = self._raw(info)
                raw, raw_size, crc, size, method = [stored], len(stored), info.CRC, \
                    info.file_size, info.compress_type
                date_time = info.date_time
                self.extra.setdefault(name, info.extra)  # as it was (History's Segments)
            if raw_size >= 0xFFFFFFFF or size >= 0xFFFFFFFF or out.tell() >= 0xFFFFFFFF:
                raise PackageError("workbook over 4 GB")
            encoded = name.encode("utf-8")
            flags = 0x800 if not name.isascii() else 0
            dos_time = (date_time[3] << 11) | (date_time[4] << 5) | (date_time[5] // 2)
            dos_date = ((max(date_time[0], 1980) - 1980) << 9) | (date_time[1] << 5) | date_time[2]
            offset = out.tell()
            extra = self.extra.get(name, b"")
            out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, flags, method, dos_time,
                                  dos_date, crc, raw_size, size, len(encoded), len(extra)))
            out.write(encoded + extra)
            for chunk in raw:
                out.write(chunk)
            central.append(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, flags, method,
                                       dos_time, dos_date, crc, raw_size, size, len(encoded),
                                       len(extra), 0, 0, 0, 0, offset) + encoded + extra)
        start = out.tell()
        for entry in central:
            out.write(entry)
        size = out.tell() - start
        count = len(central)
        out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, size, start, 0))
        return memoryview(b"") if given else out.getbuffer()  # type: ignore[attr-defined]


# --- shared strings and styles ---------------------------------------------------------------

def _unescape(text: bytes) -> str:
    return html.unescape(text.decode("utf-8"))


class SharedStrings:
    """The shared-string table, decoded item by item when asked (a large one is never
    parsed whole: a save needs a handful of its strings)."""

    def __init__(self, xml: bytes) -> None:
        self.xml = xml
        self.starts = [match.start() for match in SHARED_START.finditer(xml)]
        self.cache: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> str:
        text = self.cache.get(index)
        if text is None:
            match = SHARED_ITEM.match(self.xml, self.starts[index])
            body = PHONETIC.sub(b"", (match.group(1) if match else b"") or b"")
            text = self.cache[index] = "".join(_unescape(part or b"")
                                               for part in TEXT.findall(body))
        return text

    def indexes_of(self, text: str) -> list[int]:
        """The items that read as `text` (trimmed, any case): found by a search of the raw
        XML for the text, then checked item by item."""
        wanted = text.strip().upper()
        if not wanted:
            return []
        pattern = re.compile(re.escape(html.escape(text.strip(), quote=False).encode()),
                             re.IGNORECASE)
        found = set()
        for match in pattern.finditer(self.xml):
            index = bisect.bisect_right(self.starts, match.start()) - 1
            if index >= 0 and self[index].strip().upper() == wanted:
                found.add(index)
        return sorted(found)


SHARED_START = re.compile(rb'<si\b')


def shared_strings(package: Package) -> SharedStrings:
    path = _related_part(package, "xl/workbook.xml", "sharedStrings")
    if path is None or not package.has(path):
        return SharedStrings(b"")
    return SharedStrings(package.read(path))


RELATIONSHIP = re.compile(rb'<Relationship\b([^>]*?)/?>')


def _rels_path(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def _resolve(part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = part.rpartition("/")[0].split("/") if "/" in part else []
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


def relationships(package: Package, part: str) -> list[dict[str, str]]:
    """The relationships of a part: dicts with Id, Type, Target (resolved), TargetMode."""
    path = _rels_path(part)
    if not package.has(path):
        return []
    found = []
    for match in RELATIONSHIP.finditer(package.read(path)):
        attributes = {key.decode(): _unescape(value) for key, value
                      in ATTRIBUTE.findall(match.group(1))}
        if attributes.get("TargetMode") != "External" and "Target" in attributes:
            attributes["Target"] = _resolve(part, attributes["Target"])
        found.append(attributes)
    return found


def _related_part(package: Package, part: str, kind: str) -> str | None:
    return next((relation["Target"] for relation in relationships(package, part)
                 if relation.get("Type", "").endswith("/" + kind)), None)


SHEET_ENTRY = re.compile(rb'<sheet\b([^>]*?)/?>')


def sheet_parts(package: Package) -> dict[str, str]:
    """Sheet name -> its worksheet part, in workbook order."""
    targets = {relation["Id"]: relation["Target"]
               for relation in relationships(package, "xl/workbook.xml")}
    parts = {}
    for match in SHEET_ENTRY.finditer(package.read("xl/workbook.xml")):
        attributes = {key.decode(): _unescape(value) for key, value
                      in ATTRIBUTE.findall(match.group(1))}
        relation = next((value for key, value in attributes.items() if key.endswith(":id")), "")
        target = targets.get(relation)
        if target and "name" in attributes:
            parts[attributes["name"]] = target
    return parts


DATE_CODE = re.compile(r"[dmyhs]", re.I)


def _is_date_code(code: str) -> bool:
    plain = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code)  # quoted text, escapes, colours
    return bool(DATE_CODE.search(plain)) and "General" not in plain


@dataclass
class Styles:
    """The cell formats (cellXfs) of a workbook: which are dates, and adding date ones."""

    package: Package
    path: str | None
    xml: bytes = b""
    formats: dict[int, str] = field(default_factory=dict)  # numFmtId -> code (custom ones)
    xfs: list[bytes] = field(default_factory=list)  # each <xf .../> of cellXfs, as written
    kinds: dict[int, tuple[bool, bool]] = field(default_factory=dict)  # style -> date, time
    epoch: dt.datetime = EPOCH  # day 0 of the workbook's date serials

    @classmethod
    def read(cls, package: Package) -> Styles:
        path = _related_part(package, "xl/workbook.xml", "styles")
        styles = cls(package, path)
        workbook = package.read("xl/workbook.xml")
        if re.search(rb'<workbookPr\b[^>]*?\bdate1904="(?:1|true)"', workbook):
            styles.epoch = EPOCH_1904
        if path is None or not package.has(path):
            return styles
        styles.xml = package.read(path)
        for match in re.finditer(rb'<numFmt\b([^>]*?)/?>', styles.xml):
            attributes = dict(ATTRIBUTE.findall(match.group(1)))
            if b"numFmtId" in attributes:
                styles.formats[int(attributes[b"numFmtId"])] = _unescape(
                    attributes.get(b"formatCode", b""))
        block = re.search(rb'<cellXfs\b[^>]*?>(.*?)</cellXfs>', styles.xml, re.S)
        if block:
            styles.xfs = re.findall(rb'<xf\b[^>]*?(?:/>|>.*?</xf>)', block.group(1), re.S)
        return styles

    def number_format(self, index: int) -> int:
        if not 0 <= index < len(self.xfs):
            return 0
        found = re.search(rb'\bnumFmtId="(\d+)"', self.xfs[index])
        return int(found.group(1)) if found else 0

    def is_date(self, index: int) -> bool:
        return self._kind(index)[0]

    def has_time(self, index: int) -> bool:
        return self._kind(index)[1]

    def _kind(self, index: int) -> tuple[bool, bool]:
        """(a date format, with a time) for a style, worked out once per style."""
        known = self.kinds.get(index)
        if known is None:
            number = self.number_format(index)
            code = self.formats.get(number, "")
            date = number in BUILTIN_DATE_FORMATS or _is_date_code(code)
            time = number == DATETIME_BUILTIN or (date and bool(re.search(r"h", code, re.I)))
            known = self.kinds[index] = (date, time)
        return known

    def date_style(self, index: int, with_time: bool, code: str) -> int:
        """A style like `index` but showing a date (with a time when asked): an existing
        one when the workbook has it, else one added to styles.xml."""
        if self.is_date(index) and self.has_time(index) == with_time:
            return index
        base = self.xfs[index] if 0 <= index < len(self.xfs) else b'<xf numFmtId="0" ' \
            b'fontId="0" fillId="0" borderId="0" xfId="0"/>'
        number = next((number for number, text in self.formats.items() if text == code), None)
        if number is not None:
            wanted = _with_number_format(base, number)
            for position, xf in enumerate(self.xfs):
                if xf == wanted:
                    return position
        for position, xf in enumerate(self.xfs):  # any date style with the same look
            if self.is_date(position) and self.has_time(position) == with_time and \
                    re.sub(rb'\bnumFmtId="\d+"', b"", xf) == re.sub(rb'\bnumFmtId="\d+"', b"",
                                                                   base):
                return position
        if self.path is None:
            raise PackageError("the workbook has no styles part")
        if number is None:
            number = max([163, *self.formats]) + 1
            self.formats[number] = code
            element = f'<numFmt numFmtId="{number}" formatCode="{html.escape(code)}"/>'.encode()
            if re.search(rb'<numFmts\b', self.xml):
                self.xml = re.sub(rb'</numFmts>', element + b"</numFmts>", self.xml, count=1)
                self.xml = re.sub(rb'(<numFmts\b[^>]*?\bcount=")(\d+)',
                                  lambda m: m.group(1) + str(int(m.group(2)) + 1).encode(),
                                  self.xml, count=1)
            else:
                self.xml = re.sub(rb'(<styleSheet\b[^>]*?>)', lambda m: m.group(1)
                                  + b'<numFmts count="1">' + element + b"</numFmts>", self.xml,
                                  count=1)
        xf = _with_number_format(base, number)
        self.xml = re.sub(rb'</cellXfs>', xf + b"</cellXfs>", self.xml, count=1)
        self.xml = re.sub(rb'(<cellXfs\b[^>]*?\bcount=")(\d+)',
                          lambda m: m.group(1) + str(int(m.group(2)) + 1).encode(), self.xml,
                          count=1)
        self.xfs.append(xf)
        self.package.write(self.path, self.xml)
        return len(self.xfs) - 1


def _with_number_format(xf: bytes, number: int) -> bytes:
    xf = re.sub(rb'\bnumFmtId="\d+"', f'numFmtId="{number}"'.encode(), xf, count=1) \
        if b"numFmtId=" in xf else xf.replace(b"<xf ", f'<xf numFmtId="{number}" '.encode(), 1)
    if b"applyNumberFormat=" not in xf:
        xf = xf.replace(b"<xf ", b'<xf applyNumberFormat="1" ', 1)
    return xf


# --- cells ------------------------------------------------------------------------------------

def split_address(address: str) -> tuple[int, int]:
    """'AB12' -> (12, 28): row and 1-based column."""
    match = ADDRESS.match(address)
    if match is None:
        raise PackageError(f"bad cell address {address!r}")
    return int(match.group(2)), column_index_from_string(match.group(1))


def serial(value: dt.date | dt.datetime, epoch: dt.datetime = EPOCH) -> float:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    delta = moment.replace(tzinfo=None) - epoch
    days = delta.days + delta.seconds / 86_400
    return float(int(days)) if days == int(days) else round(days, 10)


def from_serial(number: float, with_time: bool, epoch: dt.datetime = EPOCH
                ) -> dt.date | dt.datetime:
    moment = epoch + dt.timedelta(days=number)
    moment = moment.replace(microsecond=0) if moment.microsecond < 500_000 else \
        (moment + dt.timedelta(seconds=1)).replace(microsecond=0)
    return moment if with_time or moment.time() != dt.time() else moment.date()


def xml_text(text: str) -> str:
    """Text as XML character data: escaped, and without the characters XML 1.0 forbids."""
    return html.escape(XML_ILLEGAL.sub("", text), quote=False)


@dataclass
class Cell:
    column: int
    attributes: dict[str, str]
    body: bytes  # what is between <c ...> and </c>
    source: bytes = b""  # the whole element as it stands in the file

    def style(self) -> int:
        return int(self.attributes.get("s", "0") or 0)


def parse_cells(row_xml: bytes) -> list[Cell]:
    cells: list[Cell] = []
    inner = ROW_OPEN.sub(b"", row_xml, count=1)
    for match in CELL.finditer(inner):
        attributes = {key.decode(): value.decode() for key, value
                      in ATTRIBUTE.findall(match.group(1))}
        address = attributes.get("r")
        column = split_address(address)[1] if address else (cells[-1].column + 1 if cells else 1)
        cells.append(Cell(column, attributes, match.group(2) or b"", match.group(0)))
    return cells


def cell_value(cell: Cell, strings: SharedStrings, styles: Styles) -> object:
    """A cell's value as a reader sees it: text, number, date, bool or None (errors: None)."""
    kind = cell.attributes.get("t", "n")
    if kind == "inlineStr":
        return "".join(_unescape(part or b"") for part in
                       TEXT.findall(PHONETIC.sub(b"", cell.body))) or None
    value = re.search(rb'<v>(.*?)</v>', cell.body, re.S)
    if value is None or value.group(1) == b"":
        return None
    text = _unescape(value.group(1))
    if kind == "s":
        index = int(text)
        return strings[index] if 0 <= index < len(strings) else None
    if kind in ("str",):
        return text or None
    if kind == "b":
        return text == "1"
    if kind == "e":
        return None
    if kind == "d":
        return dt.datetime.fromisoformat(text)
    number = float(text)
    if styles.is_date(cell.style()):
        return from_serial(number, styles.has_time(cell.style()), styles.epoch)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


@functools.lru_cache(maxsize=20_000)
def letter(column: int) -> str:
    return get_column_letter(column)


def cell_xml(column: int, row: int, style: int | None, value: object, styles: Styles) -> bytes:
    """A <c> element for a value, as Excel writes it (see the module docstring)."""
    address = f"{letter(column)}{row}"
    if value is None or value == "":  # an empty cell kept for its style (even style 0,
        # which differs from a column's own style)
        return f'<c r="{address}" s="{style}"/>'.encode() if style is not None else b""
    if isinstance(value, bool):
        body, kind = f"<v>{int(value)}</v>", ' t="b"'
    elif isinstance(value, dt.date):
        with_time = isinstance(value, dt.datetime) and value.time() != dt.time()
        code = "yyyy-mm-dd hh:mm" if with_time else "yyyy-mm-dd"
        style = styles.date_style(style or 0, with_time, code)
        number = serial(value, styles.epoch)
        body, kind = f"<v>{int(number) if number.is_integer() else repr(number)}</v>", ""
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise PackageError(f"{value} cannot be stored in a cell")
        body, kind = f"<v>{value!r}</v>", ""
    else:
        text = xml_text(str(value))
        space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
        body, kind = f"<is><t{space}>{text}</t></is>", ' t="inlineStr"'
    styled = f' s="{style}"' if style else ""
    return f'<c r="{address}"{styled}{kind}>{body}</c>'.encode()


XML_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render_rows(first: int, count: int, columns: Mapping[int, Sequence[object]],
                styles: Mapping[int, int | None], book: Styles) -> bytes:
    """Rows first..first+count-1 as XML, made column by column: the same cells as
    `cell_xml` writes one at a time (an empty value keeps its style as an empty cell),
    with text, the common case of an import, made without a call per cell, and a run of
    columns empty in every row (a new row dressed like the one above) made as one piece."""
    numbers = [str(number) for number in range(first, first + count)]
    made: list[list[str]] = []
    run: list[str] = []  # empty styled cells of consecutive empty columns, '{0}': the row

    def close_run() -> None:
        if run:
            template = "".join(run)
            made.append([template.format(number) for number in numbers])
            run.clear()

    for column in sorted(columns):
        style = styles.get(column)
        start = f'<c r="{letter(column)}'
        values = columns[column]
        if all(value is None or value == "" for value in values):
            if style is not None:
                run.append(start + '{0}" s="' + str(style) + '"/>')
            continue
        close_run()
        empty = f'" s="{style}"/>' if style is not None else None
        text_open = f'"{f" s={chr(34)}{style}{chr(34)}" if style else ""} t="inlineStr"><is><t'
        date_opens: dict[bool, str] = {}  # with a time or not -> '" s="N"><v>' (cell_xml's)
        cells: list[str] = []
        for offset, (number, value) in enumerate(zip(numbers, values, strict=True)):
            if value is None or value == "":
                cells.append(start + number + empty if empty is not None else "")
            elif type(value) is str:
                text = xml_text(value) if XML_SPECIAL.search(value) else value
                space = ' xml:space="preserve">' if text != text.strip() or "\n" in text \
                    else ">"
                cells.append(start + number + text_open + space + text + "</t></is></c>")
            elif type(value) in (dt.date, dt.datetime):  # as cell_xml; style looked up once
                with_time = type(value) is dt.datetime and \
                    value.time() != dt.time()
                if with_time not in date_opens:
                    dated = book.date_style(style or 0, with_time,
                                            "yyyy-mm-dd hh:mm" if with_time else "yyyy-mm-dd")
                    date_opens[with_time] = f'" s="{dated}"><v>' if dated else '"><v>'
                serial_number = serial(value, book.epoch)  # type: ignore[arg-type]
                shown = int(serial_number) if serial_number.is_integer() else repr(serial_number)
                cells.append(f"{start}{number}{date_opens[with_time]}{shown}</v></c>")
            else:
                cells.append(cell_xml(column, first + offset, style, value, book).decode())
        made.append(cells)
    close_run()
    return "".join([f'<row r="{number}">' + "".join(cells) + "</row>"
                    for number, cells in zip(numbers, zip(*made, strict=True), strict=True)]
                   if made else [f'<row r="{number}"></row>' for number in numbers]).encode()


@dataclass
class RowBlock:
    """New rows appended in bulk (Worksheet.append_rows), made into XML when written."""

    first: int
    count: int
    render: Callable[[int, int], bytes]  # rows start..stop-1 of the block (0-based)
    chunk: int = 2_000

    def chunks(self) -> Iterator[bytes]:
        for start in range(0, self.count, self.chunk):
            yield self.render(start, min(self.count, start + self.chunk))


# --- a worksheet part -------------------------------------------------------------------------

@dataclass
class Worksheet:
    """One worksheet part being edited: rows located once, edited in place, written back."""

    package: Package
    part: str
    xml: bytes
    styles: Styles
    strings: SharedStrings
    rows: Mapping[int, tuple[int, int]] = field(default_factory=dict)  # row -> (start, end)
    edits: dict[int, bytes] = field(default_factory=dict)  # row -> new row XML
    removed: set[int] = field(default_factory=set)  # rows moved away (shift_rows)
    column_styles: list[tuple[int, int, int]] = field(default_factory=list)
    column_style_cache: dict[int, int | None] = field(default_factory=dict)
    blocks: list[RowBlock] = field(default_factory=list)  # new rows below all others
    segment_after: int | None = None  # append-only: write in segments after this header row
    appending: tuple[Segments, bytes] | None = None  # opened by open_appending
    last_data: int | None = None  # the last row with values, when known without parsing

    @classmethod
    def open(cls, package: Package, part: str, styles: Styles, strings: SharedStrings
             ) -> Worksheet:
        xml = package.read(part)
        sheet = cls(package, part, xml, styles, strings)
        sheet.rows = row_spans(xml)
        sheet._read_column_styles()
        return sheet

    def _read_column_styles(self) -> None:
        for match in re.finditer(rb'<col\b([^>]*?)/?>', self.xml[:self.xml.find(b"<sheetData")]):
            attributes = dict(ATTRIBUTE.findall(match.group(1)))
            if b"style" in attributes:
                self.column_styles.append((int(attributes.get(b"min", b"1")),
                                           int(attributes.get(b"max", b"1")),
                                           int(attributes[b"style"])))

    def row_xml(self, row: int) -> bytes | None:
        if row in self.edits:
            return self.edits[row]
        for block in self.blocks:
            if block.first <= row < block.first + block.count:
                return block.render(row - block.first, row - block.first + 1)
        if row in self.removed:
            return None
        span = self.rows.get(row)
        return self.xml[span[0]:span[1]] if span else None

    def cells(self, row: int) -> list[Cell]:
        xml = self.row_xml(row)
        return parse_cells(xml) if xml else []

    def values(self, row: int) -> dict[int, object]:
        return {cell.column: cell_value(cell, self.strings, self.styles)
                for cell in self.cells(row)}

    def column_style(self, column: int) -> int | None:
        if column not in self.column_style_cache:
            self.column_style_cache[column] = next(
                (style for low, high, style in self.column_styles if low <= column <= high),
                None)
        return self.column_style_cache[column]

    def last_row(self) -> int:
        """The last row number the part will hold (0: none)."""
        return max([*self.rows, *self.edits, 0,
                    *(block.first + block.count - 1 for block in self.blocks)])

    def last_new_row(self) -> int:
        """The last row this edit adds (not in the part before); 0 when it adds none."""
        return max([0, *(row for row in self.edits if row not in self.rows),
                    *(block.first + block.count - 1 for block in self.blocks)])

    def new_rows_sample(self, size: int) -> list[bytes]:
        """The XML of the first and last `size` rows this edit adds, of the rows set one by
        one and of each bulk block (to check them: rows made by one function stand for
        the rest)."""
        added = [self.edits[row] for row in sorted(row for row in self.edits
                                                   if row not in self.rows)]
        sample = added[:size] + added[size:][-size:]
        for block in self.blocks:
            sample.append(block.render(0, min(block.count, size)))
            if block.count > size:
                sample.append(block.render(max(size, block.count - size), block.count))
        return sample

    def append_rows(self, first: int, count: int,
                    values: Callable[[int, int], Mapping[int, Sequence[object]]],
                    styles_from: Mapping[int, int | None]) -> None:
        """`count` new rows from row `first` on, below every row of the part: values(start,
        stop) gives rows start..stop-1 of them (0-based) as column -> values. They are made
        into XML a chunk at a time as the part is written (an import's 300,000 rows are
        never all held as XML). Each is dressed like styles_from (the row above), like
        `set(..., dress=True)`."""
        if first <= self.last_row():
            raise PackageError(f"rows from {first} would not be below the last one")
        styles = {column: style for column, style in styles_from.items() if style is not None}

        def render(start: int, stop: int) -> bytes:
            given = values(start, stop)
            columns = {column: given.get(column) or [None] * (stop - start)
                       for column in {*given, *styles}}
            return render_rows(first + start, stop - start, columns,
                               {column: styles[column] if column in styles
                                else self.column_style(column) for column in columns},
                               self.styles)

        if count > 0:
            self.blocks.append(RowBlock(first, count, render))

    def may_have_values(self, row: int) -> bool:
        """False when the row surely holds no value (formatting only); cheap, no parsing."""
        if row in self.edits or (self.blocks and row not in self.rows):
            return True
        start, end = self.rows[row]
        return self.xml.find(b"<v>", start, end) >= 0 or self.xml.find(b"<is>", start, end) >= 0

    def has_values(self, row: int, last_column: int) -> bool:
        if not self.may_have_values(row):
            return False
        return any(column <= last_column and value not in (None, "")
                   for column, value in self.values(row).items())

    def set(self, row: int, values: Mapping[int, object],
            styles_from: Mapping[int, int | None] | None = None, dress: bool = False) -> None:
        """Put values in one row (column -> value; None clears the value, keeps the style).
        With dress, the row's other empty cells take the styles of styles_from too (a new
        row dressed like the row above it)."""
        fresh = row not in self.edits and row not in self.rows
        cells = {} if fresh else {cell.column: cell for cell in self.cells(row)}
        if dress and styles_from:
            values = {**{column: None for column, style in styles_from.items()
                         if column not in cells and style is not None}, **values}
        if fresh:  # a new row (an import's): no cell to keep, no parsing
            column_style = self.column_style
            self.edits[row] = f'<row r="{row}">'.encode() + b"".join(
                cell_xml(column, row, styles_from.get(column) if styles_from and
                         styles_from.get(column) is not None else column_style(column),
                         values[column], self.styles) for column in sorted(values)) + b"</row>"
            return
        old = self.row_xml(row)
        found = ROW_OPEN.match(old) if old else None
        opening = found.group(0) if found else f'<row r="{row}">'.encode()
        if opening.endswith(b"/>"):
            opening = opening[:-2].rstrip() + b">"
        opening = re.sub(rb'\s+spans="[^"]*"', b"", opening)
        pieces: dict[int, bytes] = {}
        for column, cell in cells.items():
            pieces[column] = self._cell_source(row, cell)
        for column, value in values.items():
            current = cells.get(column)
            if current is not None:
                style: int | None = current.style()
            elif styles_from and styles_from.get(column) is not None:
                style = styles_from[column]
            else:
                style = self.column_style(column)
            pieces[column] = cell_xml(column, row, style, value, self.styles)
        self.edits[row] = opening + b"".join(pieces[column] for column in sorted(pieces)) \
            + b"</row>"

    def shift_rows(self, first: int, by: int) -> None:
        """Move every row from `first` down by `by` rows (a Table's totals row making room
        for new requests above it). Cell addresses in the moved rows follow; formulas in
        them keep their text (a totals row's SUBTOTAL names its column, not cells)."""
        moving = sorted((row for row in {*self.rows, *self.edits} if row >= first),
                        reverse=True)
        for row in moving:
            xml = self.row_xml(row)
            assert xml is not None
            target = row + by
            xml = re.sub(rb'(<row\b[^>]*?\br=")\d+"', b"\\g<1>" + str(target).encode() + b'"',
                         xml, count=1)
            xml = re.sub(rb'(<c\b[^>]*?\br="[A-Z]{1,3})' + str(row).encode() + b'"',
                         b"\\g<1>" + str(target).encode() + b'"', xml)
            self.edits[target] = xml
            self.edits.pop(row, None)
            self.removed.add(row)
        self.removed -= set(self.edits)

    def _cell_source(self, row: int, cell: Cell) -> bytes:
        if cell.source and "r" in cell.attributes:
            return cell.source  # as it was, byte for byte
        attributes = "".join(f' {key}="{value}"' for key, value in cell.attributes.items())
        if "r" not in cell.attributes:
            attributes = f' r="{get_column_letter(cell.column)}{row}"' + attributes
        return f"<c{attributes}>".encode() + cell.body + b"</c>" if cell.body else \
            f"<c{attributes}/>".encode()


    def finish(self, last_row: int, last_column: int, grow_from: int | None) -> None:
        """Write the edited rows into the part, with the dimension and ranges that follow.

        The new part is joined once from slices of the old one (memory: the old part and
        the new one, not a copy per step); the old one is let go afterwards."""
        xml = self.xml
        self.removed -= set(self.edits)
        data_start = xml.find(b"<sheetData")
        data_end = xml.rfind(b"</sheetData>")
        new_rows = sorted(row for row in self.edits if row not in self.rows)
        if self.blocks and new_rows and new_rows[-1] >= self.blocks[0].first:
            raise PackageError("rows were set below rows appended in bulk")
        if new_rows and (data_end < 0 or new_rows[0] <= max(self.rows, default=0)):
            # rows to put between existing ones (rare): place them first, as a whole part
            self.xml = _insert_rows(xml, [(row, self.edits[row]) for row in new_rows])
            self.rows = row_spans(self.xml)
            self.edits = {row: self.edits[row] for row in self.edits if row not in new_rows}
            self.finish(last_row, last_column, grow_from)
            return
        head = _dimension(xml[:data_start], last_row, last_column) if data_start >= 0 else b""
        tail = xml[data_end:] if data_end >= 0 else b""
        if grow_from is not None and last_row > grow_from:
            tail = grow_ranges(tail, grow_from, last_row)  # validations follow the cells
        blocks = (chunk for block in self.blocks for chunk in block.chunks())
        added = [self.edits[row] for row in new_rows]
        if self.appending is not None:  # rows kept deflated: only head, new rows and tail
            if self.removed or any(row in self.rows for row in self.edits):
                raise PackageError("a row kept deflated cannot be changed")
            found, old_head = self.appending
            self.xml = b""
            self._write_segmented([_dimension(old_head[:data_start], last_row, last_column),
                                   old_head[data_start:]],
                                  [self.package.raw_rows(self.part, found), *added], blocks,
                                  tail)
            return
        header_end = self.rows[self.segment_after][1] \
            if self.segment_after is not None and self.segment_after in self.rows else None
        if header_end is not None and not self.removed and data_end >= 0 and \
                not any(row in self.rows for row in self.edits) and (added or self.blocks):
            # append-only (History): written in segments, so the next save keeps these rows
            self._write_segmented([head, memoryview(xml)[data_start:header_end]],
                                  [memoryview(xml)[header_end:data_end], *added], blocks, tail)
            self.xml = b""
            return
        spans = sorted((self.rows[row], row) for row in {*self.edits, *self.removed}
                       if row in self.rows)
        out: list[bytes | memoryview] = [head]
        view = memoryview(xml)
        position = max(data_start, 0)
        for (start, end), row in spans:
            out += [view[position:start], self.edits.get(row, b"")]
            position = end
        out.append(view[position:data_end if data_end >= 0 else len(xml)])
        out += added
        self.xml = b""  # the old part lives on only in the slices
        self.package.write_pieces(self.part, itertools.chain(out, blocks, [tail]),
                                  watch=(FORMULA,))

    def _write_segmented(self, head: list[bytes | memoryview],
                         rows: list[bytes | memoryview | RawPiece], blocks: Iterator[bytes],
                         tail: bytes) -> None:
        """Write the part as head (to the end of the header row), rows, tail, each its own
        segment, and record where they are (Segments, in the member's extra field)."""
        last_xml = self.row_xml(self.last_new_row())
        styles = tuple((cell.column, cell.style()) for cell in parse_cells(last_xml or b""))
        self.package.write_pieces(
            self.part, itertools.chain(head, [Mark("head")], rows, blocks, [Mark("tail"), tail]),
            watch=(FORMULA,))
        deflated = self.package.deflated[self.part]
        head_raw, head_plain, _ = deflated.marks["head"]
        tail_raw, tail_start, rows_crc = deflated.marks["tail"]
        self.package.extra[self.part] = Segments(
            head_raw, head_plain, tail_raw, deflated.size - tail_start, rows_crc,
            self.last_new_row(), styles).pack()

    @classmethod
    def open_appending(cls, package: Package, part: str, styles: Styles,
                       strings: SharedStrings) -> Worksheet | None:
        """An append-only part patoolkit wrote in segments, opened without inflating its
        rows: the head (with the header), a stand-in for the last row (its cells' styles,
        no values; `last_data` says it is the last) and the tail. None when the part has
        no trusted Segments (then Worksheet.open)."""
        segmented = package.segments(part)
        if segmented is None:
            return None
        found, head, tail = segmented
        if found.last_row <= max(row_spans(head + b"</sheetData>"), default=0):
            return None
        stand_in = f'<row r="{found.last_row}">'.encode() + b"".join(
            f'<c r="{letter(column)}{found.last_row}" s="{style}"/>'.encode()
            for column, style in found.last_styles) + b"</row>"
        sheet = cls(package, part, head + stand_in + tail, styles, strings)
        sheet.rows = row_spans(sheet.xml)
        sheet.appending, sheet.last_data = (found, head), found.last_row
        sheet._read_column_styles()
        return sheet

ROW_START = re.compile(rb'<row\b[^>]*?\br="(\d+)"')


class RowIndex(Mapping[int, tuple[int, int]]):
    """Row number -> (start, end) of its element, held as two arrays of numbers (a
    100,000-row History costs 1.6 MB, not the 25 MB of a dict of tuples)."""

    def __init__(self, numbers: array, starts: array, end: int) -> None:
        self.numbers, self.starts, self.end = numbers, starts, end

    def _index(self, row: object) -> int:
        if not isinstance(row, int):
            return -1
        index = bisect.bisect_left(self.numbers, row)
        return index if index < len(self.numbers) and self.numbers[index] == row else -1

    def __getitem__(self, row: int) -> tuple[int, int]:
        index = self._index(row)
        if index < 0:
            raise KeyError(row)
        following = self.starts[index + 1] if index + 1 < len(self.starts) else self.end
        return self.starts[index], following

    def __contains__(self, row: object) -> bool:
        return self._index(row) >= 0

    def __iter__(self) -> Iterator[int]:
        return iter(self.numbers)

    def __len__(self) -> int:
        return len(self.numbers)


def row_spans(xml: bytes) -> Mapping[int, tuple[int, int]]:
    """Row number -> (start, end) of its element in the sheet XML. Found from the row
    start tags alone: a row ends where the next begins, the last one at </sheetData>."""
    data_start = xml.find(b"<sheetData")
    data_end = xml.find(b"</sheetData>", data_start)
    if data_start < 0 or data_end < 0:
        return {}
    numbers, starts = array("q"), array("q")
    for match in ROW_START.finditer(xml, data_start, data_end):
        numbers.append(int(match.group(1)))
        starts.append(match.start())
    if all(numbers[i] < numbers[i + 1] for i in range(len(numbers) - 1)):
        return RowIndex(numbers, starts, data_end)
    spans: dict[int, tuple[int, int]] = {}  # rows out of order (hand-made files): a dict
    for position, number in enumerate(numbers):
        end = starts[position + 1] if position + 1 < len(starts) else data_end
        spans[number] = (starts[position], end)
    return spans


def _insert_rows(xml: bytes, rows: list[tuple[int, bytes]]) -> bytes:
    """New rows into sheetData, each before the first existing row with a larger number."""
    data_start = xml.find(b"<sheetData")
    if data_start < 0:
        raise PackageError("the sheet has no sheetData")
    opening_end = xml.find(b">", data_start)
    if xml[opening_end - 1:opening_end] == b"/":  # <sheetData/>: open it
        xml = xml[:opening_end - 1] + b"></sheetData>" + xml[opening_end + 1:]
        opening_end -= 1
    data_end = xml.find(b"</sheetData>", opening_end)
    existing = sorted((number, span[0]) for number, span in row_spans(xml).items())
    numbers = [number for number, _ in existing]
    inserts: dict[int, list[bytes]] = {}
    for number, row_xml in rows:
        where = bisect.bisect_left(numbers, number)
        at = existing[where][1] if where < len(existing) else data_end
        inserts.setdefault(at, []).append(row_xml)
    out, position = [], 0
    for at in sorted(inserts):
        out += [xml[position:at], *inserts[at]]
        position = at
    out.append(xml[position:])
    return b"".join(out)


def _dimension(xml: bytes, last_row: int, last_column: int) -> bytes:
    match = re.search(rb'<dimension\b[^>]*?\bref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"', xml)
    if match is None:
        return xml
    first = match.group(1).decode() + match.group(2).decode()
    old_column = column_index_from_string((match.group(3) or match.group(1)).decode())
    old_row = int(match.group(4) or match.group(2))
    column, row = max(old_column, last_column), max(old_row, last_row)
    if (column, row) == (old_column, old_row):
        return xml
    ref = f"{first}:{get_column_letter(column)}{row}".encode()
    return xml[:match.start(1)] + ref + xml[match.end(4) if match.group(4) else match.end(2):]


RANGE = re.compile(rb'([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)')


def grow_ranges(xml: bytes, old_last: int, new_last: int) -> bytes:
    """Stretch validation and conditional-format ranges (x14 ones too) that ended at the
    old last row down to the new one: a dropdown covering the table keeps covering it."""
    def stretch(match: re.Match[bytes]) -> bytes:
        if int(match.group(4)) == old_last and int(match.group(2)) <= old_last:
            return match.group(1) + match.group(2) + b":" + match.group(3) + \
                str(new_last).encode()
        return match.group(0)

    def in_attribute(match: re.Match[bytes]) -> bytes:
        return match.group(1) + RANGE.sub(stretch, match.group(2)) + match.group(3)

    xml = re.sub(rb'(<(?:dataValidation|conditionalFormatting)\b[^>]*?\bsqref=")([^"]*)(")',
                 in_attribute, xml)
    return re.sub(rb'(<xm:sqref>)([^<]*)(</xm:sqref>)', in_attribute, xml)


def grow_table(package: Package, part: str, new_last_row: int,
               headings: Mapping[int, str]) -> None:
    """Stretch a Table (and its autofilter) over new rows and new columns at its right."""
    xml = package.read(part)
    match = re.search(rb'(<table\b[^>]*?\bref=")([A-Z]+)(\d+):([A-Z]+)(\d+)(")', xml)
    if match is None:
        return
    first_column = column_index_from_string(match.group(2).decode())
    last_column = column_index_from_string(match.group(4).decode())
    first_row, last_row = int(match.group(3)), int(match.group(5))
    totals = re.search(rb'\btotalsRowCount="(\d+)"', xml[:match.end()])
    data_last = last_row - (int(totals.group(1)) if totals else 0)
    wider = max([last_column, *[column for column in headings if column > last_column]])
    taller = max(data_last, new_last_row) + (last_row - data_last)
    if (wider, taller) == (last_column, last_row):
        return
    old_ref = f"{match.group(2).decode()}{first_row}:{match.group(4).decode()}{last_row}"
    new_ref = f"{match.group(2).decode()}{first_row}:{get_column_letter(wider)}{taller}"
    xml = xml.replace(f'ref="{old_ref}"'.encode(), f'ref="{new_ref}"'.encode())
    if wider > last_column:
        used_ids = [int(found) for found in re.findall(rb'<tableColumn\b[^>]*?\bid="(\d+)"', xml)]
        next_id = max(used_ids, default=0) + 1
        added = b""
        for column in range(last_column + 1, wider + 1):
            name = html.escape(headings.get(column) or f"Column{column - first_column + 1}")
            added += f'<tableColumn id="{next_id}" name="{name}"/>'.encode()
            next_id += 1
        xml = xml.replace(b"</tableColumns>", added + b"</tableColumns>", 1)
        xml = re.sub(rb'(<tableColumns\b[^>]*?\bcount=")(\d+)',
                     lambda m: m.group(1) + str(wider - first_column + 1).encode(), xml, count=1)
    package.write(part, xml)


def tables_of(package: Package, sheet_part: str) -> list[str]:
    return [relation["Target"] for relation in relationships(package, sheet_part)
            if relation.get("Type", "").endswith("/table")]


FORMULA = re.compile(rb"<f[ >]")


def recalculate_on_load(package: Package, parts: Iterable[str]) -> None:
    """Ask Excel and LibreOffice to recalculate when the workbook has any formula (their
    last results may depend on the cells changed); the cached results stay until then."""
    if not any(package.search(part, FORMULA) for part in parts if package.has(part)):
        return
    xml = package.read("xl/workbook.xml")
    calc = re.search(rb'<calcPr\b[^>]*?/?>', xml)
    if calc is not None:
        element = calc.group(0)
        if re.search(rb'\bfullCalcOnLoad="(1|true)"', element):
            return
        if b"fullCalcOnLoad=" in element:
            element = re.sub(rb'\bfullCalcOnLoad="[^"]*"', b'fullCalcOnLoad="1"', element)
        else:
            element = element.replace(b"<calcPr", b'<calcPr fullCalcOnLoad="1"', 1)
        xml = xml[:calc.start()] + element + xml[calc.end():]
    else:  # calcPr follows definedNames, externalReferences, functionGroups or sheets
        for anchor in (rb'</definedNames>', rb'<definedNames\b[^>]*/>', rb'</externalReferences>',
                       rb'<functionGroups\b[^>]*?(?:/>|>.*?</functionGroups>)', rb'</sheets>'):
            found = re.search(anchor, xml, re.S)
            if found is not None:
                xml = xml[:found.end()] + b'<calcPr fullCalcOnLoad="1"/>' + xml[found.end():]
                break
        else:
            return
    package.write("xl/workbook.xml", xml)
