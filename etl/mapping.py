"""A column mapping a person corrects: which sheet, which header row, which column feeds which field.

The same JSON serves the command line (`--mapping`) and the Import page, e.g.

    {"sheet": "Data", "header_row": 4, "columns": {"maturity": "Reifegrad", "unit": "C", "notes": null}}

A column is named by its header text (case and accents ignored) or by its letter; `null` means "do not
import this field". Fields may also be given at the top level: `{"maturity": "Score"}`. Whatever the
mapping does not mention is recognised from the header names as usual. `{"units": {"Group I.T.": "Group IT"}}`
sends a unit name of the file to an existing unit (see etl.unit_aliases).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard.catalog import Catalog
from etl.layouts import FIELDS, HEADER_SCAN_ROWS, Column, Layout, detect_layouts, layout_at
from etl.problems import Report
from etl.readers import Sheet
from etl.values import fold

__all__ = ["Mapping", "MappingError", "apply_mapping", "load_mapping"]

_LETTERS = re.compile(r"^[A-Z]{1,3}$")


class MappingError(ValueError):
    """The mapping itself is malformed (not JSON, unknown field, wrong type)."""


@dataclass(frozen=True)
class Mapping:
    sheet: str | None = None
    header_row: int | None = None
    columns: dict[str, str | None] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # a unit name in the file -> the existing unit to use

    def __bool__(self) -> bool:
        return bool(self.sheet or self.header_row or self.columns or self.units)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mapping:
        if not isinstance(data, dict):
            raise MappingError("the mapping must be a JSON object such as {\"maturity\": \"Score\"}")
        data = dict(data)
        sheet = data.pop("sheet", None)
        header_row = data.pop("header_row", None)
        columns = data.pop("columns", {}) or {}
        units = _units(data.pop("units", {}) or {})
        if not isinstance(columns, dict):
            raise MappingError("'columns' must be an object of field -> header or column letter")
        columns = {**columns, **data}
        unknown = sorted(set(columns) - set(FIELDS))
        if unknown:
            raise MappingError(f"unknown field(s) {', '.join(map(repr, unknown))}; the fields are {', '.join(FIELDS)}")
        for name, target in columns.items():
            if target is not None and (not isinstance(target, str) or not target.strip()):
                raise MappingError(f"the column for {name!r} must be a header text, a column letter, or null")
        if sheet is not None and not isinstance(sheet, str):
            raise MappingError("'sheet' must be the name of a sheet")
        if header_row is not None and (isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1):
            raise MappingError("'header_row' must be a row number (1 or more) as Excel shows it")
        return cls(sheet, header_row, {k: (v.strip() if isinstance(v, str) else None) for k, v in columns.items()},
                   units)

    @classmethod
    def from_json(cls, text: str | None) -> Mapping:
        if not text or not text.strip():
            return cls()
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise MappingError(f"the mapping is not valid JSON ({exc})") from exc

    def to_json(self) -> str:
        """Compact, stable JSON (the same mapping always gives the same text)."""
        data: dict[str, Any] = {}
        if self.sheet:
            data["sheet"] = self.sheet
        if self.header_row:
            data["header_row"] = self.header_row
        if self.columns:
            data["columns"] = {k: self.columns[k] for k in FIELDS if k in self.columns}
        if self.units:
            data["units"] = dict(sorted(self.units.items()))
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")) if data else ""


def _units(units: Any) -> dict[str, str]:
    """`{"Group I.T.": "Group IT"}`: use the existing unit for a name in the file (see etl.unit_aliases)."""
    if not isinstance(units, dict) or not all(isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip()
                                              for k, v in units.items()):
        raise MappingError("'units' must be an object of unit name in the file -> existing unit name")
    return {" ".join(k.split()): " ".join(v.split()) for k, v in units.items()}


def load_mapping(argument: str | None) -> Mapping:
    """A mapping from the command line: JSON text, or the path of a .json file holding it."""
    if not argument:
        return Mapping()
    text = argument
    if not argument.lstrip().startswith("{"):
        path = Path(argument)
        if not path.is_file():
            raise MappingError(f"--mapping {argument}: neither JSON text nor an existing .json file")
        text = path.read_text(encoding="utf-8-sig")
    return Mapping.from_json(text)


def _find(columns: list[Column], target: str) -> Column | None:
    exact = [c for c in columns if c.header == target]
    folded = [c for c in columns if fold(c.header) == fold(target)]
    if exact or folded:
        return (exact or folded)[0]
    if _LETTERS.match(target):
        return next((c for c in columns if c.letter == target), None) or Column(_index(target), target)
    return None


def _index(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number - 1


def _override(layout: Layout, name: str, target: str | None) -> bool:
    """Point `name` at the target column of this layout (None: at no column); False if the layout has no such
    column, in which case it is left as it was."""
    column = None if target is None else _find(layout.columns, target)
    sheet = layout.sheet
    if target is not None and (column is None or not sheet.first_col <= column.index < sheet.first_col + sheet.width):
        return False
    for other in layout.columns:
        if other.field == name:
            other.field, other.how = None, "not imported (by you)"
    if column is not None:
        if column not in layout.columns:
            layout.columns.append(column)
            layout.columns.sort(key=lambda c: c.index)
        column.field, column.how = name, "set by you"
    return True


def _header_row_for(sheet: Sheet, mapping: Mapping) -> int | None:
    """The first row naming one of the mapping's header texts (when the header was not recognised)."""
    wanted = {fold(t) for t in mapping.columns.values() if t and not _LETTERS.match(t)}
    for number, cells in sheet.head(HEADER_SCAN_ROWS):
        if wanted & {fold(c) for c in cells if isinstance(c, str)}:
            return number
    return None


