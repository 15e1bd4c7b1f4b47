"""Roadmap and Statement of Applicability exports: CSV, and Excel with a cover sheet, colours and filters.

Every figure comes from `dashboard.scoring` (through `dashboard.roadmap` for the plan); every text cell is
neutralised against formula injection by `etl.exports`, and Excel cells are written as text, numbers or
dates, never as formulas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import duckdb
import pandas as pd

from dashboard import provenance, roadmap, scoring, selection, store
from dashboard.catalog import Catalog, load_catalog
from dashboard.columns import export_frame, label
from etl.exports import Cover, SheetSpec, to_csv, to_formatted_xlsx

__all__ = [
    "ORGANISATION_EXPORT_COLUMNS",
    "ROADMAP_EXPORT_COLUMNS",
    "SOA_COLUMNS",
    "find_soa_assessment",
    "organisation_table",
    "priority_brief",
    "roadmap_file",
    "roadmap_table",
    "scoring_brief",
    "selection_facts",
    "soa_file",
    "soa_table",
    "soa_warnings",
]

ROADMAP_EXPORT_COLUMNS = (
    "phase", "rank", "unit", "assessment", "section", "item_id", "title", "maturity", "level", "target", "target_level",
    "gap", "score", "why", "score_detail", "suggested_action", "evidence", "notes", "owner", "due_date",
    "due_outside_phase", "status", "overdue",
)
ORGANISATION_EXPORT_COLUMNS = (
    "phase", "rank", "item_id", "title", "section", "summary", "units_below", "units_assessed", "units", "units_at_zero",
    "lowest", "lowest_level", "target", "max_gap", "score", "why", "score_detail", "suggested_action", "owner",
    "due_date", "due_outside_phase", "status", "overdue",
)
# ISO/IEC 42001 6.1.3: every control, whether included, the justification either way, whether implemented
SOA_COLUMNS = (
    "control", "title", "objective", "applicable", "justification", "implemented", "status", "maturity", "level",
    "target", "evidence",
)
# the SoA's headers say what an auditor looks for (the rest come from dashboard.columns)
SOA_LABELS = {"applicable": "Included", "justification": "Justification (inclusion or exclusion)",
              "status": "Implementation status"}
_WIDTHS = {
    "unit": 22, "title": 34, "why": 60, "suggested_action": 70, "evidence": 50, "notes": 30, "owner": 22, "units": 40,
    "summary": 50, "justification": 50, "objective": 30, "due_date": 12, "status": 12, "phase": 9, "score_detail": 60,
}


def _people_sheet(title: str, table: pd.DataFrame, labels: dict[str, str] | None = None, *,
                  level_columns: tuple[str, ...] = (), fills: dict[str, dict[str, str]] | None = None) -> SheetSpec:
    """A sheet with the headers people read (`dashboard.columns`), widths, wrapping and colours kept."""
    labels = labels or {}

    def name(column: str) -> str:
        return labels.get(column) or label(column)

    return SheetSpec(title, export_frame(table, extra=labels), {name(c): w for c, w in _WIDTHS.items()},
                     level_columns=tuple(name(c) for c in level_columns), wrap_columns=tuple(name(c) for c in _WRAP),
                     fills={name(c): f for c, f in (fills or {}).items()})
_WRAP = ("title", "why", "score_detail", "suggested_action", "evidence", "notes", "units", "summary", "justification",
         "objective")
_PHASE_FILLS = {"Now": "#F4CCCC", "Next": "#FCE5CD", "Later": "#CFE2F3"}
_STATUS_FILLS = {"done": "#D9EAD3", "in progress": "#FFF2CC", "implemented": "#D9EAD3", "partial": "#FFF2CC",
                 "missing": "#F4CCCC", "not applicable": "#EEEEEE"}
_MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def scoring_brief(catalog: Catalog) -> list[str]:
    """The scoring rules in a few lines, for cover sheets and the report."""
    scale = catalog.scale
    levels = ", ".join(f"{lv.value} {lv.name}" for lv in scale.levels)
    return [
        f"Maturity levels: {levels}.",
        f"Item gap = target − maturity, 0 when at or above target; the target is the item's own, else "
        f"{scale.default_target} ({scale.name(scale.default_target)}).",
        "Not-applicable items are left out of every figure; an applicable item without a maturity is 'not assessed' "
        "and never counts as zero.",
        "Section score = weighted mean maturity of its applicable, assessed items (catalog weights; 1.5 for foundations). "
        "Clause maturity = mean of the clause sections; several units: each unit counts once.",
        "The level is the score rounded down, from the unrounded score: 2.996 is shown as 3.00 and is level 2.",
        "Annex A coverage = applicable controls at or above target ÷ applicable controls.",
        f"Latest per unit: each unit's newest clauses answers and newest Annex A answers (the rounds used are named); "
        f"a draft under {provenance.draft_threshold():.0%} complete is marked provisional.",
    ]


def priority_brief() -> list[str]:
    """The roadmap's priority and phase rule in a few lines (the rule itself is `roadmap.prioritise`)."""
    return [
        f"Priority score = gap × weight + {roadmap.UNLOCK_BONUS:g} × open actions of the same assessment that wait "
        "for it (catalog dependencies).",
        f"Now: foundations (weight above 1) or score ≥ {roadmap.NOW_SCORE:g}; Next: score ≥ {roadmap.NEXT_SCORE:g}; "
        "Later: the rest. A prerequisite is brought forward to the phase of what relies on it and ranks before it.",
        "Due date: as set, else the end of the phase counted from the assessment date ("
        + ", ".join(f"{p.name} {p.end_months} months" for p in roadmap.PHASES) + ").",
        "Organisation view: the same item across units merged; earliest phase of the units, score summed over them.",
    ]


