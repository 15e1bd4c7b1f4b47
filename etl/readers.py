"""Read spreadsheets and CSV files into columns of cell text, refusing hostile or mislabelled files first.

Every sheet keeps Excel's own row and column numbers, so that each problem can point at the cell a person
sees. Workbooks are read with fastexcel (calamine, the Rust reader, straight into Arrow columns: values
only, formulas are never evaluated, their cached values are read; macros are never run or kept). Every
cell arrives as text, as the reader writes it: `3` for the number 3, `2026-03-31 00:00:00` for a date
(`clean_cell` makes a midnight date `2026-03-31`), `true`/`false` for Excel's TRUE/FALSE.

Every file is first held against `AIMS_MAX_UPLOAD_MB` and its content against its name (an HTML page or a
CSV named `.xlsx`, an encrypted or old-format workbook, a workbook named `.csv`); a workbook's archive
then passes `etl.archive.check_archive` before it is parsed. The columns are not cleaned cell by cell
here: `etl.validate` cleans each column's distinct values once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePath
from typing import Any

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc

from etl.archive import MIB, Limits, UnreadableFile, check_archive, current_limits, too_wide

__all__ = ["MIB", "Limits", "Sheet", "UnreadableFile", "clean_cell", "current_limits", "read_sheets"]

Cell = Any  # str or None as read; parsed values downstream


_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00$")


def clean_cell(value: Cell) -> Cell:
    """A cell as the importer sees it: text trimmed (blank text is None), a midnight date-time as a date."""
    if isinstance(value, str):
        value = value.strip()
        if len(value) == 19 and value.endswith("00:00:00"):
            midnight = _MIDNIGHT.match(value)
            return midnight.group(1) if midnight else value
        return value or None
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


@dataclass
class Sheet:
    """One worksheet (or a CSV file) as columns of raw cell text.

    `columns[j][i]` is the cell in Excel row `first_row + i` and zero-based column `first_col + j`; an
    empty cell is null. Every column has the same length. `rows` gives the cleaned, non-empty rows for
    small sheets and tests.
    """

    file: str
    name: str | None
    columns: list[pa.Array] = field(default_factory=list)
    first_row: int = 1
    first_col: int = 0
    hidden: bool = False

    @classmethod
    def from_grid(cls, file: str, name: str | None, grid: list[list[Cell]], **where: Any) -> Sheet:
        """A sheet from rows of text (CSV); every row as wide as the widest."""
        # whole columns at once (a per-cell loop was half the time of a 100,000-row CSV); "" is an empty cell
        columns = [pa.array(column, pa.string()) for column in itertools.zip_longest(*grid)]
        blank = pa.scalar(None, pa.string())
        return cls(file, name, [pc.if_else(pc.equal(c, ""), blank, c) for c in columns], **where)

    @property
    def width(self) -> int:
        return len(self.columns)

    @property
    def height(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def row(self, offset: int) -> list[Cell]:
        """The raw cells of one row (`offset` rows below the first)."""
        return [column[offset].as_py() for column in self.columns]

    def column(self, position: int, start: int = 0) -> pa.Array:
        """A column's cells from `start` rows below the first (`position` counts from `first_col`)."""
        return self.columns[position].slice(start)

    def head(self, count: int) -> list[tuple[int, list[Cell]]]:
        """The first `count` non-empty rows, cleaned, each with its Excel row number."""
        taken = min(self.height, max(2 * count, 64))
        while True:
            out = []
            block = zip(*(column.slice(0, taken).to_pylist() for column in self.columns), strict=True)
            for offset, raw in enumerate(block):
                cells = [clean_cell(v) for v in raw]
                if any(c is not None for c in cells):
                    out.append((self.first_row + offset, cells))
                    if len(out) >= count:
                        return out
            if taken >= self.height:
                return out
            taken = min(self.height, taken * 4)

    @cached_property
    def rows(self) -> list[tuple[int, list[Cell]]]:
        """Every non-empty row, cleaned, with its Excel row number."""
        return self.head(self.height)

    def release(self) -> None:
        """Drop the cells (once validated they are not needed)."""
        self.columns = []
        self.__dict__.pop("rows", None)


