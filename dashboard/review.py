"""The review of a round: an assessor submits a complete round, a governance lead returns it with comments or
finalises it. Every step is a change_log row (field ``review``, the old and the new state, who, when, source
``review``); the lead's comments are kept per item (or for the whole round) with who and when.

States, in order (``STATES``):

* *not started* — no answer yet;
* *in progress* — some answers (the board shows the share answered);
* *submitted* — the assessor says it is complete; its answers are closed to assessors until a lead acts;
* *returned* — a lead sent it back with comments; the assessors change the answers and submit again;
* *finalised* — ``assessment.status = 'final'``: read-only for everyone (a new round is how it changes).

Transitions and who may make them:

=============  =====================================  ===============================================
step           from                                   who
=============  =====================================  ===============================================
submit         not started / in progress / returned,  an assessor of the unit, a lead, an administrator
               and only when every applicable item
               is assessed (and every exclusion
               justified)
return_round   submitted                              a lead or an administrator, with at least one comment
finalise       submitted                              a lead or an administrator
=============  =====================================  ===============================================

Anything else is refused with a ``ReviewError`` saying what to do; a step the person's role may not take raises
``AccessDenied``. A round of a campaign is finalised through its review only: ``rounds.finalise`` refuses it
unless it is submitted (``refuse_unreviewed``); a round outside any campaign and never submitted finalises as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import duckdb
import pandas as pd

from dashboard import pg
from dashboard.access import AccessDenied, Principal, check_assessment, require
from dashboard.db import frame, one, rows, transaction
from dashboard.store import Assessment, StoreError, _now, get_assessment, set_status

__all__ = ["FINALISED", "IN_PROGRESS", "NOT_STARTED", "RETURNED", "STATES", "SUBMITTED", "ReviewError", "comments",
           "finalise", "in_review", "refuse_unreviewed", "return_round", "review_state", "state_sql", "submit"]

NOT_STARTED, IN_PROGRESS, SUBMITTED, RETURNED, FINALISED = "not started", "in progress", "submitted", "returned", "finalised"
STATES = (NOT_STARTED, IN_PROGRESS, SUBMITTED, RETURNED, FINALISED)


class ReviewError(StoreError):
    """A review step refused for the round's state (a ValueError); the message says what to do instead."""


def state_sql(assessment: str = "a", review: str = "rr") -> str:
    """The state of a round as SQL, given the assessment's alias and its LEFT JOINed round_review's alias."""
    return f"""CASE WHEN {assessment}.status = 'final' THEN '{FINALISED}'
                    WHEN {review}.state IS NOT NULL THEN {review}.state
                    WHEN EXISTS (SELECT 1 FROM response x WHERE x.assessment_id = {assessment}.id) THEN '{IN_PROGRESS}'
                    ELSE '{NOT_STARTED}' END"""


def review_state(con: duckdb.DuckDBPyConnection, assessment_id: int) -> str:
    """One of STATES for the round (ReviewError for an unknown id)."""
    found = one(con, f"""SELECT {state_sql()} FROM assessment a LEFT JOIN round_review rr ON rr.assessment_id = a.id
                         WHERE a.id = ?""", [int(assessment_id)])
    if found is None:
        raise ReviewError(f"No assessment with id {assessment_id}.")
    return str(found[0])


def _round(con: duckdb.DuckDBPyConnection, assessment_id: int) -> Assessment:
    found = get_assessment(con, int(assessment_id))
    if found is None:
        raise ReviewError(f"No assessment with id {assessment_id}.")
    return found


def _log(con: duckdb.DuckDBPyConnection, assessment_id: int, old: str, new: str, by: str) -> None:
    con.execute("""INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at,
                                           source) VALUES (?, NULL, 'review', ?, ?, ?, ?, 'review')""",
                [assessment_id, old, new, by, _now()])


def _set(con: duckdb.DuckDBPyConnection, assessment_id: int, state: str, by: str, *, returned: bool = False) -> int:
    """Store the review state; returns the number of returns so far (this one included)."""
    con.execute(
        """INSERT INTO round_review (assessment_id, state, returns, changed_by, changed_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (assessment_id) DO UPDATE SET state = excluded.state,
               returns = round_review.returns + excluded.returns, changed_by = excluded.changed_by,
               changed_at = excluded.changed_at""",
        [assessment_id, state, 1 if returned else 0, by, _now()])
    return int(rows(con, "SELECT returns FROM round_review WHERE assessment_id = ?", [assessment_id])[0][0])


