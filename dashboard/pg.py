"""The store on a PostgreSQL server: a connection with the surface of DuckDB's that the store's code uses.

`AIMS_DB=postgresql://user@host:port/dbname` (see `dashboard/db.py`) makes `db.connect` and `db.lease` hand out a
`PgConnection` instead of a DuckDB connection. It offers what the code calls on a DuckDB connection:

- `execute(sql, params)` (returns itself; then `fetchall()`, `fetchone()`, `df()`), `executemany`;
- `BEGIN TRANSACTION` / `COMMIT` / `ROLLBACK` as statements (the connection is in autocommit otherwise, as DuckDB's);
  a transaction is REPEATABLE READ, a snapshot as in DuckDB, so a write over a row another session changed since
  the snapshot fails as DuckDB's does (`duckdb.TransactionException`) and the store's retry runs it again;
- `register(name, frame)` / `unregister(name)`: DuckDB reads a pandas frame by name; here the frame is copied into a
  temporary table of that name (`COPY`), dropped again by `unregister`;
- `cursor()`: another connection to the same database (a DuckDB cursor has its own transaction too), from a small
  pool of idle connections per URL; `close()` gives it back.

The SQL is translated by `dashboard/sql_dialect.py`; `numeric` results are read as floats, as DuckDB's doubles are;
an INSERT, UPDATE or DELETE answers its row count, as in DuckDB; the server's errors are raised as DuckDB's error
classes (a constraint as `duckdb.ConstraintException`, ...), with the server's message.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd

from dashboard import pg_changes
from dashboard.sql_dialect import COMPAT_SQL, to_postgres

__all__ = ["PgConnection", "ServerError", "change_token", "connect", "is_url", "prepare", "redact_url",
           "step_lock"]

_IDLE_PER_URL = 8
_ADVISORY_KEY = 42_001  # serialises the compatibility functions and migrations between processes


class ServerError(RuntimeError):
    """The PostgreSQL server could not be reached or refused us."""


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


def _driver() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - requirements.txt installs it
        raise ServerError("AIMS_DB is a PostgreSQL URL but the driver psycopg is not installed "
                          "(pip install -r requirements.txt)") from exc
    return psycopg


def _new_raw(url: str) -> Any:
    psycopg = _driver()
    from psycopg.types.numeric import FloatLoader

    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise ServerError(f"Cannot reach the PostgreSQL database {redact_url(url)}: {exc}".strip()) from exc
    raw.adapters.register_loader("numeric", FloatLoader)
    raw.execute("SET TIME ZONE 'UTC'")
    raw.execute("SET search_path = public, pg_catalog")  # DuckDB's `/` on whole numbers (dashboard/sql_dialect.py)
    return raw


class _Pool:
    """Idle server connections per URL, so a lease's cursor costs no new connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[str, list[Any]] = {}

    def take(self, url: str) -> Any:
        with self._lock:
            idle = self._idle.get(url, [])
            while idle:
                raw = idle.pop()
                if not raw.closed:
                    return raw
        return _new_raw(url)

    def give(self, url: str, raw: Any) -> None:
        if raw.closed:
            return
        try:
            if raw.info.transaction_status != 0:  # not idle: a transaction was left open
                raw.rollback()
            raw.execute("DISCARD TEMP")
        except Exception:
            raw.close()
            return
        with self._lock:
            idle = self._idle.setdefault(url, [])
            if len(idle) < _IDLE_PER_URL:
                idle.append(raw)
                return
        raw.close()

    def close_all(self) -> None:
        with self._lock:
            for idle in self._idle.values():
                for raw in idle:
                    raw.close()
            self._idle.clear()


POOL = _Pool()


