"""Assessment rounds: start one (optionally from the previous round's answers), and finalise it."""

from __future__ import annotations

import datetime as dt

import duckdb

from dashboard.access import Principal, authorise_write
from dashboard.db import frame, one, transaction
from dashboard.store import (
    _ASSESSMENT_SQL,
    RESPONSE_FIELDS,
    Assessment,
    StoreError,
    UpsertCounts,
    _assessment,
    _now,
    _writable,
    create_assessment,
    get_assessment,
    set_status,
    upsert_responses,
)

__all__ = ["copy_previous_within", "copy_responses", "default_label", "finalise", "finalise_blockers", "previous_assessment", "set_date",
           "start_assessment"]


def default_label(today: dt.date | None = None) -> str:
    """A round label for today, such as 2026-Q4."""
    today = today or dt.date.today()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


_KINDS = {"clauses": ("clause",), "annex_a": ("annex_a",), "both": ("clause", "annex_a")}
_COVERS = {"clause": ("clauses", "both"), "annex_a": ("annex_a", "both")}


def previous_assessment(con: duckdb.DuckDBPyConnection, assessment_id: int, kind: str | None = None) -> Assessment | None:
    """The same unit's round just before this one (the round to copy from); with `kind` ("clause" or "annex_a"),
    the one just before covering that kind of items.

    "Before" is the order every change figure uses (`selection.previous_rounds`): by date, then, for rounds of the
    same day, by when they were created. A round started later on the same day is never this one's previous."""
    current = get_assessment(con, assessment_id)
    if current is None:
        return None
    scopes = _COVERS[kind] if kind else ("clauses", "annex_a", "both")
    found = one(
        con,
        _ASSESSMENT_SQL + f""" JOIN assessment c ON c.id = ?
            WHERE a.unit_id = c.unit_id AND a.id <> c.id AND a.scope IN ({', '.join('?' for _ in scopes)})
            AND (a.assessed_on < c.assessed_on
                 OR (a.assessed_on = c.assessed_on
                     AND (a.created_at < c.created_at OR (a.created_at = c.created_at AND a.id < c.id))))
            ORDER BY a.assessed_on DESC, a.created_at DESC, a.id DESC LIMIT 1""",
        [current.id, *scopes],
    )
    return _assessment(found) if found else None


def copy_responses(con: duckdb.DuckDBPyConnection, source_id: int, target_id: int, *, by: str,
                   kinds: tuple[str, ...] | None = None) -> UpsertCounts:
    """Start a round from another round's answers (items in the target's scope only, and of `kinds` if given),
    change-logged.

    Runs in its own transaction; the target must be a draft.
    """
    with transaction(con):
        return _copy(con, source_id, target_id, by=by, kinds=kinds)


def _copy(con: duckdb.DuckDBPyConnection, source_id: int, target_id: int, *, by: str,
          kinds: tuple[str, ...] | None = None) -> UpsertCounts:
    """`copy_responses` inside the caller's transaction."""
    target = _writable(con, target_id)
    kinds = tuple(k for k in _KINDS[target.scope] if kinds is None or k in kinds)
    copied = frame(
        con,
        f"""SELECT ? AS assessment_id, r.item_id, {', '.join('r.' + f for f in RESPONSE_FIELDS)}
            FROM response r JOIN catalog_item c USING (item_id)
            WHERE r.assessment_id = ? AND c.kind IN ({', '.join('?' for _ in kinds)})""",
        [target_id, source_id, *kinds],
    )
    if copied.empty:
        return UpsertCounts()
    return upsert_responses(con, copied, by=by, source="copy")


def copy_previous_within(con: duckdb.DuckDBPyConnection, created: Assessment, *, by: str) -> UpsertCounts:
    """Fill a new round from its unit's previous answers, inside the caller's transaction: like Latest per unit,
    each kind of answers (clauses, Annex A) from the newest earlier round that has them."""
    counts = UpsertCounts()
    for kind in _KINDS[created.scope]:
        previous = previous_assessment(con, created.id, kind)
        if previous is not None:
            counts = counts + _copy(con, previous.id, created.id, by=by, kinds=(kind,))
    return counts


