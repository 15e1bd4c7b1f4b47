"""Campaigns: a governance lead launches one round for many units at once, names each unit's assessors, and follows
them on a board until every round is finalised.

* ``launch`` creates every round of the campaign in one transaction (all or nothing), optionally from each unit's
  previous answers (``rounds.copy_previous_within``: the clauses from the newest earlier round covering the clauses,
  Annex A from the newest covering Annex A), grants each named assessor the assessor role on their unit when they
  lack it (``access.grant``, logged), and logs every round (change_log fields ``created`` and ``campaign``).
* ``board`` has one row per unit the principal may see: assessors, state (``review.STATES``), share answered (the
  scoring engine's completeness), last activity, due date, overdue, time spent (``dashboard.timing``), the open
  comments of the last return. ``progress_over_time`` counts the rounds in each state at the end of each day.
* ``overdue`` lists the rounds past their due date that are not submitted or finalised, with a ``mailto:`` link per
  unit (``mailto``): nothing is ever sent by the app.
* The review itself (submit, return with comments, finalise) lives in ``dashboard.review`` and is re-exported here.
* ``set_final_only`` / ``final_only``: the setting "management views show finalised rounds only" (``meta`` key
  ``final_only``), read by ``selection.select_assessments`` for *Latest per unit*.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import duckdb
import pandas as pd

from dashboard import access, rounds, scoring, timing
from dashboard.access import Principal, require, units_sql
from dashboard.db import frame, one, rows, transaction
from dashboard.review import (
    FINALISED,
    IN_PROGRESS,
    NOT_STARTED,
    RETURNED,
    STATES,
    SUBMITTED,
    ReviewError,
    comments,
    finalise,
    in_review,
    return_round,
    review_state,
    state_sql,
    submit,
)
from dashboard.selection import FINAL_ONLY_KEY, final_only
from dashboard.store import SCOPES, StoreError, _now, get_assessment

__all__ = ["BOARD_COLUMNS", "OVERDUE_COLUMNS", "STATES", "Campaign", "CampaignError", "ReviewError", "board",
           "campaigns", "comments", "final_only", "finalise", "in_review", "launch", "mailto", "overdue", "progress_over_time",
           "return_round", "review_state", "set_final_only", "submit"]

# the states in which a round still owes its answers: past the due date, it is overdue
OWING = (NOT_STARTED, IN_PROGRESS, RETURNED)
BOARD_COLUMNS = ["unit", "assessment_id", "assessors", "state", "answered_pct", "last_activity", "due_on", "overdue",
                 "days_overdue", "returned_comments", "active_s", "elapsed_s"]
OVERDUE_COLUMNS = ["unit", "assessors", "due_on", "days_overdue", "state", "mailto"]


class CampaignError(StoreError):
    """A launch refused: unknown or clashing units, bad dates, assessors for units outside the campaign."""


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    scope: str
    label: str
    assessed_on: dt.date
    due_on: dt.date | None
    default_target: int
    units: tuple[str, ...] = ()
    assessment_ids: tuple[int, ...] = ()
    granted: tuple[str, ...] = field(default=())  # "email → unit" for each assessor role granted by the launch
    copied: int = 0  # answers copied from previous rounds


# --- launching ------------------------------------------------------------------------------------------------


def _units(con: duckdb.DuckDBPyConnection, names: Sequence[str] | None, parent: str | None) -> list[tuple[int, str]]:
    """(id, name) of the campaign's units: the named ones and/or the parent with every unit below it, in name
    order. Unknown and archived units are refused by name."""
    chosen: dict[int, str] = {}
    missing, archived = [], []
    for name in [*(names or []), *([parent] if parent else [])]:
        clean = " ".join(str(name).split())
        found = one(con, "SELECT id, name, archived FROM unit WHERE lower(name) = lower(?)", [clean])
        if found is None:
            missing.append(clean)
        elif found[2]:
            archived.append(str(found[1]))
        else:
            chosen[int(found[0])] = str(found[1])
    if missing:
        raise CampaignError(f"No business unit named {', '.join(repr(m) for m in missing)}: create it first "
                            "(Units and rounds) or check the spelling.")
    if archived:
        raise CampaignError(f"{', '.join(archived)} {'is' if len(archived) == 1 else 'are'} archived: a campaign "
                            "takes active units only.")
    if parent:
        top = one(con, "SELECT id FROM unit WHERE lower(name) = lower(?)", [" ".join(parent.split())])
        assert top is not None
        below = rows(con, """WITH RECURSIVE tree(id) AS (SELECT ?::INTEGER UNION
                                 SELECT u.id FROM unit u JOIN tree t ON u.parent_id = t.id)
                             SELECT u.id, u.name FROM tree JOIN unit u USING (id) WHERE NOT u.archived""", [int(top[0])])
        chosen.update({int(i): str(n) for i, n in below})
    if not chosen:
        raise CampaignError("Choose the units of the campaign: one or more units, or a parent unit (with every unit "
                            "below it).")
    return sorted(chosen.items(), key=lambda u: u[1].lower())


def _emails(unit: str, given: Sequence[str]) -> list[str]:
    out = []
    for email in given:
        clean = str(email or "").strip().lower()
        if not clean:
            continue
        if "@" not in clean or any(c.isspace() for c in clean) or clean.startswith("@") or clean.endswith("@"):
            raise CampaignError(f"{email!r} (assessor of {unit}) is not an email address.")
        if clean not in out:
            out.append(clean)
    return out


def launch(con: duckdb.DuckDBPyConnection, *, name: str, units: Sequence[str] | None = None, parent: str | None = None,
           scope: str, label: str, assessed_on: dt.date, due_on: dt.date | None, default_target: int = 3,
           assessors: Mapping[str, Sequence[str]] | None = None, copy_previous: bool = False,
           principal: Principal, by: str) -> Campaign:
    """Create the campaign and one draft round per unit, all or nothing (administrators and leads).

    A unit that already has a round with this label is refused, naming it (choose another label or leave it out).
    `assessors` maps a unit's name to the emails of its assessors; each gets the assessor role on that unit unless
    they already hold it (or an organisation-wide role that answers for it)."""
    require(principal, "can_organise")
    name, label = " ".join(str(name or "").split()), str(label or "").strip()
    if not name:
        raise CampaignError("A campaign needs a name, such as 'AIMS assessment 2026'.")
    if not label:
        raise CampaignError("A campaign needs a round label, such as 2026-Q1.")
    if scope not in SCOPES:
        raise CampaignError(f"Scope must be one of {', '.join(SCOPES)}, not {scope!r}.")
    if not isinstance(assessed_on, dt.date):
        raise CampaignError(f"The round's date must be a date, not {assessed_on!r}.")
    if due_on is not None and due_on < assessed_on:
        raise CampaignError(f"The due date {due_on} is before the round's date {assessed_on}.")
    if isinstance(default_target, bool) or int(default_target) != default_target or not 0 <= default_target <= 5:
        raise CampaignError(f"The default target must be a whole level from 0 to 5, not {default_target!r}.")
    chosen = _units(con, [units] if isinstance(units, str) else units, parent)
    by_name = {n.lower(): (i, n) for i, n in chosen}
    named: dict[int, list[str]] = {}
    for unit, emails in (assessors or {}).items():
        key = " ".join(str(unit).split()).lower()
        if key not in by_name:
            raise CampaignError(f"Assessors are named for {unit!r}, which is not one of the campaign's units.")
        unit_id, unit_name = by_name[key]
        named.setdefault(unit_id, [])
        named[unit_id] += [e for e in _emails(unit_name, list(emails)) if e not in named[unit_id]]
    version = one(con, "SELECT value FROM meta WHERE key = 'catalog_version'")
    catalog_version = str(version[0]) if version else "unknown"
    listed = ", ".join(str(i) for i, _ in chosen)  # integers from the unit table
    copied = 0
    with transaction(con):  # set-based: a campaign of 500 units is a handful of statements
        clash = [str(r[0]) for r in rows(
            con, f"""SELECT u.name FROM assessment a JOIN unit u ON u.id = a.unit_id
                     WHERE a.label = ? AND a.unit_id IN ({listed}) ORDER BY lower(u.name)""", [label])]
        if clash:
            raise CampaignError(f"{', '.join(clash)} already {'has' if len(clash) == 1 else 'have'} a round labelled "
                                f"{label!r}: choose another label, or leave {'it' if len(clash) == 1 else 'them'} out.")
        needed = _lacking(con, named, listed)
        now = _now()
        campaign_id = int(rows(con, """INSERT INTO campaign (name, scope, label, assessed_on, due_on, default_target,
                                                            created_by, created_at)
                                       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
                               [name, scope, label, assessed_on, due_on, int(default_target), by, now])[0][0])
        made = {int(u): int(a) for a, u in rows(
            con, f"""INSERT INTO assessment (unit_id, label, scope, assessed_on, source, catalog_version, default_target)
                     SELECT id, ?, ?, ?, 'form', ?, ? FROM unit WHERE id IN ({listed}) RETURNING id, unit_id""",
            [label, scope, assessed_on, catalog_version, int(default_target)])}
        created = ", ".join(str(a) for a in made.values())
        con.execute(f"""INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by,
                                                changed_at, source)
                        SELECT a.id, NULL, f.field, NULL, f.value, ?, ?, 'campaign'
                        FROM assessment a, (VALUES ('created', ?), ('campaign', ?)) f(field, value)
                        WHERE a.id IN ({created}) ORDER BY a.id, f.field DESC""",
                    [by, now, f"{scope} {label}", f"{name} (campaign {campaign_id})"])
        con.execute(f"INSERT INTO campaign_round SELECT ?, id FROM assessment WHERE id IN ({created})", [campaign_id])
        pairs = pd.DataFrame([(made[u], e) for u, emails in named.items() for e in emails],
                             columns=["assessment_id", "email"])
        if not pairs.empty:
            con.register("_named", pairs)
            try:
                con.execute("INSERT INTO round_assessor SELECT assessment_id, email FROM _named")
            finally:
                con.unregister("_named")
        names = dict(chosen)
        granted = access.grant_assessors(con, [(e, names[u]) for u, e in needed], by=principal)
        if copy_previous:
            for unit_id, _ in chosen:
                found = get_assessment(con, made[unit_id])
                assert found is not None
                copied += rounds.copy_previous_within(con, found, by=by).new
    return Campaign(campaign_id, name, scope, label, assessed_on, due_on, int(default_target),
                    tuple(n for _, n in chosen), tuple(made[u] for u, _ in chosen), tuple(granted), copied)


