"""Roadmap and SoA exports: numbers equal the dashboard's, Excel is formatted for people, nothing runs as a formula."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from dashboard import roadmap, scoring, store, tracking
from dashboard.catalog import Catalog
from dashboard.charts import LEVEL_COLOURS
from dashboard.columns import label
from dashboard.db import connect
from etl import report, roadmap_exports
from tests.etl.conftest import REPO_ROOT
from tests.principals import ADMIN

PREFIXES = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1"]
EVIL_UNIT = "=Evil Unit"
HTML_UNIT = "<script>alert(1)</script> Unit"
HTML_OWNER = "<img src=x onerror=alert(1)>"


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _headers(columns, extra=None) -> list[str]:
    """The headers people read for these export columns (`dashboard.columns`)."""
    return [(extra or {}).get(c) or label(c) for c in columns]


def _sheet_rows(data: bytes, sheet: str, columns=None, extra=None) -> list[dict]:
    """The sheet's rows keyed by machine name, after checking that its headers are the people's labels."""
    columns = columns or (roadmap_exports.SOA_COLUMNS if sheet == "Statement of Applicability" else
                          roadmap_exports.ORGANISATION_EXPORT_COLUMNS if sheet == "Organisation roadmap" else
                          roadmap_exports.ROADMAP_EXPORT_COLUMNS)
    extra = extra if extra is not None else (roadmap_exports.SOA_LABELS if sheet == "Statement of Applicability" else None)
    book = openpyxl.load_workbook(io.BytesIO(data))
    values = list(book[sheet].iter_rows(values_only=True))
    assert list(values[0]) == _headers(columns, extra)
    assert not any("_" in str(h) for h in values[0])
    return [dict(zip(columns, row, strict=True)) for row in values[1:]]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def assert_csv_safe(data: bytes) -> list[str]:
    """No cell could run as a formula: anything starting with = + - @ tab CR is a genuine number."""
    cells = [cell for row in _csv_rows(data) for cell in row]
    for cell in cells:
        assert not cell.startswith(PREFIXES) or _is_number(cell), repr(cell)
    return cells


def assert_xlsx_safe(data: bytes) -> list[str]:
    """No formula anywhere (not in the XML, not as a cell type) and no text cell a spreadsheet would evaluate."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<f[ >]", archive.read(name)), name
    texts = []
    for sheet in openpyxl.load_workbook(io.BytesIO(data)):
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(PREFIXES), (sheet.title, cell.coordinate, cell.value)
                    texts.append(cell.value)
    return texts


@pytest.fixture
def hostile_db(demo_db: Path, catalog: Catalog) -> Path:
    """The demo plus two units whose names and answers are formula and HTML injection attempts."""
    with connect(demo_db) as con:
        for unit, label in ((EVIL_UNIT, "2026-Q4"), (HTML_UNIT, "2026-Q4")):
            a = store.create_assessment(con, unit=unit, label=label, scope="both", catalog_version=catalog.version,
                                        assessed_on=dt.date(2026, 11, 2))
            items = ["4.3", "5.2", "5.3", "6.1.2", "A.5.2", "A.2.2"]
            for n, (item, text) in enumerate(zip(items, HOSTILE, strict=True)):
                store.update_response(con, a.id, item, {"maturity": n % 2, "evidence": text, "notes": HOSTILE[-1 - n],
                                                        "owner": HOSTILE[(n + 1) % len(HOSTILE)]}, by="attacker", principal=ADMIN)
            store.update_response(con, a.id, "A.10.4", {"applicable": False, "justification": HOSTILE[0]}, by="attacker", principal=ADMIN)
            tracking.set_actions(con, [(a.id, "4.3")], {"owner": "@SUM(A1)"}, principal=ADMIN, by="attacker")
            tracking.set_actions(con, [(a.id, "5.2")], {"owner": HTML_OWNER}, principal=ADMIN, by="attacker")
    return demo_db


