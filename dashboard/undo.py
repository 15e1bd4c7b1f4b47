"""Take back one imported file: what it created is removed, what it changed goes back to what it was.

What an import wrote is known exactly: the responses, assessments and units it created name it
(`created_import`), each stored value it changed has a change-log row naming it (`import_id`, with the
old and the new value), and so have the round-level changes it made (a scope widened to both, a date
filled in). The import also keeps the last change-log id before it ran (`log_mark`): every entry after
it, for an answer the import touched or a round it created, is *later work*.

The rules:

- **Later work is never overwritten.** If an answer the import created or changed has been changed since
  (a form, the interview, another import, roadmap tracking), or a round it created has answers from
  elsewhere, the undo is refused and lists them. Changes made by an import that was itself undone, and
  moving rounds between units (a merge), do not count.
- **A finalised round is never changed**: an undo that would touch one is refused and lists it.
- All or nothing, in one transaction. Restored values and removed answers of rounds that stay are logged
  (source `undo`, who, when, naming the import); the import record keeps who undid it and when, and what
  the undo removed.
- A unit the import created is removed when it holds no round and no child unit afterwards (it only
  existed because of that file); one that holds anything else is kept.
- Undoing twice is refused. The undone import no longer counts for "never twice": the same file can be
  imported again.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from dashboard.access import Principal, authorise_write
from dashboard.db import frame, one, rows, transaction
from dashboard.store import RESPONSE_FIELDS

__all__ = ["UndoRefused", "UndoResult", "mark_import", "stamp_import", "undo_import"]

_CAST = {"maturity": "CAST(c.old_value AS SMALLINT)", "target": "CAST(c.old_value AS SMALLINT)",
         "applicable": "coalesce(c.old_value = 'yes', true)", "due_date": "CAST(c.old_value AS DATE)"}
_ROUND_FIELDS = {"scope": "c.old_value", "assessed_on": "CAST(c.old_value AS DATE)"}
CONFLICT_COLUMNS = ["unit", "round", "item", "field", "changed_by", "changed_at", "source", "why"]


class UndoRefused(ValueError):
    """An undo that cannot be done; `conflicts` lists the answers and rounds in the way."""

    def __init__(self, message: str, conflicts: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.conflicts = conflicts if conflicts is not None else pd.DataFrame(columns=CONFLICT_COLUMNS)


@dataclass(frozen=True)
class UndoResult:
    import_id: int
    file: str
    restored: int = 0
    removed_responses: int = 0
    removed_assessments: list[str] = field(default_factory=list)
    removed_units: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{self.restored:,} value(s) restored", f"{self.removed_responses:,} answer(s) removed",
                 f"{len(self.removed_assessments):,} round(s) removed"
                 + (f" ({_listing(self.removed_assessments)})" if self.removed_assessments else "")]
        if self.removed_units:
            parts.append(f"unit(s) removed: {_listing(self.removed_units)}")
        return f"Undid import {self.import_id} ({self.file}): {'; '.join(parts)}."


def _listing(names: list[str], limit: int = 8) -> str:
    return ", ".join(names) if len(names) <= limit else f"{', '.join(names[:limit])} and {len(names) - limit:,} more"


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# --- while importing -----------------------------------------------------------------------------


def mark_import(con: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """In the import's transaction, before it writes: keep the change-log mark and the rounds as they are."""
    con.execute("UPDATE import_batch SET log_mark = (SELECT coalesce(max(id), 0) FROM change_log) WHERE id = ?",
                [import_id])
    con.execute("CREATE OR REPLACE TEMP TABLE _undo_rounds AS SELECT id, scope, assessed_on FROM assessment")
    con.execute("CREATE OR REPLACE TEMP TABLE _undo_units AS SELECT id FROM unit")


def stamp_import(con: duckdb.DuckDBPyConnection, import_id: int, *, by: str, source: str) -> None:
    """After the import wrote: name it on the units and rounds it created, log the rounds it changed."""
    try:
        con.execute("UPDATE unit SET created_import = ? WHERE id NOT IN (SELECT id FROM _undo_units)", [import_id])
        con.execute("UPDATE assessment SET created_import = ? WHERE id NOT IN (SELECT id FROM _undo_rounds)",
                    [import_id])
        con.execute(
            """INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at,
                                       source, import_id)
               SELECT id, NULL, field, old_value, new_value, ?, ?, ?, ? FROM (
                   SELECT a.id, 'scope' AS field, b.scope AS old_value, a.scope AS new_value
                   FROM assessment a JOIN _undo_rounds b USING (id) WHERE a.scope IS DISTINCT FROM b.scope
                   UNION ALL
                   SELECT a.id, 'assessed_on', CAST(b.assessed_on AS VARCHAR), CAST(a.assessed_on AS VARCHAR)
                   FROM assessment a JOIN _undo_rounds b USING (id) WHERE a.assessed_on IS DISTINCT FROM b.assessed_on)""",
            [by, _now(), source, import_id])
    finally:
        con.execute("DROP TABLE IF EXISTS _undo_rounds")
        con.execute("DROP TABLE IF EXISTS _undo_units")


