"""The one scoring engine. Every figure on every page and in every export comes from these functions.

The rules, in plain words (the README repeats them):

* An item marked not applicable is left out of every figure. An applicable item without a maturity is
  "not assessed": it lowers completeness and is never counted as zero.
* Item gap = max(target - maturity, 0); target defaults to the assessment's default target (3).
* Section score (clause 4..10, Annex A objective A.2..A.10) = weighted mean maturity of the section's
  applicable, assessed items (catalog weights). Section target = weighted mean target of its applicable
  items. Section gap = weighted mean of the item gaps of its applicable, assessed items.
* Clause maturity = mean of the clause sections that have a score; Annex A maturity = mean of the
  objectives that have a score; overall maturity = mean of those two (or the one that exists).
  The maturity level is the scale name of the score rounded down, from the unrounded score: 2.996 is
  shown as 3.00 and is level 2 (display rounding never changes a level). Every maturity column `x` comes
  with its level `x_level` (0-5), computed here before rounding; pages and exports name it with `with_levels`
  or `Scale.level_name(x_level)`, never from the rounded number.
* Completeness = assessed applicable items / applicable items.
* Annex A coverage = applicable controls at or above target / applicable controls; the partial share
  (maturity above 0, below target) sits beside it. Controls are implemented, partial, missing (level 0),
  not assessed or not applicable.
* Across several units (one round), a section's figure is the mean of the units' section scores, each
  unit counting once; coverage and completeness pool the units' items.
* Which answers: a selection (`dashboard.selection`) of whole assessments, or of one kind of an
  assessment's answers grouped with others into one *view*. Latest per unit makes one view per unit from
  its newest clauses round and its newest Annex A round; every figure below is per view (`view_id`), so a
  unit counts once even when its clauses and its Annex A answers come from two rounds.

Scores are rounded to two decimals once, here; nothing downstream computes or rounds a score again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from dashboard import versions
from dashboard.catalog import Scale
from dashboard.db import frame
from dashboard.selection import ALL_ROUNDS, LATEST, Pick, parts, select_assessments, values_sql

__all__ = [
    "ALL_ROUNDS",
    "ASSESSMENTS_CTE",
    "LATEST",
    "SECTIONS_CTE",
    "assessment_scores",
    "groups",
    "item_scores",
    "items_cte",
    "level_sql",
    "organisation_sections",
    "organisation_summary",
    "overall_sql",
    "register",
    "rounds",
    "section_scores",
    "select_assessments",
    "statement_of_applicability",
    "unjustified_controls",
    "view_parts",
    "view_rows",
    "with_levels",
]

DECIMALS = 2
Selection = Iterable[Pick]  # assessment ids and/or (assessment id, kind, view id) picks: see dashboard.selection


def level_sql(score: str) -> str:
    """The level (0-5) of an unrounded score, as SQL: rounded down. Rounded to 6 decimals first, so that
    2.9999999 from floating sums is still level 3, as in `Scale.level_of`."""
    return f"CAST(floor(round({score}, 6)) AS INTEGER)"  # scores are 0-5: nothing to clamp


def overall_sql(clause: str, annex: str) -> str:
    """The one definition of overall maturity, as SQL: the mean of the clause and Annex A maturities
    that exist (either alone when the other is missing)."""
    return (f"((coalesce({clause}, 0) + coalesce({annex}, 0))"
            f" / nullif(({clause} IS NOT NULL)::INTEGER + ({annex} IS NOT NULL)::INTEGER, 0))")


def items_cte(assessment_ids: Selection | None, name: str = "items") -> tuple[str, list[int]]:
    """The `items` CTE (named `name`): one row per in-scope item of the selection, with its view.

    None takes every assessment, each its own view."""
    pick, where, view = "", "", "a.id"
    if assessment_ids is not None:
        picks = list(assessment_ids)
        chosen = parts(picks)
        # the filter on assessment ids lets DuckDB read only the chosen rounds' rows; the join with the picks,
        # only when some take one kind of answers, keeps that kind and groups the unit's two rounds into one view
        ids = sorted({a for a, _, _ in chosen})
        where = f"WHERE a.id IN ({', '.join(map(str, ids))})" if ids else "WHERE false"
        if any(k is not None for _, k, _ in chosen):
            pick = (f"JOIN (VALUES {values_sql(picks)}) {name}_pick(assessment_id, kind, view_id) "
                    f"ON {name}_pick.assessment_id = a.id AND ({name}_pick.kind IS NULL OR {name}_pick.kind = c.kind)")
            view = f"{name}_pick.view_id"
    sql = f"""
    {name} AS (
        SELECT a.id AS assessment_id, {view} AS view_id, u.name AS unit, a.label AS assessment, a.assessed_on, a.status, a.scope,
               c.section, c.kind, c.item_id, c.title, c.weight, c.ord,
               r.maturity, coalesce(r.target, a.default_target) AS target,
               coalesce(r.applicable, true) AS applicable,
               r.justification, r.evidence, r.owner, r.due_date, r.notes, r.inclusion_justification,
               CASE WHEN coalesce(r.applicable, true) AND r.maturity IS NOT NULL
                    THEN greatest(coalesce(r.target, a.default_target) - r.maturity, 0) END AS gap,
               CASE WHEN NOT coalesce(r.applicable, true) THEN 'not applicable'
                    WHEN r.maturity IS NULL THEN 'not assessed'
                    WHEN r.maturity >= coalesce(r.target, a.default_target) THEN 'implemented'
                    WHEN r.maturity > 0 THEN 'partial'
                    ELSE 'missing' END AS state
        FROM assessment a
        JOIN unit u ON u.id = a.unit_id
        JOIN catalog_item c ON a.scope = 'both' OR (a.scope = 'clauses') = (c.kind = 'clause')
        {pick}
        LEFT JOIN response r ON r.assessment_id = a.id AND r.item_id = c.item_id
        {where}
    )"""
    return sql, []


SECTIONS_CTE = """
    sections AS (
        SELECT view_id, any_value(assessment_id) AS assessment_id, any_value(unit) AS unit, any_value(assessment) AS assessment,
               any_value(assessed_on) AS assessed_on, any_value(status) AS status, section, any_value(kind) AS kind,
               sum(weight * maturity) FILTER (WHERE applicable AND maturity IS NOT NULL)
                 / sum(weight) FILTER (WHERE applicable AND maturity IS NOT NULL) AS maturity,
               sum(weight * target) FILTER (WHERE applicable) / sum(weight) FILTER (WHERE applicable) AS target,
               sum(weight * gap) FILTER (WHERE applicable AND maturity IS NOT NULL)
                 / sum(weight) FILTER (WHERE applicable AND maturity IS NOT NULL) AS gap,
               count(*) AS items,
               count(*) FILTER (WHERE applicable) AS applicable,
               count(*) FILTER (WHERE applicable AND maturity IS NOT NULL) AS assessed,
               count(*) FILTER (WHERE state = 'implemented') AS implemented,
               count(*) FILTER (WHERE state = 'partial') AS partial,
               count(*) FILTER (WHERE state = 'missing') AS missing,
               count(*) FILTER (WHERE state = 'not assessed') AS not_assessed,
               count(*) FILTER (WHERE state = 'not applicable') AS not_applicable,
               count(*) FILTER (WHERE gap > 0) AS open_gaps
        FROM items GROUP BY view_id, section
    )"""

# per view (after SECTIONS_CTE): its round label (both when the clauses and Annex A come from two rounds), its
# latest date, and draft when any of its rounds is a draft
_VIEW_COLUMNS = """
    CASE WHEN count(DISTINCT assessment_id) > 1
         THEN 'clauses ' || any_value(assessment) FILTER (WHERE kind = 'clause')
              || ', Annex A ' || any_value(assessment) FILTER (WHERE kind = 'annex_a')
         ELSE any_value(assessment) END AS assessment,
    max(assessed_on) AS assessed_on, CASE WHEN bool_or(status = 'draft') THEN 'draft' ELSE 'final' END AS status"""


# one row per view (after SECTIONS_CTE; an assessment, or a unit's latest clauses and Annex A rounds): the mean
# of its clause sections, of its Annex A objectives, and its overall maturity, unrounded; rankings, trends and
# the organisation's means all start here
ASSESSMENTS_CTE = f"""
    per_assessment AS (
        SELECT view_id AS assessment_id, any_value(unit) AS unit, {_VIEW_COLUMNS},
               avg(maturity) FILTER (WHERE kind = 'clause') AS clause_maturity,
               avg(maturity) FILTER (WHERE kind = 'annex_a') AS annex_maturity,
               -- the target the same figures are held against: the mean target of the sections scored
               avg(target) FILTER (WHERE kind = 'clause' AND maturity IS NOT NULL) AS clause_target,
               avg(target) FILTER (WHERE kind = 'annex_a' AND maturity IS NOT NULL) AS annex_target
        FROM sections GROUP BY view_id),
    assessments AS (
        SELECT *, {overall_sql("clause_maturity", "annex_maturity")} AS overall,
               {overall_sql("clause_target", "annex_target")} AS overall_target FROM per_assessment)"""


def item_scores(con: duckdb.DuckDBPyConnection, assessment_ids: Selection | None = None) -> pd.DataFrame:
    """One row per in-scope item of each assessment, with its effective target, gap and state."""
    cte, params = items_cte(assessment_ids)
    return frame(con, f"WITH {cte} SELECT * FROM items ORDER BY lower(unit), assessed_on, assessment, ord", params)


def section_scores(con: duckdb.DuckDBPyConnection, assessment_ids: Selection | None = None) -> pd.DataFrame:
    """One row per view (assessment, or unit for Latest per unit) and in-scope section (4..10, A.2..A.10);
    `assessment` and `assessment_id` are the round each section's answers come from."""
    with view_rows(con, assessment_ids) as given:
        return frame(
            con,
            f"""WITH {given}
                SELECT s.assessment_id, s.unit, s.assessment, s.assessed_on, s.status, s.section, cs.title AS section_title,
                       s.kind, round(s.maturity, {DECIMALS}) AS maturity, {level_sql("s.maturity")} AS maturity_level,
                       round(s.target, {DECIMALS}) AS target, round(s.gap, {DECIMALS}) AS gap,
                       round(s.assessed / nullif(s.applicable, 0), {DECIMALS}) AS completeness,
                       round(s.implemented / nullif(s.applicable, 0), {DECIMALS}) AS coverage,
                       round(s.partial / nullif(s.applicable, 0), {DECIMALS}) AS partial_share,
                       s.items, s.applicable, s.assessed, s.implemented, s.partial, s.missing, s.not_assessed,
                       s.not_applicable, s.open_gaps, s.view_id
                FROM sections s JOIN catalog_section cs USING (section)
                ORDER BY lower(s.unit), max(s.assessed_on) OVER (PARTITION BY s.view_id),
                         min(s.assessment) OVER (PARTITION BY s.view_id), s.view_id, cs.ord""",
        )


