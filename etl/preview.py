"""Describe a file before importing it: how it was understood, what it holds, what is wrong with it.

The Import page shows one preview per uploaded file and lets the person correct the column mapping;
`Preview.corrections` turns those corrections into the same JSON the command line takes (`--mapping`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from dashboard.catalog import Catalog, load_catalog
from dashboard.store import find_import
from etl.importer import date_undated, import_key, understand
from etl.layouts import likely_header
from etl.mapping import Mapping
from etl.problems import Problem
from etl.unit_aliases import unit_warnings

__all__ = ["Preview", "command_line", "listing", "preview_bytes"]

META_LABELS = {"organisation": "Organisation", "unit": "Unit", "assessment": "Round", "assessed_on": "Assessment date",
               "assessor": "Assessor"}


def listing(values: list[str], limit: int = 8) -> str:
    """`A, B, C` — or the first few and how many more, for files naming hundreds of units."""
    if len(values) <= limit:
        return ", ".join(values)
    return f"{', '.join(values[:limit])} and {len(values) - limit:,} more"


def command_line(name: str, unit: str | None, label: str | None, mapping: str | None) -> str:
    """The command that imports this file as the page would, with the page's fields and corrections."""
    parts = ["python", "-m", "etl", "import", name]
    for flag, value in (("--unit", unit), ("--assessment", label), ("--mapping", mapping)):
        if value:
            parts += [flag, value]
    return shlex.join(parts)


@dataclass
class Preview:
    """What a file holds and how it was understood, before anything is written."""

    file: str
    status: str  # ready | rejected | already imported
    message: str = ""
    refused: bool = False  # refused before parsing (hostile, mislabelled, too large or wide): nothing to map
    applied: str = ""  # the mapping JSON this preview was made with
    detected: bool = False  # a header row was recognised (else `sheet` and `header_row` are a guess)
    sheet_names: list[str] = field(default_factory=list)
    sheet: str | None = None
    header_row: int | None = None
    sheets: pd.DataFrame = field(default_factory=pd.DataFrame)
    columns: pd.DataFrame = field(default_factory=pd.DataFrame)
    metadata: dict[str, str] = field(default_factory=dict)
    units: list[str] = field(default_factory=list)
    rounds: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_skipped: int = 0
    responses: int = 0
    items: int = 0
    assessments: int = 0
    problems: list[Problem] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    mapping: dict[str, str | None] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)

    def corrections(self, *, sheet: str | None = None, header_row: int | None = None,
                    columns: dict[str, str | None] | None = None) -> str:
        """The mapping JSON for what the person changed on this preview: another sheet or header row, or
        fields pointed at other columns (None = not imported). Unchanged choices add nothing."""
        base = Mapping.from_json(self.applied)
        moved = (sheet or self.sheet) != self.sheet or (header_row or self.header_row) != self.header_row
        changed = {f: c for f, c in (columns or {}).items() if c != self.mapping.get(f)}
        place = moved or (bool(changed) and not self.detected)
        return Mapping(
            (sheet or self.sheet) if place else base.sheet,
            (header_row or self.header_row) if place else base.header_row,
            {**base.columns, **changed},
            base.units,
        ).to_json()


def preview_bytes(
    con: duckdb.DuckDBPyConnection, name: str, data: bytes, unit: str | None = None, label: str | None = None,
    mapping: str | None = None, catalog: Catalog | None = None,
) -> Preview:
    """Validate a file and describe it (layout, columns, units, rounds, counts, problems); writes nothing."""
    catalog = catalog or load_catalog()
    understood = understand(name, data, catalog, unit, label, mapping, audience="page")
    batch, report = understood.batch, understood.report
    if batch is not None:  # units that look like existing ones: a warning, and a choice on the page
        unit_warnings(con, batch, report)
    if batch is not None and report.ok:
        date_undated(con, batch, report)  # says which rounds will take the import's date
    preview = Preview(name, "ready" if batch is not None and report.ok else "rejected", problems=report.problems,
                      applied=mapping or "", sheet_names=[s.name for s in understood.sheets if s.name is not None],
                      refused=understood.refused)
    if understood.refused:
        preview.message = "; ".join(p.message for p in report.errors)
        return preview
    chosen = understood.mapping
    seen = None if chosen is None else find_import(con, import_key(data, unit=unit, label=label, mapping=chosen))
    if seen:
        preview.status, preview.message = "already imported", f"already imported on {seen[1]:%Y-%m-%d %H:%M} as {seen[0]}"
    if understood.layouts:
        first = understood.layouts[0]
        preview.detected, preview.sheet, preview.header_row = True, first.sheet.name, first.header_row
        preview.sheets = pd.DataFrame([{"sheet": la.sheet.name or "(CSV)", "header row": la.header_row,
                                        "layout": la.description} for la in understood.layouts])
        filled = first.filled
        listed = {c.index: c for c in first.columns}
        listed.update({c.index: c for c, _ in first.unused() if c.index not in listed})  # values under no header
        preview.columns = pd.DataFrame(
            [{"column": c.letter, "header": c.header, "field": c.field or "", "how": c.how,
              "values": filled.get(c.index, 0)} for _, c in sorted(listed.items())],
            columns=["column", "header", "field", "how", "values"])
        preview.headers = [c.header for c in first.columns]
        preview.mapping = {f: c.header for f, c in first.fields.items()}
    elif (guess := likely_header(understood.sheets)) is not None:
        preview.sheet, preview.header_row, preview.headers = guess[0].name, guess[1], guess[2]
    if batch is not None:
        preview.metadata = {META_LABELS.get(k, k): v for k, v in batch.metadata.items()}
        preview.units, preview.rounds = batch.units, batch.rounds
        preview.rows_read, preview.rows_skipped = batch.rows_read, batch.rows_skipped
        preview.responses, preview.assessments = batch.response_count, len(batch.assessments)
        preview.items = int(batch.responses["item_id"].nunique())
    return preview
