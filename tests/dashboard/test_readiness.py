"""The derived-readiness rule, table-driven: each relationship type, N/A items, unassessed items, items outside
a round's scope, several units. Expected figures are worked out by hand from the rule in dashboard/readiness.py
(strengths: equal and superset of 1, subset of 0.5, intersects with 0.25)."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd
import pytest

from dashboard import readiness, scoring, store
from dashboard.frameworks import MappingRow, MappingSet
from dashboard.mapping_store import save_imported
from tests.principals import ADMIN

from .helpers import BY, new_assessment

SET = "test-rule"
# 42001 item -> EU AI Act article, one relationship type per article (the set is stored like an imported one)
ROWS = [
    ("4.1", "Art. 4", "equal"),
    ("4.2", "Art. 5", "superset of"),
    ("5.1", "Art. 6", "subset of"),
    ("5.2", "Art. 9", "intersects with"),
    ("6.1.1", "Art. 10", "equal"), ("6.1.2", "Art. 10", "subset of"),
    ("A.2.2", "Art. 11", "equal"),
    ("A.2.3", "Art. 12", "equal"), ("A.2.4", "Art. 12", "intersects with"),
    ("7.1", "Art. 13", "equal"), ("A.3.2", "Art. 13", "subset of"),
    ("7.2", "Art. 14", "equal"), ("7.3", "Art. 14", "equal"),
    ("7.4", "Art. 15", "equal"),
    ("8.1", "Art. 17", "subset of"), ("8.2", "Art. 17", "intersects with"),
]


def _set() -> MappingSet:
    rows = [MappingRow(source=s, target=t, relationship=r, rationale="test") for s, t, r in ROWS]
    rows.append(MappingRow(target="Art. 43", relationship="no counterpart", rationale="a legal procedure"))
    return MappingSet(id=SET, name="Rule test", target_framework="eu-ai-act", made_by="tests", licence="test",
                      rows=tuple(rows), origin="imported")


@pytest.fixture
def db(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    save_imported(con, _set(), content_hash="h", by=BY, principal=ADMIN)
    return con


def _answer(con: duckdb.DuckDBPyConnection, unit: str, answers: dict[str, Any], scope: str = "both") -> int:
    assessment = new_assessment(con, unit, "R1", scope=scope)
    for item, value in answers.items():
        if value == "n/a":
            store.update_response(con, assessment.id, item, {"applicable": False, "justification": "not used"}, by=BY, principal=ADMIN)
        elif isinstance(value, tuple):
            store.update_response(con, assessment.id, item, {"maturity": value[0], "target": value[1]}, by=BY, principal=ADMIN)
        else:
            store.update_response(con, assessment.id, item, {"maturity": value}, by=BY, principal=ADMIN)
    return assessment.id


CASES = [
    # (case, answers: item -> maturity | (maturity, target) | "n/a", article, derived maturity, state)
    ("equal at target", {"4.1": 3}, "Art. 4", 3.0, "covered"),
    ("equal above target", {"4.1": 5}, "Art. 4", 5.0, "covered"),
    ("equal below target", {"4.1": 2}, "Art. 4", 2.0, "partial"),
    ("equal, own target lower", {"4.1": (2, 2)}, "Art. 4", 2.0, "covered"),
    ("superset of at target", {"4.2": 4}, "Art. 5", 4.0, "covered"),
    ("subset of at target is only partial", {"5.1": 3}, "Art. 6", 3.0, "partial"),
    ("intersects with at 5 is only partial", {"5.2": 5}, "Art. 9", 5.0, "partial"),
    # (1 x 4 + 0.5 x 1) / 1.5 = 3.0; 6.1.2 is below target
    ("weighted by strength", {"6.1.1": 4, "6.1.2": 1}, "Art. 10", 3.0, "partial"),
    # (1 x 3 + 0.5 x 3) / 1.5 = 3.0; both at target and one is equal
    ("equal and subset both at target", {"6.1.1": 3, "6.1.2": 3}, "Art. 10", 3.0, "covered"),
    ("only item not applicable", {"A.2.2": "n/a"}, "Art. 11", None, "not applicable"),
    ("not applicable item left out", {"A.2.3": 3, "A.2.4": "n/a"}, "Art. 12", 3.0, "covered"),
    # (1 x 4 + 0.25 x 0) / 1.25 = 3.2; A.2.4 is below target
    ("intersects weighs a quarter", {"A.2.3": 4, "A.2.4": 0}, "Art. 12", 3.2, "partial"),
    ("unassessed only", {}, "Art. 13", None, "not assessed"),
    ("unassessed never counts as zero", {"7.2": 3}, "Art. 14", 3.0, "partial"),
    ("all assessed at target", {"7.2": 3, "7.3": 4}, "Art. 14", 3.5, "covered"),
    ("level 0 is missing", {"7.4": 0}, "Art. 15", 0.0, "missing"),
    ("partial relationships at 0 are missing", {"8.1": 0, "8.2": 0}, "Art. 17", 0.0, "missing"),
    # (0.5 x 2 + 0.25 x 4) / 0.75 = 2.67
    ("subset and intersects", {"8.1": 2, "8.2": 4}, "Art. 17", 2.67, "partial"),
    ("no counterpart", {"4.1": 5}, "Art. 43", None, readiness.NOT_COVERED),
    ("not in the set at all", {"4.1": 5}, "Art. 49", None, readiness.NOT_COVERED),
]


@pytest.mark.parametrize(("case", "answers", "article", "maturity", "state"), CASES, ids=[c[0] for c in CASES])
def test_the_rule(db: duckdb.DuckDBPyConnection, case: str, answers: dict[str, Any], article: str,
                  maturity: float | None, state: str) -> None:
    assessment = _answer(db, "Unit A", answers)
    table = readiness.requirement_readiness(db, [assessment], "eu-ai-act", SET)
    row = table[table["requirement"] == article].iloc[0]
    assert row["state"] == state
    assert (pd.isna(row["maturity"]) if maturity is None else row["maturity"] == pytest.approx(maturity))
    assert row["mapping_set"] == SET
    assert len(table) == 20  # every requirement of the framework, for the one assessment


def test_an_item_outside_the_rounds_scope_is_not_assessed(db: duckdb.DuckDBPyConnection) -> None:
    assessment = _answer(db, "Unit A", {"4.1": 3}, scope="clauses")  # A.2.3 and A.2.4 are Annex A
    table = readiness.requirement_readiness(db, [assessment], "eu-ai-act", SET).set_index("requirement")
    assert table.loc["Art. 12", "state"] == "not assessed"
    assert table.loc["Art. 4", "state"] == "covered"
    behind = readiness.basis(db, [assessment], "eu-ai-act", "Art. 12", SET)
    assert set(behind["state"]) == {"not in this round's scope"}


def test_an_item_outside_the_scope_does_not_lower_the_derived_target(db: duckdb.DuckDBPyConnection) -> None:
    assessment = _answer(db, "Unit A", {"7.1": 3}, scope="clauses")  # A.3.2 is Annex A: outside this round
    row = readiness.requirement_readiness(db, [assessment], "eu-ai-act", SET).set_index("requirement").loc["Art. 13"]
    assert (row["maturity"], row["target"], row["state"]) == (3.0, 3.0, "partial")
    assert (row["mapped_items"], row["applicable_items"], row["assessed_items"]) == (2, 2, 1)


def test_a_single_equal_item_gives_exactly_the_scoring_engines_maturity(db: duckdb.DuckDBPyConnection) -> None:
    assessment = _answer(db, "Unit A", {"4.1": 4, "7.4": 1})
    items = scoring.item_scores(db, [assessment]).set_index("item_id")
    table = readiness.requirement_readiness(db, [assessment], "eu-ai-act", SET).set_index("requirement")
    assert table.loc["Art. 4", "maturity"] == items.loc["4.1", "maturity"]
    assert table.loc["Art. 15", "target"] == items.loc["7.4", "target"]


def test_several_units_each_count_once(db: duckdb.DuckDBPyConnection) -> None:
    ids = [_answer(db, "Unit A", {"4.1": 3, "7.4": 0}), _answer(db, "Unit B", {"4.1": 1}),
           _answer(db, "Unit C", {"4.1": 5, "A.2.2": "n/a"})]
    per_unit = readiness.requirement_readiness(db, ids, "eu-ai-act", SET)
    assert sorted(per_unit["unit"].unique()) == ["Unit A", "Unit B", "Unit C"]
    summary = readiness.organisation_readiness(db, ids, "eu-ai-act", SET).set_index("requirement")
    art4 = summary.loc["Art. 4"]
    assert art4["maturity"] == pytest.approx(3.0)  # (3 + 1 + 5) / 3
    assert (art4["covered"], art4["partial"], art4["units"]) == (2, 1, 3)
    art15 = summary.loc["Art. 15"]
    assert (art15["missing"], art15["not assessed"]) == (1, 2)
    assert art15["maturity"] == pytest.approx(0.0)  # only Unit A has a figure
    art11 = summary.loc["Art. 11"]
    assert (art11["not applicable"], art11["not assessed"]) == (1, 2)
    assert summary.loc["Art. 43", readiness.NOT_COVERED] == 3


def test_the_basis_lists_each_answer_with_its_link_relationship_and_evidence(db: duckdb.DuckDBPyConnection) -> None:
    first = _answer(db, "Unit A", {"6.1.1": 4})
    store.update_response(db, first, "6.1.1", {"evidence": "Risk criteria v2"}, by=BY, principal=ADMIN)
    second = _answer(db, "Unit B", {"6.1.2": 2})
    behind = readiness.basis(db, [first, second], "eu-ai-act", "Art. 10", SET)
    assert len(behind) == 4  # two units x two mapped items
    row = behind[(behind["unit"] == "Unit A") & (behind["item_id"] == "6.1.1")].iloc[0]
    assert (row["relationship"], row["strength"], row["maturity"], row["evidence"]) == ("equal", 1.0, 4, "Risk criteria v2")
    assert row["link"] == f"assess?assessment={first}&item=6.1.1"
    unassessed = behind[(behind["unit"] == "Unit A") & (behind["item_id"] == "6.1.2")].iloc[0]
    assert unassessed["state"] == "not assessed"


def test_our_sets_are_the_default_and_uncovered_lists_the_reasons(con: duckdb.DuckDBPyConnection) -> None:
    assert readiness.default_set(con, "eu-ai-act") == "aims-42001-eu-ai-act"
    gaps = readiness.uncovered(con, "eu-ai-act").set_index("requirement")
    assert set(gaps.index) == {"Art. 43", "Art. 49"}
    assert "conformity" in gaps.loc["Art. 43", "reason"]
    with pytest.raises(KeyError, match="maps to eu-ai-act, not to nist-ai-rmf"):
        readiness.requirement_readiness(con, [], "nist-ai-rmf", "aims-42001-eu-ai-act")


def test_the_overview_of_a_framework_for_the_report(db: duckdb.DuckDBPyConnection) -> None:
    ids = [_answer(db, "Unit A", {"4.1": 3, "7.4": 0}), _answer(db, "Unit B", {"4.1": 1}),
           _answer(db, "Unit C", {"4.1": 5, "A.2.2": "n/a"})]
    line = readiness.overview(db, ids, "eu-ai-act", SET)
    # only Art. 4 (units' mean 3.0) and Art. 15 (0.0, Unit A alone) have a figure: (3.0 + 0.0) / 2
    assert (line["mapping_set"], line["requirements"], line["maturity"]) == (SET, 20, 1.5)
    # requirements in each state in at least one unit: Art. 4 covered (A, C) and partial (B); Art. 15 missing (A);
    # Art. 11 not applicable (C); every mapped article but Art. 4 not assessed somewhere (10 of the 11 mapped); the
    # 9 of the framework's 20 articles this set maps nothing to (Art. 43 says no counterpart, 8 have no row)
    assert {s: line[s] for s in readiness.STATES} == {"covered": 1, "partial": 1, "missing": 1, "not assessed": 10,
                                                      "not applicable": 1, readiness.NOT_COVERED: 9}
    assert readiness.overview(db, [], "eu-ai-act", SET)["maturity"] is None


def test_a_derived_maturity_shown_as_3_00_keeps_level_2_in_the_export_and_the_heatmap(
        con: duckdb.DuckDBPyConnection, catalog) -> None:
    """The level is the floor of the unrounded figure (README, *How scores are computed*): 69 items equal to Art. 4
    at level 3 and one intersecting with it at 2 give (69 × 3 + 0.25 × 2) / 69.25 = 2.9964, shown as 3.00."""
    from dashboard.framework_charts import readiness_heatmap
    from etl.framework_exports import HEADERS, readiness_table

    rows = [MappingRow(source=i.id, target="Art. 4", relationship="intersects with" if i.id == "A.2.2" else "equal",
                       rationale="test") for i in catalog.items]
    assert len(rows) == 70
    save_imported(con, MappingSet(id="wide-art-4", name="One article, every item", target_framework="eu-ai-act",
                                  made_by="tests", licence="test", rows=tuple(rows), origin="imported"),
                  content_hash="w", by=BY, principal=ADMIN)
    aid = _answer(con, "Ops", {i.id: 2 if i.id == "A.2.2" else 3 for i in catalog.items})
    per_unit = readiness.requirement_readiness(con, [aid], "eu-ai-act", "wide-art-4").set_index("requirement")
    assert per_unit.loc["Art. 4", "maturity"] == 3.0 and per_unit.loc["Art. 4", "maturity_level"] == 2
    table = readiness_table(con, [aid], "eu-ai-act", "wide-art-4").set_index(HEADERS["requirement"])
    assert table.loc["Art. 4", HEADERS["maturity"]] == 3.0
    assert table.loc["Art. 4", HEADERS["level"]] == "Managed"  # not Defined, which 3.00 would read as
    heat = readiness_heatmap(per_unit.reset_index()).data[0]
    cell = heat.z[0][list(heat.x).index("Art. 4")]
    assert 2.99 < cell < 3.0  # drawn in level 2's colour band, labelled 3.0
