"""Comparisons built on the scoring engine: previous rounds, trends, changes, rankings, largest gaps.

Every figure here is a scoring-engine figure (the same SQL building blocks in `dashboard.scoring`),
grouped or compared differently; nothing here defines a new way to score.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import duckdb
import pandas as pd

from dashboard import scoring, selection, versions
from dashboard.catalog import Scale
from dashboard.db import frame
from dashboard.scoring import ASSESSMENTS_CTE, DECIMALS, SECTIONS_CTE, Selection, items_cte, level_sql, organisation_summary

__all__ = [
    "CHANGED",
    "HEADLINE",
    "Figure",
    "headline",
    "headline_figures",
    "item_changes",
    "largest_gaps",
    "overall_trend",
    "previous_assessments",
    "ranking",
    "round_trend",
    "summary_change",
    "units_below_target",
]


def previous_assessments(con: duckdb.DuckDBPyConnection, assessment_ids: Selection) -> list[selection.Pick]:
    """For each unit and scope of the selection, the same unit's newest earlier round covering that scope
    (see `selection.previous`); units and scopes without one drop out."""
    return selection.previous(con, list(assessment_ids))[1]


CHANGED = ("clause_maturity", "annex_maturity", "overall_maturity", "annex_coverage", "annex_partial_share",
           "completeness", "open_gaps")


def summary_change(
    con: duckdb.DuckDBPyConnection, assessment_ids: Selection
) -> tuple[dict[str, float | int | None], dict[str, float | int | None] | None]:
    """Headline figures now, and their change since the previous round (None when no unit has one).

    Like with like: the change compares each unit's clauses (Annex A answers) as selected with the same
    unit's newest earlier round covering the clauses (Annex A); units and scopes without an earlier round are
    left out of both sides, so a new unit or a first Annex A round never shows as a rise or a fall."""
    picks = list(assessment_ids)
    # each side reused in the dashboard while its own rounds are unchanged: the earlier rounds stay warm while
    # a campaign's new rounds are answered
    now = dict(versions.part(con, organisation_summary, picks))
    # the earlier rounds are found from the rounds' dates alone: reused however many answers arrive
    matched, before, every = versions.part(con, selection.previous_rounds, picks, depends="common")
    if not before:
        return now, None
    # every unit and scope has an earlier round (a campaign's second round): the "after" side is the picks themselves
    after = now if every else versions.part(con, organisation_summary, matched)
    earlier = versions.part(con, organisation_summary, before)
    change: dict[str, float | int | None] = {}
    for name in CHANGED:
        a, b = after[name], earlier[name]
        change[name] = None if a is None or b is None else (a - b if name == "open_gaps" else round(a - b, DECIMALS))
    return now, change


# The headline: "where we stand" in one figure (overall maturity and its level) with clause maturity and
# Annex A coverage beside it. Every page, the report, the deck and the executive summary show these, in this
# order and with these labels, from `headline_figures`.
HEADLINE = (
    ("overall_maturity", "Overall maturity"),
    ("overall_maturity_level", "Level"),
    ("clause_maturity", "Clause maturity (4-10)"),
    ("annex_coverage", "Annex A coverage"),
)
_HELP = {
    "overall_maturity": "The mean of clause maturity (4-10) and Annex A maturity; each unit counts once.",
    "overall_maturity_level": "The maturity level of the overall figure (of the unrounded mean).",
    "clause_maturity": "Mean of the clause 4-10 section scores.",
    "annex_coverage": "Applicable Annex A controls implemented (at or above their target).",
}


@dataclass(frozen=True)
class Figure:
    """One headline figure as a person reads it: its label, its value as text, its change and a help line."""

    key: str
    label: str
    value: str
    change: str | None
    help: str


def headline_figures(summary: dict[str, float | int | None], scale: Scale,
                     change: dict[str, float | int | None] | None = None) -> list[Figure]:
    """The headline figures of an `organisation_summary` (and their change), formatted once for every output."""
    out = []
    for key, label in HEADLINE:
        value = summary[key]
        delta = None if not change or key not in change or change[key] is None else change[key]
        if key == "overall_maturity_level":
            text = "Not assessed" if value is None else f"{int(value)} {scale.name(int(value))}"
            moved = None
        elif key == "annex_coverage":  # a share changes by percentage points, not by per cent
            text = "—" if value is None else f"{value:.0%}"
            moved = None if delta is None else f"{delta * 100:+.0f} pts vs previous"
        else:
            text = "—" if value is None else f"{value:.2f}"
            moved = None if delta is None else f"{delta:+.2f} vs previous"
        note = _HELP[key]
        if key == "clause_maturity" and summary.get("clause_maturity_level") is not None:
            note += f" Level: {scale.level_name(summary['clause_maturity_level'])}."  # type: ignore[arg-type]
        if key == "annex_coverage" and summary.get("annex_partial_share") is not None:
            note += f" Partial: {summary['annex_partial_share']:.0%}."
        out.append(Figure(key, label, text, moved, note))
    return out


def headline(con: duckdb.DuckDBPyConnection, assessment_ids: Selection, scale: Scale) -> list[Figure]:
    """The headline figures of a selection, with their change since the previous round."""
    summary, change = summary_change(con, assessment_ids)
    return headline_figures(summary, scale, change)


def largest_gaps(
    con: duckdb.DuckDBPyConnection, assessment_ids: Selection, limit: int = 10, kind: str | None = None
) -> pd.DataFrame:
    """The largest item gaps across the chosen assessments (ties: heavier items, then catalog order).

    `kind` keeps only clause items ("clause") or Annex A controls ("annex_a"); two rounds of one unit tied on all
    that: the newer first. The largest gaps of all are among
    the largest `limit` of each view, so in the dashboard they are picked from those, one cached part per unit."""
    picks = list(assessment_ids)
    rows = versions.by_unit(con, _view_gaps, picks, int(limit), kind)[0] if picks else _view_gaps(con, picks, limit, kind)[0]
    name = f"aims_gaps_{uuid.uuid4().hex}"
    scoring.register(con, name, rows)
    try:
        return frame(
            con,
            f"""SELECT unit, assessment, item_id, title, section, maturity, target, gap, owner,
                       CAST(due_date AS DATE) AS due_date, evidence
                FROM {name} ORDER BY {_GAP_ORDER} LIMIT {int(limit)}""",
        )
    finally:
        con.unregister(name)


_GAP_ORDER = "gap DESC, weight DESC, ord, lower(unit), assessed_on DESC, assessment_id DESC"  # the newest round first on a tie


def _view_gaps(con: duckdb.DuckDBPyConnection, picks: list[selection.Pick], limit: int,
               kind: str | None) -> tuple[pd.DataFrame]:
    """The largest `limit` gaps of each view of the selection, with what orders them (a part of `largest_gaps`)."""
    cte, params = items_cte(picks)
    return (frame(
        con,
        f"""WITH {cte}
            SELECT * FROM (
                SELECT assessment_id, unit, assessment, item_id, title, section, maturity, target, gap, owner, due_date,
                       evidence, weight, ord, assessed_on,
                       row_number() OVER (PARTITION BY view_id ORDER BY {_GAP_ORDER}) AS n
                FROM items WHERE gap > 0 AND (? IS NULL OR kind = ?)) g
            WHERE n <= {int(limit)}""",
        [*params, kind, kind],
    ),)


def ranking(con: duckdb.DuckDBPyConnection, assessment_ids: Selection) -> pd.DataFrame:
    """Units ranked by overall maturity, with their distance from the organisation's median."""
    with scoring.view_rows(con, assessment_ids) as given:
        return frame(
            con,
            f"""WITH {given}, {ASSESSMENTS_CTE}
                SELECT unit, assessment, round(clause_maturity, {DECIMALS}) AS clause_maturity,
                       round(annex_maturity, {DECIMALS}) AS annex_maturity, round(overall, {DECIMALS}) AS overall_maturity,
                       {level_sql("overall")} AS overall_maturity_level, round(overall_target, {DECIMALS}) AS target,
                       round(overall - median(overall) OVER (), {DECIMALS}) AS vs_median,
                       rank() OVER (ORDER BY overall DESC NULLS LAST) AS rank
                FROM assessments ORDER BY overall DESC NULLS LAST, lower(unit)""",
        )


