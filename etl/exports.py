"""Exports as CSV and Excel that are safe to open: every text cell is neutralised against formula injection.

Following OWASP's guidance, a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
gets a leading apostrophe. Excel files are written with xlsxwriter cell by cell as text or number, never
as a formula (pandas' `to_excel` would turn `=...` into a live formula). The importer removes the
apostrophe again, so that export -> import -> export gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from dashboard.catalog import Catalog

__all__ = ["RESPONSE_COLUMNS", "SCORE_COLUMNS", "neutralise", "responses_table", "scores_table", "to_csv", "to_xlsx"]

RESPONSE_COLUMNS = (
    "unit", "assessment", "assessed_on", "section", "item_id", "title", "maturity", "target",
    "applicable", "justification", "evidence", "owner", "due_date", "notes",
)
SCORE_COLUMNS = (
    "unit", "assessment", "assessed_on", "status", "section", "section_title", "maturity", "level", "target",
    "gap", "completeness", "coverage", "partial_share", "applicable", "assessed", "not_applicable", "open_gaps",
)
ASSESSMENT_COLUMNS = (
    "unit", "assessment", "assessed_on", "status", "clause_maturity", "clause_level", "annex_maturity",
    "annex_level", "annex_coverage", "annex_partial_share", "completeness", "applicable", "assessed",
    "not_applicable", "open_gaps",
)
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet could run as a formula gets a leading apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
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
    out = sections.copy()
    out["level"] = [catalog.scale.level_name(v) if not pd.isna(v) else "" for v in out["maturity"]]
    return out.loc[:, list(SCORE_COLUMNS)]


def assessments_table(scores: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    out = scores.copy()
    out["clause_level"] = [catalog.scale.level_name(v) if not pd.isna(v) else "" for v in out["clause_maturity"]]
    out["annex_level"] = [catalog.scale.level_name(v) if not pd.isna(v) else "" for v in out["annex_maturity"]]
    return out.loc[:, list(ASSESSMENT_COLUMNS)]


def _records(frame: pd.DataFrame) -> list[list[Any]]:
    columns = [frame[c].tolist() for c in frame.columns]
    return [[neutralise(_plain(v)) for v in row] for row in zip(*columns, strict=True)]


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a BOM (so that Excel reads accents right), every text cell neutralised."""
    import csv

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(frame.columns))
    for row in _records(frame):
        writer.writerow(["" if v is None else (f"{v:.15g}" if isinstance(v, float) else v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(
    sheets: Sequence[tuple[str, pd.DataFrame]], *, widths: dict[str, int] | None = None, created: dt.datetime | None = None
) -> bytes:
    """A workbook with one sheet per frame: bold frozen header, filters, sensible widths, text as text.

    `created` fixes the document's creation time, so that the same data gives the same bytes.
    """
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                            "strings_to_numbers": False, "strings_to_urls": False})
    if created is not None:
        workbook.set_properties({"created": created})
    header = workbook.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True})
    for title, frame in sheets:
        sheet = workbook.add_worksheet(title[:31])
        for col, name in enumerate(frame.columns):
            sheet.write_string(0, col, str(name), header)
            sheet.set_column(col, col, (widths or {}).get(str(name), max(10, min(45, len(str(name)) + 4))))
        for row_number, row in enumerate(_records(frame), start=1):
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
    return buffer.getvalue()


def write(frame: pd.DataFrame, path: str | Path, fmt: str, sheet: str) -> None:
    """Write a frame to `path` as csv or xlsx."""
    data = to_csv(frame) if fmt == "csv" else to_xlsx([(sheet, frame)], widths=WIDTHS)
    Path(path).write_bytes(data)


WIDTHS = {"unit": 24, "title": 40, "section_title": 32, "evidence": 60, "justification": 40, "notes": 30, "owner": 20}
