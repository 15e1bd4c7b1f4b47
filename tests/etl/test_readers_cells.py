"""etl.readers keeps Excel's row and column numbers whatever stands above a sheet's data, and hands every
cell over as text (fastexcel reads a sheet from its first cell with a value and does not say which row that is)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable

import openpyxl
import pytest
import python_calamine
import xlsxwriter
from openpyxl.styles import Font

from dashboard.catalog import Catalog
from etl.importer import validate_bytes
from etl.readers import UnreadableFile, read_sheets

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/data/first.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
              f'relationships"><Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
             f'main" xmlns:r="{_REL}"><sheets><sheet name="Data" sheetId="1" r:id="rId7"/></sheets></workbook>')
# the worksheet lives at an unusual path, found only through the workbook's relationships
_WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                  f'relationships"><Relationship Id="rId7" Type="{_REL}/worksheet" Target="data/first.xml"/>'
                  f'<Relationship Id="rId8" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
_STRINGS = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            "<si><t></t></si><si><t>item_id</t></si><si><t>maturity</t></si><si><t>4.1</t></si></sst>")
_TABLE = ('<row r="5"><c r="C5" t="s"><v>1</v></c><c r="D5" t="s"><v>2</v></c></row>'
          '<row r="6"><c r="C6" t="s"><v>3</v></c><c r="D6"><v>9</v></c></row>')


def handmade(rows_above: str, table: str = _TABLE) -> bytes:
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f"<sheetData>{rows_above}{table}</sheetData></worksheet>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, text in [("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                           ("xl/workbook.xml", _WORKBOOK), ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                           ("xl/data/first.xml", sheet), ("xl/sharedStrings.xml", _STRINGS)]:
            archive.writestr(part, text)
    return buffer.getvalue()


def calamine_start(data: bytes) -> tuple[int, int]:
    """Where python-calamine (the same Rust reader, asked directly) says the sheet's cells start, 1-based row."""
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    row, col = book.get_sheet_by_name(book.sheet_names[0]).start
    return row + 1, col


@pytest.mark.parametrize(("above", "first_row"), [
    ("", 5),
    ('<row r="2"><c r="A2" s="1"/></row>', 5),                                        # styled, no value
    ('<row r="2"><c r="B2"><f>1+1</f></c></row>', 5),                                  # formula without a value
    ('<row r="2"><c r="B2"><f>1+1</f><v></v></c></row>', 5),                           # ... with an empty one
    ('<row r="3"><c r="A3" t="s"><v>0</v></c></row>', 3),                              # an empty shared string
    ('<row r="3"><c r="B3" t="e"><v>#N/A</v></c></row>', 3),                           # an error value
    ('<row r="4"><c r="B4" t="inlineStr"><is><t></t></is></c></row>', 4),              # an empty inline string
    ('<row r="2"><c r="B2" t="str"><v></v></c></row>', 2),                             # an empty formula text
    ('<row r="1"><c r="A1" s="1"/></row><row r="4"><c r="D4"><v>0</v></c></row>', 4),  # a zero is a value
])
def test_the_first_row_is_where_calamine_starts(above: str, first_row: int) -> None:
    data = handmade(above)
    [sheet] = read_sheets("handmade.xlsx", data)
    assert (sheet.first_row, sheet.first_col) == calamine_start(data)
    assert sheet.first_row == first_row
    numbers = dict(sheet.rows)
    assert numbers[5][-2:] == ["item_id", "maturity"] and numbers[6][-2:] == ["4.1", "9"]


def test_rows_and_cells_without_references_are_counted() -> None:
    table = '<row><c/></row><row><c t="s"><v>1</v></c><c t="s"><v>2</v></c></row><row><c t="s"><v>3</v></c><c><v>2</v></c></row>'
    data = handmade("", table)
    [sheet] = read_sheets("handmade.xlsx", data)
    assert (sheet.first_row, sheet.first_col) == calamine_start(data) == (2, 0)
    assert sheet.rows == [(2, ["item_id", "maturity"]), (3, ["4.1", "2"])]


def test_a_bad_cell_below_styled_empty_rows_is_named_where_excel_shows_it(catalog: Catalog) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Answers"
    sheet["A1"].font = Font(bold=True)  # formatting only: no value, so the reader starts lower
    sheet["A2"].font = Font(bold=True)
    for row in (["unit", "assessment", "item_id", "maturity"], ["Ops", "2026-Q1", "4.1", 2],
                ["Ops", "2026-Q1", "4.2", 9]):
        sheet.append([None, None, *row])  # the table starts in column C
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    [read] = read_sheets("answers.xlsx", data)
    assert (read.first_row, read.first_col) == (3, 2) == calamine_start(data)

    _, report = validate_bytes("answers.xlsx", data, catalog)
    [problem] = report.errors
    assert (problem.sheet, problem.row, problem.column, problem.value) == ("Answers", 5, "maturity (F)", "9")


def test_every_cell_arrives_as_text_and_hidden_or_chart_sheets_are_marked_or_skipped() -> None:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    data = book.add_worksheet("Data")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    data.write_row(0, 0, ["text", "whole", "decimal", "flag", "day", "moment"])
    data.write_row(1, 0, ["  padded  ", 3.0, 3.5, True])
    data.write_datetime(1, 4, dt.datetime(2026, 3, 31), day)
    data.write_datetime(1, 5, dt.datetime(2026, 3, 31, 13, 5), day)
    hidden = book.add_worksheet("Lists")
    hidden.write(0, 0, "kept apart")
    hidden.hide()
    chart = book.add_chartsheet("Chart")
    figure = book.add_chart({"type": "bar"})
    figure.add_series({"values": "=Data!$B$2:$C$2"})
    chart.set_chart(figure)
    book.close()

    sheets = read_sheets("types.xlsx", buffer.getvalue())
    assert [(s.name, s.hidden) for s in sheets] == [("Data", False), ("Lists", True)]
    assert sheets[0].row(1) == ["  padded  ", "3", "3.5", "true", "2026-03-31 00:00:00", "2026-03-31 13:05:00"]
    # cleaned: trimmed, and a midnight date-time is a date
    assert dict(sheets[0].rows)[2] == ["padded", "3", "3.5", "true", "2026-03-31", "2026-03-31 13:05:00"]


def _rewritten(data: bytes, change: Callable[[str, str], str]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in source.namelist():
            archive.writestr(part, change(part, source.read(part).decode("utf-8")))
    return out.getvalue()


def test_strict_open_xml_namespaces_are_read() -> None:
    def strict(_: str, text: str) -> str:
        return (text.replace("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main")
                .replace(_REL, "http://purl.oclc.org/ooxml/officeDocument/relationships"))

    [sheet] = read_sheets("strict.xlsx", _rewritten(handmade(""), strict))
    assert sheet.rows == [(5, ["item_id", "maturity"]), (6, ["4.1", "9"])]


def test_a_worksheet_with_damaged_xml_is_refused_naming_the_part() -> None:
    def damage(part: str, text: str) -> str:
        return text.replace('<v>1</v></c><c r="D5"', '<v>1</c><c r="D5"') if part == "xl/data/first.xml" else text

    with pytest.raises(UnreadableFile, match=r"broken\.xlsx: part xl/data/first\.xml cannot be read: its XML is damaged"):
        read_sheets("broken.xlsx", _rewritten(handmade(""), damage))
