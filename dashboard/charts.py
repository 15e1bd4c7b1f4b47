"""Plotly figures built from the scoring engine's frames; no figure computes a score of its own."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.catalog import Scale

__all__ = ["LEVEL_COLOURS", "STATE_COLOURS", "annex_coverage_chart", "clause_maturity_chart", "level_colour"]

# one colour per maturity level, used by every chart (red -> green, colour-blind safe-ish ordering)
LEVEL_COLOURS = {
    0: "#b2182b",
    1: "#e66101",
    2: "#fdb863",
    3: "#a6d96a",
    4: "#1a9641",
    5: "#00441b",
}
STATE_COLOURS = {
    "implemented": "#1a9641",
    "partial": "#fdb863",
    "missing": "#b2182b",
    "not assessed": "#d9d9d9",
    "not applicable": "#f7f7f7",
}
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "font": {"size": 13}, "plot_bgcolor": "white"}


def _wrap(text: str, width: int = 14) -> str:
    """Break a long axis label into lines (Plotly wraps nothing by itself)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + len(word) < width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def level_colour(score: float | None, scale: Scale) -> str:
    level = scale.level_of(score)
    return "#eeeeee" if level is None else LEVEL_COLOURS[level]


def clause_maturity_chart(sections: pd.DataFrame, scale: Scale, *, title: str = "Maturity per clause") -> go.Figure:
    """Bars of section maturity (coloured by level) with the target as a marker, for clauses 4-10."""
    data = sections[sections["kind"] == "clause"]
    labels = [f"{s} {_wrap(t)}" for s, t in zip(data["section"], data["section_title"], strict=True)]
    maturity = data["maturity"].astype("float")
    figure = go.Figure()
    figure.add_bar(
        x=labels,
        y=maturity.fillna(0),
        marker_color=[level_colour(v, scale) for v in data["maturity"]],
        marker_line_color="#555555",
        marker_line_width=1,
        text=[("not assessed" if pd.isna(v) else f"{v:.2f}") for v in data["maturity"]],
        textposition="outside",
        name="Maturity",
        hovertemplate="%{x}<br>maturity %{text}<extra></extra>",
        cliponaxis=False,
    )
    figure.add_scatter(
        x=labels,
        y=data["target"],
        mode="markers",
        marker={"symbol": "line-ew", "size": 40, "line": {"width": 3, "color": "#222222"}},
        name="Target",
        hovertemplate="%{x}<br>target %{y:.2f}<extra></extra>",
    )
    figure.update_layout(
        title=title,
        yaxis={"range": [0, 5.6], "tickvals": list(range(6)),
               "ticktext": [f"{lv.value} {lv.name}" for lv in scale.levels], "gridcolor": "#eeeeee"},
        xaxis={"tickangle": 0},
        legend={"orientation": "h", "y": -0.3},
        **_LAYOUT,
    )
    return figure


def annex_coverage_chart(sections: pd.DataFrame, *, title: str = "Annex A coverage per objective") -> go.Figure:
    """Stacked shares of controls implemented / partial / missing / not assessed / not applicable.

    Each label ends with the objective's coverage (implemented / applicable controls) from scoring.
    """
    data = sections[sections["kind"] == "annex_a"].iloc[::-1]
    labels = [
        f"{s} {t} · {'n/a' if pd.isna(c) else format(c, '.0%')}"
        for s, t, c in zip(data["section"], data["section_title"], data["coverage"], strict=True)
    ]
    totals = data[["implemented", "partial", "missing", "not_assessed", "not_applicable"]].sum(axis=1).replace(0, 1)
    figure = go.Figure()
    for state, column in (("implemented", "implemented"), ("partial", "partial"), ("missing", "missing"),
                          ("not assessed", "not_assessed"), ("not applicable", "not_applicable")):
        share = data[column] / totals
        figure.add_bar(
            y=labels, x=share, orientation="h", name=state,
            marker_color=STATE_COLOURS[state], marker_line_color="#888888", marker_line_width=0.5,
            customdata=data[column], hovertemplate="%{y}<br>" + state + ": %{customdata} controls (%{x:.0%})<extra></extra>",
        )
    figure.update_layout(
        title=title, barmode="stack", xaxis={"tickformat": ".0%", "range": [0, 1]},
        legend={"orientation": "h", "y": -0.15}, **_LAYOUT,
    )
    return figure
