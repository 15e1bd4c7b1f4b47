"""The synthetic organisation for benchmarks: counts, constraints, scoring, spread and determinism."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from benchmarks.generate_org import GENERATED_BY, generate, main, round_labels
from dashboard import scoring, store
from dashboard.catalog import load_catalog
from dashboard.db import connect
from tests.principals import ADMIN

UNITS, ROUNDS = 12, 3
CATALOG = load_catalog()


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("org") / "org.duckdb"
    generate(path, UNITS, ROUNDS, seed=7)
    return path


def _frame(path: Path, sql: str) -> pd.DataFrame:
    with connect(path) as con:
        return con.execute(sql).df()


def _all_responses(path: Path) -> pd.DataFrame:
    """Every response keyed by unit name and round label (ids are the database's business)."""
    return _frame(path, """SELECT u.name, a.label, a.assessed_on, a.status, r.* EXCLUDE (assessment_id)
                           FROM response r JOIN assessment a ON a.id = r.assessment_id JOIN unit u ON u.id = a.unit_id
                           ORDER BY u.name, a.label, r.item_id""")


def test_counts_units_rounds_and_items(org: Path) -> None:
    counts = _frame(org, """SELECT (SELECT count(*) FROM assessment) AS assessments,
                                   (SELECT count(*) FROM response) AS responses,
                                   (SELECT count(DISTINCT unit_id) FROM assessment) AS assessed_units,
                                   (SELECT count(*) FROM unit WHERE parent_id IS NOT NULL) AS grouped_units""").iloc[0]
    assert counts["assessments"] == UNITS * ROUNDS
    assert counts["responses"] == UNITS * ROUNDS * len(CATALOG.items) == UNITS * ROUNDS * 70
    assert counts["assessed_units"] == UNITS
    assert counts["grouped_units"] == UNITS  # every assessed unit sits under a parent
    with connect(org) as con:
        assessments = store.list_assessments(con)
    assert set(assessments["scope"]) == {"both"}
    assert sorted(set(assessments["label"])) == [label for label, _ in round_labels(ROUNDS)] == ["2023-Q1", "2023-Q2",
                                                                                                 "2023-Q3"]
    assert assessments.groupby("unit")["label"].nunique().eq(ROUNDS).all()


def test_values_respect_the_schema_and_the_import_rules(org: Path) -> None:
    rows = _all_responses(org).merge(_frame(org, "SELECT item_id, kind FROM catalog_item"), on="item_id")
    assert rows["maturity"].dropna().between(0, 5).all()
    assert set(rows["target"].dropna()) <= {4}  # the default (3) is never stored: blank means "the default"
    excluded = rows[~rows["applicable"]]
    assert not excluded.empty and set(excluded["kind"]) == {"annex_a"}  # only Annex A controls can be excluded
    assert excluded["justification"].str.strip().str.len().gt(0).all()
    assert excluded["maturity"].isna().all()
    assert rows.loc[rows["applicable"], "justification"].isna().all()
    assert set(rows["changed_by"]) == {GENERATED_BY}
    # a statement the CHECK constraints would refuse is refused: they are in force on the generated file
    with connect(org) as con, pytest.raises(duckdb.ConstraintException):
        con.execute("UPDATE response SET maturity = 6 WHERE item_id = '4.1'")


def test_only_the_latest_round_has_unassessed_items_and_those_rounds_are_drafts(org: Path) -> None:
    rows = _all_responses(org)
    latest = round_labels(ROUNDS)[-1][0]
    unassessed = rows[rows["applicable"] & rows["maturity"].isna()]
    assert not unassessed.empty
    assert set(unassessed["label"]) == {latest}
    assert set(unassessed["status"]) == {"draft"}
    assert set(rows.loc[rows["label"] != latest, "status"]) == {"final"}
    share = len(unassessed) / len(rows[rows["label"] == latest])
    assert 0 < share < 0.1


def test_scoring_gives_sixteen_sections_per_assessment(org: Path) -> None:
    with connect(org) as con:
        sections = scoring.section_scores(con)
        summary = scoring.organisation_summary(con, scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST))
    per_assessment = sections.groupby("assessment_id")["section"].nunique()
    assert len(per_assessment) == UNITS * ROUNDS
    assert per_assessment.eq(16).all()
    assert sections["maturity"].notna().all() and sections["maturity"].between(0, 5).all()
    assert summary["units"] == UNITS and summary["assessments"] == UNITS


def test_units_differ_and_the_organisation_progresses(org: Path) -> None:
    with connect(org) as con:
        scores = scoring.assessment_scores(con)
    first, last = round_labels(ROUNDS)[0][0], round_labels(ROUNDS)[-1][0]
    by_round = scores.groupby("assessment")["clause_maturity"].mean()
    assert by_round[last] > by_round[first]
    spread = scores[scores["assessment"] == first]["clause_maturity"]
    assert spread.max() - spread.min() > 0.5  # strong and weak units, not one level for all


def test_the_same_seed_gives_the_same_responses(org: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.duckdb"
    generate(again, UNITS, ROUNDS, seed=7)
    pd.testing.assert_frame_equal(_all_responses(org), _all_responses(again))
    other = tmp_path / "other.duckdb"
    generate(other, UNITS, ROUNDS, seed=8)
    assert not _all_responses(org)["maturity"].equals(_all_responses(other)["maturity"])


def test_refuses_a_database_that_already_holds_units(org: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="already holds"):
        generate(org, 2, 1)
    target = tmp_path / "cli.duckdb"
    assert main(["--units", "3", "--rounds", "2", "--out", str(target)]) == 0
    assert main(["--units", "3", "--rounds", "2", "--out", str(target)]) == 2  # exists: needs --force
    assert main(["--units", "4", "--rounds", "2", "--out", str(target), "--force"]) == 0
    assert _frame(target, "SELECT count(*) AS n FROM assessment").iloc[0]["n"] == 8
