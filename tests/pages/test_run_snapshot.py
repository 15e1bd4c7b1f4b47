"""One state per page run (dashboard/run_snapshot.py behind ui.query): the reads of one run agree even when an
answer is saved by another session in the middle of it, the next run shows that answer, a write of the session's
own is seen by the reads after it, and the run's transaction ends soon after the run so the file is free again."""

from __future__ import annotations

import os
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import run_snapshot, scoring, store, versions
from dashboard.db import connect
from tests.principals import ADMIN


def _script() -> None:  # a page: one figure read, another session's answer saved, the same figure read again
    import os

    import streamlit as st

    from dashboard import access, store, ui
    from dashboard.db import lease

    target, item = int(os.environ["SNAP_TARGET"]), os.environ["SNAP_ITEM"]
    first = ui.query("item_scores", [target])
    level = 5 if first.loc[first["item_id"] == item, "maturity"].iloc[0] != 5 else 1
    if os.environ.get("SNAP_MODE") == "other":  # another session (a thread of this server) saves meanwhile
        with lease(ui.db_path()) as con:
            store.update_response(con, target, item, {"maturity": level}, by="another session",
                                  principal=access.local_admin())
    else:  # this session saves: what it reads after its own write shows it
        ui.write(store.update_response, target, item, {"maturity": level}, by="this session")
    second = ui.query("item_scores", [target])
    for name, rows in (("first", first), ("second", second)):
        st.text(f"{name}={rows.loc[rows['item_id'] == item, 'maturity'].iloc[0]}")
    st.text(f"saved={level}")


def _shown(app: AppTest) -> dict[str, int]:
    return {t.value.split("=")[0]: int(float(t.value.split("=")[1])) for t in app.text}


def _target(path: Path) -> int:
    """A latest round, reopened as a draft (a round being answered)."""
    with connect(path) as con:
        picks = scoring.select_assessments(con, principal=ADMIN)
        target = versions.picked_ids([picks], {})[0]
        store.set_status(con, target, "draft", by="lead")
    return target


def _run(path: Path, monkeypatch, item: str, mode: str) -> AppTest:
    """The page above run once on a fresh round of `path`, its second item's save made by `mode` ("other": another
    session, "own": this one)."""
    versions.forget()
    monkeypatch.setenv("SNAP_TARGET", str(_target(path)))
    monkeypatch.setenv("SNAP_ITEM", item)
    monkeypatch.setenv("SNAP_MODE", mode)
    app = AppTest.from_function(_script, default_timeout=60).run()
    assert not app.exception, app.exception
    return app


def test_the_reads_of_one_run_agree_while_another_session_saves(demo_db: Path, monkeypatch) -> None:
    app = _run(demo_db, monkeypatch, "4.1", "other")
    shown = _shown(app)
    assert shown["first"] == shown["second"] != shown["saved"]  # one state for the whole run: the one it began with
    saved = shown["saved"]
    app.run()  # the next run begins a new snapshot: the answer saved meanwhile is there
    assert _shown(app)["first"] == saved


def test_a_write_of_the_session_is_seen_by_the_reads_after_it(demo_db: Path, monkeypatch) -> None:
    shown = _shown(_run(demo_db, monkeypatch, "4.2", "own"))
    assert shown["first"] != shown["second"] == shown["saved"]


def test_the_run_snapshot_ends_after_the_run_and_frees_the_file(demo_db: Path, monkeypatch) -> None:
    _run(demo_db, monkeypatch, "4.3", "other")
    open_now = [s for s in run_snapshot._open.values() if s.path == os.environ["AIMS_DB"]]
    assert open_now and not any(s.ended for s in open_now)  # the run's snapshot is still there right after it
    time.sleep(run_snapshot.IDLE + 0.5)
    assert all(s.ended for s in open_now)  # ... and ended once idle
    time.sleep(1.0)  # the lease lingers half a second more, then the file is closed: another process may open it
    with connect(demo_db, wait=5) as con:
        assert con.execute("SELECT count(*) FROM response").fetchall()[0][0] > 0
