"""Plotly figures built from the scoring engine's frames; no figure computes a score of its own."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.catalog import Scale

__all__ = [
    "DARK_LEVELS",
    "LEVEL_COLOURS",
    "STATE_COLOURS",
    "UNIT_COLOURS",
    "annex_coverage_chart",
    "chart_title",
    "clause_maturity_chart",
    "level_colour",
]

# one colour per maturity level, used by every chart (red -> green, colour-blind safe-ish ordering)
LEVEL_COLOURS = {
    0: "#b2182b",
    1: "#e66101",
    2: "#fdb863",
    3: "#a6d96a",
    4: "#1a9641",
    5: "#00441b",
}
DARK_LEVELS = (0, 4, 5)  # level colours that take white text (tables, the report)
STATE_COLOURS = {
    "implemented": "#1a9641",
    "partial": "#fdb863",
    "missing": "#b2182b",
    "not assessed": "#d9d9d9",
    "not applicable": "#f7f7f7",
}
# up to six units side by side: the Okabe-Ito colours, told apart also by people with colour-vision deficiency
UNIT_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
# lines across rounds: the Okabe-Ito colours plus black and grey, each with its own dash and marker, so that
# up to ten series stay apart in colour, and in shape for readers who do not tell the colours apart
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442",
                  "#999999", "#7F3C8D")
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
_MARKERS = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "triangle-down", "pentagon", "hexagon")
TARGET_LINE = {"color": "#222222", "dash": "dash", "width": 2}
# the top margin holds a title and its second line (see `_title`)
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 80, "b": 10}, "font": {"size": 13}, "plot_bgcolor": "white"}


def safe(values: Iterable[object]) -> list[str]:
    """User text (unit names, group names) as Plotly shows it: Plotly reads labels as a little HTML
    (<b>, <a href>…), so every user string is escaped and shows exactly as typed."""
    return [html.escape(str(v)) for v in values]


def chart_title(text: str) -> dict[str, object]:
    """A chart title, escaped. What follows its first " · " (which units, which round) becomes a smaller
    second line, so that long titles fit half-width charts instead of running off their right edge."""
    main, _, context = text.partition(" · ")
    title: dict[str, object] = {"text": html.escape(main)}
    if context:
        title["subtitle"] = {"text": html.escape(context), "font": {"size": 12, "color": "#666666"}}
    return title


def section_label(section: str, title: str, wrap: int | None = None) -> str:
    """A section as people name it ("6 Planning", "A.6 AI system life cycle"), escaped for Plotly; with `wrap`,
    broken over lines of about that many characters (`<br>`), for axis ticks."""
    words, lines, line = f"{section} {title}".split(), [], ""
    if wrap is None:
        return html.escape(" ".join(words))
    for n, word in enumerate(words):
        if line and n > 1 and len(line) + 1 + len(word) > wrap:  # the number keeps its first word
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(html.escape(x) for x in lines)


def _names(frame: pd.DataFrame, wrap: int | None = None) -> dict[str, str]:
    """Section code -> its label, from a frame with `section` and `section_title`."""
    if "section_title" not in frame.columns:
        return {s: html.escape(str(s)) for s in frame["section"].unique()}
    pairs = frame.drop_duplicates("section")[["section", "section_title"]]
    return {s: section_label(s, t, wrap) for s, t in zip(pairs["section"], pairs["section_title"], strict=True)}


def _score_axis(scale: Scale | None = None, **extra: object) -> dict[str, object]:
    """The maturity axis: always the whole scale 0-5, every level ticked (named when the scale is known)."""
    axis: dict[str, object] = {"range": [0, 5.4], "tickvals": list(range(6)), "gridcolor": "#eeeeee", "zeroline": False}
    if scale is not None:
        axis["ticktext"] = [f"{lv.value} {lv.name}" for lv in scale.levels]
    return {**axis, **extra}


def level_colour(score: float | None, scale: Scale) -> str:
    level = scale.level_of(score)
    return "#eeeeee" if level is None else LEVEL_COLOURS[level]


def _levels(frame: pd.DataFrame, column: str) -> pd.Series:
    """What colours a score: the engine's level of the unrounded score (`<column>_level`) when the frame has it,
    so that a 2.996 shown as 3.00 keeps the colour of level 2; else the column itself."""
    return frame[f"{column}_level"] if f"{column}_level" in frame.columns else frame[column]


def clause_maturity_chart(sections: pd.DataFrame, scale: Scale, *, title: str = "Maturity per clause") -> go.Figure:
    """Bars of section maturity (coloured by level) with the target as a marker, for clauses 4-10.

    Horizontal, so that every clause keeps its full name on one line ("4 Context of the organization") at any
    width: seven names never fit side by side under vertical bars without slanting or overlapping."""
    data = sections[sections["kind"] == "clause"]
    labels = [section_label(s, t) for s, t in zip(data["section"], data["section_title"], strict=True)]
    maturity = data["maturity"].astype("float")
    figure = go.Figure()
    figure.add_bar(
        y=labels,
        x=maturity.fillna(0),
        orientation="h",
        marker_color=[level_colour(None if pd.isna(v) else v, scale) for v in _levels(data, "maturity")],
        marker_line_color="#555555",
        marker_line_width=1,
        text=[("not assessed" if pd.isna(v) else f"{v:.2f}") for v in data["maturity"]],
        textposition="inside",
        insidetextanchor="start",
        textfont={"color": "#111111"},
        name="Maturity",
        hovertemplate="%{y}<br>maturity %{text}<extra></extra>",
    )
    figure.add_scatter(
        y=labels,
        x=data["target"],
        mode="markers",
        marker={"symbol": "line-ns", "size": 26, "line": {"width": 3, "color": "#222222"}},
        name="Target",
        hovertemplate="%{y}<br>target %{x:.2f}<extra></extra>",
    )
    levels = f"maturity level, from 0 {scale.levels[0].name} to 5 {scale.levels[-1].name}"
    figure.update_layout(
        title=chart_title(title),
        xaxis={**_score_axis(None, range=[0, 5.05]), "title": {"text": levels, "font": {"size": 11}}},
        yaxis={"autorange": "reversed", "automargin": True},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        height=380,
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
        title=chart_title(title), barmode="stack", xaxis={"tickformat": ".0%", "range": [0, 1]},
        legend={"orientation": "h", "y": -0.15}, **{**_LAYOUT, "margin": {**_LAYOUT["margin"], "r": 30}},
    )  # the right margin keeps the 100% tick inside the figure
    return figure


def _level_colourscale() -> list[list[float | str]]:
    """A stepped colour scale over 0-5 so that a heatmap cell has its level's colour."""
    steps: list[list[float | str]] = []
    for level, colour in LEVEL_COLOURS.items():
        low, high = level / 6, (level + 1) / 6
        steps += [[low, colour], [high, colour]]
    return steps


