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


def test_fit_never_cuts_a_header_and_wraps_text_wider_than_its_column() -> None:
    frame = columns.display_frame(pd.DataFrame({
        "completeness": [1.0], "clause_maturity": [2.5], "annex_coverage": [0.08],  # "small" columns, long headers
        "title": ["Processes for responsible AI system design and development"], "unit": ["Group IT"],
    }))
    sizes, wrap = columns.fit(frame)
    for name in frame.columns:
        spec = columns.spec(name, frame)
        assert sizes[name] >= columns.text_px(spec.label) + (columns.HELP_PX if spec.help else 0), name
    assert sizes["completeness"] > columns.NAMED_PX["small"]  # "Completeness" does not fit 75 px: widened
    assert wrap  # the title is wider than its 220 px: the rows wrap it instead of cutting it
    assert not columns.fit(frame[["unit", "completeness"]])[1]  # short text fits: rows stay one line


def test_fit_narrows_text_columns_until_the_table_fits_the_page() -> None:
    long = "An evidence text that runs on well past any column width " * 3
    frame = columns.display_frame(pd.DataFrame({"unit": ["Group IT"], "item_id": ["A.6.2.7"], "title": ["AI policy"],
                                                "evidence": [long], "notes": [long], "why": [long], "gap": [1.0]}))
    assert sum(columns.width_px(columns.spec(n, frame).width) for n in frame.columns) > columns.TABLE_PX
    sizes, wrap = columns.fit(frame)
    assert sum(sizes.values()) <= columns.TABLE_PX and wrap
    assert all(sizes[n] >= columns.MIN_TEXT_PX for n in ("evidence", "notes", "why"))
    # numbers never shrink below their header; a table of too many columns stays too wide (the page must choose)
    many = columns.display_frame(pd.DataFrame({f"count_{n}": [n] for n in range(20)}))
    sizes, _ = columns.fit(many)
    assert sum(sizes.values()) > columns.TABLE_PX and all(s >= columns.text_px("Count 10") for s in sizes.values())


def test_coded_values_read_in_words_on_screen_and_in_exports() -> None:
    frame = pd.DataFrame({"scope": ["annex_a", "clauses", "both", None], "kind": ["clause", "annex_a", "clause", None]})
    shown, exported = columns.display_frame(frame), columns.export_frame(frame)
    assert shown["scope"].tolist() == ["Annex A", "Clauses 4-10", "Clauses and Annex A", ""]
    assert exported["Scope"].tolist() == shown["scope"].tolist()
    assert exported["Kind"].tolist() == ["Clause", "Annex A control", "Clause", ""]


def test_an_items_level_is_shown_with_its_name_on_screen_and_a_mean_stays_a_number() -> None:
    items = pd.DataFrame({"item_id": ["4.1", "A.2.2", "5.1"], "maturity": [2.0, np.nan, 4.0],
                          "target": [3, 3, 5], "gap": [1.0, np.nan, 1.0]})
    shown = columns.display_frame(items)
    assert list(shown["maturity"]) == ["2 Managed", "", "4 Quantitatively managed"]
    assert list(shown["target"]) == ["3 Defined", "3 Defined", "5 Optimizing"]
    assert shown["gap"].tolist()[0] == 1.0  # a gap is a distance, not a level
    sizes, _ = columns.fit(shown)
    assert sizes["maturity"] >= columns.text_px("4 Quantitatively managed")  # the longest name is not cut

    means = pd.DataFrame({"item_id": ["4.1", "5.1"], "maturity": [2.38, 3.0]})  # a mean over units
    assert columns.display_frame(means)["maturity"].tolist() == [2.38, 3.0]
    sections = pd.DataFrame({"section": ["4", "5"], "maturity": [2.0, 3.0]})  # not a table of items
    assert columns.display_frame(sections)["maturity"].tolist() == [2.0, 3.0]
    assert columns.export_frame(items)["Maturity"].tolist()[0] == 2.0  # exports keep numbers
