"""The dashboard's cached reads on a PostgreSQL store: DuckDB over the server's tables, pulled as Arrow.

The scoring SQL is DuckDB's, and DuckDB runs it at 500 units several times faster than the server runs the same SQL
(benchmarks/pg_reads_bench.py; figures in benchmarks/README.md). So on a server, `dashboard/ui/` runs its cached
reads (`ui.query`) on an in-memory DuckDB holding a copy of the server's tables: built with the same migrations as a
file, filled with every table read in one repeatable-read transaction through the ADBC PostgreSQL driver (straight
into Arrow), and kept while the server's change token (`pg.change_token`) stays the same. A write anywhere moves the
token; the next read then brings the copy up to date incrementally: the server's change notes
(`dashboard/pg_changes.py`) name the tables and rounds written since the copy's snapshot, and only those rounds' rows
(and the small tables written as a whole) are pulled again, in one DuckDB transaction that readers of the copy never
see half-done. A whole pull (~2-3 s at 500 units × 8 rounds on a loaded 2-CPU machine, tens of ms for the demo) is
left for the first read, a migration, and many rounds changed at once (an import). Writes never go here: `ui.write`,
the command line and the store write to the server.

Without the ADBC driver the reads run on the server itself (`db.lease`), slower at scale but the same results.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb

from dashboard import pg
from dashboard.catalog import Catalog, load_catalog

__all__ = ["available", "lease", "pull", "reading", "refresh"]

log = logging.getLogger(__name__)


def available() -> bool:
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
    except ImportError:
        return False
    return True


def _adbc_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]  # libpq takes both schemes; ADBC checks for this one


# more rounds than this changed in a table (a large import), or a table by a statement without rounds: a new whole
# pull, quicker than deleting and inserting most of a large table in the copy (3.6 s against 1.5 s at 500 units)
_WHOLE_AFTER = 1000


def _known_tables(memory: duckdb.DuckDBPyConnection) -> set[str]:
    return {name for (name,) in memory.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}


def _load(memory: duckdb.DuckDBPyConnection, cur: Any, table: str, where: str = "") -> int:
    """Pull `table`'s rows (those matching `where`) from the server cursor `cur` into the copy; the row count."""
    cur.execute(f"SELECT * FROM {table}{where}")
    data = cur.fetch_arrow_table()
    if data.num_rows == 0:
        return 0
    memory.register("_pulled", data)
    try:
        columns = ", ".join(f'"{c}"' for c in data.column_names)
        memory.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _pulled")
    finally:
        memory.unregister("_pulled")
    return data.num_rows


def _begin(server: Any) -> tuple[Any, str]:
    """A repeatable-read transaction on the server (every table as of one moment); (its cursor, its snapshot)."""
    cur = server.cursor()
    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    cur.execute("SELECT pg_current_snapshot()::text")  # the first read: the transaction's own snapshot
    return cur, str(cur.fetchall()[0][0])