def assessment_scores(con: duckdb.DuckDBPyConnection, assessment_ids: Selection | None = None) -> pd.DataFrame:
    """One row per view (an assessment; for Latest per unit, a unit whose clauses and Annex A answers may come
    from two rounds, named in `assessment`): clause maturity, Annex A maturity and coverage, completeness,
    open gaps; `assessment_id` is the assessment, or the newest of the unit's two rounds."""
    cte, params = items_cte(assessment_ids)
    clause, annex = "avg(maturity) FILTER (WHERE kind = 'clause')", "avg(maturity) FILTER (WHERE kind = 'annex_a')"
    return frame(
        con,
        f"""WITH {cte}, {SECTIONS_CTE}
            SELECT view_id AS assessment_id, any_value(unit) AS unit, {_VIEW_COLUMNS},
                   round({clause}, {DECIMALS}) AS clause_maturity, {level_sql(clause)} AS clause_maturity_level,
                   round({annex}, {DECIMALS}) AS annex_maturity, {level_sql(annex)} AS annex_maturity_level,
                   round({overall_sql(clause, annex)}, {DECIMALS}) AS overall_maturity,
                   {level_sql(overall_sql(clause, annex))} AS overall_maturity_level,
                   round(sum(implemented) FILTER (WHERE kind = 'annex_a')
                         / nullif(sum(applicable) FILTER (WHERE kind = 'annex_a'), 0), {DECIMALS}) AS annex_coverage,
                   round(sum(partial) FILTER (WHERE kind = 'annex_a')
                         / nullif(sum(applicable) FILTER (WHERE kind = 'annex_a'), 0), {DECIMALS}) AS annex_partial_share,
                   round(sum(assessed) / nullif(sum(applicable), 0), {DECIMALS}) AS completeness,
                   sum(applicable)::INTEGER AS applicable, sum(assessed)::INTEGER AS assessed,
                   sum(not_applicable)::INTEGER AS not_applicable, sum(open_gaps)::INTEGER AS open_gaps
            FROM sections GROUP BY view_id
            ORDER BY lower(any_value(unit)), max(assessed_on), view_id""",
        params,
    )


