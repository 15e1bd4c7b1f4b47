"""Business units, assessments and responses in DuckDB, with every change written to the change log.

Functions take an open connection (see `dashboard.db.connect`) so that callers choose the transaction:
a whole import is one transaction, a single answer in the questionnaire is another.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from dashboard.access import Principal, authorise_write, check_assessment, check_assessments, require, units_sql
from dashboard.db import frame, one, rows, transaction

__all__ = [
    "RESPONSE_FIELDS",
    "Assessment",
    "StoreError",
    "UpsertCounts",
    "archive_unit",
    "complete_import",
    "create_assessment",
    "ensure_unit",
    "find_import",
    "get_assessment",
    "item_history",
    "list_assessments",
    "list_imports",
    "list_units",
    "record_import",
    "rename_unit",
    "responses",
    "set_status",
    "update_response",
    "upsert_responses",
]

SCOPES = ("clauses", "annex_a", "both")
# the response fields a person or an import can set, in canonical order
RESPONSE_FIELDS = ("maturity", "target", "applicable", "justification", "evidence", "owner", "due_date", "notes",
                   "inclusion_justification")
_TEXT_FIELDS = ("justification", "evidence", "owner", "notes", "inclusion_justification")


class StoreError(ValueError):
    """A write the store refuses: unknown unit or assessment, finalised round, invalid value."""


@dataclass(frozen=True)
class Assessment:
    id: int
    unit_id: int
    unit: str
    label: str
    scope: str
    assessed_on: dt.date | None
    status: str
    source: str
    catalog_version: str
    default_target: int

    @property
    def is_final(self) -> bool:
        return self.status == "final"


@dataclass(frozen=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(self.new + other.new, self.updated + other.updated, self.unchanged + other.unchanged)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# --- units -------------------------------------------------------------------------------------


def ensure_unit(con: duckdb.DuckDBPyConnection, name: str, parent: str | None = None) -> int:
    """The id of the unit with this name, created if it does not exist yet."""
    name = " ".join(name.split())
    if not name:
        raise StoreError("A business unit needs a name.")
    found = one(con, "SELECT id FROM unit WHERE lower(name) = lower(?)", [name])
    if found:
        return int(found[0])
    parent_id = ensure_unit(con, parent) if parent else None
    return int(rows(con, "INSERT INTO unit (name, parent_id) VALUES (?, ?) RETURNING id", [name, parent_id])[0][0])


def rename_unit(con: duckdb.DuckDBPyConnection, unit_id: int, new_name: str) -> None:
    new_name = " ".join(new_name.split())
    if not new_name:
        raise StoreError("A business unit needs a name.")
    clash = one(con, "SELECT id FROM unit WHERE lower(name) = lower(?) AND id <> ?", [new_name, unit_id])
    if clash:
        raise StoreError(f"A business unit named {new_name!r} already exists.")
    con.execute("UPDATE unit SET name = ? WHERE id = ?", [new_name, unit_id])


def archive_unit(con: duckdb.DuckDBPyConnection, unit_id: int, archived: bool = True) -> None:
    con.execute("UPDATE unit SET archived = ? WHERE id = ?", [archived, unit_id])


def list_units(con: duckdb.DuckDBPyConnection, include_archived: bool = False) -> pd.DataFrame:
    where = "" if include_archived else "WHERE NOT u.archived"
    return frame(
        con,
        f"""SELECT u.id, u.name, p.name AS parent, u.archived,
                   (SELECT count(*) FROM assessment a WHERE a.unit_id = u.id) AS assessments
            FROM unit u LEFT JOIN unit p ON p.id = u.parent_id {where} ORDER BY lower(u.name)""",
    )


# --- assessments -------------------------------------------------------------------------------

_ASSESSMENT_SQL = """
    SELECT a.id, a.unit_id, u.name AS unit, a.label, a.scope, a.assessed_on, a.status, a.source,
           a.catalog_version, a.default_target
    FROM assessment a JOIN unit u ON u.id = a.unit_id
