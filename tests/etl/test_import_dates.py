"""Every imported round has a date: a file that gives a round label but no date is dated the day it is imported,
the preview and the import record say so, and the round then counts as its unit's latest."""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl

from dashboard import scoring, store
from dashboard.db import rows
from etl.cli import main as cli
from etl.importer import import_bytes
from etl.preview import preview_bytes
from tests.principals import ADMIN

BY = "date-tester"


def _note(day: dt.date) -> str:
    return f"no date in the file: dated {day.isoformat()}, the import date"


def _import_day(before: dt.date, after: dt.date, created: dt.date) -> dt.date:
    """The import date the code took, read between two clock readings (a run can cross midnight)."""
    assert before <= created <= after
    return created


def _titled_workbook(round_label: str) -> bytes:
    """A questionnaire with a title block naming the division and the round, and no date anywhere."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Assessment"
    for r, values in enumerate([["AI management system self-assessment"], ["Division", "Retail Banking"],
                                ["Round", round_label], [], ["Ref", "Maturity level", "Evidence"],
                                ["4.1", 2, "Context register"], ["A.2.2", 3, "AI policy v2"]], start=1):
        for c, value in enumerate(values, start=1):
            ws.cell(row=r, column=c, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_labelled_round_without_a_date_takes_the_import_date(con) -> None:
    older = store.create_assessment(con, unit="Retail Banking", label="2026-Q1", scope="both", catalog_version="x",
                                    assessed_on=dt.date(2026, 3, 1))
    data = _titled_workbook("2026-Q4")
    before = dt.date.today()
    preview = preview_bytes(con, "retail.xlsx", data)
    after = dt.date.today()
    assert preview.status == "ready"
    notes = [p for p in preview.problems if any(_note(d) in p.message for d in {before, after})]
    assert len(notes) == 1 and notes[0].severity == "warning"
    assert "Retail Banking 2026-Q4" in notes[0].message and notes[0].column == "assessed_on"
    assert store.get_assessment(con, unit="Retail Banking", label="2026-Q4") is None  # the preview wrote nothing

    before = dt.date.today()
    result = import_bytes(con, "retail.xlsx", data, principal=ADMIN, by=BY)
    after = dt.date.today()
    created = store.get_assessment(con, unit="Retail Banking", label="2026-Q4")
    assert created is not None
    note = _note(_import_day(before, after, created.assessed_on))
    assert result.ok and any(note in p.message for p in result.problems)
    record = json.loads(rows(con, "SELECT summary FROM import_batch")[0][0])
    assert len(record["notes"]) == 1 and note in record["notes"][0]
    assert note in store.list_imports(con).loc[0, "notes"]
    # the import is the unit's newest round: Latest per unit shows it, not the older dated one
    assert scoring.select_assessments(con, principal=ADMIN) == [created.id] and older.id != created.id


def test_a_round_already_stored_keeps_its_date_and_no_note_is_given(con) -> None:
    store.create_assessment(con, unit="Retail Banking", label="2026-Q4", scope="both", catalog_version="x",
                            assessed_on=dt.date(2026, 10, 2))
    result = import_bytes(con, "retail.xlsx", _titled_workbook("2026-Q4"), principal=ADMIN, by=BY)
    assert result.ok and not any("no date in the file" in p.message for p in result.problems)
    assert store.get_assessment(con, unit="Retail Banking", label="2026-Q4").assessed_on == dt.date(2026, 10, 2)


def test_a_dated_file_gets_no_note(con) -> None:
    data = b"unit,assessment,assessed_on,item_id,maturity\nOps,2026-Q2,2026-05-04,4.1,2\n"
    result = import_bytes(con, "ops.csv", data, principal=ADMIN, by=BY)
    assert result.ok and not result.problems
    assert store.get_assessment(con, unit="Ops", label="2026-Q2").assessed_on == dt.date(2026, 5, 4)


def test_the_command_line_says_which_rounds_took_the_import_date(db_path, tmp_path, capsys) -> None:
    path = tmp_path / "many.csv"
    path.write_text("unit,item_id,maturity\nOps,4.1,2\n", encoding="utf-8")
    before = dt.date.today()
    assert cli(["--db", str(db_path), "import", str(path), "--assessment", "Pilot"]) == 0
    after = dt.date.today()
    err = capsys.readouterr().err
    assert "warning" in err and any(_note(d) in err for d in {before, after}) and "(Ops Pilot)" in err
