"""Trackers carrying the things analysts add to their workbook, for the writer to keep.

Every workbook starts as a real patoolkit tracker and gains ONE feature, made
the way analysts make it (issue 14):

- by openpyxl (load, add, save, before any patoolkit write): a chart on a new
  sheet, a picture, a cell note, a frozen pane with an autofilter, a hidden
  sheet, a defined name, a protected sheet;
- by LibreOffice headless: the tracker saved by LibreOffice itself, directly
  and by way of an .ods (its own style of XML: shared strings, its element order);
- by hand-written XML patched into the zip, of the kind Excel writes and
  neither library makes: an x14 dropdown, an x14 data bar, an .xlsm with a
  vbaProject part, a pivot cache and pivot table, a Table totals row, a slicer.

Each workbook says what must still be in it after a write (`Kept`): text in a
part, or a part that must exist. Parts are named by path or, for worksheets,
by sheet name ("sheet:Requests"), resolved through the workbook's
relationships, never by guessing sheet1.xml.

The worker functions at the bottom run in child processes (spawn) for the
concurrency tests; they live here so a child need not import a test module.
"""

from __future__ import annotations

import io
import posixpath
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from xml.etree import ElementTree

import openpyxl

from conftest import FEW_REQUESTS
from patoolkit import load_tracker
from patoolkit.errors import TrackerConflictError
from patoolkit.sample import write_sample
from patoolkit.tracker.create import new_tracker
from patoolkit.tracker.edit import add_request, update_request

RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOCUMENT = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                   "officeDocument")
SPREADSHEET = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM = "http://schemas.microsoft.com/office/excel/2006/main"
MACRO_WORKBOOK = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PLAIN_WORKBOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
VBA_PROJECT = "application/vnd.ms-office.vbaProject"


# -- reading the package: parts by relationship, not by file name ----------------------------

def rels_part(part: str) -> str:
    """The relationships part of a part: xl/workbook.xml -> xl/_rels/workbook.xml.rels."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Id -> (type, target part) of a part's relationships (targets resolved to zip paths)."""
    name = rels_part(part)
    if name not in archive.namelist():
        return {}
    found = {}
    for rel in ElementTree.fromstring(archive.read(name)):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        resolved = (target.lstrip("/") if target.startswith("/")
                    else posixpath.normpath(posixpath.join(posixpath.dirname(part), target)))
        found[rel.get("Id", "")] = (rel.get("Type", ""), resolved)
    return found


def workbook_part(archive: zipfile.ZipFile) -> str:
    return next(target for kind, target in relationships(archive, "").values()
                if kind == OFFICE_DOCUMENT)


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> worksheet part, in the workbook's sheet order."""
    book = workbook_part(archive)
    rels = relationships(archive, book)
    sheets = ElementTree.fromstring(archive.read(book)).find(f"{{{SPREADSHEET}}}sheets")
    assert sheets is not None
    return {sheet.get("name", ""): rels[sheet.get(f"{{{DOC_RELS}}}id", "")][1]
            for sheet in sheets}


def related(archive: zipfile.ZipFile, part: str, kind_suffix: str) -> list[str]:
    """Parts related from part whose relationship type ends with kind_suffix ('/table')."""
    return [target for kind, target in relationships(archive, part).values()
            if kind.endswith(kind_suffix)]


def resolve(archive: zipfile.ZipFile, where: str) -> str:
    """'sheet:NAME' -> that sheet's part; anything else is a zip path already."""
    if where.startswith("sheet:"):
        return sheet_parts(archive)[where.removeprefix("sheet:")]
    return where


# -- the corpus -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kept:
    """What must still be in the workbook after a write: text in a part, or the part."""

    where: str  # a zip path, or "sheet:NAME" for that sheet's worksheet part
    text: str | None = None  # None: the part must exist


@dataclass(frozen=True)
class CorpusWorkbook:
    name: str
    path: Path
    made_by: str  # openpyxl, libreoffice or xml
    feature: str
    kept: tuple[Kept, ...]
    totals_label: str | None = None  # the Requests Table has a totals row with this label
    extra: Mapping[str, Any] = field(default_factory=dict)


