"""The organisation plan's merge step: the units' actions on the same item made into one central action.

`roadmap.organisation_plan` composes the units' plans (one cached part per unit) and hands them here. The
rules of the merge are the roadmap's (its docstring states them); this module only makes the step cheap
enough to run on every rerun of a page while a campaign's answers arrive: the ~13,000 actions of 500 units
are grouped by item once (a stable sort of the item codes), and each item's part is read from plain
arrays, not from a pandas frame per item (which cost 0.1-0.3 s on 70 items). Nothing here scores an item:
every gap, level, score and phase comes from the units' plans.
"""

from __future__ import annotations

import datetime as dt
import graphlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dashboard.catalog import Catalog

__all__ = ["MERGED", "merge"]

_USED = ("unit", "assessment_id", "assessed_on", "section", "kind", "title", "maturity", "target", "gap", "weight",
         "foundation", "score", "phase", "score_detail", "owner", "due_date", "due_set", "status")
# the units' plan columns the organisation plan needs: those merged, and what orders the actions (`roadmap._in_order`)
MERGED = ("item_id", *_USED, "assessment", "rank")


def merge(actions: pd.DataFrame, assessed_items: pd.DataFrame, catalog: Catalog, today: dt.date) -> pd.DataFrame:
    """One row per item below target in any unit (`roadmap.ORGANISATION_COLUMNS`), from the units' actions
    (in `roadmap._in_order`'s order) and their assessed items (assessment, item, unit)."""
    from dashboard.roadmap import _PHASE_ORDER, ORGANISATION_COLUMNS, PHASES, _rank, add_months, suggested_action

    if actions.empty:
        return pd.DataFrame(columns=ORGANISATION_COLUMNS)
    assessed = assessed_items.groupby("item_id")["unit"].nunique().to_dict()
    # the items in their first appearance (as groupby(sort=False)), each item's actions in the plans' order
    codes, item_ids = pd.factorize(actions["item_id"], sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(item_ids) + 1))
    col: dict[str, Any] = {name: actions[name].to_numpy()[order] for name in _USED}
    listed = {name: col[name].tolist() for name in ("unit", "assessment_id", "assessed_on", "phase", "owner",
                                                    "due_date", "due_set", "status", "score_detail", "title", "section",
                                                    "kind")}
    parts = {str(item_id): (int(bounds[n]), int(bounds[n + 1])) for n, item_id in enumerate(item_ids)}
    # the earliest of the units' phases, then prerequisites brought forward across units (dependents first)
    phase_of = {i: min(_PHASE_ORDER[p] for p in listed["phase"][lo:hi]) for i, (lo, hi) in parts.items()}
    waits = {i: [d for d in catalog.by_id[i].depends_on if d in parts] for i in parts}
    pulled_by: dict[str, str] = {}
    for item_id in reversed(list(graphlib.TopologicalSorter(waits).static_order())):
        for prerequisite in waits[item_id]:
            if phase_of[item_id] < phase_of[prerequisite]:
                phase_of[prerequisite], pulled_by[prerequisite] = phase_of[item_id], item_id
    waited_by: dict[str, list[str]] = {i: [] for i in parts}
    for i in parts:  # what waits for each item, in the items' order
        for prerequisite in waits[i]:
            waited_by[prerequisite].append(i)
    records = []
    for item_id, (lo, hi) in parts.items():
        units_here = listed["unit"][lo:hi]
        scores = col["score"][lo:hi]
        # the unit whose action scores highest (ties: the unit's name, then the plans' order), as a stable sort
        top = min(range(hi - lo), key=lambda k: (-scores[k], units_here[k])) + lo
        units = sorted(dict.fromkeys(units_here), key=str.lower)
        maturity, gap = col["maturity"][lo:hi], col["gap"][lo:hi]
        n, m, zero = len(units), int(assessed.get(item_id, len(units))), int((maturity == 0).sum())
        summary = f"{n} of {m} units below target — {item_id} {listed['title'][top]}"
        if zero:
            summary += f"; {zero} with nothing in place (level 0)"
        lowest, target = int(maturity.min()), int(col["target"][lo:hi].max())
        phase = PHASES[phase_of[item_id]]
        start = min(listed["assessed_on"][lo:hi])
        window = (add_months(start, phase.start_months), add_months(start, phase.end_months))
        set_dates = [d for d, s in zip(listed["due_date"][lo:hi], listed["due_set"][lo:hi], strict=True) if s]
        due = min(set_dates) if set_dates else window[1]
        statuses = set(listed["status"][lo:hi])
        status = statuses.pop() if len(statuses) == 1 else "in progress"
        owners = list(dict.fromkeys(o for o in listed["owner"][lo:hi] if o))
        waiting = sorted(waited_by[item_id], key=lambda i: catalog.by_id[i].order)
        total, weight = scores.sum(), float(col["weight"][top])
        records.append({
            "item_id": item_id, "title": listed["title"][top], "section": listed["section"][top],
            "kind": listed["kind"][top], "summary": summary, "units_below": n, "units_assessed": m,
            "units": ", ".join(units), "units_at_zero": zero, "lowest": lowest,
            "lowest_level": catalog.scale.name(lowest), "target": target, "max_gap": int(gap.max()),
            "foundation": bool(col["foundation"][top]), "score": round(float(total), 2), "phase": phase.name,
            "why": _short_why(hi - lo, int(gap.max()), weight, waiting, pulled_by.get(item_id)),
            "score_detail": _why(listed["phase"][lo:hi], units_here, total, col["score"][top], listed["unit"][top],
                                 listed["score_detail"][top], PHASES, pulled_by.get(item_id), phase.name),
            "suggested_action": suggested_action(catalog.by_id[item_id], lowest, target, catalog.scale),
            "owner": "; ".join(owners), "due_date": due, "due_set": bool(len(set_dates)),
            "phase_start": window[0], "phase_end": window[1], "due_outside_phase": not window[0] <= due <= window[1],
            "status": status, "overdue": status != "done" and due < today,
            "keys": [(int(a), str(item_id)) for a in listed["assessment_id"][lo:hi]],
        })
    out = pd.DataFrame(records)
    score_of = {r["item_id"]: r["score"] for r in records}
    rank = _rank(phase_of, waits, lambda i: (phase_of[i], -score_of[i], catalog.by_id[i].order))
    out["rank"] = out["item_id"].map(rank)
    return out.sort_values("rank").reset_index(drop=True).loc[:, list(ORGANISATION_COLUMNS)]


