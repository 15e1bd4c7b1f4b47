"""Bulk multi-unit files: all or nothing, and never twice."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from dashboard import store
from etl.importer import import_bytes
from tests.principals import ADMIN

from .test_import_layouts import workbook

BY = "bulk-tester"
UNITS = [f"Branch {n:03d}" for n in range(80)]
HEADER = ["Business Unit", "Period", "Ref", "Rating", "Applicable", "Justification", "Evidence"]


def bulk_rows(catalog: Any) -> list[list[Any]]:
    """80 units x 70 items = 5,600 rows of a foreign layout."""
    rows = []
    for u, unit in enumerate(UNITS):
        for i, item in enumerate(catalog.items):
            excluded = item.kind == "annex_a" and (u + i) % 19 == 0
            rows.append([unit, "FY26", item.id, None if excluded else (u + i) % 6, "No" if excluded else "Yes",
                         "Not relevant to this branch" if excluded else None, f"Evidence {u}/{i}"])
    return rows


def bulk_file(rows: list[list[Any]]) -> bytes:
    cover = ("Cover", [["Group AI governance — FY26 self-assessment"], ["Organisation", "Aldermoor"]])
    return workbook(cover, ("Responses", [["Please answer every row"], HEADER, *rows]))


@pytest.fixture(scope="module")
def rows(catalog: Any) -> list[list[Any]]:
    return bulk_rows(catalog)


def seed(con) -> None:
    """What is already there: one branch answered, and a finalised round of the last branch."""
    data = workbook(("S", [HEADER, [UNITS[0], "FY26", "4.1", 5, None, None, "seeded"],
                           [UNITS[-1], "FY26", "4.1", 0, None, None, "final"]]))
    assert import_bytes(con, "seed.xlsx", data, principal=ADMIN, by=BY).status == "imported"
    store.set_status(con, store.get_assessment(con, unit=UNITS[-1], label="FY26").id, "final", BY)


def test_one_bad_cell_among_5600_rows_leaves_the_database_unchanged(con, rows, db_snapshot) -> None:
    seed(con)
    rows = [list(r) for r in rows if r[0] != UNITS[-1]]
    bad = 4321
    rows[bad][3] = "Mostly there"
    before = db_snapshot(con)
    result = import_bytes(con, "fy26.xlsx", bulk_file(rows), principal=ADMIN, by=BY)
    assert result.status == "rejected"
    [problem] = result.problems
    assert (problem.sheet, problem.row, problem.column, problem.value) == ("Responses", bad + 3, "Rating (D)", "Mostly there")
    assert db_snapshot(con) == before

    rows[bad][3] = 3
    fixed = import_bytes(con, "fy26-fixed.xlsx", bulk_file(rows), principal=ADMIN, by=BY)
    assert fixed.status == "imported", [str(p) for p in fixed.problems][:3]
    assert len(fixed.new_assessments) == len(UNITS) - 2 and fixed.assessments == len(UNITS) - 1
    assert fixed.counts.updated == 1  # branch 000's 4.1 changed from the seeded 5
    assert len(store.list_assessments(con)) == len(UNITS)


def test_a_failure_while_loading_removes_every_unit_and_assessment_it_created(con, rows, db_snapshot) -> None:
    seed(con)
    before = db_snapshot(con)
    result = import_bytes(con, "fy26.xlsx", bulk_file(rows), principal=ADMIN, by=BY)  # changes the finalised round of the last branch
    assert result.status == "rejected"
    [problem] = result.problems
    assert "finalised" in problem.message and UNITS[-1] in problem.message
    assert (problem.sheet, problem.row) == ("Responses", 3 + 70 * (len(UNITS) - 1))
    after = db_snapshot(con)
    assert after == before and after["unit.count"] == 2


def test_the_same_file_twice_is_recognised_and_changes_nothing(con, rows, db_snapshot) -> None:
    data = bulk_file(rows)
    first = import_bytes(con, "fy26.xlsx", data, principal=ADMIN, by=BY)
    assert first.status == "imported" and first.counts.new > 5000
    before = db_snapshot(con)
    again = import_bytes(con, "copy of fy26.xlsx", data, principal=ADMIN, by=BY)
    assert again.status == "already imported" and "fy26.xlsx" in again.message
    assert db_snapshot(con) == before


def test_the_same_answers_in_other_bytes_are_unchanged(con, rows, db_snapshot) -> None:
    assert import_bytes(con, "fy26.xlsx", bulk_file(rows), principal=ADMIN, by=BY).status == "imported"
    before = db_snapshot(con)
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows([HEADER, *rows])
    same = import_bytes(con, "fy26.csv", out.getvalue().encode("cp1252"), principal=ADMIN, by=BY)
    assert same.status == "unchanged", [str(p) for p in same.problems][:3]
    assert (same.counts.new, same.counts.updated) == (0, 0) and same.counts.unchanged == len(rows)
    after = db_snapshot(con)
    for table in ("unit", "assessment", "response", "change_log"):
        assert after[table] == before[table]
    assert after["import_batch.count"] == before["import_batch.count"] + 1


def test_a_dry_run_counts_without_writing(con, rows, db_snapshot) -> None:
    before = db_snapshot(con)
    dry = import_bytes(con, "fy26.xlsx", bulk_file(rows), principal=ADMIN, by=BY, dry_run=True)
    assert dry.status == "dry run" and len(dry.new_assessments) == len(UNITS)
    assert dry.counts.new == sum(1 for r in rows if r[3] is not None or r[4] == "No")
    assert db_snapshot(con) == before


def test_the_same_bytes_with_another_mapping_are_a_new_import(con) -> None:
    data = workbook(("S", [[*HEADER, "Notes"], ["Ops", "FY26", "4.1", 2, None, None, "e", "n"]]))
    assert import_bytes(con, "a.xlsx", data, principal=ADMIN, by=BY).status == "imported"
    assert import_bytes(con, "a.xlsx", data, principal=ADMIN, by=BY).status == "already imported"
    remapped = import_bytes(con, "a.xlsx", data, principal=ADMIN, by=BY, mapping='{"notes": "Evidence"}')
    assert remapped.status == "imported" and remapped.counts.updated == 1
    assert con.execute("SELECT evidence, notes FROM response").fetchall() == [("e", "e")]
