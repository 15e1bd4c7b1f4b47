"""Which answers a view takes: a round, every round, or the latest answers of each unit, per scope.

A *selection* is a list of picks that every scoring function takes:

* an assessment id (`int`) takes all the answers of that assessment, reported under it;
* a triple `(assessment_id, kind, view_id)` takes only that assessment's answers of one kind (`"clause"` or
  `"annex_a"`), reported under `view_id` together with the other picks of the same view.

*Latest per unit* takes, for each unit, the newest round covering the clauses and the newest round covering
Annex A. When one round is both, the unit is that round's id; when they differ (a unit whose newest round
covers only the clauses still shows the Annex A answers of its older round), the unit is two triples under
one view: the newest of the two rounds. Newest = latest `assessed_on` (every assessment has a date), then
latest created, then highest id, so that ties are decided the same way every time.

The change since the previous round compares like with like: each unit's clauses with the same unit's
newest earlier round covering the clauses, its Annex A answers with its newest earlier round covering
Annex A; a unit or scope without an earlier round is left out of both sides (`previous`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb

from dashboard.access import Principal, units_sql
from dashboard.db import frame

__all__ = ["ALL_ROUNDS", "FINAL_ONLY_KEY", "KINDS", "LATEST", "Pick", "assessment_ids", "final_only", "parts",
           "previous", "previous_rounds", "select_assessments", "values_sql", "view_count"]

LATEST = "Latest per unit"
ALL_ROUNDS = "All rounds"
KINDS = ("clause", "annex_a")

Pick = int | tuple[int, str, int]

# the setting "management views show finalised rounds only" (set by dashboard.campaigns.set_final_only)
FINAL_ONLY_KEY = "final_only"


def final_only(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether Latest per unit takes finalised rounds only (stored in `meta`; off unless a lead turned it on)."""
    found = con.execute("SELECT value FROM meta WHERE key = ?", [FINAL_ONLY_KEY]).fetchall()
    return bool(found) and found[0][0] == "true"

# the scope of an assessment covers a kind of item: both, or clauses for clause items, annex_a for controls
COVERS = "(a.scope = 'both' OR (a.scope = 'clauses') = (k.kind = 'clause'))"
_KIND_ROWS = "(VALUES ('clause'), ('annex_a')) k(kind)"
# newest first: by date, then creation, then id
NEWEST_FIRST = "a.assessed_on DESC NULLS LAST, a.created_at DESC, a.id DESC"


def parts(picks: Iterable[Pick]) -> list[tuple[int, str | None, int]]:
    """The picks as (assessment_id, kind or None for all of it, view_id), checked: ids are integers and
    kinds one of KINDS, so that they can be written into SQL as literals."""
    out: list[tuple[int, str | None, int]] = []
    for pick in picks:
        if isinstance(pick, Sequence) and not isinstance(pick, str):
            assessment_id, kind, view_id = pick
            if kind not in KINDS:
                raise ValueError(f"a pick's kind must be one of {', '.join(KINDS)}, not {kind!r}")
            out.append((int(assessment_id), str(kind), int(view_id)))
        else:
            out.append((int(pick), None, int(pick)))  # type: ignore[arg-type]
    return out


def values_sql(picks: Iterable[Pick]) -> str:
    """The picks as the rows of a SQL VALUES list `(assessment_id, kind, view_id)` ('' when there are none).

    Literals, not parameters: a selection of thousands of rounds binds no thousands of parameters, and
    `parts` has checked every value."""
    return ", ".join(f"({a}, {'NULL::VARCHAR' if k is None else repr(k)}, {v})"
                     for a, k, v in sorted(set(parts(picks)), key=lambda p: (p[0], p[1] or "")))


def assessment_ids(picks: Iterable[Pick], kind: str | None = None) -> list[int]:
    """The assessments a selection takes answers from (each once); with `kind`, those it may take that kind of
    answers from (a whole assessment counts for every kind its scope covers)."""
    return sorted({a for a, k, _ in parts(picks) if kind is None or k in (None, kind)})


def view_count(picks: Iterable[Pick]) -> int:
    """How many rows of figures a selection makes: one per assessment, or per unit for Latest per unit."""
    return len({v for _, _, v in parts(picks)})


