"""Import files into the store: read -> recognise -> map -> validate -> load, all or nothing per file.

The same functions serve the command line and the Import page. A file is recognised by the hash of its
bytes and of the options that change what it means (unit, round, column mapping): the same file with
the same options is never loaded twice. A file with any error is not loaded at all (the database is
unchanged); warnings are reported and the file is loaded. Units and assessments are created set-based,
and responses go through `store.upsert_responses`, so that a file of 100,000 rows is one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from dashboard import undo
from dashboard.access import Principal, authorise_write
from dashboard.catalog import Catalog, load_catalog
from dashboard.db import frame, rows
from dashboard.store import (
    RESPONSE_FIELDS,
    StoreError,
    UpsertCounts,
    complete_import,
    find_import,
    record_import,
    upsert_responses,
)
from etl.layouts import Layout, unread_sheets
from etl.mapping import Mapping, MappingError, recognise
from etl.problems import ImportRejected, Problem, Report
from etl.readers import Sheet, UnreadableFile, read_sheets
from etl.standard_named import other_standard, refusal
from etl.unit_aliases import apply_unit_aliases, unit_warnings
from etl.validate import Batch, validate_layouts
from etl.values import COMPLIANT, partial_level

__all__ = ["FileResult", "date_undated", "import_bytes", "import_key", "import_path", "parse_mapping", "results_table",
           "understand", "validate_bytes"]

Progress = Callable[[float, str], None]


@dataclass
class FileResult:
    file: str
    status: str  # imported | unchanged | already imported | dry run | rejected
    problems: list[Problem] = field(default_factory=list)
    new_assessments: list[str] = field(default_factory=list)
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    rows_read: int = 0
    message: str = ""
    assessments: int = 0
    import_id: int | None = None  # the import record (for undo); None when nothing was recorded

    @property
    def ok(self) -> bool:
        return self.status != "rejected"

    def describe(self) -> str:
        if self.status == "rejected":
            return f"{self.file}: rejected, nothing imported ({len([p for p in self.problems if p.severity == 'error'])} errors)"
        if self.status == "already imported":
            return f"{self.file}: {self.message}"
        verb = "would import" if self.status == "dry run" else "imported"
        return (
            f"{self.file}: {verb} {self.rows_read} rows — {len(self.new_assessments)} new assessments, "
            f"{self.counts.new} new responses, {self.counts.updated} updated, {self.counts.unchanged} unchanged"
        )


def _mapping(mapping: Mapping | str | None) -> Mapping:
    return mapping if isinstance(mapping, Mapping) else Mapping.from_json(mapping)


def parse_mapping(name: str, mapping: Mapping | str | None) -> tuple[Mapping | None, Report]:
    """The column mapping, parsed once at the door; None (and the report saying why) when it is unusable."""
    report = Report(name)
    try:
        return _mapping(mapping), report
    except MappingError as exc:
        report.error(f"the column mapping is not usable: {exc}")
        return None, report


def import_key(data: bytes, *, unit: str | None = None, label: str | None = None, mapping: Mapping | str | None = None) -> str:
    """The hash that recognises an import: the file's bytes plus the options that change its meaning."""
    digest = hashlib.sha256(data)
    options = {"unit": unit or None, "label": label or None, "mapping": _mapping(mapping).to_json() or None}
    if any(options.values()):
        digest.update(json.dumps(options, sort_keys=True).encode())
    return digest.hexdigest()


@dataclass
class Understood:
    sheets: list[Sheet]
    layouts: list[Layout]
    batch: Batch | None
    report: Report
    mapping: Mapping | None = None  # the mapping as parsed (None: unusable, said in the report)
    refused: bool = False  # refused before parsing (hostile, mislabelled, too large or too wide): nothing to map


