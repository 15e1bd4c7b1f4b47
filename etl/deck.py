"""The board deck: the Presentation page as a PowerPoint file (python-pptx), for the board meeting.

Slides: the headline (the same figures and labels as the Overview, from `analytics.headline_figures`), the
clause chart, the Annex A chart, the units × sections heatmap (charts as images drawn by kaleido with the
machine's Chromium), the top roadmap themes and the roadmap by phase. Every slide names its units and round.
When no image can be made here (no Chromium, kaleido failing), the slide says so instead of failing.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterable

import duckdb
import pandas as pd
import plotly.graph_objects as go
from pptx import Presentation
from pptx.util import Emu, Inches, Pt

from dashboard import analytics, charts, organisation, provenance, roadmap, scoring
from dashboard.catalog import Catalog, load_catalog

__all__ = ["THEMES", "build_deck", "chart_image", "theme_lines"]

THEMES = 5  # the top roadmap themes shown on the Presentation page and in the deck
_WIDE, _HIGH = Inches(13.333), Inches(7.5)  # 16:9
_TITLE_ONLY = 5  # the default template's "Title Only" layout


def theme_lines(themes: pd.DataFrame) -> list[tuple[str, str]]:
    """One line per organisation-roadmap theme (phase, item, units below target) and its next step."""
    return [(f"**{r.phase}** · {r.item_id} {r.title} — {r.units_below} of {r.units_assessed} units below target",
             str(r.suggested_action)) for r in themes.itertuples()]


def chart_image(figure: go.Figure, width: int = 1200, height: int = 620) -> tuple[bytes | None, str]:
    """A PNG of a Plotly figure via kaleido and the machine's Chromium, or (None, why not)."""
    from etl.report import find_chromium

    browser = os.environ.get("BROWSER_PATH") or find_chromium()
    if not browser:
        return None, "Chart image unavailable on this machine: no Chromium found (install Debian's chromium)."
    os.environ.setdefault("BROWSER_PATH", browser)  # where kaleido (choreographer) looks for a browser
    try:
        return figure.to_image(format="png", width=width, height=height, scale=2), ""
    except Exception as exc:
        return None, f"Chart image unavailable on this machine: {type(exc).__name__}: {str(exc)[:200]}"


def _units_text(units: list[str], limit: int = 12) -> str:
    shown = ", ".join(units[:limit]) + (f" and {len(units) - limit} more" if len(units) > limit else "")
    return f"Units ({len(units)}): {shown}"


class _Deck:
    def __init__(self, context: str) -> None:
        self.pptx = Presentation()
        self.pptx.slide_width, self.pptx.slide_height = _WIDE, _HIGH
        self.context = context

    def slide(self, title: str):
        slide = self.pptx.slides.add_slide(self.pptx.slide_layouts[_TITLE_ONLY])
        slide.shapes.title.text = title
        slide.shapes.title.left, slide.shapes.title.top = Inches(0.5), Inches(0.3)
        slide.shapes.title.width, slide.shapes.title.height = _WIDE - Inches(1), Inches(0.9)
        slide.shapes.title.text_frame.paragraphs[0].font.size = Pt(32)
        self.text(slide, [self.context], top=Inches(1.15), size=14, height=Inches(0.6), name="Context")
        return slide

    @staticmethod
    def text(slide, lines: Iterable[str], *, top: Emu, size: int = 18, height: Emu | None = None,
             name: str = "Body", bold_first: bool = False) -> None:
        box = slide.shapes.add_textbox(Inches(0.6), top, _WIDE - Inches(1.2), height or (_HIGH - top - Inches(0.4)))
        box.name = name
        frame = box.text_frame
        frame.word_wrap = True
        for n, line in enumerate(lines):
            paragraph = frame.paragraphs[0] if n == 0 else frame.add_paragraph()
            paragraph.text = line
            paragraph.font.size = Pt(size)
            paragraph.font.bold = bold_first and n == 0

    def chart(self, title: str, figure: go.Figure) -> None:
        slide = self.slide(title)
        png, why = chart_image(figure)
        if png is None:
            self.text(slide, [why], top=Inches(2.0), name="No image")
            return
        top = Inches(1.8)
        height = _HIGH - top - Inches(0.3)
        slide.shapes.add_picture(io.BytesIO(png), Inches(0.6), top, height=height)


def build_deck(con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int], *, round_label: str = scoring.LATEST,
               catalog: Catalog | None = None, organisation_name: str | None = None,
               today: dt.date | None = None) -> bytes:
    """The board deck for a selection, as .pptx bytes."""
    catalog = catalog or load_catalog()
    scale, ids = catalog.scale, list(assessment_ids)
    org = organisation.name(con) if organisation_name is None else organisation_name
    summary, change = analytics.summary_change(con, ids)
    drafts = provenance.drafts(con, ids)
    marks = provenance.marked(drafts)
    per_unit = scoring.section_scores(con, ids)
    units = sorted(per_unit["unit"].unique(), key=str.lower) if not per_unit.empty else []
    context = f"{_units_text([marks.get(u, u) for u in units])} · Round: {round_label}"
    deck = _Deck(context)

    first = deck.slide("Where we stand on ISO/IEC 42001" + (f" — {org}" if org else ""))
    figures = analytics.headline_figures(summary, scale, change)
    deck.text(first, [f"{f.label}: {f.value}" + (f" ({f.change})" if f.change else "") for f in figures]
              + [f"Open gaps: {summary['open_gaps']}"], top=Inches(2.0), size=28, name="Headline")
    # what the figures stand on, as on the Overview: the rounds used (Latest per unit), the final-only setting
    basis = [line for line in provenance.notes(con, ids, round_label) if line != provenance.drafts_text(drafts)]
    if basis:
        deck.text(first, basis, top=Inches(5.2), size=14, height=Inches(1.0), name="Rounds used")
    if not drafts.empty:
        deck.text(first, [provenance.drafts_text(drafts)], top=Inches(6.3), size=14, name="Drafts")

    sections = scoring.organisation_sections(con, ids)
    if (sections["kind"] == "clause").any():
        deck.chart("Maturity per clause", charts.clause_maturity_chart(sections, scale, title="Maturity per clause (mean of units)"))
    if (sections["kind"] == "annex_a").any():
        deck.chart("Annex A coverage per objective", charts.annex_coverage_chart(sections, title="Annex A coverage per objective"))
    if not per_unit.empty:
        order = [marks.get(u, u) for u in analytics.ranking(con, ids)["unit"]]
        deck.chart("Maturity by unit and section",
                   charts.heatmap(per_unit.replace({"unit": marks}), order=order, title="Maturity by unit and section",
                                  large=True))

    plan = roadmap.organisation_plan(con, ids, catalog, today=today)
    themes = deck.slide("Top roadmap themes")
    lines = [f"{n}. {line.replace('**', '')}" for n, (line, _) in enumerate(theme_lines(plan.head(THEMES)), start=1)]
    deck.text(themes, lines or ["No open action: every assessed item meets its target."], top=Inches(2.0), size=20,
              name="Themes")
    by_phase = deck.slide("Roadmap by phase")
    lines = []
    for phase in roadmap.PHASES:
        part = plan[plan["phase"] == phase.name] if not plan.empty else plan
        lines.append(f"{phase.label}: {len(part)} action(s)")
        lines += [f"    {r.item_id} {r.title}" for r in part.head(4).itertuples()]
        if len(part) > 4:
            lines.append(f"    … and {len(part) - 4} more")
    deck.text(by_phase, lines, top=Inches(1.9), size=15, name="Phases")
    out = io.BytesIO()
    deck.pptx.save(out)
    return out.getvalue()
