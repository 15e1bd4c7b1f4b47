"""What the figures of a selection stand on: the rounds each unit's answers come from, and the drafts too
incomplete to be presented as a full result.

Management views (Overview, Presentation, the report, the executive summary) show both beside their
figures: *Latest per unit* may take a unit's clauses from one round and its Annex A answers from another,
and a draft round under `AIMS_DRAFT_COMPLETENESS` per cent complete counts as it stands but is marked
provisional, with its unit named, instead of passing for a finished assessment. When a lead has set management
views to show finalised rounds only (`selection.final_only`), a line says so.
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd

from dashboard import settings, versions
from dashboard.db import frame
from dashboard.scoring import Selection, view_rows
from dashboard.selection import COVERS, LATEST, Pick, final_only, values_sql

__all__ = ["DRAFT_MARK", "FINAL_ONLY_NOTE", "draft_threshold", "drafts", "drafts_text", "marked", "notes", "rounds_text", "rounds_used"]

DRAFT_MARK = "draft"
FINAL_ONLY_NOTE = ("Finalised rounds only: each unit's newest finalised round is shown; drafts and rounds under "
                   "review are left out, and so are units without a finalised round (setting: management views "
                   "show finalised rounds only).")


def draft_threshold() -> float:
    """The completeness (0-1) below which a draft is marked provisional: `AIMS_DRAFT_COMPLETENESS` per cent."""
    text = settings.get("AIMS_DRAFT_COMPLETENESS")
    try:
        value = float(text)
    except ValueError as exc:
        raise ValueError(f"AIMS_DRAFT_COMPLETENESS must be a percentage such as 80, not {text!r}") from exc
    return min(max(value, 0.0), 100.0) / 100


def _percent(share: float) -> str:
    """A share as a whole percentage rounded down, so that 79.6% never reads as the 80% it is below."""
    return f"{math.floor(share * 100 + 1e-9)}%"


def rounds_used(con: duckdb.DuckDBPyConnection, picks: Selection) -> pd.DataFrame:
    """One row per unit (view) of the selection: the round and date of its clauses and of its Annex A answers."""
    values = values_sql(picks)
    columns = ["unit", "clauses", "clauses_on", "annex_a", "annex_a_on"]
    if not values:
        return pd.DataFrame(columns=columns)
    return frame(
        con,
        f"""WITH pick(assessment_id, kind, view_id) AS (VALUES {values})
            SELECT any_value(u.name) AS unit,
                   any_value(a.label) FILTER (WHERE k.kind = 'clause') AS clauses,
                   any_value(a.assessed_on) FILTER (WHERE k.kind = 'clause') AS clauses_on,
                   any_value(a.label) FILTER (WHERE k.kind = 'annex_a') AS annex_a,
                   any_value(a.assessed_on) FILTER (WHERE k.kind = 'annex_a') AS annex_a_on
            FROM pick p JOIN assessment a ON a.id = p.assessment_id JOIN unit u ON u.id = a.unit_id
            JOIN (VALUES ('clause'), ('annex_a')) k(kind) ON (p.kind IS NULL OR p.kind = k.kind) AND {COVERS}
            GROUP BY p.view_id ORDER BY lower(any_value(u.name)), p.view_id""",
    )[columns]


def rounds_text(used: pd.DataFrame, names: int = 3) -> str:
    """`Rounds used: 2026-Q3 — 8 units; clauses 2026-Q3, Annex A 2026-Q1 — Retail Banking`: the units grouped
    by the rounds their figures come from, largest group first; a group of up to `names` units is named."""
    grouped: dict[str, list[str]] = {}
    for row in used.itertuples():
        clauses, annex = (None if pd.isna(v) else str(v) for v in (row.clauses, row.annex_a))
        rounds = (f"clauses {clauses}, Annex A {annex}" if clauses and annex and clauses != annex
                  else clauses or annex or "—")
        grouped.setdefault(rounds, []).append(str(row.unit))
    if not grouped:
        return ""
    ordered = sorted(grouped.items(), key=lambda g: (-len(g[1]), g[0]))
    return "Rounds used: " + "; ".join(
        f"{rounds} — {', '.join(units) if len(units) <= names else f'{len(units)} units'}" for rounds, units in ordered)


def drafts(con: duckdb.DuckDBPyConnection, picks: Selection, threshold: float | None = None) -> pd.DataFrame:
    """The draft rounds of the selection whose selected answers are less complete than `threshold` (default:
    `draft_threshold()`): unit, round, completeness (unrounded), least complete first."""
    threshold = draft_threshold() if threshold is None else threshold
    # in the dashboard: the counts per round come from the selection's parts composed per unit (`view_rows`), and
    # the result is reused by the other reads of the same rerun (the notes and the draft markers)
    return versions.part(con, _drafts, list(picks), threshold).copy()  # a copy: the part is shared


def _drafts(con: duckdb.DuckDBPyConnection, picks: list[Pick], threshold: float) -> pd.DataFrame:
    with view_rows(con, picks) as given:
        return frame(
            con,
            f"""WITH {given},
                drafts AS (
                    SELECT any_value(u.name) AS unit, any_value(a.label) AS round, p.assessment_id,
                           coalesce(sum(p.assessed) / nullif(sum(p.applicable), 0), 0)::DOUBLE AS completeness
                    FROM pooled p JOIN assessment a ON a.id = p.assessment_id JOIN unit u ON u.id = a.unit_id
                    WHERE a.status = 'draft' GROUP BY p.assessment_id)
                SELECT * FROM drafts WHERE completeness < ? ORDER BY completeness, lower(unit)""",
            [threshold],
        )


def drafts_text(found: pd.DataFrame, threshold: float | None = None) -> str:
    """`Provisional: draft rounds under 80% complete, counted as they stand — HR & People (2026-Q3, 78%)`."""
    if found.empty:
        return ""
    threshold = draft_threshold() if threshold is None else threshold
    listed = "; ".join(f"{r.unit} ({r.round}, {_percent(r.completeness)} complete)" for r in found.itertuples())
    return (f"Provisional: {len(found)} draft round(s) under {_percent(threshold)} complete, counted as they stand, "
            f"not a full result — {listed}")


def marked(found: pd.DataFrame) -> dict[str, str]:
    """Unit name -> the name with its draft marker (`HR & People · draft 78%`), for the units of `drafts`."""
    out: dict[str, str] = {}
    for row in found.itertuples():  # a unit whose two rounds are both drafts shows the least complete
        out.setdefault(str(row.unit), f"{row.unit} · {DRAFT_MARK} {_percent(row.completeness)}")
    return out


def notes(con: duckdb.DuckDBPyConnection, picks: Selection, round_label: str | None = LATEST) -> list[str]:
    """The lines a management view shows beside its figures: the rounds used (for Latest per unit) and the
    drafts marked provisional (empty lines left out)."""
    chosen = list(picks)
    # the rounds used read the rounds alone (labels, dates): reused in the dashboard however many answers arrive
    lines = [rounds_text(versions.part(con, rounds_used, chosen, depends="common")) if round_label in (LATEST, None) else "",
             drafts_text(drafts(con, chosen)),
             FINAL_ONLY_NOTE if round_label in (LATEST, None) and final_only(con) else ""]
    return [line for line in lines if line]