def base_tracker(path: Path) -> Path:
    """A blank tracker with the three conftest requests, added through patoolkit."""
    new_tracker(path)
    for values in FEW_REQUESTS:
        add_request(path, cast("Mapping[str, Any]", values), by="corpus")
    shutil.rmtree(path.parent / "backups", ignore_errors=True)
    return path


def sample_tracker(path: Path, rows: int = 30) -> Path:
    """`patoolkit sample PATH --rows 30`: an XlsxWriter tracker, as shipped."""
    write_sample(path, rows=rows)
    return path


def _column_letter(path: Path, title: str) -> tuple[str, int]:
    book = openpyxl.load_workbook(path, read_only=True)
    header = next(book["Requests"].iter_rows(max_row=1, values_only=True))
    book.close()
    position = [str(value) for value in header].index(title) + 1
    return openpyxl.utils.get_column_letter(position), position


def _requests_last_row(path: Path) -> int:
    return int(max(load_tracker(path).requests.index))


# -- by openpyxl ------------------------------------------------------------------------------

def _with_openpyxl(path: Path, change: Callable[[openpyxl.Workbook], None]) -> None:
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(path)


def _chart(book: openpyxl.Workbook) -> None:
    from openpyxl.chart import BarChart, Reference

    requests = book["Requests"]
    header = [cell.value for cell in requests[1]]
    units = header.index("Units Authorized") + 1
    chart = BarChart()
    chart.title = "Units authorized"
    chart.add_data(Reference(requests, min_col=units, min_row=1, max_row=requests.max_row),
                   titles_from_data=True)
    book.create_sheet("Summary").add_chart(chart, "B2")


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (12, 8), (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def _picture(book: openpyxl.Workbook) -> None:
    from openpyxl.drawing.image import Image

    book["Requests"].add_image(Image(io.BytesIO(png_bytes())), "AR2")


def _comment(book: openpyxl.Workbook) -> None:
    from openpyxl.comments import Comment

    book["Requests"]["A2"].comment = Comment("call the payer back Tuesday", "analyst")


def _frozen_pane_and_autofilter(book: openpyxl.Workbook) -> None:
    # The Requests Table owns the autofilter of its range (Excel allows no second one
    # there), so the analyst's own filter sits on a working sheet of theirs.
    book["Requests"].freeze_panes = "C2"
    working = book.create_sheet("Working")
    for row in (["Payer", "Count"], ["Summit Health Plan", 2], ["Lakeshore", 1]):
        working.append(row)
    working.auto_filter.ref = "A1:B3"


def _hidden_sheet(book: openpyxl.Workbook) -> None:
    scratch = book.create_sheet("Scratch")
    scratch["A1"] = "analyst's scratch, hidden"
    scratch.sheet_state = "hidden"


def _defined_name(book: openpyxl.Workbook) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    book.defined_names["AnalystStatuses"] = DefinedName(
        "AnalystStatuses", attr_text="Requests!$U$2:$U$200")


def _protected_sheet(book: openpyxl.Workbook) -> None:
    rates = book.create_sheet("Rates")
    rates.append(["Code", "Rate"])
    rates.append(["70551", 412.5])
    rates.protection.sheet = True
    rates.protection.password = "analyst"


OPENPYXL_FEATURES: dict[str, tuple[str, Callable[[openpyxl.Workbook], None], tuple[Kept, ...]]] = {
    "chart": ("a bar chart on a Summary sheet drawing from Requests", _chart,
              (Kept("xl/charts/chart1.xml", "'Requests'!$AE$2"),
               Kept("sheet:Summary", "<drawing"))),
    "picture": ("a PNG picture on the Requests sheet", _picture,
                (Kept("xl/media/image1.png"), Kept("sheet:Requests", "<drawing "))),
    "comment": ("a cell note on Requests!A2", _comment,
                (Kept("xl/comments/comment1.xml", "call the payer back Tuesday"),
                 Kept("sheet:Requests", "<legacyDrawing "))),
    "frozen_pane_autofilter": ("Requests frozen at C2, an autofilter on a Working sheet",
                               _frozen_pane_and_autofilter,
                               (Kept("sheet:Requests", 'xSplit="2"'),
                                Kept("sheet:Working", '<autoFilter ref="A1:B3"'))),
    "hidden_sheet": ("a hidden Scratch sheet", _hidden_sheet,
                     (Kept("xl/workbook.xml", 'state="hidden"'),
                      Kept("sheet:Scratch", "<sheetData"))),
    "defined_name": ("a defined name AnalystStatuses", _defined_name,
                     (Kept("xl/workbook.xml", 'name="AnalystStatuses"'),)),
    "protected_sheet": ("a password-protected Rates sheet", _protected_sheet,
                        (Kept("sheet:Rates", "<sheetProtection"),)),
}


# -- by hand-written XML, patched into the zip ------------------------------------------------

def patch_zip(path: Path, out: Path, replace: Mapping[str, bytes],
              add: Mapping[str, bytes] | None = None) -> Path:
    """Copy a zip with some members replaced and some added (after the others)."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = replace.get(info.filename, source.read(info.filename))
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in (add or {}).items():
            target.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out


def _insert_before_first(xml: str, anchors: tuple[str, ...], text: str) -> str:
    position = min(xml.find(anchor) for anchor in anchors if anchor in xml)
    return xml[:position] + text + xml[position:]


def _add_worksheet_ext(xml: str, ext: str) -> str:
    """An <ext> in the worksheet's extLst (the last child of <worksheet>)."""
    if "</extLst></worksheet>" in xml:  # the worksheet's own, not a cfRule's
        return xml.replace("</extLst></worksheet>", ext + "</extLst></worksheet>")
    return xml.replace("</worksheet>", f"<extLst>{ext}</extLst></worksheet>")


def _add_relationship(rels: str, rel_id: str, kind: str, target: str) -> str:
    return rels.replace("</Relationships>", f'<Relationship Id="{rel_id}" Type="{kind}" '
                        f'Target="{target}"/></Relationships>')


def _empty_rels() -> str:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{RELATIONSHIPS}"></Relationships>')


def _override(types: str, part: str, content_type: str) -> str:
    return types.replace("</Types>", f'<Override PartName="/{part}" '
                         f'ContentType="{content_type}"/></Types>')


def _text(archive: zipfile.ZipFile, name: str) -> str:
    return archive.read(name).decode("utf-8")


def _status_list_range(path: Path) -> str:
    """Lists!$X$2:$X$20 under the Lists sheet's 'Status' heading, as an analyst would pick."""
    book = openpyxl.load_workbook(path, read_only=True)
    header = next(book["Lists"].iter_rows(max_row=1, values_only=True))
    book.close()
    column = openpyxl.utils.get_column_letter([str(value) for value in header].index("Status")
                                              + 1)
    return f"Lists!${column}$2:${column}$20"


X14_DROPDOWN_EXT = (
    '<ext uri="{{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}}" xmlns:x14="{x14}">'
    '<x14:dataValidations count="1" xmlns:xm="{xm}"><x14:dataValidation type="list" '
    'allowBlank="1" showInputMessage="1" showErrorMessage="1"><x14:formula1><xm:f>{source}'
    "</xm:f></x14:formula1><xm:sqref>{column}2:{column}1048576</xm:sqref>"
    "</x14:dataValidation></x14:dataValidations></ext>")

DATA_BAR_ID = "{6E1D2F4A-3B5C-4D7E-8F90-A1B2C3D4E5F6}"
DATA_BAR_RULE = (
    '<conditionalFormatting sqref="{column}2:{column}200"><cfRule type="dataBar" priority="1">'
    '<dataBar><cfvo type="min"/><cfvo type="max"/><color rgb="FF638EC6"/></dataBar>'
    '<extLst><ext uri="{{B025F937-C7B1-47D3-B67F-A62EFF666E3E}}" xmlns:x14="{x14}">'
    "<x14:id>{rule_id}</x14:id></ext></extLst></cfRule></conditionalFormatting>")
DATA_BAR_EXT = (
    '<ext uri="{{78C0D931-6437-407d-A8EE-F0AAD7539E65}}" xmlns:x14="{x14}">'
    '<x14:conditionalFormattings><x14:conditionalFormatting xmlns:xm="{xm}">'
    '<x14:cfRule type="dataBar" id="{rule_id}"><x14:dataBar minLength="0" maxLength="100" '
    'gradient="0"><x14:cfvo type="autoMin"/><x14:cfvo type="autoMax"/>'
    '<x14:negativeFillColor rgb="FFFF0000"/><x14:axisColor rgb="FF000000"/></x14:dataBar>'
    "</x14:cfRule><xm:sqref>{column}2:{column}200</xm:sqref></x14:conditionalFormatting>"
    "</x14:conditionalFormattings></ext>")


def _x14_dropdown(path: Path, out: Path) -> CorpusWorkbook:
    with zipfile.ZipFile(path) as archive:
        part = sheet_parts(archive)["Requests"]
        status, _ = _column_letter(path, "Status")
        ext = X14_DROPDOWN_EXT.format(x14=X14, xm=XM, source=_status_list_range(path),
                                      column=status)
        sheet = _add_worksheet_ext(_text(archive, part), ext)
    patch_zip(path, out, {part: sheet.encode()})
    return CorpusWorkbook("x14_dropdown", out, "xml",
                          "an Excel x14 dropdown on Status pointing at the Lists sheet",
                          (Kept("sheet:Requests", ext),))


def _x14_data_bar(path: Path, out: Path) -> CorpusWorkbook:
    with zipfile.ZipFile(path) as archive:
        part = sheet_parts(archive)["Requests"]
        units, _ = _column_letter(path, "Units Authorized")
        rule = DATA_BAR_RULE.format(column=units, x14=X14, rule_id=DATA_BAR_ID)
        ext = DATA_BAR_EXT.format(column=units, x14=X14, xm=XM, rule_id=DATA_BAR_ID)
        sheet = _insert_before_first(_text(archive, part),
                                     ("<dataValidations", "<hyperlinks", "<printOptions",
                                      "<pageMargins"), rule)
        sheet = _add_worksheet_ext(sheet, ext)
    patch_zip(path, out, {part: sheet.encode()})
    return CorpusWorkbook("x14_data_bar", out, "xml",
                          "an Excel x14 data bar on Units Authorized",
                          (Kept("sheet:Requests", rule), Kept("sheet:Requests", ext)))


VBA_BYTES = bytes(range(256)) * 8  # any bytes: they are carried, never read


def _xlsm(path: Path, out: Path) -> CorpusWorkbook:
    out = out.with_suffix(".xlsm")
    with zipfile.ZipFile(path) as archive:
        book = workbook_part(archive)
        types = _text(archive, "[Content_Types].xml").replace(PLAIN_WORKBOOK, MACRO_WORKBOOK)
        types = types.replace("</Types>", f'<Default Extension="bin" ContentType="{VBA_PROJECT}"/>'
                              "</Types>")
        rels = _add_relationship(_text(archive, rels_part(book)), "rIdVba1",
                                 "http://schemas.microsoft.com/office/2006/relationships/"
                                 "vbaProject", "vbaProject.bin")
    patch_zip(path, out, {"[Content_Types].xml": types.encode(), rels_part(book): rels.encode()},
              {"xl/vbaProject.bin": VBA_BYTES})
    return CorpusWorkbook("xlsm_vba", out, "xml", "an .xlsm with a vbaProject part",
                          (Kept("xl/vbaProject.bin"), Kept("[Content_Types].xml", MACRO_WORKBOOK),
                           Kept("[Content_Types].xml", VBA_PROJECT),
                           Kept(rels_part("xl/workbook.xml"), "vbaProject.bin")))


PIVOT_CACHE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<pivotCacheDefinition xmlns="{SPREADSHEET}" xmlns:r="{DOC_RELS}" r:id="rId1" '
    'refreshOnLoad="0" createdVersion="6" refreshedVersion="6" minRefreshableVersion="3" '
    'recordCount="2"><cacheSource type="worksheet"><worksheetSource ref="G1:G3" '
    'sheet="Requests"/></cacheSource><cacheFields count="1"><cacheField name="Plan Type" '
    'numFmtId="0"><sharedItems count="2"><s v="Commercial"/><s v="Medicare Advantage"/>'
    "</sharedItems></cacheField></cacheFields></pivotCacheDefinition>")
