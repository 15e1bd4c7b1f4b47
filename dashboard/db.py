"""The DuckDB file: short-lived connections, waiting politely for another process's lock, migrations.

DuckDB lets one process at a time open a file for writing. The dashboard and the command line both
open the file only for the duration of one operation, so that each can work while the other is idle;
when the file is busy, `connect` waits (up to `AIMS_LOCK_WAIT_SECONDS`) and says that it is waiting: in turn
behind other processes of this program (`dashboard/turns.py`), retrying behind any other program.
"""

from __future__ import annotations

import atexit
import logging
import os
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

from dashboard import pg, settings, turns
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


_READ_MESSAGE = re.compile(r"Could not read enough bytes", re.IGNORECASE)
_OPEN_TRIES = 4  # a file that changed while DuckDB opened it, or a short read of it: opened again, at most this often


def _busy(path: str, who: str, wait: float) -> DatabaseBusy:
    return DatabaseBusy(
        f"The database {path} is in use by {who} and was not released within {wait:g} s. "
        "Close the other program or try again; set AIMS_LOCK_WAIT_SECONDS to wait longer."
    )


def _open(path: str, wait: float, on_wait: Callable[[str], None] | None) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """(the connection, whether this process took a turn for it: give it back after closing, `_close`).

    Processes of this program wait for their turn in order (`dashboard/turns.py`); once it is ours, a program
    that does not take turns (the DuckDB command line) may still hold the file: then retry until it lets go."""
    if pg.is_url(path):  # a server: no file lock to wait for; the same calling surface (dashboard/pg.py)
        return pg.connect(path), False  # type: ignore[return-value]
    if path == ":memory:":
        return duckdb.connect(path), False
    deadline = time.monotonic() + wait
    told: list[str] = []

    def say(who: str) -> None:
        if not told:
            told.append(who)
            message = f"The database {path} is in use by {who}; waiting up to {wait:g} s for it to be released…"
            (on_wait or log.warning)(message)

    try:
        took = turns.TURNS.take(path, deadline, say)
    except turns.TurnTimeout as exc:
        raise _busy(path, exc.holder, wait) from None
    try:
        return _connect(path, wait, deadline, say), took
    except BaseException:
        if took:
            turns.TURNS.give(path)
        raise


_BUSY_CLOSE = 2.0  # seconds a close waits for a call still running on one of the connection's cursors


