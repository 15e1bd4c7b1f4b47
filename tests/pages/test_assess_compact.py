"""The compact questionnaire (one line per item) saves exactly what the full editor saves; the mode lasts for the
session; the result shows the time spent, measured from the saved answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import store
from dashboard.db import connect
from dashboard.store import RESPONSE_FIELDS
from etl.importer import import_bytes
from tests.pages.test_assess import CATALOG, _app, _responses, _start
from tests.principals import ADMIN


def _compact(app: AppTest) -> AppTest:
    app.toggle(key="compact_toggle").set_value(True).run()
    assert not app.exception, app.exception
    return app


def _stored(db: Path, assessment_id: int) -> tuple[list[tuple], list[tuple]]:
    """What an assessment holds, without its id: the responses and their change log."""
    with connect(db) as con:
        answers = con.execute(
            f"""SELECT item_id, {', '.join(RESPONSE_FIELDS)}, changed_by, created_by, created_source
                FROM response WHERE assessment_id = ? ORDER BY item_id""", [assessment_id]).fetchall()
        log = con.execute(
            """SELECT item_id, field, old_value, new_value, changed_by, source FROM change_log
               WHERE assessment_id = ? AND item_id IS NOT NULL ORDER BY ALL""", [assessment_id]).fetchall()
    return answers, log


def test_answering_in_compact_mode_saves_the_same_as_the_full_editor(empty_db: Path) -> None:
    full_id = _start(empty_db, unit="Treasury", scope="both")
    compact_id = _start(empty_db, unit="Payments", scope="both")

    full = _app(assessment=full_id)
    full.radio(key=f"a{full_id}:4.1:maturity").set_value(2).run()
    full.text_area(key=f"a{full_id}:4.1:evidence").input("Context register v2 on SharePoint").run()
    full.radio(key=f"a{full_id}:4.2:maturity").set_value(0).run()
    full.selectbox(key=f"section_{full_id}").set_value("A.10").run()
    full.toggle(key=f"a{full_id}:A.10.4:applicable").set_value(False).run()
    full.text_area(key=f"a{full_id}:A.10.4:justification").input("We sell no AI system to customers.").run()
    full.radio(key=f"a{full_id}:A.10.2:maturity").set_value(4).run()
    assert not full.exception, full.exception

    app = _compact(_app(assessment=compact_id))
    assert not app.radio, "compact mode draws no full editor"
    app.segmented_control(key=f"a{compact_id}:4.1:maturity:compact").set_value(2).run()
    app.text_input(key=f"a{compact_id}:4.1:evidence:compact").input("Context register v2 on SharePoint").run()
    app.segmented_control(key=f"a{compact_id}:4.2:maturity:compact").set_value(0).run()
    app.selectbox(key=f"section_{compact_id}").set_value("A.10").run()
    app.toggle(key=f"a{compact_id}:A.10.4:applicable:compact").set_value(False).run()
    assert any("justification is required" in e.value for e in app.error)
    app.text_input(key=f"a{compact_id}:A.10.4:justification:compact").input("We sell no AI system to customers.").run()
    assert not any("justification is required" in e.value for e in app.error)
    app.segmented_control(key=f"a{compact_id}:A.10.2:maturity:compact").set_value(4).run()
    assert not app.exception, app.exception

    full_answers, full_log = _stored(empty_db, full_id)
    compact_answers, compact_log = _stored(empty_db, compact_id)
    assert len(full_answers) == 4 and len(full_log) == 6
    assert compact_answers == full_answers
    assert compact_log == full_log
    with connect(empty_db) as con:
        assert con.execute("SELECT count(*) FROM change_log WHERE source = 'form' AND assessment_id = ? "
                           "AND changed_by = 'Ada Lovelace'", [compact_id]).fetchall()[0][0] == 6


def test_the_level_is_one_click_with_each_levels_rubric_line_on_hover(empty_db: Path) -> None:
    assessment_id = _start(empty_db)
    app = _compact(_app(assessment=assessment_id))
    item = CATALOG.by_id["4.1"]
    key = f"a{assessment_id}:4.1:maturity:compact"
    level = app.segmented_control(key=key)
    assert level.options == ["0", "1", "2", "3", "4", "5"] and level.value is None  # six buttons, nothing chosen yet
    title = next(m for m in app.markdown if m.value.startswith("**4.1**"))
    for value in range(6):
        assert item.rubric[value] in title.proto.help  # the ? beside the title holds every level's line
        assert item.rubric[value] in level.proto.help  # and so does the level's own help
    assert item.questions[0] in title.proto.help

    app.segmented_control(key=key).set_value(3).run()  # one click saves the level
    assert not app.exception, app.exception
    assert _responses(empty_db, assessment_id).loc["4.1", "maturity"] == 3
    assert app.segmented_control(key=key).value == 3
    assert any(m.value == "**3** Defined" for m in app.markdown), "the chosen level's name is shown beside it"

    app.segmented_control(key=key).set_value(None).run()  # the chosen level clicked again: not assessed
    assert not app.exception, app.exception
    assert pd.isna(_responses(empty_db, assessment_id).loc["4.1", "maturity"])
    assert app.segmented_control(key=key).value is None
    assert not any(m.value == "**3** Defined" for m in app.markdown)
    with connect(empty_db) as con:
        logged = con.execute("SELECT old_value, new_value FROM change_log WHERE assessment_id = ? AND item_id = '4.1' "
                             "AND field = 'maturity' ORDER BY changed_at, old_value NULLS FIRST",
                             [assessment_id]).fetchall()
    assert logged == [(None, "3"), ("3", None)]


def test_the_mode_lasts_for_the_session(empty_db: Path) -> None:
    assessment_id = _start(empty_db)
    app = _app(assessment=assessment_id)
    assert app.radio(key=f"a{assessment_id}:4.1:maturity")  # the full editor by default
    _compact(app)
    app.button_group(key=f"view_{assessment_id}").set_value("Result").run()
    app.button_group(key=f"view_{assessment_id}").set_value("Answer").run()
    assert app.toggle(key="compact_toggle").value
    assert not app.radio and app.segmented_control(key=f"a{assessment_id}:4.1:maturity:compact")
    app.switch_page("pages/overview.py").run()
    app.switch_page("pages/assess.py").run()
    assert app.toggle(key="compact_toggle").value and not app.radio
    app.toggle(key="compact_toggle").set_value(False).run()
    assert app.radio(key=f"a{assessment_id}:4.1:maturity")


def test_compact_mode_is_read_only_without_a_name_and_keeps_multi_line_evidence(empty_db: Path) -> None:
    assessment_id = _start(empty_db)
    with connect(empty_db) as con:
        store.update_response(con, assessment_id, "4.2", {"evidence": "Register\nMinutes of 2026-02-01"}, by="setup", principal=ADMIN)
    app = _compact(_app(assessment=assessment_id, name=None))
    assert app.segmented_control(key=f"a{assessment_id}:4.1:maturity:compact").disabled
    assert app.text_input(key=f"a{assessment_id}:4.1:evidence:compact").disabled
    kept = app.text_area(key=f"a{assessment_id}:4.2:evidence:compact")  # a one-line field would drop the line break
    assert kept.value == "Register\nMinutes of 2026-02-01"


def test_the_result_shows_the_time_spent(empty_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assessment_id = _start(empty_db)
    start, clock = dt.datetime(2026, 3, 2, 9, 0), store._now
    with connect(empty_db) as con:
        for minute, item in ((0, "4.1"), (2, "4.2"), (5, "4.3"), (40, "4.4"), (41, "5.1")):
            monkeypatch.setattr(store, "_now", lambda m=minute: start + dt.timedelta(minutes=m))
            store.update_response(con, assessment_id, item, {"maturity": 2}, by="Ada", principal=ADMIN)
    monkeypatch.setattr(store, "_now", clock)
    app = _app(assessment=assessment_id)
    app.button_group(key=f"view_{assessment_id}").set_value("Result").run()
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["Active time"], metrics["Elapsed"], metrics["Answers saved"]) == ("6 min", "41 min", "5")
    per_item = app.dataframe[-1].value  # the last table: time per item, longest first
    # 4.3 took 3 min, 4.2 2 min, 5.1 1 min; 4.1 opened the sitting and 4.4 came after a 35-minute pause
    assert per_item["item_id"].tolist()[:3] == ["4.3", "4.2", "5.1"]
    assert per_item["active"].tolist() == ["3 min", "2 min", "1 min", "0 min", "0 min"]


def test_an_imported_round_has_no_time_spent(empty_db: Path) -> None:
    with connect(empty_db) as con:
        result = import_bytes(con, "ops.csv", b"unit,assessment,assessed_on,item_id,maturity\nOps,R1,2026-01-10,4.1,2\n",
                              principal=ADMIN, by="importer")
        assert result.status == "imported", result.problems
        assessment_id = store.get_assessment(con, unit="Ops", label="R1").id
    app = _app(assessment=assessment_id)
    app.button_group(key=f"view_{assessment_id}").set_value("Result").run()
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["Active time"], metrics["Elapsed"], metrics["Answers saved"]) == ("—", "—", "0")
    assert any("not time spent" in c.value for c in app.caption)


def test_answers_show_after_changing_section_or_mode(empty_db: Path) -> None:
    assessment_id = _start(empty_db)
    app = _app(assessment=assessment_id)
    full, compact = f"a{assessment_id}:4.1:evidence", f"a{assessment_id}:4.1:evidence:compact"
    app.text_area(key=full).input("Context register v2").run()
    app.selectbox(key=f"section_{assessment_id}").set_value("5").run()
    app.selectbox(key=f"section_{assessment_id}").set_value("4").run()
    assert app.text_area(key=full).value == "Context register v2"  # Streamlit forgot the undrawn widget's value
    _compact(app)
    assert app.text_input(key=compact).value == "Context register v2"
    app.text_input(key=compact).input("Context register v3").run()
    app.segmented_control(key=f"a{assessment_id}:4.1:maturity:compact").set_value(3).run()
    app.toggle(key="compact_toggle").set_value(False).run()
    assert app.text_area(key=full).value == "Context register v3"
    assert app.radio(key=f"a{assessment_id}:4.1:maturity").value == 3


def test_a_returned_rounds_comments_show_beside_the_items_in_compact_mode(empty_db: Path) -> None:
    from dashboard import campaigns, review

    with connect(empty_db) as con:
        store.ensure_unit(con, "Treasury")
        launched = campaigns.launch(con, name="AIMS 2026", units=["Treasury"], scope="clauses", label="2026-Q1",
                                    assessed_on=dt.date(2026, 2, 1), due_on=None, principal=ADMIN, by="lead")
        aid = launched.assessment_ids[0]
        for item in (i for i in CATALOG.items if i.kind == "clause"):
            store.update_response(con, aid, item.id, {"maturity": 2}, by="setup", principal=ADMIN)
        review.submit(con, aid, principal=ADMIN, by="setup")
        review.return_round(con, aid, comments={"4.2": "Name the interested parties."}, principal=ADMIN, by="lead")
    app = _compact(_app(assessment=aid))
    assert any("Name the interested parties" in w.value for w in app.warning), [w.value for w in app.warning]
