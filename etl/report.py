"""The executive report: one HTML file that opens offline (plotly.js embedded, no CDN), and a PDF of it.

Figures come from `dashboard.scoring` and `dashboard.roadmap`; charts from `dashboard.charts`. Every piece of
user text (unit names, owners, evidence…) is escaped with `html.escape` before it reaches the page, and user
text inside charts is escaped too, because Plotly renders a subset of HTML in labels and hover text.
The PDF is Chromium's print of that HTML (Debian's `chromium`); without a Chromium there is no PDF.
"""

from __future__ import annotations

import datetime as dt
import html
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from dashboard import analytics, charts, llm, provenance, roadmap, scoring, summarize
from dashboard.access import Principal
from dashboard.catalog import Catalog, Scale, load_catalog
from dashboard.organisation import name as organisation_name
from etl.roadmap_exports import priority_brief, scoring_brief, selection_facts

__all__ = ["PdfUnavailable", "build_report", "chromium_command", "find_chromium", "html_to_pdf"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TOP_GAPS = 10
_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["toImage"]}
_CSS = """
body { font-family: "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 0 auto; max-width: 1100px;
       padding: 24px; line-height: 1.4; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { font-size: 20px; margin-top: 32px; border-bottom: 2px solid #ddd; }
h3 { font-size: 16px; margin-top: 20px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; margin: 8px 0 16px; }
th, td { border: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #e8eef4; } .facts th { width: 190px; background: #f4f6f8; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; min-width: 150px; }
.card .value { font-size: 24px; font-weight: 600; } .card .label { font-size: 12px; color: #555; }
.level { padding: 1px 6px; border-radius: 3px; white-space: nowrap; } .muted { color: #666; font-size: 12px; }
.provisional { border-left: 4px solid #c77c02; background: #fff6e5; padding: 6px 10px; }
.chart, .keep, .cards, table.facts { break-inside: avoid; page-break-inside: avoid; }
.headline { border-color: #1a6a3a; } h2, h3 { break-after: avoid; page-break-after: avoid; }
@page { size: A4 landscape; margin: 12mm; }
@media print { body { max-width: none; padding: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; }
               .modebar-container { display: none; } }
"""


class PdfUnavailable(RuntimeError):
    """No PDF could be made: no Chromium on this machine, or it failed; the message says how to fix it."""


def _e(value: Any) -> str:
    """Escape anything for HTML; missing values become an em dash."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, dt.date):
        return value.isoformat()
    return html.escape(str(value))


def _figure(figure: go.Figure, div_id: str) -> str:
    return f'<div class="chart">{pio.to_html(figure, full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG)}</div>'


def _table(frame: pd.DataFrame, columns: dict[str, str], *, levels: Iterable[str] = (), scale: Scale | None = None) -> str:
    head = "".join(f"<th>{_e(label)}</th>" for label in columns.values())
    body = []
    for record in frame.to_dict("records"):
        cells = []
        for column in columns:
            value = record[column]
            if column in levels and scale is not None and isinstance(value, int | float) and not pd.isna(value):
                level = int(value)
                style = f"background:{charts.LEVEL_COLOURS[level]};color:{'#fff' if level in charts.DARK_LEVELS else '#000'}"
                cells.append(f'<td><span class="level" style="{style}">{level} {_e(scale.name(level))}</span></td>')
            else:
                cells.append(f"<td>{_e(value)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cards(summary: dict[str, Any], scale: Scale) -> str:
    """The headline (the same figures and labels as the Overview, `analytics.headline_figures`), then the rest."""
    def card(label: str, value: str, note: str = "", css: str = "card") -> str:
        return (f'<div class="{css}"><div class="value">{_e(value)}</div><div class="label">{_e(label)}</div>'
                f'<div class="muted">{_e(note)}</div></div>')

    def share(key: str) -> str:
        return "—" if summary[key] is None else f"{summary[key]:.0%}"

    head = [card(f.label, f.value, "", "card headline") for f in analytics.headline_figures(summary, scale)]
    annex = "—" if summary["annex_maturity"] is None else f"{summary['annex_maturity']:.2f}"
    return '<div class="cards">' + "".join([
        *head,
        card("Annex A maturity", annex, scale.level_name(summary["annex_maturity_level"])),
        card("Completeness", share("completeness"), "assessed / applicable items"),
        card("Open gaps", str(summary["open_gaps"]), f"{summary['units']} unit(s), {summary['assessments']} assessment(s)"),
    ]) + "</div>"


def _executive(con: duckdb.DuckDBPyConnection, round_label: str | None, principal: Principal) -> str:
    """The executive paragraph of the Summaries page: a model's summary already made for this selection (never
    a new call from here: the report stays offline), else the offline summariser's."""
    scope = summarize.Scope("executive", round_label=round_label or scoring.LATEST)
    try:
        summary = None
        try:
            config = llm.load_config()
            summary = summarize.cached_for(con, scope, config.model, principal=principal) if config.enabled else None
        except llm.LLMError:
            summary = None
        summary = summary or summarize.offline_for(con, scope, principal=principal)
    except summarize.SummaryError:
        return ""
    engine = "offline summariser" if summary.offline else summary.engine
    return ('<section class="keep"><h2>Summary for management</h2>'
            + "".join(f"<p>{_e(p)}</p>" for p in summary.paragraphs)
            + f'<p class="muted">Written by the {_e(engine)} from the figures below (see the Summaries page).</p>'
            + "</section>")


