"""Validate the data sheets of a file into one batch of responses, naming every bad cell.

Work is done column by column: free-text columns are trimmed and unescaped in Arrow; every other
column's distinct values are cleaned and parsed once, and the results are spread back over the rows,
so that 100,000 rows cost little more than reading them. Every
cell that fails is reported with its sheet, Excel row, column header and letter, the value found and
what was expected. The rules between cells live in `etl.rules`.

Where values come from, most specific first: the row's own column, then the sheet's metadata block
(then a cover sheet's), then what the person gave for the whole import (`--unit`, `--assessment`).
Without a round label, an assessment is labelled by its date (YYYY-MM-DD).

Rows marked not assessable (CISO Assistant's outline rows) are skipped before their cells are parsed.
A second column for a free-text field is appended to the notes under its header; every other column
holding values that feeds nothing is a warning with its count of values. A sheet that names no unit or
round is an error reported once, together with every row's other errors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.catalog import Catalog
from etl.canonical import FORMULA_PREFIXES
from etl.layouts import FIELDS, Layout, MetaValue
from etl.problems import Report, column_letter
from etl.readers import clean_cell
from etl.rules import TEXT_FIELDS, Columns, Problems, apply_rules, shown
from etl.values import (
    STATUS_EXPECTED,
    BadValue,
    parse_applicable,
    parse_date,
    parse_gap,
    parse_item_id,
    parse_level,
    parse_maturity,
    parse_status,
    parse_text,
)

__all__ = ["Batch", "validate_layouts"]


@dataclass
class Batch:
    """What one file says, validated.

    `responses`: one row per unit, round and item (`akey` numbers the assessment, `status` holds
    compliant/partial where a status word stands in for a level). `assessments`: one row per `akey`.
    """

    file: str
    layouts: list[Layout]
    responses: pd.DataFrame
    assessments: pd.DataFrame
    rows_read: int = 0
    rows_skipped: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def response_count(self) -> int:
        return len(self.responses)

    @property
    def units(self) -> list[str]:
        return sorted(set(self.assessments["unit"]), key=str.casefold)

    @property
    def rounds(self) -> list[str]:
        return sorted(set(self.assessments["label"]))


def _status_cell(value: Any, catalog: Catalog) -> int | str | None:
    """A status column: status words first, and a level where a template puts numbers there."""
    try:
        return parse_status(value)
    except BadValue:
        try:
            return parse_level(value, catalog.scale)
        except BadValue:
            raise BadValue(f"{STATUS_EXPECTED}, or a maturity level 0-5") from None


def _unit_name(value: Any) -> str | None:
    text = parse_text(value)
    return " ".join(text.split()) if text else None


def _parsers(catalog: Catalog, annex: bool) -> dict[str, Callable[[Any], Any]]:
    scale = catalog.scale
    return {
        "unit": _unit_name,
        "assessment": parse_text,
        "assessed_on": parse_date,
        "item_id": lambda v: parse_item_id(v, catalog, annex=annex),
        "maturity": lambda v: parse_maturity(v, scale),
        "status": lambda v: _status_cell(v, catalog),
        "gap": parse_gap,
        "assessable": parse_applicable,
        "target": lambda v: parse_level(v, scale),
        "applicable": parse_applicable,
        "due_date": parse_date,
    }


@dataclass
class _Spread:
    """One column parsed: the value, whether the cell was filled, and whether it is a status word, per row."""

    values: np.ndarray | pa.Array  # free text stays an Arrow array
    present: np.ndarray
    words: np.ndarray
    codes: np.ndarray
    bad: dict[int, tuple[Any, str]]


# our exports put an apostrophe before a leading formula character; `unescape`, for a whole column
_ESCAPED = "^'([" + "".join(f"\\x{{{ord(c):02x}}}" for c in FORMULA_PREFIXES) + "])"


def _spread_text(column: pa.Array) -> _Spread:
    """Free text, mostly distinct: trimmed, blank as empty and our export's escaping undone, all in Arrow."""
    count = len(column)
    trimmed = pc.utf8_trim_whitespace(column)
    filled = pc.fill_null(pc.greater(pc.utf8_length(trimmed), 0), False)
    text = pc.if_else(filled, pc.replace_substring_regex(trimmed, pattern=_ESCAPED, replacement="\\1"), None)
    return _Spread(text, filled.to_numpy(zero_copy_only=False),  # stays in Arrow, on to the database
                   np.zeros(count, dtype=bool), np.zeros(count, dtype=np.int64), {})