def understand(name: str, data: bytes, catalog: Catalog, unit: str | None, label: str | None,
                mapping: Mapping | str | None, progress: Progress | None = None, audience: str = "cli") -> Understood:
    """Read, recognise, map and validate: the one pipeline behind the command line and the page.
    `audience` (`cli` or `page`) says whose words the messages use for the import's options."""
    chosen, report = parse_mapping(name, mapping)
    report.audience = audience
    understood = Understood([], [], None, report, chosen)
    if chosen is None:
        return understood
    if progress:
        progress(0.0, f"Reading {Path(name).name}")
    try:
        understood.sheets = read_sheets(name, data)
    except UnreadableFile as exc:
        report.error(str(exc).removeprefix(f"{name}: "))
        understood.refused = True
        return understood
    if progress:
        progress(0.4, f"Checking {Path(name).name}")
    layouts, cover = recognise(understood.sheets, catalog, chosen, report)
    understood.layouts = layouts
    if not report.ok:
        return understood
    if not layouts:
        names = ", ".join(repr(s.name) for s in understood.sheets if s.name) or "the file"
        report.error(f"no sheet has a header row naming an item-id column and an answer column (looked at {names})",
                     expected="a header row such as: unit, assessment, item_id, maturity, evidence (in English, "
                              f"French, Spanish or German), or {report.option('mapping')}")
        return understood
    said = other_standard(name, understood.sheets, {id(la.sheet): la.header_row for la in layouts}, expected="42001")
    if said is not None:
        report.error(refusal(said, expected="42001"), sheet=said.sheet, row=said.row, column=said.column,
                     expected=f"an ISO/IEC 42001 assessment; a 27001 assessment proposes levels for the 42001 items "
                              f"it maps to ({report.option('propose')}); a 42001 file that names ISO/IEC 42001 "
                              "anywhere in its title is read as one")
        return understood
    if not chosen.sheet:
        for sheet, count in unread_sheets(understood.sheets, layouts):
            report.warning(f"sheet {sheet.name!r} holds {count:,} rows of values that are not imported: no header row "
                           "naming an item-id column and an answer column was found in its first 30 rows",
                           sheet=sheet.name, expected=f"choose it with {report.option('mapping')} if it holds answers")
    for layout in (la for la in layouts if "item_id" not in la.fields):
        report.error("the header row has no item-id column", sheet=layout.sheet.name, row=layout.header_row,
                     column="item_id", expected=f"a column of item ids (6.1.2, A.6.2.4, ...), or {report.option('mapping')}")
    if report.ok:
        understood.batch = validate_layouts(name, layouts, cover, catalog, report, unit=unit, label=label)
        if understood.batch is not None:  # the person's choice of existing units for near-duplicate names
            apply_unit_aliases(understood.batch, chosen.units, report)
        for sheet in understood.sheets:
            sheet.release()
    return understood


def validate_bytes(
    name: str, data: bytes, catalog: Catalog, *, unit: str | None = None, label: str | None = None,
    mapping: Mapping | str | None = None, progress: Progress | None = None, audience: str = "cli",
) -> tuple[Batch | None, Report]:
    """Read, recognise, map and validate a file without touching the database."""
    understood = understand(name, data, catalog, unit, label, mapping, progress, audience)
    return understood.batch, understood.report


# --- loading -------------------------------------------------------------------------------------


def date_undated(con: duckdb.DuckDBPyConnection, batch: Batch, report: Report, today: dt.date | None = None) -> list[str]:
    """Every assessment has a date: a new round the file gives no date for takes the import's date (today).

    Sets it in the batch and says so in the report as a warning (the preview and the import record show it);
    a round already stored keeps its own date. Returns the notes written."""
    undated = batch.assessments[batch.assessments["assessed_on"].isna()]
    if undated.empty:
        return []
    con.register("_undated", undated[["unit", "label"]].astype(str))
    try:
        stored = frame(con, """SELECT DISTINCT lower(w.unit) AS unit, w.label FROM _undated w
                               JOIN unit u ON lower(u.name) = lower(w.unit) JOIN assessment a ON a.unit_id = u.id
                               AND a.label = w.label""")
    finally:
        con.unregister("_undated")
    known = set(zip(stored["unit"], stored["label"], strict=True))
    new = undated[[(str(u).lower(), str(lb)) not in known for u, lb in zip(undated["unit"], undated["label"], strict=True)]]
    if new.empty:
        return []
    today = today or dt.date.today()
    batch.assessments.loc[new.index, "assessed_on"] = today
    rounds = [f"{u} {lb}" for u, lb in zip(new["unit"], new["label"], strict=True)]
    named = ", ".join(rounds[:8]) + (f" and {len(rounds) - 8:,} more" if len(rounds) > 8 else "")
    note = (f"no date in the file: dated {today.isoformat()}, the import date ({named}); "
            "correct it on the Units and rounds page if the assessment was made on another day")
    first = new.iloc[0]
    report.warning(note, sheet=first["sheet"] if isinstance(first["sheet"], str) else None,
                   row=None if pd.isna(first["row"]) else int(first["row"]), column="assessed_on")
    return [note]