def pull(url: str, catalog: Catalog | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB with the store's schema and every table of the server's store, as of one moment."""
    return _pull(url, catalog)[0]


def _pull(url: str, catalog: Catalog | None) -> tuple[duckdb.DuckDBPyConnection, str]:
    import adbc_driver_postgresql.dbapi as adbc

    from dashboard import schema

    memory = duckdb.connect(":memory:")
    schema.migrate(memory)
    with adbc.connect(_adbc_url(url)) as server:
        cur, snapshot = _begin(server)
        try:
            cur.execute("""SELECT table_name FROM information_schema.tables
                           WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_version'""")
            tables = [name for (name,) in cur.fetchall()]
            known = _known_tables(memory)
            for table in tables:
                if table in known:
                    memory.execute(f"DELETE FROM {table}")
                    _load(memory, cur, table)
        finally:
            cur.close()
            server.rollback()
    schema.sync_catalog(memory, catalog or load_catalog())
    return memory, snapshot


def refresh(url: str, memory: duckdb.DuckDBPyConnection, snapshot: str,
            catalog: Catalog | None = None) -> tuple[str, dict[str, int]] | None:
    """Bring the copy `memory`, taken under the server's `snapshot`, up to date with only what changed since:
    (the new snapshot, {table: rows pulled again}); None when a whole pull is needed instead (the schema migrated, the
    change notes are missing). Readers of `memory` see the copy before or after, never half-way."""
    import adbc_driver_postgresql.dbapi as adbc

    from dashboard import pg_changes, schema

    known = _known_tables(memory)
    pulled: dict[str, int] = {}
    with adbc.connect(_adbc_url(url)) as server:
        cur, now = _begin(server)
        try:
            try:
                if pg_changes.outdated(cur, snapshot):  # notes it needs were pruned
                    return None
                changed = pg_changes.changed_since(cur, snapshot)
            except Exception:  # the notes are missing (a server prepared by older code): pull whole
                log.warning("no change notes on %s: pulling every table", pg.redact_url(url), exc_info=True)
                return None
            if "schema_version" in changed:
                return None
            memory.execute("BEGIN TRANSACTION")
            try:
                for table in sorted(set(changed) & known):
                    rounds = changed[table]
                    keyed = bool(memory.execute("""SELECT count(*) FROM information_schema.columns
                                                   WHERE table_name = ? AND column_name = 'assessment_id'""",
                                                [table]).fetchall()[0][0])
                    if keyed and (pg_changes.WHOLE in rounds or len(rounds) > _WHOLE_AFTER):
                        memory.execute("ROLLBACK")
                        return None
                    if pg_changes.WHOLE in rounds or not keyed:
                        memory.execute(f"DELETE FROM {table}")
                        pulled[table] = _load(memory, cur, table)
                    else:
                        listed = ", ".join(str(int(a)) for a in sorted(rounds))
                        memory.execute(f"DELETE FROM {table} WHERE assessment_id IN ({listed})")
                        pulled[table] = _load(memory, cur, table, f" WHERE assessment_id IN ({listed})")
                if {"catalog_item", "catalog_section"} & set(pulled):
                    schema.sync_catalog(memory, catalog or load_catalog())
                memory.execute("COMMIT")
            except BaseException:
                memory.execute("ROLLBACK")
                raise
        finally:
            cur.close()
            server.rollback()
    return now, pulled


_PRUNE_EVERY = 500  # refreshes between two prunings of the server's change notes


def _prune(url: str) -> None:
    from dashboard import pg_changes

    raw = pg.POOL.take(url)
    try:
        pg_changes.prune(raw)
    except Exception:  # pruning is housekeeping: never fail a read for it
        log.warning("could not prune the change notes on %s", pg.redact_url(url), exc_info=True)
    finally:
        pg.POOL.give(url, raw)


@dataclass
class _Copy:
    token: tuple[int, ...]
    con: duckdb.DuckDBPyConnection
    snapshot: str


class _Copies:
    """One pulled copy per server URL, brought up to date when the server's token moves (readers see it before or
    after the refresh, never during: DuckDB's transactions)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._copies: dict[str, _Copy] = {}
        self._refreshes = 0

    def cursor(self, url: str, catalog: Catalog | None) -> duckdb.DuckDBPyConnection:
        if url not in self._copies:  # the server's schema migrated and its catalog synced, as on any first use
            from dashboard.db import lease as server_lease

            with server_lease(url, catalog=catalog):
                pass
        token = pg.change_token(url)  # before the pull: a write after it moves the token again, so never stale
        with self._lock:
            copy = self._copies.get(url)
            if copy is not None and copy.token != token:
                self._refreshes += 1
                if self._refreshes % _PRUNE_EVERY == 0:
                    _prune(url)
                done = refresh(url, copy.con, copy.snapshot, catalog)
                if done is None:
                    copy = None
                else:
                    copy.token, copy.snapshot = token, done[0]
            if copy is None:
                con, snapshot = _pull(url, catalog)
                copy = _Copy(token, con, snapshot)
                self._copies[url] = copy  # an old copy closes when its last cursor is gone
            return copy.con.cursor()

    def clear(self) -> None:
        with self._lock:
            self._copies.clear()


COPIES = _Copies()


@contextmanager
def lease(url: str, *, catalog: Catalog | None = None) -> Iterator[Any]:
    """A read-only view for the dashboard's cached reads: the pulled copy (ADBC installed), else the server."""
    if not available():
        from dashboard.db import lease as server_lease

        with server_lease(url, catalog=catalog) as con:
            yield con
        return
    cursor = COPIES.cursor(url, catalog)
    try:
        yield cursor
    finally:
        cursor.close()


@contextmanager
def reading(db: Any = None, **options: Any) -> Iterator[Any]:
    """For a command that only reads (exports): the pulled copy on a server, so its figures come from DuckDB as on a
    file (the server's own float sums, added in another order, rounded one of 36,000 figures the other way at 500
    units); `db.connect(db, **options)` on a file."""
    from dashboard.db import connect, resolve_path

    path = resolve_path(db)
    if pg.is_url(path):
        with lease(path) as con:
            yield con
        return
    with connect(path, **options) as con:
        yield con
