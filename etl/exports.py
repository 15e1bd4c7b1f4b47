"""Exports as CSV and Excel that are safe to open: every text cell is neutralised against formula injection.

Following OWASP's guidance, a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
gets a leading apostrophe. Excel files are written with xlsxwriter cell by cell as text or number, never
as a formula (pandas' `to_excel` would turn `=...` into a live formula). The importer removes the
apostrophe again, so that export -> import -> export gives the same rows.

Workbooks stream their rows to disk (xlsxwriter's constant-memory mode). A responses export of any size is
written by `etl.response_exports`, in parts that each import again.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from dashboard.catalog import Catalog
from etl.canonical import COLUMNS, FORMULA_PREFIXES

__all__ = [
    "BOM",
    "RESPONSE_COLUMNS",
    "SCORE_COLUMNS",
    "Cover",
    "SheetSpec",
    "cell_rows",
    "csv_bytes",
    "neutralise",
    "responses_table",
    "scores_table",
    "to_csv",
    "to_formatted_xlsx",
    "to_xlsx",
]

RESPONSE_COLUMNS = COLUMNS  # responses are exported in the canonical layout, so that they import back
SCORE_COLUMNS = (
    "unit", "assessment", "assessed_on", "status", "section", "section_title", "maturity", "level", "target",
    "gap", "completeness", "coverage", "partial_share", "applicable", "assessed", "not_applicable", "open_gaps",
)
ASSESSMENT_COLUMNS = (
    "unit", "assessment", "assessed_on", "status", "overall_maturity", "overall_level", "clause_maturity", "clause_level",
    "annex_maturity",
    "annex_level", "annex_coverage", "annex_partial_share", "completeness", "applicable", "assessed",
    "not_applicable", "open_gaps",
)


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet could run as a formula gets a leading apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _plain(value: Any) -> Any:
    """Cell values as plain Python: None for missing, ints for whole numbers, ISO text for dates."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return value
    return value


def responses_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The canonical response columns from `store.responses()`."""
    return frame.loc[:, list(RESPONSE_COLUMNS)].copy()


def scores_table(sections: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    out = sections.copy()  # the level of the unrounded score (2.996 is shown as 3.00, level 2)
    out["level"] = [catalog.scale.level_name(v) if not pd.isna(v) else "" for v in out["maturity_level"]]
    return out.loc[:, list(SCORE_COLUMNS)]


def assessments_table(scores: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    out = scores.copy()
    out["overall_level"] = [catalog.scale.level_name(v) if not pd.isna(v) else "" for v in out["overall_maturity_level"]]
    out["clause_level"] = [catalog.scale.level_name(v) if not pd.isna(v) else "" for v in out["clause_maturity_level"]]
    out["annex_level"] = [catalog.scale.level_name(v) if not pd.isna(v) else "" for v in out["annex_maturity_level"]]
    return out.loc[:, list(ASSESSMENT_COLUMNS)]


def cell_rows(frame: pd.DataFrame) -> Iterator[list[Any]]:
    """The frame's rows as plain, neutralised cell values, one row at a time (a large export is never held
    as a second copy of the frame in Python objects)."""
    columns = [frame[c].tolist() for c in frame.columns]
    for row in zip(*columns, strict=True):
        yield [neutralise(_plain(v)) for v in row]


def csv_bytes(rows: Iterable[list[Any]], header: list[str] | None = None) -> bytes:
    """Rows of plain cells (from `cell_rows`) as CSV lines in UTF-8, without a BOM; `header` first if given."""
    import csv

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else (f"{v:.15g}" if isinstance(v, float) else v) for v in row])
    return buffer.getvalue().encode("utf-8")


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a BOM (so that Excel reads accents right), every text cell neutralised."""
    return BOM + csv_bytes(cell_rows(frame), list(frame.columns))


BOM = "\ufeff".encode()  # UTF-8's byte order mark: Excel reads a CSV with it as UTF-8


