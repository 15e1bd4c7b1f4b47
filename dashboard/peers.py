"""The organisation as a yardstick without naming anyone: per section, the median and middle half of the units'
scores. What a unit assessor's Benchmarking shows beside its own unit (dashboard/access.py: an assessor sees no
other unit's name, answers or evidence — these figures are aggregates over every unit, and nothing else)."""

from __future__ import annotations

import duckdb
import pandas as pd

from dashboard import scoring
from dashboard.access import VIEWER, Principal, require

__all__ = ["MIN_UNITS", "against_band", "organisation_band"]

MIN_UNITS = 3  # fewer units than this and a median would be (close to) one unit's own score: not shown

# the whole organisation, read only to compute aggregates here; never handed out
_ORGANISATION = Principal(email="", name="organisation aggregate", role=VIEWER)


def organisation_band(con: duckdb.DuckDBPyConnection, *, principal: Principal,
                      round_label: str | None = scoring.LATEST) -> pd.DataFrame:
    """Per section (section, section_title, kind): the median, 25th and 75th percentile of the units' section
    scores over every unit, and how many units that covers. Sections scored by fewer than MIN_UNITS units are
    left out, so that no figure is one other unit's score."""
    require(principal, "can_read")
    picks = scoring.select_assessments(con, principal=_ORGANISATION, round_label=round_label)
    columns = ["section", "section_title", "kind", "median", "q1", "q3", "units"]
    if not picks:
        return pd.DataFrame(columns=columns)
    scores = scoring.section_scores(con, picks).dropna(subset=["maturity"])
    band = (scores.groupby(["section", "section_title", "kind"], sort=False)["maturity"]
            .agg(median="median", q1=lambda s: s.quantile(0.25), q3=lambda s: s.quantile(0.75), units="count")
            .reset_index())
    return band[band["units"] >= MIN_UNITS][columns].reset_index(drop=True)


def against_band(sections: pd.DataFrame, band: pd.DataFrame) -> pd.DataFrame:
    """A unit's section scores (`scoring.section_scores` rows) beside the organisation's median and middle half,
    with where it stands: 'above the middle half', 'within', 'below'."""
    merged = sections[["unit", "section", "section_title", "maturity"]].merge(
        band[["section", "median", "q1", "q3", "units"]], on="section", how="inner")
    merged["standing"] = [
        "not assessed" if pd.isna(m) else "above the middle half" if m > hi else "below the middle half" if m < lo
        else "within the middle half" for m, lo, hi in zip(merged["maturity"], merged["q1"], merged["q3"], strict=True)]
    return merged