def _short_why(count: int, largest: int, weight: float, waiting: Sequence[str], pulled_by: str | None) -> str:
    """The merged action's reason in one sentence: how many units, the largest gap, what waits for it."""
    text = f"{count} unit(s) below target, largest gap {largest} at weight {weight:g}"
    if weight > 1:
        text += " (a foundation)"
    if waiting:
        text += f"; {len(waiting)} action{'s' if len(waiting) > 1 else ''} wait{'' if len(waiting) > 1 else 's'} " \
                f"for it ({', '.join(waiting[:2])}{' …' if len(waiting) > 2 else ''})"
    if pulled_by:
        text += f"; needed before {pulled_by}"
    return text + "."


def _why(phases: Sequence[str], units: Sequence[str], total: float, top_score: float, top_unit: str, top_detail: str,
         every_phase: Sequence[Any], pulled_by: str | None = None, phase: str = "") -> str:
    by_phase = [f"{p.name} for {', '.join(sorted((u for u, q in zip(units, phases, strict=True) if q == p.name), key=str.lower))}"
                for p in every_phase if p.name in phases]
    text = (f"{'; '.join(by_phase)}. Score {total:g} = sum over {len(units)} unit(s); "
            f"highest {top_score:g} in {top_unit}: {top_detail}")
    if pulled_by:
        text += f" Across units, brought forward to {phase}: {pulled_by} relies on it."
    return text