def grid(frame: pd.DataFrame, value: str, units: list[Any], columns: list[Any], rows: list[Any], *,
         numeric: bool = True) -> np.ndarray:
    """`value` of each (unit, section) of `frame` as a rows × columns array (`rows`: units, in any order, repeated
    or absent; absent ones are empty): of a pair given twice, its first non-empty value, as pandas' pivot_table
    with "first" gives, in arrays (two pivot tables cost 30 ms of every Presentation rerun at 500 units)."""
    r = pd.Index(units).get_indexer(frame["unit"])
    c = pd.Index(columns).get_indexer(frame["section"])
    values = frame[value].to_numpy(dtype=float, na_value=np.nan) if numeric else frame[value].to_numpy(dtype=object)
    known = np.flatnonzero((r >= 0) & (c >= 0) & ~pd.isna(values))
    _, first = np.unique(r[known] * len(columns) + c[known], return_index=True)  # each pair's first occurrence
    chosen = known[first]
    cells = np.full((len(units) + 1, len(columns)), np.nan, dtype=float if numeric else object)  # + an empty row
    cells[r[chosen], c[chosen]] = values[chosen]
    return cells[pd.Index(units).get_indexer(rows)]  # -1 (a unit not in the frame): the empty last row


def heatmap(sections: pd.DataFrame, *, order: list[str] | None = None, title: str = "Maturity by unit and section",
            items: bool = False, large: bool = False) -> go.Figure:
    """Units × sections, each cell the section score coloured by level; no data is grey and says so.

    `items`: the columns are single items, whose levels are whole numbers and whose empty cells say why
    (their `state`: not assessed, not applicable). `large`: type read from the back of a room (presentation, deck).
    Columns carry the sections' names, wrapped, and the hover names the section in full."""
    units = sorted({u for u in sections["unit"] if not pd.isna(u)})
    columns = list(dict.fromkeys(c for c in sections["section"] if not pd.isna(c)))  # as they first appear
    rows = list(order) if order is not None else units
    z = grid(sections, "maturity", units, columns, rows)
    if not items and "maturity_level" in sections.columns:
        # a cell's colour is its level, of the unrounded score: a 2.996 shown as 3.00 stays below 3 (level 2)
        z = np.minimum(z, grid(sections, "maturity_level", units, columns, rows) + 0.999)
    why = grid(sections, "state", units, columns, rows, numeric=False) if items else None
    blank = "—" if large else "no data"  # large type: a dash fits the cell (the key under the title says what it means)
    text = [[((blank if why is None or pd.isna(why[i, j]) else str(why[i, j])) if pd.isna(v)
              else (f"{v:.0f}" if items else f"{v:.1f}" if large else f"{v:.2f}")) for j, v in enumerate(row)]
            for i, row in enumerate(z)]  # large: one decimal, so that big type fits sixteen columns
    full = _names(sections) if not items else {}
    ticks = [full.get(c, html.escape(str(c))) for c in columns]  # the sections' names, slanted: 16 never fit level
    hover = [[full.get(c, html.escape(str(c))) for c in columns] for _ in range(len(rows))]
    # numpy arrays, not lists of lists: Plotly checks a list cell by cell (0.1 s for 500 units on every rerun)
    text, hover = np.array(text, dtype=str).reshape(z.shape), np.array(hover, dtype=str).reshape(z.shape)
    row_height, cell_font = (44, 18) if large else (28, 11)
    figure = go.Figure(go.Heatmap(
        z=z, x=columns, y=safe(rows), text=text, texttemplate="%{text}", textfont={"size": cell_font},
        customdata=hover, colorscale=_level_colourscale(), zmin=0, zmax=6, xgap=2, ygap=2, hoverongaps=True,
        colorbar={"title": "Level", "tickvals": [v + 0.5 for v in range(6)], "ticktext": [str(v) for v in range(6)]},
        hovertemplate="%{y} · %{customdata}<br>%{text}<extra></extra>",
    ))
    figure.update_layout(
        title=chart_title(title), plot_bgcolor="#e9e9e9",
        height=max(360, row_height * len(rows) + (0 if items else 170) + (220 if large else 180)),
        yaxis={"autorange": "reversed", "automargin": True, "tickfont": {"size": 18 if large else 12}},
        xaxis={"side": "top", "type": "category", "tickangle": -40, "tickvals": columns, "ticktext": ticks,
               "tickfont": {"size": 14 if large else 11}, "automargin": True},
        margin={"l": 10, "r": 10, "t": 80, "b": 10}, font={"size": 16 if large else 12},
    )
    return figure