# --- undoing -------------------------------------------------------------------------------------

# change-log rows that are not later work: an undone import's own rows and its undo's, and merges
_LATER = """c.id > ? AND c.source IS DISTINCT FROM 'merge'
            AND (c.import_id IS NULL OR c.import_id NOT IN (SELECT id FROM import_batch WHERE undone_at IS NOT NULL)
                 AND c.import_id <> ?)"""


def _conflicts(con: duckdb.DuckDBPyConnection, import_id: int, mark: int) -> pd.DataFrame:
    """The answers and rounds changed since the import, and the finalised rounds it touched."""
    return frame(
        con,
        f"""WITH touched AS (
                SELECT assessment_id, item_id FROM response WHERE created_import = ?
                UNION SELECT assessment_id, item_id FROM change_log WHERE import_id = ? AND source <> 'undo'),
            created AS (SELECT id FROM assessment WHERE created_import = ?),
            found AS (
                SELECT c.assessment_id, c.item_id, c.field, c.changed_by, c.changed_at, c.source,
                       'changed after the import' AS why, c.id AS ord
                FROM change_log c
                WHERE {_LATER} AND ((c.assessment_id, c.item_id) IN (SELECT assessment_id, item_id FROM touched)
                                    OR c.assessment_id IN (SELECT id FROM created))
                UNION ALL
                SELECT r.assessment_id, r.item_id, NULL, r.created_by, r.created_at, r.created_source,
                       'answered after the import, in a round it created', 0
                FROM response r WHERE r.assessment_id IN (SELECT id FROM created)
                AND r.created_import IS DISTINCT FROM ?
                UNION ALL
                SELECT c.assessment_id, NULL, c.field, NULL, NULL, NULL,
                       'changed after the import (now ' || coalesce(CAST(CASE c.field WHEN 'scope' THEN a.scope
                           ELSE CAST(a.assessed_on AS VARCHAR) END AS VARCHAR), 'empty') || ')', 0
                FROM change_log c JOIN assessment a ON a.id = c.assessment_id
                WHERE c.import_id = ? AND c.item_id IS NULL AND c.source <> 'undo'
                AND c.new_value IS DISTINCT FROM CASE c.field WHEN 'scope' THEN a.scope
                                                 ELSE CAST(a.assessed_on AS VARCHAR) END
                UNION ALL
                SELECT a.id, NULL, NULL, NULL, NULL, NULL, 'finalised: a finalised round is never changed', -1
                FROM assessment a WHERE a.status = 'final' AND (a.id IN (SELECT assessment_id FROM touched)
                    OR a.id IN (SELECT id FROM created)
                    OR a.id IN (SELECT assessment_id FROM change_log WHERE import_id = ? AND source <> 'undo')))
            SELECT u.name AS unit, a.label AS round, f.item_id AS item, f.field, f.changed_by, f.changed_at,
                   f.source, f.why
            FROM found f JOIN assessment a ON a.id = f.assessment_id JOIN unit u ON u.id = a.unit_id
            ORDER BY f.ord < 0 DESC, lower(u.name), a.label, f.item_id NULLS FIRST, f.ord""",
        [import_id, import_id, import_id, mark, import_id, import_id, import_id, import_id],
    )[CONFLICT_COLUMNS]


def _refusal(number: int, filename: str, conflicts: pd.DataFrame) -> UndoRefused:
    final = conflicts["why"].str.startswith("finalised")
    reasons = []
    if final.any():
        rounds = sorted({f"{u} {r}" for u, r in conflicts.loc[final, ["unit", "round"]].itertuples(index=False)})
        reasons.append(f"it touched finalised round(s) {', '.join(rounds)}, which are never changed")
    later = conflicts[~final]
    if not later.empty:
        shown = [f"{u} {r}" + (f" {i}" if isinstance(i, str) else "")
                 for u, r, i in later[["unit", "round", "item"]].drop_duplicates().itertuples(index=False)]
        more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
        reasons.append(f"{len(shown)} answer(s) or round(s) were changed after it ({', '.join(shown[:5])}{more}); "
                       "undoing would overwrite that later work")
    return UndoRefused(f"Import {number} ({filename}) cannot be undone: {'; '.join(reasons)}.", conflicts)