_STEPS = threading.Lock()  # on a DuckDB file: this process's review steps, one at a time


@contextmanager
def _one_step(con: duckdb.DuckDBPyConnection, assessment_id: int) -> Iterator[None]:
    """One review step's transaction, never interleaved with another step on the same round (a lead finalising while
    another returns it): the second waits for the first to commit, then reads the state it left and is refused if
    that state no longer allows it. On a server the steps of every process wait for each other (an advisory lock per
    round); on a DuckDB file, whose writers are the sessions of one process, those sessions do."""
    if isinstance(con, pg.PgConnection):
        with pg.step_lock(con, pg.ROUND_REVIEW_LOCK, int(assessment_id)), transaction(con):
            yield
        return
    with _STEPS, transaction(con):
        yield


def _since(con: duckdb.DuckDBPyConnection, assessment_id: int) -> str:
    found = one(con, "SELECT changed_by, changed_at FROM round_review WHERE assessment_id = ?", [assessment_id])
    return f" by {found[0]} on {found[1]:%Y-%m-%d %H:%M}" if found and found[1] is not None else ""


def submit(con: duckdb.DuckDBPyConnection, assessment_id: int, *, principal: Principal, by: str) -> None:
    """The assessors say the round is complete: it goes to a lead for review. Refused unless every applicable
    item is assessed and every exclusion justified (the message says how many items are left)."""
    require(principal, "can_answer")
    check_assessment(con, principal, assessment_id)
    from dashboard.rounds import finalise_blockers  # the one definition of "complete"

    with _one_step(con, assessment_id):
        current = _round(con, assessment_id)
        state = review_state(con, assessment_id)
        name = f"{current.unit} {current.label}"
        if state == FINALISED:
            raise ReviewError(f"{name} is already finalised and read-only; start a new round to change it.")
        if state == SUBMITTED:
            raise ReviewError(f"{name} was already submitted{_since(con, assessment_id)}; it waits for a governance "
                              "lead to return it or finalise it.")
        blockers = finalise_blockers(con, assessment_id)
        if blockers:
            raise ReviewError(f"{name} cannot be submitted yet — " + "; ".join(blockers)
                              + ". Answer every item (or mark it not applicable, with a justification), then submit.")
        _set(con, assessment_id, SUBMITTED, by)
        _log(con, assessment_id, state, SUBMITTED, by)


def _clean_comments(con: duckdb.DuckDBPyConnection, current: Assessment,
                    given: Mapping[str | None, str]) -> list[tuple[str | None, str]]:
    scope_kinds = {"clauses": ("clause",), "annex_a": ("annex_a",), "both": ("clause", "annex_a")}[current.scope]
    items = {r[0] for r in rows(con, f"""SELECT item_id FROM catalog_item
                                         WHERE kind IN ({', '.join('?' for _ in scope_kinds)})""", list(scope_kinds))}
    out: list[tuple[str | None, str]] = []
    for item, text in given.items():
        text = str(text or "").strip()
        if not text:
            continue
        key = None if item is None or not str(item).strip() else str(item).strip()
        if key is not None and key not in items:
            raise ReviewError(f"{key!r} is not an item of {current.unit} {current.label} (scope {current.scope}); "
                              "comment on one of its items or on the round.")
        out.append((key, text))
    return out


