"""A campaign's board as CSV and Excel, and its overdue rounds as CSV: headers for people (dashboard/columns.py),
every text cell neutralised against formula injection (etl/exports.py's writers), times as "1 h 05 min".

Nothing here computes a figure: the rows come from `dashboard.campaigns.board` / `overdue` as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from dashboard.campaigns import OVERDUE_COLUMNS, STATES
from dashboard.columns import export_frame
from dashboard.timing import format_duration
from etl.exports import Cover, SheetSpec, to_csv, to_formatted_xlsx

__all__ = ["BOARD_EXPORT_COLUMNS", "board_csv", "board_table", "board_xlsx", "overdue_csv", "overdue_table"]

BOARD_EXPORT_COLUMNS = ["unit", "assessment_id", "assessors", "state", "answered_pct", "last_activity", "due_on",
                        "overdue", "days_overdue", "returned_comments", "active_time", "elapsed_time"]
# light backgrounds per state in the workbook (text stays black)
STATE_FILLS = {"not started": "#F2F2F2", "in progress": "#FFF2CC", "submitted": "#DDEBF7", "returned": "#FCE4D6",
               "finalised": "#E2EFDA"}


def board_table(board: pd.DataFrame) -> pd.DataFrame:
    """The board (`campaigns.board`) with human headers: times as text, shares as percentages, dates as dates."""
    out = board.copy()
    out["active_time"] = [format_duration(v) for v in out["active_s"]]
    out["elapsed_time"] = [format_duration(v) for v in out["elapsed_s"]]
    return export_frame(out, BOARD_EXPORT_COLUMNS, extra={"assessment_id": "Assessment id"})


def board_csv(board: pd.DataFrame) -> bytes:
    return to_csv(board_table(board))


def board_xlsx(board: pd.DataFrame, campaign: Mapping[str, Any], *, created: dt.datetime | None = None) -> bytes:
    """A workbook: a cover (the campaign, its round, due date and the count of rounds in each state), then the
    board with a frozen header, filters and the states in colour. `campaign` is a row of `campaigns.campaigns`."""
    counts = board["state"].value_counts()
    states = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATES)
    due = campaign.get("due_on")
    cover = Cover(
        title=f"Campaign: {campaign.get('name', '')}",
        rows=[("Round", f"{campaign.get('label', '')} ({campaign.get('scope', '')})"),
              ("Due", "" if due is None or pd.isna(due) else f"{pd.Timestamp(due):%Y-%m-%d}"),
              ("Units", len(board)), ("States", states), ("Overdue", int(board["overdue"].sum())),
              ("Exported", f"{created or dt.datetime.now():%Y-%m-%d %H:%M}")],
        notes=["State: not started (no answer), in progress (some answers), submitted (waiting for a lead's review), "
               "returned (sent back with comments), finalised (read-only).",
               "Active time leaves out pauses over AIMS_PAUSE_MINUTES between answers; imported and copied answers "
               "are no time spent."])
    table = board_table(board)
    widths = {"Unit": 28, "Assessors": 40, "State": 14, "Last activity": 18}
    return to_formatted_xlsx([SheetSpec("Board", table, widths=widths, fills={"State": STATE_FILLS})], cover=cover,
                             created=created)


def overdue_table(late: pd.DataFrame) -> pd.DataFrame:
    """The overdue rounds (`campaigns.overdue`) with human headers."""
    return export_frame(late, OVERDUE_COLUMNS)


def overdue_csv(late: pd.DataFrame) -> bytes:
    return to_csv(overdue_table(late))