def _ensure_assessments(
    con: duckdb.DuckDBPyConnection, batch: Batch, report: Report, catalog: Catalog, source: str
) -> tuple[pd.DataFrame, list[str], list[tuple[int, str | None]]]:
    """Create the missing units and assessments set-based: (ids and defaults per unit/round, new names,
    (row, sheet) where each finalised assessment starts in the file)."""
    wanted = batch.assessments.copy()
    wanted["assessed_on"] = pd.to_datetime(wanted["assessed_on"])
    wanted["unit"] = wanted["unit"].astype(str)
    con.register("_wanted", wanted)
    try:
        con.execute("""INSERT INTO unit (name)
                       SELECT first(w.unit ORDER BY w.row) FROM _wanted w
                       WHERE NOT EXISTS (SELECT 1 FROM unit u WHERE lower(u.name) = lower(w.unit))
                       GROUP BY lower(w.unit)""")
        known = frame(con, """SELECT w.akey, w.label, w.sheet, w.row, w.scope, CAST(w.assessed_on AS DATE) AS assessed_on,
                                     u.id AS unit_id, u.name AS unit, a.id AS assessment_id, a.status,
                                     a.scope AS old_scope, a.assessed_on AS old_date, a.default_target
                              FROM _wanted w JOIN unit u ON lower(u.name) = lower(w.unit)
                              LEFT JOIN assessment a ON a.unit_id = u.id AND a.label = w.label""")
    finally:
        con.unregister("_wanted")
    new = known[known["assessment_id"].isna()]
    if not new.empty:
        con.register("_new", new[["unit_id", "label", "scope", "assessed_on"]])
        try:
            created = rows(con, """INSERT INTO assessment (unit_id, label, scope, assessed_on, source, catalog_version,
                                                          default_target)
                                   SELECT unit_id, label, scope, CAST(assessed_on AS DATE), ?, ?, ? FROM _new
                                   RETURNING id, unit_id, label""",
                           [source, catalog.version, catalog.scale.default_target])
        finally:
            con.unregister("_new")
        ids = {(int(u), str(lb)): int(i) for i, u, lb in created}
        known.loc[new.index, "assessment_id"] = [ids[(int(u), str(lb))] for u, lb in zip(new["unit_id"], new["label"],
                                                                                         strict=True)]
    known["assessment_id"] = known["assessment_id"].astype(int)
    known["default_target"] = known["default_target"].fillna(catalog.scale.default_target).astype(int)
    old = known[known["status"].notna()]
    finals = [(int(r.row), r.sheet) for r in old[old["status"] == "final"].itertuples()]
    drafts = old[old["status"] != "final"]
    widen = drafts[(drafts["scope"] != drafts["old_scope"]) & (drafts["old_scope"] != "both")]["assessment_id"].tolist()
    if widen:
        con.execute(f"UPDATE assessment SET scope = 'both' WHERE id IN ({', '.join('?' for _ in widen)})", widen)
    for r in drafts[drafts["assessed_on"].notna()].itertuples():
        day, old_day = _day(r.assessed_on), _day(r.old_date)
        if old_day is None:
            con.execute("UPDATE assessment SET assessed_on = ? WHERE id = ?", [day, int(r.assessment_id)])
        elif old_day != day:
            report.warning(f"{r.unit} {r.label} was recorded as assessed on {old_day}; the file's date {day} is ignored",
                           sheet=r.sheet, row=int(r.row), column="assessed_on")
    return known, [f"{r.unit} {r.label}" for r in new.itertuples()], finals


def _day(value: Any) -> dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


_PARTIAL = np.array([partial_level(target) for target in range(6)])


def _resolve_status(con: duckdb.DuckDBPyConnection, staged: pd.DataFrame, defaults: pd.Series) -> None:
    """Compliant = the target in force (the row's, else the stored one, else the assessment's default);
    partial = `partial_level` of it. Only rows whose level came from a status word."""
    pending = staged["status"].notna() & staged["maturity"].isna()
    if not pending.any():
        return
    rows_ = staged.loc[pending, ["assessment_id", "item_id", "target", "status"]]
    con.register("_pairs", rows_[["assessment_id", "item_id"]])
    try:
        stored = frame(con, """SELECT p.assessment_id, p.item_id, r.target AS stored_target FROM _pairs p
                               JOIN response r USING (assessment_id, item_id) WHERE r.target IS NOT NULL""")
    finally:
        con.unregister("_pairs")
    merged = rows_.merge(stored, on=["assessment_id", "item_id"], how="left")
    in_force = (pd.to_numeric(merged["target"]).fillna(merged["stored_target"])
                .fillna(merged["assessment_id"].map(defaults)).astype(int).to_numpy())
    staged.loc[pending, "maturity"] = np.where(merged["status"].to_numpy() == COMPLIANT, in_force, _PARTIAL[in_force])


def _stage(con: duckdb.DuckDBPyConnection, batch: Batch, known: pd.DataFrame) -> pd.DataFrame:
    """The batch's responses with their assessment ids, status words resolved to levels."""
    ids = np.zeros(int(known["akey"].max()) + 1, dtype=np.int64)
    ids[known["akey"].to_numpy()] = known["assessment_id"].to_numpy()
    staged = batch.responses.drop(columns=["unit", "label", "assessed_on"])
    staged["assessment_id"] = ids[staged["akey"].to_numpy()]
    _resolve_status(con, staged, known.set_index("assessment_id")["default_target"])
    return staged[["assessment_id", "item_id", *RESPONSE_FIELDS]]  # the store checks and types the values