"""


def _assessment(row: tuple[Any, ...]) -> Assessment:
    return Assessment(*row[:9], default_target=int(row[9]))


def get_assessment(
    con: duckdb.DuckDBPyConnection, assessment_id: int | None = None, *, unit: str | None = None, label: str | None = None
) -> Assessment | None:
    if assessment_id is not None:
        found = one(con, _ASSESSMENT_SQL + " WHERE a.id = ?", [assessment_id])
    else:
        found = one(con, _ASSESSMENT_SQL + " WHERE lower(u.name) = lower(?) AND a.label = ?", [unit, label])
    return _assessment(found) if found else None


def list_assessments(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return frame(con, _ASSESSMENT_SQL + " ORDER BY lower(u.name), a.assessed_on NULLS LAST, a.label")


def create_assessment(
    con: duckdb.DuckDBPyConnection,
    *,
    unit: str,
    label: str,
    scope: str,
    catalog_version: str,
    assessed_on: dt.date | None = None,
    source: str = "form",
    default_target: int = 3,
) -> Assessment:
    """A new draft round; every assessment has a date: without one given, today's."""
    label = label.strip()
    if not label:
        raise StoreError("An assessment needs a round label, such as 2026-Q3.")
    assessed_on = assessed_on or dt.date.today()
    if scope not in SCOPES:
        raise StoreError(f"Scope must be one of {', '.join(SCOPES)}, not {scope!r}.")
    unit_id = ensure_unit(con, unit)
    if one(con, "SELECT id FROM assessment WHERE unit_id = ? AND label = ?", [unit_id, label]):
        raise StoreError(f"{unit} already has an assessment labelled {label!r}.")
    new_id = rows(
        con,
        """INSERT INTO assessment (unit_id, label, scope, assessed_on, source, catalog_version, default_target)
           VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id""",
        [unit_id, label, scope, assessed_on, source, catalog_version, default_target],
    )[0][0]
    found = get_assessment(con, int(new_id))
    assert found is not None
    return found


def widen_scope(con: duckdb.DuckDBPyConnection, assessment: Assessment, scope: str) -> None:
    """Make the assessment cover `scope` as well as what it covered (clauses + annex_a = both)."""
    if scope == assessment.scope or assessment.scope == "both":
        return
    con.execute("UPDATE assessment SET scope = 'both' WHERE id = ?", [assessment.id])


def set_status(con: duckdb.DuckDBPyConnection, assessment_id: int, status: str, by: str) -> None:
    """Finalise (`final`) or reopen (`draft`) an assessment; a finalised round is read-only."""
    if status not in ("draft", "final"):
        raise StoreError(f"Status must be draft or final, not {status!r}.")
    current = get_assessment(con, assessment_id)
    if current is None:
        raise StoreError(f"No assessment with id {assessment_id}.")
    if current.status == status:
        return
    con.execute("UPDATE assessment SET status = ? WHERE id = ?", [status, assessment_id])
    con.execute(
        """INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at, source)
           VALUES (?, NULL, 'status', ?, ?, ?, ?, 'form')""",
        [assessment_id, current.status, status, by, _now()],
    )


def _writable(con: duckdb.DuckDBPyConnection, assessment_id: int) -> Assessment:
    found = get_assessment(con, assessment_id)
    if found is None:
        raise StoreError(f"No assessment with id {assessment_id}.")
    if found.is_final:
        raise StoreError(
            f"{found.unit} {found.label} is finalised and read-only; start a new round to change it."
        )
    return found


# --- responses ---------------------------------------------------------------------------------


def _as_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        value = value.date()
    return str(value)


def _check_value(field: str, value: Any) -> Any:
    if field not in RESPONSE_FIELDS:
        raise StoreError(f"Unknown response field {field!r}.")
    if value is None:
        if field == "applicable":
            raise StoreError("Applicable must be yes or no.")
        return None
    if field in ("maturity", "target"):
        if isinstance(value, bool) or int(value) != value or not 0 <= int(value) <= 5:
            raise StoreError(f"{field.capitalize()} must be a whole number from 0 to 5, not {value!r}.")
        return int(value)
    if field == "applicable":
        return bool(value)
    if field == "due_date":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    text = str(value).strip()
    return text or None