def undo_import(con: duckdb.DuckDBPyConnection, import_id: int, *, principal: Principal, by: str) -> UndoResult:
    """Undo one import in one transaction, or raise `UndoRefused` (with the conflicts) and change nothing.
    Administrators and leads only (an import spans units)."""
    authorise_write(con, principal, "undo_import")
    with transaction(con):
        found = one(con, "SELECT filename, log_mark, undone_by, undone_at, summary FROM import_batch WHERE id = ?",
                    [import_id])
        if found is None:
            raise UndoRefused(f"No import with id {import_id}; the Import page and `python -m etl imports` list them.")
        filename, mark, undone_by, undone_at, summary = found
        if undone_at is not None:
            raise UndoRefused(f"Import {import_id} ({filename}) was already undone on {undone_at:%Y-%m-%d %H:%M} "
                              f"by {undone_by}.")
        if mark is None:
            raise UndoRefused(f"Import {import_id} ({filename}) was made before imports recorded what they changed; "
                              "it cannot be undone.")
        conflicts = _conflicts(con, import_id, int(mark))
        if not conflicts.empty:
            raise _refusal(import_id, filename, conflicts)
        now = _now()
        restored = 0
        for name in RESPONSE_FIELDS:
            restored += int(rows(con, f"""UPDATE response r SET {name} = {_CAST.get(name, 'c.old_value')},
                                                 changed_by = ?, changed_at = ?
                                          FROM change_log c WHERE c.import_id = ? AND c.source <> 'undo'
                                          AND c.field = '{name}' AND r.assessment_id = c.assessment_id
                                          AND r.item_id = c.item_id""", [by, now, import_id])[0][0])
        for name, cast in _ROUND_FIELDS.items():
            con.execute(f"""UPDATE assessment a SET {name} = {cast} FROM change_log c
                            WHERE c.import_id = ? AND c.source <> 'undo' AND c.item_id IS NULL AND c.field = '{name}'
                            AND a.id = c.assessment_id""", [import_id])
        created = rows(con, """SELECT a.id, u.name || ' ' || a.label FROM assessment a JOIN unit u ON u.id = a.unit_id
                               WHERE a.created_import = ? ORDER BY lower(u.name), a.label""", [import_id])
        created_ids = [int(i) for i, _ in created] or [-1]
        keep = f"assessment_id NOT IN ({', '.join('?' for _ in created_ids)})"
        # the log of rounds that stay: values restored, answers removed (rounds removed are in the import record)
        con.execute(
            f"""INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at,
                                        source, import_id)
                SELECT assessment_id, item_id, field, new_value, old_value, ?, ?, 'undo', import_id FROM change_log
                WHERE import_id = ? AND source <> 'undo' AND {keep}
                UNION ALL
                SELECT assessment_id, item_id, 'removed', 'created by import ' || ?, NULL, ?, ?, 'undo', ?
                FROM response WHERE created_import = ? AND {keep}""",
            [by, now, import_id, *created_ids, import_id, by, now, import_id, import_id, *created_ids])
        removed = len(rows(con, "DELETE FROM response WHERE created_import = ? RETURNING 1", [import_id]))
        con.execute(f"DELETE FROM roadmap_action WHERE NOT {keep}", created_ids)
        con.execute("DELETE FROM assessment WHERE created_import = ?", [import_id])
        units = rows(con, """DELETE FROM unit u WHERE created_import = ?
                             AND NOT EXISTS (SELECT 1 FROM assessment a WHERE a.unit_id = u.id)
                             AND NOT EXISTS (SELECT 1 FROM unit c WHERE c.parent_id = u.id) RETURNING name""",
                     [import_id])
        result = UndoResult(import_id, filename, restored, removed, [n for _, n in created], sorted(u[0] for u in units))
        record = json.loads(summary) if summary else {}
        record["undo"] = {"restored": restored, "removed_responses": removed,
                          "removed_assessments": result.removed_assessments, "removed_units": result.removed_units}
        # the hash is set aside (kept, suffixed): the same file may be imported again
        con.execute("""UPDATE import_batch SET undone_by = ?, undone_at = ?, summary = ?,
                       content_hash = content_hash || ':undone:' || CAST(id AS VARCHAR) WHERE id = ?""",
                    [by, now, json.dumps(record, ensure_ascii=False, default=str), import_id])
    return result
