"""The roadmap: every item below target becomes an action, put in order and in phases by one documented rule.

Gaps come from `scoring.item_scores`, the one scoring engine; nothing here computes a maturity or a gap.
This module adds what a plan needs: a priority score, a phase with dates, the reason for both, the next
step in plain words (the catalog's own rubric), and the owner, due date and status tracked in the store.
"""

from __future__ import annotations

import calendar
import datetime as dt
import graphlib
import heapq
import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go

from dashboard import scoring, tracking, versions
from dashboard.access import Principal
from dashboard.catalog import Catalog, Item, Scale, load_catalog
from dashboard.charts import chart_title

__all__ = [
    "NEXT_SCORE",
    "NOW_SCORE",
    "PHASES",
    "STATUSES",
    "UNLOCK_BONUS",
    "Phase",
    "add_months",
    "organisation_plan",
    "plan",
    "prioritise",
    "save_edits",
    "suggested_action",
    "timeline_chart",
]


@dataclass(frozen=True)
class Phase:
    name: str
    start_months: int
    end_months: int
    colour: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.start_months}–{self.end_months} months)"


PHASES: tuple[Phase, ...] = (
    Phase("Now", 0, 3, "#b2182b"),
    Phase("Next", 3, 6, "#e66101"),
    Phase("Later", 6, 12, "#4393c3"),
)
_PHASE = {p.name: p for p in PHASES}
_PHASE_ORDER = {p.name: n for n, p in enumerate(PHASES)}
NOW_SCORE = 3.0  # a score at or above this starts now
NEXT_SCORE = 2.0  # at or above this, next; below it, later
UNLOCK_BONUS = 0.5  # added for each open action that waits for this one
STATUSES = tracking.ACTION_STATUSES
STATUS_COLOURS = {"open": "#555555", "in progress": "#e6ab02", "done": "#1a9641"}