def organisation_sections(con: duckdb.DuckDBPyConnection, assessment_ids: Selection) -> pd.DataFrame:
    """Per section across the chosen assessments: mean of the units' scores, pooled coverage."""
    with view_rows(con, assessment_ids) as given:
        return frame(
            con,
            f"""WITH {given}
                SELECT s.section, any_value(cs.title) AS section_title, any_value(s.kind) AS kind,
                       round(avg(s.maturity), {DECIMALS}) AS maturity, {level_sql("avg(s.maturity)")} AS maturity_level,
                       round(avg(s.target), {DECIMALS}) AS target, round(avg(s.gap), {DECIMALS}) AS gap,
                       round(min(s.maturity), {DECIMALS}) AS min_maturity, round(max(s.maturity), {DECIMALS}) AS max_maturity,
                       count(s.maturity)::INTEGER AS units_scored,
                       round(sum(s.assessed) / nullif(sum(s.applicable), 0), {DECIMALS}) AS completeness,
                       round(sum(s.implemented) / nullif(sum(s.applicable), 0), {DECIMALS}) AS coverage,
                       round(sum(s.partial) / nullif(sum(s.applicable), 0), {DECIMALS}) AS partial_share,
                       sum(s.applicable)::INTEGER AS applicable, sum(s.implemented)::INTEGER AS implemented,
                       sum(s.partial)::INTEGER AS partial, sum(s.missing)::INTEGER AS missing,
                       sum(s.not_assessed)::INTEGER AS not_assessed, sum(s.not_applicable)::INTEGER AS not_applicable,
                       sum(s.open_gaps)::INTEGER AS open_gaps
                FROM sections s JOIN catalog_section cs USING (section)
                GROUP BY s.section ORDER BY any_value(cs.ord)""",
        )