def _spread(column: pa.Array, parser: Callable[[Any], Any]) -> _Spread:
    """Parse each distinct value of a column once and spread the results back over its rows."""
    encoded = pc.dictionary_encode(column)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    uniques = encoded.dictionary.to_pylist()
    parsed = np.empty(len(uniques) + 1, dtype=object)  # the last slot, code -1, is the empty cell
    present = np.zeros(len(uniques) + 1, dtype=bool)
    words = np.zeros(len(uniques) + 1, dtype=bool)
    bad: dict[int, tuple[Any, str]] = {}
    for code, value in enumerate(uniques):
        cell = clean_cell(value)
        if cell is None:
            continue
        present[code] = True
        try:
            parsed[code] = parser(cell)
            words[code] = isinstance(parsed[code], str)
        except BadValue as exc:
            bad[code] = (cell, exc.expected)
    return _Spread(parsed[codes], present[codes], words[codes], codes, bad)


def _kept_notes(layout: Layout, notes: pa.Array, present: np.ndarray, start: int,
                keep: pa.Array | None) -> tuple[pa.Array, np.ndarray]:
    """The notes with every second free-text column appended, each on its own line under its header."""
    sheet, joined = layout.sheet, notes
    for column in layout.kept:
        cells = sheet.column(column.index - sheet.first_col, start)
        text = _spread_text(cells.filter(keep) if keep is not None else cells)
        labelled = pc.binary_join_element_wise(f"{column.header or column.letter}: ", text.values, "")
        # (join's null_handling="skip" loses rows of an all-null array in pyarrow 26: null-aware by hand)
        both = pc.binary_join_element_wise(joined, labelled, "\n")
        joined = pc.if_else(pc.is_null(joined), labelled, pc.if_else(pc.is_null(labelled), joined, both))
        present = present | text.present
    return joined, present


def _assessable(layout: Layout, start: int, count: int, problems: Problems, index: int) -> pa.Array | None:
    """Rows to read when the sheet marks rows as (not) assessable (CISO Assistant's outline rows): the
    rows marked false are skipped, errors in them included; None when every row is read."""
    column = layout.fields.get("assessable")
    if column is None or count == 0 or column.index - layout.sheet.first_col >= layout.sheet.width:
        return None
    spread = _spread(layout.sheet.column(column.index - layout.sheet.first_col, start), parse_applicable)
    for i in np.flatnonzero(np.isin(spread.codes, list(spread.bad))) if spread.bad else ():
        value, expected = spread.bad[int(spread.codes[i])]
        row = layout.header_row + 1 + int(i)
        problems.add("error", (index, row, column.index), "invalid assessable", sheet=layout.sheet.name, row=row,
                     column=layout.column_label("assessable"), value=shown(value), expected=expected)
    skip = spread.values == False  # noqa: E712 - elementwise on an object array
    return pa.array(~skip) if skip.any() else None


def _parse_sheet(index: int, layout: Layout, catalog: Catalog, problems: Problems) -> Columns:
    sheet = layout.sheet
    start = layout.header_offset + 1
    count, width = max(sheet.height - start, 0), sheet.width
    rows = layout.header_row + 1 + np.arange(count)
    keep = _assessable(layout, start, count, problems, index)
    excluded = 0
    if keep is not None:
        rows = rows[keep.to_numpy(zero_copy_only=False)]
        excluded, count = count - len(rows), len(rows)
    parsers = _parsers(catalog, layout.annex)
    out = Columns(rows, np.full(count, index), np.zeros(count, dtype=bool), excluded=excluded)
    for name in FIELDS:
        column = layout.fields.get(name)
        position = column.index - sheet.first_col if column else width
        if column is None or position >= width or count == 0:
            blank = pa.nulls(count, pa.string()) if name in TEXT_FIELDS else np.full(count, None, dtype=object)
            out.set(name, blank, np.zeros(count, dtype=bool), np.zeros(count, dtype=bool))
            continue
        cells = sheet.column(position, start)
        if keep is not None:
            cells = cells.filter(keep)
        spread = _spread_text(cells) if name in TEXT_FIELDS else _spread(cells, parsers[name])
        out.set(name, spread.values, spread.present, spread.words)
        if spread.bad:
            hit = np.isin(spread.codes, list(spread.bad))
            out.failed |= hit
            label = layout.column_label(name)
            for i in np.flatnonzero(hit):
                value, expected = spread.bad[int(spread.codes[i])]
                problems.add("error", (index, int(rows[i]), column.index), f"invalid {name.replace('_', ' ')}",
                             sheet=sheet.name, row=int(rows[i]), column=label, value=shown(value), expected=expected)
    if layout.kept and count:
        out.values["notes"], out.present["notes"] = _kept_notes(layout, out.values["notes"], out.present["notes"],
                                                                start, keep)
    # a row blank in every mapped column may still hold other text (a title): it counts as read
    read = np.zeros(count, dtype=bool)
    for name in FIELDS:
        read |= out.present[name]
    rest = np.flatnonzero(~read)
    if len(rest) and width:
        filled = np.zeros(count, dtype=bool)
        for position in range(width):
            cells = sheet.column(position, start)
            cells = cells.filter(keep) if keep is not None else cells
            filled |= pc.fill_null(pc.not_equal(cells, ""), False).to_numpy(zero_copy_only=False)
        read[rest] = filled[rest]
    return out.take(np.flatnonzero(read))