def _headed_table(heading: str, frame: pd.DataFrame, columns: dict[str, str], *, level: int = 2, first: int = 4,
                  **options: Any) -> str:
    """A heading and its table: the heading prints with the table's first rows (a block that is never split),
    the rest follows as a continuation table with the same header, so a long table never strands its heading."""
    head = _block(heading, _table(frame.head(first), columns, **options), level=level)
    return head + (_table(frame.iloc[first:], columns, **options) if len(frame) > first else "")


def _block(heading: str, *content: str, level: int = 2) -> str:
    """A heading kept on the page of what it introduces (its chart or table): printed as one unit."""
    return f'<section class="keep"><h{level}>{_e(heading)}</h{level}>{"".join(content)}</section>'


def build_report(
    con: duckdb.DuckDBPyConnection, assessment_ids: Iterable[int], *, organisation: str = "",
    round_label: str | None = None, catalog: Catalog | None = None, today: dt.date | None = None,
    principal: Principal,
) -> str:
    """The whole report as one self-contained HTML page (about 5 MB: plotly.js is inside).

    `organisation`: the name on the cover; empty takes the name stored in Settings (`dashboard.organisation`).
    It opens with the executive paragraph, then the headline; every heading is printed with its chart or table."""
    catalog = catalog or load_catalog()
    scale, today = catalog.scale, today or dt.date.today()
    ids = list(assessment_ids)
    organisation = organisation or organisation_name(con)
    summary = scoring.organisation_summary(con, ids)
    sections = scoring.organisation_sections(con, ids)
    drafts = provenance.drafts(con, ids)
    marks = provenance.marked(drafts)  # a draft under the threshold is marked beside its unit's name
    per_unit = scoring.section_scores(con, ids).replace({"unit": marks})
    merged = roadmap.organisation_plan(con, ids, catalog, today=today)
    facts = selection_facts(con, ids, catalog, organisation=organisation, round_label=round_label, generated=today)
    head = facts[: [name for name, _ in facts].index("Catalog") + 1]  # who, what, when; the figures follow as cards
    title = "AI management system gap assessment" + (f" — {organisation}" if organisation else "")
    parts = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="muted">ISO/IEC 42001 gap assessment · generated {_e(today)} · catalog {_e(catalog.version)}</p>',
        '<table class="facts">' + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in head) + "</table>",
        _executive(con, round_label, principal),
        _block("Where we stand", _cards(summary, scale)),
    ]
    if not drafts.empty:
        parts.append(f'<p class="provisional">⚠ {_e(provenance.drafts_text(drafts))}</p>')
    if (sections["kind"] == "clause").any():
        parts.append(_block("Maturity per clause",
                            _figure(charts.clause_maturity_chart(sections, scale, title="Maturity per clause (mean of units)"),
                                    "clauses")))
    if (sections["kind"] == "annex_a").any():
        parts.append(_block("Annex A coverage",
                            _figure(charts.annex_coverage_chart(sections, title="Annex A coverage per objective"), "coverage")))
    if not per_unit.empty:
        # the chart builders escape user text themselves (Plotly reads labels as a little HTML)
        heat = charts.heatmap(per_unit, title="Benchmarking: maturity per unit and section")
        parts.append(_block("Benchmarking", '<p class="muted">Each cell is a unit\'s section score in its level\'s colour; '
                            "no data = not assessed or not in the assessment's scope.</p>", _figure(heat, "benchmark")))
    gaps_heading = f"Top {TOP_GAPS} gaps to close first"
    if merged.empty:
        parts.append(_block(gaps_heading, "<p>No open gap: every assessed item meets its target.</p>"))
    else:
        top = merged.head(TOP_GAPS).assign(below=[
            f"{n} of {m}" + (f" ({z} at level 0)" if z else "") + f": {u}"
            for n, m, z, u in zip(merged["units_below"], merged["units_assessed"], merged["units_at_zero"], merged["units"],
                                  strict=True)][:TOP_GAPS])
        parts.append(_headed_table(gaps_heading, top, {"rank": "#", "phase": "Phase", "item_id": "Item", "title": "Title",
                                                       "below": "Units below target", "lowest": "Lowest level",
                                                       "target": "Target", "why": "Why this priority"},
                                   levels=("lowest", "target"), scale=scale, first=3))
        parts.append(_block("Roadmap by phase",
                            _figure(roadmap.timeline_chart(merged, title="Roadmap phases and due dates", today=today),
                                    "timeline")))
        for phase in roadmap.PHASES:
            part = merged[merged["phase"] == phase.name]
            heading = f"{phase.label} — {len(part)} action(s)"
            if part.empty:
                parts.append(f"<h3>{_e(heading)}</h3>")
            else:
                parts.append(_headed_table(heading, part, {"rank": "#", "item_id": "Item", "title": "Title", "units": "Units",
                                                           "suggested_action": "Next step", "owner": "Owner",
                                                           "due_date": "Due", "status": "Status"}, level=3))
    parts.append(_frameworks_block(con, ids))
    notes = [*scoring_brief(catalog), *priority_brief()]
    parts += ["<h2>How the figures are computed</h2>", "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>",
              '<p class="muted">Clause and control numbers and titles are those of ISO/IEC 42001; every other sentence '
              "(questions, rubric, suggested steps) is this project's own wording.</p>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{_CSS}</style><script>{get_plotlyjs()}</script></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _frameworks_block(con: duckdb.DuckDBPyConnection, ids: list[int]) -> str:
    """Other frameworks (EU AI Act, NIST AI RMF, ISO/IEC 27001) derived from the 42001 answers: one separate block,
    built by `etl.framework_exports.report_section` from `dashboard.readiness`."""
    from etl.framework_exports import report_section

    return report_section(con, ids)


def find_chromium() -> str | None:
    """The path of a Chromium (Debian's `chromium` first), or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_command(browser: str, profile: str, *extra: str) -> list[str]:
    """A headless Chromium that stays offline: no first-run, no background or component networking."""
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", f"--user-data-dir={profile}",
            "--window-size=1100,1400", "--virtual-time-budget=20000", *extra]


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, *, browser: str | None = None, timeout: float = 180) -> Path:
    """Print the report to PDF with headless Chromium (charts included, as the browser draws them)."""
    browser = browser or find_chromium()
    if not browser:
        raise PdfUnavailable("PDF unavailable: no Chromium found. Install Debian's chromium (apt-get install chromium), "
                             "or open the HTML report in a browser and print it to PDF.")
    source, target = Path(html_path).resolve(), Path(pdf_path).resolve()
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="aims-chromium-") as profile:
        command = chromium_command(browser, profile, "--no-pdf-header-footer", f"--print-to-pdf={target}", source.as_uri())
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfUnavailable(f"PDF unavailable: Chromium did not finish ({exc}).") from exc
    if not target.is_file() or target.stat().st_size == 0:
        raise PdfUnavailable(f"PDF unavailable: Chromium exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    return target
