"""The ISO 27001 pre-fill from import to accepted answer: proposals only for equal items, never an answer (no
figure counts them) until accepted or changed, and the proposal's source in the change log."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from dashboard import access, proposals, readiness, scoring, store
from dashboard.db import connect
from etl.cli import main
from etl.prefill_27001 import propose_from_file, read_27001
from tests.principals import ADMIN


def isms_workbook(rows: list[tuple], *, block: tuple[str, ...] = ("Business unit: Group IT", "Round: 2026-Q4"),
                  header: tuple[str, ...] = ("Requirement", "Maturity", "Evidence"), sheet: str = "ISMS") -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(["Organisation: ACME"])
    for line in block:
        ws.append([line])
    ws.append([])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ROWS = [("9.2 Internal audit", 4, "Audit programme 2026"), ("7.5.3", "Defined", "Document management system"),
        ("A.5.1", 2, None), ("10.2", "Compliant", None), ("6.1.2", 1, None), ("7.4", "N/A", None)]


def test_reading_27001_ids_levels_and_the_block_above_the_table() -> None:
    reading = read_27001("isms.xlsx", isms_workbook(ROWS))
    assert reading.ok, reading.problems
    got = {(r.source_item, r.level) for r in reading.rows.itertuples()}
    # 9.2 rates both its subclauses; a level name and a status word read as in the importer; N/A proposes nothing
    assert got == {("9.2.1", 4), ("9.2.2", 4), ("7.5.3", 3), ("A.5.1", 2), ("10.2", 3), ("6.1.2", 1)}
    assert set(reading.rows["unit"]) == {"Group IT"} and set(reading.rows["assessment"]) == {"2026-Q4"}


def test_on_an_annex_a_sheet_a_bare_number_is_a_control() -> None:
    reading = read_27001("isms.xlsx", isms_workbook([("5.1", 3, None)], sheet="Annex A controls"))
    assert list(reading.rows["source_item"]) == ["A.5.1"]


@pytest.mark.parametrize(("rows", "block", "message"), [
    ([("A.9.9", 1, None)], ("Business unit: Group IT", "Round: R1"),
     "isms.xlsx, sheet ISMS, row 6, column Requirement (A): 'A.9.9' — expected an ISO/IEC 27001:2022 clause"),
    ([("9.2", "sometimes", None)], ("Business unit: Group IT", "Round: R1"),
     "isms.xlsx, sheet ISMS, row 6, column Maturity (B): 'sometimes' — expected"),
    ([("9.2", 3, None)], (), "isms.xlsx, sheet ISMS, row 4: no business unit or round for this row"),
])
def test_bad_input_is_refused_naming_row_and_column_and_nothing_is_proposed(db_path: Path, rows: list[tuple],
                                                                           block: tuple[str, ...], message: str) -> None:
    with connect(db_path) as con:
        reading, counts = propose_from_file(con, "isms.xlsx", isms_workbook(rows, block=block), by="tester")
        assert counts is None and any(p.startswith(message) for p in reading.problems), reading.problems
        assert proposals.proposals(con, status=None, principal=ADMIN).empty and store.list_assessments(con).empty


def test_from_import_to_accepted_answer_with_the_source_in_the_change_log(db_path: Path) -> None:
    with connect(db_path) as con:
        counts = propose_from_file(con, "isms.xlsx", isms_workbook(ROWS), by="importer")[1]
        assert counts is not None
        # equal in our set: 9.2.1, 9.2.2, 7.5.3, 10.2 -> 4 proposals; A.5.1 and 6.1.2 only intersect: none
        assert counts.proposed == 4 and counts.created == ["Group IT · 2026-Q4"]
        assert set(counts.without_equal) == {"A.5.1", "6.1.2"}
        open_ = proposals.proposals(con, principal=ADMIN).set_index("item_id")
        assert set(open_.index) == {"9.2.1", "9.2.2", "7.5.3", "10.2"}
        assert open_.loc["9.2.1", "source"] == "proposed from ISO/IEC 27001:2022 9.2.1"
        assert open_.loc["9.2.1", "evidence"] == "9.2.1: Audit programme 2026"
        assessment = store.get_assessment(con, unit="Group IT", label="2026-Q4")
        assert assessment is not None and assessment.scope == "clauses"
        ids = [assessment.id]

        # a proposal is not an answer: no figure counts it
        items = scoring.item_scores(con, ids).set_index("item_id")
        assert items["maturity"].isna().all()
        assert readiness.requirement_readiness(con, ids, "iso-27001").set_index("requirement").loc["9.2.1", "state"] == "not assessed"

        assert proposals.decide(con, assessment.id, "9.2.1", by="assessor", principal=ADMIN) == "accepted"
        assert proposals.decide(con, assessment.id, "7.5.3", by="assessor", level=2, principal=ADMIN) == "changed"
        proposals.dismiss(con, assessment.id, "10.2", by="assessor", principal=ADMIN)
        items = scoring.item_scores(con, ids).set_index("item_id")
        assert (items.loc["9.2.1", "maturity"], items.loc["7.5.3", "maturity"]) == (4, 2)
        assert pd.isna(items.loc["10.2", "maturity"]) and pd.isna(items.loc["9.2.2", "maturity"])
        history = store.item_history(con, assessment.id, "9.2.1", principal=ADMIN)
        change = history[history["field"] == "maturity"].iloc[-1]
        assert (change["new_value"], change["changed_by"], change["source"]) == ("4", "assessor",
                                                                                "proposed from ISO/IEC 27001:2022 9.2.1")
        changed = store.item_history(con, assessment.id, "7.5.3", principal=ADMIN)
        assert changed[changed["field"] == "maturity"].iloc[-1]["source"] == \
            "changed from level 3 proposed from ISO/IEC 27001:2022 7.5.3"
        assert "Audit programme 2026" in items.loc["9.2.1", "evidence"]
        assert set(proposals.proposals(con, principal=ADMIN)["item_id"]) == {"9.2.2"}
        with pytest.raises(proposals.ProposalError, match=r"no open proposal for item 9\.2\.1"):
            proposals.decide(con, assessment.id, "9.2.1", by="assessor", principal=ADMIN)


def test_an_answered_item_is_never_overwritten_and_a_final_round_takes_no_proposal(db_path: Path) -> None:
    with connect(db_path) as con:
        answered = store.create_assessment(con, unit="Group IT", label="2026-Q4", scope="both", catalog_version="t")
        store.update_response(con, answered.id, "9.2.1", {"maturity": 1}, by="assessor", principal=ADMIN)
        counts = propose_from_file(con, "isms.xlsx", isms_workbook(ROWS), by="importer")[1]
        assert counts is not None and counts.already_answered == 1 and counts.proposed == 3 and not counts.created
        assert scoring.item_scores(con, [answered.id]).set_index("item_id").loc["9.2.1", "maturity"] == 1
        again = propose_from_file(con, "isms.xlsx", isms_workbook(ROWS), by="importer")[1]
        assert again is not None and (again.proposed, again.unchanged) == (0, 3)  # re-importing never duplicates
        final = store.create_assessment(con, unit="Ops", label="2026-Q4", scope="both", catalog_version="t")
        store.set_status(con, final.id, "final", by="assessor")
        counts = propose_from_file(con, "ops.xlsx", isms_workbook(ROWS, block=("Business unit: Ops", "Round: 2026-Q4")),
                                   by="importer")[1]
        assert counts is not None and counts.final == ["Ops · 2026-Q4"] and counts.proposed == 0


def test_cli_propose_list_and_accept(db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "isms.xlsx"
    path.write_bytes(isms_workbook(ROWS))
    assert main(["--db", str(db_path), "frameworks", "propose", str(path)]) == 0
    assert "4 level(s) proposed" in capsys.readouterr().out
    assert main(["--db", str(db_path), "frameworks", "proposals"]) == 0
    assert "Group IT · 2026-Q4 · 9.2.1 Internal audit: general: level 4 (proposed from ISO/IEC 27001:2022 9.2.1, isms.xlsx)" \
        in capsys.readouterr().out
    assert main(["--db", str(db_path), "frameworks", "accept", "--unit", "Group IT", "--assessment", "2026-Q4",
                 "--item", "9.2.2", "--level", "3"]) == 0
    assert "proposal changed" in capsys.readouterr().out
    with connect(db_path) as con:
        assessment = store.get_assessment(con, unit="Group IT", label="2026-Q4")
        assert assessment is not None
        assert scoring.item_scores(con, [assessment.id]).set_index("item_id").loc["9.2.2", "maturity"] == 3
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(isms_workbook([("Z.1", 3, None)]))
    assert main(["--db", str(db_path), "frameworks", "propose", str(bad)]) == 2
    assert "nothing proposed" in capsys.readouterr().err


def test_an_item_answered_after_its_proposal_keeps_its_answer(db_path: Path) -> None:
    """The questionnaire (or an import) answers an item whose level was proposed: the proposal is no longer open,
    and accepting or dismissing it is refused, so the assessor's answer is never overwritten by it."""
    with connect(db_path) as con:
        propose_from_file(con, "isms.xlsx", isms_workbook(ROWS), by="importer")
        assessment = store.get_assessment(con, unit="Group IT", label="2026-Q4")
        assert assessment is not None
        store.update_response(con, assessment.id, "9.2.1", {"maturity": 1, "evidence": "Our own audit"}, by="assessor",
                              principal=ADMIN)
        store.update_response(con, assessment.id, "10.2", {"applicable": False, "justification": "not ours"}, by="assessor",
                              principal=ADMIN)
        assert set(proposals.proposals(con, principal=ADMIN)["item_id"]) == {"9.2.2", "7.5.3"}
        every = proposals.proposals(con, status=None, principal=ADMIN).set_index("item_id")
        assert every.loc["9.2.1", "status"] == every.loc["10.2", "status"] == proposals.ANSWERED_SINCE
        with pytest.raises(proposals.ProposalError, match=r"item 9\.2\.1 was answered at level 1 by assessor after the proposal"):
            proposals.decide(con, assessment.id, "9.2.1", by="lead", principal=ADMIN)
        with pytest.raises(proposals.ProposalError, match=r"item 10\.2 was marked not applicable"):
            proposals.decide(con, assessment.id, "10.2", by="lead", level=3, principal=ADMIN)
        with pytest.raises(proposals.ProposalError):
            proposals.dismiss(con, assessment.id, "9.2.1", by="lead", principal=ADMIN)
        items = scoring.item_scores(con, [assessment.id]).set_index("item_id")
        assert (items.loc["9.2.1", "maturity"], items.loc["9.2.1", "evidence"]) == (1, "Our own audit")
        history = store.item_history(con, assessment.id, "9.2.1", principal=ADMIN)
        assert "proposed from" not in " ".join(history["source"].astype(str))
        # the same file again proposes nothing for the answered items
        again = propose_from_file(con, "isms.xlsx", isms_workbook(ROWS), by="importer")[1]
        assert again is not None and (again.proposed, again.already_answered) == (0, 2)