def update_response(
    con: duckdb.DuckDBPyConnection,
    assessment_id: int,
    item_id: str,
    changes: dict[str, Any],
    *,
    by: str,
    principal: Principal,
    source: str = "form",
) -> list[str]:
    """Set fields of one response (None clears a field); return the fields that actually changed.

    Refused (AccessDenied) unless `principal` may answer for the round's unit. Runs in its own transaction and
    logs each changed field with its old and new value. Two sessions of one server saving the same item at once:
    DuckDB refuses the second transaction ("Conflict on update"); it is run again on what the first stored, so the
    later write wins and both are in the history.
    """
    authorise_write(con, principal, "update_response", [assessment_id])
    checked = {field: _check_value(field, value) for field, value in changes.items()}
    for attempt in range(_CONFLICT_RETRIES):
        try:
            return _update_response(con, assessment_id, item_id, checked, by=by, source=source)
        except (duckdb.TransactionException, duckdb.ConstraintException) as exc:
            # a conflict with another session's transaction, or its new row of the same item committed first
            conflict = isinstance(exc, duckdb.TransactionException) or "Duplicate key" in str(exc)
            if not conflict or attempt == _CONFLICT_RETRIES - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


_CONFLICT_RETRIES = 20


def _update_response(con: duckdb.DuckDBPyConnection, assessment_id: int, item_id: str, checked: dict[str, Any], *,
                     by: str, source: str) -> list[str]:
    with transaction(con):
        _writable(con, assessment_id)
        found = one(
            con,
            f"SELECT {', '.join(RESPONSE_FIELDS)} FROM response WHERE assessment_id = ? AND item_id = ?",
            [assessment_id, item_id],
        )
        old = dict(zip(RESPONSE_FIELDS, found, strict=True)) if found else {f: None for f in RESPONSE_FIELDS} | {"applicable": True}
        changed = [f for f, v in checked.items() if old[f] != v]
        if not changed:
            return []
        new = old | checked
        now = _now()
        con.execute(
            f"""INSERT INTO response (assessment_id, item_id, {', '.join(RESPONSE_FIELDS)}, changed_by, changed_at,
                                      created_by, created_at, created_source)
                VALUES (?, ?, {', '.join('?' for _ in RESPONSE_FIELDS)}, ?, ?, ?, ?, ?)
                ON CONFLICT (assessment_id, item_id) DO UPDATE SET
                {', '.join(f'{f} = excluded.{f}' for f in RESPONSE_FIELDS)},
                changed_by = excluded.changed_by, changed_at = excluded.changed_at""",
            [assessment_id, item_id, *(new[f] for f in RESPONSE_FIELDS), by, now, by, now, source],
        )
        con.executemany(
            """INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at, source)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            [[assessment_id, item_id, f, _as_text(old[f]), _as_text(new[f]), by, now, source] for f in changed],
        )
    return changed


_STAGE_COLUMNS = ("assessment_id", "item_id", *RESPONSE_FIELDS)


def _changed(alias: str = "") -> str:
    """SQL that is true when a merged row differs from what was stored."""
    return " OR ".join(f"{alias}{f} IS DISTINCT FROM {alias}old_{f}" for f in RESPONSE_FIELDS)


def _prepare_stage(con: duckdb.DuckDBPyConnection, staged: pd.DataFrame) -> None:
    """Register the staged rows and merge them with what is stored into the temp table `_merged`."""
    missing = [c for c in _STAGE_COLUMNS if c not in staged.columns]
    if missing:
        raise StoreError(f"Staged responses lack columns {missing}.")
    if staged.duplicated(["assessment_id", "item_id"]).any():
        raise StoreError("Staged responses hold the same assessment and item twice.")
    stage = staged[list(_STAGE_COLUMNS)].copy()
    for level in ("maturity", "target"):
        values = pd.to_numeric(stage[level], errors="coerce")
        bad = stage[level].notna() & ~(values.between(0, 5) & (values == values.round()))
        if bad.any():
            raise StoreError(f"{level.capitalize()} must be a whole number from 0 to 5, not {stage.loc[bad, level].iloc[0]!r}.")
        stage[level] = values.astype("Int16")
    stage["applicable"] = stage["applicable"].astype("boolean")
    stage["due_date"] = pd.to_datetime(stage["due_date"], errors="raise")  # a DATE once in SQL
    stage["item_id"] = stage["item_id"].astype("string")  # Arrow-backed text: the database reads it without Python
    for f in _TEXT_FIELDS:
        stage[f] = stage[f].astype("string").str.strip().replace("", pd.NA)
    con.register("_stage", stage)
    try:
        # A target equal to the one in force (explicit or the assessment's default) is no change, and a
        # response that only restates the defaults is not stored: export -> re-import is then a no-op.
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _merged AS
                SELECT s.assessment_id, s.item_id, r.item_id IS NULL AS is_new,
                       {', '.join(f'coalesce(s.{f}, r.{f}) AS {f}' for f in RESPONSE_FIELDS if f not in ('applicable', 'target'))},
                       CASE WHEN s.target = coalesce(r.target, a.default_target) THEN r.target
                            ELSE coalesce(s.target, r.target) END AS target,
                       coalesce(s.applicable, r.applicable, true) AS applicable,
                       {', '.join(f'r.{f} AS old_{f}' for f in RESPONSE_FIELDS if f != 'applicable')},
                       coalesce(r.applicable, true) AS old_applicable
                FROM (SELECT {', '.join('CAST(due_date AS DATE) AS due_date' if c == 'due_date' else c
                                        for c in _STAGE_COLUMNS)} FROM _stage) s
                JOIN assessment a ON a.id = s.assessment_id
                LEFT JOIN response r USING (assessment_id, item_id)"""
        )
    finally:
        con.unregister("_stage")


