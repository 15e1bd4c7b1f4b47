"""A responses export of any size that imports again: one file within the import limits, else numbered parts.

The limits are the importer's own (`etl.archive.current_limits`: `AIMS_MAX_UPLOAD_MB` for the file, 200 MB
unpacked for a workbook). A part holds whole business units, a unit too large for one part is cut between
its rounds, never inside one; so each part imports on its own, all or nothing, and importing every part
gives the answers one file would. The store is read a few units at a time and rows stream to disk, so
memory stays flat whatever the size of the organisation.
"""

from __future__ import annotations

import itertools
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import xlsxwriter

from etl.archive import MIB, Limits, current_limits
from etl.exports import BOM, RESPONSE_COLUMNS, WIDTHS, cell_rows, csv_bytes, responses_table

if TYPE_CHECKING:
    from dashboard.access import Principal

__all__ = ["UNITS_PER_READ", "write_responses"]

UNITS_PER_READ = 25  # a large export reads and writes this many units at a time, never the whole table
XLSX_PACKING = 6  # a first guess of a workbook's unpacked size per byte of file (measured: 10); halved if wrong


def write_responses(con: Any, path: str | Path, fmt: str, *, principal: Principal,
                    assessment_ids: Sequence[int] | None = None, limits: Limits | None = None) -> tuple[list[Path], int]:
    """Write the responses of the chosen assessments (all by default) so that the importer accepts them
    again, whatever their number; return the files written and the rows.

    One file when it fits the import limits in force (`AIMS_MAX_UPLOAD_MB`; a workbook also the 200 MB
    it may unpack to); otherwise numbered parts beside `path` (`responses-part1-of-3.csv`, ...), each
    within them. A part holds whole units (a unit too large for one part is cut between its assessments,
    never inside one), so each part imports on its own, all or nothing, and importing every part gives
    the same answers as one file would. Rows are read `UNITS_PER_READ` units at a time and streamed to
    disk, so memory stays flat whatever the size of the organisation. Only what `principal` may read is
    written (`store.responses` refuses the rest).
    """
    from dashboard import store

    limits = limits or current_limits()
    path = Path(path)
    listed = store.list_assessments(con)
    if assessment_ids is not None:
        listed = listed[listed["id"].isin([int(i) for i in assessment_ids])]
    per_unit: dict[str, list[int]] = {}
    for unit, assessment_id in sorted(zip(listed["unit"], listed["id"], strict=True), key=lambda p: (p[0].lower(), p[1])):
        per_unit.setdefault(unit, []).append(int(assessment_id))
    units = list(per_unit.values())
    # a workbook's parts are cut by their unpacked size, which compresses about 10:1 in the file
    budget = limits.max_file_bytes if fmt == "csv" else int(min(limits.max_uncompressed_bytes * 0.9,
                                                                 limits.max_file_bytes * XLSX_PACKING))
    while True:
        with tempfile.TemporaryDirectory(prefix="aims-export-", dir=path.parent) as scratch:
            parts, rows = _write_parts(con, units, Path(scratch), fmt, budget, limits, principal)
            if all(_fits(part, fmt, limits) for part in parts):
                return _name_parts(parts, path), rows
        if budget < 4_096:
            raise ValueError(f"the responses do not fit in files within the import limits "
                             f"({limits.max_file_bytes / MIB:.3g} MB): raise AIMS_MAX_UPLOAD_MB.")
        budget //= 2  # text that compresses badly: the workbook parts were too large once packed; cut smaller


def _name_parts(parts: list[Path], path: Path) -> list[Path]:
    if len(parts) == 1:
        parts[0].replace(path)
        return [path]
    width = len(str(len(parts)))
    named = [path.with_name(f"{path.stem}-part{n:0{width}d}-of-{len(parts)}{path.suffix}") for n in range(1, len(parts) + 1)]
    for part, name in zip(parts, named, strict=True):
        part.replace(name)
    return named


