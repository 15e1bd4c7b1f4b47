"""Sessions of one server saving at once (threads sharing the leased connection, as Streamlit's sessions do), and
a process waiting for the file: nothing is lost, the later write wins, every change is in the history."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from pathlib import Path

from dashboard import store, writes
from dashboard.db import _LINGERING, connect, lease
from dashboard.rounds import start_assessment
from tests.principals import ADMIN

ROOT = Path(__file__).resolve().parents[2]


def _round(path: Path, catalog) -> int:
    with connect(path) as con:
        made, _ = start_assessment(con, unit="Ops", label="R1", scope="clauses", catalog_version=catalog.version,
                                   assessed_on=dt.date(2026, 1, 1), principal=ADMIN, by="lead")
    return made.id


def test_sessions_saving_the_same_items_at_once_lose_nothing(db_path: Path, catalog) -> None:
    assessment = _round(db_path, catalog)
    items = ["4.1", "4.2", "4.3"]  # rows that do not exist yet: the first saves race to create them
    changed: list[tuple[str, str, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def session(number: int) -> None:
        start.wait()
        for turn in range(8):
            for item in items:
                value = (number + turn) % 6
                try:
                    if writes.run(str(db_path), ADMIN, store.update_response, assessment, item, {"maturity": value},
                                  by=f"session {number}"):
                        with lock:
                            changed.append((item, f"session {number}", value))
                except BaseException as exc:  # any failure is a lost answer
                    errors.append(exc)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with lease(str(db_path)) as con:
        log = con.execute("""SELECT item_id, changed_by, new_value FROM change_log
                             WHERE assessment_id = ? AND field = 'maturity' ORDER BY id""", [assessment]).fetchall()
        stored = dict(con.execute("SELECT item_id, maturity FROM response WHERE assessment_id = ?", [assessment]).fetchall())
        created = con.execute("SELECT count(*) FROM response WHERE assessment_id = ?", [assessment]).fetchall()[0][0]
    assert created == 3
    # every save that changed a value is in the history, once; the stored value is the last one logged
    assert sorted(log) == sorted((item, by, str(value)) for item, by, value in changed)
    for item in items:
        last = [value for i, _, value in log if i == item]
        assert last and str(stored[item]) == last[-1]


def test_a_process_waiting_for_the_file_gets_it_when_the_holder_is_idle(db_path: Path, catalog) -> None:
    """The dashboard keeps the file open half a second after each use; a waiting process (the command line, a
    second server) is handed the file at the dashboard's next idle moment, not after it stops working."""
    assessment = _round(db_path, catalog)
    code = (f"import time; from dashboard.db import connect; t = time.monotonic()\n"
            f"with connect({str(db_path)!r}, wait=20) as con: con.execute('SELECT 1').fetchall()\n"
            f"print(round(time.monotonic() - t, 2))")
    stop = threading.Event()

    def busy_dashboard() -> None:  # a save every 50 ms: never idle for the 0.5 s linger
        value = 0
        while not stop.is_set():
            with lease(str(db_path)) as con:
                store.update_response(con, assessment, "4.1", {"maturity": value % 6}, by="dashboard", principal=ADMIN)
            value += 1
            time.sleep(0.05)

    worker = threading.Thread(target=busy_dashboard)
    worker.start()
    try:
        time.sleep(0.5)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                              check=False)
    finally:
        stop.set()
        worker.join()
        _LINGERING.close_all()
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip().splitlines()[-1]) < 10  # before: it waited until AIMS_LOCK_WAIT_SECONDS ran out
