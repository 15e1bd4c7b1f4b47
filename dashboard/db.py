"""The DuckDB file: short-lived connections, waiting politely for another process's lock, migrations.

DuckDB lets one process at a time open a file for writing. The dashboard and the command line both
open the file only for the duration of one operation, so that each can work while the other is idle;
when the file is busy, `connect` waits (up to `AIMS_LOCK_WAIT_SECONDS`) and says that it is waiting.
"""

from __future__ import annotations

import atexit
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

try:
    import fcntl
except ImportError:  # Windows: waiting processes are not announced; the file lingers as before
    fcntl = None  # type: ignore[assignment]

from dashboard import pg, settings
from dashboard.catalog import Catalog, load_catalog

__all__ = ["DatabaseBusy", "connect", "frame", "lease", "one", "resolve_path", "rows", "transaction"]

log = logging.getLogger(__name__)

_LOCK_MESSAGE = re.compile(r"Could not set lock on file|Conflicting lock", re.IGNORECASE)


class DatabaseBusy(RuntimeError):
    """Another process held the database file for longer than we were willing to wait."""


def resolve_path(db: str | Path | None = None) -> str:
    """The database path: the argument, else `AIMS_DB`, else `data/aims.duckdb`. `:memory:` is allowed, and so is a
    `postgresql://` URL (a shared server: `dashboard/pg.py`)."""
    path = str(db) if db else settings.get("AIMS_DB")
    if path != ":memory:" and not pg.is_url(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


class _Waiting:
    """Processes waiting for the file say so: each holds a shared lock on `<file>.waiting` while it waits, and a
    process that holds the file open, idle, closes it at once when it finds that lock taken, instead of lingering
    (`_Lingering`). Without it a process saving answer after answer would keep the file for as long as it works,
    and the others would wait until AIMS_LOCK_WAIT_SECONDS ran out (benchmarks/concurrent_writers.py)."""

    @staticmethod
    @contextmanager
    def announce(path: str) -> Iterator[None]:
        try:
            if fcntl is None:
                raise OSError("no file locks here")
            handle = open(path + ".waiting", "a+b")  # noqa: SIM115 (held for the whole wait)
        except OSError:  # a read-only folder: wait without announcing it
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_SH)
            yield
        finally:
            handle.close()  # releases the lock

    @staticmethod
    def anyone(path: str) -> bool:
        """Whether another process is waiting for the file now."""
        if fcntl is None:
            return False
        try:
            with open(path + ".waiting", "rb") as handle:  # made by the first process that waited
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(handle, fcntl.LOCK_UN)
                return False
        except OSError:
            return False


def _open(path: str, wait: float, on_wait: Callable[[str], None] | None) -> duckdb.DuckDBPyConnection:
    if pg.is_url(path):  # a server: no file lock to wait for; the same calling surface (dashboard/pg.py)
        return pg.connect(path)  # type: ignore[return-value]
    try:
        return duckdb.connect(path)
    except duckdb.IOException as exc:
        if not _LOCK_MESSAGE.search(str(exc)) or path == ":memory:":
            raise
    with _Waiting.announce(path):
        return _wait_for(path, wait, on_wait)


def _wait_for(path: str, wait: float, on_wait: Callable[[str], None] | None) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait
    delay, told = 0.01, False
    while True:
        try:
            return duckdb.connect(path)
        except duckdb.IOException as exc:
            if not _LOCK_MESSAGE.search(str(exc)):
                raise
            holder = re.search(r"\(PID (\d+)\)", str(exc))
            who = f"process {holder.group(1)}" if holder else "another process"
            if time.monotonic() >= deadline:
                raise DatabaseBusy(
                    f"The database {path} is in use by {who} and was not released within {wait:g} s. "
                    "Close the other program or try again; set AIMS_LOCK_WAIT_SECONDS to wait longer."
                ) from exc
            if not told:
                message = f"The database {path} is in use by {who}; waiting up to {wait:g} s for it to be released…"
                (on_wait or log.warning)(message)
                told = True
            time.sleep(delay * (0.5 + random.random()))  # jittered: waiting processes do not retry in step
            delay = min(delay * 2, 0.1)