def ranking_chart(ranked: pd.DataFrame, scale: Scale, *, title: str = "Units by overall maturity") -> go.Figure:
    """Horizontal bars per unit with the organisation's median and interquartile spread.

    Each unit's figure sits in its axis label ("Sales · 2.43"), not beside its bar, so that no label ever lies
    under the median line; the median's value is in the key under the axis."""
    data = ranked.iloc[::-1]
    values = data["overall_maturity"].astype(float)
    names = [f"{html.escape(str(u))} · {'no data' if pd.isna(v) else f'{v:.2f}'}"
             for u, v in zip(data["unit"], data["overall_maturity"], strict=True)]
    figure = go.Figure(go.Bar(
        x=values.fillna(0), y=names, orientation="h",
        marker_color=[level_colour(None if pd.isna(v) else v, scale) for v in _levels(data, "overall_maturity")],
        marker_line_color="#555555", marker_line_width=1, hovertemplate="%{y}<extra></extra>", name="Overall maturity",
    ))
    key = "Overall maturity per unit"
    if values.notna().any():
        q1, median, q3 = values.quantile([0.25, 0.5, 0.75])
        figure.add_vrect(x0=q1, x1=q3, fillcolor="#888888", opacity=0.12, line_width=0)
        figure.add_vline(x=median, line_dash="dash", line_color="#222222")
        key += f"<br>dashed: the median unit ({median:.2f}) · shaded: the middle half"
    if "target" in data.columns and data["target"].notna().any():  # each unit's own target, as on every chart
        figure.add_scatter(x=data["target"], y=names, mode="markers", name="Target",
                           marker={"symbol": "line-ns", "size": 18, "line": {"width": 3, "color": "#222222"}},
                           hovertemplate="%{y}<br>target %{x:.2f}<extra></extra>")
        key += "<br>solid mark: the unit's own target"
    figure.update_layout(title=chart_title(title),
                         xaxis={**_score_axis(None, range=[0, 5.05]), "title": {"text": key, "font": {"size": 12}}},
                         yaxis={"automargin": True}, showlegend=False,
                         height=max(320, 26 * len(data) + 160), **_LAYOUT)
    return figure