def organisation_summary(con: duckdb.DuckDBPyConnection, assessment_ids: Selection) -> dict[str, float | int | None]:
    """Headline figures across the chosen assessments (each unit counts once in the maturity means); each
    maturity `x` has its level `x_level`, from the unrounded mean."""
    with view_rows(con, assessment_ids) as given:
        row = frame(
            con,
            f"""WITH {given}, {ASSESSMENTS_CTE},
                means AS (
                    SELECT round(avg(clause_maturity), {DECIMALS}) AS clause_maturity,
                           {level_sql("avg(clause_maturity)")} AS clause_maturity_level,
                           round(avg(annex_maturity), {DECIMALS}) AS annex_maturity,
                           {level_sql("avg(annex_maturity)")} AS annex_maturity_level,
                           round(avg(overall), {DECIMALS}) AS overall_maturity,
                           {level_sql("avg(overall)")} AS overall_maturity_level
                    FROM assessments),
                counts AS (
                    SELECT round(sum(annex_implemented) / nullif(sum(annex_applicable), 0), {DECIMALS}) AS annex_coverage,
                           round(sum(annex_partial) / nullif(sum(annex_applicable), 0), {DECIMALS}) AS annex_partial_share,
                           round(sum(assessed) / nullif(sum(applicable), 0), {DECIMALS}) AS completeness,
                           coalesce(sum(open_gaps), 0) AS open_gaps,
                           count(DISTINCT assessment_id) AS assessments, count(DISTINCT unit) AS units
                    FROM pooled)
                SELECT * FROM means, counts""",
        ).iloc[0]
    out: dict[str, float | int | None] = {}
    for name in ("clause_maturity", "annex_maturity", "overall_maturity"):
        out[name] = _num(row[name])
        out[f"{name}_level"] = None if pd.isna(row[f"{name}_level"]) else int(row[f"{name}_level"])
    return {
        **out,
        "annex_coverage": _num(row["annex_coverage"]),
        "annex_partial_share": _num(row["annex_partial_share"]),
        "completeness": _num(row["completeness"]),
        "open_gaps": int(row["open_gaps"]),
        "assessments": int(row["assessments"]),
        "units": int(row["units"]),
    }