_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _kind_of(name: str, data: bytes) -> str:
    suffix = PurePath(name).suffix.lower()
    head = data[:512].lstrip().lower()
    if suffix in (".xlsx", ".xlsm"):
        if data.startswith(_ZIP_MAGIC):
            return "xlsx"
        if data.startswith(_OLE_MAGIC):
            raise UnreadableFile(
                f"{name}: the workbook is encrypted (password-protected) or in the old .xls format; "
                "remove the password and save it as .xlsx."
            )
        if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table")):
            raise UnreadableFile(f"{name}: this is an HTML/XML page saved with a {suffix} name, not an Excel workbook.")
        raise UnreadableFile(f"{name}: not an Excel workbook (the content is not an .xlsx archive); it may be a CSV or text file renamed.")
    if suffix in (".csv", ".txt"):
        if data.startswith(_ZIP_MAGIC) or data.startswith(_OLE_MAGIC):
            raise UnreadableFile(f"{name}: this is a binary (Excel/zip) file with a {suffix} name; save it as .xlsx or as CSV text.")
        return "csv"
    raise UnreadableFile(f"{name}: unsupported file type {suffix or '(none)'}; use .xlsx, .xlsm or .csv.")


def _read_xlsx(name: str, data: bytes, first_rows: dict[str, int | None], limits: Limits) -> list[Sheet]:
    try:
        workbook = fastexcel.read_excel(data)
        sheets = []
        for sheet_name in workbook.sheet_names:
            if sheet_name not in first_rows:  # chart and dialog sheets hold no cells
                continue
            loaded = workbook.load_sheet(sheet_name, header_row=None, dtypes="string")
            if loaded.width > limits.max_columns:  # wide beyond the first MiB the archive check looked at
                raise too_wide(name, f"sheet {sheet_name!r}", loaded.width, limits)
            cells = loaded.to_arrow()
            columns = [cells.column(i) for i in range(cells.num_columns)]
            first_col = loaded.available_columns()[0].absolute_index if columns else 0
            first_row = first_rows[sheet_name] or 1
            sheets.append(Sheet(name, sheet_name, columns, first_row, first_col, loaded.visible != "visible"))
    except fastexcel.FastExcelError as exc:
        raise UnreadableFile(f"{name}: the workbook could not be read ({exc}).") from exc
    return sheets


def _decode(name: str, data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"{name}: the text is neither UTF-8 nor Windows-1252 ({exc}).") from exc


def _rows(name: str, reader: Any, limits: Limits) -> Any:
    """The CSV's records, refusing at the first one wider than the column limit."""
    for number, record in enumerate(reader, start=1):
        if len(record) > limits.max_columns:
            raise too_wide(name, f"line {number}", len(record), limits)
        yield record


def _read_csv(name: str, data: bytes, limits: Limits) -> list[Sheet]:
    text = _decode(name, data)
    if "\x00" in text[:4096]:
        raise UnreadableFile(f"{name}: the file contains binary data, not CSV text.")
    first = next((line for line in io.StringIO(text) if line.strip()), "")  # lazily: no list of every line
    delimiter = ";" if first.count(";") > first.count(",") else ","
    # a hostile width is refused on the first line, before any parsing (separators inside quotes are counted
    # exactly by the parser, record by record, below)
    if first.count(delimiter) >= limits.max_columns and '"' not in first:
        raise too_wide(name, "the first line", first.count(delimiter) + 1, limits)
    try:
        grid: list[list[Cell]] = list(_rows(name, csv.reader(io.StringIO(text, newline=""), delimiter=delimiter),
                                            limits))
    except csv.Error as exc:
        raise UnreadableFile(f"{name}: the CSV could not be parsed ({exc}).") from exc
    return [Sheet.from_grid(name, None, grid)]


def read_sheets(name: str, data: bytes, limits: Limits | None = None) -> list[Sheet]:
    """Every worksheet of a workbook (or the one table of a CSV file), after the safety checks."""
    limits = limits or current_limits()
    if len(data) > limits.max_file_bytes:
        raise UnreadableFile(
            f"{name}: the file is {len(data) / MIB:.3g} MB, above the {limits.max_file_bytes / MIB:.3g} MB limit "
            "(AIMS_MAX_UPLOAD_MB)."
        )
    if not data.strip():
        raise UnreadableFile(f"{name}: the file is empty.")
    kind = _kind_of(name, data)
    if kind == "xlsx":
        return _read_xlsx(name, data, check_archive(name, data, limits), limits)
    return _read_csv(name, data, limits)
