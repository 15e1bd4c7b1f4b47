"""The command line `python -m etl template|import|export|demo`, as a subprocess and in-process."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from dashboard import scoring, store
from dashboard.catalog import load_catalog
from dashboard.db import connect
from etl.canonical import COLUMNS
from etl.cli import main
from etl.demo_data import DEMO_ROUNDS, DEMO_UNITS

from .conftest import CLI_USER

SECTION_NAMES = {"4", "5", "6", "7", "8", "9", "10", "A.2", "A.3", "A.4", "A.5", "A.6", "A.7", "A.8", "A.9", "A.10"}
TEMPLATE_HEADER = {"unit", "assessment", "assessed_on", "item_id", "title", "maturity", "target", "applicable",
                   "justification", "evidence", "owner", "due_date", "notes"}


def read_csv(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def xlsx_rows(path: Path) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(path)
    assert len(book.worksheets) == 1
    return [tuple(r) for r in book.worksheets[0].iter_rows(values_only=True)]


# --- help and template ---------------------------------------------------------------------------


def test_help_lists_every_command(cli, tmp_path: Path) -> None:
    result = cli(tmp_path / "unused.duckdb", "--help")
    assert result.returncode == 0, result.stderr
    for command in ("template", "import", "export", "demo"):
        assert command in result.stdout
    assert not (tmp_path / "unused.duckdb").exists()


def test_no_command_is_a_usage_error(cli, tmp_path: Path) -> None:
    result = cli(tmp_path / "unused.duckdb")
    assert result.returncode != 0
    assert "usage" in result.stderr.lower()


def _template_columns(ws) -> dict[str, int]:
    header = [c.value for c in ws[1]]
    return {name: index for index, name in enumerate(header) if name}


def _validations_on(ws, column_letter: str, rows: int) -> list:
    """The data validations whose ranges cover the whole answer column (rows 2..rows+1)."""
    found = []
    for dv in ws.data_validations.dataValidation:
        for cells in dv.sqref.ranges:
            if (cells.min_col == cells.max_col == openpyxl.utils.column_index_from_string(column_letter)
                    and cells.min_row <= 2 and cells.max_row >= rows + 1):
                found.append(dv)
    return found


def test_template_writes_the_canonical_workbook(tmp_path: Path, catalog, capsys) -> None:
    out = tmp_path / "t.xlsx"
    assert main(["--db", str(tmp_path / "x.duckdb"), "template", "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out

    book = openpyxl.load_workbook(out)
    assert "Instructions" in book.sheetnames
    assert any(c.value for row in book["Instructions"].iter_rows() for c in row)
    ws = book["Responses"]
    columns = _template_columns(ws)
    assert set(columns) >= TEMPLATE_HEADER

    ids = [row[columns["item_id"]] for row in ws.iter_rows(min_row=2, values_only=True) if any(row)]
    assert len(ids) == 70 == len(catalog.items)
    assert ids == [item.id for item in catalog.items]
    assert len(set(ids)) == 70

    letter = openpyxl.utils.get_column_letter
    for name in ("maturity", "target"):
        found = _validations_on(ws, letter(columns[name] + 1), 70)
        assert found, f"no data validation on {name}"
        dv = found[0]
        assert dv.type == "whole"
        assert dv.operator in (None, "between")
        assert (str(dv.formula1), str(dv.formula2)) == ("0", "5")
    found = _validations_on(ws, letter(columns["applicable"] + 1), 70)
    assert found, "no data validation on applicable"
    assert found[0].type == "list"
    assert [v.strip().lower() for v in str(found[0].formula1).strip('"').split(",")] == ["yes", "no"]
    # no validation restricts the free-text columns
    assert not _validations_on(ws, letter(columns["evidence"] + 1), 70)


def test_template_subprocess_writes_a_readable_file(cli, tmp_path: Path) -> None:
    out = tmp_path / "template.xlsx"
    result = cli(tmp_path / "x.duckdb", "template", "--out", str(out))
    assert result.returncode == 0, result.stderr
    book = openpyxl.load_workbook(out)
    assert {"Instructions", "Responses"} <= set(book.sheetnames)
    header = [c.value for c in book["Responses"][1]]
    assert header == list(COLUMNS)


# --- demo and score export -----------------------------------------------------------------------


def test_demo_then_scores_export_has_every_in_scope_section(demo_db: Path, cli, tmp_path: Path, catalog) -> None:
    out = tmp_path / "scores.csv"
    result = cli(demo_db, "export", "scores", "--format", "csv", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = read_csv(out)

    with connect(demo_db) as con:
        assessments = store.list_assessments(con)
    assert len(assessments) == 30 == len(DEMO_UNITS) * len(DEMO_ROUNDS)

    kinds = {s.id: s.kind for s in catalog.sections}
    assert set(kinds) == SECTION_NAMES
    expected = set()
    for a in assessments.itertuples():
        for section, kind in kinds.items():
            if a.scope == "both" or (a.scope == "clauses") == (kind == "clause"):
                expected.add((a.unit, a.label, section))
    got = [(r["unit"], r["assessment"], r["section"]) for r in rows]
    assert len(got) == len(set(got)), "a section appears twice for one assessment"
    assert set(got) == expected
    assert {r["section"] for r in rows} == SECTION_NAMES
    assert {(r["unit"], r["assessment"]) for r in rows} == {(a.unit, a.label) for a in assessments.itertuples()}
    # scores are numbers within the scale (or blank for a section with nothing assessed)
    for r in rows:
        if r["maturity"]:
            assert 0 <= float(r["maturity"]) <= 5


def test_demo_twice_changes_nothing(demo_db: Path, cli, file_snapshot) -> None:
    before = file_snapshot(demo_db)
    result = cli(demo_db, "demo")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == len(DEMO_UNITS)
    assert all("already imported" in line for line in lines), result.stdout
    assert file_snapshot(demo_db) == before


def test_demo_creates_final_and_draft_rounds(demo_db: Path) -> None:
    with connect(demo_db) as con:
        assessments = store.list_assessments(con)
        batches = con.execute("SELECT count(*), min(imported_by) FROM import_batch").fetchall()[0]
    assert set(assessments["source"]) == {"demo"}
    assert set(assessments["status"]) == {"final", "draft"}
    assert batches == (len(DEMO_UNITS), CLI_USER)


# --- responses export -> import -> export --------------------------------------------------------


def test_responses_csv_round_trip_is_byte_identical(demo_db: Path, tmp_path: Path, capsys) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    empty = tmp_path / "empty.duckdb"
    assert main(["--db", str(demo_db), "export", "responses", "--format", "csv", "--out", str(first)]) == 0
    assert main(["--db", str(empty), "import", str(first)]) == 0
    assert "imported" in capsys.readouterr().out
    assert main(["--db", str(empty), "export", "responses", "--format", "csv", "--out", str(second)]) == 0

    assert len(read_csv(first)) > 1000
    assert first.read_bytes() == second.read_bytes()


def test_responses_xlsx_round_trip_gives_identical_rows(demo_db: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    empty = tmp_path / "empty.duckdb"
    assert main(["--db", str(demo_db), "export", "responses", "--format", "xlsx", "--out", str(first)]) == 0
    assert main(["--db", str(empty), "import", str(first)]) == 0
    assert main(["--db", str(empty), "export", "responses", "--format", "xlsx", "--out", str(second)]) == 0

    rows = xlsx_rows(first)
    assert rows[0] == tuple(COLUMNS)
    assert len(rows) > 1000
    assert xlsx_rows(second) == rows


def test_round_trip_keeps_scores_apart_from_status(demo_db: Path, tmp_path: Path) -> None:
    exported, empty = tmp_path / "responses.csv", tmp_path / "empty.duckdb"
    assert main(["--db", str(demo_db), "export", "responses", "--format", "csv", "--out", str(exported)]) == 0
    assert main(["--db", str(empty), "import", str(exported)]) == 0
    for db, name in ((demo_db, "a.csv"), (empty, "b.csv")):
        assert main(["--db", str(db), "export", "assessments", "--format", "csv", "--out", str(tmp_path / name)]) == 0
    a, b = read_csv(tmp_path / "a.csv"), read_csv(tmp_path / "b.csv")
    assert len(a) == 30
    strip = [{k: v for k, v in row.items() if k != "status"} for row in a]
    assert strip == [{k: v for k, v in row.items() if k != "status"} for row in b]
    # the headline is in the export: overall maturity and its level, from the scoring engine
    with connect(demo_db) as con:
        scores = scoring.assessment_scores(con)
    first = scores.iloc[0]
    row = next(r for r in a if r["unit"] == first["unit"] and r["assessment"] == first["assessment"])
    assert float(row["overall_maturity"]) == pytest.approx(first["overall_maturity"])
    assert row["overall_level"] == load_catalog().scale.level_name(first["overall_maturity_level"])


def test_export_unit_filter_is_case_insensitive(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "group-it.csv"
    assert main(["--db", str(demo_db), "export", "responses", "--format", "csv", "--unit", "group it",
                 "--out", str(out)]) == 0
    rows = read_csv(out)
    assert rows
    assert {r["unit"] for r in rows} == {"Group IT"}
    assert {r["assessment"] for r in rows} == {label for label, _ in DEMO_ROUNDS}


# --- errors --------------------------------------------------------------------------------------


def test_export_unknown_unit_fails_with_message(demo_db: Path, cli, tmp_path: Path) -> None:
    out = tmp_path / "nope.csv"
    result = cli(demo_db, "export", "responses", "--format", "csv", "--unit", "Nonexistent Unit", "--out", str(out))
    assert result.returncode != 0
    assert "Nonexistent Unit" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(("fmt", "name"), [("csv", "out.xlsx"), ("xlsx", "out.csv"), ("csv", "out.txt")])
def test_export_out_suffix_must_match_format(tmp_path: Path, capsys, fmt: str, name: str) -> None:
    out = tmp_path / name
    status = main(["--db", str(tmp_path / "x.duckdb"), "export", "scores", "--format", fmt, "--out", str(out)])
    assert status != 0
    assert name in capsys.readouterr().err
    assert not out.exists()


def test_export_out_suffix_mismatch_subprocess(cli, tmp_path: Path) -> None:
    out = tmp_path / "scores.xlsx"
    result = cli(tmp_path / "x.duckdb", "export", "scores", "--format", "csv", "--out", str(out))
    assert result.returncode != 0
    assert ".csv" in result.stderr
    assert not out.exists()


def test_import_missing_file_fails(cli, tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist.xlsx"
    result = cli(tmp_path / "x.duckdb", "import", str(missing))
    assert result.returncode != 0
    assert "does-not-exist.xlsx" in result.stderr


def test_import_bad_file_exits_2_and_names_the_cells(cli, tmp_path: Path, make_xlsx, file_snapshot) -> None:
    bad = tmp_path / "bad-answers.xlsx"
    rows = [
        {"unit": "Ops", "assessment": "2026-Q3", "item_id": "4.1", "maturity": 2},
        {"unit": "Ops", "assessment": "2026-Q3", "item_id": "4.2", "maturity": "great"},
        {"unit": "Ops", "assessment": "2026-Q3", "item_id": "4.3", "maturity": 3, "applicable": "maybe"},
    ]
    bad.write_bytes(make_xlsx(rows, COLUMNS))
    db = tmp_path / "x.duckdb"
    result = cli(db, "import", str(bad))
    assert result.returncode == 2, (result.stdout, result.stderr)
    err = result.stderr
    maturity_line = next(line for line in err.splitlines() if "great" in line)
    assert "bad-answers.xlsx" in maturity_line
    assert "sheet 'Responses'" in maturity_line
    assert "row 3" in maturity_line
    assert "column maturity (G)" in maturity_line
    applicable_line = next(line for line in err.splitlines() if "maybe" in line)
    assert "row 4" in applicable_line and "column applicable (I)" in applicable_line
    assert "rejected" in err
    snap = file_snapshot(db)
    assert snap["response.count"] == snap["assessment.count"] == snap["import_batch.count"] == 0


def test_import_good_file_and_dry_run_via_cli(cli, tmp_path: Path, make_csv, file_snapshot) -> None:
    good = tmp_path / "answers.csv"
    good.write_bytes(make_csv([{"item_id": "4.1", "maturity": 2}, {"item_id": "5.2", "maturity": "Defined"}]))
    db = tmp_path / "x.duckdb"

    dry = cli(db, "import", "--dry-run", "--unit", "Ops", "--assessment", "2026-Q3", str(good))
    assert dry.returncode == 0, dry.stderr
    assert "would import" in dry.stdout
    assert file_snapshot(db)["response.count"] == 0

    real = cli(db, "import", "--unit", "Ops", "--assessment", "2026-Q3", str(good))
    assert real.returncode == 0, real.stderr
    assert "2 new responses" in real.stdout
    with connect(db) as con:
        got = con.execute("SELECT item_id, maturity, changed_by FROM response ORDER BY item_id").fetchall()
    assert got == [("4.1", 2, CLI_USER), ("5.2", 3, CLI_USER)]

    again = cli(db, "import", "--unit", "Ops", "--assessment", "2026-Q3", str(good))
    assert again.returncode == 0
    assert "already imported" in again.stdout


def test_import_several_files_one_bad_exits_2_but_loads_the_good_one(tmp_path: Path, make_csv, capsys) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(make_csv([{"unit": "Ops", "assessment": "R1", "item_id": "4.1", "maturity": 1}]))
    bad.write_bytes(make_csv([{"unit": "Ops", "assessment": "R1", "item_id": "4.2", "maturity": 9}]))
    db = tmp_path / "x.duckdb"
    assert main(["--db", str(db), "import", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert "good.csv: imported" in captured.out
    assert "bad.csv" in captured.err and "row 2" in captured.err
    with connect(db) as con:
        assert con.execute("SELECT item_id, maturity FROM response").fetchall() == [("4.1", 1)]
