"""The canonical import workbook: instructions, one row per catalog item, the questions and rubrics."""

from __future__ import annotations

import datetime as dt
import io

import xlsxwriter

from dashboard.catalog import Catalog
from etl.canonical import COLUMNS

__all__ = ["build_template"]

_INSTRUCTIONS = [
    "How to fill in this workbook",
    "",
    "1. On the 'Responses' sheet, fill in the unit (your business unit's name), the assessment round "
    "(for example 2026-Q3) and the date assessed on every row you answer. Copy them down the column.",
    "2. For each item, choose the current maturity (0-5) and, if it differs from 3, the target. "
    "Leave maturity blank if the item has not been assessed yet: blank is 'not assessed', never 0.",
    "3. Annex A controls (ids starting with A.) may be marked applicable = no; a justification is then "
    "required in the same row. Clauses 4-10 always apply. For an applicable control, say in "
    "inclusion_justification why it is applied (the risks or obligations it treats): the Statement of "
    "Applicability gives a reason for every control, included or excluded.",
    "4. Describe the evidence in your own words (documents, records, tools), name an owner and a due date "
    "for items below target. Notes are free text.",
    "5. If you assess only clauses 4-10 (or only Annex A), leave the other rows blank: they are skipped.",
    "6. The 'Questions' sheet explains each item and what each maturity level looks like for it.",
    "",
    "Import with:  python -m etl import this-file.xlsx   (or the dashboard's Import page).",
    "Re-importing an edited file updates the answers in place; a blank cell never erases a stored answer.",
]


def build_template(catalog: Catalog) -> bytes:
    """The workbook as bytes: sheets Instructions, Responses (70 rows), Questions and Scale."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    header = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
    locked = book.add_format({"bg_color": "#F4F4F4"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})

    intro = book.add_worksheet("Instructions")
    intro.set_column(0, 0, 110, wrap)
    for row, line in enumerate(_INSTRUCTIONS):
        intro.write_string(row, 0, line, title if row == 0 else None)
    intro.write_string(len(_INSTRUCTIONS) + 1, 0, f"Catalog: {catalog.name} version {catalog.version} ({catalog.standard})", bold)

    sheet = book.add_worksheet("Responses")
    widths = {"unit": 22, "assessment": 12, "assessed_on": 12, "section": 8, "item_id": 9, "title": 48,
              "maturity": 9, "target": 8, "applicable": 10, "justification": 36, "evidence": 60, "owner": 18,
              "due_date": 12, "notes": 30, "inclusion_justification": 40}
    for col, name in enumerate(COLUMNS):
        sheet.write_string(0, col, name, header)
        sheet.set_column(col, col, widths[name], date if name in ("assessed_on", "due_date") else None)
    for row, item in enumerate(catalog.items, start=1):
        sheet.write_string(row, COLUMNS.index("section"), item.section, locked)
        sheet.write_string(row, COLUMNS.index("item_id"), item.id, locked)
        sheet.write_string(row, COLUMNS.index("title"), item.title, locked)
    last = len(catalog.items)
    level = {"validate": "integer", "criteria": "between", "minimum": 0, "maximum": 5,
             "input_title": "Maturity 0-5", "input_message": "0 Non-existent ... 5 Optimizing; blank = not assessed",
             "error_title": "Maturity", "error_message": "Enter a whole number from 0 to 5, or leave blank."}
    for name in ("maturity", "target"):
        col = COLUMNS.index(name)
        sheet.data_validation(1, col, last, col, level)
    col = COLUMNS.index("applicable")
    sheet.data_validation(1, col, last, col, {"validate": "list", "source": ["yes", "no"],
                                              "error_message": "Choose yes or no."})
    for name in ("assessed_on", "due_date"):
        col = COLUMNS.index(name)
        sheet.data_validation(1, col, last, col, {"validate": "date", "criteria": ">", "minimum": dt.date(2000, 1, 1),
                                                  "error_message": "Enter a date (YYYY-MM-DD)."})
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, last, len(COLUMNS) - 1)

    guide = book.add_worksheet("Questions")
    columns = ["item_id", "title", "questions", "guidance", "evidence examples",
               *(f"level {lv.value} {lv.name}" for lv in catalog.scale.levels)]
    for col, name in enumerate(columns):
        guide.write_string(0, col, name, header)
        guide.set_column(col, col, 10 if col == 0 else 40, wrap)
    for row, item in enumerate(catalog.items, start=1):
        values = [item.id, item.title, "\n".join(item.questions), item.guidance, "\n".join(item.evidence_examples),
                  *(item.rubric[lv] for lv in range(6))]
        for col, value in enumerate(values):
            guide.write_string(row, col, value, wrap)
    guide.freeze_panes(1, 2)

    scale = book.add_worksheet("Scale")
    for col, name in enumerate(("level", "name", "also accepted", "definition")):
        scale.write_string(0, col, name, header)
    scale.set_column(0, 0, 6)
    scale.set_column(1, 2, 26)
    scale.set_column(3, 3, 100, wrap)
    for row, lv in enumerate(catalog.scale.levels, start=1):
        scale.write_number(row, 0, lv.value)
        scale.write_string(row, 1, lv.name)
        scale.write_string(row, 2, ", ".join(lv.aliases))
        scale.write_string(row, 3, lv.definition)
    scale.write_string(len(catalog.scale.levels) + 2, 0, f"Default target: {catalog.scale.default_target}", bold)
    book.close()
    return buffer.getvalue()
