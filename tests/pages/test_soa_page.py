"""The Statement of Applicability an auditor accepts: a justification for every decision, included or excluded,
kept from the questionnaire, shown with a warning for what is missing."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import rounds, scoring, store
from dashboard.catalog import load_catalog
from dashboard.db import connect
from tests.pages.conftest import APP
from tests.principals import ADMIN

CATALOG = load_catalog()


def test_the_questionnaire_keeps_an_inclusion_justification_and_the_soa_warns_about_the_rest(empty_db: Path) -> None:
    with connect(empty_db) as con:
        created, _ = rounds.start_assessment(con, unit="Treasury", label="2026-Q4", scope="annex_a",
                                            catalog_version=CATALOG.version, assessed_on=None, by="setup", principal=ADMIN)
    aid = created.id
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["assessment"] = str(aid)
    app.run()
    app.switch_page("pages/assess.py").run()
    app.sidebar.text_input(key="assessor_name_input").input("Ada Lovelace").run()
    app.selectbox(key=f"section_{aid}").set_value("A.10").run()
    app.text_area(key=f"a{aid}:A.10.2:inclusion_justification").input("Supplier risk R-07: models bought in").run()
    app.toggle(key=f"a{aid}:A.10.4:applicable").set_value(False).run()
    app.text_area(key=f"a{aid}:A.10.4:justification").input("We sell no AI system to customers.").run()
    assert not app.exception, app.exception
    # an excluded control asks for no inclusion reason
    assert not [t for t in app.text_area if t.key == f"a{aid}:A.10.4:inclusion_justification"]
    with connect(empty_db) as con:
        saved = store.responses(con, assessment_ids=[aid], principal=ADMIN).set_index("item_id")
        history = store.item_history(con, aid, "A.10.2", principal=ADMIN)
    assert saved.loc["A.10.2", "inclusion_justification"] == "Supplier risk R-07: models bought in"
    assert "inclusion_justification" in set(history["field"])

    app.button_group(key=f"view_{aid}").set_value("Statement of Applicability").run()
    assert not app.exception, app.exception
    soa = app.dataframe[0].value.set_index("control")
    assert soa.loc["A.10.2", "justification"] == "Supplier risk R-07: models bought in"
    assert soa.loc["A.10.4", "justification"] == "We sell no AI system to customers."
    assert (soa.loc["A.10.2", "applicable"], soa.loc["A.10.4", "implemented"]) == ("yes", "—")
    included = len(CATALOG.items_of("annex_a")) - 1
    warnings = [w.value for w in app.warning]
    assert any(w.startswith(f"{included - 1} included control(s) without a justification for inclusion") for w in warnings)
    # headers for people, no blank shown as None
    config = app.dataframe[0].proto.columns
    assert '"Justification"' in config and '"Included"' in config and '"Implemented"' in config
    assert not any(str(v) in ("None", "nan", "NaT") for v in soa.to_numpy().ravel())


def test_unjustified_controls_counts_included_controls_only(empty_db: Path) -> None:
    with connect(empty_db) as con:
        created, _ = rounds.start_assessment(con, unit="Ops", label="R1", scope="annex_a", catalog_version=CATALOG.version,
                                            assessed_on=None, by="setup", principal=ADMIN)
        store.update_response(con, created.id, "A.2.2", {"inclusion_justification": "AI policy risk R-01"}, by="t", principal=ADMIN)
        store.update_response(con, created.id, "A.10.4", {"applicable": False, "justification": "No customers"}, by="t", principal=ADMIN)
        soa = scoring.statement_of_applicability(con, created.id)
    missing = scoring.unjustified_controls(soa)
    assert "A.2.2" not in missing and "A.10.4" not in missing and "A.2.3" in missing
    assert len(missing) == len(soa) - 2