def radar(sections: pd.DataFrame, units: list[str], *, title: str = "Units against the target") -> go.Figure:
    """Section scores of up to six units as outlined polygons (no fills, which blur into one), with the target."""
    figure = go.Figure()
    order = list(sections.drop_duplicates("section")["section"])
    if not order:  # e.g. a round in which the chosen units have no score: say so instead of failing
        figure.update_layout(title=chart_title(title), annotations=[{
            "text": "No section scores for these units in this round", "showarrow": False, "x": 0.5, "y": 0.5,
            "xref": "paper", "yref": "paper"}], xaxis={"visible": False}, yaxis={"visible": False})
        return figure
    names = _names(sections)
    spoke = _names(sections, wrap=16)
    full = [names[s] for s in order]
    target = sections.groupby("section")["target"].mean().reindex(order)
    figure.add_scatterpolar(r=[*target, target.iloc[0]], theta=[*order, order[0]], name="Target", line=TARGET_LINE,
                            customdata=[*full, full[0]], hovertemplate="%{customdata}<br>target %{r:.2f}<extra></extra>")
    for n, unit in enumerate(units[:6]):
        colour = UNIT_COLOURS[n]
        rows = sections[sections["unit"] == unit].set_index("section")["maturity"].reindex(order)
        figure.add_scatterpolar(r=[*rows, rows.iloc[0]], theta=[*order, order[0]], name=html.escape(unit),
                                mode="lines+markers", line={"color": colour, "width": 2.5},
                                marker={"symbol": _MARKERS[n], "size": 7, "color": colour},
                                customdata=[*full, full[0]],
                                hovertemplate=html.escape(unit) + "<br>%{customdata}: %{r:.2f}<extra></extra>")
    figure.update_layout(title=chart_title(title),
                         # the scale's numbers run between the first two sections, not over a section's name
                         polar={"radialaxis": {"range": [0, 5], "tickvals": [1, 2, 3, 4, 5], "angle": 90 - 180 / len(order),
                                               "tickangle": 90 - 180 / len(order), "tickfont": {"size": 10}},
                                # each spoke named ("6 Planning"), wrapped so that neighbours do not collide
                                "angularaxis": {"type": "category", "direction": "clockwise", "tickvals": order,
                                                "ticktext": [spoke[s] for s in order], "tickfont": {"size": 11}}},
                         legend={"orientation": "h"},
                         margin={"l": 80, "r": 80, "t": 100, "b": 40})
    return figure