def upsert_responses(
    con: duckdb.DuckDBPyConnection, staged: pd.DataFrame, *, by: str, source: str = "import",
    import_id: int | None = None,
) -> UpsertCounts:
    """Write many responses at once; a missing value (NA) leaves the stored value as it is.

    `staged` has the columns assessment_id, item_id and the response fields, one row per key.
    The caller owns the transaction. Changes to stored responses are logged field by field, in SQL;
    new responses record their creation (`import_id`: the imported file they came from).
    A finalised assessment may appear only if nothing in it would change.
    """
    _prepare_stage(con, staged)
    changed_any = _changed()
    try:
        frozen = rows(
            con,
            f"""SELECT DISTINCT u.name, a.label FROM _merged m JOIN assessment a ON a.id = m.assessment_id
                JOIN unit u ON u.id = a.unit_id
                WHERE a.status = 'final' AND ({_changed("m.")})""",
        )
        if frozen:
            names = "; ".join(f"{unit} {label}" for unit, label in frozen)
            raise StoreError(f"{names}: finalised and read-only; start a new round to change it.")
        counts = one(
            con,
            f"""SELECT count(*) FILTER (WHERE is_new AND ({changed_any})),
                       count(*) FILTER (WHERE NOT is_new AND ({changed_any})),
                       count(*) FILTER (WHERE NOT ({changed_any}))
                FROM _merged""",
        )
        now = _now()
        # An existing response: one change-log row per changed field, old and new value. A new one
        # records who created it, when, how and from which imported file on the response itself: its
        # first values are its own, or the old value of each field's first later change.
        log_parts = " UNION ALL ".join(
            f"""SELECT assessment_id, item_id, '{f}' AS field, CAST(old_{f} AS VARCHAR) AS old_value,
                       CAST({f} AS VARCHAR) AS new_value FROM _merged
                WHERE NOT is_new AND {f} IS DISTINCT FROM old_{f}"""
            for f in RESPONSE_FIELDS
        )
        yes_no = "CASE {0} WHEN 'true' THEN 'yes' WHEN 'false' THEN 'no' END"
        con.execute(
            f"""INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at, source,
                                        import_id)
                SELECT assessment_id, item_id, field,
                       CASE WHEN field = 'applicable' THEN {yes_no.format('old_value')} ELSE old_value END,
                       CASE WHEN field = 'applicable' THEN {yes_no.format('new_value')} ELSE new_value END,
                       ?, ?, ?, ? FROM ({log_parts}) AS changes""",
            [by, now, source, import_id],
        )
        fields = ", ".join(RESPONSE_FIELDS)
        con.execute(
            f"""INSERT INTO response (assessment_id, item_id, {fields}, changed_by, changed_at,
                                      created_by, created_at, created_source, created_import)
                SELECT assessment_id, item_id, {fields}, ?, ?, ?, ?, ?, ? FROM _merged WHERE is_new AND ({changed_any})""",
            [by, now, by, now, source, import_id],
        )
        con.execute(
            f"""UPDATE response r SET {', '.join(f'{f} = m.{f}' for f in RESPONSE_FIELDS)}, changed_by = ?, changed_at = ?
                FROM _merged m WHERE r.assessment_id = m.assessment_id AND r.item_id = m.item_id
                AND NOT m.is_new AND ({_changed("m.")})""",
            [by, now],
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _merged")
    assert counts is not None
    return UpsertCounts(*(int(c) for c in counts))


def responses(
    con: duckdb.DuckDBPyConnection, *, principal: Principal, unit: str | None = None,
    assessment_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Every in-scope item of the chosen assessments in canonical columns (unanswered items included).

    Only the units the principal may see; asking for another unit's assessment by id is refused (AccessDenied).
    A viewer gets the figures without the free text (justification, evidence, owner, notes, who changed it)."""
    if assessment_ids is not None:
        assessment_ids = [int(i) for i in assessment_ids]
        check_assessments(con, principal, assessment_ids)
    else:
        require(principal, "can_read")
    where, params = [units_sql(principal)], []
    if unit:
        where.append("lower(u.name) = lower(?)")
        params.append(unit)
    if assessment_ids is not None:
        ids = [int(i) for i in assessment_ids]
        where.append(f"a.id IN ({', '.join('?' for _ in ids) or 'NULL'})")
        params.extend(ids)
    found = frame(
        con,
        f"""SELECT u.name AS unit, a.label AS assessment, a.assessed_on, c.section, c.item_id, c.title,
                   r.maturity, coalesce(r.target, a.default_target) AS target,
                   coalesce(r.applicable, true) AS applicable, r.justification, r.evidence, r.owner,
                   r.due_date, r.notes, r.inclusion_justification, a.id AS assessment_id, a.status, a.scope, c.kind,
                   r.changed_by, r.changed_at
            FROM assessment a JOIN unit u ON u.id = a.unit_id
            JOIN catalog_item c ON a.scope = 'both' OR (a.scope = 'clauses') = (c.kind = 'clause')
            LEFT JOIN response r ON r.assessment_id = a.id AND r.item_id = c.item_id
            WHERE {' AND '.join(where)}
            ORDER BY lower(u.name), a.assessed_on NULLS LAST, a.label, c.ord""",
        params,
    )
    if not principal.can_read_text:
        found[list(FREE_TEXT)] = None
    return found


# the columns a viewer does not see: what people wrote, and who
FREE_TEXT = ("justification", "evidence", "owner", "notes", "changed_by")


def item_history(con: duckdb.DuckDBPyConnection, assessment_id: int, item_id: str | None = None, *,
                 principal: Principal) -> pd.DataFrame:
    """The history of one response (or of a whole assessment), newest first: its creation (who, how,
    from which imported file) and every logged change. Refused for a unit the principal may not see, and for
    a viewer (the history holds the free text)."""
    check_assessment(con, principal, assessment_id)
    require(principal, "can_read_text")
    item = "" if item_id is None else " AND item_id = ?"
    params: list[Any] = [assessment_id, *([item_id] if item_id is not None else [])] * 2
    return frame(
        con,
        f"""SELECT changed_at, changed_by, item_id, field, old_value, new_value, source FROM (
                SELECT changed_at, changed_by, item_id, field, old_value, new_value, source, 1 AS step, id
                FROM change_log WHERE assessment_id = ?{item}
                UNION ALL
                SELECT r.created_at, r.created_by, r.item_id, 'created', NULL,
                       CASE WHEN b.filename IS NOT NULL THEN 'from ' || b.filename END, r.created_source, 0, 0
                FROM response r LEFT JOIN import_batch b ON b.id = r.created_import
                WHERE r.assessment_id = ? AND r.created_at IS NOT NULL{item.replace('item_id', 'r.item_id')})
            ORDER BY changed_at DESC, step DESC, id DESC""",
        params,
    )


# --- imported files ----------------------------------------------------------------------------


def find_import(con: duckdb.DuckDBPyConnection, content_hash: str) -> tuple[str, dt.datetime] | None:
    found = one(con, "SELECT filename, imported_at FROM import_batch WHERE content_hash = ?", [content_hash])
    return (found[0], found[1]) if found else None


def record_import(
    con: duckdb.DuckDBPyConnection, *, content_hash: str, filename: str, by: str, row_count: int, summary: str = ""
) -> int:
    """Record an imported file; return its id (the responses it creates point at it)."""
    return int(rows(
        con,
        """INSERT INTO import_batch (content_hash, filename, imported_by, imported_at, row_count, summary)
           VALUES (?, ?, ?, ?, ?, ?) RETURNING id""",
        [content_hash, filename, by, _now(), row_count, summary],
    )[0][0])


def complete_import(con: duckdb.DuckDBPyConnection, import_id: int, summary: str) -> None:
    """Store what an import changed, once it is known."""
    con.execute("UPDATE import_batch SET summary = ? WHERE id = ?", [summary, import_id])


IMPORT_COLUMNS = ("id", "file", "imported_at", "imported_by", "rows", "new_assessments", "new_responses",
                  "updated_responses", "unchanged", "units", "rounds", "notes", "undone")


def list_imports(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every imported file, newest first: its id, when, by whom, what it changed, the units and rounds whose
    responses it created, and when and by whom it was undone (see dashboard.undo)."""
    files = frame(
        con,
        """SELECT b.id, b.filename AS file, b.imported_at, b.imported_by, b.row_count AS rows, b.summary,
                  string_agg(DISTINCT u.name, ', ' ORDER BY u.name) AS units,
                  string_agg(DISTINCT a.label, ', ' ORDER BY a.label) AS rounds,
                  CASE WHEN b.undone_at IS NOT NULL
                       THEN strftime(b.undone_at, '%Y-%m-%d %H:%M') || ' by ' || b.undone_by END AS undone
           FROM import_batch b
           LEFT JOIN (SELECT DISTINCT created_import, assessment_id FROM response) r ON r.created_import = b.id
           LEFT JOIN assessment a ON a.id = r.assessment_id LEFT JOIN unit u ON u.id = a.unit_id
           GROUP BY b.id, b.filename, b.imported_at, b.imported_by, b.row_count, b.summary, b.undone_at, b.undone_by
           ORDER BY b.imported_at DESC, b.id DESC""",
    )
    changed = [json.loads(text) if text else {} for text in files.pop("summary")]
    for column, key in (("new_assessments", "new_assessments"), ("new_responses", "new"),
                        ("updated_responses", "updated"), ("unchanged", "unchanged")):
        files[column] = pd.array([c.get(key) for c in changed], dtype="Int64")
    files["notes"] = ["; ".join(c.get("notes") or []) for c in changed]  # e.g. rounds dated on import
    return files[list(IMPORT_COLUMNS)]