def prioritise(actions: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Priority score, phase, rank and the reason for them: the roadmap's one rule.

    For the open actions (items below target) of each assessment, separately:

    1. **Score** = gap × weight + 0.5 × the number of open actions of the same assessment that wait for
       this one (directly, or through other open actions, following the catalog's `depends_on`).
    2. **Phase**: *Now* for a foundation (catalog weight above 1: scope 4.3, policy 5.2, roles 5.3, risk
       assessment 6.1.2, impact assessment 6.1.4 and their Annex A counterparts) or a score of 3 or more;
       *Next* for a score of 2 or more; *Later* otherwise.
    3. **Dependencies**: a prerequisite is never planned after an action that relies on it; it is brought
       forward to that action's phase.
    4. **Rank**: by phase, then score (highest first), then catalog order; a prerequisite always ranks
       before the actions that rely on it.

    Example: 4.3 at level 1 with target 3 (gap 2, weight 1.5) and 6 open actions relying on it scores
    2 × 1.5 + 0.5 × 6 = 6: Now, ranked before them.

    `actions` has one row per open action with assessment_id, item_id and gap (as `scoring.item_scores`
    gives them); weights and dependencies come from the catalog. Returns a copy with foundation,
    waits_for, unlocks, score, phase, rank, why (a short sentence: the gap, the weight, what waits for it)
    and score_detail (the full arithmetic and the phase rule that applied).
    """
    out = actions.copy()
    results: dict[Any, dict[str, Any]] = {}
    for _, group in out.groupby("assessment_id", sort=False):
        results.update(_prioritise_assessment(group, catalog))
    for column in ("foundation", "waits_for", "unlocks", "score", "phase", "rank", "why", "score_detail"):
        out[column] = [results[index][column] for index in out.index]
    return out


def _prioritise_assessment(group: pd.DataFrame, catalog: Catalog) -> dict[Any, dict[str, Any]]:
    index = dict(zip(group["item_id"], group.index, strict=True))
    gap = {i: int(g) for i, g in zip(group["item_id"], group["gap"], strict=True)}
    weight = {i: float(catalog.by_id[i].weight) for i in index}
    waits = {i: [d for d in catalog.by_id[i].depends_on if d in index] for i in index}
    dependents: dict[str, list[str]] = {i: [] for i in index}
    for item_id, prerequisites in waits.items():
        for prerequisite in prerequisites:
            dependents[prerequisite].append(item_id)
    unlocks = {i: len(_reachable(i, dependents)) for i in index}
    score = {i: round(gap[i] * weight[i] + UNLOCK_BONUS * unlocks[i], 2) for i in index}
    foundation = {i: weight[i] > 1 for i in index}
    base = {i: 0 if foundation[i] or score[i] >= NOW_SCORE else 1 if score[i] >= NEXT_SCORE else 2 for i in index}
    phase, pulled_by = dict(base), {}
    for item_id in reversed(list(graphlib.TopologicalSorter(waits).static_order())):  # dependents first
        for prerequisite in waits[item_id]:
            if phase[item_id] < phase[prerequisite]:
                phase[prerequisite], pulled_by[prerequisite] = phase[item_id], item_id
    rank = _rank(index, waits, lambda i: (phase[i], -score[i], catalog.by_id[i].order))
    out = {}
    for item_id, row_index in index.items():
        detail = f"Gap {gap[item_id]} × weight {weight[item_id]:g}"
        if unlocks[item_id]:
            detail += f" + {UNLOCK_BONUS:g} × {unlocks[item_id]} open action(s) waiting for it"
        detail += f" = score {score[item_id]:g}. "
        detail += ("Foundation: Now." if foundation[item_id] else
                   f"Score ≥ {NOW_SCORE:g}: Now." if base[item_id] == 0 else
                   f"Score ≥ {NEXT_SCORE:g}: Next." if base[item_id] == 1 else f"Score < {NEXT_SCORE:g}: Later.")
        if item_id in pulled_by:
            detail += f" Brought forward to {PHASES[phase[item_id]].name}: {pulled_by[item_id]} relies on it."
        if waits[item_id]:
            detail += f" After {', '.join(waits[item_id])}."
        out[row_index] = {
            "foundation": foundation[item_id], "waits_for": ", ".join(waits[item_id]), "unlocks": unlocks[item_id],
            "score": score[item_id], "phase": PHASES[phase[item_id]].name, "rank": rank[item_id],
            "why": short_why(gap[item_id], weight[item_id], sorted(dependents[item_id], key=lambda i: catalog.by_id[i].order),
                             unlocks[item_id], pulled_by.get(item_id)),
            "score_detail": detail,
        }
    return out


def short_why(gap: int, weight: float, direct: Sequence[str], unlocks: int, pulled_by: str | None = None) -> str:
    """The reason for a priority as a sentence a manager reads: the gap, the weight, what waits for it.

    E.g. *Gap 2 at weight 1.5 (a foundation); 6 actions wait for it (5.3, A.2.2 …).* (open actions of the
    same assessment, directly or through others)
    """
    text = f"Gap {gap} at weight {weight:g}" + (" (a foundation)" if weight > 1 else "")
    if unlocks:
        shown = ", ".join(direct[:2]) + (" …" if unlocks > len(direct[:2]) else "")
        text += f"; {unlocks} action{'s' if unlocks > 1 else ''} wait{'' if unlocks > 1 else 's'} for it ({shown})"
    if pulled_by and pulled_by not in direct[:2]:
        text += f"; needed before {pulled_by}"
    return text + "."


def _reachable(start: str, edges: Mapping[str, Sequence[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(edges[start])
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(edges[current])
    return seen


def _rank(ids: Iterable[str], waits: Mapping[str, Sequence[str]], key: Callable[[str], tuple[Any, ...]]) -> dict[str, int]:
    """1, 2, 3… by `key`, except that nothing ranks before what it waits for (Kahn's order with a heap)."""
    remaining = {i: len(waits[i]) for i in ids}
    dependents: dict[str, list[str]] = {i: [] for i in remaining}
    for item_id in remaining:
        for prerequisite in waits[item_id]:
            dependents[prerequisite].append(item_id)
    heap = [(key(i), i) for i, n in remaining.items() if n == 0]
    heapq.heapify(heap)
    rank: dict[str, int] = {}
    while heap:
        _, item_id = heapq.heappop(heap)
        rank[item_id] = len(rank) + 1
        for dependent in dependents[item_id]:
            remaining[dependent] -= 1
            if remaining[dependent] == 0:
                heapq.heappush(heap, (key(dependent), dependent))
    return rank


def suggested_action(item: Item, maturity: int, target: int, scale: Scale) -> str:
    """The next step in plain words: the catalog's rubric line for the next level, then for the target."""
    step = min(int(maturity) + 1, 5)
    text = f"Reach level {step} ({scale.name(step)}): {item.rubric[step]}"
    if target > step:
        text += f" Then level {target} ({scale.name(target)}): {item.rubric[target]}"
    return text


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it is shorter (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def _date(value: Any) -> dt.date | None:
    if value is None or value is pd.NaT or (not isinstance(value, str | dt.date) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _text(*values: Any) -> str:
    """The first non-blank text among the values ('' if none)."""
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def plan(
    con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int], catalog: Catalog | None = None,
    *, today: dt.date | None = None,
) -> pd.DataFrame:
    """One row per open action of the chosen assessments: gap, priority, phase, reason, next step, tracking.

    Owner and due date: the roadmap's own (tracking.set_actions), else the response's, else those tracked for
    the same item in the unit's previous round. Without a set due date, an action is due at the end of its
    phase counted from the assessment date. Status: the roadmap's, else "in progress" carried over from
    the previous round, else "open".
    """
    return _plan(con, scoring.item_scores(con, list(assessment_ids)), catalog or load_catalog(), today)


def _plan(con: duckdb.DuckDBPyConnection, items: pd.DataFrame, catalog: Catalog, today: dt.date | None) -> pd.DataFrame:
    today = today or dt.date.today()
    scale = catalog.scale
    actions = prioritise(items[items["gap"].fillna(0) > 0].reset_index(drop=True), catalog)
    tracked = tracking.action_records(con, items["assessment_id"].unique().tolist()).rename(
        columns={"status": "t_status", "owner": "t_owner", "due_date": "t_due", "changed_by": "t_by", "changed_at": "t_at"})
    rows = actions.merge(tracked, on=["assessment_id", "item_id"], how="left")
    records = []
    for r in rows.to_dict("records"):
        phase = _PHASE[r["phase"]]
        start = _date(r["assessed_on"]) or today
        due_set = next((d for d in (_date(r["t_due"]), _date(r["due_date"]), _date(r["carried_due_date"])) if d), None)
        due = due_set or add_months(start, phase.end_months)
        window = (add_months(start, phase.start_months), add_months(start, phase.end_months))
        status = r["t_status"] if isinstance(r["t_status"], str) else (
            "in progress" if r["carried_status"] == "in progress" else "open")
        maturity, target = int(r["maturity"]), int(r["target"])
        records.append({
            "assessment_id": int(r["assessment_id"]), "unit": r["unit"], "assessment": r["assessment"],
            "assessed_on": _date(r["assessed_on"]), "section": r["section"], "kind": r["kind"], "item_id": r["item_id"],
            "title": r["title"], "maturity": maturity, "level": scale.name(maturity), "target": target,
            "target_level": scale.name(target), "gap": int(r["gap"]), "weight": float(r["weight"]),
            "foundation": bool(r["foundation"]), "unlocks": int(r["unlocks"]), "waits_for": r["waits_for"],
            "score": float(r["score"]), "phase": phase.name, "rank": int(r["rank"]), "why": r["why"],
            "score_detail": r["score_detail"],
            "suggested_action": suggested_action(catalog.by_id[r["item_id"]], maturity, target, scale),
            "evidence": _text(r["evidence"]), "notes": _text(r["notes"]),
            "owner": _text(r["t_owner"], r["owner"], r["carried_owner"]), "due_date": due, "due_set": due_set is not None,
            "phase_start": window[0], "phase_end": window[1], "due_outside_phase": not window[0] <= due <= window[1],
            "status": status, "overdue": status != "done" and due < today,
            "carried_from": _text(r["carried_from"]), "ord": int(r["ord"]),
        })
    return _in_order(pd.DataFrame(records, columns=ACTION_COLUMNS))


def _in_order(out: pd.DataFrame) -> pd.DataFrame:
    """Actions by phase, unit, round and rank (one order for a plan, and for one composed of units' plans)."""
    if out.empty:
        return out
    out["_phase"] = out["phase"].map(_PHASE_ORDER)
    out["_unit"] = out["unit"].str.lower()
    return out.sort_values(["_phase", "_unit", "assessment", "rank"]).drop(columns=["_phase", "_unit"]).reset_index(drop=True)


ACTION_COLUMNS = (
    "assessment_id", "unit", "assessment", "assessed_on", "section", "kind", "item_id", "title", "maturity", "level",
    "target", "target_level", "gap", "weight", "foundation", "unlocks", "waits_for", "score", "phase", "rank", "why",
    "score_detail", "suggested_action", "evidence", "notes", "owner", "due_date", "due_set", "phase_start", "phase_end",
    "due_outside_phase", "status", "overdue", "carried_from", "ord",
)
ORGANISATION_COLUMNS = (
    "item_id", "title", "section", "kind", "summary", "units_below", "units_assessed", "units", "units_at_zero",
    "lowest", "lowest_level", "target", "max_gap", "foundation", "score", "phase", "rank", "why", "score_detail",
    "suggested_action", "owner", "due_date", "due_set", "phase_start", "phase_end", "due_outside_phase", "status",
    "overdue", "keys",
)


def organisation_plan(
    con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int], catalog: Catalog | None = None,
    *, today: dt.date | None = None,
) -> pd.DataFrame:
    """The same item across units merged into one action, for a central programme to fix once.

    Each row: how many of the units that assessed the item are below target, which ones, the lowest level
    found, the next step from that level, the earliest due date and the status across units (done when all
    are done, open when all are open, else in progress). Phase: the earliest of the units' phases (if one
    unit needs it now, the central fix starts now). Score: the sum of the units' scores, so that within a
    phase what holds back more units, further, ranks first. `keys` lists the (assessment, item) pairs merged.

    Dependencies across units, as in one unit's plan: a merged prerequisite is brought forward to the phase
    of any merged action relying on it, and ranks before it (A.6.2.7 before A.8.2 even when the units
    below target differ). The phase window runs from the earliest assessment date merged; without a due
    date set, the action is due at the window's end.
    """
    catalog = catalog or load_catalog()
    today = today or dt.date.today()
    # one part per unit (its items and its plan), reused in the dashboard while none of the unit's rounds changed
    assessed_items, actions = versions.by_unit(con, _unit_plan, list(assessment_ids), catalog=catalog, today=today)
    from dashboard import roadmap_merge  # the merge step, on plain arrays (it imports this module's rules)

    return roadmap_merge.merge(_in_order(actions), assessed_items, catalog, today)


def _unit_plan(con: duckdb.DuckDBPyConnection, picks: list[int], *, catalog: Catalog,
               today: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The assessed items and the plan of some assessments (a part of `organisation_plan`)."""
    from dashboard.roadmap_merge import MERGED  # the columns the merge step reads: composed, spliced and sorted

    items = scoring.item_scores(con, picks)
    assessed = items.loc[items["applicable"] & items["maturity"].notna(), ["assessment_id", "item_id", "unit"]]
    return assessed.reset_index(drop=True), _plan(con, items, catalog, today).loc[:, list(MERGED)]  # 22 of 35


def save_edits(
    con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, edited_rows: Mapping[Any, Mapping[str, Any]], *,
    principal: Principal, by: str,
) -> int:
    """Store owner, due date and status edited in the roadmap table; return how many actions changed.

    `rows` is the table as displayed (from `plan` or `organisation_plan`, whose `keys` name every unit's
    action behind a merged row); `edited_rows` is Streamlit's data-editor state ({row: {column: value}}).
    Other columns are ignored: they are computed.
    """
    changed = 0
    for row, edits in edited_rows.items():
        record = rows.iloc[int(row)]
        keys = record["keys"] if "keys" in rows.columns else [(int(record["assessment_id"]), str(record["item_id"]))]
        changes = {field: (None if value == "" else value) for field, value in edits.items() if field in tracking.ACTION_FIELDS}
        if changes:
            changed += tracking.set_actions(con, keys, changes, principal=principal, by=by)
    return changed


def _tint(colour: str, alpha: float = 0.3) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def _due_lines(part: pd.DataFrame, who: str) -> list[str]:
    """One hover line per action (user text escaped: Plotly reads hover text as a little HTML)."""
    return [html.escape(f"{i} {t} · {u}" + (f" · owner {o}" if o else ""))
            for i, t, u, o in zip(part["item_id"], part["title"], part[who], part["owner"], strict=True)]


def timeline_chart(actions: pd.DataFrame, *, title: str = "Roadmap", today: dt.date | None = None) -> go.Figure:
    """The phases as bars over time with their action counts; below each, a marker per due date set by a person."""
    today = today or dt.date.today()
    figure = go.Figure()
    row = {p.name: -n for n, p in enumerate(PHASES)}  # Now on top; markers sit just below their phase's bar
    ticks = {p.name: p.label for p in PHASES}
    for phase in PHASES:
        part = actions[actions["phase"] == phase.name]
        if part.empty:
            continue
        start, end = min(part["phase_start"]), max(part["phase_end"])
        counts = part["status"].value_counts()
        text = f"{len(part)} action(s) · {counts.get('done', 0)} done · {counts.get('in progress', 0)} in progress"
        if part["overdue"].any():
            text += f" · {int(part['overdue'].sum())} overdue"
        ticks[phase.name] = f"<b>{phase.label}</b><br>{text}"  # beside the bar: the today line crosses no text
        figure.add_bar(
            y=[row[phase.name]], x=[(pd.Timestamp(end) - pd.Timestamp(start)).total_seconds() * 1000],
            base=[start.isoformat()], width=0.5, orientation="h", marker_color=_tint(phase.colour),
            marker_line_color=phase.colour, text=[text], textposition="none", name=phase.name, showlegend=False,
            hovertemplate=f"{phase.label}<br>{start} → {end}<br>{text}<extra></extra>",
        )
    # markers for the due dates people set (and anything overdue); the rest are due at their phase's end.
    # One marker per phase, date and status (its size grows with the count): 13,000 markers would cost seconds.
    dated = actions[actions["due_set"] | actions["overdue"]]
    who = "unit" if "unit" in dated.columns else "units"
    for status in STATUSES:
        part = dated[dated["status"] == status]
        if part.empty:
            continue
        keys = ["phase", "due_date"]
        points = part.groupby(keys, sort=True).size().reset_index(name="count")
        head = part.groupby(keys, sort=True).head(3)
        first = head.assign(line=_due_lines(head, who)).groupby(keys, sort=True)["line"].agg("<br>".join).reset_index()
        points = points.merge(first, on=keys)
        labels = [f"{c} action(s)<br>{t}" + (f"<br>… and {c - 3} more" if c > 3 else "")
                  for c, t in zip(points["count"], points["line"], strict=True)]
        figure.add_scatter(
            x=[d.isoformat() for d in points["due_date"]], y=[row[p] - 0.38 for p in points["phase"]], mode="markers",
            marker={"color": STATUS_COLOURS[status], "size": [min(8 + 2 * (c - 1), 24) for c in points["count"]],
                    "symbol": "diamond", "opacity": 0.8},
            name=f"due date set · {status}", text=labels, hovertemplate="%{text}<br>due %{x}<extra></extra>",
        )
    # today: a dotted line through the plot, labelled above it, where no other label sits
    figure.add_shape(type="line", x0=today.isoformat(), x1=today.isoformat(), y0=0, y1=1, yref="paper",
                     line={"dash": "dot", "color": "#333333", "width": 1.5})
    figure.add_annotation(x=today.isoformat(), y=1, yref="paper", yanchor="bottom", showarrow=False,
                          text=f"Today {today.isoformat()}", font={"size": 12, "color": "#333333"}, name="today")
    figure.update_layout(
        title=chart_title(title), xaxis={"type": "date", "gridcolor": "#eeeeee"}, barmode="overlay", plot_bgcolor="white",
        yaxis={"tickvals": [row[p.name] for p in PHASES], "ticktext": [ticks[p.name] for p in PHASES],
               "range": [-len(PHASES) + 0.4, 0.4], "showgrid": False, "zeroline": False, "automargin": True},
        margin={"l": 10, "r": 10, "t": 100, "b": 10}, legend={"orientation": "h", "y": -0.2}, height=400,
    )
    return figure