def _lacking(con: duckdb.DuckDBPyConnection, named: Mapping[int, Sequence[str]], listed: str) -> list[tuple[int, str]]:
    """(unit id, email) of the named assessors who do not answer for that unit yet: not an administrator or lead
    (stored or in AIMS_ADMINS), nor an assessor of the unit or of a unit above it."""
    emails = sorted({e for found in named.values() for e in found})
    if not emails:
        return []
    marks = ", ".join("?" for _ in emails)
    everywhere = access.env_admins() | {str(r[0]) for r in rows(
        con, f"SELECT email FROM role_assignment WHERE role IN ('administrator', 'lead') AND email IN ({marks})", emails)}
    above: dict[int, set[int]] = {}
    for unit_id, ancestor in rows(con, f"""WITH RECURSIVE up(unit_id, ancestor) AS (
                                               SELECT id, id FROM unit WHERE id IN ({listed})
                                               UNION ALL SELECT up.unit_id, u.parent_id FROM up
                                               JOIN unit u ON u.id = up.ancestor WHERE u.parent_id IS NOT NULL)
                                           SELECT unit_id, ancestor FROM up"""):
        above.setdefault(int(unit_id), set()).add(int(ancestor))
    assigned: dict[str, set[int]] = {}
    for email, unit_id in rows(con, f"SELECT email, unit_id FROM role_assignment WHERE role = 'assessor' "
                                    f"AND email IN ({marks})", emails):
        assigned.setdefault(str(email), set()).add(int(unit_id))
    return [(u, e) for u, found in named.items() for e in found
            if e not in everywhere and not (assigned.get(e, set()) & above.get(u, {u}))]


