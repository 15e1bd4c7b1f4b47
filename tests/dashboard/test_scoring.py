"""Scoring against hand-computed figures.

Every expected number below is a literal worked out by hand from the rules in dashboard/scoring.py and
the catalog weights (foundational items 4.3, 5.2, 5.3, 6.1.2, 6.1.4, A.2.2, A.3.2, A.5.2, A.6.1.3 weigh
1.5, every other item 1.0). The arithmetic is in the comments next to each figure.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboard import scoring, store
from dashboard.catalog import Catalog
from dashboard.db import connect
from dashboard.scoring import LATEST
from tests.principals import ADMIN

from .helpers import BY, new_assessment, stage

REPO = Path(__file__).resolve().parents[2]
NAN = float("nan")
CLAUSE_SECTIONS = ["4", "5", "6", "7", "8", "9", "10"]
ANNEX_SECTIONS = ["A.2", "A.3", "A.4", "A.5", "A.6", "A.7", "A.8", "A.9", "A.10"]


def same(actual: object, expected: float | None) -> bool:
    """Equal to two decimals, where None/NaN expected means missing."""
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return actual is None or pd.isna(actual)  # type: ignore[arg-type]
    return actual is not None and not pd.isna(actual) and abs(float(actual) - expected) < 1e-9  # type: ignore[arg-type]


# --- the scored database ---------------------------------------------------------------------------
#
# Alpha R1 (scope both, default target 3)
#   4:   4.1=2, 4.2=3, 4.3=4 (target 4, w1.5), 4.4 not assessed
#   5:   5.1=5 (over target), 5.2=1 (w1.5), 5.3=3 (w1.5)
#   6:   6.1.2=0 (w1.5), 6.1.4=2 (w1.5), 6.2=4 (target 5); 6.1.1, 6.1.3, 6.3 not assessed
#   7-10 nothing
#   A.2: all three controls not applicable (A.2.2 still carries a stored maturity 2: ignored)
#   A.3: A.3.2=3 (w1.5), A.3.3=1
#   A.4: A.4.2=4 (target 4), A.4.3=0, A.4.4=2, A.4.5 not applicable (stored maturity 5: ignored), A.4.6 not assessed
# Gamma R1 (scope both)
#   4:   4.1=4, 4.2=4, 4.3=1 (w1.5), 4.4=0
#   A.4: A.4.2=3, A.4.3=3, A.4.4=3, A.4.5=1, A.4.6=2
# Beta R1 (scope clauses): nothing answered
# Epsilon R1 (scope clauses, default target 4): 4.1=3, 4.2=4
# Delta R1 (scope annex_a): A.9.2=2


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, int]]]:
    path = tmp_path_factory.mktemp("scoring") / "aims.duckdb"
    with connect(path, wait=5) as con:
        ids: dict[str, int] = {}
        alpha = new_assessment(con, "Alpha", "R1", assessed_on=dt.date(2026, 1, 10))
        ids["alpha"] = alpha.id
        # part through the questionnaire path ...
        for item, changes in {
            "4.1": {"maturity": 2}, "4.2": {"maturity": 3}, "4.3": {"maturity": 4, "target": 4},
            "5.1": {"maturity": 5}, "5.2": {"maturity": 1}, "5.3": {"maturity": 3},
        }.items():
            store.update_response(con, alpha.id, item, changes, by=BY, principal=ADMIN)
        # ... and part through the import path
        store.upsert_responses(con, stage(alpha.id, {
            "6.1.2": {"maturity": 0}, "6.1.4": {"maturity": 2}, "6.2": {"maturity": 4, "target": 5},
            "A.2.2": {"maturity": 2, "applicable": False}, "A.2.3": {"applicable": False},
            "A.2.4": {"applicable": False},
            "A.3.2": {"maturity": 3}, "A.3.3": {"maturity": 1},
            "A.4.2": {"maturity": 4, "target": 4}, "A.4.3": {"maturity": 0}, "A.4.4": {"maturity": 2},
            "A.4.5": {"maturity": 5, "applicable": False},
        }), by=BY)

        gamma = new_assessment(con, "Gamma", "R1", assessed_on=dt.date(2026, 1, 15))
        ids["gamma"] = gamma.id
        store.upsert_responses(con, stage(gamma.id, {
            "4.1": {"maturity": 4}, "4.2": {"maturity": 4}, "4.3": {"maturity": 1}, "4.4": {"maturity": 0},
            "A.4.2": {"maturity": 3}, "A.4.3": {"maturity": 3}, "A.4.4": {"maturity": 3},
            "A.4.5": {"maturity": 1}, "A.4.6": {"maturity": 2},
        }), by=BY)

        ids["beta"] = new_assessment(con, "Beta", "R1", scope="clauses", assessed_on=dt.date(2026, 1, 12)).id

        eps = new_assessment(con, "Epsilon", "R1", scope="clauses", default_target=4)
        ids["epsilon"] = eps.id
        store.update_response(con, eps.id, "4.1", {"maturity": 3}, by=BY, principal=ADMIN)
        store.update_response(con, eps.id, "4.2", {"maturity": 4}, by=BY, principal=ADMIN)

        delta = new_assessment(con, "Delta", "R1", scope="annex_a")
        ids["delta"] = delta.id
        store.update_response(con, delta.id, "A.9.2", {"maturity": 2}, by=BY, principal=ADMIN)
        yield con, ids


def _sections(con: duckdb.DuckDBPyConnection, assessment_id: int) -> pd.DataFrame:
    return scoring.section_scores(con, [assessment_id]).set_index("section")


# --- section scores of one assessment --------------------------------------------------------------

SECTION_COLUMNS = ("maturity", "target", "gap", "completeness", "coverage", "partial_share", "applicable",
                   "assessed", "implemented", "partial", "missing", "not_assessed", "not_applicable", "open_gaps")
ALPHA_SECTIONS = {
    # 4: maturity (2*1 + 3*1 + 4*1.5) / 3.5 = 11/3.5 = 3.142857 -> 3.14   (4.4 not assessed: not a zero)
    #    target (3 + 3 + 4*1.5 + 3) / 4.5 = 15/4.5 = 3.3333 -> 3.33     gap (1*1 + 0 + 0) / 3.5 = 0.2857 -> 0.29
    #    completeness 3/4; implemented 4.2, 4.3 -> 2/4; partial 4.1 -> 1/4
    "4": (3.14, 3.33, 0.29, 0.75, 0.5, 0.25, 4, 3, 2, 1, 0, 1, 0, 1),
    # 5: maturity (5*1 + 1*1.5 + 3*1.5) / 4 = 11/4 = 2.75
    #    gap (0*1 + 2*1.5 + 0*1.5) / 4 = 0.75  (5.1 over-achieves by 2 and does not offset 5.2's gap)
    #    implemented 5.1, 5.3 -> 2/3 = 0.67; partial 5.2 -> 1/3 = 0.33
    "5": (2.75, 3.0, 0.75, 1.0, 0.67, 0.33, 3, 3, 2, 1, 0, 0, 0, 1),
    # 6: maturity (0*1.5 + 2*1.5 + 4*1) / 4 = 7/4 = 1.75
    #    target (3*1 + 3*1.5 + 3*1 + 3*1.5 + 5*1 + 3*1) / 7 = 23/7 = 3.2857 -> 3.29
    #    gap (3*1.5 + 1*1.5 + 1*1) / 4 = 7/4 = 1.75; completeness 3/6 = 0.5
    #    6.1.2 missing; 6.1.4 (2<3) and 6.2 (4<5) partial -> 2/6 = 0.33; implemented 0
    "6": (1.75, 3.29, 1.75, 0.5, 0.0, 0.33, 6, 3, 0, 2, 1, 3, 0, 3),
    # 7..10: nothing answered; target 3 from the default
    "7": (NAN, 3.0, NAN, 0.0, 0.0, 0.0, 7, 0, 0, 0, 0, 7, 0, 0),
    "8": (NAN, 3.0, NAN, 0.0, 0.0, 0.0, 4, 0, 0, 0, 0, 4, 0, 0),
    "9": (NAN, 3.0, NAN, 0.0, 0.0, 0.0, 6, 0, 0, 0, 0, 6, 0, 0),
    "10": (NAN, 3.0, NAN, 0.0, 0.0, 0.0, 2, 0, 0, 0, 0, 2, 0, 0),
    # A.2: every control not applicable: no figure at all
    "A.2": (NAN, NAN, NAN, NAN, NAN, NAN, 0, 0, 0, 0, 0, 0, 3, 0),
    # A.3: maturity (3*1.5 + 1*1) / 2.5 = 5.5/2.5 = 2.2; gap (0 + 2*1) / 2.5 = 0.8
    "A.3": (2.2, 3.0, 0.8, 1.0, 0.5, 0.5, 2, 2, 1, 1, 0, 0, 0, 1),
    # A.4: applicable A.4.2, A.4.3, A.4.4, A.4.6; maturity (4 + 0 + 2) / 3 = 2.0 (A.4.5's 5 ignored)
    #      target (4 + 3 + 3 + 3) / 4 = 3.25; gap (0 + 3 + 1) / 3 = 1.3333 -> 1.33; completeness 3/4
    #      implemented A.4.2 -> 1/4; partial A.4.4 -> 1/4; missing A.4.3
    "A.4": (2.0, 3.25, 1.33, 0.75, 0.25, 0.25, 4, 3, 1, 1, 1, 1, 1, 2),
    "A.5": (NAN, 3.0, NAN, 0.0, 0.0, 0.0, 4, 0, 0, 0, 0, 4, 0, 0),
    "A.6": (NAN, 3.0, NAN, 0.0, 0.0, 0.0, 9, 0, 0, 0, 0, 9, 0, 0),
    "A.7": (NAN, 3.0, NAN, 0.0, 0.0, 0.0, 5, 0, 0, 0, 0, 5, 0, 0),
    "A.8": (NAN, 3.0, NAN, 0.0, 0.0, 0.0, 4, 0, 0, 0, 0, 4, 0, 0),
    "A.9": (NAN, 3.0, NAN, 0.0, 0.0, 0.0, 3, 0, 0, 0, 0, 3, 0, 0),
    "A.10": (NAN, 3.0, NAN, 0.0, 0.0, 0.0, 3, 0, 0, 0, 0, 3, 0, 0),
}


def test_alpha_has_all_sixteen_sections_in_order(scored) -> None:
    con, ids = scored
    assert scoring.section_scores(con, [ids["alpha"]])["section"].tolist() == CLAUSE_SECTIONS + ANNEX_SECTIONS


@pytest.mark.parametrize("section", list(ALPHA_SECTIONS))
def test_alpha_section_scores(scored, section: str) -> None:
    con, ids = scored
    row = _sections(con, ids["alpha"]).loc[section]
    for column, expected in zip(SECTION_COLUMNS, ALPHA_SECTIONS[section], strict=True):
        assert same(row[column], expected), (section, column, row[column], expected)
    # items = every in-scope catalog item of the section
    assert row["items"] == row["applicable"] + row["not_applicable"]


GAMMA_SECTIONS = {
    # 4: (4 + 4 + 1*1.5 + 0) / 4.5 = 9.5/4.5 = 2.1111 -> 2.11; gap (0 + 0 + 2*1.5 + 3*1) / 4.5 = 6/4.5 -> 1.33
    "4": (2.11, 3.0, 1.33, 1.0, 0.5, 0.25, 4, 4, 2, 1, 1, 0, 0, 2),
    # A.4: (3+3+3+1+2)/5 = 2.4; gap (0+0+0+2+1)/5 = 0.6; implemented 3/5; partial 2/5
    "A.4": (2.4, 3.0, 0.6, 1.0, 0.6, 0.4, 5, 5, 3, 2, 0, 0, 0, 2),
    "A.2": (NAN, 3.0, NAN, 0.0, 0.0, 0.0, 3, 0, 0, 0, 0, 3, 0, 0),
}


@pytest.mark.parametrize("section", list(GAMMA_SECTIONS))
def test_gamma_section_scores(scored, section: str) -> None:
    con, ids = scored
    row = _sections(con, ids["gamma"]).loc[section]
    for column, expected in zip(SECTION_COLUMNS, GAMMA_SECTIONS[section], strict=True):
        assert same(row[column], expected), (section, column, row[column], expected)


def test_default_target_of_the_assessment(scored) -> None:
    con, ids = scored
    row = _sections(con, ids["epsilon"]).loc["4"]
    # default target 4: maturity (3 + 4)/2 = 3.5; target 4; gap (1 + 0)/2 = 0.5; implemented 4.2 only -> 1/4
    expected = (3.5, 4.0, 0.5, 0.5, 0.25, 0.25, 4, 2, 1, 1, 0, 2, 0, 1)
    for column, value in zip(SECTION_COLUMNS, expected, strict=True):
        assert same(row[column], value), (column, row[column], value)


@pytest.mark.parametrize(
    ("who", "sections", "items"),
    [("beta", CLAUSE_SECTIONS, 32), ("epsilon", CLAUSE_SECTIONS, 32), ("delta", ANNEX_SECTIONS, 38),
     ("alpha", CLAUSE_SECTIONS + ANNEX_SECTIONS, 70)],
)
def test_scope_limits_sections_and_items(scored, who: str, sections: list[str], items: int) -> None:
    con, ids = scored
    assert scoring.section_scores(con, [ids[who]])["section"].tolist() == sections
    assert len(scoring.item_scores(con, [ids[who]])) == items


def test_empty_assessment(scored) -> None:
    con, ids = scored
    secs = scoring.section_scores(con, [ids["beta"]])
    assert secs["maturity"].isna().all()
    assert secs["gap"].isna().all()
    assert (secs["completeness"] == 0.0).all()
    assert (secs["target"] == 3.0).all()
    assert (secs["open_gaps"] == 0).all()
    row = scoring.assessment_scores(con, [ids["beta"]]).iloc[0]
    assert pd.isna(row["clause_maturity"]) and pd.isna(row["annex_maturity"])
    assert row["completeness"] == 0.0
    assert (row["applicable"], row["assessed"], row["not_applicable"], row["open_gaps"]) == (32, 0, 0, 0)
    items = scoring.item_scores(con, [ids["beta"]])
    assert set(items["state"]) == {"not assessed"}
    assert items["gap"].isna().all()


# --- assessment scores -----------------------------------------------------------------------------

ASSESSMENT_COLUMNS = ("clause_maturity", "annex_maturity", "annex_coverage", "annex_partial_share", "completeness",
                      "applicable", "assessed", "not_applicable", "open_gaps")
ASSESSMENTS = {
    # clause maturity = mean of the scored clause sections (3.142857 + 2.75 + 1.75)/3 = 2.547619 -> 2.55
    #   (not the item mean (2+3+4+5+1+3+0+2+4)/9 = 2.67, nor the weighted item mean 29/11.5 = 2.52)
    # annex maturity = (2.2 + 2.0)/2 = 2.1 (A.2 has no score and is not a zero: not (0+2.2+2)/3 = 1.4)
    # annex coverage 2/34 = 0.0588 -> 0.06; partial 2/34 -> 0.06; completeness (9+5)/(32+34) = 14/66 = 0.2121 -> 0.21
    # open gaps 1 + 1 + 3 + 1 + 2 = 8
    "alpha": (2.55, 2.1, 0.06, 0.06, 0.21, 66, 14, 4, 8),
    # clause 2.1111 -> 2.11 (one section); annex 2.4; coverage 3/38 = 0.0789 -> 0.08; partial 2/38 = 0.0526 -> 0.05
    # completeness 9/70 = 0.1286 -> 0.13; open gaps 2 + 2 = 4
    "gamma": (2.11, 2.4, 0.08, 0.05, 0.13, 70, 9, 0, 4),
    "beta": (NAN, NAN, NAN, NAN, 0.0, 32, 0, 0, 0),
    # clause 3.5; completeness 2/32 = 0.0625 -> 0.06
    "epsilon": (3.5, NAN, NAN, NAN, 0.06, 32, 2, 0, 1),
    # annex A.9 only: 2.0; partial A.9.2 -> 1/38 = 0.0263 -> 0.03; completeness 1/38 -> 0.03
    "delta": (NAN, 2.0, 0.0, 0.03, 0.03, 38, 1, 0, 1),
}


@pytest.mark.parametrize("who", list(ASSESSMENTS))
def test_assessment_scores(scored, who: str) -> None:
    con, ids = scored
    table = scoring.assessment_scores(con, [ids[who]])
    assert len(table) == 1
    row = table.iloc[0]
    assert row["assessment_id"] == ids[who]
    for column, expected in zip(ASSESSMENT_COLUMNS, ASSESSMENTS[who], strict=True):
        assert same(row[column], expected), (who, column, row[column], expected)


def test_assessment_scores_for_all_and_for_none(scored) -> None:
    con, ids = scored
    everything = scoring.assessment_scores(con)
    assert sorted(everything["assessment_id"]) == sorted(ids.values())
    # ordered by unit name
    assert everything["unit"].tolist() == ["Alpha", "Beta", "Delta", "Epsilon", "Gamma"]
    assert scoring.assessment_scores(con, []).empty
    assert scoring.section_scores(con, []).empty


# --- item scores -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("item_id", "maturity", "target", "applicable", "gap", "state", "weight"),
    [
        ("4.1", 2, 3, True, 1, "partial", 1.0),
        ("4.2", 3, 3, True, 0, "implemented", 1.0),
        ("4.3", 4, 4, True, 0, "implemented", 1.5),      # explicit target 4
        ("4.4", None, 3, True, None, "not assessed", 1.0),
        ("5.1", 5, 3, True, 0, "implemented", 1.0),      # over-achievement: gap 0, never -2
        ("5.2", 1, 3, True, 2, "partial", 1.5),
        ("6.1.2", 0, 3, True, 3, "missing", 1.5),
        ("6.2", 4, 5, True, 1, "partial", 1.0),          # explicit target 5
        ("10.2", None, 3, True, None, "not assessed", 1.0),
        ("A.2.2", 2, 3, False, None, "not applicable", 1.5),
        ("A.4.5", 5, 3, False, None, "not applicable", 1.0),
        ("A.4.2", 4, 4, True, 0, "implemented", 1.0),
        ("A.4.3", 0, 3, True, 3, "missing", 1.0),
    ],
)
def test_item_scores(scored, item_id, maturity, target, applicable, gap, state, weight) -> None:
    con, ids = scored
    items = scoring.item_scores(con, [ids["alpha"]]).set_index("item_id")
    row = items.loc[item_id]
    assert same(row["maturity"], maturity)
    assert row["target"] == target
    assert bool(row["applicable"]) is applicable
    assert same(row["gap"], gap)
    assert row["state"] == state
    assert row["weight"] == weight


def test_item_scores_default_target_4(scored) -> None:
    con, ids = scored
    items = scoring.item_scores(con, [ids["epsilon"]]).set_index("item_id")
    assert (items.loc["4.1", "target"], items.loc["4.1", "gap"], items.loc["4.1", "state"]) == (4, 1, "partial")
    assert (items.loc["4.2", "target"], items.loc["4.2", "gap"], items.loc["4.2", "state"]) == (4, 0, "implemented")
    assert (items["target"] == 4).all()


# --- levels and rounding ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("section", "level"),
    [("4", "Defined"),        # 3.14
     ("5", "Managed"),        # 2.75
     ("6", "Initial"),        # 1.75
     ("7", "Not assessed"),   # no score
     ("A.2", "Not assessed"),
     ("A.3", "Managed"),      # 2.2
     ("A.4", "Managed")],     # 2.0
)
def test_level_names(scored, catalog: Catalog, section: str, level: str) -> None:
    con, ids = scored
    leveled = scoring.with_levels(scoring.section_scores(con, [ids["alpha"]]), catalog.scale).set_index("section")
    assert leveled.loc[section, "level"] == level
    assert catalog.scale.level_name(leveled.loc[section, "maturity"]) == level


def test_assessment_level_names(scored, catalog: Catalog) -> None:
    con, ids = scored
    row = scoring.assessment_scores(con, [ids["alpha"]]).iloc[0]
    assert catalog.scale.level_name(row["clause_maturity"]) == "Managed"  # 2.55
    assert catalog.scale.level_name(row["annex_maturity"]) == "Managed"  # 2.1


def test_scores_are_rounded_to_two_decimals(scored) -> None:
    con, _ = scored
    frames = {
        "sections": (scoring.section_scores(con), ("maturity", "target", "gap", "completeness", "coverage",
                                                   "partial_share")),
        "assessments": (scoring.assessment_scores(con), ("clause_maturity", "annex_maturity", "annex_coverage",
                                                         "annex_partial_share", "completeness")),
    }
    checked = 0
    for name, (table, columns) in frames.items():
        for column in columns:
            for value in table[column].dropna():
                assert abs(value * 100 - round(value * 100)) < 1e-6, (name, column, value)
                checked += 1
    assert checked > 50


# --- organisation figures --------------------------------------------------------------------------

ORG_COLUMNS = ("maturity", "target", "gap", "min_maturity", "max_maturity", "units_scored", "coverage",
               "partial_share", "applicable", "implemented", "partial", "missing", "not_assessed",
               "not_applicable", "open_gaps")
ORG_SECTIONS = {
    # 4: mean of the unit scores (3.142857 + 2.111111)/2 = 2.626984 -> 2.63
    #    (pooling the items would give (11 + 9.5)/(3.5 + 4.5) = 2.5625 -> 2.56)
    #    target (3.3333 + 3)/2 = 3.1667 -> 3.17; gap (0.285714 + 1.333333)/2 = 0.809524 -> 0.81
    #    coverage pooled (2 + 2)/8 = 0.5; partial (1 + 1)/8 = 0.25
    "4": (2.63, 3.17, 0.81, 2.11, 3.14, 2, 0.5, 0.25, 8, 4, 2, 1, 1, 0, 3),
    # 5: only Alpha has a score; Gamma's unanswered section does not count as zero
    #    target (3 + 3)/2; coverage 2/6 = 0.33; partial 1/6 = 0.17
    "5": (2.75, 3.0, 0.75, 2.75, 2.75, 1, 0.33, 0.17, 6, 2, 1, 0, 3, 0, 1),
    # A.2: Alpha all not applicable, Gamma unanswered: no score from anybody
    "A.2": (NAN, 3.0, NAN, NAN, NAN, 0, 0.0, 0.0, 3, 0, 0, 0, 3, 3, 0),
    # A.4: (2.0 + 2.4)/2 = 2.2; gap (1.3333 + 0.6)/2 = 0.9667 -> 0.97
    #      coverage pooled (1 + 3)/(4 + 5) = 0.4444 -> 0.44 (not the mean of unit coverages (0.25 + 0.6)/2 = 0.425)
    #      partial (1 + 2)/9 = 0.33
    "A.4": (2.2, None, 0.97, 2.0, 2.4, 2, 0.44, 0.33, 9, 4, 3, 1, 1, 1, 4),
}


@pytest.mark.parametrize("section", list(ORG_SECTIONS))
def test_organisation_sections(scored, section: str) -> None:
    con, ids = scored
    table = scoring.organisation_sections(con, [ids["alpha"], ids["gamma"]])
    assert table["section"].tolist() == CLAUSE_SECTIONS + ANNEX_SECTIONS
    row = table.set_index("section").loc[section]
    for column, expected in zip(ORG_COLUMNS, ORG_SECTIONS[section], strict=True):
        if expected is None:  # A.4 target (3.25 + 3)/2 = 3.125: the half-way case is left to the engine
            assert abs(float(row[column]) - 3.125) <= 0.005 + 1e-9
            continue
        assert same(row[column], expected), (section, column, row[column], expected)


def test_organisation_completeness_is_pooled(scored) -> None:
    con, ids = scored
    table = scoring.organisation_sections(con, [ids["alpha"], ids["gamma"]]).set_index("section")
    # A.4: (3 + 5) assessed / (4 + 5) applicable = 0.8889 -> 0.89 (mean of units would be (0.75 + 1)/2 = 0.875)
    assert same(table.loc["A.4", "completeness"], 0.89)
    # 6: Alpha 3/6 and Gamma 0/6 -> 3/12 = 0.25
    assert same(table.loc["6", "completeness"], 0.25)


def test_organisation_summary_two_units(scored) -> None:
    con, ids = scored
    summary = scoring.organisation_summary(con, [ids["alpha"], ids["gamma"]])
    assert set(summary) == {"clause_maturity", "annex_maturity", "overall_maturity", "annex_coverage",
                            "annex_partial_share", "completeness", "open_gaps", "assessments", "units",
                            "clause_maturity_level", "annex_maturity_level", "overall_maturity_level"}
    assert (summary["clause_maturity_level"], summary["annex_maturity_level"]) == (2, 2)
    # clause (2.547619 + 2.111111)/2 = 2.329365 -> 2.33; annex (2.1 + 2.4)/2 = 2.25
    assert same(summary["clause_maturity"], 2.33)
    assert same(summary["annex_maturity"], 2.25)
    # overall per unit: Alpha (2.547619 + 2.1)/2 = 2.323810, Gamma (2.111111 + 2.4)/2 = 2.255556;
    # mean 2.289683 -> 2.29 (each unit counts once)
    assert same(summary["overall_maturity"], 2.29)
    # pooled annex coverage (2 + 3)/(34 + 38) = 5/72 = 0.0694 -> 0.07; partial (2 + 2)/72 = 0.0556 -> 0.06
    assert same(summary["annex_coverage"], 0.07)
    assert same(summary["annex_partial_share"], 0.06)
    # pooled completeness (14 + 9)/(66 + 70) = 23/136 = 0.1691 -> 0.17
    assert same(summary["completeness"], 0.17)
    assert summary["open_gaps"] == 12  # 8 + 4
    assert summary["assessments"] == 2
    assert summary["units"] == 2


def test_organisation_summary_empty_assessment(scored) -> None:
    con, ids = scored
    summary = scoring.organisation_summary(con, [ids["beta"]])
    assert summary["clause_maturity"] is None
    assert summary["annex_maturity"] is None
    assert summary["annex_coverage"] is None  # no Annex A control in scope
    assert summary["completeness"] == 0.0
    assert (summary["open_gaps"], summary["assessments"], summary["units"]) == (0, 1, 1)


def test_organisation_summary_mixed_scopes(scored) -> None:
    con, ids = scored
    summary = scoring.organisation_summary(con, [ids["epsilon"], ids["delta"]])
    # clause only from Epsilon: 3.5; Annex A only from Delta: 2.0
    assert same(summary["clause_maturity"], 3.5)
    assert same(summary["annex_maturity"], 2.0)
    # completeness (2 + 1)/(32 + 38) = 3/70 = 0.0429 -> 0.04
    assert same(summary["completeness"], 0.04)
    assert summary["units"] == 2


# --- choosing assessments and rounds ----------------------------------------------------------------


@pytest.fixture
def rounds_db(con: duckdb.DuckDBPyConnection) -> tuple[duckdb.DuckDBPyConnection, dict[tuple[str, str], int]]:
    plan = [  # created deliberately out of date order
        ("Alpha", "2026-H1", dt.date(2026, 3, 1)),
        ("Alpha", "2025-H2", dt.date(2025, 9, 1)),
        ("Gamma", "Backlog", None),  # no date given: dated the day it is created (today), so Gamma's latest
        ("Gamma", "2025-H2", dt.date(2025, 10, 1)),
        ("Gamma", "Pilot", dt.date(2024, 11, 5)),
        ("Delta", "2026-H1", dt.date(2026, 1, 20)),
    ]
    ids = {(unit, label): new_assessment(con, unit, label, assessed_on=on).id for unit, label, on in plan}
    return con, ids


def test_rounds_ordered_by_date(rounds_db) -> None:
    con, _ = rounds_db
    # earliest date per label: Pilot 2024-11-05, 2025-H2 2025-09-01, 2026-H1 2026-01-20; Backlog today
    assert scoring.rounds(con) == ["Pilot", "2025-H2", "2026-H1", "Backlog"]


@pytest.mark.parametrize(
    ("units", "round_label", "expected"),
    [
        (None, LATEST, [("Alpha", "2026-H1"), ("Gamma", "Backlog"), ("Delta", "2026-H1")]),
        (None, None, [("Alpha", "2026-H1"), ("Gamma", "Backlog"), ("Delta", "2026-H1")]),
        (["Gamma"], LATEST, [("Gamma", "Backlog")]),
        (None, "2026-H1", [("Alpha", "2026-H1"), ("Delta", "2026-H1")]),
        (None, "2025-H2", [("Alpha", "2025-H2"), ("Gamma", "2025-H2")]),
        (["Alpha", "Gamma"], "Pilot", [("Gamma", "Pilot")]),
        (["Alpha"], "Pilot", []),
        (None, "Backlog", [("Gamma", "Backlog")]),
        (None, "No such round", []),
    ],
)
def test_select_assessments(rounds_db, units, round_label, expected) -> None:
    con, ids = rounds_db
    got = scoring.select_assessments(con, principal=ADMIN, units=units, round_label=round_label)
    assert got == sorted(ids[key] for key in expected)


def test_select_assessments_skips_archived_units(rounds_db) -> None:
    con, ids = rounds_db
    store.archive_unit(con, store.ensure_unit(con, "Delta"))
    assert scoring.select_assessments(con, principal=ADMIN, round_label=LATEST) == sorted([ids[("Alpha", "2026-H1")],
                                                                          ids[("Gamma", "Backlog")]])
    assert scoring.select_assessments(con, principal=ADMIN, round_label="2026-H1") == [ids[("Alpha", "2026-H1")]]


# --- agreement with the command-line export on the demo data -----------------------------------------


def test_demo_scores_agree_with_cli_export(tmp_path: Path) -> None:
    from etl.demo import load_demo

    path = tmp_path / "demo.duckdb"
    with connect(path, wait=5) as con:
        results = load_demo(con, principal=ADMIN, by="test")
        assert all(r.ok for r in results)
        library = scoring.section_scores(con)
    assert len(library) > 100

    out = tmp_path / "scores.csv"
    done = subprocess.run(
        [sys.executable, "-m", "etl", "--db", str(path), "export", "scores", "--format", "csv", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with out.open(encoding="utf-8-sig", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert len(exported) == len(library)

    def key(unit: str, assessment: str, section: str) -> tuple[str, str, str]:
        return unit, assessment, section

    def num(text: str) -> float:
        return NAN if text == "" else float(text)

    from_csv = {key(r["unit"], r["assessment"], r["section"]): r for r in exported}
    assert len(from_csv) == len(exported)
    lib_rows = {key(r.unit, r.assessment, r.section): r for r in library.itertuples()}
    assert set(from_csv) == set(lib_rows)
    scored_rows = 0
    for k, r in lib_rows.items():
        row = from_csv[k]
        for column in ("maturity", "target", "gap", "completeness", "coverage"):
            assert same(num(row[column]), getattr(r, column)), (k, column, row[column], getattr(r, column))
        scored_rows += not pd.isna(r.maturity)
    assert scored_rows > 100