PIVOT_RECORDS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<pivotCacheRecords xmlns="{SPREADSHEET}" count="2"><r><x v="0"/></r><r><x v="1"/></r>'
    "</pivotCacheRecords>")
PIVOT_TABLE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<pivotTableDefinition xmlns="{SPREADSHEET}" name="PlansPivot" cacheId="41" '
    'applyNumberFormats="0" applyBorderFormats="0" applyFontFormats="0" '
    'applyPatternFormats="0" applyAlignmentFormats="0" applyWidthHeightFormats="1" '
    'dataCaption="Values" updatedVersion="6" minRefreshableVersion="3" createdVersion="6" '
    'outline="1" outlineData="1"><location ref="A3:A6" firstHeaderRow="1" firstDataRow="1" '
    'firstDataCol="0"/><pivotFields count="1"><pivotField axis="axisRow" showAll="0">'
    '<items count="3"><item x="0"/><item x="1"/><item t="default"/></items></pivotField>'
    '</pivotFields><rowFields count="1"><field x="0"/></rowFields><rowItems count="3">'
    '<i><x/></i><i><x v="1"/></i><i t="grand"><x/></i></rowItems><colItems count="1"><i/>'
    '</colItems><pivotTableStyleInfo name="PivotStyleLight16" showRowHeaders="1" '
    'showColHeaders="1" showRowStripes="0" showColStripes="0" showLastColumn="1"/>'
    "</pivotTableDefinition>")