def test_no_export_contains_a_formula_or_an_unescaped_cell(hostile_db: Path) -> None:
    with connect(hostile_db) as con:
        ids = scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST)
        evil = store.get_assessment(con, unit=EVIL_UNIT, label="2026-Q4")
        assert evil is not None and evil.id in ids
        files = {
            "roadmap.csv": roadmap_exports.roadmap_file(con, ids, "csv", organisation="=ORG()"),
            "org.csv": roadmap_exports.roadmap_file(con, ids, "csv", organisation_view=True),
            "roadmap.xlsx": roadmap_exports.roadmap_file(con, ids, "xlsx", organisation="=ORG()"),
            "org.xlsx": roadmap_exports.roadmap_file(con, ids, "xlsx", organisation_view=True, organisation="+ORG"),
            "soa.csv": roadmap_exports.soa_file(con, evil.id, "csv"),
            "soa.xlsx": roadmap_exports.soa_file(con, evil.id, "xlsx", organisation="@ORG"),
        }
        page = report.build_report(con, ids, organisation="<b>Org</b>", principal=ADMIN)
    texts = {name: (assert_csv_safe(data) if name.endswith(".csv") else assert_xlsx_safe(data)) for name, data in files.items()}
    # the hostile text is exported, neutralised with a leading apostrophe, not dropped (the store trims
    # leading tabs and carriage returns, which leaves "=1+1")
    for name in ("roadmap.csv", "roadmap.xlsx"):
        for text in HOSTILE:
            assert "'" + text.strip() in texts[name], (name, text)
        assert "'" + EVIL_UNIT in texts[name]
        assert "'@SUM(A1)" in texts[name]  # the owner set on the roadmap
    assert "'=ORG()" in texts["roadmap.xlsx"] and "'+ORG" in texts["org.xlsx"]
    for name in ("soa.csv", "soa.xlsx"):
        assert "'" + HOSTILE[0] in texts[name]  # the justification of the excluded control
    # the HTML report: user text escaped, never markup
    assert HTML_OWNER not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; Unit" in page
    assert "<b>Org</b>" not in page and "&lt;b&gt;Org&lt;/b&gt;" in page


def test_roadmap_numbers_equal_the_scoring_engine(demo_db: Path) -> None:
    with connect(demo_db) as con:
        ids = scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST)
        items = scoring.item_scores(con, ids).set_index(["unit", "item_id"])
        summary = scoring.organisation_summary(con, ids)
        data = roadmap_exports.roadmap_file(con, ids, "xlsx", organisation="Aldermoor Financial Group",
                                           round_label=scoring.LATEST)
        csv_rows = _csv_rows(roadmap_exports.roadmap_file(con, ids, "csv"))
    exported = _sheet_rows(data, "Roadmap")
    assert len(exported) == summary["open_gaps"] == len(csv_rows) - 1
    for row in exported:
        scored = items.loc[(row["unit"], row["item_id"])]
        assert (row["maturity"], row["target"], row["gap"]) == (scored["maturity"], scored["target"], scored["gap"])
    header = csv_rows[0]
    assert header == _headers(roadmap_exports.ROADMAP_EXPORT_COLUMNS)
    assert header[:6] == ["Phase", "Rank", "Unit", "Round", "Section", "Item"] and "Due date" in header
    assert [r[header.index("Item")] for r in csv_rows[1:]] == [r["item_id"] for r in exported]
    assert not any(cell in ("None", "nan", "NaT") or cell.endswith(" 00:00:00") for r in csv_rows for cell in r)
    assert all(len(r["why"]) < 160 and "×" not in r["why"] and "×" in r["score_detail"] for r in exported)
    cover = dict(openpyxl.load_workbook(io.BytesIO(data))["Cover"].iter_rows(min_row=3, max_col=2, values_only=True))
    assert cover["Organisation"] == "Aldermoor Financial Group"
    assert cover["Clause maturity"].startswith(f"{summary['clause_maturity']:.2f} (")
    assert cover["Open gaps"] == summary["open_gaps"]
    assert cover["Business units"].startswith("10: Asset Management, Corporate Banking")
    assert cover["Rounds"] == f"2026-Q3 (selection: {scoring.LATEST})"
    assert "2026.11" in cover["Catalog"]