def selection_facts(
    con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int], catalog: Catalog, *,
    organisation: str = "", round_label: str | None = None, generated: dt.date | None = None,
) -> list[tuple[str, Any]]:
    """What a selection covers, as label/value rows: organisation, units, rounds, dates, catalog, headline."""
    ids = list(assessment_ids)
    chosen = store.list_assessments(con)
    chosen = chosen[chosen["id"].isin(selection.assessment_ids(ids))]
    units = sorted(chosen["unit"].unique(), key=str.lower)
    dates = sorted(pd.to_datetime(chosen["assessed_on"]).dropna().dt.date)
    drafts = int((chosen["status"] == "draft").sum())
    versions = sorted(set(chosen["catalog_version"]))
    summary = scoring.organisation_summary(con, ids)
    scale = catalog.scale

    def score(name: str) -> str:
        value = summary[name]
        return "—" if value is None else f"{value:.2f} ({scale.level_name(summary[f'{name}_level'])})"

    rounds = ", ".join(sorted(chosen["label"].unique()))
    used = provenance.rounds_text(provenance.rounds_used(con, ids)) if round_label == scoring.LATEST else ""
    provisional = provenance.drafts_text(provenance.drafts(con, ids))
    return [
        ("Organisation", organisation or "—"),
        ("Business units", f"{len(units)}: {', '.join(units)}"),
        ("Rounds", f"{rounds}" + (f" (selection: {round_label})" if round_label else "")),
        *([("Rounds used", used.removeprefix("Rounds used: "))] if used else []),
        ("Assessed", "—" if not dates else f"{dates[0]} to {dates[-1]}" if dates[0] != dates[-1] else str(dates[0])),
        ("Assessments", f"{len(chosen)}" + (f", of which {drafts} draft (figures provisional)" if drafts else ", all final")),
        *([("Provisional", provisional.removeprefix("Provisional: "))] if provisional else []),
        ("Generated", (generated or dt.date.today()).isoformat()),
        ("Catalog", f"{catalog.name} {catalog.version} ({catalog.standard}); assessments made against "
                    f"{', '.join(versions) or '—'}"),
        ("Clause maturity", score("clause_maturity")),
        ("Annex A maturity", score("annex_maturity")),
        ("Annex A coverage", "—" if summary["annex_coverage"] is None else f"{summary['annex_coverage']:.0%}"),
        ("Completeness", "—" if summary["completeness"] is None else f"{summary['completeness']:.0%}"),
        ("Open gaps", summary["open_gaps"]),
    ]


def roadmap_table(actions: pd.DataFrame) -> pd.DataFrame:
    """The per-unit roadmap in export columns, in plan order."""
    return actions.loc[:, list(ROADMAP_EXPORT_COLUMNS)].reset_index(drop=True)


def organisation_table(merged: pd.DataFrame) -> pd.DataFrame:
    """The organisation view in export columns, in rank order."""
    return merged.loc[:, list(ORGANISATION_EXPORT_COLUMNS)].reset_index(drop=True)


def roadmap_file(
    con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int], fmt: str, *, organisation_view: bool = False,
    organisation: str = "", round_label: str | None = None, scope: str = "both", catalog: Catalog | None = None,
    today: dt.date | None = None,
) -> bytes:
    """The roadmap as CSV (one table with a phase column) or Excel (cover sheet, then the roadmap sheet).

    `scope` keeps the actions of clauses 4-10 (`clause`), Annex A (`annex_a`) or both.
    """
    catalog = catalog or load_catalog()
    ids = list(assessment_ids)
    actions = (roadmap.organisation_plan if organisation_view else roadmap.plan)(con, ids, catalog, today=today)
    if scope != "both":
        actions = actions[actions["kind"] == scope]
    table = organisation_table(actions) if organisation_view else roadmap_table(actions)
    if fmt == "csv":
        return to_csv(export_frame(table))
    _check_format(fmt)
    counts = table["phase"].value_counts()
    facts = selection_facts(con, ids, catalog, organisation=organisation, round_label=round_label, generated=today)
    facts.append(("Roadmap", f"{len(table)} action(s): " + ", ".join(f"{p.name} {counts.get(p.name, 0)}" for p in roadmap.PHASES)
                  + f"; {int((table['status'] == 'done').sum())} done"
                  + ("; organisation view (the same item across units merged)" if organisation_view else "")
                  + {"both": "", "clause": "; clauses 4-10 only", "annex_a": "; Annex A only"}[scope]))
    cover = Cover("AI management system roadmap", facts, ["Scoring rules", *scoring_brief(catalog), "",
                                                           "Priority and phases", *priority_brief()])
    sheet = _people_sheet("Organisation roadmap" if organisation_view else "Roadmap", table,
                          level_columns=("maturity", "target", "lowest"), fills={"phase": _PHASE_FILLS, "status": _STATUS_FILLS})
    return to_formatted_xlsx([sheet], cover=cover)


