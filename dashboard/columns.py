"""Every column a person sees, named once: its label, format, width and help.

The dashboard's tables (through `ui.table`/`ui.column_config`) and the management exports (roadmap, SoA,
largest gaps, readiness, import history) take their headers and formats from here, so that `due_date` reads
*Due date* everywhere, a share reads *8%*, a date *2025-03-20* and an empty cell is empty. The canonical
responses export is the exception: it keeps the machine names, because it is imported back.

Kinds: `text`, `long` (free text such as *why* or evidence: wide, wrapped in exports), `int`, `score`
(two decimals), `percent` (a share 0–1), `date`, `datetime` (to the minute), `level` (a level's name), `bool` (yes/no), `list`.
A column not named here gets its name in words (`units_below` → *Units below*): no header shows an underscore.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["COLUMNS", "WRAP_ROW_PX", "Column", "display_frame", "export_frame", "fit", "label", "spec"]


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = "text"
    width: str | int = "medium"  # small, medium, large or pixels on screen
    help: str = ""

    @property
    def chars(self) -> int:
        """The width in an Excel sheet, in characters."""
        if self.kind == "long":
            return 60
        return {"small": 10, "medium": 22, "large": 60}.get(self.width, 16) if isinstance(self.width, str) else \
            max(8, self.width // 7)


def _c(label: str, kind: str = "text", width: str | int | None = None, help: str = "") -> Column:
    default = {"long": "large", "int": "small", "score": "small", "percent": "small", "date": "small",
               "datetime": 125, "bool": "small"}.get(kind, "medium")
    return Column(label, kind, width or default, help)


COLUMNS: dict[str, Column] = {
    # who and when
    "unit": _c("Unit", width=140), "units": _c("Units", "long"), "assessment": _c("Round"), "label": _c("Round"),
    "round": _c("Round"), "assessed_on": _c("Assessed on", "date"), "scope": _c("Scope", width=130),
    "status": _c("Status", width=105), "source": _c("Source", width="small"),
    "changed_by": _c("Changed by", width=120), "changed_at": _c("Changed at", "datetime"),
    "created_at": _c("Created", "datetime"), "imported_at": _c("Imported at", "datetime"),
    "imported_by": _c("Imported by", width=110), "filename": _c("File", width=190), "file": _c("File", width=190),
    "sheet": _c("Sheet"), "row": _c("Row", "int"), "column": _c("Column"),
    "level_of_problem": _c("Severity", width="small"), "severity": _c("Severity", width="small"),
    "message": _c("Message", "long"), "field": _c("Field"), "old_value": _c("Before"), "new_value": _c("After"),
    # items
    "section": _c("Section", width="small"), "section_title": _c("Section title"), "objective": _c("Objective"),
    "item_id": _c("Item", width=75), "control": _c("Control", width="small"), "title": _c("Title", width=220),
    "kind": _c("Kind", width="small"), "weight": _c("Weight", "score"),
    # answers
    "maturity": _c("Maturity", "score",
                   help="0 Non-existent … 5 Optimizing (the catalog's level names); a section's figure is the weighted mean."),
    "level": _c("Level", "level", help="The level's name: the score rounded down."),
    "target": _c("Target", "score"), "target_level": _c("Target level", "level"),
    "lowest": _c("Lowest level", "int"), "lowest_level": _c("Lowest level (name)", "level"),
    "gap": _c("Gap", "score", help="Target − maturity, 0 when at or above target."),
    "max_gap": _c("Largest gap", "int"), "below_by": _c("Below target by", "score"),
    "to_maturity": _c("To maturity", "score"), "applicable": _c("Applicable", "bool"),
    "justification": _c("Justification", "long"),
    "inclusion_justification": _c("Reason for inclusion", "long",
                                  help="Why an included control is applied: the risks or obligations it treats."),
    "implemented": _c("Implemented", width="small"), "state": _c("State", width="small"),
    "evidence": _c("Evidence", "long"), "evidence_now": _c("Evidence now", "long"),
    "from_maturity": _c("From maturity", "score"), "notes": _c("Notes", "long"), "owner": _c("Owner", width=130),
    "due_date": _c("Due date", "date", width=105), "completeness": _c("Completeness", "percent",
                                                          help="Assessed applicable items ÷ applicable items."),
    "coverage": _c("Annex A coverage", "percent", help="Applicable controls at or above target ÷ applicable controls."),
    "annex_coverage": _c("Annex A coverage", "percent"), "clause_maturity": _c("Clause maturity", "score"),
    "annex_maturity": _c("Annex A maturity", "score"), "overall_maturity": _c("Overall maturity", "score"),
    "open_gaps": _c("Open gaps", "int"), "applicable_items": _c("Applicable items", "int"),
    "assessed": _c("Assessed", "int"), "n_units": _c("Units", "int"), "units_count": _c("Units", "int"),
    "median": _c("Median", "score"), "mean": _c("Mean", "score"), "change": _c("Change", "score"),
    "delta": _c("Change", "score"), "previous": _c("Previous", "score"),
    # roadmap
    "phase": _c("Phase", width=70), "rank": _c("Rank", "int", width=55),
    "score": _c("Priority score", "score", help="Gap × weight + 0.5 × the open actions waiting for it."),
    "why": _c("Why this priority", "long", help="The gap, the weight and what waits for it. The arithmetic: "
              "score = gap × weight + 0.5 × open actions waiting; Now for a foundation or a score ≥ 3, Next ≥ 2, "
              "else Later; a prerequisite is brought forward to the phase of what relies on it."),
    "score_detail": _c("How the score is computed", "long"),
    "suggested_action": _c("Next step", "long"), "summary": _c("Summary", "long"),
    "units_below": _c("Units below target", "int", width=90), "units_assessed": _c("Of units assessed", "int", width=90),
    "units_at_zero": _c("Units at level 0", "int"), "overdue": _c("Overdue", "bool"),
    "due_outside_phase": _c("Due outside its phase", "bool",
                            help="A due date set before its phase starts or after it ends."),
    "waits_for": _c("Waits for"), "unlocks": _c("Actions waiting for it", "int"),
    "phase_start": _c("Phase starts", "date"), "phase_end": _c("Phase ends", "date"),
    # frameworks
    "requirement": _c("Requirement", width="small"), "requirement_title": _c("Requirement title", "long"),
    "framework": _c("Framework"), "readiness": _c("Readiness", "percent"), "link": _c("Link"),
    # campaigns (dashboard/campaigns.py)
    "assessors": _c("Assessors", width="large"), "answered_pct": _c("Answered", "percent",
                                                                    help="Assessed applicable items ÷ applicable items."),
    "last_activity": _c("Last activity", "datetime"), "due_on": _c("Due", "date"),
    "days_overdue": _c("Days overdue", "int"),
    "returned_comments": _c("Comments to address", "int", help="The comments of the last return, while returned."),
    "active_time": _c("Active time", width="small", help="Time between answers, pauses over AIMS_PAUSE_MINUTES left out."),
    "elapsed_time": _c("First to last answer", width="small"), "mailto": _c("Email link", width="large"),
}


# Coded values a person reads in words (a round's scope is stored as `annex_a`, read as *Annex A*).
VALUE_WORDS: dict[str, dict[str, str]] = {
    "scope": {"clauses": "Clauses 4-10", "clause": "Clauses 4-10", "annex_a": "Annex A", "both": "Clauses and Annex A"},
    "kind": {"clause": "Clause", "annex_a": "Annex A control"},
}


def _words(name: str, values: Iterable[Any]) -> list[str]:
    """A text column's cells as people read them: blanks empty, coded values (`VALUE_WORDS`) in words."""
    words = VALUE_WORDS.get(name, {})
    return [words.get(text, text) for text in (cell_text(v, "text") for v in values)]