def test_roadmap_workbook_is_formatted_for_people(demo_db: Path) -> None:
    with connect(demo_db) as con:
        ids = scoring.select_assessments(con, principal=ADMIN, units=["HR & People"], round_label=scoring.LATEST)
        data = roadmap_exports.roadmap_file(con, ids, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(data))
    label_of = {label(c): c for c in roadmap_exports.ROADMAP_EXPORT_COLUMNS}
    assert book.sheetnames == ["Cover", "Roadmap"]
    sheet = book["Roadmap"]
    header = [label_of[c.value] for c in sheet[1]]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}{sheet.max_row}"
    assert all(c.font.bold for c in sheet[1])
    why = openpyxl.utils.get_column_letter(header.index("why") + 1)
    assert sheet.column_dimensions[why].width == pytest.approx(60, abs=1)
    maturity_col, due_col, phase_col = (header.index(c) for c in ("maturity", "due_date", "phase"))
    phases = set()
    for row in sheet.iter_rows(min_row=2):
        level = row[maturity_col].value
        assert row[maturity_col].fill.fgColor.rgb.upper().endswith(LEVEL_COLOURS[level].lstrip("#").upper())
        assert row[due_col].is_date and isinstance(row[due_col].value, dt.datetime)
        phases.add(row[phase_col].value)
    assert phases <= {"Now", "Next", "Later"} and "Now" in phases
    # long wrapped text gets a taller row (programs that write .xlsx must set it; no viewer grows it)
    heights = [sheet.row_dimensions[r].height or 15 for r in range(2, sheet.max_row + 1)]
    assert min(heights) >= 30 and max(heights) >= 60
    assert sheet.row_dimensions[1].height is None
    notes = [r[0] for r in book["Cover"].iter_rows(values_only=True) if r[0]]
    assert "Priority and phases" in notes and any(n.startswith("Priority score = gap × weight") for n in notes)


def test_organisation_export_merges_units(demo_db: Path) -> None:
    with connect(demo_db) as con:
        ids = scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST)
        merged = roadmap.organisation_plan(con, ids)
        data = roadmap_exports.roadmap_file(con, ids, "xlsx", organisation_view=True)
    exported = _sheet_rows(data, "Organisation roadmap")
    assert [r["item_id"] for r in exported] == merged["item_id"].tolist()
    a52 = next(r for r in exported if r["item_id"] == "A.5.2")
    assert re.match(r"\d+ of \d+ units below target — A\.5\.2 ", a52["summary"])
    assert a52["units_below"] == len(a52["units"].split(", "))


def test_soa_lists_every_control_as_scored(demo_db: Path, catalog: Catalog) -> None:
    with connect(demo_db) as con:
        assessment = roadmap_exports.find_soa_assessment(con, "hr & people")
        soa = scoring.statement_of_applicability(con, assessment.id)
        data = roadmap_exports.soa_file(con, assessment.id, "xlsx")
        rows = _csv_rows(roadmap_exports.soa_file(con, assessment.id, "csv"))
    assert (assessment.unit, assessment.label) == ("HR & People", "2026-Q3")
    exported = _sheet_rows(data, "Statement of Applicability")
    assert [r["control"] for r in exported] == [i.id for i in catalog.items_of("annex_a")] == soa["control"].tolist()
    for row, expected in zip(exported, soa.to_dict("records"), strict=True):
        assert row["applicable"] == expected["applicable"] and row["status"] == expected["status"]
        assert row["maturity"] == (None if expected["maturity"] is None or expected["maturity"] != expected["maturity"]
                                   else expected["maturity"])
    excluded = [r for r in exported if r["applicable"] == "no"]
    assert excluded and all(r["justification"] and r["status"] == "not applicable" for r in excluded)
    assert rows[0] == _headers(roadmap_exports.SOA_COLUMNS, roadmap_exports.SOA_LABELS) and len(rows) == len(exported) + 1
    assert rows[0][3:6] == ["Included", "Justification (inclusion or exclusion)", "Implemented"]
    cover = dict(openpyxl.load_workbook(io.BytesIO(data))["Cover"].iter_rows(min_row=3, max_col=2, values_only=True))
    assert cover["Assessment"] == "HR & People · 2026-Q3 · draft"
    assert cover["Controls"].endswith(f"{len(excluded)} excluded")
    # every control carries the reason for its decision: included ones their inclusion justification
    included = [r for r in exported if r["applicable"] == "yes"]
    missing = scoring.unjustified_controls(soa)
    assert all(r["justification"] for r in included if r["control"] not in missing)
    assert missing and all(not r["justification"] for r in included if r["control"] in missing)
    assert {r["implemented"] for r in included} <= {"yes", "partly", "no", "not assessed"}
    assert all(r["implemented"] == "—" for r in excluded)
    warnings = [v for k, v in openpyxl.load_workbook(io.BytesIO(data))["Cover"].iter_rows(min_row=3, max_col=2,
                                                                                         values_only=True) if k == "Warning"]
    assert warnings == [f"{len(missing)} included control(s) without a justification for inclusion (the risks or "
                        f"obligations it treats): {', '.join(missing)}"]


