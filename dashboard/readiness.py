"""Derived readiness: where a unit stands on another framework (EU AI Act, NIST AI RMF, ISO/IEC 27001), read
from its ISO/IEC 42001 answers through one mapping set. Part of the scoring engine: it starts from
`scoring.items_cte`, the same item-level figures (maturity, effective target, applicability) every other
figure uses, and nothing else computes it.

The rule, per target requirement and assessment (one unit's round):

* The requirement's **basis** is the set's rows that map a 42001 item to it. Each row has a strength from
  its relationship: *equal* and *superset of* 1 (the item asks for all the requirement asks), *subset of*
  0.5 (part of it), *intersects with* 0.25 (an overlap).
* Items marked **not applicable** in the unit are left out, as everywhere. An item outside the round's
  scope, or without a maturity, is **not assessed**: it never counts as zero.
* **Derived maturity** = the strength-weighted mean maturity of the applicable, assessed basis items;
  derived target = the strength-weighted mean of the targets of the applicable items in the round's scope.
* **State**:
  - *not covered by 42001*: the set has no mapping to it (it says "no counterpart", or nothing);
  - *not applicable*: every basis item is not applicable in this unit;
  - *not assessed*: no applicable basis item is assessed;
  - *covered*: every applicable basis item is assessed and at or above its target, and at least one of
    them is *equal* or *superset of* (42001 items that only overlap never show a requirement fully met);
  - *missing*: every assessed basis item is at level 0;
  - *partial*: anything else (some evidence, not all of it at target, or only partial relationships).
* Across several units a requirement's figure is the mean of the units' derived maturities (each unit
  counts once), beside the number of units in each state.

Figures are rounded to two decimals once, here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import duckdb
import pandas as pd

from dashboard import scoring
from dashboard.catalog import load_catalog
from dashboard.db import frame
from dashboard.frameworks import NO_COUNTERPART, Framework, MappingSet, load_frameworks
from dashboard.mapping_store import get_set, sets_for

__all__ = [
    "NOT_COVERED",
    "RULE",
    "STATES",
    "basis",
    "default_set",
    "organisation_readiness",
    "overview",
    "requirement_readiness",
    "uncovered",
]

NOT_COVERED = "not covered by 42001"
STATES = ("covered", "partial", "missing", "not assessed", "not applicable", NOT_COVERED)
DECIMALS = 2
# the rule in one paragraph, for exports and the report (the module's docstring has it in full)
RULE = ("Each 42001 item mapped to a requirement weighs by its relationship (equal and superset of 1, subset of 0.5, "
        "intersects with 0.25); not-applicable items are left out and unassessed ones never count as zero. Derived "
        "maturity = the weighted mean maturity of the applicable, assessed mapped items. Covered = every applicable "
        "mapped item assessed and at or above its target, one of them equal or superset of; missing = every assessed "
        "one at level 0; partial otherwise; not assessed = none assessed; not applicable = all not applicable; not "
        "covered by 42001 = nothing mapped. Across units: the mean of the units' derived maturities.")


def default_set(con: duckdb.DuckDBPyConnection, framework_id: str) -> str:
    """The set a figure uses unless another is chosen: ours (the first) for the framework."""
    found = sets_for(con, framework_id)
    if not found:
        raise KeyError(f"no mapping set for framework {framework_id!r}")
    return found[0].id


def _resolve(con: duckdb.DuckDBPyConnection, framework_id: str, set_id: str | None) -> tuple[Framework, MappingSet]:
    frameworks = load_frameworks()
    if framework_id not in frameworks:
        raise KeyError(f"unknown framework {framework_id!r} (known: {', '.join(frameworks)})")
    mapping = get_set(con, set_id or default_set(con, framework_id))
    if mapping.target_framework != framework_id:
        raise KeyError(f"mapping set {mapping.id!r} maps to {mapping.target_framework}, not to {framework_id}")
    return frameworks[framework_id], mapping


def _tables(framework: Framework, mapping: MappingSet) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The set's mapping rows and the framework's requirements (with the set's 'no counterpart' reasons)."""
    mapped = pd.DataFrame([(r.source, r.target, r.relationship, r.strength, r.rationale) for r in mapping.mapped],
                          columns=["source_item", "target_item", "relationship", "strength", "rationale"])
    reasons = {r.target: r.rationale for r in mapping.rows if r.relationship == NO_COUNTERPART and r.target}
    requirements = pd.DataFrame(
        [(r.id, r.title or r.description, r.group, n, reasons.get(r.id)) for n, r in enumerate(framework.requirements, 1)],
        columns=["requirement", "title", "grp", "ord", "no_counterpart"])
    return mapped, requirements


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, framework: Framework, mapping: MappingSet) -> Iterator[tuple[str, str]]:
    """The set's rows and the framework's requirements as two views of this connection, for one query."""
    mapped, requirements = _tables(framework, mapping)
    suffix = uuid.uuid4().hex[:12]
    names = (f"_xwalk_rows_{suffix}", f"_xwalk_reqs_{suffix}")
    con.register(names[0], mapped)
    con.register(names[1], requirements)
    try:
        yield names
    finally:
        for name in names:
            con.unregister(name)


