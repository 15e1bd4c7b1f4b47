"""The Roadmap page: phased actions with reasons, the organisation view, tracked edits, and its downloads."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from dashboard import roadmap, scoring
from dashboard.db import connect, rows
from etl import roadmap_exports
from tests.pages.conftest import APP
from tests.principals import ADMIN

NAME_KEY = "assessor_name_input"
EDITOR = "roadmap_editor_0_0"  # per-unit view, before any save


def _app(name: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/roadmap.py").run()
    assert not app.exception, app.exception
    if name:
        app.sidebar.text_input(key=NAME_KEY).input(name).run()
        assert not app.exception, app.exception
    return app


def _latest(path: Path) -> tuple[list[int], Any, Any]:
    with connect(path) as con:
        ids = scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST)
        return ids, roadmap.plan(con, ids), roadmap.organisation_plan(con, ids)


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the page hands to its download buttons, by file name: bytes, or the callable run on click."""
    captured: dict[str, Any] = {}
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def record(self: MediaFileManager, data: Any, mimetype: str, coordinates: str, file_name: str | None = None,
               is_for_static_download: bool = False) -> str:
        captured[file_name or coordinates] = data
        return add(self, data, mimetype, coordinates, file_name, is_for_static_download)

    def record_deferred(self: MediaFileManager, data: Callable[[], Any], mimetype: str | None, coordinates: str,
                        file_name: str | None = None, **kwargs: Any) -> str:
        captured[file_name or coordinates] = data
        return add_deferred(self, data, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", record)
    monkeypatch.setattr(MediaFileManager, "add_deferred", record_deferred)
    return captured


def test_page_shows_prioritised_phased_actions_with_reasons(demo_db: Path) -> None:
    _, plan, _ = _latest(demo_db)
    app = _app()
    metrics = {m.label: m.value for m in app.metric}
    for phase in roadmap.PHASES:
        assert metrics[phase.label] == str(int((plan["phase"] == phase.name).sum()))
    table = app.data_editor[0].value
    assert len(table) == len(plan)
    assert table[["unit", "item_id", "phase", "rank"]].values.tolist() == plan[["unit", "item_id", "phase", "rank"]].values.tolist()
    assert table["why"].tolist() == plan["why"].tolist()
    assert table["why"].str.contains("score").all()
    assert app.get("plotly_chart"), "the timeline chart is missing"
    assert "Type your name" in app.info[0].value  # read-only until the person says who they are
    assert not [b for b in app.button if b.key == "roadmap_save"]


def test_organisation_view_merges_units(demo_db: Path) -> None:
    _, _, merged = _latest(demo_db)
    app = _app()
    app.toggle(key="roadmap_by_item").set_value(True).run()
    assert not app.exception, app.exception
    table = app.data_editor[0].value
    assert table["item_id"].tolist() == merged["item_id"].tolist()
    row = table.set_index("item_id").loc["A.5.2"]
    assert row["units_below"] == merged.set_index("item_id").loc["A.5.2", "units_below"]
    assert row["units"].count(", ") == row["units_below"] - 1


def test_edits_are_stored_with_the_change_log(demo_db: Path) -> None:
    _, plan, _ = _latest(demo_db)
    app = _app("Dana Lee")
    app.session_state[EDITOR] = {"edited_rows": {0: {"status": "done", "owner": "Central AI Office"},
                                                 1: {"due_date": "2027-03-31"}},
                                 "added_rows": [], "deleted_rows": []}
    app.run()
    save = next(b for b in app.button if b.key == "roadmap_save")
    assert save.label == "Save 2 changed row(s)" and not save.disabled
    save.click().run()
    assert not app.exception, app.exception
    first, second = plan.iloc[0], plan.iloc[1]
    with connect(demo_db) as con:
        log = rows(con, "SELECT assessment_id, item_id, field, new_value, changed_by, source FROM change_log "
                        "WHERE field LIKE 'action_%' ORDER BY id")
        after = roadmap.plan(con, scoring.select_assessments(con, principal=ADMIN)).set_index(["unit", "item_id"])
    assert log == [
        (first["assessment_id"], first["item_id"], "action_status", "done", "Dana Lee", "roadmap"),
        (first["assessment_id"], first["item_id"], "action_owner", "Central AI Office", "Dana Lee", "roadmap"),
        (second["assessment_id"], second["item_id"], "action_due_date", "2027-03-31", "Dana Lee", "roadmap"),
    ]
    assert after.loc[(first["unit"], first["item_id"]), "status"] == "done"
    assert str(after.loc[(second["unit"], second["item_id"]), "due_date"]) == "2027-03-31"
    assert app.success[0].value == "Saved: 2 action(s) changed, recorded in the change log as Dana Lee."
    assert app.metric[3].value == f"{1 / len(plan):.0%}"  # Done
    assert app.data_editor[0].value["status"].iloc[0] == "done"


def test_downloads_are_the_command_line_exports(demo_db: Path, downloads: dict[str, Any]) -> None:
    ids, plan, _ = _latest(demo_db)
    app = _app()
    assert not app.exception
    with connect(demo_db) as con:
        expected_csv = roadmap_exports.roadmap_file(con, ids, "csv")
        soa_id = int(app.selectbox(key="roadmap_soa_pick").value)
        expected_soa = roadmap_exports.soa_file(con, soa_id, "csv")
    # the files are built on click (callables), outside the script run
    assert callable(downloads["roadmap.csv"]) and callable(downloads["roadmap.xlsx"])
    assert downloads["roadmap.csv"]() == expected_csv
    sheet = openpyxl.load_workbook(io.BytesIO(downloads["roadmap.xlsx"]()))["Roadmap"]
    assert [r[5] for r in sheet.iter_rows(min_row=2, values_only=True)] == plan["item_id"].tolist()
    assert downloads[f"soa-{soa_id}.csv"]() == expected_soa
    page = downloads["aims-report.html"]()  # built on click, outside the script run
    assert page.startswith("<!DOCTYPE html>") and "Roadmap by phase" in page