def find_soa_assessment(con: duckdb.DuckDBPyConnection, unit: str, label: str | None = None) -> store.Assessment:
    """The unit's assessment with this label, else its latest that covers Annex A."""
    known = store.list_assessments(con)
    known = known[known["unit"].str.lower() == unit.strip().lower()]
    if known.empty:
        raise store.StoreError(f"No assessment for a business unit named {unit!r}.")
    if label:
        known = known[known["label"] == label]
        if known.empty:
            raise store.StoreError(f"{unit} has no assessment labelled {label!r}.")
    covering = known[known["scope"] != "clauses"]
    if covering.empty:
        where = f"{unit} {label}" if label else unit
        raise store.StoreError(f"{where}: no assessment covering Annex A, so no Statement of Applicability.")
    latest = covering.assign(day=pd.to_datetime(covering["assessed_on"])).sort_values(["day", "id"], na_position="first")
    found = store.get_assessment(con, int(latest["id"].iloc[-1]))
    assert found is not None
    return found


def soa_table(con: duckdb.DuckDBPyConnection, assessment_id: int, catalog: Catalog) -> pd.DataFrame:
    """The Statement of Applicability of one assessment with each control's objective and level name."""
    soa = scoring.statement_of_applicability(con, assessment_id).copy()
    soa["objective"] = [f"{catalog.by_id[c].section} {catalog.section_by_id[catalog.by_id[c].section].title}"
                        for c in soa["control"]]
    soa["level"] = ["" if pd.isna(m) else catalog.scale.name(int(m)) for m in soa["maturity"]]
    return soa.loc[:, list(SOA_COLUMNS)]


def soa_warnings(soa: pd.DataFrame) -> list[str]:
    """What an auditor would query in a Statement of Applicability: a decision without its justification."""
    warnings = []
    included = scoring.unjustified_controls(soa)
    if included:
        warnings.append(f"{len(included)} included control(s) without a justification for inclusion "
                        f"(the risks or obligations it treats): {', '.join(included)}")
    excluded = soa.loc[(soa["applicable"] == "no") & ~soa["justified"], "control"].tolist()
    if excluded:
        warnings.append(f"{len(excluded)} excluded control(s) without a justification: {', '.join(excluded)}")
    return warnings


def soa_file(
    con: duckdb.DuckDBPyConnection, assessment_id: int, fmt: str, *, organisation: str = "", catalog: Catalog | None = None,
    today: dt.date | None = None,
) -> bytes:
    """The Statement of Applicability as CSV, or Excel with a cover sheet (unit, round, coverage, rules)."""
    catalog = catalog or load_catalog()
    table = soa_table(con, assessment_id, catalog)
    if fmt == "csv":
        return to_csv(export_frame(table, extra=SOA_LABELS))
    _check_format(fmt)
    assessment = store.get_assessment(con, assessment_id)
    assert assessment is not None
    facts = selection_facts(con, [assessment_id], catalog, organisation=organisation, generated=today)
    excluded = int((table["applicable"] == "no").sum())
    facts.insert(1, ("Assessment", f"{assessment.unit} · {assessment.label} · {assessment.status}"))
    facts.append(("Controls", f"{len(table)}: {len(table) - excluded} included, {excluded} excluded"))
    for warning in soa_warnings(scoring.statement_of_applicability(con, assessment_id)):
        facts.append(("Warning", warning))
    cover = Cover("Statement of Applicability (ISO/IEC 42001 Annex A)", facts, ["Scoring rules", *scoring_brief(catalog)])
    sheet = _people_sheet("Statement of Applicability", table, SOA_LABELS, level_columns=("maturity", "target"),
                          fills={"status": _STATUS_FILLS})
    return to_formatted_xlsx([sheet], cover=cover)


def mime(fmt: str) -> str:
    return _MIME[fmt]


def _check_format(fmt: str) -> None:
    if fmt not in _MIME:
        raise ValueError(f"format must be csv or xlsx, not {fmt!r}")