PIVOT_SHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<worksheet xmlns="{SPREADSHEET}" xmlns:r="{DOC_RELS}"><dimension ref="A3:A6"/>'
    '<sheetData><row r="3"><c r="A3" t="inlineStr"><is><t>Row Labels</t></is></c></row>'
    '<row r="4"><c r="A4" t="inlineStr"><is><t>Commercial</t></is></c></row>'
    '<row r="5"><c r="A5" t="inlineStr"><is><t>Medicare Advantage</t></is></c></row>'
    '<row r="6"><c r="A6" t="inlineStr"><is><t>Grand Total</t></is></c></row></sheetData>'
    '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
    "</worksheet>")
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"


def _add_sheet(archive: zipfile.ZipFile, name: str, part: str, sheet_id: int
               ) -> tuple[str, str, str]:
    """(workbook.xml, its rels, content types) with one more worksheet, placed last."""
    book = workbook_part(archive)
    rel_id = f"rIdCorpus{sheet_id}"
    workbook = _text(archive, book).replace(
        "</sheets>", f'<sheet name="{name}" sheetId="{sheet_id}" r:id="{rel_id}"/></sheets>')
    rels = _add_relationship(_text(archive, rels_part(book)), rel_id, REL + "worksheet",
                             posixpath.relpath(part, posixpath.dirname(book)))
    types = _override(_text(archive, "[Content_Types].xml"), part, WORKSHEET_TYPE)
    return workbook, rels, types


