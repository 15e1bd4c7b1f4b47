"""Hostile width: files of thousands of columns are refused before they are parsed, and the command line
parses before it opens the database, so a bad file never keeps anyone waiting on the lock (issue 11, part 8).

Times are measured by `benchmarks/wide_files.py`, not asserted here; these tests check what is refused,
where, and that the database is never taken for it.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openpyxl
import pytest

from dashboard import store
from dashboard.catalog import load_catalog
from dashboard.db import connect
from etl import archive
from etl.archive import MIB, Limits, UnreadableFile
from etl.importer import validate_bytes
from etl.readers import read_sheets
from tests.processes import stop_process

from .conftest import REPO_ROOT, run_cli

LIMIT = Limits(max_file_bytes=25 * MIB).max_columns


def wide_csv(columns: int, rows: int = 1, header: bool = True) -> bytes:
    lines = [",".join(f"c{i}" for i in range(columns))] if header else []
    lines += [",".join(str(i % 6) for i in range(columns)) for _ in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode()


def wide_xlsx(columns: int, rows: int = 3) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Data")
    sheet.append(["item_id", "maturity", *(f"extra {i}" for i in range(columns - 2))])
    for _ in range(rows):
        sheet.append(["4.1", 2, *range(columns - 2)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refusal(name: str, data: bytes) -> str:
    batch, report = validate_bytes(name, data, load_catalog(), unit="Ops", label="R1")
    assert batch is None and not report.ok
    [problem] = report.errors
    return problem.message


@pytest.mark.parametrize("columns", [10_000, 100_000, 1_000_000])
def test_a_very_wide_csv_is_refused_on_its_first_line(columns: int) -> None:
    message = refusal("wide.csv", wide_csv(columns))
    assert f"has {columns:,} columns, more than the {LIMIT:,}" in message


def test_a_headerless_csv_of_2000_columns_is_refused() -> None:
    data = wide_csv(2_000, rows=120, header=False)  # about 490 KB, as in the audit
    assert 400_000 < len(data) < 600_000
    assert "has 2,000 columns" in refusal("numbers.csv", data)


def test_a_wide_record_further_down_or_behind_quotes_is_refused_too() -> None:
    narrow = b"unit,round,item_id,maturity\r\nOps,R1,4.1,2\r\n"
    assert "line 3 has 3,000 columns" in refusal("late.csv", narrow + wide_csv(3_000, header=False))
    quoted = ('"a,b",' + ",".join(["x"] * 1_999) + "\r\n").encode()
    assert "line 1 has 2,000 columns" in refusal("quoted.csv", quoted)


def test_the_widest_accepted_sheet_is_read() -> None:
    data = wide_csv(LIMIT, rows=2)
    [sheet] = read_sheets("edge.csv", data)
    assert sheet.width == LIMIT


def test_a_wide_workbook_is_refused_from_its_first_cells_before_it_is_parsed() -> None:
    message = refusal("wide.xlsx", wide_xlsx(2_000))
    assert "sheet 'Data' has 2,000 columns" in message


def test_a_workbook_wide_beyond_the_scanned_start_is_refused_once_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "_WIDTH_SCAN", 0)  # as if the width showed only past the first MiB
    with pytest.raises(UnreadableFile, match="sheet 'Data' has 1,000 columns"):
        read_sheets("wide.xlsx", wide_xlsx(1_000))


HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])       # holds the file: no other process may open it
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def test_the_command_line_refuses_wide_files_without_taking_the_database(tmp_path: Path) -> None:
    """While another process holds the database, the command line still refuses the wide files at once: it
    parses before it opens the database, so it never waits on the lock for a file it will refuse."""
    db = tmp_path / "held.duckdb"
    with connect(db) as con:
        store.ensure_unit(con, "Ops")
    files = []
    for name, data in (("wide.csv", wide_csv(100_000)), ("headerless.csv", wide_csv(2_000, rows=120, header=False)),
                       ("wide.xlsx", wide_xlsx(2_000))):
        files.append(tmp_path / name)
        files[-1].write_bytes(data)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), "60"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        result = run_cli(db, "import", *map(str, files), "--unit", "Ops", "--assessment", "R1")
        elapsed = time.monotonic() - started
    finally:
        stop_process(holder)
    assert result.returncode == 2, result.stderr
    assert "in use by" not in result.stderr  # never waited for the database
    for name, columns in (("wide.csv", "100,000"), ("headerless.csv", "2,000"), ("wide.xlsx", "2,000")):
        assert f"{name}" in result.stderr and f"has {columns} columns" in result.stderr
    print(f"three wide files refused by the command line in {elapsed:.1f} s")
    with connect(db) as con:  # and the database is as it was
        assert store.list_assessments(con).empty


def test_formatted_empty_cells_do_not_make_a_sheet_wide() -> None:
    """Formatting a whole header row writes empty styled cells up to column AMJ (1,024) and a dimension to
    match; only cells with values count, as the reader counts them."""
    from openpyxl.styles import PatternFill

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Unit", "Round", "Item", "Maturity"])
    sheet.append(["Ops", "R1", "4.1", 2])
    for column in range(5, 1025):
        sheet.cell(row=1, column=column).fill = PatternFill("solid", fgColor="FFFF00")
    out = io.BytesIO()
    book.save(out)
    batch, report = validate_bytes("formatted.xlsx", out.getvalue(), load_catalog())
    assert report.ok, [str(p) for p in report.problems]
    assert batch is not None and batch.response_count == 1
