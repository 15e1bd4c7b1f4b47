"""Running an assessment in the dashboard: create, answer, resume, N/A justification, finalise, copy a round."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import roadmap, rounds, scoring, store
from dashboard.catalog import load_catalog
from dashboard.db import connect
from etl.cli import main as cli
from tests.pages.conftest import APP
from tests.principals import ADMIN

CATALOG = load_catalog()


def _app(page: str = "pages/assess.py", *, name: str | None = "Ada Lovelace", assessment: int | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    if assessment is not None:
        app.query_params["assessment"] = str(assessment)
    app.run()
    app.switch_page(page).run()
    if name:
        app.sidebar.text_input(key="assessor_name_input").input(name).run()
    assert not app.exception, app.exception
    return app


def _start(db: Path, unit: str = "Treasury", scope: str = "clauses", label: str = "2026-Q4", copy: bool = False) -> int:
    with connect(db) as con:
        created, _ = rounds.start_assessment(con, unit=unit, label=label, scope=scope, catalog_version=CATALOG.version,
                                            assessed_on=None, principal=ADMIN, by="setup", copy_previous=copy)
    return created.id


def _responses(db: Path, assessment_id: int):
    with connect(db) as con:
        return store.responses(con, principal=ADMIN, assessment_ids=[assessment_id]).set_index("item_id")


def test_create_a_unit_and_start_an_assessment_through_the_form(empty_db: Path) -> None:
    app = _app("pages/units.py")
    form_inputs = {w.label: w for w in app.text_input}
    form_inputs["…or a new business unit"].input("Treasury")
    form_inputs["Round label"].input("2026-Q4")
    app.radio[0].set_value("clauses")
    app.button[0].click()  # the form's submit button
    app.run()
    assert not app.exception, app.exception
    assert "Started Treasury 2026-Q4" in app.success[0].value
    with connect(empty_db) as con:
        found = store.get_assessment(con, unit="treasury", label="2026-Q4")
        history = store.item_history(con, found.id, principal=ADMIN)
    assert found.scope == "clauses" and found.status == "draft" and found.source == "form"
    assert history.iloc[0]["changed_by"] == "Ada Lovelace"


def test_an_answer_is_saved_as_it_is_given_and_logged(empty_db: Path) -> None:
    assessment_id = _start(empty_db)
    app = _app(assessment=assessment_id)
    app.radio(key=f"a{assessment_id}:4.1:maturity").set_value(2).run()
    app.text_area(key=f"a{assessment_id}:4.1:evidence").input("Context register v2 on SharePoint").run()
    assert not app.exception, app.exception
    saved = _responses(empty_db, assessment_id).loc["4.1"]
    assert saved["maturity"] == 2 and saved["evidence"] == "Context register v2 on SharePoint"
    with connect(empty_db) as con:
        history = store.item_history(con, assessment_id, "4.1", principal=ADMIN)
    assert set(history["field"]) == {"created", "maturity", "evidence"}
    assert set(history["changed_by"]) == {"Ada Lovelace"}
    assert "Context register" in history[history["field"] == "evidence"].iloc[0]["new_value"]


def test_not_assessed_stays_distinct_from_level_zero(empty_db: Path) -> None:
    assessment_id = _start(empty_db)
    app = _app(assessment=assessment_id)
    app.radio(key=f"a{assessment_id}:4.1:maturity").set_value(0).run()
    with connect(empty_db) as con:
        scores = scoring.section_scores(con, [assessment_id]).set_index("section")
    assert scores.loc["4", "maturity"] == 0 and scores.loc["4", "assessed"] == 1
    assert pd_isna(scores.loc["5", "maturity"]) and scores.loc["5", "assessed"] == 0


def pd_isna(value: object) -> bool:
    return value != value  # NaN is the only value not equal to itself


def test_closing_the_tab_and_resuming_loses_nothing(empty_db: Path) -> None:
    assessment_id = _start(empty_db)
    first = _app(assessment=assessment_id)
    first.radio(key=f"a{assessment_id}:4.2:maturity").set_value(3).run()
    first.text_input(key=f"a{assessment_id}:4.2:owner").input("Head of Risk").run()
    del first  # the tab is closed
    second = _app(assessment=assessment_id, name="Ada Lovelace")  # a new browser session with the saved link
    assert second.radio(key=f"a{assessment_id}:4.2:maturity").value == 3
    assert second.text_input(key=f"a{assessment_id}:4.2:owner").value == "Head of Risk"


def test_two_people_see_each_others_answers_and_the_later_write_wins(empty_db: Path) -> None:
    assessment_id = _start(empty_db)
    ada = _app(assessment=assessment_id, name="Ada")
    bob = _app(assessment=assessment_id, name="Bob")
    key = f"a{assessment_id}:4.3:maturity"
    ada.radio(key=key).set_value(1).run()
    bob.run()
    assert bob.radio(key=key).value == 1  # Bob sees Ada's saved answer
    bob.radio(key=key).set_value(2).run()
    ada.run()
    assert ada.radio(key=key).value == 2
    with connect(empty_db) as con:
        history = store.item_history(con, assessment_id, "4.3", principal=ADMIN)
    # newest first, both recorded, after Ada's first answer created the response
    assert history[["field", "changed_by"]].values.tolist() == [["maturity", "Bob"], ["maturity", "Ada"], ["created", "Ada"]]


def test_without_a_name_the_questionnaire_is_read_only(empty_db: Path) -> None:
    assessment_id = _start(empty_db)
    app = _app(assessment=assessment_id, name=None)
    assert "Type your name" in app.warning[0].value
    assert app.radio(key=f"a{assessment_id}:4.1:maturity").disabled


def test_not_applicable_needs_a_justification_before_finalising(empty_db: Path) -> None:
    assessment_id = _start(empty_db, scope="annex_a")
    app = _app(assessment=assessment_id)
    app.selectbox(key=f"section_{assessment_id}").set_value("A.10").run()
    app.toggle(key=f"a{assessment_id}:A.10.4:applicable").set_value(False).run()
    assert not app.exception, app.exception
    assert any("justification is required" in e.value for e in app.error)
    with connect(empty_db) as con:
        assert "A.10.4" in " ".join(rounds.finalise_blockers(con, assessment_id))
    app.text_area(key=f"a{assessment_id}:A.10.4:justification").input("We sell no AI system to customers.").run()
    assert not any("justification is required" in e.value for e in app.error)
    saved = _responses(empty_db, assessment_id).loc["A.10.4"]
    assert not saved["applicable"] and saved["justification"].startswith("We sell no AI")
    app.button_group(key=f"view_{assessment_id}").set_value("Statement of Applicability").run()
    soa = app.dataframe[0].value.set_index("control")
    assert soa.loc["A.10.4", "applicable"] == "no" and soa.loc["A.10.4", "status"] == "not applicable"


def _answer_everything(db: Path, assessment_id: int, level: int = 2) -> None:
    with connect(db) as con:
        for item in CATALOG.items_of("clause"):
            store.update_response(con, assessment_id, item.id, {"maturity": level}, by="setup", principal=ADMIN)


def test_finalise_freezes_the_round(empty_db: Path) -> None:
    assessment_id = _start(empty_db)
    app = _app(assessment=assessment_id)
    app.button_group(key=f"view_{assessment_id}").set_value("Result").run()
    assert app.button(key="finalise").disabled  # nothing answered yet
    _answer_everything(empty_db, assessment_id)
    app.run()
    app.button(key="finalise").click().run()
    assert not app.exception, app.exception
    assert "read-only" in app.info[0].value
    assert "finalise" not in [b.key for b in app.button]  # nothing left to finalise
    app.button_group(key=f"view_{assessment_id}").set_value("Answer").run()
    assert app.radio(key=f"a{assessment_id}:4.1:maturity").disabled
    with connect(empty_db) as con:
        assert store.get_assessment(con, assessment_id).status == "final"
        with pytest.raises(store.StoreError, match="read-only"):
            store.update_response(con, assessment_id, "4.1", {"maturity": 4}, by="someone", principal=ADMIN)


def test_the_result_shows_level_gaps_and_agrees_with_the_export(empty_db: Path, tmp_path: Path) -> None:
    assessment_id = _start(empty_db)
    _answer_everything(empty_db, assessment_id, level=2)
    with connect(empty_db) as con:
        store.update_response(con, assessment_id, "5.2", {"maturity": 0}, by="setup", principal=ADMIN)
    app = _app(assessment=assessment_id)
    out = tmp_path / "scores.csv"
    assert cli(["--db", str(empty_db), "export", "scores", "--format", "csv", "--out", str(out)]) == 0
    exported = {r["section"]: r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))}
    app.button_group(key=f"view_{assessment_id}").set_value("Result").run()
    metrics = {m.label: m.value for m in app.metric}
    levels = app.dataframe[0].value.set_index("section")  # the Result view: levels, gaps, first roadmap items
    for section, row in exported.items():
        assert levels.loc[section, "maturity"] == pytest.approx(float(row["maturity"]))
        assert levels.loc[section, "level"] == row["level"]
    # section 5: (2×1 + 0×1.5 + 2×1.5) / 4 = 1.25 (5.2 weighs 1.5); clauses: (6×2 + 1.25) / 7 = 1.89
    assert metrics["Clause maturity"] == "1.89" and metrics["Clause level"] == "Initial"
    gaps = app.dataframe[1].value
    assert gaps.iloc[0]["item_id"] == "5.2" and gaps.iloc[0]["gap"] == 3  # the largest gap first
    assert len(gaps) == 32
    first_actions = app.dataframe[2].value
    with connect(empty_db) as con:
        planned = roadmap.plan(con, [assessment_id])
    assert first_actions["item_id"].tolist() == planned["item_id"].head(8).tolist()
    assert first_actions["why"].str.len().min() > 0  # each action says why it has its priority


def test_copy_from_the_previous_round(empty_db: Path) -> None:
    first = _start(empty_db, label="2026-Q1")
    with connect(empty_db) as con:
        store.update_response(con, first, "6.1.2", {"maturity": 3, "evidence": "Risk method v1"}, by="setup", principal=ADMIN)
        store.set_status(con, first, "final", "setup")
    second = _start(empty_db, label="2026-Q3", copy=True)
    copied = _responses(empty_db, second).loc["6.1.2"]
    assert copied["maturity"] == 3 and copied["evidence"] == "Risk method v1"
    app = _app(assessment=second)
    app.selectbox(key=f"section_{second}").set_value("6").run()
    assert app.radio(key=f"a{second}:6.1.2:maturity").value == 3
    assert not app.radio(key=f"a{second}:6.1.2:maturity").disabled  # the copy is a draft


def test_a_name_typed_just_before_start_counts_for_that_click(empty_db: Path) -> None:
    """Typing the name and clicking Start in one go (no Enter, no Tab) starts the round (a browser-found bug)."""
    app = _app("pages/units.py", name=None)
    app.sidebar.text_input(key="assessor_name_input").input("Grace")
    app.text_input(key="start_new_unit").input("Treasury")
    app.text_input(key="start_label").input("2026-Q4")
    app.button[0].click()  # no run in between: the name and the click arrive together
    app.run()
    assert not app.exception, app.exception
    assert "Started Treasury 2026-Q4" in app.success[0].value
    with connect(empty_db) as con:
        created = store.get_assessment(con, unit="Treasury", label="2026-Q4")
        assert store.item_history(con, created.id, principal=ADMIN).iloc[0]["changed_by"] == "Grace"


def test_emptying_the_name_box_stops_recording_under_the_old_name(empty_db: Path) -> None:
    assessment_id = _start(empty_db)
    app = _app(assessment=assessment_id, name="Ada")
    assert not app.radio(key=f"a{assessment_id}:4.1:maturity").disabled
    app.sidebar.text_input(key="assessor_name_input").input("").run()
    assert "Type your name" in app.warning[0].value
    assert app.radio(key=f"a{assessment_id}:4.1:maturity").disabled


def test_a_citation_link_opens_the_cited_items_section(empty_db: Path) -> None:
    """Summaries cite (unit, item) with a link ?assessment=ID&item=ITEM: it lands on that response."""
    assessment_id = _start(empty_db, scope="both")
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["assessment"] = str(assessment_id)
    app.query_params["item"] = "A.5.2"
    app.run()
    app.switch_page("pages/assess.py").run()
    app.sidebar.text_input(key="assessor_name_input").input("Ada").run()
    assert not app.exception, app.exception
    assert app.selectbox(key=f"section_{assessment_id}").value == "A.5"
    assert app.radio(key=f"a{assessment_id}:A.5.2:maturity") is not None
    app.selectbox(key=f"section_{assessment_id}").set_value("6").run()  # the link does not pin the section
    assert app.selectbox(key=f"section_{assessment_id}").value == "6"