# --- reading ----------------------------------------------------------------------------------------------------


def campaigns(con: duckdb.DuckDBPyConnection, *, principal: Principal) -> pd.DataFrame:
    """Every campaign with a round the principal may see, newest first: id, name, scope, label, assessed_on, due_on,
    created_by, created_at, units (rounds it may see), finalised (of those)."""
    require(principal, "can_read")
    return frame(con, f"""SELECT c.id, c.name, c.scope, c.label, c.assessed_on, c.due_on, c.created_by, c.created_at,
                                 count(*)::INTEGER AS units,
                                 count(*) FILTER (WHERE a.status = 'final')::INTEGER AS finalised
                          FROM campaign c JOIN campaign_round cr ON cr.campaign_id = c.id
                          JOIN assessment a ON a.id = cr.assessment_id JOIN unit u ON u.id = a.unit_id
                          WHERE {units_sql(principal)}
                          GROUP BY c.id, c.name, c.scope, c.label, c.assessed_on, c.due_on, c.created_by, c.created_at
                          ORDER BY c.created_at DESC, c.id DESC""")


def _campaign(con: duckdb.DuckDBPyConnection, campaign_id: int) -> tuple[str, dt.date | None, dt.datetime]:
    found = one(con, "SELECT name, due_on, created_at FROM campaign WHERE id = ?", [int(campaign_id)])
    if found is None:
        raise CampaignError(f"No campaign with id {campaign_id}.")
    return str(found[0]), found[1], found[2]


