"""Importing canonical .xlsx/.csv files through etl.importer into a real DuckDB file."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from dashboard import store
from dashboard.db import connect
from etl import exports
from etl.canonical import COLUMNS
from etl.importer import import_bytes, import_path
from etl.template import build_template
from tests.principals import ADMIN

BY = "tester"


def imp(con, data: bytes, name: str = "answers.csv", **options):
    return import_bytes(con, name, data, principal=ADMIN, by=BY, **options)


def stored(con, *fields: str, unit: str | None = None) -> dict[str, tuple]:
    """item_id -> the chosen stored fields, optionally for one unit."""
    sql = (f"SELECT r.item_id, {', '.join('r.' + f for f in fields)} FROM response r "
           "JOIN assessment a ON a.id = r.assessment_id JOIN unit u ON u.id = a.unit_id")
    params: list[object] = []
    if unit:
        sql += " WHERE u.name = ?"
        params.append(unit)
    return {row[0]: tuple(row[1:]) for row in con.execute(sql + " ORDER BY r.item_id", params).fetchall()}


def errors(result) -> list:
    return [p for p in result.problems if p.severity == "error"]


def warnings(result) -> list:
    return [p for p in result.problems if p.severity == "warning"]


def row(item_id: str, **values: object) -> dict[str, object]:
    return {"unit": "Ops", "assessment": "2026-Q3", "item_id": item_id, **values}


# --- formats and encodings -----------------------------------------------------------------------


def test_filled_canonical_xlsx_imports(con, make_xlsx) -> None:
    rows = [
        row("4.1", assessed_on=dt.date(2026, 8, 28), section="4", title="ignored title", maturity=2, target=4,
            applicable="yes", evidence="Context register v3", owner="CRO", due_date=dt.date(2026, 12, 31),
            notes="n1"),
        row("A.6.2.4", assessed_on=dt.date(2026, 8, 28), maturity=1, evidence="Validation reports"),
        row("A.10.4", assessed_on=dt.date(2026, 8, 28), applicable="no", justification="No customers use AI"),
    ]
    result = imp(con, make_xlsx(rows, COLUMNS), "filled.xlsx")
    assert result.status == "imported", [str(p) for p in result.problems]
    assert result.problems == []
    assert result.rows_read == 3
    assert result.new_assessments == ["Ops 2026-Q3"]
    assert (result.counts.new, result.counts.updated, result.counts.unchanged) == (3, 0, 0)

    assessment = store.get_assessment(con, unit="Ops", label="2026-Q3")
    assert assessment is not None
    assert assessment.assessed_on == dt.date(2026, 8, 28)
    assert assessment.scope == "both"
    assert assessment.source == "import"
    got = stored(con, "maturity", "target", "applicable", "justification", "evidence", "owner", "due_date", "notes")
    assert got == {
        "4.1": (2, 4, True, None, "Context register v3", "CRO", dt.date(2026, 12, 31), "n1"),
        "A.10.4": (None, None, False, "No customers use AI", None, None, None, None),
        "A.6.2.4": (1, None, True, None, "Validation reports", None, None, None),
    }
    batch = con.execute("SELECT filename, imported_by, row_count FROM import_batch").fetchall()
    assert batch == [("filled.xlsx", BY, 3)]
    # each new response records who imported it and from which file; the change log holds changes only
    created = con.execute("""SELECT DISTINCT r.created_by, r.created_source, b.filename FROM response r
                             JOIN import_batch b ON b.id = r.created_import""").fetchall()
    assert created == [(BY, "import", "filled.xlsx")]
    assert con.execute("SELECT count(*) FROM change_log").fetchall() == [(0,)]
    history = store.item_history(con, assessment.id, "4.1", principal=ADMIN)
    assert history[["field", "new_value", "changed_by", "source"]].values.tolist() == [
        ["created", "from filled.xlsx", BY, "import"]]


def test_import_path_reads_a_real_file(con, make_csv, tmp_path: Path) -> None:
    path = tmp_path / "from-disk.csv"
    path.write_bytes(make_csv([row("4.1", maturity=3)]))
    result = import_path(con, path, principal=ADMIN, by=BY)
    assert result.status == "imported"
    assert result.file == str(path)
    assert stored(con, "maturity") == {"4.1": (3,)}
    assert con.execute("SELECT filename FROM import_batch").fetchall() == [("from-disk.csv",)]


def test_semicolon_cp1252_csv_keeps_accents(con, make_csv) -> None:
    rows = [
        {"unit": "Crédit Agricole", "assessment": "2026-Q3", "item_id": "4.1", "maturity": 2,
         "evidence": "Procédure validée", "owner": "Zoë Müller", "notes": "coût: 5 €, déjà vu"},
        {"unit": "Crédit Agricole", "assessment": "2026-Q3", "item_id": "4.2", "maturity": 1,
         "evidence": "Résumé; voir l'annexe"},
    ]
    data = make_csv(rows, delimiter=";", encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.splitlines()[0].count(b";") > 3

    result = imp(con, data, "export-fr.csv")
    assert result.status == "imported", [str(p) for p in result.problems]
    assert store.get_assessment(con, unit="Crédit Agricole", label="2026-Q3") is not None
    assert stored(con, "evidence", "owner", "notes") == {
        "4.1": ("Procédure validée", "Zoë Müller", "coût: 5 €, déjà vu"),
        "4.2": ("Résumé; voir l'annexe", None, None),
    }


def test_utf8_bom_csv_imports(con, make_csv) -> None:
    data = make_csv([row("4.1", maturity=2, evidence="Évaluation → ok")], ["unit", "assessment", "item_id",
                                                                          "maturity", "evidence"], bom=True)
    assert data.startswith(b"\xef\xbb\xbfunit,")
    result = imp(con, data)
    assert result.status == "imported", [str(p) for p in result.problems]
    assert [u for u in store.list_units(con)["name"]] == ["Ops"]
    assert stored(con, "maturity", "evidence") == {"4.1": (2, "Évaluation → ok")}


def test_unit_and_assessment_options_fill_missing_columns(con, make_csv) -> None:
    data = make_csv([{"item_id": "4.1", "maturity": 2}, {"item_id": "4.2", "maturity": 3}])

    refused = imp(con, data)
    assert refused.status == "rejected"
    messages = " ".join(p.message for p in errors(refused))
    assert "'unit'" in messages and "'assessment'" in messages
    assert con.execute("SELECT count(*) FROM assessment").fetchall()[0][0] == 0

    result = imp(con, data, unit="Claims", label="2026-Q1")
    assert result.status == "imported", [str(p) for p in result.problems]
    assessment = store.get_assessment(con, unit="Claims", label="2026-Q1")
    assert assessment is not None and assessment.scope == "clauses"
    assert stored(con, "maturity") == {"4.1": (2,), "4.2": (3,)}


def test_unit_in_the_row_wins_over_the_option(con, make_csv) -> None:
    data = make_csv([
        {"unit": "Claims", "item_id": "4.1", "maturity": 2},
        {"unit": None, "item_id": "4.2", "maturity": 3},
    ], ["unit", "item_id", "maturity"])
    result = imp(con, data, unit="Fallback", label="R1")
    assert result.status == "imported", [str(p) for p in result.problems]
    assert stored(con, "maturity", unit="Claims") == {"4.1": (2,)}
    assert stored(con, "maturity", unit="Fallback") == {"4.2": (3,)}


# --- value parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "level"), [
    ("3 - Defined", 3), ("Defined", 3), ("None", 0), ("defined", 3), ("Ad hoc", 1), ("5", 5), ("0", 0),
])
def test_maturity_spellings(con, make_csv, raw: str, level: int) -> None:
    result = imp(con, make_csv([row("4.1", maturity=raw)]))
    assert result.status == "imported", [str(p) for p in result.problems]
    assert stored(con, "maturity") == {"4.1": (level,)}


def test_maturity_numbers_from_xlsx(con, make_xlsx) -> None:
    result = imp(con, make_xlsx([row("4.1", maturity=2), row("4.2", maturity=4.0, target=5)]), "n.xlsx")
    assert result.status == "imported", [str(p) for p in result.problems]
    assert stored(con, "maturity", "target") == {"4.1": (2, None), "4.2": (4, 5)}


@pytest.mark.parametrize(("raw", "item_id"), [
    ("A6.2.4", "A.6.2.4"), ("A 6.2.4", "A.6.2.4"), ("5.2 AI policy", "5.2"), ("a.6.2.4", "A.6.2.4"),
    ("A.6.2.4 - Verification and validation", "A.6.2.4"), ("6.1.2", "6.1.2"),
])
def test_item_id_spellings(con, make_csv, raw: str, item_id: str) -> None:
    result = imp(con, make_csv([row(raw, maturity=2)]))
    assert result.status == "imported", [str(p) for p in result.problems]
    assert stored(con, "maturity") == {item_id: (2,)}


def test_unknown_item_id_is_an_error(con, make_csv, db_snapshot) -> None:
    before = db_snapshot(con)
    result = imp(con, make_csv([row("4.1", maturity=2), row("A.11.1", maturity=2)]), "ids.csv")
    assert result.status == "rejected"
    [problem] = errors(result)
    assert (problem.file, problem.row, problem.column, problem.value) == ("ids.csv", 3, "item_id (C)", "A.11.1")
    assert db_snapshot(con) == before


def test_bad_maturity_errors_name_row_and_column(con, make_xlsx, db_snapshot) -> None:
    before = db_snapshot(con)
    rows = [row("4.1", maturity=2), row("4.2", maturity=7), row("4.3", maturity=3), row("4.4", maturity="great")]
    result = imp(con, make_xlsx(rows, COLUMNS), "levels.xlsx")
    assert result.status == "rejected"
    problems = errors(result)
    assert [(p.row, p.column) for p in problems] == [(3, "maturity (G)"), (5, "maturity (G)")]
    assert float(problems[0].value) == 7 and problems[1].value == "great"
    assert all(p.sheet == "Responses" and p.file == "levels.xlsx" for p in problems)
    text = str(problems[1])
    assert "levels.xlsx" in text and "sheet 'Responses'" in text and "row 5" in text and "column maturity (G)" in text
    assert db_snapshot(con) == before


def test_clause_cannot_be_not_applicable(con, make_xlsx) -> None:
    rows = [row("4.1", applicable="no", justification="we do not want it")]
    result = imp(con, make_xlsx(rows, COLUMNS), "na.xlsx")
    assert result.status == "rejected"
    [problem] = errors(result)
    assert (problem.row, problem.column) == (2, "applicable (I)")
    assert "4.1" in problem.message
    assert con.execute("SELECT count(*) FROM response").fetchall() == [(0,)]


def test_annex_control_not_applicable_needs_justification(con, make_xlsx) -> None:
    missing = imp(con, make_xlsx([row("A.10.4", applicable="no")], COLUMNS), "na.xlsx")
    assert missing.status == "rejected"
    [problem] = errors(missing)
    assert (problem.row, problem.column) == (2, "justification (J)")
    assert "A.10.4" in problem.message

    given = imp(con, make_xlsx([row("A.10.4", applicable="N/A", justification="No AI offered to customers")],
                               COLUMNS), "na2.xlsx")
    assert given.status == "imported", [str(p) for p in given.problems]
    assert stored(con, "applicable", "justification") == {"A.10.4": (False, "No AI offered to customers")}


def test_same_item_twice_with_different_values_is_an_error(con, make_csv) -> None:
    rows = [row("4.1", maturity=2), row("4.2", maturity=1), row("4.1", maturity=3)]
    result = imp(con, make_csv(rows))
    assert result.status == "rejected"
    [problem] = errors(result)
    assert problem.row == 4
    assert "rows 2 and 4" in problem.message
    assert con.execute("SELECT count(*) FROM response").fetchall() == [(0,)]


def test_same_item_twice_identically_is_a_warning(con, make_csv) -> None:
    rows = [row("4.1", maturity=2, evidence="x"), row("4.2", maturity=1), row("4.1", maturity=2, evidence="x")]
    result = imp(con, make_csv(rows))
    assert result.status == "imported", [str(p) for p in result.problems]
    [problem] = [w for w in warnings(result) if "no date in the file" not in w.message]  # the other: undated round
    assert problem.row == 4 and "4.1" in problem.message
    assert result.counts.new == 2
    assert stored(con, "maturity", "evidence") == {"4.1": (2, "x"), "4.2": (1, None)}


def test_unit_names_differing_in_case_are_the_same_unit(con, make_csv) -> None:
    rows = [row("4.1", maturity=2), {"unit": "OPS", "assessment": "2026-Q3", "item_id": "4.2", "maturity": 1}]
    result = imp(con, make_csv(rows))
    assert result.status == "imported", [str(p) for p in result.problems]
    assert len(store.list_units(con)) == 1
    assert len(store.list_assessments(con)) == 1


def test_two_dates_for_one_assessment_is_an_error(con, make_csv) -> None:
    rows = [row("4.1", assessed_on="2026-08-01", maturity=2), row("4.2", assessed_on="2026-08-02", maturity=2)]
    result = imp(con, make_csv(rows))
    assert result.status == "rejected"
    [problem] = errors(result)
    assert (problem.row, problem.column) == (3, "assessed_on (C)")  # a CSV error names the column's letter too


# --- atomicity -----------------------------------------------------------------------------------

UNITS = [f"Unit {n:02d}" for n in range(1, 16)]
ROUNDS = [("2025-Q1", dt.date(2025, 3, 1)), ("2025-Q4", dt.date(2025, 11, 1)), ("2026-Q3", dt.date(2026, 8, 1))]


def big_rows(catalog) -> list[dict[str, object]]:
    """15 units x 3 rounds x 70 items = 3,150 valid rows."""
    rows = []
    for u, unit in enumerate(UNITS):
        for r, (label, day) in enumerate(ROUNDS):
            for i, item in enumerate(catalog.items):
                values: dict[str, object] = {
                    "unit": unit, "assessment": label, "assessed_on": day, "item_id": item.id,
                    "maturity": (u + r + i) % 6, "evidence": f"evidence {u}-{r}-{i}",
                }
                if item.kind == "annex_a" and (u + i) % 17 == 0:
                    values.update(applicable="no", justification="not relevant here", maturity=None)
                rows.append(values)
    return rows


@pytest.fixture(scope="module")
def big(catalog) -> tuple[list[dict[str, object]], bytes]:
    from .conftest import xlsx_bytes

    rows = big_rows(catalog)
    return rows, xlsx_bytes(rows, COLUMNS)


def _seed(con, make_csv) -> None:
    """Existing data: an answered assessment of unit 01 and a finalised round of unit 15."""
    seed = [{"unit": UNITS[0], "assessment": "2025-Q1", "item_id": "4.1", "maturity": 5, "evidence": "seeded"},
            {"unit": UNITS[-1], "assessment": "2026-Q3", "item_id": "4.1", "maturity": 0, "evidence": "final one"}]
    assert imp(con, make_csv(seed), "seed.csv").status == "imported"
    final = store.get_assessment(con, unit=UNITS[-1], label="2026-Q3")
    store.set_status(con, final.id, "final", BY)


def test_one_bad_cell_near_the_end_of_3000_rows_changes_nothing(con, big, make_xlsx, make_csv, db_snapshot) -> None:
    rows, _ = big
    _seed(con, make_csv)
    # the seeded final round must not block this test: give it the stored values
    rows = [dict(r) for r in rows if not (r["unit"] == UNITS[-1] and r["assessment"] == "2026-Q3")]
    assert len(rows) > 3000
    bad_index = len(rows) - 7
    rows[bad_index]["maturity"] = "great"
    before = db_snapshot(con)

    result = imp(con, make_xlsx(rows, COLUMNS), "big.xlsx")
    assert result.status == "rejected"
    [problem] = errors(result)
    assert (problem.row, problem.column) == (bad_index + 2, "maturity (G)")
    assert db_snapshot(con) == before

    # the rest of the file was valid: with the cell fixed it imports in full
    rows[bad_index]["maturity"] = 2
    fixed = imp(con, make_xlsx(rows, COLUMNS), "big-fixed.xlsx")
    assert fixed.status == "imported", [str(p) for p in fixed.problems][:5]
    assert fixed.rows_read == len(rows)
    assert len(fixed.new_assessments) == len(UNITS) * len(ROUNDS) - 2
    assert db_snapshot(con)["response.count"] > before["response.count"] + 2900


def test_error_found_while_loading_rolls_back_everything(con, big, make_csv, db_snapshot) -> None:
    """The file is valid cell by cell, but its last assessment is finalised in the database and differs."""
    rows, data = big
    _seed(con, make_csv)
    before = db_snapshot(con)
    result = imp(con, data, "big.xlsx")
    assert result.status == "rejected"
    [problem] = errors(result)
    assert "finalised" in problem.message and UNITS[-1] in problem.message
    first_final_row = 2 + next(i for i, r in enumerate(rows) if r["unit"] == UNITS[-1] and r["assessment"] == "2026-Q3")
    assert problem.row == first_final_row
    after = db_snapshot(con)
    assert after == before
    assert after["unit.count"] == 2  # none of the 13 other units was left behind


# --- idempotence and updates ---------------------------------------------------------------------

BASE = [row("4.1", maturity=1, evidence="E1"), row("4.2", maturity=2, evidence="E2", owner="Ann"),
        row("4.3", maturity=3, notes="N3")]


def test_same_file_twice_is_already_imported(con, make_xlsx, db_snapshot) -> None:
    data = make_xlsx(BASE, COLUMNS)
    first = imp(con, data, "a.xlsx")
    assert first.status == "imported"
    before = db_snapshot(con)
    second = imp(con, data, "renamed copy.xlsx")
    assert second.status == "already imported"
    assert second.ok
    assert "a.xlsx" in second.describe()
    assert db_snapshot(con) == before


def test_edited_copy_updates_in_place_and_blanks_keep_values(con, make_xlsx, db_snapshot) -> None:
    assert imp(con, make_xlsx(BASE, COLUMNS), "v1.xlsx").status == "imported"
    before = db_snapshot(con)
    edited = [row("4.1", maturity=4, evidence="E1"),           # maturity changed
              row("4.2", maturity=2),                          # evidence and owner left blank
              row("4.3", maturity=3, notes="N3")]              # identical
    result = imp(con, make_xlsx(edited, COLUMNS), "v2.xlsx")
    assert result.status == "imported", [str(p) for p in result.problems]
    assert (result.counts.new, result.counts.updated, result.counts.unchanged) == (0, 1, 2)
    assert result.new_assessments == []
    assert stored(con, "maturity", "evidence", "owner", "notes") == {
        "4.1": (4, "E1", None, None), "4.2": (2, "E2", "Ann", None), "4.3": (3, None, None, "N3"),
    }
    after = db_snapshot(con)
    assert after["response.count"] == before["response.count"]
    assert after["assessment.count"] == before["assessment.count"]
    new_log = con.execute("SELECT item_id, field, old_value, new_value FROM change_log ORDER BY id DESC LIMIT 1")
    assert new_log.fetchall() == [("4.1", "maturity", "1", "4")]
    assert after["change_log.count"] == before["change_log.count"] + 1


def test_finalised_assessment_rejects_changes_but_accepts_identical_content(con, make_xlsx, make_csv,
                                                                               db_snapshot) -> None:
    assert imp(con, make_xlsx(BASE, COLUMNS), "v1.xlsx").status == "imported"
    assessment = store.get_assessment(con, unit="Ops", label="2026-Q3")
    store.set_status(con, assessment.id, "final", BY)
    before = db_snapshot(con)

    changed = imp(con, make_xlsx([row("4.1", maturity=5)], COLUMNS), "change.xlsx")
    assert changed.status == "rejected"
    assert any("finalised" in p.message for p in errors(changed))
    assert db_snapshot(con) == before

    same = imp(con, make_csv(BASE), "same-content.csv")  # other bytes, same answers
    assert same.status == "unchanged", [str(p) for p in same.problems]
    assert (same.counts.new, same.counts.updated, same.counts.unchanged) == (0, 0, 3)
    after = db_snapshot(con)
    for table in ("unit", "assessment", "response", "change_log"):
        assert after[table] == before[table]


def test_dry_run_reports_counts_and_writes_nothing(con, make_xlsx, db_snapshot) -> None:
    data = make_xlsx(BASE, COLUMNS)
    before = db_snapshot(con)
    dry = imp(con, data, "a.xlsx", dry_run=True)
    assert dry.status == "dry run"
    assert (dry.counts.new, dry.counts.updated, dry.counts.unchanged) == (3, 0, 0)
    assert dry.new_assessments == ["Ops 2026-Q3"]
    assert "would import" in dry.describe()
    assert db_snapshot(con) == before

    real = imp(con, data, "a.xlsx")
    assert real.status == "imported"
    assert real.counts == dry.counts


def test_dry_run_of_a_bad_file_is_rejected(con, make_csv) -> None:
    result = imp(con, make_csv([row("4.1", maturity=9)]), dry_run=True)
    assert result.status == "rejected"
    assert errors(result)


# --- formula escaping ----------------------------------------------------------------------------

TRICKY = {"4.1": "=SUM(A1)", "4.2": "+1 call the vendor", "4.3": "-- see minutes", "4.4": "@owner please check"}


def test_escaped_formula_text_comes_back_unescaped(con, make_csv) -> None:
    data = make_csv([row("4.1", maturity=1, evidence="'=SUM(A1)"), row("4.2", maturity=1, evidence="'quoted'")])
    assert imp(con, data).status == "imported"
    assert stored(con, "evidence") == {"4.1": ("=SUM(A1)",), "4.2": ("'quoted'",)}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exported_formula_text_round_trips(con, make_csv, tmp_path: Path, fmt: str) -> None:
    data = make_csv([row(item, maturity=2, evidence=text) for item, text in TRICKY.items()])
    assert imp(con, data).status == "imported"
    assert stored(con, "evidence") == {k: (v,) for k, v in TRICKY.items()}

    table = exports.responses_table(store.responses(con, principal=ADMIN))
    exported = exports.to_csv(table) if fmt == "csv" else exports.to_xlsx([("Responses", table)])
    if fmt == "csv":
        assert b"'=SUM(A1)" in exported
    with connect(tmp_path / "other.duckdb") as other:
        result = imp(other, exported, f"export.{fmt}")
        assert result.status == "imported", [str(p) for p in result.problems]
        assert stored(other, "evidence") == {k: (v,) for k, v in TRICKY.items()}


# --- behaviour a filled template relies on -------------------------------------------------------


def test_partly_filled_template_imports_the_answered_rows(con, catalog) -> None:
    """Template instruction 5: assess only clauses, leave the Annex A rows blank and they are skipped."""
    book = openpyxl.load_workbook(io.BytesIO(build_template(catalog)))
    ws = book["Responses"]
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) + 1 for name in header}
    for r in range(2, ws.max_row + 1):
        if not str(ws.cell(r, col["item_id"]).value).startswith("A."):
            ws.cell(r, col["unit"], "Ops")
            ws.cell(r, col["assessment"], "2026-Q3")
            ws.cell(r, col["maturity"], 2)
    buffer = io.BytesIO()
    book.save(buffer)

    result = imp(con, buffer.getvalue(), "filled-template.xlsx")
    assert result.status == "imported", [str(p) for p in result.problems][:3]
    assessment = store.get_assessment(con, unit="Ops", label="2026-Q3")
    assert assessment.scope == "clauses"
    assert len(stored(con, "maturity")) == len(catalog.items_of("clause"))


def test_error_column_letter_is_the_real_column_when_the_table_starts_in_b(con, make_xlsx) -> None:
    data = make_xlsx([row("4.1", maturity="great")], ["unit", "assessment", "item_id", "maturity"], start_col=2)
    check = openpyxl.load_workbook(io.BytesIO(data)).active
    assert check["E2"].value == "great"
    result = imp(con, data, "offset.xlsx")
    assert result.status == "rejected"
    [problem] = errors(result)
    assert problem.row == 2
    assert problem.column == "maturity (E)"


def test_same_file_for_another_unit_is_not_skipped(con, make_csv) -> None:
    """The --unit option changes what a file means; the same bytes for another unit are a new import."""
    data = make_csv([{"item_id": "4.1", "maturity": 2}])
    assert imp(con, data, unit="Claims", label="R1").status == "imported"
    second = imp(con, data, unit="Payments", label="R1")
    assert second.status == "imported", second.describe()
    assert store.get_assessment(con, unit="Payments", label="R1") is not None


def test_unit_name_with_doubled_space_matches_the_existing_unit(con, make_csv) -> None:
    """The store treats 'Retail  Banking' as 'Retail Banking' (it collapses spaces); so must the import."""
    assert imp(con, make_csv([{"unit": "Retail Banking", "assessment": "R1", "item_id": "4.1",
                               "maturity": 2}])).status == "imported"
    result = imp(con, make_csv([{"unit": "Retail  Banking", "assessment": "R1", "item_id": "4.1",
                                 "maturity": 3}]), "second.csv")
    assert result.status == "imported", [str(p) for p in result.problems]
    assert result.counts.updated == 1
    assert stored(con, "maturity") == {"4.1": (3,)}


def test_the_imported_files_are_listed_newest_first_with_what_each_changed(con, make_xlsx) -> None:
    first = imp(con, make_xlsx([row("4.1", maturity=1), row("4.2", maturity=2)], COLUMNS), "q3-ops.xlsx")
    second = imp(con, make_xlsx([row("4.1", maturity=3), row("4.2", maturity=2)], COLUMNS), "q3-ops-v2.xlsx")
    assert (first.status, second.status) == ("imported", "imported")
    files = store.list_imports(con)
    assert list(files.columns) == list(store.IMPORT_COLUMNS)
    listed = files[["file", "imported_by", "rows", "new_assessments", "new_responses", "updated_responses",
                    "unchanged", "units", "rounds"]].astype(object).where(files.notna(), None).values.tolist()
    assert listed == [
        ["q3-ops-v2.xlsx", BY, 2, 0, 0, 1, 1, None, None],  # it created no answer: no unit or round of its own
        ["q3-ops.xlsx", BY, 2, 1, 2, 0, 0, "Ops", "2026-Q3"],
    ]