def _readiness_cte(assessment_ids: Iterable[int] | None, rows_view: str, reqs_view: str) -> tuple[str, list[int]]:
    """`readiness`: one row per chosen assessment and requirement, unrounded (see the module's rule)."""
    cte, params = scoring.items_cte(assessment_ids)
    sql = f"""{cte},
    chosen AS (SELECT DISTINCT assessment_id, unit, assessment, assessed_on FROM items),
    basis AS (
        SELECT c.assessment_id, m.target_item, m.strength, coalesce(i.applicable, true) AS applicable,
               i.maturity, i.target
        FROM chosen c CROSS JOIN {rows_view} m
        LEFT JOIN items i ON i.assessment_id = c.assessment_id AND i.item_id = m.source_item),
    per AS (
        SELECT assessment_id, target_item, count(*) AS mapped,
               count(*) FILTER (WHERE applicable) AS applicable,
               count(*) FILTER (WHERE applicable AND maturity IS NOT NULL) AS assessed,
               count(*) FILTER (WHERE applicable AND maturity >= target) AS at_target,
               count(*) FILTER (WHERE applicable AND maturity IS NOT NULL AND strength >= 1) AS full_assessed,
               max(maturity) FILTER (WHERE applicable) AS best,
               sum(strength * maturity) FILTER (WHERE applicable AND maturity IS NOT NULL)
                 / sum(strength) FILTER (WHERE applicable AND maturity IS NOT NULL) AS maturity,
               sum(strength * target) FILTER (WHERE applicable AND target IS NOT NULL)
                 / sum(strength) FILTER (WHERE applicable AND target IS NOT NULL) AS target
        FROM basis GROUP BY assessment_id, target_item),
    readiness AS (
        SELECT c.assessment_id, c.unit, c.assessment, c.assessed_on, r.requirement, r.title, r.grp, r.ord,
               p.maturity, p.target,
               CASE WHEN p.mapped IS NULL THEN '{NOT_COVERED}'
                    WHEN p.applicable = 0 THEN 'not applicable'
                    WHEN p.assessed = 0 THEN 'not assessed'
                    WHEN p.assessed = p.applicable AND p.at_target = p.applicable AND p.full_assessed > 0 THEN 'covered'
                    WHEN p.best = 0 THEN 'missing'
                    ELSE 'partial' END AS state,
               coalesce(p.mapped, 0)::INTEGER AS mapped_items, coalesce(p.applicable, 0)::INTEGER AS applicable_items,
               coalesce(p.assessed, 0)::INTEGER AS assessed_items, coalesce(p.at_target, 0)::INTEGER AS items_at_target,
               r.no_counterpart
        FROM chosen c CROSS JOIN {reqs_view} r
        LEFT JOIN per p ON p.assessment_id = c.assessment_id AND p.target_item = r.requirement)"""
    return sql, params


def requirement_readiness(con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int] | None, framework_id: str,
                          set_id: str | None = None) -> pd.DataFrame:
    """One row per chosen assessment and target requirement: derived maturity, target, state and the counts
    behind it (mapped, applicable, assessed and at-target 42001 items)."""
    framework, mapping = _resolve(con, framework_id, set_id)
    with _registered(con, framework, mapping) as (rows_view, reqs_view):
        cte, params = _readiness_cte(assessment_ids, rows_view, reqs_view)
        out = frame(con, f"""WITH {cte}
            SELECT assessment_id, unit, assessment, assessed_on, requirement, title, grp AS "group",
                   round(maturity, {DECIMALS}) AS maturity, {scoring.level_sql("maturity")} AS maturity_level,
                   round(target, {DECIMALS}) AS target, state,
                   mapped_items, applicable_items, assessed_items, items_at_target, no_counterpart
            FROM readiness ORDER BY lower(unit), assessed_on, assessment, ord""", params)
    out.insert(0, "mapping_set", mapping.id)
    return out