def _close(path: str, con: duckdb.DuckDBPyConnection, took: bool) -> None:
    """Close (and so checkpoint) the file, then give the turn to the next process.

    DuckDB refuses to close a connection while one of its cursors is in a call (`close_all` at exit, or between
    tests, while a page run's snapshot is being rolled back in its watcher thread): the close is tried again until
    that call is over, for at most `_BUSY_CLOSE` seconds."""
    try:
        deadline = time.monotonic() + _BUSY_CLOSE
        while True:
            try:
                con.close()
                break
            except duckdb.ResourceInUseException:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)
    finally:
        if took:
            turns.TURNS.give(path)


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def _connect(path: str, wait: float, deadline: float, say: Callable[[str], None]) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, retried while another program holds the file (up to `deadline`), and opened again when the
    file changed while DuckDB opened it or DuckDB read it short: DuckDB reads the header before it takes its lock
    (`dashboard/turns.py`), so a header read while a program that does not take turns was checkpointing is stale."""
    delay, again = 0.01, 0
    while True:
        before = _stamp(path)
        try:
            con = duckdb.connect(path)
        except duckdb.IOException as exc:
            if _READ_MESSAGE.search(str(exc)) and again < _OPEN_TRIES:
                again += 1
                log.warning("DuckDB read %s short while it was handed over; opening it again", path)
                time.sleep(0.01 * again)
                continue
            if not _LOCK_MESSAGE.search(str(exc)):
                raise
            holder = re.search(r"\(PID (\d+)\)", str(exc))
            who = f"process {holder.group(1)}" if holder else "another process"
            if time.monotonic() >= deadline:
                raise _busy(path, who, wait) from exc
            say(who)
            with turns.Waiting.announce(path):
                time.sleep(delay * (0.5 + random.random()))  # jittered: waiting programs do not retry in step
            delay = min(delay * 2, 0.1)
            continue
        if before is not None and _stamp(path) != before and again < _OPEN_TRIES:
            again += 1  # written meanwhile (or by this open's own recovery of a journal): open it again
            con.close()
            continue
        return con


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
    con, took = _open(path, seconds, on_wait)
    try:
        _prepare(con, path, catalog or load_catalog())
        yield con
    finally:
        _close(path, con, took)


def _prepare(con: duckdb.DuckDBPyConnection, path: str, catalog: Catalog) -> None:
    """Run pending migrations and sync the catalog copy: on a DuckDB file, one read when nothing is pending.

    (Remembering "already done" per file is unsafe: a file deleted and made again can get the same inode.)
    """
    from dashboard import schema  # local import: schema imports this module's helpers

    if pg.is_url(path):
        pg.prepare(con, schema.migrate)  # type: ignore[arg-type]
    elif not _ready(con, len(schema.MIGRATIONS), catalog.digest):
        schema.migrate(con)
    else:
        return
    schema.sync_catalog(con, catalog)


def _ready(con: duckdb.DuckDBPyConnection, migrations: int, digest: str) -> bool:
    """Whether every migration ran and the catalog copy is this catalog's, in one query (a process answering
    through separate processes opens the file for every save: benchmarks/concurrent_writers.py)."""
    try:
        version, stored = con.execute(
            "SELECT (SELECT max(version) FROM schema_version), (SELECT value FROM meta WHERE key = 'catalog_digest')"
        ).fetchall()[0]
    except duckdb.CatalogException:  # a new file: no tables yet
        return False
    return version is not None and version >= migrations and stored == digest


class _Lingering:
    """One open database per file, shared by the threads of this process and closed when idle.

    A dashboard rerun reads many cached queries; opening and closing the file costs ~16 ms each time.
    A lease hands out a cursor of a shared connection; once no lease is held for `linger` seconds the
    connection is closed, so the file is free again for the command line almost at once. While it lingers it
    looks every `_LOOK` seconds whether another process waits for the file (`turns.Waiting`), and if one does it
    closes the file at once and gives that process its turn, instead of keeping it idle until `linger` ends.
    """

    _LOOK = 0.025

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, tuple[duckdb.DuckDBPyConnection, bool]] = {}
        self._users: dict[str, int] = {}
        self._uses: dict[str, int] = {}  # leases begun per file: a lingering watch ends when another begins

    @contextmanager
    def lease(self, path: str, catalog: Catalog, linger: float, wait: float,
              on_wait: Callable[[str], None] | None) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            self._uses[path] = self._uses.get(path, 0) + 1
            if path not in self._open:
                root, took = _open(path, wait, on_wait)
                try:
                    _prepare(root, path, catalog)
                except BaseException:
                    _close(path, root, took)
                    raise
                self._open[path] = (root, took)
            self._users[path] = self._users.get(path, 0) + 1
            cursor = self._open[path][0].cursor()
        try:
            yield cursor
        finally:
            cursor.close()
            with self._lock:
                self._users[path] -= 1
                if self._users[path] == 0 and turns.Waiting.anyone(path):  # another process waits: hand it over
                    self._shut(path)
                elif self._users[path] == 0:
                    watch = threading.Thread(target=self._linger, args=(path, self._uses[path], linger), daemon=True)
                    watch.start()

    def close_all(self) -> None:
        """Close every lingering file now (at exit: a connection closed during interpreter shutdown can abort)."""
        with self._lock:
            for path in list(self._open):
                self._shut(path)

    def _shut(self, path: str) -> None:
        root, took = self._open.pop(path)
        _close(path, root, took)

    def _linger(self, path: str, uses: int, linger: float) -> None:
        until = time.monotonic() + linger
        while True:
            time.sleep(min(self._LOOK, max(0.0, until - time.monotonic())))
            with self._lock:
                if self._uses.get(path) != uses or self._users.get(path, 0) or path not in self._open:
                    return  # used again meanwhile (that lease watches when it ends), or closed already
                if time.monotonic() >= until or turns.Waiting.anyone(path):
                    self._shut(path)
                    return


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