@contextmanager
def connect(
    db: str | Path | None = None,
    *,
    catalog: Catalog | None = None,
    wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the database for one operation, run pending migrations, sync the catalog, close it after."""
    path = resolve_path(db)
    seconds = float(settings.get("AIMS_LOCK_WAIT_SECONDS")) if wait is None else wait
    con = _open(path, seconds, on_wait)
    try:
        _prepare(con, path, catalog or load_catalog())
        yield con
    finally:
        con.close()


def _prepare(con: duckdb.DuckDBPyConnection, path: str, catalog: Catalog) -> None:
    """Run pending migrations and sync the catalog copy: two cheap reads when nothing is pending.

    (Remembering "already done" per file is unsafe: a file deleted and made again can get the same inode.)
    """
    from dashboard import schema  # local import: schema imports this module's helpers

    if pg.is_url(path):
        pg.prepare(con, schema.migrate)  # type: ignore[arg-type]
    else:
        schema.migrate(con)
    schema.sync_catalog(con, catalog)


class _Lingering:
    """One open database per file, shared by the threads of this process and closed when idle.

    A dashboard rerun reads many cached queries; opening and closing the file costs ~16 ms each time.
    A lease hands out a cursor of a shared connection; once no lease is held for `linger` seconds the
    connection is closed, so the file is free again for the command line almost at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, duckdb.DuckDBPyConnection] = {}
        self._users: dict[str, int] = {}
        self._timers: dict[str, threading.Timer] = {}

    @contextmanager
    def lease(self, path: str, catalog: Catalog, linger: float, wait: float,
              on_wait: Callable[[str], None] | None) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            timer = self._timers.pop(path, None)
            if timer is not None:
                timer.cancel()
            root = self._open.get(path)
            if root is None:
                root = _open(path, wait, on_wait)
                try:
                    _prepare(root, path, catalog)
                except BaseException:
                    root.close()
                    raise
                self._open[path] = root
            self._users[path] = self._users.get(path, 0) + 1
            cursor = root.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
            with self._lock:
                self._users[path] -= 1
                if self._users[path] == 0 and _Waiting.anyone(path):  # another process waits: hand the file over
                    self._open.pop(path).close()
                elif self._users[path] == 0:
                    timer = threading.Timer(linger, self._close_if_idle, args=(path,))
                    timer.daemon = True
                    self._timers[path] = timer
                    timer.start()

    def close_all(self) -> None:
        """Close every lingering file now (at exit: a connection closed during interpreter shutdown can abort)."""
        with self._lock:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
            for con in self._open.values():
                con.close()
            self._open.clear()

    def _close_if_idle(self, path: str) -> None:
        with self._lock:
            if self._users.get(path, 0) == 0 and path in self._open:
                self._timers.pop(path, None)
                self._open.pop(path).close()


_LINGERING = _Lingering()
atexit.register(_LINGERING.close_all)


@contextmanager
def lease(db: str | Path | None = None, *, catalog: Catalog | None = None, linger: float = 0.5,
          on_wait: Callable[[str], None] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Like `connect`, but the file stays open `linger` seconds after the last use (for the dashboard)."""
    path = resolve_path(db)
    seconds = float(settings.get("AIMS_LOCK_WAIT_SECONDS"))
    with _LINGERING.lease(path, catalog or load_catalog(), linger, seconds, on_wait) as con:
        yield con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit when the block ends, roll back on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run a query and read its whole result (DuckDB 2 keeps a result open until it is read to the end)."""
    return con.execute(sql, params or []).fetchall()


def one(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
    result = rows(con, sql, params)
    return result[0] if result else None


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()