def distribution(sections: pd.DataFrame, *, title: str = "Spread of unit scores per section") -> go.Figure:
    """Box and points per section, so that outlying units stand out; the target as a mark per section. Sections
    run down the side, named in full on one line each ("9 Performance evaluation"): sixteen names side by side
    on a horizontal axis ran into each other at 1440 px."""
    order = list(sections.drop_duplicates("section")["section"])
    names = _names(sections)
    figure = go.Figure(go.Box(
        y=sections["section"], x=sections["maturity"], orientation="h", boxpoints="all", jitter=0.4, pointpos=0,
        text=safe(sections["unit"]), customdata=[names[s] for s in sections["section"]],
        marker={"color": "#1a6a3a", "size": 6}, line={"color": "#555555"},
        hovertemplate="%{text}<br>%{customdata}: %{x:.2f}<extra></extra>", name="Units",
    ))
    if "target" in sections.columns:
        target = sections.groupby("section")["target"].mean().reindex(order)
        figure.add_scatter(y=order, x=target, mode="markers", name="Target",
                           marker={"symbol": "line-ns", "size": 22, "line": {"width": 3, "color": "#222222"}},
                           customdata=[names[s] for s in order], hovertemplate="%{customdata}<br>target %{x:.2f}<extra></extra>")
    figure.update_layout(title=chart_title(title),
                         yaxis={"categoryorder": "array", "categoryarray": order[::-1], "type": "category",
                                "tickvals": order, "ticktext": [names[s] for s in order], "automargin": True},
                         xaxis=_score_axis(None, range=[-0.2, 5.4], title="maturity"),
                         legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
                         height=max(320, 30 * len(order) + 150), **_LAYOUT)
    return figure


def trend_chart(trend: pd.DataFrame, *, value: str = "maturity", by: str = "section",
                title: str = "Maturity across rounds", target: pd.Series | None = None) -> go.Figure:
    """One line per section (or per measure) across rounds, in date order, each with its own colour, dash and
    marker; sections are named ("6 Planning") in the legend and the hover. `target` (per round, or the frame's
    `target` column averaged) is drawn as a dashed black line."""
    figure = go.Figure()
    names = _names(trend) if by == "section" else {}
    rounds = list(dict.fromkeys(trend["round"]))
    for n, (name, rows) in enumerate(trend.groupby(by, sort=False)):
        label = names.get(name, html.escape(str(name)))
        figure.add_scatter(x=safe(rows["round"]), y=rows[value], mode="lines+markers", name=label,
                           line={"color": SERIES_COLOURS[n % len(SERIES_COLOURS)], "width": 2.5,
                                 "dash": _DASHES[n % len(_DASHES)]},
                           marker={"symbol": _MARKERS[n % len(_MARKERS)], "size": 8},
                           hovertemplate=label + "<br>round %{x}: %{y:.2f}<extra></extra>")
    if target is None and "target" in trend.columns:
        target = trend.groupby("round", sort=False)["target"].mean().reindex(rounds)
    if target is not None and target.notna().any():
        figure.add_scatter(x=safe(target.index), y=target.to_numpy(), mode="lines", name="Target", line=TARGET_LINE,
                           hovertemplate="round %{x}: target %{y:.2f}<extra></extra>")
    figure.update_layout(title=chart_title(title), yaxis=_score_axis(None, title="maturity"),
                         xaxis={"type": "category", "title": "round"}, height=520,
                         legend={"font": {"size": 11}, "orientation": "h", "y": -0.22, "yanchor": "top"}, **_LAYOUT)
    return figure