def board(con: duckdb.DuckDBPyConnection, campaign_id: int, *, principal: Principal,
          today: dt.date | None = None) -> pd.DataFrame:
    """One row per round of the campaign whose unit the principal may see (an assessor: its own units), by unit name:
    unit, assessment_id, assessors (named at the launch, or holding the assessor role on the unit or a unit above
    it: whoever answers for it), state, answered_pct (0-1, the scoring engine's completeness), last_activity
    (the last answer or review step; answers copied at the launch are not activity), due_on, overdue,
    days_overdue, returned_comments (the comments of the last return while the round is returned), and the time
    spent from `dashboard.timing`: active_s (pauses over AIMS_PAUSE_MINUTES left out) and elapsed_s, in seconds."""
    require(principal, "can_read")
    _campaign(con, campaign_id)
    today = today or dt.date.today()
    found = frame(
        con,
        f"""WITH RECURSIVE up(unit_id, ancestor) AS (
                SELECT id, id FROM unit
                UNION ALL SELECT up.unit_id, u.parent_id FROM up JOIN unit u ON u.id = up.ancestor
                WHERE u.parent_id IS NOT NULL),
            answering AS (  -- named at the launch, or holding the assessor role on the unit or a unit above it
                SELECT assessment_id, email FROM round_assessor
                UNION SELECT cr.assessment_id, ra.email FROM campaign_round cr
                JOIN assessment a ON a.id = cr.assessment_id JOIN up ON up.unit_id = a.unit_id
                JOIN role_assignment ra ON ra.role = 'assessor' AND ra.unit_id = up.ancestor
                WHERE cr.campaign_id = ?)
            SELECT u.name AS unit, a.id AS assessment_id,
                   (SELECT string_agg(DISTINCT w.email, ', ' ORDER BY w.email) FROM answering w
                    WHERE w.assessment_id = a.id) AS assessors,
                   {state_sql()} AS state,
                   greatest((SELECT max(r.changed_at) FROM response r WHERE r.assessment_id = a.id
                             AND r.created_source IS DISTINCT FROM 'copy'),
                            (SELECT max(l.changed_at) FROM change_log l WHERE l.assessment_id = a.id
                             AND ((l.item_id IS NOT NULL AND l.source IS DISTINCT FROM 'copy')
                                  OR l.field IN ('review', 'status')))) AS last_activity,
                   c.due_on,
                   CASE WHEN rr.state = '{RETURNED}' AND a.status = 'draft' THEN
                        (SELECT count(*) FROM review_comment rc WHERE rc.assessment_id = a.id AND rc.return_no = rr.returns)
                        ELSE 0 END::INTEGER AS returned_comments
            FROM campaign_round cr JOIN campaign c ON c.id = cr.campaign_id
            JOIN assessment a ON a.id = cr.assessment_id JOIN unit u ON u.id = a.unit_id
            LEFT JOIN round_review rr ON rr.assessment_id = a.id
            WHERE cr.campaign_id = ? AND {units_sql(principal)}
            ORDER BY lower(u.name)""",
        [int(campaign_id), int(campaign_id)],
    )
    ids = [int(i) for i in found["assessment_id"]]
    scores = scoring.assessment_scores(con, ids) if ids else pd.DataFrame(columns=["assessment_id", "completeness"])
    share = dict(zip(scores["assessment_id"].astype(int), scores["completeness"], strict=True))
    found["answered_pct"] = [float(share.get(i) or 0.0) for i in ids]
    owing = found["state"].isin(OWING) & found["due_on"].notna()
    late = [(today - pd.Timestamp(d).date()).days if o else 0 for d, o in zip(found["due_on"], owing, strict=True)]
    found["days_overdue"] = pd.array([max(d, 0) for d in late], dtype="int64")
    found["overdue"] = found["days_overdue"] > 0
    return _with_times(con, found, principal)


