"""Plotly figures of a campaign (`dashboard.campaigns`), in the style of `dashboard.charts`: the campaign's progress
over time. No figure counts anything itself: the rows come from `campaigns.progress_over_time`."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import _LAYOUT, chart_title

__all__ = ["STATE_ORDER", "progress_chart"]

STATE_ORDER = ("not started", "in progress", "submitted", "returned", "finalised")
# the states, from still to do to done: Okabe-Ito colours (apart for colour-vision deficiency), with a pattern each
_COLOURS = {"not started": "#BBBBBB", "in progress": "#E69F00", "submitted": "#56B4E9", "returned": "#D55E00",
            "finalised": "#009E73"}
_PATTERNS = {"not started": "", "in progress": "/", "submitted": ".", "returned": "x", "finalised": ""}


def _empty(figure: go.Figure, title: str) -> go.Figure:
    figure.update_layout(title=chart_title(title), xaxis={"visible": False}, yaxis={"visible": False}, annotations=[{
        "text": "No activity recorded yet", "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper"}],
        height=320, **_LAYOUT)
    return figure


def _days(values: pd.Series) -> list[str]:
    return [d.isoformat() for d in pd.to_datetime(values).dt.date]


def progress_chart(progress: pd.DataFrame, *, title: str = "Progress over time") -> go.Figure:
    """Units per state per day as stacked bars (one colour and pattern per state, from not started to finalised),
    when the rows are (day, state, units); else the share answered per day as a line (`answered_pct`)."""
    figure = go.Figure()
    if progress.empty:
        return _empty(figure, title)
    if "state" in progress.columns:
        data = progress.assign(day=_days(progress["day"]))
        days = sorted(data["day"].unique())  # one bar a day, each day named (a date axis made one day a wall)
        counts = data.pivot_table(index="day", columns="state", values="units", aggfunc="sum").reindex(days).fillna(0)
        for state in [s for s in STATE_ORDER if s in counts.columns] + [s for s in counts.columns if s not in STATE_ORDER]:
            figure.add_bar(x=days, y=counts[state].astype(int), name=str(state),
                           marker={"color": _COLOURS.get(state, "#777777"), "line": {"color": "#444444", "width": 0.5},
                                   "pattern": {"shape": _PATTERNS.get(state, "")}},
                           hovertemplate=f"{state}<br>%{{x}}: %{{y}} unit(s)<extra></extra>")
        most = int(counts.sum(axis=1).max()) if len(counts) else 0
        figure.update_layout(barmode="stack", bargap=0.3,
                             yaxis={"title": "units", "rangemode": "tozero", "gridcolor": "#eeeeee", "tickformat": "d",
                                    **({"dtick": 1} if most <= 10 else {})})
    else:
        share = pd.to_numeric(progress["answered_pct"], errors="coerce")
        share = share * 100 if share.max() <= 1 else share
        figure.add_scatter(x=_days(progress["day"]), y=share, mode="lines+markers", name="answered",
                           line={"color": "#0072B2", "width": 2.5}, hovertemplate="%{x}: %{y:.0f}% answered<extra></extra>")
        figure.update_layout(yaxis={"title": "answered (%)", "range": [0, 105], "gridcolor": "#eeeeee"})
    figure.update_layout(title=chart_title(title), xaxis={"title": "day", "type": "category"},
                         legend={"orientation": "h", "y": -0.25, "yanchor": "top", "traceorder": "normal"},
                         height=420, **_LAYOUT)
    return figure