def test_an_assessor_sees_and_decides_only_its_own_units_proposals(db_path: Path) -> None:
    with connect(db_path) as con:
        both = isms_workbook([("Group IT", "2026-Q4", "9.2", 4), ("Ops", "2026-Q4", "9.2", 2)], block=(),
                             header=("Business unit", "Round", "Requirement", "Maturity"))
        assert propose_from_file(con, "isms.xlsx", both, by="importer")[1] is not None
        access.grant(con, "asa@example.org", "assessor", "Ops", by=ADMIN)
        assessor = access.resolve(con, "asa@example.org", "Asa")
        mine = proposals.proposals(con, principal=assessor)
        assert set(mine["unit"]) == {"Ops"} and set(mine["item_id"]) == {"9.2.1", "9.2.2"}
        assert set(proposals.proposals(con, principal=ADMIN)["unit"]) == {"Group IT", "Ops"}
        ops, group_it = (store.get_assessment(con, unit=u, label="2026-Q4") for u in ("Ops", "Group IT"))
        assert ops is not None and group_it is not None
        assert proposals.decide(con, ops.id, "9.2.1", by="Asa", principal=assessor, level=3) == "changed"
        with pytest.raises(access.AccessDenied):
            proposals.decide(con, group_it.id, "9.2.1", by="Asa", principal=assessor)
        with pytest.raises(access.AccessDenied):  # the gate ui.write asks: a 27001 file is an organiser's import
            access.authorise_write(con, assessor, propose_from_file.__name__)
        changed = store.item_history(con, ops.id, "9.2.1", principal=ADMIN)
        assert changed[changed["field"] == "maturity"].iloc[-1]["source"] == \
            "changed from level 2 proposed from ISO/IEC 27001:2022 9.2.1"
