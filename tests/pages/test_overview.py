"""The Overview page: empty state with one-click demo, headline figures and charts that agree with exports."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import analytics, scoring, store
from dashboard.db import connect
from etl.cli import main as cli
from tests.pages.conftest import APP
from tests.principals import ADMIN


def _app() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def _metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def _values(data: object) -> list[float]:
    """Plotly 7 sends numeric arrays as base64 typed arrays; decode them (plain lists pass through)."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)  # type: ignore[call-overload]


def _chart(app: AppTest, key: str) -> dict:
    charts = [c for c in app.get("plotly_chart") if json.loads(c.proto.spec)["layout"]["title"]["text"].startswith(key)]
    assert charts, f"no chart titled {key!r}"
    return json.loads(charts[0].proto.spec)


def test_empty_database_offers_the_demo_in_one_click(empty_db: Path) -> None:
    app = _app()
    assert "empty" in app.info[0].value
    assert not app.metric
    app.button(key="load_demo").click().run()
    assert not app.exception, app.exception
    assert _metrics(app)["Clause level"] in {"Initial", "Managed", "Defined"}
    assert len(app.get("plotly_chart")) == 2
    with connect(empty_db) as con:
        assert len(store.list_assessments(con)) == 30


def test_headline_figures_come_from_the_scoring_engine(demo_db: Path) -> None:
    app = _app()
    with connect(demo_db) as con:
        ids = scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST)
        summary = scoring.organisation_summary(con, ids)
        sections = scoring.organisation_sections(con, ids)
    metrics = _metrics(app)
    assert metrics["Clause maturity"] == f"{summary['clause_maturity']:.2f}"
    assert metrics["Annex A coverage"] == f"{summary['annex_coverage']:.0%}"
    assert metrics["Open gaps"] == str(summary["open_gaps"])
    clause = _chart(app, "Maturity per clause")
    bars = _values(clause["data"][0]["y"])
    expected = sections[sections["kind"] == "clause"]["maturity"].tolist()
    assert bars == pytest.approx(expected)
    assert "10 unit(s)" in app.caption[0].value


def test_one_unit_and_round_equal_the_exported_scores(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    assert cli(["--db", str(demo_db), "export", "scores", "--format", "csv", "--out", str(out)]) == 0
    exported = [r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))
                if r["unit"] == "Group IT" and r["assessment"] == "2025-Q4"]
    assert len(exported) == 16  # both scopes: 7 clauses + 9 objectives
    app = _app()
    app.sidebar.multiselect(key="overview_units").select("Group IT")
    app.sidebar.selectbox(key="overview_round").select("2025-Q4")
    app.run()
    assert not app.exception, app.exception
    bars = _values(_chart(app, "Maturity per clause")["data"][0]["y"])
    assert bars == pytest.approx([float(r["maturity"]) for r in exported if not r["section"].startswith("A.")])
    assert "1 unit(s) · round: 2025-Q4" in app.caption[0].value


def test_a_filter_that_matches_nothing_says_so(demo_db: Path) -> None:
    with connect(demo_db) as con:
        store.ensure_unit(con, "Brand New Unit")
    app = _app()
    app.sidebar.multiselect(key="overview_units").select("Brand New Unit")
    app.run()
    assert not app.exception
    assert "No assessment matches" in app.warning[0].value


def test_a_new_import_shows_up_without_restarting(demo_db: Path, tmp_path: Path) -> None:
    app = _app()
    before = _metrics(app)["Open gaps"]
    rows = "unit,assessment,assessed_on,item_id,maturity\nNew Unit,2026-Q4,2026-11-01,5.2,0\n"
    (tmp_path / "new.csv").write_text(rows)
    assert cli(["--db", str(demo_db), "import", str(tmp_path / "new.csv")]) == 0
    app.run()
    assert int(_metrics(app)["Open gaps"]) == int(before) + 1


def test_changes_are_in_points_and_each_chart_says_what_it_covers(demo_db: Path) -> None:
    app = _app()
    with connect(demo_db) as con:
        latest = scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST)
        now, change = analytics.summary_change(con, latest)
        # like with like: every unit's previous round is 2025-Q4, which for HR & People covered the clauses only,
        # so HR's first Annex A answers are on neither side of the change
        hr = store.get_assessment(con, unit="HR & People", label="2026-Q3")
        matched = [i for i in latest if i != hr.id] + [(hr.id, "clause", hr.id)]
        after = scoring.organisation_summary(con, matched)
        before = scoring.organisation_summary(con, scoring.select_assessments(con, principal=ADMIN, round_label="2025-Q4"))
    assert change is not None
    assert change["annex_coverage"] == pytest.approx(after["annex_coverage"] - before["annex_coverage"])
    assert change["clause_maturity"] == pytest.approx(now["clause_maturity"] - before["clause_maturity"])
    deltas = {m.label: m.delta for m in app.metric}
    # a share moves by percentage points: 40% -> 56% is "+16 pts", not "+16%"
    assert deltas["Annex A coverage"] == f"{change['annex_coverage'] * 100:+.0f} pts vs previous"
    assert deltas["Clause maturity"] == f"{now['clause_maturity'] - before['clause_maturity']:+.2f} vs previous"
    assert "previous round" in app.caption[0].value
    title = _chart(app, "Annex A coverage")["layout"]["title"]
    # the context is a second line, so that the title fits a half-width chart
    assert title["text"] == "Annex A coverage per objective"
    assert title["subtitle"]["text"] == "10 unit(s) · round: Latest per unit"
