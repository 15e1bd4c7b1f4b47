"""What each item's previous round answered, so that the questionnaire can keep it in this round with one action.

A second round of a unit mostly confirms the first: most levels and evidence still hold. For every item of a
round, `previous_answers` gives the answer of the same unit's previous round that covers the item's kind
(clauses or Annex A), found by `rounds.previous_assessment` (the round a new round is started from: the newest
other round of the unit dated on or before this one and covering that kind). Only answers are offered: a level,
or for an Annex A control a stated exclusion (not applicable, with its justification).

Keeping one is an ordinary answer: the page saves the fields of `kept_fields` through `store.update_response`
(source `form`), so the change is logged under the person's name, counts as answering time
(`dashboard.timing`) and is refused like any answer on a finalised or submitted round. Nothing here is scored:
the figures come from `dashboard.scoring` on what is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd

from dashboard.access import Principal, check_assessments
from dashboard.db import frame
from dashboard.rounds import previous_assessment
from dashboard.store import get_assessment

__all__ = ["CARRIED", "kept_fields", "previous_answers"]

# the fields an answer is made of in the compact line: what keeping the previous answer copies
CARRIED = ("maturity", "evidence", "applicable", "justification", "inclusion_justification")
_KINDS = {"clauses": ("clause",), "annex_a": ("annex_a",), "both": ("clause", "annex_a")}
_COLUMNS = ["item_id", "kind", "round_id", "round_label", *CARRIED]



def previous_answers(con: duckdb.DuckDBPyConnection, assessment_id: int, *, principal: Principal) -> pd.DataFrame:
    """One row per item of the round that its previous round answered: item_id, kind, round_id, round_label and
    the answer's fields (`CARRIED`). Empty when the unit has no earlier round. Refused (AccessDenied) for a round
    of a unit the principal may not see."""
    check_assessments(con, principal, [int(assessment_id)])
    current = get_assessment(con, int(assessment_id))
    parts = []
    for kind in _KINDS[current.scope] if current is not None else ():
        previous = previous_assessment(con, current.id, kind)
        if previous is None:
            continue
        parts.append(frame(
            con,
            f"""SELECT r.item_id, c.kind, r.assessment_id AS round_id, ? AS round_label,
                       {', '.join('r.' + f for f in CARRIED)}
                FROM response r JOIN catalog_item c USING (item_id)
                WHERE r.assessment_id = ? AND c.kind = ?
                  AND (r.maturity IS NOT NULL
                       OR (c.kind = 'annex_a' AND NOT r.applicable AND trim(coalesce(r.justification, '')) <> ''))
                ORDER BY r.item_id""",
            [previous.label, previous.id, kind],
        ))
    found = [p for p in parts if not p.empty]
    if not found:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in _COLUMNS})
    return pd.concat(found, ignore_index=True)[_COLUMNS]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or (isinstance(value, str) and not value.strip())


def kept_fields(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The changes that keep `previous` (a row of `previous_answers`) in the current response `current`: its level
    and applicability, and each text the current response does not hold yet (evidence or a justification typed in
    this round already is not overwritten)."""
    changes: dict[str, Any] = {"applicable": bool(previous["applicable"])}
    if not _blank(previous["maturity"]):
        changes["maturity"] = int(previous["maturity"])
    for field in ("evidence", "justification", "inclusion_justification"):
        if not _blank(previous[field]) and _blank(current.get(field)):
            changes[field] = str(previous[field])
    return changes
