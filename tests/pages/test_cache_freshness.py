"""Cached figures after a saved answer (dashboard/versions.py behind ui.query): the Overview and the Presentation
page show the new figures at once, never a stale one, and recompute only the parts of the changed unit."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dashboard import access, analytics, roadmap, scoring, store, versions
from dashboard.db import connect, lease
from tests.pages.apps import open_page
from tests.principals import ADMIN


@pytest.fixture(autouse=True)
def _nothing_remembered() -> None:
    """Parts are keyed by content: another test's copy of the demo data would lend its parts to this one."""
    versions.forget()


def _save(path: Path, assessment_id: int, item_id: str, changes: dict) -> None:
    """What the questionnaire's save does (ui.write): a leased connection, the access check, the store."""
    with lease(str(path)) as con:
        access.authorise_write(con, ADMIN, "update_response", [assessment_id])
        assert store.update_response(con, assessment_id, item_id, changes, by="assessor", principal=ADMIN)


def _latest(path: Path) -> tuple[list, int]:
    """The Latest-per-unit picks, with one latest round reopened as a draft (a round being answered)."""
    with connect(path) as con:
        picks = scoring.select_assessments(con, principal=ADMIN)
        target = picks[0] if isinstance(picks[0], int) else picks[0][0]
        store.set_status(con, target, "draft", by="lead")
    return picks, target


def _counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[object]:
    calls: list[object] = []
    real = getattr(module, name)

    def counted(con: duckdb.DuckDBPyConnection, picks: list, **kwargs: object) -> object:
        calls.append(tuple(picks))
        return real(con, picks, **kwargs)

    counted.__module__, counted.__qualname__ = real.__module__, real.__qualname__
    monkeypatch.setattr(module, name, counted)
    return calls


def test_overview_shows_a_saved_answer_at_once_and_reuses_the_earlier_rounds(demo_db: Path, monkeypatch) -> None:
    picks, target = _latest(demo_db)
    summaries = _counting(monkeypatch, analytics, "organisation_summary")
    app = open_page("pages/overview.py")
    shown = {m.label: m.value for m in app.metric}
    assert len(summaries) == 3  # now, and the units' latest and earlier rounds compared
    app.run()
    assert len(summaries) == 3  # a rerun that changed nothing recomputes nothing

    summaries.clear()
    _save(demo_db, target, "4.1", {"maturity": 0})
    _save(demo_db, target, "4.2", {"maturity": 0})
    app.run()
    assert not app.exception, app.exception
    assert len(summaries) == 2  # now and the latest rounds' side; the earlier rounds' side was reused
    assert all(target in {p if isinstance(p, int) else p[0] for p in side} for side in summaries)
    with connect(demo_db) as con:
        summary, _ = analytics.summary_change(con, picks)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Clause maturity (4-10)"] == f"{summary['clause_maturity']:.2f}"  # the new figure, not a stale one
    assert metrics["Open gaps"] == str(summary["open_gaps"])
    assert metrics != shown


def test_presentation_recomputes_only_the_unit_that_answered(demo_db: Path, monkeypatch) -> None:
    picks, target = _latest(demo_db)
    plans = _counting(monkeypatch, roadmap, "_unit_plan")
    app = open_page("pages/present.py")
    assert len(plans) == 1 and len(plans[0]) == len(picks)  # every unit's part, in one call

    plans.clear()
    _save(demo_db, target, "4.1", {"maturity": 0})
    app.run()
    assert not app.exception, app.exception
    assert [[p if isinstance(p, int) else p[0] for p in part] for part in plans] == [[target]]
    plans.clear()
    with connect(demo_db) as con:
        themes = roadmap.organisation_plan(con, picks).head(5)
    shown = " ".join(m.value for m in app.markdown)
    for title in themes["title"]:
        assert title in shown  # the top themes as they stand after the answer


def test_a_file_replaced_by_the_command_line_is_read_again(demo_db: Path, tmp_path: Path) -> None:
    """Another process's write (here: a second connection after the dashboard's lease was released) moves the
    change token; the fingerprints are taken again and the Overview follows."""
    app = open_page("pages/overview.py")
    before = {m.label: m.value for m in app.metric}["Open gaps"]
    versions.forget()  # as after a restart: nothing remembered but st.cache_data
    with connect(demo_db, wait=10) as con:
        picks = scoring.select_assessments(con, principal=ADMIN)
        target = picks[0] if isinstance(picks[0], int) else picks[0][0]
        store.set_status(con, target, "draft", by="lead")
        store.update_response(con, target, "4.1", {"maturity": 0}, by="cli", principal=ADMIN)
        expected = analytics.summary_change(con, picks)[0]["open_gaps"]
    app.run()
    assert {m.label: m.value for m in app.metric}["Open gaps"] == str(expected) != before
