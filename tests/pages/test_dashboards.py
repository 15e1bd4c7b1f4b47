"""Benchmarking, drill-down, trends and presentation: the figures agree with the scoring engine and the export."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import analytics, scoring, store
from dashboard.db import connect
from etl.cli import main as cli
from tests.pages.apps import chart as _figure
from tests.pages.apps import open_page as _page
from tests.principals import ADMIN


def _array(data: object) -> np.ndarray:
    if isinstance(data, dict) and "bdata" in data:
        raw = np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
        shape = data.get("shape")
        return raw.reshape([int(n) for n in str(shape).split(",")]) if shape else raw
    return np.array(data, dtype=float)


def _exported_scores(db: Path, tmp_path: Path) -> dict[tuple[str, str, str], float | None]:
    out = tmp_path / "scores.csv"
    assert cli(["--db", str(db), "export", "scores", "--format", "csv", "--out", str(out)]) == 0
    rows = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))
    return {(r["unit"], r["assessment"], r["section"]): (float(r["maturity"]) if r["maturity"] else None) for r in rows}


def test_heatmap_overview_and_export_agree(demo_db: Path, tmp_path: Path) -> None:
    exported = _exported_scores(demo_db, tmp_path)
    bench = _page("pages/benchmark.py")
    bench.sidebar.selectbox(key="bench_round").select("2025-Q4")
    bench.run()
    heat = _figure(bench, "Maturity by unit and section")["data"][0]
    z = _array(heat["z"])
    units, sections = [html.unescape(u) for u in heat["y"]], heat["x"]  # labels are HTML-escaped for Plotly
    assert len(units) == 10 and sections[:3] == ["4", "5", "6"]
    for row, unit in enumerate(units):
        for col, section in enumerate(sections):
            expected = exported.get((unit, "2025-Q4", section))
            if expected is None:
                assert np.isnan(z[row][col]), (unit, section)  # no data is not zero
            else:
                assert z[row][col] == pytest.approx(expected), (unit, section)
    overview = _page("pages/overview.py")
    overview.sidebar.multiselect(key="overview_units").select("Group IT")
    overview.sidebar.selectbox(key="overview_round").select("2025-Q4")
    overview.run()
    bars = _array(_figure(overview, "Maturity per clause")["data"][0]["x"])  # horizontal bars
    row = units.index("Group IT")
    assert list(bars) == pytest.approx([z[row][sections.index(s)] for s in ["4", "5", "6", "7", "8", "9", "10"]])


def test_heatmap_sorts_by_a_chosen_section(demo_db: Path) -> None:
    app = _page("pages/benchmark.py")
    app.selectbox(key="bench_sort").select("A.5")
    app.run()
    heat = _figure(app, "Maturity by unit and section")["data"][0]
    z = _array(heat["z"])
    column = [v for v in z[:, heat["x"].index("A.5")] if not np.isnan(v)]
    assert column == sorted(column, reverse=True)


def test_ranking_median_and_units_below_target(demo_db: Path) -> None:
    app = _page("pages/benchmark.py")
    with connect(demo_db) as con:
        ids = scoring.select_assessments(con, principal=ADMIN)
        ranked = analytics.ranking(con, ids)
        below = analytics.units_below_target(con, ids, "4")
        sections = scoring.section_scores(con, ids)
    figure = _figure(app, "Units by overall maturity")
    # each unit's target is drawn against its bar: the mean of its clause targets and of its Annex A targets
    targets = [t for t in figure["data"] if t.get("name") == "Target"]
    assert len(targets) == 1
    scored = sections.dropna(subset=["maturity"])
    for label, drawn in zip(targets[0]["y"], _array(targets[0]["x"]), strict=True):
        unit = html.unescape(label).split(" · ")[0]
        own = scored[scored["unit"] == unit].groupby("kind")["target"].mean()
        assert drawn == pytest.approx(own.mean(), abs=0.006), unit
    median = float(np.median(ranked["overall_maturity"]))
    assert f"the median unit ({median:.2f})" in figure["layout"]["xaxis"]["title"]["text"]  # a key, not a label on the bars
    assert figure["layout"]["xaxis"]["range"][1] >= 5 and figure["layout"]["xaxis"]["tickvals"] == [0, 1, 2, 3, 4, 5]
    table = app.dataframe[0].value
    assert table["unit"].tolist() == below["unit"].tolist()
    assert (table["maturity"] < table["target"]).all()


def test_radar_and_distribution_are_drawn(demo_db: Path) -> None:
    app = _page("pages/benchmark.py")
    radar = _figure(app, "Units against the target")
    assert radar["data"][0]["name"] == "Target" and len(radar["data"]) == 4  # target + 3 units
    spokes = [t.replace("<br>", " ") for t in radar["layout"]["polar"]["angularaxis"]["ticktext"]]
    assert "6 Planning" in spokes and "A.6 AI system life cycle" in spokes  # each spoke named, not a bare number
    spread = _figure(app, "Spread of unit scores per section")
    assert spread["data"][0]["type"] == "box" and spread["data"][0]["orientation"] == "h"
    # sections run down the side, each named on one line (side by side, sixteen names ran into each other)
    ticks = spread["layout"]["yaxis"]["ticktext"]
    assert "9 Performance evaluation" in ticks and "A.6 AI system life cycle" in ticks and not any("<br>" in t for t in ticks)
    assert spread["layout"]["xaxis"]["tickvals"] == [0, 1, 2, 3, 4, 5]  # the whole scale
    assert spread["data"][1]["name"] == "Target"


def _drilldown(db: Path, section: str) -> tuple[AppTest, pd.DataFrame]:
    """The Sections and controls page on one section, and the scoring engine's items of that section."""
    app = _page("pages/drilldown.py")
    app.selectbox(key="drill_section").select(section)
    app.run()
    assert not app.exception
    with connect(db) as con:
        items = scoring.item_scores(con, scoring.select_assessments(con, principal=ADMIN))
    return app, items[items["section"] == section]