def _pivot(path: Path, out: Path) -> CorpusWorkbook:
    sheet = "xl/worksheets/sheetPivot1.xml"
    with zipfile.ZipFile(path) as archive:
        book = workbook_part(archive)
        workbook, rels, types = _add_sheet(archive, "Plans Pivot", sheet, 91)
        workbook = workbook.replace("</workbook>", "")
        pivot_caches = '<pivotCaches><pivotCache cacheId="41" r:id="rIdPivotCache1"/></pivotCaches>'
        # pivotCaches follows calcPr (and oleSize, customWorkbookViews) in the schema
        anchor = re.search(r"<calcPr[^>]*/>", workbook)
        assert anchor is not None
        workbook = (workbook[:anchor.end()] + pivot_caches + workbook[anchor.end():]
                    + "</workbook>")
        rels = _add_relationship(rels, "rIdPivotCache1", REL + "pivotCacheDefinition",
                                 "pivotCache/pivotCacheDefinition1.xml")
        for part, kind in (("xl/pivotCache/pivotCacheDefinition1.xml", "pivotCacheDefinition"),
                           ("xl/pivotCache/pivotCacheRecords1.xml", "pivotCacheRecords"),
                           ("xl/pivotTables/pivotTable1.xml", "pivotTable")):
            types = _override(types, part, "application/vnd.openxmlformats-officedocument."
                              f"spreadsheetml.{kind}+xml")
    cache_rels = _add_relationship(_empty_rels(), "rId1", REL + "pivotCacheRecords",
                                   "pivotCacheRecords1.xml")
    table_rels = _add_relationship(_empty_rels(), "rId1", REL + "pivotCacheDefinition",
                                   "../pivotCache/pivotCacheDefinition1.xml")
    sheet_rels = _add_relationship(_empty_rels(), "rId1", REL + "pivotTable",
                                   "../pivotTables/pivotTable1.xml")
    patch_zip(path, out, {book: workbook.encode(), rels_part(book): rels.encode(),
                          "[Content_Types].xml": types.encode()},
              {sheet: PIVOT_SHEET.encode(), rels_part(sheet): sheet_rels.encode(),
               "xl/pivotCache/pivotCacheDefinition1.xml": PIVOT_CACHE.encode(),
               rels_part("xl/pivotCache/pivotCacheDefinition1.xml"): cache_rels.encode(),
               "xl/pivotCache/pivotCacheRecords1.xml": PIVOT_RECORDS.encode(),
               "xl/pivotTables/pivotTable1.xml": PIVOT_TABLE.encode(),
               rels_part("xl/pivotTables/pivotTable1.xml"): table_rels.encode()})
    return CorpusWorkbook("pivot", out, "xml", "a pivot table on its own sheet, with its cache",
                          (Kept("xl/pivotTables/pivotTable1.xml", 'name="PlansPivot"'),
                           Kept("xl/pivotCache/pivotCacheDefinition1.xml"),
                           Kept("xl/pivotCache/pivotCacheRecords1.xml"),
                           Kept("xl/workbook.xml", pivot_caches)))


