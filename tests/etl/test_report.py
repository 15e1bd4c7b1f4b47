"""The executive report: one HTML file with its figures from the scoring engine, that opens and prints offline."""

from __future__ import annotations

import html
import json
import re
import subprocess
import tempfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs
from pypdf import PdfReader

from dashboard import roadmap, scoring
from dashboard.catalog import Catalog
from dashboard.db import connect
from etl import report
from tests.principals import ADMIN

CHROMIUM = report.find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium)")


class _Tags(HTMLParser):
    """Collects every tag with its attributes, and the text of the <h2> headings."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_h2 = tag == "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data.strip())
            self._in_h2 = False


def _figure(page: str, div_id: str) -> dict:
    """The data and layout Plotly is given for one chart div."""
    match = re.search(r'Plotly\.newPlot\(\s*"' + div_id + r'",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{"displaylogo"', page, re.DOTALL)
    assert match, div_id
    return {"data": json.loads(match.group(1)), "layout": json.loads(match.group(2))}


@pytest.fixture
def built(demo_db: Path) -> tuple[str, dict]:
    with connect(demo_db) as con:
        ids = scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST)
        page = report.build_report(con, ids, organisation="Aldermoor Financial Group", round_label=scoring.LATEST, principal=ADMIN)
        expected = {
            "summary": scoring.organisation_summary(con, ids),
            "sections": scoring.organisation_sections(con, ids),
            "per_unit": scoring.section_scores(con, ids),
            "merged": roadmap.organisation_plan(con, ids),
        }
    return page, expected


def test_report_is_one_self_contained_file(built: tuple[str, dict]) -> None:
    page, _ = built
    parser = _Tags()
    parser.feed(page)
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts and all("src" not in attrs for attrs in scripts)  # nothing loaded from anywhere
    assert not [attrs for tag, attrs in parser.tags if tag in ("link", "img", "iframe")]
    assert get_plotlyjs()[:2000] in page  # plotly.js itself is inside the page
    assert page.count(get_plotlyjs()[:2000]) == 1
    assert parser.headings == ["Summary for management", "Where we stand", "Maturity per clause", "Annex A coverage", "Benchmarking",
                               "Top 10 gaps to close first", "Roadmap by phase",
                               "Other frameworks, derived from the 42001 answers", "How the figures are computed"]


def test_report_figures_come_from_the_scoring_engine(built: tuple[str, dict], catalog: Catalog) -> None:
    page, expected = built
    summary = expected["summary"]
    assert f'<div class="value">{summary["clause_maturity"]:.2f}</div><div class="label">Clause maturity (4-10)' in page
    assert f'<div class="value">{summary["annex_coverage"]:.0%}</div><div class="label">Annex A coverage' in page
    assert f'<div class="value">{summary["open_gaps"]}</div><div class="label">Open gaps' in page
    clauses = _figure(page, "clauses")
    sections = expected["sections"]
    assert clauses["data"][0]["text"] == [f"{v:.2f}" for v in sections[sections["kind"] == "clause"]["maturity"]]
    heat = _figure(page, "benchmark")["data"][0]
    per_unit = expected["per_unit"]
    # unit names reach Plotly escaped (it shows them as typed); HR's latest round, a draft 78% complete, is marked
    assert "HR &amp; People · draft 78%" in heat["y"]
    for row, label in enumerate(heat["y"]):
        unit = html.unescape(label).split(" · draft ")[0]
        for col, section in enumerate(heat["x"]):
            found = per_unit[(per_unit["unit"] == unit) & (per_unit["section"] == section)]["maturity"]
            shown = heat["text"][row][col]
            assert shown == ("no data" if found.empty or found.isna().all() else f"{found.iloc[0]:.2f}"), (unit, section)
    merged = expected["merged"]
    for item_id in merged["item_id"].head(10):
        assert f"<td>{item_id}</td>" in page
    for phase in roadmap.PHASES:
        assert f"{phase.label} — {int((merged['phase'] == phase.name).sum())} action(s)" in page


@needs_chromium
def test_report_renders_its_charts_with_the_network_blocked(built: tuple[str, dict], tmp_path: Path) -> None:
    page, _ = built
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        # every request would go to a proxy that does not exist: only what is inside the file can load
        command = report.chromium_command(CHROMIUM, profile, "--proxy-server=http://127.0.0.1:9",
                                          "--proxy-bypass-list=<-loopback>", "--dump-dom", path.as_uri())
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    drawn = done.stdout.count('class="main-svg"')
    assert drawn >= 2 * 5, drawn  # five charts, each drawn as two SVG layers by Plotly


@needs_chromium
def test_report_prints_to_pdf(built: tuple[str, dict], tmp_path: Path) -> None:
    page, _ = built
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    pdf = report.html_to_pdf(tmp_path / "report.html", tmp_path / "report.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 5

    # every section heading prints on the page of what it introduces: after it, on the same page, comes its
    # chart or table (read page by page from the PDF's text), never a heading alone at the foot of a page
    pages = ["".join(p.extract_text().split()) for p in PdfReader(pdf).pages]
    headings = ["".join(html.unescape(h).split()) for h in re.findall(r"<h[23]>(.*?)</h[23]>", page)]
    assert len(headings) >= 10
    at, offset = 0, 0
    for heading in headings:
        while pages[at].find(heading, offset) < 0:
            at, offset = at + 1, 0
            assert at < len(pages), f"heading {heading!r} not found after page {at}"
        found = pages[at].find(heading, offset)
        offset = found + len(heading)
        assert len(pages[at]) - offset >= 30, f"heading {heading!r} ends page {at + 1}: its content starts on the next"
    # each chart's title prints on the page of its heading (the benchmarking heatmap is the one the issue saw
    # start a page after its heading)
    charts = {"Maturityperclause(meanofunits)": "Maturityperclause", "AnnexAcoverageperobjective": "AnnexAcoverage",
              "Benchmarking:maturityperunitandsection": "Benchmarking", "Roadmapphasesandduedates": "Roadmapbyphase"}
    for chart, heading in charts.items():
        holding = [n for n, text in enumerate(pages) if chart in text]
        assert holding, chart
        text = pages[holding[0]]
        # the heading itself, not the same words inside the chart's title ("Maturity per clause (mean of units)")
        alone = [i for i in range(len(text)) if text.startswith(heading, i) and not text.startswith(chart, i)]
        assert alone and alone[0] < text.index(chart), f"{chart}: printed without its heading before it on page {holding[0] + 1}"


def test_without_chromium_pdf_is_unavailable_and_says_how_to_fix_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "report.html").write_text("<html></html>", encoding="utf-8")
    monkeypatch.setattr(report.shutil, "which", lambda name: None)
    with pytest.raises(report.PdfUnavailable, match="apt-get install chromium"):
        report.html_to_pdf(tmp_path / "report.html", tmp_path / "report.pdf")
    assert not (tmp_path / "report.pdf").exists()


def test_cli_report_without_chromium_still_writes_the_html(demo_db: Path, tmp_path: Path, cli: Callable,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))  # no chromium to be found
    out, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    done = cli(demo_db, "report", "--out", str(out), "--pdf", str(pdf), "--unit", "Group IT", "--org-name", "Aldermoor")
    assert done.returncode == 1
    assert "PDF unavailable" in done.stderr and "apt-get install chromium" in done.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") and not pdf.exists()
    assert "Aldermoor" in out.read_text(encoding="utf-8")


@needs_chromium
def test_cli_report_with_pdf(demo_db: Path, tmp_path: Path, cli: Callable) -> None:
    out, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    done = cli(demo_db, "report", "--out", str(out), "--pdf", str(pdf), "--round", "2025-Q4")
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "2025-Q4" in out.read_text(encoding="utf-8")
