"""What the Campaigns page and the questionnaire show of a campaign, without Streamlit: the board as people read
it, its filters, and the two texts a person types on the page (assessors per unit, a lead's comments per item)
read into what `dashboard.campaigns` takes.

The rows come from `dashboard.campaigns` (which already keeps to the units the person may see); nothing here
filters by who is asking, and nothing here computes a figure: state, share answered and times are the core's.

Typed text, one entry a line (blank lines and lines starting with `#` are passed over):

* assessors: ``Retail Banking = ana@example.org, ben@example.org`` (the last ``=`` separates the unit);
* comments on a returned round: ``4.2 = Name the interested parties and what they require``; a line without an
  item id (``= …`` or text alone) is a comment on the whole round.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from urllib.parse import urlencode

import pandas as pd

__all__ = [
    "BOARD_LABELS",
    "BOARD_WIDTHS",
    "board_view",
    "filter_board",
    "parse_assessors",
    "parse_item_comments",
    "state_text",
]

_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")

# the board's columns for people, in the order shown; the same headers as its CSV and XLSX (etl/campaign_exports.py)
BOARD_LABELS: dict[str, str] = {
    "unit": "Unit",
    "assessors": "Assessors",
    "state": "State",
    "last_activity": "Last activity",
    "due_on": "Due on",
    "overdue": "Overdue",
    "days_overdue": "Days overdue",
    "active": "Active time",
    "elapsed": "Elapsed time",
    "returned_comments": "Returned comments",
    "link": "Questionnaire",
}
# on screen, in pixels: the state with its share and the dates read whole, the counts stay narrow
BOARD_WIDTHS: dict[str, int] = {"unit": 170, "assessors": 220, "state": 145, "last_activity": 135, "due_on": 95,
                                "overdue": 75, "days_overdue": 95, "active": 100, "elapsed": 130,
                                "returned_comments": 110, "link": 100}


def _lines(text: str | None) -> Iterable[tuple[int, str]]:
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = " ".join(line.split())
        if line and not line.startswith("#"):
            yield number, line


def parse_assessors(text: str | None) -> dict[str, list[str]]:
    """'Unit = email, email' per line -> {unit: [emails]}; ValueError naming the line for anything else."""
    found: dict[str, list[str]] = {}
    for number, line in _lines(text):
        unit, equals, emails = line.rpartition("=")
        unit = unit.strip()
        if not equals or not unit:
            raise ValueError(f"Assessors, line {number}: write 'Unit = email, email' (found {line!r}).")
        addresses = [e.strip().lower() for e in re.split(r"[,;\s]+", emails) if e.strip()]
        if not addresses:
            raise ValueError(f"Assessors, line {number}: no email after '=' for {unit!r}.")
        wrong = [e for e in addresses if not _EMAIL.match(e)]
        if wrong:
            raise ValueError(f"Assessors, line {number}: {wrong[0]!r} is not an email address.")
        known = found.setdefault(unit, [])
        known.extend(e for e in addresses if e not in known)
    return found


def parse_item_comments(text: str | None, item_ids: Collection[str], round_comment: str | None = None
                        ) -> dict[str | None, str]:
    """A lead's comments: 'ITEM = comment' per line (item ids of the round), plus a comment on the round (key None)
    from `round_comment` and from lines without an item id. ValueError naming the line for an unknown item."""
    found: dict[str | None, str] = {}
    general = [" ".join(round_comment.split())] if round_comment and round_comment.strip() else []
    for number, line in _lines(text):
        item, equals, comment = line.partition("=")
        item, comment = item.strip(), comment.strip()
        if not equals:
            general.append(line)
            continue
        if not comment:
            raise ValueError(f"Comments, line {number}: nothing after '=' for {item or 'the round'}.")
        if not item:
            general.append(comment)
        elif item not in item_ids:
            raise ValueError(f"Comments, line {number}: {item!r} is not an item of this round "
                             "(write its id as the questionnaire shows it, e.g. 4.2 or A.6.2.3).")
        else:
            found[item] = f"{found[item]} {comment}" if item in found else comment
    if general:
        found[None] = " ".join(general)
    return found


def state_text(state: str, answered_pct: float | None) -> str:
    """'in progress (40%)' for a round in progress (the share the core counted), the state alone otherwise."""
    if state == "in progress" and answered_pct is not None and not pd.isna(answered_pct):
        share = float(answered_pct)
        share = share * 100 if share <= 1 else share  # the core gives 0-1 or 0-100: shown as a percentage either way
        return f"in progress ({share:.0f}%)"
    return state


def filter_board(board: pd.DataFrame, states: Collection[str] = (), overdue_only: bool = False) -> pd.DataFrame:
    """The board's rows in one of `states` (all when empty), only the overdue ones with `overdue_only`."""
    keep = pd.Series(True, index=board.index)
    if states:
        keep &= board["state"].isin(list(states))
    if overdue_only:
        keep &= board["overdue"].fillna(False).astype(bool)
    return board[keep].reset_index(drop=True)


def _joined(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return ", ".join(str(v) for v in value)
    return ""


def board_view(board: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The board as people read it, in BOARD_LABELS' order: assessors joined, 'in progress (40%)', durations as
    '1 h 05 min', and a link to each round in the questionnaire. Keys stay machine names (ui.table labels them)."""
    out = pd.DataFrame({
        "unit": board["unit"].astype(str),
        "assessors": [_joined(v) for v in board["assessors"]],
        "state": [state_text(s, p) for s, p in zip(board["state"], board.get("answered_pct", [None] * len(board)),
                                                   strict=True)],
        "last_activity": board["last_activity"],
        "due_on": board["due_on"],
        "overdue": board["overdue"].fillna(False).astype(bool),
        "days_overdue": pd.to_numeric(board["days_overdue"], errors="coerce").fillna(0).astype(int),
    })
    for name, column in (("active", "active_s"), ("elapsed", "elapsed_s")):
        if column in board.columns:  # the core's times (dashboard.timing), when the board carries them
            from dashboard.timing import format_duration

            out[name] = [format_duration(None if pd.isna(v) else float(v)) for v in board[column]]
    out["returned_comments"] = pd.to_numeric(board.get("returned_comments", 0), errors="coerce").fillna(0).astype(int)
    out["link"] = ["assess?" + urlencode({"assessment": int(a)}) for a in board["assessment_id"]]
    return out[[c for c in (labels or BOARD_LABELS) if c in out.columns]]