def view_parts(con: duckdb.DuckDBPyConnection, assessment_ids: Selection | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What every figure over sections and views is made of, unrounded: the `sections` rows (SECTIONS_CTE, one per
    view and section) and the item counts pooled per assessment and view (`pooled`). `section_scores`,
    `organisation_sections`, `organisation_summary` and `analytics.ranking` are one SQL aggregate over these; in
    the dashboard they are composed of one cached part per unit (`versions.by_unit`), so that an answer recomputes
    the part of its unit only."""
    cte, params = items_cte(assessment_ids)
    sections = frame(con, f"WITH {cte}, {SECTIONS_CTE} SELECT * FROM sections", params)
    pooled = frame(
        con,
        f"""WITH {cte}
            SELECT assessment_id, view_id, any_value(unit) AS unit,
                   count(*) FILTER (WHERE kind = 'annex_a' AND state = 'implemented') AS annex_implemented,
                   count(*) FILTER (WHERE kind = 'annex_a' AND state = 'partial') AS annex_partial,
                   count(*) FILTER (WHERE kind = 'annex_a' AND applicable) AS annex_applicable,
                   count(*) FILTER (WHERE applicable AND maturity IS NOT NULL) AS assessed,
                   count(*) FILTER (WHERE applicable) AS applicable,
                   count(*) FILTER (WHERE gap > 0) AS open_gaps
            FROM items GROUP BY assessment_id, view_id""",
        params,
    )
    return sections, pooled


def register(con: duckdb.DuckDBPyConnection, name: str, rows: pd.DataFrame) -> None:
    """Make `rows` readable by SQL as `name` (`unregister` when done): DuckDB reads it as Arrow (its text columns
    are Arrow already: twice as fast as scanning the frame), a PostgreSQL connection copies it to a temporary table."""
    if isinstance(con, duckdb.DuckDBPyConnection):
        con.register(name, pa.Table.from_pandas(rows, preserve_index=False))
    else:
        con.register(name, rows)


@contextmanager
def view_rows(con: duckdb.DuckDBPyConnection, assessment_ids: Selection | None) -> Iterator[str]:
    """The CTEs `sections` and `pooled` of the selection (`view_parts`, composed per unit inside a cached read),
    for one aggregate over them; the frames are registered on the connection while it runs."""
    picks = None if assessment_ids is None else list(assessment_ids)
    frames = view_parts(con, picks) if not picks else versions.by_unit(con, view_parts, picks)
    names = [f"aims_{kind}_{uuid.uuid4().hex}" for kind in ("sections", "pooled")]
    for name, rows in zip(names, frames, strict=True):
        register(con, name, rows)
    try:
        yield f"sections AS (SELECT * FROM {names[0]}), pooled AS (SELECT * FROM {names[1]})"
    finally:
        for name in names:
            con.unregister(name)


def _num(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def rounds(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Round labels, oldest first (ordered by the earliest date assessed under each label)."""
    found = frame(
        con, "SELECT label FROM assessment GROUP BY label ORDER BY min(assessed_on) NULLS LAST, label"
    )
    return found["label"].tolist()


def groups(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Units that have other units under them (for the group filter)."""
    found = frame(con, """SELECT DISTINCT p.name FROM unit u JOIN unit p ON p.id = u.parent_id
                          WHERE NOT p.archived ORDER BY p.name""")
    return found["name"].tolist()


def statement_of_applicability(con: duckdb.DuckDBPyConnection, assessment_id: int) -> pd.DataFrame:
    """The Annex A controls of one assessment, as ISO/IEC 42001 6.1.3 asks: for every control whether it is
    included, the justification of that decision (why it is applied, e.g. the risks or obligations it treats;
    or why it is excluded), and whether it is implemented (yes at or above target, partly below it, no at
    level 0, not assessed; '—' for an excluded control).

    `justified` is False for a decision without its justification: an included control without an inclusion
    justification is a warning to show (`unjustified_controls`), an excluded one without a reason cannot be
    imported or finalised."""
    items = item_scores(con, [assessment_id])
    items = items[items["kind"] == "annex_a"]
    applicable = items["applicable"].astype(bool).tolist()
    reasons = [_clean(inc if a else exc) for a, inc, exc in
               zip(applicable, items["inclusion_justification"], items["justification"], strict=True)]
    return pd.DataFrame({
        "control": items["item_id"].tolist(),
        "title": items["title"].tolist(),
        "applicable": ["yes" if a else "no" for a in applicable],
        "justification": reasons,
        "implemented": [_IMPLEMENTED[s] for s in items["state"]],
        "maturity": items["maturity"].tolist(),
        "target": items["target"].tolist(),
        "status": items["state"].tolist(),
        "evidence": [_clean(e) for e in items["evidence"]],
        "justified": [bool(r) for r in reasons],
    })


_IMPLEMENTED = {"implemented": "yes", "partial": "partly", "missing": "no", "not assessed": "not assessed",
                "not applicable": "—"}


def _clean(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def unjustified_controls(soa: pd.DataFrame) -> list[str]:
    """The included controls of a Statement of Applicability that give no reason for their inclusion."""
    return soa.loc[(soa["applicable"] == "yes") & ~soa["justified"], "control"].tolist()


def with_levels(df: pd.DataFrame, scale: Scale, column: str = "maturity", into: str = "level") -> pd.DataFrame:
    """Add the scale name of each score's level as a column: from the engine's `<column>_level` (the unrounded
    score rounded down), else from the column itself, which must then hold unrounded scores."""
    out = df.copy()
    source = f"{column}_level" if f"{column}_level" in out.columns else column
    out[into] = [scale.level_name(None if pd.isna(v) else v) for v in out[source]]
    return out