def select_assessments(
    con: duckdb.DuckDBPyConnection,
    *,
    principal: Principal,
    units: Sequence[str] | None = None,
    round_label: str | None = LATEST,
    group: str | None = None,
    finalised_only: bool | None = None,
) -> list[Pick]:
    """The selection for the chosen units (or group of units) and round.

    `LATEST` (or None) takes each unit's newest clauses answers and newest Annex A answers (see the module's
    docstring); a round label takes that round's assessments; `ALL_ROUNDS` takes every assessment. A group is
    a parent unit: it selects the units under it (and the parent's own assessments). Archived units are left out,
    and so are the units the principal may not see (`dashboard.access`): an assessor's selection never holds
    another unit's assessment.

    With the setting "management views show finalised rounds only" on (`final_only`, or `finalised_only=True`),
    Latest per unit takes each unit's newest *finalised* rounds: drafts and rounds under review are left out, and
    a unit without a finalised round is left out. A round label or All rounds is taken as asked.
    """
    params: list[object] = []
    where = ["NOT u.archived", units_sql(principal)]
    if units:
        where.append(f"u.name IN ({', '.join('?' for _ in units)})")
        params.extend(units)
    if group:
        where.append("(p.name = ? OR u.name = ?)")
        params.extend([group, group])
    latest = round_label == LATEST or not round_label
    if not latest and round_label != ALL_ROUNDS:
        where.append("a.label = ?")
        params.append(round_label)
    if latest and (final_only(con) if finalised_only is None else finalised_only):
        where.append("a.status = 'final'")
    chosen = f"""SELECT a.* FROM assessment a JOIN unit u ON u.id = a.unit_id LEFT JOIN unit p ON p.id = u.parent_id
                 WHERE {' AND '.join(where)}"""
    if not latest:
        return sorted(int(i) for i in frame(con, f"SELECT id FROM ({chosen})", params)["id"])
    found = frame(
        con,
        f"""WITH chosen AS ({chosen}),
            ranked AS (
                SELECT a.id, a.unit_id, k.kind,
                       first_value(a.id) OVER (PARTITION BY a.unit_id ORDER BY {NEWEST_FIRST}) AS view_id,
                       row_number() OVER (PARTITION BY a.unit_id, k.kind ORDER BY {NEWEST_FIRST}) AS rank_
                FROM chosen a JOIN {_KIND_ROWS} ON {COVERS}),
            newest AS (SELECT id, unit_id, kind, view_id FROM ranked WHERE rank_ = 1)
            -- at most two rows per unit: distinct ids counted without DISTINCT, which PostgreSQL's windows lack
            SELECT unit_id, id, kind, view_id,
                   CASE WHEN min(id) OVER (PARTITION BY unit_id) = max(id) OVER (PARTITION BY unit_id) THEN 1 ELSE 2 END
                   AS rounds
            FROM newest ORDER BY unit_id, kind""",
        params,
    )
    whole = {int(r.id) for r in found.itertuples() if r.rounds == 1}
    split = [(int(r.id), str(r.kind), int(r.view_id)) for r in found.itertuples() if r.rounds > 1]
    return sorted([*whole, *split], key=lambda p: (p, "") if isinstance(p, int) else (p[0], p[1]))


def previous(con: duckdb.DuckDBPyConnection, picks: Iterable[Pick]) -> tuple[list[Pick], list[Pick]]:
    """Like with like: (the picks' parts that have an earlier round of the same unit and scope, those earlier
    parts). Each side groups a unit's parts under one view, so that each unit counts once on both sides.
    With the setting "management views show finalised rounds only" on, the earlier round is the newest earlier
    *finalised* one (the picks themselves count whatever their status)."""
    now, before, _ = previous_rounds(con, picks)
    return now, before


def previous_rounds(con: duckdb.DuckDBPyConnection, picks: Iterable[Pick]) -> tuple[list[Pick], list[Pick], bool]:
    """`previous`, and whether every part of the picks has an earlier round (then the first list takes the same
    answers as the picks themselves, and figures over it equal the picks' own). It reads the rounds only (dates,
    scopes, statuses), never their answers."""
    values = values_sql(picks)
    if not values:
        return [], [], True
    only_final = "WHERE a.status = 'final' OR a.id IN (SELECT assessment_id FROM pick)" if final_only(con) else ""
    found = frame(
        con,
        f"""WITH pick(assessment_id, kind, view_id) AS (VALUES {values}),
            history AS (
                SELECT a.id, k.kind,
                       lag(a.id) OVER (PARTITION BY a.unit_id, k.kind
                                       ORDER BY a.assessed_on NULLS FIRST, a.created_at, a.id) AS previous_id
                FROM assessment a JOIN {_KIND_ROWS} ON {COVERS} {only_final})
            SELECT p.assessment_id, h.kind, p.view_id, h.previous_id,
                   max(h.previous_id) OVER (PARTITION BY p.view_id) AS previous_view
            FROM pick p JOIN history h ON h.id = p.assessment_id AND (p.kind IS NULL OR p.kind = h.kind)
            ORDER BY p.assessment_id, h.kind""",
    )
    total = len(found)
    found = found[found["previous_id"].notna()]
    every = len(found) == total
    now: list[Pick] = [(int(r.assessment_id), str(r.kind), int(r.view_id)) for r in found.itertuples()]
    before: list[Pick] = [(int(r.previous_id), str(r.kind), int(r.previous_view)) for r in found.itertuples()]
    return now, before, every
