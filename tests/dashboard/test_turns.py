"""Processes of this program take turns on one database file (`dashboard/turns.py`): served in the order they
asked, each wait bounded and announced, the file handed over by an idle holder at once, and an open repeated when
DuckDB read the file short or the file changed while DuckDB opened it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from dashboard import db
from dashboard.db import DatabaseBusy, connect, lease
from tests.processes import stop_process as _stop

ROOT = Path(__file__).resolve().parents[2]

# a process of this program: holds the file (through connect, so it takes its turn) until told to let go
_HOLDER = """
import sys
from dashboard.db import connect
with connect(sys.argv[1]) as con:
    print("holding", flush=True)
    sys.stdin.readline()
"""

# a process of this program asking for the file: says when it queues, then when it got the file
_ASKER = """
import sys, time
from dashboard.db import connect
with connect(sys.argv[1], wait=60, on_wait=lambda m: print("queued", flush=True)) as con:
    print("got", time.time(), flush=True)
    time.sleep(0.15)
"""


def _start(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_process(process: subprocess.Popen) -> None:
    _stop(process)
    if process.stdin is not None:
        process.stdin.close()


def _let_go(holder: subprocess.Popen) -> None:
    assert holder.stdin is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()


def _line(process: subprocess.Popen) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line, process.stderr.read() if process.stderr else "no output"
    return line


def test_waiting_processes_are_served_in_the_order_they_asked(db_path: Path) -> None:
    """Five processes queue one after the other behind a holder; they get the file in that order (retrying the
    open, as before turns, served them in a random order: one could starve)."""
    with connect(db_path):
        pass  # create and migrate the file first
    holder = _start(_HOLDER, str(db_path))
    askers: list[subprocess.Popen] = []
    try:
        assert _line(holder) == "holding"
        for _ in range(5):
            askers.append(_start(_ASKER, str(db_path)))
            assert _line(askers[-1]) == "queued"  # in the queue before the next one asks
            time.sleep(0.2)
        _let_go(holder)
        got = []
        for asker in askers:
            word, at = _line(asker).split()
            assert word == "got"
            got.append(float(at))
            asker.wait(timeout=60)
            assert asker.returncode == 0
    finally:
        for process in [holder, *askers]:
            stop_process(process)
    assert got == sorted(got)


def test_a_wait_for_the_turn_is_bounded_and_names_the_holder(db_path: Path) -> None:
    with connect(db_path):
        pass
    holder = _start(_HOLDER, str(db_path))
    try:
        assert _line(holder) == "holding"
        messages: list[str] = []
        started = time.monotonic()
        with pytest.raises(DatabaseBusy) as info, connect(db_path, wait=0.5, on_wait=messages.append):
            pass
        assert time.monotonic() - started < 2.0
        assert len(messages) == 1 and "waiting up to 0.5 s" in messages[0]
        assert f"process {holder.pid}" in messages[0] and f"process {holder.pid}" in str(info.value)
        _let_go(holder)
        holder.wait(timeout=30)
        started = time.monotonic()  # the wait given up left nothing behind: the file is free at once
        with connect(db_path, wait=5) as con:
            assert con.execute("SELECT count(*) FROM catalog_item").fetchall()[0][0] > 0
        assert time.monotonic() - started < 2.0
    finally:
        stop_process(holder)


def test_an_idle_lingering_holder_hands_the_file_over_at_once(db_path: Path) -> None:
    """A dashboard that keeps the file open, idle, for 5 s gives it to a waiting process at once."""
    with lease(str(db_path), linger=5.0) as con:
        con.execute("SELECT 1").fetchall()
    code = (f"import time; from dashboard.db import connect; t = time.monotonic()\n"
            f"with connect({str(db_path)!r}, wait=20) as con: con.execute('SELECT 1').fetchall()\n"
            f"print(round(time.monotonic() - t, 2))")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                              check=False)
    finally:
        db._LINGERING.close_all()
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip().splitlines()[-1]) < 2.5  # not the 5 s linger


def test_threads_of_one_process_share_its_turn(db_path: Path) -> None:
    """A second connection of the same process does not queue behind the first one (that would never end)."""
    with connect(db_path, wait=1) as first:
        done: list[int] = []
        thread = threading.Thread(target=lambda: done.append(_count_items(db_path)))
        thread.start()
        thread.join(timeout=10)
        assert done and done[0] == first.execute("SELECT count(*) FROM catalog_item").fetchall()[0][0]


def _count_items(path: Path) -> int:
    with connect(path, wait=1) as con:
        return con.execute("SELECT count(*) FROM catalog_item").fetchall()[0][0]


# --- an open repeated: DuckDB read the file short, or the file changed while DuckDB opened it ----------


def _short_read(real, failures: int, calls: list[str]):
    def fake(path: str, *args, **kwargs):
        calls.append(path)
        if len(calls) <= failures:
            raise duckdb.IOException(f'IO Error: Could not read enough bytes from file "{path}": attempted to read '
                                     "262144 bytes from location 274432")
        return real(path, *args, **kwargs)
    return fake


def test_an_open_that_read_the_file_short_is_repeated(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with connect(db_path):
        pass
    calls: list[str] = []
    monkeypatch.setattr(db.duckdb, "connect", _short_read(duckdb.connect, 1, calls))
    with connect(db_path, wait=1) as con:
        assert con.execute("SELECT count(*) FROM catalog_item").fetchall()[0][0] > 0
    assert len(calls) == 2


def test_a_file_that_keeps_reading_short_is_an_error_after_a_few_tries(db_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with connect(db_path):
        pass
    calls: list[str] = []
    monkeypatch.setattr(db.duckdb, "connect", _short_read(duckdb.connect, 100, calls))
    with pytest.raises(duckdb.IOException, match="Could not read enough bytes"), connect(db_path, wait=1):
        pass
    assert len(calls) == db._OPEN_TRIES + 1
    monkeypatch.undo()
    with connect(db_path, wait=1):  # and the turn was given back
        pass


def test_an_open_during_which_the_file_changed_is_repeated(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The header DuckDB read before it locked the file may be that of before another program's checkpoint."""
    with connect(db_path):
        pass
    real, calls = duckdb.connect, []

    def written_meanwhile(path: str, *args, **kwargs):
        calls.append(path)
        if len(calls) == 1:  # another program writes the file while this one opens it
            info = os.stat(path)
            os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(db.duckdb, "connect", written_meanwhile)
    with connect(db_path, wait=1):
        pass
    assert len(calls) == 2


def test_closing_every_lingering_file_waits_for_a_call_still_running_on_a_cursor(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`close_all` (at exit, between tests) may find a cursor of the file's connection in a call (a page run's
    snapshot being rolled back in its watcher thread): DuckDB refuses that close, so it is tried again until the
    call is over, and the file is closed."""
    monkeypatch.setattr(db, "_BUSY_CLOSE", 60.0)  # however slow the machine is at counting
    path = str(db_path)
    with lease(path):
        pass  # the file now lingers, open
    root = db._LINGERING._open[path][0]
    cursor = root.cursor()
    done: list[int] = []
    busy = threading.Thread(target=lambda: done.append(
        cursor.execute("SELECT count(*) FROM range(300000000) t(i) WHERE i % 7 = 3").fetchall()[0][0]))
    busy.start()
    time.sleep(0.05)
    assert busy.is_alive()  # the count is still running on the cursor
    db._LINGERING.close_all()
    busy.join()
    assert done == [len(range(3, 300000000, 7))] and path not in db._LINGERING._open
    with pytest.raises(duckdb.ConnectionException):
        root.execute("SELECT 1")