def test_drilldown_shows_each_units_evidence(demo_db: Path) -> None:
    app, items = _drilldown(demo_db, "A.5")
    expected = items[items["item_id"] == "A.5.2"].set_index("unit")
    shown = next(df.value for df in app.dataframe if "evidence" in df.value.columns
                 and set(df.value["unit"]) == set(expected.index))
    for row in shown.itertuples():
        assert (row.evidence if isinstance(row.evidence, str) else None) == (
            expected.loc[row.unit, "evidence"] if isinstance(expected.loc[row.unit, "evidence"], str) else None)


def test_the_item_heatmap_shows_whole_levels_and_says_why_a_cell_is_empty(demo_db: Path) -> None:
    app, items = _drilldown(demo_db, "A.10")
    cells = _figure(app, "Maturity per item and unit")["data"][0]
    units, columns = [html.unescape(u) for u in cells["y"]], list(cells["x"])
    shown = {(unit, column): text for unit, row in zip(units, cells["text"], strict=True)
             for column, text in zip(columns, row, strict=True)}
    for r in items.itertuples():
        expected = r.state if pd.isna(r.maturity) else str(int(r.maturity))
        assert shown[(r.unit, r.item_id)] == expected, (r.unit, r.item_id)
    assert "not applicable" in shown.values()  # the demo excludes some third-party controls, with reasons


def test_trend_lists_improved_and_regressed_items(demo_db: Path) -> None:
    app = _page("pages/trend.py")
    app.selectbox(key="trend_unit").select("Life Insurance")
    app.run()
    assert not app.exception
    overall = _figure(app, "Clause maturity (4-10) across rounds")  # the scope chosen (clauses) for both charts
    assert [t["name"] for t in overall["data"]] == ["Clause maturity (4-10)", "Target"]
    sections = _figure(app, "Maturity per section across rounds")
    names = [t["name"] for t in sections["data"]]
    assert names[0] == "4 Context of the organization" and names[-1] == "Target"
    colours = [t["line"]["color"] for t in sections["data"][:-1]]
    assert len(set(colours)) == len(colours)  # every section its own colour
    with connect(demo_db) as con:
        first = scoring.select_assessments(con, principal=ADMIN, units=["Life Insurance"], round_label="2025-Q1")
        last = scoring.select_assessments(con, principal=ADMIN, units=["Life Insurance"], round_label="2026-Q3")
        changes = analytics.item_changes(con, first, last)
    clauses = changes[~changes["section"].str.startswith("A.")]  # the page's scope: the changes follow it too
    assert len(clauses) > 0
    caption = next(c.value for c in app.caption if "improved" in c.value)
    assert f"{(clauses['direction'] == 'improved').sum()} improved" in caption
    assert f"{(clauses['direction'] == 'regressed').sum()} regressed" in caption
    shown = pd.concat([d.value for d in app.dataframe])
    assert sorted(shown["item_id"]) == sorted(clauses[clauses["direction"] != "unchanged"]["item_id"])
    every = _page("pages/trend.py")  # all units: their first rounds covered Annex A as well
    assert not pd.concat([d.value for d in every.dataframe])["item_id"].str.startswith("A.").any()  # clauses first
    every.radio(key="trend_scope").set_value("annex_a").run()
    shown = pd.concat([d.value for d in every.dataframe])
    assert len(shown) and shown["item_id"].str.startswith("A.").all()
    assert "Annex A maturity across rounds" in str(_figure(every, "Annex A maturity across rounds")["layout"]["title"])