class PgConnection:
    """One server connection with DuckDB's calling surface (see the module's docstring)."""

    def __init__(self, url: str, raw: Any) -> None:
        self.url = url
        self._raw = raw
        self._cursor: Any = None

    # -- statements ------------------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgConnection:
        values = _values(params) if params else None
        text = to_postgres(sql, values is not None)
        if values is not None and any(v is None for v in values):
            text, values = _inline_nulls(text, values)
        cursor = self._raw.cursor()
        try:
            cursor.execute(text, values, prepare=False)
        except Exception as exc:
            cursor.close()
            raise _as_duckdb_error(exc) from exc
        if self._cursor is not None:
            self._cursor.close()
        self._cursor = cursor
        return self

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> PgConnection:
        with self._raw.cursor() as cursor:
            try:
                cursor.executemany(to_postgres(sql, True), [_values(p) for p in params])
            except Exception as exc:
                raise _as_duckdb_error(exc) from exc
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self._cursor is None:
            return []
        if self._cursor.description is None:  # DuckDB answers an INSERT, UPDATE or DELETE with its row count
            status = (self._cursor.statusmessage or "").split(" ")[0]
            return [(self._cursor.rowcount,)] if status in ("INSERT", "UPDATE", "DELETE") else []
        return self._cursor.fetchall()

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._cursor is None or self._cursor.description is None:
            return None
        return self._cursor.fetchone()

    @property
    def description(self) -> Any:
        return None if self._cursor is None else self._cursor.description

    def df(self) -> pd.DataFrame:
        columns = [d.name for d in self.description or []]
        return _frame(self.fetchall(), columns, self.description or [])

    # -- DuckDB's replacement scans, as temporary tables -------------------------------------------------------
    def register(self, name: str, frame: pd.DataFrame) -> PgConnection:
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        columns = ", ".join(f'"{f.name}" {_pg_type(f.type)}' for f in table.schema)
        self._raw.execute(f'DROP TABLE IF EXISTS pg_temp."{name}"')
        self._raw.execute(f'CREATE TEMP TABLE "{name}" ({columns})')
        names = ", ".join(f'"{f.name}"' for f in table.schema)
        with self._raw.cursor() as cursor, cursor.copy(f'COPY "{name}" ({names}) FROM STDIN') as copy:
            for row in zip(*(table.column(i).to_pylist() for i in range(table.num_columns)), strict=True):
                copy.write_row(row)
        return self

    def unregister(self, name: str) -> PgConnection:
        if self._raw.info.transaction_status == 3:  # a failed transaction: the rollback will drop it
            return self
        self._raw.execute(f'DROP TABLE IF EXISTS pg_temp."{name}"')
        return self

    # -- connections -------------------------------------------------------------------------------------------
    def cursor(self) -> PgConnection:
        return PgConnection(self.url, POOL.take(self.url))

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:  # `with con.cursor() as cur:` closes it, as DuckDB's does
        self.close()

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        if self._raw is not None:
            POOL.give(self.url, self._raw)
            self._raw = None

    @property
    def raw(self) -> Any:
        """The psycopg connection underneath (for COPY and Arrow reads)."""
        return self._raw


class PgError(duckdb.Error):
    """A PostgreSQL error, as the DuckDB error the store's code and tests catch (the server's message kept)."""


class PgConstraintError(duckdb.ConstraintException):
    """A constraint the server enforced (unique, not null, check): DuckDB's ConstraintException."""


class PgTransactionError(duckdb.TransactionException):
    """Another transaction changed what this one read (repeatable read), or a deadlock: DuckDB's conflict."""


class PgConversionError(duckdb.ConversionException):
    """A value the server could not convert: DuckDB's ConversionException."""


def _as_duckdb_error(exc: Exception) -> Exception:
    import psycopg

    if isinstance(exc, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected):
        return PgTransactionError(str(exc))
    if isinstance(exc, psycopg.errors.IntegrityError):
        return PgConstraintError(str(exc))
    if isinstance(exc, psycopg.errors.DataError):
        return PgConversionError(str(exc))
    if isinstance(exc, psycopg.Error):
        return PgError(str(exc))
    return exc


_MARK = re.compile(r"%%|%s")


def _inline_nulls(sql: str, values: list[Any]) -> tuple[str, list[Any] | None]:
    """A NULL parameter written into the statement: PostgreSQL cannot type `$1 IS NULL` when $1 is a bare NULL."""
    given = iter(values)
    kept: list[Any] = []

    def mark(match: re.Match[str]) -> str:
        if match.group() == "%%":
            return "%%"
        value = next(given)
        if value is None:
            return "NULL"
        kept.append(value)
        return "%s"

    text = _MARK.sub(mark, sql)
    return (text, kept) if kept else (text.replace("%%", "%"), None)


def _values(params: Sequence[Any]) -> list[Any]:
    out = []
    for value in params:
        if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
            value = value.item()
        out.append(value)
    return out


def _pg_type(arrow_type: Any) -> str:
    import pyarrow as pa

    checks = (
        (pa.types.is_boolean, "BOOLEAN"), (pa.types.is_integer, "BIGINT"), (pa.types.is_floating, "DOUBLE PRECISION"),
        (pa.types.is_timestamp, "TIMESTAMP"), (pa.types.is_date, "DATE"), (pa.types.is_decimal, "NUMERIC"),
    )
    for check, name in checks:
        if check(arrow_type):
            return name
    return "TEXT"