def test_soa_needs_an_annex_a_assessment(demo_db: Path) -> None:
    with connect(demo_db) as con:
        with pytest.raises(store.StoreError, match="no assessment covering Annex A"):
            roadmap_exports.find_soa_assessment(con, "HR & People", "2025-Q1")  # clauses only in that round
        with pytest.raises(store.StoreError, match="No assessment for a business unit named"):
            roadmap_exports.find_soa_assessment(con, "Nobody")
        assert roadmap_exports.find_soa_assessment(con, "Group IT", "2025-Q1").label == "2025-Q1"


def test_nothing_to_plan_still_exports(con, catalog: Catalog) -> None:
    a = store.create_assessment(con, unit="Calm Unit", label="R1", scope="clauses", catalog_version=catalog.version)
    for item in ("4.1", "5.2"):  # at or above target; everything else not assessed: no gap anywhere
        store.update_response(con, a.id, item, {"maturity": 4}, by="t", principal=ADMIN)
    assert roadmap.plan(con, [a.id]).empty and roadmap.organisation_plan(con, [a.id]).empty
    assert _csv_rows(roadmap_exports.roadmap_file(con, [a.id], "csv")) == [_headers(roadmap_exports.ROADMAP_EXPORT_COLUMNS)]
    assert _sheet_rows(roadmap_exports.roadmap_file(con, [a.id], "xlsx", organisation_view=True), "Organisation roadmap") == []
    page = report.build_report(con, [a.id], principal=ADMIN)
    assert "No open gap: every assessed item meets its target." in page and "Annex A coverage</h2>" not in page


# --- the command line ----------------------------------------------------------------------------------


def test_cli_exports_roadmap_and_soa(demo_db: Path, tmp_path: Path, cli: Callable) -> None:
    out = tmp_path / "road.xlsx"
    done = cli(demo_db, "roadmap", "--format", "xlsx", "--out", str(out), "--unit", "group it", "--org-name", "Aldermoor")
    assert done.returncode == 0, done.stderr
    assert "Wrote the roadmap of 1 assessment(s)" in done.stdout
    assert {r["unit"] for r in _sheet_rows(out.read_bytes(), "Roadmap")} == {"Group IT"}
    out = tmp_path / "org.csv"
    done = cli(demo_db, "roadmap", "--format", "csv", "--out", str(out), "--organisation", "--round", "2025-Q4",
               "--scope", "annex_a")
    assert done.returncode == 0, done.stderr
    with connect(demo_db) as con:
        expected = roadmap.organisation_plan(con, scoring.select_assessments(con, principal=ADMIN, round_label="2025-Q4"))
    expected = expected[expected["kind"] == "annex_a"]
    assert [r[2] for r in _csv_rows(out.read_bytes())[1:]] == expected["item_id"].tolist()
    assert len(expected) and all(i.startswith("A.") for i in expected["item_id"])
    out = tmp_path / "soa.csv"
    done = cli(demo_db, "soa", "--unit", "Group IT", "--assessment", "2025-Q4", "--format", "csv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert len(_csv_rows(out.read_bytes())) == 39  # header + 38 controls


@pytest.mark.parametrize(("args", "message"), [
    (("roadmap", "--format", "csv", "--out", "x.csv", "--unit", "Nobody"), "no business unit named 'Nobody'"),
    (("roadmap", "--format", "csv", "--out", "x.csv", "--round", "1999-Q1"), "no round labelled '1999-Q1'"),
    (("roadmap", "--format", "csv", "--out", "x.xlsx"), "does not end in .csv"),
    (("soa", "--unit", "HR & People", "--assessment", "2025-Q1", "--format", "csv", "--out", "x.csv"),
     "no assessment covering Annex A"),
    (("report", "--out", "x.txt"), "does not end in .html"),
])
def test_cli_refuses_with_a_message(demo_db: Path, tmp_path: Path, cli: Callable, args: tuple[str, ...], message: str) -> None:
    args = tuple(str(tmp_path / a) if a.startswith("x.") else a for a in args)
    done = cli(demo_db, *args)
    assert done.returncode != 0
    assert message in done.stderr
    assert not list(tmp_path.glob("x.*"))


def test_readme_documents_every_roadmap_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("roadmap", "soa", "report"):
        assert f"python -m etl {command} " in readme, command
    assert "## Roadmap and exports" in readme
