"""The dashboard's cached reads on a PostgreSQL store: DuckDB over the server's tables, pulled as Arrow.

The scoring SQL is DuckDB's, and DuckDB runs it at 500 units several times faster than the server runs the same SQL
(benchmarks/pg_reads_bench.py; figures in benchmarks/README.md). So on a server, `dashboard/ui.py` runs its cached
reads (`ui.query`) on an in-memory DuckDB holding a copy of the server's tables: built with the same migrations as a
file, filled with every table read in one repeatable-read transaction through the ADBC PostgreSQL driver (straight
into Arrow), and kept while the server's change token (`pg.change_token`) stays the same. A write anywhere moves the
token and the next read pulls again (a whole pull for now: ~2-3 s at 500 units × 8 rounds on a loaded 2-CPU machine,
tens of ms for the demo). Writes never go here: `ui.write`, the command line and the store write to the server.

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

__all__ = ["available", "lease", "pull", "reading"]

log = logging.getLogger(__name__)


def available() -> bool:
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
    except ImportError:
        return False
    return True


def _adbc_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]  # libpq takes both schemes; ADBC checks for this one


def pull(url: str, catalog: Catalog | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB with the store's schema and every table of the server's store, as of one moment."""
    import adbc_driver_postgresql.dbapi as adbc

    from dashboard import schema

    memory = duckdb.connect(":memory:")
    schema.migrate(memory)
    with adbc.connect(_adbc_url(url)) as server, server.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # every table as of the same moment
        cur.execute("""SELECT table_name FROM information_schema.tables
                       WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_version'""")
        tables = [name for (name,) in cur.fetchall()]
        known = {name for (name,) in memory.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
        for table in tables:
            if table not in known:
                continue
            cur.execute(f"SELECT * FROM {table}")
            data = cur.fetch_arrow_table()
            if data.num_rows == 0:
                continue
            memory.register("_pulled", data)
            columns = ", ".join(f'"{c}"' for c in data.column_names)
            memory.execute(f"DELETE FROM {table}")
            memory.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _pulled")
            memory.unregister("_pulled")
        server.rollback()
    schema.sync_catalog(memory, catalog or load_catalog())
    return memory


@dataclass
class _Copy:
    token: tuple[int, ...]
    con: duckdb.DuckDBPyConnection


class _Copies:
    """One pulled copy per server URL, replaced when the server's token moves (readers of the old one finish on it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._copies: dict[str, _Copy] = {}

    def cursor(self, url: str, catalog: Catalog | None) -> duckdb.DuckDBPyConnection:
        if url not in self._copies:  # the server's schema migrated and its catalog synced, as on any first use
            from dashboard.db import lease as server_lease

            with server_lease(url, catalog=catalog):
                pass
        token = pg.change_token(url)  # before the pull: a write after it moves the token again, so never stale
        with self._lock:
            copy = self._copies.get(url)
            if copy is None or copy.token != token:
                copy = _Copy(token, pull(url, catalog))
                self._copies[url] = copy  # the old copy closes when its last cursor is gone
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