def return_round(con: duckdb.DuckDBPyConnection, assessment_id: int, *, comments: Mapping[str | None, str],
                 principal: Principal, by: str) -> int:
    """A lead sends a submitted round back to its assessors with comments (item id -> text; None -> on the round);
    at least one comment. Returns the number of comments stored."""
    if not principal.can_organise:
        raise AccessDenied("Only a governance lead or an administrator returns a round for changes.")
    check_assessment(con, principal, assessment_id)
    with _one_step(con, assessment_id):
        current = _round(con, assessment_id)
        state = review_state(con, assessment_id)
        name = f"{current.unit} {current.label}"
        if state == FINALISED:
            raise ReviewError(f"{name} is finalised and read-only: it cannot be returned. Start a new round to change it.")
        if state != SUBMITTED:
            raise ReviewError(f"{name} is {state}, not submitted: only a submitted round can be returned. Its "
                              "assessors submit it once every item is answered.")
        cleaned = _clean_comments(con, current, comments)
        if not cleaned:
            raise ReviewError(f"Say what to change: returning {name} needs a comment on an item or on the round.")
        number = _set(con, assessment_id, RETURNED, by, returned=True)
        now = _now()
        con.executemany(
            """INSERT INTO review_comment (assessment_id, item_id, comment, made_by, made_at, state_when_made, return_no)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [[assessment_id, item, text, by, now, SUBMITTED, number] for item, text in cleaned])
        _log(con, assessment_id, SUBMITTED, RETURNED, by)
    return len(cleaned)


def finalise(con: duckdb.DuckDBPyConnection, assessment_id: int, *, principal: Principal, by: str) -> None:
    """A lead accepts a submitted round: it becomes final (read-only) and counts as a result."""
    if not principal.can_organise:
        raise AccessDenied("Only a governance lead or an administrator finalises a round; an assessor submits it "
                           "for review.")
    check_assessment(con, principal, assessment_id)
    from dashboard.rounds import finalise_blockers

    with _one_step(con, assessment_id):
        current = _round(con, assessment_id)
        state = review_state(con, assessment_id)
        name = f"{current.unit} {current.label}"
        if state == FINALISED:
            raise ReviewError(f"{name} is already finalised.")
        if state == RETURNED:
            raise ReviewError(f"{name} was returned to its assessors{_since(con, assessment_id)}: they change it and "
                              "submit it again before it can be finalised.")
        if state != SUBMITTED:
            raise ReviewError(f"{name} is {state}: it is finalised once its assessors have submitted it.")
        blockers = finalise_blockers(con, assessment_id)  # a lead may have changed an answer since
        if blockers:
            raise ReviewError(f"{name} cannot be finalised — " + "; ".join(blockers) + ".")
        set_status(con, assessment_id, "final", by)
        _log(con, assessment_id, SUBMITTED, FINALISED, by)


def in_review(con: duckdb.DuckDBPyConnection, assessment_id: int) -> bool:
    """Whether the round goes through the review: it belongs to a campaign, or it was submitted once."""
    found = one(con, """SELECT EXISTS (SELECT 1 FROM campaign_round WHERE assessment_id = ?)
                               OR EXISTS (SELECT 1 FROM round_review WHERE assessment_id = ?)""",
                [int(assessment_id), int(assessment_id)])
    return bool(found and found[0])


def refuse_unreviewed(con: duckdb.DuckDBPyConnection, assessment_id: int) -> None:
    """For `rounds.finalise`: a round of a campaign, or one that entered review, is finalised only once submitted."""
    if not in_review(con, assessment_id):
        return
    state = review_state(con, assessment_id)
    if state in (SUBMITTED, FINALISED):
        return
    current = _round(con, assessment_id)
    if state == RETURNED:
        raise ReviewError(f"{current.unit} {current.label} was returned to its assessors: they submit it again, "
                          "then a lead finalises it.")
    raise ReviewError(f"{current.unit} {current.label} is part of a campaign and is {state}: its assessors submit it "
                      "for review, then a lead finalises it.")


def comments(con: duckdb.DuckDBPyConnection, assessment_id: int, *, principal: Principal) -> pd.DataFrame:
    """Every review comment of the round, oldest first: item_id (None: on the round), comment, by, at, the round's
    state when it was made, and which return it came with (1, 2, …). For the assessors of the unit and leads."""
    check_assessment(con, principal, assessment_id)
    require(principal, "can_read_text")
    found = frame(con, """SELECT c.item_id, c.comment, c.made_by AS "by", c.made_at AS "at",
                                 c.state_when_made AS round_state_when_made, c.return_no
                          FROM review_comment c LEFT JOIN catalog_item i ON i.item_id = c.item_id
                          WHERE c.assessment_id = ? ORDER BY c.return_no, i.ord NULLS FIRST, c.id""",
                  [int(assessment_id)])
    found["item_id"] = pd.Series([None if pd.isna(i) else str(i) for i in found["item_id"]], dtype=object,
                                 index=found.index)  # None: a comment on the round
    return found