def to_xlsx(
    sheets: Sequence[tuple[str, pd.DataFrame]], *, widths: dict[str, int] | None = None, created: dt.datetime | None = None
) -> bytes:
    """A workbook with one sheet per frame: bold frozen header, filters, sensible widths, text as text.

    Rows stream to disk as they are written (xlsxwriter's constant-memory mode, strings inline), so a
    300,000-row export costs the frame and one row, not a second copy of every cell.
    `created` fixes the document's creation time, so that the same data gives the same bytes.
    """
    with tempfile.TemporaryDirectory(prefix="aims-xlsx-") as scratch:
        target = Path(scratch) / "export.xlsx"
        workbook = xlsxwriter.Workbook(str(target), {"constant_memory": True, "tmpdir": scratch,
                                                     "strings_to_formulas": False, "strings_to_numbers": False,
                                                     "strings_to_urls": False})
        if created is not None:
            workbook.set_properties({"created": created})
        header = workbook.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True})
        for title, frame in sheets:
            sheet = workbook.add_worksheet(title[:31])
            for col, name in enumerate(frame.columns):
                sheet.set_column(col, col, (widths or {}).get(str(name), max(10, min(45, len(str(name)) + 4))))
                sheet.write_string(0, col, str(name), header)
            for row_number, row in enumerate(cell_rows(frame), start=1):
                for col, value in enumerate(row):
                    if value is None:
                        continue
                    if isinstance(value, int | float):
                        sheet.write_number(row_number, col, value)
                    else:
                        sheet.write_string(row_number, col, str(value))
            sheet.freeze_panes(1, 0)
            if len(frame.columns):
                sheet.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)
        workbook.close()
        return target.read_bytes()


def write(frame: pd.DataFrame, path: str | Path, fmt: str, sheet: str) -> None:
    """Write a frame to `path` as csv or xlsx."""
    data = to_csv(frame) if fmt == "csv" else to_xlsx([(sheet, frame)], widths=WIDTHS)
    Path(path).write_bytes(data)


WIDTHS = {"unit": 24, "title": 40, "section_title": 32, "evidence": 60, "justification": 40, "notes": 30, "owner": 20}


# --- formatted workbooks (roadmap, Statement of Applicability) ------------------------------------


@dataclass(frozen=True)
class Cover:
    """A cover sheet: a title, label/value rows (organisation, units, rounds, date…), then notes."""

    title: str
    rows: Sequence[tuple[str, Any]]
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class SheetSpec:
    """One data sheet: `level_columns` hold levels 0-5 shown in the maturity colours; `fills` colour
    cells by value (column -> value -> background), e.g. phases and statuses."""

    title: str
    frame: pd.DataFrame
    widths: Mapping[str, int] = field(default_factory=dict)
    level_columns: tuple[str, ...] = ()
    wrap_columns: tuple[str, ...] = ()
    fills: Mapping[str, Mapping[str, str]] = field(default_factory=dict)