TOTALS_LABEL = "Total"


def _totals_row(path: Path, out: Path) -> CorpusWorkbook:
    """The Requests Table with Excel's Total Row on: a label under the first column."""
    last = _requests_last_row(path)
    totals = last + 1
    with zipfile.ZipFile(path) as archive:
        part = sheet_parts(archive)["Requests"]
        (table,) = related(archive, part, "/table")
        table_xml = _text(archive, table)
        sheet = _text(archive, part)
    ref = re.search(r'<table [^>]*?ref="([A-Z]+)1:([A-Z]+)(\d+)"', table_xml)
    assert ref is not None, table_xml[:300]
    first, end, _ = ref.groups()
    table_xml = re.sub(r'(<table [^>]*?)ref="[^"]+"', rf'\1ref="{first}1:{end}{totals}"',
                       table_xml, count=1)
    table_xml = re.sub(r'<autoFilter ref="[^"]+"', f'<autoFilter ref="{first}1:{end}{last}"',
                       table_xml, count=1)
    table_xml = table_xml.replace('totalsRowShown="0"', 'totalsRowCount="1"', 1)
    if 'totalsRowCount="1"' not in table_xml:
        table_xml = table_xml.replace("<table ", '<table totalsRowCount="1" ', 1)
    table_xml = re.sub(r'(<tableColumn id="1" [^>]*?)(/?>)',
                       rf'\1 totalsRowLabel="{TOTALS_LABEL}"\2', table_xml, count=1)
    row = (f'<row r="{totals}"><c r="{first}{totals}" t="inlineStr"><is><t>{TOTALS_LABEL}'
           "</t></is></c></row>")
    sheet = sheet.replace("</sheetData>", row + "</sheetData>", 1)
    sheet = re.sub(r'<dimension ref="([A-Z]+\d+):([A-Z]+)\d+"/>',
                   rf'<dimension ref="\1:\g<2>{totals}"/>', sheet, count=1)
    patch_zip(path, out, {part: sheet.encode(), table: table_xml.encode()})
    return CorpusWorkbook("table_totals_row", out, "xml",
                          "the Requests Table with a totals row (totalsRowCount=1)",
                          (Kept(table, 'totalsRowCount="1"'),
                           Kept(table, f'totalsRowLabel="{TOTALS_LABEL}"')),
                          totals_label=TOTALS_LABEL)


