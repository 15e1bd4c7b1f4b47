"""The Other frameworks page with AppTest: figures from dashboard.readiness, the mapping set named, the
uncovered list, the drill-down with links to the answers, an imported set chosen explicitly, user text escaped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard import provenance, readiness, scoring, store
from dashboard.db import connect
from etl.crosswalk_import import Provenance, import_mapping
from tests.pages.conftest import APP
from tests.pages.test_dashboards import _array
from tests.principals import ADMIN

PAGE = "pages/frameworks.py"


def _open() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def _info(app: AppTest) -> str:
    """The notice that names the mapping set, as the person reads it (Markdown escapes removed)."""
    return app.info[0].value.replace("\\", "")


def _heatmap(app: AppTest) -> dict:
    charts = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    return next(c for c in charts if c["layout"]["title"]["text"].startswith("Derived readiness"))


def test_the_page_shows_the_engines_figures_and_names_the_mapping_set(demo_db: Path) -> None:
    app = _open()
    assert "AIMS project crosswalk ISO/IEC 42001 to EU AI Act" in _info(app)
    assert "shipped with this tool" in _info(app)
    with connect(demo_db) as con:
        ids = scoring.select_assessments(con, principal=ADMIN)
        expected = readiness.organisation_readiness(con, ids, "eu-ai-act")
        per_unit = readiness.requirement_readiness(con, ids, "eu-ai-act")
    summary = app.dataframe[0].value
    assert summary["requirement"].tolist() == expected["requirement"].tolist()
    assert summary["maturity"].equals(expected["maturity"])
    heat = _heatmap(app)["data"][0]
    assert heat["x"] == expected["requirement"].tolist()
    z = _array(heat["z"])
    row = heat["y"].index("Retail Banking")
    figures = per_unit[per_unit["unit"] == "Retail Banking"]["maturity"].to_numpy(dtype=float)
    assert np.allclose(z[row], figures, equal_nan=True)
    table = app.dataframe[1].value  # per unit and requirement
    assert table["state"].tolist() == per_unit["state"].tolist() and len(table) == len(ids) * 20
    gaps = app.dataframe[2].value
    assert gaps["requirement"].tolist() == ["Art. 43", "Art. 49"]
    # what the figures stand on, as on the Overview: each unit's rounds (Latest per unit) and the drafts
    with connect(demo_db) as con:
        notes = provenance.notes(con, ids)
    assert notes[0].startswith("Rounds used: ")
    assert [c.value.removeprefix("⚠ ") for c in app.caption if c.value.startswith(("Rounds used", "⚠"))] == notes


def test_switching_framework_and_drilling_into_a_requirement(demo_db: Path) -> None:
    app = _open()
    app.selectbox(key="fw_framework").set_value("iso-27001").run()
    assert not app.exception
    assert "ISO/IEC 42001 to ISO/IEC 27001:2022" in _info(app)
    app.multiselect(key="fw_groups").set_value(["Clause 9 Performance evaluation"]).run()
    assert set(app.dataframe[0].value["group"]) == {"Clause 9 Performance evaluation"}
    app.selectbox(key="fw_requirement").set_value("9.2.1").run()
    basis = app.dataframe[-1].value
    with connect(demo_db) as con:
        ids = scoring.select_assessments(con, principal=ADMIN)
    assert len(basis) == len(ids) and set(basis["item_id"]) == {"9.2.1"} and set(basis["relationship"]) == {"equal"}
    assert all(link.startswith("assess?assessment=") and link.endswith("&item=9.2.1") for link in basis["link"])


def test_an_imported_set_is_chosen_explicitly_and_the_page_says_so(demo_db: Path) -> None:
    with connect(demo_db) as con:
        import_mapping(con, "acme.csv", b"source_item,target_item,relationship,rationale\n4.1,Art. 4,equal,ours\n",
                       Provenance(target_framework="eu-ai-act", set_id="acme", name="ACME <b>set</b>", made_by="ACME",
                                  licence="CC-BY-4.0"), by="tester", principal=ADMIN)
    app = _open()
    assert "shipped with this tool" in _info(app)  # ours stays the default
    app.selectbox(key="fw_set").set_value("acme").run()
    assert "imported from acme.csv by tester" in _info(app)
    assert "\\<b\\>set\\</b\\>" in app.info[0].value  # shown as typed, never as HTML
    assert app.dataframe[2].value["requirement"].tolist()[:2] == ["Art. 5", "Art. 6"]  # their set covers only Art. 4


def test_unit_names_are_escaped_in_the_heatmap(demo_db: Path) -> None:
    with connect(demo_db) as con:
        draft = store.create_assessment(con, unit="<b>Evil</b>", label="R9", scope="both", catalog_version="t")
        store.update_response(con, draft.id, "7.2", {"maturity": 3}, by="t", principal=ADMIN)
    app = _open()
    assert "&lt;b&gt;Evil&lt;/b&gt;" in _heatmap(app)["data"][0]["y"]


def test_proposed_answers_page_accepts_a_proposal_only_when_saved(demo_db: Path) -> None:
    from dashboard import proposals
    from etl.prefill_27001 import propose_from_file
    from tests.etl.test_prefill_27001 import ROWS, isms_workbook

    with connect(demo_db) as con:
        counts = propose_from_file(con, "isms.xlsx", isms_workbook(ROWS, block=("Business unit: Group IT", "Round: 2027-Q1")),
                                   by="importer")[1]
        assert counts is not None and counts.proposed == 4
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/proposals.py").run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert set(table["item_id"]) == {"9.2.1", "9.2.2", "7.5.3", "10.2"}
    assert app.button(key="prop_save").disabled  # no name typed yet: nothing can be saved
    app.text_input(key="assessor_name_input").set_value("Ines").run()
    aid = int(app.session_state["prop_pick"].split("|")[0])  # every proposal here is of the one new round
    app.selectbox(key="prop_pick").set_value(f"{aid}|9.2.1").run()
    app.button(key="prop_save").click().run()
    assert not app.exception, app.exception
    assert "proposal accepted" in app.success[0].value
    with connect(demo_db) as con:
        assessment = store.get_assessment(con, unit="Group IT", label="2027-Q1")
        assert assessment is not None
        items = scoring.item_scores(con, [assessment.id]).set_index("item_id")
        assert items.loc["9.2.1", "maturity"] == 4 and pd.isna(items.loc["9.2.2", "maturity"])
        history = store.item_history(con, assessment.id, "9.2.1", principal=ADMIN)
        assert history[history["field"] == "maturity"].iloc[-1]["source"] == "proposed from ISO/IEC 27001:2022 9.2.1"
        assert set(proposals.proposals(con, principal=ADMIN)["item_id"]) == {"9.2.2", "7.5.3", "10.2"}


def test_an_assessor_decides_on_its_own_units_proposals_and_the_questionnaire_points_to_them(demo_db: Path) -> None:
    """Signed in as a unit's assessor: the Proposed answers page lists only that unit's proposals and offers no
    27001 import (a file spans units); the questionnaire of the round says levels are waiting; a changed level is
    saved with the proposal's source in the change log."""
    from dashboard import access, proposals, ui
    from etl.prefill_27001 import propose_from_file
    from tests.etl.test_prefill_27001 import isms_workbook

    two_units = isms_workbook([("HR & People", "2027-Q1", "9.2", 4), ("Retail Banking", "2027-Q1", "9.2", 2)], block=(),
                              header=("Business unit", "Round", "Requirement", "Maturity"))
    with connect(demo_db) as con:
        assert propose_from_file(con, "isms.xlsx", two_units, by="importer")[1] is not None
        access.grant(con, "asa@example.org", "assessor", "HR & People", by=ADMIN)
        assessor = access.resolve(con, "asa@example.org", "Asa Assessor")
        own = store.get_assessment(con, unit="HR & People", label="2027-Q1")
        assert own is not None
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state[ui._TEST_KEY] = assessor
    app.run()
    app.switch_page("pages/proposals.py").run()
    assert not app.exception, app.exception
    assert not app.get("file_uploader") and not app.expander  # no 27001 import for an assessor
    table = app.dataframe[0].value
    assert set(table["unit"]) == {"HR & People"} and set(table["item_id"]) == {"9.2.1", "9.2.2"}
    app.selectbox(key="prop_pick").set_value(f"{own.id}|9.2.2").run()
    app.radio(key=f"prop_level_{own.id}|9.2.2").set_value(3).run()
    app.button(key="prop_save").click().run()
    assert not app.exception, app.exception
    assert "proposal changed" in app.success[0].value
    with connect(demo_db) as con:
        history = store.item_history(con, own.id, "9.2.2", principal=ADMIN)
        change = history[history["field"] == "maturity"].iloc[-1]
        assert (change["new_value"], change["source"]) == ("3", "changed from level 4 proposed from ISO/IEC 27001:2022 9.2.2")
        assert set(proposals.proposals(con, principal=ADMIN)["item_id"]) == {"9.2.1", "9.2.2"}  # 9.2.2 of Retail Banking
    app.query_params["assessment"] = str(own.id)
    app.switch_page("pages/assess.py").run()
    assert not app.exception, app.exception
    links = [link.proto.label for link in app.get("page_link")]
    assert any(label.startswith("1 level(s) proposed from ISO/IEC 27001 for this round (9.2.1)") for label in links), links
