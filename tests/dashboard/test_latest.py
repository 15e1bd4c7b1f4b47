"""Latest per unit, per scope: every round has a date, the newest clauses and the newest Annex A answers of each
unit are shown (from two rounds if need be, named), changes compare like with like, incomplete drafts are marked,
and a level is the unrounded score rounded down."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboard import analytics, provenance, rounds, schema, scoring, selection, store
from dashboard.catalog import Catalog
from dashboard.db import connect, rows
from etl import exports
from tests.principals import ADMIN

from .helpers import BY, new_assessment, stage

CLAUSE_ITEMS = ("4.1", "4.2", "4.3", "4.4", "5.1", "5.2", "5.3", "6.1.1", "6.1.2", "6.1.3", "6.1.4", "6.2", "6.3",
                "7.1", "7.2", "7.3", "7.4", "7.5.1", "7.5.2", "7.5.3", "8.1", "8.2", "8.3", "8.4",
                "9.1", "9.2.1", "9.2.2", "9.3.1", "9.3.2", "9.3.3", "10.1", "10.2")


def _answer(con: duckdb.DuckDBPyConnection, assessment_id: int, answers: dict[str, int]) -> None:
    store.upsert_responses(con, stage(assessment_id, {i: {"maturity": m} for i, m in answers.items()}), by=BY,
                           source="import")


# --- the clause-only newest round ----------------------------------------------------------------------------
#
# Retail Banking: 2026-Q1 (both): 4.1=1, A.2.2=2;  2026-Q3 (clauses only, newest): 4.1=3
# HR:             2026-Q3 (both): 4.1=2, A.2.2=4


@pytest.fixture
def two_units(con: duckdb.DuckDBPyConnection) -> tuple[duckdb.DuckDBPyConnection, dict[str, int]]:
    ids = {
        "retail_q1": new_assessment(con, "Retail Banking", "2026-Q1", assessed_on=dt.date(2026, 3, 1)).id,
        "retail_q3": new_assessment(con, "Retail Banking", "2026-Q3", scope="clauses", assessed_on=dt.date(2026, 9, 1)).id,
        "hr_q3": new_assessment(con, "HR", "2026-Q3", assessed_on=dt.date(2026, 9, 2)).id,
    }
    _answer(con, ids["retail_q1"], {"4.1": 1, "A.2.2": 2})
    _answer(con, ids["retail_q3"], {"4.1": 3})
    _answer(con, ids["hr_q3"], {"4.1": 2, "A.2.2": 4})
    return con, ids


def test_latest_takes_the_newest_clauses_and_the_newest_annex_a_of_each_unit(two_units) -> None:
    con, ids = two_units
    picks = scoring.select_assessments(con, principal=ADMIN)
    view = ids["retail_q3"]  # the newer of Retail's two rounds stands for the unit
    assert picks == sorted([(ids["retail_q1"], "annex_a", view), (ids["retail_q3"], "clause", view), ids["hr_q3"]],
                           key=lambda p: (p, "") if isinstance(p, int) else (p[0], p[1]))
    assert selection.view_count(picks) == 2 and selection.assessment_ids(picks) == sorted(ids.values())

    sections = scoring.section_scores(con, picks).set_index(["unit", "section"])
    assert sections.loc[("Retail Banking", "4"), ["assessment", "maturity"]].tolist() == ["2026-Q3", 3.0]
    # the Annex A answers of the older round are not lost behind the clause-only newer one
    assert sections.loc[("Retail Banking", "A.2"), ["assessment", "maturity"]].tolist() == ["2026-Q1", 2.0]
    per_unit = scoring.assessment_scores(con, picks).set_index("unit")
    assert len(per_unit) == 2  # each unit once
    assert per_unit.loc["Retail Banking", "assessment"] == "clauses 2026-Q3, Annex A 2026-Q1"
    assert per_unit.loc["Retail Banking", ["clause_maturity", "annex_maturity", "overall_maturity"]].tolist() == [3.0, 2.0,
                                                                                                                   2.5]
    assert per_unit.loc["Retail Banking", "assessment_id"] == view
    summary = scoring.organisation_summary(con, picks)
    # clause (3 + 2)/2 = 2.5; Annex A (2 + 4)/2 = 3.0; overall mean of the units' overall (2.5 + 3)/2 = 2.75
    assert (summary["clause_maturity"], summary["annex_maturity"], summary["overall_maturity"]) == (2.5, 3.0, 2.75)
    assert (summary["units"], summary["assessments"]) == (2, 3)
    ranked = analytics.ranking(con, picks)
    assert ranked["unit"].tolist() == ["HR", "Retail Banking"] and ranked["overall_maturity"].tolist() == [3.0, 2.5]
    gaps = analytics.largest_gaps(con, picks, 50)
    # Retail's gaps: A.2.2 from its older Annex A round; its older 4.1 = 1 is superseded by the newer 4.1 = 3
    assert gaps[gaps["unit"] == "Retail Banking"][["assessment", "item_id"]].values.tolist() == [["2026-Q1", "A.2.2"]]
    # a round label still takes that round only: Retail's 2026-Q3 has no Annex A
    q3 = scoring.organisation_summary(con, scoring.select_assessments(con, principal=ADMIN, round_label="2026-Q3"))
    assert q3["annex_maturity"] == 4.0


def test_the_rounds_used_are_named(two_units) -> None:
    con, _ = two_units
    picks = scoring.select_assessments(con, principal=ADMIN)
    used = provenance.rounds_used(con, picks).set_index("unit")
    assert used.loc["Retail Banking", ["clauses", "annex_a"]].tolist() == ["2026-Q3", "2026-Q1"]
    assert used.loc["Retail Banking", "annex_a_on"] == pd.Timestamp("2026-03-01")
    text = provenance.rounds_text(provenance.rounds_used(con, picks))
    assert text == "Rounds used: 2026-Q3 — HR; clauses 2026-Q3, Annex A 2026-Q1 — Retail Banking"
    assert provenance.notes(con, picks)[0] == text
    assert not any(n.startswith("Rounds used") for n in provenance.notes(con, picks, "2026-Q3"))


def test_a_larger_group_is_counted_not_listed() -> None:
    used = pd.DataFrame({"unit": [f"U{i}" for i in range(5)] + ["Solo"],
                         "clauses": ["2026-Q3"] * 5 + ["2026-Q1"], "annex_a": ["2026-Q3"] * 5 + [None]})
    assert provenance.rounds_text(used) == "Rounds used: 2026-Q3 — 5 units; 2026-Q1 — Solo"


def test_change_compares_like_with_like(two_units) -> None:
    con, ids = two_units
    picks = scoring.select_assessments(con, principal=ADMIN)
    now, before = selection.previous(con, picks)
    # Retail's clauses (2026-Q3) against its 2026-Q1 clauses; its Annex A (2026-Q1) and HR have no earlier round
    assert now == [(ids["retail_q3"], "clause", ids["retail_q3"])]
    assert before == [(ids["retail_q1"], "clause", ids["retail_q1"])]
    summary, change = analytics.summary_change(con, picks)
    assert summary["clause_maturity"] == 2.5
    assert change is not None
    assert change["clause_maturity"] == 2.0  # Retail 1 -> 3; HR, new, is on neither side
    assert change["annex_maturity"] is None  # no unit has an earlier Annex A round
    assert change["open_gaps"] == -1  # Retail's 4.1 was below target 3 and is now at it
    # a unit alone, first round: nothing to compare
    assert analytics.summary_change(con, [ids["hr_q3"]])[1] is None


def test_newest_is_decided_by_date_then_creation_then_id(con: duckdb.DuckDBPyConnection) -> None:
    first = new_assessment(con, "Ops", "A", assessed_on=dt.date(2026, 5, 1))
    second = new_assessment(con, "Ops", "B", assessed_on=dt.date(2026, 5, 1))  # same day, created later
    older = new_assessment(con, "Ops", "C", assessed_on=dt.date(2026, 4, 1))  # created last, dated earlier
    assert scoring.select_assessments(con, principal=ADMIN) == [second.id]
    con.execute("UPDATE assessment SET created_at = TIMESTAMP '2026-05-01 09:00' WHERE unit_id = ?", [first.unit_id])
    assert scoring.select_assessments(con, principal=ADMIN) == [max(first.id, second.id)]  # a full tie: the higher id
    assert older.id not in scoring.select_assessments(con, principal=ADMIN)


def test_every_assessment_has_a_date(con: duckdb.DuckDBPyConnection) -> None:
    undated = new_assessment(con, "Ops", "Backlog")
    assert undated.assessed_on == dt.date.today()
    with pytest.raises(duckdb.ConstraintException):
        con.execute("UPDATE assessment SET assessed_on = NULL WHERE id = ?", [undated.id])


def test_migration_dates_old_undated_assessments(tmp_path: Path) -> None:
    """A file from before the rule: its undated rounds take the day they were created, logged as a change."""
    path = tmp_path / "v3.duckdb"
    old = duckdb.connect(str(path))
    schema.current_version(old)
    for number, script in enumerate(schema.MIGRATIONS[:3], start=1):
        old.execute(script)
        old.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
    old.execute("INSERT INTO unit (name) VALUES ('Legacy')")
    old.execute("""INSERT INTO assessment (unit_id, label, scope, source, catalog_version, created_at, assessed_on) VALUES
                   (1, 'Old', 'both', 'import', 'x', TIMESTAMP '2026-02-03 10:00', NULL),
                   (1, 'Dated', 'both', 'form', 'x', TIMESTAMP '2026-04-01 10:00', DATE '2026-01-15')""")
    old.close()
    with connect(path, wait=5) as con:
        assert rows(con, "SELECT label, assessed_on FROM assessment ORDER BY id") == [
            ("Old", dt.date(2026, 2, 3)), ("Dated", dt.date(2026, 1, 15))]
        assert rows(con, "SELECT assessment_id, field, old_value, new_value, changed_by FROM change_log") == [
            (1, "assessed_on", None, "2026-02-03", "migration")]
        # the formerly undated round, created later, is now the newer one by date
        assert scoring.select_assessments(con, principal=ADMIN) == [1]


def test_a_rounds_date_can_be_corrected_and_decides_the_latest(two_units) -> None:
    con, ids = two_units
    assert rounds.set_date(con, ids["retail_q1"], dt.date(2026, 10, 1), principal=ADMIN, by="Ana")
    assert not rounds.set_date(con, ids["retail_q1"], dt.date(2026, 10, 1), principal=ADMIN, by="Ana")  # unchanged: nothing logged
    assert rows(con, """SELECT field, old_value, new_value, changed_by FROM change_log
                        WHERE assessment_id = ? AND field = 'assessed_on'""", [ids["retail_q1"]]) == [
        ("assessed_on", "2026-03-01", "2026-10-01", "Ana")]
    assert ids["retail_q1"] in scoring.select_assessments(con, principal=ADMIN)  # now the newest for both scopes
    store.set_status(con, ids["hr_q3"], "final", "Ana")
    with pytest.raises(store.StoreError, match="finalised and read-only"):
        rounds.set_date(con, ids["hr_q3"], dt.date(2026, 1, 1), principal=ADMIN, by="Ana")
    assert store.get_assessment(con, ids["hr_q3"]).assessed_on == dt.date(2026, 9, 2)


def test_incomplete_drafts_are_marked(two_units, monkeypatch: pytest.MonkeyPatch) -> None:
    con, ids = two_units
    picks = scoring.select_assessments(con, principal=ADMIN)
    # HR: 2 of 70 answered; Retail: clauses 1 of 32, Annex A 1 of 38 (all drafts)
    found = provenance.drafts(con, picks)
    assert found["unit"].tolist() == ["Retail Banking", "HR", "Retail Banking"]
    assert found["completeness"].tolist() == pytest.approx([1 / 38, 2 / 70, 1 / 32])
    assert provenance.marked(found) == {"Retail Banking": "Retail Banking · draft 2%", "HR": "HR · draft 2%"}
    text = provenance.drafts_text(found)
    assert text.startswith("Provisional: 3 draft round(s) under 80% complete")
    assert "Retail Banking (2026-Q1, 2% complete)" in text
    _answer(con, ids["hr_q3"], dict.fromkeys(CLAUSE_ITEMS, 3))  # 33 of 70: still under 80%
    assert "HR" in set(provenance.drafts(con, picks)["unit"])
    monkeypatch.setenv("AIMS_DRAFT_COMPLETENESS", "40")
    assert "HR" not in set(provenance.drafts(con, picks)["unit"])  # 47% >= 40%
    monkeypatch.setenv("AIMS_DRAFT_COMPLETENESS", "many")
    with pytest.raises(ValueError, match="AIMS_DRAFT_COMPLETENESS"):
        provenance.draft_threshold()


def test_a_final_round_is_never_marked(con: duckdb.DuckDBPyConnection) -> None:
    done = new_assessment(con, "Ops", "R1", scope="clauses", assessed_on=dt.date(2026, 1, 1))
    _answer(con, done.id, dict.fromkeys(CLAUSE_ITEMS, 3))
    store.set_status(con, done.id, "final", BY)
    assert provenance.drafts(con, [done.id], 1.0).empty


# --- the level is the unrounded score rounded down ------------------------------------------------------------
#
# Every clause item at 3 except 4.1 = 4 and 8.1 = 2 (catalog weights: 4.3 weighs 1.5, the rest 1):
#   section 4 = (4 + 3 + 1.5*3 + 3) / 4.5 = 14.5/4.5 = 3.2222; section 8 = (2 + 3 + 3 + 3)/4 = 2.75; the others 3
#   clause maturity = (3.2222 + 2.75 + 5*3) / 7 = 20.9722/7 = 2.99603 -> shown 3.00, level 2 (Managed)

ALMOST_THREE = {**dict.fromkeys(CLAUSE_ITEMS, 3), "4.1": 4, "8.1": 2}


@pytest.fixture
def almost_three(con: duckdb.DuckDBPyConnection) -> tuple[duckdb.DuckDBPyConnection, int]:
    made = new_assessment(con, "Ops", "R1", scope="clauses", assessed_on=dt.date(2026, 1, 1))
    _answer(con, made.id, ALMOST_THREE)
    return con, made.id


def test_a_2996_score_is_shown_as_3_and_is_level_managed(almost_three, catalog: Catalog) -> None:
    con, made = almost_three
    row = scoring.assessment_scores(con, [made]).iloc[0]
    assert (row["clause_maturity"], row["clause_maturity_level"]) == (3.0, 2)
    assert (row["overall_maturity"], row["overall_maturity_level"]) == (3.0, 2)
    summary = scoring.organisation_summary(con, [made])
    assert (summary["clause_maturity"], summary["clause_maturity_level"]) == (3.0, 2)
    assert catalog.scale.level_name(summary["clause_maturity_level"]) == "Managed"
    table = exports.assessments_table(scoring.assessment_scores(con, [made]), catalog)
    assert table.loc[0, ["clause_maturity", "clause_level"]].tolist() == [3.0, "Managed"]
    ranked = analytics.ranking(con, [made])
    assert (ranked.loc[0, "overall_maturity"], ranked.loc[0, "overall_maturity_level"]) == (3.0, 2)


def test_a_section_level_comes_from_the_unrounded_score(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    # two units on section 4: 14.5/4.5 = 3.2222 and (2 + 3 + 4.5 + 3)/4.5 = 2.7778 -> mean 3.0 (from floating sums
    # that may land a hair under 3: still level 3)
    a = new_assessment(con, "A", "R1", scope="clauses", assessed_on=dt.date(2026, 1, 1))
    b = new_assessment(con, "B", "R1", scope="clauses", assessed_on=dt.date(2026, 1, 1))
    _answer(con, a.id, {"4.1": 4, "4.2": 3, "4.3": 3, "4.4": 3})
    _answer(con, b.id, {"4.1": 2, "4.2": 3, "4.3": 3, "4.4": 3})
    org = scoring.organisation_sections(con, [a.id, b.id]).set_index("section")
    assert (org.loc["4", "maturity"], org.loc["4", "maturity_level"]) == (3.0, 3)
    # and a frame of unrounded scores with no level column names the level from the column itself
    frame = pd.DataFrame({"maturity": [2.996, 3.0, None]})
    assert scoring.with_levels(frame, catalog.scale)["level"].tolist() == ["Managed", "Defined", "Not assessed"]
    sections = scoring.with_levels(scoring.section_scores(con, [a.id]), catalog.scale).set_index("section")
    assert sections.loc["4", ["maturity", "maturity_level", "level"]].tolist() == [3.22, 3, "Defined"]


def test_the_executive_summary_names_the_rounds_and_the_provisional_drafts(two_units) -> None:
    from dashboard import summarize

    con, _ = two_units
    request = summarize.prepare(con, summarize.Scope("executive"), principal=ADMIN)
    assert "Rounds used: 2026-Q3 — HR; clauses 2026-Q3, Annex A 2026-Q1 — Retail Banking" in request.facts
    assert any(f.startswith("Provisional: 3 draft round(s) under 80% complete") for f in request.facts)
    # the headline as every page labels it (analytics.headline_figures), then Annex A maturity
    headline = next(f for f in request.facts if f.startswith("Overall maturity: "))
    assert "; Level: 2 Managed; Clause maturity (4-10): 2.50; Annex A coverage: " in headline
    assert any(f.startswith("Annex A maturity 3.00 (Defined)") for f in request.facts)


def test_a_heatmap_cell_takes_the_colour_of_its_level(catalog: Catalog) -> None:
    from dashboard import charts

    sections = pd.DataFrame({"unit": ["Ops", "Ops"], "section": ["4", "5"], "maturity": [3.0, 3.0],
                             "maturity_level": [2, 3]})  # 2.996 and 3.0, both shown as 3.00
    cell = charts.heatmap(sections).data[0]
    assert list(cell.text[0]) == ["3.00", "3.00"]
    assert list(cell.z[0]) == pytest.approx([2.999, 3.0])  # the first stays in level 2's colour band


def test_a_new_round_starts_from_the_newest_answers_of_each_scope(con: duckdb.DuckDBPyConnection) -> None:
    both = new_assessment(con, "Ops", "R1", assessed_on=dt.date(2026, 1, 1))
    annex = new_assessment(con, "Ops", "R2", scope="annex_a", assessed_on=dt.date(2026, 4, 1))
    _answer(con, both.id, {"4.1": 2, "A.2.2": 3})
    _answer(con, annex.id, {"A.2.2": 4})
    created, counts = rounds.start_assessment(con, unit="Ops", label="R3", scope="both", catalog_version="x",
                                              assessed_on=dt.date(2026, 7, 1), principal=ADMIN, by=BY, copy_previous=True)
    copied = store.responses(con, principal=ADMIN, assessment_ids=[created.id]).dropna(subset=["maturity"])
    copied = copied.set_index("item_id")["maturity"].to_dict()
    # the clauses from R1 (R2 has none), Annex A from R2, the newest round that has them
    assert copied == {"4.1": 2, "A.2.2": 4} and counts.new == 2
    assert rounds.previous_assessment(con, created.id, "clause").id == both.id
    assert rounds.previous_assessment(con, created.id).id == annex.id


def test_the_round_before_is_the_same_for_copying_and_for_the_change(con: duckdb.DuckDBPyConnection) -> None:
    """Two rounds of one unit on the same day: the one started first is the other's previous, never the reverse,
    and the round a new round copies from is the round the change figures compare with."""
    from dashboard import selection

    r1 = new_assessment(con, "Ops", "R1", assessed_on=dt.date(2026, 1, 1))
    first = new_assessment(con, "Ops", "June A", assessed_on=dt.date(2026, 6, 1))
    second = new_assessment(con, "Ops", "June B", assessed_on=dt.date(2026, 6, 1))
    later = new_assessment(con, "Ops", "R4", assessed_on=dt.date(2026, 9, 1))
    assert rounds.previous_assessment(con, r1.id) is None
    assert rounds.previous_assessment(con, first.id).id == r1.id  # not June B, started later that day
    assert rounds.previous_assessment(con, second.id).id == first.id
    assert rounds.previous_assessment(con, later.id).id == second.id
    for current in (first, second, later):
        _, before, _ = selection.previous_rounds(con, [(current.id, "clause", current.id)])
        assert [b[0] for b in before] == [rounds.previous_assessment(con, current.id, "clause").id]