SLICER = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<slicers xmlns="{X14}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/'
    '2006" mc:Ignorable="x"><slicer name="Status" cache="Slicer_Status" caption="Status" '
    'rowHeight="241300"/></slicers>')
SLICER_CACHE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<slicerCacheDefinition xmlns="{X14}" name="Slicer_Status" sourceName="Status">'
    '<extLst><x:ext xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'uri="{2F2917AC-EB37-4324-AD4E-5DD8C200BD13}"><x15:tableSlicerCache '
    'xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main" tableId="1" '
    'column="21"/></x:ext></extLst></slicerCacheDefinition>')
SLICER_LIST_EXT = (
    '<ext uri="{{3A4CF648-6AED-40f4-86FF-DC5316D8AED3}}" '
    'xmlns:x14="{x14}"><x14:slicerList><x14:slicer r:id="rIdSlicer1"/></x14:slicerList></ext>')


def _slicer(path: Path, out: Path) -> CorpusWorkbook:
    with zipfile.ZipFile(path) as archive:
        book = workbook_part(archive)
        part = sheet_parts(archive)["Requests"]
        sheet = _add_worksheet_ext(_text(archive, part), SLICER_LIST_EXT.format(x14=X14))
        names = archive.namelist()
        sheet_rels = (_text(archive, rels_part(part)) if rels_part(part) in names
                      else _empty_rels())
        sheet_rels = _add_relationship(sheet_rels, "rIdSlicer1",
                                       "http://schemas.microsoft.com/office/2007/"
                                       "relationships/slicer", "../slicers/slicer1.xml")
        rels = _add_relationship(_text(archive, rels_part(book)), "rIdSlicerCache1",
                                 "http://schemas.microsoft.com/office/2007/relationships/"
                                 "slicerCache", "slicerCaches/slicerCache1.xml")
        types = _override(_text(archive, "[Content_Types].xml"), "xl/slicers/slicer1.xml",
                          "application/vnd.ms-excel.slicer+xml")
        types = _override(types, "xl/slicerCaches/slicerCache1.xml",
                          "application/vnd.ms-excel.slicerCache+xml")
        workbook = _text(archive, book).replace(
            "</workbook>",
            '<extLst><ext uri="{46BE6895-7355-4a93-B00E-2C351335B9C9}" '
            'xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main">'
            f'<x15:slicerCaches xmlns:x14="{X14}"><x14:slicerCache r:id="rIdSlicerCache1"/>'
            "</x15:slicerCaches></ext></extLst></workbook>")
        replaced = {part: sheet.encode(), book: workbook.encode(),
                    rels_part(book): rels.encode(), "[Content_Types].xml": types.encode()}
        added = {"xl/slicers/slicer1.xml": SLICER.encode(),
                 "xl/slicerCaches/slicerCache1.xml": SLICER_CACHE.encode()}
        (replaced if rels_part(part) in names else added)[rels_part(part)] = sheet_rels.encode()
    patch_zip(path, out, replaced, added)
    return CorpusWorkbook("slicer", out, "xml", "a slicer on the Requests Table's Status column",
                          (Kept("xl/slicers/slicer1.xml", 'name="Status"'),
                           Kept("xl/slicerCaches/slicerCache1.xml"),
                           Kept("sheet:Requests", SLICER_LIST_EXT.format(x14=X14)),
                           Kept(rels_part(part), "../slicers/slicer1.xml")))