def label(name: str) -> str:
    """A column's header for people."""
    found = COLUMNS.get(name)
    if found:
        return found.label
    words = str(name).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def spec(name: str, frame: pd.DataFrame | None = None) -> Column:
    """The column's definition; an unnamed one gets its name in words and a kind from its values."""
    if name in COLUMNS:
        return COLUMNS[name]
    kind = "text"
    if frame is not None and name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series):
            kind = "bool"
        elif pd.api.types.is_integer_dtype(series):
            kind = "int"
        elif pd.api.types.is_float_dtype(series):
            kind = "score"
        elif pd.api.types.is_datetime64_any_dtype(series):
            kind = "datetime"
    return _c(label(name), kind)


def _blank(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _as_date(value: Any) -> dt.date | None:
    if _blank(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def cell_text(value: Any, kind: str) -> str:
    """One value as a person reads it: '' for a blank, 8% for a share, 2.38 for a score, 2025-03-20 for a date."""
    if _blank(value):
        return ""
    if kind == "percent":
        return f"{float(value):.0%}"
    if kind == "score":
        number = float(value)
        return f"{number:g}" if number == int(number) else f"{number:.2f}"
    if kind == "int":
        return str(int(value))
    if kind == "date":
        day = _as_date(value)
        return day.isoformat() if day else str(value)
    if kind == "datetime":  # to the minute; midnight is shown as the date alone, never ' 00:00:00'
        moment = pd.Timestamp(value)
        return moment.strftime("%Y-%m-%d") if moment == moment.normalize() else moment.strftime("%Y-%m-%d %H:%M")
    if kind == "bool":
        return value if isinstance(value, str) else "yes" if bool(value) else "no"
    if isinstance(value, list | tuple | set):
        return ", ".join(map(str, value))
    return str(value)


# On a table of items (one row per item: an `item_id` column), these columns hold one item's level, shown with
# its name ("2 Managed"); a mean over units or sections (2.38) stays a number.
ITEM_LEVEL_COLUMNS = ("maturity", "target", "from_maturity", "lowest")


def _item_levels(series: pd.Series) -> list[str] | None:
    """The cells as "2 Managed" when every value is a whole level 0–5 (blanks stay blank), else None."""
    values = [v for v in series if not _blank(v)]
    try:
        whole = all(float(v) == int(float(v)) and 0 <= float(v) <= 5 for v in values)
    except (TypeError, ValueError):
        return None
    if not values or not whole:
        return None
    from dashboard.catalog import load_catalog  # the level names are the catalog's

    scale = load_catalog().scale
    return ["" if _blank(v) else f"{int(float(v))} {scale.name(int(float(v)))}" for v in series]


def display_frame(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """The frame ready for `st.dataframe`: dates as dates, yes/no for booleans, shares as 0–100, a blank text
    as '', an item's level with its name. Missing numbers and dates stay missing: `ui.table` draws them empty
    (placeholder ''), never None."""
    out = frame.loc[:, list(columns)] if columns is not None else frame.copy()
    items = "item_id" in out.columns
    for name in out.columns:
        kind = spec(name, out).kind
        if items and name in ITEM_LEVEL_COLUMNS:
            named = _item_levels(out[name])
            if named is not None:
                out[name] = named
                continue
        series = out[name]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        if kind == "date":
            out[name] = [_as_date(v) for v in series]  # a blank stays missing: the table draws it empty
        elif kind == "datetime":
            out[name] = [cell_text(v, "datetime") for v in series]
        elif kind == "bool":
            out[name] = [cell_text(v, "bool") for v in series]
        elif kind in ("int", "score", "percent"):
            if not numeric:
                out[name] = [cell_text(v, kind) for v in series]
            elif kind == "percent":  # shown as 8%, from 0.08 (ui.column_config formats it)
                out[name] = series.astype(float) * 100
        else:
            out[name] = _words(name, series)
    return out


def export_frame(frame: pd.DataFrame, columns: Iterable[str] | None = None,
                 extra: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The frame for a management export (CSV or Excel): headers for people, blanks empty, dates as dates,
    shares as percentages (text such as '8%'), yes/no for booleans. Numbers stay numbers."""
    out = frame.loc[:, list(columns)] if columns is not None else frame.copy()
    for name in out.columns:
        kind = spec(name, out).kind
        series = out[name]
        if kind == "date":
            out[name] = [_as_date(v) for v in series]
        elif kind in ("percent", "bool", "datetime"):
            out[name] = [cell_text(v, kind) for v in series]
        elif kind in ("text", "long", "level", "list"):
            out[name] = _words(name, series)
    names = {n: (extra or {}).get(n) or label(n) for n in out.columns}
    return out.rename(columns=names)


# --- fitting a table on screen ------------------------------------------------------------------------------
# Streamlit's grid draws 14 px Source Sans: about 6.2 px a character (measured on its headers and cells at
# 1440 px), 8 px of padding each side, and a (?) icon after a header with help. Named widths are the grid's own.
CHAR_PX, PADDING_PX, HELP_PX = 6.2, 20, 22
NAMED_PX = {"small": 75, "medium": 200, "large": 400}
TABLE_PX = 940  # the main column's width at 1440 px with the sidebar open, less an expander's border
MIN_TEXT_PX = 90  # a text column wrapped narrower than this reads one word a line
WRAP_ROW_PX = 68  # the grid wraps a cell's text only in rows taller than 4rem (64 px): up to three lines
_TEXT_KINDS = ("text", "long", "level", "list")


def text_px(text: str) -> int:
    """About how wide a text draws in the grid, padding included."""
    return round(len(text) * CHAR_PX) + PADDING_PX


def width_px(width: str | int) -> int:
    return NAMED_PX.get(width, NAMED_PX["medium"]) if isinstance(width, str) else int(width)


def fit(frame: pd.DataFrame, labels: Mapping[str, str] | None = None,
        widths: Mapping[str, str | int] | None = None, *, budget: int = TABLE_PX) -> tuple[dict[str, int], bool]:
    """Each column's width in pixels and whether the rows must wrap their text.

    A column is never narrower than its header (no header is cut). When the columns together are wider than
    `budget` (the page's width at 1440 px), text columns give up width, the widest first, down to their header
    or `MIN_TEXT_PX`, so that the last columns are not cut off behind a horizontal scroll. The rows wrap (up to
    three lines, `WRAP_ROW_PX`) when a text cell is wider than its column as drawn (the grid stretches columns
    that together are narrower than the page)."""
    sizes: dict[str, int] = {}
    floors: dict[str, int] = {}
    longest: dict[str, int] = {}
    for name in frame.columns:
        column = spec(name, frame)
        head = text_px((labels or {}).get(name) or column.label) + (HELP_PX if column.help else 0)
        sizes[name] = max(width_px((widths or {}).get(name, column.width)), head)
        if column.kind not in _TEXT_KINDS and pd.api.types.is_string_dtype(frame[name]):  # a level: "2 Managed"
            words = max((len(v) for v in frame[name] if isinstance(v, str)), default=0)
            sizes[name] = max(sizes[name], min(text_px("x" * words), 200))
        if column.kind in _TEXT_KINDS:
            floors[name] = max(head, MIN_TEXT_PX)
            longest[name] = text_px("x" * max((len(str(v)) for v in frame[name] if isinstance(v, str)), default=0))
    excess = sum(sizes.values()) - budget
    while excess > 0:
        name = max(floors, key=lambda n: sizes[n] - floors[n], default=None)
        if name is None or sizes[name] <= floors[name]:
            break  # nothing left to give: the page must show fewer columns
        give = min(excess, sizes[name] - floors[name], 40)
        sizes[name] -= give
        excess -= give
    stretch = max(1.0, budget / max(1, sum(sizes.values())))  # the grid stretches narrower columns to the page
    return sizes, any(longest[n] > sizes[n] * stretch for n in longest)