def _frame(rows: list[tuple[Any, ...]], columns: list[str], description: Any) -> pd.DataFrame:
    """A result as DuckDB's `.df()` gives it: whole numbers as numpy integers (pandas' nullable ones where a value
    is missing), booleans likewise, decimals as floats, dates and timestamps as datetime64[us], text as pandas'."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    out: dict[str, Any] = {}
    for d, column in zip(description, values, strict=True):
        type_name = _TYPE_NAMES.get(d.type_code, "")
        missing = any(v is None for v in column)
        if type_name in _INTEGERS:
            out[d.name] = pd.array(column, dtype=_INTEGERS[type_name].capitalize()) if missing \
                else pd.Series(column, dtype=_INTEGERS[type_name])
        elif type_name == "bool":
            out[d.name] = pd.array(column, dtype="boolean") if missing else pd.Series(column, dtype=bool)
        elif type_name in ("float4", "float8", "numeric"):
            out[d.name] = pd.Series([None if v is None else float(v) for v in column], dtype="float64")
        elif type_name in ("date", "timestamp", "timestamptz"):
            out[d.name] = pd.to_datetime(pd.Series(column, dtype=object)).astype("datetime64[us]")
        else:
            out[d.name] = pd.Series(column, dtype=object if not column or all(v is None for v in column) else None)
    frame = pd.DataFrame({name: pd.Series(out[name]).reset_index(drop=True) for name in out})
    frame.columns = columns
    return frame


_INTEGERS = {"int2": "int16", "int4": "int32", "int8": "int64"}
_TYPE_NAMES = {16: "bool", 20: "int8", 21: "int2", 23: "int4", 25: "text", 700: "float4", 701: "float8",
               1043: "varchar", 1082: "date", 1114: "timestamp", 1184: "timestamptz", 1700: "numeric"}


def change_token(url: str) -> tuple[int, ...]:
    """Moves whenever a write committed on the server since: its current snapshot (xmin, xmax, transactions in
    progress), which a commit always changes.

    The dashboard's cached reads are keyed by this token (`dashboard/ui/`), so they refresh on the next
    interaction after any process's write. A write the token's snapshot does not see yet changes the token when it
    commits, so a read cached under it is never served after (the write-ahead log's position would be: a commit is
    written there a moment before it is visible). It also moves when a transaction starts writing anywhere on the
    server (other databases, housekeeping): a read recomputed for nothing, never a stale one."""
    raw = POOL.take(url)
    try:
        snapshot = raw.execute("SELECT pg_current_snapshot()::text").fetchone()[0]
    finally:
        POOL.give(url, raw)
    low, high, running = snapshot.split(":")
    return (int(low), int(high), *(int(x) for x in running.split(",") if x))


def connect(url: str) -> PgConnection:
    return PgConnection(url, POOL.take(url))


# kinds of advisory locks a transaction may hold (the first number of pg_advisory_xact_lock's pair)
ROUND_REVIEW_LOCK = 42_002


@contextmanager
def step_lock(con: Any, kind: int, key: int) -> Iterator[None]:
    """On a server, around a transaction: wait for, and hold until the block ends, the lock (kind, key) that the
    same step of every other process takes too, so that a check-then-write step (a review's state, then its change)
    never interleaves with another's. The lock is the session's, taken *before* the transaction begins: a
    transaction is a snapshot (repeatable read) taken at its first statement, so a lock waited for inside it would
    still read the state from before the other step committed. On a DuckDB file, nothing: its writers are the
    sessions of one process, which a lock in that process serialises (`review._one_step`)."""
    if not isinstance(con, PgConnection):
        yield
        return
    con.execute("SELECT pg_advisory_lock(?::INTEGER, ?::INTEGER)", [int(kind), int(key)])
    try:
        yield
    finally:
        con.execute("SELECT pg_advisory_unlock(?::INTEGER, ?::INTEGER)", [int(kind), int(key)])


def prepare(con: PgConnection, migrate: Any) -> None:
    """Create the compatibility functions, run `migrate(con)` and give new tables the change notes' triggers
    (`dashboard/pg_changes.py`), one process at a time (an advisory lock)."""
    con.execute("SELECT pg_advisory_lock(?)", [_ADVISORY_KEY])
    try:
        if con.execute("SELECT to_regprocedure('aims_compat_v5()') IS NULL").fetchall()[0][0]:
            con.execute(COMPAT_SQL)
            con.execute("CREATE OR REPLACE FUNCTION aims_compat_v5() RETURNS integer LANGUAGE sql AS 'SELECT 1'")
        migrate(con)
        pg_changes.install(con.raw)  # what each write changed, for the dashboard's incremental pull (pulled.py)
    finally:
        con.execute("SELECT pg_advisory_unlock(?)", [_ADVISORY_KEY])