def _with_times(con: duckdb.DuckDBPyConnection, out: pd.DataFrame, principal: Principal) -> pd.DataFrame:
    """The board's time spent, from `dashboard.timing`: active_s (pauses left out) and elapsed_s (first to last
    answer given in the app; imported and copied answers are no time spent)."""
    ids = [int(i) for i in out["assessment_id"]]
    times = timing.assessment_times(con, ids, principal=principal)
    found = dict(zip(times["assessment_id"].astype(int), zip(times["active_s"], times["elapsed_s"], strict=True),
                     strict=True))
    out["active_s"] = [float(found[i][0]) if i in found else 0.0 for i in ids]
    out["elapsed_s"] = [float(found[i][1]) if i in found else 0.0 for i in ids]
    return out[BOARD_COLUMNS]


def progress_over_time(con: duckdb.DuckDBPyConnection, campaign_id: int, *, principal: Principal,
                       today: dt.date | None = None) -> pd.DataFrame:
    """For each day from the launch to today (or the last step, if later): how many of the campaign's rounds (those
    the principal may see) were in each state at the end of that day. Columns day, state, units (every state on
    every day, zeros included), in STATES order. Built from the first answer and the review and status steps in
    the change log."""
    require(principal, "can_read")
    _, _, created_at = _campaign(con, campaign_id)
    events = frame(
        con,
        f"""WITH mine AS (SELECT a.id FROM campaign_round cr JOIN assessment a ON a.id = cr.assessment_id
                          JOIN unit u ON u.id = a.unit_id WHERE cr.campaign_id = ? AND {units_sql(principal)})
            SELECT m.id AS assessment_id, NULL::TIMESTAMP AS at, NULL AS state, 0 AS ord FROM mine m
            UNION ALL
            SELECT r.assessment_id, min(r.created_at), '{IN_PROGRESS}', 1 FROM response r JOIN mine m ON m.id = r.assessment_id
            GROUP BY r.assessment_id
            UNION ALL
            SELECT l.assessment_id, l.changed_at, CASE WHEN l.field = 'status' THEN '{FINALISED}' ELSE l.new_value END, l.id + 2
            FROM change_log l JOIN mine m ON m.id = l.assessment_id
            WHERE (l.field = 'review' AND l.new_value IN ('{SUBMITTED}', '{RETURNED}', '{FINALISED}'))
               OR (l.field = 'status' AND l.new_value = 'final')""",
        [int(campaign_id)],
    )
    start = pd.Timestamp(created_at).date()
    steps = events.dropna(subset=["at"])
    end = max([today or dt.date.today(), *(pd.Timestamp(t).date() for t in steps["at"])])
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    timeline: dict[int, list[tuple[pd.Timestamp, int, str]]] = {int(i): [] for i in events["assessment_id"].unique()}
    for row in steps.itertuples():
        timeline[int(row.assessment_id)].append((pd.Timestamp(row.at), int(row.ord), str(row.state)))
    ordered = [sorted(history) for history in timeline.values()]
    records = []
    for day in days:
        closing = pd.Timestamp(day + dt.timedelta(days=1))
        counts = dict.fromkeys(STATES, 0)
        for history in ordered:
            done = bisect.bisect_left([s[0] for s in history], closing)  # the steps before the day's end
            counts[history[done - 1][2] if done else NOT_STARTED] += 1
        records += [(day, state, counts[state]) for state in STATES]
    return pd.DataFrame(records, columns=["day", "state", "units"])