def _write_parts(con: Any, units: list[list[int]], scratch: Path, fmt: str, budget: int,
                 limits: Limits, principal: Principal) -> tuple[list[Path], int]:
    """Stream the units' responses into parts of at most `budget` bytes (CSV bytes, or a workbook's unpacked
    size as estimated from them); return the parts, in order, and the rows written."""
    from dashboard import store

    parts: list[_Part] = []
    rows = 0

    def current(size: int) -> _Part:
        if not parts or (parts[-1].rows and parts[-1].size + size > budget):
            if parts:
                parts[-1].close()
            parts.append((_CsvPart if fmt == "csv" else _XlsxPart)(scratch / f"{len(parts) + 1}.{fmt}"))
        return parts[-1]

    try:
        for start in range(0, max(len(units), 1), UNITS_PER_READ):
            batch = units[start:start + UNITS_PER_READ]
            table = responses_table(store.responses(con, principal=principal, assessment_ids=[i for unit in batch for i in unit]))
            if not parts:
                current(0)
            bounds = _assessment_bounds(table)
            cells = list(cell_rows(table))  # the batch's cells once; units and rounds are slices of it
            for unit in _by_unit(table, bounds):
                pieces = [_Rows(cells[unit[0]:unit[1]], fmt)]
                if pieces[0].size > budget - parts[-1].header_size:  # a unit too large for one part: cut between rounds
                    pieces = [_Rows(cells[a:b], fmt) for a, b in bounds if unit[0] <= a < unit[1]]
                for piece in pieces:
                    if piece.size > budget - parts[-1].header_size:
                        first = piece.rows[0]
                        raise ValueError(f"the answers of {first[0]} {first[1]} alone are too large for one file within "
                                         f"the import limit ({limits.max_file_bytes / MIB:.3g} MB): raise AIMS_MAX_UPLOAD_MB.")
                    current(piece.size).write(piece)
                    rows += len(piece.rows)
    finally:
        for part in parts:
            part.close()
    return [part.path for part in parts], rows


def _assessment_bounds(table: pd.DataFrame) -> list[tuple[int, int]]:
    keys = list(zip(table["unit"].tolist(), table["assessment"].tolist(), strict=True))
    cuts = [0, *(i for i in range(1, len(keys)) if keys[i] != keys[i - 1]), len(keys)]
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _by_unit(table: pd.DataFrame, bounds: list[tuple[int, int]]) -> list[tuple[int, int]]:
    units = table["unit"].tolist()
    out: list[tuple[int, int]] = []
    for a, b in bounds:
        if out and units[out[-1][0]] == units[a]:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


class _Rows:
    """Some rows as plain, neutralised cells, with the bytes they take in a CSV file, or (an estimate that
    errs on the large side) unpacked in a workbook written with inline strings."""

    def __init__(self, rows: list[list[Any]], fmt: str) -> None:
        self.rows = rows
        if fmt == "csv":
            self.data = csv_bytes(self.rows)
            self.size = len(self.data)
        else:
            self.data = b""
            cells = sum(len(str(v).encode()) + 45 for row in self.rows for v in row if v is not None)
            self.size = cells + 40 * len(self.rows)


class _Part:
    path: Path
    rows: int = 0
    size: int = 0
    header_size: int = 0

    def write(self, rows: _Rows) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _CsvPart(_Part):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("wb")
        header = BOM + csv_bytes([], list(RESPONSE_COLUMNS))
        self.file.write(header)
        self.header_size = self.size = len(header)

    def write(self, rows: _Rows) -> None:
        self.file.write(rows.data)
        self.rows += len(rows.rows)
        self.size += rows.size

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()


class _XlsxPart(_Part):
    """A workbook written row by row to disk (constant-memory mode): the canonical columns, text as text."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(path.parent),
                                                    "strings_to_formulas": False, "strings_to_numbers": False,
                                                    "strings_to_urls": False})
        self.sheet = self.book.add_worksheet("Responses")
        header = self.book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True})
        for col, name in enumerate(RESPONSE_COLUMNS):
            self.sheet.set_column(col, col, WIDTHS.get(name, max(10, min(45, len(name) + 4))))
            self.sheet.write_string(0, col, name, header)
        self.header_size = 10_000  # the sheet's header and the package's other parts, generously
        self.size = self.header_size

    def write(self, rows: _Rows) -> None:
        for row in rows.rows:
            self.rows += 1
            for col, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, int | float):
                    self.sheet.write_number(self.rows, col, value)
                else:
                    self.sheet.write_string(self.rows, col, str(value))
        self.size += rows.size

    def close(self) -> None:
        if self.book.fileclosed:
            return
        self.sheet.freeze_panes(1, 0)
        self.sheet.autofilter(0, 0, max(self.rows, 1), len(RESPONSE_COLUMNS) - 1)
        self.book.close()


def _fits(path: Path, fmt: str, limits: Limits) -> bool:
    """Whether the importer's size limits accept the file (the same figures the importer checks)."""
    if path.stat().st_size > limits.max_file_bytes:
        return False
    if fmt == "csv":
        return True
    with zipfile.ZipFile(path) as archive:
        return sum(member.file_size for member in archive.infolist()) <= limits.max_uncompressed_bytes
