"""Roadmap tracking: status, owner and due date per action, stored apart from the assessed answers.

A finalised round is read-only, but its follow-up is not: the roadmap's owner, due date and status live
here (table `roadmap_action`) and every change goes to the change log as `action_<field>`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import duckdb
import pandas as pd

from dashboard.access import Principal, authorise_write
from dashboard.db import frame, one, transaction
from dashboard.store import StoreError, _as_text, _now, get_assessment

__all__ = ["ACTION_FIELDS", "ACTION_STATUSES", "action_records", "set_actions"]


ACTION_STATUSES = ("open", "in progress", "done")
# what the roadmap tracks per action; owner and due date here override the response's, which stay as assessed
ACTION_FIELDS = ("status", "owner", "due_date")


def _check_action(field: str, value: Any) -> Any:
    if field not in ACTION_FIELDS:
        raise StoreError(f"Unknown action field {field!r}: one of {', '.join(ACTION_FIELDS)}.")
    if field == "status":
        if value not in ACTION_STATUSES:
            raise StoreError(f"Status must be one of {', '.join(ACTION_STATUSES)}, not {value!r}.")
        return value
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if field == "due_date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = str(value).strip()
        try:
            return dt.date.fromisoformat(text[:10]) if text else None
        except ValueError as exc:
            raise StoreError(f"Due date must be a date (YYYY-MM-DD), not {value!r}.") from exc
    return " ".join(str(value).split()) or None


def set_actions(
    con: duckdb.DuckDBPyConnection,
    keys: Iterable[tuple[int, str]],
    changes: dict[str, Any],
    *,
    principal: Principal,
    by: str,
    source: str = "roadmap",
) -> int:
    """Set status, owner or due date of roadmap actions (None clears owner or due date); return how many changed.
    Refused (AccessDenied) for an action of a unit the principal may not change.

    `keys` are (assessment id, item id) pairs: one action, or the same item in several units at once (the
    organisation view). One transaction; each changed field goes to the change log as `action_<field>`.
    Finalised rounds are allowed: their answers stay frozen while the plan that follows them is tracked.
    """
    keys = [(int(a), str(i)) for a, i in keys]
    authorise_write(con, principal, "set_actions", [a for a, _ in keys])
    checked = {field: _check_action(field, value) for field, value in changes.items()}
    unique = list(dict.fromkeys((int(a), str(i)) for a, i in keys))
    changed_actions = 0
    with transaction(con):
        for assessment_id, item_id in unique:
            if get_assessment(con, assessment_id) is None:
                raise StoreError(f"No assessment with id {assessment_id}.")
            if one(con, "SELECT 1 FROM catalog_item WHERE item_id = ?", [item_id]) is None:
                raise StoreError(f"No catalog item {item_id!r}.")
            found = one(
                con, f"SELECT {', '.join(ACTION_FIELDS)} FROM roadmap_action WHERE assessment_id = ? AND item_id = ?",
                [assessment_id, item_id],
            )
            old = dict(zip(ACTION_FIELDS, found, strict=True)) if found else dict.fromkeys(ACTION_FIELDS)
            changed = [f for f, v in checked.items() if old[f] != v]
            if not changed:
                continue
            new = old | checked
            new["status"] = new["status"] or "open"
            now = _now()
            con.execute(
                f"""INSERT INTO roadmap_action (assessment_id, item_id, {', '.join(ACTION_FIELDS)}, changed_by, changed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (assessment_id, item_id) DO UPDATE SET
                    {', '.join(f'{f} = excluded.{f}' for f in ACTION_FIELDS)},
                    changed_by = excluded.changed_by, changed_at = excluded.changed_at""",
                [assessment_id, item_id, *(new[f] for f in ACTION_FIELDS), by, now],
            )
            con.executemany(
                """INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at, source)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                [[assessment_id, item_id, f"action_{f}", _as_text(old[f]), _as_text(new[f]), by, now, source]
                 for f in changed],
            )
            changed_actions += 1
    return changed_actions


def action_records(con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int]) -> pd.DataFrame:
    """What is tracked for the actions of these assessments, and what the unit's latest earlier round tracked.

    One row per (assessment, item) with a record of its own and/or in an earlier round of the same unit
    (`carried_*`, from round `carried_from`), so that a new round's roadmap picks up the plan where it was.
    """
    ids = sorted({int(i) for i in assessment_ids})
    if not ids:
        ids = [-1]
    marks = ", ".join("?" for _ in ids)
    return frame(
        con,
        f"""WITH chosen AS (SELECT id, unit_id, assessed_on FROM assessment WHERE id IN ({marks})),
            own AS (SELECT x.* FROM roadmap_action x JOIN chosen c ON c.id = x.assessment_id),
            ranked AS (
                SELECT c.id AS assessment_id, x.item_id, x.status, x.owner, x.due_date, b.label AS carried_from,
                       row_number() OVER (PARTITION BY c.id, x.item_id ORDER BY b.assessed_on DESC, b.id DESC) AS rank_
                FROM chosen c
                JOIN assessment b ON b.unit_id = c.unit_id AND b.id <> c.id AND b.assessed_on < c.assessed_on
                JOIN roadmap_action x ON x.assessment_id = b.id
            ),
            earlier AS (SELECT * FROM ranked WHERE rank_ = 1)  -- (QUALIFY is DuckDB's; this runs on PostgreSQL too)
            SELECT coalesce(o.assessment_id, e.assessment_id) AS assessment_id, coalesce(o.item_id, e.item_id) AS item_id,
                   o.status, o.owner, o.due_date, o.changed_by, o.changed_at,
                   e.status AS carried_status, e.owner AS carried_owner, e.due_date AS carried_due_date, e.carried_from
            FROM own o FULL OUTER JOIN earlier e ON o.assessment_id = e.assessment_id AND o.item_id = e.item_id
            ORDER BY 1, 2""",
        ids,
    )