def to_formatted_xlsx(sheets: Sequence[SheetSpec], *, cover: Cover | None = None, created: dt.datetime | None = None) -> bytes:
    """A workbook for people: a cover sheet, then per sheet a frozen bold header, filters, widths, wrapped
    long text, level and value colours, and real dates. Text is neutralised and written as text, never as
    a formula; numbers as numbers."""
    from dashboard.charts import DARK_LEVELS, LEVEL_COLOURS

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                                        "strings_to_urls": False, "default_date_format": "yyyy-mm-dd"})
    if created is not None:
        book.set_properties({"created": created})
    formats: dict[tuple[tuple[str, Any], ...], Any] = {}

    def fmt(**props: Any) -> Any:
        key = tuple(sorted(props.items()))
        if key not in formats:
            formats[key] = book.add_format(props)
        return formats[key]

    if cover is not None:
        _write_cover(book.add_worksheet("Cover"), cover, fmt)
    for spec in sheets:
        sheet = book.add_worksheet(spec.title[:31])
        columns = [str(c) for c in spec.frame.columns]
        widths = [spec.widths.get(name, max(10, min(45, len(name) + 4))) for name in columns]
        for col, (name, width) in enumerate(zip(columns, widths, strict=True)):
            sheet.write_string(0, col, name, fmt(bold=True, bg_color="#E8EEF4", border=1, text_wrap=True, valign="top"))
            sheet.set_column(col, col, width)
        for row_number, row in enumerate(zip(*(spec.frame[c].tolist() for c in spec.frame.columns), strict=True), start=1):
            lines = max((_lines(value, width) for name, value, width in zip(columns, row, widths, strict=True)
                         if name in spec.wrap_columns), default=1)
            if lines > 1:  # neither Excel nor LibreOffice grows a row for wrapped text written by a program
                sheet.set_row(row_number, min(409, 15 * lines))
            for col, (name, value) in enumerate(zip(columns, row, strict=True)):
                props: dict[str, Any] = {"valign": "top"}
                if name in spec.wrap_columns:
                    props["text_wrap"] = True
                if name in spec.level_columns and isinstance(_plain(value), int | float) and 0 <= _plain(value) <= 5:
                    level = int(_plain(value))
                    props |= {"bg_color": LEVEL_COLOURS[level], "font_color": "#FFFFFF" if level in DARK_LEVELS else "#000000"}
                elif name in spec.fills and isinstance(value, str) and value in spec.fills[name]:
                    props["bg_color"] = spec.fills[name][value]
                _write_cell(sheet, row_number, col, value, fmt, props)
        sheet.freeze_panes(1, 0)
        if columns:
            sheet.autofilter(0, 0, max(len(spec.frame), 1), len(columns) - 1)
        _print_setup(sheet)
        sheet.repeat_rows(0)
    book.close()
    return buffer.getvalue()


def _lines(value: Any, width: float) -> int:
    """How many lines wrapped text needs in a column `width` characters wide (a generous estimate)."""
    if not isinstance(value, str) or not value:
        return 1
    per_line = max(1, int(width * 1.1))
    return sum(max(1, math.ceil(len(part) / per_line)) for part in value.split("\n"))


def _print_setup(sheet: Any) -> None:
    """Print on A4 landscape (the header row repeats on every page of a data sheet)."""
    sheet.set_paper(9)
    sheet.set_landscape()


def _write_cover(sheet: Any, cover: Cover, fmt: Any) -> None:
    _print_setup(sheet)
    sheet.fit_to_pages(1, 1)
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 100)
    sheet.write_string(0, 0, str(neutralise(cover.title)), fmt(bold=True, font_size=16))
    row = 2
    for label, value in cover.rows:
        sheet.write_string(row, 0, str(neutralise(label)), fmt(bold=True, valign="top"))
        _write_cell(sheet, row, 1, value, fmt, {"text_wrap": True, "valign": "top", "align": "left"})
        row += 1
    row += 1
    for note in cover.notes:
        sheet.write_string(row, 0, str(neutralise(note)), fmt(text_wrap=False))
        row += 1


def _write_cell(sheet: Any, row: int, col: int, value: Any, fmt: Any, props: dict[str, Any]) -> None:
    """Dates as dates, numbers as numbers, everything else as neutralised text; never a formula."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) and value.time() == dt.time(0) else value
        if not isinstance(day, dt.datetime):
            sheet.write_datetime(row, col, dt.datetime.combine(day, dt.time()), fmt(num_format="yyyy-mm-dd", **props))
            return
    value = neutralise(_plain(value))
    if value is None:
        if "bg_color" in props:
            sheet.write_blank(row, col, None, fmt(**props))
        return
    if isinstance(value, int | float):
        sheet.write_number(row, col, value, fmt(**props))
    else:
        sheet.write_string(row, col, str(value), fmt(**props))
