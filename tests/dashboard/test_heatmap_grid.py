"""The heatmap's cells in arrays (charts.grid) are what pandas' pivot_table with "first" gives: repeated pairs,
empty values, units shown in another order, repeated or absent, numbers and texts alike."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from dashboard import charts


def _pivot(frame: pd.DataFrame, value: str, rows: list[str], columns: list[str]) -> np.ndarray:
    """The way the heatmap read its cells before: pivot_table, then the columns and rows it shows."""
    table = frame.pivot_table(index="unit", columns="section", values=value, aggfunc="first", dropna=False)
    return table.reindex(index=rows, columns=columns).to_numpy()


def _frame(rng: random.Random) -> pd.DataFrame:
    units = [f"Unit {n}" for n in range(rng.randint(1, 12))]
    sections = [str(n) for n in range(4, 11)] + [f"A.{n}" for n in range(2, 11)]
    rows = []
    for _ in range(rng.randint(1, 120)):  # pairs repeat (two rounds of one unit), values may be empty
        rows.append({"unit": rng.choice(units), "section": rng.choice(sections),
                     "maturity": rng.choice([None, round(rng.uniform(0, 5), 3)]),
                     "state": rng.choice([None, "not assessed", "not applicable", "implemented"])})
    return pd.DataFrame(rows).astype({"maturity": float})


def test_grid_equals_pivot_table_first() -> None:
    rng = random.Random(7)
    for _ in range(200):
        frame = _frame(rng)
        units = sorted(set(frame["unit"]))
        columns = list(dict.fromkeys(frame["section"]))
        shown = [rng.choice([*units, "Absent unit"]) for _ in range(rng.randint(0, 14))] if rng.random() < 0.5 else units
        got = charts.grid(frame, "maturity", units, columns, shown)
        np.testing.assert_array_equal(got, _pivot(frame, "maturity", shown, columns).astype(float))
        texts = charts.grid(frame, "state", units, columns, shown, numeric=False)
        want = _pivot(frame.dropna(subset=["state"]), "state", shown, columns) if frame["state"].notna().any() \
            else np.full((len(shown), len(columns)), np.nan, dtype=object)
        assert [[None if pd.isna(v) else v for v in row] for row in texts] == \
            [[None if pd.isna(v) else v for v in row] for row in want]