def units_below_target(con: duckdb.DuckDBPyConnection, assessment_ids: Selection, section: str) -> pd.DataFrame:
    """Units whose score on one section is below that section's target, furthest first."""
    cte, params = items_cte(assessment_ids)
    return frame(
        con,
        f"""WITH {cte}, {SECTIONS_CTE}
            SELECT unit, assessment, round(maturity, {DECIMALS}) AS maturity, round(target, {DECIMALS}) AS target,
                   round(target - maturity, {DECIMALS}) AS below_by
            FROM sections WHERE section = ? AND maturity < target
            ORDER BY target - maturity DESC, lower(unit)""",
        [*params, section],
    )


def round_trend(con: duckdb.DuckDBPyConnection, assessment_ids: Selection) -> pd.DataFrame:
    """Per round label and section: the mean of the units' section scores (each unit counts once)."""
    cte, params = items_cte(assessment_ids)
    return frame(
        con,
        f"""WITH {cte}, {SECTIONS_CTE},
            per_round AS (
                SELECT assessment AS round, min(assessed_on) AS first_date, section, any_value(kind) AS kind,
                       avg(maturity) AS maturity, avg(target) AS target, count(maturity) AS units_scored
                FROM sections GROUP BY assessment, section)
            SELECT p.round, p.first_date, p.section, cs.title AS section_title, p.kind,
                   round(p.maturity, {DECIMALS}) AS maturity, round(p.target, {DECIMALS}) AS target, p.units_scored
            FROM per_round p JOIN catalog_section cs USING (section)
            ORDER BY p.first_date, p.round, cs.ord""",
        params,
    )


