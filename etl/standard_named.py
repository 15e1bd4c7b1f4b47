"""Which standard a file says it assesses.

ISO/IEC 27001 numbers its clauses like ISO/IEC 42001 (4.1 … 10.2, with 6.1.2, 9.2 …), but they are other
requirements: a 27001 questionnaire read as a 42001 assessment would be scored against the wrong requirements
without a word, and the reverse would propose 42001 levels from 42001 answers. The file's own words decide: its
name, the names of its sheets, the rows above each data sheet's header (its title block) and its cover sheets.
Answer rows are never read for this (evidence may well cite 27001 controls), nor instruction sheets (they may
explain how the two standards relate). A file is refused only when it names the other standard and never the
one it is imported as.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from etl.layouts import _INSTRUCTIONS, HEADER_SCAN_ROWS
from etl.problems import column_letter
from etl.readers import Sheet
from etl.values import fold

__all__ = ["Mention", "other_standard"]

_NUMBER = re.compile(r"(?<!\d)(27001|42001)(?!\d)")
NAMES = {"27001": "ISO/IEC 27001", "42001": "ISO/IEC 42001"}


@dataclass(frozen=True)
class Mention:
    """Where a file names a standard: the text, and its sheet, Excel row and column (None for the file name)."""

    standard: str  # "27001" or "42001"
    text: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None


def _mentions(name: str, sheets: Iterable[Sheet], header_rows: dict[int, int]) -> list[Mention]:
    found = [Mention(m, Path(name).name) for m in _NUMBER.findall(Path(name).name)]
    for sheet in sheets:
        if sheet.hidden or _INSTRUCTIONS.search(fold(sheet.name or "")):
            continue
        found += [Mention(m, sheet.name or "", sheet.name) for m in _NUMBER.findall(sheet.name or "")]
        header = header_rows.get(id(sheet))
        for excel_row, cells in sheet.head(HEADER_SCAN_ROWS):
            if header is not None and excel_row >= header:
                break
            for offset, cell in enumerate(cells):
                if isinstance(cell, str):
                    column = column_letter(sheet.first_col + offset) if sheet.name else None
                    found += [Mention(m, cell.strip(), sheet.name, excel_row, column) for m in _NUMBER.findall(cell)]
    return found


def other_standard(name: str, sheets: Iterable[Sheet], header_rows: dict[int, int], *, expected: str) -> Mention | None:
    """The first place where the file names the standard other than `expected` ("42001" or "27001"), if it never
    names `expected` itself; None when the file is silent or names `expected` anywhere.

    `header_rows` maps a data sheet (`id(sheet)`) to its header's Excel row: only the rows above it are read; other
    sheets are cover sheets, read in their first rows."""
    found = _mentions(name, sheets, header_rows)
    if any(m.standard == expected for m in found):
        return None
    return next((m for m in found if m.standard != expected), None)


def refusal(mention: Mention, *, expected: str) -> str:
    """The reason a file naming the other standard is not read as `expected`."""
    other = NAMES[mention.standard]
    quoted = mention.text if len(mention.text) <= 80 else mention.text[:77] + "…"
    where = "its name" if mention.sheet is None and mention.row is None else (
        f"sheet {mention.sheet!r}'s name" if mention.row is None else "its title")
    return (f"the file says it is an {other} assessment ({where}: {quoted!r}) and never names {NAMES[expected]}: "
            f"{other}'s clause numbers look like {NAMES[expected]}'s but stand for other requirements, so it is not "
            f"read as an {NAMES[expected]} assessment")
