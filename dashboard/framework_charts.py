"""Plotly figures of derived framework readiness (`dashboard.readiness`), in the style of `dashboard.charts`:
level colours, grey cells that say why there is no figure, user text escaped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import LEVEL_COLOURS, chart_title, safe

__all__ = ["readiness_heatmap"]

_SHORT = {"not covered by 42001": "not covered", "not applicable": "n/a", "not assessed": "not assessed"}


def readiness_heatmap(table: pd.DataFrame, *, title: str = "Derived readiness by unit and requirement") -> go.Figure:
    """Units × requirements, each cell the unit's derived maturity in its level's colour; a cell without a figure
    is grey and says why (not covered by 42001, not assessed, not applicable). Hover: the state."""
    data = table.copy()
    several = data.groupby("unit")["assessment"].nunique().gt(1).any()
    data["row"] = [f"{u} · {a}" if several else u for u, a in zip(data["unit"], data["assessment"], strict=True)]
    rows = list(dict.fromkeys(data["row"]))
    columns = list(dict.fromkeys(data["requirement"]))
    values = data.pivot_table(index="row", columns="requirement", values="maturity", aggfunc="first", dropna=False)
    values = values.reindex(index=rows, columns=columns)
    states = data.pivot_table(index="row", columns="requirement", values="state", aggfunc="first").reindex(index=rows, columns=columns)
    z = values.to_numpy(dtype=float)
    if "maturity_level" in data.columns:  # a cell's colour is the level of the unrounded figure, as in charts.heatmap
        levels = data.pivot_table(index="row", columns="requirement", values="maturity_level", aggfunc="first",
                                  dropna=False).reindex(index=rows, columns=columns)
        z = np.minimum(z, levels.to_numpy(dtype=float) + 0.999)
    text = [[(_SHORT.get(str(states.iat[i, j]), str(states.iat[i, j])) if pd.isna(v) else f"{v:.1f}")
             for j, v in enumerate(row)] for i, row in enumerate(z)]
    hover = [[str(states.iat[i, j]) for j in range(len(columns))] for i in range(len(rows))]
    steps: list[list[float | str]] = []
    for level, colour in LEVEL_COLOURS.items():
        steps += [[level / 6, colour], [(level + 1) / 6, colour]]
    figure = go.Figure(go.Heatmap(
        z=z, x=safe(columns), y=safe(rows), text=text, texttemplate="%{text}", textfont={"size": 10}, customdata=hover,
        colorscale=steps, zmin=0, zmax=6, xgap=2, ygap=2, hoverongaps=True,
        colorbar={"title": "Level", "tickvals": [v + 0.5 for v in range(6)], "ticktext": [str(v) for v in range(6)]},
        hovertemplate="%{y} · %{x}<br>%{text} · %{customdata}<extra></extra>",
    ))
    figure.update_layout(
        title=chart_title(title), plot_bgcolor="#e9e9e9", height=max(320, 28 * len(rows) + 160),
        yaxis={"autorange": "reversed", "automargin": True}, xaxis={"side": "top", "type": "category", "tickangle": -45},
        margin={"l": 10, "r": 10, "t": 140, "b": 10}, font={"size": 12},
    )
    return figure
