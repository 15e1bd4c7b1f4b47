"""Framework readiness leaves the tool: a table with human headers (CSV or Excel, formula-safe through
`etl.exports`) and a section of the HTML report. Every figure is `dashboard.readiness`'s."""

from __future__ import annotations

import html
from collections.abc import Iterable

import duckdb
import pandas as pd

from dashboard import readiness
from dashboard.catalog import Catalog, load_catalog
from dashboard.columns import export_frame
from dashboard.frameworks import load_frameworks
from dashboard.mapping_store import get_set
from etl import exports

__all__ = ["HEADERS", "readiness_file", "readiness_table", "report_section"]

HEADERS = {
    "unit": "Unit", "assessment": "Round", "assessed_on": "Assessed on", "requirement": "Requirement", "title": "Title",
    "group": "Group", "maturity": "Derived maturity", "level": "Level", "target": "Derived target", "state": "State",
    "mapped_items": "42001 items mapped", "applicable_items": "Applicable", "assessed_items": "Assessed",
    "items_at_target": "At target", "answers": "Answers it rests on (42001 item: relationship, level / target, state)",
    "no_counterpart": "Why 42001 does not cover it", "mapping_set": "Mapping set",
}


def readiness_table(con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int], framework_id: str,
                    set_id: str | None = None, *, catalog: Catalog | None = None) -> pd.DataFrame:
    """One row per unit's round and requirement, with the answers behind each figure, under human headers."""
    catalog = catalog or load_catalog()
    ids = list(assessment_ids)
    table = readiness.requirement_readiness(con, ids, framework_id, set_id)
    behind = readiness.basis(con, ids, framework_id, None, set_id)
    lines: dict[tuple[int, str], list[str]] = {}
    for row in behind.itertuples(index=False):
        level = "not assessed" if pd.isna(row.maturity) else f"{int(row.maturity)} / {int(row.target)}"
        lines.setdefault((row.assessment_id, row.requirement), []).append(
            f"{row.item_id}: {row.relationship}, {level}, {row.state}")
    table["answers"] = ["; ".join(lines.get((a, r), [])) for a, r in zip(table["assessment_id"], table["requirement"], strict=True)]
    # the level of the unrounded derived maturity: a 2.996 shown as 3.00 is level 2 (as every other export)
    table["level"] = [catalog.scale.level_name(v) if not pd.isna(v) else "" for v in table["maturity_level"]]
    return export_frame(table, list(HEADERS), extra=HEADERS)  # blanks empty, dates as dates (dashboard.columns)


def readiness_file(con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int], framework_id: str, fmt: str,
                   set_id: str | None = None) -> bytes:
    """The table as CSV or as a workbook with a second sheet stating the mapping set's provenance."""
    table = readiness_table(con, assessment_ids, framework_id, set_id)
    if fmt == "csv":
        return exports.to_csv(table)
    mapping = get_set(con, set_id or readiness.default_set(con, framework_id))
    framework = load_frameworks()[framework_id]
    about = pd.DataFrame([("Framework", f"{framework.title} ({framework.version})"), ("Framework source", framework.source),
                          ("Mapping set", mapping.id), ("Provenance", mapping.describe()), ("Made from", mapping.made_from),
                          ("Rule", readiness.RULE)],
                         columns=["", "Value"])
    return exports.to_xlsx([("Readiness", table), ("About", about)],
                           widths={"Title": 40, "Unit": 24, HEADERS["answers"]: 70, HEADERS["no_counterpart"]: 50, "Value": 120})


def report_section(con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int]) -> str:
    """The report's "Other frameworks" section: per framework (our mapping set), how many requirements are in
    each state across the chosen units and the requirements 42001 does not cover. User text is escaped."""
    ids = list(assessment_ids)
    parts = ["<h2>Other frameworks, derived from the 42001 answers</h2>",
             '<p class="muted">Derived through our mapping sets: a requirement is <em>covered</em> when every applicable '
             "42001 item mapped to it is at target and at least one of them is equal to it or goes beyond it. Units are "
             "counted per state; the maturity is the mean of the units' derived maturities.</p>"]
    for framework in load_frameworks().values():
        mapping_id = readiness.default_set(con, framework.id)
        summary = readiness.organisation_readiness(con, ids, framework.id, mapping_id)
        totals = readiness.overview(con, ids, framework.id, mapping_id)
        mean = totals["maturity"]
        parts.append(f"<h3>{html.escape(framework.name)}</h3>")
        parts.append(f'<p class="muted">{html.escape(get_set(con, mapping_id).describe())}</p>')
        parts.append("<table><thead><tr><th>Requirements</th><th>Mean derived maturity</th>"
                     + "".join(f"<th>{html.escape(s)} (in at least one unit)</th>" for s in readiness.STATES)
                     + "</tr></thead><tbody><tr>"
                     + f"<td>{totals['requirements']}</td><td>{'—' if mean is None else f'{mean:.2f}'}</td>"
                     + "".join(f"<td>{totals[s]}</td>" for s in readiness.STATES) + "</tr></tbody></table>")
        weakest = summary[summary["maturity"].notna()].nsmallest(5, "maturity")
        if not weakest.empty:
            parts.append("<p>Weakest requirements: " + "; ".join(
                f"{html.escape(r)} {html.escape(str(t))} ({m:.2f})" for r, t, m in
                zip(weakest["requirement"], weakest["title"], weakest["maturity"], strict=True)) + "</p>")
        gaps = readiness.uncovered(con, framework.id, mapping_id)
        if not gaps.empty:
            parts.append(f"<p>Not covered by 42001 ({len(gaps)}): "
                         + ", ".join(html.escape(r) for r in gaps["requirement"]) + ".</p>")
    return "\n".join(parts)
