"""The validation report: every bad cell named (file, sheet, Excel row, column, value, expected), the same
report from the command line and the page, and hostile files refused through the whole import path."""

from __future__ import annotations

import csv
import io
import struct
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from etl.cli import main
from etl.importer import import_bytes
from etl.preview import preview_bytes
from etl.problems import REPORT_COLUMNS, problems_csv, problems_frame
from etl.template import build_template
from tests.principals import ADMIN

from .test_import_layouts import workbook

BY = "report-tester"
HEADER = ["Unit", "Round", "Control", "Maturity", "Applicable", "Justification", "Evidence"]


def errors(result: Any) -> list:
    return [p for p in result.problems if p.severity == "error"]


BAD_ROWS = [
    HEADER,
    ["Ops", "R1", "A.2.2", 2, None, None, "ok"],            # row 2: fine
    ["Ops", "R1", "A.2.3", 7, None, None, None],            # row 3: out of range
    ["Ops", "R1", "A.2.4", "Excellent", None, None, None],  # row 4: not a level
    ["Ops", "R1", "A.9.9", 1, None, None, None],            # row 5: unknown id
    ["Ops", "R1", "A.2.2", 3, None, None, "ok"],            # row 6: same unit and item, other values
    ["Ops", "R1", "A.10.4", None, "no", None, None],        # row 7: not applicable without justification
    ["Ops", "R1", "A.3.2", 2, "perhaps", None, None],       # row 8: not yes/no
    [None, "R1", "A.3.3", 2, None, None, None],             # row 9: no unit
    ["Ops", "R1", None, 2, None, None, "orphan"],           # row 10: answers without an id
    ["Ops", "R1", "A.2.2", 2, None, None, "ok"],            # row 11: identical repeat of row 2 (a warning)
]


@pytest.fixture
def bad_file() -> bytes:
    return workbook(("Intro", [["Please fill in the Controls sheet"]]), ("Controls", BAD_ROWS))


def test_every_bad_cell_is_named_in_order_and_nothing_is_written(con, bad_file: bytes, db_snapshot) -> None:
    before = db_snapshot(con)
    result = import_bytes(con, "unit-ops.xlsx", bad_file, principal=ADMIN, by=BY)
    assert result.status == "rejected"
    found = [(p.severity, p.row, p.column, p.value) for p in result.problems]
    assert found == [
        ("error", 3, "Maturity (D)", "7"),
        ("error", 4, "Maturity (D)", "Excellent"),
        ("error", 5, "Control (C)", "A.9.9"),
        ("error", 6, "Control (C)", None),
        ("error", 7, "Justification (F)", None),
        ("error", 8, "Applicable (E)", "perhaps"),
        ("error", 9, "Unit (A)", None),
        ("error", 10, "Control (C)", None),
        ("warning", 11, "Control (C)", None),
    ]
    assert all(p.file == "unit-ops.xlsx" and p.sheet == "Controls" for p in result.problems)
    by_row = {p.row: p for p in result.problems}
    assert "0 to 5" in by_row[3].expected and "Defined" in by_row[4].expected
    assert "rows 2 and 6" in by_row[6].message and "A.2.2" in by_row[6].message
    assert "A.10.4" in by_row[7].message and "justification" in by_row[7].message
    assert "repeats row 2 identically" in by_row[11].message
    assert str(by_row[3]) == ("error: unit-ops.xlsx, sheet 'Controls', row 3, column Maturity (D): invalid maturity "
                              "(found '7'; expected a whole number from 0 to 5)")
    assert db_snapshot(con) == before


def test_warnings_alone_do_not_stop_the_import(con) -> None:
    rows = [HEADER, ["Ops", "R1", "A.2.2", 2, None, None, "x"], ["Ops", "R1", "A.2.2", 2, None, None, "x"]]
    result = import_bytes(con, "w.xlsx", workbook(("S", rows)), principal=ADMIN, by=BY)
    assert result.status == "imported"
    # besides the repeated row: the round, undated, took the import's date (said at its first row)
    assert [(p.severity, p.row, "no date in the file" in p.message) for p in result.problems] == [
        ("warning", 3, False), ("warning", 2, True)]
    assert result.counts.new == 1


@pytest.mark.parametrize(("header", "options", "missing"), [
    (["Round", "Control", "Maturity"], {}, "'unit'"),
    (["Unit", "Control", "Maturity"], {}, "'assessment'"),
])
def test_missing_required_columns_name_the_header_row(con, header: list[str], options: dict, missing: str) -> None:
    rows = [["Gap assessment"], header, ["x", "A.2.2", 2]]
    result = import_bytes(con, "m.xlsx", workbook(("Data", rows)), principal=ADMIN, by=BY, **options)
    [problem] = errors(result)
    assert (problem.sheet, problem.row) == ("Data", 2) and missing in problem.message


def test_a_file_without_any_item_id_column_says_what_it_looked_for(con) -> None:
    result = import_bytes(con, "notes.xlsx", workbook(("Notes", [["Unit", "Maturity"], ["Ops", 2]])), principal=ADMIN, by=BY)
    [problem] = errors(result)
    assert "item-id column" in problem.message and "'Notes'" in problem.message


def test_the_untouched_template_holds_no_answers_and_its_questions_are_not_data(con, catalog) -> None:
    result = import_bytes(con, "template.xlsx", build_template(catalog), principal=ADMIN, by=BY)
    [problem] = errors(result)
    assert problem.message == "the file holds no answered rows" and problem.sheet == "Responses"


