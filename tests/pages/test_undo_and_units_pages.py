"""The Import page's undo and unit choice, and the Units page's merge, through AppTest on real files."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import store
from dashboard.db import connect
from etl.importer import import_bytes
from tests.pages.conftest import APP
from tests.pages.test_import_page import PAYMENTS, metrics, page, table, upload, workbook
from tests.principals import ADMIN

NEAR = workbook([["Unit", "Round", "Date", "Item", "Maturity"], ["Group I.T.", "2026-Q2", "2026-06-30", "4.1", 3]])
EXISTING = b"unit,assessment,item_id,maturity\nGroup IT,2026-Q1,4.1,2\n"


def undo(app: AppTest, file: str) -> AppTest:
    box = app.selectbox(key="undo_choice")
    box.select(next(o for o in box.options if f" · {file} · " in o)).run()
    app.button(key="undo_run").click().run()
    assert not app.exception, app.exception
    return app


def test_an_import_is_undone_from_the_list_and_can_be_imported_again(empty_db: Path) -> None:
    app = upload(page(), ("payments.xlsx", PAYMENTS))
    app.button(key="import_run").click().run()
    app = undo(page(), "payments.xlsx")
    assert app.success[0].value.startswith("Undid import 1 (payments.xlsx): 0 value(s) restored; 2 answer(s) removed; "
                                           "1 round(s) removed (Payments 2026-03-15); unit(s) removed: Payments")
    history = table(app, "imported_by")
    assert history.loc[0, "undone"].endswith("by Ana Import")
    assert app.selectbox(key="undo_choice").options == []  # undoing twice is not offered
    with connect(empty_db) as con:
        assert store.list_units(con, True).empty and con.execute("SELECT count(*) FROM response").fetchall() == [(0,)]
    app = upload(page(), ("payments.xlsx", PAYMENTS))  # the same file is importable again
    assert not any("already imported" in i.value for i in app.info)
    assert not app.button(key="import_run").disabled


def test_an_undo_refused_lists_the_later_answers(empty_db: Path) -> None:
    with connect(empty_db) as con:
        import_bytes(con, "existing.csv", EXISTING, principal=ADMIN, by="importer")
        round_ = store.get_assessment(con, unit="Group IT", label="2026-Q1")
        store.update_response(con, round_.id, "4.1", {"evidence": "Policy v3"}, by="Bea Form", principal=ADMIN)
    app = undo(page(), "existing.csv")
    assert "cannot be undone: 1 answer(s) or round(s) were changed after it (Group IT 2026-Q1 4.1)" in app.error[0].value
    conflicts = table(app, "why")
    assert conflicts[["unit", "round", "item", "field", "changed_by"]].values.tolist() == [
        ["Group IT", "2026-Q1", "4.1", "evidence", "Bea Form"]]
    with connect(empty_db) as con:
        assert con.execute("SELECT maturity, evidence FROM response").fetchall() == [(2, "Policy v3")]


UPDATE = b"unit,assessment,item_id,maturity,evidence\nGroup IT,2026-Q1,4.1,4,Policy v2\nGroup IT,2026-Q1,4.2,1,\n"


def test_an_import_that_updated_is_undone_from_the_page_and_its_values_come_back(empty_db: Path) -> None:
    with connect(empty_db) as con:
        import_bytes(con, "existing.csv", EXISTING, principal=ADMIN, by="importer")
    app = upload(page(), ("update.csv", UPDATE))
    app.button(key="import_run").click().run()
    with connect(empty_db) as con:
        assert con.execute("SELECT item_id, maturity, evidence FROM response ORDER BY 1").fetchall() == [
            ("4.1", 4, "Policy v2"), ("4.2", 1, None)]
    app = undo(page(), "update.csv")
    assert app.success[0].value.startswith("Undid import 2 (update.csv): 2 value(s) restored; 1 answer(s) removed")
    with connect(empty_db) as con:
        assert con.execute("SELECT item_id, maturity, evidence FROM response ORDER BY 1").fetchall() == [("4.1", 2, None)]
        assert con.execute("SELECT field, new_value, changed_by FROM change_log WHERE source = 'undo' AND item_id = '4.1' "
                           "ORDER BY field").fetchall() == [("evidence", None, "Ana Import"), ("maturity", "2", "Ana Import")]
    assert [o.split(" · ")[1] for o in app.selectbox(key="undo_choice").options] == ["existing.csv"]


def test_an_undo_touching_a_finalised_round_is_refused_on_the_page(empty_db: Path) -> None:
    with connect(empty_db) as con:
        import_bytes(con, "existing.csv", EXISTING, principal=ADMIN, by="importer")
        store.set_status(con, store.get_assessment(con, unit="Group IT", label="2026-Q1").id, "final", by="lead")
    app = undo(page(), "existing.csv")
    assert "it touched finalised round(s) Group IT 2026-Q1, which are never changed" in app.error[0].value
    listed = table(app, "why")  # the round, finalised, and its status change made after the import
    assert listed.loc[0, "why"] == "finalised: a finalised round is never changed"
    assert listed["field"].tolist()[1:] == ["status"]
    with connect(empty_db) as con:
        assert con.execute("SELECT maturity FROM response").fetchall() == [(2,)]
        assert store.list_imports(con).loc[0, "undone"] is None


def test_a_near_duplicate_unit_is_a_warning_with_the_choice_to_use_the_existing_unit(empty_db: Path) -> None:
    with connect(empty_db) as con:
        import_bytes(con, "existing.csv", EXISTING, principal=ADMIN, by="importer")
    app = upload(page(), ("near.xlsx", NEAR))
    assert ("Warnings", "1") in metrics(app)
    assert "looks like the existing unit 'Group IT'" in table(app, "severity").loc[0, "message"]
    choice = app.radio(key="import_0_near.xlsx_unit_Group I.T.")
    assert choice.options == ["create 'Group I.T.'", "use 'Group IT'"] and choice.value is None
    choice.set_value("Group IT").run()
    assert not app.exception, app.exception
    assert ("Warnings", "0") in metrics(app)
    assert any("Units (1): Group IT" in c.value for c in app.caption)
    assert '"units":{"Group I.T.":"Group IT"}' in app.code[0].value
    app.button(key="import_run").click().run()
    with connect(empty_db) as con:
        assert con.execute("SELECT u.name, a.label FROM assessment a JOIN unit u ON u.id = a.unit_id ORDER BY 2"
                           ).fetchall() == [("Group IT", "2026-Q1"), ("Group IT", "2026-Q2")]


def units_page(name: str = "Lead") -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/units.py").run()
    app.sidebar.text_input(key="assessor_name_input").input(name).run()
    assert not app.exception, app.exception
    return app


def test_the_units_page_merges_two_units_and_refuses_a_label_clash(empty_db: Path) -> None:
    with connect(empty_db) as con:
        import_bytes(con, "existing.csv", EXISTING, principal=ADMIN, by="importer")
        import_bytes(con, "near.csv", EXISTING.replace(b"Group IT,2026-Q1", b"Group I.T.,2026-Q2"), principal=ADMIN, by="importer")
        import_bytes(con, "clash.csv", EXISTING.replace(b"Group IT", b"GroupIT"), principal=ADMIN, by="importer")
    app = units_page()
    assert any("These look alike: " in c.value and "Group I.T. / Group IT" in c.value for c in app.caption)
    app.selectbox(key="merge_from").select("GroupIT")
    app.selectbox(key="merge_into").select("Group IT").run()
    app.button(key="merge_units").click().run()
    assert "both have a round labelled '2026-Q1'" in app.error[0].value
    app.selectbox(key="merge_from").select("Group I.T.")
    app.selectbox(key="merge_into").select("Group IT").run()
    app.button(key="merge_units").click().run()
    assert not app.exception, app.exception
    assert app.success[0].value == "Merged Group I.T. into Group IT: 1 round(s) (2026-Q2) moved; Group I.T. removed."
    assert "Group I.T." not in app.selectbox(key="merge_from").options
    with connect(empty_db) as con:
        assert con.execute("SELECT old_value, new_value, changed_by, source FROM change_log WHERE field = 'unit'"
                           ).fetchall() == [("Group I.T.", "Group IT", "Lead", "merge")]