def _fallback(name: str, layout: Layout, sheet_index: int, cover: dict[str, MetaValue], option: Any,
              parser: Callable[[Any], Any], problems: Problems) -> tuple[Any, bool]:
    """The value for rows whose own cell is blank: the metadata block's, else the option's; (value, known)."""
    meta = layout.metadata.get(name) or cover.get(name)
    if meta is not None:
        try:
            return parser(clean_cell(meta.value)), True
        except BadValue as exc:
            problems.add("error", (sheet_index, meta.row, meta.column), f"invalid {name.replace('_', ' ')} above the table",
                         sheet=meta.sheet, row=meta.row, column=column_letter(meta.column),
                         value=shown(meta.value), expected=exc.expected)
            return None, True
    return (option, True) if option else (None, False)


def _fill_from_context(columns: Columns, layout: Layout, sheet_index: int, cover: dict[str, MetaValue],
                       unit: str | None, label: str | None, problems: Problems) -> None:
    """Blank unit / round / date cells take the sheet's metadata block, then the import's options."""
    fills = {"unit": (_unit_name, _unit_name(unit)), "assessment": (parse_text, parse_text(label)),
             "assessed_on": (parse_date, None)}
    for name, (parser, option) in fills.items():
        blank = ~columns.present[name]
        if not blank.any():
            continue
        value, known = _fallback(name, layout, sheet_index, cover, option, parser, problems)
        if known and value is not None:
            columns.values[name][blank] = value
            columns.present[name] = columns.present[name] | blank
        elif known:
            columns.failed[blank] = True  # the metadata value was bad: reported once, at its cell
    dated = ~columns.present["assessment"] & columns.present["assessed_on"]
    if dated.any():
        days = columns.values["assessed_on"][dated]
        columns.values["assessment"][dated] = [d.isoformat() if isinstance(d, dt.date) else None for d in days]
        columns.present["assessment"] = columns.present["assessment"] | dated


def _context_known(layouts: list[Layout], cover: dict[str, MetaValue], report: Report, *, unit: str | None,
                   label: str | None) -> frozenset[str]:
    """Every sheet must say (or be told) which unit and which round its rows belong to; what none says."""
    untold = set()
    for layout in layouts:
        has = set(layout.fields) | set(layout.metadata) | set(cover)
        if "unit" not in has and not unit:
            untold.add("unit")
            report.error("the header row has no 'unit' column, no 'unit:' line stands above the table, and no unit "
                         "was given for the import", sheet=layout.sheet.name, row=layout.header_row, column="unit",
                         expected=f"a unit column (business unit, division, department, ...), or {report.option('unit')}")
        if not ({"assessment", "assessed_on"} & has) and not label:
            untold.add("assessment")
            report.error("the header row has no 'assessment' (round) or date column, none stands above the table, and "
                         "no round was given for the import", sheet=layout.sheet.name, row=layout.header_row,
                         column="assessment", expected="a round column (assessment, round, period, ...), an assessment "
                                                       f"date, or {report.option('assessment')}")
    return frozenset(untold)


def _report_unused(layouts: list[Layout], report: Report) -> None:
    """Every column holding values that feeds nothing is named, with its count of non-empty cells."""
    for layout in layouts:
        for column, count in layout.unused():
            label = f"{column.header} ({column.letter})" if column.header else f"{column.letter} (no header)"
            report.warning(f"column {label} holds {count:,} value(s) that are not imported", sheet=layout.sheet.name,
                           row=layout.header_row, column=label, value=None,
                           expected=f"point a field at it with {report.option('mapping')} if it should be imported")


def validate_layouts(
    file: str, layouts: list[Layout], cover: dict[str, MetaValue], catalog: Catalog, report: Report,
    *, unit: str | None = None, label: str | None = None,
) -> Batch | None:
    """Validate every data sheet of a file into one `Batch`; every problem goes into `report`."""
    if not layouts:
        return None
    _report_unused(layouts, report)
    untold = _context_known(layouts, cover, report, unit=unit, label=label)
    problems = Problems()
    parts = []
    for index, layout in enumerate(layouts):
        columns = _parse_sheet(index, layout, catalog, problems)
        _fill_from_context(columns, layout, index, cover, unit, label, problems)
        parts.append(columns)
    responses, assessments, read, skipped = apply_rules(Columns.concat(parts), layouts, catalog, problems, untold=untold)
    problems.into(report)
    batch = Batch(file, layouts, responses, assessments, read, skipped)
    batch.metadata = {**{k: shown(v.value) for k, v in cover.items()},
                      **{k: shown(v.value) for la in layouts for k, v in la.metadata.items()}}
    if report.ok and responses.empty:
        report.error("the file holds no answered rows", sheet=layouts[0].sheet.name,
                     expected="rows with an item id and at least one answer (maturity, status, applicable, evidence, ...)")
    return batch