def finalise_blockers(con: duckdb.DuckDBPyConnection, assessment_id: int) -> list[str]:
    """What stops this assessment from being finalised: unassessed items, unjustified exclusions."""
    from dashboard.scoring import item_scores  # the one definition of "assessed" and "applicable"

    items = item_scores(con, [assessment_id])
    blockers = []
    unassessed = items[items["state"] == "not assessed"]["item_id"].tolist()
    if unassessed:
        listed = ", ".join(unassessed[:8]) + (" …" if len(unassessed) > 8 else "")
        blockers.append(f"{len(unassessed)} applicable item(s) not assessed yet: {listed}")
    justified = frame(
        con, "SELECT item_id FROM response WHERE assessment_id = ? AND NOT applicable AND coalesce(trim(justification), '') = ''",
        [assessment_id],
    )["item_id"].tolist()
    if justified:
        blockers.append(f"not applicable without a justification: {', '.join(justified)}")
    return blockers


def finalise(con: duckdb.DuckDBPyConnection, assessment_id: int, *, principal: Principal, by: str) -> None:
    """Freeze a complete assessment; refuses with the reasons when it is not complete (administrators and leads)."""
    authorise_write(con, principal, "finalise", [assessment_id])
    from dashboard.review import refuse_unreviewed  # a campaign round is finalised from its review only

    refuse_unreviewed(con, assessment_id)
    blockers = finalise_blockers(con, assessment_id)
    if blockers:
        raise StoreError("Cannot finalise yet — " + "; ".join(blockers) + ".")
    with transaction(con):
        set_status(con, assessment_id, "final", by)


def set_date(con: duckdb.DuckDBPyConnection, assessment_id: int, day: dt.date, *, principal: Principal, by: str) -> bool:
    """Correct the date an assessment describes (the date decides which round is a unit's latest), logged in
    the change log with who and when. A finalised round is read-only, its date included: refused.
    Returns whether anything changed. Administrators and leads only."""
    authorise_write(con, principal, "set_date", [assessment_id])
    if not isinstance(day, dt.date):
        raise StoreError(f"An assessment date must be a date, not {day!r}.")
    day = day.date() if isinstance(day, dt.datetime) else day
    with transaction(con):
        current = get_assessment(con, assessment_id)
        if current is None:
            raise StoreError(f"No assessment with id {assessment_id}.")
        if current.is_final:
            raise StoreError(f"{current.unit} {current.label} is finalised and read-only: its date stays "
                             f"{current.assessed_on}. Start a new round to record a new assessment.")
        if current.assessed_on == day:
            return False
        con.execute("UPDATE assessment SET assessed_on = ? WHERE id = ?", [day, assessment_id])
        con.execute(
            """INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at, source)
               VALUES (?, NULL, 'assessed_on', ?, ?, ?, ?, 'form')""",
            [assessment_id, None if current.assessed_on is None else current.assessed_on.isoformat(), day.isoformat(),
             by, _now()],
        )
    return True


def start_assessment(
    con: duckdb.DuckDBPyConnection,
    *,
    unit: str,
    label: str,
    scope: str,
    catalog_version: str,
    assessed_on: dt.date | None,
    principal: Principal,
    by: str,
    copy_previous: bool = False,
    default_target: int = 3,
) -> tuple[Assessment, UpsertCounts]:
    """Create a draft round for a unit, optionally starting from its previous answers: the clauses from the
    newest earlier round covering the clauses, the Annex A answers from the newest covering Annex A.
    Administrators and leads only."""
    authorise_write(con, principal, "start_assessment")
    with transaction(con):
        created = create_assessment(con, unit=unit, label=label, scope=scope, catalog_version=catalog_version,
                                    assessed_on=assessed_on, source="form", default_target=default_target)
        con.execute(
            """INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at, source)
               VALUES (?, NULL, 'created', NULL, ?, ?, ?, 'form')""",
            [created.id, f"{scope} {label}", by, _now()],
        )
    counts = UpsertCounts()
    if copy_previous:  # like Latest per unit: each kind of answers from the newest earlier round that has them
        with transaction(con):
            counts = copy_previous_within(con, created, by=by)
    return created, counts
