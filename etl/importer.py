"""Import files into the store: read -> map -> validate -> load, all or nothing per file.

The same function serves the command line and the Import page. A file whose content hash is already
recorded is not loaded again; a file with any error is not loaded at all (the database is unchanged).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from dashboard.catalog import Catalog, load_catalog
from dashboard.store import (
    RESPONSE_FIELDS,
    StoreError,
    UpsertCounts,
    create_assessment,
    find_import,
    get_assessment,
    record_import,
    upsert_responses,
    widen_scope,
)
from etl.canonical import Batch, parse_sheets
from etl.problems import ImportRejected, Problem, Report
from etl.readers import UnreadableFile, read_sheets

__all__ = ["FileResult", "import_bytes", "import_path", "validate_bytes"]


@dataclass
class FileResult:
    file: str
    status: str  # imported | unchanged | already imported | dry run | rejected
    problems: list[Problem] = field(default_factory=list)
    new_assessments: list[str] = field(default_factory=list)
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    rows_read: int = 0
    message: str = ""

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


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def validate_bytes(
    name: str, data: bytes, catalog: Catalog, *, unit: str | None = None, label: str | None = None
) -> tuple[Batch | None, Report]:
    """Read and validate a file without touching the database."""
    report = Report(name)
    try:
        sheets = read_sheets(name, data)
    except UnreadableFile as exc:
        report.error(str(exc).removeprefix(f"{name}: "))
        return None, report
    batch = parse_sheets(name, sheets, catalog, report, unit=unit, label=label)
    return batch, report


def _stage(batch: Batch, assessment_ids: dict[tuple[str, str], int]) -> pd.DataFrame:
    records = []
    for key, parsed in batch.assessments.items():
        for response in parsed.responses.values():
            records.append({"assessment_id": assessment_ids[key], "item_id": response.item_id, **response.values})
    staged = pd.DataFrame.from_records(records, columns=["assessment_id", "item_id", *RESPONSE_FIELDS])
    return staged


def _load(
    con: duckdb.DuckDBPyConnection, batch: Batch, report: Report, catalog: Catalog, *, by: str, source: str
) -> tuple[list[str], UpsertCounts]:
    new_assessments: list[str] = []
    ids: dict[tuple[str, str], int] = {}
    finals: dict[int, int] = {}  # finalised assessments in the file -> first row; they may only repeat what is stored
    for key, parsed in batch.assessments.items():
        scope = "both" if len(parsed.kinds) == 2 else ("clauses" if "clause" in parsed.kinds else "annex_a")
        existing = get_assessment(con, unit=parsed.unit, label=parsed.label)
        first_row = min(r.row for r in parsed.responses.values())
        if existing is None:
            existing = create_assessment(
                con, unit=parsed.unit, label=parsed.label, scope=scope, catalog_version=catalog.version,
                assessed_on=parsed.assessed_on, source=source, default_target=catalog.scale.default_target,
            )
            new_assessments.append(f"{existing.unit} {existing.label}")
        elif existing.is_final:
            finals[existing.id] = first_row
        else:
            widen_scope(con, existing, scope)
            if parsed.assessed_on and existing.assessed_on is None:
                con.execute("UPDATE assessment SET assessed_on = ? WHERE id = ?", [parsed.assessed_on, existing.id])
            elif parsed.assessed_on and parsed.assessed_on != existing.assessed_on:
                report.warning(
                    f"{existing.unit} {existing.label} was recorded as assessed on {existing.assessed_on}; "
                    f"the file's date {parsed.assessed_on} is ignored",
                    sheet=batch.sheet, row=first_row, column="assessed_on",
                )
        ids[key] = existing.id
    if not report.ok:
        raise ImportRejected(report)
    try:
        counts = upsert_responses(con, _stage(batch, ids), by=by, source=source)
    except StoreError as exc:
        row = min(finals.values()) if finals else None
        report.error(str(exc), sheet=batch.sheet, row=row, column="assessment" if row else None)
        raise ImportRejected(report) from exc
    return new_assessments, counts


def import_bytes(
    con: duckdb.DuckDBPyConnection,
    name: str,
    data: bytes,
    *,
    by: str,
    catalog: Catalog | None = None,
    unit: str | None = None,
    label: str | None = None,
    dry_run: bool = False,
    source: str = "import",
) -> FileResult:
    """Validate and load one file in one transaction; on any error the database is left as it was."""
    catalog = catalog or load_catalog()
    digest = content_hash(data)
    seen = find_import(con, digest)
    if seen and not dry_run:
        return FileResult(name, "already imported", message=f"already imported on {seen[1]:%Y-%m-%d %H:%M} "
                          f"(as {seen[0]}); nothing changed")
    batch, report = validate_bytes(name, data, catalog, unit=unit, label=label)
    if batch is None or not report.ok:
        return FileResult(name, "rejected", report.problems)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            new_assessments, counts = _load(con, batch, report, catalog, by=by, source=source)
            if not dry_run:
                summary = {"new_assessments": new_assessments, "new": counts.new, "updated": counts.updated,
                           "unchanged": counts.unchanged}
                record_import(con, content_hash=digest, filename=Path(name).name, by=by, row_count=batch.rows_read,
                        summary=json.dumps(summary))
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("ROLLBACK" if dry_run else "COMMIT")
    except ImportRejected as exc:
        return FileResult(name, "rejected", exc.report.problems, rows_read=batch.rows_read)
    except StoreError as exc:
        report.error(str(exc), sheet=batch.sheet)
        return FileResult(name, "rejected", report.problems, rows_read=batch.rows_read)
    status = "dry run" if dry_run else ("imported" if counts.new or counts.updated or new_assessments else "unchanged")
    return FileResult(name, status, report.problems, new_assessments, counts, batch.rows_read)


def import_path(con: duckdb.DuckDBPyConnection, path: str | Path, **options: object) -> FileResult:
    path = Path(path)
    return import_bytes(con, str(path), path.read_bytes(), **options)  # type: ignore[arg-type]