def overall_trend(con: duckdb.DuckDBPyConnection, assessment_ids: Selection) -> pd.DataFrame:
    """Per round label: the units' mean clause, Annex A and overall maturity (each unit counts once)."""
    cte, params = items_cte(assessment_ids)
    return frame(
        con,
        f"""WITH {cte}, {SECTIONS_CTE}, {ASSESSMENTS_CTE}
            SELECT assessment AS round, min(assessed_on) AS first_date,
                   round(avg(clause_maturity), {DECIMALS}) AS clause_maturity,
                   round(avg(annex_maturity), {DECIMALS}) AS annex_maturity,
                   round(avg(overall), {DECIMALS}) AS overall_maturity, count(*) AS assessments
            FROM assessments GROUP BY assessment ORDER BY min(assessed_on), assessment""",
        params,
    )


def item_changes(con: duckdb.DuckDBPyConnection, from_ids: Selection, to_ids: Selection) -> pd.DataFrame:
    """Item by item, for units present in both selections: maturity before and after, and the change."""
    before_cte, before_params = items_cte(from_ids, "before_items")
    after_cte, after_params = items_cte(to_ids, "after_items")
    return frame(
        con,
        f"""WITH {before_cte}, {after_cte}
            SELECT a.unit, a.item_id, a.title, a.section, b.assessment AS from_round, a.assessment AS to_round,
                   b.maturity AS from_maturity, a.maturity AS to_maturity, a.maturity - b.maturity AS change,
                   CASE WHEN a.maturity > b.maturity THEN 'improved' WHEN a.maturity < b.maturity THEN 'regressed'
                        ELSE 'unchanged' END AS direction,
                   a.evidence AS evidence_now
            FROM after_items a JOIN before_items b ON b.unit = a.unit AND b.item_id = a.item_id
            WHERE a.applicable AND b.applicable AND a.maturity IS NOT NULL AND b.maturity IS NOT NULL
            ORDER BY abs(a.maturity - b.maturity) DESC, lower(a.unit), a.ord""",
        [*before_params, *after_params],
    )
