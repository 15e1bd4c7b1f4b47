"""Read an ISO/IEC 27001:2022 assessment in our import layouts and turn it into proposals for 42001 items.

The file is any layout the importer recognises by its header names (our canonical template, or columns
named item / requirement / control, maturity / level / status, evidence, unit, round, date, in English,
French, Spanish or German), with ISO/IEC 27001:2022 ids in the item column: clauses `4.1` … `10.2`
(a clause with subclauses, such as `9.2`, rates each of them) and Annex A controls `A.5.1` … `A.8.34`
(`A5.1`, `A 5.1`; a bare `5.1` is the clause, unless the sheet's name or a title row says Annex A).
Because 27001 clause ids look like 42001's, the file is said to be a 27001 assessment by the command or
the page that imports it; it never goes through the 42001 import.

It reuses the import's reader (with its safety checks), header aliases, metadata block and value parsers;
a problem names file, sheet, row and column, and any error refuses the whole file (nothing proposed).
Levels: a number or level name wins; status words read as in the importer (compliant = the default target 3,
partial = 2, non-compliant = 0); N/A and blank give no proposal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from dashboard.catalog import Catalog, load_catalog
from dashboard.frameworks import load_frameworks
from dashboard.proposals import ProposalCounts, propose
from etl.layouts import HEADER_SCAN_ROWS, find_metadata, match_header
from etl.problems import column_letter
from etl.readers import UnreadableFile, read_sheets
from etl.standard_named import other_standard, refusal
from etl.values import COMPLIANT, NON_COMPLIANT, PARTIAL, BadValue, fold, parse_date, parse_maturity, parse_text, partial_level

__all__ = ["Reading", "propose_from_file", "read_27001"]

_ID = re.compile(r"^\s*(a)?[\s.]*(\d+(?:\.\d+)*)", re.IGNORECASE)


@dataclass
class Reading:
    """What a 27001 file says: one row per unit, round and 27001 requirement with a level; or the problems."""

    file: str
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["unit", "assessment", "assessed_on", "source_item", "level", "evidence"]))
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _ids() -> tuple[set[str], dict[str, list[str]]]:
    """27001 ids, and each clause heading (9.2) with the subclauses it stands for (9.2.1, 9.2.2)."""
    ids = set(load_frameworks()["iso-27001"].by_id)
    parents: dict[str, list[str]] = {}
    for rid in ids:
        if not rid.startswith("A.") and rid.count(".") == 2:
            parents.setdefault(rid.rsplit(".", 1)[0], []).append(rid)
    return ids, {k: sorted(v) for k, v in parents.items()}


def _item_ids(value: Any, annex: bool, ids: set[str], parents: dict[str, list[str]]) -> list[str]:
    text = parse_text(value)
    match = _ID.match(text or "")
    if not match:
        raise BadValue("an ISO/IEC 27001:2022 clause (4.1 … 10.2) or Annex A control (A.5.1 … A.8.34)")
    number = match.group(2)
    if match.group(1) or annex:
        if f"A.{number}" in ids:
            return [f"A.{number}"]
    elif number in parents:
        return parents[number]
    elif number in ids:
        return [number]
    raise BadValue("an ISO/IEC 27001:2022 clause (4.1 … 10.2) or Annex A control (A.5.1 … A.8.34)")


def _level(value: Any, catalog: Catalog) -> int | None:
    parsed = parse_maturity(value, catalog.scale)
    if parsed is None or isinstance(parsed, int):
        return parsed
    if parsed == COMPLIANT:
        return catalog.scale.default_target
    if parsed == PARTIAL:
        return partial_level(catalog.scale.default_target)
    if parsed == NON_COMPLIANT:
        return 0
    return None  # not applicable, not assessed: nothing to propose


def _cell(cells: list[Any], columns: dict[str, int], field_name: str) -> Any:
    at = columns.get(field_name)
    return cells[at] if at is not None and at < len(cells) else None


def _problem(where: str, row: int, column: str, value: Any, expected: str) -> str:
    return f"{where}, row {row}, column {column}: {value!r} — expected {expected}"


def _header(head: list[tuple[int, list[Any]]]) -> tuple[int, int, list[Any]] | None:
    """The header row among a sheet's first rows (its position, Excel row and cells): an item column and a
    maturity or status column."""
    for position, (excel_row, cells) in enumerate(head):
        named = {match_header(c)[0] for c in cells if match_header(c)[1]}
        if "item_id" in named and {"maturity", "status"} & named:
            return position, excel_row, cells
    return None


def read_27001(name: str, data: bytes, *, unit: str | None = None, label: str | None = None,
               catalog: Catalog | None = None) -> Reading:
    """Read every data sheet of a 27001 assessment; `unit` and `label` serve rows that name none."""
    catalog = catalog or load_catalog()
    reading = Reading(name)
    try:
        sheets = read_sheets(name, data)
    except UnreadableFile as exc:
        reading.problems.append(str(exc))
        return reading
    ids, parents = _ids()
    found: list[dict[str, Any]] = []
    cover: dict[str, Any] = {}
    headers = {id(sheet): _header(sheet.head(HEADER_SCAN_ROWS)) for sheet in sheets if not sheet.hidden}
    said = other_standard(name, sheets, {key: h[1] for key, h in headers.items() if h is not None}, expected="27001")
    if said is not None:
        where = ", ".join([name, *([f"sheet {said.sheet}"] if said.sheet else []),
                          *([f"row {said.row}"] if said.row is not None else []),
                          *([f"column {said.column}"] if said.column else [])])
        reading.problems.append(f"{where}: {refusal(said, expected='27001')}; import a 42001 assessment on the "
                                "Import page (python -m etl import), or say ISO/IEC 27001 in this file's title if it is one")
        return reading
    for sheet in sheets:
        if sheet.hidden:
            continue
        head = sheet.head(HEADER_SCAN_ROWS)
        header = headers[id(sheet)]
        if header is None:
            cover.update(find_metadata(sheet, head))
            continue
        position, header_row, cells = header
        columns: dict[str, int] = {}
        for offset, cell in enumerate(cells):
            named, sure = match_header(cell)
            if named and sure and named not in columns:
                columns[named] = offset
        above = head[:position]
        meta = {**cover, **find_metadata(sheet, above)}
        annex = "annex a" in fold(" ".join([sheet.name or "", *(str(c) for _, row in above for c in row if isinstance(c, str))]))
        where = f"{name}, sheet {sheet.name}" if sheet.name else name

        labels = {f: f"{cells[i]}" + (f" ({column_letter(sheet.first_col + i)})" if sheet.name else "")
                  for f, i in columns.items()}
        for excel_row, row in sheet.rows:
            if excel_row <= header_row:
                continue
            raw_id = _cell(row, columns, "item_id")
            if parse_text(raw_id) is None:
                continue
            try:
                items = _item_ids(raw_id, annex, ids, parents)
            except BadValue as exc:
                reading.problems.append(_problem(where, excel_row, labels["item_id"], raw_id, exc.expected))
                continue
            level = None
            for field_name in ("maturity", "status"):
                value = _cell(row, columns, field_name)
                if level is None and parse_text(value) is not None:
                    try:
                        level = _level(value, catalog)
                    except BadValue as exc:
                        reading.problems.append(_problem(where, excel_row, labels[field_name], value, exc.expected))
            if level is None:
                continue
            unit_name = parse_text(_cell(row, columns, "unit")) or parse_text(meta["unit"].value if "unit" in meta else None) or unit
            round_label = parse_text(_cell(row, columns, "assessment")) or parse_text(
                meta["assessment"].value if "assessment" in meta else None) or label
            try:
                day = parse_date(_cell(row, columns, "assessed_on") if _cell(row, columns, "assessed_on") is not None else
                            (meta["assessed_on"].value if "assessed_on" in meta else None))
            except BadValue as exc:
                reading.problems.append(_problem(where, excel_row, labels.get("assessed_on", "assessment date"),
                                                 _cell(row, columns, "assessed_on"), exc.expected))
                continue
            round_label = round_label or (day.isoformat() if day else None)
            if not unit_name or not round_label:
                reading.problems.append(f"{where}, row {excel_row}: no business unit or round for this row — give a unit and "
                                        "round column, a block above the table, or the unit and round for the whole file")
                continue
            for item in items:
                found.append({"unit": unit_name, "assessment": round_label, "assessed_on": day, "source_item": item,
                              "level": level, "evidence": parse_text(_cell(row, columns, "evidence"))})
    if not found and not reading.problems:
        reading.problems.append(f"{name}: no ISO/IEC 27001 answers found: a header row needs an item column "
                                "(item_id, requirement, control …) and a maturity or status column")
    if not reading.problems:
        reading.rows = pd.DataFrame(found, columns=reading.rows.columns)
    return reading


def propose_from_file(con: duckdb.DuckDBPyConnection, name: str, data: bytes, *, by: str, unit: str | None = None,
                      label: str | None = None, catalog: Catalog | None = None) -> tuple[Reading, ProposalCounts | None]:
    """Read a 27001 assessment and store its proposals (nothing when the file has any problem)."""
    catalog = catalog or load_catalog()
    reading = read_27001(name, data, unit=unit, label=label, catalog=catalog)
    if not reading.ok:
        return reading, None
    return reading, propose(con, reading.rows, by=by, filename=name, catalog=catalog)
