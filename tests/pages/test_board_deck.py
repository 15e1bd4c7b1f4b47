"""The board deck (.pptx) and the organisation's name: opened with python-pptx, compared with the Overview page."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pptx import Presentation

from dashboard import organisation, scoring
from dashboard.db import connect
from etl import deck, report
from tests.pages.apps import open_page as _page
from tests.pages.conftest import ROOT
from tests.principals import ADMIN

TITLES = ["Where we stand on ISO/IEC 42001 — Aldermoor Financial Group", "Maturity per clause",
          "Annex A coverage per objective", "Maturity by unit and section", "Top roadmap themes", "Roadmap by phase"]


def _texts(slide) -> dict[str, str]:
    return {shape.name: shape.text_frame.text for shape in slide.shapes if shape.has_text_frame}


@pytest.fixture
def deck_file(demo_db: Path, tmp_path: Path) -> Path:
    with connect(demo_db) as con:
        organisation.set_name(con, "  Aldermoor   Financial Group ")
    out = tmp_path / "board.pptx"
    done = subprocess.run([sys.executable, "-m", "etl", "--db", str(demo_db), "deck", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    return out


def test_the_deck_names_units_and_round_on_every_slide_and_shows_the_overviews_headline(
    deck_file: Path, demo_db: Path
) -> None:
    slides = list(Presentation(str(deck_file)).slides)
    assert [s.shapes.title.text for s in slides] == TITLES
    with connect(demo_db) as con:
        units = sorted(scoring.section_scores(con, scoring.select_assessments(con, principal=ADMIN))["unit"].unique())
    for slide in slides:
        context = _texts(slide)["Context"]
        assert "Round: Latest per unit" in context and f"Units ({len(units)})" in context
        assert all(u in context for u in units), context  # every unit named (HR & People with its draft mark)
    overview_app = _page("pages/overview.py")
    overview = {m.label: m.value for m in overview_app.metric}
    headline = _texts(slides[0])["Headline"].splitlines()
    shown = dict(re.sub(r" \([^()]* vs previous\)$", "", line).split(": ", 1) for line in headline)
    for label in ("Overall maturity", "Level", "Clause maturity (4-10)", "Annex A coverage", "Open gaps"):
        assert shown[label] == overview[label], label
    assert "draft" in _texts(slides[0])["Drafts"]
    # the rounds each unit's figures come from, named as on the Overview (Latest per unit)
    rounds = [c.value for c in overview_app.caption if c.value.startswith("Rounds used: ")]
    assert rounds and _texts(slides[0])["Rounds used"].splitlines()[0] == rounds[0]
    pictures = [[sh for sh in s.shapes if sh.shape_type == 13] for s in slides[1:4]]
    assert all(len(p) == 1 for p in pictures)  # the three charts as images (kaleido with this machine's Chromium)
    themes = _texts(slides[4])["Themes"].splitlines()
    assert len(themes) == deck.THEMES and all("units below target" in t for t in themes)
    assert "Now (0–3 months)" in _texts(slides[5])["Phases"]


def test_without_a_browser_the_slide_says_so_instead_of_failing(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setattr(report, "find_chromium", lambda: None)
    with connect(demo_db) as con:
        data = deck.build_deck(con, scoring.select_assessments(con, principal=ADMIN))
    slides = list(Presentation(io.BytesIO(data)).slides)
    assert "no Chromium found" in _texts(slides[1])["No image"]
    assert _texts(slides[0])["Headline"].startswith("Overall maturity: ")


def test_the_organisation_name_is_set_once_in_settings_and_used_by_the_report_and_presentation(demo_db: Path) -> None:
    app = _page("pages/settings.py")
    app.text_input[0].input("Aldermoor <b>Group</b>")
    app.button[0].click().run()
    assert not app.exception and "saved" in app.success[0].value
    with connect(demo_db) as con:
        assert organisation.name(con) == "Aldermoor <b>Group</b>"
        page = report.build_report(con, scoring.select_assessments(con, principal=ADMIN), principal=ADMIN)
    assert "AI management system gap assessment — Aldermoor &lt;b&gt;Group&lt;/b&gt;" in page  # escaped, never HTML
    assert "Aldermoor <b>Group</b>" in _page("pages/present.py").title[0].value
    with connect(demo_db) as con, pytest.raises(ValueError, match="at most"):
        organisation.set_name(con, "x" * 500)