def test_presentation_page_shows_the_overall_level_and_themes(demo_db: Path) -> None:
    app = _page("pages/present.py")
    with connect(demo_db) as con:
        summary = scoring.organisation_summary(con, scoring.select_assessments(con, principal=ADMIN))
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Overall maturity"] == f"{summary['overall_maturity']:.2f}"
    assert metrics["Annex A coverage"] == f"{summary['annex_coverage']:.0%}"
    assert any("units below target" in m.value for m in app.markdown)


def test_presentation_shows_the_overviews_headline_and_one_line_themes(demo_db: Path) -> None:
    present, overview = _page("pages/present.py"), _page("pages/overview.py")
    labels = [label for _, label in analytics.HEADLINE]
    shown = {m.label: m.value for m in present.metric}
    assert [m.label for m in present.metric][:4] == [m.label for m in overview.metric][:4] == labels
    assert {k: shown[k] for k in labels} == {m.label: m.value for m in overview.metric if m.label in labels}
    assert not present.main.selectbox and present.sidebar.selectbox(key="present_round").value == scoring.LATEST
    assert "round: Latest per unit" in present.caption[0].value  # the round is named in the subtitle
    themes = [m.value for m in present.markdown if "units below target" in m.value]
    assert len(themes) == 5 and all("\n" not in t and t.startswith("**") for t in themes)
    assert [e.label for e in present.expander] == ["Next step"] * 5  # the next step is behind an expander
    heat = _figure(present, "Maturity by unit and section")
    assert heat["data"][0]["textfont"]["size"] >= 18  # read from the back of the room
    assert "A.6 AI system life cycle" in heat["layout"]["xaxis"]["ticktext"]  # sections named


def test_dashboards_on_an_archived_only_filter_explain_what_to_do(demo_db: Path) -> None:
    with connect(demo_db) as con:
        store.ensure_unit(con, "Dormant Unit")
    for page, key in (("pages/benchmark.py", "bench_units"), ("pages/drilldown.py", "drill_units")):
        app = _page(page)
        app.sidebar.multiselect(key=key).select("Dormant Unit")
        app.run()
        assert "No assessment matches" in app.warning[0].value


def test_user_text_in_charts_is_escaped(demo_db: Path) -> None:
    """Plotly renders a little HTML in labels: a unit named like markup must show as typed, not as a link."""
    hostile = '<a href="https://evil.example">Click</a> & <b>Co</b>'
    with connect(demo_db) as con:
        unit_id = store.ensure_unit(con, "Group IT")
        store.rename_unit(con, unit_id, hostile)
    app = _page("pages/benchmark.py")
    spec = json.dumps([_figure(app, title) for title in ("Maturity by unit and section", "Units by overall maturity")])
    assert "<a href" not in spec and "<b>" not in spec
    assert html.escape(hostile) in spec


def test_overall_maturity_is_the_same_in_ranking_scores_and_trend(demo_db: Path) -> None:
    """Overall maturity is defined once (scoring.overall_sql); the ranking, the per-assessment scores and
    the trend all give the same figure."""
    with connect(demo_db) as con:
        ids = scoring.select_assessments(con, principal=ADMIN, round_label="2026-Q3")
        ranked = analytics.ranking(con, ids).set_index("unit")["overall_maturity"]
        scores = scoring.assessment_scores(con, ids).set_index("unit")["overall_maturity"]
        trend = analytics.overall_trend(con, ids).set_index("round").loc["2026-Q3", "overall_maturity"]
        summary = scoring.organisation_summary(con, ids)["overall_maturity"]
    assert ranked.sort_index().tolist() == pytest.approx(scores.sort_index().tolist())
    assert trend == pytest.approx(summary)
    assert abs(scores.mean() - summary) <= 0.006  # mean of rounded unit figures vs the rounded mean


def test_the_radar_of_a_choice_without_scores_says_so_instead_of_failing() -> None:
    """An assessor choosing a round in which their unit has no score reached the radar with no sections."""
    from dashboard import charts

    empty = pd.DataFrame(columns=["unit", "section", "title", "maturity", "target"])
    figure = charts.radar(empty, ["Life Insurance"])
    assert [a.text for a in figure.layout.annotations] == ["No section scores for these units in this round"]
    assert not figure.data
