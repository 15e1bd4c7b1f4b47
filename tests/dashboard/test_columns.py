"""The one registry of columns people see: labels without underscores, blanks blank, dates and shares readable."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dashboard import columns, roadmap
from etl import roadmap_exports


def test_every_label_is_words_not_a_machine_name() -> None:
    names = [*columns.COLUMNS, *roadmap.ACTION_COLUMNS, *roadmap.ORGANISATION_COLUMNS, "units_below", "some_new_field"]
    for name in names:
        assert "_" not in columns.label(name), name
    assert (columns.label("item_id"), columns.label("due_date"), columns.label("below_by")) == (
        "Item", "Due date", "Below target by")
    assert columns.label("some_new_field") == "Some new field"


def test_export_frame_shows_dates_shares_and_blanks_as_people_read_them() -> None:
    frame = pd.DataFrame({
        "item_id": ["4.3", "A.2.2"], "due_date": [pd.Timestamp("2025-03-20"), pd.NaT],
        "completeness": [1.0, 0.08], "evidence": [None, "Policy v2"], "maturity": [2.0, np.nan],
        "overdue": [True, False],
    })
    out = columns.export_frame(frame)
    assert list(out.columns) == ["Item", "Due date", "Completeness", "Evidence", "Maturity", "Overdue"]
    assert out["Due date"].tolist() == [dt.date(2025, 3, 20), None]
    assert out["Completeness"].tolist() == ["100%", "8%"]
    assert out["Evidence"].tolist() == ["", "Policy v2"]
    assert out["Overdue"].tolist() == ["yes", "no"]
    assert out["Maturity"].iloc[0] == 2.0 and pd.isna(out["Maturity"].iloc[1])  # a number stays a number
    csv = roadmap_exports.to_csv(out).decode("utf-8-sig")
    assert "None" not in csv and "nan" not in csv and "NaT" not in csv and " 00:00:00" not in csv
    assert "2025-03-20" in csv and "8%" in csv


def test_display_frame_keeps_machine_names_and_turns_values_readable() -> None:
    frame = pd.DataFrame({"coverage": [0.08, 1.0], "owner": [None, "Ops"], "assessed_on": ["2025-03-20", None],
                          "applicable": [True, False]})
    out = columns.display_frame(frame)
    assert list(out.columns) == list(frame.columns)  # labels come with the column configuration
    assert out["coverage"].tolist() == [8.0, 100.0]
    assert out["owner"].tolist() == ["", "Ops"]
    assert out["assessed_on"].tolist() == [dt.date(2025, 3, 20), None]
    assert out["applicable"].tolist() == ["yes", "no"]


def test_cell_text() -> None:
    assert columns.cell_text(None, "text") == "" and columns.cell_text(float("nan"), "score") == ""
    assert columns.cell_text(2.3849, "score") == "2.38" and columns.cell_text(3.0, "score") == "3"
    assert columns.cell_text(pd.Timestamp("2026-01-02 00:00:00"), "date") == "2026-01-02"
    assert columns.cell_text(0.5, "percent") == "50%"
    assert columns.cell_text(pd.Timestamp("2026-11-30 13:01:45"), "datetime") == "2026-11-30 13:01"
    assert columns.cell_text(pd.Timestamp("2026-11-30"), "datetime") == "2026-11-30"
