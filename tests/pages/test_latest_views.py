"""The management views show the newest round of every unit, per scope, and say which rounds they used; an
incomplete draft is marked; a 2.996 score is level Managed; a round's date is corrected on the Units page."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import analytics, charts, scoring, store
from dashboard.db import connect
from etl import report
from etl.cli import main as cli
from tests.pages.apps import chart as _figure
from tests.pages.apps import open_page as _page
from tests.principals import ADMIN

CLAUSES = ("4.1", "4.2", "4.3", "4.4", "5.1", "5.2", "5.3", "6.1.1", "6.1.2", "6.1.3", "6.1.4", "6.2", "6.3",
           "7.1", "7.2", "7.3", "7.4", "7.5.1", "7.5.2", "7.5.3", "8.1", "8.2", "8.3", "8.4",
           "9.1", "9.2.1", "9.2.2", "9.3.1", "9.3.2", "9.3.3", "10.1", "10.2")
USED = "clauses 2026-Q4, Annex A 2026-Q3 — Retail Banking"


def _captions(app: AppTest) -> str:
    return "\n".join(c.value for c in app.caption)


def _import(db: Path, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert cli(["--db", str(db), "import", str(path)]) == 0


@pytest.fixture
def clause_only_newest(demo_db: Path, tmp_path: Path) -> Path:
    """The demo, plus a clauses-only round for Retail Banking imported with a label and no date (dated today)."""
    _import(demo_db, tmp_path, "retail-q4.csv",
            "unit,assessment,item_id,maturity\n" + "".join(f"Retail Banking,2026-Q4,{i},4\n" for i in CLAUSES))
    return demo_db


def test_overview_shows_the_newest_clauses_and_the_older_annex_a_and_names_both(clause_only_newest: Path) -> None:
    app = _page("pages/overview.py")
    with connect(clause_only_newest) as con:
        picks = scoring.select_assessments(con, principal=ADMIN)
        summary = scoring.organisation_summary(con, picks)
        q4 = store.get_assessment(con, unit="Retail Banking", label="2026-Q4")
        q3 = store.get_assessment(con, unit="Retail Banking", label="2026-Q3")
    assert q4.assessed_on == dt.date.today()  # the undated import took the import's date, so it is the newest
    assert (q4.id, "clause", q4.id) in picks and (q3.id, "annex_a", q4.id) in picks
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Clause maturity (4-10)"] == f"{summary['clause_maturity']:.2f}"
    assert metrics["Annex A coverage"] == f"{summary['annex_coverage']:.0%}"
    captions = _captions(app)
    assert "Rounds used: 2026-Q3 — 9 units; " + USED in captions
    assert "10 unit(s)" in captions


def test_benchmark_heatmap_keeps_the_older_annex_a_of_a_clause_only_newest_round(clause_only_newest: Path) -> None:
    app = _page("pages/benchmark.py")
    heat = _figure(app, "Maturity by unit and section")["data"][0]
    units = [html.unescape(u) for u in heat["y"]]
    row = units.index("Retail Banking")
    texts = dict(zip(heat["x"], heat["text"][row], strict=True))
    with connect(clause_only_newest) as con:
        q3 = scoring.section_scores(con, [store.get_assessment(con, unit="Retail Banking", label="2026-Q3").id])
    for section in ("4", "5", "10"):
        assert texts[section] == "4.00"  # from the clause-only 2026-Q4 round
    for section in ("A.2", "A.5", "A.10"):  # not "no data": from 2026-Q3, the newest round with Annex A
        expected = q3[q3["section"] == section]["maturity"].iloc[0]
        assert texts[section] == f"{expected:.2f}", section
    assert USED in _captions(app)


def test_presentation_shows_the_newest_round_of_every_unit_and_marks_the_draft(clause_only_newest: Path) -> None:
    app = _page("pages/present.py")
    with connect(clause_only_newest) as con:
        picks = scoring.select_assessments(con, principal=ADMIN)
        per_unit = scoring.section_scores(con, picks)
        summary, _ = analytics.summary_change(con, picks)
    assert {m.label: m.value for m in app.metric}["Overall maturity"] == f"{summary['overall_maturity']:.2f}"
    heat = _figure(app, "Maturity by unit and section")["data"][0]
    labels = [html.unescape(u) for u in heat["y"]]
    # HR & People's newest round is a draft 78% complete: marked beside its name, and listed under the figures
    assert "HR & People · draft 78%" in labels and "HR & People" not in labels
    captions = _captions(app)
    assert USED in captions
    assert "Provisional: 1 draft round(s) under 80% complete" in captions and "HR & People (2026-Q3, 78% complete)" in captions
    for row, label in enumerate(labels):
        unit = label.split(" · draft ")[0]
        for col, section in enumerate(heat["x"]):
            found = per_unit[(per_unit["unit"] == unit) & (per_unit["section"] == section)]["maturity"]
            # the presentation's large type: one decimal, a dash for no data (the caption says so)
            expected = "—" if found.empty or found.isna().all() else f"{found.iloc[0]:.1f}"
            assert heat["text"][row][col] == expected, (unit, section)


def test_the_report_uses_and_names_the_newest_rounds(clause_only_newest: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"  # the command line's report defaults to Latest per unit
    assert cli(["--db", str(clause_only_newest), "report", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    with connect(clause_only_newest) as con:
        summary = scoring.organisation_summary(con, scoring.select_assessments(con, principal=ADMIN))
    assert f'<div class="value">{summary["clause_maturity"]:.2f}</div><div class="label">Clause maturity (4-10)' in page
    assert "<th>Rounds used</th>" in page and html.escape(USED) in page
    assert "Provisional" in page and "HR &amp; People (2026-Q3, 78% complete)" in page


def test_draft_threshold_is_a_setting(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMS_DRAFT_COMPLETENESS", "82")  # Payments (80%) joins HR (78%); Marketing (84%) does not
    captions = _captions(_page("pages/overview.py"))
    assert "Provisional: 2 draft round(s) under 82% complete" in captions
    assert "Payments & Cards (2026-Q3, 80% complete)" in captions


# --- the level is the unrounded score rounded down -------------------------------------------------------------


def test_a_2996_clause_score_shows_3_00_and_level_managed(empty_db: Path, tmp_path: Path) -> None:
    # every clause item at 3 but 4.1 = 4 and 8.1 = 2: clause maturity 2.99603 (see tests/dashboard/test_latest.py)
    answers = {**dict.fromkeys(CLAUSES, 3), "4.1": 4, "8.1": 2}
    _import(empty_db, tmp_path, "ops.csv", "unit,assessment,assessed_on,item_id,maturity\n"
            + "".join(f"Ops,R1,2026-01-10,{i},{m}\n" for i, m in answers.items()))
    overview = _page("pages/overview.py")
    metrics = {m.label: m.value for m in overview.metric}
    assert (metrics["Clause maturity (4-10)"], metrics["Level"]) == ("3.00", "2 Managed")
    present = _page("pages/present.py")
    metrics = {m.label: m.value for m in present.metric}
    assert (metrics["Overall maturity"], metrics["Level"]) == ("3.00", "2 Managed")
    ranking = _figure(_page("pages/benchmark.py"), "Units by overall maturity")["data"][0]
    assert ranking["y"] == ["Ops · 3.00"] and ranking["marker"]["color"] == [charts.LEVEL_COLOURS[2]]  # Managed's colour
    with connect(empty_db) as con:
        page = report.build_report(con, scoring.select_assessments(con, principal=ADMIN), principal=ADMIN)
    assert '<div class="value">3.00</div><div class="label">Clause maturity (4-10)</div>' in page
    assert '<div class="value">2 Managed</div><div class="label">Level</div>' in page


# --- correcting a round's date ------------------------------------------------------------------------------


def test_a_rounds_date_is_corrected_on_the_units_page(demo_db: Path) -> None:
    with connect(demo_db) as con:
        hr = store.get_assessment(con, unit="HR & People", label="2026-Q3")
    app = _page("pages/units.py")
    app.sidebar.text_input(key="assessor_name_input").input("Ana Lead").run()
    app.selectbox(key="date_round").select(hr.id).run()
    app.date_input(key="date_value").set_value(dt.date(2026, 9, 30)).run()
    app.button(key="date_save").click().run()
    assert not app.exception, app.exception
    with connect(demo_db) as con:
        assert store.get_assessment(con, hr.id).assessed_on == dt.date(2026, 9, 30)
        logged = con.execute("""SELECT old_value, new_value, changed_by FROM change_log
                                WHERE assessment_id = ? AND field = 'assessed_on'""", [hr.id]).fetchall()
        drafts = store.list_assessments(con).query("status == 'draft'")
    assert logged == [("2026-08-28", "2026-09-30", "Ana Lead")]
    offered = app.selectbox(key="date_round").options
    assert len(offered) == len(drafts)  # finalised rounds are read-only: not offered
    assert "HR & People · 2026-Q3 · assessed 2026-09-30" in offered