def _load(
    con: duckdb.DuckDBPyConnection, batch: Batch, report: Report, catalog: Catalog, *, by: str, source: str,
    import_id: int | None,
) -> tuple[list[str], UpsertCounts]:
    known, new_assessments, finals = _ensure_assessments(con, batch, report, catalog, source)
    try:
        counts = upsert_responses(con, _stage(con, batch, known), by=by, source=source, import_id=import_id)
    except StoreError as exc:
        row, sheet = min(finals, key=lambda f: f[0]) if finals else (None, None)
        report.error(str(exc), sheet=sheet, row=row, column="assessment" if row else None)
        raise ImportRejected(report) from exc
    return new_assessments, counts


def import_bytes(
    con: duckdb.DuckDBPyConnection,
    name: str,
    data: bytes,
    *,
    principal: Principal,
    by: str,
    catalog: Catalog | None = None,
    unit: str | None = None,
    label: str | None = None,
    mapping: Mapping | str | None = None,
    dry_run: bool = False,
    source: str = "import",
    progress: Progress | None = None,
    validated: tuple[Batch | None, Report] | None = None,
    audience: str = "cli",
) -> FileResult:
    """Validate and load one file in one transaction; on any error the database is left as it was.
    `validated`: what `validate_bytes` said of these bytes with these options, when the caller parsed the
    file before opening the database (the command line does, so that a bad file never holds the lock).
    Administrators and leads only (a file may hold any unit): AccessDenied for the others."""
    authorise_write(con, principal, "import_bytes")
    catalog = catalog or load_catalog()
    chosen, report = parse_mapping(name, mapping)
    if chosen is None:
        return FileResult(name, "rejected", report.problems)
    key = import_key(data, unit=unit, label=label, mapping=chosen)
    seen = find_import(con, key)
    if seen and not dry_run:
        return FileResult(name, "already imported", message=f"already imported on {seen[1]:%Y-%m-%d %H:%M} "
                          f"(as {seen[0]}); nothing changed")
    batch, report = validated or validate_bytes(name, data, catalog, unit=unit, label=label, mapping=chosen,
                                                progress=progress, audience=audience)
    if batch is None or not report.ok:
        return FileResult(name, "rejected", report.problems, rows_read=batch.rows_read if batch else 0)
    unit_warnings(con, batch, report)
    if progress:
        progress(0.7, f"Writing {Path(name).name}")
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            dating = Report(name)  # said once the file is loaded: a rejected file dates nothing
            notes = date_undated(con, batch, dating)
            import_id = None if dry_run else record_import(con, content_hash=key, filename=Path(name).name, by=by,
                                                           row_count=batch.rows_read)
            if import_id is not None:  # what exists before, so that the import can be undone
                undo.mark_import(con, import_id)
            new_assessments, counts = _load(con, batch, report, catalog, by=by, source=source, import_id=import_id)
            report.problems.extend(dating.problems)
            if import_id is not None:
                undo.stamp_import(con, import_id, by=by, source=source)
                summary = {"new_assessments": len(new_assessments), "new": counts.new, "updated": counts.updated,
                           "unchanged": counts.unchanged, "metadata": batch.metadata,
                           "sheets": [la.sheet.name for la in batch.layouts], "notes": notes}
                complete_import(con, import_id, json.dumps(summary, ensure_ascii=False, default=str))
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("ROLLBACK" if dry_run else "COMMIT")
    except ImportRejected as exc:
        return FileResult(name, "rejected", exc.report.problems, rows_read=batch.rows_read)
    except StoreError as exc:
        report.error(str(exc))
        return FileResult(name, "rejected", report.problems, rows_read=batch.rows_read)
    if progress:
        progress(1.0, f"Done: {Path(name).name}")
    status = "dry run" if dry_run else ("imported" if counts.new or counts.updated or new_assessments else "unchanged")
    return FileResult(name, status, report.problems, new_assessments, counts, batch.rows_read,
                      assessments=len(batch.assessments), import_id=import_id)


def import_path(con: duckdb.DuckDBPyConnection, path: str | Path, **options: Any) -> FileResult:
    path = Path(path)
    return import_bytes(con, str(path), path.read_bytes(), **options)


def results_table(results: list[FileResult]) -> pd.DataFrame:
    """One row per file: what happened and what changed (the Import page's summary)."""
    return pd.DataFrame(
        [{"file": Path(r.file).name, "result": r.status, "new assessments": len(r.new_assessments),
          "new responses": r.counts.new, "updated responses": r.counts.updated, "unchanged": r.counts.unchanged,
          "rows read": r.rows_read, "warnings": sum(p.severity == "warning" for p in r.problems),
          "errors": sum(p.severity == "error" for p in r.problems)} for r in results],
        columns=["file", "result", "new assessments", "new responses", "updated responses", "unchanged", "rows read",
                 "warnings", "errors"],
    )
