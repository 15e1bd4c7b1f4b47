"""What changed on a PostgreSQL store since a snapshot: the notes that let `dashboard/pulled.py` pull only that.

The dashboard reads a server's store through an in-memory DuckDB copy of its tables (`dashboard/pulled.py`). Pulling
every table again after each saved answer cost ~3 s at 500 units × 8 rounds; with these notes the copy is brought up
to date by pulling only the rows of the rounds that changed, and whole only the small tables that changed.

On the server (installed by `pg.prepare`, in the schema `aims_meta`, outside the store's own tables, so that exports,
`migrate-store` and the copy never see it):

- the table `aims_meta.changed (xid, tbl, assessment_id)`: one row per writing transaction, table and round it
  touched (`assessment_id` -1: the table as a whole), the transaction's own id (`pg_current_xact_id()`);
- statement-level triggers on every table of the store fill it, once per statement whatever the number of rows:
  on a table with an `assessment_id` column (answers, change log, roadmap, review...) the distinct rounds of the
  rows inserted, updated or deleted (PostgreSQL's transition tables); on any other table (units, rounds,
  imports, the catalog...) just the table.

The notes are pruned (`prune`, every few hundred refreshes) to about the newest 50,000; a copy older than what is
kept is pulled whole once. The notes are written in the writer's own transaction, so they become visible exactly when its data does. What a
copy taken under snapshot S1 lacks, seen from a later snapshot S2, is then exactly the notes visible in S2 whose
transaction S1 did not see (`pg_visible_in_snapshot`) — whatever order the transactions started or committed in.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["WHOLE", "changed_since", "install", "outdated", "prune"]

WHOLE = -1  # the note's assessment_id when the whole table is to be pulled again
_VERSION = "aims_meta.notes_v1()"

_FUNCTIONS = """
CREATE SCHEMA IF NOT EXISTS aims_meta;
CREATE TABLE IF NOT EXISTS aims_meta.changed (
    xid xid8 NOT NULL,
    tbl text NOT NULL,
    assessment_id bigint NOT NULL,
    PRIMARY KEY (xid, tbl, assessment_id)
);
CREATE TABLE IF NOT EXISTS aims_meta.pruned (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    below xid8 NOT NULL  -- the notes of transactions before this one were deleted (`prune`)
);
CREATE OR REPLACE FUNCTION aims_meta.note_rows() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO aims_meta.changed
        SELECT DISTINCT pg_current_xact_id(), TG_TABLE_NAME, coalesce(assessment_id, -1) FROM new_rows
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO aims_meta.changed
        SELECT DISTINCT pg_current_xact_id(), TG_TABLE_NAME, coalesce(assessment_id, -1) FROM old_rows
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $f$;
CREATE OR REPLACE FUNCTION aims_meta.note_table() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO aims_meta.changed VALUES (pg_current_xact_id(), TG_TABLE_NAME, -1) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $f$;
CREATE OR REPLACE FUNCTION aims_meta.notes_v1() RETURNS integer LANGUAGE sql AS 'SELECT 1';
"""

_KEYED = """
CREATE TRIGGER aims_note_ins AFTER INSERT ON public.{t} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION aims_meta.note_rows();
CREATE TRIGGER aims_note_upd AFTER UPDATE ON public.{t} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION aims_meta.note_rows();
CREATE TRIGGER aims_note_del AFTER DELETE ON public.{t} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION aims_meta.note_rows();
CREATE TRIGGER aims_note_trunc AFTER TRUNCATE ON public.{t} FOR EACH STATEMENT EXECUTE FUNCTION aims_meta.note_table();
"""

_WHOLE_TABLE = """
CREATE TRIGGER aims_note AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON public.{t}
    FOR EACH STATEMENT EXECUTE FUNCTION aims_meta.note_table();
"""

_UNNOTED = """
SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'assessment_id'
                                                         AND NOT a.attisdropped)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r'
  AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname LIKE 'aims_note%')
ORDER BY c.relname
"""


def install(raw: Any) -> list[str]:
    """Create the notes' table and functions if missing, and the triggers on every store table that has none yet
    (tables a later migration adds get theirs on the next start). `raw` is a psycopg connection in autocommit, held
    under `pg.prepare`'s advisory lock. Returns the tables given triggers."""
    if raw.execute(f"SELECT to_regprocedure('{_VERSION}') IS NULL").fetchone()[0]:
        raw.execute(_FUNCTIONS)
    added = []
    for table, keyed in raw.execute(_UNNOTED).fetchall():
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
            continue  # not one of the store's tables (they are all plain lower-case names)
        raw.execute((_KEYED if keyed else _WHOLE_TABLE).format(t=table))
        added.append(table)
    return added


_SNAPSHOT = re.compile(r"\d+:\d+:[\d,]*")


def _check(snapshot: str) -> None:
    if not _SNAPSHOT.fullmatch(snapshot):
        raise ValueError(f"not a PostgreSQL snapshot: {snapshot!r}")


def changed_since(cursor: Any, snapshot: str) -> dict[str, set[int]]:
    """{table: the rounds (assessment ids; WHOLE for the whole table) changed by transactions that `snapshot` did not
    see}, as seen by `cursor`'s own snapshot (a DB-API cursor of the server, ADBC's or psycopg's). Complete only
    when not `outdated(cursor, snapshot)`."""
    _check(snapshot)
    cursor.execute(f"""SELECT tbl, assessment_id FROM aims_meta.changed
                       WHERE xid >= pg_snapshot_xmin('{snapshot}'::pg_snapshot)
                         AND NOT pg_visible_in_snapshot(xid, '{snapshot}'::pg_snapshot)""")
    found: dict[str, set[int]] = {}
    for table, assessment_id in cursor.fetchall():
        found.setdefault(table, set()).add(int(assessment_id))
    return found


_KEEP = 50_000  # notes kept when pruning: a copy older than the oldest of them pulls whole once (1.5 s at 500 units)


def prune(raw: Any, keep: int = _KEEP) -> int:
    """Delete all but about the newest `keep` notes (none while there are fewer than 2 × `keep`); a copy whose
    snapshot is older than what is kept then pulls whole (`outdated`). `raw`: a psycopg connection in autocommit.
    Returns the notes deleted."""
    with raw.transaction():
        total = raw.execute("SELECT count(*) FROM aims_meta.changed").fetchone()[0]
        if total < 2 * keep:
            return 0
        raw.execute("""INSERT INTO aims_meta.pruned (one, below)
                       SELECT true, least(pg_snapshot_xmin(pg_current_snapshot()),
                                          (SELECT xid FROM aims_meta.changed ORDER BY xid DESC OFFSET %s LIMIT 1))
                       ON CONFLICT (one) DO UPDATE SET below = greatest(aims_meta.pruned.below, excluded.below)""",
                    [keep])
        return raw.execute("DELETE FROM aims_meta.changed WHERE xid < (SELECT below FROM aims_meta.pruned)").rowcount


def outdated(cursor: Any, snapshot: str) -> bool:
    """True when notes a copy taken under `snapshot` would need were pruned: it must be pulled whole."""
    _check(snapshot)
    cursor.execute(f"""SELECT count(*) FROM aims_meta.pruned
                       WHERE below > pg_snapshot_xmin('{snapshot}'::pg_snapshot)""")
    return bool(cursor.fetchall()[0][0])
