"""Undoing one import: created, updated, later-edited and finalised cases, through the real import path."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from dashboard import store
from dashboard.undo import UndoRefused, undo_import
from etl.importer import import_bytes
from tests.principals import ADMIN

FIRST = (b"unit,assessment,assessed_on,item_id,maturity,evidence\n"
         b"Ops,R1,2026-01-10,4.1,2,Register v1\nOps,R1,2026-01-10,4.2,1,\n")
UNDATED = b"unit,assessment,item_id,maturity\nClaims,R1,4.1,1\n"


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


SECOND = xlsx([["unit", "assessment", "assessed_on", "item_id", "maturity", "evidence", "applicable", "justification"],
               ["Ops", "R1", None, "4.1", 3, "Register v2", None, None],   # changes two values
               ["Ops", "R1", None, "4.3", 2, None, None, None],           # a new answer in an existing round
               ["Ops", "R1", None, "A.2.2", None, None, "no", "Outsourced"],  # widens the round to both scopes
               ["Claims", "R1", dt.datetime(2026, 2, 1), "4.2", 4, None, None, None],  # dates an undated round
               ["Legal", "R7", dt.datetime(2026, 2, 2), "5.1", 3, None, None, None]])  # a new unit and round


def load(con, name: str, data: bytes, by: str = "importer") -> int:
    result = import_bytes(con, name, data, principal=ADMIN, by=by)
    assert result.status == "imported", result.problems
    assert result.import_id is not None
    return result.import_id


def answers(con) -> list[tuple]:
    return con.execute("""SELECT u.name, a.label, r.item_id, r.maturity, r.evidence, r.applicable, r.justification
                          FROM response r JOIN assessment a ON a.id = r.assessment_id JOIN unit u ON u.id = a.unit_id
                          ORDER BY ALL""").fetchall()


def rounds(con) -> list[tuple]:
    return con.execute("""SELECT u.name, a.label, a.scope, a.assessed_on FROM assessment a JOIN unit u ON u.id = a.unit_id
                          ORDER BY ALL""").fetchall()


def test_undo_of_an_import_that_only_created(con) -> None:
    first = load(con, "first.csv", FIRST)
    result = undo_import(con, first, principal=ADMIN, by="lead")
    assert (result.restored, result.removed_responses, result.removed_assessments, result.removed_units) == (
        0, 2, ["Ops R1"], ["Ops"])
    assert answers(con) == [] and rounds(con) == [] and store.list_units(con, True).empty
    listed = store.list_imports(con)
    assert listed.loc[0, "undone"].endswith(" by lead")
    # undoing twice is refused; the same file can be imported again
    with pytest.raises(UndoRefused, match=rf"Import {first} \(first.csv\) was already undone on .* by lead"):
        undo_import(con, first, principal=ADMIN, by="lead")
    again = load(con, "first.csv", FIRST)
    assert again != first and len(answers(con)) == 2


def test_undo_of_an_import_that_updated_restores_exactly_what_it_changed(con) -> None:
    load(con, "first.csv", FIRST)
    load(con, "claims.csv", UNDATED)
    before_answers, before_rounds = answers(con), rounds(con)
    second = load(con, "second.xlsx", SECOND, by="bob")
    assert rounds(con) != before_rounds and answers(con) != before_answers

    result = undo_import(con, second, principal=ADMIN, by="lead")

    assert answers(con) == before_answers
    assert rounds(con) == before_rounds  # Ops R1 back to clauses only, Claims R1 undated again
    assert (result.restored, result.removed_responses) == (2, 4)  # 4.1 maturity, evidence; 4.3, A.2.2, Claims, Legal
    assert result.removed_assessments == ["Legal R7"] and result.removed_units == ["Legal"]
    ops = store.get_assessment(con, unit="Ops", label="R1")
    history = store.item_history(con, ops.id, "4.1", principal=ADMIN)
    undo_rows = history[history["source"] == "undo"]
    assert sorted(undo_rows[["field", "old_value", "new_value", "changed_by"]].values.tolist()) == [
        ["evidence", "Register v2", "Register v1", "lead"], ["maturity", "3", "2", "lead"]]
    removed = store.item_history(con, ops.id, "4.3", principal=ADMIN)
    assert removed.iloc[0][["field", "old_value", "source"]].tolist() == ["removed", f"created by import {second}", "undo"]
    scope_log = con.execute("SELECT field, old_value, new_value, source FROM change_log WHERE item_id IS NULL "
                            "AND assessment_id = ? ORDER BY id", [ops.id]).fetchall()
    assert scope_log == [("scope", "clauses", "both", "import"), ("scope", "both", "clauses", "undo")]


def test_an_answer_changed_since_blocks_the_undo_and_is_listed(con) -> None:
    first = load(con, "first.csv", FIRST)
    ops = store.get_assessment(con, unit="Ops", label="R1")
    store.update_response(con, ops.id, "4.2", {"maturity": 3}, by="ana", source="form", principal=ADMIN)
    before = answers(con)
    with pytest.raises(UndoRefused) as refused:
        undo_import(con, first, principal=ADMIN, by="lead")
    assert "1 answer(s) or round(s) were changed after it (Ops R1 4.2)" in str(refused.value)
    assert refused.value.conflicts[["unit", "round", "item", "field", "changed_by", "source"]].values.tolist() == [
        ["Ops", "R1", "4.2", "maturity", "ana", "form"]]
    assert answers(con) == before  # nothing changed
    assert store.list_imports(con).loc[0, "undone"] is None


def test_a_later_import_blocks_until_it_is_undone_itself(con) -> None:
    first = load(con, "first.csv", FIRST)
    second = load(con, "second.xlsx", SECOND)
    with pytest.raises(UndoRefused) as refused:
        undo_import(con, first, principal=ADMIN, by="lead")
    listed = refused.value.conflicts
    assert {("4.1", "maturity"), ("4.1", "evidence")} <= set(zip(listed["item"], listed["field"], strict=True))
    assert "answered after the import, in a round it created" in set(listed["why"])  # 4.3 and A.2.2
    undo_import(con, second, principal=ADMIN, by="lead")
    undo_import(con, first, principal=ADMIN, by="lead")  # what an undone import did is not later work
    assert answers(con) == [] and rounds(con) == []


def test_a_round_answered_by_hand_after_the_import_keeps_its_unit(con) -> None:
    first = load(con, "first.csv", FIRST)
    store.create_assessment(con, unit="Ops", label="R2", scope="clauses", catalog_version="test")
    undo_import(con, first, principal=ADMIN, by="lead")
    assert rounds(con) == [("Ops", "R2", "clauses", dt.date.today())]  # the unit holds a round: kept (dated today)


def test_a_finalised_round_is_never_changed(con) -> None:
    first = load(con, "first.csv", FIRST)
    ops = store.get_assessment(con, unit="Ops", label="R1")
    store.set_status(con, ops.id, "final", by="lead")
    before = answers(con)
    with pytest.raises(UndoRefused, match=r"it touched finalised round\(s\) Ops R1, which are never changed") as refused:
        undo_import(con, first, principal=ADMIN, by="lead")
    assert refused.value.conflicts["why"].str.startswith("finalised").any()
    assert answers(con) == before and rounds(con)[0][:2] == ("Ops", "R1")


def test_unknown_imports_and_dry_runs(con) -> None:
    with pytest.raises(UndoRefused, match="No import with id 99"):
        undo_import(con, 99, principal=ADMIN, by="lead")
    dry = import_bytes(con, "first.csv", FIRST, principal=ADMIN, by="importer", dry_run=True)
    assert dry.status == "dry run" and dry.import_id is None
    assert store.list_imports(con).empty and rounds(con) == []
