"""A file that says it is an ISO/IEC 27001 assessment is not read as 42001 (their clause numbers look alike), and
a 42001 file is not read as a 27001 one; the file's name, sheet names and title block decide, never its answers."""

from __future__ import annotations

import io

import openpyxl
import pytest

from dashboard import store
from dashboard.db import rows
from etl.cli import main as cli
from etl.importer import import_bytes
from etl.prefill_27001 import propose_from_file, read_27001
from etl.preview import preview_bytes
from tests.principals import ADMIN

BY = "standard-tester"
CLAUSES = [("Ref", "Maturity level", "Evidence"), ("4.1", 2, "Context register"), ("6.1.2", 3, "Risk method"),
           ("9.1", 2, "Monitoring plan")]


def workbook(title: str | None, *, sheet: str = "Assessment", rows_: list[tuple] = CLAUSES,
             extra: dict[str, list[str]] | None = None) -> bytes:
    """A clauses questionnaire with an optional title row, a unit and a round above its header."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for line in ([[title]] if title else []) + [["Business unit", "Group IT"], ["Round", "2026-Q4"], []]:
        ws.append(line)
    for row in rows_:
        ws.append(list(row))
    for name, lines in (extra or {}).items():
        other = book.create_sheet(name)
        for line in lines:
            other.append([line])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_27001_questionnaire_is_refused_naming_where_it_says_so_and_nothing_is_written(con) -> None:
    data = workbook("ISO/IEC 27001:2022 internal assessment")
    preview = preview_bytes(con, "group-it.xlsx", data)
    assert preview.status == "rejected"
    [problem] = [p for p in preview.problems if p.severity == "error"]
    assert (problem.sheet, problem.row, problem.column) == ("Assessment", 1, "A")
    assert "ISO/IEC 27001 assessment" in problem.message and "'ISO/IEC 27001:2022 internal assessment'" in problem.message
    assert "the page 'Proposed answers from ISO/IEC 27001'" in problem.expected  # the preview is the page's

    result = import_bytes(con, "group-it.xlsx", data, principal=ADMIN, by=BY)
    assert not result.ok
    assert rows(con, "SELECT count(*) FROM assessment")[0][0] == 0
    assert rows(con, "SELECT count(*) FROM response")[0][0] == 0


def test_the_file_name_or_a_sheet_name_is_enough(con) -> None:
    by_name = preview_bytes(con, "iso27001_q4.xlsx", workbook(None))
    assert by_name.status == "rejected" and "its name: 'iso27001_q4.xlsx'" in by_name.problems[0].message
    by_sheet = preview_bytes(con, "q4.xlsx", workbook(None, sheet="27001 clauses"))
    assert by_sheet.status == "rejected" and by_sheet.problems[0].sheet == "27001 clauses"
    cover = preview_bytes(con, "q4.xlsx", workbook(None, extra={"Cover": ["Questionnaire: ISO/IEC 27001"]}))
    assert cover.status == "rejected" and (cover.problems[0].sheet, cover.problems[0].row) == ("Cover", 1)


@pytest.mark.parametrize(("title", "extra", "evidence"), [
    ("ISO/IEC 42001 self-assessment, mapped from our ISO 27001 programme", None, "Context register"),
    ("AI management system self-assessment", None, "Control A.5.1 of ISO 27001 reused"),  # an answer row: not read
    (None, {"Instructions": ["Where you hold an ISO 27001 certificate, cite it as evidence"]}, "Context register"),
    ("AIMS review", {"Hidden 27001": ["ISO/IEC 27001"]}, "Context register"),  # a hidden sheet
])
def test_a_42001_file_that_mentions_27001_is_imported(con, title, extra, evidence) -> None:
    data = workbook(title, rows_=[CLAUSES[0], ("4.1", 2, evidence), *CLAUSES[2:]], extra=extra)
    if extra and "Hidden 27001" in extra:
        book = openpyxl.load_workbook(io.BytesIO(data))
        book["Hidden 27001"].sheet_state = "hidden"
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
    result = import_bytes(con, "q4.xlsx", data, principal=ADMIN, by=BY)
    assert result.ok, [str(p) for p in result.problems]
    created = store.get_assessment(con, unit="Group IT", label="2026-Q4")
    assert created is not None
    assert rows(con, "SELECT count(*) FROM response WHERE assessment_id = ? AND maturity IS NOT NULL",
                [created.id])[0][0] == 3


def test_the_command_line_refuses_it_with_the_place_and_the_way(db_path, tmp_path, capsys) -> None:
    path = tmp_path / "isms.xlsx"
    path.write_bytes(workbook("ISO 27001 gap assessment"))
    assert cli(["--db", str(db_path), "import", str(path)]) != 0
    err = capsys.readouterr().err
    assert "sheet 'Assessment'" in err and "row 1" in err and "ISO/IEC 27001 assessment" in err
    assert f"python -m etl frameworks propose {path}" in err


def test_a_42001_file_is_not_read_as_27001(con) -> None:
    data = workbook("ISO/IEC 42001 AIMS gap assessment")
    reading = read_27001("aims.xlsx", data)
    assert not reading.ok and len(reading.problems) == 1
    assert reading.problems[0].startswith("aims.xlsx, sheet Assessment, row 1, column A: the file says it is an "
                                          "ISO/IEC 42001 assessment")
    _, counts = propose_from_file(con, "aims.xlsx", data, by=BY)
    assert counts is None and rows(con, "SELECT count(*) FROM proposal")[0][0] == 0
    # the same file titled as a 27001 assessment is read as one
    assert read_27001("isms.xlsx", workbook("ISO/IEC 27001 ISMS assessment")).ok