def organisation_readiness(con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int] | None, framework_id: str,
                           set_id: str | None = None) -> pd.DataFrame:
    """One row per requirement across the chosen assessments: the mean of the units' derived maturities (each
    unit counting once), the mean derived target, and how many units are in each state."""
    framework, mapping = _resolve(con, framework_id, set_id)
    counts = ", ".join(f"count(*) FILTER (WHERE state = '{s}')::INTEGER AS \"{s}\"" for s in STATES)
    with _registered(con, framework, mapping) as (rows_view, reqs_view):
        cte, params = _readiness_cte(assessment_ids, rows_view, reqs_view)
        out = frame(con, f"""WITH {cte}
            SELECT requirement, any_value(title) AS title, any_value(grp) AS "group",
                   round(avg(maturity), {DECIMALS}) AS maturity, round(avg(target), {DECIMALS}) AS target,
                   count(*)::INTEGER AS units, {counts},
                   any_value(mapped_items)::INTEGER AS mapped_items, any_value(no_counterpart) AS no_counterpart
            FROM readiness GROUP BY requirement ORDER BY any_value(ord)""", params)
    out.insert(0, "mapping_set", mapping.id)
    return out


def overview(con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int] | None, framework_id: str,
             set_id: str | None = None) -> dict[str, object]:
    """A framework in one line, for the report: its number of requirements, the mean of the requirements' derived
    maturities (each the units' mean, as in `organisation_readiness`; requirements without a figure left out),
    and per state how many requirements are in that state in at least one unit."""
    summary = organisation_readiness(con, assessment_ids, framework_id, set_id)
    mean = summary["maturity"].mean()
    return {"mapping_set": summary["mapping_set"].iloc[0] if len(summary) else set_id, "requirements": len(summary),
            "maturity": None if pd.isna(mean) else round(float(mean), DECIMALS),
            **{state: int((summary[state] > 0).sum()) for state in STATES}}


def basis(con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int] | None, framework_id: str,
          requirement: str | None = None, set_id: str | None = None) -> pd.DataFrame:
    """The answers a requirement's figure rests on (every requirement's when `requirement` is None): per chosen
    assessment and mapped 42001 item, the relationship and rationale, the answer (maturity, target, state,
    evidence) and a link to it in the questionnaire (`assess?assessment=ID&item=ITEM`)."""
    framework, mapping = _resolve(con, framework_id, set_id)
    if requirement is not None and requirement not in framework.by_id:
        raise KeyError(f"{requirement!r} is not a requirement of {framework.name}")
    mapped = _tables(framework, mapping)[0].rename(columns={"target_item": "requirement", "source_item": "item_id"})
    if requirement is not None:
        mapped = mapped[mapped["requirement"] == requirement]
    items = scoring.item_scores(con, assessment_ids)
    chosen = items.drop_duplicates("assessment_id")[["assessment_id", "unit", "assessment"]]
    answers = items[["assessment_id", "item_id", "title", "maturity", "target", "state", "evidence", "justification"]]
    out = chosen.merge(mapped, how="cross").merge(answers, on=["assessment_id", "item_id"], how="left")
    out["state"] = out["state"].fillna("not in this round's scope")
    out["title"] = out["title"].fillna(out["item_id"].map({i.id: i.title for i in load_catalog().items}))
    out["link"] = ["assess?" + urlencode({"assessment": int(a), "item": i}) for a, i in zip(out["assessment_id"], out["item_id"],
                                                                                            strict=True)]
    columns = ["unit", "assessment", "assessment_id", "requirement", "item_id", "title", "relationship", "strength", "rationale",
               "maturity", "target", "state", "evidence", "justification", "link"]
    return out.loc[:, columns].astype({"assessment_id": int}).reset_index(drop=True)


def uncovered(con: duckdb.DuckDBPyConnection, framework_id: str, set_id: str | None = None) -> pd.DataFrame:
    """The requirements 42001 does not cover in this set (no mapping), with the set's reason: work a lead has
    to plan outside the 42001 assessment."""
    framework, mapping = _resolve(con, framework_id, set_id)
    mapped = {r.target for r in mapping.mapped}
    reasons = {r.target: r.rationale for r in mapping.rows if r.relationship == NO_COUNTERPART and r.target}
    return pd.DataFrame(
        [(r.id, r.title or r.description, r.group, reasons.get(r.id) or "This mapping set has no row for it.")
         for r in framework.requirements if r.id not in mapped],
        columns=["requirement", "title", "group", "reason"])