def test_report_csv_has_every_column_and_neutralises_formulas(con) -> None:
    hostile = '=HYPERLINK("http://evil.invalid","x")'
    rows = [HEADER, ["Ops", "R1", "A.2.2", hostile, None, None, None], ["Ops", "R1", "-2+3", 1, None, None, None]]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    result = import_bytes(con, "=evil.csv", out.getvalue().encode(), principal=ADMIN, by=BY)
    text = problems_csv(result.problems)
    table = list(csv.DictReader(io.StringIO(text)))
    assert list(table[0]) == REPORT_COLUMNS
    assert [r["value"] for r in table] == ["'" + hostile, "'-2+3"]
    assert [(r["file"], r["row"], r["column"]) for r in table] == [("'=evil.csv", "2", "Maturity (D)"), ("'=evil.csv", "3", "Control (C)")]
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in table for cell in r.values())
    frame = problems_frame(result.problems)
    assert frame["row"].tolist() == [2, 3] and frame["value"].tolist() == [hostile, "-2+3"]


def test_cli_prints_the_same_report_on_stderr_and_exits_2(tmp_path: Path, bad_file: bytes, capsys, con) -> None:
    path = tmp_path / "unit-ops.xlsx"
    path.write_bytes(bad_file)
    assert main(["--db", str(tmp_path / "cli.duckdb"), "import", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    expected = import_bytes(con, str(path), bad_file, principal=ADMIN, by=BY).problems
    assert err[:len(expected)] == [str(p) for p in expected]
    assert "rejected, nothing imported (8 errors)" in err[-1]


def test_the_page_preview_reports_the_same_problems(con, bad_file: bytes) -> None:
    preview = preview_bytes(con, "unit-ops.xlsx", bad_file)
    assert preview.status == "rejected" and (preview.errors, preview.warnings) == (8, 1)
    assert preview.problems == import_bytes(con, "unit-ops.xlsx", bad_file, principal=ADMIN, by=BY).problems


def test_cli_mapping_as_json_text_or_file(tmp_path: Path, capsys) -> None:
    path = tmp_path / "odd.xlsx"
    path.write_bytes(workbook(("S", [["Org", "Cycle", "Item", "Grade"], ["Ops", "R1", "4.1", 2]])))
    db = str(tmp_path / "m.duckdb")
    assert main(["--db", db, "import", str(path)]) == 2
    mapping = '{"unit": "Org", "assessment": "Cycle", "item_id": "Item", "maturity": "Grade", "sheet": "S", "header_row": 1}'
    (tmp_path / "mapping.json").write_text(mapping, encoding="utf-8")
    assert main(["--db", db, "import", "--dry-run", "--mapping", mapping, str(path)]) == 0
    assert main(["--db", db, "import", "--mapping", str(tmp_path / "mapping.json"), str(path)]) == 0
    assert "1 new responses" in capsys.readouterr().out
    assert main(["--db", db, "import", "--mapping", "{broken", str(path)]) == 1
    assert "not valid JSON" in capsys.readouterr().err


# --- hostile files through the import path -------------------------------------------------------


def _lying_sizes(data: bytes, part: str, declared: int) -> bytes:
    """Rewrite the uncompressed size a part declares (local header and central directory), keeping its data."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(part)
    out = bytearray(data)
    struct.pack_into("<I", out, info.header_offset + 22, declared)
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46:position + 46 + name_length] == part.encode():
            struct.pack_into("<I", out, position + 24, declared)
        position = data.find(b"PK\x01\x02", position + 4)
    return bytes(out)


def test_a_part_that_expands_beyond_its_declared_size_is_refused(con, db_snapshot) -> None:
    rows = [["Unit", "Round", "Item", "Maturity"], *(["Ops", "R1", "4.1", 1] for _ in range(2000))]
    data = _lying_sizes(workbook(("S", rows)), "xl/worksheets/sheet1.xml", 1000)
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml").file_size == 1000
    before = db_snapshot(con)
    started = time.perf_counter()
    result = import_bytes(con, "liar.xlsx", data, principal=ADMIN, by=BY)
    assert time.perf_counter() - started < 2
    [problem] = errors(result)
    assert "expands beyond the size its archive declares" in problem.message and "zip bomb" in problem.message
    assert db_snapshot(con) == before


def test_a_word_document_renamed_xlsx_is_refused(con) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                         'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                         'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        archive.writestr("word/document.xml", "<w:document/>")
    [problem] = errors(import_bytes(con, "report.xlsx", out.getvalue(), principal=ADMIN, by=BY))
    assert "Word document" in problem.message


@pytest.mark.parametrize(("name", "data", "says"), [
    ("page.xlsx", b"<html><body><table><tr><td>unit</td></tr></table></body></html>", "HTML"),
    ("secret.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2048), "encrypted"),
    ("empty.csv", b"", "empty"),
    ("cut.xlsx", workbook(("S", [["Unit", "Round", "Item", "Maturity"]]))[:900], "damaged or truncated"),
])
def test_refusals_reach_the_report_and_write_nothing(con, db_snapshot, name: str, data: bytes, says: str) -> None:
    before = db_snapshot(con)
    result = import_bytes(con, name, data, principal=ADMIN, by=BY)
    [problem] = errors(result)
    assert says in problem.message and problem.file == name
    assert db_snapshot(con) == before


def test_the_size_limit_comes_from_the_setting(con, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMS_MAX_UPLOAD_MB", "0.001")
    data = b"unit,assessment,item_id,maturity\n" + b"Ops,R1,4.1,2\n" * 200
    [problem] = errors(import_bytes(con, "big.csv", data, principal=ADMIN, by=BY))
    assert "above the 0.001 MB limit" in problem.message