XML_FEATURES: dict[str, Callable[[Path, Path], CorpusWorkbook]] = {
    "x14_dropdown": _x14_dropdown,
    "x14_data_bar": _x14_data_bar,
    "xlsm_vba": _xlsm,
    "pivot": _pivot,
    "table_totals_row": _totals_row,
    "slicer": _slicer,
}
CORPUS_NAMES = (*OPENPYXL_FEATURES, *XML_FEATURES)


def build_corpus(folder: Path) -> dict[str, CorpusWorkbook]:
    """Every openpyxl- and XML-made corpus workbook, in folder (LibreOffice ones apart)."""
    for place in ("base", "sample"):
        (folder / place).mkdir(parents=True)
    base = base_tracker(folder / "base" / "tracker.xlsx")
    sample = sample_tracker(folder / "sample" / "tracker.xlsx")
    corpus: dict[str, CorpusWorkbook] = {}
    for name, (feature, change, kept) in OPENPYXL_FEATURES.items():
        path = folder / f"{name}.xlsx"
        shutil.copy2(base, path)
        _with_openpyxl(path, change)
        corpus[name] = CorpusWorkbook(name, path, "openpyxl", feature, kept)
    for name, make in XML_FEATURES.items():
        corpus[name] = make(sample, folder / f"{name}.xlsx")
    return corpus


# -- by LibreOffice ---------------------------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
LIBREOFFICE_NAMES = ("libreoffice_resaved", "libreoffice_from_ods")


def soffice_convert(source: Path, to: str, out: Path, profile: Path) -> Path:
    """`soffice --headless --convert-to TO --outdir OUT SOURCE`; the file it made."""
    assert SOFFICE is not None
    out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
         "--convert-to", to, "--outdir", str(out.resolve()), str(source.resolve())],
        capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # one sheet converted to CSV is named STEM-SHEET.csv; a whole workbook STEM.EXT
    made = sorted(out.glob(f"{source.stem}*.{to.split(':')[0]}"))
    assert made, result.stdout + result.stderr
    return made[0]


def build_libreoffice_corpus(folder: Path) -> dict[str, CorpusWorkbook]:
    """The base tracker saved by LibreOffice: directly, and as .ods then back to .xlsx."""
    profile = folder / "profile"
    (folder / "base").mkdir(parents=True)
    base = base_tracker(folder / "base" / "tracker.xlsx")
    resaved = soffice_convert(base, "xlsx", folder / "resaved", profile)
    ods = soffice_convert(sample_tracker(folder / "sample.xlsx"), "ods", folder / "ods", profile)
    from_ods = soffice_convert(ods, "xlsx", folder / "from_ods", profile)
    kept = (Kept("xl/sharedStrings.xml"), Kept("docProps/custom.xml"))
    return {
        "libreoffice_resaved": CorpusWorkbook("libreoffice_resaved", resaved, "libreoffice",
                                              "the tracker re-saved as .xlsx by LibreOffice",
                                              kept),
        "libreoffice_from_ods": CorpusWorkbook("libreoffice_from_ods", from_ods, "libreoffice",
                                               "the sample tracker made .ods and back to .xlsx "
                                               "by LibreOffice", kept),
    }


# -- concurrency: each worker runs in its own process (spawn) ---------------------------------

def edit_in_rounds(path: str, request_id: str, field_name: str, who: str, rounds: int,
                   with_fingerprint: bool, barrier: Any, outcomes: Any) -> None:
    """Per round: read the tracker, wait for the other person, save one field, report.

    The barrier has three parties (both workers and the test): round start, both
    have read (the same earlier load), both have saved.
    """
    import threading

    for number in range(rounds):
        try:
            barrier.wait(timeout=120)
            seen = load_tracker(path).fingerprint if with_fingerprint else None
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            return
        value = f"round {number} value {'1' if who == 'dana' else '2'}"
        try:
            update_request(path, request_id, {field_name: value}, by=who,
                           expected_fingerprint=seen)
            outcomes.put((number, who, "saved", value))
        except TrackerConflictError as error:
            outcomes.put((number, who, "conflict", str(error)))
        except Exception as error:  # reported to the test, which fails on it
            outcomes.put((number, who, "error", f"{type(error).__name__}: {error}"))
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            return