def apply_mapping(
    sheets: list[Sheet], layouts: list[Layout], mapping: Mapping, catalog: Catalog, report: Report
) -> list[Layout]:
    """The data sheets after the person's corrections; problems with the mapping go into `report`."""
    if not mapping:
        return layouts
    if mapping.sheet is not None or mapping.header_row is not None:
        candidates = [s for s in sheets if mapping.sheet is None or s.name == mapping.sheet]
        if mapping.sheet is not None and not candidates:
            names = ", ".join(repr(s.name) for s in sheets)
            report.error(f"the mapping names sheet {mapping.sheet!r}, which this file does not have (it has {names})",
                         column="sheet", value=mapping.sheet, expected="one of the file's sheet names")
            return []
        if mapping.sheet is None:
            detected = {id(layout.sheet) for layout in layouts}
            candidates = [s for s in candidates if id(s) in detected] or [s for s in candidates if not s.hidden][:1]
        chosen = []
        for sheet in candidates:
            row = mapping.header_row or next((la.header_row for la in layouts if la.sheet is sheet), None)
            row = row or _header_row_for(sheet, mapping)
            layout = layout_at(sheet, catalog, row) if row else None
            if layout is None:
                report.error("the chosen header row is empty or outside the sheet", sheet=sheet.name, row=row,
                             expected="the row that holds the column names")
                return []
            chosen.append(layout)
        layouts = chosen
    elif not layouts and mapping.columns:
        for sheet in (s for s in sheets if not s.hidden):
            row = _header_row_for(sheet, mapping)
            if row:
                found = layout_at(sheet, catalog, row)
                layouts = [found] if found else []
                break
    for name, target in mapping.columns.items():
        applied = [_override(layout, name, target) for layout in layouts]
        if layouts and not any(applied):
            where = layouts[0]
            headers = ", ".join(repr(c.header) for c in where.columns)
            report.error(f"the mapping sets {name} to column {target!r}, which the header row does not have "
                         f"(it has {headers})", sheet=where.sheet.name, row=where.header_row, column=name,
                         value=target, expected="a header text or a column letter")
    return layouts


def recognise(sheets: list[Sheet], catalog: Catalog, mapping: Mapping, report: Report) -> tuple[list[Layout], dict]:
    """Detect the data sheets, then apply the person's corrections."""
    layouts, cover = detect_layouts(sheets, catalog)
    return apply_mapping(sheets, layouts, mapping, catalog, report), cover
