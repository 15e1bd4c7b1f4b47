"""The canonical layout: find the header row, map columns, validate every cell into a batch of responses.

The layout is one row per unit, assessment and item, with the columns in `COLUMNS`. Columns are found
by their header names (any order, any case); `title` and `section` are informational and ignored on
import. A blank cell leaves the stored value unchanged; a row that is blank apart from its ids is skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dashboard.catalog import Catalog
from etl.problems import Report, column_letter
from etl.readers import Sheet
from etl.values import BadValue, parse_applicable, parse_date, parse_item_id, parse_level, parse_text

__all__ = ["COLUMNS", "Batch", "ParsedAssessment", "ParsedResponse", "parse_sheets"]

COLUMNS = (
    "unit", "assessment", "assessed_on", "section", "item_id", "title", "maturity", "target",
    "applicable", "justification", "evidence", "owner", "due_date", "notes",
)
FIELDS = ("maturity", "target", "applicable", "justification", "evidence", "owner", "due_date", "notes")
HEADER_SCAN_ROWS = 30


@dataclass
class ParsedResponse:
    row: int
    item_id: str
    values: dict[str, Any]


@dataclass
class ParsedAssessment:
    unit: str
    label: str
    assessed_on: dt.date | None
    responses: dict[str, ParsedResponse] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)


@dataclass
class Batch:
    """What one file says, validated: assessments keyed by (unit, label), and the rows read."""

    file: str
    sheet: str | None
    assessments: dict[tuple[str, str], ParsedAssessment] = field(default_factory=dict)
    rows_read: int = 0
    rows_skipped: int = 0

    @property
    def response_count(self) -> int:
        return sum(len(a.responses) for a in self.assessments.values())


def _normal_header(value: Any) -> str:
    return "_".join(str(value or "").strip().lower().replace("-", " ").split())


def _find_header(sheet: Sheet) -> tuple[int, dict[str, int]] | None:
    for position, (_, cells) in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        names = [_normal_header(c) for c in cells]
        if "item_id" in names:
            mapping = {}
            for index, name in enumerate(names):
                if name in COLUMNS and name not in mapping:
                    mapping[name] = index
            return position, mapping
    return None


def _pick_sheet(sheets: list[Sheet]) -> tuple[Sheet, int, dict[str, int]] | None:
    for sheet in sorted(sheets, key=lambda s: (s.name or "").lower() != "responses"):
        found = _find_header(sheet)
        if found:
            return sheet, *found
    return None


def parse_sheets(
    file: str, sheets: list[Sheet], catalog: Catalog, report: Report, *, unit: str | None = None, label: str | None = None
) -> Batch | None:
    """Validate the canonical sheet of a file into a `Batch`; every problem goes into `report`."""
    picked = _pick_sheet(sheets)
    if picked is None:
        report.error(
            "no sheet has a header row with an 'item_id' column (the canonical template's layout)",
            expected="a header row naming unit, assessment, item_id, maturity, ...",
        )
        return None
    sheet, header_position, mapping = picked
    header_row = sheet.rows[header_position][0]
    for required, option in (("unit", unit), ("assessment", label)):
        if required not in mapping and not option:
            report.error(
                f"the header row has no {required!r} column and no --{'unit' if required == 'unit' else 'assessment'} was given",
                sheet=sheet.name, row=header_row, expected=f"a column named {required}",
            )
    if not report.ok:
        return None

    batch = Batch(file, sheet.name)
    seen: dict[tuple[str, str, str], tuple[int, dict[str, Any]]] = {}

    def cell(cells: list[Any], name: str) -> Any:
        index = mapping.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    for excel_row, cells in sheet.rows[header_position + 1:]:
        batch.rows_read += 1

        def where(name: str, _row: int = excel_row) -> dict[str, Any]:
            index = mapping.get(name)
            letter = f" ({column_letter(index)})" if index is not None and sheet.name else ""
            return {"sheet": sheet.name, "row": _row, "column": f"{name}{letter}"}

        def parse(name: str, parser: Callable[[Any], Any], _cells: list[Any] = cells) -> Any:
            raw = cell(_cells, name)
            try:
                return parser(raw)
            except BadValue as exc:
                report.error(f"invalid {name}", value=str(raw), expected=exc.expected, **where(name))
                return None

        errors_before = len(report.errors)
        item_id = parse("item_id", lambda v: parse_item_id(v, catalog))
        if item_id is None:
            if len(report.errors) == errors_before:
                if any(cell(cells, f) is not None for f in FIELDS):
                    report.error("this row has answers but no item id", expected="an item id", **where("item_id"))
                else:
                    batch.rows_skipped += 1
            continue
        values = {
            "maturity": parse("maturity", lambda v: parse_level(v, catalog.scale)),
            "target": parse("target", lambda v: parse_level(v, catalog.scale)),
            "applicable": parse("applicable", parse_applicable),
            "due_date": parse("due_date", parse_date),
            **{name: parse(name, parse_text) for name in ("justification", "evidence", "owner", "notes")},
        }
        unit_name = parse_text(cell(cells, "unit")) or unit
        round_label = parse_text(cell(cells, "assessment")) or label
        assessed_on = parse("assessed_on", parse_date)
        if len(report.errors) > errors_before:
            continue
        if not unit_name or not round_label:
            missing = "unit" if not unit_name else "assessment"
            report.error(f"the {missing} is blank", expected=f"a {missing} name, or --{'unit' if missing == 'unit' else 'assessment'}",
                         **where(missing))
            continue
        item = catalog.by_id[item_id]
        if item.kind == "clause" and values["applicable"] is False:
            report.error(
                f"clause {item_id} is a requirement of the management system and cannot be marked not applicable; "
                "only Annex A controls can be excluded",
                value="no", expected="yes or blank", **where("applicable"),
            )
            continue
        if values["applicable"] is False and not values["justification"]:
            report.error(
                f"control {item_id} is marked not applicable without a justification",
                expected="a justification in the same row (it goes into the Statement of Applicability)",
                **where("justification"),
            )
            continue
        if all(values[f] is None for f in FIELDS):
            batch.rows_skipped += 1
            continue
        key = (unit_name.casefold(), round_label, item_id)
        if key in seen:
            first_row, first_values = seen[key]
            if first_values == values:
                report.warning(f"item {item_id} for {unit_name} {round_label} repeats row {first_row} identically; "
                               "the repeat is ignored", sheet=sheet.name, row=excel_row, column="item_id")
            else:
                report.error(f"item {item_id} for {unit_name} {round_label} appears twice with different values "
                             f"(rows {first_row} and {excel_row})", sheet=sheet.name, row=excel_row, column="item_id")
            continue
        seen[key] = (excel_row, values)
        group = batch.assessments.get((unit_name.casefold(), round_label))
        if group is None:
            group = batch.assessments[(unit_name.casefold(), round_label)] = ParsedAssessment(
                unit_name, round_label, assessed_on
            )
        elif assessed_on and group.assessed_on and assessed_on != group.assessed_on:
            report.error(f"{unit_name} {round_label} has two different assessment dates "
                         f"({group.assessed_on} and {assessed_on})", value=str(assessed_on),
                         expected=str(group.assessed_on), **where("assessed_on"))
            continue
        group.assessed_on = group.assessed_on or assessed_on
        group.kinds.add(item.kind)
        group.responses[item_id] = ParsedResponse(excel_row, item_id, values)
    if report.ok and not batch.assessments:
        report.error("the file holds no answered rows", sheet=sheet.name,
                     expected="rows with an item id and at least one answer")
    return batch