# --- reminders without a mail server ------------------------------------------------------------------------------


def mailto(unit: str, emails: Sequence[str], due_on: dt.date | None, campaign_name: str) -> str:
    """A mailto: link to the unit's assessors, subject and body URL-encoded; the person's mail program sends it
    (or not): the app sends nothing."""
    to = ",".join(quote(str(e).strip(), safe="@") for e in emails if str(e).strip())
    due = f"{pd.Timestamp(due_on):%Y-%m-%d}" if due_on is not None and not pd.isna(due_on) else "the due date"
    subject = f"{campaign_name}: the assessment of {unit} was due on {due}"
    body = (f"Hello,\n\nThe {campaign_name} assessment of {unit} was due on {due} and has not been submitted yet. "
            "Could you complete the questionnaire and submit it for review, or tell me when it will be ready?\n\n"
            "Thank you.")
    return f"mailto:{to}?subject={quote(subject, safe='')}&body={quote(body, safe='')}"


def overdue(con: duckdb.DuckDBPyConnection, campaign_id: int, *, principal: Principal,
            today: dt.date | None = None) -> pd.DataFrame:
    """The board's overdue rounds, most overdue first: unit, assessors (emails), due_on, days_overdue, state and a
    mailto: link per unit."""
    name, _, _ = _campaign(con, campaign_id)
    rows_ = board(con, campaign_id, principal=principal, today=today)
    late = rows_[rows_["overdue"]].sort_values(["days_overdue", "unit"], ascending=[False, True]).reset_index(drop=True)
    late["assessors"] = ["" if pd.isna(a) else str(a) for a in late["assessors"]]
    late["mailto"] = [mailto(r.unit, [e for e in r.assessors.split(", ") if e], r.due_on, name)
                      for r in late.itertuples()]
    return late[OVERDUE_COLUMNS]


# --- the setting "management views show finalised rounds only" -----------------------------------------------------


def set_final_only(con: duckdb.DuckDBPyConnection, on: bool, *, principal: Principal, by: str) -> bool:
    """Turn the setting on or off (administrators and leads), logged; returns whether it changed."""
    require(principal, "can_organise")
    before = final_only(con)
    if before == bool(on):
        return False
    with transaction(con):
        con.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [FINAL_ONLY_KEY, "true" if on else "false"])
        con.execute("""INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by,
                                               changed_at, source) VALUES (NULL, NULL, ?, ?, ?, ?, ?, 'settings')""",
                    [FINAL_ONLY_KEY, str(before).lower(), str(bool(on)).lower(), by, _now()])
    return True
