"""Time spent answering, measured from what the store records, not promised.

The rules in plain words:

* **Answer events** are the moments a person saved an answer in the app: the questionnaire (change-log source
  `form`) and the AI-guided interview (source `interview`). Each is a change-log row of one item, or the
  creation of a response made there (`response.created_at` with `created_source` form or interview). Rows of
  one item saved at the same moment (several fields of one save) are one event.
* **Not counted**: imports and the demo (`import`, `demo`), answers copied from a previous round (`copy`),
  undoing an import (`undo`), merging units (`merge`), migrations, decisions on proposed answers, and changes
  of the round itself (its status or date: rows without an item). An imported assessment has no answer events.
* **Elapsed** time is from the first to the last answer event of the assessment.
* **Active** time is the sum of the gaps between consecutive answer events of the assessment, leaving out
  every gap longer than the pause (`AIMS_PAUSE_MINUTES`, default 15): answers at 0, 2 and 5 minutes, then at
  40 and 41 minutes, make 6 minutes active and 41 elapsed. A single answer is 0 active: the time spent reading
  before the first answer of a sitting is not known.
* **Per item**, each counted gap belongs to the item whose answer ended it (the time it took to give that
  answer), so the items' active times add up to the assessment's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import duckdb
import pandas as pd

from dashboard import settings
from dashboard.access import Principal, check_assessments
from dashboard.db import frame

__all__ = ["ANSWERING_SOURCES", "answer_events", "assessment_times", "format_duration", "item_times", "pause_seconds"]

# the change-log sources that are a person answering in the app; anything else is not time spent answering
ANSWERING_SOURCES = ("form", "interview")

ASSESSMENT_COLUMNS = ["assessment_id", "answers", "first_at", "last_at", "elapsed_s", "active_s"]
ITEM_COLUMNS = ["item_id", "edits", "first_at", "last_at", "active_s"]


def pause_seconds(pause_minutes: float | None = None) -> float:
    """The longest gap between two answers that still counts as work, in seconds (`AIMS_PAUSE_MINUTES`)."""
    if pause_minutes is None:
        text = settings.get("AIMS_PAUSE_MINUTES")
        try:
            pause_minutes = float(text)
        except ValueError:
            raise ValueError(f"AIMS_PAUSE_MINUTES must be a number of minutes, such as 15, not {text!r}.") from None
    if not math.isfinite(pause_minutes) or pause_minutes < 0:
        raise ValueError(f"The pause must be zero or more minutes, not {pause_minutes!r} (AIMS_PAUSE_MINUTES).")
    return float(pause_minutes) * 60.0


def _ids(assessment_ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in assessment_ids))  # once each, in the order given


def answer_events(con: duckdb.DuckDBPyConnection, assessment_ids: Sequence[int], *,
                  principal: Principal) -> pd.DataFrame:
    """The answer events of these assessments (assessment_id, item_id, at), in time order; refused (AccessDenied)
    for an assessment of a unit the principal may not see."""
    ids = _ids(assessment_ids)
    check_assessments(con, principal, ids)
    if not ids:
        return pd.DataFrame({"assessment_id": pd.Series(dtype="int64"), "item_id": pd.Series(dtype="object"),
                             "at": pd.Series(dtype="datetime64[us]")})
    listed = ", ".join(str(i) for i in ids)  # integers only
    sources = ", ".join(f"'{s}'" for s in ANSWERING_SOURCES)
    return frame(
        con,
        f"""SELECT assessment_id, item_id, changed_at AS "at" FROM change_log
            WHERE assessment_id IN ({listed}) AND item_id IS NOT NULL AND source IN ({sources})
            UNION
            SELECT assessment_id, item_id, created_at FROM response
            WHERE assessment_id IN ({listed}) AND created_at IS NOT NULL AND created_source IN ({sources})
            ORDER BY assessment_id, "at", item_id""",
    )


def _with_gaps(events: pd.DataFrame, pause_s: float) -> pd.DataFrame:
    """Each event with the counted gap before it (0 for an assessment's first event and after a pause)."""
    gap = events.groupby("assessment_id")["at"].diff().dt.total_seconds().fillna(0.0)
    return events.assign(counted=gap.where(gap <= pause_s, 0.0))


def assessment_times(con: duckdb.DuckDBPyConnection, assessment_ids: Sequence[int], *, principal: Principal,
                     pause_minutes: float | None = None) -> pd.DataFrame:
    """Per assessment, in the order given: answers (answer events), first_at, last_at, elapsed_s, active_s.

    An assessment without answer events (not started, or imported) has 0 answers, no first or last time (NaT)
    and 0 s elapsed and active."""
    pause_s = pause_seconds(pause_minutes)
    ids = _ids(assessment_ids)
    events = _with_gaps(answer_events(con, ids, principal=principal), pause_s)
    grouped = events.groupby("assessment_id").agg(answers=("at", "size"), first_at=("at", "min"),
                                                  last_at=("at", "max"), active_s=("counted", "sum"))
    out = grouped.reindex(pd.Index(ids, name="assessment_id")).reset_index()
    out["answers"] = out["answers"].fillna(0).astype("int64")
    out["first_at"] = pd.to_datetime(out["first_at"])
    out["last_at"] = pd.to_datetime(out["last_at"])
    out["elapsed_s"] = (out["last_at"] - out["first_at"]).dt.total_seconds().fillna(0.0).astype(float)
    out["active_s"] = out["active_s"].fillna(0.0).astype(float)
    out["assessment_id"] = out["assessment_id"].astype("int64")
    return out[ASSESSMENT_COLUMNS]


def item_times(con: duckdb.DuckDBPyConnection, assessment_id: int, *, principal: Principal,
               pause_minutes: float | None = None) -> pd.DataFrame:
    """Per item answered in the app, in the order first answered: edits (answer events), first_at, last_at and
    active_s (the counted gaps its answers ended; the items' active times add up to the assessment's)."""
    pause_s = pause_seconds(pause_minutes)
    events = _with_gaps(answer_events(con, [int(assessment_id)], principal=principal), pause_s)
    grouped = events.groupby("item_id", sort=False).agg(edits=("at", "size"), first_at=("at", "min"),
                                                        last_at=("at", "max"), active_s=("counted", "sum"))
    out = grouped.reset_index().sort_values(["first_at", "item_id"], kind="stable").reset_index(drop=True)
    out["edits"] = out["edits"].astype("int64")
    out["active_s"] = out["active_s"].astype(float)
    return out[ITEM_COLUMNS]


def format_duration(seconds: float | None) -> str:
    """A duration for people, to the minute: '—' (none), 'under 1 min', '12 min', '1 h 05 min'."""
    if seconds is None or pd.isna(seconds):
        return "—"
    if seconds < 0:
        raise ValueError(f"A duration cannot be negative ({seconds} s).")
    if 0 < seconds < 30:
        return "under 1 min"
    minutes = int(seconds // 60 + (1 if seconds % 60 >= 30 else 0))  # half a minute rounds up
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
