"""Keeping the previous round's answer in the compact questionnaire: one click copies the level and the evidence (and an
Annex A control's applicability and justification) of the unit's previous round, saved as an ordinary answer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard import carry, rounds, store, timing
from dashboard.db import connect
from tests.pages.test_assess import CATALOG, _app, _responses
from tests.principals import ADMIN


def _round(db: Path, unit: str, label: str, day: dt.date, answers: dict[str, dict], *, copy: bool = False) -> int:
    with connect(db) as con:
        created, _ = rounds.start_assessment(con, unit=unit, label=label, scope="both", catalog_version=CATALOG.version,
                                             assessed_on=day, principal=ADMIN, by="setup", copy_previous=copy)
        for item_id, fields in answers.items():
            store.update_response(con, created.id, item_id, fields, by="setup", principal=ADMIN)
    return created.id


def _history(db: Path) -> None:
    """Treasury answered two rounds before; Payments answered 4.1 otherwise (never offered to Treasury)."""
    _round(db, "Treasury", "2025-Q2", dt.date(2025, 6, 1), {"4.1": {"maturity": 1, "evidence": "Old notes"}})
    _round(db, "Treasury", "2026-Q1", dt.date(2026, 2, 1), {
        "4.1": {"maturity": 2, "evidence": "Context register v1"},
        "4.3": {"maturity": 3, "evidence": "Scope statement 2026"},
        "A.10.4": {"applicable": False, "justification": "We sell no AI system to customers."},
        "A.10.2": {"maturity": 4, "evidence": "Supplier contracts"},
    })
    _round(db, "Payments", "2026-Q1", dt.date(2026, 3, 1), {"4.2": {"maturity": 5, "evidence": "Payments' own"}})


def _compact(app: AppTest) -> AppTest:
    app.toggle(key="compact_toggle").set_value(True).run()
    assert not app.exception, app.exception
    return app


def _keep(app: AppTest, aid: int, item: str):
    found = [b for b in app.button if b.key == f"a{aid}:{item}:keep:compact"]
    return found[0] if found else None


def test_keeping_copies_level_and_evidence_of_the_previous_round_as_an_answer(empty_db: Path) -> None:
    _history(empty_db)
    aid = _round(empty_db, "Treasury", "2026-Q3", dt.date(2026, 8, 1), {})
    app = _compact(_app(assessment=aid))

    keep = _keep(app, aid, "4.1")
    assert keep is not None and "2026\\-Q1: 2 Managed" in keep.label  # the newest earlier round, not 2025-Q2
    assert app.text_input(key=f"a{aid}:4.1:evidence:compact").placeholder == "2026-Q1: Context register v1"
    assert _keep(app, aid, "4.2") is None, "nothing to keep: Treasury never answered 4.2 (Payments did)"
    keep.click().run()
    assert not app.exception, app.exception

    saved = _responses(empty_db, aid)
    assert (saved.loc["4.1", "maturity"], saved.loc["4.1", "evidence"]) == (2, "Context register v1")
    assert _keep(app, aid, "4.1") is None, "hidden once the item is answered"
    assert app.segmented_control(key=f"a{aid}:4.1:maturity:compact").value == 2
    assert app.text_input(key=f"a{aid}:4.1:evidence:compact").value == "Context register v1"
    with connect(empty_db) as con:
        logged = con.execute("SELECT field, new_value, changed_by, source FROM change_log WHERE assessment_id = ? "
                             "AND item_id = '4.1' ORDER BY field", [aid]).fetchall()
        events = timing.answer_events(con, [aid], principal=ADMIN)
    assert logged == [("evidence", "Context register v1", "Ada Lovelace", "form"),
                      ("maturity", "2", "Ada Lovelace", "form")]
    assert events["item_id"].tolist() == ["4.1"], "kept answers count as answering time"


def test_keeping_leaves_evidence_typed_in_this_round(empty_db: Path) -> None:
    _history(empty_db)
    aid = _round(empty_db, "Treasury", "2026-Q3", dt.date(2026, 8, 1), {})
    app = _compact(_app(assessment=aid))
    app.text_input(key=f"a{aid}:4.3:evidence:compact").input("Scope statement 2026, reviewed in July").run()
    _keep(app, aid, "4.3").click().run()
    saved = _responses(empty_db, aid)
    assert (saved.loc["4.3", "maturity"], saved.loc["4.3", "evidence"]) == (3, "Scope statement 2026, reviewed in July")


def test_keeping_decides_at_the_click_on_what_the_round_holds_then(empty_db: Path) -> None:
    """Evidence saved after the line was drawn (the blur of its field and the click can reach the server in one
    rerun, or the page drawn before a save another tab made) is kept: what to copy is decided at the click."""
    _history(empty_db)
    aid = _round(empty_db, "Treasury", "2026-Q3", dt.date(2026, 8, 1), {})
    app = _compact(_app(assessment=aid))
    with connect(empty_db) as con:  # saved after the line with its keep button was drawn
        store.update_response(con, aid, "4.3", {"evidence": "Typed just before the click"}, by="setup", principal=ADMIN)
    _keep(app, aid, "4.3").click().run()
    assert not app.exception, app.exception
    saved = _responses(empty_db, aid)
    assert (saved.loc["4.3", "maturity"], saved.loc["4.3", "evidence"]) == (3, "Typed just before the click")


def test_keeping_an_annex_a_exclusion_copies_applicability_and_justification(empty_db: Path) -> None:
    _history(empty_db)
    aid = _round(empty_db, "Treasury", "2026-Q3", dt.date(2026, 8, 1), {})
    app = _compact(_app(assessment=aid))
    app.selectbox(key=f"section_{aid}").set_value("A.10").run()
    assert "not applicable" in _keep(app, aid, "A.10.4").label
    _keep(app, aid, "A.10.4").click().run()
    _keep(app, aid, "A.10.2").click().run()
    assert not app.exception, app.exception
    saved = _responses(empty_db, aid)
    assert not saved.loc["A.10.4", "applicable"]
    assert saved.loc["A.10.4", "justification"] == "We sell no AI system to customers."
    assert (saved.loc["A.10.2", "maturity"], saved.loc["A.10.2", "evidence"]) == (4, "Supplier contracts")
    assert _keep(app, aid, "A.10.4") is None and _keep(app, aid, "A.10.2") is None


def test_nothing_is_offered_without_a_previous_round_or_when_the_round_started_from_it(empty_db: Path) -> None:
    first = _round(empty_db, "Treasury", "2026-Q1", dt.date(2026, 2, 1), {})
    app = _compact(_app(assessment=first))
    assert not [b for b in app.button if b.key and b.key.endswith(":keep:compact")]
    with connect(empty_db) as con:
        assert carry.previous_answers(con, first, principal=ADMIN).empty
        store.update_response(con, first, "4.1", {"maturity": 2, "evidence": "Register"}, by="setup", principal=ADMIN)
    copied = _round(empty_db, "Treasury", "2026-Q3", dt.date(2026, 8, 1), {}, copy=True)  # "from previous answers"
    app = _compact(_app(assessment=copied))
    assert pd.notna(_responses(empty_db, copied).loc["4.1", "maturity"])
    assert _keep(app, copied, "4.1") is None, "the round holds the answer already"


def test_keeping_is_refused_like_any_answer_on_a_read_only_round(empty_db: Path) -> None:
    _history(empty_db)
    aid = _round(empty_db, "Treasury", "2026-Q3", dt.date(2026, 8, 1), {})
    assert _keep(_compact(_app(assessment=aid, name=None)), aid, "4.1").disabled  # no name: nothing can be saved

    app = _compact(_app(assessment=aid))
    with connect(empty_db) as con:  # finalised in another tab meanwhile
        store.set_status(con, aid, "final", by="lead")
    _keep(app, aid, "4.1").click().run()
    assert any("read-only" in e.value for e in app.error)
    assert pd.isna(_responses(empty_db, aid).loc["4.1", "maturity"])
    assert _keep(app, aid, "4.1").disabled


def test_the_offer_follows_a_change_to_the_previous_round(empty_db: Path) -> None:
    """The read is cached per unit (dashboard.versions, kind "units"): a change to the previous round, made after the
    page was drawn, shows on the next rerun."""
    _history(empty_db)
    aid = _round(empty_db, "Treasury", "2026-Q3", dt.date(2026, 8, 1), {})
    app = _compact(_app(assessment=aid))
    assert "2026\\-Q1: 2 Managed" in _keep(app, aid, "4.1").label
    with connect(empty_db) as con:
        previous = store.get_assessment(con, unit="Treasury", label="2026-Q1").id
        store.update_response(con, previous, "4.1", {"maturity": 5}, by="lead", principal=ADMIN)
        store.update_response(con, previous, "4.2", {"maturity": 1, "evidence": "Interested parties list"}, by="lead",
                              principal=ADMIN)
    app.run()
    assert "2026\\-Q1: 5 Optimizing" in _keep(app, aid, "4.1").label
    assert "2026\\-Q1: 1 Initial" in _keep(app, aid, "4.2").label
