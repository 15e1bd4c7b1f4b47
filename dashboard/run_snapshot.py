"""One state of the database per page run: the reads of one rerun share one read transaction.

While a campaign's answers arrive several times a second, every read of a rerun used to open its own transaction;
each found the file changed since the last and fingerprinted it again (`dashboard.versions`, 40-50 ms at 500 units
× 8 rounds), and most results could not be cached, since the state a read saw was newer than the key it was asked
under. Now the first read of a run begins a read transaction (`versions.begin_snapshot`: the file fingerprinted at
most once) and the run's other reads use it: a page's figures all describe the same moment (the headline, the
charts and the tables agree even while answers arrive), and every result is cached under the key of the state it
read.

A `Snapshot` holds a leased connection (`db.lease`) in an open read transaction. It ends when its run ends: when
the next run of the same session begins, when the session writes (`ui.write` ends it first, so that the reads after
a write see it), after `IDLE` seconds without a read, or at once when another process waits for the file (the
command line writing while the dashboard is open). A read after it ended begins a new one. Reads never block
writes: DuckDB's transactions see a snapshot, and a read-only one never conflicts.

Without Streamlit: `dashboard/ui/` names the run (the session and the run's identity) and asks `for_run`.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager
from typing import Any

import duckdb

from dashboard import turns, versions
from dashboard.db import lease

__all__ = ["IDLE", "Snapshot", "end", "for_run"]

IDLE = 0.25  # seconds without a read after which a run's snapshot ends (a run reads every few milliseconds)
_LOOK = 0.05
_MAX_SESSIONS = 2048

_lock = threading.Lock()
_open: dict[Any, Snapshot] = {}  # session -> its run's snapshot


class Snapshot:
    """A read transaction on a leased connection, with the fingerprints of the state it sees."""

    def __init__(self, path: str, run: Any) -> None:
        self.path, self.run = path, run
        self.lock = threading.RLock()  # held while a read uses the connection, and to end it
        self._lease: AbstractContextManager[duckdb.DuckDBPyConnection] = lease(path)
        self.con = self._lease.__enter__()
        try:
            self.found = versions.begin_snapshot(self.con, path)
        except BaseException:
            self._lease.__exit__(None, None, None)
            raise
        self.ended = False
        self.used = time.monotonic()
        threading.Thread(target=self._watch, daemon=True, name="aims-run-snapshot").start()

    def end(self) -> None:
        with self.lock:
            if self.ended:
                return
            self.ended = True
            try:
                self.con.execute("ROLLBACK")  # a read: nothing to keep
            except duckdb.Error:
                pass  # the connection was closed under it (the file handed over): nothing left to end
            finally:
                self._lease.__exit__(None, None, None)

    def _watch(self) -> None:
        while not self.ended:
            time.sleep(_LOOK)
            if time.monotonic() - self.used > IDLE or turns.Waiting.anyone(self.path):
                self.end()


def for_run(path: str, session: Any, run: Any) -> Snapshot:
    """The snapshot of this run of `session` on `path` (begun by its first read), or a new one. `run` is an object
    that lives as long as the run and is compared by identity."""
    with _lock:
        found = _open.get(session)
    if found is not None and found.run is run and found.path == path and not found.ended:
        found.used = time.monotonic()
        return found
    if found is not None:
        found.end()
    fresh = Snapshot(path, run)
    with _lock:
        _open[session] = fresh
        while len(_open) > _MAX_SESSIONS:  # sessions that ended long ago
            _open.pop(next(iter(_open))).end()
    return fresh


def end(session: Any) -> None:
    """End the session's snapshot (before it writes: the reads after the write begin a new one and see it)."""
    with _lock:
        found = _open.pop(session, None)
    if found is not None:
        found.end()
