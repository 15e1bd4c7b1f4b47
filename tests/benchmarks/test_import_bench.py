"""The import benchmark's scripts work end to end on a small workbook: it is imported for real and the table printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import import_bench
from benchmarks.import_generate import generate


def test_the_benchmark_imports_a_generated_workbook_and_prints_its_table(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    workbook = tmp_path / "small.xlsx"
    generate(workbook, 1_400)
    assert import_bench.main(["--workbook", str(workbook), "--runs", "1"]) == 0
    out = capsys.readouterr().out
    header, _, figures = [line for line in out.splitlines() if line.startswith("|")]
    assert "bare parse s" in header and "fastexcel bare s" in header and "full import s" in header
    cells = [cell.strip() for cell in figures.strip("|").split("|")]
    assert cells[0] == "1,400"  # every generated row was read by the real import (it asserts status 'imported')
    assert int(cells[1]) == 20  # 1,400 rows = 20 unit assessments of 70 items
    assert "Fastest full import by stage: read + checks" in out
    assert "Targets: full <= 1.5 x bare parse:" in out


def test_a_missing_workbook_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"run python benchmarks/import_generate\.py first"):
        import_bench.main(["--workbook", str(tmp_path / "absent.xlsx")])
